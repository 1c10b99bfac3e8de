//! Inter-coder agreement: Cohen's kappa for two coders (unweighted, linear or quadratic
//! weights) with its asymptotic SE, Fleiss' kappa for many raters, and Krippendorff's alpha
//! for any number of coders with missing values, at four levels of measurement.

use std::collections::BTreeMap;

use crate::dist::{pnorm, qnorm};
use crate::error::check_level;
use crate::{StatResult, StatsError};

/// Weights for Cohen's kappa.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KappaWeights {
    /// Only exact agreement counts.
    None,
    /// Partial credit 1 − |i − j|/(k − 1).
    Linear,
    /// Partial credit 1 − (i − j)²/(k − 1)².
    Quadratic,
}

/// Category order: numeric when every label parses as a number, else text order.
fn categories(labels: impl Iterator<Item = String>) -> Vec<String> {
    let mut set: Vec<String> =
        labels.collect::<std::collections::BTreeSet<_>>().into_iter().collect();
    if set.iter().all(|l| l.parse::<f64>().is_ok()) {
        set.sort_by(|a, b| {
            a.parse::<f64>().unwrap_or(0.0).total_cmp(&b.parse::<f64>().unwrap_or(0.0))
        });
    }
    set
}

/// Cohen's kappa of two coders' labels (pairs with a missing label dropped), with the
/// large-sample SE of Fleiss, Cohen & Everitt (1969): `se` (under the alternative, used for
/// the CI) and `se0` (under κ = 0, used for the z test). Matches statsmodels'
/// `cohens_kappa(table, wt=None|'linear'|'quadratic')` (`std_kappa`, `std_kappa0`) and
/// R's `psych::cohen.kappa` for these weights.
pub fn cohen_kappa(
    x: &[Option<String>],
    y: &[Option<String>],
    weights: KappaWeights,
    conf_level: f64,
) -> Result<StatResult, StatsError> {
    check_level(conf_level)?;
    if x.len() != y.len() {
        return Err(StatsError::UnequalLengths {
            what: "coder x and coder y",
            left: x.len(),
            right: y.len(),
        });
    }
    let pairs: Vec<(&String, &String)> =
        x.iter().zip(y).filter_map(|(a, b)| Some((a.as_ref()?, b.as_ref()?))).collect();
    let n = pairs.len();
    if n < 2 {
        return Err(StatsError::TooFew {
            what: "Cohen's kappa (pairs of labels)",
            needed: 2,
            got: n,
        });
    }
    let cats = categories(pairs.iter().flat_map(|(a, b)| [(*a).clone(), (*b).clone()]));
    let k = cats.len();
    let index: BTreeMap<&str, usize> =
        cats.iter().enumerate().map(|(i, c)| (c.as_str(), i)).collect();
    let mut p = vec![vec![0.0; k]; k];
    for (a, b) in &pairs {
        p[index[a.as_str()]][index[b.as_str()]] += 1.0 / n as f64;
    }
    let km1 = (k.max(2) - 1) as f64;
    let w = |i: usize, j: usize| -> f64 {
        let d = (i as f64 - j as f64).abs();
        match weights {
            KappaWeights::None => f64::from(u8::from(i == j)),
            KappaWeights::Linear => 1.0 - d / km1,
            KappaWeights::Quadratic => 1.0 - d * d / (km1 * km1),
        }
    };
    let row: Vec<f64> = p.iter().map(|r| r.iter().sum()).collect();
    let col: Vec<f64> = (0..k).map(|j| p.iter().map(|r| r[j]).sum()).collect();
    let (mut po, mut pe) = (0.0, 0.0);
    for i in 0..k {
        for j in 0..k {
            po += w(i, j) * p[i][j];
            pe += w(i, j) * row[i] * col[j];
        }
    }
    if (1.0 - pe).abs() < 1e-15 {
        return Err(StatsError::ZeroVariance("Cohen's kappa (both coders used one category)"));
    }
    let kappa = (po - pe) / (1.0 - pe);
    let wbar_row: Vec<f64> = (0..k).map(|i| (0..k).map(|j| col[j] * w(i, j)).sum()).collect();
    let wbar_col: Vec<f64> = (0..k).map(|j| (0..k).map(|i| row[i] * w(i, j)).sum()).collect();
    let (mut v1, mut v0) = (0.0, 0.0);
    for i in 0..k {
        for j in 0..k {
            v1 += p[i][j] * (w(i, j) - (wbar_row[i] + wbar_col[j]) * (1.0 - kappa)).powi(2);
            v0 += row[i] * col[j] * (w(i, j) - (wbar_row[i] + wbar_col[j])).powi(2);
        }
    }
    let denom = n as f64 * (1.0 - pe).powi(2);
    let se = ((v1 - (kappa - pe * (1.0 - kappa)).powi(2)) / denom).max(0.0).sqrt();
    let se0 = ((v0 - pe * pe) / denom).max(0.0).sqrt();
    let z = qnorm(1.0 - (1.0 - conf_level) / 2.0);
    let method = match weights {
        KappaWeights::None => "Cohen's kappa (unweighted)",
        KappaWeights::Linear => "Cohen's kappa (linear weights)",
        KappaWeights::Quadratic => "Cohen's kappa (quadratic weights)",
    };
    let mut r = StatResult::new(method, n).ci((kappa - z * se, kappa + z * se));
    r.estimate = Some(kappa);
    r.statistic = (se0 > 0.0).then(|| kappa / se0);
    r.p_value = r.statistic.map(|s| 2.0 * pnorm(-s.abs()));
    Ok(r.with("se", se)
        .with("se0", se0)
        .with("agreement_observed", po)
        .with("agreement_expected", pe))
}

/// Fleiss' kappa for a subjects × categories matrix of counts (each row sums to the same
/// number of raters), as statsmodels' `fleiss_kappa(table, method='fleiss')` and R's
/// `irr::kappam.fleiss`. `se0` and the z test under κ = 0 follow Fleiss, Nee & Landis
/// (1979), as `irr::kappam.fleiss` reports them.
pub fn fleiss_kappa(matrix: &[Vec<f64>]) -> Result<StatResult, StatsError> {
    let subjects = matrix.len();
    if subjects < 2 {
        return Err(StatsError::TooFew {
            what: "Fleiss' kappa (subjects)",
            needed: 2,
            got: subjects,
        });
    }
    let k = matrix[0].len();
    for row in matrix {
        if row.len() != k {
            return Err(StatsError::UnequalLengths {
                what: "rows of the Fleiss matrix",
                left: k,
                right: row.len(),
            });
        }
        for v in row {
            crate::error::check_count("matrix", *v)?;
        }
    }
    let raters: f64 = matrix[0].iter().sum();
    if matrix.iter().any(|r| (r.iter().sum::<f64>() - raters).abs() > 0.0) {
        return Err(StatsError::Invalid(
            "every subject must be rated by the same number of raters (rows must have equal sums)"
                .into(),
        ));
    }
    if raters < 2.0 {
        return Err(StatsError::TooFew {
            what: "Fleiss' kappa (raters per subject)",
            needed: 2,
            got: raters as usize,
        });
    }
    let nf = subjects as f64;
    let p_j: Vec<f64> =
        (0..k).map(|j| matrix.iter().map(|r| r[j]).sum::<f64>() / (nf * raters)).collect();
    let p_bar = matrix
        .iter()
        .map(|r| (r.iter().map(|v| v * v).sum::<f64>() - raters) / (raters * (raters - 1.0)))
        .sum::<f64>()
        / nf;
    let pe: f64 = p_j.iter().map(|p| p * p).sum();
    if (1.0 - pe).abs() < 1e-15 {
        return Err(StatsError::ZeroVariance("Fleiss' kappa (all ratings in one category)"));
    }
    let kappa = (p_bar - pe) / (1.0 - pe);
    let pq: f64 = p_j.iter().map(|p| p * (1.0 - p)).sum();
    let pq_term: f64 = p_j.iter().map(|p| p * (1.0 - p) * (1.0 - 2.0 * p)).sum();
    let se0 =
        (2.0 / (nf * raters * (raters - 1.0))).sqrt() * (pq * pq - pq_term).max(0.0).sqrt() / pq;
    let mut r = StatResult::new("Fleiss' kappa", subjects);
    r.estimate = Some(kappa);
    r.statistic = (se0 > 0.0).then(|| kappa / se0);
    r.p_value = r.statistic.map(|s| 2.0 * pnorm(-s.abs()));
    Ok(r.with("se0", se0).with("raters", raters))
}

/// Level of measurement for Krippendorff's alpha.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    /// Categories without order.
    Nominal,
    /// Ordered categories.
    Ordinal,
    /// Differences meaningful.
    Interval,
    /// Ratios meaningful (a true zero).
    Ratio,
}

/// Krippendorff's alpha for a coders × units matrix (`None` = missing), at the given
/// level, as the Python `krippendorff.alpha(reliability_data, level_of_measurement)` and
/// R's `irr::kripp.alpha`. Units with fewer than two values are not pairable and are
/// skipped. Nominal and interval run in time linear in the data (closed forms for the
/// expected disagreement); ordinal and ratio in time quadratic in the number of distinct
/// values.
pub fn krippendorff_alpha(
    matrix: &[Vec<Option<f64>>],
    level: Level,
) -> Result<StatResult, StatsError> {
    crate::error::check_finite("matrix", matrix.iter().flatten().flatten())?;
    let coders = matrix.len();
    if coders < 2 {
        return Err(StatsError::TooFew {
            what: "Krippendorff's alpha (coders)",
            needed: 2,
            got: coders,
        });
    }
    let units = matrix[0].len();
    if let Some(row) = matrix.iter().find(|r| r.len() != units) {
        return Err(StatsError::UnequalLengths {
            what: "coder rows of the alpha matrix",
            left: units,
            right: row.len(),
        });
    }
    if level == Level::Ratio
        && let Some(v) = matrix.iter().flatten().flatten().find(|v| **v < 0.0)
    {
        {
            return Err(StatsError::OutOfRange {
                what: "ratio-level values",
                value: *v,
                range: "[0, ∞)",
            });
        }
    }
    // Distinct values, sorted; per-value totals n_c over pairable units; observed
    // disagreement accumulated unit by unit.
    let mut values: Vec<f64> = matrix.iter().flatten().flatten().copied().collect();
    values.sort_by(f64::total_cmp);
    values.dedup();
    let index = |v: f64| values.partition_point(|x| *x < v);
    let mut n_c = vec![0.0; values.len()];
    let mut pair_counts: BTreeMap<(usize, usize), f64> = BTreeMap::new();
    let mut observed_interval = 0.0;
    let mut pairable_units = 0usize;
    let mut unit_values: Vec<f64> = Vec::with_capacity(coders);
    for u in 0..units {
        unit_values.clear();
        unit_values.extend(matrix.iter().filter_map(|row| row[u]));
        let m = unit_values.len();
        if m < 2 {
            continue;
        }
        pairable_units += 1;
        let mf = m as f64;
        for &v in &unit_values {
            n_c[index(v)] += 1.0;
        }
        match level {
            Level::Interval => {
                let s: f64 = unit_values.iter().sum();
                let s2: f64 = unit_values.iter().map(|v| v * v).sum();
                observed_interval += (2.0 * mf * s2 - 2.0 * s * s) / (mf - 1.0);
            }
            _ => {
                for i in 0..m {
                    for j in 0..m {
                        if i != j {
                            let (a, b) = (index(unit_values[i]), index(unit_values[j]));
                            if a != b {
                                *pair_counts.entry((a, b)).or_default() += 1.0 / (mf - 1.0);
                            }
                        }
                    }
                }
            }
        }
    }
    let n: f64 = n_c.iter().sum();
    if pairable_units == 0 || n < 2.0 {
        return Err(StatsError::TooFew {
            what: "Krippendorff's alpha (units coded at least twice)",
            needed: 1,
            got: 0,
        });
    }
    // Cumulative counts for the ordinal metric.
    let cumulative: Vec<f64> = n_c
        .iter()
        .scan(0.0, |acc, v| {
            *acc += v;
            Some(*acc)
        })
        .collect();
    let delta2 = |a: usize, b: usize| -> f64 {
        match level {
            Level::Nominal => f64::from(u8::from(a != b)),
            Level::Interval => (values[a] - values[b]).powi(2),
            Level::Ratio => {
                let (x, y) = (values[a], values[b]);
                if x + y == 0.0 { 0.0 } else { ((x - y) / (x + y)).powi(2) }
            }
            Level::Ordinal => {
                let (lo, hi) = if a < b { (a, b) } else { (b, a) };
                let between = cumulative[hi] - if lo == 0 { 0.0 } else { cumulative[lo - 1] };
                (between - f64::midpoint(n_c[a], n_c[b])).powi(2)
            }
        }
    };
    let observed = match level {
        Level::Interval => observed_interval / n,
        _ => pair_counts.iter().map(|(&(a, b), o)| o * delta2(a, b)).sum::<f64>() / n,
    };
    let expected = match level {
        Level::Nominal => (n * n - n_c.iter().map(|c| c * c).sum::<f64>()) / (n * (n - 1.0)),
        Level::Interval => {
            let s: f64 = n_c.iter().zip(&values).map(|(c, v)| c * v).sum();
            let s2: f64 = n_c.iter().zip(&values).map(|(c, v)| c * v * v).sum();
            (2.0 * n * s2 - 2.0 * s * s) / (n * (n - 1.0))
        }
        _ => {
            let mut e = 0.0;
            for a in 0..values.len() {
                for b in 0..values.len() {
                    if a != b {
                        e += n_c[a] * n_c[b] * delta2(a, b);
                    }
                }
            }
            e / (n * (n - 1.0))
        }
    };
    if expected <= 0.0 {
        return Err(StatsError::ZeroVariance("Krippendorff's alpha (all values are the same)"));
    }
    let name = match level {
        Level::Nominal => "Krippendorff's alpha (nominal)",
        Level::Ordinal => "Krippendorff's alpha (ordinal)",
        Level::Interval => "Krippendorff's alpha (interval)",
        Level::Ratio => "Krippendorff's alpha (ratio)",
    };
    let mut r = StatResult::new(name, pairable_units);
    r.estimate = Some(1.0 - observed / expected);
    Ok(r.with("disagreement_observed", observed)
        .with("disagreement_expected", expected)
        .with("values_pairable", n))
}

#[cfg(test)]
mod tests;

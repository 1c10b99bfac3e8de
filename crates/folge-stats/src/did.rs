//! Difference-in-differences: `y ~ treated + post + treated:post`, by OLS with classical
//! and cluster-robust (CR1, clustered by unit) standard errors, and for counts by a Poisson
//! GLM with log link and offset log(exposure) with cluster-robust standard errors.
//!
//! CR1 is `sandwich::vcovCL(fit, cluster = ~unit)` with its defaults (type HC1,
//! cadjust): V = G/(G − 1) · (N − 1)/(N − K) · B M B, B the inverse information and M the
//! sum over clusters of the outer products of the cluster score sums. OLS CIs and p-values
//! from it use the t distribution with G − 1 df (as Stata's `regress, vce(cluster)`); the
//! Poisson model's use the normal distribution (as `lmtest::coeftest` on a glm).

use std::collections::HashMap;

use crate::dist::{pnorm, pt, qnorm, qt};
use crate::error::check_level;
use crate::linalg::{Matrix, invert, mul, mul_vec};
use crate::{StatResult, StatsError};

const K: usize = 4;

/// Design rows and cluster of each observation; clusters are labels `0..labels`, of which
/// `clusters` occur.
struct Design {
    x: Vec<[f64; K]>,
    cluster: Vec<usize>,
    labels: usize,
    clusters: usize,
}

/// The dense cluster label of each unit, in order of first appearance.
fn cluster_labels(unit: &[String]) -> Vec<usize> {
    let mut ids: HashMap<&str, usize> = HashMap::with_capacity(unit.len() / 2 + 1);
    unit.iter()
        .map(|u| {
            let next = ids.len();
            *ids.entry(u.as_str()).or_insert(next)
        })
        .collect()
}

/// The cell of an observation: 2 · treated + post.
fn cell(treated: bool, post: bool) -> usize {
    2 * usize::from(treated) + usize::from(post)
}

/// The design row of a cell.
fn cell_row(c: usize) -> [f64; K] {
    let (t, p) = (f64::from(u8::from(c >= 2)), f64::from(u8::from(c % 2 == 1)));
    [1.0, t, p, t * p]
}

fn design(
    cluster: &[usize],
    treated: &[bool],
    post: &[bool],
    n_y: usize,
) -> Result<Design, StatsError> {
    for (what, len) in [("treated", treated.len()), ("post", post.len()), ("y", n_y)] {
        if len != cluster.len() {
            return Err(StatsError::UnequalLengths { what, left: cluster.len(), right: len });
        }
    }
    let labels = cluster.iter().max().map_or(0, |m| m + 1);
    let mut seen = vec![false; labels];
    for &g in cluster {
        seen[g] = true;
    }
    let clusters = seen.iter().filter(|s| **s).count();
    let mut counts = [0usize; 4];
    let x = treated
        .iter()
        .zip(post)
        .map(|(&t, &p)| {
            counts[cell(t, p)] += 1;
            cell_row(cell(t, p))
        })
        .collect::<Vec<_>>();
    if counts.contains(&0) {
        return Err(StatsError::Invalid(
            "difference-in-differences needs observations in all four cells (treated/control × before/after)".into(),
        ));
    }
    if clusters < 2 {
        return Err(StatsError::TooFew {
            what: "cluster-robust standard errors (units)",
            needed: 2,
            got: clusters,
        });
    }
    Ok(Design { x, cluster: cluster.to_vec(), labels, clusters })
}

/// X'WX for weights `w`.
fn information(x: &[[f64; K]], w: &[f64]) -> Matrix {
    let mut m = vec![vec![0.0; K]; K];
    for (row, wi) in x.iter().zip(w) {
        for a in 0..K {
            for b in 0..K {
                m[a][b] += wi * row[a] * row[b];
            }
        }
    }
    m
}

/// CR1 covariance from the bread and per-observation score contributions `x · r`.
fn cluster_covariance(d: &Design, bread: &Matrix, residual: &[f64]) -> Matrix {
    let mut sums = vec![[0.0; K]; d.labels];
    for ((row, r), g) in d.x.iter().zip(residual).zip(&d.cluster) {
        for a in 0..K {
            sums[*g][a] += row[a] * r;
        }
    }
    let mut meat = vec![vec![0.0; K]; K];
    for s in &sums {
        for a in 0..K {
            for b in 0..K {
                meat[a][b] += s[a] * s[b];
            }
        }
    }
    let (g, n) = (d.clusters as f64, d.x.len() as f64);
    let c = g / (g - 1.0) * (n - 1.0) / (n - K as f64);
    mul(&mul(bread, &meat), bread)
        .into_iter()
        .map(|row| row.into_iter().map(|v| v * c).collect())
        .collect()
}

/// OLS difference-in-differences: `estimate` = β(treated:post); `se` classical, `se_cluster`
/// CR1 by unit; statistic, CI and p from the cluster SE with G − 1 df. Matches
/// `lm(y ~ treated * post)` with `coeftest(fit, vcovCL(fit, cluster = ~unit))` for the SE.
pub fn did_ols(
    unit: &[String],
    treated: &[bool],
    post: &[bool],
    y: &[f64],
    conf_level: f64,
) -> Result<StatResult, StatsError> {
    check_level(conf_level)?;
    crate::error::check_finite("y", y)?;
    let d = design(&cluster_labels(unit), treated, post, y.len())?;
    let n = y.len();
    let xtx = information(&d.x, &vec![1.0; n]);
    let bread = invert(&xtx).ok_or_else(|| StatsError::Invalid("the design is singular".into()))?;
    let xty: Vec<f64> =
        (0..K).map(|a| d.x.iter().zip(y).map(|(row, yi)| row[a] * yi).sum()).collect();
    let beta = mul_vec(&bread, &xty);
    let residual: Vec<f64> =
        d.x.iter()
            .zip(y)
            .map(|(row, yi)| yi - row.iter().zip(&beta).map(|(a, b)| a * b).sum::<f64>())
            .collect();
    let rss: f64 = residual.iter().map(|r| r * r).sum();
    let sigma2 = rss / (n - K) as f64;
    let se = (sigma2 * bread[3][3]).sqrt();
    let se_cluster = cluster_covariance(&d, &bread, &residual)[3][3].sqrt();
    if se_cluster <= 0.0 || !se_cluster.is_finite() {
        return Err(StatsError::ZeroVariance("difference-in-differences (residuals)"));
    }
    let df = (d.clusters - 1) as f64;
    let t = beta[3] / se_cluster;
    let q = qt(1.0 - (1.0 - conf_level) / 2.0, df);
    let mut r = StatResult::new(
        "Difference-in-differences, OLS with CR1 cluster-robust SE (t, G − 1 df)",
        n,
    )
    .ci((beta[3] - q * se_cluster, beta[3] + q * se_cluster));
    r.estimate = Some(beta[3]);
    r.statistic = Some(t);
    r.df = Some(df);
    r.p_value = Some((2.0 * pt(-t.abs(), df)).min(1.0));
    Ok(r.with("se", se).with("se_cluster", se_cluster).with("n_clusters", d.clusters as f64))
}

/// Poisson GLM difference-in-differences with log link and offset log(exposure) (y ≥ 0:
/// counts, or hours as a pseudo-Poisson fit): `estimate` = exp(β(treated:post)), the ratio
/// of rate ratios; CI exp(β ± z · `se_log_cluster`) and p from the CR1 cluster-robust SE.
/// Matches `glm(y ~ treated * post + offset(log(exposure)), family = poisson)` with
/// `vcovCL(fit, cluster = ~unit)`.
pub fn did_poisson(
    unit: &[String],
    treated: &[bool],
    post: &[bool],
    y: &[f64],
    exposure: &[f64],
    conf_level: f64,
) -> Result<StatResult, StatsError> {
    did_poisson_clustered(&cluster_labels(unit), treated, post, y, exposure, conf_level)
}

/// [`did_poisson`] with each observation's cluster given as a label (any `usize`; the
/// labels need not be dense, memory grows with the largest), so callers that already
/// number their units need not build strings.
///
/// The model is saturated (four parameters, four cells), so the maximum-likelihood fit is
/// closed-form, as IRLS would converge to: each cell's fitted rate is its total events over
/// its total exposure, μᵢ = exposureᵢ · rate of its cell, and the information X'diag(μ)X
/// sums each cell's events. A cell with no events has no finite estimate (IRLS would
/// diverge) and is an error.
pub fn did_poisson_clustered(
    cluster: &[usize],
    treated: &[bool],
    post: &[bool],
    y: &[f64],
    exposure: &[f64],
    conf_level: f64,
) -> Result<StatResult, StatsError> {
    check_level(conf_level)?;
    crate::error::check_finite("y", y)?;
    crate::error::check_finite("exposure", exposure)?;
    let d = design(cluster, treated, post, y.len())?;
    if exposure.len() != y.len() {
        return Err(StatsError::UnequalLengths {
            what: "exposure",
            left: y.len(),
            right: exposure.len(),
        });
    }
    // Counts in the usual case; any y ≥ 0 is allowed because with cluster-robust SEs the
    // Poisson fit is a valid pseudo-likelihood for non-integer outcomes such as hours
    // (Santos Silva & Tenreyro 2006).
    if let Some(&bad) = y.iter().find(|v| !(**v >= 0.0 && v.is_finite())) {
        return Err(StatsError::OutOfRange { what: "y", value: bad, range: "[0, ∞)" });
    }
    if let Some(&bad) = exposure.iter().find(|e| !(**e > 0.0 && e.is_finite())) {
        return Err(StatsError::OutOfRange { what: "exposure", value: bad, range: "(0, ∞)" });
    }
    let (mut events, mut time) = ([0.0f64; 4], [0.0f64; 4]);
    for ((&t, &p), (yi, ei)) in treated.iter().zip(post).zip(y.iter().zip(exposure)) {
        events[cell(t, p)] += yi;
        time[cell(t, p)] += ei;
    }
    if events.iter().sum::<f64>() <= 0.0 {
        return Err(StatsError::Invalid("a Poisson model needs at least one event".into()));
    }
    if events.contains(&0.0) {
        return Err(StatsError::Invalid(
            "the Poisson model has no finite estimate: an arm × period cell has no events".into(),
        ));
    }
    let rate: [f64; 4] = std::array::from_fn(|c| events[c] / time[c]);
    let log_rate = rate.map(f64::ln);
    let beta = [
        log_rate[0],
        log_rate[2] - log_rate[0],
        log_rate[1] - log_rate[0],
        log_rate[3] - log_rate[2] - log_rate[1] + log_rate[0],
    ];
    if beta.iter().any(|b| !b.is_finite() || b.abs() > 30.0) {
        return Err(StatsError::Invalid(
            "the Poisson model has no finite estimate (a cell's rate is out of range)".into(),
        ));
    }
    // X'diag(μ)X: within a cell every row is the same and the μ sum to the cell's events.
    let cell_rows: Vec<[f64; K]> = (0..4).map(cell_row).collect();
    let bread = invert(&information(&cell_rows, &events))
        .ok_or_else(|| StatsError::Invalid("the Poisson information matrix is singular".into()))?;
    let residual: Vec<f64> = treated
        .iter()
        .zip(post)
        .zip(y.iter().zip(exposure))
        .map(|((&t, &p), (yi, ei))| yi - ei * rate[cell(t, p)])
        .collect();
    let se_log = bread[3][3].sqrt();
    let se_cluster = cluster_covariance(&d, &bread, &residual)[3][3].sqrt();
    if se_cluster <= 0.0 || !se_cluster.is_finite() {
        return Err(StatsError::ZeroVariance("difference-in-differences (Poisson scores)"));
    }
    let z = qnorm(1.0 - (1.0 - conf_level) / 2.0);
    let stat = beta[3] / se_cluster;
    let mut r = StatResult::new("Difference-in-differences, Poisson GLM (log link, offset log exposure) with CR1 cluster-robust SE", y.len())
        .ci(((beta[3] - z * se_cluster).exp(), (beta[3] + z * se_cluster).exp()));
    r.estimate = Some(beta[3].exp());
    r.statistic = Some(stat);
    r.p_value = Some(2.0 * pnorm(-stat.abs()));
    Ok(r.with("beta", beta[3])
        .with("se_log", se_log)
        .with("se_log_cluster", se_cluster)
        .with("n_clusters", d.clusters as f64))
}

#[cfg(test)]
mod tests;

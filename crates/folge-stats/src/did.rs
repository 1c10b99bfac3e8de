//! Difference-in-differences: `y ~ treated + post + treated:post`, by OLS with classical
//! and cluster-robust (CR1, clustered by unit) standard errors, and for counts by a Poisson
//! GLM with log link and offset log(exposure) with cluster-robust standard errors.
//!
//! CR1 is `sandwich::vcovCL(fit, cluster = ~unit)` with its defaults (type HC1,
//! cadjust): V = G/(G − 1) · (N − 1)/(N − K) · B M B, B the inverse information and M the
//! sum over clusters of the outer products of the cluster score sums. OLS CIs and p-values
//! from it use the t distribution with G − 1 df (as Stata's `regress, vce(cluster)`); the
//! Poisson model's use the normal distribution (as `lmtest::coeftest` on a glm).

use std::collections::BTreeMap;

use crate::dist::{pnorm, pt, qnorm, qt};
use crate::error::check_level;
use crate::linalg::{Matrix, invert, mul, mul_vec};
use crate::{StatResult, StatsError};

const K: usize = 4;

/// Design rows and cluster index of each observation.
struct Design {
    x: Vec<[f64; K]>,
    cluster: Vec<usize>,
    clusters: usize,
}

fn design(
    unit: &[String],
    treated: &[bool],
    post: &[bool],
    n_y: usize,
) -> Result<Design, StatsError> {
    for (what, len) in [("treated", treated.len()), ("post", post.len()), ("y", n_y)] {
        if len != unit.len() {
            return Err(StatsError::UnequalLengths { what, left: unit.len(), right: len });
        }
    }
    let mut ids: BTreeMap<&str, usize> = BTreeMap::new();
    let mut cluster = Vec::with_capacity(unit.len());
    for u in unit {
        let next = ids.len();
        cluster.push(*ids.entry(u.as_str()).or_insert(next));
    }
    let x = treated
        .iter()
        .zip(post)
        .map(|(&t, &p)| {
            let (t, p) = (f64::from(u8::from(t)), f64::from(u8::from(p)));
            [1.0, t, p, t * p]
        })
        .collect::<Vec<_>>();
    let cells =
        |t: bool, p: bool| treated.iter().zip(post).filter(|(a, b)| **a == t && **b == p).count();
    if [(false, false), (false, true), (true, false), (true, true)]
        .iter()
        .any(|&(t, p)| cells(t, p) == 0)
    {
        return Err(StatsError::Invalid(
            "difference-in-differences needs observations in all four cells (treated/control × before/after)".into(),
        ));
    }
    if ids.len() < 2 {
        return Err(StatsError::TooFew {
            what: "cluster-robust standard errors (units)",
            needed: 2,
            got: ids.len(),
        });
    }
    Ok(Design { x, cluster, clusters: ids.len() })
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
    let mut sums = vec![[0.0; K]; d.clusters];
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
    let d = design(unit, treated, post, y.len())?;
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

/// Poisson GLM difference-in-differences with log link and offset log(exposure), fitted by
/// IRLS (y ≥ 0: counts, or hours as a pseudo-Poisson fit): `estimate` = exp(β(treated:post)),
/// the ratio of rate ratios; CI exp(β ± z ·
/// `se_log_cluster`) and p from the CR1 cluster-robust SE. Matches `glm(y ~ treated * post +
/// offset(log(exposure)), family = poisson)` with `vcovCL(fit, cluster = ~unit)`.
pub fn did_poisson(
    unit: &[String],
    treated: &[bool],
    post: &[bool],
    y: &[f64],
    exposure: &[f64],
    conf_level: f64,
) -> Result<StatResult, StatsError> {
    check_level(conf_level)?;
    let d = design(unit, treated, post, y.len())?;
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
    let offset: Vec<f64> = exposure.iter().map(|e| e.ln()).collect();
    let total_rate = y.iter().sum::<f64>() / exposure.iter().sum::<f64>();
    if total_rate <= 0.0 {
        return Err(StatsError::Invalid("a Poisson model needs at least one event".into()));
    }
    let mut beta = vec![total_rate.ln(), 0.0, 0.0, 0.0];
    let mut converged = false;
    let mut mu = vec![0.0; y.len()];
    for _ in 0..100 {
        for ((m, row), off) in mu.iter_mut().zip(&d.x).zip(&offset) {
            *m = (row.iter().zip(&beta).map(|(a, b)| a * b).sum::<f64>() + off).exp();
        }
        let info = information(&d.x, &mu);
        let inv = invert(&info).ok_or_else(|| {
            StatsError::Invalid("the Poisson model cannot be fitted: a cell has no events".into())
        })?;
        let score: Vec<f64> = (0..K)
            .map(|a| d.x.iter().zip(y).zip(&mu).map(|((row, yi), m)| row[a] * (yi - m)).sum())
            .collect();
        let step = mul_vec(&inv, &score);
        for (b, s) in beta.iter_mut().zip(&step) {
            *b += s;
        }
        if step.iter().zip(&beta).all(|(s, b)| s.abs() <= 1e-12 * (1.0 + b.abs())) {
            converged = true;
            break;
        }
    }
    if !converged || beta.iter().any(|b| !b.is_finite() || b.abs() > 30.0) {
        return Err(StatsError::Invalid(
            "the Poisson model did not converge (a cell may have no events)".into(),
        ));
    }
    for ((m, row), off) in mu.iter_mut().zip(&d.x).zip(&offset) {
        *m = (row.iter().zip(&beta).map(|(a, b)| a * b).sum::<f64>() + off).exp();
    }
    let bread = invert(&information(&d.x, &mu))
        .ok_or_else(|| StatsError::Invalid("the Poisson information matrix is singular".into()))?;
    let residual: Vec<f64> = y.iter().zip(&mu).map(|(yi, m)| yi - m).collect();
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

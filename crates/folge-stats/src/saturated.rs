//! The Poisson GLM whose design is saturated in a cell factor — one parameter per cell,
//! as in `value ~ after` within an arm, `value ~ pilot * after`, or `value ~ pilot` after
//! inclusion — in closed form: the maximum-likelihood rate of each cell is its events over
//! its exposure (IRLS converges to exactly that), the information sums each cell's events,
//! and the CR1 meat sums each cluster's scores. The same numbers as [`poisson_glm`] on the
//! expanded design (the tests fit both ways), without an iteration, a logarithm or an
//! exponential per row: person-level comparisons of 200,000 persons in every subset.

use crate::StatsError;
use crate::glm::{GlmFit, cr1_sandwich};
use crate::linalg::invert;

/// Poisson GLM `y ~ cell + offset(log(exposure))` with `cell_x[c]` the design row of cell
/// `c` (a square, invertible design: as many columns as cells), `cell[i]` the cell of row
/// `i`, and CR1 cluster-robust covariance by `cluster` (any `usize` labels; memory grows
/// with the largest). Equal to [`crate::poisson_glm`] on rows `cell_x[cell[i]]` with offset
/// `ln(exposure[i])` and the same clusters. A cell without events has no finite estimate.
pub fn poisson_glm_cells(
    cell_x: &[Vec<f64>],
    cell: &[usize],
    y: &[f64],
    exposure: &[f64],
    cluster: &[usize],
) -> Result<GlmFit, StatsError> {
    let k = cell_x.len();
    if k == 0 || cell_x.iter().any(|row| row.len() != k) {
        return Err(StatsError::Invalid(
            "a saturated design needs one row of as many columns per cell".into(),
        ));
    }
    for (what, len) in [("y", y.len()), ("exposure", exposure.len()), ("cluster", cluster.len())] {
        if len != cell.len() {
            return Err(StatsError::UnequalLengths { what, left: cell.len(), right: len });
        }
    }
    if let Some(&bad) = cell.iter().find(|c| **c >= k) {
        return Err(StatsError::Invalid(format!(
            "cell `{bad}` does not exist: the design has {k} cells"
        )));
    }
    if let Some(&bad) = y.iter().find(|v| !(**v >= 0.0 && v.is_finite())) {
        return Err(StatsError::OutOfRange { what: "y", value: bad, range: "[0, ∞)" });
    }
    if let Some(&bad) = exposure.iter().find(|e| !(**e > 0.0 && e.is_finite())) {
        return Err(StatsError::OutOfRange { what: "exposure", value: bad, range: "(0, ∞)" });
    }
    let (mut events, mut time) = (vec![0.0; k], vec![0.0; k]);
    for ((&c, &v), &e) in cell.iter().zip(y).zip(exposure) {
        events[c] += v;
        time[c] += e;
    }
    if events.iter().all(|e| *e == 0.0) {
        return Err(StatsError::Invalid(
            "the Poisson model has no finite estimate when every outcome is 0".into(),
        ));
    }
    if events.iter().zip(&time).any(|(e, t)| *e == 0.0 || *t == 0.0) {
        return Err(StatsError::Invalid(
            "the Poisson model has no finite estimate: a cell of the design has no events".into(),
        ));
    }
    let rate: Vec<f64> = events.iter().zip(&time).map(|(e, t)| e / t).collect();
    let x_inverse = invert(&cell_x.to_vec())
        .ok_or_else(|| StatsError::Invalid("the saturated design is singular".into()))?;
    let log_rate: Vec<f64> = rate.iter().map(|r| r.ln()).collect();
    let coef: Vec<f64> =
        x_inverse.iter().map(|row| row.iter().zip(&log_rate).map(|(a, b)| a * b).sum()).collect();
    if coef.iter().any(|b| !b.is_finite()) {
        return Err(StatsError::Invalid(
            "the Poisson model has no finite estimate (a cell's rate is out of range)".into(),
        ));
    }
    // X'diag(μ)X: within a cell every row is the same and the μ sum to the cell's events.
    let mut information = vec![vec![0.0; k]; k];
    for (row, w) in cell_x.iter().zip(&events) {
        for a in 0..k {
            for b in 0..k {
                information[a][b] += w * row[a] * row[b];
            }
        }
    }
    let bread = invert(&information)
        .ok_or_else(|| StatsError::Invalid("the Poisson information matrix is singular".into()))?;
    // Each cluster's score Σ x_c (y − rate_c · e), then Σ_g s_g s_g'.
    let labels = cluster.iter().max().map_or(0, |m| m + 1);
    let mut scores = vec![0.0; labels * k];
    let mut seen = vec![false; labels];
    let mut deviance = 0.0;
    for (((&c, &v), &e), &g) in cell.iter().zip(y).zip(exposure).zip(cluster) {
        let mu = rate[c] * e;
        let r = v - mu;
        for (s, x) in scores[g * k..][..k].iter_mut().zip(&cell_x[c]) {
            *s += x * r;
        }
        seen[g] = true;
        deviance += 2.0 * (if v > 0.0 { v * (v / mu).ln() } else { 0.0 } - r);
    }
    let clusters = seen.iter().filter(|s| **s).count();
    if clusters < 2 {
        return Err(StatsError::TooFew {
            what: "cluster-robust standard errors (clusters)",
            needed: 2,
            got: clusters,
        });
    }
    if cell.len() <= k {
        return Err(StatsError::TooFew {
            what: "cluster-robust standard errors (observations, more than the columns)",
            needed: k + 1,
            got: cell.len(),
        });
    }
    let mut meat = vec![vec![0.0; k]; k];
    for s in scores.chunks_exact(k) {
        for a in 0..k {
            for b in 0..k {
                meat[a][b] += s[a] * s[b];
            }
        }
    }
    let cov_cluster = cr1_sandwich(&bread, &meat, cell.len(), clusters);
    Ok(GlmFit {
        coef,
        cov_model: bread,
        cov_cluster: Some(cov_cluster),
        n: cell.len(),
        n_clusters: clusters,
        theta: None,
        iterations: 0,
        deviance,
    })
}

/// The cluster jackknife (CV3) covariance of [`poisson_glm_cells`]' coefficients:
/// `(G − 1)/G · Σ_g (β̂₍₋g₎ − β̂)(β̂₍₋g₎ − β̂)'`, each `β̂₍₋g₎` the closed-form fit without
/// cluster `g` — `sandwich::vcovJK(fit, cluster = ~id, center = "estimate")`, MacKinnon,
/// Nielsen & Webb's `CRV3`, which they recommend over CR1 where a few clusters carry much
/// of the data (a few heavy users carry most of the use). `None` where leaving a cluster
/// out empties a cell (one person holds all of its events), or with fewer than two
/// clusters; arguments as for [`poisson_glm_cells`], which should have succeeded.
pub fn poisson_cells_jackknife(
    cell_x: &[Vec<f64>],
    cell: &[usize],
    y: &[f64],
    exposure: &[f64],
    cluster: &[usize],
) -> Option<Vec<Vec<f64>>> {
    let k = cell_x.len();
    let n = cell.len();
    if k == 0 || [y.len(), exposure.len(), cluster.len()].iter().any(|l| *l != n) {
        return None;
    }
    let labels = cluster.iter().max().map_or(0, |m| m + 1);
    // Per cluster and cell: events and exposure.
    let (mut own_y, mut own_e) = (vec![0.0; labels * k], vec![0.0; labels * k]);
    let mut seen = vec![false; labels];
    let (mut events, mut time) = (vec![0.0; k], vec![0.0; k]);
    for i in 0..n {
        let (c, g) = (cell[i], cluster[i]);
        if c >= k {
            return None;
        }
        own_y[g * k + c] += y[i];
        own_e[g * k + c] += exposure[i];
        events[c] += y[i];
        time[c] += exposure[i];
        seen[g] = true;
    }
    let x_inverse = invert(&cell_x.to_vec())?;
    let beta_of = |events: &[f64], time: &[f64]| -> Option<Vec<f64>> {
        let log_rate: Vec<f64> = (0..k)
            .map(|c| {
                let (e, t) = (events[c], time[c]);
                // A cell emptied by leaving a cluster out: no finite estimate.
                if e > 0.0 && t > 0.0 { Some((e / t).ln()) } else { None }
            })
            .collect::<Option<_>>()?;
        Some(
            x_inverse
                .iter()
                .map(|row| row.iter().zip(&log_rate).map(|(a, b)| a * b).sum())
                .collect(),
        )
    };
    let beta = beta_of(&events, &time)?;
    let clusters = seen.iter().filter(|s| **s).count();
    if clusters < 2 {
        return None;
    }
    let mut v = vec![vec![0.0; k]; k];
    let (mut without_y, mut without_e) = (vec![0.0; k], vec![0.0; k]);
    for g in (0..labels).filter(|&g| seen[g]) {
        for c in 0..k {
            // Subtracting a cluster's share, and guarding against the rounding that could
            // leave a tiny positive remainder of a cell it emptied.
            let y_rest = events[c] - own_y[g * k + c];
            without_y[c] = if y_rest > 1e-9 * events[c] { y_rest } else { 0.0 };
            without_e[c] = time[c] - own_e[g * k + c];
        }
        let b = beta_of(&without_y, &without_e)?;
        for a in 0..k {
            for q in 0..k {
                v[a][q] += (b[a] - beta[a]) * (b[q] - beta[q]);
            }
        }
    }
    let factor = (clusters as f64 - 1.0) / clusters as f64;
    for row in &mut v {
        for x in row.iter_mut() {
            *x *= factor;
        }
    }
    Some(v)
}

/// The cluster jackknife interval of a pooled rate `ΣY/ΣE` (the intercept-only Poisson GLM
/// with offset, one row per person): [`poisson_cells_jackknife`] with one cell, summed
/// person by person in a second pass once the totals are known.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RateJackknife {
    total_y: f64,
    total_e: f64,
    /// Each person's move of the log rate.
    moves: crate::JackknifeMoves,
    /// Leaving a person out left no events (one person holds them all).
    undefined: bool,
}

impl RateJackknife {
    /// For a pool with `total_y` events over `total_e` exposure.
    pub fn new(total_y: f64, total_e: f64) -> Self {
        RateJackknife {
            total_y,
            total_e,
            moves: crate::JackknifeMoves::default(),
            undefined: false,
        }
    }

    /// One person's value and exposure (a person without exposure has no row).
    pub fn add(&mut self, y: f64, e: f64) {
        if e <= 0.0 {
            return;
        }
        let (rest_y, rest_e) = (self.total_y - y, self.total_e - e);
        if rest_y <= 1e-9 * self.total_y || rest_e <= 0.0 {
            self.moves.clusters += 1;
            self.undefined = true;
            return;
        }
        self.moves.add((rest_y / rest_e).ln() - (self.total_y / self.total_e).ln());
    }

    /// The rate with its interval on the log scale from the jackknife variance
    /// `(G − 1)/G Σ_g (log λ₍₋g₎ − log λ)²`, with the small-sample t and the acceleration
    /// of [`crate::JackknifeMoves::interval`]; `None` without events, with fewer than two
    /// persons, or where leaving one out leaves no events.
    pub fn interval(&self, conf_level: f64) -> Option<(f64, f64)> {
        if self.undefined || self.moves.clusters < 2 || self.total_y <= 0.0 || self.total_e <= 0.0 {
            return None;
        }
        crate::error::check_level(conf_level).ok()?;
        let log_rate = (self.total_y / self.total_e).ln();
        let (lo, hi) = self.moves.interval(log_rate, conf_level)?;
        let (lo, hi) = (lo.exp(), hi.exp());
        (lo.is_finite() && hi.is_finite()).then_some((lo, hi))
    }
}

#[cfg(test)]
mod tests;

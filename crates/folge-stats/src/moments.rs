//! Person-clustered Poisson inference from sums over persons, for views that never hold
//! one row per person: a rate per person-year with its CR1 interval from six sums, and
//! the difference-in-differences pre-trend model (pilot × time in the bins before
//! inclusion) whose cluster-robust variance follows exactly from a few sums and the
//! exposure cross-products of each arm.
//!
//! Both equal what the person-level models give: `glm(y ~ 1 + offset(log(e)), family =
//! poisson)` on one row per person with `sandwich::vcovCL(fit, cluster = ~pid, type =
//! "HC1")`, and `glm(y ~ pilot * t + offset(log(e)))` on person × bin rows with the same
//! clustered variance (the tests fit both ways). The design of the trend model depends
//! only on the arm and the bin, so the fit needs only the cell totals, and each person's
//! score is `(R0, a·R0, R1, a·R1)` with `R0 = Σ_b (y_b − λ_b e_b)` and
//! `R1 = Σ_b t_b (y_b − λ_b e_b)`: its outer products sum to expressions in `Σ Y²`,
//! `Σ Y·T`, `Σ T²`, `Σ Y·e_b`, `Σ T·e_b` and `Σ e_b·e_b′` over persons (`Y = Σ_b y_b`,
//! `T = Σ_b t_b y_b`).

use crate::dist::{pnorm, qnorm};
use crate::error::check_level;
use crate::{StatResult, StatsError, cr1_sandwich, poisson_glm};

/// Sums over persons (one row each) of a rate's cell: persons with exposure, Σy, Σe,
/// Σy², Σy·e, Σe².
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct BinMoments {
    /// Persons with exposure.
    pub n: u64,
    /// Σ y.
    pub y: f64,
    /// Σ e (person-years).
    pub e: f64,
    /// Σ y².
    pub yy: f64,
    /// Σ y·e.
    pub ye: f64,
    /// Σ e².
    pub ee: f64,
}

impl BinMoments {
    /// Add one person's value and exposure; a person without exposure adds nothing (the
    /// model has no row for them).
    pub fn add(&mut self, y: f64, e: f64) {
        if e > 0.0 {
            self.n += 1;
            self.y += y;
            self.e += e;
            self.yy += y * y;
            self.ye += y * e;
            self.ee += e * e;
        }
    }

    /// The rate Σy/Σe and its interval from the intercept-only Poisson GLM with offset
    /// log(e) and CR1 SE by person: var(log λ) = G/(G − 1) · Σ(y − λe)² / (Σy)² (with one
    /// parameter and one row per person, (N − 1)/(N − K) is 1). `None` without events or
    /// with fewer than two persons.
    pub fn rate_interval(&self, conf_level: f64) -> Option<(f64, f64)> {
        if self.n < 2 || self.y <= 0.0 || self.e <= 0.0 || check_level(conf_level).is_err() {
            return None;
        }
        let rate = self.y / self.e;
        let meat = (self.yy - 2.0 * rate * self.ye + rate * rate * self.ee).max(0.0);
        let g = self.n as f64;
        let se = (g / (g - 1.0) * meat).sqrt() / self.y;
        let z = qnorm(1.0 - (1.0 - conf_level) / 2.0);
        let (lo, hi) = (rate * (-z * se).exp(), rate * (z * se).exp());
        (lo.is_finite() && hi.is_finite()).then_some((lo, hi))
    }
}

/// Sums over one arm's persons of their exposure in the bins before inclusion, for
/// [`pretrend_ratio`]: bin times, exposure per bin, exposure cross-products, rows and
/// persons.
#[derive(Debug, Clone, PartialEq)]
pub struct ExposureMoments {
    /// Time of each bin (in bins: −12 … −1).
    pub t: Vec<f64>,
    /// `Σ e_b`.
    pub e: Vec<f64>,
    /// `Σ e_b · e_b′`, row-major bins × bins.
    pub e_cross: Vec<f64>,
    /// Person × bin rows with exposure (N of the model).
    pub rows: u64,
    /// Persons with exposure in any bin (G).
    pub clusters: u64,
}

impl ExposureMoments {
    /// No persons yet; `t` the time of each bin.
    pub fn new(t: Vec<f64>) -> Self {
        let k = t.len();
        ExposureMoments { t, e: vec![0.0; k], e_cross: vec![0.0; k * k], rows: 0, clusters: 0 }
    }

    /// One person's exposure per bin.
    pub fn add_person(&mut self, e: &[f64]) {
        let k = self.t.len();
        let rows = e.iter().take(k).filter(|v| **v > 0.0).count() as u64;
        if rows == 0 {
            return;
        }
        self.rows += rows;
        self.clusters += 1;
        for (b, &eb) in e.iter().enumerate().take(k).filter(|(_, v)| **v > 0.0) {
            self.e[b] += eb;
            for (c, &ec) in e.iter().enumerate().take(k) {
                self.e_cross[b * k + c] += eb * ec;
            }
        }
    }
}

/// Sums over one arm's persons of one outcome in the bins before inclusion, for
/// [`pretrend_ratio`].
#[derive(Debug, Clone, PartialEq)]
pub struct OutcomeMoments {
    /// `Σ y_b`.
    pub y: Vec<f64>,
    /// `Σ Y²`, `Y = Σ_b y_b`.
    pub yy: f64,
    /// `Σ Y·T`, `T = Σ_b t_b y_b`.
    pub yt: f64,
    /// Σ T².
    pub tt: f64,
    /// `Σ Y·e_b`.
    pub y_e: Vec<f64>,
    /// `Σ T·e_b`.
    pub t_e: Vec<f64>,
}

impl OutcomeMoments {
    /// No persons yet, `bins` bins.
    pub fn new(bins: usize) -> Self {
        OutcomeMoments {
            y: vec![0.0; bins],
            yy: 0.0,
            yt: 0.0,
            tt: 0.0,
            y_e: vec![0.0; bins],
            t_e: vec![0.0; bins],
        }
    }

    /// One person's values and exposure per bin, bins at times `t`; values in bins
    /// without exposure are ignored (they have no row in the model).
    pub fn add_person(&mut self, t: &[f64], y: &[f64], e: &[f64]) {
        let (mut big_y, mut big_t) = (0.0, 0.0);
        for b in 0..self.y.len().min(y.len()).min(e.len()) {
            if e[b] > 0.0 {
                self.y[b] += y[b];
                big_y += y[b];
                big_t += t[b] * y[b];
            }
        }
        self.yy += big_y * big_y;
        self.yt += big_y * big_t;
        self.tt += big_t * big_t;
        for (b, &eb) in e.iter().enumerate().take(self.y.len()) {
            self.y_e[b] += big_y * eb;
            self.t_e[b] += big_t * eb;
        }
    }
}

/// The pre-trend check of a difference in differences: exp(β) of the pilot × t
/// interaction in `y ~ pilot * t + offset(log e)` over the bins before inclusion, the
/// ratio of the arms' per-bin rate trends (1: parallel), with a CR1 interval and p-value
/// by person, from sums over persons. Equal to the person × bin Poisson GLM with
/// `vcovCL(fit, cluster = ~pid, type = "HC1")`; normal reference, as `lmtest::coeftest`.
pub fn pretrend_ratio(
    pilot: (&ExposureMoments, &OutcomeMoments),
    comparison: (&ExposureMoments, &OutcomeMoments),
    conf_level: f64,
) -> Result<StatResult, StatsError> {
    check_level(conf_level)?;
    let bins = pilot.0.t.len();
    if comparison.0.t != pilot.0.t
        || [pilot.1.y.len(), comparison.1.y.len()].iter().any(|l| *l != bins)
    {
        return Err(StatsError::Invalid("the arms' bins differ".into()));
    }
    let arms = [(1.0, pilot), (0.0, comparison)];
    // Cells with exposure: the grouped fit gives the person-level MLE and information.
    let (mut x, mut y, mut offset) = (Vec::new(), Vec::new(), Vec::new());
    for (a, (exposure, outcome)) in arms {
        for b in (0..bins).filter(|&b| exposure.e[b] > 0.0) {
            let t = exposure.t[b];
            x.extend([1.0, a, t, a * t]);
            y.push(outcome.y[b]);
            offset.push(exposure.e[b].ln());
        }
    }
    let fit = poisson_glm(&x, 4, &y, &offset, None, None)?;
    let beta = &fit.coef;
    let mut meat = vec![vec![0.0; 4]; 4];
    for (a, (exposure, outcome)) in arms {
        let lambda: Vec<f64> = exposure
            .t
            .iter()
            .map(|t| (beta[0] + beta[1] * a + beta[2] * t + beta[3] * a * t).exp())
            .collect();
        let t = &exposure.t;
        let cross = |f: &dyn Fn(usize) -> f64, g: &dyn Fn(usize) -> f64| -> f64 {
            let mut s = 0.0;
            for b in 0..bins {
                let fb = f(b);
                if fb == 0.0 {
                    continue;
                }
                for c in 0..bins {
                    s += fb * g(c) * exposure.e_cross[b * bins + c];
                }
            }
            s
        };
        let lam = |b: usize| lambda[b];
        let tlam = |b: usize| t[b] * lambda[b];
        let sum = |v: &[f64], f: &dyn Fn(usize) -> f64| (0..bins).map(|b| f(b) * v[b]).sum::<f64>();
        let r00 = outcome.yy - 2.0 * sum(&outcome.y_e, &lam) + cross(&lam, &lam);
        let r01 =
            outcome.yt - sum(&outcome.y_e, &tlam) - sum(&outcome.t_e, &lam) + cross(&lam, &tlam);
        let r11 = outcome.tt - 2.0 * sum(&outcome.t_e, &tlam) + cross(&tlam, &tlam);
        // s = (R0, a·R0, R1, a·R1), a ∈ {0, 1}.
        let u = [(0, 1.0, 0), (1, a, 0), (2, 1.0, 1), (3, a, 1)];
        let r = [[r00, r01], [r01, r11]];
        for &(i, ai, ri) in &u {
            for &(j, aj, rj) in &u {
                meat[i][j] += ai * aj * r[ri][rj];
            }
        }
    }
    let rows = (pilot.0.rows + comparison.0.rows) as usize;
    let clusters = (pilot.0.clusters + comparison.0.clusters) as usize;
    if clusters < 2 {
        return Err(StatsError::TooFew {
            what: "cluster-robust standard errors (persons)",
            needed: 2,
            got: clusters,
        });
    }
    let v = cr1_sandwich(&fit.cov_model, &meat, rows, clusters);
    let se = v[3][3].sqrt();
    if !(se > 0.0 && se.is_finite()) {
        return Err(StatsError::ZeroVariance("the pre-trend model (person scores)"));
    }
    let z = qnorm(1.0 - (1.0 - conf_level) / 2.0);
    let stat = beta[3] / se;
    let mut r = StatResult::new(
        "Pre-trend check: Poisson GLM y ~ pilot * t + offset(log e), CR1 cluster-robust SE by person",
        rows,
    )
    .ci(((beta[3] - z * se).exp(), (beta[3] + z * se).exp()));
    r.estimate = Some(beta[3].exp());
    r.statistic = Some(stat);
    r.p_value = Some(2.0 * pnorm(-stat.abs()));
    Ok(r.with("beta", beta[3]).with("se", se).with("n_clusters", clusters as f64))
}

#[cfg(test)]
mod tests;

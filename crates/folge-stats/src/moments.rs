//! Person-clustered Poisson inference from sums over persons, for views that never hold
//! one row per person: a rate per person-year with its CR1 interval from six sums, equal
//! to `glm(y ~ 1 + offset(log(e)), family = poisson)` on one row per person with
//! `sandwich::vcovCL(fit, cluster = ~pid, type = "HC1")` (the tests fit both ways).

use crate::dist::qnorm;
use crate::error::check_level;

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

#[cfg(test)]
mod tests;

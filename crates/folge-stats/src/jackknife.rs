//! The interval a cluster jackknife gives when a few clusters carry the data: each
//! cluster's move `m_g = θ̂₍₋g₎ − θ̂` gives the variance (CV3, `(G − 1)/G Σ m²`), how
//! certain that variance is, and how skewed the estimate is. Two small-sample corrections
//! follow, both from the moves alone:
//!
//! - **degrees of freedom** of the variance estimate (Pan & Wall 2002, *Statistics in
//!   Medicine* 21:1429): `ν = 2 V̂² / Var̂(V̂)`, `Var̂(V̂)` from the spread of the moves'
//!   squares, `G/(G − 1) Σ (m² − m̄²)²`; the interval takes Student's t with `ν`. With
//!   moves of normal shape `ν ≈ G − 1`; when one heavy user makes most of `V̂`, `ν` is small.
//! - **acceleration** (Efron 1987, the BCa's `a`, from the same jackknife):
//!   `a = Σ (−m)³ / (6 (Σ m²)^{3/2})`; each limit `θ̂ + se · w/(1 − a w)²` for `w = ±t` (the
//!   BCa with no bias correction on the normal scale, Efron & Tibshirani 1993 §22.6): a
//!   right-skewed estimate's interval reaches further up than down.
//!
//! For sums of per-cluster terms (pooled rates and their differences) these are what a
//! skewed, heavy-tailed person-level distribution needs; the calibration bench of
//! folge-analyze shows the symmetric normal interval missing 8–10 % for contacts and
//! hours, almost all on one side.

use crate::dist::{qnorm, qt};

/// Running sums of a jackknife's moves `m_g = θ̂₍₋g₎ − θ̂`.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct JackknifeMoves {
    /// Clusters.
    pub clusters: u64,
    /// Σ m².
    pub sum2: f64,
    /// Σ m³.
    pub sum3: f64,
    /// Σ m⁴.
    pub sum4: f64,
}

impl JackknifeMoves {
    /// Add one cluster's move.
    pub fn add(&mut self, m: f64) {
        let m2 = m * m;
        self.clusters += 1;
        self.sum2 += m2;
        self.sum3 += m2 * m;
        self.sum4 += m2 * m2;
    }

    /// The CV3 standard error `√((G − 1)/G Σ m²)`; `None` below two clusters.
    pub fn se(&self) -> Option<f64> {
        let g = self.clusters as f64;
        (self.clusters >= 2).then(|| ((g - 1.0) / g * self.sum2).sqrt())
    }

    /// Pan & Wall's degrees of freedom of the variance estimate (see the module);
    /// infinite when the moves' squares do not vary.
    pub fn df(&self) -> Option<f64> {
        let g = self.clusters as f64;
        if self.clusters < 2 || self.sum2 <= 0.0 {
            return None;
        }
        let spread = (self.sum4 - self.sum2 * self.sum2 / g).max(0.0) * g / (g - 1.0);
        Some(if spread > 0.0 { 2.0 * self.sum2 * self.sum2 / spread } else { f64::INFINITY })
    }

    /// The acceleration `a = Σ (−m)³ / (6 (Σ m²)^{3/2})`.
    pub fn acceleration(&self) -> Option<f64> {
        (self.sum2 > 0.0).then(|| -self.sum3 / (6.0 * self.sum2.powf(1.5)))
    }

    /// The interval of `estimate` at `level`: `estimate + se · w/(1 − a w)²` for `w = ∓t(ν)`.
    /// `None` without a positive finite SE. Where `a w` comes near 1 (a move larger than
    /// the rest together), the limit on that side is the symmetric one with `t`, so the
    /// correction never flips an interval over.
    pub fn interval(&self, estimate: f64, level: f64) -> Option<(f64, f64)> {
        let se = self.se().filter(|s| *s > 0.0 && s.is_finite())?;
        let p = 1.0 - (1.0 - level) / 2.0;
        let t = match self.df() {
            Some(df) if df.is_finite() && df > 0.0 => qt(p, df),
            _ => qnorm(p),
        };
        let a = self.acceleration().unwrap_or(0.0);
        let limit = |w: f64| {
            let denominator = 1.0 - a * w;
            if denominator > 0.5 { w / (denominator * denominator) } else { w }
        };
        Some((estimate + se * limit(-t), estimate + se * limit(t)))
    }
}

/// The degrees of freedom of a clustered variance `Σ m²` whose terms are partly the
/// variation Poisson counts have anyway: `ν = 2 (Σ m²)² / (G/(G − 1) · Σ (m² − φ̂ v)²)` with
/// `v` each cluster's Poisson variance of its term and `φ̂ = Σ m² / Σ v` (Satterthwaite's
/// form, as `BinMoments::df` gives event-time bins). Pan & Wall's `ν` ([`JackknifeMoves::df`])
/// counts all of `m²` as variance to estimate and is too small for rare counts, whose
/// moves are mostly Poisson noise of known size; here only the departure from `φ̂ v` is.
/// `terms` holds each cluster's `(m², v)`. `None` below two clusters or without Poisson
/// variance; infinite when every `m²` is `φ̂ v`.
#[must_use]
pub fn dispersion_df(terms: &[(f64, f64)]) -> Option<f64> {
    let g = terms.len() as f64;
    let (m2, v) = terms.iter().fold((0.0, 0.0), |(a, b), (m, v)| (a + m, b + v));
    if terms.len() < 2 || v.is_nan() || v <= 0.0 || !m2.is_finite() {
        return None;
    }
    let dispersion = m2 / v;
    let spread: f64 = terms.iter().map(|(m, v)| (m - dispersion * v).powi(2)).sum();
    Some(if spread > 0.0 { 2.0 * m2 * m2 / (g / (g - 1.0) * spread) } else { f64::INFINITY })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn moves_of_normal_shape_give_about_g_minus_one_df_and_no_skew() {
        // Moves ±1 alternating: every square equal, so ν is infinite and a = 0.
        let mut even = JackknifeMoves::default();
        for i in 0..100 {
            even.add(if i % 2 == 0 { 1.0 } else { -1.0 });
        }
        assert_eq!(even.df(), Some(f64::INFINITY));
        assert_eq!(even.acceleration(), Some(0.0));
        let (lo, hi) = even.interval(3.0, 0.95).unwrap();
        let se = (0.99f64 * 100.0).sqrt();
        assert!(
            (hi - 3.0 - qnorm(0.975) * se).abs() < 1e-12 && (3.0 - lo - (hi - 3.0)).abs() < 1e-12
        );
    }

    #[test]
    fn dispersion_df_by_hand() {
        // (m², v) for three clusters: Σm² = 6, Σv = 3, φ̂ = 2; departures 1 − 2 = −1,
        // 3 − 2 = 1, 2 − 2 = 0; ν = 2·36 / (3/2 · 2) = 24.
        let terms = [(1.0, 1.0), (3.0, 1.0), (2.0, 1.0)];
        assert!((dispersion_df(&terms).unwrap() - 24.0).abs() < 1e-12);
        // Moves exactly as Poisson would have them: nothing to estimate.
        assert_eq!(dispersion_df(&[(2.0, 1.0), (4.0, 2.0)]), Some(f64::INFINITY));
        assert_eq!(dispersion_df(&[(2.0, 1.0)]), None);
        assert_eq!(dispersion_df(&[(2.0, 0.0), (1.0, 0.0)]), None);
    }

    #[test]
    fn by_hand_for_a_few_moves() {
        // numpy: m = [0.5, -0.2, -0.1, -0.3, 0.05, -0.4, 1.2]; G = 7
        // V = 6/7 Σm²; ν = 2 (Σm²)² / (7/6 (Σm⁴ − (Σm²)²/7)); a = −Σm³ / (6 (Σm²)^1.5)
        // scipy.stats.t.ppf(0.975, ν); limits 1 + se·w/(1 − a w)².
        let m = [0.5, -0.2, -0.1, -0.3, 0.05, -0.4, 1.2];
        let mut j = JackknifeMoves::default();
        for &v in &m {
            j.add(v);
        }
        let s2: f64 = m.iter().map(|v| v * v).sum();
        let s3: f64 = m.iter().map(|v| v * v * v).sum();
        let s4: f64 = m.iter().map(|v| v * v * v * v).sum();
        let df = 2.0 * s2 * s2 / (7.0 / 6.0 * (s4 - s2 * s2 / 7.0));
        assert!((j.df().unwrap() - df).abs() < 1e-12);
        assert!((df - 4.242_084_326_3).abs() < 1e-9, "{df}");
        let a = -s3 / (6.0 * s2.powf(1.5));
        assert!((j.acceleration().unwrap() - a).abs() < 1e-15);
        assert!((a - -0.103_887_701_4).abs() < 1e-9, "{a}");
        let (lo, hi) = j.interval(1.0, 0.95).unwrap();
        // t(0.975, 4.2421…) = 2.715_060_4…
        let se = (6.0 / 7.0 * s2).sqrt();
        let t = qt(0.975, df);
        assert!((t - 2.715_060_407_1).abs() < 1e-6, "{t}");
        assert!((lo - (1.0 + se * (-t) / (1.0 + a * t).powi(2))).abs() < 1e-12);
        // Both denominators (1 ± a·t) exceed 0.5: both limits corrected.
        assert!((hi - (1.0 + se * t / (1.0 - a * t).powi(2))).abs() < 1e-12);
        // A left-skewed estimate (one large positive move: a < 0) reaches further down.
        assert!(hi - 1.0 < 1.0 - lo, "{lo} {hi}");
    }
}

//! Descriptive statistics: n, missing, mean, sd (n − 1), median and quartiles (R's type 7),
//! min, max, and the lag-1 autocorrelation NIST certifies.
//!
//! Numerically robust: the mean is a compensated (Neumaier) sum plus a second-pass
//! correction, and the variance is the corrected two-pass formula
//! Σ(x − m)² − (Σ(x − m))²/n (Chan, Golub & LeVeque 1983), which keeps ≥ 13 digits on
//! NIST's StRD univariate sets where the one-pass formula loses all of them.

use crate::StatsError;

/// Descriptive statistics of one variable.
#[derive(Debug, Clone, PartialEq)]
pub struct Description {
    /// Non-missing values.
    pub n: usize,
    /// Missing values.
    pub n_missing: usize,
    /// Arithmetic mean.
    pub mean: f64,
    /// Standard deviation, n − 1 denominator (`None` for n = 1).
    pub sd: Option<f64>,
    /// Median.
    pub median: f64,
    /// First quartile (type 7).
    pub q1: f64,
    /// Third quartile (type 7).
    pub q3: f64,
    /// Minimum.
    pub min: f64,
    /// Maximum.
    pub max: f64,
    /// Lag-1 autocorrelation r(1) in input order (`None` for n < 2 or zero variance).
    pub r1: Option<f64>,
}

/// Compensated sum (Neumaier's variant of Kahan summation).
pub(crate) fn sum(values: impl IntoIterator<Item = f64>) -> f64 {
    let (mut s, mut c) = (0.0f64, 0.0f64);
    for v in values {
        let t = s + v;
        if s.abs() >= v.abs() {
            c += (s - t) + v;
        } else {
            c += (v - t) + s;
        }
        s = t;
    }
    s + c
}

/// Mean with a second-pass correction.
pub(crate) fn mean(x: &[f64]) -> f64 {
    let n = x.len() as f64;
    let m = sum(x.iter().copied()) / n;
    m + sum(x.iter().map(|v| v - m)) / n
}

/// Sample variance (n − 1), corrected two-pass.
pub(crate) fn variance(x: &[f64]) -> f64 {
    let n = x.len() as f64;
    let m = mean(x);
    let dev = sum(x.iter().map(|v| v - m));
    (sum(x.iter().map(|v| (v - m) * (v - m))) - dev * dev / n) / (n - 1.0)
}

/// R's type 7 quantile of sorted values.
pub(crate) fn quantile_sorted(sorted: &[f64], p: f64) -> f64 {
    let h = (sorted.len() - 1) as f64 * p;
    let lo = h.floor() as usize;
    let hi = (lo + 1).min(sorted.len() - 1);
    sorted[lo] + (h - lo as f64) * (sorted[hi] - sorted[lo])
}

/// Describe `x`; `None` entries are missing.
pub fn describe(x: &[Option<f64>]) -> Result<Description, StatsError> {
    crate::error::check_finite("x", x.iter().flatten())?;
    let values: Vec<f64> = x.iter().flatten().copied().collect();
    if values.is_empty() {
        return Err(StatsError::TooFew { what: "describe", needed: 1, got: 0 });
    }
    let n = values.len();
    let m = mean(&values);
    let var = (n > 1).then(|| variance(&values));
    if !m.is_finite() || var.is_some_and(|v| !v.is_finite()) {
        return Err(StatsError::Overflow { what: "describe".into() });
    }
    let mut sorted = values.clone();
    sorted.sort_by(f64::total_cmp);
    let r1 = var.filter(|v| *v > 0.0).map(|_| {
        let num = sum(values.windows(2).map(|w| (w[1] - m) * (w[0] - m)));
        let den = sum(values.iter().map(|v| (v - m) * (v - m)));
        num / den
    });
    Ok(Description {
        n,
        n_missing: x.len() - n,
        mean: m,
        sd: var.map(f64::sqrt),
        median: quantile_sorted(&sorted, 0.5),
        q1: quantile_sorted(&sorted, 0.25),
        q3: quantile_sorted(&sorted, 0.75),
        min: sorted[0],
        max: sorted[n - 1],
        r1,
    })
}

/// A location estimate with its 95 % interval: the mean with Student's t interval, the
/// median with the distribution-free interval from order statistics.
#[derive(Debug, Clone, PartialEq)]
pub struct Location {
    /// Non-missing values.
    pub n: usize,
    /// Arithmetic mean.
    pub mean: f64,
    /// Lower and upper limit of the mean: mean ± t(1 − α/2, n − 1) · sd/√n, as R's
    /// `t.test(x)$conf.int`; `None` for n < 2.
    pub mean_ci: Option<(f64, f64)>,
    /// Median (R's `median`).
    pub median: f64,
    /// Lower and upper limit of the median: the order statistics x₍L₎ and x₍n−L+1₎ with
    /// L = `qbinom(α/2, n, 0.5)` (Lehmann 1975; R's `asbio::ci.median`,
    /// `compareGroups`' exact median interval), whose coverage is at least the level;
    /// `None` when L = 0 (n ≤ 5 at 95 %), where no such interval reaches the level.
    pub median_ci: Option<(f64, f64)>,
}

/// The mean and the median of `x` (`None` entries are missing) with 95 % intervals.
pub fn location(x: &[Option<f64>]) -> Result<Location, StatsError> {
    const ALPHA: f64 = 0.05;
    let d = describe(x)?;
    let mut sorted: Vec<f64> = x.iter().flatten().copied().collect();
    sorted.sort_by(f64::total_cmp);
    let n = sorted.len();
    let mean_ci = d.sd.map(|sd| {
        let half = crate::dist::qt(1.0 - ALPHA / 2.0, (n - 1) as f64) * sd / (n as f64).sqrt();
        (d.mean - half, d.mean + half)
    });
    // qbinom(α/2, n, 0.5): the smallest L with P(X ≤ L) ≥ α/2.
    let size = n as u64;
    let low = (0..=size).find(|&k| crate::dist::pbinom(k as i64, size, 0.5) >= ALPHA / 2.0);
    let median_ci = low
        .filter(|&l| l >= 1 && (l as usize) < n - l as usize + 1)
        .map(|l| (sorted[l as usize - 1], sorted[n - l as usize]));
    Ok(Location { n, mean: d.mean, mean_ci, median: d.median, median_ci })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn location_intervals_match_t_test_and_the_order_statistics() {
        // R: t.test(1:20)$conf.int → 7.731189 13.268811; qbinom(0.025, 20, 0.5) = 6, so
        // the median's interval is x(6), x(15) = 6, 15.
        let x: Vec<Option<f64>> = (1..=20).map(|v| Some(f64::from(v))).collect();
        let l = location(&x).unwrap();
        let (lo, hi) = l.mean_ci.unwrap();
        assert!((lo - 7.731_189).abs() < 1e-6 && (hi - 13.268_811).abs() < 1e-6, "{lo} {hi}");
        assert_eq!((l.mean, l.median, l.median_ci), (10.5, 10.5, Some((6.0, 15.0))));
        // qbinom(0.025, 10, 0.5) = 2: x(2), x(9), in sorted order whatever the input's.
        let x = [9.0, 1.0, 8.0, 2.0, 7.0, 3.0, 6.0, 4.0, 5.0, 10.0].map(Some);
        assert_eq!(location(&x).unwrap().median_ci, Some((2.0, 9.0)));
        // n = 5: qbinom(0.025, 5, 0.5) = 0, no interval reaches 95 %; n = 1: no t interval.
        assert_eq!(location(&[1.0, 2.0, 3.0, 4.0, 5.0].map(Some)).unwrap().median_ci, None);
        assert_eq!(location(&[Some(3.0)]).unwrap().mean_ci, None);
    }

    /// Log relative error: correct significant digits (NIST's LRE).
    fn lre(got: f64, certified: f64) -> f64 {
        if got == certified { 15.0 } else { -((got - certified).abs() / certified.abs()).log10() }
    }

    #[test]
    fn nist_strd_univariate() {
        // Vendored shared/reference/nist_univariate.json: NIST StRD certified values.
        let sets: serde_json::Value =
            serde_json::from_str(include_str!("../tests/data/nist_univariate.json")).unwrap();
        let sets = sets.as_array().unwrap();
        assert_eq!(sets.len(), 9);
        for set in sets {
            let name = set["dataset"].as_str().unwrap();
            let y: Vec<Option<f64>> = set["input"]["y"]
                .as_array()
                .unwrap()
                .iter()
                .map(serde_json::Value::as_f64)
                .collect();
            let d = describe(&y).unwrap();
            let e = &set["expected"];
            // Required digits (issue 3): mean ≥ 13 everywhere; sd ≥ 13 except NumAcc3 (9)
            // and NumAcc4 (8), where the input's own rounding leaves no more.
            let sd_digits = match name {
                "NumAcc3" => 9.0,
                "NumAcc4" => 8.0,
                _ => 13.0,
            };
            let (mean_lre, sd_lre) = (
                lre(d.mean, e["mean"].as_f64().unwrap()),
                lre(d.sd.unwrap(), e["sd"].as_f64().unwrap()),
            );
            assert!(mean_lre >= 13.0, "{name}: mean has {mean_lre:.1} correct digits");
            assert!(sd_lre >= sd_digits, "{name}: sd has {sd_lre:.1} correct digits");
            let r1 = e["r1"].as_f64().unwrap();
            assert!(lre(d.r1.unwrap(), r1) >= 11.0, "{name}: r1 {} vs {r1}", d.r1.unwrap());
        }
    }

    #[test]
    fn quartiles_follow_r_type_7() {
        // R: quantile(c(1, 2, 3, 4, 10)) → 1 2 3 4 10; quantile(1:4) → 1 1.75 2.5 3.25 4
        let d = describe(&[Some(1.0), Some(2.0), None, Some(3.0), Some(4.0)]).unwrap();
        assert_eq!((d.q1, d.median, d.q3, d.n, d.n_missing), (1.75, 2.5, 3.25, 4, 1));
        assert_eq!(
            describe(&[None]).unwrap_err().to_string(),
            "describe needs at least 1 usable values, got 0"
        );
    }
}

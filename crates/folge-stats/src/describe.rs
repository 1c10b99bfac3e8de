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

#[cfg(test)]
mod tests {
    use super::*;

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

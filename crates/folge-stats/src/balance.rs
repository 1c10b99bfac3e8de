//! Covariate balance for a propensity-score comparison: balancing weights from the
//! propensity scores (inverse probability or overlap weights) and the standardised mean
//! difference that `cobalt::bal.tab` reports for each covariate.

use crate::StatsError;

/// Balancing weights from propensity scores e = P(treated | covariates).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BalancingWeights {
    /// Inverse probability weights for the average treatment effect: treated 1/e, control
    /// 1/(1 − e) (R `WeightIt::weightit(..., estimand = "ATE")`, `PSweight(weight = "IPW")`).
    Ipw,
    /// Overlap weights: treated 1 − e, control e (Li, Morgan & Zaslavsky 2018; R
    /// `PSweight(weight = "overlap")`), for the population with the most overlap; bounded,
    /// so no trimming is needed.
    Overlap,
}

/// The weight of each person (unnormalised, as the formulas above). Propensity scores must
/// lie in (0, 1): a score of 0 or 1 means the groups do not overlap there.
pub fn balancing_weights(
    ps: &[f64],
    treated: &[bool],
    kind: BalancingWeights,
) -> Result<Vec<f64>, StatsError> {
    if ps.len() != treated.len() {
        return Err(StatsError::UnequalLengths {
            what: "treated",
            left: ps.len(),
            right: treated.len(),
        });
    }
    ps.iter()
        .zip(treated)
        .map(|(&e, &t)| {
            if !(e > 0.0 && e < 1.0) {
                return Err(StatsError::OutOfRange {
                    what: "propensity score",
                    value: e,
                    range: "(0, 1)",
                });
            }
            Ok(match (kind, t) {
                (BalancingWeights::Ipw, true) => 1.0 / e,
                (BalancingWeights::Ipw, false) => 1.0 / (1.0 - e),
                (BalancingWeights::Overlap, true) => 1.0 - e,
                (BalancingWeights::Overlap, false) => e,
            })
        })
        .collect()
}

/// Standardised mean difference treated − control, as `cobalt::bal.tab(..., binary = "std",
/// s.d.denom = "pooled")`: the numerator from the (optionally weighted) group means, the
/// denominator √((s₁² + s₀²)/2) from the *unweighted* groups, so weighting changes only the
/// numerator and balance before and after weighting is on one scale. s² is the sample
/// variance (n − 1) for a continuous covariate and p(1 − p) for a 0/1 covariate
/// (`binary`).
///
/// `None` when the statistic does not exist: a group empty (or of zero total weight), a
/// continuous covariate with fewer than two values in a group, a denominator of 0; and for
/// invalid input — unequal lengths, a non-finite value, a negative or non-finite weight, a
/// `binary` covariate with a value other than 0 or 1.
pub fn smd(x: &[f64], treated: &[bool], weights: Option<&[f64]>, binary: bool) -> Option<f64> {
    if x.len() != treated.len() || weights.is_some_and(|w| w.len() != x.len()) {
        return None;
    }
    if x.iter().any(|v| !v.is_finite() || (binary && *v != 0.0 && *v != 1.0)) {
        return None;
    }
    if weights.is_some_and(|w| w.iter().any(|v| !(*v >= 0.0 && v.is_finite()))) {
        return None;
    }
    // Per group (control 0, treated 1): count, total, total weight, weighted total.
    let mut n = [0usize; 2];
    let (mut total, mut weight, mut weighted) = ([0.0f64; 2], [0.0f64; 2], [0.0f64; 2]);
    for (i, (&v, &t)) in x.iter().zip(treated).enumerate() {
        let g = usize::from(t);
        let w = weights.map_or(1.0, |w| w[i]);
        n[g] += 1;
        total[g] += v;
        weight[g] += w;
        weighted[g] += w * v;
    }
    if n.contains(&0) || weight.contains(&0.0) {
        return None;
    }
    let mean = [total[0] / n[0] as f64, total[1] / n[1] as f64];
    let var = |g: usize| -> Option<f64> {
        if binary {
            Some(mean[g] * (1.0 - mean[g]))
        } else if n[g] < 2 {
            None
        } else {
            let ss: f64 = x
                .iter()
                .zip(treated)
                .filter(|(_, t)| usize::from(**t) == g)
                .map(|(v, _)| (v - mean[g]) * (v - mean[g]))
                .sum();
            Some(ss / (n[g] - 1) as f64)
        }
    };
    let denom = f64::midpoint(var(1)?, var(0)?).sqrt();
    let diff = weighted[1] / weight[1] - weighted[0] / weight[0];
    let d = diff / denom;
    (denom > 0.0 && d.is_finite()).then_some(d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[track_caller]
    fn close(got: Option<f64>, want: f64) {
        let got = got.unwrap();
        assert!((got - want).abs() <= 1e-13 * want.abs(), "got {got}, want {want}");
    }

    const AGE: [f64; 12] = [34.0, 51.0, 47.0, 62.0, 29.0, 55.0, 41.0, 38.0, 60.0, 45.0, 33.0, 58.0];
    const FEMALE: [f64; 12] = [1.0, 0.0, 1.0, 1.0, 0.0, 1.0, 0.0, 0.0, 1.0, 0.0, 0.0, 1.0];
    const TREATED: [bool; 12] =
        [true, true, true, true, true, false, false, false, false, false, false, false];
    const PS: [f64; 12] = [0.62, 0.45, 0.51, 0.3, 0.7, 0.33, 0.48, 0.52, 0.27, 0.4, 0.66, 0.35];

    #[test]
    fn weights_follow_their_formulas() {
        let ipw = balancing_weights(&PS, &TREATED, BalancingWeights::Ipw).unwrap();
        let overlap = balancing_weights(&PS, &TREATED, BalancingWeights::Overlap).unwrap();
        assert_eq!(ipw[0], 1.0 / 0.62);
        assert_eq!(ipw[5], 1.0 / (1.0 - 0.33));
        assert_eq!(overlap[0], 1.0 - 0.62);
        assert_eq!(overlap[5], 0.33);
        let e = balancing_weights(&[0.5, 1.0], &[true, false], BalancingWeights::Ipw).unwrap_err();
        assert_eq!(e.to_string(), "propensity score: 1 is outside (0, 1)");
        assert!(balancing_weights(&[f64::NAN], &[true], BalancingWeights::Overlap).is_err());
        assert!(balancing_weights(&[0.5], &[], BalancingWeights::Overlap).is_err());
        assert_eq!(balancing_weights(&[], &[], BalancingWeights::Ipw), Ok(vec![]));
    }

    #[test]
    fn smd_matches_the_cobalt_formula_in_numpy() {
        // numpy, the cobalt formula (binary = "std", s.d.denom = "pooled"):
        //   num = average(x[t], weights=w[t]) - average(x[c], weights=w[c])
        //   continuous: den = sqrt((x[t].var(ddof=1) + x[c].var(ddof=1)) / 2)
        //   binary: p = x[t].mean(), q = x[c].mean(); den = sqrt((p*(1-p) + q*(1-q)) / 2)
        // with w the overlap weights from PS (treated 1 - ps, control ps).
        let w = balancing_weights(&PS, &TREATED, BalancingWeights::Overlap).unwrap();
        close(smd(&AGE, &TREATED, None, false), -0.211_864_480_655_880_15);
        close(smd(&AGE, &TREATED, Some(&w), false), 0.291_621_517_675_091_3);
        close(smd(&FEMALE, &TREATED, None, true), 0.348_155_311_911_395_7);
        close(smd(&FEMALE, &TREATED, Some(&w), true), 0.676_587_622_057_293_7);
    }

    #[test]
    fn smd_is_none_when_undefined() {
        assert_eq!(smd(&[1.0, 2.0], &[true, true], None, false), None);
        assert_eq!(smd(&[1.0, 1.0, 1.0, 1.0], &[true, true, false, false], None, false), None);
        assert_eq!(smd(&[1.0, 2.0, 3.0], &[true, false, false], None, false), None);
        assert_eq!(smd(&[1.0, 0.0, 2.0], &[true, false, false], None, true), None);
        assert_eq!(smd(&[1.0, f64::NAN], &[true, false], None, true), None);
        assert_eq!(smd(&[1.0, 0.0], &[true, false], Some(&[1.0]), true), None);
        assert_eq!(smd(&[1.0, 0.0], &[true, false], Some(&[-1.0, 1.0]), true), None);
        assert_eq!(smd(&[1.0, 0.0], &[true, false], Some(&[0.0, 1.0]), true), None);
        // A single treated 0/1 value is fine: p(1 − p) needs no n − 1.
        assert!(smd(&[1.0, 0.0, 1.0], &[true, false, false], None, true).is_some());
    }
}

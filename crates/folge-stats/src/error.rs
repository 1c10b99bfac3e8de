//! Why a statistic cannot be computed. Each variant is a sentence a user can act on; no
//! method returns NaN as a result.

/// Invalid input for a statistical method.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum StatsError {
    /// Too few usable values.
    #[error("{what} needs at least {needed} usable values, got {got}")]
    TooFew {
        /// What was being computed or read.
        what: &'static str,
        /// Values needed.
        needed: usize,
        /// Values available after dropping missing ones.
        got: usize,
    },
    /// Paired or parallel arrays differ in length.
    #[error("{what}: arrays must have equal length, got {left} and {right}")]
    UnequalLengths {
        /// Which arrays.
        what: &'static str,
        /// First length.
        left: usize,
        /// Second length.
        right: usize,
    },
    /// The data have no variation where the method needs some.
    #[error("{0}: the data have zero variance, so the statistic is undefined")]
    ZeroVariance(&'static str),
    /// A count below zero (or not a whole number).
    #[error("{what}: {value} is not a count (expected a whole number ≥ 0)")]
    NotACount {
        /// Which input.
        what: &'static str,
        /// The value.
        value: f64,
    },
    /// A probability or level outside its range.
    #[error("{what}: {value} is outside {range}")]
    OutOfRange {
        /// Which input.
        what: &'static str,
        /// The value.
        value: f64,
        /// The allowed range, in words.
        range: &'static str,
    },
    /// A value is NaN or infinite.
    #[error("{what}: a value is not a finite number (NaN or infinite)")]
    NotFinite {
        /// Which input.
        what: &'static str,
    },
    /// The values are so large or small that the computation leaves the range of f64.
    #[error(
        "{what}: the values are too large or too small to compute with in double precision (rescale them, e.g. to thousands or millionths)"
    )]
    Overflow {
        /// What was being computed.
        what: String,
    },
    /// Any other invalid input.
    #[error("{0}")]
    Invalid(String),
}

/// Check a confidence level.
pub(crate) fn check_level(conf_level: f64) -> Result<(), StatsError> {
    if conf_level > 0.0 && conf_level < 1.0 {
        Ok(())
    } else {
        Err(StatsError::OutOfRange { what: "conf_level", value: conf_level, range: "(0, 1)" })
    }
}

/// Check that every value is finite (pass present values only: `x.iter().flatten()`).
pub(crate) fn check_finite<'a>(
    what: &'static str,
    values: impl IntoIterator<Item = &'a f64>,
) -> Result<(), StatsError> {
    if values.into_iter().all(|v| v.is_finite()) {
        Ok(())
    } else {
        Err(StatsError::NotFinite { what })
    }
}

/// Largest count checked as one: 2^53, beyond which f64 no longer holds every whole
/// number (and counts turned into integers would overflow their sums).
pub(crate) const MAX_COUNT: f64 = 9_007_199_254_740_992.0;

/// Check a count.
pub(crate) fn check_count(what: &'static str, value: f64) -> Result<(), StatsError> {
    if value >= 0.0 && value.fract() == 0.0 && value <= MAX_COUNT {
        Ok(())
    } else {
        Err(StatsError::NotACount { what, value })
    }
}

#[cfg(test)]
mod tests {
    use crate::{
        Adjustment, BootMethod, BootStatistic, Level, StatsError, bootstrap, cronbach_alpha,
        describe, did_ols, did_poisson, krippendorff_alpha, mann_whitney, p_adjust, paired_t,
        welch_t, wilcoxon_signed_rank,
    };

    /// Every method called from Rust with NaN or an infinity answers with an error, never a
    /// panic or a NaN result (JSON cannot carry these; the analyze stage could).
    #[test]
    fn non_finite_values_are_errors() {
        for bad in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
            let x = [Some(1.0), Some(bad), Some(3.0), Some(2.0)];
            let y = [Some(2.0), Some(1.0), Some(0.5), Some(4.0)];
            let not_finite = |r: Result<crate::StatResult, StatsError>| {
                assert!(matches!(r, Err(StatsError::NotFinite { .. })), "{r:?}");
            };
            not_finite(paired_t(&x, &y, 0.95));
            not_finite(paired_t(&y, &x, 0.95));
            not_finite(wilcoxon_signed_rank(&x, &y, None, true, 0.95));
            not_finite(welch_t(&x, &y, 0.95));
            not_finite(mann_whitney(&y, &x, None, true));
            not_finite(bootstrap(&x, None, BootStatistic::Mean, 10, 1, BootMethod::Bca, 0.95));
            not_finite(cronbach_alpha(&[x.to_vec(), y.to_vec()]));
            not_finite(krippendorff_alpha(&[x.to_vec(), y.to_vec()], Level::Interval));
            assert!(matches!(describe(&x), Err(StatsError::NotFinite { .. })));
            assert!(p_adjust(&[Some(0.5), Some(bad)], Adjustment::Holm).is_err());
            let unit: Vec<String> = ["a", "a", "b", "b"].map(str::to_owned).to_vec();
            let (treated, post) = ([true, true, false, false], [false, true, false, true]);
            not_finite(did_ols(&unit, &treated, &post, &[1.0, bad, 2.0, 3.0], 0.95));
            not_finite(did_poisson(
                &unit,
                &treated,
                &post,
                &[1.0, 2.0, 2.0, 3.0],
                &[1.0, bad, 1.0, 1.0],
                0.95,
            ));
        }
    }

    #[test]
    fn values_beyond_f64s_range_on_the_way_are_an_overflow() {
        let x = [Some(1e300), Some(2e300), Some(4e300)];
        let y = [Some(1.0), Some(2.0), Some(3.0)];
        let err = paired_t(&x, &y, 0.95).unwrap_err();
        assert!(matches!(err, StatsError::Overflow { .. }), "{err:?}");
        assert!(matches!(describe(&x), Err(StatsError::Overflow { .. })));
    }
}

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

/// Check a count.
pub(crate) fn check_count(what: &'static str, value: f64) -> Result<(), StatsError> {
    if value >= 0.0 && value.fract() == 0.0 && value.is_finite() {
        Ok(())
    } else {
        Err(StatsError::NotACount { what, value })
    }
}

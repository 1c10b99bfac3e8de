//! The result every method returns: the common fields (R's `htest` names) plus
//! method-specific extras.

/// A method-specific extra output value.
#[derive(Debug, Clone, PartialEq)]
pub enum Extra {
    /// A number (or none, when undefined for these data).
    Number(Option<f64>),
    /// A list of numbers.
    Numbers(Vec<Option<f64>>),
}

/// The outcome of a statistical method.
#[derive(Debug, Clone, PartialEq)]
pub struct StatResult {
    /// The method actually applied, in words (e.g. which approximation was used).
    pub method: String,
    /// Observations used (pairs for paired methods, subjects for agreement).
    pub n: usize,
    /// Point estimate.
    pub estimate: Option<f64>,
    /// Test statistic.
    pub statistic: Option<f64>,
    /// Degrees of freedom of the reference distribution.
    pub df: Option<f64>,
    /// Two-sided p-value.
    pub p_value: Option<f64>,
    /// Lower confidence limit.
    pub ci_low: Option<f64>,
    /// Upper confidence limit.
    pub ci_high: Option<f64>,
    /// Method-specific outputs, in a fixed order.
    pub extras: Vec<(&'static str, Extra)>,
}

impl StatResult {
    /// A result with only the method and n set.
    pub fn new(method: impl Into<String>, n: usize) -> Self {
        StatResult {
            method: method.into(),
            n,
            estimate: None,
            statistic: None,
            df: None,
            p_value: None,
            ci_low: None,
            ci_high: None,
            extras: Vec::new(),
        }
    }

    /// Add an extra number.
    #[must_use]
    pub fn with(mut self, name: &'static str, value: impl Into<Option<f64>>) -> Self {
        self.extras.push((name, Extra::Number(value.into())));
        self
    }

    /// Look up an extra number.
    pub fn extra(&self, name: &str) -> Option<f64> {
        self.extras.iter().find(|(n, _)| *n == name).and_then(|(_, e)| match e {
            Extra::Number(v) => *v,
            Extra::Numbers(_) => None,
        })
    }

    /// The result, or [`StatsError::Overflow`] when its estimate, statistic, p-value or
    /// interval came out NaN: finite input that leaves f64's range on the way (values near
    /// 1e300 squared) gives NaN, never a meaningful answer. Infinite values stay (a rate
    /// ratio over zero events is infinite, as in R).
    pub fn finite(self) -> Result<Self, crate::StatsError> {
        let main =
            [self.estimate, self.statistic, self.df, self.p_value, self.ci_low, self.ci_high];
        if main.iter().flatten().any(|v| v.is_nan()) {
            Err(crate::StatsError::Overflow { what: self.method })
        } else {
            Ok(self)
        }
    }

    /// Set the CI.
    #[must_use]
    pub fn ci(mut self, (low, high): (f64, f64)) -> Self {
        self.ci_low = Some(low);
        self.ci_high = Some(high);
        self
    }
}

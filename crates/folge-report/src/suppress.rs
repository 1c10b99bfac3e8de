//! Primary small-cell suppression as Norwegian health statistics practise it
//! (Helsedirektoratet): a count from 1 to the threshold − 1 is hidden, and a rate is hidden
//! when its numerator is such a count or its denominator (persons) is below the threshold.
//! Zero is shown: it reveals nothing about a person.

/// The small-cell rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SmallCellRule {
    /// Counts 1..threshold−1 and denominators below it are suppressed (default 5).
    pub threshold: u32,
}

impl Default for SmallCellRule {
    fn default() -> Self {
        SmallCellRule { threshold: 5 }
    }
}

impl SmallCellRule {
    /// Whether a count of persons or events must be hidden.
    pub fn hides_count(self, count: f64) -> bool {
        count > 0.0 && count < f64::from(self.threshold)
    }

    /// Whether a rate with this numerator over this many persons must be hidden.
    pub fn hides_rate(self, numerator: f64, persons: i64) -> bool {
        self.hides_count(numerator) || persons < i64::from(self.threshold)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_one_to_four_and_small_denominators_hide() {
        let rule = SmallCellRule::default();
        assert!(!rule.hides_count(0.0));
        assert!(rule.hides_count(1.0) && rule.hides_count(4.0));
        assert!(!rule.hides_count(5.0));
        assert!(rule.hides_rate(10.0, 4));
        assert!(rule.hides_rate(3.0, 100));
        assert!(!rule.hides_rate(0.0, 5));
    }
}

//! Comparisons from pooled rates: after vs before within each arm (rate ratio), and pilot
//! vs comparison (ratio of the two rate ratios, and the difference in differences of
//! rates). Point estimates only: confidence intervals and p-values need the statistics
//! crate and stay null here, and `method` says so.

use folge_schema::Arm;
use folge_schema::tables::{ComparisonRow, RateRow};

/// A comparison a pipeline can ask for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Comparison {
    /// After vs before inclusion, within each arm.
    BeforeAfter,
    /// The pilot's change against the comparison arm's change.
    PilotVsComparison,
}

impl Comparison {
    /// Every comparison.
    pub const ALL: [Comparison; 2] = [Comparison::BeforeAfter, Comparison::PilotVsComparison];

    /// The id used in pipeline files.
    pub fn id(self) -> &'static str {
        match self {
            Comparison::BeforeAfter => "before_after",
            Comparison::PilotVsComparison => "pilot_vs_comparison",
        }
    }

    /// Parse an id.
    pub fn parse(id: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.id() == id)
    }
}

/// The pooled rate and persons of one indicator × arm × period.
fn find<'a>(rates: &'a [RateRow], indicator: &str, arm: Arm, period: &str) -> Option<&'a RateRow> {
    rates.iter().find(|r| r.indicator == indicator && r.arm == arm && r.period == period)
}

fn ratio(after: Option<f64>, before: Option<f64>) -> Option<f64> {
    match (after, before) {
        (Some(a), Some(b)) if b > 0.0 => Some(a / b),
        _ => None,
    }
}

/// Comparisons for each indicator (in `indicators` order) from the `before` and `after`
/// pooled rates.
pub fn compare(
    rates: &[RateRow],
    indicators: &[&str],
    comparisons: &[Comparison],
) -> Vec<ComparisonRow> {
    let mut rows = Vec::new();
    for &indicator in indicators {
        let per_arm = |arm| {
            let before = find(rates, indicator, arm, "before");
            let after = find(rates, indicator, arm, "after");
            let (b, a) = (before.and_then(|r| r.rate_per_py), after.and_then(|r| r.rate_per_py));
            let n = before.map_or(0, |r| r.n).max(after.map_or(0, |r| r.n));
            (b, a, n)
        };
        let (pilot, comparison) = (per_arm(Arm::Pilot), per_arm(Arm::Comparison));
        if comparisons.contains(&Comparison::BeforeAfter) {
            for (arm, (before, after, n)) in [(Arm::Pilot, pilot), (Arm::Comparison, comparison)] {
                rows.push(ComparisonRow {
                    measure: indicator.to_owned(),
                    scope: "arm".to_owned(),
                    scope_value: Some(arm.code().to_owned()),
                    n,
                    before_mean: before,
                    after_mean: after,
                    diff: after.zip(before).map(|(a, b)| a - b),
                    ci_low: None,
                    ci_high: None,
                    p_value: None,
                    p_adjusted: None,
                    effect_size: ratio(after, before),
                    effect_size_kind: "rate_ratio".to_owned(),
                    method: "pooled rate after / before (events per person-year); no CI yet"
                        .to_owned(),
                });
            }
        }
        if comparisons.contains(&Comparison::PilotVsComparison) {
            let change = |(before, after, _): (Option<f64>, Option<f64>, i64)| {
                after.zip(before).map(|(a, b)| a - b)
            };
            rows.push(ComparisonRow {
                measure: indicator.to_owned(),
                scope: "all".to_owned(),
                scope_value: None,
                n: pilot.2 + comparison.2,
                before_mean: None,
                after_mean: None,
                diff: change(pilot).zip(change(comparison)).map(|(p, c)| p - c),
                ci_low: None,
                ci_high: None,
                p_value: None,
                p_adjusted: None,
                effect_size: ratio(ratio(pilot.1, pilot.0), ratio(comparison.1, comparison.0)),
                effect_size_kind: "ratio_of_rate_ratios".to_owned(),
                method: "pilot rate ratio / comparison rate ratio (pooled rates); no CI yet"
                    .to_owned(),
            });
        }
    }
    rows
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rate(indicator: &str, arm: Arm, period: &str, n: i64, value: f64, py: f64) -> RateRow {
        RateRow {
            indicator: indicator.into(),
            arm,
            period: period.into(),
            n,
            value_total: value,
            person_years: py,
            rate_per_py: (py > 0.0).then(|| value / py),
        }
    }

    #[test]
    fn ratios_and_difference_in_differences() {
        let rates = vec![
            rate("bed_days", Arm::Pilot, "before", 10, 40.0, 10.0),
            rate("bed_days", Arm::Pilot, "after", 10, 20.0, 10.0),
            rate("bed_days", Arm::Comparison, "before", 8, 30.0, 10.0),
            rate("bed_days", Arm::Comparison, "after", 8, 30.0, 10.0),
        ];
        let rows = compare(&rates, &["bed_days"], &Comparison::ALL);
        assert_eq!(rows.len(), 3);
        let pilot = &rows[0];
        assert_eq!(
            (pilot.before_mean, pilot.after_mean, pilot.diff, pilot.effect_size),
            (Some(4.0), Some(2.0), Some(-2.0), Some(0.5))
        );
        assert_eq!(rows[1].effect_size, Some(1.0));
        let did = &rows[2];
        assert_eq!((did.n, did.diff, did.effect_size), (18, Some(-2.0), Some(0.5)));
        assert_eq!(compare(&rates, &["bed_days"], &[Comparison::PilotVsComparison]).len(), 1);
    }

    #[test]
    fn no_ratio_from_a_zero_before_rate() {
        let rates = vec![
            rate("mortality", Arm::Pilot, "before", 5, 0.0, 5.0),
            rate("mortality", Arm::Pilot, "after", 5, 2.0, 5.0),
        ];
        let rows = compare(&rates, &["mortality"], &[Comparison::BeforeAfter]);
        assert_eq!(rows[0].effect_size, None);
        assert_eq!(rows[0].diff, Some(0.4));
        assert_eq!(rows[1].n, 0, "no comparison-arm rows");
    }
}

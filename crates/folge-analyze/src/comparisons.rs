//! Comparisons of indicators: after vs before within each arm, and pilot vs comparison.
//!
//! - `before_after` (scope `arm`): the rate ratio after/before of the pooled rates, with
//!   the exact conditional CI and p-value of `poisson.test` when the totals are counts
//!   (hours get the ratio without a CI). It treats each period's total as Poisson and does
//!   not account for the same persons appearing in both periods.
//! - `pilot_vs_comparison` (scope `all`): the ratio of the two rate ratios from a Poisson
//!   GLM `value ~ pilot * after + offset(log(person-years))` on person × period rows with
//!   CR1 cluster-robust SEs by person (pseudo-Poisson for hours), so within-person
//!   correlation is accounted for. With a saturated design its estimate equals the ratio
//!   of the pooled rate ratios.
//!
//! The same comparisons are made within subsets (each municipality, each target group,
//! and for 30-day readmissions the 67+), pooled from the person-level rows; an arm below
//! the minimum number of persons gets a row with the reason instead of an estimate.
//! p-values are adjusted over indicators within each family (scope, value, arm, kind of
//! effect), by Holm's method unless the pipeline says otherwise.

use std::collections::{BTreeMap, HashMap};

use folge_schema::Arm;
use folge_schema::tables::{ComparisonRow, IndicatorRow, RateRow};
use folge_stats::{Adjustment, did_poisson_clustered, p_adjust, rate_ratio};

/// One person × period value of one indicator, borrowed from wherever the values are
/// kept (the indicator table, or `IndicatorRow`s): what comparisons and concentration read,
/// without a string allocated per row. `person` numbers the person for cluster-robust SEs.
#[derive(Debug, Clone, Copy)]
pub(crate) struct PersonValue<'a> {
    pub(crate) person: usize,
    pub(crate) pid: &'a str,
    pub(crate) municipality: &'a str,
    pub(crate) arm: Arm,
    pub(crate) target_group: Option<&'a str>,
    pub(crate) period: &'a str,
    pub(crate) indicator: &'a str,
    pub(crate) value: f64,
    pub(crate) exposure_days: i32,
}

/// Views of person-level rows, persons numbered in order of first appearance.
pub(crate) fn views(rows: &[IndicatorRow]) -> Vec<PersonValue<'_>> {
    let mut persons: HashMap<&str, usize> = HashMap::new();
    rows.iter()
        .map(|r| {
            let next = persons.len();
            PersonValue {
                person: *persons.entry(r.pid.as_str()).or_insert(next),
                pid: &r.pid,
                municipality: &r.municipality,
                arm: r.arm,
                target_group: r.target_group.as_deref(),
                period: &r.period,
                indicator: &r.indicator,
                value: r.value,
                exposure_days: r.exposure_days,
            }
        })
        .collect()
}

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

/// Person-level rows of one indicator with exposure, as the Poisson model's inputs.
struct PersonRows {
    unit: Vec<usize>,
    treated: Vec<bool>,
    post: Vec<bool>,
    y: Vec<f64>,
    exposure: Vec<f64>,
}

impl PersonRows {
    /// The Poisson difference-in-differences on these rows, clustered by person.
    fn did_poisson(&self) -> Result<folge_stats::StatResult, folge_stats::StatsError> {
        did_poisson_clustered(&self.unit, &self.treated, &self.post, &self.y, &self.exposure, LEVEL)
    }
}

fn person_rows<'r, 'a: 'r>(
    rows: impl IntoIterator<Item = &'r PersonValue<'a>>,
    indicator: &str,
) -> PersonRows {
    let mut out =
        PersonRows { unit: vec![], treated: vec![], post: vec![], y: vec![], exposure: vec![] };
    for r in rows.into_iter().filter(|r| r.indicator == indicator && r.exposure_days > 0) {
        let post = match r.period {
            "after" => true,
            "before" => false,
            _ => continue,
        };
        out.unit.push(r.person);
        out.treated.push(r.arm == Arm::Pilot);
        out.post.push(post);
        out.y.push(r.value);
        out.exposure.push(f64::from(r.exposure_days) / 365.25);
    }
    out
}

const LEVEL: f64 = 0.95;

/// Comparisons for each indicator (in `indicators` order) from the `before` and `after`
/// pooled rates and the person-level rows behind them.
pub fn compare(
    rates: &[RateRow],
    person_level: &[IndicatorRow],
    indicators: &[&str],
    comparisons: &[Comparison],
) -> Vec<ComparisonRow> {
    compare_views(rates, &views(person_level), indicators, comparisons)
}

/// [`compare`] on borrowed person-level values.
pub(crate) fn compare_views(
    rates: &[RateRow],
    person_level: &[PersonValue<'_>],
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
            (b, a, n, before, after)
        };
        let (pilot, comparison) = (per_arm(Arm::Pilot), per_arm(Arm::Comparison));
        if comparisons.contains(&Comparison::BeforeAfter) {
            for (arm, (before, after, n, before_row, after_row)) in
                [(Arm::Pilot, pilot), (Arm::Comparison, comparison)]
            {
                let test = before_row.zip(after_row).and_then(|(b, a)| {
                    let counts = a.value_total.fract() == 0.0 && b.value_total.fract() == 0.0;
                    counts
                        .then(|| {
                            rate_ratio(
                                a.value_total,
                                a.person_years,
                                b.value_total,
                                b.person_years,
                                LEVEL,
                            )
                            .ok()
                        })
                        .flatten()
                });
                let method = if test.is_some() {
                    "rate ratio after/before of pooled rates; exact conditional CI and p (poisson.test)"
                } else {
                    "rate ratio after/before of pooled rates; no CI (not whole counts, or no events)"
                };
                rows.push(ComparisonRow {
                    measure: indicator.to_owned(),
                    scope: "arm".to_owned(),
                    scope_value: Some(arm.code().to_owned()),
                    arm: Some(arm),
                    n,
                    before_mean: before,
                    after_mean: after,
                    diff: after.zip(before).map(|(a, b)| a - b),
                    diff_ci_low: None,
                    diff_ci_high: None,
                    ci_low: test.as_ref().and_then(|t| t.ci_low),
                    ci_high: test.as_ref().and_then(|t| t.ci_high),
                    p_value: test.as_ref().and_then(|t| t.p_value),
                    p_adjusted: None,
                    effect_size: ratio(after, before),
                    effect_size_kind: "rate_ratio".to_owned(),
                    method: method.to_owned(),
                });
            }
        }
        if comparisons.contains(&Comparison::PilotVsComparison) {
            let change = |(before, after, ..): (
                Option<f64>,
                Option<f64>,
                i64,
                Option<&RateRow>,
                Option<&RateRow>,
            )| { after.zip(before).map(|(a, b)| a - b) };
            let data = person_rows(person_level, indicator);
            let model = data.did_poisson();
            let method = match &model {
                Ok(_) => "ratio of rate ratios, Poisson GLM value ~ pilot * after + offset(log person-years), CR1 SE by person".to_owned(),
                Err(e) => format!("ratio of pooled rate ratios; no CI ({e})"),
            };
            let model = model.ok();
            rows.push(ComparisonRow {
                measure: indicator.to_owned(),
                scope: "all".to_owned(),
                scope_value: None,
                arm: None,
                n: pilot.2 + comparison.2,
                before_mean: None,
                after_mean: None,
                diff: change(pilot).zip(change(comparison)).map(|(p, c)| p - c),
                diff_ci_low: None,
                diff_ci_high: None,
                ci_low: model.as_ref().and_then(|m| m.ci_low),
                ci_high: model.as_ref().and_then(|m| m.ci_high),
                p_value: model.as_ref().and_then(|m| m.p_value),
                p_adjusted: None,
                effect_size: model
                    .as_ref()
                    .and_then(|m| m.estimate)
                    .or_else(|| ratio(ratio(pilot.1, pilot.0), ratio(comparison.1, comparison.0))),
                effect_size_kind: "ratio_of_rate_ratios".to_owned(),
                method,
            });
        }
    }
    rows
}

/// Adjust p-values over indicators within each family: the same scope, scope value, arm
/// and kind of effect. Holm by default (`p.adjust(method = "holm")`).
pub fn adjust(rows: &mut [ComparisonRow], method: Adjustment) {
    type Family = (String, Option<String>, Option<Arm>, String);
    let mut families: BTreeMap<Family, Vec<usize>> = BTreeMap::new();
    for (i, r) in rows.iter().enumerate() {
        let family = (r.scope.clone(), r.scope_value.clone(), r.arm, r.effect_size_kind.clone());
        families.entry(family).or_default().push(i);
    }
    for members in families.values() {
        let p: Vec<Option<f64>> = members.iter().map(|&i| rows[i].p_value).collect();
        // p-values from folge-stats are in [0, 1], so adjustment cannot fail.
        if let Ok(adjusted) = p_adjust(&p, method) {
            for (&i, a) in members.iter().zip(adjusted) {
                rows[i].p_adjusted = a;
            }
        }
    }
}

/// A comparison row with its identity and method, every estimate still empty.
pub(crate) fn blank_row(
    measure: &str,
    (scope, scope_value): (&str, Option<&str>),
    arm: Option<Arm>,
    kind: &str,
    method: String,
) -> ComparisonRow {
    ComparisonRow {
        measure: measure.to_owned(),
        scope: scope.to_owned(),
        scope_value: scope_value.map(str::to_owned),
        arm,
        n: 0,
        before_mean: None,
        after_mean: None,
        diff: None,
        diff_ci_low: None,
        diff_ci_high: None,
        ci_low: None,
        ci_high: None,
        p_value: None,
        p_adjusted: None,
        effect_size: None,
        effect_size_kind: kind.to_owned(),
        method,
    }
}

/// A subset of persons to compare within: `scope` = `municipality`, `target_group` or
/// `age`, `value` its value, `persons` the pids in it.
pub struct Subset<'a> {
    /// Scope name.
    pub scope: &'static str,
    /// Scope value.
    pub value: String,
    /// Whether a person-level row belongs to it.
    pub includes: Box<dyn Fn(&PersonValue<'_>) -> bool + Send + Sync + 'a>,
}

/// Pooled totals of one arm × period within a subset: persons with exposure, value, years.
fn pool(rows: &[&PersonValue<'_>], arm: Arm, period: &str) -> (i64, f64, f64) {
    rows.iter()
        .filter(|r| r.arm == arm && r.period == period && r.exposure_days > 0)
        .fold((0, 0.0, 0.0), |(n, v, py), r| {
            (n + 1, v + r.value, py + f64::from(r.exposure_days) / 365.25)
        })
}

/// The same comparisons within each subset (a municipality, a target group, the 67+),
/// pooled from the person-level rows. An arm with fewer than `min_n` persons gets a row
/// with the reason and no estimate; pilot vs comparison needs both arms.
pub(crate) fn compare_subsets(
    person_level: &[PersonValue<'_>],
    indicators: &[&str],
    comparisons: &[Comparison],
    subsets: &[Subset<'_>],
    min_n: usize,
) -> Vec<ComparisonRow> {
    let mut rows = Vec::new();
    for subset in subsets {
        for &indicator in indicators {
            let mine: Vec<&PersonValue<'_>> = person_level
                .iter()
                .filter(|r| r.indicator == indicator && (subset.includes)(r))
                .collect();
            let blank = |arm: Option<Arm>, kind: &str, method: String| {
                blank_row(indicator, (subset.scope, Some(&subset.value)), arm, kind, method)
            };
            let mut n_arm = BTreeMap::new();
            for arm in [Arm::Pilot, Arm::Comparison] {
                let before = pool(&mine, arm, "before");
                let after = pool(&mine, arm, "after");
                let n = before.0.max(after.0);
                n_arm.insert(arm, n);
                if n == 0 || !comparisons.contains(&Comparison::BeforeAfter) {
                    continue;
                }
                let rate = |(_, v, py): (i64, f64, f64)| (py > 0.0).then(|| v / py);
                let mut r = blank(Some(arm), "rate_ratio", String::new());
                r.n = n;
                r.before_mean = rate(before);
                r.after_mean = rate(after);
                r.diff = r.after_mean.zip(r.before_mean).map(|(a, b)| a - b);
                if (n as usize) < min_n {
                    r.method = format!("no estimate: {n} persons, fewer than {min_n}");
                    rows.push(r);
                    continue;
                }
                r.effect_size = ratio(r.after_mean, r.before_mean);
                let counts = after.1.fract() == 0.0 && before.1.fract() == 0.0;
                let test = counts
                    .then(|| rate_ratio(after.1, after.2, before.1, before.2, LEVEL).ok())
                    .flatten();
                r.method = if test.is_some() {
                    "rate ratio after/before of pooled rates; exact conditional CI and p (poisson.test)".into()
                } else {
                    "rate ratio after/before of pooled rates; no CI (not whole counts, or no events)".into()
                };
                if let Some(t) = test {
                    (r.ci_low, r.ci_high, r.p_value) = (t.ci_low, t.ci_high, t.p_value);
                }
                rows.push(r);
            }
            if !comparisons.contains(&Comparison::PilotVsComparison) {
                continue;
            }
            let (np, nc) = (n_arm[&Arm::Pilot], n_arm[&Arm::Comparison]);
            if np == 0 || nc == 0 {
                // A pilot municipality has no comparison persons: nothing to compare.
                continue;
            }
            let mut r = blank(None, "ratio_of_rate_ratios", String::new());
            r.n = np + nc;
            if (np.min(nc) as usize) < min_n {
                r.method = format!(
                    "no estimate: {np} pilot and {nc} comparison persons, fewer than {min_n} in an arm"
                );
                rows.push(r);
                continue;
            }
            let data = person_rows(mine.iter().copied(), indicator);
            match data.did_poisson() {
                Ok(m) => {
                    r.effect_size = m.estimate;
                    (r.ci_low, r.ci_high, r.p_value) = (m.ci_low, m.ci_high, m.p_value);
                    r.method = "ratio of rate ratios, Poisson GLM value ~ pilot * after + offset(log person-years), CR1 SE by person".into();
                }
                Err(e) => r.method = format!("no estimate: {e}"),
            }
            rows.push(r);
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
            ci_low: None,
            ci_high: None,
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
        let rows = compare(&rates, &[], &["bed_days"], &Comparison::ALL);
        assert_eq!(rows.len(), 3);
        let pilot = &rows[0];
        assert_eq!(
            (pilot.before_mean, pilot.after_mean, pilot.diff, pilot.effect_size),
            (Some(4.0), Some(2.0), Some(-2.0), Some(0.5))
        );
        assert_eq!(rows[1].effect_size, Some(1.0));
        let did = &rows[2];
        assert_eq!((did.n, did.diff, did.effect_size), (18, Some(-2.0), Some(0.5)));
        assert_eq!(compare(&rates, &[], &["bed_days"], &[Comparison::PilotVsComparison]).len(), 1);
    }

    #[test]
    fn person_level_model_gives_the_pooled_ratio_with_a_ci() {
        // Four persons per arm; pilot falls from 4 to 2 events per person-year, comparison
        // stays at 3: the saturated Poisson model's exp(β) equals (2/4)/(3/3).
        let mut people = Vec::new();
        let mut rates = Vec::new();
        for (arm, before, after) in [
            (Arm::Pilot, [3.0, 5.0, 4.0, 4.0], [1.0, 3.0, 2.0, 2.0]),
            (Arm::Comparison, [2.0, 4.0, 3.0, 3.0], [3.0, 3.0, 4.0, 2.0]),
        ] {
            for (period, values) in [("before", before), ("after", after)] {
                for (i, v) in values.iter().enumerate() {
                    people.push(IndicatorRow {
                        pid: format!("{}{i}", arm.code()),
                        municipality: "4601".into(),
                        arm,
                        target_group: None,
                        period: period.into(),
                        indicator: "admissions".into(),
                        value: *v,
                        exposure_days: 365,
                        rate_per_py: None,
                    });
                }
                let py = 4.0 * 365.0 / 365.25;
                rates.push(rate("admissions", arm, period, 4, values.iter().sum(), py));
            }
        }
        let mut rows = compare(&rates, &people, &["admissions"], &Comparison::ALL);
        adjust(&mut rows, Adjustment::Holm);
        let did = rows.iter().find(|r| r.scope == "all").unwrap();
        assert!((did.effect_size.unwrap() - 0.5).abs() < 1e-9, "{did:?}");
        assert!(did.ci_low.unwrap() < 0.5 && did.ci_high.unwrap() > 0.5);
        assert!(did.method.starts_with("ratio of rate ratios, Poisson GLM"));
        let pilot = &rows[0];
        // poisson.test(8, 4y, 16, 4y): exact conditional CI around 0.5.
        assert!(pilot.ci_low.unwrap() < 0.5 && pilot.ci_high.unwrap() > 0.5);
        assert!(pilot.p_adjusted.unwrap() >= pilot.p_value.unwrap());
    }

    #[test]
    fn no_ratio_from_a_zero_before_rate() {
        let rates = vec![
            rate("mortality", Arm::Pilot, "before", 5, 0.0, 5.0),
            rate("mortality", Arm::Pilot, "after", 5, 2.0, 5.0),
        ];
        let rows = compare(&rates, &[], &["mortality"], &[Comparison::BeforeAfter]);
        assert_eq!(rows[0].effect_size, None);
        assert_eq!(rows[0].diff, Some(0.4));
        assert_eq!(rows[1].n, 0, "no comparison-arm rows");
    }
}

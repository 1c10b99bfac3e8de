//! Small synthetic analysis results for the report's tests: de-identified participants
//! with deaths and moves, and rates, comparisons (as the person-level analysis writes
//! them), event-time, survival and balance rows to match. Test-only.

use chrono::NaiveDate;
use folge_analyze::Indicator;
use folge_deid::{DeidParams, Deidentified, Identifiable, Key, deidentify};
use folge_schema::tables::{
    BalanceRow, ComparisonRow, EventTimeRow, ItemDistributionRow, LorenzRow, MunicipalityRateRow,
    Participant, RateRow, SurvivalRow, UtilisationRow,
};
use folge_schema::{Arm, ExitReason, Sex};

use crate::SmallCellRule;
use crate::input::{Language, ReportInput, ReportParams, Section};

/// The method texts the analysis writes (issue 14).
pub const WITHIN: &str = "rate ratio after/before, Poisson GLM value ~ after + offset(log person-years), CR1 SE by person";
pub const DID: &str = "ratio of rate ratios, Poisson GLM value ~ pilot * after + offset(log person-years), CR1 SE by person";
pub const DEATHS: &str = "rate ratio pilot/comparison after inclusion, Poisson GLM value ~ pilot + offset(log person-years), CR1 SE by person";
pub const PRETREND_METHOD: &str = "pre-trend check (a placebo difference in differences before inclusion): ratio pilot/comparison of the within-person rate ratios of the last 6 30-day bins before inclusion (days -180…-1) to the 6 before them (days -360…-181), Poisson GLM with a fixed effect per person (40 persons with time in both halves and use), cluster-jackknife (CV3) SE by person (each person left out in turn; refitted where that moves the estimate by more than 0.001, one Newton step elsewhere); 1 means the arms ran parallel";

fn date(s: &str) -> NaiveDate {
    s.parse().expect("a date")
}

/// `pilot` and `comparison` persons included a week apart from 2020-01-06, data to
/// 2021-06-30; every ninth pilot and every sixth comparison person dies, every eleventh
/// moves.
pub fn people(pilot: u16, comparison: u16) -> Deidentified {
    use folge_schema::national_id::build;
    let start = date("2020-01-06");
    // Synthetic ids (month + 80), individual numbers of the 1900s.
    let ids: Vec<String> = (0..500).filter_map(|n| build(date("1940-03-01"), n, 0, 80)).collect();
    let people: Vec<Participant> = (0..pilot + comparison)
        .map(|i| {
            let arm = if i < pilot { Arm::Pilot } else { Arm::Comparison };
            let k = if i < pilot { i } else { i - pilot };
            let inclusion = start + chrono::Days::new(u64::from(i) * 7);
            let (exit_date, exit_reason) = match arm {
                Arm::Pilot if k % 9 == 4 => (
                    Some(inclusion + chrono::Days::new(20 + u64::from(k) * 6)),
                    Some(ExitReason::Death),
                ),
                Arm::Comparison if k % 6 == 2 => (
                    Some(inclusion + chrono::Days::new(10 + u64::from(k) * 8)),
                    Some(ExitReason::Death),
                ),
                _ if k % 11 == 7 => (
                    Some(inclusion + chrono::Days::new(100 + u64::from(k))),
                    Some(ExitReason::Moved),
                ),
                _ => (None, None),
            };
            Participant {
                person_id: ids[usize::from(i)].clone(),
                name: None,
                sex: Some(if i % 2 == 0 { Sex::Female } else { Sex::Male }),
                birth_date: None,
                municipality: if arm == Arm::Pilot { "4601" } else { "4624" }.into(),
                site: None,
                arm,
                target_group: Some("eldre".into()),
                inclusion_date: inclusion,
                exit_date,
                exit_reason,
            }
        })
        .collect();
    let input = Identifiable { participants: people, ..Identifiable::default() };
    deidentify(&input, &DeidParams::new(date("2021-06-30")), &Key::demo()).expect("deidentified")
}

/// Kaplan–Meier rows per arm from the participants, as `survival.parquet` holds them:
/// day 0 and each day with a death, Greenwood log-log limits.
pub fn survival(tables: &Deidentified) -> Vec<SurvivalRow> {
    let mut rows = Vec::new();
    for arm in [Arm::Pilot, Arm::Comparison] {
        let persons: Vec<(i32, bool)> = tables
            .participants()
            .iter()
            .filter(|p| p.arm == arm)
            .map(|p| {
                let end = p.exit_day.map_or(p.data_end_day, |e| e.min(p.data_end_day));
                (end, p.exit_reason == Some(ExitReason::Death) && p.exit_day == Some(end))
            })
            .collect();
        let mut days: Vec<i32> = persons.iter().filter(|p| p.1).map(|p| p.0).collect();
        days.push(0);
        days.sort_unstable();
        days.dedup();
        let (mut survival, mut greenwood, mut previous) = (1.0, 0.0, -1);
        for day in days {
            let n_risk = persons.iter().filter(|p| p.0 >= day).count() as i64;
            let n_event = persons.iter().filter(|p| p.0 == day && p.1).count() as i64;
            let n_censored =
                persons.iter().filter(|p| p.0 > previous && p.0 <= day && !p.1).count() as i64;
            previous = day;
            survival *= 1.0 - n_event as f64 / n_risk as f64;
            if n_event > 0 {
                greenwood += n_event as f64 / (n_risk * (n_risk - n_event)) as f64;
            }
            let se = greenwood.sqrt();
            // Log-log limits, as analyze writes them (S = 1: both 1).
            let (ci_low, ci_high) = if survival >= 1.0 {
                (1.0, 1.0)
            } else {
                let log_s = f64::ln(survival);
                (
                    f64::powf(survival, (-1.96 * se / log_s).exp()),
                    f64::powf(survival, (1.96 * se / log_s).exp()),
                )
            };
            rows.push(SurvivalRow {
                arm,
                day,
                n_risk,
                n_event,
                n_censored,
                survival,
                ci_low: Some(ci_low),
                ci_high: Some(ci_high),
            });
        }
    }
    rows
}

fn rate_row(indicator: Indicator, arm: Arm, period: &str, n: i64, value: f64) -> RateRow {
    let person_years = n as f64 * 0.95;
    let rate = value / person_years;
    RateRow {
        indicator: indicator.id().into(),
        arm,
        period: period.into(),
        n,
        value_total: value,
        person_years,
        rate_per_py: Some(rate),
        ci_low: (value > 0.0).then_some(rate * 0.8),
        ci_high: (value > 0.0).then_some(rate * 1.25),
    }
}

/// Rates per indicator × arm × period: use falls in the pilots, rises in the comparison;
/// no deaths before inclusion.
pub fn rates(indicators: &[Indicator], n: [i64; 2]) -> Vec<RateRow> {
    let mut rows = Vec::new();
    for (k, &indicator) in indicators.iter().enumerate() {
        let base = 20.0 + 10.0 * k as f64;
        for (a, arm) in [Arm::Pilot, Arm::Comparison].into_iter().enumerate() {
            let (before, after) = if indicator == Indicator::Mortality {
                (0.0, [5.0, 7.0][a])
            } else {
                (base, base * [0.7, 1.2][a])
            };
            rows.push(rate_row(indicator, arm, "before", n[a], before));
            rows.push(rate_row(indicator, arm, "after", n[a], after));
        }
    }
    rows
}

fn comparison(
    indicator: Indicator,
    (scope, arm): (&str, Option<Arm>),
    kind: &str,
    estimate: Option<f64>,
    method: &str,
) -> ComparisonRow {
    ComparisonRow {
        measure: indicator.id().into(),
        scope: scope.into(),
        scope_value: arm.map(|a| a.code().to_owned()),
        arm,
        n: 70,
        before_mean: None,
        after_mean: None,
        diff: None,
        diff_ci_low: None,
        diff_ci_high: None,
        ci_low: estimate.map(|e| e * 0.85),
        ci_high: estimate.map(|e| e * 1.18),
        p_value: estimate.map(|_| 0.0123),
        p_adjusted: estimate.map(|_| 0.0456),
        effect_size: estimate,
        effect_size_kind: kind.into(),
        method: method.into(),
    }
}

/// Comparisons as the person-level analysis writes them: within-arm ratios (mortality's
/// without an estimate), the ratio of ratios, mortality between the arms after inclusion,
/// and a pre-trend check per indicator. Bed-days' ratio of ratios has no estimate.
pub fn comparisons(indicators: &[Indicator]) -> Vec<ComparisonRow> {
    use crate::estimates::{AFTER_BEFORE, BETWEEN_ARMS_AFTER, PRETREND, RATIO_OF_RATIOS};
    let mut rows = Vec::new();
    for &indicator in indicators {
        for (arm, ratio) in [(Arm::Pilot, 0.7), (Arm::Comparison, 1.2)] {
            rows.push(if indicator == Indicator::Mortality {
                comparison(
                    indicator,
                    ("arm", Some(arm)),
                    AFTER_BEFORE,
                    None,
                    "no estimate: deaths are compared between the arms after inclusion only",
                )
            } else {
                comparison(indicator, ("arm", Some(arm)), AFTER_BEFORE, Some(ratio), WITHIN)
            });
            // Each arm's one municipality, its ratio a little off the arm's.
            if indicator != Indicator::Mortality {
                let municipality = if arm == Arm::Pilot { "4601" } else { "4624" };
                rows.push(ComparisonRow {
                    scope: "municipality".into(),
                    scope_value: Some(municipality.into()),
                    ..comparison(
                        indicator,
                        ("municipality", Some(arm)),
                        AFTER_BEFORE,
                        Some(ratio * 1.05),
                        WITHIN,
                    )
                });
            }
        }
        if indicator == Indicator::Mortality {
            rows.push(comparison(indicator, ("all", None), BETWEEN_ARMS_AFTER, Some(0.62), DEATHS));
            continue;
        }
        rows.push(if indicator == Indicator::BedDays {
            comparison(
                indicator,
                ("all", None),
                RATIO_OF_RATIOS,
                None,
                "no estimate: 3 pilot and 30 comparison persons, fewer than 5 in an arm",
            )
        } else {
            comparison(indicator, ("all", None), RATIO_OF_RATIOS, Some(0.58), DID)
        });
        rows.push(comparison(indicator, ("all", None), PRETREND, Some(1.02), PRETREND_METHOD));
    }
    rows
}

/// Event-time rows: 24 bins of 30 days, both arms, a step down in the pilots at
/// inclusion. `small` indicators have 1–4 persons in the comparison arm's bins.
pub fn event_time(indicators: &[Indicator], small: &[Indicator]) -> Vec<EventTimeRow> {
    let mut rows = Vec::new();
    for (k, &indicator) in indicators.iter().enumerate() {
        for (a, arm) in [Arm::Pilot, Arm::Comparison].into_iter().enumerate() {
            for bin in -12..12 {
                let n = if a == 1 && small.contains(&indicator) { 3 } else { [40, 30][a] };
                let person_years = n as f64 * 30.0 / 365.25;
                let level = (2.0 + k as f64) * if bin >= 0 { [0.7, 1.1][a] } else { 1.0 };
                let value_total = if indicator == Indicator::Mortality && bin < 0 {
                    0.0
                } else {
                    (level * person_years * 10.0).round()
                };
                let rate = value_total / person_years;
                rows.push(EventTimeRow {
                    indicator: indicator.id().into(),
                    arm,
                    bin,
                    from_day: bin * 30,
                    to_day: bin * 30 + 29,
                    n,
                    value_total,
                    person_years,
                    rate_per_py: Some(rate),
                    ci_low: (value_total > 0.0).then_some(rate * 0.75),
                    ci_high: (value_total > 0.0).then_some(rate * 1.3),
                });
            }
        }
    }
    rows
}

/// Balance rows: a numeric covariate and two levels of sex, weighted by overlap weights;
/// a level held by two comparison persons.
pub fn balance() -> Vec<BalanceRow> {
    let row = |covariate: &str, level: Option<&str>, means: [f64; 2], smd: [f64; 2]| BalanceRow {
        covariate: covariate.into(),
        level: level.map(str::to_owned),
        pilot_mean: Some(means[0]),
        comparison_mean: Some(means[1]),
        smd: Some(smd[0]),
        pilot_mean_weighted: Some(means[0]),
        comparison_mean_weighted: Some(means[0] + 0.01),
        smd_weighted: Some(smd[1]),
        weighting: "overlap".into(),
    };
    vec![
        row("before_admissions", None, [1.4, 1.1], [0.31, 0.02]),
        row("sex", Some("K"), [0.5, 0.6], [-0.2, 0.01]),
        row("target_group", Some("3"), [0.1, 2.0 / 30.0], [0.12, 0.03]),
    ]
}

/// Answers per item as analyze counts them, items in text order (`pacic_1`, `pacic_10`,
/// …): the 20 PACIC items (1–5), two EQ-5D items (a level 1–5 and a visual analogue scale
/// 0–100) and three tick boxes, two of which a small number ticked in the pilots.
pub fn item_distributions() -> Vec<ItemDistributionRow> {
    let mut rows = Vec::new();
    let mut push = |instrument: &str, item: &str, arm: Arm, counts: &[(f64, i64)]| {
        for timepoint in ["T0", "T1"] {
            for &(value, n) in counts.iter().filter(|(_, n)| *n > 0) {
                rows.push(ItemDistributionRow {
                    instrument: instrument.into(),
                    item: item.into(),
                    timepoint: timepoint.into(),
                    arm,
                    value,
                    n,
                });
            }
        }
    };
    let mut pacic: Vec<String> = (1..=20).map(|k| format!("pacic_{k}")).collect();
    pacic.sort();
    for item in &pacic {
        push("pacic", item, Arm::Pilot, &[(1.0, 2), (2.0, 5), (3.0, 8), (4.0, 10), (5.0, 5)]);
        push("pacic", item, Arm::Comparison, &[(1.0, 1), (2.0, 4), (3.0, 6), (4.0, 8), (5.0, 6)]);
    }
    for arm in [Arm::Pilot, Arm::Comparison] {
        push("eq5d", "eq5d_mobility", arm, &[(1.0, 6), (2.0, 8), (3.0, 8), (4.0, 5), (5.0, 3)]);
        push("eq5d", "eq5d_vas", arm, &[(40.0, 6), (60.0, 10), (80.0, 14)]);
        push("kontakt", "kontakt.fastlege", arm, &[(0.0, 10), (1.0, 20)]);
        push("kontakt", "kontakt.hjemmesykepleie", arm, &[(0.0, 20), (1.0, 10)]);
        let sykehus = if arm == Arm::Pilot { 2 } else { 9 };
        push("kontakt", "kontakt.sykehus", arm, &[(0.0, 30 - sykehus), (1.0, sykehus)]);
    }
    rows
}

/// Municipality rates as analyze writes them: each arm's one municipality (pilot `4601`,
/// comparison `4624`), its rates those of the arm.
pub fn municipality_rates(rates: &[RateRow]) -> Vec<MunicipalityRateRow> {
    rates
        .iter()
        .map(|r| MunicipalityRateRow {
            indicator: r.indicator.clone(),
            municipality: if r.arm == Arm::Pilot { "4601" } else { "4624" }.into(),
            arm: r.arm,
            period: r.period.clone(),
            n: r.n,
            value_total: r.value_total,
            person_years: r.person_years,
            rate_per_py: r.rate_per_py,
            ci_low: r.ci_low,
            ci_high: r.ci_high,
        })
        .collect()
}

/// Concentration of use before inclusion for every indicator but deaths: 40 persons, the
/// top 5 % holding 30 % of the use, a straight-ish Lorenz curve in 1 % steps.
pub fn utilisation(indicators: &[Indicator]) -> (Vec<UtilisationRow>, Vec<LorenzRow>) {
    let (mut shares, mut curve) = (Vec::new(), Vec::new());
    for indicator in indicators.iter().filter(|i| **i != Indicator::Mortality) {
        // Both arms together, then each: 70 = 40 + 30 persons.
        for (arm, persons, gini, power) in [
            (None, 70, 0.41, 2),
            (Some(Arm::Pilot), 40, 0.38, 2),
            (Some(Arm::Comparison), 30, 0.45, 3),
        ] {
            for (top, share) in [(0.05, 0.3), (0.1, 0.45)] {
                shares.push(UtilisationRow {
                    indicator: indicator.id().into(),
                    period: "before".into(),
                    arm,
                    top_share: top,
                    n_top: (top * f64::from(persons)).ceil() as i64,
                    n_persons: i64::from(persons),
                    share_of_use: Some(share),
                    gini: Some(gini),
                });
            }
            curve.extend((0..=100).map(|k| LorenzRow {
                indicator: indicator.id().into(),
                period: "before".into(),
                arm,
                persons_share: f64::from(k) / 100.0,
                use_share: (f64::from(k) / 100.0).powi(power),
            }));
        }
    }
    (shares, curve)
}

/// Everything the report reads, owned, for [`Self::input`] to lend.
#[derive(Debug)]
pub struct Results {
    pub tables: Deidentified,
    pub rates: Vec<RateRow>,
    pub comparisons: Vec<ComparisonRow>,
    pub event_time: Vec<EventTimeRow>,
    pub survival: Vec<SurvivalRow>,
    pub balance: Vec<BalanceRow>,
    pub municipality_rates: Vec<MunicipalityRateRow>,
    pub item_distributions: Vec<ItemDistributionRow>,
    pub utilisation: Vec<UtilisationRow>,
    pub lorenz: Vec<LorenzRow>,
}

impl Results {
    /// 40 pilot and 30 comparison persons, every result table filled.
    pub fn new(indicators: &[Indicator]) -> Self {
        let tables = people(40, 30);
        let rates = rates(indicators, [40, 30]);
        let (utilisation, lorenz) = utilisation(indicators);
        Results {
            municipality_rates: municipality_rates(&rates),
            item_distributions: item_distributions(),
            utilisation,
            lorenz,
            rates,
            comparisons: comparisons(indicators),
            event_time: event_time(indicators, &[]),
            survival: survival(&tables),
            balance: balance(),
            tables,
        }
    }

    pub fn input(&self) -> ReportInput<'_> {
        ReportInput {
            tables: &self.tables,
            rates: &self.rates,
            comparisons: &self.comparisons,
            code_frequencies: &[],
            agreement: &[],
            municipality_rates: &self.municipality_rates,
            utilisation: &self.utilisation,
            lorenz: &self.lorenz,
            scale_scores: &[],
            item_distributions: &self.item_distributions,
            event_time: &self.event_time,
            survival: &self.survival,
            balance: &self.balance,
            framework: &[],
            reliability: &[],
            item_summaries: &[],
            quotes: &[],
            subgroup_rates: &[],
            inputs: &[],
        }
    }
}

/// Report parameters for `indicators` in `language`, every section.
pub fn params(indicators: &[Indicator], language: Language) -> ReportParams {
    ReportParams {
        pipeline: "test".into(),
        language,
        rule: SmallCellRule::default(),
        before_days: 365,
        after_days: 365,
        indicators: indicators.to_vec(),
        version: "0".into(),
        params_sha256: String::new(),
        inputs_sha256: String::new(),
        adjustment: folge_stats::Adjustment::Holm,
        sections: Section::ALL.to_vec(),
        cluster_variance: folge_analyze::ClusterVariance::default(),
        instruments: Vec::new(),
        municipality_names: std::collections::BTreeMap::new(),
        target_groups: std::collections::BTreeMap::new(),
        front: crate::FrontMatter::default(),
        csv_decimal_comma: language == Language::Nb,
    }
}

/// Eight indicators, mortality among them: two event-time figures.
pub const EIGHT: [Indicator; 8] = [
    Indicator::AcuteAdmissions,
    Indicator::BedDays,
    Indicator::Readmissions30d,
    Indicator::EmergencyVisits,
    Indicator::OutpatientVisits,
    Indicator::HomeCareHours,
    Indicator::Admissions,
    Indicator::Mortality,
];

//! The canonical tables of the data contract, one row struct each. Zone 1 (identifiable,
//! ingest output) and zone 3 (analysis results); zone 2 (de-identified: `pid`, relative
//! days) is folge-deid's (`folge_deid::rows`), which alone can build its rows. Column names
//! are the field names and are fixed by `shared/data-contract.md`.

use chrono::NaiveDate;

use crate::{Arm, ExitReason, Pseudonym, Service, Sex, table};

table! {
    /// Zone 1: one enrolled person (pilot or comparison).
    pub struct Participant as "participants" {
        /// Fødselsnummer/D-number, or a local study id.
        pub person_id: String,
        /// Full name; only used to scrub free text, then dropped.
        pub name: Option<String>,
        /// Sex, derived from the national id when absent.
        pub sex: Option<Sex>,
        /// Birth date, derived from the national id when absent.
        pub birth_date: Option<NaiveDate>,
        /// Kommunenummer of residence at inclusion (4 digits).
        pub municipality: String,
        /// Pilot unit or practice.
        pub site: Option<String>,
        /// Study arm.
        pub arm: Arm,
        /// Target group (`barn`, `eldre`, Vårdanalys `1`–`5`).
        pub target_group: Option<String>,
        /// Index date.
        pub inclusion_date: NaiveDate,
        /// Death, moving away or withdrawal: exposure stops here.
        pub exit_date: Option<NaiveDate>,
        /// Why follow-up ended.
        pub exit_reason: Option<ExitReason>,
    }
}

table! {
    /// Zone 1: one contact or stay.
    pub struct ServiceEvent as "service_events" {
        /// As in participants.
        pub person_id: String,
        /// Service code.
        pub service: Service,
        /// Contact or admission date.
        pub start_date: NaiveDate,
        /// Discharge date (stays only).
        pub end_date: Option<NaiveDate>,
        /// Hours for home nursing/help; 1 when absent.
        pub quantity: Option<f64>,
        /// Acute (øyeblikkelig hjelp) vs elective.
        pub acute: Option<bool>,
        /// Time of admission or contact, minutes after midnight (NPR `innTid`), when
        /// delivered.
        pub start_time: Option<i32>,
        /// Time of discharge, minutes after midnight (NPR `utTid`), when delivered.
        pub end_time: Option<i32>,
    }
}

table! {
    /// Zone 1: pre-aggregated service use, one row per person × month × service (a
    /// delivery that gives monthly counts instead of events).
    pub struct ServiceCount as "service_counts" {
        /// As in participants.
        pub person_id: String,
        /// Calendar month, `YYYY-MM`.
        pub month: String,
        /// Service code.
        pub service: Service,
        /// Contacts or stays begun in the month.
        pub count: Option<f64>,
        /// Days (bed-days, short-stay days) in the month.
        pub days: Option<f64>,
        /// Hours (home nursing, home help) in the month.
        pub hours: Option<f64>,
    }
}

table! {
    /// Zone 1: a documented step of the framework (elements A–E).
    pub struct ProcessEvent as "process_events" {
        /// As in participants.
        pub person_id: String,
        /// Element `A`–`E` or a configured step name.
        pub element: String,
        /// When it was documented.
        pub date: NaiveDate,
    }
}

table! {
    /// Zone 1: one questionnaire answer, long (one row per person × timepoint × item).
    pub struct Response as "responses" {
        /// As in participants.
        pub person_id: String,
        /// `T0`, `T1`, …
        pub timepoint: String,
        /// When the form was submitted.
        pub response_date: Option<NaiveDate>,
        /// Instrument name from the codebook (`pacic`, `eq5d`, …).
        pub instrument: String,
        /// Item (the export's column name).
        pub item: String,
        /// The answer; null when missing or a missing-code.
        pub value: Option<f64>,
        /// Free-text answer (identifiable until the deid stage scrubs it).
        pub text: Option<String>,
        /// The item identifies the respondent (a name, phone or address field; REDCap's
        /// `Identifier? = y`): kept in zone 1 only, never passed on by deid.
        pub identifier: bool,
        /// A date answer (a REDCap field with date validation): a calendar date, so it
        /// leaves zone 1 only as days relative to inclusion (`value_day`).
        pub value_date: Option<NaiveDate>,
    }
}

table! {
    /// Zone 1: one coded segment of a focus-group transcript (one row per coder × segment
    /// × code).
    pub struct Coding as "codings" {
        /// The codings input the row came from: its `source` label in the pipeline file
        /// (`team Voss`), else its place there without `inputs.` (`codings`,
        /// `codings[1]`); never a file name. Focus groups, segments and coders are
        /// told apart by it: `FG1` of two sources is two groups.
        pub source: String,
        /// Focus group (transcript) name, e.g. `FG2`.
        pub focus_group: String,
        /// Kommunenummer of the group, when recorded.
        pub municipality: Option<String>,
        /// Participants' role (`leder`, `tjenesteyter`, …), when recorded.
        pub role: Option<String>,
        /// Who coded the segment.
        pub coder: String,
        /// Segment id (the selection's name, or `start-end` character offsets).
        pub segment: String,
        /// Code name.
        pub code: String,
        /// Code path above the code (`Theme/Sub`), when the codebook is hierarchical.
        pub theme: Option<String>,
        /// The coded text (identifiable until the deid stage scrubs it).
        pub text: Option<String>,
    }
}

table! {
    /// Zone 1: a row an ingest reader could not accept, with where and why.
    pub struct Reject as "rejects" {
        /// Input file name as given in the pipeline file.
        pub source: String,
        /// 1-based line in the file (header = line 1).
        pub line: i64,
        /// Column the problem is in, when one is.
        pub column: Option<String>,
        /// What was wrong and what was expected.
        pub reason: String,
        /// The raw row as read (identifiable: zone 1 only).
        pub raw: String,
    }
}

table! {
    /// Zone 3: one indicator for one person in one period (`indicators.parquet`).
    pub struct IndicatorRow as "indicators" {
        /// Pseudonym.
        pub pid: Pseudonym,
        /// Kommunenummer.
        pub municipality: String,
        /// Study arm.
        pub arm: Arm,
        /// Target group, null when not given.
        pub target_group: Option<String>,
        /// `before`, `after` or a named window.
        pub period: String,
        /// Indicator id from `shared/domain.md`.
        pub indicator: String,
        /// Count, days or hours in the window.
        pub value: f64,
        /// Days the person was observable in the window.
        pub exposure_days: i32,
        /// value per person-year; null when exposure is 0.
        pub rate_per_py: Option<f64>,
    }
}

table! {
    /// Person level, pseudonymised (zone-2 content, written by analysis, which merges with
    /// its `stay_gap_hours`): one hospital stay (NPR's sykehusopphold) or municipal
    /// short-term stay after merging transfers (`stays.parquet`) — the stays the
    /// admissions, readmissions and bed-day indicators count. Every delivered episode is
    /// in one stay.
    pub struct StayRow as "stays" {
        /// Pseudonym.
        pub pid: Pseudonym,
        /// `inpatient` or `short_stay`.
        pub service: Service,
        /// Admission day (inclusion = day 0).
        pub admission_day: i32,
        /// Discharge day (≥ admission day).
        pub discharge_day: i32,
        /// Acute (øyeblikkelig hjelp) if any merged episode was.
        pub acute: bool,
        /// Episodes merged into the stay (1: no transfer).
        pub episodes: i32,
    }
}

table! {
    /// Zone 3: an indicator's rate per person-year for one arm and period, over all persons
    /// of that arm (`rates.parquet`): the before/after picture the report draws.
    pub struct RateRow as "rates" {
        /// Indicator id.
        pub indicator: String,
        /// Study arm.
        pub arm: Arm,
        /// Period name.
        pub period: String,
        /// Persons with exposure in the period.
        pub n: i64,
        /// Sum of values (events, days or hours).
        pub value_total: f64,
        /// Sum of exposure, in person-years.
        pub person_years: f64,
        /// `value_total` / `person_years`; null when there is no exposure.
        pub rate_per_py: Option<f64>,
        /// Lower 95 % limit of `rate_per_py`: Poisson GLM `value ~ 1 + offset(log
        /// person-years)` with CR1 cluster-robust SE by person (a person's events hang
        /// together); null where the model gives none (no persons or no events).
        pub ci_low: Option<f64>,
        /// Upper 95 % limit of `rate_per_py`.
        pub ci_high: Option<f64>,
    }
}

table! {
    /// Zone 3: an indicator's rate per person-year in one municipality, arm and period
    /// (`municipality_rates.parquet`), with the numerator and persons the small-cell rule
    /// needs: the project leads' comparison of municipalities.
    pub struct MunicipalityRateRow as "municipality_rates" {
        /// Indicator id.
        pub indicator: String,
        /// Municipality number.
        pub municipality: String,
        /// Study arm.
        pub arm: Arm,
        /// Period name.
        pub period: String,
        /// Persons with exposure in the period.
        pub n: i64,
        /// Sum of values (events, days or hours).
        pub value_total: f64,
        /// Sum of exposure, in person-years.
        pub person_years: f64,
        /// `value_total` / `person_years`; null when there is no exposure.
        pub rate_per_py: Option<f64>,
        /// Lower 95 % limit of `rate_per_py`: Poisson GLM `value ~ 1 + offset(log
        /// person-years)` with CR1 cluster-robust SE by person (a person's events hang
        /// together); null where the model gives none (no persons or no events).
        pub ci_low: Option<f64>,
        /// Upper 95 % limit of `rate_per_py`.
        pub ci_high: Option<f64>,
    }
}

table! {
    /// Zone 3: an indicator's rate per person-year within a subgroup the analysis compares
    /// on its own (`subgroup_rates.parquet`; the 67+ for 30-day readmissions, as the
    /// national indicator counts them), by arm and period, with the numerator and persons
    /// the small-cell rule needs.
    pub struct SubgroupRateRow as "subgroup_rates" {
        /// The subgroup's scope, as in `comparisons.scope` (`age`).
        pub scope: String,
        /// The subgroup, as in `comparisons.scope_value` (`67+`).
        pub scope_value: String,
        /// Indicator id.
        pub indicator: String,
        /// Study arm.
        pub arm: Arm,
        /// Period name.
        pub period: String,
        /// Persons with exposure in the period.
        pub n: i64,
        /// Sum of values (events, days or hours).
        pub value_total: f64,
        /// Sum of exposure, in person-years.
        pub person_years: f64,
        /// `value_total` / `person_years`; null when there is no exposure.
        pub rate_per_py: Option<f64>,
        /// Lower 95 % limit of `rate_per_py`, as in `rates`.
        pub ci_low: Option<f64>,
        /// Upper 95 % limit of `rate_per_py`.
        pub ci_high: Option<f64>,
    }
}

table! {
    /// Zone 3: one comparison of a measure within a scope (`comparisons.parquet`): before
    /// vs after within an arm, or pilot vs comparison. CI and p columns are null where the
    /// method gives none.
    pub struct ComparisonRow as "comparisons" {
        /// Indicator id or scale name.
        pub measure: String,
        /// `all`, `arm`, `municipality` or `target_group`.
        pub scope: String,
        /// The arm, municipality or group; null for `all`.
        pub scope_value: Option<String>,
        /// The arm of a within-arm comparison (before vs after, T0 vs T1); null when the
        /// row compares the arms.
        pub arm: Option<Arm>,
        /// Persons behind the comparison.
        pub n: i64,
        /// Before: pooled rate per person-year, or mean.
        pub before_mean: Option<f64>,
        /// After: pooled rate per person-year, or mean.
        pub after_mean: Option<f64>,
        /// After − before (for pilot vs comparison: the difference in differences).
        pub diff: Option<f64>,
        /// Lower confidence limit of `diff`, where the method gives one.
        pub diff_ci_low: Option<f64>,
        /// Upper confidence limit of `diff`.
        pub diff_ci_high: Option<f64>,
        /// Lower confidence limit of `effect_size`, on its own scale (a ratio's interval
        /// for a ratio).
        pub ci_low: Option<f64>,
        /// Upper confidence limit of `effect_size`.
        pub ci_high: Option<f64>,
        /// Two-sided p-value.
        pub p_value: Option<f64>,
        /// p-value adjusted for multiplicity.
        pub p_adjusted: Option<f64>,
        /// The effect size (see `effect_size_kind`).
        pub effect_size: Option<f64>,
        /// `rate_ratio`, `ratio_of_rate_ratios`, …
        pub effect_size_kind: String,
        /// The method, in words.
        pub method: String,
    }
}

table! {
    /// Zone 3: how concentrated use is (`utilisation.parquet`): the share of all use held
    /// by the heaviest users — "2–5 % of patients use half the resources", checked.
    pub struct UtilisationRow as "utilisation" {
        /// Indicator.
        pub indicator: String,
        /// Period (`before`: use before inclusion).
        pub period: String,
        /// The arm the persons are in; null for both arms together.
        pub arm: Option<Arm>,
        /// The heaviest users' share of persons: 0.05, 0.10.
        pub top_share: f64,
        /// Persons in that top group (the share of persons, rounded up).
        pub n_top: i64,
        /// Persons with exposure in the period.
        pub n_persons: i64,
        /// The top group's share of all use; null when nobody used any.
        pub share_of_use: Option<f64>,
        /// Gini coefficient of use over persons (0 equal, 1 one person uses all).
        pub gini: Option<f64>,
    }
}

table! {
    /// Zone 3: the Lorenz curve of use over persons, in steps of one percent of persons
    /// (`lorenz.parquet`; no single person's value).
    pub struct LorenzRow as "lorenz" {
        /// Indicator.
        pub indicator: String,
        /// Period.
        pub period: String,
        /// The arm the persons are in; null for both arms together.
        pub arm: Option<Arm>,
        /// Share of persons, lightest users first (0, 0.01, …, 1).
        pub persons_share: f64,
        /// Their share of all use.
        pub use_share: f64,
    }
}

table! {
    /// Zone 3: the event-time view (`event_time.parquet`): an indicator's rate per
    /// person-year in 30-day bins around inclusion, by arm — the picture that shows
    /// whether the arms ran parallel before inclusion. Bin −1 holds days −30…−1, bin 0
    /// days 0…29.
    pub struct EventTimeRow as "event_time" {
        /// Indicator id.
        pub indicator: String,
        /// Study arm.
        pub arm: Arm,
        /// Bin number relative to inclusion (−12 … 11).
        pub bin: i32,
        /// First day of the bin, relative to inclusion.
        pub from_day: i32,
        /// Last day of the bin.
        pub to_day: i32,
        /// Persons observed in the bin.
        pub n: i64,
        /// Sum of values (events, days or hours) in the bin.
        pub value_total: f64,
        /// Sum of exposure in the bin, in person-years.
        pub person_years: f64,
        /// `value_total` / `person_years`; null when there is no exposure.
        pub rate_per_py: Option<f64>,
        /// Lower 95 % limit: Poisson GLM with offset, CR1 SE by person.
        pub ci_low: Option<f64>,
        /// Upper 95 % limit.
        pub ci_high: Option<f64>,
    }
}

table! {
    /// Zone 3: the Kaplan–Meier estimate of survival from inclusion, by arm
    /// (`survival.parquet`), one row per day with a death (and day 0). Censored at moving
    /// away, withdrawal and the end of data.
    pub struct SurvivalRow as "survival" {
        /// Study arm.
        pub arm: Arm,
        /// Day relative to inclusion.
        pub day: i32,
        /// Persons at risk on that day.
        pub n_risk: i64,
        /// Deaths on that day.
        pub n_event: i64,
        /// Persons censored after the previous row, up to and including this day.
        pub n_censored: i64,
        /// Kaplan–Meier survival just after that day.
        pub survival: f64,
        /// Lower 95 % limit (Greenwood variance, log scale: `survfit`'s default).
        pub ci_low: Option<f64>,
        /// Upper 95 % limit.
        pub ci_high: Option<f64>,
    }
}

table! {
    /// Zone 3: covariate balance between the arms (`balance.parquet`), before and after
    /// the balancing weights, as R's `cobalt::bal.tab` reports it: standardised mean
    /// differences with the unweighted pooled SD as denominator.
    pub struct BalanceRow as "balance" {
        /// Covariate (`age_band`, `sex`, `target_group`, or `before_use`).
        pub covariate: String,
        /// The level of a categorical covariate; for `before_use` the indicator and the
        /// scale (`bed_days, log(1 + rate per person-year)`).
        pub level: Option<String>,
        /// Pilot mean (a share for a level), unweighted.
        pub pilot_mean: Option<f64>,
        /// Comparison mean, unweighted.
        pub comparison_mean: Option<f64>,
        /// Standardised mean difference pilot − comparison, unweighted.
        pub smd: Option<f64>,
        /// Pilot mean with the weights; null without weights.
        pub pilot_mean_weighted: Option<f64>,
        /// Comparison mean with the weights.
        pub comparison_mean_weighted: Option<f64>,
        /// Standardised mean difference with the weights.
        pub smd_weighted: Option<f64>,
        /// `none`, `ipw` or `overlap`.
        pub weighting: String,
    }
}

table! {
    /// Zone 3: how far the framework's elements were documented (`framework.parquet`), per
    /// element × arm × scope.
    pub struct FrameworkRow as "framework" {
        /// Element (`A`–`E`, or a configured step name).
        pub element: String,
        /// Study arm.
        pub arm: Arm,
        /// `all` or `municipality`.
        pub scope: String,
        /// The municipality; null for `all`.
        pub scope_value: Option<String>,
        /// Included persons in the arm and scope.
        pub n_persons: i64,
        /// Of them, persons with the element documented by their last observed day.
        pub n_documented: i64,
        /// `n_documented` / `n_persons`.
        pub share: Option<f64>,
        /// Median days from inclusion to the first documentation.
        pub days_median: Option<f64>,
        /// First quartile of those days (type 7, as R's default).
        pub days_q1: Option<f64>,
        /// Third quartile.
        pub days_q3: Option<f64>,
    }
}

table! {
    /// Zone 3: one person's score on one scale at one timepoint (`scales.parquet`).
    pub struct ScaleScoreRow as "scales" {
        /// Pseudonym.
        pub pid: Pseudonym,
        /// Kommunenummer.
        pub municipality: String,
        /// Study arm.
        pub arm: Arm,
        /// Target group.
        pub target_group: Option<String>,
        /// `T0`, `T1`, …
        pub timepoint: String,
        /// Instrument.
        pub instrument: String,
        /// Scale: the instrument's name for its total, or a subscale.
        pub scale: String,
        /// Score (mean of answered items, or their sum prorated to all items); null when
        /// fewer items than the minimum share were answered.
        pub score: Option<f64>,
        /// Items on the scale.
        pub n_items: i32,
        /// Items answered.
        pub n_answered: i32,
    }
}

table! {
    /// Zone 3: internal consistency of a scale at a timepoint (`scale_reliability`).
    pub struct ScaleReliabilityRow as "scale_reliability" {
        /// Instrument.
        pub instrument: String,
        /// Scale.
        pub scale: String,
        /// Timepoint.
        pub timepoint: String,
        /// Respondents who answered every item (listwise).
        pub n: i64,
        /// Items.
        pub n_items: i64,
        /// Cronbach's alpha; null with fewer than two items or respondents.
        pub cronbach_alpha: Option<f64>,
    }
}

table! {
    /// Zone 3: how many gave each answer to an item (`item_distributions`), for stacked bars.
    pub struct ItemDistributionRow as "item_distributions" {
        /// Instrument.
        pub instrument: String,
        /// Item.
        pub item: String,
        /// Timepoint.
        pub timepoint: String,
        /// Study arm.
        pub arm: Arm,
        /// The answer (after reverse scoring is not applied: as given).
        pub value: f64,
        /// Respondents giving it.
        pub n: i64,
    }
}

table! {
    /// Zone 3: where an item's answers lie (`item_summaries`), per item, timepoint and arm:
    /// the mean and the median with 95 % intervals (`folge_stats::location`) — for an
    /// answer on a long range such as EQ-5D's VAS (0–100), which answer bars do not show.
    pub struct ItemSummaryRow as "item_summaries" {
        /// Instrument.
        pub instrument: String,
        /// Item.
        pub item: String,
        /// Timepoint.
        pub timepoint: String,
        /// Study arm.
        pub arm: Arm,
        /// Respondents with an answer.
        pub n: i64,
        /// Mean of the answers (as given, not reverse scored).
        pub mean: f64,
        /// Lower 95 % limit of the mean (Student's t, R's `t.test`); null for n < 2.
        pub mean_ci_low: Option<f64>,
        /// Upper 95 % limit of the mean.
        pub mean_ci_high: Option<f64>,
        /// Median.
        pub median: f64,
        /// Lower 95 % limit of the median: the order statistic x₍L₎, L = `qbinom(0.025,
        /// n, 0.5)`; null when n is too small for any (n ≤ 5).
        pub median_ci_low: Option<f64>,
        /// Upper 95 % limit of the median, x₍n−L+1₎.
        pub median_ci_high: Option<f64>,
    }
}

table! {
    /// Zone 3: how often a focus-group code was used, in one scope (`code_frequencies`).
    /// A segment counts once however many coders gave it the code.
    pub struct CodeFrequencyRow as "code_frequencies" {
        /// Code path above the code, when the codebook is hierarchical.
        pub theme: Option<String>,
        /// Code.
        pub code: String,
        /// `all`, `source` (the codings input), `municipality` or `role`.
        pub scope: String,
        /// The source, municipality or role; null for `all`.
        pub scope_value: Option<String>,
        /// Segments (meaning units) given the code.
        pub n_segments: i64,
        /// Focus groups in which the code was used (a group is its source and name).
        pub n_groups: i64,
        /// Focus groups in the scope: "mentioned in `n_groups` of `n_groups_in_scope`".
        pub n_groups_in_scope: i64,
    }
}

table! {
    /// Zone 3: two codes given to the same segment (`code_cooccurrence`).
    pub struct CodeCooccurrenceRow as "code_cooccurrence" {
        /// The first code (in sort order).
        pub code_a: String,
        /// The second code.
        pub code_b: String,
        /// Segments given both.
        pub n_segments: i64,
    }
}

table! {
    /// Zone 3: inter-coder agreement on the presence of a code in a segment, per code and
    /// over all codes (`agreement`), within one codings source: coders of two sources
    /// (two teams' projects) code different segments and are never compared.
    pub struct AgreementRow as "agreement" {
        /// The codings input (`codings.source`) whose coders and segments these are.
        pub source: String,
        /// Code, or `all` for every code together.
        pub code: String,
        /// Coders compared.
        pub n_coders: i64,
        /// Segments coded by at least two coders (the units).
        pub n_units: i64,
        /// Share of units on which every coder agrees.
        pub percent_agreement: Option<f64>,
        /// Cohen's kappa (two coders only).
        pub cohen_kappa: Option<f64>,
        /// Lower 95 % limit of kappa.
        pub kappa_ci_low: Option<f64>,
        /// Upper 95 % limit of kappa.
        pub kappa_ci_high: Option<f64>,
        /// Krippendorff's alpha, nominal (any number of coders, missing allowed).
        pub krippendorff_alpha: Option<f64>,
        /// Why a statistic is missing, when it is.
        pub note: Option<String>,
    }
}

table! {
    /// Zone 3: a coded quote, for the report to pick illustrative quotes from (`quotes`).
    pub struct QuoteRow as "quotes" {
        /// The codings input (`codings.source`) the quote came from.
        pub source: String,
        /// Focus group.
        pub focus_group: String,
        /// Municipality of the group.
        pub municipality: Option<String>,
        /// Participants' role.
        pub role: Option<String>,
        /// Segment id.
        pub segment: String,
        /// Code path above the code.
        pub theme: Option<String>,
        /// Code.
        pub code: String,
        /// Coders who gave the segment this code.
        pub n_coders: i64,
        /// The quote, scrubbed.
        pub text: Option<String>,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Table;

    #[test]
    fn round_trip_through_arrow() {
        let rows = vec![
            ServiceEvent {
                person_id: "x".into(),
                service: Service::Inpatient,
                start_date: NaiveDate::from_ymd_opt(2020, 2, 29).unwrap(),
                end_date: Some(NaiveDate::from_ymd_opt(2020, 3, 2).unwrap()),
                quantity: None,
                acute: Some(true),
                start_time: None,
                end_time: None,
            },
            ServiceEvent {
                person_id: "y".into(),
                service: Service::HomeNursing,
                start_date: NaiveDate::from_ymd_opt(1969, 12, 31).unwrap(),
                end_date: None,
                quantity: Some(2.5),
                acute: None,
                start_time: None,
                end_time: None,
            },
        ];
        let batch = ServiceEvent::to_batch(&rows).unwrap();
        assert_eq!(batch.schema().field(2).name(), "start_date");
        assert_eq!(ServiceEvent::from_batch(&batch).unwrap(), rows);
    }

    #[test]
    fn missing_and_mistyped_columns_are_named() {
        let batch = ProcessEvent::to_batch(&[]).unwrap();
        let err = ServiceEvent::from_batch(&batch).unwrap_err();
        assert_eq!(err.to_string(), "table `service_events` has no column `service`");
        let batch = Reject::to_batch(&[]).unwrap();
        let renamed = arrow_array::RecordBatch::try_new(
            std::sync::Arc::new(arrow_schema::Schema::new(vec![
                arrow_schema::Field::new("pid", arrow_schema::DataType::Utf8, true),
                arrow_schema::Field::new("element", arrow_schema::DataType::Utf8, true),
                arrow_schema::Field::new("day", arrow_schema::DataType::Int64, true),
            ])),
            vec![batch.column(0).clone(), batch.column(0).clone(), batch.column(1).clone()],
        )
        .unwrap();
        // A table shaped like zone 2's process events (declared by folge-deid).
        crate::table! {
            /// Steps by day.
            pub struct Steps as "process_events" {
                /// Pseudonym.
                pub pid: String,
                /// Element.
                pub element: String,
                /// Day.
                pub day: i32,
            }
        }
        let err = Steps::from_batch(&renamed).unwrap_err();
        assert_eq!(
            err.to_string(),
            "table `process_events`, column `day`: expected Int32, found Int64"
        );
    }

    /// A `read_only` table: accessors hand out copies and `&str`, and the table converts
    /// like any other.
    #[expect(
        unexpected_cfgs,
        reason = "the macro tests the declaring crate's `test-rows` feature, which folge-schema has not"
    )]
    mod read_only {
        use crate::{Arm, Pseudonym, Table};

        crate::table! {
            /// A note per person.
            pub struct Note as "notes" read_only {
                /// Pseudonym.
                pid: Pseudonym,
                /// Arm.
                arm: Arm,
                /// Heading.
                heading: String,
                /// Text, when written.
                text: Option<String>,
                /// Day.
                day: Option<i32>,
            }
        }

        #[test]
        fn accessors_read_and_rows_round_trip() {
            let pid = Pseudonym::from_bytes([9; 16]);
            let note = Note {
                pid,
                arm: Arm::Pilot,
                heading: "h".into(),
                text: Some("t".into()),
                day: None,
            };
            // The types are the point: copies of small values, `&str` for text.
            let read: (Pseudonym, Arm, &str, Option<&str>, Option<i32>) =
                (note.pid(), note.arm(), note.heading(), note.text(), note.day());
            assert_eq!(read, (pid, Arm::Pilot, "h", Some("t"), None));
            let batch = Note::to_batch(std::slice::from_ref(&note)).unwrap();
            assert_eq!(Note::from_batch(&batch).unwrap(), [note]);
            assert_eq!(Note::column_docs()[3], ("text", "Text, when written.".to_owned()));
        }
    }
}

//! Service-use indicators per person × window, and their pooled rates by arm × window.

use std::collections::BTreeMap;

use folge_deid::rows::{DeidParticipant, DeidServiceCount};
use folge_deid::{Deidentified, EventBatch, EventRow};
use folge_schema::tables::{
    BalanceRow, ComparisonRow, EventTimeRow, IndicatorRow, RateRow, StayRow, SurvivalRow,
};
use folge_schema::{ExitReason, Pseudonym, Service};

use crate::comparisons::{Comparison, CountModel, Period, PersonValue, Settings};
use crate::event_time::{BIN_DAYS, BINS, EventTime, bin_from};
use crate::stays::{Stay, merge_stays};

/// Days in a year for person-years: the Julian year, as in rates per 365.25 days.
const DAYS_PER_YEAR: f64 = 365.25;

/// An analysis window in whole days relative to inclusion, both ends inclusive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Window {
    /// Period name (`before`, `after`, …).
    pub name: String,
    /// First day.
    pub from: i32,
    /// Last day.
    pub to: i32,
}

macro_rules! indicators {
    ($( $variant:ident = ($id:literal, $nb:literal, $en:literal, $unit_nb:literal, $unit_en:literal) ),* $(,)?) => {
        /// A service-use indicator (ids from `shared/domain.md`).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum Indicator { $( #[doc = $en] $variant ),* }

        impl Indicator {
            /// Every indicator, in report order.
            pub const ALL: &'static [Indicator] = &[$( Indicator::$variant ),*];
            /// The id used in Parquet and configuration.
            pub fn id(self) -> &'static str { match self { $( Indicator::$variant => $id ),* } }
            /// Norwegian label.
            pub fn label_nb(self) -> &'static str { match self { $( Indicator::$variant => $nb ),* } }
            /// English label.
            pub fn label_en(self) -> &'static str { match self { $( Indicator::$variant => $en ),* } }
            /// What the value counts, Norwegian.
            pub fn unit_nb(self) -> &'static str { match self { $( Indicator::$variant => $unit_nb ),* } }
            /// What the value counts, English.
            pub fn unit_en(self) -> &'static str { match self { $( Indicator::$variant => $unit_en ),* } }
            /// Parse an id.
            pub fn parse(id: &str) -> Option<Self> { Self::ALL.iter().copied().find(|i| i.id() == id) }
        }
    };
}

indicators! {
    Admissions = ("admissions", "Innleggelser", "Admissions", "innleggelser", "admissions"),
    AcuteAdmissions = ("acute_admissions", "Øyeblikkelig hjelp-innleggelser", "Acute admissions", "innleggelser", "admissions"),
    BedDays = ("bed_days", "Liggedøgn", "Bed-days", "liggedøgn", "bed-days"),
    Readmissions30d = ("readmissions_30d", "Reinnleggelser innen 30 dager", "30-day readmissions", "reinnleggelser", "readmissions"),
    OutpatientVisits = ("outpatient_visits", "Polikliniske konsultasjoner", "Outpatient visits", "konsultasjoner", "visits"),
    DayTreatments = ("day_treatments", "Dagbehandlinger", "Day treatments", "dagbehandlinger", "day treatments"),
    EmergencyVisits = ("emergency_visits", "Akuttmottak og legevakt", "Emergency visits", "besøk", "visits"),
    GpContacts = ("gp_contacts", "Fastlegekontakter", "GP contacts", "kontakter", "contacts"),
    HomeCareHours = ("home_care_hours", "Timer hjemmetjenester", "Home care hours", "timer", "hours"),
    ShortStayDays = ("short_stay_days", "Døgn i korttidsopphold", "Short-stay days", "døgn", "days"),
    KadStays = ("kad_stays", "KAD-opphold", "KAD stays", "opphold", "stays"),
    Mortality = ("mortality", "Dødsfall", "Deaths", "dødsfall", "deaths"),
    HospitalContacts = ("hospital_contacts", "Kontakter med sykehus", "Hospital contacts", "kontakter", "contacts"),
    MunicipalContacts = ("municipal_contacts", "Kontakter med kommunale tjenester", "Municipal contacts", "kontakter", "contacts"),
}

/// Parameters of the analyze stage.
#[derive(Debug, Clone)]
pub struct AnalysisParams {
    /// Windows, in output order.
    pub windows: Vec<Window>,
    /// Indicators to compute, in output order.
    pub indicators: Vec<Indicator>,
    /// Comparisons to make from the `before` and `after` windows.
    pub comparisons: Vec<Comparison>,
    /// Questionnaire scales to score and compare (none: no scale results).
    pub scales: Option<crate::ScaleParams>,
    /// Fewest persons behind an estimate in a subset (a municipality, a target group).
    pub min_n: usize,
    /// How p-values are adjusted within each family of comparisons.
    pub adjustment: folge_stats::Adjustment,
    /// The model for whole counts (Poisson or negative binomial; both with CR1 SE by
    /// person).
    pub count_model: CountModel,
    /// Covariates and balancing weights for pilot vs comparison (`None`: unadjusted).
    pub confounders: Option<crate::ConfounderAdjustment>,
    /// How the person-clustered variance of the saturated comparisons is estimated
    /// (adjusted and negative binomial models always use CR1).
    pub variance: crate::ClusterVariance,
    /// Bed-days of a same-day inpatient stay: 0 as SSB and NPR count liggedøgn (the
    /// default), or 0.5 as SAMDATA does.
    pub same_day_bed_days: f64,
    /// When admission and discharge times are delivered: an episode starting less than
    /// this many minutes after a discharge continues the stay, and a readmission starts
    /// at least this long after it (480: the national indicator's 8 hours).
    pub stay_gap_minutes: i64,
}

impl AnalysisParams {
    /// `before` = days −`before_days..−1` and `after` = days `0..after_days−1`, every indicator.
    pub fn before_after(before_days: u32, after_days: u32) -> Self {
        AnalysisParams {
            windows: vec![
                Window { name: "before".into(), from: -(before_days as i32), to: -1 },
                Window { name: "after".into(), from: 0, to: after_days as i32 - 1 },
            ],
            indicators: Indicator::ALL.to_vec(),
            comparisons: Comparison::ALL.to_vec(),
            scales: None,
            min_n: 5,
            adjustment: folge_stats::Adjustment::Holm,
            count_model: CountModel::Poisson,
            confounders: None,
            variance: crate::ClusterVariance::default(),
            same_day_bed_days: 0.0,
            stay_gap_minutes: 8 * 60,
        }
    }
}

/// The analyze stage's results.
#[derive(Debug, Clone)]
pub struct Analysis {
    /// One row per person × window × indicator, held compactly (write it with
    /// [`IndicatorTable::rows`] in chunks).
    pub indicators: std::sync::Arc<IndicatorTable>,
    /// One row per indicator × arm × window.
    pub rates: Vec<RateRow>,
    /// One row per indicator × municipality × arm × window.
    pub municipality_rates: Vec<folge_schema::tables::MunicipalityRateRow>,
    /// One row per indicator × comparison scope.
    pub comparisons: Vec<ComparisonRow>,
    /// Rates within the subgroups compared on their own (the 67+ for 30-day
    /// readmissions), per arm and window.
    pub subgroup_rates: Vec<folge_schema::tables::SubgroupRateRow>,
    /// Events whose start falls in no window (reported, not silently lost).
    pub events_outside_windows: u64,
    /// Events inside a window but after the person's exit or the end of data.
    pub events_after_observation: u64,
    /// Focus-group code frequencies, co-occurrence, agreement and quotes.
    pub focus_groups: crate::FocusGroupResults,
    /// Questionnaire scale scores, reliability and item distributions (their comparisons
    /// are in `comparisons`).
    pub scales: crate::ScaleResults,
    /// The framework's process indicators.
    pub framework: Vec<folge_schema::tables::FrameworkRow>,
    /// Concentration of use before inclusion: the top 5 % and 10 %, and the Gini.
    pub utilisation: Vec<folge_schema::tables::UtilisationRow>,
    /// The Lorenz curve of use before inclusion, in percent steps.
    pub lorenz: Vec<folge_schema::tables::LorenzRow>,
    /// Rates per 30-day bin around inclusion, by arm (the event-time view).
    pub event_time: Vec<EventTimeRow>,
    /// Kaplan–Meier survival from inclusion, by arm.
    pub survival: Vec<SurvivalRow>,
    /// Covariate balance before and after weighting (empty when unadjusted).
    pub balance: Vec<BalanceRow>,
    /// Every participant's merged hospital and municipal short-term stays, by pseudonym
    /// then service and admission.
    pub stays: Vec<StayRow>,
}

/// One person's events, prepared once for every window.
struct PersonUse<'a> {
    participant: &'a DeidParticipant,
    /// The events with hours (home nursing and help), in the order they came: the only
    /// ones the hours indicator reads, once per window and per 30-day bin.
    hours: Vec<EventRow>,
    stays: Vec<Stay>,
    short_stays: Vec<Stay>,
    /// Bed-days a same-day inpatient stay counts (0, or SAMDATA's 0.5).
    same_day_bed_days: f64,
    /// Shortest gap, in minutes, between a discharge and a new stay when times are known.
    gap: i64,
    /// Months of pre-aggregated use.
    counts: Vec<&'a DeidServiceCount>,
}

impl PersonUse<'_> {
    /// Last observed day: the exit day is observed; data end cuts too.
    fn last_observed(&self) -> i32 {
        let p = self.participant;
        p.exit_day().map_or(p.data_end_day(), |exit| exit.min(p.data_end_day()))
    }

    /// The indicator's value in days `lo..=hi` (`starts` counts the events starting in
    /// them): from events and from monthly counts.
    fn value(&self, indicator: Indicator, lo: i32, hi: i32, starts: &Starts) -> f64 {
        self.events_value(indicator, lo, hi, starts) + self.monthly_value(indicator, lo, hi)
    }

    /// What pre-aggregated months add to an indicator: each month's amount times the share
    /// of its days inside the window (exact when inclusion falls on the 1st; a month that
    /// straddles inclusion is shared between before and after). Acute admissions,
    /// readmissions and deaths need events and get nothing from counts.
    fn monthly_value(&self, indicator: Indicator, lo: i32, hi: i32) -> f64 {
        use Service as S;
        let amount = |services: &[Service], field: fn(&DeidServiceCount) -> Option<f64>| {
            self.counts
                .iter()
                .filter(|c| services.contains(&c.service()))
                .map(|c| {
                    let shared = (c.end_day().min(hi) - c.start_day().max(lo) + 1).max(0);
                    let month = (c.end_day() - c.start_day() + 1).max(1);
                    field(c).unwrap_or(0.0) * f64::from(shared) / f64::from(month)
                })
                .sum::<f64>()
        };
        let count = |c: &DeidServiceCount| c.count();
        match indicator {
            Indicator::Admissions => amount(&[S::Inpatient], count),
            Indicator::BedDays => amount(&[S::Inpatient], folge_deid::rows::DeidServiceCount::days),
            Indicator::OutpatientVisits => amount(&[S::Outpatient], count),
            Indicator::DayTreatments => amount(&[S::DayTreatment], count),
            Indicator::EmergencyVisits => amount(&[S::HospitalEmergency, S::OutOfHours], count),
            Indicator::GpContacts => amount(&[S::Gp], count),
            Indicator::HomeCareHours => {
                amount(&[S::HomeNursing, S::HomeHelp], folge_deid::rows::DeidServiceCount::hours)
            }
            Indicator::ShortStayDays => {
                amount(&[S::ShortStay], folge_deid::rows::DeidServiceCount::days)
            }
            Indicator::KadStays => amount(&[S::Kad], count),
            Indicator::HospitalContacts => {
                amount(&[S::Inpatient, S::DayTreatment, S::Outpatient, S::HospitalEmergency], count)
            }
            Indicator::MunicipalContacts => amount(
                &[
                    S::Gp,
                    S::OutOfHours,
                    S::Kad,
                    S::ShortStay,
                    S::LongTermCare,
                    S::HomeNursing,
                    S::HomeHelp,
                ],
                count,
            ),
            Indicator::AcuteAdmissions | Indicator::Readmissions30d | Indicator::Mortality => 0.0,
        }
    }

    fn events_value(&self, indicator: Indicator, lo: i32, hi: i32, starts: &Starts) -> f64 {
        let starts_in = |day: i32| lo <= day && day <= hi;
        let count = |services: &[Service]| {
            services.iter().map(|s| f64::from(starts.by_service[*s as usize])).sum::<f64>()
        };
        let nights = |stays: &[Stay]| -> f64 {
            stays.iter().map(|s| f64::from((s.end.min(hi + 1) - s.start.max(lo)).max(0))).sum()
        };
        match indicator {
            Indicator::Admissions => {
                self.stays.iter().filter(|s| starts_in(s.start)).count() as f64
            }
            Indicator::AcuteAdmissions => {
                self.stays.iter().filter(|s| s.acute && starts_in(s.start)).count() as f64
            }
            Indicator::BedDays => {
                nights(&self.stays)
                    + self.same_day_bed_days
                        * self
                            .stays
                            .iter()
                            .filter(|s| s.start == s.end && starts_in(s.start))
                            .count() as f64
            }
            Indicator::Readmissions30d => self
                .stays
                .windows(2)
                .filter(|w| {
                    w[1].acute && starts_in(w[1].start) && w[0].readmitted_by(&w[1], self.gap)
                })
                .count() as f64,
            Indicator::OutpatientVisits => count(&[Service::Outpatient]),
            Indicator::DayTreatments => count(&[Service::DayTreatment]),
            Indicator::EmergencyVisits => count(&[Service::HospitalEmergency, Service::OutOfHours]),
            Indicator::GpContacts => count(&[Service::Gp]),
            // Summed exactly, then rounded once: the hours do not depend on the order
            // the person's rows came in (a sorted extract or a date-ordered delivery).
            // Only the hours inside the window: a zero adds nothing to the exact sum (it
            // is correctly rounded, so its bits depend only on the sum's value).
            Indicator::HomeCareHours => exact_sum(
                self.hours.iter().map(|e| hours_in(e, lo, hi)).filter(|hours| *hours != 0.0),
            ),
            Indicator::ShortStayDays => nights(&self.short_stays),
            Indicator::KadStays => count(&[Service::Kad]),
            // Every contact with the hospital: stays (merged, as admissions), day
            // treatments, outpatient visits and emergency visits without admission.
            Indicator::HospitalContacts => {
                self.stays.iter().filter(|s| starts_in(s.start)).count() as f64
                    + count(&[
                        Service::DayTreatment,
                        Service::Outpatient,
                        Service::HospitalEmergency,
                    ])
            }
            // Every municipal contact: GP, out-of-hours, KAD, short and long stays begun
            // (short stays merged), and home-care visits (a decision period is not a
            // contact and does not count).
            Indicator::MunicipalContacts => {
                self.short_stays.iter().filter(|s| starts_in(s.start)).count() as f64
                    + count(&[
                        Service::Gp,
                        Service::OutOfHours,
                        Service::Kad,
                        Service::LongTermCare,
                    ])
                    + f64::from(starts.home_visits)
            }
            Indicator::Mortality => {
                let p = self.participant;
                f64::from(u8::from(
                    p.exit_reason() == Some(ExitReason::Death)
                        && p.exit_day().is_some_and(starts_in),
                ))
            }
        }
    }
}

/// How many of a person's events start inside a window, by service, and how many of
/// them are single home-care visits (hours without an end day): counted in one pass,
/// not once per indicator.
#[derive(Clone, Copy)]
struct Starts {
    by_service: [u32; SERVICES],
    home_visits: u32,
}

/// Every service code, as array positions.
const SERVICES: usize = <Service as folge_schema::column::TextCode>::ALL.len();

impl Starts {
    const NONE: Starts = Starts { by_service: [0; SERVICES], home_visits: 0 };

    fn add(&mut self, e: &EventRow) {
        self.by_service[e.service as usize] += 1;
        if e.service.is_hours() && e.end_day.is_none() {
            self.home_visits += 1;
        }
    }

    fn count(events: &[EventRow], lo: i32, hi: i32) -> Self {
        let mut starts = Starts::NONE;
        for e in events.iter().filter(|e| lo <= e.start_day && e.start_day <= hi) {
            starts.add(e);
        }
        starts
    }

    /// [`Starts::count`] of every 30-day bin at once (bin `b` from `bin_from(b)` to 29
    /// days later or `last`, whichever comes first), in one pass over the events instead
    /// of one per bin.
    fn count_bins(events: &[EventRow], last: i32) -> [Starts; BINS] {
        let mut bins = [Starts::NONE; BINS];
        for e in events.iter().filter(|e| e.start_day <= last) {
            let Ok(offset) = usize::try_from(e.start_day - bin_from(0)) else { continue };
            if let Some(bin) = bins.get_mut(offset / BIN_DAYS as usize) {
                bin.add(e);
            }
        }
        bins
    }
}

/// The sum of `values` correctly rounded, whatever their order: Shewchuk's exact partial
/// sums ("Adaptive precision floating-point arithmetic", 1997) with the final rounding of
/// Python's `math.fsum` (half-way cases settled by the partial below). Equal to the plain
/// running sum wherever that one is exact (hours in halves and quarters); unlike it, the
/// same bits for any order of the rows. Finite values only (hours are).
fn exact_sum(values: impl IntoIterator<Item = f64>) -> f64 {
    // Non-overlapping partials of doubles: at most about 2098 / 53 of them.
    let mut partials: Vec<f64> = Vec::new();
    for mut x in values {
        let mut kept = 0;
        for k in 0..partials.len() {
            let mut y = partials[k];
            if x.abs() < y.abs() {
                std::mem::swap(&mut x, &mut y);
            }
            let hi = x + y;
            let lo = y - (hi - x);
            if lo != 0.0 {
                partials[kept] = lo;
                kept += 1;
            }
            x = hi;
        }
        partials.truncate(kept);
        partials.push(x);
    }
    let Some(mut hi) = partials.pop() else { return 0.0 };
    let mut lo = 0.0;
    while let Some(y) = partials.pop() {
        let x = hi;
        hi = x + y;
        lo = y - (hi - x);
        if lo != 0.0 {
            break;
        }
    }
    // Round half to even correctly: the partial below says which way the exact sum lies.
    if let Some(&below) = partials.last()
        && ((lo < 0.0 && below < 0.0) || (lo > 0.0 && below > 0.0))
    {
        let y = lo * 2.0;
        let x = hi + y;
        if y.to_bits() == (x - hi).to_bits() {
            hi = x;
        }
    }
    hi
}

/// Hours of a home-service event inside days `lo..=hi`. A single contact (no end day)
/// counts where it starts; a decision period (start and end day, both inclusive, as KPR
/// delivers them) holds its hours evenly over its days, so a window gets hours × the
/// days it shares / the period's days — hours per week × shared days / 7.
fn hours_in(e: &EventRow, lo: i32, hi: i32) -> f64 {
    let hours = e.quantity.unwrap_or(1.0);
    match e.end_day {
        None => {
            if lo <= e.start_day && e.start_day <= hi {
                hours
            } else {
                0.0
            }
        }
        Some(end) => {
            let end = end.max(e.start_day);
            let shared = (end.min(hi) - e.start_day.max(lo) + 1).max(0);
            hours * f64::from(shared) / f64::from(end - e.start_day + 1)
        }
    }
}

/// Indicator values per person × window × indicator: the participants (sorted by
/// pseudonym) and a dense matrix of values and exposure: 200,000 persons × 2 windows × 14
/// indicators are 45 MB of values, where as many row structs, each with four strings, would
/// take well over a gigabyte (an estimate, not a measurement).
#[derive(Debug, Clone, Default)]
pub struct IndicatorTable {
    participants: Vec<DeidParticipant>,
    windows: Vec<String>,
    indicators: Vec<Indicator>,
    /// `[person][window][indicator]`.
    values: Vec<f64>,
    /// `[person][window]`.
    exposure: Vec<i32>,
}

impl IndicatorTable {
    /// Rows: persons × windows × indicators.
    pub fn len(&self) -> usize {
        self.values.len()
    }

    /// Whether there are no rows.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    fn row(&self, index: usize) -> IndicatorRow {
        let per_person = self.windows.len() * self.indicators.len();
        let (person, rest) = (index / per_person, index % per_person);
        let (window, indicator) = (rest / self.indicators.len(), rest % self.indicators.len());
        let p = &self.participants[person];
        let exposure_days = self.exposure[person * self.windows.len() + window];
        let value = self.values[index];
        IndicatorRow {
            pid: p.pid(),
            municipality: p.municipality().to_owned(),
            arm: p.arm(),
            target_group: p.target_group().map(str::to_owned),
            period: self.windows[window].clone(),
            indicator: self.indicators[indicator].id().to_owned(),
            value,
            exposure_days,
            rate_per_py: (exposure_days > 0)
                .then(|| value / (f64::from(exposure_days) / DAYS_PER_YEAR)),
        }
    }

    /// Rows `range` (person by pseudonym, then window, then indicator).
    pub fn rows(&self, range: std::ops::Range<usize>) -> Vec<IndicatorRow> {
        range.map(|i| self.row(i)).collect()
    }

    /// Rows `range` as one record batch in `IndicatorRow`'s schema, built column by column
    /// (no row structs: 2.4 million rows would be ten million small strings).
    pub fn batch(
        &self,
        range: std::ops::Range<usize>,
    ) -> Result<arrow_array::RecordBatch, folge_schema::SchemaError> {
        use arrow_array::builder::{Float64Builder, Int32Builder, StringBuilder};
        use folge_schema::Table;
        let n = range.len();
        let (mut pid, mut municipality, mut arm, mut group, mut period, mut indicator) = (
            StringBuilder::with_capacity(n, n * 32),
            StringBuilder::with_capacity(n, n * 4),
            StringBuilder::with_capacity(n, n * 10),
            StringBuilder::with_capacity(n, n * 8),
            StringBuilder::with_capacity(n, n * 6),
            StringBuilder::with_capacity(n, n * 12),
        );
        let (mut value, mut exposure, mut rate) = (
            Float64Builder::with_capacity(n),
            Int32Builder::with_capacity(n),
            Float64Builder::with_capacity(n),
        );
        let per_person = self.windows.len() * self.indicators.len();
        let mut hex = [0u8; folge_schema::pseudonym::PSEUDONYM_HEX_CHARS];
        for index in range {
            let (person, rest) = (index / per_person, index % per_person);
            let (window, k) = (rest / self.indicators.len(), rest % self.indicators.len());
            let p = &self.participants[person];
            let days = self.exposure[person * self.windows.len() + window];
            let v = self.values[index];
            pid.append_value(p.pid().write_hex(&mut hex));
            municipality.append_value(p.municipality());
            arm.append_value(p.arm().code());
            group.append_option(p.target_group());
            period.append_value(&self.windows[window]);
            indicator.append_value(self.indicators[k].id());
            value.append_value(v);
            exposure.append_value(days);
            rate.append_option((days > 0).then(|| v / (f64::from(days) / DAYS_PER_YEAR)));
        }
        let columns: Vec<arrow_array::ArrayRef> = vec![
            std::sync::Arc::new(pid.finish()),
            std::sync::Arc::new(municipality.finish()),
            std::sync::Arc::new(arm.finish()),
            std::sync::Arc::new(group.finish()),
            std::sync::Arc::new(period.finish()),
            std::sync::Arc::new(indicator.finish()),
            std::sync::Arc::new(value.finish()),
            std::sync::Arc::new(exposure.finish()),
            std::sync::Arc::new(rate.finish()),
        ];
        arrow_array::RecordBatch::try_new(IndicatorRow::schema(), columns)
            .map_err(|source| folge_schema::SchemaError::Internal { table: "indicators", source })
    }

    /// Each indicator's rate per person-year in the `before` window, per person (0 without
    /// exposure), for the propensity score and the balance table; mortality is left out
    /// (0 before inclusion by construction).
    pub(crate) fn before_rates(&self) -> Vec<(&'static str, Vec<f64>)> {
        let Some(w) = self.windows.iter().position(|w| w == "before") else {
            return Vec::new();
        };
        let n_w = self.windows.len();
        let n_ind = self.indicators.len();
        self.indicators
            .iter()
            .enumerate()
            .filter(|(_, i)| **i != Indicator::Mortality)
            .map(|(k, i)| {
                let rates = (0..self.participants.len())
                    .map(|p| {
                        let days = self.exposure[p * n_w + w];
                        if days > 0 {
                            self.values[(p * n_w + w) * n_ind + k]
                                / (f64::from(days) / DAYS_PER_YEAR)
                        } else {
                            0.0
                        }
                    })
                    .collect();
                (i.id(), rates)
            })
            .collect()
    }

    /// Every row.
    pub fn to_rows(&self) -> Vec<IndicatorRow> {
        self.rows(0..self.len())
    }

    /// The values of one indicator (position in the table's indicators), in row order,
    /// borrowed from the table (persons numbered by their position).
    fn rows_of(&self, indicator: usize) -> Vec<crate::comparisons::PersonValue<'_>> {
        let measure = self.indicators[indicator];
        let n_windows = self.windows.len();
        let periods: Vec<Period> = self.windows.iter().map(|w| Period::of(w)).collect();
        (0..self.participants.len() * n_windows)
            .map(|pw| {
                let (person, window) = (pw / n_windows, pw % n_windows);
                let p = &self.participants[person];
                crate::comparisons::PersonValue {
                    person,
                    pid: p.pid(),
                    municipality: p.municipality(),
                    arm: p.arm(),
                    target_group: p.target_group(),
                    window,
                    period: periods[window],
                    indicator: measure,
                    value: self.values[pw * self.indicators.len() + indicator],
                    exposure_days: self.exposure[pw],
                }
            })
            .collect()
    }
}

/// A person's events given twice, apart: the events are not grouped by person, so they
/// cannot be streamed (see [`analyze_grouped`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("service events are not grouped by person")]
pub struct NotGrouped;

/// Hashes pseudonyms for the participant index, eight bytes at a time (`FxHash`'s step):
/// a pseudonym is 32 hex digits of a keyed hash already, so mixing its words is enough,
/// where the standard hasher cost more than the rest of a lookup (on events in date order
/// every row is looked up). The map is only queried, never iterated: no order reaches an
/// output.
#[derive(Default)]
struct PidHasher(u64);

impl std::hash::Hasher for PidHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        const SEED: u64 = 0x517c_c1b7_2722_0a95;
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            let mut word = [0u8; 8];
            word.copy_from_slice(chunk);
            self.0 = (self.0.rotate_left(5) ^ u64::from_le_bytes(word)).wrapping_mul(SEED);
        }
        for &b in chunks.remainder() {
            self.0 = (self.0.rotate_left(5) ^ u64::from(b)).wrapping_mul(SEED);
        }
    }
}

/// Builds the indicator table one person at a time, so the service events never need to
/// be in memory together: give each person's events (all of them, once) to
/// [`IndicatorBuilder::person`], then [`IndicatorBuilder::finish`].
pub struct IndicatorBuilder<'a> {
    tables: &'a Deidentified,
    params: &'a AnalysisParams,
    participants: Vec<&'a DeidParticipant>,
    index: std::collections::HashMap<Pseudonym, usize, std::hash::BuildHasherDefault<PidHasher>>,
    counts: BTreeMap<Pseudonym, Vec<&'a DeidServiceCount>>,
    seen: Vec<bool>,
    values: Vec<f64>,
    exposure: Vec<i32>,
    outside: u64,
    after_observation: u64,
    /// Sums over persons for the event-time view and the pre-trend check.
    event_time: EventTime,
    /// One person's values per bin × indicator (reused).
    bin_values: Vec<f64>,
    /// Each participant's merged stays, hospital then municipal short-term.
    stays: Vec<Vec<(Service, Stay)>>,
}

impl std::fmt::Debug for IndicatorBuilder<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IndicatorBuilder")
            .field("persons", &self.participants.len())
            .finish_non_exhaustive()
    }
}

impl<'a> IndicatorBuilder<'a> {
    /// Start with every participant of `tables` and no events yet.
    pub fn new(tables: &'a Deidentified, params: &'a AnalysisParams) -> Self {
        let mut participants: Vec<&DeidParticipant> = tables.participants().iter().collect();
        participants.sort_by_key(|p| p.pid());
        let index = participants.iter().enumerate().map(|(i, p)| (p.pid(), i)).collect();
        let mut counts: BTreeMap<Pseudonym, Vec<&DeidServiceCount>> = BTreeMap::new();
        for c in tables.service_counts() {
            counts.entry(c.pid()).or_default().push(c);
        }
        let n = participants.len();
        let from = params.windows.iter().map(|w| w.from).min().unwrap_or(0);
        let to = params.windows.iter().map(|w| w.to).max().unwrap_or(-1);
        IndicatorBuilder {
            event_time: EventTime::new(params.indicators.len(), from, to),
            bin_values: vec![0.0; BINS * params.indicators.len()],
            stays: vec![Vec::new(); n],
            tables,
            params,
            index,
            counts,
            seen: vec![false; n],
            values: vec![0.0; n * params.windows.len() * params.indicators.len()],
            exposure: vec![0; n * params.windows.len()],
            participants,
            outside: 0,
            after_observation: 0,
        }
    }

    /// Every service event of the person with pseudonym `pid`. A pseudonym that is not a
    /// participant's cannot occur (deid links every event to a participant); its events
    /// are counted as outside every window rather than dropped.
    pub fn person(&mut self, pid: &str, events: &[EventRow]) -> Result<(), NotGrouped> {
        let Some(i) = self.index_of(pid) else {
            self.outside += events.len() as u64;
            return Ok(());
        };
        self.person_at(i, events)
    }

    /// The participant number of a pseudonym (for [`IndicatorBuilder::person_at`]), if it
    /// is a participant's.
    pub fn index_of(&self, pid: &str) -> Option<usize> {
        self.index.get(&pid.parse::<Pseudonym>().ok()?).copied()
    }

    /// A builder with the same participants and settings and nothing added yet, to add
    /// other persons on another thread and [`IndicatorBuilder::merge`] back.
    #[must_use]
    pub fn fresh(&self) -> IndicatorBuilder<'a> {
        IndicatorBuilder::new(self.tables, self.params)
    }

    /// Take over what `other` (from [`IndicatorBuilder::fresh`]) computed: its persons'
    /// values, exposure and stays, and its sums. A person given to both is refused.
    pub fn merge(&mut self, other: IndicatorBuilder<'a>) -> Result<(), NotGrouped> {
        let cells = self.params.windows.len();
        let per_person = cells * self.params.indicators.len();
        for (i, stays) in other.stays.into_iter().enumerate().filter(|(i, _)| other.seen[*i]) {
            if std::mem::replace(&mut self.seen[i], true) {
                return Err(NotGrouped);
            }
            self.values[i * per_person..][..per_person]
                .copy_from_slice(&other.values[i * per_person..][..per_person]);
            self.exposure[i * cells..][..cells]
                .copy_from_slice(&other.exposure[i * cells..][..cells]);
            self.stays[i] = stays;
        }
        self.outside += other.outside;
        self.after_observation += other.after_observation;
        self.event_time.merge(other.event_time);
        Ok(())
    }

    /// The participant number of a participant's pseudonym (for
    /// [`IndicatorBuilder::person_at`]).
    pub fn number_of(&self, pid: Pseudonym) -> Option<usize> {
        self.index.get(&pid).copied()
    }

    /// [`IndicatorBuilder::person`] by participant number ([`IndicatorBuilder::index_of`]).
    pub fn person_at(&mut self, i: usize, events: &[EventRow]) -> Result<(), NotGrouped> {
        if std::mem::replace(&mut self.seen[i], true) {
            return Err(NotGrouped);
        }
        self.compute(i, events);
        Ok(())
    }

    fn compute(&mut self, i: usize, events: &[EventRow]) {
        let params = self.params;
        let participant = self.participants[i];
        let stays_of = |service: Service| {
            merge_stays(
                events
                    .iter()
                    .filter(|e| e.service == service)
                    .map(|e| Stay {
                        start: e.start_day,
                        end: e.end_day.unwrap_or(e.start_day).max(e.start_day),
                        acute: e.acute.unwrap_or(false),
                        start_minute: e.start_minute,
                        end_minute: e.end_minute,
                        episodes: 1,
                    })
                    .collect(),
                params.stay_gap_minutes,
            )
        };
        let (stays, short_stays) = (stays_of(Service::Inpatient), stays_of(Service::ShortStay));
        self.stays[i] = stays
            .iter()
            .map(|s| (Service::Inpatient, *s))
            .chain(short_stays.iter().map(|s| (Service::ShortStay, *s)))
            .collect();
        let person = PersonUse {
            participant,
            stays,
            short_stays,
            hours: events.iter().filter(|e| e.service.is_hours()).copied().collect(),
            same_day_bed_days: params.same_day_bed_days,
            gap: params.stay_gap_minutes,
            counts: self.counts.remove(&participant.pid()).unwrap_or_default(),
        };
        let last = person.last_observed();
        for e in events {
            // A decision period reaches every window it overlaps, not only where it starts.
            let end =
                if e.service.is_hours() { e.end_day.unwrap_or(e.start_day) } else { e.start_day };
            match params.windows.iter().find(|w| w.from <= end && e.start_day <= w.to) {
                None => self.outside += 1,
                Some(_) if e.start_day > last => self.after_observation += 1,
                Some(_) => {}
            }
        }
        let n_ind = params.indicators.len();
        for (w, window) in params.windows.iter().enumerate() {
            let hi = window.to.min(last);
            let exposure_days = (hi - window.from + 1).max(0);
            let cell = i * params.windows.len() + w;
            self.exposure[cell] = exposure_days;
            let starts = Starts::count(events, window.from, hi);
            for (k, &indicator) in params.indicators.iter().enumerate() {
                self.values[cell * n_ind + k] = if exposure_days > 0 {
                    person.value(indicator, window.from, hi, &starts)
                } else {
                    0.0
                };
            }
        }
        // The event-time view: the same values in 30-day bins.
        let mut bin_days = [0i32; BINS];
        let bin_starts = Starts::count_bins(events, last);
        for b in (0..BINS).filter(|&b| self.event_time.active[b]) {
            let lo = bin_from(b);
            let hi = (lo + BIN_DAYS - 1).min(last);
            bin_days[b] = (hi - lo + 1).max(0);
            let values = &mut self.bin_values[b * n_ind..][..n_ind];
            if bin_days[b] == 0 {
                values.fill(0.0);
                continue;
            }
            for (v, &indicator) in values.iter_mut().zip(&params.indicators) {
                *v = person.value(indicator, lo, hi, &bin_starts[b]);
            }
        }
        self.event_time.add(participant.arm(), &bin_days, &self.bin_values);
    }

    /// Persons without events get their exposure and zeros (and their monthly counts);
    /// then the rates, comparisons, concentration, scales, framework and focus groups.
    pub fn finish(self) -> Analysis {
        let (tables, params) = (self.tables, self.params);
        summarise(tables, params, self.finish_table())
    }

    /// [`IndicatorBuilder::finish`] up to the indicator table: persons without events get
    /// their exposure and zeros. Summarise it with [`summarise`] (on tables holding the
    /// same participants).
    pub fn finish_table(mut self) -> Indicators {
        for i in 0..self.participants.len() {
            if !self.seen[i] {
                self.compute(i, &[]);
            }
        }
        let stays = self
            .participants
            .iter()
            .zip(&self.stays)
            .flat_map(|(p, stays)| {
                stays.iter().map(|(service, s)| StayRow {
                    pid: p.pid(),
                    service: *service,
                    admission_day: s.start,
                    discharge_day: s.end,
                    acute: s.acute,
                    episodes: i32::try_from(s.episodes).unwrap_or(i32::MAX),
                })
            })
            .collect();
        let table = IndicatorTable {
            participants: self.participants.iter().map(|p| (*p).clone()).collect(),
            windows: self.params.windows.iter().map(|w| w.name.clone()).collect(),
            indicators: self.params.indicators.clone(),
            values: self.values,
            exposure: self.exposure,
        };
        Indicators {
            table: std::sync::Arc::new(table),
            events_outside_windows: self.outside,
            events_after_observation: self.after_observation,
            event_time: self.event_time,
            stays,
        }
    }
}

/// Every person's indicator values and what the events left out, before rates and
/// comparisons are made of them ([`summarise`]).
#[derive(Debug, Clone)]
pub struct Indicators {
    table: std::sync::Arc<IndicatorTable>,
    events_outside_windows: u64,
    events_after_observation: u64,
    event_time: EventTime,
    stays: Vec<StayRow>,
}

impl Indicators {
    /// The table (shared: it can be written out while [`summarise`] runs).
    pub fn table(&self) -> std::sync::Arc<IndicatorTable> {
        std::sync::Arc::clone(&self.table)
    }

    /// Take the stays out (to write them while [`summarise`] runs, which then leaves
    /// [`Analysis::stays`] empty).
    pub fn take_stays(&mut self) -> Vec<StayRow> {
        std::mem::take(&mut self.stays)
    }
}

/// Feeds batches of service events to an [`IndicatorBuilder`] one at a time, each
/// person's events read where they lie in the batch; only a person cut by the end of a
/// batch is held until the next. The batches must hold each person's events together.
pub struct IndicatorStream<'a> {
    builder: IndicatorBuilder<'a>,
    carried: Option<(String, Vec<EventRow>)>,
}

impl std::fmt::Debug for IndicatorStream<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IndicatorStream").field("builder", &self.builder).finish_non_exhaustive()
    }
}

impl<'a> IndicatorStream<'a> {
    /// Start with every participant of `tables` and no events yet.
    pub fn new(tables: &'a Deidentified, params: &'a AnalysisParams) -> Self {
        IndicatorStream { builder: IndicatorBuilder::new(tables, params), carried: None }
    }

    /// The next batch. `Err(NotGrouped)`: a person came back after others.
    pub fn push(&mut self, batch: &EventBatch) -> Result<(), NotGrouped> {
        let mut runs = batch.runs().peekable();
        while let Some((pid, rows)) = runs.next() {
            let last_in_batch = runs.peek().is_none();
            let continued = match &mut self.carried {
                Some((p, events)) if p == pid => {
                    events.extend_from_slice(rows);
                    true
                }
                _ => false,
            };
            if !continued && let Some((p, events)) = self.carried.take() {
                self.builder.person(&p, &events)?;
            }
            if last_in_batch {
                if !continued {
                    self.carried = Some((pid.to_owned(), rows.to_vec()));
                }
            } else if continued {
                if let Some((p, events)) = self.carried.take() {
                    self.builder.person(&p, &events)?;
                }
            } else {
                self.builder.person(pid, rows)?;
            }
        }
        Ok(())
    }

    /// After the last batch: the indicator table.
    pub fn finish(mut self) -> Result<Indicators, NotGrouped> {
        if let Some((p, events)) = self.carried.take() {
            self.builder.person(&p, &events)?;
        }
        Ok(self.builder.finish_table())
    }
}

/// Compute every indicator for every person and window, and the pooled rates, from the
/// service events held in `tables`.
pub fn analyze(tables: &Deidentified, params: &AnalysisParams) -> Analysis {
    let mut by_person: BTreeMap<Pseudonym, Vec<EventRow>> = BTreeMap::new();
    for e in tables.service_events() {
        by_person.entry(e.pid()).or_default().push(EventRow::from(e));
    }
    let mut builder = IndicatorBuilder::new(tables, params);
    for (pid, events) in by_person {
        // Grouped by the map: each pseudonym comes once.
        match builder.index.get(&pid) {
            Some(&i) => {
                let _ = builder.person_at(i, &events);
            }
            None => builder.outside += events.len() as u64,
        }
    }
    builder.finish()
}

/// [`analyze`] with the service events streamed in batches, one person in memory at a
/// time. The batches must hold each person's events together (as deid writes a sorted
/// extract); `Ok(Err(NotGrouped))` says they do not — then use [`analyze_grouped`].
pub fn analyze_stream<E>(
    tables: &Deidentified,
    params: &AnalysisParams,
    batches: impl IntoIterator<Item = Result<EventBatch, E>>,
) -> Result<Result<Analysis, NotGrouped>, E> {
    let mut stream = IndicatorStream::new(tables, params);
    for batch in batches {
        if let Err(e) = stream.push(&batch?) {
            return Ok(Err(e));
        }
    }
    Ok(stream.finish().map(|indicators| summarise(tables, params, indicators)))
}

/// [`analyze`] with the service events in batches in any order: they are grouped by
/// person in memory first (memory grows with the events; [`analyze_stream`] does not).
pub fn analyze_grouped<E>(
    tables: &Deidentified,
    params: &AnalysisParams,
    batches: impl IntoIterator<Item = Result<EventBatch, E>>,
) -> Result<Analysis, E> {
    let mut by_person: BTreeMap<String, Vec<EventRow>> = BTreeMap::new();
    for batch in batches {
        let batch = batch?;
        for (pid, rows) in batch.runs() {
            by_person.entry(pid.to_owned()).or_default().extend_from_slice(rows);
        }
    }
    let mut builder = IndicatorBuilder::new(tables, params);
    for (pid, events) in &by_person {
        let _ = builder.person(pid, events);
    }
    Ok(builder.finish())
}

/// What one indicator contributes to the results.
struct IndicatorResults {
    rates: Vec<RateRow>,
    municipality_rates: Vec<folge_schema::tables::MunicipalityRateRow>,
    overall: Vec<ComparisonRow>,
    by_subset: Vec<Vec<ComparisonRow>>,
    older_rows: Vec<ComparisonRow>,
    older_rates: Vec<folge_schema::tables::SubgroupRateRow>,
    /// The pre-trend check, when pilot and comparison are compared.
    pretrend: Option<ComparisonRow>,
    concentration:
        (Vec<folge_schema::tables::UtilisationRow>, Vec<folge_schema::tables::LorenzRow>),
}

/// `work(0..n)` shared over the machine's cores, results in index order (so the output
/// does not depend on which thread did what).
fn in_parallel<T: Send>(n: usize, work: impl Fn(usize) -> T + Sync) -> Vec<T> {
    let threads = std::thread::available_parallelism().map_or(1, std::num::NonZero::get).min(n);
    if threads <= 1 {
        return (0..n).map(work).collect();
    }
    let next = std::sync::atomic::AtomicUsize::new(0);
    let mut done: Vec<(usize, T)> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                scope.spawn(|| {
                    let mut mine = Vec::new();
                    loop {
                        let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        if i >= n {
                            break mine;
                        }
                        mine.push((i, work(i)));
                    }
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|w| w.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
            .collect()
    });
    done.sort_by_key(|(i, _)| *i);
    done.into_iter().map(|(_, t)| t).collect()
}

/// Rates, comparisons and concentration from the indicator table, one indicator at a time
/// (its person-level rows are the only ones in memory), in the order the whole-table
/// functions give; and, on a thread beside them, scales, framework and focus groups from
/// `tables`, which must hold the participants the indicators were built from.
pub fn summarise(
    tables: &Deidentified,
    params: &AnalysisParams,
    indicators: Indicators,
) -> Analysis {
    let Indicators {
        table,
        events_outside_windows: outside,
        events_after_observation: after_observation,
        event_time,
        stays,
    } = indicators;
    let subsets = subsets(&table.participants);
    // Covariates and weights for the adjusted pilot-vs-comparison model, made once.
    let (adjusted, balance) = match &params.confounders {
        Some(spec) => {
            let (adjusted, balance) =
                crate::adjustment::prepare(spec, &table.participants, &table.before_rates());
            (Some(adjusted), balance)
        }
        None => (None, Vec::new()),
    };
    let settings = Settings {
        comparisons: &params.comparisons,
        model: params.count_model,
        variance: params.variance,
        adjusted: adjusted.as_ref(),
        min_n: params.min_n,
    };
    // The national 30-day readmission indicator covers persons 67 and older.
    let older = aged_67_or_more(tables);
    // Each indicator on its own: its person-level rows, rates, comparisons overall and in
    // every subset, and concentration. Indicators are independent, so they are shared out
    // over the cores and put back in order.
    let per_indicator = |i: usize| {
        let indicator = params.indicators[i];
        let rows = table.rows_of(i);
        let id = [indicator];
        let rates = pooled_rates(&rows, params);
        let overall = crate::comparisons::compare_views(&rows, &id, settings);
        let by_subset: Vec<Vec<ComparisonRow>> = (0..subsets.len())
            .map(|s| crate::comparisons::compare_subsets(&rows, &id, &subsets[s..=s], settings))
            .collect();
        let (older_rows, older_rates) =
            if indicator == Indicator::Readmissions30d && !older.is_empty() {
                let subset = crate::comparisons::Subset {
                    scope: "age",
                    value: "67+".into(),
                    includes: Box::new(|r: &PersonValue<'_>| older.contains(&r.pid)),
                };
                let mine: Vec<PersonValue<'_>> =
                    rows.iter().filter(|r| older.contains(&r.pid)).copied().collect();
                let rates = pooled_rates(&mine, params)
                    .into_iter()
                    .map(|r| folge_schema::tables::SubgroupRateRow {
                        scope: subset.scope.to_owned(),
                        scope_value: subset.value.clone(),
                        indicator: r.indicator,
                        arm: r.arm,
                        period: r.period,
                        n: r.n,
                        value_total: r.value_total,
                        person_years: r.person_years,
                        rate_per_py: r.rate_per_py,
                        ci_low: r.ci_low,
                        ci_high: r.ci_high,
                    })
                    .collect();
                (crate::comparisons::compare_subsets(&rows, &id, &[subset], settings), rates)
            } else {
                (Vec::new(), Vec::new())
            };
        let before = params.windows.iter().position(|w| w.name == "before");
        let concentration = before.map_or_else(Default::default, |w| {
            crate::utilisation::utilisation_of(&rows, (w, "before"))
        });
        let municipality_rates = municipality_rates(&rows, params);
        let pretrend = params
            .comparisons
            .contains(&Comparison::PilotVsComparison)
            .then(|| event_time.pretrend_of(i, indicator, params.variance));
        IndicatorResults {
            rates,
            municipality_rates,
            overall,
            by_subset,
            older_rows,
            older_rates,
            pretrend,
            concentration,
        }
    };
    // What does not depend on the indicators is worked out on a thread of its own
    // meanwhile, so the cores are not left to one thread once the indicators are done.
    let (results, (mut scales, framework, focus_groups, survival, event_time_rows)) =
        std::thread::scope(|scope| {
            let rest = scope.spawn(|| {
                let scales =
                    params.scales.as_ref().map(|p| crate::scales(tables, p)).unwrap_or_default();
                (
                    scales,
                    crate::framework(tables),
                    crate::focus_groups(tables.codings()),
                    survival(&table.participants),
                    event_time.rows(&params.indicators),
                )
            });
            let results = in_parallel(params.indicators.len(), per_indicator);
            (results, rest.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
        });
    let mut rates = Vec::new();
    let mut by_municipality = Vec::new();
    let mut comparisons = Vec::new();
    let mut by_subset: Vec<Vec<ComparisonRow>> = vec![Vec::new(); subsets.len()];
    let mut older_rows = Vec::new();
    let mut subgroup_rates = Vec::new();
    let mut pretrends = Vec::new();
    let mut concentration = BTreeMap::new();
    for (indicator, r) in params.indicators.iter().zip(results) {
        rates.extend(r.rates);
        by_municipality.extend(r.municipality_rates);
        comparisons.extend(r.overall);
        for (out, rows) in by_subset.iter_mut().zip(r.by_subset) {
            out.extend(rows);
        }
        older_rows.extend(r.older_rows);
        subgroup_rates.extend(r.older_rates);
        pretrends.extend(r.pretrend);
        concentration.insert(indicator.id(), r.concentration);
    }
    comparisons.append(&mut pretrends);
    comparisons.extend(by_subset.into_iter().flatten());
    comparisons.append(&mut older_rows);
    let (mut utilisation, mut lorenz) = (Vec::new(), Vec::new());
    for (_, (mut u, mut l)) in concentration {
        utilisation.append(&mut u);
        lorenz.append(&mut l);
    }
    comparisons.append(&mut scales.comparisons);
    crate::comparisons::adjust(&mut comparisons, params.adjustment);
    Analysis {
        indicators: table,
        rates,
        municipality_rates: by_municipality,
        comparisons,
        subgroup_rates,
        events_outside_windows: outside,
        events_after_observation: after_observation,
        focus_groups,
        scales,
        framework,
        utilisation,
        lorenz,
        event_time: event_time_rows,
        survival,
        balance,
        stays,
    }
}

/// Kaplan–Meier survival from inclusion by arm (log-log limits): death is the event;
/// moving away, withdrawal and the end of data censor. A person whose follow-up ends before inclusion
/// (data ending before it) adds nothing.
fn survival(participants: &[DeidParticipant]) -> Vec<SurvivalRow> {
    let mut out = Vec::new();
    for arm in [folge_schema::Arm::Pilot, folge_schema::Arm::Comparison] {
        let (mut time, mut event) = (Vec::new(), Vec::new());
        for p in participants.iter().filter(|p| p.arm() == arm) {
            let end = p.exit_day().map_or(p.data_end_day(), |exit| exit.min(p.data_end_day()));
            if end < 0 {
                continue;
            }
            time.push(f64::from(end));
            event.push(
                p.exit_reason() == Some(ExitReason::Death)
                    && p.exit_day().is_some_and(|d| d <= p.data_end_day()),
            );
        }
        let Ok(steps) = folge_stats::kaplan_meier_with(
            &time,
            &event,
            crate::comparisons::LEVEL,
            folge_stats::KmInterval::LogLog,
        ) else {
            continue;
        };
        out.extend(steps.into_iter().map(|s| SurvivalRow {
            arm,
            day: s.time as i32,
            n_risk: s.n_risk as i64,
            n_event: s.n_event as i64,
            n_censored: s.n_censored as i64,
            survival: s.survival,
            ci_low: s.ci_low.is_finite().then_some(s.ci_low),
            ci_high: s.ci_high.is_finite().then_some(s.ci_high),
        }));
    }
    out
}

/// Every municipality and target group of the participants, as subsets.
fn subsets(participants: &[DeidParticipant]) -> Vec<crate::comparisons::Subset<'static>> {
    let municipalities: std::collections::BTreeSet<String> =
        participants.iter().map(|r| r.municipality().to_owned()).collect();
    let groups: std::collections::BTreeSet<String> =
        participants.iter().filter_map(|r| r.target_group().map(str::to_owned)).collect();
    let mut out: Vec<crate::comparisons::Subset<'static>> = Vec::new();
    for m in municipalities {
        let value = m.clone();
        out.push(crate::comparisons::Subset {
            scope: "municipality",
            value: m,
            includes: Box::new(move |r: &PersonValue<'_>| r.municipality == value),
        });
    }
    for g in groups {
        let value = g.clone();
        out.push(crate::comparisons::Subset {
            scope: "target_group",
            value: g,
            includes: Box::new(move |r: &PersonValue<'_>| r.target_group == Some(value.as_str())),
        });
    }
    out
}

/// Pids whose age band starts at 67 or above (`67-79`, `80+`). Empty when no band starts
/// at 67, since the subgroup could then not be formed exactly.
fn aged_67_or_more(tables: &Deidentified) -> std::collections::BTreeSet<Pseudonym> {
    let lower = |band: &str| -> Option<u32> {
        band.split(['-', '+']).next().and_then(|n| n.trim().parse().ok())
    };
    let bands: Vec<Option<u32>> =
        tables.participants().iter().map(|p| p.age_band().and_then(lower)).collect();
    if !bands.contains(&Some(67)) {
        return std::collections::BTreeSet::new();
    }
    tables
        .participants()
        .iter()
        .zip(bands)
        .filter(|(_, b)| b.is_some_and(|b| b >= 67))
        .map(|(p, _)| p.pid())
        .collect()
}

/// Persons with exposure, value total and exposure days, summed over person rows.
#[derive(Default)]
struct Pool {
    persons: i64,
    value: f64,
    exposure_days: i64,
    /// Sums over persons for the clustered interval of the rate.
    moments: folge_stats::BinMoments,
    /// The jackknife over persons, summed in a second pass once the totals are known.
    jackknife: Option<folge_stats::RateJackknife>,
}

impl Pool {
    fn person_years(&self) -> f64 {
        self.exposure_days as f64 / DAYS_PER_YEAR
    }

    fn rate(&self) -> Option<f64> {
        (self.exposure_days > 0).then(|| self.value / self.person_years())
    }

    /// The rate's interval: intercept-only Poisson GLM with offset, SE clustered by person
    /// (one row per person in a window) by the jackknife, or CR1 where the pipeline asks
    /// for it or the jackknife is undefined (one person holds every event).
    fn interval(&self) -> Option<(f64, f64)> {
        self.jackknife
            .and_then(|j| j.interval(crate::comparisons::LEVEL))
            .or_else(|| self.moments.rate_interval(crate::comparisons::LEVEL))
    }
}

/// Sum person rows into pools keyed by `key(row, indicator position, window position)`.
fn pool_by<'a, K: Ord>(
    rows: &'a [PersonValue<'a>],
    params: &AnalysisParams,
    key: impl Fn(&'a PersonValue<'a>, usize, usize) -> K,
) -> BTreeMap<K, Pool> {
    let mut pools: BTreeMap<K, Pool> = BTreeMap::new();
    let mut keyed = Vec::with_capacity(rows.len());
    for row in rows {
        // The indicator by its enum among a dozen, the window by its position.
        let Some(i) = params.indicators.iter().position(|x| *x == row.indicator) else {
            continue;
        };
        let w = row.window;
        keyed.push((row, i, w));
        let pool = pools.entry(key(row, i, w)).or_default();
        if row.exposure_days > 0 {
            pool.persons += 1;
        }
        pool.value += row.value;
        pool.exposure_days += i64::from(row.exposure_days);
        pool.moments.add(row.value, f64::from(row.exposure_days) / DAYS_PER_YEAR);
    }
    if params.variance == crate::ClusterVariance::Jackknife {
        for pool in pools.values_mut() {
            pool.jackknife = Some(folge_stats::RateJackknife::new(pool.value, pool.person_years()));
        }
        for (row, i, w) in keyed {
            if let Some(j) = pools.get_mut(&key(row, i, w)).and_then(|p| p.jackknife.as_mut()) {
                j.add(row.value, f64::from(row.exposure_days) / DAYS_PER_YEAR);
            }
        }
    }
    pools
}

/// Sum values and exposure per indicator × municipality × arm × window.
fn municipality_rates(
    rows: &[PersonValue<'_>],
    params: &AnalysisParams,
) -> Vec<folge_schema::tables::MunicipalityRateRow> {
    pool_by(rows, params, |r, i, w| (i, r.municipality, r.arm, w))
        .into_iter()
        .map(|((i, municipality, arm, w), pool)| folge_schema::tables::MunicipalityRateRow {
            indicator: params.indicators[i].id().to_owned(),
            municipality: municipality.to_owned(),
            arm,
            period: params.windows[w].name.clone(),
            n: pool.persons,
            value_total: pool.value,
            person_years: pool.person_years(),
            rate_per_py: pool.rate(),
            ci_low: pool.interval().map(|c| c.0),
            ci_high: pool.interval().map(|c| c.1),
        })
        .collect()
}

/// Sum values and exposure over persons per indicator × arm × window.
fn pooled_rates(rows: &[PersonValue<'_>], params: &AnalysisParams) -> Vec<RateRow> {
    pool_by(rows, params, |r, i, w| (i, r.arm, w))
        .into_iter()
        .map(|((i, arm, w), pool)| RateRow {
            indicator: params.indicators[i].id().to_owned(),
            arm,
            period: params.windows[w].name.clone(),
            n: pool.persons,
            value_total: pool.value,
            person_years: pool.person_years(),
            rate_per_py: pool.rate(),
            ci_low: pool.interval().map(|c| c.0),
            ci_high: pool.interval().map(|c| c.1),
        })
        .collect()
}

#[cfg(test)]
mod tests;

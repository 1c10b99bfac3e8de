//! Service-use indicators per person × window, and their pooled rates by arm × window.

use std::collections::BTreeMap;

use folge_deid::Deidentified;
use folge_schema::tables::{
    ComparisonRow, DeidParticipant, DeidServiceCount, DeidServiceEvent, IndicatorRow, RateRow,
};
use folge_schema::{Arm, ExitReason, Service};

use crate::comparisons::{Comparison, compare};
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
    /// Bed-days of a same-day inpatient stay: 0 as SSB and NPR count liggedøgn (the
    /// default), or 0.5 as SAMDATA does.
    pub same_day_bed_days: f64,
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
            same_day_bed_days: 0.0,
        }
    }
}

/// The analyze stage's results.
#[derive(Debug, Clone)]
pub struct Analysis {
    /// One row per person × window × indicator.
    pub indicators: Vec<IndicatorRow>,
    /// One row per indicator × arm × window.
    pub rates: Vec<RateRow>,
    /// One row per indicator × comparison scope.
    pub comparisons: Vec<ComparisonRow>,
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
}

/// One person's events, prepared once for every window.
struct PersonUse<'a> {
    participant: &'a DeidParticipant,
    events: Vec<&'a DeidServiceEvent>,
    stays: Vec<Stay>,
    short_stays: Vec<Stay>,
    /// Bed-days a same-day inpatient stay counts (0, or SAMDATA's 0.5).
    same_day_bed_days: f64,
    /// Months of pre-aggregated use.
    counts: Vec<&'a DeidServiceCount>,
}

impl PersonUse<'_> {
    /// Last observed day: the exit day is observed; data end cuts too.
    fn last_observed(&self) -> i32 {
        let p = self.participant;
        p.exit_day.map_or(p.data_end_day, |exit| exit.min(p.data_end_day))
    }

    /// The indicator's value in days `lo..=hi`: from events and from monthly counts.
    fn value(&self, indicator: Indicator, lo: i32, hi: i32) -> f64 {
        self.events_value(indicator, lo, hi) + self.monthly_value(indicator, lo, hi)
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
                .filter(|c| services.contains(&c.service))
                .map(|c| {
                    let shared = (c.end_day.min(hi) - c.start_day.max(lo) + 1).max(0);
                    let month = (c.end_day - c.start_day + 1).max(1);
                    field(c).unwrap_or(0.0) * f64::from(shared) / f64::from(month)
                })
                .sum::<f64>()
        };
        let count = |c: &DeidServiceCount| c.count;
        match indicator {
            Indicator::Admissions => amount(&[S::Inpatient], count),
            Indicator::BedDays => amount(&[S::Inpatient], |c| c.days),
            Indicator::OutpatientVisits => amount(&[S::Outpatient], count),
            Indicator::DayTreatments => amount(&[S::DayTreatment], count),
            Indicator::EmergencyVisits => amount(&[S::HospitalEmergency, S::OutOfHours], count),
            Indicator::GpContacts => amount(&[S::Gp], count),
            Indicator::HomeCareHours => amount(&[S::HomeNursing, S::HomeHelp], |c| c.hours),
            Indicator::ShortStayDays => amount(&[S::ShortStay], |c| c.days),
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

    fn events_value(&self, indicator: Indicator, lo: i32, hi: i32) -> f64 {
        let starts_in = |day: i32| lo <= day && day <= hi;
        let count = |services: &[Service]| {
            self.events
                .iter()
                .filter(|e| services.contains(&e.service) && starts_in(e.start_day))
                .count() as f64
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
                    w[1].acute
                        && starts_in(w[1].start)
                        && (1..=30).contains(&(w[1].start - w[0].end))
                })
                .count() as f64,
            Indicator::OutpatientVisits => count(&[Service::Outpatient]),
            Indicator::DayTreatments => count(&[Service::DayTreatment]),
            Indicator::EmergencyVisits => count(&[Service::HospitalEmergency, Service::OutOfHours]),
            Indicator::GpContacts => count(&[Service::Gp]),
            Indicator::HomeCareHours => self
                .events
                .iter()
                .filter(|e| e.service.is_hours())
                .map(|e| hours_in(e, lo, hi))
                .sum(),
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
                    + self
                        .events
                        .iter()
                        .filter(|e| {
                            e.service.is_hours() && e.end_day.is_none() && starts_in(e.start_day)
                        })
                        .count() as f64
            }
            Indicator::Mortality => {
                let p = self.participant;
                f64::from(u8::from(
                    p.exit_reason == Some(ExitReason::Death) && p.exit_day.is_some_and(starts_in),
                ))
            }
        }
    }
}

/// Hours of a home-service event inside days `lo..=hi`. A single contact (no end day)
/// counts where it starts; a decision period (start and end day, both inclusive, as KPR
/// delivers them) holds its hours evenly over its days, so a window gets hours × the
/// days it shares / the period's days — hours per week × shared days / 7.
fn hours_in(e: &DeidServiceEvent, lo: i32, hi: i32) -> f64 {
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

/// Compute every indicator for every person and window, and the pooled rates.
pub fn analyze(tables: &Deidentified, params: &AnalysisParams) -> Analysis {
    let mut by_person: BTreeMap<&str, Vec<&DeidServiceEvent>> = BTreeMap::new();
    for e in tables.service_events() {
        by_person.entry(e.pid.as_str()).or_default().push(e);
    }
    let mut counts_by_person: BTreeMap<&str, Vec<&DeidServiceCount>> = BTreeMap::new();
    for c in tables.service_counts() {
        counts_by_person.entry(c.pid.as_str()).or_default().push(c);
    }
    let mut participants: Vec<&DeidParticipant> = tables.participants().iter().collect();
    participants.sort_by(|a, b| a.pid.cmp(&b.pid));

    let mut rows = Vec::new();
    let mut outside = 0u64;
    let mut after_observation = 0u64;
    for participant in participants {
        let events = by_person.remove(participant.pid.as_str()).unwrap_or_default();
        let stays_of = |service: Service| {
            merge_stays(
                events
                    .iter()
                    .filter(|e| e.service == service)
                    .map(|e| Stay {
                        start: e.start_day,
                        end: e.end_day.unwrap_or(e.start_day).max(e.start_day),
                        acute: e.acute.unwrap_or(false),
                    })
                    .collect(),
            )
        };
        let person = PersonUse {
            participant,
            stays: stays_of(Service::Inpatient),
            short_stays: stays_of(Service::ShortStay),
            events,
            same_day_bed_days: params.same_day_bed_days,
            counts: counts_by_person.remove(participant.pid.as_str()).unwrap_or_default(),
        };
        let last = person.last_observed();
        for e in &person.events {
            // A decision period reaches every window it overlaps, not only where it starts.
            let end =
                if e.service.is_hours() { e.end_day.unwrap_or(e.start_day) } else { e.start_day };
            match params.windows.iter().find(|w| w.from <= end && e.start_day <= w.to) {
                None => outside += 1,
                Some(_) if e.start_day > last => after_observation += 1,
                Some(_) => {}
            }
        }
        for window in &params.windows {
            let hi = window.to.min(last);
            let exposure_days = (hi - window.from + 1).max(0);
            for &indicator in &params.indicators {
                let value =
                    if exposure_days > 0 { person.value(indicator, window.from, hi) } else { 0.0 };
                rows.push(IndicatorRow {
                    pid: participant.pid.clone(),
                    municipality: participant.municipality.clone(),
                    arm: participant.arm,
                    target_group: participant.target_group.clone(),
                    period: window.name.clone(),
                    indicator: indicator.id().to_owned(),
                    value,
                    exposure_days,
                    rate_per_py: (exposure_days > 0)
                        .then(|| value / (f64::from(exposure_days) / DAYS_PER_YEAR)),
                });
            }
        }
    }
    // Events of pseudonyms not in participants cannot occur (deid links every event to a
    // participant); count any that remain as outside every window rather than drop them.
    outside += by_person.values().map(|v| v.len() as u64).sum::<u64>();
    let rates = pooled_rates(&rows, params);
    let ids: Vec<&str> = params.indicators.iter().map(|i| i.id()).collect();
    let mut comparisons = compare(&rates, &rows, &ids, &params.comparisons);
    comparisons.extend(crate::comparisons::compare_subsets(
        &rows,
        &ids,
        &params.comparisons,
        &subsets(&rows),
        params.min_n,
    ));
    // The national 30-day readmission indicator covers persons 67 and older.
    let older = aged_67_or_more(tables);
    if ids.contains(&Indicator::Readmissions30d.id()) && !older.is_empty() {
        let subset = crate::comparisons::Subset {
            scope: "age",
            value: "67+".into(),
            includes: Box::new(|r: &IndicatorRow| older.contains(r.pid.as_str())),
        };
        comparisons.extend(crate::comparisons::compare_subsets(
            &rows,
            &[Indicator::Readmissions30d.id()],
            &params.comparisons,
            &[subset],
            params.min_n,
        ));
    }
    let (utilisation, lorenz) = crate::utilisation(&rows, "before");
    let mut scales = params.scales.as_ref().map(|p| crate::scales(tables, p)).unwrap_or_default();
    comparisons.append(&mut scales.comparisons);
    crate::comparisons::adjust(&mut comparisons, params.adjustment);
    Analysis {
        indicators: rows,
        rates,
        comparisons,
        events_outside_windows: outside,
        events_after_observation: after_observation,
        focus_groups: crate::focus_groups(tables.codings()),
        scales,
        framework: crate::framework(tables),
        utilisation,
        lorenz,
    }
}

/// Every municipality and target group of the person-level rows, as subsets.
fn subsets(rows: &[IndicatorRow]) -> Vec<crate::comparisons::Subset<'static>> {
    let municipalities: std::collections::BTreeSet<String> =
        rows.iter().map(|r| r.municipality.clone()).collect();
    let groups: std::collections::BTreeSet<String> =
        rows.iter().filter_map(|r| r.target_group.clone()).collect();
    let mut out: Vec<crate::comparisons::Subset<'static>> = Vec::new();
    for m in municipalities {
        let value = m.clone();
        out.push(crate::comparisons::Subset {
            scope: "municipality",
            value: m,
            includes: Box::new(move |r: &IndicatorRow| r.municipality == value),
        });
    }
    for g in groups {
        let value = g.clone();
        out.push(crate::comparisons::Subset {
            scope: "target_group",
            value: g,
            includes: Box::new(move |r: &IndicatorRow| r.target_group.as_deref() == Some(&value)),
        });
    }
    out
}

/// Pids whose age band starts at 67 or above (`67-79`, `80+`). Empty when no band starts
/// at 67, since the subgroup could then not be formed exactly.
fn aged_67_or_more(tables: &Deidentified) -> std::collections::BTreeSet<&str> {
    let lower = |band: &str| -> Option<u32> {
        band.split(['-', '+']).next().and_then(|n| n.trim().parse().ok())
    };
    let bands: Vec<Option<u32>> =
        tables.participants().iter().map(|p| p.age_band.as_deref().and_then(lower)).collect();
    if !bands.contains(&Some(67)) {
        return std::collections::BTreeSet::new();
    }
    tables
        .participants()
        .iter()
        .zip(bands)
        .filter(|(_, b)| b.is_some_and(|b| b >= 67))
        .map(|(p, _)| p.pid.as_str())
        .collect()
}

/// Sum values and exposure over persons per indicator × arm × window.
fn pooled_rates(rows: &[IndicatorRow], params: &AnalysisParams) -> Vec<RateRow> {
    let mut sums: BTreeMap<(usize, Arm, usize), (i64, f64, i64)> = BTreeMap::new();
    for row in rows {
        let Some(i) = params.indicators.iter().position(|x| x.id() == row.indicator) else {
            continue;
        };
        let Some(w) = params.windows.iter().position(|x| x.name == row.period) else {
            continue;
        };
        let entry = sums.entry((i, row.arm, w)).or_default();
        if row.exposure_days > 0 {
            entry.0 += 1;
        }
        entry.1 += row.value;
        entry.2 += i64::from(row.exposure_days);
    }
    sums.into_iter()
        .map(|((i, arm, w), (n, value_total, exposure))| {
            let person_years = exposure as f64 / DAYS_PER_YEAR;
            RateRow {
                indicator: params.indicators[i].id().to_owned(),
                arm,
                period: params.windows[w].name.clone(),
                n,
                value_total,
                person_years,
                rate_per_py: (exposure > 0).then(|| value_total / person_years),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests;

//! Indicator tests on hand-built de-identified tables, each value worked out by hand.

use super::*;
use chrono::NaiveDate;
use folge_deid::{DeidParams, Identifiable, Key, deidentify};
use folge_schema::Arm;
use folge_schema::national_id::build;
use folge_schema::tables::{Participant, ServiceEvent};

fn date(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

fn day(n: i64) -> NaiveDate {
    date("2020-06-01") + chrono::Duration::days(n)
}

fn event(id: &str, service: Service, start: i64, end: Option<i64>, acute: bool) -> ServiceEvent {
    ServiceEvent {
        person_id: id.to_owned(),
        service,
        start_date: day(start),
        end_date: end.map(day),
        quantity: None,
        acute: Some(acute),
        start_time: None,
        end_time: None,
    }
}

/// One pilot person included on 2020-06-01 (day 0), dying on day `exit`.
fn tables(exit: Option<i64>, events: impl Fn(&str) -> Vec<ServiceEvent>) -> Deidentified {
    let id = (0..500).find_map(|i| build(date("1940-01-01"), i, 0, 80)).unwrap();
    let input = Identifiable {
        participants: vec![Participant {
            person_id: id.clone(),
            name: None,
            sex: None,
            birth_date: None,
            municipality: "4624".into(),
            site: None,
            arm: Arm::Pilot,
            target_group: Some("eldre".into()),
            inclusion_date: day(0),
            exit_date: exit.map(day),
            exit_reason: exit.map(|_| ExitReason::Death),
        }],
        service_events: events(&id),
        ..Identifiable::default()
    };
    let params = DeidParams::new(day(500));
    deidentify(&input, &params, &Key::demo()).unwrap()
}

#[track_caller]
fn check(analysis: &Analysis, period: &str, indicator: Indicator, value: f64, exposure: i32) {
    let row = analysis
        .indicators
        .to_rows()
        .into_iter()
        .find(|r| r.period == period && r.indicator == indicator.id())
        .unwrap();
    assert_eq!((row.value, row.exposure_days), (value, exposure), "{period} {}", indicator.id());
}

/// An inpatient episode with admission and discharge times (hours after midnight).
fn timed(id: &str, start: (i64, i32), end: (i64, i32), acute: bool) -> ServiceEvent {
    ServiceEvent {
        start_time: Some(start.1 * 60),
        end_time: Some(end.1 * 60),
        ..event(id, Service::Inpatient, start.0, Some(end.0), acute)
    }
}

#[test]
fn with_times_eight_hours_separate_a_transfer_from_a_readmission() {
    let t = tables(None, |id| {
        vec![
            // Discharged day 10 at 08:00, acute again at 17:00 the same day: 9 hours, a
            // new stay and a readmission (by days alone a transfer: one stay).
            timed(id, (5, 9), (10, 8), false),
            timed(id, (10, 17), (12, 11), true),
            // Discharged day 20 at 22:00, admitted day 21 at 04:00: 6 hours, a transfer
            // (elective, so not a readmission either way).
            timed(id, (18, 10), (20, 22), false),
            timed(id, (21, 4), (23, 9), false),
            // An episode without times: days decide (day 24 is 1 day after day 23).
            event(id, Service::Inpatient, 24, Some(25), true),
        ]
    });
    let a = analyze(&t, &AnalysisParams::before_after(365, 365));
    check(&a, "after", Indicator::Admissions, 4.0, 365);
    // Day 10 (9 h after) and day 24 (1 day after the merged stay's day 23 discharge; no
    // time on day 24, so by days).
    check(&a, "after", Indicator::Readmissions30d, 2.0, 365);
    // Nights: 5–10 (5), 10–12 (2), 18–23 merged (5), 24–25 (1).
    check(&a, "after", Indicator::BedDays, 13.0, 365);
    // A longer gap setting merges the 9-hour one too.
    let params =
        AnalysisParams { stay_gap_minutes: 10 * 60, ..AnalysisParams::before_after(365, 365) };
    let a = analyze(&t, &params);
    check(&a, "after", Indicator::Admissions, 3.0, 365);
    check(&a, "after", Indicator::Readmissions30d, 1.0, 365);
}

#[test]
fn stays_split_at_inclusion_transfers_merge_and_readmissions_count() {
    let t = tables(None, |id| {
        vec![
            // Crosses inclusion: nights −3, −2, −1 before; 0, 1 after; one admission, before.
            event(id, Service::Inpatient, -3, Some(2), true),
            // Transfer on day 2 continues the stay: not a second admission or readmission.
            event(id, Service::Inpatient, 2, Some(4), false),
            // Acute, 10 days after discharge (day 4): a readmission, after.
            event(id, Service::Inpatient, 14, Some(14), true),
            // Elective 20 days later: an admission, not a readmission.
            event(id, Service::Inpatient, 34, Some(36), false),
            event(id, Service::Gp, -400, None, false),
            event(id, Service::Gp, -365, None, false),
            event(id, Service::HospitalEmergency, 0, None, true),
            event(id, Service::OutOfHours, 364, None, true),
            event(id, Service::Gp, 365, None, false),
        ]
    });
    let a = analyze(&t, &AnalysisParams::before_after(365, 365));
    check(&a, "before", Indicator::Admissions, 1.0, 365);
    check(&a, "before", Indicator::AcuteAdmissions, 1.0, 365);
    check(&a, "before", Indicator::BedDays, 3.0, 365);
    // Nights 0..3 of the merged stay (to day 4), 0 for the same-day stay, 2 for the last.
    check(&a, "after", Indicator::BedDays, 6.0, 365);
    check(&a, "after", Indicator::Admissions, 2.0, 365);
    check(&a, "after", Indicator::Readmissions30d, 1.0, 365);
    check(&a, "before", Indicator::GpContacts, 1.0, 365);
    check(&a, "after", Indicator::EmergencyVisits, 2.0, 365);
    assert_eq!(a.events_outside_windows, 2);
    let rate = a.rates.iter().find(|r| r.indicator == "bed_days" && r.period == "after").unwrap();
    assert!((rate.rate_per_py.unwrap() - 6.0 / (365.0 / 365.25)).abs() < 1e-12);
    assert_eq!(rate.n, 1);
}

#[test]
fn exit_cuts_exposure_and_counts_death() {
    let t = tables(Some(99), |id| {
        vec![
            event(id, Service::Inpatient, 97, Some(99), true),
            event(id, Service::Gp, 120, None, false),
        ]
    });
    let a = analyze(&t, &AnalysisParams::before_after(365, 365));
    // Days 0..=99 observed: the exit day is in.
    check(&a, "after", Indicator::Mortality, 1.0, 100);
    check(&a, "after", Indicator::BedDays, 2.0, 100);
    check(&a, "after", Indicator::GpContacts, 0.0, 100);
    assert_eq!(a.events_after_observation, 1);
    let row = a
        .indicators
        .to_rows()
        .into_iter()
        .find(|r| r.period == "after" && r.indicator == "mortality")
        .unwrap();
    assert!((row.rate_per_py.unwrap() - 365.25 / 100.0).abs() < 1e-12);
}

#[test]
fn decision_periods_share_their_hours_over_the_windows_they_overlap() {
    // A KPR decision of 7 hours a week from day −10 to day 19 (30 days, both inclusive):
    // ingest stores 7 × 30 / 7 = 30 hours for the period; 10 of its days lie before
    // inclusion and 20 after. A single visit of 2 hours on day 5 counts where it is.
    let events = |id: &str| {
        let mut decision = event(id, Service::HomeNursing, -10, Some(19), false);
        decision.quantity = Some(30.0);
        let mut visit = event(id, Service::HomeHelp, 5, None, false);
        visit.quantity = Some(2.0);
        vec![decision, visit]
    };
    let a = analyze(&tables(None, events), &AnalysisParams::before_after(365, 365));
    check(&a, "before", Indicator::HomeCareHours, 10.0, 365);
    check(&a, "after", Indicator::HomeCareHours, 22.0, 365);
    assert_eq!(a.events_outside_windows, 0);
    // Death on day 9: days 0..=9 of the period are observed, 10 of its 30 days.
    let a = analyze(&tables(Some(9), events), &AnalysisParams::before_after(365, 365));
    check(&a, "after", Indicator::HomeCareHours, 12.0, 10);
}

#[test]
fn total_contacts_with_hospital_and_municipality() {
    let t = tables(None, |id| {
        let mut visit = event(id, Service::HomeNursing, 3, None, false);
        visit.quantity = Some(1.5);
        let mut decision = event(id, Service::HomeHelp, 0, Some(90), false);
        decision.quantity = Some(26.0);
        vec![
            // One stay after a same-day transfer, an outpatient visit, an emergency visit.
            event(id, Service::Inpatient, 10, Some(12), true),
            event(id, Service::Inpatient, 12, Some(14), false),
            event(id, Service::Outpatient, 20, None, false),
            event(id, Service::HospitalEmergency, 30, None, true),
            // GP twice, one KAD stay, one short stay, a home-nursing visit; the home-help
            // decision period is not a contact.
            event(id, Service::Gp, 5, None, false),
            event(id, Service::Gp, 6, None, false),
            event(id, Service::Kad, 40, Some(41), true),
            event(id, Service::ShortStay, 50, Some(60), false),
            visit,
            decision,
        ]
    });
    let a = analyze(&t, &AnalysisParams::before_after(365, 365));
    check(&a, "after", Indicator::HospitalContacts, 3.0, 365);
    check(&a, "after", Indicator::MunicipalContacts, 5.0, 365);
    check(&a, "before", Indicator::HospitalContacts, 0.0, 365);
}

#[test]
fn subsets_compare_within_and_small_ones_say_why() {
    // One pilot person with 2 GP contacts before and 1 after: below min_n = 5, so the
    // municipality's row has the rates and the reason, but no estimate.
    let t = tables(None, |id| {
        vec![
            event(id, Service::Gp, -100, None, false),
            event(id, Service::Gp, -50, None, false),
            event(id, Service::Gp, 10, None, false),
        ]
    });
    let a = analyze(&t, &AnalysisParams::before_after(365, 365));
    let row = a
        .comparisons
        .iter()
        .find(|c| c.measure == "gp_contacts" && c.scope == "municipality")
        .unwrap();
    assert_eq!((row.scope_value.as_deref(), row.arm, row.n), (Some("4624"), Some(Arm::Pilot), 1));
    assert!((row.before_mean.unwrap() - 2.0 / (365.0 / 365.25)).abs() < 1e-9);
    assert_eq!((row.effect_size, row.p_value), (None, None));
    assert_eq!(row.method, "no estimate: 1 persons, fewer than 5");
    // With min_n 1 the same row is tried, but one person is one cluster: no
    // person-level estimate, and the row says why.
    let params = AnalysisParams { min_n: 1, ..AnalysisParams::before_after(365, 365) };
    let a = analyze(&t, &params);
    let row = a
        .comparisons
        .iter()
        .find(|c| c.measure == "gp_contacts" && c.scope == "target_group")
        .unwrap();
    assert_eq!(row.scope_value.as_deref(), Some("eldre"));
    assert!((row.after_mean.unwrap() / row.before_mean.unwrap() - 0.5).abs() < 1e-9);
    assert_eq!((row.effect_size, row.p_value, row.ci_low), (None, None, None));
    assert!(
        row.method.starts_with("no estimate of the within-person rate ratio: ")
            && row.method.contains("needs at least 2"),
        "{}",
        row.method
    );
    // No comparison persons in this municipality: no pilot-vs-comparison row for it.
    assert!(!a.comparisons.iter().any(|c| c.scope == "municipality" && c.arm.is_none()));
}

#[test]
fn same_day_stays_count_zero_bed_days_or_samdatas_half() {
    let t = tables(None, |id| {
        vec![
            event(id, Service::Inpatient, 10, Some(10), true),
            event(id, Service::Inpatient, 40, Some(43), false),
        ]
    });
    let a = analyze(&t, &AnalysisParams::before_after(365, 365));
    check(&a, "after", Indicator::BedDays, 3.0, 365);
    check(&a, "after", Indicator::Admissions, 2.0, 365);
    let samdata =
        AnalysisParams { same_day_bed_days: 0.5, ..AnalysisParams::before_after(365, 365) };
    let a = analyze(&t, &samdata);
    check(&a, "after", Indicator::BedDays, 3.5, 365);
}

#[test]
fn extra_named_windows_get_their_own_rows() {
    let t = tables(None, |id| vec![event(id, Service::Gp, 500, None, false)]);
    let mut params = AnalysisParams::before_after(365, 365);
    params.windows.push(Window { name: "after_730".into(), from: 0, to: 729 });
    let a = analyze(&t, &params);
    check(&a, "after", Indicator::GpContacts, 0.0, 365);
    // Data end on day 500: days 0..=500 observed in the two-year window.
    check(&a, "after_730", Indicator::GpContacts, 1.0, 501);
}

#[test]
fn monthly_counts_are_shared_between_windows_by_days() {
    // Inclusion 2020-06-01 (day 0). May 2020 (days −31..−1): 4 GP contacts, all before.
    // A month straddling inclusion cannot occur with inclusion on the 1st, so take a
    // person included mid-month instead: June 2020 seen from 2020-06-11 is days −10..19,
    // 10 of its 30 days before inclusion.
    let id = (0..500).find_map(|i| build(date("1940-01-01"), i, 0, 80)).unwrap();
    let participant = |inclusion: &str| Participant {
        person_id: id.clone(),
        name: None,
        sex: None,
        birth_date: None,
        municipality: "4624".into(),
        site: None,
        arm: Arm::Pilot,
        target_group: None,
        inclusion_date: date(inclusion),
        exit_date: None,
        exit_reason: None,
    };
    let count = |month: &str, service: Service, count: Option<f64>, hours: Option<f64>| {
        folge_schema::tables::ServiceCount {
            person_id: id.clone(),
            month: month.into(),
            service,
            count,
            days: None,
            hours,
        }
    };
    let input = Identifiable {
        participants: vec![participant("2020-06-11")],
        service_counts: vec![
            count("2020-05", Service::Gp, Some(4.0), None),
            count("2020-06", Service::Gp, Some(3.0), None),
            count("2020-06", Service::HomeNursing, None, Some(30.0)),
        ],
        ..Identifiable::default()
    };
    let t = deidentify(&input, &DeidParams::new(day(500)), &Key::demo()).unwrap();
    let c = &t.service_counts()[1];
    assert_eq!((c.start_day, c.end_day), (-10, 19), "June seen from 11 June");
    let a = analyze(&t, &AnalysisParams::before_after(365, 365));
    // Before: all of May's 4 and 10/30 of June's 3; after: 20/30 of June's 3.
    let value = |period: &str, indicator: Indicator| {
        a.indicators
            .to_rows()
            .into_iter()
            .find(|r| r.period == period && r.indicator == indicator.id())
            .unwrap()
            .value
    };
    assert!((value("before", Indicator::GpContacts) - 5.0).abs() < 1e-9);
    assert!((value("after", Indicator::GpContacts) - 2.0).abs() < 1e-9);
    assert!((value("after", Indicator::HomeCareHours) - 20.0).abs() < 1e-9);
    assert!((value("after", Indicator::MunicipalContacts) - 2.0).abs() < 1e-9);
}

/// Forty persons in two arms and two municipalities with pseudo-random stays, visits and
/// home care, de-identified.
fn many() -> Deidentified {
    let mut state = 0x9e37_79b9_7f4a_7c15_u64;
    let mut next = move |n: u64| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state % n) as i64
    };
    let mut participants = Vec::new();
    let mut events = Vec::new();
    for p in 0..40 {
        let birth = date("1940-01-01") + chrono::Duration::days(p * 3);
        let id = (0..500).find_map(|i| build(birth, i, 0, 80)).unwrap();
        participants.push(Participant {
            person_id: id.clone(),
            name: None,
            sex: None,
            birth_date: Some(birth),
            municipality: if p % 3 == 0 { "4601".into() } else { "4624".into() },
            site: None,
            arm: if p % 2 == 0 { Arm::Pilot } else { Arm::Comparison },
            target_group: Some("eldre".into()),
            inclusion_date: day(next(60)),
            exit_date: (p % 7 == 0).then(|| day(200 + next(100))),
            exit_reason: (p % 7 == 0).then_some(ExitReason::Death),
        });
        for _ in 0..next(30) {
            let start = next(700) - 380;
            let service =
                [Service::Inpatient, Service::Gp, Service::Outpatient, Service::HomeNursing]
                    [next(4) as usize];
            let end = (service == Service::Inpatient).then(|| start + next(6));
            events.push(ServiceEvent {
                quantity: (service == Service::HomeNursing).then_some(1.5),
                ..event(&id, service, start, end, next(2) == 0)
            });
        }
    }
    let input = Identifiable { participants, service_events: events, ..Identifiable::default() };
    deidentify(&input, &DeidParams::new(day(500)), &Key::demo()).unwrap()
}

fn batches(events: &[folge_deid::rows::DeidServiceEvent], size: usize) -> Vec<EventBatch> {
    use folge_schema::Table;
    events
        .chunks(size)
        .map(|c| {
            EventBatch::from_batch(&folge_deid::rows::DeidServiceEvent::to_batch(c).unwrap())
                .unwrap()
        })
        .collect()
}

#[test]
fn streamed_and_grouped_analyses_equal_the_in_memory_one() {
    let t = many();
    let params = AnalysisParams::before_after(365, 365);
    let whole = analyze(&t, &params);
    assert!(t.service_events().len() > 400, "a test with events: {}", t.service_events().len());
    // Events as deid writes a sorted extract: each person's together, batches cutting
    // through persons.
    let grouped = batches(t.service_events(), 7);
    let ok = |b: Vec<EventBatch>| b.into_iter().map(Ok::<_, std::convert::Infallible>);
    let streamed = analyze_stream(&t, &params, ok(grouped)).unwrap().unwrap();
    let same = |a: &Analysis, b: &Analysis| {
        assert_eq!(a.indicators.to_rows(), b.indicators.to_rows());
        assert_eq!(format!("{:?}", a.rates), format!("{:?}", b.rates));
        for (x, y) in a.comparisons.iter().zip(&b.comparisons) {
            assert_eq!(format!("{x:?}"), format!("{y:?}"));
        }
        assert_eq!(a.comparisons.len(), b.comparisons.len());
        assert_eq!(format!("{:?}", a.event_time), format!("{:?}", b.event_time));
        assert_eq!(format!("{:?}", a.survival), format!("{:?}", b.survival));
        assert_eq!(format!("{:?}", a.utilisation), format!("{:?}", b.utilisation));
        assert_eq!(a.events_outside_windows, b.events_outside_windows);
        assert_eq!(a.events_after_observation, b.events_after_observation);
    };
    same(&whole, &streamed);
    assert_eq!(whole.indicators.len(), 40 * 2 * Indicator::ALL.len());
    // Batches built column by column hold exactly the rows.
    let rows = whole.indicators.to_rows();
    assert_eq!(
        whole.indicators.batch(7..200).unwrap(),
        <IndicatorRow as folge_schema::Table>::to_batch(&rows[7..200]).unwrap()
    );
    // Interleaved persons (two registry files one after the other) cannot be streamed;
    // grouped in memory they give the same results.
    let mut interleaved = t.service_events().to_vec();
    let n = interleaved.len();
    interleaved.rotate_left(n / 2 + 3);
    interleaved.swap(0, n - 1);
    assert_eq!(
        analyze_stream(&t, &params, ok(batches(&interleaved, 5))).unwrap().unwrap_err(),
        NotGrouped
    );
    same(&whole, &analyze_grouped(&t, &params, ok(batches(&interleaved, 5))).unwrap());
}

#[test]
fn event_time_bins_hold_each_event_and_the_exposure_around_inclusion() {
    // GP contacts on days −45 (bin −2: days −60…−31) and 10 (bin 0); a stay from day 35 to
    // 38 (bin 1: 3 bed-days); death on day 100 (bin 3: days 90…119, 11 days observed).
    let t = tables(Some(100), |id| {
        vec![
            event(id, Service::Gp, -45, None, false),
            event(id, Service::Gp, 10, None, false),
            event(id, Service::Inpatient, 35, Some(38), true),
        ]
    });
    let a = analyze(&t, &AnalysisParams::before_after(365, 365));
    let row = |indicator: Indicator, bin: i32| {
        a.event_time
            .iter()
            .find(|r| r.indicator == indicator.id() && r.arm == Arm::Pilot && r.bin == bin)
            .unwrap()
    };
    let month = 30.0 / 365.25;
    for (bin, value) in [(-12, 0.0), (-2, 1.0), (-1, 0.0), (0, 1.0), (1, 0.0)] {
        let r = row(Indicator::GpContacts, bin);
        assert_eq!((r.value_total, r.n, r.from_day), (value, 1, bin * 30), "bin {bin}");
        assert!((r.person_years - month).abs() < 1e-12);
    }
    assert!((row(Indicator::BedDays, 1).value_total - 3.0).abs() < 1e-12);
    let death = row(Indicator::Mortality, 3);
    assert!((death.value_total - 1.0).abs() < 1e-12);
    assert!((death.person_years - 11.0 / 365.25).abs() < 1e-12, "days 90…100 observed");
    let after_death = row(Indicator::GpContacts, 4);
    assert_eq!((after_death.n, after_death.person_years, after_death.rate_per_py), (0, 0.0, None));
    // One person is one cluster: rates, but no person-level interval.
    assert_eq!(row(Indicator::GpContacts, 0).ci_low, None);
    // Bins −12…11 for every indicator and both arms.
    assert_eq!(a.event_time.len(), Indicator::ALL.len() * 2 * 24);
    // The pre-trend row says why it has no estimate with one person.
    let pretrend = a
        .comparisons
        .iter()
        .find(|c| c.measure == "gp_contacts" && c.effect_size_kind == "pretrend_ratio_of_trends")
        .unwrap();
    assert!(pretrend.method.starts_with("no estimate: "), "{}", pretrend.method);
    // Kaplan–Meier: one death on day 100 of one person.
    assert_eq!(a.survival.len(), 1);
    let s = &a.survival[0];
    assert_eq!((s.day, s.n_risk, s.n_event, s.survival), (100, 1, 1, 0.0));
}

#[test]
fn a_shorter_window_leaves_the_bins_outside_it_out() {
    let t = tables(None, |_| Vec::new());
    let a = analyze(&t, &AnalysisParams::before_after(180, 90));
    let bins: Vec<i32> = a
        .event_time
        .iter()
        .filter(|r| r.indicator == "gp_contacts" && r.arm == Arm::Pilot)
        .map(|r| r.bin)
        .collect();
    assert_eq!(bins, (-6..3).collect::<Vec<_>>(), "days −180…89 hold bins −6 … 2 whole");
}

#[test]
fn the_67_and_older_get_readmission_rates_of_their_own() {
    // Two pilot persons, 75 and 30 at inclusion: readmissions after inclusion 1 and 2.
    let person = |birth: &str| {
        let id = (0..500).find_map(|i| build(date(birth), i, 0, 80)).unwrap();
        let participant = Participant {
            person_id: id.clone(),
            name: None,
            sex: None,
            birth_date: Some(date(birth)),
            municipality: "4624".into(),
            site: None,
            arm: Arm::Pilot,
            target_group: None,
            inclusion_date: day(0),
            exit_date: None,
            exit_reason: None,
        };
        (id, participant)
    };
    let (old, old_person) = person("1945-03-01");
    let (young, young_person) = person("1990-03-01");
    let mut events = vec![
        event(&old, Service::Inpatient, 2, Some(5), true),
        event(&old, Service::Inpatient, 15, Some(16), true),
    ];
    events.extend([
        event(&young, Service::Inpatient, 2, Some(5), true),
        event(&young, Service::Inpatient, 15, Some(16), true),
        event(&young, Service::Inpatient, 30, Some(31), true),
    ]);
    let input = Identifiable {
        participants: vec![old_person, young_person],
        service_events: events,
        ..Identifiable::default()
    };
    let t = deidentify(&input, &DeidParams::new(day(500)), &Key::demo()).unwrap();
    let a = analyze(&t, &AnalysisParams::before_after(365, 365));
    let readmissions = |r: &&folge_schema::tables::SubgroupRateRow| {
        r.indicator == "readmissions_30d" && r.period == "after" && r.arm == Arm::Pilot
    };
    let older = a.subgroup_rates.iter().find(readmissions).unwrap();
    assert_eq!(
        (older.scope.as_str(), older.scope_value.as_str(), older.n, older.value_total),
        ("age", "67+", 1, 1.0)
    );
    assert!((older.rate_per_py.unwrap() - 1.0 / (365.0 / 365.25)).abs() < 1e-12);
    let everyone = a
        .rates
        .iter()
        .find(|r| r.indicator == "readmissions_30d" && r.period == "after" && r.arm == Arm::Pilot)
        .unwrap();
    assert_eq!((everyone.n, everyone.value_total), (2, 3.0));
    // Only readmissions has the subgroup, as the national indicator.
    assert!(a.subgroup_rates.iter().all(|r| r.indicator == "readmissions_30d"));
}

/// Home-care hours are summed exactly: any order of a person's rows gives the same bits
/// (a running sum of 0.1 + 0.2 + 0.3 does not), and sums that are exact anyway are the
/// running sum's.
#[test]
fn hours_are_summed_alike_in_any_order() {
    let values = [0.1, 0.2, 0.3, 1e16, -1e16, 2.0 / 7.0, 3.5 * 4.0 / 7.0, 1e-3];
    let first = exact_sum(values);
    let mut order: Vec<usize> = (0..values.len()).collect();
    for round in 0..40 {
        order.rotate_left(round % 3 + 1);
        order.swap(round % values.len(), (round * 5 + 3) % values.len());
        assert_eq!(exact_sum(order.iter().map(|&i| values[i])).to_bits(), first.to_bits());
    }
    let bits = |x: f64| x.to_bits();
    assert_eq!(bits(exact_sum([0.1, 0.2, 0.3])), bits(0.6), "0.6, not 0.6000000000000001");
    let halves = [1.5, 0.25, 2.0, 0.75, 3.5];
    assert_eq!(bits(exact_sum(halves)), bits(halves.iter().sum::<f64>()));
    assert_eq!(bits(exact_sum([])), bits(0.0));
    // Zeros add nothing: the hours outside a window are left out of its sum, and the bits
    // are those of summing them in (the sum is correctly rounded).
    for (k, zeros) in [1usize, 2, 3, 7].into_iter().enumerate() {
        let mut with_zeros: Vec<f64> = values.to_vec();
        for z in 0..zeros {
            with_zeros.insert((z * 3 + k) % with_zeros.len(), 0.0);
        }
        assert_eq!(bits(exact_sum(with_zeros)), bits(first));
    }
    assert_eq!(bits(exact_sum([0.0, 0.0])), bits(exact_sum([])));
}

#[test]
fn bins_counted_in_one_pass_match_counting_each_bin() {
    // Events on every bin edge, before the first bin, after the last, and after `last`.
    let services = [Service::Gp, Service::HomeNursing, Service::Outpatient, Service::Kad];
    let mut state = 7u64;
    let mut next = || {
        state =
            state.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        (state >> 33) as i32
    };
    let events: Vec<EventRow> = (0..2_000)
        .map(|i| {
            let start = next() % 800 - 400;
            EventRow {
                service: services[i % services.len()],
                start_day: if i % 7 == 0 {
                    bin_from(i % BINS) + 29 * (i % 2) as i32
                } else {
                    start
                },
                end_day: (i % 3 == 0).then_some(start + 3),
                quantity: None,
                acute: None,
                start_minute: None,
                end_minute: None,
            }
        })
        .collect();
    for last in [-400, -5, 0, 17, 300, 359, 1_000] {
        let bins = Starts::count_bins(&events, last);
        for (b, starts) in bins.iter().enumerate() {
            let lo = bin_from(b);
            let hi = (lo + BIN_DAYS - 1).min(last);
            let each = Starts::count(&events, lo, hi);
            assert_eq!(starts.by_service, each.by_service, "bin {b}, last {last}");
            assert_eq!(starts.home_visits, each.home_visits, "bin {b}, last {last}");
        }
    }
}

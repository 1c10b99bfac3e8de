//! Service use for every person, before and after inclusion: hospital stays (some split by
//! same-day transfers, some followed by an acute readmission within 30 days), outpatient,
//! emergency, GP and out-of-hours contacts, home nursing hours per week, short stays and
//! municipal acute beds. Rates scale with the person's frailty (heavy-tailed). The pilot
//! effect is built in: after inclusion, pilot persons have fewer acute admissions, shorter
//! stays, fewer emergency visits and readmissions, more planned outpatient visits and more
//! KAD stays (substitution); comparison persons do not change.

use chrono::{Duration, NaiveDate};
use folge_schema::tables::ServiceEvent;
use folge_schema::{Arm, Service};
use rand::Rng;

use crate::people::{Person, day_between};
use crate::random::{chance, int, normal, poisson};
use crate::text::{PLAIN, csv};

/// Yearly rates at frailty 1 for one target group.
struct Rates {
    admissions: f64,
    acute_share: f64,
    outpatient: f64,
    day_treatment: f64,
    emergency: f64,
    out_of_hours: f64,
    gp: f64,
    short_stay: f64,
    kad: f64,
    /// Probability of receiving home nursing at all.
    home_nursing: f64,
}

fn rates(target_group: &str) -> Rates {
    match target_group {
        "barn" => Rates {
            admissions: 0.35,
            acute_share: 0.7,
            outpatient: 3.0,
            day_treatment: 0.5,
            emergency: 0.5,
            out_of_hours: 1.0,
            gp: 4.0,
            short_stay: 0.0,
            kad: 0.0,
            home_nursing: 0.05,
        },
        "eldre" => Rates {
            admissions: 0.9,
            acute_share: 0.85,
            outpatient: 2.0,
            day_treatment: 0.3,
            emergency: 0.6,
            out_of_hours: 1.0,
            gp: 7.0,
            short_stay: 0.5,
            kad: 0.3,
            home_nursing: 0.6,
        },
        _ => Rates {
            admissions: 0.6,
            acute_share: 0.75,
            outpatient: 5.0,
            day_treatment: 1.0,
            emergency: 0.5,
            out_of_hours: 0.8,
            gp: 8.0,
            short_stay: 0.1,
            kad: 0.15,
            home_nursing: 0.2,
        },
    }
}

/// Multipliers applied after inclusion in the pilot arm.
struct Effect {
    acute: f64,
    length_of_stay: f64,
    emergency: f64,
    outpatient: f64,
    kad: f64,
    readmission: f64,
}

const NO_EFFECT: Effect = Effect {
    acute: 1.0,
    length_of_stay: 1.0,
    emergency: 1.0,
    outpatient: 1.0,
    kad: 1.0,
    readmission: 1.0,
};
const PILOT_EFFECT: Effect = Effect {
    acute: 0.65,
    length_of_stay: 0.8,
    emergency: 0.75,
    outpatient: 1.25,
    kad: 1.3,
    readmission: 0.6,
};

/// Days before inclusion that use is generated for: the 365-day before window plus a
/// margin, so some events fall outside every window (as real extracts do).
const LOOKBACK_DAYS: i64 = 400;

/// Generate every person's events, sorted by person then date, as registry extracts for
/// research come (NPR and KPR deliveries are ordered by the person's number).
pub fn generate(rng: &mut impl Rng, persons: &[Person], data_end: NaiveDate) -> Vec<ServiceEvent> {
    let mut events = Vec::new();
    for person in persons {
        let mut rng = crate::fork_from(rng);
        let last = person.exit.map_or(data_end, |(d, _)| d.min(data_end));
        let before = (person.inclusion_date - Duration::days(LOOKBACK_DAYS), person.inclusion_date);
        let after = (person.inclusion_date, last + Duration::days(1));
        let effect = if person.arm == Arm::Pilot { &PILOT_EFFECT } else { &NO_EFFECT };
        for (window, effect) in [(before, &NO_EFFECT), (after, effect)] {
            person_window(&mut rng, person, window, effect, last, &mut events);
        }
    }
    events.sort_by(|a, b| {
        (&a.person_id, a.start_date, a.service).cmp(&(&b.person_id, b.start_date, b.service))
    });
    events
}

fn person_window(
    rng: &mut impl Rng,
    person: &Person,
    (from, to): (NaiveDate, NaiveDate),
    effect: &Effect,
    last: NaiveDate,
    events: &mut Vec<ServiceEvent>,
) {
    if to <= from {
        return;
    }
    let years = (to - from).num_days() as f64 / 365.25;
    let r = rates(person.target_group);
    let f = person.frailty;
    let contact = |start_date, service, acute| ServiceEvent {
        person_id: person.person_id.clone(),
        service,
        start_date,
        end_date: None,
        quantity: None,
        acute,
        start_time: None,
        end_time: None,
    };
    let simple = [
        (Service::Outpatient, r.outpatient * effect.outpatient, Some(false)),
        (Service::DayTreatment, r.day_treatment, Some(false)),
        (Service::HospitalEmergency, r.emergency * effect.emergency, Some(true)),
        (Service::OutOfHours, r.out_of_hours * effect.emergency, Some(true)),
        (Service::Gp, r.gp, None),
    ];
    for (service, rate, acute) in simple {
        for _ in 0..poisson(rng, rate * f.sqrt() * years) {
            let start = day_between(rng, from, to);
            events.push(contact(start, service, acute));
        }
    }
    // Hospital stays: acute and elective, some with a same-day transfer, some followed by
    // an acute readmission 1–30 days after discharge.
    let acute_n = poisson(rng, r.admissions * r.acute_share * effect.acute * f * years);
    let elective_n = poisson(rng, r.admissions * (1.0 - r.acute_share) * f * years);
    for i in 0..acute_n + elective_n {
        let acute = i < acute_n;
        let start = day_between(rng, from, to);
        let end = stay(rng, person, start, acute, effect, last, events);
        let readmit_p = (0.12 * f.sqrt() * effect.readmission).min(0.5);
        if chance(rng, readmit_p) {
            let again = end + Duration::days(int(rng, 1, 30));
            if again <= last {
                stay(rng, person, again, true, effect, last, events);
            }
        }
    }
    for (service, rate, mean_days) in
        [(Service::ShortStay, r.short_stay, 12.0), (Service::Kad, r.kad * effect.kad, 2.5)]
    {
        for _ in 0..poisson(rng, rate * f * years) {
            let start = day_between(rng, from, to);
            let days = (mean_days * (0.6 * normal(rng)).exp()).round() as i64;
            let end = (start + Duration::days(days.max(1))).min(last);
            events.push(ServiceEvent {
                end_date: Some(end),
                acute: Some(service == Service::Kad),
                ..contact(start, service, None)
            });
        }
    }
    // Home nursing: one row per week with that week's hours.
    if chance(rng, (r.home_nursing * f.sqrt()).min(0.95)) {
        let hours_per_week = ((f.sqrt() * 3.0 * (0.5 * normal(rng)).exp()) * 2.0).round() / 2.0;
        let mut week = from + Duration::days(int(rng, 0, 6));
        while week < to {
            if chance(rng, 0.93) {
                events.push(ServiceEvent {
                    quantity: Some(hours_per_week.max(0.5)),
                    ..contact(week, Service::HomeNursing, None)
                });
            }
            week += Duration::days(7);
        }
    }
}

/// One inpatient stay (maybe split into two episodes by a same-day transfer); returns the
/// discharge date.
fn stay(
    rng: &mut impl Rng,
    person: &Person,
    start: NaiveDate,
    acute: bool,
    effect: &Effect,
    last: NaiveDate,
    events: &mut Vec<ServiceEvent>,
) -> NaiveDate {
    let days = if chance(rng, 0.12) {
        0
    } else {
        let mean = if person.target_group == "eldre" { 6.0 } else { 3.5 };
        ((mean * effect.length_of_stay * (0.7 * normal(rng)).exp()).round() as i64).max(1)
    };
    let end = (start + Duration::days(days)).min(last).max(start);
    let episode = |s, e, acute| ServiceEvent {
        person_id: person.person_id.clone(),
        service: Service::Inpatient,
        start_date: s,
        end_date: Some(e),
        quantity: None,
        acute: Some(acute),
        start_time: None,
        end_time: None,
    };
    if days >= 2 && chance(rng, 0.08) {
        // Transfer between wards or hospitals on the same day: two episodes, one stay.
        let split = start + Duration::days(int(rng, 1, days - 1)).min(end - start);
        events.push(episode(start, split, acute));
        events.push(episode(split, end, false));
    } else {
        events.push(episode(start, end, acute));
    }
    end
}

/// `service_events.csv`: comma-separated, ISO dates, decimal point, acute as 1/0, and a
/// running contact number as registries deliver (episode or claim id): it is what tells
/// two GP contacts of one person on one day apart from a row exported twice.
pub fn events_csv(events: &[ServiceEvent]) -> Vec<u8> {
    let header =
        ["person_id", "service", "start_date", "end_date", "quantity", "acute", "kontakt_id"];
    let mut rows = vec![header.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>()];
    for (number, e) in events.iter().enumerate() {
        rows.push(vec![
            e.person_id.clone(),
            e.service.code().to_owned(),
            e.start_date.to_string(),
            e.end_date.map(|d| d.to_string()).unwrap_or_default(),
            e.quantity.map(|q| format!("{q:.1}")).unwrap_or_default(),
            e.acute.map(|a| if a { "1" } else { "0" }.to_owned()).unwrap_or_default(),
            format!("K{:07}", number + 1),
        ]);
    }
    csv(PLAIN, &rows)
}

/// `process_events.csv`: elements A–E for pilot persons, each later than the one before,
/// each less often documented (not everyone gets a coordinator).
pub fn process_csv(rng: &mut impl Rng, persons: &[Person], data_end: NaiveDate) -> Vec<u8> {
    let mut rows = vec![vec!["person_id".to_owned(), "element".to_owned(), "date".to_owned()]];
    for person in persons.iter().filter(|p| p.arm == Arm::Pilot) {
        let last = person.exit.map_or(data_end, |(d, _)| d.min(data_end));
        let mut date = person.inclusion_date;
        for (element, p) in [("A", 0.92), ("B", 0.85), ("C", 0.75), ("D", 0.6), ("E", 0.5)] {
            if !chance(rng, p) {
                continue;
            }
            date += Duration::days(int(rng, 3, 45));
            if date > last {
                break;
            }
            rows.push(vec![person.person_id.clone(), element.to_owned(), date.to_string()]);
        }
    }
    csv(PLAIN, &rows)
}

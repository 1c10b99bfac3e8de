//! The framework's process indicators (`framework_A` … `framework_E` in
//! `shared/domain.md`): per element, the share of included persons with it documented by
//! their last observed day (exit or end of data), and the days from inclusion to its
//! first documentation (median and quartiles), by arm, overall and per municipality.

use std::collections::{BTreeMap, BTreeSet};

use folge_deid::Deidentified;
use folge_deid::rows::DeidParticipant;
use folge_schema::tables::FrameworkRow;
use folge_schema::{Arm, Pseudonym};

fn last_observed(p: &DeidParticipant) -> i32 {
    p.exit_day.map_or(p.data_end_day, |exit| exit.min(p.data_end_day))
}

/// Process indicators for every element found in the step log.
pub fn framework(tables: &Deidentified) -> Vec<FrameworkRow> {
    let people: BTreeMap<Pseudonym, &DeidParticipant> =
        tables.participants().iter().map(|p| (p.pid, p)).collect();
    // First documented day per person × element, within the person's observation.
    let mut first: BTreeMap<(Pseudonym, &str), i32> = BTreeMap::new();
    for e in tables.process_events() {
        let Some(p) = people.get(&e.pid) else { continue };
        if e.day > last_observed(p) {
            continue;
        }
        let day = first.entry((e.pid, e.element.as_str())).or_insert(e.day);
        *day = (*day).min(e.day);
    }
    let elements: BTreeSet<&str> = first.keys().map(|(_, element)| *element).collect();
    let municipalities: BTreeSet<&str> =
        tables.participants().iter().map(|p| p.municipality.as_str()).collect();
    let mut rows = Vec::new();
    for element in elements {
        for arm in [Arm::Pilot, Arm::Comparison] {
            let scopes = std::iter::once(("all", None))
                .chain(municipalities.iter().map(|m| ("municipality", Some(*m))));
            for (scope, value) in scopes {
                let persons: Vec<&DeidParticipant> = tables
                    .participants()
                    .iter()
                    .filter(|p| p.arm == arm && value.is_none_or(|m| p.municipality == m))
                    .collect();
                if persons.is_empty() {
                    continue;
                }
                let days: Vec<Option<f64>> = persons
                    .iter()
                    .filter_map(|p| first.get(&(p.pid, element)))
                    .map(|&d| Some(f64::from(d)))
                    .collect();
                let described = folge_stats::describe(&days).ok();
                rows.push(FrameworkRow {
                    element: element.to_owned(),
                    arm,
                    scope: scope.to_owned(),
                    scope_value: value.map(str::to_owned),
                    n_persons: persons.len() as i64,
                    n_documented: days.len() as i64,
                    share: Some(days.len() as f64 / persons.len() as f64),
                    days_median: described.as_ref().map(|d| d.median),
                    days_q1: described.as_ref().map(|d| d.q1),
                    days_q3: described.as_ref().map(|d| d.q3),
                });
            }
        }
    }
    rows
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;
    use folge_deid::{DeidParams, Identifiable, Key, deidentify};
    use folge_schema::national_id::build;
    use folge_schema::tables::{Participant, ProcessEvent};

    fn date(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn shares_and_days_to_documentation_by_hand() {
        let inclusion = date("2020-01-01");
        let people: Vec<Participant> = (0..4u16)
            .map(|i| Participant {
                person_id: (i * 20..999).find_map(|n| build(date("1950-01-01"), n, 0, 80)).unwrap(),
                name: None,
                sex: None,
                birth_date: None,
                municipality: if i < 3 { "4601" } else { "4624" }.into(),
                site: None,
                arm: Arm::Pilot,
                target_group: None,
                inclusion_date: inclusion,
                // The fourth person dies on day 10.
                exit_date: (i == 3).then(|| date("2020-01-11")),
                exit_reason: None,
            })
            .collect();
        let step = |p: &Participant, element: &str, day: i64| ProcessEvent {
            person_id: p.person_id.clone(),
            element: element.into(),
            date: inclusion + chrono::Duration::days(day),
        };
        let events = vec![
            step(&people[0], "A", 10),
            step(&people[0], "A", 30),
            step(&people[1], "A", 20),
            step(&people[2], "A", 60),
            // After the fourth person's exit: not documented in their time.
            step(&people[3], "A", 40),
            step(&people[0], "B", 5),
        ];
        let input = Identifiable {
            participants: people,
            process_events: events,
            ..Identifiable::default()
        };
        let t = deidentify(&input, &DeidParams::new(date("2021-12-31")), &Key::demo()).unwrap();
        let rows = framework(&t);
        let a = rows.iter().find(|r| r.element == "A" && r.scope == "all").unwrap();
        // Three of four documented A, first on days 10, 20, 60: median 20, type-7
        // quartiles 15 and 40.
        assert_eq!((a.n_persons, a.n_documented), (4, 3));
        assert_eq!(a.share, Some(0.75));
        assert_eq!((a.days_median, a.days_q1, a.days_q3), (Some(20.0), Some(15.0), Some(40.0)));
        let os = rows
            .iter()
            .find(|r| r.element == "A" && r.scope_value.as_deref() == Some("4624"))
            .unwrap();
        assert_eq!((os.n_persons, os.n_documented, os.days_median), (1, 0, None));
        let b = rows.iter().find(|r| r.element == "B" && r.scope == "all").unwrap();
        assert_eq!((b.n_documented, b.days_median), (1, Some(5.0)));
    }
}

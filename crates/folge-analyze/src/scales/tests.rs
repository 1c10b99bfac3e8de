//! Scale tests on hand-built answers, each score worked out by hand.

use super::*;
use chrono::NaiveDate;
use folge_deid::{DeidParams, Identifiable, Key, deidentify};
use folge_schema::national_id::build;
use folge_schema::tables::{Participant, Response};

fn date(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

fn person(i: u16, arm: Arm) -> Participant {
    let id = (i * 10..999).find_map(|n| build(date("1950-01-01"), n, 0, 80)).unwrap();
    Participant {
        person_id: id,
        name: None,
        sex: None,
        birth_date: None,
        municipality: "4601".into(),
        site: None,
        arm,
        target_group: None,
        inclusion_date: date("2020-01-01"),
        exit_date: None,
        exit_reason: None,
    }
}

fn answer(p: &Participant, timepoint: &str, item: &str, value: Option<f64>) -> Response {
    Response {
        person_id: p.person_id.clone(),
        timepoint: timepoint.into(),
        response_date: None,
        instrument: "x".into(),
        item: item.into(),
        value,
        text: None,
        identifier: false,
        value_date: None,
    }
}

fn spec(scoring: Scoring) -> ScaleSpec {
    ScaleSpec {
        instrument: "x".into(),
        scale: "x".into(),
        items: vec!["a".into(), "b".into(), "c".into()],
        reverse: vec!["c".into()],
        min: 1.0,
        max: 5.0,
        scoring,
        min_share: 0.6,
    }
}

fn params(scoring: Scoring) -> ScaleParams {
    ScaleParams { scales: vec![spec(scoring)], timepoints: ("T0".into(), "T1".into()), min_n: 5 }
}

fn run(people: Vec<Participant>, responses: Vec<Response>, scoring: Scoring) -> ScaleResults {
    let input = Identifiable { participants: people, responses, ..Identifiable::default() };
    let tables = deidentify(&input, &DeidParams::new(date("2021-12-31")), &Key::demo()).unwrap();
    scales(&tables, &params(scoring))
}

#[test]
fn reverse_items_missing_items_and_the_minimum_share() {
    let (a, b) = (person(1, Arm::Pilot), person(2, Arm::Pilot));
    let responses = vec![
        answer(&a, "T0", "a", Some(4.0)),
        answer(&a, "T0", "b", Some(2.0)),
        answer(&a, "T0", "c", Some(1.0)),
        // B answers one item of three: below the 60 % needed (2 items).
        answer(&b, "T0", "a", Some(3.0)),
        answer(&b, "T0", "b", None),
        answer(&b, "T0", "c", None),
        // B at T1: two of three, c reversed: (2 + (6 − 4)) / 2 = 2.
        answer(&b, "T1", "a", Some(2.0)),
        answer(&b, "T1", "c", Some(4.0)),
    ];
    let r = run(vec![a, b], responses.clone(), Scoring::Mean);
    let scores: Vec<(i32, Option<f64>)> =
        r.scores.iter().map(|s| (s.n_answered, s.score)).collect();
    // A: (4 + 2 + (1 + 5 − 1)) / 3 = 11 / 3.
    assert!(scores.contains(&(3, Some(11.0 / 3.0))), "{scores:?}");
    assert!(scores.contains(&(1, None)));
    assert!(scores.contains(&(2, Some(2.0))));
    assert_eq!(r.scores_missing, 1);
    let r = run(vec![person(1, Arm::Pilot), person(2, Arm::Pilot)], responses, Scoring::Sum);
    let sums: Vec<Option<f64>> = r.scores.iter().map(|s| s.score).collect();
    // Sum prorated: 11 for A; B at T1 (2 + 2) × 3 / 2 = 6.
    assert!(sums.contains(&Some(11.0)) && sums.contains(&Some(6.0)), "{sums:?}");
    // Item distributions count answers as given (not reversed).
    let c_at_t0: Vec<(f64, i64)> = r
        .items
        .iter()
        .filter(|i| i.item == "c" && i.timepoint == "T0")
        .map(|i| (i.value, i.n))
        .collect();
    assert_eq!(c_at_t0, [(1.0, 1)]);
}

#[test]
fn change_within_arms_and_the_difference_in_differences() {
    // Six persons per arm answer a = b = c' at both timepoints. The pilot gains 1 + i/10
    // (mean 1.25), the comparison 0.1·i (mean 0.25): the difference in differences is 1.
    let mut people = Vec::new();
    let mut responses = Vec::new();
    for i in 0..12u16 {
        let arm = if i < 6 { Arm::Pilot } else { Arm::Comparison };
        let p = person(i + 1, arm);
        let k = f64::from(i % 6);
        let gain = if arm == Arm::Pilot { 1.0 + k / 10.0 } else { k / 10.0 };
        for (timepoint, score) in [("T0", 2.0 + k / 5.0), ("T1", 2.0 + k / 5.0 + gain)] {
            responses.push(answer(&p, timepoint, "a", Some(score)));
            responses.push(answer(&p, timepoint, "b", Some(score)));
            responses.push(answer(&p, timepoint, "c", Some(6.0 - score)));
        }
        people.push(p);
    }
    let r = run(people, responses, Scoring::Mean);
    let find = |scope: &str, value: Option<&str>, kind: &str| {
        r.comparisons
            .iter()
            .find(|c| {
                c.scope == scope && c.scope_value.as_deref() == value && c.effect_size_kind == kind
            })
            .unwrap()
    };
    let pilot = find("arm", Some("pilot"), "d_z");
    assert_eq!(pilot.n, 6);
    assert!((pilot.diff.unwrap() - 1.25).abs() < 1e-9, "{pilot:?}");
    // The paired t interval is that of the mean difference; d_z has none.
    assert!(pilot.diff_ci_low.unwrap() > 1.0 && pilot.p_value.unwrap() < 0.001);
    assert_eq!(pilot.ci_low, None);
    let comparison = find("arm", Some("comparison"), "d_z");
    assert!((comparison.diff.unwrap() - 0.25).abs() < 1e-9);
    let did = find("all", None, "difference_in_differences");
    assert!((did.effect_size.unwrap() - 1.0).abs() < 1e-9, "{did:?}");
    assert!(did.ci_low.unwrap() < 1.0 && did.ci_high.unwrap() > 1.0);
    assert!(find("arm", Some("pilot"), "hodges_lehmann").effect_size.is_some());
    // Identical items: alpha is 1 at each timepoint.
    assert!(r.reliability.iter().all(|a| (a.cronbach_alpha.unwrap() - 1.0).abs() < 1e-9));
}

#[test]
fn small_groups_get_a_reason_instead_of_an_estimate() {
    let p = person(1, Arm::Pilot);
    let responses = vec![
        answer(&p, "T0", "a", Some(2.0)),
        answer(&p, "T0", "b", Some(2.0)),
        answer(&p, "T1", "a", Some(3.0)),
        answer(&p, "T1", "b", Some(3.0)),
    ];
    let r = run(vec![p], responses, Scoring::Mean);
    let pilot = r.comparisons.iter().find(|c| c.scope_value.as_deref() == Some("pilot")).unwrap();
    assert_eq!((pilot.n, pilot.p_value, pilot.diff), (1, None, Some(1.0)));
    assert!(pilot.method.ends_with("no estimate: 1 persons with both timepoints, fewer than 5"));
}

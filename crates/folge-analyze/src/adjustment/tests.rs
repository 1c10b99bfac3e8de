//! Adjustment tests: overlap weights balance the score's covariates exactly; without weights
//! the balance table shows the raw difference only.

use super::*;
use folge_schema::{Pseudonym, Sex};

/// 120 persons: the pilot enrols older, more often female persons with more use before.
fn participants() -> (Vec<DeidParticipant>, Vec<(&'static str, Vec<f64>)>) {
    let mut people = Vec::new();
    let mut use_before = Vec::new();
    for i in 0..120u32 {
        let pilot = i % 2 == 0;
        let old = if pilot { i % 3 != 0 } else { i % 5 == 0 };
        let female = if pilot { i % 6 != 0 } else { i % 7 < 3 };
        let arm = if pilot { Arm::Pilot } else { Arm::Comparison };
        let mut person =
            DeidParticipant::for_tests(Pseudonym::from_bytes(u128::from(i).to_be_bytes()), arm);
        person.sex = Some(if female { Sex::Female } else { Sex::Male });
        person.age_band = Some(if old { "80+" } else { "67-79" }.to_owned());
        people.push(person);
        use_before.push(f64::from(i % 9) * if pilot { 1.5 } else { 1.0 });
    }
    (people, vec![("admissions", use_before)])
}

#[test]
fn overlap_weights_balance_every_covariate_of_the_score_exactly() {
    let (people, before) = participants();
    let spec = ConfounderAdjustment {
        covariates: vec![Covariate::AgeBand, Covariate::Sex, Covariate::BeforeUse],
        weighting: Weighting::Overlap,
    };
    let (adjusted, balance) = prepare(&spec, &people, &before);
    assert!(adjusted.weights.is_some(), "{}", adjusted.description);
    assert_eq!(adjusted.columns, ["age_band=80+", "sex=M"]);
    assert!(
        adjusted
            .description
            .starts_with("adjusted for age_band, sex (each also × after); overlap weights"),
        "{}",
        adjusted.description
    );
    // Levels: age 67-79, 80+; sex K, M; before use of admissions.
    assert_eq!(balance.len(), 5);
    for row in &balance {
        let (before_w, after_w) = (row.smd.unwrap(), row.smd_weighted.unwrap());
        // The imbalance is real before weighting; logistic overlap weights remove it
        // exactly for every covariate in the score (Li, Morgan & Zaslavsky 2018).
        assert!(before_w.abs() > 0.1, "{row:?}");
        assert!(after_w.abs() < 1e-6, "{row:?}");
        assert_eq!(row.weighting, "overlap");
    }
}

#[test]
fn without_weights_the_balance_table_shows_the_raw_difference_only() {
    let (people, before) = participants();
    let spec =
        ConfounderAdjustment { covariates: vec![Covariate::AgeBand], weighting: Weighting::None };
    let (adjusted, balance) = prepare(&spec, &people, &before);
    assert_eq!(adjusted.weights, None);
    assert_eq!(adjusted.description, "adjusted for age_band (each also × after)");
    // Age band levels and before use (always shown): no weighted columns.
    assert_eq!(balance.len(), 3);
    assert!(balance.iter().all(|r| r.smd_weighted.is_none() && r.weighting == "none"));
    let use_row = balance.iter().find(|r| r.covariate == "before_use").unwrap();
    // On the scale the score takes it: log(1 + rate per person-year).
    assert_eq!(use_row.level.as_deref(), Some("admissions, log(1 + rate per person-year)"));
    let pilot_mean =
        (0..120u32).filter(|i| i % 2 == 0).map(|i| (f64::from(i % 9) * 1.5).ln_1p()).sum::<f64>()
            / 60.0;
    assert!((use_row.pilot_mean.unwrap() - pilot_mean).abs() < 1e-12, "{use_row:?} {pilot_mean}");
}

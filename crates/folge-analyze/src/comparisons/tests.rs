//! Comparison tests: person-level intervals against statsmodels, clustered intervals wider
//! than the event-level test, mortality compared between arms after inclusion only, hours,
//! and the reason a small arm has no estimate.

use super::*;

/// Six pilot and six comparison persons, before and after (value, days): counts with very
/// different levels between persons, some follow-up cut short.
const PERSONS: [(usize, Arm, f64, i32, f64, i32); 12] = [
    (0, Arm::Pilot, 9.0, 365, 2.0, 365),
    (1, Arm::Pilot, 0.0, 365, 1.0, 200),
    (2, Arm::Pilot, 3.0, 365, 0.0, 365),
    (3, Arm::Pilot, 14.0, 365, 6.0, 365),
    (4, Arm::Pilot, 1.0, 365, 0.0, 365),
    (5, Arm::Pilot, 2.0, 365, 3.0, 120),
    (6, Arm::Comparison, 4.0, 365, 5.0, 365),
    (7, Arm::Comparison, 0.0, 365, 0.0, 365),
    (8, Arm::Comparison, 7.0, 365, 9.0, 365),
    (9, Arm::Comparison, 1.0, 365, 2.0, 300),
    (10, Arm::Comparison, 2.0, 365, 1.0, 365),
    (11, Arm::Comparison, 12.0, 365, 10.0, 365),
];

/// The pseudonym of test person `n`.
fn test_pid(n: usize) -> Pseudonym {
    Pseudonym::from_bytes((n as u128).to_be_bytes())
}

fn rows(indicator: &str) -> Vec<IndicatorRow> {
    let mut out = Vec::new();
    for (pid, arm, bv, bd, av, ad) in PERSONS {
        for (period, value, days) in [("before", bv, bd), ("after", av, ad)] {
            out.push(IndicatorRow {
                pid: test_pid(pid),
                municipality: "4601".into(),
                arm,
                target_group: None,
                period: period.into(),
                indicator: indicator.into(),
                value,
                exposure_days: days,
                rate_per_py: None,
            });
        }
    }
    out
}

#[track_caller]
fn close(got: Option<f64>, want: f64) {
    let got = got.expect("a value");
    assert!((got - want).abs() <= 1e-7 * want.abs().max(1.0), "got {got}, want {want}");
}

#[test]
fn person_level_intervals_match_statsmodels() {
    // statsmodels 0.15, ratios: smf.glm("y ~ C(pid) + after", d, family=Poisson(),
    //   offset=np.log(d.py)) per arm and smf.glm("y ~ C(pid) + after + after:pilot", …) on
    //   both, persons with no value in either window left out (p07), fitted to tol 1e-14,
    //   .fit(cov_type="cluster", cov_kwds={"groups": d.pid, "use_correction": False,
    //   "df_correction": False}) × √(G/(G−1)); Wald on the log scale. Diffs: the pooled
    //   smf.glm("y ~ after", …) and smf.glm("y ~ pilot*after", …) with cov_type="cluster",
    //   intervals by the delta method on m.cov_params() (py = days / 365.25).
    let mut out = compare(
        &rows("admissions"),
        &["admissions"],
        &Comparison::ALL,
        (CountModel::Poisson, ClusterVariance::Cr1),
    );
    adjust(&mut out, Adjustment::Holm);
    let pilot = &out[0];
    assert_eq!((pilot.scope.as_str(), pilot.arm), ("arm", Some(Arm::Pilot)));
    close(pilot.effect_size, 0.466_382_009_971);
    close(pilot.ci_low, 0.210_942_209_941);
    close(pilot.ci_high, 1.031_145_825_602);
    close(pilot.p_value, 0.059_538_032_652);
    close(pilot.diff, -2.374_284_285_05);
    close(pilot.diff_ci_low, -6.084_738_563_75);
    close(pilot.diff_ci_high, 1.336_169_993_64);
    assert!(pilot.method.contains("CR1 SE by person"), "{}", pilot.method);
    let comparison = &out[1];
    close(comparison.effect_size, 1.050_042_673_445);
    close(comparison.ci_low, 0.785_716_095_594);
    close(comparison.ci_high, 1.403_292_642_519);
    close(comparison.diff_ci_low, -1.038_003_633_29);
    let did = &out[2];
    assert_eq!(
        (did.scope.as_str(), did.effect_size_kind.as_str()),
        ("all", "ratio_of_rate_ratios")
    );
    close(did.effect_size, 0.444_155_291_747);
    close(did.ci_low, 0.198_202_908_896);
    close(did.ci_high, 0.995_312_956_231);
    close(did.p_value, 0.048_680_902_219);
    close(did.diff, -2.678_806_444_6);
    close(did.diff_ci_low, -6.525_595_749_45);
    close(did.diff_ci_high, 1.167_982_860_24);
    assert!(pilot.p_adjusted.unwrap() >= pilot.p_value.unwrap());
}

#[test]
fn clustered_interval_is_wider_than_the_event_level_test_when_persons_differ() {
    // The exact conditional test treats the 29 → 12 events as independent.
    let out = compare(
        &rows("admissions"),
        &["admissions"],
        &[Comparison::BeforeAfter],
        (CountModel::Poisson, ClusterVariance::Cr1),
    );
    let py = |days: i32| f64::from(days) / 365.25;
    let (mut before, mut after, mut t_before, mut t_after) = (0.0, 0.0, 0.0, 0.0);
    for (_, arm, bv, bd, av, ad) in PERSONS.iter().filter(|p| p.1 == Arm::Pilot) {
        let _ = arm;
        (before, t_before) = (before + bv, t_before + py(*bd));
        (after, t_after) = (after + av, t_after + py(*ad));
    }
    let exact = folge_stats::rate_ratio(after, t_after, before, t_before, LEVEL).unwrap();
    let (lo, hi) = (out[0].ci_low.unwrap(), out[0].ci_high.unwrap());
    assert!(
        hi.ln() - lo.ln() > exact.ci_high.unwrap().ln() - exact.ci_low.unwrap().ln(),
        "{lo}..{hi} vs {exact:?}"
    );
}

#[test]
fn mortality_is_compared_between_arms_after_inclusion_only() {
    let mut people = rows("mortality");
    for r in &mut people {
        r.value = if r.period == "before" {
            0.0
        } else {
            f64::from(u8::from([1, 3, 8, 11].map(test_pid).contains(&r.pid)))
        };
    }
    let out = compare(
        &people,
        &["mortality"],
        &Comparison::ALL,
        (CountModel::Poisson, ClusterVariance::Jackknife),
    );
    let kinds: Vec<&str> = out.iter().map(|r| r.effect_size_kind.as_str()).collect();
    assert_eq!(
        kinds,
        ["rate_ratio", "rate_ratio", "ratio_of_rate_ratios", "rate_ratio_pilot_vs_comparison"]
    );
    for r in &out[..3] {
        assert_eq!((r.effect_size, r.ci_low), (None, None));
        // No after − before either: it would be the after rate read as a change.
        assert_eq!((r.diff, r.diff_ci_low, r.diff_ci_high), (None, None, None));
        assert!(
            r.method.starts_with("no estimate: deaths cannot occur before inclusion"),
            "{}",
            r.method
        );
    }
    let after = &out[3];
    // Pilot: 2 deaths (p01, p03) over 4.24 py; comparison: 2 (p08, p11) over 5.81 py.
    let pilot_py = (365.0 * 4.0 + 200.0 + 120.0) / 365.25;
    let comparison_py = (365.0 * 5.0 + 300.0) / 365.25;
    close(after.effect_size, (2.0 / pilot_py) / (2.0 / comparison_py));
    assert!(after.ci_low.unwrap() < after.effect_size.unwrap());
    assert!(after.ci_high.unwrap() > after.effect_size.unwrap());
    assert!(after.method.contains("pilot/comparison after inclusion"), "{}", after.method);
}

#[test]
fn hours_get_an_interval_too() {
    let mut people = rows("home_care_hours");
    for r in &mut people {
        r.value *= 1.75;
    }
    let out = compare(
        &people,
        &["home_care_hours"],
        &Comparison::ALL,
        (CountModel::NegativeBinomial, ClusterVariance::Jackknife),
    );
    assert!(out.iter().all(|r| r.ci_low.is_some() && r.ci_high.is_some()), "{out:#?}");
    // Not whole counts: the negative binomial model does not apply; the within-person
    // Poisson model does, and the method says so.
    assert!(out[0].method.contains("fixed effect per person"), "{}", out[0].method);
    // Whole counts take the negative binomial model of the pooled rates.
    let counts = compare(
        &rows("admissions"),
        &["admissions"],
        &Comparison::ALL,
        (CountModel::NegativeBinomial, ClusterVariance::Jackknife),
    );
    assert!(counts[0].method.contains("negative binomial GLM"), "{}", counts[0].method);
}

#[test]
fn a_small_arm_says_why_it_has_no_estimate() {
    let people = rows("admissions");
    let views = views(&people);
    let settings = Settings {
        comparisons: &Comparison::ALL,
        model: CountModel::Poisson,
        variance: ClusterVariance::Jackknife,
        adjusted: None,
        min_n: 7,
    };
    let out = compare_views(&views, &[crate::Indicator::Admissions], settings);
    assert!(out.iter().all(|r| r.effect_size.is_none()));
    assert_eq!(out[0].method, "no estimate: 6 persons, fewer than 7");
    assert_eq!(
        out[2].method,
        "no estimate: 6 pilot and 6 comparison persons, fewer than 7 in an arm"
    );
}

#[test]
fn the_default_jackknife_matches_refitting_without_each_person() {
    // statsmodels 0.15: the pilot arm's `y ~ C(pid) + after` and both arms' `y ~ C(pid) +
    // after + after:pilot` refitted without each person; V = (G-1)/G (reps - b)'(reps - b);
    // Wald on the log scale (sandwich::vcovJK(fit, cluster = ~pid, center = "estimate")).
    let out = compare(
        &rows("admissions"),
        &["admissions"],
        &Comparison::ALL,
        (CountModel::Poisson, ClusterVariance::default()),
    );
    let pilot = &out[0];
    close(pilot.effect_size, 0.466_382_009_971);
    close(pilot.ci_low, 0.211_416_493_576);
    close(pilot.ci_high, 1.028_832_592_697);
    close(pilot.p_value, 0.058_818_459_397);
    assert!(pilot.method.contains("cluster-jackknife (CV3) SE by person"), "{}", pilot.method);
    let did = &out[2];
    close(did.ci_low, 0.179_292_192_830);
    close(did.ci_high, 1.100_292_879_867);
}

#[test]
fn a_within_arm_diff_interval_is_the_jackknife_of_the_whole_comparison_rerun() {
    // The pilot arm's diff, and the same comparison run again without each person: the
    // interval is the MOVER interval from the two pooled rates' own intervals on their log
    // scale, with the covariance those leave-one-out rates give and t on the dispersion df
    // of the leave-one-out diffs (folge_stats::rate_difference_mover, dispersion_df), not
    // the delta method's.
    let all = rows("admissions");
    let settings = (CountModel::Poisson, ClusterVariance::Jackknife);
    let pilot = |rows: &[IndicatorRow]| {
        compare(rows, &["admissions"], &[Comparison::BeforeAfter], settings)
            .into_iter()
            .find(|r| r.arm == Some(Arm::Pilot))
            .unwrap()
    };
    let full = pilot(&all);
    let diff = full.diff.unwrap();
    let (before, after) = (full.before_mean.unwrap(), full.after_mean.unwrap());
    let mut terms = Vec::new();
    let mut cov = [[0.0; 2]; 2];
    let mut g = 0.0;
    for (pid, arm, ..) in PERSONS {
        if arm == Arm::Pilot {
            let without: Vec<IndicatorRow> =
                all.iter().filter(|r| r.pid != test_pid(pid)).cloned().collect();
            let rerun = pilot(&without);
            let m = rerun.diff.unwrap() - diff;
            // The person's Poisson variance of that move: their counts over the others'
            // person-years, squared.
            let mine = |period: &str| {
                all.iter()
                    .filter(|r| r.pid == test_pid(pid) && r.period == period)
                    .map(|r| r.value)
                    .sum::<f64>()
            };
            let others = |period: &str| {
                without
                    .iter()
                    .filter(|r| r.arm == Arm::Pilot && r.period == period)
                    .map(|r| f64::from(r.exposure_days) / 365.25)
                    .sum::<f64>()
            };
            let v =
                mine("after") / others("after").powi(2) + mine("before") / others("before").powi(2);
            terms.push((m * m, v));
            let m = [
                (rerun.before_mean.unwrap() / before).ln(),
                (rerun.after_mean.unwrap() / after).ln(),
            ];
            for i in 0..2 {
                for j in 0..2 {
                    cov[i][j] += m[i] * m[j];
                }
            }
            g += 1.0;
        }
    }
    let cov = cov.map(|row| row.map(|v| v * (g - 1.0) / g));
    let crit = folge_stats::dist::qt(0.975, folge_stats::dispersion_df(&terms).unwrap());
    let (lo, hi) =
        folge_stats::rate_difference_mover((before.ln(), after.ln()), cov, crit).unwrap();
    close(full.diff_ci_low, lo);
    close(full.diff_ci_high, hi);
    // Skewed: one heavy user; the interval is not symmetric around the diff.
    assert!(((hi - diff) - (diff - lo)).abs() > 1e-3, "{lo} {diff} {hi}");
}

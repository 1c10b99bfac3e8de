//! The within-person rate ratio against statsmodels 0.15: the Poisson GLM with a dummy per
//! person, `after` and offset ln(person-years), two rows per person, fitted to tol 1e-14;
//! its cluster sandwich without corrections (`cov_type='cluster', cov_kwds={'groups': g,
//! 'use_correction': False, 'df_correction': False}`) times √(G/(G−1)) is CR1; the
//! jackknife refits the same model without each person and takes √((G−1)/G Σ (β₍₋i₎ − β̂)²).

use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::*;

fn windows(rows: &[(f64, f64, f64, f64)]) -> Vec<TwoWindows> {
    rows.iter()
        .map(|&(before, before_years, after, after_years)| TwoWindows {
            before,
            before_years,
            after,
            after_years,
        })
        .collect()
}

const COUNTS: [(f64, f64, f64, f64); 12] = [
    (3.0, 1.0, 1.0, 1.0),
    (0.0, 1.0, 2.0, 0.5),
    (7.0, 1.0, 2.0, 0.25),
    (1.0, 0.5, 1.0, 1.0),
    (12.0, 1.0, 9.0, 1.0),
    (2.0, 1.0, 0.0, 0.8),
    (0.0, 1.0, 1.0, 1.0),
    (5.0, 1.0, 5.0, 0.6),
    (1.0, 1.0, 3.0, 1.0),
    (20.0, 1.0, 4.0, 0.1),
    (4.0, 0.75, 2.0, 1.0),
    (1.0, 1.0, 1.0, 0.3),
];

#[test]
fn counts_match_the_person_dummy_poisson_glm() {
    let fit = within_person_rate_ratio(&windows(&COUNTS)).unwrap();
    assert!((fit.log_ratio - 0.089_671_250_588).abs() < 1e-9, "{fit:?}");
    assert!((fit.se_cr1 - 0.243_721_079_758).abs() < 1e-9, "{fit:?}");
    assert!((fit.se_jackknife.unwrap() - 0.264_852_059_391).abs() < 1e-9, "{fit:?}");
    assert_eq!(fit.informative, 12);
    // Every person here moves the estimate by more than 10⁻³: all refitted exactly.
    assert_eq!(fit.refitted, 12);
}

#[test]
fn hours_match_the_person_dummy_poisson_glm() {
    let hours = [
        (2.5, 1.0, 0.75, 1.0),
        (0.0, 1.0, 1.5, 0.5),
        (6.25, 1.0, 2.0, 0.25),
        (1.0, 0.5, 0.5, 1.0),
        (14.5, 1.0, 9.25, 1.0),
        (2.0, 1.0, 0.0, 0.8),
        (0.0, 1.0, 0.25, 1.0),
        (5.5, 1.0, 4.0, 0.6),
        (1.75, 1.0, 3.5, 1.0),
        (30.0, 1.0, 2.5, 0.1),
    ];
    let fit = within_person_rate_ratio(&windows(&hours)).unwrap();
    assert!((fit.log_ratio - -0.168_190_903_811).abs() < 1e-9, "{fit:?}");
    assert!((fit.se_cr1 - 0.192_162_292_586).abs() < 1e-9, "{fit:?}");
    assert!((fit.se_jackknife.unwrap() - 0.223_331_946_159).abs() < 1e-9, "{fit:?}");
}

#[test]
fn persons_without_information_change_nothing() {
    let mut rows = COUNTS.to_vec();
    // No value in either window; no time after (died at inclusion); no time before.
    rows.extend([(0.0, 1.0, 0.0, 1.0), (5.0, 1.0, 0.0, 0.0), (0.0, 0.0, 3.0, 1.0)]);
    let with = within_person_rate_ratio(&windows(&rows)).unwrap();
    let without = within_person_rate_ratio(&windows(&COUNTS)).unwrap();
    assert_eq!(with, without);
}

#[test]
fn frailty_and_early_exits_leave_the_estimate_at_one() {
    // Persons whose rates differ 100-fold, the heaviest users' after-windows cut short:
    // the pooled ratio falls well below 1, the within-person ratio stays near it.
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let mut rows = Vec::new();
    let (mut pooled_before, mut pooled_after, mut years_after) = (0.0, 0.0, 0.0);
    for i in 0..4000 {
        let rate = if i % 10 == 0 { 40.0 } else { 0.4 };
        let after_years: f64 = if rate > 1.0 { 0.2 } else { 1.0 };
        let draw = |rng: &mut ChaCha8Rng, mean: f64| {
            // Poisson by counting exponential gaps.
            let (mut t, mut k) = (0.0, 0.0);
            loop {
                t += -(1.0 - rng.random::<f64>()).ln() / mean;
                if t > 1.0 {
                    return k;
                }
                k += 1.0;
            }
        };
        let before = draw(&mut rng, rate);
        let after = draw(&mut rng, rate * after_years);
        pooled_before += before;
        pooled_after += after;
        years_after += after_years;
        rows.push(TwoWindows { before, before_years: 1.0, after, after_years });
    }
    let pooled = (pooled_after / years_after) / (pooled_before / 4000.0);
    assert!(pooled < 0.5, "{pooled}");
    let fit = within_person_rate_ratio(&rows).unwrap();
    assert!(fit.log_ratio.abs() < 3.0 * fit.se_cr1, "{fit:?}");
    assert!(fit.se_cr1 < 0.05, "{fit:?}");
}

#[test]
fn one_newton_step_where_a_person_moves_the_estimate_little_is_the_exact_jackknife() {
    let mut rng = ChaCha8Rng::seed_from_u64(11);
    let rows: Vec<TwoWindows> = (0..1500)
        .map(|_| {
            let frailty = -rng.random::<f64>().ln() * 3.0;
            let after_years = if rng.random::<f64>() < 0.2 { rng.random::<f64>() } else { 1.0 };
            TwoWindows {
                before: (frailty * rng.random::<f64>() * 4.0).floor(),
                before_years: 1.0,
                after: (frailty * after_years * rng.random::<f64>() * 4.0).floor(),
                after_years,
            }
        })
        .collect();
    let fit = within_person_rate_ratio(&rows).unwrap();
    assert!(fit.refitted < fit.informative / 2, "{fit:?}");
    let informative: Vec<Person> = rows
        .iter()
        .filter(|w| w.before + w.after > 0.0)
        .map(|w| Person {
            r: w.after_years / w.before_years,
            n: w.before + w.after,
            after: w.after,
        })
        .collect();
    let scores: Vec<(f64, f64)> = informative
        .iter()
        .map(|p| {
            let q = share(p.r, fit.log_ratio);
            (p.after - p.n * q, p.n * q * (1.0 - q))
        })
        .collect();
    let (exact, all) = jackknife(&informative, fit.log_ratio, &scores, 0.0);
    assert_eq!(all, informative.len());
    let g = informative.len() as f64;
    let (exact, approx) = (((g - 1.0) / g * exact.unwrap()).sqrt(), fit.se_jackknife.unwrap());
    assert!((approx / exact - 1.0).abs() < 1e-4, "{approx} {exact}");
}

#[test]
fn no_estimate_when_every_value_is_in_one_window_or_one_person() {
    let all_before = windows(&[(3.0, 1.0, 0.0, 1.0), (2.0, 1.0, 0.0, 0.5)]);
    assert!(matches!(within_person_rate_ratio(&all_before), Err(StatsError::Invalid(_))));
    let one = windows(&[(3.0, 1.0, 1.0, 1.0), (0.0, 1.0, 0.0, 1.0)]);
    assert!(matches!(within_person_rate_ratio(&one), Err(StatsError::TooFew { .. })));
    // One person holds every after value: leaving them out leaves no finite estimate.
    let lone = windows(&[(3.0, 1.0, 2.0, 1.0), (2.0, 1.0, 0.0, 1.0), (4.0, 1.0, 0.0, 1.0)]);
    let fit = within_person_rate_ratio(&lone).unwrap();
    assert_eq!(fit.se_jackknife, None);
    let bad = windows(&[(f64::NAN, 1.0, 1.0, 1.0)]);
    assert!(matches!(within_person_rate_ratio(&bad), Err(StatsError::OutOfRange { .. })));
}

#[test]
fn the_ratio_of_two_arms_ratios_matches_the_joint_person_dummy_glm() {
    // statsmodels: the two arms' persons stacked, dummies per person, `after` and
    // `after × pilot`; the coefficient of the interaction, clustered by person.
    let pilot = windows(&COUNTS[..7]);
    let mut comparison = windows(&COUNTS[7..11]);
    comparison.extend(windows(&[(1.0, 1.0, 1.0, 0.3), (6.0, 1.0, 8.0, 1.0)]));
    let fit = within_person_ratio_of_ratios(&pilot, &comparison).unwrap();
    assert!((fit.log_ratio - -0.563_161_018_187).abs() < 1e-9, "{fit:?}");
    assert!((fit.se_cr1 - 0.318_275_265_441).abs() < 1e-9, "{fit:?}");
    assert!((fit.se_jackknife.unwrap() - 0.346_972_952_999).abs() < 1e-9, "{fit:?}");
    assert_eq!(fit.informative, 13);
    let (p, c) =
        (within_person_rate_ratio(&pilot).unwrap(), within_person_rate_ratio(&comparison).unwrap());
    assert!((fit.log_ratio - (p.log_ratio - c.log_ratio)).abs() < 1e-12);
}

#[test]
fn covariates_and_weights_match_the_weighted_person_dummy_glm() {
    // statsmodels: dummies per person, `after`, `after × pilot`, `after × age`, person
    // weights as `var_weights` on both rows; the cluster sandwich checked by hand in numpy
    // (B Σ_g s_g s_g' B · G/(G−1)); the jackknife refits without each person.
    let persons: [(f64, f64, f64, f64, f64, f64, f64); 14] = [
        (3.0, 1.0, 1.0, 1.0, 1.0, 0.5, 1.2),
        (0.0, 1.0, 2.0, 0.5, 1.0, -1.0, 0.8),
        (7.0, 1.0, 2.0, 0.25, 1.0, 0.2, 1.0),
        (1.0, 0.5, 1.0, 1.0, 1.0, 1.5, 0.6),
        (12.0, 1.0, 9.0, 1.0, 1.0, -0.3, 1.4),
        (2.0, 1.0, 0.0, 0.8, 1.0, 0.9, 1.0),
        (0.0, 1.0, 1.0, 1.0, 1.0, -1.2, 0.9),
        (5.0, 1.0, 5.0, 0.6, 0.0, 0.1, 1.1),
        (1.0, 1.0, 3.0, 1.0, 0.0, -0.4, 0.7),
        (20.0, 1.0, 4.0, 0.1, 0.0, 1.1, 1.3),
        (4.0, 0.75, 2.0, 1.0, 0.0, -0.8, 1.0),
        (1.0, 1.0, 1.0, 0.3, 0.0, 0.6, 0.5),
        (6.0, 1.0, 8.0, 1.0, 0.0, -0.1, 1.0),
        (2.0, 1.0, 3.0, 0.9, 1.0, 0.3, 1.0),
    ];
    let w = windows(&persons.map(|p| (p.0, p.1, p.2, p.3)));
    let x: Vec<f64> = persons.iter().flat_map(|p| [1.0, p.4, p.5]).collect();
    let weights: Vec<f64> = persons.iter().map(|p| p.6).collect();
    let fit = within_person_glm(&w, &x, 3, Some(&weights)).unwrap();
    let close = |a: f64, b: f64| (a - b).abs() < 1e-8;
    let beta = [0.363_471_521_573, -0.524_257_657_034, 0.049_434_069_717];
    let cr1 = [0.245_384_260_792, 0.318_622_160_249, 0.370_711_272_706];
    let jk = [0.362_678_704_599, 0.443_953_612_462, 0.556_196_760_886];
    let cov_jk = fit.cov_jackknife.clone().unwrap();
    for j in 0..3 {
        assert!(close(fit.coef[j], beta[j]), "{fit:?}");
        assert!(close(fit.cov_cr1[j][j].sqrt(), cr1[j]), "{fit:?}");
        assert!(close(cov_jk[j][j].sqrt(), jk[j]), "{fit:?}");
    }
    assert!(close(fit.cov_cr1[0][1], -0.063_610_710_604));
    assert!(close(cov_jk[1][2], 0.065_644_671_801));
}

#[test]
fn without_covariates_the_model_is_the_ratio_of_the_arms_ratios() {
    let pilot = windows(&COUNTS[..7]);
    let comparison = windows(&COUNTS[7..]);
    let both: Vec<TwoWindows> = pilot.iter().chain(&comparison).copied().collect();
    let x: Vec<f64> =
        (0..both.len()).flat_map(|i| [1.0, f64::from(u8::from(i < pilot.len()))]).collect();
    let glm = within_person_glm(&both, &x, 2, None).unwrap();
    let ratio = within_person_ratio_of_ratios(&pilot, &comparison).unwrap();
    assert!((glm.coef[1] - ratio.log_ratio).abs() < 1e-9);
    assert!((glm.cov_cr1[1][1].sqrt() - ratio.se_cr1).abs() < 1e-9);
    let jk = glm.cov_jackknife.unwrap()[1][1].sqrt();
    assert!((jk - ratio.se_jackknife.unwrap()).abs() < 1e-9);
    // One column: the within-arm ratio itself.
    let one = within_person_glm(&pilot, &vec![1.0; pilot.len()], 1, None).unwrap();
    let arm = within_person_rate_ratio(&pilot).unwrap();
    assert!((one.coef[0] - arm.log_ratio).abs() < 1e-9);
    assert!((one.cov_cr1[0][0].sqrt() - arm.se_cr1).abs() < 1e-9);
}

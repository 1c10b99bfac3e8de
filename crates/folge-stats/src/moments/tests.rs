//! Tests of the sums-over-persons inference: a rate's CR1 interval from sums equals the
//! person-level model it replaces; no interval without events.

use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::*;
use crate::poisson_glm;

/// Persons of two arms over 12 bins: a person-level rate that differs a lot between
/// persons, a trend that differs by arm, exposure cut short for some.
fn persons() -> Vec<(bool, Vec<f64>, Vec<f64>)> {
    let mut rng = ChaCha8Rng::seed_from_u64(14);
    (0..160)
        .map(|i| {
            let pilot = i % 2 == 0;
            let level: f64 = 0.2 + 5.0 * rng.random::<f64>().powi(3);
            let cut = if rng.random::<f64>() < 0.2 { rng.random_range(0..12) } else { 12 };
            let e: Vec<f64> = (0..12).map(|b| if b < cut { 30.0 / 365.25 } else { 0.0 }).collect();
            let y: Vec<f64> = (0..12i32)
                .map(|b| {
                    let trend = if pilot { 1.03f64 } else { 0.99 };
                    let mean = level * trend.powi(b) * e[b as usize] * 4.0;
                    // A crude over-dispersed count: a Poisson-ish draw by inversion.
                    let mut k = 0.0;
                    let mut p = (-mean).exp();
                    let mut cdf = p;
                    let u: f64 = rng.random();
                    while u > cdf && k < 200.0 {
                        k += 1.0;
                        p *= mean / k;
                        cdf += p;
                    }
                    if e[b as usize] > 0.0 { k } else { 0.0 }
                })
                .collect();
            (pilot, y, e)
        })
        .collect()
}

#[test]
fn rate_interval_from_sums_equals_the_intercept_only_model() {
    let mut m = BinMoments::default();
    let (mut x, mut y, mut offset, mut cluster) = (vec![], vec![], vec![], vec![]);
    for (i, (_, ys, es)) in persons().into_iter().enumerate() {
        let (v, e) = (ys.iter().sum::<f64>(), es.iter().sum::<f64>());
        m.add(v, e);
        if e > 0.0 {
            x.push(1.0);
            y.push(v);
            offset.push(e.ln());
            cluster.push(i);
        }
    }
    let direct = poisson_glm(&x, 1, &y, &offset, None, Some(&cluster)).unwrap();
    let (lo, hi) = m.rate_interval(0.95).unwrap();
    let z = 1.959_963_984_540_054;
    let (rate, se) = (direct.coef[0].exp(), direct.se(0));
    assert!(
        (lo - rate * (-z * se).exp()).abs() < 1e-9 * rate,
        "{lo} vs {}",
        rate * (-z * se).exp()
    );
    assert!((hi - rate * (z * se).exp()).abs() < 1e-9 * rate);
}

#[test]
fn no_interval_without_events_or_persons() {
    let mut m = BinMoments::default();
    assert_eq!(m.rate_interval(0.95), None);
    m.add(0.0, 1.0);
    m.add(0.0, 0.5);
    assert_eq!(m.rate_interval(0.95), None, "no events");
    m.add(3.0, 0.0);
    assert_eq!(m.n, 2, "a person without exposure has no row");
}

/// The cell of `ys` and `es` (days), summed person by person.
fn moments_of(ys: &[f64], days: &[f64]) -> BinMoments {
    let mut m = BinMoments::default();
    for (&y, &d) in ys.iter().zip(days) {
        m.add(y, d / 365.25);
    }
    m
}

#[track_caller]
fn check_close(actual: f64, expected: f64, tolerance: f64) {
    assert!((actual - expected).abs() <= tolerance * expected.abs(), "{actual} vs {expected}");
}

#[test]
fn t_interval_by_hand_for_a_few_heavy_users() {
    // numpy/scipy on the 15 persons: lam = Σy/Σe; u = y − lam·e; G = 15; phi = Σu²/Σy;
    // nu = 2 (Σu²)² / (G/(G−1) Σ(u² − phi·y)²); se = √(G/(G−1) Σu²)/Σy;
    // t = stats.t.ppf(0.975, nu); lam·exp(∓t·se).
    let ys = [0.0, 0.0, 1.0, 0.0, 2.0, 0.0, 0.0, 7.0, 0.0, 1.0, 0.0, 0.0, 3.0, 0.0, 12.5];
    let days =
        [30.0, 30.0, 30.0, 12.0, 30.0, 30.0, 25.0, 30.0, 30.0, 30.0, 30.0, 8.0, 30.0, 30.0, 30.0];
    let m = moments_of(&ys, &days);
    check_close(m.df().unwrap(), 25.260_915_146_711_312, 1e-9);
    let (lo, hi) = m.rate_interval_t(0.95).unwrap();
    check_close(lo, 8.481_174_699_379_437, 1e-7);
    check_close(hi, 67.345_121_618_573_86, 1e-7);
    // The normal quantile's CR1 interval, for comparison: t(25.3) widens it.
    let (lo, hi) = m.rate_interval(0.95).unwrap();
    check_close(lo, 8.912_196_099_007_108, 1e-9);
    check_close(hi, 64.088_103_005_466, 1e-9);
}

#[test]
fn t_interval_is_cr1_with_many_equal_contributors_or_plain_counts() {
    // Many persons of like use: ν in the thousands, the limits within 0.1 % of CR1's.
    let ys: Vec<f64> = (0..4000).map(|i| if i % 2 == 0 { 1.0 } else { 3.0 }).collect();
    let m = moments_of(&ys, &vec![30.0; 4000]);
    // u = ±1, φ = 1/2: ν = 2 G² / (G/(G − 1) · G/4) = 8 (G − 1).
    check_close(m.df().unwrap(), 8.0 * 3999.0, 1e-9);
    let ((lo, hi), (lo_z, hi_z)) =
        (m.rate_interval_t(0.95).unwrap(), m.rate_interval(0.95).unwrap());
    assert!(lo < lo_z && hi > hi_z);
    check_close(lo, lo_z, 1e-3);
    check_close(hi, hi_z, 1e-3);
    // Ten events among a thousand persons, one each: the CR1 variance is the Poisson
    // one (φ̂ ≈ 1, nothing to estimate), so t changes nothing a reader could see.
    let ys: Vec<f64> = (0..1000).map(|i| if i % 100 == 0 { 1.0 } else { 0.0 }).collect();
    let m = moments_of(&ys, &vec![30.0; 1000]);
    assert!(m.df().unwrap() > 1e5, "{:?}", m.df());
    let ((lo, hi), (lo_z, hi_z)) =
        (m.rate_interval_t(0.95).unwrap(), m.rate_interval(0.95).unwrap());
    check_close(lo, lo_z, 1e-4);
    check_close(hi, hi_z, 1e-4);
}

#[test]
fn unknown_higher_sums_fall_back_to_the_normal_quantile() {
    let mut m = moments_of(&[0.0, 1.0, 5.0], &[30.0; 3]);
    m.fourth = [f64::NAN; 5];
    assert_eq!(m.df(), None);
    assert_eq!(m.rate_interval_t(0.95), m.rate_interval(0.95));
}

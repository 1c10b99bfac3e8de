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

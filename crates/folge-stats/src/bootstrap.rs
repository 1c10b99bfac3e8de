//! Bootstrap confidence intervals (percentile and BCa) for a mean, a median or a difference
//! of means, with a seeded ChaCha8 generator: the same seed gives the same interval on
//! every machine (indices are drawn as `u64`, never as platform-sized integers).
//!
//! Percentile: type 7 quantiles of the bootstrap distribution at α/2 and 1 − α/2. BCa
//! (Efron 1987): bias correction z₀ = Φ⁻¹(share of replicates below the estimate) and
//! acceleration a from the jackknife, a = Σ(θ̄ − θ₍ᵢ₎)³ / (6 (Σ(θ̄ − θ₍ᵢ₎)²)^{3/2}); for a
//! difference the jackknife leaves out one observation of either group, deviations taken
//! from each group's jackknife mean.

use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::describe::{mean, quantile_sorted};
use crate::dist::{pnorm, qnorm};
use crate::error::check_level;
use crate::{StatResult, StatsError};

/// What to bootstrap.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BootStatistic {
    /// Mean of x.
    Mean,
    /// Median of x.
    Median,
    /// mean(x) − mean(y), groups resampled independently.
    MeanDiff,
}

/// Which interval.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BootMethod {
    /// Percentile interval.
    Percentile,
    /// Bias-corrected and accelerated interval.
    Bca,
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    quantile_sorted(v, 0.5)
}

fn statistic(kind: BootStatistic, x: &mut [f64], y: &[f64]) -> f64 {
    match kind {
        BootStatistic::Mean => mean(x),
        BootStatistic::Median => median(x),
        BootStatistic::MeanDiff => mean(x) - mean(y),
    }
}

fn resample(rng: &mut ChaCha8Rng, from: &[f64], into: &mut Vec<f64>) {
    into.clear();
    let n = from.len() as u64;
    into.extend((0..from.len()).map(|_| from[rng.random_range(0..n) as usize]));
}

/// Jackknife values, per group.
fn jackknife(kind: BootStatistic, x: &[f64], y: &[f64]) -> Vec<Vec<f64>> {
    let leave_out = |v: &[f64], i: usize| -> Vec<f64> {
        v.iter().enumerate().filter(|(j, _)| *j != i).map(|(_, a)| *a).collect()
    };
    let mut groups =
        vec![(0..x.len()).map(|i| statistic(kind, &mut leave_out(x, i), y)).collect::<Vec<_>>()];
    if kind == BootStatistic::MeanDiff {
        let mut xs = x.to_vec();
        groups.push((0..y.len()).map(|i| statistic(kind, &mut xs, &leave_out(y, i))).collect());
    }
    groups
}

/// Bootstrap CI. `y` is required for `MeanDiff` and ignored otherwise. Extras: `reps`,
/// `seed`, `bias` (mean of replicates − estimate), `se` (sd of replicates), and for BCa
/// `z0` and `acceleration`.
pub fn bootstrap(
    x: &[Option<f64>],
    y: Option<&[Option<f64>]>,
    kind: BootStatistic,
    reps: usize,
    seed: u64,
    method: BootMethod,
    conf_level: f64,
) -> Result<StatResult, StatsError> {
    check_level(conf_level)?;
    crate::error::check_finite("x", x.iter().flatten())?;
    crate::error::check_finite("y", y.unwrap_or_default().iter().flatten())?;
    let a: Vec<f64> = x.iter().flatten().copied().collect();
    let b: Vec<f64> = y.unwrap_or_default().iter().flatten().copied().collect();
    if a.len() < 2 {
        return Err(StatsError::TooFew { what: "the bootstrap (x)", needed: 2, got: a.len() });
    }
    if kind == BootStatistic::MeanDiff && b.len() < 2 {
        return Err(StatsError::TooFew {
            what: "the bootstrap of a difference (y)",
            needed: 2,
            got: b.len(),
        });
    }
    if reps < 100 {
        return Err(StatsError::TooFew { what: "the bootstrap (reps)", needed: 100, got: reps });
    }
    let estimate = statistic(kind, &mut a.clone(), &b);
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let (mut xa, mut yb) = (Vec::with_capacity(a.len()), Vec::with_capacity(b.len()));
    let mut replicates: Vec<f64> = (0..reps)
        .map(|_| {
            resample(&mut rng, &a, &mut xa);
            if kind == BootStatistic::MeanDiff {
                resample(&mut rng, &b, &mut yb);
            }
            statistic(kind, &mut xa, &yb)
        })
        .collect();
    let boot_mean = mean(&replicates);
    let se = crate::describe::variance(&replicates).sqrt();
    replicates.sort_by(f64::total_cmp);
    let alpha = 1.0 - conf_level;
    let n_used = a.len() + b.len();
    let mut r = match method {
        BootMethod::Percentile => StatResult::new("Bootstrap percentile interval", n_used).ci((
            quantile_sorted(&replicates, alpha / 2.0),
            quantile_sorted(&replicates, 1.0 - alpha / 2.0),
        )),
        BootMethod::Bca => {
            let below = replicates.iter().filter(|v| **v < estimate).count() as f64 / reps as f64;
            if below <= 0.0 || below >= 1.0 {
                return Err(StatsError::Invalid(
                    "the BCa interval is undefined: every bootstrap replicate lies on one side of the estimate (use the percentile method)".into(),
                ));
            }
            let z0 = qnorm(below);
            let (mut num, mut den) = (0.0, 0.0);
            for group in jackknife(kind, &a, &b) {
                let m = mean(&group);
                for v in group {
                    num += (m - v).powi(3);
                    den += (m - v).powi(2);
                }
            }
            let acc = if den > 0.0 { num / (6.0 * den.powf(1.5)) } else { 0.0 };
            let adjust = |z: f64| pnorm(z0 + (z0 + z) / (1.0 - acc * (z0 + z)));
            let (p_lo, p_hi) = (adjust(qnorm(alpha / 2.0)), adjust(qnorm(1.0 - alpha / 2.0)));
            StatResult::new("Bootstrap BCa interval", n_used)
                .ci((quantile_sorted(&replicates, p_lo), quantile_sorted(&replicates, p_hi)))
                .with("z0", z0)
                .with("acceleration", acc)
        }
    };
    r.estimate = Some(estimate);
    Ok(r.with("reps", reps as f64)
        .with("seed", seed as f64)
        .with("bias", boot_mean - estimate)
        .with("se", se))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn some(v: &[f64]) -> Vec<Option<f64>> {
        v.iter().map(|x| Some(*x)).collect()
    }

    const DATA: [f64; 15] =
        [2.1, 3.4, 1.9, 5.6, 2.8, 3.3, 4.1, 2.2, 6.9, 3.0, 2.6, 3.8, 4.4, 1.7, 9.2];

    #[test]
    fn same_seed_same_interval_other_seed_other_interval() {
        let a = bootstrap(&some(&DATA), None, BootStatistic::Mean, 2000, 42, BootMethod::Bca, 0.95)
            .unwrap();
        let b = bootstrap(&some(&DATA), None, BootStatistic::Mean, 2000, 42, BootMethod::Bca, 0.95)
            .unwrap();
        let c = bootstrap(&some(&DATA), None, BootStatistic::Mean, 2000, 43, BootMethod::Bca, 0.95)
            .unwrap();
        assert_eq!(a, b);
        assert_ne!(a.ci_low, c.ci_low);
    }

    #[test]
    fn intervals_are_sensible() {
        // The percentile interval of the mean is close to the t interval for n = 15
        // (t.test(DATA)$conf.int = 2.67, 4.88 by the same t formula); BCa moves right for
        // right-skewed data (positive acceleration).
        let p = bootstrap(
            &some(&DATA),
            None,
            BootStatistic::Mean,
            4000,
            1,
            BootMethod::Percentile,
            0.95,
        )
        .unwrap();
        let n = DATA.len() as f64;
        let m = mean(&DATA);
        let half = crate::dist::qt(0.975, n - 1.0) * (crate::describe::variance(&DATA) / n).sqrt();
        assert!(
            (p.ci_low.unwrap() - (m - half)).abs() < 0.3
                && (p.ci_high.unwrap() - (m + half)).abs() < 0.4,
            "{p:?}"
        );
        let bca =
            bootstrap(&some(&DATA), None, BootStatistic::Mean, 4000, 1, BootMethod::Bca, 0.95)
                .unwrap();
        assert!(bca.extra("acceleration").unwrap() > 0.0);
        assert!(bca.ci_high.unwrap() > p.ci_high.unwrap());
        let d = bootstrap(
            &some(&DATA),
            Some(&some(&DATA[..10])),
            BootStatistic::MeanDiff,
            500,
            1,
            BootMethod::Bca,
            0.95,
        )
        .unwrap();
        assert!(
            d.ci_low.unwrap() < d.estimate.unwrap() && d.estimate.unwrap() < d.ci_high.unwrap()
        );
        assert!(
            bootstrap(&some(&DATA), None, BootStatistic::Median, 10, 1, BootMethod::Bca, 0.95)
                .is_err()
        );
    }

    proptest! {
        #[test]
        fn shifting_the_data_shifts_the_interval(shift in -50.0f64..50.0) {
            let shifted: Vec<f64> = DATA.iter().map(|v| v + shift).collect();
            for kind in [BootStatistic::Mean, BootStatistic::Median] {
                let a = bootstrap(&some(&DATA), None, kind, 300, 9, BootMethod::Percentile, 0.9).unwrap();
                let b = bootstrap(&some(&shifted), None, kind, 300, 9, BootMethod::Percentile, 0.9).unwrap();
                prop_assert!((a.ci_low.unwrap() + shift - b.ci_low.unwrap()).abs() < 1e-9);
                prop_assert!((a.ci_high.unwrap() + shift - b.ci_high.unwrap()).abs() < 1e-9);
            }
        }
    }
}

//! Benchmarks: the Wilcoxon signed-rank test (the exact distribution, and the whole test
//! with its Hodges–Lehmann estimate and CI) and Krippendorff's alpha, at n = 1,000 and
//! 100,000. Inputs are generated on the fly from a fixed seed. Run with
//! `cargo bench -p folge-stats`.

use divan::Bencher;
use folge_stats::{Level, krippendorff_alpha, wilcoxon_signed_rank};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

fn main() {
    divan::main();
}

/// Paired data with continuous (untied) differences.
fn pairs(n: usize) -> (Vec<Option<f64>>, Vec<Option<f64>>) {
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    let x = (0..n).map(|_| Some(rng.random::<f64>() * 10.0 + 0.3)).collect();
    let y = (0..n).map(|_| Some(rng.random::<f64>() * 10.0)).collect();
    (x, y)
}

/// The exact null distribution is only used below n = 50; forcing it at n = 1,000 measures
/// its O(n³) cost (500 million additions). n = 100,000 would take ~10⁶ times longer and
/// is not benchmarked: the test uses the normal approximation there, as R does.
#[divan::bench(args = [50, 200, 1_000], sample_count = 5)]
fn wilcoxon_exact(bencher: Bencher, n: usize) {
    let (x, y) = pairs(n);
    bencher.bench(|| wilcoxon_signed_rank(divan::black_box(&x), &y, Some(true), true, 0.95));
}

/// The test as `folge stats wilcoxon` runs it (normal approximation above n = 50), with the
/// Hodges–Lehmann estimate and the root-found CI.
#[divan::bench(args = [1_000, 100_000], sample_count = 5)]
fn wilcoxon_auto(bencher: Bencher, n: usize) {
    let (x, y) = pairs(n);
    bencher.bench(|| wilcoxon_signed_rank(divan::black_box(&x), &y, None, true, 0.95));
}

/// 3 coders × n units, 5 ordered categories, 10 % missing.
fn codings(units: usize) -> Vec<Vec<Option<f64>>> {
    let mut rng = ChaCha8Rng::seed_from_u64(2);
    let truth: Vec<f64> = (0..units).map(|_| f64::from(rng.random_range(1..=5u8))).collect();
    (0..3)
        .map(|_| {
            truth
                .iter()
                .map(|t| {
                    if rng.random::<f64>() < 0.1 {
                        None
                    } else if rng.random::<f64>() < 0.8 {
                        Some(*t)
                    } else {
                        Some(f64::from(rng.random_range(1..=5u8)))
                    }
                })
                .collect()
        })
        .collect()
}

#[divan::bench(args = [1_000, 100_000], sample_count = 5)]
fn krippendorff_nominal(bencher: Bencher, units: usize) {
    let data = codings(units);
    bencher.bench(|| krippendorff_alpha(divan::black_box(&data), Level::Nominal));
}

#[divan::bench(args = [1_000, 100_000], sample_count = 5)]
fn krippendorff_ordinal(bencher: Bencher, units: usize) {
    let data = codings(units);
    bencher.bench(|| krippendorff_alpha(divan::black_box(&data), Level::Ordinal));
}

#[divan::bench(args = [1_000, 100_000], sample_count = 5)]
fn krippendorff_interval(bencher: Bencher, units: usize) {
    let data = codings(units);
    bencher.bench(|| krippendorff_alpha(divan::black_box(&data), Level::Interval));
}

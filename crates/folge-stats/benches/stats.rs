//! Benchmarks: the Wilcoxon signed-rank test (the exact distribution, and the whole test
//! with its Hodges–Lehmann estimate and CI), Krippendorff's alpha, at n = 1,000 and
//! 100,000, and the Poisson and negative binomial GLMs at 500,000 rows × 20 columns with
//! clusters (the size of a regional pilot's person-periods). Inputs are generated on the fly from a fixed seed. Run with
//! `cargo bench -p folge-stats`.

use divan::Bencher;
use folge_stats::{Level, krippendorff_alpha, negbin_glm, poisson_glm, wilcoxon_signed_rank};
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

/// A GLM problem: `rows` × 20 design (intercept and 19 covariates, the first a treatment
/// indicator), offsets, over-dispersed counts (exponential mixing of the mean, so θ ≈ 1)
/// and 4 rows per cluster.
struct GlmData {
    x: Vec<f64>,
    y: Vec<f64>,
    offset: Vec<f64>,
    cluster: Vec<usize>,
}

const GLM_K: usize = 20;

fn glm_data(rows: usize) -> GlmData {
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    let mut x = Vec::with_capacity(rows * GLM_K);
    let (mut y, mut offset) = (Vec::with_capacity(rows), Vec::with_capacity(rows));
    for _ in 0..rows {
        let mut eta = -0.5;
        x.push(1.0);
        for j in 1..GLM_K {
            let v = if j == 1 {
                f64::from(u8::from(rng.random::<f64>() < 0.5))
            } else {
                rng.random::<f64>() - 0.5
            };
            eta += 0.1 * v;
            x.push(v);
        }
        let o = (0.2 + rng.random::<f64>()).ln();
        let mu = (eta + o).exp() * -(1.0 - rng.random::<f64>()).ln() * 3.0;
        // A count near μ: the floor plus a Bernoulli of the fraction.
        y.push(mu.floor() + f64::from(u8::from(rng.random::<f64>() < mu.fract())));
        offset.push(o);
    }
    GlmData { x, y, offset, cluster: (0..rows).map(|i| i / 4).collect() }
}

#[divan::bench(args = [500_000], sample_count = 3)]
fn poisson_glm_clustered(bencher: Bencher, rows: usize) {
    let d = glm_data(rows);
    bencher.bench(|| {
        poisson_glm(divan::black_box(&d.x), GLM_K, &d.y, &d.offset, None, Some(&d.cluster))
    });
}

#[divan::bench(args = [500_000], sample_count = 3)]
fn negbin_glm_clustered(bencher: Bencher, rows: usize) {
    let d = glm_data(rows);
    bencher.bench(|| {
        negbin_glm(divan::black_box(&d.x), GLM_K, &d.y, &d.offset, None, Some(&d.cluster))
    });
}

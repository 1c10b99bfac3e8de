//! The few distributions the generator needs, built on `next_u64` so their output is fixed
//! by the seed alone (no dependency on a distribution crate's algorithm changes).

use rand::Rng;

/// Uniform in [0, 1).
pub fn uniform(rng: &mut impl Rng) -> f64 {
    // 53 random bits → [0, 1) exactly representable.
    (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64
}

/// Uniform integer in `lo..=hi`.
pub fn int(rng: &mut impl Rng, lo: i64, hi: i64) -> i64 {
    lo + (uniform(rng) * (hi - lo + 1) as f64) as i64
}

/// True with probability `p`.
pub fn chance(rng: &mut impl Rng, p: f64) -> bool {
    uniform(rng) < p
}

/// One element of a non-empty slice.
pub fn pick<'a, T>(rng: &mut impl Rng, items: &'a [T]) -> &'a T {
    &items[int(rng, 0, items.len() as i64 - 1) as usize]
}

/// Standard normal (Box–Muller).
pub fn normal(rng: &mut impl Rng) -> f64 {
    let u1 = 1.0 - uniform(rng);
    let u2 = uniform(rng);
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

/// Poisson count with mean `lambda` (Knuth's multiplication method, split into chunks of
/// mean ≤ 30 so `exp(-lambda)` never underflows).
pub fn poisson(rng: &mut impl Rng, lambda: f64) -> u32 {
    let mut remaining = lambda.max(0.0);
    let mut total = 0;
    while remaining > 0.0 {
        let chunk = remaining.min(30.0);
        remaining -= chunk;
        let limit = (-chunk).exp();
        let mut product = uniform(rng);
        while product > limit {
            total += 1;
            product *= uniform(rng);
        }
    }
    total
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn poisson_mean_is_close() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
        let n = 20_000;
        let mean = (0..n).map(|_| f64::from(poisson(&mut rng, 45.0))).sum::<f64>() / f64::from(n);
        // SE of the mean = sqrt(45 / 20000) ≈ 0.047; 0.25 is > 5 SE.
        assert!((mean - 45.0).abs() < 0.25, "{mean}");
    }
}

//! Ranks with ties, and the rounding rule for tie detection.
//!
//! Raw floating-point differences break ties that exist in the data (11.2 − 10.9 and
//! 9.8 − 9.5 differ in the last bits), which changes tie-corrected p-values. folge rounds
//! differences to the data's precision — the most decimals any input value needs, at most
//! 10 — before ranking, which gives what R gives on differences typed in with that
//! precision (R's `wilcox.test` offers `digits.rank` for the same purpose).

/// Decimals needed to write `v` exactly (up to 10): the smallest `k` with `v·10^k` whole to
/// within 1e-6 of a unit in that place.
pub fn decimals(v: f64) -> u32 {
    (0..=10)
        .find(|&k| {
            let scaled = v * 10f64.powi(k as i32);
            (scaled - scaled.round()).abs() < 1e-6
        })
        .unwrap_or(10)
}

/// Round to `digits` decimals.
pub fn round_to(v: f64, digits: u32) -> f64 {
    let scale = 10f64.powi(digits as i32);
    (v * scale).round() / scale
}

/// Most decimals needed by any value.
pub(crate) fn precision(values: impl IntoIterator<Item = f64>) -> u32 {
    values.into_iter().map(decimals).max().unwrap_or(0)
}

/// Midranks (1-based, ties share their average rank) and the tie-group sizes.
pub(crate) fn midranks(values: &[f64]) -> (Vec<f64>, Vec<usize>) {
    let mut order: Vec<usize> = (0..values.len()).collect();
    order.sort_by(|&a, &b| values[a].total_cmp(&values[b]));
    let mut ranks = vec![0.0; values.len()];
    let mut ties = Vec::new();
    let mut i = 0;
    while i < order.len() {
        let mut j = i + 1;
        while j < order.len() && values[order[j]] == values[order[i]] {
            j += 1;
        }
        let rank = (i + 1 + j) as f64 / 2.0;
        for &k in &order[i..j] {
            ranks[k] = rank;
        }
        if j - i > 1 {
            ties.push(j - i);
        }
        i = j;
    }
    (ranks, ties)
}

/// Σ (t³ − t) over tie groups.
pub(crate) fn tie_sum(ties: &[usize]) -> f64 {
    ties.iter().map(|&t| (t * t * t - t) as f64).sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranks_and_ties() {
        let (r, t) = midranks(&[3.0, 1.0, 3.0, 2.0, 3.0]);
        assert_eq!(r, vec![4.0, 1.0, 4.0, 2.0, 4.0]);
        assert_eq!(t, vec![3]);
        assert!((tie_sum(&t) - 24.0).abs() < 1e-12);
    }

    #[test]
    fn rounding_restores_ties() {
        assert_eq!(decimals(11.2), 1);
        assert_eq!(decimals(3.0), 0);
        assert_eq!(decimals(0.125), 3);
        let (a, b) = (11.2 - 10.9, 9.8 - 9.5);
        assert_ne!(a, b);
        assert_eq!(round_to(a, 1), round_to(b, 1));
    }
}

//! The studentised cluster bootstrap (bootstrap-t) of a change in pooled rates: within an
//! arm `after rate − before rate`, between arms the difference of those changes (the
//! difference in differences), persons resampled with replacement within each arm.
//!
//! Each resample's change is studentised by its own cluster-jackknife SE, `t* = (d* −
//! d̂)/se*`, and the interval is `[d̂ − ŝ t*₍₁₋α/₂₎, d̂ − ŝ t*₍α/₂₎]` (Efron & Tibshirani
//! 1993 §12.5; Davison & Hinkley 1997 §5.2.1). Pooled rates of persons whose use differs a
//! lot are skewed, and so is a difference of them; a symmetric interval around the
//! difference — the delta method, or the jackknife with Pan & Wall's t and the BCa
//! acceleration — missed 7–8 % in folge-analyze's calibration study, nearly all on one
//! side, and MOVER from the two rates' intervals was far too wide (the before and after
//! rates of the same persons move together). The bootstrap-t takes the skew from the
//! distribution of the studentised change itself: second-order accurate.
//!
//! Cost: `resamples × 2 × persons` additions (each resample's jackknife is exact in one
//! pass from its totals). Seeded ChaCha8: the same seed gives the same interval on every
//! machine.

use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::TwoWindows;

/// Resamples of [`rate_change_interval`] (999: the 2.5 % and 97.5 % points are the 25th
/// and 975th of them).
pub const BOOTSTRAP_T_RESAMPLES: usize = 999;

/// One arm's change `Σ after / Σ after-years − Σ before / Σ before-years` and its cluster
/// jackknife variance `(G − 1)/G Σ_i (d₍₋i₎ − d)²`, over `persons` (indices into `all`).
/// `None` where a window has no time, or leaving a person out leaves a window without.
fn change_and_variance(all: &[TwoWindows], persons: &[u32]) -> Option<(f64, f64)> {
    let mut t = [0.0; 4];
    for &i in persons {
        let w = &all[i as usize];
        t[0] += w.before;
        t[1] += w.before_years;
        t[2] += w.after;
        t[3] += w.after_years;
    }
    if t[1] <= 0.0 || t[3] <= 0.0 {
        return None;
    }
    let d = t[2] / t[3] - t[0] / t[1];
    let mut sum2 = 0.0;
    for &i in persons {
        let w = &all[i as usize];
        let (before_years, after_years) = (t[1] - w.before_years, t[3] - w.after_years);
        if before_years <= 0.0 || after_years <= 0.0 {
            return None;
        }
        let m = (t[2] - w.after) / after_years - (t[0] - w.before) / before_years - d;
        sum2 += m * m;
    }
    let g = persons.len() as f64;
    Some((d, (g - 1.0) / g * sum2))
}

/// `Σ_k sign_k · change_k` and its jackknife variance (arms independent: variances add).
fn contrast(arms: &[(&[TwoWindows], f64)], persons: &[Vec<u32>]) -> Option<(f64, f64)> {
    let mut d = 0.0;
    let mut v = 0.0;
    for ((all, sign), chosen) in arms.iter().zip(persons) {
        let (change, variance) = change_and_variance(all, chosen)?;
        d += sign * change;
        v += variance;
    }
    Some((d, v))
}

/// The bootstrap-t interval at `conf_level` of `Σ_k sign_k (after rate − before rate)_k`
/// over the arms `(persons, sign)`, persons resampled within their arm, `resamples` times
/// from `seed`; with the estimate. `None` with fewer than two persons in an arm, where a
/// window has no time, or where more than 1 % of the resamples have no studentised value
/// (a resample or one of its leave-one-outs without time in a window).
pub fn rate_change_interval(
    arms: &[(&[TwoWindows], f64)],
    conf_level: f64,
    resamples: usize,
    seed: u64,
) -> Option<(f64, f64, f64)> {
    if crate::error::check_level(conf_level).is_err()
        || resamples < 2
        || arms.iter().any(|(all, _)| all.len() < 2 || all.len() > u32::MAX as usize)
    {
        return None;
    }
    let everyone: Vec<Vec<u32>> =
        arms.iter().map(|(all, _)| (0..all.len() as u32).collect()).collect();
    let (estimate, variance) = contrast(arms, &everyone)?;
    let se = variance.sqrt();
    if !(se > 0.0 && se.is_finite()) {
        return None;
    }
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut chosen: Vec<Vec<u32>> =
        arms.iter().map(|(all, _)| Vec::with_capacity(all.len())).collect();
    let mut t = Vec::with_capacity(resamples);
    for _ in 0..resamples {
        for ((all, _), into) in arms.iter().zip(chosen.iter_mut()) {
            into.clear();
            let n = all.len() as u64;
            into.extend((0..all.len()).map(|_| rng.random_range(0..n) as u32));
        }
        match contrast(arms, &chosen) {
            Some((d, v)) if v > 0.0 => t.push((d - estimate) / v.sqrt()),
            Some((d, _)) if d == estimate => t.push(0.0),
            _ => {}
        }
    }
    if (resamples - t.len()) * 100 > resamples {
        return None;
    }
    t.sort_by(f64::total_cmp);
    let alpha = 1.0 - conf_level;
    // The (B + 1)·p-th smallest of B values (1-based), as for B = 999 at 2.5 % and 97.5 %.
    let at = |p: f64| {
        let rank = ((t.len() + 1) as f64 * p).round() as usize;
        t[rank.clamp(1, t.len()) - 1]
    };
    let (t_low, t_high) = (at(alpha / 2.0), at(1.0 - alpha / 2.0));
    let (lo, hi) = (estimate - se * t_high, estimate - se * t_low);
    (lo.is_finite() && hi.is_finite()).then_some((estimate, lo, hi))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn persons(n: usize, skew: f64) -> Vec<TwoWindows> {
        // A few heavy users, most light; exposure cut for some.
        (0..n)
            .map(|i| {
                let level = if i % 17 == 0 { skew } else { 1.0 + (i % 5) as f64 };
                TwoWindows {
                    before: (level * (1.0 + (i % 3) as f64)).floor(),
                    before_years: 1.0,
                    after: (level * (0.5 + (i % 4) as f64)).floor(),
                    after_years: if i % 7 == 0 { 0.4 } else { 1.0 },
                }
            })
            .collect()
    }

    #[test]
    fn the_estimate_is_the_pooled_change_and_the_interval_is_seeded() {
        let p = persons(120, 40.0);
        let (d, lo, hi) = rate_change_interval(&[(&p, 1.0)], 0.95, 999, 7).unwrap();
        let sum = |f: fn(&TwoWindows) -> f64| p.iter().map(f).sum::<f64>();
        let direct =
            sum(|w| w.after) / sum(|w| w.after_years) - sum(|w| w.before) / sum(|w| w.before_years);
        assert!((d - direct).abs() < 1e-12);
        assert!(lo < d && d < hi, "{lo} {d} {hi}");
        assert_eq!(rate_change_interval(&[(&p, 1.0)], 0.95, 999, 7), Some((d, lo, hi)));
        assert_ne!(rate_change_interval(&[(&p, 1.0)], 0.95, 999, 8), Some((d, lo, hi)));
    }

    #[test]
    fn the_resamples_jackknife_is_the_leave_one_out_by_brute_force() {
        // The one-pass jackknife of a resample (duplicates are clusters of their own)
        // equals recomputing the change without each drawn person.
        let p = persons(30, 12.0);
        let drawn: Vec<u32> = (0..30u32).map(|i| (i * 7 + 3) % 30).collect();
        let (d, v) = change_and_variance(&p, &drawn).unwrap();
        let change = |chosen: &[u32]| {
            let s =
                |f: fn(&TwoWindows) -> f64| chosen.iter().map(|&i| f(&p[i as usize])).sum::<f64>();
            s(|w| w.after) / s(|w| w.after_years) - s(|w| w.before) / s(|w| w.before_years)
        };
        assert!((d - change(&drawn)).abs() < 1e-12);
        let moves: f64 = (0..drawn.len())
            .map(|k| {
                let rest: Vec<u32> =
                    drawn.iter().enumerate().filter(|(j, _)| *j != k).map(|(_, i)| *i).collect();
                (change(&rest) - d).powi(2)
            })
            .sum();
        assert!((v - 29.0 / 30.0 * moves).abs() < 1e-12 * v.max(1.0), "{v}");
    }

    #[test]
    fn a_difference_in_differences_takes_each_arm_s_sign_and_a_skewed_change_an_uneven_interval() {
        let (pilot, comparison) = (persons(90, 60.0), persons(110, 3.0));
        let (d, lo, hi) =
            rate_change_interval(&[(&pilot, 1.0), (&comparison, -1.0)], 0.95, 999, 1).unwrap();
        let (dp, ..) = rate_change_interval(&[(&pilot, 1.0)], 0.95, 999, 1).unwrap();
        let (dc, ..) = rate_change_interval(&[(&comparison, 1.0)], 0.95, 999, 1).unwrap();
        assert!((d - (dp - dc)).abs() < 1e-12);
        assert!(lo < d && d < hi);
        // Heavy users in the after window only: the change is skewed, and so its interval.
        let skewed: Vec<TwoWindows> = persons(60, 1.0)
            .into_iter()
            .enumerate()
            .map(|(i, w)| TwoWindows { after: if i % 20 == 0 { 80.0 } else { w.after }, ..w })
            .collect();
        let (ds, los, his) = rate_change_interval(&[(&skewed, 1.0)], 0.95, 999, 1).unwrap();
        assert!(his - ds > 1.2 * (ds - los), "{los} {ds} {his}");
        // One person in an arm: no interval.
        assert_eq!(rate_change_interval(&[(&pilot[..1], 1.0)], 0.95, 999, 1), None);
    }
}

//! Paired before/after methods on d = x − y (R's `t.test(x, y, paired = TRUE)` convention;
//! the analyze stage passes after as `x` and before as `y`): the paired t test with the
//! standardised effect sizes `d_z` and `g_z`, and the Wilcoxon signed-rank test with the
//! Hodges–Lehmann estimate.

use crate::describe::{mean, variance};
use crate::dist::{invert, pnorm, pnt, pt, qnorm, qt};
use crate::error::check_level;
use crate::ranks::{midranks, precision, round_to, tie_sum};
use crate::{StatResult, StatsError};
use statrs::function::gamma::ln_gamma;

/// Differences `x − y` of the pairs where both sides are present, and how many pairs were
/// dropped for a missing side.
pub fn complete_pairs(
    x: &[Option<f64>],
    y: &[Option<f64>],
) -> Result<(Vec<f64>, usize), StatsError> {
    if x.len() != y.len() {
        return Err(StatsError::UnequalLengths {
            what: "paired x and y",
            left: x.len(),
            right: y.len(),
        });
    }
    crate::error::check_finite("paired x", x.iter().flatten())?;
    crate::error::check_finite("paired y", y.iter().flatten())?;
    let d: Vec<f64> = x.iter().zip(y).filter_map(|(a, b)| Some((*a)? - (*b)?)).collect();
    let dropped = x.len() - d.len();
    Ok((d, dropped))
}

/// Paired t test, as `t.test(x, y, paired = TRUE, conf.level = conf_level)`: estimate
/// mean(x − y), t, df = n − 1, two-sided p and CI. Extras: `n_missing` (pairs dropped),
/// `d_z` = mean/sd of the differences with its CI from inverting the noncentral t
/// (Steiger & Fouladi 1997, as R's `effectsize::cohens_d(paired = TRUE)`), and `g_z` = `d_z` ·
/// J with J = Γ(df/2) / (√(df/2) Γ((df − 1)/2)) (Hedges 1981), CI scaled by J.
pub fn paired_t(
    x: &[Option<f64>],
    y: &[Option<f64>],
    conf_level: f64,
) -> Result<StatResult, StatsError> {
    check_level(conf_level)?;
    let (d, dropped) = complete_pairs(x, y)?;
    let n = d.len();
    if n < 2 {
        return Err(StatsError::TooFew { what: "the paired t test", needed: 2, got: n });
    }
    let m = mean(&d);
    let var = variance(&d);
    if !(m.is_finite() && var.is_finite()) {
        return Err(StatsError::Overflow { what: "the paired t test".into() });
    }
    if var <= 0.0 {
        return Err(StatsError::ZeroVariance("the paired t test (all differences are equal)"));
    }
    let nf = n as f64;
    let df = nf - 1.0;
    let se = (var / nf).sqrt();
    let t = m / se;
    let q = qt(1.0 - (1.0 - conf_level) / 2.0, df);
    let p = (2.0 * pt(-t.abs(), df)).min(1.0);
    let d_z = m / var.sqrt();
    let (lo, hi) = ncp_interval(t, df, conf_level);
    let j = (ln_gamma(df / 2.0) - (df / 2.0).sqrt().ln() - ln_gamma((df - 1.0) / 2.0)).exp();
    let (dz_lo, dz_hi) = (lo / nf.sqrt(), hi / nf.sqrt());
    let mut r = StatResult::new("Paired t-test", n).ci((m - q * se, m + q * se));
    r.estimate = Some(m);
    r.statistic = Some(t);
    r.df = Some(df);
    r.p_value = Some(p);
    Ok(r.with("n_missing", dropped as f64)
        .with("d_z", d_z)
        .with("d_z_ci_low", dz_lo)
        .with("d_z_ci_high", dz_hi)
        .with("g_z", d_z * j)
        .with("g_z_ci_low", dz_lo * j)
        .with("g_z_ci_high", dz_hi * j))
}

/// The noncentrality parameters whose t distributions put `t` at the upper and lower
/// (1 − level)/2 quantiles.
fn ncp_interval(t: f64, df: f64, conf_level: f64) -> (f64, f64) {
    let alpha = 1.0 - conf_level;
    // pnt(t; ncp) decreases in ncp; the roots lie within t ± 40 for any df ≥ 1 and level < 1 − 1e-12.
    let root = |target: f64| invert(|ncp| pnt(t, df, ncp), target, t - 40.0, t + 40.0, false);
    (root(1.0 - alpha / 2.0), root(alpha / 2.0))
}

/// Exact distribution of the signed-rank statistic V for n untied ranks: `probs[v]` =
/// P(V = v), built by halving so it stays in range for any n (O(n³)).
fn signrank_distribution(n: usize) -> Vec<f64> {
    let max = n * (n + 1) / 2;
    let mut probs = vec![0.0; max + 1];
    probs[0] = 1.0;
    for i in 1..=n {
        let top = i * (i + 1) / 2;
        for s in (0..=top).rev() {
            let with = if s >= i { probs[s - i] } else { 0.0 };
            probs[s] = 0.5 * (probs[s] + with);
        }
    }
    probs
}

/// The k-th smallest (1-based) Walsh average (dᵢ + dⱼ)/2, i ≤ j, of sorted `d`, found by
/// bisection on the value with an O(n) two-pointer count, so no n²/2 array is built.
pub(crate) fn walsh_order_statistic(sorted: &[f64], k: usize) -> f64 {
    // #{i ≤ j : dᵢ + dⱼ ≤ s}
    let count = |s: f64| -> usize {
        let n = sorted.len();
        let mut total = 0;
        let mut j = n;
        for i in 0..n {
            while j > 0 && sorted[i] + sorted[j - 1] > s {
                j -= 1;
            }
            if j <= i {
                break;
            }
            total += j - i;
        }
        total
    };
    let (mut lo, mut hi) = (2.0 * sorted[0], 2.0 * sorted[sorted.len() - 1]);
    for _ in 0..200 {
        let mid = 0.5 * (lo + hi);
        if mid <= lo || mid >= hi {
            break;
        }
        if count(mid) >= k { hi = mid } else { lo = mid }
    }
    // The answer is the smallest pair sum ≥ lo that reaches count k: take the largest pair
    // sum ≤ hi, which is an actual Walsh sum.
    let mut best = f64::NEG_INFINITY;
    let n = sorted.len();
    let mut j = n;
    for i in 0..n {
        while j > 0 && sorted[i] + sorted[j - 1] > hi {
            j -= 1;
        }
        if j > i {
            best = best.max(sorted[i] + sorted[j - 1]);
        }
    }
    best / 2.0
}

/// Hodges–Lehmann pseudomedian: the median of the Walsh averages.
fn walsh_median(sorted: &[f64]) -> f64 {
    let n = sorted.len();
    let total = n * (n + 1) / 2;
    if total % 2 == 1 {
        walsh_order_statistic(sorted, total.div_ceil(2))
    } else {
        0.5 * (walsh_order_statistic(sorted, total / 2)
            + walsh_order_statistic(sorted, total / 2 + 1))
    }
}

/// Wilcoxon signed-rank test on d = x − y, as `wilcox.test(x, y, paired = TRUE, exact,
/// correct, conf.int = TRUE)`. Differences are rounded to the data's precision before
/// ranking (see [`crate::decimals`]); zeros are dropped as R does. Exact when `exact` is
/// `Some(true)`, or `None` and n < 50, and there are no ties or zeros; otherwise the
/// normal approximation with tie correction (and continuity correction when `correct`).
/// `statistic` is V (sum of positive ranks); `estimate` is the Hodges–Lehmann
/// pseudomedian (median of the Walsh averages of the nonzero differences); the CI is R's:
/// order statistics of the Walsh averages when exact, else the roots of the (corrected)
/// normal statistic in the shift.
pub fn wilcoxon_signed_rank(
    x: &[Option<f64>],
    y: &[Option<f64>],
    exact: Option<bool>,
    correct: bool,
    conf_level: f64,
) -> Result<StatResult, StatsError> {
    check_level(conf_level)?;
    let (raw, dropped) = complete_pairs(x, y)?;
    let digits = precision(x.iter().chain(y).flatten().copied());
    let all: Vec<f64> = raw.iter().map(|v| round_to(*v, digits)).collect();
    let d: Vec<f64> = all.iter().copied().filter(|v| *v != 0.0).collect();
    let zeros = all.len() - d.len();
    let n = d.len();
    if n == 0 {
        return Err(StatsError::TooFew {
            what: "the Wilcoxon signed-rank test (nonzero differences)",
            needed: 1,
            got: 0,
        });
    }
    let abs: Vec<f64> = d.iter().map(|v| v.abs()).collect();
    let (ranks, ties) = midranks(&abs);
    let v: f64 = d.iter().zip(&ranks).filter(|(di, _)| **di > 0.0).map(|(_, r)| r).sum();
    let nf = n as f64;
    let use_exact = exact.unwrap_or(n < 50) && ties.is_empty() && zeros == 0;
    let alpha = 1.0 - conf_level;
    let mut sorted = d.clone();
    sorted.sort_by(f64::total_cmp);
    let estimate = walsh_median(&sorted);
    let (method, p, ci) = if use_exact {
        let probs = signrank_distribution(n);
        let cdf = |q: i64| -> f64 {
            if q < 0 { 0.0 } else { probs[..=(q as usize).min(probs.len() - 1)].iter().sum() }
        };
        let vi = v as i64;
        let half = if v > nf * (nf + 1.0) / 4.0 { 1.0 - cdf(vi - 1) } else { cdf(vi) };
        // R: qu <- qsignrank(alpha/2, n); if (qu == 0) qu <- 1; ql <- n(n+1)/2 - qu;
        // cint <- c(w[qu], w[ql + 1]) on the sorted Walsh averages.
        let mut qu = 0usize;
        let mut acc = 0.0;
        for (q, p) in probs.iter().enumerate() {
            acc += p;
            if acc >= alpha / 2.0 - 1e-12 {
                qu = q;
                break;
            }
        }
        let qu = qu.max(1);
        let ql = n * (n + 1) / 2 - qu;
        let ci = (walsh_order_statistic(&sorted, qu), walsh_order_statistic(&sorted, ql + 1));
        ("Wilcoxon signed rank exact test".to_owned(), (2.0 * half).min(1.0), ci)
    } else {
        let z = signed_rank_z(&d, 0.0, correct);
        let p = 2.0 * pnorm(-z.abs());
        let zq = qnorm(1.0 - alpha / 2.0);
        let (lo_d, hi_d) = (sorted[0], sorted[n - 1]);
        // wdiff(mu) = z(d − mu) − zq decreases in mu; R returns the bound itself when the
        // root lies outside [min d, max d].
        let root = |zq: f64| {
            let f = |mu: f64| signed_rank_z(&d, mu, correct) - zq;
            if f(lo_d) <= 0.0 {
                lo_d
            } else if f(hi_d) >= 0.0 {
                hi_d
            } else {
                invert(|mu| -f(mu), 0.0, lo_d, hi_d, true)
            }
        };
        let mut method = "Wilcoxon signed rank test".to_owned();
        if correct {
            method.push_str(" with continuity correction");
        }
        if exact == Some(true) || (exact.is_none() && n < 50) {
            method.push_str(
                " (normal approximation: exact p is not possible with ties or zero differences)",
            );
        }
        (method, p.min(1.0), (root(zq), root(-zq)))
    };
    let mut r = StatResult::new(method, n).ci(ci);
    r.estimate = Some(estimate);
    r.statistic = Some(v);
    r.p_value = Some(p);
    Ok(r.with("n_missing", dropped as f64)
        .with("n_zero", zeros as f64)
        .with("tie_groups", ties.len() as f64))
}

/// The normal statistic of the signed-rank test of `d − mu` (zeros dropped, tie-corrected
/// variance, optional continuity correction): R's `wdiff` without the quantile.
fn signed_rank_z(d: &[f64], mu: f64, correct: bool) -> f64 {
    let xd: Vec<f64> = d.iter().map(|v| v - mu).filter(|v| *v != 0.0).collect();
    let n = xd.len() as f64;
    if xd.is_empty() {
        return 0.0;
    }
    let abs: Vec<f64> = xd.iter().map(|v| v.abs()).collect();
    let (ranks, ties) = midranks(&abs);
    let v: f64 = xd.iter().zip(&ranks).filter(|(x, _)| **x > 0.0).map(|(_, r)| r).sum();
    let z = v - n * (n + 1.0) / 4.0;
    let sigma = (n * (n + 1.0) * (2.0 * n + 1.0) / 24.0 - tie_sum(&ties) / 48.0).sqrt();
    let correction = if correct { 0.5 * z.signum() } else { 0.0 };
    if sigma > 0.0 { (z - correction) / sigma } else { 0.0 }
}

#[cfg(test)]
mod tests;

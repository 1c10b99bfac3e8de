//! Two independent groups (e.g. pilot vs comparison change scores): Welch's t test and the
//! Mann–Whitney U (Wilcoxon rank-sum) test.

use crate::describe::{mean, variance};
use crate::dist::{pnorm, pt, qt};
use crate::error::{check_finite, check_level};
use crate::ranks::{midranks, precision, round_to, tie_sum};
use crate::{StatResult, StatsError};

fn present(v: &[Option<f64>]) -> Vec<f64> {
    v.iter().flatten().copied().collect()
}

/// Welch two-sample t test, as `t.test(x, y, conf.level = conf_level)`: estimate
/// mean(x) − mean(y), Welch–Satterthwaite df. Extras: `mean_x`, `mean_y`, `n_x`, `n_y`.
pub fn welch_t(
    x: &[Option<f64>],
    y: &[Option<f64>],
    conf_level: f64,
) -> Result<StatResult, StatsError> {
    check_level(conf_level)?;
    check_finite("x", x.iter().flatten())?;
    check_finite("y", y.iter().flatten())?;
    let (a, b) = (present(x), present(y));
    for (v, what) in [(&a, "Welch's t test (x)"), (&b, "Welch's t test (y)")] {
        if v.len() < 2 {
            return Err(StatsError::TooFew { what, needed: 2, got: v.len() });
        }
    }
    let (na, nb) = (a.len() as f64, b.len() as f64);
    let (va, vb) = (variance(&a) / na, variance(&b) / nb);
    let se2 = va + vb;
    if se2 <= 0.0 {
        return Err(StatsError::ZeroVariance("Welch's t test"));
    }
    let se = se2.sqrt();
    let df = se2 * se2 / (va * va / (na - 1.0) + vb * vb / (nb - 1.0));
    let (ma, mb) = (mean(&a), mean(&b));
    let est = ma - mb;
    let t = est / se;
    let q = qt(1.0 - (1.0 - conf_level) / 2.0, df);
    let mut r = StatResult::new("Welch Two Sample t-test", a.len() + b.len())
        .ci((est - q * se, est + q * se));
    r.estimate = Some(est);
    r.statistic = Some(t);
    r.df = Some(df);
    r.p_value = Some((2.0 * pt(-t.abs(), df)).min(1.0));
    Ok(r.with("mean_x", ma).with("mean_y", mb).with("n_x", na).with("n_y", nb))
}

/// Exact null distribution of W = (rank sum of x) − m(m+1)/2 for untied samples of sizes
/// m and n: `probs[w]` = P(W = w), by the recurrence on the number of x below each y.
fn rank_sum_distribution(m: usize, n: usize) -> Vec<f64> {
    // layer[k][w]: probability that the first `step` values of a random ordering hold k
    // of the x's with statistic w so far. Placing an x after j y's adds j pairs x > y.
    let max = m * n;
    let mut layer = vec![vec![0.0f64; max + 1]; m + 1];
    layer[0][0] = 1.0;
    for step in 0..(m + n) {
        let mut next = vec![vec![0.0f64; max + 1]; m + 1];
        for (x_used, row) in layer.iter().enumerate().take(m.min(step) + 1) {
            let y_used = step - x_used;
            if y_used > n {
                continue;
            }
            let (xs, ys) = (m - x_used, n - y_used);
            let total = (xs + ys) as f64;
            for (w, &p) in row.iter().enumerate().filter(|(_, p)| **p != 0.0) {
                if xs > 0 {
                    next[x_used + 1][w + y_used] += p * xs as f64 / total;
                }
                if ys > 0 {
                    next[x_used][w] += p * ys as f64 / total;
                }
            }
        }
        layer = next;
    }
    layer.swap_remove(m)
}

/// Mann–Whitney U test, as `wilcox.test(x, y, exact, correct)`: `statistic` is R's W (rank
/// sum of x minus m(m+1)/2, the number of pairs with x > y, ties counting ½). Exact when
/// `exact` is `Some(true)`, or `None` and both samples have fewer than 50 values, and
/// there are no ties; otherwise normal with tie correction (and continuity correction
/// when `correct`). `estimate` is the Hodges–Lehmann shift, the median of all xᵢ − yⱼ.
pub fn mann_whitney(
    x: &[Option<f64>],
    y: &[Option<f64>],
    exact: Option<bool>,
    correct: bool,
) -> Result<StatResult, StatsError> {
    check_finite("x", x.iter().flatten())?;
    check_finite("y", y.iter().flatten())?;
    let digits = precision(x.iter().chain(y).flatten().copied());
    let a: Vec<f64> = present(x).into_iter().map(|v| round_to(v, digits)).collect();
    let b: Vec<f64> = present(y).into_iter().map(|v| round_to(v, digits)).collect();
    for (v, what) in [(&a, "the Mann–Whitney test (x)"), (&b, "the Mann–Whitney test (y)")] {
        if v.is_empty() {
            return Err(StatsError::TooFew { what, needed: 1, got: 0 });
        }
    }
    let (m, n) = (a.len(), b.len());
    let all: Vec<f64> = a.iter().chain(&b).copied().collect();
    let (ranks, ties) = midranks(&all);
    let (mf, nf) = (m as f64, n as f64);
    let w: f64 = ranks[..m].iter().sum::<f64>() - mf * (mf + 1.0) / 2.0;
    let use_exact = exact.unwrap_or(m < 50 && n < 50) && ties.is_empty();
    let (method, p) = if use_exact {
        let probs = rank_sum_distribution(m, n);
        let wi = w as usize;
        let cdf = |q: usize| probs[..=q.min(probs.len() - 1)].iter().sum::<f64>();
        let half =
            if w > mf * nf / 2.0 { 1.0 - if wi == 0 { 0.0 } else { cdf(wi - 1) } } else { cdf(wi) };
        ("Wilcoxon rank sum exact test".to_owned(), (2.0 * half).min(1.0))
    } else {
        let z = w - mf * nf / 2.0;
        let total = mf + nf;
        let sigma =
            (mf * nf / 12.0 * ((total + 1.0) - tie_sum(&ties) / (total * (total - 1.0)))).sqrt();
        if sigma == 0.0 {
            return Err(StatsError::ZeroVariance("the Mann–Whitney test (all values tied)"));
        }
        let correction = if correct { 0.5 * z.signum() } else { 0.0 };
        let zs = (z - correction) / sigma;
        let mut method = "Wilcoxon rank sum test".to_owned();
        if correct {
            method.push_str(" with continuity correction");
        }
        if exact == Some(true) || (exact.is_none() && m < 50 && n < 50) {
            method.push_str(" (normal approximation: exact p is not possible with ties)");
        }
        (method, (2.0 * pnorm(-zs.abs())).min(1.0))
    };
    let mut diffs: Vec<f64> = a.iter().flat_map(|ai| b.iter().map(move |bj| ai - bj)).collect();
    diffs.sort_by(f64::total_cmp);
    let estimate = crate::describe::quantile_sorted(&diffs, 0.5);
    let mut r = StatResult::new(method, m + n);
    r.estimate = Some(estimate);
    r.statistic = Some(w);
    r.p_value = Some(p);
    Ok(r.with("n_x", mf).with("n_y", nf))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn some(v: &[f64]) -> Vec<Option<f64>> {
        v.iter().map(|x| Some(*x)).collect()
    }

    #[track_caller]
    fn close(got: f64, want: f64, tol: f64) {
        assert!((got - want).abs() <= tol, "got {got}, want {want}");
    }

    const X: [f64; 7] = [19.1, 22.4, 17.8, 25.0, 21.3, 23.9, 20.2];
    const Y: [f64; 6] = [16.2, 18.9, 15.4, 20.7, 17.1, 14.8];

    #[test]
    fn welch_matches_scipy() {
        // scipy 1.17: stats.ttest_ind(X, Y, equal_var=False) and its confidence_interval(0.95)
        let r = welch_t(&some(&X), &some(&Y), 0.95).unwrap();
        let want = [
            3.142_339_825_290_547_2,
            10.991_106_810_907_084,
            0.009_377_918_712_179_46,
            1.258_621_908_839_272,
            7.146_139_995_922_633,
        ];
        close(r.statistic.unwrap(), want[0], 1e-12);
        close(r.df.unwrap(), want[1], 1e-10);
        close(r.p_value.unwrap(), want[2], 1e-13);
        close(r.ci_low.unwrap(), want[3], 1e-11);
        close(r.ci_high.unwrap(), want[4], 1e-11);
    }

    #[test]
    fn mann_whitney_exact_and_normal_match_scipy() {
        // scipy 1.17: stats.mannwhitneyu(X, Y, method='exact') → U = 38, p
        let r = mann_whitney(&some(&X), &some(&Y), None, true).unwrap();
        // [U exact, p exact, p asymptotic with continuity, U tied, p tied]
        let want = [
            38.0,
            0.013_986_013_986_013_986,
            0.018_416_160_576_303_96,
            6.0,
            0.113_903_144_588_530_68,
        ];
        assert_eq!(r.method, "Wilcoxon rank sum exact test");
        close(r.statistic.unwrap(), want[0], 0.0);
        close(r.p_value.unwrap(), want[1], 1e-13);
        // method='asymptotic', use_continuity=True
        let r = mann_whitney(&some(&X), &some(&Y), Some(false), true).unwrap();
        close(r.p_value.unwrap(), want[2], 1e-13);
        // With ties: scipy mannwhitneyu([1,2,2,3,4], [2,3,3,5,6,7], method='asymptotic')
        let r = mann_whitney(
            &some(&[1.0, 2.0, 2.0, 3.0, 4.0]),
            &some(&[2.0, 3.0, 3.0, 5.0, 6.0, 7.0]),
            None,
            true,
        )
        .unwrap();
        assert!(r.method.contains("normal approximation"));
        close(r.statistic.unwrap(), want[3], 0.0);
        close(r.p_value.unwrap(), want[4], 1e-13);
    }

    #[test]
    fn exact_distribution_sums_to_one_and_is_symmetric() {
        let p = rank_sum_distribution(4, 6);
        close(p.iter().sum(), 1.0, 1e-14);
        for w in 0..p.len() {
            close(p[w], p[p.len() - 1 - w], 1e-15);
        }
        // P(W = 0) = 1 / C(10, 4) = 1/210
        close(p[0], 1.0 / 210.0, 1e-16);
    }
}

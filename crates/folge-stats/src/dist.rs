//! Distribution functions with the accuracy R's `p*`/`q*` functions give: CDFs from
//! statrs' regularised incomplete beta and gamma functions (accurate in the tails, so
//! small p-values keep their digits), quantiles by bisection to machine precision, and the
//! noncentral t CDF (Lenth 1989, AS 243), which statrs lacks.

use statrs::function::gamma::ln_gamma;

/// statrs' regularised incomplete beta `I_x(a, b)`, NaN where its arguments are out of range
/// (statrs panics there; extreme input must give an error, not a crash).
fn beta_reg(a: f64, b: f64, x: f64) -> f64 {
    statrs::function::beta::checked_beta_reg(a, b, x).unwrap_or(f64::NAN)
}

/// statrs' upper regularised incomplete gamma Q(a, x), NaN where it is undefined.
fn gamma_ur(a: f64, x: f64) -> f64 {
    statrs::function::gamma::checked_gamma_ur(a, x).unwrap_or(f64::NAN)
}

/// statrs' lower regularised incomplete gamma P(a, x), NaN where it is undefined.
fn gamma_lr(a: f64, x: f64) -> f64 {
    statrs::function::gamma::checked_gamma_lr(a, x).unwrap_or(f64::NAN)
}

/// Standard normal CDF, `pnorm(z)`: Φ(z) = ½ Q(½, z²/2) for z < 0 through the regularised
/// incomplete gamma function, which keeps ~15 significant digits far into the tails
/// (statrs' `erfc` loses about five).
pub fn pnorm(z: f64) -> f64 {
    if z.is_nan() {
        return f64::NAN;
    }
    let tail = if z == 0.0 { 0.5 } else { 0.5 * gamma_ur(0.5, 0.5 * z * z) };
    if z < 0.0 { tail } else { 1.0 - tail }
}

/// Standard normal quantile, `qnorm(p)`.
pub fn qnorm(p: f64) -> f64 {
    // Bisection on pnorm: 200 halvings of [-40, 40] reach the f64 grid.
    invert(pnorm, p, -40.0, 40.0, true)
}

/// Student t CDF, `pt(t, df)`.
pub fn pt(t: f64, df: f64) -> f64 {
    let x = df / (df + t * t);
    let tail = 0.5 * beta_reg(df / 2.0, 0.5, x);
    if t < 0.0 { tail } else { 1.0 - tail }
}

/// Upper tail of the t distribution, `pt(t, df, lower.tail = FALSE)`, accurate for large t.
pub fn pt_upper(t: f64, df: f64) -> f64 {
    pt(-t, df)
}

/// Student t quantile, `qt(p, df)`.
pub fn qt(p: f64, df: f64) -> f64 {
    let mut bound = 10.0;
    while pt(bound, df) < p.max(1.0 - p) && bound < 1e300 {
        bound *= 10.0;
    }
    invert(|t| pt(t, df), p, -bound, bound, true)
}

/// Chi-squared upper tail, `pchisq(x, df, lower.tail = FALSE)`.
pub fn pchisq_upper(x: f64, df: f64) -> f64 {
    if x <= 0.0 { 1.0 } else { gamma_ur(df / 2.0, x / 2.0) }
}

/// Gamma quantile with shape `a` and rate 1, `qgamma(p, a)`.
pub fn qgamma(p: f64, a: f64) -> f64 {
    let mut hi = a + 10.0 * a.sqrt() + 10.0;
    while gamma_lr(a, hi) < p && hi < f64::MAX / 2.0 {
        hi *= 2.0;
    }
    invert(|x| gamma_lr(a, x), p, 0.0, hi, true)
}

/// Beta quantile, `qbeta(p, a, b)`.
pub fn qbeta(p: f64, a: f64, b: f64) -> f64 {
    invert(|x| beta_reg(a, b, x), p, 0.0, 1.0, true)
}

/// Binomial probability mass, `dbinom(k, n, p)`.
pub fn dbinom(k: u64, n: u64, p: f64) -> f64 {
    if k > n {
        return 0.0;
    }
    if p == 0.0 {
        return f64::from(u8::from(k == 0));
    }
    if p == 1.0 {
        return f64::from(u8::from(k == n));
    }
    let (k, n) = (k as f64, n as f64);
    (ln_gamma(n + 1.0) - ln_gamma(k + 1.0) - ln_gamma(n - k + 1.0)
        + k * p.ln()
        + (n - k) * (-p).ln_1p())
    .exp()
}

/// Binomial CDF `pbinom(k, n, p)` = P(X ≤ k), via the incomplete beta function.
pub fn pbinom(k: i64, n: u64, p: f64) -> f64 {
    if k < 0 {
        0.0
    } else if k as u64 >= n {
        1.0
    } else {
        beta_reg(n as f64 - k as f64, k as f64 + 1.0, 1.0 - p)
    }
}

/// Two-sided binomial test p-value, as R's `binom.test(x, n, p)$p.value`: the total
/// probability of outcomes no more likely than `x` (relative tolerance 1e-7, as R).
pub fn binom_test_p(x: u64, n: u64, p: f64) -> f64 {
    const REL_ERR: f64 = 1.0 + 1e-7;
    if p == 0.0 {
        return f64::from(u8::from(x == 0));
    }
    if p == 1.0 {
        return f64::from(u8::from(x == n));
    }
    let d = dbinom(x, n, p);
    let m = n as f64 * p;
    let pv = if (x as f64 - m).abs() < f64::EPSILON * m.max(1.0) {
        1.0
    } else if (x as f64) < m {
        // R counts the outcomes ceil(m)..=n no more likely than x. The mode
        // floor((n+1)p) is at most ceil(m), so the probabilities fall from ceil(m) on and
        // those outcomes are a tail: find where it starts by bisection (O(log n), where R's
        // vectorised count is O(n) — millions of terms for a registry's event totals).
        let start = m.ceil() as u64;
        let first = first_true(start, n + 1, |i| dbinom(i, n, p) <= d * REL_ERR);
        let y = (n + 1 - first) as i64;
        pbinom(x as i64, n, p) + 1.0 - pbinom(n as i64 - y, n, p)
    } else {
        // Below the mode the probabilities rise: the outcomes 0..=floor(m) no more likely
        // than x are a head.
        let end = m.floor() as u64;
        let y = first_true(0, end + 1, |i| dbinom(i, n, p) > d * REL_ERR) as i64;
        pbinom(y - 1, n, p) + 1.0 - pbinom(x as i64 - 1, n, p)
    };
    pv.min(1.0)
}

/// The first `i` in `lo..hi` where the monotone predicate holds (false before, true
/// after), or `hi` when it holds nowhere.
fn first_true(mut lo: u64, mut hi: u64, holds: impl Fn(u64) -> bool) -> u64 {
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        if holds(mid) { hi = mid } else { lo = mid + 1 }
    }
    lo
}

/// Find `x` in `[lo, hi]` with `f(x) = target` for a monotone `f` (increasing when
/// `increasing`), by bisection until the interval cannot shrink further.
pub fn invert(
    f: impl Fn(f64) -> f64,
    target: f64,
    mut lo: f64,
    mut hi: f64,
    increasing: bool,
) -> f64 {
    for _ in 0..2000 {
        let mid = 0.5 * (lo + hi);
        if mid <= lo || mid >= hi {
            break;
        }
        let below = f(mid) < target;
        if below == increasing {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    0.5 * (lo + hi)
}

/// Noncentral t CDF `pt(t, df, ncp)`, algorithm AS 243 (Lenth 1989): a series in
/// incomplete beta functions, summed until the error bound is below 1e-15.
pub fn pnt(t: f64, df: f64, ncp: f64) -> f64 {
    const ERRMAX: f64 = 1e-15;
    const ITRMAX: usize = 10_000;
    let (tt, del, negative) = if t < 0.0 { (-t, -ncp, true) } else { (t, ncp, false) };
    let mut tnc = 0.0;
    if tt > 0.0 {
        let x = tt * tt / (tt * tt + df);
        let lambda = del * del;
        let mut p = 0.5 * (-0.5 * lambda).exp();
        let mut q = (2.0 / std::f64::consts::PI).sqrt() * p * del;
        let mut s = 0.5 - p;
        let mut a = 0.5;
        let b = 0.5 * df;
        let rxb = (1.0 - x).powf(b);
        let albeta = 0.5 * std::f64::consts::PI.ln() + ln_gamma(b) - ln_gamma(0.5 + b);
        let mut xodd = beta_reg(a, b, x);
        let mut godd = 2.0 * rxb * (a * x.ln() - albeta).exp();
        let mut xeven = 1.0 - rxb;
        let mut geven = b * x * rxb;
        tnc = p * xodd + q * xeven;
        let mut en = 1.0;
        for _ in 0..ITRMAX {
            a += 1.0;
            xodd -= godd;
            xeven -= geven;
            godd *= x * (a + b - 1.0) / a;
            geven *= x * (a + b - 0.5) / (a + 0.5);
            p *= lambda / (2.0 * en);
            q *= lambda / (2.0 * en + 1.0);
            s -= p;
            en += 1.0;
            tnc += p * xodd + q * xeven;
            if 2.0 * s * (xodd - godd) <= ERRMAX {
                break;
            }
        }
    }
    tnc += pnorm(-del);
    if negative { 1.0 - tnc } else { tnc }.clamp(0.0, 1.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[track_caller]
    fn close(got: f64, want: f64, rel: f64) {
        assert!((got - want).abs() <= rel * want.abs().max(1e-300), "got {got:e}, want {want:e}");
    }

    #[test]
    fn match_r_and_scipy() {
        // scipy 1.17: stats.norm.cdf(-1.96), stats.norm.ppf(0.975)
        close(pnorm(-1.96), 0.024_997_895_148_220_435, 1e-13);
        close(qnorm(0.975), 1.959_963_984_540_054, 1e-13);
        // 2 * stats.t.cdf(-4.062127683382037, 9) (= sleep.json's paired-t p)
        close(2.0 * pt(-4.062_127_683_382_037, 9.0), 0.002_832_890_197_384_273, 1e-11);
        // stats.t.ppf(0.975, 9)
        close(qt(0.975, 9.0), 2.262_157_162_798_205, 1e-12);
        // stats.chi2.sf(3.84, 1)
        close(pchisq_upper(3.84, 1.0), 0.050_043_521_248_705_19, 1e-11);
        // stats.gamma.ppf(0.025, 10)
        close(qgamma(0.025, 10.0), 4.795_388_696_132_433_5, 1e-12);
        // stats.beta.ppf(0.975, 3, 8)
        close(qbeta(0.975, 3.0, 8.0), 0.556_095_462_307_641_5, 1e-11);
        // stats.binomtest(3, 20, 0.5).pvalue == R binom.test(3, 20)$p.value
        close(binom_test_p(3, 20, 0.5), 0.002_576_828_002_929_687_5, 1e-12);
        // stats.binomtest(7, 20, 0.2).pvalue: asymmetric, R's likelihood rule
        close(binom_test_p(7, 20, 0.2), 0.098_221_728_613_468_81, 1e-10);
        // A registry-sized total: scipy 1.17.1 stats.binomtest(489000, 1000000, 0.49).pvalue
        // (R's rule), 0.045457127933068525; log-gamma terms of size 1e7 leave ~1e-9.
        close(binom_test_p(489_000, 1_000_000, 0.49), 0.045_457_127_933_068_525, 1e-8);
    }

    /// R's count of outcomes no more likely than x, term by term, against the bisection.
    #[test]
    fn binomial_test_bisection_counts_as_r_does() {
        let linear = |x: u64, n: u64, p: f64| {
            let rel = 1.0 + 1e-7;
            let d = dbinom(x, n, p);
            let m = n as f64 * p;
            let pv = if (x as f64 - m).abs() < f64::EPSILON * m.max(1.0) {
                1.0
            } else if (x as f64) < m {
                let y = (m.ceil() as u64..=n).filter(|&i| dbinom(i, n, p) <= d * rel).count();
                pbinom(x as i64, n, p) + 1.0 - pbinom(n as i64 - y as i64, n, p)
            } else {
                let y = (0..=m.floor() as u64).filter(|&i| dbinom(i, n, p) <= d * rel).count();
                pbinom(y as i64 - 1, n, p) + 1.0 - pbinom(x as i64 - 1, n, p)
            };
            pv.min(1.0)
        };
        for (n, p) in [(1, 0.5), (7, 0.3), (20, 0.5), (101, 0.37), (800, 0.01), (1200, 0.75)] {
            for x in 0..=n {
                let (a, b) = (linear(x, n, p), binom_test_p(x, n, p));
                assert!((a - b).abs() <= 1e-12, "x={x} n={n} p={p}: {a} vs {b}");
            }
        }
    }

    #[test]
    fn noncentral_t() {
        // scipy.stats.nct.cdf(-4.062127683382037, 9, -2.1180165139816007 * sqrt(10)) = 0.975
        close(
            pnt(-4.062_127_683_382_037, 9.0, -2.118_016_513_981_600_7 * 10f64.sqrt()),
            0.975,
            1e-10,
        );
        // ncp 0 is the central t.
        close(pnt(1.3, 7.0, 0.0), pt(1.3, 7.0), 1e-13);
        // scipy.stats.nct.cdf(2.0, 5, 1.0)
        close(pnt(2.0, 5.0, 1.0), 0.778_074_662_616_214_8, 1e-10);
    }
}

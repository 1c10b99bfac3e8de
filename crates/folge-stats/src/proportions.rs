//! Proportions: the Wilson score interval for one proportion, and McNemar's test for paired
//! binary outcomes (asymptotic, with or without continuity correction, and exact).

use crate::dist::{binom_test_p, pchisq_upper, qbeta, qnorm};
use crate::error::{check_count, check_level};
use crate::{StatResult, StatsError};

/// Wilson score interval for `successes` of `n`, as `prop.test(successes, n, correct =
/// FALSE, conf.level)`: estimate p̂, score statistic X² against p = 0.5 with its p-value.
pub fn wilson(successes: f64, n: f64, conf_level: f64) -> Result<StatResult, StatsError> {
    check_level(conf_level)?;
    check_count("successes", successes)?;
    check_count("n", n)?;
    if n == 0.0 {
        return Err(StatsError::TooFew { what: "the Wilson interval", needed: 1, got: 0 });
    }
    if successes > n {
        return Err(StatsError::Invalid(format!("successes ({successes}) exceed n ({n})")));
    }
    let p = successes / n;
    let z = qnorm(1.0 - (1.0 - conf_level) / 2.0);
    let z2 = z * z;
    let centre = (p + z2 / (2.0 * n)) / (1.0 + z2 / n);
    let half = z * (p * (1.0 - p) / n + z2 / (4.0 * n * n)).sqrt() / (1.0 + z2 / n);
    let x2 = (successes - 0.5 * n).powi(2) / (0.25 * n);
    let mut r = StatResult::new("Wilson score interval", n as usize)
        .ci(((centre - half).max(0.0), (centre + half).min(1.0)));
    r.estimate = Some(p);
    r.statistic = Some(x2);
    r.df = Some(1.0);
    r.p_value = Some(pchisq_upper(x2, 1.0));
    Ok(r)
}

/// McNemar's test for the paired 2 × 2 table `[[a, b], [c, d]]` (rows: before yes/no,
/// columns: after yes/no), as `mcnemar.test(table, correct)`: X² = (|b − c| − 1)²/(b + c)
/// with correction, (b − c)²/(b + c) without; `exact_p_value` is `binom.test(b, b + c)`.
/// `estimate` is the conditional odds ratio b/c with its exact (Clopper–Pearson) CI.
pub fn mcnemar(
    table: [[f64; 2]; 2],
    correct: bool,
    conf_level: f64,
) -> Result<StatResult, StatsError> {
    check_level(conf_level)?;
    for cell in table.iter().flatten() {
        check_count("table", *cell)?;
    }
    let (b, c) = (table[0][1], table[1][0]);
    let discordant = b + c;
    if discordant == 0.0 {
        return Err(StatsError::Invalid(
            "McNemar's test needs at least one discordant pair (b + c > 0)".into(),
        ));
    }
    let diff = (b - c).abs() - if correct { 1.0 } else { 0.0 };
    let x2 = diff.max(0.0).powi(2) / discordant;
    let alpha = 1.0 - conf_level;
    let lo_p = if b == 0.0 { 0.0 } else { qbeta(alpha / 2.0, b, c + 1.0) };
    let hi_p = if c == 0.0 { 1.0 } else { qbeta(1.0 - alpha / 2.0, b + 1.0, c) };
    let odds = |p: f64| if p >= 1.0 { f64::INFINITY } else { p / (1.0 - p) };
    let n = table.iter().flatten().sum::<f64>() as usize;
    let method = if correct {
        "McNemar's Chi-squared test with continuity correction"
    } else {
        "McNemar's Chi-squared test"
    };
    let mut r = StatResult::new(method, n);
    r.estimate = (c > 0.0).then(|| b / c);
    r.ci_low = Some(odds(lo_p));
    r.ci_high = (c > 0.0).then(|| odds(hi_p));
    r.statistic = Some(x2);
    r.df = Some(1.0);
    r.p_value = Some(pchisq_upper(x2, 1.0));
    Ok(r.with("exact_p_value", binom_test_p(b as u64, discordant as u64, 0.5)))
}

#[cfg(test)]
mod tests {
    use super::*;
    const REF_WILSON: [f64; 3] =
        [0.142_838_538_509_565_68, 0.475_766_051_903_615_8, 0.027_806_895_026_997_264];
    const REF_MCNEMAR: [f64; 3] =
        [0.080_118_313_727_634_21, 0.045_500_263_896_358_57, 0.076_812_744_140_625];

    #[track_caller]
    fn close(got: f64, want: f64, tol: f64) {
        assert!((got - want).abs() <= tol, "got {got}, want {want}");
    }

    #[test]
    fn wilson_matches_prop_test() {
        // scipy 1.17: stats.binomtest(7, 25).proportion_ci(0.95, method='wilson')
        //   == R prop.test(7, 25, correct = FALSE)$conf.int
        let r = wilson(7.0, 25.0, 0.95).unwrap();
        close(r.ci_low.unwrap(), REF_WILSON[0], 1e-13);
        close(r.ci_high.unwrap(), REF_WILSON[1], 1e-13);
        // X² = (7 - 12.5)² / 6.25 = 4.84; p = stats.chi2.sf(4.84, 1)
        close(r.statistic.unwrap(), 4.84, 1e-13);
        close(r.p_value.unwrap(), REF_WILSON[2], 1e-13);
        assert!(wilson(3.0, 2.0, 0.95).is_err());
        assert_eq!(
            wilson(-1.0, 2.0, 0.95).unwrap_err().to_string(),
            "successes: -1 is not a count (expected a whole number ≥ 0)"
        );
    }

    #[test]
    fn mcnemar_matches_r() {
        // statsmodels 0.14: mcnemar([[10, 12], [4, 20]], exact=False, correction=True)
        //   == R mcnemar.test(matrix(c(10, 4, 12, 20), 2)): X² = 3.0625, p
        let t = [[10.0, 12.0], [4.0, 20.0]];
        let r = mcnemar(t, true, 0.95).unwrap();
        close(r.statistic.unwrap(), 3.0625, 1e-13);
        close(r.p_value.unwrap(), REF_MCNEMAR[0], 1e-13);
        let r = mcnemar(t, false, 0.95).unwrap();
        close(r.statistic.unwrap(), 4.0, 1e-13);
        close(r.p_value.unwrap(), REF_MCNEMAR[1], 1e-13);
        // mcnemar(..., exact=True) == binom.test(12, 16)$p.value
        close(r.extra("exact_p_value").unwrap(), REF_MCNEMAR[2], 1e-13);
        close(r.estimate.unwrap(), 3.0, 1e-15);
        assert!(mcnemar([[5.0, 0.0], [0.0, 5.0]], true, 0.95).is_err());
    }
}

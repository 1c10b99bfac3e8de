//! Counts with exposure: a rate per person-year with its exact Poisson CI, and the ratio of
//! two rates (periods or arms) with the exact conditional (binomial) CI and p-value and
//! the Wald CI on the log scale.

use crate::dist::{binom_test_p, qbeta, qgamma, qnorm};
use crate::error::{check_count, check_level};
use crate::{StatResult, StatsError};

fn check_exposure(what: &'static str, exposure: f64) -> Result<(), StatsError> {
    if exposure > 0.0 && exposure.is_finite() {
        Ok(())
    } else {
        Err(StatsError::OutOfRange { what, value: exposure, range: "(0, ∞) person-time" })
    }
}

/// Rate `events / exposure` with the exact Poisson CI, as `poisson.test(events, exposure)`:
/// [qgamma(α/2, k), qgamma(1 − α/2, k + 1)] / exposure (lower limit 0 when k = 0).
pub fn poisson_rate(events: f64, exposure: f64, conf_level: f64) -> Result<StatResult, StatsError> {
    check_level(conf_level)?;
    check_count("events", events)?;
    check_exposure("exposure", exposure)?;
    let alpha = 1.0 - conf_level;
    let lo = if events == 0.0 { 0.0 } else { qgamma(alpha / 2.0, events) };
    let hi = qgamma(1.0 - alpha / 2.0, events + 1.0);
    let mut r =
        StatResult::new("Exact Poisson rate", events as usize).ci((lo / exposure, hi / exposure));
    r.estimate = Some(events / exposure);
    Ok(r)
}

/// Rate ratio (events1/exposure1) / (events0/exposure0), as `poisson.test(c(events1,
/// events0), c(exposure1, exposure0))`: conditional on the total, events1 is binomial with
/// p = exposure1/(exposure1 + exposure0); the Clopper–Pearson CI for p gives the exact CI
/// of the ratio, and `binom.test` the p-value. Extras: the Wald CI exp(log RR ± z √(1/e1 +
/// 1/e0)) as `wald_ci_low`/`wald_ci_high` (null when a count is 0).
pub fn rate_ratio(
    events1: f64,
    exposure1: f64,
    events0: f64,
    exposure0: f64,
    conf_level: f64,
) -> Result<StatResult, StatsError> {
    check_level(conf_level)?;
    check_count("events1", events1)?;
    check_count("events0", events0)?;
    check_exposure("exposure1", exposure1)?;
    check_exposure("exposure0", exposure0)?;
    let total = events1 + events0;
    if total == 0.0 {
        return Err(StatsError::Invalid(
            "a rate ratio needs at least one event in either group".into(),
        ));
    }
    let alpha = 1.0 - conf_level;
    let scale = exposure0 / exposure1;
    let to_ratio = |p: f64| if p >= 1.0 { f64::INFINITY } else { p / (1.0 - p) * scale };
    let lo =
        if events1 == 0.0 { 0.0 } else { to_ratio(qbeta(alpha / 2.0, events1, events0 + 1.0)) };
    let hi = if events0 == 0.0 {
        f64::INFINITY
    } else {
        to_ratio(qbeta(1.0 - alpha / 2.0, events1 + 1.0, events0))
    };
    let p0 = exposure1 / (exposure1 + exposure0);
    let estimate = (events1 / exposure1) / (events0 / exposure0);
    let (wald_lo, wald_hi) = if events1 > 0.0 && events0 > 0.0 {
        let se = (1.0 / events1 + 1.0 / events0).sqrt();
        let z = qnorm(1.0 - alpha / 2.0);
        (Some((estimate.ln() - z * se).exp()), Some((estimate.ln() + z * se).exp()))
    } else {
        (None, None)
    };
    let mut r = StatResult::new("Exact rate ratio (conditional binomial)", total as usize);
    r.estimate = estimate.is_finite().then_some(estimate);
    r.statistic = Some(events1);
    r.ci_low = Some(lo);
    r.ci_high = hi.is_finite().then_some(hi);
    r.p_value = Some(binom_test_p(events1 as u64, total as u64, p0));
    Ok(r.with("wald_ci_low", wald_lo).with("wald_ci_high", wald_hi))
}

#[cfg(test)]
mod tests {
    use super::*;
    const REF: [f64; 7] = [
        0.203_297_544_548_269_43,
        0.687_265_083_546_785_6,
        0.508_191_130_131_707_2,
        0.856_303_340_959_306_3,
        0.001_303_833_355_138_326_2,
        0.513_471_999_102_192_9,
        0.850_785_011_308_326_1,
    ];

    #[track_caller]
    fn close(got: f64, want: f64, rel: f64) {
        assert!((got - want).abs() <= rel * want.abs(), "got {got}, want {want}");
    }

    #[test]
    fn poisson_rate_matches_poisson_test() {
        // R poisson.test(12, 30.5)$conf.int == scipy stats.gamma.ppf([0.025], 12) / 30.5,
        // stats.gamma.ppf(0.975, 13) / 30.5
        let r = poisson_rate(12.0, 30.5, 0.95).unwrap();
        close(r.estimate.unwrap(), 12.0 / 30.5, 1e-15);
        close(r.ci_low.unwrap(), REF[0], 1e-12);
        close(r.ci_high.unwrap(), REF[1], 1e-12);
        assert_eq!(poisson_rate(0.0, 10.0, 0.95).unwrap().ci_low, Some(0.0));
        assert!(poisson_rate(1.5, 10.0, 0.95).is_err());
        assert!(poisson_rate(1.0, 0.0, 0.95).is_err());
    }

    #[test]
    fn rate_ratio_matches_poisson_test() {
        // R poisson.test(c(99, 154), c(183.70, 188.87)): conditional binomial; values from
        // scipy: p = 183.70 / (183.70 + 188.87); stats.binomtest(99, 253, p).pvalue and
        // stats.beta.ppf on (99, 155) / (100, 154) mapped to p/(1-p) * 188.87/183.70.
        let r = rate_ratio(99.0, 183.70, 154.0, 188.87, 0.95).unwrap();
        close(r.estimate.unwrap(), (99.0 / 183.70) / (154.0 / 188.87), 1e-14);
        close(r.ci_low.unwrap(), REF[2], 1e-11);
        close(r.ci_high.unwrap(), REF[3], 1e-11);
        close(r.p_value.unwrap(), REF[4], 1e-9);
        close(r.extra("wald_ci_low").unwrap(), REF[5], 1e-12);
        close(r.extra("wald_ci_high").unwrap(), REF[6], 1e-12);
    }
}

//! Time to event: the Kaplan–Meier estimate of the survival curve with Greenwood standard
//! errors and log-transformed confidence limits, as R's `survival::survfit` gives them, or
//! log-log-transformed ones (`survfit(conf.type = "log-log")`, Stata's `sts list`,
//! lifelines' default), which keep their coverage where S is near 1 and few have died.

use crate::StatsError;
use crate::dist::qnorm;
use crate::error::check_level;

/// One step of a Kaplan–Meier curve: the state just after `time`.
#[derive(Debug, Clone, PartialEq)]
pub struct KmStep {
    /// A distinct observed time (of an event or a censoring).
    pub time: f64,
    /// At risk just before `time`: observations with time ≥ `time`.
    pub n_risk: usize,
    /// Events at `time`.
    pub n_event: usize,
    /// Censorings at `time`.
    pub n_censored: usize,
    /// S(t), the product of (1 − events/at risk) up to and including `time`.
    pub survival: f64,
    /// Greenwood standard error of ln S(t), √Σ d/(n(n − d)) (survfit's `std.err`; the SE of
    /// S itself, summary.survfit's, is `survival · std_err`). Infinite once S = 0.
    pub std_err: f64,
    /// Lower confidence limit: S · exp(−z · `std_err`) ([`KmInterval::Log`]) or
    /// S^exp(−z · `std_err` / ln S) ([`KmInterval::LogLog`]).
    pub ci_low: f64,
    /// Upper confidence limit: S · exp(z · `std_err`), at most 1, or S^exp(z · `std_err` /
    /// ln S).
    pub ci_high: f64,
}

/// How the confidence limits of S(t) are made from the Greenwood SE of ln S.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum KmInterval {
    /// Symmetric on ln S, the upper limit cut at 1: `survfit`'s default `conf.type = "log"`.
    #[default]
    Log,
    /// Symmetric on ln(−ln S): `conf.type = "log-log"`. Limits (1, 1) while S = 1.
    LogLog,
}

/// Kaplan–Meier estimate as R `survfit(Surv(time, event) ~ 1, conf.int = conf_level)` with
/// its defaults: one step per distinct time, events and censorings alike (as
/// `summary(fit, censored = TRUE)`), Greenwood `std.err` of ln S, `conf.type = "log"`
/// limits S·exp(±z·se) with the upper one clipped at 1. `n_censored` counts the censorings
/// at each time. A censoring tied with an event counts as at risk at that time.
///
/// Where S reaches 0 (every one at risk has the event), ln S and its SE do not exist:
/// survfit reports `std.err` Inf and NA limits; here `std_err` is +∞ and both limits 0,
/// since S = 0 is then known (nobody is left at risk).
pub fn kaplan_meier(
    time: &[f64],
    event: &[bool],
    conf_level: f64,
) -> Result<Vec<KmStep>, StatsError> {
    kaplan_meier_with(time, event, conf_level, KmInterval::Log)
}

/// [`kaplan_meier`] with the limits `interval` asks for.
pub fn kaplan_meier_with(
    time: &[f64],
    event: &[bool],
    conf_level: f64,
    interval: KmInterval,
) -> Result<Vec<KmStep>, StatsError> {
    check_level(conf_level)?;
    if time.len() != event.len() {
        return Err(StatsError::UnequalLengths {
            what: "event",
            left: time.len(),
            right: event.len(),
        });
    }
    if time.is_empty() {
        return Err(StatsError::TooFew { what: "a Kaplan–Meier curve", needed: 1, got: 0 });
    }
    if let Some(&t) = time.iter().find(|t| !t.is_finite()) {
        return Err(StatsError::Invalid(format!("time `{t}` is not a finite number")));
    }
    let z = qnorm(1.0 - (1.0 - conf_level) / 2.0);
    let mut order: Vec<usize> = (0..time.len()).collect();
    order.sort_by(|&a, &b| time[a].total_cmp(&time[b]));
    let mut steps = Vec::new();
    let (mut at_risk, mut survival, mut greenwood) = (time.len(), 1.0f64, 0.0f64);
    let mut rest = &order[..];
    while let Some(&first) = rest.first() {
        // −0 and 0 sort next to each other and compare equal.
        let t = time[first];
        let tied = rest.iter().take_while(|&&i| time[i] == t).count();
        let n_event = rest[..tied].iter().filter(|&&i| event[i]).count();
        let (n, d) = (at_risk as f64, n_event as f64);
        if n_event > 0 {
            survival *= 1.0 - d / n;
            greenwood += if n_event < at_risk { d / (n * (n - d)) } else { f64::INFINITY };
        }
        let std_err = greenwood.sqrt();
        let (ci_low, ci_high) = match interval {
            _ if survival <= 0.0 => (0.0, 0.0),
            KmInterval::Log => {
                (survival * (-z * std_err).exp(), (survival * (z * std_err).exp()).min(1.0))
            }
            KmInterval::LogLog if survival >= 1.0 => (1.0, 1.0),
            KmInterval::LogLog => {
                let log_s = survival.ln();
                // ln S < 0: the larger exponent gives the lower limit.
                (
                    survival.powf((-z * std_err / log_s).exp()),
                    survival.powf((z * std_err / log_s).exp()),
                )
            }
        };
        steps.push(KmStep {
            time: t + 0.0,
            n_risk: at_risk,
            n_event,
            n_censored: tied - n_event,
            survival,
            std_err,
            ci_low,
            ci_high,
        });
        at_risk -= tied;
        rest = &rest[tied..];
    }
    Ok(steps)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[track_caller]
    fn close(got: f64, want: f64) {
        assert!((got - want).abs() <= 1e-14 * want.abs(), "got {got}, want {want}");
    }

    #[test]
    fn matches_greenwood_by_hand_and_statsmodels() {
        // 12 persons, ties of events and of an event with a censoring (time 3, time 6),
        // censorings alone (8, 10), and two events among the last two at risk (S = 0).
        // By hand: S = 11/12, ·10/11, ·8/9, ·6/8, (8: censored), ·3/4, (10), ·0/2; Greenwood
        // Σ d/(n(n − d)) over (n, d) = (12, 1), (11, 1), (9, 1), (8, 2), (4, 1).
        // statsmodels SurvfuncRight(time, event): surv_prob, and surv_prob_se / surv_prob
        // for the SE of ln S; limits S*exp(∓1.959963984540054*se), upper min(1, ·);
        // lifelines KaplanMeierFitter().fit(time, event).event_table gives the same counts.
        let time = [2.0, 3.0, 3.0, 5.0, 6.0, 6.0, 6.0, 8.0, 9.0, 10.0, 12.0, 12.0];
        let event = [true, true, false, true, true, true, false, false, true, false, true, true];
        let km = kaplan_meier(&time, &event, 0.95).unwrap();
        let rows: Vec<(f64, usize, usize, usize)> =
            km.iter().map(|s| (s.time, s.n_risk, s.n_event, s.n_censored)).collect();
        assert_eq!(
            rows,
            [
                (2.0, 12, 1, 0),
                (3.0, 11, 1, 1),
                (5.0, 9, 1, 0),
                (6.0, 8, 2, 1),
                (8.0, 5, 0, 1),
                (9.0, 4, 1, 0),
                (10.0, 3, 0, 1),
                (12.0, 2, 2, 0)
            ]
        );
        let at = [0, 1, 2, 3, 5];
        let survival = [11.0 / 12.0, 10.0 / 12.0, 80.0 / 108.0, 60.0 / 108.0, 45.0 / 108.0];
        let se = [
            0.087_038_827_977_848_93,
            0.129_099_444_873_580_55,
            0.174_801_474_695_025_27,
            0.268_741_924_943_284_97,
            0.394_405_318_873_307_76,
        ];
        let low = [
            0.772_900_973_689_615_2,
            0.647_036_987_013_361_5,
            0.525_865_823_442_666,
            0.328_075_616_543_023_75,
            0.192_340_323_524_073_13,
        ];
        let high = [1.0, 1.0, 1.0, 0.940_764_749_788_001_2, 0.902_624_618_333_773_9];
        for (j, &i) in at.iter().enumerate() {
            close(km[i].survival, survival[j]);
            close(km[i].std_err, se[j]);
            close(km[i].ci_low, low[j]);
            close(km[i].ci_high, high[j]);
        }
        // A censoring alone changes nothing but the number at risk.
        assert_eq!(
            (km[4].survival, km[4].std_err, km[4].ci_low),
            (km[3].survival, km[3].std_err, km[3].ci_low)
        );
        let last = &km[7];
        assert_eq!(
            (last.survival, last.std_err, last.ci_low, last.ci_high),
            (0.0, f64::INFINITY, 0.0, 0.0)
        );
    }

    #[test]
    fn order_of_input_does_not_matter_and_bad_input_is_explained() {
        let km = kaplan_meier(&[5.0, 1.0, 3.0], &[false, true, true], 0.9).unwrap();
        assert_eq!(km.iter().map(|s| s.time).collect::<Vec<_>>(), [1.0, 3.0, 5.0]);
        close(km[2].survival, 1.0 / 3.0);
        let first = &kaplan_meier(&[1.0, 2.0], &[false, true], 0.95).unwrap()[0];
        assert_eq!(
            (first.survival, first.std_err, first.ci_low, first.ci_high),
            (1.0, 0.0, 1.0, 1.0)
        );
        assert_eq!(
            kaplan_meier(&[], &[], 0.95).unwrap_err().to_string(),
            "a Kaplan–Meier curve needs at least 1 usable values, got 0"
        );
        assert_eq!(
            kaplan_meier(&[1.0, f64::NAN], &[true, true], 0.95).unwrap_err().to_string(),
            "time `NaN` is not a finite number"
        );
        assert!(kaplan_meier(&[1.0], &[true, false], 0.95).is_err());
        assert!(kaplan_meier(&[1.0], &[true], 1.5).is_err());
        assert_eq!(kaplan_meier(&[-0.0, 0.0], &[true, false], 0.95).unwrap().len(), 1);
    }

    #[test]
    fn log_log_limits_match_lifelines() {
        // lifelines 0.30 KaplanMeierFitter().fit(time, event, alpha=0.05)
        //   .confidence_interval_ (the exponential Greenwood, log(−log) limits).
        let time = [2.0, 3.0, 3.0, 5.0, 6.0, 6.0, 6.0, 8.0, 9.0, 10.0, 12.0, 12.0];
        let event = [true, true, false, true, true, true, false, false, true, false, true, true];
        let km = kaplan_meier_with(&time, &event, 0.95, KmInterval::LogLog).unwrap();
        let want = [
            (0.538_977_180_570_741, 0.987_825_565_400_458),
            (0.481_714_942_195_379, 0.955_509_365_728_065),
            (0.390_676_127_607_782, 0.908_623_869_404_062),
            (0.236_900_207_733_180, 0.786_701_466_387_592),
            (0.236_900_207_733_180, 0.786_701_466_387_592),
            (0.120_396_637_586_007, 0.696_247_945_286_937),
            (0.120_396_637_586_007, 0.696_247_945_286_937),
            (0.0, 0.0),
        ];
        for (step, (low, high)) in km.iter().zip(want) {
            assert!((step.ci_low - low).abs() < 1e-12, "{step:?}");
            assert!((step.ci_high - high).abs() < 1e-12, "{step:?}");
        }
        // Before the first death S = 1 and so are both limits.
        let first =
            &kaplan_meier_with(&[1.0, 2.0], &[false, true], 0.95, KmInterval::LogLog).unwrap()[0];
        assert_eq!((first.survival, first.ci_low, first.ci_high), (1.0, 1.0, 1.0));
    }
}

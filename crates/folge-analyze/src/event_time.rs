//! The event-time view: every indicator's rate per person-year in 30-day bins around
//! inclusion (bins −12 … 11), by arm, with person-clustered intervals, and the pre-trend
//! check for the difference in differences — whether the arms ran parallel before
//! inclusion, which is what makes the comparison arm a credible counterfactual.
//!
//! The bins keep no person: each person adds their bins to exact (fixed-point integer)
//! sums over persons, from which the intervals follow exactly (`folge_stats::BinMoments`);
//! the order persons come in changes no bit of them. A bin's interval is CR1's on the log
//! scale with Student's t on the degrees of freedom of the dispersion CR1 estimates
//! (`BinMoments::rate_interval_t`; its module says why that df): in a 30-day bin a few
//! persons carry most of the use (gamma frailty, long hours), CR1 rests on them, and with
//! the normal quantile the bins were slightly too narrow. Calibration study (1000
//! replicates, 250 persons per arm), mean miss over the bins, normal → t: under no effect
//! home-care hours, pilot, before 7.0 → 6.6 % (the one row judged too narrow), bed-days
//! 6.6–6.8 → 6.1–6.2 %, municipal contacts, pilot 6.7–6.9 → 6.1–6.3 %, short-stay days
//! 5.9–6.0 → 5.5–5.6 %; under the effect bed-days, pilot, after covers 93.3 % (was 92.6 %).
//! Rare outcomes barely move (counts of 0 and 1 leave the dispersion nothing to estimate):
//! readmissions 3.3–3.9 → 3.0–3.7 %, KAD stays and mortality as before. Pan & Wall's df of
//! CR1's Σu² itself made 20 rare-outcome rows too wide (2.1–2.8 %). The t needs sums up to
//! fourth powers, kept as 256-bit integers (`Wide`), exact and order-free like the rest.
//!
//! The pre-trend check is a placebo difference in differences with the estimator of the
//! real one: each person's use in the second half of the before bins against the first
//! half, within person, pilot against comparison (`folge_stats::within_person_ratio_of_ratios`, the cluster jackknife). It
//! keeps four numbers per person and indicator (only persons with time in both halves and
//! some use), sorted before the fit so the order persons come in changes nothing. A slope
//! model on the bins with CR1 from sums over persons missed 8 % under no difference for
//! rare outcomes in the calibration study (too few persons carry the events for the
//! sandwich); the placebo shares the main comparison's small-sample behaviour.

use folge_schema::Arm;
use folge_schema::tables::{ComparisonRow, EventTimeRow};
use folge_stats::{BinMoments, TwoWindows};

use crate::ClusterVariance;
use crate::Indicator;
use crate::comparisons::{LEVEL, blank_row, fill_log_ratio, within_se, zero_before_inclusion};

/// Days in a bin.
pub const BIN_DAYS: i32 = 30;
/// Bins before inclusion (bin −12 … −1).
pub const BINS_BEFORE: usize = 12;
/// All bins (−12 … 11).
pub const BINS: usize = 24;

/// Days in a year for person-years, as everywhere in analyze.
const DAYS_PER_YEAR: f64 = 365.25;

/// First day of bin index `b` (0 … 23; its number is `b − 12`).
pub(crate) fn bin_from(b: usize) -> i32 {
    (b as i32 - BINS_BEFORE as i32) * BIN_DAYS
}

/// Fixed point for the sums: values are added as integers in units of 2⁻²⁴, so the sums,
/// and every output made of them, do not depend on the order persons come in (whole,
/// streamed or in parts). Counts and whole days are exact; hours are rounded to 6e-8.
const SCALE: f64 = 16_777_216.0;

fn fixed(v: f64) -> i128 {
    // Counts and whole days (nearly every value) convert exactly without rounding, which
    // is a library call on the baseline target; a whole value times 2²⁴ is exact too.
    let whole = v as i64;
    if whole as f64 - v == 0.0 && whole.unsigned_abs() < 1 << 38 {
        i128::from(whole) << 24
    } else {
        (v * SCALE).round() as i128
    }
}

/// An unsigned 256-bit integer: the fourth-order sums of a bin, exact.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Wide {
    hi: u128,
    lo: u128,
}

impl Wide {
    /// `a · b`, exact (schoolbook on 64-bit halves).
    fn product(a: u128, b: u128) -> Wide {
        const HALF: u128 = u64::MAX as u128;
        let (a1, a0, b1, b0) = (a >> 64, a & HALF, b >> 64, b & HALF);
        let (mid, carry) = (a0 * b1).overflowing_add(a1 * b0);
        let (mid, carry_too) = mid.overflowing_add((a0 * b0) >> 64);
        Wide {
            hi: a1 * b1 + (mid >> 64) + ((u128::from(carry) + u128::from(carry_too)) << 64),
            lo: (mid << 64) | ((a0 * b0) & HALF),
        }
    }

    fn add(&mut self, other: Wide) {
        let (lo, carry) = self.lo.overflowing_add(other.lo);
        // No overflow of `hi`: see `BinSums::fourth`.
        (self.hi, self.lo) = (self.hi + other.hi + u128::from(carry), lo);
    }

    fn to_f64(self) -> f64 {
        self.hi as f64 * 2f64.powi(128) + self.lo as f64
    }
}

/// Exact sums over persons of one arm × indicator × bin.
#[derive(Debug, Clone, Copy, Default)]
struct BinSums {
    n: u64,
    y: i128,
    e: i64,
    yy: i128,
    ye: i128,
    ee: i128,
    /// Σy³, Σy²e, Σye², then Σy⁴, Σy³e, Σy²e², Σye³, Σe⁴ (y in units of 2⁻²⁴, e in
    /// days), for the degrees of freedom: 256-bit integers, exact in any order of
    /// persons. They cannot overflow where `yy` does not: every term is at most
    /// max(y, e)⁴ (or a cube below it), so each sum is below (Σy² + Σe²)² < (2¹²⁷ +
    /// n · 2¹⁰)² ≪ 2²⁵⁶.
    higher: [Wide; 8],
    /// A negative value was added (use never is): the fourth-order sums are unknown.
    negative: bool,
}

impl BinSums {
    /// The sums of two disjoint groups of persons, added (exact, so in either order).
    fn merge(&mut self, other: &BinSums) {
        self.n += other.n;
        self.y += other.y;
        self.e += other.e;
        self.yy += other.yy;
        self.ye += other.ye;
        self.ee += other.ee;
        for (sum, term) in self.higher.iter_mut().zip(other.higher) {
            sum.add(term);
        }
        self.negative |= other.negative;
    }

    fn add(&mut self, y: i128, days: i64) {
        self.n += 1;
        self.y += y;
        self.e += days;
        self.yy += y * y;
        self.ye += y * i128::from(days);
        self.ee += i128::from(days * days);
        let d = u128::from(days.unsigned_abs());
        let d2 = d * d;
        self.higher[7].add(Wide { hi: 0, lo: d2 * d2 });
        match u128::try_from(y) {
            // Most persons use nothing in a bin: only Σe⁴ moves.
            Ok(0) => {}
            // q² fits: `yy` above holds it.
            Ok(q) => {
                let q2 = q * q;
                let terms = [
                    Wide::product(q2, q),
                    Wide::product(q2, d),
                    Wide::product(q, d2),
                    Wide::product(q2, q2),
                    Wide::product(q2, q * d),
                    Wide::product(q2, d2),
                    Wide::product(q, d2 * d),
                ];
                for (sum, term) in self.higher.iter_mut().zip(terms) {
                    sum.add(term);
                }
            }
            Err(_) => self.negative = true,
        }
    }
}

/// Sums over persons of every arm × indicator × bin, and each person's two halves of the
/// before bins for the pre-trend check.
#[derive(Debug, Clone)]
pub(crate) struct EventTime {
    indicators: usize,
    /// Which bins lie inside the analysis windows (others are not computed: data may not
    /// have been delivered for them).
    pub(crate) active: [bool; BINS],
    /// `[arm][indicator][bin]`.
    bins: Vec<BinSums>,
    /// The active bins before inclusion: the first `early` of them are the placebo's
    /// "before", the rest its "after".
    before_bins: Vec<usize>,
    early: usize,
    /// `[arm][indicator]`: persons' use and person-years in the two halves (`before` the
    /// first, `after` the second), persons with time in both and some use only.
    halves: Vec<Vec<TwoWindows>>,
}

fn arm_index(arm: Arm) -> usize {
    usize::from(arm == Arm::Comparison)
}

impl EventTime {
    /// Empty sums for `indicators` indicators; bins inside days `from..=to` are active.
    pub(crate) fn new(indicators: usize, from: i32, to: i32) -> Self {
        let active: [bool; BINS] =
            std::array::from_fn(|b| bin_from(b) >= from && bin_from(b) + BIN_DAYS - 1 <= to);
        let before_bins: Vec<usize> = (0..BINS_BEFORE).filter(|&b| active[b]).collect();
        EventTime {
            indicators,
            active,
            bins: vec![BinSums::default(); 2 * indicators * BINS],
            early: before_bins.len() / 2,
            before_bins,
            halves: vec![Vec::new(); 2 * indicators],
        }
    }

    /// Add the sums of `other`, made of other persons with the same settings: the same
    /// as if its persons had been added here (the sums are exact integers, and the
    /// pre-trend's persons are sorted before they are fitted).
    pub(crate) fn merge(&mut self, other: EventTime) {
        debug_assert_eq!((self.indicators, self.active), (other.indicators, other.active));
        for (sums, more) in self.bins.iter_mut().zip(&other.bins) {
            sums.merge(more);
        }
        for (persons, more) in self.halves.iter_mut().zip(other.halves) {
            persons.extend(more);
        }
    }

    /// One person: exposure days per bin and values `[bin][indicator]`.
    pub(crate) fn add(&mut self, arm: Arm, exposure_days: &[i32; BINS], values: &[f64]) {
        let a = arm_index(arm);
        let e: [i64; BINS] = std::array::from_fn(|b| {
            if self.active[b] { i64::from(exposure_days[b].max(0)) } else { 0 }
        });
        let years = |bins: &[usize]| bins.iter().map(|&b| e[b]).sum::<i64>() as f64 / DAYS_PER_YEAR;
        let (early, late) = self.before_bins.split_at(self.early);
        let (early_years, late_years) = (years(early), years(late));
        for k in 0..self.indicators {
            let cells = &mut self.bins[(a * self.indicators + k) * BINS..][..BINS];
            for b in (0..BINS).filter(|&b| e[b] > 0) {
                cells[b].add(fixed(values[b * self.indicators + k]), e[b]);
            }
            if early_years <= 0.0 || late_years <= 0.0 {
                continue;
            }
            let used = |bins: &[usize]| bins.iter().map(|&b| values[b * self.indicators + k]).sum();
            let (before, after): (f64, f64) = (used(early), used(late));
            if before + after > 0.0 {
                self.halves[a * self.indicators + k].push(TwoWindows {
                    before,
                    before_years: early_years,
                    after,
                    after_years: late_years,
                });
            }
        }
    }

    /// The rate sums of one cell, in person-years.
    fn moments(&self, arm: Arm, k: usize, b: usize) -> BinMoments {
        let c = &self.bins[(arm_index(arm) * self.indicators + k) * BINS + b];
        let (unit, year) = (SCALE, DAYS_PER_YEAR);
        BinMoments {
            n: c.n,
            y: c.y as f64 / SCALE,
            e: c.e as f64 / DAYS_PER_YEAR,
            yy: c.yy as f64 / (SCALE * SCALE),
            ye: c.ye as f64 / (SCALE * DAYS_PER_YEAR),
            ee: c.ee as f64 / (DAYS_PER_YEAR * DAYS_PER_YEAR),
            third: if c.negative {
                [f64::NAN; 3]
            } else {
                let [y3, y2e, ye2] = [0, 1, 2].map(|i| c.higher[i].to_f64());
                [y3 / unit.powi(3), y2e / (unit * unit * year), ye2 / (unit * year * year)]
            },
            fourth: if c.negative {
                [f64::NAN; 5]
            } else {
                let [y4, y3e, y2e2, ye3, e4] = [3, 4, 5, 6, 7].map(|i| c.higher[i].to_f64());
                [
                    y4 / unit.powi(4),
                    y3e / (unit.powi(3) * year),
                    y2e2 / (unit * unit * year * year),
                    ye3 / (unit * year.powi(3)),
                    e4 / year.powi(4),
                ]
            },
        }
    }

    /// One row per indicator × arm × active bin, with the clustered interval of the rate.
    pub(crate) fn rows(&self, indicators: &[Indicator]) -> Vec<EventTimeRow> {
        let mut out = Vec::new();
        for (k, indicator) in indicators.iter().enumerate() {
            for arm in [Arm::Pilot, Arm::Comparison] {
                for b in (0..BINS).filter(|&b| self.active[b]) {
                    let m = self.moments(arm, k, b);
                    let ci = m.rate_interval_t(LEVEL);
                    out.push(EventTimeRow {
                        indicator: indicator.id().to_owned(),
                        arm,
                        bin: b as i32 - BINS_BEFORE as i32,
                        from_day: bin_from(b),
                        to_day: bin_from(b) + BIN_DAYS - 1,
                        n: m.n as i64,
                        value_total: m.y,
                        person_years: m.e,
                        rate_per_py: (m.e > 0.0).then(|| m.y / m.e),
                        ci_low: ci.map(|c| c.0),
                        ci_high: ci.map(|c| c.1),
                    });
                }
            }
        }
        out
    }

    /// The pre-trend check of the `k`th indicator (scope `all`): a placebo difference in
    /// differences over the before bins — the ratio, pilot over comparison, of the
    /// within-person rate ratios of the second half of the bins to the first (the
    /// estimator of the `ratio_of_rate_ratios` rows, with its jackknife or CR1 as
    /// `variance` says); 1 is parallel. Indicators are independent, so `summarise` works
    /// each out on the cores beside the indicator's other rows.
    pub(crate) fn pretrend_of(
        &self,
        k: usize,
        indicator: Indicator,
        variance: ClusterVariance,
    ) -> ComparisonRow {
        let kind = "pretrend_ratio_of_trends";
        let (early, late) = self.before_bins.split_at(self.early);
        let days = |bins: &[usize]| {
            let (first, last) = (bins[0], bins[bins.len() - 1]);
            format!("days {}…{}", bin_from(first), bin_from(last) + BIN_DAYS - 1)
        };
        let mut r = blank_row(indicator.id(), ("all", None), None, kind, String::new());
        let sorted = |a: usize| {
            let mut persons = self.halves[a * self.indicators + k].clone();
            persons.sort_by(|x, y| {
                [x.before, x.before_years, x.after, x.after_years]
                    .iter()
                    .zip([y.before, y.before_years, y.after, y.after_years])
                    .map(|(p, q)| p.total_cmp(&q))
                    .find(|o| o.is_ne())
                    .unwrap_or(std::cmp::Ordering::Equal)
            });
            persons
        };
        let (pilot, comparison) = (sorted(0), sorted(1));
        r.n = (pilot.len() + comparison.len()) as i64;
        if zero_before_inclusion(indicator) {
            r.method =
                "no estimate: deaths cannot occur before inclusion, so there is no trend before it"
                    .into();
        } else if early.is_empty() {
            r.method = format!(
                "no estimate: {} 30-day bin(s) before inclusion inside the analysis window, fewer than 2",
                self.before_bins.len()
            );
        } else {
            match folge_stats::within_person_ratio_of_ratios(&pilot, &comparison) {
                Ok(fit) => {
                    let (se, words) = within_se(variance, fit.se_cr1, fit.se_jackknife);
                    fill_log_ratio(&mut r, fit.log_ratio, se);
                    r.n = fit.informative as i64;
                    r.method = format!(
                        "pre-trend check (a placebo difference in differences before inclusion): ratio pilot/comparison of the within-person rate ratios of the last {} 30-day bins before inclusion ({}) to the {} before them ({}), Poisson GLM with a fixed effect per person ({} persons with time in both halves and use), {words}; 1 means the arms ran parallel",
                        late.len(),
                        days(late),
                        early.len(),
                        days(early),
                        fit.informative
                    );
                }
                Err(e) => r.method = format!("no estimate: {e}"),
            }
        }
        r
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Persons of one indicator: (arm, use in each of the 24 bins), every bin observed.
    fn persons() -> Vec<(Arm, [f64; BINS])> {
        (0..40)
            .map(|p: usize| {
                let arm = if p.is_multiple_of(2) { Arm::Pilot } else { Arm::Comparison };
                let values =
                    std::array::from_fn(|b| ((p * 7 + b * 3) % 5) as f64 * (1.0 + (p % 3) as f64));
                (arm, values)
            })
            .collect()
    }

    fn pretrend_of(order: impl Iterator<Item = (Arm, [f64; BINS])>, from: i32) -> ComparisonRow {
        let mut et = EventTime::new(1, from, 359);
        for (arm, values) in order {
            et.add(arm, &[30; BINS], &values);
        }
        et.pretrend_of(0, Indicator::GpContacts, ClusterVariance::Jackknife)
    }

    #[test]
    fn the_pre_trend_is_the_placebo_ratio_of_ratios_of_the_two_halves_in_any_order() {
        let r = pretrend_of(persons().into_iter(), -360);
        // By hand: each person's bins −12…−7 against −6…−1, 180 days each.
        let half = 180.0 / DAYS_PER_YEAR;
        let windows = |arm: Arm| -> Vec<TwoWindows> {
            persons()
                .into_iter()
                .filter(|(a, _)| *a == arm)
                .map(|(_, v)| TwoWindows {
                    before: v[..6].iter().sum(),
                    before_years: half,
                    after: v[6..12].iter().sum(),
                    after_years: half,
                })
                .collect()
        };
        let fit = folge_stats::within_person_ratio_of_ratios(
            &windows(Arm::Pilot),
            &windows(Arm::Comparison),
        )
        .unwrap();
        let estimate = r.effect_size.unwrap();
        assert!((estimate.ln() - fit.log_ratio).abs() < 1e-12, "{estimate}");
        let z = folge_stats::dist::qnorm(0.975);
        let se = fit.se_jackknife.unwrap();
        assert!((r.ci_high.unwrap().ln() - fit.log_ratio - z * se).abs() < 1e-12);
        assert_eq!(r.n, 40);
        assert!(
            r.method.starts_with("pre-trend check (a placebo difference in differences")
                && r.method.contains("last 6 30-day bins before inclusion (days -180…-1) to the 6 before them (days -360…-181)")
                && r.method.contains("cluster-jackknife"),
            "{}",
            r.method
        );
        // The order persons come in changes no bit.
        let reversed = pretrend_of(persons().into_iter().rev(), -360);
        assert_eq!(format!("{r:?}"), format!("{reversed:?}"));
    }

    #[test]
    fn a_short_before_window_splits_what_it_has_and_one_bin_is_too_few() {
        // Days −90…: bins −3…−1; the first half is bin −3, the second bins −2 and −1.
        let r = pretrend_of(persons().into_iter(), -90);
        assert!(r.method.contains("last 2 30-day bins before inclusion (days -60…-1) to the 1 before them (days -90…-61)"), "{}", r.method);
        let r = pretrend_of(persons().into_iter(), -30);
        assert_eq!(r.effect_size, None);
        assert!(
            r.method.starts_with("no estimate: 1 30-day bin(s) before inclusion"),
            "{}",
            r.method
        );
    }

    /// Persons of one indicator with hours of heavy-tailed use (few persons carry most of
    /// it, fractions of an hour) and exposure cut short for some.
    fn hours() -> Vec<(Arm, [i32; BINS], [f64; BINS])> {
        (0..60u32)
            .map(|p| {
                let arm = if p % 3 == 0 { Arm::Comparison } else { Arm::Pilot };
                let days =
                    std::array::from_fn(
                        |b| if (p as usize + b).is_multiple_of(11) { 17 } else { 30 },
                    );
                let values = std::array::from_fn(|b| {
                    let heavy = if p % 7 == 0 { 37.3 } else { 0.0 };
                    ((p as usize * 5 + b * 3) % 4) as f64 * 0.35 + heavy * ((b % 3) as f64)
                });
                (arm, days, values)
            })
            .collect()
    }

    fn rows_of(
        persons: impl Iterator<Item = (Arm, [i32; BINS], [f64; BINS])>,
    ) -> Vec<EventTimeRow> {
        let mut et = EventTime::new(1, -360, 359);
        for (arm, days, values) in persons {
            et.add(arm, &days, &values);
        }
        et.rows(&[Indicator::HomeCareHours])
    }

    #[test]
    fn wide_products_and_sums_are_exact() {
        let max = u128::MAX;
        // (2¹²⁸ − 1)² = 2²⁵⁶ − 2¹²⁹ + 1.
        assert_eq!(Wide::product(max, max), Wide { hi: max - 1, lo: 1 });
        assert_eq!(Wide::product(1 << 100, 1 << 100), Wide { hi: 1 << 72, lo: 0 });
        assert_eq!(Wide::product(12_345, 678), Wide { hi: 0, lo: 12_345 * 678 });
        let mut sum = Wide { hi: 3, lo: max };
        sum.add(Wide { hi: 1, lo: 2 });
        assert_eq!(sum, Wide { hi: 5, lo: 1 });
        assert_eq!(
            Wide { hi: 3, lo: 1 << 100 }.to_f64().to_bits(),
            (3.0 * 2f64.powi(128) + 2f64.powi(100)).to_bits()
        );
    }

    #[test]
    fn bin_rows_are_the_t_interval_of_the_persons_and_the_same_bits_in_any_order() {
        let rows = rows_of(hours().into_iter());
        assert_eq!(rows.len(), 2 * BINS);
        // Each bin by hand: the persons' own values summed in f64 (the fixed point rounds
        // 0.35 h by 1e-8 of itself, so the limits agree to 1e-7).
        for r in &rows {
            let b = (r.bin + BINS_BEFORE as i32) as usize;
            let mut m = BinMoments::default();
            for (arm, days, values) in hours() {
                if arm == r.arm {
                    m.add(values[b], f64::from(days[b]) / DAYS_PER_YEAR);
                }
            }
            let (lo, hi) = m.rate_interval_t(LEVEL).unwrap();
            assert!(m.df().unwrap().is_finite());
            assert!((r.ci_low.unwrap() - lo).abs() < 1e-7 * lo, "{r:?} {lo}");
            assert!((r.ci_high.unwrap() - hi).abs() < 1e-7 * hi, "{r:?} {hi}");
        }
        // Reversed, and evens before odds: no bit changes.
        let reversed = rows_of(hours().into_iter().rev());
        let (even, odd): (Vec<_>, Vec<_>) =
            hours().into_iter().enumerate().partition(|(i, _)| i % 2 == 0);
        let interleaved = rows_of(odd.into_iter().chain(even).map(|(_, p)| p));
        for other in [reversed, interleaved] {
            assert_eq!(format!("{rows:?}"), format!("{other:?}"));
        }
    }
}

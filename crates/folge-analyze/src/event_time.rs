//! The event-time view: every indicator's rate per person-year in 30-day bins around
//! inclusion (bins −12 … 11), by arm, with person-clustered intervals, and the pre-trend
//! check for the difference in differences — whether the arms ran parallel before
//! inclusion, which is what makes the comparison arm a credible counterfactual.
//!
//! Nothing per person is kept: each person adds their bins to exact (fixed-point integer)
//! sums over persons, from which both the intervals and the pre-trend model's
//! cluster-robust variance follow exactly (`folge_stats::BinMoments`,
//! `folge_stats::pretrend_ratio`). Memory is a few kilobytes per indicator, whatever the
//! number of persons, and the order persons come in changes no bit of the output.

use folge_schema::Arm;
use folge_schema::tables::{ComparisonRow, EventTimeRow};
use folge_stats::{BinMoments, ExposureMoments, OutcomeMoments};

use crate::Indicator;
use crate::comparisons::{LEVEL, blank_row, zero_before_inclusion};

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

/// Exact sums over persons of one arm × indicator × bin.
#[derive(Debug, Clone, Copy, Default)]
struct BinSums {
    n: u64,
    y: i128,
    e: i64,
    yy: i128,
    ye: i128,
    ee: i128,
}

/// Exact sums over one arm's persons of one outcome in the bins before inclusion (see
/// [`OutcomeMoments`]), times as bin numbers.
#[derive(Debug, Clone, Copy, Default)]
struct TrendSums {
    y: [i128; BINS_BEFORE],
    yy: i128,
    yt: i128,
    tt: i128,
    y_e: [i128; BINS_BEFORE],
    t_e: [i128; BINS_BEFORE],
}

/// Exact sums over one arm's persons of their exposure before inclusion (see
/// [`ExposureMoments`]).
#[derive(Debug, Clone, Copy, Default)]
struct ExposureSums {
    e: [i64; BINS_BEFORE],
    e_cross: [[i64; BINS_BEFORE]; BINS_BEFORE],
    rows: u64,
    clusters: u64,
}

/// Sums over persons of every arm × indicator × bin, and of the before bins for the
/// pre-trend model.
#[derive(Debug, Clone)]
pub(crate) struct EventTime {
    indicators: usize,
    /// Which bins lie inside the analysis windows (others are not computed: data may not
    /// have been delivered for them).
    pub(crate) active: [bool; BINS],
    /// `[arm][indicator][bin]`.
    bins: Vec<BinSums>,
    /// `[arm]`: exposure in the bins before inclusion, for the pre-trend model.
    exposure: [ExposureSums; 2],
    /// `[arm][indicator]`: the outcome in the bins before inclusion.
    trend: Vec<TrendSums>,
}

fn arm_index(arm: Arm) -> usize {
    usize::from(arm == Arm::Comparison)
}

/// The time of before-bin `b`, as its bin number (−12 … −1).
fn time(b: usize) -> i128 {
    b as i128 - BINS_BEFORE as i128
}

impl EventTime {
    /// Empty sums for `indicators` indicators; bins inside days `from..=to` are active.
    pub(crate) fn new(indicators: usize, from: i32, to: i32) -> Self {
        let active =
            std::array::from_fn(|b| bin_from(b) >= from && bin_from(b) + BIN_DAYS - 1 <= to);
        EventTime {
            indicators,
            active,
            bins: vec![BinSums::default(); 2 * indicators * BINS],
            exposure: [ExposureSums::default(); 2],
            trend: vec![TrendSums::default(); 2 * indicators],
        }
    }

    /// One person: exposure days per bin and values `[bin][indicator]`.
    pub(crate) fn add(&mut self, arm: Arm, exposure_days: &[i32; BINS], values: &[f64]) {
        let a = arm_index(arm);
        let e: [i64; BINS] = std::array::from_fn(|b| {
            if self.active[b] { i64::from(exposure_days[b].max(0)) } else { 0 }
        });
        let before = &e[..BINS_BEFORE];
        let rows = before.iter().filter(|d| **d > 0).count() as u64;
        if rows > 0 {
            let x = &mut self.exposure[a];
            x.rows += rows;
            x.clusters += 1;
            for b in 0..BINS_BEFORE {
                x.e[b] += before[b];
                for c in 0..BINS_BEFORE {
                    x.e_cross[b][c] += before[b] * before[c];
                }
            }
        }
        for k in 0..self.indicators {
            let cells = &mut self.bins[(a * self.indicators + k) * BINS..][..BINS];
            for b in (0..BINS).filter(|&b| e[b] > 0) {
                let y = fixed(values[b * self.indicators + k]);
                let c = &mut cells[b];
                c.n += 1;
                c.y += y;
                c.e += e[b];
                c.yy += y * y;
                c.ye += y * i128::from(e[b]);
                c.ee += i128::from(e[b] * e[b]);
            }
            if rows == 0 {
                continue;
            }
            let t = &mut self.trend[a * self.indicators + k];
            let (mut big_y, mut big_t) = (0i128, 0i128);
            for b in (0..BINS_BEFORE).filter(|&b| e[b] > 0) {
                let y = fixed(values[b * self.indicators + k]);
                t.y[b] += y;
                big_y += y;
                big_t += time(b) * y;
            }
            t.yy += big_y * big_y;
            t.yt += big_y * big_t;
            t.tt += big_t * big_t;
            for (b, &days) in before.iter().enumerate() {
                t.y_e[b] += big_y * i128::from(days);
                t.t_e[b] += big_t * i128::from(days);
            }
        }
    }

    /// The rate sums of one cell, in person-years.
    fn moments(&self, arm: Arm, k: usize, b: usize) -> BinMoments {
        let c = &self.bins[(arm_index(arm) * self.indicators + k) * BINS + b];
        BinMoments {
            n: c.n,
            y: c.y as f64 / SCALE,
            e: c.e as f64 / DAYS_PER_YEAR,
            yy: c.yy as f64 / (SCALE * SCALE),
            ye: c.ye as f64 / (SCALE * DAYS_PER_YEAR),
            ee: c.ee as f64 / (DAYS_PER_YEAR * DAYS_PER_YEAR),
        }
    }

    /// The pre-trend sums of one arm and indicator, in person-years.
    fn trend_moments(&self, a: usize, k: usize) -> (ExposureMoments, OutcomeMoments) {
        let x = &self.exposure[a];
        let t = &self.trend[a * self.indicators + k];
        let py = |d: i64| d as f64 / DAYS_PER_YEAR;
        let exposure = ExposureMoments {
            t: (0..BINS_BEFORE).map(|b| time(b) as f64).collect(),
            e: x.e.iter().map(|d| py(*d)).collect(),
            e_cross: x
                .e_cross
                .iter()
                .flatten()
                .map(|d| *d as f64 / (DAYS_PER_YEAR * DAYS_PER_YEAR))
                .collect(),
            rows: x.rows,
            clusters: x.clusters,
        };
        let outcome = OutcomeMoments {
            y: t.y.iter().map(|v| *v as f64 / SCALE).collect(),
            yy: t.yy as f64 / (SCALE * SCALE),
            yt: t.yt as f64 / (SCALE * SCALE),
            tt: t.tt as f64 / (SCALE * SCALE),
            y_e: t.y_e.iter().map(|v| *v as f64 / (SCALE * DAYS_PER_YEAR)).collect(),
            t_e: t.t_e.iter().map(|v| *v as f64 / (SCALE * DAYS_PER_YEAR)).collect(),
        };
        (exposure, outcome)
    }

    /// One row per indicator × arm × active bin, with the clustered interval of the rate.
    pub(crate) fn rows(&self, indicators: &[Indicator]) -> Vec<EventTimeRow> {
        let mut out = Vec::new();
        for (k, indicator) in indicators.iter().enumerate() {
            for arm in [Arm::Pilot, Arm::Comparison] {
                for b in (0..BINS).filter(|&b| self.active[b]) {
                    let m = self.moments(arm, k, b);
                    let ci = m.rate_interval(LEVEL);
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

    /// The pre-trend check of each indicator (scope `all`): the ratio of the arms' 30-day
    /// trends in the bins before inclusion, `value ~ pilot * bin + offset(log
    /// person-years)`, CR1 by person; 1 is parallel.
    pub(crate) fn pretrend(&self, indicators: &[Indicator]) -> Vec<ComparisonRow> {
        let kind = "pretrend_ratio_of_trends";
        indicators
            .iter()
            .enumerate()
            .map(|(k, indicator)| {
                let mut r = blank_row(indicator.id(), ("all", None), None, kind, String::new());
                let (pilot, comparison) = (self.trend_moments(0, k), self.trend_moments(1, k));
                r.n = (pilot.0.clusters + comparison.0.clusters) as i64;
                let active = self.active[..BINS_BEFORE].iter().filter(|a| **a).count();
                if zero_before_inclusion(indicator.id()) {
                    r.method = "no estimate: deaths cannot occur before inclusion, so there is no trend before it".into();
                } else if active < 3 {
                    r.method = format!("no estimate: {active} 30-day bins before inclusion inside the analysis window, fewer than 3");
                } else {
                    match folge_stats::pretrend_ratio(
                        (&pilot.0, &pilot.1),
                        (&comparison.0, &comparison.1),
                        LEVEL,
                    ) {
                        Ok(m) => {
                            r.effect_size = m.estimate;
                            (r.ci_low, r.ci_high, r.p_value) = (m.ci_low, m.ci_high, m.p_value);
                            r.method = format!(
                                "pre-trend check: ratio pilot/comparison of the 30-day rate trends in the {active} bins before inclusion, Poisson GLM value ~ pilot * bin + offset(log person-years), CR1 SE by person; 1 means parallel"
                            );
                        }
                        Err(e) => r.method = format!("no estimate: {e}"),
                    }
                }
                r
            })
            .collect()
    }
}

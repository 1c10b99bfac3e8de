//! Comparisons of indicators: after vs before within each arm, and pilot vs comparison,
//! every interval from a person-level model (issue 14: persons differ a lot in how much
//! they use, and one person's stays, days and contacts hang together, so a model that
//! treats every event as independent gives intervals far too narrow).
//!
//! - `before_after` (scope `arm`): the within-person rate ratio after/before, a Poisson
//!   GLM with a fixed effect per person, `value ~ after + person + offset(log(person-years))`
//!   (`fixest::fepois`; `folge_stats::within_person_rate_ratio`), with the cluster
//!   jackknife by person (CR1 with `cluster_variance = "cr1"`). Each person is compared
//!   with themself: the ratio of the pooled rates is not, and falls below 1 with no change
//!   in anyone's use when heavy users die or move sooner than others (their short
//!   after-windows weigh little in the pooled after rate). Counts, days and hours alike:
//!   the estimating equation holds for any non-negative outcome. `before_mean`/`after_mean`
//!   remain the pooled rates and `diff` their difference, its interval the profile interval
//!   on the two pooled rates' log scale from their cluster-jackknife covariance
//!   (`folge_stats::rate_difference_profile`; with CR1, the pooled Poisson GLM `value ~
//!   after + offset(log(person-years))` by the delta method). With
//!   `count_model = negative_binomial`, whole-count outcomes get a negative binomial GLM of
//!   the pooled rates (`MASS::glm.nb`) with CR1 SEs instead.
//! - `pilot_vs_comparison` (scope `all`): the ratio of the arms' within-person rate
//!   ratios, the `pilot × after` coefficient of `value ~ after + pilot:after + person +
//!   offset(log(person-years))` (`folge_stats::within_person_ratio_of_ratios`: persons
//!   belong to one arm, so it is exactly the ratio of the two `before_after` estimates);
//!   optionally with covariates of the change (each × after: conditional parallel trends)
//!   and balancing weights (`adjustment.rs`; `folge_stats::within_person_glm`). Jackknife or
//!   CR1 by person as above. `diff` is the difference in differences of the pooled rates,
//!   its interval from the pooled Poisson GLM `value ~ pilot * after` by the delta method.
//!   With `count_model = negative_binomial`, whole counts get the ratio of the pooled rate
//!   ratios from a negative binomial GLM instead.
//! - Mortality is 0 before inclusion by construction (nobody dies before being included):
//!   its before/after and difference-in-differences rows say so instead of an estimate, and
//!   a `rate_ratio_pilot_vs_comparison` row compares the arms after inclusion
//!   (`value ~ pilot + offset(log(person-years))`, robust SE).
//!
//! The same comparisons are made within subsets (each municipality, each target group,
//! and for 30-day readmissions the 67+), unadjusted; an arm below the minimum number of
//! persons gets a row with the reason instead of an estimate. Every row without an
//! estimate says why in `method`. p-values are adjusted over indicators within each
//! family (scope, value, arm, kind of effect), by Holm's method unless the pipeline says
//! otherwise.

use std::collections::{BTreeMap, HashMap};

use folge_schema::tables::{ComparisonRow, IndicatorRow};
use folge_schema::{Arm, Pseudonym};
use folge_stats::{Adjustment, p_adjust};

use crate::Indicator;

/// Which side of inclusion a window is, as the comparisons read it: the `before` and
/// `after` windows, or another named window (which no before/after comparison reads).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Period {
    /// The window named `before`.
    Before,
    /// The window named `after`.
    After,
    /// Any other window.
    Other,
}

impl Period {
    /// The kind of the window named `name`.
    pub(crate) fn of(name: &str) -> Self {
        match name {
            "before" => Period::Before,
            "after" => Period::After,
            _ => Period::Other,
        }
    }
}

/// One person × period value of one indicator, borrowed from wherever the values are
/// kept (the indicator table, or `IndicatorRow`s): what comparisons and concentration read,
/// without a string allocated per row. The indicator is its enum and the window its
/// position (with its kind), resolved once per table, never a string compared per row.
/// `person` numbers the person for cluster-robust SEs.
#[derive(Debug, Clone, Copy)]
pub(crate) struct PersonValue<'a> {
    pub(crate) person: usize,
    pub(crate) pid: Pseudonym,
    pub(crate) municipality: &'a str,
    pub(crate) arm: Arm,
    pub(crate) target_group: Option<&'a str>,
    /// The window's position in the analysis windows (for rows read back, in order of
    /// first appearance).
    pub(crate) window: usize,
    pub(crate) period: Period,
    pub(crate) indicator: Indicator,
    pub(crate) value: f64,
    pub(crate) exposure_days: i32,
}

/// Views of person-level rows, persons and windows numbered in order of first appearance;
/// rows of an indicator folge does not know are left out.
pub(crate) fn views(rows: &[IndicatorRow]) -> Vec<PersonValue<'_>> {
    let mut persons: HashMap<Pseudonym, usize> = HashMap::new();
    let mut windows: HashMap<&str, usize> = HashMap::new();
    rows.iter()
        .filter_map(|r| {
            let indicator = Indicator::parse(&r.indicator)?;
            let next = persons.len();
            let next_window = windows.len();
            Some(PersonValue {
                person: *persons.entry(r.pid).or_insert(next),
                pid: r.pid,
                municipality: &r.municipality,
                arm: r.arm,
                target_group: r.target_group.as_deref(),
                window: *windows.entry(r.period.as_str()).or_insert(next_window),
                period: Period::of(&r.period),
                indicator,
                value: r.value,
                exposure_days: r.exposure_days,
            })
        })
        .collect()
}

/// A comparison a pipeline can ask for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Comparison {
    /// After vs before inclusion, within each arm.
    BeforeAfter,
    /// The pilot's change against the comparison arm's change.
    PilotVsComparison,
}

impl Comparison {
    /// Every comparison.
    pub const ALL: [Comparison; 2] = [Comparison::BeforeAfter, Comparison::PilotVsComparison];

    /// The id used in pipeline files.
    pub fn id(self) -> &'static str {
        match self {
            Comparison::BeforeAfter => "before_after",
            Comparison::PilotVsComparison => "pilot_vs_comparison",
        }
    }

    /// Parse an id.
    pub fn parse(id: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.id() == id)
    }
}

/// The model for counts (admissions, contacts, bed-days as whole days). Days that are not
/// whole and hours always get the Poisson model, which is valid for any non-negative
/// outcome with a cluster-robust variance; deaths too (at most one per person).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CountModel {
    /// Poisson GLM with log person-time offset and CR1 SE by person (the default).
    #[default]
    Poisson,
    /// Negative binomial GLM (`MASS::glm.nb`: θ by maximum likelihood) with CR1 SE by
    /// person, θ held fixed.
    NegativeBinomial,
}

impl CountModel {
    /// The id used in pipeline files.
    pub fn id(self) -> &'static str {
        match self {
            CountModel::Poisson => "poisson",
            CountModel::NegativeBinomial => "negative_binomial",
        }
    }

    /// Parse an id.
    pub fn parse(id: &str) -> Option<Self> {
        [CountModel::Poisson, CountModel::NegativeBinomial].into_iter().find(|m| m.id() == id)
    }
}

/// How the person-clustered variance of a saturated model is estimated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ClusterVariance {
    /// The cluster jackknife, CV3: `(G − 1)/G Σ_g (β̂₍₋g₎ − β̂)²` over persons left out one
    /// at a time (`sandwich::vcovJK(center = "estimate")`; MacKinnon, Nielsen & Webb's
    /// CRV3). The default: with a few heavy users carrying much of the use, CR1 is too
    /// small (the calibration bench shows its intervals missing 8–10 % of the time).
    #[default]
    Jackknife,
    /// CR1, `sandwich::vcovCL(type = "HC1")`.
    Cr1,
}

impl ClusterVariance {
    /// The id used in pipeline files.
    pub fn id(self) -> &'static str {
        match self {
            ClusterVariance::Jackknife => "jackknife",
            ClusterVariance::Cr1 => "cr1",
        }
    }
}

/// Confidence level of every interval.
pub(crate) const LEVEL: f64 = 0.95;

/// The model fitted for one comparison, with what it says about itself.
struct Fitted {
    fit: folge_stats::GlmFit,
    /// `Poisson GLM` or `negative binomial GLM (θ = …)`.
    family: String,
    /// How the SEs were clustered, in words.
    variance: &'static str,
}

const CR1: &str = "CR1 SE by person (sandwich::vcovCL HC1)";
const JACKKNIFE: &str =
    "cluster-jackknife (CV3) SE by person (sandwich::vcovJK, center = estimate)";
const JACKKNIFE_WITHIN: &str = "cluster-jackknife (CV3) SE by person (each person left out in turn; refitted where that moves the estimate by more than 0.001, one Newton step elsewhere)";
const CR1_WITHIN: &str = "CR1 SE by person (the fixed-effect model's sandwich × G/(G − 1), G persons with time and use in both windows)";
const CR1_NO_JACKKNIFE_WITHIN: &str =
    "CR1 SE by person (no jackknife: one person holds all of a window's use)";
const CR1_NO_JACKKNIFE: &str =
    "CR1 SE by person (sandwich::vcovCL HC1; no jackknife: leaving one person out empties a cell)";

/// The SE a within-person fit's interval uses, and its words for `method`: the jackknife
/// unless CR1 is asked for or the jackknife is undefined.
pub(crate) fn within_se(
    variance: ClusterVariance,
    se_cr1: f64,
    se_jackknife: Option<f64>,
) -> (f64, &'static str) {
    match (variance, se_jackknife) {
        (ClusterVariance::Jackknife, Some(se)) => (se, JACKKNIFE_WITHIN),
        (ClusterVariance::Jackknife, None) => (se_cr1, CR1_NO_JACKKNIFE_WITHIN),
        (ClusterVariance::Cr1, _) => (se_cr1, CR1_WITHIN),
    }
}

/// A model's design: saturated in a cell factor (the design row of each cell, and each
/// row's cell), or any rows.
enum Design<'a> {
    Cells(&'a [Vec<f64>], Vec<usize>),
    Rows(Vec<f64>, usize),
}

/// Fit `y ~ x + offset` with CR1 SE by `cluster`: the count model where the outcome is
/// whole counts, the Poisson model otherwise. An unweighted Poisson model saturated in its
/// cells is fitted in closed form (`folge_stats::poisson_glm_cells`: the same numbers as
/// IRLS, without an iteration per row).
fn fit_model(
    (model, variance): (CountModel, ClusterVariance),
    design: &Design<'_>,
    data: &PersonRows,
    weights: Option<&[f64]>,
) -> Result<Fitted, folge_stats::StatsError> {
    let counts = data.y.iter().all(|v| v.fract() == 0.0);
    let negative_binomial = model == CountModel::NegativeBinomial && counts;
    if let (Design::Cells(cell_x, cell), false, None) = (design, negative_binomial, weights) {
        let mut fit =
            folge_stats::poisson_glm_cells(cell_x, cell, &data.y, &data.exposure, &data.unit)?;
        let family = if model == CountModel::NegativeBinomial {
            "Poisson GLM (not whole counts)"
        } else {
            "Poisson GLM"
        };
        let variance = match variance {
            ClusterVariance::Cr1 => CR1,
            ClusterVariance::Jackknife => {
                match folge_stats::poisson_cells_jackknife(
                    cell_x,
                    cell,
                    &data.y,
                    &data.exposure,
                    &data.unit,
                ) {
                    Some(v) => {
                        fit.cov_cluster = Some(v);
                        JACKKNIFE
                    }
                    None => CR1_NO_JACKKNIFE,
                }
            }
        };
        return Ok(Fitted { fit, family: family.to_owned(), variance });
    }
    let expanded;
    let (x, k) = match design {
        Design::Rows(x, k) => (x.as_slice(), *k),
        Design::Cells(cell_x, cell) => {
            expanded = cell.iter().flat_map(|&c| cell_x[c].iter().copied()).collect::<Vec<_>>();
            (expanded.as_slice(), cell_x.len())
        }
    };
    let offset: Vec<f64> = data.exposure.iter().map(|e| e.ln()).collect();
    if negative_binomial {
        let fit = folge_stats::negbin_glm(x, k, &data.y, &offset, weights, Some(&data.unit))?;
        let theta = fit.theta.map_or_else(String::new, |t| format!(" (θ = {t:.3})"));
        return Ok(Fitted { fit, family: format!("negative binomial GLM{theta}"), variance: CR1 });
    }
    let fit = folge_stats::poisson_glm(x, k, &data.y, &offset, weights, Some(&data.unit))?;
    let family = if model == CountModel::NegativeBinomial {
        "Poisson GLM (not whole counts)".to_owned()
    } else {
        "Poisson GLM".to_owned()
    };
    Ok(Fitted { fit, family, variance: CR1 })
}

impl Fitted {
    /// The covariance the intervals use: cluster-robust.
    fn cov(&self) -> &[Vec<f64>] {
        self.fit.cov_cluster.as_deref().unwrap_or(&self.fit.cov_model)
    }

    /// `exp(β_j)` with its Wald interval and p-value.
    fn ratio(&self, j: usize) -> Option<(f64, f64, f64, f64)> {
        let r = self.fit.exp_coef(j, LEVEL, "").ok()?;
        Some((r.estimate?, r.ci_low?, r.ci_high?, r.p_value?))
    }

    /// A two-cell model's (`value ~ b`) ratio of the second cell to the first, with its
    /// interval and p, and the interval of their difference in rates, into `r`.
    fn fill_two_cells(&self, r: &mut ComparisonRow) {
        if let Some((est, lo, hi, p)) = self.ratio(1) {
            r.effect_size = Some(est);
            (r.ci_low, r.ci_high, r.p_value) = (Some(lo), Some(hi), Some(p));
        }
        self.fill_diff(r);
    }

    /// A two-cell model's interval of the difference of its cells' rates into `r` (only
    /// the Poisson model's cells are the pooled rates `diff` is made of; a negative
    /// binomial fit's cells are not, and its interval would not belong to `diff`).
    fn fill_diff(&self, r: &mut ComparisonRow) {
        if !self.family.starts_with("Poisson") {
            return;
        }
        if let Some((_, lo, hi)) =
            self.rate_difference(&[(1.0, vec![1.0, 1.0]), (-1.0, vec![1.0, 0.0])])
        {
            (r.diff_ci_low, r.diff_ci_high) = (Some(lo), Some(hi));
        }
    }

    /// `Σ sign · exp(x_c'β)` over `cells` with its delta-method interval: a difference of
    /// rates per person-year (offset 0) and its CI.
    fn rate_difference(&self, cells: &[(f64, Vec<f64>)]) -> Option<(f64, f64, f64)> {
        let beta = &self.fit.coef;
        let k = beta.len();
        let mut value = 0.0;
        let mut grad = vec![0.0; k];
        for (sign, x) in cells {
            let rate = x.iter().zip(beta).map(|(a, b)| a * b).sum::<f64>().exp();
            value += sign * rate;
            for (g, xi) in grad.iter_mut().zip(x) {
                *g += sign * rate * xi;
            }
        }
        let cov = self.cov();
        let var: f64 =
            (0..k).map(|a| (0..k).map(|b| grad[a] * cov[a][b] * grad[b]).sum::<f64>()).sum();
        let z = folge_stats::dist::qnorm(1.0 - (1.0 - LEVEL) / 2.0);
        (value.is_finite() && var.is_finite() && var >= 0.0)
            .then(|| (value, value - z * var.sqrt(), value + z * var.sqrt()))
    }
}

/// Person-level rows of one indicator with exposure, as the models' inputs.
#[derive(Default)]
pub(crate) struct PersonRows {
    /// The person (index into the indicator table's participants), the cluster.
    unit: Vec<usize>,
    treated: Vec<bool>,
    post: Vec<bool>,
    y: Vec<f64>,
    /// Person-years.
    exposure: Vec<f64>,
}

impl PersonRows {
    fn push(&mut self, r: &PersonValue<'_>, post: bool) {
        self.unit.push(r.person);
        self.treated.push(r.arm == Arm::Pilot);
        self.post.push(post);
        self.y.push(r.value);
        self.exposure.push(f64::from(r.exposure_days) / DAYS_PER_YEAR);
    }

    /// Rows of `arm` only (any arm: `None`).
    fn of_arm(&self, arm: Option<Arm>) -> PersonRows {
        let mut out = PersonRows::default();
        for i in 0..self.y.len() {
            if arm.is_none_or(|a| (a == Arm::Pilot) == self.treated[i]) {
                out.unit.push(self.unit[i]);
                out.treated.push(self.treated[i]);
                out.post.push(self.post[i]);
                out.y.push(self.y[i]);
                out.exposure.push(self.exposure[i]);
            }
        }
        out
    }

    /// Rows after inclusion only.
    fn after_only(&self) -> PersonRows {
        let mut out = PersonRows::default();
        for i in (0..self.y.len()).filter(|&i| self.post[i]) {
            out.unit.push(self.unit[i]);
            out.treated.push(self.treated[i]);
            out.post.push(true);
            out.y.push(self.y[i]);
            out.exposure.push(self.exposure[i]);
        }
        out
    }
}

const DAYS_PER_YEAR: f64 = 365.25;

/// The `before` and `after` rows of one indicator with exposure (rows of other windows and
/// without exposure carry no information for the rate models).
fn person_rows<'r, 'a: 'r>(
    rows: impl IntoIterator<Item = &'r PersonValue<'a>>,
    indicator: Indicator,
) -> PersonRows {
    let mut out = PersonRows::default();
    for r in rows.into_iter().filter(|r| r.indicator == indicator && r.exposure_days > 0) {
        match r.period {
            Period::After => out.push(r, true),
            Period::Before => out.push(r, false),
            Period::Other => {}
        }
    }
    out
}

/// Whether an indicator is 0 before inclusion by construction (nobody dies before being
/// included), so before/after means nothing and only the arms after inclusion compare.
pub(crate) fn zero_before_inclusion(indicator: Indicator) -> bool {
    indicator == Indicator::Mortality
}

/// Covariates and balancing weights for the adjusted pilot-vs-comparison model, per person
/// (indexed like [`PersonValue::person`]).
#[derive(Debug, Clone, Default)]
pub(crate) struct Adjusted {
    /// Names of the covariate columns (dummies of categorical covariates), in order.
    pub(crate) columns: Vec<String>,
    /// `[person][column]`.
    pub(crate) values: Vec<Vec<f64>>,
    /// Balancing weight per person; `None`: unweighted.
    pub(crate) weights: Option<Vec<f64>>,
    /// What the method text says about the adjustment.
    pub(crate) description: String,
}

/// What the comparisons of one indicator need besides its rows.
#[derive(Clone, Copy)]
pub(crate) struct Settings<'a> {
    pub(crate) comparisons: &'a [Comparison],
    pub(crate) model: CountModel,
    pub(crate) variance: ClusterVariance,
    pub(crate) adjusted: Option<&'a Adjusted>,
    pub(crate) min_n: usize,
}

fn ratio(after: Option<f64>, before: Option<f64>) -> Option<f64> {
    match (after, before) {
        (Some(a), Some(b)) if b > 0.0 => Some(a / b),
        _ => None,
    }
}

/// After/before within one arm: the within-person rate ratio (person fixed effects), and
/// the pooled rates with their difference.
fn before_after_row(
    measure: Indicator,
    (scope, scope_value): (&str, Option<&str>),
    arm: Arm,
    data: &PersonRows,
    settings: Settings<'_>,
) -> ComparisonRow {
    let indicator = measure.id();
    let mut r = blank_row(indicator, (scope, scope_value), Some(arm), "rate_ratio", String::new());
    let rate = |post: bool| {
        let (v, e) = (0..data.y.len())
            .filter(|&i| data.post[i] == post)
            .fold((0.0, 0.0), |(v, e), i| (v + data.y[i], e + data.exposure[i]));
        (e > 0.0).then(|| v / e)
    };
    let n_of = |post: bool| {
        data.unit
            .iter()
            .zip(&data.post)
            .filter(|(_, p)| **p == post)
            .map(|(u, _)| u)
            .collect::<std::collections::BTreeSet<_>>()
            .len()
    };
    let n = n_of(false).max(n_of(true));
    r.n = n as i64;
    r.before_mean = rate(false);
    r.after_mean = rate(true);
    if zero_before_inclusion(measure) {
        // The rates stay (the after rate is the arm's mortality); their difference would
        // be the after rate again, read as a change it is not.
        r.method = "no estimate: deaths cannot occur before inclusion, so the before rate is 0 by construction; mortality is compared between the arms after inclusion (rate_ratio_pilot_vs_comparison)".into();
        return r;
    }
    r.diff = r.after_mean.zip(r.before_mean).map(|(a, b)| a - b);
    if n < settings.min_n {
        r.method = format!("no estimate: {n} persons, fewer than {}", settings.min_n);
        return r;
    }
    let cell_x = two_cells();
    let design = Design::Cells(&cell_x, data.post.iter().map(|&p| usize::from(p)).collect());
    let counts = data.y.iter().all(|v| v.fract() == 0.0);
    if settings.model == CountModel::NegativeBinomial && counts {
        // The negative binomial alternative compares the pooled rates (a person fixed
        // effect does not carry over to it: Allison & Waterman 2002).
        match fit_model((settings.model, settings.variance), &design, data, None) {
            Ok(m) => {
                m.fill_two_cells(&mut r);
                r.method = format!(
                    "rate ratio after/before of the pooled rates, {} value ~ after + offset(log person-years), {}",
                    m.family, m.variance
                );
            }
            Err(e) => {
                r.effect_size = ratio(r.after_mean, r.before_mean);
                r.method = format!("no interval: {e}");
            }
        }
        return r;
    }
    let windows = two_windows(data);
    // The pooled rates' difference: its own jackknife, or (CR1, or the jackknife undefined)
    // the delta method from the pooled Poisson model.
    let jackknifed = if settings.variance == ClusterVariance::Jackknife {
        jackknife_diff_interval(&mut r, &windows)
    } else {
        None
    };
    if jackknifed.is_none()
        && let Ok(m) = fit_model((CountModel::Poisson, settings.variance), &design, data, None)
    {
        m.fill_diff(&mut r);
    }
    let diff_interval = jackknifed.unwrap_or("its interval by the delta method");
    match folge_stats::within_person_rate_ratio(&windows) {
        Ok(fit) => {
            let (se, variance) = within_se(settings.variance, fit.se_cr1, fit.se_jackknife);
            fill_log_ratio(&mut r, fit.log_ratio, se);
            r.method = format!(
                "within-person rate ratio after/before, Poisson GLM with a fixed effect per person, value ~ after + person + offset(log person-years) ({} persons with time and use in both windows; each compared with themself, so who uses much and who leaves early do not move it), {variance}; before_mean and after_mean are the pooled rates, diff their difference, {diff_interval}",
                fit.informative
            );
        }
        Err(e) => {
            r.method = format!("no estimate of the within-person rate ratio: {e}");
        }
    }
    r
}

/// The interval of `r.diff`, the pooled rates' difference after − before within an arm,
/// from the cluster jackknife: each person left out in turn, the pooled rates recomputed
/// from the totals less theirs (exact, one pass). The jackknife covariance of the two log
/// rates gives each rate its own interval on the log scale and their correlation, which
/// `folge_stats::rate_difference_mover` combines into the difference's (MOVER), with
/// Student's t on the degrees of freedom of the difference's dispersion
/// (`folge_stats::dispersion_df`: each person's squared move beside the Poisson variance
/// of their counts). Pan & Wall's df of the moves made rare outcomes too wide (kad stays
/// 2.8 % miss in the calibration study), the normal quantile heavy-tailed contacts too
/// narrow (7.4 %); the dispersion's df kept every row in 3.0–5.4 %. Pooled
/// rates of heavy-tailed use are right-skewed and their SE grows with them, so the
/// interval is built on their log scale: the symmetric jackknife-t on the difference
/// scale, even with the acceleration, missed 7.2–7.6 % for contacts and hours in the
/// calibration study, nearly all on the side of a sample lacking the heaviest users, and
/// the profile interval over the two log rates' ellipse still 7.1–8.3 %. Where a rate or a
/// left-out rate is 0 (no log scale), the jackknife-t with the acceleration
/// (`folge_stats::JackknifeMoves`). `None` (nothing set) when a person holds all of a
/// window's time; otherwise the words for `method`.
fn jackknife_diff_interval(
    r: &mut ComparisonRow,
    windows: &[folge_stats::TwoWindows],
) -> Option<&'static str> {
    let diff = r.diff?;
    let total = windows.iter().fold([0.0; 4], |t, w| {
        [t[0] + w.before, t[1] + w.before_years, t[2] + w.after, t[3] + w.after_years]
    });
    let (rate_before, rate_after) = (total[0] / total[1], total[2] / total[3]);
    let mut moves = folge_stats::JackknifeMoves::default();
    let mut log_moves = Some([[0.0; 2]; 2]);
    // Each move's square beside what Poisson variation alone would give it,
    // `a/(Tₐ − tₐ)² + b/(T_b − t_b)²`, for the df (`folge_stats::dispersion_df`).
    let mut terms = Vec::with_capacity(windows.len());
    for w in windows {
        let (before_years, after_years) = (total[1] - w.before_years, total[3] - w.after_years);
        if before_years <= 0.0 || after_years <= 0.0 {
            return None;
        }
        let (before, after) =
            ((total[0] - w.before) / before_years, (total[2] - w.after) / after_years);
        let m = after - before - diff;
        moves.add(m);
        terms.push((
            m * m,
            w.after / (after_years * after_years) + w.before / (before_years * before_years),
        ));
        log_moves = log_moves.filter(|_| before > 0.0 && after > 0.0).map(|mut s| {
            let m = [(before / rate_before).ln(), (after / rate_after).ln()];
            for (i, row) in s.iter_mut().enumerate() {
                for (j, cell) in row.iter_mut().enumerate() {
                    *cell += m[i] * m[j];
                }
            }
            s
        });
    }
    let g = windows.len() as f64;
    let by_mover =
        log_moves.filter(|_| rate_before > 0.0 && rate_after > 0.0 && g >= 2.0).and_then(|s| {
            let cov = s.map(|row| row.map(|v| v * (g - 1.0) / g));
            let p = 1.0 - (1.0 - LEVEL) / 2.0;
            let crit = match folge_stats::dispersion_df(&terms) {
                Some(df) if df.is_finite() && df > 0.0 => folge_stats::dist::qt(p, df),
                _ => folge_stats::dist::qnorm(p),
            };
            folge_stats::rate_difference_mover((rate_before.ln(), rate_after.ln()), cov, crit)
        });
    if let Some((lo, hi)) = by_mover {
        (r.diff_ci_low, r.diff_ci_high) = (Some(lo), Some(hi));
        return Some(
            "its interval by MOVER from the two pooled rates' intervals on their log scale (their cluster-jackknife covariance, t on the degrees of freedom of the difference's dispersion)",
        );
    }
    let (lo, hi) = moves.interval(diff, LEVEL)?;
    (r.diff_ci_low, r.diff_ci_high) = (Some(lo), Some(hi));
    Some(
        "its interval from the cluster jackknife of the difference (t with Pan & Wall's df, the acceleration)",
    )
}

/// Each person's before and after windows (sums and person-years), in order of first
/// appearance, for the within-person rate ratio.
fn two_windows(data: &PersonRows) -> Vec<folge_stats::TwoWindows> {
    // Persons are numbered densely: each one's place in `out` by number.
    let mut index = vec![usize::MAX; data.unit.iter().max().map_or(0, |&u| u + 1)];
    let mut out: Vec<folge_stats::TwoWindows> = Vec::new();
    for i in 0..data.y.len() {
        let slot = &mut index[data.unit[i]];
        if *slot == usize::MAX {
            *slot = out.len();
            out.push(folge_stats::TwoWindows {
                before: 0.0,
                before_years: 0.0,
                after: 0.0,
                after_years: 0.0,
            });
        }
        let w = &mut out[*slot];
        if data.post[i] {
            w.after += data.y[i];
            w.after_years += data.exposure[i];
        } else {
            w.before += data.y[i];
            w.before_years += data.exposure[i];
        }
    }
    out
}

/// The design rows of `value ~ b`, b = 0 or 1 (after within an arm; pilot after inclusion).
fn two_cells() -> Vec<Vec<f64>> {
    vec![vec![1.0, 0.0], vec![1.0, 1.0]]
}

/// The design rows of `value ~ pilot * after`, cell 2 · pilot + after.
fn four_cells() -> Vec<Vec<f64>> {
    (0..4)
        .map(|c| {
            let mut row = Vec::with_capacity(4);
            did_row(c >= 2, c % 2 == 1, &[], &mut row);
            row
        })
        .collect()
}

/// Each row's cell of `value ~ pilot * after`: 2 · pilot + after.
fn did_cell_of_rows(data: &PersonRows) -> Vec<usize> {
    data.treated
        .iter()
        .zip(&data.post)
        .map(|(&t, &p)| 2 * usize::from(t) + usize::from(p))
        .collect()
}

/// The design row of a person-period for the pilot-vs-comparison model: intercept, pilot,
/// after, pilot × after, then each covariate and each covariate × after.
fn did_row(treated: bool, post: bool, covariates: &[f64], out: &mut Vec<f64>) {
    let (t, p) = (f64::from(u8::from(treated)), f64::from(u8::from(post)));
    out.extend([1.0, t, p, t * p]);
    out.extend_from_slice(covariates);
    out.extend(covariates.iter().map(|c| c * p));
}

/// Pilot vs comparison: the ratio of rate ratios from `value ~ pilot * after +
/// offset(log person-years)` (with covariates and weights when adjusted), CR1 by person;
/// `diff` is the difference in differences of rates, with its interval from the
/// unadjusted model.
fn did_row_of(
    measure: Indicator,
    (scope, scope_value): (&str, Option<&str>),
    data: &PersonRows,
    settings: Settings<'_>,
) -> ComparisonRow {
    let indicator = measure.id();
    let mut r =
        blank_row(indicator, (scope, scope_value), None, "ratio_of_rate_ratios", String::new());
    let n_of = |pilot: bool| {
        data.unit
            .iter()
            .zip(&data.treated)
            .filter(|(_, t)| **t == pilot)
            .map(|(u, _)| u)
            .collect::<std::collections::BTreeSet<_>>()
            .len()
    };
    let (np, nc) = (n_of(true), n_of(false));
    r.n = (np + nc) as i64;
    if zero_before_inclusion(measure) {
        r.method = "no estimate: deaths cannot occur before inclusion, so there is no difference in differences; see rate_ratio_pilot_vs_comparison".into();
        return r;
    }
    if np.min(nc) < settings.min_n {
        r.method = format!(
            "no estimate: {np} pilot and {nc} comparison persons, fewer than {} in an arm",
            settings.min_n
        );
        return r;
    }
    let cells = did_cell_of_rows(data);
    let did_cells = four_cells();
    // The pooled rates' difference in differences gets its interval from the pooled
    // Poisson model.
    let unadjusted = fit_model(
        (CountModel::Poisson, settings.variance),
        &Design::Cells(&did_cells, cells),
        data,
        None,
    );
    let cell = |t: f64, p: f64| vec![1.0, t, p, t * p];
    if let Ok(m) = &unadjusted {
        let cells = [
            (1.0, cell(1.0, 1.0)),
            (-1.0, cell(1.0, 0.0)),
            (-1.0, cell(0.0, 1.0)),
            (1.0, cell(0.0, 0.0)),
        ];
        // By the delta method from the jackknife covariance of the four log rates: in the
        // calibration study it holds 4–6 % for the difference in differences, where the
        // difference's own jackknife (as within an arm) missed up to 8.6 %.
        if let Some((d, lo, hi)) = m.rate_difference(&cells) {
            (r.diff, r.diff_ci_low, r.diff_ci_high) = (Some(d), Some(lo), Some(hi));
        }
    }
    let adjusted = settings.adjusted.filter(|_| scope == "all");
    if adjusted.is_some() {
        // The pooled rates' difference in differences is not adjusted: left out.
        (r.diff, r.diff_ci_low, r.diff_ci_high) = (None, None, None);
    }
    let counts = data.y.iter().all(|v| v.fract() == 0.0);
    if settings.model == CountModel::NegativeBinomial && counts {
        pooled_did(&mut r, data, settings, adjusted);
    } else {
        within_person_did(&mut r, data, settings.variance, adjusted);
    }
    r
}

/// The pilot's within-person rate ratio over the comparison arm's (person fixed effects;
/// with covariates of the change and balancing weights when adjusted).
fn within_person_did(
    r: &mut ComparisonRow,
    data: &PersonRows,
    variance: ClusterVariance,
    adjusted: Option<&Adjusted>,
) {
    let windows = two_windows(data);
    // Each person's arm and number, in the order of `windows`.
    let mut persons: Vec<(bool, usize)> = Vec::with_capacity(windows.len());
    let mut seen = std::collections::HashSet::new();
    for (&unit, &treated) in data.unit.iter().zip(&data.treated) {
        if seen.insert(unit) {
            persons.push((treated, unit));
        }
    }
    let fitted = match adjusted {
        None => {
            let arm = |pilot: bool| -> Vec<folge_stats::TwoWindows> {
                windows
                    .iter()
                    .zip(&persons)
                    .filter(|(_, (t, _))| *t == pilot)
                    .map(|(w, _)| *w)
                    .collect()
            };
            folge_stats::within_person_ratio_of_ratios(&arm(true), &arm(false))
                .map(|f| (f.log_ratio, f.se_cr1, f.se_jackknife, f.informative, String::new()))
        }
        Some(adj) => {
            let k = 2 + adj.columns.len();
            let mut x = Vec::with_capacity(windows.len() * k);
            for &(treated, unit) in &persons {
                x.extend([1.0, f64::from(u8::from(treated))]);
                x.extend_from_slice(&adj.values[unit]);
            }
            let weights: Option<Vec<f64>> =
                adj.weights.as_ref().map(|w| persons.iter().map(|&(_, u)| w[u]).collect());
            folge_stats::within_person_glm(&windows, &x, k, weights.as_deref()).map(|f| {
                (
                    f.coef[1],
                    f.cov_cr1[1][1].sqrt(),
                    f.cov_jackknife.map(|c| c[1][1].sqrt()),
                    f.informative,
                    format!("; {}", adj.description),
                )
            })
        }
    };
    match fitted {
        Ok((beta, se_cr1, se_jackknife, informative, adjustment)) => {
            let (se, words) = within_se(variance, se_cr1, se_jackknife);
            fill_log_ratio(r, beta, se);
            let covariates = if adjusted.is_some() { " + after:covariates" } else { "" };
            let diff = if adjusted.is_some() {
                "diff left out: the pooled rates' difference in differences would not be adjusted"
            } else {
                "diff is the difference in differences of the pooled rates, its interval by the delta method"
            };
            r.method = format!(
                "ratio of the arms' within-person rate ratios, Poisson GLM with a fixed effect per person, value ~ after + pilot:after{covariates} + person + offset(log person-years) ({informative} persons with time and use in both windows), {words}; {diff}{adjustment}"
            );
        }
        Err(e) => r.method = format!("no estimate of the ratio of within-person rate ratios: {e}"),
    }
}

/// `exp(β)` with its Wald interval and p from `se` into `r` (nothing when `se` is not a
/// finite positive number).
pub(crate) fn fill_log_ratio(r: &mut ComparisonRow, beta: f64, se: f64) {
    if se > 0.0 && se.is_finite() && beta.is_finite() {
        let z = folge_stats::dist::qnorm(1.0 - (1.0 - LEVEL) / 2.0);
        r.effect_size = Some(beta.exp());
        r.ci_low = Some((beta - z * se).exp());
        r.ci_high = Some((beta + z * se).exp());
        r.p_value = Some(2.0 * folge_stats::dist::pnorm(-(beta / se).abs()));
    }
}

/// The negative binomial alternative: the ratio of the pooled rate ratios from `value ~
/// pilot * after + offset(log person-years)` (with covariates and weights when adjusted).
fn pooled_did(
    r: &mut ComparisonRow,
    data: &PersonRows,
    settings: Settings<'_>,
    adjusted: Option<&Adjusted>,
) {
    let cells = did_cell_of_rows(data);
    let did_cells = four_cells();
    let model = match adjusted {
        None => fit_model(
            (settings.model, settings.variance),
            &Design::Cells(&did_cells, cells),
            data,
            None,
        )
        .map(|m| (m, String::new())),
        Some(adj) => {
            let k = 4 + 2 * adj.columns.len();
            let mut x = Vec::with_capacity(data.y.len() * k);
            for i in 0..data.y.len() {
                did_row(data.treated[i], data.post[i], &adj.values[data.unit[i]], &mut x);
            }
            let weights: Option<Vec<f64>> =
                adj.weights.as_ref().map(|w| data.unit.iter().map(|&u| w[u]).collect());
            fit_model(
                (settings.model, settings.variance),
                &Design::Rows(x, k),
                data,
                weights.as_deref(),
            )
            .map(|m| (m, format!("; {}", adj.description)))
        }
    };
    match model {
        Ok((m, adjustment)) => {
            if let Some((est, lo, hi, p)) = m.ratio(3) {
                r.effect_size = Some(est);
                (r.ci_low, r.ci_high, r.p_value) = (Some(lo), Some(hi), Some(p));
            }
            r.method = format!(
                "ratio of the pooled rate ratios, {} value ~ pilot * after + offset(log person-years), {}{adjustment}",
                m.family, m.variance
            );
        }
        Err(e) => r.method = format!("no estimate: {e}"),
    }
}

/// Mortality (and any outcome that is 0 before inclusion by construction): the rate ratio
/// pilot/comparison after inclusion, `value ~ pilot + offset(log person-years)`, robust SE.
fn after_only_row(
    indicator: &str,
    (scope, scope_value): (&str, Option<&str>),
    data: &PersonRows,
    settings: Settings<'_>,
) -> ComparisonRow {
    let kind = "rate_ratio_pilot_vs_comparison";
    let mut r = blank_row(indicator, (scope, scope_value), None, kind, String::new());
    let after = data.after_only();
    let n_of = |pilot: bool| after.treated.iter().filter(|t| **t == pilot).count();
    let (np, nc) = (n_of(true), n_of(false));
    r.n = (np + nc) as i64;
    let rate = |pilot: bool| {
        let (v, e) = (0..after.y.len())
            .filter(|&i| after.treated[i] == pilot)
            .fold((0.0, 0.0), |(v, e), i| (v + after.y[i], e + after.exposure[i]));
        (e > 0.0).then(|| v / e)
    };
    // before_mean / after_mean: the comparison arm's and the pilot's rate after inclusion.
    (r.before_mean, r.after_mean) = (rate(false), rate(true));
    r.diff = r.after_mean.zip(r.before_mean).map(|(p, c)| p - c);
    if np.min(nc) < settings.min_n {
        r.method = format!(
            "no estimate: {np} pilot and {nc} comparison persons, fewer than {} in an arm",
            settings.min_n
        );
        return r;
    }
    if let Some(adj) = settings.adjusted.filter(|_| scope == "all") {
        adjusted_after_only(&mut r, &after, adj);
        return r;
    }
    let cell_x = two_cells();
    let design = Design::Cells(&cell_x, after.treated.iter().map(|&t| usize::from(t)).collect());
    match fit_model((CountModel::Poisson, settings.variance), &design, &after, None) {
        Ok(m) => {
            m.fill_two_cells(&mut r);
            r.method = format!(
                "rate ratio pilot/comparison after inclusion, Poisson GLM value ~ pilot + offset(log person-years), {}; before_mean and after_mean hold the comparison and pilot rates after inclusion (deaths cannot occur before inclusion, so there is no before/after)",
                m.variance
            );
        }
        Err(e) => {
            r.effect_size = ratio(r.after_mean, r.before_mean);
            r.method = format!("no interval: {e}");
        }
    }
    r
}

/// The adjusted rate ratio pilot/comparison after inclusion: `value ~ pilot + covariates +
/// offset(log person-years)` with the balancing weights, CR1 by person. `diff` (the pooled
/// rates' difference) is not adjusted, so the row leaves it out.
fn adjusted_after_only(r: &mut ComparisonRow, after: &PersonRows, adj: &Adjusted) {
    let k = 2 + adj.columns.len();
    let mut x = Vec::with_capacity(after.y.len() * k);
    for i in 0..after.y.len() {
        x.extend([1.0, f64::from(u8::from(after.treated[i]))]);
        x.extend_from_slice(&adj.values[after.unit[i]]);
    }
    let weights: Option<Vec<f64>> =
        adj.weights.as_ref().map(|w| after.unit.iter().map(|&u| w[u]).collect());
    let offset: Vec<f64> = after.exposure.iter().map(|e| e.ln()).collect();
    (r.diff, r.diff_ci_low, r.diff_ci_high) = (None, None, None);
    match folge_stats::poisson_glm(&x, k, &after.y, &offset, weights.as_deref(), Some(&after.unit))
    {
        Ok(fit) => {
            if let Ok(ratio) = fit.exp_coef(1, LEVEL, "")
                && let (Some(est), Some(lo), Some(hi), Some(p)) =
                    (ratio.estimate, ratio.ci_low, ratio.ci_high, ratio.p_value)
            {
                r.effect_size = Some(est);
                (r.ci_low, r.ci_high, r.p_value) = (Some(lo), Some(hi), Some(p));
            }
            r.method = format!(
                "rate ratio pilot/comparison after inclusion, Poisson GLM value ~ pilot + covariates + offset(log person-years), {CR1}; before_mean and after_mean hold the comparison and pilot rates after inclusion, unadjusted; diff left out: it would not be adjusted; {}",
                adj.description
            );
        }
        Err(e) => {
            r.method = format!("no estimate of the adjusted rate ratio: {e}; {}", adj.description);
        }
    }
}

/// Every comparison of one indicator in one scope, from its person-level rows.
fn compare_rows(
    measure: Indicator,
    scope: (&str, Option<&str>),
    rows: &[&PersonValue<'_>],
    settings: Settings<'_>,
) -> Vec<ComparisonRow> {
    let data = person_rows(rows.iter().copied(), measure);
    let indicator = measure.id();
    let mut out = Vec::new();
    let arms = [Arm::Pilot, Arm::Comparison].map(|arm| (arm, data.of_arm(Some(arm))));
    if settings.comparisons.contains(&Comparison::BeforeAfter) {
        for (arm, rows) in &arms {
            // A subset without persons of an arm (a pilot municipality) has no row for it.
            if scope.0 != "all" && rows.y.is_empty() {
                continue;
            }
            let scope = if scope.0 == "all" { ("arm", Some(arm.code())) } else { scope };
            out.push(before_after_row(measure, scope, *arm, rows, settings));
        }
    }
    if settings.comparisons.contains(&Comparison::PilotVsComparison) {
        if scope.0 != "all" && arms.iter().any(|(_, rows)| rows.y.is_empty()) {
            // A municipality with persons of one arm only: nothing to compare.
            return out;
        }
        out.push(did_row_of(measure, scope, &data, settings));
        if zero_before_inclusion(measure) {
            out.push(after_only_row(indicator, scope, &data, settings));
        }
    }
    out
}

/// Comparisons of each indicator (in `indicators` order) over all persons: after/before in
/// each arm (scope `arm`) and pilot vs comparison (scope `all`).
pub fn compare(
    person_level: &[IndicatorRow],
    indicators: &[&str],
    comparisons: &[Comparison],
    (model, variance): (CountModel, ClusterVariance),
) -> Vec<ComparisonRow> {
    let views = views(person_level);
    let settings = Settings { comparisons, model, variance, adjusted: None, min_n: 1 };
    let indicators: Vec<Indicator> =
        indicators.iter().filter_map(|id| Indicator::parse(id)).collect();
    compare_views(&views, &indicators, settings)
}

/// [`compare`] on borrowed person-level values.
pub(crate) fn compare_views(
    person_level: &[PersonValue<'_>],
    indicators: &[Indicator],
    settings: Settings<'_>,
) -> Vec<ComparisonRow> {
    let mut rows = Vec::new();
    for &indicator in indicators {
        let mine: Vec<&PersonValue<'_>> =
            person_level.iter().filter(|r| r.indicator == indicator).collect();
        rows.extend(compare_rows(indicator, ("all", None), &mine, settings));
    }
    rows
}

/// Adjust p-values over indicators within each family: the same scope, scope value, arm
/// and kind of effect. Holm by default (`p.adjust(method = "holm")`).
pub fn adjust(rows: &mut [ComparisonRow], method: Adjustment) {
    type Family = (String, Option<String>, Option<Arm>, String);
    let mut families: BTreeMap<Family, Vec<usize>> = BTreeMap::new();
    for (i, r) in rows.iter().enumerate() {
        let family = (r.scope.clone(), r.scope_value.clone(), r.arm, r.effect_size_kind.clone());
        families.entry(family).or_default().push(i);
    }
    for members in families.values() {
        let p: Vec<Option<f64>> = members.iter().map(|&i| rows[i].p_value).collect();
        // p-values from folge-stats are in [0, 1], so adjustment cannot fail.
        if let Ok(adjusted) = p_adjust(&p, method) {
            for (&i, a) in members.iter().zip(adjusted) {
                rows[i].p_adjusted = a;
            }
        }
    }
}

/// A comparison row with its identity and method, every estimate still empty.
pub(crate) fn blank_row(
    measure: &str,
    (scope, scope_value): (&str, Option<&str>),
    arm: Option<Arm>,
    kind: &str,
    method: String,
) -> ComparisonRow {
    ComparisonRow {
        measure: measure.to_owned(),
        scope: scope.to_owned(),
        scope_value: scope_value.map(str::to_owned),
        arm,
        n: 0,
        before_mean: None,
        after_mean: None,
        diff: None,
        diff_ci_low: None,
        diff_ci_high: None,
        ci_low: None,
        ci_high: None,
        p_value: None,
        p_adjusted: None,
        effect_size: None,
        effect_size_kind: kind.to_owned(),
        method,
    }
}

/// A subset of persons to compare within: `scope` = `municipality`, `target_group` or
/// `age`, `value` its value, `persons` the pids in it.
pub struct Subset<'a> {
    /// Scope name.
    pub scope: &'static str,
    /// Scope value.
    pub value: String,
    /// Whether a person-level row belongs to it.
    pub includes: Box<dyn Fn(&PersonValue<'_>) -> bool + Send + Sync + 'a>,
}

/// The same comparisons within each subset (a municipality, a target group, the 67+), on
/// the person-level rows in it, unadjusted. An arm with fewer than `min_n` persons gets a
/// row with the reason and no estimate; pilot vs comparison needs both arms.
pub(crate) fn compare_subsets(
    person_level: &[PersonValue<'_>],
    indicators: &[Indicator],
    subsets: &[Subset<'_>],
    settings: Settings<'_>,
) -> Vec<ComparisonRow> {
    let settings = Settings { adjusted: None, ..settings };
    let mut rows = Vec::new();
    for subset in subsets {
        for &indicator in indicators {
            let mine: Vec<&PersonValue<'_>> = person_level
                .iter()
                .filter(|r| r.indicator == indicator && (subset.includes)(r))
                .collect();
            rows.extend(compare_rows(
                indicator,
                (subset.scope, Some(&subset.value)),
                &mine,
                settings,
            ));
        }
    }
    rows
}

#[cfg(test)]
mod tests;

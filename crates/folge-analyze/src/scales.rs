//! Questionnaire scales: scores per person × timepoint, Cronbach's alpha per scale ×
//! timepoint, item distributions, and the change from the first to the second timepoint.
//!
//! Scoring (the codebook decides): reverse-scored items become min + max − value; a score
//! needs at least `min_share` of the scale's items answered (else null, counted); it is
//! the mean of the answered items, or their sum prorated to all items (sum × items /
//! answered). Comparisons, for persons scored at both timepoints:
//! - within each arm (scope `arm`): paired t on T1 − T0 with `d_z` (R `t.test(paired =
//!   TRUE)`, `effectsize::cohens_d`), and Wilcoxon signed-rank with the Hodges–Lehmann
//!   shift (R `wilcox.test(paired = TRUE, conf.int = TRUE)`);
//! - pilot vs comparison (scope `all`): difference in differences by OLS `score ~ pilot *
//!   T1` with CR1 cluster-robust SEs by person (R `lm` + `sandwich::vcovCL`).
//!
//! A group with fewer than `min_n` persons gets a row with the reason and no estimate.
//! `analyze` adjusts the p-values within each method × scope over the scales.

use std::collections::BTreeMap;

use folge_deid::Deidentified;
use folge_deid::rows::DeidParticipant;
use folge_schema::tables::{
    ComparisonRow, ItemDistributionRow, ScaleReliabilityRow, ScaleScoreRow,
};
use folge_schema::{Arm, Pseudonym};

/// How a scale's items make a score.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scoring {
    /// Mean of the answered items.
    Mean,
    /// Sum of the answered items, prorated to all items.
    Sum,
}

/// One scale to score.
#[derive(Debug, Clone, PartialEq)]
pub struct ScaleSpec {
    /// Instrument.
    pub instrument: String,
    /// Scale name (the instrument's own name for its total).
    pub scale: String,
    /// Its items.
    pub items: Vec<String>,
    /// Items scored in reverse.
    pub reverse: Vec<String>,
    /// Lowest answer.
    pub min: f64,
    /// Highest answer.
    pub max: f64,
    /// Mean or prorated sum.
    pub scoring: Scoring,
    /// Share of items that must be answered for a score.
    pub min_share: f64,
}

/// Settings of the scale analysis.
#[derive(Debug, Clone, PartialEq)]
pub struct ScaleParams {
    /// Scales to score.
    pub scales: Vec<ScaleSpec>,
    /// The two timepoints compared (first, second).
    pub timepoints: (String, String),
    /// Fewest persons for an estimate.
    pub min_n: usize,
}

/// What the scale analysis gives.
#[derive(Debug, Clone, Default)]
pub struct ScaleResults {
    /// Scores.
    pub scores: Vec<ScaleScoreRow>,
    /// Cronbach's alpha per scale and timepoint.
    pub reliability: Vec<ScaleReliabilityRow>,
    /// Answers per item, timepoint and arm.
    pub items: Vec<ItemDistributionRow>,
    /// T0 → T1 comparisons.
    pub comparisons: Vec<ComparisonRow>,
    /// Scores left null because too few items were answered.
    pub scores_missing: u64,
}

const LEVEL: f64 = 0.95;

/// Answers per (instrument, item, timepoint, arm, value's bits): the value and its count.
type ItemCounts<'a> = BTreeMap<(&'a str, &'a str, &'a str, Arm, u64), (f64, i64)>;

/// Score every scale and compare the timepoints.
pub fn scales(tables: &Deidentified, params: &ScaleParams) -> ScaleResults {
    let people: BTreeMap<Pseudonym, &DeidParticipant> =
        tables.participants().iter().map(|p| (p.pid, p)).collect();
    // (pid, timepoint, instrument, item) → value; free text and nulls left out.
    let mut answers: BTreeMap<(Pseudonym, &str, &str, &str), f64> = BTreeMap::new();
    let mut respondents: std::collections::BTreeSet<(Pseudonym, &str, &str)> =
        std::collections::BTreeSet::new();
    for r in tables.responses() {
        respondents.insert((r.pid, r.timepoint.as_str(), r.instrument.as_str()));
        if let Some(v) = r.value {
            answers.insert((r.pid, &r.timepoint, &r.instrument, &r.item), v);
        }
    }
    let mut out = ScaleResults::default();
    // Item distributions over every scored answer.
    let mut counts: ItemCounts<'_> = BTreeMap::new();
    for (&(pid, timepoint, instrument, item), &value) in &answers {
        if let Some(p) = people.get(&pid) {
            let entry = counts
                .entry((instrument, item, timepoint, p.arm, value.to_bits()))
                .or_insert((value, 0));
            entry.1 += 1;
        }
    }
    out.items = counts
        .into_iter()
        .map(|((instrument, item, timepoint, arm, _), (value, n))| ItemDistributionRow {
            instrument: instrument.to_owned(),
            item: item.to_owned(),
            timepoint: timepoint.to_owned(),
            arm,
            value,
            n,
        })
        .collect();
    let mut comparisons = Vec::new();
    for spec in &params.scales {
        let needed = (spec.min_share * spec.items.len() as f64).ceil() as usize;
        // Scores, and per timepoint the complete item rows for alpha.
        let mut by_timepoint: BTreeMap<&str, Vec<Vec<Option<f64>>>> = BTreeMap::new();
        let mut scored: BTreeMap<(Pseudonym, &str), f64> = BTreeMap::new();
        for &(pid, timepoint, instrument) in &respondents {
            if instrument != spec.instrument {
                continue;
            }
            let Some(p) = people.get(&pid) else { continue };
            let values: Vec<Option<f64>> = spec
                .items
                .iter()
                .map(|item| {
                    answers.get(&(pid, timepoint, instrument, item.as_str())).map(|&v| {
                        if spec.reverse.contains(item) { spec.min + spec.max - v } else { v }
                    })
                })
                .collect();
            let answered: Vec<f64> = values.iter().flatten().copied().collect();
            let score = (answered.len() >= needed.max(1)).then(|| {
                let sum: f64 = answered.iter().sum();
                match spec.scoring {
                    Scoring::Mean => sum / answered.len() as f64,
                    Scoring::Sum => sum * spec.items.len() as f64 / answered.len() as f64,
                }
            });
            if score.is_none() {
                out.scores_missing += 1;
            }
            if let Some(s) = score {
                scored.insert((pid, timepoint), s);
            }
            by_timepoint.entry(timepoint).or_default().push(values);
            out.scores.push(ScaleScoreRow {
                pid,
                municipality: p.municipality.clone(),
                arm: p.arm,
                target_group: p.target_group.clone(),
                timepoint: timepoint.to_owned(),
                instrument: spec.instrument.clone(),
                scale: spec.scale.clone(),
                score,
                n_items: spec.items.len() as i32,
                n_answered: answered.len() as i32,
            });
        }
        for (timepoint, rows) in by_timepoint {
            let complete: Vec<Vec<Option<f64>>> =
                rows.into_iter().filter(|r| r.iter().all(Option::is_some)).collect();
            out.reliability.push(ScaleReliabilityRow {
                instrument: spec.instrument.clone(),
                scale: spec.scale.clone(),
                timepoint: timepoint.to_owned(),
                n: complete.len() as i64,
                n_items: spec.items.len() as i64,
                cronbach_alpha: folge_stats::cronbach_alpha(&complete)
                    .ok()
                    .and_then(|r| r.estimate),
            });
        }
        comparisons.extend(compare_scale(spec, &scored, &people, params));
    }
    out.comparisons = comparisons;
    out
}

fn row(
    spec: &ScaleSpec,
    scope: &str,
    scope_value: Option<&str>,
    n: usize,
    kind: &str,
    method: String,
) -> ComparisonRow {
    let arm =
        scope_value.and_then(|v| [Arm::Pilot, Arm::Comparison].into_iter().find(|a| a.code() == v));
    let measure = format!("{}.{}", spec.instrument, spec.scale);
    let mut r = crate::comparisons::blank_row(&measure, (scope, scope_value), arm, kind, method);
    r.n = n as i64;
    r
}

fn mean(v: &[f64]) -> Option<f64> {
    (!v.is_empty()).then(|| v.iter().sum::<f64>() / v.len() as f64)
}

fn compare_scale(
    spec: &ScaleSpec,
    scored: &BTreeMap<(Pseudonym, &str), f64>,
    people: &BTreeMap<Pseudonym, &DeidParticipant>,
    params: &ScaleParams,
) -> Vec<ComparisonRow> {
    let (t0, t1) = (params.timepoints.0.as_str(), params.timepoints.1.as_str());
    // Persons scored at both timepoints, by arm.
    let mut pairs: BTreeMap<Arm, Vec<(Pseudonym, f64, f64)>> = BTreeMap::new();
    for (&(pid, timepoint), &first) in scored {
        if timepoint != t0 {
            continue;
        }
        if let (Some(&second), Some(p)) = (scored.get(&(pid, t1)), people.get(&pid)) {
            pairs.entry(p.arm).or_default().push((pid, first, second));
        }
    }
    let mut rows = Vec::new();
    for arm in [Arm::Pilot, Arm::Comparison] {
        let list = pairs.get(&arm).map_or(&[][..], Vec::as_slice);
        let before: Vec<f64> = list.iter().map(|p| p.1).collect();
        let after: Vec<f64> = list.iter().map(|p| p.2).collect();
        let x: Vec<Option<f64>> = after.iter().copied().map(Some).collect();
        let y: Vec<Option<f64>> = before.iter().copied().map(Some).collect();
        for (kind, method) in [
            (
                "d_z",
                format!(
                    "paired t, {t1} − {t0} (t.test paired); effect size d_z (no interval); the t interval is that of diff"
                ),
            ),
            (
                "hodges_lehmann",
                format!(
                    "Wilcoxon signed-rank, {t1} − {t0} (wilcox.test paired); Hodges–Lehmann shift"
                ),
            ),
        ] {
            let mut r = row(spec, "arm", Some(arm.code()), list.len(), kind, method);
            r.before_mean = mean(&before);
            r.after_mean = mean(&after);
            r.diff = r.after_mean.zip(r.before_mean).map(|(a, b)| a - b);
            if list.len() < params.min_n {
                r.method = format!(
                    "{}; no estimate: {} persons with both timepoints, fewer than {}",
                    r.method,
                    list.len(),
                    params.min_n
                );
                rows.push(r);
                continue;
            }
            let test = if kind == "d_z" {
                folge_stats::paired_t(&x, &y, LEVEL)
            } else {
                folge_stats::wilcoxon_signed_rank(&x, &y, None, true, LEVEL)
            };
            match test {
                Ok(t) => {
                    // One meaning per column: the paired t interval is that of the mean
                    // difference (`diff`); the Hodges–Lehmann interval is that of the
                    // shift, which is the effect size. d_z gets no interval of its own.
                    if kind == "d_z" {
                        (r.diff_ci_low, r.diff_ci_high) = (t.ci_low, t.ci_high);
                        r.effect_size = t.extra("d_z");
                    } else {
                        (r.ci_low, r.ci_high) = (t.ci_low, t.ci_high);
                        r.effect_size = t.estimate;
                    }
                    r.p_value = t.p_value;
                }
                Err(e) => r.method = format!("{}; no estimate: {e}", r.method),
            }
            rows.push(r);
        }
    }
    // Pilot vs comparison: every score at either timepoint, clustered by person.
    let (mut unit, mut treated, mut post, mut y) = (vec![], vec![], vec![], vec![]);
    for (&(pid, timepoint), &score) in scored {
        let Some(p) = people.get(&pid) else { continue };
        let is_post = if timepoint == t0 {
            false
        } else if timepoint == t1 {
            true
        } else {
            continue;
        };
        // Cluster labels for the sandwich: any text that is one per person.
        unit.push(pid.to_string());
        treated.push(p.arm == Arm::Pilot);
        post.push(is_post);
        y.push(score);
    }
    let persons = unit.iter().collect::<std::collections::BTreeSet<_>>().len();
    let mut r = row(
        spec,
        "all",
        None,
        persons,
        "difference_in_differences",
        format!("difference in differences, OLS score ~ pilot * {t1} with CR1 SE by person"),
    );
    let small = [Arm::Pilot, Arm::Comparison]
        .iter()
        .any(|a| pairs.get(a).map_or(0, Vec::len) < params.min_n);
    if small {
        r.method = format!(
            "{}; no estimate: fewer than {} persons with both timepoints in an arm",
            r.method, params.min_n
        );
    } else {
        match folge_stats::did_ols(&unit, &treated, &post, &y, LEVEL) {
            Ok(t) => {
                r.effect_size = t.estimate;
                r.diff = t.estimate;
                (r.ci_low, r.ci_high) = (t.ci_low, t.ci_high);
                (r.diff_ci_low, r.diff_ci_high) = (t.ci_low, t.ci_high);
                r.p_value = t.p_value;
            }
            Err(e) => r.method = format!("{}; no estimate: {e}", r.method),
        }
    }
    rows.push(r);
    rows
}

#[cfg(test)]
mod tests;

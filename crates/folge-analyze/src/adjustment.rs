//! The adjusted pilot-vs-comparison model: pilots enrol sicker or different people than the
//! comparison municipalities, so the difference in differences can take covariates (age
//! band, sex, target group: each as a main effect and × after, so the trend may differ by
//! them) and balancing weights from a propensity score (logistic regression of pilot on
//! the covariates and, with `before_use`, each indicator's use in the before window:
//! inverse probability or overlap weights). Before-window use enters only the propensity
//! score: in the outcome model the before rows are that use.
//!
//! The balance table reports every covariate's standardised mean difference before and
//! after weighting, as `cobalt::bal.tab` does. Unadjusted stays the default.

use std::collections::BTreeSet;

use folge_deid::rows::DeidParticipant;
use folge_schema::Arm;
use folge_schema::tables::BalanceRow;
use folge_stats::BalancingWeights;

use crate::comparisons::Adjusted;

/// A covariate of the adjusted model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Covariate {
    /// Age band at inclusion.
    AgeBand,
    /// Sex.
    Sex,
    /// Target group.
    TargetGroup,
    /// Each indicator's rate in the before window (propensity score only).
    BeforeUse,
}

impl Covariate {
    /// Every covariate.
    pub const ALL: [Covariate; 4] =
        [Covariate::AgeBand, Covariate::Sex, Covariate::TargetGroup, Covariate::BeforeUse];

    /// The id used in pipeline files.
    pub fn id(self) -> &'static str {
        match self {
            Covariate::AgeBand => "age_band",
            Covariate::Sex => "sex",
            Covariate::TargetGroup => "target_group",
            Covariate::BeforeUse => "before_use",
        }
    }

    /// Parse an id.
    pub fn parse(id: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.id() == id)
    }
}

/// Balancing weights for the adjusted model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Weighting {
    /// No weights: covariates in the outcome model only.
    #[default]
    None,
    /// Inverse probability weights for the average effect over both arms.
    Ipw,
    /// Overlap weights (Li, Morgan & Zaslavsky 2018): bounded, exact mean balance.
    Overlap,
}

impl Weighting {
    /// The id used in pipeline files.
    pub fn id(self) -> &'static str {
        match self {
            Weighting::None => "none",
            Weighting::Ipw => "ipw",
            Weighting::Overlap => "overlap",
        }
    }

    /// Parse an id.
    pub fn parse(id: &str) -> Option<Self> {
        [Weighting::None, Weighting::Ipw, Weighting::Overlap].into_iter().find(|w| w.id() == id)
    }
}

/// What the pipeline asks of the adjusted comparison.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ConfounderAdjustment {
    /// Covariates (outcome model and propensity score).
    pub covariates: Vec<Covariate>,
    /// Balancing weights.
    pub weighting: Weighting,
}

/// One covariate column: a level's 0/1 dummy or a number, per person.
struct Column {
    covariate: &'static str,
    level: Option<String>,
    values: Vec<f64>,
    /// A dummy of the reference level (shown in the balance table, left out of models).
    reference: bool,
    /// Enters the outcome model (before-window use does not).
    in_outcome: bool,
    /// A number, not a 0/1 dummy.
    numeric: bool,
}

fn categorical(
    covariate: Covariate,
    participants: &[DeidParticipant],
    value: impl Fn(&DeidParticipant) -> Option<String>,
) -> Vec<Column> {
    let level = |p: &DeidParticipant| value(p).unwrap_or_else(|| "missing".to_owned());
    let levels: BTreeSet<String> = participants.iter().map(&level).collect();
    if levels.len() < 2 {
        return Vec::new();
    }
    levels
        .iter()
        .enumerate()
        .map(|(i, l)| Column {
            covariate: covariate.id(),
            level: Some(l.clone()),
            values: participants.iter().map(|p| f64::from(u8::from(&level(p) == l))).collect(),
            reference: i == 0,
            in_outcome: true,
            numeric: false,
        })
        .collect()
}

/// Covariates, weights and the balance table for persons `participants` (in the order of
/// the indicator table), with `before_use[k][person]` each indicator's rate per
/// person-year in the before window (`names[k]` its id).
pub(crate) fn prepare(
    spec: &ConfounderAdjustment,
    participants: &[DeidParticipant],
    before_use: &[(&str, Vec<f64>)],
) -> (Adjusted, Vec<BalanceRow>) {
    let mut columns = Vec::new();
    for &c in &spec.covariates {
        match c {
            Covariate::AgeBand => {
                columns.extend(categorical(c, participants, |p| p.age_band().map(str::to_owned)));
            }
            Covariate::Sex => {
                columns
                    .extend(categorical(c, participants, |p| p.sex().map(|s| s.code().to_owned())));
            }
            Covariate::TargetGroup => {
                columns
                    .extend(categorical(c, participants, |p| p.target_group().map(str::to_owned)));
            }
            Covariate::BeforeUse => {}
        }
    }
    // Before-window use is always in the balance table; in the propensity score when asked,
    // as log(1 + rate per person-year) against its long tail, and the balance table shows
    // it on that scale: the scale the weights balance.
    let use_in_score = spec.covariates.contains(&Covariate::BeforeUse);
    for (id, rates) in before_use {
        columns.push(Column {
            covariate: "before_use",
            level: Some(format!("{id}, log(1 + rate per person-year)")),
            values: rates.iter().map(|r| r.ln_1p()).collect(),
            reference: !use_in_score,
            in_outcome: false,
            numeric: true,
        });
    }
    let treated: Vec<bool> = participants.iter().map(|p| p.arm() == Arm::Pilot).collect();
    let n = participants.len();
    let mut notes = Vec::new();
    let weights = match spec.weighting {
        Weighting::None => None,
        kind => {
            let score: Vec<&Column> = columns.iter().filter(|c| !c.reference).collect();
            let k = score.len() + 1;
            let mut x = Vec::with_capacity(n * k);
            for i in 0..n {
                x.push(1.0);
                x.extend(score.iter().map(|c| c.values[i]));
            }
            let kind_stats = match kind {
                Weighting::Overlap => BalancingWeights::Overlap,
                _ => BalancingWeights::Ipw,
            };
            match folge_stats::logistic_regression(&x, k, &treated, None) {
                Ok(fit) => {
                    let ps = folge_stats::logistic_predict(&fit, &x, k);
                    match folge_stats::balancing_weights(&ps, &treated, kind_stats) {
                        Ok(w) => {
                            let on: Vec<&str> = spec.covariates.iter().map(|c| c.id()).collect();
                            notes.push(format!(
                                "{} weights from a logistic propensity score on {}",
                                if kind == Weighting::Overlap {
                                    "overlap"
                                } else {
                                    "inverse probability"
                                },
                                on.join(", ")
                            ));
                            Some(w)
                        }
                        Err(e) => {
                            notes.push(format!("no weights ({e})"));
                            None
                        }
                    }
                }
                Err(e) => {
                    notes.push(format!("no weights: the propensity model failed ({e})"));
                    None
                }
            }
        }
    };
    let outcome: Vec<&Column> = columns.iter().filter(|c| c.in_outcome && !c.reference).collect();
    let named: BTreeSet<&str> = outcome.iter().map(|c| c.covariate).collect();
    if !named.is_empty() {
        notes.insert(
            0,
            format!(
                "adjusted for {} (each also × after)",
                named.into_iter().collect::<Vec<_>>().join(", ")
            ),
        );
    }
    let adjusted = Adjusted {
        columns: outcome
            .iter()
            .map(|c| format!("{}={}", c.covariate, c.level.as_deref().unwrap_or("")))
            .collect(),
        values: (0..n).map(|i| outcome.iter().map(|c| c.values[i]).collect()).collect(),
        weights: weights.clone(),
        description: if notes.is_empty() { "unadjusted".to_owned() } else { notes.join("; ") },
    };
    let weighting = if weights.is_some() { spec.weighting.id() } else { "none" };
    let balance = columns
        .iter()
        .map(|c| {
            let binary = !c.numeric;
            let values = &c.values;
            let mean = |arm: bool, w: Option<&[f64]>| {
                let (s, t) = (0..n).filter(|&i| treated[i] == arm).fold((0.0, 0.0), |(s, t), i| {
                    let wi = w.map_or(1.0, |w| w[i]);
                    (s + wi * values[i], t + wi)
                });
                (t > 0.0).then(|| s / t)
            };
            let w = weights.as_deref();
            BalanceRow {
                covariate: c.covariate.to_owned(),
                level: c.level.clone(),
                pilot_mean: mean(true, None),
                comparison_mean: mean(false, None),
                smd: folge_stats::smd(values, &treated, None, binary),
                pilot_mean_weighted: w.and_then(|w| mean(true, Some(w))),
                comparison_mean_weighted: w.and_then(|w| mean(false, Some(w))),
                smd_weighted: w.and_then(|w| folge_stats::smd(values, &treated, Some(w), binary)),
                weighting: weighting.to_owned(),
            }
        })
        .collect();
    (adjusted, balance)
}

#[cfg(test)]
mod tests;

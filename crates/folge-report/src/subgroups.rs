//! The subgroups the analysis compares on their own: the 67 and older for 30-day
//! readmissions, as the national quality indicator counts them (Helsedirektoratet's
//! indicator covers patients ≥ 67; `shared/domain.md`). Rates per arm before and after
//! with their intervals (`subgroup_rates.parquet`), each arm's within-person rate ratio
//! and the ratio of the two (`comparisons.parquet`, scope `age`).

use folge_schema::Arm;
use folge_schema::tables::{ComparisonRow, SubgroupRateRow};

use crate::estimates::{AFTER_BEFORE, RATIO_OF_RATIOS};
use crate::html::{adjustment_name, estimate_cell, interval_cells};
use crate::input::{ReportInput, ReportParams, arm_label, indicator_label};
use crate::table::{Cell, ReportTable};

/// The subgroups with rows, in the order the analysis wrote them: (scope, value).
fn subgroups(input: &ReportInput<'_>) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    for r in input.comparisons.iter().filter(|c| c.scope == "age") {
        let key = (r.scope.clone(), r.scope_value.clone().unwrap_or_default());
        if !out.contains(&key) {
            out.push(key);
        }
    }
    out
}

/// The table of the 67+ (and any other age subgroup): per indicator compared there, each
/// arm's rates before and after (per person-year, 95 % CI) and within-person rate ratio
/// after/before, and the ratio of the arms' ratios. A rate with a numerator of 1–4 or
/// fewer than 5 persons is ":", and so is every ratio built from it.
pub(crate) fn table(input: &ReportInput<'_>, params: &ReportParams) -> Option<ReportTable> {
    let lang = params.language;
    let rule = params.rule;
    let groups = subgroups(input);
    if groups.is_empty() {
        return None;
    }
    let mut rows = Vec::new();
    let mut used: Vec<&ComparisonRow> = Vec::new();
    for (scope, value) in &groups {
        for &indicator in &params.indicators {
            let mine = |c: &&ComparisonRow| {
                c.scope == *scope
                    && c.scope_value.as_deref() == Some(value.as_str())
                    && c.measure == indicator.id()
            };
            let rows_here: Vec<&ComparisonRow> = input.comparisons.iter().filter(mine).collect();
            if rows_here.is_empty() {
                continue;
            }
            let rate = |arm: Arm, period: &str| -> Option<&SubgroupRateRow> {
                input.subgroup_rates.iter().find(|r| {
                    r.scope == *scope
                        && r.scope_value == *value
                        && r.indicator == indicator.id()
                        && r.arm == arm
                        && r.period == period
                })
            };
            let hidden_rate =
                |r: Option<&SubgroupRateRow>| r.is_none_or(|r| rule.hides_rate(r.value_total, r.n));
            let arm_hidden =
                |arm: Arm| hidden_rate(rate(arm, "before")) || hidden_rate(rate(arm, "after"));
            rows.push(vec![
                Cell::Heading(format!(
                    "{}, {}",
                    indicator_label(indicator, lang),
                    age_words(value, lang)
                )),
                Cell::Empty,
                Cell::Empty,
                Cell::Empty,
                Cell::Empty,
                Cell::Empty,
                Cell::Empty,
                Cell::Empty,
                Cell::Empty,
            ]);
            for arm in [Arm::Pilot, Arm::Comparison] {
                let within = rows_here
                    .iter()
                    .copied()
                    .find(|c| c.arm == Some(arm) && c.effect_size_kind == AFTER_BEFORE);
                let rate_cell = |period: &str| match rate(arm, period) {
                    Some(r) if rule.hides_rate(r.value_total, r.n) => Cell::Suppressed,
                    Some(r) => r.rate_per_py.map_or(Cell::Empty, |v| {
                        let ci = r.ci_low.zip(r.ci_high).map_or(String::new(), |(lo, hi)| {
                            format!(" ({}–{})", number(lo, lang), number(hi, lang))
                        });
                        Cell::Text(format!("{}{ci}", number(v, lang)))
                    }),
                    None => Cell::Empty,
                };
                let n = rate(arm, "after").or(rate(arm, "before")).map(|r| r.n);
                let hidden = arm_hidden(arm);
                let mut cells = vec![
                    Cell::Level(arm_label(arm, lang).to_owned()),
                    n.map_or(Cell::Empty, |n| {
                        if rule.hides_count(n as f64) {
                            Cell::Suppressed
                        } else {
                            Cell::Number(n as f64, 0)
                        }
                    }),
                    rate_cell("before"),
                    rate_cell("after"),
                    estimate_cell(within, hidden, lang),
                ];
                match within {
                    Some(w) => {
                        used.push(w);
                        cells.extend(interval_cells(w, hidden, lang));
                    }
                    None => cells.extend([Cell::Empty, Cell::Empty, Cell::Empty, Cell::Empty]),
                }
                rows.push(cells);
            }
            let between = rows_here
                .iter()
                .copied()
                .find(|c| c.arm.is_none() && c.effect_size_kind == RATIO_OF_RATIOS);
            if let Some(b) = between {
                used.push(b);
                let hidden = arm_hidden(Arm::Pilot) || arm_hidden(Arm::Comparison);
                let mut cells = vec![
                    Cell::Level(
                        lang.pick("Pilot / sammenligning", "Pilot / comparison").to_owned(),
                    ),
                    Cell::Number(b.n as f64, 0),
                    Cell::Text(String::new()),
                    Cell::Text(String::new()),
                    estimate_cell(Some(b), hidden, lang),
                ];
                cells.extend(interval_cells(b, hidden, lang));
                rows.push(cells);
            }
        }
    }
    if rows.is_empty() {
        return None;
    }
    let models = crate::estimates::describe_models_briefly(used.iter().copied(), lang)
        .unwrap_or_else(|| {
            lang.pick("ingen modell ga estimat", "no model gave an estimate").to_owned()
        });
    let method = adjustment_name(params.adjustment);
    Some(ReportTable {
        id: "table_subgroup_67".into(),
        caption: lang
            .pick(
                "Tabell 1. 30-dagers reinnleggelser blant personer 67 år og eldre, som i den nasjonale kvalitetsindikatoren",
                "Table 1. 30-day readmissions among persons 67 and older, as in the national quality indicator",
            )
            .into(),
        columns: vec![
            lang.pick("Indikator og gruppe", "Indicator and arm").into(),
            "n".into(),
            lang.pick("Før, per personår (95 % KI)", "Before, per person-year (95 % CI)").into(),
            lang.pick("Etter, per personår (95 % KI)", "After, per person-year (95 % CI)").into(),
            lang.pick("Rateratio etter/før; pilot/sammenligning", "Rate ratio after/before; pilot/comparison").into(),
        ]
        .into_iter()
        .chain(crate::html::estimate_columns(lang, method))
        .collect(),
        rows,
        notes: vec![
            match lang {
                crate::Language::Nb => format!(
                    "Personer i aldersgrupper fra 67 år ved inklusjon. Rater som i tabellen over alle (samlede rater med 95 % KI); rateratio etter/før innen person i hver gruppe og forholdet mellom gruppenes rateratio på linjen «Pilot / sammenligning» ({models}); ujustert. n på den linjen: personer i begge gruppene. p justert etter {method} innen undergruppen. Den nasjonale indikatoren er risikojustert; disse tallene er det ikke."
                ),
                crate::Language::En => format!(
                    "Persons in age bands from 67 at inclusion. Rates as in the table of everyone (pooled rates with 95 % CI); rate ratio after/before within person in each arm, and the ratio of the arms' rate ratios on the line “Pilot / comparison” ({models}); unadjusted. n on that line: persons in both arms. p adjusted by {method} within the subgroup. The national indicator is risk-adjusted; these figures are not."
                ),
            },
            lang.pick(
                "Tom celle: ingen rate for perioden, eller ingen rate på linjen som sammenligner gruppene.",
                "Blank cell: no rate for the period, or no rate on the line comparing the arms.",
            )
            .to_owned(),
        ],
        summary: None,
    })
}

/// "67 år og eldre" for `67+`; other values as written.
fn age_words(value: &str, lang: crate::Language) -> String {
    match value.strip_suffix('+') {
        Some(age) => match lang {
            crate::Language::Nb => format!("{age} år og eldre"),
            crate::Language::En => format!("{age} and older"),
        },
        None => value.to_owned(),
    }
}

fn number(v: f64, lang: crate::Language) -> String {
    crate::figure::number(v, 2, lang == crate::Language::Nb)
}

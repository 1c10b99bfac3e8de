//! The balance table: how alike the arms are on each covariate before and after the
//! balancing weights (means or shares and standardised mean differences, as R's
//! `cobalt::bal.tab` reports them). Present only when the pipeline adjusts.

use folge_schema::Arm;

use crate::input::{Language, ReportInput, ReportParams};
use crate::table::{Cell, ReportTable};

/// The covariate as a reader knows it.
fn covariate_label(covariate: &str, lang: Language) -> String {
    if let Some(indicator) = covariate.strip_prefix("before_") {
        let name = folge_analyze::Indicator::parse(indicator)
            .map_or(indicator, |i| crate::input::indicator_label(i, lang));
        return format!("{name} {}", lang.pick("(per personår før)", "(per person-year before)"));
    }
    match covariate {
        "age_band" => lang.pick("Aldersgruppe", "Age band").to_owned(),
        "sex" => lang.pick("Kjønn", "Sex").to_owned(),
        "target_group" => lang.pick("Målgruppe", "Target group").to_owned(),
        "municipality" => lang.pick("Kommune", "Municipality").to_owned(),
        other => other.to_owned(),
    }
}

/// The balance table, or `None` without balance rows. A level held by 1–4 persons in an
/// arm (a share whose numerator, complement or denominator is small) shows ":" in every
/// number of its row, weighted ones too: the unweighted standardised difference's
/// denominator would give the shares back.
pub fn table(input: &ReportInput<'_>, params: &ReportParams) -> Option<ReportTable> {
    let lang = params.language;
    let rule = params.rule;
    if input.balance.is_empty() {
        return None;
    }
    let persons =
        |arm: Arm| input.tables.participants().iter().filter(|p| p.arm() == arm).count() as f64;
    let (n_pilot, n_comparison) = (persons(Arm::Pilot), persons(Arm::Comparison));
    let number =
        |v: Option<f64>, decimals: usize| v.map_or(Cell::Empty, |v| Cell::Number(v, decimals));
    let mut any_hidden = false;
    let rows: Vec<Vec<Cell>> = input
        .balance
        .iter()
        .map(|b| {
            let hidden = match b.level {
                Some(_) => [(b.pilot_mean, n_pilot), (b.comparison_mean, n_comparison)]
                    .iter()
                    .any(|&(share, n)| share.is_some_and(|s| rule.hides_share((s * n).round(), n))),
                None => rule.hides_count(n_pilot) || rule.hides_count(n_comparison),
            };
            any_hidden |= hidden;
            let value = |v: Option<f64>, decimals: usize| {
                if hidden { Cell::Suppressed } else { number(v, decimals) }
            };
            vec![
                Cell::Text(covariate_label(&b.covariate, lang)),
                Cell::Text(match (b.covariate.as_str(), &b.level) {
                    ("target_group", Some(level)) => params.target_group(level),
                    (_, level) => level.clone().unwrap_or_default(),
                }),
                value(b.pilot_mean, 2),
                value(b.comparison_mean, 2),
                value(b.smd, 2),
                value(b.pilot_mean_weighted, 2),
                value(b.comparison_mean_weighted, 2),
                value(b.smd_weighted, 2),
            ]
        })
        .collect();
    let weighting: std::collections::BTreeSet<&str> =
        input.balance.iter().map(|b| b.weighting.as_str()).collect();
    let weighting: Vec<&str> = weighting
        .into_iter()
        .map(|w| match w {
            "ipw" => {
                lang.pick("inverse sannsynlighetsvekter (IPW)", "inverse probability weights (IPW)")
            }
            "overlap" => lang.pick("overlappvekter", "overlap weights"),
            "none" => lang.pick("ingen vekter", "no weights"),
            other => other,
        })
        .collect();
    let mut notes = vec![match lang {
        Language::Nb => format!(
            "Andel (for et nivå) eller gjennomsnitt per gruppe, og standardisert gjennomsnittsforskjell pilot − sammenligning (SMD, med den uvektede felles standardavviket som nevner, som R cobalt::bal.tab), før og etter vekting ({}). |SMD| under 0,1 regnes vanligvis som god balanse.",
            weighting.join(", ")
        ),
        Language::En => format!(
            "Share (for a level) or mean per arm, and the standardised mean difference pilot − comparison (SMD, with the unweighted pooled standard deviation as denominator, as R cobalt::bal.tab), before and after weighting ({}). |SMD| below 0.1 is usually taken as good balance.",
            weighting.join(", ")
        ),
    }];
    if any_hidden {
        let threshold = rule.threshold;
        notes.push(match lang {
            Language::Nb => format!(
                "Et nivå som gjelder færre enn {threshold} personer (eller alle unntatt færre enn {threshold}) i en gruppe, vises som «:» i hele raden."
            ),
            Language::En => format!(
                "A level held by fewer than {threshold} persons (or by all but fewer than {threshold}) in an arm shows “:” across its row."
            ),
        });
    }
    if input.balance.iter().any(|b| b.level.is_none()) {
        notes.push(
            lang.pick(
                "Tomt nivå: kovariaten er et tall (gjennomsnittet vises), ikke en kategori.",
                "Blank level: the covariate is a number (its mean is shown), not a category.",
            )
            .to_owned(),
        );
    }
    let unweighted = lang.pick("uvektet", "unweighted");
    let weighted = lang.pick("vektet", "weighted");
    Some(ReportTable {
        id: "table_balance".into(),
        caption: lang
            .pick(
                "Tabell 9. Balanse mellom gruppene før og etter vekting",
                "Table 9. Balance between the arms before and after weighting",
            )
            .into(),
        columns: vec![
            lang.pick("Kovariat", "Covariate").into(),
            lang.pick("Nivå", "Level").into(),
            format!("{} ({unweighted})", lang.pick("Pilot", "Pilot")),
            format!("{} ({unweighted})", lang.pick("Sammenligning", "Comparison")),
            format!("SMD ({unweighted})"),
            format!("{} ({weighted})", lang.pick("Pilot", "Pilot")),
            format!("{} ({weighted})", lang.pick("Sammenligning", "Comparison")),
            format!("SMD ({weighted})"),
        ],
        rows,
        notes,
        summary: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_rows::{Results, params};
    use folge_analyze::Indicator;

    #[test]
    fn a_small_level_hides_its_row_and_the_weights_are_named() {
        let results = Results::new(&[Indicator::Admissions]);
        let params = params(&[Indicator::Admissions], Language::Nb);
        let table = table(&results.input(), &params).unwrap();
        assert_eq!(table.rows[0][0], Cell::Text("Innleggelser (per personår før)".into()));
        assert_eq!(table.rows[0][4], Cell::Number(0.31, 2));
        assert_eq!(table.rows[0][7], Cell::Number(0.02, 2));
        assert_eq!(table.rows[1][1], Cell::Text("K".into()));
        // Target group 3: 4 of 40 pilots and 2 of 30 comparison persons.
        assert!(table.rows[2][2..].iter().all(|c| *c == Cell::Suppressed), "{:?}", table.rows[2]);
        assert!(table.notes[0].contains("overlappvekter"), "{}", table.notes[0]);
        assert!(table.notes[1].contains("færre enn 5 personer"));
        let mut without = Results::new(&[Indicator::Admissions]);
        without.balance.clear();
        assert!(super::table(&without.input(), &params).is_none(), "no weights, no table");
    }
}

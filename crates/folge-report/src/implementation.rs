//! The implementation section: how far the framework's steps (LKT's elements A–E, and
//! any configured step) were documented, and how many days after inclusion, by arm and
//! municipality (`framework.parquet`), as a gtsummary-like table with the small-cell rule
//! and secondary suppression over the municipalities of an arm.

use std::collections::BTreeSet;

use folge_schema::Arm;
use folge_schema::tables::FrameworkRow;

use crate::input::{Language, ReportInput, ReportParams, arm_label};
use crate::table::{Cell, ReportTable};

/// The framework's element as the report names it: `A: Min historie og min gode dag`; a
/// configured step by its own name.
pub(crate) fn element_label(element: &str, lang: Language) -> String {
    let name = match element {
        "A" => lang.pick("Min historie og min gode dag", "My story and my good day"),
        "B" => lang.pick("Aktørkart", "Map of those involved"),
        "C" => lang.pick("Enighet og plan for samarbeid", "Agreed plan for cooperation"),
        "D" => lang.pick("Koordinerende funksjon", "Coordinating function"),
        "E" => lang.pick("Aktørenes gjennomføring av plan", "Carrying out the plan"),
        _ => return element.to_owned(),
    };
    format!("{element}: {name}")
}

/// Elements in the framework's order (A–E), then configured steps by name.
fn elements(rows: &[FrameworkRow]) -> Vec<&str> {
    let set: BTreeSet<(bool, &str)> = rows
        .iter()
        .map(|r| (!matches!(r.element.as_str(), "A" | "B" | "C" | "D" | "E"), r.element.as_str()))
        .collect();
    set.into_iter().map(|(_, e)| e).collect()
}

/// Median (IQR) of days, one decimal only where the quartile has one, written as
/// gtsummary writes it: `226 (45, 310)`, in Norwegian `226 (45; 310)` (the comma is the
/// decimal sign there: `12 (4,5; 30)`). Not `226 (45–310)`: three whole numbers joined by
/// a bracket and a dash can be eight digits in a phone number's shape (3-2-3), which the
/// report's re-scan rightly stops on; the comma or semicolon ends every such run.
fn days_cell(row: &FrameworkRow, hidden: bool, nb: bool) -> Cell {
    if hidden {
        return Cell::Suppressed;
    }
    let Some(median) = row.days_median else { return Cell::Empty };
    let number = |v: f64| crate::figure::number(v, usize::from(v.fract() != 0.0), nb);
    Cell::Text(match (row.days_q1, row.days_q3) {
        (Some(q1), Some(q3)) => {
            let between = if nb { "; " } else { ", " };
            format!("{} ({}{between}{})", number(median), number(q1), number(q3))
        }
        _ => number(median),
    })
}

/// The implementation table: per step, each arm with documented steps overall and in
/// each of its municipalities — persons, documented `n (%)`, and days from inclusion to
/// the first documentation, median (IQR). Within an arm and step the municipalities'
/// documented and not documented counts are one table with the arm's totals as margins:
/// counts 1–4 (a share's complement too) are hidden, then as many more as keep them from
/// being worked out. A median over fewer documented persons than the threshold is hidden.
pub(crate) fn table(input: &ReportInput<'_>, params: &ReportParams) -> Option<ReportTable> {
    let lang = params.language;
    let nb = lang == Language::Nb;
    let rule = params.rule;
    let rows_of = input.framework;
    if rows_of.is_empty() {
        return None;
    }
    // An arm with nothing documented for any step (the comparison, which does not use the
    // framework) is left out, and the note says so.
    let arms: Vec<Arm> = [Arm::Pilot, Arm::Comparison]
        .into_iter()
        .filter(|&arm| rows_of.iter().any(|r| r.arm == arm && r.n_documented > 0))
        .collect();
    let mut rows = Vec::new();
    let mut any_hidden = false;
    for element in elements(rows_of) {
        rows.push(vec![
            Cell::Heading(element_label(element, lang)),
            Cell::Empty,
            Cell::Empty,
            Cell::Empty,
        ]);
        for &arm in &arms {
            let of = |scope: &str| {
                rows_of
                    .iter()
                    .filter(|r| r.element == element && r.arm == arm && r.scope == scope)
                    .collect::<Vec<_>>()
            };
            let Some(all) = of("all").into_iter().next() else { continue };
            let mut municipalities = of("municipality");
            municipalities.sort_by_key(|r| r.scope_value.clone());
            let counts: Vec<Vec<u64>> = municipalities
                .iter()
                .map(|r| {
                    let documented = r.n_documented.max(0) as u64;
                    vec![documented, (r.n_persons.max(0) as u64).saturating_sub(documented)]
                })
                .collect();
            let hidden = folge_deid::suppress_table(rule, &counts);
            let all_hidden = hidden.column_totals.first().copied().unwrap_or(false)
                || hidden.column_totals.get(1).copied().unwrap_or(false)
                || rule.hides_share(all.n_documented as f64, all.n_persons as f64);
            let line =
                |label: String, r: &FrameworkRow, persons_hidden: bool, share_hidden: bool| {
                    let share = r.share.unwrap_or(0.0) * 100.0;
                    vec![
                        Cell::Level(label),
                        if persons_hidden {
                            Cell::Suppressed
                        } else {
                            Cell::Number(r.n_persons as f64, 0)
                        },
                        if share_hidden {
                            Cell::Suppressed
                        } else {
                            Cell::CountShare(r.n_documented.max(0) as u64, share)
                        },
                        // The median over 5 or more persons shows even where their count is
                        // hidden to protect another cell: it does not give the count away.
                        days_cell(r, r.n_documented < i64::from(rule.threshold), nb),
                    ]
                };
            rows.push(line(
                format!("{}, {}", arm_label(arm, lang), lang.pick("alle", "all")),
                all,
                rule.hides_count(all.n_persons as f64),
                all_hidden,
            ));
            any_hidden |= all_hidden;
            for (k, r) in municipalities.iter().enumerate() {
                let share_hidden = hidden.cells[k].iter().any(|&h| h);
                any_hidden |= share_hidden || hidden.row_totals[k];
                let name =
                    r.scope_value.as_deref().map_or_else(String::new, |m| params.municipality(m));
                rows.push(line(
                    format!("{}: {name}", arm_label(arm, lang)),
                    r,
                    hidden.row_totals[k],
                    share_hidden,
                ));
            }
        }
    }
    let mut notes = vec![lang
        .pick(
            "Dokumentert: personer med trinnet dokumentert innen sin siste observerte dag (utgang eller slutt på data), i prosent av de inkluderte i gruppen. Dager: fra inklusjon til trinnet først ble dokumentert, median (kvartiler, R type 7), blant dem som har det dokumentert.",
            "Documented: persons with the step documented by their last observed day (exit or end of data), in percent of those included in the group. Days: from inclusion to the step's first documentation, median (quartiles, R type 7), among those who have it documented.",
        )
        .to_owned()];
    if !arms.contains(&Arm::Comparison) {
        notes.push(
            lang.pick(
                "Sammenligningskommunene har ingen dokumenterte trinn (de bruker ikke rammeverket) og er ikke vist.",
                "The comparison municipalities have no documented steps (they do not use the framework) and are not shown.",
            )
            .to_owned(),
        );
    }
    if any_hidden {
        notes.push(
            lang.pick(
                "«:» der antall dokumenterte eller ikke dokumenterte er 1–4, og der det ellers kunne regnes ut fra gruppens totaler (medianen vises likevel når den bygger på minst 5 personer); en median over færre enn 5 personer er skjult.",
                "“:” where the number documented or not documented is 1–4, and where it could otherwise be worked out from the arm's totals (the median is shown all the same when it rests on 5 persons or more); a median over fewer than 5 persons is hidden.",
            )
            .to_owned(),
        );
    }
    Some(ReportTable {
        id: "table_implementation".into(),
        caption: lang
            .pick(
                "Tabell 1. Gjennomføring av rammeverket: trinn dokumentert og dager fra inklusjon",
                "Table 1. Implementation of the framework: steps documented and days from inclusion",
            )
            .into(),
        columns: vec![
            lang.pick("Trinn og gruppe", "Step and group").into(),
            lang.pick("Personer", "Persons").into(),
            lang.pick("Dokumentert, n (%)", "Documented, n (%)").into(),
            lang.pick("Dager til dokumentert, median (IQR)", "Days to documented, median (IQR)")
                .into(),
        ],
        rows,
        notes,
        summary: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(element: &str, scope: Option<&str>, persons: i64, documented: i64) -> FrameworkRow {
        FrameworkRow {
            element: element.into(),
            arm: Arm::Pilot,
            scope: if scope.is_some() { "municipality" } else { "all" }.into(),
            scope_value: scope.map(str::to_owned),
            n_persons: persons,
            n_documented: documented,
            share: Some(documented as f64 / persons as f64),
            days_median: Some(12.0),
            days_q1: Some(4.5),
            days_q3: Some(30.0),
        }
    }

    /// Days as gtsummary writes a median (IQR), and never in a phone number's shape:
    /// 226 (45–310) would be, to the re-scan, 3-2-3 digits starting with 2.
    #[test]
    fn days_read_as_median_and_quartiles_and_never_as_a_phone_number() {
        let mut r = row("E", None, 40, 40);
        (r.days_median, r.days_q1, r.days_q3) = (Some(226.0), Some(45.0), Some(310.0));
        let Cell::Text(cell) = days_cell(&r, false, true) else { panic!() };
        assert_eq!(cell, "226 (45; 310)");
        let Cell::Text(en) = days_cell(&r, false, false) else { panic!() };
        assert_eq!(en, "226 (45, 310)");
        let detector = folge_deid::Detector::new([], []);
        assert!(detector.detect("226 (45–310)").is_some(), "the old form");
        assert_eq!((detector.detect(&cell), detector.detect(&en)), (None, None));
        (r.days_median, r.days_q1, r.days_q3) = (Some(12.0), Some(4.5), Some(30.0));
        assert_eq!(days_cell(&r, false, true), Cell::Text("12 (4,5; 30)".into()));
    }

    #[test]
    fn steps_in_framework_order_with_small_shares_and_their_partners_hidden() {
        let results = crate::test_rows::Results::new(&[folge_analyze::Indicator::Admissions]);
        let framework = vec![
            row("Oppfølgingsmøte", None, 40, 20),
            row("B", None, 40, 30),
            row("B", Some("4601"), 20, 18),
            row("B", Some("4631"), 20, 12),
            row("A", None, 40, 40),
        ];
        let input = ReportInput { framework: &framework, ..results.input() };
        let params = crate::test_rows::params(&[], Language::Nb);
        let t = table(&input, &params).unwrap();
        let headings: Vec<&Cell> =
            t.rows.iter().filter(|r| matches!(r[0], Cell::Heading(_))).map(|r| &r[0]).collect();
        assert_eq!(
            headings,
            [
                &Cell::Heading("A: Min historie og min gode dag".into()),
                &Cell::Heading("B: Aktørkart".into()),
                &Cell::Heading("Oppfølgingsmøte".into()),
            ]
        );
        // A: all 40 documented, so none is not: the complement 0 shows.
        assert_eq!(t.rows[1][2], Cell::CountShare(40, 100.0));
        assert_eq!(t.rows[1][3], Cell::Text("12 (4,5; 30)".into()));
        // B in Bergen: 18 of 20, the complement 2 is hidden, and so is Alver's (it could
        // be worked out from the arm's 10 not documented); the arm's own row shows.
        let bergen =
            t.rows.iter().position(|r| r[0] == Cell::Level("Pilot: Bergen (4601)".into())).unwrap();
        assert_eq!(
            (&t.rows[bergen][2], &t.rows[bergen][3]),
            (&Cell::Suppressed, &Cell::Text("12 (4,5; 30)".into()))
        );
        assert_eq!(t.rows[bergen + 1][2], Cell::Suppressed);
        assert_eq!(t.rows[bergen - 1][2], Cell::CountShare(30, 75.0));
        assert!(t.notes.iter().any(|n| n.contains("ikke rammeverket")));
    }
}

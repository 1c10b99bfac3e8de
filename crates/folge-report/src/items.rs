//! Answers per questionnaire item: 100 % bars of the answer levels for every item on an
//! answer scale of three to seven levels, in the codebook's order, ten items to a figure;
//! and a table of every item of every instrument (n, mean, median and quartiles), so no
//! item the analysis counted is left out of the report. Small cells: a level answered by
//! 1–4 persons is merged into its neighbour, a bar or row of 1–4 answers is ":".

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use folge_schema::Arm;
use folge_schema::tables::ItemDistributionRow;

use crate::figure::{StackedBar, number, stacked_bars};
use crate::figures::{FigureOut, even_chunk, part_id, part_text, suppressed_note};
use crate::input::{Language, ReportInput, ReportParams, arm_label};
use crate::table::{Cell, ReportTable};

/// The most items one figure of answer bars holds: with two timepoints and two arms, 40
/// bars, about half an A4 page.
const ITEMS_PER_FIGURE: usize = 10;

/// An answer as a whole number of thousandths, so answers compare exactly.
fn level(value: f64) -> i64 {
    (value * 1000.0).round() as i64
}

/// Merge levels answered by fewer persons than the small-cell threshold into the nearest
/// level that has answers (toward the middle of the scale on a tie), until none is left.
/// Each merge empties a level into one with answers, so it ends. `None` when the whole bar
/// is a small number.
fn merge_small_levels(counts: &[i64], rule: folge_deid::SmallCellRule) -> Option<(Vec<i64>, bool)> {
    let total: i64 = counts.iter().sum();
    if total == 0 || rule.hides_count(total as f64) {
        return None;
    }
    let mut c = counts.to_vec();
    let mid = (c.len() - 1) as f64 / 2.0;
    let mut merged = false;
    while let Some(i) = c.iter().position(|&n| n > 0 && rule.hides_count(n as f64)) {
        // The total is not small, so another level has answers.
        let target = (0..c.len()).filter(|&j| j != i && c[j] > 0).min_by(|&a, &b| {
            let distance = |j: usize| i.abs_diff(j);
            let off_middle = |j: usize| (j as f64 - mid).abs();
            distance(a).cmp(&distance(b)).then(off_middle(a).total_cmp(&off_middle(b)))
        })?;
        c[target] += c[i];
        c[i] = 0;
        merged = true;
    }
    Some((c, merged))
}

/// Respondents per answer (in thousandths), per (timepoint, arm), of one item.
type ItemAnswers<'a> = BTreeMap<(&'a str, Arm), BTreeMap<i64, i64>>;

/// One instrument's answers, per item in the codebook's order.
struct InstrumentAnswers<'a> {
    name: &'a str,
    items: Vec<(&'a str, ItemAnswers<'a>)>,
}

/// The item distributions by instrument, instruments and items in the codebooks' order.
fn by_instrument<'a>(
    rows: &'a [ItemDistributionRow],
    params: &ReportParams,
) -> Vec<InstrumentAnswers<'a>> {
    let mut grouped: BTreeMap<&str, BTreeMap<&str, ItemAnswers<'a>>> = BTreeMap::new();
    for d in rows {
        *grouped
            .entry(d.instrument.as_str())
            .or_default()
            .entry(d.item.as_str())
            .or_default()
            .entry((d.timepoint.as_str(), d.arm))
            .or_default()
            .entry(level(d.value))
            .or_default() += d.n;
    }
    let mut out: Vec<InstrumentAnswers<'a>> = grouped
        .into_iter()
        .map(|(name, items)| {
            let mut items: Vec<_> = items.into_iter().collect();
            items.sort_by_key(|(item, _)| params.item_rank(name, item));
            InstrumentAnswers { name, items }
        })
        .collect();
    out.sort_by_key(|i| params.instrument_rank(i.name));
    out
}

/// The whole-number answer levels from `low` to `high` (in thousandths), when they are
/// three to seven.
fn scale(low: f64, high: f64) -> Option<Vec<i64>> {
    let whole = |v: f64| v.is_finite() && (v - v.round()).abs() < 1e-9;
    (whole(low) && whole(high) && (2.0..=6.0).contains(&(high - low)))
        .then(|| (low.round() as i64..=high.round() as i64).map(|v| v * 1000).collect())
}

/// The answer levels each item's bars are drawn on: the item's range in the codebook when
/// that is three to seven whole numbers; without a codebook, the range of the answers
/// given to the instrument's items that look like a scale (whole numbers spanning three
/// to seven levels; a visual analogue scale or a tick box does not), when the item's
/// answers lie on it. `None`: not drawn as bars.
fn item_levels(answers: &InstrumentAnswers<'_>, params: &ReportParams) -> Vec<Option<Vec<i64>>> {
    let given = |cells: &ItemAnswers<'_>| -> BTreeSet<i64> {
        cells.values().flat_map(BTreeMap::keys).copied().collect()
    };
    let mut union: BTreeSet<i64> = BTreeSet::new();
    for (_, cells) in &answers.items {
        let own = given(cells);
        if let (Some(low), Some(high)) = (own.first(), own.last())
            && own.iter().all(|l| l % 1000 == 0)
            && (2000..=6000).contains(&(high - low))
        {
            union.extend(own);
        }
    }
    let fallback = union
        .first()
        .zip(union.last())
        .and_then(|(low, high)| scale(*low as f64 / 1000.0, *high as f64 / 1000.0));
    let codebook = params.instrument(answers.name);
    answers
        .items
        .iter()
        .map(|(item, cells)| {
            let levels = match codebook.and_then(|i| i.items.iter().find(|x| x.name == *item)) {
                Some(x) => x.min.zip(x.max).and_then(|(low, high)| scale(low, high)),
                None => fallback.clone(),
            };
            levels.filter(|levels| given(cells).iter().all(|l| levels.contains(l)))
        })
        .collect()
}

/// Answer bars per item × timepoint × arm for every item on an answer scale of three to
/// seven levels, items of one instrument and scale together, ten to a figure; the first
/// figure's caption names the items not drawn and where they are (the items table).
pub fn figures(input: &ReportInput<'_>, params: &ReportParams) -> Vec<FigureOut> {
    let lang = params.language;
    let rule = params.rule;
    let instruments = by_instrument(input.item_distributions, params);
    // (instrument, levels, items drawn on them) in order, and the items not drawn.
    let mut drawn: Vec<(&str, Vec<i64>, Vec<usize>)> = Vec::new();
    let mut not_drawn: Vec<String> = Vec::new();
    for answers in &instruments {
        let mut left_out: Vec<&str> = Vec::new();
        let mut groups: Vec<(Vec<i64>, Vec<usize>)> = Vec::new();
        for (k, levels) in item_levels(answers, params).into_iter().enumerate() {
            match levels {
                Some(levels) => match groups.iter_mut().find(|(l, _)| *l == levels) {
                    Some((_, items)) => items.push(k),
                    None => groups.push((levels, vec![k])),
                },
                None => left_out.push(answers.items[k].0),
            }
        }
        if !left_out.is_empty() {
            not_drawn.push(format!("{} ({})", left_out.join(", "), answers.name));
        }
        drawn.extend(groups.into_iter().map(|(levels, items)| (answers.name, levels, items)));
    }
    let mut figures = Vec::new();
    for (name, levels, items) in &drawn {
        let answers = instruments.iter().find(|a| a.name == *name).map(|a| &a.items);
        let Some(answers) = answers else { continue };
        let chunk = even_chunk(items.len(), ITEMS_PER_FIGURE);
        let parts = items.len().div_ceil(chunk);
        for (k, part) in items.chunks(chunk).enumerate() {
            let (mut any_suppressed, mut any_merged) = (false, false);
            let mut totals: Vec<i64> = Vec::new();
            let mut bars = Vec::new();
            for &item in part {
                let (item, cells) = &answers[item];
                for ((timepoint, arm), counts) in cells {
                    let by_level: Vec<i64> =
                        levels.iter().map(|l| counts.get(l).copied().unwrap_or(0)).collect();
                    let total: i64 = by_level.iter().sum();
                    let shown = merge_small_levels(&by_level, rule);
                    any_suppressed |= shown.is_none();
                    any_merged |= shown.as_ref().is_some_and(|s| s.1);
                    if shown.is_some() {
                        totals.push(total);
                    }
                    bars.push(StackedBar {
                        label: format!("{item} {timepoint} {}", arm_label(*arm, lang)),
                        shares: shown
                            .map(|(c, _)| c.iter().map(|n| *n as f64 / total as f64).collect()),
                    });
                }
            }
            // The codebook's answer labels, when it gives one for every level: "1 Nesten
            // aldri"; else the codes.
            let labels = params
                .instrument(name)
                .and_then(|i| i.items.iter().find(|x| x.name == answers[part[0]].0))
                .map(|x| x.labels.as_slice())
                .unwrap_or_default();
            let label_of = |l: i64| {
                labels.iter().find(|(code, _)| level(*code) == l).map(|(_, text)| text.as_str())
            };
            let labelled = levels.iter().all(|&l| label_of(l).is_some());
            let names: Vec<String> = levels
                .iter()
                .map(|&l| {
                    let code = number(l as f64 / 1000.0, 0, false);
                    match label_of(l) {
                        // "Nivå 1" says its code already.
                        Some(text) if labelled && text.split_whitespace().any(|w| w == code) => {
                            text.to_owned()
                        }
                        Some(text) if labelled => format!("{code} {text}"),
                        _ => code,
                    }
                })
                .collect();
            let canvas = stacked_bars(&bars, &names, lang == Language::Nb);
            let (low, high) = (
                totals.iter().min().copied().unwrap_or(0),
                totals.iter().max().copied().unwrap_or(0),
            );
            let (first, last) = (answers[part[0]].0, answers[part[part.len() - 1]].0);
            let span = if first == last { first.to_owned() } else { format!("{first}–{last}") };
            let part_words = part_text(k, parts, lang);
            let mut caption = match lang {
                Language::Nb => format!(
                    "{name}{part_words}: svarfordeling per spørsmål ({span}, i skjemaets rekkefølge), måletidspunkt og gruppe (andel per svaralternativ; {low}–{high} svar per søyle)."
                ),
                Language::En => format!(
                    "{name}{part_words}: answers per item ({span}, in the form's order), timepoint and arm (share per response level; {low}–{high} answers per bar)."
                ),
            };
            if any_merged {
                let threshold = rule.threshold;
                let _ = match lang {
                    Language::Nb => write!(
                        caption,
                        " Svaralternativ med færre enn {threshold} svar er slått sammen med nabo-alternativet mot midten."
                    ),
                    Language::En => write!(
                        caption,
                        " Levels with fewer than {threshold} answers are merged into the neighbouring level toward the middle."
                    ),
                };
            }
            suppressed_note(lang, any_suppressed, &mut caption);
            figures.push(FigureOut { id: part_id("figure_items", figures.len()), caption, canvas });
        }
    }
    if let Some(first) = figures.first_mut()
        && !not_drawn.is_empty()
    {
        let _ = match lang {
            Language::Nb => write!(
                first.caption,
                " Ikke vist som søyler (ikke på en svarskala med 3–7 nivåer): {}; alle spørsmål står i tabellen «Svar per spørsmål» (tables/table_items.csv, tables.xlsx).",
                not_drawn.join("; ")
            ),
            Language::En => write!(
                first.caption,
                " Not drawn as bars (not on an answer scale of 3–7 levels): {}; every item is in the table “Answers per item” (tables/table_items.csv, tables.xlsx).",
                not_drawn.join("; ")
            ),
        };
    }
    figures
}

/// The value at probability `p` of sorted values, as R's `quantile(x, p, type = 2)` —
/// the inverse of the empirical distribution, averaged where it is flat, as gtsummary
/// computes medians and quartiles —, so an answer scale's quartile is an answer or halfway
/// between two.
fn quantile(sorted: &[f64], p: f64) -> f64 {
    let n = sorted.len();
    let np = n as f64 * p;
    let j = np.floor() as usize;
    if np - np.floor() > 1e-9 || j == 0 {
        sorted[j.min(n - 1)]
    } else {
        f64::midpoint(sorted[j - 1], sorted[j.min(n - 1)])
    }
}

/// Every item of every instrument, per timepoint and arm: respondents, mean and median
/// (quartiles); instruments and items in the codebooks' order. A row of 1–4 respondents is
/// ":" throughout; so is a tick box's row when 1–4 ticked it or 1–4 did not (the mean
/// would give the small count away). Long, so the page folds it.
pub fn table(input: &ReportInput<'_>, params: &ReportParams) -> Option<ReportTable> {
    let lang = params.language;
    let nb = lang == Language::Nb;
    let rule = params.rule;
    let mut rows = Vec::new();
    let mut any_hidden = false;
    for answers in by_instrument(input.item_distributions, params) {
        for (item, cells) in &answers.items {
            for ((timepoint, arm), counts) in cells {
                let mut values: Vec<f64> = Vec::new();
                for (&l, &n) in counts {
                    values.extend(std::iter::repeat_n(l as f64 / 1000.0, n.max(0) as usize));
                }
                let n = values.len();
                let binary = counts.keys().all(|l| *l == 0 || *l == 1000);
                let ticked = counts.get(&1000).copied().unwrap_or(0) as f64;
                let hidden = rule.hides_count(n as f64)
                    || (binary
                        && (rule.hides_count(ticked) || rule.hides_count(n as f64 - ticked)));
                any_hidden |= hidden;
                let mut row = vec![
                    Cell::Text(answers.name.to_owned()),
                    Cell::Text((*item).to_owned()),
                    Cell::Text((*timepoint).to_owned()),
                    Cell::Text(arm_label(*arm, lang).to_owned()),
                ];
                if hidden || n == 0 {
                    row.extend([Cell::Suppressed, Cell::Suppressed, Cell::Suppressed]);
                } else {
                    values.sort_by(f64::total_cmp);
                    let mean = values.iter().sum::<f64>() / n as f64;
                    let q = |p: f64| {
                        let v = quantile(&values, p);
                        number(v, usize::from((v - v.round()).abs() >= 1e-9), nb)
                    };
                    row.extend([
                        Cell::Number(n as f64, 0),
                        Cell::Number(mean, 2),
                        // Median (IQR) as the other tables write it (see
                        // implementation.rs: never a dash between whole numbers).
                        Cell::Text(format!(
                            "{} ({}{} {})",
                            q(0.5),
                            q(0.25),
                            if nb { ";" } else { "," },
                            q(0.75)
                        )),
                    ]);
                }
                rows.push(row);
            }
        }
    }
    if rows.is_empty() {
        return None;
    }
    let count = rows.len();
    let mut notes = vec![lang
        .pick(
            "Svar slik de ble gitt (før eventuell omvendt skåring). Median (første–tredje kvartil) som Rs quantile(type = 2), som gtsummary.",
            "Answers as given (before any reverse scoring). Median (first–third quartile) as R's quantile(type = 2), as gtsummary.",
        )
        .to_owned()];
    if any_hidden {
        notes.push(format!(
            "{} {}",
            lang.pick("«:»: færre enn", "“:”: fewer than"),
            match lang {
                Language::Nb => format!(
                    "{} svar, eller (avkrysning) færre enn {} som krysset av eller lot være.",
                    rule.threshold, rule.threshold
                ),
                Language::En => format!(
                    "{} answers, or (tick boxes) fewer than {} who ticked or did not.",
                    rule.threshold, rule.threshold
                ),
            }
        ));
    }
    Some(ReportTable {
        id: "table_items".into(),
        caption: lang.pick("Tabell 9. Svar per spørsmål", "Table 9. Answers per item").into(),
        columns: vec![
            lang.pick("Skjema", "Instrument").into(),
            lang.pick("Spørsmål", "Item").into(),
            lang.pick("Tidspunkt", "Timepoint").into(),
            lang.pick("Gruppe", "Arm").into(),
            "n".into(),
            lang.pick("Gjennomsnitt", "Mean").into(),
            lang.pick("Median (kvartiler)", "Median (quartiles)").into(),
        ],
        rows,
        notes,
        summary: Some(match lang {
            Language::Nb => format!(
                "n, gjennomsnitt og median per spørsmål, tidspunkt og gruppe ({count} rader; også som CSV og i tables.xlsx)"
            ),
            Language::En => {
                format!(
                    "n, mean and median per item, timepoint and arm ({count} rows; also as CSV and in tables.xlsx)"
                )
            }
        }),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::input::{Instrument, InstrumentItem};
    use crate::test_rows::{EIGHT, Results, params};

    #[test]
    fn small_answer_levels_merge_toward_the_middle() {
        let rule = folge_deid::SmallCellRule::default();
        // 2 at the bottom joins level 2; 3 at the top joins level 4.
        assert_eq!(
            merge_small_levels(&[2, 10, 20, 10, 3], rule),
            Some((vec![0, 12, 20, 13, 0], true))
        );
        assert_eq!(
            merge_small_levels(&[6, 10, 0, 10, 6], rule),
            Some((vec![6, 10, 0, 10, 6], false))
        );
        // A cascade: 1 joins 3 (still small), which joins the middle.
        assert_eq!(merge_small_levels(&[1, 3, 20, 9, 9], rule), Some((vec![0, 0, 24, 9, 9], true)));
        // Two beside forty: one bar of 100 %, the two not shown apart.
        assert_eq!(merge_small_levels(&[0, 0, 40, 2, 0], rule), Some((vec![0, 0, 42, 0, 0], true)));
        // Small by the middle with nothing beside it joins the nearest level with answers.
        assert_eq!(merge_small_levels(&[0, 0, 2, 0, 10], rule), Some((vec![0, 0, 0, 0, 12], true)));
        // A bar of three answers in all is itself a small number.
        assert_eq!(merge_small_levels(&[1, 2, 0], rule), None);
    }

    fn labels(figure: &FigureOut) -> Vec<String> {
        figure
            .canvas
            .shapes
            .iter()
            .filter_map(|s| match s {
                crate::canvas::Shape::Text { text, .. } if text.contains(" T0 ") => {
                    Some(text.split(' ').next().unwrap_or_default().to_owned())
                }
                _ => None,
            })
            .collect::<Vec<_>>()
            .into_iter()
            .fold(Vec::new(), |mut seen, item| {
                if !seen.contains(&item) {
                    seen.push(item);
                }
                seen
            })
    }

    #[track_caller]
    fn check(x: &[f64], expected: [f64; 3]) {
        let got = [0.25, 0.5, 0.75].map(|p| quantile(x, p));
        assert!(got.iter().zip(expected).all(|(g, e)| (g - e).abs() < 1e-12), "{got:?}");
    }

    #[test]
    fn quartiles_are_rs_type_2() {
        // quantile(c(1, 2, 3, 4), c(.25, .5, .75), type = 2) = 1.5, 2.5, 3.5
        check(&[1.0, 2.0, 3.0, 4.0], [1.5, 2.5, 3.5]);
        // quantile(c(1, 2, 2, 3, 5), c(.25, .5, .75), type = 2) = 2, 2, 3
        check(&[1.0, 2.0, 2.0, 3.0, 5.0], [2.0, 2.0, 3.0]);
        check(&[7.0], [7.0, 7.0, 7.0]);
    }

    #[test]
    fn every_item_is_drawn_in_the_codebook_order_ten_to_a_figure() {
        let results = Results::new(&EIGHT);
        let mut params = params(&EIGHT, Language::En);
        let figures = figures(&results.input(), &params);
        assert_eq!(figures.len(), 3, "EQ-5D's level item, then 20 PACIC items ten to a figure");
        let ids: Vec<&str> = figures.iter().map(|f| f.id.as_str()).collect();
        assert_eq!(ids, ["figure_items", "figure_items_2", "figure_items_3"]);
        assert_eq!(labels(&figures[0]), ["eq5d_mobility"], "instruments by name without codebooks");
        let first = labels(&figures[1]);
        assert_eq!(first[..3], ["pacic_1", "pacic_2", "pacic_3"], "natural order: {first:?}");
        assert_eq!(first.len() + labels(&figures[2]).len(), 20);
        assert!(figures[1].caption.starts_with("pacic (part 1 of 2)"), "{}", figures[1].caption);
        assert!(
            figures[0].caption.contains(
                "Not drawn as bars (not on an answer scale of 3–7 levels): eq5d_vas (eq5d); kontakt.fastlege, kontakt.hjemmesykepleie, kontakt.sykehus (kontakt); every item is in"
            ),
            "{}",
            figures[0].caption
        );
        // A codebook's order wins over the natural one.
        let mut items: Vec<String> = (1..=20).map(|k| format!("pacic_{k}")).collect();
        items.reverse();
        let items = items
            .into_iter()
            .map(|name| InstrumentItem {
                name,
                min: Some(1.0),
                max: Some(5.0),
                labels: [
                    "Almost never",
                    "Generally not",
                    "Sometimes",
                    "Most of the time",
                    "Almost always",
                ]
                .iter()
                .enumerate()
                .map(|(k, l)| (k as f64 + 1.0, (*l).to_owned()))
                .collect(),
            })
            .collect();
        params.instruments = vec![Instrument { name: "pacic".into(), items }];
        let reordered = super::figures(&results.input(), &params);
        assert_eq!(labels(&reordered[0])[0], "pacic_20", "codebook instruments first, in order");
        // The legend names the answers by the codebook's labels, not by their codes.
        let legend: Vec<&str> = reordered[0]
            .canvas
            .shapes
            .iter()
            .filter_map(|s| match s {
                crate::canvas::Shape::Text { text, .. } => Some(text.as_str()),
                _ => None,
            })
            .collect();
        assert!(
            legend.contains(&"1 Almost never") && legend.contains(&"5 Almost always"),
            "{legend:?}"
        );
        assert!(!legend.contains(&"1"), "{legend:?}");
    }

    #[test]
    fn the_items_table_has_every_item_and_hides_small_rows() {
        let results = Results::new(&EIGHT);
        let table = table(&results.input(), &params(&EIGHT, Language::Nb)).unwrap();
        let items: BTreeSet<String> = table.rows.iter().map(|r| format!("{:?}", r[1])).collect();
        assert_eq!(items.len(), 20 + 3 + 2, "PACIC, EQ-5D's two and the tick boxes");
        let row = |item: &str, arm: &str| {
            table
                .rows
                .iter()
                .find(|r| {
                    r[1] == Cell::Text(item.into())
                        && r[2] == Cell::Text("T0".into())
                        && r[3] == Cell::Text(arm.into())
                })
                .unwrap()
        };
        assert_eq!(row("pacic_1", "Pilot")[4], Cell::Number(30.0, 0));
        assert_eq!(row("kontakt.sykehus", "Pilot")[5], Cell::Suppressed, "two ticked");
        assert!(table.summary.is_some(), "folded on the page");
    }
}

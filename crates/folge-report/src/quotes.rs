//! Selected quotes per theme from the focus groups (`quotes.parquet`): text the deid
//! stage scrubbed (names, ids, phone numbers and addresses replaced) and that passed deid's
//! and analyze's fail-closed scans; the report scans it once more before it is written.
//! Tagged as the domain tags them: role, municipality, focus group.

use std::collections::BTreeMap;

use folge_schema::tables::QuoteRow;

use crate::input::{ReportInput, ReportParams};
use crate::table::{Cell, ReportTable};

/// Quotes shown per theme.
const PER_THEME: usize = 2;

/// A quote longer than this many characters is cut at a word and ends with "…".
const MAX_CHARS: usize = 280;

/// The theme a quote belongs to: the top of its code path, or the code itself when the
/// codebook has no themes.
fn theme(q: &QuoteRow) -> &str {
    q.theme
        .as_deref()
        .and_then(|t| t.split('/').next())
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .unwrap_or(&q.code)
}

/// `text` cut to at most [`MAX_CHARS`] characters at a word boundary.
fn shortened(text: &str) -> String {
    let text = text.trim();
    if text.chars().count() <= MAX_CHARS {
        return text.to_owned();
    }
    let cut: String = text.chars().take(MAX_CHARS).collect();
    let at = cut.rfind(' ').unwrap_or(cut.len());
    format!("{}…", cut[..at].trim_end_matches([',', ';', ':', ' ']))
}

/// Up to [`PER_THEME`] quotes per theme, themes by name: segments both coders gave the
/// code first, then those with nothing scrubbed out of them, each text once, from as many
/// focus groups as there are; then by focus group and segment, so the choice is the same
/// every run.
pub(crate) fn selected(quotes: &[QuoteRow]) -> Vec<(&str, Vec<&QuoteRow>)> {
    let mut by_theme: BTreeMap<&str, Vec<&QuoteRow>> = BTreeMap::new();
    for q in quotes.iter().filter(|q| q.text.as_deref().is_some_and(|t| !t.trim().is_empty())) {
        by_theme.entry(theme(q)).or_default().push(q);
    }
    by_theme
        .into_iter()
        .map(|(theme, mut candidates)| {
            let scrubbed = |q: &QuoteRow| q.text.as_deref().is_some_and(|t| t.contains('['));
            candidates.sort_by(|a, b| {
                b.n_coders
                    .cmp(&a.n_coders)
                    .then(scrubbed(a).cmp(&scrubbed(b)))
                    .then(
                        crate::input::natural_key(&a.focus_group)
                            .cmp(&crate::input::natural_key(&b.focus_group)),
                    )
                    .then(a.source.cmp(&b.source))
                    .then(
                        crate::input::natural_key(&a.segment)
                            .cmp(&crate::input::natural_key(&b.segment)),
                    )
            });
            let mut chosen: Vec<&QuoteRow> = Vec::new();
            // First pass: one per focus group; second: any left.
            for pass in 0..2 {
                for q in &candidates {
                    if chosen.len() == PER_THEME {
                        break;
                    }
                    let same_text = chosen.iter().any(|c| c.text == q.text);
                    // A group is its source and name: two teams' `FG1` are two groups.
                    let same_group = chosen
                        .iter()
                        .any(|c| c.focus_group == q.focus_group && c.source == q.source);
                    if !same_text && (pass == 1 || !same_group) {
                        chosen.push(q);
                    }
                }
            }
            (theme, chosen)
        })
        .collect()
}

/// The quotes table: theme, quote, and where it is from ("leder, Bergen (4601), FG1"; with
/// several codings sources the source too: "leder, Askøy (4627), FG1, team Voss").
pub(crate) fn table(input: &ReportInput<'_>, params: &ReportParams) -> Option<ReportTable> {
    let lang = params.language;
    let chosen = selected(input.quotes);
    let several_sources = input.quotes.iter().any(|q| q.source != input.quotes[0].source);
    let rows: Vec<Vec<Cell>> = chosen
        .iter()
        .flat_map(|(theme, quotes)| {
            quotes.iter().enumerate().map(move |(k, q)| {
                let from: Vec<String> = q
                    .role
                    .clone()
                    .into_iter()
                    .chain(q.municipality.as_deref().map(|m| params.municipality(m)))
                    .chain(std::iter::once(q.focus_group.clone()))
                    .chain(several_sources.then(|| q.source.clone()))
                    .collect();
                vec![
                    Cell::Text(if k == 0 { (*theme).to_owned() } else { String::new() }),
                    Cell::Text(format!("«{}»", shortened(q.text.as_deref().unwrap_or_default()))),
                    Cell::Text(from.join(", ")),
                ]
            })
        })
        .collect();
    if rows.is_empty() {
        return None;
    }
    let themes = chosen.len();
    Some(ReportTable {
        id: "table_quotes".into(),
        caption: match lang {
            crate::Language::Nb => {
                format!("Tabell 1. Utvalgte sitater, inntil {PER_THEME} per tema ({themes} temaer)")
            }
            crate::Language::En => {
                format!("Table 1. Selected quotes, up to {PER_THEME} per theme ({themes} themes)")
            }
        },
        columns: vec![
            lang.pick("Tema", "Theme").into(),
            lang.pick("Sitat", "Quote").into(),
            lang.pick("Fra", "From").into(),
        ],
        rows,
        notes: vec![
            match lang {
                crate::Language::Nb => format!(
                    "Sitatene er avidentifisert: navn, fødselsnumre, telefonnumre, e-post- og postadresser er byttet ut (for eksempel med [NAVN]) før de forlot det identifiserbare området, og teksten er sjekket for identifikatorer på nytt. Valgt etter regel, ikke skjønn: først segmenter begge koderne ga koden, deretter de uten utbyttet tekst, fra ulike fokusgrupper; lengre sitater er kortet ned ved et ord (…) til {MAX_CHARS} tegn."
                ),
                crate::Language::En => format!(
                    "The quotes are de-identified: names, national ids, phone numbers, e-mail and postal addresses were replaced (with [NAVN], say) before they left the identifiable zone, and the text was checked for identifiers again. Chosen by rule, not judgement: first segments both coders gave the code, then those with nothing replaced, from different focus groups; longer quotes are cut at a word (…) to {MAX_CHARS} characters."
                ),
            },
            lang.pick(
                "Tom celle i temakolonnen: samme tema som linjen over.",
                "Blank cell in the theme column: the same theme as the line above.",
            )
            .to_owned(),
        ],
        summary: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn quote(group: &str, segment: &str, theme: &str, coders: i64, text: &str) -> QuoteRow {
        QuoteRow {
            source: "codings".into(),
            focus_group: group.into(),
            municipality: Some("4601".into()),
            role: Some("leder".into()),
            segment: segment.into(),
            theme: Some(theme.into()),
            code: "kode".into(),
            n_coders: coders,
            text: Some(text.into()),
        }
    }

    #[test]
    fn two_quotes_per_theme_agreed_unscrubbed_and_from_different_groups_first() {
        let quotes = [
            quote("FG1", "FG1-01", "Samhandling/Plan", 1, "Bare én koder."),
            quote("FG1", "FG1-02", "Samhandling", 2, "Som [NAVN] sa: vi fikk en plan."),
            quote("FG1", "FG1-03", "Samhandling", 2, "Vi fikk en plan."),
            quote("FG2", "FG2-01", "Samhandling", 2, "Vi fikk en plan."),
            quote("FG2", "FG2-02", "Samhandling", 2, "Alle visste hva de skulle gjøre."),
            quote("FG2", "FG2-03", "Ressurser", 1, ""),
        ];
        let chosen = selected(&quotes);
        assert_eq!(chosen.len(), 1, "a theme with only empty texts has no quote");
        let texts: Vec<&str> = chosen[0].1.iter().map(|q| q.text.as_deref().unwrap()).collect();
        assert_eq!(texts, ["Vi fikk en plan.", "Alle visste hva de skulle gjøre."]);
        assert!(shortened(&"ord ".repeat(100)).chars().count() <= MAX_CHARS);
        assert!(shortened(&"ord ".repeat(100)).ends_with("ord…"));
    }

    #[test]
    fn a_second_sources_group_of_the_same_name_is_another_group() {
        let other = |mut q: QuoteRow| {
            q.source = "team Voss".into();
            q
        };
        let quotes = [
            quote("FG1", "FG1-01", "Samhandling", 2, "Vi fikk en plan."),
            quote("FG1", "FG1-02", "Samhandling", 2, "Alle visste hva de skulle gjøre."),
            other(quote("FG1", "FG1-01", "Samhandling", 2, "Planen ligger i tre systemer.")),
        ];
        let chosen = selected(&quotes);
        let from: Vec<(&str, &str)> =
            chosen[0].1.iter().map(|q| (q.source.as_str(), q.segment.as_str())).collect();
        assert_eq!(from, [("codings", "FG1-01"), ("team Voss", "FG1-01")]);
    }
}

//! The questionnaires beyond the scale means: how reliable each scale is (Cronbach's α
//! per scale and timepoint, with the n it rests on), and EQ-5D-5L as its users report it
//! — the distribution over the five levels of each dimension and the VAS's mean and
//! median with intervals. No EQ-5D index: an index needs a value set, and folge ships
//! none whose coefficients it can cite, so the report says so instead of inventing one.

use std::collections::BTreeMap;

use folge_schema::{Arm, Pseudonym};

use crate::input::{Language, ReportInput, ReportParams, arm_label};
use crate::table::{Cell, ReportTable};

/// The reliability table: Cronbach's α (R `psych::alpha`'s raw alpha over respondents who
/// answered every item) per scale and timepoint, in the codebook's order, with n and the
/// number of items. An α over fewer respondents than the small-cell threshold is ":".
pub(crate) fn reliability_table(
    input: &ReportInput<'_>,
    params: &ReportParams,
) -> Option<ReportTable> {
    let lang = params.language;
    let nb = lang == Language::Nb;
    if input.reliability.is_empty() {
        return None;
    }
    let mut rows_in: Vec<&folge_schema::tables::ScaleReliabilityRow> =
        input.reliability.iter().collect();
    // The instrument's total first, then its subscales by name; timepoints in order.
    rows_in.sort_by(|a, b| {
        params
            .instrument_rank(&a.instrument)
            .cmp(&params.instrument_rank(&b.instrument))
            .then((a.scale != a.instrument).cmp(&(b.scale != b.instrument)))
            .then(crate::input::natural_key(&a.scale).cmp(&crate::input::natural_key(&b.scale)))
            .then(
                crate::input::natural_key(&a.timepoint)
                    .cmp(&crate::input::natural_key(&b.timepoint)),
            )
    });
    let mut rows = Vec::new();
    let mut any_hidden = false;
    let mut weak = false;
    for r in rows_in {
        let label = crate::figures::scale_title(&r.instrument, &r.scale, lang);
        let hidden = params.rule.hides_count(r.n as f64);
        any_hidden |= hidden;
        let alpha = match r.cronbach_alpha {
            _ if hidden => Cell::Suppressed,
            Some(a) => {
                weak |= a < 0.7;
                Cell::Number(a, 2)
            }
            None => Cell::Text(
                lang.pick("for få elementer eller svar", "too few items or answers").to_owned(),
            ),
        };
        rows.push(vec![
            Cell::Text(label),
            Cell::Text(r.timepoint.clone()),
            Cell::Number(r.n_items as f64, 0),
            if hidden { Cell::Suppressed } else { Cell::Number(r.n as f64, 0) },
            alpha,
        ]);
    }
    let mut notes = vec![lang
        .pick(
            "Cronbachs α (rå, som R psych::alpha) over dem som svarte på alle skalaens elementer ved tidspunktet (n). Som tommelfingerregel regnes α ≥ 0,70 som tilfredsstillende for gruppesammenligninger; α avhenger av antall elementer, så korte delskalaer får lavere α.",
            "Cronbach's α (raw, as R's psych::alpha) over those who answered every item of the scale at the timepoint (n). As a rule of thumb α ≥ 0.70 is taken as adequate for comparing groups; α depends on the number of items, so short subscales get a lower α.",
        )
        .to_owned()];
    if weak {
        notes.push(
            lang.pick(
                "Skalaer med α under 0,70 måler mer upresist; endringer i dem bør leses med forsiktighet.",
                "Scales with α below 0.70 measure less precisely; changes in them should be read with care.",
            )
            .to_owned(),
        );
    }
    if any_hidden {
        notes.push(crate::table::suppressed_note(nb).to_owned());
    }
    Some(ReportTable {
        id: "table_reliability".into(),
        caption: lang
            .pick(
                "Tabell 1. Reliabilitet: Cronbachs α per skala og tidspunkt",
                "Table 1. Reliability: Cronbach's α per scale and timepoint",
            )
            .into(),
        columns: vec![
            lang.pick("Skala", "Scale").into(),
            lang.pick("Tidspunkt", "Timepoint").into(),
            lang.pick("Elementer", "Items").into(),
            "n".into(),
            "Cronbachs α".into(),
        ],
        rows,
        notes,
        summary: None,
    })
}

/// The EQ-5D-5L dimensions in the instrument's order, by their published names.
const DIMENSIONS: [(&str, &str); 5] = [
    ("Mobilitet", "Mobility"),
    ("Personlig stell", "Self-care"),
    ("Vanlige gjøremål", "Usual activities"),
    ("Smerter/ubehag", "Pain/discomfort"),
    ("Angst/depresjon", "Anxiety/depression"),
];

/// Whether an instrument is EQ-5D (`eq5d`, `EQ-5D-5L`, `eq_5d`): its name without
/// punctuation starts with `eq5d`.
fn is_eq5d(name: &str) -> bool {
    let plain: String = name.chars().filter(char::is_ascii_alphanumeric).collect();
    plain.to_ascii_lowercase().starts_with("eq5d")
}

/// The EQ-5D instrument's dimensions and VAS as the codebook gives them: dimensions are
/// its items answered 1–5, in the codebook's order; the VAS its item on 0–100.
struct Eq5d<'a> {
    name: &'a str,
    dimensions: Vec<&'a str>,
    vas: Option<&'a str>,
}

fn eq5d(params: &ReportParams) -> Option<Eq5d<'_>> {
    let instrument = params.instruments.iter().find(|i| is_eq5d(&i.name))?;
    let dimensions: Vec<&str> = instrument
        .items
        .iter()
        .filter(|i| i.min == Some(1.0) && i.max == Some(5.0))
        .map(|i| i.name.as_str())
        .collect();
    let vas = instrument
        .items
        .iter()
        .find(|i| i.min == Some(0.0) && i.max == Some(100.0))
        .map(|i| i.name.as_str());
    (!dimensions.is_empty() || vas.is_some()).then_some(Eq5d {
        name: instrument.name.as_str(),
        dimensions,
        vas,
    })
}

/// The timepoints × arms with answers to `instrument`, in order.
fn columns_of(input: &ReportInput<'_>, instrument: &str) -> Vec<(String, Arm)> {
    let mut set: Vec<(String, Arm)> = input
        .item_distributions
        .iter()
        .filter(|d| d.instrument == instrument)
        .map(|d| (d.timepoint.clone(), d.arm))
        .collect();
    set.sort_by(|a, b| {
        crate::input::natural_key(&a.0).cmp(&crate::input::natural_key(&b.0)).then(a.1.cmp(&b.1))
    });
    set.dedup();
    set
}

/// EQ-5D-5L levels: per dimension, the respondents at each level 1–5 as `n (%)` per
/// timepoint and arm. Within a dimension the levels × columns are one table with margins:
/// counts 1–4 are ":", then as many more as keep them from being worked out.
pub(crate) fn eq5d_levels_table(
    input: &ReportInput<'_>,
    params: &ReportParams,
) -> Option<ReportTable> {
    let lang = params.language;
    let eq = eq5d(params)?;
    if eq.dimensions.is_empty() {
        return None;
    }
    let columns = columns_of(input, eq.name);
    if columns.is_empty() {
        return None;
    }
    let mut rows = Vec::new();
    let mut any_hidden = false;
    for (k, item) in eq.dimensions.iter().enumerate() {
        let name = if eq.dimensions.len() == DIMENSIONS.len() {
            format!("{} ({item})", lang.pick(DIMENSIONS[k].0, DIMENSIONS[k].1))
        } else {
            (*item).to_owned()
        };
        // counts[level][column]
        let mut counts = vec![vec![0u64; columns.len()]; 5];
        for d in
            input.item_distributions.iter().filter(|d| d.instrument == eq.name && d.item == *item)
        {
            let Some(c) = columns.iter().position(|(t, a)| *t == d.timepoint && *a == d.arm) else {
                continue;
            };
            let level = d.value.round();
            // The codebook's range is checked at ingest: every answer is a level 1–5.
            if (1.0..=5.0).contains(&level) && (d.value - level).abs() < 1e-9 {
                counts[level as usize - 1][c] += d.n.max(0) as u64;
            }
        }
        let hidden = folge_deid::suppress_table(params.rule, &counts);
        let totals: Vec<u64> =
            (0..columns.len()).map(|c| counts.iter().map(|r| r[c]).sum()).collect();
        let mut heading = vec![Cell::Heading(name)];
        heading.extend(
            totals
                .iter()
                .zip(&hidden.column_totals)
                .map(|(&n, &h)| if h { Cell::Suppressed } else { Cell::Text(format!("n = {n}")) }),
        );
        rows.push(heading);
        for (level, line) in counts.iter().enumerate() {
            let mut cells =
                vec![Cell::Level(format!("{} {}", lang.pick("Nivå", "Level"), level + 1))];
            for (c, &n) in line.iter().enumerate() {
                if hidden.cells[level][c] {
                    any_hidden = true;
                    cells.push(Cell::Suppressed);
                } else if totals[c] == 0 {
                    cells.push(Cell::Number(0.0, 0));
                } else {
                    cells.push(Cell::CountShare(n, 100.0 * n as f64 / totals[c] as f64));
                }
            }
            rows.push(cells);
        }
    }
    let mut notes = vec![
        lang.pick(
            "Nivå 1 = ingen problemer, nivå 5 = ekstreme problemer eller ute av stand. Prosent av dem som svarte på dimensjonen ved tidspunktet i gruppen (n i overskriftslinjen).",
            "Level 1 = no problems, level 5 = extreme problems or unable to. Percent of those in the arm who answered the dimension at the timepoint (n on the heading line).",
        )
        .to_owned(),
        no_index_note(lang).to_owned(),
    ];
    if any_hidden {
        notes.push(
            lang.pick(
                "«:» der 1–4 svarte, og der antallet ellers kunne regnes ut fra totalene.",
                "“:” where 1–4 answered, and where the number could otherwise be worked out from the totals.",
            )
            .to_owned(),
        );
    }
    Some(ReportTable {
        id: "table_eq5d_levels".into(),
        caption: lang
            .pick(
                "Tabell 1. EQ-5D-5L: fordeling på nivåene i hver dimensjon",
                "Table 1. EQ-5D-5L: distribution over the levels of each dimension",
            )
            .into(),
        columns: std::iter::once(lang.pick("Dimensjon og nivå", "Dimension and level").to_owned())
            .chain(columns.iter().map(|(t, arm)| format!("{t}, {}", arm_label(*arm, lang))))
            .collect(),
        rows,
        notes,
        summary: None,
    })
}

/// Why there is no EQ-5D index.
fn no_index_note(lang: Language) -> &'static str {
    lang.pick(
        "Ingen EQ-5D-indeks: en indeks regnes fra nivåene med et verdisett (for Norge finnes et eget EQ-5D-5L-verdisett), og folge har ikke noe verdisett med kilde for koeffisientene. Rapporten viser derfor nivåene og VAS, ikke en indeks.",
        "No EQ-5D index: an index is computed from the levels with a value set (a Norwegian EQ-5D-5L value set exists), and folge holds no value set with a cited source for its coefficients. The report therefore shows the levels and the VAS, not an index.",
    )
}

/// The EQ-5D VAS (0–100): per timepoint and arm, n, mean with Student's t interval and
/// median with the order-statistics interval (`item_summaries.parquet`). A row of fewer
/// respondents than the small-cell threshold is ":".
pub(crate) fn eq5d_vas_table(
    input: &ReportInput<'_>,
    params: &ReportParams,
) -> Option<ReportTable> {
    let lang = params.language;
    let nb = lang == Language::Nb;
    let eq = eq5d(params)?;
    let vas = eq.vas?;
    let mut summaries: Vec<&folge_schema::tables::ItemSummaryRow> =
        input.item_summaries.iter().filter(|s| s.instrument == eq.name && s.item == vas).collect();
    if summaries.is_empty() {
        return None;
    }
    summaries.sort_by(|a, b| {
        crate::input::natural_key(&a.timepoint)
            .cmp(&crate::input::natural_key(&b.timepoint))
            .then(a.arm.cmp(&b.arm))
    });
    let n1 = |v: f64| crate::figure::number(v, 1, nb);
    let with_ci = |v: f64, ci: Option<(f64, f64)>| {
        ci.map_or_else(|| n1(v), |(lo, hi)| format!("{} ({}–{})", n1(v), n1(lo), n1(hi)))
    };
    let mut any_hidden = false;
    let mut no_median_ci = false;
    let rows: Vec<Vec<Cell>> = summaries
        .iter()
        .map(|s| {
            let hidden = params.rule.hides_count(s.n as f64);
            any_hidden |= hidden;
            let median_ci = s.median_ci_low.zip(s.median_ci_high);
            no_median_ci |= !hidden && median_ci.is_none();
            let cell = |text: String| if hidden { Cell::Suppressed } else { Cell::Text(text) };
            vec![
                Cell::Text(s.timepoint.clone()),
                Cell::Text(arm_label(s.arm, lang).to_owned()),
                if hidden { Cell::Suppressed } else { Cell::Number(s.n as f64, 0) },
                cell(with_ci(s.mean, s.mean_ci_low.zip(s.mean_ci_high))),
                cell(with_ci(s.median, median_ci)),
            ]
        })
        .collect();
    let mut notes = vec![
        lang.pick(
            "EQ VAS: egenvurdert helse i dag, 0 (verst tenkelige) til 100 (best tenkelige). Gjennomsnitt med 95 % KI fra t-fordelingen (R t.test); median med 95 % KI fra ordningsobservasjonene x₍L₎ og x₍n−L+1₎, L = qbinom(0,025, n, 0,5), som dekker minst 95 %.",
            "EQ VAS: self-rated health today, 0 (worst imaginable) to 100 (best imaginable). Mean with 95 % CI from the t distribution (R t.test); median with 95 % CI from the order statistics x₍L₎ and x₍n−L+1₎, L = qbinom(0.025, n, 0.5), which covers at least 95 %.",
        )
        .to_owned(),
        no_index_note(lang).to_owned(),
    ];
    if no_median_ci {
        notes.push(
            lang.pick(
                "Median uten intervall: for få svar (n ≤ 5) til et intervall som dekker 95 %.",
                "Median without interval: too few answers (n ≤ 5) for an interval covering 95 %.",
            )
            .to_owned(),
        );
    }
    if any_hidden {
        notes.push(crate::table::suppressed_note(nb).to_owned());
    }
    Some(ReportTable {
        id: "table_eq5d_vas".into(),
        caption: lang
            .pick(
                "Tabell 1. EQ-5D-5L VAS per tidspunkt og gruppe",
                "Table 1. EQ-5D-5L VAS per timepoint and arm",
            )
            .into(),
        columns: vec![
            lang.pick("Tidspunkt", "Timepoint").into(),
            lang.pick("Gruppe", "Arm").into(),
            "n".into(),
            lang.pick("Gjennomsnitt (95 % KI)", "Mean (95 % CI)").into(),
            lang.pick("Median (95 % KI)", "Median (95 % CI)").into(),
        ],
        rows,
        notes,
        summary: None,
    })
}

/// Persons with answers to any questionnaire at each timepoint, by arm: the attrition
/// from the first timepoint to the next (for the data flow and the limitations).
pub(crate) fn respondents(input: &ReportInput<'_>) -> BTreeMap<(String, Arm), usize> {
    let arm_of: BTreeMap<Pseudonym, Arm> =
        input.tables.participants().iter().map(|p| (p.pid(), p.arm())).collect();
    let mut persons: BTreeMap<(String, Arm), std::collections::BTreeSet<Pseudonym>> =
        BTreeMap::new();
    for r in input.tables.responses() {
        if let Some(&arm) = arm_of.get(&r.pid()) {
            persons.entry((r.timepoint().to_owned(), arm)).or_default().insert(r.pid());
        }
    }
    persons.into_iter().map(|(k, v)| (k, v.len())).collect()
}

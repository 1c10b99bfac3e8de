//! The data flow, CONSORT-like: what each input gave and lost (rows read and rejected, as
//! ingest counted them), then the persons — included per arm, observed before and after
//! inclusion, leaving follow-up (died, moved, withdrew), with questionnaire answers at
//! each timepoint and at both, scored at both — so a reader sees the n of every later
//! table arise.

use std::collections::{BTreeMap, BTreeSet};

use folge_schema::{Arm, ExitReason, Pseudonym};

use crate::input::{Language, ReportInput, ReportParams, rate};
use crate::table::{Cell, ReportTable};

/// The inputs table: per input, by its place in the pipeline file, the rows read, rejected
/// and accepted. Rows of files, not persons: no count here is about one person.
pub(crate) fn inputs_table(input: &ReportInput<'_>, params: &ReportParams) -> Option<ReportTable> {
    let lang = params.language;
    if input.inputs.is_empty() {
        return None;
    }
    let rows = input
        .inputs
        .iter()
        .map(|i| {
            vec![
                Cell::Text(i.role.clone()),
                Cell::Text(i.table.clone()),
                Cell::Number(i.rows_read as f64, 0),
                Cell::Number(i.rows_rejected as f64, 0),
                Cell::Number(i.rows_read.saturating_sub(i.rows_rejected) as f64, 0),
            ]
        })
        .collect();
    Some(ReportTable {
        id: "table_inputs".into(),
        caption: lang
            .pick(
                "Tabell 1. Inndata: rader lest, avvist og tatt inn",
                "Table 1. Inputs: rows read, rejected and accepted",
            )
            .into(),
        columns: vec![
            lang.pick("Inndata (i pipeline-filen)", "Input (in the pipeline file)").into(),
            lang.pick("Tabell", "Table").into(),
            lang.pick("Rader lest", "Rows read").into(),
            lang.pick("Avvist", "Rejected").into(),
            lang.pick("Tatt inn", "Accepted").into(),
        ],
        rows,
        notes: vec![lang
            .pick(
                "Inndata er navngitt etter plassen i pipeline-filen, aldri etter filnavn. Avviste rader (med fil, linje, kolonne og grunn) ligger i 01_ingest/rejects.parquet, som bare finnes på maskinen som leste dataene. For spørreskjema er en rad ett utfylt skjema (eller én linje i en lang eksport).",
                "Inputs are named by their place in the pipeline file, never by file name. Rejected rows (with file, line, column and reason) are in 01_ingest/rejects.parquet, which exists only on the machine that read the data. For questionnaires a row is one form filled in (or one line of a long export).",
            )
            .to_owned()],
        summary: None,
    })
}

/// Persons scored at the first and at the second timepoint, per instrument and arm.
type Scored<'a> = BTreeMap<(&'a str, Arm), (BTreeSet<Pseudonym>, BTreeSet<Pseudonym>)>;

/// One step of the persons' flow: its label and persons per arm.
struct Step {
    label: String,
    counts: [usize; 2],
}

/// The persons' flow table: per arm and in total, from inclusion to analysis. A count of
/// 1–4 is ":", and so is the row's total then (it would give the hidden count away).
pub(crate) fn persons_table(input: &ReportInput<'_>, params: &ReportParams) -> ReportTable {
    let lang = params.language;
    let rule = params.rule;
    let arms = [Arm::Pilot, Arm::Comparison];
    let per_arm = |f: &dyn Fn(Arm) -> usize| [f(Arm::Pilot), f(Arm::Comparison)];
    let participants = input.tables.participants();
    let mut steps = vec![Step {
        label: lang.pick("Inkludert", "Included").into(),
        counts: per_arm(&|arm| participants.iter().filter(|p| p.arm() == arm).count()),
    }];
    // Observed before and after inclusion: the persons behind the rates (the first
    // indicator's; every indicator has the same exposure).
    if let Some(&first) = params.indicators.first() {
        for (period, nb_label, en_label) in [
            ("before", "Med observasjonstid før inklusjon", "Observed before inclusion"),
            (
                "after",
                "Med observasjonstid etter inklusjon (analysert for forbruk)",
                "Observed after inclusion (analysed for use)",
            ),
        ] {
            if arms.iter().any(|&a| rate(input.rates, first, a, period).is_some()) {
                steps.push(Step {
                    label: lang.pick(nb_label, en_label).to_owned(),
                    counts: per_arm(&|arm| {
                        rate(input.rates, first, arm, period).map_or(0, |r| r.n.max(0) as usize)
                    }),
                });
            }
        }
    }
    for (reason, nb_label, en_label) in [
        (ExitReason::Death, "Døde i oppfølgingen", "Died during follow-up"),
        (ExitReason::Moved, "Flyttet (oppfølging stoppet)", "Moved (follow-up stopped)"),
        (ExitReason::Withdrew, "Trakk seg", "Withdrew"),
    ] {
        let counts = per_arm(&|arm| {
            participants
                .iter()
                .filter(|p| p.arm() == arm && p.exit_reason() == Some(reason))
                .count()
        });
        if counts.iter().any(|&n| n > 0) {
            steps.push(Step { label: lang.pick(nb_label, en_label).into(), counts });
        }
    }
    // Questionnaires: persons with any answer at each timepoint, and at the first two.
    let answered = crate::questionnaires::respondents(input);
    let timepoints: Vec<&String> = {
        let set: BTreeSet<&String> = answered.keys().map(|(t, _)| t).collect();
        let mut v: Vec<&String> = set.into_iter().collect();
        v.sort_by_key(|t| crate::input::natural_key(t));
        v
    };
    for t in &timepoints {
        steps.push(Step {
            label: match lang {
                Language::Nb => format!("Svarte på spørreskjema ved {t}"),
                Language::En => format!("Answered a questionnaire at {t}"),
            },
            counts: per_arm(&|arm| answered.get(&((*t).clone(), arm)).copied().unwrap_or(0)),
        });
    }
    if let [first, second, ..] = timepoints.as_slice() {
        let both = both_timepoints(input, first, second);
        steps.push(Step {
            label: match lang {
                Language::Nb => format!("Svarte ved både {first} og {second}"),
                Language::En => format!("Answered at both {first} and {second}"),
            },
            counts: per_arm(&|arm| both.get(&arm).copied().unwrap_or(0)),
        });
        // Scored at both: the persons behind the scale comparisons, per instrument.
        let mut scored: Scored<'_> = BTreeMap::new();
        for s in input.scale_scores.iter().filter(|s| s.scale == s.instrument && s.score.is_some())
        {
            let entry = scored.entry((s.instrument.as_str(), s.arm)).or_default();
            if s.timepoint == **first {
                entry.0.insert(s.pid);
            } else if s.timepoint == **second {
                entry.1.insert(s.pid);
            }
        }
        let instruments: BTreeSet<&str> = scored.keys().map(|(i, _)| *i).collect();
        for instrument in instruments {
            steps.push(Step {
                label: match lang {
                    Language::Nb => format!(
                        "Analysert, {}: skåre ved både {first} og {second}",
                        instrument.to_uppercase()
                    ),
                    Language::En => format!(
                        "Analysed, {}: score at both {first} and {second}",
                        instrument.to_uppercase()
                    ),
                },
                counts: per_arm(&|arm| {
                    scored.get(&(instrument, arm)).map_or(0, |(a, b)| a.intersection(b).count())
                }),
            });
        }
    }
    let mut any_hidden = false;
    let rows = steps
        .into_iter()
        .map(|s| {
            let hidden = s.counts.map(|n| rule.hides_count(n as f64));
            let total = s.counts.iter().sum::<usize>();
            let total_hidden = hidden.iter().any(|&h| h) || rule.hides_count(total as f64);
            any_hidden |= total_hidden;
            let cell =
                |n: usize, h: bool| if h { Cell::Suppressed } else { Cell::Number(n as f64, 0) };
            vec![
                Cell::Text(s.label),
                cell(s.counts[0], hidden[0]),
                cell(s.counts[1], hidden[1]),
                cell(total, total_hidden),
            ]
        })
        .collect();
    let mut notes = vec![lang
        .pick(
            "Personer, ikke rader. Observasjonstid: dager personen kunne følges i perioden (til utgang eller slutt på datauttrekket). Spørreskjema: personer med minst ett svar ved tidspunktet, i alle skjema.",
            "Persons, not rows. Time observed: days the person could be followed in the period (to exit or the end of the data delivery). Questionnaires: persons with at least one answer at the timepoint, in any form.",
        )
        .to_owned()];
    if any_hidden {
        notes.push(
            lang.pick(
                "«:» der antallet er 1–4, og totalen på samme linje.",
                "“:” where the count is 1–4, and the total on the same line.",
            )
            .to_owned(),
        );
    }
    ReportTable {
        id: "table_data_flow".into(),
        caption: lang
            .pick(
                "Tabell 1. Fra inkludert til analysert: personer per gruppe",
                "Table 1. From included to analysed: persons per arm",
            )
            .into(),
        columns: vec![
            lang.pick("Trinn", "Step").into(),
            "Pilot".into(),
            lang.pick("Sammenligning", "Comparison").into(),
            lang.pick("Totalt", "Total").into(),
        ],
        rows,
        notes,
        summary: None,
    }
}

/// Persons per arm with answers at both timepoints.
pub(crate) fn both_timepoints(
    input: &ReportInput<'_>,
    first: &str,
    second: &str,
) -> BTreeMap<Arm, usize> {
    let arm_of: BTreeMap<Pseudonym, Arm> =
        input.tables.participants().iter().map(|p| (p.pid(), p.arm())).collect();
    let mut at: BTreeMap<Pseudonym, (bool, bool)> = BTreeMap::new();
    for r in input.tables.responses() {
        let entry = at.entry(r.pid()).or_default();
        entry.0 |= r.timepoint() == first;
        entry.1 |= r.timepoint() == second;
    }
    let mut out = BTreeMap::new();
    for (pid, (a, b)) in at {
        if let (true, true, Some(&arm)) = (a, b, arm_of.get(&pid)) {
            *out.entry(arm).or_insert(0) += 1;
        }
    }
    out
}

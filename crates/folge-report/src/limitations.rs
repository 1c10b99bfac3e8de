//! The limitations section, written from what the run knows rather than from a template
//! a reader learns to skip: how many persons each arm has and how many comparisons found
//! too few to estimate, how many cells the small-cell rule hid, the attrition between the
//! questionnaires' timepoints, the pre-trend check of the event-time view, whether the
//! arms were compared adjusted, and what the indicators cannot say.

use std::collections::BTreeSet;

use folge_analyze::Indicator;
use folge_schema::Arm;

use crate::estimates::{PRETREND, RATIO_OF_RATIOS};
use crate::input::{
    Language, ReportInput, ReportParams, arm_label, arm_rates_shown, indicator_label,
};

/// A share in whole percent.
fn percent(part: usize, whole: usize) -> String {
    format!("{:.0}", 100.0 * part as f64 / whole.max(1) as f64)
}

/// The limitations, one paragraph each, in the report's language. `suppressed` holds, for
/// each table of the report with cells shown ":", its number and how many.
pub(crate) fn paragraphs(
    input: &ReportInput<'_>,
    params: &ReportParams,
    suppressed: &[(usize, usize)],
) -> Vec<String> {
    let lang = params.language;
    let nb = lang == Language::Nb;
    let rule = params.rule;
    let mut out = Vec::new();
    let participants = input.tables.participants();
    let n = |arm: Arm| participants.iter().filter(|p| p.arm() == arm).count();
    let (n_pilot, n_comparison) = (n(Arm::Pilot), n(Arm::Comparison));

    // Not randomised, and adjusted or not.
    let between: Vec<_> = input
        .comparisons
        .iter()
        .filter(|c| c.scope == "all" && c.effect_size_kind == RATIO_OF_RATIOS)
        .collect();
    let adjusted = crate::estimates::adjustment_sentence(between.iter().copied(), lang);
    out.push(match lang {
        Language::Nb => format!("Gruppene er ikke trukket tilfeldig: {n_pilot} personer i pilotene og {n_comparison} i sammenligningskommunene. Sammenligningen mellom dem er {adjusted}, og forskjell-i-forskjeller-estimatene forutsetter at gruppene ville ha utviklet seg likt uten piloten."),
        Language::En => format!("The arms were not randomised: {n_pilot} persons in the pilots and {n_comparison} in the comparison municipalities. The comparison between them is {adjusted}, and the difference-in-differences estimates assume the arms would have changed alike without the pilot."),
    });

    // Precision: how many of the pilot-vs-comparison intervals include 1, and how many
    // subgroup comparisons had too few persons for an estimate.
    let with_ci: Vec<_> =
        between.iter().filter(|c| c.ci_low.is_some() && c.ci_high.is_some()).collect();
    let include_one = with_ci
        .iter()
        .filter(|c| c.ci_low.is_some_and(|lo| lo <= 1.0) && c.ci_high.is_some_and(|hi| hi >= 1.0))
        .count();
    let too_few = input
        .comparisons
        .iter()
        .filter(|c| c.scope != "all" && c.effect_size.is_none() && c.method.contains("fewer than"))
        .count();
    let subsets = input.comparisons.iter().filter(|c| c.scope != "all").count();
    if !with_ci.is_empty() || too_few > 0 {
        let mut text = match lang {
            Language::Nb => format!(
                "Små grupper gir brede intervall: for {include_one} av {} indikatorer omfatter 95 %-intervallet for pilot mot sammenligning 1 (ingen forskjell), så dataene kan ikke skille en effekt fra ingen.",
                with_ci.len()
            ),
            Language::En => format!(
                "Small groups give wide intervals: for {include_one} of {} indicators the 95 % interval of pilot against comparison includes 1 (no difference), so the data cannot tell an effect from none.",
                with_ci.len()
            ),
        };
        if too_few > 0 {
            let _ = match lang {
                Language::Nb => std::fmt::Write::write_fmt(
                    &mut text,
                    format_args!(
                        " {too_few} av {subsets} sammenligninger i kommuner, målgrupper og aldersgrupper har ikke estimat fordi en gruppe har for få personer."
                    ),
                ),
                Language::En => std::fmt::Write::write_fmt(
                    &mut text,
                    format_args!(
                        " {too_few} of {subsets} comparisons within municipalities, target groups and age groups have no estimate because an arm has too few persons."
                    ),
                ),
            };
        }
        out.push(text);
    }

    // Suppression.
    if !suppressed.is_empty() {
        let total: usize = suppressed.iter().map(|(_, n)| n).sum();
        let (table, and) = (lang.pick("tabell", "table"), lang.pick("og", "and"));
        let mut places: Vec<String> = suppressed
            .iter()
            .map(|(number, n)| format!("{n} {}{table} {number}", lang.pick("i ", "in ")))
            .collect();
        let places = match places.pop() {
            Some(last) if !places.is_empty() => format!("{} {and} {last}", places.join(", ")),
            Some(last) => last,
            None => String::new(),
        };
        out.push(match lang {
            Language::Nb => format!("Prikking: {total} celler i tabellene er skjult («:»), {places}, fordi de bygger på 1–{} personer eller hendelser, eller fordi de ellers kunne regnes ut fra andre celler. Figurene skjuler de samme tallene. Resultatene for små kommuner og undergrupper er derfor ufullstendige.", rule.threshold - 1),
            Language::En => format!("Suppression: {total} table cells are hidden (“:”), {places}, because they rest on 1–{} persons or events, or could otherwise be worked out from other cells. The figures hide the same numbers. Results for small municipalities and subgroups are therefore incomplete.", rule.threshold - 1),
        });
    }

    // Attrition between the first two timepoints.
    let answered = crate::questionnaires::respondents(input);
    let mut timepoints: Vec<&String> =
        answered.keys().map(|(t, _)| t).collect::<BTreeSet<_>>().into_iter().collect();
    timepoints.sort_by_key(|t| crate::input::natural_key(t));
    if let [first, second, ..] = timepoints.as_slice() {
        let both = crate::data_flow::both_timepoints(input, first, second);
        let parts: Vec<String> = [Arm::Pilot, Arm::Comparison]
            .into_iter()
            .filter_map(|arm| {
                let at_first = answered.get(&((*first).clone(), arm)).copied().unwrap_or(0);
                let kept = both.get(&arm).copied().unwrap_or(0);
                if at_first == 0 {
                    return None;
                }
                let label = arm_label(arm, lang).to_lowercase();
                Some(if rule.hides_count(kept as f64) || rule.hides_count(at_first as f64) {
                    match lang {
                        Language::Nb => {
                            format!("{label}: færre enn {} svarte ved begge", rule.threshold)
                        }
                        Language::En => {
                            format!("{label}: fewer than {} answered at both", rule.threshold)
                        }
                    }
                } else {
                    match lang {
                        Language::Nb => {
                            format!("{label}: {kept} av {at_first} ({} %)", percent(kept, at_first))
                        }
                        Language::En => {
                            format!("{label}: {kept} of {at_first} ({}%)", percent(kept, at_first))
                        }
                    }
                })
            })
            .collect();
        if !parts.is_empty() {
            out.push(match lang {
                Language::Nb => format!("Frafall i spørreskjemaene: av dem som svarte ved {first}, svarte også ved {second} — {}. Endringen fra {first} til {second} bygger bare på dem som svarte begge ganger, og de kan skille seg fra dem som falt fra.", parts.join("; ")),
                Language::En => format!("Attrition in the questionnaires: of those who answered at {first}, answered at {second} too — {}. The change from {first} to {second} rests only on those who answered both times, who may differ from those who dropped out.", parts.join("; ")),
            });
        }
    }

    // The pre-trend check.
    let pretrend: Vec<_> = input
        .comparisons
        .iter()
        .filter(|c| c.scope == "all" && c.effect_size_kind == PRETREND)
        .collect();
    if !pretrend.is_empty() {
        let shown = |indicator: Indicator| {
            [Arm::Pilot, Arm::Comparison]
                .iter()
                .all(|&arm| arm_rates_shown(input, indicator, arm, rule))
        };
        let mut checked = 0;
        let mut apart: Vec<String> = Vec::new();
        for &indicator in &params.indicators {
            let Some(row) = pretrend.iter().find(|c| c.measure == indicator.id()) else { continue };
            let (Some(lo), Some(hi)) = (row.ci_low, row.ci_high) else { continue };
            if !shown(indicator) {
                continue;
            }
            checked += 1;
            if lo > 1.0 || hi < 1.0 {
                apart.push(format!(
                    "{} ({} {}–{})",
                    indicator_label(indicator, lang).to_lowercase(),
                    lang.pick("95 % KI", "95% CI"),
                    crate::figure::number(lo, 2, nb),
                    crate::figure::number(hi, 2, nb)
                ));
            }
        }
        if checked > 0 {
            out.push(if apart.is_empty() {
                match lang {
                    Language::Nb => format!("Parallelle trender før inklusjon: sjekken (en placebo-forskjell-i-forskjeller over 30-dagers perioder før inklusjon) fant ingen indikator av {checked} der gruppene utviklet seg klart ulikt. Sjekken har lav styrke i små grupper; at den ikke finner noe, viser ikke at trendene var parallelle."),
                    Language::En => format!("Parallel trends before inclusion: the check (a placebo difference in differences over the 30-day bins before inclusion) found no indicator of {checked} on which the arms clearly changed differently. In small groups the check has little power; finding nothing does not show the trends were parallel."),
                }
            } else {
                match lang {
                    Language::Nb => format!("Parallelle trender før inklusjon: for {} av {checked} indikatorer utviklet gruppene seg ulikt allerede før inklusjon ({}; forholdet mellom trendene, 1 = parallelle). For dem kan forskjell-i-forskjeller-estimatet vise noe annet enn pilotens effekt.", apart.len(), apart.join(", ")),
                    Language::En => format!("Parallel trends before inclusion: for {} of {checked} indicators the arms already changed differently before inclusion ({}; the ratio of the trends, 1 = parallel). For those the difference-in-differences estimate may show something other than the pilot's effect.", apart.len(), apart.join(", ")),
                }
            });
        }
    }

    // Missing scale scores.
    let missing = input.scale_scores.iter().filter(|s| s.score.is_none()).count();
    if missing > 0 {
        out.push(match lang {
            Language::Nb => format!("Manglende svar: {missing} skalaskårer mangler fordi for få av skalaens elementer var besvart (kodebokens minsteandel); de er utelatt, ikke erstattet."),
            Language::En => format!("Missing answers: {missing} scale scores are missing because too few of the scale's items were answered (the codebook's minimum share); they are left out, not imputed."),
        });
    }

    // What the indicators cannot say.
    if params.indicators.contains(&Indicator::Readmissions30d) {
        out.push(
            lang.pick(
                "Reinnleggelser er telt rått (alle årsaker, alle sykehus), ikke risikojustert som den nasjonale kvalitetsindikatoren; registerdata viser forbruk, ikke om tjenestene var riktige for pasienten.",
                "Readmissions are counted crudely (any cause, any hospital), not risk-adjusted like the national quality indicator; registry data show use, not whether the services were right for the patient.",
            )
            .to_owned(),
        );
    }
    out
}

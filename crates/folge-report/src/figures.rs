//! The report's figures from its inputs: what each shows, and what the small-cell rule
//! keeps out of it (a hidden value is not drawn; the caller's caption says so).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use folge_analyze::Indicator;
use folge_schema::Arm;
use folge_schema::tables::{ComparisonRow, MunicipalityRateRow};

use crate::canvas::Canvas;
use crate::estimates::{
    AFTER_BEFORE, RATIO_OF_RATIOS, describe_models_briefly, missing_reason,
    mortality_not_before_after, not_computed,
};
use crate::figure::{
    Bar, Curve, ForestRow, HBar, MeanPoint, MeansAxis, MeansPanel, Panel, bar_panels, forest,
    hbars, heatmap, means_panels,
};
use crate::input::{
    Language, ReportInput, ReportParams, arm_label, arm_rates_shown, indicator_label, rate,
};

/// A figure ready for the page: file id, caption (without its number) and drawing.
#[derive(Debug, Clone)]
pub struct FigureOut {
    /// File name without extension (`figure_rates`).
    pub id: String,
    /// Caption after "Figur N.".
    pub caption: String,
    /// The drawing.
    pub canvas: Canvas,
}

pub(crate) fn suppressed_note(lang: Language, any: bool, caption: &mut String) {
    if any {
        caption.push(' ');
        caption.push_str(lang.pick(
            "Verdier merket «:» er skjult etter prikkeregelen.",
            "Values marked “:” are hidden by the small-cell rule.",
        ));
    }
}

/// A panel with most of its bars hidden is hidden whole (the small-cell rule's series
/// rule): the one or two bars left would only invite guessing at the rest.
pub fn hide_mostly_suppressed(groups: &mut [(String, [Bar; 2])], rule: folge_deid::SmallCellRule) {
    let points = groups.len() * 2;
    let hidden = groups.iter().flat_map(|(_, b)| b).filter(|b| b.value.is_none()).count();
    if rule.hides_series(hidden, points) {
        for (_, bars) in groups.iter_mut() {
            for bar in bars.iter_mut() {
                *bar = Bar::default();
            }
        }
    }
}

/// The most panels a figure of rates holds (two rows of three, half an A4 page); more
/// indicators go on to further figures, each named "part k of n".
const RATE_PANELS: usize = 6;

/// How many of `n` things go in each of the fewest parts of at most `most`, as even as
/// they go (12 by 6: 6 and 6; 11 by 6: 6 and 5; 8 by 6: 4 and 4).
pub(crate) fn even_chunk(n: usize, most: usize) -> usize {
    let parts = n.div_ceil(most.max(1)).max(1);
    n.div_ceil(parts).max(1)
}

/// " (del 2 av 3)" for the second of three figures of one kind; nothing for a lone one.
pub(crate) fn part_text(k: usize, parts: usize, lang: Language) -> String {
    if parts < 2 {
        return String::new();
    }
    match lang {
        Language::Nb => format!(" (del {} av {parts})", k + 1),
        Language::En => format!(" (part {} of {parts})", k + 1),
    }
}

/// The file id of the `k`th figure of one kind: `figure_rates`, `figure_rates_2`, …
pub(crate) fn part_id(base: &str, k: usize) -> String {
    if k == 0 { base.to_owned() } else { format!("{base}_{}", k + 1) }
}

/// Rates per person-year before and after inclusion with the analysis's 95 % intervals
/// (person-level Poisson GLM, CR1 by person — for hours and days too), pilot and
/// comparison: every indicator of the pipeline, in its order, six panels to a figure.
pub fn rates(input: &ReportInput<'_>, params: &ReportParams) -> Vec<FigureOut> {
    let lang = params.language;
    // Each indicator's panel, whether a value in it is hidden, and whether a bar in it
    // lacks an interval.
    let drawn: Vec<(Panel, bool, bool)> = params
        .indicators
        .iter()
        .map(|&indicator| {
            let (mut suppressed, mut without_interval) = (false, false);
            let mut groups = [Arm::Pilot, Arm::Comparison]
                .map(|arm| {
                    let bars = ["before", "after"].map(|period| {
                        let row = rate(input.rates, indicator, arm, period);
                        let hidden =
                            row.is_some_and(|r| params.rule.hides_rate(r.value_total, r.n));
                        suppressed |= hidden && row.is_some_and(|r| r.rate_per_py.is_some());
                        match row {
                            Some(r) if !hidden => {
                                let ci = r.ci_low.zip(r.ci_high);
                                without_interval |=
                                    ci.is_none() && r.rate_per_py.is_some_and(|v| v > 0.0);
                                Bar { value: r.rate_per_py, ci }
                            }
                            _ => Bar::default(),
                        }
                    });
                    (arm_label(arm, lang).to_owned(), bars)
                })
                .to_vec();
            hide_mostly_suppressed(&mut groups, params.rule);
            let panel = Panel { title: indicator_label(indicator, lang).to_owned(), groups };
            (panel, suppressed, without_interval)
        })
        .collect();
    let n = |arm| input.tables.participants().iter().filter(|p| p.arm() == arm).count();
    let words = crate::estimates::rate_variance_words(params.cluster_variance, lang, false);
    let chunk = even_chunk(drawn.len(), RATE_PANELS);
    let parts = drawn.len().div_ceil(chunk);
    drawn
        .chunks(chunk)
        .enumerate()
        .map(|(k, part)| {
            let panels: Vec<Panel> = part.iter().map(|(p, ..)| p.clone()).collect();
            let canvas = bar_panels(
                &panels,
                [
                    lang.pick("Før inklusjon", "Before inclusion"),
                    lang.pick("Etter inklusjon", "After inclusion"),
                ],
                lang.pick("per personår", "per person-year"),
                lang == Language::Nb,
            );
            let any_interval = panels
                .iter()
                .flat_map(|p| &p.groups)
                .flat_map(|(_, bars)| bars)
                .any(|b| b.ci.is_some());
            let intervals = match (lang, any_interval) {
                (Language::Nb, true) => format!(
                    " med 95 % konfidensintervall (Poisson-GLM på personnivå med log personår som offset og {words})"
                ),
                (Language::En, true) => format!(
                    " with 95% confidence intervals (person-level Poisson GLM with log person-years as offset and {words})"
                ),
                (Language::Nb, false) => " (analysen har ikke gitt konfidensintervall)".to_owned(),
                (Language::En, false) => " (the analysis gave no confidence intervals)".to_owned(),
            };
            let part_words = part_text(k, parts, lang);
            let mut caption = match lang {
                Language::Nb => format!(
                    "Forbruk per personår før og etter inklusjon{part_words}{intervals}, pilot (n = {}) og sammenligning (n = {}).",
                    n(Arm::Pilot),
                    n(Arm::Comparison)
                ),
                Language::En => format!(
                    "Use per person-year before and after inclusion{part_words}{intervals}, pilot (n = {}) and comparison (n = {}).",
                    n(Arm::Pilot),
                    n(Arm::Comparison)
                ),
            };
            if any_interval && part.iter().any(|(_, _, without)| *without) {
                caption.push(' ');
                caption.push_str(lang.pick(
                    "Søyler uten strek: analysen oppga ikke noe intervall.",
                    "Bars without a whisker: the analysis gave no interval.",
                ));
            }
            suppressed_note(lang, part.iter().any(|(_, hidden, _)| *hidden), &mut caption);
            FigureOut { id: part_id("figure_rates", k), caption, canvas }
        })
        .collect()
}

/// Whether a municipality's before/after rates may be shown.
fn municipality_shown(
    rows: &[MunicipalityRateRow],
    indicator: Indicator,
    municipality: &str,
    arm: Arm,
    rule: folge_deid::SmallCellRule,
) -> bool {
    ["before", "after"].iter().all(|p| {
        rows.iter()
            .find(|r| {
                r.indicator == indicator.id()
                    && r.municipality == municipality
                    && r.arm == arm
                    && r.period == *p
            })
            .is_some_and(|r| !rule.hides_rate(r.value_total, r.n))
    })
}

/// Municipalities of an arm, in number order.
pub fn municipalities(input: &ReportInput<'_>, arm: Arm) -> Vec<String> {
    let set: BTreeSet<String> = input
        .tables
        .participants()
        .iter()
        .filter(|p| p.arm() == arm)
        .map(|p| p.municipality().to_owned())
        .collect();
    set.into_iter().collect()
}

/// The most indicators a forest plot holds: each grows a line per municipality, so four
/// fill about half an A4 page; more go on to further figures.
const FOREST_INDICATORS: usize = 4;

/// One indicator's lines of the forest plot, and what the caption needs to know of them.
struct ForestGroup<'a> {
    rows: Vec<ForestRow>,
    /// Rows drawn, for the caption's models.
    drawn: Vec<&'a ComparisonRow>,
    /// A line is hidden by the small-cell rule.
    suppressed: bool,
}

/// A forest line for `row`: its estimate and interval, ":" when hidden, else the reason
/// it has none.
fn forest_point(
    label: String,
    indicator: Indicator,
    row: Option<&ComparisonRow>,
    hidden: bool,
    lang: Language,
) -> ForestRow {
    let (estimate, ci, note) = match row {
        // Mortality is never drawn as a before/after ratio.
        Some(r) if indicator == Indicator::Mortality && r.effect_size_kind == AFTER_BEFORE => {
            (None, None, mortality_not_before_after(lang))
        }
        Some(_) if hidden => (None, None, ":".to_owned()),
        Some(r) if r.effect_size.is_some() => {
            let ci = r.ci_low.zip(r.ci_high);
            let note = if ci.is_none() { missing_reason(r, lang) } else { String::new() };
            (r.effect_size, ci, note)
        }
        Some(r) => (None, None, missing_reason(r, lang)),
        None => (None, None, not_computed(lang)),
    };
    ForestRow { label, heading: false, estimate, ci, n: row.map(|r| r.n), note }
}

/// The forest plot's lines for one indicator: the arm's change after/before overall and
/// in each of its municipalities (pilot, then comparison). One kind of estimate only; the
/// arms are compared in [`pilot_vs_comparison_forest`].
fn forest_group<'a>(
    input: &ReportInput<'a>,
    params: &ReportParams,
    indicator: Indicator,
    municipalities_of: &[(Arm, Vec<String>)],
) -> ForestGroup<'a> {
    let lang = params.language;
    let rule = params.rule;
    let find = |f: &dyn Fn(&ComparisonRow) -> bool| {
        input.comparisons.iter().find(|c| c.measure == indicator.id() && f(c))
    };
    let mut group = ForestGroup {
        rows: vec![ForestRow {
            label: indicator_label(indicator, lang).to_owned(),
            heading: true,
            estimate: None,
            ci: None,
            n: None,
            note: String::new(),
        }],
        drawn: Vec::new(),
        suppressed: false,
    };
    for (arm, municipalities) in municipalities_of {
        let arm = *arm;
        let row =
            find(&|c| c.scope == "arm" && c.arm == Some(arm) && c.effect_size_kind == AFTER_BEFORE);
        let hidden = !arm_rates_shown(input, indicator, arm, rule);
        group.suppressed |= hidden;
        let label = format!("{}, {}", arm_label(arm, lang), lang.pick("alle", "all"));
        let line = forest_point(label, indicator, row, hidden, lang);
        if line.estimate.is_some() {
            group.drawn.extend(row);
        }
        group.rows.push(line);
        for m in municipalities {
            let row = find(&|c| {
                c.scope == "municipality"
                    && c.scope_value.as_deref() == Some(m.as_str())
                    && c.arm == Some(arm)
                    && c.effect_size_kind == AFTER_BEFORE
            });
            let hidden = !municipality_shown(input.municipality_rates, indicator, m, arm, rule);
            group.suppressed |= hidden && row.is_some();
            let line =
                forest_point(format!("  {}", params.municipality(m)), indicator, row, hidden, lang);
            if line.estimate.is_some() {
                group.drawn.extend(row);
            }
            group.rows.push(line);
        }
    }
    group
}

/// Forest plots of one kind of estimate: the rate ratio after/before in each arm and each
/// of its municipalities, for every indicator of the pipeline in its order, four
/// indicators to a figure. Municipalities the analysis gave no estimate for are drawn
/// with the reason; deaths, which have no after/before ratio, say so on their lines.
pub fn municipalities_forest(input: &ReportInput<'_>, params: &ReportParams) -> Vec<FigureOut> {
    let lang = params.language;
    // Every municipality of each arm, so none is left out of the plot.
    let municipalities_of: Vec<(Arm, Vec<String>)> =
        [Arm::Pilot, Arm::Comparison].map(|arm| (arm, municipalities(input, arm))).to_vec();
    let groups: Vec<ForestGroup<'_>> = params
        .indicators
        .iter()
        .map(|&indicator| forest_group(input, params, indicator, &municipalities_of))
        .collect();
    if groups.iter().flat_map(|g| &g.rows).all(|r| r.heading || r.estimate.is_none()) {
        return Vec::new();
    }
    let chunk = even_chunk(groups.len(), FOREST_INDICATORS);
    let parts = groups.len().div_ceil(chunk);
    let unknown = || lang.pick("ingen modell ga estimat", "no model gave an estimate").to_owned();
    groups
        .chunks(chunk)
        .enumerate()
        .map(|(k, part)| {
            let rows: Vec<ForestRow> = part.iter().flat_map(|g| g.rows.clone()).collect();
            let drawn: Vec<&ComparisonRow> =
                part.iter().flat_map(|g| g.drawn.iter().copied()).collect();
            let canvas = forest(
                &rows,
                lang.pick(
                    "Rateratio etter/før (logaritmisk akse; 1 = ingen endring)",
                    "Rate ratio after/before (log axis; 1 = no change)",
                ),
                Some((
                    lang.pick("← mindre forbruk etter", "← less use after"),
                    lang.pick("mer forbruk etter →", "more use after →"),
                )),
                lang == Language::Nb,
            );
            let models = describe_models_briefly(drawn.iter().copied(), lang).unwrap_or_else(unknown);
            let part_words = part_text(k, parts, lang);
            let mut caption = match lang {
                Language::Nb => format!(
                    "Endring etter inklusjon per kommune og samlet{part_words}. Én slags estimat: rateratio etter/før i en gruppe, innen person ({models}), med 95 % konfidensintervall; boksens areal er etter presisjonen (1/SE²). Under 1: forbruket gikk ned. Pilot mot sammenligning står i en egen figur."
                ),
                Language::En => format!(
                    "Change after inclusion per municipality and overall{part_words}. One kind of estimate: the rate ratio after/before within an arm, within person ({models}), with 95% confidence intervals; each box's area follows its precision (1/SE²). Below 1: use fell. Pilot against comparison is in a figure of its own."
                ),
            };
            suppressed_note(lang, part.iter().any(|g| g.suppressed), &mut caption);
            FigureOut { id: part_id("figure_municipalities", k), caption, canvas }
        })
        .collect()
}

/// Which way an indicator is better, as `shared/domain.md` gives it: fewer (↓), more
/// (↑, outpatient visits: a goal in Stavanger), or neither (context).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Better {
    Fewer,
    More,
    Context,
}

pub(crate) fn better(indicator: Indicator) -> Better {
    match indicator {
        Indicator::Admissions
        | Indicator::AcuteAdmissions
        | Indicator::BedDays
        | Indicator::Readmissions30d
        | Indicator::EmergencyVisits
        | Indicator::Mortality => Better::Fewer,
        Indicator::OutpatientVisits => Better::More,
        Indicator::DayTreatments
        | Indicator::GpContacts
        | Indicator::HomeCareHours
        | Indicator::ShortStayDays
        | Indicator::KadStays
        | Indicator::HospitalContacts
        | Indicator::MunicipalContacts => Better::Context,
    }
}

/// The forest plot of pilot against comparison, one kind of estimate: the ratio of the
/// arms' within-person rate ratios after/before, one line per indicator of the pipeline,
/// "favours pilot" left of 1 and "favours comparison" right of it — for an indicator where
/// fewer is better; the label of one where more is better, or that is context, says so.
/// Deaths, compared after inclusion only, say where they are.
pub fn pilot_vs_comparison_forest(
    input: &ReportInput<'_>,
    params: &ReportParams,
) -> Option<FigureOut> {
    use crate::estimates::overall;
    let lang = params.language;
    let rule = params.rule;
    let mut rows = Vec::new();
    let mut drawn: Vec<&ComparisonRow> = Vec::new();
    let mut suppressed = false;
    for &indicator in &params.indicators {
        let mut label = indicator_label(indicator, lang).to_owned();
        match better(indicator) {
            Better::Fewer => {}
            Better::More => label.push_str(lang.pick(" (mer er målet)", " (more is the goal)")),
            Better::Context => label.push_str(lang.pick(" (kontekst)", " (context)")),
        }
        if indicator == Indicator::Mortality {
            rows.push(ForestRow {
                label,
                heading: false,
                estimate: None,
                ci: None,
                n: None,
                note: lang
                    .pick(
                        "sammenlignes etter inklusjon: se effekttabellen og overlevelseskurven",
                        "compared after inclusion: see the effect table and the survival curve",
                    )
                    .to_owned(),
            });
            continue;
        }
        let row = overall(input.comparisons, indicator, RATIO_OF_RATIOS);
        let hidden = [Arm::Pilot, Arm::Comparison]
            .iter()
            .any(|&arm| !arm_rates_shown(input, indicator, arm, rule));
        suppressed |= hidden && row.is_some();
        let line = forest_point(label, indicator, row, hidden, lang);
        if line.estimate.is_some() {
            drawn.extend(row);
        }
        rows.push(line);
    }
    if rows.iter().all(|r| r.estimate.is_none()) {
        return None;
    }
    let canvas = forest(
        &rows,
        lang.pick(
            "Forholdet mellom rateratioene, pilot / sammenligning (logaritmisk akse; 1 = lik endring)",
            "Ratio of the rate ratios, pilot / comparison (log axis; 1 = the same change)",
        ),
        Some((
            lang.pick("← til fordel for pilotene", "← favours pilot"),
            lang.pick("til fordel for sammenligningen →", "favours comparison →"),
        )),
        lang == Language::Nb,
    );
    let models = describe_models_briefly(drawn.iter().copied(), lang).unwrap_or_else(|| {
        lang.pick("ingen modell ga estimat", "no model gave an estimate").to_owned()
    });
    let mut caption = match lang {
        Language::Nb => format!(
            "Pilot mot sammenligning per indikator. Én slags estimat: forholdet mellom pilotenes og sammenligningens rateratio etter/før ({models}), med 95 % konfidensintervall; boksens areal er etter presisjonen (1/SE²). Under 1: forbruket gikk mer ned (eller mindre opp) i pilotene — til fordel for pilotene der mindre forbruk er målet. For indikatorer merket «mer er målet» er sidene byttet, og de merket «kontekst» er verken for eller mot. Dødsfall har ikke noe forhold etter/før og sammenlignes mellom gruppene etter inklusjon (effekttabellen og overlevelseskurven)."
        ),
        Language::En => format!(
            "Pilot against comparison per indicator. One kind of estimate: the ratio of the pilots' and the comparison's rate ratios after/before ({models}), with 95% confidence intervals; each box's area follows its precision (1/SE²). Below 1: use fell more (or rose less) in the pilots — in the pilots' favour where less use is the goal. For indicators marked “more is the goal” the sides swap, and those marked “context” favour neither. Deaths have no after/before ratio and are compared between the arms after inclusion (the effect table and the survival curve)."
        ),
    };
    suppressed_note(lang, suppressed, &mut caption);
    Some(FigureOut { id: "figure_pilot_vs_comparison".into(), caption, canvas })
}

/// The percent step of a Lorenz curve that keeps at least `threshold` persons in every
/// step, so no point shows one person's use.
fn lorenz_step(persons: i64, threshold: u32) -> Option<u32> {
    [1u32, 2, 5, 10, 20, 25, 50]
        .into_iter()
        .find(|step| i64::from(*step) * persons >= 100 * i64::from(threshold))
}

/// The most indicators one figure of Lorenz panels holds: two rows of three.
const LORENZ_PANELS: usize = 6;

/// Lorenz curves of use before inclusion by arm: a panel for every indicator the analysis
/// measured the concentration of, in the pipeline's order, six to a figure, the pilot's
/// and the comparison's curve in each with their Gini coefficients (and the top 5 %'s
/// share) under the title. An arm too small for steps of at least the small-cell
/// threshold, or an indicator nobody used, is named in the caption with the reason.
/// Without per-arm rows (an analysis from before they were written) both arms are one
/// curve.
pub fn concentration(input: &ReportInput<'_>, params: &ReportParams) -> Vec<FigureOut> {
    let lang = params.language;
    let nb = lang == Language::Nb;
    let by_arm = input.utilisation.iter().any(|u| u.arm.is_some());
    let groups: Vec<Option<Arm>> =
        if by_arm { vec![Some(Arm::Pilot), Some(Arm::Comparison)] } else { vec![None] };
    let series: Vec<&str> = groups
        .iter()
        .map(|g| g.map_or(lang.pick("Alle", "All"), |arm| arm_label(arm, lang)))
        .collect();
    let mut panels: Vec<crate::figure::LorenzPanel> = Vec::new();
    let mut not_drawn: Vec<String> = Vec::new();
    for &indicator in &params.indicators {
        let label = indicator_label(indicator, lang);
        let of = |arm: Option<Arm>, top: f64| {
            input.utilisation.iter().find(|u| {
                u.indicator == indicator.id()
                    && u.period == "before"
                    && u.arm == arm
                    && (u.top_share - top).abs() < 1e-9
            })
        };
        if of(None, 0.05).is_none() && groups.iter().all(|&g| of(g, 0.05).is_none()) {
            continue;
        }
        let mut curves = Vec::new();
        let mut ginis = Vec::new();
        for (k, &group) in groups.iter().enumerate() {
            let Some(shares) = of(group, 0.05) else { continue };
            let name = series[k];
            let Some(step) = lorenz_step(shares.n_persons, params.rule.threshold) else {
                not_drawn.push(format!(
                    "{} {} ({})",
                    label.to_lowercase(),
                    name.to_lowercase(),
                    lang.pick("for få personer", "too few persons")
                ));
                continue;
            };
            let points: Vec<(f64, f64)> = input
                .lorenz
                .iter()
                .filter(|l| l.indicator == indicator.id() && l.period == "before" && l.arm == group)
                .filter(|l| ((l.persons_share * 100.0).round() as u32).is_multiple_of(step))
                .map(|l| (l.persons_share, l.use_share))
                .collect();
            if points.len() < 2 {
                not_drawn.push(format!(
                    "{} {} ({})",
                    label.to_lowercase(),
                    name.to_lowercase(),
                    lang.pick("ingen brukte tjenesten", "nobody used the service")
                ));
                continue;
            }
            let mut gini = format!(
                "{name}: Gini {}",
                shares.gini.map_or_else(|| "–".to_owned(), |g| crate::figure::number(g, 2, nb))
            );
            if let Some(share) = shares.share_of_use {
                let _ =
                    write!(gini, ", topp 5 % {} %", crate::figure::number(share * 100.0, 0, nb));
            }
            ginis.push(if nb { gini } else { gini.replace("topp", "top") });
            curves.push((k, Curve { points }));
        }
        if !curves.is_empty() {
            panels.push(crate::figure::LorenzPanel {
                title: label.to_owned(),
                subtitle: ginis,
                curves,
            });
        }
    }
    if panels.is_empty() {
        return Vec::new();
    }
    let n_of = |arm: Option<Arm>| {
        input.utilisation.iter().filter(|u| u.arm == arm).map(|u| u.n_persons).max().unwrap_or(0)
    };
    let persons: Vec<String> = groups
        .iter()
        .zip(&series)
        .map(|(&g, name)| format!("{} n = {}", name.to_lowercase(), n_of(g)))
        .collect();
    let chunk = even_chunk(panels.len(), LORENZ_PANELS);
    let parts = panels.len().div_ceil(chunk);
    panels
        .chunks(chunk)
        .enumerate()
        .map(|(k, part)| {
            let canvas = crate::figure::lorenz_panels(
                part,
                &series,
                (
                    lang.pick(
                        "Andel personer (minst forbruk først)",
                        "Share of persons (lightest users first)",
                    ),
                    lang.pick("Andel av forbruket", "Share of use"),
                ),
                nb,
            );
            let part_words = part_text(k, parts, lang);
            let mut caption = match lang {
                Language::Nb => format!(
                    "Fordeling av forbruket året før inklusjon, per gruppe{part_words} (Lorenz-kurver: andel av forbruket hos den andelen personer som bruker minst; {}; punkter med minst {} personer per trinn). Stiplet: lik fordeling. Hver gruppes Gini-koeffisient under tittelen (0 = alle bruker like mye, 1 = én person bruker alt) og andelen de 5 % med mest forbruk stod for.",
                    persons.join(", "),
                    params.rule.threshold,
                ),
                Language::En => format!(
                    "Distribution of use in the year before inclusion, by arm{part_words} (Lorenz curves: the share of use held by the lightest users; {}; points with at least {} persons per step). Dashed: equal use. Each arm's Gini coefficient under the title (0 = everyone uses the same, 1 = one person uses all) and the share the top 5 % of users accounted for.",
                    persons.join(", "),
                    params.rule.threshold,
                ),
            };
            if k == 0 && !not_drawn.is_empty() {
                let _ = match lang {
                    Language::Nb => write!(caption, " Ikke vist: {}.", not_drawn.join(", ")),
                    Language::En => write!(caption, " Not shown: {}.", not_drawn.join(", ")),
                };
            }
            FigureOut { id: part_id("figure_concentration", k), caption, canvas }
        })
        .collect()
}

/// Each person's (arm, pid) scores by timepoint, of one scale.
type PersonScores<'a> = BTreeMap<(Arm, folge_schema::Pseudonym), BTreeMap<&'a str, f64>>;

/// Scores per (arm, timepoint) of one scale.
type ScoresByArm = BTreeMap<(Arm, String), Vec<f64>>;

/// The most scale panels a figure holds (two rows of three).
const SCALE_PANELS: usize = 6;

/// Paired scale means: per arm, the persons with a score at every timepoint (T0 and T1),
/// their mean at each with a t-based 95 % CI; an arm with fewer such persons than the
/// small-cell threshold is not drawn. Every scale, six panels to a figure; a scale nobody
/// has a score for at every timepoint is named in the caption.
pub fn scale_means(input: &ReportInput<'_>, params: &ReportParams) -> Vec<FigureOut> {
    let lang = params.language;
    let timepoints: Vec<String> = input
        .scale_scores
        .iter()
        .map(|s| s.timepoint.clone())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    if timepoints.len() < 2 {
        return Vec::new();
    }
    // Paired: each person's score at every timepoint, or the person is left out.
    let mut by_person: BTreeMap<(String, String), PersonScores<'_>> = BTreeMap::new();
    for s in input.scale_scores {
        if let Some(score) = s.score {
            by_person
                .entry((s.instrument.clone(), s.scale.clone()))
                .or_default()
                .entry((s.arm, s.pid))
                .or_default()
                .insert(s.timepoint.as_str(), score);
        }
    }
    let mut by_scale: BTreeMap<(String, String), ScoresByArm> = BTreeMap::new();
    for (scale, persons) in &by_person {
        for ((arm, _), scores) in persons {
            if scores.len() == timepoints.len() {
                let groups = by_scale.entry(scale.clone()).or_default();
                for (t, v) in scores {
                    groups.entry((*arm, (*t).to_owned())).or_default().push(*v);
                }
            }
        }
    }
    // Each instrument's total first, then its subscales.
    let mut scales: Vec<_> = by_scale.iter().collect();
    scales.sort_by_key(|((instrument, scale), _)| {
        (instrument.clone(), scale != instrument, scale.clone())
    });
    // Each scale's panel, the most persons per arm in it, and whether a point is hidden.
    let drawn: Vec<((MeansPanel, MeansAxis), [usize; 2], bool)> = scales
        .into_iter()
        .map(|((instrument, scale), groups)| {
            let mut counts = [0usize; 2];
            let mut suppressed = false;
            let series: Vec<(String, Vec<MeanPoint>)> = [Arm::Pilot, Arm::Comparison]
                .into_iter()
                .enumerate()
                .map(|(a, arm)| {
                    let points = timepoints
                        .iter()
                        .map(|t| {
                            let values = groups.get(&(arm, t.clone())).cloned().unwrap_or_default();
                            counts[a] = counts[a].max(values.len());
                            if values.len() < params.rule.threshold as usize {
                                suppressed |= !values.is_empty();
                                return MeanPoint::default();
                            }
                            let xs: Vec<Option<f64>> = values.iter().copied().map(Some).collect();
                            let Ok(d) = folge_stats::describe(&xs) else {
                                return MeanPoint::default();
                            };
                            // mean ± t(0.975, n − 1) · sd / √n, as t.test(x)$conf.int.
                            let ci = d.sd.map(|sd| {
                                let half = folge_stats::dist::qt(0.975, (d.n - 1) as f64) * sd
                                    / (d.n as f64).sqrt();
                                (d.mean - half, d.mean + half)
                            });
                            MeanPoint { mean: Some(d.mean), ci }
                        })
                        .collect();
                    (arm_label(arm, lang).to_owned(), points)
                })
                .collect();
            let title = scale_title(instrument, scale, lang);
            // The axis over the answers' range when the codebook gives it and every mean
            // and interval lies in it (a sum score does not); else from 0.
            let range = answer_range(params, instrument).filter(|&(low, high)| {
                series.iter().flat_map(|(_, p)| p).all(|p| {
                    p.mean
                        .into_iter()
                        .chain(p.ci.into_iter().flat_map(|c| [c.0, c.1]))
                        .all(|v| (low - 1e-9..=high + 1e-9).contains(&v))
                })
            });
            (((title, series), range), counts, suppressed)
        })
        .collect();
    if drawn.is_empty() {
        return Vec::new();
    }
    let unpaired: Vec<String> = input
        .scale_scores
        .iter()
        .map(|s| (s.instrument.clone(), s.scale.clone()))
        .collect::<BTreeSet<_>>()
        .into_iter()
        .filter(|key| !by_scale.contains_key(key))
        .map(|(instrument, scale)| scale_title(&instrument, &scale, lang))
        .collect();
    let chunk = even_chunk(drawn.len(), SCALE_PANELS);
    let parts = drawn.len().div_ceil(chunk);
    drawn
        .chunks(chunk)
        .enumerate()
        .map(|(k, part)| {
            let panels: Vec<(MeansPanel, MeansAxis)> =
                part.iter().map(|(p, ..)| p.clone()).collect();
            let canvas = means_panels(
                &panels,
                &timepoints,
                lang.pick("gjennomsnitt", "mean"),
                lang == Language::Nb,
            );
            let n = |a: usize| {
                let n = part.iter().map(|(_, c, _)| c[a]).max().unwrap_or(0);
                if params.rule.hides_count(n as f64) { ":".to_owned() } else { n.to_string() }
            };
            let part_words = part_text(k, parts, lang);
            let mut caption = match lang {
                Language::Nb => format!(
                    "Skalaskårer ved {}{part_words}: gjennomsnitt med 95 % konfidensintervall (t-fordeling) blant dem som svarte ved alle tidspunktene (pilot n = {}, sammenligning n = {}; flest per skala).",
                    timepoints.join(" og "),
                    n(0),
                    n(1)
                ),
                Language::En => format!(
                    "Scale scores at {}{part_words}: mean with 95% confidence interval (t distribution) among those who answered at every timepoint (pilot n = {}, comparison n = {}; most per scale).",
                    timepoints.join(" and "),
                    n(0),
                    n(1)
                ),
            };
            let ranges: Vec<String> = part
                .iter()
                .filter(|(((_, _), range), ..)| range.is_some())
                .filter_map(|(((title, _), _), ..)| {
                    let instrument = title.split([' ', ':']).next()?.to_lowercase();
                    range_words(params, &instrument, lang == Language::Nb)
                        .map(|w| format!("{} ({w})", instrument.to_uppercase()))
                })
                .collect::<BTreeSet<_>>()
                .into_iter()
                .collect();
            if !ranges.is_empty() {
                let _ = match lang {
                    Language::Nb => write!(
                        caption,
                        " Aksen går over skalaens svarområde: {}.",
                        ranges.join("; ")
                    ),
                    Language::En => write!(
                        caption,
                        " The axis spans the scale's answers: {}.",
                        ranges.join("; ")
                    ),
                };
            }
            if k == 0 && !unpaired.is_empty() {
                let _ = match lang {
                    Language::Nb => write!(
                        caption,
                        " Ikke vist (ingen med skår ved alle tidspunktene): {}.",
                        unpaired.join(", ")
                    ),
                    Language::En => write!(
                        caption,
                        " Not shown (nobody with a score at every timepoint): {}.",
                        unpaired.join(", ")
                    ),
                };
            }
            suppressed_note(lang, part.iter().any(|(.., s)| *s), &mut caption);
            FigureOut { id: part_id("figure_scales", k), caption, canvas }
        })
        .collect()
}

/// A scale as the report names it: "PACIC (total)", "PACIC: delivery system".
pub(crate) fn scale_title(instrument: &str, scale: &str, lang: Language) -> String {
    if instrument == scale {
        format!("{} ({})", instrument.to_uppercase(), lang.pick("total", "total"))
    } else {
        format!("{}: {}", instrument.to_uppercase(), scale.replace('_', " "))
    }
}

/// The answer range of an instrument's items from its codebook, when every item has one.
fn answer_range(params: &ReportParams, instrument: &str) -> Option<(f64, f64)> {
    let items = &params.instrument(instrument)?.items;
    let low = items.iter().map(|i| i.min).collect::<Option<Vec<f64>>>()?;
    let high = items.iter().map(|i| i.max).collect::<Option<Vec<f64>>>()?;
    let low = low.into_iter().reduce(f64::min)?;
    let high = high.into_iter().reduce(f64::max)?;
    (high > low).then_some((low, high))
}

/// The answers' labels at the ends of an instrument's range, from its codebook: "1 =
/// Nesten aldri, 5 = Nesten alltid".
fn range_words(params: &ReportParams, instrument: &str, nb: bool) -> Option<String> {
    let (low, high) = answer_range(params, instrument)?;
    let labels = &params.instrument(instrument)?.items.first()?.labels;
    let at = |v: f64| labels.iter().find(|(code, _)| (code - v).abs() < 1e-9).map(|(_, l)| l);
    Some(format!(
        "{} = {}, {} = {}",
        crate::figure::number(low, 0, nb),
        at(low)?,
        crate::figure::number(high, 0, nb),
        at(high)?
    ))
}

/// Focus groups: distinct groups mentioning each code, by theme.
pub fn code_bars(input: &ReportInput<'_>, params: &ReportParams) -> Option<FigureOut> {
    let lang = params.language;
    let mut by_theme: BTreeMap<String, Vec<(String, i64)>> = BTreeMap::new();
    let mut groups_total = 0;
    for f in input.code_frequencies.iter().filter(|f| f.scope == "all") {
        groups_total = groups_total.max(f.n_groups_in_scope);
        by_theme
            .entry(f.theme.clone().unwrap_or_default())
            .or_default()
            .push((f.code.clone(), f.n_segments));
    }
    if by_theme.is_empty() {
        return None;
    }
    let mut bars = Vec::new();
    for (theme, codes) in by_theme {
        if !theme.is_empty() {
            bars.push(HBar { label: theme, heading: true, value: None });
        }
        bars.extend(codes.into_iter().map(|(code, n)| HBar {
            label: code,
            heading: false,
            value: Some(n as f64),
        }));
    }
    let canvas = hbars(&bars, lang.pick("Segmenter kodet", "Segments coded"), lang == Language::Nb);
    let caption = match lang {
        Language::Nb => format!(
            "Fokusgrupper: antall segmenter med hver kode, etter tema ({groups_total} grupper)."
        ),
        Language::En => {
            format!("Focus groups: segments with each code, by theme ({groups_total} groups).")
        }
    };
    Some(FigureOut { id: "figure_codes".into(), caption, canvas })
}

/// Focus groups: segments per code × municipality.
pub fn code_heatmap(input: &ReportInput<'_>, params: &ReportParams) -> Option<FigureOut> {
    let lang = params.language;
    let rows: Vec<&folge_schema::tables::CodeFrequencyRow> =
        input.code_frequencies.iter().filter(|f| f.scope == "municipality").collect();
    let codes: Vec<String> =
        rows.iter().map(|r| r.code.clone()).collect::<BTreeSet<_>>().into_iter().collect();
    let places: Vec<String> = rows
        .iter()
        .filter_map(|r| r.scope_value.clone())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    if codes.is_empty() || places.len() < 2 {
        return None;
    }
    let values: Vec<Vec<Option<f64>>> = codes
        .iter()
        .map(|code| {
            places
                .iter()
                .map(|place| {
                    rows.iter()
                        .find(|r| &r.code == code && r.scope_value.as_ref() == Some(place))
                        .map(|r| r.n_segments as f64)
                })
                .collect()
        })
        .collect();
    let names: Vec<String> = places.iter().map(|m| params.municipality(m)).collect();
    let canvas = heatmap(
        &codes,
        &names,
        &values,
        lang.pick("Segmenter med koden", "Segments with the code"),
        lang == Language::Nb,
    );
    Some(FigureOut {
        id: "figure_codes_by_municipality".into(),
        caption: lang
            .pick(
                "Fokusgrupper: segmenter per kode og kommune; mørkere celle, flere segmenter (fargeskala under).",
                "Focus groups: segments per code and municipality; the darker the cell, the more segments (colour scale below).",
            )
            .to_owned(),
        canvas,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panel_with_most_bars_hidden_is_hidden_whole() {
        let bar = |v: Option<f64>| Bar { value: v, ci: None };
        let mut two_hidden = vec![
            ("pilot".to_owned(), [bar(Some(1.0)), bar(None)]),
            ("comparison".to_owned(), [bar(Some(2.0)), bar(None)]),
        ];
        hide_mostly_suppressed(&mut two_hidden, folge_deid::SmallCellRule::default());
        assert_eq!(two_hidden[0].1[0].value, Some(1.0), "half hidden: the rest stays");
        let mut three_hidden = vec![
            ("pilot".to_owned(), [bar(Some(1.0)), bar(None)]),
            ("comparison".to_owned(), [bar(None), bar(None)]),
        ];
        hide_mostly_suppressed(&mut three_hidden, folge_deid::SmallCellRule::default());
        assert!(three_hidden.iter().flat_map(|(_, b)| b).all(|b| b.value.is_none()));
    }

    #[test]
    fn lorenz_steps_hold_enough_persons() {
        assert_eq!(lorenz_step(1000, 5), Some(1));
        assert_eq!(lorenz_step(300, 5), Some(2), "2 % of 300 = 6 persons");
        assert_eq!(lorenz_step(60, 5), Some(10));
        assert_eq!(lorenz_step(8, 5), None, "8 persons: not even halves hold 5");
    }
}

#[cfg(test)]
mod estimate_tests {
    use super::*;
    use crate::canvas::{INK, Shape};
    use crate::test_rows::{Results, params};

    fn texts(c: &Canvas) -> Vec<&str> {
        c.shapes
            .iter()
            .filter_map(|s| match s {
                Shape::Text { text, .. } => Some(text.as_str()),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn the_forests_hold_one_kind_of_estimate_each_and_say_why_one_is_missing() {
        let indicators = [
            Indicator::Mortality,
            Indicator::BedDays,
            Indicator::Admissions,
            Indicator::GpContacts,
        ];
        let results = Results::new(&indicators);
        let params = params(&indicators, Language::Nb);
        let figures = municipalities_forest(&results.input(), &params);
        let figure = &figures[0];
        let texts = texts(&figure.canvas);
        assert!(texts.contains(&"sammenlignes ikke før/etter (alle lever ved inklusjon)"));
        assert!(!texts.contains(&"Pilot / sammenligning"), "between the arms: its own figure");
        assert!(texts.contains(&"Rateratio etter/før (logaritmisk akse; 1 = ingen endring)"));
        assert!(texts.contains(&"← mindre forbruk etter"));
        let caption = &figure.caption;
        assert!(caption.contains("Én slags estimat: rateratio etter/før"), "{caption}");
        assert!(caption.contains("CR1"), "{caption}");
        assert!(!caption.contains("poisson.test"), "{caption}");
        let between = pilot_vs_comparison_forest(&results.input(), &params).unwrap();
        let texts = self::texts(&between.canvas);
        assert!(texts.contains(&"← til fordel for pilotene"));
        assert!(texts.contains(&"til fordel for sammenligningen →"));
        assert!(texts.contains(&"Fastlegekontakter (kontekst)"), "{texts:?}");
        assert!(texts.contains(&"0,58 (0,49–0,68)"), "the row's own interval: {texts:?}");
        assert!(texts.contains(&"for få personer i en gruppe (færre enn 5)"), "{texts:?}");
        assert!(
            texts
                .contains(&"sammenlignes etter inklusjon: se effekttabellen og overlevelseskurven")
        );
        assert!(
            between.caption.contains("Én slags estimat: forholdet mellom"),
            "{}",
            between.caption
        );
    }

    #[test]
    fn lorenz_curves_by_arm_with_each_arms_gini() {
        let indicators = [Indicator::BedDays, Indicator::Mortality, Indicator::GpContacts];
        let mut results = Results::new(&indicators);
        let params = params(&indicators, Language::Nb);
        let figure = concentration(&results.input(), &params).remove(0);
        let paths =
            |c: &Canvas| c.shapes.iter().filter(|s| matches!(s, Shape::Path { .. })).count();
        assert_eq!(paths(&figure.canvas), 2 * 2, "two indicators (not deaths), two arms each");
        let texts = texts(&figure.canvas);
        assert!(
            texts.contains(&"Pilot: Gini 0,38, topp 5 % 30 %")
                && texts.contains(&"Sammenligning: Gini 0,45, topp 5 % 30 %"),
            "{texts:?}"
        );
        assert!(
            figure.caption.contains("pilot n = 40, sammenligning n = 30"),
            "{}",
            figure.caption
        );
        // An arm too small for steps of 5 persons is named, not drawn.
        for u in results.utilisation.iter_mut().filter(|u| u.arm == Some(Arm::Comparison)) {
            u.n_persons = 4;
        }
        let figure = concentration(&results.input(), &params).remove(0);
        assert_eq!(paths(&figure.canvas), 2);
        assert!(
            figure.caption.contains("Ikke vist: liggedøgn sammenligning (for få personer)"),
            "{}",
            figure.caption
        );
    }

    #[test]
    fn rate_bars_carry_the_analysis_intervals_hours_too() {
        let indicators = [Indicator::HomeCareHours];
        let mut results = Results::new(&indicators);
        let params = params(&indicators, Language::En);
        let caps = |c: &Canvas| {
            c.shapes
                .iter()
                .filter(|s| {
                    matches!(s, Shape::Line { x1, x2, y1, y2, colour, .. }
                    if *colour == INK && (x2 - x1 - 6.0).abs() < 1e-9 && (y1 - y2).abs() < 1e-9)
                })
                .count()
        };
        let figure = rates(&results.input(), &params).remove(0);
        assert_eq!(caps(&figure.canvas), 4 * 2, "four bars, two caps each");
        assert!(
            figure.caption.contains("standard errors from the jackknife over persons, CV3"),
            "the default: {}",
            figure.caption
        );
        let cr1 = ReportParams {
            cluster_variance: folge_analyze::ClusterVariance::Cr1,
            ..params.clone()
        };
        assert!(
            rates(&results.input(), &cr1)[0]
                .caption
                .contains("cluster-robust standard errors by person, CR1")
        );
        assert!(!figure.caption.contains("without a whisker"));
        for r in &mut results.rates {
            (r.ci_low, r.ci_high) = (None, None);
        }
        results.rates[0].ci_low = Some(1.0);
        results.rates[0].ci_high = Some(2.0);
        let figure = rates(&results.input(), &params).remove(0);
        assert_eq!(caps(&figure.canvas), 2, "one bar with an interval");
        assert!(figure.caption.contains("Bars without a whisker: the analysis gave no interval."));
        results.rates[0].ci_low = None;
        let figure = rates(&results.input(), &params).remove(0);
        assert_eq!(caps(&figure.canvas), 0);
        assert!(
            figure.caption.contains("inclusion (the analysis gave no confidence intervals), pilot"),
            "{}",
            figure.caption
        );
    }
}

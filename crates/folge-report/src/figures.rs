//! The report's figures from its inputs: what each shows, and what the small-cell rule
//! keeps out of it (a hidden value is not drawn; the caller's caption says so).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use folge_analyze::Indicator;
use folge_schema::Arm;
use folge_schema::tables::{ComparisonRow, MunicipalityRateRow};

use crate::canvas::Canvas;
use crate::estimates::{
    AFTER_BEFORE, BETWEEN_ARMS_AFTER, RATIO_OF_RATIOS, describe_models_briefly, missing_reason,
    mortality_not_before_after, not_computed,
};
use crate::figure::{
    Bar, Curve, ForestRow, HBar, MeanPoint, MeansPanel, Panel, StackedBar, bar_panels, forest,
    hbars, heatmap, lorenz, means_panels, stacked_bars,
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

fn suppressed_note(lang: Language, any: bool, caption: &mut String) {
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

/// The most indicators the rates figure draws (two rows of three panels); the table
/// under it holds them all, and the caption says so when some are left out.
const RATE_PANELS: usize = 6;

/// Rates per person-year before and after inclusion with the analysis's 95 % intervals
/// (person-level Poisson GLM, CR1 by person — for hours and days too), pilot and
/// comparison, the first six indicators.
pub fn rates(input: &ReportInput<'_>, params: &ReportParams) -> FigureOut {
    let lang = params.language;
    let mut any_suppressed = false;
    let mut any_without_interval = false;
    let panels: Vec<Panel> = params
        .indicators
        .iter()
        .take(RATE_PANELS)
        .map(|&indicator| {
            let mut groups = [Arm::Pilot, Arm::Comparison]
                .map(|arm| {
                    let bars = ["before", "after"].map(|period| {
                        let row = rate(input.rates, indicator, arm, period);
                        let hidden =
                            row.is_some_and(|r| params.rule.hides_rate(r.value_total, r.n));
                        any_suppressed |= hidden && row.is_some_and(|r| r.rate_per_py.is_some());
                        match row {
                            Some(r) if !hidden => {
                                let ci = r.ci_low.zip(r.ci_high);
                                any_without_interval |=
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
            Panel { title: indicator_label(indicator, lang).to_owned(), groups }
        })
        .collect();
    let canvas = bar_panels(
        &panels,
        [
            lang.pick("Før inklusjon", "Before inclusion"),
            lang.pick("Etter inklusjon", "After inclusion"),
        ],
        lang.pick("per personår", "per person-year"),
        lang == Language::Nb,
    );
    let n = |arm| input.tables.participants().iter().filter(|p| p.arm == arm).count();
    let any_interval =
        panels.iter().flat_map(|p| &p.groups).flat_map(|(_, bars)| bars).any(|b| b.ci.is_some());
    let words = crate::estimates::rate_variance_words(params.cluster_variance, lang, false);
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
    let mut caption = match lang {
        Language::Nb => format!(
            "Forbruk per personår før og etter inklusjon{intervals}, pilot (n = {}) og sammenligning (n = {}).",
            n(Arm::Pilot),
            n(Arm::Comparison)
        ),
        Language::En => format!(
            "Use per person-year before and after inclusion{intervals}, pilot (n = {}) and comparison (n = {}).",
            n(Arm::Pilot),
            n(Arm::Comparison)
        ),
    };
    if any_without_interval && any_interval {
        caption.push(' ');
        caption.push_str(lang.pick(
            "Søyler uten strek: analysen oppga ikke noe intervall.",
            "Bars without a whisker: the analysis gave no interval.",
        ));
    }
    if params.indicators.len() > RATE_PANELS {
        let _ = match lang {
            Language::Nb => write!(
                caption,
                " De {RATE_PANELS} første av {} indikatorer; tabellen under har alle.",
                params.indicators.len()
            ),
            Language::En => write!(
                caption,
                " The first {RATE_PANELS} of {} indicators; the table below has them all.",
                params.indicators.len()
            ),
        };
    }
    suppressed_note(lang, any_suppressed, &mut caption);
    FigureOut { id: "figure_rates".into(), caption, canvas }
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
        .filter(|p| p.arm == arm)
        .map(|p| p.municipality.clone())
        .collect();
    set.into_iter().collect()
}

/// The most indicators the forest plot draws (it grows a line per pilot municipality).
const FOREST_INDICATORS: usize = 4;

/// Forest plot: the rate ratio after/before in each pilot municipality and in each arm,
/// and the ratio of the ratios (pilot against comparison), per indicator.
pub fn municipalities_forest(input: &ReportInput<'_>, params: &ReportParams) -> Option<FigureOut> {
    let lang = params.language;
    let rule = params.rule;
    let pilots = municipalities(input, Arm::Pilot);
    let find = |indicator: Indicator, f: &dyn Fn(&ComparisonRow) -> bool| {
        input.comparisons.iter().find(|c| c.measure == indicator.id() && f(c))
    };
    let mut rows = Vec::new();
    let mut any_suppressed = false;
    let mut mortality_shown = false;
    // The rows whose estimates are drawn, for the caption's models.
    let mut within: Vec<&ComparisonRow> = Vec::new();
    let mut between: Vec<&ComparisonRow> = Vec::new();
    for &indicator in params.indicators.iter().take(FOREST_INDICATORS) {
        let arm_hidden = |arm: Arm| !arm_rates_shown(input, indicator, arm, rule);
        let point = |label: String, row: Option<&ComparisonRow>, hidden: bool| {
            let (estimate, ci, note) = match row {
                // Mortality is never drawn as a before/after ratio.
                Some(r)
                    if indicator == Indicator::Mortality && r.effect_size_kind == AFTER_BEFORE =>
                {
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
        };
        rows.push(ForestRow {
            label: indicator_label(indicator, lang).to_owned(),
            heading: true,
            estimate: None,
            ci: None,
            n: None,
            note: String::new(),
        });
        for arm in [Arm::Pilot, Arm::Comparison] {
            let row = find(indicator, &|c| {
                c.scope == "arm" && c.arm == Some(arm) && c.effect_size_kind == AFTER_BEFORE
            });
            let hidden = arm_hidden(arm);
            any_suppressed |= hidden;
            let drawn = point(
                format!("{}, {}", arm_label(arm, lang), lang.pick("alle", "all")),
                row,
                hidden,
            );
            if drawn.estimate.is_some() {
                within.extend(row);
            }
            rows.push(drawn);
            if arm == Arm::Pilot {
                for m in &pilots {
                    let row = find(indicator, &|c| {
                        c.scope == "municipality"
                            && c.scope_value.as_deref() == Some(m.as_str())
                            && c.arm == Some(Arm::Pilot)
                            && c.effect_size_kind == AFTER_BEFORE
                    });
                    let hidden = !municipality_shown(
                        input.municipality_rates,
                        indicator,
                        m,
                        Arm::Pilot,
                        rule,
                    );
                    any_suppressed |= hidden && row.is_some();
                    let drawn = point(format!("  {m}"), row, hidden);
                    if drawn.estimate.is_some() {
                        within.extend(row);
                    }
                    rows.push(drawn);
                }
            }
        }
        if indicator == Indicator::Mortality {
            // Deaths: the arms compared after inclusion, not the change.
            let row =
                find(indicator, &|c| c.scope == "all" && c.effect_size_kind == BETWEEN_ARMS_AFTER);
            let hidden = [Arm::Pilot, Arm::Comparison].iter().any(|&arm| {
                rate(input.rates, indicator, arm, "after")
                    .is_some_and(|r| rule.hides_rate(r.value_total, r.n))
            });
            let drawn = point(
                lang.pick(
                    "Pilot / sammenligning etter inklusjon",
                    "Pilot / comparison after inclusion",
                )
                .to_owned(),
                row,
                hidden,
            );
            mortality_shown = true;
            if drawn.estimate.is_some() {
                between.extend(row);
            }
            rows.push(drawn);
            continue;
        }
        let did = find(indicator, &|c| c.scope == "all" && c.effect_size_kind == RATIO_OF_RATIOS);
        let hidden = arm_hidden(Arm::Pilot) || arm_hidden(Arm::Comparison);
        let drawn =
            point(lang.pick("Pilot / sammenligning", "Pilot / comparison").to_owned(), did, hidden);
        if drawn.estimate.is_some() {
            between.extend(did);
        }
        rows.push(drawn);
    }
    if rows.iter().all(|r| r.heading || r.estimate.is_none()) {
        return None;
    }
    let canvas = forest(
        &rows,
        if mortality_shown {
            lang.pick(
                "Ratio (logaritmisk akse; 1 = ingen endring eller forskjell)",
                "Ratio (log axis; 1 = no change or difference)",
            )
        } else {
            lang.pick(
                "Ratio etter/før (logaritmisk akse; 1 = ingen endring)",
                "Ratio after/before (log axis; 1 = no change)",
            )
        },
        lang == Language::Nb,
    );
    let unknown = || lang.pick("ingen modell ga estimat", "no model gave an estimate").to_owned();
    let within_models =
        describe_models_briefly(within.iter().copied(), lang).unwrap_or_else(unknown);
    let between_models = describe_models_briefly(
        between.iter().copied().filter(|r| r.effect_size_kind == RATIO_OF_RATIOS),
        lang,
    )
    .unwrap_or_else(unknown);
    let mut caption = match lang {
        Language::Nb => format!(
            "Endring etter inklusjon per pilotkommune og samlet. To slags estimat på samme akse: rateratio etter/før i en gruppe ({within_models}), og på linjene «Pilot / sammenligning» forholdet mellom pilotenes og sammenligningens rateratio ({between_models}). Under 1: forbruket gikk ned (mer i pilotene). Alle med 95 % konfidensintervall."
        ),
        Language::En => format!(
            "Change after inclusion per pilot municipality and overall. Two kinds of estimate on one axis: the rate ratio after/before within an arm ({within_models}), and on the lines “Pilot / comparison” the ratio of the pilots' and the comparison's rate ratios ({between_models}). Below 1: use fell (more in the pilots). All with 95% confidence intervals."
        ),
    };
    if mortality_shown {
        let model = describe_models_briefly(
            between.iter().copied().filter(|r| r.effect_size_kind == BETWEEN_ARMS_AFTER),
            lang,
        )
        .map_or(String::new(), |m| format!(" ({m})"));
        let _ = match lang {
            Language::Nb => write!(
                caption,
                " En tredje slags for dødsfall: rateratio pilot/sammenligning etter inklusjon{model}, ikke etter/før (alle lever ved inklusjon)."
            ),
            Language::En => write!(
                caption,
                " A third kind for deaths: the rate ratio pilot/comparison after inclusion{model}, not after/before (all are alive at inclusion)."
            ),
        };
    }
    if params.indicators.len() > FOREST_INDICATORS {
        let _ = match lang {
            Language::Nb => write!(
                caption,
                " De {FOREST_INDICATORS} første av {} indikatorer; tabellene har alle.",
                params.indicators.len()
            ),
            Language::En => write!(
                caption,
                " The first {FOREST_INDICATORS} of {} indicators; the tables have them all.",
                params.indicators.len()
            ),
        };
    }
    suppressed_note(lang, any_suppressed, &mut caption);
    Some(FigureOut { id: "figure_municipalities".into(), caption, canvas })
}

/// The percent step of a Lorenz curve that keeps at least `threshold` persons in every
/// step, so no point shows one person's use.
fn lorenz_step(persons: i64, threshold: u32) -> Option<u32> {
    [1u32, 2, 5, 10, 20, 25, 50]
        .into_iter()
        .find(|step| i64::from(*step) * persons >= 100 * i64::from(threshold))
}

/// Lorenz curves of use before inclusion (bed-days, hospital and municipal contacts, GP
/// contacts, home care hours — those computed).
pub fn concentration(input: &ReportInput<'_>, params: &ReportParams) -> Option<FigureOut> {
    let lang = params.language;
    let wanted = [
        Indicator::BedDays,
        Indicator::HospitalContacts,
        Indicator::MunicipalContacts,
        Indicator::GpContacts,
        Indicator::HomeCareHours,
    ];
    let mut curves = Vec::new();
    let mut notes = Vec::new();
    for indicator in wanted.into_iter().filter(|i| params.indicators.contains(i)) {
        let Some(shares) = input
            .utilisation
            .iter()
            .find(|u| u.indicator == indicator.id() && u.period == "before")
        else {
            continue;
        };
        let Some(step) = lorenz_step(shares.n_persons, params.rule.threshold) else {
            continue;
        };
        let points: Vec<(f64, f64)> = input
            .lorenz
            .iter()
            .filter(|l| l.indicator == indicator.id() && l.period == "before")
            .filter(|l| ((l.persons_share * 100.0).round() as u32).is_multiple_of(step))
            .map(|l| (l.persons_share, l.use_share))
            .collect();
        if points.len() < 2 {
            continue;
        }
        let top5 = input
            .utilisation
            .iter()
            .find(|u| {
                u.indicator == indicator.id()
                    && u.period == "before"
                    && (u.top_share - 0.05).abs() < 1e-9
            })
            .and_then(|u| u.share_of_use);
        if let Some(share) = top5 {
            let pct = crate::figure::number(share * 100.0, 0, lang == Language::Nb);
            notes.push(match lang {
                Language::Nb => format!(
                    "{}: de 5 % med mest forbruk stod for {pct} %",
                    indicator_label(indicator, lang).to_lowercase()
                ),
                Language::En => format!(
                    "{}: the top 5 % of users accounted for {pct} %",
                    indicator_label(indicator, lang).to_lowercase()
                ),
            });
        }
        curves.push(Curve { label: indicator_label(indicator, lang).to_owned(), points });
    }
    if curves.is_empty() {
        return None;
    }
    let n = input.utilisation.iter().map(|u| u.n_persons).max().unwrap_or(0);
    let canvas = lorenz(
        &curves,
        lang.pick(
            "Andel personer (minst forbruk først)",
            "Share of persons (lightest users first)",
        ),
        lang.pick("Andel av forbruket", "Share of use"),
        lang.pick("lik fordeling", "equal use"),
        lang == Language::Nb,
    );
    let caption = match lang {
        Language::Nb => format!(
            "Fordeling av forbruket året før inklusjon (Lorenz-kurver, n = {n}; punkter med minst {} personer per trinn). {}.",
            params.rule.threshold,
            notes.join("; ")
        ),
        Language::En => format!(
            "Distribution of use in the year before inclusion (Lorenz curves, n = {n}; points with at least {} persons per step). {}.",
            params.rule.threshold,
            notes.join("; ")
        ),
    };
    Some(FigureOut { id: "figure_concentration".into(), caption, canvas })
}

/// Each person's (arm, pid) scores by timepoint, of one scale.
type PersonScores<'a> = BTreeMap<(Arm, &'a str), BTreeMap<&'a str, f64>>;

/// Scores per (arm, timepoint) of one scale.
type ScoresByArm = BTreeMap<(Arm, String), Vec<f64>>;

/// Paired scale means: per arm, the persons with a score at every timepoint (T0 and T1),
/// their mean at each with a t-based 95 % CI; an arm with fewer such persons than the
/// small-cell threshold is not drawn.
pub fn scale_means(input: &ReportInput<'_>, params: &ReportParams) -> Option<FigureOut> {
    let lang = params.language;
    let timepoints: Vec<String> = input
        .scale_scores
        .iter()
        .map(|s| s.timepoint.clone())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    if timepoints.len() < 2 {
        return None;
    }
    // Paired: each person's score at every timepoint, or the person is left out.
    let mut by_person: BTreeMap<(String, String), PersonScores<'_>> = BTreeMap::new();
    for s in input.scale_scores {
        if let Some(score) = s.score {
            by_person
                .entry((s.instrument.clone(), s.scale.clone()))
                .or_default()
                .entry((s.arm, s.pid.as_str()))
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
    let mut any_suppressed = false;
    let mut counts: BTreeMap<Arm, usize> = BTreeMap::new();
    // Each instrument's total first, then its subscales.
    let mut scales: Vec<_> = by_scale.iter().collect();
    scales.sort_by_key(|((instrument, scale), _)| {
        (instrument.clone(), scale != instrument, scale.clone())
    });
    let panels: Vec<MeansPanel> = scales
        .into_iter()
        .take(6)
        .map(|((instrument, scale), groups)| {
            let series = [Arm::Pilot, Arm::Comparison]
                .into_iter()
                .map(|arm| {
                    let points = timepoints
                        .iter()
                        .map(|t| {
                            let values = groups.get(&(arm, t.clone())).cloned().unwrap_or_default();
                            let n = counts.entry(arm).or_default();
                            *n = (*n).max(values.len());
                            if values.len() < params.rule.threshold as usize {
                                any_suppressed |= !values.is_empty();
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
            let title =
                if instrument == scale { scale.clone() } else { format!("{instrument}: {scale}") };
            (title, series)
        })
        .collect();
    if panels.is_empty() {
        return None;
    }
    let canvas =
        means_panels(&panels, &timepoints, lang.pick("gjennomsnitt", "mean"), lang == Language::Nb);
    let n = |arm: Arm| {
        let n = counts.get(&arm).copied().unwrap_or(0);
        if params.rule.hides_count(n as f64) { ":".to_owned() } else { n.to_string() }
    };
    let mut caption = match lang {
        Language::Nb => format!(
            "Skalaskårer ved {}: gjennomsnitt med 95 % konfidensintervall (t-fordeling) blant dem som svarte ved alle tidspunktene (pilot n = {}, sammenligning n = {}; flest per skala).",
            timepoints.join(" og "),
            n(Arm::Pilot),
            n(Arm::Comparison)
        ),
        Language::En => format!(
            "Scale scores at {}: mean with 95% confidence interval (t distribution) among those who answered at every timepoint (pilot n = {}, comparison n = {}; most per scale).",
            timepoints.join(" and "),
            n(Arm::Pilot),
            n(Arm::Comparison)
        ),
    };
    suppressed_note(lang, any_suppressed, &mut caption);
    Some(FigureOut { id: "figure_scales".into(), caption, canvas })
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

/// Answers per response level for each item of the first Likert instrument (three to
/// seven levels), by timepoint and arm, as 100 % bars. A level with few answers is merged
/// into its neighbour toward the middle (the caption says so), so no share shows a small
/// number.
pub fn item_answers(input: &ReportInput<'_>, params: &ReportParams) -> Option<FigureOut> {
    let lang = params.language;
    let rule = params.rule;
    let mut levels_of: BTreeMap<&str, BTreeSet<i64>> = BTreeMap::new();
    for d in input.item_distributions {
        levels_of
            .entry(d.instrument.as_str())
            .or_default()
            .insert((d.value * 1000.0).round() as i64);
    }
    let (instrument, levels) = levels_of.into_iter().find(|(_, l)| (3..=7).contains(&l.len()))?;
    let levels: Vec<i64> = levels.into_iter().collect();
    let mut counts: BTreeMap<(String, String, Arm), Vec<i64>> = BTreeMap::new();
    for d in input.item_distributions.iter().filter(|d| d.instrument == instrument) {
        let level = (d.value * 1000.0).round() as i64;
        let Some(k) = levels.iter().position(|l| *l == level) else { continue };
        counts
            .entry((d.item.clone(), d.timepoint.clone(), d.arm))
            .or_insert_with(|| vec![0; levels.len()])[k] += d.n;
    }
    let (mut any_suppressed, mut any_merged) = (false, false);
    let bars: Vec<StackedBar> = counts
        .iter()
        .take(48)
        .map(|((item, timepoint, arm), by_level)| {
            let total: i64 = by_level.iter().sum();
            let shown = merge_small_levels(by_level, rule).filter(|_| total > 0);
            any_suppressed |= shown.is_none();
            any_merged |= shown.as_ref().is_some_and(|s| s.1);
            StackedBar {
                label: format!("{item} {timepoint} {}", arm_label(*arm, lang)),
                shares: shown.map(|(c, _)| c.iter().map(|n| *n as f64 / total as f64).collect()),
            }
        })
        .collect();
    let names: Vec<String> =
        levels.iter().map(|l| crate::figure::number(*l as f64 / 1000.0, 0, false)).collect();
    let canvas = stacked_bars(&bars, &names, lang == Language::Nb);
    let totals: Vec<i64> = counts
        .values()
        .map(|c| c.iter().sum::<i64>())
        .filter(|t| !rule.hides_count(*t as f64))
        .collect();
    let (low, high) =
        (totals.iter().min().copied().unwrap_or(0), totals.iter().max().copied().unwrap_or(0));
    let mut caption = match lang {
        Language::Nb => format!(
            "{instrument}: svarfordeling per spørsmål, måletidspunkt og gruppe (andel per svaralternativ; {low}–{high} svar per søyle)."
        ),
        Language::En => format!(
            "{instrument}: answers per item, timepoint and arm (share per response level; {low}–{high} answers per bar)."
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
    Some(FigureOut { id: "figure_items".into(), caption, canvas })
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
    let canvas = heatmap(&codes, &places, &values, lang == Language::Nb);
    Some(FigureOut {
        id: "figure_codes_by_municipality".into(),
        caption: lang
            .pick(
                "Fokusgrupper: segmenter per kode og kommune.",
                "Focus groups: segments per code and municipality.",
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
    fn the_forest_shows_deaths_between_the_arms_and_why_an_estimate_is_missing() {
        let indicators = [Indicator::Mortality, Indicator::BedDays, Indicator::Admissions];
        let results = Results::new(&indicators);
        let params = params(&indicators, Language::Nb);
        let figure = municipalities_forest(&results.input(), &params).unwrap();
        let texts = texts(&figure.canvas);
        assert!(texts.contains(&"sammenlignes ikke før/etter (alle lever ved inklusjon)"));
        assert!(texts.contains(&"Pilot / sammenligning etter inklusjon"));
        assert!(texts.contains(&"0,62 (0,53–0,73)"), "the row's own interval: {texts:?}");
        assert!(texts.contains(&"for få personer i en gruppe (færre enn 5)"));
        assert!(texts.contains(&"Ratio (logaritmisk akse; 1 = ingen endring eller forskjell)"));
        let caption = &figure.caption;
        assert!(caption.contains("To slags estimat på samme akse"), "{caption}");
        assert!(caption.contains("En tredje slags for dødsfall"), "{caption}");
        assert!(caption.contains("CR1"), "{caption}");
        assert!(!caption.contains("poisson.test"), "{caption}");
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
        let figure = rates(&results.input(), &params);
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
            rates(&results.input(), &cr1)
                .caption
                .contains("cluster-robust standard errors by person, CR1")
        );
        assert!(!figure.caption.contains("without a whisker"));
        for r in &mut results.rates {
            (r.ci_low, r.ci_high) = (None, None);
        }
        results.rates[0].ci_low = Some(1.0);
        results.rates[0].ci_high = Some(2.0);
        let figure = rates(&results.input(), &params);
        assert_eq!(caps(&figure.canvas), 2, "one bar with an interval");
        assert!(figure.caption.contains("Bars without a whisker: the analysis gave no interval."));
        results.rates[0].ci_low = None;
        let figure = rates(&results.input(), &params);
        assert_eq!(caps(&figure.canvas), 0);
        assert!(
            figure.caption.contains("inclusion (the analysis gave no confidence intervals), pilot"),
            "{}",
            figure.caption
        );
    }
}

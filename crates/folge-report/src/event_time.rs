//! The event-time view: each indicator's rate per person-year in 30-day bins around
//! inclusion, pilot and comparison, with the analysis's clustered 95 % intervals, and the
//! pre-trend check in the caption — what a reader needs to judge whether the arms ran
//! parallel before inclusion (the assumption behind the ratio of rate ratios). Every
//! indicator the pipeline analyses gets a panel, six to a figure; the numbers come as a
//! table too.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use folge_analyze::Indicator;
use folge_schema::Arm;
use folge_schema::tables::EventTimeRow;

use crate::canvas::{Anchor, Canvas, Colour, INK, PALETTE, Shape};
use crate::estimates::{
    PRETREND, describe_models_briefly, missing_reason, not_computed, overall, p_text,
};
use crate::figure::{SIZE, bold, legend, line, number, vertical_text, y_axis};
use crate::figures::FigureOut;
use crate::input::{Language, ReportInput, ReportParams, arm_label, indicator_label, rate};
use crate::table::{Cell, ReportTable};

/// Panels per figure: three rows of two, so a figure fits an A4 page.
const PER_FIGURE: usize = 6;
const ARMS: [Arm; 2] = [Arm::Pilot, Arm::Comparison];
/// Pilot blue, comparison orange (Okabe–Ito), as in the scale means.
const COLOURS: [Colour; 2] = [PALETTE[0], PALETTE[1]];

/// One bin of one arm as drawn: the bin's middle day and its rate with the interval;
/// `value` `None` when there is no row, no exposure, or the small-cell rule hides it.
#[derive(Debug, Clone, Default)]
pub struct TimePoint {
    /// Middle of the bin, in days from inclusion.
    pub day: f64,
    /// Rate per person-year.
    pub value: Option<f64>,
    /// Its 95 % interval.
    pub ci: Option<(f64, f64)>,
}

/// One panel: an indicator, and its points per arm (pilot, comparison), bin by bin.
#[derive(Debug, Clone)]
pub struct TimePanel {
    /// Title (the indicator).
    pub title: String,
    /// Points of the pilot and the comparison arm, one per bin in order.
    pub series: [Vec<TimePoint>; 2],
}

/// The words a time chart writes.
#[derive(Debug, Clone, Copy)]
pub struct TimeLabels<'a> {
    /// Legend names of the two arms.
    pub arms: [&'a str; 2],
    /// The label of the vertical line at day 0.
    pub inclusion: &'a str,
    /// Under the x axis.
    pub x: &'a str,
    /// Beside the y axis.
    pub y: &'a str,
}

/// A day number as an axis writes it, with a true minus sign.
fn signed(day: f64) -> String {
    let digits = number(day.abs(), 0, false);
    if day < 0.0 { format!("−{digits}") } else { digits }
}

/// Rates over time in small multiples, two panels a row: points with interval whiskers
/// joined bin to bin (a gap where a bin is not shown, and at inclusion), the arms a little
/// apart, and a dashed vertical line at inclusion (day 0) with its label.
pub fn time_panels(
    panels: &[TimePanel],
    (first_day, end_day): (f64, f64),
    labels: TimeLabels<'_>,
    decimal_comma: bool,
) -> Canvas {
    let (panel_w, panel_h, per_row) = (375.0, 215.0, 2usize);
    let rows = panels.len().div_ceil(per_row).max(1);
    let mut c = Canvas::new(panel_w * per_row as f64, panel_h * rows as f64 + 40.0);
    let span = (end_day - first_day).max(1.0);
    for (i, panel) in panels.iter().enumerate() {
        let ox = (i % per_row) as f64 * panel_w;
        let oy = (i / per_row) as f64 * panel_h;
        let (left, top, plot_w, plot_h) = (ox + 52.0, oy + 30.0, panel_w - 68.0, panel_h - 84.0);
        bold(&mut c, ox + 8.0, oy + 16.0, &panel.title, 12.0);
        let max = panel
            .series
            .iter()
            .flatten()
            .filter_map(|p| p.ci.map(|ci| ci.1).or(p.value).zip(p.value).map(|(a, b)| a.max(b)))
            .fold(0.0, f64::max);
        // Headroom above the highest whisker for the inclusion label.
        let (axis_max, _) = y_axis(&mut c, (left, top, plot_w, plot_h), max * 1.12, decimal_comma);
        vertical_text(&mut c, ox + 12.0, top + plot_h / 2.0, labels.y, 10.0);
        let x_of = |day: f64| left + (day - first_day) / span * plot_w;
        let y_of = |v: f64| top + plot_h - v.clamp(0.0, axis_max) / axis_max * plot_h;
        let bottom = top + plot_h;
        let mut tick = (first_day / 90.0).ceil() * 90.0;
        while tick <= end_day {
            let x = x_of(tick);
            line(&mut c, (x, bottom), (x, bottom + 3.0), INK, 1.0);
            if (tick / 180.0).fract() == 0.0 {
                c.text(x, bottom + 14.0, signed(tick), SIZE - 1.0, Anchor::Middle);
            }
            tick += 90.0;
        }
        c.text(left + plot_w / 2.0, bottom + 28.0, labels.x, SIZE - 1.0, Anchor::Middle);
        let x0 = x_of(0.0);
        c.push(Shape::Line {
            x1: x0,
            y1: top - 2.0,
            x2: x0,
            y2: bottom,
            colour: INK,
            width: 1.0,
            dashed: true,
        });
        c.text(x0 + 3.0, top + 8.0, labels.inclusion, SIZE - 2.0, Anchor::Start);
        for (s, points) in panel.series.iter().enumerate() {
            let colour = COLOURS[s];
            // The arms side by side in each bin, so their whiskers do not overlap.
            let x_at = |p: &TimePoint| x_of(p.day) + (s as f64 - 0.5) * 3.0;
            let mut run: Vec<(f64, f64)> = Vec::new();
            let mut runs = Vec::new();
            for p in points {
                // No line across inclusion: before and after are two runs.
                if p.day > 0.0 && run.last().is_some_and(|last| last.0 < x0) {
                    runs.push(std::mem::take(&mut run));
                }
                match p.value {
                    Some(v) => run.push((x_at(p), y_of(v))),
                    None => runs.push(std::mem::take(&mut run)),
                }
            }
            runs.push(run);
            for run in runs.into_iter().filter(|r| r.len() > 1) {
                c.push(Shape::Path { points: run, colour, width: 1.2, dashed: false });
            }
            for p in points {
                let Some(v) = p.value else { continue };
                let x = x_at(p);
                if let Some((lo, hi)) = p.ci {
                    line(&mut c, (x, y_of(lo)), (x, y_of(hi)), colour, 0.8);
                }
                c.push(Shape::Circle { x, y: y_of(v), r: 2.2, fill: colour });
            }
        }
    }
    let h = c.height;
    legend(&mut c, h - 14.0, &[(labels.arms[0], COLOURS[0]), (labels.arms[1], COLOURS[1])]);
    c
}

/// The bins in the rows: number → (first day, last day).
fn bins(rows: &[EventTimeRow]) -> BTreeMap<i32, (i32, i32)> {
    rows.iter().map(|r| (r.bin, (r.from_day, r.to_day))).collect()
}

fn find(rows: &[EventTimeRow], indicator: Indicator, arm: Arm, bin: i32) -> Option<&EventTimeRow> {
    rows.iter().find(|r| r.indicator == indicator.id() && r.arm == arm && r.bin == bin)
}

/// The pre-trend check of `indicator` as a caption writes it: ratio (95 % CI; p), or why
/// there is none. `hidden` when a rate behind it is hidden by the small-cell rule.
fn pretrend_text(
    input: &ReportInput<'_>,
    indicator: Indicator,
    hidden: bool,
    lang: Language,
) -> String {
    let nb = lang == Language::Nb;
    let Some(row) = overall(input.comparisons, indicator, PRETREND) else {
        return not_computed(lang);
    };
    if hidden {
        return ":".to_owned();
    }
    let Some(e) = row.effect_size else { return missing_reason(row, lang) };
    let mut text = number(e, 2, nb);
    let mut inside = Vec::new();
    match row.ci_low.zip(row.ci_high) {
        Some((lo, hi)) => inside.push(format!(
            "{} {}–{}",
            lang.pick("95 % KI", "95% CI"),
            number(lo, 2, nb),
            number(hi, 2, nb)
        )),
        None => inside.push(missing_reason(row, lang)),
    }
    if let Some(p) = row.p_value {
        inside.push(p_text(p, nb));
    }
    let _ = write!(text, " ({})", inside.join("; "));
    text
}

/// The event-time figures: one panel per indicator of the pipeline with event-time rows,
/// in the pipeline's order, six to a figure. A bin whose numerator is small or with few
/// persons is not drawn, and an arm with most bins hidden is hidden whole (the caption
/// says so); an indicator without rows is named in the caption.
pub fn figures(input: &ReportInput<'_>, params: &ReportParams) -> Vec<FigureOut> {
    let lang = params.language;
    let nb = lang == Language::Nb;
    let rule = params.rule;
    let rows = input.event_time;
    if rows.is_empty() {
        return Vec::new();
    }
    let bins = bins(rows);
    let first_day = bins.values().map(|b| b.0).min().unwrap_or(0);
    let end_day = bins.values().map(|b| b.1 + 1).max().unwrap_or(0);
    let mut panels: Vec<(Indicator, TimePanel, bool)> = Vec::new();
    let mut without: Vec<&str> = Vec::new();
    let (mut any_point_hidden, mut any_series_hidden) = (false, false);
    for &indicator in &params.indicators {
        if !rows.iter().any(|r| r.indicator == indicator.id()) {
            without.push(indicator_label(indicator, lang));
            continue;
        }
        let mut hidden_arm = false;
        let series = ARMS.map(|arm| {
            let (mut present, mut hidden) = (0, 0);
            let mut points: Vec<TimePoint> = bins
                .iter()
                .map(|(&bin, &(from, to))| {
                    let day = f64::from(from + to + 1) / 2.0;
                    let Some(r) = find(rows, indicator, arm, bin) else {
                        return TimePoint { day, ..TimePoint::default() };
                    };
                    present += 1;
                    if rule.hides_rate(r.value_total, r.n) {
                        hidden += 1;
                        any_point_hidden |= r.rate_per_py.is_some();
                        return TimePoint { day, ..TimePoint::default() };
                    }
                    TimePoint { day, value: r.rate_per_py, ci: r.ci_low.zip(r.ci_high) }
                })
                .collect();
            if hidden > 0 && rule.hides_series(hidden, present) {
                any_series_hidden = true;
                hidden_arm = true;
                for p in &mut points {
                    *p = TimePoint { day: p.day, ..TimePoint::default() };
                }
            }
            points
        });
        let before_hidden = ARMS.iter().any(|&arm| {
            rate(input.rates, indicator, arm, "before")
                .is_some_and(|r| rule.hides_rate(r.value_total, r.n))
        });
        panels.push((
            indicator,
            TimePanel { title: indicator_label(indicator, lang).to_owned(), series },
            hidden_arm || before_hidden,
        ));
    }
    if panels.is_empty() {
        return Vec::new();
    }
    let n = |arm| input.tables.participants().iter().filter(|p| p.arm() == arm).count();
    let (n_pilot, n_comparison) = (n(Arm::Pilot), n(Arm::Comparison));
    let before_bins = bins.keys().filter(|b| **b < 0).count();
    let day_range = |bin: i32| {
        bins.get(&bin).map(|&(from, to)| {
            format!(
                "{}{}{}",
                signed(f64::from(from)),
                lang.pick(" til ", " to "),
                signed(f64::from(to))
            )
        })
    };
    let bins_text = match (day_range(0), day_range(-1)) {
        (Some(zero), Some(minus)) => match lang {
            Language::Nb => {
                format!(" Periode 0 er dag {zero} etter inklusjon, periode −1 dag {minus}.")
            }
            Language::En => format!(" Bin 0 is days {zero} after inclusion, bin −1 days {minus}."),
        },
        _ => String::new(),
    };
    let pretrend_rows: Vec<_> = input
        .comparisons
        .iter()
        .filter(|c| c.scope == "all" && c.effect_size_kind == PRETREND)
        .collect();
    let pretrend_model = describe_models_briefly(pretrend_rows.iter().copied(), lang)
        .map_or(String::new(), |m| format!("; {m}"));
    let labels = TimeLabels {
        arms: [arm_label(Arm::Pilot, lang), arm_label(Arm::Comparison, lang)],
        inclusion: lang.pick("inklusjon", "inclusion"),
        x: lang.pick("dager fra inklusjon", "days from inclusion"),
        y: lang.pick("per personår", "per person-year"),
    };
    // What the whiskers are, when the analysis gave any.
    let whiskers = match (lang, rows.iter().any(|r| r.ci_low.is_some())) {
        (Language::Nb, true) => {
            ", streken dens 95 % konfidensintervall fra en Poisson-GLM på personnivå med log personår som offset og klyngerobuste standardfeil gruppert på person (CR1)"
        }
        (Language::En, true) => {
            ", the whisker its 95% confidence interval from a person-level Poisson GLM with log person-years as offset and cluster-robust standard errors by person (CR1)"
        }
        (Language::Nb, false) => "; analysen har ikke gitt konfidensintervall",
        (Language::En, false) => "; the analysis gave no confidence intervals",
    };
    let parts = panels.len().div_ceil(PER_FIGURE);
    panels
        .chunks(PER_FIGURE)
        .enumerate()
        .map(|(k, chunk)| {
            let drawn: Vec<TimePanel> = chunk.iter().map(|(_, p, _)| p.clone()).collect();
            let canvas = time_panels(
                &drawn,
                (f64::from(first_day), f64::from(end_day)),
                labels,
                nb,
            );
            let part = if parts > 1 {
                match lang {
                    Language::Nb => format!(" (del {} av {parts})", k + 1),
                    Language::En => format!(" (part {} of {parts})", k + 1),
                }
            } else {
                String::new()
            };
            let checks: Vec<String> = chunk
                .iter()
                .map(|(indicator, _, hidden)| {
                    format!(
                        "{} {}",
                        indicator_label(*indicator, lang).to_lowercase(),
                        pretrend_text(input, *indicator, *hidden, lang)
                    )
                })
                .collect();
            let mut caption = match lang {
                Language::Nb => format!(
                    "Forbruk per personår i 30-dagers perioder rundt inklusjon{part}, pilot (n = {n_pilot}) og sammenligning (n = {n_comparison}).{bins_text} Punktet er raten i perioden (summen av forbruket delt på summen av personår){whiskers}. Stiplet loddrett linje: inklusjon. Parallelle trender før inklusjon — en placebo-forskjell-i-forskjeller: forholdet mellom pilotenes og sammenligningens endring fra første til andre halvdel av de {before_bins} periodene før, innen person (1 = parallelle{pretrend_model}): {}.",
                    checks.join("; ")
                ),
                Language::En => format!(
                    "Use per person-year in 30-day bins around inclusion{part}, pilot (n = {n_pilot}) and comparison (n = {n_comparison}).{bins_text} The point is the bin's rate (total use divided by total person-years){whiskers}. Dashed vertical line: inclusion. Parallel trends before inclusion — a placebo difference in differences: the ratio of the pilots' and the comparison's change from the first to the second half of the {before_bins} bins before, within person (1 = parallel{pretrend_model}): {}.",
                    checks.join("; ")
                ),
            };
            if any_point_hidden && k == 0 {
                let threshold = rule.threshold;
                let _ = match lang {
                    Language::Nb => write!(
                        caption,
                        " Perioder med teller 1–{} eller færre enn {threshold} personer er ikke tegnet{}.",
                        threshold - 1,
                        if any_series_hidden { ", og en gruppe med de fleste periodene skjult er skjult helt" } else { "" }
                    ),
                    Language::En => write!(
                        caption,
                        " Bins with a numerator of 1–{} or fewer than {threshold} persons are not drawn{}.",
                        threshold - 1,
                        if any_series_hidden { ", and an arm with most bins hidden is hidden whole" } else { "" }
                    ),
                };
            }
            if !without.is_empty() && k == 0 {
                let _ = match lang {
                    Language::Nb => write!(caption, " Ingen tall fra analysen for: {}.", without.join(", ")),
                    Language::En => write!(caption, " No numbers from the analysis for: {}.", without.join(", ")),
                };
            }
            let id = if k == 0 { "figure_event_time".to_owned() } else { format!("figure_event_time_{}", k + 1) };
            FigureOut { id, caption, canvas }
        })
        .collect()
}

/// The event-time numbers: a row per indicator and bin, each arm's persons, rate and
/// interval; a small numerator or few persons show ":". Long, so the page folds it.
pub fn table(input: &ReportInput<'_>, params: &ReportParams) -> Option<ReportTable> {
    let lang = params.language;
    let rule = params.rule;
    let rows = input.event_time;
    let bins = bins(rows);
    let mut out = Vec::new();
    for &indicator in &params.indicators {
        if !rows.iter().any(|r| r.indicator == indicator.id()) {
            continue;
        }
        for (&bin, &(from, to)) in &bins {
            let mut row = vec![
                Cell::Text(indicator_label(indicator, lang).to_owned()),
                Cell::Number(f64::from(bin), 0),
                Cell::Text(format!("{}…{}", signed(f64::from(from)), signed(f64::from(to)))),
            ];
            for arm in ARMS {
                match find(rows, indicator, arm, bin) {
                    None => row.extend([Cell::Empty, Cell::Empty, Cell::Empty, Cell::Empty]),
                    Some(r) => {
                        let persons = if rule.hides_count(r.n as f64) {
                            Cell::Suppressed
                        } else {
                            Cell::Number(r.n as f64, 0)
                        };
                        row.push(persons);
                        if rule.hides_rate(r.value_total, r.n) {
                            row.extend([Cell::Suppressed, Cell::Suppressed, Cell::Suppressed]);
                        } else {
                            let cell =
                                |v: Option<f64>| v.map_or(Cell::Empty, |v| Cell::Number(v, 2));
                            row.extend([cell(r.rate_per_py), cell(r.ci_low), cell(r.ci_high)]);
                        }
                    }
                }
            }
            out.push(row);
        }
    }
    if out.is_empty() {
        return None;
    }
    let mut columns = vec![
        lang.pick("Indikator", "Indicator").to_owned(),
        lang.pick("Periode", "Bin").to_owned(),
        lang.pick("Dager fra inklusjon", "Days from inclusion").to_owned(),
    ];
    for arm in ARMS {
        let name = arm_label(arm, lang);
        columns.push(format!("n {}", name.to_lowercase()));
        columns.push(format!("{name}: {}", lang.pick("per personår", "per person-year")));
        columns.push(format!("{name}: {}", lang.pick("95 % KI nedre", "95 % CI lower")));
        columns.push(format!("{name}: {}", lang.pick("95 % KI øvre", "95 % CI upper")));
    }
    let summary = match lang {
        Language::Nb => {
            format!("Vis tabellen ({} rader; også som CSV og i tables.xlsx)", out.len())
        }
        Language::En => {
            format!("Show the table ({} rows; also as CSV and in tables.xlsx)", out.len())
        }
    };
    Some(ReportTable {
        id: "table_event_time".into(),
        caption: lang
            .pick(
                "Tabell 8. Forbruk per personår i 30-dagers perioder rundt inklusjon",
                "Table 8. Use per person-year in 30-day bins around inclusion",
            )
            .into(),
        columns,
        rows: out,
        notes: vec![lang
            .pick(
                "n: personer observert i perioden. Rate: summen av forbruket delt på summen av personår i perioden; 95 % konfidensintervall fra en Poisson-GLM på personnivå med log personår som offset og klyngerobuste standardfeil gruppert på person (CR1).",
                "n: persons observed in the bin. Rate: total use divided by total person-years in the bin; 95 % confidence interval from a person-level Poisson GLM with log person-years as offset and cluster-robust standard errors by person (CR1).",
            )
            .into()],
        summary: Some(summary),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_rows::{EIGHT, Results, event_time, params};

    fn dashed_verticals(c: &Canvas) -> usize {
        c.shapes
            .iter()
            .filter(
                |s| matches!(s, Shape::Line { x1, x2, dashed: true, .. } if (x1 - x2).abs() < 1e-9),
            )
            .count()
    }

    fn texts(c: &Canvas, wanted: &str) -> usize {
        c.shapes.iter().filter(|s| matches!(s, Shape::Text { text, .. } if text == wanted)).count()
    }

    #[test]
    fn every_indicator_gets_a_panel_with_the_inclusion_line_in_pipeline_order() {
        let results = Results::new(&EIGHT);
        let params = params(&EIGHT, Language::Nb);
        let figures = figures(&results.input(), &params);
        let ids: Vec<&str> = figures.iter().map(|f| f.id.as_str()).collect();
        assert_eq!(ids, ["figure_event_time", "figure_event_time_2"], "six panels a figure");
        for (figure, indicators) in figures.iter().zip(EIGHT.chunks(PER_FIGURE)) {
            let titles: Vec<&str> = figure
                .canvas
                .shapes
                .iter()
                .filter_map(|s| match s {
                    Shape::Text { text, bold: true, .. } => Some(text.as_str()),
                    _ => None,
                })
                .collect();
            let expected: Vec<&str> =
                indicators.iter().map(|&i| indicator_label(i, Language::Nb)).collect();
            assert_eq!(titles, expected, "every indicator, in the pipeline's order");
            assert_eq!(dashed_verticals(&figure.canvas), indicators.len(), "a line per panel");
            assert_eq!(texts(&figure.canvas, "inklusjon"), indicators.len(), "labelled");
            let svg = figure.canvas.to_svg(&figure.caption);
            assert!(svg.contains("fill-opacity=\"0\">inklusjon</text>"));
            // 24 bins × 2 arms of points, each with its whisker.
            let circles =
                figure.canvas.shapes.iter().filter(|s| matches!(s, Shape::Circle { .. })).count();
            assert_eq!(circles, indicators.len() * 48);
        }
        let caption = &figures[0].caption;
        assert!(caption.contains("(del 1 av 2)"), "{caption}");
        assert!(
            caption
                .contains("Periode 0 er dag 0 til 29 etter inklusjon, periode −1 dag −30 til −1."),
            "{caption}"
        );
        assert!(
            caption.contains("(1 = parallelle; Poisson-GLM med fast effekt per person med standardfeil fra jackknife over personer (CV3))"),
            "{caption}"
        );
        assert!(
            caption.contains("øyeblikkelig hjelp-innleggelser 1,02 (95 % KI 0,87–1,20; p = 0,012)"),
            "{caption}"
        );
        assert!(caption.contains("placebo-forskjell-i-forskjeller"), "{caption}");
        assert!(caption.contains("første til andre halvdel av de 12 periodene før"), "{caption}");
        // Mortality has no pre-trend row: the caption says so instead of leaving it out.
        assert!(
            figures[1].caption.contains("dødsfall ikke beregnet i analysen"),
            "{}",
            figures[1].caption
        );
    }

    #[test]
    fn an_arm_with_small_bins_is_hidden_whole_and_the_caption_says_so() {
        let indicators = [Indicator::Admissions, Indicator::BedDays];
        let mut results = Results::new(&indicators);
        results.event_time = event_time(&indicators, &[Indicator::BedDays]);
        let params = params(&indicators, Language::Nb);
        let figures = figures(&results.input(), &params);
        let orange = figures[0]
            .canvas
            .shapes
            .iter()
            .filter(|s| matches!(s, Shape::Circle { fill, .. } if *fill == COLOURS[1]))
            .count();
        assert_eq!(orange, 24, "bed-days' comparison arm (3 persons a bin) is not drawn");
        let caption = &figures[0].caption;
        assert!(caption.contains("færre enn 5 personer er ikke tegnet"), "{caption}");
        assert!(caption.contains("skjult helt"), "{caption}");
        assert!(caption.contains("liggedøgn :"), "its pre-trend check hidden too: {caption}");
        let table = table(&results.input(), &params).unwrap();
        let bed_days = table.rows.iter().find(|r| r[0] == Cell::Text("Liggedøgn".into())).unwrap();
        assert_eq!(bed_days[7], Cell::Suppressed, "3 persons");
        assert_eq!(bed_days[8], Cell::Suppressed);
    }

    #[test]
    fn the_table_has_a_row_per_indicator_and_bin_and_folds_on_the_page() {
        let results = Results::new(&EIGHT);
        let params = params(&EIGHT, Language::En);
        let table = table(&results.input(), &params).unwrap();
        assert_eq!(table.rows.len(), 8 * 24);
        assert_eq!(table.columns.len(), 11);
        assert_eq!(table.rows[0][2], Cell::Text("−360…−331".into()));
        let html = table.to_html(false);
        assert!(
            html.starts_with("<div class=\"table\">\n<details>\n<summary>Table 8."),
            "{html:.80}"
        );
        assert!(html.ends_with("</details>\n</div>\n"));
        assert!(html.contains("also as CSV and in tables.xlsx)</summary>"), "where it is whole");
        assert!(table.to_csv(false).lines().count() == 8 * 24 + 1, "the CSV holds every row");
        let no_rows = figures(&Results::new(&[]).input(), &params);
        assert!(no_rows.is_empty());
    }
}

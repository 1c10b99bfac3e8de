//! The report's figures, drawn on a [`Canvas`] (SVG with glyph outlines, PNG at 300 dpi).
//! Palette: Okabe–Ito, which stays apart for colour-blind readers; the two-bar figures use
//! light grey and blue, which stay apart in greyscale print. A value the small-cell rule
//! hides is not drawn: the place shows ":".

use crate::canvas::{Anchor, Canvas, Colour, GRID, INK, PALETTE, Shape, text_width};

/// Before (light grey) and after (Okabe–Ito blue).
const PAIR: [Colour; 2] = [PALETTE[5], PALETTE[0]];
pub(crate) const SIZE: f64 = 11.0;

/// One bar: a value with its 95 % CI, or `None` when suppressed (not drawn, marked ":").
#[derive(Debug, Clone, Default)]
pub struct Bar {
    /// The value.
    pub value: Option<f64>,
    /// Its confidence interval, drawn as a whisker.
    pub ci: Option<(f64, f64)>,
}

/// One panel: a title and bars grouped by arm, two bars (before, after) per group.
#[derive(Debug, Clone)]
pub struct Panel {
    /// Title (the indicator).
    pub title: String,
    /// (arm label, [before, after]).
    pub groups: Vec<(String, [Bar; 2])>,
}

/// A rounded axis maximum and tick step: step is 1, 2, 2.5 or 5 × 10^k, four to five ticks.
pub fn ticks(max: f64) -> (f64, f64) {
    if max <= 0.0 {
        return (1.0, 0.25);
    }
    let raw = max / 4.0;
    let magnitude = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 2.5, 5.0, 10.0]
        .iter()
        .map(|m| m * magnitude)
        .find(|s| *s >= raw)
        .unwrap_or(10.0 * magnitude);
    ((max / step).ceil() * step, step)
}

/// Decimals that show a value to about two significant digits (at most 2 decimals).
pub(crate) fn decimals_for(v: f64) -> usize {
    if v.abs() >= 10.0 || v == 0.0 {
        0
    } else if v.abs() >= 1.0 {
        1
    } else {
        2
    }
}

/// Decimals that show every multiple of `step` exactly (0.25 → 2, 0.5 → 1, 5 → 0).
pub(crate) fn decimals_for_step(step: f64) -> usize {
    (0..=4)
        .find(|d| {
            let scaled = step * 10f64.powi(*d);
            (scaled - scaled.round()).abs() < 1e-9
        })
        .map_or(4, |d| d as usize)
}

/// A number with `decimals`, with a decimal comma in Norwegian.
pub fn number(v: f64, decimals: usize, decimal_comma: bool) -> String {
    let s = format!("{v:.decimals$}");
    if decimal_comma { s.replace('.', ",") } else { s }
}

pub(crate) fn line(
    c: &mut Canvas,
    (x1, y1): (f64, f64),
    (x2, y2): (f64, f64),
    colour: Colour,
    width: f64,
) {
    c.push(Shape::Line { x1, y1, x2, y2, colour, width, dashed: false });
}

pub(crate) fn vertical_text(c: &mut Canvas, x: f64, y: f64, text: &str, size: f64) {
    c.push(Shape::Text {
        x,
        y,
        text: text.to_owned(),
        size,
        bold: false,
        anchor: Anchor::Middle,
        vertical: true,
        colour: INK,
        number: false,
    });
}

pub(crate) fn bold(c: &mut Canvas, x: f64, y: f64, text: &str, size: f64) {
    c.push(Shape::Text {
        x,
        y,
        text: text.to_owned(),
        size,
        bold: true,
        anchor: Anchor::Start,
        vertical: false,
        colour: INK,
        number: false,
    });
}

pub(crate) fn legend(c: &mut Canvas, y: f64, entries: &[(&str, Colour)]) {
    let mut x = 20.0;
    for (name, colour) in entries {
        c.push(Shape::Rect { x, y: y - 10.0, w: 12.0, h: 12.0, fill: *colour, stroke: Some(INK) });
        c.text(x + 17.0, y, *name, SIZE, Anchor::Start);
        x += 17.0 + text_width(name, SIZE, false) + 24.0;
    }
}

/// A vertical linear axis from 0 to `max` at `left`, gridlines across `width`.
pub(crate) fn y_axis(
    c: &mut Canvas,
    (left, top, width, height): (f64, f64, f64, f64),
    max: f64,
    decimal_comma: bool,
) -> (f64, f64) {
    let (axis_max, step) = ticks(max);
    let mut tick = 0.0;
    while tick <= axis_max + step / 2.0 {
        let y = top + height - tick / axis_max * height;
        line(c, (left, y), (left + width, y), GRID, 1.0);
        c.number(
            left - 4.0,
            y + 4.0,
            number(tick, decimals_for_step(step), decimal_comma),
            SIZE - 1.0,
            Anchor::End,
        );
        tick += step;
    }
    line(c, (left, top + height), (left + width, top + height), INK, 1.0);
    (axis_max, step)
}

/// Small multiples of bar charts with 95 % CI whiskers, three panels per row, a shared
/// legend.
pub fn bar_panels(
    panels: &[Panel],
    legend_names: [&str; 2],
    y_label: &str,
    decimal_comma: bool,
) -> Canvas {
    let (panel_w, panel_h, per_row) = (250.0, 210.0, 3usize);
    let rows = panels.len().div_ceil(per_row).max(1);
    let mut c = Canvas::new(panel_w * per_row as f64, panel_h * rows as f64 + 40.0);
    for (i, panel) in panels.iter().enumerate() {
        let ox = (i % per_row) as f64 * panel_w;
        let oy = (i / per_row) as f64 * panel_h;
        let (left, top, plot_w, plot_h) = (ox + 48.0, oy + 28.0, panel_w - 62.0, panel_h - 78.0);
        let max = panel
            .groups
            .iter()
            .flat_map(|(_, bars)| bars.iter())
            .filter(|b| b.value.is_some())
            .map(|b| b.ci.map_or(b.value.unwrap_or(0.0), |(_, hi)| hi.max(b.value.unwrap_or(0.0))))
            .fold(0.0, f64::max);
        bold(&mut c, ox + 8.0, oy + 16.0, &panel.title, 12.0);
        let (axis_max, _) = y_axis(&mut c, (left, top, plot_w, plot_h), max, decimal_comma);
        vertical_text(&mut c, ox + 12.0, top + plot_h / 2.0, y_label, 10.0);
        let group_w = plot_w / panel.groups.len().max(1) as f64;
        let y_of = |v: f64| top + plot_h - v.min(axis_max) / axis_max * plot_h;
        for (g, (label, bars)) in panel.groups.iter().enumerate() {
            let gx = left + g as f64 * group_w;
            let bar_w = group_w * 0.32;
            for (b, bar) in bars.iter().enumerate() {
                let x = gx + group_w * 0.16 + b as f64 * bar_w;
                let mid = x + bar_w / 2.0 - 1.0;
                match bar.value {
                    Some(v) => {
                        let y = y_of(v);
                        c.push(Shape::Rect {
                            x,
                            y,
                            w: bar_w - 2.0,
                            h: top + plot_h - y,
                            fill: PAIR[b],
                            stroke: Some(INK),
                        });
                        let label_y = if let Some((lo, hi)) = bar.ci {
                            line(&mut c, (mid, y_of(lo)), (mid, y_of(hi)), INK, 1.0);
                            line(&mut c, (mid - 3.0, y_of(hi)), (mid + 3.0, y_of(hi)), INK, 1.0);
                            line(&mut c, (mid - 3.0, y_of(lo)), (mid + 3.0, y_of(lo)), INK, 1.0);
                            y_of(hi)
                        } else {
                            y
                        };
                        c.number(
                            mid,
                            label_y - 3.0,
                            number(v, decimals_for(v), decimal_comma),
                            9.0,
                            Anchor::Middle,
                        );
                    }
                    None => c.text(mid, top + plot_h - 3.0, ":", SIZE, Anchor::Middle),
                }
            }
            c.text(gx + group_w / 2.0, top + plot_h + 15.0, label.as_str(), SIZE, Anchor::Middle);
        }
    }
    let h = c.height;
    legend(&mut c, h - 14.0, &[(legend_names[0], PAIR[0]), (legend_names[1], PAIR[1])]);
    c
}

/// One line of a forest plot: a heading, or an estimate with its CI (`None`: not shown,
/// with `note` saying why).
#[derive(Debug, Clone)]
pub struct ForestRow {
    /// Label (indicator heading, or `all` / a municipality).
    pub label: String,
    /// A heading line, bold, without an estimate.
    pub heading: bool,
    /// Point estimate.
    pub estimate: Option<f64>,
    /// 95 % CI.
    pub ci: Option<(f64, f64)>,
    /// Persons behind it.
    pub n: Option<i64>,
    /// Shown instead of an estimate (":" when suppressed, or a reason).
    pub note: String,
}

/// The side of the smallest and the largest box of a forest plot, in points.
const BOX_SIDES: (f64, f64) = (3.0, 11.0);

/// Each row's box side, by precision: the box's area is proportional to the estimate's
/// weight 1/SE² on the log scale (SE from the 95 % interval, (ln hi − ln lo) / 2·1.96), as
/// in meta-analysis forest plots (R `meta::forest`, `forestplot`), the most precise row
/// the largest; a row without an interval gets the middle size.
fn box_sides(rows: &[ForestRow]) -> Vec<f64> {
    let weight = |r: &ForestRow| {
        r.ci.filter(|(a, b)| *a > 0.0 && *b > *a).map(|(a, b)| {
            let se = (b.ln() - a.ln()) / (2.0 * 1.959_964);
            1.0 / (se * se)
        })
    };
    let max = rows.iter().filter_map(weight).fold(0.0, f64::max);
    rows.iter()
        .map(|r| match weight(r) {
            Some(w) if max > 0.0 => BOX_SIDES.0 + (BOX_SIDES.1 - BOX_SIDES.0) * (w / max).sqrt(),
            _ => f64::midpoint(BOX_SIDES.0, BOX_SIDES.1),
        })
        .collect()
}

/// A forest plot of ratios on a log axis, the line of no effect (1) dashed, boxes sized by
/// precision; `sides` labels the two sides of the line under the axis ("← favours pilot",
/// "favours comparison →").
pub fn forest(
    rows: &[ForestRow],
    x_label: &str,
    sides: Option<(&str, &str)>,
    decimal_comma: bool,
) -> Canvas {
    let label_w =
        rows.iter().map(|r| text_width(&r.label, SIZE, r.heading) + 12.0).fold(120.0, f64::max);
    let (plot_w, row_h, top) = (300.0, 18.0, 24.0);
    let left = label_w + 36.0;
    let text_x = left + plot_w + 16.0;
    // Room for the widest estimate or reason written beside the plot.
    let widest = rows
        .iter()
        .map(|r| {
            let text = match r.estimate {
                Some(_) => format!("0,00 (0,00–0,00) {}", r.note),
                None => r.note.clone(),
            };
            text_width(&text, SIZE - 1.0, false)
        })
        .fold(160.0, f64::max);
    let width = text_x + 40.0 + widest + 12.0;
    let sides_h = if sides.is_some() { 16.0 } else { 0.0 };
    let height = top + rows.len() as f64 * row_h + 56.0 + sides_h;
    let box_side = box_sides(rows);
    let mut c = Canvas::new(width, height);
    // The axis covers every CI shown, and at least 0.5–2.
    let shown: Vec<f64> = rows
        .iter()
        .filter(|r| r.estimate.is_some())
        .flat_map(|r| [r.estimate, r.ci.map(|c| c.0), r.ci.map(|c| c.1)])
        .flatten()
        .filter(|v| *v > 0.0 && v.is_finite())
        .collect();
    let lo = shown.iter().copied().fold(0.5, f64::min).max(1e-3);
    let hi = shown.iter().copied().fold(2.0, f64::max).min(1e3);
    let (lo_l, hi_l) = (lo.log10().floor().min(-0.302), hi.log10().ceil().max(0.302));
    let x_of = |v: f64| {
        left + (v.max(10f64.powf(lo_l)).min(10f64.powf(hi_l)).log10() - lo_l) / (hi_l - lo_l)
            * plot_w
    };
    let bottom = top + rows.len() as f64 * row_h;
    let candidates: [f64; 13] =
        [0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0];
    for t in candidates.iter().filter(|t| (lo_l..=hi_l).contains(&t.log10())) {
        let x = x_of(*t);
        line(&mut c, (x, top), (x, bottom), GRID, 1.0);
        c.number(
            x,
            bottom + 14.0,
            number(*t, decimals_for(*t).max(usize::from(*t < 1.0)), decimal_comma),
            SIZE - 1.0,
            Anchor::Middle,
        );
    }
    c.push(Shape::Line {
        x1: x_of(1.0),
        y1: top - 4.0,
        x2: x_of(1.0),
        y2: bottom,
        colour: INK,
        width: 1.0,
        dashed: true,
    });
    line(&mut c, (left, bottom), (left + plot_w, bottom), INK, 1.0);
    if let Some((below, above)) = sides {
        // Each label reads away from the line of no effect.
        c.text(x_of(1.0) - 6.0, bottom + 30.0, below, SIZE - 1.0, Anchor::End);
        c.text(x_of(1.0) + 6.0, bottom + 30.0, above, SIZE - 1.0, Anchor::Start);
    }
    c.text(left + plot_w / 2.0, bottom + 32.0 + sides_h, x_label, SIZE, Anchor::Middle);
    c.text(text_x, top - 8.0, "n", SIZE - 1.0, Anchor::Start);
    c.text(
        text_x + 40.0,
        top - 8.0,
        if decimal_comma { "Estimat (95 % KI)" } else { "Estimate (95% CI)" },
        SIZE - 1.0,
        Anchor::Start,
    );
    for (i, r) in rows.iter().enumerate() {
        let y = top + i as f64 * row_h + row_h / 2.0;
        if r.heading {
            bold(&mut c, 8.0, y + 4.0, &r.label, SIZE);
            continue;
        }
        c.text(20.0, y + 4.0, r.label.as_str(), SIZE, Anchor::Start);
        if let Some(n) = r.n {
            c.text(text_x, y + 4.0, n.to_string(), SIZE - 1.0, Anchor::Start);
        }
        match (r.estimate, r.ci) {
            (Some(e), ci) => {
                if let Some((a, b)) = ci {
                    line(&mut c, (x_of(a), y), (x_of(b), y), INK, 1.2);
                }
                let side = box_side[i];
                c.push(Shape::Rect {
                    x: x_of(e) - side / 2.0,
                    y: y - side / 2.0,
                    w: side,
                    h: side,
                    fill: PALETTE[0],
                    stroke: Some(INK),
                });
                // Without an interval, the note says why.
                let ci_text = ci.map_or_else(
                    || if r.note.is_empty() { String::new() } else { format!(" ({})", r.note) },
                    |(a, b)| {
                        format!(
                            " ({}–{})",
                            number(a, 2, decimal_comma),
                            number(b, 2, decimal_comma)
                        )
                    },
                );
                c.text(
                    text_x + 40.0,
                    y + 4.0,
                    format!("{}{ci_text}", number(e, 2, decimal_comma)),
                    SIZE - 1.0,
                    Anchor::Start,
                );
            }
            (None, _) => c.text(text_x + 40.0, y + 4.0, r.note.as_str(), SIZE - 1.0, Anchor::Start),
        }
    }
    c
}

/// A named curve of (x, y) points, both in 0..=1.
#[derive(Debug, Clone)]
pub struct Curve {
    /// Points in order.
    pub points: Vec<(f64, f64)>,
}

/// One panel of Lorenz curves: its title, a line under it (the Gini per curve), and the
/// curves, each in the colour of its place in `series`.
#[derive(Debug, Clone)]
pub struct LorenzPanel {
    /// Title (the indicator).
    pub title: String,
    /// Lines under the title (each curve's Gini), in the curves' colours' order.
    pub subtitle: Vec<String>,
    /// (index into the series, curve).
    pub curves: Vec<(usize, Curve)>,
}

/// Lorenz curves as small multiples, three panels to a row, each with the line of equal
/// use, the series (the arms) in fixed colours and one legend for all.
pub fn lorenz_panels(
    panels: &[LorenzPanel],
    series: &[&str],
    (x_label, y_label): (&str, &str),
    decimal_comma: bool,
) -> Canvas {
    let (panel_w, panel_h, per_row) = (250.0, 264.0, 3usize);
    let rows = panels.len().div_ceil(per_row).max(1);
    let mut c = Canvas::new(panel_w * per_row as f64 + 20.0, panel_h * rows as f64 + 56.0);
    for (i, panel) in panels.iter().enumerate() {
        let ox = 20.0 + (i % per_row) as f64 * panel_w;
        let oy = (i / per_row) as f64 * panel_h;
        let (left, top, size) = (ox + 40.0, oy + 54.0, panel_w - 80.0);
        bold(&mut c, ox + 4.0, oy + 14.0, &panel.title, SIZE);
        for (k, text) in panel.subtitle.iter().enumerate() {
            c.text(ox + 4.0, oy + 28.0 + 13.0 * k as f64, text.as_str(), SIZE - 1.5, Anchor::Start);
        }
        let (x_of, y_of) = (|v: f64| left + v * size, |v: f64| top + size - v * size);
        for t in [0.0, 0.5, 1.0] {
            line(&mut c, (x_of(0.0), y_of(t)), (x_of(1.0), y_of(t)), GRID, 1.0);
            line(&mut c, (x_of(t), y_of(0.0)), (x_of(t), y_of(1.0)), GRID, 1.0);
            let pct = format!("{} %", number(t * 100.0, 0, decimal_comma));
            c.text(x_of(0.0) - 4.0, y_of(t) + 4.0, pct.clone(), SIZE - 2.0, Anchor::End);
            c.text(x_of(t), y_of(0.0) + 12.0, pct, SIZE - 2.0, Anchor::Middle);
        }
        c.push(Shape::Line {
            x1: x_of(0.0),
            y1: y_of(0.0),
            x2: x_of(1.0),
            y2: y_of(1.0),
            colour: INK,
            width: 1.0,
            dashed: true,
        });
        for (k, curve) in &panel.curves {
            let points = curve.points.iter().map(|&(x, y)| (x_of(x), y_of(y))).collect();
            c.push(Shape::Path { points, colour: PALETTE[k % 5], width: 2.0, dashed: false });
        }
        line(&mut c, (x_of(0.0), y_of(0.0)), (x_of(1.0), y_of(0.0)), INK, 1.0);
        line(&mut c, (x_of(0.0), y_of(0.0)), (x_of(0.0), y_of(1.0)), INK, 1.0);
    }
    let bottom = rows as f64 * panel_h;
    c.text(20.0 + panel_w * per_row as f64 / 2.0, bottom + 8.0, x_label, SIZE, Anchor::Middle);
    vertical_text(&mut c, 12.0, bottom / 2.0, y_label, SIZE);
    let entries: Vec<(&str, Colour)> =
        series.iter().enumerate().map(|(k, name)| (*name, PALETTE[k % 5])).collect();
    legend(&mut c, bottom + 34.0, &entries);
    c
}

/// A mean with its 95 % CI at one timepoint, or `None` when too few persons.
#[derive(Debug, Clone, Default)]
pub struct MeanPoint {
    /// Mean.
    pub mean: Option<f64>,
    /// CI.
    pub ci: Option<(f64, f64)>,
}

/// One panel of means per timepoint and arm: (title, [(arm label, points per timepoint)]).
pub type MeansPanel = (String, Vec<(String, Vec<MeanPoint>)>);

/// The vertical axis of a means panel: from 0 (`None`), or over a scale's answer range
/// (`Some((low, high))`, ticks on every whole answer when there are at most ten).
pub type MeansAxis = Option<(f64, f64)>;

/// Means with 95 % CIs at each timepoint, one line per arm, a panel per scale.
pub fn means_panels(
    panels: &[(MeansPanel, MeansAxis)],
    timepoints: &[String],
    y_label: &str,
    decimal_comma: bool,
) -> Canvas {
    let (panel_w, panel_h, per_row) = (250.0, 200.0, 3usize);
    let rows = panels.len().div_ceil(per_row).max(1);
    let mut c = Canvas::new(panel_w * per_row as f64, panel_h * rows as f64 + 40.0);
    let mut names: Vec<&str> = Vec::new();
    for (i, ((title, series), range)) in panels.iter().enumerate() {
        let ox = (i % per_row) as f64 * panel_w;
        let oy = (i / per_row) as f64 * panel_h;
        let (left, top, plot_w, plot_h) = (ox + 48.0, oy + 28.0, panel_w - 62.0, panel_h - 70.0);
        bold(&mut c, ox + 8.0, oy + 16.0, title, 12.0);
        let max = series
            .iter()
            .flat_map(|(_, p)| p)
            .filter_map(|p| p.ci.map(|c| c.1).or(p.mean))
            .fold(0.0, f64::max);
        let (axis_min, axis_max) = match *range {
            Some((low, high)) if high > low => {
                // Gridlines and labels on the scale's answers (1, 2, …, 5).
                let whole = high - low <= 10.0 && low.fract() == 0.0 && high.fract() == 0.0;
                let ticks: Vec<f64> = if whole {
                    (0..=((high - low) as usize)).map(|k| low + k as f64).collect()
                } else {
                    (0..=4).map(|k| low + (high - low) * f64::from(k) / 4.0).collect()
                };
                for t in ticks {
                    let y = top + plot_h - (t - low) / (high - low) * plot_h;
                    line(&mut c, (left, y), (left + plot_w, y), GRID, 1.0);
                    let decimals = usize::from(!whole);
                    c.number(
                        left - 4.0,
                        y + 4.0,
                        number(t, decimals, decimal_comma),
                        SIZE - 1.0,
                        Anchor::End,
                    );
                }
                line(&mut c, (left, top), (left, top + plot_h), INK, 1.0);
                (low, high)
            }
            _ => (0.0, y_axis(&mut c, (left, top, plot_w, plot_h), max, decimal_comma).0),
        };
        vertical_text(&mut c, ox + 12.0, top + plot_h / 2.0, y_label, 10.0);
        let step = plot_w / timepoints.len().max(1) as f64;
        for (t, name) in timepoints.iter().enumerate() {
            c.text(
                left + step * (t as f64 + 0.5),
                top + plot_h + 15.0,
                name.as_str(),
                SIZE,
                Anchor::Middle,
            );
        }
        let y_of = |v: f64| {
            top + plot_h - (v.clamp(axis_min, axis_max) - axis_min) / (axis_max - axis_min) * plot_h
        };
        for (s, (arm, points)) in series.iter().enumerate() {
            if !names.contains(&arm.as_str()) {
                names.push(arm);
            }
            let colour = PALETTE[s % 5];
            // Arms side by side so their whiskers do not overlap.
            let x_of = |t: usize| left + step * (t as f64 + 0.5) + (s as f64 - 0.5) * 10.0;
            let line_points: Vec<(f64, f64)> = points
                .iter()
                .enumerate()
                .filter_map(|(t, p)| p.mean.map(|m| (x_of(t), y_of(m))))
                .collect();
            if line_points.len() == points.len() && line_points.len() > 1 {
                c.push(Shape::Path { points: line_points, colour, width: 1.5, dashed: false });
            }
            for (t, p) in points.iter().enumerate() {
                match p.mean {
                    Some(m) => {
                        if let Some((lo, hi)) = p.ci {
                            line(&mut c, (x_of(t), y_of(lo)), (x_of(t), y_of(hi)), colour, 1.2);
                        }
                        c.push(Shape::Circle { x: x_of(t), y: y_of(m), r: 3.5, fill: colour });
                    }
                    None => c.text(x_of(t), top + plot_h - 3.0, ":", SIZE, Anchor::Middle),
                }
            }
        }
    }
    let entries: Vec<(&str, Colour)> =
        names.iter().enumerate().map(|(i, n)| (*n, PALETTE[i % 5])).collect();
    let h = c.height;
    legend(&mut c, h - 14.0, &entries);
    c
}

/// One horizontal 100 % bar: shares per level (summing to 1), or `None` when hidden.
#[derive(Debug, Clone)]
pub struct StackedBar {
    /// Label (item, timepoint, arm).
    pub label: String,
    /// Share of answers per level, lowest level first.
    pub shares: Option<Vec<f64>>,
}

/// Horizontal stacked 100 % bars (Likert items), one colour per level.
pub fn stacked_bars(bars: &[StackedBar], levels: &[String], decimal_comma: bool) -> Canvas {
    let label_w =
        bars.iter().map(|b| text_width(&b.label, SIZE, false) + 12.0).fold(80.0, f64::max);
    let (left, top, plot_w, row_h) = (label_w + 12.0, 12.0, 380.0, 20.0);
    let bottom = top + bars.len() as f64 * row_h;
    let width = left + plot_w + 24.0;
    // As many legend entries to a line as fit (five at most): answer labels are longer
    // than codes.
    let entry_w =
        levels.iter().map(|l| 17.0 + text_width(l, SIZE, false) + 24.0).fold(0.0, f64::max);
    let per_row = (((width - 20.0) / entry_w.max(1.0)).floor() as usize).clamp(1, 5);
    let mut c = Canvas::new(width, bottom + 62.0 + 18.0 * (levels.len().div_ceil(per_row) as f64));
    // A diverging-free sequential use of the palette: the first five colours, then grey.
    let colour = |k: usize| PALETTE[k.min(PALETTE.len() - 1)];
    for t in [0.0, 0.25, 0.5, 0.75, 1.0] {
        let x = left + t * plot_w;
        line(&mut c, (x, top), (x, bottom), GRID, 1.0);
        c.text(
            x,
            bottom + 14.0,
            format!("{} %", number(t * 100.0, 0, decimal_comma)),
            SIZE - 1.0,
            Anchor::Middle,
        );
    }
    for (i, bar) in bars.iter().enumerate() {
        let y = top + i as f64 * row_h;
        c.text(left - 6.0, y + row_h / 2.0 + 4.0, bar.label.as_str(), SIZE, Anchor::End);
        match &bar.shares {
            Some(shares) => {
                let mut x = left;
                for (k, share) in shares.iter().enumerate() {
                    let w = share * plot_w;
                    if w > 0.0 {
                        c.push(Shape::Rect {
                            x,
                            y: y + 3.0,
                            w,
                            h: row_h - 6.0,
                            fill: colour(k),
                            stroke: Some(INK),
                        });
                    }
                    x += w;
                }
            }
            None => c.text(left + 4.0, y + row_h / 2.0 + 4.0, ":", SIZE, Anchor::Start),
        }
    }
    for (row, chunk) in levels.chunks(per_row).enumerate() {
        let entries: Vec<(&str, Colour)> = chunk
            .iter()
            .enumerate()
            .map(|(k, l)| (l.as_str(), colour(row * per_row + k)))
            .collect();
        legend(&mut c, bottom + 40.0 + row as f64 * 18.0, &entries);
    }
    c
}

/// One horizontal bar of a bar chart, or a heading line (`value` `None`, `heading`).
#[derive(Debug, Clone)]
pub struct HBar {
    /// Label.
    pub label: String,
    /// A bold heading line without a bar.
    pub heading: bool,
    /// Value.
    pub value: Option<f64>,
}

/// Horizontal bars with headings (code frequencies grouped by theme).
pub fn hbars(bars: &[HBar], x_label: &str, decimal_comma: bool) -> Canvas {
    let label_w =
        bars.iter().map(|b| text_width(&b.label, SIZE, b.heading) + 18.0).fold(80.0, f64::max);
    let (left, top, plot_w, row_h) = (label_w + 12.0, 12.0, 320.0, 18.0);
    let bottom = top + bars.len() as f64 * row_h;
    let mut c = Canvas::new(left + plot_w + 40.0, bottom + 48.0);
    let max = bars.iter().filter_map(|b| b.value).fold(0.0, f64::max);
    let (axis_max, step) = ticks(max);
    let mut t = 0.0;
    while t <= axis_max + step / 2.0 {
        let x = left + t / axis_max * plot_w;
        line(&mut c, (x, top), (x, bottom), GRID, 1.0);
        c.number(
            x,
            bottom + 14.0,
            number(t, decimals_for_step(step), decimal_comma),
            SIZE - 1.0,
            Anchor::Middle,
        );
        t += step;
    }
    for (i, bar) in bars.iter().enumerate() {
        let y = top + i as f64 * row_h;
        if bar.heading {
            bold(&mut c, 6.0, y + row_h / 2.0 + 4.0, &bar.label, SIZE);
            continue;
        }
        c.text(left - 6.0, y + row_h / 2.0 + 4.0, bar.label.as_str(), SIZE, Anchor::End);
        if let Some(v) = bar.value {
            let w = v / axis_max * plot_w;
            c.push(Shape::Rect {
                x: left,
                y: y + 3.0,
                w,
                h: row_h - 6.0,
                fill: PALETTE[0],
                stroke: Some(INK),
            });
            c.number(
                left + w + 4.0,
                y + row_h / 2.0 + 4.0,
                number(v, 0, decimal_comma),
                SIZE - 1.0,
                Anchor::Start,
            );
        }
    }
    line(&mut c, (left, bottom), (left + plot_w, bottom), INK, 1.0);
    c.text(left + plot_w / 2.0, bottom + 32.0, x_label, SIZE, Anchor::Middle);
    c
}

/// The heatmap's colour for a share of its largest value: white to Okabe–Ito blue.
fn heat(share: f64) -> Colour {
    let mix = |a: u8, b: u8| (f64::from(a) + (f64::from(b) - f64::from(a)) * share).round() as u8;
    Colour(mix(255, PALETTE[0].0), mix(255, PALETTE[0].1), mix(255, PALETTE[0].2))
}

/// A heatmap of counts: rows × columns, darker for more, the count written in each cell,
/// and under it a colour legend from 0 to the largest count, titled `legend_title`.
pub fn heatmap(
    rows: &[String],
    columns: &[String],
    values: &[Vec<Option<f64>>],
    legend_title: &str,
    decimal_comma: bool,
) -> Canvas {
    let label_w = rows.iter().map(|r| text_width(r, SIZE, false) + 12.0).fold(80.0, f64::max);
    let cell_w =
        columns.iter().map(|c| text_width(c, SIZE - 1.0, false) + 10.0).fold(48.0, f64::max);
    let (left, top, cell_h) = (label_w + 8.0, 28.0, 20.0);
    let legend_w = 5.0 * 36.0;
    let mut c = Canvas::new(
        (left + cell_w * columns.len() as f64 + 16.0).max(left + legend_w + 16.0),
        top + cell_h * rows.len() as f64 + 70.0,
    );
    let max = values.iter().flatten().flatten().copied().fold(0.0, f64::max).max(1.0);
    // The legend: five swatches from 0 to the largest count, each labelled with its count.
    let legend_y = top + cell_h * rows.len() as f64 + 20.0;
    c.text(left, legend_y, legend_title, SIZE - 1.0, Anchor::Start);
    for k in 0..5 {
        let share = f64::from(k) / 4.0;
        let x = left + f64::from(k) * 36.0;
        c.push(Shape::Rect {
            x,
            y: legend_y + 6.0,
            w: 36.0,
            h: 12.0,
            fill: heat(share),
            stroke: Some(GRID),
        });
        // Labels at the ends and the middle, where the count is exact enough to read.
        if k % 2 == 0 {
            let decimals = usize::from((share * max).fract() != 0.0);
            c.number(
                x + 18.0,
                legend_y + 32.0,
                number(share * max, decimals, decimal_comma),
                SIZE - 2.0,
                Anchor::Middle,
            );
        }
    }
    for (j, name) in columns.iter().enumerate() {
        c.text(
            left + cell_w * (j as f64 + 0.5),
            top - 8.0,
            name.as_str(),
            SIZE - 1.0,
            Anchor::Middle,
        );
    }
    for (i, name) in rows.iter().enumerate() {
        let y = top + i as f64 * cell_h;
        c.text(left - 6.0, y + cell_h / 2.0 + 4.0, name.as_str(), SIZE, Anchor::End);
        for j in 0..columns.len() {
            let x = left + j as f64 * cell_w;
            let value = values.get(i).and_then(|r| r.get(j)).copied().flatten();
            let share = value.map_or(0.0, |v| v / max);
            // The count switches to white on dark cells.
            let fill = heat(share);
            c.push(Shape::Rect { x, y, w: cell_w, h: cell_h, fill, stroke: Some(GRID) });
            let text = value.map_or(String::new(), |v| number(v, 0, decimal_comma));
            let colour = if share > 0.55 { Colour(255, 255, 255) } else { INK };
            c.push(Shape::Text {
                x: x + cell_w / 2.0,
                y: y + cell_h / 2.0 + 4.0,
                text,
                size: SIZE - 1.0,
                bold: false,
                anchor: Anchor::Middle,
                vertical: false,
                colour,
                number: true,
            });
        }
    }
    c
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scale_means_sit_on_the_scales_own_range() {
        let point = |m: f64| MeanPoint { mean: Some(m), ci: Some((m - 0.5, m + 0.5)) };
        let panel: MeansPanel =
            ("PACIC (total)".into(), vec![("Pilot".into(), vec![point(3.0), point(5.0)])]);
        let tps = ["T0".to_owned(), "T1".to_owned()];
        let c = means_panels(&[(panel.clone(), Some((1.0, 5.0)))], &tps, "mean", false);
        let texts: Vec<&str> = c
            .shapes
            .iter()
            .filter_map(|s| match s {
                Shape::Text { text, .. } => Some(text.as_str()),
                _ => None,
            })
            .collect();
        for answer in ["1", "2", "3", "4", "5"] {
            assert!(texts.contains(&answer), "{answer} on the axis: {texts:?}");
        }
        assert!(!texts.contains(&"0"), "no 0 on a 1–5 scale: {texts:?}");
        // 3 is the middle of 1–5, and 5 the top: the plot runs from y 28 to 28 + 130.
        let ys: Vec<f64> = c
            .shapes
            .iter()
            .filter_map(|s| match s {
                Shape::Circle { y, .. } => Some(*y),
                _ => None,
            })
            .collect();
        assert_eq!(ys, [28.0 + 65.0, 28.0]);
        // Without a range the axis starts at 0.
        let c = means_panels(&[(panel, None)], &tps, "mean", false);
        assert!(c.shapes.iter().any(|s| matches!(s, Shape::Text { text, .. } if text == "0")));
    }

    #[test]
    fn nice_ticks() {
        assert_eq!(ticks(0.0), (1.0, 0.25));
        assert_eq!(ticks(3.7), (4.0, 1.0));
        // 0.43 / 4 = 0.1075 → step 0.2 (the next of 0.1, 0.2, 0.25 … above it), max 0.6.
        let (max, step) = ticks(0.43);
        assert!((max - 0.6).abs() < 1e-12 && (step - 0.2).abs() < 1e-12, "{max} {step}");
        assert_eq!(ticks(17.0), (20.0, 5.0));
    }

    #[test]
    fn tick_labels_share_decimals() {
        assert_eq!(decimals_for_step(0.25), 2);
        assert_eq!(decimals_for_step(0.5), 1);
        assert_eq!(decimals_for_step(20.0), 0);
        assert_eq!(number(1.0, decimals_for_step(0.25), true), "1,00");
    }

    fn rects(c: &Canvas) -> usize {
        c.shapes.iter().filter(|s| matches!(s, Shape::Rect { .. })).count()
    }

    #[test]
    fn suppressed_bars_are_not_drawn_and_whiskers_are() {
        let panel = Panel {
            title: "Liggedøgn".into(),
            groups: vec![(
                "Pilot".into(),
                [Bar { value: Some(2.0), ci: Some((1.5, 2.6)) }, Bar { value: None, ci: None }],
            )],
        };
        let c = bar_panels(&[panel], ["Før", "Etter"], "per personår", true);
        assert_eq!(rects(&c), 1 + 2, "one bar and two legend keys");
        assert!(c.shapes.iter().any(|s| matches!(s, Shape::Text { text, .. } if text == ":")));
        // The whisker reaches the upper limit, above the bar's top.
        let top_of_bar = c.shapes.iter().find_map(|s| match s {
            Shape::Rect { y, fill, .. } if *fill == PAIR[0] && *y > 20.0 => Some(*y),
            _ => None,
        });
        let whisker_top = c
            .shapes
            .iter()
            .filter_map(|s| match s {
                Shape::Line { x1, x2, y1, y2, .. } if (x1 - x2).abs() < 1e-9 => Some(y1.min(*y2)),
                _ => None,
            })
            .fold(f64::INFINITY, f64::min);
        assert!(whisker_top < top_of_bar.unwrap(), "{whisker_top} above {top_of_bar:?}");
        assert!(c.to_svg("f").contains("per personår"));
    }

    #[test]
    fn forest_marks_no_effect_and_leaves_out_what_it_cannot_show() {
        let row = |label: &str, e: Option<f64>| ForestRow {
            label: label.into(),
            heading: false,
            estimate: e,
            ci: e.map(|e| (e * 0.8, e * 1.25)),
            n: Some(40),
            note: ":".into(),
        };
        let rows = vec![
            ForestRow { heading: true, ..row("Liggedøgn", None) },
            row("Alle", Some(0.7)),
            row("Lindås", Some(0.6)),
            row("Os", None),
        ];
        let c = forest(&rows, "Ratio", Some(("← favours pilot", "favours comparison →")), false);
        let squares = c
            .shapes
            .iter()
            .filter(|s| matches!(s, Shape::Rect { fill, .. } if *fill == PALETTE[0]))
            .count();
        assert_eq!(squares, 2, "estimates drawn for two rows");
        // Precision-weighted: Lindås's interval is as wide on the log scale as the others',
        // so its box is as large; a row twice as precise gets the largest box.
        let sides_of = |c: &Canvas| -> Vec<f64> {
            c.shapes
                .iter()
                .filter_map(|s| match s {
                    Shape::Rect { w, fill, .. } if *fill == PALETTE[0] => Some(*w),
                    _ => None,
                })
                .collect()
        };
        assert!(sides_of(&c).iter().all(|s| (s - BOX_SIDES.1).abs() < 1e-6), "{:?}", sides_of(&c));
        let wide = ForestRow { ci: Some((0.7 * 0.64, 0.7 / 0.64)), ..row("Bred", Some(0.7)) };
        let c2 = forest(&[rows[1].clone(), wide], "Ratio", None, false);
        let s = sides_of(&c2);
        assert!((s[0] - BOX_SIDES.1).abs() < 1e-9 && s[1] < s[0], "{s:?}");
        assert!(
            c.shapes
                .iter()
                .any(|s| matches!(s, Shape::Text { text, .. } if text == "← favours pilot"))
        );
        assert!(
            c.shapes.iter().any(|s| matches!(s, Shape::Line { dashed: true, .. })),
            "line of no effect"
        );
        assert!(
            c.shapes
                .iter()
                .any(|s| matches!(s, Shape::Text { text, .. } if text == "0.70 (0.56–0.88)"))
        );
    }

    #[test]
    fn stacked_bars_fill_the_width_and_heatmaps_darken() {
        let bars = vec![
            StackedBar { label: "q1 T0".into(), shares: Some(vec![0.25, 0.25, 0.5]) },
            StackedBar { label: "q1 T1".into(), shares: None },
        ];
        let c = stacked_bars(&bars, &["1".into(), "2".into(), "3".into()], true);
        let widths: f64 = c
            .shapes
            .iter()
            .filter_map(|s| match s {
                Shape::Rect { w, h, .. } if *h > 12.5 => Some(*w),
                _ => None,
            })
            .sum();
        assert!((widths - 380.0).abs() < 1e-9, "{widths}");
        let h = heatmap(
            &["a".into()],
            &["x".into(), "y".into()],
            &[vec![Some(1.0), Some(4.0)]],
            "n",
            false,
        );
        let fills: Vec<Colour> = h
            .shapes
            .iter()
            .filter_map(|s| match s {
                Shape::Rect { fill, stroke: Some(_), .. } => Some(*fill),
                _ => None,
            })
            .collect();
        // The legend's five swatches first, white to the largest count's blue, then the cells.
        assert_eq!(fills.len(), 5 + 2);
        assert_eq!((fills[0], fills[4]), (Colour(255, 255, 255), PALETTE[0]), "legend");
        assert_eq!(fills[6], PALETTE[0], "the largest count is full blue");
        assert!(fills[5].0 > fills[6].0, "a smaller count is lighter");
        assert!(h.shapes.iter().any(|s| matches!(s, Shape::Text { text, .. } if text == "n")));
    }

    #[test]
    fn values_and_ticks_are_drawn_as_numbers_and_labels_as_text() {
        // A count of 23 456 789 on an axis to 30 000 000: eight digits that read as a
        // phone number unless the SVG says they are numbers.
        let bars = [
            HBar { label: "Tema 23456789".into(), heading: true, value: None },
            HBar { label: "Kode".into(), heading: false, value: Some(23_456_789.0) },
        ];
        let svg = hbars(&bars, "n", true).svg("Figur 1");
        let numbers: Vec<&str> = svg.numbers.iter().map(|r| &svg.text[r.clone()]).collect();
        assert_eq!(numbers, ["0", "10000000", "20000000", "30000000", "23456789"]);
        assert_eq!(svg.text, hbars(&bars, "n", true).to_svg("Figur 1"), "the same bytes");
        // The heading's digits are text, outside every range.
        let heading = svg.text.find("Tema 23456789").unwrap();
        assert!(svg.numbers.iter().all(|r| !r.contains(&(heading + 5))));
    }
}

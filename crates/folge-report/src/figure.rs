//! Figures as SVG, written by hand so the bytes are deterministic and need no font on the
//! machine that renders them. Palette: Okabe–Ito blue and a light grey, which stay apart
//! in greyscale print and for colour-blind readers.

use std::fmt::Write as _;

use crate::table::escape;

/// Before (light grey) and after (Okabe–Ito blue).
const COLOURS: [&str; 2] = ["#bbbbbb", "#0072b2"];
const FONT: &str = "DejaVu Sans, Liberation Sans, Arial, sans-serif";

/// One bar: a value, or `None` when suppressed (not drawn, marked ":").
#[derive(Debug, Clone)]
pub struct Bar {
    pub value: Option<f64>,
}

/// One panel: a title and bars grouped by arm, two bars (before, after) per group.
#[derive(Debug, Clone)]
pub struct Panel {
    pub title: String,
    pub groups: Vec<(String, [Bar; 2])>,
}

/// A rounded axis maximum and tick step: step is 1, 2, 2.5 or 5 × 10^k, four to five ticks.
fn ticks(max: f64) -> (f64, f64) {
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
fn decimals_for(v: f64) -> usize {
    if v.abs() >= 10.0 || v == 0.0 {
        0
    } else if v.abs() >= 1.0 {
        1
    } else {
        2
    }
}

/// Decimals that show every multiple of `step` exactly (0.25 → 2, 0.5 → 1, 5 → 0).
fn decimals_for_step(step: f64) -> usize {
    (0..=4)
        .find(|d| {
            let scaled = step * 10f64.powi(*d);
            (scaled - scaled.round()).abs() < 1e-9
        })
        .map_or(4, |d| d as usize)
}

fn number(v: f64, decimals: usize, decimal_comma: bool) -> String {
    let s = format!("{v:.decimals$}");
    if decimal_comma { s.replace('.', ",") } else { s }
}

/// Small multiples of bar charts, three panels per row, with a shared legend.
pub fn bar_panels(
    panels: &[Panel],
    legend: [&str; 2],
    y_label: &str,
    decimal_comma: bool,
) -> String {
    let (panel_w, panel_h, per_row) = (250.0, 210.0, 3usize);
    let rows = panels.len().div_ceil(per_row).max(1);
    let width = panel_w * per_row as f64;
    let height = panel_h * rows as f64 + 40.0;
    let mut s = String::new();
    let _ = writeln!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" font-family="{FONT}" font-size="11">"#
    );
    let _ = writeln!(s, r#"<rect width="{width}" height="{height}" fill="white"/>"#);
    for (i, panel) in panels.iter().enumerate() {
        let ox = (i % per_row) as f64 * panel_w;
        let oy = (i / per_row) as f64 * panel_h;
        let (left, top, plot_w, plot_h) = (ox + 48.0, oy + 28.0, panel_w - 62.0, panel_h - 78.0);
        let max = panel
            .groups
            .iter()
            .flat_map(|(_, bars)| bars.iter())
            .filter_map(|b| b.value)
            .fold(0.0, f64::max);
        let (axis_max, step) = ticks(max);
        let _ = writeln!(
            s,
            r#"<text x="{:.1}" y="{:.1}" font-weight="bold" font-size="12">{}</text>"#,
            ox + 8.0,
            oy + 16.0,
            escape(&panel.title)
        );
        let mut tick = 0.0;
        while tick <= axis_max + step / 2.0 {
            let y = top + plot_h - tick / axis_max * plot_h;
            let _ = writeln!(
                s,
                r##"<line x1="{left:.1}" x2="{:.1}" y1="{y:.1}" y2="{y:.1}" stroke="#e5e5e5"/>"##,
                left + plot_w
            );
            let _ = writeln!(
                s,
                r#"<text x="{:.1}" y="{:.1}" text-anchor="end">{}</text>"#,
                left - 4.0,
                y + 4.0,
                number(tick, decimals_for_step(step), decimal_comma)
            );
            tick += step;
        }
        let _ = writeln!(
            s,
            r#"<text transform="translate({:.1},{:.1}) rotate(-90)" text-anchor="middle" font-size="10">{}</text>"#,
            ox + 12.0,
            top + plot_h / 2.0,
            escape(y_label)
        );
        let group_w = plot_w / panel.groups.len().max(1) as f64;
        for (g, (label, bars)) in panel.groups.iter().enumerate() {
            let gx = left + g as f64 * group_w;
            let bar_w = group_w * 0.32;
            for (b, bar) in bars.iter().enumerate() {
                let x = gx + group_w * 0.16 + b as f64 * bar_w;
                match bar.value {
                    Some(v) => {
                        let h = v / axis_max * plot_h;
                        let _ = writeln!(
                            s,
                            r##"<rect x="{x:.1}" y="{:.1}" width="{:.1}" height="{h:.1}" fill="{}" stroke="#333333" stroke-width="0.5"/>"##,
                            top + plot_h - h,
                            bar_w - 2.0,
                            COLOURS[b]
                        );
                        let _ = writeln!(
                            s,
                            r#"<text x="{:.1}" y="{:.1}" text-anchor="middle" font-size="9">{}</text>"#,
                            x + bar_w / 2.0 - 1.0,
                            top + plot_h - h - 3.0,
                            number(v, decimals_for(v), decimal_comma)
                        );
                    }
                    None => {
                        let _ = writeln!(
                            s,
                            r#"<text x="{:.1}" y="{:.1}" text-anchor="middle">:</text>"#,
                            x + bar_w / 2.0 - 1.0,
                            top + plot_h - 3.0
                        );
                    }
                }
            }
            let _ = writeln!(
                s,
                r#"<text x="{:.1}" y="{:.1}" text-anchor="middle">{}</text>"#,
                gx + group_w / 2.0,
                top + plot_h + 15.0,
                escape(label)
            );
        }
        let _ = writeln!(
            s,
            r##"<line x1="{left:.1}" x2="{:.1}" y1="{:.1}" y2="{:.1}" stroke="#333333"/>"##,
            left + plot_w,
            top + plot_h,
            top + plot_h
        );
    }
    let ly = height - 18.0;
    for (i, name) in legend.iter().enumerate() {
        let lx = 20.0 + i as f64 * 140.0;
        let _ = writeln!(
            s,
            r##"<rect x="{lx:.1}" y="{:.1}" width="12" height="12" fill="{}" stroke="#333333" stroke-width="0.5"/>"##,
            ly - 10.0,
            COLOURS[i]
        );
        let _ = writeln!(s, r#"<text x="{:.1}" y="{ly:.1}">{}</text>"#, lx + 17.0, escape(name));
    }
    s.push_str("</svg>\n");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

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

    #[test]
    fn suppressed_bars_are_not_drawn() {
        let panel = Panel {
            title: "Liggedøgn".into(),
            groups: vec![("Pilot".into(), [Bar { value: Some(2.0) }, Bar { value: None }])],
        };
        let svg = bar_panels(&[panel], ["Før", "Etter"], "per personår", true);
        assert_eq!(svg.matches("<rect x=").count(), 1 + 2, "one bar and two legend keys");
        assert!(svg.contains(">:</text>"));
        assert!(svg.starts_with("<svg xmlns="));
    }
}

//! The Kaplan–Meier figure: survival from inclusion by arm as step lines, the 95 %
//! interval (Greenwood, log-log scale, as R's `survfit(conf.type = "log-log")`) as dashed steps, numbers at risk
//! under the axis. The small-cell rule: an arm with fewer persons than the threshold is
//! not drawn, and a curve stops where fewer than the threshold remain at risk (the
//! caption says both).

use std::fmt::Write as _;

use folge_schema::Arm;
use folge_schema::tables::SurvivalRow;

use crate::canvas::{Anchor, Canvas, Colour, GRID, INK, PALETTE, Shape, text_width};
use crate::estimates::{BETWEEN_ARMS_AFTER, overall, p_text};
use crate::figure::{SIZE, legend, line, number, vertical_text};
use crate::figures::FigureOut;
use crate::input::{Language, ReportInput, ReportParams, arm_label};

const ARMS: [Arm; 2] = [Arm::Pilot, Arm::Comparison];
/// Pilot blue, comparison orange, as in the event-time figure.
const COLOURS: [Colour; 2] = [PALETTE[0], PALETTE[1]];

/// One step of a Kaplan–Meier curve: survival just after `day`, with its interval.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct KmStep {
    /// Day relative to inclusion.
    pub day: f64,
    /// Survival just after it.
    pub survival: f64,
    /// 95 % interval.
    pub ci: Option<(f64, f64)>,
}

/// One arm's curve: steps in day order, drawn from day 0 (survival 1) to `end_day`;
/// `at_risk` the text under the axis at each tick day (`None`: nothing written).
#[derive(Debug, Clone)]
pub struct KmArm {
    /// Legend label.
    pub label: String,
    /// Colour of the curve.
    pub colour: Colour,
    /// Steps.
    pub steps: Vec<KmStep>,
    /// Last day the curve is drawn to.
    pub end_day: f64,
    /// Numbers at risk at each tick day.
    pub at_risk: Vec<Option<String>>,
}

/// The runs of a step line through `(day, value)` from the first value on, level until
/// the next day and then straight down (or up), on to `end`; a `None` ends a run.
fn step_runs(points: &[(f64, Option<f64>)], end: f64) -> Vec<Vec<(f64, f64)>> {
    let mut runs = Vec::new();
    let mut run: Vec<(f64, f64)> = Vec::new();
    let mut previous: Option<f64> = None;
    for &(day, value) in points {
        if let Some(p) = previous {
            run.push((day, p));
        }
        if let Some(v) = value {
            run.push((day, v));
            previous = Some(v);
        } else {
            runs.push(std::mem::take(&mut run));
            previous = None;
        }
    }
    if let Some(p) = previous {
        run.push((end, p));
    }
    runs.push(run);
    runs.retain(|r| r.len() > 1);
    runs
}

/// A readable step for a survival axis from `low` to 1: 1, 2, 5, 10 or 20 percentage
/// points, five to ten ticks.
fn survival_step(low: f64) -> f64 {
    [0.01, 0.02, 0.05, 0.1, 0.2].into_iter().find(|s| (1.0 - low) / s <= 10.0).unwrap_or(0.2)
}

/// Kaplan–Meier curves: survival on the y axis (from `y_min`, in percent), days from
/// inclusion on the x axis up to `x_max`, ticks at `tick_days`, numbers at risk under it.
pub fn km_chart(
    arms: &[KmArm],
    (tick_days, x_max): (&[f64], f64),
    y_min: f64,
    labels: [&str; 3],
    decimal_comma: bool,
) -> Canvas {
    let [x_label, y_label, at_risk_label] = labels;
    // Room on the left for the arms' names in the numbers at risk.
    let names = arms.iter().map(|a| text_width(&a.label, SIZE - 1.0, false)).fold(0.0, f64::max);
    let (left, top, plot_w, plot_h) = ((names + 28.0).max(64.0), 16.0, 420.0, 240.0);
    let bottom = top + plot_h;
    let risk_rows =
        if arms.iter().any(|a| a.at_risk.iter().any(Option::is_some)) { 1 + arms.len() } else { 0 };
    let mut c = Canvas::new(left + plot_w + 36.0, bottom + 46.0 + 16.0 * risk_rows as f64 + 30.0);
    let x_max = x_max.max(1.0);
    let x_of = |d: f64| left + d.clamp(0.0, x_max) / x_max * plot_w;
    let y_of = |v: f64| bottom - (v.clamp(y_min, 1.0) - y_min) / (1.0 - y_min) * plot_h;
    let step = survival_step(y_min);
    let mut tick = 1.0;
    while tick >= y_min - 1e-9 {
        let y = y_of(tick);
        line(&mut c, (left, y), (left + plot_w, y), GRID, 1.0);
        let pct = format!("{} %", number(tick * 100.0, 0, decimal_comma));
        c.text(left - 4.0, y + 4.0, pct, SIZE - 1.0, Anchor::End);
        tick -= step;
    }
    vertical_text(&mut c, 14.0, top + plot_h / 2.0, y_label, SIZE - 1.0);
    for &d in tick_days {
        let x = x_of(d);
        line(&mut c, (x, bottom), (x, bottom + 3.0), INK, 1.0);
        c.number(x, bottom + 14.0, number(d, 0, decimal_comma), SIZE - 1.0, Anchor::Middle);
    }
    line(&mut c, (left, bottom), (left + plot_w, bottom), INK, 1.0);
    line(&mut c, (left, top), (left, bottom), INK, 1.0);
    c.text(left + plot_w / 2.0, bottom + 30.0, x_label, SIZE - 1.0, Anchor::Middle);
    for arm in arms {
        for k in 0..2 {
            let limits: Vec<(f64, Option<f64>)> = arm
                .steps
                .iter()
                .map(|s| (s.day, s.ci.map(|ci| if k == 0 { ci.0 } else { ci.1 })))
                .collect();
            for run in step_runs(&limits, arm.end_day) {
                let points = run.into_iter().map(|(d, v)| (x_of(d), y_of(v))).collect();
                c.push(Shape::Path { points, colour: arm.colour, width: 0.8, dashed: true });
            }
        }
        let mut curve = vec![(0.0, Some(1.0))];
        curve.extend(arm.steps.iter().map(|s| (s.day, Some(s.survival))));
        for run in step_runs(&curve, arm.end_day) {
            let points = run.into_iter().map(|(d, v)| (x_of(d), y_of(v))).collect();
            c.push(Shape::Path { points, colour: arm.colour, width: 2.0, dashed: false });
        }
    }
    let mut y = bottom + 52.0;
    if risk_rows > 0 {
        c.push(Shape::Text {
            x: 8.0,
            y,
            text: at_risk_label.to_owned(),
            size: SIZE - 1.0,
            bold: true,
            anchor: Anchor::Start,
            vertical: false,
            colour: INK,
            number: false,
        });
        for arm in arms {
            y += 16.0;
            c.push(Shape::Text {
                x: 8.0,
                y,
                text: arm.label.clone(),
                size: SIZE - 1.0,
                bold: false,
                anchor: Anchor::Start,
                vertical: false,
                colour: arm.colour,
                number: false,
            });
            for (&d, n) in tick_days.iter().zip(&arm.at_risk) {
                if let Some(n) = n {
                    c.number(x_of(d), y, n.as_str(), SIZE - 1.0, Anchor::Middle);
                }
            }
        }
    }
    let entries: Vec<(&str, Colour)> = arms.iter().map(|a| (a.label.as_str(), a.colour)).collect();
    legend(&mut c, y + 26.0, &entries);
    c
}

/// Each arm's follow-up end per person, from the de-identified participants: the exit day,
/// or the end of data when earlier or without exit.
fn follow_up_ends(input: &ReportInput<'_>, arm: Arm) -> Vec<i32> {
    input
        .tables
        .participants()
        .iter()
        .filter(|p| p.arm() == arm)
        .map(|p| p.exit_day().map_or(p.data_end_day(), |e| e.min(p.data_end_day())))
        .collect()
}

/// The Kaplan–Meier figure from the `survival` rows, or `None` without them.
pub fn figure(input: &ReportInput<'_>, params: &ReportParams) -> Option<FigureOut> {
    let lang = params.language;
    let nb = lang == Language::Nb;
    let rule = params.rule;
    let threshold = i64::from(rule.threshold);
    if input.survival.is_empty() {
        return None;
    }
    let mut arms = Vec::new();
    let mut counts: Vec<String> = Vec::new();
    let mut hidden_arms = Vec::new();
    let mut truncated = false;
    let mut lowest: f64 = 1.0;
    let mut ends = Vec::new();
    for (a, arm) in ARMS.into_iter().enumerate() {
        let mut rows: Vec<&SurvivalRow> = input.survival.iter().filter(|r| r.arm == arm).collect();
        rows.sort_by_key(|r| r.day);
        let n = rows.iter().map(|r| r.n_risk).max().unwrap_or(0);
        if n < threshold {
            counts.push(if rule.hides_count(n as f64) { ":".to_owned() } else { n.to_string() });
            hidden_arms.push(arm_label(arm, lang));
            continue;
        }
        counts.push(n.to_string());
        // Risk sets counted from the participants, used only when they agree with the
        // analysis's at every row (the same follow-up): then the curve runs on past the
        // last death while enough remain, and the numbers at risk are exact.
        let follow_up = follow_up_ends(input, arm);
        let at_risk = |day: i32| follow_up.iter().filter(|&&end| end >= day).count() as i64;
        let agrees = rows.iter().all(|r| at_risk(r.day) == r.n_risk);
        let kept: Vec<&SurvivalRow> =
            rows.iter().copied().take_while(|r| r.n_risk >= threshold).collect();
        truncated |= kept.len() < rows.len();
        let last_day = kept.last().map_or(0, |r| r.day);
        let end_day = if kept.len() == rows.len() && agrees {
            // The last day with enough at risk, within the after window (or the rows).
            let window_end = (params.after_days as i32 - 1).max(last_day);
            let last_enough =
                (last_day..=window_end).take_while(|d| at_risk(*d) >= threshold).last();
            truncated |= last_enough.is_some_and(|d| d < window_end);
            last_enough.unwrap_or(last_day)
        } else {
            last_day
        };
        let steps: Vec<KmStep> = kept
            .iter()
            .map(|r| KmStep {
                day: f64::from(r.day),
                survival: r.survival,
                ci: r.ci_low.zip(r.ci_high),
            })
            .collect();
        for s in &steps {
            lowest = lowest.min(s.ci.map_or(s.survival, |ci| ci.0.min(s.survival)));
        }
        ends.push(end_day);
        arms.push((
            KmArm {
                label: arm_label(arm, lang).to_owned(),
                colour: COLOURS[a],
                steps,
                end_day: f64::from(end_day),
                at_risk: Vec::new(),
            },
            agrees.then_some(follow_up),
        ));
    }
    // The axis ends with the longest curve; ticks every 90 days (30 for a short one).
    let x_end = ends.iter().copied().max().unwrap_or(0).max(1).unsigned_abs();
    let step = if x_end > 120 { 90 } else { 30 };
    let tick_days: Vec<f64> = (0..=x_end / step).map(|k| f64::from(k * step)).collect();
    let arms: Vec<KmArm> = arms
        .into_iter()
        .map(|(mut arm, counts)| {
            arm.at_risk = tick_days
                .iter()
                .map(|&d| {
                    let follow_up = counts.as_ref()?;
                    (d <= arm.end_day).then(|| {
                        let n = follow_up.iter().filter(|&&end| f64::from(end) >= d).count();
                        if rule.hides_count(n as f64) { ":".to_owned() } else { n.to_string() }
                    })
                })
                .collect();
            arm
        })
        .collect();
    // The axis starts at a round level under the lowest limit drawn; near 0, at 0.
    let y_min = {
        let low = ((lowest - 0.02) * 20.0).floor() / 20.0;
        if low < 0.3 { 0.0 } else { low }
    };
    let canvas = km_chart(
        &arms,
        (&tick_days, f64::from(x_end)),
        y_min,
        [
            lang.pick("dager etter inklusjon", "days after inclusion"),
            lang.pick("andel i live", "proportion alive"),
            lang.pick("Under risiko", "At risk"),
        ],
        nb,
    );
    let mut caption = match lang {
        Language::Nb => format!(
            "Overlevelse etter inklusjon (Kaplan–Meier), pilot (n = {}) og sammenligning (n = {}); stiplet: 95 % konfidensintervall (Greenwood-varians på log-log-skala, som R survfit). Sensurert ved flytting, utmelding og slutt på data.",
            counts[0], counts[1]
        ),
        Language::En => format!(
            "Survival after inclusion (Kaplan–Meier), pilot (n = {}) and comparison (n = {}); dashed: 95% confidence interval (Greenwood variance on the log-log scale, as R survfit). Censored at moving away, withdrawal and the end of data.",
            counts[0], counts[1]
        ),
    };
    if truncated {
        let _ = match lang {
            Language::Nb => write!(
                caption,
                " En kurve slutter der færre enn {threshold} personer er under risiko."
            ),
            Language::En => write!(
                caption,
                " A curve ends where fewer than {threshold} persons remain at risk."
            ),
        };
    }
    if !hidden_arms.is_empty() {
        let _ = match lang {
            Language::Nb => write!(
                caption,
                " Ikke vist (færre enn {threshold} personer): {}.",
                hidden_arms.join(", ").to_lowercase()
            ),
            Language::En => write!(
                caption,
                " Not shown (fewer than {threshold} persons): {}.",
                hidden_arms.join(", ").to_lowercase()
            ),
        };
    }
    if y_min > 0.0 {
        let level = number(y_min * 100.0, 0, nb);
        let _ = match lang {
            Language::Nb => write!(caption, " Merk: y-aksen starter ved {level} %."),
            Language::En => write!(caption, " Note: the y axis starts at {level} %."),
        };
    }
    if let Some(row) =
        overall(input.comparisons, folge_analyze::Indicator::Mortality, BETWEEN_ARMS_AFTER)
    {
        let hidden = ARMS.iter().any(|&arm| {
            crate::input::rate(input.rates, folge_analyze::Indicator::Mortality, arm, "after")
                .is_some_and(|r| rule.hides_rate(r.value_total, r.n))
        });
        let text = match (hidden, row.effect_size) {
            (true, _) => ":".to_owned(),
            (false, Some(e)) => {
                let mut parts = Vec::new();
                if let Some((lo, hi)) = row.ci_low.zip(row.ci_high) {
                    parts.push(format!(
                        "{} {}–{}",
                        lang.pick("95 % KI", "95% CI"),
                        number(lo, 2, nb),
                        number(hi, 2, nb)
                    ));
                }
                if let Some(p) = row.p_value {
                    parts.push(p_text(p, nb));
                }
                if parts.is_empty() {
                    number(e, 2, nb)
                } else {
                    format!("{} ({})", number(e, 2, nb), parts.join("; "))
                }
            }
            (false, None) => crate::estimates::missing_reason(row, lang),
        };
        let _ = match lang {
            Language::Nb => {
                write!(caption, " Dødsfall etter inklusjon, rateratio pilot/sammenligning: {text}.")
            }
            Language::En => {
                write!(caption, " Deaths after inclusion, rate ratio pilot/comparison: {text}.")
            }
        };
    }
    if arms.is_empty() && hidden_arms.is_empty() {
        return None;
    }
    Some(FigureOut { id: "figure_survival".into(), caption, canvas })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_rows::{Results, params, people, survival};
    use folge_analyze::Indicator;

    fn curves(c: &Canvas) -> Vec<(Colour, Vec<(f64, f64)>)> {
        c.shapes
            .iter()
            .filter_map(|s| match s {
                Shape::Path { points, colour, dashed: false, .. } => {
                    Some((*colour, points.clone()))
                }
                _ => None,
            })
            .collect()
    }

    #[test]
    fn step_runs_hold_the_level_until_the_next_day() {
        let runs = step_runs(
            &[(0.0, Some(1.0)), (10.0, Some(0.9)), (20.0, None), (30.0, Some(0.8))],
            40.0,
        );
        assert_eq!(
            runs,
            vec![
                vec![(0.0, 1.0), (10.0, 1.0), (10.0, 0.9), (20.0, 0.9)],
                vec![(30.0, 0.8), (40.0, 0.8)]
            ]
        );
    }

    #[test]
    fn km_steps_only_go_down_with_dashed_limits_and_numbers_at_risk() {
        let results = Results::new(&[Indicator::Mortality]);
        let params = params(&[Indicator::Mortality], Language::Nb);
        let figure = figure(&results.input(), &params).unwrap();
        let curves = curves(&figure.canvas);
        assert_eq!(curves.len(), 2, "one step line per arm");
        for (_, points) in &curves {
            // SVG y grows downward: survival falls, y rises; days only go forward.
            assert!(points.windows(2).all(|w| w[1].0 >= w[0].0 && w[1].1 >= w[0].1), "{points:?}");
            assert!(points.last().unwrap().1 > points[0].1, "deaths lower the curve");
            // Steps: each move is level or straight down, never a slope.
            let level = |a: f64, b: f64| (a - b).abs() < 1e-9;
            assert!(points.windows(2).all(|w| level(w[1].0, w[0].0) || level(w[1].1, w[0].1)));
        }
        let dashed = figure
            .canvas
            .shapes
            .iter()
            .filter(|s| matches!(s, Shape::Path { dashed: true, .. }))
            .count();
        assert_eq!(dashed, 4, "lower and upper limits per arm");
        let text = |t: &str| {
            figure.canvas.shapes.iter().any(|s| matches!(s, Shape::Text { text, .. } if text == t))
        };
        assert!(text("Under risiko") && text("40") && text("30"), "numbers at risk at day 0");
        let caption = &figure.caption;
        for part in [
            "Kaplan–Meier",
            "Greenwood-varians på log-log-skala, som R survfit",
            "pilot (n = 40) og sammenligning (n = 30)",
            "rateratio pilot/sammenligning: 0,62 (95 % KI 0,53–0,73; p = 0,012)",
            // The last comparison persons were included late: few remain after a while.
            "En kurve slutter der færre enn 5 personer er under risiko.",
        ] {
            assert!(caption.contains(part), "{part} in {caption}");
        }
    }

    #[test]
    fn a_small_arm_is_not_drawn_and_the_caption_says_why() {
        let mut results = Results::new(&[Indicator::Mortality]);
        results.tables = people(40, 3);
        results.survival = survival(&results.tables);
        let params = params(&[Indicator::Mortality], Language::En);
        let figure = figure(&results.input(), &params).unwrap();
        let curves = curves(&figure.canvas);
        assert_eq!(curves.len(), 1);
        assert_eq!(curves[0].0, COLOURS[0], "only the pilots");
        assert!(
            !figure
                .canvas
                .shapes
                .iter()
                .any(|s| matches!(s, Shape::Path { colour, .. } if *colour == COLOURS[1])),
            "no limits of the comparison arm either"
        );
        let caption = &figure.caption;
        assert!(caption.contains("comparison (n = :)"), "{caption}");
        assert!(caption.contains("Not shown (fewer than 5 persons): comparison."), "{caption}");
    }
}

//! A figure as a list of shapes, drawn twice: as SVG (text turned into DejaVu Sans glyph
//! outlines, so it looks the same on a machine without fonts; an invisible copy of the
//! text keeps it searchable) and as PNG at print resolution (plotters' bitmap backend for
//! the shapes; text rasterised from the same glyphs, laid out by the same advances and
//! kerning as the SVG's). Coordinates are SVG pixels (96 per inch).

use std::fmt::Write as _;
use std::sync::OnceLock;

use ab_glyph::{Font, FontRef, OutlineCurve, PxScale, point};
use plotters::backend::DrawingBackend;
use plotters::prelude::{BitMapBackend, Color, RGBColor};

use crate::numbered::NumberedText;
use crate::table::escape;

/// PNG resolution: 300 dots per inch, so a figure pastes into Word at its SVG size.
pub const PNG_DPI: f64 = 300.0;
const SCALE: f64 = PNG_DPI / 96.0;

/// An sRGB colour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Colour(pub u8, pub u8, pub u8);

impl Colour {
    /// `#rrggbb`.
    fn hex(self) -> String {
        format!("#{:02x}{:02x}{:02x}", self.0, self.1, self.2)
    }
}

/// Black-ish text and axis lines.
pub const INK: Colour = Colour(0x33, 0x33, 0x33);
/// Grid lines.
pub const GRID: Colour = Colour(0xe5, 0xe5, 0xe5);
/// Okabe–Ito blue, orange, bluish green, vermillion and reddish purple, then grey: apart
/// for colour-blind readers, and blue/orange/grey apart in greyscale.
pub const PALETTE: [Colour; 6] = [
    Colour(0x00, 0x72, 0xb2),
    Colour(0xe6, 0x9f, 0x00),
    Colour(0x00, 0x9e, 0x73),
    Colour(0xd5, 0x5e, 0x00),
    Colour(0xcc, 0x79, 0xa7),
    Colour(0xbb, 0xbb, 0xbb),
];

/// Where a text's x lies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Anchor {
    /// x is the start.
    Start,
    /// x is the middle.
    Middle,
    /// x is the end.
    End,
}

/// One thing drawn.
#[derive(Debug, Clone, PartialEq)]
pub enum Shape {
    /// A filled rectangle, optionally outlined.
    Rect { x: f64, y: f64, w: f64, h: f64, fill: Colour, stroke: Option<Colour> },
    /// A straight line.
    Line { x1: f64, y1: f64, x2: f64, y2: f64, colour: Colour, width: f64, dashed: bool },
    /// A filled circle (a point estimate).
    Circle { x: f64, y: f64, r: f64, fill: Colour },
    /// Connected line segments, dashed (4 on, 3 off) along the whole path when `dashed`.
    Path { points: Vec<(f64, f64)>, colour: Colour, width: f64, dashed: bool },
    /// Text on a baseline at y; `vertical` turns it 90° anticlockwise about (x, y).
    Text {
        x: f64,
        y: f64,
        text: String,
        size: f64,
        bold: bool,
        anchor: Anchor,
        vertical: bool,
        colour: Colour,
        /// The text is a number folge computed (a value, a count, a tick label), drawn
        /// with [`Canvas::number`]: the SVG's ranges say so to the re-scan.
        number: bool,
    },
}

/// A figure's size and shapes.
#[derive(Debug, Clone, Default)]
pub struct Canvas {
    /// Width in SVG pixels.
    pub width: f64,
    /// Height in SVG pixels.
    pub height: f64,
    /// Shapes, in drawing order.
    pub shapes: Vec<Shape>,
}

impl Shape {
    fn is_text(&self) -> bool {
        matches!(self, Shape::Text { .. })
    }
}

fn fonts() -> &'static [FontRef<'static>; 2] {
    static FONTS: OnceLock<[FontRef<'static>; 2]> = OnceLock::new();
    FONTS.get_or_init(|| {
        let load = |bytes| FontRef::try_from_slice(bytes).expect("DejaVu Sans is a valid font");
        [load(dejavu::sans::regular()), load(dejavu::sans::bold())]
    })
}

fn err(e: impl std::fmt::Display) -> String {
    format!("drawing the PNG: {e}")
}

/// The advance width of `text` at `size` pixels.
pub fn text_width(text: &str, size: f64, bold: bool) -> f64 {
    let font = &fonts()[usize::from(bold)];
    let scale = size / f64::from(font.units_per_em().unwrap_or(2048.0));
    let mut width = 0.0;
    let mut previous = None;
    for c in text.chars() {
        let id = font.glyph_id(c);
        if let Some(p) = previous {
            width += f64::from(font.kern_unscaled(p, id));
        }
        width += f64::from(font.h_advance_unscaled(id));
        previous = Some(id);
    }
    width * scale
}

/// SVG path data for `text` laid out from (0, 0) on the baseline.
#[expect(clippy::many_single_char_names, reason = "a curve's points, as the font names them")]
fn glyph_path(text: &str, size: f64, bold: bool, start: f64) -> String {
    let font = &fonts()[usize::from(bold)];
    let scale = size / f64::from(font.units_per_em().unwrap_or(2048.0));
    let mut d = String::new();
    let mut pen = start;
    let mut previous = None;
    let p =
        |pen: f64, pt: ab_glyph::Point| (pen + f64::from(pt.x) * scale, -f64::from(pt.y) * scale);
    for c in text.chars() {
        let id = font.glyph_id(c);
        if let Some(prev) = previous {
            pen += f64::from(font.kern_unscaled(prev, id)) * scale;
        }
        if let Some(outline) = font.outline(id) {
            let mut last: Option<(f64, f64)> = None;
            for curve in &outline.curves {
                let (from, rest) = match curve {
                    OutlineCurve::Line(a, b) => {
                        (p(pen, *a), format!("L{:.1} {:.1}", p(pen, *b).0, p(pen, *b).1))
                    }
                    OutlineCurve::Quad(a, b, c) => {
                        let (b, c) = (p(pen, *b), p(pen, *c));
                        (p(pen, *a), format!("Q{:.1} {:.1} {:.1} {:.1}", b.0, b.1, c.0, c.1))
                    }
                    OutlineCurve::Cubic(a, b, c, e) => {
                        let (b, c, e) = (p(pen, *b), p(pen, *c), p(pen, *e));
                        (
                            p(pen, *a),
                            format!(
                                "C{:.1} {:.1} {:.1} {:.1} {:.1} {:.1}",
                                b.0, b.1, c.0, c.1, e.0, e.1
                            ),
                        )
                    }
                };
                let joined = last
                    .is_some_and(|l| (l.0 - from.0).abs() < 1e-3 && (l.1 - from.1).abs() < 1e-3);
                if !joined {
                    let _ = write!(d, "M{:.1} {:.1}", from.0, from.1);
                }
                d.push_str(&rest);
                last = Some(match curve {
                    OutlineCurve::Line(_, b)
                    | OutlineCurve::Quad(_, _, b)
                    | OutlineCurve::Cubic(_, _, _, b) => p(pen, *b),
                });
            }
        }
        pen += f64::from(font.h_advance_unscaled(id)) * scale;
        previous = Some(id);
    }
    d
}

/// Where each glyph of `text` starts on the pen line, in units of `size` pixels per em,
/// from 0: the advances and kerning `text_width` and `glyph_path` use.
fn pen_positions(font: &FontRef<'static>, text: &str, size: f64) -> Vec<(ab_glyph::GlyphId, f64)> {
    let scale = size / f64::from(font.units_per_em().unwrap_or(2048.0));
    let mut pen = 0.0;
    let mut previous = None;
    let mut out = Vec::new();
    for c in text.chars() {
        let id = font.glyph_id(c);
        if let Some(prev) = previous {
            pen += f64::from(font.kern_unscaled(prev, id)) * scale;
        }
        out.push((id, pen));
        pen += f64::from(font.h_advance_unscaled(id)) * scale;
        previous = Some(id);
    }
    out
}

/// Text rasterised into an RGB buffer `width` × `height`: the glyphs' coverage blended
/// over what is there, the baseline starting at `start` (device pixels) and running right,
/// or up when `vertical` (turned 90° anticlockwise about that point, as in the SVG).
#[expect(clippy::too_many_arguments, reason = "one text shape's fields, in device pixels")]
fn raster_text(
    pixels: &mut [u8],
    (width, height): (u32, u32),
    text: &str,
    size: f64,
    bold: bool,
    start: (f64, f64),
    vertical: bool,
    colour: Colour,
) {
    let font = &fonts()[usize::from(bold)];
    let units_per_em = f64::from(font.units_per_em().unwrap_or(2048.0));
    // ab_glyph scales by the font's height (ascent − descent), the SVG by the em.
    let px_scale = PxScale::from((size * f64::from(font.height_unscaled()) / units_per_em) as f32);
    let ink = [colour.0, colour.1, colour.2].map(f32::from);
    let (origin_x, origin_y) = (start.0.round(), start.1.round());
    let mut plot = |along: i64, across: i64, coverage: f32| {
        // (along, across): the pixel in the horizontal layout, from the start point.
        let (column, row) = if vertical {
            (origin_x as i64 + across, origin_y as i64 - along)
        } else {
            (origin_x as i64 + along, origin_y as i64 + across)
        };
        if column < 0 || row < 0 || column >= i64::from(width) || row >= i64::from(height) {
            return;
        }
        let at = ((row as usize) * (width as usize) + column as usize) * 3;
        let share = coverage.clamp(0.0, 1.0);
        for (channel, target) in pixels[at..at + 3].iter_mut().zip(ink) {
            *channel = (f32::from(*channel) * (1.0 - share) + target * share).round() as u8;
        }
    };
    // The start's fraction of a pixel stays in the layout (glyphs are placed at fractions).
    let (offset_along, offset_across) = if vertical {
        ((origin_y - start.1) as f32, (start.0 - origin_x) as f32)
    } else {
        ((start.0 - origin_x) as f32, (start.1 - origin_y) as f32)
    };
    for (id, pen) in pen_positions(font, text, size) {
        let glyph =
            id.with_scale_and_position(px_scale, point(offset_along + pen as f32, offset_across));
        if let Some(outlined) = font.outline_glyph(glyph) {
            let bounds = outlined.px_bounds();
            let (left, top) = (bounds.min.x as i64, bounds.min.y as i64);
            outlined.draw(|gx, gy, coverage| {
                plot(left + i64::from(gx), top + i64::from(gy), coverage);
            });
        }
    }
}

/// The drawn pieces of a dashed path: 4 on, 3 off, the pattern running on across corners
/// (as SVG's `stroke-dasharray` does), so a step line with short steps stays dashed.
fn dashes(points: &[(f64, f64)]) -> Vec<((f64, f64), (f64, f64))> {
    const ON: f64 = 4.0;
    const PERIOD: f64 = 7.0;
    let mut pieces = Vec::new();
    // Distance along the path at the start of the current segment.
    let mut travelled = 0.0;
    for pair in points.windows(2) {
        let (a, b) = (pair[0], pair[1]);
        let length = ((b.0 - a.0).powi(2) + (b.1 - a.1).powi(2)).sqrt();
        if length == 0.0 {
            continue;
        }
        let at = |t: f64| (a.0 + (b.0 - a.0) * t / length, a.1 + (b.1 - a.1) * t / length);
        // Walk the dashes that overlap this segment.
        let mut start = -(travelled % PERIOD);
        while start < length {
            let (from, to) = (start.max(0.0), (start + ON).min(length));
            if to > from {
                pieces.push((at(from), at(to)));
            }
            start += PERIOD;
        }
        travelled += length;
    }
    pieces
}

impl Canvas {
    /// An empty white figure.
    pub fn new(width: f64, height: f64) -> Self {
        Canvas { width, height, shapes: Vec::new() }
    }

    /// Add a shape.
    pub fn push(&mut self, shape: Shape) {
        self.shapes.push(shape);
    }

    /// Text with the common defaults (ink, not bold, horizontal).
    pub fn text(&mut self, x: f64, y: f64, text: impl Into<String>, size: f64, anchor: Anchor) {
        self.push(Shape::Text {
            x,
            y,
            text: text.into(),
            size,
            bold: false,
            anchor,
            vertical: false,
            colour: INK,
            number: false,
        });
    }

    /// A number folge computed (a value or a tick label, as `figure::number` formats
    /// it), drawn as [`Canvas::text`] draws text.
    pub fn number(&mut self, x: f64, y: f64, number: impl Into<String>, size: f64, anchor: Anchor) {
        self.push(Shape::Text {
            x,
            y,
            text: number.into(),
            size,
            bold: false,
            anchor,
            vertical: false,
            colour: INK,
            number: true,
        });
    }

    /// The figure as SVG (the report writes it through [`Canvas::svg`]).
    #[cfg(test)]
    pub fn to_svg(&self, title: &str) -> String {
        self.svg(title).text
    }

    /// [`Canvas::to_svg`] with the ranges of the numbers drawn.
    pub(crate) fn svg(&self, title: &str) -> NumberedText {
        let (w, h) = (self.width, self.height);
        let mut s = NumberedText::new();
        let _ = writeln!(
            s,
            r#"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" viewBox="0 0 {w} {h}" role="img"><title>{}</title>"#,
            escape(title)
        );
        let _ = writeln!(s, r#"<rect width="{w}" height="{h}" fill="white"/>"#);
        for shape in &self.shapes {
            match shape {
                Shape::Rect { x, y, w, h, fill, stroke } => {
                    let stroke = stroke.map_or(String::new(), |c| {
                        format!(r#" stroke="{}" stroke-width="0.5""#, c.hex())
                    });
                    let _ = writeln!(
                        s,
                        r#"<rect x="{x:.1}" y="{y:.1}" width="{w:.1}" height="{h:.1}" fill="{}"{stroke}/>"#,
                        fill.hex()
                    );
                }
                Shape::Line { x1, y1, x2, y2, colour, width, dashed } => {
                    let dash = if *dashed { r#" stroke-dasharray="4 3""# } else { "" };
                    let _ = writeln!(
                        s,
                        r#"<line x1="{x1:.1}" y1="{y1:.1}" x2="{x2:.1}" y2="{y2:.1}" stroke="{}" stroke-width="{width}"{dash}/>"#,
                        colour.hex()
                    );
                }
                Shape::Circle { x, y, r, fill } => {
                    let _ = writeln!(
                        s,
                        r#"<circle cx="{x:.1}" cy="{y:.1}" r="{r:.1}" fill="{}"/>"#,
                        fill.hex()
                    );
                }
                Shape::Path { points, colour, width, dashed } => {
                    let d: Vec<String> =
                        points.iter().map(|(x, y)| format!("{x:.1},{y:.1}")).collect();
                    let dash = if *dashed { r#" stroke-dasharray="4 3""# } else { "" };
                    let _ = writeln!(
                        s,
                        r#"<polyline points="{}" fill="none" stroke="{}" stroke-width="{width}"{dash}/>"#,
                        d.join(" "),
                        colour.hex()
                    );
                }
                Shape::Text { x, y, text, size, bold, anchor, vertical, colour, number } => {
                    let width = text_width(text, *size, *bold);
                    let start = match anchor {
                        Anchor::Start => 0.0,
                        Anchor::Middle => -width / 2.0,
                        Anchor::End => -width,
                    };
                    let rotate = if *vertical { " rotate(-90)" } else { "" };
                    let (weight, text_anchor) = (
                        if *bold { "bold" } else { "normal" },
                        match anchor {
                            Anchor::Start => "start",
                            Anchor::Middle => "middle",
                            Anchor::End => "end",
                        },
                    );
                    // Glyph outlines to look the same everywhere, and the text itself,
                    // transparent, for search, copy and screen readers.
                    let _ = write!(
                        s,
                        r#"<g transform="translate({x:.1},{y:.1}){rotate}"><path d="{}" fill="{}"/><text font-family="DejaVu Sans, sans-serif" font-size="{size}" font-weight="{weight}" text-anchor="{text_anchor}" fill-opacity="0">"#,
                        glyph_path(text, *size, *bold, start),
                        colour.hex(),
                    );
                    s.push_pieces(&[(text.clone(), *number)], escape);
                    s.push_str("</text></g>\n");
                }
            }
        }
        s.push_str("</svg>\n");
        s
    }

    /// The figure as PNG at [`PNG_DPI`], with the resolution recorded in the file.
    #[expect(clippy::many_single_char_names, reason = "coordinates and sizes: x, y, w, h")]
    pub fn to_png(&self) -> Result<Vec<u8>, String> {
        fonts();
        let (w, h) = ((self.width * SCALE).round() as u32, (self.height * SCALE).round() as u32);
        let mut pixels = vec![255u8; (w * h * 3) as usize];
        let px = |v: f64| (v * SCALE).round() as i32;
        let colour = |c: Colour| RGBColor(c.0, c.1, c.2);
        // In the shapes' order, as the SVG: runs of shapes through plotters' backend, text
        // from the glyphs the SVG is made of.
        for run in self.shapes.chunk_by(|a, b| a.is_text() == b.is_text()) {
            if run[0].is_text() {
                for shape in run {
                    if let Shape::Text {
                        x, y, text, size, bold, anchor, vertical, colour, ..
                    } = shape
                    {
                        let width = text_width(text, *size, *bold);
                        let start = match anchor {
                            Anchor::Start => 0.0,
                            Anchor::Middle => -width / 2.0,
                            Anchor::End => -width,
                        };
                        let at = if *vertical { (*x, y - start) } else { (x + start, *y) };
                        raster_text(
                            &mut pixels,
                            (w, h),
                            text,
                            size * SCALE,
                            *bold,
                            (at.0 * SCALE, at.1 * SCALE),
                            *vertical,
                            *colour,
                        );
                    }
                }
                continue;
            }
            let mut backend = BitMapBackend::with_buffer(&mut pixels, (w, h));
            for shape in run {
                match shape {
                    Shape::Rect { x, y, w, h, fill, stroke } => {
                        let (a, b) = ((px(*x), px(*y)), (px(x + w), px(y + h)));
                        backend.draw_rect(a, b, &colour(*fill), true).map_err(err)?;
                        if let Some(s) = stroke {
                            backend.draw_rect(a, b, &colour(*s), false).map_err(err)?;
                        }
                    }
                    Shape::Line { x1, y1, x2, y2, colour: c, width, dashed } => {
                        let style =
                            colour(*c).stroke_width((width * SCALE).round().max(1.0) as u32);
                        let length = ((x2 - x1).powi(2) + (y2 - y1).powi(2)).sqrt();
                        let pieces: Vec<(f64, f64)> = if *dashed && length > 0.0 {
                            let mut v = Vec::new();
                            let mut t = 0.0;
                            while t < length {
                                v.push((t / length, ((t + 4.0).min(length)) / length));
                                t += 7.0;
                            }
                            v
                        } else {
                            vec![(0.0, 1.0)]
                        };
                        for (a, b) in pieces {
                            let at = |f: f64| (px(x1 + (x2 - x1) * f), px(y1 + (y2 - y1) * f));
                            backend.draw_line(at(a), at(b), &style).map_err(err)?;
                        }
                    }
                    Shape::Circle { x, y, r, fill } => {
                        let r = (r * SCALE).round() as u32;
                        backend
                            .draw_circle((px(*x), px(*y)), r, &colour(*fill), true)
                            .map_err(err)?;
                    }
                    Shape::Path { points, colour: c, width, dashed } => {
                        let style =
                            colour(*c).stroke_width((width * SCALE).round().max(1.0) as u32);
                        if *dashed {
                            for (a, b) in dashes(points) {
                                backend
                                    .draw_line((px(a.0), px(a.1)), (px(b.0), px(b.1)), &style)
                                    .map_err(err)?;
                            }
                        } else {
                            let path: Vec<(i32, i32)> =
                                points.iter().map(|(x, y)| (px(*x), px(*y))).collect();
                            backend.draw_path(path, &style).map_err(err)?;
                        }
                    }
                    Shape::Text { .. } => {}
                }
            }
            backend.present().map_err(err)?;
        }
        let mut out = Vec::new();
        {
            let mut encoder = png::Encoder::new(&mut out, w, h);
            encoder.set_color(png::ColorType::Rgb);
            encoder.set_depth(png::BitDepth::Eight);
            let per_metre = (PNG_DPI / 0.0254).round() as u32;
            encoder.set_pixel_dims(Some(png::PixelDimensions {
                xppu: per_metre,
                yppu: per_metre,
                unit: png::Unit::Meter,
            }));
            let mut writer = encoder.write_header().map_err(|e| e.to_string())?;
            writer.write_image_data(&pixels).map_err(|e| e.to_string())?;
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Canvas {
        let mut c = Canvas::new(120.0, 60.0);
        c.push(Shape::Rect {
            x: 10.0,
            y: 10.0,
            w: 30.0,
            h: 40.0,
            fill: PALETTE[0],
            stroke: Some(INK),
        });
        c.push(Shape::Line {
            x1: 0.0,
            y1: 55.0,
            x2: 120.0,
            y2: 55.0,
            colour: INK,
            width: 1.0,
            dashed: true,
        });
        c.text(60.0, 30.0, "Liggedøgn æøå", 11.0, Anchor::Middle);
        c
    }

    #[test]
    fn svg_text_is_drawn_as_glyphs_and_kept_as_text() {
        let svg = sample().to_svg("Figur 1");
        assert!(svg.contains("<title>Figur 1</title>"));
        assert!(svg.contains(r#"fill-opacity="0">Liggedøgn æøå</text>"#));
        let path = svg.split("<path d=\"").nth(1).unwrap().split('"').next().unwrap();
        assert!(path.matches('M').count() >= 12, "an outline per glyph contour: {path:.80}");
        assert!(svg.contains("stroke-dasharray"));
    }

    #[test]
    fn png_is_print_resolution_deterministic_and_has_ink() {
        let png = sample().to_png().unwrap();
        assert_eq!(&png[1..4], b"PNG");
        assert_eq!(png, sample().to_png().unwrap(), "same bytes twice");
        let decoder = png::Decoder::new(std::io::Cursor::new(&png));
        let mut reader = decoder.read_info().unwrap();
        let info = reader.info();
        assert_eq!((info.width, info.height), (375, 188), "120 × 60 px at 300 dpi");
        assert_eq!(info.pixel_dims.map(|d| d.xppu), Some(11_811));
        let mut buf = vec![0; reader.output_buffer_size()];
        reader.next_frame(&mut buf).unwrap();
        // The bar is blue; the text drew dark pixels around the middle.
        let at = |x: usize, y: usize| &buf[(y * 375 + x) * 3..(y * 375 + x) * 3 + 3];
        assert_eq!(at(80, 140), [0x00, 0x72, 0xb2]);
        let dark = (150..300)
            .flat_map(|x| (60..100).map(move |y| (x, y)))
            .filter(|&(x, y)| at(x, y)[0] < 128)
            .count();
        assert!(dark > 100, "text pixels drawn: {dark}");
    }

    /// Decoded RGB pixels and the width of a figure's PNG.
    fn decoded(canvas: &Canvas) -> (Vec<u8>, usize) {
        let png = canvas.to_png().unwrap();
        let mut reader = png::Decoder::new(std::io::Cursor::new(&png)).read_info().unwrap();
        let width = reader.info().width as usize;
        let mut buf = vec![0; reader.output_buffer_size()];
        reader.next_frame(&mut buf).unwrap();
        (buf, width)
    }

    /// The columns (or rows, for vertical text) holding ink, as a profile along the text.
    fn inked(buf: &[u8], width: usize, along_x: bool) -> Vec<bool> {
        let height = buf.len() / 3 / width;
        let dark = |x: usize, y: usize| buf[(y * width + x) * 3] < 200;
        if along_x {
            (0..width).map(|x| (0..height).any(|y| dark(x, y))).collect()
        } else {
            (0..height).map(|y| (0..width).any(|x| dark(x, y))).collect()
        }
    }

    /// The longest run of blank columns between the first and the last inked one.
    fn widest_gap(profile: &[bool]) -> usize {
        let first = profile.iter().position(|&b| b).unwrap();
        let last = profile.iter().rposition(|&b| b).unwrap();
        profile[first..=last].split(|&b| b).map(<[bool]>::len).max().unwrap_or(0)
    }

    #[test]
    fn png_text_is_laid_out_as_the_svg_without_gaps_inside_words() {
        // Words plotters' text split ("Timer h jemmetjenester", "Kommunikas jon"), drawn
        // 15 % narrower than the SVG's layout with uneven gaps: now the ink spans the
        // layout's width (less the side bearings at the ends), no blank run inside a word
        // is wider than a fifth of an em (DejaVu's widest pair spacing; a space is a third),
        // and vertical text is the same word turned.
        for word in ["hjemmetjenester", "Kommunikasjon", "Liggedøgn"] {
            let size = 11.0;
            let em = size * SCALE;
            let mut c = Canvas::new(160.0, 40.0);
            c.text(10.0, 25.0, word, size, Anchor::Start);
            let (buf, width) = decoded(&c);
            let profile = inked(&buf, width, true);
            let gap = widest_gap(&profile);
            assert!((gap as f64) < 0.2 * em, "{word}: a gap of {gap} px, an em is {em:.1}");
            let first = profile.iter().position(|&b| b).unwrap() as f64;
            let last = profile.iter().rposition(|&b| b).unwrap() as f64;
            let expected = text_width(word, size, false) * SCALE;
            assert!(
                (last - first + 1.0 - expected).abs() < 0.05 * expected,
                "{word}: ink over {} px, layout {expected:.0} px",
                last - first + 1.0
            );
            assert!((first - 10.0 * SCALE).abs() < 4.0, "{word} starts at x = 10: {first}");
            let mut v = Canvas::new(40.0, 160.0);
            v.push(Shape::Text {
                x: 25.0,
                y: 150.0,
                text: word.into(),
                size,
                bold: false,
                anchor: Anchor::Start,
                vertical: true,
                colour: INK,
                number: false,
            });
            let (buf, width) = decoded(&v);
            let rows = inked(&buf, width, false);
            assert_eq!(widest_gap(&rows), gap, "{word}: vertical text is the same word turned");
            let bottom = rows.iter().rposition(|&b| b).unwrap() as f64;
            assert!((bottom - 150.0 * SCALE).abs() < 4.0, "{word} starts at y = 150: {bottom}");
        }
    }

    #[test]
    fn a_dashed_path_keeps_its_pattern_across_corners() {
        // 5 along, then 5 down: the first dash (0–4 along the path) lies on the first
        // leg; the second (7–11) starts 2 down the second leg and is cut at its end.
        let pieces = dashes(&[(0.0, 0.0), (5.0, 0.0), (5.0, 5.0)]);
        assert_eq!(pieces, vec![((0.0, 0.0), (4.0, 0.0)), ((5.0, 2.0), (5.0, 5.0))]);
        let c = Canvas {
            width: 10.0,
            height: 10.0,
            shapes: vec![Shape::Path {
                points: vec![(0.0, 0.0), (5.0, 5.0)],
                colour: INK,
                width: 1.0,
                dashed: true,
            }],
        };
        assert!(c.to_svg("t").contains(r#"stroke-width="1" stroke-dasharray="4 3""#));
        assert!(c.to_png().is_ok());
    }

    #[test]
    fn text_widths_follow_the_font() {
        assert!(text_width("Liggedøgn", 11.0, false) > text_width("Ligg", 11.0, false));
        assert!(text_width("W", 10.0, true) > text_width("W", 10.0, false));
        assert!((text_width("ab", 20.0, false) - 2.0 * text_width("ab", 10.0, false)).abs() < 1e-9);
    }
}

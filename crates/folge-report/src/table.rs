//! A report table, rendered as HTML (for the page), as CSV and as a sheet of one workbook
//! (for the project leads). Suppressed cells print as ":" (SSB's convention) with a
//! footnote.

use std::fmt::Write as _;

use crate::numbered::NumberedText;

/// One table cell.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    /// Text.
    Text(String),
    /// A number shown with this many decimals.
    Number(f64, usize),
    /// A value below a display limit, shown as `<limit` (p < 0.001): the value, the limit.
    /// A workbook keeps the value as a number, shown `<limit` by its number format.
    Below(f64, f64),
    /// Hidden by the small-cell rule.
    Suppressed,
    /// No value.
    Empty,
    /// A variable's name heading the rows of its levels (bold; the row's other cells
    /// empty), as gtsummary's tables have them.
    Heading(String),
    /// A level under a [`Cell::Heading`], indented.
    Level(String),
    /// A count with its share of the column in percent: `45 (24 %)`.
    CountShare(u64, f64),
}

impl Cell {
    /// The same number shown with `decimals` decimals.
    #[must_use]
    pub fn rounded(self, decimals: usize) -> Self {
        match self {
            Cell::Number(v, _) => Cell::Number(v, decimals),
            other => other,
        }
    }

    fn display(&self, decimal_comma: bool) -> String {
        self.pieces(decimal_comma).into_iter().map(|(piece, _)| piece).collect()
    }

    /// The cell as shown, in pieces, each with whether it is a number folge computed (a
    /// count, a total, an estimate, a share, a limit), so the outputs can carry which of
    /// their bytes are numbers ([`NumberedText`]) and the re-scan tell them from text.
    fn pieces(&self, decimal_comma: bool) -> Vec<(String, bool)> {
        let decimal = |s: String| if decimal_comma { s.replace('.', ",") } else { s };
        match self {
            Cell::Text(t) | Cell::Heading(t) | Cell::Level(t) => vec![(t.clone(), false)],
            Cell::Number(v, decimals) => vec![(decimal(format!("{v:.decimals$}")), true)],
            Cell::Below(_, limit) => {
                vec![("<".to_owned(), false), (decimal(format!("{limit}")), true)]
            }
            Cell::Suppressed => vec![(":".to_owned(), false)],
            Cell::Empty => vec![],
            Cell::CountShare(n, percent) => {
                // Whole percents; a share that would round to 0 shows as "<1".
                let (below, p) = if *percent > 0.0 && *percent < 0.5 {
                    ("<", "1".to_owned())
                } else {
                    ("", format!("{percent:.0}"))
                };
                let unit = if decimal_comma { " %)" } else { "%)" };
                vec![
                    (n.to_string(), true),
                    (format!(" ({below}"), false),
                    (p, true),
                    (unit.to_owned(), false),
                ]
            }
        }
    }
}

/// A numbered table with caption and footnotes.
#[derive(Debug, Clone, PartialEq)]
pub struct ReportTable {
    /// File stem for the CSV export (`table_participants`).
    pub id: String,
    /// Caption shown above the table ("Tabell 1. …").
    pub caption: String,
    /// Column headings.
    pub columns: Vec<String>,
    /// Rows of cells, as many as columns.
    pub rows: Vec<Vec<Cell>>,
    /// Notes printed under the table.
    pub notes: Vec<String>,
    /// When set, the page folds the table under this line (a long table a reader opens
    /// when wanted); CSV, Markdown and the workbook hold it whole.
    pub summary: Option<String>,
}

/// What ":" means, in the report's language.
pub(crate) fn suppressed_note(nb: bool) -> &'static str {
    if nb {
        ": = skjult etter prikkeregelen (små tall)."
    } else {
        ": = suppressed by the small-cell rule."
    }
}

/// The footnote a table with a blank cell gets when it has none of its own: what a blank
/// means, in the report's language.
pub(crate) fn blank_note(nb: bool) -> &'static str {
    if nb {
        "Tom celle: ingen verdi fra analysen for denne raden (den kan ikke beregnes, eller analysen har ikke gitt den)."
    } else {
        "Blank cell: no value from the analysis for this row (it cannot be computed, or the analysis did not give it)."
    }
}

pub(crate) fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

impl ReportTable {
    /// Whether any cell is suppressed.
    pub fn has_suppressed(&self) -> bool {
        self.rows.iter().flatten().any(|c| *c == Cell::Suppressed)
    }

    /// Whether a cell is blank where a value could stand (the empty cells beside a
    /// variable's heading are layout, not blanks).
    pub fn has_blank(&self) -> bool {
        self.rows
            .iter()
            .filter(|row| !matches!(row.first(), Some(Cell::Heading(_))))
            .flatten()
            .any(|c| matches!(c, Cell::Empty) || matches!(c, Cell::Text(t) if t.is_empty()))
    }

    /// Whether a note of the table says what its blank cells mean (such notes begin
    /// "Tom"/"Tomme" in Norwegian, "Blank" in English).
    pub fn explains_blanks(&self) -> bool {
        self.notes.iter().any(|n| n.starts_with("Tom") || n.starts_with("Blank"))
    }

    /// HTML `<table>` with caption and notes; numbers right-aligned, Norwegian decimal
    /// comma when `decimal_comma`.
    pub fn to_html(&self, decimal_comma: bool) -> String {
        self.html(decimal_comma).text
    }

    /// [`ReportTable::to_html`] with the ranges of its numbers.
    pub fn html(&self, decimal_comma: bool) -> NumberedText {
        // A table and its notes are one block, which print does not split; a folded table
        // shows its line only in print, which says where it is whole.
        let mut out = NumberedText::new();
        out.push_str("<div class=\"table\">\n");
        if let Some(s) = &self.summary {
            let _ = write!(
                out,
                "<details>\n<summary>{}: {}</summary>\n",
                escape(&self.caption),
                escape(s)
            );
        }
        let _ = write!(
            out,
            "<table id=\"{}\">\n<caption>{}</caption>\n<thead><tr>",
            escape(&self.id),
            escape(&self.caption)
        );
        for c in &self.columns {
            let _ = write!(out, "<th>{}</th>", escape(c));
        }
        out.push_str("</tr></thead>\n<tbody>\n");
        for row in &self.rows {
            out.push_str("<tr>");
            for cell in row {
                let class = match cell {
                    Cell::Number(..)
                    | Cell::Below(..)
                    | Cell::Suppressed
                    | Cell::CountShare(..) => " class=\"num\"",
                    Cell::Heading(_) => " class=\"var\"",
                    Cell::Level(_) => " class=\"level\"",
                    _ => "",
                };
                let _ = write!(out, "<td{class}>");
                out.push_pieces(&cell.pieces(decimal_comma), escape);
                out.push_str("</td>");
            }
            out.push_str("</tr>\n");
        }
        out.push_str("</tbody>\n</table>\n");
        for note in &self.notes {
            let _ = writeln!(out, "<p class=\"note\">{}</p>", escape(note));
        }
        if self.summary.is_some() {
            out.push_str("</details>\n");
        }
        out.push_str("</div>\n");
        out
    }

    /// CSV with a header row, quoted where needed: `,`-separated with a decimal point, or
    /// with `decimal_comma` `;`-separated with a decimal comma, as Excel in a Norwegian
    /// locale reads CSV (it opens the other as text in one column).
    pub fn to_csv(&self, decimal_comma: bool) -> String {
        self.csv(decimal_comma).text
    }

    /// [`ReportTable::to_csv`] with the ranges of its numbers.
    pub fn csv(&self, decimal_comma: bool) -> NumberedText {
        let separator = if decimal_comma { ';' } else { ',' };
        let needs_quotes = |s: &str| s.contains([separator, '"', '\n']);
        let quote = |s: &str| format!("\"{}\"", s.replace('"', "\"\""));
        let mut out = NumberedText::new();
        let headings: Vec<String> = self
            .columns
            .iter()
            .map(|c| if needs_quotes(c) { quote(c) } else { c.clone() })
            .collect();
        out.push_str(&headings.join(&separator.to_string()));
        out.push_str("\n");
        for row in &self.rows {
            for (i, cell) in row.iter().enumerate() {
                if i > 0 {
                    out.push(separator);
                }
                let shown = cell.display(decimal_comma);
                if needs_quotes(&shown) {
                    // Quoted: text (a number never needs quotes).
                    out.push_str(&quote(&shown));
                } else {
                    out.push_pieces(&cell.pieces(decimal_comma), str::to_owned);
                }
            }
            out.push_str("\n");
        }
        out
    }

    /// A Markdown (pipe) table under its caption, numbers right-aligned, notes below; for
    /// pasting into Word or a Markdown report. `nb`: decimal comma and the notes in
    /// Norwegian.
    pub fn to_markdown(&self, nb: bool) -> String {
        self.markdown(nb).text
    }

    /// [`ReportTable::to_markdown`] with the ranges of its numbers.
    pub fn markdown(&self, nb: bool) -> NumberedText {
        let cell = |s: &str| s.replace('|', "\\|").replace('\n', " ");
        let numeric = |c: usize| {
            self.rows.iter().any(|r| {
                matches!(r.get(c), Some(Cell::Number(..) | Cell::Below(..) | Cell::CountShare(..)))
            })
        };
        let mut out = NumberedText::new();
        let _ = write!(out, "**{}**\n\n", cell(&self.caption));
        let headings: Vec<String> = self.columns.iter().map(|c| cell(c)).collect();
        let _ = writeln!(out, "| {} |", headings.join(" | "));
        let rule: Vec<&str> =
            (0..self.columns.len()).map(|c| if numeric(c) { "---:" } else { "---" }).collect();
        let _ = writeln!(out, "|{}|", rule.join("|"));
        for row in &self.rows {
            out.push_str("|");
            for c in row {
                out.push_str(" ");
                match c {
                    Cell::Heading(t) => {
                        let _ = write!(out, "**{}**", cell(t));
                    }
                    other => out.push_pieces(&other.pieces(nb), cell),
                }
                out.push_str(" |");
            }
            out.push_str("\n");
        }
        for note in &self.notes {
            let _ = write!(out, "\n{}\n", cell(note));
        }
        if self.has_suppressed() {
            let _ = write!(out, "\n{}\n", suppressed_note(nb));
        }
        out
    }
}

/// Every table in one workbook, a sheet each (named by the table's id, cut to Excel's 31
/// characters): the caption, the headings, the rows — numbers as numbers with their
/// decimals, suppressed cells as ":", variables bold and their levels indented — and the
/// notes, in the report's language (`nb`). The document's creation time is fixed, so the
/// same tables give the same bytes.
pub fn workbook(tables: &[&ReportTable], nb: bool) -> Result<Vec<u8>, String> {
    use rust_xlsxwriter::{DocProperties, ExcelDateTime, Format, Workbook};
    let error = |e: rust_xlsxwriter::XlsxError| e.to_string();
    let mut book = Workbook::new();
    let epoch = ExcelDateTime::from_ymd(2000, 1, 1).map_err(error)?;
    book.set_properties(&DocProperties::new().set_creation_datetime(&epoch));
    let bold = Format::new().set_bold();
    let indented = Format::new().set_indent(1);
    for table in tables {
        let sheet = book.add_worksheet();
        let name: String = table.id.chars().take(31).collect();
        sheet.set_name(&name).map_err(error)?;
        sheet.write_string_with_format(0, 0, &table.caption, &bold).map_err(error)?;
        for (c, heading) in table.columns.iter().enumerate() {
            sheet.write_string_with_format(2, c as u16, heading, &bold).map_err(error)?;
        }
        for (r, row) in table.rows.iter().enumerate() {
            let excel_row = 3 + r as u32;
            for (c, cell) in row.iter().enumerate() {
                let column = c as u16;
                match cell {
                    Cell::Number(v, decimals) => {
                        let pattern = if *decimals == 0 {
                            "0".to_owned()
                        } else {
                            format!("0.{}", "0".repeat(*decimals))
                        };
                        let format = Format::new().set_num_format(&pattern);
                        sheet
                            .write_number_with_format(excel_row, column, *v, &format)
                            .map_err(error)?;
                    }
                    Cell::Below(v, limit) => {
                        // A number (a p-value sorts and filters as one), shown `<0,001`
                        // below the limit and with the limit's decimals above it.
                        let decimals = format!("{limit}").split('.').nth(1).map_or(0, str::len);
                        let shown = format!("{limit}");
                        let shown = if nb { shown.replace('.', ",") } else { shown };
                        let pattern =
                            format!("[<{limit}]\"<{shown}\";0.{}", "0".repeat(decimals.max(1)));
                        let format = Format::new().set_num_format(&pattern);
                        sheet
                            .write_number_with_format(excel_row, column, *v, &format)
                            .map_err(error)?;
                    }
                    Cell::CountShare(n, _) => {
                        // The count as a number, as every other count (it sorts and sums
                        // as one, and the re-scan reads it as one), its share shown by the
                        // number format: `45 (24%)`.
                        let share: String = cell
                            .pieces(false)
                            .into_iter()
                            .skip(1)
                            .map(|(piece, _)| piece)
                            .collect();
                        let format = Format::new().set_num_format(format!("0\"{share}\""));
                        sheet
                            .write_number_with_format(excel_row, column, *n as f64, &format)
                            .map_err(error)?;
                    }
                    Cell::Empty => {}
                    Cell::Heading(t) => {
                        sheet
                            .write_string_with_format(excel_row, column, t, &bold)
                            .map_err(error)?;
                    }
                    Cell::Level(t) => {
                        sheet
                            .write_string_with_format(excel_row, column, t, &indented)
                            .map_err(error)?;
                    }
                    other => {
                        sheet
                            .write_string(excel_row, column, other.display(false))
                            .map_err(error)?;
                    }
                }
            }
        }
        let mut note_row = 4 + table.rows.len() as u32;
        for note in &table.notes {
            sheet.write_string(note_row, 0, note).map_err(error)?;
            note_row += 1;
        }
        if table.has_suppressed() {
            sheet.write_string(note_row, 0, suppressed_note(nb)).map_err(error)?;
        }
    }
    book.save_to_buffer().map_err(error)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_suppressed_cells_as_colon() {
        let table = ReportTable {
            id: "t".into(),
            caption: "Tabell 1. <x>".into(),
            columns: vec!["a".into(), "n".into()],
            rows: vec![
                vec![Cell::Text("Bergen, sentrum".into()), Cell::Suppressed],
                vec![Cell::Text("b".into()), Cell::Number(2.25, 1)],
            ],
            notes: vec![],
            summary: None,
        };
        assert_eq!(table.to_csv(false), "a,n\n\"Bergen, sentrum\",:\nb,2.2\n");
        // As a Norwegian-locale Excel reads CSV: `;` and a decimal comma; a comma in a
        // text needs no quotes there, a `;` does.
        assert_eq!(table.to_csv(true), "a;n\nBergen, sentrum;:\nb;2,2\n");
        let html = table.to_html(true);
        assert!(html.contains("<td class=\"num\">:</td>"));
        assert!(html.contains("<td class=\"num\">2,2</td>"));
        assert!(html.contains("Tabell 1. &lt;x&gt;"));
        assert!(table.has_suppressed());
        assert_eq!(
            table.to_markdown(true),
            "**Tabell 1. <x>**\n\n| a | n |\n|---|---:|\n| Bergen, sentrum | : |\n| b | 2,2 |\n\n: = skjult etter prikkeregelen (små tall).\n"
        );
    }

    #[test]
    fn the_workbook_holds_each_table_on_its_sheet_and_is_deterministic() {
        use calamine::{Data, Reader, Xlsx};
        let table = ReportTable {
            id: "table_participants".into(),
            caption: "Tabell 1. Deltakere".into(),
            columns: vec!["kommune".into(), "n".into(), "p".into()],
            rows: vec![
                vec![Cell::Text("4601".into()), Cell::Number(12.0, 0), Cell::Below(0.000_2, 0.001)],
                vec![Cell::Text("4631".into()), Cell::Suppressed, Cell::Number(0.042, 3)],
            ],
            notes: vec!["Note.".into()],
            summary: None,
        };
        let bytes = workbook(&[&table], true).unwrap();
        assert_eq!(bytes, workbook(&[&table], true).unwrap(), "same tables, same bytes");
        let mut book = Xlsx::new(std::io::Cursor::new(bytes)).unwrap();
        assert_eq!(book.sheet_names(), ["table_participants"]);
        let range = book.worksheet_range("table_participants").unwrap();
        assert_eq!(range.get_value((0, 0)), Some(&Data::String("Tabell 1. Deltakere".into())));
        assert_eq!(range.get_value((2, 1)), Some(&Data::String("n".into())));
        assert_eq!(range.get_value((3, 1)), Some(&Data::Float(12.0)), "a number, not text");
        assert_eq!(range.get_value((4, 1)), Some(&Data::String(":".into())));
        // A p-value below 0.001 stays a number (the table shows "<0,001"), so the column
        // sorts and filters as numbers; its format says how it is shown.
        assert_eq!(range.get_value((3, 2)), Some(&Data::Float(0.000_2)));
        assert_eq!(range.get_value((4, 2)), Some(&Data::Float(0.042)));
        let mut styles = Vec::new();
        let mut sheet =
            zip::ZipArchive::new(std::io::Cursor::new(workbook(&[&table], true).unwrap())).unwrap();
        std::io::Read::read_to_end(&mut sheet.by_name("xl/styles.xml").unwrap(), &mut styles)
            .unwrap();
        let styles = String::from_utf8(styles).unwrap();
        assert!(styles.contains("[&lt;0.001]&quot;&lt;0,001&quot;;0.000"), "{styles}");
        assert_eq!(range.get_value((6, 0)), Some(&Data::String("Note.".into())));
    }

    #[test]
    fn a_count_with_its_share_is_a_number_in_the_workbook() {
        use calamine::{Data, Reader, Xlsx};
        let table = ReportTable {
            id: "t".into(),
            caption: "c".into(),
            columns: vec!["n (%)".into()],
            rows: vec![vec![Cell::CountShare(45, 24.2)], vec![Cell::CountShare(1, 0.3)]],
            notes: vec![],
            summary: None,
        };
        let bytes = workbook(&[&table], true).unwrap();
        let mut book = Xlsx::new(std::io::Cursor::new(bytes.clone())).unwrap();
        let range = book.worksheet_range("t").unwrap();
        assert_eq!(range.get_value((3, 0)), Some(&Data::Float(45.0)));
        assert_eq!(range.get_value((4, 0)), Some(&Data::Float(1.0)));
        // Shown as before, by the number format: the share is the format's text.
        let mut styles = String::new();
        let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes)).unwrap();
        std::io::Read::read_to_string(&mut zip.by_name("xl/styles.xml").unwrap(), &mut styles)
            .unwrap();
        assert!(styles.contains("0&quot; (24%)&quot;"), "{styles}");
        assert!(styles.contains("0&quot; (&lt;1%)&quot;"), "{styles}");
    }

    #[track_caller]
    fn check_numbers(text: &NumberedText, expected: &[&str]) {
        let shown: Vec<&str> = text.numbers.iter().map(|r| &text.text[r.clone()]).collect();
        assert_eq!(shown, expected, "{}", text.text);
    }

    #[test]
    fn each_writer_marks_exactly_the_numbers_it_wrote() {
        let table = ReportTable {
            id: "t".into(),
            caption: "Tabell 1. 12".into(),
            columns: vec!["a".into(), "n".into(), "p".into(), "n (%)".into()],
            rows: vec![
                vec![
                    Cell::Text("23456789".into()),
                    Cell::Number(25_000_000.0, 0),
                    Cell::Below(0.000_2, 0.001),
                    Cell::CountShare(34_567_890, 0.2),
                ],
                vec![
                    Cell::Level("a; b".into()),
                    Cell::Number(-1.25, 1),
                    Cell::Suppressed,
                    Cell::CountShare(7, 50.0),
                ],
            ],
            notes: vec!["5".into()],
            summary: None,
        };
        let nb = ["25000000", "0,001", "34567890", "1", "-1,2", "7", "50"];
        let en = ["25000000", "0.001", "34567890", "1", "-1.2", "7", "50"];
        check_numbers(&table.html(true), &nb);
        check_numbers(&table.csv(true), &nb);
        check_numbers(&table.markdown(true), &nb);
        check_numbers(&table.csv(false), &en);
        // The same bytes as without the ranges.
        assert_eq!(table.html(true).text, table.to_html(true));
        assert_eq!(table.csv(false).text, table.to_csv(false));
        assert_eq!(table.markdown(false).text, table.to_markdown(false));
    }
}

//! A report table, rendered as HTML (for the page) and as CSV (for the project leads).
//! Suppressed cells print as ":" (SSB's convention) with a footnote.

use std::fmt::Write as _;

/// One table cell.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    /// Text.
    Text(String),
    /// A number shown with this many decimals.
    Number(f64, usize),
    /// A value below a display limit, shown as `<limit` (p < 0.001).
    Below(f64),
    /// Hidden by the small-cell rule.
    Suppressed,
    /// No value.
    Empty,
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
        match self {
            Cell::Text(t) => t.clone(),
            Cell::Number(v, decimals) => {
                let s = format!("{v:.decimals$}");
                if decimal_comma { s.replace('.', ",") } else { s }
            }
            Cell::Below(limit) => {
                let s = format!("<{limit}");
                if decimal_comma { s.replace('.', ",") } else { s }
            }
            Cell::Suppressed => ":".to_owned(),
            Cell::Empty => String::new(),
        }
    }
}

/// A numbered table with caption and footnotes.
#[derive(Debug, Clone, PartialEq)]
pub struct ReportTable {
    /// File stem for the CSV export (`table_1_participants`).
    pub id: String,
    /// Caption shown above the table ("Tabell 1. …").
    pub caption: String,
    /// Column headings.
    pub columns: Vec<String>,
    /// Rows of cells, as many as columns.
    pub rows: Vec<Vec<Cell>>,
    /// Notes printed under the table.
    pub notes: Vec<String>,
}

pub(crate) fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

impl ReportTable {
    /// Whether any cell is suppressed.
    pub fn has_suppressed(&self) -> bool {
        self.rows.iter().flatten().any(|c| *c == Cell::Suppressed)
    }

    /// HTML `<table>` with caption and notes; numbers right-aligned, Norwegian decimal
    /// comma when `decimal_comma`.
    pub fn to_html(&self, decimal_comma: bool) -> String {
        let mut out = format!(
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
                    Cell::Number(..) | Cell::Below(_) | Cell::Suppressed => " class=\"num\"",
                    _ => "",
                };
                let _ = write!(out, "<td{class}>{}</td>", escape(&cell.display(decimal_comma)));
            }
            out.push_str("</tr>\n");
        }
        out.push_str("</tbody>\n</table>\n");
        for note in &self.notes {
            let _ = writeln!(out, "<p class=\"note\">{}</p>", escape(note));
        }
        out
    }

    /// CSV with a header row, `,`-separated, decimal point, quoted where needed.
    pub fn to_csv(&self) -> String {
        let quote = |s: &str| {
            if s.contains([',', '"', '\n']) {
                format!("\"{}\"", s.replace('"', "\"\""))
            } else {
                s.to_owned()
            }
        };
        let mut out = String::new();
        let line = |cells: Vec<String>| {
            cells.iter().map(|c| quote(c)).collect::<Vec<_>>().join(",") + "\n"
        };
        out.push_str(&line(self.columns.clone()));
        for row in &self.rows {
            out.push_str(&line(row.iter().map(|c| c.display(false)).collect()));
        }
        out
    }
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
        };
        assert_eq!(table.to_csv(), "a,n\n\"Bergen, sentrum\",:\nb,2.2\n");
        let html = table.to_html(true);
        assert!(html.contains("<td class=\"num\">:</td>"));
        assert!(html.contains("<td class=\"num\">2,2</td>"));
        assert!(html.contains("Tabell 1. &lt;x&gt;"));
        assert!(table.has_suppressed());
    }
}

//! The report stage: turns analysis results into the sluttrapport's pages, figures and
//! tables — a self-contained `index.html` (inline SVG and CSS, no network requests, prints
//! to A4), each figure as SVG, each table as CSV — with small cells suppressed.
//!
//! Sans-IO: [`render`] returns file names and bytes; `folge-pipeline` writes them. It takes
//! only de-identified or aggregated inputs ([`folge_deid::Deidentified`], rate rows), so an
//! identifiable table cannot reach a report.
#![warn(missing_docs)]

use std::ops::Range;

mod balance;
mod canvas;
mod data_flow;
mod estimates;
mod event_time;
mod figure;
mod figures;
mod html;
mod implementation;
mod input;
mod items;
mod limitations;
mod methods;
mod municipalities;
mod numbered;
mod questionnaires;
mod quotes;
mod subgroups;
mod survival;
mod table;
#[cfg(test)]
mod test_rows;

/// The small-cell rule lives with the rest of disclosure control in `folge-deid`.
pub use folge_deid::SmallCellRule;
pub use html::render;
pub use input::{
    FrontMatter, InputCount, Instrument, InstrumentItem, Language, ReportInput, ReportParams,
    Section,
};
pub use municipalities::{MUNICIPALITY_NAMES, municipality_name};
pub use numbered::NumberedText;
pub use table::{Cell, ReportTable, workbook};

/// One output file of the report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportFile {
    /// Path relative to the report folder.
    pub path: String,
    /// Contents.
    pub bytes: Vec<u8>,
    /// The byte ranges of `bytes` that hold a number folge computed and formatted — a
    /// table's number cells (counts, totals, estimates, shares), a figure's values and
    /// tick labels — so the fail-closed re-scan can read them as numbers rather than as
    /// text; everything else in the file is text. Empty where a file carries its types
    /// itself (the workbook's number cells are typed `<c><v>` cells) or holds none.
    pub numbers: Vec<Range<usize>>,
}

//! The fail-closed re-scan of everything a run writes past zone 1: every string column
//! (but `pid`) of every zone-2/3 table, the report's text (HTML and SVG text outside tags,
//! CSV, Markdown, the workbook's XML, PNG text chunks), the JSON files and the manifests,
//! looked at with `folge_deid::Detector` — a detector that shares no code with the
//! scrubber. A hit says file, place and kind of identifier, never the value; the caller
//! deletes what the stage wrote.
//!
//! Numbers folge computed are not text: a total of 23456789 hours or 25000000 rows read
//! has a phone number's shape, and a large delivery would fail its own report. The scan
//! tells them apart by type, never by value, and the detector is the same on everything
//! else. The report says which bytes of each file are numbers it formatted
//! (`folge_report::ReportFile::numbers`: tables' number cells in HTML, CSV and Markdown,
//! figures' values and tick labels in SVG and the page), and [`scan_report_file`] blanks
//! a range only when it holds exactly a whole number literal ([`is_number_literal`]);
//! in the workbook a number cell's `<v>` (and a shared string's index) is blanked, text
//! cells and `sharedStrings.xml` are scanned. Digits in a caption, note, heading, label,
//! quote or text cell — a text cell of only eight digits too — are text, and stop the run.

use std::io::Read;
use std::ops::Range;
use std::path::Path;

use arrow_array::{Array, RecordBatch, StringArray};
use folge_deid::{DetectKind, Detector};

use crate::PipelineError;

/// Where a hit lies: column and 1-based row of a table, or a line or entry of a file.
pub(crate) type Place = String;

/// Where in a column an identifier was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Spot {
    /// A row (0-based, in the batch).
    Row(usize),
    /// A level of the column's dictionary that no row uses: a reader of the file still
    /// gets it (Parquet keeps every level of a dictionary page, and pyarrow, R and pandas
    /// show them).
    UnusedLevel,
}

impl Spot {
    /// The place in a file, for a message: `offset` rows came before the batch.
    pub(crate) fn place(self, column: &str, offset: usize) -> Place {
        match self {
            Spot::Row(row) => format!("column `{column}`, row {}", offset + row + 1),
            Spot::UnusedLevel => {
                format!("column `{column}`, a level of its dictionary that no row uses")
            }
        }
    }
}

/// The first string column (but `pid`) of `batch` holding an identifier: column, where
/// in it ([`Spot`]) and kind.
pub(crate) fn scan_batch(
    batch: &RecordBatch,
    detector: &Detector,
) -> Option<(String, Spot, DetectKind)> {
    string_columns(batch, detector)
        .find_map(|(name, hit)| hit.map(|(row, kind)| (name.to_owned(), row, kind)))
}

/// Every string column (but `pid`) of `batch` holding an identifier, each once with
/// where its first hit is ([`Spot`]) and its kind: a failed re-scan names all of them, so one
/// run shows every column to mend, not one column a run.
pub(crate) fn scan_batch_columns(
    batch: &RecordBatch,
    detector: &Detector,
) -> Vec<(String, Spot, DetectKind)> {
    string_columns(batch, detector)
        .filter_map(|(name, hit)| hit.map(|(row, kind)| (name.to_owned(), row, kind)))
        .collect()
}

/// The text columns of `batch` but `pid`, by name, each with where (the row, or a level
/// no row uses) and the kind of its first value holding an identifier: plain text and
/// dictionary-encoded categories alike (every row of a dictionary is judged by its
/// level, and every level no row uses, so nothing in a categorical column escapes the
/// scan).
fn string_columns<'b>(
    batch: &'b RecordBatch,
    detector: &'b Detector,
) -> impl Iterator<Item = (&'b str, Option<(Spot, DetectKind)>)> {
    // `pid` is passed over before its text is looked at (a keyed pid would otherwise be
    // looked up row by row only to be dropped).
    batch.schema_ref().fields().iter().zip(batch.columns()).filter_map(|(field, column)| {
        if field.name() == "pid" {
            return None;
        }
        Some((field.name().as_str(), scan_text(column.as_ref(), detector).ok()?))
    })
}

/// Where a text column first holds an identifier (`Err` for a column that is not text).
/// A dictionary's rows are judged by their levels, each level once, when a row first
/// uses it (as reading every row's text would judge them, without the text); then every
/// level no row used, which the file holds all the same.
fn scan_text(column: &dyn Array, detector: &Detector) -> Result<Option<(Spot, DetectKind)>, ()> {
    use arrow_array::cast::AsArray;
    if let Some(dictionary) = column.as_any_dictionary_opt()
        && let Some(levels) = dictionary.values().as_any().downcast_ref::<StringArray>()
    {
        let keys = dictionary.normalized_keys();
        let mut verdicts: Vec<Option<Option<DetectKind>>> = vec![None; levels.len()];
        for (row, &key) in keys.iter().enumerate() {
            if column.is_null(row) || levels.is_null(key) {
                continue;
            }
            let verdict = *verdicts[key].get_or_insert_with(|| detector.detect(levels.value(key)));
            if let Some(kind) = verdict {
                return Ok(Some((Spot::Row(row), kind)));
            }
        }
        let unused = verdicts.iter().enumerate().filter(|(_, v)| v.is_none());
        for (level, _) in unused.filter(|(level, _)| !levels.is_null(*level)) {
            if let Some(kind) = detector.detect(levels.value(level)) {
                return Ok(Some((Spot::UnusedLevel, kind)));
            }
        }
        return Ok(None);
    }
    let values = folge_schema::text_values(column).map_err(|_| ())?;
    Ok(scan_column(values, detector).map(|(row, kind)| (Spot::Row(row), kind)))
}

/// The 0-based row and kind of the first value of a column holding an identifier.
fn scan_column(values: Vec<Option<&str>>, detector: &Detector) -> Option<(usize, DetectKind)> {
    // Code columns repeat a handful of values: remember up to 32 found clean.
    let mut clean: Vec<&str> = Vec::new();
    for (row, value) in values.into_iter().enumerate() {
        let Some(value) = value else { continue };
        if clean.contains(&value) {
            continue;
        }
        if let Some(kind) = detector.detect(value) {
            return Some((row, kind));
        }
        if clean.len() < 32 {
            clean.push(value);
        }
    }
    None
}

/// The text of markup outside its tags (and outside `<style>`/`<script>`), each tag
/// replaced by a line of its own so neighbouring cells do not run together, with the
/// common entities decoded.
fn markup_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len() / 2);
    let mut rest = text;
    while let Some(open) = rest.find('<') {
        out.push_str(&rest[..open]);
        out.push_str("\n|\n");
        let after = &rest[open..];
        let skip_to = ["<style", "<script"].iter().find_map(|tag| {
            after.starts_with(tag).then(|| {
                let close = format!("</{}", &tag[1..]);
                after.find(&close).map_or(after.len(), |c| c + close.len())
            })
        });
        let from = skip_to.unwrap_or(0);
        rest = match after[from..].find('>') {
            Some(end) => &after[from + end + 1..],
            None => "",
        };
    }
    out.push_str(rest);
    out.replace("&nbsp;", "\u{a0}")
        .replace("&#160;", "\u{a0}")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&amp;", "&")
}

/// Every string in a JSON value (keys too), each as a line.
fn json_strings(value: &serde_json::Value, out: &mut Vec<String>) {
    match value {
        serde_json::Value::String(s) => out.push(s.clone()),
        serde_json::Value::Array(items) => items.iter().for_each(|v| json_strings(v, out)),
        serde_json::Value::Object(map) => {
            for (k, v) in map {
                out.push(k.clone());
                json_strings(v, out);
            }
        }
        _ => {}
    }
}

/// The texts of a PNG's `tEXt`/`iTXt` chunks.
fn png_texts(bytes: &[u8]) -> Vec<String> {
    let mut out = Vec::new();
    let mut at = 8;
    while at + 8 <= bytes.len() {
        let len = u32::from_be_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]]);
        let Ok(len) = usize::try_from(len) else { break };
        let kind = &bytes[at + 4..at + 8];
        let Some(data) = bytes.get(at + 8..at + 8 + len) else { break };
        if kind == b"tEXt" || kind == b"iTXt" {
            out.push(String::from_utf8_lossy(data).replace('\0', "\n"));
        }
        at += 12 + len;
    }
    out
}

/// Split `text` into units to scan (lines, or cells of a CSV line), each with its place.
fn scan_lines(text: &str, detector: &Detector, what: &str) -> Option<(Place, DetectKind)> {
    // Whole text first (an id split over two lines), then line by line for the place.
    detector.detect(text)?;
    for (i, line) in text.lines().enumerate() {
        if let Some(kind) = detector.detect(line) {
            return Some((format!("{what} {}", i + 1), kind));
        }
    }
    // Only found across lines.
    detector.detect(text).map(|kind| (format!("{what}s taken together"), kind))
}

/// Whether `text` is a number literal as folge formats one: an optional minus, digits,
/// and a decimal part after one `.` or `,` (`23456789`, `-1,5`, `0.001`). Nothing else —
/// no spaces, no second separator, no letters — so a range that holds more than a number
/// is scanned as text.
fn is_number_literal(text: &str) -> bool {
    let unsigned = text.strip_prefix(['-', '\u{2212}']).unwrap_or(text);
    let (whole, decimals) = match unsigned.split_once(['.', ',']) {
        Some((whole, decimals)) => (whole, Some(decimals)),
        None => (unsigned, None),
    };
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    digits(whole) && decimals.is_none_or(digits)
}

/// Whether `text` is a number as a workbook stores it in a cell's `<v>`: a number literal
/// with a decimal point, optionally with an exponent (`2.5E-7`).
fn is_stored_number(text: &str) -> bool {
    let (mantissa, exponent) = match text.split_once(['E', 'e']) {
        Some((m, e)) => (m, Some(e.strip_prefix(['-', '+']).unwrap_or(e))),
        None => (text, None),
    };
    !mantissa.contains(',')
        && is_number_literal(mantissa)
        && exponent.is_none_or(|e| !e.is_empty() && e.bytes().all(|b| b.is_ascii_digit()))
}

/// `bytes` with each range of `numbers` that holds exactly a whole number literal
/// ([`is_number_literal`], no letter or digit beside it) overwritten with `#` (neither a digit, a letter nor a separator
/// of the detector's, so it neither forms nor joins a phone's groups). A range that holds
/// anything else, or does not lie on character boundaries, is left as it is and scanned
/// as text.
fn blank_numbers(bytes: &[u8], numbers: &[Range<usize>]) -> Vec<u8> {
    let mut out = bytes.to_vec();
    for range in numbers {
        let Some(piece) = bytes.get(range.clone()) else { continue };
        // Whole: no digit or letter right before or after (the tail of a longer number, a
        // `tlf23456789`); a byte of a non-ASCII character counts as a letter.
        let joined = |b: Option<&u8>| b.is_some_and(|b| b.is_ascii_alphanumeric() || !b.is_ascii());
        let inside_more = joined(range.start.checked_sub(1).and_then(|i| bytes.get(i)))
            || joined(bytes.get(range.end));
        if !inside_more && std::str::from_utf8(piece).is_ok_and(is_number_literal) {
            out[range.clone()].fill(b'#');
        }
    }
    out
}

/// A worksheet's XML with the value of every number cell blanked: a `<c>` whose type is
/// a number (no `t`, or `t="n"`) holds a number in `<v>`, and one of type `t="s"` the index
/// of its text in `sharedStrings.xml` (scanned as its own entry). Text typed into a cell
/// (`t="str"`, `t="inlineStr"`) and every other part of the sheet are kept.
fn blank_number_cells(xml: &str) -> String {
    let mut out = String::with_capacity(xml.len());
    let mut rest = xml;
    while let Some(at) = rest.find("<c") {
        let (before, cell) = rest.split_at(at);
        out.push_str(before);
        let is_cell = cell[2..].starts_with([' ', '>']);
        let (Some(open_end), Some(close)) = (cell.find('>'), cell.find("</c>")) else {
            out.push_str(cell);
            return out;
        };
        if !is_cell || cell[..open_end].ends_with('/') || close < open_end {
            out.push_str(&cell[..2]);
            rest = &cell[2..];
            continue;
        }
        let open = &cell[..open_end];
        let kind = open.split_once(" t=\"").and_then(|(_, t)| t.split_once('"')).map(|(t, _)| t);
        let content = &cell[open_end..close];
        let value = content
            .find("<v>")
            .and_then(|v| content[v + 3..].find("</v>").map(|end| (v + 3, v + 3 + end)));
        match (kind, value) {
            (None | Some("n" | "s"), Some((from, to))) if is_stored_number(&content[from..to]) => {
                out.push_str(open);
                out.push_str(&content[..from]);
                out.extend(std::iter::repeat_n('#', to - from));
                out.push_str(&content[to..]);
            }
            _ => out.push_str(&cell[..close]),
        }
        rest = &cell[close..];
    }
    out.push_str(rest);
    out
}

/// The first identifier in one report file, as [`scan_bytes`] finds it, with the byte
/// ranges the report says hold numbers it computed (`folge_report::ReportFile::numbers`)
/// read as numbers: each is blanked when it holds exactly a number literal, and anything
/// else in it or around it is scanned as text.
pub(crate) fn scan_report_file(
    name: &str,
    bytes: &[u8],
    numbers: &[Range<usize>],
    detector: &Detector,
) -> Result<Option<(Place, DetectKind)>, Unreadable> {
    if numbers.is_empty() {
        return scan_bytes(name, bytes, detector);
    }
    scan_bytes(name, &blank_numbers(bytes, numbers), detector)
}

/// An output folge wrote that the re-scan cannot read back (JSON that does not parse, a
/// workbook that does not open): a bug in folge, with the reader's error as its source.
/// The reader's message says where, never what (no file content).
#[derive(Debug, thiserror::Error)]
#[error("`{file}` cannot be read back to be scanned: {what}")]
pub(crate) struct Unreadable {
    file: String,
    what: String,
    #[source]
    source: Box<dyn std::error::Error + Send + Sync>,
}

/// The first identifier in one output file (by its name's extension), with its place.
pub(crate) fn scan_bytes(
    name: &str,
    bytes: &[u8],
    detector: &Detector,
) -> Result<Option<(Place, DetectKind)>, Unreadable> {
    let unreadable = |what: String| {
        move |e: Box<dyn std::error::Error + Send + Sync>| Unreadable {
            file: name.to_owned(),
            what: format!("{what}: {e}"),
            source: e,
        }
    };
    let extension = Path::new(name).extension().and_then(|e| e.to_str()).unwrap_or("");
    let text = || String::from_utf8_lossy(bytes).into_owned();
    Ok(match extension {
        "html" | "htm" | "svg" | "xml" => scan_lines(&markup_text(&text()), detector, "text line"),
        "csv" | "md" | "txt" | "tsv" => scan_lines(&text(), detector, "line"),
        "json" => {
            let value: serde_json::Value = serde_json::from_slice(bytes)
                .map_err(|e| unreadable("not JSON".into())(e.into()))?;
            let mut strings = Vec::new();
            json_strings(&value, &mut strings);
            strings
                .iter()
                .enumerate()
                .find_map(|(i, s)| detector.detect(s).map(|k| (format!("string {}", i + 1), k)))
        }
        "png" => png_texts(bytes)
            .iter()
            .find_map(|t| detector.detect(t).map(|k| ("a text chunk".to_owned(), k))),
        "xlsx" => {
            let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes))
                .map_err(|e| unreadable("not a workbook".into())(e.into()))?;
            for i in 0..archive.len() {
                let mut entry = archive
                    .by_index(i)
                    .map_err(|e| unreadable(format!("entry {}", i + 1))(e.into()))?;
                let entry_name = entry.name().map(|n| n.to_string()).unwrap_or_default();
                let kind = Path::new(&entry_name).extension().and_then(|e| e.to_str());
                if !kind.is_some_and(|e| {
                    e.eq_ignore_ascii_case("xml") || e.eq_ignore_ascii_case("rels")
                }) {
                    continue;
                }
                let mut xml = String::new();
                entry
                    .read_to_string(&mut xml)
                    .map_err(|e| unreadable(format!("entry `{entry_name}`"))(e.into()))?;
                // A number cell's value is a number, not text.
                if entry_name.starts_with("xl/worksheets/") {
                    xml = blank_number_cells(&xml);
                }
                if let Some((place, kind)) = scan_lines(&markup_text(&xml), detector, "text line") {
                    return Ok(Some((format!("entry `{entry_name}`, {place}"), kind)));
                }
            }
            None
        }
        // Parquet is scanned column by column by the caller; PDFs are printed from the
        // HTML scanned above.
        _ => None,
    })
}

/// The failure of the re-scan: a sentence naming the file, the place and the kind.
pub(crate) fn failure(
    stage: &'static str,
    file: &str,
    place: &str,
    kind: DetectKind,
) -> PipelineError {
    failures(stage, &[(file.to_owned(), place.to_owned(), kind)])
}

/// The failure of the re-scan at several places (file, place, kind), each named; the
/// values are not.
pub(crate) fn failures(stage: &'static str, hits: &[(String, Place, DetectKind)]) -> PipelineError {
    let places: Vec<String> = hits
        .iter()
        .map(|(file, place, kind)| {
            format!("`{file}`, {place}, holds what looks like a {}", kind.name())
        })
        .collect();
    let shown = if hits.len() > 1 { "the values are not shown" } else { "the value is not shown" };
    PipelineError::stage(
        stage,
        format!(
            "{} ({shown}); every file the stage wrote was deleted (report this as a bug in folge, or add the phrase to a closed vocabulary if it names no one)",
            places.join("; ")
        ),
    )
}

/// Scan a Parquet file written by a stage, string column by string column.
pub(crate) fn scan_parquet(
    path: &Path,
    detector: &Detector,
) -> Result<Option<(Place, DetectKind)>, PipelineError> {
    let mut offset = 0;
    // Only the columns the scan looks at are decoded: not `pid`, no number, date or
    // yes/no column (a results table's pseudonyms were most of its bytes to decode).
    let text = |field: &arrow_schema::Field| {
        field.name() != "pid"
            && !field.data_type().is_primitive()
            && !field.data_type().is_null()
            && *field.data_type() != arrow_schema::DataType::Boolean
    };
    for batch in crate::parquet_io::read_parquet_columns(path, text)?.batches {
        if let Some((column, spot, kind)) = scan_batch(&batch, detector) {
            return Ok(Some((spot.place(&column, offset), kind)));
        }
        offset += batch.num_rows();
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A report table of totals as a large delivery gives them: 8-digit whole numbers
    /// starting 2–9, in a number cell and in a count with its share.
    fn large_totals() -> folge_report::ReportTable {
        use folge_report::Cell;
        folge_report::ReportTable {
            id: "table_inputs".into(),
            caption: "Tabell 1. Inndata".into(),
            columns: vec!["Inndata".into(), "Rader lest".into(), "Timer".into(), "n (%)".into()],
            rows: vec![vec![
                Cell::Text("inputs.service_events".into()),
                Cell::Number(25_000_000.0, 0),
                Cell::Number(23_456_789.0, 0),
                Cell::CountShare(34_567_890, 12.0),
            ]],
            notes: vec![],
            summary: None,
        }
    }

    /// The table's files as the report writes them: name, bytes, the ranges of its numbers.
    fn table_files(
        table: &folge_report::ReportTable,
        nb: bool,
    ) -> Vec<(String, Vec<u8>, Vec<Range<usize>>)> {
        let file = |name: &str, text: folge_report::NumberedText| {
            (name.to_owned(), text.text.into_bytes(), text.numbers)
        };
        vec![
            file("index.html", table.html(nb)),
            file("tables/table_inputs.csv", table.csv(nb)),
            file("tables/table_inputs.md", table.markdown(nb)),
            ("tables.xlsx".to_owned(), folge_report::workbook(&[table], nb).unwrap(), Vec::new()),
        ]
    }

    /// The scan of a written table decodes only the columns it looks at: a name in a
    /// text column and in a categorical (dictionary) column after a number and a yes/no
    /// column is still found, in the right row of a later batch; `pid` is not looked at,
    /// as before.
    #[test]
    fn a_parquet_scan_finds_names_in_text_and_categorical_columns_only() {
        use arrow_array::types::Int8Type;
        use arrow_array::{ArrayRef, BooleanArray, DictionaryArray, Int32Array, StringArray};
        use arrow_schema::{DataType, Field, Schema};
        use std::sync::Arc;
        let detector = Detector::new(["Kari Nordmann"], []);
        let schema = Arc::new(Schema::new(vec![
            Field::new("pid", DataType::Utf8, false),
            Field::new("n", DataType::Int32, false),
            Field::new("flag", DataType::Boolean, false),
            Field::new("code", DataType::Utf8, true),
            Field::new(
                "level",
                DataType::Dictionary(Box::new(DataType::Int8), Box::new(DataType::Utf8)),
                true,
            ),
        ]));
        let batch = |pid: &str, code: &str, level: &str| {
            let levels: ArrayRef = Arc::new(StringArray::from(vec!["lav", "høy", level]));
            let keys = arrow_array::Int8Array::from(vec![0, 1, 2]);
            let columns: Vec<ArrayRef> = vec![
                Arc::new(StringArray::from(vec![pid; 3])),
                Arc::new(Int32Array::from(vec![1, 2, 3])),
                Arc::new(BooleanArray::from(vec![true, false, true])),
                Arc::new(StringArray::from(vec!["gp", "kad", code])),
                Arc::new(DictionaryArray::<Int8Type>::try_new(keys, levels).unwrap()),
            ];
            RecordBatch::try_new(schema.clone(), columns).unwrap()
        };
        let dir = tempfile::tempdir().unwrap();
        let scanned = |batches: &[RecordBatch]| {
            let path = dir.path().join("t.parquet");
            let mut sink = crate::parquet_io::ParquetSink::create(
                &path,
                schema.clone(),
                &std::collections::BTreeMap::new(),
            )
            .unwrap();
            for b in batches {
                sink.write(b).unwrap();
            }
            sink.finish().unwrap();
            scan_parquet(&path, &detector).unwrap().map(|(place, kind)| (place, kind.name()))
        };
        let clean = batch("Kari Nordmann", "gp", "middels");
        assert_eq!(scanned(&[clean.clone(), clean.clone()]), None, "pid is not scanned");
        let in_level = batch("x", "gp", "Kari Nordmann");
        let hit = scanned(&[clean.clone(), in_level]).unwrap();
        assert_eq!(hit.0, "column `level`, row 6");
        let in_code = batch("x", "Kari", "middels");
        let hit = scanned(&[clean.clone(), in_code]).unwrap();
        assert_eq!(hit.0, "column `code`, row 6");
        assert!(hit.1.contains("name"), "{}", hit.1);
        // A name in a level no row uses: a row group's first batch seeds its dictionary
        // page with every level (vendor/README.md), so the file holds it and readers show
        // it; found, as such.
        let mut columns = clean.columns().to_vec();
        let levels: ArrayRef = Arc::new(StringArray::from(vec!["lav", "høy", "Kari Nordmann"]));
        let keys = arrow_array::Int8Array::from(vec![0, 1, 0]);
        columns[4] = Arc::new(DictionaryArray::<Int8Type>::try_new(keys, levels).unwrap());
        let unused = RecordBatch::try_new(schema.clone(), columns).unwrap();
        let hit = scanned(&[unused, clean]).unwrap();
        assert_eq!(hit.0, "column `level`, a level of its dictionary that no row uses");
    }

    /// A dictionary column is judged by its levels: the first row using a level with a
    /// name is named; null rows and clean levels pass; a level with a name that no row
    /// uses is found too, as such (the file keeps it, and readers show it).
    #[test]
    fn a_dictionary_column_is_judged_row_by_row_through_its_levels() {
        use arrow_array::types::UInt32Type;
        use arrow_array::{ArrayRef, DictionaryArray, UInt32Array};
        use arrow_schema::{DataType, Field, Schema};
        use std::sync::Arc;
        let detector = Detector::new(["Kari Nordmann"], []);
        let schema = Arc::new(Schema::new(vec![Field::new(
            "service",
            DataType::Dictionary(Box::new(DataType::UInt32), Box::new(DataType::Utf8)),
            true,
        )]));
        let with_levels = |keys: Vec<Option<u32>>, levels: Vec<&str>| {
            let levels: ArrayRef = Arc::new(StringArray::from(levels));
            let column =
                DictionaryArray::<UInt32Type>::try_new(UInt32Array::from(keys), levels).unwrap();
            RecordBatch::try_new(schema.clone(), vec![Arc::new(column) as ArrayRef]).unwrap()
        };
        let batch = |keys: Vec<Option<u32>>| with_levels(keys, vec!["gp", "kad", "Kari Nordmann"]);
        let found =
            |b: &RecordBatch| scan_batch(b, &detector).map(|(c, spot, k)| (c, spot, k.name()));
        let hit = found(&batch(vec![Some(0), None, Some(1), Some(2), Some(2)]));
        assert_eq!(hit, Some(("service".to_owned(), Spot::Row(3), DetectKind::Name.name())));
        // The name in a level no row uses.
        let unused = found(&batch(vec![Some(1), None, Some(0)]));
        assert_eq!(
            unused,
            Some(("service".to_owned(), Spot::UnusedLevel, DetectKind::Name.name()))
        );
        assert_eq!(
            Spot::UnusedLevel.place("service", 70),
            "column `service`, a level of its dictionary that no row uses"
        );
        assert_eq!(Spot::Row(3).place("service", 70), "column `service`, row 74");
        // Clean levels, used or not, pass.
        assert_eq!(found(&with_levels(vec![Some(1), None], vec!["gp", "kad", "kad_stay"])), None);
        // A null row whose key slot holds the name's level is a null row: the level is
        // found as one no row uses.
        let keys = UInt32Array::new(
            vec![0, 2, 1].into(),
            Some(arrow_buffer::NullBuffer::from(vec![true, false, true])),
        );
        let levels: ArrayRef = Arc::new(StringArray::from(vec!["gp", "kad", "Kari Nordmann"]));
        let column = DictionaryArray::<UInt32Type>::try_new(keys, levels).unwrap();
        let masked = RecordBatch::try_new(schema.clone(), vec![Arc::new(column) as ArrayRef]);
        assert_eq!(found(&masked.unwrap()).map(|(_, spot, _)| spot), Some(Spot::UnusedLevel));
        let rows = batch(vec![Some(2), Some(1)]);
        assert_eq!(scan_batch_columns(&rows, &detector).len(), 1);
        // A row that uses the name is the one named, as reading each row's text finds;
        // where no row does, the unused level is.
        for keys in [vec![Some(0), Some(2)], vec![None, Some(1)], vec![Some(1), Some(1), Some(2)]] {
            let b = batch(keys);
            let text = folge_schema::text_values(b.column(0).as_ref()).unwrap();
            let expected = match scan_column(text, &detector) {
                Some((row, kind)) => (Spot::Row(row), kind),
                None => (Spot::UnusedLevel, DetectKind::Name),
            };
            assert_eq!(scan_batch(&b, &detector).map(|(_, spot, k)| (spot, k)), Some(expected));
        }
    }

    #[test]
    fn computed_totals_of_eight_digits_pass_the_scan() {
        let detector = Detector::new(["Kari Nordmann"], []);
        let table = large_totals();
        for nb in [true, false] {
            for (name, bytes, numbers) in table_files(&table, nb) {
                let hit = scan_report_file(&name, &bytes, &numbers, &detector).unwrap();
                assert_eq!(hit, None, "{name}, nb = {nb}");
            }
        }
    }

    #[test]
    fn eight_digits_typed_as_text_still_stop_the_report() {
        use folge_report::Cell;
        type Plant = fn(&mut folge_report::ReportTable);
        let detector = Detector::new(["Kari Nordmann"], []);
        // Beside the computed totals, the same digits as text: a text cell of only
        // digits, a quote, a caption, a note; each alone must be found in every file that
        // shows it, named by file and place, never by value.
        // Captions and notes are not in the CSV (headings and rows only).
        let everywhere = ["html", "csv", "md", "xlsx"];
        let planted: [(&str, Plant, &[&str]); 5] = [
            ("a text cell", |t| t.rows[0][0] = Cell::Text("23456789".into()), &everywhere),
            (
                "a quote",
                |t| t.rows[0][0] = Cell::Text("«ring meg på 234 56 789»".into()),
                &everywhere,
            ),
            ("a heading", |t| t.columns[0] = "23456789".into(), &everywhere),
            ("a caption", |t| t.caption = "Tabell 1. 23456789".into(), &["html", "md", "xlsx"]),
            ("a note", |t| t.notes.push("Spør 23 45 67 89.".into()), &["html", "md", "xlsx"]),
        ];
        for (what, plant, shown_in) in planted {
            let mut table = large_totals();
            plant(&mut table);
            for nb in [true, false] {
                for (name, bytes, numbers) in table_files(&table, nb) {
                    if !shown_in.iter().any(|e| name.ends_with(e)) {
                        continue;
                    }
                    let hit = scan_report_file(&name, &bytes, &numbers, &detector).unwrap();
                    let Some((place, kind)) = hit else {
                        panic!("{what} in `{name}` (nb = {nb}) passed the scan");
                    };
                    assert_eq!(kind, DetectKind::Phone, "{what} in `{name}`");
                    assert!(!place.contains("2345") && !place.is_empty(), "{place}");
                    let message = failure("report", &name, &place, kind).to_string();
                    assert!(message.contains(&format!("`{name}`, {place}")), "{message}");
                    assert!(!message.contains("23") || !message.contains("789"), "{message}");
                }
            }
        }
    }

    #[test]
    fn a_number_range_holding_more_than_a_number_is_scanned_as_text() {
        let detector = Detector::new(["Kari Nordmann"], []);
        // One range said to hold a number.
        let check = |text: &str, number: Range<usize>, expected: Option<DetectKind>| {
            let numbers = std::slice::from_ref(&number);
            let hit = scan_report_file("tables/t.csv", text.as_bytes(), numbers, &detector);
            assert_eq!(hit.unwrap().map(|h| h.1), expected, "{text:?} {number:?}");
        };
        check("n\n23456789\n", 2..10, None);
        check("n\n-23456789,5\n", 2..14, None);
        // Text, a space, a second number, a half number: each range left as text.
        check("n\ntlf 23456789\n", 2..14, Some(DetectKind::Phone));
        check("n\n234 56 789\n", 2..12, Some(DetectKind::Phone));
        check("n\n23456789\n", 2..6, Some(DetectKind::Phone));
        check("n\n23456789\n", 2..40, Some(DetectKind::Phone));
        check("n\n23,5 Kari\n", 2..9, Some(DetectKind::Name));
        check("n\ntlf23456789\n", 5..13, Some(DetectKind::Phone));
        check("n\nø23456789\n", 4..12, Some(DetectKind::Phone));
        // A number cell before a text cell no longer reads the text's digits as its
        // decimal part (`5,91234567` in a CSV with `,` between fields).
        check("n,t\n5,91234567\n", 4..5, Some(DetectKind::Phone));
    }

    #[test]
    fn a_workbook_number_cell_is_a_number_and_a_string_cell_is_text() {
        let check = |xml: &str, expected: &str| assert_eq!(blank_number_cells(xml), expected);
        check(r#"<c r="B4" s="1"><v>25000000</v></c>"#, r#"<c r="B4" s="1"><v>########</v></c>"#);
        check(r#"<c r="B4" t="n"><v>2.5E-7</v></c>"#, r#"<c r="B4" t="n"><v>######</v></c>"#);
        check(r#"<c r="A4" t="s"><v>12</v></c>"#, r#"<c r="A4" t="s"><v>##</v></c>"#);
        check(
            r#"<cols><col min="1"/></cols><c r="A1"/>"#,
            r#"<cols><col min="1"/></cols><c r="A1"/>"#,
        );
        for typed_text in [
            r#"<c r="A4" t="str"><v>23456789</v></c>"#,
            r#"<c r="A4" t="inlineStr"><is><t>23456789</t></is></c>"#,
            r#"<c r="A4"><v>tlf 23456789</v></c>"#,
        ] {
            check(typed_text, typed_text);
        }
    }

    #[test]
    fn markup_keeps_text_and_drops_tags_styles_and_attributes() {
        let html = "<style>p { margin: 91234567px }</style><p title=\"91234567\">Kari</p><td>1</td><td>157</td>";
        let text = markup_text(html);
        assert!(text.contains("Kari") && !text.contains("91234567") && !text.contains("margin"));
        let detector = Detector::new(["Kari Nordmann"], []);
        let hit = scan_bytes("index.html", html.as_bytes(), &detector).unwrap();
        assert_eq!(hit, Some(("text line 5".to_owned(), DetectKind::Name)));
        let json = br#"{"rows": 91234567, "path": "ring 912 34 567"}"#;
        let hit = scan_bytes("manifest.json", json, &detector).unwrap();
        assert_eq!(hit.map(|h| h.1), Some(DetectKind::Phone));
        assert!(matches!(
            scan_bytes("manifest.json", br#"{"rows": 91234567}"#, &detector),
            Ok(None)
        ));
        // What folge wrote but cannot read back is a bug of folge's, the reader's error kept.
        let err = scan_bytes("tables.xlsx", b"not a zip", &detector).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("`tables.xlsx` cannot be read back to be scanned: not a workbook: "),
            "{err}"
        );
        assert!(std::error::Error::source(&err).is_some());
        let bug = PipelineError::bug_from(err);
        assert!(bug.is_bug(), "{bug}");
    }
}

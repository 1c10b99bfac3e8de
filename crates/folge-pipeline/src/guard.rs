//! The fail-closed re-scan of everything a run writes past zone 1: every string column
//! (but `pid`) of every zone-2/3 table, the report's text (HTML and SVG text outside tags,
//! CSV, Markdown, the workbook's XML, PNG text chunks), the JSON files and the manifests,
//! looked at with `folge_deid::Detector` — a detector that shares no code with the
//! scrubber. A hit says file, place and kind of identifier, never the value; the caller
//! deletes what the stage wrote.

use std::io::Read;
use std::path::Path;

use arrow_array::RecordBatch;
use folge_deid::{DetectKind, Detector};

use crate::PipelineError;

/// Where a hit lies: column and 1-based row of a table, or a line or entry of a file.
pub(crate) type Place = String;

/// The first string column (but `pid`) of `batch` holding an identifier: column, 0-based
/// row and kind.
pub(crate) fn scan_batch(
    batch: &RecordBatch,
    detector: &Detector,
) -> Option<(String, usize, DetectKind)> {
    string_columns(batch).find_map(|(name, values)| {
        scan_column(values, detector).map(|(row, kind)| (name.to_owned(), row, kind))
    })
}

/// Every string column (but `pid`) of `batch` holding an identifier, each once with the
/// 0-based row and kind of its first hit: a failed re-scan names all of them, so one
/// run shows every column to mend, not one column a run.
pub(crate) fn scan_batch_columns(
    batch: &RecordBatch,
    detector: &Detector,
) -> Vec<(String, usize, DetectKind)> {
    string_columns(batch)
        .filter_map(|(name, values)| {
            scan_column(values, detector).map(|(row, kind)| (name.to_owned(), row, kind))
        })
        .collect()
}

/// The text columns of `batch` but `pid`, by name: plain text and dictionary-encoded
/// categories alike (a dictionary's every row is read through its levels, so nothing in a
/// categorical column escapes the scan).
fn string_columns(batch: &RecordBatch) -> impl Iterator<Item = (&str, Vec<Option<&str>>)> {
    batch.schema_ref().fields().iter().zip(batch.columns()).filter_map(|(field, column)| {
        let values = folge_schema::text_values(column.as_ref()).ok()?;
        (field.name() != "pid").then_some((field.name().as_str(), values))
    })
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
    for batch in crate::parquet_io::read_parquet(path)?.batches {
        if let Some((column, row, kind)) = scan_batch(&batch, detector) {
            return Ok(Some((format!("column `{column}`, row {}", offset + row + 1), kind)));
        }
        offset += batch.num_rows();
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

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

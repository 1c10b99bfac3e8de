//! A CSV input as offices deliver it: the delimiter sniffed from the header line (`;`, `,`
//! or tab, overridable), a UTF-8 byte-order mark skipped, quoted fields with newlines,
//! and trailing empty columns that Excel adds tolerated. Records come with their 1-based
//! line number (the header is line 1).

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read};

use folge_schema::shown;
use folge_schema::suggest::closest;

use crate::IngestError;

/// How to read a CSV file.
#[derive(Debug, Clone, Default)]
pub struct CsvOptions {
    /// Field delimiter; sniffed from the header line when `None`.
    pub delimiter: Option<u8>,
    /// Text encoding; detected when `None`: a byte-order mark (UTF-8, UTF-16LE/BE) decides,
    /// else the first 64 KiB are tried as UTF-8 and, if that fails, Windows-1252 is used
    /// (what Excel on a Norwegian PC writes as plain "CSV").
    pub encoding: Option<&'static encoding_rs::Encoding>,
    /// Header names for canonical columns, when the file names them otherwise
    /// (canonical → header, e.g. `start_date` → `inndato`). Layouts add their own.
    pub columns: std::collections::BTreeMap<String, String>,
    /// How the file's values map to canonical ones.
    pub layout: Layout,
    /// Set when the text came from a spreadsheet: lines are then the sheet's row numbers
    /// and rejects name the sheet and cell.
    pub sheet: Option<crate::SheetOrigin>,
    /// Where an open period ends (a KPR decision without `tildato`): the pipeline's end of
    /// data delivery.
    pub open_end: Option<chrono::NaiveDate>,
    /// Whether duplicate rows are looked for.
    pub duplicates: crate::DuplicateCheck,
    /// Whether a duplicate row is rejected or kept and reported.
    pub duplicate_rows: crate::DuplicateRows,
    /// Where the check of kept duplicates sets its records aside beyond a budget (in
    /// memory unless the caller gives a place for temporary files).
    pub spill: crate::SpillOptions,
    /// A file with a header but no data rows reads as an empty table instead of an error.
    pub allow_empty: bool,
    /// How dates whose parts are all one or two digits are read (`03.04.05`).
    pub date_order: crate::values::DateOrder,
    /// The file's own service codes → folge's (canonical layout), e.g. a municipality's
    /// `Hjemmesykepleie` → `home_nursing`.
    pub service_codes: BTreeMap<String, folge_schema::Service>,
    /// The values `site`, `target_group`, `municipality`, `element` and `role` may hold,
    /// where the pipeline lists them (shared by every file of a run).
    pub vocabularies: std::sync::Arc<crate::Vocabularies>,
}

/// The layout of an input: which headers name folge's columns and how codes map.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Layout {
    /// folge's canonical columns and codes (`shared/data-contract.md`).
    #[default]
    Canonical,
    /// An NPR-style hospital extract: `fnr`, `inndato`, `utdato`, `omsorgsniva`,
    /// `innmateHast` (see the crate README for the code lists).
    Npr,
    /// A KPR-style municipal extract of decisions (vedtak): `fnr`, `tjenestekode`,
    /// `fradato`, `tildato`, `timerPerUke` (see the crate README for the code list).
    Kpr,
    /// MAXQDA's exported list of coded segments: `Document name`, `Code` (a path
    /// `Theme > Code`), `Begin`, `End`, `Segment`, the coder as `Created by`/`Author`.
    Maxqda,
    /// ATLAS.ti's exported quotations: `ID` (`3:10`), `Document`, `Codes` (one or more,
    /// one per line), `Quotation Content`, the coder as `Created by`/`Author`.
    AtlasTi,
    /// NVivo's coding export: `File`, `Code` (a path `Theme\Code`), `Reference`,
    /// `Coded Text`, the coder as `User`/`Coded By`.
    Nvivo,
}

impl Layout {
    /// The layout's header names for canonical columns: the first that the file has is
    /// used, so one layout covers an export's versions and languages.
    pub fn columns(self) -> &'static [(&'static str, &'static [&'static str])] {
        match self {
            Layout::Canonical => &[],
            Layout::Npr => &[
                ("person_id", &["fnr"]),
                ("start_date", &["inndato"]),
                ("end_date", &["utdato"]),
                ("service", &["omsorgsniva"]),
                ("acute", &["innmateHast"]),
                ("died", &["utTilstand"]),
                ("start_time", &["innTid"]),
                ("end_time", &["utTid"]),
            ],
            Layout::Kpr => &[
                ("person_id", &["fnr"]),
                ("service", &["tjenestekode"]),
                ("start_date", &["fradato"]),
                ("end_date", &["tildato"]),
                ("quantity", &["timerPerUke"]),
            ],
            Layout::Maxqda => &[
                ("focus_group", &["Document name", "Dokumentname", "Dokument"]),
                ("code", &["Code", "Kode"]),
                ("begin", &["Begin", "Anfang", "Start"]),
                ("end", &["End", "Ende", "Slutt"]),
                ("text", &["Segment"]),
                ("coder", &["Created by", "Author", "Coder", "Autor", "Erstellt von"]),
            ],
            Layout::AtlasTi => &[
                ("focus_group", &["Document", "Document Name", "Dokument"]),
                ("segment", &["ID", "Quotation ID"]),
                ("code", &["Codes", "Code"]),
                ("text", &["Quotation Content", "Content", "Name"]),
                ("coder", &["Created by", "Author", "Creator"]),
            ],
            Layout::Nvivo => &[
                ("focus_group", &["File", "Files", "Document", "Source"]),
                ("code", &["Code", "Codes", "Node", "Nodes"]),
                ("segment", &["Reference", "Range"]),
                ("text", &["Coded Text", "Text", "Content"]),
                ("coder", &["User", "Coded By", "Created By", "Coder"]),
            ],
        }
    }

    /// The separator of hierarchical code names in this layout's exports, if any.
    pub fn code_path_separator(self) -> Option<char> {
        match self {
            Layout::Maxqda => Some('>'),
            Layout::Nvivo => Some('\\'),
            _ => None,
        }
    }
}

/// Pick the encoding from the first bytes: BOM, else UTF-8 if they decode, else
/// Windows-1252. A UTF-8 sequence cut at the end of the sample still counts as UTF-8.
pub fn detect_encoding(sample: &[u8]) -> &'static encoding_rs::Encoding {
    if let Some((encoding, _)) = encoding_rs::Encoding::for_bom(sample) {
        return encoding;
    }
    match std::str::from_utf8(sample) {
        Ok(_) => encoding_rs::UTF_8,
        Err(e) if e.error_len().is_none() => encoding_rs::UTF_8,
        Err(_) => encoding_rs::WINDOWS_1252,
    }
}

/// Pick the delimiter that occurs most often outside quotes in the header line; `,` when
/// none occurs (a one-column file).
pub fn sniff_delimiter(header_line: &[u8]) -> u8 {
    let mut counts = [(b';', 0usize), (b',', 0), (b'\t', 0)];
    let mut quoted = false;
    for &byte in header_line {
        if byte == b'"' {
            quoted = !quoted;
        } else if !quoted {
            for (delimiter, count) in &mut counts {
                if byte == *delimiter {
                    *count += 1;
                }
            }
        }
    }
    counts
        .iter()
        .max_by_key(|(d, n)| (*n, *d == b','))
        .filter(|(_, n)| *n > 0)
        .map_or(b',', |(d, _)| *d)
}

/// Header cells as a message lists them: each [`shown`], at most [`LISTED`], then how many
/// more (a header line of 900 kB is not echoed whole).
pub(crate) fn listed(cells: &[String]) -> String {
    let mut out: Vec<String> =
        cells.iter().take(LISTED).map(|c| format!("`{}`", shown(c))).collect();
    if cells.len() > LISTED {
        out.push(format!("and {} more", cells.len() - LISTED));
    }
    out.join(", ")
}

/// Header cells a message lists at most.
const LISTED: usize = 20;

/// Whether a header cell is a value rather than a column name: a date, a number, or a
/// digit run as long as an id or a phone number.
fn looks_like_data(cell: &str) -> bool {
    crate::values::fast_date(cell).is_some()
        || crate::values::parse_date(cell, 30).is_ok()
        || cell.chars().filter(char::is_ascii_digit).count() >= folge_schema::shown::MASK_DIGITS
}

/// Whether a header line is a row of values: a cell that is a date or holds an id-length
/// digit run, or mostly numbers (a header may have a numeric column name or two).
fn header_is_data(header: &[String]) -> bool {
    let cells: Vec<&String> = header.iter().filter(|h| !h.is_empty()).collect();
    let numbers = cells.iter().filter(|h| crate::values::parse_number(h).is_ok()).count();
    cells.iter().any(|h| looks_like_data(h)) || (numbers > 0 && 2 * numbers >= cells.len())
}

/// Turns CRLF into LF while streaming. The csv crate reports a record's line one too low
/// after a CRLF terminator (it records the position between `\r` and `\n`), and Excel on
/// Windows writes CRLF, so line numbers in error messages would be off by one without
/// this. A `\r` not followed by `\n` passes through.
struct CrlfToLf<R: BufRead> {
    inner: R,
    /// A `\r` seen at the end of the previous chunk, not yet known to precede `\n`.
    pending_cr: bool,
    /// Whether an odd number of `"` has passed: at the end of the file that means a
    /// quoted cell was never closed.
    quotes_odd: bool,
}

/// Whether `bytes` holds an odd number of `"`.
fn odd_quotes(bytes: &[u8]) -> bool {
    // memchr skips many bytes at a time; extracts have few quotes.
    memchr::memchr_iter(b'"', bytes).count() % 2 == 1
}

impl<R: BufRead> Read for CrlfToLf<R> {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        if out.is_empty() {
            return Ok(0);
        }
        let chunk = self.inner.fill_buf()?;
        if chunk.is_empty() {
            if self.pending_cr {
                self.pending_cr = false;
                out[0] = b'\r';
                return Ok(1);
            }
            return Ok(0);
        }
        let mut written = 0;
        let mut consumed = 0;
        if self.pending_cr {
            self.pending_cr = false;
            if chunk[0] != b'\n' {
                out[0] = b'\r';
                written = 1;
            }
        }
        // Copy runs between carriage returns whole (this adapter sees every byte of a
        // registry extract, so it must not go byte by byte).
        while consumed < chunk.len() && written < out.len() {
            let limit = (chunk.len() - consumed).min(out.len() - written);
            let run = &chunk[consumed..consumed + limit];
            let Some(cr) = memchr::memchr(b'\r', run) else {
                out[written..written + limit].copy_from_slice(run);
                self.quotes_odd ^= odd_quotes(run);
                written += limit;
                consumed += limit;
                break;
            };
            out[written..written + cr].copy_from_slice(&run[..cr]);
            self.quotes_odd ^= odd_quotes(&run[..cr]);
            written += cr;
            consumed += cr;
            match chunk.get(consumed + 1) {
                // CRLF: drop the CR; the LF is copied with the next run.
                Some(b'\n') => consumed += 1,
                Some(_) if written < out.len() => {
                    out[written] = b'\r';
                    written += 1;
                    consumed += 1;
                }
                Some(_) => break,
                None => {
                    self.pending_cr = true;
                    consumed += 1;
                }
            }
        }
        self.inner.consume(consumed);
        if written == 0 {
            // Only a `\r\n`'s `\r` or a trailing `\r` was consumed: read on.
            return self.read(out);
        }
        Ok(written)
    }
}

/// An open CSV source with a parsed header.
pub(crate) struct CsvSource<'r> {
    pub name: String,
    /// Where a spreadsheet's range starts, when the text came from one.
    pub sheet: Option<crate::SheetOrigin>,
    /// Canonical column → header names to look for, from the layout (alternatives, the
    /// first the file has wins) and the explicit renames (one name, which wins).
    renames: std::collections::BTreeMap<String, Vec<String>>,
    /// The encoding the bytes were read as.
    pub encoding: &'static encoding_rs::Encoding,
    reader: csv::Reader<CrlfToLf<BufReader<Box<dyn Read + 'r>>>>,
    header: Vec<String>,
    record: csv::StringRecord,
    /// The current record runs over more than one line (a quoted cell with newlines).
    multiline: bool,
    /// Where the current record starts (kept past the end of the file).
    start_line: u64,
    /// The current record has a cell holding a line break or the delimiter, read while an
    /// odd number of quotes had passed: at the end of the file that is a quoted cell
    /// left open, even on one line.
    open_quote: bool,
    delimiter: u8,
}

impl<'r> CsvSource<'r> {
    pub fn open(
        name: &str,
        input: impl Read + 'r,
        options: &CsvOptions,
    ) -> Result<Self, IngestError> {
        let read_error = |e: std::io::Error| IngestError::Read {
            source_name: name.to_owned(),
            line: 1,
            message: e.to_string(),
        };
        let mut raw = BufReader::with_capacity(1 << 16, input);
        let encoding = match options.encoding {
            Some(e) => e,
            None => detect_encoding(raw.fill_buf().map_err(read_error)?),
        };
        // UTF-8 passes through untouched (csv strips its BOM); anything else is transcoded
        // to UTF-8 while streaming.
        let decoded: Box<dyn Read + 'r> = if encoding == encoding_rs::UTF_8 {
            Box::new(raw)
        } else {
            Box::new(
                encoding_rs_io::DecodeReaderBytesBuilder::new()
                    .encoding(Some(encoding))
                    .bom_override(true)
                    .build(raw),
            )
        };
        // Read the header line whole (a decoder may hand out short chunks), sniff the
        // delimiter on it, then put it back in front of the rest.
        let mut buffered = BufReader::with_capacity(1 << 16, decoded);
        let mut first_line = Vec::new();
        buffered.read_until(b'\n', &mut first_line).map_err(read_error)?;
        let header = first_line.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&first_line);
        let delimiter = options.delimiter.unwrap_or_else(|| sniff_delimiter(header));
        let rejoined: Box<dyn Read + 'r> =
            Box::new(std::io::Cursor::new(first_line).chain(buffered));
        // csv strips a leading UTF-8 BOM itself.
        let reader = csv::ReaderBuilder::new()
            .delimiter(delimiter)
            .has_headers(false)
            .flexible(true)
            .from_reader(CrlfToLf {
                inner: BufReader::with_capacity(1 << 16, rejoined),
                pending_cr: false,
                quotes_odd: false,
            });
        let mut renames: std::collections::BTreeMap<String, Vec<String>> = options
            .layout
            .columns()
            .iter()
            .map(|(c, h)| ((*c).to_owned(), h.iter().map(|h| (*h).to_owned()).collect()))
            .collect();
        renames.extend(options.columns.iter().map(|(c, h)| (c.clone(), vec![h.clone()])));
        let mut source = CsvSource {
            name: name.to_owned(),
            sheet: options.sheet.clone(),
            renames,
            encoding,
            reader,
            header: Vec::new(),
            record: csv::StringRecord::new(),
            multiline: false,
            start_line: 0,
            open_quote: false,
            delimiter,
        };
        if !source.next_record()? {
            return Err(IngestError::Empty { source_name: name.to_owned() });
        }
        source.header = source.record.iter().map(|h| h.trim().to_owned()).collect();
        while source.header.last().is_some_and(String::is_empty) {
            source.header.pop();
        }
        if source.header.is_empty() {
            return Err(IngestError::Empty { source_name: name.to_owned() });
        }
        Ok(source)
    }

    /// Column positions of the wanted canonical columns; a missing required one is an error
    /// naming the columns found and the closest match. Header names match case-insensitively.
    pub fn columns<'c>(
        &self,
        required: &[&'c str],
        optional: &[&'c str],
    ) -> Result<BTreeMap<&'c str, usize>, IngestError> {
        let mut map = BTreeMap::new();
        for (&column, is_required) in
            required.iter().map(|c| (c, true)).chain(optional.iter().map(|c| (c, false)))
        {
            let wanted: Vec<&str> = self
                .renames
                .get(column)
                .map_or_else(|| vec![column], |names| names.iter().map(String::as_str).collect());
            let position = wanted
                .iter()
                .find_map(|w| self.header.iter().position(|h| h.eq_ignore_ascii_case(w)));
            match position {
                Some(i) => {
                    map.insert(column, i);
                }
                None if is_required => {
                    // A header of values is a file without its header line: its cells are
                    // a person's id and name, so they are not listed.
                    if header_is_data(&self.header) {
                        let expected: Vec<String> = required
                            .iter()
                            .map(|c| match self.renames.get(*c).and_then(|n| n.first()) {
                                Some(name) => format!("`{}`", shown(name)),
                                None => format!("`{c}`"),
                            })
                            .collect();
                        return Err(IngestError::HeaderLooksLikeData {
                            source_name: self.name.clone(),
                            expected: expected.join(", "),
                        });
                    }
                    let names: Vec<String> =
                        wanted.iter().map(|w| format!("`{}`", shown(w))).collect();
                    let names = match names.split_last() {
                        Some((last, rest)) if !rest.is_empty() => {
                            format!("{} or {last}", rest.join(", "))
                        }
                        _ => names.join(""),
                    };
                    let wanted = wanted[0];
                    let column = if wanted == column {
                        format!("`{}`", shown(column))
                    } else {
                        format!("{names} (folge's `{column}`)")
                    };
                    return Err(IngestError::MissingColumn {
                        source_name: self.name.clone(),
                        column,
                        found: listed(&self.header),
                        closest: closest(wanted, self.header.iter().map(String::as_str))
                            .map(|c| shown(c).to_string()),
                    });
                }
                None => {}
            }
        }
        Ok(map)
    }

    /// Advance to the next record; `false` at the end. A quoted cell still open at the
    /// end of the file is an error naming the line where its record starts: the csv
    /// parser would otherwise hand back the rest of the file as one cell, swallowing rows.
    pub fn next_record(&mut self) -> Result<bool, IngestError> {
        let read = self.read_record()?;
        if read {
            let start = self.record.position().map_or(0, csv::Position::line);
            self.multiline = self.reader.position().line() > start + 1;
            self.start_line = self.line();
            // Only looked at while the quotes are odd (rarely, and always at the end of a
            // file whose last cell is left open).
            self.open_quote = self.reader.get_ref().quotes_odd
                && memchr::memchr3(b'\n', b'\r', self.delimiter, self.record.as_slice().as_bytes())
                    .is_some();
        } else if (self.multiline || self.open_quote) && self.reader.get_ref().quotes_odd {
            return Err(IngestError::Read {
                source_name: self.name.clone(),
                line: self.start_line,
                message: "a quoted cell that starts in this row is never closed, so the rest of the file would read as one cell (expected a closing `\"`)".into(),
            });
        }
        Ok(read)
    }

    /// Columns in the header (trailing empty ones Excel adds left out).
    pub fn header_len(&self) -> usize {
        self.header.len()
    }

    /// Whether the current record spans more than one line.
    pub fn is_multiline(&self) -> bool {
        self.multiline
    }

    fn read_record(&mut self) -> Result<bool, IngestError> {
        self.reader.read_record(&mut self.record).map_err(|e| {
            let Some(line) = e.position().map(csv::Position::line) else {
                // An error of the file as a whole (reading it failed): no line to name.
                return IngestError::File {
                    source_name: self.name.clone(),
                    message: format!("cannot be read: {}", shown(&e.to_string())),
                };
            };
            match e.kind() {
                csv::ErrorKind::Utf8 { .. } => {
                    IngestError::Encoding { source_name: self.name.clone(), line }
                }
                _ => IngestError::Read {
                    source_name: self.name.clone(),
                    line,
                    message: shown(&e.to_string()).to_string(),
                },
            }
        })
    }

    /// The current record.
    pub fn record(&self) -> &csv::StringRecord {
        &self.record
    }

    /// Take the current record, leaving `spare` (whose buffers the next read reuses).
    pub(crate) fn swap_record(&mut self, spare: &mut csv::StringRecord) {
        std::mem::swap(&mut self.record, spare);
    }

    /// 1-based line where the current record starts, or its spreadsheet row.
    pub fn line(&self) -> u64 {
        match &self.sheet {
            Some(origin) => {
                self.record.position().map_or(0, |p| p.record() + 1 + u64::from(origin.row))
            }
            None => self.record.position().map_or(0, csv::Position::line),
        }
    }

    /// Whether every field of the current record is empty (Excel leaves such rows).
    pub fn is_blank(&self) -> bool {
        // The fields' text back to back: all white space, or a data row fails at its first
        // character.
        self.record.as_slice().chars().all(char::is_whitespace)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crlf_becomes_lf_across_chunk_boundaries() {
        let input = b"a\r\nb\rc\r\n\r";
        for capacity in 1..=input.len() {
            let mut reader = CrlfToLf {
                inner: BufReader::with_capacity(capacity, &input[..]),
                pending_cr: false,
                quotes_odd: false,
            };
            let mut out = Vec::new();
            reader.read_to_end(&mut out).unwrap();
            assert_eq!(out, b"a\nb\rc\n\r", "capacity {capacity}");
        }
    }

    #[test]
    fn sniffs_the_header_delimiter() {
        assert_eq!(sniff_delimiter(b"a;b;c"), b';');
        assert_eq!(sniff_delimiter(b"a,b,c"), b',');
        assert_eq!(sniff_delimiter(b"a\tb\tc"), b'\t');
        assert_eq!(sniff_delimiter(b"\"a;x\",b,c"), b',');
        assert_eq!(sniff_delimiter(b"single"), b',');
    }

    #[test]
    fn windows_1252_and_utf16_are_transcoded() {
        // "navn;kommune\nÅse Ødegård;Bjørnafjorden\n" as Excel on a Norwegian PC saves it.
        let (cp1252, _, _) =
            encoding_rs::WINDOWS_1252.encode("navn;kommune\r\nÅse Ødegård;Bjørnafjorden\r\n");
        let mut source = CsvSource::open("w.csv", &cp1252[..], &CsvOptions::default()).unwrap();
        assert_eq!(source.encoding, encoding_rs::WINDOWS_1252);
        assert!(source.next_record().unwrap());
        assert_eq!(&source.record()[0], "Åse Ødegård");
        assert_eq!(source.line(), 2);
        let mut utf16 = vec![0xFF, 0xFE];
        for unit in "navn,kommune\nÅse,Os\n".encode_utf16() {
            utf16.extend(unit.to_le_bytes());
        }
        let mut source = CsvSource::open("u.csv", &utf16[..], &CsvOptions::default()).unwrap();
        assert_eq!(source.encoding, encoding_rs::UTF_16LE);
        assert!(source.next_record().unwrap());
        assert_eq!(&source.record()[0], "Åse");
        assert_eq!(detect_encoding("Ærlig".as_bytes()), encoding_rs::UTF_8);
        assert_eq!(detect_encoding(&"æ".as_bytes()[..1]), encoding_rs::UTF_8, "cut mid-character");
    }

    #[test]
    fn bom_and_missing_column_with_suggestion() {
        let input = "\u{feff}person_id;munincipality\r\n1;2\r\n";
        let source = CsvSource::open("p.csv", input.as_bytes(), &CsvOptions::default()).unwrap();
        let err = source.columns(&["person_id", "municipality"], &[]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "p.csv: required column `municipality` is missing; found `person_id`, `munincipality` (did you mean `munincipality`?)"
        );
        let empty = CsvSource::open("e.csv", &b""[..], &CsvOptions::default()).err().unwrap();
        assert_eq!(empty.to_string(), "e.csv: the file is empty (expected a header line)");
    }
}

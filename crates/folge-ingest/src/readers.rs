//! Readers for the canonical zone-1 tables. Each row is either accepted (typed) or
//! rejected with the line, the column and what was expected; rows read = accepted +
//! rejected, always. Reasons about identifier columns never contain the value.

use std::collections::BTreeMap;
use std::io::Read;

use chrono::NaiveDate;
use folge_schema::tables::{Coding, Participant, ProcessEvent, Reject, ServiceCount, ServiceEvent};
use folge_schema::{Arm, ExitReason, NationalId, Service, Sex, shown, shown_cell};

use crate::csv_source::{CsvOptions, CsvSource, Layout};
use crate::duplicates::DuplicateFinder;

use crate::values::{DateOrder, parse_bool, parse_date_ordered, parse_number};
use crate::{IngestError, SinkError};

/// The participant list's ids, for checking that every event names an enrolled person.
/// Membership is asked once per row of a registry extract (in date order, another person
/// on every row), so 11-digit national ids are kept as numbers in a
/// [`folge_schema::IdTable`] (key and value in one slot: one cache line a look-up) and
/// other ids as strings, each with the participant's place in the list (which zone 1's
/// keyed `person_id` column stores). Only queried, never iterated.
#[derive(Debug, Clone)]
pub struct PersonIndex {
    /// 11-digit ids as numbers → the participant's place in the list.
    numeric: folge_schema::IdTable,
    /// Other ids → the participant's place in the list.
    other: std::collections::HashMap<String, u32>,
    /// Every eleven-digit key is a valid national id (see [`PersonIndex::known`]).
    all_national: bool,
    /// Some eleven-digit key is a synthetic test number.
    any_synthetic: bool,
}

impl Default for PersonIndex {
    fn default() -> Self {
        [].into_iter().collect()
    }
}

impl PersonIndex {
    /// Index the accepted participants.
    pub fn new(participants: &[Participant]) -> Self {
        participants.iter().map(|p| p.person_id.clone()).collect()
    }

    /// Whether a validated national id is enrolled (no re-parsing of its text).
    pub fn contains_national(&self, id: &NationalId) -> bool {
        self.numeric.get(id.as_u64()).is_some()
    }

    /// The places of `ids` (cells as written) that are eleven digits once trimmed, into
    /// `out` (cleared first; `None` for any other cell): one loop of independent
    /// look-ups, whose misses the processor overlaps (see [`read_rows_of`]). Validation
    /// then takes a row's place from here ([`PersonIndex::known`]).
    pub(crate) fn places<'a>(
        &self,
        ids: impl Iterator<Item = &'a str>,
        keys: &mut Vec<u64>,
        out: &mut Vec<Option<u32>>,
    ) {
        keys.clear();
        keys.extend(
            ids.map(|id| folge_schema::eleven_digits(crate::values::trim(id)).unwrap_or(u64::MAX)),
        );
        self.numeric.get_many(keys, out);
    }

    /// The place of the enrolled participant `text` (a trimmed cell) names, when it is
    /// eleven digits and `policy` accepts every listed id, decided without parsing the id
    /// again: the participant's id was validated when the list was read, and eleven plain
    /// digits are their own normalised form. `looked_up` is the cell's place found
    /// beforehand in this same index ([`PersonIndex::places`], which `read_rows_of` calls
    /// on the `persons` the row's validation is given); without one, `text` is looked up
    /// here. `None` means "not known this way", not "not enrolled": the caller then
    /// validates the cell in full, so every answer and every reason is the same as
    /// validating each row.
    pub(crate) fn known(
        &self,
        text: &str,
        looked_up: Option<u32>,
        policy: IdPolicy,
    ) -> Option<u32> {
        if !(policy.national
            && self.all_national
            && (policy.allow_synthetic || !self.any_synthetic))
        {
            return None;
        }
        looked_up.or_else(|| self.numeric.get(folge_schema::eleven_digits(text)?))
    }

    /// Whether a (normalised) id is enrolled.
    pub fn contains(&self, id: &str) -> bool {
        self.position(id).is_some()
    }

    /// [`PersonIndex::position`] of each of `ids`, in one loop of independent look-ups
    /// (their cache misses overlap: a date-ordered extract names another person on every
    /// row).
    pub fn positions<'a>(&self, ids: impl Iterator<Item = &'a str>) -> Vec<Option<u32>> {
        let ids: Vec<&str> = ids.collect();
        let keys: Vec<u64> =
            ids.iter().map(|id| folge_schema::eleven_digits(id).unwrap_or(u64::MAX)).collect();
        let mut found = Vec::with_capacity(keys.len());
        self.numeric.get_many(&keys, &mut found);
        for ((place, key), id) in found.iter_mut().zip(&keys).zip(&ids) {
            if *key == u64::MAX {
                *place = self.other.get(*id).copied();
            }
        }
        found
    }

    /// The place in the participant list of a (normalised) enrolled id (an id listed
    /// twice: its first place).
    pub fn position(&self, id: &str) -> Option<u32> {
        match folge_schema::eleven_digits(id) {
            Some(n) => self.numeric.get(n),
            None => self.other.get(id).copied(),
        }
    }
}

impl FromIterator<String> for PersonIndex {
    /// Ids in list order; an id listed twice keeps its first place.
    fn from_iter<I: IntoIterator<Item = String>>(iter: I) -> Self {
        let ids: Vec<String> = iter.into_iter().collect();
        let mut index = PersonIndex {
            numeric: folge_schema::IdTable::with_capacity(ids.len()),
            other: std::collections::HashMap::new(),
            all_national: true,
            any_synthetic: false,
        };
        for (position, id) in ids.into_iter().enumerate() {
            let position = u32::try_from(position).expect("fewer than 2³² participants");
            match folge_schema::eleven_digits(&id) {
                Some(n) => {
                    match NationalId::parse(&id) {
                        Ok(national) => index.any_synthetic |= national.is_synthetic(),
                        Err(_) => index.all_national = false,
                    }
                    index.numeric.insert(n, position);
                }
                None => {
                    index.other.entry(id).or_insert(position);
                }
            }
        }
        index
    }
}

/// How person ids are checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IdPolicy {
    /// `true`: ids are national ids (validated, normalised); `false`: local study ids.
    pub national: bool,
    /// Accept synthetic test numbers (month + 80/+ 65); otherwise they are rejected.
    pub allow_synthetic: bool,
}

/// Rows read from one source and what became of them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceSummary {
    /// Display name of the source.
    pub source: String,
    /// Data rows read (header excluded).
    pub rows_read: u64,
    /// Rows accepted into the table.
    pub rows_accepted: u64,
    /// Rows sent to rejects.
    pub rows_rejected: u64,
}

/// The result of reading one source.
#[derive(Debug)]
pub struct Ingested<T> {
    /// Accepted rows.
    pub rows: Vec<T>,
    /// Rejected rows with reasons.
    pub rejects: Vec<Reject>,
    /// Conservation counts.
    pub summary: SourceSummary,
    /// Things accepted but worth a look (never containing identifiers).
    pub warnings: Vec<String>,
}

/// What reading one source left besides its rows (streamed to a sink).
#[derive(Debug)]
pub struct Streamed {
    /// Rejected rows with reasons.
    pub rejects: Vec<Reject>,
    /// Conservation counts.
    pub summary: SourceSummary,
    /// Things accepted but worth a look (never containing identifiers).
    pub warnings: Vec<String>,
    /// Deaths the source records (NPR's `utTilstand` 2 or 3 at discharge): person id and
    /// date, for completing the participant list's exit (identifiable: zone 1 only).
    pub deaths: Vec<(String, NaiveDate)>,
    /// Whether each person's accepted rows came together in the file (as extracts sorted
    /// by person do; a registry's date-ordered delivery does not). Later stages that work
    /// person by person stream grouped rows and sort the others out by person first.
    pub grouped_by_person: bool,
}

/// Accepted rows are handed to a sink in batches of this many, so a large file is never
/// held in memory whole.
pub const BATCH_ROWS: usize = 65_536;

/// A batch of accepted rows, in file order, and for each the place in the participant
/// list ([`PersonIndex::position`]) that validation found for its person: `None` where it
/// did not look one up (an id it validated in full, a table without persons). Whoever
/// keys rows by person looks up only those. The rows are kept in the pieces the validating
/// threads made them in: the reading thread passes them on as they are (moving each row
/// from the thread that made it cost the reading thread a cache miss a row); it moves only
/// the rows after a cut at a batch's boundary, and those after a row the duplicate check
/// rejects. Two batches are equal when their rows and places are, however cut.
#[derive(Debug, Clone)]
pub struct Rows<T> {
    /// Rows and their places, one per row, piece by piece.
    pieces: Vec<(Vec<T>, Vec<Option<u32>>)>,
    len: usize,
}

impl<T: PartialEq> PartialEq for Rows<T> {
    fn eq(&self, other: &Self) -> bool {
        self.len == other.len && self.iter().eq(other.iter()) && self.places().eq(other.places())
    }
}

impl<T> Default for Rows<T> {
    fn default() -> Self {
        Rows { pieces: Vec::new(), len: 0 }
    }
}

impl<T> Rows<T> {
    /// Rows with their places, one per row, in one piece.
    ///
    /// # Panics
    /// When there is not one place per row.
    pub fn new(rows: Vec<T>, places: Vec<Option<u32>>) -> Self {
        let mut out = Rows::default();
        out.push(rows, places);
        out
    }

    fn push(&mut self, rows: Vec<T>, places: Vec<Option<u32>>) {
        assert_eq!(rows.len(), places.len(), "one place per row");
        if !rows.is_empty() {
            self.len += rows.len();
            self.pieces.push((rows, places));
        }
    }

    /// How many rows.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The rows, in order.
    pub fn iter(&self) -> impl Iterator<Item = &T> + Clone {
        self.pieces.iter().flat_map(|(rows, _)| rows)
    }

    /// Each row's place, in order.
    pub fn places(&self) -> impl Iterator<Item = Option<u32>> + '_ {
        self.pieces.iter().flat_map(|(_, places)| places.iter().copied())
    }

    /// The rows, in order, in one vector.
    pub fn into_rows(self) -> Vec<T> {
        let mut pieces = self.pieces.into_iter();
        let Some((mut rows, _)) = pieces.next() else { return Vec::new() };
        rows.reserve(self.len - rows.len());
        for (more, _) in pieces {
            rows.extend(more);
        }
        rows
    }
}

/// Where streamed rows go: `Err` stops reading and names what failed (it becomes the
/// source of [`IngestError::Sink`]).
pub type Sink<'s, T> = dyn FnMut(Rows<T>) -> Result<(), SinkError> + 's;

/// Collect a streamed source into memory (small tables, tests).
pub(crate) fn collect<T>(
    read: impl FnOnce(&mut Sink<'_, T>) -> Result<Streamed, IngestError>,
) -> Result<Ingested<T>, IngestError> {
    let mut rows = Vec::new();
    let streamed = read(&mut |batch: Rows<T>| {
        rows.extend(batch.into_rows());
        Ok(())
    })?;
    Ok(Ingested {
        rows,
        rejects: streamed.rejects,
        summary: streamed.summary,
        warnings: streamed.warnings,
    })
}

/// Why one row was rejected.
pub(crate) struct Problem {
    column: Option<String>,
    reason: String,
}

/// A problem in a column (built only on the error path, so the allocation is free).
pub(crate) fn problem(column: &str, reason: impl Into<String>) -> Problem {
    Problem { column: Some(column.to_owned()), reason: reason.into() }
}

/// Years below this in `dd.mm.yy` dates are 20yy, others 19yy.
const TWO_DIGIT_YEAR_PIVOT: u32 = 30;

/// What the dates of one source looked like, for the warnings at its end.
#[derive(Default)]
struct DateNotes {
    /// Dates with no four-digit part (the century comes from the pivot).
    two_digit_years: u64,
    /// Dates another part order would read differently.
    ambiguous: u64,
    /// Where the first ambiguous date stood: line and column (never the value).
    first_ambiguous: Option<(u64, String)>,
}

impl DateNotes {
    /// Add the notes of other chunks of the same file (another validating thread's).
    fn merge(&mut self, other: DateNotes) {
        self.two_digit_years += other.two_digit_years;
        self.ambiguous += other.ambiguous;
        self.first_ambiguous = match (self.first_ambiguous.take(), other.first_ambiguous) {
            (Some(a), Some(b)) => Some(if b.0 < a.0 { b } else { a }),
            (a, b) => a.or(b),
        };
    }
}

/// Where each canonical column is in the file, looked up for every cell of every row. A
/// column named by a literal (`&'static str`) is answered by the literal's address and
/// length after its first lookup, so no name is compared as text row after row (static
/// text never changes, so one address and length always mean one name; identical literals
/// need not share an address, so the text decides the first time). Used by one thread.
pub(crate) struct ColumnIndex<'a> {
    columns: Vec<(&'a str, usize)>,
    /// (address, length) of a literal asked for → its column, in a slot chosen by the
    /// address (another literal landing there replaces it, and is looked up by text).
    asked: [std::cell::Cell<(usize, usize, Option<usize>)>; ASKED_SLOTS],
}

/// Slots of [`ColumnIndex::asked`] (a power of two; a reader asks for about ten names).
const ASKED_SLOTS: usize = 32;

impl<'a> ColumnIndex<'a> {
    pub(crate) fn new(columns: &BTreeMap<&'a str, usize>) -> Self {
        ColumnIndex {
            columns: columns.iter().map(|(k, v)| (*k, *v)).collect(),
            // Address 0 is never a literal's.
            asked: std::array::from_fn(|_| std::cell::Cell::new((0, 0, None))),
        }
    }

    /// The column of a name given at run time (a codebook's item), by its text.
    pub(crate) fn get(&self, column: &str) -> Option<usize> {
        self.columns.iter().find(|(k, _)| *k == column).map(|c| c.1)
    }

    /// The column of a name given by a literal.
    pub(crate) fn get_static(&self, column: &'static str) -> Option<usize> {
        let (address, len) = (column.as_ptr() as usize, column.len());
        let mix = (address ^ len.rotate_left(32)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        let slot = &self.asked[mix >> (usize::BITS - ASKED_SLOTS.trailing_zeros())];
        match slot.get() {
            (a, n, found) if (a, n) == (address, len) => found,
            _ => {
                let found = self.get(column);
                slot.set((address, len, found));
                found
            }
        }
    }
}

/// Access to the current record's cells by canonical column.
pub(crate) struct Cells<'a> {
    record: &'a csv::StringRecord,
    columns: &'a ColumnIndex<'a>,
    line: u64,
    date_order: DateOrder,
    dates: &'a std::cell::RefCell<DateNotes>,
    /// The row's `person_id` looked up before validation ([`PersonIndex::places`]):
    /// `None` when not found (or not looked up).
    looked_up: Option<u32>,
    /// Set by [`Cells::enrolled_person_id_after`] when it accepted the id as that place.
    place: std::cell::Cell<Option<u32>>,
}

impl<'a> Cells<'a> {
    /// The trimmed cell of a canonical column, `None` when empty or not in the file.
    pub(crate) fn text(&self, column: &'static str) -> Option<&'a str> {
        self.cell(self.columns.get_static(column)?)
    }

    /// [`Cells::text`] of a column named at run time (a codebook's item or date column).
    pub(crate) fn text_named(&self, column: &str) -> Option<&'a str> {
        self.cell(self.columns.get(column)?)
    }

    fn cell(&self, i: usize) -> Option<&'a str> {
        self.record.get(i).map(crate::values::trim).filter(|s| !s.is_empty())
    }

    fn required(&self, column: &'static str) -> Result<&'a str, Problem> {
        self.text(column).ok_or_else(|| problem(column, "is empty (a value is required)"))
    }

    fn date(&self, column: &'static str) -> Result<Option<NaiveDate>, Problem> {
        let Some(text) = self.text(column) else {
            return Ok(None);
        };
        // A four-digit year: nothing to note.
        if let Some(date) = crate::values::fast_date(text) {
            return Ok(Some(date));
        }
        let (date, ambiguous) = parse_date_ordered(text, TWO_DIGIT_YEAR_PIVOT, self.date_order)
            .map_err(|e| problem(column, e))?;
        if !text.contains('-') && !text.split(['.', '/']).any(|p| p.len() == 4) {
            let mut notes = self.dates.borrow_mut();
            notes.two_digit_years += 1;
            if ambiguous {
                notes.ambiguous += 1;
                notes.first_ambiguous.get_or_insert_with(|| (self.line, column.to_owned()));
            }
        }
        Ok(Some(date))
    }

    fn required_date(&self, column: &'static str) -> Result<NaiveDate, Problem> {
        self.date(column)?
            .ok_or_else(|| problem(column, "is empty (expected a date, dd.mm.yyyy or yyyy-mm-dd)"))
    }

    /// The trimmed cell of a column with a closed vocabulary (see [`crate::Vocabulary`]):
    /// the listed spelling, or a problem that never quotes the cell.
    fn closed(
        &self,
        column: &'static str,
        vocabulary: Option<&crate::Vocabulary>,
    ) -> Result<Option<String>, Problem> {
        self.text(column)
            .map(|t| crate::vocabulary::closed(vocabulary, t).map_err(|r| problem(column, r)))
            .transpose()
    }

    fn code<T>(
        &self,
        column: &'static str,
        parse: fn(&str) -> Option<T>,
        expected: &str,
    ) -> Result<Option<T>, Problem> {
        self.text(column)
            .map(|t| {
                parse(t).ok_or_else(|| {
                    problem(
                        column,
                        format!(
                            "{} is not a known code (expected one of {expected})",
                            shown_cell(t)
                        ),
                    )
                })
            })
            .transpose()
    }

    /// The person id of a row that must name an enrolled participant (event tables,
    /// questionnaires): validated per policy, then looked up on the parsed id.
    pub(crate) fn enrolled_person_id(
        &self,
        policy: IdPolicy,
        persons: &PersonIndex,
    ) -> Result<String, Problem> {
        let (person_id, national) = self.person_id(policy)?;
        let enrolled = national
            .as_ref()
            .map_or_else(|| persons.contains(&person_id), |id| persons.contains_national(id));
        if enrolled {
            Ok(person_id)
        } else {
            Err(problem("person_id", "is not in the participant list"))
        }
    }

    /// [`Cells::enrolled_person_id`], reusing the last row's result when this row has the
    /// same id text: extracts come sorted by person, so one id repeats row after row.
    pub(crate) fn enrolled_person_id_after(
        &self,
        policy: IdPolicy,
        persons: &PersonIndex,
        last: &mut LastId,
    ) -> Result<String, Problem> {
        let text = self.text("person_id").unwrap_or_default();
        if let Some(place) = persons.known(text, self.looked_up, policy) {
            self.place.set(Some(place));
            return Ok(text.to_owned());
        }
        if !last.text.is_empty() && text == last.text {
            return Ok(last.id.clone());
        }
        let id = self.enrolled_person_id(policy, persons)?;
        last.text.clear();
        last.text.push_str(text);
        last.id.clone_from(&id);
        Ok(id)
    }

    /// The person id, validated and normalised per policy. The reason never holds the value.
    pub(crate) fn person_id(
        &self,
        policy: IdPolicy,
    ) -> Result<(String, Option<NationalId>), Problem> {
        let text = self.required("person_id")?;
        if !policy.national {
            return Ok((text.to_owned(), None));
        }
        let id = NationalId::parse(text)
            .map_err(|e| problem("person_id", format!("is not a valid national id: {e}")))?;
        if id.is_synthetic() && !policy.allow_synthetic {
            return Err(problem(
                "person_id",
                "is a synthetic test number, which this pipeline does not allow (set `allow_synthetic_ids = true` for test data)",
            ));
        }
        Ok((id.normalized(), Some(id)))
    }
}

/// The last accepted person id of a stream, as written and as validated.
#[derive(Default)]
pub(crate) struct LastId {
    text: String,
    id: String,
}

/// The reason for a rejected cell that runs over several lines: in a column that holds a
/// date, a code or a number, a line break means a quote opened in it was not closed where
/// it should have been (so "not a date" would mislead). Only the cell's first line is
/// shown, and only when it holds no letters: the rest are other rows swallowed by the
/// quote, and those hold ids; letters may be a name.
fn unclosed_quote(cell: &str) -> String {
    let first = cell.split('\n').next().unwrap_or_default();
    let start = if first.chars().any(char::is_alphabetic) {
        String::new()
    } else {
        format!("{}…; ", shown_cell(first))
    };
    format!(
        "a quoted cell is not closed on its line: it runs over {} lines, taking in the rows after it ({start}expected a closing `\"`)",
        cell.split('\n').count(),
    )
}

/// A row with values beyond the header's last column: the extra values would be dropped
/// (a delimiter inside an unquoted value shifts the row). Empty cells past the header (Excel
/// writes them) are not values.
fn extra_fields(record: &csv::StringRecord, header_len: usize) -> Option<Problem> {
    if record.len() <= header_len {
        return None;
    }
    let found =
        (0..record.len()).rev().find(|&i| !record[i].trim().is_empty()).map_or(0, |i| i + 1);
    (found > header_len).then(|| Problem {
        column: None,
        reason: format!(
            "has {found} values where the header has {header_len} columns (is a delimiter inside a value that is not quoted?)"
        ),
    })
}

/// Records validated together on the second thread.
const CHUNK_ROWS: usize = 4096;

/// A chunk as a validating thread gave it back: the rows it accepted with their places
/// (the participant's place when validation found it) and duplicate fingerprints, and the
/// records it did not accept, in order, each with why (`None`: a blank row).
struct Validated<T> {
    rows: Vec<T>,
    places: Vec<Option<u32>>,
    prints: Vec<u128>,
    rejected: Vec<(usize, Option<Problem>)>,
}

/// Remove the items at `places` (in increasing order) from `items`, keeping the others'
/// order.
fn remove_at<X>(items: &mut Vec<X>, places: &[usize]) {
    let mut i = 0;
    items.retain(|_| {
        let keep = places.binary_search(&i).is_err();
        i += 1;
        keep
    });
}

/// A chunk of records with what the reader knew of each (line, blank, multi-line).
#[derive(Default)]
struct Chunk {
    records: Vec<csv::StringRecord>,
    lines: Vec<u64>,
    blank: Vec<bool>,
    multiline: Vec<bool>,
    len: usize,
}

/// The input's `columns = { canonical = "header" }` renames name columns this reader reads:
/// one written the wrong way round (`{ innDato = "start_date" }`) is recognised and the
/// right order given, and an unknown column is named with the closest known one — rather
/// than the file seeming to lack a column its header has.
fn check_renames(
    name: &str,
    options: &CsvOptions,
    required: &[&str],
    optional: &[&str],
) -> Result<(), IngestError> {
    let known = || required.iter().chain(optional).copied();
    let mut problems = Vec::new();
    for (key, header) in &options.columns {
        if known().any(|c| c == key) {
            continue;
        }
        let backwards = known().any(|c| c == header);
        let closest = folge_schema::suggest::closest(key, known());
        let (key, header) = (shown(key), shown(header));
        problems.push(if backwards {
            format!(
                "`columns = {{ {key} = \"{header}\" }}` is the wrong way round: the key is folge's column and the value the file's header, so write `columns = {{ {header} = \"{key}\" }}`"
            )
        } else {
            let closest = closest.map(|c| format!("; did you mean `{c}`?")).unwrap_or_default();
            let list: Vec<String> = known().map(|c| format!("`{c}`")).collect();
            format!(
                "`columns` renames `{key}`, which is not a column this input reads (its columns: {}){closest}",
                list.join(", ")
            )
        });
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(IngestError::File { source_name: name.to_owned(), message: problems.join("; ") })
    }
}

/// Drive a reader over every record: blank rows and row problems become rejects.
pub(crate) fn read_rows<R: Read, T: Send>(
    name: &str,
    input: R,
    options: &CsvOptions,
    required: &[&str],
    optional: &[&str],
    parse_row: impl FnMut(&Cells<'_>, u64) -> Result<T, Problem> + Send,
    sink: &mut Sink<'_, T>,
) -> Result<Streamed, IngestError> {
    read_rows_of(name, input, options, (required, optional), vec![parse_row], None, sink)
}

/// [`read_rows`] for a table whose every row names a participant: before a chunk is
/// validated, its ids are looked up in `persons` in one tight loop, so the look-ups'
/// cache misses overlap (in a date-ordered extract every row names another person, and
/// one look-up at a time waited for memory on every row); validation then finds them in
/// cache. Chunks are validated on one thread per `parse_rows` closure, in turn, and their
/// results taken back in file order, so what a file gives does not depend on how many.
pub(crate) fn read_rows_of<R: Read, T: Send, P>(
    name: &str,
    input: R,
    options: &CsvOptions,
    (required, optional): (&[&str], &[&str]),
    parse_rows: Vec<P>,
    persons: Option<&PersonIndex>,
    sink: &mut Sink<'_, T>,
) -> Result<Streamed, IngestError>
where
    P: FnMut(&Cells<'_>, u64) -> Result<T, Problem> + Send,
{
    check_renames(name, options, required, optional)?;
    let mut source = CsvSource::open(name, input, options)?;
    let columns = source.columns(required, optional)?;
    let sink_error = |source: SinkError| IngestError::Sink { source_name: name.to_owned(), source };
    // Accepted rows not yet handed to the sink, in the pieces the chunks came in.
    let mut pending: Rows<T> = Rows::default();
    let mut accepted = 0u64;
    let mut rejects = Vec::new();
    let mut read = 0u64;
    let spill_error =
        |source: SinkError| IngestError::Spill { source_name: name.to_owned(), source };
    let mut duplicates = DuplicateFinder::new(
        options.duplicates,
        options.duplicate_rows,
        columns.get("person_id").copied(),
        &options.spill,
    );
    // This thread reads records (and checks duplicates, keeps rejects, feeds the sink,
    // all in file order); one or more others validate them, a chunk at a time, in turn.
    // Chunks and their records are recycled, so reading does not allocate per row.
    let workers = parse_rows.len().max(1);
    let date_order = options.date_order;
    let header_len = source.header_len();
    let columns_ref = &columns;
    let check_duplicates = options.duplicates != crate::duplicates::DuplicateCheck::Off;
    let outcome = std::thread::scope(|scope| -> Result<DateNotes, IngestError> {
        let (mut to_workers, mut from_workers, mut handles) = (Vec::new(), Vec::new(), Vec::new());
        for mut parse_row in parse_rows {
            let (to_worker, worker_in) = std::sync::mpsc::sync_channel::<Chunk>(2);
            let (worker_out, from_worker) =
                std::sync::mpsc::sync_channel::<(Chunk, Validated<T>)>(2);
            to_workers.push(to_worker);
            from_workers.push(from_worker);
            handles.push(scope.spawn(move || {
                let index = ColumnIndex::new(columns_ref);
                let dates = std::cell::RefCell::new(DateNotes::default());
                let mut buffer = Vec::new();
                let person_column = columns_ref.get("person_id").copied();
                let (mut keys, mut places) = (Vec::new(), Vec::new());
                for chunk in worker_in {
                    places.clear();
                    if let (Some(persons), Some(column)) = (persons, person_column) {
                        persons.places(
                            chunk.records[..chunk.len]
                                .iter()
                                .map(|r| r.get(column).unwrap_or_default()),
                            &mut keys,
                            &mut places,
                        );
                    }
                    let n = chunk.len;
                    let mut done = Validated {
                        rows: Vec::with_capacity(n),
                        places: Vec::with_capacity(n),
                        prints: Vec::with_capacity(n),
                        rejected: Vec::new(),
                    };
                    for k in 0..n {
                        if chunk.blank[k] {
                            done.rejected.push((k, None));
                            continue;
                        }
                        if let Some(problem) = extra_fields(&chunk.records[k], header_len) {
                            done.rejected.push((k, Some(problem)));
                            continue;
                        }
                        let cells = Cells {
                            record: &chunk.records[k],
                            columns: &index,
                            line: chunk.lines[k],
                            date_order,
                            dates: &dates,
                            looked_up: places.get(k).copied().flatten(),
                            place: std::cell::Cell::new(None),
                        };
                        match parse_row(&cells, chunk.lines[k]) {
                            Ok(row) => {
                                done.rows.push(row);
                                done.places.push(cells.place.get());
                                // The duplicate fingerprint, for accepted rows only
                                // (0 when duplicates are not looked for).
                                done.prints.push(if check_duplicates {
                                    crate::duplicates::row_fingerprint(
                                        &mut buffer,
                                        &chunk.records[k],
                                    )
                                } else {
                                    0
                                });
                            }
                            Err(problem) => done.rejected.push((k, Some(problem))),
                        }
                    }
                    if worker_out.send((chunk, done)).is_err() {
                        break;
                    }
                }
                dates.into_inner()
            }));
        }
        let mut spare: Vec<Chunk> = Vec::new();
        // The worker of each chunk in flight, oldest first: results come back in order.
        let mut in_flight: std::collections::VecDeque<usize> = std::collections::VecDeque::new();
        let mut turn = 0usize;
        let mut done = false;
        let mut first_error: Option<IngestError> = None;
        while !done || !in_flight.is_empty() {
            if !done && in_flight.len() < 2 * workers {
                let mut chunk = spare.pop().unwrap_or_default();
                chunk.len = 0;
                while chunk.len < CHUNK_ROWS {
                    match source.next_record() {
                        Ok(true) => {}
                        Ok(false) => {
                            done = true;
                            break;
                        }
                        Err(e) => {
                            first_error = Some(e);
                            done = true;
                            break;
                        }
                    }
                    let k = chunk.len;
                    if chunk.records.len() == k {
                        chunk.records.push(csv::StringRecord::new());
                        chunk.lines.push(0);
                        chunk.blank.push(false);
                        chunk.multiline.push(false);
                    }
                    chunk.lines[k] = source.line();
                    chunk.blank[k] = source.is_blank();
                    chunk.multiline[k] = source.is_multiline();
                    source.swap_record(&mut chunk.records[k]);
                    chunk.len += 1;
                }
                if first_error.is_some() {
                    break;
                }
                if chunk.len > 0 {
                    if to_workers[turn].send(chunk).is_err() {
                        break;
                    }
                    in_flight.push_back(turn);
                    turn = (turn + 1) % workers;
                }
                continue;
            }
            let Some(worker) = in_flight.pop_front() else { break };
            let Ok((chunk, done)) = from_workers[worker].recv() else { break };
            let Validated { mut rows, mut places, prints, rejected } = done;
            let mut rejected = rejected.into_iter().peekable();
            // Accepted rows (their place in `rows`) the duplicate check rejects.
            let mut repeats: Vec<usize> = Vec::new();
            let mut next = 0usize;
            for k in 0..chunk.len {
                read += 1;
                let (record, line) = (&chunk.records[k], chunk.lines[k]);
                let problem = if let Some((_, why)) = rejected.next_if(|(i, _)| *i == k) {
                    Some(why.unwrap_or_else(|| Problem {
                        column: None,
                        reason: "blank row".to_owned(),
                    }))
                } else {
                    let i = next;
                    next += 1;
                    match duplicates.check_fingerprint(record, prints[i], line) {
                        Ok(None) => None,
                        Ok(Some(first)) => {
                            repeats.push(i);
                            Some(Problem {
                                column: None,
                                reason: format!(
                                    "duplicates the row on line {first} (every cell the same)"
                                ),
                            })
                        }
                        Err(e) => {
                            first_error.get_or_insert(spill_error(e));
                            None
                        }
                    }
                };
                match problem {
                    None => {}
                    Some(p) => {
                        // From a spreadsheet, say which cell: that is where a person will look.
                        let cell = source
                            .sheet
                            .as_ref()
                            .zip(p.column.as_deref().and_then(|c| columns.get(c)))
                            .map(|(origin, &index)| origin.cell(index, line));
                        let value = p
                            .column
                            .as_deref()
                            .and_then(|c| columns.get(c))
                            .and_then(|&i| record.get(i));
                        let reason = match value {
                            Some(value) if chunk.multiline[k] && value.contains('\n') => {
                                unclosed_quote(value)
                            }
                            _ => p.reason,
                        };
                        rejects.push(Reject {
                            source: name.to_owned(),
                            line: line as i64,
                            column: p.column,
                            reason: match cell {
                                Some(cell) => format!("{reason} (cell {cell})"),
                                None => reason,
                            },
                            // The record re-joined with `;` (zone 1 only).
                            raw: record.iter().collect::<Vec<_>>().join(";"),
                        });
                    }
                }
            }
            if !repeats.is_empty() {
                remove_at(&mut rows, &repeats);
                remove_at(&mut places, &repeats);
            }
            accepted += rows.len() as u64;
            // Into the sink in batches of exactly `BATCH_ROWS`: a piece that crosses the
            // boundary is cut there (the only rows this thread moves).
            while pending.len() + rows.len() >= BATCH_ROWS {
                let take = BATCH_ROWS - pending.len();
                let (rest, rest_places) = (rows.split_off(take), places.split_off(take));
                pending.push(rows, places);
                (rows, places) = (rest, rest_places);
                if let Err(e) = sink(std::mem::take(&mut pending)).map_err(sink_error) {
                    first_error.get_or_insert(e);
                }
            }
            pending.push(rows, places);
            spare.push(chunk);
            if first_error.is_some() {
                break;
            }
        }
        drop(to_workers);
        drop(from_workers);
        let mut dates = DateNotes::default();
        for handle in handles {
            dates.merge(handle.join().unwrap_or_else(|e| std::panic::resume_unwind(e)));
        }
        match first_error {
            Some(e) => Err(e),
            None => Ok(dates),
        }
    });
    let dates = std::cell::RefCell::new(outcome?);
    if read == 0 && !options.allow_empty {
        return Err(IngestError::NoRows { source_name: name.to_owned() });
    }
    if !pending.is_empty() {
        sink(pending).map_err(sink_error)?;
    }
    let mut warnings = Vec::new();
    if source.encoding != encoding_rs::UTF_8 {
        warnings.push(format!("{name}: read as {} (not UTF-8)", source.encoding.name()));
    }
    let dates = dates.into_inner();
    if dates.two_digit_years > 0 {
        warnings.push(format!(
            "{name}: {} dates have two-digit years, read as 20yy below {TWO_DIGIT_YEAR_PIVOT} and 19yy otherwise",
            dates.two_digit_years
        ));
    }
    if let Some((line, column)) = &dates.first_ambiguous {
        warnings.push(format!(
            "{name}: {} dates (the first on line {line}, column {column}) could be read in another order of day, month and year; read as {} (set `date_order` if the file means otherwise)",
            dates.ambiguous,
            options.date_order.pattern()
        ));
    }
    let grouped_by_person = duplicates.grouped_by_person();
    let kept = duplicates.finish().map_err(spill_error)?;
    if kept.count > 0 {
        let mut lines: Vec<String> =
            kept.first.iter().map(|(line, first)| format!("line {line} as line {first}")).collect();
        if kept.count > kept.first.len() as u64 {
            lines.push("…".to_owned());
        }
        warnings.push(format!(
            "{name}: {} rows are identical in every cell to an earlier row ({}) and were kept, each as an event of its own (two contacts on one day look alike in an extract without a contact id); set `duplicate_rows = \"reject\"` on this input or in [ingest] if they are copies",
            kept.count,
            lines.join(", ")
        ));
    }
    let summary = SourceSummary {
        source: name.to_owned(),
        rows_read: read,
        rows_accepted: accepted,
        rows_rejected: rejects.len() as u64,
    };
    debug_assert_eq!(summary.rows_read, summary.rows_accepted + summary.rows_rejected);
    Ok(Streamed { rejects, summary, warnings, deaths: Vec::new(), grouped_by_person })
}

/// Hand every data row's cell in `column` to `cell` with its line (an empty cell as
/// `""`), reading the file as the other readers do (encoding, delimiter, renames). Returns
/// the rows read. For checking one column, e.g. the ids of an inclusion list.
pub fn for_each_cell<R: Read>(
    name: &str,
    input: R,
    options: &CsvOptions,
    column: &str,
    mut cell: impl FnMut(u64, &str),
) -> Result<u64, IngestError> {
    let mut source = CsvSource::open(name, input, options)?;
    let columns = source.columns(&[column], &[])?;
    let index = columns[column];
    let mut rows = 0;
    while source.next_record()? {
        rows += 1;
        cell(source.line(), source.record().get(index).map_or("", str::trim));
    }
    Ok(rows)
}

/// Read the participant list. Sex and birth date missing from the register are derived
/// from the national id when it carries them; a person listed twice is rejected the
/// second time. `site`, `target_group` and `municipality` must be among the values the
/// options' vocabularies list, where they list any.
pub fn read_participants<R: Read>(
    name: &str,
    input: R,
    options: &CsvOptions,
    policy: IdPolicy,
) -> Result<Ingested<Participant>, IngestError> {
    // Each id's first line: queried, never iterated (a `BTreeMap` of 200,000 ids cost
    // about a microsecond a row in string comparisons).
    let mut first_line: std::collections::HashMap<String, u64> = std::collections::HashMap::new();
    let vocabularies = &*options.vocabularies;
    collect(|sink| {
        read_rows(
            name,
            input,
            options,
            &["person_id", "municipality", "arm", "inclusion_date"],
            &["name", "sex", "birth_date", "site", "target_group", "exit_date", "exit_reason"],
            |cells, line| {
                let (person_id, national) = cells.person_id(policy)?;
                let municipality = cells.required("municipality")?;
                let municipality = if let Some(list) = &vocabularies.municipalities {
                    crate::vocabulary::closed(Some(list), municipality)
                        .map_err(|r| problem("municipality", r))?
                } else if municipality.len() != 4
                    || !municipality.bytes().all(|b| b.is_ascii_digit())
                {
                    return Err(problem(
                        "municipality",
                        format!(
                            "{} is not a kommunenummer (expected 4 digits, e.g. 0301: keep leading zeros)",
                            shown_cell(municipality)
                        ),
                    ));
                } else {
                    municipality.to_owned()
                };
                let site = cells.closed("site", vocabularies.sites.as_ref())?;
                let target_group =
                    cells.closed("target_group", vocabularies.target_groups.as_ref())?;
                let arm = cells.code("arm", Arm::parse, &Arm::expected())?.ok_or_else(|| {
                    problem("arm", format!("is empty (expected one of {})", Arm::expected()))
                })?;
                let inclusion_date = cells.required_date("inclusion_date")?;
                let exit_date = cells.date("exit_date")?;
                let exit_reason =
                    cells.code("exit_reason", ExitReason::parse, &ExitReason::expected())?;
                if exit_reason.is_some() && exit_date.is_none() {
                    return Err(problem("exit_date", "is empty but exit_reason is given"));
                }
                if let Some(exit) = exit_date
                    && exit < inclusion_date
                {
                    return Err(problem(
                        "exit_date",
                        format!("{exit} is before inclusion_date {inclusion_date}"),
                    ));
                }
                let sex = cells
                    .code("sex", Sex::parse, &Sex::expected())?
                    .or_else(|| national.as_ref().and_then(|id| id.sex));
                let birth_date = cells
                    .date("birth_date")?
                    .or_else(|| national.as_ref().and_then(|id| id.birth_date));
                match first_line.entry(person_id.clone()) {
                    std::collections::hash_map::Entry::Occupied(first) => {
                        return Err(problem(
                            "person_id",
                            format!("duplicates the person on line {}", first.get()),
                        ));
                    }
                    std::collections::hash_map::Entry::Vacant(slot) => {
                        slot.insert(line);
                    }
                }
                Ok(Participant {
                    person_id,
                    name: cells.text("name").map(str::to_owned),
                    sex,
                    birth_date,
                    municipality,
                    site,
                    arm,
                    target_group,
                    inclusion_date,
                    exit_date,
                    exit_reason,
                })
            },
            sink,
        )
    })
}

/// What [`complete_exits`] did with the deaths a registry recorded.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ExitCompletion {
    /// Participants without an exit who now have the recorded death.
    pub completed: u64,
    /// Deaths the participant list already had, on the same day.
    pub agreed: u64,
    /// Deaths that disagree with the list (another exit, another day, or before
    /// inclusion): the list is kept as it is.
    pub disagreed: u64,
}

/// Complete the participant list's exits from deaths recorded in service use (NPR's
/// `utTilstand`). The list is the authority: a death only fills an empty exit, on or after
/// inclusion; anything else is counted as a disagreement for the researcher to check.
pub fn complete_exits(
    participants: &mut [Participant],
    deaths: &[(String, NaiveDate)],
) -> ExitCompletion {
    let index: BTreeMap<&str, usize> =
        participants.iter().enumerate().map(|(i, p)| (p.person_id.as_str(), i)).collect();
    let mut earliest: BTreeMap<usize, NaiveDate> = BTreeMap::new();
    for (person, date) in deaths {
        if let Some(&i) = index.get(person.as_str()) {
            let entry = earliest.entry(i).or_insert(*date);
            *entry = (*entry).min(*date);
        }
    }
    let mut report = ExitCompletion::default();
    for (i, date) in earliest {
        let p = &mut participants[i];
        match (p.exit_date, p.exit_reason) {
            (None, _) if date >= p.inclusion_date => {
                p.exit_date = Some(date);
                p.exit_reason = Some(ExitReason::Death);
                report.completed += 1;
            }
            (Some(exit), Some(ExitReason::Death)) if exit == date => report.agreed += 1,
            _ => report.disagreed += 1,
        }
    }
    report
}

/// Read event-level service use into memory (see [`stream_service_events`]).
pub fn read_service_events<R: Read>(
    name: &str,
    input: R,
    options: &CsvOptions,
    policy: IdPolicy,
    persons: &PersonIndex,
) -> Result<Ingested<ServiceEvent>, IngestError> {
    collect(|sink| stream_service_events(name, input, options, policy, persons, sink))
}

/// Stream event-level service use to `sink` in batches of [`BATCH_ROWS`]. Persons must be
/// in the participant list; stays need a discharge date not before admission;
/// quantities must not be negative.
pub fn stream_service_events<R: Read>(
    name: &str,
    input: R,
    options: &CsvOptions,
    policy: IdPolicy,
    persons: &PersonIndex,
    sink: &mut Sink<'_, ServiceEvent>,
) -> Result<Streamed, IngestError> {
    // Deaths (NPR's died flag) from the validating threads; rare rows, so one lock.
    let deaths = std::sync::Mutex::new(Vec::new());
    // One validating closure per thread, each with its own last id.
    let parse = || {
        let mut last = LastId::default();
        let deaths = &deaths;
        move |cells: &Cells<'_>, _: u64| -> Result<ServiceEvent, Problem> {
            let person_id = cells.enrolled_person_id_after(policy, persons, &mut last)?;
            let died = match options.layout {
                Layout::Npr => cells.text("died").map(npr_died).transpose()?.unwrap_or(false),
                _ => false,
            };
            let (service, acute) = match options.layout {
                // Coding-export layouts only rename columns (the pipeline allows them for
                // codings alone); codes are folge's own.
                Layout::Canonical | Layout::Maxqda | Layout::AtlasTi | Layout::Nvivo => (
                    canonical_service(cells.required("service")?, &options.service_codes)?,
                    cells
                        .text("acute")
                        .map(|t| parse_bool(t).map_err(|e| problem("acute", e)))
                        .transpose()?,
                ),
                Layout::Npr => (
                    npr_service(cells.required("service")?)?,
                    cells.text("acute").map(npr_acute).transpose()?,
                ),
                Layout::Kpr => {
                    return kpr_decision(cells, person_id, options.open_end);
                }
            };
            let start_date = cells.required_date("start_date")?;
            let end_date = cells.date("end_date")?;
            if let Some(end) = end_date {
                if end < start_date {
                    return Err(problem(
                        "end_date",
                        format!("{end} is before start_date {start_date}"),
                    ));
                }
            } else if service.is_stay() {
                return Err(problem(
                    "end_date",
                    format!("is empty, but a `{service}` stay needs a discharge date"),
                ));
            }
            let quantity = cells
                .text("quantity")
                .map(|t| parse_number(t).map_err(|e| problem("quantity", e)))
                .transpose()?;
            if quantity.is_some_and(|q| q < 0.0) {
                return Err(problem("quantity", "is negative (expected hours or a count ≥ 0)"));
            }
            let time = |column: &'static str| {
                cells
                    .text(column)
                    .map(|t| crate::values::parse_time(t).map_err(|e| problem(column, e)))
                    .transpose()
            };
            let (start_time, end_time) = (time("start_time")?, time("end_time")?);
            if end_time.is_some() && end_date.is_none() {
                return Err(problem("end_time", "is given, but end_date is empty"));
            }
            if let (Some(end), Some(start), Some(end_date)) = (end_time, start_time, end_date)
                && end_date == start_date
                && end < start
            {
                return Err(problem("end_time", "is before start_time on the same day"));
            }
            if died {
                deaths
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .push((person_id.clone(), end_date.unwrap_or(start_date)));
            }
            Ok(ServiceEvent {
                person_id,
                service,
                start_date,
                end_date,
                quantity,
                acute,
                start_time,
                end_time,
            })
        }
    };
    let mut streamed = read_rows_of(
        name,
        input,
        options,
        (
            &["person_id", "service", "start_date"],
            &["end_date", "quantity", "acute", "died", "start_time", "end_time"],
        ),
        vec![parse(), parse()],
        Some(persons),
        sink,
    )?;
    let mut deaths = deaths.into_inner().unwrap_or_else(std::sync::PoisonError::into_inner);
    // Sorted, so the order the threads found them in does not show (`complete_exits`
    // takes each person's earliest).
    deaths.sort();
    streamed.deaths = deaths;
    Ok(streamed)
}

/// A canonical service code, or the file's own code mapped by the pipeline
/// (`service_codes = { Hjemmesykepleie = "home_nursing" }`, matched ignoring case).
fn canonical_service(code: &str, mapped: &BTreeMap<String, Service>) -> Result<Service, Problem> {
    if let Some(service) = Service::parse(code) {
        return Ok(service);
    }
    if let Some((_, &service)) =
        mapped.iter().find(|(k, _)| k.as_str() == code || k.to_lowercase() == code.to_lowercase())
    {
        return Ok(service);
    }
    let mut expected = Service::expected();
    if !mapped.is_empty() {
        let own: Vec<String> = mapped.keys().map(|k| format!("`{k}`")).collect();
        expected = format!("{expected}, or this file's codes {}", own.join(", "));
    }
    Err(problem(
        "service",
        format!("{} is not a known code (expected one of {expected})", shown_cell(code)),
    ))
}

/// NPR's `utTilstand` (state at discharge): 1 levende → alive; 2 død, 3 suicid → died.
fn npr_died(code: &str) -> Result<bool, Problem> {
    match code {
        "1" => Ok(false),
        "2" | "3" => Ok(true),
        other => Err(problem(
            "died",
            format!(
                "{} is not an utTilstand code (expected 1 levende, 2 død or 3 suicid)",
                shown_cell(other)
            ),
        )),
    }
}

/// NPR's `omsorgsniva` (level of care) as a service: 1 døgnopphold → inpatient,
/// 2 dagbehandling → day treatment, 3 poliklinisk → outpatient. Level 8 (outpatient
/// contact for an inpatient, e.g. radiotherapy) belongs to a stay and is rejected with
/// that reason rather than counted as a visit.
fn npr_service(code: &str) -> Result<Service, Problem> {
    match code {
        "1" => Ok(Service::Inpatient),
        "2" => Ok(Service::DayTreatment),
        "3" => Ok(Service::Outpatient),
        "8" => Err(problem(
            "service",
            "omsorgsnivå 8 (poliklinisk kontakt for inneliggende pasient) is part of an inpatient stay, not a visit",
        )),
        other => Err(problem(
            "service",
            format!(
                "{} is not an omsorgsnivå (expected 1 døgn, 2 dag or 3 poliklinisk)",
                shown_cell(other)
            ),
        )),
    }
}

/// NPR's `innmateHast`: 1 akutt, 2 akutt < 6 t, 3 akutt 6–24 t → acute; 4 planlagt,
/// 5 tilbakeføring → elective (SKDE's convention: 1–3 are acute).
fn npr_acute(code: &str) -> Result<bool, Problem> {
    match code {
        "1" | "2" | "3" => Ok(true),
        "4" | "5" => Ok(false),
        other => Err(problem(
            "acute",
            format!("{} is not an innmateHast code (expected 1–5)", shown_cell(other)),
        )),
    }
}

/// Hours in a week: the most a KPR decision can grant.
const HOURS_PER_WEEK: f64 = 168.0;

/// KPR's `tjenestekode` as a service; codes folge does not count are rejected with their
/// name, so the reject table says what was left out.
fn kpr_service(code: &str) -> Result<Service, Problem> {
    let not_counted = |name: &str| {
        Err(problem(
            "service",
            format!(
                "tjenestekode {code} ({name}) is not a service folge counts (expected 1–3 praktisk bistand, 15 helsetjenester i hjemmet, 18–20 tidsbegrenset opphold or 21 langtidsopphold)"
            ),
        ))
    };
    match code {
        "1" | "2" | "3" => Ok(Service::HomeHelp),
        "15" => Ok(Service::HomeNursing),
        "18" | "19" | "20" => Ok(Service::ShortStay),
        "21" => Ok(Service::LongTermCare),
        "4" => not_counted("dagaktivitet"),
        "5" => not_counted("matombringing"),
        "6" => not_counted("trygghetsalarm"),
        "7" | "8" => not_counted("avlastning"),
        "9" => not_counted("støttekontakt"),
        "11" => not_counted("omsorgsstønad"),
        "14" => not_counted("tvang"),
        "17" => not_counted("dagopphold"),
        "22" => not_counted("nattopphold"),
        "29" => not_counted("bolig"),
        other => Err(problem(
            "service",
            format!(
                "{} is not a KPR tjenestekode (expected 1–3, 15, 18–21 or another code from KPR's list)",
                shown_cell(other)
            ),
        )),
    }
}

/// One KPR decision period (vedtak, `fradato`–`tildato` inclusive; an open `tildato` runs
/// to the end of data). Home services grant hours per week: the event's quantity is the
/// hours of the whole period (hours per week × days / 7), which analysis shares out over
/// the days of each window. Stays (tidsbegrenset opphold, langtidsopphold) keep their
/// dates and no quantity.
fn kpr_decision(
    cells: &Cells<'_>,
    person_id: String,
    open_end: Option<NaiveDate>,
) -> Result<ServiceEvent, Problem> {
    let service = kpr_service(cells.required("service")?)?;
    let start_date = cells.required_date("start_date")?;
    let end_date = match cells.date("end_date")? {
        Some(end) => end,
        None => open_end.ok_or_else(|| {
            problem("end_date", "is empty, and an open decision needs the pipeline's `data_end`")
        })?,
    };
    if end_date < start_date {
        return Err(problem("end_date", format!("{end_date} is before start_date {start_date}")));
    }
    let quantity = if service.is_hours() {
        let per_week =
            parse_number(cells.required("quantity")?).map_err(|e| problem("quantity", e))?;
        if !(0.0..=HOURS_PER_WEEK).contains(&per_week) {
            return Err(problem(
                "quantity",
                format!(
                    "{} hours a week is outside 0–{HOURS_PER_WEEK} (expected hours per week)",
                    shown(&per_week.to_string())
                ),
            ));
        }
        let days = (end_date - start_date).num_days() + 1;
        Some(per_week * days as f64 / 7.0)
    } else {
        None
    };
    Ok(ServiceEvent {
        person_id,
        service,
        start_date,
        end_date: Some(end_date),
        quantity,
        acute: None,
        start_time: None,
        end_time: None,
    })
}

/// Read a coding sheet: the long layout (one row per coder × segment × code: columns
/// `focus_group`, `coder`, `segment`, `code`, optional `municipality`, `role`, `theme`,
/// `text`) or a QDA program's export (`Layout::Maxqda`, `AtlasTi`, `Nvivo`), whose
/// headers the layout knows. MAXQDA's segments are `begin-end` (its positions); code
/// paths (`Theme > Code`, `Theme\Code`) split into the theme and the code; a cell
/// listing several codes (ATLAS.ti, one per line) gives one coding per code. `municipality`
/// and `role` must be among the values the options' vocabularies list, where they list any.
/// Every row is labelled with `source`, the input's label in the pipeline file (never its
/// file name).
pub fn read_codings<R: Read>(
    name: &str,
    source: &str,
    input: R,
    options: &CsvOptions,
) -> Result<Ingested<Coding>, IngestError> {
    let layout = options.layout;
    let (required, optional): (&[&str], &[&str]) = match layout {
        Layout::Maxqda => (
            &["focus_group", "coder", "begin", "end", "code"],
            &["municipality", "role", "theme", "text"],
        ),
        _ => (
            &["focus_group", "coder", "segment", "code"],
            &["municipality", "role", "theme", "text"],
        ),
    };
    let separator = layout.code_path_separator();
    let vocabularies = &*options.vocabularies;
    let rows = collect(|sink| {
        read_rows(
            name,
            input,
            options,
            required,
            optional,
            |cells, _| {
                let owned = |column| cells.text(column).map(str::to_owned);
                let segment = if layout == Layout::Maxqda {
                    format!("{}-{}", cells.required("begin")?, cells.required("end")?)
                } else {
                    cells.required("segment")?.to_owned()
                };
                let focus_group = cells.required("focus_group")?.to_owned();
                let coder = cells.required("coder")?.to_owned();
                let municipality =
                    cells.closed("municipality", vocabularies.municipalities.as_ref())?;
                let role = cells.closed("role", vocabularies.roles.as_ref())?;
                let code_paths: Vec<&str> = if layout == Layout::AtlasTi {
                    cells
                        .required("code")?
                        .lines()
                        .map(str::trim)
                        .filter(|c| !c.is_empty())
                        .collect()
                } else {
                    vec![cells.required("code")?]
                };
                Ok(code_paths
                    .into_iter()
                    .map(|path| {
                        let (theme, code) = match separator.and_then(|sep| path.rsplit_once(sep)) {
                            Some((theme, code)) => {
                                let parts: Vec<&str> = theme
                                    .split(separator.unwrap_or('/'))
                                    .map(str::trim)
                                    .filter(|p| !p.is_empty())
                                    .collect();
                                (Some(parts.join("/")), code.trim().to_owned())
                            }
                            None => (owned("theme"), path.to_owned()),
                        };
                        Coding {
                            source: source.to_owned(),
                            focus_group: focus_group.clone(),
                            municipality: municipality.clone(),
                            role: role.clone(),
                            coder: coder.clone(),
                            segment: segment.clone(),
                            code,
                            theme,
                            text: owned("text"),
                        }
                    })
                    .collect::<Vec<_>>())
            },
            sink,
        )
    })?;
    Ok(Ingested {
        rows: rows.rows.into_iter().flatten().collect(),
        rejects: rows.rejects,
        summary: rows.summary,
        warnings: rows.warnings,
    })
}

/// A calendar month as `YYYY-MM`, from `2020-03`, `2020-3`, `03.2020` or `3.2020`.
fn parse_month(text: &str) -> Option<String> {
    let (year, month) = match (text.split_once('-'), text.split_once('.')) {
        (Some(year_month), None) => year_month,
        (None, Some((month, year))) => (year, month),
        _ => return None,
    };
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if year.len() != 4 || !digits(year) || !digits(month) || month.len() > 2 {
        return None;
    }
    let m: u32 = month.parse().ok()?;
    (1..=12).contains(&m).then(|| format!("{year}-{m:02}"))
}

/// Stream pre-aggregated monthly service use to `sink`: one row per person × month ×
/// service with at least one of `count`, `days`, `hours` (none negative; days no more than
/// the month has, hours no more than 744).
pub fn stream_service_counts<R: Read>(
    name: &str,
    input: R,
    options: &CsvOptions,
    policy: IdPolicy,
    persons: &PersonIndex,
    sink: &mut Sink<'_, ServiceCount>,
) -> Result<Streamed, IngestError> {
    let mut last = LastId::default();
    let parse = |cells: &Cells<'_>, _| {
        let person_id = cells.enrolled_person_id_after(policy, persons, &mut last)?;
        let month_text = cells.required("month")?;
        let month = parse_month(month_text).ok_or_else(|| {
            problem(
                "month",
                format!("{} is not a month (expected yyyy-mm or mm.yyyy)", shown_cell(month_text)),
            )
        })?;
        let service =
            cells.code("service", Service::parse, &Service::expected())?.ok_or_else(|| {
                problem("service", format!("is empty (expected one of {})", Service::expected()))
            })?;
        let amount = |column: &'static str, most: f64| -> Result<Option<f64>, Problem> {
            let Some(text) = cells.text(column) else { return Ok(None) };
            let v = parse_number(text).map_err(|e| problem(column, e))?;
            if v < 0.0 {
                return Err(problem(column, "is negative (expected an amount ≥ 0)"));
            }
            if v > most {
                return Err(problem(
                    column,
                    format!("{} is more than one month holds ({most})", shown(&v.to_string())),
                ));
            }
            Ok(Some(v))
        };
        // 31 days and 31 × 24 hours: the most a month holds.
        let (count, days, hours) =
            (amount("count", f64::INFINITY)?, amount("days", 31.0)?, amount("hours", 744.0)?);
        if count.is_none() && days.is_none() && hours.is_none() {
            return Err(problem(
                "count",
                "count, days and hours are all empty (expected at least one)",
            ));
        }
        Ok(ServiceCount { person_id, month, service, count, days, hours })
    };
    read_rows(
        name,
        input,
        options,
        &["person_id", "month", "service"],
        &["count", "days", "hours"],
        parse,
        sink,
    )
}

/// Read the framework's step log into memory (see [`stream_process_events`]).
pub fn read_process_events<R: Read>(
    name: &str,
    input: R,
    options: &CsvOptions,
    policy: IdPolicy,
    persons: &PersonIndex,
) -> Result<Ingested<ProcessEvent>, IngestError> {
    collect(|sink| stream_process_events(name, input, options, policy, persons, sink))
}

/// Stream the framework's step log to `sink`. With a list of steps in the options'
/// vocabularies, `element` must be one of A–E or a listed step.
pub fn stream_process_events<R: Read>(
    name: &str,
    input: R,
    options: &CsvOptions,
    policy: IdPolicy,
    persons: &PersonIndex,
    sink: &mut Sink<'_, ProcessEvent>,
) -> Result<Streamed, IngestError> {
    let mut last = LastId::default();
    let steps = options.vocabularies.steps.as_ref();
    let parse = |cells: &Cells<'_>, _| {
        let person_id = cells.enrolled_person_id_after(policy, persons, &mut last)?;
        let element = cells.required("element")?;
        let element =
            crate::vocabulary::closed(steps, element).map_err(|r| problem("element", r))?;
        let date = cells.required_date("date")?;
        Ok(ProcessEvent { person_id, element, date })
    };
    read_rows(name, input, options, &["person_id", "element", "date"], &[], parse, sink)
}

#[cfg(test)]
mod tests;

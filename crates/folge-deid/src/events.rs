//! Service events — the one table that grows with the evaluation (10 million rows is an
//! ordinary registry extract) — de-identified and read back batch by batch, so memory
//! holds one batch and the participant list, never the table.
//!
//! [`EventDeidentifier`] turns a zone-1 batch (`person_id`, dates) into a zone-2 batch
//! (`pid`, days relative to inclusion) column by column; [`EventBatch`] re-admits a zone-2
//! batch read back from disk with the same checks as [`Deidentified::from_batches`], so an
//! identifiable file cannot be streamed into the analysis either.

use std::sync::Arc;

use crate::rows::DeidServiceEvent;
use arrow_array::builder::Int32Builder;
use arrow_array::types::UInt32Type;
use arrow_array::{
    Array, ArrayRef, BooleanArray, Date32Array, DictionaryArray, Float64Array, Int32Array,
    RecordBatch, StringArray, UInt32Array,
};
use folge_schema::column::{ScalarColumn, date_to_date32};
use folge_schema::tables::Participant;
use folge_schema::{IdTable, SchemaError, Service, Table, eleven_digits};

use crate::DeidError;
use crate::key::IdMap;
use crate::tables::{Deidentified, check_columns};

const TABLE: &str = "service_events";

/// Characters of a pseudonym's hex text.
const HEX: usize = crate::PSEUDONYM_HEX_CHARS;

fn column<'a, A: 'static>(batch: &'a RecordBatch, name: &'static str) -> Result<&'a A, DeidError> {
    let array = batch
        .column_by_name(name)
        .ok_or(SchemaError::MissingColumn { table: TABLE, column: name })?;
    array.as_any().downcast_ref::<A>().ok_or_else(|| {
        DeidError::Schema(SchemaError::BadColumn {
            table: TABLE,
            column: name,
            problem: format!("has type {}", array.data_type()),
        })
    })
}

/// Whether row `i` of a column with these nulls holds a value (the null buffer looked at
/// directly: `Array::is_null` is a call per cell).
#[inline]
fn valid(nulls: Option<&arrow_buffer::NullBuffer>, i: usize) -> bool {
    nulls.is_none_or(|n| n.is_valid(i))
}

/// De-identifies zone-1 service-event batches: `person_id` → the participant's pseudonym,
/// `start_date`/`end_date` → days relative to inclusion; service, quantity and acute pass
/// through unchanged. One output row per input row, in input order.
pub struct EventDeidentifier<'a> {
    /// 11-digit `person_id`s (national ids) as numbers → position: kept in the table's
    /// slot, so a lookup touches one cache line, not the id's text elsewhere (a
    /// date-ordered extract names another person on every row).
    numeric: IdTable,
    /// Other `person_id`s → position.
    other: IdMap<&'a str, u32>,
    /// The pseudonyms as hex text, back to back, by position.
    pids: Vec<u8>,
    /// With [`EventDeidentifier::keyed`]: the pseudonyms as one text array by position
    /// (the dictionary every converted batch's `pid` keys point into; `pids` is then
    /// empty), and [`keyed_schema`].
    keyed: Option<(ArrayRef, arrow_schema::SchemaRef)>,
    /// [`events_schema`], for batches not keyed.
    schema: arrow_schema::SchemaRef,
    /// Inclusion dates as days since 1970, by position.
    inclusion: Vec<i32>,
    /// The last keyed `person_id` dictionary seen (zone 1's are read back one a column
    /// chunk: the participants' ids, or a sorted file's row group's own) and each of its
    /// values' position.
    places: Option<(ArrayRef, Vec<Option<u32>>)>,
    /// Each row's id as a number (`u64::MAX`: not 11 digits), then its position (reused).
    keys: Vec<u64>,
    found: Vec<Option<u32>>,
    /// The position of each row of the batch converted last.
    positions: Vec<u32>,
    /// Rows converted so far (for naming a row in an error).
    rows: usize,
}

impl std::fmt::Debug for EventDeidentifier<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The maps' keys are person ids: they are not shown.
        f.debug_struct("EventDeidentifier")
            .field("persons", &self.inclusion.len())
            .field("rows", &self.rows)
            .finish()
    }
}

impl<'a> EventDeidentifier<'a> {
    /// From the zone-1 participants and the tables [`crate::deidentify`] made of them
    /// (which keeps the participants' order): a participant's position is their place in
    /// both.
    pub fn new(participants: &'a [Participant], tables: &'a Deidentified) -> Self {
        let (mut numeric, mut other) =
            (IdTable::with_capacity(participants.len()), IdMap::default());
        let mut pids = Vec::with_capacity(participants.len() * crate::PSEUDONYM_HEX_CHARS);
        let mut inclusion = Vec::with_capacity(participants.len());
        for (position, (p, d)) in participants.iter().zip(tables.participants()).enumerate() {
            let position = u32::try_from(position).expect("fewer than 2³² participants");
            match eleven_digits(&p.person_id) {
                Some(n) => numeric.insert(n, position),
                None => other.insert(p.person_id.as_str(), position),
            };
            let hex = d.pid.to_string();
            debug_assert_eq!(hex.len(), crate::PSEUDONYM_HEX_CHARS);
            pids.extend_from_slice(hex.as_bytes());
            inclusion.push(date_to_date32(p.inclusion_date));
        }
        EventDeidentifier {
            numeric,
            other,
            pids,
            keyed: None,
            schema: events_schema(),
            inclusion,
            places: None,
            keys: Vec::new(),
            found: Vec::new(),
            positions: Vec::new(),
            rows: 0,
        }
    }

    /// Convert batches with `pid` as keys into one dictionary of every participant's
    /// pseudonym, in participant order ([`keyed_schema`]): the same text for a reader, but
    /// no pseudonym is copied a row, and a Parquet writer that knows the dictionary
    /// writes each key as it is (a date-ordered delivery names another person on every
    /// row, so a pseudonym a row was 32 bytes to copy, write and hash).
    #[must_use]
    pub fn keyed(mut self) -> Self {
        let n = self.inclusion.len();
        let text = StringArray::try_new(
            arrow_buffer::OffsetBuffer::from_lengths(std::iter::repeat_n(HEX, n)),
            arrow_buffer::Buffer::from_vec(std::mem::take(&mut self.pids)),
            None,
        )
        .expect("pseudonyms are ASCII hex of one length");
        self.keyed = Some((Arc::new(text), keyed_schema()));
        self
    }

    /// The participant position (their place in the participant list and in
    /// [`Deidentified::participants`]) of every row of the batch converted last.
    pub fn positions(&self) -> &[u32] {
        &self.positions
    }

    /// Rows converted so far.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// The position of a participant's id.
    fn place(&self, id: &str) -> Option<u32> {
        match eleven_digits(id) {
            Some(n) => self.numeric.get(n),
            None => self.other.get(id).copied(),
        }
    }

    /// Each row's participant position into `self.positions`, from `person_id` as keys
    /// into a dictionary of ids (each value looked up once a dictionary).
    fn keyed_positions(
        &mut self,
        ids: &DictionaryArray<UInt32Type>,
        start: &Date32Array,
    ) -> Result<(), DeidError> {
        let values = ids.values();
        let known = self.places.take().filter(|(d, _)| d.to_data().ptr_eq(&values.to_data()));
        let (dictionary, places) = if let Some(known) = known {
            known
        } else {
            let text = values.as_any().downcast_ref::<StringArray>().ok_or_else(|| {
                DeidError::Schema(SchemaError::BadColumn {
                    table: TABLE,
                    column: "person_id",
                    problem: format!("expected text, found {}", values.data_type()),
                })
            })?;
            let places = text.iter().map(|v| v.and_then(|id| self.place(id))).collect();
            (Arc::clone(values), places)
        };
        self.positions.clear();
        let result = (0..ids.len()).try_for_each(|row| {
            let empty = || DeidError::NotDeidentified {
                table: TABLE,
                problem: format!("row {}: person_id or start_date is empty", self.rows + row),
            };
            if ids.is_null(row) || start.is_null(row) {
                return Err(empty());
            }
            let at = ids.keys().value(row) as usize;
            // A key to an empty id is an empty id, as in text.
            if dictionary.is_null(at) {
                return Err(empty());
            }
            let k = places
                .get(at)
                .copied()
                .flatten()
                .ok_or(DeidError::UnknownPerson { table: TABLE, row: self.rows + row })?;
            self.positions.push(k);
            Ok(())
        });
        self.places = Some((dictionary, places));
        result
    }

    /// Each row's participant position into `self.positions`, from `person_id` as text.
    fn text_positions(&mut self, ids: &StringArray, start: &Date32Array) -> Result<(), DeidError> {
        let n = ids.len();
        // First every row's id as a number, then every look-up in one loop: a
        // date-ordered extract names another person on every row, and look-ups that do
        // not wait for each other overlap their cache misses.
        let (ids_nulls, start_nulls) = (ids.nulls(), start.nulls());
        self.keys.clear();
        for row in 0..n {
            if !valid(ids_nulls, row) || !valid(start_nulls, row) {
                return Err(DeidError::NotDeidentified {
                    table: TABLE,
                    problem: format!("row {}: person_id or start_date is empty", self.rows + row),
                });
            }
            self.keys.push(eleven_digits(ids.value(row)).unwrap_or(u64::MAX));
        }
        self.numeric.get_many(&self.keys, &mut self.found);
        self.positions.clear();
        for row in 0..n {
            let k = match self.found[row] {
                Some(k) => Some(k),
                None if self.keys[row] == u64::MAX => self.other.get(ids.value(row)).copied(),
                None => None,
            }
            .ok_or(DeidError::UnknownPerson { table: TABLE, row: self.rows + row })?;
            self.positions.push(k);
        }
        Ok(())
    }

    /// De-identify one batch of the zone-1 `service_events` table (`person_id` and
    /// `service` as text or keyed, as `folge_schema::keyed::service_events_schema` has
    /// them).
    pub fn convert(&mut self, batch: &RecordBatch) -> Result<RecordBatch, DeidError> {
        let start: &Date32Array = column(batch, "start_date")?;
        let end: &Date32Array = column(batch, "end_date")?;
        let n = batch.num_rows();
        let mut pid_text: Vec<u8> =
            Vec::with_capacity(if self.keyed.is_some() { 0 } else { n * HEX });
        let mut start_day = Int32Builder::with_capacity(n);
        let mut end_day = Int32Builder::with_capacity(n);
        let ids = batch
            .column_by_name("person_id")
            .ok_or(SchemaError::MissingColumn { table: TABLE, column: "person_id" })?;
        match ids.as_any().downcast_ref::<DictionaryArray<UInt32Type>>() {
            Some(keyed) => self.keyed_positions(keyed, start)?,
            None => self.text_positions(column(batch, "person_id")?, start)?,
        }
        let end_nulls = end.nulls();
        let building = |e: arrow_schema::ArrowError| DeidError::NotDeidentified {
            table: TABLE,
            problem: format!("building a batch: {e}"),
        };
        for (row, &k) in self.positions.iter().enumerate() {
            let at = k as usize;
            if self.keyed.is_none() {
                pid_text.extend_from_slice(&self.pids[at * HEX..(at + 1) * HEX]);
            }
            let inclusion = self.inclusion[at];
            start_day.append_value(start.value(row) - inclusion);
            end_day.append_option(valid(end_nulls, row).then(|| end.value(row) - inclusion));
        }
        let (pids, schema): (ArrayRef, _) = match &self.keyed {
            Some((dictionary, schema)) => {
                let keys = UInt32Array::from(self.positions.clone());
                let pids = DictionaryArray::<UInt32Type>::try_new(keys, dictionary.clone())
                    .map_err(building)?;
                (Arc::new(pids), schema.clone())
            }
            // Every pid is the same length: the offsets follow, and the text is checked
            // as UTF-8 once for the whole batch.
            None => (
                Arc::new(
                    StringArray::try_new(
                        arrow_buffer::OffsetBuffer::from_lengths(std::iter::repeat_n(HEX, n)),
                        arrow_buffer::Buffer::from_vec(pid_text),
                        None,
                    )
                    .map_err(building)?,
                ),
                self.schema.clone(),
            ),
        };
        let pass = |name: &'static str| -> Result<ArrayRef, DeidError> {
            Ok(batch
                .column_by_name(name)
                .ok_or(SchemaError::MissingColumn { table: TABLE, column: name })?
                .clone())
        };
        let columns: Vec<ArrayRef> = vec![
            pids,
            keyed_services(pass("service")?)?,
            Arc::new(start_day.finish()),
            Arc::new(end_day.finish()),
            pass("quantity")?,
            pass("acute")?,
            // Times of day are not dates: they pass as they are.
            pass("start_time")?,
            pass("end_time")?,
        ];
        self.rows += n;
        RecordBatch::try_new(schema, columns).map_err(building)
    }
}

/// A `service` column as keys into [`folge_schema::keyed::service_codes`] (as it is when
/// it already is; any other text or dictionary is read, each level once).
fn keyed_services(column: ArrayRef) -> Result<ArrayRef, DeidError> {
    let codes = folge_schema::keyed::service_codes();
    if let Some(keyed) = column.as_any().downcast_ref::<DictionaryArray<UInt32Type>>()
        && keyed.values().to_data().ptr_eq(&codes.to_data())
        && keyed.null_count() == 0
    {
        return Ok(column);
    }
    let bad = |problem: String| {
        DeidError::Schema(SchemaError::BadColumn { table: TABLE, column: "service", problem })
    };
    let services = <Service as ScalarColumn>::read_column(column.as_ref()).map_err(bad)?;
    let services: Option<Vec<Service>> = services.into_iter().collect();
    let services = services.ok_or_else(|| bad("is empty".to_owned()))?;
    Ok(folge_schema::keyed::service_keys(services.into_iter()))
}

/// The schema of [`EventDeidentifier::keyed`]'s batches: the de-identified events' with
/// `pid` as `UInt32` keys into a text dictionary, and `service` keyed as in
/// [`events_schema`].
pub fn keyed_schema() -> arrow_schema::SchemaRef {
    folge_schema::keyed::keyed_schema(&DeidServiceEvent::schema(), &["pid", "service"])
}

/// The schema of [`EventDeidentifier::new`]'s batches (not keyed): `pid` as text,
/// `service` as keys into [`folge_schema::keyed::service_codes`].
pub fn events_schema() -> arrow_schema::SchemaRef {
    folge_schema::keyed::keyed_schema(&DeidServiceEvent::schema(), &["service"])
}

/// One de-identified service event without its pseudonym (which [`EventBatch`] keeps per
/// run of rows).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EventRow {
    /// Service code.
    pub service: Service,
    /// Contact or admission day (inclusion = day 0).
    pub start_day: i32,
    /// Discharge day, or the last day of a decision period.
    pub end_day: Option<i32>,
    /// Hours (home services).
    pub quantity: Option<f64>,
    /// Acute vs elective.
    pub acute: Option<bool>,
    /// Admission time, minutes after midnight, when delivered.
    pub start_minute: Option<i32>,
    /// Discharge time, minutes after midnight, when delivered.
    pub end_minute: Option<i32>,
}

impl From<&DeidServiceEvent> for EventRow {
    fn from(e: &DeidServiceEvent) -> Self {
        EventRow {
            service: e.service,
            start_day: e.start_day,
            end_day: e.end_day,
            quantity: e.quantity,
            acute: e.acute,
            start_minute: e.start_minute,
            end_minute: e.end_minute,
        }
    }
}

/// Whether two pseudonyms are equal: two of [`crate::PSEUDONYM_HEX_CHARS`] characters are
/// compared as two 128-bit integers each, in registers, with no call (a run of rows is
/// found by comparing every row's pseudonym with the run's first); anything else as text.
fn same_pid(a: &str, b: &str) -> bool {
    const N: usize = crate::PSEUDONYM_HEX_CHARS;
    let (a, b) = (a.as_bytes(), b.as_bytes());
    // (Comparing the arrays themselves is a call to memcmp.)
    let halves = |c: &[u8; N]| {
        let (low, high) = c.split_at(N / 2);
        let half = |h: &[u8]| u128::from_ne_bytes(h.try_into().unwrap_or_default());
        (half(low), half(high))
    };
    match (a.first_chunk::<N>(), b.first_chunk::<N>()) {
        (Some(x), Some(y)) if a.len() == N && b.len() == N => halves(x) == halves(y),
        _ => a == b,
    }
}

/// A batch of zone-2 service events read back from disk, checked: no identifying column,
/// every `pid` a pseudonym, every service a known code.
#[derive(Debug)]
pub struct EventBatch {
    pids: Pids,
    rows: Vec<EventRow>,
}

/// The `pid` dictionary [`EventBatch::from_batch_with`] checked last.
#[derive(Debug, Default)]
pub struct PidCheck {
    checked: Option<StringArray>,
}

/// A batch's `pid` column: text, or keys into a text dictionary
/// ([`EventDeidentifier::keyed`]).
#[derive(Debug)]
enum Pids {
    Text(StringArray),
    Keyed { keys: arrow_buffer::ScalarBuffer<u32>, values: StringArray },
}

impl Pids {
    fn of(batch: &RecordBatch) -> Result<Self, DeidError> {
        let array = batch
            .column_by_name("pid")
            .ok_or(SchemaError::MissingColumn { table: TABLE, column: "pid" })?;
        if let Some(text) = array.as_any().downcast_ref::<StringArray>() {
            return Ok(Pids::Text(text.clone()));
        }
        let keyed = array.as_any().downcast_ref::<DictionaryArray<UInt32Type>>();
        let values = keyed.and_then(|k| k.values().as_any().downcast_ref::<StringArray>());
        match (keyed, values) {
            (Some(keyed), Some(values)) if keyed.null_count() == 0 => {
                Ok(Pids::Keyed { keys: keyed.keys().values().clone(), values: values.clone() })
            }
            _ => Err(DeidError::Schema(SchemaError::BadColumn {
                table: TABLE,
                column: "pid",
                problem: format!("has type {}", array.data_type()),
            })),
        }
    }

    fn null_count(&self) -> usize {
        match self {
            Pids::Text(text) => text.null_count(),
            Pids::Keyed { .. } => 0,
        }
    }

    /// Whether rows `a` and `b` name the same pseudonym (one key is one value).
    #[inline]
    fn same(&self, a: usize, b: usize) -> bool {
        match self {
            Pids::Keyed { keys, .. } if keys[a] == keys[b] => true,
            _ => same_pid(self.value(a), self.value(b)),
        }
    }

    #[inline]
    fn value(&self, i: usize) -> &str {
        match self {
            Pids::Text(text) => text.value(i),
            Pids::Keyed { keys, values } => values.value(keys[i] as usize),
        }
    }
}

impl EventBatch {
    /// Check and convert one batch of the deid stage's `service_events.parquet`.
    pub fn from_batch(batch: &RecordBatch) -> Result<Self, DeidError> {
        Self::from_batch_with(batch, &mut PidCheck::default())
    }

    /// [`EventBatch::from_batch`] for batches in turn: a `pid` dictionary shared by
    /// successive batches ([`EventDeidentifier::keyed`]) is checked once, not once a
    /// batch.
    pub fn from_batch_with(batch: &RecordBatch, check: &mut PidCheck) -> Result<Self, DeidError> {
        check_columns(TABLE, std::slice::from_ref(batch))?;
        let pids = Pids::of(batch)?;
        let services = batch
            .column_by_name("service")
            .ok_or(SchemaError::MissingColumn { table: TABLE, column: "service" })?;
        // Text or keyed (as converted): each level read once.
        let services =
            <Service as ScalarColumn>::read_column(services.as_ref()).map_err(|problem| {
                DeidError::Schema(SchemaError::BadColumn {
                    table: TABLE,
                    column: "service",
                    problem,
                })
            })?;
        let start: &Int32Array = column(batch, "start_day")?;
        let end: &Int32Array = column(batch, "end_day")?;
        let quantity: &Float64Array = column(batch, "quantity")?;
        let acute: &BooleanArray = column(batch, "acute")?;
        let start_minute: &Int32Array = column(batch, "start_minute")?;
        let end_minute: &Int32Array = column(batch, "end_minute")?;
        let not_pseudonym = || DeidError::NotDeidentified {
            table: TABLE,
            problem: format!(
                "`pid` holds a value that is not a {}-character pseudonym",
                crate::PSEUDONYM_HEX_CHARS
            ),
        };
        if pids.null_count() > 0 || services.contains(&None) || start.null_count() > 0 {
            return Err(DeidError::NotDeidentified {
                table: TABLE,
                problem: "pid, service or start_day is empty".to_owned(),
            });
        }
        let (end_nulls, quantity_nulls, acute_nulls) =
            (end.nulls(), quantity.nulls(), acute.nulls());
        let (start_minute_nulls, end_minute_nulls) = (start_minute.nulls(), end_minute.nulls());
        if let Pids::Keyed { values, .. } = &pids {
            // Every value of the dictionary, so every key's.
            if !check.checked.as_ref().is_some_and(|c| c.to_data().ptr_eq(&values.to_data())) {
                if values.null_count() > 0
                    || values.iter().flatten().any(|v| v.parse::<crate::Pseudonym>().is_err())
                {
                    return Err(not_pseudonym());
                }
                check.checked = Some(values.clone());
            }
        }
        let text = match &pids {
            Pids::Text(text) => Some(text),
            Pids::Keyed { .. } => None,
        };
        let mut rows = Vec::with_capacity(batch.num_rows());
        let mut last_pid: Option<&str> = None;
        for (i, &service) in services.iter().enumerate() {
            if let Some(text) = text {
                let pid = text.value(i);
                if !last_pid.is_some_and(|last| same_pid(last, pid)) {
                    if pid.parse::<crate::Pseudonym>().is_err() {
                        return Err(not_pseudonym());
                    }
                    last_pid = Some(pid);
                }
            }
            let Some(service) = service else {
                return Err(DeidError::NotDeidentified {
                    table: TABLE,
                    problem: "pid, service or start_day is empty".to_owned(),
                });
            };
            rows.push(EventRow {
                service,
                start_day: start.value(i),
                end_day: valid(end_nulls, i).then(|| end.value(i)),
                quantity: valid(quantity_nulls, i).then(|| quantity.value(i)),
                acute: valid(acute_nulls, i).then(|| acute.value(i)),
                start_minute: valid(start_minute_nulls, i).then(|| start_minute.value(i)),
                end_minute: valid(end_minute_nulls, i).then(|| end_minute.value(i)),
            });
        }
        Ok(EventBatch { pids, rows })
    }

    /// Rows in the batch.
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// Whether the batch has no rows.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// The rows, in batch order (their pseudonyms through [`EventBatch::runs`]).
    pub fn rows(&self) -> &[EventRow] {
        &self.rows
    }

    /// The batch as runs of consecutive rows with the same pseudonym, in order.
    pub fn runs(&self) -> impl Iterator<Item = (&str, &[EventRow])> {
        let mut start = 0;
        std::iter::from_fn(move || {
            if start >= self.rows.len() {
                return None;
            }
            let pid = self.pids.value(start);
            let mut end = start + 1;
            while end < self.rows.len() && self.pids.same(start, end) {
                end += 1;
            }
            let run = (pid, &self.rows[start..end]);
            start = end;
            Some(run)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{DeidParams, Identifiable, Key, deidentify};
    use chrono::NaiveDate;
    use folge_schema::national_id::build;
    use folge_schema::tables::ServiceEvent;

    fn date(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    /// A pilot participant in municipality 4601 with only an id and an inclusion date.
    fn participant(id: &str, inclusion_date: NaiveDate) -> Participant {
        Participant {
            person_id: id.to_owned(),
            name: None,
            sex: None,
            birth_date: None,
            municipality: "4601".into(),
            site: None,
            arm: folge_schema::Arm::Pilot,
            target_group: None,
            inclusion_date,
            exit_date: None,
            exit_reason: None,
        }
    }

    /// A contact of one day, nothing but its service and date.
    fn contact(id: &str, service: Service, start_date: NaiveDate) -> ServiceEvent {
        ServiceEvent {
            person_id: id.to_owned(),
            service,
            start_date,
            end_date: None,
            quantity: None,
            acute: None,
            start_time: None,
            end_time: None,
        }
    }

    fn synthetic(birth: &str) -> String {
        (0..500).find_map(|i| build(date(birth), i, 0, 80)).unwrap()
    }

    /// Zone 1 as ingest writes it — `person_id` keyed into the participants' ids,
    /// `service` into the codes — converts to the same rows as the text form, with every
    /// row's position; a dictionary of its own (another row group) is looked up anew, and
    /// an id in it that no participant has is refused at its row.
    #[test]
    fn keyed_ids_and_services_convert_as_their_text_does() {
        use folge_schema::keyed::{TextDictionary, service_events_batch};
        let ids: Vec<String> = (0..3).map(|i| synthetic(&format!("196{i}-05-01"))).collect();
        let participants: Vec<Participant> =
            ids.iter().map(|id| participant(id, date("2020-01-01"))).collect();
        let input = Identifiable { participants: participants.clone(), ..Identifiable::default() };
        let tables =
            deidentify(&input, &DeidParams::new(date("2021-12-31")), &Key::demo()).unwrap();
        let events: Vec<ServiceEvent> =
            [(2, Service::Gp), (0, Service::Outpatient), (2, Service::Kad)]
                .into_iter()
                .map(|(p, s)| contact(&ids[p], s, date("2020-02-01")))
                .collect();
        // Each row's place in `list`, and a dictionary of `list`.
        let keyed_as = |rows: &[ServiceEvent], list: &[&str]| {
            let places: Vec<Option<u32>> = rows
                .iter()
                .map(|r| list.iter().position(|i| *i == r.person_id).map(|p| p as u32))
                .collect();
            service_events_batch(rows, &TextDictionary::new(list.iter().copied()), &places).unwrap()
        };
        let list: Vec<&str> = ids.iter().map(String::as_str).collect();
        let keyed = keyed_as(&events, &list);
        assert!(matches!(keyed.column(0).data_type(), arrow_schema::DataType::Dictionary(..)));
        let mut text_path = EventDeidentifier::new(&participants, &tables);
        let want = text_path.convert(&ServiceEvent::to_batch(&events).unwrap()).unwrap();
        let mut keyed_path = EventDeidentifier::new(&participants, &tables);
        let got = keyed_path.convert(&keyed).unwrap();
        assert_eq!(keyed_path.positions(), [2, 0, 2]);
        assert_eq!(got, want);
        assert_eq!(
            DeidServiceEvent::from_batch(&got).unwrap(),
            DeidServiceEvent::from_batch(&want).unwrap()
        );
        // Another dictionary, the ids in another order: found by their text.
        let reversed: Vec<&str> = ids.iter().rev().map(String::as_str).collect();
        let other = keyed_as(&events, &reversed);
        assert_eq!(keyed_path.convert(&other).unwrap(), want);
        assert_eq!(keyed_path.positions(), [2, 0, 2]);
        // A dictionary holding an id no participant has: refused at the row naming it.
        let stranger = synthetic("1970-01-01");
        let with_stranger: Vec<&str> =
            ids.iter().map(String::as_str).chain([stranger.as_str()]).collect();
        let rows = vec![events[0].clone(), contact(&stranger, Service::Gp, date("2020-03-01"))];
        let bad = keyed_as(&rows, &with_stranger);
        let err = keyed_path.convert(&bad).unwrap_err().to_string();
        assert_eq!(err, "service_events row 7 refers to a person who is not in participants");
        // A key to an empty id is an empty id.
        let levels: ArrayRef = Arc::new(StringArray::from(vec![Some(ids[0].as_str()), None]));
        let keys = UInt32Array::from(vec![0, 1, 0]);
        let mut columns = keyed.columns().to_vec();
        columns[0] = Arc::new(DictionaryArray::<UInt32Type>::try_new(keys, levels).unwrap());
        let empty = RecordBatch::try_new(keyed.schema(), columns).unwrap();
        let err = keyed_path.convert(&empty).unwrap_err().to_string();
        assert!(err.contains("row 7: person_id or start_date is empty"), "{err}");
    }

    #[test]
    fn ids_of_any_form_find_their_participant_and_unknown_ones_are_refused() {
        // Study numbers beside an 11-digit id, and one 11 digits long with a letter.
        let ids = ["P-17", &synthetic("1950-03-01"), "1234567890x", "00000000001"];
        let participants: Vec<Participant> =
            ids.iter().map(|id| participant(id, date("2020-01-01"))).collect();
        let event = |id: &str| contact(id, Service::Gp, date("2020-01-05"));
        let input = Identifiable { participants: participants.clone(), ..Identifiable::default() };
        let key = Key::generate().unwrap();
        let whole = deidentify(&input, &DeidParams::new(date("2021-12-31")), &key).unwrap();
        let mut streamer = EventDeidentifier::new(&participants, &whole);
        let rows: Vec<ServiceEvent> = [3, 0, 2, 1, 0, 3].iter().map(|&i| event(ids[i])).collect();
        let out = streamer.convert(&ServiceEvent::to_batch(&rows).unwrap()).unwrap();
        assert_eq!(streamer.positions(), &[3, 0, 2, 1, 0, 3]);
        let pids: Vec<String> =
            DeidServiceEvent::from_batch(&out).unwrap().iter().map(|r| r.pid.to_string()).collect();
        assert_eq!(pids[0], whole.participants()[3].pid.to_string());
        assert_eq!(pids[2], whole.participants()[2].pid.to_string());
        for unknown in ["P-18", "00000000002", "1234567890y"] {
            let batch = ServiceEvent::to_batch(&[event(ids[0]), event(unknown)]).unwrap();
            assert!(
                matches!(streamer.convert(&batch), Err(DeidError::UnknownPerson { row: 7, .. })),
                "{unknown}"
            );
        }
    }

    #[test]
    fn streamed_batches_match_the_in_memory_conversion_and_read_back() {
        let ids: Vec<String> = (0..3).map(|i| synthetic(&format!("195{i}-03-01"))).collect();
        let participants: Vec<Participant> = ids
            .iter()
            .enumerate()
            .map(|(i, id)| {
                participant(id, date("2020-01-01") + chrono::Duration::days(i as i64 * 40))
            })
            .collect();
        let events: Vec<ServiceEvent> = [
            (0, "2019-12-30", Some("2020-01-02")),
            (0, "2020-02-01", None),
            (2, "2020-06-01", None),
            (1, "2020-03-01", None),
        ]
        .into_iter()
        .map(|(p, start, end)| ServiceEvent {
            person_id: ids[p].clone(),
            service: if end.is_some() { Service::Inpatient } else { Service::Gp },
            start_date: date(start),
            end_date: end.map(date),
            quantity: None,
            acute: end.map(|_| true),
            start_time: end.map(|_| 600),
            end_time: end.map(|_| 480),
        })
        .collect();
        let input = Identifiable {
            participants: participants.clone(),
            service_events: events.clone(),
            ..Identifiable::default()
        };
        let key = Key::demo();
        let params = DeidParams::new(date("2021-12-31"));
        let whole = deidentify(&input, &params, &key).unwrap();
        let mut streamer = EventDeidentifier::new(&participants, &whole);
        let mut out_rows = Vec::new();
        let mut positions = Vec::new();
        for chunk in events.chunks(3) {
            let out = streamer.convert(&ServiceEvent::to_batch(chunk).unwrap()).unwrap();
            positions.extend_from_slice(streamer.positions());
            out_rows.extend(DeidServiceEvent::from_batch(&out).unwrap());
        }
        // Each row's participant position: its place in the list (and in the tables).
        assert_eq!(positions, vec![0, 0, 2, 1]);
        for (row, &k) in out_rows.iter().zip(&positions) {
            assert_eq!(row.pid, whole.participants()[k as usize].pid);
        }
        assert_eq!(out_rows, whole.service_events(), "same rows as the in-memory path");
        assert_eq!(streamer.rows(), 4);
        let back = EventBatch::from_batch(&DeidServiceEvent::to_batch(&out_rows).unwrap()).unwrap();
        let runs: Vec<(String, usize)> =
            back.runs().map(|(p, r)| (p.to_owned(), r.len())).collect();
        assert_eq!(runs.iter().map(|r| r.1).collect::<Vec<_>>(), vec![2, 1, 1]);
        assert_eq!(runs[0].0, whole.participants()[0].pid.to_string());
        assert_eq!(back.runs().next().unwrap().1[0].start_day, -2);
        assert_eq!(back.runs().next().unwrap().1[0].end_day, Some(1));
        // Times of day pass through as minutes.
        let first = back.runs().next().unwrap().1[0];
        assert_eq!((first.start_minute, first.end_minute), (Some(600), Some(480)));

        let stranger = ServiceEvent { person_id: synthetic("1960-01-01"), ..events[0].clone() };
        let err = streamer
            .convert(&ServiceEvent::to_batch(std::slice::from_ref(&stranger)).unwrap())
            .unwrap_err()
            .to_string();
        assert_eq!(err, "service_events row 4 refers to a person who is not in participants");
        assert!(!err.contains(&stranger.person_id));
    }

    /// Keyed batches (pid as keys into every participant's pseudonym) stand for the same
    /// text, rows and runs as the plain ones; their dictionary is checked, whole, once
    /// for batches that share it, and a dictionary holding anything but pseudonyms is
    /// refused even where no row's key points at it.
    #[test]
    fn keyed_batches_stand_for_the_same_pseudonyms_and_are_checked() {
        let ids: Vec<String> = (0..4).map(|i| synthetic(&format!("195{i}-03-01"))).collect();
        let participants: Vec<Participant> =
            ids.iter().map(|id| participant(id, date("2020-01-01"))).collect();
        let event = |p: usize, day: u32| {
            let service = if p.is_multiple_of(2) { Service::Gp } else { Service::HomeNursing };
            contact(&ids[p], service, date("2020-01-01") + chrono::Duration::days(i64::from(day)))
        };
        let input = Identifiable { participants: participants.clone(), ..Identifiable::default() };
        let whole = deidentify(&input, &DeidParams::new(date("2021-12-31")), &Key::demo()).unwrap();
        let mut plain = EventDeidentifier::new(&participants, &whole);
        let mut keyed = EventDeidentifier::new(&participants, &whole).keyed();
        let mut check = PidCheck::default();
        let chunks = [vec![(2, 1), (2, 2), (0, 3), (3, 4)], vec![(3, 5), (1, 6), (2, 7)]];
        let mut dictionaries = Vec::new();
        for chunk in &chunks {
            let rows: Vec<ServiceEvent> = chunk.iter().map(|&(p, d)| event(p, d)).collect();
            let batch = ServiceEvent::to_batch(&rows).unwrap();
            let (a, b) = (plain.convert(&batch).unwrap(), keyed.convert(&batch).unwrap());
            assert_eq!(b.schema(), keyed_schema());
            assert_eq!(plain.positions(), keyed.positions());
            let pids = b.column(0).as_any().downcast_ref::<DictionaryArray<UInt32Type>>();
            dictionaries.push(pids.unwrap().values().clone());
            let (a, b) = (
                EventBatch::from_batch(&a).unwrap(),
                EventBatch::from_batch_with(&b, &mut check).unwrap(),
            );
            assert_eq!(a.rows(), b.rows());
            let runs = |e: &EventBatch| -> Vec<(String, usize)> {
                e.runs().map(|(p, r)| (p.to_owned(), r.len())).collect()
            };
            assert_eq!(runs(&a), runs(&b));
            assert_eq!(runs(&b)[0].0, whole.participants()[chunk[0].0].pid.to_string());
        }
        // One dictionary for every batch: checked once.
        assert!(Arc::ptr_eq(&dictionaries[0], &dictionaries[1]));
        // A dictionary with a national id beside the pseudonyms, at a key no row uses.
        let mut texts: Vec<String> =
            whole.participants().iter().map(|p| p.pid.to_string()).collect();
        texts.push(ids[0].clone());
        let pids = DictionaryArray::<UInt32Type>::try_new(
            UInt32Array::from(vec![0, 1]),
            Arc::new(StringArray::from(texts)),
        )
        .unwrap();
        let rows = ServiceEvent::to_batch(&[event(0, 1), event(1, 2)]).unwrap();
        let good = keyed.convert(&rows).unwrap();
        let mut columns = good.columns().to_vec();
        columns[0] = Arc::new(pids);
        let bad = RecordBatch::try_new(keyed_schema(), columns).unwrap();
        let err = EventBatch::from_batch_with(&bad, &mut check).unwrap_err();
        assert!(err.to_string().contains("not a 32-character pseudonym"), "{err}");
        assert!(EventBatch::from_batch(&bad).is_err());
    }

    #[test]
    fn pseudonyms_compare_as_arrays_and_anything_else_as_text() {
        let a = "0123456789abcdef0123456789abcdef";
        assert!(same_pid(a, String::from(a).as_str()));
        assert!(!same_pid(a, "0123456789abcdef0123456789abcdee"), "last byte");
        assert!(!same_pid(a, "1123456789abcdef0123456789abcdef"), "first byte");
        assert!(!same_pid(a, "0123456789abcdef"), "length");
        assert!(!same_pid(a, "0123456789abcdef0123456789abcdef0"), "one more");
        assert!(same_pid("abc", "abc") && !same_pid("abc", "abd"), "not a pseudonym's length");
    }

    #[test]
    fn identifiable_batches_are_not_readmitted() {
        let rows = vec![ServiceEvent {
            person_id: "12345678901".into(),
            service: Service::Gp,
            start_date: date("2020-01-01"),
            end_date: None,
            quantity: None,
            acute: None,
            start_time: None,
            end_time: None,
        }];
        let err = EventBatch::from_batch(&ServiceEvent::to_batch(&rows).unwrap()).unwrap_err();
        assert!(err.to_string().contains("identifying column"), "{err}");
        let fake = vec![DeidServiceEvent {
            pid: crate::Pseudonym::from_bytes([7; 16]),
            service: Service::Gp,
            start_day: 0,
            end_day: None,
            quantity: None,
            acute: None,
            start_minute: None,
            end_minute: None,
        }];
        let fake = crate::tables::tests::with_pid_text(
            &DeidServiceEvent::to_batch(&fake).unwrap(),
            "12345678901",
        );
        let err = EventBatch::from_batch(&fake).unwrap_err();
        assert!(err.to_string().contains("not a 32-character pseudonym"), "{err}");
    }
}

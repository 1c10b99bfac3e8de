//! Service events sorted out by person, for events that do not come grouped by person (a
//! hospital extract and a municipal one, one after the other): each person's events go
//! to one of several parts, and a part is taken back whole and grouped. Parts are held in
//! memory while every event's record fits in [`PARTS_IN_MEMORY_BYTES`]; beyond that they
//! are temporary files, so memory holds one part and not every event.
//!
//! A part holds fixed-size records: the participant's number (no pseudonym) and the
//! event's fields, little-endian. The files live in a temporary folder inside the stage
//! folder and are removed when the parts are dropped, on success and on error.

use std::fs::File;
use std::io::{BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use folge_deid::EventRow;
use folge_schema::Service;
use folge_schema::column::TextCode;

use crate::error::PipelineError;

/// Bytes of one record: person (4), service (1), flags (1), start day (4), end day (4),
/// quantity (8), start minute (4), end minute (4).
const RECORD: usize = 30;

const HAS_END: u8 = 1;
const HAS_QUANTITY: u8 = 2;
const HAS_ACUTE: u8 = 4;
const ACUTE: u8 = 8;
const HAS_START_MINUTE: u8 = 16;
const HAS_END_MINUTE: u8 = 32;

fn encode(person: u32, e: &EventRow) -> [u8; RECORD] {
    let mut out = [0u8; RECORD];
    let flag = |present: bool, bit: u8| if present { bit } else { 0 };
    let flags = flag(e.end_day.is_some(), HAS_END)
        | flag(e.quantity.is_some(), HAS_QUANTITY)
        | flag(e.acute.is_some(), HAS_ACUTE)
        | flag(e.acute == Some(true), ACUTE)
        | flag(e.start_minute.is_some(), HAS_START_MINUTE)
        | flag(e.end_minute.is_some(), HAS_END_MINUTE);
    out[0..4].copy_from_slice(&person.to_le_bytes());
    out[4] = e.service as u8;
    out[5] = flags;
    out[6..10].copy_from_slice(&e.start_day.to_le_bytes());
    out[10..14].copy_from_slice(&e.end_day.unwrap_or(0).to_le_bytes());
    out[14..22].copy_from_slice(&e.quantity.unwrap_or(0.0).to_le_bytes());
    out[22..26].copy_from_slice(&e.start_minute.unwrap_or(0).to_le_bytes());
    out[26..30].copy_from_slice(&e.end_minute.unwrap_or(0).to_le_bytes());
    out
}

/// A record back; `None` for a service code this build does not know (the file was not
/// written by it).
fn decode(r: &[u8; RECORD]) -> Option<(u32, EventRow)> {
    let word = |at: usize| i32::from_le_bytes([r[at], r[at + 1], r[at + 2], r[at + 3]]);
    let flags = r[5];
    let has = |bit: u8| flags & bit != 0;
    let mut quantity = [0u8; 8];
    quantity.copy_from_slice(&r[14..22]);
    let person = u32::from_le_bytes([r[0], r[1], r[2], r[3]]);
    let row = EventRow {
        service: *Service::ALL.get(usize::from(r[4]))?,
        start_day: word(6),
        end_day: has(HAS_END).then(|| word(10)),
        quantity: has(HAS_QUANTITY).then(|| f64::from_le_bytes(quantity)),
        acute: has(HAS_ACUTE).then(|| has(ACUTE)),
        start_minute: has(HAS_START_MINUTE).then(|| word(22)),
        end_minute: has(HAS_END_MINUTE).then(|| word(26)),
    };
    Some((person, row))
}

/// The most bytes of records held in memory: a delivery whose events' records take more
/// (about 17 million events) is dealt into part files. Ten million events' records are
/// 300 MB; written to files and read back, they were copied into the page cache and out
/// again.
pub const PARTS_IN_MEMORY_BYTES: u64 = 512 << 20;

/// How events not grouped by person are dealt: into how many parts, for how many events.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Plan {
    /// Parts, each read back and grouped whole.
    pub parts: usize,
    /// Events (about: the parts hold what is pushed).
    pub events: u64,
}

impl Plan {
    /// One part per [`EVENTS_PER_PART`] events, at least one.
    pub(crate) fn for_events(events: u64) -> Self {
        let parts = usize::try_from(events.div_ceil(EVENTS_PER_PART as u64)).unwrap_or(usize::MAX);
        Plan { parts: parts.max(1), events }
    }

    /// Whether the parts are held in memory: every event's record fits in
    /// [`PARTS_IN_MEMORY_BYTES`].
    pub(crate) fn in_memory(self) -> bool {
        self.events.saturating_mul(RECORD as u64) <= PARTS_IN_MEMORY_BYTES
    }
}

/// Events per part: what memory holds at once, grouped, when parts are files.
pub(crate) const EVENTS_PER_PART: usize = 1_000_000;

/// Events dealt into parts by participant number.
pub(crate) struct EventParts {
    store: Store,
    events: Vec<u64>,
}

/// Where the parts' records are.
enum Store {
    /// Each part's records.
    Memory(Vec<Vec<u8>>),
    /// Part files in a temporary folder.
    Files { folder: tempfile::TempDir, writers: Vec<BufWriter<File>> },
}

impl EventParts {
    /// The plan's empty parts: in memory when its events' records fit in
    /// [`PARTS_IN_MEMORY_BYTES`], else files in a temporary folder inside `dir`.
    pub(crate) fn create(dir: &Path, plan: Plan) -> Result<Self, PipelineError> {
        let parts = plan.parts.max(1);
        if plan.in_memory() {
            // Room for a part's share and a little more (persons' use differs, parts
            // less); a part that outgrows it grows as a vector does. Reserved, not yet
            // touched: memory is taken as records come.
            let bytes = plan.events * RECORD as u64;
            let share = usize::try_from(bytes / parts as u64 + bytes / parts as u64 / 16)
                .unwrap_or(usize::MAX);
            let held = (0..parts).map(|_| Vec::with_capacity(share)).collect();
            return Ok(EventParts { store: Store::Memory(held), events: vec![0; parts] });
        }
        Self::in_files(dir, parts)
    }

    /// `parts` empty part files in a temporary folder inside `dir`, however few events.
    pub(crate) fn in_files(dir: &Path, parts: usize) -> Result<Self, PipelineError> {
        let folder = tempfile::Builder::new()
            .prefix(".parts-")
            .tempdir_in(dir)
            .map_err(|e| PipelineError::io(dir, e))?;
        let writers = (0..parts.max(1))
            .map(|i| {
                let path = part_path(folder.path(), i);
                File::create(&path)
                    .map(|f| BufWriter::with_capacity(1 << 16, f))
                    .map_err(|e| PipelineError::io(&path, e))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let events = vec![0; writers.len()];
        Ok(EventParts { store: Store::Files { folder, writers }, events })
    }

    /// Add events of participant number `person`.
    pub(crate) fn push(&mut self, person: usize, rows: &[EventRow]) -> Result<(), PipelineError> {
        let part = person % self.events.len();
        let number = u32::try_from(person).map_err(|_| {
            PipelineError::bug("more than 4 294 967 295 participants in one analysis")
        })?;
        match &mut self.store {
            Store::Memory(held) => {
                let held = &mut held[part];
                for e in rows {
                    held.extend_from_slice(&encode(number, e));
                }
            }
            Store::Files { folder, writers } => {
                let writer = &mut writers[part];
                for e in rows {
                    writer
                        .write_all(&encode(number, e))
                        .map_err(|err| PipelineError::io(&part_path(folder.path(), part), err))?;
                }
            }
        }
        self.events[part] += rows.len() as u64;
        Ok(())
    }

    /// Take the parts back and give each participant's events, in the order they were
    /// added, to `first` or `second`, on two threads: parts alternately (participants in
    /// number order within a part; each person is in one part, so a closure sees a person
    /// whole or not at all). Parts are read (from files) and grouped on a third thread;
    /// at most three are grouped at a time (parts in memory are freed as they are
    /// grouped).
    pub(crate) fn for_each_person(
        mut self,
        mut first: impl FnMut(usize, &[EventRow]) + Send,
        mut second: impl FnMut(usize, &[EventRow]) + Send,
    ) -> Result<(), PipelineError> {
        let parts = self.events.len();
        // Each part's records, taken from memory or read from its file when its turn comes.
        let mut sources: Vec<PartSource> = Vec::with_capacity(parts);
        match &mut self.store {
            Store::Memory(held) => sources.extend(held.drain(..).map(PartSource::Memory)),
            Store::Files { folder, writers } => {
                for (part, writer) in writers.drain(..).enumerate() {
                    let path = part_path(folder.path(), part);
                    writer.into_inner().map_err(|e| PipelineError::io(&path, e.into_error()))?;
                    sources.push(PartSource::File(path));
                }
            }
        }
        let events = std::mem::take(&mut self.events);
        std::thread::scope(|scope| {
            let (to_first, for_first) = std::sync::mpsc::sync_channel::<Result<Part, _>>(0);
            let (to_second, for_second) = std::sync::mpsc::sync_channel::<Result<Part, _>>(0);
            scope.spawn(move || {
                for (part, (source, events)) in sources.into_iter().zip(events).enumerate() {
                    let read = source.records(events).and_then(|(bytes, path)| {
                        group_part(&bytes, part, parts).ok_or_else(|| match path {
                            // Only this build wrote them.
                            None => PipelineError::bug("a part in memory holds an unknown service"),
                            Some(path) => {
                                PipelineError::io_message(&path, "holds an unknown service")
                            }
                        })
                    });
                    let failed = read.is_err();
                    let to = if part % 2 == 0 { &to_first } else { &to_second };
                    if to.send(read).is_err() || failed {
                        break;
                    }
                }
            });
            let run = |rx: std::sync::mpsc::Receiver<Result<Part, PipelineError>>,
                       each: &mut dyn FnMut(usize, &[EventRow])|
             -> Result<(), PipelineError> {
                for read in rx {
                    let (persons, events) = read?;
                    for (person, range) in persons {
                        each(person, &events[range]);
                    }
                }
                Ok(())
            };
            let other = scope.spawn(move || run(for_second, &mut second));
            let mine = run(for_first, &mut first);
            let theirs = other.join().unwrap_or_else(|e| std::panic::resume_unwind(e));
            mine.and(theirs)
        })
    }
}

/// One part's persons (number and where their events are) and events, each person's
/// events together in the order they came: a counting sort on the person's place in the
/// part (persons of part `p` of `n` are `p`, `p + n`, `p + 2n`, …).
type Part = (Vec<(usize, std::ops::Range<usize>)>, Vec<EventRow>);

/// Where a part's records are.
enum PartSource {
    Memory(Vec<u8>),
    File(PathBuf),
}

impl PartSource {
    /// The part's `events` records, and the file they were read from.
    fn records(self, events: u64) -> Result<(Vec<u8>, Option<PathBuf>), PipelineError> {
        match self {
            PartSource::Memory(bytes) => Ok((bytes, None)),
            PartSource::File(path) => {
                let expected = usize::try_from(events).unwrap_or(usize::MAX);
                // The whole part at once.
                let mut bytes = vec![0u8; expected.saturating_mul(RECORD)];
                File::open(&path)
                    .and_then(|mut file| file.read_exact(&mut bytes))
                    .map_err(|e| PipelineError::io(&path, e))?;
                Ok((bytes, Some(path)))
            }
        }
    }
}

/// A part's records grouped by person ([`Part`]); `None` when one holds a service code
/// this build does not know (it did not write the record).
fn group_part(bytes: &[u8], part: usize, parts: usize) -> Option<Part> {
    let records = bytes.as_chunks::<RECORD>().0;
    let place = |r: &[u8; RECORD]| u32::from_le_bytes([r[0], r[1], r[2], r[3]]) as usize / parts;
    let places = records.iter().map(|r| place(r) + 1).max().unwrap_or(0);
    let mut starts = vec![0usize; places + 1];
    for r in records {
        starts[place(r) + 1] += 1;
    }
    for i in 1..starts.len() {
        starts[i] += starts[i - 1];
    }
    // Records decoded in the order they came and each put at its person's next place (a
    // counting sort: stable, so each person's events stay in the order they came): the
    // records are read once, in order, and only the writes go to scattered places.
    let mut next = starts.clone();
    let mut events = vec![EMPTY; records.len()];
    for r in records {
        let slot = &mut next[place(r)];
        events[*slot] = decode(r)?.1;
        *slot += 1;
    }
    let persons = (0..places)
        .filter(|&i| starts[i + 1] > starts[i])
        .map(|i| (i * parts + part, starts[i]..starts[i + 1]))
        .collect();
    Some((persons, events))
}

/// A place not yet filled (every place is, by the end of [`group_part`]).
const EMPTY: EventRow = EventRow {
    service: Service::Gp,
    start_day: 0,
    end_day: None,
    quantity: None,
    acute: None,
    start_minute: None,
    end_minute: None,
};

fn part_path(folder: &Path, part: usize) -> PathBuf {
    folder.join(format!("{part}.events"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(service: Service, start: i32) -> EventRow {
        EventRow { service, start_day: start, ..EMPTY }
    }

    #[test]
    fn records_round_trip_every_field() {
        let full = EventRow {
            service: Service::Inpatient,
            start_day: -365,
            end_day: Some(-360),
            quantity: Some(1.5),
            acute: Some(false),
            start_minute: Some(0),
            end_minute: Some(1439),
        };
        for e in [full, row(Service::LongTermCare, 7), EventRow { acute: Some(true), ..full }] {
            assert_eq!(decode(&encode(7, &e)), Some((7, e)));
        }
        let mut bad = encode(1, &full);
        bad[4] = 200;
        assert_eq!(decode(&bad), None);
    }

    /// Parts held in memory, and parts in files.
    fn both_stores(dir: &Path, parts: usize) -> [EventParts; 2] {
        let memory = EventParts::create(dir, Plan { parts, events: 10 }).unwrap();
        assert!(matches!(memory.store, Store::Memory(_)));
        let files = EventParts::in_files(dir, parts).unwrap();
        assert!(matches!(files.store, Store::Files { .. }));
        [memory, files]
    }

    #[test]
    fn a_plan_beyond_the_memory_budget_deals_into_files() {
        let events = PARTS_IN_MEMORY_BYTES / RECORD as u64;
        let plan = Plan::for_events(events);
        assert_eq!(plan.parts, usize::try_from(events.div_ceil(1_000_000)).unwrap());
        assert!(plan.in_memory());
        assert!(!Plan::for_events(events + 1).in_memory());
        assert!(!Plan { parts: 3, events: u64::MAX }.in_memory());
        assert_eq!(Plan::for_events(0).parts, 1);
        let dir = tempfile::tempdir().unwrap();
        let beyond = EventParts::create(dir.path(), Plan { parts: 2, events: u64::MAX }).unwrap();
        assert!(matches!(beyond.store, Store::Files { .. }));
    }

    #[test]
    fn persons_come_back_whole_and_in_order() {
        let dir = tempfile::tempdir().unwrap();
        for mut parts in both_stores(dir.path(), 3) {
            // Person 4 in two pieces, apart (as a hospital file then a municipal one).
            parts.push(4, &[row(Service::Gp, 1), row(Service::Gp, 2)]).unwrap();
            parts.push(1, &[row(Service::Outpatient, 5)]).unwrap();
            parts.push(4, &[row(Service::HomeHelp, 3)]).unwrap();
            parts.push(7, &[row(Service::Kad, 9)]).unwrap();
            let mut seen = Vec::new();
            let mut seen_too = Vec::new();
            parts
                .for_each_person(
                    |p, events| seen.push((p, events.iter().map(|e| e.start_day).collect())),
                    |p, events| seen_too.push((p, events.iter().map(|e| e.start_day).collect())),
                )
                .unwrap();
            seen.extend(seen_too);
            seen.sort();
            assert_eq!(seen, vec![(1, vec![5]), (4, vec![1, 2, 3]), (7, vec![9])]);
        }
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0, "temporary parts removed");
    }

    #[test]
    fn many_persons_in_pieces_over_several_parts() {
        // 60 persons, events added in 400 pieces in a scrambled order; each event's start
        // day is its sequence number, so a person's days must come back increasing.
        let dir = tempfile::tempdir().unwrap();
        for parts in both_stores(dir.path(), 7) {
            many_persons_in(parts);
        }
    }

    fn many_persons_in(mut parts: EventParts) {
        let mut expected: Vec<Vec<i32>> = vec![Vec::new(); 60];
        let (mut state, mut day) = (0x9e37_79b9_u32, 0);
        for _ in 0..400 {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            let person = (state % 60) as usize;
            let piece: Vec<EventRow> = (0..=state % 3)
                .map(|_| {
                    day += 1;
                    expected[person].push(day);
                    row(Service::Gp, day)
                })
                .collect();
            parts.push(person, &piece).unwrap();
        }
        let mut first: Vec<(usize, Vec<i32>)> = Vec::new();
        let mut second: Vec<(usize, Vec<i32>)> = Vec::new();
        parts
            .for_each_person(
                |p, events| first.push((p, events.iter().map(|e| e.start_day).collect())),
                |p, events| second.push((p, events.iter().map(|e| e.start_day).collect())),
            )
            .unwrap();
        assert!(!first.is_empty() && !second.is_empty(), "both threads get parts");
        let mut got: Vec<Vec<i32>> = vec![Vec::new(); 60];
        for (p, days) in first.into_iter().chain(second) {
            assert!(got[p].is_empty(), "person {p} given twice");
            got[p] = days;
        }
        assert_eq!(got, expected);
    }
}

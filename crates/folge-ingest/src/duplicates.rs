//! Duplicate rows: a row whose every cell equals an earlier accepted row of the same file.
//! Whole rows are compared (not folge's columns), so two outpatient visits on one day at
//! two clinics, which differ in the extract's other columns, are both kept.
//!
//! Rows are compared by a 128-bit fingerprint of their cells (XXH3-128 over the cells'
//! count and lengths, then their bytes; the chance that two different rows share one is
//! about n² / 2¹²⁹, below 10⁻²² for 100 million rows; kept duplicates are compared on 96
//! of the bits, below 10⁻¹³: see [`record`]). Every duplicate is found, in any
//! order of the rows ([`DuplicateCheck::On`], the default; [`DuplicateCheck::Off`] turns
//! the check off). How depends on what becomes of one ([`DuplicateRows`]):
//! - [`DuplicateRows::Keep`] (event tables, the large ones): nothing is decided while the
//!   row is read, so the check records every accepted row's fingerprint and line, 16
//!   bytes ([`record`]), in [`PARTS`] partitions chosen by the fingerprint's top 8 bits
//!   (rows equal in every cell share a fingerprint, so one partition holds all their
//!   copies). Up to [`SpillOptions::budget`] records (1 Mi, 16 MiB) are held in memory; a
//!   partition holding its share is appended to a [`SpillStore`] (`folge-pipeline` gives
//!   one of temporary files; [`MemorySpill`] keeps them in memory). When the file is read,
//!   each partition in turn is read back, sorted and scanned: a fingerprint seen on
//!   several lines makes all but the earliest duplicates "as" the earliest. Memory then
//!   holds one partition, a 256th of the records. While no person's rows have come back
//!   after another person's, the check of each person's run as it is read is exact
//!   (copies name the same person), so a file sorted by person skips the partitions'
//!   pass; it still records every row, because a person may come back at the very end.
//!   Measured on 10 million rows sorted by person: about 5 % more time than the per-run
//!   check alone, which missed every copy across runs in date order.
//! - [`DuplicateRows::Reject`] (participants, answers, monthly counts: small tables where
//!   a row is one thing): the row's verdict is needed while it is read, so every
//!   fingerprint of the file stays in a hash map. Its memory grows with the rows (measured:
//!   856 MiB peak for 10 million, about 85 bytes a row); event tables keep duplicates by
//!   default, so this is for tables of a row per person or answer.
//!
//! Whatever the setting, the reader follows the runs of each person's rows, to say
//! whether the file came grouped by person (later stages choose their route by it).

use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::Arc;

use crate::SinkError;

/// Fingerprints are hashes already: the map uses their bits instead of hashing again.
#[derive(Default)]
struct Bits(u64);

impl Hasher for Bits {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut word = [0u8; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            self.0 = self.0.rotate_left(5) ^ u64::from_le_bytes(word);
        }
    }
    fn write_u128(&mut self, value: u128) {
        self.0 = (value as u64) ^ ((value >> 64) as u64);
    }
}

/// What becomes of a row identical in every cell to an earlier one.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum DuplicateRows {
    /// Rejected ("duplicates the row on line …"): for tables where a row is one thing
    /// (a person, an answer, a monthly count).
    #[default]
    Reject,
    /// Kept as a row of its own and reported (how many, and the first lines): for event
    /// tables, where two rows alike can be two events (two GP contacts on one day in an
    /// extract without a contact id), so rejecting them would lower counts unseen.
    Keep,
}

/// Whether duplicate rows are looked for.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum DuplicateCheck {
    /// Every duplicate of the file, in any order of its rows.
    #[default]
    On,
    /// Not checked.
    Off,
}

/// How many partitions the records of [`DuplicateRows::Keep`] are dealt into, by the
/// fingerprint's top 8 bits.
pub const PARTS: usize = 256;

/// Records held in memory before they are spilled: 1 Mi of 16 bytes, 16 MiB.
pub const SPILL_BUDGET: usize = 1 << 20;

/// How many kept duplicates a warning names by line.
pub(crate) const KEPT_SHOWN: usize = 5;

/// Bytes of one record ([`record`]), little-endian.
const RECORD: usize = 16;

/// Partitions of records set aside by the duplicate check of one file: whole records
/// appended to a partition, read back in the order appended.
pub trait SpillParts: Send {
    /// Append `records` (a whole number of records) to partition `part`.
    ///
    /// # Errors
    /// When they cannot be set aside (a full disk): reading the file stops.
    fn append(&mut self, part: usize, records: &[u8]) -> Result<(), SinkError>;
    /// Append every byte given to partition `part` to `into`, in the order given.
    ///
    /// # Errors
    /// When they cannot be read back.
    fn read(&mut self, part: usize, into: &mut Vec<u8>) -> Result<(), SinkError>;
}

/// Opens the [`SpillParts`] of one file, when its records outgrow the budget (files
/// within the budget never open one).
pub trait SpillStore: Send + Sync + std::fmt::Debug {
    /// Empty partitions, [`PARTS`] of them.
    ///
    /// # Errors
    /// When there is no place for them.
    fn open(&self) -> Result<Box<dyn SpillParts>, SinkError>;
}

/// Spilled records kept in memory: the default, for callers with no place for temporary
/// files (memory then grows with the rows, 16 bytes each).
#[derive(Debug, Default)]
pub struct MemorySpill;

impl SpillStore for MemorySpill {
    fn open(&self) -> Result<Box<dyn SpillParts>, SinkError> {
        Ok(Box::new(MemoryParts(vec![Vec::new(); PARTS])))
    }
}

struct MemoryParts(Vec<Vec<u8>>);

impl SpillParts for MemoryParts {
    fn append(&mut self, part: usize, records: &[u8]) -> Result<(), SinkError> {
        self.0[part].extend_from_slice(records);
        Ok(())
    }
    fn read(&mut self, part: usize, into: &mut Vec<u8>) -> Result<(), SinkError> {
        into.append(&mut self.0[part]);
        Ok(())
    }
}

/// Where the duplicate check of an event table keeps its records.
#[derive(Debug, Clone)]
pub struct SpillOptions {
    /// Records held in memory before they go to the store ([`SPILL_BUDGET`]): each
    /// partition is spilled when it holds its share, a [`PARTS`]th.
    pub budget: usize,
    /// Where records beyond the budget go ([`MemorySpill`] unless set).
    pub store: Arc<dyn SpillStore>,
}

impl Default for SpillOptions {
    fn default() -> Self {
        SpillOptions { budget: SPILL_BUDGET, store: Arc::new(MemorySpill) }
    }
}

/// Bits of a record that hold the line: lines up to 2⁴⁰ − 1, over a trillion.
const LINE_BITS: u32 = 40;
const LINE_MASK: u128 = (1 << LINE_BITS) - 1;

/// The partition of a row's fingerprint: its top 8 bits.
fn part(print: u128) -> usize {
    (print >> 120) as usize
}

/// An accepted row as the check records it: the fingerprint's 88 bits after the
/// partition's 8 (the partition knows those), then the line in the lowest 40 bits, so
/// records sort by fingerprint, then line. Within a partition two different rows share 88
/// bits with a chance of about n² / 2⁹⁷ for n rows: below 10⁻¹³ for 100 million.
fn record(print: u128, line: u64) -> Result<u128, SinkError> {
    let line = u128::from(line);
    if line > LINE_MASK {
        return Err(format!("the file has more than {LINE_MASK} lines").into());
    }
    Ok(((print << 8) & !LINE_MASK) | line)
}

/// A record's line.
fn line_of(record: u128) -> u64 {
    (record & LINE_MASK) as u64
}

/// The duplicates kept in a file (`DuplicateRows::Keep`): how many, and the first
/// [`KEPT_SHOWN`] by line, each with the line of the earliest row it repeats.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Kept {
    pub(crate) count: u64,
    pub(crate) first: Vec<(u64, u64)>,
}

/// The records of every accepted row, partitioned, in memory up to a budget.
struct Recorded {
    /// Each partition's records not yet spilled, encoded as they will be spilled.
    parts: Vec<Vec<u8>>,
    /// Bytes a partition holds before it is spilled: the budget's share.
    part_budget: usize,
    store: Arc<dyn SpillStore>,
    spilled: Option<Box<dyn SpillParts>>,
    /// A partition's bytes read back.
    bytes: Vec<u8>,
    /// While no person's rows have come back after another's (a file sorted by person),
    /// the current run's fingerprints and what they found: exact so far, as copies of a
    /// row name the same person. Dropped at the first return.
    run: Option<Run>,
}

/// The online check of one person's run of rows.
#[derive(Default)]
struct Run {
    /// Fingerprint → first line, of the current run. Queried, never iterated.
    rows: HashMap<u128, u64, BuildHasherDefault<Bits>>,
    kept: Kept,
}

impl Recorded {
    fn new(spill: &SpillOptions, follows_runs: bool) -> Self {
        Recorded {
            parts: vec![Vec::new(); PARTS],
            part_budget: (spill.budget / PARTS).max(1) * RECORD,
            store: Arc::clone(&spill.store),
            spilled: None,
            bytes: Vec::new(),
            run: follows_runs.then(Run::default),
        }
    }

    fn push(
        &mut self,
        print: u128,
        line: u64,
        new_run: bool,
        returned: bool,
    ) -> Result<(), SinkError> {
        if returned {
            self.run = None;
        }
        if let Some(run) = &mut self.run {
            if new_run {
                // Clearing costs the map's capacity: after one heavy user's many rows,
                // start small again rather than sweep a large table for every person.
                if run.rows.capacity() > 4096 {
                    run.rows = HashMap::default();
                } else {
                    run.rows.clear();
                }
            }
            match run.rows.entry(print) {
                std::collections::hash_map::Entry::Occupied(first) => {
                    run.kept.count += 1;
                    note_first(&mut run.kept.first, (line, *first.get()));
                }
                std::collections::hash_map::Entry::Vacant(slot) => {
                    slot.insert(line);
                }
            }
        }
        let part = part(print);
        let held = &mut self.parts[part];
        held.extend_from_slice(&record(print, line)?.to_le_bytes());
        if held.len() >= self.part_budget {
            self.spill(part)?;
        }
        Ok(())
    }

    /// Move a partition's held records to the store (opened the first time).
    fn spill(&mut self, part: usize) -> Result<(), SinkError> {
        let spilled = match &mut self.spilled {
            Some(spilled) => spilled,
            None => self.spilled.insert(self.store.open()?),
        };
        spilled.append(part, &self.parts[part])?;
        self.parts[part].clear();
        Ok(())
    }

    /// Every fingerprint seen on more than one line: all but the earliest line are kept
    /// duplicates, counted, and the first [`KEPT_SHOWN`] by line named. Found by the
    /// online check when the file came sorted by person; otherwise one partition at a
    /// time, sorted.
    fn finish(mut self) -> Result<Kept, SinkError> {
        if let Some(run) = self.run {
            return Ok(run.kept);
        }
        // Partitions are read back here, in turn, and sorted and scanned on two threads
        // (each partition on its own; the first duplicates named are the earliest lines
        // whichever thread found them).
        let scan = |partitions: std::sync::mpsc::Receiver<Vec<u128>>| {
            let mut kept = Kept::default();
            for mut records in partitions {
                records.sort_unstable();
                for run in records.chunk_by(|a, b| a >> LINE_BITS == b >> LINE_BITS) {
                    let earliest = line_of(run[0]);
                    for &later in &run[1..] {
                        kept.count += 1;
                        note_first(&mut kept.first, (line_of(later), earliest));
                    }
                }
            }
            kept
        };
        std::thread::scope(|scope| {
            let (to_first, first) = std::sync::mpsc::sync_channel::<Vec<u128>>(1);
            let (to_second, second) = std::sync::mpsc::sync_channel::<Vec<u128>>(1);
            let workers = [scope.spawn(move || scan(first)), scope.spawn(move || scan(second))];
            let read = (|| {
                for part in 0..PARTS {
                    self.bytes.clear();
                    if let Some(spilled) = &mut self.spilled {
                        spilled.read(part, &mut self.bytes)?;
                    }
                    // Held records after the spilled ones (line order), their memory freed.
                    self.bytes.extend_from_slice(&std::mem::take(&mut self.parts[part]));
                    let records = self
                        .bytes
                        .chunks_exact(RECORD)
                        .map(|bytes| {
                            let mut record = [0u8; RECORD];
                            record.copy_from_slice(bytes);
                            u128::from_le_bytes(record)
                        })
                        .collect();
                    let to = if part % 2 == 0 { &to_first } else { &to_second };
                    if to.send(records).is_err() {
                        break;
                    }
                }
                Ok::<(), SinkError>(())
            })();
            drop((to_first, to_second));
            let mut kept = Kept::default();
            for worker in workers {
                let found = worker.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic));
                kept.count += found.count;
                for duplicate in found.first {
                    note_first(&mut kept.first, duplicate);
                }
            }
            read.map(|()| kept)
        })
    }
}

/// Keep the [`KEPT_SHOWN`] smallest duplicates by line in `first`, in line order.
fn note_first(first: &mut Vec<(u64, u64)>, duplicate: (u64, u64)) {
    if first.len() == KEPT_SHOWN && first.last().is_none_or(|last| *last <= duplicate) {
        return;
    }
    let at = first.partition_point(|d| *d < duplicate);
    first.insert(at, duplicate);
    first.truncate(KEPT_SHOWN);
}

/// How the check works, by what becomes of a duplicate.
enum Check {
    Off,
    /// Recorded, decided after the file is read.
    Keep(Recorded),
    /// Fingerprint → first line, of the whole file. Queried, never iterated, so its order
    /// cannot reach an output.
    Reject(HashMap<u128, u64, BuildHasherDefault<Bits>>),
}

/// Finds rows equal to an earlier accepted row, and follows the runs of each person's rows.
pub(crate) struct DuplicateFinder {
    check: Check,
    /// The person column, for following runs.
    group_column: Option<usize>,
    /// Hash of the current run's person cell.
    current_group: Option<u64>,
    /// The current run's person cell, to notice a new person without hashing.
    current_text: String,
    /// Persons whose runs were left behind (their hashes, which the set uses as they are).
    seen_groups: HashSet<u64, BuildHasherDefault<Bits>>,
    /// Times a person's rows came back after another person's.
    returns: u64,
}

/// A row's fingerprint: its cells, trailing empty ones left out (Excel pads rows, which
/// does not make them differ). `buffer` is scratch space the caller reuses.
pub(crate) fn row_fingerprint(buffer: &mut Vec<u8>, record: &csv::StringRecord) -> u128 {
    let used = record.len() - record.iter().rev().take_while(|c| c.is_empty()).count();
    let record = record.as_byte_record();
    // The cells lie back to back in the record: their count and lengths, then their
    // bytes in one piece (the lengths keep ("ab", "c") apart from ("a", "bc")).
    let end = used.checked_sub(1).and_then(|last| record.range(last)).map_or(0, |r| r.end);
    buffer.clear();
    buffer.extend_from_slice(&(used as u64).to_le_bytes());
    for cell in record.iter().take(used) {
        buffer.extend_from_slice(&(cell.len() as u64).to_le_bytes());
    }
    buffer.extend_from_slice(&record.as_slice()[..end]);
    twox_hash::XxHash3_128::oneshot(buffer)
}

impl DuplicateFinder {
    /// A finder for `rows`, following the runs of `group_column` (the person id).
    pub(crate) fn new(
        check: DuplicateCheck,
        rows: DuplicateRows,
        group_column: Option<usize>,
        spill: &SpillOptions,
    ) -> Self {
        let check = match (check, rows) {
            (DuplicateCheck::Off, _) => Check::Off,
            (DuplicateCheck::On, DuplicateRows::Keep) => {
                Check::Keep(Recorded::new(spill, group_column.is_some()))
            }
            (DuplicateCheck::On, DuplicateRows::Reject) => Check::Reject(HashMap::default()),
        };
        DuplicateFinder {
            check,
            group_column,
            current_group: None,
            current_text: String::new(),
            seen_groups: HashSet::default(),
            returns: 0,
        }
    }

    /// For an accepted row: with [`DuplicateRows::Reject`], the line of an identical
    /// earlier accepted row, or `None` (and the row is remembered); with
    /// [`DuplicateRows::Keep`] always `None` (the row is recorded, for
    /// [`DuplicateFinder::finish`]).
    #[cfg(test)]
    pub(crate) fn check(
        &mut self,
        record: &csv::StringRecord,
        line: u64,
    ) -> Result<Option<u64>, SinkError> {
        let print = row_fingerprint(&mut Vec::new(), record);
        self.check_fingerprint(record, print, line)
    }

    /// [`DuplicateFinder::check`] with the row's [`row_fingerprint`] already computed
    /// (the reader's validating thread computes it).
    ///
    /// # Errors
    /// When recorded rows beyond the budget cannot be spilled.
    pub(crate) fn check_fingerprint(
        &mut self,
        record: &csv::StringRecord,
        print: u128,
        line: u64,
    ) -> Result<Option<u64>, SinkError> {
        let returns = self.returns;
        let new_run = self.follow_group(record);
        match &mut self.check {
            Check::Off => Ok(None),
            Check::Keep(recorded) => {
                let returned = self.returns > returns;
                recorded.push(print, line, new_run, returned).map(|()| None)
            }
            Check::Reject(rows) => Ok(match rows.entry(print) {
                std::collections::hash_map::Entry::Occupied(first) => Some(*first.get()),
                std::collections::hash_map::Entry::Vacant(slot) => {
                    slot.insert(line);
                    None
                }
            }),
        }
    }

    /// Follow the runs of one person's rows, so the reader can say whether the file came
    /// grouped by person: whether `record` starts a new run.
    fn follow_group(&mut self, record: &csv::StringRecord) -> bool {
        let Some(column) = self.group_column else { return false };
        if self.returns > 0 {
            // The file is known not to be grouped, and nothing reads runs any more (the
            // check is the partitions'; the online check of a run ended at the first
            // return): no comparing, copying, hashing or set on every row of a
            // date-ordered delivery, where every row starts a run.
            if !self.seen_groups.is_empty() {
                self.seen_groups = HashSet::default();
            }
            return true;
        }
        let cell = crate::values::trim(record.get(column).unwrap_or_default());
        if self.current_group.is_some() && cell == self.current_text {
            return false;
        }
        // XXH3's 64-bit half of the 128-bit hash: in date order every row starts a run.
        let group = twox_hash::XxHash3_128::oneshot(cell.as_bytes()) as u64;
        self.current_text.clear();
        self.current_text.push_str(cell);
        if let Some(previous) = self.current_group {
            self.seen_groups.insert(previous);
        }
        if self.seen_groups.contains(&group) {
            self.returns += 1;
        }
        self.current_group = Some(group);
        true
    }

    /// Whether every person's accepted rows came together, in one run (true for a table
    /// without a person column). Rows of two persons whose ids share a 64-bit hash would
    /// count as one person's here; the later stages then find them apart and sort them
    /// out the slower way, with the same results.
    pub(crate) fn grouped_by_person(&self) -> bool {
        self.returns == 0
    }

    /// The duplicates kept (`DuplicateRows::Keep`; none otherwise), now that every row
    /// is recorded.
    ///
    /// # Errors
    /// When spilled records cannot be read back.
    pub(crate) fn finish(self) -> Result<Kept, SinkError> {
        match self.check {
            Check::Keep(recorded) => recorded.finish(),
            Check::Off | Check::Reject(_) => Ok(Kept::default()),
        }
    }
}

#[cfg(test)]
mod tests;

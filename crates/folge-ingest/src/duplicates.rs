//! Duplicate rows: a row whose every cell equals an earlier accepted row of the same file
//! is rejected, naming the earlier line. Whole rows are compared (not folge's columns),
//! so two outpatient visits on one day at two clinics, which differ in the extract's
//! other columns, are both kept.
//!
//! Rows are compared by a 128-bit fingerprint of their cells (XXH3-128 over the cells'
//! count and lengths, then their bytes; the chance that two different rows share one is
//! about n² / 2¹²⁹, below 10⁻²² for 100 million rows). What is remembered decides the
//! memory:
//! - [`DuplicateCheck::Grouped`] (default): the fingerprints of the current person's run
//!   of rows only. Registry extracts come sorted by person, so this finds every duplicate
//!   in memory that does not grow with the file. When a person's rows are not together,
//!   duplicates across the gap are not seen: the reader counts such returns and warns.
//! - [`DuplicateCheck::All`]: every fingerprint of the file, for unsorted files (measured:
//!   850 MiB peak for 10 million rows, about 85 bytes a row). Tables without a person
//!   column are always checked this way.
//! - [`DuplicateCheck::Off`].

use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasherDefault, Hasher};

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

/// How duplicate rows are found.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum DuplicateCheck {
    /// Within each run of one person's rows (memory does not grow with the file).
    #[default]
    Grouped,
    /// Across the whole file (memory grows with the rows).
    All,
    /// Not checked.
    Off,
}

/// Finds rows equal to an earlier accepted row. Hash maps here are only queried, never
/// iterated, so their order cannot reach an output.
pub(crate) struct DuplicateFinder {
    mode: DuplicateCheck,
    /// The person column, for grouping.
    group_column: Option<usize>,
    /// Hash of the current group's person cell.
    current_group: Option<u64>,
    /// The current group's person cell, to notice a new person without hashing.
    current_text: String,
    /// Fingerprint → first line, of the current group (grouped) or the file (all).
    rows: HashMap<u128, u64, BuildHasherDefault<Bits>>,
    /// Groups already left behind (their hashes, which the set uses as they are).
    seen_groups: HashSet<u64, BuildHasherDefault<Bits>>,
    /// Times a group came back after another one.
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
    /// A finder grouping on `group_column` (the person id); without one, grouped mode
    /// checks the whole file.
    pub(crate) fn new(mode: DuplicateCheck, group_column: Option<usize>) -> Self {
        let mode = match (mode, group_column) {
            (DuplicateCheck::Grouped, None) => DuplicateCheck::All,
            (mode, _) => mode,
        };
        DuplicateFinder {
            mode,
            group_column,
            current_group: None,
            current_text: String::new(),
            rows: HashMap::default(),
            seen_groups: HashSet::default(),
            returns: 0,
        }
    }

    /// For an accepted row: the line of an identical earlier accepted row, or `None` (and
    /// the row is remembered).
    #[cfg(test)]
    pub(crate) fn check(&mut self, record: &csv::StringRecord, line: u64) -> Option<u64> {
        let print = row_fingerprint(&mut Vec::new(), record);
        self.check_fingerprint(record, print, line)
    }

    /// [`DuplicateFinder::check`] with the row's [`row_fingerprint`] already computed
    /// (the reader's validating thread computes it).
    pub(crate) fn check_fingerprint(
        &mut self,
        record: &csv::StringRecord,
        print: u128,
        line: u64,
    ) -> Option<u64> {
        let new_group = self.follow_group(record);
        match self.mode {
            DuplicateCheck::Off => return None,
            DuplicateCheck::Grouped if new_group => {
                // Clearing costs the map's capacity: after one heavy user's many rows,
                // start small again rather than sweep a large table for every person.
                if self.rows.capacity() > 4096 {
                    self.rows = HashMap::default();
                } else {
                    self.rows.clear();
                }
            }
            DuplicateCheck::Grouped | DuplicateCheck::All => {}
        }
        match self.rows.entry(print) {
            std::collections::hash_map::Entry::Occupied(first) => Some(*first.get()),
            std::collections::hash_map::Entry::Vacant(slot) => {
                slot.insert(line);
                None
            }
        }
    }

    /// Follow the runs of one person's rows (in every mode, so the reader can say
    /// whether the file came grouped by person): whether `record` starts a new run.
    fn follow_group(&mut self, record: &csv::StringRecord) -> bool {
        let Some(column) = self.group_column else { return false };
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

    /// A warning when grouped checking saw a person's rows apart.
    pub(crate) fn warning(&self, name: &str) -> Option<String> {
        (self.mode == DuplicateCheck::Grouped && self.returns > 0).then(|| {
            format!(
                "{name}: the rows are not sorted by person ({} times a person's rows resumed after another person's), so duplicate rows were looked for only within each run of one person's rows; sort the file by person or set `ingest.duplicates = \"all\"`",
                self.returns
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(cells: &[&str]) -> csv::StringRecord {
        csv::StringRecord::from(cells.to_vec())
    }

    #[test]
    fn grouped_finds_duplicates_within_a_person_and_warns_when_unsorted() {
        let mut finder = DuplicateFinder::new(DuplicateCheck::Grouped, Some(0));
        assert_eq!(finder.check(&record(&["a", "gp", "1"]), 2), None);
        assert_eq!(finder.check(&record(&["a", "gp", "1", ""]), 3), Some(2), "padding");
        assert_eq!(finder.check(&record(&["a", "gp", "2"]), 4), None);
        assert_eq!(finder.check(&record(&["b", "gp", "1"]), 5), None);
        // `a` again after `b`: not seen across the gap, and counted.
        assert_eq!(finder.check(&record(&["a", "gp", "1"]), 6), None);
        assert!(finder.warning("f.csv").unwrap().contains("1 times"));
        let mut all = DuplicateFinder::new(DuplicateCheck::All, Some(0));
        for (line, cells) in [(2, ["a", "gp", "1"]), (5, ["b", "gp", "1"])] {
            assert_eq!(all.check(&record(&cells), line), None);
        }
        assert_eq!(all.check(&record(&["a", "gp", "1"]), 6), Some(2));
        assert!(all.warning("f.csv").is_none());
        let mut off = DuplicateFinder::new(DuplicateCheck::Off, Some(0));
        assert_eq!(off.check(&record(&["a"]), 2), None);
        assert_eq!(off.check(&record(&["a"]), 3), None);
        let mut buffer = Vec::new();
        let mut print = |cells: &[&str]| row_fingerprint(&mut buffer, &record(cells));
        let ab_c = print(&["ab", "c"]);
        assert_ne!(ab_c, print(&["a", "bc"]));
        assert_ne!(ab_c, print(&["abc"]));
        assert_ne!(ab_c, print(&["", "ab", "c"]));
        assert_eq!(ab_c, print(&["ab", "c"]));
        assert_eq!(ab_c, print(&["ab", "c", "", ""]), "padding");
        assert_ne!(print(&[]), print(&["", "x"]));
    }
}

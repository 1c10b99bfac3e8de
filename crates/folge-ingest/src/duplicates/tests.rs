//! The duplicate check on its own: found exactly in any order, through spills or not.

use super::*;

fn record(cells: &[&str]) -> csv::StringRecord {
    csv::StringRecord::from(cells.to_vec())
}

fn finder(rows: DuplicateRows, spill: &SpillOptions) -> DuplicateFinder {
    DuplicateFinder::new(DuplicateCheck::On, rows, Some(0), spill)
}

/// Rows of persons in date order: each day every person has a GP contact, and some
/// contacts are written twice, days and other persons' rows apart. Returns the rows and
/// the duplicates as (line, earliest line), by brute force.
fn date_ordered() -> (Vec<[String; 3]>, Vec<(u64, u64)>) {
    let mut rows = Vec::new();
    for day in 0..40 {
        for person in 0..30 {
            // A contact repeated from 17 days before: copies far apart.
            let day = if (person + day) % 7 == 0 && day >= 17 { day - 17 } else { day };
            rows.push([format!("p{person}"), "gp".to_owned(), format!("day {day}")]);
        }
    }
    let mut expected = Vec::new();
    for (i, row) in rows.iter().enumerate() {
        if let Some(first) = rows[..i].iter().position(|r| r == row) {
            expected.push((i as u64 + 2, first as u64 + 2));
        }
    }
    (rows, expected)
}

#[track_caller]
fn check_kept(rows: &[[String; 3]], spill: &SpillOptions, expected: &[(u64, u64)]) {
    let mut finder = finder(DuplicateRows::Keep, spill);
    for (i, row) in rows.iter().enumerate() {
        let cells: Vec<&str> = row.iter().map(String::as_str).collect();
        assert_eq!(finder.check(&record(&cells), i as u64 + 2).expect("recorded"), None);
    }
    assert!(!finder.grouped_by_person());
    let kept = finder.finish().expect("finished");
    assert_eq!(kept.count, expected.len() as u64);
    assert_eq!(kept.first, expected[..5]);
}

#[test]
fn kept_duplicates_are_found_far_apart_with_and_without_spilling() {
    let (rows, expected) = date_ordered();
    assert!(expected.len() > 50, "{}", expected.len());
    check_kept(&rows, &SpillOptions::default(), &expected);
    // Three records a partition: spilled over and over, and some held at the end.
    let tiny = SpillOptions { budget: 3 * PARTS, ..SpillOptions::default() };
    check_kept(&rows, &tiny, &expected);
    check_kept(&rows, &SpillOptions { budget: 1, ..SpillOptions::default() }, &expected);
}

#[test]
fn rejected_duplicates_are_found_far_apart() {
    let (rows, expected) = date_ordered();
    let mut finder = finder(DuplicateRows::Reject, &SpillOptions::default());
    let mut found = Vec::new();
    for (i, row) in rows.iter().enumerate() {
        let cells: Vec<&str> = row.iter().map(String::as_str).collect();
        let line = i as u64 + 2;
        if let Some(first) = finder.check(&record(&cells), line).expect("checked") {
            found.push((line, first));
        }
    }
    assert_eq!(found, expected);
    assert_eq!(finder.finish().expect("finished"), Kept::default());
}

#[test]
fn the_first_shown_are_the_smallest_lines() {
    let mut first = Vec::new();
    for duplicate in [(9, 1), (4, 2), (7, 1), (3, 1), (8, 2), (12, 1), (6, 3)] {
        note_first(&mut first, duplicate);
    }
    assert_eq!(first, [(3, 1), (4, 2), (6, 3), (7, 1), (8, 2)]);
}

/// A store that fails, as a full disk does.
#[derive(Debug)]
struct Full;

impl SpillStore for Full {
    fn open(&self) -> Result<Box<dyn SpillParts>, SinkError> {
        Err("no space left".into())
    }
}

#[test]
fn a_spill_that_fails_stops_the_check_and_one_never_needed_is_never_opened() {
    let full = SpillOptions { budget: 2 * PARTS, store: Arc::new(Full) };
    let mut failing = finder(DuplicateRows::Keep, &full);
    assert_eq!(failing.check(&record(&["a", "1"]), 2).expect("held"), None);
    let err = failing.check(&record(&["a", "1"]), 3).expect_err("spilled");
    assert_eq!(err.to_string(), "no space left");
    let room = SpillOptions { budget: 3 * PARTS, store: Arc::new(Full) };
    let mut roomy = finder(DuplicateRows::Keep, &room);
    for line in 2..4 {
        assert_eq!(roomy.check(&record(&["a", "1"]), line).expect("held"), None);
    }
    assert_eq!(roomy.finish().expect("finished").first, [(3, 2)]);
}

/// Appends, but cannot read back: shows whether a check read its spill.
#[derive(Debug)]
struct WriteOnly;

struct WriteOnlyParts;

impl SpillStore for WriteOnly {
    fn open(&self) -> Result<Box<dyn SpillParts>, SinkError> {
        Ok(Box::new(WriteOnlyParts))
    }
}

impl SpillParts for WriteOnlyParts {
    fn append(&mut self, _: usize, _: &[u8]) -> Result<(), SinkError> {
        Ok(())
    }
    fn read(&mut self, _: usize, _: &mut Vec<u8>) -> Result<(), SinkError> {
        Err("not read back".into())
    }
}

#[test]
fn a_file_sorted_by_person_is_checked_as_it_is_read_and_its_spill_never_read() {
    let (mut rows, _) = date_ordered();
    rows.sort_by(|a, b| a[0].cmp(&b[0]));
    let mut expected = Vec::new();
    for (i, row) in rows.iter().enumerate() {
        if let Some(first) = rows[..i].iter().position(|r| r == row) {
            expected.push((i as u64 + 2, first as u64 + 2));
        }
    }
    expected.sort_unstable();
    let write_only = SpillOptions { budget: 1, store: Arc::new(WriteOnly) };
    let mut check = finder(DuplicateRows::Keep, &write_only);
    for (i, row) in rows.iter().enumerate() {
        let cells: Vec<&str> = row.iter().map(String::as_str).collect();
        check.check(&record(&cells), i as u64 + 2).expect("recorded");
    }
    assert!(check.grouped_by_person());
    let kept = check.finish().expect("found as read");
    assert_eq!((kept.count, kept.first), (expected.len() as u64, expected[..5].to_vec()));
    // Not sorted: the partitions are read back.
    let (rows, _) = date_ordered();
    let mut check = finder(DuplicateRows::Keep, &write_only);
    for (i, row) in rows.iter().enumerate() {
        let cells: Vec<&str> = row.iter().map(String::as_str).collect();
        check.check(&record(&cells), i as u64 + 2).expect("recorded");
    }
    assert_eq!(check.finish().expect_err("read back").to_string(), "not read back");
}

#[test]
fn runs_of_persons_are_followed_and_off_checks_nothing() {
    let mut off = DuplicateFinder::new(
        DuplicateCheck::Off,
        DuplicateRows::Keep,
        Some(0),
        &SpillOptions::default(),
    );
    for (line, cells) in [(2, ["a", "1"]), (3, ["a", "1"]), (4, ["b", "1"])] {
        assert_eq!(off.check(&record(&cells), line).expect("off"), None);
    }
    assert!(off.grouped_by_person());
    assert_eq!(off.check(&record(&["a", "1"]), 5).expect("off"), None);
    assert!(!off.grouped_by_person(), "`a` came back after `b`");
    assert_eq!(off.finish().expect("off"), Kept::default());
}

#[test]
fn fingerprints_tell_cells_apart_and_ignore_padding() {
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

#[test]
fn records_sort_by_fingerprint_then_line_and_partition_by_the_top_bits() {
    let print = 0xab12_3400_0000_0000_0000_0000_0000_0077_u128;
    assert_eq!(part(print), 0xab);
    let (early, late) =
        (super::record(print, 90).unwrap(), super::record(print, 7_000_000).unwrap());
    assert!(early < late);
    assert_eq!((line_of(early), line_of(late)), (90, 7_000_000));
    assert_eq!(early >> LINE_BITS, late >> LINE_BITS, "the same row");
    // The fingerprint's bits below the partition's decide before any line does.
    let other = super::record(print ^ (1 << 40), 2).unwrap();
    assert_ne!(other >> LINE_BITS, early >> LINE_BITS);
    assert!(super::record(print, 1 << 40).is_err());
}

//! folge-ingest's integration tests: the malformed-input corpus. Each `tests/malformed/X.csv`
//! has `X.expected` holding either the exact file-level error or, for files that read, the
//! conservation line and every reject as `line L, column C: reason`. Service events are
//! read against a participant list of the first id in `ids.txt`.

use std::fmt::Write as _;
use std::path::Path;

use folge_ingest::{CsvOptions, IdPolicy, PersonIndex, read_service_events};

fn corpus() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/malformed")
}

fn outcome(name: &str, persons: &PersonIndex) -> String {
    let bytes = std::fs::read(corpus().join(name)).expect("fixture");
    let policy = IdPolicy { national: true, allow_synthetic: true };
    match read_service_events(name, &bytes[..], &CsvOptions::default(), policy, persons) {
        Err(e) => format!("{e}\n"),
        Ok(got) => {
            let s = &got.summary;
            let mut out = format!(
                "rows read {}, accepted {}, rejected {}\n",
                s.rows_read, s.rows_accepted, s.rows_rejected
            );
            for r in &got.rejects {
                let _ = match &r.column {
                    Some(c) => writeln!(out, "line {}, column {c}: {}", r.line, r.reason),
                    None => writeln!(out, "line {}: {}", r.line, r.reason),
                };
            }
            out
        }
    }
}

#[test]
fn every_malformed_file_gives_its_exact_message() {
    let ids = std::fs::read_to_string(corpus().join("ids.txt")).expect("ids");
    let persons: PersonIndex = ids.lines().take(1).map(str::to_owned).collect();
    let mut checked = 0;
    let mut entries: Vec<_> =
        std::fs::read_dir(corpus()).expect("corpus").flatten().map(|e| e.path()).collect();
    entries.sort();
    for path in entries.iter().filter(|p| p.extension().is_some_and(|e| e == "csv")) {
        let name = path.file_name().and_then(|n| n.to_str()).expect("name");
        let expected =
            std::fs::read_to_string(path.with_extension("expected")).expect("expected file");
        assert_eq!(outcome(name, &persons), expected, "{name}");
        checked += 1;
    }
    assert!(checked >= 4, "only {checked} fixtures");
}

#[test]
fn no_reject_reason_carries_an_id() {
    let ids = std::fs::read_to_string(corpus().join("ids.txt")).expect("ids");
    let persons: PersonIndex = ids.lines().take(1).map(str::to_owned).collect();
    let text = outcome("rows.csv", &persons);
    for id in ids.lines() {
        assert!(!text.contains(id));
    }
}

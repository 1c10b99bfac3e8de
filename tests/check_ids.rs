//! `folge check-ids` end to end: per-line verdicts on stdout (text and JSON), never an id,
//! exit 0 only when every id is valid.

#![expect(clippy::unwrap_used, reason = "a test that cannot unwrap should fail loudly")]

use std::io::Write;
use std::process::{Command, Output, Stdio};

fn check_ids(args: &[&str], stdin: &str) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_folge"))
        .arg("check-ids")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(stdin.as_bytes()).unwrap();
    child.wait_with_output().unwrap()
}

fn participants() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("data-sample/participants.csv")
}

#[test]
fn the_sample_inclusion_list_is_valid_only_with_synthetic_ids_allowed() {
    let path = participants();
    let path = path.to_str().unwrap();
    let out = check_ids(&[path, "--column", "person_id", "--allow-synthetic"], "");
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert_eq!(stdout.lines().count(), 300);
    assert!(stdout.lines().all(|l| l.ends_with("\tsynthetic\tvalid")), "{stdout}");
    assert!(stdout.starts_with("line 2\t"), "the header is line 1");
    let out = check_ids(&[path, "--column", "person_id", "--json"], "");
    assert_eq!(out.status.code(), Some(1));
    let first: serde_json::Value =
        serde_json::from_str(String::from_utf8(out.stdout).unwrap().lines().next().unwrap())
            .unwrap();
    assert_eq!(first["kind"], "synthetic");
    assert_eq!(first["valid"], false);
    let text = std::fs::read_to_string(participants()).unwrap();
    let ids: Vec<&str> = text.lines().skip(1).filter_map(|l| l.split(';').next()).collect();
    let out = check_ids(&[path, "--column", "person_id"], "");
    let all =
        format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(ids.iter().all(|id| !all.contains(id.trim_start_matches('\u{feff}'))));
}

#[test]
fn ids_on_stdin_get_a_reason_each() {
    // A synthetic fnr from the sample, the same with a wrong last digit, a short one.
    let text = std::fs::read_to_string(participants()).unwrap();
    let good = text
        .lines()
        .nth(1)
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .trim_start_matches('\u{feff}')
        .to_owned();
    let last = good.chars().last().unwrap().to_digit(10).unwrap();
    let bad = format!("{}{}", &good[..10], (last + 1) % 10);
    let out = check_ids(&["--allow-synthetic", "--json"], &format!("{good}\n{bad}\n12345\n\n"));
    assert_eq!(out.status.code(), Some(1));
    let lines: Vec<serde_json::Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 4);
    assert_eq!((&lines[0]["line"], &lines[0]["valid"]), (&1.into(), &true.into()));
    assert_eq!(lines[1]["reason"], "second check digit (K2) is wrong");
    assert_eq!(lines[2]["reason"], "has 5 characters, expected 11 digits");
    assert_eq!(lines[3]["reason"], "is empty");
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(stderr.contains("4 ids checked: 1 valid, 3 invalid"), "{stderr}");
    assert!(!stderr.contains(&good));
    let out = check_ids(&["--column", "fnr"], "");
    assert_eq!(out.status.code(), Some(2), "--column needs a file");
}

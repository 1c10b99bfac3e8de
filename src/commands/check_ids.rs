//! `folge check-ids`: validate the national ids of a file's column (or one per line on
//! stdin) before a run, printing per line its number, the kind of id, whether it is valid
//! and why not — never the id itself.

use std::io::{BufRead, Write};
use std::path::Path;

use anyhow::{Context, Result};
use folge_schema::NationalId;

use super::UsageError;

/// One checked line.
struct Checked {
    line: u64,
    kind: Option<&'static str>,
    valid: bool,
    reason: Option<String>,
}

fn check(line: u64, text: &str, allow_synthetic: bool) -> Checked {
    if text.is_empty() {
        return Checked { line, kind: None, valid: false, reason: Some("is empty".into()) };
    }
    match NationalId::parse(text) {
        Ok(id) if id.is_synthetic() && !allow_synthetic => Checked {
            line,
            kind: Some(id.kind.name()),
            valid: false,
            reason: Some(
                "is a synthetic test number, an anomaly in production data (allow it with --allow-synthetic)"
                    .into(),
            ),
        },
        Ok(id) => Checked { line, kind: Some(id.kind.name()), valid: true, reason: None },
        Err(e) => Checked { line, kind: None, valid: false, reason: Some(e.to_string()) },
    }
}

/// Check every id; `Ok(false)` when any is invalid (exit 1).
pub fn run(
    file: Option<&Path>,
    column: Option<&str>,
    allow_synthetic: bool,
    json: bool,
) -> Result<bool> {
    let mut checked = Vec::new();
    match (file, column) {
        (Some(path), Some(column)) => {
            let name = path.display().to_string();
            let input = std::fs::File::open(path)
                .map_err(|e| UsageError(format!("cannot open `{name}`: {e}")))?;
            let options = folge_ingest::CsvOptions::default();
            // A missing column is a mistake in the command, not in a run.
            folge_ingest::for_each_cell(&name, input, &options, column, |line, cell| {
                checked.push(check(line, cell, allow_synthetic));
            })
            .map_err(|e| UsageError(e.to_string()))?;
        }
        (None, Some(_)) => {
            return Err(UsageError(
                "`--column` needs a FILE to read (stdin takes one id per line)".into(),
            )
            .into());
        }
        (file, None) => {
            let reader: Box<dyn BufRead> = match file {
                Some(path) => {
                    Box::new(std::io::BufReader::new(std::fs::File::open(path).map_err(|e| {
                        UsageError(format!("cannot open `{}`: {e}", path.display()))
                    })?))
                }
                None => Box::new(std::io::stdin().lock()),
            };
            for (i, line) in reader.lines().enumerate() {
                let line = line.context("cannot read the ids")?;
                checked.push(check(i as u64 + 1, line.trim(), allow_synthetic));
            }
        }
    }
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    for c in &checked {
        if json {
            let value = serde_json::json!({
                "line": c.line, "kind": c.kind, "valid": c.valid, "reason": c.reason,
            });
            writeln!(out, "{value}")?;
        } else {
            let status = if c.valid { "valid" } else { "invalid" };
            let reason = c.reason.as_deref().map(|r| format!(": {r}")).unwrap_or_default();
            writeln!(out, "line {}\t{}\t{status}{reason}", c.line, c.kind.unwrap_or("-"))?;
        }
    }
    let invalid = checked.iter().filter(|c| !c.valid).count();
    eprintln!(
        "{} ids checked: {} valid, {invalid} invalid",
        checked.len(),
        checked.len() - invalid
    );
    Ok(invalid == 0)
}

//! `folge inspect`: a Parquet file's schema, row count, folge metadata and first rows, as
//! plain text on stdout. Rows of an identifiable (zone-1) table — one in a `01_ingest`
//! folder, or with a column only zone-1 tables have — are shown only when asked for with
//! `--identifiable`, after a warning on stderr.

use std::fmt::Write as _;
use std::path::Path;

use anyhow::Result;
use arrow_array::{
    Array, BooleanArray, Date32Array, Float64Array, Int32Array, Int64Array, RecordBatch,
    StringArray,
};
use folge_schema::column::date32_to_date;

use super::UsageError;

fn cell(array: &dyn Array, row: usize) -> String {
    if array.is_null(row) {
        return "null".to_owned();
    }
    let any = array.as_any();
    if let Some(a) = any.downcast_ref::<StringArray>() {
        a.value(row).to_owned()
    } else if let Some(a) = any.downcast_ref::<Int32Array>() {
        a.value(row).to_string()
    } else if let Some(a) = any.downcast_ref::<Int64Array>() {
        a.value(row).to_string()
    } else if let Some(a) = any.downcast_ref::<Float64Array>() {
        a.value(row).to_string()
    } else if let Some(a) = any.downcast_ref::<BooleanArray>() {
        a.value(row).to_string()
    } else if let Some(a) = any.downcast_ref::<Date32Array>() {
        date32_to_date(a.value(row)).map_or_else(|| a.value(row).to_string(), |d| d.to_string())
    } else {
        format!("<{}>", array.data_type())
    }
}

fn rows_table(batches: &[RecordBatch], limit: usize) -> String {
    let Some(first) = batches.first() else {
        return String::new();
    };
    let names: Vec<String> = first.schema().fields().iter().map(|f| f.name().clone()).collect();
    let mut grid = vec![names];
    'outer: for batch in batches {
        for row in 0..batch.num_rows() {
            if grid.len() > limit {
                break 'outer;
            }
            grid.push(batch.columns().iter().map(|c| cell(c.as_ref(), row)).collect());
        }
    }
    let widths: Vec<usize> = (0..grid[0].len())
        .map(|c| grid.iter().map(|r| r[c].chars().count()).max().unwrap_or(0))
        .collect();
    let mut out = String::new();
    for (i, row) in grid.iter().enumerate() {
        let line: Vec<String> = row.iter().zip(&widths).map(|(v, w)| format!("{v:<w$}")).collect();
        let _ = writeln!(out, "{}", line.join(" | ").trim_end());
        if i == 0 {
            let _ = writeln!(
                out,
                "{}",
                widths.iter().map(|w| "-".repeat(*w)).collect::<Vec<_>>().join("-+-")
            );
        }
    }
    out
}

/// Columns only zone-1 tables have: ids, names, calendar dates, and the rejects' raw rows
/// (the same columns `Deidentified::from_batches` refuses, and `raw`).
fn identifying_column(name: &str) -> bool {
    matches!(name, "person_id" | "name" | "raw") || name.ends_with("_date")
}

/// Why `path` holds identifiable data, if it does: it lies in a `01_ingest` folder (as
/// written or once links are followed), or it has a zone-1 column.
fn identifiable_because(path: &Path, schema: &arrow_schema::Schema) -> Option<String> {
    let in_ingest = |p: &Path| p.components().any(|c| c.as_os_str() == "01_ingest");
    if in_ingest(path) || path.canonicalize().is_ok_and(|p| in_ingest(&p)) {
        return Some("it lies in a `01_ingest` folder".to_owned());
    }
    schema
        .fields()
        .iter()
        .find(|f| identifying_column(f.name()))
        .map(|f| format!("it has the column `{}`", f.name()))
}

/// Print the file; an identifiable table's rows only with `identifiable`, and then after a
/// warning on stderr.
pub fn inspect(path: &Path, rows: usize, identifiable: bool) -> Result<()> {
    let contents = folge_pipeline::parquet_io::read_parquet(path)?;
    if rows > 0
        && contents.num_rows > 0
        && let Some(because) = identifiable_because(path, &contents.schema)
    {
        if !identifiable {
            return Err(UsageError(format!(
                "`{}` is an identifiable table (zone 1: {because}); its rows hold national ids and names, so `folge inspect` shows them only with `--identifiable` (`--rows 0` shows the schema and metadata alone)",
                path.display()
            ))
            .into());
        }
        eprintln!(
            "folge: warning: `{}` is an identifiable table (zone 1: {because}); the rows below show national ids and names: keep them on this screen, out of logs, tickets and e-mail",
            path.display()
        );
    }
    let mut out = String::new();
    let _ = writeln!(out, "file: {}\nrows: {}\n\nschema:", path.display(), contents.num_rows);
    for field in contents.schema.fields() {
        let _ = writeln!(
            out,
            "  {:<20} {}{}",
            field.name(),
            field.data_type(),
            if field.is_nullable() { "" } else { " (required)" }
        );
    }
    let _ = writeln!(out, "\nmetadata:");
    for (k, v) in &contents.metadata {
        if k.starts_with("folge.") {
            let _ = writeln!(out, "  {k} = {v}");
        }
    }
    let _ = writeln!(out, "\nfirst {} rows:", rows.min(contents.num_rows));
    out.push_str(&rows_table(&contents.batches, rows));
    #[expect(clippy::print_stdout, reason = "inspect prints data to stdout")]
    {
        print!("{out}");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_schema::{DataType, Field, Schema};

    #[track_caller]
    fn check(path: &str, columns: &[&str], expected: Option<&str>) {
        let schema = Schema::new(
            columns.iter().map(|c| Field::new(*c, DataType::Utf8, true)).collect::<Vec<_>>(),
        );
        assert_eq!(identifiable_because(Path::new(path), &schema).as_deref(), expected);
    }

    #[test]
    fn zone_one_tables_are_known_by_folder_or_column() {
        check(
            "runs/x/01_ingest/codings.parquet",
            &["coder", "text"],
            Some("it lies in a `01_ingest` folder"),
        );
        check("copy.parquet", &["person_id", "service"], Some("it has the column `person_id`"));
        check(
            "copy.parquet",
            &["pid", "inclusion_date"],
            Some("it has the column `inclusion_date`"),
        );
        check("rejects.parquet", &["source", "raw"], Some("it has the column `raw`"));
        check("runs/x/02_deid/participants.parquet", &["pid", "age_band", "exit_day"], None);
    }
}

//! `folge inspect`: a Parquet file's schema, row count, folge metadata and first rows, as
//! plain text on stdout.

use std::fmt::Write as _;
use std::path::Path;

use anyhow::Result;
use arrow_array::{
    Array, BooleanArray, Date32Array, Float64Array, Int32Array, Int64Array, RecordBatch,
    StringArray,
};
use folge_schema::column::date32_to_date;

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

pub fn inspect(path: &Path, rows: usize) -> Result<()> {
    let contents = folge_schema::parquet_io::read_parquet(path)?;
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

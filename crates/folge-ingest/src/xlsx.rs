//! Spreadsheets (`.xlsx`, `.xls`, `.ods` via calamine): one sheet — by name or 1-based
//! index, the first when none is given — is turned into CSV text and read by the same
//! readers as a CSV file, with rows and cells reported as the spreadsheet shows them
//! (`sheet Koding, row 5, cell C5`). Excel date serials become ISO dates; whole numbers
//! lose the `.0` a float cell would print.

use std::io::{Read, Seek};

use calamine::{Data, DataType, Reader};
use folge_schema::shown;

use crate::IngestError;

/// Where the sheet's used range starts, so line numbers and cell references match what
/// the spreadsheet shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SheetOrigin {
    /// Sheet name.
    pub sheet: String,
    /// 0-based row of the header.
    pub row: u32,
    /// 0-based column of the first header cell.
    pub column: u32,
}

impl SheetOrigin {
    /// `C5`-style reference of a 0-based column index within the range and a 1-based row.
    pub fn cell(&self, column_index: usize, row: u64) -> String {
        let mut n = self.column as usize + column_index + 1;
        let mut letters = Vec::new();
        while n > 0 {
            let rem = (n - 1) % 26;
            letters.push(char::from(b'A' + rem as u8));
            n = (n - 1) / 26;
        }
        letters.iter().rev().collect::<String>() + &row.to_string()
    }
}

fn cell_text(cell: &Data) -> String {
    match cell {
        Data::Empty => String::new(),
        Data::String(s) | Data::DateTimeIso(s) | Data::DurationIso(s) => s.clone(),
        Data::Int(i) => i.to_string(),
        Data::Float(f) if f.fract() == 0.0 && f.abs() < 1e15 => format!("{f:.0}"),
        Data::Float(f) => f.to_string(),
        Data::Bool(b) => b.to_string(),
        Data::DateTime(d) => {
            // Date serials (no time of day) print as dates; others keep the time.
            match cell.as_datetime() {
                Some(dt) if dt.time() == chrono::NaiveTime::MIN => dt.date().to_string(),
                Some(dt) => dt.to_string(),
                None => d.as_f64().to_string(),
            }
        }
        Data::Error(e) => format!("#{e:?}"),
    }
}

/// Read one sheet as CSV bytes (comma-separated, UTF-8) and where it starts.
pub fn sheet_to_csv<R: Read + Seek + Clone>(
    name: &str,
    input: R,
    sheet: Option<&str>,
) -> Result<(Vec<u8>, SheetOrigin), IngestError> {
    let fail = |message: String| IngestError::File { source_name: name.to_owned(), message };
    let mut book = calamine::open_workbook_auto_from_rs(input)
        .map_err(|e| fail(format!("is not a spreadsheet calamine can read: {e}")))?;
    let names = book.sheet_names();
    let chosen = match sheet {
        None => names.first().cloned(),
        Some(s) => names.iter().find(|n| n.as_str() == s).cloned().or_else(|| {
            s.parse::<usize>().ok().filter(|i| *i >= 1).and_then(|i| names.get(i - 1).cloned())
        }),
    }
    .ok_or_else(|| {
        fail(format!(
            "has no sheet `{}`; sheets: {}",
            shown(sheet.unwrap_or("1")),
            crate::csv_source::listed(&names)
        ))
    })?;
    let range = book
        .worksheet_range(&chosen)
        .map_err(|e| fail(format!("sheet `{}`: {}", shown(&chosen), shown(&e.to_string()))))?;
    let (row, column) = range.start().unwrap_or((0, 0));
    let mut writer = csv::Writer::from_writer(Vec::new());
    for cells in range.rows() {
        writer.write_record(cells.iter().map(cell_text)).map_err(|e| fail(e.to_string()))?;
    }
    let bytes = writer.into_inner().map_err(|e| fail(e.to_string()))?;
    Ok((bytes, SheetOrigin { sheet: chosen, row, column }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cell_references() {
        let origin = SheetOrigin { sheet: "Ark1".into(), row: 0, column: 0 };
        assert_eq!(origin.cell(0, 1), "A1");
        assert_eq!(origin.cell(25, 7), "Z7");
        assert_eq!(origin.cell(26, 7), "AA7");
        let shifted = SheetOrigin { column: 2, ..origin };
        assert_eq!(shifted.cell(0, 3), "C3");
    }
}

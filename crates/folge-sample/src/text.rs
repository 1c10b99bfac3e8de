//! Small writers for the sample's text files: CSV in the dialects real exports use.

/// A CSV dialect.
#[derive(Debug, Clone, Copy)]
pub struct Dialect {
    /// Field separator.
    pub delimiter: char,
    /// Quote every field (Nettskjema does).
    pub quote_all: bool,
    /// Start with a UTF-8 byte-order mark (Excel's "CSV UTF-8").
    pub bom: bool,
    /// Line ending.
    pub crlf: bool,
}

/// Comma, minimal quoting, LF: what most tools write.
pub const PLAIN: Dialect = Dialect { delimiter: ',', quote_all: false, bom: false, crlf: false };

/// Build a CSV file from rows of fields.
pub fn csv(dialect: Dialect, rows: &[Vec<String>]) -> Vec<u8> {
    let mut out = String::new();
    if dialect.bom {
        out.push('\u{feff}');
    }
    for row in rows {
        for (i, field) in row.iter().enumerate() {
            if i > 0 {
                out.push(dialect.delimiter);
            }
            let needs = dialect.quote_all
                || field.contains(dialect.delimiter)
                || field.contains('"')
                || field.contains('\n')
                || field.contains('\r');
            if needs {
                out.push('"');
                out.push_str(&field.replace('"', "\"\""));
                out.push('"');
            } else {
                out.push_str(field);
            }
        }
        out.push_str(if dialect.crlf { "\r\n" } else { "\n" });
    }
    out.into_bytes()
}

/// Norwegian date `dd.mm.yyyy`.
pub fn date_nb(date: chrono::NaiveDate) -> String {
    date.format("%d.%m.%Y").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting_and_bom() {
        let d = Dialect { delimiter: ';', quote_all: false, bom: true, crlf: true };
        let bytes = csv(d, &[vec!["a;b".into(), "c\"d".into(), "e".into()]]);
        assert_eq!(String::from_utf8(bytes).unwrap(), "\u{feff}\"a;b\";\"c\"\"d\";e\r\n");
    }
}

//! Parsing of single cell values as Norwegian spreadsheets and registries write them:
//! dates (`YYYY-MM-DD`, `DD.MM.YYYY`, `DD.MM.YY`), numbers with a decimal comma and space
//! thousands separators, and yes/no flags. Errors say what was expected.

use chrono::NaiveDate;

/// Parse a date. Two-digit years take the century from `pivot`: `yy < pivot` → 20yy,
/// otherwise 19yy.
pub fn parse_date(text: &str, pivot: u32) -> Result<NaiveDate, String> {
    let t = text.trim();
    let bad = || format!("`{t}` is not a date (expected dd.mm.yyyy or yyyy-mm-dd)");
    if let Some((y, rest)) = t.split_once('-') {
        let (m, d) = rest.split_once('-').ok_or_else(bad)?;
        if y.len() != 4 {
            return Err(bad());
        }
        return ymd(y, m, d).ok_or_else(bad);
    }
    let mut parts = t.split('.');
    let (Some(d), Some(m), Some(y), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(bad());
    };
    match y.len() {
        4 => ymd(y, m, d).ok_or_else(bad),
        2 => {
            let yy: u32 = y.parse().map_err(|_| bad())?;
            let century = if yy < pivot { 2000 } else { 1900 };
            ymd(&(century + yy).to_string(), m, d).ok_or_else(bad)
        }
        _ => Err(bad()),
    }
}

fn ymd(y: &str, m: &str, d: &str) -> Option<NaiveDate> {
    let all_digits =
        |s: &str| !s.is_empty() && s.len() <= 4 && s.bytes().all(|b| b.is_ascii_digit());
    if !(all_digits(y) && all_digits(m) && all_digits(d)) {
        return None;
    }
    NaiveDate::from_ymd_opt(y.parse().ok()?, m.parse().ok()?, d.parse().ok()?)
}

/// Parse a number: `2.5`, `2,5` (decimal comma), `1 234,5` (space or no-break space as
/// thousands separator), `-3`.
pub fn parse_number(text: &str) -> Result<f64, String> {
    let t = text.trim();
    let cleaned: String = t.chars().filter(|c| !matches!(c, ' ' | '\u{a0}' | '\u{202f}')).collect();
    let normal = if cleaned.contains(',') && !cleaned.contains('.') {
        cleaned.replacen(',', ".", 1)
    } else {
        cleaned
    };
    match normal.parse::<f64>() {
        Ok(v) if v.is_finite() && !normal.contains(['e', 'E', 'i', 'n', 'N']) => Ok(v),
        _ => Err(format!("`{t}` is not a number (expected e.g. 2,5 or 2.5)")),
    }
}

/// Parse a yes/no flag: `1`/`0`, `true`/`false`, `ja`/`nei`, `j`/`n`, `yes`/`no`.
pub fn parse_bool(text: &str) -> Result<bool, String> {
    const YES: [&str; 7] = ["1", "true", "ja", "j", "yes", "y", "sann"];
    const NO: [&str; 6] = ["0", "false", "nei", "n", "no", "usann"];
    let t = text.trim();
    // Compared without allocating: this runs once per row of a registry extract.
    if YES.iter().any(|y| y.eq_ignore_ascii_case(t)) {
        Ok(true)
    } else if NO.iter().any(|n| n.eq_ignore_ascii_case(t)) {
        Ok(false)
    } else {
        let other = t.to_lowercase();
        Err(format!("`{other}` is not a yes/no value (expected 1/0, ja/nei or true/false)"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[track_caller]
    fn date(text: &str, expected: &str) {
        assert_eq!(parse_date(text, 30).map(|d| d.to_string()), Ok(expected.to_owned()));
    }

    #[test]
    fn dates_in_every_accepted_shape() {
        date("2020-03-01", "2020-03-01");
        date("01.03.2020", "2020-03-01");
        date(" 1.3.2020 ", "2020-03-01");
        date("01.03.20", "2020-03-01");
        date("01.03.45", "1945-03-01");
        assert_eq!(
            parse_date("31.02.2020", 30),
            Err("`31.02.2020` is not a date (expected dd.mm.yyyy or yyyy-mm-dd)".to_owned())
        );
        for bad in ["", "2020/03/01", "01.03", "20-03-01", "01.03.2020.1", "+1.3.2020"] {
            assert!(parse_date(bad, 30).is_err(), "{bad}");
        }
    }

    #[test]
    fn numbers_with_decimal_comma_and_spaces() {
        assert_eq!(parse_number("2,5"), Ok(2.5));
        assert_eq!(parse_number("1 234,5"), Ok(1234.5));
        assert_eq!(parse_number("1\u{a0}234"), Ok(1234.0));
        assert_eq!(parse_number("-3"), Ok(-3.0));
        assert_eq!(parse_number("2.5"), Ok(2.5));
        for bad in ["", "abc", "NaN", "inf", "1e3", "2,5,1"] {
            assert!(parse_number(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn flags() {
        assert_eq!(parse_bool("Ja"), Ok(true));
        assert_eq!(parse_bool("0"), Ok(false));
        assert!(parse_bool("kanskje").is_err());
    }
}

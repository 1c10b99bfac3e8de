//! Parsing of single cell values as Norwegian spreadsheets and registries write them:
//! dates (`YYYY-MM-DD`, `DD.MM.YYYY`, `DD.MM.YY`), numbers with a decimal comma and space
//! thousands separators, and yes/no flags. Errors say what was expected.

use chrono::NaiveDate;
use folge_schema::shown_cell;

/// The order of a date's parts when none of them has four digits (`03.04.05`); written
/// `dmy`, `ymd` or `mdy` in a codebook.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Deserialize)]
pub enum DateOrder {
    /// `dd.mm.yy`, as Norwegian offices write it.
    #[default]
    #[serde(rename = "dmy")]
    DayMonthYear,
    /// `yy.mm.dd`.
    #[serde(rename = "ymd")]
    YearMonthDay,
    /// `mm.dd.yy` (US software).
    #[serde(rename = "mdy")]
    MonthDayYear,
}

impl DateOrder {
    /// The pattern, for messages.
    pub fn pattern(self) -> &'static str {
        match self {
            DateOrder::DayMonthYear => "dd.mm.yy",
            DateOrder::YearMonthDay => "yy.mm.dd",
            DateOrder::MonthDayYear => "mm.dd.yy",
        }
    }

    /// (day, month, year) positions of the three parts.
    fn positions(self) -> (usize, usize, usize) {
        match self {
            DateOrder::DayMonthYear => (0, 1, 2),
            DateOrder::YearMonthDay => (2, 1, 0),
            DateOrder::MonthDayYear => (1, 0, 2),
        }
    }
}

/// Parse a date. Two-digit years take the century from `pivot`: `yy < pivot` → 20yy,
/// otherwise 19yy. Dates are read day first (see [`parse_date_ordered`]).
pub fn parse_date(text: &str, pivot: u32) -> Result<NaiveDate, String> {
    parse_date_ordered(text, pivot, DateOrder::DayMonthYear).map(|(date, _)| date)
}

/// The two everyday layouts, `yyyy-mm-dd` and `dd.mm.yyyy`, read digit by digit without
/// allocating (most of a registry extract's cells are dates). `None` for anything else,
/// including impossible dates, which the general reader then explains.
pub(crate) fn fast_date(text: &str) -> Option<NaiveDate> {
    let b = text.as_bytes();
    if b.len() != 10 {
        return None;
    }
    let num = |range: std::ops::Range<usize>| -> Option<u32> {
        b[range]
            .iter()
            .try_fold(0u32, |n, &c| c.is_ascii_digit().then(|| n * 10 + u32::from(c - b'0')))
    };
    let (y, m, d) = match (b[2], b[4], b[5], b[7]) {
        (_, b'-', _, b'-') => (num(0..4)?, num(5..7)?, num(8..10)?),
        (b'.', _, b'.', _) => (num(6..10)?, num(3..5)?, num(0..2)?),
        _ => return None,
    };
    NaiveDate::from_ymd_opt(y as i32, m, d)
}

/// Parse a date: `yyyy-mm-dd`, or three parts separated by `.` or `/` — `dd.mm.yyyy`
/// (also `yyyy.mm.dd`, where the four digits show the year) or, when no part has four
/// digits, in `order`. The flag is `true` when the parts are all one or two digits and
/// another order would read them as a different valid date, so the reader can warn that
/// the configured order was followed.
pub fn parse_date_ordered(
    text: &str,
    pivot: u32,
    order: DateOrder,
) -> Result<(NaiveDate, bool), String> {
    let t = text.trim();
    let bad = || format!("{} is not a date (expected dd.mm.yyyy or yyyy-mm-dd)", shown_cell(t));
    if let Some((y, rest)) = t.split_once('-') {
        let (m, d) = rest.split_once('-').ok_or_else(bad)?;
        if y.len() != 4 {
            return Err(bad());
        }
        return ymd(y, m, d).map(|date| (date, false)).ok_or_else(bad);
    }
    let separator = if t.contains('/') { '/' } else { '.' };
    let mut split = t.split(separator);
    let (Some(first), Some(second), Some(third), None) =
        (split.next(), split.next(), split.next(), split.next())
    else {
        return Err(bad());
    };
    let parts = [first, second, third];
    let full_year = |y: &str| -> Option<String> {
        match y.len() {
            4 => Some(y.to_owned()),
            1 | 2 => {
                let yy: u32 = y.parse().ok()?;
                Some((if yy < pivot { 2000 + yy } else { 1900 + yy }).to_string())
            }
            _ => None,
        }
    };
    let read = |order: DateOrder| {
        let (day, month, year) = order.positions();
        ymd(&full_year(parts[year])?, parts[month], parts[day])
    };
    match parts.iter().position(|p| p.len() == 4) {
        Some(2) => read(DateOrder::DayMonthYear).map(|date| (date, false)).ok_or_else(bad),
        Some(0) => read(DateOrder::YearMonthDay).map(|date| (date, false)).ok_or_else(bad),
        None if parts.iter().all(|p| (1..=2).contains(&p.len())) => {
            let date = read(order).ok_or_else(bad)?;
            let ambiguous =
                [DateOrder::DayMonthYear, DateOrder::YearMonthDay, DateOrder::MonthDayYear]
                    .into_iter()
                    .filter(|o| *o != order)
                    .any(|o| read(o).is_some_and(|other| other != date));
            Ok((date, ambiguous))
        }
        // A four-digit middle part, or a part of three or more than four digits.
        _ => Err(bad()),
    }
}

/// A date answer as survey tools export it: a date, or a date-time whose time is dropped
/// (`2020-03-01 12:30`, `2020-03-01T12:30`); parts separated by `-`, `.` or `/`. A
/// four-digit first part is the year (`yyyy-mm-dd`); a four-digit last part is the year
/// after day and month in `order` (REDCap's `date_mdy` exports `03-31-2020`); otherwise
/// the parts are read in `order` with the two-digit-year pivot 30.
pub fn parse_answer_date(text: &str, order: DateOrder) -> Result<NaiveDate, String> {
    let t = text.trim();
    let bad = || {
        format!(
            "{} is not a date (expected yyyy-mm-dd, or day, month and year as {})",
            shown_cell(t),
            order.pattern()
        )
    };
    let date = t.split([' ', 'T']).next().unwrap_or_default();
    let parts: Vec<&str> = date.split(['-', '.', '/']).collect();
    let [a, b, c] = parts.as_slice() else { return Err(bad()) };
    if a.len() == 4 {
        return ymd(a, b, c).ok_or_else(bad);
    }
    if c.len() == 4 {
        return match order {
            DateOrder::MonthDayYear => ymd(c, a, b),
            DateOrder::DayMonthYear | DateOrder::YearMonthDay => ymd(c, b, a),
        }
        .ok_or_else(bad);
    }
    let dotted = format!("{a}.{b}.{c}");
    parse_date_ordered(&dotted, 30, order).map(|(d, _)| d).map_err(|_| bad())
}

fn ymd(y: &str, m: &str, d: &str) -> Option<NaiveDate> {
    let all_digits =
        |s: &str| !s.is_empty() && s.len() <= 4 && s.bytes().all(|b| b.is_ascii_digit());
    if !(all_digits(y) && all_digits(m) && all_digits(d)) {
        return None;
    }
    NaiveDate::from_ymd_opt(y.parse().ok()?, m.parse().ok()?, d.parse().ok()?)
}

/// A time of day as minutes after midnight: `HH:MM`, `HH:MM:SS` (seconds dropped),
/// `HH.MM` or `HHMM`, hours 0–23 (one digit allowed before a separator).
pub fn parse_time(text: &str) -> Result<i32, String> {
    let t = text.trim();
    let bad = || format!("{} is not a time of day (expected HH:MM)", shown_cell(t));
    let (h, rest) = match t.find([':', '.']) {
        Some(i) => (&t[..i], &t[i + 1..]),
        None if t.len() == 4 => (&t[..2], &t[2..]),
        None => return Err(bad()),
    };
    let m = match rest.split_once(':') {
        Some((m, sec)) if sec.len() == 2 && sec.bytes().all(|b| b.is_ascii_digit()) => m,
        Some(_) => return Err(bad()),
        None => rest,
    };
    let digits = |s: &str, max: i32| -> Option<i32> {
        (!s.is_empty() && s.len() <= 2 && s.bytes().all(|b| b.is_ascii_digit()))
            .then(|| s.parse::<i32>().ok())
            .flatten()
            .filter(|v| *v <= max)
    };
    match (digits(h, 23), (m.len() == 2).then(|| digits(m, 59)).flatten()) {
        (Some(h), Some(m)) => Ok(h * 60 + m),
        _ => Err(bad()),
    }
}

/// Parse a number: `2.5`, `2,5` (decimal comma), `1 234,5` (space or no-break space as
/// thousands separator), `-3`.
pub fn parse_number(text: &str) -> Result<f64, String> {
    // Plain digits with at most a decimal point (most cells of an extract) need no
    // cleaning: parsed as they are, with the same result.
    let t = trim(text);
    if !t.is_empty()
        && t.bytes().all(|b| b.is_ascii_digit() || b == b'.')
        && let Ok(v) = t.parse::<f64>()
        && v.is_finite()
    {
        return Ok(v);
    }
    parse_number_cleaned(text)
}

/// [`parse_number`] for any text: spaces inside taken out, a decimal comma read as a point.
fn parse_number_cleaned(text: &str) -> Result<f64, String> {
    let t = text.trim();
    let cleaned: String = t.chars().filter(|c| !matches!(c, ' ' | '\u{a0}' | '\u{202f}')).collect();
    let normal = if cleaned.contains(',') && !cleaned.contains('.') {
        cleaned.replacen(',', ".", 1)
    } else {
        cleaned
    };
    match normal.parse::<f64>() {
        Ok(v) if v.is_finite() && !normal.contains(['e', 'E', 'i', 'n', 'N']) => Ok(v),
        _ => Err(format!("{} is not a number (expected e.g. 2,5 or 2.5)", shown_cell(t))),
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
        Err(format!(
            "{} is not a yes/no value (expected 1/0, ja/nei or true/false)",
            shown_cell(&other)
        ))
    }
}

/// `str::trim`, skipped when the cell begins and ends with a visible ASCII character
/// (as nearly every registry cell does): whitespace that is not ASCII begins and ends
/// with bytes above 0x7f, so such a cell has nothing to trim.
pub(crate) fn trim(cell: &str) -> &str {
    let visible = |b: Option<&u8>| b.is_some_and(u8::is_ascii_graphic);
    let bytes = cell.as_bytes();
    if bytes.is_empty() || (visible(bytes.first()) && visible(bytes.last())) {
        cell
    } else {
        cell.trim()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_numbers_parse_as_the_general_reading_does() {
        for text in [
            "1",
            " 2 ",
            "0.5",
            "12.",
            ".5",
            "007",
            "1.2.3",
            ".",
            "2,5",
            "1 000",
            "1\u{a0}000,5",
            "-1",
            "1e3",
            "inf",
            "NaN",
            "",
            " ",
            "9".repeat(400).as_str(),
            "3.14159265358979",
        ] {
            assert_eq!(parse_number(text), parse_number_cleaned(text), "{text:?}");
        }
        assert_eq!(parse_number("2,5"), Ok(2.5));
        assert_eq!(parse_number("12"), Ok(12.0));
    }

    #[track_caller]
    fn date(text: &str, expected: &str) {
        assert_eq!(parse_date(text, 30).map(|d| d.to_string()), Ok(expected.to_owned()));
    }

    #[test]
    fn answer_dates_in_the_shapes_survey_tools_export() {
        let read = |t: &str, order| parse_answer_date(t, order).map(|d| d.to_string());
        let dmy = DateOrder::DayMonthYear;
        assert_eq!(read("2020-12-31", dmy).as_deref(), Ok("2020-12-31"));
        assert_eq!(read("2020-12-31 10:15", dmy).as_deref(), Ok("2020-12-31"));
        assert_eq!(read("2020-12-31T10:15:00", dmy).as_deref(), Ok("2020-12-31"));
        assert_eq!(read("31-12-2020", dmy).as_deref(), Ok("2020-12-31"));
        assert_eq!(read("31.12.20", dmy).as_deref(), Ok("2020-12-31"));
        assert_eq!(read("12/31/2020", DateOrder::MonthDayYear).as_deref(), Ok("2020-12-31"));
        assert_eq!(
            read("31/12/2020", DateOrder::MonthDayYear).unwrap_err(),
            "`31/12/2020` is not a date (expected yyyy-mm-dd, or day, month and year as mm.dd.yy)"
        );
        assert!(read("snart", dmy).is_err());
    }

    #[test]
    fn times_of_day() {
        for (text, minutes) in [
            ("00:00", 0),
            ("8:05", 485),
            ("23:59", 1439),
            ("14.30", 870),
            ("1430", 870),
            ("07:15:42", 435),
        ] {
            assert_eq!(parse_time(text), Ok(minutes), "{text}");
        }
        for text in ["24:00", "12:60", "7", "12:5", "ab:cd", "12:30:5", ""] {
            assert!(parse_time(text).is_err(), "{text}");
        }
    }

    #[test]
    fn fast_dates_agree_with_the_general_reader() {
        for text in ["2020-02-29", "29.02.2020", "01.12.1999", "1999-12-01", "0001-01-01"] {
            let general = parse_date_ordered(text, 30, DateOrder::DayMonthYear).unwrap().0;
            assert_eq!(fast_date(text), Some(general), "{text}");
        }
        // Impossible or other layouts go to the general reader, which explains them.
        for text in [
            "30.02.2020",
            "2021-02-29",
            "1.2.2020",
            "01/02/2020",
            "2020-1-01",
            "2o20-01-01",
            "01.02.20",
        ] {
            assert_eq!(fast_date(text), None, "{text}");
        }
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
        date("01/03/2020", "2020-03-01");
        date("2020.03.01", "2020-03-01");
        for bad in ["", "01.03", "20-03-01", "01.03.2020.1", "+1.3.2020", "1.2020.3", "001.3.20"] {
            assert!(parse_date(bad, 30).is_err(), "{bad}");
        }
    }

    #[test]
    fn two_digit_dates_follow_the_order_and_say_when_another_would_read_otherwise() {
        let read = |text, order| {
            parse_date_ordered(text, 30, order).map(|(d, ambiguous)| (d.to_string(), ambiguous))
        };
        assert_eq!(read("03.04.05", DateOrder::DayMonthYear), Ok(("2005-04-03".into(), true)));
        assert_eq!(read("03.04.05", DateOrder::YearMonthDay), Ok(("2003-04-05".into(), true)));
        assert_eq!(read("03.04.05", DateOrder::MonthDayYear), Ok(("2005-03-04".into(), true)));
        // 31.12.99 can only be a day first: no other order gives a date.
        assert_eq!(read("31.12.99", DateOrder::DayMonthYear), Ok(("1999-12-31".into(), false)));
        // Four digits show the year: never ambiguous, whatever the order.
        assert_eq!(read("03.04.2005", DateOrder::YearMonthDay), Ok(("2005-04-03".into(), false)));
        assert_eq!(read("05.05.05", DateOrder::DayMonthYear), Ok(("2005-05-05".into(), false)));
        assert!(read("31.12.99", DateOrder::YearMonthDay).is_err());
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

//! Norwegian national identity numbers: fødselsnummer, D-numbers, H-numbers, FH-numbers and
//! synthetic test numbers — validation, kind, and the birth date and sex they carry.
//!
//! Layout `DDMMYY III K1 K2`. Offsets: D-number day + 40, H-number month + 40, synthetic
//! month + 80 (Tenor/Test-Norge) or + 65 (Norsk helsenett); a D-number may also carry a
//! synthetic month offset. FH-numbers start with 8 or 9 and carry no date. Check digits
//! use weights 3 7 6 1 8 9 4 5 2 (K1) and 5 4 3 2 7 6 5 4 3 2 (K2); both the classic rule
//! (weighted sum + K mod 11 = 0) and the rule for numbers issued from 2032 ((Σ + K1) mod 11
//! in 0..=3; K2 unchanged) are accepted. The century is not checked: from 2032 it cannot
//! be derived.
//!
//! Errors never contain the number itself, only what is wrong with it.

use chrono::NaiveDate;

use crate::Sex;

/// What kind of national id a valid number is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum IdKind {
    /// Ordinary fødselsnummer.
    Fnr,
    /// D-number (day + 40), for people without a fødselsnummer.
    Dnr,
    /// H-number (month + 40), a health-service auxiliary number.
    Hnr,
    /// FH-number (first digit 8 or 9), a national auxiliary number with no date.
    Fh,
    /// Synthetic test number (month + 80 or + 65): never a real person.
    Synthetic,
}

impl IdKind {
    /// The short name used in reports and `folge check-ids`.
    pub fn name(self) -> &'static str {
        match self {
            IdKind::Fnr => "fnr",
            IdKind::Dnr => "dnr",
            IdKind::Hnr => "hnr",
            IdKind::Fh => "fh",
            IdKind::Synthetic => "synthetic",
        }
    }
}

/// Why a string is not a valid national id. The messages never echo the digits.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum IdError {
    /// Not 11 digits after removing one separator.
    #[error("has {0} characters, expected 11 digits")]
    WrongLength(usize),
    /// Contains something other than digits (besides one separator after the date).
    #[error("contains a character that is not a digit at position {0}")]
    NonDigit(usize),
    /// The date part (after removing offsets) is not a real calendar date.
    #[error("date part is not a real calendar date")]
    BadDate,
    /// The first check digit fails both the classic and the 2032 rule.
    #[error("first check digit (K1) is wrong")]
    BadK1,
    /// The second check digit is wrong.
    #[error("second check digit (K2) is wrong")]
    BadK2,
}

/// A validated national id with what it tells about the person.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NationalId {
    digits: [u8; 11],
    /// Kind of number (synthetic dominates: a synthetic D-number is `Synthetic`).
    pub kind: IdKind,
    /// Whether the day carries the D-number offset.
    pub d_number: bool,
    /// Whether K1 follows the rule for numbers issued from 2032 (then no date or sex is
    /// derived from it).
    pub rule_2032: bool,
    /// Birth date, when the number carries one and the century can be derived.
    pub birth_date: Option<NaiveDate>,
    /// Sex from the ninth digit, when the number carries it (classic rule only).
    pub sex: Option<Sex>,
}

const W1: [u32; 9] = [3, 7, 6, 1, 8, 9, 4, 5, 2];
const W2: [u32; 10] = [5, 4, 3, 2, 7, 6, 5, 4, 3, 2];

/// Weighted sums for K1 (over d1..d9) and K2 (over d1..d10).
fn weighted(digits: &[u8], weights: &[u32]) -> u32 {
    digits.iter().zip(weights).map(|(d, w)| u32::from(*d) * w).sum()
}

/// Compute the classic check digits for the first nine digits, or `None` when a check digit
/// would be 10 (no valid number exists with those nine digits).
pub fn classic_check_digits(first_nine: &[u8; 9]) -> Option<(u8, u8)> {
    let k = |sum: u32| match 11 - sum % 11 {
        11 => Some(0),
        10 => None,
        k => Some(k as u8),
    };
    let k1 = k(weighted(first_nine, &W1))?;
    let mut ten = [0u8; 10];
    ten[..9].copy_from_slice(first_nine);
    ten[9] = k1;
    let k2 = k(weighted(&ten, &W2))?;
    Some((k1, k2))
}

impl NationalId {
    /// Parse and validate. Accepts 11 digits, optionally with one space or dash after the
    /// six-digit date part, and surrounding whitespace.
    pub fn parse(text: &str) -> Result<Self, IdError> {
        let text = text.trim();
        let mut digits = [0u8; 11];
        let mut n = 0usize;
        // Bytes, not chars: this runs once per row of a registry extract. Positions in
        // errors count characters, so a non-ASCII byte reports its character position.
        for (pos, &b) in text.as_bytes().iter().enumerate() {
            if (b == b' ' || b == b'-') && pos == 6 && n == 6 {
                continue;
            }
            if !b.is_ascii_digit() {
                return Err(IdError::NonDigit(text[..pos].chars().count() + 1));
            }
            if n == 11 {
                return Err(IdError::WrongLength(text.chars().count()));
            }
            digits[n] = b - b'0';
            n += 1;
        }
        if n != 11 {
            return Err(IdError::WrongLength(text.chars().count()));
        }
        Self::from_digits(digits)
    }

    fn from_digits(digits: [u8; 11]) -> Result<Self, IdError> {
        if !(weighted(&digits[..10], &W2) + u32::from(digits[10])).is_multiple_of(11) {
            return Err(IdError::BadK2);
        }
        let k1_remainder = (weighted(&digits[..9], &W1) + u32::from(digits[9])) % 11;
        if k1_remainder > 3 {
            return Err(IdError::BadK1);
        }
        let rule_2032 = k1_remainder != 0;
        let two = |i: usize| u32::from(digits[i]) * 10 + u32::from(digits[i + 1]);
        if digits[0] >= 8 {
            return Ok(NationalId {
                digits,
                kind: IdKind::Fh,
                d_number: false,
                rule_2032,
                birth_date: None,
                sex: None,
            });
        }
        let (mut day, mut month, year) = (two(0), two(2), two(4));
        let d_number = day > 40;
        if d_number {
            day -= 40;
        }
        let mut kind = if d_number { IdKind::Dnr } else { IdKind::Fnr };
        match month {
            81..=92 => {
                month -= 80;
                kind = IdKind::Synthetic;
            }
            66..=77 => {
                month -= 65;
                kind = IdKind::Synthetic;
            }
            41..=52 => {
                month -= 40;
                if kind == IdKind::Fnr {
                    kind = IdKind::Hnr;
                }
            }
            _ => {}
        }
        let individual = u32::from(digits[6]) * 100 + two(7);
        // Day and month must form a real date in some year with that two-digit ending; use
        // the century the individual number gives, or a leap year ending in `year` when
        // the century cannot be derived, so 29.02 is judged on the year it names.
        let century = century(individual, year);
        let probe_year = century.map_or(2000 + year as i32, |c| c + year as i32);
        let date = NaiveDate::from_ymd_opt(probe_year, month, day)
            .or_else(|| {
                // 29 February in a year ending `yy` that is a leap year in another century
                // (e.g. 00): valid for some century.
                (century.is_none())
                    .then(|| NaiveDate::from_ymd_opt(1900 + year as i32, month, day))?
            })
            .ok_or(IdError::BadDate)?;
        let (birth_date, sex) = if rule_2032 {
            (None, None)
        } else {
            let sex = if digits[8] % 2 == 1 { Sex::Male } else { Sex::Female };
            (century.map(|_| date), Some(sex))
        };
        Ok(NationalId { digits, kind, d_number, rule_2032, birth_date, sex })
    }

    /// The eleven digits, normalised (no separator). Handle with care: this is the
    /// identifier itself.
    pub fn normalized(&self) -> String {
        self.digits.iter().map(|d| char::from(b'0' + d)).collect()
    }

    /// The eleven digits as a number (for compact indexes; leading zeros are implied by the
    /// fixed length).
    pub fn as_u64(&self) -> u64 {
        self.digits.iter().fold(0, |n, d| n * 10 + u64::from(*d))
    }

    /// Whether the number belongs to a synthetic test population.
    pub fn is_synthetic(&self) -> bool {
        self.kind == IdKind::Synthetic
    }
}

/// The century of birth from the individual number (Skatteetaten's classic table), or
/// `None` when the combination is not assigned.
fn century(individual: u32, year: u32) -> Option<i32> {
    match (individual, year) {
        (0..=499, _) | (900..=999, 40..=99) => Some(1900),
        (500..=749, 54..=99) => Some(1800),
        (500..=999, 0..=39) => Some(2000),
        _ => None,
    }
}

/// Build a valid classic-rule number from a date part, an individual number and offsets;
/// `None` when no check digits exist for that combination. Used by the sample generator and
/// tests; `month_offset` is 0, 40, 65 or 80 and `day_offset` 0 or 40.
pub fn build(
    date: NaiveDate,
    individual: u16,
    day_offset: u32,
    month_offset: u32,
) -> Option<String> {
    use chrono::Datelike;
    let day = date.day() + day_offset;
    let month = date.month() + month_offset;
    let year = (date.year() % 100) as u32;
    let ind = u32::from(individual);
    let nine: [u8; 9] = [
        (day / 10) as u8,
        (day % 10) as u8,
        (month / 10) as u8,
        (month % 10) as u8,
        (year / 10) as u8,
        (year % 10) as u8,
        (ind / 100) as u8,
        (ind / 10 % 10) as u8,
        (ind % 10) as u8,
    ];
    let (k1, k2) = classic_check_digits(&nine)?;
    let mut s: String = nine.iter().map(|d| char::from(b'0' + d)).collect();
    s.push(char::from(b'0' + k1));
    s.push(char::from(b'0' + k2));
    Some(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[track_caller]
    fn check_ok(id: &str, kind: IdKind, birth: Option<&str>, sex: Option<Sex>) {
        let parsed = NationalId::parse(id).unwrap_or_else(|e| panic!("{id}: {e}"));
        assert_eq!(parsed.kind, kind, "{id}");
        assert_eq!(parsed.birth_date.map(|d| d.to_string()).as_deref(), birth, "{id}");
        assert_eq!(parsed.sex, sex, "{id}");
    }

    #[track_caller]
    fn check_err(id: &str, err: &IdError) {
        assert_eq!(NationalId::parse(id).as_ref().err(), Some(err), "{id}");
    }

    fn date(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    /// A valid number for the date and offsets: the first individual number from `from`
    /// in steps of 2 (same sex digit) whose check digits exist.
    fn build(date: NaiveDate, from: u16, day_offset: u32, month_offset: u32) -> Option<String> {
        (from..1000).step_by(2).find_map(|ind| super::build(date, ind, day_offset, month_offset))
    }

    #[test]
    fn built_numbers_validate_with_their_kind() {
        let b = |off_d, off_m| build(date("1985-07-14"), 123, off_d, off_m).unwrap();
        check_ok(&b(0, 0), IdKind::Fnr, Some("1985-07-14"), Some(Sex::Male));
        check_ok(&b(40, 0), IdKind::Dnr, Some("1985-07-14"), Some(Sex::Male));
        check_ok(&b(0, 40), IdKind::Hnr, Some("1985-07-14"), Some(Sex::Male));
        check_ok(&b(0, 80), IdKind::Synthetic, Some("1985-07-14"), Some(Sex::Male));
        check_ok(&b(0, 65), IdKind::Synthetic, Some("1985-07-14"), Some(Sex::Male));
        let dnr_synth = NationalId::parse(&b(40, 80)).unwrap();
        assert!(dnr_synth.d_number && dnr_synth.is_synthetic());
    }

    #[test]
    fn separators_and_century() {
        let id = build(date("2014-02-03"), 513, 0, 80).unwrap();
        let spaced = format!("{} {}", &id[..6], &id[6..]);
        let dashed = format!("{}-{}", &id[..6], &id[6..]);
        check_ok(&spaced, IdKind::Synthetic, Some("2014-02-03"), Some(Sex::Male));
        check_ok(&dashed, IdKind::Synthetic, Some("2014-02-03"), Some(Sex::Male));
        let female = build(date("1940-12-31"), 944, 0, 0).unwrap();
        check_ok(&female, IdKind::Fnr, Some("1940-12-31"), Some(Sex::Female));
    }

    #[test]
    fn each_reason_is_reported() {
        let id = build(date("1985-07-14"), 123, 0, 0).unwrap();
        check_err(&id[..10], &IdError::WrongLength(10));
        check_err(&format!("{id}0"), &IdError::WrongLength(12));
        check_err(&format!("{}x{}", &id[..3], &id[4..]), &IdError::NonDigit(4));
        let mut k2 = id.clone().into_bytes();
        k2[10] = b'0' + (k2[10] - b'0' + 1) % 10;
        check_err(&String::from_utf8(k2).unwrap(), &IdError::BadK2);
        // 31.02 is no date; give it valid check digits so only the date fails.
        let nine = [3, 1, 0, 2, 8, 5, 1, 2, 3];
        let (k1, k2) = classic_check_digits(&nine).unwrap();
        let bad_date: String = nine.iter().chain(&[k1, k2]).map(|d| char::from(b'0' + d)).collect();
        check_err(&bad_date, &IdError::BadDate);
    }

    #[test]
    fn k1_rules_classic_and_2032() {
        let id = build(date("1985-07-14"), 123, 0, 0).unwrap();
        let mut digits: [u8; 11] = [0; 11];
        for (d, c) in digits.iter_mut().zip(id.bytes()) {
            *d = c - b'0';
        }
        // Try every K1: the remainder (Σ + K1) mod 11 decides, with K2 recomputed.
        let mut seen_2032 = 0;
        for k1 in 0..10u8 {
            digits[9] = k1;
            let s2 = weighted(&digits[..10], &W2);
            let k2 = match 11 - s2 % 11 {
                11 => 0,
                10 => continue,
                k => k as u8,
            };
            digits[10] = k2;
            let text: String = digits.iter().map(|d| char::from(b'0' + d)).collect();
            let rem = (weighted(&digits[..9], &W1) + u32::from(k1)) % 11;
            match NationalId::parse(&text) {
                Ok(parsed) => {
                    assert!(rem <= 3, "accepted remainder {rem}");
                    assert_eq!(parsed.rule_2032, rem != 0);
                    if parsed.rule_2032 {
                        seen_2032 += 1;
                        assert_eq!(parsed.birth_date, None);
                        assert_eq!(parsed.sex, None);
                    }
                }
                Err(e) => {
                    assert!(rem > 3, "rejected remainder {rem}");
                    assert_eq!(e, IdError::BadK1);
                }
            }
        }
        assert!(seen_2032 > 0);
    }

    #[test]
    fn fh_numbers_carry_no_date() {
        let nine = [8, 1, 2, 3, 4, 5, 6, 7, 8];
        let (k1, k2) = classic_check_digits(&nine).unwrap();
        let text: String = nine.iter().chain(&[k1, k2]).map(|d| char::from(b'0' + d)).collect();
        check_ok(&text, IdKind::Fh, None, None);
    }

    #[test]
    fn public_examples() {
        // Example numbers common in public validator docs; sums checked by hand:
        // 01010750160: individual 501 with year 07 → born 2007; digit 9 = 1 → male.
        check_ok("01010750160", IdKind::Fnr, Some("2007-01-01"), Some(Sex::Male));
        // 15076500565: individual 005 → 1900s; digit 9 = 5 → male.
        check_ok("15076500565", IdKind::Fnr, Some("1965-07-15"), Some(Sex::Male));
        check_err("01010750161", &IdError::BadK2);
    }
}

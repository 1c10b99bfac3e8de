//! Values shown in messages (reject reasons, errors, warnings): enough for a person to find
//! the cell, nothing a terminal, a log or a stored reason should hold. A value in a message
//! may be anything a delivery holds — an id in the wrong column, a name as a header, binary
//! junk — so every value passes through [`shown`]:
//!
//! - control and invisible formatting characters are escaped (`\x1b`, `\n`, `\u{202e}`),
//!   so raw bytes (NUL, ESC) never reach a terminal or a stored reject reason;
//! - digit runs as long as a national id or a phone number — [`MASK_DIGITS`] digits or
//!   more, also when spaces, dots, dashes, slashes or line breaks split them
//!   (`010180 12345`, `912.34.567`) — are masked as `[11 digits]`; a date alone
//!   (`01.02.2020`, `2020-02-01`) stays readable;
//! - the result is cut to [`MAX_CHARS`] characters with an ellipsis.
//!
//! A cell of a column that holds codes, dates or numbers is quoted through [`shown_cell`]:
//! when it holds a letter it is not shown at all, since a name typed into the wrong cell
//! (`Kari Nordmann` as a sex, a date or a service code) would otherwise reach the terminal
//! and the stored reason; the column and the expected values say enough to find it, and
//! the row itself stays in the identifiable zone.

use std::fmt::{self, Write as _};

/// Characters shown of a value at most; longer values end in `…`.
pub const MAX_CHARS: usize = 60;

/// Digit runs with this many digits or more are masked (an 8-digit phone number; an
/// 11-digit national id).
pub const MASK_DIGITS: usize = 8;

/// A value as a message shows it: see the module docs. Format it inside backticks.
pub fn shown(value: &str) -> Shown<'_> {
    Shown(value)
}

/// What a message says of a cell that should hold a code, a date or a number: the value
/// in backticks, made safe by [`shown`], when it holds no letter (`` `31.02.2020` ``,
/// `` `[11 digits]` ``); otherwise only that it held text, never the text. Format it
/// without backticks.
pub fn shown_cell(value: &str) -> ShownCell<'_> {
    ShownCell(value)
}

/// A cell made safe for a message ([`shown_cell`]).
#[derive(Debug, Clone, Copy)]
pub struct ShownCell<'a>(&'a str);

impl fmt::Display for ShownCell<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.chars().any(char::is_alphabetic) {
            f.write_str("a text (not shown, as it may name a person)")
        } else {
            write!(f, "`{}`", shown(self.0))
        }
    }
}

/// A value made safe for a message ([`shown`]).
#[derive(Debug, Clone, Copy)]
pub struct Shown<'a>(&'a str);

impl fmt::Display for Shown<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut masks = masked_runs(self.0).into_iter().peekable();
        let mut out = String::new();
        let mut written = 0usize;
        let mut chars = self.0.char_indices().peekable();
        while let Some((at, c)) = chars.next() {
            if written >= MAX_CHARS {
                out.push('…');
                break;
            }
            let before = out.len();
            match masks.peek() {
                Some(&(start, end, digits)) if start == at => {
                    masks.next();
                    let _ = write!(out, "[{digits} digits]");
                    while chars.next_if(|&(next, _)| next < end).is_some() {}
                }
                _ => escape(&mut out, c),
            }
            written += out[before..].chars().count();
        }
        f.write_str(&out)
    }
}

/// Append one character, escaped when it is a control or an invisible formatting character.
fn escape(out: &mut String, c: char) {
    match c {
        '\n' => out.push_str("\\n"),
        '\r' => out.push_str("\\r"),
        '\t' => out.push_str("\\t"),
        c if (c as u32) < 0x100 && c.is_control() => {
            let _ = write!(out, "\\x{:02x}", c as u32);
        }
        c if c.is_control() || is_invisible(c) => {
            let _ = write!(out, "\\u{{{:x}}}", c as u32);
        }
        c => out.push(c),
    }
}

/// Zero-width characters, soft hyphens, bidirectional overrides and isolates, byte-order
/// marks: characters that change how text looks without being seen.
fn is_invisible(c: char) -> bool {
    matches!(
        c,
        '\u{ad}'
            | '\u{200b}'..='\u{200f}'
            | '\u{2028}'..='\u{202e}'
            | '\u{2060}'..='\u{2069}'
            | '\u{feff}'
    )
}

/// Characters that may split the digits of one id or phone number.
fn is_separator(c: char) -> bool {
    matches!(c, ' ' | '.' | '-' | '/' | '\n' | '\r' | '\t' | '\u{a0}' | '\u{202f}' | '\u{2009}')
}

/// Digit groups joined by separators, being read.
struct Run {
    start: usize,
    /// End of the last group.
    end: usize,
    digits: usize,
    /// Each group's length.
    groups: Vec<usize>,
    /// The separators between groups (a gap of two as two).
    separators: Vec<char>,
}

impl Run {
    /// The range to mask, when the run is long enough and not a date alone.
    fn masked(&self) -> Option<(usize, usize, usize)> {
        (self.digits >= MASK_DIGITS && !is_date(&self.groups, &self.separators)).then_some((
            self.start,
            self.end,
            self.digits,
        ))
    }
}

/// Byte ranges (start, end exclusive) of the digit runs to mask, with their digit counts.
/// A run is digit groups joined by at most two separator characters; a group of one or two
/// digits right before `:` is an hour and ends a run before it (`2020-06-01 12:00`).
fn masked_runs(text: &str) -> Vec<(usize, usize, usize)> {
    let mut out = Vec::new();
    let mut run: Option<Run> = None;
    let mut chars = text.char_indices().peekable();
    while let Some((at, c)) = chars.next() {
        if !c.is_numeric() {
            continue;
        }
        // A digit group.
        let mut end = at + c.len_utf8();
        let mut len = 1;
        while let Some((i, d)) = chars.next_if(|&(_, d)| d.is_numeric()) {
            end = i + d.len_utf8();
            len += 1;
        }
        if len <= 2 && chars.peek().is_some_and(|&(_, d)| d == ':') {
            out.extend(run.take().and_then(|r| r.masked()));
            continue;
        }
        // Joined to the run when only separators (one or two) lie between.
        let gap = run
            .as_ref()
            .map(|r| &text[r.end..at])
            .filter(|gap| (1..=2).contains(&gap.chars().count()) && gap.chars().all(is_separator));
        if let (Some(r), Some(gap)) = (run.as_mut(), gap) {
            r.separators.extend(gap.chars());
            r.end = end;
            r.digits += len;
            r.groups.push(len);
        } else {
            out.extend(run.take().and_then(|r| r.masked()));
            run = Some(Run {
                start: at,
                end,
                digits: len,
                groups: vec![len],
                separators: Vec::new(),
            });
        }
    }
    out.extend(run.and_then(|r| r.masked()));
    out
}

/// Whether a run's groups are a date alone: `dd.mm.yyyy`, `d.m.yyyy`, `yyyy-mm-dd` (one
/// separator, the same twice).
fn is_date(groups: &[usize], separators: &[char]) -> bool {
    let [a, b, c] = groups else { return false };
    let same = separators.len() == 2
        && separators[0] == separators[1]
        && matches!(separators[0], '.' | '-' | '/');
    same && ((*a <= 2 && *b <= 2 && *c == 4) || (*a == 4 && *b <= 2 && *c <= 2))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[track_caller]
    fn check(value: &str, expected: &str) {
        assert_eq!(shown(value).to_string(), expected, "{value:?}");
    }

    #[track_caller]
    fn check_cell(value: &str, expected: &str) {
        assert_eq!(shown_cell(value).to_string(), expected, "{value:?}");
    }

    #[test]
    fn a_cell_with_letters_is_not_shown() {
        let withheld = "a text (not shown, as it may name a person)";
        check_cell("Kari Nordmann", withheld);
        check_cell("Ødegård", withheld);
        check_cell("pilott", withheld);
        check_cell("K.N.", withheld);
        check_cell("Ｋari", withheld);
        check_cell("31.02.2020", "`31.02.2020`");
        check_cell("2,5,3", "`2,5,3`");
        check_cell("01.01.80 12343", "`[11 digits]`");
        check_cell("1\u{1b}", "`1\\x1b`");
    }

    #[test]
    fn control_characters_are_escaped() {
        check("a\u{1b}[31mb", "a\\x1b[31mb");
        check("nul\0here", "nul\\x00here");
        check("two\nlines\r\n", "two\\nlines\\r\\n");
        check("\u{202e}evil\u{200b}", "\\u{202e}evil\\u{200b}");
        check("\u{7f}\u{85}", "\\x7f\\x85");
        check("Ødegård æøå", "Ødegård æøå");
    }

    #[test]
    fn long_values_are_cut() {
        let long = "x".repeat(900_000);
        let got = shown(&long).to_string();
        assert_eq!(got.chars().count(), MAX_CHARS + 1);
        assert!(got.ends_with('…'));
        check(&"y".repeat(MAX_CHARS), &"y".repeat(MAX_CHARS));
    }

    #[test]
    fn id_and_phone_length_digit_runs_are_masked() {
        check("01018012345", "[11 digits]");
        check("fnr 010180 12345 ok", "fnr [11 digits] ok");
        check("01.01.80 12343", "[11 digits]");
        check("01 01 80 123 50", "[11 digits]");
        check("0101801\n2345", "[11 digits]");
        check("010180\u{a0}12345", "[11 digits]");
        check("fnr01018012347", "fnr[11 digits]");
        check("91234567", "[8 digits]");
        check("912 34 567", "[8 digits]");
        check("912.34.506", "[8 digits]");
        check("9123  4505", "[8 digits]");
        check("+47 91234510", "+[10 digits]");
        check("tlf:91234508", "tlf:[8 digits]");
        check("０１０１８０１２３４５", "[11 digits]");
        // Short numbers, dates and times stay.
        check("1234567", "1234567");
        check("31.02.2020", "31.02.2020");
        check("2020-02-30", "2020-02-30");
        check("2023-06-01 12:00", "2023-06-01 12:00");
        check("1.2.2020", "1.2.2020");
        check("12.5", "12.5");
        // A date followed by more digits is not a date alone.
        check("01.01.1980 12345", "[13 digits]");
    }

    #[test]
    fn masking_counts_toward_the_cut() {
        let value = format!("{} {}", "01018012345", "z".repeat(100));
        let got = shown(&value).to_string();
        assert!(got.starts_with("[11 digits] zz"), "{got}");
        assert_eq!(got.chars().count(), MAX_CHARS + 1);
    }
}

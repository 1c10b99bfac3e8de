//! Text that knows which of its bytes are numbers folge computed: a table's number cells,
//! a figure's values and tick labels. The report writes its outputs through it, so each
//! [`crate::ReportFile`] carries the byte ranges of those numbers beside its bytes, and the
//! fail-closed re-scan can read a computed total (`23456789` hours, `25000000` rows) as
//! the number it is, not as a phone number typed into a text, without the outputs
//! changing by a byte. Everything else — captions, notes, headings, text cells, labels —
//! is text and scanned as text.

use std::fmt;
use std::ops::Range;

/// A string and the byte ranges in it that hold a number literal folge formatted.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NumberedText {
    /// The text.
    pub text: String,
    /// The byte ranges of `text` that hold a number folge computed, in order.
    pub numbers: Vec<Range<usize>>,
}

impl NumberedText {
    /// Empty.
    pub(crate) fn new() -> Self {
        Self::default()
    }

    /// Text (scanned as text).
    pub(crate) fn push_str(&mut self, text: &str) {
        self.text.push_str(text);
    }

    /// A character of text.
    pub(crate) fn push(&mut self, c: char) {
        self.text.push(c);
    }

    /// A number folge formatted (a literal such as `23456789`, `-1,5` or `0.001`).
    pub(crate) fn push_number(&mut self, number: &str) {
        let start = self.text.len();
        self.text.push_str(number);
        self.numbers.push(start..self.text.len());
    }

    /// Another numbered text, its ranges moved to where it lands.
    pub(crate) fn append(&mut self, other: NumberedText) {
        let offset = self.text.len();
        self.text.push_str(&other.text);
        self.numbers.extend(other.numbers.into_iter().map(|r| r.start + offset..r.end + offset));
    }

    /// Pieces of one cell or label: each text and whether it is a number, passed through
    /// `escape` (the writer's escaping: HTML entities, Markdown pipes), which leaves a
    /// number literal as it is.
    pub(crate) fn push_pieces(
        &mut self,
        pieces: &[(String, bool)],
        escape: impl Fn(&str) -> String,
    ) {
        for (piece, number) in pieces {
            let piece = escape(piece);
            if *number {
                self.push_number(&piece);
            } else {
                self.push_str(&piece);
            }
        }
    }
}

/// `write!` adds text.
impl fmt::Write for NumberedText {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.text.push_str(s);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fmt::Write as _;

    #[test]
    fn ranges_follow_the_text_they_are_appended_to() {
        let mut cell = NumberedText::new();
        cell.push_number("23456789");
        cell.push_str(" (");
        cell.push_number("12");
        cell.push_str(" %)");
        let mut page = NumberedText::new();
        let _ = write!(page, "<td>");
        page.append(cell);
        page.push_str("</td>");
        assert_eq!(page.text, "<td>23456789 (12 %)</td>");
        let shown: Vec<&str> = page.numbers.iter().map(|r| &page.text[r.clone()]).collect();
        assert_eq!(shown, ["23456789", "12"]);
    }
}

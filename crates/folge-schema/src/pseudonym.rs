//! A person's pseudonym as a value of its own: 128 bits, shown and stored (in `pid`
//! columns, as Arrow Utf8) as 32 lowercase hex characters. A `pid` column read back must
//! hold pseudonyms and nothing else: text that is not one (a national id left in a `pid`
//! column) is refused without being shown. Deriving one (HMAC-SHA256 under the project's
//! key) is folge-deid's; this module only says what one is, so that every table that
//! carries a pseudonym carries this type and not a `String`.

use std::sync::Arc;

use arrow_array::{Array, ArrayRef, StringArray};
use arrow_schema::DataType;

use crate::column::ScalarColumn;

/// Length of a pseudonym in hex characters (128 bits).
pub const PSEUDONYM_HEX_CHARS: usize = 32;

/// A person's pseudonym: the first 128 bits of HMAC-SHA256(key, normalised id). As a value
/// of its own it compares, hashes and sorts as 16 bytes; it is shown (and stored in `pid`
/// columns) as 32 lowercase hex characters, which [`str::parse`] reads back (either case).
/// Bytes order as the hex text does, so sorting either gives the same order.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Pseudonym([u8; PSEUDONYM_HEX_CHARS / 2]);

impl Pseudonym {
    /// The pseudonym of these 128 bits.
    pub fn from_bytes(bytes: [u8; PSEUDONYM_HEX_CHARS / 2]) -> Self {
        Pseudonym(bytes)
    }

    /// Its 128 bits.
    pub fn as_bytes(&self) -> &[u8; PSEUDONYM_HEX_CHARS / 2] {
        &self.0
    }

    /// Its hex text, written into `buffer` (no allocation).
    pub fn write_hex<'b>(&self, buffer: &'b mut [u8; PSEUDONYM_HEX_CHARS]) -> &'b str {
        const DIGITS: &[u8; 16] = b"0123456789abcdef";
        for (k, b) in self.0.iter().enumerate() {
            buffer[2 * k] = DIGITS[usize::from(b >> 4)];
            buffer[2 * k + 1] = DIGITS[usize::from(b & 15)];
        }
        // Only ASCII hex digits were written.
        std::str::from_utf8(buffer).unwrap_or_default()
    }
}

impl std::fmt::Display for Pseudonym {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.write_hex(&mut [0u8; PSEUDONYM_HEX_CHARS]))
    }
}

impl std::fmt::Debug for Pseudonym {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Pseudonym({self})")
    }
}

/// Why text is not a pseudonym. The text itself is never shown: a `pid` column that holds
/// no pseudonyms may hold national ids.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PseudonymError {
    /// Not 32 characters long.
    #[error(
        "not a pseudonym: {chars} characters where a pseudonym has {PSEUDONYM_HEX_CHARS} hexadecimal ones"
    )]
    Length {
        /// The text's length in characters.
        chars: usize,
    },
    /// A character that is not a hex digit.
    #[error(
        "not a pseudonym: character {position} is not a hexadecimal digit (a pseudonym is {PSEUDONYM_HEX_CHARS} of 0-9 and a-f)"
    )]
    NotHex {
        /// 1-based position of the first such character.
        position: usize,
    },
}

impl std::str::FromStr for Pseudonym {
    type Err = PseudonymError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let digit = |(i, b): (usize, &u8)| {
            char::from(*b).to_digit(16).ok_or(PseudonymError::NotHex { position: i + 1 })
        };
        if text.len() != PSEUDONYM_HEX_CHARS {
            return Err(PseudonymError::Length { chars: text.chars().count() });
        }
        let mut bytes = [0u8; PSEUDONYM_HEX_CHARS / 2];
        for (k, pair) in text.as_bytes().chunks_exact(2).enumerate() {
            let high = digit((2 * k, &pair[0]))?;
            let low = digit((2 * k + 1, &pair[1]))?;
            // Two hex digits: at most 255.
            bytes[k] = (high * 16 + low) as u8;
        }
        Ok(Pseudonym(bytes))
    }
}

impl ScalarColumn for Pseudonym {
    fn data_type() -> DataType {
        DataType::Utf8
    }
    fn to_array<'a>(values: impl Iterator<Item = Option<&'a Self>>) -> ArrayRef {
        let mut buffer = [0u8; PSEUDONYM_HEX_CHARS];
        let mut array = arrow_array::builder::StringBuilder::new();
        for value in values {
            match value {
                Some(p) => array.append_value(p.write_hex(&mut buffer)),
                None => array.append_null(),
            }
        }
        Arc::new(array.finish())
    }
    fn read_column(array: &dyn Array) -> Result<Vec<Option<Self>>, String> {
        let strings = array
            .as_any()
            .downcast_ref::<StringArray>()
            .ok_or_else(|| format!("expected {}, found {}", DataType::Utf8, array.data_type()))?;
        strings
            .iter()
            .enumerate()
            .map(|(row, v)| {
                v.map(str::parse::<Pseudonym>)
                    .transpose()
                    .map_err(|problem| format!("row {row}: {problem}"))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::column::ColumnValue;

    #[test]
    fn hex_round_trip_and_order() {
        let a = Pseudonym::from_bytes([0x0f; 16]);
        let b = Pseudonym::from_bytes([0xa0; 16]);
        assert_eq!(a.to_string(), "0f".repeat(16));
        assert_eq!(a.to_string().parse::<Pseudonym>().unwrap(), a);
        assert_eq!("A0".repeat(16).parse::<Pseudonym>().unwrap(), b);
        // Bytes order as the hex text does.
        assert!(a < b && a.to_string() < b.to_string());
    }

    #[test]
    fn column_round_trip_and_refusal() {
        let rows = [Pseudonym::from_bytes([1; 16]), Pseudonym::from_bytes([0xfe; 16])];
        let array = <Pseudonym as ColumnValue>::to_array(rows.iter());
        assert_eq!(<Pseudonym as ColumnValue>::read_column(array.as_ref()).unwrap(), rows);
        // A national id in a pid column: refused, and not shown.
        let id = "01017012345";
        let bad: ArrayRef = Arc::new(StringArray::from(vec!["01".repeat(16).as_str(), id]));
        let problem = <Pseudonym as ColumnValue>::read_column(bad.as_ref()).unwrap_err();
        assert!(problem.starts_with("row 1: not a pseudonym"), "{problem}");
        assert!(!problem.contains(id), "{problem}");
        let nulls: ArrayRef = Arc::new(StringArray::from(vec![None::<&str>]));
        assert_eq!(
            <Option<Pseudonym> as ColumnValue>::read_column(nulls.as_ref()).unwrap(),
            [None]
        );
    }
}

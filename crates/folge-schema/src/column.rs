//! How a Rust value maps to an Arrow column, and the `table!` macro that derives a table's
//! Arrow schema and batch conversions from its row struct, so each column name is written
//! once.

use std::sync::Arc;

use arrow_array::{
    Array, ArrayRef, BooleanArray, Date32Array, Float64Array, Int32Array, Int64Array, RecordBatch,
    StringArray,
};
use arrow_schema::{DataType, SchemaRef};
use chrono::NaiveDate;

use crate::SchemaError;

/// A canonical table: a row struct with a fixed Arrow schema.
pub trait Table: Sized {
    /// The table's name in the data contract (`participants`, `service_events`, …).
    const NAME: &'static str;
    /// The Arrow schema, columns in contract order.
    fn schema() -> SchemaRef;
    /// Each column's meaning, from the row struct's doc comments (for codebooks).
    fn column_docs() -> Vec<(&'static str, String)>;
    /// The closed set of codes each column holds, in their natural order, where its type
    /// has one (an [`Arm`](crate::Arm): `pilot`, `comparison`); `None` for open columns.
    fn column_categories() -> Vec<(&'static str, Option<&'static [&'static str]>)>;
    /// Rows → one record batch.
    fn to_batch(rows: &[Self]) -> Result<RecordBatch, SchemaError>;
    /// One record batch → rows. Extra columns are ignored (the contract lets tables grow);
    /// missing or mistyped columns are errors.
    fn from_batch(batch: &RecordBatch) -> Result<Vec<Self>, SchemaError>;

    /// All rows of several batches.
    fn from_batches(batches: &[RecordBatch]) -> Result<Vec<Self>, SchemaError> {
        let mut rows = Vec::new();
        for batch in batches {
            rows.extend(Self::from_batch(batch)?);
        }
        Ok(rows)
    }
}

/// A Rust type stored as one Arrow column.
pub trait ColumnValue: Sized {
    /// The Arrow type of the column.
    fn data_type() -> DataType;
    /// Whether the column may hold nulls (`Option<T>` does).
    const NULLABLE: bool;
    /// Build the column from the values of every row.
    fn to_array<'a>(values: impl Iterator<Item = &'a Self>) -> ArrayRef
    where
        Self: 'a;
    /// Read every value of the column; `Err` says what was expected.
    fn read_column(array: &dyn Array) -> Result<Vec<Self>, String>;
    /// The codes the column can hold, in order, when the type is a closed set of codes.
    fn categories() -> Option<&'static [&'static str]> {
        None
    }
}

/// A Rust type stored as a non-null value of a simple Arrow type; `Option<T>` then works
/// for free.
pub trait ScalarColumn: Sized + Clone {
    /// The Arrow type.
    fn data_type() -> DataType;
    /// Build a nullable column.
    fn to_array<'a>(values: impl Iterator<Item = Option<&'a Self>>) -> ArrayRef
    where
        Self: 'a;
    /// Read a column, nulls as `None`.
    fn read_column(array: &dyn Array) -> Result<Vec<Option<Self>>, String>;
    /// The codes the column can hold, in order, when the type is a closed set of codes.
    fn categories() -> Option<&'static [&'static str]> {
        None
    }
}

impl<T: ScalarColumn> ColumnValue for T {
    fn data_type() -> DataType {
        <T as ScalarColumn>::data_type()
    }
    const NULLABLE: bool = false;
    fn to_array<'a>(values: impl Iterator<Item = &'a Self>) -> ArrayRef
    where
        Self: 'a,
    {
        <T as ScalarColumn>::to_array(values.map(Some))
    }
    fn categories() -> Option<&'static [&'static str]> {
        <T as ScalarColumn>::categories()
    }
    fn read_column(array: &dyn Array) -> Result<Vec<Self>, String> {
        <T as ScalarColumn>::read_column(array)?
            .into_iter()
            .enumerate()
            .map(|(row, value)| {
                value.ok_or_else(|| format!("null in row {row} of a required column"))
            })
            .collect()
    }
}

impl<T: ScalarColumn> ColumnValue for Option<T> {
    fn data_type() -> DataType {
        <T as ScalarColumn>::data_type()
    }
    const NULLABLE: bool = true;
    fn to_array<'a>(values: impl Iterator<Item = &'a Self>) -> ArrayRef
    where
        Self: 'a,
    {
        <T as ScalarColumn>::to_array(values.map(Option::as_ref))
    }
    fn read_column(array: &dyn Array) -> Result<Vec<Self>, String> {
        <T as ScalarColumn>::read_column(array)
    }
    fn categories() -> Option<&'static [&'static str]> {
        <T as ScalarColumn>::categories()
    }
}

fn downcast<'a, A: 'static>(array: &'a dyn Array, expected: &DataType) -> Result<&'a A, String> {
    array
        .as_any()
        .downcast_ref::<A>()
        .ok_or_else(|| format!("expected {expected}, found {}", array.data_type()))
}

macro_rules! primitive_column {
    ($rust:ty, $array:ty, $dt:expr) => {
        impl ScalarColumn for $rust {
            fn data_type() -> DataType {
                $dt
            }
            fn to_array<'a>(values: impl Iterator<Item = Option<&'a Self>>) -> ArrayRef {
                Arc::new(values.map(|v| v.copied()).collect::<$array>())
            }
            fn read_column(array: &dyn Array) -> Result<Vec<Option<Self>>, String> {
                Ok(downcast::<$array>(array, &$dt)?.iter().collect())
            }
        }
    };
}

primitive_column!(i32, Int32Array, DataType::Int32);
primitive_column!(i64, Int64Array, DataType::Int64);
primitive_column!(f64, Float64Array, DataType::Float64);
primitive_column!(bool, BooleanArray, DataType::Boolean);

impl ScalarColumn for String {
    fn data_type() -> DataType {
        DataType::Utf8
    }
    fn to_array<'a>(values: impl Iterator<Item = Option<&'a Self>>) -> ArrayRef {
        Arc::new(values.map(|v| v.map(String::as_str)).collect::<StringArray>())
    }
    fn read_column(array: &dyn Array) -> Result<Vec<Option<Self>>, String> {
        Ok(crate::categories::text_values(array)?
            .into_iter()
            .map(|v| v.map(str::to_owned))
            .collect())
    }
}

/// Days from 0001-01-01 (chrono's day 1 of the common era) to 1970-01-01, Arrow's Date32 epoch.
const UNIX_EPOCH_DAYS_FROM_CE: i32 = 719_163;

/// A date as Arrow `Date32`: days since 1970-01-01.
pub fn date_to_date32(date: NaiveDate) -> i32 {
    chrono::Datelike::num_days_from_ce(&date) - UNIX_EPOCH_DAYS_FROM_CE
}

/// Arrow `Date32` back to a date; `None` outside chrono's range.
pub fn date32_to_date(days: i32) -> Option<NaiveDate> {
    NaiveDate::from_num_days_from_ce_opt(days.checked_add(UNIX_EPOCH_DAYS_FROM_CE)?)
}

impl ScalarColumn for NaiveDate {
    fn data_type() -> DataType {
        DataType::Date32
    }
    fn to_array<'a>(values: impl Iterator<Item = Option<&'a Self>>) -> ArrayRef {
        Arc::new(values.map(|v| v.map(|d| date_to_date32(*d))).collect::<Date32Array>())
    }
    fn read_column(array: &dyn Array) -> Result<Vec<Option<Self>>, String> {
        downcast::<Date32Array>(array, &DataType::Date32)?
            .iter()
            .map(|v| match v {
                None => Ok(None),
                Some(days) => date32_to_date(days)
                    .map(Some)
                    .ok_or_else(|| format!("date {days} days from 1970 is out of range")),
            })
            .collect()
    }
}

/// A closed set of text codes stored as a Utf8 column (services, arms, …).
pub trait TextCode: Sized + Copy + 'static {
    /// Every code, in canonical order.
    const ALL: &'static [Self];
    /// Every code's text, in canonical order (what a codebook lists).
    const CODES: &'static [&'static str];
    /// The code as stored.
    fn code(self) -> &'static str;
    /// Parse a stored code.
    fn from_code(code: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|c| c.code() == code)
    }
}

impl<T: TextCode> ScalarColumn for T {
    fn data_type() -> DataType {
        DataType::Utf8
    }
    fn categories() -> Option<&'static [&'static str]> {
        Some(T::CODES)
    }
    fn to_array<'a>(values: impl Iterator<Item = Option<&'a Self>>) -> ArrayRef {
        Arc::new(values.map(|v| v.map(|c| c.code())).collect::<StringArray>())
    }
    /// Text or a dictionary of any key type (its levels parsed once each, not once a
    /// row); a row whose key points at an empty level is empty. A value that is not a
    /// code is quoted only when it holds no letter (a name typed into a code column must
    /// not reach a message).
    fn read_column(array: &dyn Array) -> Result<Vec<Option<Self>>, String> {
        use arrow_array::cast::AsArray;
        let parse = |code: &str| {
            Self::from_code(code).ok_or_else(|| {
                let allowed: Vec<&str> = Self::ALL.iter().map(|c| c.code()).collect();
                format!("{} is not one of {}", crate::shown_cell(code), allowed.join(", "))
            })
        };
        if let Some(dictionary) = array.as_any_dictionary_opt() {
            let values = dictionary.values();
            let levels = values.as_any().downcast_ref::<StringArray>().ok_or_else(|| {
                format!("expected {}, found {}", DataType::Utf8, array.data_type())
            })?;
            // Judged only where a row uses them, as the rows' text would be.
            let parsed: Vec<Result<Option<Self>, String>> =
                levels.iter().map(|v| v.map(parse).transpose()).collect();
            let keys = dictionary.normalized_keys();
            return (0..array.len())
                .map(|i| if array.is_null(i) { Ok(None) } else { parsed[keys[i]].clone() })
                .collect();
        }
        let text = array
            .as_any()
            .downcast_ref::<StringArray>()
            .ok_or_else(|| format!("expected {}, found {}", DataType::Utf8, array.data_type()))?;
        // Code columns repeat their values: the last one parsed is kept.
        let mut last: Option<(&str, Self)> = None;
        text.iter()
            .map(|v| {
                let Some(code) = v else { return Ok(None) };
                if let Some((c, s)) = last
                    && c == code
                {
                    return Ok(Some(s));
                }
                let s = parse(code)?;
                last = Some((code, s));
                Ok(Some(s))
            })
            .collect()
    }
}

/// Read one column of a batch as `T`, naming table and column in the error.
pub fn read_named<T: ColumnValue>(
    batch: &RecordBatch,
    table: &'static str,
    column: &'static str,
) -> Result<std::vec::IntoIter<T>, SchemaError> {
    let array = batch.column_by_name(column).ok_or(SchemaError::MissingColumn { table, column })?;
    T::read_column(array.as_ref()).map(Vec::into_iter).map_err(|problem| SchemaError::BadColumn {
        table,
        column,
        problem,
    })
}

/// A field's value as a read-only accessor returns it: a copy of a small value, `&str`
/// for text (what [`table!`]'s `read_only` tables hand out instead of their fields).
pub trait Read {
    /// What the accessor returns.
    type Out<'a>
    where
        Self: 'a;
    /// Read the field.
    fn read(&self) -> Self::Out<'_>;
}

macro_rules! read_copy {
    ($($t:ty),*) => {$(
        impl Read for $t {
            type Out<'a> = $t;
            fn read(&self) -> $t {
                *self
            }
        }
        impl Read for Option<$t> {
            type Out<'a> = Option<$t>;
            fn read(&self) -> Option<$t> {
                *self
            }
        }
    )*};
}

read_copy!(
    i32,
    i64,
    f64,
    bool,
    NaiveDate,
    crate::Arm,
    crate::Service,
    crate::Sex,
    crate::ExitReason,
    crate::Pseudonym
);

impl Read for String {
    type Out<'a> = &'a str;
    fn read(&self) -> &str {
        self
    }
}

impl Read for Option<String> {
    type Out<'a> = Option<&'a str>;
    fn read(&self) -> Option<&str> {
        self.as_deref()
    }
}

/// Declare a canonical table: the row struct, and its [`Table`] implementation with one
/// Arrow column per field, named like the field.
///
/// `pub struct Name as "table" { pub field: Type, … }` gives public fields.
/// `pub struct Name as "table" read_only { field: Type, … }` gives fields only the
/// declaring crate can reach, and a public accessor per field (`row.field()`, through
/// [`column::Read`](crate::column::Read): copies of small values, `&str` for text), so no
/// other crate can build or change a row. The declaring crate's feature `test-rows`, when
/// on, makes the fields public for other crates' tests; a build without it (the binary)
/// has no way in.
#[macro_export]
macro_rules! table {
    (
        $(#[$meta:meta])*
        pub struct $name:ident as $table:literal {
            $( $(#[doc = $fdoc:literal])* pub $field:ident : $ty:ty ),* $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq)]
        pub struct $name {
            $( $(#[doc = $fdoc])* pub $field: $ty ),*
        }

        $crate::table!(@impl $name $table { $( $(#[doc = $fdoc])* $field : $ty ),* });
    };
    (
        $(#[$meta:meta])*
        pub struct $name:ident as $table:literal read_only {
            $( $(#[doc = $fdoc:literal])* $field:ident : $ty:ty ),* $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq)]
        #[cfg(not(feature = "test-rows"))]
        pub struct $name {
            $( $(#[doc = $fdoc])* pub(crate) $field: $ty ),*
        }

        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq)]
        #[cfg(feature = "test-rows")]
        pub struct $name {
            $( $(#[doc = $fdoc])* pub $field: $ty ),*
        }

        impl $name {
            $(
                $(#[doc = $fdoc])*
                #[must_use]
                pub fn $field(&self) -> <$ty as $crate::column::Read>::Out<'_> {
                    $crate::column::Read::read(&self.$field)
                }
            )*
        }

        $crate::table!(@impl $name $table { $( $(#[doc = $fdoc])* $field : $ty ),* });
    };
    (@impl $name:ident $table:literal { $( $(#[doc = $fdoc:literal])* $field:ident : $ty:ty ),* }) => {
        impl $crate::Table for $name {
            const NAME: &'static str = $table;

            fn column_docs() -> Vec<(&'static str, String)> {
                vec![ $( (stringify!($field), concat!($($fdoc),*).trim().to_owned()) ),* ]
            }

            fn column_categories() -> Vec<(&'static str, Option<&'static [&'static str]>)> {
                vec![ $( (stringify!($field), <$ty as $crate::ColumnValue>::categories()) ),* ]
            }

            fn schema() -> ::arrow_schema::SchemaRef {
                ::std::sync::Arc::new(::arrow_schema::Schema::new(vec![
                    $( ::arrow_schema::Field::new(
                        stringify!($field),
                        <$ty as $crate::ColumnValue>::data_type(),
                        <$ty as $crate::ColumnValue>::NULLABLE,
                    ) ),*
                ]))
            }

            fn to_batch(rows: &[Self]) -> Result<::arrow_array::RecordBatch, $crate::SchemaError> {
                let columns: Vec<::arrow_array::ArrayRef> = vec![
                    $( <$ty as $crate::ColumnValue>::to_array(rows.iter().map(|r| &r.$field)) ),*
                ];
                ::arrow_array::RecordBatch::try_new(Self::schema(), columns)
                    .map_err(|source| $crate::SchemaError::Internal { table: $table, source })
            }

            fn from_batch(
                batch: &::arrow_array::RecordBatch,
            ) -> Result<Vec<Self>, $crate::SchemaError> {
                $( let mut $field = $crate::column::read_named::<$ty>(batch, $table, stringify!($field))?; )*
                let mut rows = Vec::with_capacity(batch.num_rows());
                for _ in 0..batch.num_rows() {
                    rows.push($name {
                        // Every column iterator has exactly num_rows() values: Arrow
                        // guarantees equal column lengths within a batch.
                        $( $field: $field.next().ok_or($crate::SchemaError::BadColumn {
                            table: $table,
                            column: stringify!($field),
                            problem: "column shorter than the batch".to_owned(),
                        })? ),*
                    });
                }
                Ok(rows)
            }
        }
    };
}

//! Text columns with a closed set of levels, written as *ordered Arrow dictionaries* so a
//! researcher's tools read them as what they are: R's arrow gives factors, pandas ordered
//! categoricals, polars categoricals — with every level in its natural order (`pilot`
//! before `comparison`, `before` before `after`, age bands by age), the unused ones too.
//!
//! folge's row structs keep plain text; a table's [`Categories`] turn its text columns into
//! dictionaries when a batch is written for people to read (`03_analyze/`, the REK
//! extract), and [`text_values`] reads either form back. The levels come from the table
//! definitions (closed code sets such as [`Arm`](crate::Arm)) and from the run's own
//! settings (its periods, timepoints, indicators), never from the values in the data.

use std::sync::Arc;

use arrow_array::types::Int32Type;
use arrow_array::{Array, ArrayRef, DictionaryArray, Int32Array, RecordBatch, StringArray};
use arrow_schema::{DataType, Field, Schema, SchemaRef};

use crate::{SchemaError, Table};

/// The dictionary type of a categorical column: `Int32` keys into `Utf8` levels.
fn dictionary_type() -> DataType {
    DataType::Dictionary(Box::new(DataType::Int32), Box::new(DataType::Utf8))
}

/// The text columns of one table that hold a closed set of levels, each with its levels in
/// order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Categories {
    columns: Vec<(String, Vec<String>)>,
}

impl Categories {
    /// The closed code sets `T`'s definition declares (arms, services, sexes, …).
    pub fn of<T: Table>() -> Self {
        let mut categories = Categories::default();
        for (column, codes) in T::column_categories() {
            if let Some(codes) = codes {
                categories = categories.with(column, codes.iter().copied());
            }
        }
        categories
    }

    /// Add (or replace) `column` with `levels`, in that order. Repeated levels count once.
    #[must_use]
    pub fn with<S: Into<String>>(
        mut self,
        column: &str,
        levels: impl IntoIterator<Item = S>,
    ) -> Self {
        let mut unique: Vec<String> = Vec::new();
        for level in levels {
            let level = level.into();
            if !unique.contains(&level) {
                unique.push(level);
            }
        }
        self.columns.retain(|(c, _)| c != column);
        self.columns.push((column.to_owned(), unique));
        self
    }

    /// The levels of `column`, when it is categorical.
    pub fn levels(&self, column: &str) -> Option<&[String]> {
        self.columns.iter().find(|(c, _)| c == column).map(|(_, levels)| levels.as_slice())
    }

    /// Whether no column is categorical.
    pub fn is_empty(&self) -> bool {
        self.columns.is_empty()
    }

    /// `schema` with each categorical text column an ordered dictionary.
    pub fn schema(&self, schema: &SchemaRef) -> SchemaRef {
        if self.is_empty() {
            return schema.clone();
        }
        let fields: Vec<Field> = schema
            .fields()
            .iter()
            .map(|f| match self.levels(f.name()) {
                Some(_) if f.data_type() == &DataType::Utf8 => {
                    Field::new(f.name(), dictionary_type(), f.is_nullable())
                        .with_dict_is_ordered(true)
                        .with_metadata(f.metadata().clone())
                }
                _ => f.as_ref().clone(),
            })
            .collect();
        Arc::new(Schema::new_with_metadata(fields, schema.metadata().clone()))
    }

    /// `batch` (table `table`) with each categorical text column as an ordered dictionary
    /// holding every level.
    pub fn apply(
        &self,
        batch: &RecordBatch,
        table: &'static str,
    ) -> Result<RecordBatch, SchemaError> {
        if self.is_empty() {
            return Ok(batch.clone());
        }
        let schema = self.schema(&batch.schema());
        let mut columns: Vec<ArrayRef> = Vec::with_capacity(batch.num_columns());
        for (field, array) in batch.schema().fields().iter().zip(batch.columns()) {
            let Some(levels) = self.levels(field.name()) else {
                columns.push(array.clone());
                continue;
            };
            if array.data_type() != &DataType::Utf8 {
                columns.push(array.clone());
                continue;
            }
            let text = array.as_any().downcast_ref::<StringArray>().ok_or_else(|| {
                SchemaError::Internal {
                    table,
                    source: arrow_schema::ArrowError::SchemaError(format!(
                        "column `{}` is not text",
                        field.name()
                    )),
                }
            })?;
            // A value the settings did not foresee (a timepoint only the data name) follows
            // the known levels, the unforeseen in sorted order, so the file stays the same
            // whatever order the rows come in.
            let mut extra: Vec<&str> =
                text.iter().flatten().filter(|v| key_of(levels, v).is_none()).collect();
            extra.sort_unstable();
            extra.dedup();
            let all: Vec<&str> = levels.iter().map(String::as_str).chain(extra).collect();
            let keys: Int32Array = text
                .iter()
                .map(|v| v.and_then(|v| all.iter().position(|l| *l == v)))
                .map(|k| k.and_then(|k| i32::try_from(k).ok()))
                .collect();
            let values: ArrayRef = Arc::new(StringArray::from_iter_values(all));
            let dictionary = DictionaryArray::<Int32Type>::try_new(keys, values)
                .map_err(|source| SchemaError::Internal { table, source })?;
            columns.push(Arc::new(dictionary));
        }
        RecordBatch::try_new(schema, columns)
            .map_err(|source| SchemaError::Internal { table, source })
    }
}

fn key_of(levels: &[String], value: &str) -> Option<i32> {
    levels.iter().position(|l| l == value).and_then(|i| i32::try_from(i).ok())
}

/// The values of a text column, plain (`Utf8`) or dictionary-encoded (any integer key,
/// `Utf8` values); `Err` says what was found instead.
pub fn text_values(array: &dyn Array) -> Result<Vec<Option<&str>>, String> {
    use arrow_array::cast::AsArray;
    if let Some(text) = array.as_any().downcast_ref::<StringArray>() {
        return Ok(text.iter().collect());
    }
    if let Some(dictionary) = array.as_any_dictionary_opt()
        && let Some(levels) = dictionary.values().as_any().downcast_ref::<StringArray>()
    {
        let keys = dictionary.normalized_keys();
        return Ok((0..array.len())
            .map(|i| if array.is_null(i) { None } else { Some(levels.value(keys[i])) })
            .collect());
    }
    Err(format!("expected {}, found {}", DataType::Utf8, array.data_type()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Arm;
    use crate::tables::RateRow;

    fn batch(periods: &[Option<&str>]) -> RecordBatch {
        let schema = Arc::new(Schema::new(vec![Field::new("period", DataType::Utf8, true)]));
        let column: ArrayRef = Arc::new(periods.iter().copied().collect::<StringArray>());
        RecordBatch::try_new(schema, vec![column]).unwrap()
    }

    #[test]
    fn text_becomes_an_ordered_dictionary_with_every_level() {
        let categories = Categories::default().with("period", ["before", "after", "follow_up"]);
        let out = categories.apply(&batch(&[Some("after"), None, Some("before")]), "t").unwrap();
        let field = out.schema().field(0).clone();
        assert_eq!(field.data_type(), &dictionary_type());
        assert_eq!(field.dict_is_ordered(), Some(true));
        let dictionary =
            out.column(0).as_any().downcast_ref::<DictionaryArray<Int32Type>>().unwrap();
        let levels = text_values(dictionary.values().as_ref()).unwrap();
        assert_eq!(levels, [Some("before"), Some("after"), Some("follow_up")]);
        assert_eq!(
            text_values(out.column(0).as_ref()).unwrap(),
            [Some("after"), None, Some("before")]
        );
    }

    #[test]
    fn values_the_settings_did_not_foresee_follow_the_levels_in_sorted_order() {
        let categories = Categories::default().with("period", ["before", "after"]);
        let out = categories
            .apply(&batch(&[Some("T9"), Some("after"), Some("T2"), Some("T9")]), "t")
            .unwrap();
        let dictionary =
            out.column(0).as_any().downcast_ref::<DictionaryArray<Int32Type>>().unwrap();
        let levels = text_values(dictionary.values().as_ref()).unwrap();
        assert_eq!(levels, [Some("before"), Some("after"), Some("T2"), Some("T9")]);
        assert_eq!(
            text_values(out.column(0).as_ref()).unwrap(),
            [Some("T9"), Some("after"), Some("T2"), Some("T9")]
        );
    }

    #[test]
    fn closed_code_sets_come_from_the_table_definition() {
        let categories = Categories::of::<RateRow>();
        let arms = <Arm as crate::column::TextCode>::CODES;
        assert_eq!(categories.levels("arm").unwrap(), arms);
        assert!(categories.levels("indicator").is_none());
    }

    #[test]
    fn other_types_are_refused_by_text_values() {
        let numbers = Int32Array::from(vec![1, 2]);
        assert!(text_values(&numbers).unwrap_err().contains("Int32"));
    }
}

//! Keyed text columns: a column whose batches give `UInt32` keys into one dictionary array
//! shared by all of them (the same `Arc`), for the event stage files' columns that repeat
//! a few values (`service`) or name one of the participants on every row (`person_id`,
//! `pid`). folge-pipeline's Parquet writer stores each key as the page's index without
//! hashing its value (the vendored writer's patch, `vendor/README.md`), and the file says
//! text, so every reader gets text back. Zone 1's `person_id` batches whose rows come in
//! runs of a person (a file sorted by person) get dictionaries of their own instead
//! ([`TextDictionary::keys`]), which the writer interns, a run's later rows found as the
//! value before.

use std::sync::{Arc, OnceLock};

use arrow_array::types::UInt32Type;
use arrow_array::{Array, ArrayRef, DictionaryArray, RecordBatch, StringArray, UInt32Array};
use arrow_schema::{DataType, Field, Schema, SchemaRef};

use arrow_array::builder::{BooleanBuilder, Date32Builder, Float64Builder, Int32Builder};

use crate::column::{TextCode, date_to_date32};
use crate::tables::ServiceEvent;
use crate::{SchemaError, Service, Table};

/// The Arrow type of a keyed text column.
#[must_use]
pub fn keyed_type() -> DataType {
    DataType::Dictionary(Box::new(DataType::UInt32), Box::new(DataType::Utf8))
}

/// `schema` with the text columns `columns` names keyed ([`keyed_type`]).
#[must_use]
pub fn keyed_schema(schema: &Schema, columns: &[&str]) -> SchemaRef {
    let fields: Vec<Field> = schema
        .fields()
        .iter()
        .map(|f| {
            if columns.contains(&f.name().as_str()) {
                Field::new(f.name(), keyed_type(), f.is_nullable())
            } else {
                f.as_ref().clone()
            }
        })
        .collect();
    Arc::new(Schema::new_with_metadata(fields, schema.metadata().clone()))
}

/// Every service code in [`Service::ALL`]'s order: the one dictionary of every keyed
/// `service` column (a service's key is its place there).
pub fn service_codes() -> &'static ArrayRef {
    static CODES: OnceLock<ArrayRef> = OnceLock::new();
    CODES.get_or_init(|| Arc::new(StringArray::from(Service::CODES.to_vec())))
}

/// Services as a keyed column into [`service_codes`].
pub fn service_keys(services: impl Iterator<Item = Service>) -> ArrayRef {
    let keys: UInt32Array = services.map(|s| s as u32).collect();
    Arc::new(
        DictionaryArray::<UInt32Type>::try_new(keys, Arc::clone(service_codes()))
            .expect("a service's key is its place among the codes"),
    )
}

/// One text dictionary shared by the batches of a keyed column (the participants' ids,
/// in list order, for zone 1's `person_id`), but for the batches
/// [`TextDictionary::keys`] gives a dictionary of their own.
#[derive(Clone)]
pub struct TextDictionary {
    values: ArrayRef,
    page_bytes: usize,
}

impl std::fmt::Debug for TextDictionary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The values may be person ids: only how many.
        f.debug_struct("TextDictionary")
            .field("values", &self.values.len())
            .field("page_bytes", &self.page_bytes)
            .finish()
    }
}

impl TextDictionary {
    /// The values, in order: a value's key is its place.
    pub fn new<'a>(values: impl Iterator<Item = &'a str>) -> Self {
        let text = StringArray::from_iter_values(values);
        let page_bytes = text.values().len() + 4 * text.len();
        TextDictionary { values: Arc::new(text), page_bytes }
    }

    /// Bytes of the dictionary as a Parquet dictionary page stores it (each value with
    /// its 4-byte length).
    pub fn page_bytes(&self) -> usize {
        self.page_bytes
    }

    /// `values` as a keyed column: each the key in `places` beside it (its place in this
    /// dictionary). Two kinds of batch get a dictionary of their own instead, of their
    /// distinct values in order of first appearance: one holding a value
    /// without a place, so its text is kept all the same; and one whose rows come in runs
    /// of a value, [`RUN_ROWS`] or more a run on average (a file sorted by person), so
    /// that a row group's dictionary page holds the values its rows name, not the whole
    /// dictionary in every row group (200,000 ids are 3 MB a row group). The writer
    /// interns such a batch (a run's rows after its first are found as the value before)
    /// or seeds a page with it.
    pub fn keys<'a>(
        &self,
        values: impl Iterator<Item = &'a str>,
        places: &[Option<u32>],
    ) -> ArrayRef {
        let runs = 1 + places.windows(2).filter(|pair| pair[0] != pair[1]).count();
        let shared: Option<UInt32Array> = (runs.saturating_mul(RUN_ROWS) > places.len())
            .then(|| places.iter().copied().collect())
            .flatten();
        let (keys, dictionary) = match shared {
            Some(keys) => (keys, Arc::clone(&self.values)),
            None => local_keys(values),
        };
        Arc::new(
            DictionaryArray::<UInt32Type>::try_new(keys, dictionary)
                .expect("every key is a place in its dictionary"),
        )
    }
}

/// Rows a run of one value has on average, at least, for a batch to be keyed into a
/// dictionary of its own ([`TextDictionary::keys`]).
pub const RUN_ROWS: usize = 4;

/// Keys into a dictionary of the distinct `values`, in order of first appearance.
fn local_keys<'a>(values: impl Iterator<Item = &'a str>) -> (UInt32Array, ArrayRef) {
    let mut places: std::collections::HashMap<&str, u32> = std::collections::HashMap::new();
    let mut distinct: Vec<&str> = Vec::new();
    let mut last: Option<(&str, u32)> = None;
    let keys: Vec<u32> = values
        .map(|value| match last {
            // A run's rows after its first: the value before.
            Some((text, key)) if text == value => key,
            _ => {
                let key = *places.entry(value).or_insert_with(|| {
                    distinct.push(value);
                    u32::try_from(distinct.len() - 1).expect("a batch of fewer than 2³² rows")
                });
                last = Some((value, key));
                key
            }
        })
        .collect();
    (UInt32Array::from(keys), Arc::new(StringArray::from(distinct)) as ArrayRef)
}

/// Zone 1's service events with `person_id` and `service` keyed.
#[must_use]
pub fn service_events_schema() -> SchemaRef {
    keyed_schema(&ServiceEvent::schema(), &["person_id", "service"])
}

/// Service events as a batch of [`service_events_schema`]: `person_id` keyed into `ids`
/// (each row's place there in `places`), `service` into [`service_codes`]; the other
/// columns as [`Table::to_batch`] makes them.
pub fn service_events_batch<R: std::borrow::Borrow<ServiceEvent>>(
    rows: &[R],
    ids: &TextDictionary,
    places: &[Option<u32>],
) -> Result<RecordBatch, SchemaError> {
    if places.len() != rows.len() {
        return Err(SchemaError::BadColumn {
            table: ServiceEvent::NAME,
            column: "person_id",
            problem: format!("{} places for {} rows", places.len(), rows.len()),
        });
    }
    // The other columns in one pass over the rows (a pass per column read each batch's
    // rows, 5 MB, seven times), as `Table::to_batch` would make them.
    let n = rows.len();
    let mut services = Vec::with_capacity(n);
    let (mut start, mut end) = (Date32Builder::with_capacity(n), Date32Builder::with_capacity(n));
    let mut quantity = Float64Builder::with_capacity(n);
    let mut acute = BooleanBuilder::with_capacity(n);
    let (mut start_time, mut end_time) =
        (Int32Builder::with_capacity(n), Int32Builder::with_capacity(n));
    for r in rows {
        let r = r.borrow();
        services.push(r.service);
        start.append_value(date_to_date32(r.start_date));
        end.append_option(r.end_date.map(date_to_date32));
        quantity.append_option(r.quantity);
        acute.append_option(r.acute);
        start_time.append_option(r.start_time);
        end_time.append_option(r.end_time);
    }
    let columns: Vec<ArrayRef> = vec![
        ids.keys(rows.iter().map(|r| r.borrow().person_id.as_str()), places),
        service_keys(services.into_iter()),
        Arc::new(start.finish()),
        Arc::new(end.finish()),
        Arc::new(quantity.finish()),
        Arc::new(acute.finish()),
        Arc::new(start_time.finish()),
        Arc::new(end_time.finish()),
    ];
    RecordBatch::try_new(service_events_schema(), columns)
        .map_err(|source| SchemaError::Internal { table: ServiceEvent::NAME, source })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `Service`'s column reader (`ScalarColumn::read_column`) reads keyed, text and any
    /// other dictionary alike, and never quotes a value with letters.
    #[test]
    fn services_read_back_from_keys_text_and_any_dictionary() {
        use crate::column::ScalarColumn;
        let read = |a: &dyn Array| <Service as ScalarColumn>::read_column(a);
        let services = [Service::Gp, Service::Inpatient, Service::Gp, Service::HomeNursing];
        let keyed = service_keys(services.iter().copied());
        let want: Vec<Option<Service>> = services.iter().copied().map(Some).collect();
        assert_eq!(read(keyed.as_ref()).unwrap(), want);
        let text: StringArray = services.iter().map(|s| Some(s.code())).collect();
        assert_eq!(read(&text).unwrap(), want);
        // A dictionary of its own levels, in another order, with a null row and a row
        // pointing at an empty level; an unused bad level is not judged.
        let levels = Arc::new(StringArray::from(vec![
            Some("home_nursing"),
            Some("gp"),
            Some("inpatient"),
            None,
            Some("x"),
        ]));
        let keys = UInt32Array::from(vec![Some(1), Some(2), None, Some(0), Some(3)]);
        let other = DictionaryArray::<UInt32Type>::try_new(keys, levels.clone()).unwrap();
        assert_eq!(
            read(&other).unwrap(),
            [Some(Service::Gp), Some(Service::Inpatient), None, Some(Service::HomeNursing), None]
        );
        let uses_bad =
            DictionaryArray::<UInt32Type>::try_new(UInt32Array::from(vec![4]), levels).unwrap();
        assert!(
            read(&uses_bad).unwrap_err().starts_with(
                "a text (not shown, as it may name a person) is not one of inpatient,"
            )
        );
        let wrong = StringArray::from(vec!["gp", "sykehjem"]);
        let err = read(&wrong).unwrap_err();
        assert!(
            err.starts_with("a text (not shown, as it may name a person) is not one of inpatient,"),
            "{err}"
        );
        let code = StringArray::from(vec!["17"]);
        assert!(read(&code).unwrap_err().starts_with("`17` is not one of inpatient,"));
        let ids = TextDictionary::new(["01018012345"].into_iter());
        assert_eq!(format!("{ids:?}"), "TextDictionary { values: 1, page_bytes: 15 }");
    }

    fn event(person_id: &str, service: Service) -> ServiceEvent {
        ServiceEvent {
            person_id: person_id.to_owned(),
            service,
            start_date: chrono::NaiveDate::from_ymd_opt(2020, 5, 1).unwrap(),
            end_date: None,
            quantity: Some(1.5),
            acute: None,
            start_time: None,
            end_time: Some(600),
        }
    }

    /// Keyed service events hold the same values as `to_batch`'s, their ids as keys into
    /// the one list shared by every batch; a batch naming an id the list lacks keeps its
    /// text in a dictionary of its own.
    #[test]
    fn keyed_service_events_hold_the_rows_text() {
        let list = ["p-1", "p-2", "p-3"];
        let ids = TextDictionary::new(list.iter().copied());
        assert_eq!(ids.page_bytes(), 9 + 3 * 4);
        let places = |rows: &[ServiceEvent]| -> Vec<Option<u32>> {
            let place = |id: &str| list.iter().position(|i| *i == id).map(|p| p as u32);
            rows.iter().map(|r| place(&r.person_id)).collect()
        };
        let rows = vec![event("p-3", Service::Kad), event("p-1", Service::Gp)];
        let batches = [
            service_events_batch(&rows, &ids, &places(&rows)).unwrap(),
            service_events_batch(&rows[1..], &ids, &places(&rows[1..])).unwrap(),
        ];
        let keys = |b: &RecordBatch| {
            let d = b.column(0).as_any().downcast_ref::<DictionaryArray<UInt32Type>>().unwrap();
            (d.keys().values().to_vec(), Arc::clone(d.values()))
        };
        let (first, shared) = keys(&batches[0]);
        assert_eq!(first, [2, 0]);
        assert!(Arc::ptr_eq(&shared, &keys(&batches[1]).1), "one dictionary for every batch");
        let text = ServiceEvent::to_batch(&rows).unwrap();
        for column in 0..text.num_columns() {
            let (got, want) = (batches[0].column(column), text.column(column));
            match want.data_type() {
                DataType::Utf8 => assert_eq!(
                    crate::text_values(got.as_ref()).unwrap(),
                    crate::text_values(want.as_ref()).unwrap()
                ),
                _ => assert_eq!(got, want),
            }
        }
        let stranger = vec![event("p-1", Service::Gp), event("q-9", Service::Gp)];
        let own = service_events_batch(&stranger, &ids, &places(&stranger)).unwrap();
        assert!(service_events_batch(&stranger, &ids, &places(&rows[1..])).is_err());
        let (_, dictionary) = keys(&own);
        assert!(!Arc::ptr_eq(&dictionary, &shared));
        assert_eq!(crate::text_values(own.column(0).as_ref()).unwrap(), [Some("p-1"), Some("q-9")]);
        // Rows in runs (a file sorted by person; a person may come back): a dictionary of
        // the batch's own distinct ids, in order of first appearance, each once.
        let mut sorted = Vec::new();
        for (id, n) in [("p-2", 5), ("p-1", 4), ("p-2", 4)] {
            sorted.extend(std::iter::repeat_n(event(id, Service::Gp), n));
        }
        let runs = service_events_batch(&sorted, &ids, &places(&sorted)).unwrap();
        let (run_keys, dictionary) = keys(&runs);
        assert!(!Arc::ptr_eq(&dictionary, &shared));
        assert_eq!(crate::text_values(dictionary.as_ref()).unwrap(), [Some("p-2"), Some("p-1")]);
        assert_eq!(run_keys, [0, 0, 0, 0, 0, 1, 1, 1, 1, 0, 0, 0, 0]);
        let want: Vec<Option<&str>> = sorted.iter().map(|e| Some(e.person_id.as_str())).collect();
        assert_eq!(crate::text_values(runs.column(0).as_ref()).unwrap(), want);
        // Runs shorter than RUN_ROWS on average: the shared dictionary.
        let short: Vec<ServiceEvent> =
            ["p-1", "p-1", "p-2", "p-3", "p-3"].iter().map(|id| event(id, Service::Gp)).collect();
        let (_, dictionary) = keys(&service_events_batch(&short, &ids, &places(&short)).unwrap());
        assert!(Arc::ptr_eq(&dictionary, &shared));
    }

    #[test]
    fn a_keyed_schema_changes_only_the_named_columns() {
        let schema = Schema::new(vec![
            Field::new("person_id", DataType::Utf8, false),
            Field::new("service", DataType::Utf8, false),
            Field::new("quantity", DataType::Float64, true),
        ]);
        let keyed = keyed_schema(&schema, &["service"]);
        assert_eq!(keyed.field(0).data_type(), &DataType::Utf8);
        assert_eq!(keyed.field(1).data_type(), &keyed_type());
        assert!(!keyed.field(1).is_nullable());
        assert_eq!(keyed.field(2), schema.field(2));
    }
}

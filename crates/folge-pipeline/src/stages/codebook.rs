//! The data dictionary of `03_analyze/` (`codebook.csv` and `codebook.md`): every column of
//! every results table the run wrote, with its type, whether it can be empty, what it
//! means (the row structs' doc comments) and the values it can hold — a closed set in its
//! natural order, the run's periods and timepoints, the indicators with their units. It is
//! built from the table definitions and the run's parameters, not from the data, so it
//! lists no person's value and is the same for every run with the same settings.

use std::fmt::Write as _;
use std::path::Path;

use std::sync::Arc;

use arrow_array::{RecordBatch, StringArray};
use arrow_schema::{DataType, Field, Schema, SchemaRef};
use folge_analyze::Indicator;
use folge_schema::tables::{
    AgreementRow, BalanceRow, CodeCooccurrenceRow, CodeFrequencyRow, ComparisonRow, EventTimeRow,
    FrameworkRow, IndicatorRow, ItemDistributionRow, ItemSummaryRow, LorenzRow,
    MunicipalityRateRow, QuoteRow, RateRow, ScaleReliabilityRow, ScaleScoreRow, StayRow,
    SubgroupRateRow, SurvivalRow, UtilisationRow,
};
use folge_schema::{Categories, Table};

use crate::PipelineError;
use crate::manifest::{OutputRecord, file_sha256};
use crate::parquet_io::write_bytes_atomic;

/// The codebook's file names in `03_analyze/`.
pub(super) const CSV: &str = "codebook.csv";
/// The Markdown codebook.
pub(super) const MARKDOWN: &str = "codebook.md";

/// What the run's open columns can hold: the windows, timepoints and indicators it used.
pub(super) struct Vocabulary {
    /// Window names, in order (`before`, `after`).
    pub periods: Vec<String>,
    /// Questionnaire timepoints compared, in order (`T0`, `T1`).
    pub timepoints: Vec<String>,
    /// Indicators computed, in report order.
    pub indicators: Vec<Indicator>,
}

/// The text columns of results table `T` written as ordered Arrow dictionaries, with their
/// levels: `T`'s closed code sets, and the run's periods, timepoints and indicators in the
/// order the codebook lists them.
pub(super) fn categories<T: Table>(vocabulary: &Vocabulary) -> Categories {
    let mut categories = Categories::of::<T>();
    for (column, _) in T::column_docs() {
        categories = match column {
            "period" => categories.with(column, vocabulary.periods.iter().cloned()),
            "timepoint" => categories.with(column, vocabulary.timepoints.iter().cloned()),
            "indicator" => categories
                .with(column, vocabulary.indicators.iter().map(|i| i.id()))
                .with(UNIT, units(vocabulary)),
            _ => categories,
        };
    }
    categories
}

/// The column folge adds after `indicator` in every results table that has one: what the
/// indicator's `value` counts (`admissions`, `bed-days`, `hours`, …; rates are that unit
/// per person-year), so a file read alone says its unit.
pub(super) const UNIT: &str = "unit";

/// The units of the run's indicators, in indicator order, each once.
fn units(vocabulary: &Vocabulary) -> Vec<&'static str> {
    let mut units: Vec<&'static str> = Vec::new();
    for i in &vocabulary.indicators {
        if !units.contains(&i.unit_en()) {
            units.push(i.unit_en());
        }
    }
    units
}

/// `schema` with [`UNIT`] after `indicator` (as is, without one).
pub(super) fn schema_with_unit(schema: &SchemaRef) -> SchemaRef {
    let Some(at) = schema.fields().iter().position(|f| f.name() == "indicator") else {
        return schema.clone();
    };
    let mut fields: Vec<Field> = schema.fields().iter().map(|f| f.as_ref().clone()).collect();
    let nullable = fields[at].is_nullable();
    fields.insert(at + 1, Field::new(UNIT, DataType::Utf8, nullable));
    Arc::new(Schema::new_with_metadata(fields, schema.metadata().clone()))
}

/// `batch` with [`UNIT`] after `indicator`, each row's the unit of its indicator (as is,
/// without an `indicator` column). An indicator folge does not know is its own bug.
pub(super) fn with_unit(batch: &RecordBatch) -> Result<RecordBatch, PipelineError> {
    let Some(at) = batch.schema().fields().iter().position(|f| f.name() == "indicator") else {
        return Ok(batch.clone());
    };
    let ids = folge_schema::text_values(batch.column(at).as_ref()).map_err(PipelineError::bug)?;
    let mut units = Vec::with_capacity(ids.len());
    for id in ids {
        units.push(match id {
            None => None,
            Some(id) => Some(
                Indicator::parse(id)
                    .ok_or_else(|| {
                        PipelineError::bug(format!(
                            "an indicator folge does not know: `{}`",
                            folge_schema::shown(id)
                        ))
                    })?
                    .unit_en(),
            ),
        });
    }
    let mut columns = batch.columns().to_vec();
    columns.insert(at + 1, Arc::new(StringArray::from(units)));
    RecordBatch::try_new(schema_with_unit(&batch.schema()), columns)
        .map_err(|e| PipelineError::bug(format!("adding `unit`: {e}")))
}

/// One column of one table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Entry {
    table: &'static str,
    variable: &'static str,
    kind: String,
    required: bool,
    meaning: String,
    values: String,
}

/// The entries of table `T`, columns in file order.
fn entries<T: Table>(vocabulary: &Vocabulary) -> Vec<Entry> {
    let schema = T::schema();
    let docs = T::column_docs();
    let categories = T::column_categories();
    let levels = self::categories::<T>(vocabulary);
    let kind_of = |variable: &str, data_type: &DataType| {
        if levels.levels(variable).is_some() { CATEGORY } else { kind(data_type) }.to_owned()
    };
    let mut out = Vec::new();
    for ((field, (variable, meaning)), (_, codes)) in
        schema.fields().iter().zip(docs).zip(categories)
    {
        out.push(Entry {
            table: T::NAME,
            variable,
            kind: kind_of(variable, field.data_type()),
            required: !field.is_nullable(),
            meaning,
            values: values(variable, field.data_type(), codes, vocabulary),
        });
        if variable == "indicator" {
            out.push(Entry {
                table: T::NAME,
                variable: UNIT,
                kind: kind_of(UNIT, &DataType::Utf8),
                required: !field.is_nullable(),
                meaning: "What the indicator's values count (rates: that unit per person-year)."
                    .to_owned(),
                values: units(vocabulary).join("; "),
            });
        }
    }
    out
}

/// The type of a column written as an ordered Arrow dictionary (R: an ordered factor;
/// pandas: an ordered categorical), its levels in the order `values` lists them.
const CATEGORY: &str = "category (ordered)";

/// The type as R, pandas and Stata users know it.
fn kind(data_type: &DataType) -> &'static str {
    match data_type {
        DataType::Utf8 | DataType::LargeUtf8 => "text",
        DataType::Int32 | DataType::Int64 => "integer",
        DataType::Float64 => "number",
        DataType::Boolean => "true/false",
        DataType::Date32 => "date",
        _ => "other",
    }
}

/// What a column can hold.
fn values(
    variable: &str,
    data_type: &DataType,
    codes: Option<&[&str]>,
    vocabulary: &Vocabulary,
) -> String {
    if let Some(codes) = codes {
        return codes.join("; ");
    }
    match variable {
        "pid" => "pseudonym: 32 hexadecimal characters, the same person in every table of the run"
            .to_owned(),
        "period" => vocabulary.periods.join("; "),
        "timepoint" => vocabulary.timepoints.join("; "),
        "indicator" => vocabulary
            .indicators
            .iter()
            .map(|i| format!("{} (counted in {})", i.id(), i.unit_en()))
            .collect::<Vec<_>>()
            .join("; "),
        "measure" => "an indicator (see `indicator`) or a scale name".to_owned(),
        _ => match data_type {
            DataType::Utf8 => "text".to_owned(),
            DataType::Boolean => "true; false".to_owned(),
            _ => "a number".to_owned(),
        },
    }
}

macro_rules! registry {
    ($($t:ty),* $(,)?) => {
        /// The entries of the results table called `name`, if folge declares one.
        fn table_entries(name: &str, vocabulary: &Vocabulary) -> Option<Vec<Entry>> {
            $( if name == <$t>::NAME { return Some(entries::<$t>(vocabulary)); } )*
            None
        }
    };
}

registry!(
    IndicatorRow,
    StayRow,
    RateRow,
    MunicipalityRateRow,
    SubgroupRateRow,
    ComparisonRow,
    UtilisationRow,
    LorenzRow,
    EventTimeRow,
    SurvivalRow,
    BalanceRow,
    FrameworkRow,
    ScaleScoreRow,
    ScaleReliabilityRow,
    ItemDistributionRow,
    ItemSummaryRow,
    CodeFrequencyRow,
    CodeCooccurrenceRow,
    AgreementRow,
    QuoteRow,
);

/// The entries for every Parquet table among `written` (paths like
/// `03_analyze/rates.parquet`), in the order they were written. A table folge wrote but
/// cannot describe is a bug of folge's.
pub(super) fn codebook(
    written: &[OutputRecord],
    vocabulary: &Vocabulary,
) -> Result<Vec<Entry>, PipelineError> {
    let mut out = Vec::new();
    for record in written {
        let Some(name) = Path::new(&record.path)
            .file_name()
            .and_then(|f| f.to_str())
            .and_then(|f| f.strip_suffix(".parquet"))
        else {
            continue;
        };
        let entries = table_entries(name, vocabulary).ok_or_else(|| {
            PipelineError::bug(format!(
                "03_analyze/{name}.parquet has no entry in the codebook's list of tables"
            ))
        })?;
        out.extend(entries);
    }
    Ok(out)
}

/// `codebook.csv`: one row per table × column.
fn csv_bytes(entries: &[Entry]) -> Result<Vec<u8>, csv::Error> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    writer.write_record(["table", "variable", "type", "required", "meaning", "values"])?;
    for e in entries {
        writer.write_record([
            e.table,
            e.variable,
            &e.kind,
            if e.required { "yes" } else { "no" },
            &e.meaning,
            &e.values,
        ])?;
    }
    writer.into_inner().map_err(|e| csv::Error::from(e.into_error()))
}

/// A Markdown table cell: one line, pipes escaped.
fn cell(text: &str) -> String {
    text.replace('\n', " ").replace('|', "\\|")
}

/// `codebook.md`: a section per table, then the indicators with their units.
fn markdown(entries: &[Entry], vocabulary: &Vocabulary) -> String {
    let mut md = String::from(
        "# Codebook: 03_analyze\n\nEvery column of every results table this run wrote, in file order. \
         *Required* columns are never empty; an empty cell in another column means what its \
         meaning says (no exposure, no estimate: a comparison's `method` then says why). \
         Nothing here is suppressed: small cells are suppressed in the report's tables, not \
         in these files.\n",
    );
    let mut table = "";
    for e in entries {
        if e.table != table {
            table = e.table;
            let _ = write!(
                md,
                "\n## {table} (`{table}.parquet`)\n\n| column | type | required | meaning | values |\n|---|---|---|---|---|\n"
            );
        }
        let _ = writeln!(
            md,
            "| `{}` | {} | {} | {} | {} |",
            e.variable,
            e.kind,
            if e.required { "yes" } else { "no" },
            cell(&e.meaning),
            cell(&e.values)
        );
    }
    md.push_str(
        "\n## Indicators and their units\n\nRates are the unit per person-year.\n\n| indicator | label | unit | etikett | enhet |\n|---|---|---|---|---|\n",
    );
    for i in &vocabulary.indicators {
        let _ = writeln!(
            md,
            "| `{}` | {} | {} | {} | {} |",
            i.id(),
            i.label_en(),
            i.unit_en(),
            i.label_nb(),
            i.unit_nb()
        );
    }
    md
}

/// Write `codebook.csv` and `codebook.md` for the tables recorded in `outputs`, and record
/// them there too.
pub(super) fn write(
    dir: &Path,
    outputs: &mut Vec<OutputRecord>,
    vocabulary: &Vocabulary,
) -> Result<(), PipelineError> {
    let entries = codebook(outputs, vocabulary)?;
    let csv = csv_bytes(&entries).map_err(|e| PipelineError::io(&dir.join(CSV), e))?;
    let md = markdown(&entries, vocabulary);
    for (name, bytes) in [(CSV, csv.as_slice()), (MARKDOWN, md.as_bytes())] {
        let path = dir.join(name);
        write_bytes_atomic(&path, bytes)?;
        let (sha256, _) = file_sha256(&path)?;
        outputs.push(OutputRecord {
            path: crate::run_dir::shown(super::Stage::Analyze, name),
            sha256,
            rows: None,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vocabulary() -> Vocabulary {
        Vocabulary {
            periods: vec!["before".into(), "after".into()],
            timepoints: vec!["T0".into(), "T1".into()],
            indicators: vec![Indicator::Admissions, Indicator::HomeCareHours],
        }
    }

    fn record(path: &str) -> OutputRecord {
        OutputRecord { path: path.into(), sha256: String::new(), rows: None }
    }

    #[test]
    fn every_column_is_described_with_its_values() {
        let v = vocabulary();
        let entries =
            codebook(&[record("03_analyze/rates.parquet"), record("03_analyze/x.md")], &v).unwrap();
        let names: Vec<&str> = entries.iter().map(|e| e.variable).collect();
        assert_eq!(
            names,
            schema_with_unit(&RateRow::schema())
                .fields()
                .iter()
                .map(|f| f.name().as_str())
                .collect::<Vec<_>>()
        );
        assert_eq!(names[names.iter().position(|n| *n == "indicator").unwrap() + 1], UNIT);
        let of = |name: &str| entries.iter().find(|e| e.variable == name).unwrap();
        assert_eq!(of("arm").values, "pilot; comparison", "closed set, natural order");
        assert_eq!(of("period").values, "before; after");
        assert_eq!(
            of("indicator").values,
            "admissions (counted in admissions); home_care_hours (counted in hours)"
        );
        assert_eq!(of(UNIT).values, "admissions; hours");
        assert_eq!((of("arm").kind.as_str(), of(UNIT).kind.as_str()), (CATEGORY, CATEGORY));
        assert_eq!(of("rate_per_py").kind, "number");
        assert!(of("n").required && !of("ci_low").required);
        assert_eq!((of("n").kind.as_str(), of("rate_per_py").kind.as_str()), ("integer", "number"));
        assert!(of("ci_low").meaning.starts_with("Lower 95 % limit"), "{}", of("ci_low").meaning);
        let md = markdown(&entries, &v);
        assert!(md.contains("\n## rates (`rates.parquet`)\n"), "{md}");
        assert!(
            md.contains(
                "| `home_care_hours` | Home care hours | hours | Timer hjemmetjenester | timer |"
            ),
            "{md}"
        );
    }

    #[test]
    fn a_table_without_an_entry_is_a_bug() {
        let err = codebook(&[record("03_analyze/new_table.parquet")], &vocabulary()).unwrap_err();
        assert!(err.is_bug(), "{err}");
        assert!(err.to_string().contains("new_table"), "{err}");
    }
}

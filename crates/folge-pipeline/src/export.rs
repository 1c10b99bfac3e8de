//! `folge export`: the REK research extract (`02_deid/extract/`) and the results tables
//! (`03_analyze/`) as Stata `.dta` and SPSS `.sav` files, written by ReadStat through
//! `folge-readstat`, under `<output>/export/stata/` and `<output>/export/spss/`.
//!
//! Each Parquet table becomes one file with the same rows and columns: variable labels from
//! the extract's codebook or the results tables' column docs (`Table::column_docs`), text
//! categories (arm, sex, period, service, indicator, age band, …) as codes 1…k in their
//! natural order with value labels that are the stored text, booleans as 0/1 labelled
//! `false`/`true`, nulls as missing — told apart where folge knows why a value is absent:
//! a participant's cell the extract suppressed for k-anonymity (Stata `.s`, SPSS
//! −999999998) and a statistic of a row without an estimate (Stata `.n`, SPSS −999999999).
//!
//! Exports are made from the stages as they are: a stage missing or not what the pipeline
//! file now implies is refused (exit 2), and re-making deid or analyze removes the export
//! (`RunDir::publish`). Each format's folder is written beside its place and swapped in
//! whole, like a stage.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use arrow_array::cast::AsArray;
use arrow_array::types::{
    Float32Type, Float64Type, Int8Type, Int16Type, Int32Type, Int64Type, UInt8Type, UInt16Type,
    UInt32Type,
};
use arrow_array::{Array, RecordBatch};
use arrow_schema::DataType;
use folge_readstat::{Cell, Dataset, Format, Measure, Missing, ReadStat, Values, Variable};
use folge_schema::column::TextCode;
use folge_schema::tables::{
    ComparisonRow, EventTimeRow, IndicatorRow, MunicipalityRateRow, RateRow, SurvivalRow,
};
use folge_schema::{Arm, ExitReason, Service, Sex, Table};
use tracing::debug;

use crate::parquet_io::{read_parquet, write_bytes_atomic};
use crate::provenance::Provenance;
use crate::run_dir::RunDir;
use crate::stages::Stage;
use crate::{Pipeline, PipelineError};

/// Where one format's files go, under `<output>/export/`.
pub fn format_folder(format: Format) -> &'static str {
    match format {
        Format::Stata => "stata",
        Format::Spss => "spss",
    }
}

/// The subfolder of the REK extract's tables in a format's folder.
pub const EXTRACT_FOLDER: &str = "extract";
/// The subfolder of the results tables in a format's folder.
pub const RESULTS_FOLDER: &str = "results";

/// What `folge export` wrote for one format.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exported {
    /// The format.
    pub format: Format,
    /// Its folder (`<output>/export/stata`).
    pub dir: PathBuf,
    /// Files written.
    pub files: usize,
}

/// One table to export: where it is read from and how its columns are described.
struct Source {
    /// `extract` or `results`.
    folder: &'static str,
    /// The table's name (its file's stem).
    name: String,
    /// The Parquet file.
    path: PathBuf,
    /// Column → variable label.
    labels: BTreeMap<String, String>,
}

/// Write the extract and the results tables of `pipeline`'s run directory in `formats`.
pub fn export(pipeline: &Pipeline, formats: &[Format]) -> Result<Vec<Exported>, PipelineError> {
    let dir = RunDir::new(pipeline);
    let _locks = dir.lock()?;
    dir.clean_leftovers();
    check_stages(pipeline)?;
    let readstat =
        ReadStat::load().map_err(|e| PipelineError::Unavailable { message: e.to_string() })?;
    let sources = sources(pipeline, &dir)?;
    let suppressed = suppressed_cells(&dir, &sources)?;
    let mut formats = formats.to_vec();
    formats.sort();
    formats.dedup();
    let staged = formats
        .iter()
        .map(|f| Ok((*f, dir.begin_export(format_folder(*f))?)))
        .collect::<Result<Vec<_>, PipelineError>>()?;
    // Each table is read and described once, and written in every format asked for.
    for source in &sources {
        let contents = read_parquet(&source.path)?;
        let dataset = dataset(source, &contents.batches, &contents.metadata, &suppressed)?;
        for (format, staging) in &staged {
            let bytes = readstat
                .write(*format, &dataset)
                .map_err(|e| PipelineError::stage_failed("export", e))?;
            let folder = staging.path().join(source.folder);
            crate::stages::create_dir(&folder, false)?;
            let file = format!("{}.{}", source.name, format.extension());
            write_bytes_atomic(&folder.join(&file), &bytes)?;
            debug!(
                "export: {}/{}/{file}: {} rows, {} variables, {} bytes",
                format_folder(*format),
                source.folder,
                contents.num_rows,
                dataset.variables.len(),
                bytes.len()
            );
        }
    }
    let mut exported = Vec::new();
    for (format, staging) in staged {
        staging.publish_export()?;
        let target = dir.export().join(format_folder(format));
        debug!("export: {} files ({}) in `{}`", format.program(), sources.len(), target.display());
        exported.push(Exported { format, dir: target, files: sources.len() });
    }
    Ok(exported)
}

/// Refuse stages that are not there, or not what the pipeline file now implies, naming the
/// command that makes them.
fn check_stages(pipeline: &Pipeline) -> Result<(), PipelineError> {
    let provenance = Provenance::new(pipeline);
    let file = pipeline.file.display();
    for stage in [Stage::Ingest, Stage::Deid, Stage::Analyze] {
        let Some(record) = provenance.record(stage) else {
            return Err(PipelineError::Stale {
                stage: "export",
                message: format!(
                    "{} is not there; run `folge run {file}` first, then export",
                    stage.dir_name()
                ),
            });
        };
        if let Some(why) = provenance.stale(stage, &record) {
            return Err(PipelineError::Stale {
                stage: "export",
                message: format!(
                    "{why}; run `folge {} {file}` first (or `folge run {file}`), then export",
                    stage.name()
                ),
            });
        }
    }
    Ok(())
}

/// The tables to export, in order: the extract's (when there is one), then the results
/// tables that analyze recorded, each sorted by name.
fn sources(pipeline: &Pipeline, dir: &RunDir) -> Result<Vec<Source>, PipelineError> {
    let mut sources = Vec::new();
    let extract = dir.extract();
    if pipeline.config.extract.is_some() && extract.join("codebook.csv").exists() {
        let codebook = codebook(&extract.join("codebook.csv"))?;
        for name in parquet_stems(&extract)? {
            let labels = codebook.get(&name).cloned().unwrap_or_default();
            let path = extract.join(format!("{name}.parquet"));
            sources.push(Source { folder: EXTRACT_FOLDER, name, path, labels });
        }
    }
    // The results' labels come from analyze's data dictionary, which describes every table
    // it wrote (a table it cannot describe fails analyze), so the two never disagree.
    let analyze = dir.stage(Stage::Analyze);
    let dictionary = codebook(&analyze.join("codebook.csv"))?;
    for name in parquet_stems(&analyze)? {
        let labels = dictionary.get(&name).cloned().unwrap_or_default();
        let path = analyze.join(format!("{name}.parquet"));
        sources.push(Source { folder: RESULTS_FOLDER, name, path, labels });
    }
    Ok(sources)
}

/// The stems of the Parquet files in `dir`, sorted.
fn parquet_stems(dir: &Path) -> Result<Vec<String>, PipelineError> {
    let entries = std::fs::read_dir(dir).map_err(|e| PipelineError::io(dir, e))?;
    let mut stems: Vec<String> = entries
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            name.strip_suffix(".parquet").filter(|s| !s.starts_with('.')).map(str::to_owned)
        })
        .collect();
    stems.sort();
    Ok(stems)
}

/// A codebook (the extract's, or the data dictionary of `03_analyze/`): table → column →
/// meaning, read by the `table`, `variable` and `meaning` headers both share.
fn codebook(path: &Path) -> Result<BTreeMap<String, BTreeMap<String, String>>, PipelineError> {
    let mut reader = csv::Reader::from_path(path).map_err(|e| PipelineError::io(path, e))?;
    let headers = reader.headers().map_err(|e| PipelineError::io(path, e))?.clone();
    let position = |name: &str| {
        headers.iter().position(|h| h == name).ok_or_else(|| {
            PipelineError::bug(format!(
                "the codebook `{}` has no `{name}` column; remake the stage that wrote it",
                path.display()
            ))
        })
    };
    let (table, variable, meaning) =
        (position("table")?, position("variable")?, position("meaning")?);
    let mut out: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    for record in reader.records() {
        let record = record.map_err(|e| PipelineError::io(path, e))?;
        if let (Some(t), Some(v), Some(m)) =
            (record.get(table), record.get(variable), record.get(meaning))
        {
            out.entry(t.to_owned()).or_default().insert(v.to_owned(), m.to_owned());
        }
    }
    Ok(out)
}

/// The participants' cells the extract suppressed for k-anonymity: (column, row) of the
/// extract's `participants` whose value is null there but not in `02_deid/participants`
/// (the same pid). Empty when the extract has no participants or no pid.
fn suppressed_cells(
    dir: &RunDir,
    sources: &[Source],
) -> Result<BTreeSet<(String, usize)>, PipelineError> {
    let mut cells = BTreeSet::new();
    let Some(extract) =
        sources.iter().find(|s| s.folder == EXTRACT_FOLDER && s.name == "participants")
    else {
        return Ok(cells);
    };
    let full = read_parquet(&dir.stage(Stage::Deid).join("participants.parquet"))?;
    let full = columns(&full.batches);
    let Some(full_pids) = full.get("pid").and_then(|c| texts(c)) else {
        return Ok(cells);
    };
    let row_of: BTreeMap<&str, usize> =
        full_pids.iter().enumerate().filter_map(|(i, p)| Some((p.as_deref()?, i))).collect();
    let extract = read_parquet(&extract.path)?;
    let extract = columns(&extract.batches);
    let Some(pids) = extract.get("pid").and_then(|c| texts(c)) else {
        return Ok(cells);
    };
    for (column, arrays) in &extract {
        let Some(full_arrays) = full.get(column) else { continue };
        let here = nulls(arrays);
        let there = nulls(full_arrays);
        for (row, pid) in pids.iter().enumerate() {
            let Some(full_row) = pid.as_deref().and_then(|p| row_of.get(p)) else { continue };
            if here[row] && !there[*full_row] {
                cells.insert((column.clone(), row));
            }
        }
    }
    Ok(cells)
}

/// Each column's arrays across `batches`, by name.
fn columns(batches: &[RecordBatch]) -> BTreeMap<String, Vec<&dyn Array>> {
    let mut out: BTreeMap<String, Vec<&dyn Array>> = BTreeMap::new();
    for batch in batches {
        for (field, array) in batch.schema_ref().fields().iter().zip(batch.columns()) {
            out.entry(field.name().clone()).or_default().push(array.as_ref());
        }
    }
    out
}

/// Whether each row of a column is null.
fn nulls(arrays: &[&dyn Array]) -> Vec<bool> {
    arrays.iter().flat_map(|a| (0..a.len()).map(|i| a.is_null(i))).collect()
}

/// A text column's values (`Utf8`, `LargeUtf8`, or a dictionary of either); `None` for
/// another type.
/// The levels of a dictionary column (the first array's: folge writes every level into
/// every row group), or `None` for plain text.
fn dictionary_levels(arrays: &[&dyn Array]) -> Option<Vec<String>> {
    let dictionary = arrays.first()?.as_any_dictionary_opt()?;
    Some(text_values(dictionary.values().as_ref())?.into_iter().flatten().collect())
}

fn texts(arrays: &[&dyn Array]) -> Option<Vec<Option<String>>> {
    let mut out = Vec::new();
    for array in arrays {
        out.extend(text_values(*array)?);
    }
    Some(out)
}

fn text_values(array: &dyn Array) -> Option<Vec<Option<String>>> {
    if let Some(a) = array.as_string_opt::<i32>() {
        return Some(a.iter().map(|v| v.map(str::to_owned)).collect());
    }
    if let Some(a) = array.as_string_opt::<i64>() {
        return Some(a.iter().map(|v| v.map(str::to_owned)).collect());
    }
    let dictionary = array.as_any_dictionary_opt()?;
    let values = text_values(dictionary.values().as_ref())?;
    let keys = dictionary.normalized_keys();
    Some(
        (0..array.len())
            .map(
                |i| {
                    if dictionary.keys().is_null(i) {
                        None
                    } else {
                        values.get(keys[i]).cloned()?
                    }
                },
            )
            .collect(),
    )
}

/// A whole-number column's values; `None` for another type.
fn integers(arrays: &[&dyn Array]) -> Option<Vec<Option<i64>>> {
    let mut out = Vec::new();
    for array in arrays {
        macro_rules! primitive {
            ($($t:ty),*) => {
                $( if let Some(a) = array.as_primitive_opt::<$t>() {
                    out.extend(a.iter().map(|v| v.map(i64::from)));
                    continue;
                } )*
            };
        }
        primitive!(Int8Type, Int16Type, Int32Type, Int64Type, UInt8Type, UInt16Type, UInt32Type);
        return None;
    }
    Some(out)
}

/// A floating-point column's values; `None` for another type.
fn floats(arrays: &[&dyn Array]) -> Option<Vec<Option<f64>>> {
    let mut out = Vec::new();
    for array in arrays {
        if let Some(a) = array.as_primitive_opt::<Float64Type>() {
            out.extend(a.iter());
        } else if let Some(a) = array.as_primitive_opt::<Float32Type>() {
            out.extend(a.iter().map(|v| v.map(f64::from)));
        } else {
            return None;
        }
    }
    Some(out)
}

/// A boolean column's values; `None` for another type.
fn booleans(arrays: &[&dyn Array]) -> Option<Vec<Option<bool>>> {
    let mut out = Vec::new();
    for array in arrays {
        out.extend(array.as_boolean_opt()?.iter());
    }
    Some(out)
}

/// Stata's largest `long` (larger values are its missing codes).
const STATA_MAX_LONG: i64 = 2_147_483_620;

/// The column whose null marks a row without an estimate, per results table: that row's
/// other nulls are "not estimable" rather than missing.
fn estimate_column(table: &str) -> Option<&'static str> {
    match table {
        t if t == ComparisonRow::NAME => Some("effect_size"),
        t if t == IndicatorRow::NAME
            || t == RateRow::NAME
            || t == MunicipalityRateRow::NAME
            || t == EventTimeRow::NAME =>
        {
            Some("rate_per_py")
        }
        t if t == SurvivalRow::NAME => Some("survival"),
        _ => None,
    }
}

/// One table as a dataset: every column a variable, in order.
fn dataset(
    source: &Source,
    batches: &[RecordBatch],
    metadata: &BTreeMap<String, String>,
    suppressed: &BTreeSet<(String, usize)>,
) -> Result<Dataset, PipelineError> {
    let columns = columns(batches);
    let fields: Vec<(String, DataType)> = batches.first().map_or_else(Vec::new, |b| {
        b.schema_ref().fields().iter().map(|f| (f.name().clone(), f.data_type().clone())).collect()
    });
    let without_estimate: Vec<bool> = estimate_column(&source.name)
        .filter(|_| source.folder == RESULTS_FOLDER)
        .and_then(|c| columns.get(c))
        .map(|arrays| nulls(arrays))
        .unwrap_or_default();
    let why = |column: &str, row: usize| {
        if source.folder == EXTRACT_FOLDER && suppressed.contains(&(column.to_owned(), row)) {
            Missing::Suppressed
        } else if without_estimate.get(row).copied().unwrap_or(false) {
            Missing::NotEstimable
        } else {
            Missing::System
        }
    };
    let mut variables = Vec::with_capacity(fields.len());
    for (name, data_type) in &fields {
        let arrays = columns.get(name).map(Vec::as_slice).unwrap_or_default();
        let label = source.labels.get(name).map_or_else(|| name.clone(), |l| l.replace('`', ""));
        let variable = if let Some(values) = texts(arrays) {
            // An ordered dictionary's levels (results, the extract) are the codes' order.
            let levels = dictionary_levels(arrays);
            let why = |row| why(name, row);
            match (Category::of(name), levels) {
                (category, Some(levels)) => category
                    .unwrap_or(Category::Natural(Measure::Nominal))
                    .variable(name, label, (&values, Some(levels)), &why),
                (Some(category), None) => category.variable(name, label, (&values, None), &why),
                (None, None) => Variable::new(name, label, Values::Text(values)),
            }
        } else if let Some(values) = booleans(arrays) {
            let cells = values
                .iter()
                .enumerate()
                .map(|(row, v)| {
                    v.map_or(Cell::Missing(why(name, row)), |b| Cell::Value(i32::from(b)))
                })
                .collect();
            Variable::new(name, label, Values::Integers(cells))
                .with_value_labels(vec![(0, "false".into()), (1, "true".into())])
        } else if let Some(values) = integers(arrays) {
            let fits = values.iter().flatten().all(|v| v.abs() <= STATA_MAX_LONG);
            let cell = |(row, v): (usize, &Option<i64>)| v.ok_or(why(name, row));
            let values = if fits {
                Values::Integers(
                    values.iter().enumerate().map(|c| to_cell(cell(c).map(|v| v as i32))).collect(),
                )
            } else {
                Values::Numbers(
                    values.iter().enumerate().map(|c| to_cell(cell(c).map(|v| v as f64))).collect(),
                )
            };
            Variable::new(name, label, values)
        } else if let Some(values) = floats(arrays) {
            let cells = values
                .iter()
                .enumerate()
                .map(|(row, v)| to_cell(v.ok_or(why(name, row))))
                .collect();
            Variable::new(name, label, Values::Numbers(cells))
        } else {
            return Err(PipelineError::bug(format!(
                "`{}/{}`: column `{name}` is {data_type}, which folge export does not write",
                source.folder, source.name
            )));
        };
        variables.push(variable);
    }
    let table = match source.folder {
        EXTRACT_FOLDER => format!("REK extract: {}", source.name),
        _ => format!("folge results: {}", source.name),
    };
    let mut notes = vec![format!(
        "made by folge {} from {}/{}.parquet",
        env!("CARGO_PKG_VERSION"),
        source.folder,
        source.name
    )];
    if let Some(hash) = metadata.get("folge.params_sha256") {
        notes.push(format!("params_sha256 {hash}"));
    }
    Ok(Dataset { label: table, notes, variables })
}

fn to_cell<T>(value: Result<T, Missing>) -> Cell<T> {
    match value {
        Ok(v) => Cell::Value(v),
        Err(kind) => Cell::Missing(kind),
    }
}

/// A text column stored as codes 1…k with value labels, and how its values are ordered.
#[derive(Debug, Clone, Copy)]
enum Category {
    /// A closed list first (in its own order: every listed value has the same code in
    /// every file), then any other value in natural order.
    Listed(fn() -> Vec<&'static str>, Measure),
    /// Natural order: numbers by value (`6-12` before `13-17`, `T2` before `T10`), numbers
    /// before letters.
    Natural(Measure),
}

/// A domain code list's stored codes, in its declared order.
fn codes<T: TextCode + 'static>() -> Vec<&'static str> {
    T::ALL.iter().map(|c| c.code()).collect()
}

/// The periods folge names itself, before → after.
fn periods() -> Vec<&'static str> {
    vec!["before", "after"]
}

/// Every indicator id, in report order.
fn indicators() -> Vec<&'static str> {
    folge_analyze::Indicator::ALL.iter().map(|i| i.id()).collect()
}

impl Category {
    /// How the column `name` is coded; `None` for free text, pseudonyms, municipality
    /// numbers and other text kept as text.
    fn of(name: &str) -> Option<Category> {
        Some(match name {
            "arm" => Category::Listed(codes::<Arm>, Measure::Nominal),
            "sex" => Category::Listed(codes::<Sex>, Measure::Nominal),
            "exit_reason" => Category::Listed(codes::<ExitReason>, Measure::Nominal),
            "service" => Category::Listed(codes::<Service>, Measure::Nominal),
            "period" => Category::Listed(periods, Measure::Ordinal),
            "indicator" => Category::Listed(indicators, Measure::Nominal),
            "age_band" | "timepoint" => Category::Natural(Measure::Ordinal),
            "target_group" | "element" => Category::Natural(Measure::Nominal),
            _ => return None,
        })
    }

    /// The labels, in code order (code = position + 1): the listed values, then the other
    /// values present in natural order.
    /// With `file_levels` (the Parquet column's ordered dictionary), those levels stand
    /// for the listed values.
    fn levels(self, values: &[Option<String>], file_levels: Option<Vec<String>>) -> Vec<String> {
        let listed: Vec<String> = match (file_levels, self) {
            (Some(levels), _) => levels,
            (None, Category::Listed(list, _)) => list().into_iter().map(str::to_owned).collect(),
            (None, Category::Natural(_)) => Vec::new(),
        };
        let present: BTreeSet<&str> = values.iter().flatten().map(String::as_str).collect();
        let mut others: Vec<&str> =
            present.into_iter().filter(|v| !listed.iter().any(|l| l == v)).collect();
        others.sort_by(|a, b| natural_key(a).cmp(&natural_key(b)).then(a.cmp(b)));
        listed.into_iter().chain(others.into_iter().map(str::to_owned)).collect()
    }

    fn variable(
        self,
        name: &str,
        label: String,
        (values, file_levels): (&[Option<String>], Option<Vec<String>>),
        why: &dyn Fn(usize) -> Missing,
    ) -> Variable {
        let levels = self.levels(values, file_levels);
        let code: BTreeMap<&str, i32> =
            levels.iter().enumerate().map(|(i, l)| (l.as_str(), i as i32 + 1)).collect();
        let cells = values
            .iter()
            .enumerate()
            .map(|(row, v)| match v.as_deref().and_then(|v| code.get(v)) {
                Some(code) => Cell::Value(*code),
                None => Cell::Missing(why(row)),
            })
            .collect();
        let measure = match self {
            Category::Listed(_, measure) | Category::Natural(measure) => measure,
        };
        let labels = levels.into_iter().enumerate().map(|(i, l)| (i as i32 + 1, l)).collect();
        Variable::new(name, label, Values::Integers(cells))
            .with_value_labels(labels)
            .with_measure(measure)
    }
}

/// A sort key that orders digit runs by their number: `6-12` < `13-17`, `T2` < `T10`,
/// and digits before letters.
fn natural_key(text: &str) -> Vec<(u8, u64, String)> {
    let mut key = Vec::new();
    let mut rest = text;
    while let Some(first) = rest.chars().next() {
        let digits = first.is_ascii_digit();
        let end = rest
            .char_indices()
            .find(|(_, c)| c.is_ascii_digit() != digits)
            .map_or(rest.len(), |(i, _)| i);
        let (chunk, tail) = rest.split_at(end);
        key.push(if digits {
            (0, chunk.parse().unwrap_or(u64::MAX), String::new())
        } else {
            (1, 0, chunk.to_owned())
        });
        rest = tail;
    }
    key
}

#[cfg(test)]
mod tests {
    use super::*;

    #[track_caller]
    fn check(category: Category, values: &[&str], expected: &[&str]) {
        let values: Vec<Option<String>> = values.iter().map(|v| Some((*v).to_owned())).collect();
        assert_eq!(category.levels(&values, None), expected);
    }

    #[test]
    fn categories_are_coded_in_their_natural_order() {
        let natural = Category::Natural(Measure::Ordinal);
        check(
            natural,
            &["80+", "0-5", "13-17", "18-66", "6-12", "67-79"],
            &["0-5", "6-12", "13-17", "18-66", "67-79", "80+"],
        );
        check(natural, &["T10", "T1", "T0", "T2"], &["T0", "T1", "T2", "T10"]);
        check(natural, &["eldre", "barn", "4", "10"], &["4", "10", "barn", "eldre"]);
        // A listed category keeps every listed value (the same codes in every file), then
        // the others.
        let period = Category::of("period").unwrap();
        check(period, &["after", "before"], &["before", "after"]);
        check(period, &["after", "year2", "before"], &["before", "after", "year2"]);
        check(Category::of("arm").unwrap(), &["comparison"], &["pilot", "comparison"]);
        let services = Category::of("service").unwrap();
        let levels = services.levels(&[Some("gp".into())], None);
        assert_eq!(levels[..2], ["inpatient", "day_treatment"]);
        assert!(Category::of("pid").is_none() && Category::of("municipality").is_none());
        // A Parquet column's ordered dictionary gives the order, unused levels kept.
        let file = vec!["bed_days".to_owned(), "gp_contacts".to_owned(), "admissions".to_owned()];
        let values = [Some("admissions".to_owned()), Some("bed_days".to_owned())];
        let indicator = Category::of("indicator").unwrap();
        assert_eq!(indicator.levels(&values, Some(file.clone())), file);
    }

    #[test]
    fn codes_labels_and_the_reasons_for_missing_values() {
        let values = vec![Some("comparison".to_owned()), None, Some("pilot".to_owned())];
        let variable = Category::of("arm").unwrap().variable(
            "arm",
            "Study arm".into(),
            (&values, None),
            &|row| {
                if row == 1 { Missing::Suppressed } else { Missing::System }
            },
        );
        assert_eq!(
            variable.values,
            Values::Integers(vec![
                Cell::Value(2),
                Cell::Missing(Missing::Suppressed),
                Cell::Value(1)
            ])
        );
        assert_eq!(variable.value_labels, [(1, "pilot".to_owned()), (2, "comparison".to_owned())]);
        assert_eq!(estimate_column("comparisons"), Some("effect_size"));
        assert_eq!(estimate_column("lorenz"), None);
    }

    #[test]
    fn labels_come_from_either_codebook_by_its_headers() {
        let dir = tempfile::tempdir().unwrap();
        // The extract's layout, then analyze's data dictionary's: `meaning` elsewhere.
        let extract = dir.path().join("extract.csv");
        std::fs::write(&extract, "table,variable,type,meaning,allowed_values\nparticipants,arm,text,Study arm,pilot; comparison\n").unwrap();
        let results = dir.path().join("results.csv");
        std::fs::write(&results, "table,variable,type,required,meaning,values\nrates,rate_per_py,number,no,Events per person-year,\n").unwrap();
        assert_eq!(codebook(&extract).unwrap()["participants"]["arm"], "Study arm");
        assert_eq!(codebook(&results).unwrap()["rates"]["rate_per_py"], "Events per person-year");
        let broken = dir.path().join("broken.csv");
        std::fs::write(&broken, "table,variable\nrates,n\n").unwrap();
        let error = codebook(&broken).unwrap_err().to_string();
        assert!(error.contains("`meaning`"), "{error}");
    }
}

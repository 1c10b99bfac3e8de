//! Stata `.dta` and SPSS `.sav` files written in memory by ReadStat, the C library behind
//! R's haven and Python's pyreadstat, loaded at run time from `libreadstat.so.1`.
//!
//! A [`Dataset`] describes one table: variables with names, labels, value labels and three
//! kinds of missing ([`Missing`]); [`ReadStat::write`] makes the file's bytes. Names are
//! made valid per format here ([`names`]), so a caller names variables after its columns
//! and never meets Stata's 32-character rule. No file I/O: the bytes go back to the caller
//! (`folge-pipeline`), which writes them atomically. Every `unsafe` block of the workspace
//! is in the private `ffi` module.
#![warn(missing_docs)]

mod ffi;
pub mod names;

/// The file formats ReadStat writes for folge.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Format {
    /// Stata `.dta`, format 118 (Stata 14 and later; UTF-8).
    Stata,
    /// SPSS `.sav` (UTF-8).
    Spss,
}

impl Format {
    /// Both formats, in the order folge writes them.
    pub const ALL: [Format; 2] = [Format::Stata, Format::Spss];

    /// The file extension, without the dot.
    pub fn extension(self) -> &'static str {
        match self {
            Format::Stata => "dta",
            Format::Spss => "sav",
        }
    }

    /// The program's name, for messages.
    pub fn program(self) -> &'static str {
        match self {
            Format::Stata => "Stata",
            Format::Spss => "SPSS",
        }
    }
}

/// Why a value is missing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Missing {
    /// No value (Stata `.`, SPSS system-missing).
    System,
    /// Withheld by disclosure control (Stata `.s`; SPSS user-missing −999999998).
    Suppressed,
    /// The statistic cannot be estimated for this row (Stata `.n`; SPSS user-missing
    /// −999999999).
    NotEstimable,
}

impl Missing {
    /// The kinds that are told apart from system-missing, in the order they are declared.
    pub const SPECIAL: [Missing; 2] = [Missing::Suppressed, Missing::NotEstimable];

    /// Stata's tag (`.s`, `.n`); `None` for system-missing.
    pub fn stata_tag(self) -> Option<u8> {
        match self {
            Missing::System => None,
            Missing::Suppressed => Some(b's'),
            Missing::NotEstimable => Some(b'n'),
        }
    }

    /// The SPSS user-missing code; `None` for system-missing. Far outside every value
    /// folge writes (counts, days, rates, ratios, category codes 1…k).
    pub fn spss_code(self) -> Option<i32> {
        match self {
            Missing::System => None,
            Missing::Suppressed => Some(-999_999_998),
            Missing::NotEstimable => Some(-999_999_999),
        }
    }

    /// The value label given to the code.
    pub fn label(self) -> &'static str {
        match self {
            Missing::System => "missing",
            Missing::Suppressed => "suppressed",
            Missing::NotEstimable => "not estimable",
        }
    }
}

/// One cell of a numeric variable.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Cell<T> {
    /// A value.
    Value(T),
    /// No value, and why.
    Missing(Missing),
}

/// A variable's values, one per row.
#[derive(Debug, Clone, PartialEq)]
pub enum Values {
    /// Text; `None` is written as the empty string (neither format has a missing string
    /// that survives a round trip).
    Text(Vec<Option<String>>),
    /// Whole numbers (Stata `long`), such as category codes or days.
    Integers(Vec<Cell<i32>>),
    /// Numbers (Stata `double`, SPSS numeric).
    Numbers(Vec<Cell<f64>>),
}

impl Values {
    /// Rows.
    pub fn len(&self) -> usize {
        match self {
            Values::Text(v) => v.len(),
            Values::Integers(v) => v.len(),
            Values::Numbers(v) => v.len(),
        }
    }

    /// Whether there are no rows.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The kinds of special missing the values hold, in [`Missing::SPECIAL`] order.
    pub fn special_missing(&self) -> Vec<Missing> {
        let held = |kind: Missing| match self {
            Values::Text(_) => false,
            Values::Integers(v) => v.contains(&Cell::Missing(kind)),
            Values::Numbers(v) => v.contains(&Cell::Missing(kind)),
        };
        Missing::SPECIAL.into_iter().filter(|k| held(*k)).collect()
    }
}

/// SPSS's level of measurement (Stata has none).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Measure {
    /// Categories without order.
    Nominal,
    /// Ordered categories.
    Ordinal,
    /// Numbers.
    Scale,
}

/// One variable (column).
#[derive(Debug, Clone, PartialEq)]
pub struct Variable {
    /// The column's name; made valid and unique per format when written.
    pub name: String,
    /// The variable label (cut to the format's limit when written).
    pub label: String,
    /// The values.
    pub values: Values,
    /// Value labels of whole-number codes (`1` = `pilot`), in code order.
    pub value_labels: Vec<(i32, String)>,
    /// SPSS's level of measurement.
    pub measure: Measure,
}

impl Variable {
    /// A variable without value labels: nominal text, scale numbers.
    pub fn new(name: impl Into<String>, label: impl Into<String>, values: Values) -> Self {
        let measure = match values {
            Values::Text(_) => Measure::Nominal,
            Values::Integers(_) | Values::Numbers(_) => Measure::Scale,
        };
        Variable {
            name: name.into(),
            label: label.into(),
            values,
            value_labels: Vec::new(),
            measure,
        }
    }

    /// With value labels for its codes (a nominal variable, unless told otherwise).
    #[must_use]
    pub fn with_value_labels(mut self, labels: Vec<(i32, String)>) -> Self {
        self.value_labels = labels;
        self.measure = Measure::Nominal;
        self
    }

    /// With another level of measurement.
    #[must_use]
    pub fn with_measure(mut self, measure: Measure) -> Self {
        self.measure = measure;
        self
    }
}

/// One table, ready to write.
#[derive(Debug, Clone, PartialEq)]
pub struct Dataset {
    /// The file label (Stata's data label, SPSS's file label), cut to the format's limit.
    pub label: String,
    /// Notes stored in the file (Stata `notes`, SPSS document lines), each cut to 80
    /// characters.
    pub notes: Vec<String>,
    /// The variables, in column order; every one has the same number of rows.
    pub variables: Vec<Variable>,
}

impl Dataset {
    /// Rows; an error when the variables disagree.
    pub fn rows(&self) -> Result<usize, Error> {
        let rows = self.variables.first().map_or(0, |v| v.values.len());
        match self.variables.iter().find(|v| v.values.len() != rows) {
            Some(other) => Err(Error::Invalid {
                table: self.label.clone(),
                message: format!(
                    "variable `{}` has {} rows, the first one {rows}",
                    other.name,
                    other.values.len()
                ),
            }),
            None => Ok(rows),
        }
    }
}

/// What went wrong. Messages name tables and variables, never a value.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// `libreadstat.so.1` could not be loaded, or lacks a function folge uses.
    #[error(
        "ReadStat is not installed here: install libreadstat1 (Debian/Ubuntu: `apt install libreadstat1`) to write .dta/.sav files ({detail})"
    )]
    NotInstalled {
        /// What the loader said.
        detail: String,
    },
    /// The dataset cannot be written as described (a bug in the caller, or text too long
    /// for the format).
    #[error("`{table}`: {message}")]
    Invalid {
        /// The dataset's label.
        table: String,
        /// What is wrong.
        message: String,
    },
    /// ReadStat refused to write.
    #[error("`{table}`: ReadStat could not write the {format} file ({step}): {message}")]
    Write {
        /// The dataset's label.
        table: String,
        /// The format's program name.
        format: &'static str,
        /// The step that failed, naming the variable where there is one.
        step: String,
        /// ReadStat's message.
        message: String,
    },
}

/// ReadStat, loaded. Loading twice is cheap (the system loader keeps one copy).
#[derive(Debug)]
pub struct ReadStat {
    api: ffi::Api,
}

/// The file name the library is loaded by (Debian's package `libreadstat1`).
pub const LIBRARY: &str = "libreadstat.so.1";

impl ReadStat {
    /// Load `libreadstat.so.1`, or the file `FOLGE_READSTAT` names; an error saying what
    /// to install when it is not there.
    pub fn load() -> Result<Self, Error> {
        let name = std::env::var_os("FOLGE_READSTAT").unwrap_or_else(|| LIBRARY.into());
        let api = ffi::Api::load(&name).map_err(|detail| Error::NotInstalled { detail })?;
        Ok(ReadStat { api })
    }

    /// The bytes of `dataset` as a `format` file. Same dataset, same bytes: the file's
    /// timestamp is fixed ([`ffi::TIMESTAMP`]).
    pub fn write(&self, format: Format, dataset: &Dataset) -> Result<Vec<u8>, Error> {
        let plan = Plan::new(format, dataset)?;
        self.api.write(&plan)
    }
}

/// A variable's storage.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Storage {
    /// Text of at most `width` bytes (Stata `str#`, SPSS `A#`).
    Text { width: usize },
    /// Long text, Stata's `strL` (more than 2045 bytes).
    LongText,
    /// Whole numbers (Stata `long`).
    Integer,
    /// Numbers.
    Double,
}

/// A variable as ReadStat is told about it: final name and labels, storage.
#[derive(Debug)]
struct PlannedVariable<'a> {
    name: std::ffi::CString,
    label: std::ffi::CString,
    storage: Storage,
    /// Value labels, special-missing labels included for SPSS (their codes).
    value_labels: Vec<(i32, std::ffi::CString)>,
    /// Stata's tagged-missing labels.
    tagged_labels: Vec<(u8, std::ffi::CString)>,
    /// SPSS's user-missing codes.
    missing_codes: Vec<f64>,
    measure: Measure,
    values: &'a Values,
}

/// A dataset checked and named for one format: everything ReadStat is given, so the
/// `ffi` module only calls.
#[derive(Debug)]
struct Plan<'a> {
    format: Format,
    table: &'a str,
    label: std::ffi::CString,
    notes: Vec<std::ffi::CString>,
    rows: usize,
    variables: Vec<PlannedVariable<'a>>,
}

/// Stata's widest `str#` (format 117 and later).
const STATA_MAX_STR: usize = 2045;
/// SPSS's widest string.
const SPSS_MAX_STR: usize = 32_767;

/// `text` as a C string: an inner NUL (which no format can store) is dropped.
fn c_string(text: &str) -> std::ffi::CString {
    std::ffi::CString::new(text.replace('\0', "")).unwrap_or_default()
}

impl<'a> Plan<'a> {
    fn new(format: Format, dataset: &'a Dataset) -> Result<Self, Error> {
        let rows = dataset.rows()?;
        let columns: Vec<&str> = dataset.variables.iter().map(|v| v.name.as_str()).collect();
        let names = names::variable_names(&columns, format);
        let mut variables = Vec::with_capacity(dataset.variables.len());
        for (variable, name) in dataset.variables.iter().zip(names) {
            let storage = match &variable.values {
                Values::Text(values) => {
                    let width = values.iter().flatten().map(String::len).max().unwrap_or(0);
                    match format {
                        Format::Stata if width > STATA_MAX_STR => Storage::LongText,
                        Format::Spss if width > SPSS_MAX_STR => {
                            return Err(Error::Invalid {
                                table: dataset.label.clone(),
                                message: format!(
                                    "variable `{}` holds text of {width} bytes, more than SPSS's {SPSS_MAX_STR}",
                                    variable.name
                                ),
                            });
                        }
                        _ => Storage::Text { width: width.max(1) },
                    }
                }
                Values::Integers(_) => Storage::Integer,
                Values::Numbers(_) => Storage::Double,
            };
            let special = variable.values.special_missing();
            let mut value_labels: Vec<(i32, std::ffi::CString)> = variable
                .value_labels
                .iter()
                .map(|(code, label)| (*code, c_string(&names::value_label(label, format))))
                .collect();
            let mut tagged_labels = Vec::new();
            let mut missing_codes = Vec::new();
            for kind in special {
                match format {
                    Format::Stata => {
                        if let Some(tag) = kind.stata_tag() {
                            tagged_labels.push((tag, c_string(kind.label())));
                        }
                    }
                    Format::Spss => {
                        if let Some(code) = kind.spss_code() {
                            value_labels.push((code, c_string(kind.label())));
                            missing_codes.push(f64::from(code));
                        }
                    }
                }
            }
            variables.push(PlannedVariable {
                name: c_string(&name),
                label: c_string(&names::variable_label(&variable.label, format)),
                storage,
                value_labels,
                tagged_labels,
                missing_codes,
                measure: variable.measure,
                values: &variable.values,
            });
        }
        Ok(Plan {
            format,
            table: &dataset.label,
            label: c_string(&names::file_label(&dataset.label, format)),
            notes: dataset.notes.iter().map(|n| c_string(&names::cut_chars(n, 80))).collect(),
            rows,
            variables,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn numbers(values: &[Option<f64>]) -> Values {
        Values::Numbers(
            values
                .iter()
                .map(|v| v.map_or(Cell::Missing(Missing::NotEstimable), Cell::Value))
                .collect(),
        )
    }

    #[test]
    fn special_missing_becomes_tags_in_stata_and_user_missing_codes_in_spss() {
        let dataset = Dataset {
            label: "rates".into(),
            notes: vec![],
            variables: vec![
                Variable::new("rate_per_py", "Rate", numbers(&[Some(1.0), None])),
                Variable::new("ci_low", "Lower", numbers(&[Some(0.5), Some(0.4)])),
            ],
        };
        let stata = Plan::new(Format::Stata, &dataset).unwrap();
        assert_eq!(stata.rows, 2);
        assert_eq!(stata.variables[0].tagged_labels, [(b'n', c_string("not estimable"))]);
        assert!(stata.variables[0].missing_codes.is_empty());
        assert!(stata.variables[1].tagged_labels.is_empty(), "declared only where held");
        let spss = Plan::new(Format::Spss, &dataset).unwrap();
        assert_eq!(spss.variables[0].missing_codes, [-999_999_999.0]);
        assert_eq!(spss.variables[0].value_labels, [(-999_999_999, c_string("not estimable"))]);
        assert!(spss.variables[0].tagged_labels.is_empty());
    }

    #[test]
    fn text_widths_choose_the_storage_and_ragged_tables_are_refused() {
        let long = "x".repeat(STATA_MAX_STR + 1);
        let dataset = Dataset {
            label: "quotes".into(),
            notes: vec![],
            variables: vec![
                Variable::new("a", "", Values::Text(vec![None, Some("abc".into())])),
                Variable::new("b", "", Values::Text(vec![None, None])),
                Variable::new("c", "", Values::Text(vec![Some(long), None])),
            ],
        };
        let plan = Plan::new(Format::Stata, &dataset).unwrap();
        let storage: Vec<Storage> = plan.variables.iter().map(|v| v.storage).collect();
        assert_eq!(
            storage,
            [Storage::Text { width: 3 }, Storage::Text { width: 1 }, Storage::LongText]
        );
        let plan = Plan::new(Format::Spss, &dataset).unwrap();
        assert_eq!(plan.variables[2].storage, Storage::Text { width: STATA_MAX_STR + 1 });
        let mut ragged = dataset;
        ragged.variables[1].values = Values::Text(vec![None]);
        let err = Plan::new(Format::Spss, &ragged).unwrap_err().to_string();
        assert_eq!(err, "`quotes`: variable `b` has 1 rows, the first one 2");
    }

    /// ReadStat itself, when installed (`FOLGE_EXPORT_TESTS=1`, which `.ci/run` sets after
    /// installing libreadstat1, makes its absence a failure).
    fn readstat() -> Option<ReadStat> {
        match ReadStat::load() {
            Ok(readstat) => Some(readstat),
            Err(e) if std::env::var("FOLGE_EXPORT_TESTS").as_deref() == Ok("1") => {
                panic!("FOLGE_EXPORT_TESTS=1 but {e}")
            }
            Err(e) => {
                eprintln!("skipped: {e}");
                None
            }
        }
    }

    #[test]
    fn readstat_writes_both_formats_the_same_bytes_every_time() {
        let Some(readstat) = readstat() else { return };
        let dataset = Dataset {
            label: "rates".into(),
            notes: vec!["made by a test".into()],
            variables: vec![
                Variable::new(
                    "arm",
                    "Study arm",
                    Values::Integers(vec![Cell::Value(1), Cell::Value(2)]),
                )
                .with_value_labels(vec![(1, "pilot".into()), (2, "comparison".into())]),
                Variable::new("rate_per_py", "Rate", numbers(&[Some(1.5), None])),
                Variable::new("text", "Text", Values::Text(vec![Some("blå".into()), None])),
                Variable::new("long", "Long", Values::Text(vec![Some("x".repeat(3000)), None])),
            ],
        };
        for format in Format::ALL {
            let bytes = readstat.write(format, &dataset).unwrap();
            assert_eq!(bytes, readstat.write(format, &dataset).unwrap(), "{format:?}");
            let magic: &[u8] = match format {
                Format::Stata => b"<stata_dta><header><release>118</release>",
                Format::Spss => b"$FL2",
            };
            assert!(bytes.starts_with(magic), "{format:?}: {:?}", &bytes[..16]);
            let text = String::from_utf8_lossy(&bytes);
            for expected in ["Study arm", "comparison", "not estimable", "blå"] {
                assert!(text.contains(expected), "{format:?} holds {expected}");
            }
        }
        let mut ragged = dataset;
        ragged.variables[0].values = Values::Integers(vec![Cell::Value(1)]);
        assert!(matches!(readstat.write(Format::Stata, &ragged), Err(Error::Invalid { .. })));
    }
}

//! The pipeline file (TOML): one file declares a whole evaluation. Unknown keys are errors
//! that name the key, its line and the closest known key; relative paths resolve against
//! the pipeline file's folder.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use folge_analyze::{Comparison, Indicator};
use folge_schema::suggest::closest;
use serde::{Deserialize, Serialize};

use crate::PipelineError;

/// The pipeline file as written.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct PipelineFile {
    /// Name of the evaluation; names the report folder.
    pub name: String,
    /// Run directory (holds `01_ingest/` with identifiable data: may lie outside the repo).
    pub output: PathBuf,
    /// `"demo"` for the public demo key (synthetic ids only) or a key file path; when
    /// absent, the environment variable `FOLGE_KEY_FILE`.
    #[serde(default)]
    pub key: Option<String>,
    /// `national` (fødselsnummer/D-number, validated) or `local` study ids.
    #[serde(default = "default_id_kind")]
    pub id_kind: IdKind,
    /// Accept synthetic test ids (month + 80/+ 65). For test and sample data only.
    #[serde(default)]
    pub allow_synthetic_ids: bool,
    /// End of the data delivery (exposure stops here): a TOML date (`2021-12-31`) or the
    /// same as a string.
    #[serde(deserialize_with = "date", serialize_with = "date_text")]
    pub data_end: NaiveDate,
    /// Report language.
    #[serde(default = "default_language")]
    pub language: LanguageCode,
    /// Analysis windows.
    #[serde(default)]
    pub periods: Periods,
    /// Input files by table.
    pub inputs: Inputs,
    /// Ingest settings.
    #[serde(default)]
    pub ingest: IngestSection,
    /// De-identification settings.
    #[serde(default)]
    pub deid: DeidSection,
    /// Closed vocabularies: the values `site`, `target_group`, municipality numbers,
    /// process steps and focus-group roles may hold (any text where no list is given).
    #[serde(default)]
    pub vocabularies: VocabulariesSection,
    /// The research extract under a REK approval (written by deid when present).
    #[serde(default)]
    pub extract: Option<ExtractSection>,
    /// Analysis settings.
    #[serde(default)]
    pub analyze: AnalyzeSection,
    /// Report settings.
    #[serde(default)]
    pub report: ReportSection,
}

/// A TOML date or a `YYYY-MM-DD` string.
fn date<'de, D: serde::Deserializer<'de>>(d: D) -> Result<NaiveDate, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum DateValue {
        Toml(toml::value::Datetime),
        Text(String),
    }
    let text = match DateValue::deserialize(d)? {
        DateValue::Toml(dt) => dt.to_string(),
        DateValue::Text(t) => t,
    };
    NaiveDate::parse_from_str(&text, "%Y-%m-%d").map_err(|_| {
        serde::de::Error::custom(format!("`{text}` is not a date (expected YYYY-MM-DD)"))
    })
}

#[expect(clippy::trivially_copy_pass_by_ref, reason = "serde's serialize_with passes a reference")]
fn date_text<S: serde::Serializer>(date: &NaiveDate, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&date.to_string())
}

/// An optional [`date`].
fn optional_date<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<NaiveDate>, D::Error> {
    date(d).map(Some)
}

#[expect(
    clippy::ref_option,
    clippy::trivially_copy_pass_by_ref,
    reason = "serde's serialize_with passes a reference"
)]
fn optional_date_text<S: serde::Serializer>(
    date: &Option<NaiveDate>,
    s: S,
) -> Result<S::Ok, S::Error> {
    match date {
        Some(date) => s.serialize_str(&date.to_string()),
        None => s.serialize_none(),
    }
}

fn default_id_kind() -> IdKind {
    IdKind::National
}
fn default_language() -> LanguageCode {
    LanguageCode::Nb
}

/// Kind of person id in the inputs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum IdKind {
    /// National ids, validated.
    National,
    /// Local study ids.
    Local,
}

/// Report language code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LanguageCode {
    /// Bokmål.
    Nb,
    /// English.
    En,
}

/// Windows relative to inclusion, in whole days.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Periods {
    /// `before` = days −`before_days..−1`.
    #[serde(default = "default_days")]
    pub before_days: u32,
    /// `after` = days `0..after_days−1`.
    #[serde(default = "default_days")]
    pub after_days: u32,
    /// Further named windows, e.g. `[[periods.windows]] name = "after_730"`, `from = 0`,
    /// `to = 729` (days relative to inclusion, both inclusive).
    #[serde(default)]
    pub windows: Vec<NamedWindow>,
}

/// A further analysis window.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct NamedWindow {
    /// Period name in `indicators.parquet`.
    pub name: String,
    /// First day (inclusion = 0).
    pub from: i32,
    /// Last day.
    pub to: i32,
}

fn default_days() -> u32 {
    365
}

impl Default for Periods {
    fn default() -> Self {
        Periods { before_days: 365, after_days: 365, windows: Vec::new() }
    }
}

/// The input files, one per canonical table.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Inputs {
    /// The inclusion list.
    pub participants: InputFile,
    /// Event-level service use: one `[inputs.service_events]` table, or several
    /// `[[inputs.service_events]]` (a hospital and a municipal extract), read into one
    /// table.
    #[serde(default, deserialize_with = "one_or_many")]
    pub service_events: Vec<InputFile>,
    /// Pre-aggregated monthly service use (`person_id, month, service, count, days,
    /// hours`), kept as `service_counts`; one table or several.
    #[serde(default, deserialize_with = "one_or_many")]
    pub service_counts: Vec<InputFile>,
    /// The framework's step log.
    #[serde(default)]
    pub process_events: Option<InputFile>,
    /// Focus-group codings: one `[inputs.codings]` table, or several `[[inputs.codings]]`
    /// (a coding sheet and a REFI-QDA project, two teams' projects), each a long coding
    /// sheet (`csv`, or a QDA program's export by `layout`) or a REFI-QDA project
    /// (`qdpx`), read into one table whose `source` column tells them apart. Quotes are
    /// scrubbed by deid.
    #[serde(default, deserialize_with = "one_or_many")]
    pub codings: Vec<InputFile>,
    /// Questionnaire exports by name (`pacic_t0`), each melted by its codebook (or a
    /// REDCap data dictionary) into `responses`; free text is scrubbed by deid.
    #[serde(default)]
    pub questionnaires: BTreeMap<String, InputFile>,
}

impl Inputs {
    /// Name every input by its place in the pipeline file: `inputs.<table>`, with its
    /// position (from 0) when the table has several files, and the questionnaire's name.
    fn set_roles(&mut self) {
        self.participants.role = "inputs.participants".into();
        for (table, files) in [
            ("service_events", &mut self.service_events),
            ("service_counts", &mut self.service_counts),
            ("codings", &mut self.codings),
        ] {
            let several = files.len() > 1;
            for (i, f) in files.iter_mut().enumerate() {
                f.role = if several {
                    format!("inputs.{table}[{i}]")
                } else {
                    format!("inputs.{table}")
                };
            }
        }
        if let Some(f) = &mut self.process_events {
            f.role = "inputs.process_events".into();
        }
        for (name, f) in &mut self.questionnaires {
            f.role = format!("inputs.questionnaires.{name}");
        }
    }
}

/// Longest `source` label of a codings input, in characters: a label, not a note.
const MAX_SOURCE_LABEL: usize = 40;
/// Most digits a `source` label may hold: a year or a kommunenummer, never an id's or a
/// phone number's worth.
const MAX_SOURCE_DIGITS: usize = 4;

/// Check the codings inputs' `source` labels and fill the absent ones with the input's
/// place (`codings[1]`). A label travels into `02_deid/` and the report, so it is short
/// text on one line with too few digits for an id or a phone number (the deid
/// detector re-reads it there all the same), given only on codings inputs, and no two
/// codings inputs share one (their groups, segments and coders are told apart by it).
fn check_sources(inputs: &mut Inputs) -> Vec<String> {
    let mut problems = Vec::new();
    let others = std::iter::once(&inputs.participants)
        .chain(&inputs.service_events)
        .chain(&inputs.service_counts)
        .chain(&inputs.process_events)
        .chain(inputs.questionnaires.values());
    for input in others.filter(|i| i.source.is_some()) {
        problems
            .push(format!("`{}.source`: only codings inputs take a `source` label", input.role));
    }
    for input in &mut inputs.codings {
        if let Some(label) = &input.source {
            let digits = label.chars().filter(char::is_ascii_digit).count();
            if label.trim().is_empty()
                || label.trim() != label
                || label.chars().count() > MAX_SOURCE_LABEL
                || label.chars().any(char::is_control)
                || digits > MAX_SOURCE_DIGITS
            {
                problems.push(format!(
                    "`{}.source = \"{}\"`: expected a short label on one line (1–{MAX_SOURCE_LABEL} characters, no leading or trailing spaces, at most {MAX_SOURCE_DIGITS} digits), e.g. \"team Voss\"",
                    input.role,
                    folge_schema::shown(label),
                ));
            }
        } else {
            input.source = Some(input.source().to_owned());
        }
    }
    let mut seen: BTreeMap<&str, &str> = BTreeMap::new();
    for input in &inputs.codings {
        if let Some(first) = seen.insert(input.source(), &input.role) {
            problems.push(format!(
                "`{}.source`: `{}` is already the source of `{first}`; each codings input needs its own (their focus groups and coders are told apart by it)",
                input.role,
                folge_schema::shown(input.source())
            ));
        }
    }
    problems
}

/// One input table or an array of them. Written as a visitor rather than an untagged
/// enum so that a typo inside a single table still gets serde's "unknown field" error,
/// which the loader turns into a did-you-mean with the line.
fn one_or_many<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<InputFile>, D::Error> {
    struct Visitor;
    impl<'de> serde::de::Visitor<'de> for Visitor {
        type Value = Vec<InputFile>;
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("an input table or an array of input tables")
        }
        fn visit_map<A: serde::de::MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
            InputFile::deserialize(serde::de::value::MapAccessDeserializer::new(map))
                .map(|f| vec![f])
        }
        fn visit_seq<A: serde::de::SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
            Vec::<InputFile>::deserialize(serde::de::value::SeqAccessDeserializer::new(seq))
        }
    }
    d.deserialize_any(Visitor)
}

/// One input file.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct InputFile {
    /// Path, relative to the pipeline file's folder.
    pub path: PathBuf,
    /// File format.
    #[serde(default = "default_format")]
    pub format: InputFormat,
    /// Field delimiter (`;`, `,` or `\t`); sniffed when absent.
    #[serde(default)]
    pub delimiter: Option<char>,
    /// Text encoding (`utf-8`, `windows-1252`, `iso-8859-1`, `utf-16`, …); detected when
    /// absent.
    #[serde(default)]
    pub encoding: Option<String>,
    /// Layout: `canonical` (default); for service use `npr` (an NPR-style hospital
    /// extract: `fnr`, `inndato`, `utdato`, `omsorgsniva`, `innmateHast`) or `kpr` (a
    /// KPR-style municipal extract of decisions: `fnr`, `tjenestekode`, `fradato`,
    /// `tildato`, `timerPerUke`); for codings `maxqda`, `atlasti` or `nvivo` (their
    /// coded-segment exports).
    #[serde(default)]
    pub layout: Option<String>,
    /// Questionnaires: the codebook (TOML), relative to the pipeline file. Beside
    /// `redcap_dictionary` it holds only scale definitions for the dictionary's forms
    /// (`[[instruments]]` with `name` = a form, `score`, `min_answered`, `reverse`,
    /// `subscales`, `missing_codes`): items, ranges and labels stay the dictionary's.
    #[serde(default)]
    pub codebook: Option<PathBuf>,
    /// Questionnaires: a REDCap data dictionary (CSV) to build the codebook from (its
    /// forms are scored only when `codebook` defines their scales); the timepoint then
    /// comes from `redcap_event_name` unless `timepoint` or `timepoint_column` says
    /// otherwise.
    #[serde(default)]
    pub redcap_dictionary: Option<PathBuf>,
    /// Questionnaires: the timepoint of every submission in the file (`T0`).
    #[serde(default)]
    pub timepoint: Option<String>,
    /// Questionnaires: the column holding each submission's timepoint.
    #[serde(default)]
    pub timepoint_column: Option<String>,
    /// Questionnaires: timepoint column values → timepoint names
    /// (`{ t0_arm_1 = "T0" }`); a value not listed is rejected.
    #[serde(default)]
    pub timepoints: BTreeMap<String, String>,
    /// Questionnaires: cell texts meaning "no answer" (REDCap missing-data codes such as
    /// `UNK`), added to the codebook's.
    #[serde(default)]
    pub missing_text: Vec<String>,
    /// Questionnaires from REDCap: accept only submissions whose `<form>_complete` is 2
    /// (Complete).
    #[serde(default)]
    pub require_complete: bool,
    /// Questionnaires: the column with the submission time (Nettskjema: `$created`).
    #[serde(default)]
    pub date_column: Option<String>,
    /// Spreadsheet sheet by name or 1-based number (`format = "xlsx"`); the first when absent.
    #[serde(default)]
    pub sheet: Option<String>,
    /// Header names for canonical columns when the file names them otherwise, e.g.
    /// `columns = { person_id = "lopenr" }`.
    #[serde(default)]
    pub columns: BTreeMap<String, String>,
    /// Order of dates whose parts are all one or two digits (`03.04.05`): `dmy`
    /// (default), `ymd` or `mdy`. Such dates are counted in a warning either way.
    #[serde(default)]
    pub date_order: DateOrderCode,
    /// Whether duplicate rows are looked for in this file; `ingest.duplicates` when absent.
    #[serde(default)]
    pub duplicates: Option<DuplicatesCode>,
    /// What becomes of a duplicate row: `keep` (kept and reported) or `reject`;
    /// `ingest.duplicate_rows` when absent, and without that `keep` for event inputs
    /// (service and process events) and `reject` for the others (filled at load).
    #[serde(default)]
    pub duplicate_rows: Option<DuplicateRowsCode>,
    /// Service use in the canonical layout: the file's own service codes → folge's
    /// (`{ Hjemmesykepleie = "home_nursing", Legevakt = "out_of_hours" }`).
    #[serde(default)]
    pub service_codes: BTreeMap<String, String>,
    /// Codings: the label of this input's rows in the `source` column (`"team Voss"`),
    /// which travels into `02_deid/`, the analysis and the report; its place in the
    /// pipeline file without `inputs.` (`codings`, `codings[1]`) when absent (filled at
    /// load). Never a file name: file names can hold people's names.
    #[serde(default)]
    pub source: Option<String>,
    /// A delivery with no data rows (a header only, a project without codings) is
    /// expected: it reads as an empty table instead of stopping ingest.
    #[serde(default)]
    pub allow_empty: bool,
    /// The input's place in the pipeline file (`inputs.participants`,
    /// `inputs.service_events[1]`), set at load: messages, logs and manifests name an input
    /// by it, never by its file name (people name files after persons).
    #[serde(skip)]
    pub role: String,
}

/// `date_order` as written in a pipeline file.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum DateOrderCode {
    /// Day, month, year.
    #[default]
    Dmy,
    /// Year, month, day.
    Ymd,
    /// Month, day, year.
    Mdy,
}

/// `duplicate_rows` as written in a pipeline file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum DuplicateRowsCode {
    /// Kept as rows of their own, and counted in a warning.
    Keep,
    /// Rejected, each naming the row it repeats.
    Reject,
}

/// `duplicates` as written in a pipeline file. `grouped` and `all`, the settings of
/// versions that could look for duplicates only within a person's run of rows or with
/// memory growing with the file, read as `on` (and hash as it).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum DuplicatesCode {
    /// Every duplicate row of the file, in any order.
    #[default]
    #[serde(alias = "grouped", alias = "all")]
    On,
    /// Not checked.
    Off,
}

impl InputFile {
    /// How to read dates.
    pub fn date_order(&self) -> folge_ingest::values::DateOrder {
        use folge_ingest::values::DateOrder;
        match self.date_order {
            DateOrderCode::Dmy => DateOrder::DayMonthYear,
            DateOrderCode::Ymd => DateOrder::YearMonthDay,
            DateOrderCode::Mdy => DateOrder::MonthDayYear,
        }
    }

    /// The file's own service codes (checked at load).
    pub fn service_codes(&self) -> BTreeMap<String, folge_schema::Service> {
        self.service_codes
            .iter()
            .filter_map(|(own, code)| folge_schema::Service::parse(code).map(|s| (own.clone(), s)))
            .collect()
    }

    /// What becomes of duplicate rows (filled at load; `reject` if it was not).
    pub fn duplicate_rows(&self) -> folge_ingest::DuplicateRows {
        match self.duplicate_rows {
            Some(DuplicateRowsCode::Keep) => folge_ingest::DuplicateRows::Keep,
            Some(DuplicateRowsCode::Reject) | None => folge_ingest::DuplicateRows::Reject,
        }
    }

    /// Whether to look for duplicate rows (filled from `ingest.duplicates` at load).
    pub fn duplicates(&self) -> folge_ingest::DuplicateCheck {
        match self.duplicates.unwrap_or_default() {
            DuplicatesCode::On => folge_ingest::DuplicateCheck::On,
            DuplicatesCode::Off => folge_ingest::DuplicateCheck::Off,
        }
    }

    /// The label of a codings input's rows (filled at load; the role without `inputs.`
    /// if it was not).
    pub fn source(&self) -> &str {
        self.source
            .as_deref()
            .unwrap_or_else(|| self.role.strip_prefix("inputs.").unwrap_or(&self.role))
    }

    /// The service-use layout (checked at load).
    pub fn layout(&self) -> folge_ingest::Layout {
        match self.layout.as_deref() {
            Some("npr") => folge_ingest::Layout::Npr,
            Some("kpr") => folge_ingest::Layout::Kpr,
            Some("maxqda") => folge_ingest::Layout::Maxqda,
            Some("atlasti") => folge_ingest::Layout::AtlasTi,
            Some("nvivo") => folge_ingest::Layout::Nvivo,
            _ => folge_ingest::Layout::Canonical,
        }
    }
}

fn default_format() -> InputFormat {
    InputFormat::Csv
}

/// Input file formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum InputFormat {
    /// Delimited text.
    Csv,
    /// A REFI-QDA project archive (codings only).
    Qdpx,
    /// A spreadsheet (`.xlsx`, `.xls`, `.ods`): one sheet, see `sheet`.
    Xlsx,
}

/// Ingest settings.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct IngestSection {
    /// Share of rejected rows (per input) above which the stage fails. Default 0.01.
    #[serde(default = "default_max_reject_share")]
    pub max_reject_share: f64,
    /// Whether duplicate rows are looked for: `on` (default: every one, in any order of
    /// the rows) or `off`; `grouped` and `all`, earlier versions' settings, mean `on`. An
    /// input's own `duplicates` wins.
    #[serde(default)]
    pub duplicates: DuplicatesCode,
    /// What becomes of a duplicate row in every input without its own `duplicate_rows`:
    /// `keep` or `reject`. Unset: event inputs (service and process events) keep them and
    /// report how many (two contacts on one day can look alike), the others reject them.
    #[serde(default)]
    pub duplicate_rows: Option<DuplicateRowsCode>,
}

fn default_max_reject_share() -> f64 {
    0.01
}

impl Default for IngestSection {
    fn default() -> Self {
        IngestSection {
            max_reject_share: default_max_reject_share(),
            duplicates: DuplicatesCode::default(),
            duplicate_rows: None,
        }
    }
}

/// De-identification settings.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct DeidSection {
    /// A file of further names to scrub from free text (staff, relatives), one per line;
    /// relative to the pipeline file. Lines starting with `#` are comments.
    #[serde(default)]
    pub names_file: Option<PathBuf>,
    /// Free-text items whose answers are dropped instead of scrubbed.
    #[serde(default)]
    pub drop_text: Vec<String>,
    /// Drop focus-group quotes instead of scrubbing them.
    #[serde(default)]
    pub drop_quotes: bool,
    /// Upper bounds of the age bands (the last band is open); default 5, 12, 17, 66, 79.
    #[serde(default)]
    pub age_bands: Option<Vec<u32>>,
    /// Keep the quarter of inclusion (`inclusion_quarter`, 1–4) besides the year.
    #[serde(default)]
    pub inclusion_quarter: bool,
    /// Keep focus-group coders' names in zone 2; by default they become `coder 1`,
    /// `coder 2`, … (numbered in the order of their sorted names).
    #[serde(default)]
    pub keep_coder_names: bool,
}

/// The values columns may hold (`[vocabularies]`). A value outside a list rejects its
/// row, with a reason that names the column and the list but never the value; a column
/// without a list takes any text — lists are the safe setting, since a free value (a
/// name typed into `site`) travels on into zone 2 and the report.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct VocabulariesSection {
    /// Participants' `site`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sites: Option<Vec<String>>,
    /// Participants' `target_group`, e.g. `barn`, `eldre` or Vårdanalys groups `1`–`5`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_groups: Option<Vec<String>>,
    /// Kommunenummer (4 digits) of participants and focus groups.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub municipalities: Option<Vec<String>>,
    /// Process steps besides the framework's elements A–E (always allowed); `[]` allows
    /// A–E only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub steps: Option<Vec<String>>,
    /// Focus-group roles, e.g. `leder`, `tjenesteyter`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub roles: Option<Vec<String>>,
}

impl VocabulariesSection {
    /// The lists as folge-ingest checks them.
    fn vocabularies(&self) -> folge_ingest::Vocabularies {
        let list = |name: &str, values: &Option<Vec<String>>| {
            values.as_ref().map(|v| {
                folge_ingest::Vocabulary::new(format!("vocabularies.{name}"), v.iter().cloned())
            })
        };
        folge_ingest::Vocabularies {
            sites: list("sites", &self.sites),
            target_groups: list("target_groups", &self.target_groups),
            municipalities: list("municipalities", &self.municipalities),
            steps: self
                .steps
                .as_ref()
                .map(|v| folge_ingest::Vocabulary::steps("vocabularies.steps", v.iter().cloned())),
            roles: list("roles", &self.roles),
        }
    }
}

/// The research extract: what goes in and how it is protected.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ExtractSection {
    /// The REK approval.
    pub rek: RekApproval,
    /// Variables to export (`table.column`); all approved ones when absent. Each must be
    /// approved.
    #[serde(default)]
    pub variables: Vec<String>,
    /// Smallest class size on the quasi-identifiers. Default 5.
    #[serde(default = "default_k")]
    pub k: usize,
    /// Participants' columns an outsider could know. Default `age_band`, `sex`,
    /// `municipality`, `target_group`.
    #[serde(default = "default_quasi_identifiers")]
    pub quasi_identifiers: Vec<String>,
    /// Order in which quasi-identifier cells are suppressed, least important first.
    /// Default `target_group`, `sex`, `age_band`, `municipality`.
    #[serde(default = "default_suppression_order")]
    pub suppression_order: Vec<String>,
    /// Merge municipalities with fewer persons than this into `other` before suppressing.
    #[serde(default)]
    pub merge_municipalities_below: Option<usize>,
}

/// The REK approval behind an extract.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RekApproval {
    /// Reference, e.g. `REK vest 2019/1234`.
    pub reference: String,
    /// Approved variables, `table.column`.
    pub approved: Vec<String>,
    /// Last day data may be exported under the approval.
    #[serde(deserialize_with = "date", serialize_with = "date_text")]
    pub end_date: NaiveDate,
}

fn default_k() -> usize {
    5
}

fn default_quasi_identifiers() -> Vec<String> {
    ["age_band", "sex", "municipality", "target_group"].map(str::to_owned).to_vec()
}

fn default_suppression_order() -> Vec<String> {
    ["target_group", "sex", "age_band", "municipality"].map(str::to_owned).to_vec()
}

impl ExtractSection {
    /// The extract's specification for folge-deid (`age_bands`: `[deid] age_bands`).
    pub fn spec(&self, age_bands: Option<&[u32]>) -> folge_deid::ExtractSpec {
        folge_deid::ExtractSpec {
            reference: self.rek.reference.clone(),
            approved: self.rek.approved.clone(),
            variables: self.variables.clone(),
            end_date: self.rek.end_date,
            k: self.k,
            quasi_identifiers: self.quasi_identifiers.clone(),
            suppression_order: self.suppression_order.clone(),
            merge_municipalities_below: self.merge_municipalities_below,
            age_bands: age_bands
                .map_or_else(folge_deid::AgeBands::default, |b| folge_deid::AgeBands(b.to_vec())),
        }
    }
}

/// Analysis settings.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct AnalyzeSection {
    /// Indicator ids to compute; all when absent.
    #[serde(default)]
    pub indicators: Option<Vec<String>>,
    /// Comparisons (`before_after`, `pilot_vs_comparison`); all when absent.
    #[serde(default)]
    pub comparisons: Option<Vec<String>>,
    /// The two questionnaire timepoints whose scale scores are compared. Default T0, T1.
    #[serde(default = "default_timepoints")]
    pub timepoints: [String; 2],
    /// Fewest persons behind an estimate; smaller groups get a row with the reason.
    /// Default 5.
    #[serde(default = "default_min_n")]
    pub min_n: usize,
    /// Bed-days of a same-day inpatient stay: 0 (default, as SSB/NPR) or 0.5 (SAMDATA).
    #[serde(default)]
    pub same_day_bed_days: f64,
    /// When admission and discharge times are delivered (NPR `innTid`/`utTid`): an
    /// episode starting less than this many hours after a discharge continues the stay,
    /// and a readmission starts at least this long after it. Default 8, as the national
    /// 30-day readmission indicator; 0–48.
    #[serde(default = "default_stay_gap_hours")]
    pub stay_gap_hours: u32,
    /// Multiplicity adjustment within each family of comparisons: `holm` (default), `bh`
    /// (Benjamini–Hochberg) or `bonferroni`.
    #[serde(default)]
    pub adjustment: AdjustmentCode,
    /// The model for whole counts: `poisson` (default) or `negative_binomial`; both with
    /// CR1 cluster-robust SEs by person. Days that are not whole, hours and deaths always
    /// get the Poisson model.
    #[serde(default)]
    pub count_model: Option<String>,
    /// Adjusted pilot-vs-comparison estimates (unadjusted when absent).
    #[serde(default)]
    pub adjust: Option<AdjustSection>,
    /// How the person-clustered variance of rates and unadjusted comparisons is estimated:
    /// `jackknife` (default: CV3, each person left out once) or `cr1` (the sandwich,
    /// `sandwich::vcovCL(type = "HC1")`). Adjusted and negative binomial models use CR1.
    #[serde(default)]
    pub cluster_variance: Option<String>,
}

fn default_timepoints() -> [String; 2] {
    ["T0".into(), "T1".into()]
}

fn default_min_n() -> usize {
    5
}

fn default_stay_gap_hours() -> u32 {
    8
}

impl Default for AnalyzeSection {
    fn default() -> Self {
        AnalyzeSection {
            indicators: None,
            comparisons: None,
            timepoints: default_timepoints(),
            min_n: default_min_n(),
            same_day_bed_days: 0.0,
            stay_gap_hours: default_stay_gap_hours(),
            adjustment: AdjustmentCode::default(),
            count_model: None,
            adjust: None,
            cluster_variance: None,
        }
    }
}

/// `[analyze.adjust]`: covariates and balancing weights for pilot vs comparison.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct AdjustSection {
    /// Any of `age_band`, `sex`, `target_group` (outcome model and propensity score) and
    /// `before_use` (each indicator's before-window rate; propensity score only).
    #[serde(default)]
    pub covariates: Vec<String>,
    /// `none` (default: covariates in the outcome model only), `ipw` or `overlap`.
    #[serde(default)]
    pub weights: Option<String>,
}

/// `analyze.adjustment` as written.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum AdjustmentCode {
    /// Holm's step-down.
    #[default]
    Holm,
    /// Benjamini–Hochberg false discovery rate.
    Bh,
    /// Bonferroni.
    Bonferroni,
}

/// Report settings.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ReportSection {
    /// Report folder, relative to the pipeline file; default `<output>/04_report`.
    #[serde(default)]
    pub dir: Option<PathBuf>,
    /// Counts 1..threshold−1 are suppressed. Default 5.
    #[serde(default = "default_threshold")]
    pub suppression_threshold: u32,
    /// Sections to include, in report order: `summary`, `methods`, `participants`, `use`,
    /// `effects`, `municipalities`, `concentration`, `scales`, `focus_groups` (default all).
    #[serde(default)]
    pub sections: Option<Vec<String>>,
    /// Names shown for kommunenummer (`{ "4601" = "Bergen" }`), over the table folge
    /// ships (`folge_report::MUNICIPALITY_NAMES`); a number without a name shows as
    /// itself.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub municipality_names: BTreeMap<String, String>,
    /// Labels shown for the participants' target groups (`{ "4" = "Sammensatte behov" }`);
    /// a value without one shows as itself.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub target_groups: BTreeMap<String, String>,
    /// Title on the first page and in the page's (and so the PDF's) metadata; default
    /// "Sluttrapport: <name>" ("Final report: <name>" in English).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// Subtitle under the title.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subtitle: Option<String>,
    /// Authors, in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub authors: Vec<String>,
    /// The organisation the report is from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub organisation: Option<String>,
    /// The report's date (a TOML date, `2022-06-15`); none is printed without it (a
    /// report holds no timestamp of its run).
    #[serde(
        default,
        deserialize_with = "optional_date",
        serialize_with = "optional_date_text",
        skip_serializing_if = "Option::is_none"
    )]
    pub date: Option<NaiveDate>,
    /// The report's own version (`"1.0"`, `"utkast 2"`), not folge's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// How `tables/*.csv` are written: `nb`, `;` between fields and a decimal comma (as a
    /// Norwegian-locale Excel opens them), or `en`, `,` and a decimal point. Default: the
    /// report's `language`.
    #[serde(default)]
    pub csv: Option<LanguageCode>,
}

fn default_threshold() -> u32 {
    5
}

impl Default for ReportSection {
    fn default() -> Self {
        ReportSection {
            dir: None,
            suppression_threshold: 5,
            sections: None,
            municipality_names: BTreeMap::new(),
            target_groups: BTreeMap::new(),
            title: None,
            subtitle: None,
            authors: Vec::new(),
            organisation: None,
            date: None,
            version: None,
            csv: None,
        }
    }
}

/// A loaded, validated pipeline with absolute paths.
#[derive(Debug, Clone)]
pub struct Pipeline {
    /// The pipeline file's own path.
    pub file: PathBuf,
    /// Its folder: relative paths resolve here.
    pub base: PathBuf,
    /// The settings, paths resolved.
    pub config: PipelineFile,
    /// Indicators to compute.
    pub indicators: Vec<Indicator>,
    /// Comparisons to make.
    pub comparisons: Vec<Comparison>,
    /// Report sections, in report order.
    pub sections: Vec<folge_report::Section>,
    /// The model for whole counts.
    pub count_model: folge_analyze::CountModel,
    /// Covariates and weights for pilot vs comparison; `None`: unadjusted.
    pub confounders: Option<folge_analyze::ConfounderAdjustment>,
    /// How person-clustered variances are estimated.
    pub cluster_variance: folge_analyze::ClusterVariance,
    /// The closed vocabularies ingest checks values against.
    pub vocabularies: std::sync::Arc<folge_ingest::Vocabularies>,
}

/// Remove `.` and `name/..` lexically (no filesystem access: the path may not exist yet),
/// so messages show `reports/sample`, not `pipelines/../reports/sample`.
pub(crate) fn normalize(path: &Path) -> PathBuf {
    use std::path::Component;
    let mut out: Vec<Component<'_>> = Vec::new();
    for component in path.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir if matches!(out.last(), Some(Component::Normal(_))) => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    if out.is_empty() { PathBuf::from(".") } else { out.iter().collect() }
}

/// Parse a list of ids against the known ones (all of them when the key is absent); an
/// unknown id names the key, the known ids and the closest one.
fn parse_ids<T: Copy>(
    ids: Option<&[String]>,
    all: &[T],
    id_of: fn(T) -> &'static str,
    key: &str,
) -> Result<Vec<T>, String> {
    let Some(ids) = ids else {
        return Ok(all.to_vec());
    };
    ids.iter()
        .map(|id| {
            all.iter().copied().find(|x| id_of(*x) == id).ok_or_else(|| {
                let known = all.iter().map(|x| id_of(*x));
                if let Some(c) = closest(id, known) {
                    format!("`{key}`: unknown id `{id}`; did you mean `{c}`?")
                } else {
                    let list: Vec<String> =
                        all.iter().map(|x| format!("`{}`", id_of(*x))).collect();
                    format!("`{key}`: unknown id `{id}` (known: {})", list.join(", "))
                }
            })
        })
        .collect()
}

fn line_of(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())].matches('\n').count() + 1
}

/// Turn a TOML/serde error into a sentence with the file, line and — for an unknown key —
/// the closest known key.
fn config_error(file: &Path, text: &str, err: &toml::de::Error) -> PipelineError {
    let line = err.span().map(|s| line_of(text, s.start));
    let message = err.message().trim().to_owned();
    // serde's wording: "unknown field `x`, expected one of `a`, `b`" (or "expected `a`").
    let detail = if let Some(rest) = message.strip_prefix("unknown field `") {
        let (key, expected) = rest.split_once('`').unwrap_or((rest, ""));
        let known: Vec<&str> = expected.split('`').skip(1).step_by(2).collect();
        let suggestion = closest(key, known.iter().copied()).map_or_else(
            || {
                if known.is_empty() {
                    String::new()
                } else {
                    format!(
                        "; known keys here: {}",
                        known.iter().map(|k| format!("`{k}`")).collect::<Vec<_>>().join(", ")
                    )
                }
            },
            |c| format!("; did you mean `{c}`?"),
        );
        format!("unknown key `{key}`{suggestion}")
    } else {
        message
    };
    PipelineError::config(file, line, detail)
}

impl Pipeline {
    /// Read and validate a pipeline file.
    pub fn load(file: &Path) -> Result<Self, PipelineError> {
        let text = std::fs::read_to_string(file)
            .map_err(|e| PipelineError::config_because(file, "cannot read the pipeline file", e))?;
        Self::parse(file, &text)
    }

    /// Validate pipeline text that was read from `file`.
    pub fn parse(file: &Path, text: &str) -> Result<Self, PipelineError> {
        let mut config: PipelineFile =
            toml::from_str(text).map_err(|e| config_error(file, text, &e))?;
        // Every problem found, reported together (a pipeline file is fixed in one go).
        let mut problems: Vec<String> = Vec::new();
        let base = file.parent().map_or_else(|| PathBuf::from("."), Path::to_path_buf);
        let base = if base.as_os_str().is_empty() { PathBuf::from(".") } else { base };
        let resolve =
            |p: &Path| normalize(&if p.is_absolute() { p.to_owned() } else { base.join(p) });
        config.output = resolve(&config.output);
        config.report.dir = Some(
            config.report.dir.as_deref().map_or_else(|| config.output.join("04_report"), resolve),
        );
        config.inputs.participants.path = resolve(&config.inputs.participants.path);
        // Resolved once: the CSV tables follow the report's language unless told.
        config.report.csv.get_or_insert(config.language);
        config.deid.names_file = config.deid.names_file.as_deref().map(&resolve);
        if let Some(bands) = &config.deid.age_bands
            && (bands.is_empty() || bands.windows(2).any(|w| w[0] >= w[1]))
        {
            problems.push(
                "`deid.age_bands` must list rising upper bounds, e.g. [5, 12, 17, 66, 79]".into(),
            );
        }
        let duplicates = config.ingest.duplicates;
        config.inputs.participants.duplicates.get_or_insert(duplicates);
        // Duplicate rows: kept in event inputs unless told otherwise, rejected elsewhere.
        let rows = config.ingest.duplicate_rows;
        for input in
            config.inputs.service_events.iter_mut().chain(&mut config.inputs.process_events)
        {
            input.duplicate_rows.get_or_insert(rows.unwrap_or(DuplicateRowsCode::Keep));
        }
        for input in std::iter::once(&mut config.inputs.participants)
            .chain(&mut config.inputs.codings)
            .chain(&mut config.inputs.service_counts)
            .chain(config.inputs.questionnaires.values_mut())
        {
            input.duplicate_rows.get_or_insert(rows.unwrap_or(DuplicateRowsCode::Reject));
        }
        for input in config
            .inputs
            .process_events
            .iter_mut()
            .chain(&mut config.inputs.codings)
            .chain(&mut config.inputs.service_events)
            .chain(&mut config.inputs.service_counts)
            .chain(config.inputs.questionnaires.values_mut())
        {
            input.path = resolve(&input.path);
            input.duplicates.get_or_insert(duplicates);
            input.codebook = input.codebook.as_deref().map(&resolve);
            input.redcap_dictionary = input.redcap_dictionary.as_deref().map(&resolve);
        }
        config.inputs.set_roles();
        problems.extend(check_sources(&mut config.inputs));
        for (name, q) in &config.inputs.questionnaires {
            let redcap = q.redcap_dictionary.is_some();
            if q.codebook.is_none() && !redcap {
                problems.push(format!(
                    "`inputs.questionnaires.{name}` needs either `codebook` (a TOML file of instruments) or `redcap_dictionary` (REDCap's data dictionary CSV)"
                ));
            }
            if !redcap && q.timepoint.is_none() == q.timepoint_column.is_none() {
                problems.push(format!(
                    "`inputs.questionnaires.{name}` needs either `timepoint` (e.g. \"T0\", one file per timepoint) or `timepoint_column`"
                ));
            }
            if q.timepoint.is_some() && q.timepoint_column.is_some() {
                problems.push(format!(
                    "`inputs.questionnaires.{name}`: give `timepoint` or `timepoint_column`, not both"
                ));
            }
            if q.require_complete && !redcap {
                problems.push(format!(
                    "`inputs.questionnaires.{name}.require_complete` needs `redcap_dictionary` (it reads REDCap's `<form>_complete` columns)"
                ));
            }
        }
        if let Some(key) = &config.key
            && key != "demo"
        {
            config.key = Some(resolve(Path::new(key)).to_string_lossy().into_owned());
        }
        for (table, input) in [("participants", &config.inputs.participants)]
            .into_iter()
            .chain(config.inputs.service_events.iter().map(|f| ("service_events", f)))
            .chain(config.inputs.service_counts.iter().map(|f| ("service_counts", f)))
            .chain(config.inputs.process_events.iter().map(|f| ("process_events", f)))
            .chain(config.inputs.codings.iter().map(|f| ("codings", f)))
        {
            let role = &input.role;
            if input.format == InputFormat::Qdpx && table != "codings" {
                problems.push(format!(
                    "`{role}.format = \"qdpx\"`: REFI-QDA projects hold codings only"
                ));
            }
            match (table, input.layout.as_deref()) {
                (_, None | Some("canonical"))
                | ("service_events", Some("npr" | "kpr"))
                | ("codings", Some("maxqda" | "atlasti" | "nvivo")) => {}
                (_, Some(other)) => {
                    problems.push(format!(
                        "`{role}.layout = \"{other}\"`: known layouts are `canonical`; for service_events `npr` and `kpr`; for codings `maxqda`, `atlasti` and `nvivo`"
                    ));
                }
            }
            if !input.service_codes.is_empty()
                && (table != "service_events" || input.layout() != folge_ingest::Layout::Canonical)
            {
                problems.push(format!(
                    "`{role}.service_codes` maps a service-use file's own codes, and only in the canonical layout (NPR and KPR codes are built in)"
                ));
            }
            for (own, code) in &input.service_codes {
                if folge_schema::Service::parse(code).is_none() {
                    let known = folge_schema::Service::expected();
                    let hint = closest(code, known.split(", ").map(|k| k.trim_matches('`')))
                        .map_or_else(
                            || format!(" (expected one of {known})"),
                            |c| format!("; did you mean `{c}`?"),
                        );
                    problems.push(format!(
                        "`{role}.service_codes`: `{own}` maps to `{code}`, which is not a folge service{hint}"
                    ));
                }
            }
            if let Some(label) = &input.encoding
                && folge_ingest::Encoding::for_label(label.as_bytes()).is_none()
            {
                {
                    problems.push(format!(
                        "`encoding = \"{label}\"` is not an encoding folge knows (try `utf-8` or `windows-1252`)"
                    ));
                }
            }
        }
        let vocabularies = &config.vocabularies;
        for (name, list) in [
            ("sites", &vocabularies.sites),
            ("target_groups", &vocabularies.target_groups),
            ("municipalities", &vocabularies.municipalities),
            ("steps", &vocabularies.steps),
            ("roles", &vocabularies.roles),
        ] {
            if list.iter().flatten().any(|v| v.trim().is_empty()) {
                problems.push(format!("`vocabularies.{name}` holds an empty value"));
            }
        }
        if let Some(bad_number) = vocabularies
            .municipalities
            .iter()
            .flatten()
            .find(|m| m.trim().len() != 4 || !m.trim().bytes().all(|b| b.is_ascii_digit()))
        {
            problems.push(format!(
                "`vocabularies.municipalities`: `{bad_number}` is not a kommunenummer (expected 4 digits, e.g. \"0301\": keep leading zeros, and quote them)"
            ));
        }
        if let Some(extract) = &config.extract
            && let Err(problem) = extract.spec(None).check()
        {
            problems.push(format!("`extract`: {problem}"));
        }
        for w in &config.periods.windows {
            if w.from > w.to || ["before", "after"].contains(&w.name.as_str()) {
                problems.push(format!(
                    "`periods.windows`: `{}` needs `from` ≤ `to` and a name other than `before` and `after`",
                    w.name
                ));
            }
        }
        if config.analyze.stay_gap_hours > 48 {
            problems.push("`analyze.stay_gap_hours` is 0–48 hours (default 8)".into());
        }
        if ![0.0, 0.5].contains(&config.analyze.same_day_bed_days) {
            problems.push("`analyze.same_day_bed_days` is 0 (SSB, NPR) or 0.5 (SAMDATA)".into());
        }
        if config.periods.before_days == 0 || config.periods.after_days == 0 {
            problems
                .push("`periods.before_days` and `periods.after_days` must be at least 1".into());
        }
        if !(0.0..=1.0).contains(&config.ingest.max_reject_share) {
            problems.push(format!(
                "`ingest.max_reject_share` is {}, expected a share from 0 to 1",
                config.ingest.max_reject_share
            ));
        }
        if config.report.suppression_threshold == 0 {
            problems.push("`report.suppression_threshold` must be at least 1".into());
        }
        if let Some(bad_number) = config
            .report
            .municipality_names
            .keys()
            .find(|m| m.len() != 4 || !m.bytes().all(|b| b.is_ascii_digit()))
        {
            problems.push(format!(
                "`report.municipality_names`: `{bad_number}` is not a kommunenummer (expected 4 digits, e.g. \"0301\": keep leading zeros, and quote them)"
            ));
        }
        if let Some(known) = &vocabularies.target_groups
            && let Some(unknown) = config.report.target_groups.keys().find(|g| !known.contains(g))
        {
            let hint = closest(unknown, known.iter().map(String::as_str))
                .map_or(String::new(), |c| format!("; did you mean `{c}`?"));
            problems.push(format!(
                "`report.target_groups`: `{unknown}` is not in `vocabularies.target_groups`{hint}"
            ));
        }
        let indicators = parse_ids(
            config.analyze.indicators.as_deref(),
            Indicator::ALL,
            Indicator::id,
            "analyze.indicators",
        )
        .unwrap_or_else(|e| {
            problems.push(e);
            Vec::new()
        });
        let comparisons = parse_ids(
            config.analyze.comparisons.as_deref(),
            &Comparison::ALL,
            Comparison::id,
            "analyze.comparisons",
        )
        .unwrap_or_else(|e| {
            problems.push(e);
            Vec::new()
        });
        let mut sections = parse_ids(
            config.report.sections.as_deref(),
            &folge_report::Section::ALL,
            folge_report::Section::id,
            "report.sections",
        )
        .unwrap_or_else(|e| {
            problems.push(e);
            Vec::new()
        });
        // Report order, whatever order the file lists them in.
        sections.sort();
        sections.dedup();
        let models =
            [folge_analyze::CountModel::Poisson, folge_analyze::CountModel::NegativeBinomial];
        let count_model = match config.analyze.count_model.as_deref() {
            None => folge_analyze::CountModel::Poisson,
            Some(id) => parse_ids(
                Some(&[id.to_owned()]),
                &models,
                folge_analyze::CountModel::id,
                "analyze.count_model",
            )
            .map_or_else(
                |e| {
                    problems.push(e);
                    folge_analyze::CountModel::Poisson
                },
                |m| m[0],
            ),
        };
        let variances =
            [folge_analyze::ClusterVariance::Jackknife, folge_analyze::ClusterVariance::Cr1];
        let cluster_variance = match config.analyze.cluster_variance.as_deref() {
            None => folge_analyze::ClusterVariance::default(),
            Some(id) => parse_ids(
                Some(&[id.to_owned()]),
                &variances,
                folge_analyze::ClusterVariance::id,
                "analyze.cluster_variance",
            )
            .map_or_else(
                |e| {
                    problems.push(e);
                    folge_analyze::ClusterVariance::default()
                },
                |v| v[0],
            ),
        };
        let confounders = match &config.analyze.adjust {
            None => None,
            Some(adjust) => {
                let covariates = parse_ids(
                    Some(&adjust.covariates),
                    &folge_analyze::Covariate::ALL,
                    folge_analyze::Covariate::id,
                    "analyze.adjust.covariates",
                );
                // An unknown id is the problem; its list is not also "empty".
                let covariates = covariates.unwrap_or_else(|e| {
                    problems.push(e);
                    vec![folge_analyze::Covariate::ALL[0]]
                });
                let weights = [
                    folge_analyze::Weighting::None,
                    folge_analyze::Weighting::Ipw,
                    folge_analyze::Weighting::Overlap,
                ];
                let weighting = match adjust.weights.as_deref() {
                    None => folge_analyze::Weighting::None,
                    Some(id) => parse_ids(
                        Some(&[id.to_owned()]),
                        &weights,
                        folge_analyze::Weighting::id,
                        "analyze.adjust.weights",
                    )
                    .map_or_else(
                        |e| {
                            problems.push(e);
                            folge_analyze::Weighting::None
                        },
                        |w| w[0],
                    ),
                };
                if covariates.is_empty() {
                    problems.push(
                        "`analyze.adjust.covariates` is empty: name at least one of `age_band`, `sex`, `target_group`, `before_use`".into(),
                    );
                }
                Some(folge_analyze::ConfounderAdjustment { covariates, weighting })
            }
        };
        match problems.len() {
            0 => {}
            1 => return Err(PipelineError::config(file, None, problems.remove(0))),
            n => {
                let list: Vec<String> = problems.iter().map(|p| format!("\n  - {p}")).collect();
                return Err(PipelineError::config(
                    file,
                    None,
                    format!("{n} problems:{}", list.concat()),
                ));
            }
        }
        let vocabularies = std::sync::Arc::new(config.vocabularies.vocabularies());
        Ok(Pipeline {
            file: file.to_owned(),
            base,
            vocabularies,
            config,
            indicators,
            comparisons,
            sections,
            count_model,
            confounders,
            cluster_variance,
        })
    }

    /// The report folder.
    pub fn report_dir(&self) -> PathBuf {
        self.config.report.dir.clone().unwrap_or_else(|| self.config.output.join("04_report"))
    }

    /// The inputs by canonical table name, in stage order.
    pub fn inputs(&self) -> Vec<(&'static str, &InputFile)> {
        let i = &self.config.inputs;
        let mut v = vec![("participants", &i.participants)];
        v.extend(i.service_events.iter().map(|f| ("service_events", f)));
        v.extend(i.service_counts.iter().map(|f| ("service_counts", f)));
        v.extend(i.process_events.as_ref().map(|f| ("process_events", f)));
        v.extend(i.codings.iter().map(|f| ("codings", f)));
        v.extend(i.questionnaires.values().map(|f| ("responses", f)));
        v
    }

    /// Parameters that determine the results, as canonical JSON (sorted keys, no paths, so
    /// the same evaluation hashes alike on every machine).
    pub fn params_json(&self) -> String {
        serde_json::to_string(&self.params()).unwrap_or_default()
    }

    /// The parameters of [`Pipeline::params_json`], derived from the validated pipeline
    /// file itself so that no setting can be left out of the hash: every key of every
    /// section, defaults resolved (a setting written as its default hashes as one left
    /// out), named as in the file (`periods.before_days`, `analyze.min_n`; whole
    /// sections for `inputs`, `deid`, `extract` and `vocabularies`). Paths are not
    /// parameters (the same evaluation hashes alike on every machine); the files whose
    /// content decides results (codebooks, REDCap dictionaries, the names file) are there
    /// by their SHA-256; the ids of indicators, comparisons, sections and models as
    /// validated; whether the key is the demo key. `crate::provenance` gives each to the
    /// stage that reads it first.
    pub(crate) fn params(&self) -> BTreeMap<String, serde_json::Value> {
        use serde_json::Value;
        let mut root = match serde_json::to_value(&self.config) {
            Ok(Value::Object(map)) => map,
            _ => serde_json::Map::new(),
        };
        // Paths: not parameters; content that decides results, by its hash.
        root.remove("output");
        root.remove("key");
        if let Some(Value::Object(report)) = root.get_mut("report") {
            report.remove("dir");
        }
        if let Some(Value::Object(deid)) = root.get_mut("deid") {
            let names = self.config.deid.names_file.as_ref().and_then(|p| content_sha256(p));
            deid.remove("names_file");
            deid.insert("names_file_sha256".into(), names.into());
        }
        if let Some(inputs) = root.get_mut("inputs") {
            without_paths(inputs);
        }
        // As validated.
        if let Some(Value::Object(analyze)) = root.get_mut("analyze") {
            analyze.insert(
                "indicators".into(),
                self.indicators.iter().map(|i| i.id()).collect::<Vec<_>>().into(),
            );
            analyze.insert(
                "comparisons".into(),
                self.comparisons.iter().map(|c| c.id()).collect::<Vec<_>>().into(),
            );
            analyze.insert("count_model".into(), self.count_model.id().into());
            analyze.insert("cluster_variance".into(), self.cluster_variance.id().into());
        }
        if let Some(Value::Object(report)) = root.get_mut("report") {
            report.insert(
                "sections".into(),
                self.sections.iter().map(|s| s.id()).collect::<Vec<_>>().into(),
            );
        }
        // By the key's bytes: a key file holding the demo key is the demo key.
        root.insert("key_is_demo".into(), crate::keys::key_is_demo(self).into());
        let mut params = BTreeMap::new();
        for (name, value) in root {
            match value {
                Value::Object(section) if FLATTENED.contains(&name.as_str()) => {
                    for (key, value) in section {
                        params.insert(format!("{name}.{key}"), value);
                    }
                }
                value => {
                    params.insert(name, value);
                }
            }
        }
        params
    }
}

/// The sections whose keys are parameters of their own (the others are one parameter).
const FLATTENED: &[&str] = &["periods", "ingest", "analyze", "report"];

/// Each input file's settings without its path, and the files that decide how it is read
/// (`codebook`, `redcap_dictionary`) by their content's SHA-256, wherever in `inputs` they
/// are (an input is an object with a `path`).
fn without_paths(value: &mut serde_json::Value) {
    use serde_json::Value;
    match value {
        Value::Object(map) if map.contains_key("path") => {
            map.remove("path");
            for key in ["codebook", "redcap_dictionary"] {
                let hash = map
                    .remove(key)
                    .and_then(|v| v.as_str().map(PathBuf::from))
                    .and_then(|p| content_sha256(&p));
                map.insert(format!("{key}_sha256"), hash.into());
            }
        }
        Value::Object(map) => map.values_mut().for_each(without_paths),
        Value::Array(items) => items.iter_mut().for_each(without_paths),
        _ => {}
    }
}

/// The SHA-256 of a file's content; `None` when it cannot be read (ingest says so).
fn content_sha256(path: &Path) -> Option<String> {
    use sha2::Digest;
    let bytes = std::fs::read(path).ok()?;
    Some(sha2::Sha256::digest(&bytes).iter().fold(String::new(), |mut s, b| {
        use std::fmt::Write as _;
        let _ = write!(s, "{b:02x}");
        s
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINIMAL: &str = r#"
name = "t"
output = "runs/t"
data_end = "2021-12-31"

[inputs.participants]
path = "p.csv"
"#;

    #[test]
    fn loads_and_resolves_paths() {
        let p = Pipeline::parse(Path::new("/x/pipelines/t.toml"), MINIMAL).unwrap();
        assert_eq!(p.config.output, Path::new("/x/pipelines/runs/t"));
        assert_eq!(p.config.inputs.participants.path, Path::new("/x/pipelines/p.csv"));
        assert_eq!(p.report_dir(), Path::new("/x/pipelines/runs/t/04_report"));
        assert_eq!(p.config.periods.before_days, 365);
        assert_eq!(p.indicators.len(), Indicator::ALL.len());
    }

    #[test]
    fn unknown_key_names_line_and_suggestion() {
        let text = format!("{MINIMAL}\n[periods]\nbefor_days = 30\n");
        let err = Pipeline::parse(Path::new("t.toml"), &text).unwrap_err();
        assert_eq!(
            err.to_string(),
            "t.toml line 10: unknown key `befor_days`; did you mean `before_days`?"
        );
        let text = format!("nme = \"x\"\n{MINIMAL}");
        let err = Pipeline::parse(Path::new("t.toml"), &text).unwrap_err();
        assert_eq!(err.to_string(), "t.toml line 1: unknown key `nme`; did you mean `name`?");
    }

    #[test]
    fn stay_gap_is_checked_and_hashed_with_its_default_resolved() {
        let plain = Pipeline::parse(Path::new("t.toml"), MINIMAL).unwrap();
        let text = format!("{MINIMAL}\n[analyze]\nstay_gap_hours = 6\n");
        let six = Pipeline::parse(Path::new("t.toml"), &text).unwrap();
        assert_eq!(six.config.analyze.stay_gap_hours, 6);
        assert_ne!(plain.params_json(), six.params_json(), "a setting that changes results");
        let text = format!("{MINIMAL}\n[analyze]\nstay_gap_hours = 8\n");
        let eight = Pipeline::parse(Path::new("t.toml"), &text).unwrap();
        assert_ne!(six.params_json(), eight.params_json());
        assert_eq!(plain.params_json(), eight.params_json(), "the default, written or not");
        assert!(plain.params_json().contains(r#""analyze.stay_gap_hours":8"#));
        let text = format!("{MINIMAL}\n[analyze]\nstay_gap_hours = 49\n");
        let err = Pipeline::parse(Path::new("t.toml"), &text).unwrap_err().to_string();
        assert!(err.ends_with("`analyze.stay_gap_hours` is 0–48 hours (default 8)"), "{err}");
    }

    #[test]
    fn vocabularies_are_checked_and_hashed_only_when_set() {
        let plain = Pipeline::parse(Path::new("t.toml"), MINIMAL).unwrap();
        assert_eq!(*plain.vocabularies, folge_ingest::Vocabularies::default(), "open by default");
        let text = format!(
            "{MINIMAL}\n[vocabularies]\nsites = [\"Askøy\"]\nmunicipalities = [\"4601\", \"0301\"]\nsteps = []\n"
        );
        let closed = Pipeline::parse(Path::new("t.toml"), &text).unwrap();
        let v = &closed.vocabularies;
        assert_eq!(v.sites.as_ref().and_then(|s| s.get("askøy")), Some("Askøy"));
        assert_eq!(v.steps.as_ref().and_then(|s| s.get("E")), Some("E"), "A–E always");
        assert!(v.steps.as_ref().is_some_and(|s| s.get("F").is_none()));
        assert!(v.roles.is_none() && v.target_groups.is_none());
        assert!(plain.params_json().contains(r#""vocabularies":{}"#), "open lists hash alike");
        assert!(closed.params_json().contains(
            r#""vocabularies":{"municipalities":["4601","0301"],"sites":["Askøy"],"steps":[]}"#
        ));
        let text = format!("{MINIMAL}\n[vocabularies]\nmunicipalities = [301]\n");
        assert!(Pipeline::parse(Path::new("t.toml"), &text).is_err(), "numbers are text");
        let text = format!("{MINIMAL}\n[vocabularies]\nmunicipalities = [\"301\"]\n");
        let err = Pipeline::parse(Path::new("t.toml"), &text).unwrap_err().to_string();
        assert_eq!(
            err,
            "t.toml: `vocabularies.municipalities`: `301` is not a kommunenummer (expected 4 digits, e.g. \"0301\": keep leading zeros, and quote them)"
        );
        let text = format!("{MINIMAL}\n[vocabularies]\nrole = [\"leder\"]\n");
        let err = Pipeline::parse(Path::new("t.toml"), &text).unwrap_err().to_string();
        assert!(err.ends_with("unknown key `role`; did you mean `roles`?"), "{err}");
        let text = format!("{MINIMAL}\n[deid]\nkeep_coder_names = true\n");
        let keep = Pipeline::parse(Path::new("t.toml"), &text).unwrap();
        assert!(keep.params_json().contains(r#""keep_coder_names":true"#));
        assert!(plain.params_json().contains(r#""keep_coder_names":false"#));
    }

    #[test]
    fn every_setting_of_every_section_is_a_parameter() {
        // Derived, not listed: a key added to a section is in the hash without anyone
        // remembering to add it.
        let p = Pipeline::parse(Path::new("t.toml"), MINIMAL).unwrap();
        let params = p.params();
        let config = serde_json::to_value(&p.config).unwrap();
        for section in FLATTENED {
            for key in config[section].as_object().unwrap().keys() {
                if *section == "report" && key == "dir" {
                    continue; // a path
                }
                assert!(params.contains_key(&format!("{section}.{key}")), "{section}.{key}");
            }
        }
        for key in config.as_object().unwrap().keys() {
            let kept = params.contains_key(key)
                || params.keys().any(|k| k.starts_with(&format!("{key}.")));
            assert_eq!(kept, !["output", "key"].contains(&key.as_str()), "{key}");
        }
        assert!(!p.params_json().contains("p.csv"), "no paths");
    }

    #[test]
    fn every_problem_is_reported_at_once() {
        let text = format!(
            "{MINIMAL}\n[analyze]\nindicators = [\"bed_day\"]\nstay_gap_hours = 49\ncount_model = \"negbin\"\n[report]\nsuppression_threshold = 0\n"
        );
        let err = Pipeline::parse(Path::new("t.toml"), &text).unwrap_err();
        assert!(err.is_config());
        assert_eq!(
            err.to_string(),
            "t.toml: 4 problems:\n  - `analyze.stay_gap_hours` is 0–48 hours (default 8)\n  - `report.suppression_threshold` must be at least 1\n  - `analyze.indicators`: unknown id `bed_day`; did you mean `bed_days`?\n  - `analyze.count_model`: unknown id `negbin` (known: `poisson`, `negative_binomial`)"
        );
    }

    #[test]
    fn bad_values_are_explained() {
        let text = MINIMAL.replace("2021-12-31", "2021-13-01");
        let err = Pipeline::parse(Path::new("t.toml"), &text).unwrap_err().to_string();
        assert!(err.starts_with("t.toml line 4: "), "{err}");
        let text = format!("{MINIMAL}\n[analyze]\nindicators = [\"bed_day\"]\n");
        let err = Pipeline::parse(Path::new("t.toml"), &text).unwrap_err().to_string();
        assert_eq!(
            err,
            "t.toml: `analyze.indicators`: unknown id `bed_day`; did you mean `bed_days`?"
        );
        let text = format!("{MINIMAL}\n[analyze]\ncomparisons = [\"dif\"]\n");
        let err = Pipeline::parse(Path::new("t.toml"), &text).unwrap_err().to_string();
        assert_eq!(
            err,
            "t.toml: `analyze.comparisons`: unknown id `dif` (known: `before_after`, `pilot_vs_comparison`)"
        );
    }

    #[test]
    fn report_labels_are_checked_and_hashed_only_when_given() {
        let plain = Pipeline::parse(Path::new("t.toml"), MINIMAL).unwrap();
        assert!(!plain.params_json().contains("municipality_names"), "absent: hash unchanged");
        let text = format!(
            "{MINIMAL}\n[vocabularies]\ntarget_groups = [\"eldre\", \"4\"]\n[report.municipality_names]\n\"4631\" = \"Alver\"\n[report.target_groups]\n\"4\" = \"Gruppe 4\"\n"
        );
        let p = Pipeline::parse(Path::new("t.toml"), &text).unwrap();
        assert_eq!(p.config.report.municipality_names["4631"], "Alver");
        assert!(p.params_json().contains(r#""report.target_groups":{"4":"Gruppe 4"}"#));
        let err = Pipeline::parse(Path::new("t.toml"), &text.replace("\"4631\" =", "\"463\" ="))
            .unwrap_err()
            .to_string();
        assert!(err.contains("`report.municipality_names`: `463` is not a kommunenummer"), "{err}");
        let err =
            Pipeline::parse(Path::new("t.toml"), &text.replace("\"4\" = \"G", "\"eldr\" = \"G"))
                .unwrap_err()
                .to_string();
        assert!(
            err.contains("`report.target_groups`: `eldr` is not in `vocabularies.target_groups`; did you mean `eldre`?"),
            "{err}"
        );
    }

    #[test]
    fn the_front_matter_is_read_with_its_date() {
        let text = format!(
            "{MINIMAL}\n[report]\ntitle = \"Evaluering av LKT\"\nauthors = [\"A\", \"B\"]\ndate = 2022-06-15\nversion = \"1.0\"\n"
        );
        let p = Pipeline::parse(Path::new("t.toml"), &text).unwrap();
        assert_eq!(p.config.report.title.as_deref(), Some("Evaluering av LKT"));
        assert_eq!(p.config.report.authors, ["A", "B"]);
        assert_eq!(p.config.report.date, NaiveDate::from_ymd_opt(2022, 6, 15));
        assert!(p.params_json().contains(r#""report.date":"2022-06-15""#));
        let plain = Pipeline::parse(Path::new("t.toml"), MINIMAL).unwrap();
        assert!(!plain.params_json().contains("report.title"), "absent: hash unchanged");
        let err = Pipeline::parse(Path::new("t.toml"), &text.replace("2022-06-15", "\"juni\""))
            .unwrap_err()
            .to_string();
        assert!(err.contains("`juni` is not a date"), "{err}");
    }

    #[test]
    fn count_model_and_adjustment_are_checked_and_hashed_as_validated() {
        let plain = Pipeline::parse(Path::new("t.toml"), MINIMAL).unwrap();
        assert_eq!(plain.count_model, folge_analyze::CountModel::Poisson);
        assert_eq!(plain.confounders, None);
        assert!(plain.params_json().contains(r#""analyze.count_model":"poisson""#), "resolved");
        let written = format!("{MINIMAL}\n[analyze]\ncount_model = \"poisson\"\n");
        let written = Pipeline::parse(Path::new("t.toml"), &written).unwrap();
        assert_eq!(written.params_json(), plain.params_json(), "the default, written or not");
        let text = format!(
            "{MINIMAL}\n[analyze]\ncount_model = \"negative_binomial\"\n[analyze.adjust]\ncovariates = [\"sex\", \"before_use\"]\nweights = \"overlap\"\n"
        );
        let p = Pipeline::parse(Path::new("t.toml"), &text).unwrap();
        assert_eq!(p.count_model, folge_analyze::CountModel::NegativeBinomial);
        let c = p.confounders.clone().unwrap();
        assert_eq!(
            c.covariates,
            [folge_analyze::Covariate::Sex, folge_analyze::Covariate::BeforeUse]
        );
        assert_eq!(c.weighting, folge_analyze::Weighting::Overlap);
        assert_ne!(p.params_json(), plain.params_json());
        for (text, want) in [
            (
                "[analyze]\ncount_model = \"negbin\"\n",
                "t.toml: `analyze.count_model`: unknown id `negbin` (known: `poisson`, `negative_binomial`)",
            ),
            (
                "[analyze.adjust]\ncovariates = [\"age\"]\n",
                "t.toml: `analyze.adjust.covariates`: unknown id `age` (known: `age_band`, `sex`, `target_group`, `before_use`)",
            ),
            (
                "[analyze.adjust]\ncovariates = [\"sex\"]\nweights = \"iptw\"\n",
                "t.toml: `analyze.adjust.weights`: unknown id `iptw`; did you mean `ipw`?",
            ),
            (
                "[analyze.adjust]\ncovariates = []\n",
                "t.toml: `analyze.adjust.covariates` is empty: name at least one of `age_band`, `sex`, `target_group`, `before_use`",
            ),
        ] {
            let err = Pipeline::parse(Path::new("t.toml"), &format!("{MINIMAL}\n{text}"))
                .unwrap_err()
                .to_string();
            assert_eq!(err, want);
        }
    }

    #[test]
    fn layouts_are_checked() {
        let npr = MINIMAL.replace("path = \"p.csv\"", "path = \"p.csv\"\nlayout = \"npr\"");
        let err = Pipeline::parse(Path::new("t.toml"), &npr).unwrap_err().to_string();
        assert_eq!(
            err,
            "t.toml: `inputs.participants.layout = \"npr\"`: known layouts are `canonical`; for service_events `npr` and `kpr`; for codings `maxqda`, `atlasti` and `nvivo`"
        );
        let ok = format!(
            "{MINIMAL}\n[inputs.service_events]\npath = \"e.csv\"\nlayout = \"npr\"\ncolumns = {{ person_id = \"lopenr\" }}\n"
        );
        let p = Pipeline::parse(Path::new("t.toml"), &ok).unwrap();
        let events = &p.config.inputs.service_events[0];
        assert_eq!(events.layout(), folge_ingest::Layout::Npr);
        assert_eq!(events.columns["person_id"], "lopenr");
    }

    #[test]
    fn service_use_may_come_in_several_files() {
        let two = format!(
            "{MINIMAL}
[[inputs.service_events]]
path = \"npr.csv\"
layout = \"npr\"

[[inputs.service_events]]
path = \"kpr.csv\"
layout = \"kpr\"
"
        );
        let p = Pipeline::parse(Path::new("/x/t.toml"), &two).unwrap();
        let layouts: Vec<_> =
            p.config.inputs.service_events.iter().map(InputFile::layout).collect();
        assert_eq!(layouts, [folge_ingest::Layout::Npr, folge_ingest::Layout::Kpr]);
        assert_eq!(p.inputs().len(), 3);
        // Inputs are named by their place in the pipeline file, never by file name.
        let roles: Vec<&str> = p.inputs().iter().map(|(_, f)| f.role.as_str()).collect();
        assert_eq!(
            roles,
            ["inputs.participants", "inputs.service_events[0]", "inputs.service_events[1]"]
        );
        let one = Pipeline::parse(Path::new("/x/t.toml"), &format!("{MINIMAL}\n[inputs.service_events]\npath = \"Kari Nordmann.csv\"\nallow_empty = true\n")).unwrap();
        let events = &one.config.inputs.service_events[0];
        assert_eq!((events.role.as_str(), events.allow_empty), ("inputs.service_events", true));
        let typo = format!(
            "{MINIMAL}
[inputs.service_events]
path = \"e.csv\"
layuot = \"kpr\"
"
        );
        let err = Pipeline::parse(Path::new("t.toml"), &typo).unwrap_err().to_string();
        assert_eq!(err, "t.toml line 11: unknown key `layuot`; did you mean `layout`?");
    }

    #[test]
    fn codings_may_come_in_several_inputs_each_with_its_format_and_source() {
        let two = format!(
            "{MINIMAL}
[[inputs.codings]]
path = \"Kari Nordmann.qdpx\"
format = \"qdpx\"

[[inputs.codings]]
path = \"team2.csv\"
layout = \"nvivo\"
source = \"team Voss\"
"
        );
        let p = Pipeline::parse(Path::new("/x/t.toml"), &two).unwrap();
        let codings = &p.config.inputs.codings;
        let read: Vec<_> = codings.iter().map(|f| (f.format, f.layout(), f.source())).collect();
        assert_eq!(
            read,
            [
                (InputFormat::Qdpx, folge_ingest::Layout::Canonical, "codings[0]"),
                (InputFormat::Csv, folge_ingest::Layout::Nvivo, "team Voss"),
            ]
        );
        let roles: Vec<&str> = p.inputs().iter().map(|(_, f)| f.role.as_str()).collect();
        assert_eq!(roles, ["inputs.participants", "inputs.codings[0]", "inputs.codings[1]"]);
        // One table, as before: the role and source carry no position.
        let one = Pipeline::parse(
            Path::new("/x/t.toml"),
            &format!("{MINIMAL}\n[inputs.codings]\npath = \"Kari Nordmann.csv\"\n"),
        )
        .unwrap();
        let coding = &one.config.inputs.codings[0];
        assert_eq!((coding.role.as_str(), coding.source()), ("inputs.codings", "codings"));
        // Problems name the input by its place, never by its file name.
        let bad = two.replace("layout = \"nvivo\"", "layout = \"npr\"");
        let err = Pipeline::parse(Path::new("t.toml"), &bad).unwrap_err().to_string();
        assert_eq!(
            err,
            "t.toml: `inputs.codings[1].layout = \"npr\"`: known layouts are `canonical`; for service_events `npr` and `kpr`; for codings `maxqda`, `atlasti` and `nvivo`"
        );
        let typo = two.replace("source =", "sourse =");
        let err = Pipeline::parse(Path::new("t.toml"), &typo).unwrap_err().to_string();
        assert_eq!(err, "t.toml line 16: unknown key `sourse`; did you mean `source`?");
    }

    #[test]
    fn codings_sources_are_short_safe_and_distinct() {
        #[track_caller]
        fn check(sources: [&str; 2], expected: &str) {
            let text = format!(
                "{MINIMAL}\n[[inputs.codings]]\npath = \"a.csv\"\n{}\n[[inputs.codings]]\npath = \"b.csv\"\n{}\n",
                sources[0], sources[1]
            );
            let err = Pipeline::parse(Path::new("t.toml"), &text).unwrap_err().to_string();
            assert_eq!(err, expected);
        }
        check(
            ["source = \"team Voss\"", "source = \"team Voss\""],
            "t.toml: `inputs.codings[1].source`: `team Voss` is already the source of `inputs.codings[0]`; each codings input needs its own (their focus groups and coders are told apart by it)",
        );
        // A label that spells another input's default is caught too.
        check(
            ["", "source = \"codings[0]\""],
            "t.toml: `inputs.codings[1].source`: `codings[0]` is already the source of `inputs.codings[0]`; each codings input needs its own (their focus groups and coders are told apart by it)",
        );
        // An id's worth of digits is refused, and not shown whole.
        check(
            ["source = \"team 01018012345\"", ""],
            "t.toml: `inputs.codings[0].source = \"team [11 digits]\"`: expected a short label on one line (1–40 characters, no leading or trailing spaces, at most 4 digits), e.g. \"team Voss\"",
        );
        check(
            ["source = \"\"", "source = \"x\\ny\""],
            "t.toml: 2 problems:\n  \
             - `inputs.codings[0].source = \"\"`: expected a short label on one line (1–40 characters, no leading or trailing spaces, at most 4 digits), e.g. \"team Voss\"\n  \
             - `inputs.codings[1].source = \"x\\ny\"`: expected a short label on one line (1–40 characters, no leading or trailing spaces, at most 4 digits), e.g. \"team Voss\"",
        );
        let text =
            format!("{MINIMAL}\n[inputs.service_events]\npath = \"e.csv\"\nsource = \"NPR\"\n");
        let err = Pipeline::parse(Path::new("t.toml"), &text).unwrap_err().to_string();
        assert_eq!(
            err,
            "t.toml: `inputs.service_events.source`: only codings inputs take a `source` label"
        );
    }

    #[test]
    fn questionnaires_need_codebook_and_timepoint() {
        let text = format!(
            "{MINIMAL}\n[inputs.questionnaires.pacic_t0]\npath = \"q.csv\"\ntimepoint = \"T0\"\n"
        );
        let err = Pipeline::parse(Path::new("t.toml"), &text).unwrap_err().to_string();
        assert_eq!(
            err,
            "t.toml: `inputs.questionnaires.pacic_t0` needs either `codebook` (a TOML file of instruments) or `redcap_dictionary` (REDCap's data dictionary CSV)"
        );
        let no_timepoint = text.replace("timepoint = \"T0\"", "codebook = \"c.toml\"");
        let err = Pipeline::parse(Path::new("t.toml"), &no_timepoint).unwrap_err().to_string();
        assert_eq!(
            err,
            "t.toml: `inputs.questionnaires.pacic_t0` needs either `timepoint` (e.g. \"T0\", one file per timepoint) or `timepoint_column`"
        );
        let redcap = text.replace("timepoint = \"T0\"", "redcap_dictionary = \"dd.csv\"");
        assert!(
            Pipeline::parse(Path::new("t.toml"), &redcap).is_ok(),
            "the event is the timepoint"
        );
        // Beside a dictionary, `codebook` is the forms' scale definitions.
        let scored =
            redcap.replace("redcap_dictionary", "codebook = \"scales.toml\"\nredcap_dictionary");
        let p = Pipeline::parse(Path::new("/x/t.toml"), &scored).unwrap();
        let q = &p.config.inputs.questionnaires["pacic_t0"];
        assert_eq!(
            (q.codebook.as_deref(), q.redcap_dictionary.as_deref()),
            (Some(Path::new("/x/scales.toml")), Some(Path::new("/x/dd.csv")))
        );
        let ok = text.replace("timepoint", "codebook = \"c.toml\"\ntimepoint");
        let p = Pipeline::parse(Path::new("/x/t.toml"), &ok).unwrap();
        assert_eq!(
            p.config.inputs.questionnaires["pacic_t0"].codebook.as_deref(),
            Some(Path::new("/x/c.toml"))
        );
    }

    #[test]
    fn encodings_are_checked() {
        let ok =
            MINIMAL.replace("path = \"p.csv\"", "path = \"p.csv\"\nencoding = \"windows-1252\"");
        assert!(Pipeline::parse(Path::new("t.toml"), &ok).is_ok());
        let bad = MINIMAL.replace("path = \"p.csv\"", "path = \"p.csv\"\nencoding = \"ebcdic-no\"");
        let err = Pipeline::parse(Path::new("t.toml"), &bad).unwrap_err().to_string();
        assert_eq!(
            err,
            "t.toml: `encoding = \"ebcdic-no\"` is not an encoding folge knows (try `utf-8` or `windows-1252`)"
        );
    }

    #[test]
    fn duplicates_default_from_ingest_and_per_input() {
        let text = format!(
            "{MINIMAL}\n[inputs.service_events]\npath = \"e.csv\"\nduplicates = \"on\"\ndate_order = \"ymd\"\n\n[ingest]\nduplicates = \"off\"\n"
        );
        let p = Pipeline::parse(Path::new("t.toml"), &text).unwrap();
        assert_eq!(p.config.inputs.participants.duplicates(), folge_ingest::DuplicateCheck::Off);
        let events = &p.config.inputs.service_events[0];
        assert_eq!(events.duplicates(), folge_ingest::DuplicateCheck::On);
        assert_eq!(events.date_order(), folge_ingest::values::DateOrder::YearMonthDay);
        let bad = text.replace("duplicates = \"off\"", "duplicates = \"alle\"");
        let err = Pipeline::parse(Path::new("t.toml"), &bad).unwrap_err().to_string();
        assert!(err.starts_with("t.toml line 15: unknown variant `alle`"), "{err}");
        // Earlier versions' `grouped` and `all` read and hash as `on`, the default.
        let parse = |text: &str| Pipeline::parse(Path::new("t.toml"), text).unwrap();
        let on = text.replace("\"off\"", "\"on\"");
        let unset = parse(&on.replace("duplicates = \"on\"\n", ""));
        let on = parse(&on);
        for spelling in ["\"grouped\"", "\"all\""] {
            let old = parse(&text.replace("\"on\"", spelling));
            assert_eq!(old.config.inputs.service_events[0].duplicates(), events.duplicates());
            assert_eq!(old.params_json(), p.params_json());
            let old = parse(&text.replace("\"on\"", spelling).replace("\"off\"", spelling));
            assert_eq!(old.config.inputs.participants.duplicates(), events.duplicates());
            assert_eq!(old.params_json(), on.params_json());
            assert_eq!(old.params_json(), unset.params_json());
        }
        assert_ne!(on.params_json(), p.params_json(), "`off` is a parameter");
        // Duplicate rows: events keep them, the other inputs reject them, unless told.
        let (keep, reject) =
            (folge_ingest::DuplicateRows::Keep, folge_ingest::DuplicateRows::Reject);
        assert_eq!(events.duplicate_rows(), keep);
        assert_eq!(p.config.inputs.participants.duplicate_rows(), reject);
        let told = text.replace("[ingest]\n", "[ingest]\nduplicate_rows = \"reject\"\n");
        let p = Pipeline::parse(Path::new("t.toml"), &told).unwrap();
        assert_eq!(p.config.inputs.service_events[0].duplicate_rows(), reject);
        let own = text
            .replace("duplicates = \"on\"\n", "duplicates = \"on\"\nduplicate_rows = \"keep\"\n");
        let own = own.replace("[ingest]\n", "[ingest]\nduplicate_rows = \"reject\"\n");
        let p = Pipeline::parse(Path::new("t.toml"), &own).unwrap();
        assert_eq!(
            p.config.inputs.service_events[0].duplicate_rows(),
            keep,
            "the input's own wins"
        );
        assert_eq!(p.config.inputs.participants.duplicate_rows(), reject);
    }

    #[test]
    fn service_codes_are_checked() {
        let text = format!(
            "{MINIMAL}\n[inputs.service_events]\npath = \"e.csv\"\nservice_codes = {{ Hjemmesykepleie = \"home_nursing\" }}\n"
        );
        let p = Pipeline::parse(Path::new("t.toml"), &text).unwrap();
        assert_eq!(
            p.config.inputs.service_events[0].service_codes()["Hjemmesykepleie"],
            folge_schema::Service::HomeNursing
        );
        let typo = text.replace("\"home_nursing\"", "\"home_nursin\"");
        let err = Pipeline::parse(Path::new("t.toml"), &typo).unwrap_err().to_string();
        assert_eq!(
            err,
            "t.toml: `inputs.service_events.service_codes`: `Hjemmesykepleie` maps to `home_nursin`, which is not a folge service; did you mean `home_nursing`?"
        );
        let npr = text.replace("path = \"e.csv\"", "path = \"e.csv\"\nlayout = \"npr\"");
        let err = Pipeline::parse(Path::new("t.toml"), &npr).unwrap_err().to_string();
        assert!(err.contains("only in the canonical layout"), "{err}");
    }

    #[test]
    fn paths_normalise_lexically() {
        assert_eq!(normalize(Path::new("pipelines/../reports/./s")), Path::new("reports/s"));
        assert_eq!(normalize(Path::new("../x/../y")), Path::new("../y"));
        assert_eq!(normalize(Path::new("a/..")), Path::new("."));
        assert_eq!(normalize(Path::new("/a/../b")), Path::new("/b"));
    }

    #[test]
    fn params_hash_ignores_paths() {
        let a = Pipeline::parse(Path::new("/a/t.toml"), MINIMAL).unwrap();
        let b = Pipeline::parse(Path::new("/b/t.toml"), MINIMAL).unwrap();
        assert_eq!(a.params_json(), b.params_json());
    }
}

//! Questionnaires in the wide shape survey tools export (one row per submission, one
//! column per item), melted into the long `responses` table by a codebook. Works for
//! Nettskjema's current CSV report (`;`, all fields quoted, `$created` as the submission
//! time, checkbox options as `question.option` 0/1 columns), Nettskjema's legacy
//! tab-separated export (tick boxes as `Ja`/empty), REDCap exports (with a codebook built
//! from the data dictionary, see `redcap.rs`) and any wide CSV or sheet.
//!
//! A submission is one row read: it is accepted (giving one response row per codebook
//! column) or rejected whole with the column and reason — an answer outside the scale is
//! never silently dropped or clamped. Missing codes become null values. The timepoint is
//! fixed per file or read from a column (REDCap's `redcap_event_name`), optionally mapped
//! to the evaluation's names; a second submission by the same person at the same
//! timepoint is rejected, naming the line of the first.

use std::collections::BTreeMap;
use std::io::Read;

use folge_schema::tables::Response;
use folge_schema::{shown, shown_cell};

use crate::IngestError;
use crate::csv_source::CsvOptions;
use crate::readers::{
    Cells, IdPolicy, Ingested, PersonIndex, Problem, collect, problem, read_rows,
};
use crate::values::{DateOrder, parse_answer_date, parse_date, parse_number};

/// One scored item: a column of the export. In a codebook it is written as its column
/// name (`"pacic_1"`), or as a table when it needs its own scale or labels
/// (`{ name = "eq_vas", min = 0, max = 100 }`).
#[derive(Debug, Clone, PartialEq, serde::Deserialize)]
#[serde(from = "ItemSpec")]
pub struct Item {
    /// Column name in the export.
    pub name: String,
    /// Lowest valid answer; the instrument's when absent.
    pub min: Option<f64>,
    /// Highest valid answer; the instrument's when absent.
    pub max: Option<f64>,
    /// A tick box: ticked (`1`, `Ja`, `Checked`) is 1, unticked or empty is 0.
    pub checkbox: bool,
    /// Answer labels → codes, for exports that write labels (REDCap's label export).
    pub labels: BTreeMap<String, f64>,
}

impl Item {
    /// An item that takes its scale from its instrument.
    pub fn named(name: impl Into<String>) -> Self {
        Item { name: name.into(), min: None, max: None, checkbox: false, labels: BTreeMap::new() }
    }
}

/// A column holding a date (REDCap's fields with date validation): kept as a date in zone
/// 1 and passed on by deid as days relative to inclusion, like every other date — never as
/// text, since a calendar date beside `response_day` would give the inclusion date away.
/// Written as its column name (`"visit_date"`, read day first) or as a table with the
/// order of its parts (`{ name = "visit_date", order = "mdy" }`).
#[derive(Debug, Clone, PartialEq, serde::Deserialize)]
#[serde(from = "DateSpec")]
pub struct DateItem {
    /// Column name in the export.
    pub name: String,
    /// Order of day, month and year when the year does not come first.
    pub order: DateOrder,
}

#[derive(serde::Deserialize)]
#[serde(untagged)]
enum DateSpec {
    Name(String),
    Table(DateTable),
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct DateTable {
    name: String,
    #[serde(default)]
    order: DateOrder,
}

impl From<DateSpec> for DateItem {
    fn from(spec: DateSpec) -> Self {
        match spec {
            DateSpec::Name(name) => DateItem { name, order: DateOrder::default() },
            DateSpec::Table(t) => DateItem { name: t.name, order: t.order },
        }
    }
}

/// How an item is written in a codebook: a column name or a table.
#[derive(serde::Deserialize)]
#[serde(untagged)]
enum ItemSpec {
    Name(String),
    Table(ItemTable),
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct ItemTable {
    name: String,
    #[serde(default)]
    min: Option<f64>,
    #[serde(default)]
    max: Option<f64>,
    #[serde(default)]
    checkbox: bool,
    #[serde(default)]
    labels: BTreeMap<String, f64>,
}

impl From<ItemSpec> for Item {
    fn from(spec: ItemSpec) -> Self {
        match spec {
            ItemSpec::Name(name) => Item::named(name),
            ItemSpec::Table(t) => Item {
                name: t.name,
                min: t.min,
                max: t.max,
                checkbox: t.checkbox,
                labels: t.labels,
            },
        }
    }
}

/// One instrument of a codebook.
#[derive(Debug, Clone, PartialEq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Instrument {
    /// Name (`pacic`).
    pub name: String,
    /// Columns holding scored items, in order.
    pub items: Vec<Item>,
    /// Lowest valid answer of items without their own.
    #[serde(default)]
    pub min: Option<f64>,
    /// Highest valid answer of items without their own.
    #[serde(default)]
    pub max: Option<f64>,
    /// Every item is a tick box (see [`Item::checkbox`]).
    #[serde(default)]
    pub checkbox: bool,
    /// Answer labels → codes for every item (an item's own labels come first).
    #[serde(default)]
    pub labels: BTreeMap<String, f64>,
    /// Codes meaning "no answer" (e.g. 9 for "vet ikke"): stored as null.
    #[serde(default)]
    pub missing_codes: Vec<f64>,
    /// Items scored in reverse (used when scoring; listed here so the codebook is whole).
    #[serde(default)]
    pub reverse: Vec<String>,
    /// Columns holding free text.
    #[serde(default)]
    pub free_text: Vec<String>,
    /// Columns that identify the respondent (name, phone, address): kept as text in
    /// zone 1 with `identifier = true`, never passed on by the deid stage.
    #[serde(default)]
    pub identifiers: Vec<String>,
    /// Columns holding dates: read as dates (`value_date`) and passed on as days
    /// relative to inclusion.
    #[serde(default)]
    pub dates: Vec<DateItem>,
    /// Named subscales: item lists (used when scoring).
    #[serde(default)]
    pub subscales: BTreeMap<String, Vec<String>>,
    /// How analysis scores the instrument and its subscales: `mean` (of answered items),
    /// `sum` (prorated to all items) or `none` (report items only). Default: `mean` when
    /// the instrument has a scale and is not a tick-box list, else `none`.
    #[serde(default)]
    pub score: Option<String>,
    /// Share of a scale's items that must be answered for a score (default 0.5).
    #[serde(default)]
    pub min_answered: Option<f64>,
}

impl Instrument {
    /// The scoring to use: `mean`, `sum` or `none` (see [`Instrument::score`]).
    pub fn scoring(&self) -> &str {
        match self.score.as_deref() {
            Some(s) => s,
            None if self.checkbox || self.min.is_none() || self.max.is_none() => "none",
            None => "mean",
        }
    }

    /// The answer range its scales are scored on: the instrument's `min` and `max` when it
    /// gives both, else the one closed range every item has of its own (a REDCap form's
    /// items, scaled by their choice codes). `None` when there is no such range: tick
    /// boxes, an open number, or items answered on different ranges.
    pub fn scale_range(&self) -> Option<(f64, f64)> {
        if let (Some(min), Some(max)) = (self.min, self.max) {
            return Some((min, max));
        }
        let first = self.items.first()?;
        let (Some(min), Some(max)) = (first.min, first.max) else { return None };
        let closed = min.is_finite() && max.is_finite() && !self.checkbox;
        let alike = self.items.iter().all(|item| {
            !item.checkbox
                && item.min.map(f64::to_bits) == Some(min.to_bits())
                && item.max.map(f64::to_bits) == Some(max.to_bits())
        });
        (closed && alike).then_some((min, max))
    }
}

/// A codebook: the instruments a questionnaire export holds.
#[derive(Debug, Clone, PartialEq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Codebook {
    /// Instruments.
    pub instruments: Vec<Instrument>,
    /// Cell texts meaning "no answer" in any scored item (REDCap's missing-data codes
    /// such as `UNK`, `NASK`), compared case-insensitively: stored as null.
    #[serde(default)]
    pub missing_text: Vec<String>,
}

/// What a codebook column holds.
#[derive(Debug, Clone, Copy)]
enum ColumnKind<'c> {
    Scored { item: &'c Item, min: Option<f64>, max: Option<f64>, checkbox: bool },
    FreeText,
    Identifier,
    Date(DateOrder),
}

/// One column to read, with its instrument.
struct Column<'c> {
    instrument: &'c Instrument,
    name: &'c str,
    kind: ColumnKind<'c>,
}

impl Codebook {
    /// Check that the codebook is whole: every scored item has a scale (its own or its
    /// instrument's) with min ≤ max, no column is listed twice, and reverse and subscale
    /// items are items of their instrument. `Err` says which.
    pub fn check(&self) -> Result<(), String> {
        let mut seen = std::collections::BTreeSet::new();
        for instrument in &self.instruments {
            let name = &instrument.name;
            for column in instrument
                .items
                .iter()
                .map(|i| i.name.as_str())
                .chain(instrument.free_text.iter().map(String::as_str))
                .chain(instrument.identifiers.iter().map(String::as_str))
                .chain(instrument.dates.iter().map(|d| d.name.as_str()))
            {
                if !seen.insert(column) {
                    return Err(format!("column `{column}` is listed twice"));
                }
            }
            for item in &instrument.items {
                let checkbox = item.checkbox || instrument.checkbox;
                let (min, max) = (item.min.or(instrument.min), item.max.or(instrument.max));
                if !checkbox && min.is_none() && max.is_none() && item.labels.is_empty() {
                    return Err(format!(
                        "instrument `{name}`: item `{}` has no scale (give the instrument `min` and `max`, or the item its own)",
                        item.name
                    ));
                }
                if let (Some(lo), Some(hi)) = (min, max)
                    && lo > hi
                {
                    return Err(format!(
                        "instrument `{name}`: item `{}` has min {lo} above max {hi}",
                        item.name
                    ));
                }
            }
            if !["mean", "sum", "none"].contains(&instrument.scoring()) {
                return Err(format!(
                    "instrument `{name}`: `score = \"{}\"` is not `mean`, `sum` or `none`",
                    instrument.scoring()
                ));
            }
            if instrument.min_answered.is_some_and(|m| !(0.0..=1.0).contains(&m)) {
                return Err(format!(
                    "instrument `{name}`: `min_answered` must be a share from 0 to 1"
                ));
            }
            let is_item = |column: &String| instrument.items.iter().any(|i| &i.name == column);
            if let Some(bad) = instrument.reverse.iter().find(|c| !is_item(c)) {
                return Err(format!(
                    "instrument `{name}`: reverse item `{bad}` is not one of its items"
                ));
            }
            for (subscale, items) in &instrument.subscales {
                if let Some(bad) = items.iter().find(|c| !is_item(c)) {
                    return Err(format!(
                        "instrument `{name}`: subscale `{subscale}` names `{bad}`, which is not one of its items"
                    ));
                }
            }
        }
        Ok(())
    }

    /// Every column the codebook reads, in order, with its instrument.
    fn columns(&self) -> Vec<Column<'_>> {
        let mut out = Vec::new();
        for instrument in &self.instruments {
            out.extend(instrument.items.iter().map(|item| Column {
                instrument,
                name: &item.name,
                kind: ColumnKind::Scored {
                    item,
                    min: item.min.or(instrument.min),
                    max: item.max.or(instrument.max),
                    checkbox: item.checkbox || instrument.checkbox,
                },
            }));
            out.extend(instrument.free_text.iter().map(|c| Column {
                instrument,
                name: c,
                kind: ColumnKind::FreeText,
            }));
            out.extend(instrument.identifiers.iter().map(|c| Column {
                instrument,
                name: c,
                kind: ColumnKind::Identifier,
            }));
            out.extend(instrument.dates.iter().map(|d| Column {
                instrument,
                name: &d.name,
                kind: ColumnKind::Date(d.order),
            }));
        }
        out
    }
}

/// How one export is read.
#[derive(Debug, Clone, Default)]
pub struct QuestionnaireOptions {
    /// Timepoint of every submission in the file (`T0`), when there is no timepoint column.
    pub timepoint: Option<String>,
    /// Column holding each submission's timepoint (REDCap: `redcap_event_name`).
    pub timepoint_column: Option<String>,
    /// Timepoint column values → timepoint names (`t0_arm_1` → `T0`). When given, a value
    /// not listed rejects the submission; when empty, values are taken as they are.
    pub timepoints: BTreeMap<String, String>,
    /// Column numbering repeated submissions (REDCap: `redcap_repeat_instance`): a
    /// non-empty value N makes the timepoint `<timepoint>#N`.
    pub instance_column: Option<String>,
    /// Column with the submission time (ISO date or date-time with offset, or
    /// `dd.mm.yyyy HH:MM`), e.g. Nettskjema's `$created` or legacy `Opprettet`.
    pub date_column: Option<String>,
    /// Columns that must say the form is complete (REDCap's `<form>_complete`: `2` or
    /// `Complete`); any other value rejects the submission.
    pub complete_columns: Vec<String>,
}

impl QuestionnaireOptions {
    /// One timepoint for the whole file.
    pub fn fixed(timepoint: impl Into<String>) -> Self {
        QuestionnaireOptions { timepoint: Some(timepoint.into()), ..Self::default() }
    }

    /// The submission's timepoint.
    fn timepoint_of(&self, cells: &Cells<'_>) -> Result<String, Problem> {
        let base = match &self.timepoint_column {
            Some(column) => {
                let raw = cells
                    .text_named(column)
                    .ok_or_else(|| problem(column, "is empty (expected the timepoint)"))?;
                if self.timepoints.is_empty() {
                    raw.to_owned()
                } else {
                    self.timepoints.get(raw).cloned().ok_or_else(|| {
                        let known: Vec<String> =
                            self.timepoints.keys().map(|k| format!("`{k}`")).collect();
                        problem(
                            column,
                            format!(
                                "{} is not a known timepoint (expected one of {})",
                                shown_cell(raw),
                                known.join(", ")
                            ),
                        )
                    })?
                }
            }
            None => self.timepoint.clone().unwrap_or_default(),
        };
        Ok(match self.instance_column.as_deref().and_then(|c| cells.text_named(c)) {
            Some(instance) => format!("{base}#{instance}"),
            None => base,
        })
    }
}

/// REDCap's form statuses besides Complete (label exports), shown in a reason as they are.
const REDCAP_STATUSES: [&str; 2] = ["Incomplete", "Unverified"];

/// Tick-box cell texts, compared case-insensitively (Nettskjema legacy `Ja`, REDCap
/// label exports `Checked`/`Unchecked`).
const TICKED: [&str; 6] = ["1", "ja", "x", "checked", "true", "yes"];
const UNTICKED: [&str; 5] = ["0", "nei", "unchecked", "false", "no"];

/// Read one scored cell.
fn scored_value(
    codebook: &Codebook,
    column: &Column<'_>,
    raw: Option<&str>,
) -> Result<Option<f64>, Problem> {
    let ColumnKind::Scored { item, min, max, checkbox } = column.kind else {
        return Ok(None);
    };
    let instrument = column.instrument;
    let Some(text) = raw else {
        return Ok(checkbox.then_some(0.0));
    };
    if codebook.missing_text.iter().any(|m| m.eq_ignore_ascii_case(text)) {
        return Ok(None);
    }
    let label = |text: &str| {
        let lower = text.to_lowercase();
        item.labels
            .iter()
            .chain(&instrument.labels)
            .find(|(label, _)| label.as_str() == text || label.to_lowercase() == lower)
            .map(|(_, &code)| code)
    };
    let value = if checkbox {
        if TICKED.iter().any(|t| t.eq_ignore_ascii_case(text)) {
            1.0
        } else if UNTICKED.iter().any(|t| t.eq_ignore_ascii_case(text)) {
            0.0
        } else {
            label(text).ok_or_else(|| {
                problem(
                    column.name,
                    format!(
                        "{} is not a tick-box answer (expected 1/0, Ja or empty, Checked/Unchecked)",
                        shown_cell(text)
                    ),
                )
            })?
        }
    } else {
        match parse_number(text) {
            Ok(v) => v,
            Err(e) => label(text).ok_or_else(|| {
                if item.labels.is_empty() && instrument.labels.is_empty() {
                    problem(column.name, e)
                } else {
                    problem(
                        column.name,
                        format!(
                            "{} is neither a number nor an answer label of this item",
                            shown_cell(text)
                        ),
                    )
                }
            })?,
        }
    };
    if instrument.missing_codes.contains(&value) {
        return Ok(None);
    }
    if min.is_some_and(|lo| value < lo) || max.is_some_and(|hi| value > hi) {
        let scale = match (min, max) {
            (Some(lo), Some(hi)) => format!("{lo}–{hi}"),
            (Some(lo), None) => format!("from {lo}"),
            (None, Some(hi)) => format!("up to {hi}"),
            (None, None) => String::new(),
        };
        return Err(problem(
            column.name,
            format!(
                "{} is outside the `{}` scale {scale}",
                shown(&value.to_string()),
                instrument.name
            ),
        ));
    }
    Ok(Some(value))
}

/// Read a wide questionnaire export into responses.
pub fn read_questionnaire<R: Read>(
    name: &str,
    input: R,
    options: &CsvOptions,
    policy: IdPolicy,
    persons: &PersonIndex,
    codebook: &Codebook,
    questionnaire: &QuestionnaireOptions,
) -> Result<Ingested<Response>, IngestError> {
    let columns = codebook.columns();
    let mut required: Vec<&str> = vec!["person_id"];
    required.extend(questionnaire.timepoint_column.as_deref());
    required.extend(columns.iter().map(|c| c.name));
    required.extend(questionnaire.complete_columns.iter().map(String::as_str));
    let date_column = questionnaire.date_column.as_deref();
    let optional: Vec<&str> =
        date_column.into_iter().chain(questionnaire.instance_column.as_deref()).collect();
    let mut first_submission: BTreeMap<(String, String), u64> = BTreeMap::new();
    let submissions = collect(|sink| {
        read_rows(
            name,
            input,
            options,
            &required,
            &optional,
            |cells: &Cells<'_>, line| -> Result<Vec<Response>, Problem> {
                let person_id = cells.enrolled_person_id(policy, persons)?;
                let timepoint = questionnaire.timepoint_of(cells)?;
                for column in &questionnaire.complete_columns {
                    let status = cells.text_named(column).unwrap_or_default();
                    if !(status == "2" || status.eq_ignore_ascii_case("complete")) {
                        // REDCap's other statuses are shown; any other text is not.
                        let found =
                            match REDCAP_STATUSES.iter().find(|s| s.eq_ignore_ascii_case(status)) {
                                Some(known) => format!("`{known}`"),
                                None => shown_cell(status).to_string(),
                            };
                        return Err(problem(
                            column,
                            format!(
                                "the form is not marked Complete (expected 2, found {found}), and this pipeline takes complete forms only"
                            ),
                        ));
                    }
                }
                let response_date =
                    match date_column.and_then(|c| cells.text_named(c).map(|t| (c, t))) {
                        None => None,
                        // ISO date-times and `dd.mm.yyyy HH:MM` both start with the date.
                        Some((c, t)) => Some(
                            parse_date(t.get(..10).unwrap_or(t), 30).map_err(|e| problem(c, e))?,
                        ),
                    };
                let mut out = Vec::with_capacity(columns.len());
                for column in &columns {
                    let raw = cells.text_named(column.name);
                    let (mut value_date, mut value, mut text) = (None, None, None);
                    match column.kind {
                        ColumnKind::Scored { .. } => value = scored_value(codebook, column, raw)?,
                        ColumnKind::FreeText | ColumnKind::Identifier => {
                            text = raw.map(str::to_owned);
                        }
                        ColumnKind::Date(order) => {
                            let missing = |t: &&str| {
                                codebook.missing_text.iter().any(|m| m.eq_ignore_ascii_case(t))
                            };
                            value_date = raw
                                .filter(|t| !missing(t))
                                .map(|t| parse_answer_date(t, order))
                                .transpose()
                                .map_err(|e| problem(column.name, e))?;
                        }
                    }
                    out.push(Response {
                        person_id: person_id.clone(),
                        timepoint: timepoint.clone(),
                        response_date,
                        instrument: column.instrument.name.clone(),
                        item: column.name.to_owned(),
                        value,
                        text,
                        identifier: matches!(column.kind, ColumnKind::Identifier),
                        value_date,
                    });
                }
                if let Some(first) = first_submission.get(&(person_id.clone(), timepoint.clone())) {
                    return Err(problem(
                        "person_id",
                        format!(
                            "duplicates the submission on line {first} (same person, timepoint `{}`)",
                            shown(&timepoint)
                        ),
                    ));
                }
                first_submission.insert((person_id, timepoint), line);
                Ok(out)
            },
            sink,
        )
    })?;
    Ok(Ingested {
        rows: submissions.rows.into_iter().flatten().collect(),
        rejects: submissions.rejects,
        summary: submissions.summary,
        warnings: submissions.warnings,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codebooks_read_items_as_names_or_tables_and_are_checked() {
        let text = r#"
[[instruments]]
name = "eq5d"
min = 1
max = 5
items = ["eq_mob", { name = "eq_vas", min = 0, max = 100 }, { name = "hjelp___1", checkbox = true }]
identifiers = ["navn"]
"#;
        let codebook: Codebook = toml::from_str(text).unwrap();
        codebook.check().unwrap();
        let items = &codebook.instruments[0].items;
        assert_eq!(items[0], Item::named("eq_mob"));
        assert_eq!((items[1].min, items[1].max), (Some(0.0), Some(100.0)));
        assert!(items[2].checkbox);
        let no_scale: Codebook =
            toml::from_str("[[instruments]]\nname = \"x\"\nitems = [\"a\"]\n").unwrap();
        assert_eq!(
            no_scale.check().unwrap_err(),
            "instrument `x`: item `a` has no scale (give the instrument `min` and `max`, or the item its own)"
        );
        let bad_subscale: Codebook = toml::from_str(
            "[[instruments]]\nname = \"x\"\nmin = 1\nmax = 5\nitems = [\"a\"]\nsubscales = { s = [\"b\"] }\n",
        )
        .unwrap();
        assert_eq!(
            bad_subscale.check().unwrap_err(),
            "instrument `x`: subscale `s` names `b`, which is not one of its items"
        );
    }
}

//! The research extract for follow-up research under a REK approval: only the approved
//! variables of the de-identified tables, participants made k-anonymous on their
//! quasi-identifiers, with a codebook and a risk report that say what was changed.
//!
//! Variables are named `table.column` (`participants.age_band`). A requested variable
//! that REK did not approve, or one no de-identified table has, is refused by name; an
//! approval past its end date exports nothing.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use crate::rows::{DeidCoding, DeidParticipant, DeidProcessEvent, DeidResponse, DeidServiceEvent};
use arrow_array::cast::AsArray;
use arrow_array::{Array, ArrayRef, RecordBatch, StringArray};
use arrow_schema::{DataType, Field, Schema};
use chrono::NaiveDate;
use folge_schema::{Categories, Table};

use crate::disclosure::{RiskReport, merge_small_values, risk_report, suppress_to_k};
use crate::tables::{DeidError, Deidentified};

/// The participants' column naming, per record, the quasi-identifiers k-anonymisation left
/// empty: an empty cell elsewhere is missing data, not suppressed.
pub const SUPPRESSED: &str = "suppressed";

/// What the extract may hold and how it is protected.
#[derive(Debug, Clone, PartialEq)]
pub struct ExtractSpec {
    /// The approval's reference (e.g. `REK vest 2019/1234`).
    pub reference: String,
    /// The variables REK approved, `table.column`.
    pub approved: Vec<String>,
    /// The variables to export (all approved ones when empty).
    pub variables: Vec<String>,
    /// Last day the approval allows data to be exported.
    pub end_date: NaiveDate,
    /// Smallest class size allowed on the quasi-identifiers.
    pub k: usize,
    /// Participants' text columns an outsider could know (age band, sex, …).
    pub quasi_identifiers: Vec<String>,
    /// Quasi-identifiers in the order cells are suppressed (least important first).
    pub suppression_order: Vec<String>,
    /// Municipalities with fewer persons than this are merged into `other` first.
    pub merge_municipalities_below: Option<usize>,
    /// The age bands of `age_band`: its levels, youngest first.
    pub age_bands: crate::AgeBands,
}

/// One row of the extract's codebook.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct CodebookRow {
    /// Table.
    pub table: String,
    /// Column.
    pub variable: String,
    /// Arrow type.
    pub kind: String,
    /// What it means.
    pub meaning: String,
    /// Values found in the extract: categories, a range, or a description.
    pub allowed_values: String,
}

/// What k-anonymisation changed.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct ExtractChanges {
    /// Municipalities merged into `other`.
    pub municipalities_merged: Vec<String>,
    /// Participants whose municipality became `other`.
    pub records_merged: usize,
    /// Cells nulled by local suppression, per quasi-identifier.
    pub cells_suppressed: BTreeMap<String, usize>,
}

/// The research extract, ready to write.
#[derive(Debug, Clone)]
pub struct Extract {
    /// Tables (`participants`, …) with only the exported variables.
    pub tables: Vec<(&'static str, RecordBatch)>,
    /// Every exported variable.
    pub codebook: Vec<CodebookRow>,
    /// Risk before k-anonymisation (the extract's quasi-identifiers in `02_deid`).
    pub risk_before: RiskReport,
    /// Risk of the extract.
    pub risk_after: RiskReport,
    /// What was changed to reach k.
    pub changes: ExtractChanges,
}

/// Every `table.column` of the de-identified tables, with its meaning and type.
fn known_variables() -> Vec<(&'static str, &'static str, String, DataType)> {
    fn of<T: Table>(out: &mut Vec<(&'static str, &'static str, String, DataType)>) {
        let schema = T::schema();
        for ((column, doc), field) in T::column_docs().into_iter().zip(schema.fields()) {
            out.push((T::NAME, column, doc, field.data_type().clone()));
        }
    }
    let mut out = Vec::new();
    of::<DeidParticipant>(&mut out);
    of::<DeidServiceEvent>(&mut out);
    of::<DeidProcessEvent>(&mut out);
    of::<DeidResponse>(&mut out);
    of::<DeidCoding>(&mut out);
    out
}

/// The zone-2 service events as one batch: those `tables` holds, or — when the deid stage
/// streamed them to disk instead — the batches read back, re-checked on the way.
fn events_batch(tables: &Deidentified, streamed: &[RecordBatch]) -> Result<RecordBatch, DeidError> {
    if streamed.is_empty() {
        return Ok(DeidServiceEvent::to_batch(tables.service_events())?);
    }
    let mut rows = Vec::new();
    for batch in streamed {
        // Same checks as for any zone-2 events read back.
        crate::EventBatch::from_batch(batch)?;
        rows.extend(DeidServiceEvent::from_batch(batch)?);
    }
    Ok(DeidServiceEvent::to_batch(&rows)?)
}

impl ExtractSpec {
    /// Whether any variable of `table` is exported.
    pub fn exports_table(&self, table: &str) -> bool {
        self.exported().iter().any(|v| v.split_once('.').is_some_and(|(t, _)| t == table))
    }

    /// The variables to export.
    fn exported(&self) -> &[String] {
        if self.variables.is_empty() { &self.approved } else { &self.variables }
    }

    /// Check the names: every approved and requested variable exists, every requested one
    /// is approved, quasi-identifiers are participants' text columns. `Err` names the first
    /// problem (with the closest known variable for a typo).
    pub fn check(&self) -> Result<(), String> {
        let known = known_variables();
        let names: Vec<String> = known.iter().map(|(t, c, _, _)| format!("{t}.{c}")).collect();
        for variable in self.approved.iter().chain(&self.variables) {
            if !names.contains(variable) {
                let hint =
                    folge_schema::suggest::closest(variable, names.iter().map(String::as_str))
                        .map_or_else(
                            || " (name it `table.column`, e.g. `participants.age_band`)".to_owned(),
                            |c| format!("; did you mean `{c}`?"),
                        );
                return Err(format!(
                    "`{variable}` is not a variable of the de-identified tables{hint}"
                ));
            }
        }
        if let Some(unapproved) = self.variables.iter().find(|v| !self.approved.contains(v)) {
            return Err(format!(
                "`{unapproved}` is not among the variables REK approved ({}); remove it or ask REK to amend the approval",
                self.reference
            ));
        }
        for qi in self.quasi_identifiers.iter().chain(&self.suppression_order) {
            let text = known.iter().any(|(t, c, _, ty)| {
                *t == "participants" && c == qi && *ty == DataType::Utf8 && qi != "pid"
            });
            if !text {
                return Err(format!(
                    "quasi-identifier `{qi}` is not a text column of participants (age_band, sex, municipality, site, target_group, …)"
                ));
            }
        }
        if self.k == 0 {
            return Err("`k` must be at least 1".into());
        }
        Ok(())
    }
}

fn strings(array: &dyn Array) -> Vec<Option<String>> {
    array
        .as_any()
        .downcast_ref::<StringArray>()
        .map_or_else(Vec::new, |a| a.iter().map(|v| v.map(str::to_owned)).collect())
}

/// Each record's values of the `qis` text columns (a missing column reads as nulls).
fn quasi_rows(batch: &RecordBatch, qis: &[String]) -> Vec<Vec<Option<String>>> {
    let mut rows = vec![Vec::with_capacity(qis.len()); batch.num_rows()];
    for qi in qis {
        let column = batch
            .column_by_name(qi)
            .map_or_else(|| vec![None; batch.num_rows()], |a| strings(a.as_ref()));
        for (row, value) in rows.iter_mut().zip(column) {
            row.push(value);
        }
    }
    rows
}

/// Class sizes and prosecutor risk of the de-identified participants on `qis`.
pub fn participant_risk(
    participants: &[DeidParticipant],
    qis: &[String],
    k: usize,
) -> Result<RiskReport, DeidError> {
    let batch = DeidParticipant::to_batch(participants)?;
    Ok(risk_report(qis, &quasi_rows(&batch, qis), k))
}

/// The values a codebook lists for a column of the extract.
fn allowed_values(
    table: &str,
    column: &str,
    array: &dyn Array,
    suppressed: &BTreeSet<String>,
) -> String {
    if column == "pid" {
        return "pseudonym: 32 hexadecimal characters, the same person in every table".into();
    }
    if column == "text" {
        return "free text, scrubbed: names, ids, phone numbers, e-mail and postal addresses replaced by [NAVN], [FNR], [TLF], [EPOST], [ADRESSE]".into();
    }
    if column == SUPPRESSED {
        let names: Vec<&str> = suppressed.iter().map(String::as_str).collect();
        return format!("{} (`; `-separated); empty when none was", names.join("; "));
    }
    let nulls = match (array.null_count() > 0, suppressed.contains(column)) {
        (true, true) => "; empty (missing, or suppressed for k-anonymity: see `suppressed`)",
        (true, false) => "; empty (missing)",
        (false, _) => "",
    };
    if let Some(dictionary) = array.as_any_dictionary_opt() {
        let levels: Vec<&str> = folge_schema::text_values(dictionary.values().as_ref())
            .unwrap_or_default()
            .into_iter()
            .flatten()
            .collect();
        return format!("{} (in this order){nulls}", levels.join("; "));
    }
    match array.data_type() {
        DataType::Utf8 => {
            let values: BTreeSet<String> = strings(array).into_iter().flatten().collect();
            if values.len() <= 30 {
                let list: Vec<String> = values.into_iter().collect();
                format!("{}{nulls}", list.join("; "))
            } else {
                format!("text, {} distinct values in {table}{nulls}", values.len())
            }
        }
        DataType::Boolean => format!("true; false{nulls}"),
        DataType::Int32 | DataType::Int64 | DataType::Float64 => {
            let cast = |i: usize| -> Option<f64> {
                if array.is_null(i) {
                    return None;
                }
                let any = array.as_any();
                any.downcast_ref::<arrow_array::Int32Array>()
                    .map(|a| f64::from(a.value(i)))
                    .or_else(|| {
                        any.downcast_ref::<arrow_array::Int64Array>().map(|a| a.value(i) as f64)
                    })
                    .or_else(|| any.downcast_ref::<arrow_array::Float64Array>().map(|a| a.value(i)))
            };
            let values: Vec<f64> = (0..array.len()).filter_map(cast).collect();
            match (values.iter().copied().reduce(f64::min), values.iter().copied().reduce(f64::max))
            {
                (Some(lo), Some(hi)) => format!("{lo} to {hi}{nulls}"),
                _ => "empty".into(),
            }
        }
        other => format!("{other}{nulls}"),
    }
}

/// Build the research extract. `today` decides whether the approval still holds.
pub fn extract(
    tables: &Deidentified,
    service_events: &[RecordBatch],
    spec: &ExtractSpec,
    today: NaiveDate,
) -> Result<Extract, DeidError> {
    spec.check().map_err(|problem| DeidError::Extract { problem })?;
    if today > spec.end_date {
        return Err(DeidError::Extract {
            problem: format!(
                "the REK approval {} ended on {}; folge exports no research extract after that (update `extract.rek.end_date` when REK extends it)",
                spec.reference, spec.end_date
            ),
        });
    }
    let exported = spec.exported();
    let mut participants = DeidParticipant::to_batch(tables.participants())?;
    // k-anonymity over the quasi-identifiers that go into the extract.
    let qis: Vec<String> = spec
        .quasi_identifiers
        .iter()
        .filter(|q| exported.contains(&format!("participants.{q}")))
        .cloned()
        .collect();
    let mut rows = quasi_rows(&participants, &qis);
    let risk_before = risk_report(&qis, &rows, spec.k);
    let mut changes = ExtractChanges::default();
    if let (Some(min), Some(m)) =
        (spec.merge_municipalities_below, qis.iter().position(|q| q == "municipality"))
    {
        let (merged, records) = merge_small_values(&mut rows, m, min, "other");
        changes.municipalities_merged = merged;
        changes.records_merged = records;
    }
    let mut order: Vec<usize> =
        spec.suppression_order.iter().filter_map(|s| qis.iter().position(|q| q == s)).collect();
    // Quasi-identifiers the order leaves out come last, most important (first listed) last.
    for i in (0..qis.len()).rev() {
        if !order.contains(&i) {
            order.push(i);
        }
    }
    let unsuppressed = rows.clone();
    let nulled = suppress_to_k(&mut rows, spec.k, &order);
    changes.cells_suppressed = qis.iter().cloned().zip(nulled).collect();
    // Per record, the quasi-identifiers suppression emptied.
    let suppressed: StringArray = rows
        .iter()
        .zip(&unsuppressed)
        .map(|(after, before)| {
            let names: Vec<&str> = qis
                .iter()
                .zip(after.iter().zip(before))
                .filter(|(_, (a, b))| a.is_none() && b.is_some())
                .map(|(q, _)| q.as_str())
                .collect();
            (!names.is_empty()).then(|| names.join("; "))
        })
        .collect();
    let suppressed_qis: BTreeSet<String> =
        changes.cells_suppressed.iter().filter(|(_, n)| **n > 0).map(|(q, _)| q.clone()).collect();
    let risk_after = risk_report(&qis, &rows, spec.k);
    // Put the protected values back, as nullable text columns.
    let schema = participants.schema();
    let mut fields: Vec<Field> = schema.fields().iter().map(|f| f.as_ref().clone()).collect();
    let mut columns: Vec<ArrayRef> = participants.columns().to_vec();
    for (q, name) in qis.iter().enumerate() {
        if let Some(i) = fields.iter().position(|f| f.name() == name) {
            fields[i] = Field::new(name, DataType::Utf8, true);
            columns[i] = Arc::new(rows.iter().map(|r| r[q].clone()).collect::<StringArray>());
        }
    }
    participants = RecordBatch::try_new(Arc::new(Schema::new(fields)), columns)
        .map_err(|e| DeidError::Extract { problem: format!("building participants: {e}") })?;
    let all: [(&'static str, RecordBatch); 5] = [
        ("participants", participants),
        ("service_events", events_batch(tables, service_events)?),
        ("process_events", DeidProcessEvent::to_batch(tables.process_events())?),
        ("responses", DeidResponse::to_batch(tables.responses())?),
        ("codings", DeidCoding::to_batch(tables.codings())?),
    ];
    let known = known_variables();
    let none = BTreeSet::new();
    let mut out = Vec::new();
    let mut codebook = Vec::new();
    for (table, batch) in all {
        let schema = batch.schema();
        let indices: Vec<usize> = (0..schema.fields().len())
            .filter(|&i| exported.contains(&format!("{table}.{}", schema.field(i).name())))
            .collect();
        if indices.is_empty() {
            continue;
        }
        let problem = |e: arrow_schema::ArrowError| DeidError::Extract {
            problem: format!("building {table}: {e}"),
        };
        let mut projected = batch.project(&indices).map_err(problem)?;
        if table == DeidParticipant::NAME && !qis.is_empty() {
            let mut fields: Vec<Field> =
                projected.schema().fields().iter().map(|f| f.as_ref().clone()).collect();
            let mut columns = projected.columns().to_vec();
            fields.push(Field::new(SUPPRESSED, DataType::Utf8, true));
            columns.push(Arc::new(suppressed.clone()));
            projected =
                RecordBatch::try_new(Arc::new(Schema::new(fields)), columns).map_err(problem)?;
        }
        // Categories as ordered dictionaries: R factors, pandas ordered categoricals.
        let projected = categories(table, spec)
            .apply(&projected, table)
            .map_err(|e| DeidError::Extract { problem: format!("building {table}: {e}") })?;
        for (field, column) in projected.schema().fields().iter().zip(projected.columns()) {
            let meaning = known.iter().find(|(t, c, _, _)| *t == table && *c == field.name()).map_or_else(
                || {
                    if field.name() == SUPPRESSED {
                        "The record's quasi-identifiers left empty by k-anonymisation (local suppression): an empty cell not named here is missing data.".to_owned()
                    } else {
                        String::new()
                    }
                },
                |(_, _, doc, _)| doc.clone(),
            );
            codebook.push(CodebookRow {
                table: table.to_owned(),
                variable: field.name().clone(),
                kind: match field.data_type() {
                    DataType::Dictionary(..) => "category (ordered)".to_owned(),
                    other => other.to_string(),
                },
                meaning,
                allowed_values: allowed_values(
                    table,
                    field.name(),
                    column.as_ref(),
                    if table == DeidParticipant::NAME { &suppressed_qis } else { &none },
                ),
            });
        }
        out.push((table, projected));
    }
    Ok(Extract { tables: out, codebook, risk_before, risk_after, changes })
}

/// The extract's categorical columns and their levels, in natural order: the closed code
/// sets of the table definitions, and the age bands youngest first.
fn categories(table: &str, spec: &ExtractSpec) -> Categories {
    match table {
        "participants" => {
            Categories::of::<DeidParticipant>().with("age_band", spec.age_bands.labels())
        }
        "service_events" => Categories::of::<DeidServiceEvent>(),
        "process_events" => Categories::of::<DeidProcessEvent>(),
        "responses" => Categories::of::<DeidResponse>(),
        "codings" => Categories::of::<DeidCoding>(),
        _ => Categories::default(),
    }
}

/// The risk report as the data controller reads it (Markdown): what the approval allows,
/// the class sizes and risk before and after, what was changed, and what free-text
/// scrubbing replaced.
pub fn risk_markdown(
    spec: &ExtractSpec,
    extract: &Extract,
    scrubbing: &crate::DeidReport,
) -> String {
    use std::fmt::Write as _;
    let (b, a) = (&extract.risk_before, &extract.risk_after);
    let pct = |x: f64| format!("{:.1} %", 100.0 * x);
    let mut md = String::new();
    let _ = writeln!(
        md,
        "# Research extract: disclosure-risk report
"
    );
    let _ =
        writeln!(md, "- REK approval: {}, exports allowed until {}", spec.reference, spec.end_date);
    let _ = writeln!(
        md,
        "- k = {}; quasi-identifiers: {}
",
        spec.k,
        if b.quasi_identifiers.is_empty() {
            "none exported".to_owned()
        } else {
            b.quasi_identifiers.join(", ")
        }
    );
    let _ = writeln!(
        md,
        "| | before | extract |
|---|---|---|"
    );
    let _ = writeln!(md, "| records | {} | {} |", b.records, a.records);
    let _ = writeln!(md, "| distinct combinations | {} | {} |", b.classes, a.classes);
    let _ = writeln!(
        md,
        "| records in classes below k | {} ({}) | {} ({}) |",
        b.records_below_k,
        pct(b.share_below_k),
        a.records_below_k,
        pct(a.share_below_k)
    );
    let _ = writeln!(
        md,
        "| highest re-identification risk (1 / smallest class) | {:.3} | {:.3} |",
        b.max_risk, a.max_risk
    );
    let _ = writeln!(
        md,
        "| mean re-identification risk | {:.3} | {:.3} |
",
        b.mean_risk, a.mean_risk
    );
    let _ = writeln!(
        md,
        "## What was changed
"
    );
    let c = &extract.changes;
    if c.municipalities_merged.is_empty() {
        let _ = writeln!(md, "- No municipality merged.");
    } else {
        let _ = writeln!(
            md,
            "- Municipalities merged into `other`: {} ({} persons).",
            c.municipalities_merged.join(", "),
            c.records_merged
        );
    }
    for (qi, n) in &c.cells_suppressed {
        let _ = writeln!(md, "- `{qi}`: {n} cells suppressed (left empty).");
    }
    let _ = writeln!(
        md,
        "
## Free text
"
    );
    for (what, counts) in [
        ("questionnaire answers", &scrubbing.responses),
        ("focus-group quotes", &scrubbing.codings),
    ] {
        let _ = writeln!(
            md,
            "- {what}: {} names, {} national ids, {} phone numbers, {} e-mail addresses, {} postal addresses replaced; names that are also common words: {} replaced, {} left as words",
            counts.names,
            counts.national_ids,
            counts.phones,
            counts.emails,
            counts.addresses,
            counts.borderline_scrubbed,
            counts.borderline_kept
        );
    }
    let _ = writeln!(
        md,
        "- identifier items not carried over: {}; answers dropped by configuration: {}
",
        scrubbing.identifier_rows_dropped, scrubbing.texts_dropped
    );
    let _ = writeln!(
        md,
        "## Variables

| table | variable | type | meaning | values |
|---|---|---|---|---|"
    );
    for row in &extract.codebook {
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} | {} |",
            row.table,
            row.variable,
            row.kind,
            row.meaning.replace('|', "/"),
            row.allowed_values.replace('|', "/")
        );
    }
    md
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> ExtractSpec {
        ExtractSpec {
            reference: "REK vest 2019/1234".into(),
            approved: vec!["participants.pid".into(), "participants.age_band".into()],
            variables: vec![],
            end_date: NaiveDate::from_ymd_opt(2030, 12, 31).unwrap(),
            k: 5,
            quasi_identifiers: vec!["age_band".into(), "sex".into()],
            suppression_order: vec!["sex".into()],
            merge_municipalities_below: None,
            age_bands: crate::AgeBands::default(),
        }
    }

    #[test]
    fn variables_are_checked_by_name() {
        assert!(spec().check().is_ok());
        let mut s = spec();
        s.approved.push("participants.age_bnd".into());
        assert_eq!(
            s.check().unwrap_err(),
            "`participants.age_bnd` is not a variable of the de-identified tables; did you mean `participants.age_band`?"
        );
        let mut s = spec();
        s.variables = vec!["participants.pid".into(), "participants.municipality".into()];
        assert_eq!(
            s.check().unwrap_err(),
            "`participants.municipality` is not among the variables REK approved (REK vest 2019/1234); remove it or ask REK to amend the approval"
        );
        let mut s = spec();
        s.quasi_identifiers.push("exit_day".into());
        assert!(
            s.check().unwrap_err().starts_with("quasi-identifier `exit_day` is not a text column")
        );
        // Identifying columns do not exist in zone 2, so they cannot be approved.
        let mut s = spec();
        s.approved.push("participants.person_id".into());
        assert!(s.check().unwrap_err().starts_with("`participants.person_id` is not a variable"));
    }

    #[test]
    fn meanings_come_from_the_table_definitions() {
        let known = known_variables();
        let (_, _, doc, _) =
            known.iter().find(|(t, c, _, _)| *t == "participants" && *c == "age_band").unwrap();
        assert_eq!(doc, "Age at inclusion, banded.");
    }
}

//! Questionnaires in the wide shape survey tools export (one row per submission, one
//! column per item), melted into the long `responses` table by a codebook. Works for
//! Nettskjema's current CSV report (`;`, all fields quoted, `$created` as the submission
//! time, checkbox options as `question.option` 0/1 columns) and any wide CSV or sheet.
//!
//! A submission is one row read: it is accepted (giving one response row per codebook
//! item) or rejected whole with the column and reason — an answer outside the scale is
//! never silently dropped or clamped. Missing codes become null values.

use std::io::Read;

use folge_schema::tables::Response;

use crate::IngestError;
use crate::csv_source::CsvOptions;
use crate::readers::{
    Cells, IdPolicy, Ingested, PersonIndex, Problem, collect, problem, read_rows,
};
use crate::values::parse_number;

/// One instrument of a codebook.
#[derive(Debug, Clone, PartialEq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Instrument {
    /// Name (`pacic`).
    pub name: String,
    /// Columns holding scored items, in order.
    pub items: Vec<String>,
    /// Lowest valid answer.
    pub min: f64,
    /// Highest valid answer.
    pub max: f64,
    /// Codes meaning "no answer" (e.g. 9 for "vet ikke"): stored as null.
    #[serde(default)]
    pub missing_codes: Vec<f64>,
    /// Items scored in reverse (used when scoring; listed here so the codebook is whole).
    #[serde(default)]
    pub reverse: Vec<String>,
    /// Columns holding free text.
    #[serde(default)]
    pub free_text: Vec<String>,
    /// Named subscales: item lists (used when scoring).
    #[serde(default)]
    pub subscales: std::collections::BTreeMap<String, Vec<String>>,
}

/// A codebook: the instruments a questionnaire export holds.
#[derive(Debug, Clone, PartialEq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Codebook {
    /// Instruments.
    pub instruments: Vec<Instrument>,
}

impl Codebook {
    /// Every column the codebook reads, in order, with its instrument.
    fn columns(&self) -> Vec<(&Instrument, &str, bool)> {
        self.instruments
            .iter()
            .flat_map(|i| {
                i.items
                    .iter()
                    .map(move |c| (i, c.as_str(), false))
                    .chain(i.free_text.iter().map(move |c| (i, c.as_str(), true)))
            })
            .collect()
    }
}

/// How one export is read.
#[derive(Debug, Clone)]
pub struct QuestionnaireOptions {
    /// Timepoint of every submission in the file (`T0`).
    pub timepoint: String,
    /// Column with the submission time (ISO date or date-time with offset, or dd.mm.yyyy),
    /// e.g. Nettskjema's `$created`.
    pub date_column: Option<String>,
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
    required.extend(columns.iter().map(|(_, c, _)| *c));
    let date_column = questionnaire.date_column.as_deref();
    let optional: Vec<&str> = date_column.into_iter().collect();
    let submissions = collect(|sink| {
        read_rows(
            name,
            input,
            options,
            &required,
            &optional,
            |cells: &Cells<'_>, _| -> Result<Vec<Response>, Problem> {
                let person_id = cells.enrolled_person_id(policy, persons)?;
                let response_date = match date_column.and_then(|c| cells.text(c).map(|t| (c, t))) {
                    None => None,
                    Some((c, t)) => Some(
                        crate::values::parse_date(t.get(..10).unwrap_or(t), 30)
                            .map_err(|e| problem(c, e))?,
                    ),
                };
                let mut out = Vec::with_capacity(columns.len());
                for (instrument, column, free_text) in &columns {
                    let raw = cells.text(column);
                    let (value, text) = if *free_text {
                        (None, raw.map(str::to_owned))
                    } else {
                        let value = raw
                            .map(|t| parse_number(t).map_err(|e| problem(column, e)))
                            .transpose()?;
                        let value = value.filter(|v| !instrument.missing_codes.contains(v));
                        if let Some(v) =
                            value.filter(|v| *v < instrument.min || *v > instrument.max)
                        {
                            return Err(problem(
                                column,
                                format!(
                                    "{v} is outside the `{}` scale {}–{}",
                                    instrument.name, instrument.min, instrument.max
                                ),
                            ));
                        }
                        (value, None)
                    };
                    out.push(Response {
                        person_id: person_id.clone(),
                        timepoint: questionnaire.timepoint.clone(),
                        response_date,
                        instrument: instrument.name.clone(),
                        item: (*column).to_owned(),
                        value,
                        text,
                    });
                }
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

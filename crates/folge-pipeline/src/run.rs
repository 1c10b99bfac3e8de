//! The stage graph and its run directory:
//!
//! ```text
//! <output>/01_ingest/   identifiable (mode 0700): participants, service_events,
//!                       process_events, rejects (.parquet), stage.json
//! <output>/02_deid/     de-identified tables (.parquet), stage.json
//! <output>/03_analyze/  indicators.parquet, rates.parquet, stage.json
//! <output>/manifest.json
//! <report dir>/         index.html, figures/, tables/, manifest.json
//! ```
//!
//! Each stage reads only the previous stages' files, so any stage can be re-run alone; run
//! one after another, a stage is handed what the one before wrote in memory instead
//! ([`Handoff`]), with the same results. Where the files are, and how a stage is published
//! all or nothing, is `crate::run_dir`'s; what a stage was made from, `crate::provenance`'s;
//! one run at a time, `crate::lock`'s.

use std::collections::BTreeMap;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::time::Instant;

use arrow_array::RecordBatch;
use folge_analyze::AnalysisParams;
use folge_deid::{AgeBands, DeidParams, Deidentified, Identifiable, deidentify};
use folge_ingest::{CsvOptions, IdPolicy, Ingested, Streamed};
use folge_report::{Language, ReportInput, ReportParams, SmallCellRule, render};
use folge_schema::Table;
use folge_schema::parquet_io::{
    ParquetSink, read_ahead, read_parquet, stream_parquet, write_bytes_atomic, write_parquet,
};
use folge_schema::tables::{
    Coding, ComparisonRow, DeidCoding, DeidParticipant, DeidProcessEvent, DeidResponse,
    DeidServiceCount, DeidServiceEvent, IndicatorRow, Participant, ProcessEvent, RateRow, Reject,
    Response, ServiceCount, ServiceEvent,
};
use tracing::{info, warn};

use crate::config::{IdKind, InputFile, InputFormat, LanguageCode};
use crate::keys::{key_file, resolve_key};
use crate::manifest::{
    InputRecord, Manifest, OutputRecord, StageRecord, file_sha256, file_sha256_unless,
    inputs_sha256, sha256_hex,
};
use crate::provenance::Provenance;
use crate::run_dir::{EXTRACT, MANIFEST, RECORD, RISK_REPORT, RunDir, parquet, shown};
use crate::{Pipeline, PipelineError, guard};

/// A stage of the pipeline, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Stage {
    /// Read and validate inputs.
    Ingest,
    /// Pseudonymise and generalise.
    Deid,
    /// Compute indicators.
    Analyze,
    /// Write the report.
    Report,
}

impl Stage {
    /// Every stage in order.
    pub const ALL: [Stage; 4] = [Stage::Ingest, Stage::Deid, Stage::Analyze, Stage::Report];

    /// Stage name (also the CLI verb).
    pub fn name(self) -> &'static str {
        match self {
            Stage::Ingest => "ingest",
            Stage::Deid => "deid",
            Stage::Analyze => "analyze",
            Stage::Report => "report",
        }
    }
}

const VERSION: &str = env!("CARGO_PKG_VERSION");

struct Context<'a> {
    pipeline: &'a Pipeline,
    dir: RunDir,
    provenance: Provenance<'a>,
    params_json: String,
    params_sha256: String,
}

impl Context<'_> {
    fn stage_dir(&self, stage: Stage) -> PathBuf {
        self.dir.stage(stage)
    }

    /// The Parquet metadata of `stage`'s tables: the parameters' hash is the one over the
    /// parameters of this stage and those before it, so a stage that is not made again
    /// keeps its bytes.
    fn metadata(&self, stage: Stage, inputs_sha256: &str) -> BTreeMap<String, String> {
        BTreeMap::from([
            ("folge.version".to_owned(), VERSION.to_owned()),
            ("folge.pipeline".to_owned(), self.pipeline.config.name.clone()),
            ("folge.params_sha256".to_owned(), self.provenance.params_sha256(stage).to_owned()),
            ("folge.inputs_sha256".to_owned(), inputs_sha256.to_owned()),
        ])
    }

    fn stage_record(&self, stage: Stage) -> Result<StageRecord, PipelineError> {
        let path = self.dir.record(stage);
        let needs = stage.name();
        let text = std::fs::read_to_string(&path).map_err(|_| {
            PipelineError::MissingStageOutput { stage: needs, needs, path: path.clone() }
        })?;
        serde_json::from_str(&text)
            .map_err(|e| PipelineError::io(&path, format!("is not a stage record: {e}")))
    }

    fn inputs_sha256(&self) -> Result<String, PipelineError> {
        Ok(inputs_sha256(&self.stage_record(Stage::Ingest)?.inputs))
    }

    /// The path of a table written by an earlier stage; an error naming the stage to run
    /// when it is missing.
    fn stage_file(&self, stage: Stage, needs: Stage, file: &str) -> Result<PathBuf, PipelineError> {
        let path = self.stage_dir(needs).join(file);
        if !path.exists() {
            return Err(PipelineError::MissingStageOutput {
                stage: stage.name(),
                needs: needs.name(),
                path,
            });
        }
        Ok(path)
    }

    /// Read table `T` written by the earlier stage `needs`.
    fn read_table<T: Table>(
        &self,
        stage: Stage,
        needs: Stage,
    ) -> Result<Vec<RecordBatch>, PipelineError> {
        Ok(read_parquet(&self.stage_file(stage, needs, &parquet::<T>())?)?.batches)
    }

    /// Read table `T` that the earlier stage `needs` writes only for some pipelines
    /// (responses, codings, focus-group results): empty when it is not there.
    fn optional_table<T: Table>(&self, needs: Stage) -> Result<Vec<RecordBatch>, PipelineError> {
        let path = self.dir.table::<T>(needs);
        if path.exists() { Ok(read_parquet(&path)?.batches) } else { Ok(Vec::new()) }
    }
}

/// What a stage leaves in memory for the next stage of the same run, so that one need not
/// read it back: the files are written all the same (a stage run alone reads them), and
/// the results are the same either way, which the end-to-end tests check byte for byte.
#[derive(Default)]
struct Handoff {
    /// Ingest → deid: the participant list as written to `01_ingest/participants.parquet`
    /// (exits completed from recorded deaths).
    participants: Option<Vec<Participant>>,
    /// Deid → analyze: the de-identified tables as written to `02_deid/`.
    deidentified: Option<Deidentified>,
    /// Deid → analyze: the indicator table built from the service events as deid wrote
    /// them.
    indicators: Option<folge_analyze::Indicators>,
}

pub(crate) fn create_dir(path: &Path, private: bool) -> Result<(), PipelineError> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    if private {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(path).map_err(|e| PipelineError::io(path, e))?;
    #[cfg(unix)]
    if private {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o700))
            .map_err(|e| PipelineError::io(path, e))?;
    }
    Ok(())
}

/// Rows per batch when a table is streamed.
const BATCH_ROWS: usize = 65_536;

/// Write the person-level indicators in batches (the compact table expands to rows one
/// batch at a time) and record the file.
fn write_indicators(
    dir: &Path,
    table: &folge_analyze::IndicatorTable,
    metadata: &BTreeMap<String, String>,
    outputs: &mut Vec<OutputRecord>,
) -> Result<(), PipelineError> {
    let file = parquet::<IndicatorRow>();
    let path = dir.join(&file);
    let mut sink = ParquetSink::create(&path, IndicatorRow::schema(), metadata)?.in_background();
    for start in (0..table.len()).step_by(BATCH_ROWS) {
        sink.write(table.batch(start..(start + BATCH_ROWS).min(table.len()))?)?;
    }
    let rows = sink.finish()?;
    let (sha256, _) = file_sha256(&path)?;
    outputs.push(OutputRecord {
        path: shown(Stage::Analyze, &file),
        sha256,
        rows: Some(rows as u64),
    });
    Ok(())
}

/// Write table `T` into `dir`, the folder of `stage`, and record it.
fn write_table<T: Table>(
    (dir, stage): (&Path, Stage),
    rows: &[T],
    metadata: &BTreeMap<String, String>,
    outputs: &mut Vec<OutputRecord>,
) -> Result<(), PipelineError> {
    let file = parquet::<T>();
    let path = dir.join(&file);
    write_parquet(&path, &T::to_batch(rows)?, metadata)?;
    let (sha256, _) = file_sha256(&path)?;
    outputs.push(OutputRecord { path: shown(stage, &file), sha256, rows: Some(rows.len() as u64) });
    Ok(())
}

fn write_stage_record(dir: &Path, record: &StageRecord) -> Result<(), PipelineError> {
    let json = serde_json::to_string_pretty(record).map_err(|e| PipelineError::io(dir, e))?;
    Ok(write_bytes_atomic(&dir.join(RECORD), format!("{json}\n").as_bytes())?)
}

/// What ingest read: the participants (small, in memory), the other tables' reports
/// (their rows were streamed to Parquet, or only counted), and the input records.
struct IngestResult {
    participants: Ingested<Participant>,
    events: Vec<Streamed>,
    codings: Option<Ingested<Coding>>,
    questionnaires: Vec<Ingested<Response>>,
    inputs: Vec<InputRecord>,
}

/// Load a questionnaire's codebook; a bad one is a configuration error with its line.
fn load_codebook(path: &Path) -> Result<folge_ingest::Codebook, PipelineError> {
    let text = std::fs::read_to_string(path).map_err(|e| PipelineError::Config {
        file: path.to_owned(),
        line: None,
        message: format!("cannot read the codebook: {e}"),
    })?;
    let codebook: folge_ingest::Codebook =
        toml::from_str(&text).map_err(|e| PipelineError::Config {
            file: path.to_owned(),
            line: e.span().map(|s| text[..s.start.min(text.len())].matches('\n').count() + 1),
            message: e.message().trim().to_owned(),
        })?;
    codebook.check().map_err(|message| PipelineError::Config {
        file: path.to_owned(),
        line: None,
        message,
    })?;
    Ok(codebook)
}

/// Build a codebook from a REDCap data dictionary; a bad one is a configuration error.
fn load_redcap_dictionary(
    path: &Path,
    role: &str,
    person_id_field: &str,
) -> Result<folge_ingest::Codebook, PipelineError> {
    let file = File::open(path).map_err(|e| PipelineError::Config {
        file: path.to_owned(),
        line: None,
        message: format!("cannot read the REDCap data dictionary: {e}"),
    })?;
    let name = format!("{role}.redcap_dictionary");
    let config = |e: folge_ingest::IngestError| PipelineError::Config {
        file: path.to_owned(),
        line: None,
        message: e
            .to_string()
            .strip_prefix(&format!("{name} "))
            .unwrap_or(&e.to_string())
            .to_owned(),
    };
    let codebook =
        folge_ingest::codebook_from_dictionary(&name, file, person_id_field).map_err(config)?;
    codebook.check().map_err(|message| PipelineError::Config {
        file: path.to_owned(),
        line: None,
        message,
    })?;
    Ok(codebook)
}

/// Melt one questionnaire export into responses.
fn read_questionnaire(
    file: &InputFile,
    policy: IdPolicy,
    persons: &folge_ingest::PersonIndex,
) -> Result<Ingested<Response>, PipelineError> {
    let person_id_field = file.columns.get("person_id").map_or("person_id", String::as_str);
    let (mut codebook, mut options) = match (&file.codebook, &file.redcap_dictionary) {
        (Some(path), _) => (load_codebook(path)?, folge_ingest::QuestionnaireOptions::default()),
        (None, Some(path)) => {
            let codebook = load_redcap_dictionary(path, &file.role, person_id_field)?;
            let options = folge_ingest::QuestionnaireOptions {
                timepoint_column: Some("redcap_event_name".into()),
                instance_column: Some("redcap_repeat_instance".into()),
                complete_columns: if file.require_complete {
                    codebook.instruments.iter().map(|i| format!("{}_complete", i.name)).collect()
                } else {
                    Vec::new()
                },
                ..folge_ingest::QuestionnaireOptions::default()
            };
            (codebook, options)
        }
        // Checked when the pipeline file is loaded.
        (None, None) => {
            return Err(PipelineError::Stage {
                stage: "ingest",
                message: "a questionnaire has neither a codebook nor a REDCap dictionary".into(),
            });
        }
    };
    codebook.missing_text.extend(file.missing_text.iter().cloned());
    if file.timepoint.is_some() || file.timepoint_column.is_some() {
        options.timepoint.clone_from(&file.timepoint);
        options.timepoint_column.clone_from(&file.timepoint_column);
    }
    options.timepoints.clone_from(&file.timepoints);
    options.date_column.clone_from(&file.date_column);
    let (name, reader, csv) = tabular(file)?;
    Ok(folge_ingest::read_questionnaire(&name, reader, &csv, policy, persons, &codebook, &options)?)
}

/// Read the codings input: a REFI-QDA project or a long coding sheet (CSV or spreadsheet),
/// municipalities and roles checked against the pipeline's vocabularies.
fn read_codings(
    file: &InputFile,
    vocabularies: &std::sync::Arc<folge_ingest::Vocabularies>,
) -> Result<Ingested<Coding>, PipelineError> {
    let read = match file.format {
        InputFormat::Qdpx => folge_ingest::read_qdpx(
            &file.role,
            open(file)?,
            &folge_ingest::QdpxOptions {
                vocabularies: std::sync::Arc::clone(vocabularies),
                allow_empty: file.allow_empty,
                ..folge_ingest::QdpxOptions::default()
            },
        ),
        InputFormat::Csv | InputFormat::Xlsx => {
            let (name, reader, mut options) = tabular(file)?;
            options.vocabularies = std::sync::Arc::clone(vocabularies);
            folge_ingest::read_codings(&name, reader, &options)
        }
    };
    Ok(read?)
}

fn open(input: &InputFile) -> Result<File, PipelineError> {
    File::open(&input.path)
        .map_err(|e| PipelineError::io(&input.path, format!("cannot open the input: {e}")))
}

/// A tabular input ready for the readers: its display name, the text to read, and the
/// options. A spreadsheet's sheet is converted to CSV text first, and named with it.
fn tabular(
    input: &InputFile,
) -> Result<(String, Box<dyn std::io::Read>, CsvOptions), PipelineError> {
    let mut options = csv_options(input);
    match input.format {
        InputFormat::Xlsx => {
            let bytes = std::fs::read(&input.path).map_err(|e| {
                PipelineError::io(&input.path, format!("cannot open the input: {e}"))
            })?;
            let (csv, origin) = folge_ingest::sheet_to_csv(
                &input.role,
                std::io::Cursor::new(bytes),
                input.sheet.as_deref(),
            )?;
            let name = format!("{}, sheet `{}`", input.role, folge_schema::shown(&origin.sheet));
            options.sheet = Some(origin);
            Ok((name, Box::new(std::io::Cursor::new(csv)), options))
        }
        InputFormat::Csv | InputFormat::Qdpx => {
            Ok((input.role.clone(), Box::new(open(input)?), options))
        }
    }
}

/// A streaming reader of an event table: rows must name a person in the participant list.
type EventStream<T> = fn(
    &str,
    Box<dyn std::io::Read>,
    &CsvOptions,
    IdPolicy,
    &folge_ingest::PersonIndex,
    &mut folge_ingest::Sink<'_, T>,
) -> Result<Streamed, folge_ingest::IngestError>;

fn csv_options(file: &InputFile) -> CsvOptions {
    CsvOptions {
        delimiter: file.delimiter.map(|d| d as u8),
        // Checked when the pipeline file was loaded.
        encoding: file
            .encoding
            .as_deref()
            .and_then(|l| folge_ingest::Encoding::for_label(l.as_bytes())),
        columns: file.columns.clone(),
        layout: file.layout(),
        sheet: None,
        open_end: None,
        duplicates: file.duplicates(),
        date_order: file.date_order(),
        service_codes: file.service_codes(),
        // Open; the readers of the tables with lists get the pipeline's.
        vocabularies: std::sync::Arc::default(),
        allow_empty: file.allow_empty,
    }
}

/// Where ingest writes: the stage folder, the Parquet metadata without the inputs' hash
/// (`early`; the hash is added when a file is finished), and the output records.
struct IngestOutput<'a> {
    dir: &'a Path,
    early: &'a BTreeMap<String, String>,
    outputs: &'a mut Vec<OutputRecord>,
}

/// The Parquet metadata key of the hash over every input.
const INPUTS_SHA256_KEY: &str = "folge.inputs_sha256";

/// The inputs' records with their SHA-256, computed on a thread of their own while ingest
/// parses the files: each file is read twice either way, but the hashing no longer has to
/// finish before the parsing starts. Dropped before the records were asked for (ingest
/// failed), it stops the thread at its next read and waits for it.
struct InputHashes {
    worker: Option<std::thread::JoinHandle<Result<Vec<InputRecord>, PipelineError>>>,
    inputs: Vec<InputRecord>,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

impl Drop for InputHashes {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        if let Some(worker) = self.worker.take() {
            // Its result is not wanted any more.
            let _ = worker.join();
        }
    }
}

impl InputHashes {
    /// Open every input (a missing one is reported here, before anything is read), then
    /// hash them in the background.
    fn start(pipeline: &Pipeline) -> Result<Self, PipelineError> {
        let files: Vec<(String, String, PathBuf)> = pipeline
            .inputs()
            .into_iter()
            .map(|(t, f)| (t.to_owned(), f.role.clone(), f.path.clone()))
            .collect();
        for (_, _, path) in &files {
            std::fs::File::open(path).map_err(|e| PipelineError::io(path, e))?;
        }
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let stopped = std::sync::Arc::clone(&stop);
        let worker = std::thread::spawn(move || {
            files
                .into_iter()
                .map(|(table, role, path)| {
                    let (sha256, bytes) = file_sha256_unless(&path, &stopped)?
                        .ok_or_else(|| PipelineError::io(&path, "hashing stopped"))?;
                    Ok(InputRecord {
                        table,
                        role,
                        sha256,
                        bytes,
                        rows_read: 0,
                        rows_accepted: 0,
                        rows_rejected: 0,
                    })
                })
                .collect()
        });
        Ok(InputHashes { worker: Some(worker), inputs: Vec::new(), stop })
    }

    /// The records, waiting for the hashing to end.
    fn inputs(&mut self) -> Result<&mut Vec<InputRecord>, PipelineError> {
        if let Some(worker) = self.worker.take() {
            self.inputs = worker.join().map_err(|_| {
                PipelineError::io(Path::new("inputs"), "the thread hashing the inputs panicked")
            })??;
        }
        Ok(&mut self.inputs)
    }

    /// The metadata entry that completes `early`: the hash over every input.
    fn late_metadata(&mut self) -> Result<BTreeMap<String, String>, PipelineError> {
        Ok(BTreeMap::from([(INPUTS_SHA256_KEY.to_owned(), inputs_sha256(self.inputs()?))]))
    }
}

/// Stream the files of one event table into `<dir>/<table>.parquet`, one after another
/// (or only count them when there is no output, as `validate` does). A table the
/// pipeline does not name is written empty when `always` is set.
fn stream_table<T: Table + Send + 'static>(
    files: &[&InputFile],
    stream: EventStream<T>,
    (policy, data_end, always): (IdPolicy, chrono::NaiveDate, bool),
    persons: &folge_ingest::PersonIndex,
    out: Option<&mut IngestOutput<'_>>,
    (hashes, vocabularies): (&mut InputHashes, &std::sync::Arc<folge_ingest::Vocabularies>),
) -> Result<Vec<Streamed>, PipelineError> {
    // An open period (a municipal decision without an end) runs to the end of data.
    let tabular = |f: &InputFile| {
        tabular(f).map(|(name, reader, mut options)| {
            options.open_end = Some(data_end);
            options.vocabularies = std::sync::Arc::clone(vocabularies);
            (name, reader, options)
        })
    };
    let Some(out) = out else {
        return files
            .iter()
            .map(|f| {
                let (name, reader, options) = tabular(f)?;
                stream(&name, reader, &options, policy, persons, &mut |_| Ok(()))
                    .map_err(PipelineError::from)
            })
            .collect();
    };
    if files.is_empty() && !always {
        return Ok(Vec::new());
    }
    let file = parquet::<T>();
    let path = out.dir.join(&file);
    // Turned into columns and encoded on a second thread while this one reads and
    // validates.
    let mut sink = ParquetSink::create(&path, T::schema(), out.early)?.in_background();
    let mut streamed = Vec::with_capacity(files.len());
    for f in files {
        let (name, reader, options) = tabular(f)?;
        streamed.push(stream(&name, reader, &options, policy, persons, &mut |rows| {
            sink.write_with(move || T::to_batch(&rows)).map_err(|e| e.to_string())
        })?);
    }
    let rows = sink.finish_with(hashes.late_metadata()?)?;
    let (sha256, _) = file_sha256(&path)?;
    out.outputs.push(OutputRecord {
        path: shown(Stage::Ingest, &file),
        sha256,
        rows: Some(rows as u64),
    });
    Ok(streamed)
}

/// Hash the inputs, read participants, stream the event tables (into `01_ingest/` when
/// `out_dir` is given), and fill in each input's row counts.
fn read_inputs(
    ctx: &Context<'_>,
    out_dir: Option<&Path>,
    outputs: &mut Vec<OutputRecord>,
) -> Result<IngestResult, PipelineError> {
    let pipeline = ctx.pipeline;
    let c = &pipeline.config;
    let policy = IdPolicy {
        national: c.id_kind == IdKind::National,
        allow_synthetic: c.allow_synthetic_ids,
    };
    let mut hashes = InputHashes::start(pipeline)?;
    let mut early = ctx.metadata(Stage::Ingest, "");
    early.remove(INPUTS_SHA256_KEY);
    let p = &c.inputs.participants;
    let (name, reader, mut options) = tabular(p)?;
    options.vocabularies = std::sync::Arc::clone(&pipeline.vocabularies);
    let mut participants = folge_ingest::read_participants(&name, reader, &options, policy)?;
    let mut out = out_dir.map(|dir| IngestOutput { dir, early: &early, outputs });
    let persons = folge_ingest::PersonIndex::new(&participants.rows);
    let service_events = stream_table(
        &c.inputs.service_events.iter().collect::<Vec<_>>(),
        folge_ingest::stream_service_events,
        (policy, c.data_end, true),
        &persons,
        out.as_mut(),
        (&mut hashes, &pipeline.vocabularies),
    )?;
    let service_counts = stream_table(
        &c.inputs.service_counts.iter().collect::<Vec<_>>(),
        folge_ingest::stream_service_counts,
        (policy, c.data_end, false),
        &persons,
        out.as_mut(),
        (&mut hashes, &pipeline.vocabularies),
    )?;
    let process_events = stream_table(
        &c.inputs.process_events.iter().collect::<Vec<_>>(),
        folge_ingest::stream_process_events,
        (policy, c.data_end, true),
        &persons,
        out.as_mut(),
        (&mut hashes, &pipeline.vocabularies),
    )?;
    // In the order of `Pipeline::inputs`, which the input records follow.
    let events: Vec<Streamed> =
        service_events.into_iter().chain(service_counts).chain(process_events).collect();
    // Deaths recorded at discharge complete the participant list before it is written.
    let deaths: Vec<(String, chrono::NaiveDate)> =
        events.iter().flat_map(|e| e.deaths.iter().cloned()).collect();
    if !deaths.is_empty() {
        let exits = folge_ingest::complete_exits(&mut participants.rows, &deaths);
        info!(
            "deaths recorded in service use: {} completed a participant's missing exit, {} agreed with the participant list",
            exits.completed, exits.agreed
        );
        if exits.disagreed > 0 {
            participants.warnings.push(format!(
                "{} deaths recorded in service use disagree with the participant list's exit (another exit or day, or before inclusion); the participant list is kept",
                exits.disagreed
            ));
        }
    }
    let mut metadata = early.clone();
    metadata.append(&mut hashes.late_metadata()?);
    if let Some(out) = out.as_mut() {
        write_table((out.dir, Stage::Ingest), &participants.rows, &metadata, out.outputs)?;
    }
    let codings =
        c.inputs.codings.as_ref().map(|f| read_codings(f, &pipeline.vocabularies)).transpose()?;
    if let (Some(out), Some(codings)) = (out.as_mut(), codings.as_ref()) {
        write_table((out.dir, Stage::Ingest), &codings.rows, &metadata, out.outputs)?;
    }
    let questionnaires = c
        .inputs
        .questionnaires
        .values()
        .map(|f| read_questionnaire(f, policy, &persons))
        .collect::<Result<Vec<_>, _>>()?;
    if let (Some(out), false) = (out.as_mut(), c.inputs.questionnaires.is_empty()) {
        let responses: Vec<Response> =
            questionnaires.iter().flat_map(|q| q.rows.iter().cloned()).collect();
        write_table((out.dir, Stage::Ingest), &responses, &metadata, out.outputs)?;
    }
    let summaries = std::iter::once(&participants.summary)
        .chain(events.iter().map(|e| &e.summary))
        .chain(codings.iter().map(|c| &c.summary))
        .chain(questionnaires.iter().map(|q| &q.summary));
    let mut inputs = std::mem::take(hashes.inputs()?);
    for (input, summary) in inputs.iter_mut().zip(summaries) {
        input.rows_read = summary.rows_read;
        input.rows_accepted = summary.rows_accepted;
        input.rows_rejected = summary.rows_rejected;
    }
    for warning in participants
        .warnings
        .iter()
        .chain(events.iter().flat_map(|e| &e.warnings))
        .chain(codings.iter().flat_map(|c| &c.warnings))
        .chain(questionnaires.iter().flat_map(|q| &q.warnings))
    {
        warn!("{warning}");
    }
    Ok(IngestResult { participants, events, codings, questionnaires, inputs })
}

/// What `folge validate` found.
#[derive(Debug, Clone)]
pub struct Validation {
    /// Per-input counts.
    pub inputs: Vec<InputRecord>,
    /// Inputs whose rejected share exceeds the pipeline's limit.
    pub over_limit: Vec<String>,
    /// The first [`VALIDATE_REJECTS`] rejected rows of each input, in the order of
    /// `inputs` (line, column and reason; never the row itself).
    pub rejects: Vec<Vec<Reject>>,
}

/// Inputs whose rejected share is over the limit, each as a sentence ending in `see`
/// (where the reasons are).
fn over_limit(pipeline: &Pipeline, inputs: &[InputRecord], see: &str) -> Vec<String> {
    let max = pipeline.config.ingest.max_reject_share;
    inputs
        .iter()
        .filter(|i| i.rows_read > 0 && i.rows_rejected as f64 / i.rows_read as f64 > max)
        .map(|i| {
            format!(
                "{}: {} of {} rows rejected ({:.1} %), more than the limit of {:.1} % (`ingest.max_reject_share`); {see}",
                i.role,
                i.rows_rejected,
                i.rows_read,
                100.0 * i.rows_rejected as f64 / i.rows_read as f64,
                100.0 * max
            )
        })
        .collect()
}

/// Rejected rows `folge validate` shows of each input (it writes no rejects table).
pub const VALIDATE_REJECTS: usize = 5;

/// Check the configuration, the key and every input without writing anything.
pub fn validate(pipeline: &Pipeline) -> Result<Validation, PipelineError> {
    resolve_key(pipeline)?;
    let result = read_inputs(&context(pipeline), None, &mut Vec::new())?;
    let over_limit =
        over_limit(pipeline, &result.inputs, "the first rejected rows and why are listed above");
    let first =
        |rejects: &[Reject]| rejects.iter().take(VALIDATE_REJECTS).cloned().collect::<Vec<_>>();
    let rejects = std::iter::once(first(&result.participants.rejects))
        .chain(result.events.iter().map(|e| first(&e.rejects)))
        .chain(result.codings.iter().map(|c| first(&c.rejects)))
        .chain(result.questionnaires.iter().map(|q| first(&q.rejects)))
        .collect();
    Ok(Validation { inputs: result.inputs, over_limit, rejects })
}

/// The ingest stage, writing into `dir`; with `give`, the participant list is left there
/// for deid. More rejected rows than the limit fail it after everything is written: the
/// record says why (and the rejects are there to look at), and no stage reads it.
fn ingest(
    ctx: &Context<'_>,
    dir: &Path,
    give: Option<&mut Option<Vec<Participant>>>,
) -> Result<StageRecord, PipelineError> {
    let mut outputs = Vec::new();
    let result = read_inputs(ctx, Some(dir), &mut outputs)?;
    let metadata = ctx.metadata(Stage::Ingest, &inputs_sha256(&result.inputs));
    let rejects: Vec<Reject> = result
        .participants
        .rejects
        .iter()
        .chain(result.events.iter().flat_map(|e| &e.rejects))
        .chain(result.codings.iter().flat_map(|c| &c.rejects))
        .chain(result.questionnaires.iter().flat_map(|q| &q.rejects))
        .cloned()
        .collect();
    write_table((dir, Stage::Ingest), &rejects, &metadata, &mut outputs)?;
    for i in &result.inputs {
        info!(
            "{} ({}…): {} rows read, {} accepted, {} rejected",
            i.role,
            &i.sha256[..12],
            i.rows_read,
            i.rows_accepted,
            i.rows_rejected
        );
    }
    let see = format!("see {} for why", shown(Stage::Ingest, &parquet::<Reject>()));
    let problems = over_limit(ctx.pipeline, &result.inputs, &see);
    let failed = (!problems.is_empty()).then(|| problems.join("; "));
    if let (Some(slot), None) = (give, &failed) {
        *slot = Some(result.participants.rows);
    }
    Ok(StageRecord {
        stage: "ingest".into(),
        seconds: 0.0,
        inputs: result.inputs,
        outputs,
        notes: BTreeMap::new(),
        failed,
        made_from: None,
    })
}

/// The configured extra names: one per line, `#` comments and blank lines skipped.
fn extra_names(pipeline: &Pipeline) -> Result<Vec<String>, PipelineError> {
    let Some(path) = &pipeline.config.deid.names_file else {
        return Ok(Vec::new());
    };
    let text = std::fs::read_to_string(path).map_err(|e| PipelineError::Config {
        file: path.clone(),
        line: None,
        message: format!("cannot read the names file (`deid.names_file`): {e}"),
    })?;
    Ok(text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(str::to_owned)
        .collect())
}

/// The detector with the pipeline's closed vocabularies allowed: a site named after a
/// hospital that shares a participant's surname is a listed label, not a person.
fn run_detector(pipeline: &Pipeline, detector: folge_deid::Detector) -> folge_deid::Detector {
    let v = &pipeline.config.vocabularies;
    let lists = [&v.sites, &v.target_groups, &v.municipalities, &v.steps, &v.roles];
    detector.allow(lists.into_iter().flatten().flatten().map(String::as_str))
}

/// The detector for a stage after deid: the names from `01_ingest/participants.parquet`
/// (and identifier items' text from `01_ingest/responses.parquet`) and the configured extra
/// names. Without the identifiable zone on this machine it looks for everything but names.
fn stage_detector(ctx: &Context<'_>) -> Result<folge_deid::Detector, PipelineError> {
    let mut names: Vec<String> = extra_names(ctx.pipeline)?;
    let strings =
        |path: &Path, column: &str, only_flagged: bool| -> Result<Vec<String>, PipelineError> {
            let mut out = Vec::new();
            if !path.exists() {
                return Ok(out);
            }
            for batch in read_parquet(path)?.batches {
                let Some(values) = batch
                    .column_by_name(column)
                    .and_then(|c| c.as_any().downcast_ref::<arrow_array::StringArray>().cloned())
                else {
                    continue;
                };
                let flags = batch
                    .column_by_name("identifier")
                    .and_then(|c| c.as_any().downcast_ref::<arrow_array::BooleanArray>().cloned());
                for row in 0..arrow_array::Array::len(&values) {
                    let flagged = flags.as_ref().is_some_and(|f| f.value(row));
                    if (only_flagged && !flagged) || arrow_array::Array::is_null(&values, row) {
                        continue;
                    }
                    out.push(values.value(row).to_owned());
                }
            }
            Ok(out)
        };
    let participants = ctx.dir.table::<Participant>(Stage::Ingest);
    if !participants.exists() {
        warn!(
            "{} is not here: the re-scan looks for ids, phones, e-mail and postal addresses, but no names",
            shown(Stage::Ingest, &parquet::<Participant>())
        );
    }
    names.extend(strings(&participants, "name", false)?);
    names.extend(strings(&ctx.dir.table::<Response>(Stage::Ingest), "text", true)?);
    let detector = folge_deid::Detector::new(
        names.iter().map(String::as_str),
        folge_deid::COMMON_WORD_NAMES.iter().copied(),
    );
    Ok(run_detector(ctx.pipeline, detector))
}

/// Fail closed after analyze: every string column of every table it wrote, read back.
fn scan_analyze_outputs(
    ctx: &Context<'_>,
    dir: &Path,
    outputs: &[OutputRecord],
) -> Result<(), PipelineError> {
    let detector = stage_detector(ctx)?;
    for output in outputs {
        let Some(file) = Path::new(&output.path).file_name() else { continue };
        let path = dir.join(file);
        if path.extension().is_none_or(|e| e != "parquet") {
            continue;
        }
        if let Some((place, kind)) = guard::scan_parquet(&path, &detector)? {
            remove_outputs(dir, outputs);
            return Err(guard::failure("analyze", &output.path, &place, kind));
        }
    }
    Ok(())
}

/// Delete the files a stage wrote before it failed, so the folder never mixes two runs.
fn remove_outputs(dir: &Path, outputs: &[OutputRecord]) {
    for output in outputs {
        if let Some(name) = Path::new(&output.path).file_name() {
            let _ = std::fs::remove_file(dir.join(name));
        }
    }
}

/// A hit of the fail-closed scan: delete every file the stage wrote and say where.
fn scan_failure(
    dir: &Path,
    outputs: &[OutputRecord],
    (file, column, row, kind): (String, String, usize, folge_deid::DetectKind),
) -> PipelineError {
    remove_outputs(dir, outputs);
    guard::failure("deid", &file, &format!("column `{column}`, row {row}"), kind)
}

/// Fail closed: read back every file the stage wrote and look in every text column (the
/// pseudonym aside) with the detector (`folge_deid::Detector`, not the scrubber's
/// patterns) for ids, phones, e-mail and postal addresses, names and initials. A hit
/// deletes the stage's outputs and names the place and kind, never the value; every file
/// is read to its end first, so the failure names each column that holds something (its
/// first row), and one run shows all there is to mend.
/// `scanned` files were checked batch by batch as they were written and are not read again.
fn scan_outputs(
    dir: &Path,
    outputs: &[OutputRecord],
    scanned: &[&str],
    detector: &folge_deid::Detector,
) -> Result<(), PipelineError> {
    let mut hits: Vec<(String, guard::Place, folge_deid::DetectKind)> = Vec::new();
    for output in outputs {
        let Some(file) = Path::new(&output.path).file_name() else { continue };
        if scanned.iter().any(|s| output.path.ends_with(s)) {
            continue;
        }
        let mut found: Vec<String> = Vec::new();
        let mut row_offset = 0;
        for batch in read_parquet(&dir.join(file))?.batches {
            for (column, row, kind) in guard::scan_batch_columns(&batch, detector) {
                if !found.contains(&column) {
                    let place = format!("column `{column}`, row {}", row_offset + row + 1);
                    hits.push((output.path.clone(), place, kind));
                    found.push(column);
                }
            }
            row_offset += batch.num_rows();
        }
    }
    if hits.is_empty() {
        return Ok(());
    }
    remove_outputs(dir, outputs);
    Err(guard::failures("deid", &hits))
}

/// Stream `01_ingest/service_events.parquet` through deid into
/// `02_deid/service_events.parquet`, a batch at a time, scanning each batch as it is
/// written. Returns the rows (one out per row in). With `handoff`, the indicator table is
/// built from the batches on a second thread (by person in parts when the events came
/// from several files) and left there when the stream succeeded.
fn stream_deid_events(
    ctx: &Context<'_>,
    (dir, input, tables): (&Path, &Identifiable, &Deidentified),
    (metadata, detector): (&BTreeMap<String, String>, &folge_deid::Detector),
    outputs: &mut Vec<OutputRecord>,
    handoff: Option<&mut Option<folge_analyze::Indicators>>,
) -> Result<usize, PipelineError> {
    let params = handoff.as_ref().and_then(|_| analysis_params(ctx.pipeline).ok());
    // A hospital and a municipal file: each person's events are apart.
    let (files, events) = event_files(ctx);
    let parts = (files > 1)
        .then(|| usize::try_from(events).map_or(1, |n| n.div_ceil(EVENTS_PER_PART).max(1)));
    if let (Some(parts), Some(_)) = (parts, &params) {
        info!(
            "service events come from {files} files, so a person's events are apart: dealing them into {parts} part(s) by person while de-identifying"
        );
    }
    std::thread::scope(|scope| {
        // The indicators are built on a thread of their own from each batch as written,
        // checked as analyze checks what it reads.
        let (to_builder, batches) = std::sync::mpsc::sync_channel::<RecordBatch>(2);
        let builder = params.as_ref().map(|params| {
            scope.spawn(move || {
                if let Some(parts) = parts {
                    // A batch failing analyze's checks, or a part that cannot be written:
                    // no hand-off, and analyze reads the events back and says why.
                    let checked = batches.into_iter().map(|b| {
                        folge_deid::EventBatch::from_batch(&b).map_err(|e| PipelineError::Stage {
                            stage: "analyze",
                            message: e.to_string(),
                        })
                    });
                    return indicators_in_parts(tables, params, checked, dir, parts).ok();
                }
                let mut stream = folge_analyze::IndicatorStream::new(tables, params);
                let mut grouped = true;
                for batch in batches {
                    grouped = grouped
                        && folge_deid::EventBatch::from_batch(&batch)
                            .is_ok_and(|b| stream.push(&b).is_ok());
                }
                grouped.then(|| stream.finish().ok()).flatten()
            })
        });
        let to_builder = builder.is_some().then_some(to_builder);
        let rows =
            deid_event_batches(ctx, (dir, input, tables), (metadata, detector), outputs, |b| {
                if let Some(tx) = &to_builder {
                    // A builder that stopped has said so by its result.
                    let _ = tx.send(b.clone());
                }
            });
        drop(to_builder);
        let built = builder.and_then(|b| b.join().ok()).flatten();
        if let (Ok(_), Some(slot)) = (&rows, handoff) {
            *slot = built;
        }
        rows
    })
}

/// Convert, scan and write the service events, giving each converted batch to `each`.
fn deid_event_batches(
    ctx: &Context<'_>,
    (dir, input, tables): (&Path, &Identifiable, &Deidentified),
    (metadata, detector): (&BTreeMap<String, String>, &folge_deid::Detector),
    outputs: &mut Vec<OutputRecord>,
    mut each: impl FnMut(&RecordBatch),
) -> Result<usize, PipelineError> {
    let source = ctx.stage_file(Stage::Deid, Stage::Ingest, &parquet::<ServiceEvent>())?;
    let stream = stream_parquet(&source, BATCH_ROWS)?;
    let rows_in = stream.num_rows;
    // Decoding, converting and encoding overlap: read ahead on one thread, write on another.
    let stream = read_ahead(stream, 2);
    let file = parquet::<DeidServiceEvent>();
    let path = dir.join(&file);
    let mut sink =
        ParquetSink::create(&path, DeidServiceEvent::schema(), metadata)?.in_background();
    let mut convert = folge_deid::EventDeidentifier::new(&input.participants, tables);
    let fail =
        |e: folge_deid::DeidError| PipelineError::Stage { stage: "deid", message: e.to_string() };
    for batch in stream {
        let row_offset = convert.rows();
        let out = convert.convert(&batch?).map_err(fail)?;
        if let Some((column, row, kind)) = guard::scan_batch(&out, detector) {
            drop(sink);
            let hit = (shown(Stage::Deid, &file), column, row_offset + row + 1, kind);
            return Err(scan_failure(dir, outputs, hit));
        }
        each(&out);
        sink.write(out)?;
    }
    let rows = sink.finish()?;
    if rows != rows_in {
        return Err(PipelineError::Stage {
            stage: "deid",
            message: format!("{rows_in} service events read but {rows} written"),
        });
    }
    let (sha256, _) = file_sha256(&path)?;
    outputs.push(OutputRecord { path: shown(Stage::Deid, &file), sha256, rows: Some(rows as u64) });
    Ok(rows)
}

fn write_json(path: &Path, value: &serde_json::Value) -> Result<(), PipelineError> {
    let json = serde_json::to_string_pretty(value).map_err(|e| PipelineError::io(path, e))?;
    Ok(write_bytes_atomic(path, format!("{json}\n").as_bytes())?)
}

/// Today's date (UTC), for checking the REK approval's end date.
fn today() -> chrono::NaiveDate {
    let days = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() / 86_400);
    chrono::NaiveDate::default() + chrono::Duration::days(days as i64)
}

/// Write the research extract: its tables, codebook and risk report, scanned like every
/// other deid output.
fn write_extract(
    dir: &Path,
    tables: &Deidentified,
    section: &crate::config::ExtractSection,
    metadata: &BTreeMap<String, String>,
    detector: &folge_deid::Detector,
) -> Result<(), PipelineError> {
    let spec = section.spec();
    // Streamed service events are read back only when the extract exports some.
    let events = if spec.exports_table(DeidServiceEvent::NAME) {
        read_parquet(&dir.with_file_name(parquet::<DeidServiceEvent>()))?.batches
    } else {
        Vec::new()
    };
    let extract = folge_deid::extract(tables, &events, &spec, today())
        .map_err(|e| PipelineError::Stage { stage: "deid", message: e.to_string() })?;
    create_dir(dir, false)?;
    let mut outputs = Vec::new();
    for (table, batch) in &extract.tables {
        let file = format!("{table}.parquet");
        write_parquet(&dir.join(&file), batch, metadata)?;
        outputs.push(OutputRecord {
            path: format!("{EXTRACT}/{file}"),
            sha256: String::new(),
            rows: None,
        });
    }
    scan_outputs(dir, &outputs, &[], detector)?;
    let mut codebook = csv::Writer::from_writer(Vec::new());
    let io = |e: csv::Error| PipelineError::io(dir, e);
    codebook
        .write_record(["table", "variable", "type", "meaning", "allowed_values"])
        .map_err(io)?;
    for row in &extract.codebook {
        codebook
            .write_record([&row.table, &row.variable, &row.kind, &row.meaning, &row.allowed_values])
            .map_err(io)?;
    }
    let bytes = codebook.into_inner().map_err(|e| PipelineError::io(dir, e.to_string()))?;
    write_bytes_atomic(&dir.join("codebook.csv"), &bytes)?;
    write_json(
        &dir.join(RISK_REPORT),
        &serde_json::json!({
            "rek_reference": spec.reference, "rek_end_date": spec.end_date.to_string(),
            "k": spec.k, "before": extract.risk_before, "extract": extract.risk_after,
            "changes": extract.changes, "free_text": tables.report(),
        }),
    )?;
    write_bytes_atomic(
        &dir.join("risk_report.md"),
        folge_deid::risk_markdown(&spec, &extract, tables.report()).as_bytes(),
    )?;
    info!(
        "research extract ({}): {} tables, {} variables; participants in classes below k = {}: {} of {} before, {} in the extract",
        spec.reference,
        extract.tables.len(),
        extract.codebook.len(),
        spec.k,
        extract.risk_before.records_below_k,
        extract.risk_before.records,
        extract.risk_after.records_below_k
    );
    Ok(())
}

/// The deid stage, on `participants` when ingest handed them over (else it reads them).
/// With `give`, it also builds the indicator table from the service events as it writes
/// them and leaves it there with the de-identified tables (for an analyze stage run right
/// after, which then need not read them back); no indicator table is left when it could
/// not be built (the events are not grouped by person, or the analysis is misconfigured:
/// analyze then says so itself).
fn deid(
    ctx: &Context<'_>,
    dir: &Path,
    participants: Option<Vec<Participant>>,
    give: Option<(&mut Option<folge_analyze::Indicators>, &mut Option<Deidentified>)>,
) -> Result<StageRecord, PipelineError> {
    let key = resolve_key(ctx.pipeline)?;
    let participants = match participants {
        Some(rows) => rows,
        None => {
            Participant::from_batches(&ctx.read_table::<Participant>(Stage::Deid, Stage::Ingest)?)?
        }
    };
    let (handoff, tables_slot) = give.unzip();
    let input = Identifiable {
        participants,
        // Streamed below, a batch at a time.
        service_events: Vec::new(),
        process_events: ProcessEvent::from_batches(
            &ctx.read_table::<ProcessEvent>(Stage::Deid, Stage::Ingest)?,
        )?,
        responses: Response::from_batches(&ctx.optional_table::<Response>(Stage::Ingest)?)?,
        codings: Coding::from_batches(&ctx.optional_table::<Coding>(Stage::Ingest)?)?,
        service_counts: ServiceCount::from_batches(
            &ctx.optional_table::<ServiceCount>(Stage::Ingest)?,
        )?,
    };
    let section = &ctx.pipeline.config.deid;
    let params = DeidParams {
        age_bands: section.age_bands.clone().map_or_else(AgeBands::default, AgeBands),
        extra_names: extra_names(ctx.pipeline)?,
        drop_text: section.drop_text.clone(),
        drop_quotes: section.drop_quotes,
        inclusion_quarter: section.inclusion_quarter,
        keep_coder_names: section.keep_coder_names,
        ..DeidParams::new(ctx.pipeline.config.data_end)
    };
    let tables = deidentify(&input, &params, &key).map_err(|e| match e {
        // The key does not fit the data: a configuration error, named on the key file
        // when the demo key's bytes came from one.
        folge_deid::DeidError::DemoKeyOnRealIds { .. } => match key_file(ctx.pipeline) {
            Ok(Some(file)) => PipelineError::Config {
                file,
                line: None,
                message: format!("this key file holds the public demo key's bytes; {e}"),
            },
            _ => PipelineError::Config {
                file: ctx.pipeline.file.clone(),
                line: None,
                message: e.to_string(),
            },
        },
        other => PipelineError::Stage { stage: "deid", message: other.to_string() },
    })?;
    if key.is_demo() && matches!(key_file(ctx.pipeline), Ok(Some(_))) {
        warn!(
            "the key file holds the public demo key's bytes: accepted for synthetic test ids only; create a key for real data with `folge keygen --out FILE`"
        );
    }
    let metadata = ctx.metadata(Stage::Deid, &ctx.inputs_sha256()?);
    let detector = run_detector(ctx.pipeline, folge_deid::detector_for(&input, &params));
    // The disclosure risk of the de-identified participants, on the default
    // quasi-identifiers (or the extract's), for the data controller: it needs only the
    // participants, so it is worked out while the service events stream.
    let (qis, k) = ctx.pipeline.config.extract.as_ref().map_or_else(
        || (["age_band", "sex", "municipality", "target_group"].map(str::to_owned).to_vec(), 5),
        |e| (e.quasi_identifiers.clone(), e.k),
    );
    let mut streamed = Vec::new();
    let (events, risk, participants) = std::thread::scope(|scope| {
        let risk = scope.spawn(|| folge_deid::participant_risk(tables.participants(), &qis, k));
        // The participants' file is written while the events stream, too.
        let participants = scope.spawn(|| {
            let mut written = Vec::new();
            write_table((dir, Stage::Deid), tables.participants(), &metadata, &mut written)
                .map(|()| written)
        });
        let events = stream_deid_events(
            ctx,
            (dir, &input, &tables),
            (&metadata, &detector),
            &mut streamed,
            handoff,
        );
        let join = |panic| std::panic::resume_unwind(panic);
        (events, risk.join(), participants.join().unwrap_or_else(join))
    });
    // The participants first in the stage record, as ever.
    let mut outputs = participants.inspect_err(|_| remove_outputs(dir, &streamed))?;
    outputs.append(&mut streamed);
    let events = events.inspect_err(|_| remove_outputs(dir, &outputs))?;
    let out = (dir, Stage::Deid);
    write_table(out, tables.process_events(), &metadata, &mut outputs)?;
    write_table(out, tables.responses(), &metadata, &mut outputs)?;
    write_table(out, tables.codings(), &metadata, &mut outputs)?;
    write_table(out, tables.service_counts(), &metadata, &mut outputs)?;
    scan_outputs(dir, &outputs, &[&parquet::<DeidServiceEvent>()], &detector)?;
    let report = tables.report();
    let risk = risk
        .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
        .map_err(|e| PipelineError::Stage { stage: "deid", message: e.to_string() })?;
    write_json(
        &dir.join(RISK_REPORT),
        &serde_json::json!({ "participants": risk, "free_text": report }),
    )?;
    if let Some(section) = &ctx.pipeline.config.extract {
        write_extract(&dir.join(EXTRACT), &tables, section, &metadata, &detector)?;
    }
    info!(
        "de-identified {} persons, {} service events, {} answers and {} codings; free text: {} replacements in answers, {} in quotes; {} identifier items dropped",
        tables.participants().len(),
        events,
        tables.responses().len(),
        tables.codings().len(),
        report.responses.total(),
        report.codings.total(),
        report.identifier_rows_dropped
    );
    let notes = BTreeMap::from([
        ("key_fingerprint".to_owned(), key.fingerprint().into()),
        ("key_is_demo".to_owned(), key.is_demo().into()),
        ("scrubbing".to_owned(), serde_json::to_value(report).unwrap_or_default()),
    ]);
    if let Some(slot) = tables_slot {
        *slot = Some(tables);
    }
    Ok(StageRecord {
        stage: "deid".into(),
        seconds: 0.0,
        inputs: vec![],
        outputs,
        notes,
        failed: None,
        made_from: None,
    })
}

fn load_deidentified(ctx: &Context<'_>, stage: Stage) -> Result<Deidentified, PipelineError> {
    let fail = |e: folge_deid::DeidError| PipelineError::Stage {
        stage: stage.name(),
        message: e.to_string(),
    };
    // Read in table order, so a missing deid output is named the way deid writes them.
    // Service events are streamed by the stage that needs them, not loaded here.
    let participants = ctx.read_table::<DeidParticipant>(stage, Stage::Deid)?;
    ctx.stage_file(stage, Stage::Deid, &parquet::<DeidServiceEvent>())?;
    let process_events = ctx.read_table::<DeidProcessEvent>(stage, Stage::Deid)?;
    let responses = ctx.read_table::<DeidResponse>(stage, Stage::Deid)?;
    let codings = ctx.read_table::<DeidCoding>(stage, Stage::Deid)?;
    let counts = ctx.read_table::<DeidServiceCount>(stage, Stage::Deid)?;
    Deidentified::from_batches(&participants, &[], &process_events)
        .and_then(|t| t.with_text_tables(&responses, &codings))
        .and_then(|t| t.with_service_counts(&counts))
        .map_err(fail)
}

/// The scales of every questionnaire's codebook (each instrument once): its total and its
/// subscales, unless the codebook says `score = "none"`. REDCap-built codebooks score
/// nothing.
fn scale_specs(pipeline: &Pipeline) -> Result<Vec<folge_analyze::ScaleSpec>, PipelineError> {
    let mut specs: Vec<folge_analyze::ScaleSpec> = Vec::new();
    for file in pipeline.config.inputs.questionnaires.values() {
        let Some(path) = &file.codebook else { continue };
        for instrument in load_codebook(path)?.instruments {
            let scoring = match instrument.scoring() {
                "mean" => folge_analyze::Scoring::Mean,
                "sum" => folge_analyze::Scoring::Sum,
                _ => continue,
            };
            let (Some(min), Some(max)) = (instrument.min, instrument.max) else { continue };
            if specs.iter().any(|s| s.instrument == instrument.name) {
                continue;
            }
            let items: Vec<String> = instrument.items.iter().map(|i| i.name.clone()).collect();
            let scales = std::iter::once((instrument.name.clone(), items))
                .chain(instrument.subscales.clone());
            for (scale, items) in scales {
                specs.push(folge_analyze::ScaleSpec {
                    instrument: instrument.name.clone(),
                    scale,
                    items,
                    reverse: instrument.reverse.clone(),
                    min,
                    max,
                    scoring,
                    min_share: instrument.min_answered.unwrap_or(0.5),
                });
            }
        }
    }
    Ok(specs)
}

/// The pipeline's multiplicity adjustment (Holm unless it says otherwise).
fn adjustment(pipeline: &Pipeline) -> folge_stats::Adjustment {
    match pipeline.config.analyze.adjustment {
        None | Some(crate::config::AdjustmentCode::Holm) => folge_stats::Adjustment::Holm,
        Some(crate::config::AdjustmentCode::Bh) => folge_stats::Adjustment::BenjaminiHochberg,
        Some(crate::config::AdjustmentCode::Bonferroni) => folge_stats::Adjustment::Bonferroni,
    }
}

fn analysis_params(pipeline: &Pipeline) -> Result<AnalysisParams, PipelineError> {
    let periods = &pipeline.config.periods;
    let a = &pipeline.config.analyze;
    let [t0, t1] = a.timepoints.clone().unwrap_or_else(|| ["T0".into(), "T1".into()]);
    let scales = scale_specs(pipeline)?;
    let mut windows = AnalysisParams::before_after(periods.before_days, periods.after_days).windows;
    windows.extend(periods.windows.iter().map(|w| folge_analyze::Window {
        name: w.name.clone(),
        from: w.from,
        to: w.to,
    }));
    Ok(AnalysisParams {
        windows,
        same_day_bed_days: a.same_day_bed_days.unwrap_or(0.0),
        stay_gap_minutes: i64::from(a.stay_gap_hours.unwrap_or(8)) * 60,
        indicators: pipeline.indicators.clone(),
        comparisons: pipeline.comparisons.clone(),
        scales: (!scales.is_empty()).then(|| folge_analyze::ScaleParams {
            scales,
            timepoints: (t0, t1),
            min_n: a.min_n.unwrap_or(5),
        }),
        min_n: a.min_n.unwrap_or(5),
        adjustment: adjustment(pipeline),
        count_model: pipeline.count_model,
        confounders: pipeline.confounders.clone(),
        variance: pipeline.cluster_variance,
    })
}

/// Events per part when events not grouped by person are sorted out by person first.
const EVENTS_PER_PART: usize = 1_000_000;

/// Analyze events that are not grouped by person in bounded memory: deal each person's
/// rows into one of `parts` temporary files by participant number (so every person lands
/// whole in one part), then group one part at a time in memory (see [`crate::parts`]).
fn analyze_in_parts(
    tables: &Deidentified,
    params: &AnalysisParams,
    batches: impl Iterator<Item = Result<folge_deid::EventBatch, PipelineError>>,
    dir: &Path,
    parts: usize,
) -> Result<folge_analyze::Analysis, PipelineError> {
    let indicators = indicators_in_parts(tables, params, batches, dir, parts)?;
    Ok(folge_analyze::summarise(tables, params, indicators))
}

/// The indicator table of [`analyze_in_parts`].
fn indicators_in_parts(
    tables: &Deidentified,
    params: &AnalysisParams,
    batches: impl Iterator<Item = Result<folge_deid::EventBatch, PipelineError>>,
    dir: &Path,
    parts: usize,
) -> Result<folge_analyze::Indicators, PipelineError> {
    let mut builder = folge_analyze::IndicatorBuilder::new(tables, params);
    let mut dealt = crate::parts::EventParts::create(dir, parts)?;
    for batch in batches {
        let batch = batch?;
        for (pid, rows) in batch.runs() {
            match builder.index_of(pid) {
                Some(person) => dealt.push(person, rows)?,
                // Not a participant's: counted as outside every window.
                None => {
                    let _ = builder.person(pid, rows);
                }
            }
        }
    }
    dealt.for_each_person(|person, events| {
        // Each person is in one part only, whole.
        let _ = builder.person_at(person, events);
    })?;
    Ok(builder.finish_table())
}

/// Service-event files with rows, and their rows, from the ingest stage's record. More
/// than one file (a hospital and a municipal extract, say): a person's events are apart
/// in `service_events.parquet`, not grouped, and are sorted out by person in parts
/// straight away.
fn event_files(ctx: &Context<'_>) -> (usize, u64) {
    ctx.stage_record(Stage::Ingest).map_or((0, 0), |r| {
        r.inputs
            .iter()
            .filter(|i| i.table == "service_events" && i.rows_accepted > 0)
            .fold((0, 0), |(files, rows), i| (files + 1, rows + i.rows_accepted))
    })
}

/// The analyze stage; `handoff` is what the deid stage just wrote, in memory: its
/// de-identified tables, and the indicator table it built from the events it wrote (the
/// same as reading them back would give).
fn analyze_stage(
    ctx: &Context<'_>,
    dir: &Path,
    (tables, handoff): (Option<Deidentified>, Option<folge_analyze::Indicators>),
) -> Result<StageRecord, PipelineError> {
    let tables = match tables {
        Some(tables) => tables,
        None => load_deidentified(ctx, Stage::Analyze)?,
    };
    let params = analysis_params(ctx.pipeline)?;
    let events = ctx.stage_file(Stage::Analyze, Stage::Deid, &parquet::<DeidServiceEvent>())?;
    let batches = || -> Result<_, PipelineError> {
        let fail = |e: folge_deid::DeidError| PipelineError::Stage {
            stage: "analyze",
            message: e.to_string(),
        };
        // Decoded and checked on a second thread while this one computes.
        let batches = stream_parquet(&events, BATCH_ROWS)?
            .map(move |batch| folge_deid::EventBatch::from_batch(&batch?).map_err(fail));
        Ok(read_ahead(batches, 2))
    };
    let metadata = ctx.metadata(Stage::Analyze, &ctx.inputs_sha256()?);
    let mut outputs = Vec::new();
    let handed_over = handoff.is_some();
    let analysis = if let Some(indicators) = handoff {
        info!("indicators built while de-identifying the service events; not read back");
        // indicators.parquet is written while the rates and comparisons are worked out.
        let table = indicators.table();
        let (written, analysis) = std::thread::scope(|scope| {
            let writer = scope.spawn(|| write_indicators(dir, &table, &metadata, &mut outputs));
            let analysis = folge_analyze::summarise(&tables, &params, indicators);
            (writer.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic)), analysis)
        });
        written?;
        analysis
    } else if let Some(analysis) = (event_files(ctx).0 <= 1)
        .then(|| folge_analyze::analyze_stream(&tables, &params, batches()?))
        .transpose()?
        .and_then(Result::ok)
    {
        analysis
    } else {
        let total = stream_parquet(&events, BATCH_ROWS)?.num_rows;
        let parts = total.div_ceil(EVENTS_PER_PART).max(1);
        info!(
            "service events are not grouped by person (several registry files, or an extract not sorted by person): sorting them out by person in {parts} part(s) first"
        );
        analyze_in_parts(&tables, &params, batches()?, dir, parts)?
    };
    if !handed_over {
        write_indicators(dir, &analysis.indicators, &metadata, &mut outputs)?;
    }
    let out = (dir, Stage::Analyze);
    write_table(out, &analysis.rates, &metadata, &mut outputs)?;
    write_table(out, &analysis.municipality_rates, &metadata, &mut outputs)?;
    write_table(out, &analysis.comparisons, &metadata, &mut outputs)?;
    if analysis.scales.scores.len() + analysis.scales.items.len() > 0 {
        let sc = &analysis.scales;
        write_table(out, &sc.scores, &metadata, &mut outputs)?;
        write_table(out, &sc.reliability, &metadata, &mut outputs)?;
        write_table(out, &sc.items, &metadata, &mut outputs)?;
        if sc.scores_missing > 0 {
            info!(
                "{} scale scores left empty: fewer items answered than the codebook's minimum share",
                sc.scores_missing
            );
        }
    }
    write_table(out, &analysis.utilisation, &metadata, &mut outputs)?;
    write_table(out, &analysis.lorenz, &metadata, &mut outputs)?;
    write_table(out, &analysis.event_time, &metadata, &mut outputs)?;
    write_table(out, &analysis.survival, &metadata, &mut outputs)?;
    if params.confounders.is_some() {
        write_table(out, &analysis.balance, &metadata, &mut outputs)?;
    }
    if !tables.process_events().is_empty() {
        write_table(out, &analysis.framework, &metadata, &mut outputs)?;
    }
    let fg = &analysis.focus_groups;
    if !tables.codings().is_empty() {
        write_table(out, &fg.frequencies, &metadata, &mut outputs)?;
        write_table(out, &fg.cooccurrence, &metadata, &mut outputs)?;
        write_table(out, &fg.agreement, &metadata, &mut outputs)?;
        write_table(out, &fg.quotes, &metadata, &mut outputs)?;
    }
    if analysis.events_outside_windows > 0 || analysis.events_after_observation > 0 {
        info!(
            "{} service events start outside every window and {} after exit or the end of data; they are not counted in any indicator",
            analysis.events_outside_windows, analysis.events_after_observation
        );
    }
    let notes = BTreeMap::from([
        ("events_outside_windows".to_owned(), analysis.events_outside_windows.into()),
        ("events_after_observation".to_owned(), analysis.events_after_observation.into()),
    ]);
    Ok(StageRecord {
        stage: "analyze".into(),
        seconds: 0.0,
        inputs: vec![],
        outputs,
        notes,
        failed: None,
        made_from: None,
    })
}

fn report_stage(ctx: &Context<'_>, dir: &Path) -> Result<StageRecord, PipelineError> {
    use folge_schema::tables::{
        AgreementRow, BalanceRow, CodeFrequencyRow, EventTimeRow, ItemDistributionRow, LorenzRow,
        MunicipalityRateRow, ScaleScoreRow, SurvivalRow, UtilisationRow,
    };
    let tables = load_deidentified(ctx, Stage::Report)?;
    let rates = RateRow::from_batches(&ctx.read_table::<RateRow>(Stage::Report, Stage::Analyze)?)?;
    let c = &ctx.pipeline.config;
    let params = ReportParams {
        pipeline: c.name.clone(),
        language: match c.language {
            LanguageCode::Nb => Language::Nb,
            LanguageCode::En => Language::En,
        },
        rule: SmallCellRule { threshold: c.report.suppression_threshold },
        before_days: c.periods.before_days,
        after_days: c.periods.after_days,
        indicators: ctx.pipeline.indicators.clone(),
        version: VERSION.to_owned(),
        params_sha256: ctx.params_sha256.clone(),
        inputs_sha256: ctx.inputs_sha256()?,
        adjustment: adjustment(ctx.pipeline),
        sections: ctx.pipeline.sections.clone(),
        cluster_variance: ctx.pipeline.cluster_variance,
    };
    let comparisons = ComparisonRow::from_batches(
        &ctx.read_table::<ComparisonRow>(Stage::Report, Stage::Analyze)?,
    )?;
    // Focus-group tables exist only when the pipeline has codings; an absent file is an
    // empty table.
    let code_frequencies =
        CodeFrequencyRow::from_batches(&ctx.optional_table::<CodeFrequencyRow>(Stage::Analyze)?)?;
    let agreement =
        AgreementRow::from_batches(&ctx.optional_table::<AgreementRow>(Stage::Analyze)?)?;
    let municipality_rates = MunicipalityRateRow::from_batches(
        &ctx.optional_table::<MunicipalityRateRow>(Stage::Analyze)?,
    )?;
    let utilisation =
        UtilisationRow::from_batches(&ctx.optional_table::<UtilisationRow>(Stage::Analyze)?)?;
    let lorenz = LorenzRow::from_batches(&ctx.optional_table::<LorenzRow>(Stage::Analyze)?)?;
    let scale_scores =
        ScaleScoreRow::from_batches(&ctx.optional_table::<ScaleScoreRow>(Stage::Analyze)?)?;
    let item_distributions = ItemDistributionRow::from_batches(
        &ctx.optional_table::<ItemDistributionRow>(Stage::Analyze)?,
    )?;
    // Written by analyze since issue 14; balance only when the pipeline adjusts.
    let event_time =
        EventTimeRow::from_batches(&ctx.optional_table::<EventTimeRow>(Stage::Analyze)?)?;
    let survival = SurvivalRow::from_batches(&ctx.optional_table::<SurvivalRow>(Stage::Analyze)?)?;
    let balance = BalanceRow::from_batches(&ctx.optional_table::<BalanceRow>(Stage::Analyze)?)?;
    let files = render(
        &ReportInput {
            tables: &tables,
            rates: &rates,
            comparisons: &comparisons,
            code_frequencies: &code_frequencies,
            agreement: &agreement,
            municipality_rates: &municipality_rates,
            utilisation: &utilisation,
            lorenz: &lorenz,
            scale_scores: &scale_scores,
            item_distributions: &item_distributions,
            event_time: &event_time,
            survival: &survival,
            balance: &balance,
        },
        &params,
    );
    // Fail closed before anything is written: every text the report holds.
    let detector = stage_detector(ctx)?;
    for file in &files {
        let hit = guard::scan_bytes(&file.path, &file.bytes, &detector).map_err(|e| {
            PipelineError::Stage { stage: "report", message: format!("`{}`: {e}", file.path) }
        })?;
        if let Some((place, kind)) = hit {
            return Err(guard::failure("report", &file.path, &place, kind));
        }
    }
    let mut outputs = Vec::new();
    for file in files {
        let path = dir.join(&file.path);
        if let Some(parent) = path.parent() {
            create_dir(parent, false)?;
        }
        write_bytes_atomic(&path, &file.bytes)?;
        outputs.push(OutputRecord { path: file.path, sha256: sha256_hex(&file.bytes), rows: None });
    }
    info!("report written to {}", ctx.stage_dir(Stage::Report).join("index.html").display());
    Ok(StageRecord {
        stage: "report".into(),
        seconds: 0.0,
        inputs: vec![],
        outputs,
        notes: BTreeMap::new(),
        failed: None,
        made_from: None,
    })
}

/// Assemble `manifest.json` from the stage records present and write it to the run
/// directory (and the extract's folder). The report folder's copy is written by the report
/// stage, into the report it publishes.
fn write_manifest(ctx: &Context<'_>) -> Result<Manifest, PipelineError> {
    let (manifest, json) = manifest(ctx, None)?;
    write_bytes_atomic(&ctx.dir.manifest(), json.as_bytes())?;
    let extract = ctx.dir.extract();
    if ctx.pipeline.config.extract.is_some() && extract.exists() {
        write_bytes_atomic(&extract.join(MANIFEST), json.as_bytes())?;
    }
    Ok(manifest)
}

/// The manifest of the stage records present (the report's being `report`, when given),
/// and its JSON, scanned like every output.
fn manifest(
    ctx: &Context<'_>,
    report: Option<&StageRecord>,
) -> Result<(Manifest, String), PipelineError> {
    let stages: Vec<StageRecord> = Stage::ALL
        .iter()
        .filter_map(|s| match (s, report) {
            (Stage::Report, Some(record)) => Some(record.clone()),
            _ => ctx.stage_record(*s).ok(),
        })
        .collect();
    let inputs =
        stages.iter().find(|s| s.stage == "ingest").map(|s| s.inputs.clone()).unwrap_or_default();
    let key_fingerprint = stages
        .iter()
        .find(|s| s.stage == "deid")
        .and_then(|s| s.notes.get("key_fingerprint"))
        .and_then(|v| v.as_str())
        .map(str::to_owned);
    let manifest = Manifest {
        folge_version: VERSION.to_owned(),
        pipeline: ctx.pipeline.config.name.clone(),
        pipeline_file: crate::manifest::relative_to(
            &ctx.pipeline.file,
            &pipeline_folder(ctx.pipeline),
        ),
        params: serde_json::from_str(&ctx.params_json).unwrap_or_default(),
        params_sha256: ctx.params_sha256.clone(),
        inputs_sha256: inputs_sha256(&inputs),
        inputs,
        key_fingerprint,
        stages,
    };
    let json = serde_json::to_string_pretty(&manifest)
        .map_err(|e| PipelineError::io(&ctx.pipeline.config.output, e))?;
    // The manifest goes beside the report and the extract: scanned like them.
    let detector = stage_detector(ctx)?;
    if let Some((place, kind)) = guard::scan_bytes(MANIFEST, json.as_bytes(), &detector)
        .map_err(|e| PipelineError::Stage { stage: "manifest", message: e })?
    {
        return Err(guard::failure("manifest", MANIFEST, &place, kind));
    }
    Ok((manifest, format!("{json}\n")))
}

/// The folder the pipeline file is in: records name paths relative to it.
fn pipeline_folder(pipeline: &Pipeline) -> PathBuf {
    pipeline.file.parent().map_or_else(|| PathBuf::from("."), Path::to_path_buf)
}

fn context(pipeline: &Pipeline) -> Context<'_> {
    let params_json = pipeline.params_json();
    let params_sha256 = sha256_hex(params_json.as_bytes());
    Context {
        pipeline,
        dir: RunDir::new(pipeline),
        provenance: Provenance::new(pipeline),
        params_json,
        params_sha256,
    }
}

/// Run `stage`, taking what the stage before left in `handoff` and leaving there what
/// `next` (the stage run right after it, if any) can use.
fn execute(
    ctx: &Context<'_>,
    stage: Stage,
    next: Option<Stage>,
    handoff: &mut Handoff,
) -> Result<(), PipelineError> {
    let started = Instant::now();
    let mut made_from = ctx.provenance.made_from(stage);
    // Written into a staging folder, published only when complete and checked.
    let staging = ctx.dir.begin(stage)?;
    let dir = staging.path();
    let mut record = match stage {
        Stage::Ingest => {
            ingest(ctx, dir, (next == Some(Stage::Deid)).then_some(&mut handoff.participants))?
        }
        Stage::Deid => {
            let participants = handoff.participants.take();
            let give = (next == Some(Stage::Analyze))
                .then_some((&mut handoff.indicators, &mut handoff.deidentified));
            deid(ctx, dir, participants, give)?
        }
        Stage::Analyze => {
            let record =
                analyze_stage(ctx, dir, (handoff.deidentified.take(), handoff.indicators.take()))?;
            scan_analyze_outputs(ctx, dir, &record.outputs)?;
            record
        }
        Stage::Report => report_stage(ctx, dir)?,
    };
    record.seconds = started.elapsed().as_secs_f64();
    made_from.inputs_sha256 = match stage {
        Stage::Ingest => inputs_sha256(&record.inputs),
        _ => ctx.inputs_sha256()?,
    };
    made_from.key_fingerprint =
        record.notes.get("key_fingerprint").and_then(|v| v.as_str()).map(str::to_owned);
    record.made_from = Some(made_from);
    write_stage_record(dir, &record)?;
    if stage == Stage::Report {
        // The report's manifest is part of the report: one run's, published with it.
        let (_, json) = manifest(ctx, Some(&record))?;
        write_bytes_atomic(&dir.join(MANIFEST), json.as_bytes())?;
    }
    ctx.dir.publish(stage, staging)?;
    write_manifest(ctx)?;
    match record.failed {
        Some(message) => Err(PipelineError::Stage { stage: stage.name(), message }),
        None => Ok(()),
    }
}

/// Run one stage (reading earlier stages' outputs) and update the manifest. Earlier
/// stages' outputs made from other inputs or parameters than the pipeline file now implies
/// are refused ([`PipelineError::Stale`]).
pub fn run_stage(pipeline: &Pipeline, stage: Stage) -> Result<Manifest, PipelineError> {
    let ctx = context(pipeline);
    // One run at a time; what runs killed before left is removed under the lock.
    let _locks = ctx.dir.lock()?;
    ctx.dir.clean_leftovers();
    ctx.provenance.check_before(stage)?;
    execute(&ctx, stage, None, &mut Handoff::default())?;
    write_manifest(&ctx)
}

/// Print the report folder's `index.html` to `report.pdf` beside it (A4, headless
/// Chromium), under the run's lock: no report can be swapped in while it prints, so the
/// PDF is always of the report it lies beside (a later report does not keep it).
pub fn print_report_pdf(pipeline: &Pipeline) -> Result<PathBuf, PipelineError> {
    let ctx = context(pipeline);
    let _locks = ctx.dir.lock()?;
    let dir = ctx.stage_dir(Stage::Report);
    crate::capture(&dir, crate::Capture::Pdf, &dir.join("report.pdf"))
}

/// Run `stages` (in pipeline order, each after the one before it) and update the
/// manifest. A stage hands what it wrote over in memory to the one right after it (ingest
/// the participants to deid; deid its tables and the indicator table to analyze): the
/// same results as running them one by one, without reading the events back.
pub fn run_stages(pipeline: &Pipeline, stages: &[Stage]) -> Result<Manifest, PipelineError> {
    let ctx = context(pipeline);
    // One run at a time; what runs killed before left is removed under the lock.
    let _locks = ctx.dir.lock()?;
    ctx.dir.clean_leftovers();
    if let Some(first) = stages.first() {
        ctx.provenance.check_before(*first)?;
    }
    let mut handoff = Handoff::default();
    for (i, &stage) in stages.iter().enumerate() {
        execute(&ctx, stage, stages.get(i + 1).copied(), &mut handoff)?;
    }
    write_manifest(&ctx)
}

/// Run every stage in order, but for those there already and made from the same inputs,
/// parameters and earlier stages as the pipeline file now implies (the log says which;
/// the result is byte for byte that of running them all); `on_stage` is told as each one
/// starts.
pub fn run_all(
    pipeline: &Pipeline,
    on_stage: &mut dyn FnMut(Stage),
) -> Result<Manifest, PipelineError> {
    // A key problem is a configuration error: find it before any work is done.
    resolve_key(pipeline)?;
    let ctx = context(pipeline);
    // One run at a time; what runs killed before left is removed under the lock.
    let _locks = ctx.dir.lock()?;
    ctx.dir.clean_leftovers();
    let mut handoff = Handoff::default();
    for (i, &stage) in Stage::ALL.iter().enumerate() {
        if ctx.provenance.up_to_date(stage) {
            info!(
                "{} is up to date (made from the same inputs and parameters): not made again",
                match stage {
                    Stage::Report => "the report",
                    other => other.dir_name(),
                }
            );
            continue;
        }
        on_stage(stage);
        execute(&ctx, stage, Stage::ALL.get(i + 1).copied(), &mut handoff)?;
    }
    write_manifest(&ctx)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Events in no order by person (two files one after the other, then shuffled),
    /// dealt into parts and grouped part by part, give what the in-memory analysis gives.
    #[test]
    fn events_not_grouped_by_person_are_analysed_in_parts_alike() {
        use folge_schema::national_id::build;
        use folge_schema::{Arm, Service};
        let day = |n: i64| {
            chrono::NaiveDate::from_ymd_opt(2020, 6, 1).expect("date") + chrono::Duration::days(n)
        };
        let mut participants = Vec::new();
        let mut events = Vec::new();
        for p in 0..30i64 {
            let birth = day(-30_000 + p * 7);
            let id = (0..500).find_map(|i| build(birth, i, 0, 80)).expect("id");
            participants.push(Participant {
                person_id: id.clone(),
                name: None,
                sex: None,
                birth_date: Some(birth),
                municipality: if p % 2 == 0 { "4601".into() } else { "4627".into() },
                site: None,
                arm: if p % 2 == 0 { Arm::Pilot } else { Arm::Comparison },
                target_group: None,
                inclusion_date: day(p),
                exit_date: None,
                exit_reason: None,
            });
            for k in 0..(p % 9 + 3) {
                let start = (p * 37 + k * 53) % 700 - 360;
                let stay = k % 3 == 0;
                events.push(folge_schema::tables::ServiceEvent {
                    person_id: id.clone(),
                    service: if stay { Service::Inpatient } else { Service::Gp },
                    start_date: day(start),
                    end_date: stay.then(|| day(start + k % 4)),
                    quantity: None,
                    acute: Some(k % 2 == 0),
                    start_time: None,
                    end_time: None,
                });
            }
        }
        let input =
            Identifiable { participants, service_events: events, ..Identifiable::default() };
        let tables =
            deidentify(&input, &DeidParams::new(day(500)), &folge_deid::Key::demo()).expect("deid");
        let params = AnalysisParams::before_after(365, 365);
        let whole = folge_analyze::analyze(&tables, &params);
        let mut shuffled = tables.service_events().to_vec();
        let n = shuffled.len();
        for i in 0..n {
            shuffled.swap(i, (i * 7919 + 13) % n);
        }
        let batches: Vec<Result<folge_deid::EventBatch, PipelineError>> = shuffled
            .chunks(11)
            .map(|c| {
                Ok(folge_deid::EventBatch::from_batch(
                    &DeidServiceEvent::to_batch(c).expect("batch"),
                )
                .expect("zone 2"))
            })
            .collect();
        let dir = tempfile::tempdir().expect("dir");
        let parted =
            analyze_in_parts(&tables, &params, batches.into_iter(), dir.path(), 3).expect("parts");
        assert_eq!(whole.indicators.to_rows(), parted.indicators.to_rows());
        assert_eq!(format!("{:?}", whole.comparisons), format!("{:?}", parted.comparisons));
        assert_eq!(whole.events_outside_windows, parted.events_outside_windows);
        assert_eq!(std::fs::read_dir(dir.path()).expect("dir").count(), 0, "parts removed");
    }

    fn participant(site: &str) -> DeidParticipant {
        DeidParticipant {
            pid: "0".repeat(32),
            sex: None,
            age_band: None,
            municipality: "4601".into(),
            site: Some(site.into()),
            arm: folge_schema::Arm::Pilot,
            target_group: None,
            inclusion_year: 2020,
            inclusion_quarter: None,
            exit_day: None,
            exit_reason: None,
            data_end_day: 100,
        }
    }

    fn coding(text: &str) -> DeidCoding {
        DeidCoding {
            focus_group: "FG1".into(),
            municipality: None,
            role: None,
            coder: "IH".into(),
            segment: "1".into(),
            code: "Tillit".into(),
            theme: None,
            text: Some(text.into()),
        }
    }

    /// Write the two tables the way the deid stage does and scan them with the detector.
    fn scan(site: &str, quote: &str) -> (Result<(), PipelineError>, bool) {
        let dir = tempfile::tempdir().unwrap();
        let mut outputs = Vec::new();
        let meta = BTreeMap::new();
        let out = (dir.path(), Stage::Deid);
        write_table(out, &[participant(site)], &meta, &mut outputs).unwrap();
        write_table(out, &[coding(quote)], &meta, &mut outputs).unwrap();
        let detector = folge_deid::Detector::new(["Kari Nordmann", "Rune Berg"], ["rune"])
            .allow(["Nordmann sykehus"]);
        let result = scan_outputs(dir.path(), &outputs, &[], &detector);
        let left = dir.path().join("participants.parquet").exists();
        (result, left)
    }

    #[track_caller]
    fn fails_at(site: &str, quote: &str, place: &str, kind: &str, value: &str) {
        let (result, left) = scan(site, quote);
        let message = result.unwrap_err().to_string();
        assert!(!left, "the outputs are deleted");
        assert!(message.contains(place) && message.contains(kind), "{message}");
        assert!(!message.contains(value), "{message}");
    }

    #[test]
    fn the_deid_scan_deletes_outputs_and_names_the_place_not_the_value() {
        assert!(matches!(scan("Haukeland", "[NAVN] ringte"), (Ok(()), true)));
        // A listed label that holds a surname passes; the same surname alone in a code
        // column does not (issue 15: every string column is scanned for names).
        assert!(matches!(scan("Nordmann sykehus", "[NAVN] ringte"), (Ok(()), true)));
        let site = "participants.parquet`, column `site`, row 1";
        fails_at("Nordmann", "[NAVN] ringte", site, "person's name", "Nordmann");
        fails_at("ring 91234567", "[NAVN] ringte", site, "phone number", "91234567");
        let text = "codings.parquet`, column `text`, row 1";
        fails_at("Haukeland", "Kari sa det", text, "person's name", "Kari");
        // Variants a scrubber could miss, planted by hand into zone 2: the detector does
        // not share the scrubber's code, so it fails closed on each.
        for (quote, kind) in [
            ("fnr 01.01.80 10018", "national id"),
            ("ring 9123\u{a0}4505", "phone number"),
            ("ola at nav dot no", "e-mail address"),
            ("gnr. 12 bnr. 34", "postal address"),
            ("Oedegaard og Ka\u{ad}ri", "person's name"),
            ("Rune og jeg fikk en plan.", "person's name"),
            ("K.N. ringte", "person's initials"),
        ] {
            fails_at("Haukeland", quote, text, kind, quote);
        }
    }

    #[test]
    fn the_deid_scan_names_every_column_that_holds_something() {
        // A name in a site, in a code, in a theme and in the quote; a national id in a
        // segment: one failure names all five places, in file and column order, and
        // none of the values.
        let dir = tempfile::tempdir().unwrap();
        let (mut outputs, meta) = (Vec::new(), BTreeMap::new());
        let participants = [participant("Haukeland"), participant("Nordmann")];
        let out = (dir.path(), Stage::Deid);
        write_table(out, &participants, &meta, &mut outputs).unwrap();
        let codings = [
            coding("[NAVN] ringte"),
            DeidCoding {
                segment: "01.01.80 10018".into(),
                code: "Rune Berg".into(),
                theme: Some("Samhandling/Kari".into()),
                ..coding("Kari sa det")
            },
        ];
        write_table(out, &codings, &meta, &mut outputs).unwrap();
        let detector = folge_deid::Detector::new(["Kari Nordmann", "Rune Berg"], ["rune"]);
        let message = scan_outputs(dir.path(), &outputs, &[], &detector).unwrap_err().to_string();
        // Outputs are named as the stage records them, inside its folder.
        let message = message.replace("02_deid/", "");
        let places = [
            "`participants.parquet`, column `site`, row 2, holds what looks like a person's name",
            "`codings.parquet`, column `segment`, row 2, holds what looks like a national id",
            "`codings.parquet`, column `code`, row 2, holds what looks like a person's name",
            "`codings.parquet`, column `theme`, row 2, holds what looks like a person's name",
            "`codings.parquet`, column `text`, row 2, holds what looks like a person's name",
        ];
        assert!(
            message.contains(&format!("{} (the values are not shown)", places.join("; "))),
            "{message}"
        );
        for value in ["Nordmann", "10018", "Rune", "Kari"] {
            assert!(!message.contains(value), "{message}");
        }
        assert!(!dir.path().join("participants.parquet").exists(), "the outputs are deleted");
    }
}

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
use std::path::{Path, PathBuf};
use std::time::Instant;

use crate::parquet_io::{ParquetSink, read_parquet, write_bytes_atomic};
use arrow_array::RecordBatch;
use folge_deid::Deidentified;
use folge_schema::tables::Participant;
use folge_schema::{Categories, Table};
use tracing::{debug, info};

use crate::keys::resolve_key;
use crate::manifest::{Manifest, OutputRecord, StageRecord, inputs_sha256, sha256_hex};
use crate::provenance::Provenance;
use crate::run_dir::{MANIFEST, RECORD, RunDir, parquet, shown};
use crate::{Pipeline, PipelineError, guard};

mod analyze;
mod codebook;
mod deid;
mod ingest;
mod report;

use deid::{scan_analyze_outputs, stage_detector};
pub use ingest::{Validation, validate};

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
            .map_err(|e| PipelineError::io_because(&path, "is not a stage record", e))
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
        let batches = read_parquet(&self.stage_file(stage, needs, &parquet::<T>())?)?.batches;
        debug!(
            "{}: read {} rows",
            shown(needs, &parquet::<T>()),
            batches.iter().map(RecordBatch::num_rows).sum::<usize>()
        );
        Ok(batches)
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
    /// Deid → analyze → report: the de-identified tables as written to `02_deid/`.
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

/// Write table `T` into `dir`, the folder of `stage`, and record it.
fn write_table<T: Table>(
    out: (&Path, Stage),
    rows: &[T],
    metadata: &BTreeMap<String, String>,
    outputs: &mut Vec<OutputRecord>,
) -> Result<(), PipelineError> {
    write_table_as(out, rows, &Categories::default(), |b| Ok(b.clone()), (metadata, outputs))
}

/// [`write_table`] for the tables people open (results): `columns` adds what a reader
/// needs beside the row struct's columns (an indicator's unit), and `categories`' text
/// columns are written as ordered dictionaries, which R and pandas read as factors.
fn write_table_as<T: Table>(
    (dir, stage): (&Path, Stage),
    rows: &[T],
    categories: &Categories,
    columns: impl Fn(&RecordBatch) -> Result<RecordBatch, PipelineError>,
    (metadata, outputs): (&BTreeMap<String, String>, &mut Vec<OutputRecord>),
) -> Result<(), PipelineError> {
    let file = parquet::<T>();
    let path = dir.join(&file);
    // Batch by batch: a table of millions of rows (the stays of a large delivery) never
    // stands in memory as Arrow arrays beside its rows.
    let schema = columns(&T::to_batch(&rows[..0])?)?.schema();
    let mut sink =
        ParquetSink::create_categorical(&path, &schema, (categories, T::NAME), metadata)?;
    for chunk in rows.chunks(BATCH_ROWS) {
        sink.write(&columns(&T::to_batch(chunk)?)?)?;
    }
    let written = sink.finish_with(&BTreeMap::new())?;
    debug!("{}: wrote {} rows, {} bytes", shown(stage, &file), rows.len(), written.bytes);
    let sha256 = written.sha256;
    outputs.push(OutputRecord { path: shown(stage, &file), sha256, rows: Some(rows.len() as u64) });
    Ok(())
}

fn write_stage_record(dir: &Path, record: &StageRecord) -> Result<(), PipelineError> {
    let json = serde_json::to_string_pretty(record).map_err(|e| PipelineError::io(dir, e))?;
    Ok(write_bytes_atomic(&dir.join(RECORD), format!("{json}\n").as_bytes())?)
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
    if let Some((place, kind)) =
        guard::scan_bytes(MANIFEST, json.as_bytes(), &detector).map_err(PipelineError::bug_from)?
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
            ingest::run(ctx, dir, (next == Some(Stage::Deid)).then_some(&mut handoff.participants))?
        }
        Stage::Deid => {
            let participants = handoff.participants.take();
            let give = (next == Some(Stage::Analyze))
                .then_some((&mut handoff.indicators, &mut handoff.deidentified));
            deid::run(ctx, dir, participants, give)?
        }
        Stage::Analyze => {
            let tables = (handoff.deidentified.take(), handoff.indicators.take());
            let give = (next == Some(Stage::Report)).then_some(&mut handoff.deidentified);
            let record = analyze::run(ctx, dir, tables, give)?;
            scan_analyze_outputs(ctx, dir, &record.outputs)?;
            record
        }
        Stage::Report => report::run(ctx, dir, handoff.deidentified.take())?,
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
        Some(message) => Err(PipelineError::stage(stage.name(), message)),
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
/// the participants to deid; deid its tables and the indicator table to analyze; analyze
/// the de-identified tables to the report): the same results as running them one by
/// one, without reading the events back.
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
            // Nothing is handed past a stage not made again: the next reads its files.
            handoff = Handoff::default();
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

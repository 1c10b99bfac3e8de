//! The de-identification stage: keyed pseudonyms, relative days, scrubbed text, the
//! fail-closed re-scan of every output, and the REK extract, written to `02_deid/`.

use std::collections::BTreeMap;
use std::path::Path;

use crate::parquet_io::{
    KeyedColumn, ParquetSink, PidColumn, read_ahead, read_parquet, stream_parquet_as,
    write_bytes_atomic, write_parquet,
};
use arrow_array::RecordBatch;
use folge_deid::rows::DeidServiceEvent;
use folge_deid::{AgeBands, DeidParams, Deidentified, Identifiable, deidentify};
use folge_schema::Table;
use folge_schema::tables::{
    Coding, Participant, ProcessEvent, Response, ServiceCount, ServiceEvent,
};
use tracing::{info, warn};

use crate::keys::{key_file, resolve_key};
use crate::manifest::{OutputRecord, StageRecord};
use crate::run_dir::{EXTRACT, RISK_REPORT, parquet, shown};
use crate::{Pipeline, PipelineError, guard};

use super::analyze::{analysis_params, event_files, indicators_in_parts_placed};
use super::{BATCH_ROWS, Context, Stage, create_dir, write_table};

/// The configured extra names: one per line, `#` comments and blank lines skipped.
pub(super) fn extra_names(pipeline: &Pipeline) -> Result<Vec<String>, PipelineError> {
    let Some(path) = &pipeline.config.deid.names_file else {
        return Ok(Vec::new());
    };
    let text = std::fs::read_to_string(path).map_err(|e| {
        PipelineError::config_because(path, "cannot read the names file (`deid.names_file`)", e)
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
pub(super) fn run_detector(
    pipeline: &Pipeline,
    detector: folge_deid::Detector,
) -> folge_deid::Detector {
    let v = &pipeline.config.vocabularies;
    let lists = [&v.sites, &v.target_groups, &v.municipalities, &v.steps, &v.roles];
    detector.allow(lists.into_iter().flatten().flatten().map(String::as_str))
}

/// The detector for a stage after deid: the names from `01_ingest/participants.parquet`
/// (and identifier items' text from `01_ingest/responses.parquet`) and the configured extra
/// names. Without the identifiable zone on this machine it looks for everything but names.
pub(super) fn stage_detector(ctx: &Context<'_>) -> Result<folge_deid::Detector, PipelineError> {
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

/// Fail closed after analyze: every string column of every table it wrote, read back, and
/// the codebook's text.
pub(super) fn scan_analyze_outputs(
    ctx: &Context<'_>,
    dir: &Path,
    outputs: &[OutputRecord],
) -> Result<(), PipelineError> {
    let detector = stage_detector(ctx)?;
    let scan = |output: &OutputRecord| -> Result<_, PipelineError> {
        let Some(file) = Path::new(&output.path).file_name() else { return Ok(None) };
        let path = dir.join(file);
        if path.extension().is_some_and(|e| e == "parquet") {
            return guard::scan_parquet(&path, &detector);
        }
        // The codebook: made from definitions and settings, scanned all the same.
        let bytes = std::fs::read(&path).map_err(|e| PipelineError::io(&path, e))?;
        guard::scan_bytes(&output.path, &bytes, &detector).map_err(PipelineError::bug_from)
    };
    // The files on two threads, each taking the next file when done with one (the two
    // large ones, the indicators and the stays, go apart); the verdicts are taken in the
    // outputs' order, so the first file with a hit is the one named.
    let next = std::sync::atomic::AtomicUsize::new(0);
    let work = || {
        let mut done = Vec::new();
        loop {
            let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let Some(output) = outputs.get(i) else { return done };
            done.push((i, scan(output)));
        }
    };
    let mut verdicts = std::thread::scope(|scope| {
        let second = scope.spawn(work);
        let mut all = work();
        all.extend(second.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic)));
        all
    });
    verdicts.sort_by_key(|(i, _)| *i);
    let verdicts = verdicts.into_iter().map(|(_, v)| v);
    for (output, verdict) in outputs.iter().zip(verdicts) {
        if let Some((place, kind)) = verdict? {
            remove_outputs(dir, outputs);
            return Err(guard::failure("analyze", &output.path, &place, kind));
        }
    }
    Ok(())
}

/// Delete the files a stage wrote before it failed, so the folder never mixes two runs.
pub(super) fn remove_outputs(dir: &Path, outputs: &[OutputRecord]) {
    for output in outputs {
        if let Some(name) = Path::new(&output.path).file_name() {
            let _ = std::fs::remove_file(dir.join(name));
        }
    }
}

/// A hit of the fail-closed scan: delete every file the stage wrote and say where.
pub(super) fn scan_failure(
    dir: &Path,
    outputs: &[OutputRecord],
    (file, place, kind): (String, guard::Place, folge_deid::DetectKind),
) -> PipelineError {
    remove_outputs(dir, outputs);
    guard::failure("deid", &file, &place, kind)
}

/// Fail closed: read back every file the stage wrote and look in every text column (the
/// pseudonym aside) with the detector (`folge_deid::Detector`, not the scrubber's
/// patterns) for ids, phones, e-mail and postal addresses, names and initials. A hit
/// deletes the stage's outputs and names the place and kind, never the value; every file
/// is read to its end first, so the failure names each column that holds something (its
/// first row), and one run shows all there is to mend.
/// `scanned` files were checked batch by batch as they were written and are not read again.
pub(super) fn scan_outputs(
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
            for (column, spot, kind) in guard::scan_batch_columns(&batch, detector) {
                if !found.contains(&column) {
                    hits.push((output.path.clone(), spot.place(&column, row_offset), kind));
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
pub(super) fn stream_deid_events(
    ctx: &Context<'_>,
    (dir, input, tables): (&Path, &Identifiable, &Deidentified),
    (metadata, detector): (&BTreeMap<String, String>, &folge_deid::Detector),
    outputs: &mut Vec<OutputRecord>,
    handoff: Option<&mut Option<folge_analyze::Indicators>>,
) -> Result<usize, PipelineError> {
    let params = handoff.as_ref().and_then(|_| analysis_params(ctx.pipeline).ok());
    // A hospital and a municipal file, or a date-ordered delivery: each person's events
    // are apart.
    let events = event_files(ctx);
    let plan = (!events.grouped).then(|| crate::parts::Plan::for_events(events.rows));
    if let (Some(plan), Some(_)) = (plan, &params) {
        let why = if events.files > 1 {
            format!("come from {} files", events.files)
        } else {
            "are not sorted by person".to_owned()
        };
        info!(
            "service events {why}, so a person's events are apart: dealing them into {} part(s) by person while de-identifying",
            plan.parts
        );
    }
    std::thread::scope(|scope| {
        // The indicators are built on a thread of their own from each batch as written,
        // checked as analyze checks what it reads.
        let (to_builder, batches) = std::sync::mpsc::sync_channel::<(RecordBatch, Vec<u32>)>(2);
        let builder = params.as_ref().map(|params| {
            scope.spawn(move || {
                if let Some(plan) = plan {
                    // A batch failing analyze's checks, or a part that cannot be written:
                    // no hand-off, and analyze reads the events back and says why.
                    // Each row comes with its participant's position, so dealing it
                    // needs no look-up of its pseudonym.
                    // The batches' pid dictionary is checked once (see PidColumn).
                    let mut pids = folge_deid::PidCheck::default();
                    let checked = batches.into_iter().map(move |(b, positions)| {
                        folge_deid::EventBatch::from_batch_with(&b, &mut pids)
                            .map(|b| (b, Some(positions)))
                            .map_err(|e| PipelineError::stage_failed("analyze", e))
                    });
                    return indicators_in_parts_placed(tables, params, checked, dir, plan).ok();
                }
                let mut stream = folge_analyze::IndicatorStream::new(tables, params);
                let mut grouped = true;
                for (batch, _) in batches {
                    grouped = grouped
                        && folge_deid::EventBatch::from_batch(&batch)
                            .is_ok_and(|b| stream.push(&b).is_ok());
                }
                grouped.then(|| stream.finish().ok()).flatten()
            })
        });
        let to_builder = builder.is_some().then_some(to_builder);
        let rows = deid_event_batches(
            ctx,
            (dir, input, tables),
            (metadata, detector),
            (outputs, events.grouped),
            |b, positions| {
                if let Some(tx) = &to_builder {
                    // A builder that stopped has said so by its result.
                    let _ = tx.send((b.clone(), positions.to_vec()));
                }
            },
        );
        drop(to_builder);
        let built = builder.and_then(|b| b.join().ok()).flatten();
        if let (Ok(_), Some(slot)) = (&rows, handoff) {
            *slot = built;
        }
        rows
    })
}

/// Convert, scan and write the service events, giving each converted batch to `each`.
pub(super) fn deid_event_batches(
    ctx: &Context<'_>,
    (dir, input, tables): (&Path, &Identifiable, &Deidentified),
    (metadata, detector): (&BTreeMap<String, String>, &folge_deid::Detector),
    (outputs, grouped): (&mut Vec<OutputRecord>, bool),
    mut each: impl FnMut(&RecordBatch, &[u32]),
) -> Result<usize, PipelineError> {
    let source = ctx.stage_file(Stage::Deid, Stage::Ingest, &parquet::<ServiceEvent>())?;
    // Ids and services as the keys ingest wrote them (see `folge_schema::keyed`): the
    // file's dictionaries are kept, not copied out row by row.
    let stream =
        stream_parquet_as(&source, BATCH_ROWS, folge_schema::keyed::service_events_schema())?;
    let rows_in = stream.num_rows;
    // Decoding, converting and encoding overlap: read ahead on one thread, write on another.
    let stream = read_ahead(stream, 2);
    let file = parquet::<DeidServiceEvent>();
    let path = dir.join(&file);
    // Events not grouped by person name another participant on every row: their pids go
    // as keys into one dictionary of every pseudonym (see PidColumn).
    let mut convert = folge_deid::EventDeidentifier::new(&input.participants, tables);
    let (pid, schema) = if grouped {
        (PidColumn::Interned { persons: input.participants.len() }, folge_deid::events_schema())
    } else {
        convert = convert.keyed();
        (PidColumn::Keyed { persons: input.participants.len() }, folge_deid::keyed_schema())
    };
    // Services as keys into the codes, in every delivery.
    let service = KeyedColumn { name: "service", page_bytes: 0 };
    let mut sink = ParquetSink::create_keyed(&path, schema, metadata, pid, (&[service], false))?
        .in_background();
    let fail = |e: folge_deid::DeidError| PipelineError::stage_failed("deid", e);
    for batch in stream {
        let row_offset = convert.rows();
        let out = convert.convert(&batch?).map_err(fail)?;
        if let Some((column, spot, kind)) = guard::scan_batch(&out, detector) {
            drop(sink);
            let hit = (shown(Stage::Deid, &file), spot.place(&column, row_offset), kind);
            return Err(scan_failure(dir, outputs, hit));
        }
        each(&out, convert.positions());
        sink.write(out)?;
    }
    let written = sink.finish()?;
    let rows = written.rows;
    if rows != rows_in {
        return Err(PipelineError::bug(format!(
            "deid: {rows_in} service events read but {rows} written"
        )));
    }
    let sha256 = written.sha256;
    outputs.push(OutputRecord { path: shown(Stage::Deid, &file), sha256, rows: Some(rows as u64) });
    Ok(rows)
}

pub(super) fn write_json(path: &Path, value: &serde_json::Value) -> Result<(), PipelineError> {
    let json = serde_json::to_string_pretty(value).map_err(|e| PipelineError::io(path, e))?;
    Ok(write_bytes_atomic(path, format!("{json}\n").as_bytes())?)
}

/// Today's date (UTC), for checking the REK approval's end date.
pub(super) fn today() -> chrono::NaiveDate {
    let days = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() / 86_400);
    chrono::NaiveDate::default() + chrono::Duration::days(days as i64)
}

/// Write the research extract: its tables, codebook and risk report, scanned like every
/// other deid output.
pub(super) fn write_extract(
    dir: &Path,
    tables: &Deidentified,
    (section, age_bands): (&crate::config::ExtractSection, Option<&[u32]>),
    metadata: &BTreeMap<String, String>,
    detector: &folge_deid::Detector,
) -> Result<(), PipelineError> {
    let spec = section.spec(age_bands);
    // Streamed service events are read back only when the extract exports some.
    let events = if spec.exports_table(DeidServiceEvent::NAME) {
        read_parquet(&dir.with_file_name(parquet::<DeidServiceEvent>()))?.batches
    } else {
        Vec::new()
    };
    let extract = folge_deid::extract(tables, &events, &spec, today())
        .map_err(|e| PipelineError::stage_failed("deid", e))?;
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
    let bytes = codebook.into_inner().map_err(|e| PipelineError::io(dir, e.into_error()))?;
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
pub(super) fn run(
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
                source: Some(Box::new(e)),
            },
            _ => PipelineError::Config {
                file: ctx.pipeline.file.clone(),
                line: None,
                message: e.to_string(),
                source: Some(Box::new(e)),
            },
        },
        other => PipelineError::stage_failed("deid", other),
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
        .map_err(|e| PipelineError::stage_failed("deid", e))?;
    write_json(
        &dir.join(RISK_REPORT),
        &serde_json::json!({ "participants": risk, "free_text": report }),
    )?;
    if let Some(section) = &ctx.pipeline.config.extract {
        write_extract(
            &dir.join(EXTRACT),
            &tables,
            (section, ctx.pipeline.config.deid.age_bands.as_deref()),
            &metadata,
            &detector,
        )?;
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

#[cfg(test)]
mod tests {
    use folge_deid::rows::{DeidCoding, DeidParticipant};

    use super::*;

    fn participant(site: &str) -> DeidParticipant {
        let mut p = DeidParticipant::for_tests(
            folge_schema::Pseudonym::from_bytes([0; 16]),
            folge_schema::Arm::Pilot,
        );
        p.site = Some(site.into());
        (p.inclusion_year, p.data_end_day) = (2020, 100);
        p
    }

    fn coding(text: &str) -> DeidCoding {
        let mut c = DeidCoding::for_tests("FG1", "IH", "1", "Tillit");
        c.text = Some(text.into());
        c
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
        let codings = [coding("[NAVN] ringte"), {
            let mut c = coding("Kari sa det");
            c.segment = "01.01.80 10018".into();
            c.code = "Rune Berg".into();
            c.theme = Some("Samhandling/Kari".into());
            c
        }];
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

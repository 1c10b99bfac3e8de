//! The analysis stage: indicators, comparisons, scales and focus-group statistics from the
//! de-identified tables, written to `03_analyze/`.

use std::collections::BTreeMap;
use std::path::Path;

use crate::parquet_io::{ParquetSink, read_ahead, stream_parquet};
use folge_analyze::AnalysisParams;
use folge_deid::Deidentified;
use folge_deid::rows::{
    DeidCoding, DeidParticipant, DeidProcessEvent, DeidResponse, DeidServiceCount, DeidServiceEvent,
};
use folge_schema::Table;
use folge_schema::tables::IndicatorRow;
use tracing::info;

use crate::manifest::{OutputRecord, StageRecord};
use crate::run_dir::{parquet, shown};
use crate::{Pipeline, PipelineError};

use super::codebook::{Vocabulary, categories, schema_with_unit, with_unit};
use super::ingest::{EVENTS_GROUPED_NOTE, questionnaire_codebook};
use super::{BATCH_ROWS, Context, Stage, write_table_as};

pub(super) fn load_deidentified(
    ctx: &Context<'_>,
    stage: Stage,
) -> Result<Deidentified, PipelineError> {
    let fail = |e: folge_deid::DeidError| PipelineError::stage_failed(stage.name(), e);
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
/// subscales, unless the codebook says `score = "none"`. A REDCap input's forms are scored
/// when its `codebook` of scale definitions names them (their items and range from the
/// data dictionary); without one, a REDCap input scores nothing.
pub(super) fn scale_specs(
    pipeline: &Pipeline,
) -> Result<Vec<folge_analyze::ScaleSpec>, PipelineError> {
    let mut specs: Vec<folge_analyze::ScaleSpec> = Vec::new();
    for file in pipeline.config.inputs.questionnaires.values() {
        if file.codebook.is_none() {
            continue;
        }
        for instrument in questionnaire_codebook(file)?.instruments {
            let scoring = match instrument.scoring() {
                "mean" => folge_analyze::Scoring::Mean,
                "sum" => folge_analyze::Scoring::Sum,
                _ => continue,
            };
            let Some((min, max)) = instrument.scale_range() else { continue };
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
pub(super) fn adjustment(pipeline: &Pipeline) -> folge_stats::Adjustment {
    match pipeline.config.analyze.adjustment {
        crate::config::AdjustmentCode::Holm => folge_stats::Adjustment::Holm,
        crate::config::AdjustmentCode::Bh => folge_stats::Adjustment::BenjaminiHochberg,
        crate::config::AdjustmentCode::Bonferroni => folge_stats::Adjustment::Bonferroni,
    }
}

pub(super) fn analysis_params(pipeline: &Pipeline) -> Result<AnalysisParams, PipelineError> {
    let periods = &pipeline.config.periods;
    let a = &pipeline.config.analyze;
    let [t0, t1] = a.timepoints.clone();
    let scales = scale_specs(pipeline)?;
    let mut windows = AnalysisParams::before_after(periods.before_days, periods.after_days).windows;
    windows.extend(periods.windows.iter().map(|w| folge_analyze::Window {
        name: w.name.clone(),
        from: w.from,
        to: w.to,
    }));
    Ok(AnalysisParams {
        windows,
        same_day_bed_days: a.same_day_bed_days,
        stay_gap_minutes: i64::from(a.stay_gap_hours) * 60,
        indicators: pipeline.indicators.clone(),
        comparisons: pipeline.comparisons.clone(),
        scales: (!scales.is_empty()).then_some(folge_analyze::ScaleParams {
            scales,
            timepoints: (t0, t1),
            min_n: a.min_n,
        }),
        min_n: a.min_n,
        adjustment: adjustment(pipeline),
        count_model: pipeline.count_model,
        confounders: pipeline.confounders.clone(),
        variance: pipeline.cluster_variance,
    })
}

/// Analyze events that are not grouped by person in bounded memory: deal each person's
/// rows into one of the plan's parts by participant number (so every person lands whole
/// in one part; in memory up to `parts::PARTS_IN_MEMORY_BYTES` of records, else
/// temporary files), then group one part at a time (see [`crate::parts`]).
pub(super) fn analyze_in_parts(
    tables: &Deidentified,
    params: &AnalysisParams,
    batches: impl Iterator<Item = Result<folge_deid::EventBatch, PipelineError>>,
    dir: &Path,
    plan: crate::parts::Plan,
) -> Result<folge_analyze::Analysis, PipelineError> {
    let indicators = indicators_in_parts(tables, params, batches, dir, plan)?;
    Ok(folge_analyze::summarise(tables, params, indicators))
}

/// The indicator table of [`analyze_in_parts`].
pub(super) fn indicators_in_parts(
    tables: &Deidentified,
    params: &AnalysisParams,
    batches: impl Iterator<Item = Result<folge_deid::EventBatch, PipelineError>>,
    dir: &Path,
    plan: crate::parts::Plan,
) -> Result<folge_analyze::Indicators, PipelineError> {
    indicators_in_parts_placed(tables, params, batches.map(|b| b.map(|b| (b, None))), dir, plan)
}

/// [`indicators_in_parts`] for batches that may come with each row's participant position
/// (its place in `tables.participants()`, as [`folge_deid::EventDeidentifier::positions`]
/// gives it): those rows are dealt without looking their pseudonym up.
pub(super) fn indicators_in_parts_placed(
    tables: &Deidentified,
    params: &AnalysisParams,
    batches: impl Iterator<Item = Result<(folge_deid::EventBatch, Option<Vec<u32>>), PipelineError>>,
    dir: &Path,
    plan: crate::parts::Plan,
) -> Result<folge_analyze::Indicators, PipelineError> {
    let mut builder = folge_analyze::IndicatorBuilder::new(tables, params);
    // Participant position → the builder's participant number.
    let numbers: Vec<Option<usize>> =
        tables.participants().iter().map(|p| builder.number_of(p.pid())).collect();
    let mut dealt = crate::parts::EventParts::create(dir, plan)?;
    for batch in batches {
        let (batch, positions) = batch?;
        if positions.as_ref().is_some_and(|p| p.len() != batch.len()) {
            return Err(PipelineError::bug("a batch's participant positions are not one a row"));
        }
        if let Some(positions) = positions {
            // Rows of one person dealt together, without comparing pseudonyms.
            let rows = batch.rows();
            let mut start = 0;
            while start < rows.len() {
                let position = positions[start];
                let end = start + positions[start..].iter().take_while(|&&p| p == position).count();
                match numbers.get(position as usize).copied().flatten() {
                    Some(person) => dealt.push(person, &rows[start..end])?,
                    None => return Err(PipelineError::bug("a participant position out of range")),
                }
                start = end;
            }
            continue;
        }
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
    // Parts on two threads, each with a builder of its own; each person is in one part
    // only, whole, so the second builder's persons are merged in without overlap, and the
    // sums are exact, so the result is the one thread's to the bit.
    let mut second = builder.fresh();
    dealt.for_each_person(
        |person, events| {
            let _ = builder.person_at(person, events);
        },
        |person, events| {
            let _ = second.person_at(person, events);
        },
    )?;
    builder.merge(second).map_err(|_| PipelineError::bug("a person in two parts"))?;
    Ok(builder.finish_table())
}

/// The service events as ingest read them: how many files had rows, the rows, and
/// whether they are grouped by person in `service_events.parquet`. More than one file (a
/// hospital and a municipal extract, say), or one whose persons' rows are apart (a
/// registry's date-ordered delivery), are not grouped and are sorted out by person in
/// parts straight away.
#[derive(Debug, Clone, Copy)]
pub(super) struct EventFiles {
    pub(super) files: usize,
    pub(super) rows: u64,
    pub(super) grouped: bool,
}

pub(super) fn event_files(ctx: &Context<'_>) -> EventFiles {
    ctx.stage_record(Stage::Ingest).map_or(EventFiles { files: 0, rows: 0, grouped: true }, |r| {
        let (files, rows) = r
            .inputs
            .iter()
            .filter(|i| i.table == "service_events" && i.rows_accepted > 0)
            .fold((0, 0), |(files, rows), i| (files + 1, rows + i.rows_accepted));
        // Records without the note (earlier versions): streaming is tried, as it was.
        let each_grouped =
            r.notes.get(EVENTS_GROUPED_NOTE).and_then(serde_json::Value::as_bool).unwrap_or(true);
        EventFiles { files, rows, grouped: files <= 1 && each_grouped }
    })
}

/// The analyze stage; `handoff` is what the deid stage just wrote, in memory: its
/// de-identified tables, and the indicator table it built from the events it wrote (the
/// same as reading them back would give). With `give`, the de-identified tables are left
/// there for the report.
pub(super) fn run(
    ctx: &Context<'_>,
    dir: &Path,
    (tables, handoff): (Option<Deidentified>, Option<folge_analyze::Indicators>),
    give: Option<&mut Option<Deidentified>>,
) -> Result<StageRecord, PipelineError> {
    let tables = match tables {
        Some(tables) => tables,
        None => load_deidentified(ctx, Stage::Analyze)?,
    };
    let params = analysis_params(ctx.pipeline)?;
    let events = ctx.stage_file(Stage::Analyze, Stage::Deid, &parquet::<DeidServiceEvent>())?;
    let batches = || -> Result<_, PipelineError> {
        let fail = |e: folge_deid::DeidError| PipelineError::stage_failed("analyze", e);
        // Decoded and checked on a second thread while this one computes.
        let batches = stream_parquet(&events, BATCH_ROWS)?
            .map(move |batch| folge_deid::EventBatch::from_batch(&batch?).map_err(fail));
        Ok(read_ahead(batches, 2))
    };
    let metadata = ctx.metadata(Stage::Analyze, &ctx.inputs_sha256()?);
    let vocabulary = super::codebook::Vocabulary {
        periods: params.windows.iter().map(|w| w.name.clone()).collect(),
        timepoints: ctx.pipeline.config.analyze.timepoints.to_vec(),
        indicators: params.indicators.clone(),
    };
    let mut outputs = Vec::new();
    let handed_over = handoff.is_some();
    let out = (dir, Stage::Analyze);
    // The stays' file when it was written beside the summary (see below).
    let mut stays_written: Option<Vec<OutputRecord>> = None;
    let analysis = if let Some(mut indicators) = handoff {
        info!("indicators built while de-identifying the service events; not read back");
        // The two large files, indicators.parquet and stays.parquet, are written while
        // the rates and comparisons are worked out.
        let table = indicators.table();
        let stays = indicators.take_stays();
        let mut stays_outputs = Vec::new();
        let (written, stays_done, mut analysis) = std::thread::scope(|scope| {
            let writer = scope
                .spawn(|| write_indicators(dir, &table, (&vocabulary, &metadata), &mut outputs));
            let stays_writer = scope
                .spawn(|| write_result(out, &stays, (&vocabulary, &metadata), &mut stays_outputs));
            let analysis = folge_analyze::summarise(&tables, &params, indicators);
            let join = |h: std::thread::ScopedJoinHandle<'_, Result<(), PipelineError>>| {
                h.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic))
            };
            (join(writer), join(stays_writer), analysis)
        });
        written?;
        stays_done?;
        stays_written = Some(stays_outputs);
        analysis.stays = stays;
        analysis
    } else if let Some(analysis) = event_files(ctx)
        .grouped
        .then(|| folge_analyze::analyze_stream(&tables, &params, batches()?))
        .transpose()?
        .and_then(Result::ok)
    {
        analysis
    } else {
        let total = stream_parquet(&events, BATCH_ROWS)?.num_rows;
        let plan = crate::parts::Plan::for_events(total as u64);
        info!(
            "service events are not grouped by person (several registry files, or an extract not sorted by person): sorting them out by person in {} part(s) first",
            plan.parts
        );
        analyze_in_parts(&tables, &params, batches()?, dir, plan)?
    };
    if !handed_over {
        write_indicators(dir, &analysis.indicators, (&vocabulary, &metadata), &mut outputs)?;
    }
    write_result(out, &analysis.rates, (&vocabulary, &metadata), &mut outputs)?;
    write_result(out, &analysis.municipality_rates, (&vocabulary, &metadata), &mut outputs)?;
    write_result(out, &analysis.comparisons, (&vocabulary, &metadata), &mut outputs)?;
    if !analysis.subgroup_rates.is_empty() {
        write_result(out, &analysis.subgroup_rates, (&vocabulary, &metadata), &mut outputs)?;
    }
    if analysis.scales.scores.len() + analysis.scales.items.len() > 0 {
        let sc = &analysis.scales;
        write_result(out, &sc.scores, (&vocabulary, &metadata), &mut outputs)?;
        write_result(out, &sc.reliability, (&vocabulary, &metadata), &mut outputs)?;
        write_result(out, &sc.items, (&vocabulary, &metadata), &mut outputs)?;
        write_result(out, &sc.summaries, (&vocabulary, &metadata), &mut outputs)?;
        if sc.scores_missing > 0 {
            info!(
                "{} scale scores left empty: fewer items answered than the codebook's minimum share",
                sc.scores_missing
            );
        }
    }
    write_result(out, &analysis.utilisation, (&vocabulary, &metadata), &mut outputs)?;
    write_result(out, &analysis.lorenz, (&vocabulary, &metadata), &mut outputs)?;
    write_result(out, &analysis.event_time, (&vocabulary, &metadata), &mut outputs)?;
    write_result(out, &analysis.survival, (&vocabulary, &metadata), &mut outputs)?;
    match stays_written {
        // In the place it would have been written in, so the outputs' order is the same.
        Some(mut written) => outputs.append(&mut written),
        None => write_result(out, &analysis.stays, (&vocabulary, &metadata), &mut outputs)?,
    }
    if params.confounders.is_some() {
        write_result(out, &analysis.balance, (&vocabulary, &metadata), &mut outputs)?;
    }
    if !tables.process_events().is_empty() {
        write_result(out, &analysis.framework, (&vocabulary, &metadata), &mut outputs)?;
    }
    let fg = &analysis.focus_groups;
    if !tables.codings().is_empty() {
        write_result(out, &fg.frequencies, (&vocabulary, &metadata), &mut outputs)?;
        write_result(out, &fg.cooccurrence, (&vocabulary, &metadata), &mut outputs)?;
        write_result(out, &fg.agreement, (&vocabulary, &metadata), &mut outputs)?;
        write_result(out, &fg.quotes, (&vocabulary, &metadata), &mut outputs)?;
    }
    if analysis.events_outside_windows > 0 || analysis.events_after_observation > 0 {
        info!(
            "{} service events start outside every window and {} after exit or the end of data; they are not counted in any indicator",
            analysis.events_outside_windows, analysis.events_after_observation
        );
    }
    super::codebook::write(dir, &mut outputs, &vocabulary)?;
    let notes = BTreeMap::from([
        ("events_outside_windows".to_owned(), analysis.events_outside_windows.into()),
        ("events_after_observation".to_owned(), analysis.events_after_observation.into()),
    ]);
    if let Some(slot) = give {
        *slot = Some(tables);
    }
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

/// Write results table `T`, its categories as ordered dictionaries (see
/// [`categories`]).
fn write_result<T: Table>(
    out: (&Path, Stage),
    rows: &[T],
    (vocabulary, metadata): (&Vocabulary, &BTreeMap<String, String>),
    outputs: &mut Vec<OutputRecord>,
) -> Result<(), PipelineError> {
    write_table_as(out, rows, &categories::<T>(vocabulary), with_unit, (metadata, outputs))
}

/// Write the person-level indicators in batches (the compact table expands to rows one
/// batch at a time) and record the file.
fn write_indicators(
    dir: &Path,
    table: &folge_analyze::IndicatorTable,
    (vocabulary, metadata): (&Vocabulary, &BTreeMap<String, String>),
    outputs: &mut Vec<OutputRecord>,
) -> Result<(), PipelineError> {
    let file = parquet::<IndicatorRow>();
    let path = dir.join(&file);
    let categories = categories::<IndicatorRow>(vocabulary);
    let mut sink = ParquetSink::create_categorical(
        &path,
        &schema_with_unit(&IndicatorRow::schema()),
        (&categories, IndicatorRow::NAME),
        metadata,
    )?
    .in_background();
    for start in (0..table.len()).step_by(BATCH_ROWS) {
        sink.write(with_unit(&table.batch(start..(start + BATCH_ROWS).min(table.len()))?)?)?;
    }
    let written = sink.finish()?;
    outputs.push(OutputRecord {
        path: shown(Stage::Analyze, &file),
        sha256: written.sha256,
        rows: Some(written.rows as u64),
    });
    Ok(())
}

#[cfg(test)]
mod tests {
    use folge_deid::{DeidParams, Identifiable, deidentify};
    use folge_schema::tables::{Participant, Response};

    use super::*;

    /// A REDCap form named in the input's scale definitions is scored like a codebook's
    /// instrument: its range from the dictionary's choices, its subscales, its reverse
    /// item turned (min + max − answer) before the mean.
    #[test]
    fn a_redcap_form_is_scored_with_its_subscales_and_reverse_items() {
        use folge_schema::national_id::build;
        let dir = tempfile::tempdir().expect("dir");
        let pipeline = super::super::ingest::tests::redcap_pipeline(
            dir.path(),
            "[[instruments]]\nname = \"pacic\"\nreverse = [\"p3\"]\nmin_answered = 1.0\n\
             [instruments.subscales]\nfirst = [\"p1\", \"p2\"]\nlast = [\"p3\"]\n",
        );
        let specs = scale_specs(&pipeline).expect("specs");
        let described: Vec<(&str, &str, usize, f64, f64)> = specs
            .iter()
            .map(|s| (s.instrument.as_str(), s.scale.as_str(), s.items.len(), s.min, s.max))
            .collect();
        assert_eq!(
            described,
            [
                ("pacic", "pacic", 3, 1.0, 5.0),
                ("pacic", "first", 2, 1.0, 5.0),
                ("pacic", "last", 1, 1.0, 5.0)
            ]
        );
        assert!(
            specs.iter().all(|s| s.reverse == ["p3"] && s.min_share.to_bits() == 1.0f64.to_bits())
        );
        let day = chrono::NaiveDate::from_ymd_opt(2020, 6, 1).expect("date");
        let birth = chrono::NaiveDate::from_ymd_opt(1960, 3, 4).expect("date");
        let id = (0..500).find_map(|i| build(birth, i, 0, 80)).expect("id");
        let answer = |item: &str, value: Option<f64>| Response {
            person_id: id.clone(),
            timepoint: "T0".into(),
            response_date: None,
            instrument: "pacic".into(),
            item: item.into(),
            value,
            text: None,
            identifier: false,
            value_date: None,
        };
        let participant = Participant {
            person_id: id.clone(),
            name: None,
            sex: None,
            birth_date: Some(birth),
            municipality: "4601".into(),
            site: None,
            arm: folge_schema::Arm::Pilot,
            target_group: None,
            inclusion_date: day,
            exit_date: None,
            exit_reason: None,
        };
        let score = |answers: [Option<f64>; 3]| {
            let input = Identifiable {
                participants: vec![participant.clone()],
                responses: ["p1", "p2", "p3"]
                    .into_iter()
                    .zip(answers)
                    .map(|(item, value)| answer(item, value))
                    .collect(),
                ..Identifiable::default()
            };
            let tables =
                deidentify(&input, &DeidParams::new(day), &folge_deid::Key::demo()).expect("deid");
            let params = folge_analyze::ScaleParams {
                scales: specs.clone(),
                timepoints: ("T0".into(), "T1".into()),
                min_n: 5,
            };
            let results = folge_analyze::scales(&tables, &params);
            results.scores.iter().map(|s| (s.scale.clone(), s.score)).collect::<Vec<_>>()
        };
        // p3 = 5 counts as 1: total (1 + 2 + 1) / 3, first (1 + 2) / 2, last 1.
        assert_eq!(
            score([Some(1.0), Some(2.0), Some(5.0)]),
            [
                ("pacic".into(), Some(4.0 / 3.0)),
                ("first".into(), Some(1.5)),
                ("last".into(), Some(1.0))
            ]
        );
        // Every item must be answered (`min_answered = 1.0`): no total, no `first`.
        assert_eq!(
            score([Some(1.0), None, Some(2.0)]),
            [("pacic".into(), None), ("first".into(), None), ("last".into(), Some(4.0))]
        );
    }

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
        let batches = || {
            shuffled.chunks(11).map(|c| {
                Ok(folge_deid::EventBatch::from_batch(
                    &DeidServiceEvent::to_batch(c).expect("batch"),
                )
                .expect("zone 2"))
            })
        };
        let dir = tempfile::tempdir().expect("dir");
        // Parts in memory (few events), and in files (as many as memory would not hold).
        for events in [0, u64::MAX] {
            let plan = crate::parts::Plan { parts: 3, events };
            let parted =
                analyze_in_parts(&tables, &params, batches(), dir.path(), plan).expect("parts");
            assert_eq!(whole.indicators.to_rows(), parted.indicators.to_rows());
            assert_eq!(format!("{:?}", whole.comparisons), format!("{:?}", parted.comparisons));
            assert_eq!(whole.events_outside_windows, parted.events_outside_windows);
            assert_eq!(std::fs::read_dir(dir.path()).expect("dir").count(), 0, "parts removed");
        }
    }
}

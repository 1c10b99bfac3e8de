//! The report stage: the HTML report with its figures and tables, staged and swapped in
//! with its manifest.

use std::collections::BTreeMap;
use std::path::Path;

use crate::parquet_io::write_bytes_atomic;
use folge_report::{InputCount, Language, ReportInput, ReportParams, SmallCellRule, render};
use folge_schema::Table;
use folge_schema::tables::{ComparisonRow, RateRow};
use tracing::info;

use crate::config::LanguageCode;
use crate::manifest::{OutputRecord, StageRecord, sha256_hex};
use crate::{PipelineError, guard};

use super::analyze::{adjustment, load_deidentified};
use super::deid::stage_detector;
use super::{Context, Stage, VERSION, create_dir};

/// The questionnaires' instruments as their codebooks give them (item order and answer
/// range), each once, in the order of the questionnaire inputs' names. A codebook
/// that cannot be read here (a REDCap dictionary left on the machine that ingested) is
/// logged and left out: the report then shows that instrument's items in natural order.
fn instruments(pipeline: &crate::config::Pipeline) -> Vec<folge_report::Instrument> {
    let mut out: Vec<folge_report::Instrument> = Vec::new();
    for file in pipeline.config.inputs.questionnaires.values() {
        let codebook = match super::ingest::questionnaire_codebook(file) {
            Ok(codebook) => codebook,
            Err(e) => {
                tracing::warn!(
                    "{}: items shown in natural order, the codebook could not be read: {e}",
                    file.role
                );
                continue;
            }
        };
        for instrument in codebook.instruments {
            if out.iter().any(|i| i.name == instrument.name) {
                continue;
            }
            out.push(folge_report::Instrument {
                name: instrument.name.clone(),
                items: instrument
                    .items
                    .iter()
                    .map(|item| {
                        // A tick box answers 0 or 1.
                        let (min, max) = if item.checkbox || instrument.checkbox {
                            (Some(0.0), Some(1.0))
                        } else {
                            (item.min.or(instrument.min), item.max.or(instrument.max))
                        };
                        // Each code's label, the item's own before its instrument's.
                        let mut labels: Vec<(f64, String)> = Vec::new();
                        for (label, &code) in item.labels.iter().chain(&instrument.labels) {
                            if !labels.iter().any(|(c, _)| c.to_bits() == code.to_bits()) {
                                labels.push((code, label.clone()));
                            }
                        }
                        labels.sort_by(|a, b| a.0.total_cmp(&b.0));
                        folge_report::InstrumentItem { name: item.name.clone(), min, max, labels }
                    })
                    .collect(),
            });
        }
    }
    out
}

/// The report stage; `tables` are the de-identified tables analyze was made from, when it
/// ran just before (the same as reading `02_deid/` gives).
pub(super) fn run(
    ctx: &Context<'_>,
    dir: &Path,
    tables: Option<folge_deid::Deidentified>,
) -> Result<StageRecord, PipelineError> {
    use folge_schema::tables::{
        AgreementRow, BalanceRow, CodeFrequencyRow, EventTimeRow, FrameworkRow,
        ItemDistributionRow, ItemSummaryRow, LorenzRow, MunicipalityRateRow, QuoteRow,
        ScaleReliabilityRow, ScaleScoreRow, SubgroupRateRow, SurvivalRow, UtilisationRow,
    };
    let tables = match tables {
        Some(tables) => tables,
        None => load_deidentified(ctx, Stage::Report)?,
    };
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
        instruments: instruments(ctx.pipeline),
        municipality_names: c.report.municipality_names.clone(),
        target_groups: c.report.target_groups.clone(),
        front: folge_report::FrontMatter {
            title: c.report.title.clone(),
            subtitle: c.report.subtitle.clone(),
            authors: c.report.authors.clone(),
            organisation: c.report.organisation.clone(),
            date: c.report.date,
            version: c.report.version.clone(),
        },
        csv_decimal_comma: c.report.csv.unwrap_or(c.language) == LanguageCode::Nb,
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
    // The implementation, reliability, EQ-5D, quotes and 67+ sections: each table exists
    // only when the pipeline has what it is made from.
    let framework =
        FrameworkRow::from_batches(&ctx.optional_table::<FrameworkRow>(Stage::Analyze)?)?;
    let reliability = ScaleReliabilityRow::from_batches(
        &ctx.optional_table::<ScaleReliabilityRow>(Stage::Analyze)?,
    )?;
    let item_summaries =
        ItemSummaryRow::from_batches(&ctx.optional_table::<ItemSummaryRow>(Stage::Analyze)?)?;
    let quotes = QuoteRow::from_batches(&ctx.optional_table::<QuoteRow>(Stage::Analyze)?)?;
    let subgroup_rates =
        SubgroupRateRow::from_batches(&ctx.optional_table::<SubgroupRateRow>(Stage::Analyze)?)?;
    // Rows each input gave and lost, from ingest's record (roles, never file names).
    let inputs: Vec<InputCount> = ctx
        .stage_record(Stage::Ingest)?
        .inputs
        .into_iter()
        .map(|i| InputCount {
            role: i.role,
            table: i.table,
            rows_read: i.rows_read,
            rows_rejected: i.rows_rejected,
        })
        .collect();
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
            framework: &framework,
            reliability: &reliability,
            item_summaries: &item_summaries,
            quotes: &quotes,
            subgroup_rates: &subgroup_rates,
            inputs: &inputs,
        },
        &params,
    );
    // Fail closed before anything is written: every text the report holds. The labels the
    // pipeline file and folge give the report (municipality names, target-group labels,
    // the front matter: title, authors, …) are allowed, as the closed vocabularies are:
    // they are settings, not data.
    let report = &c.report;
    let labels = folge_report::MUNICIPALITY_NAMES
        .iter()
        .map(|(_, name)| *name)
        .chain(report.municipality_names.values().map(String::as_str))
        .chain(report.target_groups.values().map(String::as_str))
        .chain(
            [&report.title, &report.subtitle, &report.organisation, &report.version]
                .into_iter()
                .flatten()
                .map(String::as_str),
        )
        .chain(report.authors.iter().map(String::as_str));
    let detector = stage_detector(ctx)?.allow(labels);
    for file in &files {
        let hit = guard::scan_report_file(&file.path, &file.bytes, &file.numbers, &detector)
            .map_err(PipelineError::bug_from)?;
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

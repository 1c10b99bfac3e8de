//! What each command does, given validated arguments.

mod check_ids;
mod inspect;
mod stats;

use std::path::Path;

use anyhow::{Context, Result};
use folge_pipeline::{Pipeline, PipelineError, Stage};

use crate::cli::{Command, DeidArg, ExportArg, ExportFormatArg};

/// Run a command; `None` runs the sample pipeline.
pub fn dispatch(command: Option<Command>) -> Result<()> {
    let command = command.unwrap_or(Command::Run(DeidArg {
        pipeline: "pipelines/sample.toml".into(),
        link_table: None,
    }));
    match command {
        Command::Run(arg) => {
            check_link_table(&arg)?;
            run(&arg.pipeline)?;
            link_table(&arg)
        }
        Command::Ingest(arg) => stage(&arg.pipeline, Stage::Ingest),
        Command::Deid(arg) => {
            check_link_table(&arg)?;
            stage(&arg.pipeline, Stage::Deid)?;
            link_table(&arg)
        }
        Command::Analyze(arg) => stage(&arg.pipeline, Stage::Analyze),
        Command::Report(arg) => {
            stage(&arg.pipeline, Stage::Report)?;
            if arg.pdf {
                let pipeline = load(&arg.pipeline)?;
                let bar = spinner("printing the report to PDF …".into());
                let result = folge_pipeline::print_report_pdf(&pipeline);
                bar.finish_and_clear();
                let pdf = result.context("the HTML report was written, but not the PDF")?;
                eprintln!("PDF at `{}`", pdf.display());
            }
            Ok(())
        }
        Command::Export(arg) => export(&arg),
        Command::Validate(arg) => validate(&arg.pipeline),
        Command::Sample { out, persons, seed } => sample(&out, persons, seed),
        Command::Keygen { out } => {
            let key = folge_pipeline::write_key_file(&out)?;
            eprintln!(
                "wrote a new key to `{}` (mode 0600); fingerprint {}",
                out.display(),
                &key.fingerprint()[..16]
            );
            eprintln!(
                "keep it apart from the data: anyone with the key and the ids can link pseudonyms back"
            );
            Ok(())
        }
        Command::Inspect { file, rows, identifiable } => {
            inspect::inspect(&file, rows, identifiable)
        }
        Command::CheckIds { file, column, allow_synthetic, json } => {
            if check_ids::run(file.as_deref(), column.as_deref(), allow_synthetic, json)? {
                Ok(())
            } else {
                Err(InvalidIds.into())
            }
        }
        Command::Stats { method, input, csv, x, y } => {
            stats::run(method, input.as_deref(), csv.as_deref(), x.as_deref(), y.as_deref())
        }
    }
}

/// `folge check-ids` found invalid ids (exit code 1; the lines say which).
#[derive(Debug)]
pub struct InvalidIds;

impl std::fmt::Display for InvalidIds {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("some ids are not valid (see the lines above)")
    }
}

impl std::error::Error for InvalidIds {}

/// Bad input to a command (exit code 2), as a sentence.
#[derive(Debug)]
pub struct UsageError(pub String);

impl std::fmt::Display for UsageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for UsageError {}

/// Exit code of a bug in folge: `EX_SOFTWARE` of BSD's `sysexits.h` ("an internal
/// software error has been detected").
pub const EXIT_BUG: u8 = 70;

/// Exit code for an error: 70 for a bug in folge, 2 for usage and configuration, 1 for a
/// failed run.
pub fn exit_code(err: &anyhow::Error) -> u8 {
    if err.chain().any(|e| e.downcast_ref::<PipelineError>().is_some_and(PipelineError::is_bug)) {
        return EXIT_BUG;
    }
    let config = err.chain().any(|e| {
        e.downcast_ref::<PipelineError>().is_some_and(PipelineError::is_config)
            || e.downcast_ref::<UsageError>().is_some()
            || e.downcast_ref::<folge_stats::StatsError>().is_some()
    });
    if config { 2 } else { 1 }
}

/// The message of `err` as anyhow's `{:#}` gives it (each context, then its cause, joined
/// by `: `), less every cause whose text the error before it already ends with: folge's
/// errors keep the error they were made from as their `source()` and end their message
/// with its text, which would otherwise be printed twice.
pub fn message(err: &anyhow::Error) -> String {
    let mut message = String::new();
    let mut previous: Option<String> = None;
    for cause in err.chain() {
        let text = cause.to_string();
        let said = previous.as_deref().is_some_and(|p| !text.is_empty() && p.ends_with(&text));
        if !said {
            if previous.is_some() {
                message.push_str(": ");
            }
            message.push_str(&text);
        }
        previous = Some(text);
    }
    message
}

/// The pipeline file a command uses when none is named: the bundled sample.
const SAMPLE: &str = "pipelines/sample.toml";

fn load(path: &Path) -> Result<Pipeline> {
    if path == Path::new(SAMPLE) && !path.exists() {
        // Run outside the project's folder with no pipeline file named: say what folge
        // looked for and why, and what to do, rather than "cannot read".
        return Err(UsageError(format!(
            "`{SAMPLE}` (the bundled sample, which folge uses when no pipeline file is named) is not in this folder; name your pipeline file, e.g. `folge run path/to/evaluation.toml`, or run folge from the project's folder to use the sample (`folge --help` lists the commands)"
        ))
        .into());
    }
    Ok(Pipeline::load(path)?)
}

fn spinner(message: String) -> indicatif::ProgressBar {
    // Drawn on stderr only when it is a terminal; invisible in CI and pipes.
    let bar = indicatif::ProgressBar::new_spinner().with_message(message);
    bar.enable_steady_tick(std::time::Duration::from_millis(120));
    bar
}

fn run(path: &Path) -> Result<()> {
    let pipeline = load(path)?;
    let mut current: Option<indicatif::ProgressBar> = None;
    let result = folge_pipeline::run_all(&pipeline, &mut |stage| {
        if let Some(bar) = current.take() {
            bar.finish_and_clear();
        }
        current = Some(spinner(format!("{} …", stage.name())));
    });
    if let Some(bar) = current {
        bar.finish_and_clear();
    }
    let manifest = result.with_context(|| format!("pipeline `{}` failed", pipeline.config.name))?;
    let total: f64 = manifest.stages.iter().map(|s| s.seconds).sum();
    eprintln!(
        "done in {total:.1} s: report at `{}`, run directory `{}`",
        pipeline.report_dir().join("index.html").display(),
        pipeline.config.output.display()
    );
    Ok(())
}

fn stage(path: &Path, stage: Stage) -> Result<()> {
    let pipeline = load(path)?;
    let bar = spinner(format!("{} …", stage.name()));
    let result = folge_pipeline::run_stage(&pipeline, stage);
    bar.finish_and_clear();
    result.with_context(|| {
        format!("stage `{}` of pipeline `{}` failed", stage.name(), pipeline.config.name)
    })?;
    Ok(())
}

/// Refuse a bad link-table path before any stage runs.
fn check_link_table(arg: &DeidArg) -> Result<()> {
    if let Some(path) = &arg.link_table {
        folge_pipeline::check_link_table_path(&load(&arg.pipeline)?, path)?;
    }
    Ok(())
}

/// Write the link table when asked for (after deid, with the same key).
fn link_table(arg: &DeidArg) -> Result<()> {
    let Some(path) = &arg.link_table else {
        return Ok(());
    };
    let pipeline = load(&arg.pipeline)?;
    let rows = folge_pipeline::write_link_table(&pipeline, path)?;
    eprintln!(
        "wrote the link table ({rows} persons) to `{}` (mode 0600): it turns pseudonyms back into national ids, so keep it with the data controller, apart from the data and the key",
        path.display()
    );
    Ok(())
}

fn export(arg: &ExportArg) -> Result<()> {
    use folge_pipeline::ExportFormat;
    let pipeline = load(&arg.pipeline)?;
    let formats: &[ExportFormat] = match arg.format {
        ExportFormatArg::Dta => &[ExportFormat::Stata],
        ExportFormatArg::Sav => &[ExportFormat::Spss],
        ExportFormatArg::All => &ExportFormat::ALL,
    };
    let bar = spinner("exporting …".into());
    let result = folge_pipeline::export(&pipeline, formats);
    bar.finish_and_clear();
    let exported = result.with_context(|| {
        format!("exporting the results of pipeline `{}` failed", pipeline.config.name)
    })?;
    for done in &exported {
        eprintln!(
            "{} {} files in `{}` ({}/ and {}/)",
            done.files,
            done.format.program(),
            done.dir.display(),
            folge_pipeline::EXTRACT_FOLDER,
            folge_pipeline::RESULTS_FOLDER
        );
    }
    Ok(())
}

fn validate(path: &Path) -> Result<()> {
    let pipeline = load(path)?;
    let validation = folge_pipeline::validate(&pipeline)?;
    for (input, rejects) in validation.inputs.iter().zip(&validation.rejects) {
        eprintln!(
            "{}: {} rows read, {} accepted, {} rejected",
            input.role, input.rows_read, input.rows_accepted, input.rows_rejected
        );
        // validate writes no rejects table: the first reasons are shown here.
        for reject in rejects {
            let column =
                reject.column.as_deref().map(|c| format!(", column {c}")).unwrap_or_default();
            eprintln!("  line {}{column}: {}", reject.line, reject.reason);
        }
        let more = input.rows_rejected.saturating_sub(rejects.len() as u64);
        if more > 0 {
            eprintln!(
                "  … and {more} more rejected rows (`folge ingest` writes them all to 01_ingest/rejects.parquet)"
            );
        }
    }
    if !validation.over_limit.is_empty() {
        anyhow::bail!("{}", validation.over_limit.join("; "));
    }
    eprintln!("`{}` is valid", path.display());
    Ok(())
}

fn sample(out: &Path, persons: usize, seed: u64) -> Result<()> {
    let config =
        folge_sample::SampleConfig { persons, seed, ..folge_sample::SampleConfig::default() };
    let files = folge_sample::generate(&config)?;
    std::fs::create_dir_all(out).with_context(|| format!("cannot create `{}`", out.display()))?;
    for file in &files {
        folge_pipeline::parquet_io::write_bytes_atomic(&out.join(file.name), &file.bytes)?;
        eprintln!("{:<28} {:>9} bytes  {}", file.name, file.bytes.len(), file.description);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn io_error() -> std::io::Error {
        std::io::Error::new(std::io::ErrorKind::NotFound, "no such file")
    }

    #[track_caller]
    fn check(err: &anyhow::Error, code: u8, text: &str) {
        assert_eq!((exit_code(err), message(err).as_str()), (code, text));
    }

    #[test]
    fn bugs_config_errors_and_failed_runs_have_their_own_exit_codes() {
        let internal = folge_schema::SchemaError::Internal {
            table: "rates",
            source: arrow_schema::ArrowError::InvalidArgumentError("columns differ".into()),
        };
        check(
            &anyhow::Error::from(PipelineError::from(internal)).context("stage `analyze` failed"),
            EXIT_BUG,
            "stage `analyze` failed: a bug in folge (please report it, with this message): internal error building `rates`: Invalid argument error: columns differ",
        );
        let stale = PipelineError::Stale { stage: "report", message: "run it".into() };
        check(&anyhow::Error::from(stale).context("failed"), 2, "failed: run it");
        let io = folge_schema::SchemaError::Io {
            path: "a.parquet".into(),
            message: io_error().to_string(),
            source: Some(Box::new(io_error())),
        };
        check(
            &anyhow::Error::from(PipelineError::from(io)).context("stage `deid` failed"),
            1,
            "stage `deid` failed: `a.parquet`: no such file",
        );
    }

    #[test]
    fn a_cause_is_printed_once_and_other_chains_as_before() {
        // A context whose text does not end with its cause's: both, as `{:#}` prints them.
        let err = anyhow::Error::from(io_error()).context("cannot read `x`");
        assert_eq!(message(&err), format!("{err:#}"));
        assert_eq!(message(&err), "cannot read `x`: no such file");
    }
}

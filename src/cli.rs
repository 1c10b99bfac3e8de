//! The command line as clap structs. Commands receive validated values from these, never
//! the clap types themselves beyond dispatch.

use std::path::PathBuf;

use clap::{Parser, Subcommand};

/// Evaluation and follow-up research pipeline for health-service pilots.
///
/// folge turns pilot questionnaires, focus-group codings and service-use data into a
/// de-identified research extract, effect indicators and a final report.
#[derive(Debug, Parser)]
#[command(name = "folge", version, propagate_version = true)]
pub struct Cli {
    /// Only print warnings and errors.
    #[arg(long, short, global = true)]
    pub quiet: bool,
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// A pipeline file argument, defaulting to the bundled sample.
#[derive(Debug, clap::Args)]
pub struct PipelineArg {
    /// Pipeline file (TOML).
    #[arg(default_value = "pipelines/sample.toml")]
    pub pipeline: PathBuf,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run every stage: ingest → deid → analyze → report (the default command).
    ///
    /// Example: `folge run pipelines/sample.toml` writes the run directory named by
    /// `output` in the pipeline file and the report in `[report] dir`.
    Run(PipelineArg),
    /// Read and validate the inputs into `01_ingest/` (identifiable; mode 0700).
    ///
    /// Example: `folge ingest pipelines/sample.toml`
    Ingest(PipelineArg),
    /// Pseudonymise `01_ingest/` into `02_deid/` with the pipeline's key.
    ///
    /// Example: `folge deid pipelines/sample.toml`
    Deid(PipelineArg),
    /// Compute indicators from `02_deid/` into `03_analyze/`.
    ///
    /// Example: `folge analyze pipelines/sample.toml`
    Analyze(PipelineArg),
    /// Write the report from `02_deid/` and `03_analyze/`.
    ///
    /// Example: `folge report pipelines/sample.toml`
    Report(PipelineArg),
    /// Check the pipeline file, the key and every input; write nothing.
    ///
    /// Example: `folge validate pipelines/sample.toml`
    Validate(PipelineArg),
    /// Generate synthetic sample data (same seed → same bytes).
    ///
    /// Example: `folge sample --out data-sample --persons 300 --seed 2020`
    Sample {
        /// Folder to write into (created if missing).
        #[arg(long)]
        out: PathBuf,
        /// Number of persons.
        #[arg(long, default_value_t = 300)]
        persons: usize,
        /// RNG seed.
        #[arg(long, default_value_t = 2020)]
        seed: u64,
    },
    /// Write a new random 256-bit pseudonymisation key (mode 0600; never overwrites).
    ///
    /// Keep it apart from the data. Example: `folge keygen --out ~/keys/lkt.key`, then
    /// `key = "~/keys/lkt.key"` in the pipeline file or `FOLGE_KEY_FILE=~/keys/lkt.key`.
    Keygen {
        /// Where to write the key.
        #[arg(long)]
        out: PathBuf,
    },
    /// Show a Parquet file's schema, row count, metadata and first rows.
    ///
    /// Example: `folge inspect runs/sample/03_analyze/rates.parquet --rows 5`
    Inspect {
        /// The Parquet file.
        file: PathBuf,
        /// Rows to show.
        #[arg(long, default_value_t = 10)]
        rows: usize,
    },
}

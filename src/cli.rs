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

/// The pipeline file, and where to write the link table if wanted.
#[derive(Debug, clap::Args)]
pub struct DeidArg {
    /// Pipeline file (TOML).
    #[arg(default_value = "pipelines/sample.toml")]
    pub pipeline: PathBuf,
    /// Also write the link table (koblingsnøkkel: national id → pseudonym, `;`-separated,
    /// mode 0600) to this file, for the data controller to keep apart from the data.
    /// Never inside the run directory, a stage folder or the report folder (after `..` and
    /// symbolic links are resolved); never over an existing file.
    #[arg(long, value_name = "FILE")]
    pub link_table: Option<PathBuf>,
}

/// The pipeline file, and whether to print the report to PDF.
#[derive(Debug, clap::Args)]
pub struct ReportArg {
    /// Pipeline file (TOML).
    #[arg(default_value = "pipelines/sample.toml")]
    pub pipeline: PathBuf,
    /// Also print the report to `report.pdf` (A4) with a headless Chromium, when one is
    /// installed (`FOLGE_CHROMIUM` names it if it is not on PATH).
    #[arg(long)]
    pub pdf: bool,
}

/// The pipeline file, and which formats to export.
#[derive(Debug, clap::Args)]
pub struct ExportArg {
    /// Pipeline file (TOML).
    #[arg(default_value = "pipelines/sample.toml")]
    pub pipeline: PathBuf,
    /// `dta` (Stata), `sav` (SPSS) or `all`.
    #[arg(long, value_enum, default_value_t = ExportFormatArg::All)]
    pub format: ExportFormatArg,
}

/// The formats of `folge export`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ExportFormatArg {
    /// Stata `.dta` (format 118: Stata 14 and later).
    Dta,
    /// SPSS `.sav`.
    Sav,
    /// Both.
    All,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run every stage: ingest → deid → analyze → report (the default command).
    ///
    /// Example: `folge run pipelines/sample.toml` writes the run directory named by
    /// `output` in the pipeline file and the report in `[report] dir`.
    Run(DeidArg),
    /// Read and validate the inputs into `01_ingest/` (identifiable; mode 0700).
    ///
    /// Example: `folge ingest pipelines/sample.toml`
    Ingest(PipelineArg),
    /// Pseudonymise `01_ingest/` into `02_deid/` with the pipeline's key.
    ///
    /// Example: `folge deid pipelines/sample.toml`
    Deid(DeidArg),
    /// Compute indicators from `02_deid/` into `03_analyze/`.
    ///
    /// Example: `folge analyze pipelines/sample.toml`
    Analyze(PipelineArg),
    /// Write the report from `02_deid/` and `03_analyze/`.
    ///
    /// Example: `folge report pipelines/sample.toml --pdf` (the PDF needs Chromium).
    Report(ReportArg),
    /// Write the REK extract and the results tables as Stata `.dta` and SPSS `.sav` files.
    ///
    /// Variable labels, value labels (codes 1…k for arm, sex, period, service, indicator,
    /// age band, …) and missing values (suppressed: Stata `.s`, SPSS −999999998; not
    /// estimable: `.n`, −999999999) included; files under `<output>/export/stata/` and
    /// `<output>/export/spss/`, each with `extract/` and `results/`. Needs ReadStat
    /// (Debian/Ubuntu: `apt install libreadstat1`) and an up-to-date `folge run`.
    /// Example: `folge export pipelines/sample.toml --format dta`
    Export(ExportArg),
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
    /// Keep it apart from the data. Example: `folge keygen --out /secure/keys/lkt.key`,
    /// then `key = "/secure/keys/lkt.key"` in the pipeline file (relative paths resolve
    /// against the pipeline file's folder; `~` is not expanded) or
    /// `FOLGE_KEY_FILE=/secure/keys/lkt.key`.
    Keygen {
        /// Where to write the key.
        #[arg(long)]
        out: PathBuf,
    },
    /// Run one statistical method on JSON input (stdin or --input) and print JSON.
    ///
    /// Conventions follow R: paired methods use x − y, `conf_level` defaults to 0.95,
    /// `null` is missing. Example:
    /// `echo '{"x": [0.7, -1.6], "y": [1.9, 0.8]}' | folge stats paired-t`;
    /// for a readable summary of two CSV columns:
    /// `folge stats wilcoxon --csv data.csv --x after --y before`.
    Stats {
        /// The method.
        method: StatsMethod,
        /// Read the JSON object from this file instead of stdin.
        #[arg(long, conflicts_with = "csv")]
        input: Option<PathBuf>,
        /// Read x (and y) from columns of a CSV file and print a readable summary.
        #[arg(long, requires = "x")]
        csv: Option<PathBuf>,
        /// Column for x (with --csv).
        #[arg(long)]
        x: Option<String>,
        /// Column for y (with --csv).
        #[arg(long)]
        y: Option<String>,
    },
    /// Check national ids before a run: per line its number, kind (fnr, dnr, hnr, fh,
    /// synthetic), valid or not and why — never the id itself. Exit 0 when all are valid.
    ///
    /// Example: `folge check-ids inklusjon.csv --column fodselsnummer`, or one id per line
    /// on stdin: `folge check-ids --json < ids.txt`.
    CheckIds {
        /// A CSV file (with `--column`) or a file of one id per line; stdin when absent.
        file: Option<PathBuf>,
        /// The column holding the ids (delimiter and encoding are detected).
        #[arg(long)]
        column: Option<String>,
        /// Accept synthetic test numbers (month + 80 or + 65).
        #[arg(long)]
        allow_synthetic: bool,
        /// One JSON object per line: `line`, `kind`, `valid`, `reason`.
        #[arg(long)]
        json: bool,
    },
    /// Show a Parquet file's schema, row count, metadata and first rows.
    ///
    /// An identifiable (zone-1) table — in `01_ingest/`, or with `person_id`, `name`, a
    /// calendar date or raw rejected rows — is refused unless `--identifiable` is given.
    /// Example: `folge inspect runs/sample/03_analyze/rates.parquet --rows 5`
    Inspect {
        /// The Parquet file.
        file: PathBuf,
        /// Rows to show (0: schema and metadata only).
        #[arg(long, default_value_t = 10)]
        rows: usize,
        /// Show the rows of an identifiable (zone-1) table, after a warning on stderr.
        #[arg(long)]
        identifiable: bool,
    },
}

/// The statistical methods of `folge stats`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum StatsMethod {
    /// n, missing, mean, sd, median, quartiles, min, max (input: x).
    Describe,
    /// Paired t test on x − y with `d_z` and `g_z` (x, y).
    PairedT,
    /// Wilcoxon signed-rank on x − y with Hodges–Lehmann estimate (x, y, exact, correct).
    Wilcoxon,
    /// Welch two-sample t test (x, y).
    WelchT,
    /// Mann–Whitney U / Wilcoxon rank-sum (x, y, exact, correct).
    MannWhitney,
    /// Wilson score interval (successes, n).
    Wilson,
    /// McNemar test for a paired 2 × 2 table (table, correct).
    Mcnemar,
    /// Rate with exact Poisson CI (events, exposure).
    PoissonRate,
    /// Rate ratio with exact conditional and Wald CIs (events1, exposure1, events0, exposure0).
    RateRatio,
    /// Difference-in-differences by OLS with CR1 cluster SE (unit, treated, post, y).
    DidOls,
    /// Difference-in-differences by Poisson GLM with CR1 cluster SE (unit, treated, post, y, exposure).
    DidPoisson,
    /// Cohen's kappa (x, y labels, weights: none/linear/quadratic).
    CohenKappa,
    /// Fleiss' kappa (matrix: subjects × categories counts).
    FleissKappa,
    /// Krippendorff's alpha (matrix: coders × units, level).
    KrippendorffAlpha,
    /// Cronbach's alpha with alpha-if-dropped (matrix: respondents × items).
    CronbachAlpha,
    /// Adjusted p-values (p, method: holm/bh/bonferroni).
    PAdjust,
    /// Bootstrap CI (x, y, statistic, reps, seed, method).
    Bootstrap,
}

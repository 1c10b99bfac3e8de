//! The pipeline's error: configuration problems (exit 2) apart from run failures (exit 1).

use std::path::PathBuf;

/// What stopped a pipeline.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PipelineError {
    /// The pipeline file or the key is wrong: fix the configuration.
    #[error("{}{}: {message}", file.display(), line.map(|l| format!(" line {l}")).unwrap_or_default())]
    Config {
        /// The file at fault (pipeline or key file).
        file: PathBuf,
        /// 1-based line, when known.
        line: Option<usize>,
        /// What is wrong and how to fix it.
        message: String,
    },
    /// A stage failed on the data.
    #[error("{stage}: {message}")]
    Stage {
        /// The stage.
        stage: &'static str,
        /// What failed.
        message: String,
    },
    /// A stage needs output of an earlier stage that is not there.
    #[error("{stage}: `{}` is missing; run `folge {needs}` first (or `folge run`)", path.display())]
    MissingStageOutput {
        /// The stage that was asked for.
        stage: &'static str,
        /// The stage that must run first.
        needs: &'static str,
        /// The missing file.
        path: PathBuf,
    },
    /// An earlier stage's outputs were made from other inputs or parameters than the
    /// pipeline file now implies: re-make them first.
    #[error("{message}")]
    Stale {
        /// The stage that was asked for.
        stage: &'static str,
        /// What changed and which command re-makes it.
        message: String,
    },
    /// Another folge process is working on the run directory or the report folder.
    #[error("{what} is in use by {}; wait for it to end (or stop it) and run again", holder.map_or_else(|| "another folge process".to_owned(), |pid| format!("folge process {pid}")))]
    Busy {
        /// The folder, as a phrase naming it and its path.
        what: String,
        /// The process holding it, when its lock file says.
        holder: Option<u32>,
    },
    /// Reading or writing a file failed.
    #[error("`{}`: {message}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// What failed.
        message: String,
    },
}

impl PipelineError {
    /// Whether this is a usage/configuration error (exit code 2) rather than a failed run.
    pub fn is_config(&self) -> bool {
        matches!(
            self,
            PipelineError::Config { .. } | PipelineError::Stale { .. } | PipelineError::Busy { .. }
        )
    }

    pub(crate) fn io(path: &std::path::Path, e: impl std::fmt::Display) -> Self {
        PipelineError::Io { path: path.to_owned(), message: e.to_string() }
    }
}

impl From<folge_schema::SchemaError> for PipelineError {
    fn from(e: folge_schema::SchemaError) -> Self {
        match e {
            folge_schema::SchemaError::Io { path, message } => PipelineError::Io { path, message },
            other => PipelineError::Stage { stage: "schema", message: other.to_string() },
        }
    }
}

impl From<folge_ingest::IngestError> for PipelineError {
    fn from(e: folge_ingest::IngestError) -> Self {
        PipelineError::Stage { stage: "ingest", message: e.to_string() }
    }
}

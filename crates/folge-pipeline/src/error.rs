//! The pipeline's error: configuration problems (exit 2) apart from run failures (exit 1)
//! and from folge's own bugs (exit 70).
//!
//! A message is the sentence a user reads; when it was made from another error, that
//! error stays reachable through [`std::error::Error::source`] and the message ends with
//! its text (the constructors make it so), so a chain printed without repeats reads as the
//! message alone. A message that shows its cause only in part (a cell made safe by
//! `shown`, a TOML error without its excerpt) keeps no source: the raw cause could show
//! what the message leaves out.

use std::error::Error;
use std::path::{Path, PathBuf};

/// The error a message was made from, kept for [`std::error::Error::source`].
pub type Cause = Box<dyn Error + Send + Sync>;

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
        /// The error the message was made from (reading the file failed, say).
        #[source]
        source: Option<Cause>,
    },
    /// A stage failed on the data.
    #[error("{stage}: {message}")]
    Stage {
        /// The stage.
        stage: &'static str,
        /// What failed.
        message: String,
        /// The error the message was made from (a reader's, de-identification's …).
        #[source]
        source: Option<Cause>,
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
    /// Something folge needs on this machine is not installed (ReadStat for `folge
    /// export`): the message says what to install.
    #[error("{message}")]
    Unavailable {
        /// What is missing and how to install it.
        message: String,
    },
    /// Reading or writing a file failed.
    #[error("`{}`: {message}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// What failed.
        message: String,
        /// The error the message was made from (I/O, Parquet, JSON …).
        #[source]
        source: Option<Cause>,
    },
    /// An invariant of folge's own did not hold (Arrow refused a batch folge built from its
    /// schema, a thread of folge's panicked): a bug in folge, not in the data or the
    /// configuration.
    #[error("a bug in folge (please report it, with this message): {message}")]
    Bug {
        /// What did not hold.
        message: String,
        /// The error the message was made from.
        #[source]
        source: Option<Cause>,
    },
}

impl PipelineError {
    /// Whether this is a usage/configuration error (exit code 2) rather than a failed run:
    /// also an earlier stage that must be made again, a busy run directory and a library
    /// to install.
    pub fn is_config(&self) -> bool {
        matches!(
            self,
            PipelineError::Config { .. }
                | PipelineError::Stale { .. }
                | PipelineError::Busy { .. }
                | PipelineError::Unavailable { .. }
        )
    }

    /// Whether this is a bug in folge (exit code 70) rather than a problem of the data or
    /// the configuration.
    pub fn is_bug(&self) -> bool {
        matches!(self, PipelineError::Bug { .. })
    }

    /// A configuration error without an underlying error.
    pub(crate) fn config(file: &Path, line: Option<usize>, message: impl Into<String>) -> Self {
        PipelineError::Config { file: file.to_owned(), line, message: message.into(), source: None }
    }

    /// A configuration error made from `cause`: `what: cause`.
    pub(crate) fn config_because(
        file: &Path,
        what: &str,
        cause: impl Error + Send + Sync + 'static,
    ) -> Self {
        PipelineError::Config {
            file: file.to_owned(),
            line: None,
            message: format!("{what}: {cause}"),
            source: Some(Box::new(cause)),
        }
    }

    /// A stage failure said in words, without an underlying error.
    pub(crate) fn stage(stage: &'static str, message: impl Into<String>) -> Self {
        PipelineError::Stage { stage, message: message.into(), source: None }
    }

    /// A stage failed with `cause`, whose text is the message; a [`PipelineError::Bug`]
    /// when the cause is one of folge's own ([`folge_schema::SchemaError::Internal`]).
    pub(crate) fn stage_failed(
        stage: &'static str,
        cause: impl Error + Send + Sync + 'static,
    ) -> Self {
        if is_internal(&cause) {
            return PipelineError::bug_from(cause);
        }
        PipelineError::Stage { stage, message: cause.to_string(), source: Some(Box::new(cause)) }
    }

    /// Reading or writing `path` failed with `cause`, whose text is the message.
    pub(crate) fn io(path: &Path, cause: impl Error + Send + Sync + 'static) -> Self {
        PipelineError::Io {
            path: path.to_owned(),
            message: cause.to_string(),
            source: Some(Box::new(cause)),
        }
    }

    /// Reading or writing `path` failed with `cause`: `what: cause`.
    pub(crate) fn io_because(
        path: &Path,
        what: &str,
        cause: impl Error + Send + Sync + 'static,
    ) -> Self {
        PipelineError::Io {
            path: path.to_owned(),
            message: format!("{what}: {cause}"),
            source: Some(Box::new(cause)),
        }
    }

    /// Something is wrong with `path`, said in words, without an underlying error.
    pub(crate) fn io_message(path: &Path, message: impl Into<String>) -> Self {
        PipelineError::Io { path: path.to_owned(), message: message.into(), source: None }
    }

    /// A bug in folge, said in words.
    pub(crate) fn bug(message: impl Into<String>) -> Self {
        PipelineError::Bug { message: message.into(), source: None }
    }

    /// A bug in folge shown by `cause`, whose text is the message.
    pub(crate) fn bug_from(cause: impl Error + Send + Sync + 'static) -> Self {
        PipelineError::Bug { message: cause.to_string(), source: Some(Box::new(cause)) }
    }
}

/// Whether `cause` is, or was made from, one of folge's own bugs: a
/// [`folge_schema::SchemaError::Internal`] anywhere in its chain (also inside
/// `DeidError::Schema`, which is transparent and so hides it from `source()`).
fn is_internal(cause: &(dyn Error + 'static)) -> bool {
    std::iter::successors(Some(cause), |e| (*e).source()).any(|e| {
        e.downcast_ref::<folge_schema::SchemaError>()
            .is_some_and(folge_schema::SchemaError::is_internal)
            || matches!(
                e.downcast_ref::<folge_deid::DeidError>(),
                Some(folge_deid::DeidError::Schema(schema)) if schema.is_internal()
            )
            || e.downcast_ref::<PipelineError>().is_some_and(PipelineError::is_bug)
    })
}

impl From<folge_schema::SchemaError> for PipelineError {
    fn from(e: folge_schema::SchemaError) -> Self {
        match e {
            folge_schema::SchemaError::Io { path, message, source } => {
                PipelineError::Io { path, message, source }
            }
            internal @ folge_schema::SchemaError::Internal { .. } => {
                PipelineError::bug_from(internal)
            }
            other => PipelineError::stage_failed("schema", other),
        }
    }
}

impl From<folge_ingest::IngestError> for PipelineError {
    fn from(e: folge_ingest::IngestError) -> Self {
        PipelineError::stage_failed("ingest", e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use folge_schema::SchemaError;

    /// The first error of `kind` in the chain of `err`.
    fn find<'e, E: Error + 'static>(err: &'e (dyn Error + 'static)) -> Option<&'e E> {
        std::iter::successors(Some(err), |e| (*e).source()).find_map(|e| e.downcast_ref::<E>())
    }

    fn internal() -> SchemaError {
        SchemaError::Internal {
            table: "rates",
            source: arrow_schema::ArrowError::InvalidArgumentError("columns differ".into()),
        }
    }

    #[test]
    fn the_chain_leads_to_the_io_error() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("participants.parquet");
        let err = PipelineError::from(crate::parquet_io::read_parquet(&missing).unwrap_err());
        let io = find::<std::io::Error>(&err).expect("the io::Error is the source");
        assert_eq!(io.kind(), std::io::ErrorKind::NotFound);
        // The message is what it was: the path and the io::Error's text, once.
        assert_eq!(err.to_string(), format!("`{}`: {io}", missing.display()));
        assert!(!err.is_bug() && !err.is_config());

        // Through ingest: the sink's Parquet error, inside the reader's error.
        let sink = folge_ingest::IngestError::Sink {
            source_name: "inputs.service_events".into(),
            source: Box::new(crate::parquet_io::read_parquet(&missing).unwrap_err()),
        };
        let err = PipelineError::from(sink);
        assert!(matches!(err, PipelineError::Stage { stage: "ingest", .. }));
        assert!(find::<folge_ingest::IngestError>(&err).is_some());
        assert!(find::<SchemaError>(&err).is_some());
        assert_eq!(find::<std::io::Error>(&err).map(std::io::Error::kind), Some(io.kind()));
        assert_eq!(
            err.to_string(),
            format!("ingest: inputs.service_events: `{}`: {io}", missing.display())
        );
    }

    #[test]
    fn an_internal_schema_error_is_a_bug_wherever_it_is_found() {
        let text = "internal error building `rates`: Invalid argument error: columns differ";
        let bug = format!("a bug in folge (please report it, with this message): {text}");
        let direct = PipelineError::from(internal());
        let in_deid =
            PipelineError::stage_failed("analyze", folge_deid::DeidError::from(internal()));
        let in_sink = PipelineError::from(folge_ingest::IngestError::Sink {
            source_name: "inputs.service_events".into(),
            source: Box::new(internal()),
        });
        for err in [direct, in_deid] {
            assert!(err.is_bug() && !err.is_config(), "{err:?}");
            assert_eq!(err.to_string(), bug);
            assert!(find::<arrow_schema::ArrowError>(&err).is_some());
        }
        assert!(in_sink.is_bug());
        assert_eq!(
            in_sink.to_string(),
            format!(
                "a bug in folge (please report it, with this message): inputs.service_events: {text}"
            )
        );
        // Other schema errors are the data's, not folge's.
        let missing = SchemaError::MissingColumn { table: "rates", column: "pid" };
        let err = PipelineError::from(missing);
        assert!(!err.is_bug());
        assert_eq!(err.to_string(), "schema: table `rates` has no column `pid`");
        assert!(find::<SchemaError>(&err).is_some());
    }

    #[test]
    fn a_message_ends_with_its_cause() {
        let io = || std::io::Error::other("denied");
        let path = Path::new("a");
        for err in [
            PipelineError::io(path, io()),
            PipelineError::io_because(path, "cannot open the input", io()),
            PipelineError::config_because(path, "cannot read the codebook", io()),
            PipelineError::stage_failed("deid", io()),
        ] {
            let cause = err.source().expect("a source").to_string();
            assert!(err.to_string().ends_with(&cause), "{err}");
        }
        assert!(PipelineError::io_message(path, "hashing stopped").source().is_none());
    }
}

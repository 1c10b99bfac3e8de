//! File-level ingest errors: problems that stop the stage (row-level problems become
//! rejects instead). Messages name the file and line, never an identifier's value.

/// Why a [`Sink`](crate::Sink) refused rows (writing Parquet failed, say): kept as the
/// source of [`IngestError::Sink`], so the cause stays reachable through
/// [`std::error::Error::source`].
pub type SinkError = Box<dyn std::error::Error + Send + Sync>;

/// A problem with a whole input file.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum IngestError {
    /// The file has no header line.
    #[error("{source_name}: the file is empty (expected a header line)")]
    Empty {
        /// Display name of the input.
        source_name: String,
    },
    /// The file has a header but no data rows, and the pipeline does not say that is
    /// expected.
    #[error(
        "{source_name}: the file has a header line but no data rows (set `allow_empty = true` on this input if an empty delivery is expected)"
    )]
    NoRows {
        /// Display name of the input.
        source_name: String,
    },
    /// The first line holds values, not column names: the header line is missing. The
    /// cells are not shown (they are a person's id and name).
    #[error(
        "{source_name}: the first line looks like data, not a header (it holds a date, a number or an id where column names should be); expected a header line naming the columns {expected}"
    )]
    HeaderLooksLikeData {
        /// Display name of the input.
        source_name: String,
        /// The required columns, backticked and comma-separated.
        expected: String,
    },
    /// A required column is missing from the header.
    #[error(
        "{source_name}: required column {column} is missing; found {found}{}",
        closest.as_ref().map(|c| format!(" (did you mean `{c}`?)")).unwrap_or_default()
    )]
    MissingColumn {
        /// Display name of the input.
        source_name: String,
        /// The missing column as the file should name it, backticked.
        column: String,
        /// The header's columns, backticked and comma-separated.
        found: String,
        /// The closest header column by edit distance, when one is close.
        closest: Option<String>,
    },
    /// Bytes that are not UTF-8.
    #[error(
        "{source_name} line {line}: the file is not valid UTF-8 (save it as \"CSV UTF-8\" in Excel)"
    )]
    Encoding {
        /// Display name of the input.
        source_name: String,
        /// 1-based line.
        line: u64,
    },
    /// Where the rows were going failed (e.g. writing Parquet).
    #[error("{source_name}: {source}")]
    Sink {
        /// Display name of the input.
        source_name: String,
        /// What failed, as the sink said it.
        source: SinkError,
    },
    /// The duplicate check's records could not be set aside or read back (a full disk).
    #[error("{source_name}: the records of the duplicate check could not be spilled: {source}")]
    Spill {
        /// Display name of the input.
        source_name: String,
        /// What failed, as the spill said it.
        source: SinkError,
    },
    /// The file as a whole cannot be read (not a zip, no project, a limit exceeded).
    #[error("{source_name}: {message}")]
    File {
        /// Display name of the input.
        source_name: String,
        /// What is wrong, as a sentence.
        message: String,
    },
    /// The CSV parser or the reader failed at a line.
    #[error("{source_name} line {line}: {message}")]
    Read {
        /// Display name of the input.
        source_name: String,
        /// 1-based line.
        line: u64,
        /// What failed.
        message: String,
    },
}

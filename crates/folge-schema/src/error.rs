//! The error type of folge-schema: reading a table whose columns do not match the contract,
//! and Parquet I/O failures.

use std::path::PathBuf;

/// What went wrong while converting or reading a canonical table.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SchemaError {
    /// A required column is absent from a batch or file.
    #[error("table `{table}` has no column `{column}`")]
    MissingColumn {
        /// Table name from the data contract.
        table: &'static str,
        /// The missing column.
        column: &'static str,
    },
    /// A column holds the wrong Arrow type, or a null where none is allowed.
    #[error("table `{table}`, column `{column}`: {problem}")]
    BadColumn {
        /// Table name from the data contract.
        table: &'static str,
        /// The offending column.
        column: &'static str,
        /// What was expected.
        problem: String,
    },
    /// Arrow refused to assemble a batch (a bug in folge: columns are built from the
    /// schema); `folge-pipeline` reports it as one.
    #[error("internal error building `{table}`: {source}")]
    Internal {
        /// Table name.
        table: &'static str,
        /// Arrow's error.
        source: arrow_schema::ArrowError,
    },
    /// Reading or writing a Parquet file failed.
    #[error("`{path}`: {message}")]
    Io {
        /// The file.
        path: PathBuf,
        /// What failed: the cause's own text when there is one.
        message: String,
        /// The error that failed (I/O, Parquet, Arrow), when there was one: `message` ends
        /// with its text, so a chain printed without repeats reads as before.
        #[source]
        source: Option<Box<dyn std::error::Error + Send + Sync>>,
    },
}

impl SchemaError {
    /// Whether this is folge's own bug ([`SchemaError::Internal`]) rather than a table or a
    /// file that does not fit.
    pub fn is_internal(&self) -> bool {
        matches!(self, SchemaError::Internal { .. })
    }
}

//! Canonical tables of folge's data contract (`shared/data-contract.md`) as typed Rust rows
//! and Arrow schemas, the domain's enums (services, arms, sexes, exit reasons) and Norwegian
//! national id validation. No file I/O: Parquet files are folge-pipeline's (`parquet_io`).
//!
//! Every stage speaks these types, so a column name is spelled in exactly one place.
#![warn(missing_docs)]

pub mod categories;
#[doc(hidden)]
pub mod column;
pub mod domain;
mod error;
mod id_table;
pub mod keyed;
pub mod national_id;
pub mod pseudonym;
pub mod shown;
pub mod suggest;
pub mod tables;

pub use categories::{Categories, text_values};
pub use column::{ColumnValue, Table};
pub use domain::{Arm, ExitReason, Service, Sex};
pub use error::SchemaError;
pub use id_table::{IdTable, eleven_digits};
pub use national_id::{IdError, IdKind, NationalId};
pub use pseudonym::{Pseudonym, PseudonymError};
pub use shown::{shown, shown_cell};

//! Canonical tables of folge's data contract (`shared/data-contract.md`) as typed Rust rows
//! and Arrow schemas, the domain's enums (services, arms, sexes, exit reasons), Norwegian
//! national id validation, and Parquet reading and atomic writing with folge's metadata.
//!
//! Every stage speaks these types, so a column name is spelled in exactly one place.
#![warn(missing_docs)]

#[doc(hidden)]
pub mod column;
pub mod domain;
mod error;
pub mod national_id;
pub mod parquet_io;
pub mod shown;
pub mod suggest;
pub mod tables;

pub use column::{ColumnValue, Table};
pub use domain::{Arm, ExitReason, Service, Sex};
pub use error::SchemaError;
pub use national_id::{IdError, IdKind, NationalId};
pub use shown::{shown, shown_cell};

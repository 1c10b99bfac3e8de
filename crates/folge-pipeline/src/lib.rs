//! Runs an evaluation: reads the pipeline file, resolves the key, and drives the stages
//! ingest → deid → analyze → report, each reading the previous stage's output from the
//! run directory and writing its own atomically, with a manifest of inputs, parameters,
//! key fingerprint and timings.
//!
//! This is the only crate (besides the binary) that touches the filesystem.
#![warn(missing_docs)]

mod browser;
mod config;
mod error;
mod export;
mod guard;
mod keys;
mod lock;
mod manifest;
pub mod parquet_io;
mod parts;
mod provenance;
mod run_dir;
mod spill;
mod stages;

pub use browser::{Capture, capture, find_chromium};
pub use config::{IdKind, InputFile, InputFormat, LanguageCode, Pipeline, PipelineFile};
pub use error::PipelineError;
pub use export::{EXTRACT_FOLDER, Exported, RESULTS_FOLDER, export, format_folder};
pub use folge_readstat::Format as ExportFormat;
pub use keys::{
    KEY_FILE_ENV, check_link_table_path, resolve_key, write_key_file, write_link_table,
};
pub use manifest::{InputRecord, MadeFrom, Manifest, StageRecord};
pub use stages::{Stage, Validation, print_report_pdf, run_all, run_stage, run_stages, validate};

//! The ingest stage: pilot deliveries (CSV as Norwegian offices write it) → validated,
//! typed canonical tables (zone 1, identifiable), with every rejected row kept with its
//! file, line, column and reason.
//!
//! Sans-IO: readers take `impl Read` plus the source's display name and return rows,
//! rejects and a conservation summary (rows read = accepted + rejected). Opening files and
//! writing Parquet is `folge-pipeline`'s job.
#![warn(missing_docs)]

mod csv_source;
mod duplicates;
mod error;
mod qdpx;
mod questionnaire;
mod readers;
mod redcap;
pub mod values;
mod vocabulary;
mod xlsx;

pub use csv_source::{CsvOptions, Layout, detect_encoding, sniff_delimiter};
pub use duplicates::{
    DuplicateCheck, DuplicateRows, MemorySpill, PARTS, SPILL_BUDGET, SpillOptions, SpillParts,
    SpillStore,
};
pub use encoding_rs::Encoding;
pub use error::{IngestError, SinkError};
pub use qdpx::{QdpxOptions, read_qdpx};
pub use questionnaire::{
    Codebook, DateItem, Instrument, Item, QuestionnaireOptions, read_questionnaire,
};
pub use readers::{
    BATCH_ROWS, ExitCompletion, IdPolicy, Ingested, PersonIndex, Rows, Sink, SourceSummary,
    Streamed, complete_exits, for_each_cell, read_codings, read_participants, read_process_events,
    read_service_events, stream_process_events, stream_service_counts, stream_service_events,
};
pub use redcap::{
    FormScale, ScaleDefinitions, ScaleProblem, add_scales, checkbox_column,
    codebook_from_dictionary,
};
pub use vocabulary::{FRAMEWORK_ELEMENTS, Vocabularies, Vocabulary};
pub use xlsx::{SheetOrigin, sheet_to_csv};

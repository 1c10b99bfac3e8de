//! The deid stage: turns identifiable zone-1 tables into de-identified zone-2 tables.
//! National ids become keyed pseudonyms (HMAC-SHA256), names and birth dates go, age at
//! inclusion is banded, every date becomes whole days relative to the person's
//! inclusion date, and free text (questionnaire comments, focus-group quotes) is scrubbed
//! of names, ids, phone numbers, e-mail and postal addresses.
//!
//! Privacy through a type: [`Deidentified`] has private fields and only this crate builds
//! one — by [`deidentify`], or by [`Deidentified::from_batches`], which re-checks tables
//! read back from the deid output. Analysis and reporting accept nothing else.
#![warn(missing_docs)]

mod detect;
mod disclosure;
mod events;
mod extract;
mod key;
pub mod rows;
mod scrub;
mod small_cells;
mod tables;

pub use detect::{DetectKind, Detector, fold_name, normalise};
pub use disclosure::{
    QuasiRows, RiskReport, class_sizes, merge_small_values, risk_report, suppress_to_k,
};
pub use events::{EventBatch, EventDeidentifier, EventRow, PidCheck, events_schema, keyed_schema};
pub use extract::{
    CodebookRow, Extract, ExtractChanges, ExtractSpec, extract, participant_risk, risk_markdown,
};
pub use key::{DEMO_KEY_PHRASE, Key, KeyError, PSEUDONYM_HEX_CHARS, Pseudonym, PseudonymError};
pub use scrub::{COMMON_WORD_NAMES, Hit, ScrubCounts, ScrubKind, Scrubber};
pub use small_cells::{SmallCellRule, Suppression, suppress_table};
pub use tables::{
    AgeBands, DeidError, DeidParams, DeidReport, Deidentified, Identifiable, deidentify,
    detector_for, scrubber_for,
};

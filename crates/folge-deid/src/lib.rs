//! The deid stage: turns identifiable zone-1 tables into de-identified zone-2 tables.
//! National ids become keyed pseudonyms (HMAC-SHA256), names and birth dates go, age at
//! inclusion is banded, and every date becomes whole days relative to the person's
//! inclusion date.
//!
//! Privacy through a type: [`Deidentified`] has private fields and only this crate builds
//! one — by [`deidentify`], or by [`Deidentified::from_batches`], which re-checks tables
//! read back from the deid output. Analysis and reporting accept nothing else.
#![warn(missing_docs)]

mod key;
mod tables;

pub use key::{DEMO_KEY_PHRASE, Key, KeyError, PSEUDONYM_HEX_CHARS};
pub use tables::{AgeBands, DeidError, DeidParams, Deidentified, Identifiable, deidentify};

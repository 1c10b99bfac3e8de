//! The zone-2 tables (de-identified: keyed pseudonyms, days relative to inclusion, text
//! scrubbed), declared here and not in folge-schema so that only de-identification builds
//! their rows. They are `read_only` tables: their fields are this crate's, and other crates
//! read a row through one accessor per field (`row.text()`), so no other crate can fill a
//! row with unscrubbed text, build one, or change one it was handed. They read them back
//! from the stage's Parquet files (`Table::from_batches`), which [`crate::Deidentified`]
//! checks again; a `pid` column reads only [`Pseudonym`]s.
//!
//! Other crates' tests build rows by hand (a scan test plants what de-identification would
//! never write): the `test-rows` feature, which only dev-dependencies turn on, adds the
//! constructors below and makes the fields public. The binary is built without it, so
//! `cargo build --release` is where a non-test use of a field fails to compile.

use folge_schema::{Arm, ExitReason, Pseudonym, Service, Sex, table};

table! {
    /// Zone 2: a participant after de-identification.
    #[non_exhaustive]
    pub struct DeidParticipant as "participants" read_only {
        /// Keyed pseudonym.
        pid: Pseudonym,
        /// Sex.
        sex: Option<Sex>,
        /// Age at inclusion, banded.
        age_band: Option<String>,
        /// Kommunenummer.
        municipality: String,
        /// Pilot unit.
        site: Option<String>,
        /// Study arm.
        arm: Arm,
        /// Target group.
        target_group: Option<String>,
        /// Year of inclusion.
        inclusion_year: i32,
        /// Quarter of inclusion (1–4), when the pipeline keeps it (`deid.inclusion_quarter`).
        inclusion_quarter: Option<i32>,
        /// Exit, in days after inclusion.
        exit_day: Option<i32>,
        /// Why follow-up ended.
        exit_reason: Option<ExitReason>,
        /// End of data delivery, in days after this person's inclusion.
        data_end_day: i32,
    }
}

table! {
    /// Zone 2: a service event, dates as days relative to inclusion.
    #[non_exhaustive]
    pub struct DeidServiceEvent as "service_events" read_only {
        /// Keyed pseudonym.
        pid: Pseudonym,
        /// Service code.
        service: Service,
        /// Contact or admission day (inclusion = day 0).
        start_day: i32,
        /// Discharge day.
        end_day: Option<i32>,
        /// Hours for home nursing/help.
        quantity: Option<f64>,
        /// Acute vs elective.
        acute: Option<bool>,
        /// Time of admission or contact, minutes after midnight, when delivered.
        start_minute: Option<i32>,
        /// Time of discharge, minutes after midnight, when delivered.
        end_minute: Option<i32>,
    }
}

table! {
    /// Zone 2: a month of pre-aggregated service use, its first and last day relative to
    /// inclusion.
    #[non_exhaustive]
    pub struct DeidServiceCount as "service_counts" read_only {
        /// Keyed pseudonym.
        pid: Pseudonym,
        /// Service code.
        service: Service,
        /// The month's first day (inclusion = day 0).
        start_day: i32,
        /// The month's last day.
        end_day: i32,
        /// Contacts or stays begun in the month.
        count: Option<f64>,
        /// Days in the month.
        days: Option<f64>,
        /// Hours in the month.
        hours: Option<f64>,
    }
}

table! {
    /// Zone 2: a framework step, day relative to inclusion.
    #[non_exhaustive]
    pub struct DeidProcessEvent as "process_events" read_only {
        /// Keyed pseudonym.
        pid: Pseudonym,
        /// Element.
        element: String,
        /// Day documented (inclusion = day 0).
        day: i32,
    }
}

table! {
    /// Zone 2: a questionnaire answer, the date as a day relative to inclusion and free
    /// text scrubbed. Items that identify the respondent are not carried over.
    #[non_exhaustive]
    pub struct DeidResponse as "responses" read_only {
        /// Keyed pseudonym.
        pid: Pseudonym,
        /// `T0`, `T1`, …
        timepoint: String,
        /// Day the form was submitted (inclusion = day 0).
        response_day: Option<i32>,
        /// Instrument name.
        instrument: String,
        /// Item.
        item: String,
        /// The answer.
        value: Option<f64>,
        /// Free text, scrubbed (`[NAVN]`, `[TLF]`, …), or null when dropped by
        /// configuration.
        text: Option<String>,
        /// A date answer as days relative to inclusion (inclusion = day 0).
        value_day: Option<i32>,
    }
}

table! {
    /// Zone 2: a coded focus-group segment with its quote scrubbed.
    #[non_exhaustive]
    pub struct DeidCoding as "codings" read_only {
        /// The codings input the row came from (its label in the pipeline file, never a
        /// file name): groups, segments and coders are told apart by it.
        source: String,
        /// Focus group.
        focus_group: String,
        /// Kommunenummer of the group.
        municipality: Option<String>,
        /// Participants' role.
        role: Option<String>,
        /// Who coded the segment.
        coder: String,
        /// Segment id.
        segment: String,
        /// Code name.
        code: String,
        /// Code path above the code.
        theme: Option<String>,
        /// The quote, scrubbed, or null when quotes are dropped by configuration.
        text: Option<String>,
    }
}

/// Rows for other crates' tests, which must build zone-2 rows by hand (a scan test plants
/// what de-identification would never write). Only with the `test-rows` feature, which
/// only dev-dependencies turn on: the binary is built without it.
#[cfg(feature = "test-rows")]
mod test_rows {
    use super::{Arm, DeidCoding, DeidParticipant, Pseudonym};

    impl DeidParticipant {
        /// A participant with `pid` in `arm`, municipality 4601, included in 2022, data to
        /// day 400, nothing else known; set other fields on the result.
        #[must_use]
        pub fn for_tests(pid: Pseudonym, arm: Arm) -> Self {
            DeidParticipant {
                pid,
                sex: None,
                age_band: None,
                municipality: "4601".into(),
                site: None,
                arm,
                target_group: None,
                inclusion_year: 2022,
                inclusion_quarter: None,
                exit_day: None,
                exit_reason: None,
                data_end_day: 400,
            }
        }
    }

    impl DeidCoding {
        /// A coding of `segment` in `focus_group` by `coder` with `code`, from the source
        /// `codings`, nothing else known; set other fields on the result.
        #[must_use]
        pub fn for_tests(focus_group: &str, coder: &str, segment: &str, code: &str) -> Self {
            DeidCoding {
                source: "codings".into(),
                focus_group: focus_group.into(),
                municipality: None,
                role: None,
                coder: coder.into(),
                segment: segment.into(),
                code: code.into(),
                theme: None,
                text: None,
            }
        }
    }
}

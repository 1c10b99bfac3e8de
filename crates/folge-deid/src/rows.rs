//! The zone-2 tables (de-identified: keyed pseudonyms, days relative to inclusion, text
//! scrubbed), declared here and not in folge-schema so that only de-identification builds
//! their rows: they are `#[non_exhaustive]`, so no other crate can fill one with a struct
//! literal (and unscrubbed text). Other crates read their fields, and read them back from
//! the stage's Parquet files (`Table::from_batches`), which [`crate::Deidentified`] checks
//! again.

use folge_schema::{Arm, ExitReason, Pseudonym, Service, Sex, table};

table! {
    /// Zone 2: a participant after de-identification.
    #[non_exhaustive]
    pub struct DeidParticipant as "participants" {
        /// Keyed pseudonym.
        pub pid: Pseudonym,
        /// Sex.
        pub sex: Option<Sex>,
        /// Age at inclusion, banded.
        pub age_band: Option<String>,
        /// Kommunenummer.
        pub municipality: String,
        /// Pilot unit.
        pub site: Option<String>,
        /// Study arm.
        pub arm: Arm,
        /// Target group.
        pub target_group: Option<String>,
        /// Year of inclusion.
        pub inclusion_year: i32,
        /// Quarter of inclusion (1–4), when the pipeline keeps it (`deid.inclusion_quarter`).
        pub inclusion_quarter: Option<i32>,
        /// Exit, in days after inclusion.
        pub exit_day: Option<i32>,
        /// Why follow-up ended.
        pub exit_reason: Option<ExitReason>,
        /// End of data delivery, in days after this person's inclusion.
        pub data_end_day: i32,
    }
}

table! {
    /// Zone 2: a service event, dates as days relative to inclusion.
    #[non_exhaustive]
    pub struct DeidServiceEvent as "service_events" {
        /// Keyed pseudonym.
        pub pid: Pseudonym,
        /// Service code.
        pub service: Service,
        /// Contact or admission day (inclusion = day 0).
        pub start_day: i32,
        /// Discharge day.
        pub end_day: Option<i32>,
        /// Hours for home nursing/help.
        pub quantity: Option<f64>,
        /// Acute vs elective.
        pub acute: Option<bool>,
        /// Time of admission or contact, minutes after midnight, when delivered.
        pub start_minute: Option<i32>,
        /// Time of discharge, minutes after midnight, when delivered.
        pub end_minute: Option<i32>,
    }
}

table! {
    /// Zone 2: a month of pre-aggregated service use, its first and last day relative to
    /// inclusion.
    #[non_exhaustive]
    pub struct DeidServiceCount as "service_counts" {
        /// Keyed pseudonym.
        pub pid: Pseudonym,
        /// Service code.
        pub service: Service,
        /// The month's first day (inclusion = day 0).
        pub start_day: i32,
        /// The month's last day.
        pub end_day: i32,
        /// Contacts or stays begun in the month.
        pub count: Option<f64>,
        /// Days in the month.
        pub days: Option<f64>,
        /// Hours in the month.
        pub hours: Option<f64>,
    }
}

table! {
    /// Zone 2: a framework step, day relative to inclusion.
    #[non_exhaustive]
    pub struct DeidProcessEvent as "process_events" {
        /// Keyed pseudonym.
        pub pid: Pseudonym,
        /// Element.
        pub element: String,
        /// Day documented (inclusion = day 0).
        pub day: i32,
    }
}

table! {
    /// Zone 2: a questionnaire answer, the date as a day relative to inclusion and free
    /// text scrubbed. Items that identify the respondent are not carried over.
    #[non_exhaustive]
    pub struct DeidResponse as "responses" {
        /// Keyed pseudonym.
        pub pid: Pseudonym,
        /// `T0`, `T1`, …
        pub timepoint: String,
        /// Day the form was submitted (inclusion = day 0).
        pub response_day: Option<i32>,
        /// Instrument name.
        pub instrument: String,
        /// Item.
        pub item: String,
        /// The answer.
        pub value: Option<f64>,
        /// Free text, scrubbed (`[NAVN]`, `[TLF]`, …), or null when dropped by
        /// configuration.
        pub text: Option<String>,
        /// A date answer as days relative to inclusion (inclusion = day 0).
        pub value_day: Option<i32>,
    }
}

table! {
    /// Zone 2: a coded focus-group segment with its quote scrubbed.
    #[non_exhaustive]
    pub struct DeidCoding as "codings" {
        /// Focus group.
        pub focus_group: String,
        /// Kommunenummer of the group.
        pub municipality: Option<String>,
        /// Participants' role.
        pub role: Option<String>,
        /// Who coded the segment.
        pub coder: String,
        /// Segment id.
        pub segment: String,
        /// Code name.
        pub code: String,
        /// Code path above the code.
        pub theme: Option<String>,
        /// The quote, scrubbed, or null when quotes are dropped by configuration.
        pub text: Option<String>,
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
        /// A coding of `segment` in `focus_group` by `coder` with `code`, nothing else
        /// known; set other fields on the result.
        #[must_use]
        pub fn for_tests(focus_group: &str, coder: &str, segment: &str, code: &str) -> Self {
            DeidCoding {
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

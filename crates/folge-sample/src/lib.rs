//! Seeded synthetic data for a whole pilot evaluation, shaped like what Norwegian pilots
//! really deliver: an inclusion list saved by Excel on a Norwegian PC, hospital and
//! municipal service use with a heavy tail and a built-in pilot effect, the framework's
//! step log, questionnaires as Nettskjema and `REDCap` export them, and focus-group codings
//! from two coders as an Excel sheet and a REFI-QDA project.
//!
//! Sans-IO: [`generate`] returns file names and bytes; the caller writes them. The same
//! seed gives the same bytes on every machine (`ChaCha8`, no floating-point formatting that
//! depends on the platform, no timestamps).
//!
//! Every national id is a synthetic test number (month + 80, as in Tenor/Test-Norge) with
//! valid check digits; every name is drawn from lists of common Norwegian names.
#![warn(missing_docs)]

mod focus_groups;
mod people;
mod questionnaires;
mod random;
mod services;
mod text;

use chrono::NaiveDate;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

pub use people::Person;

/// What to generate.
#[derive(Debug, Clone)]
pub struct SampleConfig {
    /// Number of persons over all sites and arms (at least 20).
    pub persons: usize,
    /// RNG seed.
    pub seed: u64,
    /// End of the service-use data delivery.
    pub data_end: NaiveDate,
}

impl Default for SampleConfig {
    fn default() -> Self {
        SampleConfig {
            persons: 300,
            seed: 2020,
            data_end: NaiveDate::from_ymd_opt(2021, 12, 31).unwrap_or(NaiveDate::MIN),
        }
    }
}

/// One generated file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SampleFile {
    /// File name relative to the output folder.
    pub name: &'static str,
    /// Contents.
    pub bytes: Vec<u8>,
    /// One line on what the file is and which real export it imitates.
    pub description: &'static str,
}

/// Errors from the generator (only the xlsx and zip writers can fail).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SampleError {
    /// Fewer persons than the sites need.
    #[error("at least 20 persons are needed to fill every site, got {0}")]
    TooFewPersons(usize),
    /// The spreadsheet writer failed.
    #[error("writing the sample spreadsheet failed: {0}")]
    Xlsx(String),
    /// The zip writer failed.
    #[error("writing the sample REFI-QDA project failed: {0}")]
    Zip(String),
}

/// Generate every sample file.
pub fn generate(config: &SampleConfig) -> Result<Vec<SampleFile>, SampleError> {
    if config.persons < 20 {
        return Err(SampleError::TooFewPersons(config.persons));
    }
    let mut rng = ChaCha8Rng::seed_from_u64(config.seed);
    let persons = people::generate(&mut rng, config);
    let mut files = vec![SampleFile {
        name: "participants.csv",
        bytes: people::participants_csv(&persons),
        description: "inclusion list as Excel on a Norwegian PC saves CSV: UTF-8 with BOM, `;`, dd.mm.yyyy, CRLF",
    }];
    let events = services::generate(&mut rng, &persons, config.data_end);
    files.push(SampleFile {
        name: "service_events.csv",
        bytes: services::events_csv(&events),
        description: "hospital and municipal contacts and stays, one row each: `,`, ISO dates, decimal point",
    });
    files.push(SampleFile {
        name: "process_events.csv",
        bytes: services::process_csv(&mut rng, &persons, config.data_end),
        description: "the framework's step log (elements A–E) for pilot persons, with gaps",
    });
    files.extend(questionnaires::generate(&mut rng, &persons));
    let mut staff = String::from(
        "# Staff and coordinators who may be named in free text: scrubbed by deid (`deid.names_file`).\n",
    );
    for name in questionnaires::STAFF_NAMES {
        staff.push_str(name);
        staff.push('\n');
    }
    files.push(SampleFile {
        name: "staff_names.txt",
        bytes: staff.into_bytes(),
        description: "the project's list of staff names, one per line, for scrubbing free text",
    });
    files.extend(focus_groups::generate(&mut rng, &persons)?);
    // From a stream of its own: the files above do not change with it.
    files.push(focus_groups::second_team(config.seed, &persons));
    // Files added later draw from a stream forked last, so the files above keep their
    // bytes.
    files.extend(questionnaires::redcap_pacic(&mut fork_from(&mut rng), &persons));
    Ok(files)
}

/// A fresh RNG for a stream, derived from the main one, so adding draws to one file's
/// generator does not shift every later file.
fn fork_from(rng: &mut impl rand::Rng) -> ChaCha8Rng {
    ChaCha8Rng::seed_from_u64(rng.next_u64())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_bytes_other_seed_other_bytes() {
        let config = SampleConfig { persons: 40, ..SampleConfig::default() };
        let a = generate(&config).unwrap();
        let b = generate(&config).unwrap();
        assert_eq!(a, b);
        let c = generate(&SampleConfig { seed: 7, ..config }).unwrap();
        assert_ne!(a[0].bytes, c[0].bytes);
    }

    #[test]
    fn too_few_persons_is_an_error() {
        let err = generate(&SampleConfig { persons: 3, ..SampleConfig::default() }).unwrap_err();
        assert_eq!(err.to_string(), "at least 20 persons are needed to fill every site, got 3");
    }
}

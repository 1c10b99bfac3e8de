//! Zone 1 → zone 2: the de-identification of the canonical tables, and the
//! [`Deidentified`] type that only this crate can build.

use crate::rows::{
    DeidCoding, DeidParticipant, DeidProcessEvent, DeidResponse, DeidServiceCount, DeidServiceEvent,
};
use arrow_array::RecordBatch;
use chrono::{Datelike, NaiveDate};
use folge_schema::tables::{
    Coding, Participant, ProcessEvent, Response, ServiceCount, ServiceEvent,
};
use folge_schema::{NationalId, SchemaError, Table};

use crate::key::{IdMap, Key, Pseudonym};
use crate::scrub::{ScrubCounts, Scrubber};

/// Why de-identification refused or failed. Messages never contain an identifier.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DeidError {
    /// The demo key was used on ids that are not all synthetic.
    #[error(
        "the demo key is public and only allowed when every national id is a synthetic test number, but {count} of the participants' ids are not; create a key with `folge keygen --out FILE` and set `key` in the pipeline file to that file"
    )]
    DemoKeyOnRealIds {
        /// How many ids are not synthetic (or not national ids at all).
        count: usize,
    },
    /// A row refers to a person missing from participants (ingest prevents this).
    #[error("{table} row {row} refers to a person who is not in participants")]
    UnknownPerson {
        /// Table name.
        table: &'static str,
        /// 0-based row.
        row: usize,
    },
    /// A table read back from disk does not have the de-identified shape.
    #[error("{table}: {problem}")]
    NotDeidentified {
        /// Table name.
        table: &'static str,
        /// What is wrong.
        problem: String,
    },
    /// The research extract cannot be made as configured.
    #[error("research extract: {problem}")]
    Extract {
        /// What is wrong.
        problem: String,
    },
    /// A column mismatch while reading a table.
    #[error(transparent)]
    Schema(#[from] SchemaError),
}

/// Upper bounds (inclusive) of the age bands; the last band is open. Default
/// 0–5, 6–12, 13–17, 18–66, 67–79, 80+.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgeBands(pub Vec<u32>);

impl Default for AgeBands {
    fn default() -> Self {
        AgeBands(vec![5, 12, 17, 66, 79])
    }
}

impl AgeBands {
    /// The band label of an age: `0-5`, …, `80+`.
    pub fn label(&self, age: u32) -> String {
        let mut low = 0;
        for &high in &self.0 {
            if age <= high {
                return format!("{low}-{high}");
            }
            low = high + 1;
        }
        format!("{low}+")
    }

    /// Every band's label, youngest first (`0-5`, `6-12`, …, `80+`).
    pub fn labels(&self) -> Vec<String> {
        let mut labels = Vec::with_capacity(self.0.len() + 1);
        let mut low = 0;
        for &high in &self.0 {
            labels.push(format!("{low}-{high}"));
            low = high + 1;
        }
        labels.push(format!("{low}+"));
        labels
    }
}

/// Parameters of the deid stage.
#[derive(Debug, Clone)]
pub struct DeidParams {
    /// End of the data delivery; becomes `data_end_day` per person.
    pub data_end: NaiveDate,
    /// Age bands for age at inclusion.
    pub age_bands: AgeBands,
    /// Names to scrub besides the participants' (staff, relatives: a configured list).
    pub extra_names: Vec<String>,
    /// Free-text items whose text is dropped rather than scrubbed.
    pub drop_text: Vec<String>,
    /// Drop focus-group quotes rather than scrub them.
    pub drop_quotes: bool,
    /// Keep the quarter of inclusion besides the year.
    pub inclusion_quarter: bool,
    /// Keep focus-group coders' names; by default they become `coder 1`, `coder 2`, …
    /// (numbered in the order of their sorted names).
    pub keep_coder_names: bool,
}

impl DeidParams {
    /// Defaults for a delivery ending on `data_end`: default age bands, nothing dropped.
    pub fn new(data_end: NaiveDate) -> Self {
        DeidParams {
            data_end,
            age_bands: AgeBands::default(),
            extra_names: Vec::new(),
            drop_text: Vec::new(),
            drop_quotes: false,
            inclusion_quarter: false,
            keep_coder_names: false,
        }
    }
}

/// The identifiable (zone 1) tables the stage reads.
#[derive(Debug, Clone, Default)]
pub struct Identifiable {
    /// Participants.
    pub participants: Vec<Participant>,
    /// Service events.
    pub service_events: Vec<ServiceEvent>,
    /// Framework steps.
    pub process_events: Vec<ProcessEvent>,
    /// Questionnaire answers.
    pub responses: Vec<Response>,
    /// Focus-group codings.
    pub codings: Vec<Coding>,
    /// Pre-aggregated monthly service use.
    pub service_counts: Vec<ServiceCount>,
}

/// What de-identification did to free text, for the risk report.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct DeidReport {
    /// Replacements in questionnaire free text.
    pub responses: ScrubCounts,
    /// Replacements in focus-group quotes.
    pub codings: ScrubCounts,
    /// Response rows of identifier items (names, phones, addresses) not carried over.
    pub identifier_rows_dropped: u64,
    /// Free-text answers dropped by configuration.
    pub texts_dropped: u64,
}

/// De-identified (zone 2) tables. Only `folge-deid` can construct this type.
#[derive(Debug, Clone)]
pub struct Deidentified {
    participants: Vec<DeidParticipant>,
    service_events: Vec<DeidServiceEvent>,
    process_events: Vec<DeidProcessEvent>,
    responses: Vec<DeidResponse>,
    codings: Vec<DeidCoding>,
    service_counts: Vec<DeidServiceCount>,
    report: DeidReport,
}

impl Deidentified {
    /// Participants.
    pub fn participants(&self) -> &[DeidParticipant] {
        &self.participants
    }
    /// Service events.
    pub fn service_events(&self) -> &[DeidServiceEvent] {
        &self.service_events
    }
    /// Framework steps.
    pub fn process_events(&self) -> &[DeidProcessEvent] {
        &self.process_events
    }
    /// Questionnaire answers, free text scrubbed.
    pub fn responses(&self) -> &[DeidResponse] {
        &self.responses
    }
    /// Focus-group codings, quotes scrubbed.
    pub fn codings(&self) -> &[DeidCoding] {
        &self.codings
    }
    /// Monthly service use, months as days relative to inclusion.
    pub fn service_counts(&self) -> &[DeidServiceCount] {
        &self.service_counts
    }
    /// What was scrubbed and dropped (empty for tables read back from disk).
    pub fn report(&self) -> &DeidReport {
        &self.report
    }

    /// Re-admit tables read back from the deid stage's output. Refuses batches that carry
    /// an identifying column (`person_id`, `name`, `birth_date`, or any `*_date`) or a
    /// `pid` that is not a pseudonym, so an identifiable file cannot be passed off as
    /// de-identified.
    pub fn from_batches(
        participants: &[RecordBatch],
        service_events: &[RecordBatch],
        process_events: &[RecordBatch],
    ) -> Result<Self, DeidError> {
        check_columns("participants", participants)?;
        check_columns("service_events", service_events)?;
        check_columns("process_events", process_events)?;
        let tables = Deidentified {
            participants: DeidParticipant::from_batches(participants)?,
            service_events: DeidServiceEvent::from_batches(service_events)?,
            process_events: DeidProcessEvent::from_batches(process_events)?,
            responses: Vec::new(),
            codings: Vec::new(),
            service_counts: Vec::new(),
            report: DeidReport::default(),
        };
        Ok(tables)
    }

    /// Add the monthly counts read back from the deid output, with the same checks.
    pub fn with_service_counts(mut self, counts: &[RecordBatch]) -> Result<Self, DeidError> {
        check_columns("service_counts", counts)?;
        self.service_counts = DeidServiceCount::from_batches(counts)?;
        Ok(self)
    }

    /// Add the free-text tables read back from the deid output, with the same checks.
    pub fn with_text_tables(
        mut self,
        responses: &[RecordBatch],
        codings: &[RecordBatch],
    ) -> Result<Self, DeidError> {
        check_columns("responses", responses)?;
        check_columns("codings", codings)?;
        self.responses = DeidResponse::from_batches(responses)?;
        self.codings = DeidCoding::from_batches(codings)?;
        Ok(self)
    }
}

/// Refuse batches that carry an identifying column.
pub(crate) fn check_columns(table: &'static str, batches: &[RecordBatch]) -> Result<(), DeidError> {
    for batch in batches {
        for field in batch.schema().fields() {
            let name = field.name();
            if matches!(name.as_str(), "person_id" | "name") || name.ends_with("_date") {
                return Err(DeidError::NotDeidentified {
                    table,
                    problem: format!("has identifying column `{name}`"),
                });
            }
        }
    }
    Ok(())
}

/// The scrubber for an evaluation's free text: the participants' names, the names typed
/// into identifier items (a relative's name field), and the configured extra names.
pub fn scrubber_for(input: &Identifiable, params: &DeidParams) -> Scrubber {
    let identifier_words: Vec<&str> = input
        .responses
        .iter()
        .filter(|r| r.identifier)
        .filter_map(|r| r.text.as_deref())
        .flat_map(str::split_whitespace)
        .map(|w| w.trim_matches(|c: char| !c.is_alphabetic()))
        .filter(|w| w.chars().count() >= 2 && w.chars().all(char::is_alphabetic))
        .collect();
    Scrubber::new(
        input
            .participants
            .iter()
            .filter_map(|p| p.name.as_deref())
            .chain(identifier_words)
            .chain(params.extra_names.iter().map(String::as_str)),
    )
}

/// The fail-closed detector for an evaluation: the same names the scrubber gets (the
/// participants', those typed into identifier items, the configured extra names), with
/// the common-word names flagged only when capitalised. It shares no code with the
/// scrubber (see `detect.rs`).
pub fn detector_for(input: &Identifiable, params: &DeidParams) -> crate::Detector {
    let identifier_texts: Vec<&str> =
        input.responses.iter().filter(|r| r.identifier).filter_map(|r| r.text.as_deref()).collect();
    crate::Detector::new(
        input
            .participants
            .iter()
            .filter_map(|p| p.name.as_deref())
            .chain(identifier_texts)
            .chain(params.extra_names.iter().map(String::as_str)),
        crate::scrub::COMMON_WORD_NAMES.iter().copied(),
    )
}

/// What deid knows per person while converting the other tables.
struct PersonKey {
    pid: Pseudonym,
    inclusion: NaiveDate,
}

fn days(from: NaiveDate, to: NaiveDate) -> i32 {
    (to - from).num_days() as i32
}

/// Every participant's pseudonym, in order; a long list is shared out over the cores (an
/// HMAC each).
fn pseudonyms(key: &Key, participants: &[Participant]) -> Vec<Pseudonym> {
    let of = |part: &[Participant]| -> Vec<Pseudonym> {
        part.iter().map(|p| key.pseudonym(&p.person_id)).collect()
    };
    let threads = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
    if threads < 2 || participants.len() < 10_000 {
        return of(participants);
    }
    std::thread::scope(|scope| {
        let parts: Vec<_> = participants
            .chunks(participants.len().div_ceil(threads))
            .map(|part| scope.spawn(move || of(part)))
            .collect();
        let join = |part: std::thread::ScopedJoinHandle<'_, Vec<Pseudonym>>| {
            part.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic))
        };
        parts.into_iter().flat_map(join).collect()
    })
}

/// Each coder's zone-2 label: `coder 1`, `coder 2`, … in the order of their sorted source
/// and name, so the same delivery always numbers them alike. One coder keeps one label
/// across every segment of their source, so agreement statistics (which pair coders by
/// label within a source) are unchanged. A coder is their source and name: the same name
/// in two sources (two teams' projects) is two coders with two labels.
fn coder_labels(codings: &[Coding]) -> std::collections::BTreeMap<(&str, &str), String> {
    let names: std::collections::BTreeSet<(&str, &str)> =
        codings.iter().map(|c| (c.source.as_str(), c.coder.as_str())).collect();
    names.into_iter().enumerate().map(|(i, coder)| (coder, format!("coder {}", i + 1))).collect()
}

/// De-identify the zone-1 tables. Row counts are kept: one output row per input row.
pub fn deidentify(
    input: &Identifiable,
    params: &DeidParams,
    key: &Key,
) -> Result<Deidentified, DeidError> {
    if key.is_demo() {
        let count = input
            .participants
            .iter()
            .filter(|p| !NationalId::parse(&p.person_id).is_ok_and(|id| id.is_synthetic()))
            .count();
        if count > 0 {
            return Err(DeidError::DemoKeyOnRealIds { count });
        }
    }
    // Only looked up, never iterated: no order reaches an output.
    let mut persons: IdMap<&str, PersonKey> = IdMap::default();
    persons.reserve(input.participants.len());
    // A band's label is made once, not once per person.
    let mut labels: IdMap<u32, String> = IdMap::default();
    let mut participants = Vec::with_capacity(input.participants.len());
    for (p, pid) in input.participants.iter().zip(pseudonyms(key, &input.participants)) {
        let age_band = p.birth_date.map(|birth| {
            let mut age = p.inclusion_date.year() - birth.year();
            if (p.inclusion_date.month(), p.inclusion_date.day()) < (birth.month(), birth.day()) {
                age -= 1;
            }
            let age = age.max(0) as u32;
            labels.entry(age).or_insert_with(|| params.age_bands.label(age)).clone()
        });
        participants.push(DeidParticipant {
            pid,
            sex: p.sex,
            age_band,
            municipality: p.municipality.clone(),
            site: p.site.clone(),
            arm: p.arm,
            target_group: p.target_group.clone(),
            inclusion_year: p.inclusion_date.year(),
            inclusion_quarter: params
                .inclusion_quarter
                .then(|| (p.inclusion_date.month0() / 3 + 1) as i32),
            exit_day: p.exit_date.map(|d| days(p.inclusion_date, d)),
            exit_reason: p.exit_reason,
            data_end_day: days(p.inclusion_date, params.data_end),
        });
        persons.insert(&p.person_id, PersonKey { pid, inclusion: p.inclusion_date });
    }
    let person =
        |table, row, id: &str| persons.get(id).ok_or(DeidError::UnknownPerson { table, row });
    let service_events = input
        .service_events
        .iter()
        .enumerate()
        .map(|(row, e)| {
            let k = person("service_events", row, &e.person_id)?;
            Ok(DeidServiceEvent {
                pid: k.pid,
                service: e.service,
                start_day: days(k.inclusion, e.start_date),
                end_day: e.end_date.map(|d| days(k.inclusion, d)),
                quantity: e.quantity,
                acute: e.acute,
                start_minute: e.start_time,
                end_minute: e.end_time,
            })
        })
        .collect::<Result<Vec<_>, DeidError>>()?;
    let process_events = input
        .process_events
        .iter()
        .enumerate()
        .map(|(row, e)| {
            let k = person("process_events", row, &e.person_id)?;
            Ok(DeidProcessEvent {
                pid: k.pid,
                element: e.element.clone(),
                day: days(k.inclusion, e.date),
            })
        })
        .collect::<Result<Vec<_>, DeidError>>()?;
    let service_counts = input
        .service_counts
        .iter()
        .enumerate()
        .map(|(row, c)| {
            let k = person("service_counts", row, &c.person_id)?;
            // Ingest wrote the month as `YYYY-MM`.
            let first = NaiveDate::parse_from_str(&format!("{}-01", c.month), "%Y-%m-%d").map_err(
                |_| DeidError::NotDeidentified {
                    table: "service_counts",
                    problem: format!("row {row}: month is not YYYY-MM"),
                },
            )?;
            let next = first.checked_add_months(chrono::Months::new(1)).unwrap_or(first);
            Ok(DeidServiceCount {
                pid: k.pid,
                service: c.service,
                start_day: days(k.inclusion, first),
                end_day: days(k.inclusion, next) - 1,
                count: c.count,
                days: c.days,
                hours: c.hours,
            })
        })
        .collect::<Result<Vec<_>, DeidError>>()?;
    let scrubber = scrubber_for(input, params);
    let mut report = DeidReport::default();
    let mut responses = Vec::with_capacity(input.responses.len());
    for (row, r) in input.responses.iter().enumerate() {
        let k = person("responses", row, &r.person_id)?;
        if r.identifier {
            report.identifier_rows_dropped += 1;
            continue;
        }
        let text = match r.text.as_deref() {
            Some(_) if params.drop_text.contains(&r.item) => {
                report.texts_dropped += 1;
                None
            }
            Some(text) => {
                let (clean, counts) = scrubber.scrub(text);
                report.responses.merge(&counts);
                Some(clean)
            }
            None => None,
        };
        responses.push(DeidResponse {
            pid: k.pid,
            timepoint: r.timepoint.clone(),
            response_day: r.response_date.map(|d| days(k.inclusion, d)),
            instrument: r.instrument.clone(),
            item: r.item.clone(),
            value: r.value,
            text,
            value_day: r.value_date.map(|d| days(k.inclusion, d)),
        });
    }
    let coders = (!params.keep_coder_names).then(|| coder_labels(&input.codings));
    let codings = input
        .codings
        .iter()
        .map(|c| DeidCoding {
            source: c.source.clone(),
            focus_group: c.focus_group.clone(),
            municipality: c.municipality.clone(),
            role: c.role.clone(),
            coder: coders
                .as_ref()
                .and_then(|labels| labels.get(&(c.source.as_str(), c.coder.as_str())).cloned())
                .unwrap_or_else(|| c.coder.clone()),
            segment: c.segment.clone(),
            code: c.code.clone(),
            theme: c.theme.clone(),
            text: if params.drop_quotes {
                None
            } else {
                c.text.as_deref().map(|t| {
                    let (clean, counts) = scrubber.scrub(t);
                    report.codings.merge(&counts);
                    clean
                })
            },
        })
        .collect();
    Ok(Deidentified {
        participants,
        service_events,
        process_events,
        responses,
        codings,
        service_counts,
        report,
    })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use folge_schema::national_id::build;
    use folge_schema::{Arm, Service, Sex};

    fn date(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn person(id: String, birth: &str) -> Participant {
        Participant {
            person_id: id,
            name: Some("Kari Nordmann".into()),
            sex: Some(Sex::Female),
            birth_date: Some(date(birth)),
            municipality: "4601".into(),
            site: None,
            arm: Arm::Pilot,
            target_group: None,
            inclusion_date: date("2020-03-01"),
            exit_date: Some(date("2020-06-01")),
            exit_reason: None,
        }
    }

    fn synthetic(birth: &str) -> String {
        (0..500).find_map(|i| build(date(birth), i, 0, 80)).unwrap()
    }

    fn params() -> DeidParams {
        DeidParams::new(date("2021-12-31"))
    }

    #[test]
    fn a_long_list_gets_its_pseudonyms_in_order_from_several_threads() {
        let key = Key::demo();
        let list: Vec<Participant> =
            (0..10_007).map(|i| person(format!("id-{i}"), "1950-03-02")).collect();
        let one_by_one: Vec<Pseudonym> = list.iter().map(|p| key.pseudonym(&p.person_id)).collect();
        assert_eq!(pseudonyms(&key, &list), one_by_one);
        assert_eq!(pseudonyms(&key, &list[..3]), one_by_one[..3]);
    }

    #[test]
    fn dates_become_days_and_ids_pseudonyms() {
        let id = synthetic("1950-03-02");
        let input = Identifiable {
            participants: vec![person(id.clone(), "1950-03-02")],
            service_events: vec![ServiceEvent {
                person_id: id.clone(),
                service: Service::Inpatient,
                start_date: date("2020-02-28"),
                end_date: Some(date("2020-03-02")),
                quantity: None,
                acute: Some(true),
                start_time: None,
                end_time: None,
            }],
            // A date answer (a REDCap date field) becomes a day like every other date.
            responses: vec![Response {
                person_id: id.clone(),
                timepoint: "T0".into(),
                response_date: Some(date("2020-03-05")),
                instrument: "besok".into(),
                item: "besok_dato".into(),
                value: None,
                text: None,
                identifier: false,
                value_date: Some(date("2020-02-20")),
            }],
            ..Identifiable::default()
        };
        let out = deidentify(&input, &params(), &Key::demo()).unwrap();
        let r = &out.responses()[0];
        assert_eq!((r.response_day, r.value_day, r.text.as_deref()), (Some(4), Some(-10), None));
        let p = &out.participants()[0];
        // 69 on 2020-03-01: the birthday (03-02) has not yet come.
        assert_eq!(p.age_band.as_deref(), Some("67-79"));
        assert_eq!((p.exit_day, p.data_end_day, p.inclusion_year), (Some(92), 670, 2020));
        assert_eq!(p.inclusion_quarter, None, "kept only when asked for");
        let quarters = DeidParams { inclusion_quarter: true, ..params() };
        let out = deidentify(&input, &quarters, &Key::demo()).unwrap();
        assert_eq!(out.participants()[0].inclusion_quarter, Some(1), "1 March is in Q1");
        let e = &out.service_events()[0];
        assert_eq!((e.start_day, e.end_day), (-2, Some(1)));
        assert_eq!(e.pid, p.pid);
        assert_ne!(p.pid.to_string(), id);
    }

    #[test]
    fn demo_key_refuses_real_ids() {
        let real = (0..500).find_map(|i| build(date("1950-03-02"), i, 0, 0)).unwrap();
        let input = Identifiable {
            participants: vec![
                person(real.clone(), "1950-03-02"),
                person(synthetic("1950-03-02"), "1950-03-02"),
            ],
            ..Identifiable::default()
        };
        let err = deidentify(&input, &params(), &Key::demo()).unwrap_err();
        assert!(err.to_string().contains("but 1 of the participants' ids are not"));
        assert!(!err.to_string().contains(&real));
        assert!(deidentify(&input, &params(), &Key::generate().unwrap()).is_ok());
        // The demo key's bytes from a key file are the demo key.
        let from_file = Key::from_hex(&Key::demo().to_hex()).unwrap();
        assert!(matches!(
            deidentify(&input, &params(), &from_file),
            Err(DeidError::DemoKeyOnRealIds { count: 1 })
        ));
    }

    #[test]
    fn coders_become_numbered_unless_their_names_are_kept() {
        let coding = |coder: &str, segment: &str| Coding {
            source: "codings".into(),
            focus_group: "FG1".into(),
            municipality: Some("4601".into()),
            role: Some("leder".into()),
            coder: coder.into(),
            segment: segment.into(),
            code: "Tid".into(),
            theme: None,
            text: None,
        };
        let input = Identifiable {
            codings: vec![
                coding("Trude Hansen", "s1"),
                coding("Anne Berg", "s1"),
                coding("Trude Hansen", "s2"),
            ],
            ..Identifiable::default()
        };
        let coders = |params: &DeidParams| -> Vec<String> {
            let out = deidentify(&input, params, &Key::demo()).unwrap();
            out.codings().iter().map(|c| c.coder.clone()).collect()
        };
        // Numbered in the order of the sorted names: Anne Berg before Trude Hansen.
        assert_eq!(coders(&params()), ["coder 2", "coder 1", "coder 2"]);
        let keep = DeidParams { keep_coder_names: true, ..params() };
        assert_eq!(coders(&keep), ["Trude Hansen", "Anne Berg", "Trude Hansen"]);
        // The same name in a second source is another coder, with a label of its own;
        // the first source's labels stay as they were.
        let mut two = input.clone();
        two.codings.push(Coding { source: "team Voss".into(), ..coding("Anne Berg", "s1") });
        let out = deidentify(&two, &params(), &Key::demo()).unwrap();
        let labelled: Vec<(&str, &str)> =
            out.codings().iter().map(|c| (c.source.as_str(), c.coder.as_str())).collect();
        assert_eq!(
            labelled,
            [
                ("codings", "coder 2"),
                ("codings", "coder 1"),
                ("codings", "coder 2"),
                ("team Voss", "coder 3"),
            ]
        );
    }

    #[test]
    fn age_bands() {
        let bands = AgeBands::default();
        let labels: Vec<String> =
            [0, 5, 6, 17, 18, 66, 67, 79, 80, 104].map(|a| bands.label(a)).to_vec();
        assert_eq!(
            labels,
            ["0-5", "0-5", "6-12", "13-17", "18-66", "18-66", "67-79", "67-79", "80+", "80+"]
        );
    }

    #[test]
    fn identifiable_batches_are_refused() {
        let input = Identifiable {
            participants: vec![person(synthetic("1950-03-02"), "1950-03-02")],
            ..Default::default()
        };
        let zone1 = Participant::to_batch(&input.participants).unwrap();
        let err = Deidentified::from_batches(&[zone1], &[], &[]).unwrap_err();
        assert_eq!(err.to_string(), "participants: has identifying column `person_id`");
        let out = deidentify(&input, &params(), &Key::demo()).unwrap();
        let mut rows = out.participants().to_vec();
        let ok = DeidParticipant::to_batch(&rows).unwrap();
        assert!(Deidentified::from_batches(&[ok], &[], &[]).is_ok());
        // A `pid` column that holds a national id: the typed column refuses it, unshown.
        let id = synthetic("1950-03-02");
        let bad = with_pid_text(&DeidParticipant::to_batch(&rows).unwrap(), &id);
        let err = Deidentified::from_batches(&[bad], &[], &[]).unwrap_err().to_string();
        assert!(err.contains("not a pseudonym"), "{err}");
        assert!(!err.contains(&id), "{err}");
        rows.clear();
    }

    /// The batch with every `pid` replaced by `text` (what no row type can hold).
    pub(crate) fn with_pid_text(batch: &RecordBatch, text: &str) -> RecordBatch {
        let at = batch.schema().index_of("pid").unwrap();
        let mut columns = batch.columns().to_vec();
        columns[at] =
            std::sync::Arc::new(arrow_array::StringArray::from(vec![text; batch.num_rows()]));
        RecordBatch::try_new(batch.schema(), columns).unwrap()
    }
}

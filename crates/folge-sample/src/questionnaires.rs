//! Questionnaires at T0 (inclusion) and T1 (about a year later), with the attrition real
//! pilots see, in the two shapes they really arrive in:
//! - Nettskjema's current CSV report of a PACIC form (20 items, 1–5), one file per
//!   timepoint: `;`-delimited, every field quoted, `$submission_id`, `$created` with
//!   offset, checkbox options as `question.option` 0/1 columns, `$answer_time_ms` last;
//! - a `REDCap` longitudinal export of an EQ-5D-like form (five dimensions coded 1–5 and a
//!   0–100 VAS; level codes only, never the licensed item text), with checkbox
//!   `field___code` columns, `redcap_event_name`, `<form>_complete`, and the 18-column
//!   data dictionary, where the national id field is marked `Identifier? = y`;
//! - a second `REDCap` project, the hospital's, in which the adults of Vårdanalys group 4
//!   (Haukeland's pilot and Øygarden's comparison group) answered PACIC as a form of its
//!   own (`pacic_voksne`: 20 radio fields coded 1–5 with PACIC's answer labels as
//!   choices), at T0 and T1: the instrument the pipeline scores through the dictionary
//!   and a small file of scale definitions. Drawn from its own random stream (see
//!   [`redcap_pacic`]), so the files above are the same bytes with or without it.
//!
//! Free-text comments sometimes name a person or give a phone number, as real ones do.

use chrono::{Datelike, Duration, NaiveDate, Weekday};
use folge_schema::Arm;
use rand::Rng;

use crate::SampleFile;
use crate::people::Person;
use crate::random::{chance, int, normal, pick};
use crate::text::{Dialect, PLAIN, csv};

const NETTSKJEMA: Dialect = Dialect { delimiter: ';', quote_all: true, bom: false, crlf: false };

/// Staff names that appear in comments and quotes but not in the participant register:
/// the deid stage scrubs them through its configurable name list.
pub const STAFF_NAMES: &[&str] =
    &["Trude Helland", "Gunnar Mjelde", "Siri Vågen", "Rolf Hatlestad", "Mona Kleppe"];

/// Generate the questionnaire files.
pub fn generate(rng: &mut impl Rng, persons: &[Person]) -> Vec<SampleFile> {
    let mut rng = crate::fork_from(rng);
    let mut t0 = Vec::new();
    let mut t1 = Vec::new();
    let mut redcap = Vec::new();
    for (i, person) in persons.iter().enumerate() {
        // Latent experience of coordinated care; the pilot raises it at T1.
        let latent = 2.6 + 0.6 * normal(&mut rng);
        let gain = if person.arm == Arm::Pilot { 0.55 } else { 0.05 };
        let answered_t0 = chance(&mut rng, 0.82);
        let answered_t1 = answered_t0 && chance(&mut rng, 0.62) && person.exit.is_none();
        let t0_date = person.inclusion_date + Duration::days(int(&mut rng, 0, 20));
        let t1_date = person.inclusion_date + Duration::days(int(&mut rng, 350, 400));
        if answered_t0 {
            t0.push(pacic_row(&mut rng, persons, person, latent, 30_000 + i, t0_date));
        }
        if answered_t1 {
            t1.push(pacic_row(&mut rng, persons, person, latent + gain, 40_000 + i, t1_date));
        }
        if person.target_group != "barn" && answered_t0 {
            let health = 2.2 + 0.7 * normal(&mut rng);
            redcap.push(eq5d_row(&mut rng, persons, person, i, "t0_arm_1", health));
            if answered_t1 {
                let health = health - if person.arm == Arm::Pilot { 0.3 } else { 0.0 };
                redcap.push(eq5d_row(&mut rng, persons, person, i, "t1_arm_1", health));
            }
        }
    }
    let header = pacic_header();
    vec![
        SampleFile {
            name: "nettskjema_pacic_T0.csv",
            bytes: csv(NETTSKJEMA, &[vec![header.clone()], t0].concat()),
            description: "PACIC at T0 as Nettskjema's CSV report: `;`, all fields quoted, `$submission_id`, checkbox `kontakt.*` columns",
        },
        SampleFile {
            name: "nettskjema_pacic_T1.csv",
            bytes: csv(NETTSKJEMA, &[vec![header], t1].concat()),
            description: "PACIC at T1, same form, fewer respondents (attrition)",
        },
        SampleFile {
            name: "redcap_eq5d_data.csv",
            bytes: csv(PLAIN, &[vec![eq5d_header()], redcap].concat()),
            description: "EQ-5D-like levels and VAS as a REDCap raw export: `redcap_event_name` t0/t1, checkbox `hjelp___N`, `eq5d_complete`",
        },
        SampleFile {
            name: "redcap_eq5d_dictionary.csv",
            bytes: csv(PLAIN, &redcap_dictionary()),
            description: "the REDCap data dictionary (18 columns) for the EQ-5D-like export; `fnr` is an identifier",
        },
    ]
}

fn pacic_header() -> Vec<String> {
    let mut h =
        vec!["$submission_id".to_owned(), "$created".to_owned(), "fodselsnummer".to_owned()];
    h.extend((1..=20).map(|i| format!("pacic_{i}")));
    h.extend(["kontakt.fastlege", "kontakt.hjemmesykepleie", "kontakt.sykehus"].map(str::to_owned));
    h.push("kommentar".to_owned());
    h.push("$answer_time_ms".to_owned());
    h
}

fn pacic_row(
    rng: &mut impl Rng,
    persons: &[Person],
    person: &Person,
    latent: f64,
    submission: usize,
    date: NaiveDate,
) -> Vec<String> {
    let created = format!(
        "{}T{:02}:{:02}:{:02}{}",
        date,
        int(rng, 8, 21),
        int(rng, 0, 59),
        int(rng, 0, 59),
        oslo_offset(date)
    );
    let mut row = vec![submission.to_string(), created, person.person_id.clone()];
    for _ in 0..20 {
        if chance(rng, 0.05) {
            row.push(String::new());
        } else {
            let v = (latent + 0.8 * normal(rng)).round().clamp(1.0, 5.0) as i64;
            row.push(v.to_string());
        }
    }
    for p in [0.8, 0.4, 0.5] {
        row.push(if chance(rng, p) { "1" } else { "0" }.to_owned());
    }
    row.push(comment(rng, persons, person));
    row.push(int(rng, 90_000, 900_000).to_string());
    row
}

/// Europe/Oslo's UTC offset on a date: summer time from the last Sunday of March to the
/// last Sunday of October (switch hours ignored: submissions are in daytime).
fn oslo_offset(date: NaiveDate) -> &'static str {
    let last_sunday = |month: u32| {
        let mut d = NaiveDate::from_ymd_opt(date.year(), month, 31).unwrap_or(date);
        while d.weekday() != Weekday::Sun {
            d -= Duration::days(1);
        }
        d
    };
    if date >= last_sunday(3) && date < last_sunday(10) { "+02:00" } else { "+01:00" }
}

/// A free-text comment: often empty, sometimes naming a person or giving a phone number.
pub fn comment(rng: &mut impl Rng, persons: &[Person], person: &Person) -> String {
    let other = pick(rng, persons);
    let staff = *pick(rng, STAFF_NAMES);
    match int(rng, 0, 11) {
        0..=4 => String::new(),
        5 => format!("Koordinatoren {staff} har vært til stor hjelp."),
        6 => format!("Ring meg gjerne på {} om noe er uklart.", spaced_phone(&person.phone)),
        7 => format!("{} og jeg fikk endelig en felles plan.", other.first_name),
        8 => "Fastlegen følger meg opp to ganger per uke, det fungerer bra.".to_owned(),
        9 => format!("Jeg heter {} og ønsker mer informasjon.", person.full_name()),
        10 => "Vanskelig å vite hvem jeg skal ringe når noe skjer.".to_owned(),
        _ => format!("Takk til {}s team på sykehuset.", staff.split(' ').next().unwrap_or(staff)),
    }
}

/// 8-digit number as people write it: `91 23 45 67`, `+47 91234567` or plain.
fn spaced_phone(phone: &str) -> String {
    match phone.as_bytes()[7] % 3 {
        0 => format!("{} {} {} {}", &phone[0..2], &phone[2..4], &phone[4..6], &phone[6..8]),
        1 => format!("+47 {phone}"),
        _ => phone.to_owned(),
    }
}

fn eq5d_header() -> Vec<String> {
    [
        "record_id",
        "redcap_event_name",
        "fnr",
        "eq_mob",
        "eq_care",
        "eq_act",
        "eq_pain",
        "eq_anx",
        "eq_vas",
        "hjelp___1",
        "hjelp___2",
        "hjelp___3",
        "kommentar",
        "eq5d_complete",
    ]
    .map(str::to_owned)
    .to_vec()
}

fn eq5d_row(
    rng: &mut impl Rng,
    persons: &[Person],
    person: &Person,
    index: usize,
    event: &str,
    health: f64,
) -> Vec<String> {
    let mut row = vec![(1001 + index).to_string(), event.to_owned(), person.person_id.clone()];
    for _ in 0..5 {
        if chance(rng, 0.03) {
            row.push(String::new());
        } else {
            row.push(((health + 0.9 * normal(rng)).round().clamp(1.0, 5.0) as i64).to_string());
        }
    }
    let vas = (100.0 - health * 15.0 + 10.0 * normal(rng)).round().clamp(0.0, 100.0) as i64;
    row.push(vas.to_string());
    for p in [0.7, 0.3, 0.1] {
        row.push(if chance(rng, p) { "1" } else { "0" }.to_owned());
    }
    row.push(comment(rng, persons, person));
    row.push(if chance(rng, 0.95) { "2" } else { "0" }.to_owned());
    row
}

/// The hospital's `REDCap` PACIC project: a raw export (`record_id`,
/// `redcap_event_name`, `fnr`, `pacic_1` … `pacic_20`, `pacic_voksne_complete`) and its
/// data dictionary. `rng` is a stream of its own, forked after every other file is drawn.
pub fn redcap_pacic(rng: &mut impl Rng, persons: &[Person]) -> Vec<SampleFile> {
    let mut rows = vec![pacic_voksne_header()];
    let mut record = 0;
    for person in persons.iter().filter(|p| p.target_group == "4") {
        if !chance(rng, 0.85) {
            continue;
        }
        record += 1;
        // Experience of coordinated care; the hospital's pilot raises it by T1.
        let latent = 2.5 + 0.6 * normal(rng);
        let gain = if person.arm == Arm::Pilot { 0.5 } else { 0.05 };
        rows.push(pacic_voksne_row(rng, person, record, "t0_arm_1", latent));
        if person.exit.is_none() && chance(rng, 0.7) {
            rows.push(pacic_voksne_row(rng, person, record, "t1_arm_1", latent + gain));
        }
    }
    vec![
        SampleFile {
            name: "redcap_pacic_data.csv",
            bytes: csv(PLAIN, &rows),
            description: "PACIC for the adults of target group 4 as the hospital's REDCap project exports it: `record_id`, `redcap_event_name` t0/t1, `pacic_1` … `pacic_20`, `pacic_voksne_complete`",
        },
        SampleFile {
            name: "redcap_pacic_dictionary.csv",
            bytes: csv(PLAIN, &pacic_voksne_dictionary()),
            description: "the REDCap data dictionary (18 columns) of the PACIC project: form `pacic_voksne`, 20 radio fields with PACIC's five answers as choices; `fnr` is an identifier",
        },
    ]
}

/// The form's name in the hospital's `REDCap` project.
const PACIC_FORM: &str = "pacic_voksne";

fn pacic_voksne_header() -> Vec<String> {
    let mut h = vec!["record_id".to_owned(), "redcap_event_name".to_owned(), "fnr".to_owned()];
    h.extend((1..=20).map(|i| format!("pacic_{i}")));
    h.push(format!("{PACIC_FORM}_complete"));
    h
}

fn pacic_voksne_row(
    rng: &mut impl Rng,
    person: &Person,
    record: usize,
    event: &str,
    latent: f64,
) -> Vec<String> {
    let mut row = vec![record.to_string(), event.to_owned(), person.person_id.clone()];
    for _ in 0..20 {
        if chance(rng, 0.04) {
            row.push(String::new());
        } else {
            row.push(((latent + 0.8 * normal(rng)).round().clamp(1.0, 5.0) as i64).to_string());
        }
    }
    // REDCap's form status: 2 Complete, 1 Unverified, 0 Incomplete.
    row.push(if chance(rng, 0.93) { "2" } else { "1" }.to_owned());
    row
}

/// The 18 columns of a `REDCap` data dictionary, as *Project Setup → Data Dictionary*
/// downloads it.
const DICTIONARY_HEADER: [&str; 18] = [
    "Variable / Field Name",
    "Form Name",
    "Section Header",
    "Field Type",
    "Field Label",
    "Choices, Calculations, OR Slider Labels",
    "Field Note",
    "Text Validation Type OR Show Slider Number",
    "Text Validation Min",
    "Text Validation Max",
    "Identifier?",
    "Branching Logic (Show field only if...)",
    "Required Field?",
    "Custom Alignment",
    "Question Number (surveys only)",
    "Matrix Group Name",
    "Matrix Ranking?",
    "Field Annotation",
];

fn pacic_voksne_dictionary() -> Vec<Vec<String>> {
    let answers = "1, Nesten aldri | 2, Sjelden | 3, Av og til | 4, Som oftest | 5, Nesten alltid";
    let lead_in = "De siste 6 månedene, når jeg fikk helsehjelp for min kroniske sykdom, ble jeg …";
    // The 18 columns in order: name, form, section header, type, label, choices, note,
    // validation, min, max, identifier, branching, required, alignment, question number,
    // matrix group, matrix ranking, annotation.
    let row = |cells: [&str; 18]| cells.map(str::to_owned).to_vec();
    let form = PACIC_FORM;
    let mut rows = vec![
        row(DICTIONARY_HEADER),
        row([
            "record_id",
            form,
            "",
            "text",
            "Studie-ID",
            "",
            "",
            "",
            "",
            "",
            "",
            "",
            "",
            "",
            "",
            "",
            "",
            "",
        ]),
        row([
            "fnr",
            form,
            "",
            "text",
            "Fødselsnummer",
            "",
            "",
            "",
            "",
            "",
            "y",
            "",
            "",
            "",
            "",
            "",
            "",
            "",
        ]),
    ];
    for i in 1..=20 {
        let (name, label) = (format!("pacic_{i}"), format!("PACIC spørsmål {i}"));
        // Required radio fields in one REDCap matrix, under the instrument's lead-in.
        let section = if i == 1 { lead_in } else { "" };
        rows.push(row([
            &name, form, section, "radio", &label, answers, "", "", "", "", "", "", "y", "", "",
            "pacic", "", "",
        ]));
    }
    rows
}

fn redcap_dictionary() -> Vec<Vec<String>> {
    let levels = "1, Nivå 1 | 2, Nivå 2 | 3, Nivå 3 | 4, Nivå 4 | 5, Nivå 5";
    let field = |name: &str,
                 ftype: &str,
                 label: &str,
                 choices: &str,
                 validation: (&str, &str, &str),
                 identifier: bool| {
        let matrix = if name.starts_with("eq_") && ftype == "radio" { "eq5d_levels" } else { "" };
        let identifier = if identifier { "y" } else { "" };
        // The 18 dictionary columns, in order; empty ones are not used by this form.
        [
            name,
            "eq5d",
            "",
            ftype,
            label,
            choices,
            "",
            validation.0,
            validation.1,
            validation.2,
            identifier,
            "",
            "",
            "",
            "",
            matrix,
            "",
            "",
        ]
        .map(str::to_owned)
        .to_vec()
    };
    let none = ("", "", "");
    vec![
        DICTIONARY_HEADER.map(str::to_owned).to_vec(),
        field("record_id", "text", "Studie-ID", "", none, false),
        field("fnr", "text", "Fødselsnummer", "", none, true),
        field("eq_mob", "radio", "Dimensjon 1 (mobilitet): nivåkode", levels, none, false),
        field("eq_care", "radio", "Dimensjon 2 (personlig stell): nivåkode", levels, none, false),
        field("eq_act", "radio", "Dimensjon 3 (vanlige gjøremål): nivåkode", levels, none, false),
        field("eq_pain", "radio", "Dimensjon 4 (smerte/ubehag): nivåkode", levels, none, false),
        field("eq_anx", "radio", "Dimensjon 5 (angst/depresjon): nivåkode", levels, none, false),
        field("eq_vas", "text", "VAS 0–100", "", ("integer", "0", "100"), false),
        field(
            "hjelp",
            "checkbox",
            "Hvem fylte ut skjemaet?",
            "1, Selv | 2, Pårørende | 3, Helsepersonell",
            none,
            false,
        ),
        field("kommentar", "notes", "Kommentar", "", none, false),
    ]
}

//! The sample's persons: four pilot sites and two comparison municipalities, synthetic
//! national ids, Norwegian names, inclusion over 2020, a few exits, and a frailty that
//! drives each person's service use (heavy-tailed, so a few persons carry much of it).

use chrono::{Datelike, Duration, NaiveDate};
use folge_schema::national_id;
use folge_schema::{Arm, ExitReason, Sex};
use rand::Rng;

use crate::SampleConfig;
use crate::random::{chance, int, normal, pick, uniform};
use crate::text::{Dialect, csv, date_nb};

/// One synthetic person.
#[derive(Debug, Clone)]
pub struct Person {
    /// Synthetic fødselsnummer (month + 80).
    pub person_id: String,
    /// First name.
    pub first_name: String,
    /// Surname.
    pub surname: String,
    /// Sex.
    pub sex: Sex,
    /// Birth date.
    pub birth_date: NaiveDate,
    /// Kommunenummer.
    pub municipality: &'static str,
    /// Pilot unit.
    pub site: &'static str,
    /// Arm.
    pub arm: Arm,
    /// Target group.
    pub target_group: &'static str,
    /// Inclusion (index) date.
    pub inclusion_date: NaiveDate,
    /// Exit, if any.
    pub exit: Option<(NaiveDate, ExitReason)>,
    /// Multiplier of service-use rates (log-normal, heavy right tail).
    pub frailty: f64,
    /// Mobile number (8 digits), for free text that mentions it.
    pub phone: String,
}

impl Person {
    /// "First Last".
    pub fn full_name(&self) -> String {
        format!("{} {}", self.first_name, self.surname)
    }
    /// Age in whole years at a date.
    pub fn age_at(&self, date: NaiveDate) -> i32 {
        let mut age = date.year() - self.birth_date.year();
        if (date.month(), date.day()) < (self.birth_date.month(), self.birth_date.day()) {
            age -= 1;
        }
        age
    }
}

/// A group of persons generated alike.
struct Cohort {
    municipality: &'static str,
    site: &'static str,
    arm: Arm,
    target_group: &'static str,
    /// Share of all persons.
    share: f64,
    /// Birth years, inclusive.
    born: (i32, i32),
}

/// Pilots as in Helse Bergen's LKT project (children in Bergen and Lindås, now Alver;
/// elderly in Os, now Bjørnafjorden; adults followed from Haukeland) and two comparison
/// municipalities in the same region.
const COHORTS: &[Cohort] = &[
    Cohort {
        municipality: "4601",
        site: "Bergen barn",
        arm: Arm::Pilot,
        target_group: "barn",
        share: 0.18,
        born: (2005, 2017),
    },
    Cohort {
        municipality: "4631",
        site: "Alver barn",
        arm: Arm::Pilot,
        target_group: "barn",
        share: 0.12,
        born: (2005, 2017),
    },
    Cohort {
        municipality: "4624",
        site: "Bjørnafjorden eldre",
        arm: Arm::Pilot,
        target_group: "eldre",
        share: 0.20,
        born: (1924, 1948),
    },
    Cohort {
        municipality: "4601",
        site: "Haukeland voksne",
        arm: Arm::Pilot,
        target_group: "4",
        share: 0.13,
        born: (1950, 1985),
    },
    Cohort {
        municipality: "4627",
        site: "Askøy",
        arm: Arm::Comparison,
        target_group: "eldre",
        share: 0.17,
        born: (1924, 1948),
    },
    Cohort {
        municipality: "4626",
        site: "Øygarden",
        arm: Arm::Comparison,
        target_group: "barn",
        share: 0.12,
        born: (2005, 2017),
    },
    Cohort {
        municipality: "4626",
        site: "Øygarden",
        arm: Arm::Comparison,
        target_group: "4",
        share: 0.08,
        born: (1950, 1985),
    },
];

const FEMALE: &[&str] = &[
    "Anne", "Inger", "Kari", "Marit", "Ingrid", "Liv", "Eva", "Berit", "Astrid", "Bjørg", "Hilde",
    "Solveig", "Randi", "Nora", "Emma", "Ingeborg", "Sofie", "Maja", "Ella", "Sigrid", "Åse",
    "Gerd", "Turid", "Ragnhild", "Tone", "Aud", "Synnøve", "Vilde", "Hedda", "Frida",
];
const MALE: &[&str] = &[
    "Jan", "Per", "Bjørn", "Ole", "Lars", "Kjell", "Knut", "Arne", "Svein", "Hans", "Geir", "Tor",
    "Jon", "Terje", "Dag", "Odd", "Magnus", "Jakob", "Emil", "Noah", "Oskar", "Henrik", "Filip",
    "Aksel", "Sverre", "Øyvind", "Håkon", "Rune", "Einar", "Leif",
];
const SURNAMES: &[&str] = &[
    "Hansen",
    "Johansen",
    "Olsen",
    "Larsen",
    "Andersen",
    "Pedersen",
    "Nilsen",
    "Kristiansen",
    "Jensen",
    "Karlsen",
    "Johnsen",
    "Pettersen",
    "Eriksen",
    "Berg",
    "Haugen",
    "Hagen",
    "Johannessen",
    "Andreassen",
    "Jacobsen",
    "Dahl",
    "Jørgensen",
    "Halvorsen",
    "Lund",
    "Sørensen",
    "Mikkelsen",
    "Tveit",
    "Haukeland",
    "Sæther",
    "Bakke",
    "Moen",
    "Strand",
    "Kvamme",
    "Nygård",
    "Solheim",
    "Lie",
    "Fjeld",
    "Øvrebø",
    "Aasen",
    "Vik",
    "Brekke",
];

/// Generate the persons, cohort by cohort, every cohort non-empty.
pub fn generate(rng: &mut impl Rng, config: &SampleConfig) -> Vec<Person> {
    let mut persons = Vec::with_capacity(config.persons);
    let mut assigned = 0usize;
    for (i, cohort) in COHORTS.iter().enumerate() {
        let n = if i + 1 == COHORTS.len() {
            config.persons - assigned
        } else {
            ((config.persons as f64 * cohort.share).round() as usize).max(2)
        };
        assigned += n;
        for _ in 0..n {
            persons.push(person(rng, cohort, config.data_end));
        }
    }
    persons
}

fn person(rng: &mut impl Rng, cohort: &Cohort, data_end: NaiveDate) -> Person {
    let sex = if chance(rng, 0.5) { Sex::Female } else { Sex::Male };
    let year = int(rng, i64::from(cohort.born.0), i64::from(cohort.born.1)) as i32;
    let birth_date =
        NaiveDate::from_yo_opt(year, int(rng, 1, 365) as u32).unwrap_or(NaiveDate::MIN);
    let person_id = synthetic_id(rng, birth_date, sex);
    let first_name = (*pick(rng, if sex == Sex::Female { FEMALE } else { MALE })).to_owned();
    let surname = (*pick(rng, SURNAMES)).to_owned();
    let inclusion_date = NaiveDate::from_ymd_opt(2020, 1, 1).unwrap_or(NaiveDate::MIN)
        + Duration::days(int(rng, 0, 365));
    let elderly = cohort.target_group == "eldre";
    let exit = if chance(rng, if elderly { 0.12 } else { 0.02 }) {
        let day = inclusion_date + Duration::days(int(rng, 10, 540));
        (day < data_end).then_some((day, ExitReason::Death))
    } else if chance(rng, 0.04) {
        let day = inclusion_date + Duration::days(int(rng, 30, 500));
        let reason = if chance(rng, 0.7) { ExitReason::Moved } else { ExitReason::Withdrew };
        (day < data_end).then_some((day, reason))
    } else {
        None
    };
    // log-normal with σ = 1.1: the top few percent carry a large share of use.
    let frailty = (1.1 * normal(rng) - 0.6).exp() * if elderly { 1.6 } else { 1.0 };
    let phone = format!("{}{:07}", if chance(rng, 0.5) { 4 } else { 9 }, int(rng, 0, 9_999_999));
    Person {
        person_id,
        first_name,
        surname,
        sex,
        birth_date,
        municipality: cohort.municipality,
        site: cohort.site,
        arm: cohort.arm,
        target_group: cohort.target_group,
        inclusion_date,
        exit,
        frailty,
        phone,
    }
}

/// A synthetic fødselsnummer (month + 80) whose individual number matches the century of
/// birth and whose ninth digit matches the sex.
fn synthetic_id(rng: &mut impl Rng, birth: NaiveDate, sex: Sex) -> String {
    let (lo, hi) = if birth.year() >= 2000 { (500, 999) } else { (0, 499) };
    loop {
        let mut ind = int(rng, lo, hi) as u16;
        let odd = ind % 2 == 1;
        if odd != (sex == Sex::Male) {
            ind = if ind == hi as u16 { ind - 1 } else { ind + 1 };
        }
        if let Some(id) = national_id::build(birth, ind, 0, 80) {
            return id;
        }
    }
}

/// participants.csv as Excel on a Norwegian PC saves "CSV UTF-8": BOM, `;`, CRLF,
/// dd.mm.yyyy. Sex and birth date are left empty for one in six persons, as registers
/// sometimes deliver only the id (ingest derives them).
pub fn participants_csv(persons: &[Person]) -> Vec<u8> {
    let header = [
        "person_id",
        "name",
        "sex",
        "birth_date",
        "municipality",
        "site",
        "arm",
        "target_group",
        "inclusion_date",
        "exit_date",
        "exit_reason",
    ];
    let mut rows = vec![header.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>()];
    for (i, p) in persons.iter().enumerate() {
        let derive = i % 6 == 5;
        rows.push(vec![
            p.person_id.clone(),
            p.full_name(),
            if derive { String::new() } else { p.sex.code().to_owned() },
            if derive { String::new() } else { date_nb(p.birth_date) },
            p.municipality.to_owned(),
            p.site.to_owned(),
            p.arm.code().to_owned(),
            p.target_group.to_owned(),
            date_nb(p.inclusion_date),
            p.exit.map(|(d, _)| date_nb(d)).unwrap_or_default(),
            p.exit.map(|(_, r)| r.code().to_owned()).unwrap_or_default(),
        ]);
    }
    let excel = Dialect { delimiter: ';', quote_all: false, bom: true, crlf: true };
    csv(excel, &rows)
}

/// Uniform day in `[from, to)`; `from` when empty.
pub fn day_between(rng: &mut impl Rng, from: NaiveDate, to: NaiveDate) -> NaiveDate {
    let span = (to - from).num_days();
    if span <= 0 { from } else { from + Duration::days((uniform(rng) * span as f64) as i64) }
}

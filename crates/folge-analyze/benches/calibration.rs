//! Calibration study of folge's interval estimates (issue 14, item 6): do the 95 %
//! intervals in `comparisons` (and in `rates`, once `RateRow` has `ci_low`/`ci_high`)
//! cover the truth 95 % of the time on data shaped like a real pilot?
//!
//! A seeded generator of its own (not folge-sample) makes zone-1 tables — two arms,
//! persons whose service use differs a lot (gamma frailty), stays with readmissions that
//! cluster after a discharge, heavy-tailed home-care hours, deaths and moves that cut
//! follow-up — and sends them through the real path, `folge_deid::deidentify` then
//! `folge_analyze::analyze`. The truth of every quantity is folge's own point estimate on
//! one very large population simulated the same way. Over R replicates the bench tabulates
//! for each row: the share with an interval, non-coverage with its Monte-Carlo SE, misses
//! below and above the truth, the bias of the log estimate, the empirical SD of the log
//! estimate against the SE the interval implies, and a verdict.
//!
//! Run: `cargo bench -p folge-analyze --bench calibration -- --replicates 1000 --scenario
//! null --out calibration-null.md`. With no options (`cargo bench` alone) it runs a smoke
//! study of 20 replicates on a small truth population, in seconds; under `cargo test
//! --benches` it does nothing unless `FOLGE_CALIBRATION_SMOKE=1`. Each replicate is
//! seeded from (base seed, replicate index) and results are gathered in index order, so
//! the output does not depend on threads.
#![expect(clippy::print_stdout, reason = "a benchmark reports its table on stdout")]

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::process::ExitCode;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use chrono::{Days, NaiveDate};
use folge_analyze::{Analysis, AnalysisParams, analyze};
use folge_deid::{DeidParams, Identifiable, Key, deidentify};
use folge_schema::national_id::build;
use folge_schema::tables::{Participant, RateRow, ServiceEvent};
use folge_schema::{Arm, ExitReason, Service, Sex, Table};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

// ---------------------------------------------------------------------------------------
// Command line
// ---------------------------------------------------------------------------------------

/// With or without an effect of the pilot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scenario {
    /// The same process before and after inclusion in both arms.
    Null,
    /// In the pilot arm after inclusion every service intensity and the death hazard are
    /// multiplied by [`EFFECT`].
    Effect,
}

impl Scenario {
    fn id(self) -> &'static str {
        match self {
            Scenario::Null => "null",
            Scenario::Effect => "effect",
        }
    }
}

/// The study's settings, parsed by hand from the bench's arguments.
#[derive(Debug, Clone)]
struct Settings {
    scenario: Scenario,
    replicates: usize,
    seed: u64,
    /// Persons per arm in each replicate.
    persons: usize,
    /// Persons per arm in the truth population.
    truth_persons: usize,
    threads: usize,
    out: Option<std::path::PathBuf>,
}

const USAGE: &str = "usage: calibration [--scenario null|effect] [--replicates N] [--seed N] \
[--persons N-per-arm] [--truth-persons N-per-arm] [--threads N] [--out PATH]";

/// Replicates when none are asked for: the smoke study.
const SMOKE_REPLICATES: usize = 20;

/// Parse the arguments (`--bench`, which `cargo bench` adds, is ignored). `Ok(None)`: run
/// nothing (under `cargo test --benches` without `FOLGE_CALIBRATION_SMOKE`).
fn parse_args(args: &[String]) -> Result<Option<Settings>, String> {
    if args.is_empty() && std::env::var_os("FOLGE_CALIBRATION_SMOKE").is_none() {
        return Ok(None);
    }
    let mut s = Settings {
        scenario: Scenario::Null,
        replicates: SMOKE_REPLICATES,
        seed: 14,
        persons: 250,
        truth_persons: 0,
        threads: std::thread::available_parallelism().map_or(1, std::num::NonZero::get),
        out: None,
    };
    let mut it = args.iter().filter(|a| *a != "--bench");
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or_else(|| format!("`{flag}` needs a value\n{USAGE}"));
        let number =
            |v: &str| v.parse::<usize>().map_err(|_| format!("`{flag}` wants a number, not `{v}`"));
        match flag.as_str() {
            "--scenario" => {
                s.scenario = match value()?.as_str() {
                    "null" => Scenario::Null,
                    "effect" => Scenario::Effect,
                    other => return Err(format!("unknown scenario `{other}` (null, effect)")),
                };
            }
            "--replicates" => s.replicates = number(value()?)?.max(1),
            "--seed" => s.seed = number(value()?)? as u64,
            "--persons" => s.persons = number(value()?)?.max(10),
            "--truth-persons" => s.truth_persons = number(value()?)?,
            "--threads" => s.threads = number(value()?)?.max(1),
            "--out" => s.out = Some(value()?.into()),
            "--help" | "-h" => return Err(USAGE.to_owned()),
            other => return Err(format!("unknown option `{other}`\n{USAGE}")),
        }
    }
    if s.truth_persons == 0 {
        s.truth_persons = default_truth_persons(s.replicates);
    }
    s.truth_persons = s.truth_persons.max(TRUTH_CHUNKS * 100);
    Ok(Some(s))
}

/// The truth population's persons per arm when not given: 200 per replicate, between
/// 20,000 and 200,000. The truth's error matters against the replicates' spread of the
/// estimate, not against R, but only a long study can see a small error in coverage; a
/// smoke study of 20 replicates (coverage SE ≈ 5 points) needs no 400,000 persons.
fn default_truth_persons(replicates: usize) -> usize {
    (200 * replicates).clamp(20_000, 200_000)
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let settings = match parse_args(&args) {
        Ok(Some(s)) => s,
        Ok(None) => {
            eprintln!(
                "calibration: skipped (run it with `cargo bench -p folge-analyze --bench calibration`, or set FOLGE_CALIBRATION_SMOKE=1)"
            );
            return ExitCode::SUCCESS;
        }
        Err(message) => {
            eprintln!("calibration: {message}");
            return ExitCode::from(2);
        }
    };
    match run(&settings) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("calibration: {message}");
            ExitCode::FAILURE
        }
    }
}

/// Truth, replicates, table: the whole study.
fn run(settings: &Settings) -> Result<(), String> {
    let started = Instant::now();
    eprintln!(
        "calibration: scenario `{}`, {} replicates of {} persons per arm, truth from {} per arm, {} threads",
        settings.scenario.id(),
        settings.replicates,
        settings.persons,
        settings.truth_persons,
        settings.threads
    );
    let truth = truth(settings)?;
    let truth_seconds = started.elapsed().as_secs_f64();
    eprintln!("calibration: truth in {truth_seconds:.1} s");
    let replicates = replicates(settings)?;
    let total_seconds = started.elapsed().as_secs_f64();
    eprintln!(
        "calibration: {} replicates in {:.1} s; wall time {total_seconds:.1} s",
        settings.replicates,
        total_seconds - truth_seconds
    );
    let table = report(settings, &truth, &replicates);
    print!("{table}");
    if let Some(path) = &settings.out {
        std::fs::write(path, &table)
            .map_err(|e| format!("cannot write `{}`: {e}", path.display()))?;
        eprintln!("calibration: table written to `{}`", path.display());
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------
// Generator parameters
// ---------------------------------------------------------------------------------------

/// Days per year for rates given per person-year (the Julian year folge divides by).
const YEAR: f64 = 365.25;

/// Shape of the gamma frailty (mean 1, variance 1/shape = 2.5): most persons use little,
/// a few use a lot, as "2–5 % of patients account for 50 % of resource use".
const FRAILTY_SHAPE: f64 = 0.4;

/// The pilot's multiplier on every intensity after inclusion in scenario `effect`.
const EFFECT: f64 = 0.8;

/// Days simulated before inclusion: the `before` window (365 days) and 65 days for the
/// post-discharge memory (30 days) and long stays to reach a steady state.
const HISTORY_DAYS: i32 = 430;

/// Acute admissions per person-year at frailty 1, outside the post-discharge window.
const ACUTE_PER_YEAR: f64 = 0.5;

/// Elective admissions per person-year at frailty 1.
const ELECTIVE_PER_YEAR: f64 = 0.25;

/// Days after a discharge with raised hazards (the readmission indicator's 30 days).
const POST_DISCHARGE_DAYS: i32 = 30;

/// Multiplier on the acute-admission hazard in the 30 days after a discharge: one
/// person's stays cluster.
const READMISSION_BOOST: f64 = 2.0;

/// Deaths per person-year at frailty 1 (frail multimorbid elderly: about 10 % a year
/// on average, as in the PACT cohort), from inclusion on.
const DEATHS_PER_YEAR: f64 = 0.08;

/// How much the death hazard follows frailty: hazard ∝ (1 − w) + w · frailty, so mean 1
/// and the frailest die first (the after period's survivors are healthier).
const DEATH_FRAILTY_WEIGHT: f64 = 0.7;

/// Multiplier on the death hazard while in hospital and in the 30 days after.
const DEATH_HOSPITAL_BOOST: f64 = 2.5;

/// Moves out of the area per person-year, from inclusion on (not frailty-dependent).
const MOVES_PER_YEAR: f64 = 0.04;

/// Length of stay: `same_day` share of 0-day stays, else 1 + ⌊lognormal(ln median,
/// sigma)⌋ days, at most 40.
#[derive(Debug, Clone, Copy)]
struct StayLength {
    same_day: f64,
    median: f64,
    sigma: f64,
    max: i32,
}

const ACUTE_STAY: StayLength = StayLength { same_day: 0.1, median: 4.0, sigma: 0.8, max: 40 };
const ELECTIVE_STAY: StayLength = StayLength { same_day: 0.3, median: 2.0, sigma: 0.7, max: 40 };
const SHORT_STAY: StayLength = StayLength { same_day: 0.0, median: 9.0, sigma: 0.5, max: 42 };
const KAD_STAY: StayLength = StayLength { same_day: 0.0, median: 1.0, sigma: 0.5, max: 5 };

/// Hours of a home-nursing visit: lognormal, median 1 h, sigma 1 (mean 1.65 h, a long
/// right tail).
const HOME_NURSING_HOURS: (f64, f64) = (1.0, 1.0);

/// A contact (or municipal stay) service: its rate per person-year at frailty 1, its
/// multiplier in the 30 days after a discharge, and the length of a stay when it is one.
#[derive(Debug, Clone, Copy)]
struct ContactService {
    service: Service,
    per_year: f64,
    after_discharge: f64,
    stay: Option<StayLength>,
}

/// Every contact service. No contacts on days fully inside a hospital stay.
const CONTACTS: [ContactService; 8] = [
    ContactService {
        service: Service::Outpatient,
        per_year: 3.0,
        after_discharge: 1.5,
        stay: None,
    },
    ContactService {
        service: Service::DayTreatment,
        per_year: 0.5,
        after_discharge: 1.0,
        stay: None,
    },
    ContactService {
        service: Service::HospitalEmergency,
        per_year: 0.5,
        after_discharge: 1.5,
        stay: None,
    },
    ContactService {
        service: Service::OutOfHours,
        per_year: 0.8,
        after_discharge: 1.5,
        stay: None,
    },
    ContactService { service: Service::Gp, per_year: 6.0, after_discharge: 2.0, stay: None },
    ContactService {
        service: Service::HomeNursing,
        per_year: 30.0,
        after_discharge: 2.0,
        stay: None,
    },
    ContactService {
        service: Service::ShortStay,
        per_year: 0.25,
        after_discharge: 3.0,
        stay: Some(SHORT_STAY),
    },
    ContactService {
        service: Service::Kad,
        per_year: 0.2,
        after_discharge: 1.0,
        stay: Some(KAD_STAY),
    },
];

/// Municipalities of each arm with their shares: the pilot in Bjørnafjorden and Alver,
/// the comparison persons in Bergen and Alver. Labels only: no municipality changes a
/// rate, so the arms are exchangeable under `null`.
const PILOT_MUNICIPALITIES: [(&str, f64); 2] = [("4624", 0.6), ("4631", 0.4)];
const COMPARISON_MUNICIPALITIES: [(&str, f64); 2] = [("4601", 0.5), ("4631", 0.5)];

/// Vårdanalys target groups and their shares (labels only).
const TARGET_GROUPS: [(&str, f64); 3] = [("1", 0.4), ("2", 0.2), ("4", 0.4)];

/// First inclusion date; inclusions are spread evenly over the following 365 days.
fn first_inclusion() -> NaiveDate {
    NaiveDate::from_ymd_opt(2022, 1, 1).expect("a valid constant date")
}

/// End of the data delivery: ten months after the last inclusion, so the end of data
/// cuts the `after` window of persons included from November on.
fn data_end() -> NaiveDate {
    NaiveDate::from_ymd_opt(2023, 10, 31).expect("a valid constant date")
}

// ---------------------------------------------------------------------------------------
// Random numbers
// ---------------------------------------------------------------------------------------

/// The generator of replicate `index` (or truth chunk, `stream` 1) under `seed`: seeded
/// from the three numbers alone, whichever thread runs it.
fn rng_for(seed: u64, stream: u64, index: u64) -> ChaCha8Rng {
    let mut bytes = [0u8; 32];
    bytes[..8].copy_from_slice(&seed.to_le_bytes());
    bytes[8..16].copy_from_slice(&stream.to_le_bytes());
    bytes[16..24].copy_from_slice(&index.to_le_bytes());
    bytes[24..].copy_from_slice(b"calibrat");
    ChaCha8Rng::from_seed(bytes)
}

/// Uniform in [0, 1) from 53 random bits.
fn uniform(rng: &mut impl Rng) -> f64 {
    (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64
}

/// Standard normal (Box–Muller).
fn normal(rng: &mut impl Rng) -> f64 {
    let u1 = 1.0 - uniform(rng);
    let u2 = uniform(rng);
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

/// Gamma(shape, scale 1) by Marsaglia & Tsang (2000); a shape below 1 by Gamma(shape + 1)
/// · U^(1/shape).
#[expect(clippy::many_single_char_names, reason = "the names of Marsaglia & Tsang's paper")]
fn gamma(rng: &mut impl Rng, shape: f64) -> f64 {
    if shape < 1.0 {
        let u = 1.0 - uniform(rng);
        return gamma(rng, shape + 1.0) * u.powf(1.0 / shape);
    }
    let d = shape - 1.0 / 3.0;
    let c = 1.0 / (9.0 * d).sqrt();
    loop {
        let x = normal(rng);
        let v = 1.0 + c * x;
        if v <= 0.0 {
            continue;
        }
        let v = v * v * v;
        let u = 1.0 - uniform(rng);
        if u.ln() < 0.5 * x * x + d * (1.0 - v + v.ln()) {
            return d * v;
        }
    }
}

/// Exponential with rate `rate` per day.
fn exponential(rng: &mut impl Rng, rate: f64) -> f64 {
    -(1.0 - uniform(rng)).ln() / rate
}

/// One label by its share (shares sum to 1).
fn choose<'a>(rng: &mut impl Rng, options: &[(&'a str, f64)]) -> &'a str {
    let mut u = uniform(rng);
    for &(label, share) in options {
        if u < share {
            return label;
        }
        u -= share;
    }
    options[options.len() - 1].0
}

/// Days of a stay by `length`.
fn stay_days(rng: &mut impl Rng, length: StayLength) -> i32 {
    if uniform(rng) < length.same_day {
        return 0;
    }
    let days = (length.median.ln() + length.sigma * normal(rng)).exp();
    (1 + days as i32).min(length.max)
}

// ---------------------------------------------------------------------------------------
// Generator
// ---------------------------------------------------------------------------------------

/// A simulated person before their events are dated: days relative to inclusion.
#[derive(Debug, Clone)]
struct Person {
    arm: Arm,
    frailty: f64,
    inclusion: NaiveDate,
    /// Last day of data, relative to inclusion.
    data_end_day: i32,
}

impl Person {
    /// The pilot's effect on intensities on `day`.
    fn effect(&self, scenario: Scenario, day: i32) -> f64 {
        if scenario == Scenario::Effect && self.arm == Arm::Pilot && day >= 0 {
            EFFECT
        } else {
            1.0
        }
    }
}

/// A person's day, for the intensities of contacts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum DayState {
    Home,
    /// 1–30 days after a discharge.
    AfterDischarge,
    /// Strictly between admission and discharge.
    InHospital,
}

/// What the hospital process gives: merged-free stays (start, end, acute), the exit, and
/// each simulated day's state.
#[derive(Debug, Clone, Default)]
struct HospitalCourse {
    stays: Vec<(i32, i32, bool)>,
    exit: Option<(i32, ExitReason)>,
    /// State of days `-HISTORY_DAYS..=last`, indexed from `-HISTORY_DAYS`.
    days: Vec<DayState>,
}

impl HospitalCourse {
    /// The last simulated day: exit or end of data.
    fn last_day(&self) -> i32 {
        self.days.len() as i32 - HISTORY_DAYS - 1
    }
}

/// Day by day from `-HISTORY_DAYS` to exit or end of data: acute admissions (hazard
/// raised [`READMISSION_BOOST`]-fold for 30 days after each discharge), elective
/// admissions, and from inclusion on deaths (raised in and after hospital) and moves. A
/// new admission comes on the day after a discharge at the earliest, so stays never merge.
fn hospital_course(rng: &mut impl Rng, person: &Person, scenario: Scenario) -> HospitalCourse {
    let mut course = HospitalCourse::default();
    let death_base = DEATHS_PER_YEAR / YEAR
        * ((1.0 - DEATH_FRAILTY_WEIGHT) + DEATH_FRAILTY_WEIGHT * person.frailty);
    let mut stay: Option<(i32, i32, bool)> = None;
    let mut last_discharge: Option<i32> = None;
    let mut day = -HISTORY_DAYS;
    while day <= person.data_end_day {
        let effect = person.effect(scenario, day);
        let after_discharge =
            last_discharge.is_some_and(|d| (1..=POST_DISCHARGE_DAYS).contains(&(day - d)));
        if let Some((start, end, acute)) = stay {
            // In hospital (admission day to discharge day): only death can happen.
            let death = if day >= 0 { death_base * DEATH_HOSPITAL_BOOST * effect } else { 0.0 };
            if uniform(rng) < -(-death).exp_m1() {
                course.stays.push((start, day, acute));
                course.days.push(DayState::InHospital);
                course.exit = Some((day, ExitReason::Death));
                return course;
            }
            course.days.push(if day > start && day < end {
                DayState::InHospital
            } else if after_discharge {
                DayState::AfterDischarge
            } else {
                DayState::Home
            });
            if day == end {
                course.stays.push((start, end, acute));
                stay = None;
                last_discharge = Some(end);
            }
            day += 1;
            continue;
        }
        course.days.push(if after_discharge { DayState::AfterDischarge } else { DayState::Home });
        let boost = if after_discharge { READMISSION_BOOST } else { 1.0 };
        let acute = ACUTE_PER_YEAR / YEAR * person.frailty * effect * boost;
        let elective = ELECTIVE_PER_YEAR / YEAR * person.frailty * effect;
        let (death, moved) = if day >= 0 {
            let death_boost = if after_discharge { DEATH_HOSPITAL_BOOST } else { 1.0 };
            (death_base * effect * death_boost, MOVES_PER_YEAR / YEAR)
        } else {
            (0.0, 0.0)
        };
        let total = acute + elective + death + moved;
        let u = uniform(rng);
        if u < -(-total).exp_m1() {
            // Which event, by its share of the hazard.
            let pick = uniform(rng) * total;
            if pick < death {
                course.exit = Some((day, ExitReason::Death));
                return course;
            } else if pick < death + moved {
                course.exit = Some((day, ExitReason::Moved));
                return course;
            }
            let is_acute = pick < death + moved + acute;
            let length = stay_days(rng, if is_acute { ACUTE_STAY } else { ELECTIVE_STAY });
            let end = (day + length).min(person.data_end_day);
            if end == day {
                course.stays.push((day, day, is_acute));
                last_discharge = Some(day);
            } else {
                stay = Some((day, end, is_acute));
            }
        }
        day += 1;
    }
    if let Some((start, end, acute)) = stay {
        course.stays.push((start, end, acute));
    }
    course
}

/// Contact days of one service by thinning: candidates from a Poisson process at the
/// highest intensity the person can have, each kept with probability intensity/highest
/// on its day (Lewis & Shedler 1979).
fn contact_days(
    rng: &mut impl Rng,
    person: &Person,
    scenario: Scenario,
    course: &HospitalCourse,
    spec: &ContactService,
) -> Vec<i32> {
    let base = spec.per_year / YEAR * person.frailty;
    let highest = base * spec.after_discharge.max(1.0);
    let mut out = Vec::new();
    if highest <= 0.0 {
        return out;
    }
    let end = f64::from(course.last_day() + 1);
    let mut t = f64::from(-HISTORY_DAYS);
    loop {
        t += exponential(rng, highest);
        if t >= end {
            return out;
        }
        let day = t.floor() as i32;
        let state = course.days[(day + HISTORY_DAYS) as usize];
        let multiplier = match state {
            DayState::Home => 1.0,
            DayState::AfterDischarge => spec.after_discharge,
            DayState::InHospital => 0.0,
        } * person.effect(scenario, day);
        if uniform(rng) * highest < base * multiplier {
            out.push(day);
        }
    }
}

/// A unique synthetic national id (month + 80) for a birth date: the first individual
/// number from `next` on for which check digits exist.
fn synthetic_id(birth: NaiveDate, next: &mut BTreeMap<NaiveDate, u16>) -> (String, Sex) {
    let individual = next.entry(birth).or_insert(0);
    loop {
        let i = *individual;
        *individual += 1;
        assert!(i < 500, "more than 500 persons born on one day");
        if let Some(id) = build(birth, i, 0, 80) {
            // The ninth digit (the individual number's last) is odd for men.
            let sex = if i % 2 == 1 { Sex::Male } else { Sex::Female };
            return (id, sex);
        }
    }
}

/// One arm × `persons` simulated into zone-1 participants and service events.
fn simulate_arm(
    rng: &mut impl Rng,
    arm: Arm,
    persons: usize,
    scenario: Scenario,
    ids: &mut BTreeMap<NaiveDate, u16>,
    out: &mut Identifiable,
) {
    let municipalities = match arm {
        Arm::Pilot => &PILOT_MUNICIPALITIES,
        Arm::Comparison => &COMPARISON_MUNICIPALITIES,
    };
    for _ in 0..persons {
        let inclusion = first_inclusion() + Days::new((uniform(rng) * 365.0) as u64);
        let age = (78.0 + 8.0 * normal(rng)).clamp(50.0, 99.0);
        let birth = inclusion - Days::new((age * YEAR) as u64);
        let (person_id, sex) = synthetic_id(birth, ids);
        let person = Person {
            arm,
            frailty: gamma(rng, FRAILTY_SHAPE) / FRAILTY_SHAPE,
            inclusion,
            data_end_day: (data_end() - inclusion).num_days() as i32,
        };
        let course = hospital_course(rng, &person, scenario);
        let date =
            |day: i32| person.inclusion.checked_add_signed(chrono::Duration::days(i64::from(day)));
        let event = |service, start: i32, end: Option<i32>, quantity, acute| ServiceEvent {
            person_id: person_id.clone(),
            service,
            start_date: date(start).expect("days within a few years of 2022"),
            end_date: end.and_then(date),
            quantity,
            acute,
            start_time: None,
            end_time: None,
        };
        for &(start, end, acute) in &course.stays {
            out.service_events.push(event(Service::Inpatient, start, Some(end), None, Some(acute)));
        }
        for spec in &CONTACTS {
            for day in contact_days(rng, &person, scenario, &course, spec) {
                let end = spec.stay.map(|l| (day + stay_days(rng, l)).min(person.data_end_day));
                let hours = (spec.service == Service::HomeNursing).then(|| {
                    let (median, sigma) = HOME_NURSING_HOURS;
                    // Whole quarter hours, at least one: as visits are registered.
                    let h = (median.ln() + sigma * normal(rng)).exp();
                    (h * 4.0).ceil().max(1.0) / 4.0
                });
                out.service_events.push(event(spec.service, day, end, hours, None));
            }
        }
        let exit = course.exit.filter(|(day, _)| *day <= person.data_end_day);
        out.participants.push(Participant {
            person_id: person_id.clone(),
            name: None,
            sex: Some(sex),
            birth_date: Some(birth),
            municipality: choose(rng, municipalities).to_owned(),
            site: None,
            arm,
            target_group: Some(choose(rng, &TARGET_GROUPS).to_owned()),
            inclusion_date: inclusion,
            exit_date: exit.and_then(|(day, _)| date(day)),
            exit_reason: exit.map(|(_, reason)| reason),
        });
    }
}

/// Zone-1 tables of `persons` per arm, from `rng` alone.
fn simulate(rng: &mut impl Rng, persons: usize, scenario: Scenario) -> Identifiable {
    let mut out = Identifiable::default();
    let mut ids = BTreeMap::new();
    for arm in [Arm::Pilot, Arm::Comparison] {
        simulate_arm(rng, arm, persons, scenario, &mut ids, &mut out);
    }
    out
}

/// The real path: deid with the demo key (every id is synthetic), then analyze with
/// `before` = days −365..−1 and `after` = days 0..364.
fn deid_and_analyze(input: &Identifiable) -> Result<Analysis, String> {
    let deid = deidentify(input, &DeidParams::new(data_end()), &Key::demo())
        .map_err(|e| format!("deid failed: {e}"))?;
    Ok(analyze(&deid, &AnalysisParams::before_after(365, 365)))
}

// ---------------------------------------------------------------------------------------
// Quantities, estimates and truth
// ---------------------------------------------------------------------------------------

/// What a row estimates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Kind {
    /// After/before within an arm (`comparisons`, scope `arm`).
    RateRatio,
    /// Pilot vs comparison (`comparisons`, scope `all`).
    RatioOfRateRatios,
    /// A pooled rate (`rates`).
    Rate,
}

impl Kind {
    fn label(self) -> &'static str {
        match self {
            Kind::RateRatio => "rate_ratio",
            Kind::RatioOfRateRatios => "ratio_of_rate_ratios",
            Kind::Rate => "rate",
        }
    }
}

/// One tabulated row: indicator × kind × arm (× period for rates).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Quantity {
    indicator: String,
    kind: Kind,
    arm: Option<Arm>,
    period: Option<String>,
}

impl Quantity {
    fn scope(&self) -> String {
        match (self.kind, self.arm, &self.period) {
            (Kind::RatioOfRateRatios, ..) => "all".into(),
            (Kind::RateRatio, Some(arm), _) => format!("arm {}", arm.code()),
            (Kind::Rate, Some(arm), Some(period)) => format!("{} {period}", arm.code()),
            _ => "?".into(),
        }
    }
}

/// One replicate's value of a quantity: the estimate, the interval and, without one, why.
#[derive(Debug, Clone)]
struct Estimate {
    value: Option<f64>,
    interval: Option<(f64, f64)>,
    method: String,
    /// The estimate differs from the ratio of the replicate's own pooled rates (the truth
    /// is defined as that ratio; a model that stops being saturated would break it).
    off_pooled: bool,
}

/// Pooled totals of one indicator × arm × period: value and person-years.
type Totals = BTreeMap<(String, Arm, String), (f64, f64)>;

fn totals(rates: &[RateRow]) -> Totals {
    rates
        .iter()
        .map(|r| ((r.indicator.clone(), r.arm, r.period.clone()), (r.value_total, r.person_years)))
        .collect()
}

/// A quantity's value from pooled totals: rate, rate ratio after/before, or ratio of the
/// pilot's and comparison's rate ratios; `None` when a denominator is zero.
fn from_totals(totals: &Totals, q: &Quantity) -> Option<f64> {
    let rate = |arm: Arm, period: &str| {
        totals
            .get(&(q.indicator.clone(), arm, period.to_owned()))
            .and_then(|&(v, py)| (py > 0.0).then(|| v / py))
    };
    let ratio = |a: Option<f64>, b: Option<f64>| match (a, b) {
        (Some(a), Some(b)) if b > 0.0 => Some(a / b),
        _ => None,
    };
    let rate_ratio = |arm| ratio(rate(arm, "after"), rate(arm, "before"));
    match q.kind {
        Kind::Rate => rate(q.arm?, q.period.as_deref()?),
        Kind::RateRatio => rate_ratio(q.arm?),
        Kind::RatioOfRateRatios => ratio(rate_ratio(Arm::Pilot), rate_ratio(Arm::Comparison)),
    }
}

/// A `Float64` column of the rates table by name, when the table has it: this is how the
/// bench uses `ci_low`/`ci_high` of `RateRow` once they exist, without naming fields the
/// struct may not have.
fn rate_column(batch: &arrow_array::RecordBatch, name: &str) -> Option<Vec<Option<f64>>> {
    use arrow_array::Array;
    let column = batch.column_by_name(name)?;
    let values = column.as_any().downcast_ref::<arrow_array::Float64Array>()?;
    Some((0..values.len()).map(|i| values.is_valid(i).then(|| values.value(i))).collect())
}

/// Whether two estimates agree to rounding.
fn same(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1e-12)
}

/// The rows of one analysis this study tabulates: comparisons of scope `arm` and `all`,
/// and rates when they carry an interval. The bool says whether rates have intervals.
fn observe(analysis: &Analysis) -> (BTreeMap<Quantity, Estimate>, bool) {
    let totals = totals(&analysis.rates);
    let mut out = BTreeMap::new();
    for r in &analysis.comparisons {
        let kind = match (r.scope.as_str(), r.effect_size_kind.as_str()) {
            ("arm", "rate_ratio") => Kind::RateRatio,
            ("all", "ratio_of_rate_ratios") => Kind::RatioOfRateRatios,
            _ => continue,
        };
        let q = Quantity { indicator: r.measure.clone(), kind, arm: r.arm, period: None };
        let pooled = from_totals(&totals, &q);
        let off_pooled = match (r.effect_size, pooled) {
            (Some(a), Some(b)) => !same(a, b),
            (None, None) => false,
            _ => true,
        };
        let estimate = Estimate {
            value: r.effect_size,
            interval: r.ci_low.zip(r.ci_high),
            method: r.method.clone(),
            off_pooled,
        };
        out.insert(q, estimate);
    }
    let batch = RateRow::to_batch(&analysis.rates).ok();
    let limits =
        batch.as_ref().and_then(|b| rate_column(b, "ci_low").zip(rate_column(b, "ci_high")));
    let with_intervals = limits.is_some();
    if let Some((low, high)) = limits {
        for (i, r) in analysis.rates.iter().enumerate() {
            let q = Quantity {
                indicator: r.indicator.clone(),
                kind: Kind::Rate,
                arm: Some(r.arm),
                period: Some(r.period.clone()),
            };
            let interval = low[i].zip(high[i]);
            let method =
                if interval.is_some() { String::new() } else { "no interval in `rates`".into() };
            out.insert(q, Estimate { value: r.rate_per_py, interval, method, off_pooled: false });
        }
    }
    (out, with_intervals)
}

/// The truth of each quantity and its Monte-Carlo SE on the log scale.
#[derive(Debug, Clone, Default)]
struct Truth {
    values: BTreeMap<Quantity, Option<f64>>,
    /// SE of the log truth: the SD of the chunks' log values / √chunks (the pooled value
    /// is close to the mean of equal chunks).
    log_se: BTreeMap<Quantity, f64>,
    persons: usize,
    events: usize,
}

/// Chunks the truth population is simulated in: memory stays bounded, and their spread
/// gives the truth's Monte-Carlo error.
const TRUTH_CHUNKS: usize = 20;

/// Every quantity's truth: pooled totals summed over [`TRUTH_CHUNKS`] chunks of one large
/// population (each through deid and analyze), so each ratio is folge's point estimate on
/// the whole population — a ratio of pooled rates, which summing the chunks' totals
/// gives exactly.
fn truth(settings: &Settings) -> Result<Truth, String> {
    let per_chunk = settings.truth_persons.div_ceil(TRUTH_CHUNKS);
    let chunks = in_order(TRUTH_CHUNKS, settings.threads, |k| {
        let mut rng = rng_for(settings.seed, 1, k as u64);
        let input = simulate(&mut rng, per_chunk, settings.scenario);
        let events = input.service_events.len();
        deid_and_analyze(&input).map(|a| (totals(&a.rates), events))
    })?;
    let mut sum: Totals = BTreeMap::new();
    let mut truth = Truth { persons: per_chunk * TRUTH_CHUNKS, ..Truth::default() };
    for (chunk, events) in &chunks {
        truth.events += events;
        for (key, (v, py)) in chunk {
            let s = sum.entry(key.clone()).or_default();
            s.0 += v;
            s.1 += py;
        }
    }
    for (indicator, _, _) in sum.keys() {
        for q in quantities(indicator) {
            let logs: Vec<f64> = chunks
                .iter()
                .filter_map(|(c, _)| from_totals(c, &q))
                .filter(|v| *v > 0.0)
                .map(f64::ln)
                .collect();
            if logs.len() == chunks.len() {
                truth.log_se.insert(q.clone(), sd(&logs) / (logs.len() as f64).sqrt());
            }
            truth.values.insert(q.clone(), from_totals(&sum, &q));
        }
    }
    Ok(truth)
}

/// Every quantity of one indicator.
fn quantities(indicator: &str) -> Vec<Quantity> {
    let q = |kind, arm, period: Option<&str>| Quantity {
        indicator: indicator.to_owned(),
        kind,
        arm,
        period: period.map(str::to_owned),
    };
    let mut out = vec![
        q(Kind::RateRatio, Some(Arm::Pilot), None),
        q(Kind::RateRatio, Some(Arm::Comparison), None),
        q(Kind::RatioOfRateRatios, None, None),
    ];
    for arm in [Arm::Pilot, Arm::Comparison] {
        for period in ["before", "after"] {
            out.push(q(Kind::Rate, Some(arm), Some(period)));
        }
    }
    out
}

/// What the replicates gave.
#[derive(Debug, Clone, Default)]
struct Replicates {
    /// Per replicate, in index order.
    rows: Vec<BTreeMap<Quantity, Estimate>>,
    rates_have_intervals: bool,
    events: usize,
    deaths: usize,
    moves: usize,
}

/// Every replicate, simulated and analysed on `settings.threads` threads.
fn replicates(settings: &Settings) -> Result<Replicates, String> {
    let done = AtomicUsize::new(0);
    let results = in_order(settings.replicates, settings.threads, |i| {
        let mut rng = rng_for(settings.seed, 0, i as u64);
        let input = simulate(&mut rng, settings.persons, settings.scenario);
        let exits =
            |reason| input.participants.iter().filter(|p| p.exit_reason == Some(reason)).count();
        let (deaths, moves) = (exits(ExitReason::Death), exits(ExitReason::Moved));
        let analysis = deid_and_analyze(&input)?;
        let n = done.fetch_add(1, Ordering::Relaxed) + 1;
        if n.is_multiple_of(100) {
            eprintln!("calibration: {n} of {} replicates", settings.replicates);
        }
        Ok((observe(&analysis), input.service_events.len(), deaths, moves))
    })?;
    let mut out = Replicates::default();
    for ((rows, with_intervals), events, deaths, moves) in results {
        out.rows.push(rows);
        out.rates_have_intervals |= with_intervals;
        out.events += events;
        out.deaths += deaths;
        out.moves += moves;
    }
    Ok(out)
}

/// `work(0..n)` on `threads` threads, results in index order; the first error wins.
fn in_order<T: Send>(
    n: usize,
    threads: usize,
    work: impl Fn(usize) -> Result<T, String> + Sync,
) -> Result<Vec<T>, String> {
    let next = AtomicUsize::new(0);
    let mut done: Vec<(usize, Result<T, String>)> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads.min(n).max(1))
            .map(|_| {
                scope.spawn(|| {
                    let mut mine = Vec::new();
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        if i >= n {
                            break mine;
                        }
                        mine.push((i, work(i)));
                    }
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|w| w.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
            .collect()
    });
    done.sort_by_key(|(i, _)| *i);
    done.into_iter().map(|(_, r)| r).collect()
}

// ---------------------------------------------------------------------------------------
// Tabulation
// ---------------------------------------------------------------------------------------

/// z for a two-sided 95 % interval, `qnorm(0.975)`.
const Z95: f64 = 1.959_963_984_540_054;

/// Sample standard deviation (n − 1).
fn sd(x: &[f64]) -> f64 {
    if x.len() < 2 {
        return f64::NAN;
    }
    let mean = x.iter().sum::<f64>() / x.len() as f64;
    (x.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (x.len() - 1) as f64).sqrt()
}

/// Median (NaN for none).
fn median(mut x: Vec<f64>) -> f64 {
    if x.is_empty() {
        return f64::NAN;
    }
    x.sort_by(f64::total_cmp);
    let n = x.len();
    if n % 2 == 1 { x[n / 2] } else { f64::midpoint(x[n / 2 - 1], x[n / 2]) }
}

/// One row's calibration over the replicates.
#[derive(Debug, Clone, Default)]
struct Calibration {
    replicates: usize,
    with_estimate: usize,
    with_interval: usize,
    /// Intervals entirely below the truth (upper limit < truth).
    below: usize,
    /// Intervals entirely above the truth (lower limit > truth).
    above: usize,
    estimates: Vec<f64>,
    /// Estimates of 0 (no log).
    zeros: usize,
    widths: Vec<f64>,
    /// ln(high/low) / (2 z): the SE on the log scale an interval implies.
    implied_log_se: Vec<f64>,
    /// Why replicates had no interval, with counts.
    reasons: BTreeMap<String, usize>,
    off_pooled: usize,
}

impl Calibration {
    /// Non-coverage among replicates with an interval, and its Monte-Carlo SE
    /// √(p(1 − p)/n).
    fn non_coverage(&self) -> Option<(f64, f64)> {
        (self.with_interval > 0).then(|| {
            let n = self.with_interval as f64;
            let p = (self.below + self.above) as f64 / n;
            (p, (p * (1.0 - p) / n).sqrt())
        })
    }

    fn log_estimates(&self) -> Vec<f64> {
        self.estimates.iter().filter(|v| **v > 0.0).map(|v| v.ln()).collect()
    }
}

/// Tally one quantity over the replicates against its truth.
fn calibrate(q: &Quantity, truth: Option<f64>, replicates: &Replicates) -> Calibration {
    let mut c = Calibration { replicates: replicates.rows.len(), ..Calibration::default() };
    for rows in &replicates.rows {
        let Some(e) = rows.get(q) else {
            *c.reasons.entry("row missing from the output".into()).or_default() += 1;
            continue;
        };
        c.off_pooled += usize::from(e.off_pooled);
        if let Some(v) = e.value {
            c.with_estimate += 1;
            c.estimates.push(v);
            c.zeros += usize::from(v <= 0.0);
        }
        match (e.value, e.interval) {
            (Some(_), Some((low, high))) => {
                c.with_interval += 1;
                if let Some(t) = truth {
                    c.below += usize::from(high < t);
                    c.above += usize::from(low > t);
                }
                c.widths.push(high - low);
                if low > 0.0 && high.is_finite() {
                    c.implied_log_se.push((high / low).ln() / (2.0 * Z95));
                }
            }
            _ => *c.reasons.entry(e.method.clone()).or_default() += 1,
        }
    }
    c
}

/// The verdict: under `null` non-coverage within 3–7 %, under `effect` coverage ≥ 93 %.
fn verdict(scenario: Scenario, c: &Calibration, truth: Option<f64>) -> String {
    let Some((p, _)) = c.non_coverage() else {
        return if c.with_estimate == 0 { "no estimate".into() } else { "no interval".into() };
    };
    if truth.is_none() {
        return "no truth".into();
    }
    let mut v = match scenario {
        Scenario::Null if p > 0.07 => format!("too narrow ({:.1} % miss)", 100.0 * p),
        Scenario::Null if p < 0.03 => format!("too wide ({:.1} % miss)", 100.0 * p),
        Scenario::Effect if p > 0.07 => {
            format!("under-covers ({:.1} % cover)", 100.0 * (1.0 - p))
        }
        _ => "ok".into(),
    };
    if c.with_interval < c.replicates {
        let _ = write!(v, "; CI in {} of {}", c.with_interval, c.replicates);
    }
    v
}

/// A number for the table: 3 significant digits, `–` for none.
fn num(x: Option<f64>) -> String {
    match x {
        None => "–".into(),
        Some(v) if !v.is_finite() => "–".into(),
        Some(0.0) => "0".into(),
        Some(v) => {
            let digits = (2 - v.abs().log10().floor() as i32).clamp(0, 6) as usize;
            format!("{v:.digits$}")
        }
    }
}

/// The header: what was run, and the generator's parameters.
fn header(settings: &Settings, truth: &Truth, replicates: &Replicates) -> String {
    let r = replicates.rows.len();
    let mut s = String::new();
    let _ = writeln!(
        s,
        "# Calibration of folge's 95 % intervals — scenario `{}`\n",
        settings.scenario.id()
    );
    let _ = writeln!(
        s,
        "{r} replicates of {} persons per arm (seed {}); truth from {} persons per arm in {TRUTH_CHUNKS} chunks ({} events). Per replicate on average {:.0} service events, {:.1} deaths, {:.1} moves.\n",
        settings.persons,
        settings.seed,
        truth.persons,
        truth.events,
        replicates.events as f64 / r as f64,
        replicates.deaths as f64 / r as f64,
        replicates.moves as f64 / r as f64,
    );
    let effect = match settings.scenario {
        Scenario::Null => "none".to_owned(),
        Scenario::Effect => format!("pilot arm after inclusion: every intensity × {EFFECT}"),
    };
    let _ = writeln!(
        s,
        "Generator: frailty Gamma(shape {FRAILTY_SHAPE}, mean 1) on every rate; inclusions over 2022, data end {}; history from day −{HISTORY_DAYS}; per person-year at frailty 1: acute admissions {ACUTE_PER_YEAR} (× {READMISSION_BOOST} for {POST_DISCHARGE_DAYS} days after a discharge), elective {ELECTIVE_PER_YEAR}, deaths {DEATHS_PER_YEAR} from inclusion (∝ {:.1} + {DEATH_FRAILTY_WEIGHT}·frailty, × {DEATH_HOSPITAL_BOOST} in and after hospital), moves {MOVES_PER_YEAR}; {}; home-nursing hours lognormal(median {} h, σ {}); effect: {effect}.\n",
        data_end(),
        1.0 - DEATH_FRAILTY_WEIGHT,
        CONTACTS
            .iter()
            .map(|c| format!(
                "{} {} (× {} after discharge)",
                c.service.code(),
                c.per_year,
                c.after_discharge
            ))
            .collect::<Vec<_>>()
            .join(", "),
        HOME_NURSING_HOURS.0,
        HOME_NURSING_HOURS.1,
    );
    let _ = writeln!(
        s,
        "Columns: *est./CI* replicates with an estimate / an interval; *miss %* intervals missing the truth (± Monte-Carlo SE √(p(1−p)/n), n = replicates with an interval), split into *below* (upper limit < truth) and *above* (lower limit > truth); *log bias %* = 100·(exp(mean log est. − log truth) − 1); *SD log* the replicates' SD of the log estimate; *CI SE log* the median SE an interval implies, ln(high/low)/(2·1.96) — below *SD log* means too narrow; *width* median high − low. Verdict: `null` wants 3–7 % miss, `effect` ≥ 93 % cover.\n"
    );
    s
}

/// The Markdown report: header, the calibration table sorted by indicator, the truth
/// table, and notes on rows without estimates.
fn report(settings: &Settings, truth: &Truth, replicates: &Replicates) -> String {
    let mut s = header(settings, truth, replicates);
    s.push_str("| indicator | effect | scope | truth | est./CI | miss % (± SE) | below / above % | mean est. | log bias % | SD log | CI SE log | width | verdict |\n");
    s.push_str("|---|---|---|---|---|---|---|---|---|---|---|---|---|\n");
    let mut keys: Vec<&Quantity> = truth.values.keys().collect();
    for rows in &replicates.rows {
        keys.extend(rows.keys());
    }
    keys.sort();
    keys.dedup();
    let mut notes = Vec::new();
    for q in keys {
        if q.kind == Kind::Rate && !replicates.rates_have_intervals {
            continue;
        }
        let t = truth.values.get(q).copied().flatten();
        let c = calibrate(q, t, replicates);
        let logs = c.log_estimates();
        let mean = (!c.estimates.is_empty())
            .then(|| c.estimates.iter().sum::<f64>() / c.estimates.len() as f64);
        let log_bias = t
            .filter(|t| *t > 0.0 && !logs.is_empty())
            .map(|t| 100.0 * ((logs.iter().sum::<f64>() / logs.len() as f64 - t.ln()).exp() - 1.0));
        let miss = c
            .non_coverage()
            .map_or("–".into(), |(p, se)| format!("{:.1} ± {:.1}", 100.0 * p, 100.0 * se));
        let split = if c.with_interval > 0 {
            let n = c.with_interval as f64;
            format!("{:.1} / {:.1}", 100.0 * c.below as f64 / n, 100.0 * c.above as f64 / n)
        } else {
            "–".into()
        };
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} | {}/{} | {miss} | {split} | {} | {} | {} | {} | {} | {} |",
            q.indicator,
            q.kind.label(),
            q.scope(),
            num(t),
            c.with_estimate,
            c.with_interval,
            num(mean),
            log_bias.map_or("–".into(), |b| format!("{b:+.1}")),
            num(Some(sd(&logs))),
            num(Some(median(c.implied_log_se.clone()))),
            num(Some(median(c.widths.clone()))),
            verdict(settings.scenario, &c, t),
        );
        if !c.reasons.is_empty() {
            let reasons: Vec<String> =
                c.reasons.iter().map(|(why, n)| format!("{n}× {why}")).collect();
            notes.push(format!(
                "- {} {} {}: {} of {} replicates without an interval — {}",
                q.indicator,
                q.kind.label(),
                q.scope(),
                c.replicates - c.with_interval,
                c.replicates,
                reasons.join("; ")
            ));
        }
        if c.zeros > 0 {
            notes.push(format!(
                "- {} {} {}: {} estimates of 0 left out of the log columns",
                q.indicator,
                q.kind.label(),
                q.scope(),
                c.zeros
            ));
        }
        if c.off_pooled > 0 {
            notes.push(format!(
                "- {} {} {}: in {} replicates the estimate is not the ratio of pooled rates, so the truth (a ratio of pooled rates) may not be what it estimates",
                q.indicator,
                q.kind.label(),
                q.scope(),
                c.off_pooled
            ));
        }
    }
    s.push_str("\n## Truth and its Monte-Carlo error\n\n");
    s.push_str("| indicator | effect | scope | truth | MC SE log truth | ÷ SD log est. |\n|---|---|---|---|---|---|\n");
    for (q, t) in &truth.values {
        let se = truth.log_se.get(q).copied();
        let spread = sd(&calibrate(q, *t, replicates).log_estimates());
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} | {} | {} |",
            q.indicator,
            q.kind.label(),
            q.scope(),
            num(*t),
            num(se),
            se.filter(|_| spread.is_finite() && spread > 0.0)
                .map_or("–".into(), |se| format!("{:.3}", se / spread)),
        );
    }
    s.push_str("\n## Notes\n\n");
    if settings.scenario == Scenario::Null {
        // By symmetry the true ratio of rate ratios is 1: the truth population's distance
        // from 1 in units of its own Monte-Carlo SE checks that SE.
        let z: Vec<f64> = truth
            .values
            .iter()
            .filter(|(q, _)| q.kind == Kind::RatioOfRateRatios)
            .filter_map(|(q, t)| Some(t.as_ref()?.ln() / truth.log_se.get(q)?))
            .collect();
        let largest = z.iter().fold(0.0f64, |m, z| m.max(z.abs()));
        let _ = writeln!(
            s,
            "- Symmetry check: the truth population's ratios of rate ratios (exactly 1 under `null`) are within {largest:.1} Monte-Carlo SEs of 1 over {} indicators.",
            z.len()
        );
    }
    if !replicates.rates_have_intervals {
        s.push_str("- `rates` has no `ci_low`/`ci_high` columns in this build: pooled rates are not tabulated (their truths are listed above).\n");
    }
    for n in notes {
        s.push_str(&n);
        s.push('\n');
    }
    s
}

//! Calibration study of folge's interval estimates (issue 14, item 6): do the 95 %
//! intervals of the analyze stage cover the truth 95 % of the time on data shaped like a
//! real pilot?
//!
//! A seeded generator of its own (not folge-sample) makes zone-1 tables — two arms,
//! persons whose service use differs a lot (gamma frailty), stays with readmissions that
//! cluster after a discharge, heavy-tailed home-care hours, deaths and moves that cut
//! follow-up — and sends them through the real path, `folge_deid::deidentify` then
//! `folge_analyze::analyze`. The truth of every quantity is folge's own point estimate on
//! one very large population simulated the same way. Over R replicates the bench tabulates
//! for each row: the share with an interval, non-coverage with its Monte-Carlo SE, misses
//! below and above the truth, the bias of the (log) estimate, the empirical SD of the
//! estimate against the SE the interval implies, and a verdict. The rows: `comparisons`
//! (after/before within each arm, pilot vs comparison, mortality between the arms after
//! inclusion, the pre-trend ratio; each ratio's `diff` with its own interval), `rates`,
//! `event_time` (summarised per indicator × arm over the bins before and after
//! inclusion) and Kaplan–Meier `survival` at days 90, 180 and 365. Rows without an
//! estimate are counted, with the reason their `method` gives.
//!
//! Run: `cargo bench -p folge-analyze --bench calibration -- --replicates 1000 --scenario
//! null --out calibration-null.md`; `--count-model negative_binomial`, `--adjust` (age
//! band, sex and before-window use, overlap weights) and `--cluster-variance cr1`
//! calibrate the alternatives, `--scenario effect` and `confounded` other worlds. With
//! no options (`cargo bench` alone) it runs a smoke study of 20 replicates on a small
//! truth population, in seconds; under `cargo test --benches` it does nothing unless
//! `FOLGE_CALIBRATION_SMOKE=1`. Each replicate is seeded from (base seed, replicate index)
//! and results are gathered in index order, so the output does not depend on threads.
#![expect(clippy::print_stdout, reason = "a benchmark reports its table on stdout")]

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::process::ExitCode;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use chrono::{Days, NaiveDate};
use folge_analyze::{
    Analysis, AnalysisParams, BINS, BINS_BEFORE, ClusterVariance, ConfounderAdjustment, CountModel,
    Covariate, Weighting, analyze,
};
use folge_deid::{DeidParams, Identifiable, Key, deidentify};
use folge_schema::national_id::build;
use folge_schema::tables::{EventTimeRow, Participant, RateRow, ServiceEvent};
use folge_schema::{Arm, ExitReason, Service, Sex};
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
    /// No effect, but the arms differ in age and sex, which change every rate: the pilot
    /// enrols older persons and more men (see [`CONFOUNDING`]).
    Confounded,
}

impl Scenario {
    fn id(self) -> &'static str {
        match self {
            Scenario::Null => "null",
            Scenario::Effect => "effect",
            Scenario::Confounded => "confounded",
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
    /// The count model of the analysis.
    count_model: CountModel,
    /// The clustered variance of the saturated comparisons and pooled rates.
    cluster_variance: ClusterVariance,
    /// Adjust pilot vs comparison for [`ADJUST_COVARIATES`] with overlap weights.
    adjust: bool,
}

const USAGE: &str = "usage: calibration [--scenario null|effect|confounded] [--replicates N] [--seed N] \
[--persons N-per-arm] [--truth-persons N-per-arm] [--threads N] [--out PATH] \
[--count-model poisson|negative_binomial] [--adjust] [--cluster-variance jackknife|cr1]";

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
        count_model: CountModel::Poisson,
        cluster_variance: ClusterVariance::default(),
        adjust: false,
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
                    "confounded" => Scenario::Confounded,
                    other => {
                        return Err(format!(
                            "unknown scenario `{other}` (null, effect, confounded)"
                        ));
                    }
                };
            }
            "--replicates" => s.replicates = number(value()?)?.max(1),
            "--seed" => s.seed = number(value()?)? as u64,
            "--persons" => s.persons = number(value()?)?.max(10),
            "--truth-persons" => s.truth_persons = number(value()?)?,
            "--threads" => s.threads = number(value()?)?.max(1),
            "--out" => s.out = Some(value()?.into()),
            "--count-model" => {
                let id = value()?;
                s.count_model = CountModel::parse(id).ok_or_else(|| {
                    format!("unknown count model `{id}` (poisson, negative_binomial)")
                })?;
            }
            "--adjust" => s.adjust = true,
            "--cluster-variance" => {
                let id = value()?;
                s.cluster_variance = [ClusterVariance::Jackknife, ClusterVariance::Cr1]
                    .into_iter()
                    .find(|v| v.id() == id)
                    .ok_or_else(|| format!("unknown cluster variance `{id}` (jackknife, cr1)"))?;
            }
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
        "calibration: scenario `{}`, {}; {} replicates of {} persons per arm, truth from {} per arm, {} threads",
        settings.scenario.id(),
        model_text(settings),
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

/// Scenario `confounded`: per arm the mean age at inclusion and the share of men, and how
/// age and sex change every rate (the frailty is multiplied by `age_per_sd` per 8 years
/// of age above 78 and by `men` for men). In the other scenarios both arms have mean age
/// 78 and the sex the synthetic id gives, and neither changes a rate.
#[derive(Debug, Clone, Copy)]
struct Confounding {
    pilot_age: f64,
    comparison_age: f64,
    pilot_men: f64,
    comparison_men: f64,
    age_per_sd: f64,
    men: f64,
}

const CONFOUNDING: Confounding = Confounding {
    pilot_age: 82.0,
    comparison_age: 74.0,
    pilot_men: 0.55,
    comparison_men: 0.35,
    age_per_sd: 1.5,
    men: 1.3,
};

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
/// number from `next` on for which check digits exist (and that gives `sex`, when asked).
fn synthetic_id(
    birth: NaiveDate,
    sex: Option<Sex>,
    next: &mut BTreeMap<NaiveDate, u16>,
) -> (String, Sex) {
    let individual = next.entry(birth).or_insert(0);
    loop {
        let i = *individual;
        *individual += 1;
        assert!(i < 500, "more than 500 persons born on one day");
        // The ninth digit (the individual number's last) is odd for men.
        let given = if i % 2 == 1 { Sex::Male } else { Sex::Female };
        if sex.is_some_and(|s| s != given) {
            continue;
        }
        if let Some(id) = build(birth, i, 0, 80) {
            return (id, given);
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
        let c = CONFOUNDING;
        let (mean_age, men) = match arm {
            _ if scenario != Scenario::Confounded => (78.0, None),
            Arm::Pilot => (c.pilot_age, Some(c.pilot_men)),
            Arm::Comparison => (c.comparison_age, Some(c.comparison_men)),
        };
        let age = (mean_age + 8.0 * normal(rng)).clamp(50.0, 99.0);
        let birth = inclusion - Days::new((age * YEAR) as u64);
        let wanted = men.map(|m| if uniform(rng) < m { Sex::Male } else { Sex::Female });
        let (person_id, sex) = synthetic_id(birth, wanted, ids);
        // Age and sex change the rates only in scenario `confounded`.
        let confounding = if scenario == Scenario::Confounded {
            c.age_per_sd.powf((age - 78.0) / 8.0) * if sex == Sex::Male { c.men } else { 1.0 }
        } else {
            1.0
        };
        let person = Person {
            arm,
            frailty: gamma(rng, FRAILTY_SHAPE) / FRAILTY_SHAPE * confounding,
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

/// Covariates of `--adjust`: in the outcome model (each also × after) age band and sex; in
/// the propensity score for the overlap weights also each indicator's before-window use.
const ADJUST_COVARIATES: [Covariate; 3] =
    [Covariate::AgeBand, Covariate::Sex, Covariate::BeforeUse];

/// The analysis the study calibrates: `before` = days −365..−1 and `after` = days 0..364,
/// with the count model and the adjustment asked for.
fn analysis_params(settings: &Settings) -> AnalysisParams {
    let mut params = AnalysisParams::before_after(365, 365);
    params.count_model = settings.count_model;
    params.variance = settings.cluster_variance;
    if settings.adjust {
        params.confounders = Some(ConfounderAdjustment {
            covariates: ADJUST_COVARIATES.to_vec(),
            weighting: Weighting::Overlap,
        });
    }
    params
}

/// One person's follow-up as analyze's Kaplan–Meier takes it: arm, last observed day
/// (exit, or the end of data), and whether it ended in death.
type Exit = (Arm, f64, bool);

/// The real path: deid with the demo key (every id is synthetic), then analyze with
/// `params`; also each person's follow-up from the de-identified participants, defined as
/// analyze defines it for Kaplan–Meier (the truth population's curve is made from these).
fn deid_and_analyze(
    input: &Identifiable,
    params: &AnalysisParams,
) -> Result<(Analysis, Vec<Exit>), String> {
    let deid = deidentify(input, &DeidParams::new(data_end()), &Key::demo())
        .map_err(|e| format!("deid failed: {e}"))?;
    let exits = deid
        .participants()
        .iter()
        .filter_map(|p| {
            let end = p.exit_day.map_or(p.data_end_day, |exit| exit.min(p.data_end_day));
            let death = p.exit_reason == Some(ExitReason::Death)
                && p.exit_day.is_some_and(|d| d <= p.data_end_day);
            (end >= 0).then_some((p.arm, f64::from(end), death))
        })
        .collect();
    Ok((analyze(&deid, params), exits))
}

// ---------------------------------------------------------------------------------------
// Quantities, estimates and truth
// ---------------------------------------------------------------------------------------

/// Days at which the Kaplan–Meier curves are read.
const SURVIVAL_DAYS: [i32; 3] = [90, 180, 365];

/// What a row estimates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Kind {
    /// After/before within an arm (`comparisons`, scope `arm`, `rate_ratio`).
    RateRatio,
    /// Pilot vs comparison (`comparisons`, scope `all`, `ratio_of_rate_ratios`).
    RatioOfRateRatios,
    /// Pilot/comparison after inclusion (`rate_ratio_pilot_vs_comparison`, mortality).
    ArmsAfter,
    /// The placebo difference in differences over the before bins
    /// (`pretrend_ratio_of_trends`).
    Pretrend,
    /// A pooled rate (`rates`).
    Rate,
    /// `diff` of a within-arm row: after − before, per person-year.
    DiffWithinArm,
    /// `diff` of a pilot-vs-comparison row: the difference in differences of rates.
    DiffInDiffs,
    /// `diff` of the mortality row between the arms: pilot − comparison after inclusion.
    DiffArmsAfter,
    /// A rate in a 30-day bin around inclusion (`event_time`).
    EventTime,
    /// Kaplan–Meier survival at a day (`survival`).
    Survival,
}

impl Kind {
    fn label(self) -> &'static str {
        match self {
            Kind::RateRatio => "rate_ratio",
            Kind::RatioOfRateRatios => "ratio_of_rate_ratios",
            Kind::ArmsAfter => "rate_ratio_pilot_vs_comparison",
            Kind::Pretrend => "pretrend_ratio_of_trends",
            Kind::Rate => "rate",
            Kind::DiffWithinArm => "after − before",
            Kind::DiffInDiffs => "diff in diffs",
            Kind::DiffArmsAfter => "pilot − comparison after",
            Kind::EventTime => "event-time rate",
            Kind::Survival => "survival",
        }
    }

    /// A `comparisons` row's kind, from its scope and `effect_size_kind`.
    fn of_comparison(scope: &str, effect: &str) -> Option<Kind> {
        match (scope, effect) {
            ("arm", "rate_ratio") => Some(Kind::RateRatio),
            ("all", "ratio_of_rate_ratios") => Some(Kind::RatioOfRateRatios),
            ("all", "rate_ratio_pilot_vs_comparison") => Some(Kind::ArmsAfter),
            ("all", "pretrend_ratio_of_trends") => Some(Kind::Pretrend),
            _ => None,
        }
    }

    /// The kind of the `diff` column of a comparison row of this kind.
    fn diff(self) -> Option<Kind> {
        match self {
            Kind::RateRatio => Some(Kind::DiffWithinArm),
            Kind::RatioOfRateRatios => Some(Kind::DiffInDiffs),
            Kind::ArmsAfter => Some(Kind::DiffArmsAfter),
            _ => None,
        }
    }

    /// Differences are tabulated on their own scale; ratios, rates and survival on the log
    /// scale.
    fn linear(self) -> bool {
        matches!(self, Kind::DiffWithinArm | Kind::DiffInDiffs | Kind::DiffArmsAfter)
    }

    /// Rows of `comparisons` (effect sizes and their `diff`s).
    fn is_comparison(self) -> bool {
        self < Kind::Rate || self.linear()
    }
}

/// One tabulated row: indicator × kind × arm (× period for rates, × bin or day).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Quantity {
    indicator: String,
    kind: Kind,
    arm: Option<Arm>,
    period: Option<String>,
    /// The event-time bin, or the day of a survival estimate.
    at: Option<i32>,
}

impl Quantity {
    fn new(indicator: &str, kind: Kind, arm: Option<Arm>) -> Self {
        Quantity { indicator: indicator.to_owned(), kind, arm, period: None, at: None }
    }

    fn scope(&self) -> String {
        let arm = self.arm.map_or("?", Arm::code);
        match self.kind {
            Kind::RatioOfRateRatios
            | Kind::ArmsAfter
            | Kind::Pretrend
            | Kind::DiffInDiffs
            | Kind::DiffArmsAfter => "all".into(),
            Kind::RateRatio | Kind::DiffWithinArm => format!("arm {arm}"),
            Kind::Rate => format!("{arm} {}", self.period.as_deref().unwrap_or("?")),
            Kind::EventTime => format!("{arm} bin {}", self.at.unwrap_or_default()),
            Kind::Survival => format!("{arm} day {}", self.at.unwrap_or_default()),
        }
    }
}

/// One replicate's value of a quantity: the estimate, the interval and, without one, why.
#[derive(Debug, Clone)]
struct Estimate {
    value: Option<f64>,
    interval: Option<(f64, f64)>,
    method: String,
    /// The estimate differs from the one the replicate's own pooled totals give (the
    /// truth is defined from pooled totals; a model that is not a saturated Poisson model
    /// estimates something else).
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

/// Totals of one indicator × arm × event-time bin: value and person-years.
type BinTotals = BTreeMap<(String, Arm, i32), (f64, f64)>;

fn bin_totals(rows: &[EventTimeRow]) -> BinTotals {
    rows.iter()
        .map(|r| ((r.indicator.clone(), r.arm, r.bin), (r.value_total, r.person_years)))
        .collect()
}

/// A quantity's value from pooled totals: a rate, a ratio or a difference of rates;
/// `None` when a denominator is zero (and for kinds not made of `rates`).
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
    let minus = |a: Option<f64>, b: Option<f64>| Some(a? - b?);
    let rate_ratio = |arm| ratio(rate(arm, "after"), rate(arm, "before"));
    let change = |arm| minus(rate(arm, "after"), rate(arm, "before"));
    let (pilot, comparison) = (Arm::Pilot, Arm::Comparison);
    match q.kind {
        Kind::Rate => rate(q.arm?, q.period.as_deref()?),
        Kind::RateRatio => rate_ratio(q.arm?),
        Kind::RatioOfRateRatios => ratio(rate_ratio(pilot), rate_ratio(comparison)),
        Kind::ArmsAfter => ratio(rate(pilot, "after"), rate(comparison, "after")),
        Kind::DiffWithinArm => change(q.arm?),
        Kind::DiffInDiffs => minus(change(pilot), change(comparison)),
        Kind::DiffArmsAfter => minus(rate(pilot, "after"), rate(comparison, "after")),
        Kind::Pretrend | Kind::EventTime | Kind::Survival => None,
    }
}

/// An event-time bin's pooled rate.
fn bin_rate(bins: &BinTotals, q: &Quantity) -> Option<f64> {
    let &(v, py) = bins.get(&(q.indicator.clone(), q.arm?, q.at?))?;
    (py > 0.0).then(|| v / py)
}

/// Kaplan–Meier survival of `arm` at each of `days` (the step function: the last step at
/// or before the day; 1 before the first).
fn survival_at(exits: &[Exit], arm: Arm, days: &[i32]) -> Option<Vec<f64>> {
    let (time, event): (Vec<f64>, Vec<bool>) =
        exits.iter().filter(|e| e.0 == arm).map(|e| (e.1, e.2)).unzip();
    let steps = folge_stats::kaplan_meier(&time, &event, 0.95).ok()?;
    Some(
        days.iter()
            .map(|&d| {
                steps
                    .iter()
                    .take_while(|s| s.time <= f64::from(d))
                    .last()
                    .map_or(1.0, |s| s.survival)
            })
            .collect(),
    )
}

/// Whether two estimates of `kind` agree to rounding: ratios relative to their size,
/// differences of rates to 1e-6 per person-year (a difference near 0 of two large rates
/// keeps only the rates' relative precision).
fn same(kind: Kind, a: f64, b: f64) -> bool {
    let tolerance = if kind.linear() { 1e-6 } else { 1e-9 * a.abs().max(b.abs()).max(1e-12) };
    (a - b).abs() <= tolerance
}

/// Whether an estimate differs from the one pooled totals give (a row without an estimate
/// does not: it is counted as such).
fn differs(kind: Kind, estimate: Option<f64>, pooled: Option<f64>) -> bool {
    match (estimate, pooled) {
        (Some(a), Some(b)) => !same(kind, a, b),
        (Some(_), None) => true,
        (None, _) => false,
    }
}

/// The rows of one analysis this study tabulates: comparisons of scope `arm` and `all`
/// (effect sizes and their `diff`s), pooled rates, event-time bins, and Kaplan–Meier
/// survival at [`SURVIVAL_DAYS`].
fn observe(analysis: &Analysis) -> BTreeMap<Quantity, Estimate> {
    let totals = totals(&analysis.rates);
    let mut out = BTreeMap::new();
    for r in &analysis.comparisons {
        let Some(kind) = Kind::of_comparison(&r.scope, &r.effect_size_kind) else {
            continue;
        };
        let q = Quantity::new(&r.measure, kind, r.arm);
        // A within-person ratio is not meant to be the pooled one: its truth is its own.
        // (Its `diff` is the pooled one.)
        let off_pooled = kind != Kind::Pretrend
            && !within_person(&r.method)
            && differs(kind, r.effect_size, from_totals(&totals, &q));
        let estimate = Estimate {
            value: r.effect_size,
            interval: r.ci_low.zip(r.ci_high),
            method: r.method.clone(),
            off_pooled,
        };
        out.insert(q, estimate);
        if let Some(kind) = kind.diff() {
            let q = Quantity::new(&r.measure, kind, r.arm);
            let estimate = Estimate {
                value: r.diff,
                interval: r.diff_ci_low.zip(r.diff_ci_high),
                method: r.method.clone(),
                off_pooled: differs(kind, r.diff, from_totals(&totals, &q)),
            };
            out.insert(q, estimate);
        }
    }
    for r in &analysis.rates {
        let q = Quantity {
            period: Some(r.period.clone()),
            ..Quantity::new(&r.indicator, Kind::Rate, Some(r.arm))
        };
        let interval = r.ci_low.zip(r.ci_high);
        let method = if interval.is_some() {
            String::new()
        } else {
            "no interval in `rates` (no events, or fewer than two persons)".into()
        };
        out.insert(q, Estimate { value: r.rate_per_py, interval, method, off_pooled: false });
    }
    for r in &analysis.event_time {
        let q = Quantity {
            at: Some(r.bin),
            ..Quantity::new(&r.indicator, Kind::EventTime, Some(r.arm))
        };
        let interval = r.ci_low.zip(r.ci_high);
        let method = if interval.is_some() {
            String::new()
        } else {
            "no interval in `event_time` (no events, or fewer than two persons)".into()
        };
        out.insert(q, Estimate { value: r.rate_per_py, interval, method, off_pooled: false });
    }
    for arm in [Arm::Pilot, Arm::Comparison] {
        for day in SURVIVAL_DAYS {
            let q =
                Quantity { at: Some(day), ..Quantity::new("survival", Kind::Survival, Some(arm)) };
            let step = analysis.survival.iter().rev().find(|s| s.arm == arm && s.day <= day);
            let estimate = match step {
                Some(s) => {
                    let interval = s.ci_low.zip(s.ci_high);
                    let method = if interval.is_some() {
                        String::new()
                    } else {
                        "no interval in `survival`".into()
                    };
                    Estimate { value: Some(s.survival), interval, method, off_pooled: false }
                }
                None => Estimate {
                    value: None,
                    interval: None,
                    method: "no Kaplan–Meier step at or before the day".into(),
                    off_pooled: false,
                },
            };
            out.insert(q, estimate);
        }
    }
    out
}

/// One truth chunk's results.
#[derive(Debug, Clone, Default)]
struct Chunk {
    totals: Totals,
    bins: BinTotals,
    exits: Vec<Exit>,
    /// The chunk's own estimates of every `comparisons` quantity (effect sizes and
    /// `diff`s), with the study's model.
    estimates: BTreeMap<Quantity, f64>,
    /// Quantities estimated within persons (person fixed effects) in this chunk.
    within_person: std::collections::BTreeSet<Quantity>,
    events: usize,
}

/// The truth population: pooled totals of every chunk, kept per chunk too for the
/// truth's Monte-Carlo error.
#[derive(Debug, Clone, Default)]
struct Truth {
    totals: Totals,
    bins: BinTotals,
    /// Kaplan–Meier survival per arm × day of [`SURVIVAL_DAYS`] over the whole population,
    /// and the Monte-Carlo SE of its log (from the chunks' own curves).
    survival: BTreeMap<(Arm, i32), (f64, Option<f64>)>,
    chunks: Vec<Chunk>,
    persons: usize,
    events: usize,
    /// Scenario `confounded`: the comparisons between the arms have the truth of no
    /// effect (1, or 0 for differences), not the pooled values, which confounding moves.
    causal_null: bool,
    /// Ratios estimated within persons in every chunk (after/before, pilot vs comparison):
    /// their truth is the model's own estimand (see [`Truth::model`]), not a ratio of
    /// pooled rates.
    within_person: std::collections::BTreeSet<Quantity>,
}

/// Whether a comparison's `method` says its estimate is within persons (fixed effects):
/// after/before within an arm, and the ratio of the arms' ratios.
fn within_person(method: &str) -> bool {
    method.starts_with("within-person") || method.starts_with("ratio of the arms' within-person")
}

/// Chunks the truth population is simulated in: memory stays bounded, and their spread
/// gives the truth's Monte-Carlo error.
const TRUTH_CHUNKS: usize = 20;

impl Truth {
    /// A quantity's truth: folge's point estimate on the whole population from pooled
    /// totals (rates, ratios and differences of pooled rates; event-time bins' pooled
    /// rates), Kaplan–Meier on the whole population, and 1 for the pre-trend ratio — by
    /// construction: before inclusion the arms are the same process (the pilot's effect
    /// starts at inclusion), whatever the scenario.
    fn value(&self, q: &Quantity) -> Option<f64> {
        if self.causal_null {
            match q.kind {
                Kind::RatioOfRateRatios | Kind::ArmsAfter => return Some(1.0),
                Kind::DiffInDiffs | Kind::DiffArmsAfter => return Some(0.0),
                _ => {}
            }
        }
        self.pooled(q)
    }

    /// A quantity's value on the whole truth population (see [`Truth::value`]).
    fn pooled(&self, q: &Quantity) -> Option<f64> {
        if self.within_person.contains(q) {
            return self.model(q).map(|(m, _)| m);
        }
        match q.kind {
            Kind::Pretrend => Some(1.0),
            Kind::EventTime => bin_rate(&self.bins, q),
            Kind::Survival => self.survival.get(&(q.arm?, q.at?)).map(|s| s.0),
            _ => from_totals(&self.totals, q),
        }
    }

    /// The Monte-Carlo SE of the truth on the scale it is tabulated on (log; differences
    /// as they are): the SD of the chunks' values / √chunks (the pooled value is close to
    /// the mean of equal chunks). For the pre-trend row, the SE of the population's own
    /// estimate.
    fn mc_se(&self, q: &Quantity) -> Option<f64> {
        if q.kind == Kind::Survival {
            return self.survival.get(&(q.arm?, q.at?)).and_then(|s| s.1);
        }
        if self.within_person.contains(q) || q.kind == Kind::Pretrend {
            return self.model(q).map(|(_, se)| se);
        }
        let values: Option<Vec<f64>> = self
            .chunks
            .iter()
            .map(|c| match q.kind {
                Kind::EventTime => bin_rate(&c.bins, q),
                _ => from_totals(&c.totals, q),
            })
            .collect();
        scaled_se(q.kind, &values?)
    }

    /// The estimand of the study's own model where it is not made of pooled totals
    /// (negative binomial, adjusted): the chunks' estimates with that model, averaged on
    /// the tabulated scale (a geometric mean for ratios), with its Monte-Carlo SE. Each
    /// chunk has `persons / TRUTH_CHUNKS` persons per arm, so the estimator's own
    /// small-sample bias is a chunk's, not a replicate's.
    fn model(&self, q: &Quantity) -> Option<(f64, f64)> {
        let values: Option<Vec<f64>> =
            self.chunks.iter().map(|c| c.estimates.get(q).copied()).collect();
        let values = values?;
        let scaled = to_scale(q.kind, &values)?;
        let mean = scaled.iter().sum::<f64>() / scaled.len() as f64;
        let value = if q.kind.linear() { mean } else { mean.exp() };
        Some((value, scaled_se(q.kind, &values)?))
    }

    /// The pre-trend ratio of the whole population: the placebo difference in differences
    /// on its chunks, averaged on the log scale.
    fn pretrend(&self, q: &Quantity) -> Option<f64> {
        self.model(q).map(|(m, _)| m)
    }
}

/// Values on the tabulated scale: logs (`None` if one is not positive), or as they are.
fn to_scale(kind: Kind, values: &[f64]) -> Option<Vec<f64>> {
    if kind.linear() {
        return Some(values.to_vec());
    }
    values.iter().map(|v| (*v > 0.0).then(|| v.ln())).collect()
}

/// SD / √n of values on the tabulated scale.
fn scaled_se(kind: Kind, values: &[f64]) -> Option<f64> {
    let scaled = to_scale(kind, values)?;
    let se = sd(&scaled) / (scaled.len() as f64).sqrt();
    se.is_finite().then_some(se)
}

/// The truth population: [`TRUTH_CHUNKS`] chunks of one large population, each through
/// deid and analyze with the study's settings; pooled totals summed over the chunks, so
/// each ratio is folge's point estimate on the whole population — a ratio of pooled
/// rates, which summing the chunks' totals gives exactly.
fn truth(settings: &Settings) -> Result<Truth, String> {
    let per_chunk = settings.truth_persons.div_ceil(TRUTH_CHUNKS);
    let params = analysis_params(settings);
    let chunks = in_order(TRUTH_CHUNKS, settings.threads, |k| {
        let mut rng = rng_for(settings.seed, 1, k as u64);
        let input = simulate(&mut rng, per_chunk, settings.scenario);
        let events = input.service_events.len();
        let (analysis, exits) = deid_and_analyze(&input, &params)?;
        let observed = observe(&analysis);
        let within_person = observed
            .iter()
            .filter(|(q, e)| {
                within_person(&e.method)
                    && matches!(q.kind, Kind::RateRatio | Kind::RatioOfRateRatios)
            })
            .map(|(q, _)| q.clone())
            .collect();
        let estimates = observed
            .into_iter()
            .filter(|(q, _)| q.kind.is_comparison())
            .filter_map(|(q, e)| Some((q, e.value?)))
            .collect();
        Ok(Chunk {
            totals: totals(&analysis.rates),
            bins: bin_totals(&analysis.event_time),
            exits,
            estimates,
            within_person,
            events,
        })
    })?;
    let mut truth = Truth {
        persons: per_chunk * TRUTH_CHUNKS,
        causal_null: settings.scenario == Scenario::Confounded,
        ..Truth::default()
    };
    let mut exits = Vec::new();
    for chunk in &chunks {
        truth.events += chunk.events;
        exits.extend_from_slice(&chunk.exits);
        for (key, (v, py)) in &chunk.totals {
            let s = truth.totals.entry(key.clone()).or_default();
            s.0 += v;
            s.1 += py;
        }
        for (key, (v, py)) in &chunk.bins {
            let s = truth.bins.entry(key.clone()).or_default();
            s.0 += v;
            s.1 += py;
        }
    }
    for arm in [Arm::Pilot, Arm::Comparison] {
        let whole = survival_at(&exits, arm, &SURVIVAL_DAYS)
            .ok_or_else(|| "no Kaplan–Meier curve for the truth population".to_owned())?;
        let per_chunk: Vec<Option<Vec<f64>>> =
            chunks.iter().map(|c| survival_at(&c.exits, arm, &SURVIVAL_DAYS)).collect();
        for (i, (&day, s)) in SURVIVAL_DAYS.iter().zip(whole).enumerate() {
            let values: Option<Vec<f64>> =
                per_chunk.iter().map(|c| c.as_ref().map(|c| c[i])).collect();
            let se = values.and_then(|v| scaled_se(Kind::Survival, &v));
            truth.survival.insert((arm, day), (s, se));
        }
    }
    truth.within_person = chunks
        .iter()
        .map(|c| c.within_person.clone())
        .reduce(|a, b| a.intersection(&b).cloned().collect())
        .unwrap_or_default();
    truth.chunks = chunks.into_iter().map(|c| Chunk { exits: Vec::new(), ..c }).collect();
    Ok(truth)
}

/// What the replicates gave.
#[derive(Debug, Clone, Default)]
struct Replicates {
    /// Per replicate, in index order.
    rows: Vec<BTreeMap<Quantity, Estimate>>,
    events: usize,
    deaths: usize,
    moves: usize,
}

/// Every replicate, simulated and analysed on `settings.threads` threads.
fn replicates(settings: &Settings) -> Result<Replicates, String> {
    let done = AtomicUsize::new(0);
    let params = analysis_params(settings);
    let results = in_order(settings.replicates, settings.threads, |i| {
        let mut rng = rng_for(settings.seed, 0, i as u64);
        let input = simulate(&mut rng, settings.persons, settings.scenario);
        let exits =
            |reason| input.participants.iter().filter(|p| p.exit_reason == Some(reason)).count();
        let (deaths, moves) = (exits(ExitReason::Death), exits(ExitReason::Moved));
        let (analysis, _) = deid_and_analyze(&input, &params)?;
        let n = done.fetch_add(1, Ordering::Relaxed) + 1;
        if n.is_multiple_of(100) {
            eprintln!("calibration: {n} of {} replicates", settings.replicates);
        }
        Ok((observe(&analysis), input.service_events.len(), deaths, moves))
    })?;
    let mut out = Replicates::default();
    for (rows, events, deaths, moves) in results {
        out.rows.push(rows);
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
    kind: Option<Kind>,
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
    /// The SE an interval implies on the tabulated scale: ln(high/low) / (2 z) for ratios
    /// and rates, ln(S/low) / z for survival (its upper limit is cut at 1), (high − low) /
    /// (2 z) for differences.
    implied_se: Vec<f64>,
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

    /// The estimates on the tabulated scale (logs of the positive ones for ratios).
    fn scaled(&self) -> Vec<f64> {
        if self.kind.is_some_and(Kind::linear) {
            return self.estimates.clone();
        }
        self.estimates.iter().filter(|v| **v > 0.0).map(|v| v.ln()).collect()
    }

    /// Median implied SE ÷ the replicates' SD of the estimate: below 1 means too narrow.
    fn width_ratio(&self) -> Option<f64> {
        let spread = sd(&self.scaled());
        let implied = median(self.implied_se.clone());
        (spread > 0.0 && implied.is_finite()).then(|| implied / spread)
    }
}

/// Tally one quantity over the replicates against `truth`.
fn calibrate(q: &Quantity, truth: Option<f64>, replicates: &Replicates) -> Calibration {
    let mut tally = Calibration {
        kind: Some(q.kind),
        replicates: replicates.rows.len(),
        ..Calibration::default()
    };
    for rows in &replicates.rows {
        let Some(estimate) = rows.get(q) else {
            *tally.reasons.entry("row missing from the output".into()).or_default() += 1;
            continue;
        };
        tally.off_pooled += usize::from(estimate.off_pooled);
        if let Some(value) = estimate.value {
            tally.with_estimate += 1;
            tally.estimates.push(value);
            tally.zeros += usize::from(value <= 0.0 && !q.kind.linear());
        }
        match (estimate.value, estimate.interval) {
            (Some(value), Some((low, high))) => {
                tally.with_interval += 1;
                if let Some(truth) = truth {
                    tally.below += usize::from(high < truth);
                    tally.above += usize::from(low > truth);
                }
                tally.widths.push(high - low);
                let implied = match q.kind {
                    kind if kind.linear() => Some((high - low) / (2.0 * Z95)),
                    Kind::Survival => (low > 0.0 && value > 0.0).then(|| (value / low).ln() / Z95),
                    _ => (low > 0.0 && high.is_finite()).then(|| (high / low).ln() / (2.0 * Z95)),
                };
                tally.implied_se.extend(implied);
            }
            _ => *tally.reasons.entry(estimate.method.clone()).or_default() += 1,
        }
    }
    tally
}

/// Whether a non-coverage misses the target.
fn off_target(scenario: Scenario, p: f64) -> bool {
    match scenario {
        Scenario::Effect => p > 0.07,
        Scenario::Null | Scenario::Confounded => !(0.03..=0.07).contains(&p),
    }
}

/// Pearson correlation (NaN for fewer than two points or no spread).
fn correlation(x: &[f64], y: &[f64]) -> f64 {
    let n = x.len().min(y.len()) as f64;
    let (mx, my) = (x.iter().sum::<f64>() / n, y.iter().sum::<f64>() / n);
    let (mut sxy, mut sxx, mut syy) = (0.0, 0.0, 0.0);
    for (a, b) in x.iter().zip(y) {
        sxy += (a - mx) * (b - my);
        sxx += (a - mx).powi(2);
        syy += (b - my).powi(2);
    }
    sxy / (sxx * syy).sqrt()
}

/// Sample skewness m3 / m2^(3/2).
fn skewness(x: &[f64]) -> f64 {
    let n = x.len() as f64;
    let mean = x.iter().sum::<f64>() / n;
    let m2 = x.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n;
    let m3 = x.iter().map(|v| (v - mean).powi(3)).sum::<f64>() / n;
    m3 / m2.powf(1.5)
}

/// Why a row misses, in numbers: how the replicates' estimates go with the SEs their
/// intervals imply (when small SEs come with estimates on one side, a Wald interval
/// misses on that side), the miss among the replicates with the smaller and with the
/// larger half of SEs, the skewness of the (log) estimate; for survival also the miss of
/// the log-log interval from the same Greenwood SE (`survfit(conf.type = "log-log")`:
/// S^exp(±z·se/ln S)).
fn diagnose(q: &Quantity, truth: f64, replicates: &Replicates) -> Option<String> {
    // (estimate on the tabulated scale, implied SE, missed, log-log missed)
    let mut points: Vec<(f64, f64, bool, Option<bool>)> = Vec::new();
    for rows in &replicates.rows {
        let Some(estimate) = rows.get(q) else {
            continue;
        };
        let (Some(value), Some((low, high))) = (estimate.value, estimate.interval) else {
            continue;
        };
        let linear = q.kind.linear();
        if !linear && (value <= 0.0 || low <= 0.0) {
            continue;
        }
        let (scaled, se) = match q.kind {
            _ if linear => (value, (high - low) / (2.0 * Z95)),
            Kind::Survival => (value.ln(), (value / low).ln() / Z95),
            _ => (value.ln(), (high / low).ln() / (2.0 * Z95)),
        };
        let log_log = (q.kind == Kind::Survival && value < 1.0).then(|| {
            let k = Z95 * se / value.ln().abs();
            truth < value.powf(k.exp()) || truth > value.powf((-k).exp())
        });
        points.push((scaled, se, high < truth || low > truth, log_log));
    }
    if points.len() < 10 {
        return None;
    }
    let scaled: Vec<f64> = points.iter().map(|p| p.0).collect();
    let ses: Vec<f64> = points.iter().map(|p| p.1).collect();
    let r = correlation(&scaled, &ses);
    points.sort_by(|a, b| a.1.total_cmp(&b.1));
    let half = points.len() / 2;
    let miss = |p: &[(f64, f64, bool, Option<bool>)]| {
        100.0 * p.iter().filter(|p| p.2).count() as f64 / p.len() as f64
    };
    let scale = if q.kind.linear() { "" } else { "log " };
    let mut text = format!(
        "corr({scale}estimate, implied SE) = {r:+.2}; miss {:.1} % among the half of replicates with the smaller SE, {:.1} % with the larger; skewness of the {scale}estimate {:+.2}",
        miss(&points[..half]),
        miss(&points[half..]),
        skewness(&scaled)
    );
    let log_log: Vec<bool> = points.iter().filter_map(|p| p.3).collect();
    if !log_log.is_empty() {
        let n = log_log.len() as f64;
        let p = log_log.iter().filter(|m| **m).count() as f64 / n;
        let _ = write!(
            text,
            "; the log-log interval from the same SE would miss {}",
            percent_se((p, (p * (1.0 - p) / n).sqrt()))
        );
        text.push_str(" %");
    }
    Some(text)
}

/// The target: under `null` non-coverage within 3–7 %, otherwise coverage ≥ 93 %.
fn judge(scenario: Scenario, p: f64) -> String {
    match scenario {
        Scenario::Null | Scenario::Confounded if p > 0.07 => {
            format!("too narrow ({:.1} % miss)", 100.0 * p)
        }
        Scenario::Null | Scenario::Confounded if p < 0.03 => {
            format!("too wide ({:.1} % miss)", 100.0 * p)
        }
        Scenario::Effect if p > 0.07 => {
            format!("under-covers ({:.1} % cover)", 100.0 * (1.0 - p))
        }
        _ => "ok".into(),
    }
}

/// A row's verdict: [`judge`], or why there is none.
fn verdict(scenario: Scenario, c: &Calibration, truth: Option<f64>) -> String {
    let Some((p, _)) = c.non_coverage() else {
        return if c.with_estimate == 0 { "no estimate".into() } else { "no interval".into() };
    };
    if truth.is_none() {
        return "no truth".into();
    }
    let mut v = judge(scenario, p);
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

/// A share in percent with its Monte-Carlo SE.
fn percent_se((p, se): (f64, f64)) -> String {
    format!("{:.1} ± {:.1}", 100.0 * p, 100.0 * se)
}

/// The analysis calibrated, in words.
fn model_text(settings: &Settings) -> String {
    let model = match settings.count_model {
        CountModel::Poisson => "Poisson GLM".to_owned(),
        CountModel::NegativeBinomial => {
            "negative binomial GLM for whole counts (Poisson for hours and deaths)".to_owned()
        }
    };
    let adjustment = if settings.adjust {
        let on: Vec<&str> = ADJUST_COVARIATES.iter().map(|c| c.id()).collect();
        format!(
            "pilot vs comparison adjusted (`--adjust`): covariates age_band and sex in the outcome model (each also × after), overlap weights from a logistic propensity score on {}",
            on.join(", ")
        )
    } else {
        "unadjusted".to_owned()
    };
    let variance = match settings.cluster_variance {
        ClusterVariance::Jackknife => {
            "SEs clustered by person: the jackknife (CV3) for pooled rates, the within-person comparisons (adjusted too) and mortality between the arms, the pre-trend check; CR1 for the negative binomial model, adjusted mortality and event-time bins"
        }
        ClusterVariance::Cr1 => "SEs clustered by person: CR1",
    };
    format!(
        "count model `{}` ({model}); cluster variance `{}` ({variance}); {adjustment}",
        settings.count_model.id(),
        settings.cluster_variance.id()
    )
}

/// The header: what was run, and the generator's parameters.
fn header(settings: &Settings, truth: &Truth, replicates: &Replicates) -> String {
    let r = replicates.rows.len();
    let mut s = String::new();
    let _ = writeln!(
        s,
        "# Calibration of folge's 95 % intervals — scenario `{}`{}{}{}\n",
        settings.scenario.id(),
        if settings.count_model == CountModel::Poisson {
            String::new()
        } else {
            format!(", `--count-model {}`", settings.count_model.id())
        },
        if settings.adjust { ", `--adjust`" } else { "" },
        if settings.cluster_variance == ClusterVariance::default() {
            String::new()
        } else {
            format!(", `--cluster-variance {}`", settings.cluster_variance.id())
        },
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
    let _ = writeln!(s, "Analysis: {}.\n", model_text(settings));
    let effect = match settings.scenario {
        Scenario::Null => "none".to_owned(),
        Scenario::Effect => format!("pilot arm after inclusion: every intensity × {EFFECT}"),
        Scenario::Confounded => {
            let c = CONFOUNDING;
            format!(
                "none, but confounded: mean age {} (pilot) vs {} (comparison), SD 8; men {} vs {}; frailty × {}^((age − 78)/8) × {} for men",
                c.pilot_age, c.comparison_age, c.pilot_men, c.comparison_men, c.age_per_sd, c.men
            )
        }
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
        "Truths: ratios, rates and differences are folge's Poisson point estimates from the truth population's pooled totals (ratios and differences of pooled rates), except the after/before ratios within an arm and their ratio between the arms, which are within-person (person fixed-effect) ratios: their truth is that model's estimate on the truth population's chunks, averaged on the log scale (not 1 even under no effect: the generator's deaths follow hospital stays, so a person's last weeks are busier than their before window); the pre-trend ratio (a placebo difference in differences: second half of the before bins against the first, within person) is 1 by construction (before inclusion each arm's process is stationary, and the arms differ in nothing but labels unless the scenario is `confounded`; checked below); under `confounded` the comparisons between the arms have the truth of no effect; event-time truths are the population's pooled bin rates, survival truths its Kaplan–Meier curve.\n"
    );
    let _ = writeln!(
        s,
        "Columns: *est./CI* replicates with an estimate / an interval; *miss %* intervals missing the truth (± Monte-Carlo SE √(p(1−p)/n), n = replicates with an interval), split into *below* (upper limit < truth) and *above* (lower limit > truth); *log bias %* = 100·(exp(mean log est. − log truth) − 1); *SD log* the replicates' SD of the log estimate; *CI SE log* the median SE an interval implies, ln(high/low)/(2·1.96) (survival: ln(S/low)/1.96, its upper limit is cut at 1); *÷* CI SE log ÷ SD log — below 1 means too narrow; *width* median high − low. Differences are tabulated on their own scale. Verdict: `null` wants 3–7 % miss, `effect` ≥ 93 % cover.\n"
    );
    s
}

/// The table head of ratios, rates and survival (log scale).
const LOG_HEAD: &str = "| indicator | effect | scope | truth | est./CI | miss % (± SE) | below / above % | mean est. | log bias % | SD log | CI SE log | ÷ | width | verdict |\n|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n";

/// The table head of differences of rates.
const LINEAR_HEAD: &str = "| indicator | diff | scope | truth | est./CI | miss % (± SE) | below / above % | mean est. | bias | SD | CI SE | ÷ | verdict |\n|---|---|---|---|---|---|---|---|---|---|---|---|---|\n";

/// One table row, with notes on replicates without an interval or off the pooled truth.
fn row(
    settings: &Settings,
    q: &Quantity,
    truth: &Truth,
    replicates: &Replicates,
    notes: &mut Vec<String>,
) -> String {
    let t = truth.value(q);
    let c = calibrate(q, t, replicates);
    let scaled = c.scaled();
    let mean = (!c.estimates.is_empty())
        .then(|| c.estimates.iter().sum::<f64>() / c.estimates.len() as f64);
    let miss = c.non_coverage().map_or("–".into(), percent_se);
    let split = if c.with_interval > 0 {
        let n = c.with_interval as f64;
        format!("{:.1} / {:.1}", 100.0 * c.below as f64 / n, 100.0 * c.above as f64 / n)
    } else {
        "–".into()
    };
    let ratio = c.width_ratio().map_or("–".into(), |r| format!("{r:.2}"));
    let line = if q.kind.linear() {
        let bias = mean.zip(t).map(|(m, t)| m - t);
        format!(
            "| {} | {} | {} | {} | {}/{} | {miss} | {split} | {} | {} | {} | {} | {ratio} | {} |",
            q.indicator,
            q.kind.label(),
            q.scope(),
            num(t),
            c.with_estimate,
            c.with_interval,
            num(mean),
            bias.map_or("–".into(), |b| format!("{b:+.3}")),
            num(Some(sd(&scaled))),
            num(Some(median(c.implied_se.clone()))),
            verdict(settings.scenario, &c, t),
        )
    } else {
        let log_bias = t.filter(|t| *t > 0.0 && !scaled.is_empty()).map(|t| {
            100.0 * ((scaled.iter().sum::<f64>() / scaled.len() as f64 - t.ln()).exp() - 1.0)
        });
        format!(
            "| {} | {} | {} | {} | {}/{} | {miss} | {split} | {} | {} | {} | {} | {ratio} | {} | {} |",
            q.indicator,
            q.kind.label(),
            q.scope(),
            num(t),
            c.with_estimate,
            c.with_interval,
            num(mean),
            log_bias.map_or("–".into(), |b| format!("{b:+.1}")),
            num(Some(sd(&scaled))),
            num(Some(median(c.implied_se.clone()))),
            num(Some(median(c.widths.clone()))),
            verdict(settings.scenario, &c, t),
        )
    };
    let name = format!("{} {} {}", q.indicator, q.kind.label(), q.scope());
    let missed = c.non_coverage().is_some_and(|(p, _)| off_target(settings.scenario, p));
    if (missed || q.kind == Kind::Survival)
        && let Some(why) = t.and_then(|t| diagnose(q, t, replicates))
    {
        let what = if missed { "off target" } else { "on target" };
        notes.push(format!("- {name} ({what}): {why}"));
    }
    if !c.reasons.is_empty() {
        let reasons: Vec<String> = c.reasons.iter().map(|(why, n)| format!("{n}× {why}")).collect();
        notes.push(format!(
            "- {name}: {} of {} replicates without an interval — {}",
            c.replicates - c.with_interval,
            c.replicates,
            reasons.join("; ")
        ));
    }
    if c.zeros > 0 {
        notes.push(format!("- {name}: {} estimates of 0 left out of the log columns", c.zeros));
    }
    if c.off_pooled > 0 {
        let against = truth.model(q).map_or_else(
            || "the truth population gives no estimate of it in every chunk".to_owned(),
            |(m, se)| {
                let c = calibrate(q, Some(m), replicates);
                format!(
                    "against the model's own estimand on the truth population ({}, MC SE {} on the tabulated scale; the chunks' estimates averaged) the miss is {} %",
                    num(Some(m)),
                    num(Some(se)),
                    c.non_coverage().map_or("–".into(), percent_se)
                )
            },
        );
        notes.push(format!(
            "- {name}: in {} replicates the estimate is not the one pooled totals give, so the truth above (made of pooled totals) may not be what it estimates; {against}",
            c.off_pooled
        ));
    }
    line
}

/// Event-time rows of one indicator × arm over `bins`: per replicate the share of its
/// bins' intervals that miss, averaged over replicates (its SE from the replicates' spread,
/// so the bins' correlation within a replicate is allowed for), the worst single bin, and
/// the bins outside 3–7 %.
fn event_time_row(
    settings: &Settings,
    (indicator, arm): (&str, Arm),
    (label, bins): (&str, std::ops::Range<i32>),
    truth: &Truth,
    replicates: &Replicates,
    notes: &mut Vec<String>,
) -> Option<String> {
    let quantities: Vec<Quantity> = bins
        .map(|b| Quantity { at: Some(b), ..Quantity::new(indicator, Kind::EventTime, Some(arm)) })
        .collect();
    let truths: Vec<Option<f64>> = quantities.iter().map(|q| truth.value(q)).collect();
    let (mut shares, mut intervals, mut below, mut above) = (Vec::new(), 0usize, 0usize, 0usize);
    let mut reasons: BTreeMap<String, usize> = BTreeMap::new();
    for rows in &replicates.rows {
        let (mut with, mut miss) = (0usize, 0usize);
        for (q, t) in quantities.iter().zip(&truths) {
            let Some(e) = rows.get(q) else {
                *reasons.entry("bin missing from the output".into()).or_default() += 1;
                continue;
            };
            match (e.interval, t) {
                (Some((low, high)), Some(t)) => {
                    with += 1;
                    below += usize::from(high < *t);
                    above += usize::from(low > *t);
                    miss += usize::from(high < *t || low > *t);
                }
                _ => *reasons.entry(e.method.clone()).or_default() += 1,
            }
        }
        intervals += with;
        if with > 0 {
            shares.push(miss as f64 / with as f64);
        }
    }
    if shares.is_empty() && reasons.is_empty() {
        return None;
    }
    let per_bin: Vec<(i32, Calibration)> = quantities
        .iter()
        .zip(&truths)
        .map(|(q, t)| (q.at.unwrap_or_default(), calibrate(q, *t, replicates)))
        .collect();
    let misses: Vec<(i32, f64)> =
        per_bin.iter().filter_map(|(b, c)| Some((*b, c.non_coverage()?.0))).collect();
    let worst = misses.iter().max_by(|a, b| a.1.total_cmp(&b.1));
    let outside = misses.iter().filter(|(_, p)| !(0.03..=0.07).contains(p)).count();
    let ratios: Vec<f64> = per_bin.iter().filter_map(|(_, c)| c.width_ratio()).collect();
    let known: Vec<f64> = truths.iter().flatten().copied().collect();
    let range = if known.is_empty() {
        "–".to_owned()
    } else {
        let (lo, hi) = known
            .iter()
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), v| (l.min(*v), h.max(*v)));
        format!("{}–{}", num(Some(lo)), num(Some(hi)))
    };
    let mean_share = (!shares.is_empty()).then(|| {
        let m = shares.iter().sum::<f64>() / shares.len() as f64;
        (m, sd(&shares) / (shares.len() as f64).sqrt())
    });
    let split = if intervals > 0 {
        let n = intervals as f64;
        format!("{:.1} / {:.1}", 100.0 * below as f64 / n, 100.0 * above as f64 / n)
    } else {
        "–".into()
    };
    let total = quantities.len() * replicates.rows.len();
    if !reasons.is_empty() {
        let reasons: Vec<String> = reasons.iter().map(|(why, n)| format!("{n}× {why}")).collect();
        notes.push(format!(
            "- {indicator} event time {} {label}: {} of {total} bin estimates without an interval — {}",
            arm.code(),
            total - intervals,
            reasons.join("; ")
        ));
    }
    let verdict = match mean_share {
        None => "no interval".to_owned(),
        Some((p, _)) => {
            let mut v = judge(settings.scenario, p);
            if intervals < total {
                let _ = write!(v, "; CI in {intervals} of {total}");
            }
            v
        }
    };
    Some(format!(
        "| {indicator} | {} | {label} | {range} | {intervals}/{total} | {} | {split} | {} | {outside} of {} | {} | {verdict} |",
        arm.code(),
        mean_share.map_or("–".into(), percent_se),
        worst.map_or("–".into(), |(b, p)| format!("bin {b}: {:.1}", 100.0 * p)),
        misses.len(),
        if ratios.is_empty() { "–".into() } else { format!("{:.2}", median(ratios)) },
    ))
}

/// A section of the report: title, table head, and which kinds it holds.
type Section = (&'static str, &'static str, fn(Kind) -> bool);

/// The Markdown report: header; ratios, rates, differences, event-time bins and survival,
/// each sorted by indicator; the truths with their Monte-Carlo error; notes.
fn report(settings: &Settings, truth: &Truth, replicates: &Replicates) -> String {
    let mut s = header(settings, truth, replicates);
    let mut keys: Vec<&Quantity> = replicates.rows.iter().flat_map(BTreeMap::keys).collect();
    keys.sort();
    keys.dedup();
    let mut notes = Vec::new();
    let sections: [Section; 4] = [
        (
            "## Ratios (`comparisons`: after/before within each arm, pilot vs comparison, mortality between the arms after inclusion, pre-trend)",
            LOG_HEAD,
            |k| k < Kind::Rate,
        ),
        ("## Pooled rates (`rates`, `ci_low`/`ci_high`)", LOG_HEAD, |k| k == Kind::Rate),
        (
            "## Differences of rates per person-year (`diff`, `diff_ci_low`/`diff_ci_high`)",
            LINEAR_HEAD,
            Kind::linear,
        ),
        (
            "## Kaplan–Meier survival from inclusion (`survival`, the step function at the day)",
            LOG_HEAD,
            |k| k == Kind::Survival,
        ),
    ];
    for (title, head, keep) in sections {
        let _ = writeln!(s, "{title}\n");
        s.push_str(head);
        for q in keys.iter().filter(|q| keep(q.kind)) {
            let line = row(settings, q, truth, replicates, &mut notes);
            let _ = writeln!(s, "{line}");
        }
        s.push('\n');
    }
    s.push_str("## Event-time bins (`event_time`), per indicator × arm over the 12 bins before and the 12 after inclusion\n\n");
    s.push_str("*mean miss %*: each replicate's share of bins whose interval misses the bin's truth, averaged (± SE from the replicates' spread); *worst bin* the bin with the most misses; *÷* median over bins of CI SE log ÷ SD log.\n\n");
    s.push_str("| indicator | arm | bins | truth (min–max) | CI | mean miss % (± SE) | below / above % | worst bin (miss %) | bins outside 3–7 % | ÷ | verdict |\n|---|---|---|---|---|---|---|---|---|---|---|\n");
    let pairs: std::collections::BTreeSet<(&str, Arm)> = keys
        .iter()
        .filter(|q| q.kind == Kind::EventTime)
        .filter_map(|q| Some((q.indicator.as_str(), q.arm?)))
        .collect();
    for (indicator, arm) in pairs {
        let before = -(BINS_BEFORE as i32)..0;
        let after = 0..(BINS - BINS_BEFORE) as i32;
        for half in [("before −12…−1", before), ("after 0…11", after)] {
            if let Some(line) =
                event_time_row(settings, (indicator, arm), half, truth, replicates, &mut notes)
            {
                let _ = writeln!(s, "{line}");
            }
        }
    }
    s.push_str("\n## Truth and its Monte-Carlo error\n\n");
    s.push_str("| indicator | effect | scope | truth | MC SE of truth | ÷ SD est. |\n|---|---|---|---|---|---|\n");
    for q in keys.iter().filter(|q| q.kind != Kind::EventTime) {
        let t = truth.value(q);
        let se = truth.mc_se(q);
        let spread = sd(&calibrate(q, t, replicates).scaled());
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} | {} | {} |",
            q.indicator,
            q.kind.label(),
            q.scope(),
            num(t),
            num(se),
            se.filter(|_| spread.is_finite() && spread > 0.0)
                .map_or("–".into(), |se| format!("{:.3}", se / spread)),
        );
    }
    s.push_str("\nMC SE on the tabulated scale: of the log truth for ratios, rates and survival, of the truth itself for differences; for the pre-trend row, of the population's own estimate (next table).\n");
    s.push_str(
        "\n## Pre-trend: the truth population's own estimate (the truth is 1 by construction)\n\n",
    );
    s.push_str("| indicator | estimate | MC SE log | z = ln(estimate) / SE |\n|---|---|---|---|\n");
    let mut largest = 0.0f64;
    for q in keys.iter().filter(|q| q.kind == Kind::Pretrend) {
        let estimate = truth.pretrend(q);
        let se = truth.mc_se(q);
        let z = estimate.zip(se).filter(|(e, se)| *e > 0.0 && *se > 0.0).map(|(e, se)| e.ln() / se);
        largest = largest.max(z.map_or(0.0, f64::abs));
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} |",
            q.indicator,
            num(estimate),
            num(se),
            z.map_or("–".into(), |z| format!("{z:+.2}"))
        );
    }
    s.push_str("\n## Notes\n\n");
    let _ = writeln!(
        s,
        "- Pre-trend truth: the truth population's own pre-trend ratios are within {largest:.1} Monte-Carlo SEs of 1."
    );
    if settings.scenario == Scenario::Null {
        // By symmetry the true ratios between the arms are 1: the truth population's
        // distance from 1 in units of its own Monte-Carlo SE checks that SE.
        let z: Vec<f64> = keys
            .iter()
            .filter(|q| matches!(q.kind, Kind::RatioOfRateRatios | Kind::ArmsAfter))
            .filter_map(|q| Some(truth.value(q)?.ln() / truth.mc_se(q)?))
            .collect();
        let largest = z.iter().fold(0.0f64, |m, z| m.max(z.abs()));
        let _ = writeln!(
            s,
            "- Symmetry check: the truth population's ratios between the arms (ratios of rate ratios, mortality pilot/comparison; exactly 1 under `null`) are within {largest:.1} Monte-Carlo SEs of 1 over {} rows.",
            z.len()
        );
    }
    if settings.scenario == Scenario::Confounded {
        let pooled: Vec<String> = keys
            .iter()
            .filter(|q| {
                matches!(q.kind, Kind::RatioOfRateRatios | Kind::ArmsAfter | Kind::DiffInDiffs)
            })
            .filter_map(|q| {
                let v = truth.pooled(q)?;
                let se = truth.mc_se(q)?;
                let z = if q.kind.linear() { v / se } else { v.ln() / se };
                Some(format!("{} {} {} (z = {z:+.1})", q.indicator, q.kind.label(), num(Some(v))))
            })
            .collect();
        let _ = writeln!(
            s,
            "- Scenario `confounded`: the truth of the comparisons between the arms is no effect (1; 0 for differences). What the truth population's pooled totals give instead — what the unadjusted models estimate — with its distance from no effect in Monte-Carlo SEs: {}.",
            pooled.join("; ")
        );
    }
    if settings.adjust && settings.scenario == Scenario::Confounded {
        s.push_str("- `--adjust` under `confounded`: the adjusted ratio of rate ratios estimates no effect only if the arms' trends are parallel given age band and sex; within a band (18–66, 67–79, 80+) age still differs between the arms, so some confounding can remain. The mortality row between the arms is never adjusted (analyze fits `value ~ pilot` for it, without covariates or weights).\n");
    } else if settings.adjust {
        s.push_str("- `--adjust`: the adjusted ratio of rate ratios is not a ratio of pooled rates. Its truth here is still the pooled ratio of rate ratios: in this generator age and sex change no rate and do not depend on the arm, so the outcome model's covariate terms are 0 in the population, the population's propensity score is constant (overlap weights constant), and the adjusted model's estimand equals the unadjusted one — 1 under `null` by exchangeability, and under `effect` the pooled ratio of rate ratios of the truth population. The note on each such row gives the miss against the adjusted model's own estimate on the truth population as well.\n");
    }
    if settings.count_model == CountModel::NegativeBinomial {
        s.push_str("- `--count-model negative_binomial`: with person-time differing between persons, the negative binomial fit weights persons differently from pooling, so its within-arm estimand is not the ratio of pooled rates where follow-up depends on frailty (deaths end the frailest persons' after window early); between the arms it is 1 under `null` by exchangeability. Rows whose estimates differ from pooled totals carry a note with the miss against the model's own estimate on the truth population.\n");
    }
    for n in notes {
        s.push_str(&n);
        s.push('\n');
    }
    s
}

//! De-identification throughput: pseudonymise and scrub N rows (default 1 million;
//! `FOLGE_BENCH_ROWS` overrides) — service events to pseudonymise and shift to relative
//! days, and free-text answers to pseudonymise and scrub against a register of 50,000
//! named persons. Prints rows/s and the process's peak resident memory.
//!
//! Run with `cargo bench -p folge-deid`.
#![expect(clippy::print_stdout, reason = "a benchmark reports on stdout")]

use std::time::Instant;

use chrono::NaiveDate;
use folge_deid::{DeidParams, Identifiable, Key, deidentify};
use folge_schema::national_id::build;
use folge_schema::tables::{Participant, Response, ServiceEvent};
use folge_schema::{Arm, Service};

const PERSONS: usize = 50_000;
const FIRST: [&str; 12] =
    ["Kari", "Ola", "Anne", "Per", "Ingrid", "Lars", "Liv", "Knut", "Marit", "Dag", "Siri", "Arne"];
const LAST: [&str; 10] = [
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
];

fn peak_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map_or(0.0, |kb| kb / 1024.0)
}

fn participants() -> Vec<Participant> {
    let base = NaiveDate::from_ymd_opt(1930, 1, 1).expect("date");
    let inclusion = NaiveDate::from_ymd_opt(2020, 3, 1).expect("date");
    let mut out = Vec::with_capacity(PERSONS);
    let mut day = 0;
    while out.len() < PERSONS {
        let date = base + chrono::Duration::days(day);
        for id in (0..500).step_by(50).filter_map(|i| build(date, i, 0, 80)) {
            let n = out.len();
            out.push(Participant {
                person_id: id,
                name: Some(format!("{} {}{}", FIRST[n % 12], LAST[n % 10], n / 120)),
                sex: None,
                birth_date: Some(date),
                municipality: "4601".into(),
                site: None,
                arm: if n % 2 == 0 { Arm::Pilot } else { Arm::Comparison },
                target_group: None,
                inclusion_date: inclusion,
                exit_date: None,
                exit_reason: None,
            });
        }
        day += 1;
    }
    out.truncate(PERSONS);
    out
}

fn main() {
    let rows: usize =
        std::env::var("FOLGE_BENCH_ROWS").ok().and_then(|v| v.parse().ok()).unwrap_or(1_000_000);
    let people = participants();
    let start = NaiveDate::from_ymd_opt(2019, 6, 1).expect("date");
    let texts = [
        "Fastlegen følger meg opp to ganger per uke, det fungerer bra.",
        "Ring meg gjerne på 912 34 567 om noe er uklart.",
        "Koordinatoren {name} har vært til stor hjelp.",
        "",
        "Dag for dag blir det bedre, takk til {first} og teamet.",
    ];
    let mut input = Identifiable { participants: people, ..Identifiable::default() };
    for i in 0..rows / 2 {
        let p = &input.participants[i % PERSONS];
        input.service_events.push(ServiceEvent {
            person_id: p.person_id.clone(),
            service: Service::Gp,
            start_date: start + chrono::Duration::days((i % 700) as i64),
            end_date: None,
            quantity: None,
            acute: None,
            start_time: None,
            end_time: None,
        });
    }
    for i in 0..rows - rows / 2 {
        let p = &input.participants[(i * 7) % PERSONS];
        let other = &input.participants[(i * 13 + 1) % PERSONS];
        let name = other.name.clone().unwrap_or_default();
        let first = name.split(' ').next().unwrap_or_default().to_owned();
        let text = texts[i % texts.len()].replace("{name}", &name).replace("{first}", &first);
        input.responses.push(Response {
            person_id: p.person_id.clone(),
            timepoint: "T0".into(),
            response_date: Some(start),
            instrument: "pacic".into(),
            item: "kommentar".into(),
            value: None,
            text: (!text.is_empty()).then_some(text),
            identifier: false,
            value_date: None,
        });
    }
    let params = DeidParams::new(NaiveDate::from_ymd_opt(2021, 12, 31).expect("date"));
    let key = Key::demo();
    println!(
        "deid benchmark: {PERSONS} named persons; {} service events + {} free-text answers; single thread",
        input.service_events.len(),
        input.responses.len()
    );
    let started = Instant::now();
    let scrubber = folge_deid::scrubber_for(&input, &params);
    let built = started.elapsed().as_secs_f64();
    let started = Instant::now();
    let out = deidentify(&input, &params, &key).expect("deid");
    let secs = started.elapsed().as_secs_f64();
    let report = out.report();
    assert_eq!(out.service_events().len() + out.responses().len(), rows);
    assert_eq!(scrubber.scrub("Kari Hansen0 ringte").0, "[NAVN] ringte");
    println!("scrubber for {PERSONS} names built in {built:.2} s");
    println!(
        "{rows:>9} rows pseudonymised (+ {} free-text answers scrubbed: {} names, {} phones replaced) in {secs:.2} s: {:.0} rows/s, peak RSS {:.0} MiB (inputs held in memory)",
        input.responses.iter().filter(|r| r.text.is_some()).count(),
        report.responses.names,
        report.responses.phones,
        rows as f64 / secs,
        peak_mib()
    );
}

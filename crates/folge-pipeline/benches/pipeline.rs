//! The whole path: raw CSV → ingest → deid → analyze (indicators) for N service events
//! and P persons (default 1 million and 20,000, then 10 million and 200,000;
//! `FOLGE_BENCH_EVENTS` and `FOLGE_BENCH_PERSONS` override), sorted by person as extracts
//! come, run as `folge run` runs them (`run_stages`: deid hands the indicator table to
//! analyze in memory). Prints each stage's wall time (from the manifest), the CPU time
//! and the peak resident memory.
//! `FOLGE_BENCH_FILES=2` deals the rows alternately into two files, each sorted by person
//! (a hospital and a municipal extract): every person then comes twice, and analyze sorts
//! the events out by person in parts. `FOLGE_BENCH_DIR` keeps the inputs and the run in
//! that folder (for profiling one stage with `folge ingest|deid|analyze DIR/bench.toml`).
//!
//! Run with `cargo bench -p folge-pipeline`.
#![expect(clippy::print_stdout, reason = "a benchmark reports on stdout")]

use std::fmt::Write as _;
use std::io::{BufWriter, Write};
use std::path::Path;
use std::time::Instant;

use chrono::NaiveDate;
use folge_pipeline::{Pipeline, Stage};

/// The allocator the `folge` binary uses, so the bench measures what users run.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;
use folge_schema::national_id::build;

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

/// User + system CPU seconds of the whole process so far (`/proc/self/stat`, fields 14
/// and 15, in clock ticks of 1/100 s on Linux).
fn cpu_seconds() -> f64 {
    std::fs::read_to_string("/proc/self/stat")
        .ok()
        .and_then(|s| {
            let rest = s.rsplit_once(')')?.1;
            let fields: Vec<&str> = rest.split_whitespace().collect();
            let user: f64 = fields.get(11)?.parse().ok()?;
            let system: f64 = fields.get(12)?.parse().ok()?;
            Some((user + system) / 100.0)
        })
        .unwrap_or(0.0)
}

fn ids(n: usize) -> Vec<String> {
    let base = NaiveDate::from_ymd_opt(1930, 1, 1).expect("date");
    let mut out = Vec::with_capacity(n);
    let mut day = 0;
    while out.len() < n {
        let date = base + chrono::Duration::days(day);
        out.extend((0..500).step_by(25).filter_map(|i| build(date, i, 0, 80)));
        day += 1;
    }
    out.truncate(n);
    out
}

fn write_inputs(dir: &Path, persons: usize, events: usize) {
    let ids = ids(persons);
    let mut p =
        BufWriter::new(std::fs::File::create(dir.join("participants.csv")).expect("create"));
    writeln!(p, "person_id;municipality;arm;inclusion_date").expect("write");
    for (i, id) in ids.iter().enumerate() {
        let (municipality, arm) =
            if i % 2 == 0 { ("4601", "pilot") } else { ("4627", "comparison") };
        writeln!(p, "{id};{municipality};{arm};01.{:02}.2020", 1 + i % 12).expect("write");
    }
    p.flush().expect("flush");
    p.get_ref().sync_all().expect("sync");
    let files: usize =
        std::env::var("FOLGE_BENCH_FILES").ok().and_then(|v| v.parse().ok()).unwrap_or(1).max(1);
    let mut writers: Vec<BufWriter<std::fs::File>> = (0..files)
        .map(|f| {
            let mut w = BufWriter::with_capacity(
                1 << 20,
                std::fs::File::create(dir.join(format!("events_{f}.csv"))).expect("create"),
            );
            writeln!(w, "person_id,service,start_date,end_date,quantity,acute,kontakt_id")
                .expect("write");
            w
        })
        .collect();
    let services = ["gp", "outpatient", "home_nursing", "inpatient", "out_of_hours"];
    let mut state = 0x2545_f491_4f6c_dd1du64;
    for row in 0..events {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let id = &ids[row * persons / events];
        let e = &mut writers[row % files];
        let day = 1 + (state >> 30) % 26;
        let month = 1 + (state >> 40) % 12;
        let year = 2019 + (state >> 50) % 2;
        let _ = match services[((state >> 20) % 5) as usize] {
            "inpatient" => writeln!(
                e,
                "{id},inpatient,{year}-{month:02}-{day:02},{year}-{month:02}-{:02},,1,{row}",
                day + 2
            ),
            "home_nursing" => {
                writeln!(e, "{id},home_nursing,{year}-{month:02}-{day:02},,1.5,,{row}")
            }
            other => writeln!(e, "{id},{other},{day:02}.{month:02}.{year},,,,{row}"),
        };
    }
    for w in &mut writers {
        w.flush().expect("flush");
        // On disk before the clock starts, as a delivered extract is: otherwise the
        // kernel writes the fresh 470 MB back while the stages run, and they pay for it.
        w.get_ref().sync_all().expect("sync");
    }
    let event_inputs = (0..files).fold(String::new(), |mut text, f| {
        let _ = write!(text, "[[inputs.service_events]]\npath = \"events_{f}.csv\"\n\n");
        text
    });
    std::fs::write(
        dir.join("bench.toml"),
        format!("name = \"bench\"\noutput = \"run\"\nkey = \"demo\"\nallow_synthetic_ids = true\ndata_end = 2021-12-31\n\n[inputs.participants]\npath = \"participants.csv\"\n\n{event_inputs}[analyze]\ncomparisons = [\"before_after\", \"pilot_vs_comparison\"]\nindicators = [\"admissions\", \"bed_days\", \"outpatient_visits\", \"emergency_visits\", \"gp_contacts\", \"home_care_hours\"]\n"),
    )
    .expect("pipeline");
}

fn run(persons: usize, events: usize) {
    let temp = tempfile::tempdir().expect("temp dir");
    let dir =
        std::env::var_os("FOLGE_BENCH_DIR").map_or_else(|| temp.path().to_path_buf(), Into::into);
    std::fs::create_dir_all(&dir).expect("bench dir");
    write_inputs(&dir, persons, events);
    let bytes: u64 = std::fs::read_dir(&dir)
        .expect("dir")
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().starts_with("events_"))
        .map(|e| e.metadata().map_or(0, |m| m.len()))
        .sum();
    let pipeline = Pipeline::load(&dir.join("bench.toml")).expect("pipeline");
    let started = Instant::now();
    let cpu_start = cpu_seconds();
    // As `folge run` does: deid hands the indicator table to analyze in memory.
    let stages = [Stage::Ingest, Stage::Deid, Stage::Analyze];
    let manifest = folge_pipeline::run_stages(&pipeline, &stages).expect("stages");
    for stage in stages {
        let seconds =
            manifest.stages.iter().find(|s| s.stage == stage.name()).map_or(0.0, |s| s.seconds);
        println!("  {:<8} {seconds:>7.2} s", stage.name());
    }
    println!(
        "{events:>11} events, {persons:>7} persons, {:>5.0} MB CSV: raw CSV → indicators in {:.2} s (six indicators, before/after), CPU {:.2} s, peak RSS {:.0} MiB",
        bytes as f64 / 1e6,
        started.elapsed().as_secs_f64(),
        cpu_seconds() - cpu_start,
        peak_mib()
    );
}

fn main() {
    let events: Option<usize> =
        std::env::var("FOLGE_BENCH_EVENTS").ok().and_then(|v| v.parse().ok());
    let persons: Option<usize> =
        std::env::var("FOLGE_BENCH_PERSONS").ok().and_then(|v| v.parse().ok());
    println!(
        "pipeline benchmark (ingest → deid → analyze), this machine; peak RSS is the process's high-water mark"
    );
    if let (Some(e), Some(p)) = (events, persons) {
        run(p, e);
    } else {
        run(20_000, 1_000_000);
        run(200_000, 10_000_000);
    }
}

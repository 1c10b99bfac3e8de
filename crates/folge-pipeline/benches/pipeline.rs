//! The whole path: raw CSV → ingest → deid → analyze (indicators) for N service events
//! and P persons (default 1 million and 20,000, then 10 million and 200,000;
//! `FOLGE_BENCH_EVENTS` and `FOLGE_BENCH_PERSONS` override), in the shapes deliveries
//! come in (`FOLGE_BENCH_SHAPES`, comma-separated; all three by default):
//! - `sorted`: one file sorted by person, every person using about the same (an extract
//!   prepared for research);
//! - `dated`: one file in date order, a person's rows spread over the whole file, and
//!   use heavy-tailed across persons (Pareto, shape 1.3, capped at 60 times the mean: a
//!   few persons carry most of the use), as an NPR or KUHR extract comes;
//! - `files`: the `dated` delivery split in two files, hospital services (inpatient,
//!   outpatient) and municipal ones (GP, home nursing, out-of-hours), each in date order.
//!
//! Run as `folge run` runs them (`run_stages`: deid hands the indicator table to analyze
//! in memory), and printed one line a shape: wall time, CPU time and peak resident
//! memory of the stages (the high-water mark is reset before each shape; the inputs are
//! written before it), and each stage's wall time from the manifest.
//! `FOLGE_BENCH_FILES=2` deals the `sorted` rows alternately into two files, each sorted
//! by person. `FOLGE_BENCH_DIR` keeps the inputs and the run in that folder (one shape
//! at a time: for profiling one stage with `folge ingest|deid|analyze DIR/bench.toml`, or
//! for comparing with `python3 benches/duckdb/run.py DIR`, which does the same job in `DuckDB`);
//! `FOLGE_BENCH_WRITE_ONLY=1` writes the inputs there and runs nothing.
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

/// Reset the process's peak resident memory to what it holds now (Linux: writing `5`
/// to `/proc/self/clear_refs`), so each shape's peak is its own.
fn reset_peak() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
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

/// The delivery shapes the bench generates.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Shape {
    Sorted,
    Dated,
    Files,
}

impl Shape {
    fn name(self) -> &'static str {
        match self {
            Shape::Sorted => "sorted",
            Shape::Dated => "dated",
            Shape::Files => "files",
        }
    }
}

/// xorshift64: the same inputs on every run.
struct Random(u64);

impl Random {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    /// Uniform in (0, 1].
    fn unit(&mut self) -> f64 {
        ((self.next() >> 11) + 1) as f64 / (1u64 << 53) as f64
    }
}

const SERVICES: [&str; 5] = ["gp", "outpatient", "home_nursing", "inpatient", "out_of_hours"];

/// One event row as the extracts write it (dates ISO for stays and home nursing, the
/// Norwegian way otherwise). `date` is the contact or admission date.
fn write_event(
    out: &mut impl Write,
    id: &str,
    service: &str,
    date: NaiveDate,
    row: usize,
) -> std::io::Result<()> {
    match service {
        "inpatient" => {
            let end = date + chrono::Duration::days(2);
            writeln!(out, "{id},inpatient,{date},{end},,1,{row}")
        }
        "home_nursing" => writeln!(out, "{id},home_nursing,{date},,1.5,,{row}"),
        other => writeln!(out, "{id},{other},{},,,,{row}", date.format("%d.%m.%Y")),
    }
}

/// Cumulative Pareto weights of `persons` (shape 1.3, capped at 60 times the mean), for
/// drawing the person of each event.
fn pareto_cumulative(persons: usize, random: &mut Random) -> Vec<f64> {
    let weights: Vec<f64> = (0..persons).map(|_| random.unit().powf(-1.0 / 1.3)).collect();
    let mean = weights.iter().sum::<f64>() / persons as f64;
    let mut total = 0.0;
    weights
        .into_iter()
        .map(|w| {
            total += w.min(60.0 * mean);
            total
        })
        .collect()
}

fn write_inputs(dir: &Path, persons: usize, events: usize, shape: Shape) {
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
    let files: usize = match shape {
        Shape::Sorted => {
            std::env::var("FOLGE_BENCH_FILES").ok().and_then(|v| v.parse().ok()).unwrap_or(1)
        }
        Shape::Dated => 1,
        Shape::Files => 2,
    }
    .max(1);
    for stale in std::fs::read_dir(dir).expect("dir").filter_map(Result::ok) {
        if stale.file_name().to_string_lossy().starts_with("events_") {
            std::fs::remove_file(stale.path()).expect("remove an earlier shape's file");
        }
    }
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
    let mut random = Random(0x2545_f491_4f6c_dd1d);
    if shape == Shape::Sorted {
        for row in 0..events {
            let state = random.next();
            let id = &ids[row * persons / events];
            let day = 1 + (state >> 30) % 26;
            let month = 1 + (state >> 40) % 12;
            let year = 2019 + (state >> 50) % 2;
            let date = NaiveDate::from_ymd_opt(year as i32, month as u32, day as u32)
                .expect("a day of the month below 27");
            let service = SERVICES[((state >> 20) % 5) as usize];
            write_event(&mut writers[row % files], id, service, date, row).expect("write");
        }
    } else {
        // Date order: the events of each day of 2019–2020, each drawn for a person by
        // their heavy-tailed weight, so one person's rows are spread over the file.
        let cumulative = pareto_cumulative(persons, &mut random);
        let total = cumulative.last().copied().unwrap_or(0.0);
        let first = NaiveDate::from_ymd_opt(2019, 1, 1).expect("date");
        let days = 731;
        let mut row = 0;
        for d in 0..days {
            let date = first + chrono::Duration::days(d as i64);
            let until = events * (d + 1) / days;
            while row < until {
                let u = random.unit() * total;
                let person = cumulative.partition_point(|&c| c < u).min(persons - 1);
                let service = SERVICES[(random.next() % 5) as usize];
                let file = match (shape, service) {
                    (Shape::Files, "inpatient" | "outpatient") => 0,
                    (Shape::Files, _) => 1,
                    _ => 0,
                };
                write_event(&mut writers[file], &ids[person], service, date, row).expect("write");
                row += 1;
            }
        }
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

fn run(persons: usize, events: usize, shape: Shape) {
    let temp = tempfile::tempdir().expect("temp dir");
    let dir =
        std::env::var_os("FOLGE_BENCH_DIR").map_or_else(|| temp.path().to_path_buf(), Into::into);
    std::fs::create_dir_all(&dir).expect("bench dir");
    write_inputs(&dir, persons, events, shape);
    let bytes: u64 = std::fs::read_dir(&dir)
        .expect("dir")
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().starts_with("events_"))
        .map(|e| e.metadata().map_or(0, |m| m.len()))
        .sum();
    if std::env::var_os("FOLGE_BENCH_WRITE_ONLY").is_some() {
        println!(
            "{:<6} {events:>11} events, {persons:>7} persons, {:>5.0} MB CSV written to {}",
            shape.name(),
            bytes as f64 / 1e6,
            dir.display()
        );
        return;
    }
    let pipeline = Pipeline::load(&dir.join("bench.toml")).expect("pipeline");
    reset_peak();
    let started = Instant::now();
    let cpu_start = cpu_seconds();
    // As `folge run` does: deid hands the indicator table to analyze in memory.
    let stages = [Stage::Ingest, Stage::Deid, Stage::Analyze];
    let manifest = folge_pipeline::run_stages(&pipeline, &stages).expect("stages");
    let wall = started.elapsed().as_secs_f64();
    let cpu = cpu_seconds() - cpu_start;
    let per_stage = stages.iter().fold(String::new(), |mut text, stage| {
        let seconds =
            manifest.stages.iter().find(|s| s.stage == stage.name()).map_or(0.0, |s| s.seconds);
        let _ = write!(
            text,
            "{}{} {seconds:.2} s",
            if text.is_empty() { "" } else { ", " },
            stage.name()
        );
        text
    });
    println!(
        "{:<6} {events:>11} events, {persons:>7} persons, {:>5.0} MB CSV: wall {wall:.2} s, CPU {cpu:.2} s, peak RSS {:.0} MiB ({per_stage})",
        shape.name(),
        bytes as f64 / 1e6,
        peak_mib()
    );
}

fn main() {
    let events: Option<usize> =
        std::env::var("FOLGE_BENCH_EVENTS").ok().and_then(|v| v.parse().ok());
    let persons: Option<usize> =
        std::env::var("FOLGE_BENCH_PERSONS").ok().and_then(|v| v.parse().ok());
    let shapes: Vec<Shape> = std::env::var("FOLGE_BENCH_SHAPES")
        .unwrap_or_else(|_| "sorted,dated,files".into())
        .split(',')
        .map(|name| match name.trim() {
            "sorted" => Shape::Sorted,
            "dated" => Shape::Dated,
            "files" => Shape::Files,
            other => panic!("FOLGE_BENCH_SHAPES: `{other}` is not sorted, dated or files"),
        })
        .collect();
    println!(
        "pipeline benchmark (raw CSV → ingest → deid → analyze: six indicators, before/after), this machine; a line per shape"
    );
    let sizes = match (events, persons) {
        (Some(e), Some(p)) => vec![(p, e)],
        _ => vec![(20_000, 1_000_000), (200_000, 10_000_000)],
    };
    for (p, e) in sizes {
        for &shape in &shapes {
            run(p, e, shape);
        }
    }
}

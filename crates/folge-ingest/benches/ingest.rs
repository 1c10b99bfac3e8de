//! Ingest throughput and memory: generate a service-use CSV of N rows (default 10 million,
//! ≈ 480 MB; `FOLGE_BENCH_ROWS` overrides) into a temp file, then stream it through the
//! reader (a) only counting rows and (b) writing Parquet as the ingest stage does. Prints
//! rows/s and the process's peak resident memory (`VmHWM`) after each step, at N/10 and N
//! rows, so one can see that memory does not grow with the file.
//!
//! Rows come sorted by person, each with a contact number, as registry extracts do;
//! `FOLGE_BENCH_ORDER=shuffled` interleaves persons at random instead (the person index is
//! then asked in random order). Duplicate rows are kept and counted, as in event tables,
//! their check's records spilled beyond the budget to a temporary file as the ingest
//! stage does; `FOLGE_BENCH_DUPLICATE_ROWS=reject` rejects them instead, which holds every
//! fingerprint in memory, to show that memory; `FOLGE_BENCH_DUPLICATES=off` turns the
//! check off, to show its cost.
//!
//! Run with `cargo bench -p folge-ingest`.
#![expect(clippy::print_stdout, reason = "a benchmark reports on stdout")]

use std::io::{BufWriter, Read, Seek, SeekFrom, Write};
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use chrono::NaiveDate;
use folge_ingest::{
    CsvOptions, IdPolicy, PersonIndex, SinkError, SpillOptions, SpillParts, SpillStore,
    stream_service_events,
};
use folge_schema::Table;
use folge_schema::national_id::build;
use folge_schema::tables::ServiceEvent;

const PERSONS: usize = 100_000;

/// Peak resident set size in MiB (Linux), or 0 where /proc is not there.
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

fn persons() -> Vec<String> {
    let base = NaiveDate::from_ymd_opt(1930, 1, 1).expect("date");
    let mut ids = Vec::with_capacity(PERSONS);
    let mut day = 0;
    while ids.len() < PERSONS {
        let date = base + chrono::Duration::days(day);
        ids.extend((0..500).step_by(50).filter_map(|i| build(date, i, 0, 80)));
        day += 1;
    }
    ids.truncate(PERSONS);
    ids
}

/// Write `rows` events, streaming, with a cheap deterministic mix of services.
fn generate(path: &Path, ids: &[String], rows: usize, shuffled: bool) -> u64 {
    let mut out = BufWriter::with_capacity(1 << 20, std::fs::File::create(path).expect("create"));
    out.write_all(b"person_id,service,start_date,end_date,quantity,acute,kontakt_id\n")
        .expect("write");
    let services = ["gp", "outpatient", "home_nursing", "inpatient", "out_of_hours"];
    let mut state = 0x2545_f491_4f6c_dd1du64;
    for row in 0..rows {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let person =
            if shuffled { (state % ids.len() as u64) as usize } else { row * ids.len() / rows };
        let id = &ids[person];
        let service = services[((state >> 20) % 5) as usize];
        // Day 1–26, so a stay's discharge two days later is a real date in every month.
        let day = 1 + (state >> 30) % 26;
        let month = 1 + (state >> 40) % 12;
        let line = match service {
            "inpatient" => format!(
                "{id},inpatient,2020-{month:02}-{day:02},2020-{month:02}-{:02},,1,{row}\n",
                day + 2
            ),
            "home_nursing" => {
                format!("{id},home_nursing,2020-{month:02}-{day:02},,\"1,5\",,{row}\n")
            }
            other => format!("{id},{other},{day:02}.{month:02}.2020,,,,{row}\n"),
        };
        out.write_all(line.as_bytes()).expect("write");
    }
    out.flush().expect("flush");
    std::fs::metadata(path).map_or(0, |m| m.len())
}

/// The duplicate check's spill as the ingest stage's (`folge-pipeline`'s `spill.rs`):
/// one temporary file, each partition a list of its stretches.
#[derive(Debug)]
struct TempSpill;

struct TempParts {
    file: std::fs::File,
    end: u64,
    stretches: Vec<Vec<(u64, usize)>>,
}

impl SpillStore for TempSpill {
    fn open(&self) -> Result<Box<dyn SpillParts>, SinkError> {
        let stretches = vec![Vec::new(); folge_ingest::PARTS];
        Ok(Box::new(TempParts { file: tempfile::tempfile()?, end: 0, stretches }))
    }
}

impl SpillParts for TempParts {
    fn append(&mut self, part: usize, records: &[u8]) -> Result<(), SinkError> {
        self.file.seek(SeekFrom::Start(self.end))?;
        self.file.write_all(records)?;
        self.stretches[part].push((self.end, records.len()));
        self.end += records.len() as u64;
        Ok(())
    }

    fn read(&mut self, part: usize, into: &mut Vec<u8>) -> Result<(), SinkError> {
        for (at, len) in std::mem::take(&mut self.stretches[part]) {
            let start = into.len();
            into.resize(start + len, 0);
            self.file.seek(SeekFrom::Start(at))?;
            self.file.read_exact(&mut into[start..])?;
        }
        Ok(())
    }
}

fn run(dir: &Path, ids: &[String], rows: usize, shuffled: bool) {
    let setting = |name: &str, value: &str| std::env::var(name).is_ok_and(|v| v == value);
    let options = CsvOptions {
        duplicates: if setting("FOLGE_BENCH_DUPLICATES", "off") {
            folge_ingest::DuplicateCheck::Off
        } else {
            folge_ingest::DuplicateCheck::On
        },
        duplicate_rows: if setting("FOLGE_BENCH_DUPLICATE_ROWS", "reject") {
            folge_ingest::DuplicateRows::Reject
        } else {
            folge_ingest::DuplicateRows::Keep
        },
        spill: SpillOptions { store: Arc::new(TempSpill), ..SpillOptions::default() },
        ..CsvOptions::default()
    };
    let csv = dir.join("events.csv");
    let bytes = generate(&csv, ids, rows, shuffled);
    let persons: PersonIndex = ids.iter().cloned().collect();
    let policy = IdPolicy { national: true, allow_synthetic: true };

    let started = Instant::now();
    let file = std::fs::File::open(&csv).expect("open");
    let streamed =
        stream_service_events("events.csv", file, &options, policy, &persons, &mut |_| Ok(()))
            .expect("read");
    let secs = started.elapsed().as_secs_f64();
    assert_eq!(streamed.summary.rows_read, rows as u64);
    assert_eq!(streamed.summary.rows_rejected, 0, "{:?}", streamed.rejects.first());
    println!(
        "{rows:>11} rows, {:>6.0} MB: read + validate   {:>6.2} s  {:>10.0} rows/s  peak RSS {:>7.1} MiB",
        bytes as f64 / 1e6,
        secs,
        rows as f64 / secs,
        peak_mib()
    );

    let started = Instant::now();
    let file = std::fs::File::open(&csv).expect("open");
    let parquet = dir.join("events.parquet");
    // As the ingest stage writes (Snappy); its atomic rename is not part of the cost.
    let properties = parquet::file::properties::WriterProperties::builder()
        .set_compression(parquet::basic::Compression::SNAPPY)
        .build();
    let mut sink = parquet::arrow::ArrowWriter::try_new(
        std::fs::File::create(&parquet).expect("create"),
        ServiceEvent::schema(),
        Some(properties),
    )
    .expect("sink");
    let mut written = 0usize;
    stream_service_events("events.csv", file, &options, policy, &persons, &mut |batch| {
        written += batch.len();
        Ok(sink.write(&ServiceEvent::to_batch(&batch.into_rows())?)?)
    })
    .expect("read");
    sink.close().expect("finish");
    let secs = started.elapsed().as_secs_f64();
    println!(
        "{rows:>11} rows, {:>6.0} MB: … + Parquet      {:>6.2} s  {:>10.0} rows/s  peak RSS {:>7.1} MiB",
        bytes as f64 / 1e6,
        secs,
        written as f64 / secs,
        peak_mib()
    );
    std::fs::remove_file(&csv).ok();
    std::fs::remove_file(&parquet).ok();
}

fn main() {
    let rows: usize =
        std::env::var("FOLGE_BENCH_ROWS").ok().and_then(|v| v.parse().ok()).unwrap_or(10_000_000);
    let shuffled = std::env::var("FOLGE_BENCH_ORDER").is_ok_and(|v| v == "shuffled");
    let dir = tempfile::tempdir().expect("temp dir");
    let ids = persons();
    println!(
        "ingest benchmark: {PERSONS} synthetic persons, rows {}; validated on a second thread, Parquet written on the first; peak RSS is the process's high-water mark",
        if shuffled { "shuffled" } else { "sorted by person" }
    );
    run(dir.path(), &ids, rows / 10, shuffled);
    run(dir.path(), &ids, rows, shuffled);
}

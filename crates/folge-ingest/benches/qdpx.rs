//! REFI-QDA reading time: build a `.qdpx` in memory with N coded selections (default
//! 5,000 and 20,000; `FOLGE_BENCH_SELECTIONS=50000` sets one size) over one transcript with
//! Norwegian letters, each selection coded twice, and read it. Prints seconds per size, so
//! one can see that time grows with the project, not with its square.
//!
//! Run with `cargo bench -p folge-ingest --bench qdpx`.
#![expect(clippy::print_stdout, reason = "a benchmark reports on stdout")]

use std::fmt::Write as _;
use std::io::{Cursor, Write as _};
use std::time::Instant;

/// A project of `selections` selections, each 40 characters of its own part of one
/// transcript and coded by two coders, zipped with the transcript.
fn project(selections: usize) -> Vec<u8> {
    let quote = "Koordinatoren på Øyane har vært til hjelp";
    let mut transcript = String::new();
    let mut chars = 0;
    let mut xml = String::from(
        r#"<?xml version="1.0" encoding="utf-8"?>
<Project xmlns="urn:QDA-XML:project:1.0" name="bench" origin="folge bench">
  <Users><User guid="u1" name="Coder A"/><User guid="u2" name="Coder B"/></Users>
  <CodeBook><Codes><Code guid="t1" name="Samarbeid" isCodable="false"><Code guid="c1" name="Koordinering" isCodable="true"/></Code></Codes></CodeBook>
  <Sources>
    <TextSource guid="s1" name="FG1" plainTextPath="internal://s1.txt">
"#,
    );
    for i in 0..selections {
        let start = chars;
        let line = format!("{quote} {i:>8}.\n");
        chars += line.chars().count();
        transcript.push_str(&line);
        let end = start + quote.chars().count();
        let _ = writeln!(
            xml,
            r#"      <PlainTextSelection guid="{{sel-{i:08}}}" name="FG1-{i}" startPosition="{start}" endPosition="{end}" creatingUser="u1" creationDateTime="2020-03-01T12:00:00Z">
        <Description>Utsagn {i}</Description>
        <Coding guid="{{cod-a-{i:08}}}" creatingUser="u1"><CodeRef targetGUID="c1"/></Coding>
        <Coding guid="{{cod-b-{i:08}}}" creatingUser="u2"><CodeRef targetGUID="c1"/></Coding>
      </PlainTextSelection>"#
        );
    }
    xml.push_str("    </TextSource>\n  </Sources>\n</Project>\n");
    let mut buffer = Cursor::new(Vec::new());
    let mut zip = zip::ZipWriter::new(&mut buffer);
    let options = zip::write::SimpleFileOptions::default();
    zip.start_file("project.qde", options).expect("zip");
    zip.write_all(xml.as_bytes()).expect("zip");
    zip.start_file("Sources/s1.txt", options).expect("zip");
    zip.write_all(transcript.as_bytes()).expect("zip");
    zip.finish().expect("zip");
    println!(
        "{selections:>7} selections: project.qde {:.1} MB, transcript {:.1} MB, archive {:.1} MB",
        xml.len() as f64 / 1e6,
        transcript.len() as f64 / 1e6,
        buffer.get_ref().len() as f64 / 1e6
    );
    buffer.into_inner()
}

fn main() {
    let sizes: Vec<usize> = match std::env::var("FOLGE_BENCH_SELECTIONS") {
        Ok(v) => vec![v.parse().expect("FOLGE_BENCH_SELECTIONS is a number")],
        Err(_) => vec![5_000, 20_000],
    };
    for selections in sizes {
        let bytes = project(selections);
        let started = Instant::now();
        let got = folge_ingest::read_qdpx(
            "bench.qdpx",
            "codings",
            Cursor::new(bytes),
            &folge_ingest::QdpxOptions::default(),
        )
        .expect("reads");
        let secs = started.elapsed().as_secs_f64();
        assert_eq!(got.summary.rows_read, 2 * selections as u64);
        assert_eq!(got.summary.rows_accepted, 2 * selections as u64);
        println!("{selections:>7} selections: {} codings read in {secs:.3} s", got.rows.len());
    }
}

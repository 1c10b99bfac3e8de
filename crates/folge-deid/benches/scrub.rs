//! Scrubbing one long answer: a text with N hits (default 50,000 and 200,000;
//! `FOLGE_BENCH_HITS` sets one size) — names of the register, phone numbers, national ids
//! and e-mail addresses between ordinary words — scrubbed once. Prints seconds per size,
//! so one can see that time grows with the hits, not with their square.
//!
//! Run with `cargo bench -p folge-deid --bench scrub`.
#![expect(clippy::print_stdout, reason = "a benchmark reports on stdout")]

use std::fmt::Write as _;
use std::time::Instant;

use folge_deid::Scrubber;

/// A text with `hits` things to replace, one in every few words.
fn answer(hits: usize) -> String {
    let mut text = String::with_capacity(hits * 40);
    for i in 0..hits {
        let _ = match i % 4 {
            0 => write!(text, "Hjelp fra Kari Nordmann i dag. "),
            1 => write!(text, "Ring {} om det. ", 90_000_000 + i % 9_999_999),
            2 => write!(text, "Skriv til kari{i}@example.no nå. "),
            _ => write!(text, "Per Hansen kom, "),
        };
    }
    text
}

fn main() {
    let sizes: Vec<usize> = match std::env::var("FOLGE_BENCH_HITS") {
        Ok(v) => vec![v.parse().expect("FOLGE_BENCH_HITS is a number")],
        Err(_) => vec![50_000, 200_000],
    };
    let scrubber = Scrubber::new(["Kari Nordmann", "Per Hansen"]);
    for hits in sizes {
        let text = answer(hits);
        let started = Instant::now();
        let (clean, counts) = scrubber.scrub(&text);
        let secs = started.elapsed().as_secs_f64();
        assert_eq!(counts.total(), hits as u64, "every planted hit is replaced");
        assert!(!clean.contains("Nordmann") && !clean.contains("@example"));
        println!(
            "{hits:>7} hits in one answer of {:.1} MB scrubbed in {secs:.3} s",
            text.len() as f64 / 1e6
        );
    }
}

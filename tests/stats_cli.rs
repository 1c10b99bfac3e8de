//! `folge stats` from the outside: JSON in, JSON out, R's numbers, and exit code 2 with a
//! sentence for bad input.

use std::io::Write;
use std::process::{Command, Output, Stdio};

fn stats(method: &str, input: &str) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_folge"))
        .args(["stats", method])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("folge runs");
    child.stdin.take().expect("stdin").write_all(input.as_bytes()).expect("write");
    child.wait_with_output().expect("output")
}

fn json(out: &Output) -> serde_json::Value {
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).expect("stdout is JSON")
}

#[track_caller]
fn close(v: &serde_json::Value, want: f64, tol: f64) {
    let got = v.as_f64().expect("a number");
    assert!((got - want).abs() <= tol, "got {got}, want {want}");
}

const SLEEP: &str = r#"{"x": [0.7, -1.6, -0.2, -1.2, -0.1, 3.4, 3.7, 0.8, 0.0, 2.0],
                        "y": [1.9, 0.8, 1.1, 0.1, -0.1, 4.4, 5.5, 1.6, 4.6, 3.4]}"#;

#[test]
fn paired_t_and_wilcoxon_give_rs_numbers() {
    // R: t.test(extra[group == 1], extra[group == 2], paired = TRUE): t = -4.0621, df = 9,
    // p-value = 0.002833
    let r = json(&stats("paired-t", SLEEP));
    close(&r["statistic"], -4.062_127_683_382_037, 1e-12);
    close(&r["df"], 9.0, 0.0);
    close(&r["p_value"], 0.002_832_890_197_384_27, 1e-14);
    assert_eq!(r["n"], 10);
    assert!(r["d_z_ci_low"].is_number() && r["g_z"].is_number());
    // R: wilcox.test(..., paired = TRUE): V = 0, p-value = 0.009091
    let w = json(&stats("wilcoxon", SLEEP));
    close(&w["statistic"], 0.0, 0.0);
    close(&w["p_value"], 0.009_090_698_015_925_056, 1e-13);
    close(&w["estimate"], -1.4, 1e-12);
}

#[test]
fn missing_values_are_dropped_and_counted() {
    let r = json(&stats(
        "paired-t",
        r#"{"x": [1.0, 2.5, null, 4.0, 3.0], "y": [0.5, 1.0, 2.0, null, 1.0]}"#,
    ));
    assert_eq!(r["n"], 3);
    close(&r["n_missing"], 2.0, 0.0);
    let d = json(&stats("describe", r#"{"x": [1, 2, null, 3, 4]}"#));
    close(&d["median"], 2.5, 0.0);
    close(&d["q1"], 1.75, 0.0);
    close(&d["n_missing"], 1.0, 0.0);
}

#[test]
fn every_method_answers() {
    let cases = [
        ("welch-t", r#"{"x": [19.1, 22.4, 17.8, 25.0], "y": [16.2, 18.9, 15.4, 20.7]}"#),
        ("mann-whitney", r#"{"x": [19.1, 22.4, 17.8, 25.0], "y": [16.2, 18.9, 15.4, 20.7]}"#),
        ("wilson", r#"{"successes": 7, "n": 25}"#),
        ("mcnemar", r#"{"table": [[10, 12], [4, 20]]}"#),
        ("poisson-rate", r#"{"events": 12, "exposure": 30.5}"#),
        (
            "rate-ratio",
            r#"{"events1": 99, "exposure1": 183.7, "events0": 154, "exposure0": 188.87}"#,
        ),
        (
            "did-ols",
            r#"{"unit": [1,1,2,2,3,3,4,4], "treated": [1,1,1,1,0,0,0,0], "post": [0,1,0,1,0,1,0,1], "y": [5,2,6,4,5,6,4,5]}"#,
        ),
        (
            "did-poisson",
            r#"{"unit": [1,1,2,2,3,3,4,4], "treated": [1,1,1,1,0,0,0,0], "post": [0,1,0,1,0,1,0,1], "y": [5,2,6,4,5,6,4,5], "exposure": [1,1,1,1,1,1,1,1]}"#,
        ),
        (
            "cohen-kappa",
            r#"{"x": ["a","b","a","c","b"], "y": ["a","b","b","c","b"], "weights": "none"}"#,
        ),
        ("fleiss-kappa", r#"{"matrix": [[3,0,0],[1,2,0],[0,1,2],[0,0,3]]}"#),
        ("krippendorff-alpha", r#"{"matrix": [[1,2,3,null],[1,2,2,4]], "level": "ordinal"}"#),
        ("cronbach-alpha", r#"{"matrix": [[4,5,4],[3,4,3],[5,5,4],[2,3,2]]}"#),
        ("p-adjust", r#"{"p": [0.01, 0.04, 0.03], "method": "holm"}"#),
        (
            "bootstrap",
            r#"{"x": [2.1, 3.4, 1.9, 5.6, 2.8, 3.3, 4.1], "statistic": "mean", "reps": 500, "seed": 3, "method": "bca"}"#,
        ),
    ];
    for (method, input) in cases {
        let r = json(&stats(method, input));
        assert!(r["method"].is_string(), "{method}");
        assert!(r["n"].as_u64().is_some_and(|n| n > 0), "{method}");
    }
    // Same seed, same interval.
    let a = json(&stats("bootstrap", cases[13].1));
    let b = json(&stats("bootstrap", cases[13].1));
    assert_eq!(a, b);
}

#[test]
fn bad_input_exits_2_with_a_sentence() {
    for (method, input, message) in [
        (
            "paired-t",
            r#"{"x": [1, 2], "y": [1]}"#,
            "paired x and y: arrays must have equal length, got 2 and 1",
        ),
        ("describe", r#"{"x": []}"#, "describe needs at least 1 usable values, got 0"),
        ("wilson", r#"{"successes": -1, "n": 4}"#, "successes: -1 is not a count"),
        ("paired-t", r#"{"x": [1, 2, 3], "y": [0, 1, 2]}"#, "zero variance"),
        ("p-adjust", r#"{"p": [0.2, 1.4]}"#, "p: 1.4 is outside [0, 1]"),
        ("describe", r#"{"x": [1, "two"]}"#, "`x[1]` is \"two\", expected a number or null"),
        ("describe", "[1, 2]", "the input must be one JSON object"),
        (
            "cohen-kappa",
            r#"{"x": ["a"], "y": ["b"], "weights": "cubic"}"#,
            "`weights` is `cubic`, expected one of",
        ),
        // Extreme values: a sentence and exit 2, not a panic (exit 101) as before.
        (
            "paired-t",
            r#"{"x":[1e300,2e300,4e300],"y":[1,2,3]}"#,
            "the paired t test: the values are too large or too small to compute with in double precision",
        ),
        ("welch-t", r#"{"x":[1e300,-1e300,4e300],"y":[1,2,3]}"#, "too large or too small"),
        ("describe", r#"{"x":[1e308,1e308]}"#, "describe: the values are too large"),
        ("mcnemar", r#"{"table":[[1e16,4],[4e300,6]]}"#, "is not a count"),
        ("bootstrap", r#"{"x":[1,2,3],"reps":1e300}"#, "`reps` must be at most 1000000"),
    ] {
        let out = stats(method, input);
        assert_eq!(out.status.code(), Some(2), "{method} {input}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(message), "{method}: {err}");
        assert!(out.stdout.is_empty(), "no NaN result is printed");
    }
}

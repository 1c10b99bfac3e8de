//! The run directory never lies (issue 16): the `folge` binary killed with `kill -9` at
//! seeded moments while two different evaluations alternate in the same folders leaves
//! one coherent state each time, and the next run recovers; a stage run alone refuses
//! outputs made with other parameters or inputs, and `folge run` makes again exactly the
//! stages a change concerns, with the bytes of a full run; a second run is stopped by the
//! lock, and a dead run's lock is taken over; nothing a killed run left stays.
//!
//! The checks here are the test's own: they read the records and hash the files, never
//! asking folge whether its state is coherent.

#![expect(clippy::unwrap_used, reason = "a test that cannot unwrap should fail loudly")]

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn folge(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_folge")).args(args).env("FOLGE_LOG", "info").output().unwrap()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn sha256(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    Sha256::digest(bytes).iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

/// A small synthetic delivery (30 persons, the sample's shapes) in `dir/data`, so that a
/// whole run takes a few seconds in a debug build.
fn small_sample(dir: &Path) -> PathBuf {
    let data = dir.join("data");
    let out = folge(&["sample", "--out", data.to_str().unwrap(), "--persons", "30"]);
    assert!(out.status.success(), "{}", stderr(&out));
    data
}

/// The sample pipeline reading `dir/data`, writing `dir/run` and `dir/report` (two report
/// sections, to keep runs short), with `changes` made to its text, saved as `dir/name`.
fn pipeline(dir: &Path, name: &str, changes: &[(&str, &str)]) -> PathBuf {
    let codebooks = dir.join("codebooks");
    if !codebooks.exists() {
        std::os::unix::fs::symlink(repo().join("pipelines/codebooks"), codebooks).unwrap();
    }
    let mut text = std::fs::read_to_string(repo().join("pipelines/sample.toml"))
        .unwrap()
        .replace("\"../data-sample/", "\"data/")
        .replace(
            "output = \"../runs/sample\"",
            &format!("output = \"{}\"", dir.join("run").display()),
        )
        .replace(
            "dir = \"../reports/sample\"",
            &format!(
                "dir = \"{}\"\nsections = [\"summary\", \"methods\"]",
                dir.join("report").display()
            ),
        );
    // A person left out of the participant list leaves their events rejected.
    text = text.replace("max_reject_share = 0.01", "max_reject_share = 0.5");
    for (from, to) in changes {
        assert!(text.contains(from), "{from}");
        text = text.replace(from, to);
    }
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

/// Every file under `dir`, sorted, as (relative path, bytes).
fn files(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).into_iter().flatten() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                out.push((
                    path.strip_prefix(dir).unwrap().to_owned(),
                    std::fs::read(&path).unwrap(),
                ));
            }
        }
    }
    out.sort();
    out
}

/// The run directory and the report of `dir`, stage records and manifests aside (they hold
/// timings by design).
fn outputs(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut all = files(&dir.join("run"));
    all.extend(
        files(&dir.join("report")).into_iter().map(|(p, b)| (Path::new("report").join(p), b)),
    );
    all.retain(|(p, _)| {
        !p.ends_with("stage.json")
            && !p.ends_with("manifest.json")
            && !p.file_name().is_some_and(|n| n.to_string_lossy().ends_with(".lock"))
    });
    all
}

#[track_caller]
fn same_bytes(a: &[(PathBuf, Vec<u8>)], b: &[(PathBuf, Vec<u8>)], how: &str) {
    let names = |f: &[(PathBuf, Vec<u8>)]| f.iter().map(|(p, _)| p.clone()).collect::<Vec<_>>();
    assert_eq!(names(a), names(b), "{how}");
    for ((path, x), (_, y)) in a.iter().zip(b) {
        assert!(x == y, "{} differs: {how}", path.display());
    }
}

fn json(path: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// Every file `record` lists under `base` has the bytes it recorded.
#[track_caller]
fn listed_files_match(base: &Path, record: &serde_json::Value, what: &str) -> Vec<String> {
    let mut listed = Vec::new();
    for output in record["outputs"].as_array().unwrap() {
        let path = output["path"].as_str().unwrap();
        let bytes = std::fs::read(base.join(path))
            .unwrap_or_else(|e| panic!("{what}: `{path}` is listed but not readable: {e}"));
        assert_eq!(sha256(&bytes), output["sha256"].as_str().unwrap(), "{what}: `{path}`");
        listed.push(path.to_owned());
    }
    listed
}

/// The run directory and report folder of `dir` hold one coherent state: the stages
/// present form a chain from ingest (none after a missing one), each folder holds exactly
/// the tables its record lists with the recorded bytes, each record names the record of
/// the stage before as it is now, every table of the run carries the inputs' hash ingest
/// recorded, and the report folder holds exactly one report's files (or nothing).
#[track_caller]
fn coherent(dir: &Path, when: &str) {
    let run = dir.join("run");
    let mut before: Option<Vec<u8>> = None;
    let mut missing = None;
    let mut inputs_sha256 = None;
    for stage in ["01_ingest", "02_deid", "03_analyze"] {
        let folder = run.join(stage);
        if !folder.exists() {
            missing.get_or_insert(stage);
            continue;
        }
        assert!(missing.is_none(), "{when}: {stage} is there but {missing:?} is not");
        let bytes = std::fs::read(folder.join("stage.json"))
            .unwrap_or_else(|_| panic!("{when}: {stage} has no record"));
        let record: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        let listed = listed_files_match(&run, &record, when);
        for entry in std::fs::read_dir(&folder).unwrap() {
            let name = entry.unwrap().file_name().to_string_lossy().into_owned();
            if name.ends_with(".parquet") {
                let path = format!("{stage}/{name}");
                assert!(listed.contains(&path), "{when}: `{path}` is not in its record");
                let meta =
                    folge_pipeline::parquet_io::read_parquet(&folder.join(&name)).unwrap().metadata;
                let hash = meta.get("folge.inputs_sha256").cloned().unwrap_or_default();
                if !hash.is_empty() {
                    let first = inputs_sha256.get_or_insert(hash.clone());
                    assert_eq!(first, &hash, "{when}: `{path}` is from other inputs");
                }
            }
        }
        let upstream = record["made_from"]["upstream_sha256"].as_str().map(str::to_owned);
        assert_eq!(
            upstream,
            before.as_deref().map(sha256),
            "{when}: {stage} was made from another stage"
        );
        before = Some(bytes);
    }
    let report = dir.join("report");
    let Ok(bytes) = std::fs::read(report.join("stage.json")) else {
        assert!(files(&report).is_empty(), "{when}: report files without a record");
        return;
    };
    assert!(missing.is_none(), "{when}: a report without {missing:?}");
    let record: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
    let listed = listed_files_match(&report, &record, when);
    for (path, _) in files(&report) {
        let path = path.to_string_lossy().into_owned();
        assert!(
            listed.contains(&path) || path == "stage.json" || path == "manifest.json",
            "{when}: report file `{path}` is from another report"
        );
    }
    let upstream = record["made_from"]["upstream_sha256"].as_str().map(str::to_owned);
    assert_eq!(
        upstream,
        before.as_deref().map(sha256),
        "{when}: the report was made from another 03_analyze"
    );
    // The report's manifest is the one written with it: it lists this report's files.
    let manifest = json(&report.join("manifest.json"));
    let stages = manifest["stages"].as_array().unwrap();
    assert_eq!(
        stages.last().unwrap()["outputs"],
        record["outputs"],
        "{when}: manifest of another report"
    );
}

/// Staging, old and retired folders, temporary files and part folders under `dir`.
fn leftovers(dir: &Path) -> Vec<String> {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).into_iter().flatten() {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            if name.contains(".staging-")
                || name.contains(".old-")
                || name.contains(".retired-")
                || name.contains(".tmp-")
                || name.starts_with(".parts-")
            {
                found.push(path.display().to_string());
            }
            if path.is_dir() && !path.is_symlink() {
                stack.push(path);
            }
        }
    }
    found
}

/// xorshift64: seeded delays, so a failure can be replayed.
struct Delays(u64);

impl Delays {
    fn next(&mut self, max_ms: u64) -> Duration {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        Duration::from_millis(self.0 % max_ms)
    }
}

/// Two evaluations that differ in every stage (one participant fewer, another period)
/// alternate in the same folders: `folge run` twice and `folge report` once each, killed
/// at seeded moments; after every kill the folders hold one coherent state, and in the end
/// a run completes with the bytes of a run in a fresh folder and nothing left over.
#[test]
fn a_run_killed_at_any_moment_leaves_one_coherent_state_and_the_next_run_recovers() {
    let started = Instant::now();
    let tmp = tempfile::tempdir().unwrap();
    let data = small_sample(tmp.path());
    let participants = std::fs::read_to_string(data.join("participants.csv")).unwrap();
    let fewer: Vec<&str> = participants.lines().collect();
    std::fs::write(data.join("participants_b.csv"), fewer[..fewer.len() - 1].join("\n") + "\n")
        .unwrap();
    let a = pipeline(tmp.path(), "a.toml", &[]);
    let b = pipeline(
        tmp.path(),
        "b.toml",
        &[
            ("data/participants.csv", "data/participants_b.csv"),
            ("before_days = 365", "before_days = 180"),
        ],
    );
    // Kill moments are spread over how long an uninterrupted run and report take here
    // (measured, so that on a slow or loaded machine the kills still land in every stage,
    // not all in ingest); the measured run also leaves a complete state to start from.
    let took = |command: &str| {
        let t = Instant::now();
        let out = folge(&[command, a.to_str().unwrap()]);
        assert!(out.status.success(), "{}", stderr(&out));
        u64::try_from(t.elapsed().as_millis()).unwrap_or(u64::MAX).max(100) * 9 / 10
    };
    let (run_ms, report_ms) = (took("run"), took("report"));
    let mut delays = Delays(0x5eed_0016);
    let (mut kills, mut finished) = (0, 0);
    let mut states = std::collections::BTreeSet::new();
    let mut i = 0;
    while kills < 32 {
        assert!(i < 120, "only {kills} kills in {i} attempts");
        let file = if (i / 3) % 2 == 0 { &a } else { &b };
        let command = if i % 3 == 2 { "report" } else { "run" };
        let mut child = Command::new(env!("CARGO_BIN_EXE_folge"))
            .args([command, file.to_str().unwrap()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(delays.next(if command == "run" { run_ms } else { report_ms }));
        if child.try_wait().unwrap().is_some() {
            finished += 1;
        } else {
            // SIGKILL: no destructor, no clean-up.
            child.kill().unwrap();
            kills += 1;
        }
        child.wait().unwrap();
        coherent(tmp.path(), &format!("after {command} #{i} ({kills} kills)"));
        let present = ["run/01_ingest", "run/02_deid", "run/03_analyze", "report/stage.json"]
            .map(|p| tmp.path().join(p).exists());
        states.insert(present);
        i += 1;
    }
    // The kills landed in different stages: several states were left.
    assert!(states.len() >= 3, "{states:?}");
    let out = folge(&["run", b.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    coherent(tmp.path(), "after the recovering run");
    assert_eq!(leftovers(tmp.path()), Vec::<String>::new(), "left by killed runs");
    let fresh = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink(&data, fresh.path().join("data")).unwrap();
    let text = std::fs::read_to_string(&b)
        .unwrap()
        .replace(&tmp.path().display().to_string(), &fresh.path().display().to_string());
    std::fs::write(fresh.path().join("b.toml"), text).unwrap();
    std::os::unix::fs::symlink(repo().join("pipelines/codebooks"), fresh.path().join("codebooks"))
        .unwrap();
    let out = folge(&["run", fresh.path().join("b.toml").to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    same_bytes(&outputs(tmp.path()), &outputs(fresh.path()), "recovered vs fresh");
    eprintln!(
        "{kills} kills, {finished} runs ended first, states left {states:?}, {:.1} s",
        started.elapsed().as_secs_f64()
    );
}

/// An analysis parameter edited: `folge report` alone refuses with a sentence naming the
/// stage, the parameter and the command; `folge run` makes analyze and the report again,
/// not ingest and deid, and gives the bytes of a full run in a fresh folder. A report
/// parameter makes only the report again; a changed input stops `folge deid` alone.
#[test]
fn a_changed_parameter_or_input_is_refused_downstream_and_run_remakes_only_what_it_concerns() {
    let tmp = tempfile::tempdir().unwrap();
    let data = small_sample(tmp.path());
    let file = pipeline(tmp.path(), "sample.toml", &[]);
    let p = file.to_str().unwrap();
    let out = folge(&["run", p]);
    assert!(out.status.success(), "{}", stderr(&out));

    let text = std::fs::read_to_string(&file).unwrap();
    std::fs::write(&file, text.replace("before_days = 365", "before_days = 180")).unwrap();
    let out = folge(&["report", p]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains(&format!(
            "03_analyze was made with other analysis parameters than `{p}` now gives (`periods.before_days`); run `folge analyze {p}` first (or `folge run {p}`)"
        )),
        "{}",
        stderr(&out)
    );
    let out = folge(&["run", p]);
    assert!(out.status.success(), "{}", stderr(&out));
    let log = stderr(&out);
    for (stage, skipped) in
        [("01_ingest", true), ("02_deid", true), ("03_analyze", false), ("the report", false)]
    {
        let line = format!(
            "{stage} is up to date (made from the same inputs and parameters): not made again"
        );
        assert_eq!(log.contains(&line), skipped, "{stage}: {log}");
    }
    assert!(!log.contains("rows read"), "ingest was not run: {log}");
    let fresh = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink(&data, fresh.path().join("data")).unwrap();
    let moved =
        pipeline(fresh.path(), "sample.toml", &[("before_days = 365", "before_days = 180")]);
    let out = folge(&["run", moved.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    same_bytes(&outputs(tmp.path()), &outputs(fresh.path()), "partly re-made vs fresh");

    // A report parameter: the report alone is made again.
    let text = std::fs::read_to_string(&file).unwrap();
    std::fs::write(&file, text.replace("suppression_threshold = 5", "suppression_threshold = 3"))
        .unwrap();
    let out = folge(&["run", p]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains("03_analyze is up to date"), "{}", stderr(&out));
    assert!(!stderr(&out).contains("the report is up to date"), "{}", stderr(&out));

    // 03_analyze made by another build of the same version (an update, a local change):
    // the report refuses it, and run makes analyze and the report again, nothing before.
    let record = tmp.path().join("run/03_analyze/stage.json");
    let mut stage = json(&record);
    let build = stage["made_from"]["folge_build"].as_str().unwrap().to_owned();
    assert_eq!(build.len(), 64, "the executable's SHA-256: {build}");
    stage["made_from"]["folge_build"] = "0".repeat(64).into();
    std::fs::write(&record, serde_json::to_vec_pretty(&stage).unwrap()).unwrap();
    let out = folge(&["report", p]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("03_analyze was made by another build of folge"),
        "{}",
        stderr(&out)
    );
    let out = folge(&["run", p]);
    assert!(out.status.success(), "{}", stderr(&out));
    let log = stderr(&out);
    assert!(log.contains("02_deid is up to date"), "{log}");
    assert!(!log.contains("03_analyze is up to date"), "{log}");
    assert_eq!(json(&record)["made_from"]["folge_build"].as_str(), Some(build.as_str()));

    // Another participant list: deid alone refuses, naming the input by its role only.
    let participants = std::fs::read_to_string(data.join("participants.csv")).unwrap();
    let lines: Vec<&str> = participants.lines().collect();
    std::fs::write(data.join("participants.csv"), lines[..lines.len() - 1].join("\n") + "\n")
        .unwrap();
    let out = folge(&["deid", p]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains(&format!("01_ingest was made from other inputs than `{p}` now names (`inputs.participants`); run `folge ingest {p}` first")),
        "{err}"
    );
    assert!(!err.contains("participants.csv"), "no input file name: {err}");
    let ids: Vec<&str> = lines[1..].iter().filter_map(|l| l.split(';').next()).collect();
    assert!(ids.iter().all(|id| id.len() < 5 || !err.contains(id)), "no id: {err}");
    // Ingest made again: deid runs, and the stages after it are retired until made again.
    assert!(folge(&["ingest", p]).status.success());
    assert!(
        !tmp.path().join("run/02_deid").exists() && !tmp.path().join("report/stage.json").exists()
    );
    assert!(folge(&["deid", p]).status.success());
    coherent(tmp.path(), "after ingest and deid alone");
}

/// A run holds the run directory's lock: another folge is told which process holds it
/// (exit 2); a lock left by a process that has ended is taken over.
#[test]
fn a_second_run_is_refused_while_the_lock_is_held_and_a_dead_holder_is_taken_over() {
    let tmp = tempfile::tempdir().unwrap();
    small_sample(tmp.path());
    let file = pipeline(tmp.path(), "sample.toml", &[]);
    let p = file.to_str().unwrap();
    // A folge run in progress, started first; the second is refused while it holds the
    // lock (checked only when the first is still running afterwards, which it is unless
    // the machine is very fast).
    let mut first = Command::new(env!("CARGO_BIN_EXE_folge"))
        .args(["run", p])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let lock = tmp.path().join("run/.folge.lock");
    let waited = Instant::now();
    while std::fs::read_to_string(&lock).unwrap_or_default().trim() != first.id().to_string() {
        assert!(waited.elapsed() < Duration::from_secs(60), "the first run never took the lock");
        std::thread::sleep(Duration::from_millis(5));
    }
    let second = folge(&["run", p]);
    let still_running = first.try_wait().unwrap().is_none();
    assert!(first.wait().unwrap().success());
    if still_running {
        assert_eq!(second.status.code(), Some(2), "{}", stderr(&second));
        assert!(
            stderr(&second).contains(&format!(
                "is in use by folge process {}; wait for it to end (or stop it) and run again",
                first.id()
            )),
            "{}",
            stderr(&second)
        );
    }
    // The same with the lock held here, which does not end by itself.
    let held = std::fs::OpenOptions::new().write(true).open(&lock).unwrap();
    held.try_lock().unwrap();
    std::fs::write(&lock, format!("{}\n", std::process::id())).unwrap();
    let out = folge(&["report", p]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains(&format!(
            "`{}` is in use by folge process {}",
            tmp.path().join("run").display(),
            std::process::id()
        )),
        "{}",
        stderr(&out)
    );
    drop(held);
    // A process that has ended left its number in the lock file.
    let mut ended = Command::new("true").spawn().unwrap();
    ended.wait().unwrap();
    std::fs::write(&lock, format!("{}\n", ended.id())).unwrap();
    let out = folge(&["run", p]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains(&format!(
            "was locked by folge process {}, which has ended: lock taken over",
            ended.id()
        )),
        "{}",
        stderr(&out)
    );
    assert_eq!(std::fs::read_to_string(&lock).unwrap(), "", "let go of at the end");
}

/// A run killed while it writes, and what other killed runs leave (staging and retired
/// folders, temporary files of atomic writes, part folders): all gone after the next run;
/// a file someone put beside the report stays.
#[test]
fn leftovers_of_killed_runs_are_gone_after_the_next_run() {
    let tmp = tempfile::tempdir().unwrap();
    small_sample(tmp.path());
    let file = pipeline(tmp.path(), "sample.toml", &[]);
    let p = file.to_str().unwrap();
    assert!(folge(&["run", p]).status.success());
    std::fs::write(tmp.path().join("report/notes.txt"), "our notes").unwrap();
    let run = tmp.path().join("run");
    // A real run killed in the middle: its staging folder stays behind.
    let text = std::fs::read_to_string(&file).unwrap();
    std::fs::write(&file, text.replace("before_days = 365", "before_days = 300")).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_folge"))
        .args(["analyze", p])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let waited = Instant::now();
    while !std::fs::read_dir(&run)
        .unwrap()
        .flatten()
        .any(|e| e.file_name().to_string_lossy().starts_with(".03_analyze.staging-"))
    {
        assert!(waited.elapsed() < Duration::from_secs(60), "analyze never began");
        std::thread::sleep(Duration::from_millis(2));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    // What other killed runs leave, put there after it (a run removes them as it starts).
    let planted = [
        run.join(".02_deid.staging-4194301/participants.parquet"),
        run.join(".03_analyze.old-4194302/rates.parquet"),
        run.join(".manifest.json.tmp-4194303"),
        run.join("02_deid/.participants.parquet.tmp-4194304"),
        run.join("03_analyze/.parts-x1y2/part-0"),
        tmp.path().join(".report.staging-4194305/index.html"),
        tmp.path().join("report/tables/.table_rates.csv.tmp-4194306"),
    ];
    for path in &planted {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, "left over").unwrap();
    }
    assert_eq!(leftovers(tmp.path()).len(), planted.len() + 1, "{:?}", leftovers(tmp.path()));
    let out = folge(&["run", p]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(leftovers(tmp.path()), Vec::<String>::new());
    assert!(stderr(&out).contains("left by a run that did not finish"), "{}", stderr(&out));
    assert_eq!(std::fs::read_to_string(tmp.path().join("report/notes.txt")).unwrap(), "our notes");
    coherent_but_notes(tmp.path());
}

/// [`coherent`] with the notes someone put beside the report moved away and back.
fn coherent_but_notes(dir: &Path) {
    let notes = dir.join("report/notes.txt");
    let kept = std::fs::read(&notes).unwrap();
    std::fs::remove_file(&notes).unwrap();
    coherent(dir, "after the run that cleaned up");
    std::fs::write(&notes, kept).unwrap();
}

//! End-to-end tests: the `folge` binary on the bundled sample, in temporary run folders.
//! They check that the whole pipeline runs, that outputs parse with the row counts the
//! inputs imply, that outputs are byte-identical run to run, that configuration errors
//! exit 2 with a precise message, and that no identifier reaches a de-identified output,
//! a report or a log line.

#![expect(clippy::unwrap_used, reason = "a test that cannot unwrap should fail loudly")]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use arrow_array::cast::AsArray;
use arrow_array::{Array, StringArray};
use folge_pipeline::parquet_io::read_parquet;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn folge(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_folge")).args(args).env("FOLGE_LOG", "info").output().unwrap()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// The sample pipeline rewritten to read the repository's data (through links beside it,
/// as a project folder would hold them) and write into `dir`.
fn sample_pipeline(dir: &Path, extra: &str) -> PathBuf {
    let text = std::fs::read_to_string(repo().join("pipelines/sample.toml")).unwrap();
    for (link, target) in [("data-sample", "data-sample"), ("codebooks", "pipelines/codebooks")] {
        if !dir.join(link).exists() {
            std::os::unix::fs::symlink(repo().join(target), dir.join(link)).unwrap();
        }
    }
    let text = text
        .replace("\"../data-sample/", "\"data-sample/")
        .replace(
            "output = \"../runs/sample\"",
            &format!("output = \"{}\"", dir.join("run").display()),
        )
        .replace(
            "dir = \"../reports/sample\"",
            &format!("dir = \"{}\"", dir.join("report").display()),
        );
    let path = dir.join("sample.toml");
    std::fs::write(&path, format!("{text}\n{extra}")).unwrap();
    path
}

fn run_sample(dir: &Path) -> Output {
    let pipeline = sample_pipeline(dir, "");
    let out = folge(&["run", pipeline.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    out
}

fn rows(path: &Path) -> usize {
    read_parquet(path).unwrap().num_rows
}

/// The values of a text column, plain or dictionary-encoded (folge writes results'
/// categories as ordered dictionaries), in row order; `None` for other types. Read with
/// arrow's own API, not folge's.
fn texts(array: &dyn Array) -> Option<Vec<Option<String>>> {
    if let Some(a) = array.as_any().downcast_ref::<StringArray>() {
        return Some((0..a.len()).map(|i| a.is_valid(i).then(|| a.value(i).to_owned())).collect());
    }
    let dictionary = array.as_any_dictionary_opt()?;
    let levels = texts(dictionary.values().as_ref())?;
    let keys = dictionary.normalized_keys();
    Some(
        (0..array.len())
            .map(|i| if array.is_valid(i) { levels[keys[i]].clone() } else { None })
            .collect(),
    )
}

/// Every value of a text column of a Parquet file, in row order.
fn strings(path: &Path, column: &str) -> Vec<Option<String>> {
    let file = read_parquet(path).unwrap();
    let mut out = Vec::new();
    for batch in &file.batches {
        out.extend(texts(batch.column_by_name(column).unwrap().as_ref()).unwrap());
    }
    out
}

/// Every value of a float column of a Parquet file, in row order.
fn floats(path: &Path, column: &str) -> Vec<Option<f64>> {
    let file = read_parquet(path).unwrap();
    let mut out = Vec::new();
    for batch in &file.batches {
        let array = batch.column_by_name(column).unwrap();
        let a = array.as_any().downcast_ref::<arrow_array::Float64Array>().unwrap();
        out.extend((0..a.len()).map(|i| a.is_valid(i).then(|| a.value(i))));
    }
    out
}

/// Every results table and the REK extract read with pyarrow, pandas and polars
/// (`tests/export/read_results.py`): each column the codebook calls a category an ordered
/// dictionary with the codebook's levels in its order (ordered factors, ordered
/// categoricals), every indicator with its unit, suppressed cells told from missing ones.
/// Without Python and those packages it is skipped with a message, unless
/// `FOLGE_EXPORT_TESTS=1` (`.ci/run` installs them).
fn researchers_read_the_results_as_typed_tables(run: &Path) {
    let python = ["python3", "-c", "import pyarrow, pandas, polars"];
    if !tool_or_skip(
        &python,
        "python3 with pyarrow, pandas and polars (pip install pyarrow pandas polars)",
    ) {
        return;
    }
    let out = Command::new("python3")
        .arg(repo().join("tests/export/read_results.py"))
        .arg(run)
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&out.stdout).into_owned() + &stderr(&out);
    assert!(out.status.success(), "{said}");
    let checked: usize = said
        .lines()
        .find_map(|l| l.strip_suffix(" categories checked, 0 failures"))
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{said}"));
    assert!(checked >= 40, "{said}");
}

/// Every value of a non-null 64-bit integer column of a Parquet file, in row order.
fn ints(path: &Path, column: &str) -> Vec<i64> {
    let file = read_parquet(path).unwrap();
    let mut out = Vec::new();
    for batch in &file.batches {
        let array = batch.column_by_name(column).unwrap();
        out.extend(array.as_any().downcast_ref::<arrow_array::Int64Array>().unwrap().values());
    }
    out
}

fn data_lines(file: &str) -> usize {
    std::fs::read_to_string(repo().join("data-sample").join(file)).unwrap().lines().count() - 1
}

#[test]
fn sample_pipeline_runs_end_to_end() {
    use folge_deid::rows::{DeidParticipant, DeidServiceEvent};
    use folge_schema::tables::StayRow;
    use folge_schema::{Service, Table};
    let tmp = tempfile::tempdir().unwrap();
    run_sample(tmp.path());
    let run = tmp.path().join("run");
    researchers_read_the_results_as_typed_tables(&run);
    let persons = data_lines("participants.csv");
    assert_eq!(rows(&run.join("01_ingest/participants.parquet")), persons);
    assert_eq!(
        rows(&run.join("01_ingest/service_events.parquet")),
        data_lines("service_events.csv")
    );
    // Zone 1's events are stored with `person_id` and `service` as keys (see
    // folge_schema::keyed): they read back as the delivery's text, row for row.
    let zone1 = read_parquet(&run.join("01_ingest/service_events.parquet")).unwrap();
    for column in ["person_id", "service"] {
        let field = zone1.schema.field_with_name(column).unwrap().clone();
        assert_eq!(field.data_type(), &arrow_schema::DataType::Utf8, "{column}");
    }
    let stored = folge_schema::tables::ServiceEvent::from_batches(&zone1.batches).unwrap();
    let mut delivered =
        csv::Reader::from_path(repo().join("data-sample/service_events.csv")).unwrap();
    let delivered: Vec<(String, String)> = delivered
        .records()
        .map(|r| r.unwrap())
        .map(|r| (r[0].to_owned(), r[1].to_owned()))
        .collect();
    let read_back: Vec<(String, String)> =
        stored.iter().map(|e| (e.person_id.clone(), e.service.code().to_owned())).collect();
    assert_eq!(read_back, delivered);
    assert_eq!(rows(&run.join("02_deid/participants.parquet")), persons);
    assert_eq!(rows(&run.join("02_deid/service_events.parquet")), data_lines("service_events.csv"));
    assert_eq!(rows(&run.join("02_deid/process_events.parquet")), data_lines("process_events.csv"));
    // Merged stays: every inpatient and short-stay episode of a participant is in exactly
    // one stay (the episodes column adds up to them), a stay ends on or after it starts,
    // and the rows come by pseudonym.
    let stays = StayRow::from_batches(
        &read_parquet(&run.join("03_analyze/stays.parquet")).unwrap().batches,
    )
    .unwrap();
    let events = DeidServiceEvent::from_batches(
        &read_parquet(&run.join("02_deid/service_events.parquet")).unwrap().batches,
    )
    .unwrap();
    let participants: std::collections::BTreeSet<folge_schema::Pseudonym> =
        DeidParticipant::from_batches(
            &read_parquet(&run.join("02_deid/participants.parquet")).unwrap().batches,
        )
        .unwrap()
        .into_iter()
        .map(|p| p.pid())
        .collect();
    for service in [Service::Inpatient, Service::ShortStay] {
        let episodes = events
            .iter()
            .filter(|e| e.service() == service && participants.contains(&e.pid()))
            .count();
        let merged: i64 =
            stays.iter().filter(|s| s.service == service).map(|s| i64::from(s.episodes)).sum();
        assert_eq!(merged, episodes as i64, "{service:?}");
    }
    assert!(stays.iter().any(|s| s.episodes > 1), "the sample has transfers");
    assert!(stays.iter().all(|s| s.discharge_day >= s.admission_day && s.episodes >= 1));
    assert!(stays.windows(2).all(|w| w[0].pid <= w[1].pid));
    // The data dictionary describes every column of every table in 03_analyze/, no more.
    let mut described = std::collections::BTreeSet::new();
    let mut codebook = csv::Reader::from_path(run.join("03_analyze/codebook.csv")).unwrap();
    for row in codebook.records() {
        let row = row.unwrap();
        assert!(!row[4].is_empty() && !row[5].is_empty(), "{row:?}");
        described.insert(format!("{}.{}", &row[0], &row[1]));
    }
    let mut columns = std::collections::BTreeSet::new();
    for entry in std::fs::read_dir(run.join("03_analyze")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "parquet") {
            let table = path.file_stem().unwrap().to_str().unwrap().to_owned();
            for field in read_parquet(&path).unwrap().schema.fields() {
                columns.insert(format!("{table}.{}", field.name()));
            }
        }
    }
    assert_eq!(described, columns);
    let md = std::fs::read_to_string(run.join("03_analyze/codebook.md")).unwrap();
    assert!(md.contains("| `bed_days` | Bed-days | bed-days | Liggedøgn | liggedøgn |"), "{md}");
    // 12 indicators × 2 periods per person; 12 × 2 arms × 2 periods pooled.
    assert_eq!(rows(&run.join("03_analyze/indicators.parquet")), persons * 2 * 12);
    assert_eq!(rows(&run.join("03_analyze/rates.parquet")), 12 * 2 * 2);
    // Per indicator: before/after in each arm, pilot vs comparison and the pre-trend
    // check, and for deaths the rate ratio between the arms after inclusion; per PACIC
    // scale (the total and five subscales, from Nettskjema and from the hospital's REDCap
    // project, scored through its data dictionary): paired t and Wilcoxon in each arm, and
    // the difference in differences.
    let comparisons_file = run.join("03_analyze/comparisons.parquet");
    let (scope, scope_value, measure) = (
        strings(&comparisons_file, "scope"),
        strings(&comparisons_file, "scope_value"),
        strings(&comparisons_file, "measure"),
    );
    let scopes: Vec<String> = (0..scope.len())
        .map(|i| {
            let or_dash = |v: &Option<String>| v.clone().unwrap_or_else(|| "-".into());
            format!("{} {} {}", or_dash(&scope[i]), or_dash(&scope_value[i]), or_dash(&measure[i]))
        })
        .collect();
    // Per indicator also the pre-trend check (scope `all`), and for mortality the
    // pilot-vs-comparison rate after inclusion.
    assert_eq!(
        scopes.iter().filter(|s| s.starts_with("all ") || s.starts_with("arm ")).count(),
        12 * 4 + 1 + 2 * 6 * 5
    );
    for scale in [
        "pacic_voksne",
        "activation",
        "delivery_system",
        "goal_setting",
        "problem_solving",
        "follow_up",
    ] {
        let measure = format!("pacic_voksne.{scale}");
        assert_eq!(
            scopes.iter().filter(|s| s.ends_with(&format!(" {measure}"))).count(),
            5,
            "{measure}: paired t and Wilcoxon in each arm, and the difference in differences"
        );
    }
    for municipality in ["4601", "4631", "4624"] {
        assert!(scopes.iter().any(|s| s.starts_with(&format!("municipality {municipality} "))));
    }
    assert!(
        scopes.iter().any(|s| s == "age 67+ readmissions_30d"),
        "the national indicator's ages"
    );
    // Focus groups: every code has a frequency row in scope `all` and an agreement row,
    // and agreement has the overall row besides.
    // Agreement is per source: each source's codes and its overall row.
    let agreed = strings(&run.join("03_analyze/agreement.parquet"), "code");
    let codes = agreed
        .iter()
        .filter(|c| c.as_deref() != Some("all"))
        .collect::<std::collections::BTreeSet<_>>()
        .len();
    assert!(codes >= 5, "{codes}");
    assert_eq!(
        agreed.len() - agreed.iter().filter(|c| c.as_deref() == Some("all")).count(),
        2 * codes,
        "both teams use every code"
    );
    assert_eq!(
        agreed.iter().filter(|c| c.as_deref() == Some("all")).count(),
        2,
        "one overall row per source"
    );
    let frequencies = read_parquet(&run.join("03_analyze/code_frequencies.parquet")).unwrap();
    let scopes = texts(frequencies.batches[0].column_by_name("scope").unwrap().as_ref())
        .unwrap()
        .iter()
        .filter(|s| s.as_deref() == Some("all"))
        .count();
    assert_eq!(scopes, codes);
    assert!(rows(&run.join("03_analyze/quotes.parquet")) >= codes);
    // The sample's built-in questionnaire effect (the pilot gains 0.55 on PACIC, the
    // comparison 0.05) is recovered: the pilot's CI excludes 0, the comparison's does not,
    // and the difference in differences is positive with a CI that excludes 0.
    let column = |name: &str| strings(&comparisons_file, name);
    let number = |name: &str| floats(&comparisons_file, name);
    let (measure, scope_value, kind) =
        (column("measure"), column("scope_value"), column("effect_size_kind"));
    // The paired t interval belongs to `diff` (d_z has none); the DiD's to both.
    let (low, high) = (number("diff_ci_low"), number("diff_ci_high"));
    let ci = |total: &str, value: Option<&str>, k: &str| {
        let i = (0..measure.len())
            .find(|&i| {
                measure[i].as_deref() == Some(total)
                    && scope_value[i].as_deref() == value
                    && kind[i].as_deref() == Some(k)
            })
            .unwrap();
        (low[i].unwrap(), high[i].unwrap())
    };
    // The same from the hospital's REDCap project (the pilot gains 0.5 there, the
    // comparison 0.05), scored through its data dictionary: had the scale's items or range
    // not come from the dictionary, these would not hold.
    for total in ["pacic.pacic", "pacic_voksne.pacic_voksne"] {
        let pilot = ci(total, Some("pilot"), "d_z");
        let comparison = ci(total, Some("comparison"), "d_z");
        let did = ci(total, None, "difference_in_differences");
        assert!(pilot.0 > 0.0, "{total}: {pilot:?}");
        assert!(comparison.0 < 0.0 && comparison.1 > 0.0, "{total}: {comparison:?}");
        assert!(did.0 > 0.0 && did.1 < 1.0, "{total}: {did:?}");
    }
    assert!(
        rows(&run.join("03_analyze/scale_reliability.parquet")) >= 2 * 6 * 2,
        "six scales of two instruments × T0, T1"
    );
    // The report shows them: per scale both arms and the difference, in every format.
    let report = tmp.path().join("report");
    let table_4 = std::fs::read_to_string(report.join("tables/table_scales.csv")).unwrap();
    assert_eq!(table_4.lines().count(), 1 + 2 * 6 * 3);
    assert_eq!(
        table_4.lines().filter(|l| l.contains("pacic_voksne")).count(),
        6 * 3,
        "the REDCap form's scales in the report: {table_4}"
    );
    assert!(report.join("tables/table_scales.md").exists() && report.join("tables.xlsx").exists());
    // Focus groups: a row per code in Table 5, and per source, per code plus "all" in
    // Table 6 (agreement is within each of the two sources, whose groups Table 5 counts
    // together: 6 + 4).
    let table_5 = std::fs::read_to_string(report.join("tables/table_codes.csv")).unwrap();
    let table_6 = std::fs::read_to_string(report.join("tables/table_agreement.csv")).unwrap();
    assert_eq!(
        (table_5.lines().count(), table_6.lines().count()),
        (1 + codes, 1 + 2 * (codes + 1))
    );
    assert!(table_5.lines().skip(1).all(|l| l.ends_with("/ 10")), "{table_5}");
    assert!(table_6.contains("sammenligningsteamet"), "{table_6}");
    let meta = read_parquet(&run.join("03_analyze/indicators.parquet")).unwrap().metadata;
    for key in ["folge.version", "folge.pipeline", "folge.params_sha256", "folge.inputs_sha256"] {
        assert!(meta.contains_key(key), "{key}");
    }

    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(run.join("manifest.json")).unwrap()).unwrap();
    let inputs = manifest["inputs"].as_array().unwrap();
    assert_eq!(inputs.len(), 9, "two codings inputs among them, and two REDCap projects");
    // The pipeline file by its name only: nothing of the machine's folders (a temporary
    // folder's random name once read as a street address and stopped the run).
    assert_eq!(manifest["pipeline_file"], "sample.toml");
    let tmp_name = tmp.path().file_name().unwrap().to_str().unwrap();
    assert!(!std::fs::read_to_string(run.join("manifest.json")).unwrap().contains(tmp_name));
    let submissions = |name: &str| {
        let role = format!("inputs.questionnaires.{name}");
        let input = inputs.iter().find(|i| i["table"] == "responses" && i["role"] == role).unwrap();
        assert_eq!(input["rows_rejected"], 0, "{name}");
        input["rows_accepted"].as_u64().unwrap()
    };
    let pacic = submissions("pacic_t0") + submissions("pacic_t1");
    let eq5d = submissions("eq5d");
    let pacic_redcap = submissions("pacic_redcap");
    // Inputs are named by their role and hash, never by file name (which may name a
    // person): no manifest holds one, the research extract's included.
    for manifest in
        ["run/manifest.json", "run/02_deid/extract/manifest.json", "report/manifest.json"]
    {
        let text = std::fs::read_to_string(tmp.path().join(manifest)).unwrap_or_default();
        assert!(!text.contains("data-sample"), "{manifest} holds an input's path");
        for file in std::fs::read_dir(repo().join("data-sample")).unwrap() {
            let name = file.unwrap().file_name().to_string_lossy().into_owned();
            for quoted in [format!("/{name}"), format!("\"{name}\"")] {
                assert!(!text.contains(&quoted), "{manifest} names `{name}`");
            }
        }
    }
    // PACIC: 20 items, 1 free-text comment and 3 checkbox options per submission; EQ-5D
    // from REDCap: 5 dimensions, the VAS, 3 checkbox choices and a comment; PACIC from
    // REDCap: its 20 items.
    assert_eq!(
        rows(&run.join("01_ingest/responses.parquet")) as u64,
        pacic * 24 + eq5d * 10 + pacic_redcap * 20
    );
    assert_eq!(
        pacic as usize,
        data_lines("nettskjema_pacic_T0.csv") + data_lines("nettskjema_pacic_T1.csv")
    );
    assert_eq!(eq5d as usize, data_lines("redcap_eq5d_data.csv"));
    assert_eq!(pacic_redcap as usize, data_lines("redcap_pacic_data.csv"));
    // Two codings inputs (two teams), each counted on its own, read into one table.
    let codings: Vec<&serde_json::Value> =
        inputs.iter().filter(|i| i["table"] == "codings").collect();
    let roles: Vec<&str> = codings.iter().map(|i| i["role"].as_str().unwrap()).collect();
    assert_eq!(roles, ["inputs.codings[0]", "inputs.codings[1]"]);
    let accepted: Vec<u64> = codings.iter().map(|i| i["rows_accepted"].as_u64().unwrap()).collect();
    assert_eq!(rows(&run.join("01_ingest/codings.parquet")) as u64, accepted.iter().sum::<u64>());
    assert!(accepted[0] >= 120, "two coders over the first team's segments");
    assert!(accepted[1] >= 80, "two coders over the second team's segments");
    for input in &codings {
        assert_eq!(input["rows_rejected"], 0, "the sample's roles and municipalities are listed");
    }
    // Every row carries its input's label, and as many rows carry each as it gave.
    let sources = strings(&run.join("02_deid/codings.parquet"), "source");
    let count = |label: &str| sources.iter().filter(|s| s.as_deref() == Some(label)).count();
    assert_eq!(
        [count("pilotteamet") as u64, count("sammenligningsteamet") as u64],
        [accepted[0], accepted[1]]
    );
    // Coders are people: numbered in zone 2 (by source, then name), and agreement still
    // pairs them, within each source.
    let coder_labels: std::collections::BTreeSet<Option<String>> =
        strings(&run.join("02_deid/codings.parquet"), "coder").into_iter().collect();
    assert_eq!(
        coder_labels,
        (1..=4).map(|i| Some(format!("coder {i}"))).collect(),
        "two coders in each of two sources"
    );
    let agreement = run.join("03_analyze/agreement.parquet");
    let agreement_sources: std::collections::BTreeSet<Option<String>> =
        strings(&agreement, "source").into_iter().collect();
    assert_eq!(
        agreement_sources,
        [Some("pilotteamet".to_owned()), Some("sammenligningsteamet".to_owned())].into()
    );
    for input in inputs {
        let (read, ok, rejected) = (
            input["rows_read"].as_u64().unwrap(),
            input["rows_accepted"].as_u64().unwrap(),
            input["rows_rejected"].as_u64().unwrap(),
        );
        assert_eq!(read, ok + rejected);
        assert_eq!(input["sha256"].as_str().unwrap().len(), 64);
        assert!(input["bytes"].as_u64().unwrap() > 0);
    }
    let stages: Vec<&str> = manifest["stages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["stage"].as_str().unwrap())
        .collect();
    assert_eq!(stages, ["ingest", "deid", "analyze", "report"]);
    let fingerprint = manifest["key_fingerprint"].as_str().unwrap();
    assert_eq!(fingerprint, folge_deid::Key::demo().fingerprint());
    assert!(
        !std::fs::read_to_string(run.join("manifest.json"))
            .unwrap()
            .contains(&folge_deid::Key::demo().to_hex())
    );

    let html = std::fs::read_to_string(tmp.path().join("report/index.html")).unwrap();
    assert!(html.contains("<svg") && html.contains("<table"), "a figure and a table");
    assert!(html.contains("Liggedøgn"));
    let without_namespace = html.replace("xmlns=\"http://www.w3.org/2000/svg\"", "");
    assert!(
        !without_namespace.contains("http:") && !without_namespace.contains("https:"),
        "no network requests"
    );
    assert!(tmp.path().join("report/figures/figure_rates.svg").exists());
    let table = std::fs::read_to_string(tmp.path().join("report/tables/table_rates.csv")).unwrap();
    // A Norwegian report's CSV as a Norwegian-locale Excel opens it: `;` and decimal commas.
    assert!(table.starts_with("Indikator;Gruppe;n;"), "{table}");
    let second = table.lines().nth(1).unwrap();
    assert!(second.contains(',') && !second.contains('.'), "{second}");

    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(run.join("01_ingest")).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o700, "identifiable zone is private");
    }
}

#[test]
fn committed_sample_is_what_folge_sample_generates() {
    let tmp = tempfile::tempdir().unwrap();
    let out = folge(&["sample", "--out", tmp.path().to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    let generated = files(tmp.path());
    assert_eq!(
        generated.len(),
        13,
        "every sample file, the staff list, both teams' codings and both REDCap projects included"
    );
    for (name, bytes) in generated {
        let committed = std::fs::read(repo().join("data-sample").join(&name)).unwrap();
        assert!(
            committed == bytes,
            "data-sample/{} differs from `folge sample` output",
            name.display()
        );
    }
}

/// Every file under `dir`, sorted, as (relative path, bytes).
fn files(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
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

/// `folge run` twice, and stage by stage: the same bytes. `run` hands each stage's
/// results to the next in memory (participants to deid; deid's tables and indicator
/// table to analyze; those tables on to the report); one stage at a time, each reads
/// what the one before wrote.
#[test]
fn same_inputs_same_bytes_whole_or_stage_by_stage() {
    let (a, b, c) =
        (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let out = run_sample(a.path());
    assert!(stderr(&out).contains("indicators built while de-identifying"), "{}", stderr(&out));
    run_sample(b.path());
    let pipeline = sample_pipeline(c.path(), "");
    for stage in ["ingest", "deid", "analyze", "report"] {
        let out = folge(&[stage, pipeline.to_str().unwrap()]);
        assert!(out.status.success(), "{stage}: {}", stderr(&out));
        assert!(!stderr(&out).contains("indicators built while"), "{}", stderr(&out));
    }
    let deterministic = |dir: &Path| -> Vec<(PathBuf, Vec<u8>)> {
        let mut all = files(&dir.join("run"));
        all.extend(
            files(&dir.join("report")).into_iter().map(|(p, b)| (Path::new("report").join(p), b)),
        );
        // Stage records and manifests hold timings by design.
        all.retain(|(p, _)| !p.ends_with("stage.json") && !p.ends_with("manifest.json"));
        all
    };
    let (fa, fb, fc) = (deterministic(a.path()), deterministic(b.path()), deterministic(c.path()));
    assert!(fa.iter().filter(|(p, _)| p.extension().is_some_and(|e| e == "parquet")).count() >= 9);
    for (other, how) in [(&fb, "a second run"), (&fc, "the stages run one by one")] {
        assert_eq!(fa.len(), other.len(), "{how}");
        for ((pa, ba), (pb, bb)) in fa.iter().zip(other) {
            assert_eq!(pa, pb);
            assert!(ba == bb, "{} differs in {how}", pa.display());
        }
    }
}

#[test]
fn with_no_pipeline_file_outside_the_project_folge_says_what_to_do() {
    let elsewhere = tempfile::tempdir().unwrap();
    let out =
        Command::new(env!("CARGO_BIN_EXE_folge")).current_dir(elsewhere.path()).output().unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let said = stderr(&out);
    assert!(
        said.contains("when no pipeline file is named")
            && said.contains("pipelines/sample.toml")
            && said.contains("folge run path/to/evaluation.toml"),
        "{said}"
    );
}

#[test]
fn every_missing_input_is_named_by_its_place_in_one_message() {
    let tmp = tempfile::tempdir().unwrap();
    let pipeline = sample_pipeline(tmp.path(), "");
    let text = std::fs::read_to_string(&pipeline)
        .unwrap()
        .replacen("data-sample/service_events.csv", "data-sample/kari_nordmann.csv", 1)
        .replace("data-sample/process_events.csv", "data-sample/steps_gone.csv");
    std::fs::write(&pipeline, text).unwrap();
    let out = folge(&["validate", pipeline.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2), "a configuration error: {}", stderr(&out));
    let said = stderr(&out);
    assert!(
        said.contains("`inputs.service_events`: there is no file at its `path`")
            && said.contains("`inputs.process_events`: there is no file at its `path`"),
        "{said}"
    );
    assert!(!said.contains("kari") && !said.contains("steps_gone"), "no file name: {said}");
}

#[test]
fn validate_passes_and_a_typo_is_a_usage_error() {
    let tmp = tempfile::tempdir().unwrap();
    let pipeline = sample_pipeline(tmp.path(), "");
    let out = folge(&["validate", pipeline.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(!tmp.path().join("run").exists(), "validate writes nothing");

    let typo = sample_pipeline(tmp.path(), "");
    let text =
        std::fs::read_to_string(&typo).unwrap().replace("before_days = 365", "befor_days = 365");
    std::fs::write(&typo, &text).unwrap();
    let line = text.lines().position(|l| l.starts_with("befor_days")).unwrap() + 1;
    let out = folge(&["validate", typo.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        stderr(&out).trim_end(),
        format!(
            "folge: error: {} line {line}: unknown key `befor_days`; did you mean `before_days`?",
            typo.display()
        )
    );
    let out = folge(&["validate", "/nonexistent/x.toml"]);
    assert_eq!(out.status.code(), Some(2));
    let out = folge(&["frobnicate"]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn hospital_and_municipal_extracts_and_monthly_counts_read_together() {
    let tmp = tempfile::tempdir().unwrap();
    // Two persons of the sample, as a KPR extract of decisions and as monthly counts.
    let ids: Vec<String> = identifiers()
        .into_iter()
        .filter(|s| s.len() == 11 && s.bytes().all(|b| b.is_ascii_digit()))
        .take(2)
        .collect();
    let (a, b) = (&ids[0], &ids[1]);
    let kpr = tmp.path().join("kpr.csv");
    std::fs::write(
        &kpr,
        format!(
            "fnr;tjenestekode;fradato;tildato;timerPerUke\n\
             {a};15;01.01.2020;31.03.2020;3,5\n\
             {b};2;01.06.2020;;2\n\
             {b};6;01.06.2020;;\n"
        ),
    )
    .unwrap();
    let counts = tmp.path().join("counts.csv");
    std::fs::write(&counts, format!("person_id;month;service;count\n{a};2020-03;gp;2\n")).unwrap();
    let pipeline = sample_pipeline(
        tmp.path(),
        &format!(
            "[[inputs.service_events]]\npath = \"{}\"\nlayout = \"kpr\"\n\n[[inputs.service_counts]]\npath = \"{}\"\n",
            kpr.display(),
            counts.display()
        ),
    );
    let text = std::fs::read_to_string(&pipeline).unwrap().replacen(
        "\n[inputs.service_events]\n",
        "\n[[inputs.service_events]]\n",
        1,
    );
    // One rejected row of three is more than the 1 % limit: allow it for this file.
    let text = text.replace("max_reject_share = 0.01", "max_reject_share = 0.5");
    std::fs::write(&pipeline, text).unwrap();
    let out = folge(&["run", pipeline.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    let run = tmp.path().join("run");
    assert_eq!(
        rows(&run.join("01_ingest/service_events.parquet")),
        data_lines("service_events.csv") + 2,
        "the sample's events and two KPR decisions, in one table"
    );
    assert_eq!(rows(&run.join("01_ingest/service_counts.parquet")), 1);
    assert_eq!(rows(&run.join("02_deid/service_counts.parquet")), 1, "carried through deid");
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(run.join("manifest.json")).unwrap()).unwrap();
    let kpr_input = manifest["inputs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["role"] == "inputs.service_events[1]")
        .unwrap();
    assert_eq!(
        (&kpr_input["rows_read"], &kpr_input["rows_accepted"], &kpr_input["rows_rejected"]),
        (&3.into(), &2.into(), &1.into())
    );
    let log = stderr(&out);
    assert!(
        log.lines().any(|l| l.contains("inputs.service_events[1] (")
            && l.ends_with("3 rows read, 2 accepted, 1 rejected")),
        "{log}"
    );
    assert!(!log.contains("kpr.csv"), "the log names inputs by role: {log}");
    // The KPR rows follow the hospital rows: persons come twice, so deid deals them into
    // parts by person as it writes them and hands analyze the indicators; analyze run on
    // its own reads them back and deals them itself; the same bytes either way, and no
    // part left behind.
    for expected in ["dealing them into 1 part(s) by person", "indicators built while"] {
        assert!(stderr(&out).contains(expected), "{expected}: {}", stderr(&out));
    }
    let analyzed = |dir: &Path| -> Vec<(PathBuf, Vec<u8>)> {
        let mut all = files(dir);
        all.retain(|(p, _)| !p.ends_with("stage.json"));
        all
    };
    let handed_over = analyzed(&run.join("03_analyze"));
    let alone = folge(&["analyze", pipeline.to_str().unwrap()]);
    assert!(alone.status.success(), "{}", stderr(&alone));
    assert!(stderr(&alone).contains("sorting them out by person in 1 part(s) first"));
    assert!(handed_over == analyzed(&run.join("03_analyze")), "analyze alone gave other bytes");
    for stage in ["02_deid", "03_analyze"] {
        let leftovers: Vec<_> = std::fs::read_dir(run.join(stage))
            .unwrap()
            .filter_map(Result::ok)
            .filter(|e| e.file_name().to_string_lossy().starts_with(".parts-"))
            .collect();
        assert!(leftovers.is_empty(), "{stage}");
    }
}

/// A registry delivers its rows in date order, not grouped by person: the same events
/// in a shuffled file (neither grouped nor sorted) give the analysis and the report of
/// the file sorted by person byte for byte. Only what follows the input's rows (the
/// ingest and deid tables, their order and reject lines; the inputs' hash in records and
/// the report's provenance) may differ.
#[test]
fn events_in_any_order_give_the_bytes_of_events_sorted_by_person() {
    let (sorted, shuffled) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    run_sample(sorted.path());
    let data = copy_sample(shuffled.path());
    let events = data.join("service_events.csv");
    let text = std::fs::read_to_string(&events).unwrap();
    let mut lines: Vec<&str> = text.lines().collect();
    let header = lines.remove(0);
    // Fisher–Yates with a fixed linear congruential generator: the same file every run.
    let mut state = 0x9e37_79b9_7f4a_7c15_u64;
    for i in (1..lines.len()).rev() {
        state =
            state.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        lines.swap(i, usize::try_from(state >> 33).unwrap() % (i + 1));
    }
    std::fs::write(&events, format!("{header}\n{}\n", lines.join("\n"))).unwrap();
    let pipeline = sample_pipeline(shuffled.path(), "");
    let out = folge(&["run", pipeline.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    for expected in ["are not sorted by person", "indicators built while de-identifying"] {
        assert!(stderr(&out).contains(expected), "{expected}: {}", stderr(&out));
    }
    let comparable = |dir: &Path| -> Vec<(PathBuf, Vec<u8>)> {
        let mut all: Vec<(PathBuf, Vec<u8>)> = files(&dir.join("run/03_analyze"));
        all.extend(
            files(&dir.join("report")).into_iter().map(|(p, b)| (Path::new("report").join(p), b)),
        );
        all.retain(|(p, _)| {
            !p.ends_with("stage.json")
                && !p.ends_with("manifest.json")
                && !p.ends_with("index.html")
        });
        all
    };
    let (a, b) = (comparable(sorted.path()), comparable(shuffled.path()));
    assert!(a.iter().filter(|(p, _)| p.extension().is_some_and(|e| e == "parquet")).count() >= 9);
    assert_eq!(a.len(), b.len());
    // Parquet files carry the inputs' hash in their metadata: their data are compared.
    let data = |dir: &Path, file: &Path| {
        let path = if file.starts_with("report") {
            dir.join(file)
        } else {
            dir.join("run/03_analyze").join(file)
        };
        read_parquet(&path).unwrap().batches
    };
    for ((pa, ba), (pb, bb)) in a.iter().zip(&b) {
        assert_eq!(pa, pb);
        let same = if pa.extension().is_some_and(|e| e == "parquet") {
            data(sorted.path(), pa) == data(shuffled.path(), pb)
        } else {
            ba == bb
        };
        assert!(same, "{} differs when the events come shuffled", pa.display());
    }
}

#[test]
fn stages_run_one_at_a_time_and_say_what_is_missing() {
    let tmp = tempfile::tempdir().unwrap();
    let pipeline = sample_pipeline(tmp.path(), "");
    let p = pipeline.to_str().unwrap();
    let out = folge(&["analyze", p]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("02_deid/participants.parquet` is missing; run `folge deid` first"),
        "{}",
        stderr(&out)
    );
    for stage in ["ingest", "deid", "analyze", "report"] {
        let out = folge(&[stage, p]);
        assert!(out.status.success(), "{stage}: {}", stderr(&out));
    }
    assert!(tmp.path().join("report/index.html").exists());
    let out = folge(&[
        "inspect",
        tmp.path().join("run/03_analyze/rates.parquet").to_str().unwrap(),
        "--rows",
        "2",
    ]);
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("rows: 48") && text.contains("folge.params_sha256"), "{text}");
}

/// Synthetic ids and names from the participant list.
fn identifiers() -> Vec<String> {
    let text = std::fs::read_to_string(repo().join("data-sample/participants.csv")).unwrap();
    let mut ids = Vec::new();
    for line in text.lines().skip(1) {
        let fields: Vec<&str> = line.trim_start_matches('\u{feff}').split(';').collect();
        ids.push(fields[0].to_owned());
        ids.push(fields[1].to_owned());
    }
    ids
}

/// Phone numbers written in the sample's free-text answers (8 digits, as `91 23 45 67`,
/// `+47 91234567` or plain), as bare digits.
fn phone_numbers() -> Vec<String> {
    let mut phones = Vec::new();
    for file in ["nettskjema_pacic_T0.csv", "nettskjema_pacic_T1.csv", "redcap_eq5d_data.csv"] {
        let text = std::fs::read_to_string(repo().join("data-sample").join(file)).unwrap();
        for line in text.lines() {
            let Some(at) = line.find("Ring meg gjerne på ") else { continue };
            let digits: String = line[at..]
                .chars()
                .skip(19)
                .take_while(|c| c.is_ascii_digit() || *c == ' ' || *c == '+')
                .filter(char::is_ascii_digit)
                .collect();
            phones.push(
                digits.strip_prefix("47").filter(|d| d.len() == 8).unwrap_or(&digits).to_owned(),
            );
        }
    }
    phones
}

/// All text in a file: Parquet values decoded (pages are compressed), other files as is.
fn text_of(path: &Path) -> String {
    if path.extension().is_some_and(|e| e == "parquet") {
        let contents = read_parquet(path).unwrap();
        let mut out = String::new();
        for batch in &contents.batches {
            for column in batch.columns() {
                // A dictionary's levels too, used by a row or not.
                let levels =
                    column.as_any_dictionary_opt().and_then(|d| texts(d.values().as_ref()));
                for value in texts(column.as_ref()).into_iter().chain(levels).flatten().flatten() {
                    out.push_str(&value);
                    out.push('\n');
                }
            }
        }
        out
    } else if path.extension().is_some_and(|e| e == "png") {
        // Pixel data is compressed: scanning its bytes finds nothing real and, in megabytes
        // of figures, three letters between two non-letters by chance. Text can only be in
        // the text chunks (the figures' words are scanned in their SVG twins).
        let file = std::io::BufReader::new(std::fs::File::open(path).unwrap());
        let mut reader = png::Decoder::new(file).read_info().unwrap();
        let mut pixels = vec![0; reader.output_buffer_size()];
        reader.next_frame(&mut pixels).unwrap();
        reader.finish().unwrap();
        let info = reader.info();
        let mut out = String::new();
        for t in &info.uncompressed_latin1_text {
            out.push_str(&t.keyword);
            out.push('\n');
            out.push_str(&t.text);
            out.push('\n');
        }
        for t in &info.compressed_latin1_text {
            let mut t = t.clone();
            t.decompress_text().unwrap();
            out.push_str(&t.keyword);
            out.push('\n');
            out.push_str(&t.get_text().unwrap());
            out.push('\n');
        }
        for t in &info.utf8_text {
            let mut t = t.clone();
            t.decompress_text().unwrap();
            out.push_str(&t.keyword);
            out.push('\n');
            out.push_str(&t.get_text().unwrap());
            out.push('\n');
        }
        out
    } else if path.extension().is_some_and(|e| e == "xlsx") {
        // A workbook is a zip of XML: scan what it unpacks to, not its compressed bytes.
        let mut archive = zip::ZipArchive::new(std::fs::File::open(path).unwrap()).unwrap();
        let mut out = String::new();
        for i in 0..archive.len() {
            let mut entry = archive.by_index(i).unwrap();
            let mut bytes = Vec::new();
            std::io::Read::read_to_end(&mut entry, &mut bytes).unwrap();
            out.push_str(&String::from_utf8_lossy(&bytes));
            out.push('\n');
        }
        assert!(out.contains("<sheetData"), "{} unpacks to worksheets", path.display());
        out
    } else {
        String::from_utf8_lossy(&std::fs::read(path).unwrap()).into_owned()
    }
}

#[test]
fn no_identifier_reaches_deid_analysis_report_or_logs() {
    let tmp = tempfile::tempdir().unwrap();
    let out = run_sample(tmp.path());
    let identifiers = identifiers();
    assert!(identifiers.len() >= 600);
    let mut scanned = vec![("stderr".to_owned(), stderr(&out))];
    for dir in ["run/02_deid", "run/03_analyze", "report"] {
        for (rel, _) in files(&tmp.path().join(dir)) {
            let path = tmp.path().join(dir).join(&rel);
            scanned.push((path.display().to_string(), text_of(&path)));
        }
    }
    scanned.push((
        "manifest".into(),
        std::fs::read_to_string(tmp.path().join("run/manifest.json")).unwrap(),
    ));
    assert!(scanned.len() >= 10);
    for (name, text) in &scanned {
        for id in &identifiers {
            assert!(
                !text.contains(id.as_str()),
                "an identifier from participants.csv is in {name}"
            );
        }
    }
    // Phone numbers from free-text answers: written with or without spaces, so compare
    // digits only.
    let phones = phone_numbers();
    assert!(phones.len() >= 5 && phones.iter().all(|p| p.len() == 8), "{phones:?}");
    for (name, text) in &scanned {
        let digits: String = text.chars().filter(char::is_ascii_digit).collect();
        for phone in &phones {
            assert!(
                !digits.contains(phone.as_str()),
                "a phone number from the free text is in {name}"
            );
        }
    }
    // Every part of every participant's and staff member's name, as a whole word in any
    // case: free text (answers, quotes) is scrubbed into zone 2. Names that are also
    // common words are not exempt (issue 15): capitalised ("Rune og jeg fikk …") they
    // must be gone too; in lower case ("per uke") they are words.
    let words = name_words();
    assert!(words.len() >= 50, "{}", words.len());
    let common: Vec<String> = words
        .iter()
        .filter(|w| folge_deid::COMMON_WORD_NAMES.contains(&w.as_str()))
        .map(|w| w[..1].to_uppercase() + &w[1..])
        .collect();
    assert!(common.len() >= 3, "the sample has common-word names: {common:?}");
    for (name, text) in &scanned {
        let lower = text.to_lowercase();
        for word in words.iter().filter(|w| !folge_deid::COMMON_WORD_NAMES.contains(&w.as_str())) {
            assert!(!has_word(&lower, word), "a name ({} letters) is in {name}", word.len());
        }
        // Markup's tags and attributes hold codes, not text (the workbook's theme names
        // the script `Hans`): capitalised common words are looked for outside them.
        let words_outside_tags = outside_tags(text);
        for word in &common {
            assert!(
                !has_word(&words_outside_tags, word),
                "a capitalised common-word name is in {name}"
            );
        }
    }
    // The scans themselves can fail: the identifiable zone does hold all of these.
    let ingest = text_of(&tmp.path().join("run/01_ingest/participants.parquet"));
    assert!(identifiers.iter().all(|id| ingest.contains(id.as_str())));
    let answers = text_of(&tmp.path().join("run/01_ingest/responses.parquet")).to_lowercase();
    let quotes = text_of(&tmp.path().join("run/01_ingest/codings.parquet")).to_lowercase();
    assert!(words.iter().any(|w| has_word(&answers, w)), "answers name people in zone 1");
    assert!(staff_names().iter().any(|n| quotes.contains(&n.to_lowercase())), "quotes name staff");
    // The second team's quotes name patients by their full names (every one is scrubbed).
    let names: Vec<&String> = identifiers.iter().skip(1).step_by(2).collect();
    assert!(names.iter().any(|n| quotes.contains(&n.to_lowercase())), "quotes name participants");
    let digits: String = answers.chars().filter(char::is_ascii_digit).collect();
    assert!(phones.iter().all(|p| digits.contains(p.as_str())));
}

fn staff_names() -> Vec<String> {
    std::fs::read_to_string(repo().join("data-sample/staff_names.txt"))
        .unwrap()
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(str::to_owned)
        .collect()
}

/// Lowercase parts of every participant's and staff member's name, except parts shorter
/// than three letters and words of
/// the evaluation's own site labels (the surname Haukeland and the site "Haukeland
/// voksne": the label names a hospital, not the person).
fn name_words() -> Vec<String> {
    let text = std::fs::read_to_string(repo().join("data-sample/participants.csv")).unwrap();
    let site_words: Vec<String> = text
        .lines()
        .skip(1)
        .filter_map(|l| l.split(';').nth(5))
        .flat_map(|site| site.split(' ').map(str::to_lowercase).collect::<Vec<_>>())
        .collect();
    let names: Vec<String> = identifiers()
        .into_iter()
        .filter(|s| !s.bytes().all(|b| b.is_ascii_digit()))
        .chain(staff_names())
        .collect();
    let mut words: Vec<String> = names
        .iter()
        .flat_map(|n| n.split([' ', '-']).map(str::to_lowercase).collect::<Vec<_>>())
        .filter(|w| w.chars().count() >= 3)
        .filter(|w| !site_words.contains(w))
        .collect();
    words.sort();
    words.dedup();
    words
}

/// `text` without anything between `<` and `>` (each tag becomes a space).
fn outside_tags(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut inside = false;
    for c in text.chars() {
        match c {
            '<' => inside = true,
            '>' if inside => {
                inside = false;
                out.push(' ');
            }
            c if !inside => out.push(c),
            _ => {}
        }
    }
    out
}

/// Whether `word` stands in `text` as a whole word (both lowercase).
fn has_word(text: &str, word: &str) -> bool {
    text.match_indices(word).any(|(at, _)| {
        let before = text[..at].chars().next_back();
        let after = text[at + word.len()..].chars().next();
        !before.is_some_and(char::is_alphanumeric) && !after.is_some_and(char::is_alphanumeric)
    })
}

#[test]
fn the_link_table_is_written_only_where_asked_and_kept_apart() {
    let tmp = tempfile::tempdir().unwrap();
    let pipeline = sample_pipeline(tmp.path(), "");
    let p = pipeline.to_str().unwrap();
    let inside = tmp.path().join("run/links.csv");
    let out = folge(&["run", p, "--link-table", inside.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains(&format!(
        "the link table would lie inside the run directory `{}`",
        tmp.path().join("run").display()
    )));
    assert!(!tmp.path().join("run").exists(), "refused before any stage ran");
    let links = tmp.path().join("controller/links.csv");
    std::fs::create_dir_all(links.parent().unwrap()).unwrap();
    assert!(folge(&["ingest", p]).status.success());
    let out = folge(&["deid", p, "--link-table", links.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&links).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let text = std::fs::read_to_string(&links).unwrap();
    assert_eq!(text.lines().next(), Some("person_id;pid"));
    assert_eq!(text.lines().count(), 301);
    // Its pseudonyms are the ones in the de-identified tables.
    let deid = text_of(&tmp.path().join("run/02_deid/participants.parquet"));
    for line in text.lines().skip(1) {
        let (id, pid) = line.split_once(';').unwrap();
        assert!(deid.contains(pid) && !deid.contains(id));
    }
    let out = folge(&["deid", p, "--link-table", links.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("never overwrites a link table"));
}

#[test]
fn the_research_extract_holds_only_approved_variables_and_reaches_k() {
    let tmp = tempfile::tempdir().unwrap();
    run_sample(tmp.path());
    let extract = tmp.path().join("run/02_deid/extract");
    let text = std::fs::read_to_string(repo().join("pipelines/sample.toml")).unwrap();
    let approved_block = &text[text.find("approved = [").unwrap()..];
    let approved: Vec<&str> =
        approved_block[..approved_block.find(']').unwrap()].split('"').skip(1).step_by(2).collect();
    let mut exported = Vec::new();
    for table in ["participants", "service_events", "responses"] {
        let parquet = read_parquet(&extract.join(format!("{table}.parquet"))).unwrap();
        for field in parquet.batches[0].schema().fields() {
            exported.push(format!("{table}.{}", field.name()));
        }
    }
    // Besides them only `participants.suppressed`, which says which quasi-identifier
    // cells k-anonymity emptied (no value of the person's).
    let mut expected: Vec<&str> = approved.clone();
    let at = expected.iter().position(|v| !v.starts_with("participants.")).unwrap();
    expected.insert(at, "participants.suppressed");
    assert_eq!(exported, expected, "exactly the approved variables, in table order");
    assert!(
        !extract.join("codings.parquet").exists()
            && !extract.join("process_events.parquet").exists()
    );
    let codebook = std::fs::read_to_string(extract.join("codebook.csv")).unwrap();
    assert_eq!(codebook.lines().count(), expected.len() + 1);
    assert!(
        codebook.contains("participants,age_band,category (ordered),\"Age at inclusion, banded.\",\"0-5; 6-12; 13-17; 18-66; 67-79; 80+ (in this order); empty (missing, or suppressed for k-anonymity: see `suppressed`)\""),
        "{codebook}"
    );
    let risk: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(extract.join("risk_report.json")).unwrap())
            .unwrap();
    assert!(
        risk["before"]["records_below_k"].as_u64().unwrap() > 0,
        "the sample has small classes"
    );
    assert_eq!(risk["extract"]["records_below_k"], 0);
    assert!(risk["extract"]["max_risk"].as_f64().unwrap() <= 0.2);
    assert!(extract.join("manifest.json").exists() && extract.join("risk_report.md").exists());
}

#[test]
fn an_unapproved_variable_or_an_expired_approval_exports_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let pipeline = sample_pipeline(tmp.path(), "");
    let text = std::fs::read_to_string(&pipeline).unwrap();
    let unapproved = text.replace(
        "merge_municipalities_below = 10",
        "merge_municipalities_below = 10\nvariables = [\"participants.pid\", \"participants.site\"]",
    );
    std::fs::write(&pipeline, &unapproved).unwrap();
    let out = folge(&["validate", pipeline.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("`extract`: `participants.site` is not among the variables REK approved (REK vest 2019/99999 (fictional, for the sample)); remove it or ask REK to amend the approval"),
        "{}",
        stderr(&out)
    );
    std::fs::write(&pipeline, text.replace("end_date = 2030-12-31", "end_date = 2020-12-31"))
        .unwrap();
    let out = folge(&["run", pipeline.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("the REK approval REK vest 2019/99999 (fictional, for the sample) ended on 2020-12-31; folge exports no research extract after that"), "{}", stderr(&out));
    assert!(!tmp.path().join("run/02_deid/extract/participants.parquet").exists());
}

/// A valid national id of a person born on `(year, month, day)`: a real one
/// (`month_offset` 0) or a synthetic test number (80).
fn national_id_born((year, month, day): (i32, u32, u32), month_offset: u32) -> String {
    let born = chrono::NaiveDate::from_ymd_opt(year, month, day).unwrap();
    (0..500).find_map(|i| folge_schema::national_id::build(born, i, 0, month_offset)).unwrap()
}

/// [`national_id_born`] on 17 May 1950.
fn national_id(month_offset: u32) -> String {
    national_id_born((1950, 5, 17), month_offset)
}

/// A pipeline of one participant (`id`, named Ola Nordmann) in `dir`, run directory
/// `dir/run`, with `settings` added after `data_end`.
fn one_person(dir: &Path, id: &str, settings: &str) -> PathBuf {
    std::fs::write(
        dir.join("p.csv"),
        format!("person_id,name,municipality,arm,inclusion_date\n{id},Ola Nordmann,4601,pilot,01.03.2020\n"),
    )
    .unwrap();
    let pipeline = dir.join("p.toml");
    std::fs::write(
        &pipeline,
        format!("name = \"one\"\noutput = \"run\"\ndata_end = 2021-12-31\n{settings}\n[inputs.participants]\npath = \"p.csv\"\n"),
    )
    .unwrap();
    pipeline
}

/// A key file holding `hex`, mode 0600.
fn key_file(path: &Path, hex: &str) -> PathBuf {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, hex).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    path.to_owned()
}

#[test]
fn demo_key_stops_on_a_real_id_without_printing_it() {
    let tmp = tempfile::tempdir().unwrap();
    let real = national_id(0);
    std::fs::write(
        tmp.path().join("p.csv"),
        format!("person_id,name,municipality,arm,inclusion_date\n{real},Ola Nordmann,4601,pilot,01.03.2020\n"),
    )
    .unwrap();
    let pipeline = tmp.path().join("p.toml");
    std::fs::write(
        &pipeline,
        "name = \"real\"\noutput = \"run\"\nkey = \"demo\"\ndata_end = 2021-12-31\n[inputs.participants]\npath = \"p.csv\"\n",
    )
    .unwrap();
    let out = folge(&["run", pipeline.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2), "the key does not fit the data: configuration");
    let err = stderr(&out);
    assert!(err.contains("the demo key is public"), "{err}");
    assert!(!err.contains(&real) && !err.contains("Nordmann"));
    assert!(!tmp.path().join("run/02_deid").exists());

    // With a real key from keygen it runs; a key inside the run directory is refused.
    let key = tmp.path().join("keys/k.key");
    std::fs::create_dir_all(key.parent().unwrap()).unwrap();
    let out = folge(&["keygen", "--out", key.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = std::fs::read_to_string(&pipeline)
        .unwrap()
        .replace("key = \"demo\"", &format!("key = \"{}\"", key.display()));
    std::fs::write(&pipeline, text).unwrap();
    let out = folge(&["run", pipeline.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    let inside = tmp.path().join("run/k.key");
    assert!(folge(&["keygen", "--out", inside.to_str().unwrap()]).status.success());
    let text = std::fs::read_to_string(&pipeline)
        .unwrap()
        .replace(&key.display().to_string(), &inside.display().to_string());
    std::fs::write(&pipeline, text).unwrap();
    let out = folge(&["run", pipeline.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("inside the run directory"));
}

#[test]
fn the_demo_key_is_known_by_its_bytes_in_a_key_file() {
    let tmp = tempfile::tempdir().unwrap();
    let real = national_id(0);
    let key = key_file(&tmp.path().join("keys/copied.key"), &folge_deid::Key::demo().to_hex());
    let settings = format!("key = \"{}\"", key.display());
    let pipeline = one_person(tmp.path(), &real, &settings);
    let out = folge(&["run", pipeline.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains(&format!(
            "{}: this key file holds the public demo key's bytes; the demo key is public and only allowed when every national id is a synthetic test number, but 1 of the participants' ids are not; create a key with `folge keygen --out FILE` and set `key` in the pipeline file to that file",
            key.display()
        )),
        "{err}"
    );
    assert!(!err.contains(&real) && !err.contains("Nordmann"));
    assert!(!tmp.path().join("run/02_deid").exists());

    // With synthetic ids it runs, and the manifest says it is the demo key.
    let synthetic = tempfile::tempdir().unwrap();
    let settings = format!("key = \"{}\"\nallow_synthetic_ids = true", key.display());
    let pipeline = one_person(synthetic.path(), &national_id(80), &settings);
    let out = folge(&["run", pipeline.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains("the key file holds the public demo key's bytes"));
    let manifest: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(synthetic.path().join("run/manifest.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(manifest["key_fingerprint"], folge_deid::Key::demo().fingerprint());
    assert_eq!(manifest["params"]["key_is_demo"], true);
    let deid = manifest["stages"].as_array().unwrap().iter().find(|s| s["stage"] == "deid");
    assert_eq!(deid.unwrap()["notes"]["key_is_demo"], true);
}

#[test]
fn weak_keys_and_key_files_in_the_report_folder_are_refused_before_any_stage() {
    let tmp = tempfile::tempdir().unwrap();
    let base = tmp.path().canonicalize().unwrap();
    let with_key = |key: &Path| {
        let pipeline = sample_pipeline(&base, "");
        let text = std::fs::read_to_string(&pipeline)
            .unwrap()
            .replace("key = \"demo\"", &format!("key = \"{}\"", key.display()));
        std::fs::write(&pipeline, text).unwrap();
        folge(&["run", pipeline.to_str().unwrap()])
    };
    let zero = key_file(&base.join("keys/zero.key"), &"0".repeat(64));
    let out = with_key(&zero);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains(&format!(
            "{}: the key is not random: all its 32 bytes are the same; create a key with `folge keygen --out FILE`",
            zero.display()
        )),
        "{}",
        stderr(&out)
    );
    let in_report = base.join("report/lkt.key");
    std::fs::create_dir_all(base.join("report")).unwrap();
    assert!(folge(&["keygen", "--out", in_report.to_str().unwrap()]).status.success());
    let out = with_key(&in_report);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains(&format!(
            "{}: the key file lies inside the report folder `{}`; move it elsewhere so data and key are kept apart",
            in_report.display(),
            base.join("report").display()
        )),
        "{}",
        stderr(&out)
    );
    assert!(!base.join("run").exists(), "refused before any stage ran");
}

#[test]
fn the_link_table_is_refused_through_dot_dot_or_a_link_into_an_output_folder() {
    let tmp = tempfile::tempdir().unwrap();
    let base = tmp.path().canonicalize().unwrap();
    let pipeline = sample_pipeline(&base, "");
    let p = pipeline.to_str().unwrap();
    let report = base.join("report");
    let refused = |link_table: &Path| {
        let out = folge(&["run", p, "--link-table", link_table.to_str().unwrap()]);
        assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
        assert!(!base.join("run").exists(), "refused before any stage ran");
        stderr(&out)
    };
    let via_dot_dot = base.join("controller/../report/link.csv");
    assert_eq!(
        refused(&via_dot_dot),
        format!(
            "folge: error: {}: the link table would lie inside the report folder `{}` (`{}` leads to `{}`); write it where the data controller keeps it, apart from the run and report folders\n",
            via_dot_dot.display(),
            report.display(),
            via_dot_dot.display(),
            report.join("link.csv").display()
        )
    );
    #[cfg(unix)]
    {
        // A link to the report folder (which need not exist yet) and one into the run
        // directory's stage folder.
        let secure = base.join("secure");
        std::os::unix::fs::symlink(&report, &secure).unwrap();
        let err = refused(&secure.join("link.csv"));
        assert!(
            err.contains(&format!(
                "the link table would lie inside the report folder `{}`",
                report.display()
            )),
            "{err}"
        );
        let controller = base.join("controller");
        std::os::unix::fs::symlink(base.join("run/01_ingest"), &controller).unwrap();
        let err = refused(&controller.join("link.csv"));
        assert!(
            err.contains(&format!(
                "the link table would lie inside the run directory `{}`",
                base.join("run").display()
            )),
            "{err}"
        );
    }
}

#[test]
fn a_value_outside_a_vocabulary_is_rejected_without_showing_it() {
    let tmp = tempfile::tempdir().unwrap();
    let pipeline = one_person(
        tmp.path(),
        &national_id(80),
        "key = \"demo\"\nallow_synthetic_ids = true\n[ingest]\nmax_reject_share = 1.0\n[vocabularies]\nsites = [\"Askøy\", \"Bergen barn\"]",
    );
    // Two persons: one at a listed site, one whose site cell holds a name.
    let (a, b) = (national_id(80), national_id_born((1960, 1, 2), 80));
    std::fs::write(
        tmp.path().join("p.csv"),
        format!(
            "person_id;municipality;site;arm;inclusion_date\n{a};4601;askøy;pilot;01.03.2020\n{b};4601;Trude Hansen;pilot;01.03.2020\n"
        ),
    )
    .unwrap();
    let out = folge(&["ingest", pipeline.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(!stderr(&out).contains("Trude") && !stderr(&out).contains("Hansen"));
    let rejects = tmp.path().join("run/01_ingest/rejects.parquet");
    let (lines, columns, reasons) = (
        read_parquet(&rejects).unwrap().batches[0]
            .column_by_name("line")
            .unwrap()
            .as_any()
            .downcast_ref::<arrow_array::Int64Array>()
            .unwrap()
            .values()
            .to_vec(),
        strings(&rejects, "column"),
        strings(&rejects, "reason"),
    );
    assert_eq!(lines, [3]);
    assert_eq!(columns, [Some("site".to_owned())]);
    assert_eq!(
        reasons,
        [Some(
            "is not among the values `vocabularies.sites` lists (expected `Askøy`, `Bergen barn`); the value is not shown, as it may name a person"
                .to_owned()
        )]
    );
    let sites = strings(&tmp.path().join("run/01_ingest/participants.parquet"), "site");
    assert_eq!(sites, [Some("Askøy".to_owned())], "stored as the list spells it");

    // `folge inspect` shows the zone-1 table's rows only when asked, after a warning.
    let participants = tmp.path().join("run/01_ingest/participants.parquet");
    let out = folge(&["inspect", participants.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
    assert_eq!(
        stderr(&out),
        format!(
            "folge: error: `{}` is an identifiable table (zone 1: it lies in a `01_ingest` folder); its rows hold national ids and names, so `folge inspect` shows them only with `--identifiable` (`--rows 0` shows the schema and metadata alone)\n",
            participants.display()
        )
    );
    let out = folge(&["inspect", participants.to_str().unwrap(), "--rows", "0"]);
    assert!(out.status.success() && !String::from_utf8_lossy(&out.stdout).contains(&a));
    let out = folge(&["inspect", participants.to_str().unwrap(), "--identifiable"]);
    assert!(out.status.success());
    assert!(stderr(&out).starts_with("folge: warning: "), "{}", stderr(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains(&a));
}

/// Two codings inputs whose groups, segments and coders have the same names: read into
/// one table, each row labelled with its input's source, each input counted on its own
/// (rows in = accepted + rejected), and kept apart in the analysis: two groups, not one,
/// and agreement only among one source's coders.
#[test]
fn two_codings_inputs_with_the_same_names_are_kept_apart_by_source() {
    let tmp = tempfile::tempdir().unwrap();
    let header = "focus_group;municipality;role;coder;segment;code;text\n";
    std::fs::write(
        tmp.path().join("a.csv"),
        format!(
            "{header}FG1;4601;leder;Coder A;s1;Tid;Vi mangler tid.\n\
             FG1;4601;leder;Coder B;s1;Tid;Vi mangler tid.\n\
             FG1;4601;sjef;Coder B;s2;Tid;Ingen tid.\n"
        ),
    )
    .unwrap();
    std::fs::write(
        tmp.path().join("b.csv"),
        format!("{header}FG1;4627;leder;Coder A;s1;Felles plan;Vi har en plan.\n"),
    )
    .unwrap();
    let pipeline = sample_pipeline(tmp.path(), "");
    let text = std::fs::read_to_string(&pipeline).unwrap();
    let text = text
        .replace("\"data-sample/focus_groups.qdpx\"\nformat = \"qdpx\"", "\"a.csv\"")
        .replace(
            "\"data-sample/focus_groups_comparison_nvivo.csv\"\nlayout = \"nvivo\"\ncolumns = { municipality = \"Kommune\", role = \"Rolle\" }",
            "\"b.csv\"",
        )
        .replace("max_reject_share = 0.01", "max_reject_share = 1.0");
    assert!(text.contains("\"a.csv\"") && text.contains("\"b.csv\""));
    std::fs::write(&pipeline, text).unwrap();
    let out = folge(&["run", pipeline.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    let run = tmp.path().join("run");
    let ingested = run.join("01_ingest/codings.parquet");
    assert_eq!(
        strings(&ingested, "source"),
        ["pilotteamet", "pilotteamet", "sammenligningsteamet"].map(|s| Some(s.to_owned()))
    );
    // The role outside the vocabulary: one reject, of the first input's line 4.
    let rejects = tmp.path().join("run/01_ingest/rejects.parquet");
    let codings_rejects: Vec<(Option<String>, Option<String>)> = strings(&rejects, "source")
        .into_iter()
        .zip(strings(&rejects, "column"))
        .filter(|(source, _)| source.as_deref().is_some_and(|s| s.starts_with("inputs.codings")))
        .collect();
    assert_eq!(codings_rejects, [(Some("inputs.codings[0]".to_owned()), Some("role".to_owned()))]);
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(run.join("manifest.json")).unwrap()).unwrap();
    let counts: Vec<(String, u64, u64, u64)> = manifest["inputs"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["table"] == "codings")
        .map(|i| {
            (
                i["role"].as_str().unwrap().to_owned(),
                i["rows_read"].as_u64().unwrap(),
                i["rows_accepted"].as_u64().unwrap(),
                i["rows_rejected"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        counts,
        [("inputs.codings[0]".to_owned(), 3, 2, 1), ("inputs.codings[1]".to_owned(), 1, 1, 0)]
    );
    // Two groups called FG1; coder A of each source is another coder.
    let coders: Vec<Option<String>> = strings(&run.join("02_deid/codings.parquet"), "coder");
    assert_eq!(coders, ["coder 1", "coder 2", "coder 3"].map(|s| Some(s.to_owned())));
    let frequencies = run.join("03_analyze/code_frequencies.parquet");
    let scope = strings(&frequencies, "scope");
    let groups_in_scope = ints(&frequencies, "n_groups_in_scope");
    let all: Vec<i64> = scope
        .iter()
        .zip(&groups_in_scope)
        .filter(|(s, _)| s.as_deref() == Some("all"))
        .map(|(_, n)| *n)
        .collect();
    assert_eq!(all, [2, 2], "`Felles plan` and `Tid`, each of 2 groups");
    // Agreement: the first source's two coders over s1; the second source has one coder.
    let agreement = run.join("03_analyze/agreement.parquet");
    let rows: Vec<(Option<String>, Option<String>, Option<String>)> = strings(&agreement, "source")
        .into_iter()
        .zip(strings(&agreement, "code"))
        .zip(strings(&agreement, "note"))
        .map(|((source, code), note)| (source, code, note))
        .collect();
    let n_coders = ints(&agreement, "n_coders");
    let sources: Vec<(&str, &str, i64)> = rows
        .iter()
        .zip(&n_coders)
        .map(|((s, c, _), n)| (s.as_deref().unwrap(), c.as_deref().unwrap(), *n))
        .collect();
    assert_eq!(
        sources,
        [
            ("pilotteamet", "Tid", 2),
            ("pilotteamet", "all", 2),
            ("sammenligningsteamet", "Felles plan", 1),
            ("sammenligningsteamet", "all", 1),
        ]
    );
    assert!(rows[2].2.as_deref().is_some_and(|n| n.contains("two coders")), "{rows:?}");
}

#[test]
fn codings_read_alike_from_the_qdpx_project_and_the_excel_sheet() {
    let tmp = tempfile::tempdir().unwrap();
    let qdpx = sample_pipeline(tmp.path(), "");
    let out = folge(&["ingest", qdpx.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    let from_qdpx = rows(&tmp.path().join("run/01_ingest/codings.parquet"));

    let xlsx_dir = tmp.path().join("xlsx");
    std::fs::create_dir(&xlsx_dir).unwrap();
    let text = std::fs::read_to_string(&qdpx)
        .unwrap()
        .replace(
            "focus_groups.qdpx\"\nformat = \"qdpx\"",
            "focus_group_codings.xlsx\"\nformat = \"xlsx\"\nsheet = \"Koding\"",
        )
        .replace(
            &tmp.path().join("run").display().to_string(),
            &xlsx_dir.join("run").display().to_string(),
        );
    assert!(text.contains("format = \"xlsx\""));
    // Beside the sample pipeline, whose relative input paths it shares.
    let xlsx = tmp.path().join("p-xlsx.toml");
    std::fs::write(&xlsx, text).unwrap();
    let out = folge(&["ingest", xlsx.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(rows(&xlsx_dir.join("run/01_ingest/codings.parquet")), from_qdpx);
    assert!(from_qdpx >= 120);
}

/// Every figure of the sample report comes as SVG and PNG, each linked from the page.
#[test]
fn figures_come_as_svg_and_print_resolution_png() {
    let dir = tempfile::tempdir().unwrap();
    run_sample(dir.path());
    let report = dir.path().join("report");
    let html = std::fs::read_to_string(report.join("index.html")).unwrap();
    let figures: Vec<&str> =
        html.split("<figure id=\"").skip(1).filter_map(|s| s.split('"').next()).collect();
    for id in ["figure_rates", "figure_municipalities", "figure_concentration", "figure_scales"] {
        assert!(figures.contains(&id), "{id} in {figures:?}");
    }
    for id in &figures {
        assert!(html.contains(&format!("href=\"figures/{id}.png\"")), "{id} links its PNG");
        let png = std::fs::read(report.join(format!("figures/{id}.png"))).unwrap();
        let info =
            png::Decoder::new(std::io::Cursor::new(&png)).read_info().unwrap().info().clone();
        assert_eq!(info.pixel_dims.map(|d| d.xppu), Some(11_811), "{id}: 300 dpi");
        assert!(info.width > 1000, "{id}: print size, {} px wide", info.width);
        assert!(report.join(format!("figures/{id}.svg")).exists());
    }
    // Figures are numbered in order of appearance.
    assert!(html.contains("Figur 1. ") && html.contains(&format!("Figur {}. ", figures.len())));
    // Nothing silently cut: every indicator of the analysis is in every figure about
    // indicators, every municipality in the forest plots, every item in the answer bars
    // or their caption's list of items not drawn.
    let analyze = dir.path().join("run/03_analyze");
    let svgs = |prefix: &str| -> String {
        figures
            .iter()
            .filter(|id| id.starts_with(prefix))
            .map(|id| std::fs::read_to_string(report.join(format!("figures/{id}.svg"))).unwrap())
            .collect::<Vec<_>>()
            .join("\n")
    };
    let word = |text: &str, needle: &str| {
        let letter = |c: Option<char>| c.is_some_and(|c| c.is_alphanumeric() || c == '_');
        text.match_indices(needle).any(|(at, _)| {
            !letter(text[..at].chars().next_back())
                && !letter(text[at + needle.len()..].chars().next())
        })
    };
    let distinct = |file: &str, column: &str| -> std::collections::BTreeSet<String> {
        strings(&analyze.join(file), column).into_iter().flatten().collect()
    };
    let indicators = distinct("rates.parquet", "indicator");
    assert_eq!(indicators.len(), 12);
    for prefix in ["figure_rates", "figure_municipalities", "figure_event_time"] {
        let text = svgs(prefix);
        for id in &indicators {
            let label = folge_analyze::Indicator::parse(id).unwrap().label_nb();
            assert!(text.contains(label), "{prefix}: {label}");
        }
    }
    let forest = svgs("figure_municipalities");
    for m in distinct("municipality_rates.parquet", "municipality") {
        assert!(word(&forest, &m) && word(&html, &m), "municipality {m}");
    }
    let items = svgs("figure_items");
    for item in distinct("item_distributions.parquet", "item") {
        assert!(word(&items, &item) && word(&html, &item), "item {item}");
    }
    // Every other result analyze writes has its place (issue 17): each framework step and
    // pilot municipality in the implementation table, each scale's α, the EQ-5D VAS, each
    // theme's quotes, the 67+, every input in the data flow, and the limitations.
    let section = |id: &str| {
        let at = html.find(&format!("<table id=\"{id}\">")).unwrap_or_else(|| panic!("{id}"));
        html[at..at + html[at..].find("</table>").unwrap()].to_owned()
    };
    let implementation = section("table_implementation");
    for element in distinct("framework.parquet", "element") {
        assert!(implementation.contains(&format!("{element}: ")), "framework step {element}");
    }
    // Every municipality of an arm that documented steps (the comparison does not use the
    // framework, and the table's note says so).
    let framework = analyze.join("framework.parquet");
    let documented: std::collections::BTreeSet<String> = strings(&framework, "arm")
        .into_iter()
        .zip(strings(&framework, "scope_value"))
        .filter_map(|(arm, m)| (arm.as_deref() == Some("pilot")).then_some(m).flatten())
        .collect();
    assert_eq!(documented.len(), 3);
    for m in documented {
        assert!(word(&implementation, &m), "framework municipality {m}");
    }
    assert!(html.contains("Sammenligningskommunene har ingen dokumenterte trinn"));
    let reliability = section("table_reliability");
    // Subscales are shown with spaces, instruments by their name (a REDCap form's keeps
    // its underscore: `PACIC_VOKSNE (total)`).
    let reliability = reliability.to_lowercase().replace('_', " ");
    for scale in distinct("scale_reliability.parquet", "scale") {
        let shown = scale.replace('_', " ");
        assert!(reliability.contains(&shown), "reliability of {scale}");
    }
    assert!(section("table_eq5d_vas").contains("T1"), "the VAS at T1");
    let quotes = section("table_quotes");
    for theme in distinct("quotes.parquet", "theme") {
        let top = theme.split('/').next().unwrap_or(&theme).trim();
        assert!(quotes.contains(top), "quotes of theme {theme}");
    }
    assert!(section("table_subgroup_67").contains("67 år og eldre"));
    let inputs = section("table_inputs");
    for role in ["inputs.participants", "inputs.service_events", "inputs.questionnaires.eq5d"] {
        assert!(inputs.contains(role), "input {role}");
    }
    assert!(section("table_data_flow").contains("ved både T0 og T1"));
    assert!(html.contains("<h2>Begrensninger</h2>") && html.contains("Frafall i spørreskjemaene"));
    // The limitations say where the hidden cells are: every table with ":" cells, by
    // number, with how many (counted here from the page's cells).
    let limitations = &html[html.find("<h2>Begrensninger</h2>").unwrap()..];
    let limitations = &limitations[..limitations.find("</section>").unwrap_or(limitations.len())];
    let mut hidden_total = 0;
    for table in html.split("<table id=\"").skip(1) {
        let table = &table[..table.find("</table>").unwrap()];
        let caption = &table[table.find("<caption>").unwrap() + 9..];
        let number: String = caption
            .trim_start_matches("Tabell ")
            .chars()
            .take_while(char::is_ascii_digit)
            .collect();
        let hidden = table.matches("<td class=\"num\">:</td>").count();
        if hidden > 0 {
            hidden_total += hidden;
            let said = format!("{hidden} i tabell {number}");
            let whole = limitations.match_indices(&said).any(|(at, _)| {
                let digit = |c: Option<char>| c.is_some_and(|c| c.is_ascii_digit());
                !digit(limitations[..at].chars().next_back())
                    && !digit(limitations[at + said.len()..].chars().next())
            });
            assert!(whole, "table {number} hides {hidden} cells: {limitations}");
        }
    }
    assert!(hidden_total > 0, "the sample hides some cells");
    assert!(limitations.contains(&format!("Prikking: {hidden_total} celler")), "{limitations}");
}

/// The report in a real browser (`FOLGE_BROWSER_TESTS=1`, which `.ci/run` sets after
/// installing Chromium): the page loads without network, the PDF has pages, and the first
/// screen shows text and the blue of the figures.
#[test]
fn report_renders_in_chromium_to_pdf_and_screenshot() {
    if std::env::var("FOLGE_BROWSER_TESTS").as_deref() != Ok("1") {
        eprintln!("skipped: set FOLGE_BROWSER_TESTS=1 with Chromium installed to run it");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let pipeline = sample_pipeline(dir.path(), "");
    let out = folge(&["run", pipeline.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    let out = folge(&["report", pipeline.to_str().unwrap(), "--pdf"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let report = dir.path().join("report");
    let pdf = std::fs::read(report.join("report.pdf")).unwrap();
    assert!(pdf.starts_with(b"%PDF-"), "a PDF");
    let pages = String::from_utf8_lossy(&pdf).matches("/Type /Page\n").count()
        + String::from_utf8_lossy(&pdf).matches("/Type /Page/").count()
        + String::from_utf8_lossy(&pdf).matches("/Type /Page ").count();
    assert!(pdf.len() > 100_000, "a report, not an error page: {} bytes", pdf.len());
    assert!(pages >= 3 || pdf.len() > 300_000, "several A4 pages ({pages} page objects)");
    let html = std::fs::read_to_string(report.join("index.html")).unwrap();
    pdf_pages_read_like_a_report(&report.join("report.pdf"), &html);
    let shot = report.join("screenshot.png");
    folge_pipeline::capture(&report, folge_pipeline::Capture::Screenshot, &shot).unwrap();
    let png = std::fs::read(&shot).unwrap();
    let mut reader = png::Decoder::new(std::io::Cursor::new(&png)).read_info().unwrap();
    let mut pixels = vec![0; reader.output_buffer_size()];
    let frame = reader.next_frame(&mut pixels).unwrap();
    assert_eq!((frame.width, frame.height), (1280, 900));
    let channels = frame.line_size / frame.width as usize;
    let dark = pixels.chunks(channels).filter(|p| p[0] < 100 && p[1] < 100 && p[2] < 100).count();
    assert!(dark > 2_000, "text drawn on the first screen: {dark} dark pixels");
    if std::env::var("FOLGE_KEEP_SCREENSHOT").is_ok() {
        std::fs::copy(&shot, repo().join("reports/sample/screenshot.png")).unwrap();
    }
}

/// Whether the export test can run: ReadStat for `folge export` (`available`: the export
/// did not stop for want of it) and Python with pyreadstat to read the files back. Absent,
/// the test is skipped with a message, unless `FOLGE_EXPORT_TESTS=1` (which `.ci/run` sets
/// after installing both), where their absence fails it.
fn export_tools_or_skip(available: bool) -> bool {
    let pyreadstat = Command::new("python3")
        .args(["-c", "import pyreadstat, pyarrow, pandas, polars"])
        .output()
        .is_ok_and(|o| o.status.success());
    if available && pyreadstat {
        return true;
    }
    let missing = if available {
        "pyreadstat (pip install pyreadstat pyarrow pandas polars)"
    } else {
        "ReadStat (apt install libreadstat1)"
    };
    assert!(
        std::env::var("FOLGE_EXPORT_TESTS").as_deref() != Ok("1"),
        "FOLGE_EXPORT_TESTS=1 but {missing} is not installed"
    );
    eprintln!("skipped: {missing} is not installed (FOLGE_EXPORT_TESTS=1 makes this a failure)");
    false
}

/// Whether R with haven and dplyr is here for the export test's R checks; absent, they are
/// skipped with a message, unless `FOLGE_EXPORT_TESTS=1` (`.ci/run` installs Debian's
/// r-cran-haven and r-cran-dplyr).
fn r_haven_or_skip() -> bool {
    let r = ["Rscript", "-e", "suppressMessages({library(haven); library(dplyr)})"];
    tool_or_skip(&r, "R with haven and dplyr (apt install r-cran-haven r-cran-dplyr)")
}

/// Whether `command` (a program and its arguments) runs and succeeds; when it does not,
/// a message says `what` is missing and the caller skips its checks — unless
/// `FOLGE_EXPORT_TESTS=1` (`.ci/run` installs it all), where it fails the test.
fn tool_or_skip(command: &[&str], what: &str) -> bool {
    let here =
        Command::new(command[0]).args(&command[1..]).output().is_ok_and(|o| o.status.success());
    if !here {
        assert!(
            std::env::var("FOLGE_EXPORT_TESTS").as_deref() != Ok("1"),
            "FOLGE_EXPORT_TESTS=1 but {what} is not installed"
        );
        eprintln!("skipped: {what} is not installed (FOLGE_EXPORT_TESTS=1 makes this a failure)");
    }
    here
}

/// `folge export` writes the REK extract and every results table as Stata and SPSS files
/// that read back (pyreadstat, `tests/export/read_back.py`) as the Parquet they were made
/// from — labels, value labels, missing and special missing values —, the same bytes each
/// time; it refuses (exit 2) what is not made or not up to date, and a re-made analysis
/// takes the old export away.
#[test]
fn export_writes_stata_and_spss_files_that_read_back_as_the_parquet() {
    let tmp = tempfile::tempdir().unwrap();
    let pipeline = sample_pipeline(tmp.path(), "");
    let p = pipeline.to_str().unwrap();
    let out = folge(&["export", p]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out)
            .contains(&format!("01_ingest is not there; run `folge run {p}` first, then export")),
        "{}",
        stderr(&out)
    );
    let out = folge(&["run", p]);
    assert!(out.status.success(), "{}", stderr(&out));
    // Without ReadStat: a sentence that says what to install (exit 2), nothing written.
    let out = Command::new(env!("CARGO_BIN_EXE_folge"))
        .args(["export", p])
        .env("FOLGE_READSTAT", tmp.path().join("no-such-library.so"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("install libreadstat1 (Debian/Ubuntu: `apt install libreadstat1`) to write .dta/.sav files"), "{}", stderr(&out));
    let export = tmp.path().join("run/export");
    assert!(!export.exists());

    let out = folge(&["export", p]);
    let available = !stderr(&out).contains("ReadStat is not installed");
    if !export_tools_or_skip(available) {
        return;
    }
    assert!(out.status.success(), "{}", stderr(&out));
    // One file per format for every table of the extract and of the results.
    let parquet = |dir: &str| {
        std::fs::read_dir(tmp.path().join(dir))
            .unwrap()
            .filter(|e| e.as_ref().unwrap().path().extension().is_some_and(|x| x == "parquet"))
            .count()
    };
    let tables = parquet("run/02_deid/extract") + parquet("run/03_analyze");
    assert!(tables >= 20, "{tables} tables");
    assert!(stderr(&out).contains(&format!("{tables} Stata files in")), "{}", stderr(&out));
    let read_back = Command::new("python3")
        .arg(repo().join("tests/export/read_back.py"))
        .arg(tmp.path().join("run"))
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&read_back.stdout).into_owned() + &stderr(&read_back);
    assert!(read_back.status.success(), "{said}");
    assert!(
        said.contains(&format!("read back {} files", 2 * tables))
            && said.contains(" passed, 0 failed"),
        "{said}"
    );

    // The Python recipes of docs/recipes.md, run as written (but for the run folder):
    // each prints the report's pooled bed-day rate of the pilot after inclusion.
    let rates = tmp.path().join("run/03_analyze/rates.parquet");
    let (indicator, arm, period) =
        (strings(&rates, "indicator"), strings(&rates, "arm"), strings(&rates, "period"));
    let row = (0..indicator.len())
        .find(|&i| {
            indicator[i].as_deref() == Some("bed_days")
                && arm[i].as_deref() == Some("pilot")
                && period[i].as_deref() == Some("after")
        })
        .unwrap();
    let expected = format!("{:.2}", floats(&rates, "rate_per_py")[row].unwrap());
    let recipes = std::fs::read_to_string(repo().join("docs/recipes.md")).unwrap();
    let snippets: Vec<&str> =
        recipes.split("```python\n").skip(1).map(|s| s.split("```").next().unwrap()).collect();
    assert_eq!(snippets.len(), 2, "pandas and polars");
    let run = tmp.path().join("run");
    for snippet in snippets {
        let code = snippet.replace("\"runs/sample\"", &format!("{:?}", run.to_str().unwrap()));
        let out = Command::new("python3").args(["-c", &code]).output().unwrap();
        let printed = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(out.status.success(), "{code}\n{}", stderr(&out));
        assert!(
            !printed.is_empty() && printed.lines().all(|l| l.ends_with(&format!(": {expected}"))),
            "{printed}"
        );
    }

    // R's haven reads every file with the Parquet's rows, every variable labelled, arm's
    // labels, and the special missing values (tests/export/read_back.R); the haven recipe
    // prints the report's number.
    if r_haven_or_skip() {
        let out = Command::new("Rscript")
            .arg(repo().join("tests/export/read_back.R"))
            .arg(&run)
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", stderr(&out));
        let lines = String::from_utf8(out.stdout).unwrap();
        assert_eq!(lines.lines().count(), 2 * tables, "{lines}");
        let mut special = std::collections::BTreeMap::new();
        for line in lines.lines() {
            let f: Vec<&str> = line.split('\t').collect();
            let (path, rows_read, unlabelled, arm) = (f[0], f[1], f[3], f[4]);
            let (folder, stem) = path.split_once('/').unwrap().1.split_once('/').unwrap();
            let stem = stem.rsplit_once('.').unwrap().0;
            let parquet = match folder {
                "extract" => run.join("02_deid/extract"),
                _ => run.join("03_analyze"),
            }
            .join(format!("{stem}.parquet"));
            assert_eq!(rows_read, rows(&parquet).to_string(), "{line}");
            assert_eq!(unlabelled, "0", "{line}");
            assert_ne!(arm, "FALSE", "{line}");
            let counts: (usize, usize) = (f[5].parse().unwrap(), f[6].parse().unwrap());
            special.insert(path.to_owned(), counts);
        }
        for format in ["stata/extract/participants.dta", "spss/extract/participants.sav"] {
            assert!(special[format].0 > 0, "{format}: suppressed cells read as such");
        }
        for format in ["stata/results/comparisons.dta", "spss/results/comparisons.sav"] {
            assert!(special[format].1 > 0, "{format}: not estimable read as such");
        }
        let recipe = recipes.split("```r\n").find(|s| s.contains("read_dta")).unwrap();
        let code = recipe
            .split("```")
            .next()
            .unwrap()
            .replace("\"runs/sample\"", &format!("{:?}", run.to_str().unwrap()));
        let out = Command::new("Rscript").args(["-e", &code]).output().unwrap();
        let printed = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(out.status.success(), "{code}\n{}", stderr(&out));
        assert!(printed.contains(&format!("haven: {expected}")), "{printed}");
    }

    // The same bytes again; one format alone leaves the other as it was.
    let before = files(&export);
    assert_eq!(before.len(), 2 * tables);
    let out = folge(&["export", p, "--format", "dta"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(!stderr(&out).contains("SPSS"), "{}", stderr(&out));
    let after = files(&export);
    assert_eq!(before.len(), after.len());
    for ((pa, ba), (pb, bb)) in before.iter().zip(&after) {
        assert_eq!(pa, pb);
        assert!(ba == bb, "{} differs from the first export", pa.display());
    }

    // Other analysis parameters: the analysis is stale, and so would the export be.
    let text = std::fs::read_to_string(&pipeline).unwrap();
    std::fs::write(&pipeline, text.replace("before_days = 365", "before_days = 300")).unwrap();
    let out = folge(&["export", p]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("03_analyze was made with other analysis parameters")
            && stderr(&out).contains(&format!(
                "run `folge analyze {p}` first (or `folge run {p}`), then export"
            )),
        "{}",
        stderr(&out)
    );
    let out = folge(&["analyze", p]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(!export.exists(), "the export of the old analysis is gone with it");
}

/// Whether a command-line tool runs here.
fn installed(tool: &str) -> bool {
    Command::new(tool).arg("-v").output().is_ok()
}

/// The printed report, page by page (poppler-utils' `pdfinfo`, `pdftoppm`, `pdftotext`;
/// skipped with a message when they are not installed): every page renders to a PNG with
/// something on it, every page ends with its number "k / n" in the bottom margin, and no
/// page ends with a section heading whose content starts on the next.
fn pdf_pages_read_like_a_report(pdf: &Path, html: &str) {
    if !["pdfinfo", "pdftoppm", "pdftotext"].iter().all(|t| installed(t)) {
        eprintln!(
            "skipped the PDF page checks: pdfinfo, pdftoppm and pdftotext not installed (Debian: `apt-get install poppler-utils`)"
        );
        return;
    }
    let info = Command::new("pdfinfo").arg(pdf).output().unwrap();
    let info = String::from_utf8_lossy(&info.stdout);
    let pages: usize = info
        .lines()
        .find_map(|l| l.strip_prefix("Pages:"))
        .and_then(|n| n.trim().parse().ok())
        .unwrap();
    assert!(pages >= 3, "{pages} pages");
    assert!(
        info.lines().any(|l| l.starts_with("Title:") && l.ends_with("Sluttrapport: sample")),
        "the page's title is the PDF's: {info}"
    );
    assert!(
        info.lines().any(|l| l.starts_with("Author:") && l.ends_with("Torunn Sæbø, Eirik Lunde")),
        "the sample's authors in the PDF: {info}"
    );
    // Every page as a PNG, with ink on it.
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new("pdftoppm")
        .args(["-r", "30", "-png"])
        .arg(pdf)
        .arg(dir.path().join("page"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let mut images: Vec<PathBuf> =
        std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().path()).collect();
    images.sort();
    assert_eq!(images.len(), pages, "a PNG per page");
    for image in &images {
        let png = std::fs::read(image).unwrap();
        let mut reader = png::Decoder::new(std::io::Cursor::new(&png)).read_info().unwrap();
        let mut pixels = vec![0; reader.output_buffer_size()];
        let frame = reader.next_frame(&mut pixels).unwrap();
        let channels = frame.line_size / frame.width as usize;
        // Any ink, not only dark pixels: at 30 dpi a page of body text alone (the
        // limitations) is grey, about 35 pixels darker than 128 but over 2,000 below 200;
        // a blank page holds only its number "k / n", well under 300.
        let ink = pixels.chunks(channels).filter(|p| p[0] < 200).count();
        assert!(ink > 300, "{} is blank ({ink} pixels of ink)", image.display());
    }
    // The section headings, as the page writes them.
    let headings: Vec<String> = html
        .split("<h2>")
        .skip(1)
        .filter_map(|s| s.split("</h2>").next())
        .map(|h| h.replace("&amp;", "&"))
        .collect();
    assert!(headings.len() >= 5, "{headings:?}");
    for page in 1..=pages {
        let out = Command::new("pdftotext")
            .args(["-layout", "-f", &page.to_string(), "-l", &page.to_string()])
            .arg(pdf)
            .arg("-")
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        let lines: Vec<&str> = text.lines().map(str::trim).filter(|l| !l.is_empty()).collect();
        assert_eq!(
            lines.last().copied(),
            Some(format!("{page} / {pages}").as_str()),
            "page {page} ends with its number"
        );
        let last = lines.iter().rev().nth(1).copied().unwrap_or_default();
        assert!(
            !headings.iter().any(|h| h == last),
            "page {page} ends with the heading `{last}`, its content on the next page"
        );
    }
}

/// The sample report's tables as the project leads receive them (Markdown, which shows
/// every cell as printed, suppression marks included): any change to a number, a rounding
/// or a suppressed cell shows up as a snapshot diff to review.
#[test]
fn sample_tables_match_their_snapshots() {
    let dir = tempfile::tempdir().unwrap();
    run_sample(dir.path());
    let tables = dir.path().join("report/tables");
    let mut names: Vec<String> = std::fs::read_dir(&tables)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "md"))
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert!(names.len() >= 6, "{names:?}");
    for name in names {
        let text = std::fs::read_to_string(tables.join(&name)).unwrap();
        insta::assert_snapshot!(name.trim_end_matches(".md").to_owned(), text);
    }
}

/// Analyze writes the event-time view and the survival curves on every run, and with
/// `[analyze.adjust]` the balance table and adjusted pilot-vs-comparison estimates; the
/// report draws and names them all.
#[test]
fn event_time_survival_and_the_adjusted_model_reach_the_report() {
    use folge_schema::Table;
    use folge_schema::tables::{BalanceRow, ComparisonRow, EventTimeRow, SurvivalRow};
    let dir = tempfile::tempdir().unwrap();
    let pipeline = sample_pipeline(
        dir.path(),
        "[analyze.adjust]\ncovariates = [\"age_band\", \"sex\", \"before_use\"]\nweights = \"overlap\"\n",
    );
    let out = folge(&["run", pipeline.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    let analyze = dir.path().join("run/03_analyze");
    let read = |name: &str| read_parquet(&analyze.join(name)).unwrap().batches;
    // 12 indicators × 2 arms × 24 bins of 30 days; both arms have deaths in the sample.
    let event_time = EventTimeRow::from_batches(&read("event_time.parquet")).unwrap();
    assert_eq!(event_time.len(), 12 * 2 * 24);
    assert!(event_time.iter().filter(|r| r.indicator == "bed_days").all(|r| r.n > 0));
    let survival = SurvivalRow::from_batches(&read("survival.parquet")).unwrap();
    for arm in [folge_schema::Arm::Pilot, folge_schema::Arm::Comparison] {
        let steps: Vec<&SurvivalRow> = survival.iter().filter(|r| r.arm == arm).collect();
        assert!(steps.iter().any(|r| r.n_event > 0), "{arm:?}");
        assert!(steps.windows(2).all(|w| w[1].survival <= w[0].survival && w[1].day > w[0].day));
    }
    // Overlap weights balance the score's covariates exactly.
    let balance = BalanceRow::from_batches(&read("balance.parquet")).unwrap();
    assert!(balance.iter().any(|r| r.covariate == "age_band"));
    for row in balance.iter().filter(|r| r.covariate != "target_group") {
        assert!(row.smd_weighted.unwrap().abs() < 1e-6, "{row:?}");
    }
    let comparisons = ComparisonRow::from_batches(&read("comparisons.parquet")).unwrap();
    let did = comparisons
        .iter()
        .find(|r| {
            r.measure == "bed_days"
                && r.scope == "all"
                && r.effect_size_kind == "ratio_of_rate_ratios"
        })
        .unwrap();
    assert!(
        did.method.contains("adjusted for age_band, sex (each also × after); overlap weights"),
        "{}",
        did.method
    );
    assert!(did.ci_low.unwrap() < did.effect_size.unwrap());
    let html = std::fs::read_to_string(dir.path().join("report/index.html")).unwrap();
    for part in [
        "<figure id=\"figure_event_time\">",
        "<figure id=\"figure_survival\">",
        "<table id=\"table_balance\">",
        "<table id=\"table_event_time\">",
        "<dt>Forløp over tid</dt>",
    ] {
        assert!(html.contains(part), "{part}");
    }
    assert!(html.contains("justert"), "the methods say the estimates are adjusted");
    assert!(dir.path().join("report/figures/figure_survival.png").exists());
}

/// `report.sections` chooses what the report holds; a re-run without a section removes
/// the files it wrote before, and a misspelt section is a usage error with a suggestion.
#[test]
fn sections_are_chosen_in_the_pipeline_and_stale_files_go() {
    let dir = tempfile::tempdir().unwrap();
    run_sample(dir.path());
    let report = dir.path().join("report");
    assert!(report.join("figures/figure_concentration.png").exists());
    let pipeline = sample_pipeline(dir.path(), "");
    let text = std::fs::read_to_string(&pipeline)
        .unwrap()
        .replace("[report]", "[report]\nsections = [\"use\", \"summary\", \"effects\"]");
    std::fs::write(&pipeline, text).unwrap();
    let out = folge(&["report", pipeline.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    let html = std::fs::read_to_string(report.join("index.html")).unwrap();
    let summary = html.find("<h2>Sammendrag</h2>").unwrap();
    let use_section = html.find("<h2>Forbruk før og etter inklusjon</h2>").unwrap();
    assert!(summary < use_section, "report order, whatever order the file lists");
    // The summary names the focus groups' codes; their section is not there.
    assert!(!html.contains("<h2>Metode</h2>") && !html.contains("<h2>Fokusgrupper</h2>"));
    assert!(html.contains("Tabell 1. Forbruk"), "tables renumbered from 1");
    assert!(!report.join("figures/figure_concentration.png").exists(), "stale figure removed");
    assert!(!report.join("tables/table_participants.csv").exists(), "stale table removed");
    assert!(report.join("tables/table_rates.csv").exists());
    let text = std::fs::read_to_string(&pipeline).unwrap().replace("\"effects\"", "\"efects\"");
    std::fs::write(&pipeline, text).unwrap();
    let out = folge(&["report", pipeline.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("`report.sections`: unknown id `efects`; did you mean `effects`?"),
        "{}",
        stderr(&out)
    );
}

/// `language = "en"`: the whole page in English, figures and tables included.
#[test]
fn the_report_can_be_in_english() {
    let dir = tempfile::tempdir().unwrap();
    let pipeline = sample_pipeline(dir.path(), "");
    let text = std::fs::read_to_string(&pipeline).unwrap();
    let text = if text.contains("\nlanguage = ") {
        text.replace("language = \"nb\"", "language = \"en\"")
    } else {
        text.replacen("\n[", "\nlanguage = \"en\"\n\n[", 1)
    };
    std::fs::write(&pipeline, text).unwrap();
    let out = folge(&["run", pipeline.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    let html = std::fs::read_to_string(dir.path().join("report/index.html")).unwrap();
    assert!(html.contains("<html lang=\"en\">") && html.contains("Final report: sample"));
    for text in [
        "<h2>Summary</h2>",
        "<h2>Methods</h2>",
        "Figure 1. Use per person-year",
        "Table 1. ",
        "Rate ratio after/before (log axis; 1 = no change)",
        "← favours pilot",
        "<h2>Limitations</h2>",
    ] {
        assert!(html.contains(text), "{text}");
    }
    for norwegian in ["Sammendrag", "Figur 1.", "Tabell 1.", "per personår"] {
        assert!(!html.contains(norwegian), "{norwegian}");
    }
}

/// The sample pipeline with `participants.csv` replaced by `text` (in a file named after
/// a person, as deliveries sometimes are) and `extra` appended.
fn with_participants(dir: &Path, text: &str, extra: &str) -> PathBuf {
    let file = dir.join("Kari Nordmann deltakere.csv");
    std::fs::write(&file, text).unwrap();
    let pipeline = sample_pipeline(dir, extra);
    let toml = std::fs::read_to_string(&pipeline)
        .unwrap()
        .replace("\"data-sample/participants.csv\"", &format!("\"{}\"", file.display()));
    std::fs::write(&pipeline, toml).unwrap();
    pipeline
}

#[test]
fn hostile_inputs_stop_with_a_sentence_that_names_the_input_by_role() {
    let tmp = tempfile::tempdir().unwrap();
    let sample = std::fs::read_to_string(repo().join("data-sample/participants.csv")).unwrap();
    let (header, data) = sample.split_once('\n').unwrap();
    let validate = |pipeline: &Path| folge(&["validate", pipeline.to_str().unwrap()]);

    // A header and no rows: an error, not a run on nothing.
    let out = validate(&with_participants(tmp.path(), &format!("{header}\n"), ""));
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("inputs.participants: the file has a header line but no data rows (set `allow_empty = true`"),
        "{}",
        stderr(&out)
    );
    assert!(!stderr(&out).contains("Kari"), "the file's name is not shown");

    // No header line: the first person is not echoed as the "columns found".
    let out = validate(&with_participants(tmp.path(), data, ""));
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains("inputs.participants: the first line looks like data, not a header"),
        "{err}"
    );
    let first: Vec<&str> = data.lines().next().unwrap().split(';').collect();
    assert!(!err.contains(first[0]) && !err.contains(first[1]), "{err}");

    // A REFI-QDA project whose root is not `Project`.
    let qdpx = tmp.path().join("codebook.qdpx");
    {
        let mut zip = zip::ZipWriter::new(std::fs::File::create(&qdpx).unwrap());
        zip.start_file("project.qde", zip::write::SimpleFileOptions::default()).unwrap();
        std::io::Write::write_all(
            &mut zip,
            br#"<?xml version="1.0"?><CodeBook xmlns="urn:QDA-XML:codebook:1.0"><Codes/></CodeBook>"#,
        )
        .unwrap();
        zip.finish().unwrap();
    }
    let pipeline = sample_pipeline(tmp.path(), "");
    let toml = std::fs::read_to_string(&pipeline)
        .unwrap()
        .replace("\"data-sample/focus_groups.qdpx\"", &format!("\"{}\"", qdpx.display()));
    std::fs::write(&pipeline, toml).unwrap();
    let out = validate(&pipeline);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains(
            "inputs.codings[0]:project.qde line 1: the root element is `CodeBook`, not `Project`"
        ),
        "{}",
        stderr(&out)
    );
}

#[test]
fn validate_shows_the_first_reject_reasons_with_line_and_column() {
    let tmp = tempfile::tempdir().unwrap();
    let sample = std::fs::read_to_string(repo().join("data-sample/participants.csv")).unwrap();
    // One person's municipality is wrong (line 3 of the file).
    let mut lines: Vec<String> = sample.lines().map(str::to_owned).collect();
    let fields: Vec<&str> = lines[2].split(';').collect();
    let mut fields: Vec<String> = fields.into_iter().map(str::to_owned).collect();
    fields[4] = "46O1".into();
    lines[2] = fields.join(";");
    let text = format!("{}\n", lines.join("\n"));
    let out = folge(&["validate", with_participants(tmp.path(), &text, "").to_str().unwrap()]);
    let err = stderr(&out);
    assert!(out.status.success(), "{err}");
    // The sample lists its municipalities, so the list is the reason (the value is not
    // shown: a closed vocabulary's misses may be names).
    assert!(
        err.contains(
            "  line 3, column municipality: is not among the values `vocabularies.municipalities` lists"
        ),
        "{err}"
    );
    assert!(!err.contains("46O1"), "{err}");
    assert!(!err.contains("rejects.parquet") || err.contains("`folge ingest` writes them all"));

    // Over the limit: validate fails, and says the reasons are above (it writes no table).
    let strict = with_participants(tmp.path(), &text, "");
    let toml = std::fs::read_to_string(&strict)
        .unwrap()
        .replace("max_reject_share = 0.01", "max_reject_share = 0.0");
    std::fs::write(&strict, toml).unwrap();
    let out = folge(&["validate", strict.to_str().unwrap()]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("  line 3, column municipality: is not among the values"), "{err}");
    assert!(err.contains("the first rejected rows and why are listed above"), "{err}");
    assert!(!err.contains("see 01_ingest/rejects.parquet"), "{err}");

    // An empty step log the pipeline expects reads as an empty table.
    let empty = tmp.path().join("steps.csv");
    std::fs::write(&empty, "person_id,element,date\n").unwrap();
    let pipeline = sample_pipeline(tmp.path(), "");
    let toml = std::fs::read_to_string(&pipeline).unwrap().replace(
        "path = \"data-sample/process_events.csv\"",
        &format!("path = \"{}\"\nallow_empty = true", empty.display()),
    );
    assert!(toml.contains("allow_empty = true"));
    std::fs::write(&pipeline, toml).unwrap();
    let out = folge(&["validate", pipeline.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains("inputs.process_events: 0 rows read"), "{}", stderr(&out));
}

/// Text as the planted-identifier test compares it, by rules of its own (not folge's
/// detector or scrubber): lower case, invisible characters and combining marks removed,
/// full-width digits made ASCII, Norwegian letters and their spellings folded (`ø`, `oe`
/// → `o`; `æ`, `ae` → `a`; `å`, `aa` → `a`).
fn folded(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            // Invisible characters and combining marks.
            '\u{ad}'
            | '\u{200b}'..='\u{200d}'
            | '\u{2060}'
            | '\u{feff}'
            | '\u{300}'..='\u{36f}' => {}
            '０'..='９' => out.push(char::from(b'0' + (c as u32 - '０' as u32) as u8)),
            _ => out.extend(c.to_lowercase()),
        }
    }
    out.replace(['ø', 'ö'], "o")
        .replace("oe", "o")
        .replace(['æ', 'ä'], "a")
        .replace("ae", "a")
        .replace('å', "a")
        .replace("aa", "a")
}

/// What of a planted identifier must not be found in an output: its digits (in any
/// grouping), a folded word, or a folded phrase.
enum Core {
    Digits(String),
    Words(Vec<&'static str>),
    Exact(&'static str),
}

/// A generated adversarial delivery: every variant of issue 15 that a scrubber can miss —
/// national ids split and dotted, phones in every grouping, e-mails spelt out, addresses
/// in lower case and over a line break, names folded, decomposed, split by invisible
/// characters, with digits glued on, as initials and at the start of a sentence — planted
/// into the free-text fields of the questionnaires (Nettskjema's comment and REDCap's),
/// using the sample's own people. The run succeeds and no output holds any of them
/// (checked with this file's own folding, not folge's code).
#[test]
fn planted_identifiers_in_every_free_text_field_reach_no_output() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data-sample");
    std::fs::create_dir(&data).unwrap();
    for entry in std::fs::read_dir(repo().join("data-sample")).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), data.join(entry.file_name())).unwrap();
    }
    let participants = std::fs::read_to_string(data.join("participants.csv")).unwrap();
    let people: Vec<(String, String)> = participants
        .lines()
        .skip(1)
        .map(|l| {
            let f: Vec<&str> = l.trim_start_matches('\u{feff}').split(';').collect();
            (f[0].to_owned(), f[1].to_owned())
        })
        .collect();
    let name = |full: &str| people.iter().find(|p| p.1 == full).unwrap().0.clone();
    let id = |i: usize| people[i].0.clone();
    let split = |id: &str, sep: &str| format!("{}{sep}{}", &id[..6], &id[6..]);
    let dotted = |id: &str| format!("{}.{}.{} {}", &id[..2], &id[2..4], &id[4..6], &id[6..]);
    let grouped =
        |id: &str| format!("{} {} {} {} {}", &id[..2], &id[2..4], &id[4..6], &id[6..9], &id[9..]);
    let full_width = |id: &str| {
        id.chars().map(|c| char::from_u32('０' as u32 + (c as u32 - '0' as u32)).unwrap()).collect()
    };
    // (what is written, what must not be found: digits, or folded words/phrases)
    let mut planted: Vec<(String, Core)> = vec![
        (dotted(&id(0)), Core::Digits(id(0))),
        (split(&id(1), "\n"), Core::Digits(id(1))),
        (split(&id(2), "\r\n"), Core::Digits(id(2))),
        (split(&id(3), "\u{a0}"), Core::Digits(id(3))),
        (split(&id(4), "  "), Core::Digits(id(4))),
        (grouped(&id(5)), Core::Digits(id(5))),
        (format!("fnr{}", id(6)), Core::Digits(id(6))),
        (full_width(&id(7)), Core::Digits(id(7))),
        ("ring 9123 4505".into(), Core::Digits("91234505".into())),
        ("+47 9123 4510".into(), Core::Digits("91234510".into())),
        ("912.34.506".into(), Core::Digits("91234506".into())),
        ("91 234 507".into(), Core::Digits("91234507".into())),
        ("tlf91234508".into(), Core::Digits("91234508".into())),
        ("4791234512".into(), Core::Digits("91234512".into())),
        ("olanordmann at nav dot no".into(), Core::Words(vec!["olanordmann"])),
        ("kari.vik(at)nav.no".into(), Core::Exact("kari.vik")),
        ("per.berg @ nav.no".into(), Core::Exact("per.berg")),
        ("lise.dal@gmail".into(), Core::Exact("lise.dal")),
        ("bor i storgata 5".into(), Core::Words(vec!["storgata"])),
        ("Kalfarveien 31\n5018 Bergen".into(), Core::Words(vec!["kalfarveien"])),
        ("N-5179 Godvik".into(), Core::Words(vec!["godvik"])),
        ("gnr. 12 bnr. 34".into(), Core::Words(vec!["bnr"])),
        ("Solveig Oevreboe ringte".into(), Core::Words(vec!["ovrebo", "solveig"])),
        ("Nyga\u{30a}rd kom".into(), Core::Words(vec!["nygard"])),
        ("Ha\u{30a}kon var her".into(), Core::Words(vec!["hakon"])),
        ("Sø\u{ad}rensen og Søren\u{200b}sen".into(), Core::Words(vec!["sorensen"])),
        ("Karlsen2 sa".into(), Core::Words(vec!["karlsen2", "karlsen"])),
        ("M.K. ringte".into(), Core::Exact("m.k.")),
        ("Turid A. kom".into(), Core::Words(vec!["turid"])),
        ("Rune og jeg fikk en plan.".into(), Core::Exact("rune og jeg")),
    ];
    // The people those names belong to are in the sample (the scrubber knows them).
    for full in ["Solveig Øvrebø", "Arne Nygård", "Håkon Kristiansen", "Aksel Sørensen"] {
        assert!(!name(full).is_empty(), "{full}");
    }
    // Plant one variant into each of the first comments of PACIC T0 and of REDCap.
    let plant = |file: &str, column: &str, quote: char, delimiter: char, from: usize| {
        let path = data.join(file);
        let text = std::fs::read_to_string(&path).unwrap();
        let mut reader = csv::ReaderBuilder::new()
            .delimiter(delimiter as u8)
            .quote(quote as u8)
            .from_reader(text.as_bytes());
        let headers = reader.headers().unwrap().clone();
        let at = headers.iter().position(|h| h == column).unwrap();
        let mut writer = csv::WriterBuilder::new()
            .delimiter(delimiter as u8)
            .quote_style(csv::QuoteStyle::Always)
            .from_writer(Vec::new());
        writer.write_record(&headers).unwrap();
        let mut count = 0;
        for (i, record) in reader.records().enumerate() {
            let mut fields: Vec<String> = record.unwrap().iter().map(str::to_owned).collect();
            if let Some((variant, _)) = planted.get(from + i).filter(|_| i < 15) {
                fields[at] = format!("Notat: {variant} — takk.");
                count += 1;
            }
            writer.write_record(&fields).unwrap();
        }
        std::fs::write(&path, writer.into_inner().unwrap()).unwrap();
        count
    };
    let first = plant("nettskjema_pacic_T0.csv", "kommentar", '"', ';', 0);
    let second = plant("redcap_eq5d_data.csv", "kommentar", '"', ',', first);
    assert_eq!(first + second, planted.len().min(30), "every variant is planted once");
    planted.truncate(first + second);

    let pipeline = sample_pipeline(tmp.path(), "");
    let out = folge(&["run", pipeline.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    // The scans can fail: zone 1 holds the planted text.
    let answers = folded(&text_of(&tmp.path().join("run/01_ingest/responses.parquet")));
    assert!(answers.contains("olanordmann") && answers.contains("kalfarveien"));

    let mut scanned = vec![("stderr".to_owned(), stderr(&out))];
    for dir in ["run/02_deid", "run/03_analyze", "report"] {
        for (rel, _) in files(&tmp.path().join(dir)) {
            let path = tmp.path().join(dir).join(&rel);
            scanned.push((path.display().to_string(), text_of(&path)));
        }
    }
    for manifest in ["run/manifest.json", "run/02_deid/extract/manifest.json"] {
        scanned
            .push((manifest.into(), std::fs::read_to_string(tmp.path().join(manifest)).unwrap()));
    }
    for (file, text) in &scanned {
        let folded = folded(text);
        let digits: String = folded.chars().filter(char::is_ascii_digit).collect();
        for (variant, core) in &planted {
            let found = match core {
                Core::Digits(d) => digits.contains(d.as_str()),
                Core::Words(words) => words.iter().any(|w| has_word(&folded, w)),
                Core::Exact(e) => folded.contains(e),
            };
            assert!(!found, "planted {variant:?} reached {file}");
        }
    }
}

/// A copy of `data-sample/` in `dir`, for tests that plant values into the inputs.
fn copy_sample(dir: &Path) -> PathBuf {
    let data = dir.join("data-sample");
    std::fs::create_dir(&data).unwrap();
    for entry in std::fs::read_dir(repo().join("data-sample")).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), data.join(entry.file_name())).unwrap();
    }
    data
}

/// The sample's participants whose every name part can be looked for in outputs: three
/// letters or more, not a common word (`Dag`, `per uke`) and not a word of a site label
/// (`Haukeland voksne`), as (national id, full name).
fn plantable_people() -> Vec<(String, String)> {
    let words = name_words();
    let text = std::fs::read_to_string(repo().join("data-sample/participants.csv")).unwrap();
    text.lines()
        .skip(1)
        .map(|l| {
            let f: Vec<&str> = l.trim_start_matches('\u{feff}').split(';').collect();
            (f[0].to_owned(), f[1].to_owned())
        })
        .filter(|(_, name)| {
            name.split([' ', '-']).all(|part| {
                let part = part.to_lowercase();
                words.contains(&part) && !folge_deid::COMMON_WORD_NAMES.contains(&part.as_str())
            })
        })
        .collect()
}

/// A national id disguised as people type it into a cell: `dd.mm.yy nnnnn`.
fn disguised(id: &str) -> String {
    format!("{}.{}.{} {}", &id[..2], &id[2..4], &id[4..6], &id[6..])
}

/// One planted cell: the input (as the pipeline names it in rejects), the file's line
/// (1-based, the header is line 1), the column and the value written there.
#[derive(Debug, Clone)]
struct Plant {
    role: &'static str,
    line: u64,
    column: &'static str,
    value: String,
}

/// Rewrite a CSV file of the copied sample, giving `edit` each data record's line and
/// cells by column name. A byte-order mark, CRLF line ends and quoting of every field are
/// kept as found.
fn rewrite_csv(path: &Path, delimiter: u8, mut edit: impl FnMut(u64, &mut Vec<(String, String)>)) {
    let text = std::fs::read_to_string(path).unwrap();
    let (bom, body) = match text.strip_prefix('\u{feff}') {
        Some(rest) => ("\u{feff}", rest),
        None => ("", text.as_str()),
    };
    let quote_all = body.starts_with('"');
    let terminator =
        if body.contains("\r\n") { csv::Terminator::CRLF } else { csv::Terminator::Any(b'\n') };
    let mut reader =
        csv::ReaderBuilder::new().delimiter(delimiter).flexible(true).from_reader(body.as_bytes());
    let headers = reader.headers().unwrap().clone();
    let mut writer = csv::WriterBuilder::new()
        .delimiter(delimiter)
        .flexible(true)
        .quote_style(if quote_all { csv::QuoteStyle::Always } else { csv::QuoteStyle::Necessary })
        .terminator(terminator)
        .from_writer(Vec::new());
    writer.write_record(&headers).unwrap();
    // No cell of the sample spans lines: record i is on line i + 2.
    for (line, record) in (2..).zip(reader.records()) {
        let record = record.unwrap();
        let mut cells: Vec<(String, String)> =
            headers.iter().zip(record.iter()).map(|(h, v)| (h.to_owned(), v.to_owned())).collect();
        edit(line, &mut cells);
        writer.write_record(cells.iter().map(|(_, v)| v)).unwrap();
    }
    let out = String::from_utf8(writer.into_inner().unwrap()).unwrap();
    std::fs::write(path, format!("{bom}{out}")).unwrap();
}

/// Plant values into a CSV input: for each `(column, value)`, the next data line after
/// line `after` whose person (in `person_column`) `takes` accepts; the plants made.
fn plant_csv(
    data: &Path,
    (file, role, delimiter): (&str, &'static str, u8),
    (person_column, after): (&str, u64),
    takes: &dyn Fn(&str) -> bool,
    values: &[(&'static str, String)],
) -> Vec<Plant> {
    let mut plants = Vec::new();
    let mut next = values.iter();
    rewrite_csv(&data.join(file), delimiter, |line, cells| {
        let person = cells.iter().find(|(h, _)| h == person_column).map(|(_, v)| v.clone());
        if line <= after || !person.is_some_and(|p| takes(&p)) {
            return;
        }
        if let Some((column, value)) = next.next() {
            let cell = cells.iter_mut().find(|(h, _)| h == column).unwrap();
            cell.1.clone_from(value);
            plants.push(Plant { role, line, column, value: value.clone() });
        }
    });
    assert_eq!(plants.len(), values.len(), "{file}: every value planted");
    plants
}

/// The last line planted in an input.
fn last_line(plants: &[Plant], role: &str) -> u64 {
    plants.iter().filter(|p| p.role == role).map(|p| p.line).max().unwrap_or(0)
}

/// Rewrite `project.qde` inside the copied sample's REFI-QDA project.
fn rewrite_qdpx(data: &Path, edit: impl FnOnce(String) -> String) {
    let path = data.join("focus_groups.qdpx");
    let bytes = std::fs::read(&path).unwrap();
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes)).unwrap();
    let mut writer = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let mut edit = Some(edit);
    for i in 0..archive.len() {
        let mut entry = archive.by_index(i).unwrap();
        let name = entry.name().unwrap().to_string();
        let mut contents = Vec::new();
        std::io::Read::read_to_end(&mut entry, &mut contents).unwrap();
        if Path::new(&name).extension().is_some_and(|e| e.eq_ignore_ascii_case("qde")) {
            let text = String::from_utf8(contents).unwrap();
            contents = (edit.take().unwrap())(text).into_bytes();
        }
        writer.start_file(name, zip::write::SimpleFileOptions::default()).unwrap();
        std::io::Write::write_all(&mut writer, &contents).unwrap();
    }
    assert!(edit.is_none(), "the project has a .qde");
    std::fs::write(&path, writer.finish().unwrap().into_inner()).unwrap();
}

/// `xml` with the first `from` after `after` replaced by `to` (which must be found).
fn replace_after(xml: &str, after: &str, from: &str, to: &str) -> String {
    let start = xml.find(after).unwrap();
    let at = start + xml[start..].find(from).unwrap();
    format!("{}{to}{}", &xml[..at], &xml[at + from.len()..])
}

/// The text of every zone-2 and zone-3 file, the report, both manifests (when written)
/// and the given logs, each with its name.
fn outputs_and_logs(dir: &Path, logs: &[(&str, &Output)]) -> Vec<(String, String)> {
    let mut scanned: Vec<(String, String)> =
        logs.iter().map(|(name, out)| ((*name).to_owned(), stderr(out))).collect();
    for sub in ["run/02_deid", "run/03_analyze", "report"] {
        if !dir.join(sub).exists() {
            continue;
        }
        for (rel, _) in files(&dir.join(sub)) {
            let path = dir.join(sub).join(&rel);
            scanned.push((path.display().to_string(), text_of(&path)));
        }
    }
    for manifest in ["run/manifest.json", "run/02_deid/extract/manifest.json"] {
        if let Ok(text) = std::fs::read_to_string(dir.join(manifest)) {
            scanned.push((manifest.to_owned(), text));
        }
    }
    scanned
}

/// Whether `text` (already folded) holds a planted value: its digits in any grouping when
/// it is an id, else any part of the name as a whole word, folded by this file's rules.
fn holds_planted(folded_text: &str, digits: &str, value: &str) -> bool {
    if value.chars().any(char::is_alphabetic) {
        value.split([' ', '-']).any(|part| has_word(folded_text, &folded(part)))
    } else {
        digits.contains(&value.chars().filter(char::is_ascii_digit).collect::<String>())
    }
}

#[track_caller]
fn assert_no_planted_value(scanned: &[(String, String)], values: &[String]) {
    for (file, text) in scanned {
        let folded_text = folded(text);
        let digits: String = folded_text.chars().filter(char::is_ascii_digit).collect();
        for value in values {
            assert!(
                !holds_planted(&folded_text, &digits, value),
                "planted {value:?} reached {file}"
            );
        }
    }
}

/// Issue 15, every string column: a participant's name (or, in some cells, a national id
/// typed as `dd.mm.yy nnnnn`) planted into every string column of every input the sample
/// pipeline reads, besides the free text (which the test above covers). Each column has
/// one of four fates, asserted here, and in every case no output, manifest or log line
/// (at `FOLGE_LOG=debug`) holds the value, by this file's own folding:
///
/// - **rejected at ingest**: closed vocabularies (`site`, `target_group`, municipality,
///   process `element`, focus-group `role` and `municipality`), codes (`sex`, `arm`,
///   `exit_reason`, `service`, `acute`, REDCap's event), ids, dates and numbers (answers,
///   tick boxes): the row is a reject naming line and column, never the value — in the
///   reasons `folge validate` prints too;
/// - **replaced by deid**: coders become `coder 1`, `coder 2`;
/// - **not carried**: columns folge does not read (`kontakt_id`, `$submission_id`,
///   `$answer_time_ms`, `record_id`, `eq5d_complete` here, the dictionary's labels and
///   notes, the project's name) and `name`, which deid drops;
/// - **fail-closed**: columns that take any text (code labels, themes, focus-group and
///   selection names, coders kept by `keep_coder_names`, REDCap form names, which become
///   the instrument): the re-scan stops the run at deid, exit 1, naming each table,
///   column, row and kind but no value, and leaves no zone-2 or zone-3 file behind.
#[test]
fn planted_identifiers_in_every_string_column_are_rejected_replaced_or_stop_the_run() {
    let people = plantable_people();
    assert!(people.len() >= 60, "{}", people.len());
    let name = |i: usize| people[i].1.clone();
    let id = |i: usize| disguised(&people[i].0);

    // 1. Rejected, replaced or not carried: the run succeeds.
    let tmp = tempfile::tempdir().unwrap();
    let data = copy_sample(tmp.path());
    // The last twelve participants' rows each get one planted cell and are rejected; the
    // other inputs are planted on rows of persons who stay.
    let participants = std::fs::read_to_string(data.join("participants.csv")).unwrap();
    let rejected_persons: Vec<String> = participants
        .lines()
        .skip(1)
        .map(|l| l.trim_start_matches('\u{feff}').split(';').next().unwrap().to_owned())
        .collect::<Vec<_>>()
        .split_off(participants.lines().count() - 1 - 12);
    let rejected = rejected_persons.clone();
    let last_twelve = move |p: &str| rejected.contains(&p.to_owned());
    let kept = |p: &str| !rejected_persons.contains(&p.to_owned());
    let mut rejected_plants = plant_csv(
        &data,
        ("participants.csv", "inputs.participants", b';'),
        ("person_id", 0),
        &last_twelve,
        &[
            ("person_id", name(0)),
            ("sex", name(1)),
            ("birth_date", id(2)),
            ("municipality", name(3)),
            ("site", name(4)),
            ("arm", name(5)),
            ("target_group", id(6)),
            ("inclusion_date", name(7)),
            ("exit_date", id(8)),
            ("exit_reason", name(9)),
            ("site", id(10)),
            ("municipality", id(11)),
        ],
    );
    rejected_plants.extend(plant_csv(
        &data,
        ("service_events.csv", "inputs.service_events", b','),
        ("person_id", 0),
        &kept,
        &[
            ("person_id", name(12)),
            ("service", name(13)),
            ("start_date", name(14)),
            ("end_date", id(15)),
            ("quantity", name(16)),
            ("acute", name(17)),
            ("service", id(18)),
        ],
    ));
    rejected_plants.extend(plant_csv(
        &data,
        ("process_events.csv", "inputs.process_events", b','),
        ("person_id", 0),
        &kept,
        &[("element", name(19)), ("element", id(20)), ("date", name(21)), ("person_id", id(22))],
    ));
    rejected_plants.extend(plant_csv(
        &data,
        ("nettskjema_pacic_T0.csv", "inputs.questionnaires.pacic_t0", b';'),
        ("fodselsnummer", 0),
        &kept,
        &[
            ("$created", name(23)),
            ("pacic_1", name(24)),
            ("pacic_2", id(25)),
            ("kontakt.fastlege", name(26)),
            ("fodselsnummer", name(27)),
        ],
    ));
    rejected_plants.extend(plant_csv(
        &data,
        ("redcap_eq5d_data.csv", "inputs.questionnaires.eq5d", b','),
        ("fnr", 0),
        &kept,
        &[
            ("redcap_event_name", name(28)),
            ("redcap_event_name", id(29)),
            ("eq_mob", name(30)),
            ("eq_vas", name(31)),
            ("hjelp___1", id(32)),
            ("fnr", name(33)),
        ],
    ));
    // Columns folge does not read, in rows that are otherwise accepted.
    let mut not_carried = plant_csv(
        &data,
        ("service_events.csv", "inputs.service_events", b','),
        ("person_id", last_line(&rejected_plants, "inputs.service_events")),
        &kept,
        &[("kontakt_id", name(34)), ("kontakt_id", id(35))],
    );
    not_carried.extend(plant_csv(
        &data,
        ("nettskjema_pacic_T1.csv", "inputs.questionnaires.pacic_t1", b';'),
        ("fodselsnummer", 0),
        &kept,
        &[("$submission_id", name(36)), ("$answer_time_ms", id(37))],
    ));
    not_carried.extend(plant_csv(
        &data,
        ("redcap_eq5d_data.csv", "inputs.questionnaires.eq5d", b','),
        ("fnr", last_line(&rejected_plants, "inputs.questionnaires.eq5d")),
        &kept,
        &[("record_id", name(38)), ("eq5d_complete", name(39))],
    ));
    not_carried.extend(plant_csv(
        &data,
        ("redcap_eq5d_dictionary.csv", "inputs.questionnaires.eq5d.redcap_dictionary", b','),
        ("Form Name", 0),
        &|_| true,
        &[
            ("Field Label", name(40)),
            ("Section Header", name(41)),
            ("Field Note", id(42)),
            ("Field Annotation", name(43)),
        ],
    ));
    // The name column is read, and only used to scrub free text: deid drops it.
    let participants_kept = plant_csv(
        &data,
        ("participants.csv", "inputs.participants", b';'),
        ("person_id", 0),
        &kept,
        &[("name", id(44))],
    );
    // The focus groups: coders' names (become `coder 1`, `coder 2`), a municipality
    // variable holding a name and a role variable holding an id (the sources' codings
    // are rejected), the project's own name (not read).
    let (coder_a, coder_b, municipality, role, project) =
        (name(45), name(46), name(47), id(48), name(49));
    let mut rolle_guid = String::new();
    rewrite_qdpx(&data, |xml| {
        let at = xml.find("name=\"rolle\"").unwrap();
        let guid_at = xml[..at].rfind("guid=\"").unwrap() + 6;
        rolle_guid = xml[guid_at..guid_at + 36].to_owned();
        let xml = xml
            .replace("name=\"Coder IH\"", &format!("name=\"{coder_a}\""))
            .replace("name=\"Coder ML\"", &format!("name=\"{coder_b}\""))
            .replace("name=\"LKT fokusgrupper\"", &format!("name=\"{project}\""));
        let xml = replace_after(
            &xml,
            "name=\"FG1\"",
            "<TextValue>4601</TextValue>",
            &format!("<TextValue>{municipality}</TextValue>"),
        );
        let role_value = format!("<VariableRef targetGUID=\"{rolle_guid}\"/><TextValue>");
        let start = xml.find("name=\"FG2\"").unwrap();
        let at = start + xml[start..].find(&role_value).unwrap() + role_value.len();
        let end = at + xml[at..].find('<').unwrap();
        format!("{}{role}{}", &xml[..at], &xml[end..])
    });
    assert_eq!(rolle_guid.len(), 36);
    // The second team's NVivo report: a municipality holding a name and a role holding an
    // id are rejected; a coder's name becomes a label; a name in a quote is scrubbed.
    let second_coder = name(56);
    rejected_plants.extend(plant_csv(
        &data,
        ("focus_groups_comparison_nvivo.csv", "inputs.codings[1]", b';'),
        ("File", 0),
        &|_| true,
        &[("Kommune", name(57)), ("Rolle", id(58))],
    ));
    let second_kept = plant_csv(
        &data,
        ("focus_groups_comparison_nvivo.csv", "inputs.codings[1]", b';'),
        ("File", last_line(&rejected_plants, "inputs.codings[1]")),
        &|_| true,
        &[("User", second_coder.clone()), ("Coded Text", format!("Spør {} om det.", name(59)))],
    );

    let pipeline = sample_pipeline(tmp.path(), "");
    let toml = std::fs::read_to_string(&pipeline)
        .unwrap()
        .replace("max_reject_share = 0.01", "max_reject_share = 1.0");
    std::fs::write(&pipeline, toml).unwrap();
    let validate = folge(&["validate", pipeline.to_str().unwrap()]);
    assert!(validate.status.success(), "{}", stderr(&validate));
    let run = Command::new(env!("CARGO_BIN_EXE_folge"))
        .args(["run", pipeline.to_str().unwrap()])
        .env("FOLGE_LOG", "debug")
        .output()
        .unwrap();
    assert!(run.status.success(), "{}", stderr(&run));
    // `FOLGE_LOG=debug` says more than the default: what each stage decided, staged, read
    // and wrote (and this test checks all of it for planted values below).
    let log = stderr(&run);
    for said in ["ingest: to be made", "deid: staging in", "02_deid/participants.parquet: wrote"] {
        assert!(log.contains(said), "{said} not in\n{log}");
    }

    // Every rejected plant is a reject of its line and column, whose reason holds no
    // planted value (nor does anything the run wrote past zone 1, or either log).
    let rejects = tmp.path().join("run/01_ingest/rejects.parquet");
    let file = read_parquet(&rejects).unwrap();
    let mut found: Vec<(String, i64, Option<String>, String)> = Vec::new();
    for batch in &file.batches {
        let column = |name: &str| {
            batch
                .column_by_name(name)
                .unwrap()
                .as_any()
                .downcast_ref::<StringArray>()
                .unwrap()
                .clone()
        };
        let (sources, columns, reasons) = (column("source"), column("column"), column("reason"));
        let lines = batch
            .column_by_name("line")
            .unwrap()
            .as_any()
            .downcast_ref::<arrow_array::Int64Array>()
            .unwrap()
            .clone();
        for i in 0..batch.num_rows() {
            found.push((
                sources.value(i).to_owned(),
                lines.value(i),
                columns.is_valid(i).then(|| columns.value(i).to_owned()),
                reasons.value(i).to_owned(),
            ));
        }
    }
    let canonical = |column: &str| match column {
        "fodselsnummer" | "fnr" => "person_id".to_owned(),
        "Kommune" => "municipality".to_owned(),
        "Rolle" => "role".to_owned(),
        other => other.to_owned(),
    };
    for plant in &rejected_plants {
        let reject = found
            .iter()
            .find(|r| r.0 == plant.role && r.1 == plant.line as i64)
            .unwrap_or_else(|| panic!("no reject for {plant:?}"));
        assert_eq!(reject.2.as_deref(), Some(canonical(plant.column).as_str()), "{plant:?}");
        let reason = folded(&reject.3);
        let digits: String = reason.chars().filter(char::is_ascii_digit).collect();
        assert!(!holds_planted(&reason, &digits, &plant.value), "{plant:?}: {}", reject.3);
    }
    let participant_rejects = found.iter().filter(|r| r.0 == "inputs.participants").count();
    assert_eq!(participant_rejects, 12, "the participants' plants and nothing else");
    // Each planted source's codings are all rejected for the planted variable.
    let rejected_for = |column: &str| {
        found
            .iter()
            .filter(|r| r.0.starts_with("inputs.codings[0]:") && r.2.as_deref() == Some(column))
            .count()
    };
    let qde = {
        let mut archive = zip::ZipArchive::new(
            std::fs::File::open(repo().join("data-sample/focus_groups.qdpx")).unwrap(),
        )
        .unwrap();
        let mut xml = String::new();
        std::io::Read::read_to_string(&mut archive.by_name("project.qde").unwrap(), &mut xml)
            .unwrap();
        xml
    };
    let codings_in = |source: &str| {
        let start = qde.find(&format!("name=\"{source}\"")).unwrap();
        let end = start + qde[start..].find("</TextSource>").unwrap();
        qde[start..end].matches("<Coding ").count()
    };
    assert!(codings_in("FG1") >= 10 && codings_in("FG2") >= 10);
    assert_eq!(rejected_for("municipality"), codings_in("FG1"));
    assert_eq!(rejected_for("role"), codings_in("FG2"));
    let ingested = tmp.path().join("run/01_ingest/codings.parquet");
    // The first team's rows (the second team has groups of the same names).
    let groups: Vec<Option<String>> = strings(&ingested, "focus_group")
        .into_iter()
        .zip(strings(&ingested, "source"))
        .filter(|(_, source)| source.as_deref() == Some("pilotteamet"))
        .map(|(group, _)| group)
        .collect();
    assert!(!groups.iter().any(|g| matches!(g.as_deref(), Some("FG1" | "FG2"))), "{groups:?}");
    assert_eq!(
        groups.len() + codings_in("FG1") + codings_in("FG2"),
        qde.matches("<Coding ").count()
    );
    // Only the planted rows of the second team's report are rejected.
    let second_rejects: Vec<i64> =
        found.iter().filter(|r| r.0 == "inputs.codings[1]").map(|r| r.1).collect();
    let second_planted: Vec<i64> = rejected_plants
        .iter()
        .filter(|p| p.role == "inputs.codings[1]")
        .map(|p| p.line as i64)
        .collect();
    assert_eq!(second_rejects, second_planted);
    // Columns not read leave their rows accepted, and so does a name typed as an id.
    for plant in not_carried.iter().chain(&participants_kept).chain(&second_kept) {
        assert!(!found.iter().any(|r| r.0 == plant.role && r.1 == plant.line as i64), "{plant:?}");
    }
    // Coders are replaced: two in the first source, the second's two and its planted one.
    let mut coders = strings(&tmp.path().join("run/02_deid/codings.parquet"), "coder");
    coders.sort();
    coders.dedup();
    assert_eq!(coders, (1..=5).map(|i| Some(format!("coder {i}"))).collect::<Vec<_>>());
    // The scans can fail: zone 1 holds planted values.
    let zone1 = folded(&format!(
        "{}\n{}",
        text_of(&ingested),
        text_of(&tmp.path().join("run/01_ingest/participants.parquet"))
    ));
    let digits: String = zone1.chars().filter(char::is_ascii_digit).collect();
    for value in [&coder_a, &coder_b, &participants_kept[0].value, &second_coder, &name(59)] {
        assert!(holds_planted(&zone1, &digits, value), "{value:?} is in zone 1");
    }
    let values: Vec<String> = rejected_plants
        .iter()
        .chain(&not_carried)
        .chain(&participants_kept)
        .map(|p| p.value.clone())
        .chain([coder_a, coder_b, municipality, role, project, second_coder, name(59)])
        .collect();
    let scanned = outputs_and_logs(
        tmp.path(),
        &[("folge run's log", &run), ("folge validate's log", &validate)],
    );
    assert!(scanned.len() >= 40, "{}", scanned.len());
    assert_no_planted_value(&scanned, &values);

    // 2. Columns that take any text: the deid re-scan fails closed on every one of them.
    let tmp = tempfile::tempdir().unwrap();
    let data = copy_sample(tmp.path());
    let (code, theme, group, segment, coder, form) =
        (name(50), name(51), name(52), id(53), name(54), name(55));
    rewrite_qdpx(&data, |xml| {
        xml.replace("name=\"Felles plan\"", &format!("name=\"{code}\""))
            .replace("name=\"Samhandling\"", &format!("name=\"{theme}\""))
            .replace("name=\"FG3\"", &format!("name=\"{group}\""))
            .replace("name=\"FG1-03\"", &format!("name=\"{segment}\""))
            .replace("name=\"Coder IH\"", &format!("name=\"{coder}\""))
    });
    rewrite_csv(&data.join("redcap_eq5d_dictionary.csv"), b',', |_, cells| {
        let cell = cells.iter_mut().find(|(h, _)| h == "Form Name").unwrap();
        cell.1.clone_from(&form);
    });
    let pipeline = sample_pipeline(tmp.path(), "");
    let toml = std::fs::read_to_string(&pipeline)
        .unwrap()
        .replace("[deid]\n", "[deid]\nkeep_coder_names = true\n");
    assert!(toml.contains("keep_coder_names = true"));
    std::fs::write(&pipeline, toml).unwrap();
    let run = folge(&["run", pipeline.to_str().unwrap()]);
    assert_eq!(run.status.code(), Some(1), "{}", stderr(&run));
    let err = stderr(&run);
    let places: Vec<&str> = err.split("; ").collect();
    for (file, column, kind) in [
        ("02_deid/responses.parquet", "instrument", "person's name"),
        ("02_deid/codings.parquet", "focus_group", "person's name"),
        ("02_deid/codings.parquet", "coder", "person's name"),
        ("02_deid/codings.parquet", "segment", "national id"),
        ("02_deid/codings.parquet", "code", "person's name"),
        ("02_deid/codings.parquet", "theme", "person's name"),
    ] {
        let place = format!("`{file}`, column `{column}`, row ");
        let said = places.iter().find(|p| p.contains(&place));
        assert!(
            said.is_some_and(|p| p.contains(&format!("holds what looks like a {kind}"))),
            "{place} {kind}: {err}"
        );
    }
    assert!(err.contains("deid: ") && err.contains("(the values are not shown)"), "{err}");
    // Nothing of deid is published (its staging folder is deleted with what it held).
    let deid = tmp.path().join("run/02_deid");
    assert!(!deid.exists() || files(&deid).is_empty(), "deid's files are deleted");
    let staged: Vec<String> = std::fs::read_dir(tmp.path().join("run"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.contains("02_deid") && name != "02_deid")
        .collect();
    assert!(staged.is_empty(), "{staged:?}");
    assert!(!tmp.path().join("run/03_analyze").exists() && !tmp.path().join("report").exists());
    // The scans can fail: zone 1 holds every planted value.
    let zone1 = folded(&format!(
        "{}\n{}",
        text_of(&tmp.path().join("run/01_ingest/codings.parquet")),
        text_of(&tmp.path().join("run/01_ingest/responses.parquet"))
    ));
    let digits: String = zone1.chars().filter(char::is_ascii_digit).collect();
    let values = [code, theme, group, segment, coder, form];
    for value in &values {
        assert!(holds_planted(&zone1, &digits, value), "{value:?} is in zone 1");
    }
    assert_no_planted_value(&outputs_and_logs(tmp.path(), &[("folge run's log", &run)]), &values);

    // 3. A codings input's `source` label is config text that travels past zone 1 (the
    // codings' `source` column, the manifests' parameters): a name written there is
    // caught by the re-scan like any other, and the run stops without showing it.
    let tmp = tempfile::tempdir().unwrap();
    copy_sample(tmp.path());
    let label = name(56);
    let pipeline = sample_pipeline(tmp.path(), "");
    let toml = std::fs::read_to_string(&pipeline)
        .unwrap()
        .replace("source = \"sammenligningsteamet\"", &format!("source = \"{label}\""));
    assert!(toml.contains(&label));
    std::fs::write(&pipeline, toml).unwrap();
    let run = folge(&["run", pipeline.to_str().unwrap()]);
    assert_eq!(run.status.code(), Some(1), "{}", stderr(&run));
    let err = stderr(&run);
    assert!(err.contains("holds what looks like a person's name"), "{err}");
    assert!(!tmp.path().join("run/03_analyze").exists() && !tmp.path().join("report").exists());
    let zone1 = folded(&text_of(&tmp.path().join("run/01_ingest/codings.parquet")));
    assert!(holds_planted(&zone1, "", &label), "the label is in zone 1");
    assert_no_planted_value(
        &outputs_and_logs(tmp.path(), &[("folge run's log", &run)]),
        std::slice::from_ref(&label),
    );
}

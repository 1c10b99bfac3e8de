//! `folge stats METHOD`: one statistical method on a JSON object (stdin or `--input`),
//! answered with one JSON object on stdout; or, with `--csv FILE --x COL [--y COL]`, a
//! readable summary for a person at a terminal. Bad input exits 2 with a sentence.

use std::fmt::Write as _;
use std::io::Read;
use std::path::Path;

use anyhow::{Context, Result};
use folge_schema::shown;
use folge_stats::{
    Adjustment, BootMethod, BootStatistic, Extra, KappaWeights, Level, StatResult, StatsError,
};
use serde_json::{Map, Value, json};

use super::UsageError;
use crate::cli::StatsMethod;

fn usage(message: impl Into<String>) -> anyhow::Error {
    UsageError(message.into()).into()
}

/// The JSON input object with typed accessors that explain what is wrong.
struct Input(Map<String, Value>);

impl Input {
    fn get(&self, key: &str) -> Option<&Value> {
        self.0.get(key).filter(|v| !v.is_null())
    }

    fn numbers(&self, key: &str) -> Result<Vec<Option<f64>>> {
        let array = self.get(key).and_then(Value::as_array).ok_or_else(|| {
            usage(format!("input needs `{key}`: an array of numbers (null = missing)"))
        })?;
        array
            .iter()
            .enumerate()
            .map(|(i, v)| match v {
                Value::Null => Ok(None),
                Value::Number(n) => Ok(n.as_f64()),
                other => Err(usage(format!(
                    "`{key}[{i}]` is {}, expected a number or null",
                    shown(&other.to_string())
                ))),
            })
            .collect()
    }

    fn required_numbers(&self, key: &str) -> Result<Vec<f64>> {
        self.numbers(key)?
            .into_iter()
            .enumerate()
            .map(|(i, v)| {
                v.ok_or_else(|| {
                    usage(format!("`{key}[{i}]` is missing; this method needs every value"))
                })
            })
            .collect()
    }

    fn labels(&self, key: &str) -> Result<Vec<Option<String>>> {
        let array = self.get(key).and_then(Value::as_array).ok_or_else(|| {
            usage(format!(
                "input needs `{key}`: an array of labels (text or numbers; null = missing)"
            ))
        })?;
        array
            .iter()
            .enumerate()
            .map(|(i, v)| match v {
                Value::Null => Ok(None),
                Value::String(s) => Ok(Some(s.clone())),
                Value::Number(n) => Ok(Some(n.to_string())),
                Value::Bool(b) => Ok(Some(b.to_string())),
                other => Err(usage(format!(
                    "`{key}[{i}]` is {}, expected a label",
                    shown(&other.to_string())
                ))),
            })
            .collect()
    }

    fn flags(&self, key: &str) -> Result<Vec<bool>> {
        let array = self
            .get(key)
            .and_then(Value::as_array)
            .ok_or_else(|| usage(format!("input needs `{key}`: an array of 0/1 or true/false")))?;
        array
            .iter()
            .enumerate()
            .map(|(i, v)| match v {
                Value::Bool(b) => Ok(*b),
                Value::Number(n) if n.as_f64() == Some(0.0) => Ok(false),
                Value::Number(n) if n.as_f64() == Some(1.0) => Ok(true),
                other => Err(usage(format!(
                    "`{key}[{i}]` is {}, expected 0, 1, true or false",
                    shown(&other.to_string())
                ))),
            })
            .collect()
    }

    fn matrix(&self, key: &str) -> Result<Vec<Vec<Option<f64>>>> {
        let rows = self.get(key).and_then(Value::as_array).ok_or_else(|| {
            usage(format!("input needs `{key}`: an array of rows, each an array of numbers"))
        })?;
        rows.iter()
            .enumerate()
            .map(|(r, row)| {
                let row =
                    row.as_array().ok_or_else(|| usage(format!("`{key}[{r}]` is not an array")))?;
                row.iter()
                    .enumerate()
                    .map(|(c, v)| match v {
                        Value::Null => Ok(None),
                        Value::Number(n) => Ok(n.as_f64()),
                        other => Err(usage(format!(
                            "`{key}[{r}][{c}]` is {}, expected a number or null",
                            shown(&other.to_string())
                        ))),
                    })
                    .collect()
            })
            .collect()
    }

    fn number(&self, key: &str) -> Result<f64> {
        self.get(key)
            .and_then(Value::as_f64)
            .ok_or_else(|| usage(format!("input needs `{key}`: a number")))
    }

    fn optional_bool(&self, key: &str) -> Result<Option<bool>> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(other) => Err(usage(format!(
                "`{key}` is {}, expected true, false or null",
                shown(&other.to_string())
            ))),
        }
    }

    fn text<'a>(&'a self, key: &str, default: &'a str) -> Result<&'a str> {
        match self.get(key) {
            None => Ok(default),
            Some(Value::String(s)) => Ok(s),
            Some(other) => {
                Err(usage(format!("`{key}` is {}, expected text", shown(&other.to_string()))))
            }
        }
    }

    fn conf_level(&self) -> Result<f64> {
        match self.get("conf_level") {
            None => Ok(0.95),
            Some(v) => {
                v.as_f64().ok_or_else(|| usage("`conf_level` must be a number between 0 and 1"))
            }
        }
    }
}

fn choice<T: Copy>(key: &str, value: &str, options: &[(&str, T)]) -> Result<T> {
    options.iter().find(|(name, _)| *name == value).map(|(_, v)| *v).ok_or_else(|| {
        let names: Vec<String> = options.iter().map(|(n, _)| format!("`{n}`")).collect();
        usage(format!("`{key}` is `{}`, expected one of {}", shown(value), names.join(", ")))
    })
}

/// Most bootstrap replicates `folge stats` draws (each is a resample of the data).
const MAX_REPS: f64 = 1_000_000.0;

/// Run a method on parsed input.
fn compute(method: StatsMethod, input: &Input) -> Result<StatResult> {
    let level = input.conf_level()?;
    let r: Result<StatResult, StatsError> = match method {
        StatsMethod::Describe => {
            let d = folge_stats::describe(&input.numbers("x")?)?;
            let mut r = StatResult::new("describe", d.n);
            r.estimate = Some(d.mean);
            Ok(r.with("n_missing", d.n_missing as f64)
                .with("mean", d.mean)
                .with("sd", d.sd)
                .with("median", d.median)
                .with("q1", d.q1)
                .with("q3", d.q3)
                .with("min", d.min)
                .with("max", d.max))
        }
        StatsMethod::PairedT => {
            folge_stats::paired_t(&input.numbers("x")?, &input.numbers("y")?, level)
        }
        StatsMethod::Wilcoxon => folge_stats::wilcoxon_signed_rank(
            &input.numbers("x")?,
            &input.numbers("y")?,
            input.optional_bool("exact")?,
            input.optional_bool("correct")?.unwrap_or(true),
            level,
        ),
        StatsMethod::WelchT => {
            folge_stats::welch_t(&input.numbers("x")?, &input.numbers("y")?, level)
        }
        StatsMethod::MannWhitney => folge_stats::mann_whitney(
            &input.numbers("x")?,
            &input.numbers("y")?,
            input.optional_bool("exact")?,
            input.optional_bool("correct")?.unwrap_or(true),
        ),
        StatsMethod::Wilson => {
            folge_stats::wilson(input.number("successes")?, input.number("n")?, level)
        }
        StatsMethod::Mcnemar => {
            let m = input.matrix("table")?;
            let cell = |r: usize, c: usize| -> Result<f64> {
                m.get(r)
                    .and_then(|row| row.get(c))
                    .copied()
                    .flatten()
                    .filter(|_| m.len() == 2 && m.iter().all(|row| row.len() == 2))
                    .ok_or_else(|| usage("`table` must be [[a, b], [c, d]] with four counts"))
            };
            let table = [[cell(0, 0)?, cell(0, 1)?], [cell(1, 0)?, cell(1, 1)?]];
            folge_stats::mcnemar(table, input.optional_bool("correct")?.unwrap_or(true), level)
        }
        StatsMethod::PoissonRate => {
            folge_stats::poisson_rate(input.number("events")?, input.number("exposure")?, level)
        }
        StatsMethod::RateRatio => folge_stats::rate_ratio(
            input.number("events1")?,
            input.number("exposure1")?,
            input.number("events0")?,
            input.number("exposure0")?,
            level,
        ),
        StatsMethod::DidOls | StatsMethod::DidPoisson => {
            let unit: Vec<String> = input
                .labels("unit")?
                .into_iter()
                .enumerate()
                .map(|(i, u)| u.ok_or_else(|| usage(format!("`unit[{i}]` is missing"))))
                .collect::<Result<_>>()?;
            let (treated, post, y) =
                (input.flags("treated")?, input.flags("post")?, input.required_numbers("y")?);
            if method == StatsMethod::DidOls {
                folge_stats::did_ols(&unit, &treated, &post, &y, level)
            } else {
                folge_stats::did_poisson(
                    &unit,
                    &treated,
                    &post,
                    &y,
                    &input.required_numbers("exposure")?,
                    level,
                )
            }
        }
        StatsMethod::CohenKappa => {
            let weights = choice(
                "weights",
                input.text("weights", "none")?,
                &[
                    ("none", KappaWeights::None),
                    ("linear", KappaWeights::Linear),
                    ("quadratic", KappaWeights::Quadratic),
                ],
            )?;
            folge_stats::cohen_kappa(&input.labels("x")?, &input.labels("y")?, weights, level)
        }
        StatsMethod::FleissKappa => {
            let m = input.matrix("matrix")?;
            let counts: Vec<Vec<f64>> = m
                .into_iter()
                .map(|row| {
                    row.into_iter()
                        .map(|v| {
                            v.ok_or_else(|| usage("`matrix` holds counts; null is not allowed"))
                        })
                        .collect()
                })
                .collect::<Result<_>>()?;
            folge_stats::fleiss_kappa(&counts)
        }
        StatsMethod::KrippendorffAlpha => {
            let level_of = choice(
                "level",
                input.text("level", "nominal")?,
                &[
                    ("nominal", Level::Nominal),
                    ("ordinal", Level::Ordinal),
                    ("interval", Level::Interval),
                    ("ratio", Level::Ratio),
                ],
            )?;
            folge_stats::krippendorff_alpha(&input.matrix("matrix")?, level_of)
        }
        StatsMethod::CronbachAlpha => folge_stats::cronbach_alpha(&input.matrix("matrix")?),
        StatsMethod::PAdjust => {
            let how = choice(
                "method",
                input.text("method", "holm")?,
                &[
                    ("holm", Adjustment::Holm),
                    ("bh", Adjustment::BenjaminiHochberg),
                    ("bonferroni", Adjustment::Bonferroni),
                ],
            )?;
            let p = input.numbers("p")?;
            folge_stats::p_adjust(&p, how).map(|adjusted| {
                let mut r = StatResult::new(
                    format!("p.adjust ({})", input.text("method", "holm").unwrap_or("holm")),
                    p.iter().flatten().count(),
                );
                r.extras.push(("adjusted", Extra::Numbers(adjusted)));
                r
            })
        }
        StatsMethod::Bootstrap => {
            let statistic = choice(
                "statistic",
                input.text("statistic", "mean")?,
                &[
                    ("mean", BootStatistic::Mean),
                    ("median", BootStatistic::Median),
                    ("mean-diff", BootStatistic::MeanDiff),
                ],
            )?;
            let how = choice(
                "method",
                input.text("method", "bca")?,
                &[("percentile", BootMethod::Percentile), ("bca", BootMethod::Bca)],
            )?;
            let reps = input.get("reps").map_or(Ok(2000.0), |v| {
                v.as_f64().ok_or_else(|| usage("`reps` must be a whole number"))
            })?;
            let seed = input.get("seed").map_or(Ok(1.0), |v| {
                v.as_f64().ok_or_else(|| usage("`seed` must be a whole number"))
            })?;
            if reps.fract() != 0.0 || reps < 0.0 || seed.fract() != 0.0 || seed < 0.0 {
                return Err(usage("`reps` and `seed` must be whole numbers ≥ 0"));
            }
            if reps > MAX_REPS {
                return Err(usage(format!(
                    "`reps` must be at most {MAX_REPS} (R's default is 2000)"
                )));
            }
            if seed > u64::MAX as f64 {
                return Err(usage("`seed` must be below 2^64"));
            }
            let y =
                if statistic == BootStatistic::MeanDiff { Some(input.numbers("y")?) } else { None };
            folge_stats::bootstrap(
                &input.numbers("x")?,
                y.as_deref(),
                statistic,
                reps as usize,
                seed as u64,
                how,
                level,
            )
        }
    };
    // NaN from finite input means the values left f64's range on the way.
    Ok(r?.finite()?)
}

fn number_json(v: Option<f64>) -> Value {
    v.filter(|x| x.is_finite()).map_or(Value::Null, |x| json!(x))
}

/// The result as the JSON object the issue's table describes.
fn to_json(r: &StatResult) -> Value {
    let mut m = Map::new();
    m.insert("method".into(), json!(r.method));
    m.insert("n".into(), json!(r.n));
    for (key, value) in [
        ("estimate", r.estimate),
        ("statistic", r.statistic),
        ("df", r.df),
        ("p_value", r.p_value),
        ("ci_low", r.ci_low),
        ("ci_high", r.ci_high),
    ] {
        m.insert(key.into(), number_json(value));
    }
    for (key, extra) in &r.extras {
        let value = match extra {
            Extra::Number(v) => number_json(*v),
            Extra::Numbers(vs) => Value::Array(vs.iter().map(|v| number_json(*v)).collect()),
        };
        m.insert((*key).into(), value);
    }
    Value::Object(m)
}

/// Four significant digits, as a person reads them.
fn readable(v: Option<f64>) -> String {
    match v {
        None => "–".to_owned(),
        Some(x) if !x.is_finite() => x.to_string(),
        Some(x) if x.fract() == 0.0 && x.abs() < 1e15 => format!("{x:.0}"),
        Some(x) if x.abs() < 1e-4 => format!("{x:.3e}"),
        Some(x) => {
            let digits = (3 - x.abs().log10().floor() as i32).clamp(0, 10) as usize;
            format!("{x:.digits$}")
        }
    }
}

fn summary(r: &StatResult, level: f64) -> String {
    let mut out = format!("{} (n = {})\n", r.method, r.n);
    if r.estimate.is_some() || r.ci_low.is_some() {
        let _ = writeln!(
            out,
            "  estimate {}   {:.0} % CI [{}, {}]",
            readable(r.estimate),
            level * 100.0,
            readable(r.ci_low),
            readable(r.ci_high)
        );
    }
    if r.statistic.is_some() || r.p_value.is_some() {
        let df = r.df.map(|d| format!(", df = {}", readable(Some(d)))).unwrap_or_default();
        let _ =
            writeln!(out, "  statistic {}{df}, p = {}", readable(r.statistic), readable(r.p_value));
    }
    for (key, extra) in &r.extras {
        if let Extra::Number(v) = extra {
            let _ = writeln!(out, "  {key} = {}", readable(*v));
        }
    }
    out
}

/// Read the named columns of a CSV file (delimiter sniffed, decimal comma accepted).
fn csv_columns(path: &Path, columns: &[&str]) -> Result<Vec<Vec<Option<f64>>>> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read `{}`", path.display()))?;
    let text = String::from_utf8(bytes)
        .map_err(|_| usage(format!("`{}` is not UTF-8", path.display())))?;
    let text = text.trim_start_matches('\u{feff}');
    let header_line = text.lines().next().unwrap_or_default();
    let delimiter = folge_ingest::sniff_delimiter(header_line.as_bytes());
    let mut reader =
        csv::ReaderBuilder::new().delimiter(delimiter).flexible(true).from_reader(text.as_bytes());
    let header: Vec<String> = reader.headers()?.iter().map(|h| h.trim().to_owned()).collect();
    let index: Vec<usize> = columns
        .iter()
        .map(|c| {
            header.iter().position(|h| h == c).ok_or_else(|| {
                usage(format!(
                    "`{}` has no column `{c}`; found {}",
                    path.display(),
                    header
                        .iter()
                        .take(20)
                        .map(|h| format!("`{}`", shown(h)))
                        .collect::<Vec<_>>()
                        .join(", ")
                ))
            })
        })
        .collect::<Result<_>>()?;
    let mut out = vec![Vec::new(); columns.len()];
    for (row, record) in reader.records().enumerate() {
        let record = record?;
        for (k, &i) in index.iter().enumerate() {
            let cell = record.get(i).unwrap_or("").trim();
            let value = if cell.is_empty() || cell.eq_ignore_ascii_case("na") {
                None
            } else {
                Some(folge_ingest::values::parse_number(cell).map_err(|e| {
                    usage(format!(
                        "`{}` line {}, column `{}`: {e}",
                        path.display(),
                        row + 2,
                        columns[k]
                    ))
                })?)
            };
            out[k].push(value);
        }
    }
    Ok(out)
}

/// `folge stats`.
pub fn run(
    method: StatsMethod,
    input: Option<&Path>,
    csv: Option<&Path>,
    x: Option<&str>,
    y: Option<&str>,
) -> Result<()> {
    if let Some(csv) = csv {
        let x = x.ok_or_else(|| usage("--csv needs --x COLUMN"))?;
        let mut names = vec![x];
        names.extend(y);
        let columns = csv_columns(csv, &names)?;
        let mut object = Map::new();
        object.insert("x".into(), json!(columns[0]));
        if let Some(col) = columns.get(1) {
            object.insert("y".into(), json!(col));
        }
        let takes_columns = matches!(
            method,
            StatsMethod::Describe
                | StatsMethod::PairedT
                | StatsMethod::Wilcoxon
                | StatsMethod::WelchT
                | StatsMethod::MannWhitney
                | StatsMethod::Bootstrap
        );
        if !takes_columns {
            return Err(usage(
                "--csv works with describe, paired-t, wilcoxon, welch-t, mann-whitney and bootstrap; give the other methods JSON",
            ));
        }
        let result = compute(method, &Input(object))?;
        #[expect(clippy::print_stdout, reason = "the summary is the command's output")]
        {
            print!("{}", summary(&result, 0.95));
        }
        return Ok(());
    }
    let mut text = String::new();
    match input {
        Some(path) => {
            text = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read `{}`", path.display()))?;
        }
        None => {
            std::io::stdin().read_to_string(&mut text).context("cannot read standard input")?;
        }
    }
    let value: Value = serde_json::from_str(&text).map_err(|e| {
        usage(format!("the input is not JSON (line {}, column {}): {e}", e.line(), e.column()))
    })?;
    let Value::Object(object) = value else {
        return Err(usage(
            "the input must be one JSON object, e.g. {\"x\": [1, 2], \"y\": [0, 1]}",
        ));
    };
    let result = compute(method, &Input(object))?;
    #[expect(clippy::print_stdout, reason = "stdout is for data")]
    {
        println!("{}", to_json(&result));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::ValueEnum as _;
    use proptest::prelude::*;

    /// A number as JSON: ordinary, whole, extreme (huge, tiny, subnormal), or null — which
    /// is what NaN and the infinities become in JSON.
    fn number() -> impl Strategy<Value = Value> + Clone {
        prop_oneof![
            4 => (-10.0..10.0f64).prop_map(|v| json!(v)),
            3 => (0u32..12).prop_map(|v| json!(v)),
            2 => prop::sample::select(vec![
                0.0, -0.0, 0.5, 1.0, 1e300, -1e300, 2e300, 4e300, f64::MAX, f64::MIN, 1e154,
                -1e154, 1e-300, -1e-300, 1e-154, 5e-324, f64::MIN_POSITIVE, 1e15, 9e15, 1e17,
                f64::NAN, f64::INFINITY, f64::NEG_INFINITY,
            ])
            .prop_map(Value::from),
            1 => Just(Value::Null),
        ]
    }

    /// Anything a key might wrongly hold.
    fn junk() -> impl Strategy<Value = Value> {
        prop_oneof![
            number(),
            any::<bool>().prop_map(Value::Bool),
            "[a-z]{0,3}".prop_map(Value::String),
            Just(json!([])),
            Just(json!({})),
            Just(json!([[1, 2], [3]])),
        ]
    }

    fn array(len: usize, item: impl Strategy<Value = Value>) -> impl Strategy<Value = Value> {
        prop::collection::vec(item, len).prop_map(Value::Array)
    }

    fn label() -> impl Strategy<Value = Value> {
        prop_oneof![
            4 => "[a-c]".prop_map(Value::String),
            2 => (0u32..3).prop_map(|v| json!(v)),
            1 => Just(Value::Null),
            1 => any::<bool>().prop_map(Value::Bool),
        ]
    }

    fn flag() -> impl Strategy<Value = Value> {
        prop_oneof![
            4 => (0u32..2).prop_map(|v| json!(v)),
            2 => any::<bool>().prop_map(Value::Bool),
            1 => Just(json!(2)),
            1 => Just(Value::Null),
        ]
    }

    fn choice(options: &'static [&'static str]) -> impl Strategy<Value = Value> {
        prop_oneof![
            4 => prop::sample::select(options).prop_map(|s| json!(s)),
            1 => junk(),
        ]
    }

    /// An input object close enough to valid to reach the methods: arrays of one length
    /// (sometimes another), every key a method reads, each left out now and then or
    /// replaced by junk.
    fn input() -> impl Strategy<Value = Map<String, Value>> {
        (0usize..12, 0usize..3, 1usize..5).prop_flat_map(|(n, skew, k)| {
            let m = if skew == 0 { n + 1 } else { n };
            let keys: Vec<(&'static str, BoxedStrategy<Value>)> = vec![
                ("x", array(n, number()).boxed()),
                ("y", array(m, number()).boxed()),
                ("p", array(n, number()).boxed()),
                ("exposure", prop_oneof![array(m, number()), number()].boxed()),
                ("unit", array(n, label()).boxed()),
                ("treated", array(n, flag()).boxed()),
                ("post", array(m, flag()).boxed()),
                ("matrix", array(n, array(k, number())).boxed()),
                ("table", array(2, array(2, number())).boxed()),
                ("successes", number().boxed()),
                ("n", number().boxed()),
                ("events", number().boxed()),
                ("events1", number().boxed()),
                ("exposure1", number().boxed()),
                ("events0", number().boxed()),
                ("exposure0", number().boxed()),
                ("conf_level", prop_oneof![4 => Just(json!(0.95)), 1 => number()].boxed()),
                ("weights", choice(&["none", "linear", "quadratic"]).boxed()),
                ("level", choice(&["nominal", "ordinal", "interval", "ratio"]).boxed()),
                ("method", choice(&["holm", "bh", "bonferroni", "percentile", "bca"]).boxed()),
                ("statistic", choice(&["mean", "median", "mean-diff"]).boxed()),
                (
                    "reps",
                    prop_oneof![4 => (0u32..50).prop_map(|v| json!(v)), 1 => number()].boxed(),
                ),
                ("seed", number().boxed()),
                (
                    "exact",
                    prop_oneof![Just(Value::Null), any::<bool>().prop_map(Value::Bool)].boxed(),
                ),
                (
                    "correct",
                    prop_oneof![Just(Value::Null), any::<bool>().prop_map(Value::Bool)].boxed(),
                ),
            ];
            keys.into_iter()
                .map(|(key, value)| {
                    prop_oneof![
                        8 => value.prop_map(Some),
                        1 => Just(None),
                        1 => junk().prop_map(Some),
                    ]
                    .prop_map(move |v| v.map(|v| (key.to_owned(), v)))
                })
                .collect::<Vec<_>>()
                .prop_map(|pairs| pairs.into_iter().flatten().collect::<Map<String, Value>>())
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 1000, ..ProptestConfig::default() })]

        /// `folge stats` never panics: every method on any input gives a result whose
        /// JSON holds numbers or nulls, or a sentence that exits 2.
        #[test]
        fn any_input_gives_a_result_or_a_sentence(
            method in prop::sample::select(StatsMethod::value_variants()),
            object in input(),
        ) {
            let shown = Value::Object(object.clone()).to_string();
            let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                compute(method, &Input(object))
            }));
            let Ok(outcome) = outcome else {
                panic!("`folge stats {method:?}` panicked on {shown}");
            };
            match outcome {
                Ok(result) => {
                    let json = to_json(&result).to_string();
                    prop_assert!(!json.contains("NaN") && !json.contains("inf"), "{json}");
                }
                Err(e) => {
                    let message = format!("{e:#}");
                    prop_assert_eq!(crate::commands::exit_code(&e), 2, "{} on {}: {}", format!("{method:?}"), shown, message);
                    prop_assert!(!message.is_empty());
                    prop_assert!(!message.contains("Some(") && !message.contains("NaN"), "{}", message);
                }
            }
        }
    }

    #[test]
    fn overflowing_values_are_a_sentence_not_a_panic() {
        let object = |text: &str| match serde_json::from_str(text) {
            Ok(Value::Object(map)) => Input(map),
            other => panic!("{other:?}"),
        };
        let err =
            compute(StatsMethod::PairedT, &object(r#"{"x":[1e300,2e300,4e300],"y":[1,2,3]}"#))
                .unwrap_err();
        assert_eq!(crate::commands::exit_code(&err), 2);
        assert_eq!(
            format!("{err:#}"),
            "the paired t test: the values are too large or too small to compute with in double precision (rescale them, e.g. to thousands or millionths)"
        );
    }
}

//! What each stage was made from, and whether that is still what the pipeline file
//! implies (as R's targets knows which targets are outdated).
//!
//! A stage's record (`stage.json`) holds a [`MadeFrom`]: folge's version and build (a
//! hash of the executable's size and modification time), the parameters
//! that concern the stage (each parameter belongs to the first stage that reads it; a
//! parameter no list below names belongs to ingest, so a new one re-makes every stage
//! rather than none), a hash chained over them and every earlier stage's, the inputs'
//! hash, the key's fingerprint (deid) and the hash of the record of the stage before. A
//! stage run alone refuses (exit 2) to read an earlier stage's outputs that are not what
//! the pipeline file now implies, and says which command re-makes them; `folge run` makes
//! again only the stages that are not.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use serde_json::Value;
use tracing::{debug, warn};

use crate::manifest::{MadeFrom, StageRecord, file_sha256, sha256_hex};
use crate::run_dir::RunDir;
use crate::stages::Stage;
use crate::{Pipeline, PipelineError};

/// The stage that reads `parameter` (a name of [`Pipeline::params`]) first, by the section
/// it is in, so that a new setting belongs to its section's stage without a list to keep:
/// periods and analysis settings to analysis; de-identification, the extract and the key
/// to deid; report settings and the language to the report; everything else (the inputs,
/// ingest settings, vocabularies, the name, ids, the data's end) to ingest, so that a
/// setting no section claims re-makes every stage rather than none.
fn owner(parameter: &str) -> Stage {
    let section = parameter.split('.').next().unwrap_or(parameter);
    match section {
        "periods" | "analyze" => Stage::Analyze,
        "deid" | "extract" | "key_is_demo" => Stage::Deid,
        "report" | "language" => Stage::Report,
        _ => Stage::Ingest,
    }
}

/// How a message names a stage's parameters.
fn kind(stage: Stage) -> &'static str {
    match stage {
        Stage::Ingest => "ingest",
        Stage::Deid => "de-identification",
        Stage::Analyze => "analysis",
        Stage::Report => "report",
    }
}

/// How a message names a stage's outputs.
fn outputs_of(stage: Stage) -> &'static str {
    match stage {
        Stage::Report => "the report",
        other => other.dir_name(),
    }
}

/// The version records are written by.
const VERSION: &str = env!("CARGO_PKG_VERSION");

/// The identity of the running build: a hash of its executable's size and modification
/// time, read once per process (`None` when they cannot be read: then no stage counts as
/// made by this build, and each is made again). Outputs depend on the code, which the
/// version does not pin down between releases. The file's metadata, not its bytes: hashing
/// a debug build (over 300 MB) took seconds at every start, and a rebuild or a copy of the
/// same code counting as another build only makes stages again.
fn this_build() -> Option<&'static str> {
    static BUILD: OnceLock<Option<String>> = OnceLock::new();
    BUILD
        .get_or_init(|| {
            let identity = std::env::current_exe().and_then(|exe| {
                let meta = std::fs::metadata(exe)?;
                let modified = meta.modified()?.duration_since(std::time::UNIX_EPOCH);
                let nanos = modified.map_or(0, |d| d.as_nanos());
                Ok(format!("{} bytes, modified {nanos} ns after the epoch", meta.len()))
            });
            match identity {
                Ok(text) => Some(sha256_hex(text.as_bytes())),
                Err(e) => {
                    warn!(
                        "this folge's executable cannot be read ({e}): every stage is made again"
                    );
                    None
                }
            }
        })
        .as_deref()
}

/// Each stage's parameters, and the hashes chained over them, from the validated pipeline.
struct StageParams {
    own: [Value; 4],
    chained: [String; 4],
}

impl StageParams {
    fn of(pipeline: &Pipeline) -> Self {
        let mut own: [serde_json::Map<String, Value>; 4] = Default::default();
        for (name, value) in pipeline.params() {
            own[owner(&name) as usize].insert(name, value);
        }
        let own = own.map(Value::Object);
        let mut chained: [String; 4] = Default::default();
        let mut before = String::new();
        for (slot, params) in chained.iter_mut().zip(&own) {
            before = sha256_hex(format!("{before}\n{params}").as_bytes());
            slot.clone_from(&before);
        }
        StageParams { own, chained }
    }
}

/// Records held against what the pipeline file now implies.
pub(crate) struct Provenance<'a> {
    pipeline: &'a Pipeline,
    dir: RunDir,
    params: StageParams,
    /// Each input's role and SHA-256 (`None`: it cannot be read here), hashed when first
    /// asked for.
    inputs: OnceLock<Vec<(String, Option<String>)>>,
    /// The key's fingerprint (`None`: no key here).
    key: OnceLock<Option<String>>,
}

impl<'a> Provenance<'a> {
    pub(crate) fn new(pipeline: &'a Pipeline) -> Self {
        Provenance {
            pipeline,
            dir: RunDir::new(pipeline),
            params: StageParams::of(pipeline),
            inputs: OnceLock::new(),
            key: OnceLock::new(),
        }
    }

    /// The hash over the parameters of `stage` and the stages before it: what its Parquet
    /// files carry as `folge.params_sha256`, so a stage not made again keeps its bytes.
    pub(crate) fn params_sha256(&self, stage: Stage) -> &str {
        &self.params.chained[stage as usize]
    }

    /// What `stage`, about to be made, is made from (read before it starts: the record of
    /// the stage before is the one it reads).
    pub(crate) fn made_from(&self, stage: Stage) -> MadeFrom {
        MadeFrom {
            folge_version: VERSION.to_owned(),
            folge_build: this_build().map(str::to_owned),
            params: self.params.own[stage as usize].clone(),
            params_sha256: self.params_sha256(stage).to_owned(),
            inputs_sha256: String::new(),
            key_fingerprint: None,
            upstream_sha256: self.upstream_sha256(stage),
        }
    }

    fn upstream_sha256(&self, stage: Stage) -> Option<String> {
        let before = Stage::ALL.into_iter().rev().find(|s| *s < stage)?;
        std::fs::read(self.dir.record(before)).ok().map(|bytes| sha256_hex(&bytes))
    }

    fn current_inputs(&self) -> &[(String, Option<String>)] {
        self.inputs.get_or_init(|| {
            self.pipeline
                .inputs()
                .into_iter()
                .map(|(_, file)| (file.role.clone(), file_sha256(&file.path).ok().map(|h| h.0)))
                .collect()
        })
    }

    fn current_key(&self) -> Option<&str> {
        self.key
            .get_or_init(|| crate::keys::resolve_key(self.pipeline).ok().map(|k| k.fingerprint()))
            .as_deref()
    }

    /// The record of `stage`, when there is one.
    pub(crate) fn record(&self, stage: Stage) -> Option<StageRecord> {
        let text = std::fs::read_to_string(self.dir.record(stage)).ok()?;
        serde_json::from_str(&text).ok()
    }

    /// Why `record`, of `stage`, is not what the pipeline file now implies; `None` when it
    /// is. The reason names stages, parameters and input roles, never a value or a file
    /// name of the data.
    pub(crate) fn stale(&self, stage: Stage, record: &StageRecord) -> Option<String> {
        let it = outputs_of(stage);
        let file = self.pipeline.file.display();
        if record.failed.is_some() {
            return Some(format!("{it} did not pass its checks when it was made"));
        }
        let Some(made) = &record.made_from else {
            return Some(format!(
                "{it} was made by a folge that did not record what it was made from"
            ));
        };
        if made.folge_version != VERSION {
            return Some(format!(
                "{it} was made by folge {}, not by this folge {VERSION}",
                made.folge_version
            ));
        }
        if this_build().is_none() || made.folge_build.as_deref() != this_build() {
            return Some(format!(
                "{it} was made by another build of folge {VERSION} than this one (its executable differs)"
            ));
        }
        if made.upstream_sha256 != self.upstream_sha256(stage) {
            let before = Stage::ALL.into_iter().rev().find(|s| *s < stage).unwrap_or(stage);
            return Some(format!(
                "{it} was made from another {} than the one there now",
                outputs_of(before)
            ));
        }
        if stage == Stage::Ingest {
            let recorded: BTreeMap<&str, &str> =
                record.inputs.iter().map(|i| (i.role.as_str(), i.sha256.as_str())).collect();
            let mut changed = Vec::new();
            for (role, sha256) in self.current_inputs() {
                match (sha256, recorded.get(role.as_str())) {
                    (None, _) => {
                        warn!("{role} cannot be read here, so {it} is not checked against it");
                    }
                    (Some(now), Some(then)) if now == then => {}
                    _ => changed.push(format!("`{role}`")),
                }
            }
            let current: Vec<&str> =
                self.current_inputs().iter().map(|(r, _)| r.as_str()).collect();
            changed
                .extend(recorded.keys().filter(|r| !current.contains(r)).map(|r| format!("`{r}`")));
            if !changed.is_empty() {
                return Some(format!(
                    "{it} was made from other inputs than `{file}` now names ({})",
                    changed.join(", ")
                ));
            }
        }
        let now = &self.params.own[stage as usize];
        if &made.params != now {
            let (then, now) = (made.params.as_object(), now.as_object());
            let mut names: Vec<&String> =
                then.into_iter().chain(now).flat_map(serde_json::Map::keys).collect();
            names.sort();
            names.dedup();
            let changed: Vec<String> = names
                .into_iter()
                .filter(|n| then.and_then(|m| m.get(*n)) != now.and_then(|m| m.get(*n)))
                .map(|n| format!("`{n}`"))
                .collect();
            return Some(format!(
                "{it} was made with other {} parameters than `{file}` now gives ({})",
                kind(stage),
                changed.join(", ")
            ));
        }
        if stage == Stage::Deid
            && let Some(key) = self.current_key()
            && made.key_fingerprint.as_deref() != Some(key)
        {
            return Some(format!("{it} was made with another key than `{file}` now gives"));
        }
        record.outputs.iter().find_map(|output| {
            let path = self.dir.recorded(stage, &output.path);
            let same = file_sha256(&path).is_ok_and(|(sha256, _)| sha256 == output.sha256);
            (!same).then(|| format!("`{}` is not the file {it} wrote", output.path))
        })
    }

    /// Whether `stage` is there and is what the pipeline file now implies (ingest only
    /// when every input can be read: one that cannot is for ingest to report).
    pub(crate) fn up_to_date(&self, stage: Stage) -> bool {
        let why = match self.record(stage) {
            None => Some(format!("{} is not there", outputs_of(stage))),
            Some(record) => self.stale(stage, &record),
        };
        // Hashing the inputs (gigabytes for a large delivery) only matters when the stage
        // could be kept; a stage to be made anyway (a fresh run) does not wait for it.
        let inputs = stage != Stage::Ingest
            || why.is_some()
            || self.current_inputs().iter().all(|i| i.1.is_some());
        match (&why, inputs) {
            (Some(why), _) => debug!("{}: to be made: {why}", stage.name()),
            (None, false) => debug!("{}: to be made: an input cannot be read here", stage.name()),
            (None, true) => debug!("{}: up to date with the pipeline file", stage.name()),
        }
        inputs && why.is_none()
    }

    /// Refuse to make `stage` from earlier stages' outputs that are not what the pipeline
    /// file now implies: the first such stage is named, with the command that re-makes it.
    /// A stage not there is left to the reader, which says which file is missing.
    pub(crate) fn check_before(&self, stage: Stage) -> Result<(), PipelineError> {
        for before in Stage::ALL.into_iter().filter(|s| *s < stage) {
            let Some(record) = self.record(before) else { return Ok(()) };
            if let Some(why) = self.stale(before, &record) {
                let file = self.pipeline.file.display();
                return Err(PipelineError::Stale {
                    stage: stage.name(),
                    message: format!(
                        "{why}; run `folge {} {file}` first (or `folge run {file}`)",
                        before.name()
                    ),
                });
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_parameter_belongs_to_one_stage_and_the_hashes_chain() {
        let text = "name = \"t\"\noutput = \"run\"\ndata_end = \"2021-12-31\"\n[inputs.participants]\npath = \"p.csv\"\n";
        let a = crate::Pipeline::parse(std::path::Path::new("/p/t.toml"), text).unwrap();
        let params = StageParams::of(&a);
        let names = |stage: Stage| -> Vec<String> {
            params.own[stage as usize].as_object().unwrap().keys().cloned().collect()
        };
        let all: usize = Stage::ALL.iter().map(|s| names(*s).len()).sum();
        assert_eq!(all, a.params().len(), "each parameter in exactly one stage");
        assert!(names(Stage::Analyze).contains(&"periods.before_days".to_owned()));
        assert!(names(Stage::Analyze).contains(&"analyze.min_n".to_owned()));
        assert!(names(Stage::Deid).contains(&"deid".to_owned()));
        assert!(names(Stage::Report).contains(&"report.suppression_threshold".to_owned()));
        assert!(names(Stage::Report).contains(&"language".to_owned()));
        assert!(names(Stage::Ingest).contains(&"inputs".to_owned()));
        // An analysis parameter changes the hashes of analyze and report, not earlier ones.
        let b = crate::Pipeline::parse(
            std::path::Path::new("/p/t.toml"),
            &format!("{text}[periods]\nbefore_days = 180\n"),
        )
        .unwrap();
        let other = StageParams::of(&b);
        for stage in Stage::ALL {
            assert_eq!(
                params.chained[stage as usize] == other.chained[stage as usize],
                stage < Stage::Analyze,
                "{stage:?}"
            );
        }
    }
}

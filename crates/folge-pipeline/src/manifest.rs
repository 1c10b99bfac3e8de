//! The run's manifest: what went in (each input's role in the pipeline file, SHA-256, size
//! and row counts — never its file name, which may name a person),
//! with which parameters and key (fingerprint only), what came out, and how long each
//! stage took. Each stage writes its own record (`<stage dir>/stage.json`); the run's
//! `manifest.json` is assembled from them, so running one stage again updates it.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::PipelineError;

/// One input file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InputRecord {
    /// Canonical table it feeds.
    pub table: String,
    /// Its place in the pipeline file (`inputs.service_events[1]`).
    pub role: String,
    /// SHA-256 of the bytes.
    pub sha256: String,
    /// Size in bytes.
    pub bytes: u64,
    /// Data rows read.
    pub rows_read: u64,
    /// Rows accepted.
    pub rows_accepted: u64,
    /// Rows rejected (see `01_ingest/rejects.parquet`).
    pub rows_rejected: u64,
}

/// One output file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutputRecord {
    /// Path relative to the run directory or report folder.
    pub path: String,
    /// SHA-256 of the bytes.
    pub sha256: String,
    /// Rows, for tables.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub rows: Option<u64>,
}

/// What one stage did.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StageRecord {
    /// Stage name.
    pub stage: String,
    /// Wall-clock seconds.
    pub seconds: f64,
    /// Inputs read (ingest only).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub inputs: Vec<InputRecord>,
    /// Files written.
    pub outputs: Vec<OutputRecord>,
    /// Stage-specific counts and notes (never identifiers).
    #[serde(default)]
    pub notes: BTreeMap<String, serde_json::Value>,
    /// Why the stage failed its checks after it had written everything (ingest: more rows
    /// rejected than the limit), so its outputs are there to look at but no stage reads
    /// them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failed: Option<String>,
    /// What the stage was made from; a stage reads an earlier stage's outputs only when
    /// this is what the pipeline file now implies.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub made_from: Option<MadeFrom>,
}

/// What a stage was made from (never a file name or a value of the data).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MadeFrom {
    /// folge's version.
    pub folge_version: String,
    /// SHA-256 of the size and modification time of the folge executable that made the
    /// stage: the version names a release, not the code, so a stage made by another build
    /// of the same version (an update, a local change) is made again rather than mixed
    /// with the outputs of this one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub folge_build: Option<String>,
    /// The parameters that concern this stage, by name.
    pub params: serde_json::Value,
    /// SHA-256 over the parameters of this stage and every stage before it (what its
    /// Parquet files carry as `folge.params_sha256`).
    pub params_sha256: String,
    /// SHA-256 over the inputs (by table and hash; ingest lists them in `inputs`).
    pub inputs_sha256: String,
    /// SHA-256 of the key's SHA-256, for deid (its pseudonyms depend on the key).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_fingerprint: Option<String>,
    /// SHA-256 of the record (`stage.json`) of the stage before, as it was read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upstream_sha256: Option<String>,
}

/// The run manifest.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Manifest {
    /// folge's version.
    pub folge_version: String,
    /// Pipeline name.
    pub pipeline: String,
    /// The pipeline file's name (the folders it lies in are not recorded).
    pub pipeline_file: PathBuf,
    /// Parameters that determine the results.
    pub params: serde_json::Value,
    /// SHA-256 of the canonical parameter JSON.
    pub params_sha256: String,
    /// Inputs.
    pub inputs: Vec<InputRecord>,
    /// SHA-256 over the inputs' tables and hashes.
    pub inputs_sha256: String,
    /// SHA-256 of SHA-256 of the key; never the key.
    pub key_fingerprint: Option<String>,
    /// Stage records in stage order.
    pub stages: Vec<StageRecord>,
}

/// `path` relative to the folder `base`, lexically (`../data/x.csv` from `pipelines`):
/// what a pipeline file in `base` would write. A relative path and an absolute one are
/// compared through the current directory; when no relative path exists (another drive),
/// the file name alone.
#[must_use]
pub fn relative_to(path: &Path, base: &Path) -> PathBuf {
    use std::path::Component;
    let absolute = |p: &Path| {
        if p.is_absolute() {
            Some(p.to_path_buf())
        } else {
            std::env::current_dir().ok().map(|d| d.join(p))
        }
    };
    let (path, base) = if path.is_absolute() == base.is_absolute() {
        (path.to_path_buf(), base.to_path_buf())
    } else {
        match (absolute(path), absolute(base)) {
            (Some(p), Some(b)) => (p, b),
            _ => (path.to_path_buf(), base.to_path_buf()),
        }
    };
    let (path, base) = (crate::config::normalize(&path), crate::config::normalize(&base));
    let to: Vec<_> = path.components().filter(|c| !matches!(c, Component::CurDir)).collect();
    let from: Vec<_> = base.components().filter(|c| !matches!(c, Component::CurDir)).collect();
    let common = to.iter().zip(&from).take_while(|(a, b)| a == b).count();
    let file_name = || path.file_name().map_or_else(|| path.clone(), PathBuf::from);
    if from[common..].iter().any(|c| !matches!(c, Component::Normal(_)))
        || (common == 0 && path.is_absolute())
    {
        return file_name();
    }
    let mut out = PathBuf::new();
    for _ in common..from.len() {
        out.push("..");
    }
    for c in &to[common..] {
        out.push(c.as_os_str());
    }
    if out.as_os_str().is_empty() { file_name() } else { out }
}

/// Lowercase hex.
pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes.iter().fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

/// SHA-256 of a string, hex.
pub fn sha256_hex(data: &[u8]) -> String {
    hex(&Sha256::digest(data))
}

/// SHA-256 and size of a file, streamed.
pub fn file_sha256(path: &Path) -> Result<(String, u64), PipelineError> {
    let go_on = std::sync::atomic::AtomicBool::new(false);
    let hashed = file_sha256_unless(path, &go_on)?;
    hashed.ok_or_else(|| PipelineError::io_message(path, "hashing stopped"))
}

/// [`file_sha256`], given up (`None`) once `stop` is set: it is looked at before every
/// read of 64 KiB.
pub(crate) fn file_sha256_unless(
    path: &Path,
    stop: &std::sync::atomic::AtomicBool,
) -> Result<Option<(String, u64)>, PipelineError> {
    file_sha256_after(path, (Sha256::new(), 0), stop)
}

/// [`file_sha256_unless`] of a file whose first `total` bytes `hasher` has already seen
/// (read by someone else): the rest read from the file and hashed.
pub(crate) fn file_sha256_after(
    path: &Path,
    (mut hasher, mut total): (Sha256, u64),
    stop: &std::sync::atomic::AtomicBool,
) -> Result<Option<(String, u64)>, PipelineError> {
    let mut file = std::fs::File::open(path).map_err(|e| PipelineError::io(path, e))?;
    // Not when nothing was read: a pipe cannot seek.
    if total > 0 {
        std::io::Seek::seek(&mut file, std::io::SeekFrom::Start(total))
            .map_err(|e| PipelineError::io(path, e))?;
    }
    let mut buffer = vec![0u8; 1 << 16];
    loop {
        if stop.load(std::sync::atomic::Ordering::Relaxed) {
            return Ok(None);
        }
        let n = file.read(&mut buffer).map_err(|e| PipelineError::io(path, e))?;
        if n == 0 {
            break;
        }
        hasher.update(&buffer[..n]);
        total += n as u64;
    }
    Ok(Some((hex(&hasher.finalize()), total)))
}

/// One hash over every input: `table sha256` lines in input order.
pub fn inputs_sha256(inputs: &[InputRecord]) -> String {
    let mut hasher = Sha256::new();
    for input in inputs {
        hasher.update(format!("{} {}\n", input.table, input.sha256).as_bytes());
    }
    hex(&hasher.finalize())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicBool;

    #[test]
    fn a_file_hash_is_sha256_of_its_bytes_and_can_be_stopped() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("input.csv");
        // More than one read, so a stop between reads would show.
        let bytes: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
        std::fs::write(&path, &bytes).unwrap();
        let (sha, size) = file_sha256(&path).unwrap();
        assert_eq!(sha, hex(&Sha256::digest(&bytes)));
        assert_eq!(size, bytes.len() as u64);
        assert_eq!(file_sha256_unless(&path, &AtomicBool::new(false)).unwrap(), Some((sha, size)));
        assert_eq!(file_sha256_unless(&path, &AtomicBool::new(true)).unwrap(), None);
    }

    #[test]
    fn paths_are_recorded_relative_to_the_pipeline_folder() {
        let rel = |p: &str, b: &str| relative_to(Path::new(p), Path::new(b));
        assert_eq!(rel("data-sample/x.csv", "pipelines"), Path::new("../data-sample/x.csv"));
        assert_eq!(rel("pipelines/in/x.csv", "pipelines"), Path::new("in/x.csv"));
        assert_eq!(rel("/a/b/data/x.csv", "/a/b/pipelines"), Path::new("../data/x.csv"));
        assert_eq!(rel("/tmp/.tmpbkbgt1/sample.toml", "/tmp/.tmpbkbgt1"), Path::new("sample.toml"));
        assert_eq!(rel("x.csv", "."), Path::new("x.csv"));
        assert_eq!(rel("./a/../x.csv", ""), Path::new("x.csv"));
        // One relative, one absolute: through the current directory.
        let here = std::env::current_dir().unwrap();
        assert_eq!(relative_to(&here.join("d/x.csv"), Path::new("d")), Path::new("x.csv"));
        // A base that climbs above where it starts has no lexical answer: the name alone.
        assert_eq!(rel("x.csv", "../elsewhere"), Path::new("x.csv"));
    }
}

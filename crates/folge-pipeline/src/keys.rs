//! Finding, checking and writing pseudonymisation keys. A key file must be private (no
//! group or other permissions), hold at least 256 bits, and live outside the run
//! directory, so that the data and the means to re-identify them are kept apart.

use folge_schema::Table as _;
use std::path::Path;

use folge_deid::Key;

use crate::{Pipeline, PipelineError};

/// Environment variable naming the key file when the pipeline file has no `key`.
pub const KEY_FILE_ENV: &str = "FOLGE_KEY_FILE";

fn key_error(path: &Path, message: impl Into<String>) -> PipelineError {
    PipelineError::Config { file: path.to_owned(), line: None, message: message.into() }
}

/// The pipeline's key: `key = "demo"`, `key = "FILE"`, or `$FOLGE_KEY_FILE`.
pub fn resolve_key(pipeline: &Pipeline) -> Result<Key, PipelineError> {
    let path = match pipeline.config.key.as_deref() {
        Some("demo") => return Ok(Key::demo()),
        Some(path) => std::path::PathBuf::from(path),
        None => match std::env::var_os(KEY_FILE_ENV) {
            Some(p) => std::path::PathBuf::from(p),
            None => {
                return Err(key_error(
                    &pipeline.file,
                    format!(
                        "no key: set `key = \"FILE\"` in the pipeline file or the environment variable {KEY_FILE_ENV}; create a key with `folge keygen --out FILE`"
                    ),
                ));
            }
        },
    };
    read_key_file(&path, &pipeline.config.output)
}

fn read_key_file(path: &Path, output: &Path) -> Result<Key, PipelineError> {
    let meta = std::fs::metadata(path)
        .map_err(|e| key_error(path, format!("cannot read the key file: {e}")))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = meta.permissions().mode();
        if mode & 0o077 != 0 {
            return Err(key_error(
                path,
                format!(
                    "the key file is readable by others (mode {:o}); run `chmod 600` on it",
                    mode & 0o777
                ),
            ));
        }
    }
    let _ = meta;
    if let (Ok(key_dir), Ok(out)) = (path.canonicalize(), output.canonicalize())
        && key_dir.starts_with(&out)
    {
        return Err(key_error(
            path,
            "the key file lies inside the run directory; move it elsewhere so data and key are kept apart",
        ));
    }
    let text = std::fs::read_to_string(path)
        .map_err(|e| key_error(path, format!("cannot read the key file: {e}")))?;
    Key::from_hex(&text).map_err(|e| key_error(path, e.to_string()))
}

/// Create `path` for writing with mode 0600, never over an existing file.
fn create_private(path: &Path, what: &str) -> Result<std::fs::File, PipelineError> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(path).map_err(|e| {
        if e.kind() == std::io::ErrorKind::AlreadyExists {
            key_error(path, format!("a file is already there; folge never overwrites {what}"))
        } else {
            PipelineError::io(path, e)
        }
    })
}

/// Refuse a link table path inside the run or report directory, or where a file already
/// is: checked before a run starts, so a mistake costs no work.
pub fn check_link_table_path(pipeline: &Pipeline, path: &Path) -> Result<(), PipelineError> {
    let absolute = |p: &Path| std::path::absolute(p).unwrap_or_else(|_| p.to_owned());
    let inside = |dir: &Path| absolute(path).starts_with(absolute(dir));
    if inside(&pipeline.config.output) || inside(&pipeline.report_dir()) {
        return Err(key_error(
            path,
            "the link table would lie inside the run or report directory; write it where the data controller keeps it, apart from the data",
        ));
    }
    if path.exists() {
        return Err(key_error(
            path,
            "a file is already there; folge never overwrites a link table",
        ));
    }
    Ok(())
}

/// Write the link table (koblingsnøkkel): each participant's national id and pseudonym,
/// `person_id;pid`, mode 0600, never over an existing file and never inside the run or
/// report directory — it is for the data controller to keep apart from the data. Reads
/// `01_ingest/participants.parquet` and the pipeline's key. Returns the rows written.
pub fn write_link_table(pipeline: &Pipeline, path: &Path) -> Result<usize, PipelineError> {
    check_link_table_path(pipeline, path)?;
    let key = resolve_key(pipeline)?;
    let participants_file = pipeline.config.output.join("01_ingest/participants.parquet");
    if !participants_file.exists() {
        return Err(PipelineError::MissingStageOutput {
            stage: "deid",
            needs: "ingest",
            path: participants_file,
        });
    }
    let participants = folge_schema::tables::Participant::from_batches(
        &folge_schema::parquet_io::read_parquet(&participants_file)?.batches,
    )?;
    let mut text = String::from("person_id;pid\n");
    for p in &participants {
        text.push_str(&p.person_id);
        text.push(';');
        text.push_str(&key.pseudonym(&p.person_id));
        text.push('\n');
    }
    let mut file = create_private(path, "a link table")?;
    std::io::Write::write_all(&mut file, text.as_bytes())
        .map_err(|e| PipelineError::io(path, e))?;
    file.sync_all().map_err(|e| PipelineError::io(path, e))?;
    Ok(participants.len())
}

/// Write a new random key to `path` with mode 0600; refuses to overwrite.
pub fn write_key_file(path: &Path) -> Result<Key, PipelineError> {
    let key = Key::generate()
        .map_err(|e| PipelineError::Stage { stage: "keygen", message: e.to_string() })?;
    let mut file = create_private(path, "a key (keys lost are pseudonyms lost)")?;
    std::io::Write::write_all(&mut file, format!("{}\n", key.to_hex()).as_bytes())
        .map_err(|e| PipelineError::io(path, e))?;
    file.sync_all().map_err(|e| PipelineError::io(path, e))?;
    Ok(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keygen_writes_private_file_and_refuses_overwrite() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("run");
        std::fs::create_dir(&out).unwrap();
        let path = dir.path().join("k.key");
        let key = write_key_file(&path).unwrap();
        let back = read_key_file(&path, &out).unwrap();
        assert_eq!(back.fingerprint(), key.fingerprint());
        assert!(write_key_file(&path).unwrap_err().to_string().contains("never overwrites"));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
            let err = read_key_file(&path, &out).unwrap_err().to_string();
            assert!(err.contains("readable by others (mode 644)"), "{err}");
        }
        let inside = out.join("k.key");
        write_key_file(&inside).unwrap();
        let err = read_key_file(&inside, &out).unwrap_err().to_string();
        assert!(err.contains("inside the run directory"), "{err}");
        let short = dir.path().join("short.key");
        std::fs::write(&short, "abcd").unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&short, std::fs::Permissions::from_mode(0o600)).unwrap();
        }
        assert!(read_key_file(&short, &out).unwrap_err().to_string().contains("16 bits"));
    }
}

//! Finding, checking and writing pseudonymisation keys. A key file must be private (no
//! group or other permissions), hold at least 256 bits, and live outside the run
//! directory, so that the data and the means to re-identify them are kept apart.

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

/// Write a new random key to `path` with mode 0600; refuses to overwrite.
pub fn write_key_file(path: &Path) -> Result<Key, PipelineError> {
    let key = Key::generate()
        .map_err(|e| PipelineError::Stage { stage: "keygen", message: e.to_string() })?;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path).map_err(|e| {
        if e.kind() == std::io::ErrorKind::AlreadyExists {
            key_error(path, "a file is already there; folge never overwrites a key (keys lost are pseudonyms lost)")
        } else {
            PipelineError::io(path, e)
        }
    })?;
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

//! Finding, checking and writing pseudonymisation keys and the link table. A key file must
//! be private (no group or other permissions), hold at least 256 random bits, and live
//! outside every folder a run writes, so that the data and the means to re-identify them
//! are kept apart; the link table is never written inside one either. Paths are compared
//! as the filesystem resolves them (`..`, symbolic links), never by their text.

use folge_schema::Table as _;
use std::path::{Component, Path, PathBuf};

use folge_deid::Key;

use crate::{Pipeline, PipelineError, Stage};

/// Environment variable naming the key file when the pipeline file has no `key`.
pub const KEY_FILE_ENV: &str = "FOLGE_KEY_FILE";

fn key_error(path: &Path, message: impl Into<String>) -> PipelineError {
    PipelineError::config(path, None, message)
}

/// Where the pipeline's key comes from: `None` for `key = "demo"`, else the key file (the
/// pipeline's `key`, or `$FOLGE_KEY_FILE`).
pub(crate) fn key_file(pipeline: &Pipeline) -> Result<Option<PathBuf>, PipelineError> {
    match pipeline.config.key.as_deref() {
        Some("demo") => Ok(None),
        Some(path) => Ok(Some(PathBuf::from(path))),
        None => match std::env::var_os(KEY_FILE_ENV) {
            Some(p) => Ok(Some(PathBuf::from(p))),
            None => Err(key_error(
                &pipeline.file,
                format!(
                    "no key: set `key = \"FILE\"` in the pipeline file or the environment variable {KEY_FILE_ENV}; create a key with `folge keygen --out FILE`"
                ),
            )),
        },
    }
}

/// The pipeline's key: `key = "demo"`, `key = "FILE"`, or `$FOLGE_KEY_FILE`. A key file
/// must be private, outside every folder the run writes, and random; one holding the demo
/// key's bytes gives the demo key (see [`Key::is_demo`]).
pub fn resolve_key(pipeline: &Pipeline) -> Result<Key, PipelineError> {
    match key_file(pipeline)? {
        None => Ok(Key::demo()),
        Some(path) => read_key_file(&path, pipeline),
    }
}

/// Whether the pipeline's key is the public demo key, by its bytes (false when there is
/// no usable key: the run stops on that before it matters).
pub(crate) fn key_is_demo(pipeline: &Pipeline) -> bool {
    resolve_key(pipeline).is_ok_and(|key| key.is_demo())
}

fn read_key_file(path: &Path, pipeline: &Pipeline) -> Result<Key, PipelineError> {
    let meta = std::fs::metadata(path)
        .map_err(|e| PipelineError::config_because(path, "cannot read the key file", e))?;
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
    if let Some(inside) = output_folder_holding(pipeline, path) {
        return Err(key_error(
            path,
            format!(
                "the key file lies inside {}{}; move it elsewhere so data and key are kept apart",
                inside.folder, inside.via
            ),
        ));
    }
    let text = std::fs::read_to_string(path)
        .map_err(|e| PipelineError::config_because(path, "cannot read the key file", e))?;
    Key::from_hex(&text).map_err(|e| PipelineError::Config {
        file: path.to_owned(),
        line: None,
        message: e.to_string(),
        source: Some(Box::new(e)),
    })
}

/// Links followed at most, as Linux's `MAXSYMLINKS`.
const MAX_LINKS: usize = 40;

/// `path` as the filesystem will resolve it when a file is created there, as `realpath`
/// does but for paths that need not exist: made absolute, then walked one component at a
/// time, each symbolic link (dangling or not, the last component's too) replaced by its
/// target and `..` applied to what is resolved so far (so `link/..` leaves the link's
/// target, as the kernel does). Parts that do not exist are taken as written.
pub(crate) fn resolved(path: &Path) -> PathBuf {
    let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_owned());
    let mut queue: std::collections::VecDeque<PathBuf> =
        absolute.components().map(|c| PathBuf::from(c.as_os_str())).collect();
    let mut out = PathBuf::new();
    let mut links = 0;
    while let Some(part) = queue.pop_front() {
        match part.components().next() {
            Some(Component::CurDir) | None => {}
            Some(Component::ParentDir) => {
                out.pop();
            }
            Some(Component::Normal(name)) => {
                let next = out.join(name);
                match std::fs::read_link(&next) {
                    Ok(target) if links < MAX_LINKS => {
                        links += 1;
                        // A relative target continues from the link's folder (`out`); an
                        // absolute one starts again at the root.
                        for c in target.components().rev() {
                            queue.push_front(PathBuf::from(c.as_os_str()));
                        }
                    }
                    _ => out = next,
                }
            }
            // The root (and on Windows a drive prefix) start the path anew.
            Some(root) => out.push(root),
        }
    }
    out
}

/// An output folder a path lies inside, for the refusal sentence.
struct Inside {
    /// Which folder, e.g. "the report folder `reports/sample`".
    folder: String,
    /// Where the path leads, when its text says otherwise (`..`, links); else empty.
    via: String,
}

/// The first folder a run writes into that `path` lies inside once `..` and symbolic
/// links are resolved: the run directory, each stage folder (which may be a link to
/// elsewhere), the research extract's folder, and the report folder.
fn output_folder_holding(pipeline: &Pipeline, path: &Path) -> Option<Inside> {
    let output = &pipeline.config.output;
    let mut folders = vec![
        ("the run directory".to_owned(), output.clone()),
        ("the report folder".to_owned(), pipeline.report_dir()),
    ];
    for stage in Stage::ALL {
        let dir = output.join(stage.dir_name());
        folders.push((format!("the stage folder `{}`", stage.dir_name()), dir));
    }
    let extract = crate::run_dir::RunDir::new(pipeline).extract();
    folders.push(("the research extract's folder".to_owned(), extract));
    let target = resolved(path);
    let (what, dir) = folders.into_iter().find(|(_, dir)| target.starts_with(resolved(dir)))?;
    let via = if std::path::absolute(path).is_ok_and(|p| p == target) {
        String::new()
    } else {
        format!(" (`{}` leads to `{}`)", path.display(), target.display())
    };
    Some(Inside { folder: format!("{what} `{}`", dir.display()), via })
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

/// Refuse a link table path inside any folder the run writes (the run directory, its
/// stage folders, the report folder — after `..` and symbolic links are resolved), or
/// where a file (or a link) already is: checked before a run starts, so a mistake costs
/// no work.
pub fn check_link_table_path(pipeline: &Pipeline, path: &Path) -> Result<(), PipelineError> {
    if let Some(inside) = output_folder_holding(pipeline, path) {
        return Err(key_error(
            path,
            format!(
                "the link table would lie inside {}{}; write it where the data controller keeps it, apart from the run and report folders",
                inside.folder, inside.via
            ),
        ));
    }
    if path.symlink_metadata().is_ok() {
        return Err(key_error(
            path,
            "a file is already there; folge never overwrites a link table",
        ));
    }
    Ok(())
}

/// Write the link table (koblingsnøkkel): each participant's national id and pseudonym,
/// `person_id;pid`, mode 0600, never over an existing file and never inside a folder the
/// run writes — it is for the data controller to keep apart from the data. Reads
/// `01_ingest/participants.parquet` and the pipeline's key. Returns the rows written.
pub fn write_link_table(pipeline: &Pipeline, path: &Path) -> Result<usize, PipelineError> {
    check_link_table_path(pipeline, path)?;
    let key = resolve_key(pipeline)?;
    let participants_file = crate::run_dir::RunDir::new(pipeline)
        .table::<folge_schema::tables::Participant>(Stage::Ingest);
    if !participants_file.exists() {
        return Err(PipelineError::MissingStageOutput {
            stage: "deid",
            needs: "ingest",
            path: participants_file,
        });
    }
    let participants = folge_schema::tables::Participant::from_batches(
        &crate::parquet_io::read_parquet(&participants_file)?.batches,
    )?;
    let mut text = String::from("person_id;pid\n");
    for p in &participants {
        text.push_str(&p.person_id);
        text.push(';');
        text.push_str(&key.pseudonym(&p.person_id).to_string());
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
    let key = Key::generate().map_err(|e| PipelineError::stage_failed("keygen", e))?;
    let mut file = create_private(path, "a key (keys lost are pseudonyms lost)")?;
    std::io::Write::write_all(&mut file, format!("{}\n", key.to_hex()).as_bytes())
        .map_err(|e| PipelineError::io(path, e))?;
    file.sync_all().map_err(|e| PipelineError::io(path, e))?;
    Ok(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A pipeline in `dir` with its run directory `dir/run` and report folder
    /// `dir/report` (neither created).
    fn pipeline(dir: &Path) -> Pipeline {
        let text = "name = \"t\"\noutput = \"run\"\ndata_end = 2021-12-31\n[inputs.participants]\npath = \"p.csv\"\n[report]\ndir = \"report\"\n";
        Pipeline::parse(&dir.join("t.toml"), text).unwrap()
    }

    #[cfg(unix)]
    fn private(path: &Path) {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).unwrap();
    }

    #[test]
    fn keygen_writes_private_file_and_refuses_overwrite() {
        let dir = tempfile::tempdir().unwrap();
        let p = pipeline(dir.path());
        std::fs::create_dir(dir.path().join("run")).unwrap();
        let path = dir.path().join("k.key");
        let key = write_key_file(&path).unwrap();
        let back = read_key_file(&path, &p).unwrap();
        assert_eq!(back.fingerprint(), key.fingerprint());
        assert!(write_key_file(&path).unwrap_err().to_string().contains("never overwrites"));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
            let err = read_key_file(&path, &p).unwrap_err().to_string();
            assert!(err.contains("readable by others (mode 644)"), "{err}");
        }
        let inside = dir.path().join("run/k.key");
        write_key_file(&inside).unwrap();
        let err = read_key_file(&inside, &p).unwrap_err().to_string();
        assert!(err.contains("inside the run directory"), "{err}");
        let short = dir.path().join("short.key");
        std::fs::write(&short, "abcd").unwrap();
        #[cfg(unix)]
        private(&short);
        assert!(read_key_file(&short, &p).unwrap_err().to_string().contains("16 bits"));
    }

    #[test]
    fn a_key_file_in_the_report_folder_or_with_weak_or_demo_bytes() {
        let dir = tempfile::tempdir().unwrap();
        let p = pipeline(dir.path());
        std::fs::create_dir(dir.path().join("report")).unwrap();
        let in_report = dir.path().join("report/k.key");
        write_key_file(&in_report).unwrap();
        let err = read_key_file(&in_report, &p).unwrap_err().to_string();
        assert!(
            err.ends_with(&format!(
                "the key file lies inside the report folder `{}`; move it elsewhere so data and key are kept apart",
                dir.path().join("report").display()
            )),
            "{err}"
        );
        let zero = dir.path().join("zero.key");
        std::fs::write(&zero, "00".repeat(32)).unwrap();
        #[cfg(unix)]
        private(&zero);
        let err = read_key_file(&zero, &p).unwrap_err().to_string();
        assert!(err.contains("the key is not random: all its 32 bytes are the same"), "{err}");
        let demo = dir.path().join("demo.key");
        std::fs::write(&demo, Key::demo().to_hex()).unwrap();
        #[cfg(unix)]
        private(&demo);
        assert!(read_key_file(&demo, &p).unwrap().is_demo(), "the demo key by its bytes");
    }

    #[test]
    fn paths_are_resolved_through_dot_dot_and_links() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().canonicalize().unwrap();
        std::fs::create_dir_all(root.join("a/b")).unwrap();
        assert_eq!(resolved(&root.join("a/b/../x/./y.csv")), root.join("a/x/y.csv"));
        assert_eq!(resolved(&root.join("a/missing/../../z.csv")), root.join("z.csv"));
        #[cfg(unix)]
        {
            std::os::unix::fs::symlink(root.join("a/b"), root.join("link")).unwrap();
            assert_eq!(resolved(&root.join("link/f.csv")), root.join("a/b/f.csv"));
            // `..` after a link leaves the link's target, as the filesystem does.
            assert_eq!(resolved(&root.join("link/../f.csv")), root.join("a/f.csv"));
            // A dangling link is followed to where the file would be created.
            std::os::unix::fs::symlink(root.join("a/b/new.csv"), root.join("dangling")).unwrap();
            assert_eq!(resolved(&root.join("dangling")), root.join("a/b/new.csv"));
            // So is a link to a folder that does not exist yet, and a relative link.
            std::os::unix::fs::symlink(root.join("later"), root.join("soon")).unwrap();
            assert_eq!(resolved(&root.join("soon/f.csv")), root.join("later/f.csv"));
            std::os::unix::fs::symlink("../b/../x", root.join("a/b/rel")).unwrap();
            assert_eq!(resolved(&root.join("a/b/rel/f.csv")), root.join("a/x/f.csv"));
        }
    }

    #[test]
    fn the_link_table_is_refused_in_every_output_folder() {
        let dir = tempfile::tempdir().unwrap();
        let p = pipeline(dir.path());
        let report = dir.path().join("report");
        std::fs::create_dir_all(&report).unwrap();
        std::fs::create_dir_all(dir.path().join("x")).unwrap();
        let refusal = |path: &Path| check_link_table_path(&p, path).unwrap_err().to_string();
        let via_dot_dot = dir.path().join("x/../report/link.csv");
        let err = refusal(&via_dot_dot);
        assert!(
            err.contains(&format!(
                "the link table would lie inside the report folder `{}`",
                report.display()
            )) && err.ends_with(
                "write it where the data controller keeps it, apart from the run and report folders"
            ),
            "{err}"
        );
        // The run directory is refused before it exists, and so is a stage folder.
        assert!(refusal(&dir.path().join("run/links.csv")).contains("inside the run directory"));
        assert!(check_link_table_path(&p, &dir.path().join("x/links.csv")).is_ok());
        #[cfg(unix)]
        {
            let link = dir.path().join("to-report");
            std::os::unix::fs::symlink(&report, &link).unwrap();
            let err = refusal(&link.join("links.csv"));
            assert!(err.contains("inside the report folder") && err.contains("leads to"), "{err}");
            // A stage folder that is a link elsewhere is an output folder all the same.
            let elsewhere = dir.path().join("secure/ingest");
            std::fs::create_dir_all(&elsewhere).unwrap();
            std::fs::create_dir_all(dir.path().join("run")).unwrap();
            std::os::unix::fs::symlink(&elsewhere, dir.path().join("run/01_ingest")).unwrap();
            let err = refusal(&elsewhere.join("links.csv"));
            assert!(err.contains("inside the stage folder `01_ingest`"), "{err}");
            // A link where the table would go is a file already there.
            let dangling = dir.path().join("x/dangling.csv");
            std::os::unix::fs::symlink(dir.path().join("x/nowhere.csv"), &dangling).unwrap();
            assert!(refusal(&dangling).contains("never overwrites a link table"));
        }
    }
}

//! The run directory's catalog (as Kedro's `catalog.yml` is a project's): every stage's
//! folder, every table's file — named by its `table!` definition (`Table::NAME`), never by
//! a literal in a stage driver —, the stage records, the manifest and the report folder.
//!
//! ```text
//! <output>/01_ingest/<table>.parquet, stage.json
//! <output>/02_deid/<table>.parquet, risk_report.json, extract/, stage.json
//! <output>/03_analyze/<table>.parquet, stage.json
//! <output>/manifest.json
//! <report dir>/   (default <output>/04_report)
//! ```
//!
//! A stage is published all or nothing: it writes into a staging folder beside its own
//! (`.02_deid.staging-<pid>`), and only once it has finished and passed its checks are the
//! stages after it retired (their outputs were made from the folder being replaced;
//! latest first: each renamed to `.03_analyze.retired-<pid>`, then deleted) and the new
//! folder swapped in: the old one renamed away (`.02_deid.old-<pid>`), the new one renamed
//! in, the old one deleted. A reader sees the old complete folder, none, or the new
//! complete folder, and the present stages always form a chain, each made from the one
//! before. When the next run starts ([`RunDir::clean_leftovers`]), a run killed between the
//! two renames has its old folder renamed back — it is complete, and made from the stages
//! before it, which the swap did not touch —, and everything else a killed run left beside
//! the folders goes (a retired folder is never restored: a kill may have cut its deletion
//! short).

use std::path::{Path, PathBuf};

use folge_schema::Table;

use crate::lock::{self, RunLock};
use crate::stages::{Stage, create_dir};
use crate::{Pipeline, PipelineError, StageRecord};

/// A stage's record, in its folder.
pub(crate) const RECORD: &str = "stage.json";
/// The run's manifest, in the run directory (and copies beside the report and extract).
pub(crate) const MANIFEST: &str = "manifest.json";
/// The research extract's folder, in `02_deid/`.
pub(crate) const EXTRACT: &str = "extract";
/// Deid's disclosure-risk report, in `02_deid/` (and the extract's, in `extract/`).
pub(crate) const RISK_REPORT: &str = "risk_report.json";
/// `folge export`'s folder in the run directory: one folder per format inside.
pub(crate) const EXPORT: &str = "export";
/// The report printed by `folge report --pdf`, beside the report it was printed from (a
/// new report does not keep it).
const REPORT_PDF: &str = "report.pdf";

impl Stage {
    /// The stage's folder in the run directory (the report's only by default).
    pub(crate) fn dir_name(self) -> &'static str {
        match self {
            Stage::Ingest => "01_ingest",
            Stage::Deid => "02_deid",
            Stage::Analyze => "03_analyze",
            Stage::Report => "04_report",
        }
    }
}

/// The file a table is stored in: `<Table::NAME>.parquet`.
pub(crate) fn parquet<T: Table>() -> String {
    format!("{}.parquet", T::NAME)
}

/// How records and messages name a file of a stage: `02_deid/participants.parquet`
/// (the report's files relative to the report folder).
pub(crate) fn shown(stage: Stage, file: &str) -> String {
    match stage {
        Stage::Report => file.to_owned(),
        _ => format!("{}/{file}", stage.dir_name()),
    }
}

/// Where one pipeline's run writes.
#[derive(Debug, Clone)]
pub(crate) struct RunDir {
    output: PathBuf,
    report: PathBuf,
}

impl RunDir {
    pub(crate) fn new(pipeline: &Pipeline) -> Self {
        RunDir { output: pipeline.config.output.clone(), report: pipeline.report_dir() }
    }

    /// A stage's folder as readers see it (the report folder for the report).
    pub(crate) fn stage(&self, stage: Stage) -> PathBuf {
        match stage {
            Stage::Report => self.report.clone(),
            _ => self.output.join(stage.dir_name()),
        }
    }

    /// A stage's record.
    pub(crate) fn record(&self, stage: Stage) -> PathBuf {
        self.stage(stage).join(RECORD)
    }

    /// A file a record of `stage` names (relative to the run directory, or to the report
    /// folder for the report's).
    pub(crate) fn recorded(&self, stage: Stage, path: &str) -> PathBuf {
        match stage {
            Stage::Report => self.report.join(path),
            _ => self.output.join(path),
        }
    }

    /// The file of table `T` written by `stage`.
    pub(crate) fn table<T: Table>(&self, stage: Stage) -> PathBuf {
        self.stage(stage).join(parquet::<T>())
    }

    /// The run's manifest.
    pub(crate) fn manifest(&self) -> PathBuf {
        self.output.join(MANIFEST)
    }

    /// The research extract's folder.
    pub(crate) fn extract(&self) -> PathBuf {
        self.stage(Stage::Deid).join(EXTRACT)
    }

    /// `folge export`'s folder.
    pub(crate) fn export(&self) -> PathBuf {
        self.output.join(EXPORT)
    }

    /// A fresh, empty staging folder for the export folder `folder` (`stata`, `spss`)
    /// beside it, removed when dropped unless published.
    pub(crate) fn begin_export(&self, folder: &str) -> Result<Staging, PipelineError> {
        let target = self.export().join(folder);
        let dir = beside(&target, STAGING);
        create_dir(&self.export(), false)?;
        if dir.exists() {
            std::fs::remove_dir_all(&dir).map_err(|e| PipelineError::io(&dir, e))?;
        }
        create_dir(&dir, false)?;
        Ok(Staging { dir, target, report: false, published: false })
    }

    /// Lock the run directory, then the report folder (always in this order), for as long
    /// as the locks are held: a second run is refused, naming the process that holds them.
    pub(crate) fn lock(&self) -> Result<[RunLock; 2], PipelineError> {
        let run = lock::acquire(
            &lock::run_lock_path(&self.output),
            &format!("the run directory `{}`", self.output.display()),
        )?;
        let report = lock::acquire(
            &lock::report_lock_path(&self.report),
            &format!("the report folder `{}`", self.report.display()),
        )?;
        Ok([run, report])
    }

    /// A fresh, empty staging folder for `stage` beside its folder (mode 0700 for
    /// ingest's), removed when dropped unless published.
    pub(crate) fn begin(&self, stage: Stage) -> Result<Staging, PipelineError> {
        let target = resolved(&self.stage(stage));
        let dir = beside(&target, STAGING);
        if let Some(parent) = target.parent().filter(|p| !p.as_os_str().is_empty()) {
            create_dir(parent, false)?;
        }
        if dir.exists() {
            std::fs::remove_dir_all(&dir).map_err(|e| PipelineError::io(&dir, e))?;
        }
        create_dir(&dir, stage == Stage::Ingest)?;
        tracing::debug!("{}: staging in {}", stage.name(), dir.display());
        Ok(Staging { dir, target, report: stage == Stage::Report, published: false })
    }

    /// Publish `staging` as `stage`'s folder: the stages after it are retired first
    /// (latest first, the run's manifest with them), then the folder is swapped in.
    pub(crate) fn publish(&self, stage: Stage, staging: Staging) -> Result<(), PipelineError> {
        for later in Stage::ALL.into_iter().rev().filter(|s| *s > stage) {
            self.retire(later)?;
        }
        // Exports are made from 02_deid and 03_analyze: they go with them.
        if stage < Stage::Report {
            self.retire_export()?;
        }
        remove_if_there(&self.manifest())?;
        tracing::debug!(
            "{}: swapping the staged folder in as {}",
            stage.name(),
            staging.target.display()
        );
        staging.swap()
    }

    /// Retire a stage's outputs: its folder goes; the report folder is replaced by one
    /// that keeps only the files folge did not write there.
    fn retire(&self, stage: Stage) -> Result<(), PipelineError> {
        let target = resolved(&self.stage(stage));
        if stage == Stage::Report {
            // A folder without a record holds no report of folge's.
            if !target.join(RECORD).exists() {
                return Ok(());
            }
            return self.begin(Stage::Report)?.swap();
        }
        if !target.exists() {
            return Ok(());
        }
        // Not `old`: a retired folder is never restored (see `restore_interrupted_swaps`).
        let retired = beside(&target, RETIRED);
        std::fs::rename(&target, &retired).map_err(|e| PipelineError::io(&target, e))?;
        std::fs::remove_dir_all(&retired).map_err(|e| PipelineError::io(&retired, e))
    }

    /// Remove `folge export`'s folder (renamed away first, as a retired stage is).
    fn retire_export(&self) -> Result<(), PipelineError> {
        let target = self.export();
        if !target.exists() {
            return Ok(());
        }
        let retired = beside(&target, RETIRED);
        std::fs::rename(&target, &retired).map_err(|e| PipelineError::io(&target, e))?;
        std::fs::remove_dir_all(&retired).map_err(|e| PipelineError::io(&retired, e))
    }

    /// Put back the folder of a stage whose swap was cut short between its two renames (a
    /// run killed there): the stage folder is missing and its old folder lies beside it,
    /// complete (it is deleted only once the new one is in) and made from the stages before
    /// it (a swap touches no other stage; the ones after it were retired first). With more
    /// than one old folder (runs killed there twice, which the restore rules out), none is
    /// chosen: the stage is then missing, as the issue allows, and they are removed.
    fn restore_interrupted_swaps(&self, own: &str) {
        for stage in Stage::ALL {
            let target = resolved(&self.stage(stage));
            let (Some(parent), Some(name)) = (target.parent(), target.file_name()) else {
                continue;
            };
            if std::fs::symlink_metadata(&target).is_ok() {
                continue;
            }
            let name = name.to_string_lossy();
            let old: Vec<String> = entries(parent)
                .into_iter()
                .filter(|e| {
                    swap_leftover(e, &name).is_some_and(|(what, pid)| what == OLD && pid != own)
                })
                .collect();
            let [old] = old.as_slice() else {
                continue;
            };
            let old = parent.join(old);
            match std::fs::rename(&old, &target) {
                Ok(()) => tracing::info!(
                    "`{}` was missing: a run was stopped while swapping in a new one; the previous one (`{}`) is restored",
                    target.display(),
                    old.display()
                ),
                Err(e) => tracing::warn!(
                    "`{}` is missing and the previous one (`{}`) could not be restored ({e}); it is removed",
                    target.display(),
                    old.display()
                ),
            }
        }
    }

    /// Recover from killed or failed runs: first a stage folder whose swap was cut short
    /// between its two renames is restored from its old folder
    /// (`restore_interrupted_swaps`); then what such runs left is removed: staging, old
    /// and retired folders beside each stage folder and the report folder, temporary files
    /// of atomic writes (`.<file>.tmp-<pid>`) in the run directory, the stage folders, the
    /// extract and the report folder, and part folders (`.parts-…`) in the stage folders.
    /// Called with the run directory locked, before anything else, so none of them belongs
    /// to a live run.
    pub(crate) fn clean_leftovers(&self) {
        let own = std::process::id().to_string();
        self.restore_interrupted_swaps(&own);
        let remove = |path: &Path| {
            let gone = if path.is_dir() {
                std::fs::remove_dir_all(path)
            } else {
                std::fs::remove_file(path)
            };
            if gone.is_ok() {
                tracing::info!("removed `{}`, left by a run that did not finish", path.display());
            }
        };
        let mut folders = vec![self.output.clone(), self.extract(), self.export()];
        // An export cut short is not put back: it is made again by `folge export`.
        let export_leftovers = [(self.output.clone(), EXPORT)].into_iter().chain(
            folge_readstat::Format::ALL.map(|f| (self.export(), crate::export::format_folder(f))),
        );
        for (parent, name) in export_leftovers {
            for entry in entries(&parent) {
                if swap_leftover(&entry, name).is_some_and(|(_, pid)| pid != own) {
                    remove(&parent.join(&entry));
                }
            }
        }
        for stage in Stage::ALL {
            let target = resolved(&self.stage(stage));
            let (Some(parent), Some(name)) = (target.parent(), target.file_name()) else {
                continue;
            };
            let name = name.to_string_lossy();
            for entry in entries(parent) {
                if swap_leftover(&entry, &name).is_some_and(|(_, pid)| pid != own) {
                    remove(&parent.join(&entry));
                }
            }
            folders.push(target);
        }
        while let Some(folder) = folders.pop() {
            for entry in entries(&folder) {
                let path = folder.join(&entry);
                let temporary = entry.rsplit_once(".tmp-").is_some_and(|(_, pid)| pid != own)
                    && entry.starts_with('.');
                if temporary || entry.starts_with(".parts-") {
                    remove(&path);
                } else if std::fs::symlink_metadata(&path).is_ok_and(|m| m.is_dir()) {
                    // The report's `tables/` and `figures/`.
                    folders.push(path);
                }
            }
        }
    }
}

/// The names in a folder (none when it cannot be read).
fn entries(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .map(|d| d.flatten().map(|e| e.file_name().to_string_lossy().into_owned()).collect())
        .unwrap_or_default()
}

/// A stage's new folder while it is written: `.<folder>.staging-<pid>`.
const STAGING: &str = "staging";
/// A stage's previous folder while the new one is swapped in: `.<folder>.old-<pid>`.
const OLD: &str = "old";
/// A later stage's folder on its way out: `.<folder>.retired-<pid>`.
const RETIRED: &str = "retired";

/// What `entry` is beside `folder` (staging, old or retired) and the process id it
/// names: `.<folder>.<what>-<pid>`.
fn swap_leftover<'a>(entry: &'a str, folder: &str) -> Option<(&'static str, &'a str)> {
    let rest = entry.strip_prefix('.')?.strip_prefix(folder)?.strip_prefix('.')?;
    [STAGING, OLD, RETIRED].into_iter().find_map(|what| {
        let pid = rest.strip_prefix(what)?.strip_prefix('-')?;
        (!pid.is_empty() && pid.bytes().all(|b| b.is_ascii_digit())).then_some((what, pid))
    })
}

fn remove_if_there(path: &Path) -> Result<(), PipelineError> {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(PipelineError::io(path, e)),
        _ => Ok(()),
    }
}

/// `dir` itself, or where it leads when it is a symbolic link: a stage folder may be a
/// link to a secure area elsewhere, and is swapped there, the link kept. A link left
/// dangling (its folder renamed away by a swap cut short) leads where it points.
fn resolved(dir: &Path) -> PathBuf {
    match std::fs::symlink_metadata(dir) {
        Ok(m) if m.file_type().is_symlink() => std::fs::canonicalize(dir).unwrap_or_else(|_| {
            std::fs::read_link(dir).map_or_else(
                |_| dir.to_owned(),
                |to| dir.parent().map_or_else(|| to.clone(), |parent| parent.join(&to)),
            )
        }),
        _ => dir.to_owned(),
    }
}

/// `.<name>.<what>-<pid>` beside `dir`: a folder of this process that readers never open.
fn beside(dir: &Path, what: &str) -> PathBuf {
    beside_of(dir, what, std::process::id())
}

/// `.<name>.<what>-<pid>` beside `dir`, for process `pid`.
fn beside_of(dir: &Path, what: &str, pid: u32) -> PathBuf {
    let name = dir.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    dir.with_file_name(format!(".{name}.{what}-{pid}"))
}

/// A stage's new folder while the stage writes into it; removed when dropped unless it
/// was published, so a failed stage leaves the previous folder as it was.
pub(crate) struct Staging {
    dir: PathBuf,
    target: PathBuf,
    report: bool,
    published: bool,
}

impl Drop for Staging {
    fn drop(&mut self) {
        if !self.published {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

impl Staging {
    /// Swap a staged export folder in, as a stage's is (a stage's goes through
    /// [`RunDir::publish`], which retires the stages after it first).
    pub(crate) fn publish_export(self) -> Result<(), PipelineError> {
        self.swap()
    }

    /// Where the stage writes.
    pub(crate) fn path(&self) -> &Path {
        &self.dir
    }

    /// Swap the staging folder in: the old folder renamed away, the new one renamed in,
    /// the old one deleted. A report folder keeps the files folge did not write there.
    /// Killed between the two renames, the stage has no folder; the next run renames the
    /// old one back ([`RunDir::clean_leftovers`]).
    fn swap(mut self) -> Result<(), PipelineError> {
        let had = std::fs::symlink_metadata(&self.target).is_ok();
        if self.report && had {
            carry_foreign(&self.target, &self.dir)?;
        }
        let old = beside(&self.target, OLD);
        if had {
            std::fs::rename(&self.target, &old).map_err(|e| PipelineError::io(&self.target, e))?;
        }
        if let Err(e) = std::fs::rename(&self.dir, &self.target) {
            if had {
                let _ = std::fs::rename(&old, &self.target);
            }
            return Err(PipelineError::io(&self.target, e));
        }
        self.published = true;
        if had && let Err(e) = std::fs::remove_dir_all(&old) {
            tracing::warn!("could not remove `{}` ({e}); the next run removes it", old.display());
        }
        // Best effort: the renames reach the disk before the stage is reported done.
        if let Some(parent) = self.target.parent()
            && let Ok(folder) = std::fs::File::open(parent)
        {
            let _ = folder.sync_all();
        }
        Ok(())
    }
}

/// Link (or copy) into `to` the files of the report folder `from` that folge did not
/// write: not listed in its record, not the record, the manifest, the printed report or
/// a temporary file. Nothing a user put beside a report is lost when it is replaced.
fn carry_foreign(from: &Path, to: &Path) -> Result<(), PipelineError> {
    let listed: Vec<String> = std::fs::read_to_string(from.join(RECORD))
        .ok()
        .and_then(|text| serde_json::from_str::<StageRecord>(&text).ok())
        .map(|r| r.outputs.into_iter().map(|o| o.path).collect())
        .unwrap_or_default();
    let mut stack = vec![PathBuf::new()];
    while let Some(relative) = stack.pop() {
        for entry in entries(&from.join(&relative)) {
            let path = relative.join(&entry);
            let shown = path.to_string_lossy().replace('\\', "/");
            let source = from.join(&path);
            if [RECORD, MANIFEST, REPORT_PDF].contains(&shown.as_str())
                || listed.contains(&shown)
                || (entry.starts_with('.') && entry.contains(".tmp-"))
            {
                continue;
            }
            let target = to.join(&path);
            if source.is_dir() {
                stack.push(path);
            } else if !target.exists() {
                if let Some(parent) = target.parent() {
                    create_dir(parent, false)?;
                }
                std::fs::hard_link(&source, &target)
                    .or_else(|_| std::fs::copy(&source, &target).map(|_| ()))
                    .map_err(|e| PipelineError::io(&source, e))?;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use folge_deid::rows::DeidParticipant;
    use folge_schema::tables::{Participant, RateRow};

    fn pipeline(dir: &Path) -> Pipeline {
        Pipeline::parse(
            &dir.join("t.toml"),
            "name = \"t\"\noutput = \"run\"\ndata_end = \"2021-12-31\"\n[inputs.participants]\npath = \"p.csv\"\n",
        )
        .unwrap()
    }

    /// A folder holding `files` (name, text).
    fn folder(dir: &Path, files: &[(&str, &str)]) {
        std::fs::create_dir_all(dir).unwrap();
        for (name, text) in files {
            std::fs::write(dir.join(name), text).unwrap();
        }
    }

    /// The files of `dir` and their text, sorted (none when it is not there).
    fn contents(dir: &Path) -> Vec<(String, String)> {
        let mut files: Vec<(String, String)> = entries(dir)
            .into_iter()
            .map(|name| {
                let text = std::fs::read_to_string(dir.join(&name)).unwrap_or_default();
                (name, text)
            })
            .collect();
        files.sort();
        files
    }

    /// The state `folge run` leaves when killed between the two renames of publishing
    /// `02_deid` again (`Staging::swap`): the stages after it retired (`03_analyze`'s deletion
    /// cut short), `02_deid` renamed away, its new folder not yet renamed in. The next run
    /// puts the old `02_deid` back before anything else and removes the rest.
    #[test]
    fn a_swap_killed_between_its_renames_is_undone_by_the_next_run() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = RunDir::new(&pipeline(tmp.path()));
        let killed = std::process::id() + 1;
        let ingest = dir.stage(Stage::Ingest);
        let deid = dir.stage(Stage::Deid);
        let analyze = dir.stage(Stage::Analyze);
        folder(&ingest, &[(RECORD, "ingest"), ("participants.parquet", "i")]);
        let previous = [("participants.parquet", "old"), (RECORD, "deid, made from ingest")];
        folder(&beside_of(&deid, OLD, killed), &previous);
        folder(
            &beside_of(&deid, STAGING, killed),
            &[(RECORD, "deid, new"), ("participants.parquet", "new")],
        );
        folder(&beside_of(&analyze, RETIRED, killed), &[("rates.parquet", "half deleted")]);
        assert!(!deid.exists() && !analyze.exists());

        dir.clean_leftovers();
        let expected: Vec<(String, String)> =
            previous.iter().map(|(n, t)| ((*n).to_owned(), (*t).to_owned())).collect();
        assert_eq!(contents(&deid), expected, "the previous 02_deid is back, whole");
        assert!(!analyze.exists(), "a retired folder is never restored");
        let mut left = entries(&dir.output);
        left.sort();
        assert_eq!(left, ["01_ingest", "02_deid"], "nothing else is left");
        assert_eq!(contents(&ingest).len(), 2, "earlier stages are not touched");

        // Killed after the second rename: the new folder is in, the old one goes.
        folder(&beside_of(&deid, OLD, killed), &[("participants.parquet", "older")]);
        dir.clean_leftovers();
        assert_eq!(contents(&deid), expected);
        let mut left = entries(&dir.output);
        left.sort();
        assert_eq!(left, ["01_ingest", "02_deid"]);
    }

    /// The report folder is swapped the same way, also when retired (its foreign files
    /// kept): cut short between the renames, the previous report comes back.
    #[test]
    fn a_report_swap_killed_between_its_renames_is_undone() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = RunDir::new(&pipeline(tmp.path()));
        let report = dir.stage(Stage::Report);
        let dead = std::process::id() + 1;
        folder(&beside_of(&report, OLD, dead), &[(RECORD, "report"), ("index.html", "old")]);
        folder(&beside_of(&report, STAGING, dead), &[("notes.txt", "a user's")]);
        dir.clean_leftovers();
        assert_eq!(
            contents(&report),
            [("index.html", "old"), (RECORD, "report")]
                .map(|(n, t)| (n.to_owned(), t.to_owned()))
                .to_vec()
        );
        assert_eq!(entries(report.parent().unwrap()), ["04_report"]);
    }

    /// A stage folder that is a link to a secure area is swapped where the link leads:
    /// cut short, the link dangles, and the old folder is found and put back there.
    #[test]
    fn a_linked_stage_folder_is_restored_where_the_link_leads() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = RunDir::new(&pipeline(tmp.path()));
        let secure = tmp.path().join("secure/ingest");
        std::fs::create_dir_all(&dir.output).unwrap();
        std::os::unix::fs::symlink(&secure, dir.stage(Stage::Ingest)).unwrap();
        let dead = std::process::id() + 1;
        folder(&beside_of(&secure, OLD, dead), &[(RECORD, "ingest")]);
        dir.clean_leftovers();
        assert_eq!(contents(&dir.stage(Stage::Ingest)), [(RECORD.to_owned(), "ingest".to_owned())]);
        assert_eq!(entries(&tmp.path().join("secure")), ["ingest"]);
    }

    #[test]
    fn leftovers_are_known_by_their_names() {
        assert_eq!(swap_leftover(".02_deid.old-12", "02_deid"), Some((OLD, "12")));
        assert_eq!(swap_leftover(".02_deid.staging-7", "02_deid"), Some((STAGING, "7")));
        assert_eq!(swap_leftover(".02_deid.retired-7", "02_deid"), Some((RETIRED, "7")));
        for other in [".02_deid.old-", ".02_deid.old-1x", "02_deid.old-1", ".03_analyze.old-1"] {
            assert_eq!(swap_leftover(other, "02_deid"), None, "{other}");
        }
    }

    #[test]
    fn files_are_named_by_their_table_definitions() {
        let pipeline = crate::Pipeline::parse(
            Path::new("/p/t.toml"),
            "name = \"t\"\noutput = \"run\"\ndata_end = \"2021-12-31\"\n[inputs.participants]\npath = \"p.csv\"\n",
        )
        .unwrap();
        let dir = RunDir::new(&pipeline);
        assert_eq!(
            dir.table::<Participant>(Stage::Ingest),
            Path::new("/p/run/01_ingest/participants.parquet")
        );
        assert_eq!(
            dir.table::<DeidParticipant>(Stage::Deid),
            Path::new("/p/run/02_deid/participants.parquet")
        );
        assert_eq!(
            dir.table::<RateRow>(Stage::Analyze),
            Path::new("/p/run/03_analyze/rates.parquet")
        );
        assert_eq!(dir.record(Stage::Report), Path::new("/p/run/04_report/stage.json"));
        assert_eq!(
            shown(Stage::Deid, &parquet::<DeidParticipant>()),
            "02_deid/participants.parquet"
        );
        assert_eq!(shown(Stage::Report, "index.html"), "index.html");
    }

    /// An export is swapped in whole, what a killed export left goes with the next run,
    /// and publishing deid (or analyze) again takes the export away with the stages after.
    #[test]
    fn exports_are_swapped_in_cleaned_up_and_retired_with_their_stages() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = RunDir::new(&pipeline(tmp.path()));
        let staging = dir.begin_export("stata").unwrap();
        folder(staging.path(), &[("rates.dta", "new")]);
        staging.publish_export().unwrap();
        assert_eq!(contents(&dir.export().join("stata")), [("rates.dta".into(), "new".into())]);
        // Dropped unpublished: nothing of it stays, the published one is untouched.
        let staging = dir.begin_export("stata").unwrap();
        folder(staging.path(), &[("rates.dta", "half")]);
        drop(staging);
        assert_eq!(entries(&dir.export()), ["stata"]);
        let dead = std::process::id() + 1;
        folder(&beside_of(&dir.export().join("spss"), STAGING, dead), &[("a.sav", "x")]);
        folder(&beside_of(&dir.export(), RETIRED, dead), &[("b", "x")]);
        dir.clean_leftovers();
        assert_eq!(entries(&dir.export()), ["stata"]);
        assert_eq!(entries(&dir.output), ["export"]);
        let new_deid = dir.begin(Stage::Deid).unwrap();
        dir.publish(Stage::Deid, new_deid).unwrap();
        assert!(!dir.export().exists(), "an export of the old 02_deid is gone");
        assert!(dir.stage(Stage::Deid).exists());
    }
}

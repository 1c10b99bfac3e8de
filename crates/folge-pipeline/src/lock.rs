//! One run at a time: an advisory lock on the run directory and one on the report folder,
//! each an operating-system lock (`std::fs::File::try_lock`: `flock` on Unix) on a small
//! file that names the process holding it. The system lets go of the lock when that
//! process ends, `kill -9` included, so a lock left by a dead process is taken over by the
//! next run (which says so); a live holder is named, and the second run stops (exit 2).
//!
//! The lock files stay (`<output>/.folge.lock`, `.<report folder>.lock` beside the report
//! folder), empty when no run holds them: removing a lock file would let two runs lock two
//! different files.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};

use tracing::info;

use crate::PipelineError;
use crate::stages::create_dir;

/// A held lock; let go of when dropped (the file is emptied first).
pub(crate) struct RunLock {
    file: File,
}

impl Drop for RunLock {
    fn drop(&mut self) {
        let _ = self.file.set_len(0);
    }
}

/// The lock file of the run directory `output`.
pub(crate) fn run_lock_path(output: &Path) -> PathBuf {
    output.join(".folge.lock")
}

/// The lock file of the report folder `report`, beside it (the folder itself is swapped
/// as a whole when a report is published).
pub(crate) fn report_lock_path(report: &Path) -> PathBuf {
    let name = report.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    report.with_file_name(format!(".{name}.lock"))
}

/// Whether process `pid` is alive (Linux: `/proc/<pid>` is there; elsewhere unknown, so
/// no).
fn alive(pid: u32) -> bool {
    Path::new("/proc").join(pid.to_string()).exists()
}

/// Take the lock in `path`, which guards `what` (a phrase naming the folder), or say
/// which process holds it.
pub(crate) fn acquire(path: &Path, what: &str) -> Result<RunLock, PipelineError> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        create_dir(parent, false)?;
    }
    let io = |e: std::io::Error| PipelineError::io(path, e);
    let mut file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)
        .map_err(io)?;
    let holder = |file: &mut File| -> Option<u32> {
        let mut text = String::new();
        file.rewind().ok()?;
        file.read_to_string(&mut text).ok()?;
        text.trim().parse().ok()
    };
    match file.try_lock() {
        Ok(()) => {}
        Err(TryLockError::WouldBlock) => {
            let holder = holder(&mut file);
            return Err(PipelineError::Busy { what: what.to_owned(), holder });
        }
        Err(TryLockError::Error(e)) => return Err(io(e)),
    }
    let own = std::process::id();
    if let Some(previous) = holder(&mut file).filter(|pid| *pid != own) {
        let state = if alive(previous) { "no longer holds it" } else { "has ended" };
        info!("{what} was locked by folge process {previous}, which {state}: lock taken over");
    }
    file.set_len(0).map_err(io)?;
    file.rewind().map_err(io)?;
    file.write_all(format!("{own}\n").as_bytes()).map_err(io)?;
    file.sync_all().map_err(io)?;
    Ok(RunLock { file })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_held_lock_names_its_holder_and_a_dead_holder_is_taken_over() {
        let dir = tempfile::tempdir().unwrap();
        let path = run_lock_path(dir.path());
        let held = acquire(&path, "the run directory").unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap().trim(), std::process::id().to_string());
        // A second open file description of the same file: refused while the first holds it.
        let err = acquire(&path, "the run directory").err().unwrap();
        assert_eq!(
            err.to_string(),
            format!(
                "the run directory is in use by folge process {}; wait for it to end (or stop it) and run again",
                std::process::id()
            )
        );
        assert!(err.is_config(), "exit 2");
        drop(held);
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "", "emptied when let go of");
        // A lock file naming a process that has ended, but not locked: taken over.
        std::fs::write(&path, "4194304\n").unwrap();
        let _again = acquire(&path, "the run directory").unwrap();
        assert_eq!(
            report_lock_path(Path::new("/r/reports/sample")),
            Path::new("/r/reports/.sample.lock")
        );
    }
}

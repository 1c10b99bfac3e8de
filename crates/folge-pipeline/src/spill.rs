//! Where the duplicate check of an event table sets its records aside when they outgrow
//! its budget (`folge_ingest::SpillStore`): one temporary file per input file, in a
//! temporary folder inside the stage folder (`.parts-duplicates-…`, which the run
//! directory's cleanup removes if a killed run left it), removed when the check is done,
//! on success and on error. Each partition is a list of stretches of the file, so the
//! file is only appended to, and a partition is read back by its stretches.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use folge_ingest::{PARTS, SinkError, SpillParts, SpillStore};

use crate::error::PipelineError;

/// Spills into temporary files inside `dir` (the stage's staging folder).
#[derive(Debug)]
pub(crate) struct SpillFolder {
    dir: PathBuf,
}

impl SpillFolder {
    pub(crate) fn new(dir: &Path) -> Self {
        SpillFolder { dir: dir.to_owned() }
    }
}

impl SpillStore for SpillFolder {
    fn open(&self) -> Result<Box<dyn SpillParts>, SinkError> {
        let folder = tempfile::Builder::new()
            .prefix(".parts-duplicates-")
            .tempdir_in(&self.dir)
            .map_err(|e| PipelineError::io(&self.dir, e))?;
        let path = folder.path().join("records");
        let file = File::options()
            .read(true)
            .write(true)
            .create_new(true)
            .open(&path)
            .map_err(|e| PipelineError::io(&path, e))?;
        Ok(Box::new(SpillFile { file, path, end: 0, stretches: vec![Vec::new(); PARTS], folder }))
    }
}

/// One input file's spilled partitions.
struct SpillFile {
    /// Closed before its folder is removed (fields drop in order).
    file: File,
    path: PathBuf,
    /// Bytes written.
    end: u64,
    /// Each partition's stretches of the file: where, and how many bytes.
    stretches: Vec<Vec<(u64, usize)>>,
    /// Removed with what is in it when dropped.
    folder: tempfile::TempDir,
}

impl SpillParts for SpillFile {
    fn append(&mut self, part: usize, records: &[u8]) -> Result<(), SinkError> {
        let io = |e| PipelineError::io(&self.path, e);
        self.file.seek(SeekFrom::Start(self.end)).map_err(io)?;
        self.file.write_all(records).map_err(io)?;
        self.stretches[part].push((self.end, records.len()));
        self.end += records.len() as u64;
        Ok(())
    }

    fn read(&mut self, part: usize, into: &mut Vec<u8>) -> Result<(), SinkError> {
        let io = |e| PipelineError::io(&self.path, e);
        for (at, len) in std::mem::take(&mut self.stretches[part]) {
            let start = into.len();
            into.resize(start + len, 0);
            self.file.seek(SeekFrom::Start(at)).map_err(io)?;
            self.file.read_exact(&mut into[start..]).map_err(io)?;
        }
        Ok(())
    }
}

impl Drop for SpillFile {
    fn drop(&mut self) {
        tracing::debug!(
            "duplicate check: {} MiB of records spilled to `{}`",
            self.end >> 20,
            self.folder.path().display()
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use folge_ingest::{CsvOptions, DuplicateRows, IdPolicy, PersonIndex, SpillOptions};
    use folge_schema::national_id::build;

    #[test]
    fn partitions_come_back_in_the_order_appended_and_the_folder_goes() {
        let dir = tempfile::tempdir().unwrap();
        let mut parts = SpillFolder::new(dir.path()).open().unwrap();
        parts.append(3, b"abc").unwrap();
        parts.append(0, b"xy").unwrap();
        parts.append(3, b"def").unwrap();
        let mut back = b"_".to_vec();
        parts.read(3, &mut back).unwrap();
        assert_eq!(back, b"_abcdef");
        let mut back = Vec::new();
        parts.read(0, &mut back).unwrap();
        parts.read(1, &mut back).unwrap();
        assert_eq!(back, b"xy");
        let entries = || std::fs::read_dir(dir.path()).unwrap().flatten().count();
        assert_eq!(entries(), 1, "the temporary folder while the parts are open");
        drop(parts);
        assert_eq!(entries(), 0, "removed when dropped");
        let gone = SpillFolder::new(&dir.path().join("missing")).open().err().unwrap();
        assert!(gone.to_string().contains("missing"), "{gone}");
    }

    /// A date-ordered delivery with copies far apart, read with a spill budget of a few
    /// records through temporary files, is found as without spilling.
    #[test]
    fn a_tiny_budget_spills_to_files_with_the_same_answer() {
        let date = chrono::NaiveDate::from_ymd_opt(1950, 3, 1).unwrap();
        let ids: Vec<String> = (0..300).filter_map(|i| build(date, i, 0, 80)).take(12).collect();
        let persons: PersonIndex = ids.iter().cloned().collect();
        let mut text = "person_id;service;start_date\n".to_owned();
        let mut rows = Vec::new();
        for day in 1..=20 {
            for (p, id) in ids.iter().enumerate() {
                rows.push(format!(
                    "{id};gp;{:02}.02.2020",
                    if (p + day) % 5 == 0 { 1 } else { day }
                ));
            }
        }
        for row in &rows {
            text.push_str(row);
            text.push('\n');
        }
        let dir = tempfile::tempdir().unwrap();
        let read = |spill: SpillOptions| {
            let options =
                CsvOptions { duplicate_rows: DuplicateRows::Keep, spill, ..CsvOptions::default() };
            let policy = IdPolicy { national: true, allow_synthetic: true };
            folge_ingest::stream_service_events(
                "e.csv",
                text.as_bytes(),
                &options,
                policy,
                &persons,
                &mut |_| Ok(()),
            )
            .unwrap()
        };
        let whole = read(SpillOptions::default());
        let store = std::sync::Arc::new(SpillFolder::new(dir.path()));
        let spilled = read(SpillOptions { budget: 3, store });
        assert_eq!(whole.warnings.len(), 1);
        assert!(
            whole.warnings[0].starts_with("e.csv: 46 rows are identical"),
            "{:?}",
            whole.warnings
        );
        assert_eq!(spilled.warnings, whole.warnings);
        assert_eq!(spilled.summary.rows_accepted, rows.len() as u64);
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0, "temporary files removed");
    }
}

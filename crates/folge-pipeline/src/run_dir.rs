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

use std::path::{Path, PathBuf};

use folge_schema::Table;

use crate::Pipeline;
use crate::run::Stage;

/// A stage's record, in its folder.
pub(crate) const RECORD: &str = "stage.json";
/// The run's manifest, in the run directory (and copies beside the report and extract).
pub(crate) const MANIFEST: &str = "manifest.json";
/// The research extract's folder, in `02_deid/`.
pub(crate) const EXTRACT: &str = "extract";
/// Deid's disclosure-risk report, in `02_deid/` (and the extract's, in `extract/`).
pub(crate) const RISK_REPORT: &str = "risk_report.json";

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
}

#[cfg(test)]
mod tests {
    use super::*;
    use folge_schema::tables::{DeidParticipant, Participant, RateRow};

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
}

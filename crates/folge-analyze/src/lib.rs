//! The analyze stage: service-use indicators per person × period (`indicators.parquet`) and
//! their rates per person-year by arm and period (`rates.parquet`), from de-identified
//! tables only (it takes [`folge_deid::Deidentified`], which nothing else can build).
//!
//! Definitions follow `shared/domain.md`: windows in whole days relative to inclusion
//! (`before` = −N..−1, `after` = 0..M−1); an event counts in the window where it starts;
//! exposure ends at exit (the exit day is observed) and at the end of data; inpatient
//! episodes that start on or before the day the running stay ended merge into one stay
//! (a transfer is not a readmission), acute if any episode is.
#![warn(missing_docs)]

mod adjustment;
mod comparisons;
mod event_time;
mod focus_groups;
mod framework;
mod indicators;
mod scales;
mod stays;
mod utilisation;

pub use adjustment::{ConfounderAdjustment, Covariate, Weighting};
pub use comparisons::{ClusterVariance, Comparison, CountModel, compare};
pub use event_time::{BIN_DAYS, BINS, BINS_BEFORE};
pub use focus_groups::{FocusGroupResults, focus_groups};
pub use framework::framework;
pub use indicators::{
    Analysis, AnalysisParams, Indicator, IndicatorBuilder, IndicatorStream, IndicatorTable,
    Indicators, NotGrouped, Window, analyze, analyze_grouped, analyze_stream, summarise,
};
pub use scales::{ScaleParams, ScaleResults, ScaleSpec, Scoring, scales};
pub use stays::{Stay, merge_stays};
pub use utilisation::{TOP_SHARES, utilisation};

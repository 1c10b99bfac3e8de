//! The statistics of a pilot evaluation: descriptive statistics, paired and two-sample
//! tests, proportions, rates with exposure, difference-in-differences, generalized linear
//! models (Poisson and negative binomial with offsets and cluster-robust CR1 covariance,
//! logistic regression), propensity-score balancing weights and standardised mean
//! differences, the within-person (person fixed-effect) rate ratio, cluster-jackknife
//! intervals, intervals of a difference of two rates from their log scale (MOVER, profile), the Kaplan–Meier estimator,
//! inter-rater agreement, reliability, multiplicity adjustment and the bootstrap.
//!
//! Pure: slices in, [`StatResult`] out; no Arrow, no I/O. Conventions follow R so every
//! number can be checked line by line against it: paired methods work on `x − y`
//! (`t.test(x, y, paired = TRUE)`), two-sample methods compare `x` with `y`, confidence
//! level 0.95 unless given, `None` is a missing value. Each function's documentation names
//! the R (or scipy/statsmodels) call that gives the same numbers; the tests hold those
//! values.
#![warn(missing_docs)]
#![expect(
    clippy::many_single_char_names,
    reason = "formulas read best in their textbook symbols: x, y, n, p, z, w"
)]
#![expect(
    clippy::float_cmp,
    reason = "exact comparisons are deliberate: ties, zero differences, p = 0 or 1"
)]

mod agreement;
mod balance;
mod bootstrap;
mod describe;
mod did;
pub mod dist;
mod error;
mod glm;
mod jackknife;
mod linalg;
mod moments;
mod multiplicity;
mod paired;
mod profile;
mod proportions;
mod ranks;
mod rates;
mod reliability;
mod result;
mod saturated;
mod survival;
mod two_sample;
mod within;

pub use agreement::{KappaWeights, Level, cohen_kappa, fleiss_kappa, krippendorff_alpha};
pub use balance::{BalancingWeights, balancing_weights, smd};
pub use bootstrap::{BootMethod, BootStatistic, bootstrap};
pub use describe::{Description, Location, describe, location};
pub use did::{did_ols, did_poisson, did_poisson_clustered};
pub use error::StatsError;
pub use glm::{
    GlmFit, cr1_sandwich, logistic_predict, logistic_regression, negbin_glm, poisson_glm,
};
pub use jackknife::{JackknifeMoves, dispersion_df};
pub use moments::BinMoments;
pub use multiplicity::{Adjustment, p_adjust};
pub use paired::{complete_pairs, paired_t, wilcoxon_signed_rank};
pub use profile::{rate_difference_mover, rate_difference_profile};
pub use proportions::{mcnemar, wilson};
pub use ranks::{decimals, round_to};
pub use rates::{poisson_rate, rate_ratio};
pub use reliability::cronbach_alpha;
pub use result::{Extra, StatResult};
pub use saturated::{RateJackknife, poisson_cells_jackknife, poisson_glm_cells};
pub use survival::{KmInterval, KmStep, kaplan_meier, kaplan_meier_with};
pub use two_sample::{mann_whitney, welch_t};
pub use within::{
    TwoWindows, WithinPersonFit, WithinPersonGlm, within_person_glm, within_person_rate_ratio,
    within_person_ratio_of_ratios,
};

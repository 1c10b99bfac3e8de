//! Difference-in-differences against statsmodels 0.14 and numpy on a small panel (12 units,
//! 6 treated, before/after). The data and expected values were produced by this script:
//!
//! ```python
//! X = column_stack([1, treated, post, treated*post])
//! sm.OLS(y_cont, X).fit(cov_type='cluster', cov_kwds={'groups': unit, 'use_correction': True})
//! sm.GLM(y_count, X, family=Poisson(), offset=log(exposure)).fit(method='newton', tol=1e-15)
//! # (the default IRLS fit reports bse from the weights of its previous iteration, off by
//! # 5e-9 relative; Newton's and sqrt(inv(X' diag(mu) X)) agree to 1e-16)
//! # CR1 for the GLM by hand: G/(G-1)*(N-1)/(N-K) * B M B, B = inv(X' diag(mu) X)
//! ```
//!
//! (R: `lm(y ~ treated * post)` / `glm(..., family = poisson, offset = log(exposure))` with
//! `sandwich::vcovCL(fit, cluster = ~unit)` gives the same SEs.)

use super::*;

const UNIT: [&str; 24] = [
    "u0", "u0", "u1", "u1", "u2", "u2", "u3", "u3", "u4", "u4", "u5", "u5", "u6", "u6", "u7", "u7",
    "u8", "u8", "u9", "u9", "u10", "u10", "u11", "u11",
];
const TREATED: [u8; 24] = [1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
const POST: [u8; 24] = [0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1];
const Y_COUNT: [f64; 24] = [
    4.0, 4.0, 6.0, 0.0, 4.0, 0.0, 2.0, 1.0, 8.0, 2.0, 7.0, 2.0, 7.0, 7.0, 3.0, 1.0, 3.0, 4.0, 3.0,
    4.0, 4.0, 11.0, 6.0, 7.0,
];
const Y_CONT: [f64; 24] = [
    6.8, 7.1, 10.2, 0.3, 6.8, 0.3, 3.4, 2.0, 13.6, 3.7, 11.9, 3.7, 11.9, 12.2, 5.1, 2.0, 5.1, 7.1,
    5.1, 7.1, 6.8, 19.0, 10.2, 12.2,
];
const EXPOSURE: [f64; 24] = [
    0.949, 0.911, 0.752, 0.806, 0.757, 0.624, 0.846, 0.915, 0.755, 0.53, 0.69, 0.701, 0.65, 0.596,
    0.519, 0.876, 0.561, 0.936, 0.955, 0.905, 0.757, 0.673, 0.939, 0.903,
];

fn inputs() -> (Vec<String>, Vec<bool>, Vec<bool>) {
    (
        UNIT.iter().map(|s| (*s).to_owned()).collect(),
        TREATED.iter().map(|t| *t == 1).collect(),
        POST.iter().map(|p| *p == 1).collect(),
    )
}

#[track_caller]
fn close(got: f64, want: f64, tol: f64) {
    assert!((got - want).abs() <= tol * want.abs().max(1.0), "got {got}, want {want}");
}

#[test]
fn ols_matches_statsmodels() {
    let (unit, treated, post) = inputs();
    let r = did_ols(&unit, &treated, &post, &Y_CONT, 0.95).unwrap();
    close(r.estimate.unwrap(), -8.500_000_000_000_007, 1e-12);
    close(r.extra("se").unwrap(), 3.270_015_290_484_13, 1e-12);
    close(r.extra("se_cluster").unwrap(), 2.814_726_784_021_298, 1e-12);
    close(r.p_value.unwrap(), 0.011_659_228_865_771_146, 1e-10);
    close(r.ci_low.unwrap(), -14.695_171_881_343_345, 1e-11);
    close(r.ci_high.unwrap(), -2.304_828_118_656_669, 1e-11);
    assert_eq!(r.df, Some(11.0));
}

#[test]
fn poisson_matches_statsmodels() {
    let (unit, treated, post) = inputs();
    let r = did_poisson(&unit, &treated, &post, &Y_COUNT, &EXPOSURE, 0.95).unwrap();
    close(r.extra("beta").unwrap(), -1.338_566_096_405_719_8, 1e-9);
    close(r.estimate.unwrap(), f64::exp(-1.338_566_096_405_719_8), 1e-9);
    close(r.extra("se_log").unwrap(), 0.459_611_225_705_661_93, 1e-9);
    close(r.extra("se_log_cluster").unwrap(), 0.532_397_025_767_739_6, 1e-9);
    close(r.ci_low.unwrap(), 0.092_361_496_438_920_08, 1e-9);
    close(r.ci_high.unwrap(), 0.744_466_741_272_539_8, 1e-9);
    close(r.p_value.unwrap(), 0.011_929_418_139_319_204, 1e-9);
}

#[test]
fn empty_cells_and_bad_lengths_are_explained() {
    let (unit, treated, post) = inputs();
    let err = did_ols(&unit, &treated, &post, &Y_CONT[..3], 0.95).unwrap_err();
    assert_eq!(err.to_string(), "y: arrays must have equal length, got 24 and 3");
    let all_treated = vec![true; 24];
    assert!(
        did_ols(&unit, &all_treated, &post, &Y_CONT, 0.95)
            .unwrap_err()
            .to_string()
            .contains("all four cells")
    );
    let mut exposure = EXPOSURE;
    exposure[0] = 0.0;
    assert!(did_poisson(&unit, &treated, &post, &Y_COUNT, &exposure, 0.95).is_err());
    let mut negative = Y_COUNT;
    negative[1] = -1.0;
    let err = did_poisson(&unit, &treated, &post, &negative, &EXPOSURE, 0.95).unwrap_err();
    assert_eq!(err.to_string(), "y: -1 is outside [0, ∞)");
}

#[test]
fn clustered_labels_need_not_be_dense() {
    // The same panel with units numbered 10, 13, 16, …: labels with gaps give the same fit.
    let (unit, treated, post) = inputs();
    let labels: Vec<usize> =
        UNIT.iter().map(|u| 10 + 3 * u[1..].parse::<usize>().unwrap()).collect();
    let by_name = did_poisson(&unit, &treated, &post, &Y_COUNT, &EXPOSURE, 0.95).unwrap();
    let by_label =
        did_poisson_clustered(&labels, &treated, &post, &Y_COUNT, &EXPOSURE, 0.95).unwrap();
    assert_eq!(by_label.extra("n_clusters"), Some(12.0));
    for (a, b) in [
        (by_name.estimate, by_label.estimate),
        (by_name.ci_low, by_label.ci_low),
        (by_name.p_value, by_label.p_value),
    ] {
        close(a.unwrap(), b.unwrap(), 1e-14);
    }
}

#[test]
fn a_cell_without_events_has_no_estimate() {
    // No events among treated units after: the MLE of β(treated:post) is −∞.
    let (unit, treated, post) = inputs();
    let mut y = Y_COUNT;
    for (i, v) in y.iter_mut().enumerate() {
        if TREATED[i] == 1 && POST[i] == 1 {
            *v = 0.0;
        }
    }
    let err = did_poisson(&unit, &treated, &post, &y, &EXPOSURE, 0.95).unwrap_err();
    assert!(err.to_string().contains("no finite estimate"), "{err}");
}

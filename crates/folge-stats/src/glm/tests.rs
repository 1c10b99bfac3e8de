//! GLMs against statsmodels 0.15 on a small seeded panel: 16 persons (clusters labelled
//! 100, 107, …, 205) × 4 periods, 8 treated, post = periods 3–4, age, person-years, an
//! over-dispersed count `Y`, non-integer hours `HOURS` (20 % zeros), prior weights `W` and a
//! binary outcome `YB`, generated with numpy's `default_rng(20240611)`. The design is
//! `[1, treated, post, treated·post, (age − 50)/10]`, offset ln(person-years). Reference
//! fits converge to tol 1e-15 by Newton's method, so their SEs use the Hessian at the optimum:
//!
//! ```python
//! X = column_stack([ones(64), t, p, t*p, (age-50)/10]); off = log(pyears)
//! fit = dict(method='newton', tol=1e-15, maxiter=200)
//! sm.GLM(y, X, family=fam, offset=off, var_weights=w).fit(**fit)             # coef, bse
//! sm.GLM(y, X, family=fam, offset=off, var_weights=w).fit(**fit, cov_type='cluster',
//!        cov_kwds={'groups': cluster})                                          # CR1 bse
//! ```
//!
//! statsmodels' cluster correction is G/(G−1)·(N−1)/(N−K), as R's `sandwich::vcovCL(fit,
//! cluster = ~id, type = "HC1")`; checked by hand in numpy (B M B) to 1e-15.

use proptest::prelude::*;

use super::*;
use crate::{did_poisson_clustered, rate_ratio};

const CLUSTER: [usize; 64] = [
    100, 100, 100, 100, 107, 107, 107, 107, 114, 114, 114, 114, 121, 121, 121, 121, 128, 128, 128,
    128, 135, 135, 135, 135, 142, 142, 142, 142, 149, 149, 149, 149, 156, 156, 156, 156, 163, 163,
    163, 163, 170, 170, 170, 170, 177, 177, 177, 177, 184, 184, 184, 184, 191, 191, 191, 191, 198,
    198, 198, 198, 205, 205, 205, 205,
];
const TREATED: [u8; 64] = [
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
];
const POST: [u8; 64] = [
    0, 0, 1, 1, 0, 0, 1, 1, 0, 0, 1, 1, 0, 0, 1, 1, 0, 0, 1, 1, 0, 0, 1, 1, 0, 0, 1, 1, 0, 0, 1, 1,
    0, 0, 1, 1, 0, 0, 1, 1, 0, 0, 1, 1, 0, 0, 1, 1, 0, 0, 1, 1, 0, 0, 1, 1, 0, 0, 1, 1, 0, 0, 1, 1,
];
const AGE: [f64; 64] = [
    47.0, 47.0, 47.0, 47.0, 36.0, 36.0, 36.0, 36.0, 37.0, 37.0, 37.0, 37.0, 37.0, 37.0, 37.0, 37.0,
    57.0, 57.0, 57.0, 57.0, 31.0, 31.0, 31.0, 31.0, 38.0, 38.0, 38.0, 38.0, 37.0, 37.0, 37.0, 37.0,
    16.0, 16.0, 16.0, 16.0, 87.0, 87.0, 87.0, 87.0, 34.0, 34.0, 34.0, 34.0, 21.0, 21.0, 21.0, 21.0,
    48.0, 48.0, 48.0, 48.0, 32.0, 32.0, 32.0, 32.0, 39.0, 39.0, 39.0, 39.0, 42.0, 42.0, 42.0, 42.0,
];
const PYEARS: [f64; 64] = [
    0.401, 1.004, 0.415, 0.566, 0.628, 0.637, 0.597, 1.002, 0.59, 0.412, 0.742, 0.49, 0.55, 0.565,
    1.119, 0.316, 0.431, 0.927, 0.391, 1.07, 0.751, 1.059, 0.958, 0.839, 0.393, 0.979, 0.344,
    0.959, 1.092, 0.593, 0.842, 0.762, 0.571, 0.526, 0.789, 0.866, 0.415, 0.325, 0.391, 0.458,
    0.64, 1.182, 0.781, 1.079, 0.79, 1.163, 0.732, 0.652, 1.171, 0.457, 0.988, 0.786, 0.724, 0.937,
    0.791, 1.194, 0.573, 1.041, 0.732, 0.852, 0.534, 0.784, 0.543, 0.441,
];
const Y: [f64; 64] = [
    3.0, 4.0, 2.0, 1.0, 1.0, 1.0, 2.0, 1.0, 7.0, 6.0, 6.0, 4.0, 2.0, 2.0, 4.0, 1.0, 1.0, 6.0, 0.0,
    4.0, 3.0, 1.0, 4.0, 3.0, 0.0, 0.0, 0.0, 1.0, 4.0, 2.0, 1.0, 1.0, 1.0, 2.0, 2.0, 6.0, 2.0, 2.0,
    4.0, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 3.0, 0.0, 1.0, 0.0, 1.0, 2.0, 2.0, 4.0, 3.0,
    8.0, 1.0, 3.0, 4.0, 2.0, 1.0, 2.0,
];
const HOURS: [f64; 64] = [
    0.0, 0.0, 1.08, 0.42, 0.8, 0.0, 0.0, 2.05, 10.87, 19.42, 7.35, 16.11, 2.8, 2.92, 0.0, 8.58,
    0.0, 4.43, 0.38, 8.7, 8.54, 2.53, 0.92, 0.24, 1.08, 1.11, 1.19, 0.0, 1.55, 0.39, 2.58, 0.99,
    1.41, 3.56, 0.63, 0.48, 9.43, 19.02, 2.49, 3.53, 0.0, 0.02, 0.0, 0.27, 0.05, 0.57, 0.31, 0.72,
    3.93, 0.61, 2.76, 3.89, 5.21, 0.6, 1.77, 1.37, 0.52, 0.83, 1.35, 1.62, 3.64, 0.81, 10.92, 1.64,
];
const W: [f64; 64] = [
    1.26, 1.9, 0.58, 1.25, 1.51, 1.55, 1.63, 1.74, 0.95, 1.27, 0.92, 1.32, 1.26, 1.95, 0.98, 1.91,
    1.04, 1.13, 0.79, 1.14, 1.22, 1.75, 0.95, 1.65, 0.53, 1.89, 0.72, 1.19, 1.55, 1.04, 1.15, 1.44,
    1.81, 1.54, 0.54, 1.61, 1.05, 0.8, 0.66, 1.51, 0.63, 1.86, 0.65, 0.88, 1.43, 0.62, 0.81, 0.51,
    1.7, 0.88, 0.73, 0.71, 1.73, 1.49, 1.36, 1.2, 1.75, 0.97, 1.62, 1.59, 0.79, 1.7, 1.28, 1.47,
];
const YB: [u8; 64] = [
    0, 0, 1, 1, 1, 0, 1, 1, 1, 1, 1, 0, 1, 0, 0, 0, 1, 0, 1, 0, 1, 1, 1, 0, 1, 0, 1, 0, 1, 1, 0, 0,
    0, 0, 0, 0, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 1, 0, 1, 1, 1, 1, 0, 0,
];
const K: usize = 5;

/// `[1, treated, post, treated·post, (age − 50)/10]`, row-major.
fn design() -> Vec<f64> {
    (0..64)
        .flat_map(|i| {
            let (t, p) = (f64::from(TREATED[i]), f64::from(POST[i]));
            [1.0, t, p, t * p, (AGE[i] - 50.0) / 10.0]
        })
        .collect()
}

fn offset() -> Vec<f64> {
    PYEARS.iter().map(|v| v.ln()).collect()
}

#[track_caller]
fn close(got: f64, want: f64, rel: f64) {
    assert!((got - want).abs() <= rel * want.abs(), "got {got}, want {want} (relative {rel})");
}

/// Coefficients, model SEs and CR1 SEs against reference values.
#[track_caller]
fn check(fit: &GlmFit, coef: [f64; K], se: [f64; K], se_cluster: [f64; K]) {
    for j in 0..K {
        close(fit.coef[j], coef[j], 1e-8);
        close(fit.cov_model[j][j].sqrt(), se[j], 1e-8);
        close(fit.se(j), se_cluster[j], 1e-8);
    }
}

#[test]
fn poisson_matches_statsmodels() {
    // sm.GLM(y, X, family=sm.families.Poisson(), offset=off) with fit above (no var_weights).
    let fit = poisson_glm(&design(), K, &Y, &offset(), None, Some(&CLUSTER)).unwrap();
    check(
        &fit,
        [
            1.091_812_059_199_163_4,
            0.412_693_987_701_805_76,
            -0.130_109_161_252_095_4,
            -0.106_761_201_397_737_65,
            0.145_590_427_209_989_94,
        ],
        [
            0.189_621_912_422_265_4,
            0.237_919_090_570_916_12,
            0.265_294_788_709_335_1,
            0.349_606_719_412_452_9,
            0.059_464_351_747_840_8,
        ],
        [
            0.315_950_837_325_204_4,
            0.440_693_590_891_768_96,
            0.328_567_735_610_470_37,
            0.370_573_339_801_132_16,
            0.090_559_453_339_925_31,
        ],
    );
    close(fit.deviance, 114.183_347_279_133_78, 1e-10);
    assert_eq!((fit.n, fit.n_clusters, fit.theta), (64, 16, None));
    // Without clusters the SE is the model's.
    let plain = poisson_glm(&design(), K, &Y, &offset(), None, None).unwrap();
    assert_eq!(plain.cov_cluster, None);
    close(plain.se(3), 0.349_606_719_412_452_9, 1e-8);
    assert_eq!(plain.n_clusters, 0);
}

#[test]
fn weighted_poisson_matches_statsmodels() {
    // sm.GLM(y, X, family=sm.families.Poisson(), offset=off, var_weights=w)
    let fit = poisson_glm(&design(), K, &Y, &offset(), Some(&W), Some(&CLUSTER)).unwrap();
    check(
        &fit,
        [
            1.010_685_289_113_038_7,
            0.370_957_274_718_537_07,
            0.073_389_072_563_051_87,
            -0.260_517_774_755_506_9,
            0.105_155_266_887_187_6,
        ],
        [
            0.175_426_295_109_833_85,
            0.209_890_610_831_828_86,
            0.236_902_221_902_053_18,
            0.313_347_767_081_854_6,
            0.058_503_995_376_636_364,
        ],
        [
            0.301_183_150_510_966_83,
            0.410_261_567_704_274_6,
            0.333_638_024_838_345_8,
            0.386_933_849_111_846_8,
            0.090_822_447_289_180_15,
        ],
    );
    close(fit.deviance, 128.960_588_031_367_65, 1e-10);
}

#[test]
fn pseudo_poisson_on_hours_matches_statsmodels() {
    // sm.GLM(hours, X, family=sm.families.Poisson(), offset=off, var_weights=w): non-integer
    // outcome; CR1 also by hand in numpy: B = inv(X' diag(w mu) X), s_g = sum w (h - mu) x.
    let fit = poisson_glm(&design(), K, &HOURS, &offset(), Some(&W), Some(&CLUSTER)).unwrap();
    check(
        &fit,
        [
            1.585_618_202_108_785_2,
            0.239_043_669_880_213_17,
            -0.269_573_174_150_101,
            0.343_856_467_752_644_67,
            0.342_465_885_761_630_56,
        ],
        [
            0.133_154_408_884_138,
            0.179_913_061_909_158_82,
            0.209_163_559_561_055_56,
            0.270_463_262_333_909_4,
            0.040_294_634_827_844_84,
        ],
        [
            0.338_025_493_811_049_46,
            0.623_305_077_901_263_1,
            0.610_331_876_986_869,
            0.677_172_944_744_143_2,
            0.089_834_849_771_229_24,
        ],
    );
    close(fit.deviance, 406.524_054_652_016_2, 1e-10);
}

#[test]
fn rows_with_weight_zero_take_no_part() {
    // A row with weight 0 (an extra cluster, an outlying outcome) gives the fit without it:
    // N and G count the rows used only.
    let mut x = design();
    x.extend([1.0, 1.0, 1.0, 1.0, 9.0]);
    let (mut y, mut off, mut w, mut g) = (Y.to_vec(), offset(), W.to_vec(), CLUSTER.to_vec());
    y.push(1000.0);
    off.push(3.0);
    w.push(0.0);
    g.push(999);
    let with = poisson_glm(&x, K, &y, &off, Some(&w), Some(&g)).unwrap();
    let without = poisson_glm(&design(), K, &Y, &offset(), Some(&W), Some(&CLUSTER)).unwrap();
    assert_eq!((with.n, with.n_clusters), (64, 16));
    for j in 0..K {
        close(with.coef[j], without.coef[j], 1e-12);
        close(with.se(j), without.se(j), 1e-12);
    }
}

/// The panel of `did/tests.rs` (12 units, before/after).
const DID_UNIT: [usize; 24] =
    [0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11];
const DID_COUNT: [f64; 24] = [
    4.0, 4.0, 6.0, 0.0, 4.0, 0.0, 2.0, 1.0, 8.0, 2.0, 7.0, 2.0, 7.0, 7.0, 3.0, 1.0, 3.0, 4.0, 3.0,
    4.0, 4.0, 11.0, 6.0, 7.0,
];
const DID_EXPOSURE: [f64; 24] = [
    0.949, 0.911, 0.752, 0.806, 0.757, 0.624, 0.846, 0.915, 0.755, 0.53, 0.69, 0.701, 0.65, 0.596,
    0.519, 0.876, 0.561, 0.936, 0.955, 0.905, 0.757, 0.673, 0.939, 0.903,
];

#[test]
fn saturated_four_cells_equal_the_closed_form_of_did_poisson() {
    let treated: Vec<bool> = (0..24).map(|i| i < 12).collect();
    let post: Vec<bool> = (0..24).map(|i| i % 2 == 1).collect();
    let x: Vec<f64> = (0..24)
        .flat_map(|i| {
            let (t, p) = (f64::from(u8::from(treated[i])), f64::from(u8::from(post[i])));
            [1.0, t, p, t * p]
        })
        .collect();
    let off: Vec<f64> = DID_EXPOSURE.iter().map(|e| e.ln()).collect();
    let fit = poisson_glm(&x, 4, &DID_COUNT, &off, None, Some(&DID_UNIT)).unwrap();
    let did =
        did_poisson_clustered(&DID_UNIT, &treated, &post, &DID_COUNT, &DID_EXPOSURE, 0.95).unwrap();
    close(fit.coef[3], did.extra("beta").unwrap(), 1e-9);
    close(fit.cov_model[3][3].sqrt(), did.extra("se_log").unwrap(), 1e-9);
    close(fit.se(3), did.extra("se_log_cluster").unwrap(), 1e-9);
    let r = fit.exp_coef(3, 0.95, "Poisson GLM").unwrap();
    for (a, b) in [
        (r.estimate, did.estimate),
        (r.ci_low, did.ci_low),
        (r.ci_high, did.ci_high),
        (r.p_value, did.p_value),
        (r.statistic, did.statistic),
    ] {
        close(a.unwrap(), b.unwrap(), 1e-9);
    }
    close(r.extra("beta").unwrap(), did.extra("beta").unwrap(), 1e-9);
}

#[test]
fn saturated_two_cells_equal_the_rate_ratio() {
    // y ~ treated with offset ln(person-years): exp(β₁) is the rate ratio, its model SE
    // √(1/E₁ + 1/E₀), so the Wald CI is rate_ratio's (poisson.test's estimate; Wald extras).
    let x: Vec<f64> = TREATED.iter().flat_map(|&t| [1.0, f64::from(t)]).collect();
    let fit = poisson_glm(&x, 2, &Y, &offset(), None, Some(&CLUSTER)).unwrap();
    let (mut e, mut t) = ([0.0; 2], [0.0; 2]);
    for i in 0..64 {
        e[usize::from(TREATED[i])] += Y[i];
        t[usize::from(TREATED[i])] += PYEARS[i];
    }
    let rr = rate_ratio(e[1], t[1], e[0], t[0], 0.95).unwrap();
    let mut model = fit.clone();
    model.cov_cluster = None;
    let r = model.exp_coef(1, 0.95, "Poisson GLM").unwrap();
    close(r.estimate.unwrap(), rr.estimate.unwrap(), 1e-9);
    close(r.ci_low.unwrap(), rr.extra("wald_ci_low").unwrap(), 1e-9);
    close(r.ci_high.unwrap(), rr.extra("wald_ci_high").unwrap(), 1e-9);
    // CR1 in closed form: μᵢ = exposureᵢ · rate of its arm, bread⁻¹ = [[E, E₁], [E₁, E₁]],
    // s_g = Σ_{i∈g} (yᵢ − μᵢ) (1, treatedᵢ).
    let rate = [e[0] / t[0], e[1] / t[1]];
    let bread = crate::linalg::invert(&vec![vec![e[0] + e[1], e[1]], vec![e[1], e[1]]]).unwrap();
    let mut sums = std::collections::BTreeMap::<usize, [f64; 2]>::new();
    for i in 0..64 {
        let arm = usize::from(TREATED[i]);
        let r = Y[i] - PYEARS[i] * rate[arm];
        let s = sums.entry(CLUSTER[i]).or_default();
        s[0] += r;
        s[1] += r * f64::from(TREATED[i]);
    }
    let mut meat = vec![vec![0.0; 2]; 2];
    for s in sums.values() {
        for p in 0..2 {
            for q in 0..2 {
                meat[p][q] += s[p] * s[q];
            }
        }
    }
    let v = cr1_sandwich(&bread, &meat, 64, 16);
    for j in 0..2 {
        close(fit.se(j), v[j][j].sqrt(), 1e-9);
        close(fit.cov_model[j][j], bread[j][j], 1e-9);
    }
}

#[test]
fn cr1_sandwich_matches_numpy() {
    // B = [[.5, .1], [.1, .2]], M = [[2, .3], [.3, 1]], N = 10, G = 4:
    // 4/3 * 9/8 * B @ M @ B
    let b = vec![vec![0.5, 0.1], vec![0.1, 0.2]];
    let m = vec![vec![2.0, 0.3], vec![0.3, 1.0]];
    let v = cr1_sandwich(&b, &m, 10, 4);
    let want = [[0.809_999_999_999_999_9, 0.2295], [0.229_500_000_000_000_04, 0.108]];
    for p in 0..2 {
        for q in 0..2 {
            close(v[p][q], want[p][q], 1e-14);
        }
    }
    assert!(cr1_sandwich(&b, &m, 10, 1).iter().flatten().all(|v| v.is_nan()));
    assert!(cr1_sandwich(&b, &m, 2, 4).iter().flatten().all(|v| v.is_nan()));
    assert!(cr1_sandwich(&b, &m[..1], 10, 4).iter().flatten().all(|v| v.is_nan()));
    assert!(cr1_sandwich(&[], &[], 10, 4).is_empty());
}

#[test]
fn invalid_inputs_are_explained() {
    let (x, off) = (design(), offset());
    let err = |r: Result<GlmFit, StatsError>| r.unwrap_err().to_string();
    assert_eq!(
        err(poisson_glm(&x, K, &Y[..10], &off, None, None)),
        "the design has 320 values, not 10 rows × 5 columns"
    );
    assert_eq!(
        err(poisson_glm(&x, K, &Y, &off[..3], None, None)),
        "offset: arrays must have equal length, got 64 and 3"
    );
    assert_eq!(
        err(poisson_glm(&x, K, &Y, &off, None, Some(&CLUSTER[..3]))),
        "cluster: arrays must have equal length, got 64 and 3"
    );
    assert_eq!(
        err(poisson_glm(&x, 0, &Y, &off, None, None)),
        "the design needs at least one column (k ≥ 1)"
    );
    let mut y = Y;
    y[2] = -1.0;
    assert_eq!(err(poisson_glm(&x, K, &y, &off, None, None)), "y: -1 is outside [0, ∞)");
    y[2] = f64::NAN;
    assert_eq!(err(poisson_glm(&x, K, &y, &off, None, None)), "y: NaN is outside [0, ∞)");
    let mut bad_x = x.clone();
    bad_x[7] = f64::INFINITY;
    assert_eq!(
        err(poisson_glm(&bad_x, K, &Y, &off, None, None)),
        "the design has `inf` in row 2, column 3; it must be finite"
    );
    let mut bad_off = off.clone();
    bad_off[0] = f64::NEG_INFINITY;
    assert_eq!(
        err(poisson_glm(&x, K, &Y, &bad_off, None, None)),
        "the offset is `-inf` in row 1; it must be finite"
    );
    let mut w = W;
    w[0] = -0.5;
    assert_eq!(
        err(poisson_glm(&x, K, &Y, &off, Some(&w), None)),
        "weights: -0.5 is outside [0, ∞)"
    );
    assert_eq!(
        err(poisson_glm(&x, K, &Y, &off, None, Some(&[7; 64]))),
        "cluster-robust standard errors (clusters) needs at least 2 usable values, got 1"
    );
    assert_eq!(
        err(poisson_glm(&x, K, &[0.0; 64], &off, None, None)),
        "a count model has no finite estimate when every outcome is 0"
    );
    assert!(err(poisson_glm(&[], 1, &[], &[], None, None)).contains("needs at least 1"));
    // A column repeated (treated twice): not identified.
    let dup: Vec<f64> = x.chunks(K).flat_map(|r| [r[0], r[1], r[1]]).collect();
    assert!(err(poisson_glm(&dup, 3, &Y, &off, None, None)).starts_with("the design is singular"));
}

#[test]
fn a_cell_without_events_has_no_finite_estimate() {
    // No events among treated persons after: β(treated·post) → −∞ (R converges to about −25
    // with a huge SE).
    let mut y = Y;
    for i in 0..64 {
        if TREATED[i] == 1 && POST[i] == 1 {
            y[i] = 0.0;
        }
    }
    let e = poisson_glm(&design(), K, &y, &offset(), None, Some(&CLUSTER)).unwrap_err();
    assert!(e.to_string().starts_with("the Poisson model has no finite estimate"), "{e}");
}

#[test]
fn exp_coef_checks_its_arguments() {
    let fit = poisson_glm(&design(), K, &Y, &offset(), None, Some(&CLUSTER)).unwrap();
    assert!(fit.exp_coef(5, 0.95, "m").unwrap_err().to_string().contains("does not exist"));
    assert!(fit.exp_coef(1, 1.0, "m").is_err());
    assert!(fit.se(5).is_nan());
    let r = fit.exp_coef(1, 0.95, "Poisson GLM, CR1").unwrap();
    assert_eq!((r.method.as_str(), r.n), ("Poisson GLM, CR1", 64));
    close(r.extra("se").unwrap(), 0.440_693_590_891_768_96, 1e-8);
}

#[test]
fn negative_binomial_matches_statsmodels() {
    // theta, coef: sm.NegativeBinomial(y, X, offset=off, loglike_method='nb2')
    //   .fit(method='newton', tol=1e-15) (score at the fit < 1e-13); theta = 1/alpha
    // se: sm.GLM(y, X, family=sm.families.NegativeBinomial(alpha=1/theta), offset=off)
    //   .fit(method='IRLS', tol=1e-15): the expected information (X'WX)^-1, W = mu/(1+mu/theta),
    //   as vcov(glm.nb(...)); equal to np.linalg.inv(X.T @ (X * W[:, None])) to 1e-14.
    // se_cl: vcovCL(glm.nb(...), cluster = ~id, type = "HC1") uses that bread too
    //   (sandwich's bread.glm), so by hand in numpy: B = inv(X' W X),
    //   s_g = sum_{i in g} w_i (y_i - mu_i)/(1 + mu_i/theta) x_i, 16/15 * 63/59 * B S'S B.
    //   (statsmodels' cov_type='cluster' puts the observed Hessian in the bread, which for
    //   the NB2 log link is not X'WX: it gives 0.308598, 0.460946, ... instead.)
    let fit = negbin_glm(&design(), K, &Y, &offset(), None, Some(&CLUSTER)).unwrap();
    close(fit.theta.unwrap(), 1.0 / 0.341_779_047_452_954_95, 1e-8);
    check(
        &fit,
        [
            1.092_888_441_658_388_6,
            0.447_172_972_780_114_3,
            -0.116_300_500_803_042_69,
            -0.153_600_411_089_241_9,
            0.137_183_375_118_379_36,
        ],
        [
            0.246_893_093_468_085_77,
            0.317_702_457_525_908_8,
            0.338_218_252_664_041_93,
            0.459_204_120_216_698_2,
            0.077_082_543_760_985_04,
        ],
        [
            0.306_953_467_625_103_1,
            0.452_600_523_145_001_77,
            0.313_673_330_862_152_9,
            0.354_480_354_527_904_4,
            0.096_736_967_135_906_39,
        ],
    );
    close(fit.deviance, 72.831_743_196_133_32, 1e-8);
    assert_eq!((fit.n, fit.n_clusters), (64, 16));
}

#[test]
fn weighted_negative_binomial_matches_its_likelihood() {
    // statsmodels' discrete NegativeBinomial takes no weights; glm.nb's weighted θ is the
    // root of theta.ml's weighted score, found with scipy around GLM fits:
    //   brentq(lambda lt: sum(w*(digamma(th+y) - digamma(th) + log(th) + 1 - log(th+mu)
    //          - (y+th)/(mu+th))) with th = exp(lt), mu = GLM NB(alpha=1/th, var_weights=w) fit,
    //          xtol=1e-15)
    // then se and se_cl as in the unweighted test (IRLS bse; CR1 by hand with the expected
    // bread), with var_weights=w; the same root-finding without weights reproduces the
    // discrete model's θ to 1e-15.
    let fit = negbin_glm(&design(), K, &Y, &offset(), Some(&W), Some(&CLUSTER)).unwrap();
    close(fit.theta.unwrap(), 3.817_995_599_694_986_4, 1e-8);
    check(
        &fit,
        [
            1.020_732_148_271_867,
            0.395_689_989_421_335_54,
            0.070_810_053_289_878_37,
            -0.286_903_971_339_267_87,
            0.096_961_747_789_947_22,
        ],
        [
            0.216_086_898_150_641_44,
            0.263_313_631_242_811_43,
            0.291_224_308_868_042_3,
            0.391_680_343_991_392_9,
            0.071_870_671_614_651_5,
        ],
        [
            0.292_186_403_046_021_8,
            0.412_967_018_101_507_54,
            0.325_359_457_780_133_64,
            0.374_672_506_759_541_06,
            0.091_515_455_823_227_34,
        ],
    );
    close(fit.deviance, 87.545_903_518_405_96, 1e-8);
}

#[test]
fn negative_binomial_needs_counts_with_over_dispersion() {
    let (x, off) = (design(), offset());
    let e = negbin_glm(&x, K, &HOURS, &off, None, None).unwrap_err();
    assert_eq!(e.to_string(), "y: 1.08 is not a count (expected a whole number ≥ 0)");
    // Under-dispersed counts (every person 2 events a period): θ̂ = ∞.
    let ones = vec![1.0; 64];
    let e = negbin_glm(&ones, 1, &[2.0; 64], &[0.0; 64], None, None).unwrap_err();
    assert!(e.to_string().contains("no over-dispersion"), "{e}");
    let mut y = Y;
    for i in 0..64 {
        if TREATED[i] == 1 && POST[i] == 1 {
            y[i] = 0.0;
        }
    }
    let e = negbin_glm(&x, K, &y, &off, None, None).unwrap_err();
    assert!(e.to_string().contains("no finite estimate"), "{e}");
}

/// `[1, treated, post, (age − 50)/10]` for the logistic model.
fn logistic_design() -> Vec<f64> {
    design().chunks(K).flat_map(|r| [r[0], r[1], r[2], r[4]]).collect()
}

#[test]
fn logistic_matches_statsmodels() {
    // sm.Logit(yb, X).fit(method='newton', tol=1e-15); deviance from
    // sm.GLM(yb, X, family=sm.families.Binomial()).fit(method='newton', tol=1e-15)
    let yb: Vec<bool> = YB.iter().map(|v| *v == 1).collect();
    let x = logistic_design();
    let fit = logistic_regression(&x, 4, &yb, None).unwrap();
    let coef = [
        0.206_622_675_709_378_48,
        1.000_187_740_188_187_6,
        -0.763_389_127_951_099_9,
        0.548_669_173_129_114_2,
    ];
    let se = [
        0.549_010_895_476_026_2,
        0.564_466_104_945_634_2,
        0.561_788_366_095_647,
        0.225_734_822_557_918_16,
    ];
    for j in 0..4 {
        close(fit.coef[j], coef[j], 1e-8);
        close(fit.se(j), se[j], 1e-8);
    }
    close(fit.deviance, 75.208_089_857_309_91, 1e-10);
    assert_eq!((fit.cov_cluster.as_ref(), fit.theta), (None, None));
    // a.predict(X[:3])
    let p = logistic_predict(&fit, &x[..12], 4);
    for (got, want) in
        p.iter().zip([0.739_276_137_159_631_3, 0.739_276_137_159_631_3, 0.569_257_038_940_306_9])
    {
        close(*got, want, 1e-8);
    }
    assert!(logistic_predict(&fit, &x[..12], 3).iter().all(|v| v.is_nan()));
    assert!(logistic_predict(&fit, &x, 0).is_empty());
    // Weighted: sm.GLM(yb, X, family=sm.families.Binomial(), var_weights=w)
    let fit = logistic_regression(&x, 4, &yb, Some(&W)).unwrap();
    let coef = [
        0.163_437_711_828_494_76,
        0.631_289_914_249_371_6,
        -0.501_301_939_424_097_1,
        0.508_105_647_235_020_4,
    ];
    let se = [
        0.491_909_594_499_906_23,
        0.491_290_091_930_369_5,
        0.489_695_995_436_222_16,
        0.208_492_359_293_780_18,
    ];
    for j in 0..4 {
        close(fit.coef[j], coef[j], 1e-8);
        close(fit.se(j), se[j], 1e-8);
    }
    close(fit.deviance, 97.802_153_101_037_99, 1e-10);
}

#[test]
fn separated_logistic_outcomes_have_no_finite_estimate() {
    let x = logistic_design();
    // Treated persons all have the outcome: complete separation on one column.
    let quasi: Vec<bool> = (0..64).map(|i| TREATED[i] == 1 || YB[i] == 1).collect();
    let e = logistic_regression(&x, 4, &quasi, None).unwrap_err();
    assert!(e.to_string().starts_with("the logistic model has no finite estimate"), "{e}");
    // The outcome is the treatment itself.
    let complete: Vec<bool> = TREATED.iter().map(|t| *t == 1).collect();
    let e = logistic_regression(&x, 4, &complete, None).unwrap_err();
    assert!(e.to_string().starts_with("the logistic model has no finite estimate"), "{e}");
    let e = logistic_regression(&x, 4, &[true; 64], None).unwrap_err();
    assert_eq!(
        e.to_string(),
        "the logistic model has no finite estimate: every outcome is the same"
    );
}

/// A value that is sometimes ordinary and sometimes hostile.
fn wild() -> impl Strategy<Value = f64> {
    prop_oneof![
        6 => -3.0f64..10.0,
        1 => Just(0.0),
        1 => Just(f64::NAN),
        1 => Just(f64::INFINITY),
        1 => Just(f64::NEG_INFINITY),
        1 => Just(1e300),
        1 => Just(-1e300),
        1 => Just(1e-300),
        1 => (0u8..20).prop_map(f64::from),
    ]
}

proptest! {
    #[test]
    fn poisson_never_panics(
        n in 0usize..8,
        k in 1usize..4,
        values in proptest::collection::vec(wild(), 64),
        weighted in any::<bool>(),
        clustered in any::<bool>(),
        labels in proptest::collection::vec(0usize..4, 8),
    ) {
        let x: Vec<f64> = values.iter().cycle().take(n * k).copied().collect();
        let y: Vec<f64> = values.iter().rev().take(n).map(|v| v.abs()).collect();
        let off: Vec<f64> = values.iter().skip(7).take(n).copied().collect();
        let w: Vec<f64> = values.iter().skip(13).take(n).map(|v| v.abs()).collect();
        let g = &labels[..n.min(labels.len())];
        let off = if off.len() == n { off } else { vec![0.0; n] };
        let w = if w.len() == n { w } else { vec![1.0; n] };
        let fit = poisson_glm(&x, k, &y, &off, weighted.then_some(&w[..]), clustered.then_some(g));
        if let Ok(fit) = fit {
            prop_assert!(fit.coef.iter().all(|v| v.is_finite()));
            prop_assert!(fit.cov_model.iter().flatten().all(|v| v.is_finite()));
        }
    }

    #[test]
    fn negbin_and_logistic_never_panic(
        n in 0usize..8,
        k in 1usize..3,
        values in proptest::collection::vec(wild(), 48),
        weighted in any::<bool>(),
    ) {
        let x: Vec<f64> = values.iter().cycle().take(n * k).copied().collect();
        let y: Vec<f64> = values.iter().rev().take(n).map(|v| v.abs().round()).collect();
        let off: Vec<f64> = values.iter().skip(5).take(n).copied().collect();
        let off = if off.len() == n { off } else { vec![0.0; n] };
        let w: Vec<f64> = values.iter().skip(11).take(n).map(|v| v.abs()).collect();
        let w = if w.len() == n { w } else { vec![1.0; n] };
        let g: Vec<usize> = (0..n).map(|i| i % 3).collect();
        let weights = weighted.then_some(&w[..]);
        if let Ok(fit) = negbin_glm(&x, k, &y, &off, weights, Some(&g)) {
            prop_assert!(fit.theta.is_some_and(|t| t > 0.0 && t.is_finite()));
        }
        let yb: Vec<bool> = y.iter().map(|v| *v > 2.0).collect();
        if let Ok(fit) = logistic_regression(&x, k, &yb, weights) {
            prop_assert!(logistic_predict(&fit, &x, k).iter().all(|p| (0.0..=1.0).contains(p)));
        }
    }

    #[test]
    fn poisson_with_intercept_reproduces_the_total(
        rows in proptest::collection::vec((0u8..12, -2.0f64..2.0, -1.0f64..1.0, 0.2f64..3.0), 6..60),
    ) {
        // Σ wᵢ μᵢ = Σ wᵢ yᵢ: the score equation of the intercept.
        let x: Vec<f64> = rows.iter().flat_map(|r| [1.0, r.1]).collect();
        let y: Vec<f64> = rows.iter().map(|r| f64::from(r.0)).collect();
        let off: Vec<f64> = rows.iter().map(|r| r.2).collect();
        let w: Vec<f64> = rows.iter().map(|r| r.3).collect();
        prop_assume!(y.iter().sum::<f64>() > 0.0);
        let fit = poisson_glm(&x, 2, &y, &off, Some(&w), None);
        prop_assume!(fit.is_ok());
        let fit = fit.unwrap();
        let fitted: f64 = x.chunks(2).zip(&off).zip(&w)
            .map(|((r, o), wi)| wi * (r[0] * fit.coef[0] + r[1] * fit.coef[1] + o).exp())
            .sum();
        let total: f64 = y.iter().zip(&w).map(|(a, b)| a * b).sum();
        prop_assert!((fitted - total).abs() <= 1e-8 * total, "{fitted} vs {total}");
    }
}

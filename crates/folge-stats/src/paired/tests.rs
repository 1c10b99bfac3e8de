//! Paired methods against `shared/reference/sleep.json` (R's `datasets::sleep`) and scipy.

use super::*;

fn sleep() -> serde_json::Value {
    // Vendored from shared/reference/sleep.json: tests read nothing outside the repository.
    serde_json::from_str(include_str!("../../tests/data/sleep.json")).unwrap()
}

fn arr(v: &serde_json::Value) -> Vec<Option<f64>> {
    v.as_array().unwrap().iter().map(serde_json::Value::as_f64).collect()
}

#[track_caller]
fn close(got: f64, want: f64, tol: f64) {
    assert!((got - want).abs() <= tol, "got {got}, want {want} (tolerance {tol})");
}

#[test]
fn paired_t_matches_r_on_sleep() {
    let s = sleep();
    let case = &s["paired_tests"][0];
    let (x, y) = (arr(&case["input"]["x"]), arr(&case["input"]["y"]));
    let e = &case["expected"]["paired_t"];
    let r = paired_t(&x, &y, 0.95).unwrap();
    // t.test(extra[group == 1], extra[group == 2], paired = TRUE): t = -4.0621, df = 9, p = 0.002833
    close(r.estimate.unwrap(), e["mean_diff"].as_f64().unwrap(), 1e-13);
    close(r.statistic.unwrap(), e["t"].as_f64().unwrap(), 1e-12);
    close(r.df.unwrap(), 9.0, 0.0);
    close(r.p_value.unwrap(), e["p_two_sided"].as_f64().unwrap(), 1e-14);
    close(r.ci_low.unwrap(), e["ci95"][0].as_f64().unwrap(), 1e-12);
    close(r.ci_high.unwrap(), e["ci95"][1].as_f64().unwrap(), 1e-12);
    let es = &s["effect_sizes"][0]["expected"];
    // Tolerances from sleep.json: d_z relative 1e-12, CIs absolute 1e-9.
    close(r.extra("d_z").unwrap(), es["d_z"].as_f64().unwrap(), 1e-12);
    close(r.extra("d_z_ci_low").unwrap(), es["d_z_ci95"][0].as_f64().unwrap(), 1e-9);
    close(r.extra("d_z_ci_high").unwrap(), es["d_z_ci95"][1].as_f64().unwrap(), 1e-9);
    close(r.extra("g_z").unwrap(), es["g_z"].as_f64().unwrap(), 1e-12);
    close(r.extra("g_z_ci_low").unwrap(), es["g_z_ci95"][0].as_f64().unwrap(), 1e-9);
    close(r.extra("g_z_ci_high").unwrap(), es["g_z_ci95"][1].as_f64().unwrap(), 1e-9);
}

#[test]
fn wilcoxon_matches_r_on_sleep() {
    let s = sleep();
    let case = &s["paired_tests"][0];
    let (x, y) = (arr(&case["input"]["x"]), arr(&case["input"]["y"]));
    let e = &case["expected"]["wilcoxon_signed_rank"];
    let r = wilcoxon_signed_rank(&x, &y, None, true, 0.95).unwrap();
    assert_eq!(r.n, 9);
    assert_eq!(r.extra("n_zero"), Some(1.0));
    assert!(r.method.starts_with("Wilcoxon signed rank test with continuity correction"));
    close(r.statistic.unwrap(), 0.0, 0.0);
    close(
        r.p_value.unwrap(),
        e["normal_approx_with_continuity_correction"]["p_two_sided"].as_f64().unwrap(),
        1e-13,
    );
    let plain = wilcoxon_signed_rank(&x, &y, None, false, 0.95).unwrap();
    close(
        plain.p_value.unwrap(),
        e["normal_approx_no_continuity_correction"]["p_two_sided"].as_f64().unwrap(),
        1e-13,
    );
    let hl = &case["expected"]["hodges_lehmann_pseudomedian"];
    close(r.estimate.unwrap(), hl["estimate_walsh_median"].as_f64().unwrap(), 1e-12);
    // R's own CI comes from uniroot(tol = 1e-4) on a step function: informational, 1e-3.
    close(r.ci_low.unwrap(), hl["R_normal_approx_ci95"][0].as_f64().unwrap(), 1e-3);
    close(r.ci_high.unwrap(), hl["R_normal_approx_ci95"][1].as_f64().unwrap(), 1e-3);
}

#[test]
fn wilcoxon_exact_without_ties() {
    // scipy 1.17: d = [1.5, -0.4, 2.2, 3.1, 0.7, 1.1, -1.3, 2.6]
    // stats.wilcoxon(d, method='exact') → statistic (min W) 5.0, pvalue 0.078125;
    // R: wilcox.test(d, exact = TRUE) → V = 31, p-value = 0.07812
    let d = [1.5, -0.4, 2.2, 3.1, 0.7, 1.1, -1.3, 2.6];
    let x: Vec<Option<f64>> = d.iter().map(|v| Some(*v)).collect();
    let y = vec![Some(0.0); d.len()];
    let r = wilcoxon_signed_rank(&x, &y, None, true, 0.95).unwrap();
    assert_eq!(r.method, "Wilcoxon signed rank exact test");
    close(r.statistic.unwrap(), 31.0, 0.0);
    close(r.p_value.unwrap(), 0.078_125, 1e-15);
    // Walsh averages: 36 of them; R's exact CI uses order statistics qu = qsignrank(0.025, 8) = 4
    // and ql + 1 = 36 - 4 + 1 = 33.
    let mut sorted = d.to_vec();
    sorted.sort_by(f64::total_cmp);
    let mut walsh: Vec<f64> = Vec::new();
    for i in 0..8 {
        for j in i..8 {
            walsh.push(f64::midpoint(sorted[i], sorted[j]));
        }
    }
    walsh.sort_by(f64::total_cmp);
    close(r.ci_low.unwrap(), walsh[3], 1e-12);
    close(r.ci_high.unwrap(), walsh[32], 1e-12);
    close(r.estimate.unwrap(), f64::midpoint(walsh[17], walsh[18]), 1e-12);
}

#[test]
fn walsh_order_statistics_match_brute_force() {
    let d = [3.0, -1.0, 2.5, 0.5, 7.0, -4.0, 2.5];
    let mut sorted = d.to_vec();
    sorted.sort_by(f64::total_cmp);
    let mut walsh = Vec::new();
    for i in 0..d.len() {
        for j in i..d.len() {
            walsh.push(f64::midpoint(sorted[i], sorted[j]));
        }
    }
    walsh.sort_by(f64::total_cmp);
    for (k, w) in walsh.iter().enumerate() {
        assert_eq!(walsh_order_statistic(&sorted, k + 1), *w, "k = {}", k + 1);
    }
}

#[test]
fn invalid_input_is_explained() {
    let e = paired_t(&[Some(1.0)], &[Some(1.0), Some(2.0)], 0.95).unwrap_err();
    assert_eq!(e.to_string(), "paired x and y: arrays must have equal length, got 1 and 2");
    let e = paired_t(&[Some(1.0), Some(2.0)], &[Some(0.0), Some(1.0)], 0.95).unwrap_err();
    assert!(e.to_string().contains("zero variance"));
    let e = paired_t(&[Some(1.0), None], &[Some(0.0), Some(1.0)], 0.95).unwrap_err();
    assert_eq!(e.to_string(), "the paired t test needs at least 2 usable values, got 1");
    assert!(paired_t(&[Some(1.0), Some(2.0)], &[Some(0.0), Some(0.5)], 1.5).is_err());
}

mod properties {
    use super::*;
    use proptest::prelude::*;

    fn pairs() -> impl Strategy<Value = (Vec<f64>, Vec<f64>)> {
        (3usize..30).prop_flat_map(|n| {
            (proptest::collection::vec(-50i32..50, n), proptest::collection::vec(-50i32..50, n))
                .prop_map(|(a, b)| {
                    (
                        a.into_iter().map(|v| f64::from(v) / 4.0).collect(),
                        b.into_iter().map(|v| f64::from(v) / 4.0).collect(),
                    )
                })
        })
    }

    fn some(v: &[f64]) -> Vec<Option<f64>> {
        v.iter().map(|x| Some(*x)).collect()
    }

    proptest! {
        #[test]
        fn shifting_both_periods_leaves_paired_t_unchanged((x, y) in pairs(), shift in -100i32..100) {
            let Ok(a) = paired_t(&some(&x), &some(&y), 0.95) else { return Ok(()) };
            let s = f64::from(shift) / 2.0;
            let xs: Vec<f64> = x.iter().map(|v| v + s).collect();
            let ys: Vec<f64> = y.iter().map(|v| v + s).collect();
            let b = paired_t(&some(&xs), &some(&ys), 0.95).unwrap();
            prop_assert!((a.statistic.unwrap() - b.statistic.unwrap()).abs() < 1e-9);
            prop_assert!((a.p_value.unwrap() - b.p_value.unwrap()).abs() < 1e-12);
        }

        #[test]
        fn swapping_before_and_after_flips_the_sign((x, y) in pairs()) {
            let Ok(a) = paired_t(&some(&x), &some(&y), 0.95) else { return Ok(()) };
            let b = paired_t(&some(&y), &some(&x), 0.95).unwrap();
            prop_assert!((a.estimate.unwrap() + b.estimate.unwrap()).abs() < 1e-12);
            prop_assert!((a.p_value.unwrap() - b.p_value.unwrap()).abs() < 1e-12);
            let (wa, wb) = (wilcoxon_signed_rank(&some(&x), &some(&y), None, true, 0.95), wilcoxon_signed_rank(&some(&y), &some(&x), None, true, 0.95));
            if let (Ok(wa), Ok(wb)) = (wa, wb) {
                prop_assert!((wa.p_value.unwrap() - wb.p_value.unwrap()).abs() < 1e-12);
                prop_assert!((wa.estimate.unwrap() + wb.estimate.unwrap()).abs() < 1e-9);
            }
        }
    }
}

//! The closed form equals IRLS on the expanded design; cells without events and single clusters are errors.

use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::*;
use crate::poisson_glm;

/// Rows of persons in `cells` cells (two rows a person, different cells), over-dispersed,
/// with exposure cut short for some.
fn data(cells: usize) -> (Vec<usize>, Vec<f64>, Vec<f64>, Vec<usize>) {
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let (mut cell, mut y, mut e, mut cluster) = (vec![], vec![], vec![], vec![]);
    for person in 0..300 {
        let level: f64 = 0.1 + 4.0 * rng.random::<f64>().powi(3);
        let first = rng.random_range(0..cells);
        for c in [first, (first + 1) % cells] {
            let exposure = if rng.random::<f64>() < 0.2 { rng.random::<f64>() } else { 1.0 };
            cell.push(c);
            y.push((level * exposure * (1.0 + c as f64) * 2.0 * rng.random::<f64>()).round());
            e.push(exposure);
            cluster.push(person * 3);
        }
    }
    (cell, y, e, cluster)
}

#[track_caller]
fn same(a: &GlmFit, b: &GlmFit) {
    let close = |x: f64, y: f64| (x - y).abs() <= 1e-9 * y.abs().max(1e-3);
    assert!(a.coef.iter().zip(&b.coef).all(|(x, y)| close(*x, *y)), "{a:?}\n{b:?}");
    for (m, n) in [
        (&a.cov_model, &b.cov_model),
        (a.cov_cluster.as_ref().unwrap(), b.cov_cluster.as_ref().unwrap()),
    ] {
        for (r, s) in m.iter().zip(n) {
            assert!(r.iter().zip(s).all(|(x, y)| close(*x, *y)), "{m:?}\n{n:?}");
        }
    }
    assert!(close(a.deviance, b.deviance), "{} {}", a.deviance, b.deviance);
    assert_eq!((a.n, a.n_clusters), (b.n, b.n_clusters));
}

#[test]
fn closed_form_equals_irls_for_two_and_four_cells() {
    for cell_x in [
        vec![vec![1.0, 0.0], vec![1.0, 1.0]],
        vec![
            vec![1.0, 0.0, 0.0, 0.0],
            vec![1.0, 0.0, 1.0, 0.0],
            vec![1.0, 1.0, 0.0, 0.0],
            vec![1.0, 1.0, 1.0, 1.0],
        ],
    ] {
        let k = cell_x.len();
        let (cell, y, e, cluster) = data(k);
        let closed = poisson_glm_cells(&cell_x, &cell, &y, &e, &cluster).unwrap();
        let x: Vec<f64> = cell.iter().flat_map(|&c| cell_x[c].clone()).collect();
        let offset: Vec<f64> = e.iter().map(|v| v.ln()).collect();
        let irls = poisson_glm(&x, k, &y, &offset, None, Some(&cluster)).unwrap();
        same(&closed, &irls);
    }
}

#[test]
fn a_cell_without_events_or_one_cluster_is_an_error() {
    let cell_x = vec![vec![1.0, 0.0], vec![1.0, 1.0]];
    let err =
        poisson_glm_cells(&cell_x, &[0, 1, 0, 1], &[1.0, 0.0, 2.0, 0.0], &[1.0; 4], &[0, 0, 1, 1])
            .unwrap_err()
            .to_string();
    assert!(err.contains("no finite estimate"), "{err}");
    let err = poisson_glm_cells(&cell_x, &[0, 1, 0], &[1.0, 1.0, 2.0], &[1.0; 3], &[4, 4, 4])
        .unwrap_err()
        .to_string();
    assert!(err.contains("needs at least 2"), "{err}");
    let err = poisson_glm_cells(&cell_x, &[0, 2], &[1.0, 1.0], &[1.0; 2], &[0, 1])
        .unwrap_err()
        .to_string();
    assert_eq!(err, "cell `2` does not exist: the design has 2 cells");
}

#[test]
fn jackknife_equals_refitting_without_each_person() {
    // (person, pilot, before value, before days, after value, after days); statsmodels
    // 0.15, refitted without each person: for g in pids: smf.glm(f, d[d.pid != g],
    // family=Poisson(), offset=np.log(d.py)).fit(tol=1e-14).params; V = (G-1)/G *
    // (reps - b).T @ (reps - b) — sandwich::vcovJK(fit, cluster = ~pid, center = "estimate").
    let persons = [
        (0, 1, 9.0, 365.0, 2.0, 365.0),
        (1, 1, 0.0, 365.0, 1.0, 200.0),
        (2, 1, 3.0, 365.0, 0.0, 365.0),
        (3, 1, 14.0, 365.0, 6.0, 365.0),
        (4, 1, 1.0, 365.0, 0.0, 365.0),
        (5, 1, 2.0, 365.0, 3.0, 120.0),
        (6, 0, 4.0, 365.0, 5.0, 365.0),
        (7, 0, 0.0, 365.0, 0.0, 365.0),
        (8, 0, 7.0, 365.0, 9.0, 365.0),
        (9, 0, 1.0, 365.0, 2.0, 300.0),
        (10, 0, 2.0, 365.0, 1.0, 365.0),
        (11, 0, 12.0, 365.0, 10.0, 365.0),
    ];
    let (mut cell, mut y, mut e, mut cluster) = (vec![], vec![], vec![], vec![]);
    for (pid, pilot, bv, bd, av, ad) in persons {
        for (after, v, d) in [(0, bv, bd), (1, av, ad)] {
            cell.push(2 * pilot + after);
            y.push(v);
            e.push(d / 365.25);
            cluster.push(pid);
        }
    }
    let did_x = vec![
        vec![1.0, 0.0, 0.0, 0.0],
        vec![1.0, 0.0, 1.0, 0.0],
        vec![1.0, 1.0, 0.0, 0.0],
        vec![1.0, 1.0, 1.0, 1.0],
    ];
    let v = poisson_cells_jackknife(&did_x, &cell, &y, &e, &cluster).unwrap();
    let want = [
        [
            0.249_685_803_466_211_3,
            -0.249_685_803_466_211_6,
            -0.058_537_769_279_319_4,
            0.058_537_769_279_320_13,
        ],
        [
            -0.249_685_803_466_211_6,
            0.557_524_816_466_790_4,
            0.058_537_769_279_319_855,
            -0.142_264_973_149_398_4,
        ],
        [
            -0.058_537_769_279_319_4,
            0.058_537_769_279_319_855,
            0.038_272_537_686_018_45,
            -0.038_272_537_686_018_494,
        ],
        [
            0.058_537_769_279_320_13,
            -0.142_264_973_149_398_4,
            -0.038_272_537_686_018_494,
            0.238_011_096_821_809,
        ],
    ];
    for (r, w) in v.iter().zip(want) {
        for (a, b) in r.iter().zip(w) {
            assert!((a - b).abs() < 1e-9, "{v:?}");
        }
    }
    // The pilot arm alone, `y ~ after`.
    let pilot: Vec<usize> = (0..cell.len()).filter(|&i| cell[i] >= 2).collect();
    let pick = |v: &[f64]| pilot.iter().map(|&i| v[i]).collect::<Vec<_>>();
    let cells: Vec<usize> = pilot.iter().map(|&i| cell[i] - 2).collect();
    let clusters: Vec<usize> = pilot.iter().map(|&i| cluster[i]).collect();
    let two = vec![vec![1.0, 0.0], vec![1.0, 1.0]];
    let v = poisson_cells_jackknife(&two, &cells, &pick(&y), &pick(&e), &clusters).unwrap();
    let want = [
        [0.279_853_648_182_345_3, -0.076_115_639_881_890_31],
        [-0.076_115_639_881_890_31, 0.181_580_508_305_264_76],
    ];
    for (r, w) in v.iter().zip(want) {
        for (a, b) in r.iter().zip(w) {
            assert!((a - b).abs() < 1e-9, "{v:?}");
        }
    }
}

#[test]
fn no_jackknife_when_one_person_holds_a_cells_events() {
    let two = vec![vec![1.0, 0.0], vec![1.0, 1.0]];
    // Person 0 has every event after inclusion.
    let v = poisson_cells_jackknife(
        &two,
        &[0, 1, 0, 1],
        &[1.0, 3.0, 2.0, 0.0],
        &[1.0; 4],
        &[0, 0, 1, 1],
    );
    assert_eq!(v, None);
}

#[test]
fn a_pooled_rates_jackknife_is_the_one_cell_model_s() {
    let (_, y, e, cluster) = data(2);
    // One row per person: sum each person's two rows.
    let persons = cluster.len() / 2;
    let (py, pe): (Vec<f64>, Vec<f64>) =
        (0..persons).map(|p| (y[2 * p] + y[2 * p + 1], e[2 * p] + e[2 * p + 1])).unzip();
    let one = vec![vec![1.0]];
    let cells = vec![0; persons];
    let ids: Vec<usize> = (0..persons).collect();
    let v = poisson_cells_jackknife(&one, &cells, &py, &pe, &ids).unwrap();
    let mut jack = RateJackknife::new(py.iter().sum(), pe.iter().sum());
    for (a, b) in py.iter().zip(&pe) {
        jack.add(*a, *b);
    }
    let (lo, hi) = jack.interval(0.95).unwrap();
    let rate = py.iter().sum::<f64>() / pe.iter().sum::<f64>();
    // The same variance as the one-cell model's jackknife; the interval around the log
    // rate is the moves' (t with Pan & Wall's df, the acceleration).
    let mut moves = crate::JackknifeMoves::default();
    for (a, b) in py.iter().zip(&pe) {
        let (total_y, total_e): (f64, f64) = (py.iter().sum(), pe.iter().sum());
        moves.add(((total_y - a) / (total_e - b)).ln() - rate.ln());
    }
    assert!((moves.se().unwrap() - v[0][0].sqrt()).abs() < 1e-12);
    let (log_lo, log_hi) = moves.interval(rate.ln(), 0.95).unwrap();
    assert!((lo - log_lo.exp()).abs() < 1e-12 * rate);
    assert!((hi - log_hi.exp()).abs() < 1e-12 * rate);
    let mut alone = RateJackknife::new(3.0, 2.0);
    alone.add(3.0, 1.0);
    alone.add(0.0, 1.0);
    assert_eq!(alone.interval(0.95), None, "one person holds every event");
}

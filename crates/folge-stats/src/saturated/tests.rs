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

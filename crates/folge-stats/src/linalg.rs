//! The little linear algebra the regressions need: solving and inverting small symmetric
//! positive-definite systems — 4 × 4 for difference-in-differences by Gauss–Jordan with
//! partial pivoting, and the k × k normal equations of a GLM (k ≤ ~20, once per IRLS
//! iteration) by a Cholesky factorisation of the matrix scaled to unit diagonal.

/// A small dense square matrix, row-major.
pub(crate) type Matrix = Vec<Vec<f64>>;

/// The inverse of `a`, or `None` when it is singular (pivot below 1e-12 of the largest
/// diagonal element).
pub(crate) fn invert(a: &Matrix) -> Option<Matrix> {
    let k = a.len();
    let scale = a
        .iter()
        .enumerate()
        .map(|(i, row)| row[i].abs())
        .fold(0.0, f64::max)
        .max(f64::MIN_POSITIVE);
    let mut m: Matrix = a
        .iter()
        .enumerate()
        .map(|(i, row)| {
            let mut r = row.clone();
            r.extend((0..k).map(|j| f64::from(u8::from(i == j))));
            r
        })
        .collect();
    for col in 0..k {
        let pivot = (col..k).max_by(|&x, &y| m[x][col].abs().total_cmp(&m[y][col].abs()))?;
        if m[pivot][col].abs() < 1e-12 * scale {
            return None;
        }
        m.swap(col, pivot);
        let p = m[col][col];
        for v in &mut m[col] {
            *v /= p;
        }
        for row in 0..k {
            if row != col {
                let f = m[row][col];
                if f != 0.0 {
                    let pivot_row = m[col].clone();
                    for (v, pv) in m[row].iter_mut().zip(pivot_row) {
                        *v -= f * pv;
                    }
                }
            }
        }
    }
    Some(m.into_iter().map(|r| r[k..].to_vec()).collect())
}

/// `a · b`.
pub(crate) fn mul(a: &Matrix, b: &Matrix) -> Matrix {
    let (n, k, m) = (a.len(), b.len(), b[0].len());
    (0..n).map(|i| (0..m).map(|j| (0..k).map(|l| a[i][l] * b[l][j]).sum()).collect()).collect()
}

/// `a · v`.
pub(crate) fn mul_vec(a: &Matrix, v: &[f64]) -> Vec<f64> {
    a.iter().map(|row| row.iter().zip(v).map(|(x, y)| x * y).sum()).collect()
}

/// Smallest pivot accepted in the Cholesky factorisation of a matrix scaled to unit
/// diagonal. A pivot is 1 − R² of a column regressed (in the metric of the matrix) on the
/// columns before it, so below 1e-12 the column is a linear combination of the others to
/// within what the normal equations can resolve in f64 (their rounding error grows as
/// ε / pivot; R's QR in `glm.fit`, working on X itself, can go further).
const MIN_PIVOT: f64 = 1e-12;

/// The Cholesky factor of a symmetric positive-definite k × k matrix A, factorised after
/// scaling A to unit diagonal (D A D with D = diag(1/√aᵢᵢ)), so that the singularity test
/// does not depend on the units of the columns.
#[derive(Debug, Clone)]
pub(crate) struct Cholesky {
    k: usize,
    /// Lower triangle of the factor of D A D, row-major k × k.
    l: Vec<f64>,
    /// The diagonal of D.
    scale: Vec<f64>,
}

impl Cholesky {
    /// Factorise `a` (row-major k × k; only the lower triangle, j ≤ i, is read), or `None`
    /// when it is not positive definite to working precision: a diagonal element that is
    /// not finite and positive, or a scaled pivot below [`MIN_PIVOT`].
    pub(crate) fn new(a: &[f64], k: usize) -> Option<Self> {
        if a.len() != k * k {
            return None;
        }
        let mut scale = Vec::with_capacity(k);
        for i in 0..k {
            let d = a[i * k + i];
            if !(d > 0.0 && d.is_finite()) {
                return None;
            }
            scale.push(1.0 / d.sqrt());
        }
        let mut l = vec![0.0; k * k];
        for i in 0..k {
            for j in 0..=i {
                let mut s = a[i * k + j] * scale[i] * scale[j];
                for m in 0..j {
                    s -= l[i * k + m] * l[j * k + m];
                }
                if i == j {
                    if s.is_nan() || s <= MIN_PIVOT {
                        return None;
                    }
                    l[i * k + i] = s.sqrt();
                } else {
                    l[i * k + j] = s / l[j * k + j];
                }
            }
        }
        if l.iter().all(|v| v.is_finite()) { Some(Cholesky { k, l, scale }) } else { None }
    }

    /// The solution x of A x = b, written to `x` (both of length k).
    pub(crate) fn solve_into(&self, b: &[f64], x: &mut [f64]) {
        let k = self.k;
        // A = D⁻¹ L Lᵀ D⁻¹, so x = D (L Lᵀ)⁻¹ D b.
        for i in 0..k {
            let row = &self.l[i * k..i * k + i];
            let s = b[i] * self.scale[i] - row.iter().zip(&x[..i]).map(|(l, v)| l * v).sum::<f64>();
            x[i] = s / self.l[i * k + i];
        }
        for i in (0..k).rev() {
            let below: f64 =
                x[i + 1..].iter().enumerate().map(|(d, v)| self.l[(i + 1 + d) * k + i] * v).sum();
            x[i] = (x[i] - below) / self.l[i * k + i];
        }
        for (v, d) in x.iter_mut().zip(&self.scale) {
            *v *= d;
        }
    }

    /// A⁻¹, made exactly symmetric.
    pub(crate) fn inverse(&self) -> Matrix {
        let k = self.k;
        let mut inv = vec![vec![0.0; k]; k];
        let mut e = vec![0.0; k];
        let mut col = vec![0.0; k];
        for j in 0..k {
            e.fill(0.0);
            e[j] = 1.0;
            self.solve_into(&e, &mut col);
            for (row, v) in inv.iter_mut().zip(&col) {
                row[j] = *v;
            }
        }
        symmetrize(&mut inv);
        inv
    }
}

/// Replace each off-diagonal pair of a square matrix by its mean, so rounding leaves no
/// asymmetry in a covariance.
pub(crate) fn symmetrize(m: &mut Matrix) {
    for p in 1..m.len() {
        let (upper, lower) = m.split_at_mut(p);
        for (q, row_q) in upper.iter_mut().enumerate() {
            let v = 0.5 * (lower[0][q] + row_q[p]);
            lower[0][q] = v;
            row_q[p] = v;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inverse_times_matrix_is_identity() {
        let a = vec![vec![4.0, 1.0, 2.0], vec![1.0, 3.0, 0.5], vec![2.0, 0.5, 5.0]];
        let inv = invert(&a).unwrap();
        let id = mul(&a, &inv);
        for (i, row) in id.iter().enumerate() {
            for (j, v) in row.iter().enumerate() {
                assert!((v - f64::from(u8::from(i == j))).abs() < 1e-12);
            }
        }
        assert!(invert(&vec![vec![1.0, 2.0], vec![2.0, 4.0]]).is_none());
        assert_eq!(mul_vec(&a, &[1.0, 0.0, 0.0]), vec![4.0, 1.0, 2.0]);
    }

    #[test]
    fn cholesky_solves_and_inverts_badly_scaled_systems() {
        // Columns in very different units (an indicator and an income in kroner): the
        // scaled factorisation is indifferent to units.
        let a = vec![vec![4.0, 1e3, 2.0], vec![1e3, 3e6, 5e2], vec![2.0, 5e2, 5.0]];
        let flat: Vec<f64> = a.iter().flatten().copied().collect();
        let c = Cholesky::new(&flat, 3).unwrap();
        let inv = c.inverse();
        let gj = invert(&a).unwrap();
        for (r1, r2) in inv.iter().zip(&gj) {
            for (v1, v2) in r1.iter().zip(r2) {
                assert!((v1 - v2).abs() <= 1e-12 * v2.abs().max(1e-300), "{v1} vs {v2}");
            }
        }
        let mut x = [0.0; 3];
        c.solve_into(&[1.0, 2.0, 3.0], &mut x);
        let back = mul_vec(&a, &x);
        for (v, want) in back.iter().zip([1.0, 2.0, 3.0]) {
            assert!((v - want).abs() < 1e-9, "{v} vs {want}");
        }
        // Singular, not positive definite, non-finite, wrong size.
        assert!(Cholesky::new(&[1.0, 2.0, 2.0, 4.0], 2).is_none());
        assert!(Cholesky::new(&[1.0, 2.0, 2.0, 1.0], 2).is_none());
        assert!(Cholesky::new(&[0.0, 0.0, 0.0, 1.0], 2).is_none());
        assert!(Cholesky::new(&[f64::NAN, 0.0, 0.0, 1.0], 2).is_none());
        assert!(Cholesky::new(&[1.0, f64::INFINITY, f64::INFINITY, 1.0], 2).is_none());
        assert!(Cholesky::new(&[1.0], 2).is_none());
    }
}

//! Adjusted p-values for many comparisons, as R's `p.adjust`: Holm, Benjamini–Hochberg and
//! Bonferroni. Missing p-values stay missing and do not count towards m.

use crate::StatsError;

/// An adjustment method.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Adjustment {
    /// Holm (1979) step-down; controls the family-wise error rate.
    Holm,
    /// Benjamini & Hochberg (1995); controls the false discovery rate.
    BenjaminiHochberg,
    /// Bonferroni.
    Bonferroni,
}

/// Adjusted p-values in input order.
pub fn p_adjust(p: &[Option<f64>], method: Adjustment) -> Result<Vec<Option<f64>>, StatsError> {
    if let Some(bad) = p.iter().flatten().find(|v| !(0.0..=1.0).contains(*v)) {
        return Err(StatsError::OutOfRange { what: "p", value: *bad, range: "[0, 1]" });
    }
    let present: Vec<(usize, f64)> =
        p.iter().enumerate().filter_map(|(i, v)| Some((i, (*v)?))).collect();
    let m = present.len() as f64;
    let mut out = vec![None; p.len()];
    let mut order = present.clone();
    match method {
        Adjustment::Bonferroni => {
            for (i, v) in present {
                out[i] = Some((v * m).min(1.0));
            }
        }
        Adjustment::Holm => {
            order.sort_by(|a, b| a.1.total_cmp(&b.1));
            let mut running: f64 = 0.0;
            for (rank, (i, v)) in order.into_iter().enumerate() {
                running = running.max((m - rank as f64) * v);
                out[i] = Some(running.min(1.0));
            }
        }
        Adjustment::BenjaminiHochberg => {
            order.sort_by(|a, b| b.1.total_cmp(&a.1));
            let mut running: f64 = 1.0;
            for (k, (i, v)) in order.into_iter().enumerate() {
                let rank = m - k as f64;
                running = running.min(m / rank * v);
                out[i] = Some(running.min(1.0));
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn matches_r_p_adjust() {
        // R: p <- c(0.01, 0.04, 0.03, 0.005, NA, 0.5)
        // p.adjust(p, "holm")       0.04 0.09 0.09 0.025 NA 0.5
        // p.adjust(p, "BH")         0.025 0.05 0.05 0.025 NA 0.5
        // p.adjust(p, "bonferroni") 0.05 0.2 0.15 0.025 NA 1
        let p = [Some(0.01), Some(0.04), Some(0.03), Some(0.005), None, Some(0.5)];
        let round = |v: Vec<Option<f64>>| -> Vec<Option<f64>> {
            v.into_iter().map(|x| x.map(|y| (y * 1e12).round() / 1e12)).collect()
        };
        assert_eq!(
            round(p_adjust(&p, Adjustment::Holm).unwrap()),
            vec![Some(0.04), Some(0.09), Some(0.09), Some(0.025), None, Some(0.5)]
        );
        assert_eq!(
            round(p_adjust(&p, Adjustment::BenjaminiHochberg).unwrap()),
            vec![Some(0.025), Some(0.05), Some(0.05), Some(0.025), None, Some(0.5)]
        );
        assert_eq!(
            round(p_adjust(&p, Adjustment::Bonferroni).unwrap()),
            vec![Some(0.05), Some(0.2), Some(0.15), Some(0.025), None, Some(1.0)]
        );
        assert!(p_adjust(&[Some(1.5)], Adjustment::Holm).is_err());
    }

    proptest! {
        #[test]
        fn adjusted_are_at_least_raw_and_keep_the_order(p in proptest::collection::vec(0.0f64..=1.0, 1..30)) {
            let raw: Vec<Option<f64>> = p.iter().map(|v| Some(*v)).collect();
            for method in [Adjustment::Holm, Adjustment::BenjaminiHochberg, Adjustment::Bonferroni] {
                let adj: Vec<f64> = p_adjust(&raw, method).unwrap().into_iter().flatten().collect();
                for (a, r) in adj.iter().zip(&p) {
                    prop_assert!(*a >= *r - 1e-15 && *a <= 1.0);
                }
                for i in 0..p.len() {
                    for j in 0..p.len() {
                        if p[i] < p[j] {
                            prop_assert!(adj[i] <= adj[j] + 1e-15);
                        }
                    }
                }
            }
        }
    }
}

//! Internal consistency: Cronbach's alpha and alpha with each item dropped.

use crate::describe::variance;
use crate::{Extra, StatResult, StatsError};

/// Cronbach's alpha of a respondents × items matrix, complete cases only (rows with a
/// missing item are dropped and counted): α = k/(k − 1) · (1 − Σ var(item)/var(total)).
/// `alpha_if_dropped` lists alpha without each item. Matches R's `psych::alpha(x)$total$raw_alpha`
/// and `pingouin.cronbach_alpha`.
pub fn cronbach_alpha(matrix: &[Vec<Option<f64>>]) -> Result<StatResult, StatsError> {
    crate::error::check_finite("matrix", matrix.iter().flatten().flatten())?;
    let k = matrix.first().map_or(0, Vec::len);
    if k < 2 {
        return Err(StatsError::TooFew { what: "Cronbach's alpha (items)", needed: 2, got: k });
    }
    if let Some(row) = matrix.iter().find(|r| r.len() != k) {
        return Err(StatsError::UnequalLengths {
            what: "respondent rows",
            left: k,
            right: row.len(),
        });
    }
    let complete: Vec<Vec<f64>> =
        matrix.iter().filter_map(|r| r.iter().copied().collect::<Option<Vec<f64>>>()).collect();
    let n = complete.len();
    if n < 2 {
        return Err(StatsError::TooFew {
            what: "Cronbach's alpha (complete respondents)",
            needed: 2,
            got: n,
        });
    }
    let alpha = |items: &[usize]| -> Option<f64> {
        let kk = items.len() as f64;
        let item_var: f64 = items
            .iter()
            .map(|&i| variance(&complete.iter().map(|r| r[i]).collect::<Vec<_>>()))
            .sum();
        let totals: Vec<f64> = complete.iter().map(|r| items.iter().map(|&i| r[i]).sum()).collect();
        let total_var = variance(&totals);
        (total_var > 0.0 && kk > 1.0).then(|| kk / (kk - 1.0) * (1.0 - item_var / total_var))
    };
    let all: Vec<usize> = (0..k).collect();
    let estimate = alpha(&all).ok_or(StatsError::ZeroVariance("Cronbach's alpha (total score)"))?;
    let dropped: Vec<Option<f64>> = (0..k)
        .map(|drop| alpha(&all.iter().copied().filter(|&i| i != drop).collect::<Vec<_>>()))
        .collect();
    let mut r = StatResult::new("Cronbach's alpha", n);
    r.estimate = Some(estimate);
    r.extras.push(("alpha_if_dropped", Extra::Numbers(dropped)));
    Ok(r.with("n_missing", (matrix.len() - n) as f64).with("items", k as f64))
}

#[cfg(test)]
mod tests {
    use super::*;
    const REF: [f64; 5] = [
        0.944_320_712_694_877_6,
        0.907_258_064_516_129_2,
        0.952_218_430_034_129_5,
        0.934_615_384_615_384_6,
        0.907_894_736_842_105_3,
    ];

    #[test]
    fn matches_pingouin() {
        // numpy: k/(k-1) * (1 - M.var(axis=0, ddof=1).sum() / M.sum(axis=1).var(ddof=1)) on the
        // six complete rows (R psych::alpha's raw_alpha is the same formula); dropped-item
        // alphas with np.delete(M, i, axis=1).
        let m: Vec<Vec<Option<f64>>> = [
            [4.0, 5.0, 4.0, 3.0],
            [3.0, 4.0, 3.0, 3.0],
            [5.0, 5.0, 4.0, 4.0],
            [2.0, 3.0, 2.0, 1.0],
            [4.0, 4.0, 5.0, 4.0],
            [3.0, 3.0, 3.0, 2.0],
        ]
        .iter()
        .map(|r| r.iter().map(|v| Some(*v)).collect())
        .chain(std::iter::once(vec![Some(1.0), None, Some(2.0), Some(3.0)]))
        .collect();
        let r = cronbach_alpha(&m).unwrap();
        assert_eq!((r.n, r.extra("n_missing")), (6, Some(1.0)));
        assert!((r.estimate.unwrap() - REF[0]).abs() < 1e-12, "{:?}", r.estimate);
        let Some((_, Extra::Numbers(dropped))) =
            r.extras.iter().find(|(n, _)| *n == "alpha_if_dropped")
        else {
            panic!()
        };
        for (got, want) in dropped.iter().zip(&REF[1..]) {
            assert!((got.unwrap() - want).abs() < 1e-12, "{got:?} {want}");
        }
    }
}

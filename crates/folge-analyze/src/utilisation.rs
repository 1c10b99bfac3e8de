//! How concentrated service use is before inclusion: the share of all use held by the
//! top 5 % and 10 % of persons, the Gini coefficient, and the Lorenz curve in percent
//! steps. Over persons with exposure in the period, each person's value in it (bed-days,
//! contacts, hours): for both arms together (`arm` null), then for each arm.

use std::collections::BTreeMap;

use folge_schema::Arm;
use folge_schema::tables::{IndicatorRow, LorenzRow, UtilisationRow};

use crate::Indicator;
use crate::comparisons::{PersonValue, views};

/// The heaviest users' shares of persons reported.
pub const TOP_SHARES: [f64; 2] = [0.05, 0.10];

/// Concentration of each indicator's use in `period` (mortality is not use: left out).
pub fn utilisation(rows: &[IndicatorRow], period: &str) -> (Vec<UtilisationRow>, Vec<LorenzRow>) {
    let in_period: Vec<IndicatorRow> =
        rows.iter().filter(|r| r.period == period).cloned().collect();
    // One window left: the first (and only) one the views number.
    utilisation_of(&views(&in_period), (0, period))
}

/// [`utilisation`] on borrowed person-level values, over the rows of `window` (its
/// position and name).
pub(crate) fn utilisation_of(
    rows: &[PersonValue<'_>],
    (window, period): (usize, &str),
) -> (Vec<UtilisationRow>, Vec<LorenzRow>) {
    // By id, then both arms together before each arm (None sorts first).
    let mut values: BTreeMap<(&str, Option<Arm>), Vec<f64>> = BTreeMap::new();
    for r in rows.iter().filter(|r| {
        r.window == window && r.exposure_days > 0 && r.indicator != Indicator::Mortality
    }) {
        for arm in [None, Some(r.arm)] {
            values.entry((r.indicator.id(), arm)).or_default().push(r.value);
        }
    }
    let (mut shares, mut curve) = (Vec::new(), Vec::new());
    for ((indicator, arm), mut v) in values {
        v.sort_by(f64::total_cmp);
        let n = v.len();
        let total: f64 = v.iter().sum();
        // Gini from the sorted values: Σ (2i − n − 1) x_i / (n Σ x), i = 1..n.
        let gini = (total > 0.0).then(|| {
            v.iter()
                .enumerate()
                .map(|(i, x)| (2.0 * (i as f64 + 1.0) - n as f64 - 1.0) * x)
                .sum::<f64>()
                / (n as f64 * total)
        });
        for top in TOP_SHARES {
            let n_top = (top * n as f64).ceil() as usize;
            let heaviest: f64 = v[n - n_top..].iter().sum();
            shares.push(UtilisationRow {
                indicator: indicator.to_owned(),
                period: period.to_owned(),
                arm,
                top_share: top,
                n_top: n_top as i64,
                n_persons: n as i64,
                share_of_use: (total > 0.0).then(|| heaviest / total),
                gini,
            });
        }
        if total > 0.0 {
            // Cumulative use of the lightest floor(p·n) persons, p = 0 %, 1 %, …, 100 %.
            let mut cumulative = vec![0.0];
            for x in &v {
                cumulative.push(cumulative.last().copied().unwrap_or(0.0) + x);
            }
            for percent in 0..=100u32 {
                let k = (f64::from(percent) / 100.0 * n as f64).floor() as usize;
                curve.push(LorenzRow {
                    indicator: indicator.to_owned(),
                    period: period.to_owned(),
                    arm,
                    persons_share: f64::from(percent) / 100.0,
                    use_share: cumulative[k] / total,
                });
            }
        }
    }
    (shares, curve)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(pid: usize, value: f64) -> IndicatorRow {
        IndicatorRow {
            pid: folge_schema::Pseudonym::from_bytes((pid as u128).to_be_bytes()),
            municipality: "4601".into(),
            arm: Arm::Pilot,
            target_group: None,
            period: "before".into(),
            indicator: "bed_days".into(),
            value,
            exposure_days: 365,
            rate_per_py: None,
        }
    }

    #[test]
    fn the_top_users_share_gini_and_lorenz_by_hand() {
        // 20 persons: one uses 50 bed-days, one 30, eighteen 1 each (total 98).
        let mut rows: Vec<IndicatorRow> = (0..18).map(|i| row(i, 1.0)).collect();
        rows.push(row(18, 30.0));
        rows.push(row(19, 50.0));
        let (shares, curve) = utilisation(&rows, "before");
        // Top 5 % = 1 person: 50 / 98; top 10 % = 2 persons: 80 / 98.
        assert_eq!((shares[0].n_top, shares[1].n_top), (1, 2));
        assert!((shares[0].share_of_use.unwrap() - 50.0 / 98.0).abs() < 1e-12);
        assert!((shares[1].share_of_use.unwrap() - 80.0 / 98.0).abs() < 1e-12);
        // Gini: Σ (2i − 21) x_i over i = 1..20, sorted ascending: the eighteen ones give
        // Σ_{i=1}^{18} (2i − 21) = −36, then 17·30 + 19·50 = 1460; (1460 − 36) / (20·98).
        let expected = (1460.0 - 36.0) / (20.0 * 98.0);
        assert!((shares[0].gini.unwrap() - expected).abs() < 1e-12);
        // Both arms together first, then the one arm all twenty are in: the same numbers.
        assert_eq!((shares.len(), shares[0].arm, shares[2].arm), (4, None, Some(Arm::Pilot)));
        assert_eq!(shares[0].gini, shares[2].gini);
        let curve: Vec<LorenzRow> = curve.into_iter().filter(|c| c.arm.is_none()).collect();
        assert_eq!(curve.len(), 101);
        assert_eq!((curve[0].use_share, curve[100].use_share), (0.0, 1.0));
        // The lightest 90 % (18 persons) hold 18 of 98.
        assert!((curve[90].use_share - 18.0 / 98.0).abs() < 1e-12);
    }

    #[test]
    fn nobody_using_anything_gives_no_shares() {
        let rows: Vec<IndicatorRow> = (0..10).map(|i| row(i, 0.0)).collect();
        let (shares, curve) = utilisation(&rows, "before");
        assert!(shares.iter().all(|s| s.share_of_use.is_none() && s.gini.is_none()));
        assert!(curve.is_empty());
    }
}

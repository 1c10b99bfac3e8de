//! Disclosure control for the research extract: k-anonymity over quasi-identifiers, and
//! the steps that reach it.
//!
//! A record's equivalence class is every record it cannot be told apart from on the
//! quasi-identifiers. A suppressed (null) cell matches any value, as in sdcMicro's
//! frequency counts, so suppressing a cell can only grow classes. Risk is the prosecutor
//! model's: a record in a class of size f is re-identified with probability 1/f by someone
//! who knows the person is in the data.
//!
//! Reaching k: first the configured generalisation (municipalities with fewer persons than
//! a threshold merged into `other`), then local suppression — for each record still in a
//! class below k, null the fewest quasi-identifier cells, trying them in the configured
//! order (least important first), one cell at a time, until every class reaches k.

use std::collections::BTreeMap;

/// The records' quasi-identifier values, one row per record; `None` is suppressed.
pub type QuasiRows = Vec<Vec<Option<String>>>;

/// Class sizes and risk of a set of records.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct RiskReport {
    /// The quasi-identifiers, in order.
    pub quasi_identifiers: Vec<String>,
    /// The k asked for.
    pub k: usize,
    /// Records.
    pub records: usize,
    /// Distinct combinations of quasi-identifier values.
    pub classes: usize,
    /// Class size → records whose class has that size.
    pub class_sizes: BTreeMap<usize, usize>,
    /// Records whose class is smaller than k.
    pub records_below_k: usize,
    /// Their share of all records.
    pub share_below_k: f64,
    /// Highest prosecutor risk (1 / smallest class).
    pub max_risk: f64,
    /// Mean prosecutor risk over records.
    pub mean_risk: f64,
}

/// Whether record `a` cannot be told apart from record `b` (nulls match anything).
fn compatible(a: &[Option<String>], b: &[Option<String>]) -> bool {
    a.iter().zip(b).all(|(x, y)| x.is_none() || y.is_none() || x == y)
}

/// Each record's class size. Computed over distinct value combinations (few: the product
/// of the categories), so it is quick for any number of records.
pub fn class_sizes(rows: &[Vec<Option<String>>]) -> Vec<usize> {
    let mut distinct: BTreeMap<&[Option<String>], usize> = BTreeMap::new();
    for row in rows {
        *distinct.entry(row.as_slice()).or_default() += 1;
    }
    let groups: Vec<(&[Option<String>], usize)> = distinct.into_iter().collect();
    let size_of: BTreeMap<&[Option<String>], usize> = groups
        .iter()
        .map(|(values, _)| {
            let size =
                groups.iter().filter(|(other, _)| compatible(values, other)).map(|(_, n)| n).sum();
            (*values, size)
        })
        .collect();
    rows.iter().map(|row| size_of[row.as_slice()]).collect()
}

/// Class sizes and prosecutor risk.
pub fn risk_report(
    quasi_identifiers: &[String],
    rows: &[Vec<Option<String>>],
    k: usize,
) -> RiskReport {
    let sizes = class_sizes(rows);
    let mut class_sizes: BTreeMap<usize, usize> = BTreeMap::new();
    for &size in &sizes {
        *class_sizes.entry(size).or_default() += 1;
    }
    let records = rows.len();
    let below = sizes.iter().filter(|&&s| s < k).count();
    let classes = rows.iter().map(Vec::as_slice).collect::<std::collections::BTreeSet<_>>().len();
    RiskReport {
        quasi_identifiers: quasi_identifiers.to_vec(),
        k,
        records,
        classes,
        class_sizes,
        records_below_k: below,
        share_below_k: if records == 0 { 0.0 } else { below as f64 / records as f64 },
        max_risk: sizes.iter().min().map_or(0.0, |&s| 1.0 / s as f64),
        mean_risk: if records == 0 {
            0.0
        } else {
            sizes.iter().map(|&s| 1.0 / s as f64).sum::<f64>() / records as f64
        },
    }
}

/// Merge the values of `column` held by fewer than `min_records` records into `other`
/// (e.g. municipalities with few persons). Returns the merged values and how many
/// records changed.
pub fn merge_small_values(
    rows: &mut [Vec<Option<String>>],
    column: usize,
    min_records: usize,
    other: &str,
) -> (Vec<String>, usize) {
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    for row in rows.iter() {
        if let Some(v) = &row[column] {
            *counts.entry(v.clone()).or_default() += 1;
        }
    }
    let small: Vec<String> =
        counts.into_iter().filter(|(_, n)| *n < min_records).map(|(v, _)| v).collect();
    let mut changed = 0;
    for row in rows.iter_mut() {
        if row[column].as_ref().is_some_and(|v| small.contains(v)) {
            row[column] = Some(other.to_owned());
            changed += 1;
        }
    }
    (small, changed)
}

/// Null quasi-identifier cells until every record's class has at least `k` records.
/// `order` lists column indexes to suppress first (least important first). Greedy and
/// deterministic: records are taken in order; for each, the single cell (in `order`) whose
/// suppression lifts it to k is nulled, else the first cell in `order` that is not null
/// yet, and the record is looked at again. Returns the cells nulled per column.
pub fn suppress_to_k(rows: &mut [Vec<Option<String>>], k: usize, order: &[usize]) -> Vec<usize> {
    let columns = rows.first().map_or(0, Vec::len);
    let mut nulled = vec![0; columns];
    if rows.len() < k {
        // No amount of suppression makes fewer than k records k-anonymous; null all.
        for row in rows.iter_mut() {
            for (c, cell) in row.iter_mut().enumerate() {
                if cell.take().is_some() {
                    nulled[c] += 1;
                }
            }
        }
        return nulled;
    }
    loop {
        let sizes = class_sizes(rows);
        let Some(record) = sizes.iter().position(|&s| s < k) else {
            return nulled;
        };
        let candidates: Vec<usize> =
            order.iter().copied().filter(|&c| rows[record][c].is_some()).collect();
        let Some(&first) = candidates.first() else {
            // Every cell of the record is already null: it matches every record.
            return nulled;
        };
        let lifts = candidates.iter().copied().find(|&c| {
            let mut trial = rows[record].clone();
            trial[c] = None;
            rows.iter()
                .enumerate()
                .filter(|(i, other)| *i == record || compatible(&trial, other))
                .count()
                >= k
        });
        let column = lifts.unwrap_or(first);
        rows[record][column] = None;
        nulled[column] += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(table: &[[&str; 3]]) -> QuasiRows {
        table
            .iter()
            .map(|r| r.iter().map(|v| (*v != "*").then(|| (*v).to_owned())).collect())
            .collect()
    }

    /// The worked example: ten records on (age band, sex, municipality).
    fn example() -> QuasiRows {
        rows(&[
            ["80+", "K", "4601"],
            ["80+", "K", "4601"],
            ["80+", "K", "4601"],
            ["80+", "M", "4601"],
            ["80+", "M", "4601"],
            ["67-79", "K", "4624"],
            ["67-79", "K", "4624"],
            ["67-79", "M", "4624"],
            ["67-79", "M", "4631"],
            ["18-66", "K", "4631"],
        ])
    }

    #[test]
    fn class_sizes_and_prosecutor_risk_on_a_worked_example() {
        let qi = ["age_band", "sex", "municipality"].map(str::to_owned);
        let report = risk_report(&qi, &example(), 3);
        // Classes: {3, 2, 2, 1, 1, 1}; records in classes below 3: 2 + 2 + 1 + 1 + 1 = 7.
        assert_eq!(report.classes, 6);
        assert_eq!(report.class_sizes, BTreeMap::from([(1, 3), (2, 4), (3, 3)]));
        assert_eq!(report.records_below_k, 7);
        assert!((report.share_below_k - 0.7).abs() < 1e-12);
        assert!((report.max_risk - 1.0).abs() < 1e-12);
        // Mean of 1/3 ×3, 1/2 ×4, 1 ×3 over 10 = (1 + 2 + 3) / 10.
        assert!((report.mean_risk - 0.6).abs() < 1e-12);
        // A null matches anything: (*, K, 4601) is one class with all five 80+/4601 Ks…
        let mut r = example();
        r[3][1] = None;
        assert_eq!(class_sizes(&r)[3], 5, "80+, *, 4601 matches all five 80+ in 4601");
        assert_eq!(class_sizes(&r)[0], 4, "… and the three Ks see it too");
    }

    #[test]
    fn generalisation_then_suppression_reaches_k_and_says_what_changed() {
        let mut r = example();
        let (merged, changed) = merge_small_values(&mut r, 2, 3, "other");
        assert_eq!((merged, changed), (vec!["4631".to_owned()], 2));
        let nulled = suppress_to_k(&mut r, 3, &[1, 0, 2]);
        assert!(class_sizes(&r).iter().all(|&s| s >= 3), "{r:?}");
        // Worked by hand, sex first, then age band, then municipality:
        // - 80+ men of 4601 (2): without sex they join the three women → 5.
        // - 67-79 women of 4624 (2): without sex they join the man of 4624 → 3.
        // - the 67-79 man of `other` (1): no sex → 1, no age → 1, no municipality → 4. ✓
        // - the 18-66 woman of `other` (1): no single cell lifts her; sex, then age band
        //   (→ 2, with the man above), then municipality: fully suppressed → 10.
        assert_eq!(nulled, [1, 5, 2], "age band, sex, municipality");
        let expected = rows(&[
            ["80+", "K", "4601"],
            ["80+", "K", "4601"],
            ["80+", "K", "4601"],
            ["80+", "*", "4601"],
            ["80+", "*", "4601"],
            ["67-79", "*", "4624"],
            ["67-79", "*", "4624"],
            ["67-79", "M", "4624"],
            ["67-79", "M", "*"],
            ["*", "*", "*"],
        ]);
        assert_eq!(r, expected);
        // Already k-anonymous: nothing to do.
        let mut fine = rows(&[["a", "b", "c"], ["a", "b", "c"], ["a", "b", "c"]]);
        assert_eq!(suppress_to_k(&mut fine, 3, &[0, 1, 2]), vec![0, 0, 0]);
    }
}

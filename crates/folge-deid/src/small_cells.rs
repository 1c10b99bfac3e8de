//! The small-cell rule for published tables, as Norwegian health statistics practise it
//! (Helsedirektoratet, Kommunehelsa, SSB's ":"): primary suppression of small counts and
//! of shares whose numerator, complement or denominator is small, then secondary
//! suppression so that no hidden value can be worked out from the row and column totals.
//!
//! Secondary suppression treats a table with its margins as one (rows + 1) × (columns + 1)
//! grid in which every row and every column sums to its total. A hidden entry is safe when
//! it lies on a cycle of hidden entries (alternately in one row and one column): moving
//! one unit around the cycle keeps every published total, so the entry cannot be solved
//! for. The procedure hides further entries — the smallest positive visible cell of the
//! line that needs one — until every hidden entry is on such a cycle.

/// The small-cell rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SmallCellRule {
    /// Counts 1..threshold−1 and denominators below it are suppressed (default 5).
    pub threshold: u32,
}

impl Default for SmallCellRule {
    fn default() -> Self {
        SmallCellRule { threshold: 5 }
    }
}

impl SmallCellRule {
    /// Whether a count of persons or events must be hidden. Zero is shown: it reveals
    /// nothing about a person.
    pub fn hides_count(self, count: f64) -> bool {
        count > 0.0 && count < f64::from(self.threshold)
    }

    /// Whether a rate with this numerator over this many persons must be hidden.
    pub fn hides_rate(self, numerator: f64, persons: i64) -> bool {
        self.hides_count(numerator) || persons < i64::from(self.threshold)
    }

    /// Whether a whole series (a figure's line or group of bars) is hidden: when most of
    /// its points are, the few left would only invite guessing at the rest.
    pub fn hides_series(self, hidden_points: usize, points: usize) -> bool {
        2 * hidden_points > points
    }

    /// Whether a share (`numerator` of `denominator` persons) must be hidden: a small
    /// numerator, a small complement (`denominator − numerator`: "all but 2"), or a small
    /// denominator.
    pub fn hides_share(self, numerator: f64, denominator: f64) -> bool {
        self.hides_count(numerator)
            || self.hides_count(denominator - numerator)
            || denominator < f64::from(self.threshold)
    }
}

/// Which entries of a table with margins are hidden.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Suppression {
    /// Body cells, rows × columns.
    pub cells: Vec<Vec<bool>>,
    /// Row totals.
    pub row_totals: Vec<bool>,
    /// Column totals.
    pub column_totals: Vec<bool>,
    /// The grand total.
    pub grand_total: bool,
    /// Entries hidden only to protect others.
    pub secondary: usize,
}

/// Suppress a table of counts published with its row, column and grand totals.
pub fn suppress_table(rule: SmallCellRule, cells: &[Vec<u64>]) -> Suppression {
    let rows = cells.len();
    let columns = cells.first().map_or(0, Vec::len);
    // The grid with margins: row `rows` holds the column totals, column `columns` the row
    // totals, and the corner the grand total.
    let mut grid = vec![vec![0u64; columns + 1]; rows + 1];
    for (r, row) in cells.iter().enumerate() {
        for (c, &v) in row.iter().enumerate() {
            grid[r][c] = v;
            grid[r][columns] += v;
            grid[rows][c] += v;
            grid[rows][columns] += v;
        }
    }
    let mut hidden: Vec<Vec<bool>> =
        grid.iter().map(|row| row.iter().map(|&v| rule.hides_count(v as f64)).collect()).collect();
    let primary: usize = hidden.iter().flatten().filter(|&&h| h).count();
    // Each round hides one more entry for the first exposed entry that has a visible
    // neighbour; it ends when none is exposed, or none of them can be helped.
    'rounds: loop {
        for (r, c) in exposed(&hidden) {
            // The smallest positive visible entry of its row or column, body cells before
            // totals; any visible entry as a last resort.
            let in_row = (0..=columns).filter(|&j| j != c && !hidden[r][j]).map(|j| (r, j));
            let in_column = (0..=rows).filter(|&i| i != r && !hidden[i][c]).map(|i| (i, c));
            let candidates: Vec<(usize, usize)> = in_row.chain(in_column).collect();
            let pick = candidates
                .iter()
                .copied()
                .filter(|&(i, j)| grid[i][j] > 0)
                .min_by_key(|&(i, j)| (i == rows || j == columns, grid[i][j], i, j))
                .or_else(|| candidates.first().copied());
            if let Some((i, j)) = pick {
                hidden[i][j] = true;
                continue 'rounds;
            }
        }
        break;
    }
    let total: usize = hidden.iter().flatten().filter(|&&h| h).count();
    Suppression {
        cells: hidden[..rows].iter().map(|row| row[..columns].to_vec()).collect(),
        row_totals: hidden[..rows].iter().map(|row| row[columns]).collect(),
        column_totals: hidden[rows][..columns].to_vec(),
        grand_total: hidden[rows][columns],
        secondary: total - primary,
    }
}

/// The hidden entries that are not on a cycle of hidden entries (and so could be solved
/// for), in row order.
fn exposed(hidden: &[Vec<bool>]) -> Vec<(usize, usize)> {
    let entries: Vec<(usize, usize)> = hidden
        .iter()
        .enumerate()
        .flat_map(|(r, row)| row.iter().enumerate().filter(|(_, h)| **h).map(move |(c, _)| (r, c)))
        .collect();
    let rows = hidden.len();
    // Bipartite graph: row nodes 0..rows, column nodes rows..; each hidden entry an edge.
    // An edge is on a cycle when its ends stay connected without it.
    entries
        .iter()
        .copied()
        .filter(|&(r, c)| {
            let mut seen = vec![false; rows + hidden.first().map_or(0, Vec::len)];
            let mut stack = vec![r];
            seen[r] = true;
            while let Some(node) = stack.pop() {
                for &(er, ec) in &entries {
                    if (er, ec) == (r, c) {
                        continue;
                    }
                    let (a, b) = (er, rows + ec);
                    let next = if node == a {
                        b
                    } else if node == b {
                        a
                    } else {
                        continue;
                    };
                    if !seen[next] {
                        seen[next] = true;
                        stack.push(next);
                    }
                }
            }
            !seen[rows + c]
        })
        .collect()
}

#[cfg(test)]
#[expect(
    clippy::needless_range_loop,
    clippy::items_after_statements,
    reason = "the test solver does grid arithmetic, clearest with row and column indexes"
)]
mod tests {
    use super::*;

    #[test]
    fn primary_rules_counts_rates_and_shares() {
        let rule = SmallCellRule::default();
        assert!(!rule.hides_count(0.0));
        assert!(rule.hides_count(1.0) && rule.hides_count(4.0));
        assert!(!rule.hides_count(5.0));
        assert!(rule.hides_rate(10.0, 4));
        assert!(rule.hides_rate(3.0, 100));
        assert!(!rule.hides_rate(0.0, 5));
        // 48 of 50: "all but 2" tells about the two.
        assert!(rule.hides_share(48.0, 50.0));
        assert!(!rule.hides_share(45.0, 50.0));
        assert!(rule.hides_share(3.0, 50.0) && rule.hides_share(0.0, 4.0));
        assert!(!rule.hides_share(50.0, 50.0), "all: the complement 0 reveals nobody");
        assert!(rule.hides_series(3, 4) && !rule.hides_series(2, 4) && !rule.hides_series(0, 0));
    }

    /// Every assignment of the hidden entries that keeps the visible entries and every
    /// row and column sum of the grid with margins. Brute force over 0..=grand total.
    fn solutions(cells: &[Vec<u64>], s: &Suppression) -> Vec<Vec<u64>> {
        let rows = cells.len();
        let columns = cells[0].len();
        let mut grid = vec![vec![0u64; columns + 1]; rows + 1];
        let mut hidden = vec![vec![false; columns + 1]; rows + 1];
        for r in 0..rows {
            for c in 0..columns {
                grid[r][c] = cells[r][c];
                grid[r][columns] += cells[r][c];
                grid[rows][c] += cells[r][c];
                grid[rows][columns] += cells[r][c];
                hidden[r][c] = s.cells[r][c];
            }
            hidden[r][columns] = s.row_totals[r];
        }
        for c in 0..columns {
            hidden[rows][c] = s.column_totals[c];
        }
        hidden[rows][columns] = s.grand_total;
        let unknown: Vec<(usize, usize)> = (0..=rows)
            .flat_map(|r| (0..=columns).map(move |c| (r, c)))
            .filter(|&(r, c)| hidden[r][c])
            .collect();
        let limit = grid[rows][columns];
        let mut found = Vec::new();
        let mut trial = grid.clone();
        fn search(
            i: usize,
            unknown: &[(usize, usize)],
            trial: &mut Vec<Vec<u64>>,
            limit: u64,
            found: &mut Vec<Vec<u64>>,
        ) {
            if i == unknown.len() {
                let (rows, columns) = (trial.len() - 1, trial[0].len() - 1);
                let rows_ok = (0..=rows)
                    .all(|r| trial[r][..columns].iter().sum::<u64>() == trial[r][columns]);
                let columns_ok = (0..=columns)
                    .all(|c| (0..rows).map(|r| trial[r][c]).sum::<u64>() == trial[rows][c]);
                if rows_ok && columns_ok {
                    found.push(unknown.iter().map(|&(r, c)| trial[r][c]).collect());
                }
                return;
            }
            let (r, c) = unknown[i];
            for v in 0..=limit {
                trial[r][c] = v;
                search(i + 1, unknown, trial, limit, found);
            }
        }
        search(0, &unknown, &mut trial, limit, &mut found);
        found
    }

    /// The grid's hidden entries and, for each row and column line, its equation over
    /// them: +1 for a hidden body entry, −1 for a hidden total.
    fn equations(cells: &[Vec<u64>], s: &Suppression) -> (usize, Vec<Vec<f64>>) {
        let (rows, columns) = (cells.len(), cells[0].len());
        let mut hidden = vec![vec![false; columns + 1]; rows + 1];
        for r in 0..rows {
            for c in 0..columns {
                hidden[r][c] = s.cells[r][c];
            }
            hidden[r][columns] = s.row_totals[r];
        }
        for c in 0..columns {
            hidden[rows][c] = s.column_totals[c];
        }
        hidden[rows][columns] = s.grand_total;
        let mut index = vec![vec![None; columns + 1]; rows + 1];
        let mut n = 0;
        for r in 0..=rows {
            for c in 0..=columns {
                if hidden[r][c] {
                    index[r][c] = Some(n);
                    n += 1;
                }
            }
        }
        let mut equations = Vec::new();
        for r in 0..=rows {
            let mut e = vec![0.0; n];
            for c in 0..=columns {
                if let Some(i) = index[r][c] {
                    e[i] = if c == columns { -1.0 } else { 1.0 };
                }
            }
            equations.push(e);
        }
        for c in 0..=columns {
            let mut e = vec![0.0; n];
            for r in 0..=rows {
                if let Some(i) = index[r][c] {
                    e[i] = if r == rows { -1.0 } else { 1.0 };
                }
            }
            equations.push(e);
        }
        (n, equations)
    }

    fn rank(mut m: Vec<Vec<f64>>) -> usize {
        let columns = m.first().map_or(0, Vec::len);
        let mut rank = 0;
        for c in 0..columns {
            let Some(p) = (rank..m.len()).find(|&r| m[r][c].abs() > 1e-9) else { continue };
            m.swap(rank, p);
            for r in 0..m.len() {
                if r != rank && m[r][c].abs() > 1e-9 {
                    let f = m[r][c] / m[rank][c];
                    for k in 0..columns {
                        m[r][k] -= f * m[rank][k];
                    }
                }
            }
            rank += 1;
        }
        rank
    }

    /// Solve for the hidden entries: an entry is recoverable when its unit vector lies in
    /// the row space of the equations (adding it leaves the rank unchanged).
    #[track_caller]
    fn check_unsolvable(cells: &[Vec<u64>]) -> Suppression {
        let s = suppress_table(SmallCellRule::default(), cells);
        let (n, equations) = equations(cells, &s);
        assert!(n > 0);
        let base = rank(equations.clone());
        for i in 0..n {
            let mut with = equations.clone();
            let mut unit = vec![0.0; n];
            unit[i] = 1.0;
            with.push(unit);
            assert_eq!(rank(with), base + 1, "hidden entry {i} can be solved for in {s:?}");
        }
        s
    }

    #[track_caller]
    fn check_protected(cells: &[Vec<u64>]) -> Suppression {
        let s = suppress_table(SmallCellRule::default(), cells);
        let found = solutions(cells, &s);
        let hidden = found[0].len();
        assert!(hidden > 0);
        for i in 0..hidden {
            let values: std::collections::BTreeSet<u64> = found.iter().map(|f| f[i]).collect();
            assert!(values.len() >= 2, "hidden entry {i} has only {values:?} in {s:?}");
        }
        s
    }

    #[test]
    fn one_small_cell_needs_three_more_to_be_safe() {
        // Municipality × sex; 3 is small. Hiding it alone, the row total gives it away.
        let cells = vec![vec![12, 3], vec![10, 8]];
        let s = check_protected(&cells);
        assert_eq!(s.cells, vec![vec![true, true], vec![true, true]]);
        assert_eq!(s.secondary, 3);
        assert!(!s.grand_total && s.row_totals == [false, false]);
    }

    #[test]
    fn small_cells_in_a_larger_table_and_a_small_total() {
        let cells = vec![vec![20, 2, 15], vec![11, 9, 30], vec![6, 7, 1]];
        let s = check_unsolvable(&cells);
        // Both small cells are hidden, and so are enough others.
        assert!(s.cells[0][1] && s.cells[2][2]);
        assert!(s.secondary >= 2);
        // A row whose total is small: 1 + 2 + 0.
        let small_row = vec![vec![1, 2, 0], vec![9, 8, 7]];
        let s = check_unsolvable(&small_row);
        assert!(s.row_totals[0], "the total 3 is itself small");
    }

    #[test]
    fn the_solver_catches_a_hidden_entry_that_can_be_worked_out() {
        // Hiding only the small cell: the row equation gives it back.
        let cells = vec![vec![12, 3], vec![10, 8]];
        let mut s = suppress_table(SmallCellRule::default(), &cells);
        s.cells = vec![vec![false, true], vec![false, false]];
        let (n, equations) = equations(&cells, &s);
        let mut with = equations.clone();
        with.push(vec![1.0; n]);
        assert_eq!(rank(with), rank(equations), "one hidden cell is solvable");
    }

    proptest::proptest! {
        /// Whatever the table, no hidden entry can be solved for from the published ones.
        #[test]
        fn no_hidden_entry_can_be_solved_for(
            cells in proptest::collection::vec(proptest::collection::vec(0u64..25, 2..5), 2..5)
        ) {
            let columns = cells[0].len();
            let cells: Vec<Vec<u64>> = cells.into_iter().map(|mut r| { r.resize(columns, 7); r }).collect();
            let s = suppress_table(SmallCellRule::default(), &cells);
            let (n, equations) = equations(&cells, &s);
            let base = rank(equations.clone());
            for i in 0..n {
                let mut with = equations.clone();
                let mut unit = vec![0.0; n];
                unit[i] = 1.0;
                with.push(unit);
                proptest::prop_assert_eq!(rank(with), base + 1, "entry {} of {:?} in {:?}", i, s, cells);
            }
        }
    }

    #[test]
    fn nothing_small_nothing_hidden() {
        let s = suppress_table(SmallCellRule::default(), &[vec![5, 6], vec![7, 0]]);
        assert_eq!(s.secondary, 0);
        assert!(s.cells.iter().flatten().all(|h| !h));
    }
}

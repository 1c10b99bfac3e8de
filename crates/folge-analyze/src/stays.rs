//! Hospital stays from inpatient episodes, as NPR's sykehusopphold: an episode that starts
//! on or before the day the running stay ended continues it (transfers between wards or
//! hospitals), and the merged stay is acute if any of its episodes is.

/// One merged stay, days relative to inclusion.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stay {
    /// Admission day.
    pub start: i32,
    /// Discharge day (≥ start).
    pub end: i32,
    /// Acute (øyeblikkelig hjelp) if any episode was.
    pub acute: bool,
}

/// Merge one person's episodes `(start, end, acute)` into stays, sorted by start.
pub fn merge_stays(mut episodes: Vec<Stay>) -> Vec<Stay> {
    episodes.sort_by_key(|s| (s.start, s.end));
    let mut stays: Vec<Stay> = Vec::with_capacity(episodes.len());
    for e in episodes {
        match stays.last_mut() {
            Some(running) if e.start <= running.end => {
                running.end = running.end.max(e.end);
                running.acute |= e.acute;
            }
            _ => stays.push(e),
        }
    }
    stays
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(start: i32, end: i32, acute: bool) -> Stay {
        Stay { start, end, acute }
    }

    #[test]
    fn transfers_merge_and_keep_acuity() {
        let merged = merge_stays(vec![
            s(10, 12, false),
            s(0, 3, true),
            s(3, 5, false),
            s(12, 12, true),
            s(13, 14, false),
        ]);
        assert_eq!(merged, vec![s(0, 5, true), s(10, 12, true), s(13, 14, false)]);
    }
}

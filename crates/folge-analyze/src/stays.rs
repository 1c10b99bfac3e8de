//! Hospital stays from inpatient episodes, as NPR's sykehusopphold: an episode that starts
//! on or before the day the running stay ended continues it — or, when admission and
//! discharge times are delivered, one that starts less than the configured gap (8 hours by
//! default) after the running stay's discharge — so a transfer between wards or hospitals
//! is not a readmission. The merged stay is acute if any of its episodes is.

/// Minutes in a day.
const DAY: i64 = 24 * 60;

/// One merged stay, days relative to inclusion.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stay {
    /// Admission day.
    pub start: i32,
    /// Discharge day (≥ start).
    pub end: i32,
    /// Acute (øyeblikkelig hjelp) if any episode was.
    pub acute: bool,
    /// Admission time, minutes after midnight, when delivered.
    pub start_minute: Option<i32>,
    /// Discharge time, minutes after midnight, when delivered.
    pub end_minute: Option<i32>,
    /// Episodes merged into the stay (1 for an episode).
    pub episodes: u32,
}

impl Stay {
    /// A stay known by its days only.
    pub fn days(start: i32, end: i32, acute: bool) -> Self {
        Stay { start, end, acute, start_minute: None, end_minute: None, episodes: 1 }
    }

    /// Minutes from this stay's discharge to `next`'s admission, when both times are
    /// known.
    pub fn minutes_to(&self, next: &Stay) -> Option<i64> {
        let (end, start) = (self.end_minute?, next.start_minute?);
        Some((i64::from(next.start) - i64::from(self.end)) * DAY + i64::from(start - end))
    }

    /// Whether `next` is a readmission after this stay: 1–30 days later by days, or, when
    /// both times are known, from `gap_minutes` (8 hours) to 30 × 24 hours after discharge
    /// (the national indicator's "mellom 8 timer og 30 dager").
    pub fn readmitted_by(&self, next: &Stay, gap_minutes: i64) -> bool {
        match self.minutes_to(next) {
            Some(gap) => (gap_minutes..=30 * DAY).contains(&gap),
            None => (1..=30).contains(&(next.start - self.end)),
        }
    }
}

/// Merge one person's episodes into stays, sorted by admission: an episode continues the
/// running stay when it starts on or before the stay's discharge day, or — both times
/// known — less than `gap_minutes` after its discharge.
pub fn merge_stays(mut episodes: Vec<Stay>, gap_minutes: i64) -> Vec<Stay> {
    episodes.sort_by_key(|s| (s.start, s.start_minute, s.end, s.end_minute));
    let mut stays: Vec<Stay> = Vec::with_capacity(episodes.len());
    for e in episodes {
        match stays.last_mut() {
            Some(running)
                if running
                    .minutes_to(&e)
                    .map_or(e.start <= running.end, |gap| gap < gap_minutes) =>
            {
                if (e.end, e.end_minute) > (running.end, running.end_minute) {
                    running.end = e.end;
                    running.end_minute = e.end_minute;
                }
                running.acute |= e.acute;
                running.episodes += e.episodes;
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
        Stay::days(start, end, acute)
    }

    fn timed(start: (i32, i32), end: (i32, i32), acute: bool) -> Stay {
        Stay {
            start: start.0,
            end: end.0,
            acute,
            start_minute: Some(start.1),
            end_minute: Some(end.1),
            episodes: 1,
        }
    }

    #[test]
    fn transfers_merge_and_keep_acuity() {
        let merged = merge_stays(
            vec![
                s(10, 12, false),
                s(0, 3, true),
                s(3, 5, false),
                s(12, 12, true),
                s(13, 14, false),
            ],
            480,
        );
        let two = |stay: Stay| Stay { episodes: 2, ..stay };
        assert_eq!(merged, vec![two(s(0, 5, true)), two(s(10, 12, true)), s(13, 14, false)]);
    }

    #[test]
    fn with_times_the_gap_decides_across_midnight_and_within_a_day() {
        // Discharged day 3 at 22:00; readmitted day 4 at 05:00 (7 h later): a transfer.
        let a = timed((0, 600), (3, 1320), false);
        let b = timed((4, 300), (6, 720), true);
        assert_eq!(a.minutes_to(&b), Some(7 * 60));
        let merged = merge_stays(vec![b, a], 480);
        assert_eq!(merged, vec![Stay { episodes: 2, ..timed((0, 600), (6, 720), true) }]);
        // Discharged day 10 at 08:00, back at 17:00 the same day (9 h): a new stay, and
        // a readmission, which days alone (0 days apart) would merge and not count.
        let c = timed((9, 60), (10, 480), false);
        let d = timed((10, 1020), (12, 600), true);
        let stays = merge_stays(vec![c, d], 480);
        assert_eq!(stays.len(), 2);
        assert!(stays[0].readmitted_by(&stays[1], 480));
        assert_eq!(merge_stays(vec![s(9, 10, false), s(10, 12, true)], 480).len(), 1);
        // Exactly 8 hours is a new stay; one minute less continues it.
        let at = |minute| timed((10, minute), (11, 0), true);
        assert_eq!(merge_stays(vec![c, at(960)], 480).len(), 2);
        assert_eq!(merge_stays(vec![c, at(959)], 480).len(), 1);
        // 30 days × 24 h after discharge still counts; a minute more does not.
        let late = |day, minute| timed((day, minute), (day + 1, 0), true);
        assert!(c.readmitted_by(&late(40, 480), 480));
        assert!(!c.readmitted_by(&late(40, 481), 480));
        // One time missing: days decide (1–30 days).
        assert!(!s(0, 10, false).readmitted_by(&s(10, 11, true), 480));
        assert!(s(0, 10, false).readmitted_by(&s(11, 11, true), 480));
        assert!(s(0, 10, false).readmitted_by(&s(40, 41, true), 480));
        assert!(!s(0, 10, false).readmitted_by(&s(41, 42, true), 480));
    }
}

//! Focus-group statistics from de-identified codings: how often each code was used (by
//! municipality and role, and "mentioned in k of n groups"), which codes go together in
//! a segment, how well coders agree, and an index of quotes.
//!
//! A segment is identified by its source (the codings input it came from), focus group
//! and segment id, a group by its source and name, a coder by their source and label: two
//! teams' projects that both call a group `FG1` hold two groups. Frequencies and
//! co-occurrence take the union over coders: a segment counts once for a code whoever
//! gave it. Agreement is on presence, computed within each source over that source's
//! coders and codes (two teams code different segments, so their coders are never
//! compared): for each coder and each segment that coder coded at all, whether the coder
//! gave it the code (1) or not (0); a segment the coder did not code is missing for that
//! coder. Cohen's kappa needs exactly two coders; Krippendorff's alpha (nominal) takes
//! any number and missing values.

use std::collections::{BTreeMap, BTreeSet};

use folge_deid::rows::DeidCoding;
use folge_schema::tables::{AgreementRow, CodeCooccurrenceRow, CodeFrequencyRow, QuoteRow};

/// Everything the focus-group analysis gives.
#[derive(Debug, Clone, Default)]
pub struct FocusGroupResults {
    /// Code frequencies by scope.
    pub frequencies: Vec<CodeFrequencyRow>,
    /// Code pairs within segments.
    pub cooccurrence: Vec<CodeCooccurrenceRow>,
    /// Inter-coder agreement per code and overall.
    pub agreement: Vec<AgreementRow>,
    /// Quotes by code.
    pub quotes: Vec<QuoteRow>,
}

/// A segment: its source, focus group and id.
type Segment<'a> = (&'a str, &'a str, &'a str);

/// A focus group: its source and name.
type Group<'a> = (&'a str, &'a str);

/// Analyse the codings.
pub fn focus_groups(codings: &[DeidCoding]) -> FocusGroupResults {
    if codings.is_empty() {
        return FocusGroupResults::default();
    }
    // Per segment: its group's municipality and role, and the codes with their coders.
    let mut segments: BTreeMap<Segment<'_>, (&DeidCoding, BTreeMap<&str, BTreeSet<&str>>)> =
        BTreeMap::new();
    let mut themes: BTreeMap<&str, Option<&str>> = BTreeMap::new();
    for c in codings {
        let entry = segments
            .entry((c.source(), c.focus_group(), c.segment()))
            .or_insert_with(|| (c, BTreeMap::new()));
        entry.1.entry(c.code()).or_default().insert(c.coder());
        themes.entry(c.code()).or_insert(c.theme());
    }
    FocusGroupResults {
        frequencies: frequencies(&segments, &themes),
        cooccurrence: cooccurrence(&segments),
        agreement: agreement(codings),
        quotes: quotes(&segments, &themes),
    }
}

type Segments<'a> = BTreeMap<Segment<'a>, (&'a DeidCoding, BTreeMap<&'a str, BTreeSet<&'a str>>)>;

/// A scope of the frequency table: its name and how a coding's value in it is read.
type Scope = (&'static str, fn(&DeidCoding) -> Option<&str>);

/// Per code × scope value: segments given the code, and the groups they lie in.
type Counts<'a> = BTreeMap<(&'a str, Option<&'a str>), (i64, BTreeSet<Group<'a>>)>;

fn frequencies(
    segments: &Segments<'_>,
    themes: &BTreeMap<&str, Option<&str>>,
) -> Vec<CodeFrequencyRow> {
    let scopes: [Scope; 4] = [
        ("all", |_| None),
        ("source", |c| Some(c.source())),
        ("municipality", |c| c.municipality()),
        ("role", |c| c.role()),
    ];
    let mut rows = Vec::new();
    for (scope, value_of) in scopes {
        // Groups in each scope value, and per code × value: segments and groups.
        let mut groups_in: BTreeMap<Option<&str>, BTreeSet<Group<'_>>> = BTreeMap::new();
        let mut counts: Counts<'_> = BTreeMap::new();
        for (&(source, group, _), (first, codes)) in segments {
            let group = (source, group);
            let value = value_of(first);
            if scope != "all" && value.is_none() {
                continue;
            }
            groups_in.entry(value).or_default().insert(group);
            for code in codes.keys() {
                let entry = counts.entry((code, value)).or_default();
                entry.0 += 1;
                entry.1.insert(group);
            }
        }
        for ((code, value), (n_segments, groups)) in counts {
            rows.push(CodeFrequencyRow {
                theme: themes.get(code).copied().flatten().map(str::to_owned),
                code: code.to_owned(),
                scope: scope.to_owned(),
                scope_value: value.map(str::to_owned),
                n_segments,
                n_groups: groups.len() as i64,
                n_groups_in_scope: groups_in.get(&value).map_or(0, |g| g.len() as i64),
            });
        }
    }
    rows
}

fn cooccurrence(segments: &Segments<'_>) -> Vec<CodeCooccurrenceRow> {
    let mut pairs: BTreeMap<(&str, &str), i64> = BTreeMap::new();
    for (_, codes) in segments.values() {
        let list: Vec<&str> = codes.keys().copied().collect();
        for (i, a) in list.iter().enumerate() {
            for b in &list[i + 1..] {
                *pairs.entry((a, b)).or_default() += 1;
            }
        }
    }
    pairs
        .into_iter()
        .map(|((a, b), n)| CodeCooccurrenceRow {
            code_a: a.to_owned(),
            code_b: b.to_owned(),
            n_segments: n,
        })
        .collect()
}

/// Agreement within each source, in the order of the sources' labels.
fn agreement(codings: &[DeidCoding]) -> Vec<AgreementRow> {
    let mut by_source: BTreeMap<&str, Vec<&DeidCoding>> = BTreeMap::new();
    for c in codings {
        by_source.entry(c.source()).or_default().push(c);
    }
    by_source.into_iter().flat_map(|(source, codings)| agreement_within(source, &codings)).collect()
}

/// Agreement among one source's coders over its segments, per code of its codings and
/// over all of them.
fn agreement_within(source: &str, codings: &[&DeidCoding]) -> Vec<AgreementRow> {
    let code_list: BTreeSet<&str> = codings.iter().map(|c| c.code()).collect();
    let coders: Vec<&str> =
        codings.iter().map(|c| c.coder()).collect::<BTreeSet<_>>().into_iter().collect();
    // Per coder: the segments they coded and, per segment, their codes.
    let mut coded: BTreeMap<&str, BTreeMap<Segment<'_>, BTreeSet<&str>>> = BTreeMap::new();
    for c in codings {
        coded
            .entry(c.coder())
            .or_default()
            .entry((c.source(), c.focus_group(), c.segment()))
            .or_default()
            .insert(c.code());
    }
    // Units: segments coded by at least two coders.
    let mut seen_by: BTreeMap<Segment<'_>, usize> = BTreeMap::new();
    for segments in coded.values() {
        for s in segments.keys() {
            *seen_by.entry(*s).or_default() += 1;
        }
    }
    let units: Vec<Segment<'_>> =
        seen_by.into_iter().filter(|(_, n)| *n >= 2).map(|(s, _)| s).collect();
    // Presence of `code` in each unit, per coder (None: the coder did not code the unit).
    let presence = |code: &str| -> Vec<Vec<Option<f64>>> {
        coders
            .iter()
            .map(|coder| {
                units
                    .iter()
                    .map(|u| {
                        coded[coder].get(u).map(|codes| f64::from(u8::from(codes.contains(code))))
                    })
                    .collect()
            })
            .collect()
    };
    let row = |code: &str, matrix: Vec<Vec<Option<f64>>>| -> AgreementRow {
        let mut out = AgreementRow {
            source: source.to_owned(),
            code: code.to_owned(),
            n_coders: coders.len() as i64,
            n_units: units.len() as i64,
            percent_agreement: None,
            cohen_kappa: None,
            kappa_ci_low: None,
            kappa_ci_high: None,
            krippendorff_alpha: None,
            note: None,
        };
        if coders.len() < 2 || units.is_empty() {
            out.note = Some("needs at least two coders coding the same segments".into());
            return out;
        }
        let columns = matrix[0].len();
        let complete: Vec<Vec<f64>> = (0..columns)
            .filter_map(|j| matrix.iter().map(|r| r[j]).collect::<Option<Vec<f64>>>())
            .collect();
        if !complete.is_empty() {
            let agreeing = complete
                .iter()
                .filter(|values| values.windows(2).all(|w| (w[0] > 0.0) == (w[1] > 0.0)))
                .count();
            out.percent_agreement = Some(agreeing as f64 / complete.len() as f64);
        }
        match folge_stats::krippendorff_alpha(&matrix, folge_stats::Level::Nominal) {
            Ok(r) => out.krippendorff_alpha = r.estimate,
            Err(e) => out.note = Some(e.to_string()),
        }
        if coders.len() == 2 {
            let label =
                |v: Option<f64>| v.map(|v| if v > 0.0 { "1".to_owned() } else { "0".to_owned() });
            let x: Vec<Option<String>> = matrix[0].iter().map(|v| label(*v)).collect();
            let y: Vec<Option<String>> = matrix[1].iter().map(|v| label(*v)).collect();
            match folge_stats::cohen_kappa(&x, &y, folge_stats::KappaWeights::None, 0.95) {
                Ok(r) => {
                    out.cohen_kappa = r.estimate;
                    out.kappa_ci_low = r.ci_low;
                    out.kappa_ci_high = r.ci_high;
                }
                Err(e) => out.note = Some(e.to_string()),
            }
        } else {
            out.note.get_or_insert_with(|| {
                format!("Cohen's kappa compares two coders; there are {}", coders.len())
            });
        }
        out
    };
    let mut rows: Vec<AgreementRow> =
        code_list.iter().map(|code| row(code, presence(code))).collect();
    // Over all codes: every (unit, code) pair is a unit.
    let all: Vec<Vec<Option<f64>>> = (0..coders.len())
        .map(|i| code_list.iter().flat_map(|code| presence(code).swap_remove(i)).collect())
        .collect();
    let mut overall = row("all", all);
    overall.n_units = (units.len() * code_list.len()) as i64;
    rows.push(overall);
    rows
}

fn quotes(segments: &Segments<'_>, themes: &BTreeMap<&str, Option<&str>>) -> Vec<QuoteRow> {
    let mut rows = Vec::new();
    for ((source, group, segment), (first, codes)) in segments {
        for (code, coders) in codes {
            rows.push(QuoteRow {
                source: (*source).to_owned(),
                focus_group: (*group).to_owned(),
                municipality: first.municipality().map(str::to_owned),
                role: first.role().map(str::to_owned),
                segment: (*segment).to_owned(),
                theme: themes.get(code).copied().flatten().map(str::to_owned),
                code: (*code).to_owned(),
                n_coders: coders.len() as i64,
                text: first.text().map(str::to_owned),
            });
        }
    }
    rows
}

#[cfg(test)]
mod tests {
    use super::*;

    fn coding(
        group: &str,
        municipality: &str,
        coder: &str,
        segment: &str,
        code: &str,
    ) -> DeidCoding {
        let mut c = DeidCoding::for_tests(group, coder, segment, code);
        c.municipality = Some(municipality.into());
        c.role = Some("leder".into());
        c.theme = Some("Samhandling".into());
        c.text = Some(format!("sitat {segment}"));
        c
    }

    /// Two coders over four segments of two groups. On `plan` they agree on s1 (both),
    /// s2 (neither), s3 (both) and disagree on s4 (only A).
    fn example() -> Vec<DeidCoding> {
        vec![
            coding("FG1", "4601", "A", "s1", "plan"),
            coding("FG1", "4601", "B", "s1", "plan"),
            coding("FG1", "4601", "A", "s1", "tid"),
            coding("FG1", "4601", "A", "s2", "tid"),
            coding("FG1", "4601", "B", "s2", "tid"),
            coding("FG2", "4624", "A", "s3", "plan"),
            coding("FG2", "4624", "B", "s3", "plan"),
            coding("FG2", "4624", "A", "s4", "plan"),
            coding("FG2", "4624", "B", "s4", "tid"),
        ]
    }

    #[test]
    fn frequencies_count_segments_once_and_groups_per_scope() {
        let r = focus_groups(&example());
        let find = |scope: &str, value: Option<&str>, code: &str| {
            r.frequencies
                .iter()
                .find(|f| f.scope == scope && f.scope_value.as_deref() == value && f.code == code)
                .map(|f| (f.n_segments, f.n_groups, f.n_groups_in_scope))
        };
        assert_eq!(
            find("all", None, "plan"),
            Some((3, 2, 2)),
            "s1, s3, s4; both coders on s1 count once"
        );
        assert_eq!(find("all", None, "tid"), Some((3, 2, 2)));
        assert_eq!(find("municipality", Some("4601"), "plan"), Some((1, 1, 1)));
        assert_eq!(find("role", Some("leder"), "tid"), Some((3, 2, 2)));
        let pairs: Vec<(String, String, i64)> = r
            .cooccurrence
            .iter()
            .map(|c| (c.code_a.clone(), c.code_b.clone(), c.n_segments))
            .collect();
        assert_eq!(pairs, [("plan".to_owned(), "tid".to_owned(), 2)], "s1 and s4");
        assert_eq!(r.quotes.len(), 6, "one per segment × code");
    }

    #[test]
    fn agreement_on_presence_by_hand() {
        let r = focus_groups(&example());
        let plan = r.agreement.iter().find(|a| a.code == "plan").unwrap();
        // Presence of `plan`, A: 1 0 1 1, B: 1 0 1 0 → 3 of 4 agree.
        // Cohen: po = 0.75; A has 3 ones of 4, B 2: pe = 0.75·0.5 + 0.25·0.5 = 0.5;
        // κ = (0.75 − 0.5) / 0.5 = 0.5.
        assert_eq!((plan.n_coders, plan.n_units), (2, 4));
        assert!((plan.percent_agreement.unwrap() - 0.75).abs() < 1e-12);
        assert!((plan.cohen_kappa.unwrap() - 0.5).abs() < 1e-12);
        // Krippendorff (nominal): 8 values, n1 = 5 ones, n0 = 3 zeros; one disagreeing unit
        // gives observed disagreement Do = 2/8; expected De = 2·5·3 / (8·7) = 30/56;
        // α = 1 − Do/De = 1 − 0.25 / (30/56) = 1 − 14/30 = 0.5333…
        assert!((plan.krippendorff_alpha.unwrap() - (1.0 - 14.0 / 30.0)).abs() < 1e-12);
        let all = r.agreement.iter().find(|a| a.code == "all").unwrap();
        assert_eq!(all.n_units, 8, "four segments × two codes");
    }

    /// The example as a second team's project: the same group names, segment ids and
    /// coder labels, other codings.
    fn second_source() -> Vec<DeidCoding> {
        example()
            .into_iter()
            .map(|mut c| {
                c.source = "team Voss".into();
                c.municipality = Some("4627".into());
                // Team Voss's coder B never gives `plan`, and agrees with A on nothing else.
                if c.coder == "B" {
                    c.code = "tid".into();
                }
                c
            })
            .collect()
    }

    #[test]
    fn sources_keep_groups_segments_and_coders_apart() {
        let one = focus_groups(&example());
        let mut both = example();
        both.extend(second_source());
        let r = focus_groups(&both);
        let find = |scope: &str, value: Option<&str>, code: &str| {
            r.frequencies
                .iter()
                .find(|f| f.scope == scope && f.scope_value.as_deref() == value && f.code == code)
                .map(|f| (f.n_segments, f.n_groups, f.n_groups_in_scope))
        };
        // FG1 and FG2 of each source are four groups; `plan`: s1, s3, s4 of the first,
        // s1, s3, s4 of the second (coder A's).
        assert_eq!(find("all", None, "plan"), Some((6, 4, 4)));
        assert_eq!(find("source", Some("codings"), "plan"), Some((3, 2, 2)));
        assert_eq!(find("source", Some("team Voss"), "plan"), Some((3, 2, 2)));
        assert_eq!(find("municipality", Some("4627"), "tid"), Some((4, 2, 2)));
        // Agreement within each source: the first source's rows are the one-source run's.
        let of = |source: &str| -> Vec<AgreementRow> {
            r.agreement.iter().filter(|a| a.source == source).cloned().collect()
        };
        assert_eq!(of("codings"), one.agreement);
        assert_eq!(r.agreement.len(), one.agreement.len() * 2, "`plan`, `tid`, `all` per source");
        // Team Voss: two coders (not four) over its own four segments; on `plan` A: 1 0 1 1,
        // B: 0 0 0 0 → one of four agree, κ = 0 (B never gives it).
        let plan = of("team Voss").into_iter().find(|a| a.code == "plan").unwrap();
        assert_eq!((plan.n_coders, plan.n_units), (2, 4));
        assert!((plan.percent_agreement.unwrap() - 0.25).abs() < 1e-12);
        assert!(plan.cohen_kappa.unwrap().abs() < 1e-12);
        // Quotes name their source; the same group and segment id appear once per source.
        let s1: Vec<&str> = r
            .quotes
            .iter()
            .filter(|q| q.focus_group == "FG1" && q.segment == "s1" && q.code == "plan")
            .map(|q| q.source.as_str())
            .collect();
        assert_eq!(s1, ["codings", "team Voss"]);
        // Co-occurrence counts each source's segments: s1 and s4 of the first only (team
        // Voss's s1 holds `plan` and `tid` too, from its two coders).
        let pair = r.cooccurrence.iter().find(|c| c.code_a == "plan").map(|c| c.n_segments);
        assert_eq!(pair, Some(5), "s1, s4 of the first; s1, s3, s4 of team Voss");
    }

    #[test]
    fn one_coder_gives_a_reason_not_a_statistic() {
        let one: Vec<DeidCoding> = example().into_iter().filter(|c| c.coder == "A").collect();
        let r = focus_groups(&one);
        assert!(r.agreement.iter().all(|a| a.cohen_kappa.is_none() && a.note.is_some()));
        assert!(focus_groups(&[]).frequencies.is_empty());
    }
}

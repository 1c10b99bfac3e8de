//! The report page: summary, methods, figures and tables, in Norwegian (bokmål) or English.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use folge_analyze::Indicator;
use folge_schema::tables::{ComparisonRow, RateRow};
use folge_schema::{Arm, Sex};

use crate::ReportFile;
use crate::figures::FigureOut;
use crate::input::{
    Language, ReportInput, ReportParams, Section, arm_label, arm_rates_shown, arm_row,
    indicator_label, rate,
};
use crate::numbered::NumberedText;
use crate::table::{Cell, ReportTable, escape};
use folge_deid::SmallCellRule;

/// The headings that follow an estimate: its CI, p and adjusted p.
pub(crate) fn estimate_columns(lang: Language, method: &str) -> [String; 4] {
    [
        lang.pick("95 % KI nedre", "95 % CI lower").into(),
        lang.pick("95 % KI øvre", "95 % CI upper").into(),
        "p".into(),
        format!("{} ({method})", lang.pick("p justert", "p adjusted")),
    ]
}

/// The adjustment's name as the report writes it.
pub(crate) fn adjustment_name(adjustment: folge_stats::Adjustment) -> &'static str {
    match adjustment {
        folge_stats::Adjustment::Holm => "Holm",
        folge_stats::Adjustment::BenjaminiHochberg => "Benjamini–Hochberg",
        folge_stats::Adjustment::Bonferroni => "Bonferroni",
    }
}

/// One variable of Table 1: its heading and its levels' counts per arm (pilot,
/// comparison), in the order shown; the last level may be "Mangler" (values missing).
struct Variable {
    heading: String,
    levels: Vec<(String, [u64; 2])>,
}

/// Table 1's row label of the age bands' median and quartiles.
const MEDIAN_QUARTILES: &str = "Median (Q1, Q3)";

/// The age bands the median and the quartiles fall in: `67-79 (Q1 18-66, Q3 80+)`. The
/// quartiles are named, not only bracketed: "67-79 (18-66, 80+)" is eight digits in pairs
/// joined by separators — a phone number's shape to any scan for phone numbers (the
/// report's own re-scan stopped on it) —, while a one-digit group between the bands
/// breaks every phone shape.
fn median_quartiles(median: &str, q1: &str, q3: &str) -> String {
    format!("{median} (Q1 {q1}, Q3 {q3})")
}

/// A value's leading number, for sorting age bands (0-5, 6-12, 13-17, …) and numbered
/// target groups by number, not text.
fn leading_number(value: &str) -> u32 {
    value.chars().take_while(char::is_ascii_digit).collect::<String>().parse().unwrap_or(0)
}

/// The level a share `p` of the persons falls in, levels in order (the inverse of the
/// empirical distribution: R's `quantile(type = 1)`); `None` without persons.
fn band_quantile(levels: &[(String, u64)], p: f64) -> Option<&str> {
    let total: u64 = levels.iter().map(|(_, n)| n).sum();
    let mut cumulative = 0;
    levels.iter().find_map(|(band, n)| {
        cumulative += n;
        (total > 0 && cumulative as f64 >= p * total as f64).then_some(band.as_str())
    })
}

/// Table 1, as gtsummary's `tbl_summary(by = arm)` lays it out: "Pilot, N = 189" headings,
/// each variable a bold row with its levels under it as `n (%)` (percent of the arm's N),
/// a "Mangler" level where values are missing, median (IQR) of the age bands, municipality
/// and target-group names. Counts 1–4 are ":", and further cells are hidden per variable
/// so that none of those can be worked out from the arm totals.
fn participants_table(input: &ReportInput<'_>, params: &ReportParams) -> ReportTable {
    let lang = params.language;
    let arms = [Arm::Pilot, Arm::Comparison];
    let people = input.tables.participants();
    let missing = lang.pick("Mangler", "Unknown").to_owned();
    let index = |arm: Arm| usize::from(arm == Arm::Comparison);
    let mut n_arm = [0u64; 2];
    for p in people {
        n_arm[index(p.arm())] += 1;
    }
    // Counts per level and arm, levels sorted by `key`; missing values last.
    let count = |value: &dyn Fn(&folge_deid::rows::DeidParticipant) -> Option<String>,
                 key: &dyn Fn(&str) -> (u32, String),
                 label: &dyn Fn(&str) -> String|
     -> Vec<(String, [u64; 2])> {
        let mut known: BTreeMap<((u32, String), String), [u64; 2]> = BTreeMap::new();
        let mut unknown = [0u64; 2];
        for p in people {
            match value(p) {
                Some(v) => known.entry((key(&v), v)).or_default()[index(p.arm())] += 1,
                None => unknown[index(p.arm())] += 1,
            }
        }
        let mut levels: Vec<(String, [u64; 2])> =
            known.into_iter().map(|((_, v), n)| (label(&v), n)).collect();
        if unknown != [0, 0] {
            levels.push((missing.clone(), unknown));
        }
        levels
    };
    let by_number = |v: &str| (leading_number(v), v.to_owned());
    let sex_label = |code: &str| match code {
        "0" => lang.pick("Kvinne", "Female").to_owned(),
        _ => lang.pick("Mann", "Male").to_owned(),
    };
    let sex = count(
        &|p| match p.sex() {
            Some(Sex::Female) => Some("0".into()),
            Some(Sex::Male) => Some("1".into()),
            None => None,
        },
        &by_number,
        &sex_label,
    );
    let age = count(&|p| p.age_band().map(str::to_owned), &by_number, &|v| v.to_owned());
    let target =
        count(&|p| p.target_group().map(str::to_owned), &by_number, &|v| params.target_group(v));
    let municipality =
        count(&|p| Some(p.municipality().to_owned()), &|v| (0, v.to_owned()), &|v| {
            params.municipality(v)
        });
    let variables = [
        Variable { heading: lang.pick("Kjønn", "Sex").into(), levels: sex },
        Variable {
            heading: lang.pick("Aldersgruppe ved inklusjon", "Age band at inclusion").into(),
            levels: age,
        },
        Variable { heading: lang.pick("Målgruppe", "Target group").into(), levels: target },
        Variable { heading: lang.pick("Kommune", "Municipality").into(), levels: municipality },
    ];
    // Each variable is a level × arm table whose column totals are the arms' N: secondary
    // suppression per variable, so no hidden count follows from the others.
    let mut n_hidden = n_arm.map(|n| params.rule.hides_count(n as f64));
    let mut secondary = 0;
    let hidden: Vec<Vec<[bool; 2]>> = variables
        .iter()
        .map(|v| {
            let cells: Vec<Vec<u64>> = v.levels.iter().map(|(_, n)| n.to_vec()).collect();
            if cells.is_empty() {
                return Vec::new();
            }
            let s = folge_deid::suppress_table(params.rule, &cells);
            secondary += s.secondary;
            for (hidden, total) in n_hidden.iter_mut().zip(&s.column_totals) {
                *hidden |= total;
            }
            s.cells.iter().map(|row| [row[0], row[1]]).collect()
        })
        .collect();
    let cell = |n: u64, a: usize, hidden: bool| {
        if hidden {
            Cell::Suppressed
        } else if n_hidden[a] || n_arm[a] == 0 {
            // A share of a hidden N would give the N away.
            Cell::Number(n as f64, 0)
        } else {
            Cell::CountShare(n, 100.0 * n as f64 / n_arm[a] as f64)
        }
    };
    let mut rows = Vec::new();
    for (k, (variable, hidden)) in variables.iter().zip(&hidden).enumerate() {
        rows.push(vec![Cell::Heading(variable.heading.clone()), Cell::Empty, Cell::Empty]);
        if k == 1 {
            // Median and quartiles of the age bands, among persons with a band.
            let mut row = vec![Cell::Level(MEDIAN_QUARTILES.into())];
            for a in 0..2 {
                let known: Vec<(String, u64)> = variable
                    .levels
                    .iter()
                    .filter(|(band, _)| *band != missing)
                    .map(|(band, n)| (band.clone(), n[a]))
                    .collect();
                let persons: u64 = known.iter().map(|(_, n)| n).sum();
                row.push(
                    match (
                        band_quantile(&known, 0.5),
                        band_quantile(&known, 0.25),
                        band_quantile(&known, 0.75),
                    ) {
                        _ if persons == 0 => {
                            Cell::Text(lang.pick("ingen kjent", "none known").into())
                        }
                        _ if params.rule.hides_count(persons as f64) => Cell::Suppressed,
                        (Some(median), Some(q1), Some(q3)) => {
                            Cell::Text(median_quartiles(median, q1, q3))
                        }
                        _ => Cell::Suppressed,
                    },
                );
            }
            rows.push(row);
        }
        for ((label, n), h) in variable.levels.iter().zip(hidden) {
            rows.push(vec![Cell::Level(label.clone()), cell(n[0], 0, h[0]), cell(n[1], 1, h[1])]);
        }
    }
    let mut notes = vec![lang
        .pick(
            "n (%): antall og andel av alle i gruppen (N). Median (Q1, Q3) for alder: aldersgruppen medianen og første (Q1) og tredje kvartil (Q3) faller i, blant dem med kjent alder; de avidentifiserte dataene har alder bare i grupper (kvantil som R quantile(type = 1)).",
            "n (%): count and share of everyone in the arm (N). Median (Q1, Q3) of age: the age band the median and the first (Q1) and third quartile (Q3) fall in, among those with a known age; the de-identified data hold age in bands only (quantile as R quantile(type = 1)).",
        )
        .to_owned()];
    if variables.iter().any(|v| v.levels.iter().any(|(l, _)| *l == missing)) {
        notes.push(
            lang.pick(
                "Mangler: verdien er ikke oppgitt i deltakerlisten.",
                "Unknown: the value is not given in the participant list.",
            )
            .to_owned(),
        );
    }
    if secondary > 0 {
        notes.push(lang
            .pick(
                "Noen tall er også skjult for at de skjulte ikke skal kunne regnes ut fra summene (sekundær prikking).",
                "Some further counts are hidden so that the hidden ones cannot be worked out from the totals (secondary suppression).",
            )
            .to_owned());
    }
    let mut columns = vec![lang.pick("Kjennetegn", "Characteristic").to_owned()];
    columns.extend(arms.iter().enumerate().map(|(a, arm)| {
        let n = if n_hidden[a] { ":".to_owned() } else { n_arm[a].to_string() };
        format!("{}, N = {n}", arm_label(*arm, lang))
    }));
    ReportTable {
        id: "table_participants".into(),
        caption: lang
            .pick("Tabell 1. Deltakere etter gruppe", "Table 1. Participants by arm")
            .into(),
        columns,
        rows,
        notes,
        summary: None,
    }
}

/// The arm's rate ratio after/before of `indicator` (scope `arm`).
fn arm_ratio(input: &ReportInput<'_>, indicator: Indicator, arm: Arm) -> Option<f64> {
    arm_row(input, indicator, arm).and_then(|c| c.effect_size)
}

/// The shown rate, or `None` when suppressed or without exposure.
fn shown_rate(rule: SmallCellRule, row: Option<&RateRow>) -> Option<f64> {
    let row = row?;
    if rule.hides_rate(row.value_total, row.n) { None } else { row.rate_per_py }
}

/// Table 2: rates per person-year before and after, by arm.
fn rates_table(input: &ReportInput<'_>, params: &ReportParams) -> ReportTable {
    let lang = params.language;
    let rule = params.rule;
    let mut rows = Vec::new();
    for &indicator in &params.indicators {
        for arm in [Arm::Pilot, Arm::Comparison] {
            let before = rate(input.rates, indicator, arm, "before");
            let after = rate(input.rates, indicator, arm, "after");
            // The rate and its interval: three cells, all ":" when the rate is hidden.
            let cells = |row: Option<&RateRow>| match row {
                Some(r) if rule.hides_rate(r.value_total, r.n) => {
                    [Cell::Suppressed, Cell::Suppressed, Cell::Suppressed]
                }
                Some(r) => {
                    let number = |v: Option<f64>| v.map_or(Cell::Empty, |v| Cell::Number(v, 2));
                    [number(r.rate_per_py), number(r.ci_low), number(r.ci_high)]
                }
                None => [Cell::Empty, Cell::Empty, Cell::Empty],
            };
            let ratio = match (shown_rate(rule, before), shown_rate(rule, after)) {
                _ if indicator == Indicator::Mortality => {
                    Cell::Text(crate::estimates::mortality_not_before_after(lang))
                }
                (Some(b), Some(a)) if b > 0.0 => Cell::Number(a / b, 2),
                (None, _) | (_, None) if before.is_some() && after.is_some() => Cell::Suppressed,
                _ => arm_row(input, indicator, arm)
                    .filter(|r| r.effect_size.is_none())
                    .map_or(Cell::Empty, |r| Cell::Text(crate::estimates::missing_reason(r, lang))),
            };
            let mut row = vec![
                Cell::Text(indicator_label(indicator, lang).to_owned()),
                Cell::Text(arm_label(arm, lang).to_owned()),
                Cell::Number(after.or(before).map_or(0.0, |r| r.n as f64), 0),
            ];
            row.extend(cells(before));
            row.extend(cells(after));
            row.push(ratio);
            rows.push(row);
        }
    }
    let mut table = ReportTable {
        id: "table_rates".into(),
        caption: lang
            .pick("Tabell 2. Forbruk per personår før og etter inklusjon", "Table 2. Use per person-year before and after inclusion")
            .into(),
        columns: vec![
            lang.pick("Indikator", "Indicator").into(),
            lang.pick("Gruppe", "Arm").into(),
            "n".into(),
            lang.pick("Før (per personår)", "Before (per person-year)").into(),
            lang.pick("Før: 95 % KI nedre", "Before: 95 % CI lower").into(),
            lang.pick("Før: 95 % KI øvre", "Before: 95 % CI upper").into(),
            lang.pick("Etter (per personår)", "After (per person-year)").into(),
            lang.pick("Etter: 95 % KI nedre", "After: 95 % CI lower").into(),
            lang.pick("Etter: 95 % KI øvre", "After: 95 % CI upper").into(),
            lang.pick("Etter/før (samlede rater)", "After/before (pooled rates)").into(),
        ],
        rows,
        notes: vec![format!(
            "{} {}",
            lang.pick(
                "n: personer med observasjonstid etter inklusjon. Rater er summen av hendelser delt på summen av observasjonstid (personår à 365,25 dager).",
                "n: persons observed after inclusion. Rates are total events divided by total time observed (person-years of 365.25 days).",
            ),
            // Say what the intervals are only when the analysis gave some.
            if input.rates.iter().any(|r| r.ci_low.is_some()) {
                match lang {
                    Language::Nb => format!("95 % konfidensintervall fra en Poisson-GLM på personnivå (forbruk ~ 1 + offset(log personår)) med {}, også for døgn og timer; tomt der analysen ikke gir noe intervall.", crate::estimates::rate_variance_words(params.cluster_variance, lang, true)),
                    Language::En => format!("95 % confidence interval from a person-level Poisson GLM (use ~ 1 + offset(log person-years)) with {}, for days and hours too; empty where the analysis gives no interval.", crate::estimates::rate_variance_words(params.cluster_variance, lang, true)),
                }
            } else {
                lang.pick(
                    "Analysen har ikke gitt konfidensintervall for ratene.",
                    "The analysis gave no confidence intervals for the rates.",
                )
                .to_owned()
            }
        )],
        summary: None,
    };
    if table.has_blank() {
        table.notes.push(
            lang.pick(
                "Tomme celler: intervallet mangler der analysen ikke gir noe (ingen hendelser i perioden), og forholdet etter/før der raten før er 0 eller en rate mangler.",
                "Blank cells: no interval where the analysis gives none (no events in the period), and no after/before ratio where the rate before is 0 or a rate is missing.",
            )
            .to_owned(),
        );
    }
    table
}

/// A p-value cell: three decimals, and "<0.001" below that (as journals print it).
pub(crate) fn p_cell(cell: Cell) -> Cell {
    match cell {
        Cell::Number(v, _) if v < 0.001 => Cell::Below(v, 0.001),
        other => other.rounded(3),
    }
}

/// An estimate's cell: the number; ":" when hidden; the reason when the row has none;
/// empty without a row.
pub(crate) fn estimate_cell(row: Option<&ComparisonRow>, hidden: bool, lang: Language) -> Cell {
    match row {
        Some(_) if hidden => Cell::Suppressed,
        Some(r) => r.effect_size.map_or_else(
            || Cell::Text(crate::estimates::missing_reason(r, lang)),
            |v| Cell::Number(v, 2),
        ),
        None => Cell::Empty,
    }
}

/// An estimate's interval and p-values (four cells). With an estimate but no interval, the
/// lower limit's cell says why.
pub(crate) fn interval_cells(row: &ComparisonRow, hidden: bool, lang: Language) -> [Cell; 4] {
    let cell = |v: Option<f64>| match v {
        _ if hidden => Cell::Suppressed,
        Some(v) => Cell::Number(v, 2),
        None => Cell::Empty,
    };
    let low = if !hidden && row.effect_size.is_some() && row.ci_low.is_none() {
        Cell::Text(crate::estimates::missing_reason(row, lang))
    } else {
        cell(row.ci_low)
    };
    [low, cell(row.ci_high), p_cell(cell(row.p_value)), p_cell(cell(row.p_adjusted))]
}

/// Table 3: the pilot's change against the comparison arm's, per indicator: the ratio of
/// the arms' after/before rate ratios; for mortality the rate ratio pilot/comparison after
/// inclusion instead (nobody dies before inclusion), named in its own column. A ratio is
/// suppressed when any of the rates behind it is; a missing estimate says why.
fn comparison_table(input: &ReportInput<'_>, params: &ReportParams) -> Option<ReportTable> {
    use crate::estimates::{BETWEEN_ARMS_AFTER, RATIO_OF_RATIOS, overall};
    let lang = params.language;
    let method = adjustment_name(params.adjustment);
    let rule = params.rule;
    let arms = [Arm::Pilot, Arm::Comparison];
    let mut rows = Vec::new();
    let mut used: Vec<&ComparisonRow> = Vec::new();
    let mut mortality_shown = false;
    for &indicator in &params.indicators {
        let mut cells = vec![Cell::Text(indicator_label(indicator, lang).to_owned())];
        if indicator == Indicator::Mortality {
            let row = overall(input.comparisons, indicator, BETWEEN_ARMS_AFTER);
            if row.is_none() && overall(input.comparisons, indicator, RATIO_OF_RATIOS).is_none() {
                continue;
            }
            mortality_shown = true;
            let hidden = arms.iter().any(|&arm| {
                rate(input.rates, indicator, arm, "after")
                    .is_some_and(|r| rule.hides_rate(r.value_total, r.n))
            });
            let not_before_after = crate::estimates::mortality_not_before_after(lang);
            let n = row.map_or_else(
                || {
                    arms.iter()
                        .filter_map(|&a| rate(input.rates, indicator, a, "after"))
                        .map(|r| r.n)
                        .sum()
                },
                |r| r.n,
            );
            cells.extend([
                Cell::Number(n as f64, 0),
                Cell::Text(not_before_after.clone()),
                Cell::Text(not_before_after),
                Cell::Text(
                    lang.pick("rateratio etter inklusjon", "rate ratio after inclusion").into(),
                ),
            ]);
            if let Some(r) = row {
                used.push(r);
                cells.push(estimate_cell(Some(r), hidden, lang));
                cells.extend(interval_cells(r, hidden, lang));
            } else {
                cells.push(Cell::Text(crate::estimates::not_computed(lang)));
                cells.extend([Cell::Empty, Cell::Empty, Cell::Empty, Cell::Empty]);
            }
            rows.push(cells);
            continue;
        }
        let Some(row) = overall(input.comparisons, indicator, RATIO_OF_RATIOS) else {
            continue;
        };
        used.push(row);
        let arm_hidden = |arm: Arm| !arm_rates_shown(input, indicator, arm, rule);
        let hidden = arms.iter().any(|&arm| arm_hidden(arm));
        cells.push(Cell::Number(row.n as f64, 0));
        for arm in arms {
            cells.push(estimate_cell(arm_row(input, indicator, arm), arm_hidden(arm), lang));
        }
        cells.push(Cell::Text(
            lang.pick("forhold mellom rateratioene", "ratio of the rate ratios").into(),
        ));
        cells.push(estimate_cell(Some(row), hidden, lang));
        cells.extend(interval_cells(row, hidden, lang));
        rows.push(cells);
    }
    if rows.is_empty() {
        return None;
    }
    let ratio_rows = used.iter().copied().filter(|r| r.effect_size_kind == RATIO_OF_RATIOS);
    let models = crate::estimates::describe_models(ratio_rows.clone(), lang).unwrap_or_else(|| {
        lang.pick("ingen modell ga estimat", "no model gave an estimate").to_owned()
    });
    let adjusted = crate::estimates::adjustment_sentence(used.iter().copied(), lang);
    // Within-person ratios (the default) are not the ratios of table 2's pooled rates.
    let within = used.iter().any(|r| r.method.contains("within-person"));
    let ratios = match (lang, within) {
        (Language::Nb, true) => {
            "Forholdet mellom forbruket etter og før inklusjon i hver gruppe, beregnet innen person (hver person sammenlignet med seg selv; det kan derfor avvike fra forholdet mellom de samlede ratene i tabell 2, som synker når personer med mye forbruk dør eller flytter tidlig)"
        }
        (Language::En, true) => {
            "Ratio of use after to before inclusion in each arm, estimated within persons (each person compared with themself; it can therefore differ from the ratio of table 2's pooled rates, which falls when heavy users die or move early)"
        }
        (Language::Nb, false) => "Forholdet mellom ratene etter og før inklusjon i hver gruppe",
        (Language::En, false) => "Ratio of the rates after and before inclusion in each arm",
    };
    let mut notes = vec![match lang {
        Language::Nb => format!(
            "{ratios}, og forholdet mellom disse (under 1: pilotene gikk mer ned). Konfidensintervall og p for forholdet mellom rateratioene (samspillet pilot × etter): {models}. Estimatene er {adjusted}. p justert for antall indikatorer etter {method}."
        ),
        Language::En => format!(
            "{ratios}, and the ratio of those ratios (below 1: the pilots fell more). Confidence interval and p for the ratio of the rate ratios (the pilot × after interaction): {models}. The estimates are {adjusted}. p adjusted over indicators by {method}."
        ),
    }];
    if mortality_shown {
        let mortality_rows =
            used.iter().copied().filter(|r| r.effect_size_kind == BETWEEN_ARMS_AFTER);
        let model = crate::estimates::describe_models_briefly(mortality_rows, lang)
            .map_or(String::new(), |m| format!(" ({m})"));
        notes.push(match lang {
            Language::Nb => format!(
                "Dødsfall sammenlignes bare mellom gruppene etter inklusjon: rateratio pilot/sammenligning{model}. Alle lever ved inklusjon, så ingen dør i perioden før, og et forhold etter/før sier ingenting."
            ),
            Language::En => format!(
                "Deaths are compared between the arms after inclusion only: rate ratio pilot/comparison{model}. Everyone is alive at inclusion, so nobody dies in the period before, and an after/before ratio says nothing."
            ),
        });
    }
    Some(ReportTable {
        id: "table_pilot_vs_comparison".into(),
        caption: lang
            .pick(
                "Tabell 3. Endring etter inklusjon i pilotene sammenlignet med sammenligningskommunene",
                "Table 3. Change after inclusion in the pilots compared with the comparison municipalities",
            )
            .into(),
        columns: vec![
            lang.pick("Indikator", "Indicator").into(),
            "n".into(),
            lang.pick("Pilot: etter/før", "Pilot: after/before").into(),
            lang.pick("Sammenligning: etter/før", "Comparison: after/before").into(),
            lang.pick("Mål", "Measure").into(),
            lang.pick("Pilot / sammenligning", "Pilot / comparison").into(),
        ]
        .into_iter()
        .chain(estimate_columns(lang, method))
        .collect(),
        rows,
        notes,
        summary: None,
    })
}

/// The page's style. On screen a column of 60rem. In print (A4, as `folge report --pdf`
/// prints it): the front matter alone on the first page; page numbers "3 / 16" in the
/// bottom margin (a CSS page-margin box, which Chromium prints); a section heading never
/// ends a page (it and the section's first table or figure are one `.keep` block, and
/// headings avoid a break after them); figures, tables with their notes, and method
/// entries are not split (the methods' list is plain blocks in print: Chromium moves a
/// grid that cannot be split whole to the next page); the links to a figure's files and to the tables' CSV files are
/// for the screen only; a table folded on the page stays folded, its line saying where the
/// whole table is.
const STYLE: &str = "body{font-family:'DejaVu Sans',Arial,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#222;line-height:1.45}\
h1{font-size:1.6rem}h2{font-size:1.25rem;margin-top:2rem;border-bottom:1px solid #ccc}\
table{border-collapse:collapse;margin:1rem 0;font-size:.9rem}caption{text-align:left;font-weight:bold;margin-bottom:.4rem}\
th,td{border-bottom:1px solid #ddd;padding:.25rem .6rem;text-align:left}td.num{text-align:right;font-variant-numeric:tabular-nums}td.var{font-weight:bold}td.level{padding-left:1.6rem}\
.front{margin-bottom:2rem}.front .organisation{color:#555;margin:0}.front h1{font-size:2rem;margin:.4rem 0}.front .subtitle{font-size:1.2rem;margin:.2rem 0 1rem}.front .authors{font-weight:bold;margin:.2rem 0}.front .dated{color:#555;margin:.2rem 0}\
figure{margin:1rem 0}figure svg{max-width:100%;height:auto}figcaption{font-size:.9rem;margin-top:.3rem}.note{font-size:.8rem;color:#555}\
dl{display:grid;grid-template-columns:12rem auto;gap:.2rem 1rem;margin:.2rem 0}dt{font-weight:bold}\
@page{size:A4;margin:16mm 16mm 18mm;@bottom-center{content:counter(page) ' / ' counter(pages);font-family:'DejaVu Sans',Arial,sans-serif;font-size:8pt;color:#555}}\
@media print{body{margin:0;padding:0;max-width:none;font-size:10pt}\
.front{break-after:page;padding-top:60mm}.front h1{font-size:2.2rem}\
h1,h2,h3,caption,summary,dt{break-after:avoid}h2{margin-top:1.2rem}\
.keep,figure,table,.table,dd,li{break-inside:avoid}dl{display:block}dt{margin-top:.4rem}dd{margin:0 0 0 1.5rem}\
figure svg{max-height:200mm;width:auto}\
.screen{display:none}a{color:inherit;text-decoration:none}}";

/// Table 4: questionnaire scales — the mean at T0 and T1 per arm with the paired change,
/// its CI and p, and the pilot's change against the comparison's. A row whose arm has
/// fewer persons than the small-cell threshold shows ":".
fn scales_table(input: &ReportInput<'_>, params: &ReportParams) -> Option<ReportTable> {
    let lang = params.language;
    let method = adjustment_name(params.adjustment);
    let scale_rows: Vec<&ComparisonRow> =
        input.comparisons.iter().filter(|c| c.measure.contains('.')).collect();
    let measures: std::collections::BTreeSet<&str> =
        scale_rows.iter().map(|c| c.measure.as_str()).collect();
    let mut rows = Vec::new();
    for measure in measures {
        let small = |n: i64| n < i64::from(params.rule.threshold);
        let number = |v: Option<f64>, hidden: bool, decimals: usize| match v {
            _ if hidden => Cell::Suppressed,
            Some(v) => Cell::Number(v, decimals),
            None => Cell::Empty,
        };
        for arm in [Arm::Pilot, Arm::Comparison] {
            let Some(r) = scale_rows.iter().find(|c| {
                c.measure == measure && c.arm == Some(arm) && c.effect_size_kind == "d_z"
            }) else {
                continue;
            };
            let hidden = small(r.n);
            rows.push(vec![
                Cell::Text(measure.to_owned()),
                Cell::Text(arm_label(arm, lang).to_owned()),
                number(Some(r.n as f64), hidden, 0),
                number(r.before_mean, hidden, 2),
                number(r.after_mean, hidden, 2),
                number(r.diff, hidden, 2),
                number(r.diff_ci_low, hidden, 2),
                number(r.diff_ci_high, hidden, 2),
                p_cell(number(r.p_value, hidden, 3)),
                p_cell(number(r.p_adjusted, hidden, 3)),
            ]);
        }
        if let Some(r) = scale_rows.iter().find(|c| {
            c.measure == measure
                && c.scope == "all"
                && c.effect_size_kind == "difference_in_differences"
        }) {
            rows.push(vec![
                Cell::Text(measure.to_owned()),
                Cell::Text(lang.pick("Pilot − sammenligning", "Pilot − comparison").to_owned()),
                number(Some(r.n as f64), false, 0),
                Cell::Empty,
                Cell::Empty,
                number(r.effect_size, false, 2),
                number(r.ci_low, false, 2),
                number(r.ci_high, false, 2),
                p_cell(number(r.p_value, false, 3)),
                p_cell(number(r.p_adjusted, false, 3)),
            ]);
        }
    }
    if rows.is_empty() {
        return None;
    }
    let mut table = ReportTable {
        id: "table_scales".into(),
        caption: lang
            .pick(
                "Tabell 4. Spørreskjema: skårer ved første og andre måling, endring og forskjell mellom gruppene",
                "Table 4. Questionnaires: scores at the first and second measurement, change, and the difference between arms",
            )
            .into(),
        columns: vec![
            lang.pick("Skala", "Scale").into(),
            lang.pick("Gruppe", "Arm").into(),
            "n".into(),
            "T0".into(),
            "T1".into(),
            lang.pick("Endring", "Change").into(),
        ]
        .into_iter()
        .chain(estimate_columns(lang, method))
        .collect(),
        rows,
        notes: vec![format!(
            "{}{method}.",
            lang.pick(
                "n på linjene for hver gruppe: personer med skår ved begge målinger; endring T1 − T0 med paret t-test. n på linjene pilot − sammenligning: alle med skår ved minst én måling, som modellen bruker; forskjellen i endring (OLS skår ~ pilot × T1, robuste standardfeil gruppert på person). p justert over skalaene etter ",
                "n on each arm's lines: persons with a score at both measurements; change T1 − T0 by paired t test. n on the lines pilot − comparison: everyone with a score at one measurement or more, as the model uses them; the difference in change (OLS score ~ pilot × T1, cluster-robust standard errors by person). p adjusted over the scales by ",
            )
        )],
        summary: None,
    };
    if table.has_blank() {
        table.notes.push(
            lang.pick(
                "Tomme celler: T0 og T1 står tomme på linjene pilot − sammenligning, som viser forskjellen i endring mellom gruppene; ellers mangler verdien der analysen ikke har gitt den.",
                "Blank cells: T0 and T1 are blank on the lines pilot − comparison, which show the difference in change between the arms; elsewhere the analysis did not give the value.",
            )
            .to_owned(),
        );
    }
    Some(table)
}

/// Table 5: focus-group codes — segments per code and "mentioned in k of n groups".
fn codes_table(input: &ReportInput<'_>, params: &ReportParams) -> Option<ReportTable> {
    let lang = params.language;
    let rows: Vec<Vec<Cell>> = input
        .code_frequencies
        .iter()
        .filter(|f| f.scope == "all")
        .map(|f| {
            vec![
                Cell::Text(f.theme.clone().unwrap_or_default()),
                Cell::Text(f.code.clone()),
                Cell::Number(f.n_segments as f64, 0),
                Cell::Text(format!("{} / {}", f.n_groups, f.n_groups_in_scope)),
            ]
        })
        .collect();
    (!rows.is_empty()).then(|| ReportTable {
        id: "table_codes".into(),
        caption: lang
            .pick("Tabell 5. Fokusgrupper: koder etter tema", "Table 5. Focus groups: codes by theme")
            .into(),
        columns: vec![
            lang.pick("Tema", "Theme").into(),
            lang.pick("Kode", "Code").into(),
            lang.pick("n_segmenter", "n_segments").into(),
            lang.pick("Nevnt i grupper", "Mentioned in groups").into(),
        ],
        rows,
        notes: std::iter::once(lang.pick(
            "Et segment (meningsbærende enhet) telles én gang uansett hvor mange kodere som ga det koden.",
            "A segment (meaning unit) counts once however many coders gave it the code.",
        ))
        .chain(input.code_frequencies.iter().any(|f| f.scope == "all" && f.theme.as_deref().is_none_or(str::is_empty)).then(|| lang.pick(
            "Tomt tema: koden står ikke under noe tema i kodeboken.",
            "Blank theme: the code is under no theme in the codebook.",
        )))
        .map(str::to_owned)
        .collect(),
        summary: None,
    })
}

/// Table 6: inter-coder agreement per code and overall.
fn agreement_table(input: &ReportInput<'_>, params: &ReportParams) -> Option<ReportTable> {
    let lang = params.language;
    let number = |v: Option<f64>, d: usize| v.map_or(Cell::Empty, |v| Cell::Number(v, d));
    // κ and α lie in [−1, 1] and agreement in [0, 100] %: an interval reaching past that
    // (the Fleiss–Cohen–Everitt limits can) is clipped to the range.
    let kappa = |v: Option<f64>| number(v.map(|v| v.clamp(-1.0, 1.0)), 2);
    // Agreement is within a source (a team's coders over its own segments): with several
    // sources each row names its own.
    let several_sources = input.agreement.iter().any(|a| a.source != input.agreement[0].source);
    let rows: Vec<Vec<Cell>> = input
        .agreement
        .iter()
        .map(|a| {
            let code = if a.code == "all" {
                lang.pick("Alle koder", "All codes").to_owned()
            } else {
                a.code.clone()
            };
            several_sources
                .then(|| Cell::Text(a.source.clone()))
                .into_iter()
                .chain([
                    Cell::Text(code),
                    Cell::Number(a.n_units as f64, 0),
                    number(a.percent_agreement.map(|p| (100.0 * p).clamp(0.0, 100.0)), 1),
                    kappa(a.cohen_kappa),
                    kappa(a.kappa_ci_low),
                    kappa(a.kappa_ci_high),
                    kappa(a.krippendorff_alpha),
                ])
                .collect()
        })
        .collect();
    let blank = rows.iter().flatten().any(|c| *c == Cell::Empty);
    (!rows.is_empty()).then(|| ReportTable {
        id: "table_agreement".into(),
        caption: lang
            .pick("Tabell 6. Samsvar mellom kodere", "Table 6. Inter-coder agreement")
            .into(),
        columns: several_sources
            .then(|| lang.pick("Kilde", "Source").to_owned())
            .into_iter()
            .chain::<[String; 7]>([
            lang.pick("Kode", "Code").into(),
            lang.pick("n_segmenter", "n_segments").into(),
            lang.pick("Samsvar (%)", "Agreement (%)").into(),
            "Cohens κ".into(),
            lang.pick("95 % KI nedre", "95 % CI lower").into(),
            lang.pick("95 % KI øvre", "95 % CI upper").into(),
            "Krippendorffs α".into(),
        ])
        .collect(),
        rows,
        notes: std::iter::once(lang.pick(
            "Samsvar om koden er gitt eller ikke i hvert segment som flere kodere kodet. Cohens κ for to kodere (KI etter Fleiss, Cohen og Everitt, avkortet til κ-ets område −1 til 1); Krippendorffs α (nominal) for alle kodere.",
            "Agreement on whether the code was given, in each segment coded by more than one coder. Cohen's κ for two coders (CI by Fleiss, Cohen and Everitt, clipped to κ's range −1 to 1); Krippendorff's α (nominal) for any number of coders.",
        ))
        .chain(several_sources.then(|| lang.pick(
            "Kilde: kodingene (innspillet i pipeline-filen) segmentene kommer fra. Samsvar beregnes innen hver kilde: koderne i to kilder har kodet ulike segmenter og sammenlignes ikke.",
            "Source: the codings (the input in the pipeline file) the segments come from. Agreement is computed within each source: the coders of two sources coded different segments and are not compared.",
        )))
        .chain(blank.then(|| lang.pick(
            "Tom celle: kan ikke beregnes for koden (for eksempel når koderne bare brukte den ene kategorien, eller bare én koder kodet segmentene).",
            "Blank cell: cannot be computed for the code (for instance when the coders used one category only, or one coder coded the segments).",
        )))
        .map(str::to_owned)
        .collect(),
        summary: None,
    })
}

/// The municipality comparison: indicators as rows, municipalities as columns (pilot
/// municipalities first), each cell the municipality's rate ratio after/before; a cell
/// whose before or after rate has a small numerator or few persons shows ":".
fn municipality_table(input: &ReportInput<'_>, params: &ReportParams) -> Option<ReportTable> {
    let lang = params.language;
    let columns: Vec<(String, Arm)> = [Arm::Pilot, Arm::Comparison]
        .into_iter()
        .flat_map(|arm| {
            crate::figures::municipalities(input, arm).into_iter().map(move |m| (m, arm))
        })
        .collect();
    if columns.len() < 2 || input.municipality_rates.is_empty() {
        return None;
    }
    let find = |indicator: Indicator, m: &str, arm: Arm, period: &str| {
        input.municipality_rates.iter().find(|r| {
            r.indicator == indicator.id()
                && r.municipality == m
                && r.arm == arm
                && r.period == period
        })
    };
    let mut rows = Vec::new();
    // Deaths have no after/before ratio (nobody dies before inclusion): left out, and the
    // note says so.
    for &indicator in params.indicators.iter().filter(|&&i| i != Indicator::Mortality) {
        let mut row = vec![Cell::Text(indicator_label(indicator, lang).to_owned())];
        for (m, arm) in &columns {
            let (before, after) =
                (find(indicator, m, *arm, "before"), find(indicator, m, *arm, "after"));
            row.push(match (before, after) {
                (Some(b), Some(a)) => {
                    if params.rule.hides_rate(b.value_total, b.n)
                        || params.rule.hides_rate(a.value_total, a.n)
                    {
                        Cell::Suppressed
                    } else {
                        match (a.rate_per_py, b.rate_per_py) {
                            (Some(a), Some(b)) if b > 0.0 => Cell::Number(a / b, 2),
                            _ => Cell::Empty,
                        }
                    }
                }
                _ => Cell::Empty,
            });
        }
        rows.push(row);
    }
    let mut n_row = vec![Cell::Text("n".into())];
    for (m, arm) in &columns {
        let n = input
            .tables
            .participants()
            .iter()
            .filter(|p| p.municipality() == m && p.arm() == *arm)
            .count();
        n_row.push(if params.rule.hides_count(n as f64) {
            Cell::Suppressed
        } else {
            Cell::Number(n as f64, 0)
        });
    }
    rows.insert(0, n_row);
    let blank = rows.iter().flatten().any(|c| *c == Cell::Empty);
    Some(ReportTable {
        id: "table_municipalities".into(),
        caption: lang
            .pick(
                "Tabell 7. Kommunene sammenlignet: rate etter / rate før inklusjon",
                "Table 7. The municipalities compared: rate after / rate before inclusion",
            )
            .into(),
        columns: std::iter::once(lang.pick("Indikator", "Indicator").to_owned())
            .chain(columns.iter().map(|(m, arm)| format!("{}, {}", params.municipality(m), arm_label(*arm, lang).to_lowercase())))
            .collect(),
        rows,
        notes: std::iter::once(lang.pick(
            "Forbruk per personår etter inklusjon delt på forbruk per personår før, blant kommunens deltakere. Under 1: forbruket gikk ned.",
            "Use per person-year after inclusion divided by use per person-year before, among the municipality's participants. Below 1: use fell.",
        ))
        .chain(params.indicators.contains(&Indicator::Mortality).then(|| lang.pick(
            "Dødsfall er ikke med: de sammenlignes ikke før/etter (alle lever ved inklusjon), bare mellom gruppene etter inklusjon.",
            "Deaths are not included: they are not compared before/after (all are alive at inclusion), only between the arms after inclusion.",
        )))
        .chain(blank.then(|| lang.pick(
            "Tom celle: raten før er 0 eller mangler i kommunen, så forholdet kan ikke beregnes.",
            "Blank cell: the rate before is 0 or missing in the municipality, so the ratio cannot be computed.",
        )))
        .map(str::to_owned)
        .collect(),
        summary: None,
    })
}

/// The summary's main results: for the first three indicators whose rates may be shown,
/// the change after/before in each arm and the ratio between them with its CI.
fn headline(input: &ReportInput<'_>, params: &ReportParams) -> Vec<String> {
    let lang = params.language;
    let nb = lang == Language::Nb;
    let num = |v: f64| crate::figure::number(v, 2, nb);
    let mut lines = Vec::new();
    for &indicator in &params.indicators {
        if lines.len() == 3 {
            break;
        }
        let shown = [Arm::Pilot, Arm::Comparison]
            .iter()
            .all(|&arm| arm_rates_shown(input, indicator, arm, params.rule));
        let did = input.comparisons.iter().find(|c| {
            c.measure == indicator.id()
                && c.scope == "all"
                && c.effect_size_kind == "ratio_of_rate_ratios"
        });
        let (Some(p), Some(c), Some(d)) = (
            arm_ratio(input, indicator, Arm::Pilot),
            arm_ratio(input, indicator, Arm::Comparison),
            did,
        ) else {
            continue;
        };
        let (Some(e), Some(lo), Some(hi)) = (d.effect_size, d.ci_low, d.ci_high) else { continue };
        if !shown {
            continue;
        }
        lines.push(match lang {
            Language::Nb => format!(
                "{}: etter/før {} i pilotene og {} i sammenligningskommunene; forholdet {} (95 % KI {}–{}).",
                indicator_label(indicator, lang), num(p), num(c), num(e), num(lo), num(hi)
            ),
            Language::En => format!(
                "{}: after/before {} in the pilots and {} in the comparison municipalities; ratio {} (95% CI {}–{}).",
                indicator_label(indicator, lang), num(p), num(c), num(e), num(lo), num(hi)
            ),
        });
    }
    lines.extend(summary_beyond_use(input, params));
    lines
}

/// The summary's lines on what is not service use: how far the framework's steps were
/// documented in the pilots, how many answered the questionnaires at each timepoint, and
/// which focus-group codes the most groups used. Each only when the run has it, and a
/// share or count the small-cell rule hides is left out.
fn summary_beyond_use(input: &ReportInput<'_>, params: &ReportParams) -> Vec<String> {
    let lang = params.language;
    let rule = params.rule;
    let mut lines = Vec::new();
    let steps: Vec<String> = input
        .framework
        .iter()
        .filter(|r| r.arm == Arm::Pilot && r.scope == "all")
        .filter(|r| !rule.hides_share(r.n_documented as f64, r.n_persons as f64))
        .filter_map(|r| {
            let share = r.share? * 100.0;
            let days = r
                .days_median
                .filter(|_| r.n_documented >= i64::from(rule.threshold))
                .map_or(String::new(), |d| {
                    format!(
                        ", {} {}",
                        crate::figure::number(
                            d,
                            usize::from(d.fract() != 0.0),
                            lang == Language::Nb
                        ),
                        lang.pick("dager", "days")
                    )
                });
            Some(format!("{} {share:.0} %{days}", r.element))
        })
        .collect();
    if !steps.is_empty() {
        lines.push(match lang {
            Language::Nb => format!(
                "Gjennomføring: andel av pilotpasientene med hvert trinn i rammeverket dokumentert, og median dager fra inklusjon: {}.",
                steps.join("; ")
            ),
            Language::En => format!(
                "Implementation: share of the pilots' patients with each step of the framework documented, and median days from inclusion: {}.",
                steps.join("; ")
            ),
        });
    }
    let answered = crate::questionnaires::respondents(input);
    let mut timepoints: Vec<&String> = answered
        .keys()
        .map(|(t, _)| t)
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    timepoints.sort_by_key(|t| crate::input::natural_key(t));
    let counts: Vec<String> = timepoints
        .iter()
        .map(|t| {
            let n = |arm: Arm| answered.get(&((*t).clone(), arm)).copied().unwrap_or(0);
            let shown = |n: usize| {
                if rule.hides_count(n as f64) { ":".to_owned() } else { n.to_string() }
            };
            format!("{t} {} / {}", shown(n(Arm::Pilot)), shown(n(Arm::Comparison)))
        })
        .collect();
    if !counts.is_empty() {
        lines.push(match lang {
            Language::Nb => format!(
                "Spørreskjema: personer som svarte i pilotene / sammenligningskommunene: {}.",
                counts.join(", ")
            ),
            Language::En => format!(
                "Questionnaires: persons who answered in the pilots / the comparison municipalities: {}.",
                counts.join(", ")
            ),
        });
    }
    let mut codes: Vec<&folge_schema::tables::CodeFrequencyRow> =
        input.code_frequencies.iter().filter(|f| f.scope == "all").collect();
    codes.sort_by(|a, b| {
        b.n_groups.cmp(&a.n_groups).then(b.n_segments.cmp(&a.n_segments)).then(a.code.cmp(&b.code))
    });
    if let Some(groups) = codes.first().map(|c| c.n_groups_in_scope) {
        let top: Vec<String> = codes
            .iter()
            .take(3)
            .map(|c| format!("«{}» ({} {} {groups})", c.code, c.n_groups, lang.pick("av", "of")))
            .collect();
        lines.push(match lang {
            Language::Nb => {
                format!("Fokusgrupper ({groups}): kodene flest grupper brukte: {}.", top.join(", "))
            }
            Language::En => {
                format!("Focus groups ({groups}): the codes most groups used: {}.", top.join(", "))
            }
        });
    }
    lines
}

/// A table or a figure of a section.
enum Block {
    Table(ReportTable),
    Figure(FigureOut),
    /// Paragraphs of text (the limitations).
    Text(Vec<String>),
}

/// Re-number a caption's leading "Tabell N." / "Table N." to its place in the report.
fn renumber(caption: &str, number: usize, lang: Language) -> String {
    let word = lang.pick("Tabell", "Table");
    let rest = caption
        .strip_prefix(word)
        .and_then(|r| r.trim_start().split_once(". "))
        .filter(|(n, _)| n.chars().all(|c| c.is_ascii_digit()))
        .map_or(caption, |(_, rest)| rest);
    format!("{word} {number}. {rest}")
}

/// The page's `<meta>` for its front matter: author(s), subtitle as description, date and
/// the program that made it; Chromium's PDF takes its title and these from the page.
fn front_meta(params: &ReportParams) -> String {
    let front = &params.front;
    let mut out = String::new();
    let mut meta = |name: &str, content: &str| {
        let _ = writeln!(out, "<meta name=\"{name}\" content=\"{}\">", escape(content));
    };
    if !front.authors.is_empty() {
        meta("author", &front.authors.join(", "));
    }
    if let Some(subtitle) = &front.subtitle {
        meta("description", subtitle);
    }
    if let Some(organisation) = &front.organisation {
        meta("publisher", organisation);
    }
    if let Some(date) = front.date {
        meta("dcterms.date", &date.to_string());
    }
    if let Some(version) = &front.version {
        meta("version", version);
    }
    meta("generator", &format!("folge {}", params.version));
    out
}

/// The first page: organisation, title, subtitle, authors, date and version, as the
/// pipeline file gives them (the title at least).
fn front_page(params: &ReportParams, title: &str) -> String {
    let lang = params.language;
    let front = &params.front;
    let mut out = String::from("<header class=\"front\">\n");
    if let Some(organisation) = &front.organisation {
        let _ = writeln!(out, "<p class=\"organisation\">{}</p>", escape(organisation));
    }
    let _ = writeln!(out, "<h1>{}</h1>", escape(title));
    if let Some(subtitle) = &front.subtitle {
        let _ = writeln!(out, "<p class=\"subtitle\">{}</p>", escape(subtitle));
    }
    if !front.authors.is_empty() {
        let _ = writeln!(out, "<p class=\"authors\">{}</p>", escape(&front.authors.join(", ")));
    }
    let dated: Vec<String> = front
        .date
        .map(|d| crate::input::long_date(d, lang))
        .into_iter()
        .chain(front.version.as_ref().map(|v| format!("{} {v}", lang.pick("Versjon", "Version"))))
        .collect();
    if !dated.is_empty() {
        let _ = writeln!(out, "<p class=\"dated\">{}</p>", escape(&dated.join(" · ")));
    }
    out.push_str("</header>\n");
    out
}

/// Render the report: `index.html`, each figure as SVG and PNG, each table as CSV and
/// Markdown, and every table in `tables.xlsx`.
pub fn render(input: &ReportInput<'_>, params: &ReportParams) -> Vec<ReportFile> {
    let lang = params.language;
    let nb = lang == Language::Nb;
    let has = |s: Section| params.sections.contains(&s);
    let n_pilot = input.tables.participants().iter().filter(|p| p.arm() == Arm::Pilot).count();
    let n_comparison = input.tables.participants().len() - n_pilot;

    // What each section shows, in order: tables and figures are numbered as they come.
    let mut results: Vec<(Section, Vec<Block>)> = Vec::new();
    for section in &params.sections {
        let blocks: Vec<Block> = match section {
            Section::Summary | Section::Methods => continue,
            Section::DataFlow => crate::data_flow::inputs_table(input, params)
                .map(Block::Table)
                .into_iter()
                .chain([Block::Table(crate::data_flow::persons_table(input, params))])
                .collect(),
            Section::Participants => vec![Block::Table(participants_table(input, params))],
            Section::Implementation => {
                crate::implementation::table(input, params).map(Block::Table).into_iter().collect()
            }
            Section::Use => crate::figures::rates(input, params)
                .into_iter()
                .map(Block::Figure)
                .chain([Block::Table(rates_table(input, params))])
                .collect(),
            Section::Effects => comparison_table(input, params)
                .map(Block::Table)
                .into_iter()
                .chain(crate::figures::pilot_vs_comparison_forest(input, params).map(Block::Figure))
                .chain(crate::subgroups::table(input, params).map(Block::Table))
                .chain(crate::balance::table(input, params).map(Block::Table))
                .chain(crate::event_time::figures(input, params).into_iter().map(Block::Figure))
                .chain(crate::survival::figure(input, params).map(Block::Figure))
                .chain(crate::event_time::table(input, params).map(Block::Table))
                .collect(),
            Section::Municipalities => crate::figures::municipalities_forest(input, params)
                .into_iter()
                .map(Block::Figure)
                .chain(municipality_table(input, params).map(Block::Table))
                .collect(),
            Section::Concentration => crate::figures::concentration(input, params)
                .into_iter()
                .map(Block::Figure)
                .collect(),
            Section::Scales => scales_table(input, params)
                .map(Block::Table)
                .into_iter()
                .chain(crate::figures::scale_means(input, params).into_iter().map(Block::Figure))
                .chain(crate::items::figures(input, params).into_iter().map(Block::Figure))
                .chain(crate::items::table(input, params).map(Block::Table))
                .chain(crate::questionnaires::reliability_table(input, params).map(Block::Table))
                .chain(crate::questionnaires::eq5d_levels_table(input, params).map(Block::Table))
                .chain(crate::questionnaires::eq5d_vas_table(input, params).map(Block::Table))
                .collect(),
            Section::FocusGroups => codes_table(input, params)
                .map(Block::Table)
                .into_iter()
                .chain(crate::figures::code_bars(input, params).map(Block::Figure))
                .chain(crate::figures::code_heatmap(input, params).map(Block::Figure))
                .chain(agreement_table(input, params).map(Block::Table))
                .chain(crate::quotes::table(input, params).map(Block::Table))
                .collect(),
            Section::Limitations => {
                // Written last, from what the sections before it show: the tables are
                // numbered in this order below, so the n-th table here is table n.
                let suppressed: Vec<(usize, usize)> = results
                    .iter()
                    .flat_map(|(_, blocks)| blocks)
                    .filter_map(|b| match b {
                        Block::Table(t) => Some(t),
                        _ => None,
                    })
                    .enumerate()
                    .map(|(i, t)| {
                        let hidden =
                            t.rows.iter().flatten().filter(|c| **c == Cell::Suppressed).count();
                        (i + 1, hidden)
                    })
                    .filter(|(_, hidden)| *hidden > 0)
                    .collect();
                vec![Block::Text(crate::limitations::paragraphs(input, params, &suppressed))]
            }
        };
        if !blocks.is_empty() {
            results.push((*section, blocks));
        }
    }
    let (mut table_no, mut figure_no) = (0, 0);
    for (_, blocks) in &mut results {
        for block in blocks.iter_mut() {
            match block {
                Block::Table(t) => {
                    // Every blank explained: a table without a note of its own on its
                    // blank cells gets the general one.
                    if t.has_blank() && !t.explains_blanks() {
                        t.notes.push(crate::table::blank_note(nb).to_owned());
                    }
                    table_no += 1;
                    t.caption = renumber(&t.caption, table_no, lang);
                }
                Block::Text(_) => {}
                Block::Figure(f) => {
                    figure_no += 1;
                    f.caption =
                        format!("{} {figure_no}. {}", lang.pick("Figur", "Figure"), f.caption);
                }
            }
        }
    }

    // The page knows which of its bytes are numbers (tables' number cells, figures'
    // values and ticks): its file carries their ranges for the re-scan.
    let mut h = NumberedText::new();
    let title = params.title();
    let _ = write!(
        h,
        "<!DOCTYPE html>\n<html lang=\"{}\">\n<head>\n<meta charset=\"utf-8\">\n<title>{}</title>\n{}<style>{STYLE}</style>\n</head>\n<body>\n{}",
        lang.pick("nb", "en"),
        escape(&title),
        front_meta(params),
        front_page(params, &title),
    );
    if has(Section::Summary) {
        let _ = write!(
            h,
            "<section>\n<div class=\"keep\">\n<h2>{}</h2>\n<p>{}</p>\n</div>\n",
            lang.pick("Sammendrag", "Summary"),
            escape(&match lang {
                Language::Nb => format!(
                    "Evalueringen omfatter {n_pilot} personer i pilotene og {n_comparison} personer i sammenligningskommunene. Forbruk av helse- og omsorgstjenester er målt {} dager før og {} dager etter inklusjon.",
                    params.before_days, params.after_days
                ),
                Language::En => format!(
                    "The evaluation covers {n_pilot} persons in the pilots and {n_comparison} persons in the comparison municipalities. Use of health and care services is measured {} days before and {} days after inclusion.",
                    params.before_days, params.after_days
                ),
            })
        );
        let lines = headline(input, params);
        if !lines.is_empty() {
            h.push_str("<ul>\n");
            for line in lines {
                let _ = writeln!(h, "<li>{}</li>", escape(&line));
            }
            h.push_str("</ul>\n");
        }
        h.push_str("</section>\n");
    }
    if has(Section::Methods) {
        // The heading and the first entry are one block in print.
        let _ = write!(
            h,
            "<section>\n<div class=\"keep\">\n<h2>{}</h2>\n<dl>\n",
            lang.pick("Metode", "Methods")
        );
        let indicators: Vec<&str> =
            params.indicators.iter().map(|&i| indicator_label(i, lang)).collect();
        let mut methods = vec![
            (lang.pick("Perioder", "Periods"), match lang {
                Language::Nb => format!("før = dag −{}…−1, etter = dag 0…{} relativt til inklusjonsdato; observasjonstid stopper ved utgang (død, flytting, trukket) og ved slutt på datauttrekket", params.before_days, params.after_days - 1),
                Language::En => format!("before = days −{}…−1, after = days 0…{} relative to inclusion; time observed stops at exit (death, moving, withdrawal) and at the end of the data delivery", params.before_days, params.after_days - 1),
            }),
            (lang.pick("Indikatorer", "Indicators"), indicators.join(", ")),
            (lang.pick("Sykehusopphold", "Hospital stays"), lang.pick("episoder som starter senest samme dag som forrige utskrivning slås sammen (overføringer) — med inn- og utskrivningstid: som starter mindre enn 8 timer etter; liggedøgn = netter innenfor perioden; reinnleggelse = øyeblikkelig hjelp 1–30 dager (med tid: 8 timer–30 døgn) etter utskrivning", "episodes starting on or before the day of the previous discharge are merged (transfers) — with admission and discharge times: starting less than 8 hours after it; bed-days = nights within the period; readmission = acute, 1–30 days (with times: 8 hours–30 days) after discharge").to_owned()),
            (lang.pick("Prikking", "Suppression"), match lang {
                Language::Nb => format!("antall 1–{} og rater med teller 1–{} eller færre enn {} personer vises som «:», også i figurene; flere celler skjules der de ellers kunne regnes ut fra summene{}", params.rule.threshold - 1, params.rule.threshold - 1, params.rule.threshold, if input.survival.is_empty() { String::new() } else { format!("; en overlevelseskurve vises bare for en gruppe med minst {0} personer, og bare så lenge minst {0} er under risiko", params.rule.threshold) }),
                Language::En => format!("counts 1–{} and rates with numerator 1–{} or fewer than {} persons are shown as “:”, in figures too; further cells are hidden where they could otherwise be worked out from the totals{}", params.rule.threshold - 1, params.rule.threshold - 1, params.rule.threshold, if input.survival.is_empty() { String::new() } else { format!("; a survival curve is drawn only for an arm of at least {0} persons, and only while at least {0} remain at risk", params.rule.threshold) }),
            }),
            (lang.pick("Programvare", "Software"), format!("folge {}", params.version)),
            (lang.pick("Parametere (SHA-256)", "Parameters (SHA-256)"), params.params_sha256.clone()),
            (lang.pick("Inndata (SHA-256)", "Inputs (SHA-256)"), params.inputs_sha256.clone()),
        ];
        // After the hospital stays: the models, then suppression and provenance.
        let models =
            crate::methods::model_entries(input, params, adjustment_name(params.adjustment));
        let models: Vec<(&str, String)> =
            models.iter().map(|(term, text)| (term.as_str(), text.clone())).collect();
        methods.splice(3..3, models);
        for (k, (term, text)) in methods.into_iter().enumerate() {
            if k == 1 {
                h.push_str("</dl>\n</div>\n<dl>\n");
            }
            let _ = writeln!(h, "<dt>{}</dt><dd>{}</dd>", escape(term), escape(&text));
        }
        h.push_str("</dl>\n</section>\n");
    }
    let heading = |section: Section| match section {
        Section::DataFlow => lang.pick("Datagrunnlag", "Data"),
        Section::Participants => lang.pick("Deltakere", "Participants"),
        Section::Implementation => lang.pick("Gjennomføring", "Implementation"),
        Section::Limitations => lang.pick("Begrensninger", "Limitations"),
        Section::Use => {
            lang.pick("Forbruk før og etter inklusjon", "Use before and after inclusion")
        }
        Section::Effects => lang.pick("Pilot mot sammenligning", "Pilot against comparison"),
        Section::Municipalities => lang.pick("Kommunene", "The municipalities"),
        Section::Concentration => lang.pick("Fordeling av forbruket", "How use is distributed"),
        Section::Scales => lang.pick("Spørreskjema", "Questionnaires"),
        Section::FocusGroups => lang.pick("Fokusgrupper", "Focus groups"),
        Section::Summary | Section::Methods => "",
    };
    let mut files =
        vec![ReportFile { path: "index.html".into(), bytes: Vec::new(), numbers: Vec::new() }];
    let mut tables: Vec<&ReportTable> = Vec::new();
    for (section, blocks) in &results {
        // The heading and the section's first table or figure are one block in print, so
        // a page never ends with the heading.
        let _ =
            writeln!(h, "<section>\n<div class=\"keep\">\n<h2>{}</h2>", escape(heading(*section)));
        for (k, block) in blocks.iter().enumerate() {
            if k == 1 {
                h.push_str("</div>\n");
            }
            match block {
                Block::Table(t) => {
                    h.append(t.html(nb));
                    tables.push(t);
                }
                Block::Text(paragraphs) => {
                    for p in paragraphs {
                        let _ = writeln!(h, "<p>{}</p>", escape(p));
                    }
                }
                Block::Figure(f) => {
                    let svg = f.canvas.svg(&f.caption);
                    let png = f.canvas.to_png();
                    let png_link = if png.is_ok() {
                        format!(" <a href=\"figures/{}.png\">PNG</a>", f.id)
                    } else {
                        String::new()
                    };
                    // The figure's files are links for the screen; print has the figure.
                    let _ = writeln!(h, "<figure id=\"{}\">", f.id);
                    h.append(svg.clone());
                    let _ = write!(
                        h,
                        "<figcaption>{} <span class=\"screen\"><a href=\"figures/{id}.svg\">SVG</a>{png_link}</span></figcaption>\n</figure>\n",
                        escape(&f.caption),
                        id = f.id
                    );
                    files.push(ReportFile {
                        path: format!("figures/{}.svg", f.id),
                        bytes: svg.text.into_bytes(),
                        numbers: svg.numbers,
                    });
                    if let Ok(png) = png {
                        files.push(ReportFile {
                            path: format!("figures/{}.png", f.id),
                            bytes: png,
                            numbers: Vec::new(),
                        });
                    }
                }
            }
        }
        if blocks.len() == 1 {
            h.push_str("</div>\n");
        }
        h.push_str("</section>\n");
    }
    if !tables.is_empty() {
        h.push_str("<p class=\"note screen\">");
        for table in &tables {
            let path = format!("tables/{}.csv", table.id);
            let _ = write!(h, "<a href=\"{path}\">{}</a> ", escape(&format!("{}.csv", table.id)));
        }
        h.push_str("<a href=\"tables.xlsx\">tables.xlsx</a>");
        h.push_str("</p>\n");
    }
    if tables.iter().any(|t| t.has_suppressed()) {
        let _ = writeln!(
            h,
            "<p class=\"note\">{}</p>",
            lang.pick(
                ": = skjult etter prikkeregelen (små tall).",
                ": = suppressed by the small-cell rule."
            )
        );
    }
    h.push_str("</body>\n</html>\n");
    files[0].bytes = h.text.into_bytes();
    files[0].numbers = h.numbers;
    files.extend(tables.iter().map(|t| {
        let csv = t.csv(params.csv_decimal_comma);
        ReportFile {
            path: format!("tables/{}.csv", t.id),
            bytes: csv.text.into_bytes(),
            numbers: csv.numbers,
        }
    }));
    files.extend(tables.iter().map(|t| {
        let markdown = t.markdown(nb);
        ReportFile {
            path: format!("tables/{}.md", t.id),
            bytes: markdown.text.into_bytes(),
            numbers: markdown.numbers,
        }
    }));
    // Sheet names are the tables' fixed ids, so writing cannot fail on them; should the
    // writer fail anyway, the CSV files above still carry every table.
    if !tables.is_empty()
        && let Ok(bytes) = crate::table::workbook(&tables, nb)
    {
        // Its numbers are typed cells inside it.
        files.push(ReportFile { path: "tables.xlsx".into(), bytes, numbers: Vec::new() });
    }
    files
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_hides_a_second_count_so_the_first_cannot_be_worked_out() {
        use folge_deid::{DeidParams, Identifiable, Key, deidentify};
        use folge_schema::national_id::build;
        use folge_schema::tables::Participant;
        let date = |s: &str| s.parse::<chrono::NaiveDate>().unwrap();
        // Pilot: 9 women and 3 men; comparison: 8 women and 7 men. The 3 is small; shown
        // alone with the arm's total 12, it would follow from 12 − 9.
        let people: Vec<Participant> = (0..27u16)
            .map(|i| Participant {
                person_id: (i * 30..999).find_map(|n| build(date("1950-01-01"), n, 0, 80)).unwrap(),
                name: None,
                sex: Some(if i < 9 || (12..20).contains(&i) { Sex::Female } else { Sex::Male }),
                birth_date: None,
                municipality: "4601".into(),
                site: None,
                arm: if i < 12 { Arm::Pilot } else { Arm::Comparison },
                target_group: Some("eldre".into()),
                inclusion_date: date("2020-01-01"),
                exit_date: None,
                exit_reason: None,
            })
            .collect();
        let input = Identifiable { participants: people, ..Identifiable::default() };
        let tables =
            deidentify(&input, &DeidParams::new(date("2021-12-31")), &Key::demo()).unwrap();
        let report = ReportInput {
            tables: &tables,
            rates: &[],
            comparisons: &[],
            code_frequencies: &[],
            agreement: &[],
            municipality_rates: &[],
            utilisation: &[],
            lorenz: &[],
            scale_scores: &[],
            item_distributions: &[],
            event_time: &[],
            survival: &[],
            balance: &[],
            framework: &[],
            reliability: &[],
            item_summaries: &[],
            quotes: &[],
            subgroup_rates: &[],
            inputs: &[],
        };
        let params = ReportParams {
            pipeline: "t".into(),
            language: Language::En,
            rule: SmallCellRule::default(),
            before_days: 365,
            after_days: 365,
            indicators: vec![],
            version: "0".into(),
            params_sha256: String::new(),
            inputs_sha256: String::new(),
            adjustment: folge_stats::Adjustment::Holm,
            sections: Section::ALL.to_vec(),
            cluster_variance: folge_analyze::ClusterVariance::default(),
            instruments: Vec::new(),
            municipality_names: BTreeMap::new(),
            target_groups: BTreeMap::new(),
            front: crate::FrontMatter::default(),
            csv_decimal_comma: false,
        };
        let table = participants_table(&report, &params);
        let row =
            |label: &str| table.rows.iter().find(|r| r[0] == Cell::Level(label.into())).unwrap();
        assert_eq!(row("Male")[1], Cell::Suppressed, "3 is small");
        assert_eq!(row("Female")[1], Cell::Suppressed, "9 hidden too: 12 − 9 would give it");
        assert_eq!(table.columns[1..], ["Pilot, N = 12", "Comparison, N = 15"], "N stays");
        assert!(table.notes.iter().any(|n| n.contains("secondary suppression")));
        assert_eq!(row(MEDIAN_QUARTILES)[1], Cell::Text("none known".into()), "no birth dates");
        assert_eq!(row("Unknown")[2], Cell::CountShare(15, 100.0));
        assert_eq!(table.rows[0], [Cell::Heading("Sex".into()), Cell::Empty, Cell::Empty]);
        assert!(!table.has_blank(), "a variable's heading row is layout, not a blank");
        assert_eq!(row("Bergen (4601)")[2], Cell::CountShare(15, 100.0), "named");
    }

    /// Every median-and-quartiles cell the default age bands can give passes the scan
    /// for identifiers; the bracketed form without the quartiles' names did not (the
    /// report of a 10-million-event delivery stopped on `67-79 (18-66, 80+)`).
    #[test]
    fn the_age_bands_median_and_quartiles_never_look_like_a_phone_number() {
        let detector = folge_deid::Detector::new([], []);
        assert!(detector.detect("67-79 (18-66, 80+)").is_some(), "the old form");
        let bands = folge_deid::AgeBands::default().labels();
        for (i, q1) in bands.iter().enumerate() {
            for (j, median) in bands.iter().enumerate().skip(i) {
                for q3 in bands.iter().skip(j) {
                    let cell = median_quartiles(median, q1, q3);
                    assert_eq!(detector.detect(&cell), None, "{cell}");
                }
            }
        }
    }

    use crate::test_rows::{EIGHT, Results, params};

    fn row<'a>(table: &'a ReportTable, label: &str) -> &'a Vec<Cell> {
        table.rows.iter().find(|r| r[0] == Cell::Text(label.into())).unwrap()
    }

    #[test]
    fn an_estimate_less_row_says_why_and_mortality_is_compared_after_inclusion_only() {
        let results = Results::new(&EIGHT);
        let params = params(&EIGHT, Language::Nb);
        let table = comparison_table(&results.input(), &params).unwrap();
        assert_eq!(table.columns[4], "Mål");
        let bed_days = row(&table, "Liggedøgn");
        assert_eq!(bed_days[2], Cell::Number(0.7, 2), "the arms' own ratios stay");
        assert_eq!(bed_days[5], Cell::Text("for få personer i en gruppe (færre enn 5)".into()));
        let deaths = row(&table, "Dødsfall");
        let not_before_after =
            Cell::Text("sammenlignes ikke før/etter (alle lever ved inklusjon)".into());
        assert_eq!((&deaths[2], &deaths[3]), (&not_before_after, &not_before_after));
        assert_eq!(deaths[4], Cell::Text("rateratio etter inklusjon".into()));
        assert_eq!(deaths[5], Cell::Number(0.62, 2));
        assert_eq!(deaths[6], Cell::Number(0.62 * 0.85, 2), "the row's own interval");
        assert_eq!(
            row(&table, "Innleggelser")[4],
            Cell::Text("forhold mellom rateratioene".into())
        );
        assert!(
            table.notes[0].contains("klyngerobuste standardfeil gruppert på person (CR1"),
            "{}",
            table.notes[0]
        );
        assert!(table.notes[0].contains("Estimatene er ujustert"), "{}", table.notes[0]);
        assert!(
            table.notes[1]
                .starts_with("Dødsfall sammenlignes bare mellom gruppene etter inklusjon")
        );
        // Before the analysis writes the mortality row, the cell says it is not there.
        let mut old = Results::new(&EIGHT);
        old.comparisons.retain(|c| c.effect_size_kind != crate::estimates::BETWEEN_ARMS_AFTER);
        old.comparisons.extend(
            results
                .comparisons
                .iter()
                .filter(|c| c.measure == "admissions" && c.scope == "all")
                .map(|c| ComparisonRow {
                    measure: "mortality".into(),
                    effect_size: None,
                    ..c.clone()
                }),
        );
        let table = comparison_table(&old.input(), &params).unwrap();
        assert_eq!(row(&table, "Dødsfall")[5], Cell::Text("ikke beregnet i analysen".into()));
    }

    #[test]
    fn the_rates_table_shows_the_analysis_intervals() {
        let results = Results::new(&EIGHT);
        let params = params(&EIGHT, Language::En);
        let table = rates_table(&results.input(), &params);
        assert_eq!(table.columns.len(), 10);
        assert_eq!(table.columns[4], "Before: 95 % CI lower");
        let r = rate(&results.rates, Indicator::HomeCareHours, Arm::Pilot, "after").unwrap();
        let hours =
            table.rows.iter().find(|row| row[0] == Cell::Text("Home care hours".into())).unwrap();
        assert_eq!(hours[6], Cell::Number(r.rate_per_py.unwrap(), 2));
        assert_eq!(
            (&hours[7], &hours[8]),
            (&Cell::Number(r.ci_low.unwrap(), 2), &Cell::Number(r.ci_high.unwrap(), 2)),
            "hours get an interval"
        );
        let deaths = row(&table, "Deaths");
        assert_eq!(
            deaths[9],
            Cell::Text("not compared before/after (all alive at inclusion)".into())
        );
        assert_eq!(deaths[4], Cell::Empty, "no deaths before: no interval");
        assert!(table.notes.iter().any(|n| n.starts_with("Blank cells: no interval")), "explained");
    }

    #[test]
    fn the_methods_name_every_model_and_whether_it_is_adjusted() {
        let mut results = Results::new(&EIGHT);
        for c in &mut results.comparisons {
            if c.measure == "admissions" && c.effect_size_kind == "ratio_of_rate_ratios" {
                c.method = c.method.replace("Poisson GLM", "negative binomial GLM");
            }
        }
        let html = |results: &Results, lang| {
            let files = render(&results.input(), &params(&EIGHT, lang));
            String::from_utf8(files[0].bytes.clone()).unwrap()
        };
        let nb = html(&results, Language::Nb);
        for part in [
            "sandwich::vcovCL(type = &quot;HC1&quot;)",
            "Negativ binomisk modell (valgt i pipelinen, for overspredning) for: Innleggelser.",
            "<dt>Justering</dt><dd>Estimatene for pilot mot sammenligning er ujustert",
            "<dt>Dødsfall</dt><dd>Sammenlignes bare mellom gruppene etter inklusjon",
            "<dt>Forløp over tid</dt>",
            "<dt>Balanse</dt>",
            "<figure id=\"figure_event_time\">",
            "<figure id=\"figure_event_time_2\">",
            "<figure id=\"figure_survival\">",
            "<table id=\"table_balance\">",
            "<details>\n<summary>Tabell ",
        ] {
            assert!(nb.contains(part), "{part}");
        }
        let en = html(&results, Language::En);
        for part in [
            "cluster-robust standard errors by person (CR1, as R sandwich::vcovCL",
            "<dt>Mortality</dt><dd>Compared between the arms after inclusion only",
            "Check of parallel trends before inclusion",
        ] {
            assert!(en.contains(part), "{part}");
        }
        for c in &mut results.comparisons {
            c.method.push_str("; adjusted for age_band, sex with overlap weights");
        }
        let adjusted = html(&results, Language::En);
        assert!(adjusted.contains("are adjusted, as the analysis states: «"), "adjusted");
    }

    /// `FOLGE_REPORT_SAMPLE_DIR=/tmp/r cargo test -p folge-report synthetic_report` writes
    /// the report of the synthetic rows there, to look at; without it, the report renders.
    #[test]
    fn synthetic_report_renders_and_can_be_written_to_look_at() {
        let results = Results::new(&EIGHT);
        let files = render(&results.input(), &params(&EIGHT, Language::Nb));
        assert!(files.iter().any(|f| f.path == "figures/figure_survival.png"));
        // Every range a file says holds a number holds one, whole (the re-scan checks the
        // same), and the page's tables and figures have them.
        for file in &files {
            let text = String::from_utf8_lossy(&file.bytes);
            for range in &file.numbers {
                let number = &text[range.clone()];
                let digits = number.trim_start_matches('-').replace(',', "");
                assert!(
                    !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()),
                    "{}: {number:?}",
                    file.path
                );
                let beside =
                    [text[..range.start].chars().next_back(), text[range.end..].chars().next()];
                assert!(!beside.iter().flatten().any(|c| c.is_alphanumeric()), "{}", file.path);
            }
        }
        let numbered = |path: &str| files.iter().find(|f| f.path == path).unwrap().numbers.len();
        assert!(numbered("index.html") > 100 && numbered("tables/table_participants.csv") > 10);
        assert!(numbered("figures/figure_survival.svg") > 5);
        if let Ok(dir) = std::env::var("FOLGE_REPORT_SAMPLE_DIR") {
            for file in files {
                let path = std::path::Path::new(&dir).join(&file.path);
                std::fs::create_dir_all(path.parent().unwrap()).unwrap();
                std::fs::write(path, file.bytes).unwrap();
            }
        }
    }

    #[test]
    fn a_large_delivery_s_totals_are_marked_as_numbers_wherever_they_are_written() {
        // 25 million rows read: eight digits starting 2–9, a phone number's shape, which
        // the re-scan reads as a number only where the file says it is one.
        let results = Results::new(&EIGHT);
        let inputs = [crate::InputCount {
            role: "inputs.service_events".into(),
            table: "service_events".into(),
            rows_read: 25_000_000,
            rows_rejected: 1_234,
        }];
        let input = ReportInput { inputs: &inputs, ..results.input() };
        let files = render(&input, &params(&EIGHT, Language::Nb));
        for path in ["index.html", "tables/table_inputs.csv", "tables/table_inputs.md"] {
            let file = files.iter().find(|f| f.path == path).unwrap();
            let text = String::from_utf8(file.bytes.clone()).unwrap();
            for total in ["25000000", "24998766"] {
                let at: Vec<usize> = text.match_indices(total).map(|(at, _)| at).collect();
                assert!(!at.is_empty(), "{path}: {total}");
                assert!(at.iter().all(|&at| file.numbers.contains(&(at..at + total.len()))));
            }
        }
    }

    /// Whether `needle` stands in `text` as a whole word (`pacic_1` not inside `pacic_10`).
    fn has_word(text: &str, needle: &str) -> bool {
        let word = |c: Option<char>| c.is_some_and(|c| c.is_alphanumeric() || c == '_');
        text.match_indices(needle).any(|(at, _)| {
            !word(text[..at].chars().next_back()) && !word(text[at + needle.len()..].chars().next())
        })
    }

    /// The SVG text (invisible copies of every label, and the caption as its title) of the
    /// figures whose file name starts with `prefix`, all parts together.
    fn figure_text(files: &[ReportFile], prefix: &str) -> String {
        let text: Vec<String> = files
            .iter()
            .filter(|f| {
                let path = std::path::Path::new(&f.path);
                f.path.starts_with(&format!("figures/{prefix}"))
                    && path.extension().is_some_and(|e| e == "svg")
            })
            .map(|f| String::from_utf8_lossy(&f.bytes).into_owned())
            .collect();
        assert!(!text.is_empty(), "no figure {prefix}");
        text.join("\n")
    }

    /// Nothing silently cut: every indicator of the analysis is in every figure about
    /// indicators, every municipality in the forest plots, every item in the answer bars
    /// or in their caption's list of items not drawn, and everything in the page.
    #[test]
    fn every_item_indicator_and_municipality_of_the_analysis_is_in_the_report() {
        let indicators = Indicator::ALL;
        let results = Results::new(indicators);
        for lang in [Language::Nb, Language::En] {
            let files = render(&results.input(), &params(indicators, lang));
            let html = String::from_utf8(files[0].bytes.clone()).unwrap();
            let analysed: std::collections::BTreeSet<&str> =
                results.rates.iter().map(|r| r.indicator.as_str()).collect();
            assert_eq!(analysed.len(), indicators.len());
            for prefix in ["figure_rates", "figure_municipalities", "figure_event_time"] {
                let text = figure_text(&files, prefix);
                for indicator in indicators {
                    let label = escape(indicator_label(*indicator, lang));
                    assert!(text.contains(&label), "{prefix}: {label}");
                }
            }
            let lorenz = figure_text(&files, "figure_concentration");
            for u in &results.utilisation {
                let indicator = Indicator::parse(&u.indicator).unwrap();
                assert!(
                    lorenz.contains(&escape(indicator_label(indicator, lang))),
                    "{indicator:?}"
                );
            }
            let forest = figure_text(&files, "figure_municipalities");
            for m in results.municipality_rates.iter().map(|r| r.municipality.as_str()) {
                assert!(has_word(&forest, m), "forest: {m}");
                assert!(has_word(&html, m), "page: {m}");
            }
            let items = figure_text(&files, "figure_items");
            for d in &results.item_distributions {
                assert!(has_word(&items, &d.item), "answer bars or their caption: {}", d.item);
                assert!(has_word(&html, &d.item), "page: {}", d.item);
            }
        }
    }

    #[test]
    fn age_band_quantiles_are_the_bands_they_fall_in() {
        let bands = [("0-5".to_owned(), 2), ("67-79".to_owned(), 5), ("80+".to_owned(), 3)];
        assert_eq!(band_quantile(&bands, 0.5), Some("67-79"));
        assert_eq!(band_quantile(&bands, 0.2), Some("0-5"), "2 of 10 reach 20 %");
        assert_eq!(band_quantile(&bands, 0.75), Some("80+"));
        assert_eq!(band_quantile(&[], 0.5), None);
    }

    #[test]
    fn the_summary_covers_implementation_questionnaires_and_focus_groups() {
        use folge_schema::tables::{CodeFrequencyRow, FrameworkRow};
        let indicators = [Indicator::Admissions];
        let results = crate::test_rows::Results::new(&indicators);
        let step = |element: &str, documented: i64| FrameworkRow {
            element: element.into(),
            arm: Arm::Pilot,
            scope: "all".into(),
            scope_value: None,
            n_persons: 40,
            n_documented: documented,
            share: Some(documented as f64 / 40.0),
            days_median: Some(21.0),
            days_q1: None,
            days_q3: None,
        };
        // C: 38 of 40, "all but 2", is hidden.
        let framework = [step("A", 30), step("C", 38)];
        let code = |code: &str, groups: i64| CodeFrequencyRow {
            theme: None,
            code: code.into(),
            scope: "all".into(),
            scope_value: None,
            n_segments: 9,
            n_groups: groups,
            n_groups_in_scope: 4,
        };
        let codes = [code("Tid", 2), code("Felles plan", 4)];
        let input =
            ReportInput { framework: &framework, code_frequencies: &codes, ..results.input() };
        let params = crate::test_rows::params(&indicators, Language::Nb);
        let lines = headline(&input, &params);
        assert!(
            lines.iter().any(
                |l| l.contains("dokumentert, og median dager fra inklusjon: A 75 %, 21 dager.")
            ),
            "{lines:?}"
        );
        assert!(lines.iter().any(|l| l == "Fokusgrupper (4): kodene flest grupper brukte: «Felles plan» (4 av 4), «Tid» (2 av 4)."), "{lines:?}");
    }

    #[test]
    fn the_front_matter_is_on_the_first_page_and_in_the_metadata() {
        let results = Results::new(&EIGHT);
        let page = |params: &ReportParams| {
            String::from_utf8(render(&results.input(), params)[0].bytes.clone()).unwrap()
        };
        let plain = page(&params(&EIGHT, Language::Nb));
        assert!(plain.contains("<title>Sluttrapport: test</title>"), "the default title");
        assert!(plain.contains("<h1>Sluttrapport: test</h1>"));
        assert!(!plain.contains("name=\"author\""));
        let mut with_front = params(&EIGHT, Language::Nb);
        with_front.front = crate::FrontMatter {
            title: Some("Evaluering av LKT".into()),
            subtitle: Some("Sluttrapport til styringsgruppen".into()),
            authors: vec!["Torunn Sæbø".into(), "Eirik Lunde".into()],
            organisation: Some("Helse Bergen HF".into()),
            date: chrono::NaiveDate::from_ymd_opt(2022, 6, 15),
            version: Some("1.0".into()),
        };
        let html = page(&with_front);
        for part in [
            "<title>Evaluering av LKT</title>",
            "<meta name=\"author\" content=\"Torunn Sæbø, Eirik Lunde\">",
            "<meta name=\"description\" content=\"Sluttrapport til styringsgruppen\">",
            "<meta name=\"dcterms.date\" content=\"2022-06-15\">",
            "<header class=\"front\">\n<p class=\"organisation\">Helse Bergen HF</p>\n<h1>Evaluering av LKT</h1>",
            "<p class=\"authors\">Torunn Sæbø, Eirik Lunde</p>",
            "<p class=\"dated\">15. juni 2022 · Versjon 1.0</p>",
        ] {
            assert!(html.contains(part), "{part}");
        }
        with_front.language = Language::En;
        assert!(page(&with_front).contains("<p class=\"dated\">15 June 2022 · Version 1.0</p>"));
    }

    #[test]
    fn print_keeps_headings_with_their_content_numbers_pages_and_drops_screen_links() {
        let results = Results::new(&EIGHT);
        let files = render(&results.input(), &params(&EIGHT, Language::Nb));
        let html = String::from_utf8(files[0].bytes.clone()).unwrap();
        assert!(html.contains("@bottom-center{content:counter(page) ' / ' counter(pages)"));
        assert!(html.contains("<section>\n<div class=\"keep\">\n<h2>Deltakere</h2>\n<div class=\"table\">\n<table id=\"table_participants\">"));
        assert!(
            html.contains(
                "<section>\n<div class=\"keep\">\n<h2>Metode</h2>\n<dl>\n<dt>Perioder</dt>"
            )
        );
        assert!(
            html.contains("<span class=\"screen\"><a href=\"figures/figure_rates.svg\">SVG</a>")
        );
        assert!(
            html.contains("<p class=\"note screen\"><a href=\"tables/table_participants.csv\">")
        );
        // Every heading opens a kept block, and every kept block closes before its section.
        assert_eq!(html.matches("<h2>").count(), html.matches("<div class=\"keep\">").count());
        for section in html.split("<section>").skip(1) {
            let section = section.split("</section>").next().unwrap();
            assert_eq!(section.matches("<div").count(), section.matches("</div>").count());
        }
    }

    #[test]
    fn captions_are_renumbered_in_report_order() {
        assert_eq!(renumber("Tabell 3. Endring", 2, Language::Nb), "Tabell 2. Endring");
        assert_eq!(renumber("Table 12. Agreement", 5, Language::En), "Table 5. Agreement");
        assert_eq!(renumber("Tabellen", 1, Language::Nb), "Tabell 1. Tabellen");
    }
}

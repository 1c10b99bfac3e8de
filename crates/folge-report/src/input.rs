//! What a report is made from and how it is written: its inputs (the analysis tables), its
//! parameters, language and sections, and the labels and rates every page, table and figure
//! shares. The page (`html.rs`) and the figures (`figures.rs`) both read these; neither
//! imports the other's internals.

use folge_analyze::Indicator;
use folge_deid::{Deidentified, SmallCellRule};
use folge_schema::Arm;
use folge_schema::tables::{ComparisonRow, RateRow};

/// Report language.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Language {
    /// Norsk bokmål (default).
    Nb,
    /// English.
    En,
}

impl Language {
    pub(crate) fn pick<'a>(self, nb: &'a str, en: &'a str) -> &'a str {
        match self {
            Language::Nb => nb,
            Language::En => en,
        }
    }
}

/// What the report is made from: de-identified tables and aggregated results only.
#[derive(Debug, Clone, Copy)]
pub struct ReportInput<'a> {
    /// De-identified tables (for the description of participants).
    pub tables: &'a Deidentified,
    /// Rates by indicator × arm × period.
    pub rates: &'a [RateRow],
    /// Comparisons (rate ratios, pilot vs comparison).
    pub comparisons: &'a [ComparisonRow],
    /// Focus-group code frequencies (empty without codings).
    pub code_frequencies: &'a [folge_schema::tables::CodeFrequencyRow],
    /// Inter-coder agreement (empty without codings).
    pub agreement: &'a [folge_schema::tables::AgreementRow],
    /// Rates by indicator × municipality × arm × period.
    pub municipality_rates: &'a [folge_schema::tables::MunicipalityRateRow],
    /// Concentration of use (top 5 %, 10 %, Gini).
    pub utilisation: &'a [folge_schema::tables::UtilisationRow],
    /// Lorenz curves in percent steps.
    pub lorenz: &'a [folge_schema::tables::LorenzRow],
    /// Scale scores per person and timepoint (drawn as means only).
    pub scale_scores: &'a [folge_schema::tables::ScaleScoreRow],
    /// Answers per item, timepoint, arm and response level.
    pub item_distributions: &'a [folge_schema::tables::ItemDistributionRow],
    /// Rates per indicator × arm in 30-day bins around inclusion (empty: not drawn).
    pub event_time: &'a [folge_schema::tables::EventTimeRow],
    /// Kaplan–Meier survival by arm (empty: no survival figure).
    pub survival: &'a [folge_schema::tables::SurvivalRow],
    /// Covariate balance before and after weighting (empty unless the pipeline adjusts).
    pub balance: &'a [folge_schema::tables::BalanceRow],
    /// The framework's steps: share documented and days to each, by arm and municipality
    /// (empty without a step log).
    pub framework: &'a [folge_schema::tables::FrameworkRow],
    /// Cronbach's alpha per scale and timepoint (empty without scales).
    pub reliability: &'a [folge_schema::tables::ScaleReliabilityRow],
    /// Mean and median of each item's answers with intervals (EQ-5D's VAS).
    pub item_summaries: &'a [folge_schema::tables::ItemSummaryRow],
    /// Coded quotes, scrubbed by deid (empty without codings).
    pub quotes: &'a [folge_schema::tables::QuoteRow],
    /// Rates in the subgroups compared on their own (the 67+ for 30-day readmissions).
    pub subgroup_rates: &'a [folge_schema::tables::SubgroupRateRow],
    /// Rows each input gave and lost, as ingest counted them (empty: not known).
    pub inputs: &'a [InputCount],
}

/// One input file as ingest counted it, named by its place in the pipeline file
/// (`inputs.service_events[1]`), never by its file name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputCount {
    /// Its place in the pipeline file.
    pub role: String,
    /// The canonical table it feeds (`participants`, `responses`, …).
    pub table: String,
    /// Data rows read.
    pub rows_read: u64,
    /// Rows rejected (kept in `01_ingest/rejects.parquet`).
    pub rows_rejected: u64,
}

/// A part of the report a pipeline can choose (`report.sections`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Section {
    /// Who took part and how many.
    Summary,
    /// Periods, indicators, tests, suppression, software and hashes.
    Methods,
    /// Table 1: participants by arm.
    Participants,
    /// From the inputs to the analysis: rows read and rejected, persons per arm, with
    /// answers at each timepoint, analysed.
    DataFlow,
    /// Implementation: the framework's steps A–E documented, and days to each.
    Implementation,
    /// Use before and after: figure and table of rates.
    Use,
    /// Pilot against comparison: the effect table.
    Effects,
    /// Municipalities: forest plot and the table with municipalities as columns.
    Municipalities,
    /// Concentration of use before inclusion: Lorenz curves.
    Concentration,
    /// Questionnaire scales: table, means and item answers.
    Scales,
    /// Focus groups: codes, their figure and heatmap, agreement, selected quotes.
    FocusGroups,
    /// What limits the results, from what the run knows.
    Limitations,
}

impl Section {
    /// Every section, in report order.
    pub const ALL: [Section; 12] = [
        Section::Summary,
        Section::Methods,
        Section::Participants,
        Section::DataFlow,
        Section::Implementation,
        Section::Use,
        Section::Effects,
        Section::Municipalities,
        Section::Concentration,
        Section::Scales,
        Section::FocusGroups,
        Section::Limitations,
    ];

    /// The id used in pipeline files.
    pub fn id(self) -> &'static str {
        match self {
            Section::Summary => "summary",
            Section::Methods => "methods",
            Section::DataFlow => "data_flow",
            Section::Participants => "participants",
            Section::Implementation => "implementation",
            Section::Use => "use",
            Section::Effects => "effects",
            Section::Municipalities => "municipalities",
            Section::Concentration => "concentration",
            Section::Scales => "scales",
            Section::FocusGroups => "focus_groups",
            Section::Limitations => "limitations",
        }
    }

    /// Parse an id.
    pub fn parse(id: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.id() == id)
    }
}

/// Report settings and provenance.
#[derive(Debug, Clone)]
pub struct ReportParams {
    /// Pipeline name (title and folder).
    pub pipeline: String,
    /// Language.
    pub language: Language,
    /// Small-cell rule.
    pub rule: SmallCellRule,
    /// Days in the before window.
    pub before_days: u32,
    /// Days in the after window.
    pub after_days: u32,
    /// Indicators, in report order.
    pub indicators: Vec<Indicator>,
    /// folge version.
    pub version: String,
    /// SHA-256 of the parameters.
    pub params_sha256: String,
    /// SHA-256 over the input files.
    pub inputs_sha256: String,
    /// How p-values were adjusted (`holm`, `bh`, `bonferroni`), for the headings.
    pub adjustment: folge_stats::Adjustment,
    /// Sections to include, in report order (default: all).
    pub sections: Vec<Section>,
    /// How the pooled rates' intervals were clustered by person (the analysis's setting).
    pub cluster_variance: folge_analyze::ClusterVariance,
    /// The questionnaires' instruments as their codebooks give them (item order, answer
    /// range); empty: items are shown in natural order (`q2` before `q10`).
    pub instruments: Vec<Instrument>,
    /// Names for kommunenummer over those folge ships ([`crate::MUNICIPALITY_NAMES`]).
    pub municipality_names: std::collections::BTreeMap<String, String>,
    /// Labels for the participants' target groups; a value without one shows as itself.
    pub target_groups: std::collections::BTreeMap<String, String>,
    /// Title, authors and the rest of the first page.
    pub front: FrontMatter,
    /// `tables/*.csv` with `;` and a decimal comma (a Norwegian-locale Excel's CSV), not
    /// `,` and a decimal point.
    pub csv_decimal_comma: bool,
}

/// The first page: what the report is, who wrote it, for whom and when. Shown at the
/// top of the page and in its `<title>` and `<meta>` (which a printed PDF takes as its
/// metadata).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FrontMatter {
    /// Title; `None`: "Sluttrapport: <pipeline>".
    pub title: Option<String>,
    /// Subtitle.
    pub subtitle: Option<String>,
    /// Authors, in order.
    pub authors: Vec<String>,
    /// The organisation the report is from.
    pub organisation: Option<String>,
    /// The report's date.
    pub date: Option<chrono::NaiveDate>,
    /// The report's own version.
    pub version: Option<String>,
}

/// A date as the report's language writes it: "15. juni 2022", "15 June 2022".
pub(crate) fn long_date(date: chrono::NaiveDate, lang: Language) -> String {
    use chrono::Datelike;
    const NB: [&str; 12] = [
        "januar",
        "februar",
        "mars",
        "april",
        "mai",
        "juni",
        "juli",
        "august",
        "september",
        "oktober",
        "november",
        "desember",
    ];
    const EN: [&str; 12] = [
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ];
    let month = date.month0() as usize;
    match lang {
        Language::Nb => format!("{}. {} {}", date.day(), NB[month], date.year()),
        Language::En => format!("{} {} {}", date.day(), EN[month], date.year()),
    }
}

/// A questionnaire instrument as its codebook gives it: its items in order with their
/// answer ranges. The report shows items in this order and draws answer bars on the
/// item's range.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Instrument {
    /// Name (`pacic`), as in the analysis tables.
    pub name: String,
    /// Items in the codebook's order.
    pub items: Vec<InstrumentItem>,
}

/// One item of an [`Instrument`].
#[derive(Debug, Clone, Default, PartialEq)]
pub struct InstrumentItem {
    /// Name, as in the analysis tables.
    pub name: String,
    /// Lowest valid answer (the item's own, else its instrument's).
    pub min: Option<f64>,
    /// Highest valid answer.
    pub max: Option<f64>,
    /// The answers' labels from the codebook (`1` → "Nesten aldri"), by code; empty when
    /// the codebook gives none (the answers are then shown as their codes).
    pub labels: Vec<(f64, String)>,
}

/// A text cut into runs of digits (compared as numbers) and of other characters, so
/// `pacic_2` sorts before `pacic_10`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum NaturalPart {
    Text(String),
    Number(u128, usize),
}

/// The natural sort key of `text`.
pub(crate) fn natural_key(text: &str) -> Vec<NaturalPart> {
    let mut parts = Vec::new();
    let mut rest = text;
    while let Some(first) = rest.chars().next() {
        let digit = first.is_ascii_digit();
        let end = rest.find(|c: char| c.is_ascii_digit() != digit).unwrap_or(rest.len());
        let (run, tail) = rest.split_at(end);
        parts.push(match run.parse::<u128>() {
            // Equal numbers with more leading zeros after: `q01` after `q1`.
            Ok(n) if digit => NaturalPart::Number(n, run.len()),
            _ => NaturalPart::Text(run.to_owned()),
        });
        rest = tail;
    }
    parts
}

impl ReportParams {
    /// The report's title: the pipeline's, or "Sluttrapport: <pipeline>".
    pub(crate) fn title(&self) -> String {
        self.front.title.clone().unwrap_or_else(|| {
            format!("{}: {}", self.language.pick("Sluttrapport", "Final report"), self.pipeline)
        })
    }

    /// A municipality as tables and figures show it: "Bergen (4601)", or the number
    /// alone when no name is known.
    pub(crate) fn municipality(&self, number: &str) -> String {
        crate::municipalities::municipality_name(number, &self.municipality_names)
            .map_or_else(|| number.to_owned(), |name| format!("{name} ({number})"))
    }

    /// A target group as tables show it: the pipeline's label, or the value itself.
    pub(crate) fn target_group(&self, value: &str) -> String {
        self.target_groups.get(value).cloned().unwrap_or_else(|| value.to_owned())
    }

    /// The instrument's codebook, when the pipeline gave it.
    pub(crate) fn instrument(&self, name: &str) -> Option<&Instrument> {
        self.instruments.iter().find(|i| i.name == name)
    }

    /// Where an instrument goes: the codebooks' order, then others by name.
    pub(crate) fn instrument_rank(&self, name: &str) -> (usize, Vec<NaturalPart>) {
        let place = self.instruments.iter().position(|i| i.name == name);
        (place.unwrap_or(usize::MAX), natural_key(name))
    }

    /// Where an item goes within its instrument: the codebook's order, then natural order.
    pub(crate) fn item_rank(&self, instrument: &str, item: &str) -> (usize, Vec<NaturalPart>) {
        let place =
            self.instrument(instrument).and_then(|i| i.items.iter().position(|x| x.name == item));
        (place.unwrap_or(usize::MAX), natural_key(item))
    }
}

pub(crate) fn arm_label(arm: Arm, lang: Language) -> &'static str {
    match arm {
        Arm::Pilot => lang.pick("Pilot", "Pilot"),
        Arm::Comparison => lang.pick("Sammenligning", "Comparison"),
    }
}

pub(crate) fn indicator_label(i: Indicator, lang: Language) -> &'static str {
    lang.pick(i.label_nb(), i.label_en())
}

/// The rate row for an indicator × arm × period.
pub(crate) fn rate<'a>(
    rates: &'a [RateRow],
    indicator: Indicator,
    arm: Arm,
    period: &str,
) -> Option<&'a RateRow> {
    rates.iter().find(|r| r.indicator == indicator.id() && r.arm == arm && r.period == period)
}

/// Whether the arm's before and after rates of `indicator` both exist and pass the
/// small-cell rule (an estimate built from them may then be shown).
pub(crate) fn arm_rates_shown(
    input: &ReportInput<'_>,
    indicator: Indicator,
    arm: Arm,
    rule: SmallCellRule,
) -> bool {
    ["before", "after"].iter().all(|p| {
        rate(input.rates, indicator, arm, p).is_some_and(|r| !rule.hides_rate(r.value_total, r.n))
    })
}

/// The arm's comparison after/before of `indicator` (scope `arm`).
pub(crate) fn arm_row<'a>(
    input: &ReportInput<'a>,
    indicator: Indicator,
    arm: Arm,
) -> Option<&'a ComparisonRow> {
    input.comparisons.iter().find(|c| {
        c.measure == indicator.id()
            && c.scope == "arm"
            && c.arm == Some(arm)
            && c.effect_size_kind == crate::estimates::AFTER_BEFORE
    })
}

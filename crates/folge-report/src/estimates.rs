//! What the analysis says about its estimates, in the report's words: which model gave an
//! interval (read from a comparison row's `method`, so the report names what was run, not
//! what was planned), whether it was adjusted, and why a row has no estimate — a reader
//! must see why a cell is empty.

use std::collections::BTreeSet;

use folge_analyze::Indicator;
use folge_schema::tables::ComparisonRow;

use crate::input::Language;

/// `effect_size_kind` of a within-arm comparison: rate ratio after/before.
pub(crate) const AFTER_BEFORE: &str = "rate_ratio";
/// `effect_size_kind` of pilot vs comparison: the ratio of the arms' after/before ratios.
pub(crate) const RATIO_OF_RATIOS: &str = "ratio_of_rate_ratios";
/// `effect_size_kind` of mortality: rate ratio pilot/comparison after inclusion.
pub(crate) const BETWEEN_ARMS_AFTER: &str = "rate_ratio_pilot_vs_comparison";
/// `effect_size_kind` of the pre-trend check: a placebo difference in differences over the
/// bins before inclusion.
pub(crate) const PRETREND: &str = "pretrend_ratio_of_trends";

/// The row of `indicator` in scope `all` with this kind of estimate.
pub(crate) fn overall<'a>(
    comparisons: &'a [ComparisonRow],
    indicator: Indicator,
    kind: &str,
) -> Option<&'a ComparisonRow> {
    comparisons
        .iter()
        .find(|c| c.measure == indicator.id() && c.scope == "all" && c.effect_size_kind == kind)
}

/// Mortality is compared between the arms after inclusion only: everyone is alive at
/// inclusion, so nobody can die in the period before and an after/before ratio means
/// nothing.
pub(crate) fn mortality_not_before_after(lang: Language) -> String {
    lang.pick(
        "sammenlignes ikke før/etter (alle lever ved inklusjon)",
        "not compared before/after (all alive at inclusion)",
    )
    .to_owned()
}

/// Shown where the analysis wrote no row for an estimate the report looks for.
pub(crate) fn not_computed(lang: Language) -> String {
    lang.pick("ikke beregnet i analysen", "not computed by the analysis").to_owned()
}

/// Why `row` has no estimate (or no interval), shortly and in the report's language. The
/// analysis writes its reasons in English (`no estimate: …`, `… no CI (…)`); known ones
/// are translated, the rest shown as written. A reason never repeats a count of persons:
/// the count may itself be a small number.
pub(crate) fn missing_reason(row: &ComparisonRow, lang: Language) -> String {
    if row.measure == Indicator::Mortality.id() && row.effect_size_kind == AFTER_BEFORE {
        return mortality_not_before_after(lang);
    }
    let method = row.method.as_str();
    let lower = method.to_lowercase();
    let detail = ["no estimate:", "no estimate (", "no ci (", "no interval:"]
        .iter()
        .find_map(|marker| lower.find(marker).and_then(|at| method.get(at + marker.len()..)))
        .map_or(method, |rest| rest.trim().trim_end_matches(')'));
    let detail_lower = detail.to_lowercase();
    if detail_lower.contains("deaths cannot occur before inclusion") {
        return lang
            .pick(
                "dødsfall kan ikke skje før inklusjon; dødeligheten sammenlignes mellom gruppene etter inklusjon",
                "deaths cannot occur before inclusion; mortality is compared between the arms after inclusion",
            )
            .to_owned();
    }
    if detail_lower.contains("bins before inclusion") {
        return lang
            .pick(
                "for få 30-dagers perioder før inklusjon i analysevinduet",
                "too few 30-day bins before inclusion in the analysis window",
            )
            .to_owned();
    }
    if detail_lower.contains("within-person") && detail_lower.contains("at least") {
        return lang
            .pick(
                "for få personer med tid og forbruk både før og etter",
                "too few persons with time and use both before and after",
            )
            .to_owned();
    }
    if detail_lower.contains("every outcome is 0") || detail_lower.contains("no finite estimate") {
        return lang
            .pick("ingen hendelser i en gruppe eller periode", "no events in an arm or period")
            .to_owned();
    }
    if detail_lower.contains("cluster-robust") && detail_lower.contains("at least") {
        return lang.pick("for få personer", "too few persons").to_owned();
    }
    if detail_lower.contains("fewer than") {
        let min_n = detail_lower
            .split("fewer than")
            .nth(1)
            .and_then(|s| s.split(|c: char| !c.is_ascii_digit()).find(|w| !w.is_empty()))
            .unwrap_or("");
        let in_arm = detail_lower.contains("in an arm");
        return match (lang, in_arm) {
            (Language::Nb, false) => format!("for få personer (færre enn {min_n})"),
            (Language::Nb, true) => format!("for få personer i en gruppe (færre enn {min_n})"),
            (Language::En, false) => format!("too few persons (fewer than {min_n})"),
            (Language::En, true) => format!("too few persons in an arm (fewer than {min_n})"),
        };
    }
    if detail_lower.contains("at least one event") || detail_lower.contains("no events") {
        return lang.pick("ingen hendelser", "no events").to_owned();
    }
    if detail_lower.contains("not whole counts") {
        return lang
            .pick("ikke hele tall, intet eksakt intervall", "not whole counts, no exact interval")
            .to_owned();
    }
    if detail_lower.contains("singular") || detail_lower.contains("converge") {
        return lang
            .pick("modellen lot seg ikke tilpasse", "the model could not be fitted")
            .to_owned();
    }
    if detail.is_empty() {
        return lang.pick("intet estimat", "no estimate").to_owned();
    }
    match lang {
        Language::Nb => format!("intet estimat: {detail}"),
        Language::En => format!("no estimate: {detail}"),
    }
}

/// A model an interval came from, as the method text names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Model {
    /// The within-person rate ratio: Poisson with a fixed effect per person.
    WithinPerson {
        clustered: Clustering,
    },
    PoissonGlm {
        clustered: Clustering,
    },
    NegativeBinomial {
        clustered: Clustering,
    },
    ExactPoisson,
}

/// How a model's standard errors were clustered by person.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Clustering {
    None,
    Cr1,
    Jackknife,
}

/// The words for the person-clustered SEs of pooled rates, as the pipeline chose them.
pub(crate) fn rate_variance_words(
    variance: folge_analyze::ClusterVariance,
    lang: Language,
    full: bool,
) -> &'static str {
    match (variance, full) {
        (folge_analyze::ClusterVariance::Cr1, true) => lang.pick(
            "klyngerobuste standardfeil gruppert på person (CR1, som R sandwich::vcovCL(type = \"HC1\"))",
            "cluster-robust standard errors by person (CR1, as R sandwich::vcovCL(type = \"HC1\"))",
        ),
        (folge_analyze::ClusterVariance::Cr1, false) => lang.pick(
            "klyngerobuste standardfeil gruppert på person, CR1",
            "cluster-robust standard errors by person, CR1",
        ),
        (folge_analyze::ClusterVariance::Jackknife, true) => lang.pick(
            "standardfeil fra jackknife over personer (hver person utelatt én gang; CV3, som R sandwich::vcovJK(center = \"estimate\"))",
            "standard errors from the jackknife over persons (each person left out once; CV3, as R sandwich::vcovJK(center = \"estimate\"))",
        ),
        (folge_analyze::ClusterVariance::Jackknife, false) => lang.pick(
            "standardfeil fra jackknife over personer, CV3",
            "standard errors from the jackknife over persons, CV3",
        ),
    }
}

fn model_of(method: &str) -> Option<Model> {
    let m = method.to_lowercase();
    let clustered = if m.contains("jackknife") {
        Clustering::Jackknife
    } else if m.contains("cr1") || m.contains("cluster") {
        Clustering::Cr1
    } else {
        Clustering::None
    };
    if m.contains("fixed effect per person") {
        Some(Model::WithinPerson { clustered })
    } else if m.contains("negative binomial") {
        Some(Model::NegativeBinomial { clustered })
    } else if m.contains("poisson glm") || m.contains("poisson model") {
        Some(Model::PoissonGlm { clustered })
    } else if m.contains("poisson.test") {
        Some(Model::ExactPoisson)
    } else {
        None
    }
}

/// The words for a model: in full (family, offset, the R call of the standard errors), or
/// briefly, for a text that has named it in full already.
fn model_words(model: Model, lang: Language, full: bool) -> String {
    let cluster = |clustered: Clustering| {
        match (clustered, full) {
        (Clustering::None, _) => "",
        (Clustering::Jackknife, true) => lang.pick(
            " og standardfeil fra jackknife over personer (CV3, som R sandwich::vcovJK(center = \"estimate\"))",
            " and standard errors from the jackknife over persons (CV3, as R sandwich::vcovJK(center = \"estimate\"))",
        ),
        (Clustering::Jackknife, false) => lang.pick(
            " med standardfeil fra jackknife over personer (CV3)",
            " with jackknife standard errors by person (CV3)",
        ),
        (Clustering::Cr1, true) => lang.pick(
            " og klyngerobuste standardfeil gruppert på person (CR1, som R sandwich::vcovCL(type = \"HC1\"))",
            " and cluster-robust standard errors by person (CR1, as R sandwich::vcovCL(type = \"HC1\"))",
        ),
        (Clustering::Cr1, false) => lang.pick(
            " med robuste standardfeil gruppert på person (CR1)",
            " with cluster-robust standard errors by person (CR1)",
        ),
    }
    };
    let family = |poisson: bool| match (poisson, full) {
        (true, true) => lang.pick(
            "Poisson-GLM på personnivå med log personår som offset",
            "person-level Poisson GLM with log person-years as offset",
        ),
        (true, false) => lang.pick("Poisson-GLM på personnivå", "person-level Poisson GLM"),
        (false, true) => lang.pick(
            "negativ binomisk GLM på personnivå med log personår som offset",
            "person-level negative binomial GLM with log person-years as offset",
        ),
        (false, false) => {
            lang.pick("negativ binomisk GLM på personnivå", "person-level negative binomial GLM")
        }
    };
    match model {
        Model::WithinPerson { clustered } => {
            let family = if full {
                lang.pick(
                    "Poisson-GLM med fast effekt per person og log personår som offset (hver person sammenlignet med seg selv før og etter, så hvem som bruker mye og hvem som faller fra tidlig, flytter ikke estimatet)",
                    "Poisson GLM with a fixed effect per person and log person-years as offset (each person compared with themself before and after, so who uses much and who leaves early do not move the estimate)",
                )
            } else {
                lang.pick(
                    "Poisson-GLM med fast effekt per person",
                    "Poisson GLM with a fixed effect per person",
                )
            };
            format!("{family}{}", cluster(clustered))
        }
        Model::PoissonGlm { clustered } => format!("{}{}", family(true), cluster(clustered)),
        Model::NegativeBinomial { clustered } => {
            format!("{}{}", family(false), cluster(clustered))
        }
        Model::ExactPoisson => lang
            .pick(
                "eksakt betinget Poisson-test av samlede rater (poisson.test)",
                "exact conditional Poisson test of pooled rates (poisson.test)",
            )
            .to_owned(),
    }
}

/// The models behind the rows' intervals, in full words: each model named once, in a
/// fixed order; a method the report does not know is quoted as written. Rows without an
/// interval name none.
pub(crate) fn describe_models<'a>(
    rows: impl IntoIterator<Item = &'a ComparisonRow>,
    lang: Language,
) -> Option<String> {
    describe(rows, lang, true)
}

/// [`describe_models`] in brief, for a text that names the full model elsewhere.
pub(crate) fn describe_models_briefly<'a>(
    rows: impl IntoIterator<Item = &'a ComparisonRow>,
    lang: Language,
) -> Option<String> {
    describe(rows, lang, false)
}

fn describe<'a>(
    rows: impl IntoIterator<Item = &'a ComparisonRow>,
    lang: Language,
    full: bool,
) -> Option<String> {
    let mut models = BTreeSet::new();
    let mut unknown = BTreeSet::new();
    for row in rows {
        if row.ci_low.is_none() || row.ci_high.is_none() {
            continue;
        }
        match model_of(&row.method) {
            Some(model) => {
                models.insert(model);
            }
            None => {
                unknown.insert(row.method.as_str());
            }
        }
    }
    let mut parts: Vec<String> = models.into_iter().map(|m| model_words(m, lang, full)).collect();
    parts.extend(unknown.into_iter().map(|m| format!("«{m}»")));
    (!parts.is_empty()).then(|| parts.join(lang.pick("; for noen: ", "; for some: ")))
}

/// Indicators whose rows name a negative binomial model (the pipeline chose it for them).
pub(crate) fn negative_binomial_measures<'a>(
    rows: impl IntoIterator<Item = &'a ComparisonRow>,
) -> Vec<&'a str> {
    let set: BTreeSet<&str> = rows
        .into_iter()
        .filter(|r| r.method.to_lowercase().contains("negative binomial"))
        .map(|r| r.measure.as_str())
        .collect();
    set.into_iter().collect()
}

/// Whether a method text says the estimate is adjusted (covariates or balancing weights).
pub(crate) fn is_adjusted(method: &str) -> bool {
    let m = method.to_lowercase();
    let denied =
        m.contains("unadjusted") || m.contains("not adjusted") || m.contains("no adjustment");
    let named = ["adjusted", "weights", "weighted", "ipw", "overlap", "covariate"]
        .iter()
        .any(|w| m.contains(w));
    named && !denied
}

/// Whether the estimates of `rows` are adjusted, in a sentence: "not adjusted", or the
/// analysis's own words for each adjusted model (quoted: covariates keep their ids).
pub(crate) fn adjustment_sentence<'a>(
    rows: impl IntoIterator<Item = &'a ComparisonRow>,
    lang: Language,
) -> String {
    let rows: Vec<&ComparisonRow> = rows.into_iter().filter(|r| r.effect_size.is_some()).collect();
    let adjusted: BTreeSet<&str> =
        rows.iter().filter(|r| is_adjusted(&r.method)).map(|r| r.method.as_str()).collect();
    if adjusted.is_empty() {
        return lang
            .pick(
                "ujustert: ingen kovariater eller vekter (gruppene sammenlignes som de er)",
                "unadjusted: no covariates or weights (the arms are compared as they are)",
            )
            .to_owned();
    }
    let quoted: Vec<String> = adjusted.iter().map(|m| format!("«{m}»")).collect();
    let some = if adjusted.len() < rows.len() {
        lang.pick(" (de øvrige ujustert)", " (the others unadjusted)")
    } else {
        ""
    };
    match lang {
        Language::Nb => format!("justert, som analysen oppgir: {}{some}", quoted.join("; ")),
        Language::En => format!("adjusted, as the analysis states: {}{some}", quoted.join("; ")),
    }
}

/// A p-value as a caption writes it: `p = 0,62`, `p < 0,001`.
pub(crate) fn p_text(p: f64, decimal_comma: bool) -> String {
    if p < 0.001 {
        format!("p < {}", crate::figure::number(0.001, 3, decimal_comma))
    } else {
        format!("p = {}", crate::figure::number(p, 3, decimal_comma))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(measure: &str, kind: &str, estimate: Option<f64>, method: &str) -> ComparisonRow {
        let ci = |f: f64| estimate.map(|e| e * f);
        ComparisonRow {
            measure: measure.into(),
            scope: "all".into(),
            scope_value: None,
            arm: None,
            n: 40,
            before_mean: None,
            after_mean: None,
            diff: None,
            diff_ci_low: None,
            diff_ci_high: None,
            ci_low: ci(0.8),
            ci_high: ci(1.25),
            p_value: None,
            p_adjusted: None,
            effect_size: estimate,
            effect_size_kind: kind.into(),
            method: method.into(),
        }
    }

    #[test]
    fn the_analysis_reasons_for_deaths_bins_and_empty_cells_are_translated() {
        for (method, nb) in [
            (
                "no estimate: deaths cannot occur before inclusion, so there is no trend before it",
                "dødsfall kan ikke skje før inklusjon; dødeligheten sammenlignes mellom gruppene etter inklusjon",
            ),
            (
                "no estimate: 2 30-day bins before inclusion inside the analysis window, fewer than 3",
                "for få 30-dagers perioder før inklusjon i analysevinduet",
            ),
            (
                "no interval: a count model has no finite estimate when every outcome is 0",
                "ingen hendelser i en gruppe eller periode",
            ),
        ] {
            let r = row("bed_days", RATIO_OF_RATIOS, None, method);
            assert_eq!(missing_reason(&r, Language::Nb), nb, "{method}");
            assert!(!missing_reason(&r, Language::En).contains("intet"));
        }
    }

    #[test]
    fn reasons_are_translated_and_never_repeat_a_small_count() {
        let few = row("bed_days", AFTER_BEFORE, None, "no estimate: 3 persons, fewer than 5");
        assert_eq!(missing_reason(&few, Language::Nb), "for få personer (færre enn 5)");
        assert!(!missing_reason(&few, Language::En).contains('3'));
        let arm = row(
            "bed_days",
            RATIO_OF_RATIOS,
            None,
            "no estimate: 2 pilot and 30 comparison persons, fewer than 5 in an arm",
        );
        assert_eq!(missing_reason(&arm, Language::En), "too few persons in an arm (fewer than 5)");
        let none = row(
            "kad_stays",
            RATIO_OF_RATIOS,
            Some(1.2),
            "ratio of pooled rate ratios; no CI (invalid input: a Poisson model needs at least one event)",
        );
        assert_eq!(missing_reason(&none, Language::Nb), "ingen hendelser");
        let death = row("mortality", AFTER_BEFORE, None, "whatever the analysis says");
        assert_eq!(
            missing_reason(&death, Language::En),
            "not compared before/after (all alive at inclusion)"
        );
        let within = row(
            "gp_contacts",
            AFTER_BEFORE,
            None,
            "no estimate of the within-person rate ratio: the within-person rate ratio (persons with time and a value in both windows) needs at least 2 usable values, got 1",
        );
        assert_eq!(
            missing_reason(&within, Language::En),
            "too few persons with time and use both before and after"
        );
        let odd = row("gp_contacts", RATIO_OF_RATIOS, None, "no estimate: separation in arm x");
        assert_eq!(missing_reason(&odd, Language::Nb), "intet estimat: separation in arm x");
    }

    #[test]
    fn models_are_read_from_the_method_text() {
        let poisson = row(
            "admissions",
            RATIO_OF_RATIOS,
            Some(0.8),
            "ratio of rate ratios, Poisson GLM value ~ pilot * after + offset(log person-years), CR1 SE by person",
        );
        let nb = row(
            "bed_days",
            RATIO_OF_RATIOS,
            Some(0.7),
            "ratio of rate ratios, negative binomial GLM value ~ pilot * after + offset(log person-years), CR1 SE by person",
        );
        let text = describe_models([&poisson, &nb], Language::En).unwrap();
        assert!(text.starts_with("person-level Poisson GLM"), "{text}");
        assert!(text.contains("; for some: person-level negative binomial GLM"), "{text}");
        assert!(text.contains("vcovCL(type = \"HC1\")"));
        assert_eq!(negative_binomial_measures([&poisson, &nb]), ["bed_days"]);
        assert!(adjustment_sentence([&poisson, &nb], Language::En).starts_with("unadjusted"));
        let weighted = row(
            "admissions",
            RATIO_OF_RATIOS,
            Some(0.8),
            "ratio of rate ratios, Poisson GLM … adjusted for age_band, sex; overlap weights",
        );
        let sentence = adjustment_sentence([&weighted, &poisson], Language::Nb);
        assert!(sentence.starts_with("justert, som analysen oppgir: «"), "{sentence}");
        assert!(sentence.ends_with("(de øvrige ujustert)"), "{sentence}");
        assert!(!is_adjusted("Poisson GLM, unadjusted"));
        let exact = row(
            "x",
            AFTER_BEFORE,
            Some(1.0),
            "rate ratio after/before of pooled rates; exact conditional CI and p (poisson.test)",
        );
        assert!(describe_models([&exact], Language::Nb).unwrap().contains("poisson.test"));
        assert_eq!(
            describe_models_briefly([&poisson], Language::Nb).unwrap(),
            "Poisson-GLM på personnivå med robuste standardfeil gruppert på person (CR1)"
        );
        assert_eq!(
            describe_models([&row("x", AFTER_BEFORE, None, "no estimate")], Language::Nb),
            None
        );
    }
}

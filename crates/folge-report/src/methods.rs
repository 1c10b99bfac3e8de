//! The methods section's account of the models: which model gave every interval (read
//! from the comparison rows' `method`, so the page names what the analysis ran), whether
//! the pilot-vs-comparison estimates are adjusted, why mortality is compared between the
//! arms after inclusion only, and what the event-time view, the pre-trend check, the
//! survival curves and the balance table are. Each entry only when the report has it.

use folge_analyze::Indicator;
use folge_schema::tables::ComparisonRow;

use crate::estimates::{
    AFTER_BEFORE, BETWEEN_ARMS_AFTER, PRETREND, RATIO_OF_RATIOS, adjustment_sentence,
    describe_models_briefly, negative_binomial_measures,
};
use crate::input::{Language, ReportInput, ReportParams, indicator_label};

/// The rows of one kind of estimate over the pipeline's indicators (scope `all`, or
/// `arm` for after/before), mortality's after/before rows left out.
fn rows_of<'a>(input: &ReportInput<'a>, kind: &str) -> Vec<&'a ComparisonRow> {
    input
        .comparisons
        .iter()
        .filter(|c| c.effect_size_kind == kind && !c.measure.contains('.'))
        .filter(|c| match kind {
            AFTER_BEFORE => c.scope == "arm" && c.measure != Indicator::Mortality.id(),
            _ => c.scope == "all",
        })
        .collect()
}

/// Methods entries (term, text) about models and intervals, in the report's language.
pub(crate) fn model_entries(
    input: &ReportInput<'_>,
    params: &ReportParams,
    adjustment: &str,
) -> Vec<(String, String)> {
    let lang = params.language;
    let rate_variance = crate::estimates::rate_variance_words(params.cluster_variance, lang, true);
    let none = || lang.pick("ingen estimat i analysen", "no estimate in the analysis").to_owned();
    let within = rows_of(input, AFTER_BEFORE);
    let ratios = rows_of(input, RATIO_OF_RATIOS);
    let deaths = rows_of(input, BETWEEN_ARMS_AFTER);
    let pretrend = rows_of(input, PRETREND);
    let within_models = describe_models_briefly(within.iter().copied(), lang).unwrap_or_else(none);
    let ratio_models = describe_models_briefly(ratios.iter().copied(), lang).unwrap_or_else(none);
    let mut negative_binomial: Vec<&str> = negative_binomial_measures(
        within.iter().chain(&ratios).chain(&deaths).chain(&pretrend).copied(),
    )
    .into_iter()
    .map(|id| Indicator::parse(id).map_or(id, |i| indicator_label(i, lang)))
    .collect();
    negative_binomial.dedup();
    let nb_sentence = if negative_binomial.is_empty() {
        String::new()
    } else {
        match lang {
            Language::Nb => format!(
                " Negativ binomisk modell (valgt i pipelinen, for overspredning) for: {}.",
                negative_binomial.join(", ")
            ),
            Language::En => format!(
                " Negative binomial model (chosen in the pipeline, for overdispersion) for: {}.",
                negative_binomial.join(", ")
            ),
        }
    };
    let mut entries = vec![(
        lang.pick("Intervaller og tester", "Intervals and tests").to_owned(),
        match lang {
            Language::Nb => format!(
                "Rater per personår: 95 % konfidensintervall fra en Poisson-GLM på personnivå, forbruk ~ 1 + offset(log personår), med {rate_variance}: en persons hendelser henger sammen, og de robuste standardfeilene krever ikke at forbruket er Poisson-fordelt, så de gjelder også døgn og timer. Rateratio etter/før i hver gruppe: {within_models}. Pilot mot sammenligning, forholdet mellom gruppenes rateratio (samspillet pilot × etter i forbruk ~ pilot × etter + offset(log personår)): {ratio_models}.{nb_sentence} Skalaer: parvis t-test og Wilcoxon, forskjell i endring med OLS og robuste standardfeil. p justert innen hver familie etter {adjustment}."
            ),
            Language::En => format!(
                "Rates per person-year: 95% confidence interval from a person-level Poisson GLM, use ~ 1 + offset(log person-years), with {rate_variance}: a person's events hang together, and the robust standard errors do not need use to be Poisson distributed, so they hold for days and hours too. Rate ratio after/before within each arm: {within_models}. Pilot against comparison, the ratio of the arms' rate ratios (the pilot × after interaction in use ~ pilot × after + offset(log person-years)): {ratio_models}.{nb_sentence} Scales: paired t-test and Wilcoxon, difference in change by OLS with robust standard errors. p adjusted within each family by {adjustment}."
            ),
        },
    )];
    if !ratios.is_empty() || !deaths.is_empty() {
        let sentence = adjustment_sentence(ratios.iter().chain(&deaths).copied(), lang);
        entries.push((
            lang.pick("Justering", "Adjustment").to_owned(),
            match lang {
                Language::Nb => format!("Estimatene for pilot mot sammenligning er {sentence}."),
                Language::En => format!("The pilot-against-comparison estimates are {sentence}."),
            },
        ));
    }
    if params.indicators.contains(&Indicator::Mortality) {
        let model = describe_models_briefly(deaths.iter().copied(), lang)
            .map_or(String::new(), |m| format!(" ({m})"));
        let survival = if input.survival.is_empty() {
            String::new()
        } else {
            lang.pick(
                ", og overlevelse etter inklusjon med Kaplan–Meier-kurver per gruppe (95 % intervall med Greenwood-varians på log-log-skala, som R survfit(conf.type = \"log-log\"); sensurert ved flytting, utmelding og slutt på data)",
                ", and survival after inclusion by Kaplan–Meier curves per arm (95% interval with Greenwood variance on the log-log scale, as R survfit(conf.type = \"log-log\"); censored at moving away, withdrawal and the end of data)",
            )
            .to_owned()
        };
        entries.push((
            lang.pick("Dødsfall", "Mortality").to_owned(),
            match lang {
                Language::Nb => format!(
                    "Sammenlignes bare mellom gruppene etter inklusjon: rateratio pilot/sammenligning av dødsfall per personår{model}{survival}. Ikke før/etter: alle deltakere lever ved inklusjon, så ingen kan dø i perioden før; dødsraten før er null per definisjon, og et forhold etter/før er ikke definert."
                ),
                Language::En => format!(
                    "Compared between the arms after inclusion only: the rate ratio pilot/comparison of deaths per person-year{model}{survival}. Not before/after: every participant is alive at inclusion, so nobody can die in the period before; the death rate before is zero by construction, and an after/before ratio is not defined."
                ),
            },
        ));
    }
    if !input.event_time.is_empty() || !pretrend.is_empty() {
        let model = describe_models_briefly(pretrend.iter().copied(), lang)
            .map_or(String::new(), |m| format!(" ({m})"));
        entries.push((
            lang.pick("Forløp over tid", "Event-time view").to_owned(),
            match lang {
                Language::Nb => format!(
                    "Forbruk per personår i 30-dagers perioder fra 12 perioder før til 12 perioder etter inklusjon (periode 0 = dag 0–29), per gruppe, med 95 % konfidensintervall fra samme Poisson-modell, klyngerobust per person (CR1) med Students t, der frihetsgradene er færre jo færre personer som står for forbruket i perioden. Test av parallelle trender før inklusjon, forutsetningen for forholdet mellom rateratioene: en placebo-forskjell-i-forskjeller i periodene før inklusjon — hver persons forbruk i andre halvdel av periodene (dag −180 til −1 med 12 perioder før inklusjon) mot første halvdel, innen person, pilot mot sammenligning, med modellen for forholdet mellom rateratioene{model}. Forholdet er 1 når gruppene endret seg likt før inklusjon; det vises med konfidensintervall og p. Et forhold klart ulikt 1 betyr at gruppene var på vei i ulik retning før inklusjon, og at forholdet mellom rateratioene da må leses med forsiktighet; en p over 0,05 viser ikke at trendene er parallelle."
                ),
                Language::En => format!(
                    "Use per person-year in 30-day bins from 12 bins before to 12 bins after inclusion (bin 0 = days 0–29), per arm, with 95% confidence intervals from the same Poisson model, clustered by person (CR1) with Student's t, whose degrees of freedom are fewer the fewer persons carry the bin's use. Check of parallel trends before inclusion, the assumption behind the ratio of rate ratios: a placebo difference in differences over the bins before inclusion — each person's use in the later half of the bins (days −180 to −1 when all 12 are in) against the earlier half, within person, pilot against comparison, with the model of the ratio of rate ratios{model}. The ratio is 1 when the arms changed alike before inclusion; it is shown with confidence interval and p. A ratio clearly unlike 1 means the arms were heading apart before inclusion, and the ratio of rate ratios must then be read with care; a p above 0.05 does not show that the trends are parallel."
                ),
            },
        ));
    }
    if !input.balance.is_empty() {
        entries.push((
            lang.pick("Balanse", "Balance").to_owned(),
            lang.pick(
                "Kovariatbalanse mellom gruppene før og etter vektingen: andeler og gjennomsnitt per gruppe og standardisert gjennomsnittsforskjell (SMD, uvektet felles standardavvik som nevner, som R cobalt::bal.tab).",
                "Covariate balance between the arms before and after weighting: shares and means per arm and the standardised mean difference (SMD, unweighted pooled standard deviation as denominator, as R cobalt::bal.tab).",
            )
            .to_owned(),
        ));
    }
    entries
}

//! Closed vocabularies: the values a column may hold, listed in the pipeline file
//! (`[vocabularies]`). A column with a list accepts only its values (matched without
//! regard to case and surrounding space, stored as the list spells them); anything else
//! rejects the row with a reason that names the column and the expected values but never
//! the value itself, which may be a person's name typed into the wrong cell. A column
//! without a list accepts any text, as before: lists are the safe setting, because a
//! free value travels on into the de-identified tables and the report.

use std::collections::BTreeMap;

/// The framework's elements (`shared/domain.md`): always allowed as process steps.
pub const FRAMEWORK_ELEMENTS: [&str; 5] = ["A", "B", "C", "D", "E"];

/// Values listed in a reason at most; the rest are counted.
const SHOWN_VALUES: usize = 12;

/// The values one column may hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Vocabulary {
    /// The pipeline key that lists them, e.g. `vocabularies.sites`.
    key: String,
    /// The values as listed, in list order.
    values: Vec<String>,
    /// Each value folded (trimmed, lowercase) → its index in `values`.
    folded: BTreeMap<String, usize>,
}

fn fold(value: &str) -> String {
    value.trim().to_lowercase()
}

impl Vocabulary {
    /// The values listed under `key` (duplicates, also by case, count once).
    pub fn new(key: impl Into<String>, values: impl IntoIterator<Item = String>) -> Self {
        let mut vocabulary =
            Vocabulary { key: key.into(), values: Vec::new(), folded: BTreeMap::new() };
        for value in values {
            let value = value.trim().to_owned();
            if !vocabulary.folded.contains_key(&fold(&value)) {
                vocabulary.folded.insert(fold(&value), vocabulary.values.len());
                vocabulary.values.push(value);
            }
        }
        vocabulary
    }

    /// The process steps: the framework's elements A–E and the pipeline's own step names.
    pub fn steps(key: impl Into<String>, steps: impl IntoIterator<Item = String>) -> Self {
        Vocabulary::new(key, FRAMEWORK_ELEMENTS.map(str::to_owned).into_iter().chain(steps))
    }

    /// The value as the list spells it, when it is listed.
    pub fn get(&self, value: &str) -> Option<&str> {
        self.folded.get(&fold(value)).map(|&i| self.values[i].as_str())
    }

    /// The reason a value outside the list is rejected for: the key and the values, never
    /// the value.
    pub fn refusal(&self) -> String {
        let mut shown: Vec<String> =
            self.values.iter().take(SHOWN_VALUES).map(|v| format!("`{v}`")).collect();
        if self.values.len() > SHOWN_VALUES {
            shown.push(format!("and {} more", self.values.len() - SHOWN_VALUES));
        }
        let expected =
            if shown.is_empty() { "none: the list is empty".to_owned() } else { shown.join(", ") };
        format!(
            "is not among the values `{}` lists (expected {expected}); the value is not shown, as it may name a person",
            self.key
        )
    }
}

/// The closed vocabularies of a pipeline; `None`: the column takes any text.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Vocabularies {
    /// Participants' `site`.
    pub sites: Option<Vocabulary>,
    /// Participants' `target_group`.
    pub target_groups: Option<Vocabulary>,
    /// Kommunenummer: participants' `municipality` and the codings' `municipality`.
    pub municipalities: Option<Vocabulary>,
    /// Process events' `element`: A–E and the configured step names.
    pub steps: Option<Vocabulary>,
    /// Focus-group codings' `role`.
    pub roles: Option<Vocabulary>,
}

/// Check `value` against a column's list: the listed spelling when it is listed (or the
/// value as it is, without a list); else the refusal.
pub(crate) fn closed(vocabulary: Option<&Vocabulary>, value: &str) -> Result<String, String> {
    match vocabulary {
        None => Ok(value.to_owned()),
        Some(v) => v.get(value).map(str::to_owned).ok_or_else(|| v.refusal()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[track_caller]
    fn check(vocabulary: &Vocabulary, value: &str, expected: Option<&str>) {
        assert_eq!(vocabulary.get(value), expected);
    }

    #[test]
    fn values_match_without_case_and_keep_the_listed_spelling() {
        let sites = Vocabulary::new("vocabularies.sites", ["Bergen barn".into(), "Askøy".into()]);
        check(&sites, "Bergen barn", Some("Bergen barn"));
        check(&sites, " bergen BARN ", Some("Bergen barn"));
        check(&sites, "ASKØY", Some("Askøy"));
        check(&sites, "Kari Nordmann", None);
        let steps = Vocabulary::steps("vocabularies.steps", ["Oppfølging".into()]);
        check(&steps, "c", Some("C"));
        check(&steps, "oppfølging", Some("Oppfølging"));
        check(&steps, "F", None);
    }

    #[test]
    fn the_refusal_names_the_list_but_not_the_value() {
        let roles = Vocabulary::new("vocabularies.roles", ["leder".into(), "tjenesteyter".into()]);
        assert_eq!(
            closed(Some(&roles), "Ola Nordmann").unwrap_err(),
            "is not among the values `vocabularies.roles` lists (expected `leder`, `tjenesteyter`); the value is not shown, as it may name a person"
        );
        assert_eq!(closed(None, "Ola Nordmann").unwrap(), "Ola Nordmann");
        let many = Vocabulary::new("vocabularies.sites", (0..20).map(|i| format!("s{i}")));
        assert!(many.refusal().contains("`s11`, and 8 more)"), "{}", many.refusal());
        let none = Vocabulary::new("vocabularies.sites", []);
        assert!(none.refusal().contains("(expected none: the list is empty)"));
    }
}

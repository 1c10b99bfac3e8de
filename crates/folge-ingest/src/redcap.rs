//! REDCap: a codebook built from the project's data dictionary (the 18-column CSV that
//! *Project Setup → Data Dictionary* downloads), so a REDCap export reads without writing
//! a codebook by hand. One instrument per form; radio, dropdown, yes/no and true/false
//! fields become items scaled by their choice codes (with the labels, so label exports
//! read too); checkbox fields become one tick-box item per choice, named as REDCap
//! exports them (`field___code`); numeric text fields take their validation min/max;
//! text fields with date validation (`date_dmy`, `date_ymd`, `date_mdy`, `datetime_*`)
//! are dates, passed on by deid as days relative to inclusion like every other date;
//! other text and notes fields are free text; fields marked `Identifier? = y`, and text
//! fields validated as a phone number or an e-mail address whatever that column says, are
//! identifiers (kept in zone 1, never passed on by deid). Descriptive, file and calc
//! fields hold no answers and are skipped.
//!
//! A form built from the dictionary is not scored (a form often mixes levels, a VAS and
//! tick boxes). A small codebook of scale definitions ([`ScaleDefinitions`]) names the
//! forms to score and adds what the dictionary cannot say — `score`, `min_answered`,
//! `reverse`, `subscales`, `missing_codes` — without restating items, ranges or labels,
//! which stay the dictionary's ([`add_scales`]). A scored form holds one scale's items:
//! every field with answers is on the same choice codes (or slider range).

use std::collections::BTreeMap;
use std::io::Read;

use folge_schema::shown;

use crate::IngestError;
use crate::csv_source::{CsvOptions, CsvSource};
use crate::questionnaire::{Codebook, DateItem, Instrument, Item};
use crate::values::{DateOrder, parse_number};

/// The dictionary columns folge reads, as REDCap names them.
const FIELD: &str = "Variable / Field Name";
const FORM: &str = "Form Name";
const FIELD_TYPE: &str = "Field Type";
const CHOICES: &str = "Choices, Calculations, OR Slider Labels";
const VALIDATION: &str = "Text Validation Type OR Show Slider Number";
const VALIDATION_MIN: &str = "Text Validation Min";
const VALIDATION_MAX: &str = "Text Validation Max";
const IDENTIFIER: &str = "Identifier?";

/// REDCap's numeric text validations.
const NUMERIC_VALIDATIONS: [&str; 7] = [
    "integer",
    "number",
    "number_1dp",
    "number_2dp",
    "number_1dp_comma_decimal",
    "number_2dp_comma_decimal",
    "number_comma_decimal",
];

/// The order of day, month and year of a date-validated field (`date_mdy`,
/// `datetime_seconds_dmy`, …), or `None` when the field is not a date.
fn date_validation(validation: &str) -> Option<DateOrder> {
    let v = validation.to_ascii_lowercase();
    if !(v.starts_with("date_") || v.starts_with("datetime_")) {
        return None;
    }
    Some(if v.ends_with("_mdy") {
        DateOrder::MonthDayYear
    } else if v.ends_with("_ymd") {
        DateOrder::YearMonthDay
    } else {
        DateOrder::DayMonthYear
    })
}

/// Whether a text validation says the field holds a phone number or an e-mail address
/// (`phone`, `phone_australia`, `email`): such a field identifies the respondent even
/// when the project did not mark it `Identifier? = y`.
fn contact_validation(validation: &str) -> bool {
    let v = validation.to_ascii_lowercase();
    v.starts_with("phone") || v == "email"
}

/// The column REDCap writes for one checkbox choice: `field___code`, the code lowercased
/// and a minus sign written as `_` (code `-1` → `field____1`).
pub fn checkbox_column(field: &str, code: &str) -> String {
    let code: String =
        code.trim().to_lowercase().chars().map(|c| if c == '-' { '_' } else { c }).collect();
    format!("{field}___{code}")
}

/// Parse a choices cell (`1, Mann | 2, Kvinne`) into (code, label) pairs; the label may
/// itself contain commas.
fn choices(text: &str) -> Vec<(String, String)> {
    text.split('|')
        .filter(|c| !c.trim().is_empty())
        .map(|choice| match choice.split_once(',') {
            Some((code, label)) => (code.trim().to_owned(), label.trim().to_owned()),
            None => (choice.trim().to_owned(), choice.trim().to_owned()),
        })
        .collect()
}

/// Build a codebook from a REDCap data dictionary. `person_id_field` is the export's
/// person id column (e.g. `fnr`): it is not an item. The first field of a REDCap project is
/// its record id; it is not an item either.
pub fn codebook_from_dictionary<R: Read>(
    name: &str,
    input: R,
    person_id_field: &str,
) -> Result<Codebook, IngestError> {
    let mut source = CsvSource::open(name, input, &CsvOptions::default())?;
    let columns = source.columns(
        &[FIELD, FORM, FIELD_TYPE, CHOICES, IDENTIFIER],
        &[VALIDATION, VALIDATION_MIN, VALIDATION_MAX],
    )?;
    let mut instruments: Vec<Instrument> = Vec::new();
    let mut first = true;
    while source.next_record()? {
        if source.is_blank() {
            continue;
        }
        let line = source.line();
        let record = source.record();
        let cell = |column: &str| {
            columns.get(column).and_then(|&i| record.get(i)).map(str::trim).unwrap_or_default()
        };
        let bad =
            |message: String| IngestError::Read { source_name: name.to_owned(), line, message };
        let field = cell(FIELD);
        if field.is_empty() {
            return Err(bad(format!("`{FIELD}` is empty (expected the field name)")));
        }
        let is_record_id = std::mem::take(&mut first);
        if is_record_id || field.eq_ignore_ascii_case(person_id_field) {
            continue;
        }
        let form = cell(FORM);
        if form.is_empty() {
            return Err(bad(format!("field `{}`: `{FORM}` is empty", shown(field))));
        }
        let position = if let Some(p) = instruments.iter().position(|i| i.name == form) {
            p
        } else {
            instruments.push(Instrument {
                name: form.to_owned(),
                items: Vec::new(),
                min: None,
                max: None,
                checkbox: false,
                labels: BTreeMap::new(),
                missing_codes: Vec::new(),
                reverse: Vec::new(),
                free_text: Vec::new(),
                identifiers: Vec::new(),
                dates: Vec::new(),
                subscales: BTreeMap::new(),
                // A REDCap form mixes scales (levels, a VAS, tick boxes): its items are
                // reported, not summed into one score.
                score: Some("none".into()),
                min_answered: None,
            });
            instruments.len() - 1
        };
        let instrument = &mut instruments[position];
        let field_type = cell(FIELD_TYPE).to_ascii_lowercase();
        let identifier = cell(IDENTIFIER).eq_ignore_ascii_case("y")
            || (field_type == "text" && contact_validation(cell(VALIDATION)));
        let coded = |pairs: &[(String, String)]| -> Result<Item, IngestError> {
            let mut item = Item::named(field);
            for (code, label) in pairs {
                let value = parse_number(code).map_err(|_| {
                    bad(format!(
                        "field `{}`: choice code `{}` is not a number (folge stores answers as numbers)",
                        shown(field),
                        shown(code)
                    ))
                })?;
                item.min = Some(item.min.map_or(value, |m: f64| m.min(value)));
                item.max = Some(item.max.map_or(value, |m: f64| m.max(value)));
                item.labels.insert(label.clone(), value);
            }
            if pairs.is_empty() {
                return Err(bad(format!(
                    "field `{}`: a `{}` field has no choices",
                    shown(field),
                    shown(&field_type)
                )));
            }
            Ok(item)
        };
        let pair = |code: &str, label: &str| (code.to_owned(), label.to_owned());
        match field_type.as_str() {
            "descriptive" | "file" | "calc" => {}
            _ if identifier => {
                if field_type == "checkbox" {
                    for (code, _) in choices(cell(CHOICES)) {
                        instrument.identifiers.push(checkbox_column(field, &code));
                    }
                } else {
                    instrument.identifiers.push(field.to_owned());
                }
            }
            "radio" | "dropdown" => instrument.items.push(coded(&choices(cell(CHOICES)))?),
            "yesno" => instrument.items.push(coded(&[
                pair("1", "Yes"),
                pair("0", "No"),
                pair("1", "Ja"),
                pair("0", "Nei"),
            ])?),
            "truefalse" => instrument.items.push(coded(&[
                pair("1", "True"),
                pair("0", "False"),
                pair("1", "Sant"),
                pair("0", "Usant"),
            ])?),
            "checkbox" => {
                let options = choices(cell(CHOICES));
                if options.is_empty() {
                    return Err(bad(format!(
                        "field `{}`: a checkbox field has no choices",
                        shown(field)
                    )));
                }
                for (code, label) in options {
                    let mut item = Item::named(checkbox_column(field, &code));
                    item.checkbox = true;
                    // exportCheckboxLabel writes the choice's label in a ticked cell.
                    item.labels.insert(label, 1.0);
                    instrument.items.push(item);
                }
            }
            "slider" => {
                let mut item = Item::named(field);
                item.min = Some(parse_number(cell(VALIDATION_MIN)).unwrap_or(0.0));
                item.max = Some(parse_number(cell(VALIDATION_MAX)).unwrap_or(100.0));
                instrument.items.push(item);
            }
            "text" if NUMERIC_VALIDATIONS.contains(&cell(VALIDATION)) => {
                let limit = |column| {
                    let text = cell(column);
                    if text.is_empty() {
                        Ok(None)
                    } else {
                        parse_number(text)
                            .map(Some)
                            .map_err(|e| bad(format!("field `{}`: `{column}` {e}", shown(field))))
                    }
                };
                let mut item = Item::named(field);
                item.min = limit(VALIDATION_MIN)?;
                item.max = limit(VALIDATION_MAX)?;
                if item.min.is_none() && item.max.is_none() {
                    // An open number (a count without limits): any value is on its scale.
                    item.min = Some(f64::NEG_INFINITY);
                }
                instrument.items.push(item);
            }
            "text" if date_validation(cell(VALIDATION)).is_some() => {
                instrument.dates.push(DateItem {
                    name: field.to_owned(),
                    order: date_validation(cell(VALIDATION)).unwrap_or_default(),
                });
            }
            "text" | "notes" => instrument.free_text.push(field.to_owned()),
            other => {
                return Err(bad(format!(
                    "field `{}` has field type `{}`, which folge does not know (expected radio, dropdown, yesno, truefalse, checkbox, slider, text, notes, calc, file or descriptive)",
                    shown(field),
                    shown(other)
                )));
            }
        }
    }
    instruments.retain(|i| {
        !(i.items.is_empty()
            && i.free_text.is_empty()
            && i.identifiers.is_empty()
            && i.dates.is_empty())
    });
    if instruments.is_empty() {
        return Err(IngestError::Read {
            source_name: name.to_owned(),
            line: 1,
            message: "the data dictionary defines no fields with answers".into(),
        });
    }
    Ok(Codebook { instruments, missing_text: Vec::new() })
}

/// Scale definitions for forms of a REDCap project: the TOML file named by `codebook`
/// beside `redcap_dictionary`. Each entry names a form of the data dictionary and says how
/// it is scored; its items, their range and their labels come from the dictionary.
#[derive(Debug, Clone, PartialEq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScaleDefinitions {
    /// One entry per scored form.
    pub instruments: Vec<FormScale>,
}

/// How one form of the data dictionary is scored.
#[derive(Debug, Clone, PartialEq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FormScale {
    /// The form's name as the dictionary's `Form Name` gives it (`pacic_voksne`).
    pub name: String,
    /// `mean` (of the answered items, the default) or `sum` (prorated to all items).
    #[serde(default)]
    pub score: Option<String>,
    /// Share of a scale's items that must be answered for a score (default 0.5).
    #[serde(default)]
    pub min_answered: Option<f64>,
    /// Fields scored in reverse (`min + max − answer`).
    #[serde(default)]
    pub reverse: Vec<String>,
    /// Named subscales: lists of the form's fields.
    #[serde(default)]
    pub subscales: BTreeMap<String, Vec<String>>,
    /// Choice codes meaning "no answer" (`9, Ikke aktuelt`): stored as null and left out
    /// of the scale's range, which would otherwise run to them and score them as answers.
    #[serde(default)]
    pub missing_codes: Vec<f64>,
    /// Keys of a whole codebook that the dictionary already gives: refused with a
    /// sentence rather than restated (a restated list could drift from the dictionary).
    #[serde(default, rename = "items")]
    restated_items: Option<serde::de::IgnoredAny>,
    #[serde(default, rename = "min")]
    restated_min: Option<serde::de::IgnoredAny>,
    #[serde(default, rename = "max")]
    restated_max: Option<serde::de::IgnoredAny>,
    #[serde(default, rename = "labels")]
    restated_labels: Option<serde::de::IgnoredAny>,
}

/// A scale definition that does not fit the data dictionary: which entry (0-based, in
/// file order) and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScaleProblem {
    /// Index of the entry in [`ScaleDefinitions::instruments`].
    pub instrument: usize,
    /// What is wrong, naming the instrument and the field.
    pub message: String,
}

/// Score the forms that `definitions` names: each becomes a scored instrument with its
/// subscales, reverse items and missing codes, its range taken from the dictionary's
/// choices (missing codes left out) or its sliders' and numbers' limits. A form the
/// dictionary lacks, a field that is not one of the form's items (or is a tick box), a
/// form whose items are not on one range, a form named twice, and `items`, `min`, `max`
/// or `labels` restated are refused, naming the instrument and the field.
pub fn add_scales(
    codebook: &mut Codebook,
    definitions: &ScaleDefinitions,
) -> Result<(), ScaleProblem> {
    for (index, definition) in definitions.instruments.iter().enumerate() {
        let problem = |message: String| ScaleProblem { instrument: index, message };
        let name = definition.name.as_str();
        for (key, restated) in [
            ("items", definition.restated_items.is_some()),
            ("min", definition.restated_min.is_some()),
            ("max", definition.restated_max.is_some()),
            ("labels", definition.restated_labels.is_some()),
        ] {
            if restated {
                return Err(problem(format!(
                    "instrument `{}`: `{key}` comes from the REDCap data dictionary (the form's fields and their choices); leave it out",
                    shown(name)
                )));
            }
        }
        if definitions.instruments[..index].iter().any(|d| d.name == definition.name) {
            return Err(problem(format!("instrument `{}` is defined twice", shown(name))));
        }
        let Some(position) = codebook.instruments.iter().position(|i| i.name == name) else {
            let forms: Vec<&str> = codebook.instruments.iter().map(|i| i.name.as_str()).collect();
            let guess = unambiguous_guess(name, forms.iter().copied())
                .map(|close| format!("; did you mean `{close}`?"))
                .unwrap_or_default();
            return Err(problem(format!(
                "instrument `{}`: the REDCap data dictionary has no form `{}`{guess} (its forms with answers: `{}`)",
                shown(name),
                shown(name),
                forms.join("`, `")
            )));
        };
        without_missing_codes(&mut codebook.instruments[position], &definition.missing_codes)
            .map_err(problem)?;
        let instrument = &codebook.instruments[position];
        check_one_range(instrument).map_err(problem)?;
        let field = |role: &str, field: &str| -> Result<(), ScaleProblem> {
            if instrument.items.iter().any(|i| i.name == field) {
                return Ok(());
            }
            let why = if let Some(other) =
                codebook.instruments.iter().find(|i| i.items.iter().any(|i| i.name == field))
            {
                format!("a field of form `{}`, not of `{}`", shown(&other.name), shown(name))
            } else if instrument.free_text.iter().any(|c| c == field) {
                "a free-text field, not an item with choices".to_owned()
            } else if instrument.dates.iter().any(|d| d.name == field) {
                "a date field, not an item with choices".to_owned()
            } else {
                let items = instrument.items.iter().map(|i| i.name.as_str());
                match unambiguous_guess(field, items) {
                    Some(close) => format!(
                        "not a field of form `{}` in the REDCap data dictionary; did you mean `{close}`?",
                        shown(name)
                    ),
                    None => format!(
                        "not a field of form `{}` in the REDCap data dictionary",
                        shown(name)
                    ),
                }
            };
            Err(problem(format!(
                "instrument `{}`: {role} names `{}`, which is {why}",
                shown(name),
                shown(field)
            )))
        };
        for item in &definition.reverse {
            field("`reverse`", item)?;
        }
        for (subscale, items) in &definition.subscales {
            if items.is_empty() {
                return Err(problem(format!(
                    "instrument `{}`: subscale `{}` lists no items",
                    shown(name),
                    shown(subscale)
                )));
            }
            for item in items {
                field(&format!("subscale `{}`", shown(subscale)), item)?;
            }
        }
        let instrument = &mut codebook.instruments[position];
        instrument.score = Some(definition.score.clone().unwrap_or_else(|| "mean".to_owned()));
        instrument.min_answered = definition.min_answered;
        instrument.reverse.clone_from(&definition.reverse);
        instrument.subscales.clone_from(&definition.subscales);
    }
    Ok(())
}

/// The field `name` is probably a typo of: the closest one, when no other is as close
/// (`pacic_21` is as close to `pacic_1` as to `pacic_20`: no guess).
fn unambiguous_guess<'a>(
    name: &str,
    candidates: impl Iterator<Item = &'a str> + Clone,
) -> Option<&'a str> {
    use folge_schema::suggest::{closest, edit_distance};
    let guess = closest(name, candidates.clone())?;
    let distance = edit_distance(name, guess);
    let ties = candidates.filter(|c| edit_distance(name, c) == distance).count();
    (ties == 1).then_some(guess)
}

/// Make `codes` the form's missing codes and take them out of its items' ranges (an
/// item's range is that of its choices' codes); `Err` when a code is no field's choice,
/// or leaves a field with no choice that is an answer.
fn without_missing_codes(instrument: &mut Instrument, codes: &[f64]) -> Result<(), String> {
    if codes.is_empty() {
        return Ok(());
    }
    let name = shown(&instrument.name);
    let is_missing = |code: f64| codes.iter().any(|c| c.to_bits() == code.to_bits());
    for &code in codes {
        let a_choice = instrument
            .items
            .iter()
            .any(|item| item.labels.values().any(|v| v.to_bits() == code.to_bits()));
        if !a_choice {
            return Err(format!(
                "instrument `{name}`: missing code {code} is not a choice of any field of the form in the REDCap data dictionary"
            ));
        }
    }
    for item in instrument.items.iter_mut().filter(|i| !i.checkbox && !i.labels.is_empty()) {
        let answers = item.labels.values().copied().filter(|&v| !is_missing(v));
        let (min, max) = answers.fold((None, None), |(lo, hi): (Option<f64>, Option<f64>), v| {
            (Some(lo.map_or(v, |m| m.min(v))), Some(hi.map_or(v, |m| m.max(v))))
        });
        if min.is_none() {
            return Err(format!(
                "instrument `{name}`: every choice of field `{}` is a missing code",
                shown(&item.name)
            ));
        }
        (item.min, item.max) = (min, max);
    }
    instrument.missing_codes.extend_from_slice(codes);
    Ok(())
}

/// Whether every item of a form is on one closed range, as a scale's items are; `Err`
/// names the first field that is not.
fn check_one_range(instrument: &Instrument) -> Result<(), String> {
    let name = shown(&instrument.name);
    let advice =
        "a scored form holds the items of one scale (put other questions in a form of their own)";
    let Some(first) = instrument.items.first() else {
        return Err(format!(
            "instrument `{name}`: the form has no fields with choices to score (only free text, dates or identifiers)"
        ));
    };
    let range = |item: &Item| -> Result<(f64, f64), String> {
        if item.checkbox {
            return Err(format!(
                "instrument `{name}`: field `{}` is a tick box (checkbox); {advice}",
                shown(&item.name)
            ));
        }
        match (item.min, item.max) {
            (Some(min), Some(max)) if min.is_finite() && max.is_finite() => Ok((min, max)),
            _ => Err(format!(
                "instrument `{name}`: field `{}` has no closed range in the REDCap data dictionary (give it choices, or a validation min and max); {advice}",
                shown(&item.name)
            )),
        }
    };
    let (min, max) = range(first)?;
    for item in &instrument.items {
        let (lo, hi) = range(item)?;
        if lo.to_bits() != min.to_bits() || hi.to_bits() != max.to_bits() {
            return Err(format!(
                "instrument `{name}`: field `{}` is answered {lo}–{hi} in the REDCap data dictionary, field `{}` {min}–{max}; {advice}",
                shown(&item.name),
                shown(&first.name)
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEADER: &str = "Variable / Field Name,Form Name,Section Header,Field Type,Field Label,\"Choices, Calculations, OR Slider Labels\",Field Note,Text Validation Type OR Show Slider Number,Text Validation Min,Text Validation Max,Identifier?,Branching Logic (Show field only if...),Required Field?,Custom Alignment,Question Number (surveys only),Matrix Group Name,Matrix Ranking?,Field Annotation";

    #[test]
    fn every_field_type_becomes_the_right_item() {
        let text = format!(
            "{HEADER}\n\
             record_id,baseline,,text,ID,,,,,,,,,,,,,\n\
             fnr,baseline,,text,Fødselsnummer,,,,,,y,,,,,,,\n\
             navn,baseline,,text,Navn,,,,,,y,,,,,,,\n\
             kjonn,baseline,,radio,Kjønn,\"1, Mann | 2, Kvinne, annet\",,,,,,,,,,,,\n\
             bor_alene,baseline,,yesno,Bor alene,,,,,,,,,,,,,\n\
             hjelp,baseline,,checkbox,Hjelp,\"1, Selv | -1, Ingen\",,,,,,,,,,,,\n\
             vas,baseline,,slider,VAS,Dårlig | Best,,,,,,,,,,,,\n\
             besok,baseline,,text,Besøk,,,integer,0,,,,,,,,,\n\
             vekt,baseline,,text,Vekt,,,number,,,,,,,,,,\n\
             kommentar,baseline,,notes,Kommentar,,,,,,,,,,,,,\n\
             info,baseline,,descriptive,Les dette,,,,,,,,,,,,,\n\
             bmi,baseline,,calc,BMI,[vekt]/4,,,,,,,,,,,,\n\
             pam,oppfolging,,dropdown,PAM,\"1, 1 | 4, 4\",,,,,,,,,,,,\n"
        );
        let codebook = codebook_from_dictionary("dd.csv", text.as_bytes(), "fnr").unwrap();
        codebook.check().unwrap();
        let names: Vec<&str> = codebook.instruments.iter().map(|i| i.name.as_str()).collect();
        assert_eq!(names, ["baseline", "oppfolging"]);
        let baseline = &codebook.instruments[0];
        let items: Vec<&str> = baseline.items.iter().map(|i| i.name.as_str()).collect();
        assert_eq!(
            items,
            ["kjonn", "bor_alene", "hjelp___1", "hjelp____1", "vas", "besok", "vekt"]
        );
        let kjonn = &baseline.items[0];
        assert_eq!((kjonn.min, kjonn.max), (Some(1.0), Some(2.0)));
        assert_eq!(kjonn.labels.get("Kvinne, annet"), Some(&2.0), "labels keep their commas");
        assert!(baseline.items[2].checkbox);
        assert_eq!((baseline.items[4].min, baseline.items[4].max), (Some(0.0), Some(100.0)));
        assert_eq!((baseline.items[5].min, baseline.items[5].max), (Some(0.0), None));
        assert_eq!(baseline.items[6].min, Some(f64::NEG_INFINITY), "an open number");
        assert_eq!(baseline.free_text, ["kommentar"]);
        assert_eq!(baseline.identifiers, ["navn"], "fnr is the person id, not an item");
    }

    #[test]
    fn date_fields_are_dates_and_contact_fields_identifiers() {
        let text = format!(
            "{HEADER}\n\
             record_id,besok,,text,ID,,,,,,,,,,,,,\n\
             besok_dato,besok,,text,Besøksdato,,,date_dmy,,,,,,,,,,\n\
             neste,besok,,text,Neste time,,,datetime_seconds_mdy,,,,,,,,,,\n\
             start,besok,,text,Start,,,date_ymd,,,,,,,,,,\n\
             tlf,besok,,text,Telefon,,,phone,,,,,,,,,,\n\
             epost,besok,,text,E-post,,,email,,,n,,,,,,,\n\
             merknad,besok,,text,Merknad,,,,,,,,,,,,,\n"
        );
        let codebook = codebook_from_dictionary("dd.csv", text.as_bytes(), "fnr").unwrap();
        codebook.check().unwrap();
        let besok = &codebook.instruments[0];
        let dates: Vec<(&str, DateOrder)> =
            besok.dates.iter().map(|d| (d.name.as_str(), d.order)).collect();
        assert_eq!(
            dates,
            [
                ("besok_dato", DateOrder::DayMonthYear),
                ("neste", DateOrder::MonthDayYear),
                ("start", DateOrder::YearMonthDay)
            ]
        );
        assert_eq!(besok.identifiers, ["tlf", "epost"], "phone and e-mail identify, `n` or not");
        assert_eq!(besok.free_text, ["merknad"]);
    }

    /// A project with a PACIC-like form (four items on 1–5, a comment) and a mixed form.
    fn two_forms() -> Codebook {
        let levels =
            "\"1, Nesten aldri | 2, Sjelden | 3, Av og til | 4, Som oftest | 5, Nesten alltid\"";
        let text = format!(
            "{HEADER}\n\
             record_id,pacic,,text,ID,,,,,,,,,,,,,\n\
             fnr,pacic,,text,Fødselsnummer,,,,,,y,,,,,,,\n\
             p1,pacic,,radio,P1,{levels},,,,,,,,,,pacic,,\n\
             p2,pacic,,radio,P2,{levels},,,,,,,,,,pacic,,\n\
             p3,pacic,,radio,P3,{levels},,,,,,,,,,pacic,,\n\
             p4,pacic,,radio,P4,{levels},,,,,,,,,,pacic,,\n\
             kommentar,pacic,,notes,Kommentar,,,,,,,,,,,,,\n\
             eq_mob,eq5d,,radio,Mobilitet,\"1, 1 | 2, 2 | 3, 3 | 4, 4 | 5, 5\",,,,,,,,,,,,\n\
             eq_vas,eq5d,,text,VAS,,,integer,0,100,,,,,,,,\n\
             hjelp,eq5d,,checkbox,Hjelp,\"1, Selv | 2, Andre\",,,,,,,,,,,,\n"
        );
        codebook_from_dictionary("dd.csv", text.as_bytes(), "fnr").unwrap()
    }

    #[track_caller]
    fn scales(toml_text: &str) -> Result<Codebook, ScaleProblem> {
        let definitions: ScaleDefinitions = toml::from_str(toml_text).unwrap();
        let mut codebook = two_forms();
        add_scales(&mut codebook, &definitions).map(|()| codebook)
    }

    #[track_caller]
    fn refused(toml_text: &str, expected: &str) {
        let problem = scales(toml_text).unwrap_err();
        assert_eq!(problem.message, expected);
    }

    #[test]
    fn scale_definitions_score_a_form_from_the_dictionary() {
        let codebook = scales(
            "[[instruments]]\nname = \"pacic\"\nmin_answered = 0.75\nreverse = [\"p4\"]\n\
             [instruments.subscales]\nfirst = [\"p1\", \"p2\"]\nsecond = [\"p3\", \"p4\"]\n",
        )
        .unwrap();
        codebook.check().unwrap();
        let pacic = &codebook.instruments[0];
        assert_eq!(pacic.scoring(), "mean", "scored as a mean unless the file says `sum`");
        assert_eq!(pacic.scale_range(), Some((1.0, 5.0)), "the range of the choice codes");
        assert_eq!(pacic.min_answered, Some(0.75));
        assert_eq!(pacic.reverse, ["p4"]);
        assert_eq!(pacic.subscales["second"], ["p3", "p4"]);
        let items: Vec<&str> = pacic.items.iter().map(|i| i.name.as_str()).collect();
        assert_eq!(items, ["p1", "p2", "p3", "p4"], "the items stay the dictionary's");
        assert_eq!(pacic.free_text, ["kommentar"]);
        assert_eq!(pacic.items[0].labels.get("Som oftest"), Some(&4.0));
        let eq5d = &codebook.instruments[1];
        assert_eq!((eq5d.scoring(), eq5d.scale_range()), ("none", None), "a form not named");
        let sum = scales("[[instruments]]\nname = \"pacic\"\nscore = \"sum\"\n").unwrap();
        assert_eq!(sum.instruments[0].scoring(), "sum");
    }

    #[test]
    fn missing_codes_leave_the_scale_and_are_read_as_no_answer() {
        let text = format!(
            "{HEADER}\n\
             record_id,peq,,text,ID,,,,,,,,,,,,,\n\
             peq_1,peq,,radio,P1,\"1, Ikke i det hele tatt | 5, I svært stor grad | 9, Ikke aktuelt\",,,,,,,,,,,,\n\
             peq_2,peq,,radio,P2,\"1, Ikke i det hele tatt | 5, I svært stor grad | 9, Ikke aktuelt\",,,,,,,,,,,,\n"
        );
        let scored = |toml_text: &str| {
            let mut codebook = codebook_from_dictionary("dd.csv", text.as_bytes(), "fnr").unwrap();
            let definitions: ScaleDefinitions = toml::from_str(toml_text).unwrap();
            add_scales(&mut codebook, &definitions).map(|()| codebook)
        };
        let without = scored("[[instruments]]\nname = \"peq\"\n").unwrap();
        assert_eq!(without.instruments[0].scale_range(), Some((1.0, 9.0)), "9 would be an answer");
        let with = scored("[[instruments]]\nname = \"peq\"\nmissing_codes = [9]\n").unwrap();
        with.check().unwrap();
        assert_eq!(with.instruments[0].scale_range(), Some((1.0, 5.0)));
        assert_eq!(with.instruments[0].missing_codes, [9.0]);
        let problem = scored("[[instruments]]\nname = \"peq\"\nmissing_codes = [8]\n").unwrap_err();
        assert_eq!(
            problem.message,
            "instrument `peq`: missing code 8 is not a choice of any field of the form in the REDCap data dictionary"
        );
    }

    #[test]
    fn a_form_of_sliders_is_scored_on_their_validation_range() {
        let text = format!(
            "{HEADER}\n\
             record_id,plage,,text,ID,,,,,,,,,,,,,\n\
             smerte,plage,,slider,Smerte,Ingen | Verst,,,0,10,,,,,,,,\n\
             trett,plage,,slider,Tretthet,Ingen | Verst,,,0,10,,,,,,,,\n"
        );
        let mut codebook = codebook_from_dictionary("dd.csv", text.as_bytes(), "fnr").unwrap();
        let definitions: ScaleDefinitions =
            toml::from_str("[[instruments]]\nname = \"plage\"\nreverse = [\"trett\"]\n").unwrap();
        add_scales(&mut codebook, &definitions).unwrap();
        assert_eq!(codebook.instruments[0].scale_range(), Some((0.0, 10.0)));
        // A slider without validation limits is REDCap's 0–100, unlike its neighbour.
        let open = text.replace(
            "trett,plage,,slider,Tretthet,Ingen | Verst,,,0,10",
            "trett,plage,,slider,Tretthet,Ingen | Verst,,,,",
        );
        let mut codebook = codebook_from_dictionary("dd.csv", open.as_bytes(), "fnr").unwrap();
        let problem = add_scales(&mut codebook, &definitions).unwrap_err();
        assert_eq!(
            problem.message,
            "instrument `plage`: field `trett` is answered 0–100 in the REDCap data dictionary, field `smerte` 0–10; a scored form holds the items of one scale (put other questions in a form of their own)"
        );
    }

    #[test]
    fn scale_definitions_that_do_not_fit_the_dictionary_are_refused_by_name() {
        refused(
            "[[instruments]]\nname = \"pacik\"\n",
            "instrument `pacik`: the REDCap data dictionary has no form `pacik`; did you mean `pacic`? (its forms with answers: `pacic`, `eq5d`)",
        );
        refused(
            "[[instruments]]\nname = \"baseline\"\n",
            "instrument `baseline`: the REDCap data dictionary has no form `baseline` (its forms with answers: `pacic`, `eq5d`)",
        );
        refused(
            "[[instruments]]\nname = \"pacic\"\n[instruments.subscales]\nfirst = [\"p1\", \"pp2\"]\n",
            "instrument `pacic`: subscale `first` names `pp2`, which is not a field of form `pacic` in the REDCap data dictionary; did you mean `p2`?",
        );
        refused(
            "[[instruments]]\nname = \"pacic\"\n[instruments.subscales]\nfirst = [\"p1\", \"p5\"]\n",
            "instrument `pacic`: subscale `first` names `p5`, which is not a field of form `pacic` in the REDCap data dictionary",
        );
        refused(
            "[[instruments]]\nname = \"pacic\"\nreverse = [\"eq_mob\"]\n",
            "instrument `pacic`: `reverse` names `eq_mob`, which is a field of form `eq5d`, not of `pacic`",
        );
        refused(
            "[[instruments]]\nname = \"pacic\"\nreverse = [\"kommentar\"]\n",
            "instrument `pacic`: `reverse` names `kommentar`, which is a free-text field, not an item with choices",
        );
        refused(
            "[[instruments]]\nname = \"pacic\"\nitems = [\"p1\", \"p2\"]\n",
            "instrument `pacic`: `items` comes from the REDCap data dictionary (the form's fields and their choices); leave it out",
        );
        refused(
            "[[instruments]]\nname = \"pacic\"\nmax = 5\n",
            "instrument `pacic`: `max` comes from the REDCap data dictionary (the form's fields and their choices); leave it out",
        );
        refused(
            "[[instruments]]\nname = \"pacic\"\n[[instruments]]\nname = \"pacic\"\n",
            "instrument `pacic` is defined twice",
        );
        refused(
            "[[instruments]]\nname = \"eq5d\"\n",
            "instrument `eq5d`: field `eq_vas` is answered 0–100 in the REDCap data dictionary, field `eq_mob` 1–5; a scored form holds the items of one scale (put other questions in a form of their own)",
        );
        refused(
            "[[instruments]]\nname = \"pacic\"\n[instruments.subscales]\nnone = []\n",
            "instrument `pacic`: subscale `none` lists no items",
        );
        let second =
            scales("[[instruments]]\nname = \"pacic\"\n[[instruments]]\nname = \"eq5d\"\n")
                .unwrap_err();
        assert_eq!(second.instrument, 1, "the entry at fault, for its line");
    }

    #[test]
    fn a_bad_dictionary_names_its_line() {
        let text = format!(
            "{HEADER}\nrecord_id,f,,text,ID,,,,,,,,,,,,,\nx,f,,radio,X,\"a, A | b, B\",,,,,,,,,,,,\n"
        );
        let err = codebook_from_dictionary("dd.csv", text.as_bytes(), "fnr").unwrap_err();
        assert_eq!(
            err.to_string(),
            "dd.csv line 3: field `x`: choice code `a` is not a number (folge stores answers as numbers)"
        );
        let text =
            format!("{HEADER}\nrecord_id,f,,text,ID,,,,,,,,,,,,,\nx,f,,sql,X,,,,,,,,,,,,,\n");
        let err = codebook_from_dictionary("dd.csv", text.as_bytes(), "fnr").unwrap_err();
        assert!(
            err.to_string().starts_with("dd.csv line 3: field `x` has field type `sql`"),
            "{err}"
        );
        let err = codebook_from_dictionary("dd.csv", "a,b\n1,2\n".as_bytes(), "fnr").unwrap_err();
        assert!(
            err.to_string()
                .starts_with("dd.csv: required column `Variable / Field Name` is missing"),
            "{err}"
        );
    }
}

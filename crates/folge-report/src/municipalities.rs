//! Names for kommunenummer, so tables and figures say "Bergen (4601)" rather than a bare
//! number: a small table shipped with folge — the municipalities of the pilots and
//! health trusts the evaluations come from (Helse Bergen's area in Vestland, Vestre
//! Viken's in Buskerud and Akershus, Helse Stavanger's in Rogaland), with the numbers they
//! had before the 2020 and 2024 reforms, since deliveries span them — which a pipeline
//! extends or overrides with `[report] municipality_names`. Source: SSB's classification
//! of municipalities (KLASS 131), as valid from 2020-01-01 and 2024-01-01.

use std::collections::BTreeMap;

/// Kommunenummer → name, as folge ships them (SSB KLASS 131).
pub const MUNICIPALITY_NAMES: &[(&str, &str)] = &[
    // Vestland (from 2020): Helse Bergen's area.
    ("4601", "Bergen"),
    ("4621", "Voss"),
    ("4622", "Kvam"),
    ("4623", "Samnanger"),
    ("4624", "Bjørnafjorden"),
    ("4625", "Austevoll"),
    ("4626", "Øygarden"),
    ("4627", "Askøy"),
    ("4628", "Vaksdal"),
    ("4629", "Modalen"),
    ("4630", "Osterøy"),
    ("4631", "Alver"),
    ("4632", "Austrheim"),
    ("4633", "Fedje"),
    ("4634", "Masfjorden"),
    // Hordaland (until 2019): the LKT pilots' own numbers.
    ("1201", "Bergen"),
    ("1243", "Os"),
    ("1246", "Fjell"),
    ("1247", "Askøy"),
    ("1263", "Lindås"),
    // Viken (2020–2023): Vestre Viken's area.
    ("3005", "Drammen"),
    ("3006", "Kongsberg"),
    ("3007", "Ringerike"),
    ("3024", "Bærum"),
    ("3025", "Asker"),
    ("3038", "Hole"),
    ("3047", "Modum"),
    ("3048", "Øvre Eiker"),
    ("3049", "Lier"),
    // Buskerud and Akershus (from 2024): the same municipalities.
    ("3201", "Bærum"),
    ("3203", "Asker"),
    ("3301", "Drammen"),
    ("3303", "Kongsberg"),
    ("3305", "Ringerike"),
    ("3310", "Hole"),
    ("3312", "Lier"),
    ("3314", "Øvre Eiker"),
    ("3316", "Modum"),
    // Rogaland: Helse Stavanger's area.
    ("1103", "Stavanger"),
    ("1108", "Sandnes"),
    ("1119", "Hå"),
    ("1120", "Klepp"),
    ("1121", "Time"),
    ("1122", "Gjesdal"),
    ("1124", "Sola"),
    ("1127", "Randaberg"),
    ("1130", "Strand"),
];

/// The name of a kommunenummer: the pipeline's own first, then folge's table.
pub fn municipality_name<'a>(
    number: &str,
    overrides: &'a BTreeMap<String, String>,
) -> Option<&'a str> {
    overrides
        .get(number)
        .map(String::as_str)
        .or_else(|| MUNICIPALITY_NAMES.iter().find(|(n, _)| *n == number).map(|(_, name)| *name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_unique_four_digits_and_the_pipeline_overrides() {
        let mut seen = std::collections::BTreeSet::new();
        for (number, _) in MUNICIPALITY_NAMES {
            assert!(number.len() == 4 && number.bytes().all(|b| b.is_ascii_digit()), "{number}");
            assert!(seen.insert(number), "{number} twice");
        }
        let none = BTreeMap::new();
        assert_eq!(municipality_name("4631", &none), Some("Alver"));
        assert_eq!(municipality_name("9999", &none), None);
        let own = BTreeMap::from([("4631".to_owned(), "Alver kommune".to_owned())]);
        assert_eq!(municipality_name("4631", &own), Some("Alver kommune"));
    }
}

//! Names and labels as each format allows them: variable names valid and unique (Stata: 32
//! characters of letters, digits and `_`, not starting with a digit, no reserved word;
//! SPSS: 64 bytes, starting with a letter, no reserved word, unique regardless of case),
//! and labels cut to the format's limit at a character boundary, marked `…` where cut.

use crate::Format;

/// Stata's reserved names (Stata manual, [U] 11.3 "Naming conventions"), besides `str#`.
const STATA_RESERVED: &[&str] = &[
    "_all", "_b", "byte", "_coef", "_cons", "double", "float", "if", "in", "int", "long", "_n",
    "_N", "_pi", "_pred", "_rc", "_skip", "strL", "using", "with",
];

/// SPSS's reserved keywords, which cannot name a variable (compared regardless of case).
const SPSS_RESERVED: &[&str] =
    &["ALL", "AND", "BY", "EQ", "GE", "GT", "LE", "LT", "NE", "NOT", "OR", "TO", "WITH"];

/// The longest variable name, in bytes (Stata counts characters, but folge's names are
/// ASCII once made valid).
fn max_name(format: Format) -> usize {
    match format {
        Format::Stata => 32,
        Format::Spss => 64,
    }
}

/// Whether `name` is one the format reserves.
fn reserved(name: &str, format: Format) -> bool {
    match format {
        Format::Stata => {
            STATA_RESERVED.contains(&name)
                || name
                    .strip_prefix("str")
                    .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
        }
        Format::Spss => SPSS_RESERVED.iter().any(|r| r.eq_ignore_ascii_case(name)),
    }
}

/// `column` made a valid name: letters, digits and `_` kept (others become `_`), a name
/// that does not start with a letter gets `v` in front, a reserved word `_` behind, and
/// the whole is cut to the format's length.
fn valid_name(column: &str, format: Format) -> String {
    let mut name: String = column
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || c == '_' { c } else { '_' })
        .collect();
    let starts_well = name.chars().next().is_some_and(|c| match format {
        Format::Stata => c.is_ascii_alphabetic() || c == '_',
        Format::Spss => c.is_ascii_alphabetic(),
    });
    if !starts_well {
        name.insert(0, 'v');
    }
    name.truncate(max_name(format));
    if reserved(&name, format) {
        name.truncate(max_name(format) - 1);
        name.push('_');
    }
    name
}

/// Valid, unique names for `columns`, in order. A name that clashes with an earlier one
/// (SPSS: regardless of case) gets `_2`, `_3`, … within the length limit.
pub fn variable_names(columns: &[&str], format: Format) -> Vec<String> {
    let key = |name: &str| match format {
        Format::Stata => name.to_owned(),
        Format::Spss => name.to_ascii_lowercase(),
    };
    let mut taken = std::collections::BTreeSet::new();
    let mut names = Vec::with_capacity(columns.len());
    for column in columns {
        let base = valid_name(column, format);
        let mut name = base.clone();
        let mut n = 2;
        while taken.contains(&key(&name)) || reserved(&name, format) {
            let suffix = format!("_{n}");
            let mut stem = base.clone();
            stem.truncate(max_name(format) - suffix.len());
            name = format!("{stem}{suffix}");
            n += 1;
        }
        taken.insert(key(&name));
        names.push(name);
    }
    names
}

/// `text` cut to at most `max` characters, ending in `…` when cut.
pub fn cut_chars(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let mut cut: String = text.chars().take(max.saturating_sub(1)).collect();
    cut.push('…');
    cut
}

/// `text` cut to at most `max` bytes at a character boundary, ending in `…` when cut.
pub fn cut_bytes(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_owned();
    }
    let room = max.saturating_sub('…'.len_utf8());
    let end = (0..=room).rev().find(|i| text.is_char_boundary(*i)).unwrap_or(0);
    format!("{}…", &text[..end])
}

/// One line of a label: line breaks and runs of spaces become one space.
fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// A variable label as the format holds it: Stata 80 characters, SPSS 255 bytes.
pub fn variable_label(label: &str, format: Format) -> String {
    let label = one_line(label);
    match format {
        Format::Stata => cut_chars(&label, 80),
        Format::Spss => cut_bytes(&label, 255),
    }
}

/// A value label: SPSS keeps 120 bytes (ReadStat would cut inside a character); Stata's
/// are kept to 80 characters too, so both files show the same labels.
pub fn value_label(label: &str, format: Format) -> String {
    let label = cut_chars(&one_line(label), 80);
    match format {
        Format::Stata => label,
        Format::Spss => cut_bytes(&label, 120),
    }
}

/// A file label: Stata 80 characters, SPSS 64 bytes.
pub fn file_label(label: &str, format: Format) -> String {
    let label = one_line(label);
    match format {
        Format::Stata => cut_chars(&label, 80),
        Format::Spss => cut_bytes(&label, 64),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[track_caller]
    fn check(columns: &[&str], format: Format, expected: &[&str]) {
        assert_eq!(variable_names(columns, format), expected);
    }

    #[test]
    fn names_are_made_valid_for_each_format() {
        check(&["arm", "rate_per_py"], Format::Stata, &["arm", "rate_per_py"]);
        check(&["67+", "_n", "str12", "in"], Format::Stata, &["v67_", "_n_", "str12_", "in_"]);
        check(&["_x", "by", "with"], Format::Spss, &["v_x", "by_", "with_"]);
        check(&["_x", "by"], Format::Stata, &["_x", "by"]);
        check(&["blå"], Format::Spss, &["bl_"]);
    }

    #[test]
    fn long_names_are_cut_and_stay_unique() {
        let long = "a_very_long_column_name_that_goes_on_and_on_for_ever_and_ever_more_still";
        let other = format!("{long}_other");
        let names = variable_names(&[long, &other, long], Format::Stata);
        assert_eq!(names[0], &long[..32]);
        assert_eq!(names[1], format!("{}_2", &long[..30]));
        assert_eq!(names[2], format!("{}_3", &long[..30]));
        assert!(names.iter().all(|n| n.len() <= 32));
        let names = variable_names(&[long, &other], Format::Spss);
        assert_eq!(names[0], &long[..64]);
        assert_eq!(names[1], format!("{}_2", &long[..62]));
        // SPSS names are the same name in any case.
        check(&["Arm", "arm", "ARM_2"], Format::Spss, &["Arm", "arm_2", "ARM_2_2"]);
        check(&["Arm", "arm"], Format::Stata, &["Arm", "arm"]);
    }

    #[test]
    fn labels_are_cut_to_the_formats_limits_at_character_boundaries() {
        let label = "Lower 95 % limit of `rate_per_py`: Poisson GLM `value ~ 1 + offset(log\nperson-years)` with CR1 cluster-robust SE by person (æøå)";
        let stata = variable_label(label, Format::Stata);
        assert_eq!(stata.chars().count(), 80);
        assert!(stata.ends_with('…') && !stata.contains('\n'));
        assert_eq!(variable_label("Study arm.", Format::Stata), "Study arm.");
        let spss = variable_label(label, Format::Spss);
        assert!(!spss.contains('…') && spss.contains("(log person-years)"), "{spss}");
        let norwegian = "ø".repeat(100);
        let cut = cut_bytes(&norwegian, 120);
        assert!(cut.len() <= 120 && cut.ends_with('…'));
        assert_eq!(cut.chars().filter(|c| *c == 'ø').count(), 58);
        assert_eq!(value_label(&norwegian, Format::Spss), cut);
        assert_eq!(file_label(&"x".repeat(70), Format::Spss).len(), 64);
    }
}

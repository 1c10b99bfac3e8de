//! The fail-closed detector: a second, deliberately broader net than the scrubber, with a
//! code path of its own (this file imports nothing from `scrub.rs`; a unit test below
//! reads this file to keep it so). The scrubber *replaces*; the detector only says
//! whether a text still holds something that looks like an identifier, and of which kind
//! — never where or what, so no caller can echo the value.
//!
//! Text is normalised first: zero-width characters (U+200B–U+200D, U+2060, U+FEFF) and
//! soft hyphens (U+00AD) removed, full-width and mathematical digits and full-width
//! letters folded to ASCII, every kind of space (no-break spaces included) made a plain
//! space, combining marks dropped (so decomposed `Ø̈`-style text and NFD names match), and
//! for name matching diacritics and Norwegian letters folded on both sides: `ø`/`ö`/`oe`
//! → `o`, `æ`/`ä`/`ae` → `a`, `å`/`aa` → `a`, `é` → `e`, … (`Ødegård`, `Odegard` and
//! `Oedegaard` are one name).
//!
//! Flagged ([`DetectKind`]):
//! - **national ids**: 11 digits in at most a few groups separated by up to two
//!   separator characters (space, dot, dash, slash, line break, any Unicode space), with
//!   or without letters glued before (`fnr01018012347`), whose first six digits can be a
//!   date (day + 40 for D-numbers; month + 40, + 65, + 80 for synthetic ids) and whose two
//!   mod-11 check digits hold — or, check digits failing, that are grouped the way ids
//!   are written (11, 6 + 5, `dd mm yy nnnnn`, `dd mm yy nnn nn`, 6 + 3 + 2: a mistyped
//!   id is still an id);
//! - **phone numbers**: 8 digits written as 8, 2-2-2-2, 3-2-3, 2-3-3, 4-4 (same
//!   separators), optionally after `+47`, `0047` or `47`, first digit 2–9;
//! - **e-mail addresses**: `x@y` with or without spaces around `@`, `x(at)y`, `x [at] y`,
//!   `x at y dot z`, `x at y.no`;
//! - **postal addresses**: a street word (`…veien`, `…vegen`, `…gata`, `…gaten`, `…vei`,
//!   `…veg`, `…gate`, `…gt.`, `…plass`, `…bakken`, `…stien`, `…allé`, `…torget`, …)
//!   followed by a house number, in any case; `postboks 12`; `N-5013 Bergen`; a postcode
//!   after a house number and a comma or line break, followed by a place in any case; a postcode followed by a
//!   capitalised place (unless the four digits are a year 1900–2099); `gnr. 12 bnr. 34`;
//! - **names**: every part (two letters or more) of every known name — participants,
//!   staff, the names typed into identifier items — as a whole word after folding, so
//!   also when split by a soft hyphen or zero-width space, decomposed, followed by digits
//!   (`Kari2`) or by a possessive `s`. Names that are also common words
//!   ([`Detector::new`]'s `common_words`) are flagged when capitalised, wherever they
//!   stand (the start of a sentence included), and never in lower case;
//! - **initials**: two capital initials with dots (`K.N.`, `K. N.`) that are the initials
//!   of a known name, and a single capital initial with a dot next to a known surname
//!   (`K. Nordmann`, `Nordmann K.`; `Trude H.` is flagged by `Trude` already).
//!
//! Not flagged, by design: numbers that cannot be ids or phones (`1 157`, `4601`, `12,5 %`,
//! the decimal part of a number, digit runs inside hexadecimal hashes), ISO dates
//! (`2020-06-01`) and `dd.mm.yyyy` dates (too few digits for an id, and a date's shape is
//! not a phone's), 11 digits whose check digits fail in an
//! unusual grouping (`0101 8012 343`: the scrubber replaces those), a four-digit number followed by a
//! capitalised word when the number is a year, and phrases the caller allows
//! ([`Detector::allow`]: the pipeline's closed vocabularies, such as a site named after a
//! hospital that shares a participant's surname).

use std::collections::BTreeSet;

use regex::Regex;

/// What the detector found. Only the kind is reported, never the text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum DetectKind {
    /// An 11-digit national id with valid check digits.
    NationalId,
    /// An 8-digit phone number.
    Phone,
    /// Something shaped like an e-mail address.
    Email,
    /// Something shaped like a postal address or a property number.
    Address,
    /// A known person's name or a part of it.
    Name,
    /// Initials of a known name.
    Initials,
}

impl DetectKind {
    /// Its name in messages (`national id`, `phone number`, …).
    pub fn name(self) -> &'static str {
        match self {
            DetectKind::NationalId => "national id",
            DetectKind::Phone => "phone number",
            DetectKind::Email => "e-mail address",
            DetectKind::Address => "postal address",
            DetectKind::Name => "person's name",
            DetectKind::Initials => "person's initials",
        }
    }
}

/// The detector for one evaluation: the folded name parts to look for and the phrases
/// the pipeline allows.
#[derive(Debug)]
pub struct Detector {
    /// Folded name parts, each flagged in any case.
    names: BTreeSet<String>,
    /// Folded name parts that are also common words: flagged only when capitalised.
    common: BTreeSet<String>,
    /// Folded surnames (last part of each full name), for initials beside them.
    surnames: BTreeSet<String>,
    /// Initials of known full names: (first letter of the first part, of the last part),
    /// uppercase ASCII after folding.
    initials: BTreeSet<(char, char)>,
    /// Allowed phrases, normalised and lowercased (not folded), masked before scanning.
    allowed: Vec<String>,
    patterns: Vec<(DetectKind, Regex)>,
    capital_postcode: Regex,
}

/// Zero-width characters and soft hyphens: removed before anything else.
fn is_invisible(c: char) -> bool {
    matches!(c, '\u{200B}'..='\u{200D}' | '\u{2060}' | '\u{FEFF}' | '\u{00AD}')
}

/// Combining marks (what NFD splits off a letter): dropped.
fn is_combining(c: char) -> bool {
    matches!(c, '\u{0300}'..='\u{036F}' | '\u{1AB0}'..='\u{1AFF}' | '\u{1DC0}'..='\u{1DFF}' | '\u{20D0}'..='\u{20FF}' | '\u{FE20}'..='\u{FE2F}')
}

/// A character's compatibility fold: full-width ASCII to ASCII, mathematical digits to
/// digits, every space to a plain space (line breaks kept), the rest unchanged.
fn fold_char(c: char) -> char {
    match c {
        '\u{FF01}'..='\u{FF5E}' => char::from_u32(u32::from(c) - 0xFEE0).unwrap_or(c),
        '\u{1D7CE}'..='\u{1D7FF}' => {
            char::from_digit((u32::from(c) - 0x1D7CE) % 10, 10).unwrap_or(c)
        }
        '\n' | '\r' => c,
        c if c.is_whitespace() => ' ',
        '\u{2010}'..='\u{2013}' | '\u{2212}' => '-',
        c => c,
    }
}

/// The text normalised for scanning (see the module docs); case kept.
pub fn normalise(text: &str) -> String {
    text.chars().filter(|&c| !is_invisible(c) && !is_combining(c)).map(fold_char).collect()
}

/// A word folded for name matching: lowercase, diacritics and Norwegian letters folded,
/// then the digraphs `oe`, `ae`, `aa` made one letter.
pub fn fold_name(word: &str) -> String {
    let mut letters = String::with_capacity(word.len());
    for c in normalise(word).chars().flat_map(char::to_lowercase) {
        match c {
            'ø' | 'ö' | 'ó' | 'ò' | 'ô' | 'õ' | 'ő' => letters.push('o'),
            'æ' | 'ä' | 'á' | 'à' | 'â' | 'ã' | 'å' | 'ą' => letters.push('a'),
            'é' | 'è' | 'ê' | 'ë' | 'ę' => letters.push('e'),
            'í' | 'ì' | 'î' | 'ï' => letters.push('i'),
            'ú' | 'ù' | 'û' | 'ü' | 'ű' => letters.push('u'),
            'ý' | 'ÿ' => letters.push('y'),
            'ñ' | 'ń' => letters.push('n'),
            'ç' | 'ć' | 'č' => letters.push('c'),
            'š' | 'ś' => letters.push('s'),
            'ž' | 'ź' | 'ż' => letters.push('z'),
            'ł' => letters.push('l'),
            'ð' => letters.push('d'),
            'þ' => letters.push_str("th"),
            'ß' => letters.push_str("ss"),
            c => letters.push(c),
        }
    }
    letters.replace("oe", "o").replace("ae", "a").replace("aa", "a")
}

/// Words of `text` (runs of letters), each with whether it starts with a capital and
/// where it ends (char index into `chars`).
fn words(chars: &[char]) -> Vec<(String, bool, usize, usize)> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        if chars[i].is_alphabetic() {
            let start = i;
            while i < chars.len() && chars[i].is_alphabetic() {
                i += 1;
            }
            let word: String = chars[start..i].iter().collect();
            out.push((word, chars[start].is_uppercase(), start, i));
        } else {
            i += 1;
        }
    }
    out
}

/// Separators allowed between the digit groups of one number.
fn is_separator(c: char) -> bool {
    matches!(c, ' ' | '.' | '-' | '/' | '\n' | '\r' | '\t' | '+' | '(' | ')')
}

/// One run of digits: the digits, and whether it is a decimal part (right after a digit
/// and one `.` or `,`) or has one (followed by `.`/`,` and a digit).
struct Group {
    digits: String,
    fraction: bool,
    has_fraction: bool,
    /// Joined to the group before by exactly one `.`.
    dot_before: bool,
}

/// In a run of three or more groups joined by single dots (`912.34.506`, `01.01.80`) the
/// dots are not decimal points.
fn clear_dotted_runs(chain: &mut [Group]) {
    let mut start = 0;
    while start < chain.len() {
        let mut end = start + 1;
        while end < chain.len() && chain[end].dot_before {
            end += 1;
        }
        if end - start >= 3 {
            for g in &mut chain[start..end] {
                g.fraction = false;
                g.has_fraction = false;
            }
        }
        start = end;
    }
}

/// Digit groups of `chars`, chained: a chain is a run of groups with at most two
/// separator characters between neighbours. Digits inside a word that mixes letters and
/// digits more than once (a hash, a base64 run) are not groups.
fn chains(chars: &[char]) -> Vec<Vec<Group>> {
    let mut out: Vec<Vec<Group>> = Vec::new();
    let mut chain: Vec<Group> = Vec::new();
    let mut i = 0;
    let mut last_end: Option<usize> = None;
    while i < chars.len() {
        if !chars[i].is_alphanumeric() {
            i += 1;
            continue;
        }
        // One alphanumeric token.
        let start = i;
        while i < chars.len() && chars[i].is_alphanumeric() {
            i += 1;
        }
        let token = &chars[start..i];
        let transitions =
            token.windows(2).filter(|w| w[0].is_ascii_digit() != w[1].is_ascii_digit()).count();
        let digit_start = token.iter().position(char::is_ascii_digit);
        // Allowed: digits, letters then digits (`fnr0101…`, `tlf9123…`), digits then one or
        // two letters (`5B`).
        let usable = match digit_start {
            None => false,
            Some(d) => {
                let trailing = token.iter().rev().take_while(|c| !c.is_ascii_digit()).count();
                transitions <= 2
                    && (transitions < 2 || d > 0)
                    && trailing <= 2
                    && (transitions < 2 || trailing > 0)
                    && token.len() <= 40
            }
        };
        if !usable {
            if !chain.is_empty() {
                out.push(std::mem::take(&mut chain));
            }
            last_end = None;
            continue;
        }
        let d = digit_start.unwrap_or(0);
        let digits_end =
            token[d..].iter().position(|c| !c.is_ascii_digit()).map_or(token.len(), |p| d + p);
        let digits: String = token[d..digits_end].iter().collect();
        let (g_start, g_end) = (start + d, start + digits_end);
        let glued = d > 0 || digits_end < token.len();
        // Joins the chain when only up to two separators lie between, and no letters.
        let joins = !glued
            && last_end.is_some_and(|e| {
                g_start - e <= 2 && chars[e..g_start].iter().all(|&c| is_separator(c))
            });
        if !joins && !chain.is_empty() {
            out.push(std::mem::take(&mut chain));
        }
        let fraction = g_start >= 2
            && matches!(chars[g_start - 1], '.' | ',')
            && chars[g_start - 2].is_ascii_digit();
        let has_fraction = g_end + 1 < chars.len()
            && matches!(chars[g_end], '.' | ',')
            && chars[g_end + 1].is_ascii_digit();
        let dot_before = joins && last_end.is_some_and(|e| g_start - e == 1 && chars[e] == '.');
        chain.push(Group { digits, fraction, has_fraction, dot_before });
        last_end = if digits_end < token.len() { None } else { Some(g_end) };
        if digits_end < token.len() {
            out.push(std::mem::take(&mut chain));
        }
    }
    if !chain.is_empty() {
        out.push(chain);
    }
    for chain in &mut out {
        clear_dotted_runs(chain);
    }
    out
}

/// Whether 11 digits start with a date as national ids write it: day (+ 40 for a
/// D-number) and month (+ 40, + 65 or + 80 for synthetic ids).
fn starts_with_id_date(digits: &[u8]) -> bool {
    if digits.len() != 11 {
        return false;
    }
    let day = digits[0] * 10 + digits[1];
    let month = digits[2] * 10 + digits[3];
    let day_ok = (1..=31).contains(&day) || (41..=71).contains(&day);
    let month_ok = [0, 40, 65, 80].iter().any(|plus| (plus + 1..=plus + 12).contains(&month));
    day_ok && month_ok
}

/// Whether both mod-11 check digits of 11 digits hold.
fn check_digits_hold(digits: &[u8]) -> bool {
    let check = |weights: &[u32]| {
        let sum: u32 = weights.iter().zip(digits).map(|(w, &d)| w * u32::from(d)).sum();
        match 11 - sum % 11 {
            11 => Some(0),
            10 => None,
            k => Some(k),
        }
    };
    check(&[3, 7, 6, 1, 8, 9, 4, 5, 2]) == Some(u32::from(digits[9]))
        && check(&[5, 4, 3, 2, 7, 6, 5, 4, 3, 2]) == Some(u32::from(digits[10]))
}

/// Whether 11 digits in these groups are a national id: a date first, and either valid
/// check digits or the grouping people write ids in (11, 6 + 5, `dd mm yy nnnnn`,
/// `dd mm yy nnn nn`, 6 + 3 + 2), so a mistyped id written as one still counts.
fn is_national_id(digits: &[u8], lengths: &[usize]) -> bool {
    starts_with_id_date(digits)
        && (check_digits_hold(digits)
            || matches!(lengths, [11] | [6, 5] | [2, 2, 2, 5] | [2, 2, 2, 3, 2] | [6, 3, 2]))
}

/// Group lengths a phone number is written in.
fn phone_shape(lengths: &[usize]) -> bool {
    matches!(lengths, [8] | [2, 2, 2, 2] | [3, 2, 3] | [2, 3, 3] | [4, 4] | [3, 3, 2] | [2, 2, 4])
}

fn digit_hit(chain: &[Group]) -> Option<DetectKind> {
    for start in 0..chain.len() {
        if chain[start].fraction {
            continue;
        }
        let mut digits: Vec<u8> = Vec::new();
        for end in start..chain.len() {
            digits.extend(chain[end].digits.bytes().map(|b| b - b'0'));
            if digits.len() > 12 {
                break;
            }
            if chain[end].has_fraction {
                break;
            }
            let lengths: Vec<usize> = chain[start..=end].iter().map(|g| g.digits.len()).collect();
            if is_national_id(&digits, &lengths) {
                return Some(DetectKind::NationalId);
            }
            // A country prefix glued on or as a group of its own.
            let (rest, rest_lengths): (&[u8], Vec<usize>) =
                match (digits.as_slice(), lengths.as_slice()) {
                    ([4, 7, tail @ ..], [10]) | ([0, 0, 4, 7, tail @ ..], [12]) => (tail, vec![8]),
                    ([4, 7, tail @ ..], [2, more @ ..])
                    | ([0, 0, 4, 7, tail @ ..], [4, more @ ..]) => (tail, more.to_vec()),
                    _ => (&digits[..0], Vec::new()),
                };
            let plain = digits.len() == 8 && phone_shape(&lengths) && digits[0] >= 2;
            let prefixed = rest.len() == 8 && phone_shape(&rest_lengths) && rest[0] >= 2;
            if plain || prefixed {
                return Some(DetectKind::Phone);
            }
        }
    }
    None
}

impl Detector {
    /// A detector for these full names (participants, staff, extra names). Parts of a
    /// name that are in `common_words` (lowercase; folded here) are flagged only when
    /// capitalised.
    pub fn new<'a>(
        names: impl IntoIterator<Item = &'a str>,
        common_words: impl IntoIterator<Item = &'a str>,
    ) -> Self {
        let common_words: BTreeSet<String> = common_words.into_iter().map(fold_name).collect();
        let mut detector = Detector {
            names: BTreeSet::new(),
            common: BTreeSet::new(),
            surnames: BTreeSet::new(),
            initials: BTreeSet::new(),
            allowed: Vec::new(),
            patterns: patterns(),
            capital_postcode: Regex::new(r"(?:^|[^0-9\-])([0-9]{4})[ ]{1,2}\p{Lu}\p{Ll}{2,}")
                .unwrap_or_else(|e| panic!("postcode pattern: {e}")),
        };
        for name in names {
            let chars: Vec<char> = normalise(name).chars().collect();
            let parts: Vec<String> = words(&chars).into_iter().map(|w| fold_name(&w.0)).collect();
            for part in &parts {
                if part.chars().count() < 2 {
                    continue;
                }
                if common_words.contains(part) {
                    detector.common.insert(part.clone());
                } else {
                    detector.names.insert(part.clone());
                }
            }
            if let (Some(first), Some(last)) = (parts.first(), parts.last())
                && parts.len() >= 2
            {
                detector.surnames.insert(last.clone());
                let initial = |p: &str| p.chars().next().map(|c| c.to_ascii_uppercase());
                if let (Some(a), Some(b)) = (initial(first), initial(last)) {
                    detector.initials.insert((a, b));
                }
            }
        }
        detector
    }

    /// Allow these phrases (a closed vocabulary's labels): their occurrences are blanked,
    /// as whole phrases and ignoring case, before the text is scanned.
    #[must_use]
    pub fn allow<'a>(mut self, phrases: impl IntoIterator<Item = &'a str>) -> Self {
        for phrase in phrases {
            let phrase = normalise(phrase).to_lowercase();
            if !phrase.trim().is_empty() && !self.allowed.contains(&phrase) {
                self.allowed.push(phrase);
            }
        }
        // Longest first, so a longer label is blanked before a shorter one inside it.
        self.allowed.sort_by_key(|p| std::cmp::Reverse(p.len()));
        self
    }

    /// The first kind of identifier `text` holds, if any (checked in the order ids,
    /// phones, e-mails, addresses, names, initials).
    pub fn detect(&self, text: &str) -> Option<DetectKind> {
        let mut normal = normalise(text);
        if !self.allowed.is_empty() {
            normal = self.mask_allowed(&normal);
        }
        let chars: Vec<char> = normal.chars().collect();
        if chars.iter().any(char::is_ascii_digit)
            && let Some(kind) = chains(&chars).iter().find_map(|c| digit_hit(c))
        {
            return Some(kind);
        }
        let lower = normal.to_lowercase();
        for (kind, pattern) in &self.patterns {
            if pattern.is_match(&lower) {
                return Some(*kind);
            }
        }
        for m in self.capital_postcode.captures_iter(&normal) {
            let year = m[1].parse::<u32>().is_ok_and(|y| (1900..=2099).contains(&y));
            if !year {
                return Some(DetectKind::Address);
            }
        }
        self.detect_names(&chars)
    }

    /// Blank the allowed phrases where they stand as whole words.
    fn mask_allowed(&self, text: &str) -> String {
        let lower: Vec<char> = text.to_lowercase().chars().collect();
        let mut chars: Vec<char> = text.chars().collect();
        if lower.len() != chars.len() {
            // A character whose lowercase is longer: offsets would not line up. Rare;
            // scan unmasked (stricter).
            return text.to_owned();
        }
        for phrase in &self.allowed {
            let p: Vec<char> = phrase.chars().collect();
            let mut i = 0;
            while i + p.len() <= lower.len() {
                let whole = (i == 0 || !lower[i - 1].is_alphanumeric())
                    && lower.get(i + p.len()).is_none_or(|c| !c.is_alphanumeric());
                if whole && lower[i..i + p.len()] == p[..] {
                    for c in &mut chars[i..i + p.len()] {
                        *c = ' ';
                    }
                    i += p.len();
                } else {
                    i += 1;
                }
            }
        }
        chars.into_iter().collect()
    }

    fn detect_names(&self, chars: &[char]) -> Option<DetectKind> {
        let words = words(chars);
        let known = |folded: &str, capital: bool| {
            let stem = folded.strip_suffix('s');
            self.names.contains(folded)
                || stem.is_some_and(|s| self.names.contains(s))
                || (capital
                    && (self.common.contains(folded)
                        || stem.is_some_and(|s| self.common.contains(s))))
        };
        let initial = |w: &(String, bool, usize, usize)| {
            let mut letters = w.0.chars();
            match (letters.next(), letters.next()) {
                (Some(c), None) if w.1 && chars.get(w.3) == Some(&'.') => {
                    fold_name(&c.to_string()).chars().next().map(|c| c.to_ascii_uppercase())
                }
                _ => None,
            }
        };
        for (i, w) in words.iter().enumerate() {
            let folded = fold_name(&w.0);
            if known(&folded, w.1) {
                return Some(DetectKind::Name);
            }
            if let Some(a) = initial(w) {
                // `K.N.` / `K. N.`: two initials of a known name.
                if let Some(next) = words.get(i + 1)
                    && next.2 - w.3 <= 3
                    && let Some(b) = initial(next)
                    && self.initials.contains(&(a, b))
                {
                    return Some(DetectKind::Initials);
                }
                // An initial beside a known surname, before or after it.
                let beside = |other: Option<&(String, bool, usize, usize)>| {
                    other.is_some_and(|o| {
                        let gap = if o.2 >= w.3 { o.2 - w.3 } else { w.2.saturating_sub(o.3) };
                        gap <= 3 && self.surnames.contains(&fold_name(&o.0))
                    })
                };
                if beside(words.get(i + 1)) || beside(i.checked_sub(1).and_then(|j| words.get(j))) {
                    return Some(DetectKind::Initials);
                }
            }
        }
        None
    }
}

/// E-mail and address shapes, matched on the normalised, lowercased text.
fn patterns() -> Vec<(DetectKind, Regex)> {
    let regex = |p: &str| Regex::new(p).unwrap_or_else(|e| panic!("pattern {p}: {e}"));
    vec![
        (DetectKind::Email, regex(r"\w[ ]?@[ ]?\w")),
        (DetectKind::Email, regex(r"\w[ ]?[(\[{<][ ]?(?:at|alfakrøll|krøllalfa)[ ]?[)\]}>][ ]?\w")),
        (
            DetectKind::Email,
            regex(
                r"\b[\w.\-]+[ ]+(?:at|alfakrøll|krøllalfa)[ ]+[\w\-]+(?:[ ]+(?:dot|punktum)[ ]+[a-z]{2,}\b|\.(?:no|com|org|net|se|dk)\b)",
            ),
        ),
        (
            DetectKind::Address,
            regex(
                r"\b\w*(?:veien|vegen|vei|veg|gata|gaten|gate|gt\.?|plass|plassen|bakken|bakke|stien|sti|allé|alle|allè|torget|torg|brygge|bryggen|kaien|svingen|tunet|terrasse|stredet|smauet|lia|haugen|kroken|ringen|vollen|løkka|jordet|parken|hagen|åsen|dalen|myra|skogen|berget|holmen)[ ]{0,2}\.?[ ]{0,2}[0-9]{1,4}[ ]?[a-h]?\b",
            ),
        ),
        (DetectKind::Address, regex(r"\bpost(?:boks|box)[ .]{0,2}[0-9]+")),
        (DetectKind::Address, regex(r"\b(?:n|no)[ ]?-[ ]?[0-9]{4}[ ]{1,2}\w")),
        (
            DetectKind::Address,
            regex(r"[0-9][ ]?[a-h]?[ ]?(?:,|\r?\n)[ \r\n]{0,3}[0-9]{4}[ ]{1,2}\p{L}{2,}"),
        ),
        (
            DetectKind::Address,
            regex(
                r"\b(?:gnr|g\.nr|gårdsnr|gardsnr)\.?[ ]{0,2}[0-9]+[ ,/]{0,3}(?:bnr|b\.nr|bruksnr)\.?[ ]{0,2}[0-9]+",
            ),
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn detector() -> Detector {
        Detector::new(
            ["Kari Nordmann", "Anne-Lise Ødegård", "Rune Berg", "Trude Helland"],
            ["rune", "per", "tor", "dag"],
        )
    }

    #[track_caller]
    fn check(text: &str, expected: Option<DetectKind>) {
        assert_eq!(detector().detect(text), expected, "{text:?}");
    }

    #[test]
    fn this_file_shares_no_code_with_the_scrubber() {
        let source = include_str!("detect.rs");
        let forbidden = ["scrub", "::", "Scrub"].concat();
        let uses: Vec<&str> =
            source.lines().filter(|l| l.trim_start().starts_with("use ")).collect();
        assert!(
            uses.iter().all(|l| !l.contains(&forbidden[..5]) && !l.contains("crate::")),
            "{uses:?}"
        );
        assert!(!source.contains(&["super::super", "::scrub"].concat()));
    }

    #[test]
    fn national_ids_in_every_shape_with_valid_check_digits() {
        use DetectKind::NationalId as Id;
        for text in [
            "01018010018",
            "0101 8010 018",
            "01.01.80 12343",
            "01 01 80 123 50",
            "fnr 010180 12347",
            "fnr01018012347",
            "01.01.80 12347",
            "010180\n12347",
            "010180\r\n12347",
            "010180\u{A0}12347",
            "010180  12347",
            "01 01 80 123 47",
            "01-01-80-12347",
            "０１０１８０１２３４７",
            "0101\u{200B}8012347",
        ] {
            check(text, Some(Id));
        }
        // Check digits that fail, in no id's grouping, are left to the scrubber.
        check("0101 8012 348", None);
    }

    #[test]
    fn phones_in_every_shape() {
        use DetectKind::Phone;
        for text in [
            "91234567",
            "9123 4505",
            "+47 9123 4510",
            "912.34.506",
            "91 234 507",
            "tlf91234508",
            "4791234512",
            "0047 91 23 45 67",
            "91\u{A0}23\u{A0}45\u{A0}67",
            "912-34-567",
        ] {
            check(text, Some(Phone));
        }
    }

    #[test]
    fn emails_and_addresses() {
        use DetectKind::{Address, Email};
        for text in
            ["ola@nav.no", "ola @ nav.no", "ola(at)nav.no", "ola at nav dot no", "ola@gmail"]
        {
            check(text, Some(Email));
        }
        for text in [
            "Storgata 5, 5003 Bergen",
            "storgata 5",
            "hun bor i fjellveien 12b",
            "Storgata 5\n5003 Bergen",
            "N-5013 Bergen",
            "gnr. 12 bnr. 34",
            "postboks 12",
            "5003 Bergen",
            "Kongens gt. 3",
        ] {
            check(text, Some(Address));
        }
    }

    #[test]
    fn names_in_every_form() {
        use DetectKind::{Initials, Name};
        for text in [
            "Kari ringte",
            "KARI",
            "Karis mor",
            "Kari2 sa det",
            "Odegard",
            "Oedegaard",
            "Ødegård",
            "O\u{308}degard",
            "Ka\u{AD}ri",
            "Nord\u{200B}mann",
            "Trude H.",
            "Rune og jeg fikk en plan.",
            "Vi snakket med Rune.",
        ] {
            check(text, Some(Name));
        }
        for text in ["K.N. ringte", "K. N. ringte", "T.H. sa", "hjelp fra K. Nordmann"] {
            check(text, Some(Initials));
        }
        // Common-word names in lower case, initials of nobody, a name inside a word.
        for text in ["to ganger per uke", "i dag", "runeskrift", "A.B. ringte", "Annerledes"] {
            check(text, None);
        }
    }

    #[test]
    fn ordinary_report_text_is_clean() {
        for text in [
            "n = 1 157",
            "4601",
            "12,5 %",
            "0.90 (0.41–1.24)",
            "rate ratio 0,72 (95 % KI 0,41–1,24)",
            "2020-06-01",
            "01.03.2020",
            "I 2020 Bergen kommune",
            "p = 0.012345678",
            "0,41234567",
            "sha256 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
            "Bergen barn: 300 personer, 1234 kr",
            "Samhandling / Felles plan",
            "coder 1",
            "kommune 4601",
        ] {
            check(text, None);
        }
    }

    #[test]
    fn allowed_phrases_are_blanked() {
        let d = Detector::new(["Ola Haukeland"], []).allow(["Haukeland voksne"]);
        assert_eq!(d.detect("Haukeland voksne"), None);
        assert_eq!(d.detect("site Haukeland voksne, 12 personer"), None);
        assert_eq!(d.detect("Haukeland ringte"), Some(DetectKind::Name));
    }
}

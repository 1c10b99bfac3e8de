//! REFI-QDA projects (`.qdpx`, QDA-XML 1.0): a zip holding `project.qde` (users, codebook,
//! variables, sources with their selections and codings) and the transcripts under
//! `Sources/`. Every `Coding` becomes a row of the codings table: the focus group is the
//! source's name, municipality and role come from its variables, the coder is the
//! coding's user, the theme is the code's path in the codebook, and the text is the
//! selection sliced from the transcript by character (code point) offsets, end exclusive.
//!
//! Transcripts are matched to `plainTextPath="internal://<guid>.txt"` by file name, since
//! exporters put them in `Sources/`, `sources/` or the archive root. GUIDs are compared
//! without braces and case. Every `Coding` element is a row read: one that cannot be
//! resolved — no `CodeRef`, an unknown code, a coding outside a text selection, a
//! selection whose positions are missing, not whole numbers, negative, reversed or outside
//! its transcript — is rejected with its line in `project.qde` and the reason, so rows read
//! = accepted + rejected.
//!
//! A hostile archive is refused, not obeyed: exactly one `.qde` entry; its root element
//! must be `Project`; elements nest at most [`MAX_DEPTH`] deep; only `project.qde` and the
//! transcripts that coded sources name are inflated (other entries are never read); an
//! entry inflates to at most [`MAX_ENTRY_BYTES`], all of them together to at most
//! [`MAX_TOTAL_BYTES`], and an entry above 1 MiB to at most [`MAX_RATIO`] times its
//! compressed size (a zip bomb stops at the limit, whatever its header claims). Reading is
//! linear in the project's size: line numbers are counted as the parser moves on, and
//! selections are sliced through a sparse index of each transcript's characters.

use std::collections::BTreeMap;
use std::io::{Read, Seek};

use folge_schema::shown;
use folge_schema::tables::{Coding, Reject};
use quick_xml::events::{BytesStart, Event};

use crate::{IngestError, Ingested, SourceSummary};

/// Deepest element nesting `project.qde` may have (real projects nest codes a few levels;
/// a codebook 30,000 levels deep is an attack on memory).
pub const MAX_DEPTH: usize = 256;
/// Most bytes one archive entry may inflate to (256 MiB).
pub const MAX_ENTRY_BYTES: u64 = 256 << 20;
/// Most bytes all inflated entries together may take (1 GiB).
pub const MAX_TOTAL_BYTES: u64 = 1 << 30;
/// Highest inflated-to-compressed ratio of an entry larger than [`RATIO_FROM_BYTES`] (XML
/// and transcripts compress 5–50 times; a zip bomb about 1,000 times).
pub const MAX_RATIO: u64 = 200;
/// Entries up to this size (1 MiB) may compress any amount.
pub const RATIO_FROM_BYTES: u64 = 1 << 20;

/// How a `.qdpx` is read: which variables of a source hold municipality and role (first
/// match wins), the values they may hold, and whether a project without codings is
/// expected.
#[derive(Debug, Clone)]
pub struct QdpxOptions {
    /// Variable names for the municipality.
    pub municipality_variables: Vec<String>,
    /// Variable names for the role.
    pub role_variables: Vec<String>,
    /// The municipalities and roles the pipeline lists, if it does: a coding whose
    /// source holds another value is rejected (the value never in the reason).
    pub vocabularies: std::sync::Arc<crate::Vocabularies>,
    /// A project with no codings reads as an empty table instead of an error.
    pub allow_empty: bool,
}

impl Default for QdpxOptions {
    fn default() -> Self {
        QdpxOptions {
            municipality_variables: vec![
                "kommune".into(),
                "municipality".into(),
                "kommunenummer".into(),
            ],
            role_variables: vec!["rolle".into(), "role".into()],
            vocabularies: std::sync::Arc::default(),
            allow_empty: false,
        }
    }
}

fn guid(text: &str) -> String {
    text.trim().trim_start_matches('{').trim_end_matches('}').to_ascii_lowercase()
}

#[derive(Default)]
struct Source {
    name: String,
    text_file: Option<String>,
    variables: Vec<(String, String)>,
    coded: bool,
}

struct Selection {
    /// The `TextSource` it belongs to, when it is inside one.
    source: Option<String>,
    name: Option<String>,
    /// Start and end, or why they cannot be used.
    positions: Result<(usize, usize), String>,
    user: Option<String>,
}

/// One `Coding` element, read up to its end.
struct RawCoding {
    /// The `PlainTextSelection` it codes, or the element it sits in otherwise.
    selection: Result<usize, String>,
    user: Option<String>,
    /// The first `CodeRef`'s target.
    code: Option<String>,
    line: u64,
}

/// A code of the codebook: its name and the code it is nested in.
struct Code {
    name: String,
    parent: Option<usize>,
}

fn attributes(e: &BytesStart<'_>) -> BTreeMap<String, String> {
    e.attributes()
        .flatten()
        .filter_map(|a| {
            let key = a.key.local_name().as_ref().to_owned();
            a.normalized_value(quick_xml::XmlVersion::Implicit1_0)
                .ok()
                .map(|v| (key, v.into_owned()))
        })
        .collect()
}

/// A character offset from a selection's attribute, or why it is not one.
fn position(value: Option<&String>, key: &str) -> Result<usize, String> {
    let Some(value) = value else {
        return Err(format!("the selection has no `{key}`"));
    };
    let text = value.trim();
    if let Some(digits) = text.strip_prefix('-')
        && !digits.is_empty()
        && digits.bytes().all(|b| b.is_ascii_digit())
    {
        return Err(format!(
            "the selection's `{key}` is negative (`{}`; expected a character offset from 0)",
            shown(text)
        ));
    }
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!(
            "the selection's `{key}` `{}` is not a whole number (expected a character offset from 0)",
            shown(text)
        ));
    }
    text.parse::<usize>().map_err(|_| {
        format!("the selection's `{key}` `{}` is too large to be a character offset", shown(text))
    })
}

/// A transcript with a sparse index from character offsets to byte offsets (every
/// [`STRIDE`]th character), so slicing a selection costs at most `STRIDE` steps plus its
/// length, whatever its offset.
struct Transcript {
    text: String,
    chars: usize,
    /// Byte offset of every `STRIDE`th character; empty when the text is ASCII.
    checkpoints: Vec<usize>,
}

const STRIDE: usize = 64;

impl Transcript {
    fn new(text: String) -> Self {
        if text.is_ascii() {
            return Transcript { chars: text.len(), text, checkpoints: Vec::new() };
        }
        let mut checkpoints = Vec::with_capacity(text.len() / STRIDE + 1);
        let mut chars = 0;
        for (i, (byte, _)) in text.char_indices().enumerate() {
            if i % STRIDE == 0 {
                checkpoints.push(byte);
            }
            chars = i + 1;
        }
        Transcript { text, chars, checkpoints }
    }

    /// The byte offset of character `index` (`index` ≤ `self.chars`).
    fn byte(&self, index: usize) -> usize {
        if self.checkpoints.is_empty() {
            return index;
        }
        let from = self.checkpoints[index / STRIDE];
        self.text[from..]
            .char_indices()
            .nth(index % STRIDE)
            .map_or(self.text.len(), |(b, _)| from + b)
    }

    /// Characters `start..end`, when they lie inside the text.
    fn slice(&self, start: usize, end: usize) -> Option<&str> {
        (start <= end && end <= self.chars).then(|| &self.text[self.byte(start)..self.byte(end)])
    }
}

/// Inflates archive entries within the limits (see the module docs).
struct Inflater {
    total: u64,
}

impl Inflater {
    fn read<R: Read + Seek>(
        &mut self,
        archive: &mut zip::ZipArchive<R>,
        index: usize,
        what: &str,
    ) -> Result<Vec<u8>, String> {
        let file = archive.by_index(index).map_err(|e| format!("{what} cannot be read: {e}"))?;
        let compressed = file.compressed_size();
        let mut limit = MAX_ENTRY_BYTES.min(MAX_TOTAL_BYTES - self.total);
        let ratio_limit = compressed.saturating_mul(MAX_RATIO).max(RATIO_FROM_BYTES);
        let by_ratio = ratio_limit < limit;
        limit = limit.min(ratio_limit);
        let refuse = |size: u64| {
            if by_ratio {
                format!(
                    "{what} would inflate to more than {size} bytes from {compressed} compressed, more than {MAX_RATIO} times its size (a zip bomb?); folge does not read it"
                )
            } else {
                format!(
                    "{what} would inflate to more than {size} bytes, over folge's limit of {} MiB per entry and {} MiB per archive",
                    MAX_ENTRY_BYTES >> 20,
                    MAX_TOTAL_BYTES >> 20
                )
            }
        };
        if file.size() > limit {
            return Err(refuse(limit));
        }
        let mut bytes = Vec::with_capacity(file.size() as usize);
        file.take(limit + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| format!("{what} cannot be inflated: {e}"))?;
        if bytes.len() as u64 > limit {
            return Err(refuse(limit));
        }
        self.total += bytes.len() as u64;
        Ok(bytes)
    }
}

/// Read a `.qdpx` archive into codings, every row's `source` set to `label` (the input's
/// label in the pipeline file, never its file name).
pub fn read_qdpx<R: Read + Seek>(
    name: &str,
    label: &str,
    input: R,
    options: &QdpxOptions,
) -> Result<Ingested<Coding>, IngestError> {
    let fail = |message: String| IngestError::File { source_name: name.to_owned(), message };
    let mut archive = zip::ZipArchive::new(input)
        .map_err(|e| fail(format!("is not a REFI-QDA archive (zip): {e}")))?;
    if archive.has_duplicate_names() {
        return Err(fail(
            "the archive holds two entries with the same name, so which one is meant is not clear"
                .into(),
        ));
    }
    // Entry names only: nothing is inflated before it is known to be wanted.
    let mut projects = Vec::new();
    let mut by_base: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    for (i, path) in archive.file_names_raw().enumerate() {
        let path = String::from_utf8_lossy(path);
        let base = path.rsplit(['/', '\\']).next().unwrap_or(&path).to_lowercase();
        // Lowercased above.
        let extension = base.rsplit_once('.').map_or("", |(_, e)| e);
        if extension == "qde" {
            projects.push(i);
        } else if extension == "txt" {
            by_base.entry(base).or_default().push(i);
        }
    }
    let project = match projects.as_slice() {
        [] => return Err(fail("has no project.qde".into())),
        [one] => *one,
        more => {
            return Err(fail(format!(
                "the archive holds {} project files (`.qde`); a REFI-QDA project has exactly one",
                more.len()
            )));
        }
    };
    let mut inflater = Inflater { total: 0 };
    let xml = inflater.read(&mut archive, project, "project.qde").map_err(&fail)?;
    let xml = String::from_utf8(xml).map_err(|e| {
        fail(format!("project.qde is not UTF-8 text (byte {})", e.utf8_error().valid_up_to()))
    })?;
    let entry = format!("{name}:project.qde");
    let project = parse_project(&entry, &xml)?;

    // The transcripts of coded sources, and only those.
    let mut texts: BTreeMap<String, Transcript> = BTreeMap::new();
    let mut missing_transcripts = 0u64;
    for source in project.sources.values().filter(|s| s.coded) {
        let Some(file) = &source.text_file else { continue };
        if texts.contains_key(file) {
            continue;
        }
        match by_base.get(file).map(Vec::as_slice) {
            None | Some([]) => missing_transcripts += 1,
            Some([index]) => {
                let bytes = inflater.read(&mut archive, *index, "a transcript").map_err(&fail)?;
                let text = String::from_utf8(bytes).map_err(|e| {
                    fail(format!(
                        "the transcript of source `{}` is not UTF-8 text (byte {})",
                        shown(&source.name),
                        e.utf8_error().valid_up_to()
                    ))
                })?;
                texts.insert(file.clone(), Transcript::new(text));
            }
            Some(more) => {
                return Err(fail(format!(
                    "the transcript of source `{}` is in the archive {} times (in different folders), so which one is meant is not clear",
                    shown(&source.name),
                    more.len()
                )));
            }
        }
    }

    let Project { users, codes, variables, sources, selections, codings } = project;
    let variable = |s: &Source, names: &[String]| {
        s.variables.iter().find_map(|(g, v)| {
            let n = variables.get(g)?;
            names.iter().any(|w| w.eq_ignore_ascii_case(n)).then(|| v.clone())
        })
    };
    // Each code's theme (its path above it), made once.
    let mut themes: Vec<Option<Option<String>>> = vec![None; codes.list.len()];
    let mut theme = |index: usize| -> Option<String> {
        themes[index]
            .get_or_insert_with(|| {
                let mut path = Vec::new();
                let mut at = codes.list[index].parent;
                while let Some(p) = at {
                    path.push(codes.list[p].name.as_str());
                    at = codes.list[p].parent;
                }
                path.reverse();
                (!path.is_empty()).then(|| path.join("/"))
            })
            .clone()
    };
    let mut rows = Vec::new();
    let mut rejects = Vec::new();
    let mut without_text = 0u64;
    for c in &codings {
        let reject = |reason: String| Reject {
            source: entry.clone(),
            line: c.line as i64,
            column: None,
            reason,
            raw: String::new(),
        };
        let resolved = (|| {
            let selection = c.selection.as_ref().map_err(Clone::clone)?;
            let sel = &selections[*selection];
            let code = c.code.as_ref().ok_or("the coding has no `CodeRef` (expected one code)")?;
            let &code = codes
                .by_guid
                .get(code)
                .ok_or("the coding refers to a code that is not in the codebook")?;
            let source = sel.source.as_ref().and_then(|s| sources.get(s)).ok_or(
                "the selection is not inside a `TextSource` (folge reads codings of transcripts)",
            )?;
            let (start, end) = sel.positions.clone()?;
            if start > end {
                return Err(format!(
                    "the selection starts after it ends (`startPosition` {start} > `endPosition` {end})"
                ));
            }
            let text = match source.text_file.as_ref().and_then(|f| texts.get(f)) {
                Some(transcript) => Some(
                    transcript
                        .slice(start, end)
                        .ok_or_else(|| {
                            format!(
                                "the selection {start}–{end} lies outside its transcript of {} characters",
                                transcript.chars
                            )
                        })?
                        .to_owned(),
                ),
                None => None,
            };
            Ok((sel, code, source, text))
        })();
        let (sel, code, source, text) = match resolved {
            Ok(found) => found,
            Err(reason) => {
                rejects.push(reject(reason));
                continue;
            }
        };
        if text.is_none() {
            without_text += 1;
        }
        // Municipality and role, checked against the pipeline's lists (the value never in
        // the reason).
        let closed = |column: &str, value: Option<String>, list| match value {
            None => Ok(None),
            Some(v) => crate::vocabulary::closed(list, &v)
                .map(Some)
                .map_err(|reason| Reject { column: Some(column.to_owned()), ..reject(reason) }),
        };
        let vocabularies = &options.vocabularies;
        let municipality = closed(
            "municipality",
            variable(source, &options.municipality_variables),
            vocabularies.municipalities.as_ref(),
        );
        let role =
            closed("role", variable(source, &options.role_variables), vocabularies.roles.as_ref());
        let (municipality, role) = match (municipality, role) {
            (Ok(m), Ok(r)) => (m, r),
            (Err(e), _) | (_, Err(e)) => {
                rejects.push(e);
                continue;
            }
        };
        let coded_by = c.user.as_ref().or(sel.user.as_ref()).map_or_else(
            || "unknown".to_owned(),
            |user_guid| users.get(user_guid).cloned().unwrap_or_else(|| user_guid.clone()),
        );
        let (start, end) = sel.positions.clone().unwrap_or_default();
        rows.push(Coding {
            source: label.to_owned(),
            focus_group: source.name.clone(),
            municipality,
            role,
            coder: coded_by,
            segment: sel.name.clone().unwrap_or_else(|| format!("{start}-{end}")),
            code: codes.list[code].name.clone(),
            theme: theme(code),
            text,
        });
    }
    if codings.is_empty() && !options.allow_empty {
        return Err(fail(
            "the project holds no codings (set `allow_empty = true` on this input if that is expected)"
                .into(),
        ));
    }
    let mut warnings = Vec::new();
    if without_text > 0 {
        warnings.push(format!(
            "{name}: {without_text} codings have no quote: {missing_transcripts} of their sources' transcripts are not in the archive, the others have none (inline `PlainTextContent` is not read)"
        ));
    }
    let summary = SourceSummary {
        source: name.to_owned(),
        rows_read: codings.len() as u64,
        rows_accepted: rows.len() as u64,
        rows_rejected: rejects.len() as u64,
    };
    debug_assert_eq!(summary.rows_read, summary.rows_accepted + summary.rows_rejected);
    Ok(Ingested { rows, rejects, summary, warnings })
}

/// The codebook: codes in document order and their GUIDs.
#[derive(Default)]
struct Codes {
    list: Vec<Code>,
    by_guid: BTreeMap<String, usize>,
}

/// What `project.qde` holds that codings need.
struct Project {
    users: BTreeMap<String, String>,
    codes: Codes,
    variables: BTreeMap<String, String>,
    sources: BTreeMap<String, Source>,
    selections: Vec<Selection>,
    codings: Vec<RawCoding>,
}

/// Parse `project.qde` in one pass.
fn parse_project(entry: &str, xml: &str) -> Result<Project, IngestError> {
    let mut users = BTreeMap::new();
    let mut codes = Codes::default();
    let mut variables = BTreeMap::new();
    let mut sources: BTreeMap<String, Source> = BTreeMap::new();
    let mut selections: Vec<Selection> = Vec::new();
    let mut codings: Vec<RawCoding> = Vec::new();
    // The open elements' local names (at most MAX_DEPTH).
    let mut open: Vec<String> = Vec::new();
    let mut code_stack: Vec<usize> = Vec::new();
    let mut source: Option<String> = None;
    let mut selection: Option<usize> = None;
    let mut coding: Option<RawCoding> = None;
    let mut variable_ref: Option<String> = None;
    let mut in_text_value = false;
    let mut root_seen = false;

    let mut reader = quick_xml::Reader::from_str(xml);
    reader.config_mut().trim_text(true);
    // Lines are counted from where the last event started, so the whole count is linear.
    let (mut line, mut counted) = (1u64, 0usize);
    let bytes = xml.as_bytes();
    loop {
        let event = reader.read_event();
        // The line where the event ends (a tag's `>`; where the parser stopped on an error).
        let at = match &event {
            Ok(_) => reader.buffer_position(),
            Err(_) => reader.error_position(),
        };
        let at = (at as usize).clamp(counted, bytes.len());
        line += memchr::memchr_iter(b'\n', &bytes[counted..at]).count() as u64;
        counted = at;
        let error =
            |message: String| IngestError::Read { source_name: entry.to_owned(), line, message };
        let event =
            event.map_err(|e| error(format!("is not valid XML: {}", shown(&e.to_string()))))?;
        let empty = matches!(event, Event::Empty(_));
        match event {
            Event::Start(e) | Event::Empty(e) => {
                let local = e.local_name();
                let local = local.as_ref();
                if !root_seen {
                    root_seen = true;
                    if local != "Project" {
                        return Err(error(format!(
                            "the root element is `{}`, not `Project`, so this is not a REFI-QDA project (a codebook export, `.qdc`, has `CodeBook`)",
                            shown(local)
                        )));
                    }
                }
                if !empty {
                    if open.len() == MAX_DEPTH {
                        return Err(error(format!(
                            "elements nest more than {MAX_DEPTH} deep; folge does not read deeper projects"
                        )));
                    }
                    open.push(local.to_owned());
                }
                let a = attributes(&e);
                let get = |k: &str| a.get(k).cloned();
                match local {
                    "User" => {
                        if let (Some(g), Some(n)) = (get("guid"), get("name")) {
                            users.insert(guid(&g), n);
                        }
                    }
                    "Code" => {
                        let index = codes.list.len();
                        codes.list.push(Code {
                            name: get("name").unwrap_or_default(),
                            parent: code_stack.last().copied(),
                        });
                        if let Some(g) = get("guid") {
                            codes.by_guid.insert(guid(&g), index);
                        }
                        if !empty {
                            code_stack.push(index);
                        }
                    }
                    "Variable" => {
                        if let (Some(g), Some(n)) = (get("guid"), get("name")) {
                            variables.insert(guid(&g), n);
                        }
                    }
                    "TextSource" => {
                        let g = guid(&get("guid").unwrap_or_default());
                        let text_file = get("plainTextPath")
                            .map(|p| p.rsplit(['/', '\\']).next().unwrap_or(&p).to_lowercase());
                        sources.insert(
                            g.clone(),
                            Source {
                                name: get("name").unwrap_or_else(|| g.clone()),
                                text_file,
                                variables: vec![],
                                coded: false,
                            },
                        );
                        source = (!empty).then_some(g);
                    }
                    "PlainTextSelection" => {
                        let start = position(a.get("startPosition"), "startPosition");
                        let end = position(a.get("endPosition"), "endPosition");
                        selections.push(Selection {
                            source: source.clone(),
                            name: get("name"),
                            positions: start.and_then(|s| end.map(|e| (s, e))),
                            user: get("creatingUser").map(|u| guid(&u)),
                        });
                        selection = (!empty).then_some(selections.len() - 1);
                    }
                    "Coding" => {
                        // The element the coding sits in: a text selection, or something
                        // folge does not read (a PDF or picture selection, a whole source).
                        let parent = open.iter().rev().nth(usize::from(!empty));
                        let selection = match (parent.map(String::as_str), selection) {
                            (Some("PlainTextSelection"), Some(s)) => Ok(s),
                            (parent, _) => Err(format!(
                                "the coding is not of a text selection (it is inside `{}`; folge reads codings of `PlainTextSelection`s)",
                                shown(parent.unwrap_or_default())
                            )),
                        };
                        if let Ok(s) = &selection
                            && let Some(src) =
                                selections[*s].source.as_ref().and_then(|g| sources.get_mut(g))
                        {
                            src.coded = true;
                        }
                        let raw = RawCoding {
                            selection,
                            user: get("creatingUser").map(|u| guid(&u)),
                            code: None,
                            line,
                        };
                        // A coding inside a coding (not in the schema) is counted too.
                        codings.extend(coding.take());
                        if empty {
                            codings.push(raw);
                        } else {
                            coding = Some(raw);
                        }
                    }
                    "CodeRef" => {
                        // Codes referenced by Cases or Sets are not codings of text.
                        if let (Some(target), Some(c)) = (get("targetGUID"), coding.as_mut()) {
                            c.code.get_or_insert_with(|| guid(&target));
                        }
                    }
                    "VariableRef" => variable_ref = get("targetGUID").map(|g| guid(&g)),
                    "TextValue" => in_text_value = !empty,
                    _ => {}
                }
            }
            Event::Text(t) if in_text_value => {
                if let (Some(s), Some(v)) =
                    (source.as_ref().and_then(|s| sources.get_mut(s)), variable_ref.take())
                {
                    s.variables.push((v, t.xml10_content().into_owned()));
                }
            }
            Event::End(e) => {
                open.pop();
                match e.local_name().as_ref() {
                    "Code" => {
                        code_stack.pop();
                    }
                    "TextSource" => source = None,
                    "PlainTextSelection" => selection = None,
                    "Coding" => codings.extend(coding.take()),
                    "TextValue" => in_text_value = false,
                    _ => {}
                }
            }
            Event::Eof => break,
            _ => {}
        }
    }
    if !root_seen {
        return Err(IngestError::File {
            source_name: entry.to_owned(),
            message: "holds no elements (expected a `Project`)".into(),
        });
    }
    Ok(Project { users, codes, variables, sources, selections, codings })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transcripts_slice_by_code_points_at_any_offset() {
        let text: String = (0..1000).map(|i| if i % 3 == 0 { 'æ' } else { 'a' }).collect();
        let t = Transcript::new(text.clone());
        assert_eq!(t.chars, 1000);
        for (start, end) in [(0, 0), (0, 5), (63, 65), (64, 130), (999, 1000), (1000, 1000)] {
            let want: String = text.chars().skip(start).take(end - start).collect();
            assert_eq!(t.slice(start, end), Some(want.as_str()), "{start}..{end}");
        }
        assert_eq!(t.slice(5, 1001), None);
        assert_eq!(t.slice(6, 5), None);
        let ascii = Transcript::new("hello".into());
        assert_eq!(ascii.slice(1, 3), Some("el"));
    }

    #[test]
    fn positions_say_what_is_wrong() {
        let p = |v: &str| position(Some(&v.to_owned()), "startPosition");
        assert_eq!(p(" 12 "), Ok(12));
        assert_eq!(
            p("198.0").unwrap_err(),
            "the selection's `startPosition` `198.0` is not a whole number (expected a character offset from 0)"
        );
        assert_eq!(
            p("-5").unwrap_err(),
            "the selection's `startPosition` is negative (`-5`; expected a character offset from 0)"
        );
        assert_eq!(
            position(None, "endPosition").unwrap_err(),
            "the selection has no `endPosition`"
        );
    }
}

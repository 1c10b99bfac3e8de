//! REFI-QDA projects (`.qdpx`, QDA-XML 1.0): a zip holding `project.qde` (users, codebook,
//! variables, sources with their selections and codings) and the transcripts under
//! `Sources/`. Every `Coding` becomes a row of the codings table: the focus group is the
//! source's name, municipality and role come from its variables, the coder is the
//! coding's user, the theme is the code's path in the codebook, and the text is the
//! selection sliced from the transcript by character (code point) offsets, end exclusive.
//!
//! Transcripts are matched to `plainTextPath="internal://<guid>.txt"` by file name, since
//! exporters put them in `Sources/`, `sources/` or the archive root. GUIDs are compared
//! without braces and case. A coding that cannot be resolved (unknown code, selection
//! outside its transcript) is rejected with its line in `project.qde`.

use std::collections::BTreeMap;
use std::io::{Read, Seek};

use folge_schema::tables::{Coding, Reject};
use quick_xml::events::{BytesStart, Event};

use crate::{IngestError, Ingested, SourceSummary};

/// Which variables of a source hold municipality and role (first match wins), and the
/// values they may hold.
#[derive(Debug, Clone)]
pub struct QdpxOptions {
    /// Variable names for the municipality.
    pub municipality_variables: Vec<String>,
    /// Variable names for the role.
    pub role_variables: Vec<String>,
    /// The municipalities and roles the pipeline lists, if it does: a coding whose
    /// source holds another value is rejected (the value never in the reason).
    pub vocabularies: std::sync::Arc<crate::Vocabularies>,
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
}

struct Selection {
    source: String,
    name: Option<String>,
    start: usize,
    end: usize,
    user: Option<String>,
}

struct RawCoding {
    selection: usize,
    user: Option<String>,
    code: String,
    line: u64,
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

/// Read a `.qdpx` archive into codings.
pub fn read_qdpx<R: Read + Seek>(
    name: &str,
    input: R,
    options: &QdpxOptions,
) -> Result<Ingested<Coding>, IngestError> {
    let fail =
        |message: String| IngestError::Read { source_name: name.to_owned(), line: 0, message };
    let mut archive = zip::ZipArchive::new(input)
        .map_err(|e| fail(format!("is not a REFI-QDA archive (zip): {e}")))?;
    let mut texts: BTreeMap<String, String> = BTreeMap::new();
    let mut project = None;
    for i in 0..archive.len() {
        let mut file = archive.by_index(i).map_err(|e| fail(e.to_string()))?;
        let path = file.name().map_err(|e| fail(e.to_string()))?.into_owned();
        let base = path.rsplit('/').next().unwrap_or(&path).to_ascii_lowercase();
        let extension =
            std::path::Path::new(&base).extension().and_then(|e| e.to_str()).unwrap_or("");
        let (is_project, is_text) = (extension == "qde", extension == "txt");
        if !(is_project || is_text) {
            continue;
        }
        let mut text = String::new();
        file.read_to_string(&mut text)
            .map_err(|e| fail(format!("`{path}` is not UTF-8 text: {e}")))?;
        if is_project {
            project = Some(text);
        } else {
            texts.insert(base, text);
        }
    }
    let xml = project.ok_or_else(|| fail("has no project.qde".into()))?;
    let entry = format!("{name}:project.qde");

    let mut users = BTreeMap::new();
    let mut codes: BTreeMap<String, (String, Vec<String>)> = BTreeMap::new();
    let mut variables = BTreeMap::new();
    let mut sources: BTreeMap<String, Source> = BTreeMap::new();
    let mut selections: Vec<Selection> = Vec::new();
    let mut codings: Vec<RawCoding> = Vec::new();
    let mut code_path: Vec<String> = Vec::new();
    let mut source: Option<String> = None;
    let mut variable_ref: Option<String> = None;
    let mut pending_user: Option<String> = None;
    let mut in_text_value = false;

    let mut reader = quick_xml::Reader::from_str(&xml);
    reader.config_mut().trim_text(true);
    loop {
        let line = xml[..(reader.buffer_position() as usize).min(xml.len())].matches('\n').count()
            as u64
            + 1;
        let event = reader.read_event().map_err(|e| IngestError::Read {
            source_name: entry.clone(),
            line,
            message: format!("is not valid XML: {e}"),
        })?;
        let empty = matches!(event, Event::Empty(_));
        match event {
            Event::Start(e) | Event::Empty(e) => {
                let a = attributes(&e);
                let get = |k: &str| a.get(k).cloned();
                match e.local_name().as_ref() {
                    "User" => {
                        if let (Some(g), Some(n)) = (get("guid"), get("name")) {
                            users.insert(guid(&g), n);
                        }
                    }
                    "Code" => {
                        let name = get("name").unwrap_or_default();
                        if let Some(g) = get("guid") {
                            codes.insert(guid(&g), (name.clone(), code_path.clone()));
                        }
                        if !empty {
                            code_path.push(name);
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
                            .map(|p| p.rsplit('/').next().unwrap_or(&p).to_ascii_lowercase());
                        sources.insert(
                            g.clone(),
                            Source {
                                name: get("name").unwrap_or_else(|| g.clone()),
                                text_file,
                                variables: vec![],
                            },
                        );
                        source = Some(g);
                    }
                    "PlainTextSelection" => {
                        let position =
                            |k: &str| get(k).and_then(|v| v.trim().parse::<usize>().ok());
                        if let (Some(s), Some(start), Some(end)) =
                            (&source, position("startPosition"), position("endPosition"))
                        {
                            selections.push(Selection {
                                source: s.clone(),
                                name: get("name"),
                                start,
                                end,
                                user: get("creatingUser").map(|u| guid(&u)),
                            });
                        }
                    }
                    "Coding" => pending_user = get("creatingUser").map(|u| guid(&u)),
                    "CodeRef" => {
                        // Codes referenced by Cases or Sets are not codings of text.
                        if let (Some(target), false) = (get("targetGUID"), selections.is_empty()) {
                            codings.push(RawCoding {
                                selection: selections.len() - 1,
                                user: pending_user.clone(),
                                code: guid(&target),
                                line,
                            });
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
            Event::End(e) => match e.local_name().as_ref() {
                "Code" => {
                    code_path.pop();
                }
                "TextSource" => source = None,
                "PlainTextSelection" | "Coding" => pending_user = None,
                "TextValue" => in_text_value = false,
                _ => {}
            },
            Event::Eof => break,
            _ => {}
        }
    }

    let variable = |s: &Source, names: &[String]| {
        s.variables.iter().find_map(|(g, v)| {
            let n = variables.get(g)?;
            names.iter().any(|w| w.eq_ignore_ascii_case(n)).then(|| v.clone())
        })
    };
    let mut rows = Vec::new();
    let mut rejects = Vec::new();
    for c in &codings {
        let sel = &selections[c.selection];
        let reject = |reason: String| Reject {
            source: entry.clone(),
            line: c.line as i64,
            column: None,
            reason,
            raw: String::new(),
        };
        let Some((code, path)) = codes.get(&c.code) else {
            rejects.push(reject("the coding refers to a code that is not in the codebook".into()));
            continue;
        };
        let src = &sources[&sel.source];
        let text = src.text_file.as_ref().and_then(|f| texts.get(f)).map(|t| {
            let chars = t.chars().count();
            (sel.start <= sel.end && sel.end <= chars)
                .then(|| t.chars().skip(sel.start).take(sel.end - sel.start).collect::<String>())
        });
        let text = match text {
            Some(None) => {
                rejects.push(reject(format!(
                    "selection {}–{} lies outside its transcript",
                    sel.start, sel.end
                )));
                continue;
            }
            Some(Some(t)) => Some(t),
            None => None,
        };
        let closed = |column: &str, value: Option<String>, list| match value {
            None => Ok(None),
            Some(v) => crate::vocabulary::closed(list, &v)
                .map(Some)
                .map_err(|reason| Reject { column: Some(column.to_owned()), ..reject(reason) }),
        };
        let vocabularies = &options.vocabularies;
        let municipality = closed(
            "municipality",
            variable(src, &options.municipality_variables),
            vocabularies.municipalities.as_ref(),
        );
        let role =
            closed("role", variable(src, &options.role_variables), vocabularies.roles.as_ref());
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
        rows.push(Coding {
            focus_group: src.name.clone(),
            municipality,
            role,
            coder: coded_by,
            segment: sel.name.clone().unwrap_or_else(|| format!("{}-{}", sel.start, sel.end)),
            code: code.clone(),
            theme: (!path.is_empty()).then(|| path.join("/")),
            text,
        });
    }
    let summary = SourceSummary {
        source: name.to_owned(),
        rows_read: codings.len() as u64,
        rows_accepted: rows.len() as u64,
        rows_rejected: rejects.len() as u64,
    };
    Ok(Ingested { rows, rejects, summary, warnings: vec![] })
}

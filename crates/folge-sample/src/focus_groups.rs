//! Focus-group material: transcripts of six groups (leaders and service providers in the
//! three pilot municipalities), segmented and coded by two coders over the same segments
//! so that agreement can be computed. Written twice: as the shared Excel coding sheet
//! researchers keep (one row per coder × segment) and as a REFI-QDA project (`.qdpx`: a
//! zip of `project.qde` with users, codebook, sources, selections and codings, and the
//! transcripts under `Sources/`). Quotes sometimes name a colleague.
//!
//! A second team's codings ([`second_team`]): four groups in the comparison
//! municipalities (Askøy, Øygarden), coded by two other coders, exported from NVivo as a
//! coding report (CSV: `File`, `Code` as `Theme\Code`, `Reference`, `Coded Text`, `User`,
//! and the files' classification `Kommune`, `Rolle`). Its groups are called `FG1`–`FG4`
//! as the first team's are: the pipeline tells them apart by source. Its quotes sometimes
//! name a colleague or a patient of the comparison arm. Drawn from a stream of its own,
//! so the other files do not change with it.

use std::fmt::Write as _;
use std::io::Write as _;

use rand::{Rng, SeedableRng};
use rust_xlsxwriter::{DocProperties, ExcelDateTime, Format, Workbook};

use crate::people::Person;
use crate::questionnaires::STAFF_NAMES;
use crate::random::{chance, int, pick};
use crate::text::{Dialect, csv};
use crate::{SampleError, SampleFile};

/// Themes and their codes (a two-level codebook as in systematic text condensation).
const CODEBOOK: &[(&str, &[&str])] = &[
    ("Samhandling", &["Felles plan", "Kommunikasjon mellom nivåene", "Koordinator"]),
    ("Pasientens stemme", &["Min gode dag", "Brukermedvirkning"]),
    ("Ressurser", &["Tid", "Kompetanse"]),
    ("Implementering", &["Forankring i ledelsen", "Digitale verktøy"]),
];

const GROUPS: &[(&str, &str, &str)] = &[
    ("FG1", "4601", "leder"),
    ("FG2", "4601", "tjenesteyter"),
    ("FG3", "4631", "leder"),
    ("FG4", "4631", "tjenesteyter"),
    ("FG5", "4624", "leder"),
    ("FG6", "4624", "tjenesteyter"),
];

const CODERS: [&str; 2] = ["Coder IH", "Coder ML"];

/// The second team's groups: the comparison municipalities, numbered as the first team
/// numbers its own.
const SECOND_TEAM_GROUPS: &[(&str, &str, &str)] = &[
    ("FG1", "4627", "leder"),
    ("FG2", "4627", "tjenesteyter"),
    ("FG3", "4626", "leder"),
    ("FG4", "4626", "tjenesteyter"),
];

const SECOND_TEAM_CODERS: [&str; 2] = ["Coder KB", "Coder SR"];

/// The `ChaCha8` stream the second team's codings are drawn from (the other files use
/// stream 0 of the same seed).
const SECOND_TEAM_STREAM: u64 = 1;

struct Segment {
    group: usize,
    id: String,
    text: String,
    /// Code index (theme, code) per coder.
    codes: [(usize, usize); 2],
    /// Character offsets (code points) into the group's transcript, end exclusive.
    start: usize,
    end: usize,
}

fn quote(rng: &mut impl Rng, theme: usize, code: usize, staff: &str) -> String {
    let first = staff.split(' ').next().unwrap_or(staff);
    let body = match (theme, code) {
        (0, 0) => {
            "Når vi endelig satt ned og lagde en felles plan, visste alle hva de skulle gjøre."
        }
        (0, 1) => "Epikrisen kommer ofte for sent, så hjemmesykepleien vet ikke hva som er endret.",
        (0, 2) => "Det har gjort en forskjell at familien har én person å ringe.",
        (1, 0) => {
            "Samtalen om hva som er en god dag for pasienten endret hvordan vi planla tiltakene."
        }
        (1, 1) => "Foreldrene sier at de for første gang blir spurt før vedtaket fattes.",
        (2, 0) => "Møtene tar tid, og den tiden er ikke lagt inn i turnusen.",
        (2, 1) => "Vi trenger mer opplæring i hvordan man leder et samarbeidsmøte.",
        (3, 0) => "Uten at lederne prioriterte det, hadde dette stoppet etter et halvt år.",
        _ => "Vi mangler et felles verktøy, så planen ligger i tre ulike systemer.",
    };
    if chance(rng, 0.3) {
        format!("Som {first} sa på møtet: {}", body.to_lowercase())
    } else if chance(rng, 0.1) {
        format!("{body} Det var {staff} som fikk det til å fungere.")
    } else {
        body.to_owned()
    }
}

/// Segments of `groups`' transcripts, each coded by two coders; the second agrees with
/// the first with probability `agree`.
fn segments(
    rng: &mut impl Rng,
    groups: &[(&str, &str, &str)],
    agree: f64,
) -> (Vec<Segment>, Vec<String>) {
    let mut segments = Vec::new();
    let mut transcripts = Vec::new();
    for (g, (fg, _, _)) in groups.iter().enumerate() {
        let mut transcript = String::new();
        let mut chars = 0usize;
        for s in 0..int(rng, 10, 16) {
            let theme = int(rng, 0, CODEBOOK.len() as i64 - 1) as usize;
            let code = int(rng, 0, CODEBOOK[theme].1.len() as i64 - 1) as usize;
            let staff = *pick(rng, STAFF_NAMES);
            let text = quote(rng, theme, code, staff);
            // Coder B agrees with coder A with probability `agree`; otherwise mostly
            // another code of the same theme.
            let other = if chance(rng, agree) {
                (theme, code)
            } else if chance(rng, 0.7) {
                (theme, (code + 1) % CODEBOOK[theme].1.len())
            } else {
                let t = (theme + 1) % CODEBOOK.len();
                (t, 0)
            };
            let question = "Intervjuer: Kan du fortelle mer om det?\n";
            let prefix = format!("{question}Deltaker {}: ", s % 5 + 1);
            transcript.push_str(&prefix);
            chars += prefix.chars().count();
            let start = chars;
            transcript.push_str(&text);
            chars += text.chars().count();
            segments.push(Segment {
                group: g,
                id: format!("{fg}-{:02}", s + 1),
                text,
                codes: [(theme, code), other],
                start,
                end: chars,
            });
            transcript.push('\n');
            chars += 1;
        }
        transcripts.push(transcript);
    }
    (segments, transcripts)
}

/// Both coding files.
pub fn generate(rng: &mut impl Rng, _persons: &[Person]) -> Result<Vec<SampleFile>, SampleError> {
    let mut rng = crate::fork_from(rng);
    // Coder B agrees with coder A about three times in four.
    let (segments, transcripts) = segments(&mut rng, GROUPS, 0.76);
    Ok(vec![
        SampleFile {
            name: "focus_group_codings.xlsx",
            bytes: xlsx(&segments)?,
            description: "coding sheet kept in Excel: one row per coder × segment, two coders over the same segments",
        },
        SampleFile {
            name: "focus_groups.qdpx",
            bytes: qdpx(&mut rng, &segments, &transcripts)?,
            description: "the same codings as a REFI-QDA project (project.qde + Sources/*.txt), coders as users",
        },
    ])
}

/// The second team's NVivo coding report, drawn from its own stream of `seed`.
pub fn second_team(seed: u64, persons: &[Person]) -> SampleFile {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(SECOND_TEAM_STREAM);
    // Coders who agree less often than the first team's.
    let (mut segments, _) = segments(&mut rng, SECOND_TEAM_GROUPS, 0.65);
    // Now and then a service provider names the patient they talk about.
    for seg in &mut segments {
        let (_, municipality, role) = SECOND_TEAM_GROUPS[seg.group];
        let patients: Vec<&Person> =
            persons.iter().filter(|p| p.municipality == municipality).collect();
        if role == "tjenesteyter" && !patients.is_empty() && chance(&mut rng, 0.15) {
            let patient = pick(&mut rng, &patients);
            seg.text =
                format!("Hos {} var det slik: {}", patient.full_name(), lowercase_first(&seg.text));
        }
    }
    let mut rows = vec![
        ["File", "Kommune", "Rolle", "Code", "Reference", "Coded Text", "User"]
            .map(str::to_owned)
            .to_vec(),
    ];
    for seg in &segments {
        let (fg, municipality, role) = SECOND_TEAM_GROUPS[seg.group];
        // NVivo numbers a file's references from 1.
        let reference = seg.id.rsplit('-').next().unwrap_or(&seg.id).trim_start_matches('0');
        for (coder, (theme, code)) in SECOND_TEAM_CODERS.iter().zip(seg.codes) {
            rows.push(vec![
                fg.to_owned(),
                municipality.to_owned(),
                role.to_owned(),
                format!("{}\\{}", CODEBOOK[theme].0, CODEBOOK[theme].1[code]),
                format!("Reference {reference}"),
                seg.text.clone(),
                (*coder).to_owned(),
            ]);
        }
    }
    SampleFile {
        name: "focus_groups_comparison_nvivo.csv",
        bytes: csv(Dialect { delimiter: ';', quote_all: false, bom: true, crlf: true }, &rows),
        description: "a second team's codings of four focus groups in the comparison municipalities, as NVivo's coding report (`;`, BOM, CRLF)",
    }
}

/// `text` with its first letter in lower case (it continues a sentence).
fn lowercase_first(text: &str) -> String {
    let mut chars = text.chars();
    chars.next().map_or_else(String::new, |c| c.to_lowercase().chain(chars).collect())
}

fn xlsx(segments: &[Segment]) -> Result<Vec<u8>, SampleError> {
    let err = |e: rust_xlsxwriter::XlsxError| SampleError::Xlsx(e.to_string());
    let mut workbook = Workbook::new();
    // A fixed creation time keeps the file byte-identical run to run.
    let created = ExcelDateTime::from_ymd(2021, 6, 1).map_err(err)?;
    workbook.set_properties(&DocProperties::new().set_creation_datetime(&created));
    let sheet = workbook.add_worksheet();
    sheet.set_name("Koding").map_err(err)?;
    let bold = Format::new().set_bold();
    let header =
        ["focus_group", "municipality", "role", "coder", "segment", "code", "theme", "text"];
    for (col, name) in header.iter().enumerate() {
        sheet.write_string_with_format(0, col as u16, *name, &bold).map_err(err)?;
    }
    let mut row = 1u32;
    for (coder_index, coder) in CODERS.iter().enumerate() {
        for seg in segments {
            let (fg, municipality, role) = GROUPS[seg.group];
            let (theme, code) = seg.codes[coder_index];
            let values = [
                fg,
                municipality,
                role,
                coder,
                &seg.id,
                CODEBOOK[theme].1[code],
                CODEBOOK[theme].0,
                &seg.text,
            ];
            for (col, value) in values.iter().enumerate() {
                sheet.write_string(row, col as u16, *value).map_err(err)?;
            }
            row += 1;
        }
    }
    sheet.set_column_width(7, 80).map_err(err)?;
    workbook.save_to_buffer().map_err(err)
}

fn guid(rng: &mut impl Rng) -> String {
    let a = rng.next_u64();
    let b = rng.next_u64();
    format!(
        "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
        a >> 32,
        (a >> 16) & 0xffff,
        a & 0x0fff,
        0x8000 | ((b >> 48) & 0x3fff),
        b & 0xffff_ffff_ffff
    )
}

fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

fn qdpx(
    rng: &mut impl Rng,
    segments: &[Segment],
    transcripts: &[String],
) -> Result<Vec<u8>, SampleError> {
    let user_guids: Vec<String> = CODERS.iter().map(|_| guid(rng)).collect();
    let code_guids: Vec<Vec<String>> =
        CODEBOOK.iter().map(|(_, codes)| codes.iter().map(|_| guid(rng)).collect()).collect();
    let theme_guids: Vec<String> = CODEBOOK.iter().map(|_| guid(rng)).collect();
    let var_guids = [guid(rng), guid(rng)];
    let mut x = String::new();
    // Writing to a String cannot fail; `let _ =` keeps clippy quiet about the Result.
    let _ = writeln!(x, r#"<?xml version="1.0" encoding="utf-8"?>"#);
    let _ = writeln!(
        x,
        r#"<Project xmlns="urn:QDA-XML:project:1.0" name="LKT fokusgrupper" origin="folge-sample" creationDateTime="2021-06-01T10:00:00Z">"#
    );
    x.push_str("  <Users>\n");
    for (name, g) in CODERS.iter().zip(&user_guids) {
        let _ = writeln!(x, r#"    <User guid="{g}" name="{name}"/>"#);
    }
    x.push_str("  </Users>\n  <CodeBook>\n    <Codes>\n");
    for (t, (theme, codes)) in CODEBOOK.iter().enumerate() {
        let _ = writeln!(
            x,
            r#"      <Code guid="{}" name="{}" isCodable="false">"#,
            theme_guids[t],
            xml_escape(theme)
        );
        for (c, code) in codes.iter().enumerate() {
            let _ = writeln!(
                x,
                r#"        <Code guid="{}" name="{}" isCodable="true"/>"#,
                code_guids[t][c],
                xml_escape(code)
            );
        }
        x.push_str("      </Code>\n");
    }
    x.push_str("    </Codes>\n  </CodeBook>\n  <Variables>\n");
    let _ = writeln!(
        x,
        r#"    <Variable guid="{}" name="kommune" typeOfVariable="Text"/>"#,
        var_guids[0]
    );
    let _ = writeln!(
        x,
        r#"    <Variable guid="{}" name="rolle" typeOfVariable="Text"/>"#,
        var_guids[1]
    );
    x.push_str("  </Variables>\n  <Sources>\n");
    let mut source_files = Vec::new();
    for (g, (fg, municipality, role)) in GROUPS.iter().enumerate() {
        let source_guid = guid(rng);
        let _ = writeln!(
            x,
            r#"    <TextSource guid="{source_guid}" name="{fg}" plainTextPath="internal://{source_guid}.txt">"#
        );
        for seg in segments.iter().filter(|s| s.group == g) {
            let _ = writeln!(
                x,
                r#"      <PlainTextSelection guid="{}" name="{}" startPosition="{}" endPosition="{}">"#,
                guid(rng),
                seg.id,
                seg.start,
                seg.end
            );
            for (coder, (theme, code)) in seg.codes.iter().enumerate() {
                let _ = writeln!(
                    x,
                    r#"        <Coding guid="{}" creatingUser="{}"><CodeRef targetGUID="{}"/></Coding>"#,
                    guid(rng),
                    user_guids[coder],
                    code_guids[*theme][*code]
                );
            }
            x.push_str("      </PlainTextSelection>\n");
        }
        for (var, value) in var_guids.iter().zip([municipality, role]) {
            let _ = writeln!(
                x,
                r#"      <VariableValue><VariableRef targetGUID="{var}"/><TextValue>{value}</TextValue></VariableValue>"#
            );
        }
        x.push_str("    </TextSource>\n");
        source_files.push((format!("Sources/{source_guid}.txt"), transcripts[g].clone()));
    }
    x.push_str("  </Sources>\n</Project>\n");

    let err = |e: zip::result::ZipError| SampleError::Zip(e.to_string());
    let io = |e: std::io::Error| SampleError::Zip(e.to_string());
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    // DOS epoch timestamps: no wall-clock time in the archive.
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .last_modified_time(zip::DateTime::default());
    zip.start_file("project.qde", options).map_err(err)?;
    zip.write_all(x.as_bytes()).map_err(io)?;
    for (name, text) in source_files {
        zip.start_file(name, options).map_err(err)?;
        zip.write_all(text.as_bytes()).map_err(io)?;
    }
    Ok(zip.finish().map_err(err)?.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn selections_slice_the_quote_by_code_points() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
        let (segments, transcripts) = segments(&mut rng, GROUPS, 0.76);
        for seg in &segments {
            let text: String =
                transcripts[seg.group].chars().skip(seg.start).take(seg.end - seg.start).collect();
            assert_eq!(text, seg.text);
        }
        let agree = segments.iter().filter(|s| s.codes[0] == s.codes[1]).count();
        assert!(agree > segments.len() / 2 && agree < segments.len(), "{agree}");
    }
}

#[cfg(test)]
mod second_team_tests {
    use super::*;

    #[test]
    fn the_second_team_codes_other_groups_with_nvivo_headers() {
        let persons = crate::people::generate(
            &mut rand_chacha::ChaCha8Rng::seed_from_u64(1),
            &crate::SampleConfig { persons: 60, ..crate::SampleConfig::default() },
        );
        let file = second_team(2020, &persons);
        let text = String::from_utf8(file.bytes.clone()).unwrap();
        let text = text.strip_prefix('\u{feff}').unwrap();
        let mut lines = text.split("\r\n").filter(|l| !l.is_empty());
        assert_eq!(lines.next(), Some("File;Kommune;Rolle;Code;Reference;Coded Text;User"));
        let rows: Vec<Vec<&str>> = lines.map(|l| l.split(';').collect()).collect();
        // Two coders per segment, both on the same reference of the same file.
        assert!(rows.len() >= 2 * 4 * 10, "{}", rows.len());
        for pair in rows.chunks(2) {
            assert_eq!((pair[0][0], pair[0][4]), (pair[1][0], pair[1][4]));
            assert_eq!((pair[0][6], pair[1][6]), ("Coder KB", "Coder SR"));
        }
        let municipalities: std::collections::BTreeSet<&str> = rows.iter().map(|r| r[1]).collect();
        assert_eq!(municipalities, ["4626", "4627"].into());
        assert!(rows.iter().all(|r| r[3].contains('\\')), "code paths `Theme\\Code`");
        let agree = rows.chunks(2).filter(|p| p[0][3] == p[1][3]).count();
        assert!(agree > rows.len() / 4 && agree < rows.len() / 2, "{agree}");
        // Its own stream: the same seed gives the same bytes, whatever else is drawn.
        assert_eq!(second_team(2020, &persons), file);
    }
}

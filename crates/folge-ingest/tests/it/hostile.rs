//! The hostile and broken files corpus (issue 15), made in code: each case states its
//! expected outcome — the error's words, or the counts and every reject reason — so a
//! file that used to pass silently, hang or exhaust memory is shown to be refused cleanly.
//! Rows read = accepted + rejected in every case that reads.

use std::fmt::Write as _;
use std::io::{Cursor, Write as _};

use folge_ingest::{IngestError, Ingested, QdpxOptions, read_qdpx};
use folge_schema::tables::Coding;

/// A zip of these entries (deflated unless the name ends in `.stored`, which is stored
/// under the name without that suffix).
fn zip(entries: &[(&str, &[u8])]) -> Vec<u8> {
    let mut buffer = Cursor::new(Vec::new());
    let mut zip = zip::ZipWriter::new(&mut buffer);
    for (name, bytes) in entries {
        let (name, method) = match name.strip_suffix(".stored") {
            Some(name) => (name, zip::CompressionMethod::Stored),
            None => (*name, zip::CompressionMethod::Deflated),
        };
        let options = zip::write::SimpleFileOptions::default()
            .compression_method(method)
            .large_file(bytes.len() > u32::MAX as usize / 2);
        zip.start_file(name, options).expect("zip");
        zip.write_all(bytes).expect("zip");
    }
    zip.finish().expect("zip");
    buffer.into_inner()
}

/// A project with one transcript source `FG1` (`internal://s1.txt`) holding `body`.
fn project(body: &str) -> String {
    format!(
        r#"<?xml version="1.0" encoding="utf-8"?>
<Project xmlns="urn:QDA-XML:project:1.0" name="t">
<Users><User guid="u1" name="Coder A"/></Users>
<CodeBook><Codes><Code guid="c1" name="Kode" isCodable="true"/></Codes></CodeBook>
<Sources>
<TextSource guid="s1" name="FG1" plainTextPath="internal://s1.txt">
{body}
</TextSource>
</Sources>
</Project>
"#
    )
}

/// A coded selection (line numbers in the expected reasons count from this layout).
fn selection(attributes: &str) -> String {
    format!(
        r#"<PlainTextSelection guid="p" {attributes}><Coding guid="k" creatingUser="u1"><CodeRef targetGUID="c1"/></Coding></PlainTextSelection>"#
    )
}

const TRANSCRIPT: &str = "Årlig møte med koordinator og fastlege.";

fn read(bytes: Vec<u8>, options: &QdpxOptions) -> Result<Ingested<Coding>, IngestError> {
    read_qdpx("h.qdpx", "codings", Cursor::new(bytes), options)
}

fn read_project(xml: &str) -> Result<Ingested<Coding>, IngestError> {
    read(
        zip(&[("project.qde", xml.as_bytes()), ("Sources/s1.txt", TRANSCRIPT.as_bytes())]),
        &QdpxOptions::default(),
    )
}

/// Counts and `line: reason` of every reject, checking conservation.
fn outcome(got: &Ingested<Coding>) -> (u64, u64, u64, Vec<String>) {
    let s = &got.summary;
    assert_eq!(s.rows_read, s.rows_accepted + s.rows_rejected, "rows in = out + rejected");
    assert_eq!(s.rows_accepted as usize, got.rows.len());
    assert_eq!(s.rows_rejected as usize, got.rejects.len());
    let reasons = got.rejects.iter().map(|r| format!("{}: {}", r.line, r.reason)).collect();
    (s.rows_read, s.rows_accepted, s.rows_rejected, reasons)
}

#[track_caller]
fn error(result: Result<Ingested<Coding>, IngestError>) -> String {
    match result {
        Ok(got) => panic!("read {} codings, expected an error", got.rows.len()),
        Err(e) => e.to_string(),
    }
}

#[test]
fn qdpx_bad_positions_are_counted_rejects_and_good_ones_keep_their_quote() {
    let body = [
        selection(r#"name="ok-1" startPosition="0" endPosition="5""#),
        selection(r#"name="float" startPosition="198.0" endPosition="200""#),
        selection(r#"name="negative" startPosition="-3" endPosition="4""#),
        selection(r#"name="open" startPosition="6""#),
        selection(r#"name="reversed" startPosition="20" endPosition="10""#),
        selection(r#"name="beyond" startPosition="30" endPosition="500""#),
        selection(r#"name="ok-2" startPosition="11" endPosition="14""#),
    ]
    .join("\n");
    let got = read_project(&project(&body)).expect("reads");
    assert_eq!(
        outcome(&got),
        (
            7,
            2,
            5,
            vec![
                "8: the selection's `startPosition` `198.0` is not a whole number (expected a character offset from 0)".into(),
                "9: the selection's `startPosition` is negative (`-3`; expected a character offset from 0)".into(),
                "10: the selection has no `endPosition`".into(),
                "11: the selection starts after it ends (`startPosition` 20 > `endPosition` 10)".into(),
                "12: the selection 30–500 lies outside its transcript of 39 characters".into(),
            ]
        )
    );
    // No coding moved to a neighbour's quote.
    let quotes: Vec<(&str, Option<&str>)> =
        got.rows.iter().map(|r| (r.segment.as_str(), r.text.as_deref())).collect();
    assert_eq!(quotes, [("ok-1", Some("Årlig")), ("ok-2", Some("med"))]);
}

#[test]
fn qdpx_codings_that_are_not_of_a_text_selection_are_counted_rejects() {
    let body = r#"<Coding guid="whole" creatingUser="u1"><CodeRef targetGUID="c1"/></Coding>
<PlainTextSelection guid="p" startPosition="0" endPosition="5"><Coding guid="none" creatingUser="u1"></Coding></PlainTextSelection>
<PlainTextSelection guid="q" startPosition="0" endPosition="5"><Coding guid="unknown"><CodeRef targetGUID="nope"/></Coding></PlainTextSelection>"#;
    let xml = project(body).replace(
        "</Sources>",
        r#"<PDFSource guid="pdf" name="Vedlegg"><PDFSelection guid="x" page="1" firstX="0" firstY="0" secondX="1" secondY="1"><Coding guid="k"><CodeRef targetGUID="c1"/></Coding></PDFSelection></PDFSource>
</Sources>"#,
    );
    let got = read_project(&xml).expect("reads");
    assert_eq!(
        outcome(&got),
        (
            4,
            0,
            4,
            vec![
                "7: the coding is not of a text selection (it is inside `TextSource`; folge reads codings of `PlainTextSelection`s)".into(),
                "8: the coding has no `CodeRef` (expected one code)".into(),
                "9: the coding refers to a code that is not in the codebook".into(),
                "11: the coding is not of a text selection (it is inside `PDFSelection`; folge reads codings of `PlainTextSelection`s)".into(),
            ]
        )
    );
}

#[test]
fn qdpx_an_empty_project_or_another_root_is_an_error() {
    let codebook = r#"<?xml version="1.0"?><CodeBook xmlns="urn:QDA-XML:codebook:1.0"><Codes><Code guid="c1" name="Kode" isCodable="true"/></Codes></CodeBook>"#;
    assert_eq!(
        error(read_project(codebook)),
        "h.qdpx:project.qde line 1: the root element is `CodeBook`, not `Project`, so this is not a REFI-QDA project (a codebook export, `.qdc`, has `CodeBook`)"
    );
    let empty = project("");
    assert_eq!(
        error(read_project(&empty)),
        "h.qdpx: the project holds no codings (set `allow_empty = true` on this input if that is expected)"
    );
    let allowed = QdpxOptions { allow_empty: true, ..QdpxOptions::default() };
    let got = read(zip(&[("project.qde", empty.as_bytes())]), &allowed).expect("allowed");
    assert_eq!(outcome(&got), (0, 0, 0, vec![]));
    assert_eq!(
        error(read_project("")),
        "h.qdpx:project.qde: holds no elements (expected a `Project`)"
    );
    assert_eq!(
        error(read(b"PK not a zip".to_vec(), &QdpxOptions::default())),
        "h.qdpx: is not a REFI-QDA archive (zip): invalid Zip archive: Could not find EOCD"
    );
}

#[test]
fn qdpx_a_second_project_file_is_an_error_not_a_replacement() {
    let one = project(&selection(r#"startPosition="0" endPosition="5""#));
    let other = project("");
    let bytes = zip(&[
        ("project.qde", one.as_bytes()),
        ("backup/Kari Nordmann.qde", other.as_bytes()),
        ("Sources/s1.txt", TRANSCRIPT.as_bytes()),
    ]);
    let message = error(read(bytes, &QdpxOptions::default()));
    assert_eq!(
        message,
        "h.qdpx: the archive holds 2 project files (`.qde`); a REFI-QDA project has exactly one"
    );
    assert!(!message.contains("Kari"), "entry names are not shown");
    let twice = zip(&[("Sources/s1.txt", b"a"), ("project.qde", one.as_bytes()), ("s1.txt", b"b")]);
    assert_eq!(
        error(read(twice, &QdpxOptions::default())),
        "h.qdpx: the transcript of source `FG1` is in the archive 2 times (in different folders), so which one is meant is not clear"
    );
}

#[test]
fn qdpx_nesting_is_bounded() {
    // 30,000 nested codes took 14 GB before the bound.
    let depth = 30_000;
    let mut codes = String::new();
    for i in 0..depth {
        let _ = write!(codes, r#"<Code guid="c{i}" name="k{i}" isCodable="true">"#);
    }
    codes.push_str(&"</Code>".repeat(depth));
    let xml = project("").replace(r#"<Code guid="c1" name="Kode" isCodable="true"/>"#, &codes);
    assert_eq!(
        error(read_project(&xml)),
        "h.qdpx:project.qde line 4: elements nest more than 256 deep; folge does not read deeper projects"
    );
    // A realistic codebook, a few levels deep, reads with its themes.
    let nested = project(&selection(r#"startPosition="0" endPosition="5""#)).replace(
        r#"<Code guid="c1" name="Kode" isCodable="true"/>"#,
        r#"<Code guid="t" name="Tema" isCodable="false"><Code guid="u" name="Under" isCodable="false"><Code guid="c1" name="Kode" isCodable="true"/></Code></Code>"#,
    );
    let got = read_project(&nested).expect("reads");
    assert_eq!(got.rows[0].theme.as_deref(), Some("Tema/Under"));
}

#[test]
fn qdpx_entries_nobody_refers_to_are_not_inflated() {
    // Stored entries whose bytes no longer match their checksum: reading either would fail.
    let xml = project(&selection(r#"startPosition="0" endPosition="5""#));
    let mut bytes = zip(&[
        ("project.qde", xml.as_bytes()),
        ("Sources/s1.txt", TRANSCRIPT.as_bytes()),
        ("Sources/unused.txt.stored", b"UNREFERENCED TRANSCRIPT"),
        ("Media/video.mp4.stored", b"UNREFERENCED VIDEO BYTES"),
    ]);
    for planted in [&b"UNREFERENCED TRANSCRIPT"[..], b"UNREFERENCED VIDEO BYTES"] {
        let at = bytes.windows(planted.len()).position(|w| w == planted).expect("stored");
        bytes[at] = b'X';
    }
    let got = read(bytes, &QdpxOptions::default()).expect("the unreferenced entries are not read");
    assert_eq!(outcome(&got), (1, 1, 0, vec![]));
}

#[test]
fn qdpx_a_zip_bomb_stops_at_the_ratio_limit() {
    let xml = project(&selection(r#"startPosition="0" endPosition="5""#));
    // 4 MiB of one letter deflates about 1,000 times.
    let bomb = vec![b'a'; 4 << 20];
    let bytes = zip(&[("project.qde", xml.as_bytes()), ("Sources/s1.txt", &bomb)]);
    let message = error(read(bytes, &QdpxOptions::default()));
    assert!(
        message.starts_with("h.qdpx: a transcript would inflate to more than ")
            && message
                .ends_with("more than 200 times its size (a zip bomb?); folge does not read it"),
        "{message}"
    );
    let mut padded = xml.into_bytes();
    padded.extend(std::iter::repeat_n(b' ', 4 << 20));
    let message = error(read(zip(&[("project.qde", &padded)]), &QdpxOptions::default()));
    assert!(message.starts_with("h.qdpx: project.qde would inflate to more than "), "{message}");
}

/// A project of `n` selections over one transcript, each coded once (built as the
/// `qdpx` bench builds it).
fn large_project(n: usize) -> Vec<u8> {
    let quote = "Koordinatoren på Øyane har vært til hjelp";
    let (mut transcript, mut chars, mut body) = (String::new(), 0, String::new());
    for i in 0..n {
        let line = format!("{quote} {i:>8}.\n");
        let start = chars;
        chars += line.chars().count();
        transcript.push_str(&line);
        // Every 1,000th selection is broken: a decimal start.
        let start = if i % 1000 == 999 { format!("{start}.0") } else { start.to_string() };
        body.push_str(&selection(&format!(
            r#"name="s{i}" startPosition="{start}" endPosition="{}""#,
            chars - 11
        )));
        body.push('\n');
    }
    zip(&[("project.qde", project(&body).as_bytes()), ("Sources/s1.txt", transcript.as_bytes())])
}

#[test]
fn qdpx_a_project_of_20000_selections_reads_whole() {
    // Reading is linear: the bench (`cargo bench -p folge-ingest --bench qdpx`) times it;
    // this only checks that nothing is lost on the way.
    let got = read(large_project(20_000), &QdpxOptions::default()).expect("reads");
    let (read, accepted, rejected, reasons) = outcome(&got);
    assert_eq!((read, accepted, rejected), (20_000, 19_980, 20));
    assert!(reasons.iter().all(|r| r.contains("is not a whole number")), "{reasons:?}");
    assert_eq!(got.rows[12_345].segment, "s12357");
    assert_eq!(got.rows[12_345].text.as_deref(), Some("Koordinatoren på Øyane har vært til hjelp"));
}

fn participants(text: &str) -> Result<Ingested<folge_schema::tables::Participant>, IngestError> {
    let policy = folge_ingest::IdPolicy { national: true, allow_synthetic: true };
    folge_ingest::read_participants(
        "inputs.participants",
        text.as_bytes(),
        &folge_ingest::CsvOptions::default(),
        policy,
    )
}

#[track_caller]
fn participants_error(text: &str) -> String {
    match participants(text) {
        Ok(got) => panic!("read {} participants, expected an error", got.rows.len()),
        Err(e) => e.to_string(),
    }
}

#[test]
fn participants_without_a_header_line_are_not_echoed() {
    // The first line is a person: its id and name must not be listed as "found" columns.
    let message = participants_error(
        "01835010089,Kari Nordmann,4601,pilot,01.03.2020\n02846020260,Ola Hansen,4601,comparison,01.03.2020\n",
    );
    assert_eq!(
        message,
        "inputs.participants: the first line looks like data, not a header (it holds a date, a number or an id where column names should be); expected a header line naming the columns `person_id`, `municipality`, `arm`, `inclusion_date`"
    );
    assert!(!message.contains("01835010089") && !message.contains("Kari"));
}

#[test]
fn participants_with_a_header_only_are_an_error_unless_allowed() {
    let header = "person_id,municipality,arm,inclusion_date\n";
    assert_eq!(
        participants_error(header),
        "inputs.participants: the file has a header line but no data rows (set `allow_empty = true` on this input if an empty delivery is expected)"
    );
    let options = folge_ingest::CsvOptions { allow_empty: true, ..Default::default() };
    let policy = folge_ingest::IdPolicy { national: true, allow_synthetic: true };
    let got =
        folge_ingest::read_participants("p", header.as_bytes(), &options, policy).expect("allowed");
    assert_eq!((got.summary.rows_read, got.rows.len()), (0, 0));
}

#[test]
fn header_cells_in_messages_are_escaped_cut_and_not_listed_when_they_hold_ids() {
    // A control byte and 900 kB of header: listed escaped, cut, and at most 20 columns.
    let mut header =
        vec!["person_id".to_owned(), "kommune\u{1b}[31m".to_owned(), "y".repeat(900_000)];
    header.extend((0..30).map(|i| format!("c{i}")));
    let message = participants_error(&format!("{}\n", header.join(",")));
    assert_eq!(
        message,
        format!(
            "inputs.participants: required column `municipality` is missing; found `person_id`, `kommune\\x1b[31m`, `{}…`, {}, and 13 more",
            "y".repeat(60),
            (0..17).map(|i| format!("`c{i}`")).collect::<Vec<_>>().join(", ")
        )
    );
    // A header cell holding an id (a sheet with a person's id as a column name) is a sign
    // of data: nothing of the line is listed.
    let message = participants_error("person_id,kommune,id 01835010089\n");
    assert!(message.contains("the first line looks like data"), "{message}");
    assert!(!message.contains("01835010089"));
}

#[test]
fn redcap_dates_are_dates_not_text_and_contact_fields_are_identifiers() {
    let dictionary = "Variable / Field Name,Form Name,Section Header,Field Type,Field Label,\"Choices, Calculations, OR Slider Labels\",Field Note,Text Validation Type OR Show Slider Number,Text Validation Min,Text Validation Max,Identifier?,Branching Logic (Show field only if...),Required Field?,Custom Alignment,Question Number (surveys only),Matrix Group Name,Matrix Ranking?,Field Annotation\n\
        record_id,besok,,text,ID,,,,,,,,,,,,,\n\
        fnr,besok,,text,Fødselsnummer,,,,,,y,,,,,,,\n\
        besok_dato,besok,,text,Besøksdato,,,date_dmy,,,,,,,,,,\n\
        neste,besok,,text,Neste time,,,datetime_mdy,,,,,,,,,,\n\
        tlf,besok,,text,Telefon,,,phone,,,,,,,,,,\n";
    let codebook =
        folge_ingest::codebook_from_dictionary("dd", dictionary.as_bytes(), "fnr").expect("dd");
    let export = "record_id,redcap_event_name,fnr,besok_dato,neste,tlf,besok_complete\n\
        1,t0_arm_1,01835010089,2020-03-15,03-31-2020 14:00,912 34 567,2\n\
        2,t0_arm_1,02846020260,15.03.2020,,,2\n\
        3,t1_arm_1,01835010089,31.02.2020,,,2\n";
    let persons: folge_ingest::PersonIndex =
        ["01835010089", "02846020260"].map(str::to_owned).into_iter().collect();
    let got = folge_ingest::read_questionnaire(
        "inputs.questionnaires.besok",
        export.as_bytes(),
        &folge_ingest::CsvOptions {
            columns: [("person_id".to_owned(), "fnr".to_owned())].into_iter().collect(),
            ..Default::default()
        },
        folge_ingest::IdPolicy { national: true, allow_synthetic: true },
        &persons,
        &codebook,
        &folge_ingest::QuestionnaireOptions {
            timepoint_column: Some("redcap_event_name".into()),
            ..Default::default()
        },
    )
    .expect("reads");
    let s = &got.summary;
    assert_eq!((s.rows_read, s.rows_accepted, s.rows_rejected), (3, 2, 1));
    assert_eq!(
        got.rejects[0].reason,
        "`31.02.2020` is not a date (expected yyyy-mm-dd, or day, month and year as dd.mm.yy)"
    );
    let answer = |item: &str, line: usize| {
        got.rows.iter().filter(|r| r.item == item).nth(line).expect("row").clone()
    };
    let first = answer("besok_dato", 0);
    assert_eq!(
        (first.value_date.map(|d| d.to_string()), first.text, first.value),
        (Some("2020-03-15".into()), None, None),
        "a date, never text: a calendar date would give the inclusion date away"
    );
    assert_eq!(
        answer("besok_dato", 1).value_date.map(|d| d.to_string()).as_deref(),
        Some("2020-03-15")
    );
    assert_eq!(answer("neste", 0).value_date.map(|d| d.to_string()).as_deref(), Some("2020-03-31"));
    let phone = answer("tlf", 0);
    assert!(phone.identifier, "a phone-validated field is an identifier");
    assert!(got.rows.iter().all(|r| r.text.as_deref().is_none_or(|t| !t.contains("2020"))));
}

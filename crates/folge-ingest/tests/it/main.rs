//! folge-ingest's integration tests: the malformed-input corpus. Each `tests/malformed/X.csv`
//! has `X.expected` holding either the exact file-level error or, for files that read, the
//! conservation line and every reject as `line L, column C: reason`. Service events are
//! read against a participant list of the first id in `ids.txt`. The hostile files of
//! issue 15 are here too (a header only, no header, extra values, an unclosed quote on the
//! last line, control bytes, long values, ids in the wrong column); those that are easier
//! made in code (REFI-QDA archives, participant lists, questionnaires) are in `hostile.rs`.

use std::fmt::Write as _;
use std::path::Path;

use folge_ingest::{CsvOptions, IdPolicy, PersonIndex, read_service_events};

pub(crate) fn corpus() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/malformed")
}

fn outcome(name: &str, persons: &PersonIndex) -> String {
    let bytes = std::fs::read(corpus().join(name)).expect("fixture");
    let policy = IdPolicy { national: true, allow_synthetic: true };
    match read_service_events(name, &bytes[..], &CsvOptions::default(), policy, persons) {
        Err(e) => format!("{e}\n"),
        Ok(got) => {
            let s = &got.summary;
            let mut out = format!(
                "rows read {}, accepted {}, rejected {}\n",
                s.rows_read, s.rows_accepted, s.rows_rejected
            );
            for r in &got.rejects {
                let _ = match &r.column {
                    Some(c) => writeln!(out, "line {}, column {c}: {}", r.line, r.reason),
                    None => writeln!(out, "line {}: {}", r.line, r.reason),
                };
            }
            out
        }
    }
}

#[test]
fn every_malformed_file_gives_its_exact_message() {
    let ids = std::fs::read_to_string(corpus().join("ids.txt")).expect("ids");
    let persons: PersonIndex = ids.lines().take(1).map(str::to_owned).collect();
    let mut checked = 0;
    let mut entries: Vec<_> =
        std::fs::read_dir(corpus()).expect("corpus").flatten().map(|e| e.path()).collect();
    entries.sort();
    for path in entries.iter().filter(|p| p.extension().is_some_and(|e| e == "csv")) {
        let name = path.file_name().and_then(|n| n.to_str()).expect("name");
        let expected =
            std::fs::read_to_string(path.with_extension("expected")).expect("expected file");
        assert_eq!(outcome(name, &persons), expected, "{name}");
        checked += 1;
    }
    assert!(checked >= 4, "only {checked} fixtures");
}

#[test]
fn no_reject_reason_or_error_carries_an_id() {
    let ids = std::fs::read_to_string(corpus().join("ids.txt")).expect("ids");
    let persons: PersonIndex = ids.lines().take(1).map(str::to_owned).collect();
    let mut fixtures: Vec<_> = std::fs::read_dir(corpus())
        .expect("corpus")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "csv"))
        .collect();
    fixtures.sort();
    assert!(fixtures.len() >= 6);
    for path in fixtures {
        let name = path.file_name().and_then(|n| n.to_str()).expect("name");
        let text = outcome(name, &persons);
        for id in ids.lines() {
            assert!(!text.contains(id), "{name}: {text}");
        }
        // Raw control bytes (ESC, NUL) never reach a message or a stored reason.
        assert!(!text.chars().any(|c| c.is_control() && c != '\n'), "{name}: {text:?}");
    }
}

#[test]
fn the_sample_refi_qda_project_reads_into_codings() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data-sample/focus_groups.qdpx");
    let file = std::fs::File::open(path).expect("sample qdpx");
    let got = folge_ingest::read_qdpx(
        "focus_groups.qdpx",
        "codings",
        file,
        &folge_ingest::QdpxOptions::default(),
    )
    .expect("reads");
    assert_eq!(got.summary.rows_rejected, 0);
    assert_eq!(got.summary.rows_read, got.summary.rows_accepted);
    let rows = &got.rows;
    assert!(rows.len() >= 2 * 6 * 10, "two coders over at least 60 segments, got {}", rows.len());
    let coders: std::collections::BTreeSet<&str> = rows.iter().map(|r| r.coder.as_str()).collect();
    assert_eq!(coders.into_iter().collect::<Vec<_>>(), ["Coder IH", "Coder ML"]);
    for r in rows {
        assert!(
            ["4601", "4631", "4624"].contains(&r.municipality.as_deref().unwrap_or("")),
            "{r:?}"
        );
        assert!(["leder", "tjenesteyter"].contains(&r.role.as_deref().unwrap_or("")), "{r:?}");
        assert!(r.theme.is_some() && r.segment.starts_with(&r.focus_group));
        // The selection slices exactly the quote, by code points (æøå included).
        let text = r.text.as_deref().expect("text");
        assert!(!text.is_empty() && !text.contains('\n'), "{text:?}");
        assert!(!text.starts_with("Deltaker") && !text.starts_with("Intervjuer"));
    }
    // Each segment is coded once by each coder.
    let mut per_segment: std::collections::BTreeMap<&str, usize> =
        std::collections::BTreeMap::new();
    for r in rows {
        *per_segment.entry(r.segment.as_str()).or_default() += 1;
    }
    assert!(per_segment.values().all(|n| *n == 2));
}

#[test]
fn a_refi_qda_role_outside_the_list_rejects_its_codings() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data-sample/focus_groups.qdpx");
    let file = std::fs::File::open(path).expect("sample qdpx");
    let vocabularies = folge_ingest::Vocabularies {
        roles: Some(folge_ingest::Vocabulary::new("vocabularies.roles", ["Leder".to_owned()])),
        ..folge_ingest::Vocabularies::default()
    };
    let options = folge_ingest::QdpxOptions {
        vocabularies: std::sync::Arc::new(vocabularies),
        ..folge_ingest::QdpxOptions::default()
    };
    let got =
        folge_ingest::read_qdpx("focus_groups.qdpx", "codings", file, &options).expect("reads");
    let s = &got.summary;
    assert_eq!(s.rows_read, s.rows_accepted + s.rows_rejected);
    assert!(s.rows_accepted > 0 && s.rows_rejected > 0, "{s:?}");
    assert!(got.rows.iter().all(|r| r.role.as_deref() == Some("Leder")), "the listed spelling");
    for r in &got.rejects {
        assert_eq!(r.column.as_deref(), Some("role"));
        assert!(r.line > 0);
        assert_eq!(
            r.reason,
            "is not among the values `vocabularies.roles` lists (expected `Leder`); the value is not shown, as it may name a person"
        );
    }
}

#[test]
fn unresolvable_codings_are_rejected_with_their_line() {
    let project = r#"<?xml version="1.0" encoding="utf-8"?>
<Project xmlns="urn:QDA-XML:project:1.0" name="t">
  <Users><User guid="{AA}" name="Kari"/></Users>
  <CodeBook><Codes><Code guid="c1" name="Tema" isCodable="false"><Code guid="C2" name="Kode" isCodable="true"/></Code></Codes></CodeBook>
  <Sources>
    <TextSource guid="s1" name="FG1" plainTextPath="internal://s1.txt">
      <PlainTextSelection guid="p1" name="FG1-01" startPosition="0" endPosition="4">
        <Coding guid="k1" creatingUser="aa"><CodeRef targetGUID="{c2}"/></Coding>
      </PlainTextSelection>
      <PlainTextSelection guid="p2" startPosition="3" endPosition="99">
        <Coding guid="k2" creatingUser="aa"><CodeRef targetGUID="c2"/></Coding>
      </PlainTextSelection>
      <PlainTextSelection guid="p3" startPosition="0" endPosition="2">
        <Coding guid="k3" creatingUser="aa"><CodeRef targetGUID="nope"/></Coding>
      </PlainTextSelection>
    </TextSource>
  </Sources>
</Project>
"#;
    let mut buffer = std::io::Cursor::new(Vec::new());
    {
        let mut zip = zip::ZipWriter::new(&mut buffer);
        let options = zip::write::SimpleFileOptions::default();
        zip.start_file("project.qde", options).unwrap();
        std::io::Write::write_all(&mut zip, project.as_bytes()).unwrap();
        zip.start_file("sources/S1.txt", options).unwrap();
        std::io::Write::write_all(&mut zip, "Årlig møte".as_bytes()).unwrap();
        zip.finish().unwrap();
    }
    buffer.set_position(0);
    let got =
        folge_ingest::read_qdpx("t.qdpx", "team 2", buffer, &folge_ingest::QdpxOptions::default())
            .unwrap();
    assert_eq!(
        (got.summary.rows_read, got.summary.rows_accepted, got.summary.rows_rejected),
        (3, 1, 2)
    );
    let row = &got.rows[0];
    assert_eq!(row.source, "team 2", "the input's label, never the archive's name");
    assert_eq!(
        (row.coder.as_str(), row.code.as_str(), row.theme.as_deref(), row.text.as_deref()),
        ("Kari", "Kode", Some("Tema"), Some("Årli"))
    );
    let reasons: Vec<String> =
        got.rejects.iter().map(|r| format!("{} line {}: {}", r.source, r.line, r.reason)).collect();
    assert_eq!(
        reasons,
        [
            "t.qdpx:project.qde line 11: the selection 3–99 lies outside its transcript of 10 characters",
            "t.qdpx:project.qde line 14: the coding refers to a code that is not in the codebook",
        ]
    );
}

#[test]
fn the_sample_coding_sheet_reads_from_xlsx() {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data-sample/focus_group_codings.xlsx");
    let bytes = std::io::Cursor::new(std::fs::read(path).expect("sample xlsx"));
    let (csv, origin) =
        folge_ingest::sheet_to_csv("focus_group_codings.xlsx", bytes, Some("Koding"))
            .expect("sheet");
    assert_eq!((origin.sheet.as_str(), origin.row, origin.column), ("Koding", 0, 0));
    let options = CsvOptions { sheet: Some(origin), ..CsvOptions::default() };
    let got = folge_ingest::read_codings(
        "focus_group_codings.xlsx, sheet Koding",
        "codings",
        &csv[..],
        &options,
    )
    .expect("reads");
    assert_eq!(got.summary.rows_rejected, 0);
    assert!(got.rows.len() >= 120);
    // The same codings as the REFI-QDA project of the sample.
    let qdpx = std::fs::File::open(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data-sample/focus_groups.qdpx"),
    )
    .expect("qdpx");
    let from_qdpx = folge_ingest::read_qdpx(
        "focus_groups.qdpx",
        "codings",
        qdpx,
        &folge_ingest::QdpxOptions::default(),
    )
    .expect("qdpx");
    let key = |r: &folge_schema::tables::Coding| {
        (r.segment.clone(), r.coder.clone(), r.code.clone(), r.text.clone())
    };
    let mut a: Vec<_> = got.rows.iter().map(key).collect();
    let mut b: Vec<_> = from_qdpx.rows.iter().map(key).collect();
    a.sort();
    b.sort();
    assert_eq!(a, b);
}

#[test]
fn spreadsheet_rejects_name_sheet_row_and_cell_and_dates_come_from_serials() {
    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet();
    sheet.set_name("Hendelser").unwrap();
    let ids = std::fs::read_to_string(corpus().join("ids.txt")).expect("ids");
    let id = ids.lines().next().unwrap().to_owned();
    for (c, h) in ["person_id", "service", "start_date", "quantity"].iter().enumerate() {
        sheet.write_string(1, c as u16 + 1, *h).unwrap();
    }
    let date = rust_xlsxwriter::ExcelDateTime::from_ymd(2020, 3, 14).unwrap();
    let format = rust_xlsxwriter::Format::new().set_num_format("dd.mm.yyyy");
    sheet.write_string(2, 1, &id).unwrap();
    sheet.write_string(2, 2, "gp").unwrap();
    sheet.write_datetime_with_format(2, 3, &date, &format).unwrap();
    sheet.write_string(3, 1, &id).unwrap();
    sheet.write_string(3, 2, "gp").unwrap();
    sheet.write_datetime_with_format(3, 3, &date, &format).unwrap();
    sheet.write_string(3, 4, "mye").unwrap();
    let bytes = book.save_to_buffer().unwrap();
    let (csv, origin) =
        folge_ingest::sheet_to_csv("h.xlsx", std::io::Cursor::new(bytes), None).expect("sheet");
    assert_eq!((origin.row, origin.column), (1, 1), "the used range starts at B2");
    let options = CsvOptions { sheet: Some(origin), ..CsvOptions::default() };
    let persons: PersonIndex = [id].into_iter().collect();
    let policy = IdPolicy { national: true, allow_synthetic: true };
    let got = read_service_events("h.xlsx, sheet Hendelser", &csv[..], &options, policy, &persons)
        .expect("reads");
    assert_eq!(got.rows.len(), 1);
    assert_eq!(got.rows[0].start_date.to_string(), "2020-03-14");
    let r = &got.rejects[0];
    assert_eq!(
        (r.source.as_str(), r.line, r.reason.as_str()),
        (
            "h.xlsx, sheet Hendelser",
            4,
            "a text (not shown, as it may name a person) is not a number (expected e.g. 2,5 or 2.5) (cell E4)"
        )
    );
}

fn pacic() -> folge_ingest::Codebook {
    folge_ingest::Codebook {
        instruments: vec![
            folge_ingest::Instrument {
                name: "pacic".into(),
                items: (1..=20).map(|i| folge_ingest::Item::named(format!("pacic_{i}"))).collect(),
                min: Some(1.0),
                max: Some(5.0),
                checkbox: false,
                labels: std::collections::BTreeMap::new(),
                missing_codes: vec![9.0],
                reverse: vec![],
                free_text: vec!["kommentar".into()],
                identifiers: vec![],
                dates: vec![],
                subscales: std::collections::BTreeMap::new(),
                score: None,
                min_answered: None,
            },
            folge_ingest::Instrument {
                name: "kontakt".into(),
                items: ["kontakt.fastlege", "kontakt.hjemmesykepleie", "kontakt.sykehus"]
                    .map(folge_ingest::Item::named)
                    .to_vec(),
                min: Some(0.0),
                max: Some(1.0),
                checkbox: false,
                labels: std::collections::BTreeMap::new(),
                missing_codes: vec![],
                reverse: vec![],
                free_text: vec![],
                identifiers: vec![],
                dates: vec![],
                subscales: std::collections::BTreeMap::new(),
                score: None,
                min_answered: None,
            },
        ],
        missing_text: vec![],
    }
}

pub(crate) fn sample_persons() -> PersonIndex {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data-sample/participants.csv");
    let policy = IdPolicy { national: true, allow_synthetic: true };
    let got = folge_ingest::read_participants(
        "participants.csv",
        std::fs::File::open(path).expect("sample participants"),
        &CsvOptions::default(),
        policy,
    )
    .expect("participants read");
    PersonIndex::new(&got.rows)
}

#[test]
fn the_sample_nettskjema_export_melts_into_responses() {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data-sample/nettskjema_pacic_T0.csv");
    let submissions = std::fs::read_to_string(&path).unwrap().lines().count() - 1;
    let options = CsvOptions {
        columns: [("person_id".to_owned(), "fodselsnummer".to_owned())].into_iter().collect(),
        ..CsvOptions::default()
    };
    let questionnaire = folge_ingest::QuestionnaireOptions {
        date_column: Some("$created".into()),
        ..folge_ingest::QuestionnaireOptions::fixed("T0")
    };
    let policy = IdPolicy { national: true, allow_synthetic: true };
    let got = folge_ingest::read_questionnaire(
        "nettskjema_pacic_T0.csv",
        std::fs::File::open(&path).unwrap(),
        &options,
        policy,
        &sample_persons(),
        &pacic(),
        &questionnaire,
    )
    .unwrap();
    assert_eq!(got.summary.rows_read as usize, submissions);
    assert_eq!(got.summary.rows_rejected, 0);
    assert_eq!(got.rows.len(), submissions * (20 + 1 + 3));
    let first = &got.rows[0];
    assert_eq!(
        (first.timepoint.as_str(), first.instrument.as_str(), first.item.as_str()),
        ("T0", "pacic", "pacic_1")
    );
    assert!(first.response_date.is_some());
    // Some answers are missing (empty cells) and stay null; free text is kept as text.
    assert!(got.rows.iter().any(|r| r.instrument == "pacic" && r.value.is_none()));
    assert!(got.rows.iter().any(|r| r.item == "kommentar" && r.text.is_some()));
}

#[test]
fn answers_outside_the_scale_reject_the_submission() {
    let ids = std::fs::read_to_string(corpus().join("ids.txt")).expect("ids");
    let id = ids.lines().next().unwrap();
    let persons: PersonIndex = [id.to_owned()].into_iter().collect();
    let mut header = vec!["person_id".to_owned()];
    header.extend((1..=20).map(|i| format!("pacic_{i}")));
    header.extend(
        ["kontakt.fastlege", "kontakt.hjemmesykepleie", "kontakt.sykehus", "kommentar"]
            .map(str::to_owned),
    );
    let row = |v: &str| {
        let mut cells = vec![id.to_owned()];
        cells.extend((0..20).map(|i| if i == 4 { v.to_owned() } else { "3".to_owned() }));
        cells.extend(["1", "0", "0", ""].map(str::to_owned));
        cells.join(";")
    };
    let text = format!("{}\n{}\n{}\n{}\n", header.join(";"), row("9"), row("7"), row("tre"));
    let questionnaire = folge_ingest::QuestionnaireOptions::fixed("T1");
    let policy = IdPolicy { national: true, allow_synthetic: true };
    let got = folge_ingest::read_questionnaire(
        "q.csv",
        text.as_bytes(),
        &CsvOptions::default(),
        policy,
        &persons,
        &pacic(),
        &questionnaire,
    )
    .unwrap();
    assert_eq!(
        (got.summary.rows_read, got.summary.rows_accepted, got.summary.rows_rejected),
        (3, 1, 2)
    );
    assert_eq!(
        got.rows.iter().find(|r| r.item == "pacic_5").unwrap().value,
        None,
        "9 is a missing code"
    );
    let reasons: Vec<String> = got
        .rejects
        .iter()
        .map(|r| format!("{} {}: {}", r.line, r.column.as_deref().unwrap_or("-"), r.reason))
        .collect();
    assert_eq!(
        reasons,
        [
            "3 pacic_5: 7 is outside the `pacic` scale 1–5",
            "4 pacic_5: a text (not shown, as it may name a person) is not a number (expected e.g. 2,5 or 2.5)"
        ]
    );
}

mod hostile;
mod questionnaires;

//! Reader tests on small inline files: conservation, reasons, no id in any reason, and
//! encodings.

use super::*;
use crate::Layout;
use folge_schema::national_id::build;

fn id(day: u32, individual: u16) -> String {
    let date = NaiveDate::from_ymd_opt(1950, 3, day).unwrap();
    (individual..999).find_map(|i| build(date, i, 0, 80)).unwrap()
}

const POLICY: IdPolicy = IdPolicy { national: true, allow_synthetic: true };

#[test]
fn participants_conserve_rows_and_explain_rejects() {
    let (a, b) = (id(1, 100), id(2, 200));
    let input = format!(
        "\u{feff}person_id;name;sex;birth_date;municipality;arm;inclusion_date;exit_date;exit_reason\r\n\
         {a};Kari Nordmann;;;4601;pilot;01.03.2020;;\r\n\
         {b};Ola Nordmann;M;02.03.1950;301;pilot;01.03.2020;;\r\n\
         {b};Ola Nordmann;M;02.03.1950;0301;pilot;31.02.2020;;\r\n\
         {b};Ola Nordmann;M;02.03.1950;0301;comparison;01.03.2020;;death\r\n\
         12345678901;X;K;;4601;pilot;01.03.2020;;\r\n\
         ; ;\u{a0};\t;;;;;\r\n\
         {b};Ola Nordmann;M;;4601;pilot;01.03.2020;15.06.2020;moved\r\n\
         {b};Ola Nordmann;M;;4601;pilot;01.03.2020;;\r\n"
    );
    let got =
        read_participants("participants.csv", input.as_bytes(), &CsvOptions::default(), POLICY)
            .unwrap();
    assert_eq!(got.summary.rows_read, 8);
    assert_eq!(got.summary.rows_accepted, 2);
    assert_eq!(got.summary.rows_rejected, 6);
    // Derived from the id when the register leaves them empty.
    assert_eq!(got.rows[0].birth_date, NaiveDate::from_ymd_opt(1950, 3, 1));
    assert!(got.rows[0].sex.is_some());
    let reasons: Vec<(i64, Option<&str>, &str)> =
        got.rejects.iter().map(|r| (r.line, r.column.as_deref(), r.reason.as_str())).collect();
    assert_eq!(
        reasons,
        vec![
            (
                3,
                Some("municipality"),
                "`301` is not a kommunenummer (expected 4 digits, e.g. 0301: keep leading zeros)"
            ),
            (
                4,
                Some("inclusion_date"),
                "`31.02.2020` is not a date (expected dd.mm.yyyy or yyyy-mm-dd)"
            ),
            (5, Some("exit_date"), "is empty but exit_reason is given"),
            (6, Some("person_id"), "is not a valid national id: second check digit (K2) is wrong"),
            (7, None, "blank row"),
            (9, Some("person_id"), "duplicates the person on line 8"),
        ]
    );
    for reject in &got.rejects {
        assert!(!reject.reason.contains(&a) && !reject.reason.contains(&b));
    }
}

#[test]
fn windows_1252_files_are_read_and_reported() {
    let a = id(1, 100);
    let text = format!(
        "person_id;name;municipality;arm;inclusion_date\r\n{a};Åse Ødegård;4624;pilot;01.03.2020\r\n"
    );
    let (bytes, _, _) = encoding_rs::WINDOWS_1252.encode(&text);
    let got = read_participants("p.csv", &bytes[..], &CsvOptions::default(), POLICY).unwrap();
    assert_eq!(got.rows[0].name.as_deref(), Some("Åse Ødegård"));
    assert_eq!(got.warnings, vec!["p.csv: read as windows-1252 (not UTF-8)".to_owned()]);
}

#[test]
fn synthetic_ids_need_permission() {
    let a = id(1, 100);
    let input = format!("person_id,municipality,arm,inclusion_date\n{a},4601,pilot,2020-03-01\n");
    let strict = IdPolicy { national: true, allow_synthetic: false };
    let got = read_participants("p.csv", input.as_bytes(), &CsvOptions::default(), strict).unwrap();
    assert_eq!(got.summary.rows_rejected, 1);
    assert!(got.rejects[0].reason.starts_with("is a synthetic test number"));
}

#[test]
fn service_events_validate_codes_dates_and_persons() {
    let (a, b) = (id(1, 100), id(2, 200));
    let persons: PersonIndex = [a.clone()].into_iter().collect();
    let input = format!(
        "person_id,service,start_date,end_date,quantity,acute\n\
         {a},inpatient,2020-03-01,2020-03-04,,1\n\
         {a},home_nursing,2020-03-01,,\"2,5\",\n\
         {a},inpatiant,2020-03-01,2020-03-04,,1\n\
         {a},inpatient,2020-03-05,2020-03-04,,1\n\
         {a},inpatient,2020-03-05,,,1\n\
         {b},gp,2020-03-05,,,\n\
         {a},gp,2020-03-05,,-1,\n\
         {a},gp,2020-03-05,,,kanskje\n"
    );
    let got = read_service_events(
        "events.csv",
        input.as_bytes(),
        &CsvOptions::default(),
        POLICY,
        &persons,
    )
    .unwrap();
    assert_eq!((got.summary.rows_read, got.summary.rows_accepted), (8, 2));
    assert_eq!(got.rows[1].quantity, Some(2.5));
    let reasons: Vec<String> = got
        .rejects
        .iter()
        .map(|r| format!("{} {}: {}", r.line, r.column.as_deref().unwrap_or("-"), r.reason))
        .collect();
    assert_eq!(
        reasons,
        vec![
            "4 service: a text (not shown, as it may name a person) is not a known code (expected one of inpatient, day_treatment, outpatient, hospital_emergency, out_of_hours, gp, home_nursing, home_help, short_stay, kad, long_term_care)",
            "5 end_date: 2020-03-04 is before start_date 2020-03-05",
            "6 end_date: is empty, but a `inpatient` stay needs a discharge date",
            "7 person_id: is not in the participant list",
            "8 quantity: is negative (expected hours or a count ≥ 0)",
            "9 acute: a text (not shown, as it may name a person) is not a yes/no value (expected 1/0, ja/nei or true/false)",
        ]
    );
}

#[test]
fn npr_admission_and_discharge_times_are_read_as_minutes() {
    let a = id(1, 100);
    let persons: PersonIndex = [a.clone()].into_iter().collect();
    let input = format!(
        "fnr;inndato;innTid;utdato;utTid;omsorgsniva;innmateHast\n\
         {a};03.02.2020;22:15;07.02.2020;08:00;1;1\n\
         {a};07.02.2020;17:30;09.02.2020;;1;1\n\
         {a};10.02.2020;25:00;11.02.2020;10:00;1;1\n\
         {a};12.02.2020;10:00;12.02.2020;09:00;1;1\n\
         {a};13.02.2020;;;10:00;3;4\n"
    );
    let options = CsvOptions { layout: Layout::Npr, ..CsvOptions::default() };
    let got = read_service_events("npr.csv", input.as_bytes(), &options, POLICY, &persons).unwrap();
    let times: Vec<(Option<i32>, Option<i32>)> =
        got.rows.iter().map(|e| (e.start_time, e.end_time)).collect();
    assert_eq!(times, vec![(Some(22 * 60 + 15), Some(8 * 60)), (Some(17 * 60 + 30), None)]);
    let reasons: Vec<String> = got
        .rejects
        .iter()
        .map(|r| format!("{} {} {}", r.line, r.column.as_deref().unwrap_or("-"), r.reason))
        .collect();
    assert_eq!(
        reasons,
        vec![
            "4 start_time `25:00` is not a time of day (expected HH:MM)",
            "5 end_time is before start_time on the same day",
            "6 end_time is given, but end_date is empty",
        ]
    );
}

#[test]
fn npr_extracts_map_levels_of_care_and_urgency() {
    let (a, b) = (id(1, 100), id(2, 200));
    let persons: PersonIndex = [a.clone(), b.clone()].into_iter().collect();
    let input = format!(
        "fnr;inndato;utdato;omsorgsniva;innmateHast;hdiag\n\
         {a};03.02.2020;07.02.2020;1;1;I50\n\
         {a};10.02.2020;10.02.2020;3;4;I50\n\
         {b};11.02.2020;11.02.2020;2;;C34\n\
         {b};12.02.2020;12.02.2020;8;4;C34\n\
         {b};13.02.2020;15.02.2020;1;5;J44\n\
         {b};16.02.2020;17.02.2020;7;1;J44\n"
    );
    let options = CsvOptions { layout: Layout::Npr, ..CsvOptions::default() };
    let got = read_service_events("npr.csv", input.as_bytes(), &options, POLICY, &persons).unwrap();
    let events: Vec<(Service, Option<bool>)> =
        got.rows.iter().map(|e| (e.service, e.acute)).collect();
    assert_eq!(
        events,
        vec![
            (Service::Inpatient, Some(true)),
            (Service::Outpatient, Some(false)),
            (Service::DayTreatment, None),
            (Service::Inpatient, Some(false)),
        ]
    );
    let reasons: Vec<String> =
        got.rejects.iter().map(|r| format!("{} {}", r.line, r.reason)).collect();
    assert_eq!(
        reasons,
        vec![
            "5 omsorgsnivå 8 (poliklinisk kontakt for inneliggende pasient) is part of an inpatient stay, not a visit",
            "7 `7` is not an omsorgsnivå (expected 1 døgn, 2 dag or 3 poliklinisk)",
        ]
    );
    // A missing NPR column is named as the file should name it.
    let err = read_service_events(
        "npr.csv",
        &b"fnr;utdato;omsorgsniva\n"[..],
        &options,
        POLICY,
        &persons,
    )
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "npr.csv: required column `inndato` (folge's `start_date`) is missing; found `fnr`, `utdato`, `omsorgsniva`"
    );
    // Explicit renames work on the canonical layout too.
    let renamed = CsvOptions {
        columns: [("person_id".to_owned(), "lopenr".to_owned())].into_iter().collect(),
        ..CsvOptions::default()
    };
    let csv = format!("lopenr,service,start_date\n{a},gp,2020-02-01\n");
    assert_eq!(
        read_service_events("r.csv", csv.as_bytes(), &renamed, POLICY, &persons)
            .unwrap()
            .rows
            .len(),
        1
    );
    // A rename written the wrong way round is recognised and turned the right way; an
    // unknown column is named with the closest known one; both in one message.
    let wrong = CsvOptions {
        columns: [
            ("innDato".to_owned(), "start_date".to_owned()),
            ("servce".to_owned(), "tjeneste".to_owned()),
        ]
        .into_iter()
        .collect(),
        ..CsvOptions::default()
    };
    let csv = format!("person_id,tjeneste,innDato\n{a},gp,2020-02-01\n");
    let err = read_service_events("r.csv", csv.as_bytes(), &wrong, POLICY, &persons).unwrap_err();
    assert_eq!(
        err.to_string(),
        "r.csv: `columns = { innDato = \"start_date\" }` is the wrong way round: the key is folge's column and the value the file's header, so write `columns = { start_date = \"innDato\" }`; `columns` renames `servce`, which is not a column this input reads (its columns: `person_id`, `service`, `start_date`, `end_date`, `quantity`, `acute`, `died`, `start_time`, `end_time`); did you mean `service`?"
    );
}

#[test]
fn person_index_answers_alike_for_text_and_parsed_ids() {
    let (a, b) = (id(1, 100), id(2, 200));
    let index: PersonIndex = [a.clone(), "study-17".to_owned()].into_iter().collect();
    let parsed = |s: &str| folge_schema::NationalId::parse(s).unwrap();
    assert!(index.contains(&a) && index.contains_national(&parsed(&a)));
    assert!(!index.contains(&b) && !index.contains_national(&parsed(&b)));
    assert!(index.contains("study-17") && !index.contains("study-18"));
    assert_eq!(format!("{:011}", parsed(&a).as_u64()), a);
}

#[test]
fn kpr_decisions_become_periods_with_their_hours() {
    let (a, b) = (id(1, 100), id(2, 200));
    let persons: PersonIndex = [a.clone(), b.clone()].into_iter().collect();
    let input = format!(
        "fnr;tjenestekode;fradato;tildato;timerPerUke;kommunenr\n\
         {a};15;01.02.2020;29.02.2020;3,5;4624\n\
         {a};2;01.03.2020;;7;4624\n\
         {b};18;10.02.2020;20.02.2020;;4601\n\
         {b};6;01.01.2020;;;4601\n\
         {b};15;01.03.2020;01.02.2020;2;4601\n\
         {b};15;01.03.2020;31.03.2020;200;4601\n\
         {b};15;01.03.2020;31.03.2020;;4601\n\
         {b};99;01.03.2020;31.03.2020;1;4601\n"
    );
    let options = CsvOptions {
        layout: Layout::Kpr,
        open_end: NaiveDate::from_ymd_opt(2020, 3, 14),
        ..CsvOptions::default()
    };
    let got = read_service_events("kpr.csv", input.as_bytes(), &options, POLICY, &persons).unwrap();
    let rows: Vec<(Service, String, Option<f64>)> = got
        .rows
        .iter()
        .map(|e| (e.service, format!("{}..{:?}", e.start_date, e.end_date), e.quantity))
        .collect();
    assert_eq!(
        rows,
        vec![
            // 29 days × 3.5 h / 7 = 14.5 hours.
            (Service::HomeNursing, "2020-02-01..Some(2020-02-29)".into(), Some(14.5)),
            // Open: runs to the end of data, 14 days × 7 h / 7.
            (Service::HomeHelp, "2020-03-01..Some(2020-03-14)".into(), Some(14.0)),
            (Service::ShortStay, "2020-02-10..Some(2020-02-20)".into(), None),
        ]
    );
    let reasons: Vec<String> = got
        .rejects
        .iter()
        .map(|r| format!("{} {}: {}", r.line, r.column.as_deref().unwrap_or("-"), r.reason))
        .collect();
    assert_eq!(
        reasons,
        vec![
            "5 service: tjenestekode 6 (trygghetsalarm) is not a service folge counts (expected 1–3 praktisk bistand, 15 helsetjenester i hjemmet, 18–20 tidsbegrenset opphold or 21 langtidsopphold)",
            "6 end_date: 2020-02-01 is before start_date 2020-03-01",
            "7 quantity: 200 hours a week is outside 0–168 (expected hours per week)",
            "8 quantity: is empty (a value is required)",
            "9 service: `99` is not a KPR tjenestekode (expected 1–3, 15, 18–21 or another code from KPR's list)",
        ]
    );
    assert_eq!(got.summary.rows_read, got.summary.rows_accepted + got.summary.rows_rejected);
}

#[test]
fn monthly_counts_are_validated() {
    let a = id(1, 100);
    let persons: PersonIndex = [a.clone()].into_iter().collect();
    let input = format!(
        "person_id;month;service;count;days;hours\n\
         {a};2020-03;inpatient;2;5;\n\
         {a};4.2020;home_nursing;;;12,5\n\
         {a};2020-13;gp;1;;\n\
         {a};2020-05;gp;;;\n\
         {a};2020-05;short_stay;1;32;\n\
         {a};2020-05;gp;-1;;\n"
    );
    let got = crate::readers::collect(|sink| {
        stream_service_counts(
            "counts.csv",
            input.as_bytes(),
            &CsvOptions::default(),
            POLICY,
            &persons,
            sink,
        )
    })
    .unwrap();
    let rows: Vec<String> = got
        .rows
        .iter()
        .map(|r| format!("{} {} {:?} {:?} {:?}", r.month, r.service, r.count, r.days, r.hours))
        .collect();
    assert_eq!(
        rows,
        vec![
            "2020-03 inpatient Some(2.0) Some(5.0) None",
            "2020-04 home_nursing None None Some(12.5)"
        ]
    );
    let reasons: Vec<String> = got
        .rejects
        .iter()
        .map(|r| format!("{} {}: {}", r.line, r.column.as_deref().unwrap_or("-"), r.reason))
        .collect();
    assert_eq!(
        reasons,
        vec![
            "4 month: `2020-13` is not a month (expected yyyy-mm or mm.yyyy)",
            "5 count: count, days and hours are all empty (expected at least one)",
            "6 days: 32 is more than one month holds (31)",
            "7 count: is negative (expected an amount ≥ 0)",
        ]
    );
}

#[track_caller]
fn codings_of(layout: Layout, input: &str) -> (Vec<String>, Vec<String>) {
    let options = CsvOptions { layout, ..CsvOptions::default() };
    let got = read_codings("export.csv", "team 2", input.as_bytes(), &options).unwrap();
    assert_eq!(got.summary.rows_read, got.summary.rows_accepted + got.summary.rows_rejected);
    assert!(got.rows.iter().all(|c| c.source == "team 2"), "every row carries its input's label");
    let rows = got
        .rows
        .iter()
        .map(|c| {
            format!(
                "{} {} {} {} {:?} {:?}",
                c.focus_group, c.coder, c.segment, c.code, c.theme, c.text
            )
        })
        .collect();
    let rejects = got
        .rejects
        .iter()
        .map(|r| format!("{} {}: {}", r.line, r.column.as_deref().unwrap_or("-"), r.reason))
        .collect();
    (rows, rejects)
}

#[test]
fn qda_exports_map_their_headers_code_paths_and_code_lists() {
    let maxqda = "Color;Document group;Document name;Code;Begin;End;Weight score;Segment;Comment;Created by\n\
                  #ff0000;Os;FG1;Samhandling > Koordinator;3;4;0;Koordinatoren ringte meg.;;IH\n\
                  #ff0000;Os;FG1;Tillit;5;;0;Vi stoler på dem.;;ML\n";
    let (rows, rejects) = codings_of(Layout::Maxqda, maxqda);
    assert_eq!(
        rows,
        ["FG1 IH 3-4 Koordinator Some(\"Samhandling\") Some(\"Koordinatoren ringte meg.\")"]
    );
    assert_eq!(rejects, ["3 end: is empty (a value is required)"]);

    let atlas = "ID,Name,Document,Codes,Quotation Content,Author\n\
                 3:10,Vi fikk en plan,FG2,\"Plan\nSamarbeid\",Vi fikk en plan sammen.,IH\n\
                 3:11,,FG2,,,IH\n";
    let (rows, rejects) = codings_of(Layout::AtlasTi, atlas);
    assert_eq!(
        rows,
        [
            "FG2 IH 3:10 Plan None Some(\"Vi fikk en plan sammen.\")",
            "FG2 IH 3:10 Samarbeid None Some(\"Vi fikk en plan sammen.\")",
        ]
    );
    assert_eq!(rejects, ["4 code: is empty (a value is required)"]);

    let nvivo = "File\tCode\tReference\tCoded Text\tUser\n\
                 FG3\tCodes\\Tema\\Tillit\t465-823\tDe lytter.\tML\n";
    let (rows, _) = codings_of(Layout::Nvivo, nvivo);
    assert_eq!(rows, ["FG3 ML 465-823 Tillit Some(\"Codes/Tema\") Some(\"De lytter.\")"]);

    // A header the layout does not know names every alternative it looked for.
    let options = CsvOptions { layout: Layout::Maxqda, ..CsvOptions::default() };
    let err = read_codings("m.csv", "codings", &b"Document name;Code;Begin;End\n"[..], &options)
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "m.csv: required column `Created by`, `Author`, `Coder`, `Autor` or `Erstellt von` (folge's `coder`) is missing; found `Document name`, `Code`, `Begin`, `End`"
    );
}

#[test]
fn duplicate_rows_are_rejected_or_kept_naming_the_first_in_any_order() {
    let (a, b) = (id(1, 100), id(2, 200));
    let persons: PersonIndex = [a.clone(), b.clone()].into_iter().collect();
    let input = format!(
        "person_id;service;start_date;end_date;quantity;acute;kontakt\n\
         {a};gp;01.02.2020;;;;\n\
         {a};gp;01.02.2020;;;;\n\
         {a};gp;01.02.2020;;;;K2\n\
         {b};gp;01.02.2020;;;;\n\
         {a};gp;01.02.2020;;;;\n"
    );
    let read = |duplicates| {
        let options = CsvOptions { duplicates, ..CsvOptions::default() };
        read_service_events("e.csv", input.as_bytes(), &options, POLICY, &persons).unwrap()
    };
    let rejected = read(crate::DuplicateCheck::On);
    let reasons: Vec<String> =
        rejected.rejects.iter().map(|r| format!("{} {}", r.line, r.reason)).collect();
    // A row that differs only in a column folge does not read (a contact id) is kept; a
    // copy after another person's rows is found as well.
    assert_eq!(
        reasons,
        [
            "3 duplicates the row on line 2 (every cell the same)",
            "6 duplicates the row on line 2 (every cell the same)"
        ]
    );
    assert!(rejected.warnings.is_empty(), "{:?}", rejected.warnings);
    assert_eq!(read(crate::DuplicateCheck::Off).summary.rows_rejected, 0);
    // Kept: the same rows found, none rejected, all counted, and the warning names them
    // by line (never by value).
    let options =
        CsvOptions { duplicate_rows: crate::DuplicateRows::Keep, ..CsvOptions::default() };
    let kept = read_service_events("e.csv", input.as_bytes(), &options, POLICY, &persons).unwrap();
    assert!(kept.rejects.is_empty());
    assert_eq!((kept.summary.rows_read, kept.summary.rows_accepted), (5, 5));
    assert_eq!(
        kept.warnings,
        [
            "e.csv: 2 rows are identical in every cell to an earlier row (line 3 as line 2, line 6 as line 2) and were kept, each as an event of its own (two contacts on one day look alike in an extract without a contact id); set `duplicate_rows = \"reject\"` on this input or in [ingest] if they are copies"
        ]
    );
    assert!(!kept.warnings[0].contains(&a), "no id in the warning");
    let off = CsvOptions { duplicates: crate::DuplicateCheck::Off, ..options };
    let off = read_service_events("e.csv", input.as_bytes(), &off, POLICY, &persons).unwrap();
    assert!(off.warnings.is_empty());
}

/// A registry's delivery in date order: 24 persons' GP contacts over 28 days, each with a
/// contact number, except that every 11th row repeats one written 50 rows before (other
/// persons' rows and days between), one person is not a participant (rejected, so their
/// copies are not duplicates of accepted rows) and one row in 40 holds a bad date.
fn dated_delivery() -> (PersonIndex, Vec<String>) {
    let ids: Vec<String> = (0..24).map(|i| id(1 + i % 28, 100 + 10 * i as u16)).collect();
    let persons: PersonIndex = ids.iter().skip(1).cloned().collect();
    let mut rows: Vec<String> = Vec::new();
    for day in 1..=28 {
        for (p, person) in ids.iter().enumerate() {
            let n = rows.len();
            let row = if n % 11 == 10 && n >= 50 {
                rows[n - 50].clone()
            } else if n % 40 == 39 {
                format!("{person};gp;31.02.2020;;;;K{n}")
            } else {
                format!("{person};gp;{day:02}.02.2020;;;;K{n}{}", p % 3)
            };
            rows.push(row);
        }
    }
    (persons, rows)
}

fn delivery_text(rows: &[String]) -> String {
    let mut text = "person_id;service;start_date;end_date;quantity;acute;kontakt\n".to_owned();
    for row in rows {
        text.push_str(row);
        text.push('\n');
    }
    text
}

/// The duplicates of `rows` by brute force: (line, line of the earliest copy) of every
/// row that repeats an earlier row that is accepted (by a participant, with a real date).
fn duplicates_by_brute_force(persons: &PersonIndex, rows: &[String]) -> Vec<(u64, u64)> {
    let accepted = |row: &String| {
        persons.contains(row.split(';').next().unwrap_or_default()) && !row.contains("31.02")
    };
    let mut found = Vec::new();
    for (i, row) in rows.iter().enumerate() {
        if let Some(first) = rows[..i].iter().position(|r| r == row && accepted(r)) {
            found.push((i as u64 + 2, first as u64 + 2));
        }
    }
    found
}

/// A seeded shuffle (Fisher–Yates over xorshift), the same on every run.
fn shuffled(rows: &[String], mut state: u64) -> Vec<String> {
    let mut rows = rows.to_vec();
    for i in (1..rows.len()).rev() {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        rows.swap(i, (state % (i as u64 + 1)) as usize);
    }
    rows
}

#[test]
fn duplicates_far_apart_are_found_exactly_in_date_order_shuffled_sorted_and_spilled() {
    let (persons, dated) = dated_delivery();
    let mixed = shuffled(&dated, 0x9e37_79b9_7f4a_7c15);
    assert_ne!(dated, mixed);
    // Sorted by person, as a registry extract may come: found as the file is read.
    let mut sorted = dated.clone();
    sorted.sort_by_key(|row| row.split(';').next().unwrap_or_default().to_owned());
    let mut kept_rows = Vec::new();
    for rows in [&dated, &mixed, &sorted] {
        let expected = duplicates_by_brute_force(&persons, rows);
        assert!(expected.len() > 40, "{}", expected.len());
        if rows != &sorted {
            assert!(expected.iter().any(|(line, first)| line - first > 40), "far apart");
        }
        let text = delivery_text(rows);
        for budget in [crate::SPILL_BUDGET, 2 * crate::PARTS, 1] {
            let spill = crate::SpillOptions { budget, ..crate::SpillOptions::default() };
            // Kept: counted exactly, the first five named by line.
            let options = CsvOptions {
                duplicate_rows: crate::DuplicateRows::Keep,
                spill: spill.clone(),
                ..CsvOptions::default()
            };
            let kept = stream_service_events(
                "e.csv",
                text.as_bytes(),
                &options,
                POLICY,
                &persons,
                &mut |_| Ok(()),
            )
            .unwrap();
            assert_eq!(kept.grouped_by_person, rows == &sorted);
            let named: Vec<String> =
                expected.iter().take(5).map(|(l, f)| format!("line {l} as line {f}")).collect();
            let start = format!(
                "e.csv: {} rows are identical in every cell to an earlier row ({}, …) and were kept",
                expected.len(),
                named.join(", ")
            );
            let warning = kept.warnings.iter().find(|w| w.contains("identical"));
            assert!(warning.is_some_and(|w| w.starts_with(&start)), "{warning:?}\n{start}");
            let s = &kept.summary;
            assert_eq!(s.rows_read, rows.len() as u64);
            assert_eq!(s.rows_read, s.rows_accepted + s.rows_rejected);
            assert!(kept.rejects.iter().all(|r| !r.reason.contains("duplicates")));
            // Rejected: each copy names the earliest row, whatever the budget.
            let options = CsvOptions { spill, ..CsvOptions::default() };
            let rejected =
                read_service_events("e.csv", text.as_bytes(), &options, POLICY, &persons).unwrap();
            let found: Vec<(u64, u64)> = rejected
                .rejects
                .iter()
                .filter_map(|r| {
                    let first = r.reason.strip_prefix("duplicates the row on line ")?;
                    let first = first.strip_suffix(" (every cell the same)")?;
                    Some((r.line as u64, first.parse().ok()?))
                })
                .collect();
            assert_eq!(found, expected);
            let s = &rejected.summary;
            assert_eq!(s.rows_read, s.rows_accepted + s.rows_rejected);
            assert_eq!(s.rows_accepted, kept.summary.rows_accepted - expected.len() as u64);
        }
        // The same rows are duplicates in either order (as a multiset of rows).
        let mut copies: Vec<&String> =
            expected.iter().map(|(line, _)| &rows[*line as usize - 2]).collect();
        copies.sort();
        kept_rows.push(copies.into_iter().cloned().collect::<Vec<_>>());
    }
    assert_eq!(kept_rows[0], kept_rows[1]);
    assert_eq!(kept_rows[0], kept_rows[2]);
}

#[test]
fn ambiguous_dates_follow_the_configured_order_and_are_reported_once() {
    let a = id(1, 100);
    let persons: PersonIndex = [a.clone()].into_iter().collect();
    let input = format!(
        "person_id;service;start_date\n{a};gp;03.04.05\n{a};gp;31.12.45\n{a};gp;04.04.05\n"
    );
    let read = |date_order| {
        let options = CsvOptions { date_order, ..CsvOptions::default() };
        read_service_events("e.csv", input.as_bytes(), &options, POLICY, &persons).unwrap()
    };
    let got = read(crate::values::DateOrder::DayMonthYear);
    let dates: Vec<String> = got.rows.iter().map(|e| e.start_date.to_string()).collect();
    assert_eq!(dates, ["2005-04-03", "1945-12-31", "2005-04-04"]);
    assert_eq!(
        got.warnings,
        [
            "e.csv: 3 dates have two-digit years, read as 20yy below 30 and 19yy otherwise",
            "e.csv: 2 dates (the first on line 2, column start_date) could be read in another order of day, month and year; read as dd.mm.yy (set `date_order` if the file means otherwise)",
        ]
    );
    let got = read(crate::values::DateOrder::YearMonthDay);
    let reasons: Vec<String> =
        got.rejects.iter().map(|r| format!("{} {}", r.line, r.reason)).collect();
    assert_eq!(got.rows[0].start_date.to_string(), "2003-04-05");
    assert_eq!(
        reasons,
        ["3 `31.12.45` is not a date (expected dd.mm.yyyy or yyyy-mm-dd)"],
        "no 45th day"
    );
}

#[test]
fn npr_deaths_at_discharge_complete_missing_exits_only() {
    let (a, b, c) = (id(1, 100), id(2, 200), id(3, 300));
    let persons: PersonIndex = [a.clone(), b.clone(), c.clone()].into_iter().collect();
    let input = format!(
        "fnr;inndato;utdato;omsorgsniva;innmateHast;utTilstand\n\
         {a};03.02.2020;07.02.2020;1;1;2\n\
         {b};03.02.2020;09.02.2020;1;1;3\n\
         {c};03.02.2020;05.02.2020;1;1;1\n\
         {c};06.02.2020;07.02.2020;1;1;9\n"
    );
    let options = CsvOptions { layout: Layout::Npr, ..CsvOptions::default() };
    let got = collect_deaths(&input, &options, &persons);
    let dates: Vec<String> = got.0.iter().map(|(_, d)| d.to_string()).collect();
    assert_eq!(dates, ["2020-02-07", "2020-02-09"], "2 død and 3 suicid");
    assert_eq!(
        got.1,
        ["5 died: `9` is not an utTilstand code (expected 1 levende, 2 død or 3 suicid)"]
    );
    let participant = |person_id: &str, exit: Option<&str>| Participant {
        person_id: person_id.to_owned(),
        name: None,
        sex: None,
        birth_date: None,
        municipality: "4601".into(),
        site: None,
        arm: Arm::Pilot,
        target_group: None,
        inclusion_date: NaiveDate::from_ymd_opt(2020, 1, 1).unwrap(),
        exit_date: exit.map(|d| d.parse().unwrap()),
        exit_reason: exit.map(|_| ExitReason::Death),
    };
    let mut list =
        vec![participant(&a, None), participant(&b, Some("2020-02-01")), participant(&c, None)];
    let report = complete_exits(&mut list, &got.0);
    assert_eq!(report, ExitCompletion { completed: 1, agreed: 0, disagreed: 1 });
    assert_eq!(list[0].exit_date.map(|d| d.to_string()).as_deref(), Some("2020-02-07"));
    assert_eq!(list[0].exit_reason, Some(ExitReason::Death));
    assert_eq!(list[1].exit_date.map(|d| d.to_string()).as_deref(), Some("2020-02-01"), "kept");
    assert_eq!(list[2].exit_date, None);
}

fn collect_deaths(
    input: &str,
    options: &CsvOptions,
    persons: &PersonIndex,
) -> (Vec<(String, NaiveDate)>, Vec<String>) {
    let streamed =
        stream_service_events("npr.csv", input.as_bytes(), options, POLICY, persons, &mut |_| {
            Ok(())
        })
        .expect("reads");
    let reasons = streamed
        .rejects
        .iter()
        .map(|r| format!("{} {}: {}", r.line, r.column.as_deref().unwrap_or("-"), r.reason))
        .collect();
    (streamed.deaths, reasons)
}

#[test]
fn a_files_own_service_codes_map_to_folges() {
    let a = id(1, 100);
    let persons: PersonIndex = [a.clone()].into_iter().collect();
    let input = format!(
        "person_id;service;start_date\n{a};Hjemmesykepleie;01.02.2020\n{a};legevakt;01.02.2020\n{a};gp;02.02.2020\n{a};Fysio;02.02.2020\n"
    );
    let options = CsvOptions {
        service_codes: [
            ("Hjemmesykepleie", Service::HomeNursing),
            ("Legevakt", Service::OutOfHours),
        ]
        .map(|(k, v)| (k.to_owned(), v))
        .into_iter()
        .collect(),
        ..CsvOptions::default()
    };
    let got = read_service_events("k.csv", input.as_bytes(), &options, POLICY, &persons).unwrap();
    let services: Vec<Service> = got.rows.iter().map(|e| e.service).collect();
    assert_eq!(services, [Service::HomeNursing, Service::OutOfHours, Service::Gp]);
    assert!(
        got.rejects[0].reason.ends_with(", or this file's codes `Hjemmesykepleie`, `Legevakt`)"),
        "{}",
        got.rejects[0].reason
    );
}

#[test]
fn column_index_finds_a_column_by_address_or_by_text() {
    let columns = BTreeMap::from([("person_id", 0), ("service", 2)]);
    let index = ColumnIndex::new(&columns);
    assert_eq!(index.get("service"), Some(2));
    // Same text, another string in memory.
    let owned = String::from("person_id");
    assert_eq!(index.get(&owned), Some(0));
    assert_eq!(index.get("person"), None);
    assert_eq!(index.get("quantity"), None);
    // Literals: remembered by address and length, asked twice each; a literal that is a
    // prefix of another at the same address is another name.
    let leaked: &'static str = Box::leak(String::from("service_date").into_boxed_str());
    for _ in 0..2 {
        assert_eq!(index.get_static("person_id"), Some(0));
        assert_eq!(index.get_static(&leaked[..7]), Some(2));
        assert_eq!(index.get_static(leaked), None);
        assert_eq!(index.get_static("quantity"), None);
    }
}

#[test]
fn cells_are_trimmed_as_str_trim_does() {
    for cell in
        ["", " ", "a", " a", "a ", "\ta\r", "\u{a0}4601\u{a0}", "4601\u{2003}", "x y", "æ", " ø "]
    {
        assert_eq!(crate::values::trim(cell), cell.trim(), "{cell:?}");
    }
}

fn vocabularies() -> std::sync::Arc<crate::Vocabularies> {
    let list = |key: &str, values: &[&str]| {
        Some(crate::Vocabulary::new(key, values.iter().map(|v| (*v).to_owned())))
    };
    std::sync::Arc::new(crate::Vocabularies {
        sites: list("vocabularies.sites", &["Bergen barn", "Askøy"]),
        target_groups: list("vocabularies.target_groups", &["barn", "eldre"]),
        municipalities: list("vocabularies.municipalities", &["4601", "4626"]),
        steps: Some(crate::Vocabulary::steps("vocabularies.steps", ["Oppfølging".to_owned()])),
        roles: list("vocabularies.roles", &["leder", "tjenesteyter"]),
    })
}

#[test]
fn closed_vocabularies_reject_other_values_without_showing_them() {
    let (a, b, c, d) = (id(1, 100), id(2, 200), id(3, 300), id(4, 400));
    let input = format!(
        "person_id;municipality;site;target_group;arm;inclusion_date\n\
         {a};4601;bergen barn;Barn;pilot;01.03.2020\n\
         {b};4601;Kari Nordmann;barn;pilot;01.03.2020\n\
         {c};Ola;Askøy;eldre;comparison;01.03.2020\n\
         {d};4626;Askøy;Trude Hansen;comparison;01.03.2020\n"
    );
    let options = CsvOptions { vocabularies: vocabularies(), ..CsvOptions::default() };
    let got = read_participants("p.csv", input.as_bytes(), &options, POLICY).unwrap();
    // Matched without case, stored as the list spells them.
    assert_eq!(got.rows.len(), 1);
    assert_eq!(got.rows[0].site.as_deref(), Some("Bergen barn"));
    assert_eq!(got.rows[0].target_group.as_deref(), Some("barn"));
    let reasons: Vec<(i64, Option<&str>, &str)> =
        got.rejects.iter().map(|r| (r.line, r.column.as_deref(), r.reason.as_str())).collect();
    assert_eq!(
        reasons,
        [
            (
                3,
                Some("site"),
                "is not among the values `vocabularies.sites` lists (expected `Bergen barn`, `Askøy`); the value is not shown, as it may name a person"
            ),
            (
                4,
                Some("municipality"),
                "is not among the values `vocabularies.municipalities` lists (expected `4601`, `4626`); the value is not shown, as it may name a person"
            ),
            (
                5,
                Some("target_group"),
                "is not among the values `vocabularies.target_groups` lists (expected `barn`, `eldre`); the value is not shown, as it may name a person"
            ),
        ]
    );
    for reject in &got.rejects {
        for value in ["Kari", "Nordmann", "Ola", "Trude", "Hansen"] {
            assert!(!reject.reason.contains(value), "{}", reject.reason);
        }
    }
    // Without lists, any text is taken, as before.
    let open =
        read_participants("p.csv", input.as_bytes(), &CsvOptions::default(), POLICY).unwrap();
    assert_eq!(open.rows.len(), 3, "only the municipality `Ola` fails the kommunenummer check");

    let persons = PersonIndex::new(&got.rows);
    let steps = format!(
        "person_id;element;date\n{a};c;01.04.2020\n{a};oppfølging;01.05.2020\n{a};Kari;01.05.2020\n"
    );
    let got = read_process_events("s.csv", steps.as_bytes(), &options, POLICY, &persons).unwrap();
    let elements: Vec<&str> = got.rows.iter().map(|e| e.element.as_str()).collect();
    assert_eq!(elements, ["C", "Oppfølging"]);
    assert_eq!((got.rejects[0].line, got.rejects[0].column.as_deref()), (4, Some("element")));
    assert!(got.rejects[0].reason.contains("(expected `A`, `B`, `C`, `D`, `E`, `Oppfølging`)"));
}

#[test]
fn codings_take_roles_and_municipalities_from_the_lists() {
    let sheet = "focus_group;coder;segment;code;municipality;role\n\
                 FG1;IH;s1;Tid;4601;Leder\n\
                 FG1;IH;s2;Tid;4601;Ola Nordmann\n\
                 FG1;IH;s3;Tid;Bergen;leder\n";
    let options = CsvOptions { vocabularies: vocabularies(), ..CsvOptions::default() };
    let got = read_codings("c.csv", "codings", sheet.as_bytes(), &options).unwrap();
    assert_eq!(got.rows.len(), 1);
    assert_eq!(got.rows[0].role.as_deref(), Some("leder"));
    let columns: Vec<(i64, Option<&str>)> =
        got.rejects.iter().map(|r| (r.line, r.column.as_deref())).collect();
    assert_eq!(columns, [(3, Some("role")), (4, Some("municipality"))]);
    assert!(!got.rejects[0].reason.contains("Nordmann"));
}

/// A file of several chunks is validated on two threads in turn; what it gives is what
/// one thread, row by row, would give: rows in file order, rejects by line, the first
/// ambiguous date by line, every death.
#[test]
fn chunks_validated_on_two_threads_come_back_in_file_order() {
    use std::fmt::Write as _;
    let ids: Vec<String> = (0..30).map(|i| id(1 + i % 28, 100 + 10 * i as u16)).collect();
    let persons: PersonIndex = ids.iter().cloned().collect();
    let mut text = "fnr;inndato;utdato;omsorgsniva;innmateHast;utTilstand;hdiag\n".to_owned();
    let (mut rejected, mut deaths) = (Vec::new(), Vec::new());
    let mut first_ambiguous = None;
    let rows = 3 * CHUNK_ROWS + 500;
    for n in 0..rows {
        let line = n as i64 + 2;
        let person = &ids[(n * 7) % ids.len()];
        // Two-digit years (ambiguous: 01.02.20 could be 2001-02-20) only in the second
        // chunk and later.
        let day = 1 + n % 28;
        let year = if n > CHUNK_ROWS + 10 { "20" } else { "2020" };
        // 20.02.20 reads the same either way.
        if year == "20" && day != 20 && first_ambiguous.is_none() {
            first_ambiguous = Some(line);
        }
        let level = if n % 997 == 5 { "7" } else { "1" };
        let died = if n % 1_500 == 42 { "2" } else { "1" };
        if level == "7" {
            rejected.push(line);
        } else if died == "2" {
            let date = NaiveDate::from_ymd_opt(2020, 2, day as u32).unwrap();
            deaths.push((person.clone(), date));
        }
        // A diagnosis of its own: no row is a copy of another.
        writeln!(text, "{person};{day:02}.02.{year};{day:02}.02.{year};{level};1;{died};K{n}")
            .expect("a String takes any text");
    }
    let options = CsvOptions { layout: Layout::Npr, ..CsvOptions::default() };
    let mut read: Vec<ServiceEvent> = Vec::new();
    let mut places: Vec<Option<u32>> = Vec::new();
    let got =
        stream_service_events("npr.csv", text.as_bytes(), &options, POLICY, &persons, &mut |b| {
            assert_eq!(b.places().count(), b.len());
            places.extend(b.places());
            read.extend(b.into_rows());
            Ok(())
        })
        .unwrap();
    assert_eq!(got.summary.rows_read, rows as u64);
    assert_eq!(got.rejects.iter().map(|r| r.line).collect::<Vec<_>>(), rejected);
    let people: Vec<&str> = read.iter().map(|e| e.person_id.as_str()).collect();
    let expected: Vec<&str> =
        (0..rows).filter(|n| n % 997 != 5).map(|n| ids[(n * 7) % ids.len()].as_str()).collect();
    assert_eq!(people, expected, "rows in file order");
    // Each row's place as validation found it: its person's place in the list.
    let listed: Vec<Option<u32>> = people.iter().map(|id| persons.position(id)).collect();
    assert_eq!(places, listed);
    assert!(places.iter().all(Option::is_some));
    deaths.sort();
    assert_eq!(got.deaths, deaths);
    let first = first_ambiguous.expect("ambiguous dates");
    let ambiguous = got.warnings.iter().find(|w| w.contains("could be read in another order"));
    assert!(
        ambiguous.is_some_and(|w| w.contains(&format!("the first on line {first},"))),
        "{ambiguous:?}"
    );
}

/// Events are checked against the participant list without parsing an enrolled id again;
/// that shortcut must give every row the answer and reason full validation gives, also
/// when the list was read under another policy (a synthetic or a local eleven-digit id in
/// it) and for ids written with a separator.
#[test]
fn enrolled_ids_known_from_the_list_are_judged_as_when_parsed_in_full() {
    let synthetic = id(1, 100);
    let date = NaiveDate::from_ymd_opt(1950, 3, 2).unwrap();
    let other = (200..999).find_map(|i| build(date, i, 0, 0)).unwrap();
    let local = "12345678901".to_owned(); // eleven digits, not a national id
    let spaced = format!("{} {}", &other[..6], &other[6..]);
    let events = |ids: &[&str]| {
        let mut text = "person_id,service,start_date,end_date,quantity,acute\n".to_owned();
        for i in ids {
            text.push_str(i);
            text.push_str(",gp,2020-03-05,,,\n");
        }
        text
    };
    let strict = IdPolicy { national: true, allow_synthetic: false };
    let local_ids = IdPolicy { national: false, allow_synthetic: false };
    let judged = |persons: &PersonIndex, policy: IdPolicy, ids: &[&str]| {
        let input = events(ids);
        let got =
            read_service_events("e.csv", input.as_bytes(), &CsvOptions::default(), policy, persons)
                .unwrap();
        let accepted: Vec<String> = got.rows.iter().map(|e| e.person_id.clone()).collect();
        // A place handed on with a row is always its person's.
        let mut places = Vec::new();
        let options = CsvOptions::default();
        stream_service_events("e.csv", input.as_bytes(), &options, policy, persons, &mut |b| {
            places.extend(b.places());
            Ok(())
        })
        .unwrap();
        assert_eq!(places.len(), accepted.len());
        for (place, id) in places.iter().zip(&accepted) {
            assert!(place.is_none() || *place == persons.position(id), "{place:?}");
        }
        let rejected: Vec<(i64, String)> =
            got.rejects.iter().map(|r| (r.line, r.reason.clone())).collect();
        (accepted, rejected)
    };
    let mixed: PersonIndex =
        [synthetic.clone(), other.clone(), local.clone()].into_iter().collect();
    let national_only: PersonIndex = [other.clone()].into_iter().collect();
    let rows = [synthetic.as_str(), other.as_str(), local.as_str(), spaced.as_str()];
    // Synthetic ids in the list: a strict policy still rejects them, and the local
    // eleven digits are no national id.
    let (accepted, rejected) = judged(&mixed, strict, &rows);
    assert_eq!(accepted, vec![other.clone(), other.clone()]);
    assert_eq!(rejected.len(), 2);
    assert_eq!((rejected[0].0, rejected[1].0), (2, 4));
    assert!(rejected[0].1.starts_with("is a synthetic test number"), "{rejected:?}");
    assert!(rejected[1].1.starts_with("is not a valid national id"), "{rejected:?}");
    // Allowed: the local eleven digits are still no national id.
    let (accepted, rejected) = judged(&mixed, POLICY, &rows);
    assert_eq!(accepted, vec![synthetic.clone(), other.clone(), other.clone()]);
    assert_eq!(rejected.len(), 1);
    assert_eq!(rejected[0].0, 4);
    assert!(rejected[0].1.starts_with("is not a valid national id"), "{rejected:?}");
    // A list of national ids only: known ids pass, the spaced form is normalised.
    let (accepted, rejected) = judged(&national_only, strict, &[&other, &spaced, &synthetic]);
    assert_eq!(accepted, vec![other.clone(), other.clone()]);
    assert_eq!(rejected.len(), 1);
    assert!(rejected[0].1.starts_with("is a synthetic test number"), "{rejected:?}");
    // Local ids: taken as written.
    let (accepted, rejected) = judged(&mixed, local_ids, &[&local, &spaced]);
    assert_eq!(accepted, vec![local.clone()]);
    assert_eq!(rejected, vec![(3, "is not in the participant list".to_owned())]);
}

/// The sink gets batches of exactly `BATCH_ROWS` rows but the last, the accepted rows in
/// file order with their places, however the validating threads' chunks fall: also when
/// the duplicate check rejects rows (copies of the row before, some at a chunk's or a
/// batch's edge) and validation rejects others.
#[test]
fn batches_are_whole_and_in_order_when_rows_are_rejected_anywhere() {
    use std::fmt::Write as _;
    let ids: Vec<String> = (1..=28).map(|day| id(day, 100)).collect();
    let persons: PersonIndex = ids.iter().cloned().collect();
    let rows = 2 * BATCH_ROWS + 5_000;
    let mut text = "person_id,service,start_date,end_date,quantity,acute\n".to_owned();
    let (mut expected, mut rejected) = (Vec::new(), Vec::new());
    let mut line = 1u64;
    for n in 0..rows {
        let person = &ids[n % ids.len()];
        // Each row its own quantity, so only the planted copies repeat.
        let row = format!("{person},gp,2020-03-05,,{n},\n");
        text.push_str(&row);
        line += 1;
        expected.push((person.clone(), n as f64));
        // A copy right after, now and then: at chunk edges (4,096) and batch edges too.
        if n % 997 == 3 || n % CHUNK_ROWS == CHUNK_ROWS - 1 || n % BATCH_ROWS == BATCH_ROWS - 1 {
            text.push_str(&row);
            line += 1;
            rejected.push((line as i64, format!("duplicates the row on line {}", line - 1)));
        }
        // A row validation rejects.
        if n % 1_231 == 7 {
            writeln!(text, "{person},gp,2020-02-30,,{n},").expect("a String takes any text");
            line += 1;
            rejected.push((line as i64, "start_date".to_owned()));
        }
    }
    let (mut got, mut places, mut sizes) = (Vec::new(), Vec::new(), Vec::new());
    let streamed = stream_service_events(
        "e.csv",
        text.as_bytes(),
        &CsvOptions::default(),
        POLICY,
        &persons,
        &mut |b| {
            sizes.push(b.len());
            places.extend(b.places());
            got.extend(b.into_rows().into_iter().map(|e| (e.person_id, e.quantity.unwrap())));
            Ok(())
        },
    )
    .unwrap();
    assert_eq!(got, expected, "every accepted row, once, in file order");
    let want_places: Vec<Option<u32>> = got.iter().map(|(p, _)| persons.position(p)).collect();
    assert_eq!(places, want_places);
    assert_eq!(sizes, [BATCH_ROWS, BATCH_ROWS, rows - 2 * BATCH_ROWS]);
    let reasons: Vec<(i64, String)> = streamed
        .rejects
        .iter()
        .map(|r| {
            let what = r
                .column
                .clone()
                .unwrap_or_else(|| r.reason.trim_end_matches(" (every cell the same)").to_owned());
            (r.line, what)
        })
        .collect();
    assert_eq!(reasons, rejected);
    let s = &streamed.summary;
    assert_eq!((s.rows_read, s.rows_accepted), (line - 1, rows as u64));
    assert_eq!(s.rows_read, s.rows_accepted + s.rows_rejected);
}

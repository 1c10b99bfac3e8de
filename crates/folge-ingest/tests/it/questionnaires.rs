//! Questionnaire adapters end to end: REDCap exports read through a codebook built from
//! the data dictionary (raw and label exports, events as timepoints, checkbox `___`
//! columns, forms scored by scale definitions beside the dictionary), and Nettskjema's legacy tab-separated export with `Ja`/empty tick boxes.

use std::path::Path;

use folge_ingest::{
    Codebook, CsvOptions, IdPolicy, Ingested, PersonIndex, QuestionnaireOptions, ScaleDefinitions,
    add_scales, codebook_from_dictionary, read_questionnaire,
};

use folge_schema::tables::Response;

use super::{corpus, sample_persons};

fn data_sample(file: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data-sample").join(file)
}

fn fnr_column() -> CsvOptions {
    CsvOptions {
        columns: [("person_id".to_owned(), "fnr".to_owned())].into_iter().collect(),
        ..CsvOptions::default()
    }
}

fn redcap_codebook() -> Codebook {
    let dictionary =
        std::fs::File::open(data_sample("redcap_eq5d_dictionary.csv")).expect("sample dictionary");
    codebook_from_dictionary("redcap_eq5d_dictionary.csv", dictionary, "fnr").expect("codebook")
}

fn redcap_options() -> QuestionnaireOptions {
    QuestionnaireOptions {
        timepoint_column: Some("redcap_event_name".into()),
        instance_column: Some("redcap_repeat_instance".into()),
        timepoints: [("t0_arm_1", "T0"), ("t1_arm_1", "T1")]
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .into_iter()
            .collect(),
        ..QuestionnaireOptions::default()
    }
}

const POLICY: IdPolicy = IdPolicy { national: true, allow_synthetic: true };

#[test]
fn the_sample_redcap_export_reads_through_its_data_dictionary() {
    let codebook = redcap_codebook();
    assert_eq!(codebook.instruments.len(), 1);
    let eq5d = &codebook.instruments[0];
    let items: Vec<&str> = eq5d.items.iter().map(|i| i.name.as_str()).collect();
    assert_eq!(
        items,
        [
            "eq_mob",
            "eq_care",
            "eq_act",
            "eq_pain",
            "eq_anx",
            "eq_vas",
            "hjelp___1",
            "hjelp___2",
            "hjelp___3"
        ]
    );
    let (rows_in, got) = read_sample_redcap("redcap_eq5d_data.csv", &codebook);
    assert_eq!(got.rows.len(), rows_in * (9 + 1), "nine items and the comment per submission");
    let timepoints: std::collections::BTreeSet<&str> =
        got.rows.iter().map(|r| r.timepoint.as_str()).collect();
    assert_eq!(timepoints.into_iter().collect::<Vec<_>>(), ["T0", "T1"]);
    assert!(got.rows.iter().all(|r| r.instrument == "eq5d" && !r.identifier));
    assert!(got.rows.iter().all(|r| r.item != "fnr" && r.item != "record_id"));
    for r in got.rows.iter().filter(|r| r.item.starts_with("hjelp___")) {
        assert!([Some(0.0), Some(1.0)].contains(&r.value), "{r:?}");
    }
    assert!(got.rows.iter().any(|r| r.item == "kommentar" && r.text.is_some()));
}

/// The sample's REDCap PACIC project: its dictionary, scored by the sample pipeline's
/// scale definitions.
fn redcap_pacic_codebook() -> Codebook {
    let dictionary =
        std::fs::File::open(data_sample("redcap_pacic_dictionary.csv")).expect("sample dictionary");
    let mut codebook = codebook_from_dictionary("redcap_pacic_dictionary.csv", dictionary, "fnr")
        .expect("codebook");
    let scales = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../pipelines/codebooks/pacic_redcap.toml"),
    )
    .expect("scale definitions");
    let definitions: ScaleDefinitions = toml::from_str(&scales).expect("toml");
    add_scales(&mut codebook, &definitions).expect("the definitions fit the dictionary");
    codebook.check().expect("whole");
    codebook
}

#[test]
fn the_sample_redcap_pacic_reads_and_is_scored_through_its_dictionary() {
    let codebook = redcap_pacic_codebook();
    let [pacic] = codebook.instruments.as_slice() else { panic!("one form") };
    assert_eq!(pacic.name, "pacic_voksne");
    assert_eq!((pacic.items.len(), pacic.scale_range()), (20, Some((1.0, 5.0))));
    assert_eq!(pacic.scoring(), "mean");
    let subscale_items: usize = pacic.subscales.values().map(Vec::len).sum();
    assert_eq!((pacic.subscales.len(), subscale_items), (5, 20), "every item in one subscale");
    assert_eq!(pacic.items[0].labels.get("Nesten alltid"), Some(&5.0), "the choices' labels");
    let (rows_in, got) = read_sample_redcap("redcap_pacic_data.csv", &codebook);
    assert_eq!(got.rows.len(), rows_in * 20);
    assert!(got.rows.iter().all(|r| r.instrument == "pacic_voksne" && !r.identifier));
    assert!(got.rows.iter().filter_map(|r| r.value).all(|v| (1.0..=5.0).contains(&v)));
}

#[test]
fn a_redcap_missing_code_is_no_answer_once_the_scale_definitions_say_so() {
    let ids = std::fs::read_to_string(corpus().join("ids.txt")).unwrap();
    let persons: PersonIndex = ids.lines().map(str::to_owned).collect();
    let dictionary = "Variable / Field Name,Form Name,Section Header,Field Type,Field Label,\"Choices, Calculations, OR Slider Labels\",Field Note,Text Validation Type OR Show Slider Number,Text Validation Min,Text Validation Max,Identifier?,Branching Logic (Show field only if...),Required Field?,Custom Alignment,Question Number (surveys only),Matrix Group Name,Matrix Ranking?,Field Annotation\n\
         record_id,peq,,text,ID,,,,,,,,,,,,,\n\
         peq_1,peq,,radio,P1,\"1, Ikke i det hele tatt | 5, I svært stor grad | 9, Ikke aktuelt\",,,,,,,,,,,,\n\
         peq_2,peq,,radio,P2,\"1, Ikke i det hele tatt | 5, I svært stor grad | 9, Ikke aktuelt\",,,,,,,,,,,,\n";
    let mut codebook = codebook_from_dictionary("dd.csv", dictionary.as_bytes(), "fnr").unwrap();
    let definitions: ScaleDefinitions =
        toml::from_str("[[instruments]]\nname = \"peq\"\nmissing_codes = [9]\n").unwrap();
    add_scales(&mut codebook, &definitions).unwrap();
    let id = ids.lines().next().unwrap();
    let export = format!(
        "record_id,redcap_event_name,fnr,peq_1,peq_2,peq_complete\n1,t0_arm_1,{id},Ikke aktuelt,9\n2,t1_arm_1,{id},5,1\n"
    );
    let got = read_questionnaire(
        "peq.csv",
        export.as_bytes(),
        &fnr_column(),
        POLICY,
        &persons,
        &codebook,
        &redcap_options(),
    )
    .unwrap();
    assert_eq!(got.summary.rows_rejected, 0, "{:?}", got.rejects);
    let values: Vec<(&str, Option<f64>)> =
        got.rows.iter().map(|r| (r.timepoint.as_str(), r.value)).collect();
    assert_eq!(values, [("T0", None), ("T0", None), ("T1", Some(5.0)), ("T1", Some(1.0))]);
}

#[test]
fn a_redcap_label_export_reads_to_the_same_codes() {
    let ids = std::fs::read_to_string(corpus().join("ids.txt")).unwrap();
    let id: Vec<&str> = ids.lines().collect();
    let persons: PersonIndex = id.iter().map(|s| (*s).to_owned()).collect();
    let header = "record_id,redcap_event_name,redcap_repeat_instance,fnr,eq_mob,eq_care,eq_act,eq_pain,eq_anx,eq_vas,hjelp___1,hjelp___2,hjelp___3,kommentar,eq5d_complete";
    let text = format!(
        "{header}\n\
         1,T0 (Arm 1: Pilot),,{a},Nivå 2,Nivå 1,Nivå 1,Nivå 3,Nivå 1,70,Checked,Unchecked,Unchecked,,Complete\n\
         1,T0 (Arm 1: Pilot),2,{a},2,1,1,3,1,71,1,0,0,,Complete\n\
         2,T1 (Arm 1: Pilot),,{b},Nivå 9,1,1,1,1,50,0,0,0,,Incomplete\n\
         2,T0 (Arm 1: Pilot),,{b},1,1,1,1,1,50,0,0,0,,Incomplete\n",
        a = id[0],
        b = id[1]
    );
    let mut options = redcap_options();
    options.timepoints = [("T0 (Arm 1: Pilot)", "T0"), ("T1 (Arm 1: Pilot)", "T1")]
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .into_iter()
        .collect();
    options.complete_columns = vec!["eq5d_complete".into()];
    let got = read_questionnaire(
        "labels.csv",
        text.as_bytes(),
        &fnr_column(),
        POLICY,
        &persons,
        &redcap_codebook(),
        &options,
    )
    .unwrap();
    let value = |timepoint: &str, item: &str| {
        got.rows.iter().find(|r| r.timepoint == timepoint && r.item == item).and_then(|r| r.value)
    };
    assert_eq!(value("T0", "eq_mob"), Some(2.0), "`Nivå 2` is code 2");
    assert_eq!(value("T0", "hjelp___1"), Some(1.0), "`Checked` is ticked");
    assert_eq!(value("T0", "hjelp___2"), Some(0.0));
    assert_eq!(value("T0#2", "eq_mob"), Some(2.0), "a repeated instance keeps its number");
    let reasons: Vec<String> = got
        .rejects
        .iter()
        .map(|r| format!("{} {}: {}", r.line, r.column.as_deref().unwrap_or("-"), r.reason))
        .collect();
    assert_eq!(
        reasons,
        [
            "4 eq5d_complete: the form is not marked Complete (expected 2, found `Incomplete`), and this pipeline takes complete forms only",
            "5 eq5d_complete: the form is not marked Complete (expected 2, found `Incomplete`), and this pipeline takes complete forms only",
        ]
    );
    options.complete_columns.clear();
    let got = read_questionnaire(
        "labels.csv",
        text.as_bytes(),
        &fnr_column(),
        POLICY,
        &persons,
        &redcap_codebook(),
        &options,
    )
    .unwrap();
    let r = &got.rejects[0];
    assert_eq!(
        (r.line, r.column.as_deref(), r.reason.as_str()),
        (
            4,
            Some("eq_mob"),
            "a text (not shown, as it may name a person) is neither a number nor an answer label of this item"
        )
    );
    assert_eq!(got.summary.rows_accepted, 3);
}

#[test]
fn nettskjemas_legacy_export_reads_with_ja_tick_boxes() {
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let codebook: Codebook = toml::from_str(
        &std::fs::read_to_string(fixtures.join("nettskjema_legacy_codebook.toml")).unwrap(),
    )
    .unwrap();
    codebook.check().unwrap();
    let ids = std::fs::read_to_string(corpus().join("ids.txt")).unwrap();
    let persons: PersonIndex = ids.lines().map(str::to_owned).collect();
    let options = CsvOptions {
        columns: [("person_id".to_owned(), "fodselsnummer".to_owned())].into_iter().collect(),
        ..CsvOptions::default()
    };
    let questionnaire = QuestionnaireOptions {
        date_column: Some("Opprettet".into()),
        ..QuestionnaireOptions::fixed("T0")
    };
    let bytes = std::fs::read(fixtures.join("nettskjema_legacy.txt")).unwrap();
    let got = read_questionnaire(
        "nettskjema_legacy.txt",
        &bytes[..],
        &options,
        POLICY,
        &persons,
        &codebook,
        &questionnaire,
    )
    .unwrap();
    assert_eq!(
        (got.summary.rows_read, got.summary.rows_accepted, got.summary.rows_rejected),
        (5, 2, 3)
    );
    assert_eq!(got.warnings, ["nettskjema_legacy.txt: read as windows-1252 (not UTF-8)"]);
    let first: Vec<(String, Option<f64>)> =
        got.rows[..6].iter().map(|r| (r.item.clone(), r.value)).collect();
    assert_eq!(
        first,
        [
            ("trivsel_1".to_owned(), Some(4.0)),
            ("trivsel_2".to_owned(), Some(5.0)),
            ("Kommentar".to_owned(), None),
            ("Inklusjon_1".to_owned(), Some(1.0)),
            ("Inklusjon_2".to_owned(), Some(0.0)),
            ("Inklusjon_3".to_owned(), Some(1.0)),
        ]
    );
    assert_eq!(got.rows[2].text.as_deref(), Some("Bra oppfølging på Førde, takk til Åse."));
    assert_eq!(got.rows[0].response_date.map(|d| d.to_string()).as_deref(), Some("2020-02-03"));
    let reasons: Vec<String> = got
        .rejects
        .iter()
        .map(|r| format!("{} {}: {}", r.line, r.column.as_deref().unwrap_or("-"), r.reason))
        .collect();
    assert_eq!(
        reasons,
        [
            "4 person_id: duplicates the submission on line 2 (same person, timepoint `T0`)",
            "5 Inklusjon_2: a text (not shown, as it may name a person) is not a tick-box answer (expected 1/0, Ja or empty, Checked/Unchecked)",
            "6 trivsel_1: 6 is outside the `trivsel` scale 1–5",
        ]
    );
    for r in &got.rejects {
        assert!(ids.lines().all(|id| !r.reason.contains(id)));
    }
}

/// The sample's REDCap export `file` read through `codebook`, checked to reject no row:
/// its data rows and what was read.
fn read_sample_redcap(file: &str, codebook: &Codebook) -> (usize, Ingested<Response>) {
    let path = data_sample(file);
    let rows_in = std::fs::read_to_string(&path).expect("sample export").lines().count() - 1;
    let got = read_questionnaire(
        file,
        std::fs::File::open(&path).expect("sample export"),
        &fnr_column(),
        POLICY,
        &sample_persons(),
        codebook,
        &redcap_options(),
    )
    .expect("the sample export reads");
    let s = &got.summary;
    assert_eq!((s.rows_read as usize, s.rows_rejected), (rows_in, 0), "{:?}", got.rejects);
    (rows_in, got)
}

//! The ingest stage: every input read, validated and written to `01_ingest/` (rows in = rows
//! out + rows rejected), the REDCap conventions, and `folge validate`.

use std::collections::BTreeMap;
use std::fs::File;
use std::path::{Path, PathBuf};

use crate::parquet_io::{KeyedColumn, ParquetSink, PidColumn};
use arrow_array::RecordBatch;
use folge_ingest::{CsvOptions, IdPolicy, Ingested, Streamed};
use folge_schema::tables::{Coding, Participant, Reject, Response, ServiceEvent};
use folge_schema::{SchemaError, Table};
use tracing::{info, warn};

use crate::config::{IdKind, InputFile, InputFormat};
use crate::keys::resolve_key;
use crate::manifest::{InputRecord, OutputRecord, StageRecord, file_sha256_unless, inputs_sha256};
use crate::run_dir::{parquet, shown};
use crate::{Pipeline, PipelineError};

use super::{Context, Stage, context, write_table};

/// What ingest read: the participants (small, in memory), the other tables' reports
/// (their rows were streamed to Parquet, or only counted), and the input records.
pub(super) struct IngestResult {
    participants: Ingested<Participant>,
    events: Vec<Streamed>,
    /// One per codings input, in the pipeline file's order.
    codings: Vec<Ingested<Coding>>,
    questionnaires: Vec<Ingested<Response>>,
    inputs: Vec<InputRecord>,
}

/// Read a TOML file of `path` into `T`; a bad one is a configuration error with its line.
fn read_toml<T: serde::de::DeserializeOwned>(
    path: &Path,
    what: &str,
) -> Result<(T, String), PipelineError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| PipelineError::config_because(path, &format!("cannot read the {what}"), e))?;
    let value = toml::from_str(&text).map_err(|e: toml::de::Error| {
        // TOML's message without its excerpt: no source kept (see `error.rs`).
        let line = e.span().map(|s| text[..s.start.min(text.len())].matches('\n').count() + 1);
        PipelineError::config(path, line, e.message().trim())
    })?;
    Ok((value, text))
}

/// Load a questionnaire's codebook; a bad one is a configuration error with its line.
fn load_codebook(path: &Path) -> Result<folge_ingest::Codebook, PipelineError> {
    let (codebook, _): (folge_ingest::Codebook, _) = read_toml(path, "codebook")?;
    codebook.check().map_err(|message| PipelineError::config(path, None, message))?;
    Ok(codebook)
}

/// The codebook a questionnaire input is read and scored by: its `codebook`; or the one
/// built from its REDCap data dictionary, with the forms that its `codebook` of scale
/// definitions names scored (see `folge_ingest::add_scales`).
pub(super) fn questionnaire_codebook(
    file: &InputFile,
) -> Result<folge_ingest::Codebook, PipelineError> {
    let person_id_field = file.columns.get("person_id").map_or("person_id", String::as_str);
    match (&file.codebook, &file.redcap_dictionary) {
        (Some(path), None) => load_codebook(path),
        (scales, Some(dictionary)) => {
            let mut codebook = load_redcap_dictionary(dictionary, &file.role, person_id_field)?;
            if let Some(path) = scales {
                add_redcap_scales(&mut codebook, path)?;
            }
            Ok(codebook)
        }
        // Checked when the pipeline file is loaded.
        (None, None) => Err(PipelineError::bug(
            "a questionnaire has neither a codebook nor a REDCap dictionary",
        )),
    }
}

/// Add the scale definitions of `path` to a codebook built from a REDCap data dictionary;
/// a definition that does not fit the dictionary is a configuration error naming the file,
/// the line of its `[[instruments]]`, the instrument and the field.
fn add_redcap_scales(
    codebook: &mut folge_ingest::Codebook,
    path: &Path,
) -> Result<(), PipelineError> {
    let (definitions, text): (folge_ingest::ScaleDefinitions, _) =
        read_toml(path, "codebook of scale definitions")?;
    folge_ingest::add_scales(codebook, &definitions).map_err(|problem| {
        PipelineError::config(path, instrument_line(&text, problem.instrument), problem.message)
    })?;
    codebook.check().map_err(|message| PipelineError::config(path, None, message))
}

/// The line of the `index`th (0-based) `[[instruments]]` header of a TOML file, when the
/// entries are written as tables.
fn instrument_line(text: &str, index: usize) -> Option<usize> {
    text.lines()
        .enumerate()
        .filter(|(_, line)| line.trim_start().starts_with("[[instruments]]"))
        .nth(index)
        .map(|(number, _)| number + 1)
}

/// Build a codebook from a REDCap data dictionary; a bad one is a configuration error.
fn load_redcap_dictionary(
    path: &Path,
    role: &str,
    person_id_field: &str,
) -> Result<folge_ingest::Codebook, PipelineError> {
    let file = File::open(path).map_err(|e| {
        PipelineError::config_because(path, "cannot read the REDCap data dictionary", e)
    })?;
    let name = format!("{role}.redcap_dictionary");
    let config = |e: folge_ingest::IngestError| {
        // The message without the input's name (the file is named): it ends as the
        // error's text does, so the error is kept as the source.
        let text = e.to_string();
        let message = text.strip_prefix(&format!("{name} ")).unwrap_or(&text).to_owned();
        PipelineError::Config {
            file: path.to_owned(),
            line: None,
            message,
            source: Some(Box::new(e)),
        }
    };
    let codebook =
        folge_ingest::codebook_from_dictionary(&name, file, person_id_field).map_err(config)?;
    codebook.check().map_err(|message| PipelineError::config(path, None, message))?;
    Ok(codebook)
}

/// Melt one questionnaire export into responses.
pub(super) fn read_questionnaire(
    file: &InputFile,
    policy: IdPolicy,
    persons: &folge_ingest::PersonIndex,
) -> Result<Ingested<Response>, PipelineError> {
    // The scale definitions are read here too, so a bad one stops ingest (and `folge
    // validate`), not only the analysis that scores them.
    let mut codebook = questionnaire_codebook(file)?;
    let mut options = if file.redcap_dictionary.is_some() {
        folge_ingest::QuestionnaireOptions {
            timepoint_column: Some("redcap_event_name".into()),
            instance_column: Some("redcap_repeat_instance".into()),
            complete_columns: if file.require_complete {
                codebook.instruments.iter().map(|i| format!("{}_complete", i.name)).collect()
            } else {
                Vec::new()
            },
            ..folge_ingest::QuestionnaireOptions::default()
        }
    } else {
        folge_ingest::QuestionnaireOptions::default()
    };
    codebook.missing_text.extend(file.missing_text.iter().cloned());
    if file.timepoint.is_some() || file.timepoint_column.is_some() {
        options.timepoint.clone_from(&file.timepoint);
        options.timepoint_column.clone_from(&file.timepoint_column);
    }
    options.timepoints.clone_from(&file.timepoints);
    options.date_column.clone_from(&file.date_column);
    let (name, reader, csv) = tabular(file)?;
    Ok(folge_ingest::read_questionnaire(&name, reader, &csv, policy, persons, &codebook, &options)?)
}

/// Read one codings input: a REFI-QDA project or a long coding sheet (CSV or spreadsheet),
/// municipalities and roles checked against the pipeline's vocabularies, every row
/// labelled with the input's `source`.
pub(super) fn read_codings(
    file: &InputFile,
    vocabularies: &std::sync::Arc<folge_ingest::Vocabularies>,
) -> Result<Ingested<Coding>, PipelineError> {
    let read = match file.format {
        InputFormat::Qdpx => folge_ingest::read_qdpx(
            &file.role,
            file.source(),
            open(file)?,
            &folge_ingest::QdpxOptions {
                vocabularies: std::sync::Arc::clone(vocabularies),
                allow_empty: file.allow_empty,
                ..folge_ingest::QdpxOptions::default()
            },
        ),
        InputFormat::Csv | InputFormat::Xlsx => {
            let (name, reader, mut options) = tabular(file)?;
            options.vocabularies = std::sync::Arc::clone(vocabularies);
            folge_ingest::read_codings(&name, file.source(), reader, &options)
        }
    };
    Ok(read?)
}

pub(super) fn open(input: &InputFile) -> Result<File, PipelineError> {
    File::open(&input.path)
        .map_err(|e| PipelineError::io_because(&input.path, "cannot open the input", e))
}

/// A tabular input ready for the readers: its display name, the text to read, and the
/// options. A spreadsheet's sheet is converted to CSV text first, and named with it.
pub(super) fn tabular(
    input: &InputFile,
) -> Result<(String, Box<dyn std::io::Read>, CsvOptions), PipelineError> {
    tabular_through(input, None)
}

/// [`tabular`], a CSV file opened by `hashes` (see [`InputHashes::open`]) when given.
fn tabular_through(
    input: &InputFile,
    hashes: Option<&InputHashes>,
) -> Result<(String, Box<dyn std::io::Read>, CsvOptions), PipelineError> {
    let mut options = csv_options(input);
    match input.format {
        InputFormat::Xlsx => {
            let bytes = std::fs::read(&input.path)
                .map_err(|e| PipelineError::io_because(&input.path, "cannot open the input", e))?;
            let (csv, origin) = folge_ingest::sheet_to_csv(
                &input.role,
                std::io::Cursor::new(bytes),
                input.sheet.as_deref(),
            )?;
            let name = format!("{}, sheet `{}`", input.role, folge_schema::shown(&origin.sheet));
            options.sheet = Some(origin);
            Ok((name, Box::new(std::io::Cursor::new(csv)), options))
        }
        InputFormat::Csv | InputFormat::Qdpx => {
            let reader = match hashes {
                Some(hashes) => hashes.open(input)?,
                None => Box::new(open(input)?),
            };
            Ok((input.role.clone(), reader, options))
        }
    }
}

/// A streaming reader of an event table: rows must name a person in the participant list.
type EventStream<T> = fn(
    &str,
    Box<dyn std::io::Read>,
    &CsvOptions,
    IdPolicy,
    &folge_ingest::PersonIndex,
    &mut folge_ingest::Sink<'_, T>,
) -> Result<Streamed, folge_ingest::IngestError>;

pub(super) fn csv_options(file: &InputFile) -> CsvOptions {
    CsvOptions {
        delimiter: file.delimiter.map(|d| d as u8),
        // Checked when the pipeline file was loaded.
        encoding: file
            .encoding
            .as_deref()
            .and_then(|l| folge_ingest::Encoding::for_label(l.as_bytes())),
        columns: file.columns.clone(),
        layout: file.layout(),
        sheet: None,
        open_end: None,
        duplicates: file.duplicates(),
        duplicate_rows: file.duplicate_rows(),
        // In memory; `stream_table` gives event tables the stage folder's temporary files.
        spill: folge_ingest::SpillOptions::default(),
        date_order: file.date_order(),
        service_codes: file.service_codes(),
        // Open; the readers of the tables with lists get the pipeline's.
        vocabularies: std::sync::Arc::default(),
        allow_empty: file.allow_empty,
    }
}

/// Where ingest writes: the stage folder, the Parquet metadata without the inputs' hash
/// (`early`; the hash is added when a file is finished), and the output records.
pub(super) struct IngestOutput<'a> {
    dir: &'a Path,
    early: &'a BTreeMap<String, String>,
    outputs: &'a mut Vec<OutputRecord>,
}

/// The ingest record's note saying whether each service-event file held every person's
/// rows together (absent in records of earlier versions: then streaming is tried first).
pub(super) const EVENTS_GROUPED_NOTE: &str = "service_events_grouped_by_person";

/// The Parquet metadata key of the hash over every input.
pub(super) const INPUTS_SHA256_KEY: &str = "folge.inputs_sha256";

/// The inputs' records with their SHA-256, computed on a thread of their own while ingest
/// parses the files, so the hashing does not have to finish before the parsing starts. A
/// service-event CSV file (a registry delivery, the largest input by far) is read once:
/// the parser reads it through [`Teed`], which hands the thread every byte it read; the
/// other inputs are read again by the thread. Dropped before the records were asked for
/// (ingest failed), it stops the thread at its next read and waits for it.
pub(super) struct InputHashes {
    /// The thread reading inputs to hash them, and the one hashing what `Teed` readers
    /// send, each giving its inputs' records with their places in `Pipeline::inputs`.
    workers: Vec<std::thread::JoinHandle<Hashed>>,
    inputs: Vec<InputRecord>,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    /// Where [`Teed`] readers send what they read, while the records are not asked for.
    pieces: Option<std::sync::mpsc::SyncSender<(usize, Piece)>>,
    /// The inputs read through [`Teed`]: path, place in `Pipeline::inputs`, and whether
    /// it was opened (each once: a file listed twice is two inputs).
    teed: std::sync::Mutex<Vec<(PathBuf, usize, bool)>>,
}

/// What a thread hashing inputs gives: each input's record and its place in
/// `Pipeline::inputs`.
type Hashed = Result<Vec<(usize, InputRecord)>, PipelineError>;

/// What a [`Teed`] reader sends the hashing thread: bytes of input `usize` in file order,
/// then its end.
enum Piece {
    Bytes(Vec<u8>),
    End,
}

/// Bytes a [`Teed`] reader gathers before sending them on.
const TEED_BYTES: usize = 1 << 18;

/// An input file read by a parser that hands every byte it read to the thread hashing the
/// inputs (see [`InputHashes`]): the file is read from disk once, not once to parse it
/// and once more to hash it. What the parser did not read (it stopped at an error), the
/// thread reads itself.
pub(super) struct Teed {
    inner: File,
    input: usize,
    to_hasher: std::sync::mpsc::SyncSender<(usize, Piece)>,
    gathered: Vec<u8>,
}

impl Teed {
    fn send(&mut self) {
        if !self.gathered.is_empty() {
            let bytes = std::mem::replace(&mut self.gathered, Vec::with_capacity(TEED_BYTES));
            // A hashing thread that stopped has said why (or is no longer asked).
            let _ = self.to_hasher.send((self.input, Piece::Bytes(bytes)));
        }
    }
}

impl std::io::Read for Teed {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.gathered.extend_from_slice(&buf[..n]);
        if n == 0 || self.gathered.len() >= TEED_BYTES {
            self.send();
        }
        Ok(n)
    }
}

impl Drop for Teed {
    fn drop(&mut self) {
        self.send();
        let _ = self.to_hasher.send((self.input, Piece::End));
    }
}

/// Hash input `input` from the pieces its [`Teed`] reader sends, then whatever of the
/// file it did not read (nothing, unless parsing stopped early; all of it when no reader
/// sends any more).
fn hash_teed(
    (input, path): (usize, &Path),
    pieces: &std::sync::mpsc::Receiver<(usize, Piece)>,
    stop: &std::sync::atomic::AtomicBool,
) -> Result<Option<(String, u64)>, PipelineError> {
    let (mut hasher, mut total) = (<sha2::Sha256 as sha2::Digest>::new(), 0u64);
    while let Ok((from, piece)) = pieces.recv() {
        if from != input {
            return Err(PipelineError::bug(format!(
                "the inputs' hashing expected input {input} but got bytes of input {from}"
            )));
        }
        match piece {
            Piece::Bytes(bytes) => {
                sha2::Digest::update(&mut hasher, &bytes);
                total += bytes.len() as u64;
            }
            Piece::End => break,
        }
        if stop.load(std::sync::atomic::Ordering::Relaxed) {
            return Ok(None);
        }
    }
    crate::manifest::file_sha256_after(path, (hasher, total), stop)
}

impl Drop for InputHashes {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        // A thread waiting for pieces no reader will send.
        self.pieces = None;
        for worker in self.workers.drain(..) {
            // Its result is not wanted any more.
            let _ = worker.join();
        }
    }
}

impl InputHashes {
    /// Open every input (a missing one is reported here, before anything is read), then
    /// hash them in the background.
    fn start(pipeline: &Pipeline) -> Result<Self, PipelineError> {
        // Service-event CSV files are parsed through `Teed`, in this order.
        let files: Vec<(String, String, PathBuf, bool)> = pipeline
            .inputs()
            .into_iter()
            .map(|(t, f)| {
                let teed = t == "service_events" && f.format == InputFormat::Csv;
                (t.to_owned(), f.role.clone(), f.path.clone(), teed)
            })
            .collect();
        // Every input that cannot be opened, in one message, each by its place in the
        // pipeline file (never its file name, which may say whose data it is).
        let missing: Vec<String> = files
            .iter()
            .filter_map(|(_, role, path, _)| {
                std::fs::File::open(path).err().map(|e| {
                    let why = match e.kind() {
                        std::io::ErrorKind::NotFound => "there is no file at its `path`".to_owned(),
                        std::io::ErrorKind::PermissionDenied => {
                            "its file may not be read by this user".to_owned()
                        }
                        _ => format!("its file cannot be opened ({e})"),
                    };
                    format!("`{role}`: {why}")
                })
            })
            .collect();
        if !missing.is_empty() {
            return Err(PipelineError::config(
                &pipeline.file,
                None,
                format!(
                    "{} (paths are relative to the pipeline file's folder)",
                    missing.join("; ")
                ),
            ));
        }
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let teed = files
            .iter()
            .enumerate()
            .filter(|(_, (.., teed))| *teed)
            .map(|(i, (_, _, path, _))| (path.clone(), i, false))
            .collect::<Vec<_>>()
            .into();
        let (pieces, from_readers) = std::sync::mpsc::sync_channel::<(usize, Piece)>(16);
        // The inputs read through `Teed` on a thread of their own, so the others are not
        // left waiting for a registry delivery's parsing to end.
        let (read, teed_files): (Vec<_>, Vec<_>) =
            files.into_iter().enumerate().partition(|(_, (.., teed))| !teed);
        let hash =
            move |inputs: Vec<(usize, (String, String, PathBuf, bool))>,
                  stopped: std::sync::Arc<std::sync::atomic::AtomicBool>,
                  from_readers: Option<std::sync::mpsc::Receiver<(usize, Piece)>>| {
                move || {
                    inputs
                        .into_iter()
                        .map(|(i, (table, role, path, _))| {
                            let hashed = match &from_readers {
                                Some(pieces) => hash_teed((i, &path), pieces, &stopped)?,
                                None => file_sha256_unless(&path, &stopped)?,
                            };
                            let (sha256, bytes) = hashed.ok_or_else(|| {
                                PipelineError::io_message(&path, "hashing stopped")
                            })?;
                            let record = InputRecord {
                                table,
                                role,
                                sha256,
                                bytes,
                                rows_read: 0,
                                rows_accepted: 0,
                                rows_rejected: 0,
                            };
                            Ok((i, record))
                        })
                        .collect()
                }
            };
        let workers = vec![
            std::thread::spawn(hash(read, std::sync::Arc::clone(&stop), None)),
            std::thread::spawn(hash(teed_files, std::sync::Arc::clone(&stop), Some(from_readers))),
        ];
        Ok(InputHashes { workers, inputs: Vec::new(), stop, pieces: Some(pieces), teed })
    }

    /// `file` opened for parsing: through [`Teed`] when it is an input whose bytes the
    /// hashing thread takes from its parser (each such input opened once, in order).
    fn open(&self, file: &InputFile) -> Result<Box<dyn std::io::Read>, PipelineError> {
        let inner = open(file)?;
        let mut teed = self.teed.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let place = teed.iter_mut().find(|(path, _, opened)| *path == file.path && !opened).map(
            |(_, i, opened)| {
                *opened = true;
                *i
            },
        );
        Ok(match (place, &self.pieces) {
            (Some(input), Some(to_hasher)) => Box::new(Teed {
                inner,
                input,
                to_hasher: to_hasher.clone(),
                gathered: Vec::with_capacity(TEED_BYTES),
            }),
            _ => Box::new(inner),
        })
    }

    /// The records, waiting for the hashing to end.
    fn inputs(&mut self) -> Result<&mut Vec<InputRecord>, PipelineError> {
        // No more readers: a teed input not read (or not to its end) is read by the thread.
        self.pieces = None;
        if !self.workers.is_empty() {
            // Both joined before either's error is given.
            let joined: Vec<_> =
                self.workers.drain(..).map(std::thread::JoinHandle::join).collect();
            let mut records = Vec::new();
            for worker in joined {
                records.extend(
                    worker.map_err(|_| {
                        PipelineError::bug("a thread hashing the inputs panicked")
                    })??,
                );
            }
            // In the order of `Pipeline::inputs`.
            records.sort_by_key(|(i, _)| *i);
            self.inputs = records.into_iter().map(|(_, record)| record).collect();
        }
        Ok(&mut self.inputs)
    }

    /// The metadata entry that completes `early`: the hash over every input.
    fn late_metadata(&mut self) -> Result<BTreeMap<String, String>, PipelineError> {
        Ok(BTreeMap::from([(INPUTS_SHA256_KEY.to_owned(), inputs_sha256(self.inputs()?))]))
    }
}

/// Makes a batch of a table's rows (on the writer's thread).
type MakeBatch<T> =
    std::sync::Arc<dyn Fn(folge_ingest::Rows<T>) -> Result<RecordBatch, SchemaError> + Send + Sync>;

/// How a table's rows become the batches of its file: its schema, the making of a batch
/// (on the writer's thread) and the columns given as keys.
pub(super) struct Encode<T> {
    schema: arrow_schema::SchemaRef,
    batch: MakeBatch<T>,
    keyed: Vec<KeyedColumn>,
    /// Snappy (see [`ParquetSink::create_keyed`]).
    compressed: bool,
}

impl<T: Table> Encode<T> {
    /// The table's own schema and [`Table::to_batch`].
    pub(super) fn plain() -> Self {
        Encode {
            schema: T::schema(),
            batch: std::sync::Arc::new(|rows| T::to_batch(&rows.into_rows())),
            keyed: Vec::new(),
            compressed: true,
        }
    }
}

/// Service events with `person_id` keyed into the participants' ids (each row names one
/// of them: in a date-ordered delivery no id is copied into a column, interned or
/// compressed a row; a batch sorted by person is keyed into its own distinct ids, see
/// `TextDictionary::keys`) and `service` into the service codes (`folge_schema::keyed`);
/// the file reads back as text.
fn keyed_service_events(
    participants: &[folge_schema::tables::Participant],
    persons: &std::sync::Arc<folge_ingest::PersonIndex>,
) -> Encode<ServiceEvent> {
    let ids =
        folge_schema::keyed::TextDictionary::new(participants.iter().map(|p| p.person_id.as_str()));
    // A row group whose first batch is keyed into the list has every participant's id in
    // its dictionary page: worth it while the list is short beside the row group's rows
    // (up to about a million ids, 16 MiB, against row groups of up to 16 Mi rows). A
    // longer list's ids are interned as text, each page holding those its rows name.
    let key_ids = ids.page_bytes() <= KEYED_IDS_MAX_BYTES;
    let mut keyed = vec![KeyedColumn { name: "service", page_bytes: 0 }];
    if key_ids {
        keyed.push(KeyedColumn { name: "person_id", page_bytes: ids.page_bytes() });
    }
    let persons = std::sync::Arc::clone(persons);
    Encode {
        schema: folge_schema::keyed::service_events_schema(),
        batch: std::sync::Arc::new(move |batch| {
            // The rows where the validating threads left them, not moved.
            let mut rows: Vec<&ServiceEvent> = Vec::with_capacity(batch.len());
            rows.extend(batch.iter());
            let places = if key_ids {
                // Where validation found a row's place it is handed on; the others (ids
                // validated in full: written with a space, local ids, a list whose ids
                // are not all national ones) are looked up here, in one loop.
                let mut places: Vec<Option<u32>> = Vec::with_capacity(rows.len());
                places.extend(batch.places());
                let missing: Vec<usize> =
                    (0..rows.len()).filter(|&i| places[i].is_none()).collect();
                if !missing.is_empty() {
                    let found =
                        persons.positions(missing.iter().map(|&i| rows[i].person_id.as_str()));
                    for (i, place) in missing.into_iter().zip(found) {
                        places[i] = place;
                    }
                }
                places
            } else {
                // No place: the batch's ids in a dictionary of their own.
                vec![None; rows.len()]
            };
            folge_schema::keyed::service_events_batch(&rows, &ids, &places)
        }),
        keyed,
        compressed: false,
    }
}

/// The largest participant list whose ids zone 1's `person_id` is keyed into (see
/// `keyed_service_events`).
const KEYED_IDS_MAX_BYTES: usize = 16 << 20;

/// Stream the files of one event table into `<dir>/<table>.parquet`, one after another
/// (or only count them when there is no output, as `validate` does). A table the
/// pipeline does not name is written empty when `always` is set.
pub(super) fn stream_table<T: Table + Send + 'static>(
    files: &[&InputFile],
    (stream, encode): (EventStream<T>, Encode<T>),
    (policy, data_end, always): (IdPolicy, chrono::NaiveDate, bool),
    persons: &folge_ingest::PersonIndex,
    out: Option<&mut IngestOutput<'_>>,
    (hashes, vocabularies): (&mut InputHashes, &std::sync::Arc<folge_ingest::Vocabularies>),
) -> Result<Vec<Streamed>, PipelineError> {
    // An open period (a municipal decision without an end) runs to the end of data.
    let tabular = |f: &InputFile| {
        tabular_through(f, Some(hashes)).map(|(name, reader, mut options)| {
            options.open_end = Some(data_end);
            options.vocabularies = std::sync::Arc::clone(vocabularies);
            (name, reader, options)
        })
    };
    let Some(out) = out else {
        return files
            .iter()
            .map(|f| {
                let (name, reader, options) = tabular(f)?;
                stream(&name, reader, &options, policy, persons, &mut |_| Ok(()))
                    .map_err(PipelineError::from)
            })
            .collect();
    };
    if files.is_empty() && !always {
        return Ok(Vec::new());
    }
    let file = parquet::<T>();
    let path = out.dir.join(&file);
    // Turned into columns and encoded on a second thread while this one reads and
    // validates.
    let mut sink = ParquetSink::create_keyed(
        &path,
        encode.schema,
        out.early,
        PidColumn::Dictionary,
        (&encode.keyed, encode.compressed),
    )?
    .in_background();
    let mut streamed = Vec::with_capacity(files.len());
    // The duplicate check's records beyond its budget go to temporary files here.
    let spill: std::sync::Arc<dyn folge_ingest::SpillStore> =
        std::sync::Arc::new(crate::spill::SpillFolder::new(out.dir));
    for f in files {
        let (name, reader, mut options) = tabular(f)?;
        options.spill.store = std::sync::Arc::clone(&spill);
        streamed.push(stream(&name, reader, &options, policy, persons, &mut |rows| {
            let batch = std::sync::Arc::clone(&encode.batch);
            sink.write_with(move || batch(rows)).map_err(folge_ingest::SinkError::from)
        })?);
    }
    let written = sink.finish_with(hashes.late_metadata()?)?;
    out.outputs.push(OutputRecord {
        path: shown(Stage::Ingest, &file),
        sha256: written.sha256,
        rows: Some(written.rows as u64),
    });
    Ok(streamed)
}

/// Hash the inputs, read participants, stream the event tables (into `01_ingest/` when
/// `out_dir` is given), and fill in each input's row counts.
pub(super) fn read_inputs(
    ctx: &Context<'_>,
    out_dir: Option<&Path>,
    outputs: &mut Vec<OutputRecord>,
) -> Result<IngestResult, PipelineError> {
    let pipeline = ctx.pipeline;
    let c = &pipeline.config;
    let policy = IdPolicy {
        national: c.id_kind == IdKind::National,
        allow_synthetic: c.allow_synthetic_ids,
    };
    let mut hashes = InputHashes::start(pipeline)?;
    let mut early = ctx.metadata(Stage::Ingest, "");
    early.remove(INPUTS_SHA256_KEY);
    let p = &c.inputs.participants;
    let (name, reader, mut options) = tabular(p)?;
    options.vocabularies = std::sync::Arc::clone(&pipeline.vocabularies);
    let mut participants = folge_ingest::read_participants(&name, reader, &options, policy)?;
    let mut out = out_dir.map(|dir| IngestOutput { dir, early: &early, outputs });
    let persons = std::sync::Arc::new(folge_ingest::PersonIndex::new(&participants.rows));
    let service_events = stream_table(
        &c.inputs.service_events.iter().collect::<Vec<_>>(),
        (folge_ingest::stream_service_events, keyed_service_events(&participants.rows, &persons)),
        (policy, c.data_end, true),
        &persons,
        out.as_mut(),
        (&mut hashes, &pipeline.vocabularies),
    )?;
    let service_counts = stream_table(
        &c.inputs.service_counts.iter().collect::<Vec<_>>(),
        (folge_ingest::stream_service_counts, Encode::plain()),
        (policy, c.data_end, false),
        &persons,
        out.as_mut(),
        (&mut hashes, &pipeline.vocabularies),
    )?;
    let process_events = stream_table(
        &c.inputs.process_events.iter().collect::<Vec<_>>(),
        (folge_ingest::stream_process_events, Encode::plain()),
        (policy, c.data_end, true),
        &persons,
        out.as_mut(),
        (&mut hashes, &pipeline.vocabularies),
    )?;
    // In the order of `Pipeline::inputs`, which the input records follow.
    let events: Vec<Streamed> =
        service_events.into_iter().chain(service_counts).chain(process_events).collect();
    // Deaths recorded at discharge complete the participant list before it is written.
    let deaths: Vec<(String, chrono::NaiveDate)> =
        events.iter().flat_map(|e| e.deaths.iter().cloned()).collect();
    if !deaths.is_empty() {
        let exits = folge_ingest::complete_exits(&mut participants.rows, &deaths);
        info!(
            "deaths recorded in service use: {} completed a participant's missing exit, {} agreed with the participant list",
            exits.completed, exits.agreed
        );
        if exits.disagreed > 0 {
            participants.warnings.push(format!(
                "{} deaths recorded in service use disagree with the participant list's exit (another exit or day, or before inclusion); the participant list is kept",
                exits.disagreed
            ));
        }
    }
    let mut metadata = early.clone();
    metadata.append(&mut hashes.late_metadata()?);
    if let Some(out) = out.as_mut() {
        write_table((out.dir, Stage::Ingest), &participants.rows, &metadata, out.outputs)?;
    }
    // Every codings input into one table, in the pipeline file's order; each keeps its
    // own summary (rows in = rows out + rejected per input) and rejects.
    let codings = c
        .inputs
        .codings
        .iter()
        .map(|f| read_codings(f, &pipeline.vocabularies))
        .collect::<Result<Vec<_>, _>>()?;
    if let (Some(out), false) = (out.as_mut(), codings.is_empty()) {
        let rows: Vec<Coding> = codings.iter().flat_map(|c| c.rows.iter().cloned()).collect();
        write_table((out.dir, Stage::Ingest), &rows, &metadata, out.outputs)?;
    }
    let questionnaires = c
        .inputs
        .questionnaires
        .values()
        .map(|f| read_questionnaire(f, policy, &persons))
        .collect::<Result<Vec<_>, _>>()?;
    if let (Some(out), false) = (out.as_mut(), c.inputs.questionnaires.is_empty()) {
        let responses: Vec<Response> =
            questionnaires.iter().flat_map(|q| q.rows.iter().cloned()).collect();
        write_table((out.dir, Stage::Ingest), &responses, &metadata, out.outputs)?;
    }
    let summaries = std::iter::once(&participants.summary)
        .chain(events.iter().map(|e| &e.summary))
        .chain(codings.iter().map(|c| &c.summary))
        .chain(questionnaires.iter().map(|q| &q.summary));
    let mut inputs = std::mem::take(hashes.inputs()?);
    for (input, summary) in inputs.iter_mut().zip(summaries) {
        input.rows_read = summary.rows_read;
        input.rows_accepted = summary.rows_accepted;
        input.rows_rejected = summary.rows_rejected;
    }
    for warning in participants
        .warnings
        .iter()
        .chain(events.iter().flat_map(|e| &e.warnings))
        .chain(codings.iter().flat_map(|c| &c.warnings))
        .chain(questionnaires.iter().flat_map(|q| &q.warnings))
    {
        warn!("{warning}");
    }
    Ok(IngestResult { participants, events, codings, questionnaires, inputs })
}

/// What `folge validate` found.
#[derive(Debug, Clone)]
pub struct Validation {
    /// Per-input counts.
    pub inputs: Vec<InputRecord>,
    /// Inputs whose rejected share exceeds the pipeline's limit.
    pub over_limit: Vec<String>,
    /// The first [`VALIDATE_REJECTS`] rejected rows of each input, in the order of
    /// `inputs` (line, column and reason; never the row itself).
    pub rejects: Vec<Vec<Reject>>,
}

/// Inputs whose rejected share is over the limit, each as a sentence ending in `see`
/// (where the reasons are).
pub(super) fn over_limit(pipeline: &Pipeline, inputs: &[InputRecord], see: &str) -> Vec<String> {
    let max = pipeline.config.ingest.max_reject_share;
    inputs
        .iter()
        .filter(|i| i.rows_read > 0 && i.rows_rejected as f64 / i.rows_read as f64 > max)
        .map(|i| {
            format!(
                "{}: {} of {} rows rejected ({:.1} %), more than the limit of {:.1} % (`ingest.max_reject_share`); {see}",
                i.role,
                i.rows_rejected,
                i.rows_read,
                100.0 * i.rows_rejected as f64 / i.rows_read as f64,
                100.0 * max
            )
        })
        .collect()
}

/// Rejected rows `folge validate` shows of each input (it writes no rejects table).
pub const VALIDATE_REJECTS: usize = 5;

/// Check the configuration, the key and every input without writing anything.
pub fn validate(pipeline: &Pipeline) -> Result<Validation, PipelineError> {
    resolve_key(pipeline)?;
    let result = read_inputs(&context(pipeline), None, &mut Vec::new())?;
    let over_limit =
        over_limit(pipeline, &result.inputs, "the first rejected rows and why are listed above");
    let first =
        |rejects: &[Reject]| rejects.iter().take(VALIDATE_REJECTS).cloned().collect::<Vec<_>>();
    let rejects = std::iter::once(first(&result.participants.rejects))
        .chain(result.events.iter().map(|e| first(&e.rejects)))
        .chain(result.codings.iter().map(|c| first(&c.rejects)))
        .chain(result.questionnaires.iter().map(|q| first(&q.rejects)))
        .collect();
    Ok(Validation { inputs: result.inputs, over_limit, rejects })
}

/// The ingest stage, writing into `dir`; with `give`, the participant list is left there
/// for deid. More rejected rows than the limit fail it after everything is written: the
/// record says why (and the rejects are there to look at), and no stage reads it.
pub(super) fn run(
    ctx: &Context<'_>,
    dir: &Path,
    give: Option<&mut Option<Vec<Participant>>>,
) -> Result<StageRecord, PipelineError> {
    let mut outputs = Vec::new();
    let result = read_inputs(ctx, Some(dir), &mut outputs)?;
    let metadata = ctx.metadata(Stage::Ingest, &inputs_sha256(&result.inputs));
    let rejects: Vec<Reject> = result
        .participants
        .rejects
        .iter()
        .chain(result.events.iter().flat_map(|e| &e.rejects))
        .chain(result.codings.iter().flat_map(|c| &c.rejects))
        .chain(result.questionnaires.iter().flat_map(|q| &q.rejects))
        .cloned()
        .collect();
    write_table((dir, Stage::Ingest), &rejects, &metadata, &mut outputs)?;
    for i in &result.inputs {
        info!(
            "{} ({}…): {} rows read, {} accepted, {} rejected",
            i.role,
            &i.sha256[..12],
            i.rows_read,
            i.rows_accepted,
            i.rows_rejected
        );
    }
    let see = format!("see {} for why", shown(Stage::Ingest, &parquet::<Reject>()));
    let problems = over_limit(ctx.pipeline, &result.inputs, &see);
    let failed = (!problems.is_empty()).then(|| problems.join("; "));
    // Read by deid and analyze: service events not grouped by person (a date-ordered
    // registry delivery) are sorted out by person in parts from the start.
    let service_event_files = ctx.pipeline.config.inputs.service_events.len();
    let grouped = result.events.iter().take(service_event_files).all(|e| e.grouped_by_person);
    let notes = BTreeMap::from([(EVENTS_GROUPED_NOTE.to_owned(), grouped.into())]);
    if let (Some(slot), None) = (give, &failed) {
        *slot = Some(result.participants.rows);
    }
    Ok(StageRecord {
        stage: "ingest".into(),
        seconds: 0.0,
        inputs: result.inputs,
        outputs,
        notes,
        failed,
        made_from: None,
    })
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;

    const DICTIONARY: &str = "Variable / Field Name,Form Name,Section Header,Field Type,Field Label,\"Choices, Calculations, OR Slider Labels\",Field Note,Text Validation Type OR Show Slider Number,Text Validation Min,Text Validation Max,Identifier?,Branching Logic (Show field only if...),Required Field?,Custom Alignment,Question Number (surveys only),Matrix Group Name,Matrix Ranking?,Field Annotation
record_id,pacic,,text,ID,,,,,,,,,,,,,
fnr,pacic,,text,Fødselsnummer,,,,,,y,,,,,,,
p1,pacic,,radio,P1,\"1, Nesten aldri | 5, Nesten alltid\",,,,,,,,,,,,
p2,pacic,,radio,P2,\"1, Nesten aldri | 5, Nesten alltid\",,,,,,,,,,,,
p3,pacic,,radio,P3,\"1, Nesten aldri | 5, Nesten alltid\",,,,,,,,,,,,
";

    /// A pipeline in `dir` with one REDCap input (`pacic`: a form of three items on 1–5,
    /// `p1` … `p3`) whose scale definitions are `scales`.
    pub(in crate::stages) fn redcap_pipeline(dir: &Path, scales: &str) -> Pipeline {
        std::fs::write(dir.join("dd.csv"), DICTIONARY).unwrap();
        std::fs::write(dir.join("scales.toml"), scales).unwrap();
        let text = "name = \"t\"\noutput = \"runs/t\"\ndata_end = \"2021-12-31\"\n\
                    [inputs.participants]\npath = \"p.csv\"\n\
                    [inputs.questionnaires.pacic]\npath = \"q.csv\"\n\
                    redcap_dictionary = \"dd.csv\"\ncodebook = \"scales.toml\"\n\
                    columns = { person_id = \"fnr\" }\n";
        Pipeline::parse(&dir.join("t.toml"), text).unwrap()
    }

    /// The codebook the input of [`redcap_pipeline`] is read and scored by.
    fn redcap_with(scales: &str) -> Result<folge_ingest::Codebook, PipelineError> {
        let dir = tempfile::tempdir().unwrap();
        let pipeline = redcap_pipeline(dir.path(), scales);
        questionnaire_codebook(&pipeline.config.inputs.questionnaires["pacic"])
    }

    /// A service-event file is hashed from what its parser read (`Teed`), in pieces: each
    /// input's hash is its file's, a file listed twice is hashed twice, and what a reader
    /// left unread (it stopped early) the hashing thread reads itself.
    #[test]
    fn teed_inputs_hash_as_their_files() {
        use std::io::Read;
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        let text = std::fs::read_to_string(root.join("pipelines/sample.toml")).unwrap();
        let pipeline = Pipeline::parse(&root.join("pipelines/sample.toml"), &text).unwrap();
        let events = &pipeline.config.inputs.service_events[0];
        assert!(std::fs::metadata(&events.path).unwrap().len() > 3 * TEED_BYTES as u64);
        let file_hash = |path: &Path| crate::manifest::sha256_hex(&std::fs::read(path).unwrap());
        let mut twice = pipeline.clone();
        twice.config.inputs.service_events.push(events.clone());
        for pipeline in [&pipeline, &twice] {
            let inputs = validate(pipeline).unwrap().inputs;
            let files = pipeline.inputs();
            assert_eq!(inputs.len(), files.len());
            for (input, (_, file)) in inputs.iter().zip(&files) {
                assert_eq!(input.sha256, file_hash(&file.path), "{}", input.role);
                assert_eq!(input.bytes, std::fs::metadata(&file.path).unwrap().len());
            }
        }
        // A reader that stops a little way in.
        let mut hashes = InputHashes::start(&pipeline).unwrap();
        let mut reader = hashes.open(events).unwrap();
        let opened =
            |h: &InputHashes| h.teed.lock().unwrap().iter().map(|t| t.2).collect::<Vec<_>>();
        assert_eq!(opened(&hashes), [true], "the service events go through `Teed`");
        let mut some = vec![0u8; TEED_BYTES + 1000];
        reader.read_exact(&mut some).unwrap();
        drop(reader);
        let inputs = hashes.inputs().unwrap();
        assert_eq!(inputs[1].sha256, file_hash(&events.path));
    }

    #[test]
    fn redcap_scales_are_added_to_the_dictionarys_forms() {
        let codebook = redcap_with(
            "[[instruments]]\nname = \"pacic\"\nreverse = [\"p3\"]\n\
             [instruments.subscales]\nfirst = [\"p1\", \"p2\"]\n",
        )
        .unwrap();
        let pacic = &codebook.instruments[0];
        assert_eq!((pacic.scoring(), pacic.scale_range()), ("mean", Some((1.0, 5.0))));
        assert_eq!((pacic.reverse.as_slice(), pacic.items.len()), (&["p3".to_owned()][..], 3));
    }

    #[test]
    fn a_scale_definition_the_dictionary_lacks_names_file_line_instrument_and_field() {
        let message = |scales: &str| {
            let err = redcap_with(scales).unwrap_err();
            let text = err.to_string();
            // The temporary folder's name differs per run: keep the file's own name.
            text[text.find("scales.toml").unwrap()..].to_owned()
        };
        assert_eq!(
            message("# PACIC\n\n[[instruments]]\nname = \"pacik\"\n"),
            "scales.toml line 3: instrument `pacik`: the REDCap data dictionary has no form `pacik`; did you mean `pacic`? (its forms with answers: `pacic`)"
        );
        assert_eq!(
            message(
                "[[instruments]]\nname = \"pacic\"\n\n[instruments.subscales]\nfirst = [\"p1\", \"pp3\"]\n"
            ),
            "scales.toml line 1: instrument `pacic`: subscale `first` names `pp3`, which is not a field of form `pacic` in the REDCap data dictionary; did you mean `p3`?"
        );
        assert_eq!(
            message("[[instruments]]\nname = \"pacic\"\nminimum = 0.5\n"),
            "scales.toml line 3: unknown field `minimum`, expected one of `name`, `score`, `min_answered`, `reverse`, `subscales`, `missing_codes`, `items`, `min`, `max`, `labels`"
        );
        assert!(
            redcap_with("[[instruments]]\nname = \"pacic\"\nscore = \"median\"\n")
                .unwrap_err()
                .to_string()
                .ends_with(
                    "instrument `pacic`: `score = \"median\"` is not `mean`, `sum` or `none`"
                )
        );
    }
}

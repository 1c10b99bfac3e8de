//! Parquet files as folge writes them: one file per table, key-value metadata
//! (`folge.version`, `folge.pipeline`, `folge.params_sha256`, `folge.inputs_sha256`),
//! Snappy, and atomic replacement (temp file in the same folder, fsync, rename) so a crash
//! never leaves half a file under the final name.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

use arrow_array::RecordBatch;
use parquet::arrow::ArrowWriter;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::arrow::arrow_writer::ArrowWriterOptions;
use parquet::basic::Compression;
use parquet::file::metadata::KeyValue;
use parquet::file::properties::{EnabledStatistics, WriterProperties};

use folge_schema::{Categories, SchemaError};

/// Reading or writing `path` failed with `cause` (I/O, Parquet), kept as the source.
fn io_error(path: &Path, cause: impl std::error::Error + Send + Sync + 'static) -> SchemaError {
    SchemaError::Io {
        path: path.to_owned(),
        message: cause.to_string(),
        source: Some(Box::new(cause)),
    }
}

/// Something is wrong with `path`, said in words.
fn io_message(path: &Path, message: &str) -> SchemaError {
    SchemaError::Io { path: path.to_owned(), message: message.to_owned(), source: None }
}

/// Write `path` atomically: `write` fills a temp file beside it, which is synced and
/// renamed over `path` only when `write` succeeded. On error the temp file is removed.
pub fn write_atomic(
    path: &Path,
    write: impl FnOnce(&mut File) -> Result<(), SchemaError>,
) -> Result<(), SchemaError> {
    let tmp = temp_path(path)?;
    let result = (|| {
        let mut file = File::create(&tmp).map_err(|e| io_error(&tmp, e))?;
        write(&mut file)?;
        file.flush().map_err(|e| io_error(&tmp, e))?;
        file.sync_all().map_err(|e| io_error(&tmp, e))?;
        std::fs::rename(&tmp, path).map_err(|e| io_error(path, e))
    })();
    if result.is_err() {
        // Best effort: the temp file is ours and incomplete.
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// Write bytes atomically (CSV, JSON, HTML, SVG …).
pub fn write_bytes_atomic(path: &Path, bytes: &[u8]) -> Result<(), SchemaError> {
    write_atomic(path, |file| file.write_all(bytes).map_err(|e| io_error(path, e)))
}

fn temp_path(path: &Path) -> Result<PathBuf, SchemaError> {
    let dir = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let file_name = path.file_name().ok_or_else(|| io_message(path, "is not a file path"))?;
    Ok(dir.join(format!(".{}.tmp-{}", file_name.to_string_lossy(), std::process::id())))
}

/// Room for the dictionary of a `pid` column chunk: every participant's 32-character
/// pseudonym in one row group of a date-ordered extract. At the writer's default (1 MiB)
/// the `pid` column of 200,000 persons ran out of room and fell back to plain text, 32
/// bytes a row: the de-identified events of 10 million rows took 335 MB (and the time to
/// compress, hash and write them) instead of 101 MB, for about the same time spent
/// interning. Zone 1's `person_id` is keyed instead ([`KeyedColumn`]).
const PID_DICTIONARY_PAGE_BYTES: usize = 8 << 20;

/// The most rows in a row group of a file with keyed columns (the event stage files): a
/// row group's dictionary pages hold every id or pseudonym its rows name, which in a
/// date-ordered delivery is nearly every participant, so each row group repeats them. At
/// the writer's default of 1,048,576 rows the bench's 10 million date-ordered events
/// (200,000 persons) took ten copies of each: zone 1's file 62.5 MB, zone 2's 117.4 MB,
/// against 35.5 MB and 54.4 MB in one row group, and writing, hashing and reading back the
/// copies cost about 0.5 s of CPU of the run's 13. A writer holds its row group's encoded
/// pages until the group is full, so [`EVENT_ROW_GROUP_BYTES`] bounds that memory.
const EVENT_ROW_GROUP_ROWS: usize = 1 << 24;

/// The most encoded bytes (as the writer estimates them) in a row group of an event stage
/// file: what its writer holds in memory at most (see [`EVENT_ROW_GROUP_ROWS`]).
const EVENT_ROW_GROUP_BYTES: usize = 128 << 20;

/// A `pid` dictionary page with room for every one of `persons` pseudonyms (32
/// characters and a 4-byte length each), and at least [`PID_DICTIONARY_PAGE_BYTES`].
fn pid_page_bytes(persons: usize) -> usize {
    PID_DICTIONARY_PAGE_BYTES.max(persons * 36 + (64 << 10))
}

/// How a table's `pid` column is stored (what a reader gets is the same text).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PidColumn {
    /// Dictionary-encoded (up to 8 MiB of dictionary a column chunk): small
    /// files; rows grouped by person become runs of one index.
    Dictionary,
    /// Batches give `pid` as `UInt32` keys into one dictionary of `persons` pseudonyms
    /// shared by every batch (`folge_deid::EventDeidentifier::keyed`): each column chunk's
    /// dictionary page holds them all, in order, and a row is its key, bit-packed (the
    /// vendored writer's patch; see `vendor/README.md`). For service events not grouped by
    /// person: no pseudonym is interned, copied or hashed a row (the bench's 10 million
    /// events: a 116 MB file instead of 381 MB). The file's schema says text, so every reader gets the
    /// pseudonyms as text, as from `Dictionary`.
    Keyed {
        /// Pseudonyms in the dictionary.
        persons: usize,
    },
    /// Dictionary-encoded as `Dictionary`, with room for every one of `persons`
    /// pseudonyms: the service events of a delivery grouped by person, whose row groups
    /// (up to [`EVENT_ROW_GROUP_ROWS`]) can name more persons than 8 MiB holds (about
    /// 233,000), past which the rest of a row group's pseudonyms would be plain text.
    Interned {
        /// Participants whose pseudonyms the file can hold.
        persons: usize,
    },
}

/// A text column whose batches give `UInt32` keys into one dictionary shared by all of
/// them (`folge_schema::keyed`): service events' `service`, and zone 1's `person_id` of
/// a delivery's participants. Its dictionary page has room for the whole dictionary (so
/// it never falls back to plain text) and it has no statistics (so the writer stores each
/// key as the page's index without looking at its value: the vendored patch, see
/// `vendor/README.md`). A file with a keyed column carries no Arrow schema: every reader
/// decodes the column as text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyedColumn {
    /// The column.
    pub name: &'static str,
    /// Bytes of its dictionary page (values and their 4-byte lengths).
    pub page_bytes: usize,
}

/// A Parquet file written batch by batch (streaming: memory holds one row group, not the
/// table) and published atomically by [`ParquetSink::finish`]. Dropped unfinished — after
/// an error — it removes its temp file, so no half file ever carries the final name.
pub struct ParquetSink {
    path: PathBuf,
    tmp: PathBuf,
    writer: Option<ArrowWriter<Hashed<File>>>,
    rows: usize,
    /// Text columns written as ordered dictionaries, and the table's name for errors.
    categories: Option<(Categories, &'static str)>,
}

impl std::fmt::Debug for ParquetSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ParquetSink")
            .field("path", &self.path)
            .field("rows", &self.rows)
            .finish_non_exhaustive()
    }
}

impl ParquetSink {
    /// Start writing `path` with folge's key-value metadata (sorted by key, so files are
    /// byte-identical run to run).
    pub fn create(
        path: &Path,
        schema: arrow_schema::SchemaRef,
        metadata: &BTreeMap<String, String>,
    ) -> Result<Self, SchemaError> {
        Self::create_with(path, schema, metadata, PidColumn::Dictionary)
    }

    /// [`ParquetSink::create`] with the `pid` column stored as `pid`: see [`PidColumn`].
    pub fn create_with(
        path: &Path,
        schema: arrow_schema::SchemaRef,
        metadata: &BTreeMap<String, String>,
        pid: PidColumn,
    ) -> Result<Self, SchemaError> {
        Self::create_keyed(path, schema, metadata, pid, (&[], true))
    }

    /// [`ParquetSink::create_with`] with the columns `keyed` names given as keys (see
    /// [`KeyedColumn`]), and snappy compression only when `compressed`. The event stage
    /// files are written uncompressed: their pages are dictionary indices, bit-packed
    /// (dates, days, codes, persons), which snappy hardly made smaller (the bench's 10
    /// million date-ordered events: zone 1's file 62.4 MB with snappy, 62.5 MB without).
    pub fn create_keyed(
        path: &Path,
        schema: arrow_schema::SchemaRef,
        metadata: &BTreeMap<String, String>,
        pid: PidColumn,
        (keyed, compressed): (&[KeyedColumn], bool),
    ) -> Result<Self, SchemaError> {
        let key_values =
            metadata.iter().map(|(k, v)| KeyValue::new(k.clone(), v.clone())).collect::<Vec<_>>();
        let column = parquet::schema::types::ColumnPath::from("pid");
        // No minimum and maximum for a person's id or pseudonym: they would tell no reader
        // anything (no query selects a range of ids), and comparing every row's id with
        // the page's extremes was, in a profile, about a tenth of writing a date-ordered
        // delivery's events.
        let props = WriterProperties::builder()
            .set_compression(if compressed {
                Compression::SNAPPY
            } else {
                Compression::UNCOMPRESSED
            })
            .set_key_value_metadata(Some(key_values))
            .set_column_statistics_enabled(column.clone(), EnabledStatistics::None)
            .set_column_statistics_enabled("person_id".into(), EnabledStatistics::None);
        let props = match pid {
            PidColumn::Dictionary => {
                props.set_column_dictionary_page_size_limit(column, PID_DICTIONARY_PAGE_BYTES)
            }
            // Room for every pseudonym (32 characters and a 4-byte length each), so the
            // page never falls back to plain text.
            PidColumn::Interned { persons } => {
                props.set_column_dictionary_page_size_limit(column, pid_page_bytes(persons))
            }
            // As `Interned`; keys of random persons and hex text do not compress.
            PidColumn::Keyed { persons } => props
                .set_column_dictionary_page_size_limit(column.clone(), pid_page_bytes(persons))
                .set_column_compression(column, Compression::UNCOMPRESSED),
        };
        // The event stage files in row groups as large as `EVENT_ROW_GROUP_*` allow.
        let props = if keyed.is_empty() {
            props
        } else {
            props
                .set_max_row_group_row_count(Some(EVENT_ROW_GROUP_ROWS))
                .set_max_row_group_bytes(Some(EVENT_ROW_GROUP_BYTES))
        };
        let props = keyed
            .iter()
            .fold(props, |props, k| {
                let column = parquet::schema::types::ColumnPath::from(k.name);
                props
                    .set_column_statistics_enabled(column.clone(), EnabledStatistics::None)
                    .set_column_dictionary_page_size_limit(
                        column,
                        (k.page_bytes + (64 << 10)).max(1 << 20),
                    )
            })
            .build();
        let tmp = temp_path(path)?;
        let file = File::create(&tmp).map_err(|e| io_error(&tmp, e))?;
        let file = Hashed { inner: file, hasher: sha2::Sha256::default(), bytes: 0 };
        // A keyed `pid` is stored as the text it stands for: no Arrow schema in the file
        // saying "dictionary", so readers decode text, as from any other stage file (the
        // other columns' types are the ones Parquet's own types give back).
        let options = ArrowWriterOptions::new()
            .with_properties(props)
            .with_skip_arrow_metadata(matches!(pid, PidColumn::Keyed { .. }) || !keyed.is_empty());
        let writer = ArrowWriter::try_new_with_options(file, schema, options)
            .map_err(|e| io_error(path, e))?;
        Ok(ParquetSink {
            path: path.to_owned(),
            tmp,
            writer: Some(writer),
            rows: 0,
            categories: None,
        })
    }

    /// [`ParquetSink::create`] for a file people read (results, the research extract):
    /// the text columns `categories` names are written as ordered Arrow dictionaries with
    /// every level (R factors, pandas ordered categoricals); batches are given as text.
    pub fn create_categorical(
        path: &Path,
        schema: &arrow_schema::SchemaRef,
        (categories, table): (&Categories, &'static str),
        metadata: &BTreeMap<String, String>,
    ) -> Result<Self, SchemaError> {
        let mut sink = Self::create(path, categories.schema(schema), metadata)?;
        if !categories.is_empty() {
            sink.categories = Some((categories.clone(), table));
        }
        Ok(sink)
    }

    /// Append a batch.
    pub fn write(&mut self, batch: &RecordBatch) -> Result<(), SchemaError> {
        let writer =
            self.writer.as_mut().ok_or_else(|| io_message(&self.path, "already finished"))?;
        let categorical = match &self.categories {
            Some((categories, table)) => Some(categories.apply(batch, table)?),
            None => None,
        };
        writer.write(categorical.as_ref().unwrap_or(batch)).map_err(|e| io_error(&self.path, e))?;
        self.rows += batch.num_rows();
        Ok(())
    }

    /// End the current row group, so its encoded pages leave memory (a writer holds a row
    /// group until it is full; many open sinks would otherwise hold their whole files).
    pub fn flush(&mut self) -> Result<(), SchemaError> {
        let writer =
            self.writer.as_mut().ok_or_else(|| io_message(&self.path, "already finished"))?;
        writer.flush().map_err(|e| io_error(&self.path, e))
    }

    /// Close, sync and move into place; returns the rows written.
    pub fn finish(self) -> Result<usize, SchemaError> {
        Ok(self.finish_with(&BTreeMap::new())?.rows)
    }

    /// [`ParquetSink::finish`], first adding `metadata` (in key order) after the metadata
    /// the sink was created with: for values known only once the rows are written, such
    /// as the hash of inputs read while they were streamed. Returns the rows and the
    /// file's SHA-256, hashed as its bytes were written (the file is not read again).
    pub fn finish_with(
        mut self,
        metadata: &BTreeMap<String, String>,
    ) -> Result<Finished, SchemaError> {
        let mut writer =
            self.writer.take().ok_or_else(|| io_message(&self.path, "already finished"))?;
        for (k, v) in metadata {
            writer.append_key_value_metadata(KeyValue::new(k.clone(), v.clone()));
        }
        let mut file = writer.into_inner().map_err(|e| io_error(&self.path, e))?;
        file.flush().map_err(|e| io_error(&self.tmp, e))?;
        file.inner.sync_all().map_err(|e| io_error(&self.tmp, e))?;
        std::fs::rename(&self.tmp, &self.path).map_err(|e| io_error(&self.path, e))?;
        let sha256 = crate::manifest::hex(&sha2::Digest::finalize(file.hasher));
        Ok(Finished { rows: self.rows, sha256, bytes: file.bytes })
    }
}

/// What a finished [`ParquetSink`] wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finished {
    /// Rows written.
    pub rows: usize,
    /// SHA-256 of the file's bytes, hex (as `manifest::file_sha256` would read it).
    pub sha256: String,
    /// The file's size.
    pub bytes: u64,
}

/// A writer that hashes every byte it passes on (a file's SHA-256 without reading it
/// back). The Parquet writer only appends, so the bytes hashed are the file's.
struct Hashed<W> {
    inner: W,
    hasher: sha2::Sha256,
    bytes: u64,
}

impl<W: Write> Write for Hashed<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        sha2::Digest::update(&mut self.hasher, &buf[..n]);
        self.bytes += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

impl Drop for ParquetSink {
    fn drop(&mut self) {
        if self.writer.take().is_some() {
            // Unfinished: the temp file is ours and incomplete.
            let _ = std::fs::remove_file(&self.tmp);
        }
    }
}

impl ParquetSink {
    /// Move the sink to a thread of its own: encoding and compression then run beside the
    /// caller's work (on two cores, reading and writing a table overlap). Atomicity is
    /// kept: the file is published only by [`BackgroundSink::finish`].
    pub fn in_background(self) -> BackgroundSink {
        let (tx, rx) = std::sync::mpsc::sync_channel::<Message>(2);
        let worker = std::thread::spawn(move || {
            let mut sink = self;
            while let Ok(message) = rx.recv() {
                match message {
                    Message::Batch(batch) => sink.write(&batch)?,
                    Message::Build(build) => sink.write(&build()?)?,
                    Message::Finish(metadata) => return sink.finish_with(&metadata),
                }
            }
            // The caller went away without finishing: dropping the sink removes its file.
            Err(io_message(&sink.path, "abandoned before it was finished"))
        });
        BackgroundSink { tx: Some(tx), worker: Some(worker) }
    }
}

/// Makes a batch on the writer's thread (from rows moved there).
type Build = Box<dyn FnOnce() -> Result<RecordBatch, SchemaError> + Send>;

enum Message {
    Batch(RecordBatch),
    Build(Build),
    Finish(BTreeMap<String, String>),
}

/// A [`ParquetSink`] writing on its own thread (see [`ParquetSink::in_background`]).
/// Dropped unfinished, it waits for the thread, which removes the temp file.
#[derive(Debug)]
pub struct BackgroundSink {
    tx: Option<std::sync::mpsc::SyncSender<Message>>,
    worker: Option<std::thread::JoinHandle<Result<Finished, SchemaError>>>,
}

impl BackgroundSink {
    fn join(&mut self) -> Result<Finished, SchemaError> {
        self.tx = None;
        match self.worker.take().map(std::thread::JoinHandle::join) {
            Some(Ok(result)) => result,
            Some(Err(_)) => Err(io_message(Path::new(""), "the Parquet writer thread panicked")),
            None => Err(io_message(Path::new(""), "already finished")),
        }
    }

    /// Queue a batch (waits while two are queued). A failed write shows here or at
    /// [`BackgroundSink::finish`].
    pub fn write(&mut self, batch: RecordBatch) -> Result<(), SchemaError> {
        self.send(Message::Batch(batch))
    }

    /// Queue the making of a batch, run on the writer's thread too (turning rows into
    /// columns then leaves the caller's thread, which is reading the next rows).
    pub fn write_with(
        &mut self,
        build: impl FnOnce() -> Result<RecordBatch, SchemaError> + Send + 'static,
    ) -> Result<(), SchemaError> {
        self.send(Message::Build(Box::new(build)))
    }

    fn send(&mut self, message: Message) -> Result<(), SchemaError> {
        let sent = self.tx.as_ref().is_some_and(|tx| tx.send(message).is_ok());
        if sent {
            Ok(())
        } else {
            // The writer stopped: its error says why.
            self.join().and_then(|_| Err(io_message(Path::new(""), "the writer stopped")))
        }
    }

    /// Write what is queued, close, sync and move into place; returns the rows written
    /// and the file's hash.
    pub fn finish(self) -> Result<Finished, SchemaError> {
        self.finish_with(BTreeMap::new())
    }

    /// [`BackgroundSink::finish`] adding `metadata` as [`ParquetSink::finish_with`] does.
    pub fn finish_with(
        mut self,
        metadata: BTreeMap<String, String>,
    ) -> Result<Finished, SchemaError> {
        if let Some(tx) = &self.tx {
            // A send error means the writer already stopped; join reports why.
            let _ = tx.send(Message::Finish(metadata));
        }
        self.join()
    }
}

impl Drop for BackgroundSink {
    fn drop(&mut self) {
        if self.worker.is_some() {
            let _ = self.join();
        }
    }
}

/// Run an iterator on a thread of its own, `depth` items ahead of the caller (reading and
/// decoding a Parquet file beside the work on its batches).
pub fn read_ahead<T: Send + 'static>(
    items: impl Iterator<Item = T> + Send + 'static,
    depth: usize,
) -> impl Iterator<Item = T> {
    let (tx, rx) = std::sync::mpsc::sync_channel(depth);
    std::thread::spawn(move || {
        for item in items {
            if tx.send(item).is_err() {
                // The caller stopped reading.
                break;
            }
        }
    });
    rx.into_iter()
}

/// Write one table to Parquet atomically, with folge's key-value metadata.
pub fn write_parquet(
    path: &Path,
    batch: &RecordBatch,
    metadata: &BTreeMap<String, String>,
) -> Result<(), SchemaError> {
    let mut sink = ParquetSink::create(path, batch.schema(), metadata)?;
    sink.write(batch)?;
    sink.finish().map(|_| ())
}

/// A Parquet file's batches and key-value metadata.
#[derive(Debug)]
pub struct ParquetContents {
    /// Record batches in file order.
    pub batches: Vec<RecordBatch>,
    /// Key-value metadata from the footer.
    pub metadata: BTreeMap<String, String>,
    /// The Arrow schema.
    pub schema: arrow_schema::SchemaRef,
    /// Total rows.
    pub num_rows: usize,
}

/// Read a whole Parquet file.
pub fn read_parquet(path: &Path) -> Result<ParquetContents, SchemaError> {
    read_parquet_columns(path, |_| true)
}

/// [`read_parquet`] of the columns `keep` accepts (a flat table's), in the file's order;
/// `schema` is still the whole file's.
pub fn read_parquet_columns(
    path: &Path,
    keep: impl Fn(&arrow_schema::Field) -> bool,
) -> Result<ParquetContents, SchemaError> {
    let file = File::open(path).map_err(|e| io_error(path, e))?;
    let builder = ParquetRecordBatchReaderBuilder::try_new(file).map_err(|e| io_error(path, e))?;
    let fields = builder.schema().fields();
    let builder = if fields.iter().all(|f| keep(f)) {
        builder
    } else {
        let roots = fields.iter().enumerate().filter(|(_, f)| keep(f)).map(|(i, _)| i);
        let mask = parquet::arrow::ProjectionMask::roots(
            builder.parquet_schema(),
            roots.collect::<Vec<_>>(),
        );
        builder.with_projection(mask)
    };
    let metadata = builder
        .metadata()
        .file_metadata()
        .key_value_metadata()
        .map(|kvs| {
            kvs.iter().map(|kv| (kv.key.clone(), kv.value.clone().unwrap_or_default())).collect()
        })
        .unwrap_or_default();
    let schema = builder.schema().clone();
    let reader = builder.build().map_err(|e| io_error(path, e))?;
    let batches = reader.collect::<Result<Vec<_>, _>>().map_err(|e| io_error(path, e))?;
    let num_rows = batches.iter().map(RecordBatch::num_rows).sum();
    Ok(ParquetContents { batches, metadata, schema, num_rows })
}

/// A Parquet file read batch by batch (memory holds one batch, not the table).
pub struct ParquetStream {
    path: PathBuf,
    reader: parquet::arrow::arrow_reader::ParquetRecordBatchReader,
    /// Total rows, from the footer.
    pub num_rows: usize,
    /// The Arrow schema.
    pub schema: arrow_schema::SchemaRef,
}

impl std::fmt::Debug for ParquetStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ParquetStream")
            .field("path", &self.path)
            .field("num_rows", &self.num_rows)
            .finish_non_exhaustive()
    }
}

/// Open a Parquet file for reading in batches of `batch_size` rows.
pub fn stream_parquet(path: &Path, batch_size: usize) -> Result<ParquetStream, SchemaError> {
    let file = File::open(path).map_err(|e| io_error(path, e))?;
    let builder = ParquetRecordBatchReaderBuilder::try_new(file).map_err(|e| io_error(path, e))?;
    let num_rows = usize::try_from(builder.metadata().file_metadata().num_rows()).unwrap_or(0);
    let schema = builder.schema().clone();
    let reader = builder.with_batch_size(batch_size).build().map_err(|e| io_error(path, e))?;
    Ok(ParquetStream { path: path.to_owned(), reader, num_rows, schema })
}

/// [`stream_parquet`] with the columns typed as `schema` says (text read as a dictionary
/// keeps the file's dictionary instead of copying each row's text out of it). A file
/// whose columns do not fit `schema` is read as its own schema says.
pub fn stream_parquet_as(
    path: &Path,
    batch_size: usize,
    schema: arrow_schema::SchemaRef,
) -> Result<ParquetStream, SchemaError> {
    let file = File::open(path).map_err(|e| io_error(path, e))?;
    let options = parquet::arrow::arrow_reader::ArrowReaderOptions::new().with_schema(schema);
    let Ok(builder) = ParquetRecordBatchReaderBuilder::try_new_with_options(file, options) else {
        return stream_parquet(path, batch_size);
    };
    let num_rows = usize::try_from(builder.metadata().file_metadata().num_rows()).unwrap_or(0);
    let schema = builder.schema().clone();
    let reader = builder.with_batch_size(batch_size).build().map_err(|e| io_error(path, e))?;
    Ok(ParquetStream { path: path.to_owned(), reader, num_rows, schema })
}

impl Iterator for ParquetStream {
    type Item = Result<RecordBatch, SchemaError>;

    fn next(&mut self) -> Option<Self::Item> {
        self.reader.next().map(|batch| batch.map_err(|e| io_error(&self.path, e)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use folge_schema::Table;
    use folge_schema::tables::ProcessEvent;

    /// The vendored Parquet writer's patch (vendor/README.md): a dictionary page holds the
    /// Arrow dictionary's levels as written — in their order, unused ones too — in every
    /// row group, not the values in order of first use. Upstream's writer fails this.
    #[test]
    fn categories_keep_their_order_through_parquet() {
        use parquet::file::reader::{FileReader, SerializedFileReader};
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.parquet");
        let schema =
            std::sync::Arc::new(arrow_schema::Schema::new(vec![arrow_schema::Field::new(
                "period",
                arrow_schema::DataType::Utf8,
                false,
            )]));
        let batch = |values: &[&str]| {
            let column: arrow_array::ArrayRef =
                std::sync::Arc::new(arrow_array::StringArray::from(values.to_vec()));
            RecordBatch::try_new(schema.clone(), vec![column]).unwrap()
        };
        let levels = ["before", "after", "follow_up"];
        let categories = Categories::default().with("period", levels);
        let mut sink =
            ParquetSink::create_categorical(&path, &schema, (&categories, "t"), &BTreeMap::new())
                .unwrap();
        sink.write(&batch(&["after", "before", "after"])).unwrap();
        sink.flush().unwrap();
        sink.write(&batch(&["after"])).unwrap();
        sink.finish().unwrap();
        // What pyarrow and R read as the levels: each row group's dictionary page (PLAIN:
        // a 4-byte length, then the bytes, per value).
        let reader = SerializedFileReader::new(File::open(&path).unwrap()).unwrap();
        assert_eq!(reader.num_row_groups(), 2);
        for group in 0..reader.num_row_groups() {
            let mut pages = reader.get_row_group(group).unwrap().get_column_page_reader(0).unwrap();
            let Some(parquet::column::page::Page::DictionaryPage { buf, .. }) =
                pages.get_next_page().unwrap()
            else {
                panic!("row group {group} starts without a dictionary page")
            };
            let mut page = &buf[..];
            let mut got = Vec::new();
            while page.len() >= 4 {
                let len = u32::from_le_bytes(page[..4].try_into().unwrap()) as usize;
                got.push(String::from_utf8(page[4..4 + len].to_vec()).unwrap());
                page = &page[4 + len..];
            }
            assert_eq!(got, levels, "row group {group}'s dictionary");
        }
        // The values and the ordered flag read back.
        let contents = read_parquet(&path).unwrap();
        let field = contents.batches[0].schema().field(0).clone();
        assert_eq!(field.dict_is_ordered(), Some(true), "{field:?}");
        let values: Vec<Option<&str>> = contents
            .batches
            .iter()
            .flat_map(|b| folge_schema::text_values(b.column(0).as_ref()).unwrap())
            .collect();
        assert_eq!(values, [Some("after"), Some("before"), Some("after"), Some("after")]);
    }

    #[test]
    fn parquet_round_trip_is_deterministic_and_keeps_metadata() {
        let dir = tempfile::tempdir().unwrap();
        let rows = vec![ProcessEvent {
            person_id: "p".into(),
            element: "A".into(),
            date: chrono::NaiveDate::from_ymd_opt(2020, 5, 1).unwrap(),
        }];
        let batch = ProcessEvent::to_batch(&rows).unwrap();
        let meta = BTreeMap::from([("folge.version".to_owned(), "0.1.0".to_owned())]);
        let (a, b) = (dir.path().join("a.parquet"), dir.path().join("b.parquet"));
        write_parquet(&a, &batch, &meta).unwrap();
        write_parquet(&b, &batch, &meta).unwrap();
        assert_eq!(std::fs::read(&a).unwrap(), std::fs::read(&b).unwrap());
        let back = read_parquet(&a).unwrap();
        assert_eq!(back.metadata["folge.version"], "0.1.0");
        assert_eq!(ProcessEvent::from_batches(&back.batches).unwrap(), rows);
        let leftovers: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .filter_map(std::result::Result::ok)
            .filter(|e| e.file_name().to_string_lossy().contains(".tmp-"))
            .collect();
        assert!(leftovers.is_empty());
    }

    /// `n` process events of one element, persons `0`…`n-1`.
    /// Keyed pids (keys into one dictionary shared by the batches) are written as the
    /// page's indices by the vendored writer's patch: what a reader gets must be each
    /// row's text, also for a batch whose dictionary is another array (written through
    /// the look-up path after the shared one's keys), for a dictionary holding a value
    /// twice, and across row groups; and the file says text, not dictionary.
    #[test]
    fn keyed_pids_read_back_as_the_text_they_stand_for() {
        use arrow_array::types::UInt32Type;
        use arrow_array::{DictionaryArray, StringArray, UInt32Array};
        let dir = tempfile::tempdir().unwrap();
        let keyed = arrow_schema::DataType::Dictionary(
            Box::new(arrow_schema::DataType::UInt32),
            Box::new(arrow_schema::DataType::Utf8),
        );
        let schema = std::sync::Arc::new(arrow_schema::Schema::new(vec![
            arrow_schema::Field::new("pid", keyed, false),
            arrow_schema::Field::new("n", arrow_schema::DataType::Int32, false),
        ]));
        let persons = 3_000u32;
        // The last value repeats the first: its rows read back as that text too.
        let mut texts: Vec<String> = (0..persons).map(|i| format!("{:032x}", i * 7)).collect();
        texts[persons as usize - 1] = texts[0].clone();
        let shared: arrow_array::ArrayRef = std::sync::Arc::new(StringArray::from(texts.clone()));
        let batch_of = |dictionary: &arrow_array::ArrayRef, keys: Vec<u32>| {
            let n: Vec<i32> = keys.iter().map(|&k| i32::try_from(k).unwrap()).collect();
            let pids =
                DictionaryArray::<UInt32Type>::try_new(UInt32Array::from(keys), dictionary.clone())
                    .unwrap();
            RecordBatch::try_new(
                schema.clone(),
                vec![
                    std::sync::Arc::new(pids),
                    std::sync::Arc::new(arrow_array::Int32Array::from(n)),
                ],
            )
            .unwrap()
        };
        // Date order: every row another person.
        let keys = |from: u32, n: u32| (from..from + n).map(|i| (i * 7_919) % persons).collect();
        // The same text in another array: not the shared dictionary.
        let other: arrow_array::ArrayRef = std::sync::Arc::new(StringArray::from(texts.clone()));
        let batches = [
            batch_of(&shared, keys(0, 5_000)),
            batch_of(&other, keys(5_000, 2_000)),
            batch_of(&shared, keys(7_000, 5_000)),
        ];
        let path = dir.path().join("k.parquet");
        let pid = PidColumn::Keyed { persons: persons as usize };
        let mut sink =
            ParquetSink::create_with(&path, schema.clone(), &BTreeMap::new(), pid).unwrap();
        for (i, batch) in batches.iter().enumerate() {
            sink.write(batch).unwrap();
            if i == 1 {
                sink.flush().unwrap(); // a second row group, seeded again
            }
        }
        sink.finish().unwrap();
        let expected: Vec<(String, i32)> = batches
            .iter()
            .flat_map(|b| {
                let n = b.column(1).as_any().downcast_ref::<arrow_array::Int32Array>().unwrap();
                n.values().iter().map(|&k| (texts[k as usize].clone(), k)).collect::<Vec<_>>()
            })
            .collect();
        let read = read_parquet(&path).unwrap();
        assert_eq!(read.batches[0].schema().field(0).data_type(), &arrow_schema::DataType::Utf8);
        let back: Vec<(String, i32)> = read
            .batches
            .iter()
            .flat_map(|b| {
                let pid = b.column(0).as_any().downcast_ref::<StringArray>().unwrap();
                let n = b.column(1).as_any().downcast_ref::<arrow_array::Int32Array>().unwrap();
                pid.iter()
                    .zip(n.values())
                    .map(|(p, &n)| (p.unwrap().to_owned(), n))
                    .collect::<Vec<_>>()
            })
            .collect();
        assert_eq!(back.len(), 12_000);
        assert_eq!(back, expected);
    }

    #[test]
    fn pid_columns_stay_dictionaries_and_read_back() {
        use parquet::basic::Encoding;
        use parquet::file::reader::{FileReader, SerializedFileReader};
        let dir = tempfile::tempdir().unwrap();
        let schema = std::sync::Arc::new(arrow_schema::Schema::new(vec![
            arrow_schema::Field::new("pid", arrow_schema::DataType::Utf8, false),
            arrow_schema::Field::new("code", arrow_schema::DataType::Utf8, false),
        ]));
        // Rows of 3,000 persons, each named on several rows apart (a date-ordered file).
        let pids: Vec<String> =
            (0..12_000).map(|i| format!("{:032x}", (i * 7_919) % 3_000)).collect();
        let codes: Vec<&str> = (0..12_000).map(|i| if i % 2 == 0 { "gp" } else { "kad" }).collect();
        let batch = RecordBatch::try_new(
            schema.clone(),
            vec![
                std::sync::Arc::new(arrow_array::StringArray::from(pids.clone())),
                std::sync::Arc::new(arrow_array::StringArray::from(codes)),
            ],
        )
        .unwrap();
        let mut encodings = Vec::new();
        // A sink made for keyed pids given text interns it into the same dictionary.
        let keyed = PidColumn::Keyed { persons: 3_000 };
        for (name, pid) in [("d.parquet", PidColumn::Dictionary), ("k.parquet", keyed)] {
            let path = dir.path().join(name);
            let mut sink =
                ParquetSink::create_with(&path, schema.clone(), &BTreeMap::new(), pid).unwrap();
            sink.write(&batch).unwrap();
            sink.finish().unwrap();
            let back: Vec<String> = read_parquet(&path)
                .unwrap()
                .batches
                .iter()
                .flat_map(|b| {
                    let column = b.column(0).as_any().downcast_ref::<arrow_array::StringArray>();
                    column.unwrap().iter().map(|v| v.unwrap().to_owned()).collect::<Vec<_>>()
                })
                .collect();
            assert_eq!(back, pids, "{pid:?}");
            let reader = SerializedFileReader::new(File::open(&path).unwrap()).unwrap();
            let chunk = reader.metadata().row_group(0).column(0).clone();
            let other = reader.metadata().row_group(0).column(1).clone();
            assert!(other.encodings().any(|e| e == Encoding::RLE_DICTIONARY), "codes: dictionary");
            encodings.push((
                chunk.encodings().any(|e| e == Encoding::RLE_DICTIONARY),
                chunk.compression(),
            ));
        }
        assert_eq!(
            encodings,
            vec![(true, Compression::SNAPPY), (true, Compression::UNCOMPRESSED)],
            "pid: a dictionary, compressed unless keyed"
        );
    }

    fn process_events(n: usize, element: &str) -> Vec<ProcessEvent> {
        (0..n)
            .map(|i| ProcessEvent {
                person_id: i.to_string(),
                element: element.into(),
                date: chrono::NaiveDate::from_ymd_opt(2020, 5, 1).unwrap(),
            })
            .collect()
    }

    #[test]
    fn streamed_sink_is_atomic() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.parquet");
        let rows = |n| process_events(n, "A");
        let mut sink =
            ParquetSink::create(&path, ProcessEvent::schema(), &BTreeMap::new()).unwrap();
        sink.write(&ProcessEvent::to_batch(&rows(3)).unwrap()).unwrap();
        assert!(!path.exists(), "nothing under the final name before finish");
        drop(sink);
        assert_eq!(
            std::fs::read_dir(dir.path()).unwrap().count(),
            0,
            "an abandoned sink leaves nothing"
        );
        let mut sink =
            ParquetSink::create(&path, ProcessEvent::schema(), &BTreeMap::new()).unwrap();
        sink.write(&ProcessEvent::to_batch(&rows(3)).unwrap()).unwrap();
        sink.write(&ProcessEvent::to_batch(&rows(2)).unwrap()).unwrap();
        assert_eq!(sink.finish().unwrap(), 5);
        assert_eq!(read_parquet(&path).unwrap().num_rows, 5);
        let stream = stream_parquet(&path, 2).unwrap();
        assert_eq!(stream.num_rows, 5);
        let sizes: Vec<usize> = stream.map(|b| b.unwrap().num_rows()).collect();
        assert_eq!(sizes.iter().sum::<usize>(), 5);
        assert!(sizes.iter().all(|&n| n <= 2), "batches of at most the size asked: {sizes:?}");
    }

    #[test]
    fn background_sink_publishes_on_finish_only() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("b.parquet");
        let batch = |n: usize| {
            let rows: Vec<ProcessEvent> = (0..n)
                .map(|i| ProcessEvent {
                    person_id: i.to_string(),
                    element: "B".into(),
                    date: chrono::NaiveDate::from_ymd_opt(2021, 1, 1).unwrap(),
                })
                .collect();
            ProcessEvent::to_batch(&rows).unwrap()
        };
        let mut sink = ParquetSink::create(&path, ProcessEvent::schema(), &BTreeMap::new())
            .unwrap()
            .in_background();
        sink.write(batch(4)).unwrap();
        drop(sink);
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0, "abandoned: nothing left");
        let mut sink = ParquetSink::create(&path, ProcessEvent::schema(), &BTreeMap::new())
            .unwrap()
            .in_background();
        for n in [3, 5, 7] {
            sink.write(batch(n)).unwrap();
        }
        let written = sink.finish().unwrap();
        assert_eq!(written.rows, 15);
        // The hash taken while writing is the file's, as the manifest's reader hashes it.
        let (sha256, bytes) = crate::manifest::file_sha256(&path).unwrap();
        assert_eq!((written.sha256, written.bytes), (sha256, bytes));
        let direct = dir.path().join("d.parquet");
        let mut plain =
            ParquetSink::create(&direct, ProcessEvent::schema(), &BTreeMap::new()).unwrap();
        for n in [3, 5, 7] {
            plain.write(&batch(n)).unwrap();
        }
        plain.finish().unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), std::fs::read(&direct).unwrap(), "same bytes");
        let sizes: Vec<usize> = read_ahead((0..5).map(|i| i * 2), 1).collect();
        assert_eq!(sizes, vec![0, 2, 4, 6, 8]);
    }

    #[test]
    fn batches_built_on_the_writer_thread_and_late_metadata() {
        let dir = tempfile::tempdir().unwrap();
        let rows = |n| process_events(n, "C");
        let early = BTreeMap::from([("a.early".to_owned(), "1".to_owned())]);
        let late = BTreeMap::from([("b.late".to_owned(), "2".to_owned())]);
        let background = dir.path().join("bg.parquet");
        let mut sink = ParquetSink::create(&background, ProcessEvent::schema(), &early)
            .unwrap()
            .in_background();
        for n in [2, 3] {
            let r = rows(n);
            sink.write_with(move || ProcessEvent::to_batch(&r)).unwrap();
        }
        let written = sink.finish_with(late.clone()).unwrap();
        assert_eq!(written.rows, 5);
        let (sha256, bytes) = crate::manifest::file_sha256(&background).unwrap();
        assert_eq!((written.sha256, written.bytes), (sha256, bytes), "late metadata hashed too");
        let direct = dir.path().join("direct.parquet");
        let mut plain = ParquetSink::create(&direct, ProcessEvent::schema(), &early).unwrap();
        for n in [2, 3] {
            plain.write(&ProcessEvent::to_batch(&rows(n)).unwrap()).unwrap();
        }
        plain.finish_with(&late).unwrap();
        assert_eq!(std::fs::read(&background).unwrap(), std::fs::read(&direct).unwrap());
        let back = read_parquet(&background).unwrap();
        assert_eq!(
            (back.metadata["a.early"].as_str(), back.metadata["b.late"].as_str()),
            ("1", "2")
        );
        // A batch that cannot be built stops the writer, and the error reaches the caller.
        let failing = dir.path().join("fail.parquet");
        let mut sink =
            ParquetSink::create(&failing, ProcessEvent::schema(), &early).unwrap().in_background();
        sink.write_with(|| Err(io_message(Path::new("rows"), "bad"))).unwrap();
        assert!(sink.finish().is_err());
        assert!(!failing.exists());
    }

    #[test]
    fn failed_write_leaves_no_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.csv");
        let result = write_atomic(&path, |_| Err(io_message(Path::new("x"), "boom")));
        assert!(result.is_err());
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }

    /// A file with keyed columns (an event stage file) is not cut at the writer's default
    /// of 1,048,576 rows a row group: the dictionary of every id is written once, not
    /// once a million rows (see `EVENT_ROW_GROUP_ROWS`); other files still are.
    #[test]
    fn event_stage_files_are_not_cut_at_a_million_rows() {
        use arrow_array::types::UInt32Type;
        use arrow_array::{DictionaryArray, StringArray, UInt32Array};
        let dir = tempfile::tempdir().unwrap();
        let keyed = arrow_schema::DataType::Dictionary(
            Box::new(arrow_schema::DataType::UInt32),
            Box::new(arrow_schema::DataType::Utf8),
        );
        let schema =
            std::sync::Arc::new(arrow_schema::Schema::new(vec![arrow_schema::Field::new(
                "service", keyed, false,
            )]));
        let codes: arrow_array::ArrayRef =
            std::sync::Arc::new(StringArray::from(vec!["gp", "inpatient"]));
        let rows = (1 << 20) + 70_000;
        let groups = |keyed: &[KeyedColumn], name: &str| {
            let path = dir.path().join(name);
            let mut sink = ParquetSink::create_keyed(
                &path,
                schema.clone(),
                &BTreeMap::new(),
                PidColumn::Dictionary,
                (keyed, false),
            )
            .unwrap();
            for start in (0..rows).step_by(65_536) {
                let n = (rows - start).min(65_536);
                let keys = UInt32Array::from(
                    (start..start + n).map(|i| (i % 2) as u32).collect::<Vec<_>>(),
                );
                let column = DictionaryArray::<UInt32Type>::try_new(keys, codes.clone()).unwrap();
                let batch = RecordBatch::try_new(schema.clone(), vec![std::sync::Arc::new(column)])
                    .unwrap();
                sink.write(&batch).unwrap();
            }
            assert_eq!(sink.finish().unwrap(), rows);
            parquet::file::reader::FileReader::num_row_groups(
                &parquet::file::serialized_reader::SerializedFileReader::new(
                    File::open(&path).unwrap(),
                )
                .unwrap(),
            )
        };
        let service = KeyedColumn { name: "service", page_bytes: 0 };
        assert_eq!(groups(&[service], "events.parquet"), 1);
        assert_eq!(groups(&[], "other.parquet"), 2);
    }
}

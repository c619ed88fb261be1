//! Inputs and outputs: readers that turn CSV and Parquet files into streams of bounded
//! [`RecordBatch`]es, and the atomic output set (see [`output`]).
//!
//! Readers read only the columns the plan needs (projection): a dropped column is never
//! materialized. Every column arrives as the reader gives it (CSV: `Utf8`, an empty field
//! is null; Parquet: its own type); [`crate::transform`] turns it into canonical values.
//!
//! Errors from the underlying parsers are re-worded here: arrow's CSV errors may quote data,
//! so only messages made of numbers and names are passed on.

pub mod csv;
pub mod output;
pub mod paths;
#[cfg(unix)]
pub mod thrift_check;

use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use arrow::array::RecordBatch;
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use arrow::error::ArrowError;
use parquet::arrow::ProjectionMask;
use parquet::arrow::arrow_reader::{ParquetRecordBatchReader, ParquetRecordBatchReaderBuilder};

use crate::error::{Error, Location, Result};

/// An input file's format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InputFormat {
    /// Comma- (or otherwise) separated values with a header row.
    Csv,
    /// Apache Parquet.
    Parquet,
}

impl InputFormat {
    /// From the file name: `.parquet` / `.pq` are Parquet, anything else CSV.
    pub fn from_path(path: &Path) -> InputFormat {
        match path
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase)
            .as_deref()
        {
            Some("parquet" | "pq") => InputFormat::Parquet,
            _ => InputFormat::Csv,
        }
    }
}

/// How to read the inputs.
#[derive(Debug, Clone)]
pub struct ReadOptions {
    /// CSV field delimiter.
    pub delimiter: u8,
    /// Rows per batch.
    pub batch_size: usize,
    /// When set, CSV readers add the bytes they read here (for progress reporting).
    pub bytes_read: Option<Arc<AtomicU64>>,
    /// When set, the pipeline adds the rows it has finished here (for progress reporting).
    pub rows_read: Option<Arc<AtomicU64>>,
    /// Whether CSV readers digest (SHA-256) what they read, for the manifest. Off only for
    /// reads whose digest nobody uses (`init`'s sample). Both passes of a k-anonymity run
    /// digest: their digests are compared.
    pub digest: bool,
    /// The longest CSV record (the header included), in bytes: a longer one stops the read at
    /// its row, so an unclosed quote never buffers a whole export.
    pub max_record_bytes: usize,
}

impl Default for ReadOptions {
    fn default() -> Self {
        ReadOptions {
            delimiter: b',',
            batch_size: 64 * 1024,
            bytes_read: None,
            rows_read: None,
            digest: true,
            max_record_bytes: csv::MAX_RECORD_BYTES,
        }
    }
}

/// A reader that counts the bytes it hands out.
struct Counting<R> {
    inner: R,
    counter: Option<Arc<AtomicU64>>,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        if let Some(c) = &self.counter {
            c.fetch_add(n as u64, Ordering::Relaxed);
        }
        Ok(n)
    }
}

/// One input file, opened just far enough to know its header.
#[derive(Debug, Clone)]
pub struct Input {
    /// The path.
    pub path: PathBuf,
    /// The format.
    pub format: InputFormat,
    /// The column names, in file order.
    pub header: Vec<String>,
    /// The Parquet schema (Parquet inputs only).
    parquet_schema: Option<SchemaRef>,
}

impl Input {
    /// Opens `path` and reads its header (CSV) or footer (Parquet); no data is read.
    ///
    /// # Errors
    /// `Io` when unreadable, `Malformed` when the header or footer cannot be parsed.
    pub fn open(path: &Path, options: &ReadOptions) -> Result<Input> {
        let format = InputFormat::from_path(path);
        let file = File::open(path).map_err(|e| Error::io(path, e))?;
        match format {
            InputFormat::Csv => {
                let header = read_csv_header(path, file, options)?;
                check_header(path, &header)?;
                Ok(Input {
                    path: path.to_path_buf(),
                    format,
                    header,
                    parquet_schema: None,
                })
            }
            InputFormat::Parquet => {
                #[cfg(unix)]
                thrift_check::check_footer(path, &file)?;
                let builder = guard(path, || {
                    ParquetRecordBatchReaderBuilder::try_new_with_options(file, reader_options())
                        .map_err(|_| {
                            Error::malformed(
                                Location::file(path),
                                "not a readable Parquet file (footer or schema cannot be decoded)",
                            )
                        })
                })?;
                let schema = builder.schema().clone();
                let header: Vec<String> =
                    schema.fields().iter().map(|f| f.name().clone()).collect();
                check_header(path, &header)?;
                Ok(Input {
                    path: path.to_path_buf(),
                    format,
                    header,
                    parquet_schema: Some(schema),
                })
            }
        }
    }

    /// The input's Arrow schema as the plan sees it: every column by name, with its
    /// Parquet type, or `Utf8` for CSV.
    pub fn schema(&self) -> arrow::datatypes::Schema {
        arrow::datatypes::Schema::new(
            self.header
                .iter()
                .map(|h| arrow::datatypes::Field::new(h, self.data_type(h), true))
                .collect::<Vec<_>>(),
        )
    }

    /// The Arrow type of `column` (`Utf8` for CSV, and for a name the input lacks).
    pub fn data_type(&self, column: &str) -> DataType {
        self.parquet_schema
            .as_ref()
            .and_then(|s| {
                s.field_with_name(column)
                    .ok()
                    .map(|f| f.data_type().clone())
            })
            .unwrap_or(DataType::Utf8)
    }

    /// Streams the columns `columns` (names) in batches of at most `options.batch_size`
    /// rows. The batches hold exactly those columns, in that order.
    ///
    /// # Errors
    /// `Io` or `Malformed` when the reader cannot start.
    pub fn batches(&self, columns: &[String], options: &ReadOptions) -> Result<BatchReader> {
        let positions: std::collections::HashMap<&str, usize> = self
            .header
            .iter()
            .enumerate()
            .map(|(i, h)| (h.as_str(), i))
            .collect();
        let indices: Vec<usize> = columns
            .iter()
            .map(|c| {
                positions.get(c.as_str()).copied().ok_or_else(|| {
                    Error::internal(format!(
                        "column `{c}` is not in the header of the plan's input"
                    ))
                })
            })
            .collect::<Result<_>>()?;
        let file = File::open(&self.path).map_err(|e| Error::io(&self.path, e))?;
        let inner = match self.format {
            InputFormat::Csv => {
                let layout = Arc::new(csv::Layout::new(
                    options.delimiter,
                    self.header.len(),
                    &indices,
                    columns,
                ));
                let reader = Counting {
                    inner: file,
                    counter: options.bytes_read.clone(),
                };
                let chunker = csv::Chunker::new(reader, layout, options.batch_size)
                    .with_max_record(options.max_record_bytes);
                Inner::Csv(Box::new(if options.digest {
                    chunker
                } else {
                    chunker.without_digest()
                }))
            }
            InputFormat::Parquet => Inner::Parquet(guard(&self.path, || {
                let builder =
                    ParquetRecordBatchReaderBuilder::try_new_with_options(file, reader_options())
                        .map_err(|_| {
                        Error::malformed(Location::file(&self.path), "not a readable Parquet file")
                    })?;
                #[cfg(unix)]
                {
                    let schema = builder.parquet_schema();
                    let chunks: Vec<(u64, u64)> = builder
                        .metadata()
                        .row_groups()
                        .iter()
                        .flat_map(|rg| {
                            (0..schema.num_columns())
                                .filter(|leaf| indices.contains(&schema.get_column_root_idx(*leaf)))
                                .map(|leaf| rg.column(leaf).byte_range())
                        })
                        .collect();
                    let file = File::open(&self.path).map_err(|e| Error::io(&self.path, e))?;
                    thrift_check::check_pages(&self.path, &file, &chunks)?;
                }
                let mask = ProjectionMask::roots(builder.parquet_schema(), indices.clone());
                builder
                    .with_projection(mask)
                    .with_batch_size(options.batch_size)
                    .build()
                    .map_err(|_| {
                        Error::malformed(
                            Location::file(&self.path),
                            "cannot start the Parquet reader",
                        )
                    })
            })?),
        };
        Ok(BatchReader {
            path: self.path.clone(),
            columns: columns.to_vec(),
            inner,
            rows_read: 0,
        })
    }
}

/// How Parquet inputs are opened: from the file's own (Parquet) schema, without decoding the
/// `ARROW:schema` key-value that arrow writers add. minex needs only the Parquet types, and
/// that base64 IPC blob is where a corrupt or hostile file most easily reaches arrow's
/// panicking code paths (found by fuzzing; see `fuzz/`).
fn reader_options() -> parquet::arrow::arrow_reader::ArrowReaderOptions {
    parquet::arrow::arrow_reader::ArrowReaderOptions::new().with_skip_arrow_metadata(true)
}

thread_local! {
    /// How many [`guard`]s this thread is inside (a panic hook stays quiet inside one).
    static GUARDS: std::cell::Cell<u32> = const { std::cell::Cell::new(0) };
}

/// Whether the current thread is inside a [`guard`]: a panic here is caught and reported as
/// malformed input, so a panic hook should not report it as a bug.
pub fn panic_is_guarded() -> bool {
    GUARDS.with(std::cell::Cell::get) > 0
}

/// Runs a read of a file that arrow or parquet may panic on (a corrupt or hostile footer,
/// page or dictionary), turning a panic into `Malformed` naming the file: a bad input gets an
/// error (exit 4), never a crash, and the panic's text (which may quote data) is not shown.
///
/// # Errors
/// `f`'s own error, or `Malformed` when it panicked.
pub fn guard<T>(path: &Path, f: impl FnOnce() -> Result<T>) -> Result<T> {
    GUARDS.with(|g| g.set(g.get() + 1));
    let out = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
    GUARDS.with(|g| g.set(g.get().saturating_sub(1)));
    out.unwrap_or_else(|_| {
        Err(Error::malformed(
            Location::file(path),
            "the Parquet data is corrupt: the reader could not decode it",
        ))
    })
}

/// Reads a CSV file's header row: at most `max_record_bytes`, quote-aware (a header with an
/// unclosed quote would otherwise swallow the whole file), refusing CR-only line ends.
fn read_csv_header(path: &Path, mut file: File, options: &ReadOptions) -> Result<Vec<String>> {
    let malformed = |what: String| Error::malformed(Location::file(path), what);
    let limit = options.max_record_bytes.max(1);
    let mut buf: Vec<u8> = Vec::new();
    let mut eof = false;
    let (bom, end) = loop {
        if !eof && buf.len() <= limit {
            let start = buf.len();
            buf.resize(start + (64 << 10).min(limit + 1 - start), 0);
            let n = loop {
                match file.read(&mut buf[start..]) {
                    Ok(n) => break n,
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                    Err(e) => return Err(Error::io(path, e)),
                }
            };
            buf.truncate(start + n);
            eof = n == 0;
        }
        let bom = if buf.starts_with(b"\xef\xbb\xbf") {
            3
        } else {
            0
        };
        let body = &buf[bom..];
        // Quote-aware, as the chunker reads records.
        let line_end = csv::scan(body, options.delimiter, 1).0.map(|(end, _)| end);
        // A CR that no LF follows, before the first line end: classic Mac line ends.
        let searched = &body[..line_end.unwrap_or(body.len())];
        if let Some(cr) = memchr::memchr(b'\r', searched) {
            let next = searched.get(cr + 1).or_else(|| body.get(cr + 1));
            if next != Some(&b'\n') && (next.is_some() || eof) {
                return Err(malformed(
                    "the lines end with a bare CR (classic Mac line ends), which minex does not read; convert the file to LF or CRLF line ends".into(),
                ));
            }
        }
        match line_end {
            Some(end) => break (bom, bom + end),
            None if eof => break (bom, buf.len()),
            None if buf.len() > limit => {
                return Err(malformed(format!(
                    "the header row is longer than {limit} bytes (`--max-record-bytes`): probably a quote that is never closed, or not a CSV file"
                )));
            }
            None => {}
        }
    };
    let line = &buf[bom..end];
    let mut rdr = ::csv::ReaderBuilder::new()
        .delimiter(options.delimiter)
        .has_headers(false)
        .from_reader(line);
    let mut record = ::csv::StringRecord::new();
    let got = rdr
        .read_record(&mut record)
        .map_err(|_| malformed("the header row is not valid CSV (or not UTF-8)".into()))?;
    let header: Vec<String> = if got {
        record.iter().map(|h| h.trim().to_string()).collect()
    } else {
        Vec::new()
    };
    if header.is_empty() || header.iter().all(String::is_empty) {
        return Err(malformed("the file is empty or has no header row".into()));
    }
    Ok(header)
}

/// A header is data until proven otherwise: a name that holds a control character, is longer
/// than 256 bytes, or looks like a value (an identity number, email, phone, date or long run
/// of digits) stops the read, naming the column's position and never its text. Every message,
/// log line, manifest, report and scaffold that shows a column name shows only names that
/// passed here.
///
/// # Errors
/// `Malformed` listing every such column.
pub fn check_header(path: &Path, header: &[String]) -> Result<()> {
    let mut problems = Vec::new();
    for (i, name) in header.iter().enumerate() {
        let why = crate::policy::bad_name(name)
            .map(str::to_string)
            .or_else(|| value_like(name).map(|kind| format!("looks like {kind}")));
        if let Some(why) = why {
            problems.push(format!("column {} {why}", i + 1));
        }
    }
    if problems.is_empty() {
        return Ok(());
    }
    let many = problems.len() > 1;
    let shown = problems.len().min(10);
    let mut what = problems[..shown].join("; ");
    if problems.len() > shown {
        what.push_str(&format!("; and {} more columns", problems.len() - shown));
    }
    Err(Error::malformed(
        Location::file(path),
        format!(
            "the header row: {what}. Is the header row missing{}? Names are never printed: fix the file's first row",
            if many {
                ", or is this not the register"
            } else {
                ""
            }
        ),
    ))
}

/// What kind of value a header name looks like, if any.
fn value_like(name: &str) -> Option<&'static str> {
    let t = name.trim();
    let digits = t.bytes().filter(u8::is_ascii_digit).count();
    let mut run = 0;
    let mut longest_run = 0;
    for b in t.bytes() {
        run = if b.is_ascii_digit() { run + 1 } else { 0 };
        longest_run = longest_run.max(run);
    }
    // YYMMDD or YYYYMMDD, a separator or none, then four characters (digits, or a letter in
    // an interim number's serial).
    let bytes = t.as_bytes();
    let pnr_like = |date: usize| {
        bytes.len() >= date + 4
            && bytes[..date].iter().all(u8::is_ascii_digit)
            && match bytes.len() - date {
                4 => bytes[date..].iter().filter(|b| b.is_ascii_digit()).count() >= 3,
                5 => {
                    matches!(bytes[date], b'-' | b'+' | b' ')
                        && bytes[date + 1..]
                            .iter()
                            .filter(|b| b.is_ascii_digit())
                            .count()
                            >= 3
                }
                _ => false,
            }
    };
    if pnr_like(6) || pnr_like(8) {
        return Some("an identity number");
    }
    if let Some(at) = t.find('@')
        && at > 0
        && t[at + 1..].contains('.')
        && !t.contains(char::is_whitespace)
    {
        return Some("an email address");
    }
    if crate::ident::date::Date::parse(t).is_some() {
        return Some("a date");
    }
    let phone_chars = t
        .bytes()
        .all(|b| b.is_ascii_digit() || matches!(b, b'+' | b'-' | b' ' | b'(' | b')' | b'/'));
    if phone_chars && digits >= 7 && (t.starts_with('+') || t.starts_with('0')) {
        return Some("a phone number");
    }
    if longest_run >= 6 {
        return Some("a long run of digits");
    }
    None
}

enum Inner {
    Csv(Box<csv::Chunker<Counting<File>>>),
    Parquet(ParquetRecordBatchReader),
}

/// A batch as read: decoded already (Parquet) or still raw CSV records, which any thread can
/// decode with [`RawBatch::decode`].
#[derive(Debug)]
pub enum RawBatch {
    /// Decoded columns.
    Arrow(RecordBatch),
    /// Whole CSV records.
    Csv(csv::CsvChunk),
}

impl RawBatch {
    /// Decodes to the projected columns. `path` and `first_row` locate errors.
    ///
    /// # Errors
    /// `Malformed`, naming the row, never a value.
    pub fn decode(self, path: &Path, first_row: u64) -> Result<RecordBatch> {
        match self {
            RawBatch::Arrow(b) => Ok(b),
            RawBatch::Csv(c) => c.decode().map_err(|e| {
                Error::malformed(
                    Location::file(path).with_row(first_row + e.record as u64),
                    e.what,
                )
            }),
        }
    }

    /// Rows in the batch.
    pub fn num_rows(&self) -> usize {
        match self {
            RawBatch::Arrow(b) => b.num_rows(),
            RawBatch::Csv(c) => c.rows(),
        }
    }
}

/// A stream of batches from one file.
pub struct BatchReader {
    path: PathBuf,
    columns: Vec<String>,
    inner: Inner,
    rows_read: u64,
}

impl BatchReader {
    /// The next batch, decoded, or `None` at the end.
    ///
    /// # Errors
    /// `Malformed` when the file is broken, naming the file and the row.
    pub fn next_batch(&mut self) -> Result<Option<(u64, RecordBatch)>> {
        match self.next_raw()? {
            Some((first, raw)) => Ok(Some((first, raw.decode(&self.path, first)?))),
            None => Ok(None),
        }
    }

    /// The next batch as read (CSV still undecoded), with its first row number.
    ///
    /// # Errors
    /// `Malformed` or `Io`.
    pub fn next_raw(&mut self) -> Result<Option<(u64, RawBatch)>> {
        let first = self.rows_read + 1;
        match &mut self.inner {
            Inner::Csv(c) => match c.next_chunk() {
                Ok(Some(chunk)) => {
                    self.rows_read += chunk.rows() as u64;
                    Ok(Some((first, RawBatch::Csv(chunk))))
                }
                Ok(None) => Ok(None),
                Err(Ok(io)) => Err(Error::io(&self.path, io)),
                Err(Err(what)) => Err(Error::malformed(Location::file(&self.path), what)),
            },
            Inner::Parquet(r) => match guard(&self.path, || Ok(r.next()))? {
                None => Ok(None),
                Some(Ok(batch)) => {
                    self.rows_read += batch.num_rows() as u64;
                    let batch = self.reorder(batch)?;
                    Ok(Some((first, RawBatch::Arrow(batch))))
                }
                Some(Err(e)) => Err(self.reword(&e)),
            },
        }
    }

    /// For CSV inputs read to the end: the file's SHA-256 (hex) and size, computed while
    /// reading.
    pub fn digest(&self) -> Option<(String, u64)> {
        match &self.inner {
            Inner::Csv(c) => c.digest(),
            Inner::Parquet(_) => None,
        }
    }

    fn reorder(&self, batch: RecordBatch) -> Result<RecordBatch> {
        let schema = batch.schema();
        let mut fields = Vec::with_capacity(self.columns.len());
        let mut arrays = Vec::with_capacity(self.columns.len());
        for c in &self.columns {
            let idx = schema
                .fields()
                .iter()
                .position(|f| f.name() == c)
                .ok_or_else(|| {
                    Error::internal(format!("projected column `{c}` missing from the batch"))
                })?;
            let f = schema.field(idx);
            fields.push(Field::new(c, f.data_type().clone(), true));
            arrays.push(batch.column(idx).clone());
        }
        RecordBatch::try_new(Arc::new(Schema::new(fields)), arrays)
            .map_err(|e| Error::internal(format!("cannot rebuild a batch: {e}")))
    }

    /// Turns a Parquet reader error into one that names the place but never quotes the data.
    fn reword(&self, e: &ArrowError) -> Error {
        let loc = Location::file(&self.path);
        let near = self.rows_read + 1;
        match e {
            ArrowError::IoError(_, io) => {
                Error::io(&self.path, std::io::Error::new(io.kind(), io.to_string()))
            }
            ArrowError::ParquetError(_) | ArrowError::ExternalError(_) => Error::malformed(
                loc,
                format!("the Parquet data cannot be decoded in the batch starting at row {near}"),
            ),
            _ => Error::malformed(
                loc,
                format!("the input cannot be read in the batch starting at row {near}"),
            ),
        }
    }
}

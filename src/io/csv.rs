//! A CSV reader built for parallel decoding: a sequential *chunker* cuts the file into
//! record-aligned chunks, and [`CsvChunk::decode`] turns a chunk into Arrow string arrays on
//! any thread.
//!
//! # Why not one sequential parser
//! Decoding (finding fields, copying the projected ones, validating UTF-8) is most of a CSV
//! reader's cost. The chunker only needs to know where records end, which takes one
//! `memchr2` pass over quotes and newlines; the expensive part then runs on every core.
//!
//! # The rules (RFC 4180)
//! Records end with `\n` (an `\r` before it is dropped); fields are separated by the
//! delimiter; a field that starts with `"` is quoted, may hold delimiters and newlines, and
//! writes a quote as `""`. An empty field (quoted or not) is null. A UTF-8 BOM before the
//! header is skipped. Every record must have as many fields as the header. A file that ends
//! inside a quoted field (a truncated file) is an error. Only the projected columns are
//! copied; the others are skipped over.
//!
//! The chunker also digests the bytes it reads (SHA-256), so the manifest's input digest
//! costs no second read of the file.

use std::io::Read;
use std::sync::Arc;
use std::sync::mpsc::{Receiver, Sender, channel};

use arrow::array::{ArrayRef, RecordBatch};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use memchr::{memchr, memchr2, memchr2_iter};

use crate::arrays::Utf8Column;
use sha2::{Digest, Sha256};

/// Target size of a chunk in bytes.
const CHUNK_BYTES: usize = 2 << 20;

/// What a chunk needs to know to decode itself.
#[derive(Debug)]
pub struct Layout {
    /// The field delimiter.
    pub delimiter: u8,
    /// Fields per record (the header's width).
    pub fields: usize,
    /// For each field of a record, its output column, if projected.
    pub column_of_field: Vec<Option<usize>>,
    /// The output schema (projected columns, in output order, all `Utf8`).
    pub schema: SchemaRef,
}

impl Layout {
    /// A layout reading `projection` (field indices, in output order) named `names`.
    pub fn new(delimiter: u8, fields: usize, projection: &[usize], names: &[String]) -> Layout {
        let mut column_of_field = vec![None; fields];
        for (out, &f) in projection.iter().enumerate() {
            if f < fields {
                column_of_field[f] = Some(out);
            }
        }
        let schema = Arc::new(Schema::new(
            names
                .iter()
                .map(|n| Field::new(n, DataType::Utf8, true))
                .collect::<Vec<_>>(),
        ));
        Layout {
            delimiter,
            fields,
            column_of_field,
            schema,
        }
    }
}

/// Whole records, ready to decode anywhere.
///
/// The records are `bytes[start..len]`. A chunk that took over its chunker's whole read buffer
/// gives it back when dropped, so the reader reuses a handful of buffers for a whole file.
#[derive(Debug)]
pub struct CsvChunk {
    bytes: Vec<u8>,
    start: usize,
    len: usize,
    rows: usize,
    layout: Arc<Layout>,
    recycle: Option<Sender<Vec<u8>>>,
}

impl Drop for CsvChunk {
    fn drop(&mut self) {
        if let Some(r) = &self.recycle {
            // The chunker may be gone (end of file): then the buffer is simply freed.
            let _ = r.send(std::mem::take(&mut self.bytes));
        }
    }
}

/// Why a chunk could not be decoded: which record (0-based in the chunk) and what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChunkError {
    /// The record within the chunk.
    pub record: usize,
    /// What is wrong (never a value).
    pub what: String,
}

impl CsvChunk {
    /// Records in the chunk.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Decodes the projected columns.
    ///
    /// # Errors
    /// A [`ChunkError`] naming the record: a wrong number of fields, text after a closing
    /// quote, an unterminated quote, or invalid UTF-8.
    pub fn decode(&self) -> Result<RecordBatch, ChunkError> {
        let l = &*self.layout;
        let b = &self.bytes[self.start..self.len];
        let n_out = l.schema.fields().len();
        let per_col = b.len() / l.fields.max(1) + 16;
        let mut cols: Vec<Utf8Column> = (0..n_out)
            .map(|_| Utf8Column::with_capacity(self.rows, per_col))
            .collect();
        let d = l.delimiter;
        let len = b.len();
        let err = |record: usize, what: &str| ChunkError {
            record,
            what: what.to_string(),
        };
        if l.fields == 0 {
            return Err(err(0, "the header has no fields"));
        }
        let last_field = l.fields - 1;
        let field_end = FieldEnd::new(d);
        let quote_end = QuoteEnd::new();
        let mut pos = 0;
        let mut record = 0usize;
        while pos < len {
            for (field, &target) in l.column_of_field.iter().enumerate() {
                if pos < len && b[pos] == b'"' {
                    pos += 1;
                    let start_len = target.map(|c| cols[c].values_mut().len());
                    loop {
                        match quote_end.find(&b[pos..]) {
                            Some(q) => {
                                if let Some(c) = target {
                                    cols[c].values_mut().extend_from_slice(&b[pos..pos + q]);
                                }
                                pos += q + 1;
                                if pos < len && b[pos] == b'"' {
                                    if let Some(c) = target {
                                        cols[c].values_mut().push(b'"');
                                    }
                                    pos += 1;
                                } else {
                                    break;
                                }
                            }
                            None => return Err(err(record, "a quoted field is not closed")),
                        }
                    }
                    if let (Some(c), Some(start)) = (target, start_len) {
                        let col = &mut cols[c];
                        let empty = col.values_mut().len() == start;
                        col.end_value(empty);
                    }
                } else {
                    let end = field_end.find(&b[pos..]).map_or(len, |i| pos + i);
                    if let Some(c) = target {
                        let mut value_end = end;
                        if value_end > pos
                            && b[value_end - 1] == b'\r'
                            && (end == len || b[end] == b'\n')
                        {
                            value_end -= 1;
                        }
                        let col = &mut cols[c];
                        col.values_mut().extend_from_slice(&b[pos..value_end]);
                        col.end_value(value_end == pos);
                    }
                    pos = end;
                }
                // After the field: a delimiter, the end of the record, or the end of input.
                let ends_record = match b.get(pos) {
                    None => true,
                    Some(&x) if x == d => {
                        pos += 1;
                        false
                    }
                    Some(b'\n') => {
                        pos += 1;
                        true
                    }
                    Some(b'\r') if pos + 1 < len && b[pos + 1] == b'\n' => {
                        pos += 2;
                        true
                    }
                    Some(b'\r') if pos + 1 == len => {
                        pos += 1;
                        true
                    }
                    Some(_) => return Err(err(record, "text follows a closing quote")),
                };
                match (ends_record, field == last_field) {
                    (true, true) => break,
                    (true, false) => {
                        return Err(err(
                            record,
                            &format!(
                                "a record has {} fields, the header has {}",
                                field + 1,
                                l.fields
                            ),
                        ));
                    }
                    (false, true) => {
                        return Err(err(
                            record,
                            &format!("a record has more than the header's {} fields", l.fields),
                        ));
                    }
                    (false, false) => {}
                }
            }
            record += 1;
        }
        if record != self.rows {
            // Row numbers come from the chunker's count: never let them drift silently.
            return Err(err(
                record.min(self.rows),
                "records could not be delimited consistently (check quoting)",
            ));
        }
        let mut arrays: Vec<ArrayRef> = Vec::with_capacity(n_out);
        for (i, col) in cols.into_iter().enumerate() {
            let array = col.finish().map_err(|_| {
                err(
                    0,
                    &format!(
                        "column `{}` is not valid UTF-8 in this part of the file",
                        l.schema.field(i).name()
                    ),
                )
            })?;
            arrays.push(Arc::new(array));
        }
        // The row count is given: a policy that drops every column reads none, and a batch
        // of no columns still has its rows (they are counted and accounted for).
        RecordBatch::try_new_with_options(
            l.schema.clone(),
            arrays,
            &arrow::array::RecordBatchOptions::new().with_row_count(Some(self.rows)),
        )
        .map_err(|_| err(0, "the columns of a chunk have different lengths"))
    }
}

/// Finds the end of an unquoted field (the delimiter or a newline). Built once per chunk:
/// with AVX2 the searcher's vectors are set up once instead of on every call, which is most
/// of the cost of a search over a field of ten bytes.
enum FieldEnd {
    #[cfg(target_arch = "x86_64")]
    Avx2(memchr::arch::x86_64::avx2::memchr::Two),
    Any(u8),
}

impl FieldEnd {
    fn new(delimiter: u8) -> FieldEnd {
        #[cfg(target_arch = "x86_64")]
        if let Some(two) = memchr::arch::x86_64::avx2::memchr::Two::new(delimiter, b'\n') {
            return FieldEnd::Avx2(two);
        }
        FieldEnd::Any(delimiter)
    }

    #[inline]
    fn find(&self, haystack: &[u8]) -> Option<usize> {
        match self {
            #[cfg(target_arch = "x86_64")]
            FieldEnd::Avx2(two) => two.find(haystack),
            FieldEnd::Any(d) => memchr2(*d, b'\n', haystack),
        }
    }
}

/// Finds the next quote inside a quoted field; like [`FieldEnd`], built once per chunk.
enum QuoteEnd {
    #[cfg(target_arch = "x86_64")]
    Avx2(memchr::arch::x86_64::avx2::memchr::One),
    Any,
}

impl QuoteEnd {
    fn new() -> QuoteEnd {
        #[cfg(target_arch = "x86_64")]
        if let Some(one) = memchr::arch::x86_64::avx2::memchr::One::new(b'"') {
            return QuoteEnd::Avx2(one);
        }
        QuoteEnd::Any
    }

    #[inline]
    fn find(&self, haystack: &[u8]) -> Option<usize> {
        match self {
            #[cfg(target_arch = "x86_64")]
            QuoteEnd::Avx2(one) => one.find(haystack),
            QuoteEnd::Any => memchr(b'"', haystack),
        }
    }
}

/// Finds record ends the way [`CsvChunk::decode`] reads records: a quote opens a quoted field
/// only at the start of a field (or right after the quote that closed one: `""`), so a stray
/// quote inside an unquoted field (`5" screen`) is a literal, as the decoder takes it.
/// Returns the byte length and count of up to `max` whole records (`None` when no record ends
/// in `buf`), and whether `buf` ends inside a quoted field.
pub(crate) fn scan(buf: &[u8], delimiter: u8, max: usize) -> (Option<(usize, usize)>, bool) {
    let mut in_quotes = false;
    let mut last_close = usize::MAX;
    let mut rows = 0;
    let mut end = None;
    for i in memchr2_iter(b'"', b'\n', buf) {
        if buf[i] == b'"' {
            if in_quotes {
                in_quotes = false;
                last_close = i;
            } else if i == 0
                || buf[i - 1] == delimiter
                || buf[i - 1] == b'\n'
                || last_close.wrapping_add(1) == i
            {
                in_quotes = true;
            }
        } else if !in_quotes {
            rows += 1;
            end = Some((i + 1, rows));
            if rows == max {
                return (end, false);
            }
        }
    }
    (end, in_quotes)
}

/// Cuts a CSV byte stream into chunks of whole records, skipping the header.
///
/// Reads go straight into a buffer of `buffer_bytes` (2 MiB). A chunk ends when it has
/// `max_rows` records, when the buffer is full (at the last record that ends in it), or at
/// the end of the input; where chunks end depends only on the bytes, never on timing, so
/// batches (and the extract) are the same on every run. A record longer than the buffer
/// doubles it.
///
/// Handing a chunk out copies the smaller part: a chunk that is most of the buffer takes the
/// buffer over, and the partial record after it starts the next buffer; a chunk much smaller
/// than what is left (a small `max_rows`) is copied out instead. Buffers come back from
/// dropped chunks and are reused as they are (no zeroing, no new pages), so the reader's
/// memory is a fixed number of buffers whatever the file size.
pub struct Chunker<R> {
    reader: R,
    layout: Arc<Layout>,
    /// `buf[start..filled]` was read and not yet handed out; reads go up to `limit`.
    buf: Vec<u8>,
    start: usize,
    filled: usize,
    /// How much of `buf` is used: `buffer_bytes`, more only for a record longer than that.
    limit: usize,
    buffer_bytes: usize,
    eof: bool,
    header_skipped: bool,
    max_rows: usize,
    /// The longest record allowed, in bytes (see [`Chunker::with_max_record`]).
    max_record: usize,
    /// Records handed out so far (for the row number of an error).
    rows_out: u64,
    hasher: Option<Sha256>,
    bytes: u64,
    recycle: (Sender<Vec<u8>>, Receiver<Vec<u8>>),
}

/// The longest record read by default: 64 MiB. A file with an unclosed quote would otherwise
/// be buffered whole before the chunker could tell.
pub const MAX_RECORD_BYTES: usize = 64 << 20;

impl<R: Read> Chunker<R> {
    /// A chunker over `reader` whose chunks hold at most `max_rows` records.
    pub fn new(reader: R, layout: Arc<Layout>, max_rows: usize) -> Chunker<R> {
        Chunker::with_buffer(reader, layout, max_rows, CHUNK_BYTES)
    }

    /// As [`Chunker::new`], with buffers of `buffer_bytes` (tests use tiny ones).
    pub fn with_buffer(
        reader: R,
        layout: Arc<Layout>,
        max_rows: usize,
        buffer_bytes: usize,
    ) -> Chunker<R> {
        let buffer_bytes = buffer_bytes.max(1);
        Chunker {
            reader,
            layout,
            buf: vec![0; buffer_bytes],
            start: 0,
            filled: 0,
            limit: buffer_bytes,
            buffer_bytes,
            eof: false,
            header_skipped: false,
            max_rows: max_rows.max(1),
            max_record: MAX_RECORD_BYTES,
            rows_out: 0,
            hasher: Some(Sha256::new()),
            bytes: 0,
            recycle: channel(),
        }
    }

    /// Reads until `limit` or the end of the input, digesting what was read.
    fn fill(&mut self) -> std::io::Result<()> {
        let from = self.filled;
        while self.filled < self.limit {
            let n = match self.reader.read(&mut self.buf[self.filled..self.limit]) {
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            if n == 0 {
                self.eof = true;
                break;
            }
            self.filled += n;
        }
        if let Some(h) = &mut self.hasher {
            h.update(&self.buf[from..self.filled]);
        }
        self.bytes += (self.filled - from) as u64;
        Ok(())
    }

    /// Makes room and reads more: what is pending moves to the front of the buffer, and a
    /// buffer that one record fills doubles.
    fn read_more(&mut self) -> std::io::Result<()> {
        if self.start > 0 {
            self.buf.copy_within(self.start..self.filled, 0);
            self.filled -= self.start;
            self.start = 0;
        }
        if self.filled == self.limit {
            self.limit *= 2;
            if self.buf.len() < self.limit {
                self.buf.resize(self.limit, 0);
            }
        }
        self.fill()
    }

    /// A buffer of at least `len` bytes: a returned one when there is one.
    fn spare(&mut self, len: usize) -> Vec<u8> {
        while let Ok(b) = self.recycle.1.try_recv() {
            if b.len() >= len {
                return b;
            }
        }
        vec![0; len]
    }

    /// Hands out `buf[start..end]` (`rows` records), copying the smaller part (see the type's
    /// docs).
    fn take(&mut self, end: usize, rows: usize) -> CsvChunk {
        let len = end - self.start;
        let rest = self.filled - end;
        let (bytes, start, recycle) = if len >= rest {
            let limit = if rest < self.buffer_bytes {
                self.buffer_bytes
            } else {
                rest + self.buffer_bytes
            };
            let mut next = self.spare(limit);
            next[..rest].copy_from_slice(&self.buf[end..self.filled]);
            let old = std::mem::replace(&mut self.buf, next);
            let start = self.start;
            self.start = 0;
            self.filled = rest;
            self.limit = limit;
            (old, start, Some(self.recycle.0.clone()))
        } else {
            let bytes = self.buf[self.start..end].to_vec();
            self.start = end;
            (bytes, 0, None)
        };
        let end_in_bytes = start + len;
        CsvChunk {
            bytes,
            start,
            len: end_in_bytes,
            rows,
            layout: self.layout.clone(),
            recycle,
        }
    }

    /// The next chunk, or `None` at the end.
    ///
    /// # Errors
    /// `Err(Ok(io))` for an I/O error, `Err(Err(what))` when the file ends inside quotes.
    pub fn next_chunk(
        &mut self,
    ) -> Result<Option<CsvChunk>, std::result::Result<std::io::Error, String>> {
        let d = self.layout.delimiter;
        while !self.header_skipped {
            if self.filled == 0 && !self.eof {
                self.fill().map_err(Ok)?;
            }
            let bom = if self.buf[..self.filled].starts_with(b"\xef\xbb\xbf") {
                3
            } else {
                0
            };
            match scan(&self.buf[bom..self.filled], d, 1).0 {
                Some((end, _)) => {
                    self.start = bom + end;
                    self.header_skipped = true;
                }
                None if self.eof => {
                    self.start = self.filled;
                    self.header_skipped = true;
                }
                None if self.filled - self.start >= self.max_record => {
                    return Err(Err(self.too_long(0)));
                }
                None => self.read_more().map_err(Ok)?,
            }
        }
        loop {
            let want = self.max_rows;
            let (cut, in_quotes) = scan(&self.buf[self.start..self.filled], d, want);
            let full = self.filled == self.limit && self.start == 0;
            match cut {
                Some((end, rows)) if rows == want || full || self.eof => {
                    self.rows_out += rows as u64;
                    return Ok(Some(self.take(self.start + end, rows)));
                }
                _ if self.eof => {
                    if self.filled == self.start {
                        return Ok(None);
                    }
                    // The last record has no newline.
                    if in_quotes {
                        return Err(Err(format!(
                            "the file ends inside a quoted field that opens at or after data row {}: it is probably truncated, or a quote is never closed",
                            self.rows_out + 1
                        )));
                    }
                    self.rows_out += 1;
                    return Ok(Some(self.take(self.filled, 1)));
                }
                None if self.filled - self.start >= self.max_record => {
                    return Err(Err(self.too_long(self.rows_out + 1)));
                }
                _ => self.read_more().map_err(Ok)?,
            }
        }
    }

    /// Refuses a record (the header included) longer than `bytes`: the chunker stops with an
    /// error naming its row instead of buffering on.
    #[must_use]
    pub fn with_max_record(mut self, bytes: usize) -> Chunker<R> {
        self.max_record = bytes.max(1);
        self
    }

    /// The error for a record longer than the limit: `row` is 0 for the header.
    fn too_long(&self, row: u64) -> String {
        let what = if row == 0 {
            "the header row".to_string()
        } else {
            format!("the record at data row {row}")
        };
        format!(
            "{what} is longer than {} bytes (`--max-record-bytes`): probably a quote that is never closed",
            self.max_record
        )
    }

    /// Reads without digesting (a second pass over a file already digested, a sample).
    #[must_use]
    pub fn without_digest(mut self) -> Chunker<R> {
        self.hasher = None;
        self
    }

    /// The SHA-256 (hex) and size of everything read so far (the whole file, at the end);
    /// `None` for a chunker made [`without_digest`](Chunker::without_digest).
    pub fn digest(&self) -> Option<(String, u64)> {
        let h = self.hasher.as_ref()?;
        Some((hex::encode(h.clone().finalize()), self.bytes))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::AsArray;

    fn read_all(
        text: &[u8],
        max_rows: usize,
        projection: &[usize],
        names: &[&str],
    ) -> Vec<Vec<Option<String>>> {
        let fields = 3;
        let names: Vec<String> = names.iter().map(|s| s.to_string()).collect();
        let layout = Arc::new(Layout::new(b',', fields, projection, &names));
        let mut ch = Chunker::new(text, layout, max_rows);
        let mut out = vec![Vec::new(); projection.len()];
        while let Some(c) = ch.next_chunk().unwrap() {
            let b = c.decode().unwrap();
            assert_eq!(b.num_rows(), c.rows());
            assert!(b.num_rows() <= max_rows);
            for (i, col) in out.iter_mut().enumerate() {
                let a = b.column(i).as_string::<i32>();
                col.extend(a.iter().map(|v| v.map(str::to_string)));
            }
        }
        out
    }

    #[test]
    fn quotes_newlines_crlf_bom_and_nulls() {
        let text = "\u{feff}a,b,c\r\n1,\"x, \"\"y\"\"\nz\",\r\n,2,\"\"\n3,4,5".as_bytes();
        for max in [1, 2, 100] {
            let cols = read_all(text, max, &[0, 1, 2], &["a", "b", "c"]);
            assert_eq!(cols[0], vec![Some("1".into()), None, Some("3".into())]);
            assert_eq!(
                cols[1],
                vec![
                    Some("x, \"y\"\nz".into()),
                    Some("2".into()),
                    Some("4".into())
                ]
            );
            assert_eq!(cols[2], vec![None, None, Some("5".into())]);
        }
    }

    #[test]
    fn a_stray_quote_inside_an_unquoted_field_is_a_literal() {
        let text = b"a,b,c\n1,5\" screen,x\n2,y,z\n3,\"q\"\"r\",w\n";
        for max in [1, 2, 10] {
            let cols = read_all(text, max, &[0, 1], &["a", "b"]);
            assert_eq!(
                cols[0],
                vec![Some("1".into()), Some("2".into()), Some("3".into())]
            );
            assert_eq!(
                cols[1],
                vec![
                    Some("5\" screen".into()),
                    Some("y".into()),
                    Some("q\"r".into())
                ]
            );
        }
    }

    /// The vector searcher and the portable one agree at every position.
    #[test]
    fn field_end_searchers_agree() {
        let text: Vec<u8> = (0..5_000u32)
            .map(|i| match (i * 7919) % 23 {
                0 => b',',
                1 => b'\n',
                2 => b';',
                _ => b'a' + (i % 26) as u8,
            })
            .collect();
        for d in [b',', b';'] {
            let fast = FieldEnd::new(d);
            let portable = FieldEnd::Any(d);
            for start in 0..text.len() {
                assert_eq!(fast.find(&text[start..]), portable.find(&text[start..]));
            }
        }
        let quotes: Vec<u8> = text
            .iter()
            .map(|&c| if c == b';' { b'"' } else { c })
            .collect();
        let (fast, portable) = (QuoteEnd::new(), QuoteEnd::Any);
        for start in 0..quotes.len() {
            assert_eq!(fast.find(&quotes[start..]), portable.find(&quotes[start..]));
        }
    }

    #[test]
    fn projection_skips_fields() {
        let cols = read_all(b"a,b,c\n1,2,3\n4,5,6\n", 10, &[2, 0], &["c", "a"]);
        assert_eq!(cols[0], vec![Some("3".into()), Some("6".into())]);
        assert_eq!(cols[1], vec![Some("1".into()), Some("4".into())]);
    }

    #[test]
    fn errors_name_the_record_not_the_value() {
        let layout = Arc::new(Layout::new(b',', 3, &[0], &["a".into()]));
        let mut ch = Chunker::new(&b"a,b,c\n1,2,3\nsecret,2\n"[..], layout.clone(), 10);
        let e = ch.next_chunk().unwrap().unwrap().decode().unwrap_err();
        assert_eq!(e.record, 1);
        assert!(!e.what.contains("secret"));
        let mut ch = Chunker::new(&b"a,b,c\n1,2,\"unterminated\n"[..], layout, 10);
        assert!(matches!(ch.next_chunk(), Err(Err(_))));
    }

    #[test]
    fn digest_covers_the_whole_file() {
        let text = b"a,b,c\n1,2,3\n";
        let layout = Arc::new(Layout::new(b',', 3, &[0], &["a".into()]));
        let mut ch = Chunker::new(&text[..], layout, 10);
        while ch.next_chunk().unwrap().is_some() {}
        assert_eq!(ch.digest().unwrap().0, hex::encode(Sha256::digest(text)));
        assert_eq!(ch.digest().unwrap().1, 12);
    }

    /// Tiny buffers: records and quoted fields cross buffer ends, a record is longer than the
    /// buffer (the buffer grows), buffers are recycled, and the result is the csv crate's.
    #[test]
    fn any_buffer_size_reads_the_same_records() {
        let mut text = String::from("\u{feff}a,b,c\r\n");
        for i in 0..300 {
            let long = "x".repeat(i % 97);
            text.push_str(&format!("{i},\"q,\"\"{long}\"\"\n{i}\",{}\r\n", i % 5));
        }
        text.push_str("last,\"no\nnewline\",z");
        let bytes = text.as_bytes();
        let mut r = csv::Reader::from_reader(&bytes[3..]);
        let want: Vec<Vec<String>> = r
            .records()
            .map(|rec| rec.unwrap().iter().map(str::to_string).collect())
            .collect();
        let names = ["a".to_string(), "b".to_string(), "c".to_string()];
        for buffer in [1, 2, 3, 7, 64, 500, 1 << 20] {
            for max_rows in [1, 3, 1000] {
                let layout = Arc::new(Layout::new(b',', 3, &[0, 1, 2], &names));
                let mut ch = Chunker::with_buffer(bytes, layout, max_rows, buffer);
                let mut got: Vec<Vec<String>> = Vec::new();
                while let Some(c) = ch.next_chunk().unwrap() {
                    let b = c.decode().unwrap();
                    for row in 0..b.num_rows() {
                        got.push(
                            (0..3)
                                .map(|col| b.column(col).as_string::<i32>().value(row).to_string())
                                .collect(),
                        );
                    }
                }
                assert_eq!(got, want, "buffer {buffer}, max_rows {max_rows}");
                assert_eq!(ch.digest().unwrap().0, hex::encode(Sha256::digest(bytes)));
                assert_eq!(ch.digest().unwrap().1, bytes.len() as u64);
            }
        }
        // A truncated file is still an error with a tiny buffer.
        let layout = Arc::new(Layout::new(b',', 3, &[0], &["a".into()]));
        let mut ch = Chunker::with_buffer(&b"a,b,c\n1,2,\"open\n"[..], layout, 10, 2);
        assert!(matches!(ch.next_chunk(), Err(Err(_))));
    }

    /// Where chunks end depends only on the bytes: the same whether every chunk is dropped at
    /// once (its buffer comes back for reuse) or all are kept (no buffer comes back). And
    /// with records shorter than the buffer, the buffer never grows, whatever `max_rows`.
    #[test]
    fn chunk_ends_depend_on_the_bytes_only_and_buffers_stay_bounded() {
        let mut text = String::from("a,b,c\n");
        for i in 0..20_000 {
            text.push_str(&format!("{i},\"q,{}\",{}\n", "x".repeat(i % 40), i % 7));
        }
        let layout = Arc::new(Layout::new(
            b',',
            3,
            &[0, 1, 2],
            &["a".into(), "b".into(), "c".into()],
        ));
        for max_rows in [1, 7, 100, 1_000_000] {
            for buffer in [256, 4096, 100_000] {
                let shape = |keep: bool| {
                    let mut ch =
                        Chunker::with_buffer(text.as_bytes(), layout.clone(), max_rows, buffer);
                    let (mut shape, mut kept) = (Vec::new(), Vec::new());
                    while let Some(c) = ch.next_chunk().unwrap() {
                        assert_eq!(ch.buf.len(), buffer, "max_rows {max_rows}, buffer {buffer}");
                        assert!(c.rows() <= max_rows);
                        shape.push((c.rows(), c.len - c.start));
                        if keep {
                            kept.push(c);
                        }
                    }
                    shape
                };
                let recycled = shape(false);
                assert_eq!(
                    recycled,
                    shape(true),
                    "max_rows {max_rows}, buffer {buffer}"
                );
                assert_eq!(recycled.iter().map(|(r, _)| r).sum::<usize>(), 20_000);
            }
        }
    }

    /// A record longer than the buffer grows it for as long as it takes, then the limit
    /// comes back down; a reader that returns a few bytes at a time changes nothing.
    #[test]
    fn a_long_record_grows_the_buffer_only_while_it_lasts() {
        struct Trickle<'a>(&'a [u8]);
        impl Read for Trickle<'_> {
            fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
                let n = buf.len().min(3).min(self.0.len());
                buf[..n].copy_from_slice(&self.0[..n]);
                self.0 = &self.0[n..];
                Ok(n)
            }
        }
        let mut text = String::from("a,b,c\n1,2,3\n");
        text.push_str(&format!("2,\"{}\",x\n", "y\n".repeat(500)));
        for i in 3..200 {
            text.push_str(&format!("{i},b,c\n"));
        }
        let layout = Arc::new(Layout::new(b',', 3, &[0], &["a".into()]));
        for max_rows in [1, 5, 1000] {
            let mut whole = Chunker::with_buffer(text.as_bytes(), layout.clone(), max_rows, 64);
            let mut trickle =
                Chunker::with_buffer(Trickle(text.as_bytes()), layout.clone(), max_rows, 64);
            let (mut rows, mut max_limit) = (0, 0);
            loop {
                let (a, b) = (whole.next_chunk().unwrap(), trickle.next_chunk().unwrap());
                let (Some(a), Some(b)) = (a, b) else { break };
                assert_eq!((a.rows(), a.len - a.start), (b.rows(), b.len - b.start));
                rows += a.rows();
                max_limit = max_limit.max(a.bytes.len()).max(whole.limit);
            }
            assert_eq!(rows, 199);
            assert!(max_limit >= 1000, "the long record needed a bigger buffer");
            assert!(max_limit <= 4096, "grown to {max_limit}");
            assert_eq!(
                whole.limit, 64,
                "max_rows {max_rows}: the limit came back down"
            );
        }
    }

    #[test]
    fn large_input_matches_the_csv_crate() {
        let mut text = String::from("a,b,c\n");
        for i in 0..50_000 {
            text.push_str(&format!(
                "{i},\"q,{i}\",{}\n",
                if i % 3 == 0 { "" } else { "v" }
            ));
        }
        let cols = read_all(text.as_bytes(), 7_777, &[0, 1, 2], &["a", "b", "c"]);
        let mut r = csv::Reader::from_reader(text.as_bytes());
        for (i, rec) in r.records().enumerate() {
            let rec = rec.unwrap();
            for c in 0..3 {
                let want = (!rec[c].is_empty()).then(|| rec[c].to_string());
                assert_eq!(cols[c][i], want);
            }
        }
        assert_eq!(cols[0].len(), 50_000);
    }
}

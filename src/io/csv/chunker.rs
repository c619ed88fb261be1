//! The sequential chunker: finds where records end (one pass over quotes and newlines), cuts
//! the file into record-aligned chunks, and digests the bytes it reads.

use std::io::Read;
use std::sync::Arc;
use std::sync::mpsc::{Receiver, Sender, channel};

use memchr::memchr2_iter;
use sha2::{Digest, Sha256};

use super::*;

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
    pub(super) reader: R,
    pub(super) layout: Arc<Layout>,
    /// `buf[start..filled]` was read and not yet handed out; reads go up to `limit`.
    pub(super) buf: Vec<u8>,
    pub(super) start: usize,
    filled: usize,
    /// How much of `buf` is used: `buffer_bytes`, more only for a record longer than that.
    pub(super) limit: usize,
    buffer_bytes: usize,
    eof: bool,
    header_skipped: bool,
    pub(super) max_rows: usize,
    /// The longest record allowed, in bytes (see [`Chunker::with_max_record`]).
    max_record: usize,
    /// Records handed out so far (for the row number of an error).
    rows_out: u64,
    hasher: Option<Sha256>,
    pub(super) bytes: u64,
    pub(super) recycle: (Sender<Vec<u8>>, Receiver<Vec<u8>>),
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
    pub(super) fn take(&mut self, end: usize, rows: usize) -> CsvChunk {
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

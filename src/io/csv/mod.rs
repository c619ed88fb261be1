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

use std::sync::Arc;
use std::sync::mpsc::Sender;

use arrow::array::{ArrayRef, RecordBatch};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};

use crate::arrays::Utf8Column;

mod chunker;
mod fields;

pub(crate) use chunker::scan;
pub use chunker::{Chunker, MAX_RECORD_BYTES};
use fields::*;

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
                let col = target.map(|c| &mut cols[c]);
                pos = if pos < len && b[pos] == b'"' {
                    read_quoted(b, pos + 1, &quote_end, col)
                        .ok_or_else(|| err(record, "a quoted field is not closed"))?
                } else {
                    read_plain(b, pos, &field_end, col)
                };
                let (next, ends_record) = after_field(b, pos, d)
                    .ok_or_else(|| err(record, "text follows a closing quote"))?;
                pos = next;
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

#[cfg(test)]
mod tests {
    use std::io::Read;

    use sha2::{Digest, Sha256};

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

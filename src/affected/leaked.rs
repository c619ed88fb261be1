//! Scanning the leaked files (Parquet, CSV or any bytes) for those tokens, ciphertexts and
//! identity numbers.

use std::collections::HashMap;
use std::fs::File;
use std::io::Read;
use std::path::Path;

use arrow::array::{Array, AsArray};
use arrow::datatypes::DataType;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

use crate::error::{Error, Location, Result};
use crate::keys::TOKEN_BYTES;

use super::*;

/// One affected person's matches.
#[derive(Default)]
pub(super) struct Hit {
    /// Leaked files, in order, each once.
    pub(super) files: Vec<u16>,
    /// Bits of the spaces matched.
    pub(super) spaces: u64,
}

/// Everything found in the leak.
pub(super) struct Hits {
    pub(super) people: HashMap<u32, Hit>,
    pub(super) per_file: Vec<u64>,
    pub(super) unmatched_tokens: u64,
}

impl Hits {
    pub(super) fn new(files: usize) -> Hits {
        Hits {
            people: HashMap::new(),
            per_file: vec![0; files],
            unmatched_tokens: 0,
        }
    }

    fn add(&mut self, person: u32, space: u8, file: u16) {
        let hit = self.people.entry(person).or_default();
        hit.spaces |= 1u64 << space;
        if hit.files.last() != Some(&file) {
            hit.files.push(file);
            self.per_file[usize::from(file)] += 1;
        }
    }
}

/// The scan of one leaked file.
pub(super) struct FileScan<'a> {
    pub(super) index: &'a Index,
    pub(super) hits: &'a mut Hits,
    pub(super) file: u16,
    /// Per top-level column: (32-hex runs, of which matched).
    pub(super) columns: Vec<(u64, u64)>,
}

impl<'a> FileScan<'a> {
    pub(super) fn new(index: &'a Index, hits: &'a mut Hits, file: u16) -> FileScan<'a> {
        FileScan {
            index,
            hits,
            file,
            columns: Vec::new(),
        }
    }

    pub(super) fn column(&mut self, col: usize) -> &mut (u64, u64) {
        if self.columns.len() <= col {
            self.columns.resize(col + 1, (0, 0));
        }
        &mut self.columns[col]
    }

    /// Unmatched 32-hex runs in the columns where something matched.
    pub(super) fn unmatched(&self) -> u64 {
        self.columns
            .iter()
            .filter(|(_, m)| *m > 0)
            .map(|(h, m)| h - m)
            .sum()
    }

    pub(super) fn token(&mut self, col: usize, bytes: [u8; TOKEN_BYTES]) {
        let found = self.index.tokens.get(&bytes).copied();
        let c = self.column(col);
        c.0 += 1;
        if let Some((p, s)) = found {
            c.1 += 1;
            self.hits.add(p, s, self.file);
        }
    }

    fn cipher(&mut self, bytes: &[u8]) {
        let Ok(raw) = <[u8; CIPHER_BYTES]>::try_from(bytes) else {
            return;
        };
        if let Some((p, s)) = self.index.ciphers.get(&raw).copied() {
            self.hits.add(p, s, self.file);
        }
    }

    /// A binary cell: a raw token or ciphertext, else scanned as text.
    pub(super) fn binary(&mut self, col: usize, cell: &[u8]) {
        if let Ok(t) = <[u8; TOKEN_BYTES]>::try_from(cell) {
            self.token(col, t);
        } else if cell.len() == CIPHER_BYTES {
            self.cipher(cell);
        } else {
            self.text(col, cell);
        }
    }

    /// A text cell: every run of exactly 32 hex digits and of exactly 54 base64url
    /// characters.
    pub(super) fn text(&mut self, col: usize, cell: &[u8]) {
        if cell.len() < 2 * TOKEN_BYTES {
            return;
        }
        for run in runs(cell, u8::is_ascii_hexdigit) {
            if run.len() == 2 * TOKEN_BYTES {
                let mut t = [0u8; TOKEN_BYTES];
                if hex::decode_to_slice(run, &mut t).is_ok() {
                    self.token(col, t);
                }
            }
        }
        if cell.len() >= CIPHER_B64_LEN && !self.index.ciphers.is_empty() {
            let b64 = |b: &u8| b.is_ascii_alphanumeric() || *b == b'-' || *b == b'_';
            for run in runs(cell, b64) {
                if run.len() == CIPHER_B64_LEN
                    && let Ok(raw) = URL_SAFE_NO_PAD.decode(run)
                {
                    self.cipher(&raw);
                }
            }
        }
    }

    /// Every string or binary value of `array` (nested ones too), as column `col`.
    pub(super) fn array(&mut self, col: usize, array: &dyn Array) {
        match array.data_type() {
            DataType::Utf8 => {
                for v in array.as_string::<i32>().iter().flatten() {
                    self.text(col, v.as_bytes());
                }
            }
            DataType::LargeUtf8 => {
                for v in array.as_string::<i64>().iter().flatten() {
                    self.text(col, v.as_bytes());
                }
            }
            DataType::Utf8View => {
                for v in array.as_string_view().iter().flatten() {
                    self.text(col, v.as_bytes());
                }
            }
            DataType::Binary => {
                for v in array.as_binary::<i32>().iter().flatten() {
                    self.binary(col, v);
                }
            }
            DataType::LargeBinary => {
                for v in array.as_binary::<i64>().iter().flatten() {
                    self.binary(col, v);
                }
            }
            DataType::BinaryView => {
                for v in array.as_binary_view().iter().flatten() {
                    self.binary(col, v);
                }
            }
            DataType::FixedSizeBinary(_) => {
                for v in array.as_fixed_size_binary().iter().flatten() {
                    self.binary(col, v);
                }
            }
            DataType::Dictionary(_, value_type) => {
                // Per row, not per distinct value, so the counts are of cells.
                if let Ok(values) = arrow::compute::cast(array, value_type) {
                    self.array(col, values.as_ref());
                }
            }
            DataType::Struct(_) => {
                for child in array.as_struct().columns() {
                    self.array(col, child.as_ref());
                }
            }
            DataType::List(_) => self.array(col, array.as_list::<i32>().values().as_ref()),
            DataType::LargeList(_) => self.array(col, array.as_list::<i64>().values().as_ref()),
            DataType::FixedSizeList(_, _) => {
                self.array(col, array.as_fixed_size_list().values().as_ref());
            }
            DataType::Map(_, _) => {
                let m = array.as_map();
                self.array(col, m.keys().as_ref());
                self.array(col, m.values().as_ref());
            }
            // Numbers, dates, booleans: no token fits in them.
            _ => {}
        }
    }
}

/// The maximal runs of bytes for which `class` holds.
pub(super) fn runs(cell: &[u8], class: impl Fn(&u8) -> bool) -> impl Iterator<Item = &[u8]> {
    cell.split(move |b| !class(b)).filter(|r| !r.is_empty())
}

/// Scans one leaked file: Parquet when it starts with `PAR1`, else CSV.
pub(super) fn scan_leaked_file(path: &Path, scan: &mut FileScan<'_>) -> Result<()> {
    let mut magic = [0u8; 4];
    let mut file = File::open(path).map_err(|e| Error::io(path, e))?;
    let got = read_up_to(&mut file, &mut magic).map_err(|e| Error::io(path, e))?;
    if got == 4 && &magic == b"PAR1" {
        scan_parquet(path, scan)
    } else {
        scan_csv(path, scan)
    }
}

fn read_up_to(file: &mut File, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match file.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

fn scan_parquet(path: &Path, scan: &mut FileScan<'_>) -> Result<()> {
    let file = File::open(path).map_err(|e| Error::io(path, e))?;
    let mut reader = crate::io::guard(path, || {
        let options =
            parquet::arrow::arrow_reader::ArrowReaderOptions::new().with_skip_arrow_metadata(true);
        ParquetRecordBatchReaderBuilder::try_new_with_options(file, options)
            .and_then(|b| b.with_batch_size(8192).build())
            .map_err(|_| {
                Error::malformed(
                    Location::file(path),
                    "not a readable Parquet file (footer or schema cannot be decoded)",
                )
            })
    })?;
    let mut rows = 0u64;
    while let Some(batch) = crate::io::guard(path, || Ok(reader.next()))? {
        let batch = batch.map_err(|_| {
            Error::malformed(
                Location::file(path),
                format!(
                    "the Parquet data cannot be decoded in the batch starting at row {}",
                    rows + 1
                ),
            )
        })?;
        rows += batch.num_rows() as u64;
        for (ci, column) in batch.columns().iter().enumerate() {
            scan.array(ci, column.as_ref());
        }
    }
    Ok(())
}

/// The delimiter of a leaked CSV: the most frequent of `,`, `;`, tab and `|` on its first
/// line (`,` when none occurs).
fn sniff_delimiter(path: &Path) -> Result<u8> {
    let mut file = File::open(path).map_err(|e| Error::io(path, e))?;
    let mut buf = vec![0u8; 64 << 10];
    let n = read_up_to(&mut file, &mut buf).map_err(|e| Error::io(path, e))?;
    let head = &buf[..n];
    let line = head
        .split(|b| *b == b'\n' || *b == b'\r')
        .next()
        .unwrap_or(head);
    let mut best = (0usize, b',');
    for d in [b',', b';', b'\t', b'|'] {
        let count = line.iter().filter(|b| **b == d).count();
        if count > best.0 {
            best = (count, d);
        }
    }
    Ok(best.1)
}

fn scan_csv(path: &Path, scan: &mut FileScan<'_>) -> Result<()> {
    let delimiter = sniff_delimiter(path)?;
    let file = File::open(path).map_err(|e| Error::io(path, e))?;
    let mut rdr = ::csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(delimiter)
        .from_reader(std::io::BufReader::with_capacity(1 << 16, file));
    let mut record = ::csv::ByteRecord::new();
    let mut row = 0u64;
    loop {
        row += 1;
        match rdr.read_byte_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {
                for (ci, field) in record.iter().enumerate() {
                    scan.text(ci, field);
                }
            }
            Err(e) => {
                return Err(match e.into_kind() {
                    ::csv::ErrorKind::Io(io) => Error::io(path, io),
                    _ => Error::malformed(
                        Location::file(path).with_row(row),
                        "the record cannot be read as CSV",
                    ),
                });
            }
        }
    }
    Ok(())
}

//! The bodies of minex's fuzz targets, shared by the `cargo fuzz` targets
//! (`fuzz/fuzz_targets/*.rs`) and by the root crate's `tests/it/fuzz_corpus.rs`, which replays
//! the committed corpus (`fuzz/corpus/<target>/`) on the stable toolchain.
//!
//! Each body takes arbitrary bytes, must never panic, and asserts invariants that hold
//! whatever the input. Assertion messages name positions and counts, never a value.
//!
//! This file is also compiled as a module of an integration test of the root crate, so it
//! uses only crates the root crate depends on (minex, arrow, sha2, tempfile), has no
//! crate-level attributes and never refers to `crate::`.

use std::io::Write;
use std::path::Path;
use std::sync::Arc;

use arrow::array::{Array, AsArray};
use arrow::datatypes::DataType;
use minex::ident::date::Date;
use minex::ident::personnummer::{ParseOptions, Pnr};
use minex::ident::{email, phone, postal};
use minex::io::csv::{Chunker, Layout};
use minex::io::{Input, ReadOptions};
use sha2::{Digest, Sha256};

/// The names of the targets, as in `fuzz/Cargo.toml` and `fuzz/corpus/<target>/`.
pub const TARGETS: &[&str] = &["policy", "csv", "ident", "parquet"];

/// Runs the body of the target named `name` (one of [`TARGETS`]).
///
/// # Panics
/// On an unknown name, and wherever the body itself panics.
pub fn run(name: &str, data: &[u8]) {
    match name {
        "policy" => policy(data),
        "csv" => csv(data),
        "ident" => ident(data),
        "parquet" => parquet(data),
        other => panic!("no fuzz target named `{other}`"),
    }
}

// ------------------------------------------------------------------------------------------
// policy
// ------------------------------------------------------------------------------------------

/// `minex::policy::from_str` (src/policy/parse.rs) on arbitrary UTF-8 (other input is skipped).
///
/// Invariants: an accepted policy digests exactly the text, parses the same way twice, and
/// its derived views (lint, output names, key uses) do not panic; a refused one has at least
/// one problem, every line a problem names lies within the text, and the error displays.
pub fn policy(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let path = Path::new("fuzz.yaml");
    match minex::policy::from_str(text, path) {
        Ok(p) => {
            assert_eq!(
                p.sha256,
                hex(&Sha256::digest(text.as_bytes())),
                "the policy digest is the SHA-256 of its text"
            );
            let again = minex::policy::from_str(text, path);
            assert!(
                again.as_ref().is_ok_and(|q| *q == p),
                "parsing the same text twice gives the same policy"
            );
            let _ = minex::policy::lint::lint(&p);
            let _ = p.output_names();
            let _ = p.key_uses();
            for c in &p.columns {
                assert!(
                    p.column(&c.name).is_some(),
                    "a parsed column can be looked up"
                );
            }
        }
        Err(e) => {
            let _ = e.to_string();
            match e.kind() {
                minex::ErrorKind::Policy { problems, .. } => {
                    assert!(!problems.is_empty(), "a refused policy names a problem");
                    // Lines as YAML counts them (`\n`, `\r\n` and a lone `\r` end a line);
                    // a line after the last one is allowed: the end of the input.
                    let lines = yaml_lines(text) + 1;
                    for pr in problems {
                        if let Some(l) = pr.line {
                            assert!(
                                (1..=lines).contains(&l),
                                "a problem's line {l} lies within the text ({lines} lines)"
                            );
                        }
                    }
                }
                other => panic!("from_str refused with a non-policy error: {other:?}"),
            }
        }
    }
}

// ------------------------------------------------------------------------------------------
// csv
// ------------------------------------------------------------------------------------------

/// The CSV chunker and decoder on arbitrary bytes.
///
/// The first five bytes choose the reader (delimiter, header width, projection, `max_rows`,
/// buffer size); the rest is the file. Invariants: every chunk holds 1..=`max_rows` records;
/// a decoded chunk has as many rows as the chunker counted and the projected columns, all
/// `Utf8`; a file read to the end is digested exactly (size and SHA-256); and with an
/// ordinary delimiter, when every chunk decodes, the values are the same as with one huge
/// buffer and no row limit (chunk boundaries change nothing).
pub fn csv(data: &[u8]) {
    if data.len() < 5 {
        return;
    }
    let (ctl, file) = data.split_at(5);
    // Mostly ordinary delimiters; with the top bit set, any ASCII byte (the CLI accepts
    // any one ASCII character, `"` and newline included).
    let delimiter = if ctl[0] & 0x80 != 0 {
        ctl[0] & 0x7f
    } else {
        [b',', b';', b'\t', b'|', b' '][usize::from(ctl[0]) % 5]
    };
    let fields = 1 + usize::from(ctl[1] % 6);
    let mut projection: Vec<usize> = (0..fields).filter(|f| ctl[2] & (1 << f) != 0).collect();
    if ctl[2] & 0x80 != 0 {
        projection.reverse();
    }
    let max_rows = if ctl[3] >= 0xf0 {
        1_000_000
    } else {
        1 + usize::from(ctl[3] % 8)
    };
    let buffer = 1 + usize::from(ctl[4] % 32);

    let names: Vec<String> = projection.iter().map(|f| format!("c{f}")).collect();
    let layout = Arc::new(Layout::new(delimiter, fields, &projection, &names));

    let got = read_csv(file, &layout, max_rows, buffer, &projection);
    let ordinary = !matches!(delimiter, b'"' | b'\n' | b'\r');
    if ordinary && let Some(got) = got {
        let whole = read_csv(file, &layout, usize::MAX, file.len() + 1, &projection);
        assert_eq!(
            whole.as_ref().map(Vec::len),
            Some(got.len()),
            "a tiny buffer and a huge one read as many records"
        );
        assert!(
            whole.as_ref().is_some_and(|w| *w == got),
            "a tiny buffer and a huge one read the same values"
        );
    }
}

/// One record's projected values.
type Row = Vec<Option<Vec<u8>>>;

/// Reads the whole `file`, checking the invariants chunk by chunk. Returns every record's
/// projected values when every chunk was cut and decoded without error.
fn read_csv(
    file: &[u8],
    layout: &Arc<Layout>,
    max_rows: usize,
    buffer: usize,
    projection: &[usize],
) -> Option<Vec<Row>> {
    let mut ch = Chunker::with_buffer(file, layout.clone(), max_rows, buffer);
    let mut rows: Vec<Row> = Vec::new();
    let mut all_ok = true;
    // Every record holds at least its newline (or is the last one), so a chunker that hands
    // out more chunks than there are bytes has lost its way.
    let mut chunks = 0usize;
    loop {
        let chunk = match ch.next_chunk() {
            Ok(Some(c)) => c,
            Ok(None) => break,
            Err(Ok(io)) => panic!("reading from a slice cannot fail: {:?}", io.kind()),
            Err(Err(_)) => return None,
        };
        chunks += 1;
        assert!(chunks <= file.len() + 1, "more chunks than bytes");
        assert!(
            (1..=max_rows).contains(&chunk.rows()),
            "a chunk holds {} records, max_rows is {max_rows}",
            chunk.rows()
        );
        match chunk.decode() {
            Ok(batch) => {
                assert_eq!(
                    batch.num_rows(),
                    chunk.rows(),
                    "a decoded chunk has as many rows as the chunker counted"
                );
                assert_eq!(batch.num_columns(), projection.len(), "projected columns");
                let cols: Vec<_> = (0..batch.num_columns())
                    .map(|i| {
                        let c = batch.column(i);
                        assert_eq!(c.data_type(), &DataType::Utf8, "CSV columns are Utf8");
                        c.as_string::<i32>()
                    })
                    .collect();
                for r in 0..batch.num_rows() {
                    rows.push(
                        cols.iter()
                            .map(|c| {
                                let v = c.is_valid(r).then(|| c.value(r).as_bytes().to_vec());
                                assert!(
                                    v.as_ref().is_none_or(|v| !v.is_empty()),
                                    "an empty field is null"
                                );
                                v
                            })
                            .collect(),
                    );
                }
            }
            Err(e) => {
                assert!(
                    e.record <= chunk.rows(),
                    "a decode error names record {} of a chunk of {}",
                    e.record,
                    chunk.rows()
                );
                all_ok = false;
            }
        }
    }
    let (digest, size) = ch.digest().expect("the chunker digests by default");
    assert_eq!(size, file.len() as u64, "the digest covers every byte");
    assert_eq!(
        digest,
        hex(&Sha256::digest(file)),
        "the digest is the file's SHA-256"
    );
    all_ok.then_some(rows)
}

// ------------------------------------------------------------------------------------------
// ident
// ------------------------------------------------------------------------------------------

/// Reference dates for the century of 10-digit forms: today-ish, a leap day, the turn of the
/// 20th century, and dates where the century arithmetic leaves 0000..9999.
fn references() -> Vec<Date> {
    [
        (2026, 1, 1),
        (2000, 2, 29),
        (1901, 6, 15),
        (50, 3, 1),
        (9999, 12, 31),
    ]
    .into_iter()
    .map(|(y, m, d)| Date::new(y, m, d).expect("a real date"))
    .collect()
}

/// The identity-number parser and the e-mail, phone and postal-code canonicalizers on the
/// input as text (lossy UTF-8), plus `Pnr::from_integer` on the integers the input spells.
///
/// Invariants: a parsed number's canonical form is 12 ASCII characters that re-parse, with
/// the same options, to the same number (and with any reference date: 12-digit forms carry
/// their century); accepting interims never rejects a number accepted without them; the
/// accessors do not panic; an integer parses like its zero-padded decimal spelling; every
/// canonicalizer is idempotent and leaves its output untouched on refusal.
pub fn ident(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let refs = references();
    for &reference in &refs {
        let strict = ParseOptions {
            reference,
            allow_interim: false,
        };
        let lax = ParseOptions {
            reference,
            allow_interim: true,
        };
        let a = Pnr::parse(&text, &strict);
        let b = Pnr::parse(&text, &lax);
        if let Ok(a) = a {
            assert_eq!(b, Ok(a), "allowing interims keeps what was accepted");
        }
        for (opts, p) in [(strict, a), (lax, b)] {
            if let Ok(p) = p {
                check_pnr(&p, &opts, &refs);
            }
        }
    }

    // Integers: the text as a decimal number, and the first eight bytes as one.
    let mut ints = Vec::new();
    if let Ok(v) = text.trim().parse::<i64>() {
        ints.push(v);
    }
    let mut le = [0u8; 8];
    let n = data.len().min(8);
    le[..n].copy_from_slice(&data[..n]);
    ints.push(i64::from_le_bytes(le));
    // A 10- or 12-digit value within range, whatever the bytes.
    let folded = i64::from_le_bytes(le).rem_euclid(1_000_000_000_000);
    ints.push(folded);
    for v in ints {
        for &reference in &refs {
            for allow_interim in [false, true] {
                let opts = ParseOptions {
                    reference,
                    allow_interim,
                };
                let p = Pnr::from_integer(v, &opts);
                let width = match v {
                    1_000_000..=9_999_999_999 => Some(10),
                    10_000_000_000..=999_999_999_999 => Some(12),
                    _ => None,
                };
                match width {
                    Some(w) => {
                        let spelled = format!("{v:0w$}");
                        assert_eq!(
                            p,
                            Pnr::parse(&spelled, &opts),
                            "an integer parses like its zero-padded spelling"
                        );
                    }
                    None => assert!(p.is_err(), "other lengths are refused"),
                }
                if let Ok(p) = p {
                    check_pnr(&p, &opts, &refs);
                }
            }
        }
    }

    // E-mail.
    let mut out = String::new();
    match email::canonicalize(&text, &mut out) {
        Ok(()) => {
            assert!(out.is_ascii() && !out.is_empty(), "an address is ASCII");
            assert!(
                !out.bytes().any(|c| c.is_ascii_uppercase()),
                "an address is lower case"
            );
            let mut again = String::new();
            assert!(
                email::canonicalize(&out, &mut again).is_ok() && again == out,
                "e-mail canonicalization is idempotent"
            );
        }
        Err(_) => assert!(
            out.is_empty(),
            "a refused address leaves the output as it was"
        ),
    }

    // Phone.
    let mut out = String::new();
    match phone::canonicalize(&text, &mut out) {
        Ok(()) => {
            let digits = out.strip_prefix('+').expect("E.164 starts with +");
            assert!(
                digits.bytes().all(|c| c.is_ascii_digit()) && (8..=15).contains(&digits.len()),
                "E.164 is + and 8 to 15 digits ({} digits)",
                digits.len()
            );
            let mut again = String::new();
            assert!(
                phone::canonicalize(&out, &mut again).is_ok() && again == out,
                "phone canonicalization is idempotent"
            );
        }
        Err(_) => assert!(
            out.is_empty(),
            "a refused number leaves the output as it was"
        ),
    }

    // Postal code.
    if let Ok(code) = postal::canonicalize(&text) {
        assert!(
            code.iter().all(u8::is_ascii_digit) && code[0] != b'0',
            "a postal code is five digits, the first 1-9"
        );
        let s = std::str::from_utf8(&code).expect("ASCII");
        assert_eq!(
            postal::canonicalize(s),
            Ok(code),
            "postal-code canonicalization is idempotent"
        );
    }
}

/// The invariants of one parsed number.
fn check_pnr(p: &Pnr, opts: &ParseOptions, refs: &[Date]) {
    let canon = p.canonical();
    assert!(
        canon.iter().all(u8::is_ascii_alphanumeric),
        "the canonical form is ASCII digits (and an interim letter)"
    );
    assert_eq!(p.as_str().as_bytes(), canon, "as_str is the canonical form");
    assert_eq!(
        Pnr::parse(p.as_str(), opts),
        Ok(*p),
        "the canonical form re-parses to the same number"
    );
    for &reference in refs {
        let other = ParseOptions {
            reference,
            allow_interim: opts.allow_interim,
        };
        assert_eq!(
            Pnr::parse(p.as_str(), &other),
            Ok(*p),
            "a 12-digit form does not depend on the reference date"
        );
    }
    let year = p.birth_year();
    assert!((0..=9999).contains(&year), "a four-digit birth year");
    if let Some(d) = p.birth_date() {
        assert_eq!(d.year, year, "the birth date is in the birth year");
        let _ = p.age_at(opts.reference);
    }
    let _ = p.sex();
    let _ = p.kind();
    let _ = p.is_coordination();
}

// ------------------------------------------------------------------------------------------
// parquet
// ------------------------------------------------------------------------------------------

/// Opening a Parquet input and reading every column, batch by batch, to the end (or the
/// first error).
///
/// The bytes are written to a temporary `*.parquet` file. Invariants: the header names the
/// schema's columns; every batch holds the requested columns, in order, and at most
/// `batch_size` rows; first row numbers count up from 1 without gaps.
pub fn parquet(data: &[u8]) {
    let mut tmp = tempfile::Builder::new()
        .prefix("minex-fuzz-")
        .suffix(".parquet")
        .tempfile()
        .expect("a temporary file");
    tmp.write_all(data).expect("write the temporary file");
    tmp.flush().expect("flush the temporary file");
    let options = ReadOptions {
        batch_size: 7,
        ..ReadOptions::default()
    };
    let Ok(input) = Input::open(tmp.path(), &options) else {
        return;
    };
    for c in &input.header {
        let _ = input.data_type(c);
    }
    let columns = input.header.clone();
    let Ok(mut reader) = input.batches(&columns, &options) else {
        return;
    };
    let mut next_first = 1u64;
    // A batch holds at least one row; a reader that never ends would be a hang, which
    // libFuzzer reports as a timeout.
    while let Ok(Some((first, batch))) = reader.next_batch() {
        assert_eq!(first, next_first, "batches are numbered without gaps");
        assert!(batch.num_rows() <= options.batch_size, "batch_size is kept");
        assert_eq!(batch.num_columns(), columns.len(), "every requested column");
        for (f, name) in batch.schema().fields().iter().zip(&columns) {
            assert_eq!(f.name(), name, "columns come in the requested order");
        }
        next_first += batch.num_rows() as u64;
    }
}

/// The number of lines of `text` as YAML counts them: `\n`, `\r\n` and a lone `\r` each end a
/// line; a last line without a line end counts too.
fn yaml_lines(text: &str) -> usize {
    // YAML 1.1 (libyaml, behind serde_norway) also breaks lines at NEL, LS and PS.
    let chars: Vec<char> = text.chars().collect();
    let breaks = chars
        .iter()
        .enumerate()
        .filter(|&(i, &c)| {
            matches!(c, '\n' | '\u{85}' | '\u{2028}' | '\u{2029}')
                || (c == '\r' && chars.get(i + 1) != Some(&'\n'))
        })
        .count();
    let unterminated = !matches!(
        chars.last(),
        None | Some('\n' | '\r' | '\u{85}' | '\u{2028}' | '\u{2029}')
    );
    breaks + usize::from(unterminated)
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes.iter().fold(String::with_capacity(64), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

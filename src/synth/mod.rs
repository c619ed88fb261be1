//! A seeded generator of plausible, entirely synthetic Swedish citizen registers.
//!
//! # Why it exists
//!
//! minex is tested, benchmarked and demonstrated on data that looks like a municipal
//! citizen register: personnummer in every spelling found in the wild, names with å ä ö,
//! e-mail addresses and phone numbers, addresses, guardians of minors and free-text case
//! notes that sometimes leak contact details. Real registers must never be used for that,
//! so this module makes one up. Every value is drawn from a seeded PRNG and public word
//! lists (`synth/tables.rs`); no row describes a real person (a generated personnummer may
//! coincide with a real one by chance, as any valid number can, but nothing else about the
//! row is taken from anyone).
//!
//! # What it owns
//!
//! [`RegisterBuilder`] and the CSV it writes: [`HEADER`], RFC 4180 quoting, `\n` line
//! endings, UTF-8. Rows are produced in chunks of `chunk_rows` (8,192 by default); chunk
//! `i` draws from its own xoshiro256** stream seeded from `(seed, i)` with splitmix64, so
//! the bytes depend only on the seed, the row count, the reference date and the chunk
//! size, never on the number of threads. Chunks are generated in parallel with rayon into
//! reused byte buffers and written in order while the next batch is generated.
//!
//! # The distributions
//!
//! * Age at the reference date: 0–100, a population pyramid (more people of working age,
//!   few over 90); about 20 % are minors. Sex: 50/50.
//! * `personnummer`: 12 digits `YYYYMMDDNNNC` (70 %), `YYYYMMDD-NNNC` (15 %) or
//!   `YYMMDD-NNNC` (15 %, `+` from age 100). Serial 001–999 with odd 9th digit for men and
//!   even for women, Luhn check digit over the 10-digit form. 1 % are samordningsnummer
//!   (day + 60); 0.5 % are malformed, in four equally likely ways: wrong check digit, a
//!   letter in place of a digit, a digit missing, or an impossible date (with a check
//!   digit that matches the impossible date). `date_of_birth` and `gender` always hold the
//!   intended values.
//! * Names: first name matching the sex, surname; earlier (more common) table entries are
//!   drawn more often.
//! * `email` (10 % empty): derived from the ascii-folded names, sometimes with digits, at
//!   common providers or the person's municipality.
//! * `phone` (5 % empty): 80 % mobile (070/072/073/076/079), 20 % landline with the
//!   area code of the municipality, in national, compact and `+46` spellings.
//! * Address: street and number (sometimes a letter, an apartment `lgh NNNN`, or
//!   `, N tr`, which needs quoting), a postal code of the municipality's area; the
//!   municipality is weighted by population and written with its real kommunkod.
//! * `protected_identity`: `true` for 0.3 %.
//! * `guardian_personnummer`: minors only, a valid 12-digit personnummer of a person
//!   20–55 years older.
//! * `school`: ages 6–15 a compulsory school, 16–18 an upper-secondary school.
//! * `case_note`: 30 % empty; 5 % repeat the row's phone or e-mail exactly as written in
//!   its column (what a leak scanner must catch); otherwise a Swedish note, often with
//!   commas and sometimes with double quotes; a third of the notes have a second
//!   sentence. Notes never contain line breaks (the writer would quote them if they did).

mod tables;

use std::io::{self, Write};
use std::path::Path;

use rayon::prelude::*;

use tables::{MUNICIPALITIES, Municipality};

use crate::ident::date::{Date, days_in_month};
use crate::ident::luhn;

/// The column names of the generated register, in order.
pub const HEADER: &[&str] = &[
    "personnummer",
    "first_name",
    "last_name",
    "email",
    "phone",
    "street_address",
    "postal_code",
    "city",
    "municipality_code",
    "date_of_birth",
    "gender",
    "protected_identity",
    "guardian_personnummer",
    "school",
    "case_note",
];

const DEFAULT_SEED: u64 = 42;
const DEFAULT_REFERENCE: (i32, u32, u32) = (2026, 1, 1);
const DEFAULT_CHUNK_ROWS: u64 = 8192;
/// Typical bytes per row (for reserving buffers).
const ROW_BYTES: usize = 180;
/// Chunks generated per thread between two writes.
const CHUNKS_PER_THREAD: usize = 2;

/// Rates, per 10,000 rows.
const SAMORDNING_PER_10K: u32 = 100;
const MALFORMED_PER_10K: u32 = 50;
const PROTECTED_PER_10K: u32 = 30;
/// Rates, per 1,000 rows.
const EMAIL_EMPTY_PER_1K: u32 = 100;
const PHONE_EMPTY_PER_1K: u32 = 50;
const NOTE_LEAK_PER_1K: u32 = 50;
const NOTE_EMPTY_PER_1K: u32 = 300;
/// Share of non-empty notes that get a second sentence.
const NOTE_SECOND_SENTENCE_PERCENT: u32 = 35;

/// Builds a synthetic register and writes it as CSV.
///
/// ```
/// # use minex::synth::RegisterBuilder;
/// let mut csv = Vec::new();
/// let rows = RegisterBuilder::new(100).with_seed(7).write_csv(&mut csv)?;
/// assert_eq!(rows, 100);
/// assert!(csv.starts_with(b"personnummer,first_name,"));
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct RegisterBuilder {
    rows: u64,
    seed: u64,
    reference: (i32, u32, u32),
    chunk_rows: u64,
}

impl RegisterBuilder {
    /// A register of `rows` data rows, seed 42, reference date 2026-01-01.
    #[must_use]
    pub fn new(rows: u64) -> Self {
        Self {
            rows,
            seed: DEFAULT_SEED,
            reference: DEFAULT_REFERENCE,
            chunk_rows: DEFAULT_CHUNK_ROWS,
        }
    }

    /// Sets the seed. The same seed (and settings) always gives the same bytes.
    #[must_use]
    pub fn with_seed(self, seed: u64) -> Self {
        Self { seed, ..self }
    }

    /// Sets the date at which ages are counted (minors, `+` separators, schools).
    /// The date is checked by [`write_csv`](Self::write_csv).
    #[must_use]
    pub fn with_reference_date(self, year: i32, month: u32, day: u32) -> Self {
        Self {
            reference: (year, month, day),
            ..self
        }
    }

    /// Sets the number of rows per chunk (default 8,192; at least 1). Each chunk has its
    /// own random stream, so changing this changes the output.
    #[must_use]
    pub fn with_chunk_rows(self, chunk_rows: u64) -> Self {
        Self {
            chunk_rows: chunk_rows.max(1),
            ..self
        }
    }

    /// Writes the CSV (header + rows) to `w`; returns the number of data rows written.
    ///
    /// Chunks are generated in parallel on the current rayon pool and written in order
    /// with large `write_all` calls, so `w` needs no buffering of its own.
    ///
    /// # Errors
    ///
    /// `InvalidInput` if the reference date is not a real date between the years 1900 and
    /// 9999; otherwise any error from `w`.
    pub fn write_csv<W: Write>(&self, mut w: W) -> io::Result<u64> {
        let ctx = Context::new(self)?;
        let mut header = HEADER.join(",");
        header.push('\n');
        w.write_all(header.as_bytes())?;

        let chunks = self.rows.div_ceil(self.chunk_rows);
        let batch = rayon::current_num_threads().max(1) * CHUNKS_PER_THREAD;
        // Double buffering: while this thread writes batch k, batch k+1 is generated on
        // the current rayon pool. Buffers are reused, so memory stays at two batches.
        let mut ready: Vec<Vec<u8>> = (0..batch).map(|_| Vec::new()).collect();
        let mut spare: Vec<Vec<u8>> = (0..batch).map(|_| Vec::new()).collect();
        let mut ready_len = ctx.fill(&mut ready, 0, chunks);
        let mut next = ready_len as u64;
        while ready_len > 0 {
            let mut spare_len = 0;
            let written = rayon::in_place_scope(|s| {
                let (ctx, spare, spare_len) = (&ctx, &mut spare, &mut spare_len);
                s.spawn(move |_| *spare_len = ctx.fill(spare, next, chunks));
                ready[..ready_len]
                    .iter()
                    .try_for_each(|buf| w.write_all(buf))
            });
            written?;
            next += spare_len as u64;
            std::mem::swap(&mut ready, &mut spare);
            ready_len = spare_len;
        }
        w.flush()?;
        Ok(self.rows)
    }

    /// Writes the CSV to a new file at `path` (created or truncated).
    ///
    /// # Errors
    ///
    /// As [`write_csv`](Self::write_csv), plus any error creating the file.
    pub fn write_csv_file(&self, path: &Path) -> io::Result<u64> {
        let file = std::fs::File::create(path)?;
        let mut w = io::BufWriter::with_capacity(1 << 16, file);
        let rows = self.write_csv(&mut w)?;
        w.flush()?;
        Ok(rows)
    }
}

// ---------------------------------------------------------------------------------------
// Random numbers
// ---------------------------------------------------------------------------------------

fn splitmix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// xoshiro256** (Blackman and Vigna), seeded through splitmix64.
struct Rng {
    s: [u64; 4],
}

impl Rng {
    /// The stream for chunk `stream` of seed `seed`.
    fn new(seed: u64, stream: u64) -> Self {
        let mut sm = seed;
        let mixed = splitmix64(&mut sm) ^ stream.wrapping_mul(0xD1B5_4A32_D192_ED03);
        let mut state = mixed;
        let s = [
            splitmix64(&mut state),
            splitmix64(&mut state),
            splitmix64(&mut state),
            splitmix64(&mut state),
        ];
        Self { s }
    }

    fn next_u64(&mut self) -> u64 {
        let result = self.s[1].wrapping_mul(5).rotate_left(7).wrapping_mul(9);
        let t = self.s[1] << 17;
        self.s[2] ^= self.s[0];
        self.s[3] ^= self.s[1];
        self.s[1] ^= self.s[2];
        self.s[0] ^= self.s[3];
        self.s[2] ^= t;
        self.s[3] = self.s[3].rotate_left(45);
        result
    }

    /// Uniform in `0..n` (multiply-shift; the bias is far below anything we measure).
    fn below(&mut self, n: u32) -> u32 {
        (((self.next_u64() >> 32) * u64::from(n)) >> 32) as u32
    }

    fn index(&mut self, len: usize) -> usize {
        self.below(u32::try_from(len).unwrap_or(u32::MAX)) as usize
    }

    /// An index skewed towards the start of a list (the more common entries).
    fn skewed(&mut self, len: usize) -> usize {
        self.index(len).min(self.index(len))
    }

    fn pick<'a>(&mut self, list: &[&'a str]) -> &'a str {
        list[self.index(list.len())]
    }

    fn digit(&mut self) -> u8 {
        b'0' + self.below(10) as u8
    }
}

/// A cumulative weight table for sampling by weight.
struct Weighted {
    cumulative: Vec<u32>,
}

impl Weighted {
    fn new(weights: impl IntoIterator<Item = u32>) -> Self {
        let mut total = 0u32;
        let cumulative = weights
            .into_iter()
            .map(|w| {
                total += w;
                total
            })
            .collect();
        Self { cumulative }
    }

    fn sample(&self, rng: &mut Rng) -> usize {
        let total = self.cumulative.last().copied().unwrap_or(0);
        let r = rng.below(total);
        self.cumulative.partition_point(|&c| c <= r)
    }
}

// ---------------------------------------------------------------------------------------
// Dates
// ---------------------------------------------------------------------------------------

/// Days since 1970-01-01 of a date (a real one, or a day past the month's end for the
/// impossible dates of malformed numbers), with the calendar of [`crate::ident::date`].
fn days_from_civil(y: i32, m: u32, d: u32) -> i64 {
    i64::from(
        Date {
            year: y,
            month: m,
            day: d,
        }
        .to_days(),
    )
}

/// The inverse of [`days_from_civil`] (days within the ±5.8 million years of `Date32`).
fn civil_from_days(z: i64) -> (i32, u32, u32) {
    let d = Date::from_days(i32::try_from(z).unwrap_or(if z < 0 { i32::MIN } else { i32::MAX }));
    (d.year, d.month, d.day)
}

/// The same month and day in `year`, with 29 February moved to the 28th when needed.
fn anniversary(year: i32, month: u32, day: u32) -> i64 {
    days_from_civil(year, month, day.min(days_in_month(year, month)))
}

/// Relative number of people of each age 0..=100 (a rough Swedish pyramid).
fn age_weight(age: u32) -> u32 {
    match age {
        0..=4 => 105,
        5..=19 => 115,
        20..=29 => 125,
        30..=64 => 130,
        65..=74 => 110,
        75..=79 => 90,
        80..=84 => 60,
        85..=89 => 35,
        90..=94 => 14,
        95..=99 => 4,
        _ => 2,
    }
}

// ---------------------------------------------------------------------------------------
// Byte formatting
// ---------------------------------------------------------------------------------------

/// Appends `v` as exactly `width` decimal digits (zero-padded; higher digits dropped).
fn push_num(buf: &mut Vec<u8>, mut v: u64, width: usize) {
    let mut tmp = [b'0'; 20];
    let width = width.min(tmp.len());
    for slot in tmp[..width].iter_mut().rev() {
        *slot = b'0' + (v % 10) as u8;
        v /= 10;
    }
    buf.extend_from_slice(&tmp[..width]);
}

/// Appends `v` in decimal without padding.
fn push_uint(buf: &mut Vec<u8>, v: u32) {
    let mut width = 1;
    let mut rest = v / 10;
    while rest > 0 {
        width += 1;
        rest /= 10;
    }
    push_num(buf, u64::from(v), width);
}

fn push_date(buf: &mut Vec<u8>, (y, m, d): (i32, u32, u32)) {
    push_num(buf, u64::from(y.unsigned_abs()), 4);
    buf.push(b'-');
    push_num(buf, u64::from(m), 2);
    buf.push(b'-');
    push_num(buf, u64::from(d), 2);
}

/// Appends one CSV field, quoted per RFC 4180 when it holds a comma, quote or line break.
fn push_field(buf: &mut Vec<u8>, field: &[u8]) {
    if field
        .iter()
        .any(|&b| matches!(b, b',' | b'"' | b'\n' | b'\r'))
    {
        buf.push(b'"');
        for &b in field {
            if b == b'"' {
                buf.push(b'"');
            }
            buf.push(b);
        }
        buf.push(b'"');
    } else {
        buf.extend_from_slice(field);
    }
}

/// Lowercases and folds Swedish letters to ASCII for e-mail local parts.
fn ascii_fold(s: &str) -> String {
    s.chars()
        .filter_map(|c| match c {
            'å' | 'ä' | 'Å' | 'Ä' | 'á' | 'à' => Some('a'),
            'ö' | 'Ö' | 'ø' | 'Ø' => Some('o'),
            'é' | 'É' | 'è' => Some('e'),
            'ü' | 'Ü' => Some('u'),
            ' ' => None,
            c => Some(c.to_ascii_lowercase()),
        })
        .collect()
}

// ---------------------------------------------------------------------------------------
// Personnummer
// ---------------------------------------------------------------------------------------

/// The Luhn check digit over ten-digit-form digits (`YYMMDDNNN`, ASCII), in ASCII.
fn luhn_digit(digits: &[u8]) -> u8 {
    let mut values = [0u8; 9];
    for (v, &b) in values.iter_mut().zip(digits) {
        *v = b - b'0';
    }
    b'0' + luhn::check_digit(&values[..digits.len().min(9)])
}

/// How a personnummer is spelled in the column.
#[derive(Clone, Copy)]
enum Spelling {
    /// `YYYYMMDDNNNC`
    Twelve,
    /// `YYYYMMDD-NNNC`
    TwelveDash,
    /// `YYMMDD-NNNC`, or `YYMMDD+NNNC` from age 100.
    Ten { centenarian: bool },
}

/// Builds a personnummer into a small stack buffer.
struct Pnr {
    bytes: [u8; 13],
    len: usize,
}

impl Pnr {
    /// `century` is the first two digits of the birth year; `ten` holds `YYMMDDNNNC`.
    fn spell(century: u32, ten: &[u8; 10], spelling: Spelling) -> Self {
        let mut bytes = [0u8; 13];
        let mut len = 0;
        let mut put = |b: u8| {
            bytes[len] = b;
            len += 1;
        };
        match spelling {
            Spelling::Twelve | Spelling::TwelveDash => {
                put(b'0' + (century / 10) as u8);
                put(b'0' + (century % 10) as u8);
                ten[..6].iter().for_each(|&b| put(b));
                if matches!(spelling, Spelling::TwelveDash) {
                    put(b'-');
                }
                ten[6..].iter().for_each(|&b| put(b));
            }
            Spelling::Ten { centenarian } => {
                ten[..6].iter().for_each(|&b| put(b));
                put(if centenarian { b'+' } else { b'-' });
                ten[6..].iter().for_each(|&b| put(b));
            }
        }
        Self { bytes, len }
    }

    fn as_bytes(&self) -> &[u8] {
        &self.bytes[..self.len]
    }

    /// Positions holding digits (not the separator).
    fn digit_positions(&self) -> impl Iterator<Item = usize> + '_ {
        (0..self.len).filter(|&i| self.bytes[i].is_ascii_digit())
    }

    /// Replaces the digit at the `k`th digit position with a letter.
    fn put_letter(&mut self, k: usize, letter: u8) {
        let position = self.digit_positions().nth(k);
        if let Some(i) = position {
            self.bytes[i] = letter;
        }
    }

    /// Removes the digit at the `k`th digit position.
    fn drop_digit(&mut self, k: usize) {
        let position = self.digit_positions().nth(k);
        if let Some(i) = position {
            self.bytes.copy_within(i + 1..self.len, i);
            self.len -= 1;
        }
    }
}

/// `YYMMDDNNN` plus its check digit, for a date (day + 60 for a samordningsnummer) and a
/// serial number.
fn ten_digits(year: i32, month: u32, day: u32, serial: u32) -> [u8; 10] {
    let two = |v: u32| [b'0' + (v / 10 % 10) as u8, b'0' + (v % 10) as u8];
    let yy = two(year.rem_euclid(100).unsigned_abs());
    let mm = two(month);
    let dd = two(day);
    let mut ten = [
        yy[0],
        yy[1],
        mm[0],
        mm[1],
        dd[0],
        dd[1],
        b'0' + (serial / 100 % 10) as u8,
        b'0' + (serial / 10 % 10) as u8,
        b'0' + (serial % 10) as u8,
        b'0',
    ];
    ten[9] = luhn_digit(&ten[..9]);
    ten
}

/// The first two digits of a four-digit year.
fn century_of(year: i32) -> u32 {
    (year / 100).unsigned_abs()
}

/// A serial number 001–999 whose last digit is odd for men and even for women.
fn random_serial(rng: &mut Rng, male: bool) -> u32 {
    if male {
        2 * rng.below(500) + 1
    } else {
        2 * rng.below(499) + 2
    }
}

// ---------------------------------------------------------------------------------------
// Generation
// ---------------------------------------------------------------------------------------

/// Everything the chunks share: validated settings and precomputed tables.
struct Context {
    seed: u64,
    rows: u64,
    chunk_rows: u64,
    reference: (i32, u32, u32),
    reference_day: i64,
    ages: Weighted,
    municipalities: Weighted,
    domains: Weighted,
    mobiles: Weighted,
    male_folded: Vec<String>,
    female_folded: Vec<String>,
    surname_folded: Vec<String>,
    city_domains: Vec<String>,
}

impl Context {
    fn new(b: &RegisterBuilder) -> io::Result<Self> {
        let (y, m, d) = b.reference;
        if !(1900..=9999).contains(&y)
            || !(1..=12).contains(&m)
            || d == 0
            || d > days_in_month(y, m)
        {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "the reference date must be a real date between the years 1900 and 9999",
            ));
        }
        let fold_all = |list: &[&str]| list.iter().map(|s| ascii_fold(s)).collect();
        Ok(Self {
            seed: b.seed,
            rows: b.rows,
            chunk_rows: b.chunk_rows,
            reference: b.reference,
            reference_day: days_from_civil(y, m, d),
            ages: Weighted::new((0..=100).map(age_weight)),
            municipalities: Weighted::new(MUNICIPALITIES.iter().map(|m| m.population_k)),
            domains: Weighted::new(tables::EMAIL_DOMAINS.iter().map(|d| d.1)),
            mobiles: Weighted::new(tables::MOBILE_PREFIXES.iter().map(|d| d.1)),
            male_folded: fold_all(tables::MALE_FIRST_NAMES),
            female_folded: fold_all(tables::FEMALE_FIRST_NAMES),
            surname_folded: fold_all(tables::SURNAMES),
            city_domains: MUNICIPALITIES
                .iter()
                .map(|m| format!("{}.se", ascii_fold(m.city)))
                .collect(),
        })
    }

    /// Generates chunks `first..` into `bufs` (as many as fit, up to `chunks`); returns
    /// how many were generated.
    fn fill(&self, bufs: &mut [Vec<u8>], first: u64, chunks: u64) -> usize {
        let n = usize::try_from(chunks.saturating_sub(first))
            .unwrap_or(usize::MAX)
            .min(bufs.len());
        bufs[..n].par_iter_mut().enumerate().for_each(|(j, buf)| {
            buf.clear();
            self.chunk(first + j as u64, buf);
        });
        n
    }

    /// Appends the rows of chunk `index` to `out`.
    fn chunk(&self, index: u64, out: &mut Vec<u8>) {
        let start = index * self.chunk_rows;
        let end = (start + self.chunk_rows).min(self.rows);
        out.reserve(
            usize::try_from(end - start)
                .unwrap_or(0)
                .saturating_mul(ROW_BYTES),
        );
        let mut row = RowGen {
            ctx: self,
            rng: Rng::new(self.seed, index),
            email: Vec::with_capacity(64),
            phone: Vec::with_capacity(32),
            note: Vec::with_capacity(160),
            scratch: Vec::with_capacity(32),
        };
        for _ in start..end {
            row.row(out);
        }
    }

    /// A birth date (days since the epoch) for someone aged exactly `age` at the
    /// reference date.
    fn birth_day(&self, rng: &mut Rng, age: u32) -> i64 {
        let (y, m, d) = self.reference;
        let age = age as i32;
        let latest = anniversary(y - age, m, d);
        let earliest = anniversary(y - age - 1, m, d) + 1;
        let span = u32::try_from(latest - earliest + 1).unwrap_or(1);
        earliest + i64::from(rng.below(span))
    }
}

/// Per-chunk generator state with reusable scratch buffers.
struct RowGen<'a> {
    ctx: &'a Context,
    rng: Rng,
    email: Vec<u8>,
    phone: Vec<u8>,
    note: Vec<u8>,
    scratch: Vec<u8>,
}

impl RowGen<'_> {
    /// Appends one row (with its line ending) to `out`.
    fn row(&mut self, out: &mut Vec<u8>) {
        let ctx = self.ctx;
        let rng = &mut self.rng;
        let age = ctx.ages.sample(rng) as u32;
        let male = rng.below(2) == 0;
        let birth = civil_from_days(ctx.birth_day(rng, age));

        // personnummer
        let pnr = self.personnummer(age, male, birth);
        out.extend_from_slice(pnr.as_bytes());
        out.push(b',');

        // first_name, last_name
        let rng = &mut self.rng;
        let (first_names, first_folded) = if male {
            (tables::MALE_FIRST_NAMES, &ctx.male_folded)
        } else {
            (tables::FEMALE_FIRST_NAMES, &ctx.female_folded)
        };
        let fi = rng.skewed(first_names.len());
        let si = rng.skewed(tables::SURNAMES.len());
        let first = first_names[fi];
        push_field(out, first.as_bytes());
        out.push(b',');
        push_field(out, tables::SURNAMES[si].as_bytes());
        out.push(b',');

        // email, phone
        let mi = ctx.municipalities.sample(rng);
        let municipality = &MUNICIPALITIES[mi];
        self.email.clear();
        if self.rng.below(1000) >= EMAIL_EMPTY_PER_1K {
            self.email_address(&first_folded[fi], &ctx.surname_folded[si], birth.0, mi);
        }
        push_field(out, &self.email);
        out.push(b',');
        self.phone.clear();
        if self.rng.below(1000) >= PHONE_EMPTY_PER_1K {
            self.phone_number(municipality);
        }
        push_field(out, &self.phone);
        out.push(b',');

        // street_address, postal_code, city, municipality_code
        self.street_address();
        push_field(out, &self.scratch);
        out.push(b',');
        let rng = &mut self.rng;
        let (lo, hi) = municipality.postal;
        let area = u32::from(lo) + rng.below(u32::from(hi - lo) + 1);
        push_num(out, u64::from(area), 3);
        out.push(b' ');
        push_num(out, u64::from(rng.below(100)), 2);
        out.push(b',');
        push_field(out, municipality.city.as_bytes());
        out.push(b',');
        out.extend_from_slice(municipality.code.as_bytes());
        out.push(b',');

        // date_of_birth, gender, protected_identity
        push_date(out, birth);
        out.extend_from_slice(if male { b",M," } else { b",F," });
        out.extend_from_slice(if rng.below(10_000) < PROTECTED_PER_10K {
            b"true,"
        } else {
            b"false,"
        });

        // guardian_personnummer: someone 20–55 years older, always valid, 12 digits.
        if age < 18 {
            let guardian_age = age + 20 + rng.below(36);
            let g_birth = civil_from_days(ctx.birth_day(rng, guardian_age));
            let g_male = rng.below(2) == 0;
            let g_serial = random_serial(rng, g_male);
            let ten = ten_digits(g_birth.0, g_birth.1, g_birth.2, g_serial);
            let g = Pnr::spell(century_of(g_birth.0), &ten, Spelling::Twelve);
            out.extend_from_slice(g.as_bytes());
        }
        out.push(b',');

        // school
        match age {
            6..=15 => push_field(out, rng.pick(tables::PRIMARY_SCHOOLS).as_bytes()),
            16..=18 => push_field(out, rng.pick(tables::UPPER_SCHOOLS).as_bytes()),
            _ => {}
        }
        out.push(b',');

        // case_note
        self.case_note(first);
        push_field(out, &self.note);
        out.push(b'\n');
    }

    /// The personnummer of someone aged `age`, born on `birth`: usually valid, sometimes
    /// a samordningsnummer or malformed, in one of three spellings.
    fn personnummer(&mut self, age: u32, male: bool, birth: (i32, u32, u32)) -> Pnr {
        let rng = &mut self.rng;
        let serial = random_serial(rng, male);
        let kind = rng.below(10_000);
        let spelling = match rng.below(100) {
            0..70 => Spelling::Twelve,
            70..85 => Spelling::TwelveDash,
            _ => Spelling::Ten {
                centenarian: age >= 100,
            },
        };
        let century = century_of(birth.0);
        if kind < SAMORDNING_PER_10K {
            let ten = ten_digits(birth.0, birth.1, birth.2 + 60, serial);
            Pnr::spell(century, &ten, spelling)
        } else if kind < SAMORDNING_PER_10K + MALFORMED_PER_10K {
            self.malformed(birth, serial, century, spelling)
        } else {
            let ten = ten_digits(birth.0, birth.1, birth.2, serial);
            Pnr::spell(century, &ten, spelling)
        }
    }

    /// Writes an e-mail address built from the folded names into `self.email`.
    fn email_address(&mut self, first: &str, last: &str, birth_year: i32, municipality: usize) {
        let (first, last) = (first.as_bytes(), last.as_bytes());
        let rng = &mut self.rng;
        let e = &mut self.email;
        match rng.below(100) {
            0..30 => {
                e.extend_from_slice(first);
                e.push(b'.');
                e.extend_from_slice(last);
            }
            30..45 => {
                e.extend_from_slice(first);
                e.extend_from_slice(last);
            }
            45..60 => {
                e.extend_from_slice(first);
                e.push(b'.');
                e.extend_from_slice(last);
                push_num(e, u64::from(birth_year.rem_euclid(100).unsigned_abs()), 2);
            }
            60..70 => {
                e.extend_from_slice(&first[..1]);
                e.push(b'.');
                e.extend_from_slice(last);
            }
            70..78 => {
                e.extend_from_slice(first);
                e.push(b'_');
                e.extend_from_slice(last);
            }
            78..90 => {
                e.extend_from_slice(first);
                push_uint(e, 1 + rng.below(99));
            }
            _ => {
                e.extend_from_slice(last);
                e.push(b'.');
                e.extend_from_slice(first);
            }
        }
        e.push(b'@');
        let (domain, _) = tables::EMAIL_DOMAINS[self.ctx.domains.sample(rng)];
        if domain == "@kommun" {
            e.extend_from_slice(self.ctx.city_domains[municipality].as_bytes());
        } else {
            e.extend_from_slice(domain.as_bytes());
        }
    }

    /// Writes a street address into `self.scratch`.
    fn street_address(&mut self) {
        let rng = &mut self.rng;
        let s = &mut self.scratch;
        s.clear();
        if rng.below(100) < 20 {
            s.extend_from_slice(rng.pick(tables::STREETS).as_bytes());
        } else {
            s.extend_from_slice(rng.pick(tables::STREET_PREFIXES).as_bytes());
            s.extend_from_slice(rng.pick(tables::STREET_SUFFIXES).as_bytes());
        }
        s.push(b' ');
        let number = if rng.below(100) < 85 {
            1 + rng.below(40)
        } else {
            1 + rng.below(150)
        };
        push_uint(s, number);
        match rng.below(100) {
            0..10 => {
                s.push(b' ');
                s.push(b'A' + rng.below(4) as u8);
            }
            10..12 => {
                s.extend_from_slice(b", ");
                push_uint(s, 1 + rng.below(6));
                s.extend_from_slice(b" tr");
            }
            12..20 => {
                s.extend_from_slice(b" lgh ");
                push_uint(s, 1000 + 100 * rng.below(9) + rng.below(20));
            }
            _ => {}
        }
    }

    /// Writes the case note into `self.note` (after `self.phone` and `self.email`).
    fn case_note(&mut self, first: &str) {
        self.note.clear();
        let mut first_note = None;
        let roll = self.rng.below(1000);
        let has_contact = !(self.phone.is_empty() && self.email.is_empty());
        if roll < NOTE_LEAK_PER_1K && has_contact {
            let use_phone = if self.email.is_empty() {
                true
            } else if self.phone.is_empty() {
                false
            } else {
                self.rng.below(2) == 0
            };
            let template = if use_phone {
                self.rng.pick(tables::PHONE_LEAK_NOTES)
            } else {
                self.rng.pick(tables::EMAIL_LEAK_NOTES)
            };
            self.render_note(template, first);
        } else if !(NOTE_LEAK_PER_1K..NOTE_LEAK_PER_1K + NOTE_EMPTY_PER_1K).contains(&roll) {
            let i = self.rng.index(tables::NOTES.len());
            first_note = Some(i);
            self.render_note(tables::NOTES[i], first);
        }
        if !self.note.is_empty() && self.rng.below(100) < NOTE_SECOND_SENTENCE_PERCENT {
            let mut i = self.rng.index(tables::NOTES.len());
            if first_note == Some(i) {
                i = (i + 1) % tables::NOTES.len();
            }
            if !self.note.ends_with(b".") && !self.note.ends_with(b")") {
                self.note.push(b'.');
            }
            self.note.push(b' ');
            self.render_note(tables::NOTES[i], first);
        }
    }

    /// A malformed personnummer for someone born on `birth` (see the module docs).
    fn malformed(
        &mut self,
        birth: (i32, u32, u32),
        serial: u32,
        century: u32,
        spelling: Spelling,
    ) -> Pnr {
        let rng = &mut self.rng;
        match rng.below(4) {
            0 => {
                let mut ten = ten_digits(birth.0, birth.1, birth.2, serial);
                let check = u32::from(ten[9] - b'0');
                ten[9] = b'0' + ((check + 1 + rng.below(9)) % 10) as u8;
                Pnr::spell(century, &ten, spelling)
            }
            1 => {
                let ten = ten_digits(birth.0, birth.1, birth.2, serial);
                let mut pnr = Pnr::spell(century, &ten, spelling);
                let digits = pnr.digit_positions().count();
                let k = rng.index(digits);
                pnr.put_letter(k, b"OIlSBX"[rng.index(6)]);
                pnr
            }
            2 => {
                let ten = ten_digits(birth.0, birth.1, birth.2, serial);
                let mut pnr = Pnr::spell(century, &ten, spelling);
                let digits = pnr.digit_positions().count();
                let k = rng.index(digits);
                pnr.drop_digit(k);
                pnr
            }
            _ => {
                // An impossible date, with the check digit computed over it.
                let (month, day) = match rng.below(4) {
                    0 => (13 + rng.below(7), birth.2),
                    1 => (0, birth.2),
                    2 => (birth.1, 0),
                    _ => (birth.1, days_in_month(birth.0, birth.1) + 1 + rng.below(2)),
                };
                let ten = ten_digits(birth.0, month, day, serial);
                Pnr::spell(century, &ten, spelling)
            }
        }
    }

    /// Writes a phone number in one of the usual spellings into `self.phone`.
    fn phone_number(&mut self, municipality: &Municipality) {
        let ctx = self.ctx;
        let rng = &mut self.rng;
        let p = &mut self.phone;
        // National significant number: an area code (without 0) and a subscriber number,
        // nine digits together.
        let mobile = rng.below(100) < 80;
        let area = if mobile {
            tables::MOBILE_PREFIXES[ctx.mobiles.sample(rng)].0
        } else {
            municipality.area_code
        };
        let sub_len = 9 - area.len();
        let mut sub = [0u8; 8];
        for (i, d) in sub[..sub_len].iter_mut().enumerate() {
            *d = if i == 0 && !mobile {
                b'1' + rng.below(9) as u8
            } else {
                rng.digit()
            };
        }
        let sub = &sub[..sub_len];
        let groups: &[usize] = match sub_len {
            8 => &[3, 3, 2],
            7 => &[3, 2, 2],
            6 => &[2, 2, 2],
            _ => &[3, 2],
        };
        let push_grouped = |p: &mut Vec<u8>| {
            let mut at = 0;
            for (k, &g) in groups.iter().enumerate() {
                if k > 0 {
                    p.push(b' ');
                }
                p.extend_from_slice(&sub[at..at + g]);
                at += g;
            }
        };
        let style = rng.below(100);
        let (national_dashed, compact, e164) = if mobile { (35, 60, 80) } else { (50, 75, 90) };
        if style < national_dashed {
            p.push(b'0');
            p.extend_from_slice(area.as_bytes());
            p.push(b'-');
            push_grouped(p);
        } else if style < compact {
            p.push(b'0');
            p.extend_from_slice(area.as_bytes());
            p.extend_from_slice(sub);
        } else if style < e164 {
            p.extend_from_slice(b"+46");
            p.extend_from_slice(area.as_bytes());
            p.extend_from_slice(sub);
        } else if mobile && style >= 95 {
            // `070-1234567`
            p.push(b'0');
            p.extend_from_slice(area.as_bytes());
            p.push(b'-');
            p.extend_from_slice(sub);
        } else {
            p.extend_from_slice(b"+46 ");
            p.extend_from_slice(area.as_bytes());
            p.push(b' ');
            push_grouped(p);
        }
    }

    /// Renders a note template into `self.note`.
    fn render_note(&mut self, template: &str, first: &str) {
        let t = template.as_bytes();
        let mut i = 0;
        while i < t.len() {
            if t[i] == b'{' && i + 2 < t.len() && t[i + 2] == b'}' {
                match t[i + 1] {
                    b'f' => self.note.extend_from_slice(first.as_bytes()),
                    b'p' => self.note.extend_from_slice(&self.phone),
                    b'e' => self.note.extend_from_slice(&self.email),
                    b's' => {
                        let school = self.rng.pick(tables::PRIMARY_SCHOOLS);
                        self.note.extend_from_slice(school.as_bytes());
                    }
                    _ => {
                        let day = self.ctx.reference_day - 30 + i64::from(self.rng.below(180));
                        push_date(&mut self.note, civil_from_days(day));
                    }
                }
                i += 3;
            } else {
                self.note.push(t[i]);
                i += 1;
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn generate(builder: &RegisterBuilder) -> Vec<u8> {
        let mut out = Vec::new();
        builder.write_csv(&mut out).unwrap();
        out
    }

    /// A small RFC 4180 reader: records of fields.
    fn parse_csv(data: &[u8]) -> Vec<Vec<String>> {
        let text = std::str::from_utf8(data).unwrap();
        let mut records = Vec::new();
        let mut record = Vec::new();
        let mut field = String::new();
        let mut chars = text.chars().peekable();
        let mut quoted = false;
        let mut at_start = true;
        while let Some(c) = chars.next() {
            if quoted {
                if c == '"' {
                    if chars.peek() == Some(&'"') {
                        chars.next();
                        field.push('"');
                    } else {
                        quoted = false;
                    }
                } else {
                    field.push(c);
                }
                continue;
            }
            match c {
                '"' if at_start => {
                    quoted = true;
                    at_start = false;
                }
                '"' => panic!("stray quote in unquoted field {field:?}"),
                ',' => {
                    record.push(std::mem::take(&mut field));
                    at_start = true;
                }
                '\n' => {
                    record.push(std::mem::take(&mut field));
                    records.push(std::mem::take(&mut record));
                    at_start = true;
                }
                '\r' => panic!("carriage return outside quotes"),
                c => {
                    field.push(c);
                    at_start = false;
                }
            }
        }
        assert!(!quoted, "unterminated quote");
        assert!(
            field.is_empty() && record.is_empty(),
            "missing final newline"
        );
        records
    }

    fn col(name: &str) -> usize {
        HEADER.iter().position(|h| *h == name).unwrap()
    }

    #[derive(Debug)]
    struct Parsed {
        date: (i32, u32, u32),
        coordination: bool,
        male: bool,
        luhn_ok: bool,
    }

    /// Parses any accepted spelling; `None` if the shape or the date is wrong.
    fn parse_pnr(s: &str, reference: (i32, u32, u32)) -> Option<Parsed> {
        let b = s.as_bytes();
        let (digits, sep): (Vec<u8>, Option<u8>) = match b.len() {
            12 => (b.to_vec(), None),
            13 if b[8] == b'-' => ([&b[..8], &b[9..]].concat(), None),
            11 if b[6] == b'-' || b[6] == b'+' => ([&b[..6], &b[7..]].concat(), Some(b[6])),
            _ => return None,
        };
        if !digits.iter().all(u8::is_ascii_digit) {
            return None;
        }
        let n = |s: &[u8]| -> u32 { std::str::from_utf8(s).unwrap().parse().unwrap() };
        let ten: Vec<u8> = if digits.len() == 12 {
            digits[2..].to_vec()
        } else {
            digits.clone()
        };
        let month = n(&ten[2..4]);
        let mut day = n(&ten[4..6]);
        let coordination = day > 60;
        if coordination {
            day -= 60;
        }
        let year = if digits.len() == 12 {
            n(&digits[..4]) as i32
        } else {
            let yy = n(&ten[..2]) as i32;
            let (ry, rm, rd) = reference;
            let mut y = ry - (ry - yy).rem_euclid(100);
            if (y, month, day) > (ry, rm, rd) {
                y -= 100;
            }
            if sep == Some(b'+') {
                y -= 100;
            }
            y
        };
        if !(1..=12).contains(&month) || day == 0 || day > days_in_month(year, month) {
            return None;
        }
        Some(Parsed {
            date: (year, month, day),
            coordination,
            male: (ten[8] - b'0') % 2 == 1,
            luhn_ok: luhn_digit(&ten[..9]) == ten[9],
        })
    }

    fn parse_date(s: &str) -> (i32, u32, u32) {
        let p: Vec<&str> = s.split('-').collect();
        assert_eq!(p.len(), 3, "{s}");
        (
            p[0].parse().unwrap(),
            p[1].parse().unwrap(),
            p[2].parse().unwrap(),
        )
    }

    fn age_at(birth: (i32, u32, u32), reference: (i32, u32, u32)) -> i32 {
        let mut age = reference.0 - birth.0;
        if (reference.1, reference.2) < (birth.1, birth.2) {
            age -= 1;
        }
        age
    }

    #[test]
    fn same_seed_same_bytes_whatever_the_thread_count() {
        let b = RegisterBuilder::new(20_000)
            .with_seed(9)
            .with_chunk_rows(1000);
        let default_pool = generate(&b);
        let one = rayon::ThreadPoolBuilder::new()
            .num_threads(1)
            .build()
            .unwrap();
        let single = one.install(|| generate(&b));
        let three = rayon::ThreadPoolBuilder::new()
            .num_threads(3)
            .build()
            .unwrap();
        let triple = three.install(|| generate(&b));
        assert_eq!(default_pool, single);
        assert_eq!(default_pool, triple);
        assert_eq!(default_pool, generate(&b.clone()));
    }

    #[test]
    fn different_seed_different_bytes() {
        let a = generate(&RegisterBuilder::new(500).with_seed(1));
        let b = generate(&RegisterBuilder::new(500).with_seed(2));
        assert_ne!(a, b);
        // The first rows of a longer register are the rows of a shorter one.
        let long = generate(&RegisterBuilder::new(20_000).with_seed(1));
        assert!(long.starts_with(&a));
    }

    #[test]
    fn row_counts_and_header() {
        for rows in [0u64, 1, 7, 8191, 8192, 8193, 20_000] {
            let out = generate(&RegisterBuilder::new(rows));
            let records = parse_csv(&out);
            assert_eq!(records.len() as u64, rows + 1, "rows {rows}");
            assert_eq!(records[0], HEADER);
            assert!(records.iter().all(|r| r.len() == HEADER.len()));
            let mut sink = std::io::sink();
            assert_eq!(
                RegisterBuilder::new(rows).write_csv(&mut sink).unwrap(),
                rows
            );
        }
    }

    #[test]
    fn bad_reference_date_is_an_input_error() {
        for (y, m, d) in [(2025, 2, 29), (2026, 13, 1), (2026, 4, 31), (1800, 1, 1)] {
            let err = RegisterBuilder::new(1)
                .with_reference_date(y, m, d)
                .write_csv(Vec::new())
                .unwrap_err();
            assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
        }
        // A leap day is fine.
        assert!(
            RegisterBuilder::new(100)
                .with_reference_date(2028, 2, 29)
                .write_csv(Vec::new())
                .is_ok()
        );
    }

    #[test]
    fn dates_round_trip() {
        for day in -80_000..80_000 {
            let (y, m, d) = civil_from_days(day);
            assert!((1..=12).contains(&m) && d >= 1 && d <= days_in_month(y, m));
            assert_eq!(days_from_civil(y, m, d), day);
        }
    }

    #[test]
    fn luhn_known_answers() {
        // Skatteverket's example 811218-9876 and the common test number 121212-1212.
        assert_eq!(luhn_digit(b"811218987"), b'6');
        assert_eq!(luhn_digit(b"121212121"), b'2');
    }

    fn check_register(reference: (i32, u32, u32), rows: u64, seed: u64) -> Vec<Vec<String>> {
        let out = generate(
            &RegisterBuilder::new(rows)
                .with_seed(seed)
                .with_reference_date(reference.0, reference.1, reference.2),
        );
        let records = parse_csv(&out);
        let (pnr, dob, gender) = (col("personnummer"), col("date_of_birth"), col("gender"));
        let mut invalid = 0;
        for r in &records[1..] {
            let birth = parse_date(&r[dob]);
            let age = age_at(birth, reference);
            assert!((0..=100).contains(&age), "age {age}");
            match parse_pnr(&r[pnr], reference) {
                Some(p) if p.luhn_ok => {
                    assert_eq!(p.date, birth, "{r:?}");
                    assert_eq!(if p.male { "M" } else { "F" }, r[gender], "{r:?}");
                }
                _ => invalid += 1,
            }
        }
        let share = f64::from(invalid) / rows as f64;
        assert!(share < 0.008, "invalid share {share}");
        records
    }

    #[test]
    fn valid_personnummer_match_birth_date_and_gender() {
        check_register((2026, 1, 1), 30_000, 42);
        check_register((2028, 2, 29), 20_000, 3);
        check_register((1999, 12, 31), 20_000, 4);
    }

    #[test]
    fn rates_are_near_their_targets() {
        let reference = (2026, 1, 1);
        let records = check_register(reference, 100_000, 11);
        let rows = &records[1..];
        let n = rows.len() as f64;
        let share =
            |f: &dyn Fn(&Vec<String>) -> bool| rows.iter().filter(|r| f(r)).count() as f64 / n;
        let pnr = col("personnummer");
        let coordination =
            share(&|r| parse_pnr(&r[pnr], reference).is_some_and(|p| p.luhn_ok && p.coordination));
        let malformed = share(&|r| !parse_pnr(&r[pnr], reference).is_some_and(|p| p.luhn_ok));
        let protected = share(&|r| r[col("protected_identity")] == "true");
        let no_email = share(&|r| r[col("email")].is_empty());
        let no_phone = share(&|r| r[col("phone")].is_empty());
        let no_note = share(&|r| r[col("case_note")].is_empty());
        let minors = share(&|r| !r[col("guardian_personnummer")].is_empty());
        let twelve = share(&|r| r[pnr].len() == 12);
        assert!((0.007..0.013).contains(&coordination), "{coordination}");
        // Some malformed values (a wrong check digit) look valid by shape; all four kinds
        // together are 0.5 %.
        assert!((0.003..0.007).contains(&malformed), "{malformed}");
        assert!((0.0015..0.0045).contains(&protected), "{protected}");
        assert!((0.08..0.12).contains(&no_email), "{no_email}");
        assert!((0.035..0.065).contains(&no_phone), "{no_phone}");
        assert!((0.27..0.33).contains(&no_note), "{no_note}");
        assert!((0.15..0.25).contains(&minors), "{minors}");
        assert!((0.66..0.74).contains(&twelve), "{twelve}");
        assert!(
            rows.iter().all(|r| r[col("protected_identity")] == "true"
                || r[col("protected_identity")] == "false")
        );
    }

    #[test]
    fn minors_have_an_adult_guardian() {
        let reference = (2026, 1, 1);
        let records = check_register(reference, 20_000, 5);
        let mut minors = 0;
        for r in &records[1..] {
            let birth = parse_date(&r[col("date_of_birth")]);
            let age = age_at(birth, reference);
            let guardian = &r[col("guardian_personnummer")];
            if age < 18 {
                minors += 1;
                assert_eq!(guardian.len(), 12, "{guardian}");
                let g = parse_pnr(guardian, reference).unwrap();
                assert!(g.luhn_ok && !g.coordination);
                let g_age = age_at(g.date, reference);
                assert!(g_age >= 18);
                assert!((20..=55).contains(&(g_age - age)), "{g_age} vs {age}");
            } else {
                assert!(guardian.is_empty());
            }
            let school = &r[col("school")];
            assert_eq!(
                (6..=18).contains(&age),
                !school.is_empty(),
                "age {age} school {school}"
            );
        }
        assert!(minors > 2000);
    }

    #[test]
    fn fields_look_swedish() {
        let records = check_register((2026, 1, 1), 20_000, 6);
        let rows = &records[1..];
        let codes: std::collections::HashSet<&str> =
            MUNICIPALITIES.iter().map(|m| m.code).collect();
        let mut cities = std::collections::HashSet::new();
        for r in rows {
            let postal = r[col("postal_code")].as_bytes();
            assert_eq!(postal.len(), 6);
            assert!(postal[0] != b'0' && postal[3] == b' ');
            assert!(codes.contains(r[col("municipality_code")].as_str()));
            cities.insert(r[col("city")].clone());
            let email = &r[col("email")];
            if !email.is_empty() {
                assert!(
                    email.is_ascii() && email.matches('@').count() == 1,
                    "{email}"
                );
            }
            let phone = &r[col("phone")];
            if !phone.is_empty() {
                let digits: String = phone.chars().filter(char::is_ascii_digit).collect();
                if phone.starts_with("+46") {
                    assert_eq!(digits.len(), 11, "{phone}");
                } else {
                    assert!(phone.starts_with('0') && digits.len() == 10, "{phone}");
                }
            }
            let name = &r[col("first_name")];
            let male = r[col("gender")] == "M";
            let list = if male {
                tables::MALE_FIRST_NAMES
            } else {
                tables::FEMALE_FIRST_NAMES
            };
            assert!(list.contains(&name.as_str()), "{name}");
        }
        assert!(cities.len() >= 30);
        assert!(rows.iter().any(|r| r[col("city")] == "Malmö"));
        assert!(
            rows.iter()
                .any(|r| r[col("street_address")].contains(['å', 'ä', 'ö']))
        );
        assert!(rows.iter().any(|r| r[col("phone")].starts_with("+46 8 ")));
        assert!(rows.iter().any(|r| r[col("personnummer")].contains('-')));
    }

    #[test]
    fn quoting_round_trips() {
        let fields: [&[u8]; 6] = [
            b"plain",
            b"a, b",
            b"say \"hi\"",
            b"two\nlines",
            b"",
            "å, \"ä\"\r\nö".as_bytes(),
        ];
        let mut line = Vec::new();
        for (i, f) in fields.iter().enumerate() {
            if i > 0 {
                line.push(b',');
            }
            push_field(&mut line, f);
        }
        line.push(b'\n');
        let parsed = parse_csv(&line);
        assert_eq!(parsed.len(), 1);
        let expected: Vec<String> = fields
            .iter()
            .map(|f| String::from_utf8(f.to_vec()).unwrap())
            .collect();
        assert_eq!(parsed[0], expected);

        // And in generated data: some notes and addresses need quotes.
        let out = generate(&RegisterBuilder::new(5_000));
        let records = parse_csv(&out);
        let notes = col("case_note");
        assert!(records.iter().any(|r| r[notes].contains(',')));
        assert!(records.iter().any(|r| r[notes].contains('"')));
        assert!(
            records
                .iter()
                .any(|r| r[col("street_address")].contains(','))
        );
    }

    #[test]
    fn some_notes_leak_the_rows_own_phone_or_email() {
        let records = check_register((2026, 1, 1), 20_000, 8);
        let rows = &records[1..];
        let (phone, email, note) = (col("phone"), col("email"), col("case_note"));
        let leaks_phone = rows
            .iter()
            .filter(|r| !r[phone].is_empty() && r[note].contains(r[phone].as_str()))
            .count();
        let leaks_email = rows
            .iter()
            .filter(|r| !r[email].is_empty() && r[note].contains(r[email].as_str()))
            .count();
        let share = (leaks_phone + leaks_email) as f64 / rows.len() as f64;
        assert!(
            leaks_phone > 100 && leaks_email > 100,
            "{leaks_phone} {leaks_email}"
        );
        assert!((0.035..0.065).contains(&share), "{share}");
    }

    #[test]
    fn writes_a_file() {
        let dir = std::env::temp_dir().join(format!("minex-synth-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("register.csv");
        let b = RegisterBuilder::new(1234).with_seed(77);
        assert_eq!(b.write_csv_file(&path).unwrap(), 1234);
        assert_eq!(std::fs::read(&path).unwrap(), generate(&b));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

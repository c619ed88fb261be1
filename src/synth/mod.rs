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

mod bytes;
mod fields;
mod pnr;
mod random;
mod rows;

use bytes::*;
use pnr::*;
use random::*;
use rows::*;

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

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::ident::date::days_in_month;
    use tables::MUNICIPALITIES;

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

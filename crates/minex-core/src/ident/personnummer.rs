//! Swedish personnummer, samordningsnummer (coordination numbers) and interim numbers.
//!
//! A person must get the same token whichever way a register spells their number, so this
//! module owns the one parser that turns every accepted spelling into the canonical 12 ASCII
//! bytes `YYYYMMDDNNNC`, and the reasons for rejecting everything else. It is allocation-free
//! and branch-light: it is called once per cell of the largest columns we handle.
//!
//! # Rules
//!
//! * **Spellings.** The input is trimmed of surrounding whitespace. Accepted are exactly:
//!   10 digits `YYMMDDNNNC`, 12 digits `YYYYMMDDNNNC`, and either of them with a `-` or `+`
//!   immediately before the last four characters (`YYMMDD-NNNC`, `YYYYMMDD+NNNC`). Anything
//!   else (spaces or other separators inside, other letters, other lengths) is
//!   [`InvalidReason::Format`]. In a 12-digit form the separator is accepted and ignored.
//! * **Century of 10-digit forms.** Take the year of [`ParseOptions::reference`], minus 100
//!   if the separator is `+` (no separator counts as `-`), and pick the latest year not after
//!   it that ends in `YY`. So without a separator a person aged 100 or more is read as born
//!   a century later; only the `+` spelling (or a 12-digit form) says otherwise.
//! * **Checks, in this order** (the first failing one is the reason):
//!   1. Luhn over the 10-digit form `YYMMDDNNNC` (century digits never count; an interim
//!      letter counts as `1`) → [`InvalidReason::Checksum`].
//!   2. An interim number when [`ParseOptions::allow_interim`] is false →
//!      [`InvalidReason::Interim`].
//!   3. Month 20 or more → [`InvalidReason::OrganisationNumber`] (organisation numbers such
//!      as the AP-fonderna pass Luhn and look like numbers with month ≥ 20).
//!   4. Serial `000` → [`InvalidReason::Serial`].
//!   5. Date → [`InvalidReason::Date`]:
//!      * day 01–31: a personnummer; `YYYYMMDD` must be a real calendar date;
//!      * day 60–91: a samordningsnummer (day + 60); the month must be 00–12 and day − 60
//!        must be 00–31, in any combination (see below);
//!      * any other day (00, 32–59, 92–99), or month 13–19, is rejected.
//! * **Samordningsnummer dates.** Skatteverket issues coordination numbers with month `00`
//!   and/or day `60` (day 00) when part of the birth date is unknown, and its official list
//!   of test coordination numbers also holds dates that do not exist (31 April, 30 and 31
//!   February, 29 February in non-leap years). The rule above, month 00–12 and day − 60 in
//!   00–31 with no calendar check, accepts every number on that list while still rejecting
//!   months 13–19 and days 32–59 and 92–99. [`Pnr::birth_date`] is `None` for such a number
//!   whenever month or day is 00 or the date does not exist.
//! * **Interim numbers** (T-numbers, spec v3.1): one of the letters `T R S U W X J K L M N`
//!   (either case on input, upper case in the canonical form) in place of the first serial
//!   digit. Only accepted when [`ParseOptions::allow_interim`] is set; their date must be a
//!   real calendar date; the serial checks do not apply; the letter is kept in position 9
//!   of the canonical form (`YYYYMMDDTNNC`).
//! * **Integers** (Parquet integer columns, [`Pnr::from_integer`]): the leading zeros are
//!   lost, so a value of 7–10 digits is left-padded with zeros to 10 digits and read as a
//!   10-digit form without separator; 11–12 digits are padded to 12. Other lengths and
//!   negative values → [`InvalidReason::Format`].
//! * **Sex** is the 9th digit of the 10-digit form (last serial digit): odd is male.

use super::InvalidReason;
use super::date::{Date, days_in_month};
use super::luhn;

/// How to read numbers whose century is not written out.
#[derive(Debug, Clone, Copy)]
pub struct ParseOptions {
    /// The date the century of 10-digit forms is inferred from (a run's `reference_date`).
    pub reference: Date,
    /// Whether interim (T-) numbers are accepted.
    pub allow_interim: bool,
}

/// What kind of identity number a [`Pnr`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    /// A personnummer: the birth date, a serial and a check digit.
    Personnummer,
    /// A samordningsnummer (coordination number): day + 60.
    Samordningsnummer,
    /// An interim number: a letter in the first serial position.
    Interim,
}

/// Legal sex as encoded in the serial.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sex {
    /// Odd 9th digit.
    Male,
    /// Even 9th digit.
    Female,
}

/// A validated identity number in canonical form.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Pnr {
    /// `YYYYMMDDNNNC`, ASCII; position 8 holds the letter for an interim number.
    digits: [u8; 12],
    kind: Kind,
}

/// The allowed interim letters, upper case.
const INTERIM_LETTERS: &[u8; 11] = b"TRSUWXJKLMN";

impl Pnr {
    /// Parses one spelling of a personnummer, samordningsnummer or interim number.
    ///
    /// # Errors
    /// The reason of the first failing check, in the order given in the module docs.
    #[inline]
    pub fn parse(input: &str, opts: &ParseOptions) -> Result<Pnr, InvalidReason> {
        parse_bytes(input.trim().as_bytes(), opts)
    }

    /// Reads a number stored as an integer (leading zeros lost): 7–10 digits are padded to
    /// the 10-digit form without separator, 11–12 digits to the 12-digit form.
    ///
    /// # Errors
    /// [`InvalidReason::Format`] for negative values and other lengths; otherwise as
    /// [`Pnr::parse`].
    pub fn from_integer(v: i64, opts: &ParseOptions) -> Result<Pnr, InvalidReason> {
        let Ok(mut n) = u64::try_from(v) else {
            return Err(InvalidReason::Format);
        };
        let len = match n {
            1_000_000..=9_999_999_999 => 10,
            10_000_000_000..=999_999_999_999 => 12,
            _ => return Err(InvalidReason::Format),
        };
        let mut buf = [b'0'; 12];
        for slot in buf[..len].iter_mut().rev() {
            // n % 10 < 10, so the cast cannot truncate.
            *slot = b'0' + (n % 10) as u8;
            n /= 10;
        }
        parse_bytes(&buf[..len], opts)
    }

    /// The canonical 12 ASCII bytes `YYYYMMDDNNNC`.
    pub fn canonical(&self) -> &[u8; 12] {
        &self.digits
    }

    /// The canonical form as text.
    pub fn as_str(&self) -> &str {
        // Only ASCII digits and interim letters are ever stored.
        std::str::from_utf8(&self.digits).unwrap_or("")
    }

    /// What kind of number this is.
    pub fn kind(&self) -> Kind {
        self.kind
    }

    /// Whether this is a samordningsnummer (coordination number).
    pub fn is_coordination(&self) -> bool {
        self.kind == Kind::Samordningsnummer
    }

    /// The four-digit birth year.
    pub fn birth_year(&self) -> i32 {
        let d = &self.digits;
        i32::from(d[0] - b'0') * 1000
            + i32::from(d[1] - b'0') * 100
            + i32::from(d[2] - b'0') * 10
            + i32::from(d[3] - b'0')
    }

    /// The birth date; `None` for a coordination number whose month or day is `00` or whose
    /// date (day − 60) does not exist.
    pub fn birth_date(&self) -> Option<Date> {
        let month = two(self.digits[4], self.digits[5]);
        let mut day = two(self.digits[6], self.digits[7]);
        if day >= 60 {
            day -= 60;
        }
        Date::new(self.birth_year(), month, day)
    }

    /// Sex from the 9th digit of the 10-digit form: odd is male.
    pub fn sex(&self) -> Sex {
        if (self.digits[10] - b'0') % 2 == 1 {
            Sex::Male
        } else {
            Sex::Female
        }
    }

    /// Age in whole years on `at`; `None` when [`Pnr::birth_date`] is `None`.
    pub fn age_at(&self, at: Date) -> Option<i32> {
        self.birth_date().map(|b| b.age_at(at))
    }
}

#[inline]
fn two(a: u8, b: u8) -> u32 {
    u32::from(a - b'0') * 10 + u32::from(b - b'0')
}

/// Parses trimmed bytes; see the module docs for the rules.
#[inline]
fn parse_bytes(b: &[u8], opts: &ParseOptions) -> Result<Pnr, InvalidReason> {
    // Split into: optional century (2 bytes), the 10-character body, and the separator.
    let (century, body_head, body_tail, plus): (Option<&[u8]>, &[u8], &[u8], bool) = match b.len() {
        10 => (None, &b[..6], &b[6..], false),
        11 => match b[6] {
            b'-' => (None, &b[..6], &b[7..], false),
            b'+' => (None, &b[..6], &b[7..], true),
            _ => return Err(InvalidReason::Format),
        },
        12 => (Some(&b[..2]), &b[2..8], &b[8..], false),
        13 => match b[8] {
            b'-' | b'+' => (Some(&b[..2]), &b[2..8], &b[9..], false),
            _ => return Err(InvalidReason::Format),
        },
        _ => return Err(InvalidReason::Format),
    };

    // body = YYMMDD ++ NNNC; the first serial position may be an interim letter.
    let mut body = [0u8; 10];
    body[..6].copy_from_slice(body_head);
    body[6..].copy_from_slice(body_tail);
    let mut interim = false;
    if !body[6].is_ascii_digit() {
        let upper = body[6].to_ascii_uppercase();
        if !INTERIM_LETTERS.contains(&upper) {
            return Err(InvalidReason::Format);
        }
        body[6] = upper;
        interim = true;
    }
    let mut vals = [0u8; 10];
    for (i, &c) in body.iter().enumerate() {
        if i == 6 && interim {
            vals[i] = 1;
        } else if c.is_ascii_digit() {
            vals[i] = c - b'0';
        } else {
            return Err(InvalidReason::Format);
        }
    }
    let (cc, year) = match century {
        Some(c) => {
            if !(c[0].is_ascii_digit() && c[1].is_ascii_digit()) {
                return Err(InvalidReason::Format);
            }
            let cc = c[0] - b'0';
            let cc2 = c[1] - b'0';
            let year = i32::from(cc) * 1000
                + i32::from(cc2) * 100
                + i32::from(vals[0]) * 10
                + i32::from(vals[1]);
            ([c[0], c[1]], year)
        }
        None => {
            let yy = i32::from(vals[0]) * 10 + i32::from(vals[1]);
            let base = opts.reference.year - if plus { 100 } else { 0 };
            let year = base - (base - yy).rem_euclid(100);
            let hundreds = year.div_euclid(100);
            if !(0..=99).contains(&hundreds) {
                return Err(InvalidReason::Date);
            }
            // 0 <= hundreds <= 99, so both casts are exact.
            let cc = [b'0' + (hundreds / 10) as u8, b'0' + (hundreds % 10) as u8];
            (cc, year)
        }
    };

    // 1. Luhn over the 10-digit form.
    if !luhn::is_valid(&vals) {
        return Err(InvalidReason::Checksum);
    }

    // 2. Interim numbers only when allowed.
    if interim && !opts.allow_interim {
        return Err(InvalidReason::Interim);
    }

    // 3. Organisation numbers.
    let month = u32::from(vals[2]) * 10 + u32::from(vals[3]);
    if month >= 20 {
        return Err(InvalidReason::OrganisationNumber);
    }

    // 4. Serial.
    if !interim && vals[6] == 0 && vals[7] == 0 && vals[8] == 0 {
        return Err(InvalidReason::Serial);
    }

    // 5. Date.
    let day = u32::from(vals[4]) * 10 + u32::from(vals[5]);
    let kind = if (60..=91).contains(&day) && !interim {
        if month > 12 {
            return Err(InvalidReason::Date);
        }
        Kind::Samordningsnummer
    } else {
        if month == 0 || month > 12 || day == 0 || day > days_in_month(year, month) {
            return Err(InvalidReason::Date);
        }
        if interim {
            Kind::Interim
        } else {
            Kind::Personnummer
        }
    };

    let mut digits = [0u8; 12];
    digits[..2].copy_from_slice(&cc);
    digits[2..].copy_from_slice(&body);
    Ok(Pnr { digits, kind })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    const DATA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/testdata/");

    fn load(rel: &str) -> Value {
        let path = format!("{DATA}{rel}");
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
        serde_json::from_str(&text).expect("test data is JSON")
    }

    fn date(y: i32, m: u32, d: u32) -> Date {
        Date::new(y, m, d).expect("valid test date")
    }

    fn opts() -> ParseOptions {
        ParseOptions {
            reference: date(2026, 1, 1),
            allow_interim: false,
        }
    }

    fn opts_interim() -> ParseOptions {
        ParseOptions {
            allow_interim: true,
            ..opts()
        }
    }

    fn s(v: &Value) -> &str {
        v.as_str().expect("string field")
    }

    #[test]
    fn skatteverket_testpersonnummer_all_accepted() {
        let list = load("skatteverket/testpersonnummer.json");
        let list = list.as_array().expect("array");
        assert_eq!(list.len(), 41_493);
        for v in list {
            let n = s(v);
            let p = Pnr::parse(n, &opts()).unwrap_or_else(|e| panic!("{n}: {e}"));
            assert_eq!(p.as_str(), n);
            assert_eq!(p.kind(), Kind::Personnummer, "{n}");
            assert!(p.birth_date().is_some(), "{n}");
            // Also as an integer (12 digits, or 11 for nothing here since years are >= 1890).
            let i: i64 = n.parse().expect("digits");
            assert_eq!(Pnr::from_integer(i, &opts()), Ok(p), "{n}");
            // The separated long form too.
            let sep = format!("{}-{}", &n[..8], &n[8..]);
            assert_eq!(Pnr::parse(&sep, &opts()), Ok(p), "{n}");
        }
    }

    #[test]
    fn skatteverket_testsamordningsnummer_all_accepted() {
        let list = load("skatteverket/testsamordningsnummer.json");
        let list = list.as_array().expect("array");
        assert_eq!(list.len(), 2_264);
        let mut no_date = 0;
        for v in list {
            let n = s(v);
            let p = Pnr::parse(n, &opts()).unwrap_or_else(|e| panic!("{n}: {e}"));
            assert_eq!(p.as_str(), n);
            assert_eq!(p.kind(), Kind::Samordningsnummer, "{n}");
            assert!(p.is_coordination());
            match p.birth_date() {
                Some(d) => {
                    assert_eq!(d.year, p.birth_year());
                    assert!(d.day + 60 == two(p.canonical()[6], p.canonical()[7]));
                }
                None => no_date += 1,
            }
        }
        // The README counts 194 without a real date after taking 60 off the day.
        assert_eq!(no_date, 194);
    }

    #[test]
    fn samordningsnummer_without_full_date() {
        for n in [
            "191500722390",
            "191711602399",
            "193100602394",
            "192004912388",
        ] {
            let p = Pnr::parse(n, &opts()).unwrap_or_else(|e| panic!("{n}: {e}"));
            assert_eq!(p.birth_date(), None, "{n}");
            assert_eq!(p.age_at(date(2026, 1, 1)), None);
            assert_eq!(p.birth_year(), n[..4].parse::<i32>().expect("year"));
        }
    }

    /// Century the README's rule gives for a spelling, with reference 2026-01-01.
    fn expected_long(long: &str, spelling: &str) -> String {
        let digits_only = !spelling.contains(['-', '+']);
        if spelling.len() == 10 && digits_only {
            // No separator: read as "-", i.e. the latest year <= 2026 ending in YY.
            let yy: i32 = long[2..4].parse().expect("yy");
            let year = if yy <= 26 { 2000 + yy } else { 1900 + yy };
            format!("{year}{}", &long[4..])
        } else {
            long.to_string()
        }
    }

    #[test]
    fn meta_list() {
        let list = load("personnummer/list.json");
        for rec in list.as_array().expect("array") {
            let long = s(&rec["long_format"]);
            let valid = rec["valid"].as_bool().expect("valid");
            let kind = match s(&rec["type"]) {
                "ssn" => Kind::Personnummer,
                "con" => Kind::Samordningsnummer,
                t => panic!("type {t}"),
            };
            let spellings = [
                s(&rec["long_format"]),
                s(&rec["short_format"]),
                s(&rec["separated_format"]),
                s(&rec["separated_long"]),
            ];
            let expected_reason = if long.contains(' ') {
                InvalidReason::Format
            } else if long == "201509160006" {
                InvalidReason::Serial
            } else {
                InvalidReason::Checksum
            };
            for sp in spellings {
                let got = Pnr::parse(sp, &opts());
                if valid {
                    let p = got.unwrap_or_else(|e| panic!("{sp}: {e}"));
                    assert_eq!(p.as_str(), expected_long(long, sp), "{sp}");
                    assert_eq!(p.kind(), kind, "{sp}");
                    let male = rec["isMale"].as_bool().expect("isMale");
                    assert_eq!(p.sex() == Sex::Male, male, "{sp}");
                    assert_eq!(p.sex() == Sex::Female, !male, "{sp}");
                } else {
                    assert_eq!(got, Err(expected_reason), "{sp}");
                }
            }
            let int = rec["integer"].as_i64().expect("integer");
            let got = Pnr::from_integer(int, &opts());
            if valid {
                assert_eq!(got.map(|p| p.as_str().to_string()), Ok(long.to_string()));
            } else if int == 0 {
                assert_eq!(got, Err(InvalidReason::Format));
            } else {
                assert_eq!(got, Err(expected_reason), "{int}");
            }
        }
    }

    #[test]
    fn meta_list_centuries_spelled_out() {
        // The README's caveat: without a separator, a person aged 100+ gets the later
        // century; with `+` or the 12-digit form, the right one.
        let o = opts();
        let got = |x: &str| Pnr::parse(x, &o).map(|p| p.as_str().to_string());
        assert_eq!(got("0905271474"), Ok("200905271474".into()));
        assert_eq!(got("090527+1474"), Ok("190905271474".into()));
        assert_eq!(got("090527-1474"), Ok("200905271474".into()));
        assert_eq!(got("19090527+1474"), Ok("190905271474".into()));
        assert_eq!(got("19090527-1474"), Ok("190905271474".into()));
        assert_eq!(got("0901219931"), Ok("200901219931".into()));
        assert_eq!(got("090121+9931"), Ok("190901219931".into()));
        assert_eq!(got("000229-2399"), Ok("200002292399".into()));
        // 1900 is not a leap year.
        assert_eq!(got("000229+2399"), Err(InvalidReason::Date));
        assert_eq!(got("5704289999"), Ok("195704289999".into()));
        assert_eq!(got("570428+9999"), Ok("185704289999".into()));
        // The reference year itself ends in YY: the person is born this year.
        assert_eq!(
            got(&with_check("2601019999")).map(|s| s[..4].to_string()),
            Ok("2026".into())
        );
        // The day within the year does not matter; only the year does.
        let late = ParseOptions {
            reference: date(2026, 12, 31),
            ..o
        };
        assert_eq!(
            Pnr::parse("2701019990", &late).map(|p| p.birth_year()),
            Pnr::parse("2701019990", &o).map(|p| p.birth_year())
        );
    }

    #[test]
    fn meta_structured() {
        let st = load("personnummer/structured.json");
        for (ty, kind) in [
            ("ssn", Kind::Personnummer),
            ("con", Kind::Samordningsnummer),
        ] {
            let t = &st[ty];
            for v in t["string"]["valid"].as_array().expect("array") {
                let p = Pnr::parse(s(v), &opts()).unwrap_or_else(|e| panic!("{v}: {e}"));
                assert_eq!(p.kind(), kind);
            }
            for v in t["string"]["invalid"].as_array().expect("array") {
                assert!(Pnr::parse(s(v), &opts()).is_err(), "{v}");
            }
            for v in t["integer"]["valid"].as_array().expect("array") {
                let i = v.as_i64().expect("int");
                let p = Pnr::from_integer(i, &opts()).unwrap_or_else(|e| panic!("{i}: {e}"));
                assert_eq!(p.as_str(), i.to_string());
                assert_eq!(p.kind(), kind);
            }
            for v in t["integer"]["invalid"].as_array().expect("array") {
                let i = v.as_i64().expect("int");
                assert!(Pnr::from_integer(i, &opts()).is_err(), "{i}");
            }
        }
    }

    #[test]
    fn organisation_numbers_rejected() {
        let list = load("personnummer/orgnumber.json");
        let list = list.as_array().expect("array");
        assert_eq!(list.len(), 6);
        for rec in list {
            for f in ["short_format", "separated_format"] {
                let n = s(&rec[f]);
                assert_eq!(
                    Pnr::parse(n, &opts_interim()),
                    Err(InvalidReason::OrganisationNumber),
                    "{n}"
                );
                let with16 = format!("16{n}");
                assert_eq!(
                    Pnr::parse(&with16, &opts()),
                    Err(InvalidReason::OrganisationNumber),
                    "{with16}"
                );
            }
            let i = rec["integer"].as_i64().expect("int");
            assert_eq!(
                Pnr::from_integer(i, &opts()),
                Err(InvalidReason::OrganisationNumber)
            );
        }
    }

    #[test]
    fn interim_numbers() {
        let list = load("personnummer/interim.json");
        let list = list.as_array().expect("array");
        assert_eq!(list.len(), 12);
        let mut accepted = 0;
        for rec in list {
            let valid = rec["valid"].as_bool().expect("valid");
            let long = s(&rec["long_format"]);
            for f in [
                "long_format",
                "short_format",
                "separated_format",
                "separated_long",
            ] {
                let n = s(&rec[f]);
                let strict = Pnr::parse(n, &opts());
                assert!(strict.is_err(), "{n}");
                if valid {
                    assert_eq!(strict, Err(InvalidReason::Interim), "{n}");
                }
                let lax = Pnr::parse(n, &opts_interim());
                if valid {
                    let p = lax.unwrap_or_else(|e| panic!("{n}: {e}"));
                    assert_eq!(p.as_str(), long);
                    assert_eq!(p.kind(), Kind::Interim);
                    assert_eq!(p.birth_date(), Some(date(2000, 1, 1)));
                    let male = rec["isMale"].as_bool().expect("isMale");
                    assert_eq!(p.sex() == Sex::Male, male);
                    // Lower case letters read the same.
                    let lower = n.to_ascii_lowercase();
                    assert_eq!(Pnr::parse(&lower, &opts_interim()), Ok(p));
                } else {
                    assert!(lax.is_err(), "{n}");
                }
            }
            if valid {
                accepted += 1;
            }
        }
        assert_eq!(accepted, 11);
        assert_eq!(
            Pnr::parse("000101-E221", &opts_interim()),
            Err(InvalidReason::Format)
        );
        assert_eq!(
            Pnr::parse("000101-T221", &opts_interim()),
            Err(InvalidReason::Checksum)
        );
    }

    #[test]
    fn reasons() {
        let o = opts();
        let r = |x: &str| Pnr::parse(x, &o).err();
        assert_eq!(r(" 19570428-9999\t"), None);
        assert_eq!(r(""), Some(InvalidReason::Format));
        assert_eq!(r("5704289999 1"), Some(InvalidReason::Format));
        assert_eq!(r("570428 9999"), Some(InvalidReason::Format));
        assert_eq!(r("570428/9999"), Some(InvalidReason::Format));
        assert_eq!(r("5704-289999"), Some(InvalidReason::Format));
        assert_eq!(r("570428--9999"), Some(InvalidReason::Format));
        assert_eq!(r("1957042899999"), Some(InvalidReason::Format));
        assert_eq!(r("57042899999"), Some(InvalidReason::Format));
        assert_eq!(r("570428999"), Some(InvalidReason::Format));
        assert_eq!(r("+5704289999"), Some(InvalidReason::Format));
        assert_eq!(r("５７04289999"), Some(InvalidReason::Format));
        assert_eq!(r("57042A9999"), Some(InvalidReason::Format));
        assert_eq!(r("A9570428-9999"), Some(InvalidReason::Format));
        assert_eq!(r("570428-9998"), Some(InvalidReason::Checksum));
        assert_eq!(r("150916-0006"), Some(InvalidReason::Serial));
        // Month 13 with a valid check digit.
        assert_eq!(r(&with_check("5713289999")), Some(InvalidReason::Date));
        assert_eq!(r(&with_check("5700289999")), Some(InvalidReason::Date));
        assert_eq!(r(&with_check("5704009999")), Some(InvalidReason::Date));
        assert_eq!(r(&with_check("5704319999")), Some(InvalidReason::Date));
        assert_eq!(r(&with_check("5704329999")), Some(InvalidReason::Date));
        assert_eq!(r(&with_check("5704599999")), Some(InvalidReason::Date));
        assert_eq!(r(&with_check("5704929999")), Some(InvalidReason::Date));
        assert_eq!(r(&with_check("5713689999")), Some(InvalidReason::Date));
        assert_eq!(
            r(&with_check("5720019999")),
            Some(InvalidReason::OrganisationNumber)
        );
        assert_eq!(r(&with_check("5700609999")), None);
        assert_eq!(r(&with_check("5702919999")), None);
        // The 29th of February depends on the century.
        assert_eq!(r(&with_check("0002299999")), None);
        assert_eq!(
            r(&format!("19{}", with_check("0002299999"))),
            Some(InvalidReason::Date)
        );
    }

    #[test]
    fn integers() {
        let o = opts();
        let got = |i: i64| Pnr::from_integer(i, &o).map(|p| p.as_str().to_string());
        // 2000-01-01, 10-digit form 0001019990 written as the integer 1019990 (7 digits).
        let ten = with_check("0001019990");
        let i: i64 = ten.parse().expect("digits");
        assert_eq!(got(i), Ok(format!("20{ten}")));
        assert_eq!(got(5_704_289_999), Ok("195704289999".into()));
        assert_eq!(got(195_704_289_999), Ok("195704289999".into()));
        assert_eq!(got(0), Err(InvalidReason::Format));
        assert_eq!(got(-5_704_289_999), Err(InvalidReason::Format));
        assert_eq!(got(999_999), Err(InvalidReason::Format));
        assert_eq!(got(1_957_042_899_990), Err(InvalidReason::Format));
        assert_eq!(got(i64::MAX), Err(InvalidReason::Format));
        assert_eq!(got(i64::MIN), Err(InvalidReason::Format));
    }

    #[test]
    fn sex_birth_date_and_age() {
        let p = Pnr::parse("19570428-9999", &opts()).expect("valid");
        assert_eq!(p.sex(), Sex::Male);
        assert_eq!(p.birth_year(), 1957);
        assert_eq!(p.birth_date(), Some(date(1957, 4, 28)));
        assert_eq!(p.age_at(date(2026, 4, 27)), Some(68));
        assert_eq!(p.age_at(date(2026, 4, 28)), Some(69));
        assert!(!p.is_coordination());
        let f = Pnr::parse("460823-9986", &opts()).expect("valid");
        assert_eq!(f.sex(), Sex::Female);
        let c = Pnr::parse("730288-9931", &opts()).expect("valid");
        assert!(c.is_coordination());
        assert_eq!(c.birth_date(), Some(date(1973, 2, 28)));
        assert_eq!(c.sex(), Sex::Male);
        assert_eq!(c.canonical(), b"197302889931");
        assert_eq!(c.as_str(), "197302889931");
    }

    // ---- randomized test against a naive oracle ----

    /// splitmix64.
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = self.0;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^ (z >> 31)
        }
        fn below(&mut self, n: u64) -> u64 {
            self.next() % n
        }
    }

    fn luhn_digit(nine: &str) -> char {
        let mut sum = 0;
        for (i, c) in nine.chars().enumerate() {
            let d = if c.is_ascii_digit() {
                c as u32 - '0' as u32
            } else {
                1
            };
            let v = if i % 2 == 0 { d * 2 } else { d };
            sum += v / 10 + v % 10;
        }
        char::from_digit((10 - sum % 10) % 10, 10).expect("digit")
    }

    /// Replaces the last character of a 10-digit form with the right check digit.
    fn with_check(ten: &str) -> String {
        format!("{}{}", &ten[..9], luhn_digit(&ten[..9]))
    }

    /// The naive oracle: straightforward string handling, independent of the parser above.
    fn oracle(
        input: &str,
        reference_year: i32,
        allow_interim: bool,
    ) -> Result<String, InvalidReason> {
        let t = input.trim();
        if !t.is_ascii() {
            return Err(InvalidReason::Format);
        }
        let chars: Vec<char> = t.chars().collect();
        let (century, ten, plus) = match chars.len() {
            10 => (None, t.to_string(), false),
            12 => (Some(t[..2].to_string()), t[2..].to_string(), false),
            11 if chars[6] == '-' || chars[6] == '+' => {
                (None, format!("{}{}", &t[..6], &t[7..]), chars[6] == '+')
            }
            13 if chars[8] == '-' || chars[8] == '+' => (
                Some(t[..2].to_string()),
                format!("{}{}", &t[2..8], &t[9..]),
                false,
            ),
            _ => return Err(InvalidReason::Format),
        };
        let letters = "TRSUWXJKLMNtrsuwxjklmn";
        let mut ten: Vec<char> = ten.chars().collect();
        let interim = letters.contains(ten[6]);
        if interim {
            ten[6] = ten[6].to_ascii_uppercase();
        }
        for (i, c) in ten.iter().enumerate() {
            if !(c.is_ascii_digit() || (i == 6 && interim)) {
                return Err(InvalidReason::Format);
            }
        }
        if century
            .as_ref()
            .is_some_and(|c| !c.chars().all(|c| c.is_ascii_digit()))
        {
            return Err(InvalidReason::Format);
        }
        let ten: String = ten.into_iter().collect();
        let yy: i32 = ten[..2].parse().expect("yy");
        let year = match &century {
            Some(c) => c.parse::<i32>().expect("cc") * 100 + yy,
            None => {
                let mut y = if plus {
                    reference_year - 100
                } else {
                    reference_year
                };
                while y.rem_euclid(100) != yy {
                    y -= 1;
                }
                y
            }
        };
        if luhn_digit(&ten[..9]) != ten.chars().nth(9).expect("check") {
            return Err(InvalidReason::Checksum);
        }
        if interim && !allow_interim {
            return Err(InvalidReason::Interim);
        }
        let month: u32 = ten[2..4].parse().expect("mm");
        let day: u32 = ten[4..6].parse().expect("dd");
        if month >= 20 {
            return Err(InvalidReason::OrganisationNumber);
        }
        if &ten[6..9] == "000" {
            return Err(InvalidReason::Serial);
        }
        let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
        let lengths = [
            31,
            if leap { 29 } else { 28 },
            31,
            30,
            31,
            30,
            31,
            31,
            30,
            31,
            30,
            31,
        ];
        let coordination = !interim && (60..=91).contains(&day);
        let ok = if coordination {
            month <= 12
        } else {
            (1..=12).contains(&month) && day >= 1 && day <= lengths[month as usize - 1]
        };
        if !ok {
            return Err(InvalidReason::Date);
        }
        Ok(format!("{:02}{ten}", year / 100))
    }

    #[test]
    fn randomized_against_oracle() {
        let mut rng = Rng(0x5EED_1234_ABCD_0001);
        let mut counts = std::collections::HashMap::<Result<(), InvalidReason>, usize>::new();
        for _ in 0..300_000 {
            let year = 1850 + rng.below(190) as i32;
            // Mostly plausible months and days, sometimes anything.
            let month = match rng.below(10) {
                0 => rng.below(100) as u32,
                1 => 0,
                _ => 1 + rng.below(12) as u32,
            };
            let mut day = match rng.below(10) {
                0 => rng.below(100) as u32,
                _ => 1 + rng.below(31) as u32,
            };
            if rng.below(5) == 0 && day <= 31 {
                day += 60;
            }
            let serial = match rng.below(50) {
                0 => 0,
                _ => rng.below(1000),
            };
            let mut nine = format!("{:02}{:02}{:02}{:03}", year % 100, month, day, serial);
            if rng.below(30) == 0 {
                let letter = b"TRSUWXJKLMNEtq"[rng.below(14) as usize] as char;
                nine.replace_range(6..7, &letter.to_string());
            }
            let check = if rng.below(8) == 0 {
                char::from_digit(rng.below(10) as u32, 10).expect("digit")
            } else {
                luhn_digit(&nine)
            };
            let ten = format!("{nine}{check}");
            let cc = format!("{:02}", year / 100);
            let sep = ["-", "+"][rng.below(2) as usize];
            let mut spelling = match rng.below(4) {
                0 => ten.clone(),
                1 => format!("{}{sep}{}", &ten[..6], &ten[6..]),
                2 => format!("{cc}{ten}"),
                _ => format!("{cc}{}{sep}{}", &ten[..6], &ten[6..]),
            };
            // Occasional corruption and surrounding whitespace.
            match rng.below(40) {
                0 => {
                    let pos = rng.below(spelling.len() as u64) as usize;
                    let bad = [" ", "/", "a", ".", "--", "", "é"][rng.below(7) as usize];
                    if spelling.is_char_boundary(pos) && spelling.is_char_boundary(pos + 1) {
                        spelling.replace_range(pos..pos + 1, bad);
                    }
                }
                1 => spelling = format!("  {spelling}\t"),
                _ => {}
            }
            let reference_year = 1990 + rng.below(60) as i32;
            let allow_interim = rng.below(2) == 0;
            let o = ParseOptions {
                reference: date(reference_year, 1 + rng.below(12) as u32, 1),
                allow_interim,
            };
            let want = oracle(&spelling, reference_year, allow_interim);
            let got = Pnr::parse(&spelling, &o).map(|p| p.as_str().to_string());
            assert_eq!(
                got, want,
                "{spelling:?} ref {reference_year} interim {allow_interim}"
            );
            *counts.entry(want.clone().map(|_| ())).or_default() += 1;
            // The canonical form reparses to itself, and integers agree for digit forms.
            if let Ok(c) = &want {
                let p = Pnr::parse(c, &o).expect("canonical reparses");
                assert_eq!(p.as_str(), c);
                if let Ok(i) = c.parse::<i64>() {
                    assert_eq!(Pnr::from_integer(i, &o), Ok(p));
                }
            }
        }
        // Every outcome is exercised.
        for r in [
            Ok(()),
            Err(InvalidReason::Format),
            Err(InvalidReason::Checksum),
            Err(InvalidReason::Date),
            Err(InvalidReason::Serial),
            Err(InvalidReason::OrganisationNumber),
            Err(InvalidReason::Interim),
        ] {
            assert!(
                counts.get(&r).copied().unwrap_or(0) > 50,
                "{r:?}: {counts:?}"
            );
        }
    }

    /// Not a timing assertion: prints the throughput when run with `--nocapture --ignored`.
    #[test]
    #[ignore]
    fn throughput() {
        let list = load("skatteverket/testpersonnummer.json");
        let inputs: Vec<String> = list
            .as_array()
            .expect("array")
            .iter()
            .enumerate()
            .map(|(i, v)| {
                let n = s(v);
                match i % 3 {
                    0 => n.to_string(),
                    1 => format!("{}-{}", &n[2..8], &n[8..]),
                    _ => n[2..].to_string(),
                }
            })
            .collect();
        let o = opts();
        let rounds = 100;
        let start = std::time::Instant::now();
        let mut acc = 0u64;
        for _ in 0..rounds {
            for x in &inputs {
                if let Ok(p) = Pnr::parse(std::hint::black_box(x), &o) {
                    acc += u64::from(p.canonical()[11]);
                }
            }
        }
        let secs = start.elapsed().as_secs_f64();
        let n = (rounds * inputs.len()) as f64;
        println!("{:.1} M values/s ({acc})", n / secs / 1e6);
    }
}

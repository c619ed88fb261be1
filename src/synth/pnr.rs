//! Birth dates and personnummer: ages drawn from the population pyramid, birth days, and the
//! number in each of its spellings with its Luhn check digit.

use crate::ident::date::{Date, days_in_month};
use crate::ident::luhn;

use super::*;

/// Days since 1970-01-01 of a date (a real one, or a day past the month's end for the
/// impossible dates of malformed numbers), with the calendar of [`crate::ident::date`].
pub(super) fn days_from_civil(y: i32, m: u32, d: u32) -> i64 {
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
pub(super) fn civil_from_days(z: i64) -> (i32, u32, u32) {
    let d = Date::from_days(i32::try_from(z).unwrap_or(if z < 0 { i32::MIN } else { i32::MAX }));
    (d.year, d.month, d.day)
}

/// The same month and day in `year`, with 29 February moved to the 28th when needed.
pub(super) fn anniversary(year: i32, month: u32, day: u32) -> i64 {
    days_from_civil(year, month, day.min(days_in_month(year, month)))
}

/// Relative number of people of each age 0..=100 (a rough Swedish pyramid).
pub(super) fn age_weight(age: u32) -> u32 {
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

/// The Luhn check digit over ten-digit-form digits (`YYMMDDNNN`, ASCII), in ASCII.
pub(super) fn luhn_digit(digits: &[u8]) -> u8 {
    let mut values = [0u8; 9];
    for (v, &b) in values.iter_mut().zip(digits) {
        *v = b - b'0';
    }
    b'0' + luhn::check_digit(&values[..digits.len().min(9)])
}

/// How a personnummer is spelled in the column.
#[derive(Clone, Copy)]
pub(super) enum Spelling {
    /// `YYYYMMDDNNNC`
    Twelve,
    /// `YYYYMMDD-NNNC`
    TwelveDash,
    /// `YYMMDD-NNNC`, or `YYMMDD+NNNC` from age 100.
    Ten { centenarian: bool },
}

/// Builds a personnummer into a small stack buffer.
pub(super) struct Pnr {
    pub(super) bytes: [u8; 13],
    pub(super) len: usize,
}

impl Pnr {
    /// `century` is the first two digits of the birth year; `ten` holds `YYMMDDNNNC`.
    pub(super) fn spell(century: u32, ten: &[u8; 10], spelling: Spelling) -> Self {
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

    pub(super) fn as_bytes(&self) -> &[u8] {
        &self.bytes[..self.len]
    }

    /// Positions holding digits (not the separator).
    pub(super) fn digit_positions(&self) -> impl Iterator<Item = usize> + '_ {
        (0..self.len).filter(|&i| self.bytes[i].is_ascii_digit())
    }

    /// Replaces the digit at the `k`th digit position with a letter.
    pub(super) fn put_letter(&mut self, k: usize, letter: u8) {
        let position = self.digit_positions().nth(k);
        if let Some(i) = position {
            self.bytes[i] = letter;
        }
    }

    /// Removes the digit at the `k`th digit position.
    pub(super) fn drop_digit(&mut self, k: usize) {
        let position = self.digit_positions().nth(k);
        if let Some(i) = position {
            self.bytes.copy_within(i + 1..self.len, i);
            self.len -= 1;
        }
    }
}

/// `YYMMDDNNN` plus its check digit, for a date (day + 60 for a samordningsnummer) and a
/// serial number.
pub(super) fn ten_digits(year: i32, month: u32, day: u32, serial: u32) -> [u8; 10] {
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
pub(super) fn century_of(year: i32) -> u32 {
    (year / 100).unsigned_abs()
}

/// A serial number 001–999 whose last digit is odd for men and even for women.
pub(super) fn random_serial(rng: &mut Rng, male: bool) -> u32 {
    if male {
        2 * rng.below(500) + 1
    } else {
        2 * rng.below(499) + 2
    }
}

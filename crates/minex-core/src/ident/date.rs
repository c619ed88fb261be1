//! Civil (proleptic Gregorian) dates without an external crate.
//!
//! Identity numbers carry birth dates, policies generalize dates to years, months and age
//! bands, and Arrow stores dates as `Date32` (days since 1970-01-01). This module owns the
//! one small [`Date`] type used for all of that: construction with validation, conversion to
//! and from day numbers (Howard Hinnant's `days_from_civil` / `civil_from_days`), parsing of
//! the few textual spellings we accept, whole-year ages, and ISO formatting.

use std::fmt;

/// A real calendar date (proleptic Gregorian). Ordering is chronological.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Date {
    /// The year; may be zero or negative (astronomical numbering).
    pub year: i32,
    /// The month, 1 to 12.
    pub month: u32,
    /// The day of the month, 1 to [`days_in_month`].
    pub day: u32,
}

/// Whether `year` is a Gregorian leap year.
pub fn is_leap(year: i32) -> bool {
    year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
}

/// The number of days in `month` (1 to 12) of `year`; 0 for a month outside 1 to 12.
pub fn days_in_month(year: i32, month: u32) -> u32 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if is_leap(year) => 29,
        2 => 28,
        _ => 0,
    }
}

impl Date {
    /// The date `year-month-day`, or `None` if it is not a real calendar date.
    pub fn new(year: i32, month: u32, day: u32) -> Option<Date> {
        if (1..=12).contains(&month) && day >= 1 && day <= days_in_month(year, month) {
            Some(Date { year, month, day })
        } else {
            None
        }
    }

    /// The date `days` days after 1970-01-01 (Arrow `Date32`); negative is before.
    pub fn from_days(days: i32) -> Date {
        // Howard Hinnant, "chrono-Compatible Low-Level Date Algorithms", civil_from_days.
        let z = i64::from(days) + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z.rem_euclid(146_097); // [0, 146096]
        let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365; // [0, 399]
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100); // [0, 365]
        let mp = (5 * doy + 2) / 153; // [0, 11], March-based
        let day = doy - (153 * mp + 2) / 5 + 1; // [1, 31]
        let month = if mp < 10 { mp + 3 } else { mp - 9 }; // [1, 12]
        let year = yoe + era * 400 + i64::from(month <= 2);
        Date {
            // |days| <= 2^31 gives |year| < 6 million: always fits.
            year: i32::try_from(year).unwrap_or(if year < 0 { i32::MIN } else { i32::MAX }),
            month: u32::try_from(month).unwrap_or(1),
            day: u32::try_from(day).unwrap_or(1),
        }
    }

    /// Days since 1970-01-01 (Arrow `Date32`), saturating at the ends of `i32` for years
    /// beyond about ±5.8 million.
    pub fn to_days(self) -> i32 {
        // Howard Hinnant, days_from_civil.
        let m = i64::from(self.month);
        let d = i64::from(self.day);
        let y = i64::from(self.year) - i64::from(m <= 2);
        let era = y.div_euclid(400);
        let yoe = y.rem_euclid(400); // [0, 399]
        let mp = if m > 2 { m - 3 } else { m + 9 }; // [0, 11]
        let doy = (153 * mp + 2) / 5 + d - 1; // [0, 365]
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy; // [0, 146096]
        let days = era * 146_097 + doe - 719_468;
        i32::try_from(days).unwrap_or(if days < 0 { i32::MIN } else { i32::MAX })
    }

    /// Parses a date: the input is trimmed, then accepted as `YYYY-MM-DD`, `YYYYMMDD`, or an
    /// ISO 8601 date-time whose first ten characters are `YYYY-MM-DD` followed by `T` or a
    /// space (the time part is ignored, not validated). Nothing else; `None` also for a date
    /// that does not exist.
    pub fn parse(s: &str) -> Option<Date> {
        let b = s.trim().as_bytes();
        let (y, m, d) = match b.len() {
            8 => (&b[0..4], &b[4..6], &b[6..8]),
            10 if b[4] == b'-' && b[7] == b'-' => (&b[0..4], &b[5..7], &b[8..10]),
            n if n > 10 && b[4] == b'-' && b[7] == b'-' && matches!(b[10], b'T' | b' ') => {
                (&b[0..4], &b[5..7], &b[8..10])
            }
            _ => return None,
        };
        let year = digits(y)?;
        let month = digits(m)?;
        let day = digits(d)?;
        Date::new(i32::try_from(year).ok()?, month, day)
    }

    /// Whole years completed on `at` by someone born on `self` (negative if `at` is earlier).
    /// A 29 February birthday counts as completed on 1 March in non-leap years.
    pub fn age_at(self, at: Date) -> i32 {
        let years = at.year - self.year;
        if (at.month, at.day) < (self.month, self.day) {
            years - 1
        } else {
            years
        }
    }

    /// Appends `YYYY-MM-DD` to `out` (years outside 0 to 9999 are written with more digits or
    /// a sign).
    pub fn write_iso(self, out: &mut String) {
        if (0..=9999).contains(&self.year) {
            let y = u32::try_from(self.year).unwrap_or(0);
            push2(out, y / 100);
            push2(out, y % 100);
        } else {
            out.push_str(&self.year.to_string());
        }
        out.push('-');
        push2(out, self.month);
        out.push('-');
        push2(out, self.day);
    }
}

impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut s = String::with_capacity(10);
        self.write_iso(&mut s);
        f.write_str(&s)
    }
}

fn push2(out: &mut String, v: u32) {
    out.push(char::from(b'0' + u8::try_from(v / 10 % 10).unwrap_or(0)));
    out.push(char::from(b'0' + u8::try_from(v % 10).unwrap_or(0)));
}

/// The value of a run of ASCII digits (at most 4 here), or `None` if any byte is not a digit.
fn digits(b: &[u8]) -> Option<u32> {
    b.iter().try_fold(0u32, |acc, &c| {
        c.is_ascii_digit().then(|| acc * 10 + u32::from(c - b'0'))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> Date {
        Date::new(y, m, day).expect("valid test date")
    }

    #[test]
    fn leap_years_and_month_lengths() {
        assert!(is_leap(2000));
        assert!(is_leap(2024));
        assert!(is_leap(1892));
        assert!(!is_leap(1900));
        assert!(!is_leap(2100));
        assert!(!is_leap(2023));
        assert!(is_leap(0));
        assert!(is_leap(-4));
        assert_eq!(days_in_month(2000, 2), 29);
        assert_eq!(days_in_month(1900, 2), 28);
        assert_eq!(days_in_month(2023, 4), 30);
        assert_eq!(days_in_month(2023, 12), 31);
        assert_eq!(days_in_month(2023, 0), 0);
        assert_eq!(days_in_month(2023, 13), 0);
    }

    #[test]
    fn new_rejects_impossible_dates() {
        assert!(Date::new(2023, 2, 29).is_none());
        assert!(Date::new(2024, 2, 29).is_some());
        assert!(Date::new(2023, 4, 31).is_none());
        assert!(Date::new(2023, 0, 1).is_none());
        assert!(Date::new(2023, 13, 1).is_none());
        assert!(Date::new(2023, 1, 0).is_none());
        assert!(Date::new(2023, 1, 32).is_none());
    }

    #[test]
    fn known_day_numbers() {
        assert_eq!(d(1970, 1, 1).to_days(), 0);
        assert_eq!(d(1970, 1, 2).to_days(), 1);
        assert_eq!(d(1969, 12, 31).to_days(), -1);
        assert_eq!(d(2000, 3, 1).to_days(), 11_017);
        assert_eq!(d(2026, 1, 1).to_days(), 20_454);
        assert_eq!(Date::from_days(0), d(1970, 1, 1));
        assert_eq!(Date::from_days(11_016), d(2000, 2, 29));
        assert_eq!(Date::from_days(-719_528), d(0, 1, 1));
    }

    /// Round trip over about ±1,100 years against a naive day-by-day counter.
    #[test]
    fn round_trip_against_naive_counter() {
        let start = -400_000; // 0874-09-...
        // Naive: walk backwards from 1970-01-01 to the start, then forwards day by day.
        let (mut y, mut m, mut dd) = (1970i32, 1u32, 1u32);
        let mut n = 0i32;
        while n > start {
            if dd > 1 {
                dd -= 1;
            } else if m > 1 {
                m -= 1;
                dd = days_in_month(y, m);
            } else {
                y -= 1;
                m = 12;
                dd = 31;
            }
            n -= 1;
        }
        while n <= 400_000 {
            let date = Date {
                year: y,
                month: m,
                day: dd,
            };
            assert_eq!(Date::from_days(n), date, "from_days({n})");
            assert_eq!(date.to_days(), n, "to_days {date:?}");
            n += 1;
            if dd < days_in_month(y, m) {
                dd += 1;
            } else if m < 12 {
                m += 1;
                dd = 1;
            } else {
                y += 1;
                m = 1;
                dd = 1;
            }
        }
    }

    #[test]
    fn extremes_do_not_panic() {
        for days in [i32::MIN, i32::MIN + 1, -1, 0, i32::MAX - 1, i32::MAX] {
            let date = Date::from_days(days);
            assert_eq!(date.to_days(), days);
        }
        let far = Date {
            year: i32::MAX,
            month: 12,
            day: 31,
        };
        assert_eq!(far.to_days(), i32::MAX);
        let far = Date {
            year: i32::MIN,
            month: 1,
            day: 1,
        };
        assert_eq!(far.to_days(), i32::MIN);
    }

    #[test]
    fn parse_accepted_spellings() {
        assert_eq!(Date::parse("2024-02-29"), Some(d(2024, 2, 29)));
        assert_eq!(Date::parse("  20240229 "), Some(d(2024, 2, 29)));
        assert_eq!(Date::parse("2024-02-29T12:34:56Z"), Some(d(2024, 2, 29)));
        assert_eq!(Date::parse("2024-02-29 12:34"), Some(d(2024, 2, 29)));
        assert_eq!(Date::parse("1890-01-01T"), Some(d(1890, 1, 1)));
    }

    #[test]
    fn parse_rejects_everything_else() {
        for s in [
            "",
            "2023-02-29",
            "20230229",
            "2024-2-29",
            "2024/02/29",
            "29-02-2024",
            "2024-02-29X",
            "2024-02-2912:00",
            "202402291",
            "2024022",
            "+2024-02-29",
            "2024-0a-01",
            "2024-13-01",
            "2024-00-01",
            "2024-01-00",
            "24-02-29",
            "２０２４-01-01",
        ] {
            assert_eq!(Date::parse(s), None, "{s:?}");
        }
    }

    #[test]
    fn ages() {
        let born = d(1990, 6, 15);
        assert_eq!(born.age_at(d(2026, 6, 14)), 35);
        assert_eq!(born.age_at(d(2026, 6, 15)), 36);
        assert_eq!(born.age_at(d(1990, 6, 15)), 0);
        assert_eq!(born.age_at(d(1990, 6, 14)), -1);
        let leapling = d(2000, 2, 29);
        assert_eq!(leapling.age_at(d(2023, 2, 28)), 22);
        assert_eq!(leapling.age_at(d(2023, 3, 1)), 23);
        assert_eq!(leapling.age_at(d(2024, 2, 28)), 23);
        assert_eq!(leapling.age_at(d(2024, 2, 29)), 24);
    }

    #[test]
    fn iso_output() {
        let mut s = String::new();
        d(2024, 2, 9).write_iso(&mut s);
        assert_eq!(s, "2024-02-09");
        s.clear();
        d(987, 12, 31).write_iso(&mut s);
        assert_eq!(s, "0987-12-31");
        assert_eq!(d(1890, 1, 1).to_string(), "1890-01-01");
        s.clear();
        Date {
            year: -5,
            month: 1,
            day: 2,
        }
        .write_iso(&mut s);
        assert_eq!(s, "-5-01-02");
        for n in (-50_000..50_000).step_by(7) {
            let date = Date::from_days(n);
            let mut s = String::new();
            date.write_iso(&mut s);
            assert_eq!(Date::parse(&s), Some(date));
        }
    }
}

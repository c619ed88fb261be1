//! Typed values of Swedish citizen registers: parse, validate and canonicalize.
//!
//! This module exists so that every spelling of the same person, address or date gives the
//! same canonical bytes before anything is tokenized or encrypted, and so that a value that is
//! not what its column claims is rejected with a stable reason code. It owns the identity
//! numbers ([`personnummer`], with their [`luhn`] check digit), e-mail addresses ([`email`]), phone numbers ([`phone`]),
//! postal codes ([`postal`]), civil dates ([`date`]), column type detection ([`detect`]),
//! the shared [`InvalidReason`] codes and the small scalar parsers [`parse_bool`] and
//! [`parse_i64`].
//!
//! Privacy: nothing in this module ever puts an input value into an error or a `Display`
//! output. A failure is an [`InvalidReason`], which is a code and nothing else.

pub mod date;
pub mod detect;
pub mod email;
pub mod luhn;
pub mod personnummer;
pub mod phone;
pub mod postal;

use std::fmt;

/// Why a value is invalid; a stable snake_case code is what reports show.
///
/// The reason never carries the value itself, so it is safe to log, count and print.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum InvalidReason {
    /// The characters or the length are not an accepted spelling.
    Format,
    /// The Luhn check digit of an identity number is wrong.
    Checksum,
    /// The date part is not a real (or, for coordination numbers, an accepted) date.
    Date,
    /// The serial number of an identity number is `000`.
    Serial,
    /// The "month" is 20 or more: an organisation number, not a person.
    OrganisationNumber,
    /// An interim (T-) number where interim numbers are not allowed.
    Interim,
    /// Not a syntactically acceptable e-mail address.
    Email,
    /// Not an acceptable phone number.
    Phone,
    /// Not a Swedish postal code.
    PostalCode,
    /// Null where a value is required.
    Missing,
    /// Not an integer.
    Integer,
    /// Not a boolean.
    Boolean,
}

impl InvalidReason {
    /// Every reason, in declaration order (handy for reports and tests).
    pub const ALL: [InvalidReason; 12] = [
        InvalidReason::Format,
        InvalidReason::Checksum,
        InvalidReason::Date,
        InvalidReason::Serial,
        InvalidReason::OrganisationNumber,
        InvalidReason::Interim,
        InvalidReason::Email,
        InvalidReason::Phone,
        InvalidReason::PostalCode,
        InvalidReason::Missing,
        InvalidReason::Integer,
        InvalidReason::Boolean,
    ];

    /// The stable snake_case code shown in reports (`"format"`, `"checksum"`, ...).
    pub fn code(self) -> &'static str {
        match self {
            InvalidReason::Format => "format",
            InvalidReason::Checksum => "checksum",
            InvalidReason::Date => "date",
            InvalidReason::Serial => "serial",
            InvalidReason::OrganisationNumber => "organisation_number",
            InvalidReason::Interim => "interim",
            InvalidReason::Email => "email",
            InvalidReason::Phone => "phone",
            InvalidReason::PostalCode => "postal_code",
            InvalidReason::Missing => "missing",
            InvalidReason::Integer => "integer",
            InvalidReason::Boolean => "boolean",
        }
    }
}

impl fmt::Display for InvalidReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl std::error::Error for InvalidReason {}

/// The spellings of true that `type: boolean` accepts (trimmed, any letter case).
pub const TRUE_SPELLINGS: [&str; 9] = ["true", "1", "yes", "ja", "j", "t", "y", "sant", "x"];
/// The spellings of false that `type: boolean` accepts (trimmed, any letter case).
pub const FALSE_SPELLINGS: [&str; 7] = ["false", "0", "no", "nej", "f", "n", "falskt"];

/// Parses a boolean: trimmed, case-insensitive, one of [`TRUE_SPELLINGS`] (`true`, `1`,
/// `yes`, `ja`, `j`, `t`, `y`, `sant`, `x`) or [`FALSE_SPELLINGS`] (`false`, `0`, `no`,
/// `nej`, `f`, `n`, `falskt`). Registers mark protected identity in all of these ways.
///
/// # Errors
/// [`InvalidReason::Boolean`] for anything else (including the empty string).
pub fn parse_bool(s: &str) -> Result<bool, InvalidReason> {
    let s = s.trim();
    const TRUE: [&str; 9] = TRUE_SPELLINGS;
    const FALSE: [&str; 7] = FALSE_SPELLINGS;
    if TRUE.iter().any(|w| s.eq_ignore_ascii_case(w)) {
        Ok(true)
    } else if FALSE.iter().any(|w| s.eq_ignore_ascii_case(w)) {
        Ok(false)
    } else {
        Err(InvalidReason::Boolean)
    }
}

/// Parses a whole number: trimmed, an optional `+` or `-` sign, then ASCII digits only.
///
/// # Errors
/// [`InvalidReason::Integer`] for anything else, including overflow of `i64`.
pub fn parse_i64(s: &str) -> Result<i64, InvalidReason> {
    let s = s.trim();
    let (negative, digits) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(InvalidReason::Integer);
    }
    // Accumulate negatively so that i64::MIN parses.
    let mut acc: i64 = 0;
    for b in digits.bytes() {
        let d = i64::from(b - b'0');
        acc = acc
            .checked_mul(10)
            .and_then(|v| v.checked_sub(d))
            .ok_or(InvalidReason::Integer)?;
    }
    if negative {
        Ok(acc)
    } else {
        acc.checked_neg().ok_or(InvalidReason::Integer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_stable_and_distinct() {
        let codes: Vec<&str> = InvalidReason::ALL.iter().map(|r| r.code()).collect();
        assert_eq!(
            codes,
            [
                "format",
                "checksum",
                "date",
                "serial",
                "organisation_number",
                "interim",
                "email",
                "phone",
                "postal_code",
                "missing",
                "integer",
                "boolean"
            ]
        );
        for r in InvalidReason::ALL {
            assert_eq!(r.to_string(), r.code());
        }
    }

    #[test]
    fn bools() {
        for s in ["true", " TRUE ", "1", "Yes", "ja", "JA", "t", "Y"] {
            assert_eq!(parse_bool(s), Ok(true), "{s}");
        }
        for s in ["false", "False", "0", "no", "NEJ", "nej", "f", "n", "\tN\n"] {
            assert_eq!(parse_bool(s), Ok(false), "{s}");
        }
        for s in ["", " ", "2", "yess", "tru", "-1", "on", "off", "nej!"] {
            assert_eq!(parse_bool(s), Err(InvalidReason::Boolean), "{s}");
        }
    }

    #[test]
    fn integers() {
        assert_eq!(parse_i64("0"), Ok(0));
        assert_eq!(parse_i64(" 42 "), Ok(42));
        assert_eq!(parse_i64("+7"), Ok(7));
        assert_eq!(parse_i64("-7"), Ok(-7));
        assert_eq!(parse_i64("007"), Ok(7));
        assert_eq!(parse_i64("9223372036854775807"), Ok(i64::MAX));
        assert_eq!(parse_i64("-9223372036854775808"), Ok(i64::MIN));
        for s in [
            "",
            "+",
            "-",
            "1.0",
            "1e3",
            "1 000",
            "--1",
            "+-1",
            "abc",
            "9223372036854775808",
            "-9223372036854775809",
            "١٢",
        ] {
            assert_eq!(parse_i64(s), Err(InvalidReason::Integer), "{s}");
        }
    }

    #[test]
    fn display_never_contains_anything_but_the_code() {
        let e = parse_i64("197001011234x").err();
        assert_eq!(e.map(|e| e.to_string()), Some("integer".to_string()));
    }
}

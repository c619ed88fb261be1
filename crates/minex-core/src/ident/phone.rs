//! Phone numbers: Swedish spellings and foreign E.164 numbers to one canonical E.164 form.
//!
//! The same subscriber appears as `070-123 45 67`, `+46 70 123 45 67` and `0046701234567`;
//! tokenizing the E.164 form (`+46701234567`) makes them join. This module owns that
//! normalization and the rules for what counts as a phone number.
//!
//! Rules, after trimming surrounding whitespace:
//! * Allowed characters are digits, spaces, tabs, `-`, `/`, `.`, `(`, `)`, and a `+` as the
//!   very first character. The separators are ignored. Anything else is
//!   [`InvalidReason::Phone`].
//! * International prefix `+` or `00`: the digits after it are the country code and number.
//!   A trunk zero written `(0)` directly after the country code (`+46 (0)70 …`,
//!   `+44 (0)20 …`) is dropped.
//!   * Country code 46 (Sweden): the national significant number (NSN) must be 7–9 digits
//!     and must not start with 0.
//!   * Any other country: the country code must not start with 0 and the whole number must
//!     be 8–15 digits (E.164 allows at most 15).
//! * National: a single leading `0` (the trunk prefix) followed by a Swedish NSN of 7–9
//!   digits not starting with 0, i.e. 8–10 digits written. The `0` is replaced by `+46`.
//! * Nothing else is a phone number (no leading `0` or `+`/`00`, too short or too long).
//!
//! Output: `+` followed by digits only.

use super::InvalidReason;

/// The longest digit run considered: E.164's 15 plus an international `00` and a `(0)`.
const MAX_DIGITS: usize = 18;

/// Appends the E.164 form of `s` to `out` (the caller clears `out`).
///
/// # Errors
/// [`InvalidReason::Phone`] for anything the rules in the module docs do not accept; `out`
/// is then left unchanged.
pub fn canonicalize(s: &str, out: &mut String) -> Result<(), InvalidReason> {
    let s = s.trim();
    let b = s.as_bytes();
    let (plus, rest) = match b.first() {
        Some(b'+') => (true, &b[1..]),
        _ => (false, b),
    };

    // Collect the digits; remember where a "(0)" group was, as a digit index.
    let mut digits = [0u8; MAX_DIGITS];
    let mut n = 0usize;
    let mut trunk_zero_at: Option<usize> = None;
    let mut i = 0usize;
    while i < rest.len() {
        let c = rest[i];
        match c {
            b'0'..=b'9' => {
                if n == MAX_DIGITS {
                    return Err(InvalidReason::Phone);
                }
                digits[n] = c;
                n += 1;
            }
            b'(' if rest.get(i + 1..i + 3) == Some(b"0)".as_slice()) && trunk_zero_at.is_none() => {
                trunk_zero_at = Some(n);
                i += 3;
                continue;
            }
            b' ' | b'\t' | b'-' | b'/' | b'.' | b'(' | b')' => {}
            _ => return Err(InvalidReason::Phone),
        }
        i += 1;
    }
    let digits = &digits[..n];

    let international: Option<&[u8]> = if plus {
        Some(digits)
    } else if digits.starts_with(b"00") {
        Some(&digits[2..])
    } else {
        None
    };

    match international {
        Some(intl) => {
            // Where "(0)" must sit: right after the country code.
            let prefix_len = usize::from(!plus) * 2;
            if let Some(at) = trunk_zero_at {
                let after_cc = at.checked_sub(prefix_len).ok_or(InvalidReason::Phone)?;
                if !(1..=3).contains(&after_cc) {
                    return Err(InvalidReason::Phone);
                }
                if intl.starts_with(b"46") && after_cc != 2 {
                    return Err(InvalidReason::Phone);
                }
            }
            if let Some(nsn) = intl.strip_prefix(b"46") {
                push_swedish(nsn, out)
            } else if intl.first().is_some_and(|&d| d != b'0') && (8..=15).contains(&intl.len()) {
                out.push('+');
                out.extend(intl.iter().map(|&d| char::from(d)));
                Ok(())
            } else {
                Err(InvalidReason::Phone)
            }
        }
        None => {
            // "(0)" belongs to international spellings only; "(08)" is a plain area code.
            if trunk_zero_at.is_some() {
                return Err(InvalidReason::Phone);
            }
            match digits.strip_prefix(b"0") {
                Some(nsn) => push_swedish(nsn, out),
                None => Err(InvalidReason::Phone),
            }
        }
    }
}

fn push_swedish(nsn: &[u8], out: &mut String) -> Result<(), InvalidReason> {
    if (7..=9).contains(&nsn.len()) && nsn[0] != b'0' {
        out.push_str("+46");
        out.extend(nsn.iter().map(|&d| char::from(d)));
        Ok(())
    } else {
        Err(InvalidReason::Phone)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn canon(s: &str) -> Result<String, InvalidReason> {
        let mut out = String::new();
        canonicalize(s, &mut out).map(|()| out)
    }

    #[test]
    fn swedish_spellings() {
        for (input, want) in [
            ("070-123 45 67", "+46701234567"),
            ("0701234567", "+46701234567"),
            ("+46 70 123 45 67", "+46701234567"),
            ("+46701234567", "+46701234567"),
            ("0046701234567", "+46701234567"),
            ("00 46 70-123 45 67", "+46701234567"),
            ("08-123 456 78", "+46812345678"),
            ("070/1234567", "+46701234567"),
            ("070.123.45.67", "+46701234567"),
            ("+46 (0)70 123 45 67", "+46701234567"),
            ("+46(0)8-123 456 78", "+46812345678"),
            ("0046 (0)70 123 45 67", "+46701234567"),
            ("  070-1234567\t", "+46701234567"),
            ("0980-123 45", "+4698012345"),
            ("070-12345", "+467012345"),
        ] {
            assert_eq!(canon(input).as_deref(), Ok(want), "{input:?}");
        }
        assert_eq!(canon("(08) 12 34 56").as_deref(), Ok("+468123456"));
        // A space after the plus is only a separator.
        assert_eq!(canon("+ 46701234567").as_deref(), Ok("+46701234567"));
    }

    #[test]
    fn foreign_numbers() {
        for (input, want) in [
            ("+47 22 12 34 56", "+4722123456"),
            ("0047 22 12 34 56", "+4722123456"),
            ("+44 (0)20 7946 0958", "+442079460958"),
            ("+1 (212) 555-0100", "+12125550100"),
            ("+358 9 1234567", "+35891234567"),
            ("+123456789012345", "+123456789012345"),
        ] {
            assert_eq!(canon(input).as_deref(), Ok(want), "{input:?}");
        }
    }

    #[test]
    fn rejected() {
        for input in [
            "",
            "+",
            "0",
            "070",
            "070-1234",           // NSN of 6 digits
            "08-123 45",          // NSN of 6 digits
            "070-123 45 67 89 0", // NSN of 11 digits
            "701234567",          // no trunk 0
            "+46 070 123 45 67",  // trunk 0 after +46 without parentheses
            "+46 12345",          // too short
            "+46 7012345678",     // NSN of 10 digits
            "+1234567",           // 7 digits
            "+1234567890123456",  // 16 digits
            "+0123456789",        // country code 0
            "000123456789",
            "070-123 45 67 ext 3",
            "070_1234567",
            "070+1234567",
            "++46701234567",
            "(0)70 123 45 67",
            "+46 70 (0)123 45 67",
            "+4 (0)6 70 123 45 67",
            "tel: 0701234567",
            "０70-1234567",
            "12345678901234567890123",
        ] {
            assert_eq!(canon(input), Err(InvalidReason::Phone), "{input:?}");
        }
    }

    #[test]
    fn appends_to_out() {
        let mut out = String::from("a");
        assert_eq!(canonicalize("08-123 456 78", &mut out), Ok(()));
        assert_eq!(out, "a+46812345678");
        assert_eq!(canonicalize("nope", &mut out), Err(InvalidReason::Phone));
        assert_eq!(out, "a+46812345678");
    }
}

//! Swedish postal codes (postnummer): validation and the canonical five digits.
//!
//! Postal codes are a common quasi-identifier; written `114 55`, `11455` or `SE-114 55`,
//! they must all become the same five ASCII digits before they are generalized or
//! tokenized.
//!
//! Rules, after trimming surrounding whitespace: an optional country prefix `SE-` or `S-`
//! (any case), then `NNN NN` (one space) or `NNNNN`. The first digit must be 1–9 (Swedish
//! codes run from 100 00 to 989 99). Anything else is [`InvalidReason::PostalCode`].

use super::InvalidReason;

/// The canonical five ASCII digits of a Swedish postal code.
///
/// # Errors
/// [`InvalidReason::PostalCode`] for anything but the spellings in the module docs.
pub fn canonicalize(s: &str) -> Result<[u8; 5], InvalidReason> {
    let mut b = s.trim().as_bytes();
    for prefix in [b"SE-".as_slice(), b"S-".as_slice()] {
        if b.len() >= prefix.len() && b[..prefix.len()].eq_ignore_ascii_case(prefix) {
            b = &b[prefix.len()..];
            break;
        }
    }
    let mut out = [0u8; 5];
    match b.len() {
        5 => out.copy_from_slice(b),
        6 if b[3] == b' ' => {
            out[..3].copy_from_slice(&b[..3]);
            out[3..].copy_from_slice(&b[4..]);
        }
        _ => return Err(InvalidReason::PostalCode),
    }
    if out.iter().all(u8::is_ascii_digit) && out[0] != b'0' {
        Ok(out)
    } else {
        Err(InvalidReason::PostalCode)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepted() {
        for (input, want) in [
            ("114 55", b"11455"),
            ("11455", b"11455"),
            (" 114 55\t", b"11455"),
            ("SE-114 55", b"11455"),
            ("se-11455", b"11455"),
            ("S-114 55", b"11455"),
            ("s-98499", b"98499"),
            ("100 00", b"10000"),
        ] {
            assert_eq!(canonicalize(input), Ok(*want), "{input:?}");
        }
    }

    #[test]
    fn rejected() {
        for input in [
            "",
            "012 34",
            "01234",
            "1145",
            "114555",
            "114  55",
            "1145 5",
            "11 455",
            "114-55",
            "SE 114 55",
            "SE114 55",
            "DK-114 55",
            "SE--114 55",
            "S-E11455",
            "abcde",
            "114 5a",
            "１１４55",
        ] {
            assert_eq!(
                canonicalize(input),
                Err(InvalidReason::PostalCode),
                "{input:?}"
            );
        }
    }
}

//! E-mail addresses: a pragmatic syntax check and the canonical (trimmed, lower-case) form.
//!
//! Registers write the same address with different case and stray whitespace; tokenizing
//! the canonical form makes those spellings join. The check is deliberately pragmatic, not
//! RFC 5322: it accepts what real registers hold and rejects what is clearly not an address.
//!
//! Rules, after trimming surrounding whitespace:
//! * ASCII only (internationalized addresses are rejected), at most 254 characters;
//! * exactly one `@`;
//! * local part: 1–64 characters from letters, digits and ``!#$%&'*+/=?^_`{|}~.-``, not
//!   starting or ending with `.` and without `..`;
//! * domain: at least two dot-separated labels; each label 1–63 letters, digits or hyphens,
//!   not starting or ending with a hyphen; the last label (TLD) at least two letters only.
//!
//! The canonical form is the trimmed address in ASCII lower case (local part included).

use super::InvalidReason;

/// Appends the canonical form of the address `s` to `out` (the caller clears `out`).
///
/// # Errors
/// [`InvalidReason::Email`] if `s` does not pass the check in the module docs; `out` is then
/// left unchanged.
pub fn canonicalize(s: &str, out: &mut String) -> Result<(), InvalidReason> {
    let s = s.trim();
    if s.is_empty() || s.len() > 254 || !s.is_ascii() {
        return Err(InvalidReason::Email);
    }
    let Some((local, domain)) = s.split_once('@') else {
        return Err(InvalidReason::Email);
    };
    if !valid_local(local) || !valid_domain(domain) {
        return Err(InvalidReason::Email);
    }
    out.reserve(s.len());
    out.extend(s.chars().map(|c| c.to_ascii_lowercase()));
    Ok(())
}

fn valid_local(local: &str) -> bool {
    const SPECIAL: &[u8] = b"!#$%&'*+/=?^_`{|}~.-";
    let b = local.as_bytes();
    !b.is_empty()
        && b.len() <= 64
        && b.iter()
            .all(|c| c.is_ascii_alphanumeric() || SPECIAL.contains(c))
        && b.first() != Some(&b'.')
        && b.last() != Some(&b'.')
        && !local.contains("..")
}

fn valid_domain(domain: &str) -> bool {
    let mut labels = 0usize;
    let mut last = "";
    for label in domain.split('.') {
        let b = label.as_bytes();
        if b.is_empty()
            || b.len() > 63
            || !b.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'-')
            || b.first() == Some(&b'-')
            || b.last() == Some(&b'-')
        {
            return false;
        }
        labels += 1;
        last = label;
    }
    labels >= 2 && last.len() >= 2 && last.bytes().all(|c| c.is_ascii_alphabetic())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn canon(s: &str) -> Result<String, InvalidReason> {
        let mut out = String::new();
        canonicalize(s, &mut out).map(|()| out)
    }

    #[test]
    fn accepted_and_canonicalized() {
        for (input, want) in [
            ("anna.andersson@example.se", "anna.andersson@example.se"),
            (
                "  Anna.Andersson@Example.SE \n",
                "anna.andersson@example.se",
            ),
            ("a@b.co", "a@b.co"),
            (
                "first+tag@sub.domain-x.example.com",
                "first+tag@sub.domain-x.example.com",
            ),
            ("o'brien@example.ie", "o'brien@example.ie"),
            (
                "x_y-z!#$%&*/=?^`{|}~@ex4mple.org",
                "x_y-z!#$%&*/=?^`{|}~@ex4mple.org",
            ),
            ("user@123.example", "user@123.example"),
        ] {
            assert_eq!(canon(input).as_deref(), Ok(want), "{input:?}");
        }
    }

    #[test]
    fn appends_to_out() {
        let mut out = String::from("x:");
        assert_eq!(canonicalize("A@B.SE", &mut out), Ok(()));
        assert_eq!(out, "x:a@b.se");
        assert_eq!(canonicalize("nope", &mut out), Err(InvalidReason::Email));
        assert_eq!(out, "x:a@b.se");
    }

    #[test]
    fn rejected() {
        let long_local = format!("{}@example.se", "a".repeat(65));
        let long_label = format!("a@{}.se", "b".repeat(64));
        let long_total = format!("a@{}.se", vec!["c".repeat(60); 5].join("."));
        for input in [
            "",
            "   ",
            "plainaddress",
            "@example.se",
            "anna@",
            "anna@@example.se",
            "anna@ex@ample.se",
            "anna@example",
            "anna@example.s",
            "anna@example.s3",
            "anna@example.123",
            "anna@-example.se",
            "anna@example-.se",
            "anna@example..se",
            "anna@.example.se",
            "anna@example.se.",
            ".anna@example.se",
            "anna.@example.se",
            "an..na@example.se",
            "an na@example.se",
            "anna@exa mple.se",
            "anna(x)@example.se",
            "\"anna\"@example.se",
            "anna@exämple.se",
            "åsa@example.se",
            "anna@example_x.se",
            "anna@[127.0.0.1]",
            &long_local,
            &long_label,
            &long_total,
        ] {
            assert_eq!(canon(input), Err(InvalidReason::Email), "{input:?}");
        }
        assert!(long_total.len() > 254);
        let max_local = format!("{}@example.se", "a".repeat(64));
        assert!(canon(&max_local).is_ok());
    }
}

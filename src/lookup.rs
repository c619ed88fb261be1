//! `minex lookup` (issue 14): the supplier's tokens (and ciphertexts) of identity numbers, for
//! a resident's access or erasure request.
//!
//! Each identity number given is read as `type: personnummer` reads it (every spelling, the
//! century of 10-digit forms from the policy's `reference_date`) and gets, in every space the
//! policy uses for `type: personnummer` columns (or only in `--space`), the token
//! (`tokenize` spaces) or the ciphertext (`encrypt` spaces) that `minex run` writes for it:
//! the same canonical value through the same [`crate::keys`] constructions.
//!
//! The output is CSV `item,space,token,reason`: `item` is the 1-based position of the number
//! in the input (never the number itself), rows come in input order and then in the order the
//! policy first names each space; the `token` field holds the ciphertext for an `encrypt`
//! space (base64url: it never begins with a character a spreadsheet runs as a formula but
//! `-`, and holds no parenthesis, so it is written as it is). A number that is invalid gets
//! one row `item,,,REASON` with the reason code (`format`, `checksum`, `date`, `serial`,
//! `organisation_number`, `interim`, `missing`).
//!
//! # Reading `--from FILE`
//! One record per line (LF or CRLF; a UTF-8 byte-order mark is ignored); the identity number
//! is the first field (up to the first delimiter, surrounding spaces and double quotes
//! removed), so a CSV whose first column holds the numbers can be given as it is. **Every
//! line is an item**, a blank one too (reason `missing`), so item N is data line N. Only the
//! first line may be a header, and it is taken for one only when its first field is not an
//! identity number *and holds no digit* (`personnummer`, `pnr`): a mistyped number on the
//! first line is reported as invalid (item 1), never skipped as a header.
//!
//! An interim number (a letter in the serial) is looked up only in the spaces where some
//! column says `allow_interim: true`; where none does, it is invalid (`interim`).

use std::collections::BTreeMap;
use std::io::{BufRead, Read};
use std::path::Path;

use crate::error::{Error, Location, Result};
use crate::ident::InvalidReason;
use crate::ident::personnummer::{Kind as PnrKind, ParseOptions, Pnr};
use crate::keys::{Encryptor, KeyRing, MasterKey, Tokenizer};
use crate::policy::{Action, Policy, ValueType};
use crate::report::csv_safe_field;

/// The header of the output CSV.
pub const HEADER: &str = "item,space,token,reason\n";

/// The longest line `--from` reads, in bytes (an identity number is at most 13 characters;
/// the rest of a CSV record is skipped, but never buffered without bound).
pub const MAX_LINE_BYTES: usize = 1 << 20;

/// What a space gives: a token (`tokenize`) or a ciphertext (`encrypt`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
    /// HMAC token, 32 lowercase hex characters.
    Token,
    /// Deterministic AES-256-GCM-SIV ciphertext, base64url.
    Ciphertext,
}

impl Kind {
    /// `token` or `ciphertext`.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Token => "token",
            Kind::Ciphertext => "ciphertext",
        }
    }
}

/// One (space, kind) of a policy, with what its columns accept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// The space.
    pub space: String,
    /// Token or ciphertext.
    pub kind: Kind,
    /// Whether a column of this space and kind accepts interim numbers.
    pub allow_interim: bool,
}

/// The (space, kind) pairs of the policy's `type: personnummer` columns that tokenize or
/// encrypt, in the order the policy first names them; only `only`'s when given.
///
/// # Errors
/// `Usage` when the policy tokenizes or encrypts no identity number, or `only` is not one of
/// its identity-number spaces.
pub fn targets(policy: &Policy, only: Option<&str>) -> Result<Vec<Target>> {
    let mut out: Vec<Target> = Vec::new();
    for c in &policy.columns {
        if c.value_type != ValueType::Personnummer {
            continue;
        }
        let (space, kind) = match &c.action {
            Action::Tokenize { space } => (space, Kind::Token),
            Action::Encrypt { space } => (space, Kind::Ciphertext),
            _ => continue,
        };
        match out.iter_mut().find(|t| &t.space == space && t.kind == kind) {
            Some(t) => t.allow_interim |= c.allow_interim,
            None => out.push(Target {
                space: space.clone(),
                kind,
                allow_interim: c.allow_interim,
            }),
        }
    }
    if out.is_empty() {
        return Err(Error::usage(format!(
            "policy `{}` neither tokenizes nor encrypts a `type: personnummer` column: it gives no identity number a token",
            policy.name
        )));
    }
    if let Some(space) = only {
        out.retain(|t| t.space == space);
        if out.is_empty() {
            let all = targets(policy, None)?;
            let mut names: Vec<&str> = all.iter().map(|t| t.space.as_str()).collect();
            names.dedup();
            return Err(Error::usage(format!(
                "`--space {space}`: policy `{}` uses no such space for identity numbers (its spaces for `type: personnummer` columns: {})",
                policy.name,
                names.join(", ")
            )));
        }
    }
    Ok(out)
}

/// The keyed construction of one target.
enum Keyed {
    Token(Tokenizer),
    Ciphertext(Box<Encryptor>),
}

/// Counts of one lookup (never a value).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LookupCounts {
    /// Identity numbers read (items).
    pub items: u64,
    /// Items that were valid and got tokens.
    pub found: u64,
    /// Items that were invalid.
    pub invalid: u64,
    /// Invalid items per reason code.
    pub invalid_by_reason: BTreeMap<&'static str, u64>,
    /// Output rows (header excluded).
    pub rows: u64,
    /// Whether the first line of `--from` was skipped as a header.
    pub header_skipped: bool,
}

/// A lookup keyed for one policy's identity-number spaces.
pub struct Lookup {
    targets: Vec<(Target, Keyed)>,
    reference: crate::ident::date::Date,
    key_ids: BTreeMap<String, String>,
}

impl std::fmt::Debug for Lookup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Lookup")
            .field("key_ids", &self.key_ids)
            .finish_non_exhaustive()
    }
}

impl Lookup {
    /// Keys the lookup: the policy's domain, its identity-number spaces (or `only`).
    ///
    /// # Errors
    /// As [`targets`].
    pub fn new(policy: &Policy, key: MasterKey, only: Option<&str>) -> Result<Lookup> {
        let targets = targets(policy, only)?;
        let ring = KeyRing::new(key, policy.domain.clone());
        let mut key_ids = BTreeMap::new();
        let keyed = targets
            .into_iter()
            .map(|t| {
                ring.record_key_ids(&mut key_ids, &t.space, t.kind == Kind::Ciphertext);
                let k = match t.kind {
                    Kind::Token => Keyed::Token(ring.tokenizer(&t.space)),
                    Kind::Ciphertext => Keyed::Ciphertext(Box::new(ring.encryptor(&t.space))),
                };
                (t, k)
            })
            .collect();
        Ok(Lookup {
            targets: keyed,
            reference: policy.reference_date,
            key_ids,
        })
    }

    /// `purpose/space` → key id, for every key the lookup uses.
    pub fn key_ids(&self) -> &BTreeMap<String, String> {
        &self.key_ids
    }

    /// The targets, in output order.
    pub fn targets(&self) -> impl Iterator<Item = &Target> {
        self.targets.iter().map(|(t, _)| t)
    }

    /// Appends the rows of one item (its 1-based position and the text given) to `out`.
    pub fn item(&self, value: &str, out: &mut Vec<u8>, counts: &mut LookupCounts) {
        counts.items += 1;
        let item = counts.items;
        let parsed = if value.trim().is_empty() {
            Err(InvalidReason::Missing)
        } else {
            let opts = ParseOptions {
                reference: self.reference,
                allow_interim: true,
            };
            Pnr::parse(value, &opts)
        };
        let pnr = parsed.and_then(|p| {
            let interim = p.kind() == PnrKind::Interim;
            if interim && !self.targets.iter().any(|(t, _)| t.allow_interim) {
                Err(InvalidReason::Interim)
            } else {
                Ok(p)
            }
        });
        let pnr = match pnr {
            Ok(p) => p,
            Err(reason) => {
                counts.invalid += 1;
                *counts.invalid_by_reason.entry(reason.code()).or_insert(0) += 1;
                counts.rows += 1;
                out.extend_from_slice(format!("{item},,,{}\n", reason.code()).as_bytes());
                return;
            }
        };
        counts.found += 1;
        let interim = pnr.kind() == PnrKind::Interim;
        let mut scratch = Vec::new();
        let mut text = String::new();
        for (t, k) in &self.targets {
            if interim && !t.allow_interim {
                continue;
            }
            out.extend_from_slice(format!("{item},{},", csv_safe_field(&t.space)).as_bytes());
            match k {
                Keyed::Token(tok) => out.extend_from_slice(&tok.token_hex(pnr.canonical())),
                Keyed::Ciphertext(enc) => {
                    text.clear();
                    enc.encrypt_into(pnr.canonical(), &mut scratch, &mut text);
                    out.extend_from_slice(text.as_bytes());
                }
            }
            out.extend_from_slice(b",\n");
            counts.rows += 1;
        }
        // The canonical number passed through the scratch buffer: wipe it.
        use zeroize::Zeroize;
        scratch.zeroize();
    }

    /// The output CSV (header included) of the numbers given on the command line.
    pub fn values(&self, values: &[String], counts: &mut LookupCounts) -> Vec<u8> {
        let mut out = HEADER.as_bytes().to_vec();
        for v in values {
            self.item(v, &mut out, counts);
        }
        out
    }

    /// The output CSV (header included) of the numbers in `reader` (see the module docs):
    /// one per line, the first field up to `delimiter`.
    ///
    /// # Errors
    /// `Io` when `path` cannot be read, `Malformed` for a line over [`MAX_LINE_BYTES`].
    pub fn reader(
        &self,
        mut reader: impl BufRead,
        path: &Path,
        delimiter: u8,
        counts: &mut LookupCounts,
    ) -> Result<Vec<u8>> {
        let mut out = HEADER.as_bytes().to_vec();
        let mut line = zeroize::Zeroizing::new(Vec::new());
        let mut line_no = 0u64;
        loop {
            line.clear();
            let n = reader
                .by_ref()
                .take(MAX_LINE_BYTES as u64 + 1)
                .read_until(b'\n', &mut line)
                .map_err(|e| Error::io(path, e))?;
            if n == 0 {
                break;
            }
            line_no += 1;
            if line.last() == Some(&b'\n') {
                line.pop();
            } else if line.len() > MAX_LINE_BYTES {
                return Err(Error::malformed(
                    Location::file(path).with_row(line_no),
                    format!("a line longer than {MAX_LINE_BYTES} bytes"),
                ));
            }
            if line.last() == Some(&b'\r') {
                line.pop();
            }
            let mut bytes: &[u8] = &line;
            if line_no == 1 {
                bytes = bytes.strip_prefix(b"\xef\xbb\xbf").unwrap_or(bytes);
            }
            let field = first_field(bytes, delimiter);
            // Not UTF-8: no identity number (reported as `format` by the parser).
            let field = std::str::from_utf8(field).unwrap_or("\u{fffd}");
            if line_no == 1 && is_header(field, self.reference) {
                counts.header_skipped = true;
                continue;
            }
            self.item(field, &mut out, counts);
        }
        Ok(out)
    }
}

/// The first field of a record: up to the first `delimiter`, trimmed, surrounding double
/// quotes removed.
fn first_field(line: &[u8], delimiter: u8) -> &[u8] {
    let end = line
        .iter()
        .position(|b| *b == delimiter)
        .unwrap_or(line.len());
    let f = line[..end].trim_ascii();
    let f = match f {
        [b'"', inner @ .., b'"'] => inner,
        _ => f,
    };
    f.trim_ascii()
}

/// Whether a first line's first field is a header: not an identity number, not empty, and
/// without a single digit.
fn is_header(field: &str, reference: crate::ident::date::Date) -> bool {
    let opts = ParseOptions {
        reference,
        allow_interim: true,
    };
    !field.trim().is_empty()
        && !field.bytes().any(|b| b.is_ascii_digit())
        && Pnr::parse(field, &opts).is_err()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(columns: &str) -> Policy {
        crate::policy::from_str(
            &format!(
                "version: 1\nname: t\ndomain: d\nreference_date: 2026-01-01\ncolumns:\n{columns}"
            ),
            Path::new("t.yaml"),
        )
        .unwrap()
    }

    fn key() -> MasterKey {
        MasterKey::from_bytes([7; 32])
    }

    #[test]
    fn targets_follow_the_policy_and_space() {
        let p = policy(
            "  a: { type: personnummer, action: tokenize, space: person }\n  b: { type: personnummer, action: tokenize, space: person, nullable: true }\n  c: { type: personnummer, action: encrypt, space: sealed, allow_interim: true }\n  d: { action: tokenize, space: other }\n",
        );
        let t = targets(&p, None).unwrap();
        assert_eq!(t.len(), 2);
        assert_eq!((t[0].space.as_str(), t[0].kind), ("person", Kind::Token));
        assert_eq!(
            (t[1].space.as_str(), t[1].kind),
            ("sealed", Kind::Ciphertext)
        );
        assert!(t[1].allow_interim && !t[0].allow_interim);
        assert_eq!(targets(&p, Some("sealed")).unwrap().len(), 1);
        // A space used only for other columns is no identity-number space.
        let e = targets(&p, Some("other")).unwrap_err();
        assert_eq!(e.category().exit_code(), 2);
        let none = policy("  a: keep\n");
        assert_eq!(targets(&none, None).unwrap_err().category().exit_code(), 2);
    }

    #[test]
    fn spellings_give_one_token_and_invalid_numbers_a_reason() {
        let p = policy("  a: { type: personnummer, action: tokenize, space: person }\n");
        let l = Lookup::new(&p, key(), None).unwrap();
        let mut c = LookupCounts::default();
        let out = l.values(
            &[
                "194608239986".into(),
                "460823-9986".into(),
                "19460823-9985".into(),
                String::new(),
            ],
            &mut c,
        );
        let text = String::from_utf8(out).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        let token = KeyRing::new(key(), "d")
            .tokenizer("person")
            .token(b"194608239986");
        assert_eq!(lines[0], "item,space,token,reason");
        assert_eq!(lines[1], format!("1,person,{token},"));
        assert_eq!(lines[2], format!("2,person,{token},"));
        assert_eq!(lines[3], "3,,,checksum");
        assert_eq!(lines[4], "4,,,missing");
        assert_eq!((c.items, c.found, c.invalid, c.rows), (4, 2, 2, 4));
        assert!(!text.contains("9986"));
    }

    #[test]
    fn from_lines_header_and_first_field() {
        let p = policy("  a: { type: personnummer, action: encrypt, space: s }\n");
        let l = Lookup::new(&p, key(), None).unwrap();
        let enc = KeyRing::new(key(), "d").encryptor("s");
        let ct = enc.encrypt(b"194608239986");
        for (input, header) in [
            (
                "\u{feff}personnummer,name\r\n\"19460823-9986\",x\r\n\r\n",
                true,
            ),
            ("pnr1\n194608239986\n\n", false),
        ] {
            let mut c = LookupCounts::default();
            let out = l
                .reader(input.as_bytes(), Path::new("f"), b',', &mut c)
                .unwrap();
            let text = String::from_utf8(out).unwrap();
            let lines: Vec<&str> = text.lines().collect();
            assert_eq!(c.header_skipped, header, "{text}");
            if header {
                assert_eq!(lines[1], format!("1,s,{ct},"));
                assert_eq!(lines[2], "2,,,missing");
            } else {
                assert_eq!(lines[1], "1,,,format");
                assert_eq!(lines[2], format!("2,s,{ct},"));
                assert_eq!(lines[3], "3,,,missing");
            }
        }
    }
}

//! The leak scan proper: every cell of the extract searched for needles (whole cells, digit
//! runs, email-like words, words of free text), and fingerprint hits confirmed byte for byte
//! against the input.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;

use crate::error::Result;
use crate::ident;
use crate::io::ReadOptions;
use crate::policy::Policy;

use super::*;

/// A hit on a text needle: it holds only by fingerprint until the confirmation pass has
/// compared the bytes (`range`, in [`Scratch::hit_bytes`]) with the input's.
#[derive(Debug, Clone)]
pub(super) struct TextHit {
    pub(super) kind: Kind,
    pub(super) fingerprint: u64,
    range: std::ops::Range<usize>,
}

/// Buffers reused from cell to cell, so scanning a cell allocates nothing once warm.
#[derive(Debug, Default)]
pub(super) struct Scratch {
    pub(super) lower: String,
    pub(super) phone: String,
    pub(super) pair: Vec<u8>,
    pub(super) hits: Vec<TextHit>,
    hit_bytes: Vec<u8>,
}

/// `s` trimmed and lowercased into `out` (cleared first).
pub(super) fn lower_into(s: &str, out: &mut String) {
    out.clear();
    for c in s.trim().chars() {
        out.extend(c.to_lowercase());
    }
}

/// The words of lowercased text (runs of letters and digits).
pub(super) fn words(s: &str) -> impl Iterator<Item = &str> {
    s.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
}

/// A string of ASCII digits as a number (at most 18 digits).
pub(super) fn digits_value(d: &[u8]) -> u64 {
    d.iter()
        .fold(0u64, |acc, &c| acc * 10 + u64::from(c - b'0'))
}

/// Characters a number may be written with between its digits.
const NUMBER_SEPARATORS: &[u8] = b" -+()/._:";

/// Whether `w` is a minex token: exactly 32 lowercase hex characters.
pub(super) fn is_token(w: &[u8]) -> bool {
    w.len() == 32
        && w.iter()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(b))
}

impl Needles {
    /// Scans one cell. Returns the kinds (as bits) found exactly; hits on text needles,
    /// still to be confirmed, are left in `s.hits`.
    pub(super) fn scan(&self, cell: &str, free_text: bool, s: &mut Scratch) -> u8 {
        s.hits.clear();
        s.hit_bytes.clear();
        let mut exact = 0u8;
        let cell = cell.trim();
        // The whole cell (text, email, interim numbers), but never a single name word.
        lower_into(cell, &mut s.lower);
        let not_word = !Kind::Word.bit();
        self.text_hit(s.lower.as_bytes(), not_word, &mut s.hits, &mut s.hit_bytes);

        // Numbers: runs of digits and separators, glued to letters or not, outside tokens.
        let b = cell.as_bytes();
        let mut i = 0;
        while i < b.len() {
            let c = b[i];
            if c.is_ascii_alphanumeric() && (i == 0 || !b[i - 1].is_ascii_alphanumeric()) {
                let end = i + b[i..]
                    .iter()
                    .position(|x| !x.is_ascii_alphanumeric())
                    .unwrap_or(b.len() - i);
                // A digit run inside a token is not a number someone wrote.
                if is_token(&b[i..end]) {
                    i = end;
                    continue;
                }
            }
            let starts = c.is_ascii_digit()
                || (c == b'+'
                    && b.get(i + 1)
                        .is_some_and(|x| x.is_ascii_digit() || *x == b'('));
            if !starts {
                i += 1;
                continue;
            }
            let start = i;
            i += 1;
            while i < b.len() && (b[i].is_ascii_digit() || NUMBER_SEPARATORS.contains(&b[i])) {
                i += 1;
            }
            while i > start + 1 && !b[i - 1].is_ascii_digit() {
                i -= 1;
            }
            let run = &cell[start..i];
            exact |= self.number_hits(run, &mut s.phone);
            if run.contains(' ') {
                for part in run.split(' ') {
                    if part.len() < run.len() {
                        exact |= self.number_hits(part, &mut s.phone);
                    }
                }
            }
        }

        // Email-like words, canonicalized as the input's emails were.
        if cell.contains('@') {
            for w in cell.split(|c: char| c.is_whitespace() || ",;:<>()[]\"'".contains(c)) {
                let w = w.trim_end_matches('.');
                if w.contains('@') {
                    s.phone.clear();
                    if ident::email::canonicalize(w, &mut s.phone).is_ok() {
                        self.text_hit(
                            s.phone.as_bytes(),
                            Kind::Email.bit(),
                            &mut s.hits,
                            &mut s.hit_bytes,
                        );
                    }
                }
            }
        }

        // Free text: pairs of words (street and number) and single name words.
        if free_text {
            let mut prev: Option<&str> = None;
            for w in words(&s.lower) {
                if let Some(p) = prev {
                    s.pair.clear();
                    s.pair.extend_from_slice(p.as_bytes());
                    s.pair.push(b' ');
                    s.pair.extend_from_slice(w.as_bytes());
                    self.text_hit(&s.pair, not_word, &mut s.hits, &mut s.hit_bytes);
                }
                self.text_hit(
                    w.as_bytes(),
                    Kind::Word.bit(),
                    &mut s.hits,
                    &mut s.hit_bytes,
                );
                prev = Some(w);
            }
        }
        exact
    }

    /// Records the text needles of the kinds in `mask` that `bytes` hits by fingerprint.
    fn text_hit(&self, bytes: &[u8], mask: u8, hits: &mut Vec<TextHit>, store: &mut Vec<u8>) {
        let hash = h(bytes);
        let bits = self.text.kinds(hash) & mask;
        if bits == 0 {
            return;
        }
        let start = store.len();
        store.extend_from_slice(bytes);
        for k in KINDS {
            if bits & k.bit() != 0 {
                hits.push(TextHit {
                    kind: k,
                    fingerprint: (hash & !7) | k as u64,
                    range: start..store.len(),
                });
            }
        }
    }

    /// The kinds (as bits) of the number needles `run` (digits and separators) spells.
    fn number_hits(&self, run: &str, phone: &mut String) -> u8 {
        let mut d = [0u8; 20];
        let mut n = 0;
        for &c in run.as_bytes() {
            if c.is_ascii_digit() {
                if n < d.len() {
                    d[n] = c;
                }
                n += 1;
            }
        }
        if !(8..=d.len()).contains(&n) {
            return 0;
        }
        let d = &d[..n];
        let mut bits = 0;
        // Identity numbers: 12 digits, or 10 in any century.
        let pnr = match n {
            12 => self.numbers.contains(number(Kind::Pnr, digits_value(d))),
            10 => (18..=20).any(|cc| {
                self.numbers
                    .contains(number(Kind::Pnr, cc * 10_000_000_000 + digits_value(d)))
            }),
            _ => false,
        };
        if pnr {
            bits |= Kind::Pnr.bit();
        }
        // Phones: any spelling the phone rules accept (`070-…`, `+46 (0)70 …`, `0046…`),
        // and bare E.164 digits.
        phone.clear();
        let e164 = if ident::phone::canonicalize(run, phone).is_ok() {
            Some(digits_value(&phone.as_bytes()[1..]))
        } else if d[0] != b'0' && n <= 15 {
            Some(digits_value(d))
        } else {
            None
        };
        if e164.is_some_and(|v| self.numbers.contains(number(Kind::Phone, v))) {
            bits |= Kind::Phone.bit();
        }
        bits
    }
}

/// Counts one cell's hits (exact kinds as bits, fingerprint hits in `s.hits`).
pub(super) fn record_hits(
    leaks: &mut BTreeMap<(String, Kind), Leak>,
    column: &str,
    exact: u8,
    s: &Scratch,
) {
    for k in KINDS {
        let fp_hits = || s.hits.iter().filter(move |x| x.kind == k);
        if exact & k.bit() == 0 && fp_hits().next().is_none() {
            continue;
        }
        let leak = leaks.entry((column.to_string(), k)).or_default();
        leak.cells += 1;
        if exact & k.bit() != 0 {
            leak.confirmed = true;
        }
        if leak.confirmed {
            leak.samples.clear();
            continue;
        }
        for x in fp_hits() {
            let bytes = &s.hit_bytes[x.range.clone()];
            if leak.samples.len() < SAMPLES
                && !leak
                    .samples
                    .iter()
                    .any(|(fp, b)| *fp == x.fingerprint && **b == *bytes)
            {
                leak.samples.push((x.fingerprint, bytes.into()));
            }
        }
    }
}

/// The leaks found in one extract column, of one kind.
#[derive(Debug, Default)]
pub(super) struct Leak {
    /// Cells that hit (exactly or by fingerprint).
    pub(super) cells: u64,
    /// Whether a hit was exact (a number) or has been confirmed byte for byte.
    pub(super) confirmed: bool,
    /// Up to [`SAMPLES`] distinct fingerprint hits to confirm: fingerprint and bytes.
    pub(super) samples: Vec<(u64, Box<[u8]>)>,
}

/// How many fingerprint hits per column and kind the confirmation pass compares.
const SAMPLES: usize = 8;

/// Confirms fingerprint hits by reading the inputs' needles again and comparing bytes: a
/// 64-bit collision must not fail an extract. Returns how many leaks were dismissed.
pub(super) fn confirm_leaks<K: Ord>(
    leaks: &mut std::collections::BTreeMap<K, Leak>,
    policy: &Policy,
    inputs: &[PathBuf],
    read: &ReadOptions,
) -> Result<usize> {
    #[allow(clippy::type_complexity)]
    let mut wanted: HashMap<u64, Vec<(Box<[u8]>, bool)>> = HashMap::new();
    for l in leaks.values().filter(|l| !l.confirmed) {
        for (fp, b) in &l.samples {
            let e = wanted.entry(*fp).or_default();
            if !e.iter().any(|(x, _)| x == b) {
                e.push((b.clone(), false));
            }
        }
    }
    if wanted.is_empty() {
        return Ok(0);
    }
    each_needle(policy, inputs, read, &mut |n| {
        if let Needle::Text(k, b) = n
            && let Some(c) = wanted.get_mut(&fingerprint(k, b))
        {
            for (x, seen) in c.iter_mut() {
                *seen |= **x == *b;
            }
        }
    })?;
    let before = leaks.len();
    leaks.retain(|_, l| {
        l.confirmed
            || l.samples.iter().any(|(fp, b)| {
                wanted
                    .get(fp)
                    .is_some_and(|c| c.iter().any(|(x, seen)| *seen && x == b))
            })
    });
    Ok(before - leaks.len())
}

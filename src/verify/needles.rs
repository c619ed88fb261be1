//! The needles of the leak scan: what the input's protected values look like (identity
//! numbers and phones as numbers, the rest as 64-bit fingerprints), collected into sorted
//! sets.

use std::hash::Hasher;
use std::path::PathBuf;

use crate::error::Result;
use crate::ident::personnummer::{ParseOptions, Pnr};
use crate::ident::{self, detect};
use crate::io::{Input, ReadOptions};
use crate::policy::{Action, Policy, ValueType};

use super::*;

/// The kinds of needle, in the order a report lists them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(super) enum Kind {
    Pnr = 0,
    Email = 1,
    Phone = 2,
    Text = 3,
    Address = 4,
    Word = 5,
}

pub(super) const KINDS: [Kind; 6] = [
    Kind::Pnr,
    Kind::Email,
    Kind::Phone,
    Kind::Text,
    Kind::Address,
    Kind::Word,
];

impl Kind {
    pub(super) fn describe(self) -> &'static str {
        match self {
            Kind::Pnr => "an identity number",
            Kind::Email => "an email address",
            Kind::Phone => "a phone number",
            Kind::Text => "a text value (address or note)",
            Kind::Address => "a street address",
            Kind::Word => "a name",
        }
    }

    pub(super) fn bit(self) -> u8 {
        1 << self as u8
    }
}

/// One needle as the input gives it: an exact number (identity numbers of 12 digits and
/// phones as E.164 digits fit in 50 bits) or the bytes of a text needle.
#[derive(Debug, Clone, Copy)]
pub(super) enum Needle<'a> {
    Number(Kind, u64),
    Text(Kind, &'a [u8]),
}

/// The 64-bit fingerprint of bytes (SipHash with fixed keys: the same in every process).
pub(super) fn h(s: &[u8]) -> u64 {
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    hasher.write(s);
    hasher.finish()
}

/// A text needle's fingerprint: the hash with the kind in its low 3 bits.
pub(super) fn fingerprint(kind: Kind, bytes: &[u8]) -> u64 {
    (h(bytes) & !7) | kind as u64
}

/// A number needle: the kind above bit 56, the value (below 10^15) beneath it, mixed by a
/// bijection (the SplitMix64 finalizer) so the set's members spread evenly over its index
/// while staying exact: two numbers never share a member.
pub(super) fn number(kind: Kind, value: u64) -> u64 {
    let mut z = ((kind as u64) << 56) | value;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// A set of evenly spread `u64`, sorted and deduplicated: 8 bytes a member. While it is
/// built, a full vector is compacted (sorted, deduplicated) before it may grow, so repeated
/// values (first names, cities) never cost more than one slot each for long. Once finished,
/// an index of where each prefix of the top bits starts (about 4 members a prefix, 1 byte a
/// member) narrows a look-up to a few neighbouring members instead of a binary search over
/// all of them (which would cost a cache miss a step).
#[derive(Debug, Default)]
pub(super) struct SortedSet {
    pub(super) v: Vec<u64>,
    /// `index[p]..index[p + 1]`: the members whose top `bits` bits are `p`.
    index: Vec<u32>,
    pub(super) bits: u32,
}

impl SortedSet {
    pub(super) fn insert(&mut self, x: u64) {
        if self.v.len() == self.v.capacity() && self.v.len() >= 1024 {
            self.v.sort_unstable();
            self.v.dedup();
        }
        self.v.push(x);
    }

    pub(super) fn finish(&mut self) {
        self.v.sort_unstable();
        self.v.dedup();
        self.v.shrink_to_fit();
        self.bits = (self.v.len() / 4).max(1).ilog2().min(24);
        let buckets = 1usize << self.bits;
        let mut index = Vec::with_capacity(buckets + 1);
        let mut at = 0usize;
        for p in 0..buckets {
            while at < self.v.len() && self.prefix(self.v[at]) < p {
                at += 1;
            }
            index.push(u32::try_from(at).unwrap_or(u32::MAX));
        }
        index.push(u32::try_from(self.v.len()).unwrap_or(u32::MAX));
        self.index = index;
    }

    fn prefix(&self, x: u64) -> usize {
        if self.bits == 0 {
            0
        } else {
            usize::try_from(x >> (64 - self.bits)).unwrap_or(usize::MAX)
        }
    }

    /// The members that share `x`'s prefix (all of them before [`SortedSet::finish`]).
    fn bucket(&self, x: u64) -> &[u64] {
        if self.index.is_empty() {
            return &self.v;
        }
        let p = self.prefix(x);
        &self.v[self.index[p] as usize..self.index[p + 1] as usize]
    }

    pub(super) fn len(&self) -> usize {
        self.v.len()
    }

    pub(super) fn contains(&self, x: u64) -> bool {
        self.bucket(x).binary_search(&x).is_ok()
    }

    /// The kinds (as bits) of the text needles whose hash is `hash`.
    pub(super) fn kinds(&self, hash: u64) -> u8 {
        let lo = hash & !7;
        let b = self.bucket(lo);
        let start = b.partition_point(|&x| x < lo);
        let mut bits = 0u8;
        for &x in &b[start..] {
            if x & !7 != lo {
                break;
            }
            bits |= 1 << (x & 7);
        }
        bits
    }
}

/// How a policy column feeds the leak scan.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    /// Dropped, tokenized or encrypted: every value is a needle (numbers, contacts, text,
    /// names).
    Protected,
    /// Kept, truncated or replaced, of an identifier type: the full values are needles of
    /// that kind only (a `truncate` that keeps them whole is a leak).
    Identifier(detect::DetectedKind),
    /// Kept, truncated or replaced, untyped: an identifier column when detection says so.
    MaybeIdentifier,
}

fn role(c: &crate::policy::ColumnSpec) -> Option<Role> {
    match c.action {
        Action::Drop | Action::Tokenize { .. } | Action::Encrypt { .. } => Some(Role::Protected),
        Action::Keep | Action::Truncate { .. } | Action::Replace { .. } => match c.value_type {
            ValueType::Personnummer => Some(Role::Identifier(detect::DetectedKind::Personnummer)),
            ValueType::Email => Some(Role::Identifier(detect::DetectedKind::Email)),
            ValueType::Phone => Some(Role::Identifier(detect::DetectedKind::Phone)),
            ValueType::String => Some(Role::MaybeIdentifier),
            _ => None,
        },
        Action::Generalize(_) | Action::Null => None,
    }
}

/// Emits the needles of an identity number.
fn pnr_needles(p: &Pnr, emit: &mut dyn FnMut(Needle<'_>)) {
    let c = p.canonical();
    if c.iter().all(u8::is_ascii_digit) {
        emit(Needle::Number(Kind::Pnr, digits_value(c)));
    } else {
        // Interim numbers hold a letter: matched as whole cells, in either length.
        let l = c.to_ascii_lowercase();
        emit(Needle::Text(Kind::Pnr, &l));
        emit(Needle::Text(Kind::Pnr, &l[2..]));
    }
}

/// Emits a phone's needle when `v` is a phone number.
fn phone_needle(v: &str, buf: &mut String, emit: &mut dyn FnMut(Needle<'_>)) -> bool {
    buf.clear();
    if ident::phone::canonicalize(v, buf).is_ok() {
        emit(Needle::Number(
            Kind::Phone,
            digits_value(&buf.as_bytes()[1..]),
        ));
        true
    } else {
        false
    }
}

/// Reads the inputs' scanned columns and emits every needle (repeats included); returns how
/// many policy columns gave needles. Run once to build [`Needles`] and, when text needles
/// were hit, once more to confirm those hits byte for byte.
pub(super) fn each_needle(
    policy: &Policy,
    inputs: &[PathBuf],
    read: &ReadOptions,
    emit: &mut dyn FnMut(Needle<'_>),
) -> Result<usize> {
    let roles: Vec<(String, Role)> = policy
        .columns
        .iter()
        .filter_map(|c| role(c).map(|r| (c.name.clone(), r)))
        .collect();
    let mut used = vec![false; roles.len()];
    let opts = ParseOptions {
        reference: policy.reference_date,
        allow_interim: true,
    };
    let mut bufs = Buffers::default();
    for path in inputs {
        let input = Input::open(path, read)?;
        let present: Vec<usize> = (0..roles.len())
            .filter(|&i| input.header.contains(&roles[i].0))
            .collect();
        if present.is_empty() {
            continue;
        }
        let names: Vec<String> = present.iter().map(|&i| roles[i].0.clone()).collect();
        let mut r = input.batches(&names, read)?;
        // Per present column, decided on its first batch: the role, and the detected kind.
        let mut decided: Vec<Option<(Role, Option<detect::DetectedKind>)>> =
            vec![None; present.len()];
        while let Some((_, b)) = r.next_batch()? {
            for (ci, &ri) in present.iter().enumerate() {
                let Some(t) = render(b.column(ci)) else {
                    continue;
                };
                let (role, kind) = *decided[ci]
                    .get_or_insert_with(|| decide(policy, &roles[ri].0, roles[ri].1, &t));
                if role == Role::MaybeIdentifier {
                    // Not an identifier column: its values are not needles.
                    continue;
                }
                used[ri] = true;
                for v in t.iter().flatten() {
                    let v = v.trim();
                    if v.is_empty() {
                        continue;
                    }
                    value_needles(v, role, kind, &opts, &mut bufs, emit);
                }
            }
        }
    }
    Ok(used.iter().filter(|u| **u).count())
}

/// Reused buffers for [`value_needles`].
#[derive(Default)]
struct Buffers {
    buf: String,
    lower: String,
    pair: Vec<u8>,
}

/// The role of an input column that `policy` declares `declared`, decided on its first batch
/// `column`, and the kind of values detected in it.
fn decide(
    policy: &Policy,
    name: &str,
    declared: Role,
    column: &StringArray,
) -> (Role, Option<detect::DetectedKind>) {
    let d = detect::detect(column.iter().take(1000), policy.reference_date);
    let typed = policy.column(name).map(|c| c.value_type);
    match declared {
        Role::Protected => (
            Role::Protected,
            match typed {
                Some(ValueType::Personnummer) => Some(detect::DetectedKind::Personnummer),
                Some(ValueType::Email) => Some(detect::DetectedKind::Email),
                Some(ValueType::Phone) => Some(detect::DetectedKind::Phone),
                _ if d.share >= 0.5 => d.kind.or(d.scores.first().map(|s| s.0)),
                _ => None,
            },
        ),
        Role::Identifier(k) => (Role::Identifier(k), Some(k)),
        Role::MaybeIdentifier => match d.kind {
            Some(
                k @ (detect::DetectedKind::Personnummer
                | detect::DetectedKind::Email
                | detect::DetectedKind::Phone),
            ) => (Role::Identifier(k), Some(k)),
            _ => (Role::MaybeIdentifier, None),
        },
    }
}

/// Emits the needles of one trimmed, non-empty value `v` of a column of `role` and detected
/// `kind`.
fn value_needles(
    v: &str,
    role: Role,
    kind: Option<detect::DetectedKind>,
    opts: &ParseOptions,
    bufs: &mut Buffers,
    emit: &mut dyn FnMut(Needle<'_>),
) {
    if let Role::Identifier(k) = role {
        match k {
            detect::DetectedKind::Personnummer => {
                if let Ok(p) = Pnr::parse(v, opts) {
                    pnr_needles(&p, emit);
                }
            }
            detect::DetectedKind::Email => {
                bufs.buf.clear();
                if ident::email::canonicalize(v, &mut bufs.buf).is_ok() {
                    emit(Needle::Text(Kind::Email, bufs.buf.as_bytes()));
                }
            }
            _ => {
                phone_needle(v, &mut bufs.buf, emit);
            }
        }
        return;
    }
    // Shape-based needles, whatever the column's kind.
    if let Ok(p) = Pnr::parse(v, opts) {
        pnr_needles(&p, emit);
        return;
    }
    if v.contains('@') {
        bufs.buf.clear();
        if ident::email::canonicalize(v, &mut bufs.buf).is_ok() {
            emit(Needle::Text(Kind::Email, bufs.buf.as_bytes()));
            return;
        }
    }
    if kind == Some(detect::DetectedKind::Phone) && phone_needle(v, &mut bufs.buf, emit) {
        return;
    }
    if matches!(
        kind,
        Some(detect::DetectedKind::Date | detect::DetectedKind::PostalCode)
    ) {
        return;
    }
    lower_into(v, &mut bufs.lower);
    if bufs.lower.chars().count() >= 12 && bufs.lower.contains(' ') {
        emit(Needle::Text(Kind::Text, bufs.lower.as_bytes()));
    }
    let mut w = words(&bufs.lower);
    let (w0, w1, w2, w3) = (w.next(), w.next(), w.next(), w.next());
    match (w0, w1) {
        (Some(a), Some(b))
            if b.starts_with(|c: char| c.is_ascii_digit()) && a.chars().count() >= 4 =>
        {
            bufs.pair.clear();
            bufs.pair.extend_from_slice(a.as_bytes());
            bufs.pair.push(b' ');
            bufs.pair.extend_from_slice(b.as_bytes());
            emit(Needle::Text(Kind::Address, &bufs.pair));
        }
        _ if w3.is_none() => {
            for w in [w0, w1, w2].into_iter().flatten() {
                if w.chars().count() >= 4 && w.chars().all(char::is_alphabetic) {
                    emit(Needle::Text(Kind::Word, w.as_bytes()));
                }
            }
        }
        _ => {}
    }
}

/// The leak scan's needles: exact numbers and 64-bit fingerprints of text, each in one
/// sorted vector (8 bytes a distinct needle).
#[derive(Debug, Default)]
pub(super) struct Needles {
    /// Identity numbers and phones, exactly ([`number`]).
    pub(super) numbers: SortedSet,
    /// Emails, text, addresses, interim numbers and name words ([`fingerprint`]).
    pub(super) text: SortedSet,
    /// How many input columns gave needles.
    pub(super) columns: usize,
}

impl Needles {
    pub(super) fn len(&self) -> usize {
        self.numbers.len() + self.text.len()
    }

    pub(super) fn add(&mut self, n: Needle<'_>) {
        match n {
            Needle::Number(k, v) => self.numbers.insert(number(k, v)),
            Needle::Text(k, b) => self.text.insert(fingerprint(k, b)),
        }
    }

    pub(super) fn build(
        policy: &Policy,
        inputs: &[PathBuf],
        read: &ReadOptions,
    ) -> Result<Needles> {
        let mut n = Needles::default();
        let columns = each_needle(policy, inputs, read, &mut |x| n.add(x))?;
        n.columns = columns;
        n.numbers.finish();
        n.text.finish();
        Ok(n)
    }
}

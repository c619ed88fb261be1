//! `minex affected` (issue 14): breach response. Which residents of the register appear in
//! leaked extract files?
//!
//! # What is matched
//! The register is read through the policy exactly as `minex run` reads it (the same header
//! checks, the same canonicalization with [`canonicalize_with`]). For every `type:
//! personnummer` column the policy tokenizes or encrypts (a guardian column included), every
//! valid identity number gets its token (or ciphertext) in that column's space: one entry per
//! person and `(kind, space)`, in a hash map from the token's 16 bytes (a ciphertext's 40
//! bytes) to the person. Invalid numbers have no token and are skipped, whatever the column's
//! `on_invalid` says: `affected` looks for people, it does not validate the register.
//!
//! The leaked files are then streamed (Parquet batch by batch, CSV record by record with the
//! csv crate: a leaked CSV may have any header, or none, so its first record is data too, and
//! the delimiter is guessed from the first line). Every string or binary cell of every column
//! (nested ones included) is scanned for **runs of exactly 32 hex digits** (a token, compared
//! case-insensitively) and **runs of exactly 54 base64url characters** (a ciphertext), so a
//! token still matches inside a longer cell (`"id:<token>"`, a JSON blob, a CSV read with the
//! wrong delimiter). A binary cell of 16 (40) bytes is compared as a raw token (ciphertext).
//!
//! # The result
//! One CSV row per affected person, sorted by identity number:
//! `personnummer,leaked_in,spaces,minor,protected_identity,coordination_number`.
//! * `leaked_in`: the leaked files (as given) holding the person's token, `;`-separated.
//! * `spaces`: where the matches were, `token/SPACE` or `encrypt/SPACE`, `;`-separated.
//! * `minor`: under 18 at the policy's `reference_date`. A samordningsnummer without a full
//!   birth date counts as a minor when the latest birth date it allows would make one (fail
//!   safe: such a person is treated with a minor's care).
//! * `protected_identity`: the policy's `rows.drop_when` rules, evaluated exactly as a run
//!   does (typed rules over canonical values), drop a register row that holds the person's
//!   number in one of the scanned columns. Such a row should never have reached an extract.
//!   A guardian whose number sits in a dropped row is flagged too (fail safe).
//! * `coordination_number`: the number is a samordningsnummer.
//!
//! # Unmatched tokens
//! `unmatched_tokens` counts the cells' 32-hex runs that match no register token, **in the
//! columns where at least one register token matched** (a column is one top-level column of
//! one leaked file): those columns are token columns, so their other tokens are people the
//! register does not know (moved away, from another municipality, or another domain's).
//! Hex runs elsewhere (checksums, identifiers of other systems) are not counted. The count is
//! of occurrences, not distinct tokens.
//!
//! # What never leaves
//! Identity numbers are written only to the `--out` file (mode 0600, staged and renamed, never
//! over an existing file). [`AffectedSummary`], the terminal and the audit line hold counts,
//! paths and key ids, never a value or token.

use std::collections::{BTreeMap, HashMap};
use std::fs::File;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use arrow::array::{Array, AsArray, StringArray};
use arrow::datatypes::DataType;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use rayon::prelude::*;

use crate::audit::AuditEntry;
use crate::error::{Error, Location, Result};
use crate::ident::date::Date;
use crate::ident::personnummer::{ParseOptions, Pnr};
use crate::io::{Input, ReadOptions};
use crate::keys::{Encryptor, KeyRing, TOKEN_BYTES, Tokenizer};
use crate::pipeline::KeySource;
use crate::policy::{Action, ColumnSpec, Policy, ValueType};
use crate::transform::canonical::{as_utf8, canonicalize_with};

/// Bytes of a ciphertext of a canonical identity number: nonce (12), the 12 digits, tag (16).
pub const CIPHER_BYTES: usize = 12 + 12 + 16;
/// Length of such a ciphertext as base64url without padding.
pub const CIPHER_B64_LEN: usize = 54;
/// The most `(kind, space)` pairs a policy may scan (a bit each per person).
const MAX_SPACES: usize = 64;

/// Everything `minex affected` needs.
#[derive(Debug, Clone)]
pub struct AffectedConfig {
    /// The policy the extracts were made with (its domain, spaces, rules, reference date).
    pub policy: PathBuf,
    /// The register file(s), sharing one header, read as `minex run` reads its inputs.
    pub registers: Vec<PathBuf>,
    /// The leaked files (CSV or Parquet; Parquet is recognised by its magic bytes).
    pub leaked: Vec<PathBuf>,
    /// The notification list to write (CSV, mode 0600). Must not exist.
    pub out: PathBuf,
    /// The master key.
    pub key: KeySource,
    /// The audit log (see [`crate::audit::log_path`]).
    pub audit_log: PathBuf,
    /// How the register is read.
    pub read: ReadOptions,
}

/// What `minex affected` found: counts, paths and key ids only.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AffectedSummary {
    /// Distinct people of the register with a token (or ciphertext) in the leak.
    pub people_affected: u64,
    /// Per leaked file (as given), the distinct people found in it.
    pub per_file: Vec<(PathBuf, u64)>,
    /// Affected people under 18 at the policy's reference date.
    pub minors: u64,
    /// Affected people with a register row the policy's row rules drop.
    pub protected_identity: u64,
    /// Affected people identified by a samordningsnummer.
    pub coordination_numbers: u64,
    /// 32-hex runs that match no register token, in columns where some token matched.
    pub unmatched_tokens: u64,
    /// Distinct people (identity numbers) of the register that got tokens.
    pub register_people: u64,
    /// `purpose/space` → key id of every key used.
    pub key_ids: BTreeMap<String, String>,
}

/// Runs `minex affected`: writes the notification list to `cfg.out` and appends one line to
/// the audit log (outcome `ok`, or the error's category).
///
/// # Errors
/// `Usage` for an existing `--out`, an output that is an input, or a policy that tokenizes no
/// identity number; `Policy`, `Key`, `Io`, `Malformed` as `minex run` has them. The audit
/// line is appended on failure too (unless the audit log itself cannot be written).
pub fn affected(cfg: &AffectedConfig) -> Result<AffectedSummary> {
    // The audit log is appended to even when the command fails: it must never be a file
    // the command reads (a register, a leaked file), or that failure line would land in it.
    let mut not_the_log = reads_of(cfg);
    not_the_log.push(&cfg.out);
    crate::io::paths::check_no_collision(&not_the_log, &[&cfg.audit_log])?;
    let mut seen = Seen::default();
    let result = affected_inner(cfg, &mut seen);
    match result {
        Ok((summary, staged)) => {
            // The audit line first: no notification list without its trace in the log.
            let entry = audit_entry(cfg, &seen, Some(&summary), "ok");
            crate::audit::append(&cfg.audit_log, &entry)?;
            if let Err(e) = crate::io::output::commit(vec![staged], &[]) {
                let entry = audit_entry(cfg, &seen, None, &crate::audit::outcome(&e));
                let _ = crate::audit::append(&cfg.audit_log, &entry);
                return Err(e);
            }
            Ok(summary)
        }
        Err(e) => {
            let entry = audit_entry(cfg, &seen, None, &crate::audit::outcome(&e));
            crate::audit::append(&cfg.audit_log, &entry)?;
            Err(e)
        }
    }
}

/// Every file the command reads.
fn reads_of(cfg: &AffectedConfig) -> Vec<&Path> {
    let mut reads: Vec<&Path> = vec![&cfg.policy];
    reads.extend(cfg.registers.iter().map(PathBuf::as_path));
    reads.extend(cfg.leaked.iter().map(PathBuf::as_path));
    if let KeySource::Load(Some(k)) = &cfg.key {
        reads.push(k);
    }
    reads
}

/// What a command had learnt when it ended, for its audit line.
#[derive(Default)]
struct Seen {
    policy: Option<Policy>,
    key_ids: BTreeMap<String, String>,
}

fn audit_entry(
    cfg: &AffectedConfig,
    seen: &Seen,
    summary: Option<&AffectedSummary>,
    outcome: &str,
) -> AuditEntry {
    let output = cfg.out.display().to_string();
    let mut e = match &seen.policy {
        Some(p) => AuditEntry::new("affected", p, &output),
        None => AuditEntry {
            time: crate::report::rfc3339(std::time::SystemTime::now()),
            user: crate::audit::os_user(),
            command: "affected".into(),
            policy: String::new(),
            policy_sha256: String::new(),
            key_ids: BTreeMap::new(),
            items: BTreeMap::new(),
            output,
            outcome: String::new(),
        },
    };
    e.outcome = outcome.to_string();
    e.key_ids = seen.key_ids.clone();
    e.items
        .insert("leaked_files".into(), cfg.leaked.len() as u64);
    if let Some(s) = summary {
        e.items.insert("people_affected".into(), s.people_affected);
        e.items.insert("minors".into(), s.minors);
        e.items
            .insert("protected_identity".into(), s.protected_identity);
        e.items
            .insert("coordination_numbers".into(), s.coordination_numbers);
        e.items
            .insert("unmatched_tokens".into(), s.unmatched_tokens);
        e.items.insert("register_people".into(), s.register_people);
    }
    e
}

fn affected_inner(
    cfg: &AffectedConfig,
    seen: &mut Seen,
) -> Result<(AffectedSummary, crate::io::output::Staged)> {
    if cfg.registers.is_empty() {
        return Err(Error::usage(
            "`minex affected` needs at least one `--register FILE`",
        ));
    }
    if cfg.leaked.is_empty() {
        return Err(Error::usage(
            "`minex affected` needs at least one `--leaked FILE`",
        ));
    }
    crate::io::paths::check_no_collision(&reads_of(cfg), &[&cfg.out])?;
    if cfg.out.symlink_metadata().is_ok() {
        return Err(Error::usage(format!(
            "`--out` `{}` exists; minex affected never overwrites a file (it would hold identity numbers)",
            cfg.out.display()
        )));
    }
    let policy = crate::policy::from_file(&cfg.policy)?;
    seen.policy = Some(policy.clone());
    let mut read = cfg.read.clone();
    read.digest = false;
    let (plan, inputs, ring) =
        crate::pipeline::prepare_policy(&policy, &cfg.registers, &read, Some(&cfg.key))?;
    let scan = RegisterScan::new(&plan.policy, &plan.header)?;
    let ring = ring.ok_or_else(|| Error::internal("a key is needed but none was loaded"))?;
    let matchers = scan.matchers(&ring);
    let key_ids = scan.key_ids(&ring);
    seen.key_ids = key_ids.clone();
    tracing::info!(
        registers = inputs.len(),
        columns = scan.pnr_columns.len(),
        spaces = scan.spaces.len(),
        rules = scan.rules.len(),
        "affected: reading the register"
    );
    let index = scan.build_index(&inputs, &read, &matchers, plan.policy.reference_date)?;
    drop(matchers);
    tracing::info!(
        people = index.people.len(),
        tokens = index.tokens.len(),
        ciphertexts = index.ciphers.len(),
        "affected: register indexed"
    );
    let mut hits = Hits::new(cfg.leaked.len());
    for (fi, path) in cfg.leaked.iter().enumerate() {
        let file_index = u16::try_from(fi)
            .map_err(|_| Error::usage("`minex affected` reads at most 65,535 leaked files"))?;
        let mut counter = FileScan::new(&index, &mut hits, file_index);
        scan_leaked_file(path, &mut counter)?;
        let unmatched = counter.unmatched();
        hits.unmatched_tokens += unmatched;
        tracing::info!(
            leaked = %path.display(),
            people = hits.per_file[fi],
            unmatched_tokens = unmatched,
            "affected: leaked file scanned"
        );
    }
    let staged = crate::io::output::Staged::new(&cfg.out)?;
    let mut summary = write_list(
        &staged,
        &index,
        &hits,
        &cfg.leaked,
        &scan.spaces,
        &plan.policy,
    )?;
    summary.key_ids = key_ids;
    summary.register_people = index.people.len() as u64;
    summary.unmatched_tokens = hits.unmatched_tokens;
    summary.per_file = cfg
        .leaked
        .iter()
        .cloned()
        .zip(hits.per_file.iter().copied())
        .collect();
    Ok((summary, staged))
}

/// Tokenize or encrypt.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Kind {
    Token,
    Encrypt,
}

/// One `(kind, space)` whose values are matched.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Space {
    kind: Kind,
    space: String,
}

impl Space {
    /// `token/SPACE` or `encrypt/SPACE`.
    fn label(&self) -> String {
        match self.kind {
            Kind::Token => format!("token/{}", self.space),
            Kind::Encrypt => format!("encrypt/{}", self.space),
        }
    }
}

/// The keyed construction of one space.
enum Matcher {
    Token(Tokenizer),
    Encrypt(Box<Encryptor>),
}

/// What is read from the register: identity-number columns and row-rule columns.
struct RegisterScan<'p> {
    policy: &'p Policy,
    /// Column names read, in header order.
    read: Vec<String>,
    /// (spec, index in `read`, index in `spaces`).
    pnr_columns: Vec<(&'p ColumnSpec, usize, usize)>,
    spaces: Vec<Space>,
    /// Per rule: index in `read`, and the typed column's spec (`None` for a `string` rule).
    rules: Vec<(usize, Option<&'p ColumnSpec>)>,
}

impl<'p> RegisterScan<'p> {
    fn new(policy: &'p Policy, header: &[String]) -> Result<RegisterScan<'p>> {
        let mut wanted: Vec<&str> = Vec::new();
        let mut pnr = Vec::new();
        let mut spaces: Vec<Space> = Vec::new();
        for c in &policy.columns {
            if c.value_type != ValueType::Personnummer {
                continue;
            }
            let space = match &c.action {
                Action::Tokenize { space } => Space {
                    kind: Kind::Token,
                    space: space.clone(),
                },
                Action::Encrypt { space } => Space {
                    kind: Kind::Encrypt,
                    space: space.clone(),
                },
                _ => continue,
            };
            let si = match spaces.iter().position(|s| *s == space) {
                Some(i) => i,
                None => {
                    spaces.push(space);
                    spaces.len() - 1
                }
            };
            wanted.push(&c.name);
            pnr.push((c, si));
        }
        if pnr.is_empty() {
            return Err(Error::usage(format!(
                "policy `{}` tokenizes or encrypts no `type: personnummer` column, so its extracts hold no token `minex affected` can recognise",
                policy.name
            )));
        }
        if spaces.len() > MAX_SPACES {
            return Err(Error::usage(format!(
                "policy `{}` tokenizes identity numbers in {} spaces; `minex affected` handles at most {MAX_SPACES}",
                policy.name,
                spaces.len()
            )));
        }
        for r in &policy.rules {
            wanted.push(&r.column);
        }
        let read: Vec<String> = header
            .iter()
            .filter(|h| wanted.contains(&h.as_str()))
            .cloned()
            .collect();
        let pos = |name: &str| {
            read.iter()
                .position(|h| h == name)
                .ok_or_else(|| Error::internal(format!("column `{name}` is not read")))
        };
        let pnr_columns = pnr
            .into_iter()
            .map(|(c, si)| Ok((c, pos(&c.name)?, si)))
            .collect::<Result<Vec<_>>>()?;
        let rules = policy
            .rules
            .iter()
            .map(|r| {
                let typed = if r.value_type == ValueType::String {
                    None
                } else {
                    Some(policy.column(&r.column).ok_or_else(|| {
                        Error::internal("a typed row rule's column is not in the policy")
                    })?)
                };
                Ok((pos(&r.column)?, typed))
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(RegisterScan {
            policy,
            read,
            pnr_columns,
            spaces,
            rules,
        })
    }

    fn matchers(&self, ring: &KeyRing) -> Vec<Matcher> {
        self.spaces
            .iter()
            .map(|s| match s.kind {
                Kind::Token => Matcher::Token(ring.tokenizer(&s.space)),
                Kind::Encrypt => Matcher::Encrypt(Box::new(ring.encryptor(&s.space))),
            })
            .collect()
    }

    fn key_ids(&self, ring: &KeyRing) -> BTreeMap<String, String> {
        let mut ids = BTreeMap::new();
        for s in &self.spaces {
            ring.record_key_ids(&mut ids, &s.space, s.kind == Kind::Encrypt);
        }
        ids
    }

    /// Reads the register and makes the token → person maps.
    fn build_index(
        &self,
        inputs: &[Input],
        read: &ReadOptions,
        matchers: &[Matcher],
        reference: Date,
    ) -> Result<Index> {
        let mut index = Index::default();
        let mut by_pnr: HashMap<[u8; 12], u32> = HashMap::new();
        for input in inputs {
            let mut reader = input.batches(&self.read, read)?;
            while let Some((_, batch)) = reader.next_batch()? {
                let n = batch.num_rows();
                // Row rules, as the run evaluates them: the first that matches drops the row.
                let mut dropped = vec![false; n];
                for (r, (col, typed)) in self.rules.iter().enumerate() {
                    let cond = &self.policy.rules[r].condition;
                    let raw = as_utf8(batch.column(*col), &self.read[*col])?;
                    let typed_text = match typed {
                        Some(spec) => Some(
                            canonicalize_with(spec, batch.column(*col), reference, true)?
                                .0
                                .text
                                .ok_or_else(|| {
                                    Error::internal("a row rule needs canonical text")
                                })?,
                        ),
                        None => None,
                    };
                    for (i, d) in dropped.iter_mut().enumerate() {
                        if !*d
                            && minex_core::transformer::rule_matches(
                                &raw,
                                typed_text.as_ref(),
                                i,
                                cond,
                            )
                        {
                            *d = true;
                        }
                    }
                }
                // Identity numbers: new (person, space) pairs get their token.
                let mut todo: Vec<(u32, u8)> = Vec::new();
                for (spec, col, si) in &self.pnr_columns {
                    let (canon, _invalid) =
                        canonicalize_with(spec, batch.column(*col), reference, true)?;
                    let text = canon.text.ok_or_else(|| {
                        Error::internal("an identity number column has no canonical text")
                    })?;
                    let bit = 1u64 << *si;
                    for (i, d) in dropped.iter().enumerate() {
                        let Some(p) = canonical_pnr(&text, i) else {
                            continue;
                        };
                        let next = u32::try_from(index.people.len()).map_err(|_| {
                            Error::usage("the register holds more than 4 billion people")
                        })?;
                        let pi = *by_pnr.entry(p).or_insert_with(|| {
                            index.people.push(Person {
                                pnr: p,
                                protected: false,
                                spaces: 0,
                            });
                            next
                        });
                        let person = &mut index.people[pi as usize];
                        person.protected |= *d;
                        if person.spaces & bit == 0 {
                            person.spaces |= bit;
                            // `si` < 64, so it fits a byte.
                            todo.push((pi, *si as u8));
                        }
                    }
                }
                let people = &index.people;
                let made: Vec<(u32, u8, Made)> = todo
                    .par_iter()
                    .map(|(pi, si)| {
                        let value = &people[*pi as usize].pnr;
                        let m = match &matchers[*si as usize] {
                            Matcher::Token(t) => Made::Token(t.token_bytes(value)),
                            Matcher::Encrypt(e) => Made::Cipher(encrypt_raw(e, value)),
                        };
                        (*pi, *si, m)
                    })
                    .collect();
                for (pi, si, m) in made {
                    match m {
                        Made::Token(t) => {
                            index.tokens.insert(t, (pi, si));
                        }
                        Made::Cipher(Some(c)) => {
                            index.ciphers.insert(c, (pi, si));
                        }
                        Made::Cipher(None) => {
                            return Err(Error::internal(
                                "a ciphertext of an identity number has an unexpected length",
                            ));
                        }
                    }
                }
            }
        }
        Ok(index)
    }
}

/// A token or ciphertext just made.
enum Made {
    Token([u8; TOKEN_BYTES]),
    Cipher(Option<[u8; CIPHER_BYTES]>),
}

/// The raw bytes (nonce ‖ ciphertext ‖ tag) of `value`'s ciphertext.
fn encrypt_raw(e: &Encryptor, value: &[u8]) -> Option<[u8; CIPHER_BYTES]> {
    let text = e.encrypt(value);
    let raw = URL_SAFE_NO_PAD.decode(text.as_bytes()).ok()?;
    raw.try_into().ok()
}

/// The canonical 12 bytes of row `i`, when valid.
fn canonical_pnr(text: &StringArray, i: usize) -> Option<[u8; 12]> {
    if text.is_null(i) {
        return None;
    }
    text.value(i).as_bytes().try_into().ok()
}

/// One person of the register.
struct Person {
    pnr: [u8; 12],
    /// A row holding the number is dropped by a row rule.
    protected: bool,
    /// Bit `i`: the token of space `i` is in the maps.
    spaces: u64,
}

/// The register's tokens.
#[derive(Default)]
struct Index {
    people: Vec<Person>,
    /// Token bytes → (person, space).
    tokens: HashMap<[u8; TOKEN_BYTES], (u32, u8)>,
    /// Ciphertext bytes → (person, space).
    ciphers: HashMap<[u8; CIPHER_BYTES], (u32, u8)>,
}

/// One affected person's matches.
#[derive(Default)]
struct Hit {
    /// Leaked files, in order, each once.
    files: Vec<u16>,
    /// Bits of the spaces matched.
    spaces: u64,
}

/// Everything found in the leak.
struct Hits {
    people: HashMap<u32, Hit>,
    per_file: Vec<u64>,
    unmatched_tokens: u64,
}

impl Hits {
    fn new(files: usize) -> Hits {
        Hits {
            people: HashMap::new(),
            per_file: vec![0; files],
            unmatched_tokens: 0,
        }
    }

    fn add(&mut self, person: u32, space: u8, file: u16) {
        let hit = self.people.entry(person).or_default();
        hit.spaces |= 1u64 << space;
        if hit.files.last() != Some(&file) {
            hit.files.push(file);
            self.per_file[usize::from(file)] += 1;
        }
    }
}

/// The scan of one leaked file.
struct FileScan<'a> {
    index: &'a Index,
    hits: &'a mut Hits,
    file: u16,
    /// Per top-level column: (32-hex runs, of which matched).
    columns: Vec<(u64, u64)>,
}

impl<'a> FileScan<'a> {
    fn new(index: &'a Index, hits: &'a mut Hits, file: u16) -> FileScan<'a> {
        FileScan {
            index,
            hits,
            file,
            columns: Vec::new(),
        }
    }

    fn column(&mut self, col: usize) -> &mut (u64, u64) {
        if self.columns.len() <= col {
            self.columns.resize(col + 1, (0, 0));
        }
        &mut self.columns[col]
    }

    /// Unmatched 32-hex runs in the columns where something matched.
    fn unmatched(&self) -> u64 {
        self.columns
            .iter()
            .filter(|(_, m)| *m > 0)
            .map(|(h, m)| h - m)
            .sum()
    }

    fn token(&mut self, col: usize, bytes: [u8; TOKEN_BYTES]) {
        let found = self.index.tokens.get(&bytes).copied();
        let c = self.column(col);
        c.0 += 1;
        if let Some((p, s)) = found {
            c.1 += 1;
            self.hits.add(p, s, self.file);
        }
    }

    fn cipher(&mut self, bytes: &[u8]) {
        let Ok(raw) = <[u8; CIPHER_BYTES]>::try_from(bytes) else {
            return;
        };
        if let Some((p, s)) = self.index.ciphers.get(&raw).copied() {
            self.hits.add(p, s, self.file);
        }
    }

    /// A binary cell: a raw token or ciphertext, else scanned as text.
    fn binary(&mut self, col: usize, cell: &[u8]) {
        if let Ok(t) = <[u8; TOKEN_BYTES]>::try_from(cell) {
            self.token(col, t);
        } else if cell.len() == CIPHER_BYTES {
            self.cipher(cell);
        } else {
            self.text(col, cell);
        }
    }

    /// A text cell: every run of exactly 32 hex digits and of exactly 54 base64url
    /// characters.
    fn text(&mut self, col: usize, cell: &[u8]) {
        if cell.len() < 2 * TOKEN_BYTES {
            return;
        }
        for run in runs(cell, u8::is_ascii_hexdigit) {
            if run.len() == 2 * TOKEN_BYTES {
                let mut t = [0u8; TOKEN_BYTES];
                if hex::decode_to_slice(run, &mut t).is_ok() {
                    self.token(col, t);
                }
            }
        }
        if cell.len() >= CIPHER_B64_LEN && !self.index.ciphers.is_empty() {
            let b64 = |b: &u8| b.is_ascii_alphanumeric() || *b == b'-' || *b == b'_';
            for run in runs(cell, b64) {
                if run.len() == CIPHER_B64_LEN
                    && let Ok(raw) = URL_SAFE_NO_PAD.decode(run)
                {
                    self.cipher(&raw);
                }
            }
        }
    }

    /// Every string or binary value of `array` (nested ones too), as column `col`.
    fn array(&mut self, col: usize, array: &dyn Array) {
        match array.data_type() {
            DataType::Utf8 => {
                for v in array.as_string::<i32>().iter().flatten() {
                    self.text(col, v.as_bytes());
                }
            }
            DataType::LargeUtf8 => {
                for v in array.as_string::<i64>().iter().flatten() {
                    self.text(col, v.as_bytes());
                }
            }
            DataType::Utf8View => {
                for v in array.as_string_view().iter().flatten() {
                    self.text(col, v.as_bytes());
                }
            }
            DataType::Binary => {
                for v in array.as_binary::<i32>().iter().flatten() {
                    self.binary(col, v);
                }
            }
            DataType::LargeBinary => {
                for v in array.as_binary::<i64>().iter().flatten() {
                    self.binary(col, v);
                }
            }
            DataType::BinaryView => {
                for v in array.as_binary_view().iter().flatten() {
                    self.binary(col, v);
                }
            }
            DataType::FixedSizeBinary(_) => {
                for v in array.as_fixed_size_binary().iter().flatten() {
                    self.binary(col, v);
                }
            }
            DataType::Dictionary(_, value_type) => {
                // Per row, not per distinct value, so the counts are of cells.
                if let Ok(values) = arrow::compute::cast(array, value_type) {
                    self.array(col, values.as_ref());
                }
            }
            DataType::Struct(_) => {
                for child in array.as_struct().columns() {
                    self.array(col, child.as_ref());
                }
            }
            DataType::List(_) => self.array(col, array.as_list::<i32>().values().as_ref()),
            DataType::LargeList(_) => self.array(col, array.as_list::<i64>().values().as_ref()),
            DataType::FixedSizeList(_, _) => {
                self.array(col, array.as_fixed_size_list().values().as_ref());
            }
            DataType::Map(_, _) => {
                let m = array.as_map();
                self.array(col, m.keys().as_ref());
                self.array(col, m.values().as_ref());
            }
            // Numbers, dates, booleans: no token fits in them.
            _ => {}
        }
    }
}

/// The maximal runs of bytes for which `class` holds.
fn runs(cell: &[u8], class: impl Fn(&u8) -> bool) -> impl Iterator<Item = &[u8]> {
    cell.split(move |b| !class(b)).filter(|r| !r.is_empty())
}

/// Scans one leaked file: Parquet when it starts with `PAR1`, else CSV.
fn scan_leaked_file(path: &Path, scan: &mut FileScan<'_>) -> Result<()> {
    let mut magic = [0u8; 4];
    let mut file = File::open(path).map_err(|e| Error::io(path, e))?;
    let got = read_up_to(&mut file, &mut magic).map_err(|e| Error::io(path, e))?;
    if got == 4 && &magic == b"PAR1" {
        scan_parquet(path, scan)
    } else {
        scan_csv(path, scan)
    }
}

fn read_up_to(file: &mut File, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match file.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

fn scan_parquet(path: &Path, scan: &mut FileScan<'_>) -> Result<()> {
    let file = File::open(path).map_err(|e| Error::io(path, e))?;
    let mut reader = crate::io::guard(path, || {
        let options =
            parquet::arrow::arrow_reader::ArrowReaderOptions::new().with_skip_arrow_metadata(true);
        ParquetRecordBatchReaderBuilder::try_new_with_options(file, options)
            .and_then(|b| b.with_batch_size(8192).build())
            .map_err(|_| {
                Error::malformed(
                    Location::file(path),
                    "not a readable Parquet file (footer or schema cannot be decoded)",
                )
            })
    })?;
    let mut rows = 0u64;
    while let Some(batch) = crate::io::guard(path, || Ok(reader.next()))? {
        let batch = batch.map_err(|_| {
            Error::malformed(
                Location::file(path),
                format!(
                    "the Parquet data cannot be decoded in the batch starting at row {}",
                    rows + 1
                ),
            )
        })?;
        rows += batch.num_rows() as u64;
        for (ci, column) in batch.columns().iter().enumerate() {
            scan.array(ci, column.as_ref());
        }
    }
    Ok(())
}

/// The delimiter of a leaked CSV: the most frequent of `,`, `;`, tab and `|` on its first
/// line (`,` when none occurs).
fn sniff_delimiter(path: &Path) -> Result<u8> {
    let mut file = File::open(path).map_err(|e| Error::io(path, e))?;
    let mut buf = vec![0u8; 64 << 10];
    let n = read_up_to(&mut file, &mut buf).map_err(|e| Error::io(path, e))?;
    let head = &buf[..n];
    let line = head
        .split(|b| *b == b'\n' || *b == b'\r')
        .next()
        .unwrap_or(head);
    let mut best = (0usize, b',');
    for d in [b',', b';', b'\t', b'|'] {
        let count = line.iter().filter(|b| **b == d).count();
        if count > best.0 {
            best = (count, d);
        }
    }
    Ok(best.1)
}

fn scan_csv(path: &Path, scan: &mut FileScan<'_>) -> Result<()> {
    let delimiter = sniff_delimiter(path)?;
    let file = File::open(path).map_err(|e| Error::io(path, e))?;
    let mut rdr = ::csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(delimiter)
        .from_reader(std::io::BufReader::with_capacity(1 << 16, file));
    let mut record = ::csv::ByteRecord::new();
    let mut row = 0u64;
    loop {
        row += 1;
        match rdr.read_byte_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {
                for (ci, field) in record.iter().enumerate() {
                    scan.text(ci, field);
                }
            }
            Err(e) => {
                return Err(match e.into_kind() {
                    ::csv::ErrorKind::Io(io) => Error::io(path, io),
                    _ => Error::malformed(
                        Location::file(path).with_row(row),
                        "the record cannot be read as CSV",
                    ),
                });
            }
        }
    }
    Ok(())
}

/// Whether someone with this number is under 18 at `reference`; a samordningsnummer without a
/// full birth date counts when the latest birth date it allows would make a minor.
fn is_minor(p: &Pnr, reference: Date) -> bool {
    match p.age_at(reference) {
        Some(age) => age < 18,
        None => {
            let d = p.canonical();
            let month = u32::from(d[4] - b'0') * 10 + u32::from(d[5] - b'0');
            let year = p.birth_year();
            let (m, day) = if (1..=12).contains(&month) {
                (month, crate::ident::date::days_in_month(year, month))
            } else {
                (12, 31)
            };
            Date::new(year, m, day).is_none_or(|latest| latest.age_at(reference) < 18)
        }
    }
}

/// Writes the notification list and counts what it holds.
fn write_list(
    staged: &crate::io::output::Staged,
    index: &Index,
    hits: &Hits,
    leaked: &[PathBuf],
    spaces: &[Space],
    policy: &Policy,
) -> Result<AffectedSummary> {
    let io = |e| Error::io(staged.tmp_path(), e);
    let opts = ParseOptions {
        reference: policy.reference_date,
        allow_interim: true,
    };
    let names: Vec<String> = leaked.iter().map(|p| p.display().to_string()).collect();
    let labels: Vec<String> = spaces.iter().map(Space::label).collect();
    let mut people: Vec<(&Person, &Hit)> = hits
        .people
        .iter()
        .map(|(p, h)| (&index.people[*p as usize], h))
        .collect();
    people.sort_unstable_by_key(|(p, _)| p.pnr);
    let mut summary = AffectedSummary::default();
    let mut w = staged.writer()?;
    w.write_all(b"personnummer,leaked_in,spaces,minor,protected_identity,coordination_number\n")
        .map_err(io)?;
    for (person, hit) in people {
        let text = std::str::from_utf8(&person.pnr)
            .map_err(|_| Error::internal("a canonical identity number is not ASCII"))?;
        let pnr = Pnr::parse(text, &opts)
            .map_err(|_| Error::internal("a canonical identity number does not parse"))?;
        let minor = is_minor(&pnr, policy.reference_date);
        let coordination = pnr.is_coordination();
        let files: Vec<&str> = hit
            .files
            .iter()
            .map(|f| names[usize::from(*f)].as_str())
            .collect();
        let matched: Vec<&str> = labels
            .iter()
            .enumerate()
            .filter(|(i, _)| hit.spaces & (1u64 << i) != 0)
            .map(|(_, l)| l.as_str())
            .collect();
        writeln!(
            w,
            "{},{},{},{},{},{}",
            text,
            crate::report::csv_safe_field(&files.join(";")),
            crate::report::csv_safe_field(&matched.join(";")),
            minor,
            person.protected,
            coordination
        )
        .map_err(io)?;
        summary.people_affected += 1;
        summary.minors += u64::from(minor);
        summary.protected_identity += u64::from(person.protected);
        summary.coordination_numbers += u64::from(coordination);
    }
    w.flush().map_err(io)?;
    Ok(summary)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_split_on_other_bytes() {
        let r: Vec<&[u8]> = runs(b"ab:cd--e", u8::is_ascii_hexdigit).collect();
        assert_eq!(r, vec![&b"ab"[..], b"cd", b"e"]);
    }

    /// A samordningsnummer `YYYYMMDD` + serial `NNN` with its Luhn check digit.
    fn with_check_digit(first11: &str) -> String {
        let nine: Vec<u8> = first11[2..].bytes().map(|b| b - b'0').collect();
        format!("{first11}{}", crate::ident::luhn::check_digit(&nine))
    }

    #[test]
    fn minors_without_a_full_birth_date_fail_safe() {
        let reference = Date::new(2026, 1, 1).unwrap();
        let opts = ParseOptions {
            reference,
            allow_interim: false,
        };
        // An adult and a child from Skatteverket's test list.
        let adult = Pnr::parse("194608239986", &opts).unwrap();
        assert!(!is_minor(&adult, reference));
        let child = Pnr::parse("201801012392", &opts).unwrap();
        assert!(is_minor(&child, reference));
        // Day 60: born some day of May 2008, 17 or 18 at the reference date: a minor.
        let unsure = Pnr::parse(&with_check_digit("20080560238"), &opts).unwrap();
        assert!(unsure.is_coordination() && unsure.age_at(reference).is_none());
        assert!(is_minor(&unsure, reference));
        // Month 00: born some day of 2008 (a minor, whatever the day), or of 2007 (18).
        let y2008 = Pnr::parse(&with_check_digit("20080060238"), &opts).unwrap();
        assert!(is_minor(&y2008, reference));
        let y2007 = Pnr::parse(&with_check_digit("20070060238"), &opts).unwrap();
        assert!(!is_minor(&y2007, reference));
    }
}

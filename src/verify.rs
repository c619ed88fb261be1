//! `minex verify`: an audit a data-protection officer can run on an extract.
//!
//! It draws its conclusions without reusing the run's code path: expected output types come
//! from a table of its own, value formats are checked with their own rules, the class sizes
//! of k-anonymity are counted on the extract's rendered values, tokens are recomputed with
//! the `hkdf` and `hmac` crates directly, and the manifest is checked against fresh digests.
//! Only the policy parser, the file readers and the identity-number parsers are shared (they
//! decide what the input *says*, not what the run *did*).
//!
//! # The leak scan (given `--input`)
//! Every value of an input column that the policy drops, tokenizes or encrypts becomes one or
//! more *needles*; so do the full values of a column kept, truncated or replaced when it holds
//! identifiers (`type: personnummer`, `email` or `phone`, or untyped and detected as such): a
//! `truncate: keep: 12` of identity numbers hands them over whole. Needles are
//! * identity numbers (the 12 digits, exactly) and phones (the E.164 digits, exactly), kept as
//!   numbers,
//! * emails (canonical), long text (addresses, notes: the whole value, lowercased), addresses
//!   by their street and number (`storgatan 12`), interim numbers, and single words of names
//!   (at least 4 letters, matched only inside free-text-like columns, since a surname such as
//!   `Lund` is also a city), kept as 64-bit fingerprints with the kind in the low bits.
//!
//! Both live in sorted, deduplicated `Vec<u64>` (8 bytes a distinct needle, binary search):
//! memory follows the input's distinct sensitive values, never a hash map's overhead.
//!
//! Every string cell of the extract is then searched: the whole cell; every run of digits
//! and separators (` -+()/._:`) with at least 8 digits, glued to letters or not (`ID…`,
//! `pnr…x`), as an identity number of 12 or 10 digits (any century) and as a phone in any
//! spelling the phone rules accept (`070-…`, `+46 (0)70 …`, `0046…`) or as bare E.164
//! digits; every email-like word; and, in free text, every word and pair of words. A word of
//! exactly 32 lowercase hex characters is a token: the digit runs inside it are not numbers.
//! Number hits are exact. A fingerprint hit is confirmed byte for byte by a second pass over
//! the input (only when there are such hits), so a 64-bit collision cannot fail an extract.
//! A hit names the extract column and the kind of needle, never the value.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fs::File;
use std::hash::Hasher;
use std::path::{Path, PathBuf};

use arrow::array::{Array, ArrayRef, RecordBatch, StringArray};
use arrow::datatypes::DataType;
use hmac::{Hmac, KeyInit, Mac};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::error::{Error, Location, Result};
use crate::ident::date::Date;
use crate::ident::personnummer::{ParseOptions, Pnr};
use crate::ident::{self, detect};
use crate::io::{Input, ReadOptions};
use crate::keys::MasterKey;
use crate::policy::{Action, Derivation, Generalization, Policy, ValueType};
use crate::report::Manifest;

/// What to verify.
#[derive(Debug, Clone)]
pub struct VerifyConfig {
    /// The policy the extract claims to follow.
    pub policy: PathBuf,
    /// The extract.
    pub extract: PathBuf,
    /// The inputs, for the leak scan and token recomputation.
    pub inputs: Vec<PathBuf>,
    /// How to read the inputs.
    pub read: ReadOptions,
    /// The master key, for token recomputation.
    pub key: Option<MasterKey>,
    /// How many tokens per column to recompute.
    pub token_sample: usize,
}

/// One check's outcome.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Check {
    /// What was checked (`schema`, `column.format`, `manifest.sha256`, `leak`, ...).
    pub check: String,
    /// The column concerned, when there is one.
    pub column: Option<String>,
    /// `pass`, `fail` or `skip`.
    pub status: &'static str,
    /// Counts and names only.
    pub detail: String,
}

/// All checks.
#[derive(Debug, Clone, Serialize, Default)]
pub struct VerifyReport {
    /// In the order run.
    pub checks: Vec<Check>,
}

impl VerifyReport {
    fn pass(&mut self, check: &str, column: Option<&str>, detail: impl Into<String>) {
        self.push(check, column, "pass", detail.into());
    }
    fn fail(&mut self, check: &str, column: Option<&str>, detail: impl Into<String>) {
        self.push(check, column, "fail", detail.into());
    }
    fn skip(&mut self, check: &str, column: Option<&str>, detail: impl Into<String>) {
        self.push(check, column, "skip", detail.into());
    }
    fn push(&mut self, check: &str, column: Option<&str>, status: &'static str, detail: String) {
        self.checks.push(Check {
            check: check.into(),
            column: column.map(str::to_string),
            status,
            detail,
        });
    }
    fn check(&mut self, ok: bool, check: &str, column: Option<&str>, detail: impl Into<String>) {
        if ok {
            self.pass(check, column, detail);
        } else {
            self.fail(check, column, detail);
        }
    }

    /// Whether every check passed (skips are not failures).
    pub fn passed(&self) -> bool {
        self.checks.iter().all(|c| c.status != "fail")
    }

    /// The failed checks.
    pub fn failures(&self) -> impl Iterator<Item = &Check> {
        self.checks.iter().filter(|c| c.status == "fail")
    }
}

impl std::fmt::Display for VerifyReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for c in &self.checks {
            let col = c
                .column
                .as_deref()
                .map(|c| format!(" `{c}`"))
                .unwrap_or_default();
            writeln!(
                f,
                "{:<4} {}{}: {}",
                c.status.to_uppercase(),
                c.check,
                col,
                c.detail
            )?;
        }
        let failed = self.failures().count();
        if failed == 0 {
            write!(f, "verify: all {} checks passed", self.checks.len())
        } else {
            write!(f, "verify: {failed} of {} checks FAILED", self.checks.len())
        }
    }
}

/// The expected output of one extract column, by this module's own table.
#[derive(Debug, Clone)]
enum Expect {
    Keep(ValueType),
    Token,
    Cipher,
    Year,
    Decade,
    Month,
    AgeBand(u32),
    Truncate(usize),
    Replace(String),
    Null(ValueType),
    Derived(Derivation),
}

impl Expect {
    fn data_type(&self) -> DataType {
        match self {
            Expect::Keep(t) | Expect::Null(t) => match t {
                ValueType::Integer => DataType::Int64,
                ValueType::Date => DataType::Date32,
                ValueType::Boolean => DataType::Boolean,
                _ => DataType::Utf8,
            },
            Expect::Year | Expect::Decade => DataType::Int32,
            Expect::Derived(Derivation::BirthDate) => DataType::Date32,
            Expect::Derived(Derivation::BirthYear | Derivation::Age) => DataType::Int32,
            Expect::Derived(Derivation::Coordination) => DataType::Boolean,
            _ => DataType::Utf8,
        }
    }
}

fn expectations(p: &Policy) -> Vec<(String, Expect)> {
    let mut v = Vec::new();
    for c in &p.columns {
        let e = match &c.action {
            Action::Drop => continue,
            Action::Keep => Expect::Keep(c.value_type),
            Action::Tokenize { .. } => Expect::Token,
            Action::Encrypt { .. } => Expect::Cipher,
            Action::Generalize(Generalization::Year) => Expect::Year,
            Action::Generalize(Generalization::Decade) => Expect::Decade,
            Action::Generalize(Generalization::Month) => Expect::Month,
            Action::Generalize(Generalization::AgeBand(n)) => Expect::AgeBand(*n),
            Action::Truncate { keep } => Expect::Truncate(*keep),
            Action::Replace { with } => Expect::Replace(with.clone()),
            Action::Null => Expect::Null(c.value_type),
        };
        v.push((c.name.clone(), e));
    }
    for d in &p.derive {
        v.push((d.name.clone(), Expect::Derived(d.what)));
    }
    v
}

/// Format check of one string value; returns false when it breaks the column's rule.
fn value_ok(e: &Expect, v: &str) -> bool {
    match e {
        Expect::Token => {
            v.len() == 32
                && v.bytes()
                    .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        }
        Expect::Cipher => {
            v.len() >= 38
                && v.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        }
        Expect::Month => {
            let b = v.as_bytes();
            b.len() == 7
                && b[4] == b'-'
                && b[..4].iter().chain(&b[5..]).all(u8::is_ascii_digit)
                && matches!(v[5..].parse::<u32>(), Ok(1..=12))
        }
        Expect::AgeBand(n) | Expect::Derived(Derivation::AgeBand(n)) => match v.split_once('-') {
            Some((lo, hi)) => match (lo.parse::<u32>(), hi.parse::<u32>()) {
                (Ok(lo), Ok(hi)) => lo % n == 0 && hi + 1 == lo + n,
                _ => false,
            },
            None => false,
        },
        Expect::Truncate(n) => v.chars().count() <= *n,
        Expect::Replace(w) => v == w,
        Expect::Derived(Derivation::Sex) => v == "M" || v == "F",
        Expect::Keep(ValueType::Personnummer) => {
            v.len() == 12 && v.bytes().all(|b| b.is_ascii_digit())
        }
        Expect::Keep(ValueType::PostalCode) => {
            v.len() == 5 && v.bytes().all(|b| b.is_ascii_digit())
        }
        Expect::Keep(ValueType::Phone) => {
            v.starts_with('+') && v[1..].bytes().all(|b| b.is_ascii_digit())
        }
        Expect::Keep(ValueType::Email) => v.contains('@') && v == v.to_lowercase(),
        _ => true,
    }
}

/// Runs every check; returns the report (a failed check is not an `Err`).
///
/// # Errors
/// Only when the policy or extract cannot be read at all.
pub fn verify(cfg: &VerifyConfig) -> Result<VerifyReport> {
    let policy = crate::policy::from_file(&cfg.policy)?;
    let mut report = VerifyReport::default();
    let file = File::open(&cfg.extract).map_err(|e| Error::io(&cfg.extract, e))?;
    let builder = crate::io::guard(&cfg.extract, || {
        ParquetRecordBatchReaderBuilder::try_new(file).map_err(|_| {
            Error::malformed(Location::file(&cfg.extract), "not a readable Parquet file")
        })
    })?;
    let meta: HashMap<String, String> = builder
        .metadata()
        .file_metadata()
        .key_value_metadata()
        .map(|kv| {
            kv.iter()
                .filter_map(|k| k.value.clone().map(|v| (k.key.clone(), v)))
                .collect()
        })
        .unwrap_or_default();
    let schema = builder.schema().clone();
    let total_rows = u64::try_from(builder.metadata().file_metadata().num_rows()).unwrap_or(0);

    // Metadata.
    let policy_sha = {
        let bytes = std::fs::read(&cfg.policy).map_err(|e| Error::io(&cfg.policy, e))?;
        hex::encode(Sha256::digest(&bytes))
    };
    report.check(
        meta.get("minex.domain") == Some(&policy.domain),
        "metadata.domain",
        None,
        format!(
            "extract domain `{}`, policy domain `{}`",
            meta.get("minex.domain").map_or("(none)", String::as_str),
            policy.domain
        ),
    );
    report.check(
        meta.get("minex.policy_sha256") == Some(&policy_sha),
        "metadata.policy_sha256",
        None,
        "the extract names the policy file's SHA-256",
    );

    // Schema.
    let expects = expectations(&policy);
    let names: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
    let expected_names: Vec<&str> = expects.iter().map(|(n, _)| n.as_str()).collect();
    report.check(
        names == expected_names,
        "schema.columns",
        None,
        if names == expected_names {
            format!("{} columns, as the policy says", names.len())
        } else {
            let extra: Vec<&&str> = names.iter().filter(|n| !expected_names.contains(n)).collect();
            let missing: Vec<&&str> = expected_names.iter().filter(|n| !names.contains(n)).collect();
            format!("expected the policy's output columns in order; unexpected {extra:?}, missing {missing:?}")
        },
    );
    let by_name: HashMap<&str, &Expect> = expects.iter().map(|(n, e)| (n.as_str(), e)).collect();
    for f in schema.fields() {
        if let Some(e) = by_name.get(f.name().as_str()) {
            let want = e.data_type();
            report.check(
                f.data_type() == &want,
                "column.type",
                Some(f.name()),
                format!("{} (expected {want})", f.data_type()),
            );
        }
    }

    // One pass over the extract: formats, k-anonymity classes, leak candidates, token samples.
    let needles = if cfg.inputs.is_empty() {
        None
    } else {
        Some(Needles::build(&policy, &cfg.inputs, &cfg.read)?)
    };
    let k = policy.k_anonymity.clone();
    let qi_idx: Vec<usize> = k
        .as_ref()
        .map(|k| {
            k.quasi_identifiers
                .iter()
                .filter_map(|q| names.iter().position(|n| n == q))
                .collect()
        })
        .unwrap_or_default();
    let mut classes: HashMap<Vec<Option<String>>, u64> = HashMap::new();
    let mut bad_format: HashMap<String, u64> = HashMap::new();
    let mut null_violations: HashMap<String, u64> = HashMap::new();
    let mut leaks: BTreeMap<(String, Kind), Leak> = BTreeMap::new();
    let mut scratch = Scratch::default();
    let mut token_samples: HashMap<String, Vec<String>> = HashMap::new();
    let mut reader = crate::io::guard(&cfg.extract, || {
        builder
            .build()
            .map_err(|_| Error::malformed(Location::file(&cfg.extract), "cannot read the extract"))
    })?;
    let mut free_text: HashMap<String, bool> = HashMap::new();
    while let Some(batch) = crate::io::guard(&cfg.extract, || Ok(reader.next()))? {
        let batch: RecordBatch = batch.map_err(|_| {
            Error::malformed(Location::file(&cfg.extract), "cannot decode the extract")
        })?;
        let rendered: Vec<Option<StringArray>> = batch.columns().iter().map(render).collect();
        for (ci, field) in batch.schema().fields().iter().enumerate() {
            let name = field.name();
            let arr = batch.column(ci);
            let Some(text) = &rendered[ci] else { continue };
            let expect = by_name.get(name.as_str());
            if let Some(Expect::Null(_)) = expect
                && arr.null_count() != arr.len()
            {
                *null_violations.entry(name.clone()).or_default() +=
                    (arr.len() - arr.null_count()) as u64;
            }
            let is_free = *free_text
                .entry(name.clone())
                .or_insert_with(|| looks_like_free_text(text));
            for v in text.iter().flatten() {
                if let Some(e) = expect
                    && matches!(
                        arr.data_type(),
                        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View
                    )
                    && !value_ok(e, v)
                {
                    *bad_format.entry(name.clone()).or_default() += 1;
                }
                if let Some(n) = &needles {
                    let exact = n.scan(v, is_free, &mut scratch);
                    if exact != 0 || !scratch.hits.is_empty() {
                        record_hits(&mut leaks, name, exact, &scratch);
                    }
                }
            }
            if let Some(Expect::Token) = expect {
                let s = token_samples.entry(name.clone()).or_default();
                for v in text.iter().flatten() {
                    if s.len() >= cfg.token_sample {
                        break;
                    }
                    s.push(v.to_string());
                }
            }
        }
        if !qi_idx.is_empty() {
            for row in 0..batch.num_rows() {
                let key: Vec<Option<String>> = qi_idx
                    .iter()
                    .map(|&c| {
                        rendered[c]
                            .as_ref()
                            .and_then(|t| (!t.is_null(row)).then(|| t.value(row).to_string()))
                    })
                    .collect();
                *classes.entry(key).or_default() += 1;
            }
        }
    }
    for (name, e) in &expects {
        if !names.contains(&name.as_str()) {
            continue;
        }
        let bad = bad_format.get(name).copied().unwrap_or(0)
            + null_violations.get(name).copied().unwrap_or(0);
        report.check(
            bad == 0,
            "column.format",
            Some(name),
            if bad == 0 {
                format!("every value fits {}", describe(e))
            } else {
                format!("{bad} values do not fit {}", describe(e))
            },
        );
    }

    // k-anonymity.
    match &k {
        Some(k) => {
            if qi_idx.len() != k.quasi_identifiers.len() {
                report.fail(
                    "k_anonymity",
                    None,
                    "the extract lacks some quasi-identifier columns",
                );
            } else {
                let smallest = classes.values().copied().min().unwrap_or(0);
                let below = classes.values().filter(|c| **c < k.k).count();
                report.check(
                    below == 0,
                    "k_anonymity",
                    None,
                    format!(
                        "{} classes over ({}), smallest {smallest}, {below} below k = {}",
                        classes.len(),
                        k.quasi_identifiers.join(", "),
                        k.k
                    ),
                );
            }
        }
        None => report.skip("k_anonymity", None, "the policy asks for none"),
    }

    // The manifest beside the extract.
    let counted = (!qi_idx.is_empty()).then(|| {
        (
            classes.len() as u64,
            classes.values().copied().min().unwrap_or(0),
        )
    });
    verify_manifest(cfg, &meta, &policy_sha, total_rows, counted, &mut report);

    // Leaks: fingerprint hits are confirmed byte for byte before they count.
    match &needles {
        Some(n) => {
            let dismissed = confirm_leaks(&mut leaks, &policy, &cfg.inputs, &cfg.read)?;
            if leaks.is_empty() {
                report.pass(
                    "leak_scan",
                    None,
                    format!(
                        "no value of the {} protected input columns (dropped, tokenized, encrypted, or identifiers kept or cut short) appears in the extract ({} distinct needles{})",
                        n.columns,
                        n.len(),
                        if dismissed > 0 {
                            format!("; {dismissed} fingerprint collisions dismissed")
                        } else {
                            String::new()
                        }
                    ),
                );
            } else {
                for ((col, kind), leak) in leaks {
                    report.fail(
                        "leak_scan",
                        Some(&col),
                        format!(
                            "{} cells hold {} from a protected input column",
                            leak.cells,
                            kind.describe()
                        ),
                    );
                }
            }
        }
        None => report.skip(
            "leak_scan",
            None,
            "give the input with `--input` to scan for leaked values",
        ),
    }

    // Tokens recomputed.
    match (&cfg.key, cfg.inputs.is_empty()) {
        (Some(key), false) => verify_tokens(&policy, key, cfg, &token_samples, &mut report)?,
        _ => report.skip(
            "tokens",
            None,
            "give `--key-file` (or `MINEX_KEY`) and `--input` to recompute tokens",
        ),
    }
    Ok(report)
}

fn describe(e: &Expect) -> String {
    match e {
        Expect::Token => "a token (32 lowercase hex)".into(),
        Expect::Cipher => "a ciphertext (base64url)".into(),
        Expect::Month => "`YYYY-MM`".into(),
        Expect::AgeBand(n) | Expect::Derived(Derivation::AgeBand(n)) => {
            format!("an age band of {n} years")
        }
        Expect::Truncate(n) => format!("at most {n} characters"),
        Expect::Replace(_) => "the policy's constant".into(),
        Expect::Null(_) => "null".into(),
        Expect::Keep(t) => format!("`{}`", t.name()),
        Expect::Year => "a year".into(),
        Expect::Decade => "a decade".into(),
        Expect::Derived(d) => format!("`{}`", d.name()),
    }
}

/// Any column rendered as text (`None` for booleans, which hold no text to leak).
fn render(a: &ArrayRef) -> Option<StringArray> {
    if a.data_type() == &DataType::Boolean {
        return None;
    }
    arrow::compute::cast(a, &DataType::Utf8)
        .ok()
        .and_then(|c| c.as_any().downcast_ref::<StringArray>().cloned())
}

fn looks_like_free_text(t: &StringArray) -> bool {
    let (mut n, mut len, mut spaced) = (0usize, 0usize, 0usize);
    for v in t.iter().flatten().take(1000) {
        n += 1;
        len += v.chars().count();
        spaced += usize::from(v.trim().contains(' '));
    }
    n > 0 && len / n >= 20 && spaced * 2 >= n
}

fn verify_manifest(
    cfg: &VerifyConfig,
    meta: &HashMap<String, String>,
    policy_sha: &str,
    rows: u64,
    counted_classes: Option<(u64, u64)>,
    report: &mut VerifyReport,
) {
    let path = crate::io::output::OutputPaths::beside(&cfg.extract).manifest;
    // A run renames the extract first and the manifest last: an extract without its
    // manifest, or beside another run's, is the trace of an interrupted commit.
    if !path.exists() {
        report.fail(
            "manifest",
            None,
            format!(
                "no manifest: the run that wrote this extract did not finish its commit, or the manifest was removed (expected `{}`)",
                path.display()
            ),
        );
        return;
    }
    let m: Manifest = match Manifest::read(&path) {
        Some(m) => m,
        None => {
            report.fail(
                "manifest",
                None,
                format!("`{}` is not a readable minex manifest", path.display()),
            );
            return;
        }
    };
    report.check(
        m.rows.adds_up(),
        "manifest.rows",
        None,
        format!(
            "in {} = out {} + filtered {} + rejected {} + suppressed {}",
            m.rows.input, m.rows.out, m.rows.filtered, m.rows.rejected, m.rows.suppressed
        ),
    );
    report.check(
        m.policy.sha256 == policy_sha,
        "manifest.policy",
        None,
        "the manifest names this policy's SHA-256",
    );
    match meta.get("minex.run_id") {
        Some(id) if *id == m.run_id => report.pass(
            "manifest.run_id",
            None,
            "the manifest and the extract carry the same run id",
        ),
        Some(_) => report.fail(
            "manifest.run_id",
            None,
            "the manifest belongs to another run: an interrupted commit or files from different runs (its `run_id` differs from the extract's `minex.run_id`)",
        ),
        None => report.fail(
            "manifest.run_id",
            None,
            "the extract carries no `minex.run_id` metadata to match the manifest's `run_id`",
        ),
    }
    match m.outputs.first() {
        Some(o) => {
            let digest = crate::io::output::sha256_file(&cfg.extract);
            match digest {
                Ok((sha, bytes)) => {
                    report.check(
                        o.sha256 == sha && o.bytes == bytes,
                        "manifest.sha256",
                        None,
                        "the extract's digest and size match the manifest",
                    );
                }
                Err(_) => report.fail(
                    "manifest.sha256",
                    None,
                    "the extract cannot be read to digest it",
                ),
            }
            report.check(
                o.rows == rows && m.rows.out == rows,
                "manifest.out_rows",
                None,
                format!("extract rows {rows}, manifest says {}", o.rows),
            );
            for other in &m.outputs[1..] {
                let p = cfg
                    .extract
                    .with_file_name(Path::new(&other.path).file_name().unwrap_or_default());
                let ok = crate::io::output::sha256_file(&p)
                    .is_ok_and(|(sha, bytes)| sha == other.sha256 && bytes == other.bytes);
                report.check(
                    ok,
                    "manifest.rejects_sha256",
                    None,
                    format!("`{}` matches its digest", p.display()),
                );
            }
        }
        None => report.fail("manifest.outputs", None, "the manifest lists no output"),
    }
    let listed: u64 = m.inputs.iter().map(|i| i.rows).sum();
    report.check(
        listed == m.rows.input,
        "manifest.input_rows",
        None,
        format!(
            "the inputs' rows add up to {listed}, `rows.in` is {}",
            m.rows.input
        ),
    );
    if !cfg.inputs.is_empty() {
        let mut unmatched = 0;
        for p in &cfg.inputs {
            let ok = crate::io::output::sha256_file(p).is_ok_and(|(sha, bytes)| {
                m.inputs.iter().any(|i| i.sha256 == sha && i.bytes == bytes)
            });
            if !ok {
                unmatched += 1;
            }
        }
        report.check(
            unmatched == 0 && cfg.inputs.len() == m.inputs.len(),
            "manifest.input_sha256",
            None,
            format!(
                "{} of {} given inputs match a digest in the manifest, which lists {}",
                cfg.inputs.len() - unmatched,
                cfg.inputs.len(),
                m.inputs.len()
            ),
        );
    }
    match (&m.k_anonymity, counted_classes) {
        (Some(k), Some((classes, smallest))) => report.check(
            k.classes == classes && k.smallest_class == smallest && k.suppressed == m.rows.suppressed,
            "manifest.k_anonymity",
            None,
            format!(
                "manifest: {} classes, smallest {}, {} suppressed; counted on the extract: {classes} classes, smallest {smallest}; rows.suppressed {}",
                k.classes, k.smallest_class, k.suppressed, m.rows.suppressed
            ),
        ),
        (None, Some(_)) => report.fail(
            "manifest.k_anonymity",
            None,
            "the policy asks for k-anonymity but the manifest has no `k_anonymity` figures",
        ),
        _ => {}
    }
}

fn verify_tokens(
    policy: &Policy,
    key: &MasterKey,
    cfg: &VerifyConfig,
    samples: &HashMap<String, Vec<String>>,
    report: &mut VerifyReport,
) -> Result<()> {
    let inputs: Vec<Input> = cfg
        .inputs
        .iter()
        .map(|p| Input::open(p, &cfg.read))
        .collect::<Result<_>>()?;
    let opts = ParseOptions {
        reference: policy.reference_date,
        allow_interim: true,
    };
    for c in &policy.columns {
        let Action::Tokenize { space } = &c.action else {
            continue;
        };
        let Some(sample) = samples.get(&c.name) else {
            continue;
        };
        // HKDF and HMAC straight from the crates, not through `crate::keys`.
        let hk = hkdf::Hkdf::<Sha256>::new(Some(b"minex/v1"), key.as_bytes());
        let mut info = b"token\0".to_vec();
        info.extend_from_slice(policy.domain.as_bytes());
        info.push(0);
        info.extend_from_slice(space.as_bytes());
        let mut okm = zeroize::Zeroizing::new([0u8; 32]);
        hk.expand(&info, &mut okm[..])
            .map_err(|_| Error::internal("HKDF expand"))?;
        let mac = <Hmac<Sha256> as KeyInit>::new_from_slice(&okm[..])
            .map_err(|_| Error::internal("HMAC key"))?;
        let want: HashSet<&str> = sample.iter().map(String::as_str).collect();
        let mut found: HashSet<String> = HashSet::new();
        let mut buf = String::new();
        for input in &inputs {
            let mut r = input.batches(std::slice::from_ref(&c.name), &cfg.read)?;
            while let Some((_, b)) = r.next_batch()? {
                let Some(t) = render(b.column(0)) else {
                    continue;
                };
                for v in t.iter().flatten() {
                    let canon: Option<Vec<u8>> = match c.value_type {
                        ValueType::Personnummer => {
                            Pnr::parse(v, &opts).ok().map(|p| p.canonical().to_vec())
                        }
                        ValueType::Email => {
                            buf.clear();
                            ident::email::canonicalize(v, &mut buf)
                                .ok()
                                .map(|()| buf.as_bytes().to_vec())
                        }
                        ValueType::Phone => {
                            buf.clear();
                            ident::phone::canonicalize(v, &mut buf)
                                .ok()
                                .map(|()| buf.as_bytes().to_vec())
                        }
                        ValueType::PostalCode => {
                            ident::postal::canonicalize(v).ok().map(|c| c.to_vec())
                        }
                        ValueType::String => Some(v.as_bytes().to_vec()),
                        ValueType::Integer => {
                            ident::parse_i64(v).ok().map(|i| i.to_string().into_bytes())
                        }
                        ValueType::Boolean => ident::parse_bool(v)
                            .ok()
                            .map(|b| b.to_string().into_bytes()),
                        ValueType::Date => Date::parse(v).map(|d| d.to_string().into_bytes()),
                    };
                    if let Some(canon) = canon {
                        let mut m = mac.clone();
                        m.update(&canon);
                        let t = hex::encode(&m.finalize().into_bytes()[..16]);
                        if want.contains(t.as_str()) {
                            found.insert(t);
                        }
                    }
                }
            }
        }
        let missing = want.len() - found.len();
        report.check(
            missing == 0,
            "tokens",
            Some(&c.name),
            format!(
                "{} of {} sampled tokens recomputed from the input with the key",
                found.len(),
                want.len()
            ),
        );
    }
    Ok(())
}

/// The kinds of needle, in the order a report lists them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
enum Kind {
    Pnr = 0,
    Email = 1,
    Phone = 2,
    Text = 3,
    Address = 4,
    Word = 5,
}

const KINDS: [Kind; 6] = [
    Kind::Pnr,
    Kind::Email,
    Kind::Phone,
    Kind::Text,
    Kind::Address,
    Kind::Word,
];

impl Kind {
    fn describe(self) -> &'static str {
        match self {
            Kind::Pnr => "an identity number",
            Kind::Email => "an email address",
            Kind::Phone => "a phone number",
            Kind::Text => "a text value (address or note)",
            Kind::Address => "a street address",
            Kind::Word => "a name",
        }
    }

    fn bit(self) -> u8 {
        1 << self as u8
    }
}

/// One needle as the input gives it: an exact number (identity numbers of 12 digits and
/// phones as E.164 digits fit in 50 bits) or the bytes of a text needle.
#[derive(Debug, Clone, Copy)]
enum Needle<'a> {
    Number(Kind, u64),
    Text(Kind, &'a [u8]),
}

/// The 64-bit fingerprint of bytes (SipHash with fixed keys: the same in every process).
fn h(s: &[u8]) -> u64 {
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    hasher.write(s);
    hasher.finish()
}

/// A text needle's fingerprint: the hash with the kind in its low 3 bits.
fn fingerprint(kind: Kind, bytes: &[u8]) -> u64 {
    (h(bytes) & !7) | kind as u64
}

/// A number needle: the kind above bit 56, the value (below 10^15) beneath it, mixed by a
/// bijection (the SplitMix64 finalizer) so the set's members spread evenly over its index
/// while staying exact: two numbers never share a member.
fn number(kind: Kind, value: u64) -> u64 {
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
struct SortedSet {
    v: Vec<u64>,
    /// `index[p]..index[p + 1]`: the members whose top `bits` bits are `p`.
    index: Vec<u32>,
    bits: u32,
}

impl SortedSet {
    fn insert(&mut self, x: u64) {
        if self.v.len() == self.v.capacity() && self.v.len() >= 1024 {
            self.v.sort_unstable();
            self.v.dedup();
        }
        self.v.push(x);
    }

    fn finish(&mut self) {
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

    fn len(&self) -> usize {
        self.v.len()
    }

    fn contains(&self, x: u64) -> bool {
        self.bucket(x).binary_search(&x).is_ok()
    }

    /// The kinds (as bits) of the text needles whose hash is `hash`.
    fn kinds(&self, hash: u64) -> u8 {
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

/// A hit on a text needle: it holds only by fingerprint until the confirmation pass has
/// compared the bytes (`range`, in [`Scratch::hit_bytes`]) with the input's.
#[derive(Debug, Clone)]
struct TextHit {
    kind: Kind,
    fingerprint: u64,
    range: std::ops::Range<usize>,
}

/// Buffers reused from cell to cell, so scanning a cell allocates nothing once warm.
#[derive(Debug, Default)]
struct Scratch {
    lower: String,
    phone: String,
    pair: Vec<u8>,
    hits: Vec<TextHit>,
    hit_bytes: Vec<u8>,
}

/// `s` trimmed and lowercased into `out` (cleared first).
fn lower_into(s: &str, out: &mut String) {
    out.clear();
    for c in s.trim().chars() {
        out.extend(c.to_lowercase());
    }
}

/// The words of lowercased text (runs of letters and digits).
fn words(s: &str) -> impl Iterator<Item = &str> {
    s.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
}

/// A string of ASCII digits as a number (at most 18 digits).
fn digits_value(d: &[u8]) -> u64 {
    d.iter()
        .fold(0u64, |acc, &c| acc * 10 + u64::from(c - b'0'))
}

/// Characters a number may be written with between its digits.
const NUMBER_SEPARATORS: &[u8] = b" -+()/._:";

/// Whether `w` is a minex token: exactly 32 lowercase hex characters.
fn is_token(w: &[u8]) -> bool {
    w.len() == 32
        && w.iter()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(b))
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
fn each_needle(
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
    let mut buf = String::new();
    let mut lower = String::new();
    let mut pair: Vec<u8> = Vec::new();
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
                let (role, kind) = *decided[ci].get_or_insert_with(|| {
                    let d = detect::detect(t.iter().take(1000), policy.reference_date);
                    let typed = policy.column(&roles[ri].0).map(|c| c.value_type);
                    match roles[ri].1 {
                        Role::Protected => (
                            Role::Protected,
                            match typed {
                                Some(ValueType::Personnummer) => {
                                    Some(detect::DetectedKind::Personnummer)
                                }
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
                });
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
                    if let Role::Identifier(k) = role {
                        match k {
                            detect::DetectedKind::Personnummer => {
                                if let Ok(p) = Pnr::parse(v, &opts) {
                                    pnr_needles(&p, emit);
                                }
                            }
                            detect::DetectedKind::Email => {
                                buf.clear();
                                if ident::email::canonicalize(v, &mut buf).is_ok() {
                                    emit(Needle::Text(Kind::Email, buf.as_bytes()));
                                }
                            }
                            _ => {
                                phone_needle(v, &mut buf, emit);
                            }
                        }
                        continue;
                    }
                    // Shape-based needles, whatever the column's kind.
                    if let Ok(p) = Pnr::parse(v, &opts) {
                        pnr_needles(&p, emit);
                        continue;
                    }
                    if v.contains('@') {
                        buf.clear();
                        if ident::email::canonicalize(v, &mut buf).is_ok() {
                            emit(Needle::Text(Kind::Email, buf.as_bytes()));
                            continue;
                        }
                    }
                    if kind == Some(detect::DetectedKind::Phone) && phone_needle(v, &mut buf, emit)
                    {
                        continue;
                    }
                    if matches!(
                        kind,
                        Some(detect::DetectedKind::Date | detect::DetectedKind::PostalCode)
                    ) {
                        continue;
                    }
                    lower_into(v, &mut lower);
                    if lower.chars().count() >= 12 && lower.contains(' ') {
                        emit(Needle::Text(Kind::Text, lower.as_bytes()));
                    }
                    let mut w = words(&lower);
                    let (w0, w1, w2, w3) = (w.next(), w.next(), w.next(), w.next());
                    match (w0, w1) {
                        (Some(a), Some(b))
                            if b.starts_with(|c: char| c.is_ascii_digit())
                                && a.chars().count() >= 4 =>
                        {
                            pair.clear();
                            pair.extend_from_slice(a.as_bytes());
                            pair.push(b' ');
                            pair.extend_from_slice(b.as_bytes());
                            emit(Needle::Text(Kind::Address, &pair));
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
            }
        }
    }
    Ok(used.iter().filter(|u| **u).count())
}

/// The leak scan's needles: exact numbers and 64-bit fingerprints of text, each in one
/// sorted vector (8 bytes a distinct needle).
#[derive(Debug, Default)]
struct Needles {
    /// Identity numbers and phones, exactly ([`number`]).
    numbers: SortedSet,
    /// Emails, text, addresses, interim numbers and name words ([`fingerprint`]).
    text: SortedSet,
    /// How many input columns gave needles.
    columns: usize,
}

impl Needles {
    fn len(&self) -> usize {
        self.numbers.len() + self.text.len()
    }

    fn add(&mut self, n: Needle<'_>) {
        match n {
            Needle::Number(k, v) => self.numbers.insert(number(k, v)),
            Needle::Text(k, b) => self.text.insert(fingerprint(k, b)),
        }
    }

    fn build(policy: &Policy, inputs: &[PathBuf], read: &ReadOptions) -> Result<Needles> {
        let mut n = Needles::default();
        let columns = each_needle(policy, inputs, read, &mut |x| n.add(x))?;
        n.columns = columns;
        n.numbers.finish();
        n.text.finish();
        Ok(n)
    }

    /// Scans one cell. Returns the kinds (as bits) found exactly; hits on text needles,
    /// still to be confirmed, are left in `s.hits`.
    fn scan(&self, cell: &str, free_text: bool, s: &mut Scratch) -> u8 {
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
fn record_hits(leaks: &mut BTreeMap<(String, Kind), Leak>, column: &str, exact: u8, s: &Scratch) {
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
struct Leak {
    /// Cells that hit (exactly or by fingerprint).
    cells: u64,
    /// Whether a hit was exact (a number) or has been confirmed byte for byte.
    confirmed: bool,
    /// Up to [`SAMPLES`] distinct fingerprint hits to confirm: fingerprint and bytes.
    samples: Vec<(u64, Box<[u8]>)>,
}

/// How many fingerprint hits per column and kind the confirmation pass compares.
const SAMPLES: usize = 8;

/// Confirms fingerprint hits by reading the inputs' needles again and comparing bytes: a
/// 64-bit collision must not fail an extract. Returns how many leaks were dismissed.
fn confirm_leaks<K: Ord>(
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

#[cfg(test)]
mod tests {
    use super::*;

    const PNR12: &str = "194608239986";

    fn needles(list: &[Needle<'_>]) -> Needles {
        let mut n = Needles::default();
        for x in list {
            n.add(*x);
        }
        n.numbers.finish();
        n.text.finish();
        n
    }

    /// The kinds found in `cell` (exact and by fingerprint).
    fn found(n: &Needles, cell: &str, free: bool) -> Vec<Kind> {
        let mut s = Scratch::default();
        let exact = n.scan(cell, free, &mut s);
        let mut v: Vec<Kind> = KINDS
            .into_iter()
            .filter(|k| exact & k.bit() != 0 || s.hits.iter().any(|h| h.kind == *k))
            .collect();
        v.dedup();
        v
    }

    fn sample() -> Needles {
        needles(&[
            Needle::Number(Kind::Pnr, digits_value(PNR12.as_bytes())),
            Needle::Number(Kind::Phone, 46_701_234_567),
            Needle::Text(Kind::Email, b"anna.berg@example.se"),
            Needle::Text(Kind::Address, b"storgatan 12"),
            Needle::Text(Kind::Word, b"lindqvist"),
        ])
    }

    #[test]
    fn identity_numbers_in_every_spelling() {
        let n = sample();
        for cell in [
            "194608239986",
            "19460823-9986",
            "460823-9986",
            "460823+9986",
            "4608239986",
            "ring 19460823-9986 idag",
            "19460823_9986",
            "460823:9986",
            "19460823.9986",
            "ID194608239986",
            "pnr194608239986x",
            "id:460823-9986",
            "ab4608239986cd",
        ] {
            assert_eq!(found(&n, cell, false), vec![Kind::Pnr], "{}", cell.len());
        }
        // Other numbers, and other centuries of a 12-digit number.
        for cell in ["204608239986", "194608239987", "46082399", "1946082399861"] {
            assert!(found(&n, cell, false).is_empty(), "{}", cell.len());
        }
    }

    #[test]
    fn phones_in_every_spelling() {
        let n = sample();
        for cell in [
            "070-123 45 67",
            "0701234567",
            "+46701234567",
            "+46 70 123 45 67",
            "+46(0)70-123 45 67",
            "+46 (0)70 123 45 67",
            "0046701234567",
            "0046 70 123 45 67",
            "46701234567",
            "ring 070-123 45 67 efter tre",
            "tel0701234567",
        ] {
            assert_eq!(found(&n, cell, false), vec![Kind::Phone], "{}", cell.len());
        }
        assert!(found(&n, "070-123 45 68", false).is_empty());
    }

    #[test]
    fn digit_runs_inside_tokens_are_not_numbers() {
        let n = sample();
        // Tokens whose hex holds the numbers' digits, glued to letters on both sides.
        let hex = |digits: &str, first: char| {
            let mut t = format!("{first}b{digits}c{}", "0123456789abcdef".repeat(2));
            t.truncate(32);
            t
        };
        for digits in [PNR12, "0701234567", "46701234567"] {
            let token = hex(digits, 'a');
            assert!(is_token(token.as_bytes()));
            assert!(found(&n, &token, false).is_empty());
        }
        // The same with a letter outside hex is no token: the number counts.
        assert_eq!(found(&n, &hex(PNR12, 'x'), false), vec![Kind::Pnr]);
        // An uppercase token is no minex token either.
        assert_eq!(
            found(&n, &hex(PNR12, 'a').to_uppercase(), false),
            vec![Kind::Pnr]
        );
    }

    #[test]
    fn emails_addresses_and_names() {
        let n = sample();
        assert_eq!(found(&n, "Anna.Berg@Example.se", false), vec![Kind::Email]);
        assert_eq!(
            found(&n, "skriv till <anna.berg@example.se>.", false),
            vec![Kind::Email]
        );
        assert_eq!(found(&n, "Storgatan 12, Lund", true), vec![Kind::Address]);
        assert_eq!(found(&n, "Storgatan 12", false), vec![Kind::Address]);
        // Name words only inside free text, and never a whole cell outside it.
        assert_eq!(
            found(&n, "pratade med Lindqvist idag", true),
            vec![Kind::Word]
        );
        assert!(found(&n, "Lindqvist", false).is_empty());
    }

    #[test]
    fn sorted_set_compacts_while_it_grows() {
        let mut s = SortedSet::default();
        for i in 0..100_000u64 {
            s.insert(i % 3000);
        }
        assert!(s.v.capacity() < 8192, "{}", s.v.capacity());
        s.finish();
        assert_eq!(s.len(), 3000);
        assert!(s.contains(2999) && !s.contains(3000));
        let mut t = SortedSet::default();
        for k in [Kind::Email, Kind::Text] {
            t.insert((42 & !7) | k as u64);
        }
        t.insert(8 | Kind::Word as u64);
        t.finish();
        assert_eq!(t.kinds(42), Kind::Email.bit() | Kind::Text.bit());
        assert_eq!(t.kinds(8), Kind::Word.bit());
        assert_eq!(t.kinds(16), 0);
    }

    #[test]
    fn formats() {
        assert!(value_ok(&Expect::Token, "0123456789abcdef0123456789abcdef"));
        assert!(!value_ok(
            &Expect::Token,
            "0123456789ABCDEF0123456789abcdef"
        ));
        assert!(value_ok(&Expect::Month, "1987-06"));
        assert!(!value_ok(&Expect::Month, "1987-13"));
        assert!(value_ok(&Expect::AgeBand(5), "35-39"));
        assert!(!value_ok(&Expect::AgeBand(5), "36-40"));
        assert!(value_ok(&Expect::Truncate(3), "åäö"));
        assert!(!value_ok(&Expect::Truncate(3), "1234"));
    }
}

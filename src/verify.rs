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
//! more *needles*, kept as 64-bit hashes (memory follows the input's distinct sensitive
//! values, 8 bytes each):
//! * identity numbers in every spelling (12 and 10 digits, so separators do not matter),
//! * emails (canonical), phones (E.164 digits and the national form with a leading 0),
//! * long text (addresses, notes: the whole value, lowercased) and addresses by their street
//!   and number (`storgatan 12`),
//! * single words of names (at least 4 letters), matched only inside free-text-like columns,
//!   since a surname such as `Lund` is also a city.
//!
//! Every string cell of the extract is then searched: the whole cell, every run of digits and
//! separators with at least 8 digits, every email-like word, and (in free text) every word and
//! pair of words. A hit names the extract column and the kind of needle, never the value.

use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::hash::{Hash, Hasher};
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
    let builder = ParquetRecordBatchReaderBuilder::try_new(file).map_err(|_| {
        Error::malformed(Location::file(&cfg.extract), "not a readable Parquet file")
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
    let mut leaks: HashMap<(String, &'static str), u64> = HashMap::new();
    let mut token_samples: HashMap<String, Vec<String>> = HashMap::new();
    let reader = builder
        .build()
        .map_err(|_| Error::malformed(Location::file(&cfg.extract), "cannot read the extract"))?;
    let mut free_text: HashMap<String, bool> = HashMap::new();
    for batch in reader {
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
                    for kind in n.scan(v, is_free) {
                        *leaks.entry((name.clone(), kind)).or_default() += 1;
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

    // Leaks.
    match &needles {
        Some(n) => {
            if leaks.is_empty() {
                report.pass(
                    "leak_scan",
                    None,
                    format!(
                        "no value of the {} dropped, tokenized or encrypted input columns appears in the extract ({} distinct needles)",
                        n.columns, n.len()
                    ),
                );
            } else {
                let mut l: Vec<_> = leaks.into_iter().collect();
                l.sort();
                for ((col, kind), count) in l {
                    report.fail(
                        "leak_scan",
                        Some(&col),
                        format!("{count} cells hold {kind} from a protected input column"),
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
    let m: Manifest = match Manifest::read(&path) {
        Some(m) => m,
        None => {
            report.fail(
                "manifest",
                None,
                format!("`{}` is missing or not a minex manifest", path.display()),
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
    report.check(
        meta.get("minex.run_id") == Some(&m.run_id),
        "manifest.run_id",
        None,
        "the manifest and the extract carry the same run id",
    );
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

/// The leak scan's needles: 64-bit hashes of sensitive values, by kind.
struct Needles {
    strong: HashMap<u64, &'static str>,
    words: HashSet<u64>,
    columns: usize,
}

fn h(s: &[u8]) -> u64 {
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    s.hash(&mut hasher);
    hasher.finish()
}

const PNR: &str = "an identity number";
const EMAIL: &str = "an email address";
const PHONE: &str = "a phone number";
const TEXT: &str = "a text value (address or note)";
const ADDRESS: &str = "a street address";
const WORD: &str = "a name";

impl Needles {
    fn len(&self) -> usize {
        self.strong.len() + self.words.len()
    }

    fn build(policy: &Policy, inputs: &[PathBuf], read: &ReadOptions) -> Result<Needles> {
        let protected: Vec<&crate::policy::ColumnSpec> = policy
            .columns
            .iter()
            .filter(|c| {
                matches!(
                    c.action,
                    Action::Drop | Action::Tokenize { .. } | Action::Encrypt { .. }
                )
            })
            .collect();
        let names: Vec<String> = protected.iter().map(|c| c.name.clone()).collect();
        let mut n = Needles {
            strong: HashMap::new(),
            words: HashSet::new(),
            columns: names.len(),
        };
        let opts = ParseOptions {
            reference: policy.reference_date,
            allow_interim: true,
        };
        let mut buf = String::new();
        for path in inputs {
            let input = Input::open(path, read)?;
            let present: Vec<String> = names
                .iter()
                .filter(|c| input.header.contains(c))
                .cloned()
                .collect();
            if present.is_empty() {
                continue;
            }
            let mut r = input.batches(&present, read)?;
            let mut kinds: Vec<Option<detect::DetectedKind>> = Vec::new();
            while let Some((_, b)) = r.next_batch()? {
                for (ci, col) in present.iter().enumerate() {
                    let Some(t) = render(b.column(ci)) else {
                        continue;
                    };
                    if kinds.len() <= ci {
                        let d = detect::detect(t.iter().take(1000), policy.reference_date);
                        let typed = policy.column(col).map(|c| c.value_type);
                        kinds.push(match typed {
                            Some(ValueType::Personnummer) => {
                                Some(detect::DetectedKind::Personnummer)
                            }
                            Some(ValueType::Email) => Some(detect::DetectedKind::Email),
                            Some(ValueType::Phone) => Some(detect::DetectedKind::Phone),
                            _ if d.share >= 0.5 => d.kind.or(d.scores.first().map(|s| s.0)),
                            _ => None,
                        });
                    }
                    let kind = kinds[ci];
                    for v in t.iter().flatten() {
                        let v = v.trim();
                        if v.is_empty() {
                            continue;
                        }
                        // Shape-based needles, whatever the column's kind.
                        if let Ok(p) = Pnr::parse(v, &opts) {
                            let c = p.canonical();
                            n.strong.insert(h(c), PNR);
                            n.strong.insert(h(&c[2..]), PNR);
                            continue;
                        }
                        if v.contains('@') {
                            buf.clear();
                            if ident::email::canonicalize(v, &mut buf).is_ok() {
                                n.strong.insert(h(buf.as_bytes()), EMAIL);
                                continue;
                            }
                        }
                        if kind == Some(detect::DetectedKind::Phone) {
                            buf.clear();
                            if ident::phone::canonicalize(v, &mut buf).is_ok() {
                                let digits = &buf.as_bytes()[1..];
                                n.strong.insert(h(digits), PHONE);
                                if let Some(national) = buf.strip_prefix("+46") {
                                    n.strong.insert(h(format!("0{national}").as_bytes()), PHONE);
                                }
                                continue;
                            }
                        }
                        if matches!(
                            kind,
                            Some(detect::DetectedKind::Date | detect::DetectedKind::PostalCode)
                        ) {
                            continue;
                        }
                        let lower = v.to_lowercase();
                        if lower.chars().count() >= 12 && lower.contains(' ') {
                            n.strong.insert(h(lower.as_bytes()), TEXT);
                        }
                        let words: Vec<&str> = lower
                            .split(|c: char| !c.is_alphanumeric())
                            .filter(|w| !w.is_empty())
                            .collect();
                        if words.len() >= 2
                            && words[1].chars().next().is_some_and(|c| c.is_ascii_digit())
                            && words[0].chars().count() >= 4
                        {
                            n.strong.insert(
                                h(format!("{} {}", words[0], words[1]).as_bytes()),
                                ADDRESS,
                            );
                        } else if words.len() <= 3 {
                            for w in words {
                                if w.chars().count() >= 4 && w.chars().all(char::is_alphabetic) {
                                    n.words.insert(h(w.as_bytes()));
                                }
                            }
                        }
                    }
                }
            }
        }
        Ok(n)
    }

    /// The kinds of needle found in one cell.
    fn scan(&self, cell: &str, free_text: bool) -> Vec<&'static str> {
        let mut hits = Vec::new();
        let lower = cell.trim().to_lowercase();
        if let Some(k) = self.strong.get(&h(lower.as_bytes())) {
            hits.push(*k);
        }
        // Runs of digits and separators with at least 8 digits.
        let bytes = lower.as_bytes();
        let mut i = 0;
        while i < bytes.len() {
            let at_boundary = i == 0 || !bytes[i - 1].is_ascii_alphanumeric();
            if at_boundary && (bytes[i].is_ascii_digit() || bytes[i] == b'+') {
                let start = i;
                while i < bytes.len()
                    && (bytes[i].is_ascii_digit() || b" -+()/.".contains(&bytes[i]))
                {
                    i += 1;
                }
                while i > start + 1 && !bytes[i - 1].is_ascii_digit() {
                    i -= 1;
                }
                // A run glued to letters (a hex token, a code) is not a number someone wrote.
                if i < bytes.len() && bytes[i].is_ascii_alphanumeric() {
                    while i < bytes.len() && bytes[i].is_ascii_alphanumeric() {
                        i += 1;
                    }
                    continue;
                }
                let run = &lower[start..i];
                let digits: String = run.chars().filter(char::is_ascii_digit).collect();
                if digits.len() >= 8 {
                    for cand in std::iter::once(digits.as_str())
                        .chain(run.split(' ').filter(|p| p.len() >= 8))
                    {
                        let d: String = cand.chars().filter(char::is_ascii_digit).collect();
                        if let Some(k) = self.strong.get(&h(d.as_bytes())) {
                            hits.push(*k);
                        }
                    }
                }
            } else if bytes[i].is_ascii_alphanumeric() {
                // Skip the rest of a word, so a digit run must start at a boundary.
                while i < bytes.len() && bytes[i].is_ascii_alphanumeric() {
                    i += 1;
                }
            } else {
                i += 1;
            }
        }
        if lower.contains('@') {
            for w in lower.split(|c: char| c.is_whitespace() || ",;:<>()[]\"'".contains(c)) {
                let w = w.trim_end_matches('.');
                if w.contains('@')
                    && let Some(k) = self.strong.get(&h(w.as_bytes()))
                {
                    hits.push(*k);
                }
            }
        }
        if free_text {
            let words: Vec<&str> = lower
                .split(|c: char| !c.is_alphanumeric())
                .filter(|w| !w.is_empty())
                .collect();
            for pair in words.windows(2) {
                if let Some(k) = self
                    .strong
                    .get(&h(format!("{} {}", pair[0], pair[1]).as_bytes()))
                {
                    hits.push(*k);
                }
            }
            if words.iter().any(|w| self.words.contains(&h(w.as_bytes()))) {
                hits.push(WORD);
            }
        }
        hits.sort_unstable();
        hits.dedup();
        hits
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digit_runs_need_boundaries() {
        let mut n = Needles {
            strong: HashMap::new(),
            words: HashSet::new(),
            columns: 1,
        };
        n.strong.insert(h(b"194608239986"), PNR);
        n.strong.insert(h(b"4608239986"), PNR);
        assert_eq!(n.scan("ring 19460823-9986 idag", false), vec![PNR]);
        assert_eq!(n.scan("460823-9986", false), vec![PNR]);
        assert!(n.scan("ab4608239986cd", false).is_empty());
        assert!(n.scan("4608239986ab", false).is_empty());
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

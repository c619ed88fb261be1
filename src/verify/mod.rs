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

use std::collections::{BTreeMap, HashMap};
use std::fs::File;
use std::path::PathBuf;

use arrow::array::{Array, RecordBatch, StringArray};
use arrow::datatypes::DataType;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::error::{Error, Location, Result};
use crate::io::ReadOptions;
use crate::keys::MasterKey;
use crate::policy::{KAnonymity, Policy};

mod expect;
mod manifest;
mod needles;
mod scan;
mod tokens;

use expect::*;
use manifest::*;
use needles::*;
use scan::*;
use tokens::*;

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

/// Runs every check; returns the report (a failed check is not an `Err`).
///
/// # Errors
/// Only when the policy or extract cannot be read at all.
pub fn verify(cfg: &VerifyConfig) -> Result<VerifyReport> {
    let policy = crate::policy::from_file(&cfg.policy)?;
    let mut report = VerifyReport::default();
    let policy = at_manifest_levels(cfg, policy, &mut report);
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

    let policy_sha = check_metadata(cfg, &policy, &meta, &mut report)?;
    let expects = expectations(&policy);
    let names: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
    let by_name: HashMap<&str, &Expect> = expects.iter().map(|(n, e)| (n.as_str(), e)).collect();
    check_schema(&schema, &names, &expects, &mut report);

    // One pass over the extract: formats, k-anonymity classes, leak candidates, token samples.
    let needles = if cfg.inputs.is_empty() {
        None
    } else {
        Some(Needles::build(&policy, &cfg.inputs, &cfg.read)?)
    };
    let k = policy.k_anonymity.clone();
    // The extract's columns that are the quasi-identifiers, and the sensitive ones.
    let positions = |wanted: &[String]| -> Vec<usize> {
        wanted
            .iter()
            .filter_map(|q| names.iter().position(|n| n == q))
            .collect()
    };
    let qi_idx = k
        .as_ref()
        .map(|k| positions(&k.quasi_identifiers))
        .unwrap_or_default();
    let sensitive_idx = k
        .as_ref()
        .map(|k| positions(&k.sensitive))
        .unwrap_or_default();
    let mut reader = crate::io::guard(&cfg.extract, || {
        builder
            .build()
            .map_err(|_| Error::malformed(Location::file(&cfg.extract), "cannot read the extract"))
    })?;
    let mut pass = Pass {
        sensitive_idx,
        l: k.as_ref().and_then(|k| k.l).unwrap_or(0),
        ..Pass::default()
    };
    while let Some(batch) = crate::io::guard(&cfg.extract, || Ok(reader.next()))? {
        let batch: RecordBatch = batch.map_err(|_| {
            Error::malformed(Location::file(&cfg.extract), "cannot decode the extract")
        })?;
        pass.batch(&batch, cfg, &by_name, &qi_idx, needles.as_ref());
    }
    check_formats(&expects, &names, &pass, &mut report);
    check_k_anonymity(k.as_ref(), &qi_idx, &pass.classes, &mut report);
    check_l_diversity(k.as_ref(), &pass, &mut report);

    // The manifest beside the extract.
    let counted = (!qi_idx.is_empty()).then(|| {
        (
            pass.classes.len() as u64,
            pass.classes.values().copied().min().unwrap_or(0),
        )
    });
    verify_manifest(cfg, &meta, &policy_sha, total_rows, counted, &mut report);

    report_leaks(cfg, &policy, needles.as_ref(), pass.leaks, &mut report)?;

    // Tokens recomputed.
    match (&cfg.key, cfg.inputs.is_empty()) {
        (Some(key), false) => verify_tokens(&policy, key, cfg, &pass.token_samples, &mut report)?,
        _ => report.skip(
            "tokens",
            None,
            "give `--key-file` (or `MINEX_KEY`) and `--input` to recompute tokens",
        ),
    }
    Ok(report)
}

/// The extract's metadata names the policy's domain and the policy file's SHA-256; returns
/// that digest.
fn check_metadata(
    cfg: &VerifyConfig,
    policy: &Policy,
    meta: &HashMap<String, String>,
    report: &mut VerifyReport,
) -> Result<String> {
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

    Ok(policy_sha)
}

/// The extract's columns are the policy's output columns, in order, with the expected types.
fn check_schema(
    schema: &arrow::datatypes::Schema,
    names: &[&str],
    expects: &[(String, Expect)],
    report: &mut VerifyReport,
) {
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
}

/// What the one pass over the extract gathers.
#[derive(Default)]
struct Pass {
    /// Rows per k-anonymity class (the rendered quasi-identifier values).
    classes: HashMap<Vec<Option<String>>, u64>,
    /// l-diversity: the columns of the sensitive columns, and per class, per sensitive
    /// column, its distinct non-null values (up to `l`).
    sensitive_idx: Vec<usize>,
    l: u64,
    distinct: HashMap<Vec<Option<String>>, Vec<Vec<String>>>,
    /// Values of a column that do not fit its expected format.
    bad_format: HashMap<String, u64>,
    /// Values in a column that should be all null.
    null_violations: HashMap<String, u64>,
    /// Leak candidates by extract column and kind of needle.
    leaks: BTreeMap<(String, Kind), Leak>,
    scratch: Scratch,
    /// The first tokens of each token column, to recompute.
    token_samples: HashMap<String, Vec<String>>,
    /// Whether each column looks like free text (decided on its first batch).
    free_text: HashMap<String, bool>,
}

impl Pass {
    /// Checks one batch of the extract.
    fn batch(
        &mut self,
        batch: &RecordBatch,
        cfg: &VerifyConfig,
        by_name: &HashMap<&str, &Expect>,
        qi_idx: &[usize],
        needles: Option<&Needles>,
    ) {
        let rendered: Vec<Option<StringArray>> = batch.columns().iter().map(render).collect();
        for (ci, field) in batch.schema().fields().iter().enumerate() {
            let name = field.name();
            let arr = batch.column(ci);
            let Some(text) = &rendered[ci] else { continue };
            let expect = by_name.get(name.as_str());
            if let Some(Expect::Null(_)) = expect
                && arr.null_count() != arr.len()
            {
                *self.null_violations.entry(name.clone()).or_default() +=
                    (arr.len() - arr.null_count()) as u64;
            }
            let is_free = *self
                .free_text
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
                    *self.bad_format.entry(name.clone()).or_default() += 1;
                }
                if let Some(n) = &needles {
                    let exact = n.scan(v, is_free, &mut self.scratch);
                    if exact != 0 || !self.scratch.hits.is_empty() {
                        record_hits(&mut self.leaks, name, exact, &self.scratch);
                    }
                }
            }
            if let Some(Expect::Token) = expect {
                let s = self.token_samples.entry(name.clone()).or_default();
                for v in text.iter().flatten() {
                    if s.len() >= cfg.token_sample {
                        break;
                    }
                    s.push(v.to_string());
                }
            }
        }
        if !qi_idx.is_empty() {
            // Classes and sensitive values by their text, booleans included (`true`/`false`;
            // the format and leak checks above skip them).
            let text_of = |c: usize| -> Option<StringArray> {
                match &rendered[c] {
                    Some(t) => Some(t.clone()),
                    None => arrow::compute::cast(batch.column(c), &DataType::Utf8)
                        .ok()
                        .and_then(|a| a.as_any().downcast_ref::<StringArray>().cloned()),
                }
            };
            let keyed: Vec<Option<StringArray>> = (0..batch.num_columns())
                .map(|c| {
                    (qi_idx.contains(&c) || self.sensitive_idx.contains(&c))
                        .then(|| text_of(c))
                        .flatten()
                })
                .collect();
            let rendered = &keyed;
            for row in 0..batch.num_rows() {
                let key: Vec<Option<String>> = qi_idx
                    .iter()
                    .map(|&c| {
                        rendered[c]
                            .as_ref()
                            .and_then(|t| (!t.is_null(row)).then(|| t.value(row).to_string()))
                    })
                    .collect();
                if !self.sensitive_idx.is_empty() {
                    let sets = self
                        .distinct
                        .entry(key.clone())
                        .or_insert_with(|| vec![Vec::new(); self.sensitive_idx.len()]);
                    for (set, &c) in sets.iter_mut().zip(&self.sensitive_idx) {
                        if let Some(t) = &rendered[c]
                            && !t.is_null(row)
                            && (set.len() as u64) < self.l
                            && !set.iter().any(|v| v == t.value(row))
                        {
                            set.push(t.value(row).to_string());
                        }
                    }
                }
                *self.classes.entry(key).or_default() += 1;
            }
        }
    }
}

/// With ladders, the policy at the levels the run chose (the manifest's
/// `k_anonymity.search.levels`), so the extract is checked against what was written; a
/// missing or impossible choice is a failed check (and the finest levels are checked).
fn at_manifest_levels(cfg: &VerifyConfig, policy: Policy, report: &mut VerifyReport) -> Policy {
    if !policy.has_ladders() {
        return policy;
    }
    let path = crate::io::output::OutputPaths::beside(&cfg.extract).manifest;
    let levels = crate::report::Manifest::read(&path)
        .and_then(|m| m.k_anonymity)
        .and_then(|k| k.search)
        .map(|s| s.levels);
    let ladders = policy.ladders();
    match levels {
        Some(levels)
            if levels.len() == ladders.len()
                && levels
                    .iter()
                    .zip(&ladders)
                    .all(|(lv, (_, l))| *lv < l.len()) =>
        {
            match policy.at_levels(&levels) {
                Ok(p) => {
                    report.pass(
                        "k_anonymity.search",
                        None,
                        format!(
                            "the manifest's levels fit the policy's ladders: {}",
                            ladders
                                .iter()
                                .zip(&levels)
                                .map(|((q, l), lv)| format!("{q}: {}", l[*lv]))
                                .collect::<Vec<_>>()
                                .join(", ")
                        ),
                    );
                    p
                }
                Err(_) => {
                    report.fail(
                        "k_anonymity.search",
                        None,
                        "the manifest's levels do not fit the policy's ladders; the extract is checked at the finest levels",
                    );
                    policy
                }
            }
        }
        _ => {
            report.fail(
                "k_anonymity.search",
                None,
                "the policy gives ladders of levels, but the manifest names no levels that fit them; the extract is checked at the finest levels",
            );
            policy
        }
    }
}

/// Every class holds at least `l` distinct non-null values of each sensitive column.
fn check_l_diversity(k: Option<&KAnonymity>, pass: &Pass, report: &mut VerifyReport) {
    let Some((k, l)) = k.and_then(|k| k.l.map(|l| (k, l))) else {
        return;
    };
    if pass.sensitive_idx.len() != k.sensitive.len() {
        report.fail(
            "l_diversity",
            None,
            "the extract lacks some sensitive columns",
        );
        return;
    }
    let fewest = |sets: &Vec<Vec<String>>| sets.iter().map(Vec::len).min().unwrap_or(0) as u64;
    let below = pass.distinct.values().filter(|s| fewest(s) < l).count();
    let smallest = pass.distinct.values().map(fewest).min().unwrap_or(0);
    report.check(
        below == 0,
        "l_diversity",
        None,
        format!(
            "{} classes, fewest distinct values of ({}) in a class {smallest} (counted up to l), {below} below l = {l}",
            pass.distinct.len(),
            k.sensitive.join(", ")
        ),
    );
}

/// Every value of each output column fits its expected format.
fn check_formats(
    expects: &[(String, Expect)],
    names: &[&str],
    pass: &Pass,
    report: &mut VerifyReport,
) {
    for (name, e) in expects {
        if !names.contains(&name.as_str()) {
            continue;
        }
        let bad = pass.bad_format.get(name).copied().unwrap_or(0)
            + pass.null_violations.get(name).copied().unwrap_or(0);
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
}

/// No class of the quasi-identifiers is smaller than `k`.
fn check_k_anonymity(
    k: Option<&KAnonymity>,
    qi_idx: &[usize],
    classes: &HashMap<Vec<Option<String>>, u64>,
    report: &mut VerifyReport,
) {
    match k {
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
}

/// The leak scan's verdict; fingerprint hits are confirmed byte for byte before they count.
fn report_leaks(
    cfg: &VerifyConfig,
    policy: &Policy,
    needles: Option<&Needles>,
    mut leaks: BTreeMap<(String, Kind), Leak>,
    report: &mut VerifyReport,
) -> Result<()> {
    match needles {
        Some(n) => {
            let dismissed = confirm_leaks(&mut leaks, policy, &cfg.inputs, &cfg.read)?;
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

    Ok(())
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

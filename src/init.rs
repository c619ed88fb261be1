//! `minex init`: a commented starting policy for an input, safe by default, written from the
//! input's header and a sample of its rows.
//!
//! A steward's first run on a new register should take minutes. [`scaffold`] reads the header
//! and the first rows (10,000 by default), looks at every column with
//! [`crate::ident::detect::detect`] and at the column's name, and writes a policy in which
//! every column is `drop` unless the sample and the name support a safer useful choice:
//!
//! * identity numbers (detected, or named like one and mostly valid) are tokenized in one
//!   shared space `person`, `nullable: true` when the sample holds empty values;
//! * dates with a birth-like name are generalized to the year; other dates are dropped;
//! * postal codes are truncated to their first three digits (the postal area);
//! * a protected-identity column (named like one, holding true/false words) feeds a
//!   `rows: drop_when` rule and is then dropped;
//! * low-cardinality codes (at most [`MAX_KEPT_DISTINCT`] distinct short values, each seen
//!   several times, nothing identity-like) are kept;
//! * names, addresses, e-mails, phones, free text and anything else are dropped;
//! * a `k_anonymity` section covers the generalized, truncated and kept columns (`k: 5`,
//!   `on_violation: suppress`, `max_suppression: 0.05`). The scaffold estimates on the sample
//!   how many rows would be suppressed and, while that is more than half of what the run
//!   allows, gives up one step at a time: first the coarsening that helps most (birth year →
//!   decade, three postal digits → two), and when no coarsening helps, it drops a
//!   quasi-identifier (kept codes before the postal area before the birth date, unless
//!   another drop helps more). Each step is explained in the column's comment. The sample is
//!   the first rows, so on a larger input the classes are larger and the estimate errs on
//!   the safe side.
//!
//! Each column gets a one-line comment saying why. The policy never holds a value read from
//! the input: only counts, shares, column names and fixed words such as `"true"`.

use std::collections::{HashMap, HashSet};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use arrow::array::{Array, StringArray};
use arrow::datatypes::DataType;

use crate::error::{Error, Location, Result};
use crate::ident::date::Date;
use crate::ident::detect::{self, DetectedKind, Detection};
use crate::ident::personnummer::{ParseOptions, Pnr};
use crate::ident::{parse_bool, postal};
use crate::io::{Input, ReadOptions};
use minex_core::policy::vocabulary::{self as vocab, has_any_word};

/// Rows read by default.
pub const DEFAULT_SAMPLE_ROWS: usize = 10_000;
/// The `domain` written when none is given: a placeholder the steward must replace (`check`,
/// `plan` and `run` refuse it).
pub use crate::policy::PLACEHOLDER_DOMAIN;
/// The token space shared by every identity-number column.
pub const PERSON_SPACE: &str = "person";
/// The `k` written in the `k_anonymity` section.
pub const K: u64 = 5;
/// The `max_suppression` written in the `k_anonymity` section.
pub const MAX_SUPPRESSION: f64 = 0.05;
/// Kept columns have at most this many distinct values in the sample.
pub const MAX_KEPT_DISTINCT: usize = 50;
/// Kept columns have no value longer than this (in characters).
pub const MAX_KEPT_CHARS: usize = 20;
/// A kept column's sample holds at least this many values per distinct value (so a column of
/// names is not mistaken for a code just because the sample is small).
const MIN_VALUES_PER_DISTINCT: usize = 5;
/// The scaffold coarsens quasi-identifiers until the sample's suppression is at most this.
const TARGET_SUPPRESSION: f64 = MAX_SUPPRESSION / 2.0;

/// What `minex init` needs.
#[derive(Debug, Clone)]
pub struct InitOptions {
    /// The input files (one header shared by all).
    pub inputs: Vec<PathBuf>,
    /// How to read them.
    pub read: ReadOptions,
    /// How many data rows to sample (from the first file on).
    pub sample_rows: usize,
    /// The policy's `name` (default: from the first input's file name).
    pub name: Option<String>,
    /// The policy's `domain` (default: [`PLACEHOLDER_DOMAIN`]).
    pub domain: Option<String>,
    /// The policy's `reference_date`, also used to read 10-digit identity numbers.
    pub reference_date: Date,
}

/// A policy column's generalization in the scaffold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BirthLevel {
    /// `to: year`.
    Year,
    /// `to: decade`.
    Decade,
}

/// What the scaffold does with a column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// `{ type: personnummer, action: tokenize, space: person }`.
    Tokenize {
        /// Whether empty values are allowed.
        nullable: bool,
    },
    /// `{ type: date, action: generalize, to: ... }`.
    GeneralizeBirth {
        /// Year or decade.
        to: BirthLevel,
        /// `on_invalid: null` (the sample held values that are not dates).
        invalid_to_null: bool,
    },
    /// `{ type: postal_code, action: truncate, keep: N }`.
    TruncatePostal {
        /// Digits kept.
        keep: usize,
        /// `on_invalid: null` (the sample held values that are not postal codes).
        invalid_to_null: bool,
    },
    /// `keep`.
    Keep,
    /// `{ type: boolean, action: drop }`, after a `rows: drop_when` rule on this column.
    ProtectedRule {
        /// Sampled rows the rule matches.
        marked: usize,
    },
    /// `drop`.
    Drop,
}

/// One column of the scaffold.
#[derive(Debug, Clone)]
pub struct ColumnChoice {
    /// The column name (from the header).
    pub name: String,
    /// What happens to it.
    pub decision: Decision,
    /// Why, in one line (counts and shares only, never a value).
    pub reason: String,
}

/// The written scaffold.
#[derive(Debug, Clone)]
pub struct Scaffold {
    /// The policy text (YAML with comments).
    pub text: String,
    /// Every input column, in header order.
    pub columns: Vec<ColumnChoice>,
    /// Data rows sampled.
    pub sampled_rows: usize,
    /// The `k_anonymity` quasi-identifiers (empty when there is no section).
    pub quasi_identifiers: Vec<String>,
    /// The share of sampled rows that would be suppressed with the written policy.
    pub estimated_suppression: f64,
}

impl Scaffold {
    /// How many columns got each action: (tokenized, generalized, truncated, kept, dropped).
    pub fn counts(&self) -> (usize, usize, usize, usize, usize) {
        let mut c = (0, 0, 0, 0, 0);
        for col in &self.columns {
            match col.decision {
                Decision::Tokenize { .. } => c.0 += 1,
                Decision::GeneralizeBirth { .. } => c.1 += 1,
                Decision::TruncatePostal { .. } => c.2 += 1,
                Decision::Keep => c.3 += 1,
                Decision::ProtectedRule { .. } | Decision::Drop => c.4 += 1,
            }
        }
        c
    }
}

/// Today's date in UTC, from the system clock.
pub fn today_utc() -> Date {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    Date::from_days(i32::try_from(secs / 86_400).unwrap_or(i32::MAX))
}

/// One column of the sample: values trimmed, `None` for null or blank.
struct ColumnSample {
    values: Vec<Option<String>>,
}

/// Reads the header (checking that every input shares it) and up to `sample_rows` rows.
fn read_sample(opts: &InitOptions) -> Result<(Vec<String>, Vec<ColumnSample>, usize)> {
    let Some(first) = opts.inputs.first() else {
        return Err(Error::usage(
            "`minex init` needs at least one `--input FILE`",
        ));
    };
    let first = Input::open(first, &opts.read)?;
    let header = first.header.clone();
    let mut seen = HashSet::new();
    for h in &header {
        if !seen.insert(h.as_str()) {
            return Err(Error::malformed(
                Location::file(&first.path),
                format!("the header names column `{h}` twice; every column needs its own name"),
            ));
        }
    }
    let mut inputs = vec![first];
    for p in &opts.inputs[1..] {
        let i = Input::open(p, &opts.read)?;
        if i.header != header {
            return Err(Error::malformed(
                Location::file(p),
                "its header differs from the first input's; the inputs of one policy share one header",
            ));
        }
        inputs.push(i);
    }
    let mut columns: Vec<ColumnSample> = header
        .iter()
        .map(|_| ColumnSample { values: Vec::new() })
        .collect();
    let mut rows = 0usize;
    let read = ReadOptions {
        batch_size: opts.sample_rows.clamp(1, 8192),
        digest: false,
        ..opts.read.clone()
    };
    'files: for input in &inputs {
        let mut r = input.batches(&header, &read)?;
        while let Some((_, batch)) = r.next_batch()? {
            let take = batch.num_rows().min(opts.sample_rows - rows);
            for (ci, col) in columns.iter_mut().enumerate() {
                let array = batch.column(ci);
                let text = arrow::compute::cast(array, &DataType::Utf8).map_err(|_| {
                    Error::malformed(
                        Location::file(&input.path).with_column(header[ci].clone()),
                        "the column cannot be read as text",
                    )
                })?;
                let Some(text) = text.as_any().downcast_ref::<StringArray>() else {
                    return Err(Error::internal("a cast to text did not give text"));
                };
                col.values.extend(text.iter().take(take).map(|v| {
                    v.map(str::trim)
                        .filter(|s| !s.is_empty())
                        .map(str::to_string)
                }));
            }
            rows += take;
            if rows >= opts.sample_rows {
                break 'files;
            }
        }
    }
    Ok((header, columns, rows))
}

/// Counts and shares of one sampled column; never a value.
struct Stats {
    detection: Detection,
    non_null: usize,
    nulls: usize,
    /// Distinct values, when at most `MAX_KEPT_DISTINCT`.
    distinct: Option<usize>,
    max_chars: usize,
    avg_chars: f64,
    spaced_share: f64,
    bool_share: f64,
}

impl Stats {
    fn share(&self, kind: DetectedKind) -> f64 {
        self.detection
            .scores
            .iter()
            .find(|s| s.0 == kind)
            .map_or(0.0, |s| s.1)
    }
}

// Counts are far below 2^53, so the conversions are exact.
#[allow(clippy::cast_precision_loss)]
fn ratio(n: usize, d: usize) -> f64 {
    if d == 0 { 0.0 } else { n as f64 / d as f64 }
}

fn pct(share: f64) -> String {
    format!("{:.1}%", share * 100.0)
}

fn stats(col: &ColumnSample, reference: Date) -> Stats {
    let detection = detect::detect(col.values.iter().map(Option::as_deref), reference);
    let mut distinct: HashSet<&str> = HashSet::new();
    let mut many = false;
    let (mut non_null, mut chars, mut max_chars, mut spaced, mut bools) = (0, 0, 0, 0, 0);
    for v in col.values.iter().flatten() {
        non_null += 1;
        let n = v.chars().count();
        chars += n;
        max_chars = max_chars.max(n);
        spaced += usize::from(v.contains(char::is_whitespace));
        bools += usize::from(parse_bool(v).is_ok());
        if !many {
            distinct.insert(v.as_str());
            many = distinct.len() > MAX_KEPT_DISTINCT;
        }
    }
    Stats {
        detection,
        non_null,
        nulls: col.values.len() - non_null,
        distinct: (!many).then_some(distinct.len()),
        max_chars,
        avg_chars: ratio(chars, non_null),
        spaced_share: ratio(spaced, non_null),
        bool_share: ratio(bools, non_null),
    }
}

/// Decides one column (before the k-anonymity pass).
fn decide(name: &str, col: &ColumnSample, s: &Stats, sampled: usize) -> (Decision, String) {
    let of = |share: f64| format!("{} of {} sampled values", pct(share), s.non_null);
    let kind = s.detection.kind;
    let drop = |why: String| (Decision::Drop, why);

    // A protected-identity marker.
    if has_any_word(name, vocab::PROTECTED, vocab::PROTECTED_MORE) {
        if s.non_null == 0 || s.bool_share >= 0.95 {
            let marked = col
                .values
                .iter()
                .flatten()
                .filter(|v| parse_bool(v) == Ok(true))
                .count();
            let why = format!(
                "protected-identity marker ({marked} of {sampled} sampled rows marked): typed `boolean`, so every spelling of true matches the rule under `rows` and an unreadable value rejects its row; then dropped"
            );
            return (Decision::ProtectedRule { marked }, why);
        }
        return drop(format!(
            "named like a protected-identity marker, but {} are not true/false words: dropped, and no row rule was written; add one by hand",
            of(1.0 - s.bool_share)
        ));
    }

    // Identity numbers.
    let pnr_share = s.share(DetectedKind::Personnummer);
    let pnr_named = has_any_word(name, vocab::PNR, vocab::PNR_MORE);
    if kind == Some(DetectedKind::Personnummer)
        || (pnr_named && (s.non_null == 0 || pnr_share >= 0.5))
    {
        let nullable = s.nulls > 0 || s.non_null == 0;
        let mut why = if s.non_null == 0 {
            "named like an identity number (no values in the sample)".to_string()
        } else {
            format!(
                "{} are valid personnummer or samordningsnummer",
                of(pnr_share)
            )
        };
        let _ = write!(why, ": tokenized in the shared space `{PERSON_SPACE}`");
        if s.nulls > 0 {
            let _ = write!(why, "; {} of {sampled} empty, so nullable", s.nulls);
        }
        if pnr_share < 1.0 && s.non_null > 0 {
            why.push_str("; invalid ones go to the rejects report");
        }
        return (Decision::Tokenize { nullable }, why);
    }
    if pnr_named {
        return drop(format!(
            "named like an identity number, but only {} are valid ones: dropped; check the column",
            of(pnr_share)
        ));
    }

    // Contact details.
    if kind == Some(DetectedKind::Email) {
        return drop(format!(
            "{} are e-mail addresses (direct identifiers): dropped",
            of(s.detection.share)
        ));
    }
    if has_any_word(name, vocab::EMAIL, vocab::EMAIL_MORE) {
        return drop("named like an e-mail column (a direct identifier): dropped".into());
    }
    if kind == Some(DetectedKind::Phone) {
        return drop(format!(
            "{} are phone numbers (direct identifiers): dropped",
            of(s.detection.share)
        ));
    }
    if has_any_word(name, vocab::PHONE, vocab::PHONE_MORE) {
        return drop("named like a phone column (a direct identifier): dropped".into());
    }

    // Dates.
    let date_share = s.share(DetectedKind::Date);
    let birth_named = has_any_word(name, vocab::BIRTH, vocab::BIRTH_MORE);
    if birth_named && (kind == Some(DetectedKind::Date) || date_share >= 0.5) {
        let invalid_to_null = date_share < 1.0;
        let mut why = format!(
            "{} are dates and the name says date of birth: generalized to the year",
            of(date_share)
        );
        if invalid_to_null {
            why.push_str("; a value that is not a date becomes null");
        }
        return (
            Decision::GeneralizeBirth {
                to: BirthLevel::Year,
                invalid_to_null,
            },
            why,
        );
    }
    if kind == Some(DetectedKind::Date) {
        return drop(format!(
            "{} are dates, and the name does not say date of birth (an event date can single a person out): dropped",
            of(date_share)
        ));
    }

    // Postal codes.
    let postal_share = s.share(DetectedKind::PostalCode);
    if kind == Some(DetectedKind::PostalCode)
        || (has_any_word(name, vocab::POSTAL, vocab::POSTAL_MORE)
            && (s.non_null == 0 || postal_share >= 0.5))
    {
        let invalid_to_null = postal_share < 1.0;
        let mut why = if s.non_null == 0 {
            "named like a postal code (no values in the sample)".to_string()
        } else {
            format!("{} are Swedish postal codes", of(postal_share))
        };
        why.push_str(": truncated to the postal area (first 3 digits)");
        if invalid_to_null {
            why.push_str("; a value that is not a postal code becomes null");
        }
        return (
            Decision::TruncatePostal {
                keep: 3,
                invalid_to_null,
            },
            why,
        );
    }

    // Names, addresses and free text, by name.
    if has_any_word(name, vocab::NAME, vocab::NAME_MORE) {
        return drop("named like a personal name (a direct identifier): dropped".into());
    }
    if has_any_word(name, vocab::ADDRESS, vocab::ADDRESS_MORE) {
        return drop("named like an address (a direct identifier): dropped".into());
    }
    if has_any_word(name, vocab::FREE_TEXT, vocab::FREE_TEXT_MORE) {
        return drop(
            "named like free text, which routinely repeats names, numbers and contact details: dropped"
                .into(),
        );
    }
    if s.non_null == 0 {
        return drop("no values in the sample, so nothing supports keeping it: dropped".into());
    }
    // Free text, by its values.
    if (s.avg_chars >= 20.0 && s.spaced_share >= 0.3) || s.max_chars > 60 {
        return drop(format!(
            "free text (values average {:.0} characters, {} hold spaces), which may name people or repeat contact details: dropped",
            s.avg_chars,
            pct(s.spaced_share)
        ));
    }
    // Low-cardinality codes.
    let identity_like = [
        DetectedKind::Personnummer,
        DetectedKind::Email,
        DetectedKind::Phone,
    ]
    .iter()
    .any(|k| s.share(*k) > 0.0);
    match s.distinct {
        None => drop(format!(
            "more than {MAX_KEPT_DISTINCT} distinct values in the sample, detail that can single a person out: dropped"
        )),
        Some(_) if identity_like => drop(
            "some sampled values look like identity numbers, e-mails or phone numbers: dropped"
                .into(),
        ),
        Some(_) if s.max_chars > MAX_KEPT_CHARS => drop(format!(
            "few distinct values, but some longer than {MAX_KEPT_CHARS} characters (names or text): dropped"
        )),
        Some(d) if s.non_null < MIN_VALUES_PER_DISTINCT * d => drop(format!(
            "{d} distinct values among only {} sampled values: too few repeats to tell a code from names or identifiers: dropped",
            s.non_null
        )),
        Some(d) => (
            Decision::Keep,
            format!(
                "a low-cardinality code ({d} distinct short values in {} sampled): kept, as a quasi-identifier",
                s.non_null
            ),
        ),
    }
}

/// A column the k-anonymity gate groups by, with its possible coarsenings.
struct Qi {
    col: usize,
    /// Class codes per row, for each level still written (level `levels.len()` = dropped).
    levels: Vec<Vec<u32>>,
    level: usize,
    /// Each coarsening step: (the level left, the suppression share before the step).
    steps: Vec<(usize, f64)>,
}

fn codes<F: Fn(&str) -> Option<String>>(values: &[Option<String>], f: F) -> Vec<u32> {
    let mut ids: HashMap<Option<String>, u32> = HashMap::new();
    values
        .iter()
        .map(|v| {
            let key = v.as_deref().and_then(&f);
            let next = u32::try_from(ids.len()).unwrap_or(u32::MAX);
            *ids.entry(key).or_insert(next)
        })
        .collect()
}

/// The share of gate rows in classes smaller than `K`.
fn suppression(qis: &[Qi], levels: &[usize], gate: &[bool]) -> f64 {
    let active: Vec<&Vec<u32>> = qis
        .iter()
        .zip(levels)
        .filter_map(|(q, &l)| q.levels.get(l))
        .collect();
    let mut classes: HashMap<Vec<u32>, usize> = HashMap::new();
    let mut rows = 0usize;
    for (r, _) in gate.iter().enumerate().filter(|(_, g)| **g) {
        rows += 1;
        let key: Vec<u32> = active.iter().map(|c| c[r]).collect();
        *classes.entry(key).or_default() += 1;
    }
    let small: usize = classes.values().filter(|n| (**n as u64) < K).copied().sum();
    ratio(small, rows)
}

/// Writes `s` as a YAML scalar: plain when safe, else double-quoted (JSON escaping is valid
/// YAML).
fn yaml_str(s: &str) -> String {
    let plain = s
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        && !matches!(
            s.to_ascii_lowercase().as_str(),
            "y" | "n" | "yes" | "no" | "true" | "false" | "on" | "off" | "null"
        );
    if plain {
        s.to_string()
    } else {
        serde_json::to_string(s).unwrap_or_else(|_| "\"\"".to_string())
    }
}

/// Text fit for a one-line comment.
fn comment_safe(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

/// A policy name from a file name: lowercase letters, digits and dashes.
fn name_from(path: &Path) -> String {
    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().to_lowercase())
        .unwrap_or_default();
    let mut out = String::new();
    for c in stem.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c);
        } else if !out.is_empty() && !out.ends_with('-') {
            out.push('-');
        }
    }
    let out = out.trim_end_matches('-').to_string();
    if out.is_empty() {
        "extract".into()
    } else {
        out
    }
}

/// Reads the inputs' header and a sample and writes the scaffold policy (not to disk).
///
/// # Errors
/// `Usage` without inputs or with a zero sample, `Io`/`Malformed` when an input cannot be
/// read or the inputs' headers differ, `Internal` if the written policy does not parse.
pub fn scaffold(opts: &InitOptions) -> Result<Scaffold> {
    if opts.sample_rows == 0 {
        return Err(Error::usage("`--sample` must be at least 1"));
    }
    let (header, samples, sampled) = read_sample(opts)?;
    let reference = opts.reference_date;
    let mut columns: Vec<ColumnChoice> = Vec::with_capacity(header.len());
    let mut distinct_counts = Vec::with_capacity(header.len());
    for (name, col) in header.iter().zip(&samples) {
        let s = stats(col, reference);
        let (decision, reason) = decide(name, col, &s, sampled);
        distinct_counts.push(s.distinct.unwrap_or(usize::MAX));
        columns.push(ColumnChoice {
            name: name.clone(),
            decision,
            reason,
        });
    }

    // Which sampled rows reach the k-anonymity gate: not removed by a row rule, not rejected
    // for an invalid identity number.
    let pnr_opts = ParseOptions {
        reference,
        allow_interim: false,
    };
    let mut gate = vec![true; sampled];
    for (c, col) in columns.iter().zip(&samples) {
        match &c.decision {
            Decision::ProtectedRule { .. } => {
                for (g, v) in gate.iter_mut().zip(&col.values) {
                    if v.as_deref().is_some_and(|v| parse_bool(v) != Ok(false)) {
                        *g = false;
                    }
                }
            }
            Decision::Tokenize { nullable } => {
                for (g, v) in gate.iter_mut().zip(&col.values) {
                    let ok = match v {
                        None => *nullable,
                        Some(v) => Pnr::parse(v, &pnr_opts).is_ok(),
                    };
                    *g &= ok;
                }
            }
            _ => {}
        }
    }

    // The quasi-identifiers and their coarsenings. On equal effect, the first is given up
    // first: kept codes (more distinct values first), then postal digits, then the birth year.
    let mut qis: Vec<Qi> = Vec::new();
    let mut order: Vec<usize> = (0..columns.len()).collect();
    order.sort_by_key(|&i| {
        let rank = match columns[i].decision {
            Decision::Keep => 0,
            Decision::TruncatePostal { .. } => 1,
            Decision::GeneralizeBirth { .. } => 2,
            _ => 3,
        };
        (rank, std::cmp::Reverse(distinct_counts[i]), i)
    });
    for i in order {
        let values = &samples[i].values;
        let levels = match columns[i].decision {
            Decision::GeneralizeBirth { .. } => vec![
                codes(values, |v| Date::parse(v).map(|d| d.year.to_string())),
                codes(values, |v| {
                    Date::parse(v).map(|d| (d.year.div_euclid(10) * 10).to_string())
                }),
            ],
            Decision::TruncatePostal { .. } => vec![
                codes(values, |v| {
                    postal::canonicalize(v)
                        .ok()
                        .map(|p| String::from_utf8_lossy(&p[..3]).into_owned())
                }),
                codes(values, |v| {
                    postal::canonicalize(v)
                        .ok()
                        .map(|p| String::from_utf8_lossy(&p[..2]).into_owned())
                }),
            ],
            Decision::Keep => vec![codes(values, |v| Some(v.to_string()))],
            _ => continue,
        };
        qis.push(Qi {
            col: i,
            levels,
            level: 0,
            steps: Vec::new(),
        });
    }

    // Coarsen greedily while the sample says too many rows would be suppressed.
    let mut levels: Vec<usize> = qis.iter().map(|q| q.level).collect();
    let mut current = suppression(&qis, &levels, &gate);
    while current > TARGET_SUPPRESSION {
        // Generalize before dropping: the best coarsening that helps at all, else the best
        // drop.
        let mut best_coarsening: Option<(usize, f64)> = None;
        let mut best_drop: Option<(usize, f64)> = None;
        for i in 0..qis.len() {
            if levels[i] >= qis[i].levels.len() {
                continue;
            }
            levels[i] += 1;
            let s = suppression(&qis, &levels, &gate);
            let drops = levels[i] == qis[i].levels.len();
            levels[i] -= 1;
            let best = if drops {
                &mut best_drop
            } else {
                &mut best_coarsening
            };
            // A drop that reaches the target is taken in preference order; otherwise the
            // step that helps most.
            let reached = |b: f64| drops && b <= TARGET_SUPPRESSION;
            if best.is_none_or(|(_, b)| !reached(b) && (s < b || reached(s))) {
                *best = Some((i, s));
            }
        }
        let Some((i, s)) = best_coarsening.filter(|c| c.1 < current).or(best_drop) else {
            break;
        };
        qis[i].steps.push((levels[i], current));
        levels[i] += 1;
        current = s;
    }
    for (q, &l) in qis.iter_mut().zip(&levels) {
        q.level = l;
    }

    // Apply the coarsenings to the decisions and their reasons.
    let k_text = format!("classes smaller than k = {K}");
    for q in &qis {
        let Some(&(_, before)) = q.steps.last() else {
            continue;
        };
        let first_before = q.steps.first().map_or(before, |s| s.1);
        let c = &mut columns[q.col];
        let dropped = q.level >= q.levels.len();
        match (&mut c.decision, dropped) {
            (Decision::GeneralizeBirth { to, .. }, false) => {
                *to = BirthLevel::Decade;
                c.reason = format!(
                    "{}; coarsened to the decade: with the year, {} of sampled rows would fall in {k_text}",
                    c.reason.replace(": generalized to the year", ""),
                    pct(first_before)
                );
            }
            (Decision::TruncatePostal { keep, .. }, false) => {
                *keep = 2;
                c.reason = format!(
                    "{}; only 2 digits kept: with 3, {} of sampled rows would fall in {k_text}",
                    c.reason
                        .replace(": truncated to the postal area (first 3 digits)", ""),
                    pct(first_before)
                );
            }
            (_, true) => {
                let what = c.reason.split_once(": ").map_or("", |w| w.0).to_string();
                c.reason = format!(
                    "{what}; but dropped: with it among the quasi-identifiers, {} of sampled rows would fall in {k_text} (the run allows {})",
                    pct(before),
                    pct(MAX_SUPPRESSION)
                );
                c.decision = Decision::Drop;
            }
            _ => {}
        }
    }
    let quasi_identifiers: Vec<String> = {
        let mut v: Vec<(usize, String)> = qis
            .iter()
            .filter(|q| q.level < q.levels.len())
            .map(|q| (q.col, columns[q.col].name.clone()))
            .collect();
        v.sort();
        v.into_iter().map(|(_, n)| n).collect()
    };

    let text = render(
        opts,
        &columns,
        sampled,
        &quasi_identifiers,
        current,
        gate.iter().filter(|g| **g).count(),
    );
    crate::policy::from_str(&text, Path::new("minex-init.yaml")).map_err(|e| {
        Error::internal(format!(
            "minex init wrote a policy that does not parse ({e}); please report this"
        ))
    })?;
    Ok(Scaffold {
        text,
        columns,
        sampled_rows: sampled,
        quasi_identifiers,
        estimated_suppression: current,
    })
}

fn render(
    opts: &InitOptions,
    columns: &[ColumnChoice],
    sampled: usize,
    qis: &[String],
    suppressed: f64,
    gate_rows: usize,
) -> String {
    let mut t = String::new();
    let files: Vec<String> = opts
        .inputs
        .iter()
        .map(|p| {
            comment_safe(
                &p.file_name()
                    .map(|f| f.to_string_lossy().into_owned())
                    .unwrap_or_default(),
            )
        })
        .collect();
    let _ = writeln!(
        t,
        "# yaml-language-server: $schema=./minex-policy.schema.json"
    );
    t.push_str("#\n");
    let _ = writeln!(
        t,
        "# Written by `minex init` from the header of {} and a sample of its first {sampled} rows.",
        files
            .iter()
            .map(|f| format!("`{f}`"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    t.push_str(
        "# A starting point, safe by default: every column is dropped unless its values and its\n\
         # name support a safer useful choice; the comment above each column says why. No value\n\
         # from the input is written here, only counts and shares.\n\
         #\n\
         # Before the first real run: set `domain` (one per recipient), read every column's\n\
         # comment and keep only what the recipient's purpose needs, then\n\
         #   minex check --policy THIS.yaml --input INPUT\n\
         #   minex plan  --policy THIS.yaml --input INPUT\n\
         # (editors check this file against schemas/minex-policy.schema.json when it lies beside it)\n\n",
    );
    t.push_str("version: 1\n");
    let name = opts
        .name
        .clone()
        .unwrap_or_else(|| name_from(opts.inputs.first().map_or(Path::new(""), |p| p)));
    let _ = writeln!(t, "name: {}", yaml_str(&name));
    t.push_str(
        "description: >-\n  Scaffold written by minex init. Describe the recipient and the purpose of this extract.\n",
    );
    match &opts.domain {
        Some(d) => {
            t.push_str(
                "# The pseudonymisation domain: one per recipient (and purpose). Tokens made for one\n\
                 # domain never match tokens made for another.\n",
            );
            let _ = writeln!(t, "domain: {}", yaml_str(d));
        }
        None => {
            t.push_str(
                "# CHANGE THIS: the pseudonymisation domain, one per recipient (and purpose), e.g. the\n\
                 # supplier's name. Tokens made for one domain never match tokens made for another, so\n\
                 # two recipients cannot join their extracts; never reuse a domain across recipients.\n",
            );
            let _ = writeln!(t, "domain: {PLACEHOLDER_DOMAIN}");
        }
    }
    t.push_str(
        "# Ages and the century of 10-digit personnummer (YYMMDD-NNNC) are computed at this date;\n\
         # it is recorded in the manifest so the run can be repeated.\n",
    );
    let _ = writeln!(t, "reference_date: {}", opts.reference_date);
    t.push_str(
        "# Fail closed: a column added to the register later stops the run until a steward has\n\
         # decided what to do with it here.\n\
         unknown_columns: error\n",
    );

    let rules: Vec<&ColumnChoice> = columns
        .iter()
        .filter(|c| matches!(c.decision, Decision::ProtectedRule { .. }))
        .collect();
    if !rules.is_empty() {
        t.push_str(
            "\nrows:\n  drop_when:\n    # People with protected identity (skyddade personuppgifter) never leave the\n    # register, not even pseudonymised. The rule reads the column before it is dropped.\n",
        );
        for (i, c) in rules.iter().enumerate() {
            let Decision::ProtectedRule { marked } = &c.decision else {
                continue;
            };
            let label = if rules.len() == 1 {
                "protected_identity".to_string()
            } else {
                format!("protected_identity_{}", i + 1)
            };
            let _ = writeln!(
                t,
                "    # `{}`: {marked} of {sampled} sampled rows marked. The column is `type: boolean`, so",
                comment_safe(&c.name)
            );
            t.push_str(
                "    # `true`, `TRUE`, `1`, `ja`, `x` ... all match, and a value that is neither true nor\n    # false rejects its row.\n",
            );
            let _ = writeln!(t, "    - name: {label}");
            let _ = writeln!(t, "      column: {}", yaml_str(&c.name));
            t.push_str("      equals: \"true\"\n");
        }
    }

    t.push_str("\ncolumns:\n");
    for c in columns {
        let _ = writeln!(t, "  # {}", comment_safe(&c.reason));
        let value = match &c.decision {
            Decision::Tokenize { nullable } => format!(
                "{{ type: personnummer, action: tokenize, space: {PERSON_SPACE}{} }}",
                if *nullable { ", nullable: true" } else { "" }
            ),
            Decision::GeneralizeBirth {
                to,
                invalid_to_null,
            } => format!(
                "{{ type: date, action: generalize, to: {}{} }}",
                match to {
                    BirthLevel::Year => "year",
                    BirthLevel::Decade => "decade",
                },
                if *invalid_to_null {
                    ", on_invalid: null"
                } else {
                    ""
                }
            ),
            Decision::TruncatePostal {
                keep,
                invalid_to_null,
            } => format!(
                "{{ type: postal_code, action: truncate, keep: {keep}{} }}",
                if *invalid_to_null {
                    ", on_invalid: null"
                } else {
                    ""
                }
            ),
            Decision::Keep => "keep".into(),
            Decision::ProtectedRule { .. } => "{ type: boolean, action: drop }".into(),
            Decision::Drop => "drop".into(),
        };
        let _ = writeln!(t, "  {}: {value}", yaml_str(&c.name));
    }

    if !qis.is_empty() {
        let _ = write!(
            t,
            "\n# Quasi-identifiers: harmless alone, together they may single a person out (birth year,\n\
             # postal area and every kept code). Rows of classes smaller than k are suppressed, and the\n\
             # run fails, writing nothing, if more than max_suppression of the rows would be. On the\n\
             # sample, {} of {gate_rows} rows would be suppressed.\n",
            pct(suppressed)
        );
        let list: Vec<String> = qis.iter().map(|q| yaml_str(q)).collect();
        let _ = write!(
            t,
            "k_anonymity:\n  quasi_identifiers: [{}]\n  k: {K}\n  on_violation: suppress\n  max_suppression: {MAX_SUPPRESSION}\n",
            list.join(", ")
        );
    }
    t
}

/// Refuses to replace an existing policy unless `force` (checked before sampling, and again
/// before writing).
///
/// # Errors
/// `Usage` when `path` exists and `force` is false.
pub fn refuse_overwrite(path: &Path, force: bool) -> Result<()> {
    if !force && path.exists() {
        return Err(Error::usage(format!(
            "`{}` exists; minex init does not overwrite a policy without `--force`",
            path.display()
        )));
    }
    Ok(())
}

/// Writes the policy text to `path` atomically (the same staged write as every other
/// output); an existing file is replaced only with `force`.
///
/// # Errors
/// `Usage` when `path` exists and `force` is false; `Io` otherwise.
pub fn write_policy(text: &str, path: &Path, force: bool) -> Result<()> {
    refuse_overwrite(path, force)?;
    let staged = crate::io::output::Staged::new(path)?;
    crate::io::output::write_all(&staged, text.as_bytes())?;
    crate::io::output::commit(vec![staged], &[])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yaml_quoting() {
        assert_eq!(yaml_str("personnummer"), "personnummer");
        assert_eq!(yaml_str("yes"), "\"yes\"");
        assert_eq!(yaml_str("a b"), "\"a b\"");
        assert_eq!(yaml_str("1x"), "\"1x\"");
        assert_eq!(yaml_str("födelse"), "\"födelse\"");
    }

    #[test]
    fn names() {
        assert_eq!(name_from(Path::new("/x/My Register.csv")), "my-register");
        assert_eq!(name_from(Path::new("/x/...csv")), "extract");
    }

    #[test]
    fn today_is_plausible() {
        assert!(today_utc().year >= 2024);
    }
}

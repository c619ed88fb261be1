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

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::ident::date::Date;
use crate::io::ReadOptions;

mod decide;
mod k_anonymity;
mod render;
mod sample;

use decide::*;
use k_anonymity::*;
use render::*;
use sample::*;

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

    let gate = gate(&columns, &samples, reference, sampled);

    let mut qis = quasi_identifiers(&columns, &samples, &distinct_counts);

    let current = coarsen(&mut qis, &gate);

    apply_coarsenings(&qis, &mut columns);
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

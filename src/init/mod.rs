//! `minex init`: a commented starting policy for an input, safe by default, written from the
//! input's header and a sample of its rows, and checked on that sample with the same search
//! `minex run` makes, so that the scaffold runs.
//!
//! A steward's first run on a new register should take minutes. [`scaffold`] reads the header
//! and the first rows (10,000 by default), looks at every column with
//! [`crate::ident::detect::detect`] and at the column's name, and writes a policy in which
//! every column is `drop` unless the sample and the name support a safer useful choice:
//!
//! * identity numbers (detected, or named like one and mostly valid) are tokenized in one
//!   shared space `person`, `nullable: true` when the sample holds empty values;
//! * dates with a birth-like name are generalized along the ladder `to: [month, year,
//!   decade]`; other dates are dropped;
//! * postal codes are truncated along the ladder `keep: [3, 2, 1]`;
//! * when no date of birth is generalized but an identity number is tokenized (valid in at
//!   least half the sampled rows: the register's own person, not an occasional guardian), an
//!   age band is derived from it along the ladder `what: [age_band:5, age_band:10,
//!   age_band:20]`;
//! * a protected-identity column (named like one, holding true/false words) feeds a
//!   `rows: drop_when` rule and is then dropped;
//! * low-cardinality codes (at most [`MAX_KEPT_DISTINCT`] distinct short values, each seen
//!   several times, nothing identity-like) are kept, with a single level;
//! * names, addresses, e-mails, phones, free text and anything else are dropped;
//! * a `k_anonymity` section covers the generalized, truncated, kept and derived columns
//!   (`k: 5`, `on_violation: suppress`, `max_suppression: 0.05`).
//!
//! The k-anonymity decision is the core's, not a copy of it: the candidate policy is
//! parsed, a [`minex_core::Transformer`] (with a throwaway key; no token is written) counts
//! the sampled rows' classes exactly as `minex run` counts the input's (the sample's batches
//! are the run's batches: same reader, same rules, same rejects), and
//! [`minex_core::Gate::for_policy`] searches the lattice of the ladders' levels. When no
//! combination of levels passes, the quasi-identifier with the most distinct values at its
//! coarsest level (the level no ladder can go beyond) is dropped, its comment saying so with
//! counts, and the search runs again; with no quasi-identifier left there is no
//! `k_anonymity` section. The comments say what the search chose on the sample; `minex run`
//! searches again on the whole input and may choose finer levels (a larger input has larger
//! classes).
//!
//! Each column gets a one-line comment saying why. The policy never holds a value read from
//! the input: only counts, shares, column names, level names and fixed words such as
//! `"true"`.

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
/// The ladder written for a date of birth, finest first.
pub const BIRTH_LADDER: [BirthLevel; 3] = [BirthLevel::Month, BirthLevel::Year, BirthLevel::Decade];
/// The ladder written for a postal code: digits kept, finest first.
pub const POSTAL_LADDER: [usize; 3] = [3, 2, 1];
/// The ladder of the derived age band: band widths in years, finest first.
pub const AGE_BAND_LADDER: [u32; 3] = [5, 10, 20];
/// An age band is derived from an identity-number column valid in at least this share of the
/// sampled rows (the register's own person, not a guardian's number on some rows).
const AGE_BAND_MIN_SHARE: f64 = 0.5;

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

/// A level of a date of birth's ladder.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BirthLevel {
    /// `month` (`YYYY-MM`).
    Month,
    /// `year`.
    Year,
    /// `decade`.
    Decade,
}

impl BirthLevel {
    /// The policy spelling.
    pub fn name(self) -> &'static str {
        match self {
            BirthLevel::Month => "month",
            BirthLevel::Year => "year",
            BirthLevel::Decade => "decade",
        }
    }
}

/// What the scaffold does with a column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// `{ type: personnummer, action: tokenize, space: person }`.
    Tokenize {
        /// Whether empty values are allowed.
        nullable: bool,
    },
    /// `{ type: date, action: generalize, to: [month, year, decade] }`.
    GeneralizeBirth {
        /// The ladder's levels, finest first ([`BIRTH_LADDER`]).
        ladder: Vec<BirthLevel>,
        /// `on_invalid: null` (the sample held values that are not dates).
        invalid_to_null: bool,
    },
    /// `{ type: postal_code, action: truncate, keep: [3, 2, 1] }`.
    TruncatePostal {
        /// The ladder's digits kept, finest first ([`POSTAL_LADDER`]).
        ladder: Vec<usize>,
        /// `on_invalid: null` (the sample held values that are not postal codes).
        invalid_to_null: bool,
    },
    /// `keep` (a quasi-identifier with a single level).
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

/// The age band the scaffold derives from an identity number (`derive:`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgeBand {
    /// The output column's name (`age_band`, unless the header has one).
    pub name: String,
    /// The identity-number column it is computed from.
    pub from: String,
    /// Band widths in years, finest first ([`AGE_BAND_LADDER`]).
    pub ladder: Vec<u32>,
    /// Why, in one line (counts and shares only).
    pub reason: String,
}

/// What the core's search chose on the sample for the written policy.
#[derive(Debug, Clone, PartialEq)]
pub struct SampleSearch {
    /// Per quasi-identifier (in `quasi_identifiers` order), the level chosen as the policy
    /// spells it (`year`, `2`, `age_band:10`, `keep`).
    pub chosen: Vec<(String, String)>,
    /// The sum of the chosen level indices (0: the finest of every ladder).
    pub height: usize,
    /// Combinations of levels in the lattice.
    pub nodes: u64,
    /// Combinations within the budget.
    pub nodes_passing: u64,
    /// Sampled rows that reached the gate (not removed by a row rule, not rejected).
    pub rows_at_gate: u64,
    /// Sampled rows suppressed at the chosen levels.
    pub rows_suppressed: u64,
    /// The most rows the gate may suppress: `floor(max_suppression × rows at the gate)`.
    pub budget: u64,
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
    /// The share of the sampled rows at the gate that the written policy suppresses, at the
    /// levels the search chose on the sample.
    pub estimated_suppression: f64,
    /// The derived age band, when one is written.
    pub age_band: Option<AgeBand>,
    /// The search on the sample (`None` without a `k_anonymity` section).
    pub search: Option<SampleSearch>,
    /// Quasi-identifiers given up because no combination of levels passed on the sample, in
    /// the order they were dropped.
    pub dropped_quasi_identifiers: Vec<String>,
}

impl Scaffold {
    /// How many columns got each action: (tokenized, generalized, truncated, kept, dropped).
    /// The derived age band is not an input column: see [`Scaffold::age_band`].
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
    let sample = read_sample(opts)?;
    let sampled = sample.rows;
    let reference = opts.reference_date;
    let mut columns: Vec<ColumnChoice> = Vec::with_capacity(sample.header.len());
    let mut all_stats = Vec::with_capacity(sample.header.len());
    for (name, col) in sample.header.iter().zip(&sample.columns) {
        let s = stats(col, reference);
        let (decision, reason) = decide(name, col, &s, sampled);
        columns.push(ColumnChoice {
            name: name.clone(),
            decision,
            reason,
        });
        all_stats.push(s);
    }
    let mut age_band = age_band(&columns, &all_stats, sampled);

    let settled = settle(opts, &mut columns, &mut age_band, &sample)?;
    let text = render(opts, &columns, age_band.as_ref(), sampled, &settled);
    crate::policy::from_str(&text, Path::new("minex-init.yaml")).map_err(|e| {
        Error::internal(format!(
            "minex init wrote a policy that does not parse ({e}); please report this"
        ))
    })?;
    Ok(Scaffold {
        text,
        columns,
        sampled_rows: sampled,
        estimated_suppression: settled.search.as_ref().map_or(0.0, |s| {
            ratio(
                usize::try_from(s.rows_suppressed).unwrap_or(usize::MAX),
                usize::try_from(s.rows_at_gate).unwrap_or(usize::MAX),
            )
        }),
        quasi_identifiers: settled.quasi_identifiers,
        age_band,
        search: settled.search,
        dropped_quasi_identifiers: settled.dropped,
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

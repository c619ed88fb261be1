//! The validated policy model: what a policy file means once every rule has been checked.
//!
//! Parsing and validation live in [`super::parse`]; this file only declares the types, so a
//! reader can see the whole language on one page.

use std::path::PathBuf;

use crate::ident::date::Date;

/// How an input value is understood.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ValueType {
    /// Text, compared and transformed as its exact UTF-8 bytes.
    String,
    /// A signed 64-bit integer.
    Integer,
    /// A calendar date (ISO 8601 `YYYY-MM-DD` or `YYYYMMDD`).
    Date,
    /// true/false (also 1/0, yes/no, ja/nej).
    Boolean,
    /// A Swedish personnummer or samordningsnummer; canonical form `YYYYMMDDNNNC`.
    Personnummer,
    /// An email address; canonical form trimmed and lowercased.
    Email,
    /// A phone number; canonical form E.164 (`+46...`).
    Phone,
    /// A Swedish postal code; canonical form five digits.
    PostalCode,
}

impl ValueType {
    /// The name used in policy files.
    pub fn name(self) -> &'static str {
        match self {
            ValueType::String => "string",
            ValueType::Integer => "integer",
            ValueType::Date => "date",
            ValueType::Boolean => "boolean",
            ValueType::Personnummer => "personnummer",
            ValueType::Email => "email",
            ValueType::Phone => "phone",
            ValueType::PostalCode => "postal_code",
        }
    }

    /// Parses a policy name.
    pub fn from_name(s: &str) -> Option<ValueType> {
        Some(match s {
            "string" => ValueType::String,
            "integer" => ValueType::Integer,
            "date" => ValueType::Date,
            "boolean" => ValueType::Boolean,
            "personnummer" => ValueType::Personnummer,
            "email" => ValueType::Email,
            "phone" => ValueType::Phone,
            "postal_code" => ValueType::PostalCode,
            _ => return None,
        })
    }

    /// All types, for messages.
    pub const NAMES: &'static str =
        "string, integer, date, boolean, personnummer, email, phone, postal_code";
}

/// What `generalize` keeps of a date.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Generalization {
    /// The year, as an integer.
    Year,
    /// The decade, as an integer (1987 → 1980).
    Decade,
    /// `YYYY-MM` text.
    Month,
    /// The age in whole years at the reference date, in bands of N years (`35-39`).
    AgeBand(u32),
}

impl Generalization {
    /// Parses `year`, `decade`, `month` or `age_band:N`.
    pub fn from_name(s: &str) -> Option<Generalization> {
        match s {
            "year" => Some(Generalization::Year),
            "decade" => Some(Generalization::Decade),
            "month" => Some(Generalization::Month),
            _ => {
                let n: u32 = s.strip_prefix("age_band:")?.parse().ok()?;
                (1..=100).contains(&n).then_some(Generalization::AgeBand(n))
            }
        }
    }

    /// The policy spelling.
    pub fn name(self) -> String {
        match self {
            Generalization::Year => "year".into(),
            Generalization::Decade => "decade".into(),
            Generalization::Month => "month".into(),
            Generalization::AgeBand(n) => format!("age_band:{n}"),
        }
    }
}

/// What happens to a column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// The value as read (typed columns: canonical form).
    Keep,
    /// No output column.
    Drop,
    /// Keyed HMAC-SHA256 token in `space`.
    Tokenize {
        /// The token space.
        space: String,
    },
    /// Deterministic AES-256-GCM-SIV in `space`.
    Encrypt {
        /// The key space.
        space: String,
    },
    /// A coarser date.
    Generalize(Generalization),
    /// The first `keep` characters of the canonical form.
    Truncate {
        /// How many characters to keep.
        keep: usize,
    },
    /// A constant.
    Replace {
        /// The constant.
        with: String,
    },
    /// A column of nulls.
    Null,
}

impl Action {
    /// The action's name in policy files.
    pub fn name(&self) -> &'static str {
        match self {
            Action::Keep => "keep",
            Action::Drop => "drop",
            Action::Tokenize { .. } => "tokenize",
            Action::Encrypt { .. } => "encrypt",
            Action::Generalize(_) => "generalize",
            Action::Truncate { .. } => "truncate",
            Action::Replace { .. } => "replace",
            Action::Null => "null",
        }
    }

    /// A ladder level as the policy spells it: `month`, `age_band:5`, `3` (for `keep: 3`),
    /// else the action's name.
    pub fn level_name(&self) -> String {
        match self {
            Action::Generalize(g) => g.name(),
            Action::Truncate { keep } => keep.to_string(),
            a => a.name().to_string(),
        }
    }

    /// The action's label in the run manifest (`columns[].action`): its name, and after a
    /// colon its one option where it has one (`tokenize:person`, `generalize:year`,
    /// `truncate:3`). Made here only; read back with [`ActionLabel::parse`].
    pub fn label(&self) -> String {
        match self {
            Action::Tokenize { space } | Action::Encrypt { space } => {
                format!("{}:{space}", self.name())
            }
            Action::Generalize(g) => format!("generalize:{}", g.name()),
            Action::Truncate { keep } => format!("truncate:{keep}"),
            a => a.name().to_string(),
        }
    }
}

/// A manifest's action label read back: the action's name and its option.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ActionLabel<'a> {
    /// `keep`, `drop`, `tokenize`, `encrypt`, `generalize`, `truncate`, `replace`, `null`.
    pub name: &'a str,
    /// The space, generalization or length, where the action has one.
    pub option: Option<&'a str>,
}

impl<'a> ActionLabel<'a> {
    /// Reads a label made by [`Action::label`].
    pub fn parse(label: &'a str) -> ActionLabel<'a> {
        match label.split_once(':') {
            Some((name, option)) => ActionLabel {
                name,
                option: Some(option),
            },
            None => ActionLabel {
                name: label,
                option: None,
            },
        }
    }

    /// Whether the action makes pseudonyms (keyed tokens or ciphertexts).
    pub fn is_pseudonym(&self) -> bool {
        matches!(self.name, "tokenize" | "encrypt")
    }
}

/// What happens to a row with an invalid value in a column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnInvalid {
    /// The row goes to the rejects report (by row number and reason, never by value).
    Reject,
    /// The value becomes null and the row is kept.
    Null,
    /// The run stops and nothing is written.
    Fail,
}

impl OnInvalid {
    /// The policy spelling.
    pub fn name(self) -> &'static str {
        match self {
            OnInvalid::Reject => "reject",
            OnInvalid::Null => "null",
            OnInvalid::Fail => "fail",
        }
    }
}

/// One input column's policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ColumnSpec {
    /// The input (and output) column name.
    pub name: String,
    /// How the value is understood.
    pub value_type: ValueType,
    /// What happens to it.
    pub action: Action,
    /// What happens to an invalid value.
    pub on_invalid: OnInvalid,
    /// Whether a null (empty) value is allowed.
    pub nullable: bool,
    /// For identity numbers: accept interim numbers (a letter in the serial).
    pub allow_interim: bool,
    /// The 1-based line in the policy file.
    pub line: Option<usize>,
    /// A generalization ladder (`to: [month, year, decade]`, `keep: [3, 2, 1]`), finest
    /// first, when the policy gave a list; `action` is the level applied (the first until a
    /// search chooses, see [`Policy::at_levels`]).
    pub ladder: Option<Vec<Action>>,
}

/// The condition of a row rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Condition {
    /// The trimmed value equals the text.
    Equals(String),
    /// The trimmed value is one of the texts.
    In(Vec<String>),
    /// The value is null (`true`) or not null (`false`).
    IsNull(bool),
}

/// A rule that removes rows before anything else happens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowRule {
    /// The label counted in the manifest's `filtered_by_rule`.
    pub label: String,
    /// The input column tested.
    pub column: String,
    /// The condition. On a typed column (`value_type` other than `string`) its texts are
    /// canonical values of that type (`"TRUE"` in the policy is `"true"` here), compared with
    /// the column's canonical values; on a `string` column they are compared with the value
    /// as read, trimmed.
    pub condition: Condition,
    /// The type of the rule's column (`string` when `columns` gives it none).
    pub value_type: ValueType,
}

/// What a `derive` entry computes from an identity number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Derivation {
    /// The birth date (null when a coordination number has no full date).
    BirthDate,
    /// The birth year.
    BirthYear,
    /// The age in whole years at the reference date.
    Age,
    /// The age band at the reference date.
    AgeBand(u32),
    /// `M` or `F`, from the 9th digit.
    Sex,
    /// Whether it is a samordningsnummer.
    Coordination,
}

impl Derivation {
    /// Parses a policy name.
    pub fn from_name(s: &str) -> Option<Derivation> {
        match s {
            "birth_date" => Some(Derivation::BirthDate),
            "birth_year" => Some(Derivation::BirthYear),
            "age" => Some(Derivation::Age),
            "sex" => Some(Derivation::Sex),
            "coordination" => Some(Derivation::Coordination),
            _ => {
                let n: u32 = s.strip_prefix("age_band:")?.parse().ok()?;
                (1..=100).contains(&n).then_some(Derivation::AgeBand(n))
            }
        }
    }

    /// The policy spelling.
    pub fn name(self) -> String {
        match self {
            Derivation::BirthDate => "birth_date".into(),
            Derivation::BirthYear => "birth_year".into(),
            Derivation::Age => "age".into(),
            Derivation::AgeBand(n) => format!("age_band:{n}"),
            Derivation::Sex => "sex".into(),
            Derivation::Coordination => "coordination".into(),
        }
    }
}

/// A new output column computed from an input column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeriveSpec {
    /// The output column's name.
    pub name: String,
    /// The input column read (even if it is dropped).
    pub from: String,
    /// What is computed.
    pub what: Derivation,
    /// A ladder of derivations (`what: [age_band:5, age_band:10]`), finest first, when the
    /// policy gave a list; `what` is the level applied.
    pub ladder: Option<Vec<Derivation>>,
}

/// What happens when a k-anonymity class is smaller than k.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnViolation {
    /// The rows of small classes are suppressed (removed and counted).
    Suppress,
    /// The run fails and nothing is written.
    Fail,
}

/// The k-anonymity gate.
#[derive(Debug, Clone, PartialEq)]
pub struct KAnonymity {
    /// Output columns whose combination may single a person out.
    pub quasi_identifiers: Vec<String>,
    /// The smallest class size allowed.
    pub k: u64,
    /// What to do with smaller classes.
    pub on_violation: OnViolation,
    /// The largest share of rows that may be suppressed.
    pub max_suppression: Option<f64>,
    /// Output columns whose values each class must hold `l` distinct non-null values of
    /// (distinct l-diversity); empty when not asked.
    pub sensitive: Vec<String>,
    /// The l of l-diversity (with `sensitive`).
    pub l: Option<u64>,
}

/// What to do with an input column the policy does not name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnknownColumns {
    /// Stop the run (the default: fail closed).
    Error,
    /// Drop it and say so in the manifest.
    Drop,
}

/// A parsed and validated policy.
#[derive(Debug, Clone, PartialEq)]
pub struct Policy {
    /// The language version (1).
    pub version: u32,
    /// The extract's name, shown in the manifest.
    pub name: String,
    /// Free text for people.
    pub description: Option<String>,
    /// The pseudonymisation domain (one per recipient and purpose).
    pub domain: String,
    /// For ages and century inference.
    pub reference_date: Date,
    /// Unknown input columns.
    pub unknown_columns: UnknownColumns,
    /// Row rules, in order.
    pub rules: Vec<RowRule>,
    /// Column policies, in file order.
    pub columns: Vec<ColumnSpec>,
    /// Derived columns, in file order.
    pub derive: Vec<DeriveSpec>,
    /// The k-anonymity gate, when asked for.
    pub k_anonymity: Option<KAnonymity>,
    /// The policy file.
    pub path: PathBuf,
    /// SHA-256 of the policy file's bytes, as hex.
    pub sha256: String,
    /// Column name → index in `columns`: lookups stay fast with 100,000 columns.
    pub(crate) column_index: std::collections::HashMap<String, usize>,
}

impl Policy {
    /// The column policy named `name`.
    pub fn column(&self, name: &str) -> Option<&ColumnSpec> {
        self.column_index.get(name).map(|i| &self.columns[*i])
    }

    /// Output column names in output order: kept columns in policy order, then derivations.
    pub fn output_names(&self) -> Vec<&str> {
        self.columns
            .iter()
            .filter(|c| c.action != Action::Drop)
            .map(|c| c.name.as_str())
            .chain(self.derive.iter().map(|d| d.name.as_str()))
            .collect()
    }

    /// Per quasi-identifier (in `quasi_identifiers` order), its ladder's levels as the policy
    /// spells them (`month`, `3`, `age_band:5`), finest first; one level for a column without
    /// a ladder. Empty without k-anonymity.
    pub fn ladders(&self) -> Vec<(String, Vec<String>)> {
        let Some(k) = &self.k_anonymity else {
            return Vec::new();
        };
        k.quasi_identifiers
            .iter()
            .map(|q| (q.clone(), self.ladder_of(q)))
            .collect()
    }

    /// The levels of output column `name` (one when it has no ladder).
    fn ladder_of(&self, name: &str) -> Vec<String> {
        if let Some(c) = self.column(name) {
            return match &c.ladder {
                Some(l) => l.iter().map(Action::level_name).collect(),
                None => vec![c.action.level_name()],
            };
        }
        match self.derive.iter().find(|d| d.name == name) {
            Some(d) => match &d.ladder {
                Some(l) => l.iter().map(|w| w.name()).collect(),
                None => vec![d.what.name()],
            },
            None => Vec::new(),
        }
    }

    /// Whether any column or derivation gives a ladder (a list of levels).
    pub fn has_ladders(&self) -> bool {
        self.columns.iter().any(|c| c.ladder.is_some())
            || self.derive.iter().any(|d| d.ladder.is_some())
    }

    /// The policy with the quasi-identifiers at `levels` (one per quasi-identifier, in
    /// `quasi_identifiers` order; 0 = finest): each laddered column's action (or derivation)
    /// becomes that level. The ladders stay, so the result still describes them.
    ///
    /// # Errors
    /// `Internal` when `levels` does not fit the ladders.
    pub fn at_levels(&self, levels: &[usize]) -> crate::error::Result<Policy> {
        use crate::error::Error;
        let k = self
            .k_anonymity
            .as_ref()
            .ok_or_else(|| Error::internal("levels for a policy without k-anonymity"))?;
        if levels.len() != k.quasi_identifiers.len() {
            return Err(Error::internal("one level per quasi-identifier"));
        }
        let mut p = self.clone();
        for (q, &level) in k.quasi_identifiers.iter().zip(levels) {
            let bad = || Error::internal(format!("no level {level} on `{q}`"));
            if let Some(i) = p.column_index.get(q).copied() {
                let c = &mut p.columns[i];
                c.action = match &c.ladder {
                    Some(l) => l.get(level).cloned().ok_or_else(bad)?,
                    None if level == 0 => c.action.clone(),
                    None => return Err(bad()),
                };
            } else if let Some(d) = p.derive.iter_mut().find(|d| &d.name == q) {
                d.what = match &d.ladder {
                    Some(l) => *l.get(level).ok_or_else(bad)?,
                    None if level == 0 => d.what,
                    None => return Err(bad()),
                };
            } else {
                return Err(Error::internal(format!("no output `{q}`")));
            }
        }
        Ok(p)
    }

    /// Every (purpose, space) this policy uses a key for, sorted and deduplicated.
    pub fn key_uses(&self) -> Vec<(crate::keys::Purpose, String)> {
        use crate::keys::Purpose;
        let mut uses = Vec::new();
        for c in &self.columns {
            match &c.action {
                Action::Tokenize { space } => uses.push((Purpose::Token, space.clone())),
                Action::Encrypt { space } => {
                    uses.push((Purpose::Encrypt, space.clone()));
                    uses.push((Purpose::Nonce, space.clone()));
                }
                _ => {}
            }
        }
        uses.sort();
        uses.dedup();
        uses
    }
}

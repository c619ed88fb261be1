//! What the extract should hold, from the policy alone: each output column's Arrow type and
//! value format (a table of verify's own, not the run's code path), and how cells are
//! rendered as text for the checks.

use arrow::array::{Array, ArrayRef, StringArray};
use arrow::datatypes::DataType;

use crate::policy::{Action, Derivation, Generalization, Policy, ValueType};

/// The expected output of one extract column, by this module's own table.
#[derive(Debug, Clone)]
pub(super) enum Expect {
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
    pub(super) fn data_type(&self) -> DataType {
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

pub(super) fn expectations(p: &Policy) -> Vec<(String, Expect)> {
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
pub(super) fn value_ok(e: &Expect, v: &str) -> bool {
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

pub(super) fn describe(e: &Expect) -> String {
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
pub(super) fn render(a: &ArrayRef) -> Option<StringArray> {
    if a.data_type() == &DataType::Boolean {
        return None;
    }
    arrow::compute::cast(a, &DataType::Utf8)
        .ok()
        .and_then(|c| c.as_any().downcast_ref::<StringArray>().cloned())
}

pub(super) fn looks_like_free_text(t: &StringArray) -> bool {
    let (mut n, mut len, mut spaced) = (0usize, 0usize, 0usize);
    for v in t.iter().flatten().take(1000) {
        n += 1;
        len += v.chars().count();
        spaced += usize::from(v.trim().contains(' '));
    }
    n > 0 && len / n >= 20 && spaced * 2 >= n
}

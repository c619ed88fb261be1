//! The policy linter: warnings for policies that are valid but risky, each with a reason and
//! what to do. `minex check` prints them; `--strict` turns them into errors.
//!
//! The checks read the policy only (names, types, actions), never data:
//! * a direct identifier (identity number, email, phone, name- or address-like column) kept
//!   as it is;
//! * free text kept (notes, comments), which routinely repeats names and phone numbers;
//! * a date of birth kept at day precision next to a postal code (together they single out
//!   most people);
//! * quasi-identifiers in the output with no `k_anonymity`, or with `k` below 2;
//! * a protected-identity column that no row rule uses, and a row rule that compares a
//!   marker as exact text (`untyped-rule-column`: give the column `type: boolean`);
//! * an identifier truncated to a prefix that still narrows a person down (a personnummer
//!   keeping 6 or more characters), or a `replace` constant that is an identifier.
//!
//! Tokens of two domains cannot be linked by construction (the domain is part of every key's
//! derivation), so there is nothing to lint about spaces shared across policies.

use super::model::*;
/// Reads column names; public here too because `minex init` has long used this path.
pub use super::vocabulary::has_word;
use super::vocabulary::{
    BIRTH, EMAIL, FREE_TEXT, PHONE, PNR, POSTAL, PROTECTED, QUASI_IDENTIFIER, names_identifier,
};

/// One warning.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Warning {
    /// A stable code (`direct-identifier-kept`, ...).
    pub code: &'static str,
    /// The column (or section) concerned.
    pub subject: String,
    /// The 1-based line in the policy file, when known.
    pub line: Option<usize>,
    /// Why it is risky and what to do.
    pub message: String,
}

impl std::fmt::Display for Warning {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.line {
            Some(l) => write!(
                f,
                "line {l}: `{}`: {} [{}]",
                self.subject, self.message, self.code
            ),
            None => write!(f, "`{}`: {} [{}]", self.subject, self.message, self.code),
        }
    }
}

/// What kind of identifier a column holds, and from how many kept characters a truncation of
/// it still narrows a person down: a personnummer's first 6 characters are a birth date (and
/// century), an E.164 phone's first 8 a number block of a few hundred lines, an email's first
/// 4 most of a name.
fn identifier_kind(c: &ColumnSpec) -> Option<(&'static str, usize)> {
    match c.value_type {
        ValueType::Personnummer => Some(("an identity number", 6)),
        ValueType::Phone => Some(("a phone number", 8)),
        ValueType::Email => Some(("an email address", 4)),
        ValueType::String if has_word(&c.name, PNR) => Some(("an identity number", 6)),
        ValueType::String if has_word(&c.name, PHONE) => Some(("a phone number", 8)),
        ValueType::String if has_word(&c.name, EMAIL) => Some(("an email address", 4)),
        _ => None,
    }
}

/// Whether a text from the policy itself is an identity number, email or phone number.
fn looks_like_identifier(s: &str, reference: crate::ident::date::Date) -> bool {
    use crate::ident::personnummer::{ParseOptions, Pnr};
    let opts = ParseOptions {
        reference,
        allow_interim: true,
    };
    let mut buf = String::new();
    Pnr::parse(s, &opts).is_ok()
        || crate::ident::email::canonicalize(s, &mut buf).is_ok()
        || (s.bytes().filter(u8::is_ascii_digit).count() >= 7
            && crate::ident::phone::canonicalize(s, &mut buf).is_ok())
}

fn is_written_raw(a: &Action) -> bool {
    matches!(a, Action::Keep)
}

/// Lints a policy.
pub fn lint(p: &Policy) -> Vec<Warning> {
    let mut out = Vec::new();
    let mut warn = |code, subject: &str, line, message: String| {
        out.push(Warning {
            code,
            subject: subject.to_string(),
            line,
            message,
        });
    };
    for c in &p.columns {
        let direct = matches!(
            c.value_type,
            ValueType::Personnummer | ValueType::Email | ValueType::Phone
        ) || names_identifier(&c.name);
        if direct && is_written_raw(&c.action) {
            warn(
                "direct-identifier-kept",
                &c.name,
                c.line,
                "a direct identifier is kept as it is; `tokenize` it (joins still work), `encrypt` it (reversible by the steward), or `drop` it".into(),
            );
        }
        if has_word(&c.name, FREE_TEXT)
            && matches!(c.action, Action::Keep | Action::Truncate { .. })
            && c.value_type == ValueType::String
        {
            warn(
                "free-text-kept",
                &c.name,
                c.line,
                "free text is kept; it routinely repeats names, phone numbers and identity numbers. `drop` it, or `replace` it".into(),
            );
        }
    }
    // Day-precision birth dates next to postal codes.
    let day_birth: Vec<&ColumnSpec> = p
        .columns
        .iter()
        .filter(|c| {
            c.action == Action::Keep
                && (c.value_type == ValueType::Date && has_word(&c.name, BIRTH))
        })
        .collect();
    let derived_birth = p.derive.iter().any(|d| d.what == Derivation::BirthDate);
    let postal_kept = p.columns.iter().find(|c| {
        (c.value_type == ValueType::PostalCode || has_word(&c.name, POSTAL))
            && match &c.action {
                Action::Keep => true,
                Action::Truncate { keep } => *keep >= 3,
                _ => false,
            }
    });
    if let Some(postal) = postal_kept {
        for b in &day_birth {
            warn(
                "birth-date-with-postal-code",
                &b.name,
                b.line,
                format!(
                    "a date of birth at day precision next to postal code `{}` singles out most people; `generalize` it `to: year` (or `month`)",
                    postal.name
                ),
            );
        }
        if derived_birth {
            warn(
                "birth-date-with-postal-code",
                "derive",
                None,
                format!(
                    "a derived `birth_date` next to postal code `{}` singles out most people; derive `birth_year` or `age_band:N` instead",
                    postal.name
                ),
            );
        }
    }
    // Quasi-identifiers without k-anonymity.
    let mut qis: Vec<String> = Vec::new();
    for c in &p.columns {
        let qi = matches!(c.action, Action::Generalize(_))
            || (c.action != Action::Drop
                && c.action != Action::Null
                && !matches!(
                    c.action,
                    Action::Tokenize { .. } | Action::Encrypt { .. } | Action::Replace { .. }
                )
                && (c.value_type == ValueType::PostalCode
                    || c.value_type == ValueType::Date
                    || has_word(&c.name, POSTAL)
                    || has_word(&c.name, BIRTH)
                    || has_word(&c.name, QUASI_IDENTIFIER)));
        if qi {
            qis.push(c.name.clone());
        }
    }
    for d in &p.derive {
        if d.what != Derivation::Coordination {
            qis.push(d.name.clone());
        }
    }
    match &p.k_anonymity {
        None if qis.len() >= 2 => warn(
            "no-k-anonymity",
            "k_anonymity",
            None,
            format!(
                "quasi-identifiers ({}) are written with no `k_anonymity` section; add one (e.g. `k: 5`) unless the recipient must receive every row, and say why in a comment",
                qis.iter()
                    .map(|q| format!("`{q}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        ),
        Some(k) if k.k < 2 => warn(
            "k-below-2",
            "k_anonymity",
            None,
            "`k` below 2 protects no one; use 5 or more".into(),
        ),
        _ => {}
    }
    // Identifiers cut short, or written into a constant.
    for c in &p.columns {
        let kind = identifier_kind(c);
        match (&c.action, kind) {
            (Action::Truncate { keep }, Some((what, enough))) if *keep >= enough => warn(
                "identifier-truncated",
                &c.name,
                c.line,
                format!(
                    "{what} cut to its first {keep} characters still identifies (or nearly) a person: keeping {enough} or more narrows it to a handful of people; `tokenize` it, or `drop` it and `derive` what is needed (birth year, age band)"
                ),
            ),
            (Action::Replace { with }, _) if looks_like_identifier(with, p.reference_date) => warn(
                "identifier-in-replace",
                &c.name,
                c.line,
                "the constant of `replace` looks like an identity number, email or phone number: a policy file must hold no one's data; replace with a neutral text".into(),
            ),
            _ => {}
        }
    }
    // Rules that compare a marker as exact text.
    for r in &p.rules {
        if r.value_type != ValueType::String {
            continue;
        }
        let texts: Vec<&str> = match &r.condition {
            Condition::Equals(t) => vec![t.as_str()],
            Condition::In(list) => list.iter().map(String::as_str).collect(),
            Condition::IsNull(_) => Vec::new(),
        };
        let boolean_values =
            !texts.is_empty() && texts.iter().all(|t| crate::ident::parse_bool(t).is_ok());
        if has_word(&r.column, PROTECTED) || boolean_values {
            let line = p.column(&r.column).and_then(|c| c.line);
            warn(
                "untyped-rule-column",
                &r.column,
                line,
                format!(
                    "rule `{}` compares this marker as exact text, so a register that writes `TRUE`, `1` or `ja` lets those rows through; give the column `type: boolean` (e.g. `{{ type: boolean, action: drop }}`) so every spelling of true matches and an unreadable value is rejected",
                    r.label
                ),
            );
        }
    }
    for c in &p.columns {
        if has_word(&c.name, PROTECTED) && !p.rules.iter().any(|r| r.column == c.name) {
            warn(
                "protected-identity-unused",
                &c.name,
                c.line,
                "a protected-identity column that no row rule uses; people with protected identity would be in the extract. Add `rows: drop_when: [{ column: ..., equals: \"true\" }]`".into(),
            );
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn lint_text(t: &str) -> Vec<String> {
        let p = crate::policy::from_str(t, Path::new("lint.yaml")).unwrap();
        lint(&p).iter().map(ToString::to_string).collect()
    }

    #[test]
    fn risky_policy_warnings() {
        let warnings = lint_text(
            r#"version: 1
name: risky
domain: d
reference_date: 2026-01-01
columns:
  personnummer: { type: personnummer, action: keep }
  email: keep
  case_note: keep
  date_of_birth: { type: date, action: keep }
  postal_code: { type: postal_code, action: keep }
  gender: keep
  protected_identity: drop
"#,
        );
        insta::assert_snapshot!(warnings.join("\n"), @r#"
        line 6: `personnummer`: a direct identifier is kept as it is; `tokenize` it (joins still work), `encrypt` it (reversible by the steward), or `drop` it [direct-identifier-kept]
        line 7: `email`: a direct identifier is kept as it is; `tokenize` it (joins still work), `encrypt` it (reversible by the steward), or `drop` it [direct-identifier-kept]
        line 8: `case_note`: free text is kept; it routinely repeats names, phone numbers and identity numbers. `drop` it, or `replace` it [free-text-kept]
        line 9: `date_of_birth`: a date of birth at day precision next to postal code `postal_code` singles out most people; `generalize` it `to: year` (or `month`) [birth-date-with-postal-code]
        `k_anonymity`: quasi-identifiers (`date_of_birth`, `postal_code`, `gender`) are written with no `k_anonymity` section; add one (e.g. `k: 5`) unless the recipient must receive every row, and say why in a comment [no-k-anonymity]
        line 12: `protected_identity`: a protected-identity column that no row rule uses; people with protected identity would be in the extract. Add `rows: drop_when: [{ column: ..., equals: "true" }]` [protected-identity-unused]
        "#);
    }

    #[test]
    fn k_below_two() {
        let w = lint_text(
            "version: 1\nname: x\ndomain: d\nreference_date: 2026-01-01\ncolumns:\n  gender: keep\n  postal_code: { type: postal_code, action: truncate, keep: 3 }\nk_anonymity:\n  quasi_identifiers: [gender, postal_code]\n  k: 1\n",
        );
        assert_eq!(w.len(), 1, "{w:?}");
        assert!(w[0].contains("k-below-2"));
    }

    #[test]
    fn research_policy_is_clean() {
        let path = Path::new(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../schemas/research.yaml"
        ));
        let text = std::fs::read_to_string(path).unwrap();
        let p = crate::policy::from_file_text(&text, path).unwrap();
        assert_eq!(lint(&p), vec![]);
    }
}

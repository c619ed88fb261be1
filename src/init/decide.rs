//! Deciding one column from its name and its sample: a chain of rules, the first that applies
//! wins, each with the reason written above the column.

use std::fmt::Write as _;

use minex_core::policy::vocabulary::{self as vocab, has_any_word};

use crate::ident::detect::DetectedKind;
use crate::ident::parse_bool;

use super::*;

/// Decides one column (before the k-anonymity pass): the first rule that applies, in order.
pub(super) fn decide(
    name: &str,
    col: &ColumnSample,
    s: &Stats,
    sampled: usize,
) -> (Decision, String) {
    decide_protected(name, col, s, sampled)
        .or_else(|| decide_identity_number(name, s, sampled))
        .or_else(|| decide_contact(name, s))
        .or_else(|| decide_dates(name, s))
        .or_else(|| decide_postal(name, s))
        .unwrap_or_else(|| decide_rest(name, s))
}

/// "`share` of `n` sampled values", for the reasons.
pub(super) fn of(s: &Stats, share: f64) -> String {
    format!("{} of {} sampled values", pct(share), s.non_null)
}

/// Dropped, for `why`.
pub(super) fn dropped(why: String) -> (Decision, String) {
    (Decision::Drop, why)
}

/// A protected-identity marker: a row rule on `true`, or dropped.
fn decide_protected(
    name: &str,
    col: &ColumnSample,
    s: &Stats,
    sampled: usize,
) -> Option<(Decision, String)> {
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
            return Some((Decision::ProtectedRule { marked }, why));
        }
        return Some(dropped(format!(
            "named like a protected-identity marker, but {} are not true/false words: dropped, and no row rule was written; add one by hand",
            of(s, 1.0 - s.bool_share)
        )));
    }
    None
}

/// Identity numbers: tokenized in the shared space, or dropped when too few are valid.
fn decide_identity_number(name: &str, s: &Stats, sampled: usize) -> Option<(Decision, String)> {
    let kind = s.detection.kind;
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
                of(s, pnr_share)
            )
        };
        let _ = write!(why, ": tokenized in the shared space `{PERSON_SPACE}`");
        if s.nulls > 0 {
            let _ = write!(why, "; {} of {sampled} empty, so nullable", s.nulls);
        }
        if pnr_share < 1.0 && s.non_null > 0 {
            why.push_str("; invalid ones go to the rejects report");
        }
        return Some((Decision::Tokenize { nullable }, why));
    }
    if pnr_named {
        return Some(dropped(format!(
            "named like an identity number, but only {} are valid ones: dropped; check the column",
            of(s, pnr_share)
        )));
    }
    None
}

/// Contact details (e-mail addresses, phone numbers): dropped.
fn decide_contact(name: &str, s: &Stats) -> Option<(Decision, String)> {
    let kind = s.detection.kind;
    if kind == Some(DetectedKind::Email) {
        return Some(dropped(format!(
            "{} are e-mail addresses (direct identifiers): dropped",
            of(s, s.detection.share)
        )));
    }
    if has_any_word(name, vocab::EMAIL, vocab::EMAIL_MORE) {
        return Some(dropped(
            "named like an e-mail column (a direct identifier): dropped".into(),
        ));
    }
    if kind == Some(DetectedKind::Phone) {
        return Some(dropped(format!(
            "{} are phone numbers (direct identifiers): dropped",
            of(s, s.detection.share)
        )));
    }
    if has_any_word(name, vocab::PHONE, vocab::PHONE_MORE) {
        return Some(dropped(
            "named like a phone column (a direct identifier): dropped".into(),
        ));
    }
    None
}

/// Dates: a date of birth generalized along [`BIRTH_LADDER`]; other dates dropped.
fn decide_dates(name: &str, s: &Stats) -> Option<(Decision, String)> {
    let kind = s.detection.kind;
    let date_share = s.share(DetectedKind::Date);
    let birth_named = has_any_word(name, vocab::BIRTH, vocab::BIRTH_MORE);
    if birth_named && (kind == Some(DetectedKind::Date) || date_share >= 0.5) {
        let invalid_to_null = date_share < 1.0;
        let mut why = format!(
            "{} are dates and the name says date of birth: generalized along a ladder, {}",
            of(s, date_share),
            BIRTH_LADDER
                .iter()
                .map(|l| l.name())
                .collect::<Vec<_>>()
                .join(" → ")
        );
        if invalid_to_null {
            why.push_str("; a value that is not a date becomes null");
        }
        return Some((
            Decision::GeneralizeBirth {
                ladder: BIRTH_LADDER.to_vec(),
                invalid_to_null,
            },
            why,
        ));
    }
    if kind == Some(DetectedKind::Date) {
        return Some(dropped(format!(
            "{} are dates, and the name does not say date of birth (an event date can single a person out): dropped",
            of(s, date_share)
        )));
    }
    None
}

/// Postal codes: truncated along [`POSTAL_LADDER`].
fn decide_postal(name: &str, s: &Stats) -> Option<(Decision, String)> {
    let kind = s.detection.kind;
    let postal_share = s.share(DetectedKind::PostalCode);
    if kind == Some(DetectedKind::PostalCode)
        || (has_any_word(name, vocab::POSTAL, vocab::POSTAL_MORE)
            && (s.non_null == 0 || postal_share >= 0.5))
    {
        let invalid_to_null = postal_share < 1.0;
        let mut why = if s.non_null == 0 {
            "named like a postal code (no values in the sample)".to_string()
        } else {
            format!("{} are Swedish postal codes", of(s, postal_share))
        };
        let _ = write!(
            why,
            ": truncated along a ladder, {} digits",
            POSTAL_LADDER
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(" → ")
        );
        if invalid_to_null {
            why.push_str("; a value that is not a postal code becomes null");
        }
        return Some((
            Decision::TruncatePostal {
                ladder: POSTAL_LADDER.to_vec(),
                invalid_to_null,
            },
            why,
        ));
    }
    None
}

/// Names, addresses and free text, by name; then free text and low-cardinality codes, by
/// their values.
fn decide_rest(name: &str, s: &Stats) -> (Decision, String) {
    if has_any_word(name, vocab::NAME, vocab::NAME_MORE) {
        return dropped("named like a personal name (a direct identifier): dropped".into());
    }
    if has_any_word(name, vocab::ADDRESS, vocab::ADDRESS_MORE) {
        return dropped("named like an address (a direct identifier): dropped".into());
    }
    if has_any_word(name, vocab::FREE_TEXT, vocab::FREE_TEXT_MORE) {
        return dropped(
            "named like free text, which routinely repeats names, numbers and contact details: dropped"
                .into(),
        );
    }
    if s.non_null == 0 {
        return dropped("no values in the sample, so nothing supports keeping it: dropped".into());
    }
    // Free text, by its values.
    if (s.avg_chars >= 20.0 && s.spaced_share >= 0.3) || s.max_chars > 60 {
        return dropped(format!(
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
        None => dropped(format!(
            "more than {MAX_KEPT_DISTINCT} distinct values in the sample, detail that can single a person out: dropped"
        )),
        Some(_) if identity_like => dropped(
            "some sampled values look like identity numbers, e-mails or phone numbers: dropped"
                .into(),
        ),
        Some(_) if s.max_chars > MAX_KEPT_CHARS => dropped(format!(
            "few distinct values, but some longer than {MAX_KEPT_CHARS} characters (names or text): dropped"
        )),
        Some(d) if s.non_null < MIN_VALUES_PER_DISTINCT * d => dropped(format!(
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

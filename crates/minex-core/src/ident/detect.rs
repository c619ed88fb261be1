//! Column type detection: does a sample of a column hold identity numbers, e-mail
//! addresses, phone numbers, postal codes or dates?
//!
//! A steward's first question about an unknown register is which columns are personal
//! data. This module answers it from a sample, by running every validator of this crate
//! over the non-null values and reporting, for each kind, the share that validates. It
//! never returns, stores or logs a value: the result is only counts and shares.
//!
//! * Null values, and strings that are empty after trimming, are not counted.
//! * Identity numbers are checked with [`Pnr::parse`] with interim numbers allowed (they are
//!   personal data too); organisation numbers do not count.
//! * `scores` holds every kind, best share first; equal shares are ordered Personnummer,
//!   Email, Date, PostalCode, Phone. So a column of 10-digit personnummer that also happen
//!   to look like phone numbers is reported as personnummer (they pass Luhn; most phone
//!   numbers do not).
//! * `kind` is the best kind when its share is at least [`THRESHOLD`], else `None`; `share`
//!   is the best kind's share (0 when there are no non-null values).

use super::date::Date;
use super::personnummer::{ParseOptions, Pnr};
use super::{email, phone, postal};

/// The share of non-null values that must validate for a kind to be reported.
pub const THRESHOLD: f64 = 0.8;

/// A kind of value the detector recognises.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DetectedKind {
    /// Personnummer, samordningsnummer or interim number.
    Personnummer,
    /// E-mail address.
    Email,
    /// Phone number.
    Phone,
    /// Swedish postal code.
    PostalCode,
    /// Calendar date (or ISO date-time).
    Date,
}

/// The kinds in order of preference on equal shares.
const PREFERENCE: [DetectedKind; 5] = [
    DetectedKind::Personnummer,
    DetectedKind::Email,
    DetectedKind::Date,
    DetectedKind::PostalCode,
    DetectedKind::Phone,
];

/// The outcome of [`detect`]: counts and shares only, never a value.
#[derive(Debug, Clone, PartialEq)]
pub struct Detection {
    /// The best kind if its share reaches [`THRESHOLD`].
    pub kind: Option<DetectedKind>,
    /// The share of non-null values that validate as the best kind.
    pub share: f64,
    /// How many non-null (and non-blank) values the sample held.
    pub non_null: usize,
    /// Every kind with its share, best first (ties in order of preference).
    pub scores: Vec<(DetectedKind, f64)>,
}

/// Detects the kind of values in `sample`; `reference` infers the century of 10-digit
/// identity numbers.
pub fn detect<'a, I: IntoIterator<Item = Option<&'a str>>>(
    sample: I,
    reference: Date,
) -> Detection {
    let opts = ParseOptions {
        reference,
        allow_interim: true,
    };
    let mut hits = [0usize; PREFERENCE.len()];
    let mut non_null = 0usize;
    let mut buf = String::new();
    for value in sample.into_iter().flatten() {
        let v = value.trim();
        if v.is_empty() {
            continue;
        }
        non_null += 1;
        for (slot, kind) in hits.iter_mut().zip(PREFERENCE) {
            buf.clear();
            let ok = match kind {
                DetectedKind::Personnummer => Pnr::parse(v, &opts).is_ok(),
                DetectedKind::Email => email::canonicalize(v, &mut buf).is_ok(),
                DetectedKind::Date => Date::parse(v).is_some(),
                DetectedKind::PostalCode => postal::canonicalize(v).is_ok(),
                DetectedKind::Phone => phone::canonicalize(v, &mut buf).is_ok(),
            };
            *slot += usize::from(ok);
        }
    }
    buf.clear();

    // Counts are far below 2^53, so the conversions are exact.
    #[allow(clippy::cast_precision_loss)]
    let share = |count: usize| {
        if non_null == 0 {
            0.0
        } else {
            count as f64 / non_null as f64
        }
    };
    let mut scores: Vec<(DetectedKind, f64)> = PREFERENCE
        .iter()
        .zip(hits)
        .map(|(&k, count)| (k, share(count)))
        .collect();
    // Stable sort keeps the preference order among equal shares.
    scores.sort_by(|a, b| b.1.total_cmp(&a.1));
    let (best, best_share) = scores.first().copied().unwrap_or((PREFERENCE[0], 0.0));
    Detection {
        kind: (non_null > 0 && best_share >= THRESHOLD).then_some(best),
        share: best_share,
        non_null,
        scores,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reference() -> Date {
        Date::new(2026, 1, 1).expect("valid")
    }

    fn run(values: &[Option<&str>]) -> Detection {
        detect(values.iter().copied(), reference())
    }

    #[test]
    fn personnummer_column() {
        let d = run(&[
            Some("19570428-9999"),
            Some("460823-9986"),
            None,
            Some("7302889931"),
            Some("200002292399"),
            Some(""),
            Some("not a number"),
        ]);
        assert_eq!(d.kind, Some(DetectedKind::Personnummer));
        assert_eq!(d.non_null, 5);
        assert!((d.share - 0.8).abs() < 1e-12);
        assert_eq!(d.scores.len(), 5);
        assert_eq!(d.scores[0], (DetectedKind::Personnummer, d.share));
    }

    #[test]
    fn ten_digit_personnummer_that_also_look_like_phones() {
        // Both validate as a Swedish national phone number (leading 0, 10 digits) too.
        let d = run(&[Some("0905271474"), Some("0901219931")]);
        assert_eq!(d.kind, Some(DetectedKind::Personnummer));
        let phone = d.scores.iter().find(|s| s.0 == DetectedKind::Phone);
        assert_eq!(phone, Some(&(DetectedKind::Phone, 1.0)));
        assert_eq!(d.scores[0].0, DetectedKind::Personnummer);
    }

    #[test]
    fn phone_numbers_fail_luhn_mostly() {
        let d = run(&[
            Some("070-123 45 67"),
            Some("0701234568"),
            Some("+46 8 123 456 78"),
            Some("08-765 43 21"),
        ]);
        assert_eq!(d.kind, Some(DetectedKind::Phone));
        assert_eq!(d.share, 1.0);
    }

    #[test]
    fn other_kinds() {
        let e = run(&[Some("a@b.se"), Some("C@D.COM"), Some("x@y.org")]);
        assert_eq!(e.kind, Some(DetectedKind::Email));
        let p = run(&[Some("114 55"), Some("41301"), Some("SE-752 36")]);
        assert_eq!(p.kind, Some(DetectedKind::PostalCode));
        let d = run(&[
            Some("2024-01-01"),
            Some("19991231"),
            Some("2020-02-29T10:00:00"),
        ]);
        assert_eq!(d.kind, Some(DetectedKind::Date));
    }

    #[test]
    fn below_threshold_or_empty() {
        let d = run(&[Some("a@b.se"), Some("hello"), Some("world")]);
        assert_eq!(d.kind, None);
        assert_eq!(d.scores[0].0, DetectedKind::Email);
        assert!((d.share - 1.0 / 3.0).abs() < 1e-12);
        let empty = run(&[None, Some("  "), None]);
        assert_eq!(empty.kind, None);
        assert_eq!(empty.non_null, 0);
        assert_eq!(empty.share, 0.0);
        // With all shares zero the preference order is kept.
        let order: Vec<DetectedKind> = empty.scores.iter().map(|s| s.0).collect();
        assert_eq!(order, PREFERENCE);
    }

    #[test]
    fn organisation_numbers_are_not_personal() {
        let d = run(&[Some("802005-1952"), Some("857209-0606"), Some("8020144120")]);
        assert_ne!(d.kind, Some(DetectedKind::Personnummer));
    }

    #[test]
    fn debug_output_holds_no_values() {
        let d = run(&[Some("19570428-9999"), Some("anna@example.se")]);
        let text = format!("{d:?}");
        assert!(!text.contains("9999") && !text.contains("anna"), "{text}");
    }
}

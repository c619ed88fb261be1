//! What a run reports: the manifest (the steward's evidence), the rejects report, and the
//! human summary printed at the end of a run.
//!
//! Nothing here ever holds a cell value, a key or a token: names, counts, digests and key ids
//! only.

pub mod html;
pub use minex_core::manifest;

pub use manifest::Manifest;

/// A CSV field, quoted (RFC 4180) when it holds a delimiter, quote or line break.
pub fn csv_field(s: &str) -> std::borrow::Cow<'_, str> {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\"")).into()
    } else {
        s.into()
    }
}

/// A CSV field that is safe to open in a spreadsheet: as [`csv_field`], and a field that
/// begins with `=`, `+`, `-`, `@`, a tab or a CR is prefixed with `'` so no spreadsheet runs it
/// as a formula (OWASP, "CSV injection"). For reports minex writes about a run (the rejects
/// report), not for values handed back to their owner.
pub fn csv_safe_field(s: &str) -> std::borrow::Cow<'_, str> {
    if s.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        csv_field(&format!("'{s}")).into_owned().into()
    } else {
        csv_field(s)
    }
}

/// RFC 3339 UTC timestamp for a `SystemTime`, without external crates.
pub fn rfc3339(t: std::time::SystemTime) -> String {
    let secs = t
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let days = i32::try_from(secs / 86_400).unwrap_or(i32::MAX);
    let rem = secs % 86_400;
    let d = crate::ident::date::Date::from_days(days);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
        d.year,
        d.month,
        d.day,
        rem / 3600,
        (rem % 3600) / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formula_fields_are_neutralized() {
        assert_eq!(csv_safe_field("=1+1"), "'=1+1");
        assert_eq!(csv_safe_field("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(csv_safe_field("-2"), "'-2");
        assert_eq!(csv_safe_field("+46"), "'+46");
        assert_eq!(csv_safe_field("\tx"), "'\tx");
        assert_eq!(csv_safe_field("\rx"), "\"'\rx\"");
        assert_eq!(csv_safe_field("=a,b"), "\"'=a,b\"");
        assert_eq!(csv_safe_field("plain"), "plain");
        assert_eq!(csv_safe_field("a,b"), "\"a,b\"");
    }

    #[test]
    fn timestamps() {
        let t = std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_764_236_096);
        assert_eq!(rfc3339(t), "2025-11-27T09:34:56Z");
    }
}

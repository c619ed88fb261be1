//! What a run reports: the manifest (the steward's evidence), the rejects report, and the
//! human summary printed at the end of a run.
//!
//! Nothing here ever holds a cell value, a key or a token: names, counts, digests and key ids
//! only.

pub mod html;
pub mod manifest;

pub use manifest::Manifest;

/// A CSV field, quoted (RFC 4180) when it holds a delimiter, quote or line break.
pub fn csv_field(s: &str) -> std::borrow::Cow<'_, str> {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\"")).into()
    } else {
        s.into()
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
    fn timestamps() {
        let t = std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_764_236_096);
        assert_eq!(rfc3339(t), "2025-11-27T09:34:56Z");
    }
}

//! The HTML report (`--report FILE.html`): one self-contained page a data-protection officer
//! can open, read and print, made from a run's [`Manifest`] and, optionally, the checks of
//! `minex verify`.
//!
//! The manifest is the evidence, but it is JSON; a data-protection officer (dataskyddsombud)
//! should not need a programmer to read it. This module owns how that evidence is presented:
//! the page's layout, its inline stylesheet (screen and A4 print), the two inline SVG charts
//! (the row accounting as a stacked bar, the k-anonymity class sizes as a histogram), HTML
//! escaping of everything taken from the manifest, and writing the page atomically.
//!
//! The page loads nothing: no scripts, no external styles, fonts or images, and a strict
//! Content-Security-Policy that would block them if one ever slipped in. It shows names,
//! types, actions, counts, digests and key ids only; like the manifest, it never holds a cell
//! value, a key or a token.

use std::fmt::Write as _;
use std::path::Path;

use crate::error::Result;
use crate::io::output::{Staged, commit, write_all};
use crate::report::manifest::Manifest;
use crate::verify::VerifyReport;

mod charts;
mod markup;
mod sections;
mod style;

use charts::*;
use markup::*;
use sections::*;
use style::*;

/// The Content-Security-Policy of the page: nothing may be loaded, inline styles only.
const CSP: &str = "default-src 'none'; style-src 'unsafe-inline'; img-src data:";

/// Colours of the row-accounting segments (Okabe-Ito, readable with colour-vision deficiency).
const C_OUT: &str = "#0072b2";
const C_FILTERED: &str = "#e69f00";
const C_REJECTED: &str = "#d55e00";
const C_SUPPRESSED: &str = "#cc79a7";

/// One self-contained HTML page for a data-protection officer.
///
/// Everything taken from `manifest` and `verify` is HTML-escaped. The page holds no script and
/// loads no resource.
pub fn render(manifest: &Manifest, verify: Option<&VerifyReport>) -> String {
    let m = manifest;
    let mut h = String::with_capacity(32 * 1024);
    let title = format!("minex extract report: {}", m.policy.name);
    h.push_str("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
    let _ = writeln!(
        h,
        "<meta http-equiv=\"Content-Security-Policy\" content=\"{CSP}\">"
    );
    h.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
    h.push_str("<meta name=\"referrer\" content=\"no-referrer\">\n");
    h.push_str("<meta name=\"generator\" content=\"minex\">\n");
    let _ = writeln!(h, "<title>{}</title>", esc(&title));
    let _ = writeln!(h, "<style>{STYLE}</style>");
    h.push_str("</head>\n<body>\n<main>\n");

    header(&mut h, m, verify);
    summary(&mut h, m);
    policy(&mut h, m);
    columns(&mut h, m);
    rows(&mut h, &m.rows);
    if let Some(k) = &m.k_anonymity {
        k_anonymity(&mut h, k, m.rows.out);
    }
    key_ids(&mut h, &m.key_ids);
    files(&mut h, m);
    if let Some(v) = verify {
        verification(&mut h, v);
    }

    let _ = writeln!(
        h,
        "<footer><p>Made by {} {} from the run manifest{}. This page holds names, types, \
         counts, digests and key ids only: no cell value, no key and no token. \
         <span class=\"sv\">Sidan innehåller inga uppgifter om enskilda personer.</span></p>\
         </footer>",
        esc(&m.tool.name),
        esc(&m.tool.version),
        if verify.is_some() {
            " and the checks of <code>minex verify</code>"
        } else {
            ""
        }
    );
    h.push_str("</main>\n</body>\n</html>\n");
    h
}

/// Writes the page to `path` atomically: a temporary file beside it, renamed into place.
///
/// # Errors
/// `Io` when the directory cannot be created or written, or the rename fails; nothing is left
/// at `path` (nor a temporary file) then.
pub fn write(path: &Path, manifest: &Manifest, verify: Option<&VerifyReport>) -> Result<()> {
    let html = render(manifest, verify);
    let staged = Staged::new(path)?;
    write_all(&staged, html.as_bytes())?;
    commit(vec![staged], &[])
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    #[test]
    fn escapes_markup_and_quotes() {
        assert_eq!(
            esc("<script>alert('x')</script> & \"y\""),
            "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;y&quot;"
        );
        assert_eq!(esc("Göteborgs stad"), "Göteborgs stad");
        assert_eq!(esc("a\u{0}b"), "a\u{fffd}b");
    }

    #[test]
    fn numbers_and_shares() {
        assert_eq!(num(0), "0");
        assert_eq!(num(999), "999");
        assert_eq!(num(1000), "1\u{202f}000");
        assert_eq!(num(1_234_567), "1\u{202f}234\u{202f}567");
        assert_eq!(pct(0.2), "20.0 %");
        assert_eq!(pct(0.0123), "1.23 %");
        assert_eq!(pct_of(1, 0), "—");
    }

    #[test]
    fn segments_fill_the_bar_and_stay_visible() {
        let w = segment_widths(&[2850, 50, 1, 0], 760);
        assert_eq!(w.iter().sum::<u64>(), 760);
        assert!(w[2] >= 3);
        assert_eq!(w[3], 0);
        assert_eq!(segment_widths(&[0, 0], 760), vec![0, 0]);
    }

    #[test]
    fn buckets_sort_by_size_not_text() {
        let h: BTreeMap<String, u64> = [
            ("     5-9".to_string(), 3),
            ("    10-14".to_string(), 2),
            ("    50+".to_string(), 1),
        ]
        .into();
        let b = sorted_buckets(&h);
        let labels: Vec<&str> = b.iter().map(|x| x.0.as_str()).collect();
        assert_eq!(labels, ["5-9", "10-14", "50+"]);
    }

    #[test]
    fn axes_have_round_steps() {
        assert_eq!(axis(0), (1, 1));
        assert_eq!(axis(3), (3, 1));
        assert_eq!(axis(7), (8, 2));
        assert_eq!(axis(41), (50, 10));
        assert_eq!(axis(101), (150, 50));
        assert_eq!(axis(u64::MAX).0, u64::MAX);
    }
}

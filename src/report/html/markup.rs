//! Small HTML pieces (section starts, rows, cards, code) and the escaping and number
//! formatting everything on the page goes through.

use crate::policy::ActionLabel;
use std::fmt::Write as _;

pub(super) fn section_start(h: &mut String, id: &str, title: &str, swedish: &str) {
    let _ = writeln!(
        h,
        "<section id=\"{id}\">\n<h2>{title} <span class=\"sv\">· {swedish}</span></h2>"
    );
}

pub(super) fn dl_row(h: &mut String, term: &str, value_html: &str) {
    let _ = writeln!(h, "<div><dt>{term}</dt><dd>{value_html}</dd></div>");
}

pub(super) fn card(h: &mut String, label: &str, value: &str, note: &str) {
    let _ = writeln!(
        h,
        "<div class=\"card\"><div class=\"label\">{label}</div><div class=\"value\">{value}\
         </div><div class=\"sub\">{}</div></div>",
        esc(note)
    );
}

/// `<code>` around escaped text.
pub(super) fn code(s: &str) -> String {
    format!("<code>{}</code>", esc(s))
}

pub(super) fn action_class(action: &str) -> &'static str {
    match ActionLabel::parse(action).name {
        "drop" => "a-drop",
        "keep" => "a-keep",
        "tokenize" | "encrypt" => "a-pseudo",
        _ => "a-coarse",
    }
}

/// What an action does, in plain words (from the manifest's `action` label).
pub(super) fn action_meaning(action: &str) -> String {
    let label = ActionLabel::parse(action);
    let (name, arg) = (label.name, label.option.unwrap_or(""));
    match name {
        "drop" => "left out of the extract".into(),
        "keep" => "copied as it is".into(),
        "tokenize" => format!("replaced by a keyed token (space {arg})"),
        "encrypt" => format!("encrypted, reversible with the key (space {arg})"),
        "generalize" => match arg {
            "" => "generalized".into(),
            g => format!("generalized to {}", g.replace('_', " ")),
        },
        "truncate" => format!("only the first {arg} characters kept"),
        "replace" => "replaced by a fixed value".into(),
        "null" => "emptied (always null)".into(),
        _ => String::new(),
    }
}

/// HTML-escapes text for element content and double- or single-quoted attribute values.
pub(super) fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            // Control characters other than tab and newline have no place in a report.
            c if c.is_control() && c != '\t' && c != '\n' => out.push('\u{fffd}'),
            c => out.push(c),
        }
    }
    out
}

/// A count with thin spaces between thousands (`1 234 567`), as in Swedish and SI usage.
pub(super) fn num(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3 * 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push('\u{202f}');
        }
        out.push(c);
    }
    out
}

/// A share as a percentage with adaptive precision.
pub(super) fn pct(share: f64) -> String {
    if !share.is_finite() {
        return "—".into();
    }
    let p = share * 100.0;
    if p == 0.0 {
        "0 %".into()
    } else if p < 0.1 {
        format!("{p:.3} %")
    } else if p < 10.0 {
        format!("{p:.2} %")
    } else {
        format!("{p:.1} %")
    }
}

pub(super) fn pct_of(n: u64, total: u64) -> String {
    if total == 0 {
        "—".into()
    } else {
        pct(n as f64 / total as f64)
    }
}

/// A byte size, human-readable (binary units) with the exact count.
pub(super) fn size(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = bytes as f64;
    let mut u = 0;
    while v >= 1024.0 && u + 1 < UNITS.len() {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{} B", num(bytes))
    } else {
        format!(
            "{v:.1} {}<br><span class=\"muted\">{} bytes</span>",
            UNITS[u],
            num(bytes)
        )
    }
}

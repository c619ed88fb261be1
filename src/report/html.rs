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

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use crate::error::Result;
use crate::io::output::{Staged, commit, write_all};
use crate::report::manifest::{KAnonymityInfo, Manifest, Rows};
use crate::verify::VerifyReport;

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

// ---------------------------------------------------------------------------------------------
// Sections

fn header(h: &mut String, m: &Manifest, verify: Option<&VerifyReport>) {
    h.push_str("<header class=\"top\">\n");
    let _ = writeln!(
        h,
        "<p class=\"kicker\">Extract report <span class=\"sv\">· Uttagsrapport</span></p>\n\
         <h1 id=\"policy-name\">{}</h1>",
        esc(&m.policy.name)
    );
    if let Some(v) = verify {
        let (class, text) = verdict(v);
        let _ = writeln!(h, "<p class=\"verdict {class}\">{}</p>", esc(&text));
    }
    h.push_str("<dl class=\"meta\">\n");
    dl_row(h, "Domain", &code(&m.domain));
    dl_row(
        h,
        "Run id",
        &format!("<code id=\"run-id\">{}</code>", esc(&m.run_id)),
    );
    dl_row(h, "Reference date", &esc(&m.reference_date));
    dl_row(h, "Started", &esc(&m.started));
    dl_row(h, "Finished", &esc(&m.finished));
    dl_row(h, "Duration", &format!("{:.2} s", m.seconds.max(0.0)));
    dl_row(
        h,
        "Tool",
        &format!("{} {}", esc(&m.tool.name), esc(&m.tool.version)),
    );
    h.push_str("</dl>\n</header>\n");
}

fn summary(h: &mut String, m: &Manifest) {
    let dropped = m.columns.iter().filter(|c| c.output.is_none()).count();
    let kept = m
        .columns
        .iter()
        .filter(|c| c.output.is_some() && c.action == "keep")
        .count();
    let transformed = m.columns.len() - dropped - kept;
    let removed = m.rows.filtered + m.rows.rejected + m.rows.suppressed;
    h.push_str("<section class=\"cards\" aria-label=\"Summary\">\n");
    card(h, "Rows read", &num(m.rows.input), "");
    card(
        h,
        "Rows written",
        &num(m.rows.out),
        &pct_of(m.rows.out, m.rows.input),
    );
    card(
        h,
        "Rows left out",
        &num(removed),
        "filtered, rejected or suppressed",
    );
    card(
        h,
        "Columns",
        &format!(
            "{} → {}",
            m.columns.len(),
            m.columns.len() - dropped + m.derived.len()
        ),
        &format!("{dropped} dropped, {transformed} transformed, {kept} kept as is"),
    );
    if let Some(k) = &m.k_anonymity {
        let reached = if m.rows.out == 0 {
            "nothing written".to_string()
        } else {
            format!("smallest class {}", num(k.smallest_class))
        };
        card(h, "k-anonymity", &format!("k = {}", num(k.k)), &reached);
    }
    h.push_str("</section>\n");
}

fn policy(h: &mut String, m: &Manifest) {
    section_start(h, "policy", "Policy", "Policyfil");
    h.push_str("<dl class=\"meta\">\n");
    dl_row(h, "Name", &esc(&m.policy.name));
    dl_row(h, "File", &code(&m.policy.path));
    dl_row(
        h,
        "SHA-256",
        &format!("<code class=\"digest\">{}</code>", esc(&m.policy.sha256)),
    );
    h.push_str("</dl>\n");
    h.push_str(
        "<p class=\"note\">The digest identifies the exact policy file used. Compare it with the \
         policy that was approved.</p>\n",
    );
    h.push_str("</section>\n");
}

fn columns(h: &mut String, m: &Manifest) {
    section_start(h, "columns", "Columns", "Kolumner");
    h.push_str(
        "<p class=\"note\">What happened to each input column, by type and action: the values \
         themselves are never shown. Dropped columns are greyed out; they are not in the \
         extract.</p>\n",
    );
    h.push_str(
        "<table class=\"cols\">\n<thead><tr><th>Input column</th><th>Type</th><th>Action</th>\
         <th>Meaning</th><th>Output column</th><th>Output type</th>\
         <th class=\"num\">Invalid → empty</th></tr></thead>\n<tbody>\n",
    );
    for c in &m.columns {
        let dropped = c.output.is_none();
        let _ = writeln!(
            h,
            "<tr class=\"{}\"><td><code>{}</code></td><td>{}</td><td><span class=\"action {}\">{}\
             </span></td><td>{}</td><td>{}</td><td>{}</td><td class=\"num\">{}</td></tr>",
            if dropped { "dropped" } else { "written" },
            esc(&c.name),
            esc(&c.value_type),
            action_class(&c.action),
            esc(&c.action),
            esc(&action_meaning(&c.action)),
            c.output.as_deref().map_or_else(|| "—".to_string(), code),
            c.output_type.as_deref().map_or_else(|| "—".into(), esc),
            if dropped {
                "—".to_string()
            } else {
                num(c.invalid_nulled)
            },
        );
    }
    h.push_str("</tbody>\n</table>\n");

    if !m.derived.is_empty() {
        h.push_str(
            "<h3>Derived columns</h3>\n<table class=\"derived\">\n<thead><tr>\
             <th>Output column</th><th>Computed from</th><th>What</th></tr></thead>\n<tbody>\n",
        );
        for d in &m.derived {
            let _ = writeln!(
                h,
                "<tr><td><code>{}</code></td><td><code>{}</code></td><td>{}</td></tr>",
                esc(&d.name),
                esc(&d.from),
                esc(&d.what)
            );
        }
        h.push_str("</tbody>\n</table>\n");
    }
    if !m.unknown_columns_dropped.is_empty() {
        h.push_str(
            "<h3>Columns not named by the policy</h3>\n<p class=\"note\">Dropped because the \
             policy says <code>unknown_columns: drop</code>:</p>\n<ul class=\"unknown\">\n",
        );
        for c in &m.unknown_columns_dropped {
            let _ = writeln!(h, "<li class=\"dropped\"><code>{}</code></li>", esc(c));
        }
        h.push_str("</ul>\n");
    }
    h.push_str("</section>\n");
}

fn rows(h: &mut String, r: &Rows) {
    section_start(h, "rows", "Row accounting", "Radredovisning");
    let ok = r.adds_up();
    let _ = writeln!(
        h,
        "<p class=\"equation {}\">rows read = written + filtered + rejected + suppressed: \
         <strong>{} = {} + {} + {} + {}</strong> {}</p>",
        if ok { "ok" } else { "bad" },
        num(r.input),
        num(r.out),
        num(r.filtered),
        num(r.rejected),
        num(r.suppressed),
        if ok {
            "<span class=\"badge pass\">adds up</span>"
        } else {
            "<span class=\"badge fail\">does not add up</span>"
        }
    );
    rows_chart(h, r);

    h.push_str(
        "<table class=\"rows\">\n<thead><tr><th>Rows</th><th class=\"num\">Count</th>\
         <th class=\"num\">Share of rows read</th></tr></thead>\n<tbody>\n",
    );
    let line = |h: &mut String, class: &str, label: &str, n: u64, color: Option<&str>| {
        let swatch = color
            .map(|c| format!("<span class=\"sw\" style=\"background:{c}\"></span>"))
            .unwrap_or_default();
        let _ = writeln!(
            h,
            "<tr class=\"{class}\"><td>{swatch}{label}</td><td class=\"num\">{}</td>\
             <td class=\"num\">{}</td></tr>",
            num(n),
            pct_of(n, r.input)
        );
    };
    line(h, "total", "Read (in)", r.input, None);
    line(h, "", "Written to the extract (out)", r.out, Some(C_OUT));
    line(h, "", "Filtered by row rules", r.filtered, Some(C_FILTERED));
    for (rule, n) in &r.filtered_by_rule {
        line(
            h,
            "sub",
            &format!("rule <code>{}</code>", esc(rule)),
            *n,
            None,
        );
    }
    line(
        h,
        "",
        "Rejected (invalid values, see the rejects report)",
        r.rejected,
        Some(C_REJECTED),
    );
    for (reason, n) in &r.rejected_by_reason {
        line(
            h,
            "sub",
            &format!("reason <code>{}</code>", esc(reason)),
            *n,
            None,
        );
    }
    line(
        h,
        "",
        "Suppressed by the k-anonymity gate",
        r.suppressed,
        Some(C_SUPPRESSED),
    );
    h.push_str("</tbody>\n</table>\n</section>\n");
}

/// The row accounting as one horizontal stacked bar: one `rect.bar` per non-empty segment.
fn rows_chart(h: &mut String, r: &Rows) {
    const W: u64 = 760;
    const BAR_Y: u64 = 8;
    const BAR_H: u64 = 40;
    let segments = [
        ("out", "Written", r.out, C_OUT),
        ("filtered", "Filtered", r.filtered, C_FILTERED),
        ("rejected", "Rejected", r.rejected, C_REJECTED),
        ("suppressed", "Suppressed", r.suppressed, C_SUPPRESSED),
    ];
    let total: u64 = segments.iter().map(|s| s.2).sum();
    let label = format!(
        "Stacked bar of {} rows read: {} written, {} filtered, {} rejected, {} suppressed",
        r.input, r.out, r.filtered, r.rejected, r.suppressed
    );
    let _ = writeln!(
        h,
        "<svg id=\"rows-chart\" class=\"chart\" xmlns=\"http://www.w3.org/2000/svg\" \
         viewBox=\"0 0 {W} 100\" width=\"100%\" role=\"img\" aria-label=\"{}\">",
        esc(&label)
    );
    let _ = writeln!(
        h,
        "<rect class=\"frame\" x=\"0.5\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"#f3f5f8\" \
         stroke=\"#c9d1db\"/>",
        BAR_Y as f64 - 0.5,
        W - 1,
        BAR_H + 1
    );
    let widths = segment_widths(&segments.map(|s| s.2), W);
    let mut x = 0;
    for (s, w) in segments.iter().zip(&widths) {
        if s.2 == 0 {
            continue;
        }
        let _ = writeln!(
            h,
            "<rect class=\"bar seg-{}\" x=\"{x}\" y=\"{BAR_Y}\" width=\"{w}\" height=\"{BAR_H}\" \
             fill=\"{}\"><title>{}: {} rows ({})</title></rect>",
            s.0,
            s.3,
            s.1,
            num(s.2),
            pct_of(s.2, total)
        );
        x += w;
    }
    if total == 0 {
        let _ = writeln!(
            h,
            "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\" class=\"muted\">no rows read</text>",
            W / 2,
            BAR_Y + BAR_H / 2 + 5
        );
    }
    // Legend.
    let mut lx = 0;
    for s in &segments {
        let text = format!("{} {} ({})", s.1, num(s.2), pct_of(s.2, total));
        let _ = writeln!(
            h,
            "<rect class=\"swatch\" x=\"{lx}\" y=\"68\" width=\"12\" height=\"12\" fill=\"{}\"/>\
             <text x=\"{}\" y=\"79\" class=\"legend\">{}</text>",
            s.3,
            lx + 17,
            esc(&text)
        );
        lx += W / 4;
    }
    h.push_str("</svg>\n");
}

/// Pixel widths of stacked segments summing to `width`: every non-empty segment at least 3 px,
/// the largest one absorbing the rounding.
fn segment_widths(counts: &[u64], width: u64) -> Vec<u64> {
    let total: u64 = counts.iter().sum();
    if total == 0 {
        return vec![0; counts.len()];
    }
    let mut w: Vec<u64> = counts
        .iter()
        .map(|&c| {
            if c == 0 {
                0
            } else {
                ((c as f64 / total as f64) * width as f64).round().max(3.0) as u64
            }
        })
        .collect();
    let sum: u64 = w.iter().sum();
    if let Some((i, _)) = counts.iter().enumerate().max_by_key(|(_, c)| **c) {
        let others = sum - w[i];
        w[i] = width.saturating_sub(others).max(1);
    }
    w
}

fn k_anonymity(h: &mut String, k: &KAnonymityInfo, rows_out: u64) {
    section_start(h, "k-anonymity", "k-anonymity", "k-anonymitet");
    let met = rows_out == 0 || k.smallest_class >= k.k;
    let _ = writeln!(
        h,
        "<p class=\"note\">Every combination of the quasi-identifiers {} must be shared by at \
         least <strong>k = {}</strong> persons in the extract; persons in smaller groups \
         (equivalence classes) are left out. {}</p>",
        k.quasi_identifiers
            .iter()
            .map(|q| code(q))
            .collect::<Vec<_>>()
            .join(", "),
        num(k.k),
        if met {
            "<span class=\"badge pass\">k reached</span>"
        } else {
            "<span class=\"badge fail\">k not reached</span>"
        }
    );
    h.push_str("<table class=\"figures\" id=\"k-figures\">\n<tbody>\n");
    let fig = |h: &mut String, label: &str, value: String, note: &str| {
        let _ = writeln!(
            h,
            "<tr><th>{label}</th><td class=\"num\">{value}</td><td class=\"note\">{note}</td></tr>"
        );
    };
    fig(h, "k asked for", num(k.k), "");
    fig(
        h,
        "Smallest class written",
        num(k.smallest_class),
        "0 when nothing was written",
    );
    fig(
        h,
        "Classes written",
        num(k.classes),
        &format!("{} before suppression", num(k.classes_before)),
    );
    fig(
        h,
        "Rows suppressed",
        num(k.suppressed),
        "persons in classes smaller than k",
    );
    fig(
        h,
        "Share of rows below k before the gate",
        pct(k.share_below_k_before),
        "",
    );
    fig(
        h,
        "Highest prosecutor risk",
        k.max_prosecutor_risk.map_or_else(|| "—".into(), pct),
        "1 / smallest class: the chance of singling out a person in the smallest class",
    );
    fig(
        h,
        "Average prosecutor risk",
        k.avg_prosecutor_risk.map_or_else(|| "—".into(), pct),
        "classes / rows written",
    );
    h.push_str("</tbody>\n</table>\n");
    histogram_chart(h, k);
    h.push_str("</section>\n");
}

/// The class-size histogram: one `rect.bar` per bucket, in order of class size.
fn histogram_chart(h: &mut String, k: &KAnonymityInfo) {
    const W: f64 = 760.0;
    const H: f64 = 280.0;
    const LEFT: f64 = 56.0;
    const RIGHT: f64 = 10.0;
    const TOP: f64 = 22.0;
    const BOTTOM: f64 = 56.0;
    let buckets = sorted_buckets(&k.class_size_histogram);
    let max = buckets.iter().map(|b| b.1).max().unwrap_or(0);
    let (top, step) = axis(max);
    let plot_w = W - LEFT - RIGHT;
    let plot_h = H - TOP - BOTTOM;
    let label = format!(
        "Histogram of class sizes: {} buckets, {} classes",
        buckets.len(),
        k.classes
    );
    let _ = writeln!(
        h,
        "<h3>Class sizes after suppression</h3>\n<svg id=\"class-histogram\" class=\"chart\" \
         xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {W} {H}\" width=\"100%\" \
         role=\"img\" aria-label=\"{}\">",
        esc(&label)
    );
    // Grid and y axis.
    let mut v = 0;
    while v <= top {
        let y = TOP + plot_h - plot_h * (v as f64) / (top as f64);
        let _ = writeln!(
            h,
            "<line class=\"grid\" x1=\"{LEFT}\" x2=\"{}\" y1=\"{y:.1}\" y2=\"{y:.1}\" \
             stroke=\"#dde3ea\"/><text class=\"tick\" x=\"{}\" y=\"{:.1}\" \
             text-anchor=\"end\">{}</text>",
            W - RIGHT,
            LEFT - 6.0,
            y + 4.0,
            num(v)
        );
        match v.checked_add(step) {
            Some(next) => v = next,
            None => break,
        }
    }
    let _ = writeln!(
        h,
        "<text class=\"axis\" transform=\"translate(14 {:.1}) rotate(-90)\" \
         text-anchor=\"middle\">classes</text>",
        TOP + plot_h / 2.0
    );
    let _ = writeln!(
        h,
        "<text class=\"axis\" x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">class size \
         (persons sharing one combination of quasi-identifiers)</text>",
        LEFT + plot_w / 2.0,
        H - 8.0
    );
    if buckets.is_empty() {
        let _ = writeln!(
            h,
            "<text class=\"muted\" x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">no classes \
             written</text>",
            LEFT + plot_w / 2.0,
            TOP + plot_h / 2.0
        );
    }
    let n = buckets.len().max(1) as f64;
    let slot = plot_w / n;
    let bar_w = (slot * 0.72).max(2.0);
    for (i, (label, count)) in buckets.iter().enumerate() {
        let bh = plot_h * (*count as f64) / (top as f64);
        let x = LEFT + slot * i as f64 + (slot - bar_w) / 2.0;
        let y = TOP + plot_h - bh;
        let _ = writeln!(
            h,
            "<rect class=\"bar\" x=\"{x:.1}\" y=\"{y:.1}\" width=\"{bar_w:.1}\" \
             height=\"{bh:.1}\" fill=\"{C_OUT}\"><title>classes of size {}: {}</title></rect>\
             <text class=\"value\" x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text>\
             <text class=\"tick\" x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text>",
            esc(label),
            num(*count),
            x + bar_w / 2.0,
            y - 5.0,
            num(*count),
            x + bar_w / 2.0,
            TOP + plot_h + 17.0,
            esc(label)
        );
    }
    let _ = writeln!(
        h,
        "<line class=\"baseline\" x1=\"{LEFT}\" x2=\"{}\" y1=\"{:.1}\" y2=\"{:.1}\" \
         stroke=\"#5b6775\"/>",
        W - RIGHT,
        TOP + plot_h,
        TOP + plot_h
    );
    h.push_str("</svg>\n");
    h.push_str(
        "<p class=\"note\">Each bar counts the classes whose size falls in the bucket. Larger \
         classes mean a lower risk of singling anyone out.</p>\n",
    );
}

/// Histogram buckets (`"     5-9"`, `"    50+"`) sorted by their lower bound, labels trimmed.
fn sorted_buckets(hist: &BTreeMap<String, u64>) -> Vec<(String, u64)> {
    let mut v: Vec<(u64, String, u64)> = hist
        .iter()
        .map(|(label, count)| {
            let t = label.trim();
            let lower = t
                .split(|c: char| !c.is_ascii_digit())
                .next()
                .and_then(|d| d.parse().ok())
                .unwrap_or(u64::MAX);
            (lower, t.to_string(), *count)
        })
        .collect();
    v.sort();
    v.into_iter().map(|(_, l, c)| (l, c)).collect()
}

/// A y axis for counts up to `max`: a step of 1, 2 or 5 × 10ⁿ giving at most five intervals,
/// and the top (a multiple of the step, at least `max`, at least one step).
fn axis(max: u64) -> (u64, u64) {
    let mut base = 1u64;
    loop {
        for m in [1u64, 2, 5] {
            let step = base.saturating_mul(m);
            if step.saturating_mul(5) >= max {
                let top = max.div_ceil(step).max(1).saturating_mul(step);
                return (top, step);
            }
        }
        base = base.saturating_mul(10);
    }
}

fn key_ids(h: &mut String, ids: &BTreeMap<String, String>) {
    section_start(h, "keys", "Key ids", "Nyckel-id");
    h.push_str(
        "<p class=\"note\">Which derived key made the tokens or ciphertexts of each \
         purpose and space. A key id names a key without revealing it; the keys themselves \
         never appear in the manifest or on this page.</p>\n",
    );
    if ids.is_empty() {
        h.push_str("<p class=\"muted\">No keys were used (nothing tokenized or encrypted).</p>\n");
    } else {
        h.push_str(
            "<table class=\"keys\">\n<thead><tr><th>Purpose / space</th><th>Key id</th></tr>\
             </thead>\n<tbody>\n",
        );
        for (space, id) in ids {
            let _ = writeln!(
                h,
                "<tr><td><code>{}</code></td><td><code class=\"key-id\">{}</code></td></tr>",
                esc(space),
                esc(id)
            );
        }
        h.push_str("</tbody>\n</table>\n");
    }
    h.push_str("</section>\n");
}

fn files(h: &mut String, m: &Manifest) {
    section_start(h, "files", "Files and digests", "Filer och kontrollsummor");
    h.push_str(
        "<h3>Input</h3>\n<table class=\"files\">\n<thead><tr><th>File</th>\
         <th class=\"num\">Size</th><th class=\"num\">Rows</th><th>SHA-256</th></tr></thead>\n\
         <tbody>\n",
    );
    for f in &m.inputs {
        let _ = writeln!(
            h,
            "<tr><td><code>{}</code></td><td class=\"num\">{}</td><td class=\"num\">{}</td>\
             <td><code class=\"digest\">{}</code></td></tr>",
            esc(&f.path),
            size(f.bytes),
            num(f.rows),
            esc(&f.sha256)
        );
    }
    h.push_str("</tbody>\n</table>\n");
    h.push_str(
        "<h3>Output</h3>\n<table class=\"files\">\n<thead><tr><th>File</th>\
         <th class=\"num\">Size</th><th class=\"num\">Rows</th><th class=\"num\">Columns</th>\
         <th>SHA-256</th></tr></thead>\n<tbody>\n",
    );
    for f in &m.outputs {
        let _ = writeln!(
            h,
            "<tr><td><code>{}</code></td><td class=\"num\">{}</td><td class=\"num\">{}</td>\
             <td class=\"num\">{}</td><td><code class=\"digest\">{}</code></td></tr>",
            esc(&f.path),
            size(f.bytes),
            num(f.rows),
            num(f.columns),
            esc(&f.sha256)
        );
    }
    h.push_str("</tbody>\n</table>\n");
    h.push_str(
        "<p class=\"note\">The manifest (<code>NAME.manifest.json</code>) holds these figures \
         as the run's evidence; <code>sha256sum FILE</code> recomputes a digest.</p>\n",
    );
    h.push_str("</section>\n");
}

fn verification(h: &mut String, v: &VerifyReport) {
    section_start(h, "verify", "Verification", "Granskning");
    let (class, text) = verdict(v);
    let count = |s: &str| v.checks.iter().filter(|c| c.status == s).count();
    let _ = writeln!(
        h,
        "<p class=\"verdict {class}\" id=\"verdict\">{}</p>\n<p class=\"note\">An independent \
         audit of the extract by <code>minex verify</code>: {} passed, {} failed, {} skipped \
         (a skipped check needed an input or the key that was not given).</p>",
        esc(&text),
        count("pass"),
        count("fail"),
        count("skip")
    );
    h.push_str(
        "<table class=\"checks\">\n<thead><tr><th>Result</th><th>Check</th><th>Column</th>\
         <th>Detail</th></tr></thead>\n<tbody>\n",
    );
    for c in &v.checks {
        let status = match c.status {
            "pass" | "fail" | "skip" => c.status,
            _ => "other",
        };
        let _ = writeln!(
            h,
            "<tr class=\"check-{status}\"><td><span class=\"badge {status}\">{}</span></td>\
             <td><code>{}</code></td><td>{}</td><td>{}</td></tr>",
            esc(&c.status.to_uppercase()),
            esc(&c.check),
            c.column.as_deref().map_or_else(|| "—".to_string(), code),
            esc(&c.detail)
        );
    }
    h.push_str("</tbody>\n</table>\n</section>\n");
}

fn verdict(v: &VerifyReport) -> (&'static str, String) {
    let failed = v.failures().count();
    let skipped = v.checks.iter().filter(|c| c.status == "skip").count();
    let run = v.checks.len() - skipped;
    let skipped_note = if skipped == 0 {
        String::new()
    } else {
        format!(", {skipped} skipped")
    };
    if run == 0 {
        (
            "skip",
            format!("Verification: no check was run{skipped_note}"),
        )
    } else if failed == 0 {
        (
            "pass",
            format!("Verified: all {run} checks passed{skipped_note} (godkänd)"),
        )
    } else {
        (
            "fail",
            format!("Verification FAILED: {failed} of {run} checks failed (underkänd)"),
        )
    }
}

// ---------------------------------------------------------------------------------------------
// Helpers

fn section_start(h: &mut String, id: &str, title: &str, swedish: &str) {
    let _ = writeln!(
        h,
        "<section id=\"{id}\">\n<h2>{title} <span class=\"sv\">· {swedish}</span></h2>"
    );
}

fn dl_row(h: &mut String, term: &str, value_html: &str) {
    let _ = writeln!(h, "<div><dt>{term}</dt><dd>{value_html}</dd></div>");
}

fn card(h: &mut String, label: &str, value: &str, note: &str) {
    let _ = writeln!(
        h,
        "<div class=\"card\"><div class=\"label\">{label}</div><div class=\"value\">{value}\
         </div><div class=\"sub\">{}</div></div>",
        esc(note)
    );
}

/// `<code>` around escaped text.
fn code(s: &str) -> String {
    format!("<code>{}</code>", esc(s))
}

fn action_class(action: &str) -> &'static str {
    match action.split(':').next().unwrap_or("") {
        "drop" => "a-drop",
        "keep" => "a-keep",
        "tokenize" | "encrypt" => "a-pseudo",
        _ => "a-coarse",
    }
}

/// What an action does, in plain words (from the manifest's `action` label).
fn action_meaning(action: &str) -> String {
    let (name, arg) = action.split_once(':').unwrap_or((action, ""));
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
fn esc(s: &str) -> String {
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
fn num(n: u64) -> String {
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
fn pct(share: f64) -> String {
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

fn pct_of(n: u64, total: u64) -> String {
    if total == 0 {
        "—".into()
    } else {
        pct(n as f64 / total as f64)
    }
}

/// A byte size, human-readable (binary units) with the exact count.
fn size(bytes: u64) -> String {
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

const STYLE: &str = r#"
:root { --ink:#1b2733; --muted:#5b6775; --line:#d5dce4; --brand:#1f4e79; --bg:#ffffff;
  --soft:#f3f5f8; --pass:#1e7b34; --fail:#b3261e; --skip:#6b7280; }
* { box-sizing: border-box; }
html { background: #e9edf2; }
body { margin: 0; color: var(--ink); font: 15px/1.5 system-ui, -apple-system, "Segoe UI",
  Roboto, "Helvetica Neue", Arial, sans-serif; }
main { max-width: 1080px; margin: 24px auto; background: var(--bg); padding: 32px 40px 24px;
  border-radius: 6px; box-shadow: 0 1px 4px rgba(0,0,0,.08); }
header.top { border-bottom: 4px solid var(--brand); padding-bottom: 12px; margin-bottom: 18px; }
.kicker { margin: 0; color: var(--brand); font-weight: 600; text-transform: uppercase;
  letter-spacing: .06em; font-size: 13px; }
h1 { margin: 2px 0 10px; font-size: 28px; line-height: 1.2; word-break: break-word; }
h2 { font-size: 20px; color: var(--brand); margin: 28px 0 8px; padding-bottom: 4px;
  border-bottom: 1px solid var(--line); }
h3 { font-size: 15px; margin: 18px 0 6px; }
.sv { color: var(--muted); font-weight: 400; }
dl.meta { display: grid; grid-template-columns: repeat(auto-fill, minmax(300px, 1fr));
  gap: 2px 24px; margin: 8px 0 0; }
dl.meta div { display: flex; gap: 10px; }
dl.meta dt { color: var(--muted); min-width: 110px; }
dl.meta dd { margin: 0; word-break: break-all; }
code { font: 13px/1.4 ui-monospace, "SFMono-Regular", Menlo, Consolas, "DejaVu Sans Mono",
  monospace; }
code.digest { font-size: 12px; word-break: break-all; }
.cards { display: grid; grid-template-columns: repeat(auto-fit, minmax(170px, 1fr));
  gap: 12px; margin: 8px 0 4px; }
.card { background: var(--soft); border-left: 4px solid var(--brand); padding: 10px 12px;
  border-radius: 3px; }
.card .label { color: var(--muted); font-size: 13px; }
.card .value { font-size: 22px; font-weight: 650; }
.card .sub { color: var(--muted); font-size: 12px; }
table { border-collapse: collapse; width: 100%; margin: 6px 0 10px; font-size: 14px; }
th, td { text-align: left; padding: 5px 8px; border-bottom: 1px solid var(--line);
  vertical-align: top; }
thead th { background: var(--soft); font-weight: 600; border-bottom: 2px solid var(--line); }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
tr.dropped td { color: #8a939e; }
tr.dropped code { text-decoration: line-through; }
tr.total td { font-weight: 650; }
tr.sub td:first-child { padding-left: 32px; color: var(--muted); }
table.figures th { font-weight: 500; width: 34%; }
table.figures td.note { color: var(--muted); font-size: 13px; }
.sw { display: inline-block; width: 11px; height: 11px; margin-right: 7px; border-radius: 2px;
  vertical-align: -1px; }
.action { display: inline-block; padding: 0 7px; border-radius: 10px; font-size: 12.5px;
  font-family: ui-monospace, Menlo, Consolas, "DejaVu Sans Mono", monospace; }
.a-drop { background: #eceff2; color: #6b7280; }
.a-keep { background: #e6f0fa; color: #1f4e79; }
.a-pseudo { background: #e9f5ec; color: #1e6b32; }
.a-coarse { background: #fdf3e1; color: #8a5a00; }
.badge { display: inline-block; padding: 1px 8px; border-radius: 10px; font-size: 12px;
  font-weight: 700; letter-spacing: .03em; color: #fff; }
.badge.pass { background: var(--pass); }
.badge.fail { background: var(--fail); }
.badge.skip, .badge.other { background: var(--skip); }
.verdict { padding: 10px 14px; border-radius: 4px; font-weight: 650; margin: 10px 0; }
.verdict.pass { background: #e6f4ea; color: var(--pass); border: 1px solid #a8d5b5; }
.verdict.fail { background: #fce8e6; color: var(--fail); border: 1px solid #f0b4ae; }
.verdict.skip { background: var(--soft); color: var(--skip); border: 1px solid var(--line); }
.equation { margin: 6px 0; }
.note { color: var(--muted); font-size: 13.5px; margin: 4px 0 8px; }
.muted { color: var(--muted); fill: var(--muted); }
svg.chart { display: block; max-width: 100%; height: auto; margin: 8px 0; }
svg text { font: 12px system-ui, -apple-system, "Segoe UI", Roboto, Arial, sans-serif;
  fill: var(--ink); }
svg text.tick { fill: var(--muted); font-size: 11px; }
svg text.value { font-size: 11px; font-weight: 600; }
svg text.axis { fill: var(--muted); }
ul.unknown { margin: 4px 0; }
footer { margin-top: 28px; padding-top: 10px; border-top: 1px solid var(--line);
  color: var(--muted); font-size: 12.5px; }
@page { size: A4; margin: 14mm 12mm; }
@media print {
  html { background: #fff; }
  body { font-size: 10pt; }
  main { max-width: none; margin: 0; padding: 0; box-shadow: none; border-radius: 0; }
  * { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
  h2 { break-after: avoid; }
  section, .card, svg.chart, tr { break-inside: avoid; }
  table.files, table.checks, table.cols { break-inside: auto; }
  thead { display: table-header-group; }
  .cards { grid-template-columns: repeat(5, 1fr); }
}
"#;

#[cfg(test)]
mod tests {
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

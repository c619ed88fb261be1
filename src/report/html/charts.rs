//! The two inline SVG charts: the row accounting as a stacked bar and the k-anonymity class
//! sizes as a histogram.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use crate::report::manifest::{KAnonymityInfo, Rows};

use super::*;

/// The row accounting as one horizontal stacked bar: one `rect.bar` per non-empty segment.
pub(super) fn rows_chart(h: &mut String, r: &Rows) {
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
pub(super) fn segment_widths(counts: &[u64], width: u64) -> Vec<u64> {
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

/// The class-size histogram: one `rect.bar` per bucket, in order of class size.
pub(super) fn histogram_chart(h: &mut String, k: &KAnonymityInfo) {
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
pub(super) fn sorted_buckets(hist: &BTreeMap<String, u64>) -> Vec<(String, u64)> {
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
pub(super) fn axis(max: u64) -> (u64, u64) {
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

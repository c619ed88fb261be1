//! The page's sections, in order: header, summary, policy, columns, rows, k-anonymity, key ids,
//! files and the verification.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use crate::report::manifest::{KAnonymityInfo, Manifest, Rows, SearchInfo};
use crate::verify::VerifyReport;

use super::*;

pub(super) fn header(h: &mut String, m: &Manifest, verify: Option<&VerifyReport>) {
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

pub(super) fn summary(h: &mut String, m: &Manifest) {
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

pub(super) fn policy(h: &mut String, m: &Manifest) {
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

pub(super) fn columns(h: &mut String, m: &Manifest) {
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

pub(super) fn rows(h: &mut String, r: &Rows) {
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

pub(super) fn k_anonymity(h: &mut String, k: &KAnonymityInfo, rows_out: u64) {
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
    match &k.suppressed_by {
        Some(by) if k.l_diversity.is_some() => fig(
            h,
            "Rows suppressed",
            num(k.suppressed),
            &format!(
                "{} in classes smaller than k, {} in classes with too few distinct sensitive values (l)",
                num(by.k),
                num(by.l)
            ),
        ),
        _ => fig(
            h,
            "Rows suppressed",
            num(k.suppressed),
            "persons in classes smaller than k",
        ),
    }
    if let Some(l) = &k.l_diversity {
        fig(
            h,
            "l-diversity",
            format!("l = {}", num(l.l)),
            &format!(
                "every class written holds at least l distinct values of {}",
                l.sensitive
                    .iter()
                    .map(|s| code(s))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        );
        fig(
            h,
            "Fewest distinct sensitive values in a class written",
            num(l.smallest_distinct),
            "counted up to l",
        );
        fig(
            h,
            "Classes below l before the gate",
            num(l.classes_below_l),
            "",
        );
    }
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
    if let Some(s) = &k.search {
        lattice(h, &k.quasi_identifiers, s);
    }
    h.push_str("</section>\n");
}

/// The search over the ladders: every combination of levels by height (the sum of the level
/// indices, finest at the top), passing or not, the chosen one marked.
fn lattice(h: &mut String, qis: &[String], s: &SearchInfo) {
    let level = |q: &str, lv: usize| -> String {
        s.ladders
            .get(q)
            .and_then(|l| l.get(lv))
            .cloned()
            .unwrap_or_else(|| lv.to_string())
    };
    let _ = writeln!(
        h,
        "<h3>The search over the ladders</h3>\n<p class=\"note\">Each quasi-identifier gives a \
         ladder of levels, finest first: {}. minex counted the classes once and evaluated the \
         combinations of one level per quasi-identifier; it wrote the one with the smallest \
         total height (the sum of the level indices) that suppresses at most {} rows \
         (<code>max_suppression</code>), ties going to the fewest suppressed rows, then to the \
         smallest levels in the order of the quasi-identifiers. Chosen: <strong>{}</strong>, \
         height {}. {} of {} combinations pass; {}.</p>",
        qis.iter()
            .map(|q| format!(
                "{} ({})",
                code(q),
                s.ladders
                    .get(q)
                    .map(|l| l.iter().map(|v| esc(v)).collect::<Vec<_>>().join(" → "))
                    .unwrap_or_default()
            ))
            .collect::<Vec<_>>()
            .join(", "),
        num(s.budget),
        qis.iter()
            .zip(&s.levels)
            .map(|(q, lv)| format!("{} {}", esc(q), esc(&level(q, *lv))))
            .collect::<Vec<_>>()
            .join(", "),
        num(s.height as u64),
        num(s.nodes_passing),
        num(s.nodes),
        if s.nodes_evaluated >= s.nodes {
            "each was evaluated from the counts".to_string()
        } else {
            format!(
                "{} were evaluated from the counts; the others pass because a finer one does, or were not needed",
                num(s.nodes_evaluated)
            )
        },
    );
    if s.lattice.is_empty() {
        h.push_str("<p class=\"muted\">The lattice is too large to draw here.</p>\n");
        return;
    }
    let heights: std::collections::BTreeSet<usize> = s.lattice.iter().map(|n| n.height).collect();
    h.push_str("<table class=\"lattice\" id=\"lattice\">\n<tbody>\n");
    for height in heights {
        let _ = write!(h, "<tr><th>height {height}</th><td>");
        for n in s.lattice.iter().filter(|n| n.height == height) {
            let chosen = n.levels == s.levels;
            let class = match (chosen, n.passes) {
                (true, _) => "node chosen",
                (false, Some(true)) => "node pass",
                (false, Some(false)) => "node fail",
                (false, None) => "node unknown",
            };
            let label = qis
                .iter()
                .zip(&n.levels)
                .map(|(q, lv)| esc(&level(q, *lv)))
                .collect::<Vec<_>>()
                .join(" · ");
            let suppressed = n.suppressed.map_or_else(
                || "not evaluated".to_string(),
                |x| format!("{} suppressed", num(x)),
            );
            let verdict = match (chosen, n.passes) {
                (true, _) => "chosen",
                (false, Some(true)) => "passes",
                (false, Some(false)) => "too many suppressed",
                (false, None) => "not evaluated",
            };
            let _ = write!(
                h,
                "<span class=\"{class}\" title=\"{verdict}\"><code>{label}</code><br><small>{suppressed}; {verdict}</small></span>"
            );
        }
        h.push_str("</td></tr>\n");
    }
    h.push_str("</tbody>\n</table>\n");
}

pub(super) fn key_ids(h: &mut String, ids: &BTreeMap<String, String>) {
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

pub(super) fn files(h: &mut String, m: &Manifest) {
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

pub(super) fn verification(h: &mut String, v: &VerifyReport) {
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

pub(super) fn verdict(v: &VerifyReport) -> (&'static str, String) {
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

//! The plan (in [`minex_core::plan`], re-exported here) and its description for `minex plan`.

use minex_core::transform::kernels;

use crate::io::Input;
pub use minex_core::plan::*;
use minex_core::policy::Action;

/// A human-readable table of what a run with this plan does (names, types and actions only).
pub fn describe(plan: &Plan, inputs: &[Input], ring: Option<&crate::keys::KeyRing>) -> String {
    use std::fmt::Write;
    let p = &plan.policy;
    let mut s = String::new();
    let _ = writeln!(
        s,
        "policy `{}` ({}), domain `{}`, reference date {}",
        p.name,
        p.path.display(),
        p.domain,
        p.reference_date
    );
    for i in inputs {
        let _ = writeln!(
            s,
            "input `{}` ({:?}, {} columns)",
            i.path.display(),
            i.format,
            i.header.len()
        );
    }
    let _ = writeln!(s);
    let rows: Vec<[String; 5]> = plan
        .header
        .iter()
        .map(|h| match p.column(h) {
            Some(c) => {
                let action = match &c.action {
                    Action::Tokenize { space } => format!("tokenize (space `{space}`)"),
                    Action::Encrypt { space } => format!("encrypt (space `{space}`)"),
                    Action::Generalize(g) => format!("generalize to {}", g.name()),
                    Action::Truncate { keep } => format!("truncate to {keep}"),
                    Action::Replace { .. } => "replace with a constant".into(),
                    a => a.name().to_string(),
                };
                let (out, ty) = if c.action == Action::Drop {
                    ("-".to_string(), "-".to_string())
                } else {
                    (c.name.clone(), output_type(c).to_string())
                };
                [h.clone(), c.value_type.name().to_string(), action, out, ty]
            }
            None => [
                h.clone(),
                "-".into(),
                "drop (unknown_columns: drop)".into(),
                "-".into(),
                "-".into(),
            ],
        })
        .collect();
    s.push_str(&table(&rows));
    if !p.derive.is_empty() {
        let _ = writeln!(s, "\nderived columns:");
        for d in &p.derive {
            let _ = writeln!(
                s,
                "  {} = {} of `{}` ({})",
                d.name,
                d.what.name(),
                d.from,
                kernels::derive_type(d.what)
            );
        }
    }
    if !p.rules.is_empty() {
        let _ = writeln!(s, "\nrow rules (applied first, in order):");
        for r in &p.rules {
            let cond = match &r.condition {
                crate::policy::Condition::Equals(_) => "equals a value".to_string(),
                crate::policy::Condition::In(v) => format!("is one of {} values", v.len()),
                crate::policy::Condition::IsNull(true) => "is null".to_string(),
                crate::policy::Condition::IsNull(false) => "is not null".to_string(),
            };
            let _ = writeln!(s, "  {}: drop rows where `{}` {cond}", r.label, r.column);
        }
    }
    match &p.k_anonymity {
        Some(k) => {
            let _ = writeln!(
                s,
                "\nk-anonymity: k = {} over ({}), on violation {:?}{}",
                k.k,
                k.quasi_identifiers.join(", "),
                k.on_violation,
                k.max_suppression
                    .map(|m| format!(", at most {m} suppressed"))
                    .unwrap_or_default()
            );
            if p.has_ladders() {
                let _ = writeln!(
                    s,
                    "  ladders (the run writes the least combination that passes, searched over the whole input):"
                );
                for (q, levels) in p.ladders() {
                    let _ = writeln!(s, "    {q}: {}", levels.join(" → "));
                }
            }
            if let Some(l) = k.l {
                let _ = writeln!(
                    s,
                    "  l-diversity: at least {l} distinct values of ({}) in every class",
                    k.sensitive.join(", ")
                );
            }
        }
        None => {
            let _ = writeln!(s, "\nk-anonymity: none");
        }
    }
    let uses = p.key_uses();
    if uses.is_empty() {
        let _ = writeln!(s, "keys: none needed");
    } else {
        let _ = writeln!(s, "keys:");
        for (purpose, space) in uses {
            let id = ring
                .map(|r| r.key_id(purpose, &space))
                .unwrap_or_else(|| "(give --key-file to see the id)".into());
            let _ = writeln!(s, "  {}/{space}: {id}", purpose.label());
        }
    }
    s
}

/// The plan's table: one line per input column, in aligned columns.
fn table(rows: &[[String; 5]]) -> String {
    use std::fmt::Write;
    let mut s = String::new();
    let header = [
        "input column",
        "type",
        "action",
        "output column",
        "output type",
    ];
    let mut widths = header.map(str::len);
    for r in rows {
        for (w, c) in widths.iter_mut().zip(r) {
            *w = (*w).max(c.chars().count());
        }
    }
    let line = |cells: [&str; 5]| {
        let mut l = String::new();
        for (i, c) in cells.iter().enumerate() {
            let _ = write!(l, "{c:<w$}  ", w = widths[i]);
        }
        l.trim_end().to_string()
    };
    let _ = writeln!(s, "{}", line(header));
    for r in rows {
        let _ = writeln!(s, "{}", line([&r[0], &r[1], &r[2], &r[3], &r[4]]));
    }
    s
}

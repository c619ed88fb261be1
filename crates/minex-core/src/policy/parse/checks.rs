//! Checks across sections, once each has been read: what each type allows, and what the
//! rows, derived columns and quasi-identifiers name.

use std::collections::BTreeSet;

use super::*;

impl Parser {
    /// A rule over a typed column compares canonical values: its texts are canonicalized here
    /// (`equals: "TRUE"` on a boolean is `true`), and a text that is not a value of the type is
    /// a problem. Such a column must reject (or fail on) a value it cannot read: with
    /// `on_invalid: null`, an unreadable marker would let its row through the rule.
    pub(super) fn type_rules(&mut self, p: &mut Policy) {
        let reference = p.reference_date;
        for r in &mut p.rules {
            let Some(c) = p.column_index.get(&r.column).map(|i| &p.columns[*i]) else {
                continue;
            };
            if c.value_type == ValueType::String {
                continue;
            }
            r.value_type = c.value_type;
            let canon = |t: &str| {
                crate::transform::canonical::canonical_value(
                    c.value_type,
                    t,
                    reference,
                    c.allow_interim,
                )
            };
            let texts: Vec<&mut String> = match &mut r.condition {
                Condition::Equals(t) => vec![t],
                Condition::In(list) => list.iter_mut().collect(),
                Condition::IsNull(_) => Vec::new(),
            };
            let mut bad = 0;
            for t in texts {
                match canon(t) {
                    Ok(v) => *t = v,
                    Err(_) => bad += 1,
                }
            }
            if bad > 0 {
                self.problem(
                    "rows.drop_when",
                    format!(
                        "rule `{}`: {bad} of its values {} not a `{}` value, so the rule could never match them",
                        r.label,
                        if bad == 1 { "is" } else { "are" },
                        c.value_type.name()
                    ),
                );
            }
            if c.on_invalid == OnInvalid::Null {
                self.problem(
                    &format!("columns.{}.on_invalid", c.name),
                    format!(
                        "column `{}` is read by rule `{}`: a value the rule cannot read must not become null and let its row through; use `reject` (the default) or `fail`",
                        c.name, r.label
                    ),
                );
            }
        }
    }

    /// Checks that need the whole policy.
    pub(super) fn cross_check(&mut self, p: &Policy) {
        let column_names: BTreeSet<&str> = p.columns.iter().map(|c| c.name.as_str()).collect();
        for r in &p.rules {
            if !column_names.contains(r.column.as_str()) {
                self.problem(
                    "rows.drop_when",
                    format!(
                        "rule `{}` tests column `{}`, which `columns` does not name",
                        r.label, r.column
                    ),
                );
            }
        }
        let outputs: BTreeSet<&str> = p
            .columns
            .iter()
            .filter(|c| c.action != Action::Drop)
            .map(|c| c.name.as_str())
            .collect();
        for d in &p.derive {
            let path = format!("derive.{}", d.name);
            match p.column(&d.from) {
                None => self.problem(
                    &path,
                    format!("reads `{}`, which `columns` does not name", d.from),
                ),
                Some(c) if c.value_type != ValueType::Personnummer => self.problem(
                    &path,
                    format!(
                        "reads `{}`, which must be `type: personnummer` to derive from",
                        d.from
                    ),
                ),
                Some(_) => {}
            }
            if outputs.contains(d.name.as_str()) {
                self.problem(&path, format!("`{}` is already an output column", d.name));
            }
        }
        if let Some(k) = &p.k_anonymity {
            let all: BTreeSet<&str> = outputs
                .iter()
                .copied()
                .chain(p.derive.iter().map(|d| d.name.as_str()))
                .collect();
            for q in &k.quasi_identifiers {
                if !all.contains(q.as_str()) {
                    self.problem(
                        "k_anonymity.quasi_identifiers",
                        format!("`{q}` is not an output column (quasi-identifiers name columns after generalization and derivation; a dropped column is not one)"),
                    );
                }
            }
        }
    }
}

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
            for s in &k.sensitive {
                if !all.contains(s.as_str()) {
                    self.problem(
                        "k_anonymity.sensitive",
                        format!("`{s}` is not an output column"),
                    );
                } else if k.quasi_identifiers.contains(s) {
                    self.problem(
                        "k_anonymity.sensitive",
                        format!("`{s}` is a quasi-identifier; a sensitive column is what the classes must not give away, so it cannot also form them"),
                    );
                }
            }
        }
        // Ladders: only on quasi-identifiers, and only with a suppression budget.
        let qis: BTreeSet<&str> = p
            .k_anonymity
            .iter()
            .flat_map(|k| k.quasi_identifiers.iter().map(String::as_str))
            .collect();
        let laddered = p
            .columns
            .iter()
            .filter(|c| c.ladder.is_some())
            .map(|c| (format!("columns.{}", c.name), c.name.as_str()))
            .chain(
                p.derive
                    .iter()
                    .filter(|d| d.ladder.is_some())
                    .map(|d| (format!("derive.{}", d.name), d.name.as_str())),
            );
        let mut any = false;
        for (path, name) in laddered {
            any = true;
            if !qis.contains(name) {
                self.problem(
                    &path,
                    format!("`{name}` has a ladder of levels but is not one of `k_anonymity.quasi_identifiers`; a ladder is searched only for a quasi-identifier (give one level, or add it to them)"),
                );
            }
        }
        if any {
            match &p.k_anonymity {
                Some(k) if k.max_suppression.is_none() => self.problem(
                    "k_anonymity.max_suppression",
                    "a policy with a ladder of levels must set `max_suppression` (the share of rows the search may suppress, e.g. 0.05): the search picks the least generalization that suppresses no more",
                ),
                _ => {}
            }
            let nodes: u128 = p
                .ladders()
                .iter()
                .map(|(_, l)| l.len().max(1) as u128)
                .product();
            if nodes > MAX_LATTICE as u128 {
                self.problem(
                    "k_anonymity.quasi_identifiers",
                    format!("the ladders make {nodes} combinations of levels, more than the {MAX_LATTICE} the search evaluates; give fewer levels or fewer quasi-identifiers"),
                );
            }
        }
    }
}

/// The most combinations of levels (lattice nodes) a policy may ask the search to consider:
/// each node the search evaluates costs a pass over the finest classes (in memory).
pub const MAX_LATTICE: usize = 10_000;

/// Why a column's ladder is not a ladder: each level must be computable from the one
/// before (a coarsening), so that a coarser level never splits a class of a finer one.
pub(super) fn ladder_problem(levels: &[Action]) -> Option<String> {
    first_break(
        levels,
        |a, b| match (a, b) {
            (Action::Truncate { keep: a }, Action::Truncate { keep: b }) => b < a,
            (Action::Generalize(a), Action::Generalize(b)) => generalization_coarsens(*a, *b),
            _ => false,
        },
        Action::level_name,
        "`keep` shorter; `month`, `year`, `decade` in that order; `age_band:N` then `age_band:M` with M a multiple of N",
    )
}

fn generalization_coarsens(a: Generalization, b: Generalization) -> bool {
    use Generalization::*;
    match (a, b) {
        (Month, Year | Decade) | (Year, Decade) => true,
        (AgeBand(n), AgeBand(m)) => bands_nest(n, m),
        _ => false,
    }
}

/// Whether every age band of width `m` is a union of bands of width `n` (the bands start at
/// multiples of their width).
fn bands_nest(n: u32, m: u32) -> bool {
    m > n && m.is_multiple_of(n)
}

/// As [`ladder_problem`], for a derivation's ladder. `birth_date` → `birth_year` is no
/// ladder: a samordningsnummer may lack its month or day (no birth date) while its year is
/// known, so the birth dates' null class would split into years one level up.
pub(super) fn derive_ladder_problem(levels: &[Derivation]) -> Option<String> {
    use Derivation::*;
    first_break(
        levels,
        |a, b| match (*a, *b) {
            (Age, AgeBand(_)) => true,
            (AgeBand(n), AgeBand(m)) => bands_nest(n, m),
            _ => false,
        },
        |d| d.name(),
        "`age` then `age_band:N`; `age_band:N` then `age_band:M` with M a multiple of N; not `birth_date` then `birth_year`: a samordningsnummer may have a birth year but no full birth date",
    )
}

/// The first level that does not coarsen the one before, as a problem naming both and `rule`.
fn first_break<T>(
    levels: &[T],
    coarsens: impl Fn(&T, &T) -> bool,
    name: impl Fn(&T) -> String,
    rule: &str,
) -> Option<String> {
    levels.windows(2).find(|w| !coarsens(&w[0], &w[1])).map(|w| {
        format!(
            "level `{}` cannot follow `{}`: each level must be coarser than the one before and computable from it ({rule})",
            name(&w[1]),
            name(&w[0])
        )
    })
}

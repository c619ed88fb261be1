//! The k-anonymity pass on the sample: which rows reach the gate, the quasi-identifiers and
//! their coarsenings, and the greedy coarsening until the estimated suppression is low enough.

use std::collections::HashMap;

use crate::ident::date::Date;
use crate::ident::personnummer::{ParseOptions, Pnr};
use crate::ident::{parse_bool, postal};

use super::*;

/// A column the k-anonymity gate groups by, with its possible coarsenings.
pub(super) struct Qi {
    pub(super) col: usize,
    /// Class codes per row, for each level still written (level `levels.len()` = dropped).
    pub(super) levels: Vec<Vec<u32>>,
    pub(super) level: usize,
    /// Each coarsening step: (the level left, the suppression share before the step).
    steps: Vec<(usize, f64)>,
}

pub(super) fn codes<F: Fn(&str) -> Option<String>>(values: &[Option<String>], f: F) -> Vec<u32> {
    let mut ids: HashMap<Option<String>, u32> = HashMap::new();
    values
        .iter()
        .map(|v| {
            let key = v.as_deref().and_then(&f);
            let next = u32::try_from(ids.len()).unwrap_or(u32::MAX);
            *ids.entry(key).or_insert(next)
        })
        .collect()
}

/// The share of gate rows in classes smaller than `K`.
pub(super) fn suppression(qis: &[Qi], levels: &[usize], gate: &[bool]) -> f64 {
    let active: Vec<&Vec<u32>> = qis
        .iter()
        .zip(levels)
        .filter_map(|(q, &l)| q.levels.get(l))
        .collect();
    let mut classes: HashMap<Vec<u32>, usize> = HashMap::new();
    let mut rows = 0usize;
    for (r, _) in gate.iter().enumerate().filter(|(_, g)| **g) {
        rows += 1;
        let key: Vec<u32> = active.iter().map(|c| c[r]).collect();
        *classes.entry(key).or_default() += 1;
    }
    let small: usize = classes.values().filter(|n| (**n as u64) < K).copied().sum();
    ratio(small, rows)
}

/// Which sampled rows reach the k-anonymity gate: not removed by a row rule, not rejected
/// for an invalid identity number.
pub(super) fn gate(
    columns: &[ColumnChoice],
    samples: &[ColumnSample],
    reference: Date,
    sampled: usize,
) -> Vec<bool> {
    let pnr_opts = ParseOptions {
        reference,
        allow_interim: false,
    };
    let mut gate = vec![true; sampled];
    for (c, col) in columns.iter().zip(samples) {
        match &c.decision {
            Decision::ProtectedRule { .. } => {
                for (g, v) in gate.iter_mut().zip(&col.values) {
                    if v.as_deref().is_some_and(|v| parse_bool(v) != Ok(false)) {
                        *g = false;
                    }
                }
            }
            Decision::Tokenize { nullable } => {
                for (g, v) in gate.iter_mut().zip(&col.values) {
                    let ok = match v {
                        None => *nullable,
                        Some(v) => Pnr::parse(v, &pnr_opts).is_ok(),
                    };
                    *g &= ok;
                }
            }
            _ => {}
        }
    }
    gate
}

/// The quasi-identifiers and their coarsenings. On equal effect, the first is given up
/// first: kept codes (more distinct values first), then postal digits, then the birth year.
pub(super) fn quasi_identifiers(
    columns: &[ColumnChoice],
    samples: &[ColumnSample],
    distinct_counts: &[usize],
) -> Vec<Qi> {
    let mut qis: Vec<Qi> = Vec::new();
    let mut order: Vec<usize> = (0..columns.len()).collect();
    order.sort_by_key(|&i| {
        let rank = match columns[i].decision {
            Decision::Keep => 0,
            Decision::TruncatePostal { .. } => 1,
            Decision::GeneralizeBirth { .. } => 2,
            _ => 3,
        };
        (rank, std::cmp::Reverse(distinct_counts[i]), i)
    });
    for i in order {
        let values = &samples[i].values;
        let levels = match columns[i].decision {
            Decision::GeneralizeBirth { .. } => vec![
                codes(values, |v| Date::parse(v).map(|d| d.year.to_string())),
                codes(values, |v| {
                    Date::parse(v).map(|d| (d.year.div_euclid(10) * 10).to_string())
                }),
            ],
            Decision::TruncatePostal { .. } => vec![
                codes(values, |v| {
                    postal::canonicalize(v)
                        .ok()
                        .map(|p| String::from_utf8_lossy(&p[..3]).into_owned())
                }),
                codes(values, |v| {
                    postal::canonicalize(v)
                        .ok()
                        .map(|p| String::from_utf8_lossy(&p[..2]).into_owned())
                }),
            ],
            Decision::Keep => vec![codes(values, |v| Some(v.to_string()))],
            _ => continue,
        };
        qis.push(Qi {
            col: i,
            levels,
            level: 0,
            steps: Vec::new(),
        });
    }
    qis
}

/// Coarsens greedily while the sample says too many rows would be suppressed; returns the
/// estimated suppression.
pub(super) fn coarsen(qis: &mut [Qi], gate: &[bool]) -> f64 {
    let mut levels: Vec<usize> = qis.iter().map(|q| q.level).collect();
    let mut current = suppression(qis, &levels, gate);
    while current > TARGET_SUPPRESSION {
        // Generalize before dropping: the best coarsening that helps at all, else the best
        // drop.
        let mut best_coarsening: Option<(usize, f64)> = None;
        let mut best_drop: Option<(usize, f64)> = None;
        for i in 0..qis.len() {
            if levels[i] >= qis[i].levels.len() {
                continue;
            }
            levels[i] += 1;
            let s = suppression(qis, &levels, gate);
            let drops = levels[i] == qis[i].levels.len();
            levels[i] -= 1;
            let best = if drops {
                &mut best_drop
            } else {
                &mut best_coarsening
            };
            // A drop that reaches the target is taken in preference order; otherwise the
            // step that helps most.
            let reached = |b: f64| drops && b <= TARGET_SUPPRESSION;
            if best.is_none_or(|(_, b)| !reached(b) && (s < b || reached(s))) {
                *best = Some((i, s));
            }
        }
        let Some((i, s)) = best_coarsening.filter(|c| c.1 < current).or(best_drop) else {
            break;
        };
        qis[i].steps.push((levels[i], current));
        levels[i] += 1;
        current = s;
    }
    for (q, &l) in qis.iter_mut().zip(&levels) {
        q.level = l;
    }
    current
}

/// Applies the coarsenings to the decisions and their reasons.
pub(super) fn apply_coarsenings(qis: &[Qi], columns: &mut [ColumnChoice]) {
    let k_text = format!("classes smaller than k = {K}");
    for q in qis {
        let Some(&(_, before)) = q.steps.last() else {
            continue;
        };
        let first_before = q.steps.first().map_or(before, |s| s.1);
        let c = &mut columns[q.col];
        let dropped = q.level >= q.levels.len();
        match (&mut c.decision, dropped) {
            (Decision::GeneralizeBirth { to, .. }, false) => {
                *to = BirthLevel::Decade;
                c.reason = format!(
                    "{}; coarsened to the decade: with the year, {} of sampled rows would fall in {k_text}",
                    c.reason.replace(": generalized to the year", ""),
                    pct(first_before)
                );
            }
            (Decision::TruncatePostal { keep, .. }, false) => {
                *keep = 2;
                c.reason = format!(
                    "{}; only 2 digits kept: with 3, {} of sampled rows would fall in {k_text}",
                    c.reason
                        .replace(": truncated to the postal area (first 3 digits)", ""),
                    pct(first_before)
                );
            }
            (_, true) => {
                let what = c.reason.split_once(": ").map_or("", |w| w.0).to_string();
                c.reason = format!(
                    "{what}; but dropped: with it among the quasi-identifiers, {} of sampled rows would fall in {k_text} (the run allows {})",
                    pct(before),
                    pct(MAX_SUPPRESSION)
                );
                c.decision = Decision::Drop;
            }
            _ => {}
        }
    }
}

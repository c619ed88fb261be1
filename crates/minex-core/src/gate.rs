//! k-anonymity: class counting (pass 1) and the gate that decides which classes are too
//! small (pass 2 suppresses their rows), with the risk figures of the manifest.
//!
//! A class is a distinct combination of the quasi-identifiers' *output* values (after
//! generalization and truncation), encoded by Arrow's row format into bytes that compare
//! equal exactly when the values do. [`ClassCounts`] holds one count per class, so memory
//! follows the number of classes, never the rows, and counts of partitions merge.

use std::collections::{BTreeMap, HashMap, HashSet};

use arrow::row::{RowConverter, SortField};

use crate::error::{Error, Result};
use crate::manifest::{KAnonymityInfo, LDiversityInfo, LatticeNode, SearchInfo, SuppressedBy};
use crate::plan::Plan;
use crate::policy::{KAnonymity, OnViolation};
use crate::search;

/// Rows per k-anonymity class, counted by [`crate::Transformer::count_classes`] (pass 1).
/// Counts made over separate partitions of the input (threads, files, Spark tasks) are
/// combined with [`ClassCounts::merge`]; the result does not depend on the order.
///
/// With generalization ladders a class is keyed by every level of every quasi-identifier
/// (the finest classes, from which every combination of levels is computed); with
/// l-diversity each class also holds up to `l` distinct values of each sensitive column.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClassCounts {
    pub(crate) classes: HashMap<Box<[u8]>, u64>,
    pub(crate) rows_at_gate: u64,
    /// l-diversity: per class, per sensitive column, its distinct non-null values (row
    /// bytes), at most `l` of them.
    pub(crate) distinct: HashMap<Box<[u8]>, DistinctSets>,
    /// The `l` the distinct sets stop at (0 without l-diversity).
    pub(crate) l: u64,
}

impl ClassCounts {
    /// Adds `other`'s counts to these.
    pub fn merge(&mut self, other: ClassCounts) {
        if self.classes.is_empty() {
            self.classes = other.classes;
        } else {
            for (k, c) in other.classes {
                *self.classes.entry(k).or_insert(0) += c;
            }
        }
        self.rows_at_gate += other.rows_at_gate;
        self.l = self.l.max(other.l);
        let cap = usize::try_from(self.l).unwrap_or(usize::MAX);
        for (k, sets) in other.distinct {
            match self.distinct.entry(k) {
                std::collections::hash_map::Entry::Vacant(e) => {
                    e.insert(sets);
                }
                std::collections::hash_map::Entry::Occupied(mut e) => {
                    for (mine, theirs) in e.get_mut().iter_mut().zip(sets) {
                        for v in theirs {
                            add_distinct(mine, v, cap);
                        }
                    }
                }
            }
        }
    }

    /// The rows counted (the rows that reached the gate: not filtered, not rejected).
    pub fn rows(&self) -> u64 {
        self.rows_at_gate
    }

    /// The distinct classes seen (at the finest levels of the ladders).
    pub fn classes(&self) -> usize {
        self.classes.len()
    }

    /// The counts as bytes, to send from the workers that counted them (Spark executors, say)
    /// to the one that decides: the class keys are the quasi-identifiers' *output* values
    /// (already generalized), with their counts and (with l-diversity) up to `l` distinct
    /// output values of each sensitive column, nothing else. Read back with
    /// [`ClassCounts::from_bytes`].
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(32 + self.classes.len() * 24);
        let put = |out: &mut Vec<u8>, b: &[u8]| {
            out.extend_from_slice(&(b.len() as u64).to_le_bytes());
            out.extend_from_slice(b);
        };
        out.extend_from_slice(COUNTS_MAGIC);
        out.extend_from_slice(&self.rows_at_gate.to_le_bytes());
        out.extend_from_slice(&self.l.to_le_bytes());
        out.extend_from_slice(&(self.classes.len() as u64).to_le_bytes());
        for (k, c) in &self.classes {
            put(&mut out, k);
            out.extend_from_slice(&c.to_le_bytes());
        }
        out.extend_from_slice(&(self.distinct.len() as u64).to_le_bytes());
        for (k, sets) in &self.distinct {
            put(&mut out, k);
            out.extend_from_slice(&(sets.len() as u64).to_le_bytes());
            for set in sets {
                out.extend_from_slice(&(set.len() as u64).to_le_bytes());
                for v in set {
                    put(&mut out, v);
                }
            }
        }
        out
    }

    /// Reads what [`ClassCounts::to_bytes`] wrote.
    ///
    /// # Errors
    /// `Malformed` when the bytes are not class counts.
    pub fn from_bytes(bytes: &[u8]) -> Result<ClassCounts> {
        let bad = || {
            Error::malformed(
                crate::error::Location::default(),
                "these bytes are not minex class counts",
            )
        };
        let mut rest = bytes
            .strip_prefix(COUNTS_MAGIC.as_slice())
            .ok_or_else(bad)?;
        let u64_at = |rest: &mut &[u8]| -> Result<u64> {
            let (head, tail) = rest.split_first_chunk::<8>().ok_or_else(bad)?;
            *rest = tail;
            Ok(u64::from_le_bytes(*head))
        };
        let bytes_at = |rest: &mut &[u8]| -> Result<Box<[u8]>> {
            let len = usize::try_from(u64_at(rest)?).map_err(|_| bad())?;
            if rest.len() < len {
                return Err(bad());
            }
            let (key, tail) = rest.split_at(len);
            *rest = tail;
            Ok(Box::from(key))
        };
        // Never trust a claimed length for an allocation: at most what the bytes can hold.
        let cap = |n: u64, rest: &[u8]| usize::try_from(n).unwrap_or(0).min(rest.len() / 8);
        let rows_at_gate = u64_at(&mut rest)?;
        let l = u64_at(&mut rest)?;
        let n = u64_at(&mut rest)?;
        let mut classes = HashMap::with_capacity(cap(n, rest));
        for _ in 0..n {
            let key = bytes_at(&mut rest)?;
            let count = u64_at(&mut rest)?;
            classes.insert(key, count);
        }
        let n = u64_at(&mut rest)?;
        let mut distinct = HashMap::with_capacity(cap(n, rest));
        for _ in 0..n {
            let key = bytes_at(&mut rest)?;
            let columns = u64_at(&mut rest)?;
            let mut sets = Vec::with_capacity(cap(columns, rest));
            for _ in 0..columns {
                let values = u64_at(&mut rest)?;
                let mut set = Vec::with_capacity(cap(values, rest));
                for _ in 0..values {
                    set.push(bytes_at(&mut rest)?);
                }
                sets.push(set);
            }
            distinct.insert(key, sets);
        }
        if !rest.is_empty() {
            return Err(bad());
        }
        Ok(ClassCounts {
            classes,
            rows_at_gate,
            distinct,
            l,
        })
    }

    /// Adds one batch's rows: their class keys and, with l-diversity, per sensitive column
    /// each row's value (row bytes; `None` for null).
    pub(crate) fn add(
        &mut self,
        keys: Vec<Box<[u8]>>,
        sensitive: &[Vec<Option<Box<[u8]>>>],
        l: u64,
    ) {
        self.rows_at_gate += keys.len() as u64;
        if sensitive.is_empty() {
            for k in keys {
                *self.classes.entry(k).or_insert(0) += 1;
            }
            return;
        }
        self.l = self.l.max(l);
        let cap = usize::try_from(self.l).unwrap_or(usize::MAX);
        for (i, k) in keys.into_iter().enumerate() {
            let sets = self
                .distinct
                .entry(k.clone())
                .or_insert_with(|| vec![Vec::new(); sensitive.len()]);
            for (set, column) in sets.iter_mut().zip(sensitive) {
                if let Some(v) = &column[i] {
                    add_distinct(set, v.clone(), cap);
                }
            }
            *self.classes.entry(k).or_insert(0) += 1;
        }
    }
}

/// Adds `v` to a distinct set that stops growing at `cap` values.
fn add_distinct(set: &mut Vec<Box<[u8]>>, v: Box<[u8]>, cap: usize) {
    if set.len() < cap && !set.contains(&v) {
        set.push(v);
    }
}

/// Per sensitive column, a class's distinct values (row bytes), at most `l` of them.
pub(crate) type DistinctSets = Vec<Vec<Box<[u8]>>>;

const COUNTS_MAGIC: &[u8; 8] = b"MXCLASS2";

/// The decision of pass 1: the levels written (chosen by the search when the policy gives
/// ladders), which classes are suppressed, and the risk figures.
#[derive(Debug, Clone)]
pub struct Gate {
    spec: KAnonymity,
    /// Class (row bytes of the quasi-identifiers at `levels`) → rows.
    classes: HashMap<Box<[u8]>, u64>,
    /// Classes that meet k but fail l-diversity.
    failing_l: HashSet<Box<[u8]>>,
    /// Per class: the fewest distinct values of a sensitive column (up to l); with
    /// l-diversity only.
    distinct: HashMap<Box<[u8]>, u64>,
    rows_at_gate: u64,
    suppressed_k: u64,
    suppressed_l: u64,
    classes_below: u64,
    levels: Vec<usize>,
    search: Option<SearchInfo>,
    /// Whether the levels are within the budget (false: no node of the lattice is).
    found: bool,
}

impl Gate {
    /// Decides on the counts of every row of the input (all partitions merged): with
    /// ladders, searches the lattice for the least generalization within the budget.
    ///
    /// This only decides; whether the policy lets a run go on with this decision
    /// (`on_violation`, `max_suppression`, a search that found no node) is [`Gate::check`].
    ///
    /// # Errors
    /// `Internal` when the plan's policy has no `k_anonymity`.
    pub fn new(plan: &Plan, counts: ClassCounts) -> Result<Gate> {
        Gate::for_policy(&plan.policy, counts)
    }

    /// As [`Gate::new`], from the policy alone (the decision needs no schema: the counts'
    /// keys were made by a transformer of a plan of this policy).
    ///
    /// # Errors
    /// `Internal` when the policy has no `k_anonymity`.
    pub fn for_policy(policy: &crate::policy::Policy, counts: ClassCounts) -> Result<Gate> {
        let spec = policy
            .k_anonymity
            .clone()
            .ok_or_else(|| Error::internal("a k-anonymity gate for a policy without one"))?;
        if !policy.has_ladders() && spec.l.is_none() {
            return Ok(Gate::direct(spec, counts));
        }
        Gate::searched(policy, spec, counts)
    }

    /// One level per quasi-identifier and no l-diversity: the counts are the classes.
    fn direct(spec: KAnonymity, counts: ClassCounts) -> Gate {
        let (mut rows_below, mut classes_below) = (0, 0);
        for c in counts.classes.values() {
            if *c < spec.k {
                rows_below += c;
                classes_below += 1;
            }
        }
        let levels = vec![0; spec.quasi_identifiers.len()];
        let found = rows_below <= budget(&spec, counts.rows_at_gate);
        Gate {
            spec,
            classes: counts.classes,
            failing_l: HashSet::new(),
            distinct: HashMap::new(),
            rows_at_gate: counts.rows_at_gate,
            suppressed_k: rows_below,
            suppressed_l: 0,
            classes_below,
            levels,
            search: None,
            found,
        }
    }

    /// The search over the lattice, and the gate at the node it chose.
    fn searched(
        policy: &crate::policy::Policy,
        spec: KAnonymity,
        counts: ClassCounts,
    ) -> Result<Gate> {
        let types = crate::plan::ladder_types(policy)?;
        let rows_at_gate = counts.rows_at_gate;
        let budget = budget(&spec, rows_at_gate);
        let keys: Vec<&[u8]> = counts.classes.keys().map(|k| &**k).collect();
        let sizes: Vec<u64> = counts.classes.values().copied().collect();
        let l = spec.l.unwrap_or(0);
        let no_sets: DistinctSets = vec![Vec::new(); spec.sensitive.len()];
        let sets: Vec<&[Vec<Box<[u8]>>]> = if spec.l.is_some() {
            keys.iter()
                .map(|k| counts.distinct.get(*k).map_or(&no_sets[..], |s| &s[..]))
                .collect()
        } else {
            Vec::new()
        };
        let base = search::Base::decode(
            &keys,
            sizes,
            &types,
            spec.l.is_some().then_some((&sets[..], l)),
        )?;
        let lattice = search::Lattice::new(types.iter().map(Vec::len).collect());
        let out = search::search(&base, lattice, spec.k, budget);

        // The gate at the chosen node: its classes by the row bytes pass 2 will make.
        let fields = base.fields(&out.chosen);
        let sort: Vec<SortField> = fields
            .iter()
            .map(|f| SortField::new(base.arrays[*f].data_type().clone()))
            .collect();
        let arrays: Vec<_> = fields.iter().map(|f| base.arrays[*f].clone()).collect();
        let conv =
            RowConverter::new(sort).map_err(|e| Error::internal(format!("row converter: {e}")))?;
        let rows = conv
            .convert_columns(&arrays)
            .map_err(|e| Error::internal(format!("row converter: {e}")))?;
        let e = &out.eval;
        let mut classes = HashMap::with_capacity(e.counts.len());
        let mut failing_l = HashSet::new();
        let mut distinct = HashMap::new();
        let mut seen = vec![false; e.counts.len()];
        for (i, row) in rows.iter().enumerate() {
            let c = e.class_of[i] as usize;
            if std::mem::replace(&mut seen[c], true) {
                continue;
            }
            let key: Box<[u8]> = Box::from(row.as_ref());
            if let Some(d) = e.distinct.get(c) {
                distinct.insert(key.clone(), *d);
                if e.counts[c] >= spec.k && *d < l {
                    failing_l.insert(key.clone());
                }
            }
            classes.insert(key, e.counts[c]);
        }
        let classes_below = e.counts.iter().filter(|c| **c < spec.k).count() as u64;
        let search = policy.has_ladders().then(|| {
            let ladders = policy.ladders();
            let lattice_nodes = if out.states.len() <= 1000 {
                out.states
                    .iter()
                    .enumerate()
                    .map(|(i, st)| LatticeNode {
                        levels: out.lattice.levels(i),
                        height: out.lattice.height(i),
                        passes: match st {
                            search::NodeState::Unknown => None,
                            search::NodeState::Pass(_) => Some(true),
                            search::NodeState::Fail(_) => Some(false),
                        },
                        suppressed: match st {
                            search::NodeState::Pass(s) => *s,
                            search::NodeState::Fail(s) => Some(*s),
                            search::NodeState::Unknown => None,
                        },
                    })
                    .collect()
            } else {
                Vec::new()
            };
            SearchInfo {
                chosen: ladders
                    .iter()
                    .zip(&out.chosen)
                    .map(|((q, l), lv)| (q.clone(), l[*lv].clone()))
                    .collect(),
                ladders: ladders.into_iter().collect(),
                levels: out.chosen.clone(),
                height: out.chosen.iter().sum(),
                budget,
                nodes: out.states.len() as u64,
                nodes_passing: out
                    .states
                    .iter()
                    .filter(|s| matches!(s, search::NodeState::Pass(_)))
                    .count() as u64,
                nodes_evaluated: out.evaluated,
                lattice: lattice_nodes,
            }
        });
        Ok(Gate {
            classes,
            failing_l,
            distinct,
            rows_at_gate,
            suppressed_k: e.suppressed_k,
            suppressed_l: e.suppressed_l,
            classes_below,
            levels: out.chosen.clone(),
            search,
            found: out.passed,
            spec,
        })
    }

    /// Whether the policy allows writing with this gate: `on_violation: fail` stops when any
    /// class is suppressed, `max_suppression` when more than `floor(max_suppression × rows at
    /// the gate)` rows would be, and a search that found no combination of levels within that
    /// stops naming the best it found.
    ///
    /// # Errors
    /// `Privacy`, saying how many rows and classes are suppressed (never which).
    pub fn check(&self) -> Result<()> {
        let k = &self.spec;
        let rows = self.rows_below();
        let l_part = if self.suppressed_l > 0 {
            format!(
                " ({} of them in classes with fewer than {} distinct values of {})",
                self.suppressed_l,
                k.l.unwrap_or(0),
                k.sensitive.join(", ")
            )
        } else {
            String::new()
        };
        let node = self.search.as_ref().map(|s| {
            format!(
                "{} (height {})",
                k.quasi_identifiers
                    .iter()
                    .map(|q| format!("{q}: {}", s.chosen.get(q).map_or("?", |v| v.as_str())))
                    .collect::<Vec<_>>()
                    .join(", "),
                s.height
            )
        });
        if rows > 0 && k.on_violation == OnViolation::Fail {
            return Err(Error::privacy(format!(
                "k-anonymity with k = {}: {} rows in {} classes are below k or l{} over ({}){l_part}; `on_violation: fail`, so nothing was written",
                k.k,
                rows,
                self.classes_below + self.failing_l.len() as u64,
                node.as_ref()
                    .map(|n| format!(" even at the best combination of levels, {n},"))
                    .unwrap_or_default(),
                k.quasi_identifiers.join(", ")
            )));
        }
        if let Some(max) = k.max_suppression
            && !self.found
        {
            let share = self.share_below();
            let allowed = budget(k, self.rows_at_gate);
            return Err(Error::privacy(match node {
                Some(n) => format!(
                    "k-anonymity with k = {}: no combination of the ladders' levels suppresses at most {allowed} rows (`max_suppression: {max}` of the {} rows that reached the gate); the best, {n}, would suppress {rows} rows{l_part}, a share of {share:.4}; nothing was written. Add coarser levels to the ladders, drop a quasi-identifier, or lower k",
                    k.k, self.rows_at_gate
                ),
                None => format!(
                    "k-anonymity with k = {} would suppress {rows} rows{l_part}, a share of {share:.4} of the {} rows that reached the gate, more than `max_suppression: {max}`; nothing was written. Generalize the quasi-identifiers further (a ladder of levels, `to: [month, year, decade]`, lets minex search for the least that passes) or lower k",
                    k.k, self.rows_at_gate
                ),
            }));
        }
        Ok(())
    }

    /// Whether rows of the class `key` are suppressed (a class pass 1 never saw is).
    pub fn suppress(&self, key: &[u8]) -> bool {
        match self.classes.get(key) {
            None => true,
            Some(c) if *c < self.spec.k => true,
            Some(_) => !self.failing_l.is_empty() && self.failing_l.contains(key),
        }
    }

    /// The level written for each quasi-identifier, in `quasi_identifiers` order (0 = the
    /// finest of its ladder).
    pub fn levels(&self) -> &[usize] {
        &self.levels
    }

    /// The search's evidence, when the policy gives ladders.
    pub fn search(&self) -> Option<&SearchInfo> {
        self.search.as_ref()
    }

    /// The k asked for.
    pub fn k(&self) -> u64 {
        self.spec.k
    }

    /// The distinct classes counted (at the levels written).
    pub fn classes(&self) -> usize {
        self.classes.len()
    }

    /// Rows that reached the gate.
    pub fn rows_at_gate(&self) -> u64 {
        self.rows_at_gate
    }

    /// Rows suppressed: in classes below k, or failing l-diversity. The rows pass 2
    /// suppresses.
    pub fn rows_below(&self) -> u64 {
        self.suppressed_k + self.suppressed_l
    }

    /// Classes below k.
    pub fn classes_below(&self) -> u64 {
        self.classes_below
    }

    /// The share of the rows at the gate that are suppressed.
    pub fn share_below(&self) -> f64 {
        if self.rows_at_gate == 0 {
            0.0
        } else {
            self.rows_below() as f64 / self.rows_at_gate as f64
        }
    }

    /// The manifest's `k_anonymity` section, for `rows_out` rows written.
    pub fn info(&self, rows_out: u64) -> KAnonymityInfo {
        let k = self.spec.k;
        let kept: Vec<(&Box<[u8]>, u64)> = self
            .classes
            .iter()
            .filter(|(key, c)| **c >= k && !self.failing_l.contains(*key))
            .map(|(key, c)| (key, *c))
            .collect();
        let smallest = kept.iter().map(|(_, c)| *c).min().unwrap_or(0);
        let mut histogram = BTreeMap::new();
        for (_, c) in &kept {
            *histogram.entry(size_bucket(*c, k)).or_insert(0) += 1;
        }
        let l_diversity = self.spec.l.map(|l| LDiversityInfo {
            sensitive: self.spec.sensitive.clone(),
            l,
            smallest_distinct: kept
                .iter()
                .filter_map(|(key, _)| self.distinct.get(*key).copied())
                .min()
                .unwrap_or(0),
            classes_below_l: self.distinct.values().filter(|d| **d < l).count() as u64,
        });
        KAnonymityInfo {
            quasi_identifiers: self.spec.quasi_identifiers.clone(),
            k,
            smallest_class: smallest,
            classes: kept.len() as u64,
            suppressed: self.rows_below(),
            max_prosecutor_risk: (smallest > 0).then(|| 1.0 / smallest as f64),
            avg_prosecutor_risk: (rows_out > 0).then(|| kept.len() as f64 / rows_out as f64),
            share_below_k_before: if self.rows_at_gate == 0 {
                0.0
            } else {
                self.suppressed_k as f64 / self.rows_at_gate as f64
            },
            classes_before: self.classes.len() as u64,
            class_size_histogram: histogram,
            suppressed_by: Some(SuppressedBy {
                k: self.suppressed_k,
                l: self.suppressed_l,
            }),
            search: self.search.clone(),
            l_diversity,
        }
    }
}

/// The most rows the gate may suppress: none with `on_violation: fail`, else
/// `floor(max_suppression × rows)` (all of them without `max_suppression`).
pub fn budget(spec: &KAnonymity, rows: u64) -> u64 {
    match (spec.on_violation, spec.max_suppression) {
        (OnViolation::Fail, _) => 0,
        (OnViolation::Suppress, None) => rows,
        (OnViolation::Suppress, Some(m)) => {
            // floor(m × rows), exact for shares written with few decimals.
            let x = (m * rows as f64 * (1.0 + 1e-12)).floor();
            (x.max(0.0) as u64).min(rows)
        }
    }
}

/// Buckets of class sizes in multiples of k: `k-2k-1`, `2k-3k-1`, ..., `10k+`.
fn size_bucket(size: u64, k: u64) -> String {
    let k = k.max(1);
    let m = size / k;
    if m >= 10 {
        format!("{:>6}+", 10 * k)
    } else {
        format!("{:>6}-{}", m * k, (m + 1) * k - 1)
    }
}

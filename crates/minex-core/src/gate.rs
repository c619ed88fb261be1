//! k-anonymity: class counting (pass 1), the search over the ladders and the gate that
//! decides which classes are suppressed (pass 2), with the risk figures of the manifest.
//!
//! A class is a distinct combination of the quasi-identifiers' *output* values (after
//! generalization and truncation). Each quasi-identifier's distinct values are kept once,
//! with their bytes in Arrow's row format at every level of its ladder (bytes that compare
//! equal exactly when the values do), and a class is the tuple of its values' small ids.
//! [`ClassCounts`] holds one count per class at the finest levels, so memory follows the
//! number of classes, never the rows; counts of partitions merge (their ids are remapped by
//! value). The search ([`crate::search`]) evaluates every combination of levels from these
//! counts; the [`Gate`] keeps the chosen one's classes by level ids, so pass 2 finds a row's
//! class with one lookup per quasi-identifier value.

use std::collections::hash_map::Entry;
use std::collections::{BTreeMap, HashMap};

use arrow::array::ArrayRef;
use arrow::row::{RowConverter, Rows, SortField};

use crate::error::{Error, Result};
use crate::manifest::{KAnonymityInfo, LDiversityInfo, LatticeNode, SearchInfo, SuppressedBy};
use crate::plan::Plan;
use crate::policy::{KAnonymity, OnViolation};
use crate::search;

/// One quasi-identifier's distinct values seen by the counting pass.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Values {
    /// How many levels, from the finest, identify a value: 1 when every coarser level is a
    /// function of the finest (a date's month, a truncation), else all of them.
    key_levels: usize,
    /// The value's row bytes at its first `key_levels` levels (length-prefixed when more
    /// than one) → its id.
    index: HashMap<Box<[u8]>, u32, search::Hashed>,
    /// Per id: per level of the ladder, the value's row bytes at that level.
    pub(crate) levels: Vec<Box<[Box<[u8]>]>>,
}

impl Values {
    /// The id of the value whose bytes at each level are `per_level`, added when new.
    fn id(&mut self, per_level: &[&[u8]], scratch: &mut Vec<u8>) -> Result<u32> {
        let key: &[u8] = if self.key_levels == 1 || per_level.len() == 1 {
            per_level.first().copied().unwrap_or(&[])
        } else {
            scratch.clear();
            for l in per_level {
                scratch.extend_from_slice(&(l.len() as u64).to_le_bytes());
                scratch.extend_from_slice(l);
            }
            scratch.as_slice()
        };
        if let Some(id) = self.index.get(key) {
            return Ok(*id);
        }
        let id = u32::try_from(self.levels.len())
            .map_err(|_| Error::internal("more than 2^32 distinct values of a quasi-identifier"))?;
        self.index.insert(Box::from(key), id);
        self.levels
            .push(per_level.iter().map(|l| Box::<[u8]>::from(*l)).collect());
        Ok(id)
    }

    /// Distinct values.
    pub(crate) fn len(&self) -> usize {
        self.levels.len()
    }
}

/// A class: one id per quasi-identifier. The ids are packed in one `u64` when each fits its
/// share of the bits (64 / n: 21 bits for three quasi-identifiers), else boxed; a class's
/// form follows from its ids alone, so equal classes have equal keys. 16 bytes either way,
/// which keeps the class map small (its cache misses are the counting pass's main cost).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum ClassKey {
    Packed(u64),
    Wide(Box<[u32]>),
}

impl ClassKey {
    pub(crate) fn new(ids: &[u32]) -> ClassKey {
        let n = ids.len().max(1);
        let bits = 64 / n;
        if n <= 64
            && ids
                .iter()
                .all(|id| bits >= 32 || u64::from(*id) < 1u64 << bits)
        {
            let packed = ids
                .iter()
                .fold(0u128, |x, id| (x << bits) | u128::from(*id));
            ClassKey::Packed(packed as u64)
        } else {
            ClassKey::Wide(Box::from(ids))
        }
    }

    /// The ids of a key over `n` quasi-identifiers.
    pub(crate) fn ids(&self, n: usize) -> Vec<u32> {
        let mut out = Vec::with_capacity(n);
        self.ids_into(n, &mut out);
        out
    }

    /// As [`ClassKey::ids`], into `out` (cleared first).
    pub(crate) fn ids_into(&self, n: usize, out: &mut Vec<u32>) {
        out.clear();
        match self {
            ClassKey::Packed(x) => {
                let bits = 64 / n.max(1);
                let mask = if bits >= 64 {
                    u64::MAX
                } else {
                    (1u64 << bits) - 1
                };
                out.extend(
                    (0..n)
                        .rev()
                        .map(|i| ((u128::from(*x) >> (bits * i)) as u64 & mask) as u32),
                );
            }
            ClassKey::Wide(b) => out.extend_from_slice(b),
        }
    }
}

/// Classes by key.
pub(crate) type IdMap<V> = HashMap<ClassKey, V, search::Hashed>;

/// Per sensitive column, a class's distinct values (row bytes), at most `l` of them.
pub(crate) type DistinctSets = Vec<Vec<Box<[u8]>>>;

/// Rows per k-anonymity class, counted by [`crate::Transformer::count_classes`] (pass 1).
/// Counts made over separate partitions of the input (threads, files, Spark tasks) are
/// combined with [`ClassCounts::merge`]; the result does not depend on the order.
///
/// With generalization ladders a class is counted at the finest levels, and each value
/// carries its bytes at every level, from which every combination of levels is computed;
/// with l-diversity each class also holds up to `l` distinct values of each sensitive
/// column.
#[derive(Debug, Clone, Default)]
pub struct ClassCounts {
    /// Per quasi-identifier, its distinct values.
    pub(crate) columns: Vec<Values>,
    /// Class (one value id per quasi-identifier) → rows.
    pub(crate) classes: IdMap<u64>,
    pub(crate) rows_at_gate: u64,
    /// l-diversity: per class, per sensitive column, its distinct non-null values (row
    /// bytes), at most `l` of them.
    pub(crate) distinct: IdMap<DistinctSets>,
    /// The `l` the distinct sets stop at (0 without l-diversity).
    pub(crate) l: u64,
}

impl ClassCounts {
    /// Adds `other`'s counts to these.
    pub fn merge(&mut self, other: ClassCounts) {
        self.rows_at_gate = self.rows_at_gate.saturating_add(other.rows_at_gate);
        self.l = self.l.max(other.l);
        if self.classes.is_empty() && self.columns.iter().all(|c| c.len() == 0) {
            self.columns = other.columns;
            self.classes = other.classes;
            self.distinct = other.distinct;
            return;
        }
        if self.columns.len() < other.columns.len() {
            self.columns
                .resize_with(other.columns.len(), Values::default);
        }
        for (mine, theirs) in self.columns.iter_mut().zip(&other.columns) {
            if mine.len() == 0 {
                mine.key_levels = theirs.key_levels;
            }
        }
        // Other's ids, as ids of these counts' values.
        let mut scratch = Vec::new();
        let remap: Vec<Vec<u32>> = other
            .columns
            .iter()
            .zip(&mut self.columns)
            .map(|(theirs, mine)| {
                theirs
                    .levels
                    .iter()
                    .map(|lv| {
                        let per_level: Vec<&[u8]> = lv.iter().map(|b| &**b).collect();
                        mine.id(&per_level, &mut scratch).unwrap_or(u32::MAX)
                    })
                    .collect()
            })
            .collect();
        let n = remap.len();
        let mut ids = Vec::with_capacity(n);
        let mut key_of = |k: &ClassKey| -> ClassKey {
            k.ids_into(n, &mut ids);
            for (id, r) in ids.iter_mut().zip(&remap) {
                *id = r.get(*id as usize).copied().unwrap_or(u32::MAX);
            }
            ClassKey::new(&ids)
        };
        for (k, c) in other.classes {
            let n = self.classes.entry(key_of(&k)).or_insert(0);
            *n = n.saturating_add(c);
        }
        let cap = usize::try_from(self.l).unwrap_or(usize::MAX);
        for (k, sets) in other.distinct {
            match self.distinct.entry(key_of(&k)) {
                Entry::Vacant(e) => {
                    e.insert(sets);
                }
                Entry::Occupied(mut e) => {
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
    /// to the one that decides: each quasi-identifier's distinct *output* values (already
    /// generalized, at every level of its ladder), the classes as tuples of those values with
    /// their counts and (with l-diversity) up to `l` distinct output values of each sensitive
    /// column, nothing else. Read back with [`ClassCounts::from_bytes`].
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(64 + self.classes.len() * 24);
        let u = |out: &mut Vec<u8>, n: u64| out.extend_from_slice(&n.to_le_bytes());
        let put = |out: &mut Vec<u8>, b: &[u8]| {
            out.extend_from_slice(&(b.len() as u64).to_le_bytes());
            out.extend_from_slice(b);
        };
        let n = self.columns.len();
        let key = |out: &mut Vec<u8>, k: &ClassKey| {
            for id in k.ids(n) {
                out.extend_from_slice(&id.to_le_bytes());
            }
        };
        out.extend_from_slice(COUNTS_MAGIC);
        u(&mut out, self.rows_at_gate);
        u(&mut out, self.l);
        u(&mut out, self.columns.len() as u64);
        for c in &self.columns {
            u(&mut out, c.key_levels as u64);
            u(&mut out, c.levels.len() as u64);
            let width = c.levels.first().map_or(0, |l| l.len());
            u(&mut out, width as u64);
            for v in &c.levels {
                for b in v.iter() {
                    put(&mut out, b);
                }
            }
        }
        u(&mut out, self.classes.len() as u64);
        for (k, c) in &self.classes {
            key(&mut out, k);
            u(&mut out, *c);
        }
        u(&mut out, self.distinct.len() as u64);
        for (k, sets) in &self.distinct {
            key(&mut out, k);
            u(&mut out, sets.len() as u64);
            for set in sets {
                u(&mut out, set.len() as u64);
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
        let n_at = |rest: &mut &[u8]| -> Result<usize> {
            usize::try_from(u64_at(rest)?).map_err(|_| bad())
        };
        let bytes_at = |rest: &mut &[u8]| -> Result<Box<[u8]>> {
            let len = n_at(rest)?;
            if rest.len() < len {
                return Err(bad());
            }
            let (b, tail) = rest.split_at(len);
            *rest = tail;
            Ok(Box::from(b))
        };
        // Never trust a claimed length for an allocation: at most what the bytes can hold.
        let cap = |n: usize, rest: &[u8]| n.min(rest.len() / 4);
        let rows_at_gate = u64_at(&mut rest)?;
        let l = u64_at(&mut rest)?;
        let n_columns = n_at(&mut rest)?;
        if n_columns > 1 << 16 {
            return Err(bad());
        }
        let mut columns = Vec::with_capacity(n_columns);
        let mut scratch = Vec::new();
        for _ in 0..n_columns {
            let key_levels = n_at(&mut rest)?;
            let n = n_at(&mut rest)?;
            let width = n_at(&mut rest)?;
            if width > 1 << 16 || (width == 0 && n > 0) {
                return Err(bad());
            }
            let mut values = Values {
                key_levels,
                ..Values::default()
            };
            for _ in 0..n {
                let per_level = (0..width)
                    .map(|_| bytes_at(&mut rest))
                    .collect::<Result<Vec<_>>>()?;
                let refs: Vec<&[u8]> = per_level.iter().map(|b| &**b).collect();
                let before = values.len();
                values.id(&refs, &mut scratch)?;
                if values.len() != before + 1 {
                    return Err(bad()); // a value twice (or one without levels)
                }
            }
            columns.push(values);
        }
        let key_at = |rest: &mut &[u8]| -> Result<ClassKey> {
            let ids = (0..n_columns)
                .map(|q| {
                    let (head, tail) = rest.split_first_chunk::<4>().ok_or_else(bad)?;
                    *rest = tail;
                    let id = u32::from_le_bytes(*head);
                    if (id as usize) < columns[q].len() {
                        Ok(id)
                    } else {
                        Err(bad())
                    }
                })
                .collect::<Result<Vec<u32>>>()?;
            Ok(ClassKey::new(&ids))
        };
        let n = n_at(&mut rest)?;
        let mut classes = IdMap::with_capacity_and_hasher(cap(n, rest), Default::default());
        let mut total = 0u64;
        for _ in 0..n {
            let k = key_at(&mut rest)?;
            let c = u64_at(&mut rest)?;
            total = total.checked_add(c).ok_or_else(bad)?;
            if c == 0 || classes.insert(k, c).is_some() {
                return Err(bad());
            }
        }
        // Every row at the gate is in exactly one class.
        if total != rows_at_gate {
            return Err(bad());
        }
        let n = n_at(&mut rest)?;
        let mut distinct = IdMap::with_capacity_and_hasher(cap(n, rest), Default::default());
        for _ in 0..n {
            let k = key_at(&mut rest)?;
            let n_sets = n_at(&mut rest)?;
            let mut sets = Vec::with_capacity(cap(n_sets, rest));
            for _ in 0..n_sets {
                let n_values = n_at(&mut rest)?;
                let mut set = Vec::with_capacity(cap(n_values, rest));
                for _ in 0..n_values {
                    set.push(bytes_at(&mut rest)?);
                }
                sets.push(set);
            }
            distinct.insert(k, sets);
        }
        if !rest.is_empty() {
            return Err(bad());
        }
        Ok(ClassCounts {
            columns,
            classes,
            rows_at_gate,
            distinct,
            l,
        })
    }

    /// Adds one batch's rows: per quasi-identifier, per level of its ladder, the row bytes
    /// of each row's value; with l-diversity, per sensitive column, each row's value (row
    /// bytes; `None` for null).
    pub(crate) fn add(
        &mut self,
        rows: usize,
        levels: &[Vec<Rows>],
        key_levels: &[usize],
        sensitive: &[Vec<Option<Box<[u8]>>>],
        l: u64,
    ) -> Result<()> {
        self.rows_at_gate += rows as u64;
        if self.columns.len() < levels.len() {
            self.columns.resize_with(levels.len(), Values::default);
        }
        for (c, k) in self.columns.iter_mut().zip(key_levels) {
            c.key_levels = *k;
        }
        self.l = self.l.max(l);
        let cap = usize::try_from(self.l).unwrap_or(usize::MAX);
        let mut scratch = Vec::new();
        let mut key = vec![0u32; levels.len()];
        let mut per_level: Vec<&[u8]> = Vec::new();
        for i in 0..rows {
            for (q, column) in levels.iter().enumerate() {
                let values = &mut self.columns[q];
                // A value identified by its finest level is looked up by it alone.
                if values.key_levels == 1
                    && let Some(finest) = column.first()
                    && let Some(id) = values.index.get(finest.row(i).data())
                {
                    key[q] = *id;
                    continue;
                }
                per_level.clear();
                per_level.extend(column.iter().map(|r| r.row(i).data()));
                key[q] = values.id(&per_level, &mut scratch)?;
            }
            let class = ClassKey::new(&key);
            if !sensitive.is_empty() {
                let sets = self
                    .distinct
                    .entry(class.clone())
                    .or_insert_with(|| vec![Vec::new(); sensitive.len()]);
                for (set, column) in sets.iter_mut().zip(sensitive) {
                    if let Some(v) = &column[i] {
                        add_distinct(set, v.clone(), cap);
                    }
                }
            }
            *self.classes.entry(class).or_insert(0) += 1;
        }
        Ok(())
    }
}

/// Counts are equal when they hold the same classes (by their values, whatever the ids of
/// the partitions that counted them) with the same rows and distinct values.
impl PartialEq for ClassCounts {
    fn eq(&self, other: &ClassCounts) -> bool {
        self.rows_at_gate == other.rows_at_gate
            && self.l == other.l
            && self.canonical() == other.canonical()
    }
}

impl Eq for ClassCounts {}

/// A class by its values' bytes: per quasi-identifier, its bytes at every level.
type ValueKey<'a> = Vec<&'a [Box<[u8]>]>;

impl ClassCounts {
    /// The classes and distinct sets keyed by value bytes (ids dropped), sets sorted.
    #[allow(clippy::type_complexity)]
    fn canonical(
        &self,
    ) -> (
        BTreeMap<ValueKey<'_>, u64>,
        BTreeMap<ValueKey<'_>, DistinctSets>,
    ) {
        let n = self.columns.len();
        let by_value = |k: &ClassKey| -> ValueKey<'_> {
            k.ids(n)
                .iter()
                .zip(&self.columns)
                .map(|(id, c)| c.levels.get(*id as usize).map_or(&[][..], |l| &l[..]))
                .collect()
        };
        let classes = self
            .classes
            .iter()
            .map(|(k, c)| (by_value(k), *c))
            .collect();
        let distinct = self
            .distinct
            .iter()
            .map(|(k, sets)| {
                let mut sets = sets.clone();
                for s in &mut sets {
                    s.sort();
                }
                (by_value(k), sets)
            })
            .collect();
        (classes, distinct)
    }
}

/// Adds `v` to a distinct set that stops growing at `cap` values.
fn add_distinct(set: &mut Vec<Box<[u8]>>, v: Box<[u8]>, cap: usize) {
    if set.len() < cap && !set.contains(&v) {
        set.push(v);
    }
}

const COUNTS_MAGIC: &[u8; 8] = b"MXCLASS3";

/// One class at the chosen levels: its rows and, with l-diversity, the fewest distinct
/// values of a sensitive column in it (counted up to l).
#[derive(Debug, Clone, Copy)]
struct Class {
    rows: u64,
    distinct: Option<u64>,
}

/// The decision of pass 1: the levels written (chosen by the search when the policy gives
/// ladders), which classes are suppressed, and the risk figures.
#[derive(Debug, Clone)]
pub struct Gate {
    spec: KAnonymity,
    /// Per quasi-identifier: its values' row bytes at the chosen level → level id.
    lookup: Vec<HashMap<Box<[u8]>, u32, search::Hashed>>,
    /// Class (one level id per quasi-identifier) → its rows and distinct values.
    classes: IdMap<Class>,
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
    /// `Internal` when the policy has no `k_anonymity`, or the counts do not fit it.
    pub fn for_policy(policy: &crate::policy::Policy, counts: ClassCounts) -> Result<Gate> {
        let spec = policy
            .k_anonymity
            .clone()
            .ok_or_else(|| Error::internal("a k-anonymity gate for a policy without one"))?;
        let lens: Vec<usize> = policy.ladders().iter().map(|(_, l)| l.len()).collect();
        let mut counts = counts;
        if counts.rows_at_gate == 0 && counts.columns.is_empty() {
            counts.columns = vec![Values::default(); lens.len()];
        }
        if counts.columns.len() != lens.len()
            || counts
                .columns
                .iter()
                .zip(&lens)
                .any(|(c, n)| c.levels.first().is_some_and(|v| v.len() != *n))
        {
            return Err(Error::internal(
                "class counts made for another policy's quasi-identifiers",
            ));
        }
        let rows_at_gate = counts.rows_at_gate;
        let budget = budget(&spec, rows_at_gate);
        let l = spec.l.unwrap_or(0);
        let base = search::Base::new(&counts, &lens, spec.l)?;
        let lattice = search::Lattice::new(lens.clone());
        let out = search::search(&base, lattice, spec.k, budget);

        // The gate at the chosen node: each value's bytes at its chosen level → level id, and
        // the classes by level ids (pass 2 finds a row's class from its values' bytes).
        let lookup = base.lookup(&counts, &out.chosen);
        let e = &out.eval;
        let mut classes = IdMap::with_capacity_and_hasher(e.counts.len(), Default::default());
        let mut seen = vec![false; e.counts.len()];
        for (b, &c) in e.class_of.iter().enumerate() {
            let c = c as usize;
            if std::mem::replace(&mut seen[c], true) {
                continue;
            }
            classes.insert(
                base.key_at(b, &out.chosen),
                Class {
                    rows: e.counts[c],
                    distinct: e.distinct.get(c).copied(),
                },
            );
        }
        let classes_below = e.counts.iter().filter(|c| **c < spec.k).count() as u64;
        let search = policy
            .has_ladders()
            .then(|| search_info(policy, &out, budget));
        let _ = l;
        Ok(Gate {
            lookup,
            classes,
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
                self.classes_below + self.classes_failing_l(),
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
                    "k-anonymity with k = {}: no combination of the ladders' levels suppresses at most {allowed} rows (`max_suppression: {max}` of the {} rows that reached the gate); the best, {n}, would suppress {rows} rows{l_part}, a share of {share:.4}; nothing was written. Add coarser levels to the ladders, drop a quasi-identifier, or lower k{}",
                    k.k,
                    self.rows_at_gate,
                    if k.l.is_some() { " or l" } else { "" }
                ),
                None => format!(
                    "k-anonymity with k = {} would suppress {rows} rows{l_part}, a share of {share:.4} of the {} rows that reached the gate, more than `max_suppression: {max}`; nothing was written. Generalize the quasi-identifiers further (a ladder of levels, `to: [month, year, decade]`, lets minex search for the least that passes) or lower k",
                    k.k, self.rows_at_gate
                ),
            }));
        }
        Ok(())
    }

    /// Classes that meet k but fail l-diversity.
    fn classes_failing_l(&self) -> u64 {
        self.classes
            .values()
            .filter(|c| c.rows >= self.spec.k && self.fails_l(c))
            .count() as u64
    }

    fn fails_l(&self, c: &Class) -> bool {
        matches!((c.distinct, self.spec.l), (Some(d), Some(l)) if d < l)
    }

    /// Pass 2: per row, whether it is suppressed, from the quasi-identifiers' output columns
    /// at the chosen levels (in `quasi_identifiers` order). A row whose class pass 1 never saw
    /// is suppressed.
    ///
    /// # Errors
    /// `Internal` when the columns do not fit the gate.
    pub(crate) fn suppressed_rows(&self, columns: &[ArrayRef]) -> Result<Vec<bool>> {
        if columns.len() != self.lookup.len() {
            return Err(Error::internal("one column per quasi-identifier"));
        }
        let rows = columns.first().map_or(0, |c| c.len());
        let encoded = columns
            .iter()
            .map(|a| {
                RowConverter::new(vec![SortField::new(a.data_type().clone())])
                    .and_then(|c| c.convert_columns(std::slice::from_ref(a)))
                    .map_err(|e| Error::internal(format!("row converter: {e}")))
            })
            .collect::<Result<Vec<Rows>>>()?;
        let mut key = vec![0u32; columns.len()];
        let mut out = Vec::with_capacity(rows);
        for i in 0..rows {
            let mut known = true;
            for (q, r) in encoded.iter().enumerate() {
                match self.lookup[q].get(r.row(i).data()) {
                    Some(id) => key[q] = *id,
                    None => {
                        known = false;
                        break;
                    }
                }
            }
            out.push(
                !known
                    || self
                        .classes
                        .get(&ClassKey::new(&key))
                        .is_none_or(|c| c.rows < self.spec.k || self.fails_l(c)),
            );
        }
        Ok(out)
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
        let kept: Vec<&Class> = self
            .classes
            .values()
            .filter(|c| c.rows >= k && !self.fails_l(c))
            .collect();
        let smallest = kept.iter().map(|c| c.rows).min().unwrap_or(0);
        let mut histogram = BTreeMap::new();
        for c in &kept {
            *histogram.entry(size_bucket(c.rows, k)).or_insert(0) += 1;
        }
        let l_diversity = self.spec.l.map(|l| LDiversityInfo {
            sensitive: self.spec.sensitive.clone(),
            l,
            smallest_distinct: kept.iter().filter_map(|c| c.distinct).min().unwrap_or(0),
            classes_below_l: self
                .classes
                .values()
                .filter(|c| c.distinct.is_some_and(|d| d < l))
                .count() as u64,
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

/// The manifest's `search` object.
fn search_info(policy: &crate::policy::Policy, out: &search::Outcome, budget: u64) -> SearchInfo {
    let ladders = policy.ladders();
    let lattice = if out.states.len() <= 1000 {
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
        lattice,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn class_keys_round_trip_packed_and_wide() {
        assert_eq!(std::mem::size_of::<ClassKey>(), 16);
        for ids in [
            vec![7],
            vec![u32::MAX],
            vec![1, u32::MAX],
            vec![3, 5, (1 << 21) - 1],
            vec![3, 5, 1 << 21],
            vec![1, 2, 3, 4],
            vec![0; 9],
            vec![],
        ] {
            let k = ClassKey::new(&ids);
            assert_eq!(k.ids(ids.len()), ids, "{k:?}");
        }
        assert!(matches!(ClassKey::new(&[3, 5, 1 << 21]), ClassKey::Wide(_)));
        assert!(matches!(ClassKey::new(&[3, 5, 7]), ClassKey::Packed(_)));
        assert_ne!(ClassKey::new(&[1, 2]), ClassKey::new(&[2, 1]));
    }

    /// Counts bytes come from other processes (Spark executors): anything else is an error,
    /// never a panic, a hang or a huge allocation.
    #[test]
    fn counts_bytes_that_are_not_counts_are_refused() {
        let mut c = ClassCounts::default();
        let rows = |vals: &[&str]| {
            let a: ArrayRef = std::sync::Arc::new(arrow::array::StringArray::from(vals.to_vec()));
            RowConverter::new(vec![SortField::new(arrow::datatypes::DataType::Utf8)])
                .unwrap()
                .convert_columns(&[a])
                .unwrap()
        };
        c.add(
            3,
            &[vec![rows(&["a1", "a2", "b1"]), rows(&["a", "a", "b"])]],
            &[1],
            &[],
            0,
        )
        .unwrap();
        let good = c.to_bytes();
        assert_eq!(ClassCounts::from_bytes(&good).unwrap(), c);
        // Every truncation, and every single-byte change of a length or count field.
        for cut in 0..good.len() {
            assert!(ClassCounts::from_bytes(&good[..cut]).is_err(), "cut {cut}");
        }
        for i in 8..good.len() {
            for v in [0u8, 1, 0x7f, 0xff] {
                let mut b = good.clone();
                b[i] = v;
                let _ = ClassCounts::from_bytes(&b);
            }
        }
        // A column claiming 2^64 values of no levels: refused at once.
        let mut b = COUNTS_MAGIC.to_vec();
        for n in [0u64, 0, 1, 1, u64::MAX, 0] {
            b.extend_from_slice(&n.to_le_bytes());
        }
        assert!(ClassCounts::from_bytes(&b).is_err());
    }
}

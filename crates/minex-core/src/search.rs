//! The search over generalization ladders: the least combination of levels (a node of the
//! lattice) whose suppression stays within the budget.
//!
//! The counting pass keeps each quasi-identifier's distinct values with their bytes at every
//! level of its ladder, and counts the classes at the finest levels, so one count holds
//! every node: a node's classes are the base classes grouped by the node's levels. Here each
//! value gets a small id per level (values equal at that level share it), and a node is
//! evaluated by grouping the base classes' ids in memory, never by reading the data again.
//!
//! The choice rule: among the nodes whose suppression is at most the budget, the smallest
//! total height (sum of level indices); ties go to the fewest suppressed rows, then to the
//! smallest vector of levels compared in `quasi_identifiers` order. Nodes are visited by
//! height, so no node above the first height with a passing node decides anything; those
//! above are visited only for the evidence (which pass), with monotonicity (a node coarser
//! than a passing one passes) saving their evaluation.

use std::collections::HashMap;

use crate::error::{Error, Result};
use crate::gate::{ClassCounts, ClassKey};

/// Lattices up to this size are evaluated node by node for the evidence; larger ones use
/// monotonicity to infer which nodes above the chosen one pass.
const EXACT_EVIDENCE: usize = 512;
/// At most this many nodes are evaluated for the evidence once the choice is made.
const EVIDENCE_BUDGET: usize = 512;

/// The hash of every map of the counts, the search and the gate: aHash, seeded at random per
/// process (fast on short byte keys and packed ids; a crafted register cannot aim for
/// collisions without the seed).
pub(crate) type Hashed = ahash::RandomState;

/// The lattice: per quasi-identifier, the number of levels of its ladder.
#[derive(Debug, Clone)]
pub(crate) struct Lattice {
    lens: Vec<usize>,
    /// Per quasi-identifier, the index step of one level (the first varies slowest, so
    /// index order is the level vectors' order).
    strides: Vec<usize>,
}

impl Lattice {
    pub(crate) fn new(lens: Vec<usize>) -> Lattice {
        let mut strides = vec![1; lens.len()];
        for q in (0..lens.len().saturating_sub(1)).rev() {
            strides[q] = strides[q + 1] * lens[q + 1].max(1);
        }
        Lattice { lens, strides }
    }

    pub(crate) fn nodes(&self) -> usize {
        self.lens.iter().map(|l| (*l).max(1)).product()
    }

    pub(crate) fn levels(&self, index: usize) -> Vec<usize> {
        self.strides
            .iter()
            .zip(&self.lens)
            .map(|(s, l)| (index / s) % l.max(&1))
            .collect()
    }

    pub(crate) fn height(&self, index: usize) -> usize {
        self.levels(index).iter().sum()
    }
}

/// What a node's classes are and what the gate does to them.
#[derive(Debug, Clone)]
pub(crate) struct Eval {
    /// Per base class, its class at this node.
    pub class_of: Vec<u32>,
    /// Per class: rows.
    pub counts: Vec<u64>,
    /// Per class: the fewest distinct values of any sensitive column (counted up to `l`);
    /// empty without l-diversity.
    pub distinct: Vec<u64>,
    /// Rows in classes below k.
    pub suppressed_k: u64,
    /// Rows in classes that meet k but fail l-diversity.
    pub suppressed_l: u64,
}

impl Eval {
    pub(crate) fn suppressed(&self) -> u64 {
        self.suppressed_k + self.suppressed_l
    }
}

/// The base classes (the counting pass's classes), as ids per (quasi-identifier, level).
pub(crate) struct Base {
    counts: Vec<u64>,
    /// Per field (quasi-identifier × level, flattened): the id of each base class's value at
    /// that level.
    ids: Vec<Vec<u32>>,
    /// Per field: distinct values at that level.
    cards: Vec<u64>,
    /// Per quasi-identifier: its level 0 field.
    offsets: Vec<usize>,
    /// Per field: the level id of each of the quasi-identifier's values.
    value_level: Vec<Vec<u32>>,
    /// Per sensitive column: per base class, the ids of its distinct values (at most `l`).
    sensitive: Vec<Vec<Vec<u32>>>,
    l: u64,
}

impl Base {
    /// The base classes of `counts`, whose quasi-identifiers have `lens` levels each; with
    /// l-diversity, `l`.
    pub(crate) fn new(counts: &ClassCounts, lens: &[usize], l: Option<u64>) -> Result<Base> {
        let mut offsets = Vec::with_capacity(lens.len());
        let mut value_level: Vec<Vec<u32>> = Vec::new();
        let mut cards = Vec::new();
        for (column, &len) in counts.columns.iter().zip(lens) {
            offsets.push(value_level.len());
            for level in 0..len {
                let mut dict: HashMap<&[u8], u32, Hashed> = HashMap::default();
                let ids = column
                    .levels
                    .iter()
                    .map(|v| {
                        let n = dict.len() as u32;
                        v.get(level)
                            .map_or(u32::MAX, |b| *dict.entry(&**b).or_insert(n))
                    })
                    .collect::<Vec<u32>>();
                if ids.contains(&u32::MAX) {
                    return Err(Error::internal("a value without every level of its ladder"));
                }
                cards.push(dict.len() as u64);
                value_level.push(ids);
            }
        }
        let n = counts.classes.len();
        let mut sizes = Vec::with_capacity(n);
        let mut ids: Vec<Vec<u32>> = vec![Vec::with_capacity(n); value_level.len()];
        let columns = counts.distinct.values().next().map_or(0, Vec::len);
        let mut sensitive: Vec<Vec<Vec<u32>>> = vec![Vec::with_capacity(n); columns];
        let mut dicts: Vec<HashMap<&[u8], u32, Hashed>> = vec![HashMap::default(); columns];
        let width = counts.columns.len();
        for (key, size) in &counts.classes {
            sizes.push(*size);
            for (q, &value) in key.ids(width).iter().enumerate() {
                for level in 0..lens[q] {
                    let f = offsets[q] + level;
                    let id = value_level[f]
                        .get(value as usize)
                        .copied()
                        .ok_or_else(|| Error::internal("a class of an unknown value"))?;
                    ids[f].push(id);
                }
            }
            if l.is_some() {
                let sets = counts.distinct.get(key);
                for (s, d) in dicts.iter_mut().enumerate() {
                    let values = sets.and_then(|x| x.get(s)).map_or(&[][..], |v| &v[..]);
                    sensitive[s].push(
                        values
                            .iter()
                            .map(|v| {
                                let n = d.len() as u32;
                                *d.entry(&**v).or_insert(n)
                            })
                            .collect(),
                    );
                }
            }
        }
        let sensitive = if l.is_some() && columns == 0 {
            // l-diversity asked, but nothing counted: every class is empty of values.
            Vec::new()
        } else {
            sensitive
        };
        Ok(Base {
            counts: sizes,
            ids,
            cards,
            offsets,
            value_level,
            sensitive,
            l: l.unwrap_or(u64::MAX),
        })
    }

    /// Per quasi-identifier: its values' row bytes at the level of `node` → level id (the
    /// gate's lookup for pass 2).
    pub(crate) fn lookup(
        &self,
        counts: &ClassCounts,
        node: &[usize],
    ) -> Vec<HashMap<Box<[u8]>, u32, Hashed>> {
        counts
            .columns
            .iter()
            .enumerate()
            .map(|(q, column)| {
                let f = self.offsets[q] + node[q];
                let mut map =
                    HashMap::with_capacity_and_hasher(self.cards[f] as usize, Hashed::default());
                for (v, levels) in column.levels.iter().enumerate() {
                    if let Some(b) = levels.get(node[q]) {
                        map.entry(b.clone()).or_insert(self.value_level[f][v]);
                    }
                }
                map
            })
            .collect()
    }

    /// Base class `b`'s level ids at `node`: its class's key in the gate.
    pub(crate) fn key_at(&self, b: usize, node: &[usize]) -> ClassKey {
        let ids: Vec<u32> = self.fields(node).iter().map(|f| self.ids[*f][b]).collect();
        ClassKey::new(&ids)
    }

    /// The flat field of each quasi-identifier at `node`.
    pub(crate) fn fields(&self, node: &[usize]) -> Vec<usize> {
        node.iter()
            .zip(&self.offsets)
            .map(|(lv, o)| o + lv)
            .collect()
    }

    /// Evaluates one node: its classes, their sizes and distinct values, and what the gate
    /// would suppress.
    pub(crate) fn evaluate(&self, node: &[usize], k: u64) -> Eval {
        let fields = self.fields(node);
        let b = self.counts.len();
        let product: u128 = fields
            .iter()
            .map(|f| u128::from(self.cards[*f].max(1)))
            .product();
        let mut class_of = Vec::with_capacity(b);
        let mut n = 0u32;
        let mut next = |slot: &mut u32| {
            if *slot == u32::MAX {
                *slot = n;
                n += 1;
            }
            *slot
        };
        let dense_limit = (4 * b as u128).clamp(1 << 16, 1 << 26);
        if product <= dense_limit {
            let mut table = vec![u32::MAX; product as usize];
            for i in 0..b {
                let mut key = 0usize;
                for f in &fields {
                    key = key * self.cards[*f].max(1) as usize + self.ids[*f][i] as usize;
                }
                class_of.push(next(&mut table[key]));
            }
        } else if product <= u128::from(u64::MAX) {
            let mut map: HashMap<u64, u32, Hashed> = HashMap::default();
            for i in 0..b {
                let mut key = 0u64;
                for f in &fields {
                    key = key * self.cards[*f].max(1) + u64::from(self.ids[*f][i]);
                }
                class_of.push(next(map.entry(key).or_insert(u32::MAX)));
            }
        } else {
            let mut map: HashMap<Vec<u32>, u32, Hashed> = HashMap::default();
            for i in 0..b {
                let key: Vec<u32> = fields.iter().map(|f| self.ids[*f][i]).collect();
                class_of.push(next(map.entry(key).or_insert(u32::MAX)));
            }
        }
        let classes = n as usize;
        let mut counts = vec![0u64; classes];
        for (i, c) in class_of.iter().enumerate() {
            counts[*c as usize] += self.counts[i];
        }
        let distinct = if self.sensitive.is_empty() {
            Vec::new()
        } else {
            let cap = usize::try_from(self.l).unwrap_or(usize::MAX);
            let mut fewest = vec![u64::MAX; classes];
            for column in &self.sensitive {
                let mut sets: Vec<Vec<u32>> = vec![Vec::new(); classes];
                for (i, c) in class_of.iter().enumerate() {
                    let set = &mut sets[*c as usize];
                    for v in &column[i] {
                        if set.len() >= cap {
                            break;
                        }
                        if !set.contains(v) {
                            set.push(*v);
                        }
                    }
                }
                for (f, s) in fewest.iter_mut().zip(&sets) {
                    *f = (*f).min(s.len() as u64);
                }
            }
            fewest
        };
        let (mut suppressed_k, mut suppressed_l) = (0, 0);
        for (c, &count) in counts.iter().enumerate() {
            if count < k {
                suppressed_k += count;
            } else if distinct.get(c).is_some_and(|d| *d < self.l) {
                suppressed_l += count;
            }
        }
        Eval {
            class_of,
            counts,
            distinct,
            suppressed_k,
            suppressed_l,
        }
    }
}

/// What the search found about one node.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum NodeState {
    /// Not evaluated (a large lattice, past the evidence budget).
    Unknown,
    /// Within the budget; the suppression when it was evaluated (not inferred).
    Pass(Option<u64>),
    /// Over the budget, with its suppression.
    Fail(u64),
}

/// The search's result.
pub(crate) struct Outcome {
    /// The chosen node (the best one found when none passes).
    pub chosen: Vec<usize>,
    /// Whether the chosen node is within the budget.
    pub passed: bool,
    /// The chosen node's evaluation.
    pub eval: Eval,
    /// Every node's state, by index.
    pub states: Vec<NodeState>,
    /// Nodes evaluated.
    pub evaluated: u64,
    pub lattice: Lattice,
}

/// Searches the lattice for the node the choice rule picks, with `budget` the most rows it
/// may suppress.
pub(crate) fn search(base: &Base, lattice: Lattice, k: u64, budget: u64) -> Outcome {
    let n = lattice.nodes();
    let mut states = vec![NodeState::Unknown; n];
    let mut evaluated = 0u64;
    let eval = |index: usize, evaluated: &mut u64| -> Eval {
        *evaluated += 1;
        base.evaluate(&lattice.levels(index), k)
    };
    // The coarsest node suppresses least (monotonicity): when it fails, none passes.
    let top = n - 1;
    let top_eval = eval(top, &mut evaluated);
    if top_eval.suppressed() > budget {
        states[top] = NodeState::Fail(top_eval.suppressed());
        return Outcome {
            chosen: lattice.levels(top),
            passed: false,
            eval: top_eval,
            states,
            evaluated,
            lattice,
        };
    }
    states[top] = NodeState::Pass(Some(top_eval.suppressed()));
    let mut top_eval = Some(top_eval);

    let mut order: Vec<usize> = (0..n).collect();
    let heights: Vec<usize> = order.iter().map(|i| lattice.height(*i)).collect();
    order.sort_by_key(|i| (heights[*i], *i));
    let mut chosen: Option<(u64, usize)> = None;
    let mut after_choice = 0usize;
    let mut current_height = 0;
    let mut best_here: Option<(u64, usize)> = None;
    // The evaluation of the best node so far at the deciding height, and of the chosen one:
    // only those are kept.
    let mut best_eval: Option<Eval> = None;
    let mut chosen_eval: Option<Eval> = None;
    for index in order {
        let h = heights[index];
        if h != current_height {
            if chosen.is_none() && best_here.is_some() {
                chosen = best_here;
                chosen_eval = best_eval.take();
            }
            current_height = h;
            best_here = None;
        }
        let levels = lattice.levels(index);
        let finer_passes = levels.iter().enumerate().any(|(q, lv)| {
            *lv > 0 && matches!(states[index - lattice.strides[q]], NodeState::Pass(_))
        });
        if index == top {
            if let NodeState::Pass(Some(s)) = states[top]
                && chosen.is_none()
                && best_here.is_none_or(|b| (s, index) < b)
            {
                best_here = Some((s, index));
                best_eval = top_eval.take();
            }
            continue;
        }
        let deciding = chosen.is_none();
        if !deciding && finer_passes && n > EXACT_EVIDENCE {
            states[index] = NodeState::Pass(None);
            continue;
        }
        if !deciding && n > EXACT_EVIDENCE && after_choice >= EVIDENCE_BUDGET {
            continue;
        }
        if !deciding {
            after_choice += 1;
        }
        let e = eval(index, &mut evaluated);
        let s = e.suppressed();
        if s <= budget {
            states[index] = NodeState::Pass(Some(s));
            if deciding && best_here.is_none_or(|b| (s, index) < b) {
                best_here = Some((s, index));
                best_eval = Some(e);
            }
        } else {
            states[index] = NodeState::Fail(s);
        }
    }
    if chosen.is_none() {
        chosen = best_here;
        chosen_eval = best_eval.take();
    }
    // The top passes, so a node was chosen.
    let (_, index) = chosen.unwrap_or((0, top));
    let eval = chosen_eval.unwrap_or_else(|| base.evaluate(&lattice.levels(index), k));
    Outcome {
        chosen: lattice.levels(index),
        passed: true,
        eval,
        states,
        evaluated,
        lattice,
    }
}

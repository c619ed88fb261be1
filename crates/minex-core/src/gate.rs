//! k-anonymity: class counting (pass 1) and the gate that decides which classes are too
//! small (pass 2 suppresses their rows), with the risk figures of the manifest.
//!
//! A class is a distinct combination of the quasi-identifiers' *output* values (after
//! generalization and truncation), encoded by Arrow's row format into bytes that compare
//! equal exactly when the values do. [`ClassCounts`] holds one count per class, so memory
//! follows the number of classes, never the rows, and counts of partitions merge.

use std::collections::{BTreeMap, HashMap};

use crate::error::{Error, Result};
use crate::manifest::KAnonymityInfo;
use crate::plan::Plan;
use crate::policy::{KAnonymity, OnViolation};

/// Rows per k-anonymity class, counted by [`crate::Transformer::count_classes`] (pass 1).
/// Counts made over separate partitions of the input (threads, files, Spark tasks) are
/// combined with [`ClassCounts::merge`]; the result does not depend on the order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClassCounts {
    pub(crate) classes: HashMap<Box<[u8]>, u64>,
    pub(crate) rows_at_gate: u64,
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
    }

    /// The rows counted (the rows that reached the gate: not filtered, not rejected).
    pub fn rows(&self) -> u64 {
        self.rows_at_gate
    }

    /// The distinct classes seen.
    pub fn classes(&self) -> usize {
        self.classes.len()
    }

    /// The counts as bytes, to send from the workers that counted them (Spark executors, say)
    /// to the one that decides: the class keys are the quasi-identifiers' *output* values
    /// (already generalized), with their counts, nothing else. Read back with
    /// [`ClassCounts::from_bytes`].
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(24 + self.classes.len() * 24);
        out.extend_from_slice(COUNTS_MAGIC);
        out.extend_from_slice(&self.rows_at_gate.to_le_bytes());
        out.extend_from_slice(&(self.classes.len() as u64).to_le_bytes());
        for (k, c) in &self.classes {
            out.extend_from_slice(&(k.len() as u64).to_le_bytes());
            out.extend_from_slice(k);
            out.extend_from_slice(&c.to_le_bytes());
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
        let rows_at_gate = u64_at(&mut rest)?;
        let n = u64_at(&mut rest)?;
        let mut classes = HashMap::with_capacity(usize::try_from(n).unwrap_or(0).min(1 << 20));
        for _ in 0..n {
            let len = usize::try_from(u64_at(&mut rest)?).map_err(|_| bad())?;
            if rest.len() < len {
                return Err(bad());
            }
            let (key, tail) = rest.split_at(len);
            rest = tail;
            let count = u64_at(&mut rest)?;
            classes.insert(Box::from(key), count);
        }
        if !rest.is_empty() {
            return Err(bad());
        }
        Ok(ClassCounts {
            classes,
            rows_at_gate,
        })
    }

    pub(crate) fn add_keys(&mut self, keys: Vec<Box<[u8]>>) {
        self.rows_at_gate += keys.len() as u64;
        for k in keys {
            *self.classes.entry(k).or_insert(0) += 1;
        }
    }
}

const COUNTS_MAGIC: &[u8; 8] = b"MXCLASS1";

/// The decision of pass 1: which classes are below k, and the risk figures.
#[derive(Debug, Clone)]
pub struct Gate {
    spec: KAnonymity,
    classes: HashMap<Box<[u8]>, u64>,
    rows_at_gate: u64,
    rows_below: u64,
    classes_below: u64,
}

impl Gate {
    /// Decides on the counts of every row of the input (all partitions merged).
    ///
    /// This only decides; whether the policy lets a run go on with this decision
    /// (`on_violation`, `max_suppression`) is [`Gate::check`].
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
        let (mut rows_below, mut classes_below) = (0, 0);
        for c in counts.classes.values() {
            if *c < spec.k {
                rows_below += c;
                classes_below += 1;
            }
        }
        Ok(Gate {
            spec,
            classes: counts.classes,
            rows_at_gate: counts.rows_at_gate,
            rows_below,
            classes_below,
        })
    }

    /// Whether the policy allows writing with this gate: `on_violation: fail` stops when any
    /// class is below k, and `max_suppression` when too large a share would be suppressed.
    ///
    /// # Errors
    /// `Privacy`, saying how many rows and classes are below k (never which).
    pub fn check(&self) -> Result<()> {
        let k = &self.spec;
        if self.rows_below > 0 && k.on_violation == OnViolation::Fail {
            return Err(Error::privacy(format!(
                "k-anonymity with k = {}: {} rows in {} classes are below k over ({}); `on_violation: fail`, so nothing was written",
                k.k,
                self.rows_below,
                self.classes_below,
                k.quasi_identifiers.join(", ")
            )));
        }
        if let Some(max) = k.max_suppression {
            let share = self.share_below();
            if share > max {
                return Err(Error::privacy(format!(
                    "k-anonymity with k = {} would suppress {} rows, a share of {:.4} of the {} rows that reached the gate, more than `max_suppression: {max}`; nothing was written. Generalize the quasi-identifiers further or lower k",
                    k.k, self.rows_below, share, self.rows_at_gate
                )));
            }
        }
        Ok(())
    }

    /// Whether rows of the class `key` are suppressed (a class pass 1 never saw is).
    pub fn suppress(&self, key: &[u8]) -> bool {
        self.classes.get(key).is_none_or(|c| *c < self.spec.k)
    }

    /// The k asked for.
    pub fn k(&self) -> u64 {
        self.spec.k
    }

    /// The distinct classes counted.
    pub fn classes(&self) -> usize {
        self.classes.len()
    }

    /// Rows that reached the gate.
    pub fn rows_at_gate(&self) -> u64 {
        self.rows_at_gate
    }

    /// Rows in classes below k: the rows pass 2 suppresses.
    pub fn rows_below(&self) -> u64 {
        self.rows_below
    }

    /// Classes below k.
    pub fn classes_below(&self) -> u64 {
        self.classes_below
    }

    /// The share of the rows at the gate that are below k.
    pub fn share_below(&self) -> f64 {
        if self.rows_at_gate == 0 {
            0.0
        } else {
            self.rows_below as f64 / self.rows_at_gate as f64
        }
    }

    /// The manifest's `k_anonymity` section, for `rows_out` rows written.
    pub fn info(&self, rows_out: u64) -> KAnonymityInfo {
        let k = self.spec.k;
        let kept: Vec<u64> = self.classes.values().copied().filter(|c| *c >= k).collect();
        let smallest = kept.iter().copied().min().unwrap_or(0);
        let mut histogram = BTreeMap::new();
        for c in &kept {
            *histogram.entry(size_bucket(*c, k)).or_insert(0) += 1;
        }
        KAnonymityInfo {
            quasi_identifiers: self.spec.quasi_identifiers.clone(),
            k,
            smallest_class: smallest,
            classes: kept.len() as u64,
            suppressed: self.rows_below,
            max_prosecutor_risk: (smallest > 0).then(|| 1.0 / smallest as f64),
            avg_prosecutor_risk: (rows_out > 0).then(|| kept.len() as f64 / rows_out as f64),
            share_below_k_before: self.share_below(),
            classes_before: self.classes.len() as u64,
            class_size_histogram: histogram,
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

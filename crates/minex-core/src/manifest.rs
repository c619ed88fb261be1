//! The run manifest: `NAME.manifest.json`, the evidence a data-protection officer reads.
//!
//! Field names are a contract (DESIGN.md, "The run manifest"). `rows.in` always equals
//! `out + filtered + rejected + suppressed`; [`Rows::adds_up`] checks it and a run whose
//! numbers do not add up fails as an internal error instead of writing a false manifest.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// The whole manifest.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Manifest {
    /// The tool.
    pub tool: Tool,
    /// A random id for this run, also in the extract's metadata.
    pub run_id: String,
    /// The policy used.
    pub policy: PolicyInfo,
    /// The pseudonymisation domain.
    pub domain: String,
    /// The policy's reference date, `YYYY-MM-DD`.
    pub reference_date: String,
    /// `purpose/space` → key id (never a key).
    pub key_ids: BTreeMap<String, String>,
    /// Input files.
    pub inputs: Vec<FileInfo>,
    /// Output files (the manifest itself is not listed).
    pub outputs: Vec<OutputInfo>,
    /// Row accounting.
    pub rows: Rows,
    /// What happened to each input column.
    pub columns: Vec<ColumnInfo>,
    /// Derived output columns.
    #[serde(default)]
    pub derived: Vec<DerivedInfo>,
    /// Input columns dropped because the policy says `unknown_columns: drop`.
    #[serde(default)]
    pub unknown_columns_dropped: Vec<String>,
    /// The k-anonymity gate, when the policy asks for it.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub k_anonymity: Option<KAnonymityInfo>,
    /// Start time (RFC 3339, UTC).
    pub started: String,
    /// End time (RFC 3339, UTC).
    pub finished: String,
    /// Wall-clock seconds.
    pub seconds: f64,
}

impl Manifest {
    /// Reads a manifest written by `minex run`; `None` when the file is missing or is not one.
    pub fn read(path: &std::path::Path) -> Option<Manifest> {
        std::fs::read(path)
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
    }
}

/// `tool`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Tool {
    /// Always `minex`.
    pub name: String,
    /// The crate version.
    pub version: String,
}

/// `policy`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct PolicyInfo {
    /// The policy's `name`.
    pub name: String,
    /// The policy file as given.
    pub path: String,
    /// SHA-256 of the policy file.
    pub sha256: String,
}

/// An input file.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct FileInfo {
    /// As given on the command line.
    pub path: String,
    /// SHA-256 of the file's bytes.
    pub sha256: String,
    /// Size in bytes.
    pub bytes: u64,
    /// Data rows read.
    pub rows: u64,
}

/// An output file.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct OutputInfo {
    /// The path written.
    pub path: String,
    /// SHA-256 of the file's bytes.
    pub sha256: String,
    /// Size in bytes.
    pub bytes: u64,
    /// Data rows.
    pub rows: u64,
    /// Columns.
    pub columns: u64,
}

/// `rows`: every input row is accounted for.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Rows {
    /// Rows read.
    #[serde(rename = "in")]
    pub input: u64,
    /// Rows written.
    pub out: u64,
    /// Rows removed by row rules.
    pub filtered: u64,
    /// Rows sent to the rejects report.
    pub rejected: u64,
    /// Rows suppressed by the k-anonymity gate.
    pub suppressed: u64,
    /// Rule label → rows it removed (a row counts for the first rule that matched).
    pub filtered_by_rule: BTreeMap<String, u64>,
    /// Reason code → rows (a row counts once, under its first invalid column's reason).
    pub rejected_by_reason: BTreeMap<String, u64>,
}

impl Rows {
    /// `in = out + filtered + rejected + suppressed`, and the breakdowns sum to their totals.
    pub fn adds_up(&self) -> bool {
        self.input == self.out + self.filtered + self.rejected + self.suppressed
            && self.filtered_by_rule.values().sum::<u64>() == self.filtered
            && self.rejected_by_reason.values().sum::<u64>() == self.rejected
    }
}

/// One input column's fate.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ColumnInfo {
    /// The input column.
    pub name: String,
    /// Its policy type.
    #[serde(rename = "type")]
    pub value_type: String,
    /// The action (with options, e.g. `generalize:year`, `truncate:3`).
    pub action: String,
    /// The output column, or null when dropped.
    pub output: Option<String>,
    /// The output's Arrow type, when written.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub output_type: Option<String>,
    /// Values that were invalid and set to null (`on_invalid: null`).
    #[serde(default)]
    pub invalid_nulled: u64,
}

/// A derived column.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct DerivedInfo {
    /// The output column.
    pub name: String,
    /// The input column read.
    pub from: String,
    /// What is computed.
    pub what: String,
}

/// `k_anonymity`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct KAnonymityInfo {
    /// The output columns that form the classes.
    pub quasi_identifiers: Vec<String>,
    /// The k asked for.
    pub k: u64,
    /// The smallest class written (0 when nothing was written).
    pub smallest_class: u64,
    /// Classes written.
    pub classes: u64,
    /// Rows suppressed.
    pub suppressed: u64,
    /// 1 / smallest class (null when nothing was written).
    pub max_prosecutor_risk: Option<f64>,
    /// classes / rows written (null when nothing was written).
    pub avg_prosecutor_risk: Option<f64>,
    /// Share of the rows reaching the gate that were in classes below k.
    pub share_below_k_before: f64,
    /// Classes before suppression.
    pub classes_before: u64,
    /// Class size bucket (`1`, `2`, ... `k-1`, `k-2k-1`, ...) → classes, after suppression.
    pub class_size_histogram: BTreeMap<String, u64>,
    /// The rows suppressed, by the rule that suppressed them: `k` (a class below k) and `l`
    /// (a class that meets k but holds too few distinct sensitive values).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suppressed_by: Option<SuppressedBy>,
    /// The search over the ladders, when the policy gives any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub search: Option<SearchInfo>,
    /// Distinct l-diversity, when asked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub l_diversity: Option<LDiversityInfo>,
}

/// `k_anonymity.suppressed_by`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
pub struct SuppressedBy {
    /// Rows in classes below k.
    pub k: u64,
    /// Rows in classes that meet k but fail l-diversity.
    pub l: u64,
}

/// `k_anonymity.search`: what the search over the generalization ladders considered and
/// chose.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct SearchInfo {
    /// Per quasi-identifier, its levels finest first (one for a column without a ladder).
    pub ladders: BTreeMap<String, Vec<String>>,
    /// Per quasi-identifier, the level written.
    pub chosen: BTreeMap<String, String>,
    /// The chosen level indices, in `quasi_identifiers` order (0 = finest).
    pub levels: Vec<usize>,
    /// The chosen node's height (the sum of its level indices).
    pub height: usize,
    /// The most rows the search could suppress: `floor(max_suppression × rows at the
    /// gate)` (0 with `on_violation: fail`).
    pub budget: u64,
    /// Nodes of the lattice (combinations of one level per quasi-identifier).
    pub nodes: u64,
    /// Nodes found within the budget (evaluated, or coarser than one that is).
    pub nodes_passing: u64,
    /// Nodes evaluated from the counts (the others were decided by monotonicity or not
    /// needed).
    pub nodes_evaluated: u64,
    /// Every node, for lattices of up to 1,000 nodes (the HTML report draws them).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub lattice: Vec<LatticeNode>,
}

/// One node of `k_anonymity.search.lattice`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct LatticeNode {
    /// Its level indices, in `quasi_identifiers` order.
    pub levels: Vec<usize>,
    /// The sum of the level indices.
    pub height: usize,
    /// Within the budget (`null` when not evaluated nor inferred).
    pub passes: Option<bool>,
    /// Rows it would suppress (`null` when not evaluated).
    pub suppressed: Option<u64>,
}

/// `k_anonymity.l_diversity`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct LDiversityInfo {
    /// The sensitive output columns.
    pub sensitive: Vec<String>,
    /// The l asked for.
    pub l: u64,
    /// The fewest distinct values of a sensitive column in any class written, counted up
    /// to `l` (a class with more counts as `l`); 0 when nothing was written.
    pub smallest_distinct: u64,
    /// Classes (before suppression) with fewer than `l` distinct values of some sensitive
    /// column.
    pub classes_below_l: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_serialize_with_in() {
        let r = Rows {
            input: 3,
            out: 1,
            filtered: 1,
            rejected: 1,
            suppressed: 0,
            filtered_by_rule: [("r".to_string(), 1)].into(),
            rejected_by_reason: [("checksum".to_string(), 1)].into(),
        };
        assert!(r.adds_up());
        let j = serde_json::to_value(&r).unwrap();
        assert_eq!(j["in"], 3);
    }
}

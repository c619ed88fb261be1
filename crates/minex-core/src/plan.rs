//! The plan: a policy checked against an input's header, before any data is read.
//!
//! Every problem is collected (unknown columns, columns the policy names that the input lacks,
//! headers that differ between inputs, duplicate names) and reported at once. The plan then
//! fixes what the pipeline does: which input columns are read (projection), which are
//! canonicalized, and the output schema.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use arrow::datatypes::{DataType, Field, Schema, SchemaRef};

use crate::error::{ErrorKind, Result};
use crate::policy::{Action, ColumnSpec, DeriveSpec, Policy, UnknownColumns, ValueType};
use crate::transform::kernels;

/// What one output column is made from.
#[derive(Debug, Clone)]
pub enum OutputSource {
    /// A policy column (index into [`Plan::columns`]).
    Column(usize),
    /// A derivation (index into the policy's `derive`).
    Derive(usize),
}

/// One output column.
#[derive(Debug, Clone)]
pub struct OutputColumn {
    /// Its name.
    pub name: String,
    /// Where it comes from.
    pub source: OutputSource,
    /// Its Arrow type.
    pub data_type: DataType,
}

/// A policy applied to a concrete input header.
#[derive(Debug, Clone)]
pub struct Plan {
    /// The policy.
    pub policy: Policy,
    /// The input header (of the first input; all must match).
    pub header: Vec<String>,
    /// The input columns read, in header order.
    pub read: Vec<String>,
    /// Policy columns that are read (not dropped, or needed by a rule or derivation): their
    /// spec and index in `read`.
    pub columns: Vec<(ColumnSpec, usize)>,
    /// Derivations with the index in `columns` of their source.
    pub derive: Vec<(DeriveSpec, usize)>,
    /// Row rules with the index in `read` of the column they test.
    pub rules: Vec<usize>,
    /// Per row rule: for a rule over a typed column, the index in `columns` of that column
    /// (the rule compares its canonical values); `None` for a rule over a `string` column.
    pub rule_columns: Vec<Option<usize>>,
    /// Input columns not named by a policy with `unknown_columns: drop`.
    pub unknown_dropped: Vec<String>,
    /// The output columns, in order.
    pub outputs: Vec<OutputColumn>,
}

impl Plan {
    /// The index in [`Plan::columns`] of the column output `oi` is computed from (a
    /// derivation's source column for a derived output).
    pub fn source_column(&self, oi: usize) -> usize {
        match &self.outputs[oi].source {
            OutputSource::Column(ci) => *ci,
            OutputSource::Derive(di) => self.derive[*di].1,
        }
    }

    /// Checks `policy` against the schema of an input and builds the plan.
    ///
    /// # Errors
    /// `Schema` listing every mismatch at once.
    pub fn new(policy: &Policy, schema: &Schema) -> Result<Plan> {
        Plan::for_inputs(policy, &[("the input", schema)])
    }

    /// Checks `policy` against several inputs that must share one header (each named by a
    /// label for messages, such as its path), and builds the plan. Every input's column
    /// types must be readable as the policy's types.
    ///
    /// # Errors
    /// `Schema` listing every mismatch at once.
    pub fn for_inputs(policy: &Policy, inputs: &[(&str, &Schema)]) -> Result<Plan> {
        let (header, unknown_dropped) = Plan::check(policy, inputs)?;
        Plan::build(policy, header, unknown_dropped)
    }

    /// Every mismatch between the policy and the inputs' schemas, at once; else the header
    /// and the unknown columns dropped.
    fn check(policy: &Policy, inputs: &[(&str, &Schema)]) -> Result<(Vec<String>, Vec<String>)> {
        let mut problems = Vec::new();
        let Some((first_label, first)) = inputs.first() else {
            return Err(ErrorKind::Schema {
                problems: vec!["no input file was given".into()],
            }
            .into());
        };
        let names_of =
            |s: &Schema| -> Vec<String> { s.fields().iter().map(|f| f.name().clone()).collect() };
        let header = names_of(first);
        let mut seen = BTreeSet::new();
        for h in &header {
            if h.is_empty() {
                problems.push(format!("`{first_label}` has a column with an empty name"));
            } else if !seen.insert(h.as_str()) {
                problems.push(format!("`{first_label}` has two columns named `{h}`"));
            }
        }
        for (label, schema) in &inputs[1..] {
            let other = names_of(schema);
            if other != header {
                let a: BTreeSet<&String> = header.iter().collect();
                let b: BTreeSet<&String> = other.iter().collect();
                let missing: Vec<String> = a.difference(&b).map(|s| format!("`{s}`")).collect();
                let extra: Vec<String> = b.difference(&a).map(|s| format!("`{s}`")).collect();
                let mut m = format!("`{label}` has a different header from `{first_label}`");
                if !missing.is_empty() {
                    m.push_str(&format!("; it lacks {}", missing.join(", ")));
                }
                if !extra.is_empty() {
                    m.push_str(&format!("; it adds {}", extra.join(", ")));
                }
                if missing.is_empty() && extra.is_empty() {
                    m.push_str("; the columns are in another order");
                }
                problems.push(m);
            }
        }
        let mut unknown_dropped = Vec::new();
        for h in &header {
            if policy.column(h).is_none() {
                match policy.unknown_columns {
                    UnknownColumns::Error => problems.push(format!(
                        "input column `{h}` is not named in the policy; add it under `columns:` (e.g. `{h}: drop`), so that every column's fate is decided"
                    )),
                    UnknownColumns::Drop => unknown_dropped.push(h.clone()),
                }
            }
        }
        let header_set: std::collections::HashSet<&str> =
            header.iter().map(String::as_str).collect();
        for c in &policy.columns {
            if !header_set.contains(c.name.as_str()) {
                problems.push(format!(
                    "the policy names column `{}`{}, which the input does not have",
                    c.name,
                    c.line.map(|l| format!(" (line {l})")).unwrap_or_default()
                ));
            }
        }
        // Parquet inputs: the types must be readable as the policy's type.
        let rule_sources: BTreeSet<&str> = policy
            .rules
            .iter()
            .filter(|r| r.value_type != ValueType::String)
            .map(|r| r.column.as_str())
            .collect();
        for (label, schema) in inputs {
            for c in &policy.columns {
                if c.action == Action::Drop && !rule_sources.contains(c.name.as_str()) {
                    continue;
                }
                let Ok(field) = schema.field_with_name(&c.name) else {
                    continue;
                };
                let t = field.data_type();
                if !readable(t, c.value_type) {
                    problems.push(format!(
                        "column `{}` in `{label}` has type {t}, which cannot be read as `type: {}`",
                        c.name,
                        c.value_type.name()
                    ));
                }
            }
        }
        if !problems.is_empty() {
            return Err(ErrorKind::Schema { problems }.into());
        }
        Ok((header, unknown_dropped))
    }

    /// The plan for a header the policy fits.
    fn build(policy: &Policy, header: Vec<String>, unknown_dropped: Vec<String>) -> Result<Plan> {
        let rule_sources: BTreeSet<&str> = policy
            .rules
            .iter()
            .filter(|r| r.value_type != ValueType::String)
            .map(|r| r.column.as_str())
            .collect();
        // Which columns are read: non-dropped ones, rule columns, derivation sources.
        let mut needed: BTreeSet<&str> = BTreeSet::new();
        for c in &policy.columns {
            if c.action != Action::Drop {
                needed.insert(&c.name);
            }
        }
        for r in &policy.rules {
            needed.insert(&r.column);
        }
        for d in &policy.derive {
            needed.insert(&d.from);
        }
        let read: Vec<String> = header
            .iter()
            .filter(|h| needed.contains(h.as_str()))
            .cloned()
            .collect();
        let read_index: HashMap<&str, usize> = read
            .iter()
            .enumerate()
            .map(|(i, h)| (h.as_str(), i))
            .collect();

        // Canonicalized columns: the non-dropped ones, derivation sources and the columns of
        // typed row rules (in policy order).
        let derive_sources: BTreeSet<&str> =
            policy.derive.iter().map(|d| d.from.as_str()).collect();
        let mut columns = Vec::new();
        for c in &policy.columns {
            if c.action != Action::Drop
                || derive_sources.contains(c.name.as_str())
                || rule_sources.contains(c.name.as_str())
            {
                columns.push((c.clone(), read_index[c.name.as_str()]));
            }
        }
        let column_index: HashMap<&str, usize> = columns
            .iter()
            .enumerate()
            .map(|(i, (c, _))| (c.name.as_str(), i))
            .collect();
        let derive = policy
            .derive
            .iter()
            .map(|d| (d.clone(), column_index[d.from.as_str()]))
            .collect();
        let rules = policy
            .rules
            .iter()
            .map(|r| read_index[r.column.as_str()])
            .collect();
        let rule_columns = policy
            .rules
            .iter()
            .map(|r| (r.value_type != ValueType::String).then(|| column_index[r.column.as_str()]))
            .collect();

        let mut outputs = Vec::new();
        for (i, (c, _)) in columns.iter().enumerate() {
            if c.action == Action::Drop {
                continue;
            }
            outputs.push(OutputColumn {
                name: c.name.clone(),
                source: OutputSource::Column(i),
                data_type: output_type(c),
            });
        }
        for (i, d) in policy.derive.iter().enumerate() {
            outputs.push(OutputColumn {
                name: d.name.clone(),
                source: OutputSource::Derive(i),
                data_type: kernels::derive_type(d.what),
            });
        }
        Ok(Plan {
            policy: policy.clone(),
            header,
            read,
            columns,
            derive,
            rules,
            rule_columns,
            unknown_dropped,
            outputs,
        })
    }

    /// The plan with the quasi-identifiers at `levels` (see [`Policy::at_levels`]): the same
    /// columns read, the output types of the chosen levels.
    ///
    /// # Errors
    /// `Internal` when `levels` does not fit the policy's ladders.
    pub fn at_levels(&self, levels: &[usize]) -> Result<Plan> {
        Plan::build(
            &self.policy.at_levels(levels)?,
            self.header.clone(),
            self.unknown_dropped.clone(),
        )
    }

    /// The Arrow schema of the extract.
    pub fn output_schema(&self) -> SchemaRef {
        Arc::new(Schema::new(
            self.outputs
                .iter()
                .map(|o| Field::new(&o.name, o.data_type.clone(), true))
                .collect::<Vec<_>>(),
        ))
    }
}

/// The Arrow type `keep` writes for a value type.
pub fn keep_type(t: ValueType) -> DataType {
    match t {
        ValueType::Integer => DataType::Int64,
        ValueType::Date => DataType::Date32,
        ValueType::Boolean => DataType::Boolean,
        _ => DataType::Utf8,
    }
}

/// The Arrow type a column's action writes.
pub fn output_type(c: &ColumnSpec) -> DataType {
    match &c.action {
        Action::Keep | Action::Null | Action::Drop => keep_type(c.value_type),
        Action::Generalize(g) => kernels::generalize_type(*g),
        Action::Tokenize { .. }
        | Action::Encrypt { .. }
        | Action::Truncate { .. }
        | Action::Replace { .. } => DataType::Utf8,
    }
}

/// Whether an input of type `t` can be read as `value_type`.
pub fn readable(t: &DataType, value_type: ValueType) -> bool {
    match t {
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => true,
        DataType::Dictionary(_, v) => readable(v, value_type),
        t if t.is_integer() => matches!(
            value_type,
            ValueType::String
                | ValueType::Integer
                | ValueType::Personnummer
                | ValueType::PostalCode
        ),
        DataType::Boolean => matches!(value_type, ValueType::String | ValueType::Boolean),
        DataType::Date32 | DataType::Date64 => {
            matches!(value_type, ValueType::String | ValueType::Date)
        }
        DataType::Float32 | DataType::Float64 | DataType::Decimal128(_, _) => {
            value_type == ValueType::String
        }
        _ => false,
    }
}

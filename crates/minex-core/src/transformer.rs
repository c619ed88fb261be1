//! The transform of one batch: row rules → canonicalization → `on_invalid` → kernels →
//! (with k-anonymity) the gate.
//!
//! A [`Transformer`] is keyed once and then applied to any number of batches, from any
//! number of threads: it is `Clone + Send + Sync` and holds no state between batches, so a
//! batch's output depends only on that batch. That is what lets the runner transform batches
//! in parallel and still write the same bytes as one thread, and what makes the output the
//! same whatever the split of the input into batches.
//!
//! # Input columns
//! Columns are found by name, so a batch may hold the whole input schema or only the
//! columns the plan reads ([`Plan::read`]). `Utf8`, `LargeUtf8` and `Utf8View` are read as
//! text; typed columns (Date32, integers, Boolean) where the policy's type allows them. A
//! dictionary-encoded column is transformed per distinct value: each dictionary value is
//! canonicalized and tokenized or encrypted once, and the rows take their value's output
//! by key. The output is identical to the plain path's.

use std::collections::BTreeMap;
use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, AsArray, BooleanArray, RecordBatch, StringArray, UInt32Array, new_null_array,
};
use arrow::compute::{cast, filter, take};
use arrow::datatypes::{DataType, SchemaRef};
use arrow::row::{RowConverter, Rows, SortField};

use crate::error::{Error, ErrorKind, Location, Result};
use crate::gate::{ClassCounts, Gate};
use crate::ident::InvalidReason;
use crate::ident::date::Date;
use crate::keys::{Encryptor, KeyRing, MasterKey, Tokenizer};
use crate::plan::{OutputSource, Plan};
use crate::policy::{Action, Condition, Derivation, Generalization, OnInvalid, ValueType};
use crate::transform::canonical::as_utf8;
use crate::transform::{Canonical, canonicalize_with, kernels};

/// One row sent to the rejects report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reject {
    /// The row, 0-based in the batch.
    pub row: usize,
    /// The input column whose value is invalid.
    pub column: String,
    /// The reason code of the rejects report (`checksum`, `format`, `missing`, ...).
    pub reason: String,
}

/// What the transform of one batch produced.
#[derive(Debug, Clone)]
pub struct BatchOutput {
    /// The rows written, in the extract's schema (rules applied, rejected and suppressed
    /// rows removed), in input order.
    pub batch: RecordBatch,
    /// Every invalid value of a column with `on_invalid: reject`, sorted by row and then by
    /// the column's place in the policy. A row with two invalid values appears twice.
    pub rejects: Vec<Reject>,
    /// Rows removed by row rules.
    pub filtered: usize,
    /// Rows suppressed by the k-anonymity gate ([`Transformer::transform_gated`]).
    pub suppressed: usize,
    /// Rows of the batch.
    pub rows_in: usize,
    /// Rows rejected (each counted once, under its first invalid column's reason).
    pub rejected_rows: usize,
    /// Per row rule (in policy order), the rows it removed; a row counts for the first rule
    /// that matches.
    pub filtered_by_rule: Vec<usize>,
    /// Reason code → rejected rows.
    pub rejected_by_reason: BTreeMap<&'static str, usize>,
    /// Input column → invalid values set to null (`on_invalid: null`).
    pub nulled: Vec<(String, usize)>,
}

/// One output column's kernel, keyed once: the one place that says what an action computes
/// and whether it reads the canonical text of its column.
#[derive(Clone)]
enum Kernel {
    Keep(ValueType),
    Tokenize(Tokenizer),
    Encrypt(Box<Encryptor>),
    Generalize(ValueType, Generalization),
    Truncate(usize),
    Replace(String),
    Null(DataType),
    Derive(Derivation),
}

impl Kernel {
    /// Whether the kernel reads the canonical text of its source column (a date, integer or
    /// boolean that is kept or generalized needs only its typed value).
    fn reads_text(&self) -> bool {
        match self {
            Kernel::Keep(t) => {
                !matches!(t, ValueType::Date | ValueType::Integer | ValueType::Boolean)
            }
            Kernel::Generalize(t, _) => *t == ValueType::Personnummer,
            Kernel::Null(_) => false,
            Kernel::Tokenize(_)
            | Kernel::Encrypt(_)
            | Kernel::Truncate(_)
            | Kernel::Replace(_)
            | Kernel::Derive(_) => true,
        }
    }

    /// Whether the kernel writes tokens or ciphertexts (random-looking, nearly unique text).
    fn is_pseudonym(&self) -> bool {
        matches!(self, Kernel::Tokenize(_) | Kernel::Encrypt(_))
    }

    /// The kernel over one column's canonical values. `null` reads no values: it is made for
    /// the row count by [`Column::apply`].
    fn apply(&self, c: &Canonical, reference: Date) -> Result<ArrayRef> {
        let text = || {
            c.text
                .as_ref()
                .ok_or_else(|| Error::internal("a kernel needs canonical text that was not made"))
        };
        Ok(match self {
            Kernel::Keep(t) => match (t, &c.typed) {
                (ValueType::Date | ValueType::Integer | ValueType::Boolean, Some(typed)) => {
                    typed.clone()
                }
                _ => Arc::new(text()?.clone()),
            },
            Kernel::Tokenize(t) => kernels::tokenize(text()?, t),
            Kernel::Encrypt(e) => kernels::encrypt(text()?, e),
            Kernel::Generalize(ValueType::Personnummer, g) => {
                kernels::generalize_pnr(text()?, *g, reference)
            }
            Kernel::Generalize(_, g) => {
                let dates = c
                    .typed
                    .as_ref()
                    .and_then(kernels::as_dates)
                    .ok_or_else(|| Error::internal("generalize without dates"))?;
                kernels::generalize_dates(dates, *g, reference)
            }
            Kernel::Truncate(k) => kernels::truncate(text()?, *k),
            Kernel::Replace(w) => kernels::replace(text()?, w),
            Kernel::Null(_) => {
                return Err(Error::internal(
                    "a null column is made per row, not per value",
                ));
            }
            Kernel::Derive(d) => kernels::derive(text()?, *d, reference),
        })
    }
}

/// A policy's plan, keyed: applies the policy to record batches.
///
/// Cheap to clone (the plan is shared); `Send + Sync`, so one transformer serves every
/// worker thread.
#[derive(Clone)]
pub struct Transformer {
    plan: Arc<Plan>,
    /// The extract's schema, built once.
    schema: SchemaRef,
    kernels: Arc<[Kernel]>,
    /// Per `plan.columns`: whether any kernel or rule reads the canonical text.
    text_needed: Vec<bool>,
    /// Index into `plan.outputs` of each quasi-identifier.
    qi: Vec<usize>,
    /// Per quasi-identifier, a kernel per level of its ladder (one without a ladder): the
    /// counting pass computes every level, so one count serves every node of the lattice.
    ladder_kernels: Arc<[Vec<Kernel>]>,
    /// Per quasi-identifier: how many levels, from the finest, identify a value (1 when
    /// every coarser level is a function of the finest).
    key_levels: Vec<usize>,
    /// Index into `plan.outputs` of each sensitive column (l-diversity), with its field.
    sensitive: Vec<(usize, SortField)>,
    /// The level written for each quasi-identifier (0 = finest; see
    /// [`Transformer::at_levels`]).
    levels: Vec<usize>,
    key_ids: BTreeMap<String, String>,
}

impl std::fmt::Debug for Transformer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Transformer")
            .field("policy", &self.plan.policy.name)
            .field("outputs", &self.plan.outputs.len())
            .field("key_ids", &self.key_ids)
            .finish_non_exhaustive()
    }
}

/// A batch canonicalized and through the row rules ([`Transformer::canonicalize`]).
pub struct Canonicalized {
    /// Per row: false where a row rule matched (the row is filtered).
    pub alive: Vec<bool>,
    /// Per row rule (in policy order), the rows it removed; a row counts for the first rule
    /// that matches.
    pub filtered_by_rule: Vec<usize>,
    /// Per column of [`Plan::columns`]: its invalid rows (row in the batch, reason), rows the
    /// rules removed included.
    pub invalid: Vec<Vec<(usize, InvalidReason)>>,
    columns: Vec<Column>,
}

impl Canonicalized {
    /// The canonical text of column `ci` of [`Plan::columns`], per row of the batch (null
    /// where the value is null or invalid); `None` when no kernel or rule reads it (a kept
    /// date, say).
    ///
    /// # Errors
    /// `Internal` for a bug.
    pub fn text(&self, ci: usize) -> Result<Option<StringArray>> {
        self.columns
            .get(ci)
            .ok_or_else(|| Error::internal("no such canonical column"))?
            .row_text()
    }
}

/// The invalid values' fate in one batch ([`Transformer::on_invalid`]).
struct Verdicts {
    /// Per row, the reason it is rejected (its first invalid column's).
    rejected: Vec<Option<InvalidReason>>,
    /// (row, index in `Plan::columns`, reason), sorted.
    rejects: Vec<(usize, usize, InvalidReason)>,
    nulled: Vec<(String, usize)>,
    rejected_by_reason: BTreeMap<&'static str, usize>,
    rejected_rows: usize,
}

/// Which columns a transform computes.
#[derive(Clone, Copy)]
enum Pass<'a> {
    /// Only the quasi-identifiers, for their class keys.
    Count,
    /// Every output column, through the gate when there is one.
    Write(Option<&'a Gate>),
}

/// One canonicalized column of a batch: per row, or per dictionary value with the rows'
/// keys.
struct Column {
    canon: Canonical,
    /// For a dictionary column: per row, the index of its value in `canon` (null where the
    /// row is null).
    keys: Option<UInt32Array>,
}

impl Column {
    /// The canonical text per row.
    fn row_text(&self) -> Result<Option<StringArray>> {
        let Some(text) = &self.canon.text else {
            return Ok(None);
        };
        match &self.keys {
            None => Ok(Some(text.clone())),
            Some(keys) => Ok(Some(
                take(text, keys, None)
                    .map_err(|e| Error::internal(format!("take: {e}")))?
                    .as_string::<i32>()
                    .clone(),
            )),
        }
    }

    /// The rows where `mask` is true.
    fn filter(self, mask: &BooleanArray) -> Result<Column> {
        let err = |e: arrow::error::ArrowError| Error::internal(format!("filter: {e}"));
        if let Some(keys) = &self.keys {
            let keys = filter(keys, mask).map_err(err)?;
            return Ok(Column {
                canon: self.canon,
                keys: Some(keys.as_primitive().clone()),
            });
        }
        let c = &self.canon;
        let text = c
            .text
            .as_ref()
            .map(|t| filter(t, mask).map(|t| t.as_string::<i32>().clone()))
            .transpose()
            .map_err(err)?;
        let typed = c
            .typed
            .as_ref()
            .map(|t| filter(t, mask))
            .transpose()
            .map_err(err)?;
        Ok(Column {
            canon: Canonical { text, typed },
            keys: None,
        })
    }

    /// A kernel over this column's `rows` rows (for a dictionary column: over its values,
    /// then taken by key).
    fn apply(&self, kernel: &Kernel, rows: usize, reference: Date) -> Result<ArrayRef> {
        if let Kernel::Null(t) = kernel {
            return Ok(kernels::null(t, rows));
        }
        let values = kernel.apply(&self.canon, reference)?;
        match &self.keys {
            None => Ok(values),
            Some(keys) => {
                take(&values, keys, None).map_err(|e| Error::internal(format!("take: {e}")))
            }
        }
    }
}

impl Transformer {
    /// Keys the plan's actions with `key` (HKDF per purpose, domain and space) and prepares
    /// the kernels.
    ///
    /// # Errors
    /// `Internal` when the plan is inconsistent (a bug).
    pub fn new(plan: &Plan, key: &MasterKey) -> Result<Transformer> {
        let ring = KeyRing::new(key.clone(), plan.policy.domain.clone());
        Transformer::with_ring(plan, Some(&ring))
    }

    /// As [`Transformer::new`], with the keys of a [`KeyRing`] (whose domain must be the
    /// policy's), or with none for a policy that needs no key.
    ///
    /// # Errors
    /// `Internal` when a key is needed and `ring` is `None`, or the plan is inconsistent.
    pub fn with_ring(plan: &Plan, ring: Option<&KeyRing>) -> Result<Transformer> {
        let mut kernels = Vec::with_capacity(plan.outputs.len());
        let mut key_ids = BTreeMap::new();
        let need_ring =
            || ring.ok_or_else(|| Error::internal("a key is needed but none was loaded"));
        for o in &plan.outputs {
            let k = match &o.source {
                OutputSource::Derive(i) => Kernel::Derive(plan.policy.derive[*i].what),
                OutputSource::Column(i) => {
                    let c = &plan.columns[*i].0;
                    match &c.action {
                        Action::Keep => Kernel::Keep(c.value_type),
                        Action::Tokenize { space } => {
                            let r = need_ring()?;
                            r.record_key_ids(&mut key_ids, space, false);
                            Kernel::Tokenize(r.tokenizer(space))
                        }
                        Action::Encrypt { space } => {
                            let r = need_ring()?;
                            r.record_key_ids(&mut key_ids, space, true);
                            Kernel::Encrypt(Box::new(r.encryptor(space)))
                        }
                        Action::Generalize(g) => Kernel::Generalize(c.value_type, *g),
                        Action::Truncate { keep } => Kernel::Truncate(*keep),
                        Action::Replace { with } => Kernel::Replace(with.clone()),
                        Action::Null => Kernel::Null(o.data_type.clone()),
                        Action::Drop => {
                            return Err(Error::internal("a dropped column has an output"));
                        }
                    }
                }
            };
            kernels.push(k);
        }
        let qi = match &plan.policy.k_anonymity {
            Some(k) => k
                .quasi_identifiers
                .iter()
                .map(|q| output_index(plan, q))
                .collect::<Result<Vec<_>>>()?,
            None => Vec::new(),
        };
        let mut ladder_kernels = Vec::with_capacity(qi.len());
        for &oi in &qi {
            ladder_kernels.push(ladder_kernels_of(plan, oi, &kernels[oi])?);
        }
        // A date's month determines its year and decade, a truncation every shorter one; a
        // birth date read from an identity number may lack its month or day while its year is
        // known, so a ladder over one (or a derivation) is identified by all its levels.
        let key_levels = ladder_kernels
            .iter()
            .map(|levels| {
                let determined = levels.iter().all(|k| {
                    matches!(
                        k,
                        Kernel::Truncate(_) | Kernel::Generalize(ValueType::Date, _)
                    )
                });
                if determined { 1 } else { levels.len() }
            })
            .collect();
        let sensitive = match &plan.policy.k_anonymity {
            Some(k) => k
                .sensitive
                .iter()
                .map(|s| {
                    let i = output_index(plan, s)?;
                    Ok((i, SortField::new(plan.outputs[i].data_type.clone())))
                })
                .collect::<Result<_>>()?,
            None => Vec::new(),
        };
        let mut text_needed = vec![false; plan.columns.len()];
        for (oi, k) in kernels.iter().enumerate() {
            text_needed[plan.source_column(oi)] |= k.reads_text();
        }
        for (q, &oi) in qi.iter().enumerate() {
            text_needed[plan.source_column(oi)] |= ladder_kernels[q].iter().any(Kernel::reads_text);
        }
        for ci in plan.rule_columns.iter().flatten() {
            text_needed[*ci] = true;
        }
        Ok(Transformer {
            plan: Arc::new(plan.clone()),
            schema: plan.output_schema(),
            kernels: kernels.into(),
            text_needed,
            levels: vec![0; qi.len()],
            qi,
            ladder_kernels: ladder_kernels.into(),
            key_levels,
            sensitive,
            key_ids,
        })
    }

    /// This transformer writing the quasi-identifiers at `levels` (one per quasi-identifier,
    /// in `quasi_identifiers` order; 0 = the finest of its ladder): the levels a search chose
    /// ([`Gate::levels`]). The keys and every other column are the same.
    ///
    /// # Errors
    /// `Internal` when `levels` does not fit the ladders.
    pub fn at_levels(&self, levels: &[usize]) -> Result<Transformer> {
        if levels == self.levels.as_slice() {
            return Ok(self.clone());
        }
        if levels.len() != self.qi.len() {
            return Err(Error::internal("one level per quasi-identifier"));
        }
        let plan = self.plan.at_levels(levels)?;
        let mut kernels = self.kernels.to_vec();
        for (q, (&oi, &lv)) in self.qi.iter().zip(levels).enumerate() {
            kernels[oi] = self.ladder_kernels[q]
                .get(lv)
                .cloned()
                .ok_or_else(|| Error::internal("no such level"))?;
        }
        Ok(Transformer {
            schema: plan.output_schema(),
            plan: Arc::new(plan),
            kernels: kernels.into(),
            text_needed: self.text_needed.clone(),
            qi: self.qi.clone(),
            ladder_kernels: self.ladder_kernels.clone(),
            key_levels: self.key_levels.clone(),
            sensitive: self.sensitive.clone(),
            levels: levels.to_vec(),
            key_ids: self.key_ids.clone(),
        })
    }

    /// This transformer at the levels `gate` chose: the one whose
    /// [`Transformer::schema`] is the extract's and whose output [`Transformer::transform_gated`]
    /// writes.
    ///
    /// # Errors
    /// As [`Transformer::at_levels`].
    pub fn for_gate(&self, gate: &Gate) -> Result<Transformer> {
        self.at_levels(gate.levels())
    }

    /// The level written for each quasi-identifier.
    pub fn levels(&self) -> &[usize] {
        &self.levels
    }

    /// The plan.
    pub fn plan(&self) -> &Plan {
        &self.plan
    }

    /// The extract's schema.
    pub fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }

    /// `purpose/space` → key id of every derived key in use (ids, not keys: see
    /// [`crate::keys::DerivedKey::id`]).
    pub fn key_ids(&self) -> &BTreeMap<String, String> {
        &self.key_ids
    }

    /// Whether output column `i` holds tokens or ciphertexts (nearly unique random text: a
    /// writer needs no dictionary or statistics for it).
    pub fn is_pseudonym_output(&self, i: usize) -> bool {
        self.kernels.get(i).is_some_and(Kernel::is_pseudonym)
    }

    /// Transforms one batch: rules, validation, every output column. No k-anonymity
    /// suppression (see [`Transformer::transform_gated`]).
    ///
    /// # Errors
    /// `InvalidValue` for an invalid value in a column with `on_invalid: fail`, naming the
    /// column and the row (1-based in the batch), never the value; `Schema` when the batch
    /// lacks a column the plan reads; `Internal` for a bug.
    pub fn transform(&self, batch: &RecordBatch) -> Result<BatchOutput> {
        self.run(batch, Pass::Write(None)).map(|(out, _)| out)
    }

    /// Pass 2 of k-anonymity: as [`Transformer::transform`], and the rows whose class the
    /// gate finds below k are removed (`suppressed`).
    ///
    /// # Errors
    /// As [`Transformer::transform`].
    /// The quasi-identifiers are written at the levels the gate chose: when they are not
    /// this transformer's, the batch goes through [`Transformer::for_gate`] (keep that one
    /// for many batches).
    pub fn transform_gated(&self, batch: &RecordBatch, gate: &Gate) -> Result<BatchOutput> {
        if gate.levels() != self.levels.as_slice() {
            return self.for_gate(gate)?.transform_gated(batch, gate);
        }
        self.run(batch, Pass::Write(Some(gate))).map(|(out, _)| out)
    }

    /// Pass 1 of k-anonymity: adds the batch's rows that reach the gate (not filtered, not
    /// rejected) to `counts`, by class. Computes only the quasi-identifiers. Validation is
    /// the same as in pass 2, so both passes see the same rows.
    ///
    /// # Errors
    /// As [`Transformer::transform`].
    pub fn count_classes(&self, batch: &RecordBatch, counts: &mut ClassCounts) -> Result<()> {
        let (_, counted) = self.run(batch, Pass::Count)?;
        let l = self
            .plan
            .policy
            .k_anonymity
            .as_ref()
            .and_then(|k| k.l)
            .unwrap_or(0);
        counts.add(
            counted.rows,
            &counted.levels,
            &self.key_levels,
            &counted.sensitive,
            l,
        )
    }

    /// The first half of a transform: every column's canonical values and invalid rows, and
    /// the row rules applied, exactly as [`Transformer::transform`] makes them; for tools
    /// that need canonical values rather than outputs (`minex rekey`).
    ///
    /// # Errors
    /// `Schema` when the batch lacks a column the plan reads; `Internal` for a bug.
    pub fn canonicalize(&self, batch: &RecordBatch) -> Result<Canonicalized> {
        let plan = &*self.plan;
        let n = batch.num_rows();
        let reference = plan.policy.reference_date;
        let column = |name: &str| -> Result<&ArrayRef> {
            batch.column_by_name(name).ok_or_else(|| {
                ErrorKind::Schema {
                    problems: vec![format!("the batch has no column `{name}`")],
                }
                .into()
            })
        };
        // 1. Canonical values. Every column is validated in both passes, so both passes
        // reject the same rows.
        let mut canon: Vec<Column> = Vec::with_capacity(plan.columns.len());
        let mut invalid_by_column = Vec::with_capacity(plan.columns.len());
        for (ci, (spec, _)) in plan.columns.iter().enumerate() {
            let array = column(&spec.name)?;
            let (c, invalid) = canonical_column(spec, array, reference, self.text_needed[ci])?;
            canon.push(c);
            invalid_by_column.push(invalid);
        }

        // 2. Row rules: on a typed column, on its canonical values (so `TRUE`, `1` and `ja`
        // are all true); on a `string` column, on the value as read, trimmed. A row counts for
        // the first rule that matches.
        let mut alive = vec![true; n];
        let mut filtered_by_rule = vec![0usize; plan.rules.len()];
        for (r, col) in plan.rules.iter().enumerate() {
            let rule = &plan.policy.rules[r];
            let name = &plan.read[*col];
            let raw = as_utf8(column(name)?, name)?;
            let typed = match plan.rule_columns[r] {
                Some(ci) => Some(canon[ci].row_text()?.ok_or_else(|| {
                    Error::internal("a row rule needs canonical text that was not made")
                })?),
                None => None,
            };
            for (i, a) in alive.iter_mut().enumerate() {
                if *a && rule_matches(&raw, typed.as_ref(), i, &rule.condition) {
                    *a = false;
                    filtered_by_rule[r] += 1;
                }
            }
        }

        Ok(Canonicalized {
            alive,
            filtered_by_rule,
            invalid: invalid_by_column,
            columns: canon,
        })
    }

    fn run(&self, batch: &RecordBatch, pass: Pass<'_>) -> Result<(BatchOutput, Counted)> {
        let plan = &*self.plan;
        let n = batch.num_rows();
        let reference = plan.policy.reference_date;

        let Canonicalized {
            alive,
            filtered_by_rule,
            invalid: invalid_by_column,
            columns: canon,
        } = self.canonicalize(batch)?;

        // 3. Invalid values of the rows the rules kept follow `on_invalid`.
        let Verdicts {
            rejected,
            rejects,
            nulled,
            rejected_by_reason,
            rejected_rows,
        } = self.on_invalid(&alive, invalid_by_column)?;

        // 4. Keep the rows that survive.
        let keep: Vec<bool> = alive
            .iter()
            .zip(&rejected)
            .map(|(a, r)| *a && r.is_none())
            .collect();
        let kept = keep.iter().filter(|k| **k).count();
        let canon = if kept < n {
            let mask = BooleanArray::from(keep);
            canon
                .into_iter()
                .map(|c| c.filter(&mask))
                .collect::<Result<Vec<_>>>()?
        } else {
            canon
        };

        // 5. Kernels (on the counting pass only the sensitive columns here, and below every
        // level of the quasi-identifiers).
        let wanted: Vec<usize> = match pass {
            Pass::Count => self.sensitive.iter().map(|(i, _)| *i).collect(),
            Pass::Write(_) => (0..plan.outputs.len()).collect(),
        };
        let mut columns: Vec<Option<ArrayRef>> = vec![None; plan.outputs.len()];
        for oi in wanted {
            let source = &canon[plan.source_column(oi)];
            columns[oi] = Some(source.apply(&self.kernels[oi], kept, reference)?);
        }

        // 6. The k-anonymity gate.
        let mut counted = Counted::default();
        let mut suppressed = 0usize;
        let output = match pass {
            Pass::Count => {
                counted.rows = kept;
                for (q, &oi) in self.qi.iter().enumerate() {
                    let source = &canon[plan.source_column(oi)];
                    let mut per_level = Vec::with_capacity(self.ladder_kernels[q].len());
                    for k in &self.ladder_kernels[q] {
                        per_level.push(encode(&source.apply(k, kept, reference)?)?);
                    }
                    counted.levels.push(per_level);
                }
                for (oi, field) in &self.sensitive {
                    let a = columns[*oi]
                        .clone()
                        .ok_or_else(|| Error::internal("a sensitive column was not computed"))?;
                    let rows = row_keys(std::slice::from_ref(field), std::slice::from_ref(&a))?;
                    counted.sensitive.push(
                        rows.into_iter()
                            .enumerate()
                            .map(|(i, r)| a.is_valid(i).then_some(r))
                            .collect(),
                    );
                }
                RecordBatch::new_empty(self.schema.clone())
            }
            Pass::Write(gate) => {
                let mut arrays: Vec<ArrayRef> = columns.into_iter().flatten().collect();
                if let Some(gate) = gate {
                    let qi: Vec<ArrayRef> = self.qi.iter().map(|i| arrays[*i].clone()).collect();
                    let mask: Vec<bool> =
                        gate.suppressed_rows(&qi)?.into_iter().map(|s| !s).collect();
                    suppressed = mask.iter().filter(|m| !**m).count();
                    if suppressed > 0 {
                        let mask = BooleanArray::from(mask);
                        arrays = arrays
                            .iter()
                            .map(|a| filter(a, &mask))
                            .collect::<std::result::Result<_, _>>()
                            .map_err(|e| Error::internal(format!("suppression filter: {e}")))?;
                    }
                }
                RecordBatch::try_new(self.schema.clone(), arrays)
                    .map_err(|e| Error::internal(format!("output batch: {e}")))?
            }
        };
        let rejects = rejects
            .into_iter()
            .map(|(row, ci, reason)| Reject {
                row,
                column: plan.columns[ci].0.name.clone(),
                reason: reason.code().to_string(),
            })
            .collect();
        Ok((
            BatchOutput {
                batch: output,
                rejects,
                filtered: filtered_by_rule.iter().sum(),
                suppressed,
                rows_in: n,
                rejected_rows,
                filtered_by_rule,
                rejected_by_reason,
                nulled,
            },
            counted,
        ))
    }

    /// What `on_invalid` makes of the invalid values of the rows the rules kept.
    fn on_invalid(
        &self,
        alive: &[bool],
        invalid_by_column: Vec<Vec<(usize, InvalidReason)>>,
    ) -> Result<Verdicts> {
        let mut rejected: Vec<Option<InvalidReason>> = vec![None; alive.len()];
        let mut rejects = Vec::new();
        let mut nulled = Vec::new();
        for (ci, invalid) in invalid_by_column.into_iter().enumerate() {
            let spec = &self.plan.columns[ci].0;
            let mut nulled_here = 0;
            for (i, reason) in invalid {
                if !alive[i] {
                    continue;
                }
                match spec.on_invalid {
                    OnInvalid::Fail => {
                        return Err(ErrorKind::InvalidValue {
                            location: Location::default()
                                .with_row(i as u64 + 1)
                                .with_column(spec.name.clone()),
                            reason: reason.code(),
                        }
                        .into());
                    }
                    OnInvalid::Null => nulled_here += 1,
                    OnInvalid::Reject => {
                        if rejected[i].is_none() {
                            rejected[i] = Some(reason);
                        }
                        rejects.push((i, ci, reason));
                    }
                }
            }
            if nulled_here > 0 {
                nulled.push((spec.name.clone(), nulled_here));
            }
        }
        rejects.sort_by_key(|(row, col, _)| (*row, *col));
        let mut rejected_by_reason = BTreeMap::new();
        let mut rejected_rows = 0;
        for (i, r) in rejected.iter().enumerate() {
            if let Some(r) = r
                && alive[i]
            {
                *rejected_by_reason.entry(r.code()).or_insert(0) += 1;
                rejected_rows += 1;
            }
        }

        Ok(Verdicts {
            rejected,
            rejects,
            nulled,
            rejected_by_reason,
            rejected_rows,
        })
    }
}

/// What the counting pass of one batch found: the class key of each row that reached the
/// gate and, per sensitive column, each row's value (row bytes; `None` for null).
#[derive(Default)]
struct Counted {
    /// Rows that reached the gate.
    rows: usize,
    /// Per quasi-identifier, per level of its ladder, the rows' values in row format.
    levels: Vec<Vec<Rows>>,
    sensitive: Vec<Vec<Option<Box<[u8]>>>>,
}

/// One column in Arrow's row format (bytes that compare equal exactly when the values do).
fn encode(a: &ArrayRef) -> Result<Rows> {
    RowConverter::new(vec![SortField::new(a.data_type().clone())])
        .and_then(|c| c.convert_columns(std::slice::from_ref(a)))
        .map_err(|e| Error::internal(format!("row converter: {e}")))
}

/// Arrow's row format of `arrays` (one per field), one key per row.
fn row_keys(fields: &[SortField], arrays: &[ArrayRef]) -> Result<Vec<Box<[u8]>>> {
    if fields.is_empty() {
        return Ok(Vec::new());
    }
    let conv = RowConverter::new(fields.to_vec())
        .map_err(|e| Error::internal(format!("row converter: {e}")))?;
    let rows = conv
        .convert_columns(arrays)
        .map_err(|e| Error::internal(format!("row converter: {e}")))?;
    Ok(rows.iter().map(|r| Box::from(r.as_ref())).collect())
}

/// The output column named `name`.
fn output_index(plan: &Plan, name: &str) -> Result<usize> {
    plan.outputs
        .iter()
        .position(|o| o.name == name)
        .ok_or_else(|| Error::internal(format!("`{name}` has no output")))
}

/// The kernels of every level of output `oi`'s ladder (its own kernel when it has none).
fn ladder_kernels_of(plan: &Plan, oi: usize, own: &Kernel) -> Result<Vec<Kernel>> {
    Ok(match &plan.outputs[oi].source {
        OutputSource::Column(ci) => {
            let c = &plan.columns[*ci].0;
            match &c.ladder {
                None => vec![own.clone()],
                Some(levels) => levels
                    .iter()
                    .map(|a| match a {
                        Action::Generalize(g) => Ok(Kernel::Generalize(c.value_type, *g)),
                        Action::Truncate { keep } => Ok(Kernel::Truncate(*keep)),
                        _ => Err(Error::internal("a ladder level that is not a coarsening")),
                    })
                    .collect::<Result<_>>()?,
            }
        }
        OutputSource::Derive(di) => match &plan.policy.derive[*di].ladder {
            None => vec![own.clone()],
            Some(levels) => levels.iter().map(|d| Kernel::Derive(*d)).collect(),
        },
    })
}

/// Canonicalizes one input column of a batch: a dictionary column per distinct value (its
/// rows keep their keys), any other column per row. The invalid rows are per row either way.
fn canonical_column(
    spec: &crate::policy::ColumnSpec,
    array: &ArrayRef,
    reference: Date,
    want_text: bool,
) -> Result<(Column, Vec<(usize, InvalidReason)>)> {
    let DataType::Dictionary(_, value_type) = array.data_type() else {
        let (canon, invalid) = canonicalize_with(spec, array, reference, want_text)?;
        return Ok((Column { canon, keys: None }, invalid));
    };
    let dict = array.as_any_dictionary();
    let (canon, invalid_values) = canonicalize_with(spec, dict.values(), reference, want_text)?;
    let keys = cast(dict.keys(), &DataType::UInt32)
        .map_err(|e| Error::internal(format!("dictionary keys of `{}`: {e}", spec.name)))?;
    let keys: UInt32Array = keys.as_primitive().clone();
    // What a null row is (valid, or `missing`), as the plain path decides it.
    let (_, null_invalid) =
        canonicalize_with(spec, &new_null_array(value_type, 1), reference, false)?;
    let null_reason = null_invalid.first().map(|(_, r)| *r);
    let mut by_value: Vec<Option<InvalidReason>> = vec![None; dict.values().len()];
    for (i, r) in invalid_values {
        by_value[i] = Some(r);
    }
    let mut invalid = Vec::new();
    for (row, key) in keys.iter().enumerate() {
        let reason = match key {
            Some(k) => by_value.get(k as usize).copied().flatten(),
            None => null_reason,
        };
        if let Some(r) = reason {
            invalid.push((row, r));
        }
    }
    Ok((
        Column {
            canon,
            keys: Some(keys),
        },
        invalid,
    ))
}

/// Whether row `i` matches a rule's condition (also `minex affected`'s test of protected
/// identity). `raw` is the column as read; `typed`, for a rule over a typed column, its
/// canonical text (null where the value is null or invalid: an invalid value matches no
/// `equals`/`in`, and is rejected by its column's `on_invalid`). Nullness is always that of
/// the value as read.
pub fn rule_matches(
    raw: &StringArray,
    typed: Option<&StringArray>,
    i: usize,
    cond: &Condition,
) -> bool {
    let is_null = raw.is_null(i) || raw.value(i).trim().is_empty();
    if let Condition::IsNull(want) = cond {
        return *want == is_null;
    }
    let v = match typed {
        Some(t) if t.is_null(i) => return false,
        Some(t) => t.value(i),
        None if raw.is_null(i) => return false,
        None => raw.value(i).trim(),
    };
    match cond {
        Condition::Equals(e) => v == e,
        Condition::In(list) => list.iter().any(|e| e == v),
        Condition::IsNull(_) => false,
    }
}

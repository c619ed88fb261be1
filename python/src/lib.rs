//! `minex._minex`: the Python binding of `minex_core`.
//!
//! A thin front end: every token, ciphertext, reject and suppression is made by
//! [`minex_core::Transformer`], so Python and Spark give the bytes `minex run` gives. Arrow
//! data crosses by the Arrow C data interface (the PyCapsule protocol), without copies, and
//! the GIL is released while a batch is transformed. Errors become one Python exception
//! class per error category of the CLI, with the CLI's messages (a location, never a value).

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex, PoisonError};

use arrow::array::{ArrayRef, Int64Array, RecordBatch, StringArray};
use arrow::datatypes::{DataType, Field, Schema};
use minex_core::error::Category;
use minex_core::{ClassCounts, Gate, MasterKey, Plan, Transformer};
use pyo3::create_exception;
use pyo3::exceptions::PyException;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict};
use pyo3_arrow::{PyRecordBatch, PyTable};
use zeroize::Zeroizing;

create_exception!(
    minex,
    MinexError,
    PyException,
    "Any minex error; `exit_code` is the CLI's."
);
create_exception!(
    minex,
    UsageError,
    MinexError,
    "A call or argument was wrong."
);
create_exception!(
    minex,
    PolicyError,
    MinexError,
    "The policy is invalid or does not fit the input's schema."
);
create_exception!(
    minex,
    DataError,
    MinexError,
    "Input data is malformed, or a value is invalid under `on_invalid: fail`."
);
create_exception!(
    minex,
    IoError,
    MinexError,
    "A file could not be read or written."
);
create_exception!(
    minex,
    MasterKeyError,
    MinexError,
    "The master key is missing, malformed or stored unsafely."
);
create_exception!(
    minex,
    PrivacyError,
    MinexError,
    "A privacy check (k-anonymity) failed."
);
create_exception!(
    minex,
    LintError,
    MinexError,
    "The linter warned under `strict`."
);
create_exception!(minex, InternalError, MinexError, "A bug in minex.");

/// The environment variable a key is read from when none is given (as the CLI's).
const KEY_ENV: &str = "MINEX_KEY";

/// A core error as the Python exception of its category, with the CLI's message.
fn py_err(e: minex_core::Error) -> PyErr {
    let msg = e.to_string();
    match e.category() {
        Category::Usage => UsageError::new_err(msg),
        Category::Policy => PolicyError::new_err(msg),
        Category::Data => DataError::new_err(msg),
        Category::Io => IoError::new_err(msg),
        Category::Key => MasterKeyError::new_err(msg),
        Category::Privacy => PrivacyError::new_err(msg),
        Category::Lint => LintError::new_err(msg),
        Category::Internal => InternalError::new_err(msg),
    }
}

fn internal(what: impl std::fmt::Display) -> PyErr {
    py_err(minex_core::Error::internal(what.to_string()))
}

/// A validated policy.
#[pyclass(module = "minex._minex", frozen)]
struct Policy {
    inner: minex_core::Policy,
    /// The YAML text, so the policy can travel (to Spark executors) as text.
    text: String,
}

#[pymethods]
impl Policy {
    /// Parses and validates policy YAML text; every problem is reported at once.
    #[staticmethod]
    fn from_yaml(text: &str) -> PyResult<Policy> {
        Ok(Policy {
            inner: minex_core::Policy::from_yaml(text).map_err(py_err)?,
            text: text.to_string(),
        })
    }

    /// Reads and validates a policy file (at most 1 MiB; `minex init`'s placeholder domain is
    /// refused, as by `minex run`).
    #[staticmethod]
    fn from_file(path: std::path::PathBuf) -> PyResult<Policy> {
        let io = |e| py_err(minex_core::Error::io(&path, e));
        let meta = std::fs::metadata(&path).map_err(io)?;
        if meta.len() > minex_core::policy::MAX_POLICY_BYTES {
            return Err(PolicyError::new_err(format!(
                "policy `{}`: a policy file is at most 1 MiB; this is not a policy",
                path.display()
            )));
        }
        let text = std::fs::read_to_string(&path).map_err(io)?;
        Ok(Policy {
            inner: minex_core::policy::from_file_text(&text, &path).map_err(py_err)?,
            text,
        })
    }

    /// The policy's name.
    #[getter]
    fn name(&self) -> &str {
        &self.inner.name
    }

    /// The pseudonymisation domain.
    #[getter]
    fn domain(&self) -> &str {
        &self.inner.domain
    }

    /// The policy's YAML text.
    #[getter]
    fn text(&self) -> &str {
        &self.text
    }

    /// The SHA-256 of the policy text (as the manifest records it).
    #[getter]
    fn sha256(&self) -> &str {
        &self.inner.sha256
    }

    /// Whether the policy has a k-anonymity gate (two passes).
    #[getter]
    fn has_k_anonymity(&self) -> bool {
        self.inner.k_anonymity.is_some()
    }

    fn __repr__(&self) -> String {
        format!(
            "Policy(name={:?}, domain={:?})",
            self.inner.name, self.inner.domain
        )
    }
}

/// Reads a key file as `minex run --key-file` does: refused when group or others may access
/// it (on Unix); the message never holds the key.
fn key_from_file(path: &Path) -> minex_core::Result<MasterKey> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let meta = std::fs::metadata(path).map_err(|e| {
            minex_core::Error::key(format!(
                "cannot read the key file `{}`: {e}",
                path.display()
            ))
        })?;
        minex_core::keys::check_key_file_mode(path, meta.permissions().mode())?;
    }
    let text = Zeroizing::new(std::fs::read_to_string(path).map_err(|e| {
        minex_core::Error::key(format!(
            "cannot read the key file `{}`: {e}",
            path.display()
        ))
    })?);
    MasterKey::from_hex(&text)
}

fn load_key(key_file: Option<std::path::PathBuf>, key_hex: Option<&str>) -> PyResult<MasterKey> {
    match (key_file, key_hex) {
        (Some(_), Some(_)) => Err(UsageError::new_err(
            "give `key_file` or `key_hex`, not both",
        )),
        (Some(path), None) => key_from_file(&path).map_err(py_err),
        (None, Some(hex)) => MasterKey::from_hex(hex).map_err(py_err),
        (None, None) => match std::env::var(KEY_ENV) {
            Ok(text) => MasterKey::from_hex(&Zeroizing::new(text)).map_err(py_err),
            Err(_) => Err(py_err(minex_core::Error::key(format!(
                "no master key: pass `key_file=` or `key_hex=`, or set `{KEY_ENV}`"
            )))),
        },
    }
}

/// The output of one batch's transform.
#[pyclass(module = "minex._minex", frozen)]
struct TransformOutput {
    /// The extract's rows (a pyarrow.RecordBatch).
    #[pyo3(get)]
    batch: Py<PyAny>,
    /// The rejects (a pyarrow.Table: row int64 0-based in the batch, column, reason).
    #[pyo3(get)]
    rejects: Py<PyAny>,
    /// Rows removed by row rules.
    #[pyo3(get)]
    filtered: usize,
    /// Rows suppressed by the k-anonymity gate.
    #[pyo3(get)]
    suppressed: usize,
    /// Rows rejected (each once).
    #[pyo3(get)]
    rejected: usize,
    /// Rows of the input batch.
    #[pyo3(get)]
    rows_in: usize,
    /// Row-rule label → rows it removed.
    #[pyo3(get)]
    filtered_by_rule: Py<PyDict>,
    /// Reason code → rows rejected.
    #[pyo3(get)]
    rejected_by_reason: Py<PyDict>,
    /// Input column → invalid values set to null (`on_invalid: null`).
    #[pyo3(get)]
    nulled: Py<PyDict>,
}

#[pymethods]
impl TransformOutput {
    fn __repr__(&self) -> String {
        format!(
            "TransformOutput(rows_in={}, filtered={}, rejected={}, suppressed={})",
            self.rows_in, self.filtered, self.rejected, self.suppressed
        )
    }
}

/// Rows per k-anonymity class, counted over batches; mergeable, and serializable to bytes
/// (the class keys are the quasi-identifiers' generalized output values, nothing else).
#[pyclass(module = "minex._minex", name = "ClassCounts")]
struct ClassCountsPy {
    inner: ClassCounts,
}

#[pymethods]
impl ClassCountsPy {
    #[new]
    fn new() -> ClassCountsPy {
        ClassCountsPy {
            inner: ClassCounts::default(),
        }
    }

    /// Adds another's counts to these.
    fn merge(&mut self, other: &ClassCountsPy) {
        self.inner.merge(other.inner.clone());
    }

    /// The counts as bytes.
    fn to_bytes<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        PyBytes::new(py, &self.inner.to_bytes())
    }

    /// Reads what `to_bytes` wrote.
    #[staticmethod]
    fn from_bytes(data: &[u8]) -> PyResult<ClassCountsPy> {
        Ok(ClassCountsPy {
            inner: ClassCounts::from_bytes(data).map_err(py_err)?,
        })
    }

    /// Rows counted.
    #[getter]
    fn rows(&self) -> u64 {
        self.inner.rows()
    }

    /// Distinct classes.
    #[getter]
    fn classes(&self) -> usize {
        self.inner.classes()
    }
}

/// The k-anonymity decision over the counts of every row.
#[pyclass(module = "minex._minex", name = "Gate", frozen)]
struct GatePy {
    inner: Gate,
}

#[pymethods]
impl GatePy {
    /// The level written for each quasi-identifier, in `quasi_identifiers` order (0 = the
    /// finest of its ladder): the levels the search chose.
    #[getter]
    fn levels(&self) -> Vec<usize> {
        self.inner.levels().to_vec()
    }

    /// Rows suppressed: in classes below k or failing l-diversity (the rows pass 2
    /// suppresses).
    #[getter]
    fn rows_below(&self) -> u64 {
        self.inner.rows_below()
    }

    /// Rows that reached the gate.
    #[getter]
    fn rows_at_gate(&self) -> u64 {
        self.inner.rows_at_gate()
    }

    /// Classes below k.
    #[getter]
    fn classes_below(&self) -> u64 {
        self.inner.classes_below()
    }

    /// The manifest's `k_anonymity` object (JSON text) for `rows_out` rows written.
    fn info_json(&self, rows_out: u64) -> PyResult<String> {
        serde_json::to_string(&self.inner.info(rows_out)).map_err(internal)
    }
}

/// A policy keyed: applies it to Arrow record batches.
///
/// A plan is made per distinct input schema (on first use) and kept.
#[pyclass(module = "minex._minex", name = "Transformer", frozen)]
struct TransformerPy {
    policy: minex_core::Policy,
    key: MasterKey,
    plans: Mutex<HashMap<Schema, Arc<(Plan, Transformer)>>>,
    /// The transformers at a gate's levels (a policy with ladders), by schema and levels.
    at_levels: Mutex<HashMap<(Schema, Vec<usize>), Transformer>>,
}

impl TransformerPy {
    /// The transformer that writes what `gate` chose, for a batch of `schema` (made once).
    fn for_gate(&self, schema: &Schema, tx: &Transformer, gate: &Gate) -> PyResult<Transformer> {
        if gate.levels() == tx.levels() {
            return Ok(tx.clone());
        }
        let mut cache = self
            .at_levels
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let key = (schema.clone(), gate.levels().to_vec());
        if let Some(t) = cache.get(&key) {
            return Ok(t.clone());
        }
        let t = tx.for_gate(gate).map_err(py_err)?;
        cache.insert(key, t.clone());
        Ok(t)
    }
    fn for_schema(&self, schema: &Schema) -> PyResult<Arc<(Plan, Transformer)>> {
        let mut plans = self.plans.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(p) = plans.get(schema) {
            return Ok(p.clone());
        }
        let plan = Plan::new(&self.policy, schema).map_err(py_err)?;
        let tx = Transformer::new(&plan, &self.key).map_err(py_err)?;
        let p = Arc::new((plan, tx));
        plans.insert(schema.clone(), p.clone());
        Ok(p)
    }

    fn output(
        &self,
        py: Python<'_>,
        out: minex_core::BatchOutput,
        plan: &Plan,
    ) -> PyResult<TransformOutput> {
        let rejects = RecordBatch::try_new(
            Arc::new(Schema::new(vec![
                Field::new("row", DataType::Int64, false),
                Field::new("column", DataType::Utf8, false),
                Field::new("reason", DataType::Utf8, false),
            ])),
            vec![
                Arc::new(Int64Array::from_iter_values(
                    out.rejects.iter().map(|r| r.row as i64),
                )) as ArrayRef,
                Arc::new(StringArray::from_iter_values(
                    out.rejects.iter().map(|r| r.column.as_str()),
                )),
                Arc::new(StringArray::from_iter_values(
                    out.rejects.iter().map(|r| r.reason.as_str()),
                )),
            ],
        )
        .map_err(internal)?;
        let schema = rejects.schema();
        let rejects = PyTable::try_new(vec![rejects], schema)?
            .into_pyarrow(py)?
            .unbind();
        let filtered_by_rule = PyDict::new(py);
        for (rule, n) in plan.policy.rules.iter().zip(&out.filtered_by_rule) {
            filtered_by_rule.set_item(&rule.label, n)?;
        }
        let rejected_by_reason = PyDict::new(py);
        for (r, n) in &out.rejected_by_reason {
            rejected_by_reason.set_item(r, n)?;
        }
        let nulled = PyDict::new(py);
        for (c, n) in &out.nulled {
            nulled.set_item(c, n)?;
        }
        Ok(TransformOutput {
            batch: PyRecordBatch::new(out.batch).into_pyarrow(py)?.unbind(),
            rejects,
            filtered: out.filtered,
            suppressed: out.suppressed,
            rejected: out.rejected_rows,
            rows_in: out.rows_in,
            filtered_by_rule: filtered_by_rule.unbind(),
            rejected_by_reason: rejected_by_reason.unbind(),
            nulled: nulled.unbind(),
        })
    }
}

#[pymethods]
impl TransformerPy {
    /// Keys `policy` with the master key: `key_file` (refused when group or others may read
    /// it), else `key_hex`, else the `MINEX_KEY` environment variable.
    #[new]
    #[pyo3(signature = (policy, *, key_file=None, key_hex=None))]
    fn new(
        policy: &Policy,
        key_file: Option<std::path::PathBuf>,
        key_hex: Option<&str>,
    ) -> PyResult<TransformerPy> {
        Ok(TransformerPy {
            policy: policy.inner.clone(),
            key: load_key(key_file, key_hex)?,
            plans: Mutex::new(HashMap::new()),
            at_levels: Mutex::new(HashMap::new()),
        })
    }

    /// Transforms one batch (anything with `__arrow_c_array__`, such as a
    /// pyarrow.RecordBatch): rules, validation, every output column; no k-anonymity
    /// suppression.
    fn transform(&self, py: Python<'_>, batch: PyRecordBatch) -> PyResult<TransformOutput> {
        let batch = batch.into_inner();
        let p = self.for_schema(&batch.schema())?;
        let out = py.detach(|| p.1.transform(&batch)).map_err(py_err)?;
        self.output(py, out, &p.0)
    }

    /// Pass 2 of k-anonymity: as `transform`, and rows of classes below k are removed.
    fn transform_gated(
        &self,
        py: Python<'_>,
        batch: PyRecordBatch,
        gate: &GatePy,
    ) -> PyResult<TransformOutput> {
        let batch = batch.into_inner();
        let p = self.for_schema(&batch.schema())?;
        let tx = self.for_gate(&batch.schema(), &p.1, &gate.inner)?;
        let out = py
            .detach(|| tx.transform_gated(&batch, &gate.inner))
            .map_err(py_err)?;
        self.output(py, out, &p.0)
    }

    /// Pass 1 of k-anonymity: adds the batch's rows to `counts` by class.
    fn count_classes(
        &self,
        py: Python<'_>,
        batch: PyRecordBatch,
        counts: &mut ClassCountsPy,
    ) -> PyResult<()> {
        let batch = batch.into_inner();
        let p = self.for_schema(&batch.schema())?;
        let counts = &mut counts.inner;
        py.detach(|| p.1.count_classes(&batch, counts))
            .map_err(py_err)
    }

    /// The gate over the counts of every row; raises `PrivacyError` when the policy does
    /// not allow writing with it (`on_violation: fail`, `max_suppression`).
    fn gate(&self, counts: &ClassCountsPy) -> PyResult<GatePy> {
        let gate = Gate::for_policy(&self.policy, counts.inner.clone()).map_err(py_err)?;
        gate.check().map_err(py_err)?;
        Ok(GatePy { inner: gate })
    }

    /// `purpose/space` → key id of the keys a batch of this schema uses (ids, never keys).
    fn key_ids<'py>(&self, py: Python<'py>, batch: PyRecordBatch) -> PyResult<Bound<'py, PyDict>> {
        let p = self.for_schema(&batch.into_inner().schema())?;
        let d = PyDict::new(py);
        for (k, v) in p.1.key_ids() {
            d.set_item(k, v)?;
        }
        Ok(d)
    }

    /// The manifest's `columns` objects (JSON text) for a batch of this schema; with `gate`,
    /// at the levels the gate chose (a policy with ladders).
    #[pyo3(signature = (batch, gate=None))]
    fn plan_json(&self, batch: PyRecordBatch, gate: Option<&GatePy>) -> PyResult<String> {
        let p = self.for_schema(&batch.into_inner().schema())?;
        let at_levels;
        let plan = match gate {
            Some(g) => {
                at_levels = p.0.at_levels(g.inner.levels()).map_err(py_err)?;
                &at_levels
            }
            None => &p.0,
        };
        let columns: Vec<serde_json::Value> = plan
            .policy
            .columns
            .iter()
            .map(|c| {
                let out = plan.outputs.iter().find(|o| o.name == c.name);
                let mut v = serde_json::json!({
                    "name": c.name,
                    "type": c.value_type.name(),
                    "action": c.action.label(),
                    "output": out.map(|o| o.name.clone()),
                });
                // As the CLI's manifest: no `output_type` for a column not written.
                if let (Some(o), Some(map)) = (out, v.as_object_mut()) {
                    map.insert("output_type".into(), o.data_type.to_string().into());
                }
                v
            })
            .collect();
        serde_json::to_string(&columns).map_err(internal)
    }

    fn __repr__(&self) -> String {
        format!("Transformer(policy={:?})", self.policy.name)
    }
}

#[pymodule]
fn _minex(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    m.add_class::<Policy>()?;
    m.add_class::<TransformerPy>()?;
    m.add_class::<TransformOutput>()?;
    m.add_class::<ClassCountsPy>()?;
    m.add_class::<GatePy>()?;
    m.add("MinexError", py.get_type::<MinexError>())?;
    // Each class carries its category's exit code and name, also when raised from Python
    // (as `minex.spark` does with an executor's error).
    let base = py.get_type::<MinexError>();
    base.setattr("exit_code", Category::Internal.exit_code())?;
    base.setattr("category", Category::Internal.name())?;
    for (name, ty, category) in [
        ("UsageError", py.get_type::<UsageError>(), Category::Usage),
        (
            "PolicyError",
            py.get_type::<PolicyError>(),
            Category::Policy,
        ),
        ("DataError", py.get_type::<DataError>(), Category::Data),
        ("IoError", py.get_type::<IoError>(), Category::Io),
        (
            "MasterKeyError",
            py.get_type::<MasterKeyError>(),
            Category::Key,
        ),
        (
            "PrivacyError",
            py.get_type::<PrivacyError>(),
            Category::Privacy,
        ),
        ("LintError", py.get_type::<LintError>(), Category::Lint),
        (
            "InternalError",
            py.get_type::<InternalError>(),
            Category::Internal,
        ),
    ] {
        ty.setattr("exit_code", category.exit_code())?;
        ty.setattr("category", category.name())?;
        m.add(name, ty)?;
    }
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}

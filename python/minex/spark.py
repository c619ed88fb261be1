"""minex on Spark: a policy applied to a PySpark DataFrame by the Rust core, on the executors.

    from minex.spark import minimize
    result = minimize(df, "policy.yaml", key_file="minex.key")   # or key_hex=..., else MINEX_KEY
    result.extract.write.parquet("extract/")     # the extract's rows, as ``minex run`` makes them
    result.rejects                               # column, reason (and ``id_column``'s value)
    result.stats()                               # the manifest's ``rows``
    result.manifest()                            # policy, domain, key_ids, columns, rows, k_anonymity
    result.unpersist()                           # frees the cached output when done

How it works
------------
The transform runs in ``DataFrame.mapInArrow`` on the executors, batch by batch, with the same
kernels as ``minex run`` (one ``minex.Transformer`` per Python worker process, cached in this
module by policy hash and key reference). What travels to the executors in the task closure is
the policy's *text* and a *reference* to the key: a key file's path (each executor reads the file
itself; no key bytes are pickled), "the ``MINEX_KEY`` environment variable", or, only when the
caller passes ``key_hex=``, the hex itself. Nothing is put into the Spark conf or executor
environment, so the key appears in no plan string, log line or Spark UI page.

One pass writes three kinds of row into one DataFrame: the mapInArrow output has the extract's
columns plus ``__minex_kind`` (0 extract row, 1 reject, 2 partition statistics) and the side
columns of rejects (``__minex_column``, ``__minex_reason``, ``__minex_id``) and of statistics
(``__minex_stats``, JSON of one partition's counts). That DataFrame is persisted
(``MEMORY_AND_DISK`` by default) and materialized once by ``minimize`` while it collects the
statistics rows (a few per partition); ``result.extract`` and ``result.rejects`` are filters of
the cached data, so every later action reads the same rows the statistics describe, and the
transform is not repeated (Spark recomputes a lost cached partition from the input, with the
same result: tokens are deterministic). Counting with accumulators was not chosen: Spark may
apply a task's accumulator updates more than once when stages are retried.

k-anonymity (a policy with ``k_anonymity:``) takes two jobs, like the CLI's two passes: job 1
counts the classes of every partition (``Transformer.count_classes``; each task yields one row
holding ``ClassCounts.to_bytes()``); the driver merges the counts and builds the gate, which
raises ``minex.PrivacyError`` exactly when ``minex run`` would refuse to write. Job 2 is the
pass above with ``Transformer.transform_gated``; the merged counts' bytes are broadcast (a Gate
is not picklable) and each worker process rebuilds the gate once.

A minex error on an executor (``on_invalid: fail``, a key file that cannot be read, ...) fails
the Spark job; ``minimize`` raises it on the driver as the same ``minex`` exception class with
the core's message, which names columns and row positions, never a value. Row numbers in
rejects are not the CLI's (Spark's CSV source has no row index); pass ``id_column=`` to carry a
column of your own (for example a surrogate row id) into the rejects. When the policy does not
name that column it is kept out of the transform, so the policy need not know it.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from typing import Any, Dict, Iterator, List, Optional, Tuple, Union

import pyarrow as pa

from . import _minex

__all__ = ["minimize", "MinimizeResult"]

KIND = "__minex_kind"
COLUMN = "__minex_column"
REASON = "__minex_reason"
ID = "__minex_id"
STATS = "__minex_stats"
_SIDE_COLUMNS = (KIND, COLUMN, REASON, ID, STATS)
_EXTRACT, _REJECT, _STATS = 0, 1, 2

# Per Python worker process: Transformers by (policy sha256, key reference id), gates by
# (policy sha256, key reference id, sha256 of the counts' bytes).
_TRANSFORMERS: Dict[Tuple[str, str], Any] = {}
_GATES: Dict[Tuple[str, str, str], Any] = {}

# How a minex error crosses a Spark job failure: a marker around the class name and the message
# (the message holds no value), found again in the driver's exception text.
_MARK_RE = re.compile(r"MINEX-ERROR\[(\w+)\|(\d+)\|(\w*)\]<<<(.*?)>>>", re.S)


class _KeyRef:
    """What executors need to find the key. ``kind``: file, hex or env. Its repr shows no key."""

    __slots__ = ("kind", "value", "ident")

    def __init__(self, kind: str, value: Optional[str]) -> None:
        self.kind = kind
        self.value = value
        if kind == "hex":
            # The cache key names the hex by a hash only.
            self.ident = "hex:" + hashlib.sha256((value or "").encode()).hexdigest()
        else:
            self.ident = f"{kind}:{value or ''}"

    def __repr__(self) -> str:
        return f"_KeyRef({self.kind})"

    def __getstate__(self) -> Tuple[str, Optional[str], str]:
        return (self.kind, self.value, self.ident)

    def __setstate__(self, state: Tuple[str, Optional[str], str]) -> None:
        self.kind, self.value, self.ident = state

    def transformer(self, policy: Any) -> Any:
        if self.kind == "file":
            return _minex.Transformer(policy, key_file=self.value)
        if self.kind == "hex":
            return _minex.Transformer(policy, key_hex=self.value)
        return _minex.Transformer(policy)


class _Job:
    """The closure of the executors' functions: policy text, key reference, output layout."""

    def __init__(
        self,
        policy_text: str,
        policy_sha: str,
        key: _KeyRef,
        strip_id: Optional[str],
        id_column: Optional[str],
        out_schema: pa.Schema,
        counts: Any = None,
        counts_sha: Optional[str] = None,
    ) -> None:
        self.policy_text = policy_text
        self.policy_sha = policy_sha
        self.key = key
        self.strip_id = strip_id
        self.id_column = id_column
        self.out_schema = out_schema  # the Arrow schema Spark expects back (extract + side)
        self.counts = counts  # a Broadcast of the merged counts' bytes, or the bytes
        self.counts_sha = counts_sha

    def __repr__(self) -> str:
        return f"_Job(policy={self.policy_sha[:12]}, key={self.key!r})"

    # On the executors.
    def transformer(self) -> Any:
        cache_key = (self.policy_sha, self.key.ident)
        tx = _TRANSFORMERS.get(cache_key)
        if tx is None:
            tx = self.key.transformer(_minex.Policy.from_yaml(self.policy_text))
            _TRANSFORMERS[cache_key] = tx
        return tx

    def gate(self, tx: Any) -> Any:
        cache_key = (self.policy_sha, self.key.ident, self.counts_sha or "")
        gate = _GATES.get(cache_key)
        if gate is None:
            data = self.counts.value if hasattr(self.counts, "value") else self.counts
            gate = tx.gate(_minex.ClassCounts.from_bytes(data))
            _GATES.clear()  # one run's gate at a time per worker
            _GATES[cache_key] = gate
        return gate

    def input_batch(self, batch: pa.RecordBatch) -> pa.RecordBatch:
        if self.strip_id is None:
            return batch
        keep = [i for i, name in enumerate(batch.schema.names) if name != self.strip_id]
        return pa.RecordBatch.from_arrays(
            [batch.column(i) for i in keep], schema=pa.schema([batch.schema.field(i) for i in keep])
        )


def _raise_marked(e: BaseException, batch_start: Optional[int] = None) -> None:
    """Re-raises a minex error with a marker the driver finds in the job failure's text.

    The core counts rows from 1 in the batch it was given; ``batch_start`` (the batch's first
    row, 0-based, in its partition) says where that batch is."""
    if isinstance(e, _minex.MinexError):
        name = type(e).__name__
        code = getattr(e, "exit_code", 1)
        category = getattr(e, "category", "")
        where = ""
        if batch_start is not None:
            try:
                from pyspark import TaskContext

                ctx = TaskContext.get()
                part = ctx.partitionId() if ctx is not None else "?"
            except Exception:
                part = "?"
            where = (
                f" (on Spark: the row is counted from 1 in a batch that starts at row "
                f"{batch_start + 1} of partition {part})"
            )
        raise RuntimeError(f"MINEX-ERROR[{name}|{code}|{category}]<<<{e}{where}>>>") from None
    raise e


def _count_partition(job: _Job, batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    try:
        tx = job.transformer()
        counts = _minex.ClassCounts()
        start = 0
        for batch in batches:
            if batch.num_rows:
                tx.count_classes(job.input_batch(batch), counts)
                start += batch.num_rows
        data = counts.to_bytes()
    except _minex.MinexError as e:
        _raise_marked(e, start)
    yield pa.RecordBatch.from_arrays([pa.array([data], pa.binary())], names=["counts"])


def _transform_partition(job: _Job, batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    schema = job.out_schema
    n_extract = len(schema) - len(_SIDE_COLUMNS)
    stats: Dict[str, Any] = {
        "in": 0, "out": 0, "filtered": 0, "rejected": 0, "suppressed": 0,
        "filtered_by_rule": {}, "rejected_by_reason": {}, "nulled": {},
    }

    def add(into: Dict[str, int], counts: Dict[str, int]) -> None:
        for k, v in counts.items():
            into[k] = into.get(k, 0) + int(v)

    def side(n: int, kind: int, column=None, reason=None, ids=None, stats_json=None) -> List[Any]:
        def col(i: int, values: Any) -> pa.Array:
            typ = schema.field(n_extract + i).type
            return pa.nulls(n, typ) if values is None else values.cast(typ)

        return [
            pa.array([kind] * n, schema.field(KIND).type),
            col(1, column),
            col(2, reason),
            col(3, ids),
            col(4, None if stats_json is None else pa.array([stats_json])),
        ]

    start: Optional[int] = None
    try:
        tx = job.transformer()
        gate = job.gate(tx) if job.counts is not None else None
        for batch in batches:
            if not batch.num_rows:
                continue
            start = stats["in"]
            inp = job.input_batch(batch)
            out = tx.transform(inp) if gate is None else tx.transform_gated(inp, gate)
            stats["in"] += out.rows_in
            stats["filtered"] += out.filtered
            stats["rejected"] += out.rejected
            stats["suppressed"] += out.suppressed
            add(stats["filtered_by_rule"], out.filtered_by_rule)
            add(stats["rejected_by_reason"], out.rejected_by_reason)
            add(stats["nulled"], out.nulled)
            ext = out.batch
            stats["out"] += ext.num_rows
            if ext.num_rows:
                arrays = [
                    ext.column(name).cast(schema.field(i).type)
                    for i, name in enumerate(schema.names[:n_extract])
                ]
                arrays += side(ext.num_rows, _EXTRACT)
                yield pa.RecordBatch.from_arrays(arrays, schema=schema)
            rej = out.rejects
            if rej.num_rows:
                ids = None
                if job.id_column is not None:
                    ids = batch.column(job.id_column).take(rej.column("row").combine_chunks())
                arrays = [pa.nulls(rej.num_rows, schema.field(i).type) for i in range(n_extract)]
                arrays += side(
                    rej.num_rows, _REJECT,
                    column=rej.column("column").combine_chunks(),
                    reason=rej.column("reason").combine_chunks(),
                    ids=ids,
                )
                yield pa.RecordBatch.from_arrays(arrays, schema=schema)
            start = None
    except _minex.MinexError as e:
        _raise_marked(e, start)
    arrays = [pa.nulls(1, schema.field(i).type) for i in range(n_extract)]
    arrays += side(1, _STATS, stats_json=json.dumps(stats))
    yield pa.RecordBatch.from_arrays(arrays, schema=schema)


def _as_minex_error(e: BaseException) -> Optional[BaseException]:
    """The minex error inside a Spark job failure, or None."""
    m = _MARK_RE.search(str(e))
    if m is None:
        return None
    name, code, category, message = m.group(1), int(m.group(2)), m.group(3), m.group(4)
    cls = getattr(_minex, name, None)
    if not (isinstance(cls, type) and issubclass(cls, _minex.MinexError)):
        cls = _minex.MinexError
    err = cls(message)
    try:
        err.exit_code = code
        err.category = category
    except AttributeError:
        pass
    return err


def _run(action: Any) -> Any:
    try:
        return action()
    except _minex.MinexError:
        raise
    except Exception as e:  # a Spark job failure (Py4JJavaError, PythonException, ...)
        err = _as_minex_error(e)
        if err is None:
            raise
        raise err from e


def _empty_batch(schema: pa.Schema) -> pa.RecordBatch:
    return pa.RecordBatch.from_arrays([pa.array([], f.type) for f in schema], schema=schema)


class MinimizeResult:
    """The output of :func:`minimize`: DataFrames of the extract and rejects, and counts."""

    def __init__(
        self,
        cached: Any,
        extract: Any,
        rejects: Any,
        rows: Dict[str, Any],
        nulled: Dict[str, int],
        policy: Any,
        key_ids: Dict[str, str],
        columns: List[Dict[str, Any]],
        gate: Any,
        broadcast: Any,
    ) -> None:
        self._cached = cached
        self.extract = extract
        self.rejects = rejects
        self._rows = rows
        self._nulled = nulled
        self._policy = policy
        self._key_ids = key_ids
        self._columns = columns
        self._gate = gate
        self._broadcast = broadcast

    def stats(self) -> Dict[str, Any]:
        """The manifest's ``rows``: in, out, filtered, rejected, suppressed, filtered_by_rule,
        rejected_by_reason."""
        return json.loads(json.dumps(self._rows))

    def manifest(self) -> Dict[str, Any]:
        """policy (name, sha256), domain, key_ids, columns, rows and (with k-anonymity)
        k_anonymity, as in the manifest ``minex run`` writes."""
        columns = []
        for c in self._columns:
            c = dict(c)
            c.setdefault("invalid_nulled", self._nulled.get(c.get("name", ""), 0))
            columns.append(c)
        m: Dict[str, Any] = {
            "policy": {"name": self._policy.name, "sha256": self._policy.sha256},
            "domain": self._policy.domain,
            "key_ids": dict(self._key_ids),
            "columns": columns,
            "rows": self.stats(),
        }
        if self._gate is not None:
            m["k_anonymity"] = json.loads(self._gate.info_json(self._rows["out"]))
        return m

    def unpersist(self) -> None:
        """Frees the cached output (and the broadcast counts)."""
        self._cached.unpersist()
        if self._broadcast is not None:
            try:
                self._broadcast.unpersist()
            except Exception:
                pass


def _policy_of(policy: Any) -> Any:
    if isinstance(policy, _minex.Policy):
        return policy
    if isinstance(policy, (str, os.PathLike)):
        return _minex.Policy.from_file(policy)
    raise TypeError("policy: a path or a minex.Policy")


def minimize(
    df: Any,
    policy: Union[str, "os.PathLike[str]", Any],
    *,
    key_file: Optional[Union[str, "os.PathLike[str]"]] = None,
    key_hex: Optional[str] = None,
    id_column: Optional[str] = None,
    storage_level: Any = None,
) -> MinimizeResult:
    """Applies ``policy`` to the DataFrame ``df`` on the executors; see the module's docstring.

    The key: ``key_file`` (a path every executor can read; mode 0600), else ``key_hex`` (sent to
    the executors in the task closure), else the ``MINEX_KEY`` environment variable of the
    driver and of every executor. Raises the ``minex`` exceptions of the CLI's failures
    (``PrivacyError`` when k-anonymity forbids the extract, ``DataError`` for ``on_invalid:
    fail``, ...). The result's output is persisted (``storage_level``, default
    ``MEMORY_AND_DISK``); call ``result.unpersist()`` when done.
    """
    from pyspark import StorageLevel
    from pyspark.sql import functions as F
    from pyspark.sql.pandas.types import from_arrow_schema, to_arrow_schema
    from pyspark.sql.types import ByteType, StringType, StructField, StructType

    pol = _policy_of(policy)
    if key_file is not None:
        key = _KeyRef("file", os.path.abspath(os.fspath(key_file)))
    elif key_hex is not None:
        key = _KeyRef("hex", key_hex)
    else:
        key = _KeyRef("env", None)
    tx = key.transformer(pol)  # the driver's: checks the key, plans, gates

    in_arrow = to_arrow_schema(df.schema)
    empty = _empty_batch(in_arrow)
    strip_id = None
    if id_column is not None:
        if id_column not in df.columns:
            raise _minex.UsageError(f"id_column `{id_column}` is not a column of the DataFrame")
        try:
            named = [c.get("name") for c in json.loads(tx.plan_json(empty))]
        except _minex.MinexError:
            named = []
        if id_column not in named:
            strip_id = id_column
    probe = _Job(pol.text, pol.sha256, key, strip_id, id_column, in_arrow)
    plan_batch = probe.input_batch(empty)
    json.loads(tx.plan_json(plan_batch))  # PolicyError when the input does not fit
    key_ids = tx.key_ids(plan_batch)
    # With k-anonymity the gate comes first: with ladders, the levels it chooses decide the
    # extract's schema.
    gate = None
    broadcast = None
    counts_data = None
    if pol.has_k_anonymity:
        count_job = _Job(pol.text, pol.sha256, key, strip_id, id_column, in_arrow)
        parts = _run(
            lambda: df.mapInArrow(
                lambda it: _count_partition(count_job, it), "counts binary"
            ).collect()
        )
        merged = _minex.ClassCounts()
        for row in parts:
            merged.merge(_minex.ClassCounts.from_bytes(bytes(row[0])))
        gate = tx.gate(merged)  # PrivacyError, as `minex run`
        counts_data = merged.to_bytes()
    columns = json.loads(tx.plan_json(plan_batch, gate))
    extract_arrow = (
        tx.transform(plan_batch) if gate is None else tx.transform_gated(plan_batch, gate)
    ).batch.schema

    extract_fields = [
        StructField(f.name, f.dataType, True) for f in from_arrow_schema(extract_arrow).fields
    ]
    clash = [f.name for f in extract_fields if f.name in _SIDE_COLUMNS]
    if clash:
        raise _minex.UsageError(f"the extract has a column named `{clash[0]}`, reserved by minex.spark")
    id_type = df.schema[id_column].dataType if id_column is not None else StringType()
    spark_schema = StructType(
        extract_fields
        + [
            StructField(KIND, ByteType(), False),
            StructField(COLUMN, StringType(), True),
            StructField(REASON, StringType(), True),
            StructField(ID, id_type, True),
            StructField(STATS, StringType(), True),
        ]
    )
    spark = df.sparkSession
    large = str(spark.conf.get("spark.sql.execution.arrow.useLargeVarTypes", "false")).lower() == "true"
    out_arrow = to_arrow_schema(spark_schema, prefers_large_types=large)
    job = _Job(pol.text, pol.sha256, key, strip_id, id_column, out_arrow)
    if counts_data is not None:
        job.counts_sha = hashlib.sha256(counts_data).hexdigest()
        try:
            broadcast = spark.sparkContext.broadcast(counts_data)
            job.counts = broadcast
        except Exception:  # Spark Connect: no SparkContext; the bytes go in the closure
            job.counts = counts_data

    level = storage_level if storage_level is not None else StorageLevel.MEMORY_AND_DISK
    cached = df.mapInArrow(lambda it: _transform_partition(job, it), spark_schema).persist(level)
    try:
        stat_rows = _run(lambda: cached.filter(F.col(KIND) == _STATS).select(STATS).collect())
    except BaseException:
        cached.unpersist()
        raise

    rows: Dict[str, Any] = {
        "in": 0, "out": 0, "filtered": 0, "rejected": 0, "suppressed": 0,
        "filtered_by_rule": {}, "rejected_by_reason": {},
    }
    nulled: Dict[str, int] = {}
    for r in stat_rows:
        s = json.loads(r[0])
        for k in ("in", "out", "filtered", "rejected", "suppressed"):
            rows[k] += s[k]
        for k in ("filtered_by_rule", "rejected_by_reason"):
            for name, v in s[k].items():
                rows[k][name] = rows[k].get(name, 0) + v
        for name, v in s["nulled"].items():
            nulled[name] = nulled.get(name, 0) + v
    rows["filtered_by_rule"] = dict(sorted(rows["filtered_by_rule"].items()))
    rows["rejected_by_reason"] = dict(sorted(rows["rejected_by_reason"].items()))

    names = [f.name for f in extract_fields]
    extract = cached.filter(F.col(KIND) == _EXTRACT).select(*names)
    reject_cols = [F.col(COLUMN).alias("column"), F.col(REASON).alias("reason")]
    if id_column is not None:
        if id_column in ("column", "reason"):
            raise _minex.UsageError(f"id_column `{id_column}` clashes with the rejects' columns")
        reject_cols.append(F.col(ID).alias(id_column))
    rejects = cached.filter(F.col(KIND) == _REJECT).select(*reject_cols)
    return MinimizeResult(
        cached, extract, rejects, rows, nulled, pol, key_ids, columns, gate, broadcast
    )

"""minex.spark.minimize against `minex run` on the same 20,000-row synthetic register.

Needs pyspark (``pip install "./python[spark]"``, Java 17) and the minex binaries: ``MINEX_BIN``
(the CLI, e.g. target/debug/minex) and, optionally, ``MINEX_GENERATOR`` (the
``generate_register`` example; without it ``minex demo --rows`` makes the register). One Spark
session (local[2]) serves the whole module.
"""

from __future__ import annotations

import collections
import csv
import glob
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip(
    "pyspark", reason='pyspark is not installed (pip install "./python[spark]"; needs Java 17)'
)
pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")

import minex  # noqa: E402
from minex.spark import minimize  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
SCHOOL = ROOT / "schemas" / "school-supplier.yaml"
RESEARCH = ROOT / "schemas" / "research.yaml"
ROWS = 20_000


def _minex_bin() -> str:
    path = os.environ.get("MINEX_BIN") or shutil.which("minex")
    if not path or not os.path.exists(path):
        pytest.skip("the minex CLI is needed: set MINEX_BIN (scripts/test sets target/debug/minex)")
    return path


@pytest.fixture(scope="module")
def work(tmp_path_factory):
    """The register, key and policy variants, made once: a dict of paths."""
    minex_bin = _minex_bin()
    d = tmp_path_factory.mktemp("spark")
    register = d / "register.csv"
    generator = os.environ.get("MINEX_GENERATOR")
    if generator:
        subprocess.run(
            [generator, "--rows", str(ROWS), "--out", str(register)],
            check=True, capture_output=True,
        )
    else:
        subprocess.run(
            [minex_bin, "demo", "--out", str(d / "demo"), "--rows", str(ROWS)],
            check=True, capture_output=True,
        )
        shutil.copy(d / "demo" / "register.csv", register)
    key = d / "minex.key"
    subprocess.run([minex_bin, "keygen", "--out", str(key)], check=True, capture_output=True)
    os.chmod(key, 0o600)
    # research.yaml fails its max_suppression of 5 % on this register (that failure is tested
    # too); a copy allowing 20 % exercises suppression.
    research20 = d / "research-20.yaml"
    text = RESEARCH.read_text()
    assert "max_suppression: 0.05" in text
    research20.write_text(text.replace("max_suppression: 0.05", "max_suppression: 0.2"))
    fail = d / "school-fail.yaml"
    text = SCHOOL.read_text()
    anchor = "    space: person\n    description: Pupil identity"
    assert anchor in text
    fail.write_text(text.replace(anchor, "    space: person\n    on_invalid: fail\n    description: Pupil identity"))
    return {"dir": d, "bin": minex_bin, "register": register, "key": key,
            "research20": research20, "fail": fail}


@pytest.fixture(scope="module")
def spark(work):
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
    from pyspark.sql import SparkSession

    events = work["dir"] / "events"
    events.mkdir()
    session = (
        SparkSession.builder.master("local[2]")
        .appName("minex-spark-test")
        .config("spark.sql.execution.arrow.maxRecordsPerBatch", "65536")
        # 3.4 MB of CSV in 1 MB splits: several partitions, so counts are merged across them.
        .config("spark.sql.files.maxPartitionBytes", str(1 << 20))
        .config("spark.sql.shuffle.partitions", "2")
        .config("spark.ui.enabled", "false")
        .config("spark.eventLog.enabled", "true")
        .config("spark.eventLog.dir", events.as_uri())
        .config("spark.eventLog.compress", "false")  # zstd by default: a grep would see nothing
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


@pytest.fixture(scope="module")
def df(spark, work):
    return spark.read.csv(str(work["register"]), header=True, inferSchema=False)


def cli_run(work, policy, name):
    """`minex run` on the register: (extract table, manifest dict, rejects rows) or the process."""
    out = work["dir"] / name / "x.parquet"
    proc = subprocess.run(
        [work["bin"], "run", "--policy", str(policy), "--input", str(work["register"]),
         "--out", str(out), "--key-file", str(work["key"]), "--quiet"],
        capture_output=True, text=True,
    )
    if proc.returncode != 0:
        return proc
    manifest = json.loads((out.parent / "x.manifest.json").read_text())
    rejects_path = out.parent / "x.rejects.csv"
    rejects = list(csv.DictReader(rejects_path.open())) if rejects_path.exists() else []
    return pq.read_table(out), manifest, rejects


def multiset(table) -> collections.Counter:
    cols = [table.column(n).to_pylist() for n in table.column_names]
    return collections.Counter(zip(*cols))


def spark_table(result):
    return result.extract.toArrow()


def check_same_as_cli(work, result, policy, name):
    table, manifest, rejects = cli_run(work, policy, name)
    ours = spark_table(result)
    assert ours.column_names == table.column_names
    for field in table.schema:
        assert ours.schema.field(field.name).type == field.type, field.name
    assert ours.num_rows == table.num_rows
    assert multiset(ours) == multiset(table)
    stats = result.stats()
    assert stats == manifest["rows"]
    by_reason = {row["reason"]: row["count"] for row in result.rejects.groupBy("reason").count().collect()}
    assert by_reason == dict(collections.Counter(r["reason"] for r in rejects))
    assert result.rejects.count() == len(rejects)
    m = result.manifest()
    assert m["policy"]["sha256"] == manifest["policy"]["sha256"]
    assert m["policy"]["name"] == manifest["policy"]["name"]
    assert m["domain"] == manifest["domain"]
    assert m["key_ids"] == manifest["key_ids"]
    assert m["columns"] == manifest["columns"]
    assert m["rows"] == manifest["rows"]
    assert m.get("k_anonymity") == manifest.get("k_anonymity")
    return table, manifest, rejects


def test_school_supplier_same_as_cli(work, df):
    assert df.rdd.getNumPartitions() > 1
    result = minimize(df, str(SCHOOL), key_file=str(work["key"]))
    try:
        _, manifest, _ = check_same_as_cli(work, result, SCHOOL, "school")
        assert manifest["rows"]["rejected"] > 0 and manifest["rows"]["filtered"] > 0
    finally:
        result.unpersist()


def test_k_anonymity_same_suppression_as_cli(work, df):
    policy = minex.Policy.from_file(work["research20"])
    result = minimize(df, policy, key_file=str(work["key"]))
    try:
        _, manifest, _ = check_same_as_cli(work, result, work["research20"], "research")
        assert manifest["rows"]["suppressed"] > 0
        assert result.stats()["suppressed"] == manifest["rows"]["suppressed"]
    finally:
        result.unpersist()


def test_ladders_same_levels_and_extract_as_cli(work, df):
    # The extract's schema follows the levels the search chose (a decade is an integer, a
    # month text): Spark's output schema is made after the gate.
    result = minimize(df, str(ROOT / "schemas" / "research-ladders.yaml"), key_file=str(work["key"]))
    try:
        _, manifest, _ = check_same_as_cli(
            work, result, ROOT / "schemas" / "research-ladders.yaml", "ladders"
        )
        assert manifest["k_anonymity"]["search"]["nodes"] == 9
        assert result.manifest()["k_anonymity"]["search"] == manifest["k_anonymity"]["search"]
    finally:
        result.unpersist()


def test_k_anonymity_violation_raises_privacy_error_like_cli(work, df):
    proc = cli_run(work, RESEARCH, "research-5")
    assert isinstance(proc, subprocess.CompletedProcess) and proc.returncode == 7
    with pytest.raises(minex.PrivacyError) as info:
        minimize(df, str(RESEARCH), key_file=str(work["key"]))
    assert info.value.exit_code == 7
    assert "max_suppression" in str(info.value)


def _register_values(work) -> set:
    with open(work["register"], newline="") as f:
        rows = list(csv.DictReader(f))
    values = set()
    for row in rows:
        for name in ("personnummer", "guardian_personnummer", "email", "phone", "first_name"):
            if row[name] and len(row[name]) >= 6:
                values.add(row[name])
    return values


def test_on_invalid_fail_raises_data_error_without_values(work, df):
    proc = cli_run(work, work["fail"], "fail")
    assert isinstance(proc, subprocess.CompletedProcess) and proc.returncode == 4
    with pytest.raises(minex.DataError) as info:
        minimize(df, str(work["fail"]), key_file=str(work["key"]))
    err = info.value
    assert err.exit_code == 4
    assert "personnummer" in str(err)
    # The whole failure, Spark's job failure included, holds no value of the register.
    text = str(err) + "\n" + str(err.__cause__)
    leaked = [v for v in _register_values(work) if v in text]
    assert leaked == []


def test_id_column_in_rejects(work, df, spark):
    from pyspark.sql import functions as F

    # A column the policy names (its raw value is what the caller asked for) ...
    result = minimize(df, str(SCHOOL), key_file=str(work["key"]), id_column="personnummer")
    try:
        _, _, rejects = cli_run(work, SCHOOL, "school-ids")
        with open(work["register"], newline="") as f:
            register = list(csv.DictReader(f))
        expected = collections.Counter(register[int(r["row"]) - 1]["personnummer"] for r in rejects)
        got = collections.Counter(r["personnummer"] for r in result.rejects.collect())
        assert got == expected
        assert result.rejects.columns == ["column", "reason", "personnummer"]
    finally:
        result.unpersist()
    # ... and one it does not name (unknown_columns: error): kept out of the transform.
    with_id = df.withColumn("rid", F.monotonically_increasing_id()).cache()
    result = minimize(with_id, str(SCHOOL), key_file=str(work["key"]), id_column="rid")
    try:
        assert "rid" not in result.extract.columns
        rej = result.rejects.collect()
        assert len(rej) == len(rejects)
        bad = with_id.join(result.rejects.select("rid"), "rid").select("personnummer").collect()
        assert collections.Counter(r[0] for r in bad) == expected
    finally:
        result.unpersist()
        with_id.unpersist()


def test_key_hex_same_tokens_and_not_in_plan_or_event_log(work, df, spark, capsys):
    key_hex = work["key"].read_text().strip()
    assert len(key_hex) == 64
    result = minimize(df, str(SCHOOL), key_hex=key_hex)
    try:
        by_file = minimize(df, str(SCHOOL), key_file=str(work["key"]))
        try:
            assert multiset(spark_table(result)) == multiset(spark_table(by_file))
        finally:
            by_file.unpersist()
        capsys.readouterr()
        result.extract.explain(True)
        result.rejects.explain(True)
        result.extract.explain("formatted")
        plans = capsys.readouterr().out
        assert "__minex_kind" in plans  # the plans were printed
        assert key_hex not in plans and key_hex.upper() not in plans
        conf = "\n".join(f"{k}={v}" for k, v in spark.sparkContext.getConf().getAll())
        assert key_hex not in conf
    finally:
        result.unpersist()
    # The event log is complete once the session stops (this is the module's last test).
    events_dir = work["dir"] / "events"
    spark.stop()
    logs = [p for p in glob.glob(str(events_dir / "**" / "*"), recursive=True) if os.path.isfile(p)]
    assert logs, "no Spark event log was written"
    seen = b""
    for path in logs:
        data = Path(path).read_bytes()
        seen += data
        assert key_hex.encode() not in data and key_hex.upper().encode() not in data, path
    # The log is plain JSON lines holding the SQL plans of the minimize jobs.
    assert b"SparkListenerSQLExecutionStart" in seen and b"MapInArrow" in seen

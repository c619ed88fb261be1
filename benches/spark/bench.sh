#!/usr/bin/env bash
# minex on Spark against a steward's PySpark job and the CLI, on the 1.5M-row register.
#
#   benches/spark/bench.sh
#
# Environment: REGISTER (default /tmp/reg.csv), KEY (default /tmp/k.key), POLICY (default
# schemas/school-supplier.yaml), PYTHON (a Python with pyspark 4.3, psutil and minex; default
# /tmp/pyvenv/bin/python), MINEX (the CLI; default /tmp/minex-after).
# Prints, per case, the wall time of the whole process and the peak of the summed RSS of its
# process tree (driver, JVM, Python workers), sampled every 0.1 s with psutil:
#   (a) minex.spark.minimize on local[2], extract written as Parquet;
#   (b) the same extract as a pandas_udf with Python's hmac (HMAC-SHA256, hex, over the raw
#       value; no validation, no rejects report, no manifest) on local[2];
#   (c) `minex run` (all cores), for which GNU time's own figures are printed too.
set -euo pipefail
cd "$(dirname "$0")/../.."
REGISTER="${REGISTER:-/tmp/reg.csv}"
KEY="${KEY:-/tmp/k.key}"
POLICY="${POLICY:-schemas/school-supplier.yaml}"
PYTHON="${PYTHON:-/tmp/pyvenv/bin/python}"
MINEX="${MINEX:-/tmp/minex-after}"
HELPER=benches/spark/bench.py
OUT="$(mktemp -d)"
trap 'rm -rf "$OUT"' EXIT
export SPARK_LOCAL_IP="${SPARK_LOCAL_IP:-127.0.0.1}"
export PYSPARK_PYTHON="$PYTHON"
lscpu | grep -m1 'Model name' || true
echo "cores: $(nproc); register: $REGISTER ($(($(wc -l <"$REGISTER") - 1)) rows); policy: $POLICY"
cat "$REGISTER" >/dev/null # from the page cache for every case
echo "== (a) minex.spark.minimize, local[2] -> Parquet"
"$PYTHON" "$HELPER" measure -- "$PYTHON" "$HELPER" minimize "$POLICY" "$REGISTER" "$KEY" "$OUT/a"
echo "== (b) pandas_udf + hmac, local[2] -> Parquet"
"$PYTHON" "$HELPER" measure -- "$PYTHON" "$HELPER" hmac "$POLICY" "$REGISTER" "$KEY" "$OUT/b"
echo "== (c) minex run"
"$PYTHON" "$HELPER" measure -- /usr/bin/time -f 'GNU time: wall %e s, user %U s, sys %S s, max RSS %M KiB' \
  "$MINEX" run --policy "$POLICY" --input "$REGISTER" --out "$OUT/c/x.parquet" --key-file "$KEY" --quiet

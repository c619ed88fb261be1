"""minex on Spark: minimize a CSV register with a policy and write the extract as Parquet.

    spark-submit examples/spark_minimize.py POLICY.yaml REGISTER.csv KEY_FILE OUT_DIR

(or plain `python examples/spark_minimize.py ...`, which starts a local session). Needs
`pip install "./python[spark]"` on the driver and the executors, and the key file at the same
path on every executor (mode 0600); the executors read it themselves. Writes OUT_DIR/extract
(Parquet), OUT_DIR/rejects (CSV: column, reason) and OUT_DIR/manifest.json, and prints the
row counts. Every column is read as text, as `minex run` reads a CSV.
"""

import json
import os
import sys
import time

from pyspark.sql import SparkSession

import minex
from minex.spark import minimize


def main() -> int:
    if len(sys.argv) != 5:
        print(__doc__, file=sys.stderr)
        return 2
    policy, register, key_file, out_dir = sys.argv[1:]
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    spark = (
        SparkSession.builder.appName("minex-spark-minimize")
        .config("spark.sql.execution.arrow.maxRecordsPerBatch", "65536")
        .getOrCreate()
    )
    started = time.time()
    df = spark.read.csv(register, header=True, inferSchema=False)
    try:
        result = minimize(df, policy, key_file=key_file)
    except minex.MinexError as e:
        print(f"error: {e}", file=sys.stderr)
        spark.stop()
        return e.exit_code
    result.extract.write.mode("overwrite").parquet(os.path.join(out_dir, "extract"))
    result.rejects.write.mode("overwrite").option("header", True).csv(os.path.join(out_dir, "rejects"))
    manifest = result.manifest()
    with open(os.path.join(out_dir, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=2)
    result.unpersist()
    rows = result.stats()
    print(
        f"minex on Spark: policy `{manifest['policy']['name']}` (domain `{manifest['domain']}`)\n"
        f"  rows: {rows['in']} in, {rows['out']} out, {rows['filtered']} filtered, "
        f"{rows['rejected']} rejected, {rows['suppressed']} suppressed"
    )
    for rule, n in rows["filtered_by_rule"].items():
        print(f"    filtered by {rule}: {n}")
    for reason, n in rows["rejected_by_reason"].items():
        print(f"    rejected for {reason}: {n}")
    print(f"  time: {time.time() - started:.1f} s\n  wrote {out_dir}/extract, rejects, manifest.json")
    spark.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())

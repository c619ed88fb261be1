"""Helper of benches/spark/bench.sh.

    bench.py measure -- CMD...        runs CMD; prints wall seconds and the peak of the summed
                                      RSS of its whole process tree (psutil, sampled every 0.1 s)
    bench.py minimize POLICY CSV KEY OUT     minex.spark.minimize, extract written as Parquet
    bench.py hmac POLICY CSV KEY OUT         the steward's job: a pandas_udf with Python's hmac
                                             (HMAC-SHA256, hex, over the raw value), no validation
"""

import os
import subprocess
import sys
import time


def measure(cmd):
    import psutil

    started = time.monotonic()
    proc = subprocess.Popen(cmd)
    root = psutil.Process(proc.pid)
    peak = 0
    while proc.poll() is None:
        total = 0
        try:
            procs = [root] + root.children(recursive=True)
        except psutil.Error:
            procs = []
        for p in procs:
            try:
                total += p.memory_info().rss
            except psutil.Error:
                pass
        peak = max(peak, total)
        time.sleep(0.1)
    wall = time.monotonic() - started
    print(f"MEASURE rc={proc.returncode} wall_s={wall:.1f} peak_tree_rss_mib={peak / 2**20:.0f}", flush=True)
    return proc.returncode


def session(name):
    from pyspark.sql import SparkSession

    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    spark = (
        SparkSession.builder.master("local[2]")
        .appName(name)
        .config("spark.sql.execution.arrow.maxRecordsPerBatch", "65536")
        .config("spark.ui.enabled", "false")
        .getOrCreate()
    )
    spark.sparkContext.setLogLevel("ERROR")
    return spark


def run_minimize(policy, csv, key, out):
    from minex.spark import minimize

    spark = session("bench-minex")
    t0 = time.monotonic()
    df = spark.read.csv(csv, header=True, inferSchema=False)
    result = minimize(df, policy, key_file=key)
    result.extract.write.mode("overwrite").parquet(out)
    print("stats", result.stats())
    print(f"JOB seconds (after session start): {time.monotonic() - t0:.1f}")
    spark.stop()


def run_hmac(policy, csv, key, out):
    import hashlib
    import hmac

    import pandas as pd
    from pyspark.sql import functions as F
    from pyspark.sql.functions import pandas_udf

    key_bytes = bytes.fromhex(open(key).read().strip())
    spark = session("bench-hmac")  # before the pandas_udf, which needs a session

    @pandas_udf("string")
    def tokenize(values: pd.Series) -> pd.Series:
        return values.map(
            lambda v: None if v is None or v != v
            else hmac.new(key_bytes, v.encode(), hashlib.sha256).hexdigest()
        )

    t0 = time.monotonic()
    df = spark.read.csv(csv, header=True, inferSchema=False)
    # school-supplier.yaml by hand: drop protected identities, tokenize both identity numbers,
    # postal area (3 digits), birth year, keep city, municipality, gender and school.
    out_df = (
        df.filter(F.coalesce(F.lower(F.col("protected_identity")) != "true", F.lit(True)))
        .select(
            tokenize("personnummer").alias("personnummer"),
            tokenize("guardian_personnummer").alias("guardian_personnummer"),
            F.substring(F.regexp_replace("postal_code", " ", ""), 1, 3).alias("postal_code"),
            "city",
            "municipality_code",
            F.substring("date_of_birth", 1, 4).cast("int").alias("date_of_birth"),
            "gender",
            "school",
        )
    )
    out_df.write.mode("overwrite").parquet(out)
    print(f"JOB seconds (after session start): {time.monotonic() - t0:.1f}")
    spark.stop()


def main():
    mode = sys.argv[1]
    if mode == "measure":
        args = sys.argv[2:]
        if args and args[0] == "--":
            args = args[1:]
        sys.exit(measure(args))
    elif mode == "minimize":
        run_minimize(*sys.argv[2:6])
    elif mode == "hmac":
        run_hmac(*sys.argv[2:6])
    else:
        sys.exit(f"unknown mode {mode}")


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""The tools a steward would otherwise use, doing minex's school-supplier job.

    peers.py floor|pandas|polars|duckdb  INPUT.csv  OUTPUT.parquet  KEY_FILE
    peers.py rows    FILE.parquet                   # prints the row count
    peers.py compare MINEX.parquet PEER.parquet     # prints how many rows/cells differ

`floor` is the I/O floor: pyarrow reads the whole CSV (multi-threaded C++ reader, default
type inference) and writes it back as Parquet zstd, with no transformation at all.

`pandas`, `polars` and `duckdb` each do what schemas/school-supplier.yaml asks of minex:

* rows whose trimmed `protected_identity` equals "true" are dropped first;
* `personnummer` (required) and `guardian_personnummer` (may be empty) are validated as
  minex does (src/ident/personnummer.rs): trimmed; exactly `YYMMDDNNNC`, `YYYYMMDDNNNC`,
  or either with `-`/`+` before the last four; Luhn over the 10-digit form; month < 20
  (organisation numbers); serial != 000; a real calendar date, or for a samordningsnummer
  (day 60-91) month 00-12; the century of 10-digit forms from the reference date 2026-01-01
  and the separator (`+` = 100 years or older). Interim numbers (a letter in the serial) are
  rejected, as minex does when `allow_interim` is unset. A row with an invalid (or missing,
  for `personnummer`) number is rejected;
* each canonical `YYYYMMDDNNNC` is tokenized as HMAC-SHA256(token key, canonical)[:16] in
  lowercase hex;
* `date_of_birth` (`YYYY-MM-DD`, validated; invalid -> row rejected) becomes the year;
* `postal_code` is validated as five digits, first not 0, with an optional space after the
  third (minex also accepts an `SE-`/`S-` prefix; the synthetic register never has one), and
  truncated to its first three digits;
* `city`, `municipality_code`, `school`, `gender` are kept (empty -> null);
* everything else is never read (every tool here projects columns at the reader, as minex
  does), and the result is written as Parquet with zstd.

The token key is derived from the minex key file exactly as minex derives it (HKDF-SHA256,
salt `minex/v1`, info `token\\0skolsystem-ab\\0person`), once, before timing matters, so
the peers' outputs can be compared with minex's cell for cell (`compare`). The brief allows
any test key; using minex's costs nothing and makes the equivalence checkable.

Every peer prints one JSON line to stdout: {"tool", "rows_out", "seconds_inproc"} where
seconds_inproc excludes interpreter start-up and imports.
"""

import hashlib
import hmac
import json
import sys
import time

T_START = time.perf_counter()

REF_YEAR = 2026  # reference_date 2026-01-01 of the policy
DOMAIN = b"skolsystem-ab"
SPACE = b"person"
PNR_RE = r"^([0-9]{2})?([0-9]{6})([-+])?([0-9]{4})$"
POSTAL_RE = r"^[1-9][0-9]{2} ?[0-9]{2}$"
KEEP = ["city", "municipality_code", "school", "gender"]
READ = [
    "personnummer",
    "guardian_personnummer",
    "postal_code",
    "city",
    "municipality_code",
    "date_of_birth",
    "gender",
    "protected_identity",
    "school",
]
OUT_ORDER = [
    "personnummer",
    "guardian_personnummer",
    "postal_code",
    "city",
    "municipality_code",
    "date_of_birth",
    "gender",
    "school",
]
# Luhn doubling of one digit: 2d, minus 9 when it has two digits.
DOUBLED = [0, 2, 4, 6, 8, 1, 3, 5, 7, 9]


def token_key(key_file):
    """minex's token key for space `person` in domain `skolsystem-ab` (README, keys)."""
    master = bytes.fromhex(open(key_file).read().strip())
    prk = hmac.new(b"minex/v1", master, hashlib.sha256).digest()
    info = b"token\0" + DOMAIN + b"\0" + SPACE
    return hmac.new(prk, info + b"\x01", hashlib.sha256).digest()


def tokenize_list(values, key):
    """Python's hmac, one C call per value (the fastest way the stdlib offers)."""
    digest = hmac.digest
    return [
        None if v is None else digest(key, v.encode(), "sha256")[:16].hex()
        for v in values
    ]


def report(tool, rows_out):
    print(
        json.dumps(
            {
                "tool": tool,
                "rows_out": int(rows_out),
                "seconds_inproc": round(time.perf_counter() - T_START, 3),
            }
        ),
        flush=True,
    )


# ---------------------------------------------------------------------------------------
# I/O floor


def run_floor(inp, out, _key_file):
    global T_START
    import pyarrow.csv as pcsv
    import pyarrow.parquet as pq

    T_START = time.perf_counter()
    table = pcsv.read_csv(inp)  # use_threads=True is the default
    pq.write_table(table, out, compression="zstd")
    report("floor", table.num_rows)


# ---------------------------------------------------------------------------------------
# pandas (pyarrow-backed strings, numpy arithmetic, Python hmac)


def run_pandas(inp, out, key_file):
    global T_START
    import numpy as np
    import pandas as pd

    key = token_key(key_file)
    T_START = time.perf_counter()
    # pandas' own fastest reader; only the columns the job needs; everything as text,
    # empty fields -> missing.
    df = pd.read_csv(inp, engine="pyarrow", usecols=READ, dtype=str)
    df = df[df["protected_identity"].str.strip() != "true"]

    doubled = np.array(DOUBLED, dtype=np.int64)
    pow10 = 10 ** np.arange(9, -1, -1, dtype=np.int64)

    def pnr(series):
        """(canonical Series with NA where invalid or missing, valid mask, missing mask)"""
        s = series.str.strip()
        missing = s.isna().to_numpy() | (s == "").fillna(False).to_numpy(dtype=bool)
        # All vectorized string kernels (pyarrow-backed `str`); str.extract would fall back
        # to one Python regex call per row.
        fmt = s.str.fullmatch(PNR_RE).fillna(False).to_numpy(dtype=bool)
        length = s.str.len().fillna(0).to_numpy().astype(np.int64)
        digits = s.str.replace("[-+]", "", regex=True).where(fmt, "0000000000")
        body = digits.str[-10:]
        n = body.astype("int64").to_numpy()
        d = (n[:, None] // pow10) % 10  # the ten digits, shape (rows, 10)
        ok = fmt.copy()
        ok &= (doubled[d[:, 0::2]].sum(1) + d[:, 1::2].sum(1)) % 10 == 0
        yy = d[:, 0] * 10 + d[:, 1]
        month = d[:, 2] * 10 + d[:, 3]
        day = d[:, 4] * 10 + d[:, 5]
        ok &= month < 20
        ok &= (d[:, 6] | d[:, 7] | d[:, 8]) != 0
        long_form = length >= 12
        cc = np.where(long_form, digits.str[:2].astype("int64").to_numpy(), -1)
        plus = s.str.contains("+", regex=False).fillna(False).to_numpy(dtype=bool)
        base = REF_YEAR - np.where(plus & ~long_form, 100, 0)
        year = np.where(cc >= 0, cc * 100 + yy, base - (base - yy) % 100)
        leap = ((year % 4 == 0) & (year % 100 != 0)) | (year % 400 == 0)
        dim = np.where(month == 2, 28 + leap, 30 + (month + (month >= 8)) % 2)
        coord = (day >= 60) & (day <= 91)
        ok &= np.where(
            coord, month <= 12, (month >= 1) & (month <= 12) & (day >= 1) & (day <= dim)
        )
        century = pd.Series(year // 100, index=s.index).astype(str).str.zfill(2)
        canon = (century + body).where(ok)
        return canon, ok, missing

    pn, pn_ok, _ = pnr(df["personnummer"])
    gd, gd_ok, gd_missing = pnr(df["guardian_personnummer"])
    dob = pd.to_datetime(df["date_of_birth"], format="%Y-%m-%d", errors="coerce")
    dob_ok = (dob.notna() | df["date_of_birth"].isna()).to_numpy()
    pc = df["postal_code"].str.strip()
    pc_ok = (pc.str.match(POSTAL_RE).fillna(False) | pc.isna()).to_numpy(dtype=bool)
    keep = pn_ok & (gd_ok | gd_missing) & dob_ok & pc_ok

    res = pd.DataFrame(
        {
            "personnummer": tokenize_list(pn[keep].tolist(), key),
            "guardian_personnummer": tokenize_list(
                [None if pd.isna(v) else v for v in gd[keep].tolist()], key
            ),
            "postal_code": pc[keep].str.replace(" ", "", regex=False).str[:3].to_numpy(),
            "city": df["city"][keep].to_numpy(),
            "municipality_code": df["municipality_code"][keep].to_numpy(),
            "date_of_birth": dob[keep].dt.year.astype("Int32").to_numpy(),
            "gender": df["gender"][keep].to_numpy(),
            "school": df["school"][keep].to_numpy(),
        }
    )
    res.to_parquet(out, compression="zstd", index=False)
    report("pandas", len(res))


# ---------------------------------------------------------------------------------------
# Polars (lazy expressions, streaming sink, per-batch Python hmac)


def run_polars(inp, out, key_file):
    global T_START
    import polars as pl

    key = token_key(key_file)
    T_START = time.perf_counter()

    # Each identity-number column goes through staged `with_columns`, so every
    # intermediate (regex groups, the 10-digit integer, the digits) is computed once.
    def stage1(c):
        g = pl.col(c).str.strip_chars().str.extract_groups(PNR_RE)
        return [g.alias(f"{c}_g")]

    def stage2(c):
        g = pl.col(f"{c}_g")
        body = pl.concat_str([g.struct.field("2"), g.struct.field("4")])
        return [
            body.alias(f"{c}_b"),
            body.str.to_integer(strict=False).alias(f"{c}_n"),
            g.struct.field("1").str.to_integer(strict=False).alias(f"{c}_cc"),
            (g.struct.field("3") == "+").fill_null(False).alias(f"{c}_plus"),
        ]

    def stage3(c):
        n = pl.col(f"{c}_n")
        return [((n // 10 ** (9 - i)) % 10).alias(f"{c}_d{i}") for i in range(10)]

    def stage4(c):
        d = [pl.col(f"{c}_d{i}") for i in range(10)]
        luhn = pl.sum_horizontal(
            [2 * d[i] - pl.when(d[i] > 4).then(9).otherwise(0) for i in range(0, 10, 2)]
            + [d[i] for i in range(1, 10, 2)]
        )
        yy = d[0] * 10 + d[1]
        month = d[2] * 10 + d[3]
        day = d[4] * 10 + d[5]
        base = REF_YEAR - pl.when(pl.col(f"{c}_plus")).then(100).otherwise(0)
        year = (
            pl.when(pl.col(f"{c}_cc").is_not_null())
            .then(pl.col(f"{c}_cc") * 100 + yy)
            .otherwise(base - (base - yy) % 100)
        )
        return [
            year.alias(f"{c}_year"),
            month.alias(f"{c}_month"),
            day.alias(f"{c}_day"),
            (
                pl.col(f"{c}_n").is_not_null()
                & (luhn % 10 == 0)
                & (month < 20)
                & ((d[6] + d[7] + d[8]) != 0)
            ).alias(f"{c}_pre"),
        ]

    def stage5(c):
        year, month, day = (pl.col(f"{c}_{x}") for x in ("year", "month", "day"))
        leap = ((year % 4 == 0) & (year % 100 != 0)) | (year % 400 == 0)
        dim = (
            pl.when(month == 2)
            .then(28 + leap.cast(pl.Int64))
            .otherwise(30 + (month + (month >= 8).cast(pl.Int64)) % 2)
        )
        date_ok = (
            pl.when((day >= 60) & (day <= 91))
            .then(month <= 12)
            .otherwise((month >= 1) & (month <= 12) & (day >= 1) & (day <= dim))
        )
        ok = (pl.col(f"{c}_pre") & date_ok).fill_null(False)
        canon = pl.concat_str([(year // 100).cast(pl.String).str.zfill(2), pl.col(f"{c}_b")])
        return [ok.alias(f"{c}_ok"), pl.when(ok).then(canon).alias(f"{c}_canon")]

    def tok(series):
        return pl.Series(tokenize_list(series.to_list(), key), dtype=pl.String)

    P, G = "personnummer", "guardian_personnummer"
    gd_raw = pl.col(G).str.strip_chars()
    pc = pl.col("postal_code").str.strip_chars()
    dob = pl.col("date_of_birth").str.strptime(pl.Date, "%Y-%m-%d", strict=False)

    lf = (
        pl.scan_csv(inp, infer_schema=False)  # every column as String, "" -> null
        .select(READ)
        .filter(pl.col("protected_identity").str.strip_chars().ne_missing("true"))
        .with_columns(stage1(P) + stage1(G))
        .with_columns(stage2(P) + stage2(G))
        .with_columns(stage3(P) + stage3(G))
        .with_columns(stage4(P) + stage4(G))
        .with_columns(
            stage5(P)
            + stage5(G)
            + [
                dob.alias("_dob"),
                (dob.is_not_null() | pl.col("date_of_birth").is_null()).alias("_dob_ok"),
                (pc.str.contains(POSTAL_RE) | pc.is_null()).fill_null(False).alias("_pc_ok"),
                (gd_raw.is_null() | (gd_raw == "")).fill_null(True).alias("_gd_missing"),
            ]
        )
        .filter(
            pl.col(f"{P}_ok")
            & (pl.col(f"{G}_ok") | pl.col("_gd_missing"))
            & pl.col("_dob_ok")
            & pl.col("_pc_ok")
        )
        .select(
            pl.col(f"{P}_canon")
            .map_batches(tok, return_dtype=pl.String, is_elementwise=True)
            .alias(P),
            pl.col(f"{G}_canon")
            .map_batches(tok, return_dtype=pl.String, is_elementwise=True)
            .alias(G),
            pc.str.replace(" ", "", literal=True).str.slice(0, 3).alias("postal_code"),
            pl.col("city"),
            pl.col("municipality_code"),
            pl.col("_dob").dt.year().alias("date_of_birth"),
            pl.col("gender"),
            pl.col("school"),
        )
    )
    lf.sink_parquet(out, compression="zstd")
    rows = pl.scan_parquet(out).select(pl.len()).collect().item()
    report("polars", rows)


# ---------------------------------------------------------------------------------------
# DuckDB (one SQL statement; exact HMAC-SHA256 built from sha256() over blobs)


def run_duckdb(inp, out, key_file):
    global T_START
    import duckdb

    key = token_key(key_file)
    T_START = time.perf_counter()
    ipad = bytes(b ^ 0x36 for b in key.ljust(64, b"\0")).hex()
    opad = bytes(b ^ 0x5C for b in key.ljust(64, b"\0")).hex()
    con = duckdb.connect()
    # HMAC(K, m) = H((K ^ opad) || H((K ^ ipad) || m)). sha256() returns hex text, so the
    # inner digest is turned back into its 32 raw bytes with unhex() before the outer hash:
    # this is exactly HMAC-SHA256 (checked against Python's hmac in `compare`).
    con.execute(
        f"""CREATE MACRO hmac16(m) AS
              substr(sha256(unhex('{opad}') || unhex(sha256(unhex('{ipad}') || m::BLOB))), 1, 32)"""
    )

    def pnr_stage1(c):
        return f"regexp_extract(trim({c}), '{PNR_RE}', ['cc', 'hd', 'sp', 'tl']) AS {c}_g"

    def pnr_stage2(c):
        return f"""{c}_g.hd || {c}_g.tl AS {c}_b,
                   TRY_CAST({c}_g.hd || {c}_g.tl AS BIGINT) AS {c}_n,
                   TRY_CAST({c}_g.cc AS INTEGER) AS {c}_cc,
                   {c}_g.sp AS {c}_sp"""

    def digit(c, i):
        return f"(({c}_n // {10 ** (9 - i)}) % 10)"

    def doubled(c, i):
        d = digit(c, i)
        return f"(2 * {d} - CASE WHEN {d} > 4 THEN 9 ELSE 0 END)"

    def pnr_stage3(c):
        luhn = " + ".join(
            [doubled(c, i) for i in range(0, 10, 2)] + [digit(c, i) for i in range(1, 10, 2)]
        )
        yy = f"({c}_n // 100000000)"
        base = f"({REF_YEAR} - CASE WHEN {c}_sp = '+' THEN 100 ELSE 0 END)"
        return f"""{c}_b, {c}_n,
                   ({luhn}) % 10 = 0 AS {c}_luhn,
                   ({c}_n // 1000000) % 100 AS {c}_month,
                   ({c}_n // 10000) % 100 AS {c}_day,
                   ({c}_n // 10) % 1000 <> 0 AS {c}_serial,
                   CASE WHEN {c}_cc IS NOT NULL THEN {c}_cc * 100 + {yy}
                        ELSE {base} - ({base} - {yy}) % 100 END AS {c}_year"""

    def pnr_stage4(c):
        m, d, y = f"{c}_month", f"{c}_day", f"{c}_year"
        leap = f"(({y} % 4 = 0 AND {y} % 100 <> 0) OR {y} % 400 = 0)"
        dim = (
            f"CASE WHEN {m} = 2 THEN 28 + CAST({leap} AS INTEGER) "
            f"ELSE 30 + ({m} + CAST({m} >= 8 AS INTEGER)) % 2 END"
        )
        date_ok = (
            f"CASE WHEN {d} BETWEEN 60 AND 91 THEN {m} <= 12 "
            f"ELSE {m} BETWEEN 1 AND 12 AND {d} BETWEEN 1 AND {dim} END"
        )
        ok = f"coalesce({c}_n IS NOT NULL AND {c}_luhn AND {m} < 20 AND {c}_serial AND ({date_ok}), false)"
        return f"""CASE WHEN {ok} THEN lpad(CAST({y} // 100 AS VARCHAR), 2, '0') || {c}_b END AS {c}_canon,
                   {ok} AS {c}_ok"""

    p, g = "personnummer", "guardian_personnummer"
    rest = "postal_code, city, municipality_code, date_of_birth, gender, school"
    sql = f"""
    COPY (
      WITH src AS (
        SELECT {", ".join(READ)}
        FROM read_csv('{inp}', header = true, all_varchar = true)
        WHERE trim(protected_identity) IS DISTINCT FROM 'true'
      ),
      s1 AS (SELECT {pnr_stage1(p)}, {pnr_stage1(g)}, trim({g}) AS g_raw, {rest} FROM src),
      s2 AS (SELECT {pnr_stage2(p)}, {pnr_stage2(g)}, g_raw, {rest} FROM s1),
      s3 AS (SELECT {pnr_stage3(p)}, {pnr_stage3(g)}, g_raw, {rest} FROM s2),
      s4 AS (
        SELECT {pnr_stage4(p)}, {pnr_stage4(g)}, g_raw,
               trim(postal_code) AS pc,
               try_strptime(date_of_birth, '%Y-%m-%d') AS dob,
               date_of_birth, city, municipality_code, gender, school
        FROM s3
      )
      SELECT hmac16({p}_canon) AS personnummer,
             hmac16({g}_canon) AS guardian_personnummer,
             substr(replace(pc, ' ', ''), 1, 3) AS postal_code,
             city, municipality_code,
             CAST(year(dob) AS INTEGER) AS date_of_birth,
             gender, school
      FROM s4
      WHERE {p}_ok
        AND ({g}_ok OR g_raw IS NULL OR g_raw = '')
        AND (dob IS NOT NULL OR date_of_birth IS NULL)
        AND (pc IS NULL OR regexp_full_match(pc, '{POSTAL_RE[1:-1]}'))
    ) TO '{out}' (FORMAT parquet, COMPRESSION zstd)
    """
    rows = con.execute(sql).fetchone()[0]
    report("duckdb", rows)


# ---------------------------------------------------------------------------------------
# checks


def rows(path):
    import pyarrow.parquet as pq

    print(pq.ParquetFile(path).metadata.num_rows)


def compare(minex_path, peer_path):
    """Cell-for-cell comparison (all columns as text); prints a JSON summary."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    a = pq.read_table(minex_path)
    b = pq.read_table(peer_path)
    result = {"rows_minex": a.num_rows, "rows_peer": b.num_rows}
    if a.num_rows != b.num_rows or a.column_names != b.column_names:
        result["identical"] = False
        result["columns_minex"] = a.column_names
        result["columns_peer"] = b.column_names
        print(json.dumps(result))
        return
    diffs = {}
    for name in a.column_names:
        x = a[name].cast(pa.string())
        y = b[name].cast(pa.string())
        same = pc.fill_null(pc.equal(x, y), False)
        both_null = pc.and_(pc.is_null(x), pc.is_null(y))
        n = a.num_rows - pc.sum(pc.or_(same, both_null).cast(pa.int64())).as_py()
        if n:
            diffs[name] = n
    result["identical"] = not diffs
    result["differing_cells"] = diffs
    print(json.dumps(result))


def main(argv):
    cmds = {
        "floor": run_floor,
        "pandas": run_pandas,
        "polars": run_polars,
        "duckdb": run_duckdb,
    }
    if len(argv) == 5 and argv[1] in cmds:
        cmds[argv[1]](argv[2], argv[3], argv[4])
    elif len(argv) == 3 and argv[1] == "rows":
        rows(argv[2])
    elif len(argv) == 4 and argv[1] == "compare":
        compare(argv[2], argv[3])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv)

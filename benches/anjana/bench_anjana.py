#!/usr/bin/env python3
"""Benchmark ANJANA's k-anonymity (PyPI `anjana`, IFCA) on a sample of the synthetic register.

Prints one JSON line. See benches/anjana/README.md for what is measured and how.

    bench_anjana.py --register /tmp/reg.csv --rows 20000 [--k 5] [--supp 5] [--star] [--no-check]

Quasi-identifiers and hierarchies (level 0 = finest, as minex's lattice level 0):
  date_of_birth  0 = "YYYY-MM", 1 = "YYYY", 2 = decade ("1980")     [3 = "*" with --star]
  postal_code    0 = first 3 digits, 1 = first 2, 2 = first 1        [3 = "*" with --star]
  gender         0 = as is (one level only: never generalized)
"""

import time

T_START = time.perf_counter()

import argparse  # noqa: E402
import contextlib  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import platform  # noqa: E402
import resource  # noqa: E402
import sys  # noqa: E402

import pandas as pd  # noqa: E402

import anjana  # noqa: E402
from anjana.anonymity import k_anonymity_inner  # noqa: E402

QI = ["date_of_birth", "postal_code", "gender"]
IDENT = ["personnummer"]
# The spellings minex's boolean parser reads as true (crates/minex-core/src/ident/mod.rs,
# TRUE_SPELLINGS); a superset of true/1/ja/yes/x. Trimmed, any letter case.
TRUE_SPELLINGS = {"true", "1", "yes", "ja", "j", "t", "y", "sant", "x"}


def load(register: str, rows: int) -> tuple[pd.DataFrame, int]:
    """The first `rows` valid rows of the register (file order), at level 0.

    Valid: date_of_birth is a real date written YYYY-MM-DD, postal_code is 5 digits once
    spaces are removed, protected_identity is not a true spelling. Returns the frame
    (personnummer, date_of_birth as YYYY-MM, postal_code as 3 digits, gender) and the
    number of input rows read to get it.
    """
    parts = []
    have = 0
    read = 0
    reader = pd.read_csv(
        register,
        dtype=str,
        keep_default_na=False,
        usecols=IDENT + ["postal_code", "date_of_birth", "gender", "protected_identity"],
        chunksize=200_000,
    )
    for chunk in reader:
        pc = chunk["postal_code"].str.replace(" ", "", regex=False)
        dob = chunk["date_of_birth"].str.strip()
        ok_dob = dob.str.fullmatch(r"\d{4}-\d{2}-\d{2}") & pd.to_datetime(
            dob, format="%Y-%m-%d", errors="coerce"
        ).notna()
        ok_pc = pc.str.fullmatch(r"\d{5}")
        protected = chunk["protected_identity"].str.strip().str.lower().isin(TRUE_SPELLINGS)
        keep = ok_dob & ok_pc & ~protected
        part = pd.DataFrame(
            {
                "personnummer": chunk["personnummer"][keep],
                "date_of_birth": dob[keep].str.slice(0, 7),
                "postal_code": pc[keep].str.slice(0, 3),
                "gender": chunk["gender"][keep].str.strip(),
            }
        )
        need = rows - have
        if len(part) >= need:
            # position within the chunk of the need-th kept row, to count rows read
            read += int(keep.to_numpy().nonzero()[0][need - 1]) + 1
            parts.append(part.iloc[:need])
            have += need
            break
        read += len(chunk)
        parts.append(part)
        have += len(part)
    data = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=IDENT + QI)
    return data, read


def date_level(v: pd.Series, level: int) -> pd.Series:
    if level == 0:
        return v
    if level == 1:
        return v.str.slice(0, 4)
    if level == 2:
        return v.str.slice(0, 3) + "0"
    return pd.Series("*", index=v.index)


def postal_level(v: pd.Series, level: int) -> pd.Series:
    if level <= 2:
        return v.str.slice(0, 3 - level)
    return pd.Series("*", index=v.index)


def hierarchies_for(data: pd.DataFrame, star: bool) -> dict:
    """ANJANA hierarchies: per QI a dict level -> values, aligned by position (entry i of
    level j+1 is the generalization of entry i of level j). One entry per distinct level-0
    value in the data, as in ANJANA's own examples (CSV hierarchy files)."""
    months = pd.Series(sorted(data["date_of_birth"].unique()), dtype=object)
    postals = pd.Series(sorted(data["postal_code"].unique()), dtype=object)
    genders = pd.Series(sorted(data["gender"].unique()), dtype=object)
    top = 4 if star else 3
    return {
        "date_of_birth": {lv: date_level(months, lv).to_numpy() for lv in range(top)},
        "postal_code": {lv: postal_level(postals, lv).to_numpy() for lv in range(top)},
        # one level: ANJANA's apply_hierarchy raises ValueError past it and drops the QI
        # from the candidates, so gender is never generalized
        "gender": {0: genders.to_numpy()},
    }


def generalize(data: pd.DataFrame, levels: dict) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "date_of_birth": date_level(data["date_of_birth"], levels["date_of_birth"]),
            "postal_code": postal_level(data["postal_code"], levels["postal_code"]),
            "gender": data["gender"],
        }
    )


def small_class_rows(g: pd.DataFrame, k: int) -> int:
    """Rows in equivalence classes (over QI) smaller than k."""
    sizes = g.groupby(QI, sort=False).size()
    return int(sizes[sizes < k].sum())


def cpu_model() -> str | None:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or None


def main() -> None:
    load_start = os.getloadavg()[0]
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--register", required=True)
    ap.add_argument("--rows", type=int, required=True, help="first N valid rows (file order)")
    ap.add_argument("--k", type=int, default=5)
    ap.add_argument(
        "--supp",
        type=float,
        default=5.0,
        help="max suppression in PERCENT (ANJANA's supp_level is 0..100), default 5",
    )
    ap.add_argument("--star", action="store_true", help='add a final "*" level to date and postal code')
    ap.add_argument("--no-check", action="store_true", help="skip the independent checks and the lattice scan")
    a = ap.parse_args()

    t0 = time.perf_counter()
    data, read = load(a.register, a.rows)
    t_load = time.perf_counter() - t0
    n = len(data)
    hier = hierarchies_for(data, a.star)

    t0 = time.perf_counter()
    # ANJANA prints progress to stdout; keep stdout for the JSON line
    with contextlib.redirect_stdout(sys.stderr):
        out, supp_records, gen_level = k_anonymity_inner(data, IDENT, QI, a.k, a.supp, hier)
    t_anon = time.perf_counter() - t0
    t_total = time.perf_counter() - T_START
    maxrss_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    ok = len(out) > 0
    levels = {qi: int(gen_level.get(qi, 0)) for qi in QI}
    res = {
        "tool": "anjana",
        "anjana": anjana.__version__ if hasattr(anjana, "__version__") else None,
        "python": platform.python_version(),
        "rows": n,
        "rows_read": read,
        "k": a.k,
        "supp_percent": a.supp,
        "star_level": a.star,
        "seconds": round(t_anon, 3),
        "seconds_load": round(t_load, 3),
        "seconds_total": round(t_total, 3),
        "ok": ok,
        "suppressed": int(supp_records) if ok else None,
        "suppressed_percent": round(100 * supp_records / n, 3) if ok and n else None,
        "levels": levels,
        "height": sum(levels.values()),
        "peak_rss_mib": round(maxrss_mib, 1),
        "cpu": cpu_model(),
        "nproc": os.cpu_count(),
        "loadavg1_start": round(load_start, 2),
        "loadavg1_end": round(os.getloadavg()[0], 2),
    }

    if not a.no_check and ok:
        # ANJANA's output: rows left, and its k over the QI (min class size)
        sizes = out.groupby(QI, sort=False).size()
        res["out_rows"] = len(out)
        res["out_min_class"] = int(sizes.min())
        # independent: generalize the input to the chosen levels, suppress classes < k
        # (levels of 3 are the "*" level of --star)
        g = generalize(data, levels)
        small = small_class_rows(g, a.k)
        res["check_suppressed"] = small
        res["check_ok"] = bool(
            len(out) == n - small and int(sizes.min()) >= a.k and 100 * small / n <= a.supp
        )
    if not a.no_check:
        # the whole lattice (date x postal, 3 x 3 nodes, 4 x 4 with --star; gender fixed):
        # which nodes meet k with at most supp % suppressed, and the lowest height among them
        nodes = []
        top = 4 if a.star else 3
        for d in range(top):
            for p in range(top):
                lv = {"date_of_birth": d, "postal_code": p, "gender": 0}
                s = small_class_rows(generalize(data, lv), a.k)
                nodes.append({"levels": [d, p, 0], "suppressed": s, "feasible": 100 * s / n <= a.supp})
        feas = [x for x in nodes if x["feasible"]]
        if feas:
            hmin = min(sum(x["levels"]) for x in feas)
            res["lattice_min_height"] = hmin
            res["lattice_min_nodes"] = [
                {"levels": x["levels"], "suppressed": x["suppressed"]}
                for x in feas
                if sum(x["levels"]) == hmin
            ]
        else:
            res["lattice_min_height"] = None
        res["lattice"] = [[*x["levels"], x["suppressed"]] for x in nodes]

    print(json.dumps(res), flush=True)


if __name__ == "__main__":
    main()

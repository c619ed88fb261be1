#!/usr/bin/env python3
"""Prints the table of benches/e2e/run.sh from its results file (stdlib only).

    report.py RESULTS.tsv COMPARE.jsonl --rows N --runs R [--load-before ..] [--load-after ..]

RESULTS.tsv lines: tool run rows_in wall_s peak_rss_kib rows_out seconds_inproc cpu_s.
Exit status 1 when a row check fails.
"""

import argparse
import json
import statistics
import sys

ORDER = ["minex", "floor", "pandas", "polars", "duckdb"]
LABEL = {
    "minex": "minex",
    "floor": "pyarrow floor (read+write, no transform)",
    "pandas": "pandas + hmac",
    "polars": "Polars + map_batches hmac",
    "duckdb": "DuckDB SQL, HMAC from sha256()",
    "minex-big": "minex at 10x rows",
}
# Peers may validate slightly differently from minex; allow this share of rows to differ.
TOLERANCE = 0.001


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("results")
    ap.add_argument("compare")
    ap.add_argument("--rows", type=int, required=True)
    ap.add_argument("--runs", type=int, required=True)
    ap.add_argument("--load-before", default="?")
    ap.add_argument("--load-after", default="?")
    ap.add_argument("--versions", default="")
    a = ap.parse_args()

    runs = {}
    for line in open(a.results):
        tool, run, rows_in, wall, rss, rows_out, inproc, cpu = line.rstrip("\n").split("\t")
        runs.setdefault(tool, []).append(
            {
                "rows_in": int(rows_in),
                "wall": float(wall),
                "rss_mib": int(rss) / 1024,
                "rows_out": int(rows_out),
                "inproc": float(inproc),
                "cpu": float(cpu),
            }
        )
    compares = {}
    for line in open(a.compare):
        if line.strip():
            c = json.loads(line)
            compares[c["tool"]] = c["result"]

    def med(tool, key):
        return statistics.median(r[key] for r in runs[tool])

    m_wall, m_rss = med("minex", "wall"), med("minex", "rss_mib")
    m_rows_out = runs["minex"][-1]["rows_out"]
    ok = True

    print()
    print(
        f"minex end-to-end benchmark: school-supplier policy, {a.rows:,} rows, "
        f"{a.runs} runs each (interleaved), medians"
    )
    if a.versions:
        print(a.versions)
    print(f"load average (1/5/15 min) before: {a.load_before}   after: {a.load_after}")
    print()
    head = (
        f"| {'tool':<40} | {'wall s':>7} | {'× minex':>7} | {'peak RSS MiB':>12} | "
        f"{'× minex':>7} | {'rows/s':>11} | {'× minex':>7} | {'rows out':>10} | {'CPU s':>6} | check |"
    )
    print(head)
    print("|" + "|".join("-" * (len(c)) for c in head.split("|")[1:-1]) + "|")
    for tool in ORDER + ["minex-big"]:
        if tool not in runs:
            continue
        wall, rss = med(tool, "wall"), med(tool, "rss_mib")
        rows_in = runs[tool][0]["rows_in"]
        rps = rows_in / wall
        m_rps = a.rows / m_wall
        outs = {r["rows_out"] for r in runs[tool]}
        rows_out = runs[tool][-1]["rows_out"]
        if len(outs) != 1:
            check, ok = "FAIL (varies)", False
        elif tool == "minex":
            check = "ok"
        elif tool == "minex-big":
            check = "ok"
        elif tool == "floor":
            check = "ok" if rows_out == a.rows else "FAIL"
        else:
            diff = abs(rows_out - m_rows_out)
            check = "ok" if diff <= TOLERANCE * m_rows_out else "FAIL"
            c = compares.get(tool)
            if c is not None:
                check += ", =minex" if c.get("identical") else ", ≠minex"
        if check.startswith("FAIL"):
            ok = False
        print(
            f"| {LABEL[tool]:<40} | {wall:>7.2f} | {wall / m_wall:>7.2f} | {rss:>12.0f} | "
            f"{rss / m_rss:>7.2f} | {rps:>11,.0f} | {rps / m_rps:>7.2f} | {rows_out:>10,} | {med(tool, 'cpu'):>6.2f} | {check} |"
        )
    print()
    print("wall s: median wall-clock seconds of the whole process (start-up and imports")
    print("included); peak RSS: median over runs of the process's maximum resident set;")
    print("rows/s: rows read (input rows) / median wall s. check: rows out as expected")
    print(f"(floor = input rows; peers within {TOLERANCE:.1%} of minex's manifest rows.out);")
    print("=minex: the last run's output is cell-for-cell identical to minex's. CPU s: median")
    print("user + system seconds of the process (less sensitive to other load than wall s).")
    print()
    print("every run (wall s / peak RSS MiB / in-process s / CPU s; in-process = without")
    print("interpreter start-up and imports for the Python tools, the manifest's `seconds` for minex):")
    for tool in ORDER + ["minex-big"]:
        if tool in runs:
            cells = ", ".join(
                f"{r['wall']:.2f}/{r['rss_mib']:.0f}/{r['inproc']:.2f}/{r['cpu']:.2f}" for r in runs[tool]
            )
            print(f"  {tool:<10} {cells}")
    for tool, c in compares.items():
        if not c.get("identical"):
            print(f"  {tool} differs from minex: {json.dumps(c)}")
    print(
        f"  minex rows: in {a.rows:,}, out {m_rows_out:,}; "
        + ", ".join(f"{t} out {runs[t][-1]['rows_out']:,}" for t in ORDER[2:] if t in runs)
    )

    print()
    print("targets of issue 5:")
    floor = med("floor", "wall")
    peers = {t: med(t, "wall") for t in ("pandas", "polars", "duckdb") if t in runs}
    fastest = min(peers, key=peers.get)

    def target(text, holds, detail):
        print(f"  [{'holds' if holds else 'NOT MET'}] {text}: {detail}")

    target(
        "wall ≤ 0.35 × pyarrow floor",
        m_wall <= 0.35 * floor,
        f"minex {m_wall:.2f} s = {m_wall / floor:.2f} × floor {floor:.2f} s "
        f"(target ≤ {0.35 * floor:.2f} s)",
    )
    target(
        "≥ 4 × faster than the fastest peer",
        peers[fastest] >= 4 * m_wall,
        f"fastest peer {fastest} {peers[fastest]:.2f} s = {peers[fastest] / m_wall:.2f} × minex "
        f"(target minex ≤ {peers[fastest] / 4:.2f} s)",
    )
    target("peak RSS ≤ 256 MiB", m_rss <= 256, f"{m_rss:.0f} MiB")
    if "minex-big" in runs:
        b_wall, b_rss = med("minex-big", "wall"), med("minex-big", "rss_mib")
        factor = runs["minex-big"][0]["rows_in"] / a.rows
        target(
            f"{factor:g} × rows in ≤ {1.1 * factor:g} × time",
            b_wall <= 1.1 * factor * m_wall,
            f"{b_wall:.2f} s = {b_wall / m_wall:.2f} × {m_wall:.2f} s",
        )
        target(
            f"RSS at {factor:g} × rows within 20%",
            abs(b_rss - m_rss) <= 0.2 * m_rss,
            f"{b_rss:.0f} MiB = {b_rss / m_rss:.2f} × {m_rss:.0f} MiB",
        )
    else:
        print("  [not run] linearity and memory at 10 × rows: set ROWS_BIG=1")
    if not ok:
        print("\nrow check FAILED", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()

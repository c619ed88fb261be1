#!/usr/bin/env python3
"""minex's search on the same rows ANJANA was given (benches/anjana/bench_anjana.py).

For each JSON line of an ANJANA results file, writes the same first N valid rows of the
register (valid as bench_anjana.py defines it: a real YYYY-MM-DD date of birth, a 5-digit
postal code, not a protected identity) to a CSV with every column, runs `minex run` with
benches/search/ladders.yaml with the personnummer dropped instead of tokenized (ANJANA does
not validate identity numbers, so minex must not reject rows ANJANA keeps), and prints a
Markdown table: ANJANA's time, suppression, levels and height next to minex's (wall time of
the whole `minex run`, CSV parse and Parquet write included, and its peak RSS).

    python3 benches/anjana/compare_minex.py RESULTS.jsonl REGISTER [MINEX_BINARY]
"""

import csv
import datetime
import json
import os
import subprocess
import sys
import tempfile

TRUE = {"true", "1", "yes", "ja", "j", "t", "y", "sant", "x"}
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def valid(row, idx):
    dob = row[idx["date_of_birth"]].strip()
    try:
        if len(dob) != 10 or dob[4] != "-" or dob[7] != "-":
            return False
        datetime.date.fromisoformat(dob)
    except ValueError:
        return False
    pc = row[idx["postal_code"]].replace(" ", "")
    if not (len(pc) == 5 and pc.isdigit()):
        return False
    return row[idx["protected_identity"]].strip().lower() not in TRUE


def sample(register, n, out):
    with open(register, newline="") as f, open(out, "w", newline="") as o:
        r = csv.reader(f)
        w = csv.writer(o)
        header = next(r)
        idx = {h: i for i, h in enumerate(header)}
        w.writerow(header)
        have = 0
        for row in r:
            if valid(row, idx):
                w.writerow(row)
                have += 1
                if have == n:
                    break
    return have


def main():
    results, register = sys.argv[1], sys.argv[2]
    minex = sys.argv[3] if len(sys.argv) > 3 else os.path.join(ROOT, "target/release/minex")
    policy_text = open(os.path.join(ROOT, "benches/search/ladders.yaml")).read().replace(
        "personnummer: { type: personnummer, action: tokenize, space: person }",
        "personnummer: drop",
    )
    print("| rows | ANJANA s | ANJANA suppressed | ANJANA levels (height) | lowest height within 5 % | "
          "minex s | minex suppressed | minex levels (height) | minex peak RSS MiB |")
    print("|---:|---:|---:|---|---|---:|---:|---|---:|")
    with tempfile.TemporaryDirectory() as tmp:
        policy = os.path.join(tmp, "policy.yaml")
        open(policy, "w").write(policy_text)
        key = os.path.join(tmp, "k.key")
        with open(key, "w") as k:
            k.write("07" * 32)  # a TEST key: nothing is tokenized
        os.chmod(key, 0o600)
        for line in open(results):
            a = json.loads(line)
            n = a["rows"]
            inp = os.path.join(tmp, "sample.csv")
            assert sample(register, n, inp) == n
            out = os.path.join(tmp, "out", "x.parquet")
            t = os.path.join(tmp, "time")
            p = subprocess.run(
                ["/usr/bin/time", "-f", "%e %M", "-o", t, minex, "run", "--policy", policy,
                 "--input", inp, "--out", out, "--key-file", key, "--quiet"],
                capture_output=True, text=True,
            )
            wall, rss = open(t).read().split()[-2:]
            lv = lambda d: "[" + ",".join(str(d[q]) for q in ("date_of_birth", "postal_code", "gender")) + "]"
            anj = (f"{a['seconds']:.2f} | {a['suppressed'] if a['ok'] else 'failed'} | "
                   f"{lv(a['levels'])} ({a['height']}){'' if a['ok'] else ', gave up'}")
            lowest = a.get("lattice_min_nodes")
            low = ("none" if a.get("lattice_min_height") is None else
                   f"{a['lattice_min_height']}: " + ", ".join(
                       f"{x['levels']} {x['suppressed']}" for x in lowest or []))
            if p.returncode == 0:
                m = json.load(open(os.path.join(tmp, "out", "x.manifest.json")))["k_anonymity"]
                s = m["search"]
                mx = f"{float(wall):.2f} | {m['suppressed']} | {s['levels']} ({s['height']})"
            else:
                mx = f"{float(wall):.2f} | exit {p.returncode} (no node within 5 %) | –"
            print(f"| {n:,} | {anj} | {low} | {mx} | {int(rss) / 1024:.0f} |")


if __name__ == "__main__":
    main()

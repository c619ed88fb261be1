#!/usr/bin/env bash
# What the search over the ladders costs (issue 13): `minex run` with
# benches/search/ladders.yaml (date_of_birth [month, year, decade], postal_code
# [3, 2, 1], gender, k = 5, max_suppression 0.05) against two two-pass
# k-anonymity runs without ladders: `fixed`, the same policy written at the single
# levels the search chose (what a steward who guessed right runs), and `finest`,
# written at the finest levels (month, 3 digits) without max_suppression, which
# counts the same classes the search counts but suppresses far more rows.
# Runs interleaved (L, F, f, L, F, f, ...), medians of wall, CPU and peak RSS from
# GNU time.
#
#   benches/search/run.sh RUNS [BINARY]     (default BINARY: target/release/minex)
#
# Environment: REGISTER=FILE (default /tmp/minex-e2e/register-1500000.csv, as
# benches/e2e/run.sh makes it), KEY=FILE (default /tmp/minex-e2e/bench.key).
set -euo pipefail
cd "$(dirname "$0")/../.."
RUNS="${1:?usage: benches/search/run.sh RUNS [BINARY]}"
BIN="${2:-target/release/minex}"
REGISTER="${REGISTER:-/tmp/minex-e2e/register-1500000.csv}"
KEY="${KEY:-/tmp/minex-e2e/bench.key}"
for f in "$REGISTER" "$KEY" "$BIN" /usr/bin/time; do
  [[ -e $f ]] || { echo "benches/search/run.sh: $f is missing" >&2; exit 2; }
done
OUT="$(mktemp -d)"
trap 'rm -rf "$OUT"' EXIT
LADDERS=benches/search/ladders.yaml
cat "$REGISTER" >/dev/null # from the page cache for every run
# One run to learn the levels the search chooses, then the fixed policy at those levels.
"$BIN" run --policy "$LADDERS" --input "$REGISTER" --out "$OUT/x.parquet" --key-file "$KEY" --quiet
python3 - "$OUT/x.manifest.json" "$LADDERS" "$OUT/fixed.yaml" <<'PY'
import json, sys
m = json.load(open(sys.argv[1]))["k_anonymity"]
s = m["search"]
print(f"search: chose {s['chosen']} (height {s['height']}), {s['nodes_passing']} of {s['nodes']} "
      f"nodes pass, {s['nodes_evaluated']} evaluated; {m['suppressed']} rows suppressed "
      f"(budget {s['budget']}), {m['classes']} classes written")
text = open(sys.argv[2]).read()
dob, postal = s["chosen"]["date_of_birth"], s["chosen"]["postal_code"]
text = text.replace("to: [month, year, decade]", f"to: {dob}").replace("keep: [3, 2, 1]", f"keep: {postal}")
text = text.replace("name: bench-ladders", "name: bench-fixed")
assert "[" not in text.split("columns:")[1].split("k_anonymity:")[0]
open(sys.argv[3], "w").write(text)
finest = open(sys.argv[2]).read()
finest = finest.replace("to: [month, year, decade]", "to: month").replace("keep: [3, 2, 1]", "keep: 3")
finest = finest.replace("  max_suppression: 0.05\n", "").replace("name: bench-ladders", "name: bench-finest")
open(sys.argv[3].replace("fixed", "finest"), "w").write(finest)
PY
for _ in $(seq "$RUNS"); do
  for p in ladders fixed finest; do
    policy="$LADDERS"
    [[ $p != ladders ]] && policy="$OUT/$p.yaml"
    /usr/bin/time -f '%e %U %S %M' -a -o "$OUT/time.$p" \
      "$BIN" run --policy "$policy" --input "$REGISTER" --out "$OUT/$p.parquet" \
      --key-file "$KEY" --quiet >/dev/null
  done
done
for p in ladders fixed finest; do
  python3 benches/time_summary.py "$OUT/time.$p" "$(printf %8s "$p")"
done
grep -m1 "model name" /proc/cpuinfo | sed 's/.*: /cpu: /'

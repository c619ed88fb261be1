#!/usr/bin/env bash
# Shows that the k-anonymity gate's memory follows the number of classes, not the number of
# rows (issue 4). Run from anywhere; paths are resolved from the repository root.
#
#   benches/gate_memory.sh [SMALL] [LARGE]      # defaults: 200000 and 2000000 rows
#
# Environment:
#   WORK=DIR            scratch directory (default /tmp/minex-gate-memory): registers, key,
#                       extracts, manifests
#   CARGO_TARGET_DIR    where the release binaries are built (default ROOT/target)
#   NO_BUILD=1          use the binaries already built
#   THREADS=N           worker threads of every run (default 2)
#
# What it does: builds `minex` and the `generate_register` example (release), generates two
# synthetic registers (seed 42) of SMALL and LARGE rows, and runs on each, under
# `/usr/bin/time -f '%M'`:
#   * `minex run --policy schemas/research.yaml` (k-anonymity over the age band, postal
#     region, sex and municipality, k = 5: two passes over the input, a map of classes);
#   * the same policy without its `k_anonymity` section (one pass, no gate), as a baseline.
# It prints the rows, the classes from each manifest, both peak RSS figures and their
# difference (what the gate costs). Rows grow 10x; the classes, and the gate's cost, barely
# move. The baseline (the run without a gate) is itself flat: the reader, the workers and
# the Parquet writer (one row group of 128 Ki rows at a time) hold a fixed amount whatever
# the input size.
set -euo pipefail

SMALL="${1:-200000}"
LARGE="${2:-2000000}"
cd "$(dirname "$0")/.."
ROOT="$PWD"
WORK="${WORK:-/tmp/minex-gate-memory}"
TARGET="${CARGO_TARGET_DIR:-$ROOT/target}"
TIME=/usr/bin/time
THREADS="${THREADS:-2}"

log() { printf '%s\n' "$*" >&2; }

if [[ ! -x $TIME ]]; then
  log "gate_memory.sh: needs GNU time at /usr/bin/time (apt-get install time)"
  exit 2
fi
if [[ -z ${NO_BUILD:-} ]]; then
  log "== building minex and generate_register (release, $TARGET)"
  cargo build --release --example generate_register --bin minex >&2
fi
MINEX="$TARGET/release/minex"
GEN="$TARGET/release/examples/generate_register"
mkdir -p "$WORK"

KEY="$WORK/bench.key"
[[ -s $KEY ]] || "$MINEX" keygen --out "$KEY" 2>/dev/null

# field MANIFEST a.b.c: one value of a manifest, by a dotted path.
field() {
  python3 -c 'import json, sys
m = json.load(open(sys.argv[1]))
for p in sys.argv[2].split("."):
    m = m[p]
print(m)' "$1" "$2"
}

# The research policy without its `k_anonymity` section (the section is last in the file).
NOK="$WORK/research-no-k.yaml"
python3 -c 'import sys
text = open(sys.argv[1]).read()
open(sys.argv[2], "w").write(text[: text.index("\nk_anonymity:")] + "\n")' \
  "$ROOT/schemas/research.yaml" "$NOK"

# peak_rss POLICY INPUT OUT: runs minex and prints its peak RSS in KiB.
peak_rss() {
  "$TIME" -f '%M' "$MINEX" run --quiet --threads "$THREADS" \
    --policy "$1" --input "$2" --out "$3" --key-file "$KEY" 2>&1 >/dev/null | tail -n 1
}
mib() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }

declare -A RSS_K RSS_NOK
for ROWS in "$SMALL" "$LARGE"; do
  IN="$WORK/register-$ROWS.csv"
  if [[ ! -s $IN || ! -s $IN.rows || $(cat "$IN.rows") != "$ROWS" ]]; then
    log "== generating $IN ($ROWS rows, seed 42)"
    "$GEN" --rows "$ROWS" --seed 42 --out "$IN" 2>/dev/null
    echo "$ROWS" >"$IN.rows"
  fi
  log "== $ROWS rows: minex run with schemas/research.yaml, then without k_anonymity"
  RSS_K[$ROWS]=$(peak_rss "$ROOT/schemas/research.yaml" "$IN" "$WORK/research-$ROWS.parquet")
  RSS_NOK[$ROWS]=$(peak_rss "$NOK" "$IN" "$WORK/research-no-k-$ROWS.parquet")
done

printf '%-10s %10s %10s %10s %4s %12s %14s %10s\n' \
  rows rows_out suppressed classes k rss_k_MiB rss_no_k_MiB gate_MiB
for ROWS in "$SMALL" "$LARGE"; do
  M="$WORK/research-$ROWS.manifest.json"
  printf '%-10s %10s %10s %10s %4s %12s %14s %10s\n' "$ROWS" \
    "$(field "$M" rows.out)" "$(field "$M" rows.suppressed)" \
    "$(field "$M" k_anonymity.classes_before)" "$(field "$M" k_anonymity.k)" \
    "$(mib "${RSS_K[$ROWS]}")" "$(mib "${RSS_NOK[$ROWS]}")" \
    "$(mib $((RSS_K[$ROWS] - RSS_NOK[$ROWS])))"
done
log "classes: before suppression (the entries of the gate's map); rss_k: peak RSS with the"
log "gate (two passes); rss_no_k: without k_anonymity (one pass); gate: the difference."

#!/usr/bin/env bash
# A/B timing of minex binaries on the end-to-end register: the runs of the binaries are
# interleaved (A, B, A, B, ...) so that a change in the machine's load hits both alike, and
# medians are printed. This is how each change listed in BENCHMARKS.md was measured before
# it was kept: differences of a few per cent are below the noise of single runs here.
#
#   benches/ab.sh RUNS BINARY [BINARY ...] [-- EXTRA minex run ARGS]
#
#   e.g. cargo build --release && cp target/release/minex /tmp/minex-before
#        (make the change) cargo build --release && cp target/release/minex /tmp/minex-after
#        benches/ab.sh 15 /tmp/minex-before /tmp/minex-after
#
# Environment:
#   REGISTER=FILE   input (default /tmp/minex-e2e/register-1500000.csv, as benches/e2e/run.sh
#                   makes it); KEY=FILE key (default /tmp/minex-e2e/bench.key);
#   POLICY=FILE     policy (default schemas/school-supplier.yaml).
# Prints, per binary: median and minimum wall seconds, median CPU seconds (user + system)
# and median and maximum peak RSS, all from GNU time (/usr/bin/time).
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS="${1:?usage: benches/ab.sh RUNS BINARY [BINARY ...] [-- ARGS]}"
shift
BINS=()
while [[ $# -gt 0 && $1 != -- ]]; do
  BINS+=("$1")
  shift
done
[[ ${1:-} == -- ]] && shift
REGISTER="${REGISTER:-/tmp/minex-e2e/register-1500000.csv}"
KEY="${KEY:-/tmp/minex-e2e/bench.key}"
POLICY="${POLICY:-schemas/school-supplier.yaml}"
for f in "$REGISTER" "$KEY" /usr/bin/time; do
  [[ -e $f ]] || { echo "benches/ab.sh: $f is missing (benches/e2e/run.sh makes the register and key)" >&2; exit 2; }
done
OUT="$(mktemp -d)"
trap 'rm -rf "$OUT"' EXIT
cat "$REGISTER" >/dev/null # from the page cache for every run
for _ in $(seq "$RUNS"); do
  for i in "${!BINS[@]}"; do
    /usr/bin/time -f '%e %U %S %M' -a -o "$OUT/time.$i" \
      "${BINS[$i]}" run --policy "$POLICY" --input "$REGISTER" --out "$OUT/x.parquet" \
      --key-file "$KEY" --quiet "$@" >/dev/null
  done
done
for i in "${!BINS[@]}"; do
  python3 benches/time_summary.py "$OUT/time.$i" "${BINS[$i]}"
done

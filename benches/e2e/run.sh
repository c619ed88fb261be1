#!/usr/bin/env bash
# End-to-end benchmark of minex against the I/O floor and the tools a steward would
# otherwise use (issue 5). Run from anywhere; paths are resolved from the repository root.
#
#   benches/e2e/run.sh [ROWS] [RUNS]          # defaults: 1500000 rows, 3 runs
#
# Environment:
#   WORK=DIR        scratch directory (default /tmp/minex-e2e): register, key, outputs, logs
#   ROWS_BIG=N      also run minex alone on a bigger register: N rows, or 10 x ROWS when
#                   N is not a number larger than ROWS (e.g. ROWS_BIG=1); for the
#                   linearity and memory targets
#   E2E_VENV=DIR    the Python virtual environment (default benches/e2e/.venv)
#   PYTHON=python3  the interpreter that creates the venv
#
# What it does: builds minex (release), generates the synthetic register with seed 42,
# installs pyarrow, pandas, polars and duckdb into the venv (only when missing), then runs
# each tool RUNS times, interleaved (minex, floor, pandas, polars, duckdb, minex, ...), on
# the same file, measuring wall seconds, peak RSS and CPU seconds with /usr/bin/time. It checks
# every output's row count, compares each peer's output with minex's cell for cell, and
# prints one table of medians. See benches/e2e/README.md.
set -euo pipefail

ROWS="${1:-1500000}"
RUNS="${2:-3}"
cd "$(dirname "$0")/../.."
ROOT="$PWD"
HERE="$ROOT/benches/e2e"
WORK="${WORK:-/tmp/minex-e2e}"
VENV="${E2E_VENV:-$HERE/.venv}"
PY="$VENV/bin/python"
TIME=/usr/bin/time

if [[ ! -x $TIME ]]; then
  echo "run.sh: needs GNU time at /usr/bin/time (apt-get install time)" >&2
  exit 2
fi

mkdir -p "$WORK/out"
RESULTS="$WORK/results.tsv"
: >"$RESULTS"

log() { printf '%s\n' "$*" >&2; }

# ---- build -------------------------------------------------------------------------------
log "== building minex (release)"
cargo build --release --example generate_register --bin minex >&2
MINEX="$ROOT/target/release/minex"
GEN="$ROOT/target/release/examples/generate_register"

# ---- python environment ------------------------------------------------------------------
if ! "$PY" -c 'import pyarrow, pandas, polars, duckdb' >/dev/null 2>&1; then
  log "== installing pyarrow pandas polars duckdb into $VENV"
  "${PYTHON:-python3}" -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check pyarrow pandas polars duckdb >&2
fi

# ---- inputs ------------------------------------------------------------------------------
generate() { # rows path
  if [[ -s $2 && -s $2.rows && $(cat "$2.rows") == "$1" ]]; then
    log "== reusing $2 ($1 rows, seed 42)"
  else
    log "== generating $2 ($1 rows, seed 42)"
    "$GEN" --rows "$1" --seed 42 --out "$2" >&2
    echo "$1" >"$2.rows"
  fi
}
REGISTER="$WORK/register-$ROWS.csv"
generate "$ROWS" "$REGISTER"
KEY="$WORK/bench.key"
[[ -s $KEY ]] || "$MINEX" keygen --out "$KEY" >/dev/null 2>&1

# ---- measuring ---------------------------------------------------------------------------
# measure TOOL RUN ROWS_IN OUT -- COMMAND...: one timed run; appends a line to $RESULTS:
# tool run rows_in wall_s peak_rss_kib rows_out seconds_inproc cpu_s (user + system)
measure() {
  local tool=$1 run=$2 rows_in=$3 out=$4
  shift 5
  local tf="$WORK/time.$tool.$run" so="$WORK/stdout.$tool.$run" se="$WORK/stderr.$tool.$run"
  rm -f "$out"
  if ! "$TIME" -f '%e %M %U %S' -o "$tf" "$@" >"$so" 2>"$se"; then
    log "run.sh: $tool (run $run) failed; see $se"
    cat "$se" >&2
    exit 1
  fi
  local wall rss user sys rows_out inproc
  read -r wall rss user sys <"$tf"
  if [[ $tool == minex* ]]; then
    local manifest="${out%.parquet}.manifest.json"
    rows_out=$("$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["rows"]["out"])' "$manifest")
    inproc=$("$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["seconds"])' "$manifest")
  else
    rows_out=$("$PY" -c 'import json,sys; print(json.loads(open(sys.argv[1]).read().strip().splitlines()[-1])["rows_out"])' "$so")
    inproc=$("$PY" -c 'import json,sys; print(json.loads(open(sys.argv[1]).read().strip().splitlines()[-1])["seconds_inproc"])' "$so")
  fi
  # The row count actually in the file, whatever the tool says.
  local in_file
  in_file=$("$PY" "$HERE/peers.py" rows "$out")
  if [[ $in_file != "$rows_out" ]]; then
    log "run.sh: $tool wrote $in_file rows but reported $rows_out"
    exit 1
  fi
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$tool" "$run" "$rows_in" "$wall" "$rss" "$rows_out" "$inproc" \
    "$(awk -v u="$user" -v s="$sys" 'BEGIN { printf "%.2f", u + s }')" >>"$RESULTS"
  log "   $tool run $run: ${wall}s, $((rss / 1024)) MiB, $rows_out rows out"
}

LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
log "== load average before: $LOAD_BEFORE"
cat "$REGISTER" >/dev/null # every tool reads the file from the page cache, the first too

OUT="$WORK/out"
for run in $(seq 1 "$RUNS"); do
  log "== run $run of $RUNS"
  measure minex "$run" "$ROWS" "$OUT/minex.parquet" -- \
    "$MINEX" run --policy schemas/school-supplier.yaml --input "$REGISTER" \
    --out "$OUT/minex.parquet" --key-file "$KEY" --quiet
  for tool in floor pandas polars duckdb; do
    measure "$tool" "$run" "$ROWS" "$OUT/$tool.parquet" -- \
      "$PY" "$HERE/peers.py" "$tool" "$REGISTER" "$OUT/$tool.parquet" "$KEY"
  done
done

# Cell-for-cell comparison of the last run's outputs (the peers derive minex's token key,
# so identical tokens are expected).
: >"$WORK/compare.jsonl"
for tool in pandas polars duckdb; do
  printf '{"tool": "%s", "result": %s}\n' "$tool" \
    "$("$PY" "$HERE/peers.py" compare "$OUT/minex.parquet" "$OUT/$tool.parquet")" >>"$WORK/compare.jsonl"
done

# ---- optional: minex at 10x --------------------------------------------------------------
if [[ -n ${ROWS_BIG:-} ]]; then
  if [[ $ROWS_BIG =~ ^[0-9]+$ ]] && ((ROWS_BIG > ROWS)); then BIG=$ROWS_BIG; else BIG=$((ROWS * 10)); fi
  BIGREG="$WORK/register-$BIG.csv"
  generate "$BIG" "$BIGREG"
  cat "$BIGREG" >/dev/null
  for run in $(seq 1 "$RUNS"); do
    log "== minex at $BIG rows, run $run of $RUNS"
    measure minex-big "$run" "$BIG" "$OUT/minex-big.parquet" -- \
      "$MINEX" run --policy schemas/school-supplier.yaml --input "$BIGREG" \
      --out "$OUT/minex-big.parquet" --key-file "$KEY" --quiet
  done
fi

LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)
log "== load average after: $LOAD_AFTER"

"$PY" "$HERE/report.py" "$RESULTS" "$WORK/compare.jsonl" \
  --rows "$ROWS" --runs "$RUNS" --load-before "$LOAD_BEFORE" --load-after "$LOAD_AFTER" \
  --versions "$("$MINEX" --version 2>/dev/null || echo minex) | $("$PY" -c 'import pyarrow, pandas, polars, duckdb, sys; print(f"python {sys.version.split()[0]}, pyarrow {pyarrow.__version__}, pandas {pandas.__version__}, polars {polars.__version__}, duckdb {duckdb.__version__}")')"

#!/usr/bin/env bash
# Benchmark ANJANA's k-anonymity on growing samples of the synthetic register.
#
#   benches/anjana/run.sh OUT.jsonl [REGISTER]      # REGISTER defaults to /tmp/reg.csv
#
# Environment:
#   VENV=DIR        the virtual environment (default /tmp/anjana-venv); created when missing,
#                   filled from requirements.txt (anjana==1.2.3 and its dependencies, pinned)
#   PYTHON=python3  the interpreter that creates the venv (3.10 or newer)
#   SIZES="..."     sample sizes, increasing (default below; "all" = every valid row)
#   LIMIT=600       seconds one size may take (whole process, under `timeout`)
#   EXTRA="..."     more arguments for bench_anjana.py, e.g. "--star" or "--no-check"
#
# Runs bench_anjana.py once per size, in increasing order, appending its JSON line to
# OUT.jsonl, and stops at the first size that times out or fails (a line with "timeout"
# or "error" is appended for it). See benches/anjana/README.md.
set -euo pipefail

OUT="${1:?usage: run.sh OUT.jsonl [REGISTER]}"
REGISTER="${2:-/tmp/reg.csv}"
HERE="$(cd "$(dirname "$0")" && pwd)"
VENV="${VENV:-/tmp/anjana-venv}"
PYTHON="${PYTHON:-python3}"
SIZES="${SIZES:-1000 5000 20000 50000 100000 200000 500000 1000000 all}"
LIMIT="${LIMIT:-600}"
EXTRA="${EXTRA:-}"

if [[ ! -f $REGISTER ]]; then
  echo "run.sh: no register at $REGISTER" >&2
  exit 2
fi

if ! "$VENV/bin/python" -c 'import anjana, sys; from importlib.metadata import version; sys.exit(version("anjana") != "1.2.3")' 2>/dev/null; then
  "$PYTHON" -m venv "$VENV"
  "$VENV/bin/pip" install --quiet -r "$HERE/requirements.txt"
fi

for n in $SIZES; do
  if [[ $n == all ]]; then n=100000000; fi
  echo "run.sh: $n rows ..." >&2
  rc=0
  # shellcheck disable=SC2086
  timeout "$LIMIT" "$VENV/bin/python" "$HERE/bench_anjana.py" --register "$REGISTER" --rows "$n" $EXTRA \
    >"$OUT.tmp" || rc=$?
  if [[ $rc -eq 0 ]]; then
    cat "$OUT.tmp" >>"$OUT"
    tail -n 1 "$OUT.tmp" >&2
  elif [[ $rc -eq 124 ]]; then
    printf '{"tool": "anjana", "rows": %s, "timeout": %s}\n' "$n" "$LIMIT" >>"$OUT"
    echo "run.sh: $n rows took more than $LIMIT s; stopping" >&2
    rm -f "$OUT.tmp"
    break
  else
    printf '{"tool": "anjana", "rows": %s, "error": %s}\n' "$n" "$rc" >>"$OUT"
    echo "run.sh: $n rows failed (exit $rc); stopping" >&2
    rm -f "$OUT.tmp"
    break
  fi
  rm -f "$OUT.tmp"
  # "all" (or any size past the register's valid rows) is the last one there is
  if ! grep -q "\"rows\": $n," "$OUT" 2>/dev/null; then break; fi
done

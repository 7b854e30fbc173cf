#!/usr/bin/env bash
# Reading deep and long inputs (issue 10): time per MB of `dbmig
# generate-verify --check` (list, read, hash, lex, split, classify; no
# database) over one step of each shape, about SIZE MB each.
#
#   scripts/bench/lexer.sh [DBMIG] [SIZE_MB]
#
# DBMIG defaults to build-bench/dbmig (scripts/bench.sh builds it, Release).
# Prints one line per shape: bytes, best-of-3 wall time and time per MB, the
# process's start-up (a one-statement step) subtracted.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
dbmig="${1:-$repo/build-bench/dbmig}"
size_mb="${2:-8}"
[[ -x "$dbmig" ]] || { echo "lexer.sh: $dbmig not found (build Release: scripts/bench.sh)" >&2; exit 1; }
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

python3 - "$work" "$size_mb" <<'PY'
import os, sys
work, mb = sys.argv[1], float(sys.argv[2])
n = int(mb * 1_000_000)
shapes = {
    "baseline-one-statement": "SELECT 1;\n",
    "statements-100-bytes": ("INSERT INTO t VALUES (1, 'abcdefghijklmnopqrstuvwxyz', 42, now());" + " " * 34 + "\n") * (n // 100),
    "nested-comment": "/*" * (n // 4) + "*/" * (n // 4) + "\nSELECT 1;\n",
    "nested-comment-inside-statement": "SELECT 1 " + "/*" * (n // 4) + "*/" * (n // 4) + " + 1;\n",
    "spaced-nested-comment": "/* " * (n // 6) + "*/ " * (n // 6) + "\nSELECT 1;\n",
    "operator-run-plus-minus": "SELECT 1 " + "+-" * (n // 2) + " 1;\n",
    "operator-run-with-comments": "SELECT 1 " + "+/**/" * (n // 5) + " 1;\n",
    "dollar-quoted-body": "DO $body$ BEGIN " + "PERFORM 1; " * (n // 11) + "END $body$;\n",
    "string-literal": "SELECT '" + "x" * n + "';\n",
    "escape-string": "SELECT E'" + "\\n" * (n // 2) + "';\n",
    "quoted-identifier": 'SELECT 1 AS "' + "y" * n + '";\n',
    "line-comment": "-- " + "z" * n + "\nSELECT 1;\n",
}
for name, text in shapes.items():
    os.makedirs(os.path.join(work, name, "0001-a"))
    with open(os.path.join(work, name, "0001-a", "up.sql"), "w") as f:
        f.write(text)
PY

# Best of three wall-clock seconds of one check over directory $1.
best_of_three() {
  local best=""
  for _ in 1 2 3; do
    local start end
    start=$EPOCHREALTIME
    "$dbmig" generate-verify --check --dir "$1" >/dev/null 2>&1 || true
    end=$EPOCHREALTIME
    best=$(python3 -c "b='$best'; t=$end-$start; print(t if b=='' else min(float(b), t))")
  done
  echo "$best"
}

base=$(best_of_three "$work/baseline-one-statement")
printf '%-34s %10s %10s %10s\n' shape bytes "ms" "ms/MB"
printf '%-34s %10s %10.1f %10s\n' "start-up (one statement)" 10 "$(python3 -c "print($base*1000)")" "-"
for dir in "$work"/*/; do
  name=$(basename "$dir")
  [[ $name == baseline-one-statement ]] && continue
  bytes=$(stat -c %s "$dir/0001-a/up.sql")
  t=$(best_of_three "$dir")
  python3 -c "
t=$t-$base; b=$bytes
print('%-34s %10d %10.1f %10.1f' % ('$name', b, t*1000, t*1000/(b/1e6)))"
done

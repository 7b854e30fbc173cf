#!/usr/bin/env bash
# The everyday deploy (issue 15): up-to-date `apply` and `status` of dbmig
# beside dbmate's `up` and `status` on the same synthetic history and server,
# run alternately, with the ratios.
#
#   scripts/bench/noop.sh [DBMIG] [VERSIONS] [RUNS]
#
# DBMIG defaults to build-bench/dbmig (Release). dbmate is a dev-only tool,
# installed into a temp dir (`npm install --prefix DIR @dbmate/linux-x64`)
# unless DBMATE names one. The history is scripts/bench/gen_history.py's; for
# dbmate each version becomes db/migrations/<N>_<name>.sql with its steps
# under `-- migrate:up`, in its own database on the same server. Prints the
# median wall time (ms), CPU (ms) and peak RSS (MiB) of each, and dbmig/dbmate.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
dbmig="${1:-$repo/build-bench/dbmig}"
versions="${2:-1000}"
runs="${3:-11}"
[[ -x "$dbmig" ]] || { echo "noop.sh: $dbmig not found" >&2; exit 1; }
work="$(mktemp -d /tmp/dbmig-noop.XXXXXX)"
chmod 755 "$work"
cleanup() {
  "$repo/scripts/pg-local.sh" stop "$work/pg" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

dbmate="${DBMATE:-}"
if [[ -z "$dbmate" ]]; then
  npm install --silent --prefix "$work/npm" @dbmate/linux-x64 >/dev/null
  dbmate="$work/npm/node_modules/@dbmate/linux-x64/bin/dbmate"
fi

admin_url="$("$repo/scripts/pg-local.sh" start "$work/pg")"
base="${admin_url%/postgres}"
for db in dbmig dbmate; do psql -X -q "$admin_url" -c "CREATE DATABASE $db" >/dev/null; done

python3 "$repo/scripts/bench/gen_history.py" history "$work/h" "$versions"
"$dbmig" --dir "$work/h" generate-verify >/dev/null
python3 "$repo/scripts/bench/to_dbmate.py" "$work/h" "$work/dbmate/db/migrations"
dbmate_run=("$dbmate" --url "$base/dbmate?sslmode=disable" --migrations-dir "$work/dbmate/db/migrations"
  --no-dump-schema)
"$dbmig" --dir "$work/h" --db "$base/dbmig" apply --quiet >/dev/null
"${dbmate_run[@]}" up >/dev/null

samples="$work/samples"
: >"$samples"
timed() {
  local label="$1" start end
  shift
  start=$EPOCHREALTIME
  /usr/bin/time -f "%M %U %S" -o "$work/rss" "$@" >/dev/null 2>"$work/err" || {
    echo "noop.sh: $label failed" >&2; cat "$work/err" >&2; exit 1; }
  end=$EPOCHREALTIME
  echo "$label $(awk -v s="$start" -v e="$end" 'BEGIN { printf "%.3f", (e - s) * 1000 }') $(tail -1 "$work/rss" |
    awk '{ printf "%.1f %.0f", $1 / 1024, ($2 + $3) * 1000 }')" >>"$samples"
}
median() {
  awk -v l="$1" '$1 == l { print $'"$2"' }' "$samples" | sort -g |
    awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
for ((r = 0; r < runs; r++)); do
  timed dbmig-apply "$dbmig" --dir "$work/h" --db "$base/dbmig" apply
  timed dbmate-up "${dbmate_run[@]}" up
  timed dbmig-status "$dbmig" --dir "$work/h" --db "$base/dbmig" status
  timed dbmate-status "${dbmate_run[@]}" status
done
printf 'versions %s, %s runs each (median), load %s\n' "$versions" "$runs" "$(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-14s %8s %8s %8s\n' what "wall ms" "CPU ms" "RSS MiB"
for l in dbmig-apply dbmate-up dbmig-status dbmate-status; do
  printf '%-14s %8s %8s %8s\n' "$l" "$(median $l 2)" "$(median $l 4)" "$(median $l 3)"
done
awk -v a="$(median dbmig-apply 2)" -v b="$(median dbmate-up 2)" -v c="$(median dbmig-status 2)" \
  -v d="$(median dbmate-status 2)" 'BEGIN { printf "apply/up %.2fx, status/status %.2fx\n", a / b, c / d }'

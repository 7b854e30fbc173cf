#!/usr/bin/env bash
# The dbmig benchmark (issue 4): every figure of BENCHMARKS.md, from one command.
#
#   scripts/bench.sh [--quick] [--runs N] [--keep]
#
# Builds dbmig (Release, in build-bench/), starts a throwaway PostgreSQL 15
# (scripts/pg-local.sh: loopback only, in a temp dir, stopped on exit),
# generates deterministic synthetic histories (scripts/bench/gen_history.py)
# and prints whole-process medians. Each figure measures its contenders
# alternately (A B A B ...) so that the machine's drift cancels out; resetting
# the database (DROP/CREATE DATABASE) happens outside the timed region.
#
#   --quick   3 runs, and 3000 instead of 10,000 versions for the linearity
#             figure (about 3-5 minutes instead of about 15)
#   --runs N  runs per figure (default 5; the cheap figures use 2N+1, the
#             large history (N+1)/2)
#   --keep    keep the temp dir (histories, logs) and print its path
#
# Needs: the build dependencies (scripts/install-deps.sh), python3 and
# /usr/bin/time (scripts/install-deps.sh --bench).
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
runs=5
large=10000
keep=false
while (($#)); do
  case "$1" in
    --quick) runs=3; large=3000 ;;
    --runs) runs="$2"; shift ;;
    --keep) keep=true ;;
    *) echo "usage: $0 [--quick] [--runs N] [--keep]" >&2; exit 2 ;;
  esac
  shift
done
cheap_runs=$((2 * runs + 1))
large_runs=$(((runs + 1) / 2))
[[ -x /usr/bin/time ]] || { echo "bench: /usr/bin/time missing: scripts/install-deps.sh --bench" >&2; exit 1; }

build_dir="${BENCH_BUILD_DIR:-$repo/build-bench}"
echo "bench: building dbmig (Release) in $build_dir" >&2
cmake -S "$repo" -B "$build_dir" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$build_dir" -j"$(nproc)" --target dbmig >/dev/null
dbmig="$build_dir/dbmig"
gen="$repo/scripts/bench/gen_history.py"

work="$(mktemp -d /tmp/dbmig-bench.XXXXXX)"
chmod 755 "$work"
cleanup() {
  "$repo/scripts/pg-local.sh" stop "$work/pg" >/dev/null 2>&1 || true
  if [[ "$keep" == true ]]; then echo "bench: kept $work" >&2; else rm -rf "$work"; fi
}
trap cleanup EXIT

admin_url="$("$repo/scripts/pg-local.sh" start "$work/pg")"
db_url="${admin_url%/postgres}/bench"
samples="$work/samples"
: >"$samples"

reset_db() {
  PGOPTIONS='-c client_min_messages=warning' psql -X -q -v ON_ERROR_STOP=1 "$admin_url" \
    -c 'DROP DATABASE IF EXISTS bench WITH (FORCE)' -c 'CREATE DATABASE bench' >/dev/null
}

# timed LABEL CMD...: runs CMD once as a whole process; records wall ms, peak
# RSS (KiB) and CPU ms (user + system, 10 ms resolution) under LABEL. CMD's
# output goes to $work/LABEL.out/.err.
timed() {
  local label="$1"
  shift
  local start end
  start=$EPOCHREALTIME
  if ! /usr/bin/time -f "%M %U %S" -o "$work/rss" "$@" >"$work/$label.out" 2>"$work/$label.err"; then
    echo "bench: $label failed: $*" >&2
    tail -5 "$work/$label.err" >&2
    exit 1
  fi
  end=$EPOCHREALTIME
  echo "$label $(awk -v s="$start" -v e="$end" 'BEGIN { printf "%.3f", (e - s) * 1000 }') $(tail -1 "$work/rss" |
    awk '{ printf "%d %.0f", $1, ($2 + $3) * 1000 }')" >>"$samples"
}

# median LABEL [FIELD]: median of LABEL's samples (field 2 = wall ms, 3 = RSS
# KiB, 4 = CPU ms of the measured process).
median() {
  awk -v l="$1" '$1 == l { print $'"${2:-2}"' }' "$samples" | sort -g |
    awk '{ v[NR] = $1 } END { if (NR == 0) { print "nan"; exit } if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

calc() { awk "BEGIN { printf \"%.${2:-2}f\", $1 }"; }

psql_floor=(psql -X -q -v ON_ERROR_STOP=1 "$db_url" -f)
dbmig_apply=("$dbmig" --db "$db_url" apply --dir)

load_before="$(cut -d' ' -f1-3 /proc/loadavg)"
echo "bench: generating histories (1000 and $large versions) and their verify files" >&2
for n in 1000 "$large"; do
  python3 "$gen" history "$work/h$n" "$n"
  "$dbmig" --dir "$work/h$n" generate-verify >/dev/null 2>&1
  python3 "$gen" floor "$work/h$n" "$work/floor$n.sql"
done

echo "bench: apply of 1000 versions vs the psql floor ($runs runs each, alternating)" >&2
for ((r = 0; r < runs; r++)); do
  reset_db
  timed floor1000 "${psql_floor[@]}" "$work/floor1000.sql"
  reset_db
  timed apply1000 "${dbmig_apply[@]}" "$work/h1000"
done

echo "bench: up-to-date apply and status, 1000 versions ($cheap_runs runs each, alternating)" >&2
for ((r = 0; r < cheap_runs; r++)); do
  timed uptodate1000 "${dbmig_apply[@]}" "$work/h1000"
  timed status1000 "$dbmig" --dir "$work/h1000" --db "$db_url" status
done

echo "bench: apply of $large vs 1000 versions, and the psql floor of $large ($large_runs runs each, alternating)" >&2
for ((r = 0; r < large_runs; r++)); do
  reset_db
  timed applylarge "${dbmig_apply[@]}" "$work/h$large"
  reset_db
  timed applysmall "${dbmig_apply[@]}" "$work/h1000"
  reset_db
  timed floorlarge "${psql_floor[@]}" "$work/floor$large.sql"
done

echo "bench: generate-verify over omicron-crdb ($cheap_runs runs each, alternating)" >&2
cp -r "$repo/../shared/corpora/omicron-crdb" "$work/omicron"
"$dbmig" --dir "$work/omicron" generate-verify >/dev/null 2>&1
for ((r = 0; r < cheap_runs; r++)); do
  timed gvcheck "$dbmig" --dir "$work/omicron" generate-verify --check
  timed gv "$dbmig" --dir "$work/omicron" generate-verify
done

echo "bench: one 50 MB step of 50,000 INSERTs vs psql -1 -f ($runs runs each, alternating)" >&2
python3 "$gen" big "$work/big" 50000
"$dbmig" --dir "$work/big" generate-verify >/dev/null 2>&1
big_file="$work/big/00002-big/up.sql"
big_kib=$(($(stat -c %s "$big_file") / 1024))
for ((r = 0; r < runs; r++)); do
  reset_db
  psql -X -q -v ON_ERROR_STOP=1 -f "$work/big/00001-table/up.sql" "$db_url"
  timed bigpsql psql -X -q -v ON_ERROR_STOP=1 -1 -f "$big_file" "$db_url"
  reset_db
  "$dbmig" --dir "$work/big" --db "$db_url" apply --to 00001-table >/dev/null
  timed bigapply "${dbmig_apply[@]}" "$work/big"
done

echo "bench: lag between a concurrent index build finishing and apply noticing it ($runs runs)" >&2
"$repo/scripts/bench/cic_lag.sh" "$dbmig" "$admin_url" "$work" "$runs" "$gen" >>"$samples"

floor=$(median floor1000)
apply=$(median apply1000)
small=$(median applysmall)
large_ms=$(median applylarge)
per_version_ratio=$(calc "($large_ms / $large) / ($small / 1000)")
floor_large=$(median floorlarge)
floor_ratio=$(calc "($floor_large / $large) / ($floor / 1000)")
row() { printf '| %s | %s | %s | %s |\n' "$1" "$2" "$3" "$4"; }
verdict() { if awk "BEGIN { exit !($1) }"; then echo met; else echo "NOT met"; fi; }

echo
echo "dbmig benchmark, $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) CPUs, load average $load_before at the start and $(cut -d' ' -f1-3 /proc/loadavg) at the end"
echo "whole-process wall-clock medians of $runs runs (cheap figures $cheap_runs, $large versions $large_runs); CPU = the measured client process's user+system time"
echo
row figure measured goal verdict
row --- --- --- ---
row "apply 1000 versions / psql floor" "$(calc "$apply / $floor") (${apply%.*} ms / ${floor%.*} ms; dbmig CPU $(median apply1000 4) ms)" "<= 1.2x" "$(verdict "$apply / $floor <= 1.2")"
row "apply, up to date, 1000 versions" "$(median uptodate1000) ms (CPU $(median uptodate1000 4) ms)" "< 50 ms" "$(verdict "$(median uptodate1000) < 50")"
row "status, 1000 versions" "$(median status1000) ms (CPU $(median status1000 4) ms)" "< 50 ms" "$(verdict "$(median status1000) < 50")"
row "apply $large vs 1000: time per version" "${per_version_ratio}x ($(calc "$large_ms / $large" 3) vs $(calc "$small / 1000" 3) ms)" "<= 1.1x" "$(verdict "$per_version_ratio <= 1.1")"
row "(reference) psql floor $large vs 1000: time per version" "${floor_ratio}x ($(calc "$floor_large / $large" 3) vs $(calc "$floor / 1000" 3) ms)" "" ""
row "apply $large / psql floor $large" "$(calc "$large_ms / $floor_large")" "" ""
row "generate-verify --check, omicron-crdb" "$(median gvcheck) ms (CPU $(median gvcheck 4) ms)" "< 200 ms" "$(verdict "$(median gvcheck) < 200")"
row "generate-verify, omicron-crdb" "$(median gv) ms (CPU $(median gv 4) ms)" "< 200 ms" "$(verdict "$(median gv) < 200")"
row "50 MB step: apply / psql -1 -f" "$(calc "$(median bigapply) / $(median bigpsql)") ($(median bigapply) ms / $(median bigpsql) ms)" "<= 1.0x" "$(verdict "$(median bigapply) / $(median bigpsql) <= 1.0")"
row "50 MB step: peak RSS / file size" "$(calc "$(median bigapply 3) / $big_kib") ($(calc "$(median bigapply 3) / 1024" 0) MiB / $((big_kib / 1024)) MiB)" "< 3x" "$(verdict "$(median bigapply 3) / $big_kib < 3")"
row "CIC finished -> apply noticed (direct)" "$(median lagdirect) ms" "< 250 ms" "$(verdict "$(median lagdirect) < 250")"
row "CIC finished -> apply noticed (resumed run)" "$(median lagresume) ms" "< 250 ms" "$(verdict "$(median lagresume) < 250")"
row "peak RSS, apply 1000 versions" "$(calc "$(median apply1000 3) / 1024" 0) MiB" "< 30 MB" "$(verdict "$(median apply1000 3) * 1024 < 30000000")"

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
# /usr/bin/time (scripts/install-deps.sh --bench), and npm: dbmate (issue 15's
# reference, a dev-only tool) is installed into the temp dir with `npm install
# @dbmate/linux-x64` unless DBMATE names its binary.
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
  local rc=$?
  # A failure late in the run must not lose the figures measured before it.
  if ((rc != 0)) && [[ -s "${samples:-}" ]]; then
    echo "bench: failed (exit $rc); the samples measured so far (label wall_ms rss_kib cpu_ms):" >&2
    cat "$samples" >&2
  fi
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

dbmate="${DBMATE:-}"
if [[ -z "$dbmate" ]]; then
  echo "bench: installing dbmate (npm @dbmate/linux-x64) into the temp dir" >&2
  npm install --silent --prefix "$work/npm" @dbmate/linux-x64 >/dev/null
  dbmate="$work/npm/node_modules/@dbmate/linux-x64/bin/dbmate"
fi
# dbmate_on DB N: sets dbmate_cmd to dbmate over the N-version history, in
# database DB (an array, so that /usr/bin/time can run it).
dbmate_on() {
  dbmate_cmd=("$dbmate" --url "${admin_url%/postgres}/$1?sslmode=disable"
    --migrations-dir "$work/dbmate$2" --no-dump-schema)
}

load_before="$(cut -d' ' -f1-3 /proc/loadavg)"
echo "bench: generating histories (1000 and $large versions) and their verify files" >&2
for n in 1000 "$large"; do
  python3 "$gen" history "$work/h$n" "$n"
  "$dbmig" --dir "$work/h$n" generate-verify >/dev/null 2>&1
  python3 "$gen" floor "$work/h$n" "$work/floor$n.sql"
  python3 "$repo/scripts/bench/to_dbmate.py" "$work/h$n" "$work/dbmate$n"
done

echo "bench: apply of 1000 versions vs the psql floor and dbmate ($runs runs each, alternating)" >&2
for ((r = 0; r < runs; r++)); do
  reset_db
  timed floor1000 "${psql_floor[@]}" "$work/floor1000.sql"
  reset_db
  dbmate_on bench 1000
  timed dbmateup1000 "${dbmate_cmd[@]}" up
  reset_db
  timed apply1000 "${dbmig_apply[@]}" "$work/h1000"
done

# up_to_date N DB: the no-op apply/up and status of dbmig (in "bench") and
# dbmate (in DB), alternately, over the N-version history.
up_to_date() {
  local n="$1" db="$2" count="$3"
  dbmate_on "$db" "$n"
  for ((r = 0; r < count; r++)); do
    timed uptodate$n "${dbmig_apply[@]}" "$work/h$n"
    timed dbmatenoop$n "${dbmate_cmd[@]}" up
    timed status$n "$dbmig" --dir "$work/h$n" --db "$db_url" status
    timed dbmatestatus$n "${dbmate_cmd[@]}" status
  done
}
echo "bench: up-to-date apply and status, 1000 versions, dbmig and dbmate ($cheap_runs runs each, alternating)" >&2
psql -X -q "$admin_url" -c 'CREATE DATABASE bench_dbmate1000' >/dev/null
dbmate_on bench_dbmate1000 1000
"${dbmate_cmd[@]}" up >/dev/null
up_to_date 1000 bench_dbmate1000 "$cheap_runs"

echo "bench: apply of $large vs 1000 versions, and the psql floor of $large ($large_runs runs each, alternating)" >&2
for ((r = 0; r < large_runs; r++)); do
  reset_db
  timed applylarge "${dbmig_apply[@]}" "$work/h$large"
  reset_db
  timed applysmall "${dbmig_apply[@]}" "$work/h1000"
  reset_db
  timed floorlarge "${psql_floor[@]}" "$work/floor$large.sql"
done

echo "bench: up-to-date apply and status, $large versions, dbmig and dbmate ($cheap_runs runs each, alternating)" >&2
reset_db
"${dbmig_apply[@]}" "$work/h$large" >/dev/null
psql -X -q "$admin_url" -c "CREATE DATABASE bench_dbmate$large" >/dev/null
dbmate_on "bench_dbmate$large" "$large"
"${dbmate_cmd[@]}" up >/dev/null
up_to_date "$large" "bench_dbmate$large" "$cheap_runs"

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
row "apply 1000 versions / dbmate up (from empty)" "$(calc "$apply / $(median dbmateup1000)") (${apply%.*} ms / $(median dbmateup1000) ms)" "ahead (< 1.0x)" "$(verdict "$apply / $(median dbmateup1000) < 1.0")"
row "apply 1000 versions / psql floor (issue 15)" "$(calc "$apply / $floor")" "<= 1.1x" "$(verdict "$apply / $floor <= 1.1")"
row "apply, up to date, 1000 versions" "$(median uptodate1000) ms (CPU $(median uptodate1000 4) ms)" "< 50 ms" "$(verdict "$(median uptodate1000) < 50")"
row "status, 1000 versions" "$(median status1000) ms (CPU $(median status1000 4) ms)" "< 50 ms" "$(verdict "$(median status1000) < 50")"
for n in 1000 "$large"; do
  row "up-to-date apply / dbmate up, $n versions" "$(calc "$(median uptodate$n) / $(median dbmatenoop$n)") ($(median uptodate$n) ms / $(median dbmatenoop$n) ms)" "<= 0.8x" "$(verdict "$(median uptodate$n) / $(median dbmatenoop$n) <= 0.8")"
  row "status / dbmate status, $n versions" "$(calc "$(median status$n) / $(median dbmatestatus$n)") ($(median status$n) ms / $(median dbmatestatus$n) ms)" "<= 0.8x" "$(verdict "$(median status$n) / $(median dbmatestatus$n) <= 0.8")"
  row "peak RSS, up-to-date apply / dbmate up, $n versions" "$(calc "$(median uptodate$n 3) / 1024" 1) MiB / $(calc "$(median dbmatenoop$n 3) / 1024" 1) MiB" "<= 1.0x" "$(verdict "$(median uptodate$n 3) <= $(median dbmatenoop$n 3)")"
done
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

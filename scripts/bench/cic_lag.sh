#!/usr/bin/env bash
# Part of scripts/bench.sh: the lag between a CREATE INDEX CONCURRENTLY
# finishing and `dbmig apply` recording the step verified.
#
#   cic_lag.sh DBMIG ADMIN_URL WORK RUNS GEN
#
# The build is held back by an old snapshot on another connection (a psql
# session in REPEATABLE READ): the index stays in the phase "waiting for old
# snapshots" until that session commits. The commit time is recorded just
# before COMMIT is sent; the lag is the time of apply's JSON "step" event for
# the index step minus that. Two scenarios, RUNS times each, alternating:
#   direct: apply itself issued the CREATE INDEX CONCURRENTLY (blocked in it);
#   resume: an earlier apply was killed (-9) during the build, which the
#           server carries on; a second apply finds the build running and
#           polls for it.
# Prints "lagdirect MS 0" and "lagresume MS 0" sample lines on stdout.
set -euo pipefail

dbmig="$1" admin_url="$2" work="$3" runs="$4"
db_url="${admin_url%/postgres}/bench"
dir="$work/cic"
rm -rf "$dir"
mkdir -p "$dir/00001-table" "$dir/00002-rows" "$dir/00003-index"
echo "CREATE TABLE lag_t (id bigint PRIMARY KEY, v text NOT NULL);" >"$dir/00001-table/up.sql"
echo "INSERT INTO lag_t SELECT g, md5(g::text) FROM generate_series(1, 20000) g;" >"$dir/00002-rows/up.sql"
echo "CREATE INDEX CONCURRENTLY IF NOT EXISTS lag_idx ON lag_t (v);" >"$dir/00003-index/up.sql"
"$dbmig" --dir "$dir" generate-verify >/dev/null

sql() { psql -X -q -At -v ON_ERROR_STOP=1 "$db_url" -c "$1"; }

# wait_until SQL: polls SQL (a boolean query) every 20 ms, at most 30 s.
wait_until() {
  local i
  for ((i = 0; i < 1500; i++)); do
    [[ "$(sql "$1")" == t ]] && return 0
    sleep 0.02
  done
  echo "cic_lag: timed out waiting for: $1" >&2
  exit 1
}

# wait_for_line FILE PATTERN: at most 30 s.
wait_for_line() {
  local i
  for ((i = 0; i < 1500; i++)); do
    grep -q "$2" "$1" 2>/dev/null && return 0
    sleep 0.02
  done
  echo "cic_lag: timed out waiting for '$2' in $1" >&2
  exit 1
}

holder_pid=""
start_holder() {
  rm -f "$work/holder.fifo"
  mkfifo "$work/holder.fifo"
  PGAPPNAME=bench-holder psql -X -q "$db_url" <"$work/holder.fifo" >/dev/null &
  holder_pid=$!
  exec 7>"$work/holder.fifo"
  echo "BEGIN ISOLATION LEVEL REPEATABLE READ; SELECT count(*) FROM pg_class;" >&7
  wait_until "SELECT count(*) = 1 FROM pg_stat_activity WHERE application_name = 'bench-holder'
              AND state = 'idle in transaction' AND backend_xmin IS NOT NULL"
}

# release_holder: commits the old snapshot; prints the epoch ms just before.
release_holder() {
  local released=$EPOCHREALTIME
  echo "COMMIT;" >&7
  exec 7>&-
  wait "$holder_pid"
  awk -v t="$released" 'BEGIN { printf "%.3f", t * 1000 }'
}

wait_for_old_snapshots() {
  wait_until "SELECT count(*) = 1 FROM pg_stat_progress_create_index
              WHERE phase LIKE 'waiting for old snapshots%'"
}

# verified_ms JSON_FILE: epoch ms of the "step" event of 00003-index.
verified_ms() {
  local time
  time=$(grep '"event":"step"' "$1" | grep '00003-index' | grep -o '"time":"[^"]*"' | cut -d'"' -f4)
  [[ -n "$time" ]] || { echo "cic_lag: no step event in $1" >&2; cat "$1" >&2; exit 1; }
  echo $(($(date -d "$time" +%s%3N)))
}

prepare() {
  PGOPTIONS='-c client_min_messages=warning' psql -X -q -v ON_ERROR_STOP=1 "$admin_url" \
    -c 'DROP DATABASE IF EXISTS bench WITH (FORCE)' -c 'CREATE DATABASE bench' >/dev/null
  "$dbmig" --dir "$dir" --db "$db_url" apply --to 00002-rows >/dev/null
  start_holder
}

direct() {
  prepare
  "$dbmig" --dir "$dir" --db "$db_url" --json apply >"$work/direct.json" 2>&1 &
  local apply_pid=$!
  wait_for_old_snapshots
  sleep 0.3
  local released
  released=$(release_holder)
  wait "$apply_pid"
  echo "lagdirect $(awk -v v="$(verified_ms "$work/direct.json")" -v r="$released" 'BEGIN { printf "%.3f", v - r }') 0"
}

resume() {
  prepare
  "$dbmig" --dir "$dir" --db "$db_url" --json apply --lease-ttl 3s >"$work/first.json" 2>&1 &
  local first_pid=$!
  wait_for_old_snapshots
  kill -9 "$first_pid"
  wait "$first_pid" 2>/dev/null || true
  "$dbmig" --dir "$dir" --db "$db_url" --json apply >"$work/resume.json" 2>&1 &
  local apply_pid=$!
  wait_for_line "$work/resume.json" '"event":"progress"'
  # apply polls every 250 ms once backed off: release at a random phase of
  # that cycle, or every run would sample the same point of it.
  sleep "0.$((600 + RANDOM % 250))"
  local released
  released=$(release_holder)
  wait "$apply_pid"
  echo "lagresume $(awk -v v="$(verified_ms "$work/resume.json")" -v r="$released" 'BEGIN { printf "%.3f", v - r }') 0"
}

for ((r = 0; r < runs; r++)); do
  direct
  resume
done

# shellcheck shell=bash
# shellcheck disable=SC2034,SC2154 # globals shared with scripts/soak.sh
# scripts/soak.sh's plumbing: the seeded random numbers, the processes it
# started, its own PostgreSQL server, SQL helpers and cleanup.
# Sourced by scripts/soak.sh; uses its globals ($work, $dbmig, $keep, ...).

pg_bindir="${DBMIG_PG_BINDIR:-/usr/lib/postgresql/15/bin}"
server_user=""  # the user the server runs as when we are root
port=""
interrupted=0
violations=()

# --- seeded random numbers ---------------------------------------------------
# A 64-bit LCG in bash arithmetic (wraps modulo 2^64): the same seed gives the
# same history and faults on every machine and bash version (unlike $RANDOM).
rng_state=0

# rng_seed N M: seed the generator from the pair (N, M).
rng_seed() {
  rng_state=$(($1 * 1000003 + $2 * 7919 + 12345))
  local warmup
  for warmup in 1 2 3 4; do rand 2; done
}

# rand N: sets R to a number in [0, N).
rand() {
  rng_state=$((rng_state * 6364136223846793005 + 1442695040888963407))
  R=$((((rng_state >> 33) & 0x7fffffff) % $1))
}

# chance P: true with probability P percent.
chance() {
  rand 100
  ((R < $1))
}

# pick WORD...: sets P to one of the words.
pick() {
  local words=("$@")
  rand "${#words[@]}"
  P="${words[$R]}"
}

# --- processes ---------------------------------------------------------------

# pid_start[PID]: the start time (/proc/PID/stat field 22) of each process we
# started and have not reaped yet, so that a PID the system reused for
# someone else's process is never signalled.
declare -A pid_start=()

# proc_stat PID: sets STATE and START of PID; false when there is no such process.
proc_stat() {
  local stat fields
  stat="$(cat "/proc/$1/stat" 2>/dev/null)" || return 1
  stat="${stat##*) }"
  read -ra fields <<<"$stat"
  STATE="${fields[0]}"
  START="${fields[19]}"
}

# alive PID: true while PID, one of ours, runs (stopped counts); false once it
# exited, even while it is a zombie not yet reaped.
alive() {
  [[ -n "${pid_start[$1]-}" ]] && proc_stat "$1" && [[ "$STATE" != Z && "$START" == "${pid_start[$1]}" ]]
}

# signal SIG PID: sends SIG to PID if it is one of ours and still runs.
signal() {
  alive "$2" && kill "-$1" "$2" 2>/dev/null
}

# spawn LOG CMD...: starts CMD in the background, output to LOG; sets SPAWNED.
spawn() {
  local log="$1"
  shift
  "$@" >"$log" 2>&1 &
  SPAWNED=$!
  if proc_stat "$SPAWNED"; then pid_start[$SPAWNED]="$START"; else pid_start[$SPAWNED]=gone; fi
}

# kill_hard PID: SIGKILL (after SIGCONT, in case it is stopped) to one of
# ours; disowned first so that bash does not report the job as "Killed".
kill_hard() {
  alive "$1" || return 0
  disown "$1" 2>/dev/null
  signal CONT "$1"
  signal KILL "$1"
}

# reap PID: waits for PID (which must have exited or be about to) and sets RC.
reap() {
  # The braces also silence bash's "Killed" report of a job we killed.
  { wait "$1"; } 2>/dev/null
  RC=$?
  unset "pid_start[$1]"
}

# wait_exit PID SECONDS: waits up to SECONDS for PID to exit; sets RC (124
# and kills it, SIGCONT first in case it is stopped, when it does not).
wait_exit() {
  local pid="$1" deadline=$((SECONDS + $2))
  while alive "$pid" && ((SECONDS < deadline)); do sleep 0.1; done
  if alive "$pid"; then
    kill_hard "$pid"
    reap "$pid"
    RC=124
    return
  fi
  reap "$pid"
}

# run_bounded SECONDS LOG CMD...: runs CMD to completion, at most SECONDS;
# sets RC. In the background so that Ctrl-C reaches our trap at once.
run_bounded() {
  local limit="$1" log="$2"
  shift 2
  spawn "$log" "$@"
  wait_exit "$SPAWNED" "$limit"
}

# ms_sleep MS: sleeps MS milliseconds.
ms_sleep() {
  sleep "$(printf '%d.%03d' $(($1 / 1000)) $(($1 % 1000)))"
}

# --- the server --------------------------------------------------------------

as_server_user() {
  if [[ -n "$server_user" ]]; then
    runuser -u "$server_user" -- "$@"
  else
    "$@"
  fi
}

port_is_free() {
  ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# server_start: initdb into $work/pg and start on a free loopback port.
server_start() {
  [[ -x "$pg_bindir/initdb" ]] || { echo "soak: no initdb in $pg_bindir (DBMIG_PG_BINDIR)" >&2; return 1; }
  mkdir -p "$work/pg"
  if ((EUID == 0)); then
    # PostgreSQL refuses to run as root (as scripts/pg-local.sh does).
    server_user=postgres
    id -u "$server_user" >/dev/null 2>&1 || server_user=nobody
    chown "$server_user:" "$work/pg"
  fi
  as_server_user "$pg_bindir/initdb" -D "$work/pg/data" -U postgres -A trust -E UTF8 \
    --locale=C --no-sync >"$work/initdb.log" 2>&1 || { cat "$work/initdb.log" >&2; return 1; }
  local attempt
  for attempt in 1 2 3 4 5 6 7 8; do
    port=$((20000 + (SRANDOM % 40000)))
    port_is_free "$port" || continue
    server_run start && return 0
    echo "soak: server start on port $port failed (attempt $attempt)" >&2
  done
  echo "soak: could not start PostgreSQL; see $work/pg/server.log" >&2
  return 1
}

# server_run start|stop-immediate: pg_ctl on our data directory.
# fsync/full_page_writes off: the OS cache outlives an immediate shutdown;
# synchronous_commit stays on, or a crash would lose acknowledged commits.
server_run() {
  case "$1" in
    start)
      as_server_user "$pg_bindir/pg_ctl" -D "$work/pg/data" -l "$work/pg/server.log" -w -t 60 \
        -o "-h 127.0.0.1 -p $port -k $work/pg -c fsync=off -c full_page_writes=off -c max_connections=100" \
        start >/dev/null 2>&1
      ;;
    stop-immediate)
      as_server_user "$pg_bindir/pg_ctl" -D "$work/pg/data" -m immediate -w -t 60 stop >/dev/null 2>&1
      ;;
  esac
}

# server_restart_immediate: a crash and restart of the server (same port).
server_restart_immediate() {
  server_run stop-immediate
  local attempt
  for attempt in 1 2 3; do
    server_run start && return 0
    sleep 1
  done
  echo "soak: the server did not come back after an immediate restart" >&2
  return 1
}

server_version() {
  sql postgres "SHOW server_version" | sed 's/^/PostgreSQL /'
}

# conninfo DB: libpq conninfo of database DB for psql (our checks).
conninfo() {
  echo "host=127.0.0.1 port=$port user=postgres dbname=$1 connect_timeout=5 application_name=soak options='-c statement_timeout=30000'"
}

# db_url DB: the URL dbmig gets.
db_url() {
  echo "postgresql://postgres@127.0.0.1:$port/$1"
}

# sql DB QUERY: runs QUERY, prints unaligned tuples (| separated).
sql() {
  psql -X -q -A -t -v ON_ERROR_STOP=1 -d "$(conninfo "$1")" -c "$2"
}

# template_create: soak_template, copied for every round's fresh database:
# the big table the index builds run on, and the effects and marker tables
# the generated steps write (see docs/soak.md). An effect row records the
# session (backend pid and start) that wrote it: one runner's step
# connection is one session.
template_create() {
  sql postgres "CREATE DATABASE soak_template" >/dev/null || return 1
  sql soak_template "
    CREATE TABLE soak_big AS
      SELECT g AS id, ((g::bigint * 7919) % 100003)::int AS k, g % 97 AS grp,
             md5(g::text) AS payload
      FROM generate_series(1, $big_rows) g;
    CREATE FUNCTION soak_session() RETURNS TEXT LANGUAGE sql STABLE AS \$\$
      SELECT coalesce((SELECT pg_backend_pid() || '@' || to_char(backend_start, 'HH24:MI:SS.US')
        FROM pg_stat_activity WHERE pid = pg_backend_pid()), pg_backend_pid()::text) \$\$;
    CREATE TABLE soak_effects (
      seq BIGINT GENERATED ALWAYS AS IDENTITY,
      version TEXT NOT NULL, step INT NOT NULL, stmt INT NOT NULL,
      pid INT NOT NULL DEFAULT pg_backend_pid(),
      session TEXT NOT NULL DEFAULT soak_session(),
      at TIMESTAMPTZ NOT NULL DEFAULT clock_timestamp());
    CREATE TABLE soak_marker (id INT PRIMARY KEY CHECK (id = 1), version TEXT);
    INSERT INTO soak_marker VALUES (1, NULL);" >/dev/null || return 1
  sql soak_template "VACUUM ANALYZE soak_big" >/dev/null || return 1
  sql postgres "CHECKPOINT" >/dev/null
}

# --- cleanup -----------------------------------------------------------------

cleanup() {
  local pid
  for pid in "${!pid_start[@]}"; do kill_hard "$pid"; done
  for pid in "${!pid_start[@]}"; do { wait "$pid"; } 2>/dev/null; done
  if [[ -n "$port" && -f "$work/pg/data/postmaster.pid" ]]; then server_run stop-immediate; fi
  if ((keep)); then
    echo "soak: kept $work" >&2
  else
    rm -rf "$work"
  fi
}

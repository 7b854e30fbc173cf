#!/usr/bin/env bash
# A throwaway local PostgreSQL server for demos and manual tries.
#
#   scripts/pg-local.sh start DIR   initdb (trust auth) into DIR/data, start on
#                                   127.0.0.1 at a free port, print the URL
#   scripts/pg-local.sh url DIR     print the URL of the server in DIR
#   scripts/pg-local.sh stop DIR    stop the server in DIR (pg_ctl, by its postmaster.pid)
#
# Only loopback TCP and a socket inside DIR are used; nothing of the distro's
# PostgreSQL service is touched. PostgreSQL refuses to run as root, so when run
# as root the server runs as the unprivileged user "postgres" (created by the
# postgresql-common package), or PG_LOCAL_USER. Binaries: PG_BIN, default
# /usr/lib/postgresql/15/bin. Logs: DIR/server.log.
set -euo pipefail

pg_bin="${PG_BIN:-/usr/lib/postgresql/15/bin}"

usage() {
  echo "usage: $0 start|stop|url DIR" >&2
  exit 2
}

(($# == 2)) || usage
command="$1"
dir="$2"

# as_server_user CMD...: run CMD as the user that owns the server.
as_server_user() {
  if ((EUID == 0)); then
    runuser -u "${PG_LOCAL_USER:-postgres}" -- "$@"
  else
    "$@"
  fi
}

port_is_free() {
  ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

print_url() {
  [[ -f "$dir/port" ]] || { echo "pg-local: no server in $dir" >&2; exit 1; }
  echo "postgresql://postgres@127.0.0.1:$(cat "$dir/port")/postgres"
}

start_server() {
  mkdir -p "$dir"
  dir="$(cd "$dir" && pwd)"
  if ((EUID == 0)); then
    chown "${PG_LOCAL_USER:-postgres}:" "$dir"
  fi
  as_server_user "$pg_bin/initdb" -D "$dir/data" -U postgres --auth=trust \
    --encoding=UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 ||
    { cat "$dir/initdb.log" >&2; exit 1; }
  local attempt port
  for attempt in 1 2 3 4 5 6 7 8; do
    port=$((20000 + (RANDOM * 32768 + RANDOM) % 40000))
    port_is_free "$port" || continue
    if as_server_user "$pg_bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
      -o "-c listen_addresses=127.0.0.1 -p $port -c unix_socket_directories='$dir' -c fsync=off" \
      start >/dev/null; then
      echo "$port" >"$dir/port"
      print_url
      return
    fi
    echo "pg-local: start on port $port failed (attempt $attempt), retrying" >&2
  done
  echo "pg-local: could not start PostgreSQL; see $dir/server.log" >&2
  exit 1
}

stop_server() {
  if [[ -f "$dir/data/postmaster.pid" ]]; then
    as_server_user "$pg_bin/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null
  fi
  rm -f "$dir/port"
}

case "$command" in
  start) start_server ;;
  stop) stop_server ;;
  url) print_url ;;
  *) usage ;;
esac

#!/usr/bin/env bash
# The README's demo: build dbmig, start a throwaway PostgreSQL, check the
# committed verify files of schema/postgres, lint it, apply the history, show status.
# The server and its temp dir are removed on every exit.
set -euo pipefail
cd "$(dirname "$0")/.."

schema_dir=schema/postgres
jobs="${DBMIG_JOBS:-2}"

bash scripts/install-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j "$jobs" --target dbmig

server_dir="$(mktemp -d "${TMPDIR:-/tmp}/dbmig-demo.XXXXXX")"
cleanup() {
  bash scripts/pg-local.sh stop "$server_dir" || true
  rm -rf "$server_dir"
}
trap cleanup EXIT

url="$(bash scripts/pg-local.sh start "$server_dir")"
echo "==> throwaway PostgreSQL at $url"

run() {
  echo "==> $*"
  "$@"
}
run ./build/dbmig generate-verify --check --dir "$schema_dir"
run ./build/dbmig lint --dir "$schema_dir"
run ./build/dbmig apply --dir "$schema_dir" --db "$url"
run ./build/dbmig status --dir "$schema_dir" --db "$url"

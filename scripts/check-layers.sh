#!/usr/bin/env bash
# Checks ARCHITECTURE.md's layering rule on the includes of lib/: a layer may
# include only the layers below it, and only lib/db may include libpq.
# Exits 1 listing every violation. Run by CTest.
set -euo pipefail
cd "$(dirname "$0")/.."

forbidden() {  # forbidden LAYER PATTERN...: includes LAYER may not have
  local layer=$1
  shift
  local pattern
  for pattern in "$@"; do
    grep -nE "#include [<\"]($pattern)" lib/"$layer"/*.h lib/"$layer"/*.cpp 2>/dev/null || true
  done
}

violations="$(
  forbidden core 'sql/' 'migration/' 'db/' 'engine/' 'importer/'
  forbidden sql 'migration/' 'db/' 'engine/' 'importer/' 'libpq-fe.h' 'fstream' 'filesystem'
  forbidden migration 'db/' 'engine/' 'importer/' 'libpq-fe.h'
  forbidden db 'sql/' 'migration/' 'engine/' 'importer/'
  forbidden engine 'importer/' 'libpq-fe.h'
  forbidden importer 'db/' 'engine/' 'libpq-fe.h'
)"
if [[ -n "$violations" ]]; then
  echo "layering violations (see ARCHITECTURE.md):"
  echo "$violations"
  exit 1
fi
echo "layering: every include of lib/ respects ARCHITECTURE.md"

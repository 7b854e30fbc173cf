#!/usr/bin/env bash
# Runs clang-tidy (checks in .clang-tidy) over lib/ and app/, using the compile
# database of build/ (configured here when absent). Exits non-zero on any
# finding. Extra arguments are passed to clang-tidy (e.g. --fix).
#
# Why clang-tidy-16 and not 14: clang 14 cannot instantiate libstdc++ 12's
# std::expected (it lacks conditionally trivial destructors, P0848), so every
# file using it fails to parse. Clang 16 has P0848 but neither knows
# -std=c++23 (it says c++2b) nor advertises __cpp_concepts >= 202002, which
# libstdc++ 12's <expected> tests for; both are patched into a private copy
# of the compile database and the command line below.
set -euo pipefail
cd "$(dirname "$0")/.."

clang_tidy="${CLANG_TIDY:-clang-tidy-16}"
command -v "$clang_tidy" >/dev/null ||
  { echo "lint: $clang_tidy not found (scripts/install-deps.sh --lint)" >&2; exit 2; }

if [[ ! -f build/compile_commands.json ]]; then
  cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
fi
mkdir -p build/tidy
sed 's/-std=c++23/-std=c++2b/g' build/compile_commands.json >build/tidy/compile_commands.json

mapfile -t files < <(git ls-files -- 'lib/*.cpp' 'app/*.cpp')
status=0
for file in "${files[@]}"; do
  "$clang_tidy" -p build/tidy --quiet \
    --extra-arg=-Wno-builtin-macro-redefined \
    --extra-arg=-U__cpp_concepts --extra-arg=-D__cpp_concepts=202002L \
    "$@" "$file" 2>/dev/null || status=1
done
exit "$status"

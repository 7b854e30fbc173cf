#!/usr/bin/env bash
# Builds one libFuzzer target with clang 16 (ASan+UBSan) and fuzzes it.
#
# Usage: scripts/fuzz.sh TARGET SECONDS [LIBFUZZER_ARGS...]
#   TARGET: fuzz_split_classify | fuzz_directory | fuzz_dbmig_json
#
# Build tree: build-fuzz/ (CC=clang-16, CXX=clang++-16, -DDBMIG_FUZZ=ON).
# The working corpus build-fuzz/corpus/TARGET/ grows across runs and starts
# from the committed seeds fuzz/corpus/TARGET/ (read only here: copy a new
# crash there by hand, named crash-<what>, to keep it as a regression test).
# Crashes land in build-fuzz/artifacts/TARGET/; libFuzzer's log in
# build-fuzz/artifacts/TARGET/fuzz-0.log. fuzz_split_classify also reads the
# shared CockroachDB corpus ../shared/corpora/omicron-crdb when present. The fuzzer runs at nice 19 in one
# job (the machine is shared). Needs scripts/install-deps.sh --fuzz.
set -euo pipefail
cd "$(dirname "$0")/.."

if (($# < 2)); then
  echo "usage: scripts/fuzz.sh TARGET SECONDS [LIBFUZZER_ARGS...]" >&2
  exit 2
fi
target="$1" seconds="$2"
shift 2
if [[ ! -d "fuzz/corpus/$target" ]]; then
  echo "fuzz: unknown target $target (no fuzz/corpus/$target)" >&2
  exit 2
fi

build=build-fuzz
CC=clang-16 CXX=clang++-16 cmake -S . -B "$build" -DDBMIG_FUZZ=ON \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g" >/dev/null
cmake --build "$build" -j "${DBMIG_JOBS:-2}" --target "$target"

work_corpus="$build/corpus/$target"
artifacts="$build/artifacts/$target"
mkdir -p "$work_corpus" "$artifacts"
dictionary=()
if [[ -f "fuzz/$target.dict" ]]; then
  dictionary=("-dict=$PWD/fuzz/$target.dict")
fi
# Read-only seeds: the committed corpus and, for the SQL target, the
# project's own examples (schema/) and the real CockroachDB migrations of the
# shared corpus when it is present.
seeds=("$PWD/fuzz/corpus/$target")
shared_sql="$PWD/../shared/corpora/omicron-crdb"
if [[ "$target" == fuzz_split_classify ]]; then
  seeds+=("$PWD/schema")
  [[ ! -d "$shared_sql" ]] || seeds+=("$shared_sql")
fi

export ASAN_SYMBOLIZER_PATH="${ASAN_SYMBOLIZER_PATH:-$(command -v llvm-symbolizer-16 || command -v llvm-symbolizer || true)}"
cd "$artifacts"
nice -n 19 "$OLDPWD/$build/fuzz/$target" -max_total_time="$seconds" -jobs=1 -workers=1 \
  -max_len=8192 -print_final_stats=1 -artifact_prefix="$PWD/" "${dictionary[@]}" "$@" \
  "$OLDPWD/$work_corpus" "${seeds[@]}" || status=$?
tail -n 25 fuzz-0.log
exit "${status:-0}"

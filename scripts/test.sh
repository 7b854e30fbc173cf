#!/usr/bin/env bash
# The project's test command: installs dependencies, builds, runs every test.
#
# Stage 1: Release build with warnings as errors (build/), all CTest tests.
# Stage 2: Debug build with AddressSanitizer + UndefinedBehaviorSanitizer
#          (build-asan/), the same tests. Skip it locally with
#          DBMIG_SKIP_SANITIZE=1; CI (CI=true) always runs it.
# Exits non-zero when any stage fails; the last line is a one-line summary.
set -euo pipefail
cd "$(dirname "$0")/.."

jobs="${DBMIG_JOBS:-2}"
# Test executables run one at a time by default: the database tests time
# leases and polling, and two cores shared with a build are easily starved.
ctest_jobs="${DBMIG_CTEST_JOBS:-1}"
skip_sanitize="${DBMIG_SKIP_SANITIZE:-0}"
if [[ "${CI:-}" == "true" ]]; then
  skip_sanitize=0
fi

summary=()
failed=0

# run_stage NAME BUILD_DIR CMAKE_ARGS...: configure, build and test one build tree.
run_stage() {
  local name="$1" build_dir="$2"
  shift 2
  local started=$SECONDS
  echo "==> [$name] configure + build ($build_dir)"
  if cmake -S . -B "$build_dir" "$@" &&
    cmake --build "$build_dir" -j "$jobs" &&
    echo "==> [$name] ctest" &&
    ctest --test-dir "$build_dir" --output-on-failure -j "$ctest_jobs"; then
    summary+=("$name: passed ($((SECONDS - started))s)")
  else
    summary+=("$name: FAILED ($((SECONDS - started))s)")
    failed=1
  fi
}

bash scripts/install-deps.sh

run_stage release build -DCMAKE_BUILD_TYPE=Release -DDBMIG_WERROR=ON

if [[ "$skip_sanitize" == "1" ]]; then
  summary+=("asan+ubsan: skipped (DBMIG_SKIP_SANITIZE=1)")
else
  export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:detect_stack_use_after_return=1}"
  export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
  run_stage asan+ubsan build-asan -DCMAKE_BUILD_TYPE=Debug -DDBMIG_WERROR=ON -DDBMIG_SANITIZE=ON
fi

if ((failed)); then
  echo "dbmig tests: FAILED -- $(IFS=';'; echo "${summary[*]}")"
  exit 1
fi
echo "dbmig tests: ALL PASSED -- $(IFS=';'; echo "${summary[*]}")"

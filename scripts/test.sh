#!/usr/bin/env bash
# The project's test command: installs dependencies, builds, runs every test.
#
# Stage 1: Release build with warnings as errors (build/), all CTest tests,
#          against Debian's PostgreSQL 15.
# Stage soak: a short seeded soak of build/dbmig
#          (scripts/soak.sh --self-check, 8 rounds of faults, a fixed seed,
#          no round started after 150 s; docs/soak.md). Skip it locally with
#          DBMIG_SKIP_SOAK=1; CI (CI=true) always runs it.
# Stage 2: the database tests of that same build (db_tests, engine_tests,
#          sql_tests: the executables that use the PostgreSQL harness) again
#          against PostgreSQL 13 and 18, installed by scripts/pg-versions.sh
#          and handed to the harness as DBMIG_PG_BINDIR. DBMIG_PG_VERSIONS
#          picks other majors locally ("" skips the stage); CI (CI=true)
#          always runs 13 and 18, and there a version that cannot be
#          installed fails the run.
# Stage 3: Debug build with AddressSanitizer + UndefinedBehaviorSanitizer
#          (build-asan/), every test, PostgreSQL 15. Skip it locally with
#          DBMIG_SKIP_SANITIZE=1; CI (CI=true) always runs it.
# Exits non-zero when any stage fails; the last line is a one-line summary
# with every stage's wall time.
set -euo pipefail
cd "$(dirname "$0")/.."

jobs="${DBMIG_JOBS:-2}"
# Tests run after their build, never beside it (the database tests time
# leases and polling, and two cores shared with a build are easily starved),
# three at a time: engine_tests is three shards that mostly wait.
ctest_jobs="${DBMIG_CTEST_JOBS:-3}"
skip_sanitize="${DBMIG_SKIP_SANITIZE:-0}"
skip_soak="${DBMIG_SKIP_SOAK:-0}"
pg_versions="${DBMIG_PG_VERSIONS-13 18}"
# The executables whose tests start a PostgreSQL server through the harness.
database_tests='^(db|engine|sql)_tests'
in_ci=false
if [[ "${CI:-}" == "true" ]]; then
  in_ci=true
  skip_sanitize=0
  skip_soak=0
  pg_versions="13 18"
fi

summary=()
failed=0
built=0  # 1 when the last run_stage built its tree (whatever its tests did)

# run_stage NAME BUILD_DIR CMAKE_ARGS...: configure, build and test one build tree.
run_stage() {
  local name="$1" build_dir="$2"
  shift 2
  local started=$SECONDS
  built=0
  echo "==> [$name] configure + build ($build_dir)"
  if ! cmake -S . -B "$build_dir" "$@" || ! cmake --build "$build_dir" -j "$jobs"; then
    summary+=("$name: FAILED to build ($((SECONDS - started))s)")
    failed=1
    return
  fi
  built=1
  echo "==> [$name] ctest"
  if ctest --test-dir "$build_dir" --output-on-failure -j "$ctest_jobs"; then
    summary+=("$name: passed ($((SECONDS - started))s)")
  else
    summary+=("$name: FAILED ($((SECONDS - started))s)")
    failed=1
  fi
}

# run_version_stage MAJOR: the database tests of build/ against PostgreSQL MAJOR.
run_version_stage() {
  local major="$1" name="pg$1" started=$SECONDS bindir
  echo "==> [$name] install PostgreSQL $major (scripts/pg-versions.sh)"
  if ! bindir="$(bash scripts/pg-versions.sh bindir "$major")"; then
    if [[ "$in_ci" == true ]]; then
      summary+=("$name: FAILED, cannot install PostgreSQL $major ($((SECONDS - started))s)")
      failed=1
    else
      summary+=("$name: skipped, cannot install PostgreSQL $major")
    fi
    return
  fi
  echo "==> [$name] ctest $database_tests against $("$bindir/postgres" --version)"
  if DBMIG_PG_BINDIR="$bindir" ctest --test-dir build --output-on-failure -j "$ctest_jobs" \
    -R "$database_tests"; then
    summary+=("$name: passed ($((SECONDS - started))s)")
  else
    summary+=("$name: FAILED ($((SECONDS - started))s)")
    failed=1
  fi
}

# run_soak_stage: the short seeded soak of build/dbmig (docs/soak.md).
run_soak_stage() {
  local started=$SECONDS
  echo "==> [soak] scripts/soak.sh --self-check --seed 20261201 --rounds 8 --max-seconds 150"
  if bash scripts/soak.sh --self-check --seed 20261201 --rounds 8 --max-seconds 150 \
    --dbmig build/dbmig; then
    summary+=("soak: passed ($((SECONDS - started))s)")
  else
    summary+=("soak: FAILED ($((SECONDS - started))s)")
    failed=1
  fi
}

bash scripts/install-deps.sh

run_stage release build -DCMAKE_BUILD_TYPE=Release -DDBMIG_WERROR=ON

if [[ "$skip_soak" == "1" ]]; then
  summary+=("soak: skipped (DBMIG_SKIP_SOAK=1)")
elif ((!built)); then
  summary+=("soak: not run (no Release build)")
else
  run_soak_stage
fi

for major in $pg_versions; do
  if ((!built)); then
    summary+=("pg$major: not run (no Release build)")
  else
    run_version_stage "$major"
  fi
done
if [[ -z "${pg_versions// /}" ]]; then
  summary+=("other PostgreSQL versions: skipped (DBMIG_PG_VERSIONS empty)")
fi

if [[ "$skip_sanitize" == "1" ]]; then
  summary+=("asan+ubsan: skipped (DBMIG_SKIP_SANITIZE=1)")
else
  export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:detect_stack_use_after_return=1}"
  export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
  run_stage asan+ubsan build-asan -DCMAKE_BUILD_TYPE=Debug -DDBMIG_WERROR=ON -DDBMIG_SANITIZE=ON
fi

summary+=("total ${SECONDS}s")
if ((failed)); then
  echo "dbmig tests: FAILED -- $(IFS=';'; echo "${summary[*]}")"
  exit 1
fi
echo "dbmig tests: ALL PASSED -- $(IFS=';'; echo "${summary[*]}")"

#!/usr/bin/env bash
# Runs clang-tidy (checks in .clang-tidy) over lib/ and app/, using the compile
# database of a build tree. Exits 1 on any finding, 77 (CTest's "skipped")
# when clang-tidy is not installed outside CI, 2 on a usage error or, under
# CI=true, when clang-tidy is missing.
#
#   scripts/lint.sh [--build-dir DIR] [-j N] [--since-base] [FILE...] [-- CLANG_TIDY_ARGS...]
#     --build-dir DIR  the configured build tree whose compile_commands.json
#                      is used (default build/, configured here when absent)
#     -j N             files checked in parallel (default 2)
#     --since-base     check only what changed since the commit in .ci/lint-base
#                      (below); every file when that commit is unknown here
#     FILE...          check only these files (default: every lib/ and app/ .cpp)
#
# .ci/lint-base names a commit at which every lib/ and app/ .cpp file was
# checked clean (a full run). With --since-base, the .cpp files changed since
# then are checked, and every .cpp that includes a changed header (directly
# or through other headers); a change of .clang-tidy, of the top-level
# CMakeLists.txt (the compile flags) or of this script checks every file. A full run takes about 9 minutes of
# both cores of the project's machine, too long for the 20-minute CI, which
# uses --since-base; after a full run passes, .ci/lint-base is moved forward.
#
# Why clang-tidy-16 and not 14: clang 14 cannot instantiate libstdc++ 12's
# std::expected (it lacks conditionally trivial destructors, P0848), so every
# file using it fails to parse. Clang 16 has P0848 but neither knows
# -std=c++23 (it says c++2b) nor advertises __cpp_concepts >= 202002, which
# libstdc++ 12's <expected> tests for; both are patched into a private copy of
# the compile database and the command line below. The copy also drops g++'s
# precompiled-header options (clang cannot read a g++ .gch) and g++-only
# warning options.
#
# Cost: about 7 s of CPU per file to parse (nlohmann/json, CLI11, libpq
# headers) and 10-20 s with the checks; scripts/test.sh runs it at nice 19
# beside the database stages, which mostly wait.
set -euo pipefail
cd "$(dirname "$0")/.."

clang_tidy="${CLANG_TIDY:-clang-tidy-16}"
build_dir=build
jobs=2
files=()
extra=()
since_base=0
while (($#)); do
  case "$1" in
    --build-dir) build_dir="$2"; shift 2 ;;
    -j) jobs="$2"; shift 2 ;;
    --since-base) since_base=1; shift ;;
    --) shift; extra=("$@"); break ;;
    -*) echo "usage: $0 [--build-dir DIR] [-j N] [FILE...] [-- CLANG_TIDY_ARGS...]" >&2; exit 2 ;;
    *) files+=("$1"); shift ;;
  esac
done

if ! command -v "$clang_tidy" >/dev/null; then
  echo "lint: $clang_tidy not found (scripts/install-deps.sh --lint)" >&2
  [[ "${CI:-}" == "true" ]] && exit 2
  exit 77
fi

if [[ ! -f "$build_dir/compile_commands.json" ]]; then
  cmake -S . -B "$build_dir" -DCMAKE_BUILD_TYPE=Release >/dev/null
fi
tidy_db="$build_dir/tidy"
mkdir -p "$tidy_db"
commands="$build_dir/compile_commands.json"
# A tree that compiles app/ and lib/ in unity sources (DBMIG_UNITY, the
# default) has no entry per file: a side tree of the same build type,
# configured only (nothing is built), gives them.
if ! grep -q '"file": *"[^"]*/app/main\.cpp"' "$commands"; then
  build_type="$(sed -n 's/^CMAKE_BUILD_TYPE:[A-Z]*=//p' "$build_dir/CMakeCache.txt")"
  cmake -S . -B "$tidy_db/tree" -DCMAKE_BUILD_TYPE="${build_type:-Release}" -DDBMIG_WERROR=ON \
    -DDBMIG_UNITY=OFF -DDBMIG_BUILD_TESTS=OFF >/dev/null
  commands="$tidy_db/tree/compile_commands.json"
fi
sed -e 's/-std=c++23/-std=c++2b/g' -e 's/-Winvalid-pch//g' -e 's/-Wno-restrict//g' \
  -e 's/-include [^ ]*cmake_pch\.hxx//g' \
  "$commands" >"$tidy_db/compile_commands.json"

# changed_files BASE: the .cpp files to check after the changes since BASE.
changed_files() {
  local base="$1" changed headers=() grown=1 header name
  changed="$(git diff --name-only "$base" -- lib app .clang-tidy scripts/lint.sh CMakeLists.txt)"
  if grep -qE '^CMakeLists\.txt$|^\.clang-tidy$|^scripts/lint\.sh$' <<<"$changed"; then
    git ls-files -- 'lib/*.cpp' 'app/*.cpp'
    return
  fi
  mapfile -t headers < <(grep -E '\.h$' <<<"$changed" || true)
  while ((grown)); do  # the headers that include a changed header, until none is new
    grown=0
    for header in "${headers[@]}"; do
      name="$(basename "$header")"
      while IFS= read -r including; do
        if [[ " ${headers[*]} " != *" $including "* ]]; then headers+=("$including"); grown=1; fi
      done < <(git grep -lE "#include \"([a-z_]+/)?$name\"" -- 'lib/*.h' 'app/*.h' || true)
    done
  done
  {
    grep -E '^(lib|app)/.*\.cpp$' <<<"$changed" | while IFS= read -r file; do
      [[ -f "$file" ]] && echo "$file"
    done
    for header in "${headers[@]}"; do
      git grep -lE "#include \"([a-z_]+/)?$(basename "$header")\"" -- 'lib/*.cpp' 'app/*.cpp' || true
    done
  } | sort -u
}

if ((${#files[@]} == 0)); then
  base="$(cat .ci/lint-base 2>/dev/null || true)"
  if ((since_base)) && [[ -n "$base" ]] && git rev-parse -q --verify "$base^{commit}" >/dev/null; then
    mapfile -t files < <(changed_files "$base")
    echo "lint: ${#files[@]} file(s) changed since the last full run ($base, .ci/lint-base)"
    if ((${#files[@]} == 0)); then exit 0; fi
  else
    mapfile -t files < <(git ls-files -- 'lib/*.cpp' 'app/*.cpp')
  fi
fi
export clang_tidy tidy_db
# One clang-tidy per file, N at a time; each prints its findings, the exit
# status says whether any had one.
printf '%s\0' "${files[@]}" | xargs -0 -P "$jobs" -I{} bash -c '
  if ! out="$("$clang_tidy" -p "$tidy_db" --quiet \
      --extra-arg=-Wno-builtin-macro-redefined --extra-arg=-Wno-unknown-warning-option \
      --extra-arg=-U__cpp_concepts --extra-arg=-D__cpp_concepts=202002L "$@" "{}" 2>&1)"; then
    printf "lint: %s\n%s\n" "{}" "$out"
    exit 1
  fi' _ "${extra[@]}" || { echo "lint: clang-tidy reported findings (above)"; exit 1; }
echo "lint: ${#files[@]} files clean"

#!/usr/bin/env bash
# Compare `dbmig lint` with squawk (npm squawk-cli, a dev-only tool) on one
# migration directory: per rule, how many statements each tool reported, and
# for the rules both have, in how many step files both / only one reported it.
#
#   scripts/bench/lint-compare.sh DIR [--pg-compatible]
#
# --pg-compatible: first copy DIR without the versions that hold syntax the
# PostgreSQL dialect rejects (CockroachDB-only syntax), and lint the copy with
# --dialect postgres; both tools then read exactly the same files.
# squawk: $SQUAWK, else installed once with `npm install --prefix` into
# ${SQUAWK_PREFIX:-/tmp/dbmig-squawk}. dbmig: $DBMIG, else build/dbmig.
set -euo pipefail
cd "$(dirname "$0")/../.."

dir="${1:?usage: lint-compare.sh DIR [--pg-compatible]}"
mode="${2:-}"
dbmig="${DBMIG:-build/dbmig}"
prefix="${SQUAWK_PREFIX:-/tmp/dbmig-squawk}"
squawk="${SQUAWK:-$prefix/node_modules/.bin/squawk}"
if [[ ! -x "$squawk" ]]; then
  npm install --silent --prefix "$prefix" squawk-cli >/dev/null
fi

work="$(mktemp -d "${TMPDIR:-/tmp}/lint-compare.XXXXXX")"
trap 'rm -rf "$work"' EXIT
dialect_args=()
if [[ "$mode" == "--pg-compatible" ]]; then
  "$dbmig" lint --json --dialect postgres --dir "$dir" >"$work/all.json" 2>/dev/null || true
  python3 - "$dir" "$work/all.json" "$work/tree" <<'PY'
import json, os, shutil, sys
src, report, out = sys.argv[1:4]
bad = {os.path.relpath(d["file"], src).split(os.sep)[0]
       for d in json.load(open(report))["diagnostics"] if d["severity"] == "error"}
os.makedirs(out)
versions = [v for v in sorted(os.listdir(src))
            if os.path.isdir(os.path.join(src, v)) and not v.startswith(".")]
kept = [v for v in versions if v not in bad]
for v in kept:
    shutil.copytree(os.path.join(src, v), os.path.join(out, v))
settings = {}
if os.path.exists(os.path.join(src, "dbmig.json")):
    settings = json.load(open(os.path.join(src, "dbmig.json")))
through = settings.get("multi_ddl_allowed_through")
if through in bad:
    # the last kept version at or before it, in the tree's order
    order = settings.get("versions", versions)
    earlier = [v for v in order[: order.index(through)] if v not in bad]
    if earlier:
        settings["multi_ddl_allowed_through"] = earlier[-1]
    else:
        del settings["multi_ddl_allowed_through"]
if "versions" in settings:
    settings["versions"] = [v for v in settings["versions"] if v not in bad]
settings["dialect"] = "postgres"
json.dump(settings, open(os.path.join(out, "dbmig.json"), "w"))
print(f"pg-compatible: {len(kept)} of {len(versions)} versions "
      f"({len(bad)} hold CockroachDB-only syntax)")
PY
  dir="$work/tree"
  dialect_args=(--dialect postgres)
fi

"$dbmig" lint --json "${dialect_args[@]}" --dir "$dir" >"$work/dbmig.json" 2>/dev/null || true
find "$dir" -name '*.sql' ! -name '*.verify.sql' | sort >"$work/files"
# squawk prints path:line:col: warning: rule message (gcc reporter); it exits
# non-zero when it reports anything.
xargs -a "$work/files" -d '\n' "$squawk" --reporter gcc >"$work/squawk.txt" 2>&1 || true

python3 - "$dir" "$work/dbmig.json" "$work/squawk.txt" "$work/files" <<'PY'
import collections, json, os, re, sys
root, dbmig_report, squawk_report, files = sys.argv[1:5]
steps = sum(1 for _ in open(files))
dbmig = collections.defaultdict(set)   # rule -> {(file, line)}
document = json.load(open(dbmig_report))
for d in document["diagnostics"]:
    if d.get("rule"):
        dbmig[d["rule"]].add((os.path.relpath(d["file"], root), d["line"]))
squawk = collections.defaultdict(list)  # rule -> [file]
line_re = re.compile(r"^(.*?):(\d+):(\d+): (warning|error): (\S+) ")
for line in open(squawk_report):
    m = line_re.match(line)
    if m:
        squawk[m.group(5)].append(os.path.relpath(m.group(1), root))
dbmig_rules, squawk_rules = set(dbmig), set(squawk)
print(f"{steps} step files; dbmig lint exit {document.get('exit_code')}")
print(f"{'rule':45} {'dbmig':>6} {'squawk':>6} {'files both':>10} {'dbmig only':>10} {'squawk only':>11}")
for rule in sorted(dbmig_rules | squawk_rules):
    d_files = {f for f, _ in dbmig[rule]}
    s_files = set(squawk[rule])
    shared = rule in dbmig_rules and rule in squawk_rules
    both = len(d_files & s_files) if shared else "-"
    d_only = len(d_files - s_files) if shared else "-"
    s_only = len(s_files - d_files) if shared else "-"
    print(f"{rule:45} {len(dbmig[rule]):6} {len(squawk[rule]):6} {both!s:>10} {d_only!s:>10} {s_only!s:>11}")
if os.environ.get("LINT_COMPARE_LIST"):
    for rule in sorted(dbmig_rules & squawk_rules):
        d_files = {f for f, _ in dbmig[rule]}
        s_files = set(squawk[rule])
        for f in sorted(s_files - d_files):
            print(f"squawk only  {rule:40} {f}")
        for f in sorted(d_files - s_files):
            print(f"dbmig only   {rule:40} {f}")
PY

# shellcheck shell=bash
# shellcheck disable=SC2034,SC2154 # globals shared with scripts/soak.sh
# The soak's invariants (docs/soak.md), as SQL over the round's database that
# prints one line per violation. Sourced by scripts/soak.sh; uses the
# round's history (scripts/soak/history.sh).

declare -A violation_kinds=()  # class -> violations seen
planting=0                     # 1 while --self-check plants violations
declare -A planted_found=()    # class -> 1: a planted violation was detected

# violation CLASS TEXT [KEY]: records a violation of the current round,
# once per KEY (default TEXT) and round.
violation() {
  local key="${3:-$2}"
  [[ -n "${round_seen[$key]-}" ]] && return
  round_seen[$key]=1
  if ((planting)); then
    planted_found[$1]=1
    return
  fi
  violations+=("round $round (seed $seed) [$1] $2")
  violation_kinds[$1]=$((${violation_kinds[$1]-0} + 1))
  round_violations=$((round_violations + 1))
  round_lines+=("  VIOLATION [$1] $2")
}

# expectations_sql MAX_VORD: a VALUES list of what the steps of versions up
# to MAX_VORD leave behind: (kind, version, vord, step, name).
expectations_sql() {
  local entry kind version vord step name rows=()
  for entry in "${hist_exp[@]}"; do
    IFS='|' read -r kind version vord step name <<<"$entry"
    ((vord <= $1)) && rows+=("('$kind', '$version', $vord, $step, '$name')")
  done
  local IFS=,
  echo "VALUES ${rows[*]}"
}

# versions_sql: (version, vord) of every version.
versions_sql() {
  local i rows=()
  for i in "${!hist_versions[@]}"; do rows+=("('${hist_versions[$i]}', $((i + 1)))"); done
  local IFS=,
  echo "VALUES ${rows[*]}"
}

# steps_sql MAX_VORD: (version, step) of every step of versions up to MAX_VORD.
steps_sql() {
  local entry version step i rows=()
  for entry in "${hist_steps[@]}"; do
    IFS='|' read -r version step <<<"$entry"
    i="${version%%-*}"
    ((10#$i <= $1)) && rows+=("('$version', $step)")
  done
  local IFS=,
  echo "VALUES ${rows[*]}"
}

# problems_sql: for each row of `checked` (an expectation), what is not true
# of it in the database; NULL when it holds.
problems_sql() {
  cat <<'EOF'
SELECT c.version, c.step, CASE
    WHEN c.kind = 'effect' AND eff.n > 1 THEN 'repeated-effect'
    WHEN c.kind = 'effect' THEN 'lost-effect'
    ELSE 'not-done' END AS class, CASE c.kind
    WHEN 'index' THEN CASE
      WHEN idx.indexrelid IS NULL THEN format('index %s does not exist', c.name)
      WHEN NOT (idx.indisvalid AND idx.indisready) THEN format('index %s is INVALID', c.name) END
    WHEN 'constraint' THEN CASE
      WHEN con.oid IS NULL THEN format('constraint %s does not exist', c.name) END
    WHEN 'validated' THEN CASE
      WHEN con.oid IS NULL THEN format('constraint %s does not exist', c.name)
      WHEN NOT con.convalidated THEN format('constraint %s is not validated', c.name) END
    WHEN 'table' THEN CASE
      WHEN pg_catalog.to_regclass('public.' || c.name) IS NULL THEN format('table %s does not exist', c.name) END
    WHEN 'effect' THEN CASE
      WHEN eff.n <> 1 THEN format('effect %s/%s#%s happened %s times, not once', c.version, c.step,
        c.name, eff.n) END
  END AS problem,
  CASE WHEN c.kind = 'effect' AND eff.n > 1 THEN eff.rows || '; ' ELSE '' END AS detail
FROM checked c
LEFT JOIN LATERAL (SELECT i.indexrelid, i.indisvalid, i.indisready FROM pg_index i
    JOIN pg_class x ON x.oid = i.indexrelid
    WHERE x.relname = c.name AND x.relnamespace = 'public'::regnamespace) idx ON c.kind = 'index'
LEFT JOIN LATERAL (SELECT k.oid, k.convalidated FROM pg_constraint k
    WHERE k.conname = c.name AND k.conrelid = 'public.soak_big'::regclass) con
  ON c.kind IN ('constraint', 'validated')
LEFT JOIN LATERAL (SELECT count(*) AS n, string_agg(format('seq %s pid %s at %s', f.seq, f.pid,
      to_char(f.at, 'HH24:MI:SS.MS')), ', ' ORDER BY f.seq) AS rows
    FROM soak_effects f WHERE f.version = c.version AND f.step = c.step AND f.stmt::text = c.name) eff
  ON c.kind = 'effect'
EOF
}

# run_check DB SQL: runs SQL, which prints CLASS|PROBLEM|CONTEXT lines, and
# records each as a violation (a PROBLEM once a round).
run_check() {
  local out class problem context
  if ! out="$(sql "$1" "$2" 2>&1)"; then
    violation check-failed "a check query failed: $(echo "$out" | head -3 | tr '\n' ' ')"
    return
  fi
  while IFS='|' read -r class problem context; do
    [[ -n "$class" ]] && violation "$class" "$problem${context:+ ($context)}" "$class|$problem"
  done <<<"$out"
}

# check_recorded_is_true DB: while nothing runs, before the final apply:
# everything dbmig recorded as done is true -- every step of the recorded
# version and those before it, and every step recorded `verified`.
check_recorded_is_true() {
  local db="$1" have
  have="$(sql "$db" "SELECT pg_catalog.to_regclass('dbmig.state') IS NOT NULL
    AND pg_catalog.to_regclass('dbmig.steps') IS NOT NULL")" || {
    violation check-failed "cannot read the database after the faults"
    return
  }
  [[ "$have" == t ]] || return 0
  local all=${#hist_versions[@]}
  run_check "$db" "
WITH exp(kind, version, vord, step, name) AS ($(expectations_sql "$all")),
vers(version, vord) AS ($(versions_sql)),
recorded AS (SELECT s.version, v.vord FROM dbmig.state s LEFT JOIN vers v USING (version)),
checked AS (SELECT e.* FROM exp e WHERE e.kind <> 'marker' AND (
    e.vord <= coalesce((SELECT vord FROM recorded), 0)
    OR EXISTS (SELECT 1 FROM dbmig.steps s
               WHERE s.version = e.version AND s.step = e.step AND s.state = 'verified')))
SELECT 'state', format('recorded version %s is not in the history', version), '' FROM recorded
  WHERE version IS NOT NULL AND vord IS NULL
UNION ALL
SELECT class, problem, format('%s%s/%s recorded done, seen before the final apply', detail, version, step)
FROM ($(problems_sql)) p WHERE problem IS NOT NULL"
}

# left_by_killed_runner: an SQL condition on dbmig.state, true when the lease
# is held by a runner this round killed with -9 and nobody renewed it since:
# it expires by itself within one TTL of the kill. A runner killed after its
# last commit (a script the server finishes after the client died) leaves
# nothing pending, so the final apply, a no-op, does not touch the lease.
left_by_killed_runner() {
  if ((${#killed_pids[@]} == 0)); then
    echo "false"
    return
  fi
  local pids
  pids="$(IFS='|'; echo "${killed_pids[*]}")"
  echo "(lease_owner ~ ':($pids):' AND lease_expires_at <= pg_catalog.now() + interval '${lease_ttl_s} seconds')"
}

# check_final DB TARGET_VORD: after the final apply, the database is exactly
# the history up to the target version, every effect once and in order.
check_final() {
  local db="$1" to="$2" target="${hist_versions[$(($2 - 1))]}"
  local all=${#hist_versions[@]}
  run_check "$db" "
WITH exp(kind, version, vord, step, name) AS ($(expectations_sql "$to")),
every(kind, version, vord, step, name) AS ($(expectations_sql "$all")),
want_steps(version, step) AS ($(steps_sql "$to")),
checked AS (SELECT * FROM exp WHERE kind <> 'marker'),
effect_order AS (
  SELECT f.seq, f.version, f.step, f.stmt, e.ord,
         max(e.ord) OVER (ORDER BY f.seq ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS later
  FROM soak_effects f
  JOIN (SELECT version, step, name, row_number() OVER (ORDER BY vord, step, name::int) AS ord
        FROM every WHERE kind = 'effect') e
    ON e.version = f.version AND e.step = f.step AND e.name = f.stmt::text)
SELECT 'state', format('recorded version is %s, not %s', coalesce(version, 'none'), '$target'), ''
  FROM dbmig.state WHERE version IS DISTINCT FROM '$target'
UNION ALL
SELECT 'lease-held', format('lease still held by %s (expires %s)', lease_owner, lease_expires_at), ''
  FROM dbmig.state WHERE lease_owner IS NOT NULL AND NOT $(left_by_killed_runner)
UNION ALL
SELECT 'state', format('step %s/%s is not recorded', w.version, w.step), '' FROM want_steps w
  WHERE NOT EXISTS (SELECT 1 FROM dbmig.steps s WHERE s.version = w.version AND s.step = w.step)
UNION ALL
SELECT 'state', format('step %s/%s is recorded %s, not verified%s', version, step, state,
    coalesce(': ' || pg_catalog.replace(left(error, 200), '|', '/'), '')), ''
  FROM dbmig.steps WHERE state <> 'verified'
UNION ALL
SELECT 'state', format('step %s/%s is recorded but beyond the target', s.version, s.step), '' FROM dbmig.steps s
  WHERE NOT EXISTS (SELECT 1 FROM want_steps w WHERE w.version = s.version AND w.step = s.step)
UNION ALL
SELECT class, problem, format('%s%s/%s, after the final apply', detail, version, step) FROM ($(problems_sql)) p
  WHERE problem IS NOT NULL
UNION ALL
SELECT 'stray', format('effect %s/%s#%s happened %s times but no applied step writes it', version, step,
    stmt, count(*)), ''
  FROM soak_effects f WHERE NOT EXISTS (SELECT 1 FROM exp e WHERE e.kind = 'effect'
    AND e.version = f.version AND e.step = f.step AND e.name = f.stmt::text)
  GROUP BY version, step, stmt
UNION ALL
SELECT 'out-of-order', format('effect %s/%s#%s (seq %s) was written after an effect of a later step',
    version, step, stmt, seq), ''
  FROM effect_order WHERE ord < later
UNION ALL
SELECT 'stale-writer', format('effect %s/%s#%s (seq %s) was written by session %s after session %s took over',
    r.version, r.step, r.stmt, r.seq, r.session, s.session), ''
  FROM soak_effects r
  JOIN LATERAL (SELECT s.session FROM soak_effects s
      WHERE s.seq < r.seq AND s.session <> r.session
        AND EXISTS (SELECT 1 FROM soak_effects t WHERE t.session = r.session AND t.seq < s.seq)
      ORDER BY s.seq LIMIT 1) s ON true
UNION ALL
SELECT 'stray', format('index %s exists but no applied step creates it', x.relname), ''
  FROM pg_index i JOIN pg_class x ON x.oid = i.indexrelid
  WHERE i.indrelid = 'public.soak_big'::regclass
    AND x.relname NOT IN (SELECT name FROM exp WHERE kind = 'index')
UNION ALL
SELECT 'stray', format('constraint %s exists but no applied step adds it', conname), '' FROM pg_constraint
  WHERE conrelid = 'public.soak_big'::regclass
    AND conname NOT IN (SELECT name FROM exp WHERE kind = 'constraint')
UNION ALL
SELECT 'stray', format('table %s exists but no applied step creates it', relname), '' FROM pg_class
  WHERE relnamespace = 'public'::regnamespace AND relkind = 'r' AND relname LIKE 'soak\_t%'
    AND relname NOT IN (SELECT name FROM exp WHERE kind = 'table')
UNION ALL
SELECT 'invalid-index', format('INVALID index %s on %s left in the database', i.indexrelid::regclass, i.indrelid::regclass), ''
  FROM pg_index i WHERE NOT (i.indisvalid AND i.indisready)
UNION ALL
SELECT 'marker', format('soak_marker says %s, but the last applied version that sets it is %s',
    coalesce(m.version, 'nothing'), coalesce(w.name, 'none')), ''
  FROM soak_marker m
  LEFT JOIN (SELECT name FROM exp WHERE kind = 'marker' ORDER BY vord DESC, step DESC LIMIT 1) w ON true
  WHERE m.version IS DISTINCT FROM w.name"
}

# target_dir TARGET_VORD: the round's directory cut at the target version,
# so that status --exit-code and verify judge exactly what was applied.
target_dir() {
  local to="$1" all=${#hist_versions[@]} i
  if ((to == all)); then
    echo "$hist_dir"
    return
  fi
  local cut="$rdir/migrations-to-$to"
  mkdir -p "$cut"
  for ((i = 0; i < to; i++)); do cp -r "$hist_dir/${hist_versions[$i]}" "$cut/"; done
  echo "$cut"
}

# check_commands DB TARGET_VORD: status --exit-code and verify both exit 0.
check_commands() {
  local db="$1" dir
  dir="$(target_dir "$2")"
  run_bounded 60 "$rdir/status.log" "$dbmig" status --exit-code --dir "$dir" --db "$(db_url "$db")"
  ((RC == 0)) || violation status "dbmig status --exit-code exited $RC: $(grep -v '^ ' "$rdir/status.log" | tail -4 | tr '\n' ' ')"
  run_bounded 60 "$rdir/verify.log" "$dbmig" verify --dir "$dir" --db "$(db_url "$db")"
  ((RC == 0)) || violation verify "dbmig verify exited $RC: $(tail -4 "$rdir/verify.log" | tr '\n' ' ')"
}

# --- the checks' own check ---------------------------------------------------

# The violations run_self_check plants, and the class each must be found as.
planted_classes=(repeated-effect out-of-order stale-writer lost-effect stray not-done
  invalid-index marker lease-held state status verify)
plant_sql="
INSERT INTO soak_effects (version, step, stmt)
  SELECT version, step, stmt FROM soak_effects ORDER BY seq LIMIT 1;
UPDATE soak_effects SET session = 'planted' WHERE seq IN
  ((SELECT min(seq) FROM soak_effects), (SELECT max(seq) FROM soak_effects));
DELETE FROM soak_effects WHERE seq = (SELECT max(seq) FROM soak_effects
  WHERE (version, step, stmt) <> (SELECT version, step, stmt FROM soak_effects ORDER BY seq LIMIT 1));
INSERT INTO soak_effects (version, step, stmt) VALUES ('9999-planted', 1, 1);
UPDATE pg_catalog.pg_index SET indisvalid = false WHERE indexrelid = (SELECT indexrelid
  FROM pg_catalog.pg_index WHERE indrelid = 'public.soak_big'::regclass LIMIT 1);
UPDATE soak_marker SET version = 'planted';
UPDATE dbmig.state SET lease_owner = 'planted:1:0', lease_expires_at = now() + interval '1 hour';
UPDATE dbmig.steps SET state = 'applied' WHERE (version, step) =
  (SELECT version, step FROM dbmig.steps ORDER BY version DESC, step DESC LIMIT 1);
UPDATE dbmig.state SET version = (SELECT version FROM dbmig.steps
  WHERE version < (SELECT max(version) FROM dbmig.steps) ORDER BY version DESC LIMIT 1);"

# run_self_check: one round without faults must pass every check; then one
# violation of each kind is planted and every one must be reported.
run_self_check() {
  local started=$SECONDS
  round=0
  round_violations=0
  round_lines=()
  declare -gA round_seen=()
  rng_seed "$seed" 0
  rdir="$work/self-check"
  db=soak_self_check
  mkdir -p "$rdir"
  history_generate "$rdir/migrations"
  local all=${#hist_versions[@]} class missing=()
  "$dbmig" generate-verify --dir "$hist_dir" >"$rdir/generate-verify.log" 2>&1 ||
    violation infra "generate-verify failed: $(grep -m1 error "$rdir/generate-verify.log")"
  sql postgres "CREATE DATABASE $db TEMPLATE soak_template" >/dev/null || return 1
  crashed=0
  final_note=""
  final_apply "${hist_versions[$((all - 1))]}"
  check_final "$db" "$all"
  check_commands "$db" "$all"
  if ((round_violations)); then
    echo "self-check: FAILED, a clean apply broke the invariants"
    printf '%s\n' "${round_lines[@]}"
    return 1
  fi
  sql "$db" "$plant_sql" >/dev/null || { echo "self-check: cannot plant violations" >&2; return 1; }
  planting=1
  declare -gA round_seen=()
  check_final "$db" "$all"
  check_commands "$db" "$all"
  planting=0
  for class in "${planted_classes[@]}"; do
    [[ -n "${planted_found[$class]-}" ]] || missing+=("$class")
  done
  sql postgres "DROP DATABASE $db WITH (FORCE)" >/dev/null 2>&1
  if ((${#missing[@]})); then
    echo "self-check: FAILED, planted but not reported: ${missing[*]}"
    return 1
  fi
  echo "self-check: a clean apply passes; all ${#planted_classes[@]} planted violations reported" \
    "($((SECONDS - started))s)"
}

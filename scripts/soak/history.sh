# shellcheck shell=bash
# shellcheck disable=SC2034,SC2154 # globals shared with scripts/soak.sh
# The migration history of one soak round, generated from the seeded random
# numbers (scripts/soak/lib.sh), and what applying each of its steps must
# leave behind. Sourced by scripts/soak.sh.
#
# The history runs on the round's copy of soak_template: soak_big (the big
# table), soak_effects (every INSERT step writes one row per statement, with
# no unique key, so a repeat shows as a second row) and soak_marker (versions
# set it to their own name; the last one that does must win).

hist_versions=()  # version directory names, oldest first
hist_steps=()     # "version|step" of every step, in order
hist_exp=()       # "kind|version|vord|step|name": what each step leaves behind
#                   kinds: effect (name = statement number), index, constraint,
#                   validated, table, marker (name = the version)
hist_triggers=()  # per version ordinal (from 1): the fault trigger points its steps offer
hist_dir=""
hist_builds=0     # concurrent index builds in the history

# history_generate DIR: writes the round's migration directory into DIR.
history_generate() {
  hist_dir="$1"
  hist_versions=()
  hist_steps=()
  hist_exp=()
  hist_triggers=("")
  hist_builds=0
  T=""
  mkdir -p "$hist_dir"
  local count kinds=() i
  rand 3
  count=$((5 + R))
  # One multi-statement non-transactional version and one concurrent index
  # build in every round; the rest at random.
  kinds+=(insert)
  for ((i = 2; i <= count; i++)); do
    pick insert table index multi constraint mixed insert multi
    kinds+=("$P")
  done
  rand $((count - 1))
  kinds[R + 1]=multi
  local has_build=0
  for i in "${kinds[@]}"; do [[ "$i" == index || "$i" == mixed ]] && has_build=1; done
  if ((!has_build)); then
    rand $((count - 1))
    [[ "${kinds[$((R + 1))]}" == multi ]] && R=$(((R + 1) % (count - 1)))
    kinds[R + 1]=index
  fi
  for i in "${kinds[@]}"; do "version_$i"; done
}

# --- building blocks ---------------------------------------------------------

# new_version KIND: starts the next version; sets V, VORD, VDIR.
new_version() {
  VORD=$((${#hist_versions[@]} + 1))
  V="$(printf '%04d-%s' "$VORD" "$1")"
  VDIR="$hist_dir/$V"
  mkdir -p "$VDIR"
  hist_versions+=("$V")
  hist_triggers+=("")
}

# Step text is collected in T by the *_sql functions (they also record what
# the step leaves behind, so they must not run in a subshell), then written
# by add_step.

# add_step STEP FILE: writes T as a step file of the current version.
add_step() {
  printf '%s' "$T" >"$VDIR/$2"
  hist_steps+=("$V|$1")
  T=""
}

# expect KIND STEP NAME: what step STEP of the current version leaves behind.
expect() {
  hist_exp+=("$1|$V|$VORD|$2|$3")
}

# offers TRIGGER: the current version offers a fault trigger point.
offers() {
  hist_triggers[VORD]+=" $1"
}

# effect_sql STEP STMT: an INSERT that must take effect exactly once.
effect_sql() {
  expect effect "$1" "$2"
  T+="INSERT INTO soak_effects (version, step, stmt) VALUES ('$V', $1, $2);"$'\n'
}

marker_sql() {
  expect marker "$1" "$V"
  T+="UPDATE soak_marker SET version = '$V' WHERE id = 1;"$'\n'
}

# pause_sql TAG: a pause inside a step, that the fault injector watches for.
pause_sql() {
  rand 6
  T+="SELECT pg_sleep(0.$((3 + R))) AS ${1}_$VORD;"$'\n'
  offers "${1#soak_}"
}

# index_sql STEP: a CREATE INDEX CONCURRENTLY IF NOT EXISTS on soak_big.
index_sql() {
  local name="soak_${VORD}_${1}_idx" unique="" columns
  pick "(k)" "(k, id)" "(grp, k)" "(id) WHERE grp < 40" "unique (id)" "(k) WHERE grp > 10" "(payload)"
  columns="$P"
  if [[ "$columns" == unique* ]]; then
    unique="UNIQUE "
    columns="${columns#unique }"
  fi
  expect index "$1" "$name"
  hist_builds=$((hist_builds + 1))
  offers build
  T+="CREATE ${unique}INDEX CONCURRENTLY IF NOT EXISTS $name ON soak_big $columns;"$'\n'
}

# build_allowed: at most three index builds a round keeps a round short.
build_allowed() {
  ((hist_builds < 3))
}

# --- version kinds -----------------------------------------------------------

# insert: one transactional step, one or two INSERTs, perhaps a pause.
version_insert() {
  new_version insert
  chance 50 && pause_sql soak_txpause
  effect_sql 1 1
  chance 50 && effect_sql 1 2
  marker_sql 1
  add_step 1 up.sql
}

# table: CREATE TABLE and a row in it, in one transaction.
version_table() {
  new_version table
  local table="soak_t${VORD}"
  expect table 1 "$table"
  T+="CREATE TABLE $table (id INT PRIMARY KEY, note TEXT NOT NULL);"$'\n'
  T+="INSERT INTO $table VALUES (1, '$V');"$'\n'
  effect_sql 1 1
  marker_sql 1
  add_step 1 up.sql
}

# index: one unmarked step holding only a concurrent index build.
version_index() {
  build_allowed || { version_insert; return; }
  new_version index
  index_sql 1
  add_step 1 up.sql
}

# multi: a marked non-transactional step of several statements, each of
# which runs on its own in autocommit: INSERT, pause, perhaps an index build,
# marker, INSERT.
version_multi() {
  new_version multi
  effect_sql 1 1
  pause_sql soak_ntpause
  if build_allowed && chance 40; then index_sql 1; fi
  marker_sql 1
  effect_sql 1 2
  add_step 1 up-danger-non-transactional.sql
}

# constraint: ADD CONSTRAINT ... NOT VALID, then VALIDATE (transactional or
# in a marked non-transactional step), perhaps a third step.
version_constraint() {
  new_version constraint
  local name="soak_${VORD}_chk"
  pick "k >= 0" "grp < 97" "id > 0" "k < 100003"
  expect constraint 1 "$name"
  T+="ALTER TABLE soak_big ADD CONSTRAINT $name CHECK ($P) NOT VALID;"$'\n'
  effect_sql 1 1
  add_step 1 up1.sql
  expect validated 2 "$name"
  offers validate
  if chance 40; then
    T+="ALTER TABLE soak_big VALIDATE CONSTRAINT $name;"$'\n'
    effect_sql 2 1
    add_step 2 up2-danger-non-transactional.sql
  else
    # The pause keeps the step's one message (and so the trigger) visible.
    pause_sql soak_txpause
    T+="ALTER TABLE soak_big VALIDATE CONSTRAINT $name;"$'\n'
    marker_sql 2
    add_step 2 up2.sql
  fi
  if chance 50; then
    effect_sql 3 1
    marker_sql 3
    add_step 3 up3.sql
  fi
}

# mixed: a transactional step, a concurrent build, a marked multi-statement step.
version_mixed() {
  build_allowed || { version_multi; return; }
  new_version mixed
  effect_sql 1 1
  add_step 1 up1.sql
  index_sql 2
  add_step 2 up2.sql
  effect_sql 3 1
  pause_sql soak_ntpause
  marker_sql 3
  effect_sql 3 2
  add_step 3 up3-danger-non-transactional.sql
}

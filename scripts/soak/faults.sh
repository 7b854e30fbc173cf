# shellcheck shell=bash
# shellcheck disable=SC2034,SC2154 # globals shared with scripts/soak.sh
# One soak round: its history, the runners and the faults injected into
# them, the final apply and the checks; and the summary at the end.
# Sourced by scripts/soak.sh.

declare -A fault_count=()   # kind -> faults delivered
declare -A fault_missed=()  # kind -> faults whose trigger point never came
repairs_after_crash=0       # final applies that needed --repair after a server crash
lease_lost_notes=0          # runners that lost their lease without being faulted
round_times=()
killed_pids=()              # runners this round killed with -9

# --- runners -----------------------------------------------------------------

# start_runner TO_VERSION: a `dbmig apply` in the background; sets SPAWNED.
start_runner() {
  runner_seq=$((runner_seq + 1))
  spawn "$rdir/runner$runner_seq.log" "$dbmig" apply --dir "$hist_dir" --db "$(db_url "$db")" \
    --to "$1" --lease-ttl "$lease_ttl" --lock-timeout 30s --verify-timeout 120s
  runner_log["$SPAWNED"]="$rdir/runner$runner_seq.log"
}

# lease_holder: the PID of the runner holding the lease (one of ours and
# alive), else empty. A runner is <host>:<pid>:<hex>.
lease_holder() {
  local owner pid
  owner="$(sql "$db" "SELECT lease_owner FROM dbmig.state
    WHERE lease_expires_at > pg_catalog.now()" 2>/dev/null)" || return 0
  pid="${owner#*:}"
  pid="${pid%%:*}"
  [[ "$pid" =~ ^[0-9]+$ ]] && alive "$pid" && echo "$pid"
}

lease_token() {
  sql "$db" "SELECT lease_token FROM dbmig.state" 2>/dev/null
}

# any_alive PID...: true while one of them runs.
any_alive() {
  local pid
  for pid in "$@"; do alive "$pid" && return 0; done
  return 1
}

# --- trigger points ----------------------------------------------------------

# trigger_pattern TRIGGER: what a dbmig backend runs at that point (ILIKE).
trigger_pattern() {
  case "$1" in
    build) echo '%create%index concurrently%' ;;
    ntpause) echo '%soak_ntpause%' ;;
    txpause) echo '%soak_txpause%' ;;
    validate) echo '%validate constraint%' ;;
  esac
}

# await_trigger TRIGGER DELAY_MS PID...: waits (at most 25 s, and only while
# one of the runners runs) until a dbmig backend reaches the trigger point,
# then DELAY_MS more; `any` is DELAY_MS after now. False if it never came.
await_trigger() {
  local trigger="$1" delay="$2"
  shift 2
  if [[ "$trigger" == any ]]; then
    ms_sleep "$delay"
    any_alive "$@"
    return
  fi
  local pattern deadline=$((SECONDS + 25)) seen
  pattern="$(trigger_pattern "$trigger")"
  while ((SECONDS < deadline)) && any_alive "$@"; do
    seen="$(sql "$db" "SELECT count(*) FROM pg_stat_activity WHERE datname = '$db'
      AND application_name = 'dbmig' AND state = 'active' AND query ILIKE '$pattern'" 2>/dev/null)"
    if [[ "$seen" =~ ^[1-9] ]]; then
      ms_sleep "$delay"
      return 0
    fi
    sleep 0.05
  done
  return 1
}

# pick_victim CHOICE PID...: sets VICTIM to the lease holder, else to live
# runner number CHOICE (modulo their count).
pick_victim() {
  local choice="$1"
  shift
  VICTIM="$(lease_holder)"
  local pid live=()
  if [[ -n "$VICTIM" ]]; then
    for pid in "$@"; do [[ "$pid" == "$VICTIM" ]] && return 0; done
  fi
  for pid in "$@"; do alive "$pid" && live+=("$pid"); done
  VICTIM=""
  ((${#live[@]})) || return 1
  VICTIM="${live[$((choice % ${#live[@]}))]}"
}

# --- a phase: runners, one fault ---------------------------------------------

# plan_phase FROM_VORD TO_VORD: draws one phase -- runners applying up to
# version TO_VORD while one fault is injected at a point that versions
# FROM_VORD+1..TO_VORD offer -- and appends it to round_plan as
# from|to|kind|runners|trigger|delay_ms|choice|resume_after_others|resume_ms|staggers.
# Every random choice is drawn here, before anything depends on timing, so
# that a round's plan is a function of (seed, round) alone.
plan_phase() {
  local from="$1" to="$2" kind runners trigger triggers="" i
  pick kill9 kill9 sigstop sigstop sigstop sigint restart concurrent
  kind="$P"
  if [[ "$kind" == concurrent ]]; then
    rand 2
    runners=$((2 + R))
  else
    pick 1 1 1 2 2 3
    runners="$P"
  fi
  for ((i = from + 1; i <= to; i++)); do triggers+="${hist_triggers[$i]}"; done
  if [[ "$kind" == sigstop && "$triggers" == *ntpause* ]] && chance 60; then
    trigger=ntpause
  elif [[ -n "$triggers" ]] && chance 80; then
    # shellcheck disable=SC2086 # the trigger list is words
    pick $triggers
    trigger="$P"
  else
    trigger=any
  fi
  local delay choice resume_after_others=0 resume_ms staggers=()
  if [[ "$trigger" == any ]]; then
    rand 1900
    delay=$((100 + R))
  elif [[ "$trigger" == build ]]; then
    rand 1500
    delay="$R"
  else
    rand 250
    delay="$R"
  fi
  rand 3
  choice="$R"
  chance 50 && resume_after_others=1
  rand 2000
  resume_ms=$((lease_ttl_s * 1000 + 300 + R))
  for ((i = 0; i < runners; i++)); do
    rand 150
    staggers+=("$R")
  done
  local IFS=,
  round_plan+=("$from|$to|$kind|$runners|$trigger|$delay|$choice|$resume_after_others|$resume_ms|${staggers[*]}")
}

# plan_round N DIR: round N's history (written into DIR), target version
# (plan_to) and phases (round_plan): one phase, or two, the first to a
# random earlier version so that the second starts with work half done.
plan_round() {
  rng_seed "$seed" "$1"
  history_generate "$2"
  local all=${#hist_versions[@]} phases=1
  if chance 70; then plan_to=$all; else rand $((all - 1)); plan_to=$((R + 1)); fi
  round_plan=()
  ((plan_to >= 2)) && chance 40 && phases=2
  if ((phases == 2)); then
    rand $((plan_to - 1))
    plan_phase 0 $((R + 1))
    plan_phase $((R + 1)) "$plan_to"
  else
    plan_phase 0 "$plan_to"
  fi
}

# print_plan N: round N's plan, without running it (--plan).
print_plan() {
  local dir="$work/plan-$1" phase from to kind runners trigger delay choice after resume staggers line
  plan_round "$1" "$dir"
  echo "round $1: ${#hist_versions[@]} versions, ${#hist_steps[@]} steps, to ${hist_versions[$((plan_to - 1))]}"
  local v
  for v in "${hist_versions[@]}"; do
    echo "  $v: $(cd "$dir/$v" && echo *.sql)"
  done
  for phase in "${round_plan[@]}"; do
    IFS='|' read -r from to kind runners trigger delay choice after resume staggers <<<"$phase"
    line="  phase to ${hist_versions[$((to - 1))]}: $kind, $runners runner(s)"
    line+=" (pausing ${staggers//,/, } ms after each start)"
    [[ "$kind" == concurrent ]] || line+="; fault at $trigger + $delay ms"
    if [[ "$kind" == sigstop ]]; then
      if ((after)); then line+=", resumed once the others are done"; else line+=", resumed $resume ms later"; fi
    fi
    echo "$line"
  done
  rm -rf "$dir"
}

# run_phase PLAN: runs one planned phase (plan_phase).
run_phase() {
  local to kind runners trigger delay choice resume_after_others resume_ms staggers_list i
  IFS='|' read -r _ to kind runners trigger delay choice resume_after_others resume_ms \
    staggers_list <<<"$1"
  local target="${hist_versions[$((to - 1))]}" staggers
  IFS=, read -ra staggers <<<"$staggers_list"

  local pids=() victim="" token_before token_after
  for ((i = 0; i < runners; i++)); do
    start_runner "$target"
    pids+=("$SPAWNED")
    ms_sleep "${staggers[$i]}"
  done
  ((runners >= 2)) && fault_count[concurrent]=$((${fault_count[concurrent]-0} + 1))
  local label="$kind"
  [[ "$kind" == concurrent ]] || label+="@$trigger"
  ((runners >= 2)) && label+="x$runners"

  if [[ "$kind" != concurrent ]]; then
    if await_trigger "$trigger" "$delay" "${pids[@]}" &&
      { [[ "$kind" == restart ]] || pick_victim "$choice" "${pids[@]}"; }; then
      fault_count[$kind]=$((${fault_count[$kind]-0} + 1))
      victim="${VICTIM-}"
      [[ "$kind" == restart ]] && victim=""
      case "$kind" in
        kill9)
          kill_hard "$victim"
          killed_pids+=("$victim")
          ;;
        sigint) signal INT "$victim" ;;
        restart)
          crashed=1
          server_restart_immediate || exit 2
          ;;
        sigstop)
          signal STOP "$victim"
          # Its token while it is stopped, if it holds the lease.
          token_before="$(sql "$db" "SELECT lease_token FROM dbmig.state
            WHERE lease_owner LIKE '%:$victim:%' AND lease_expires_at > pg_catalog.now()" 2>/dev/null)"
          if ((runners == 1)); then
            start_runner "$target"
            pids+=("$SPAWNED")
          fi
          if ((resume_after_others)); then
            # Resume once the others are done (they took the lease over).
            local deadline=$((SECONDS + 60)) others=()
            for i in "${pids[@]}"; do [[ "$i" != "$victim" ]] && others+=("$i"); done
            while any_alive "${others[@]}" && ((SECONDS < deadline)); do sleep 0.1; done
          else
            # Resume just past the lease, while the others may be mid-step.
            ms_sleep "$resume_ms"
          fi
          token_after="$(lease_token)"
          [[ -n "$token_before" && "$token_after" != "$token_before" ]] && label+="/taken-over"
          signal CONT "$victim"
          ;;
      esac
    else
      fault_missed[$kind]=$((${fault_missed[$kind]-0} + 1))
      label+="(missed)"
    fi
  fi
  phase_labels+=("$label")

  local pid
  for pid in "${pids[@]}"; do
    wait_exit "$pid" 120
    judge_exit "$pid" "$RC" "$kind" "$victim"
  done
}

# judge_exit PID RC KIND VICTIM: is this runner's exit code one the promise
# allows?
judge_exit() {
  local pid="$1" rc="$2" kind="$3" victim="$4" log="${runner_log[$1]}" why
  why="$(grep -m1 'error:' "$log" | cut -c1-300)"
  if ((rc == 124)); then
    violation hang "runner $pid ($kind) did not exit within 120 s (killed); log ${log#"$work"/}"
    return
  fi
  if [[ "$pid" == "$victim" ]]; then
    case "$kind" in
      kill9) return ;;
      sigint) ((rc <= 1)) || violation runner-exit "SIGINT'ed runner exited $rc: $why" ;;
      sigstop)
        # Exit 0 is right when the pause came after its last write; what a
        # paused runner must not do (write after losing the lease) the
        # database checks catch.
        ((rc <= 1)) || violation runner-exit "paused runner exited $rc: $why"
        ;;
    esac
    return
  fi
  ((rc == 0)) && return
  if ((crashed && rc == 1)); then return; fi
  if ((rc == 1)) && grep -q 'lease lost' "$log"; then
    lease_lost_notes=$((lease_lost_notes + 1))
    round_lines+=("  note: runner $pid lost its lease without a fault (a starved heartbeat?)")
    return
  fi
  local context="the fault ($kind) hit another runner"
  [[ "$kind" == concurrent ]] && context="concurrent runners, no fault"
  violation runner-exit "runner exited $rc ($context): $why" \
    "runner-exit|$rc|$why"
}

# --- a round -----------------------------------------------------------------

# final_apply TARGET: the clean apply after the faults; --repair only where
# contract section 6 makes it the operator's job (an index a server crash left INVALID).
final_apply() {
  local target="$1" log="$rdir/final.log"
  local args=(apply --dir "$hist_dir" --db "$(db_url "$db")" --to "$target" --lease-ttl "$lease_ttl"
    --lock-timeout 60s --verify-timeout 120s)
  run_bounded 180 "$log" "$dbmig" "${args[@]}"
  ((RC == 0)) && return
  local why
  why="$(grep -m1 'error:' "$log" | cut -c1-300)"
  if ((RC == 1)) && grep -q -- '--repair' "$log"; then
    if ((crashed)); then
      repairs_after_crash=$((repairs_after_crash + 1))
      final_note=" (--repair after a crash)"
    else
      violation needed-repair "the final apply needed --repair though the server never crashed: $why"
    fi
    run_bounded 180 "$rdir/final-repair.log" "$dbmig" "${args[@]}" --repair
    ((RC == 0)) && return
    why="$(grep -m1 'error:' "$rdir/final-repair.log" | cut -c1-300)"
    violation final-apply "the final apply --repair exited $RC: $why"
    return
  fi
  violation final-apply "the final apply exited $RC: $why"
}

# run_round N: one round, seeded by (seed, N).
run_round() {
  local started=$SECONDS
  round_violations=0
  declare -gA round_seen=()
  round_lines=()
  runner_seq=0
  crashed=0
  killed_pids=()
  final_note=""
  phase_labels=()
  declare -gA runner_log=()
  rdir="$work/r$1"
  db="soak_r$1"
  mkdir -p "$rdir"
  plan_round "$1" "$rdir/migrations"
  local to="$plan_to" phase
  if ! "$dbmig" generate-verify --dir "$hist_dir" >"$rdir/generate-verify.log" 2>&1; then
    violation infra "generate-verify failed: $(grep -m1 'error' "$rdir/generate-verify.log")"
    round_done "$1" "$started" "$to"
    return
  fi
  if ! sql postgres "CREATE DATABASE $db TEMPLATE soak_template" >/dev/null; then
    echo "soak: cannot create database $db" >&2
    exit 2
  fi
  for phase in "${round_plan[@]}"; do run_phase "$phase"; done

  check_recorded_is_true "$db"
  final_apply "${hist_versions[$((to - 1))]}"
  check_final "$db" "$to"
  check_commands "$db" "$to"
  round_done "$1" "$started" "$to"
}

# round_done N STARTED TO_VORD: the round's line; its database goes unless it
# found a violation and --keep was given.
round_done() {
  local elapsed=$((SECONDS - $2)) verdict=ok
  round_times+=("$elapsed")
  ((round_violations)) && verdict="$round_violations VIOLATION(S)"
  local line
  local steps=${#hist_steps[@]} phases
  phases="$(IFS=,; echo "${phase_labels[*]-}")"
  echo "round $1: ${#hist_versions[@]} versions, $steps steps, to ${hist_versions[$(($3 - 1))]};" \
    "faults: ${phases:-none}${final_note}; ${elapsed}s; $verdict"
  for line in "${round_lines[@]}"; do echo "$line"; done
  if ((!round_violations || !keep)); then
    sql postgres "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1
    ((keep)) || rm -rf "$rdir"
  fi
}

# --- the end -----------------------------------------------------------------

# join_list WORD...: the words separated by ", ".
join_list() {
  local IFS=,
  local joined="$*"
  echo "${joined//,/, }"
}

print_summary() {
  local kind faults=() total=0 t
  for kind in kill9 sigint sigstop restart concurrent; do
    faults+=("$kind ${fault_count[$kind]-0}")
  done
  for kind in "${!fault_missed[@]}"; do faults+=("$kind not delivered ${fault_missed[$kind]}"); done
  for t in "${round_times[@]}"; do total=$((total + t)); done
  echo "soak: $rounds_run round(s), seed $seed; faults: $(join_list "${faults[@]}");" \
    "--repair after a crash: $repairs_after_crash; unprovoked lease losses: $lease_lost_notes;" \
    "violations: ${#violations[@]}; total $((SECONDS - soak_started))s" \
    "(rounds $((rounds_run ? total / rounds_run : 0))s on average)"
  local v classes=()
  for v in "${!violation_kinds[@]}"; do classes+=("$v ${violation_kinds[$v]}"); done
  ((${#classes[@]})) && echo "soak: violations by kind: $(join_list "${classes[@]}")"
  for v in "${violations[@]}"; do
    echo "  $v"
  done
  if ((${#violations[@]})); then
    echo "soak: replay a round with: scripts/soak.sh --seed $seed --from-round R --rounds 1"
  fi
}

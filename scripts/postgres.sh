#!/usr/bin/env bash
# A throwaway PostgreSQL 15 cluster for the tests (DESIGN.md §5, §7).
#
#   scripts/postgres.sh start [DIR]   creates a cluster in DIR (default: a new /tmp/hearth-pg.XXXXXX),
#                                     starts it on 127.0.0.1 at a free port, creates the role
#                                     `hearth` and the database `hearth_test` it owns, and prints
#                                     the URL (postgresql://hearth@127.0.0.1:PORT/hearth_test) as
#                                     the only line on stdout; progress goes to stderr.
#   scripts/postgres.sh stop DIR      stops that cluster and removes DIR.
#   scripts/postgres.sh down DIR      stops the server but keeps the cluster (a restart's first
#   scripts/postgres.sh up DIR        half); `up` starts it again on the same port.
#
# DIR holds data/ (the cluster), sock/ (the Unix socket), log (the server log) and url. Nothing is
# synced to disk (fsync=off): the data is meant to vanish. Authentication is `trust` and the server
# listens on loopback only. initdb refuses to run as root, so as root the server runs as the
# `postgres` system user, which then owns DIR. PG_BIN overrides /usr/lib/postgresql/15/bin.
set -euo pipefail

pg_bin=${PG_BIN:-/usr/lib/postgresql/15/bin}
marker=hearth-postgres-test-cluster  # a file in DIR: `stop` removes only folders that have it

say() { echo "postgres.sh: $*" >&2; }
die() {
  say "$*"
  exit 1
}

# Runs a command as the cluster's owner: `postgres` when we are root, else ourselves.
as_owner() {
  if [ "$(id -u)" -eq 0 ]; then
    su postgres -s /bin/sh -c "$(printf '%q ' "$@")"
  else
    "$@"
  fi
}

# A TCP port nobody listens on right now (the kernel's choice; a range scan without python3).
free_port() {
  if command -v python3 >/dev/null 2>&1 &&
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])' \
      2>/dev/null; then
    return
  fi
  for p in $(seq 55432 55532); do
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
      echo "$p"
      return
    fi
  done
  return 1
}

# Starts the server of the cluster in $1 on port $2.
server_start() {
  as_owner "$pg_bin/pg_ctl" -D "$1/data" -l "$1/log" -w -t 60 \
    -o "-p $2 -c listen_addresses=127.0.0.1 -c unix_socket_directories=$1/sock -c fsync=off -c synchronous_commit=off -c full_page_writes=off" \
    start >/dev/null 2>&1
}

start() {
  local dir=${1:-}
  [ -x "$pg_bin/initdb" ] || die "no PostgreSQL 15 at $pg_bin (run scripts/install-deps.sh)"
  if [ -z "$dir" ]; then
    dir=$(mktemp -d /tmp/hearth-pg.XXXXXX)
  else
    mkdir -p "$dir"
  fi
  dir=$(cd "$dir" && pwd)
  touch "$dir/$marker"
  mkdir -p "$dir/sock"
  if [ "$(id -u)" -eq 0 ]; then
    id postgres >/dev/null 2>&1 || die "running as root but there is no 'postgres' user to run the server"
    chown -R postgres:postgres "$dir"
  fi
  chmod 700 "$dir"

  local t0=$SECONDS
  as_owner "$pg_bin/initdb" -D "$dir/data" -U postgres -A trust -E UTF8 --locale=C -N \
    >"$dir/initdb.log" 2>&1 || die "initdb failed; see $dir/initdb.log: $(tail -n 5 "$dir/initdb.log")"

  # The port can be taken between choosing and binding it: try a few.
  local port="" tries
  for tries in 1 2 3 4 5; do
    port=$(free_port) || die "no free TCP port on 127.0.0.1"
    if server_start "$dir" "$port"; then
      break
    fi
    port=""
  done
  [ -n "$port" ] || die "the server did not start; see $dir/log: $(tail -n 5 "$dir/log" 2>/dev/null)"

  local psql=("$pg_bin/psql" -X -q -v ON_ERROR_STOP=1 -h "$dir/sock" -p "$port" -U postgres -d postgres)
  # pg_checkpoint and pg_read_all_settings: the encryption test flushes the pages to disk and
  # reads where the data folder is, to look for plaintext in it.
  as_owner "${psql[@]}" -c "CREATE ROLE hearth LOGIN" -c "CREATE DATABASE hearth_test OWNER hearth" \
    -c "GRANT pg_checkpoint, pg_read_all_settings TO hearth" \
    >/dev/null || die "could not create the role and database; see $dir/log"

  local url="postgresql://hearth@127.0.0.1:$port/hearth_test"
  echo "$url" >"$dir/url"
  say "running in $dir on port $port ($((SECONDS - t0)) s); stop: scripts/postgres.sh stop $dir"
  echo "$url"
}

stop() {
  local dir=${1:-}
  [ -n "$dir" ] || die "usage: postgres.sh stop DIR"
  [ -d "$dir" ] || return 0
  [ -f "$dir/$marker" ] || die "$dir is not a cluster made by postgres.sh start; not touching it"
  if [ -f "$dir/data/postmaster.pid" ]; then
    as_owner "$pg_bin/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 ||
      say "pg_ctl stop failed; removing $dir anyway"
  fi
  rm -rf "$dir"
}

# The cluster in DIR, made by `start` (dies otherwise).
cluster() {
  [ -n "${1:-}" ] && [ -f "$1/$marker" ] || die "${1:-(none)} is not a cluster made by postgres.sh start"
}

down() {
  cluster "${1:-}"
  as_owner "$pg_bin/pg_ctl" -D "$1/data" -m fast -w stop >/dev/null 2>&1 || die "pg_ctl stop failed; see $1/log"
}

up() {
  cluster "${1:-}"
  local url port
  url=$(cat "$1/url")
  port=${url##*:}
  port=${port%%/*}
  server_start "$1" "$port" || die "the server did not start again; see $1/log: $(tail -n 5 "$1/log" 2>/dev/null)"
}

case "${1:-}" in
  start) start "${2:-}" ;;
  stop) stop "${2:-}" ;;
  down) down "${2:-}" ;;
  up) up "${2:-}" ;;
  *) die "usage: postgres.sh start [DIR] | stop DIR | down DIR | up DIR" ;;
esac

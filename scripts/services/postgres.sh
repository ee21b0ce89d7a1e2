#!/usr/bin/env bash
# PostgreSQL for the database tests (tests/db) and benchmarks.
#
#   scripts/services/postgres.sh install          # apt-get install postgresql if pg_ctl is missing
#   scripts/services/postgres.sh start DIR [PORT] # throwaway server in DIR; prints the export line
#   scripts/services/postgres.sh stop DIR
#
# The tests start their own throwaway server when PostgreSQL is installed, so CI only needs
# `install`. `start` is for running the tests (or benchmarks) against one server you keep:
#   eval "$(scripts/services/postgres.sh start /tmp/outflow-pg)"   # sets OUTFLOW_TEST_POSTGRES
# PostgreSQL refuses to run as root: as root, initdb and pg_ctl run as the postgres user.
set -euo pipefail

find_bindir() {
    if command -v pg_ctl >/dev/null 2>&1; then dirname "$(readlink -f "$(command -v pg_ctl)")"; return; fi
    if command -v pg_config >/dev/null 2>&1 && [ -x "$(pg_config --bindir)/pg_ctl" ]; then
        pg_config --bindir; return
    fi
    local dir
    for dir in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -rV); do
        if [ -x "$dir/pg_ctl" ]; then echo "$dir"; return; fi
    done
    return 1
}

as_postgres() {
    if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

install() {
    if find_bindir >/dev/null; then
        echo "PostgreSQL is installed: $(find_bindir)" >&2
        return
    fi
    local sudo=""
    if [ "$(id -u)" != 0 ]; then sudo=sudo; fi
    $sudo apt-get update -q
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends postgresql
    echo "PostgreSQL installed: $(find_bindir)" >&2
}

start() {
    local dir=${1:?usage: start DIR [PORT]} port=${2:-}
    local bindir password
    bindir=$(find_bindir) || { echo "PostgreSQL is not installed: run '$0 install'" >&2; exit 1; }
    if [ -z "$port" ]; then
        port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    fi
    password=$(python3 -c 'import secrets; print(secrets.token_urlsafe(16))')
    mkdir -p "$dir"
    dir=$(cd "$dir" && pwd)
    printf '%s\n' "$password" > "$dir/pwfile"
    if [ "$(id -u)" = 0 ]; then
        chown -R postgres:postgres "$dir"
        local parent=$dir
        while [ "$parent" != "/" ]; do parent=$(dirname "$parent"); chmod o+x "$parent"; done
    fi
    as_postgres "$bindir/initdb" -D "$dir/data" -U postgres -E UTF8 --no-sync \
        --auth-local=trust --auth-host=scram-sha-256 --pwfile="$dir/pwfile" >/dev/null
    as_postgres "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w start -o \
        "-p $port -k $dir -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off -c synchronous_commit=off -c max_connections=200" >/dev/null
    echo "export OUTFLOW_TEST_POSTGRES=postgresql://postgres:${password}@127.0.0.1:${port}/postgres"
}

stop() {
    local dir=${1:?usage: stop DIR} bindir
    bindir=$(find_bindir)
    as_postgres "$bindir/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null || true
    rm -rf "$dir"
}

case "${1:-install}" in
    install) install ;;
    start) shift; start "$@" ;;
    stop) shift; stop "$@" ;;
    *) echo "usage: $0 install | start DIR [PORT] | stop DIR" >&2; exit 2 ;;
esac

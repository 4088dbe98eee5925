#!/usr/bin/env bash
# A private, throw-away PostgreSQL server for the tests (never for real data).
#
#   scripts/pg.sh start   # install Debian's postgresql if needed, initdb, start, wait until ready
#   scripts/pg.sh stop
#   scripts/pg.sh url     # postgresql+psycopg://postgres@127.0.0.1:55432/postgres
#   scripts/pg.sh status
#
# The cluster lives in var/pg (data/, log, sockets), listens on 127.0.0.1 and a unix socket only,
# and trusts every local connection. `start` on a stopped cluster wipes it and runs initdb again,
# so a stale or foreign var/pg never matters. As root, the server runs as the `postgres` system
# user (created if missing), since PostgreSQL refuses to run as root; if that user cannot reach
# var/pg (a checkout under /root, say) the cluster goes to /tmp/meterhub-pg-<checksum> instead.
#
# Environment: METERHUB_PG_PORT (default 55432; the next free port is taken if it is busy),
# METERHUB_PG_DIR (overrides the cluster's folder).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
DEFAULT_PORT=${METERHUB_PG_PORT:-55432}
PG_USER=postgres

log() { echo "pg: $*" >&2; }

as_owner() {
    # Run a command as the cluster's owner, from a folder that owner can enter.
    if [[ $EUID -eq 0 ]]; then
        (cd / && runuser -u "$PG_USER" -- "$@")
    else
        (cd / && "$@")
    fi
}

cluster_dir() {
    if [[ -n "${METERHUB_PG_DIR:-}" ]]; then
        echo "$METERHUB_PG_DIR"
    elif [[ $EUID -eq 0 ]] && ! runuser -u "$PG_USER" -- test -x "$ROOT" 2>/dev/null; then
        echo "/tmp/meterhub-pg-$(printf '%s' "$ROOT" | cksum | cut -d' ' -f1)"
    else
        echo "$ROOT/var/pg"
    fi
}

find_bindir() {
    local dir
    # Newest Debian server first, then whatever is on PATH.
    for dir in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -t/ -k5 -rn); do
        if [[ -x "$dir/postgres" && -x "$dir/initdb" && -x "$dir/pg_ctl" ]]; then
            echo "$dir"
            return 0
        fi
    done
    if command -v postgres >/dev/null && command -v initdb >/dev/null && command -v pg_ctl >/dev/null; then
        dirname "$(readlink -f "$(command -v pg_ctl)")"
        return 0
    fi
    return 1
}

install_server() {
    if [[ $EUID -ne 0 ]]; then
        log "no PostgreSQL server binaries found; install Debian's postgresql (needs root)"
        exit 1
    fi
    log "installing Debian's postgresql (apt-get)"
    export DEBIAN_FRONTEND=noninteractive
    if [[ -z "${METERHUB_APT_UPDATED:-}" ]]; then
        apt-get update -qq
        export METERHUB_APT_UPDATED=1
    fi
    apt-get install -y -qq --no-install-recommends postgresql >/dev/null
}

ensure_pg_user() {
    [[ $EUID -eq 0 ]] || return 0
    if ! id -u "$PG_USER" >/dev/null 2>&1; then
        log "creating system user $PG_USER"
        useradd --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin "$PG_USER"
    fi
}

# The port of the running server, from postmaster.pid (line 4), or nothing.
running_port() {
    local data=$1
    [[ -f "$data/postmaster.pid" ]] || return 0
    local bindir
    bindir=$(find_bindir) || return 0
    if as_owner "$bindir/pg_ctl" -D "$data" status >/dev/null 2>&1; then
        sed -n 4p "$data/postmaster.pid"
    fi
}

port_busy() {
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

current_port() {
    local base data port
    base=$(cluster_dir)
    data="$base/data"
    port=$(running_port "$data")
    if [[ -z "$port" && -f "$base/port" ]]; then
        port=$(cat "$base/port")
    fi
    echo "${port:-$DEFAULT_PORT}"
}

cmd_start() {
    local base data bindir port sockets
    base=$(cluster_dir)
    data="$base/data"

    bindir=$(find_bindir) || { install_server; bindir=$(find_bindir); }
    ensure_pg_user

    port=$(running_port "$data")
    if [[ -n "$port" ]]; then
        log "already running on 127.0.0.1:$port ($data)"
        echo "$port" >"$base/port"
        return 0
    fi

    port=$DEFAULT_PORT
    while port_busy "$port"; do
        port=$((port + 1))
    done

    # Unix socket paths are limited to ~107 bytes; fall back to /tmp for deep checkouts.
    sockets="$base/run"
    if (( ${#sockets} > 80 )); then
        sockets="/tmp"
    fi

    rm -rf "$data" "$base/run"
    mkdir -p "$base"
    [[ "$sockets" == "/tmp" ]] || mkdir -p "$sockets"
    if [[ $EUID -eq 0 ]]; then
        chown -R "$PG_USER" "$base"
    fi

    log "initdb $data ($("$bindir/postgres" --version))"
    as_owner "$bindir/initdb" -D "$data" -U postgres --auth=trust --encoding=UTF8 --locale=C.UTF-8 \
        --no-instructions >"$base/initdb.log" 2>&1 || {
        cat "$base/initdb.log" >&2
        exit 1
    }
    # Tests make and drop a database per test: durability buys nothing here, speed does.
    cat >>"$data/postgresql.conf" <<EOF

# scripts/pg.sh: a disposable test server
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$sockets'
max_connections = 200
fsync = off
synchronous_commit = off
full_page_writes = off
# CREATE DATABASE ... TEMPLATE per test runs 2-3x faster with minimal WAL and rare checkpoints.
wal_level = minimal
max_wal_senders = 0
wal_buffers = 16MB
shared_buffers = 256MB
checkpoint_timeout = 1h
max_wal_size = 4GB
EOF

    log "starting on 127.0.0.1:$port (log: $base/log)"
    if ! as_owner "$bindir/pg_ctl" -D "$data" -l "$base/log" -w -t 60 start >/dev/null; then
        tail -n 30 "$base/log" >&2 || true
        exit 1
    fi
    echo "$port" >"$base/port"
    if [[ $EUID -eq 0 ]]; then
        chown "$PG_USER" "$base/port"
    fi

    # pg_ctl -w waits for the postmaster; make sure a real connection succeeds too.
    local i
    for i in $(seq 1 60); do
        if "$bindir/pg_isready" -q -h 127.0.0.1 -p "$port" -U postgres; then
            log "ready: $(cmd_url)"
            return 0
        fi
        sleep 0.5
    done
    log "server did not accept connections"
    tail -n 30 "$base/log" >&2 || true
    exit 1
}

cmd_stop() {
    local base data bindir
    base=$(cluster_dir)
    data="$base/data"
    if [[ -z "$(running_port "$data")" ]]; then
        log "not running"
        return 0
    fi
    bindir=$(find_bindir)
    as_owner "$bindir/pg_ctl" -D "$data" -m fast -w -t 60 stop >/dev/null
    log "stopped"
}

cmd_url() {
    echo "postgresql+psycopg://postgres@127.0.0.1:$(current_port)/postgres"
}

cmd_status() {
    local base port
    base=$(cluster_dir)
    port=$(running_port "$base/data")
    if [[ -n "$port" ]]; then
        echo "running on 127.0.0.1:$port ($base/data)"
    else
        echo "not running ($base/data)"
        return 3
    fi
}

case "${1:-}" in
    start) cmd_start ;;
    stop) cmd_stop ;;
    url) cmd_url ;;
    status) cmd_status ;;
    *)
        echo "usage: $0 start|stop|url|status" >&2
        exit 2
        ;;
esac

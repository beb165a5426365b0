#!/usr/bin/env bash
# Start or stop the services the project needs, owned by the project:
#   - a PostgreSQL cluster with TimescaleDB preloaded, data under .services/pg (or, when
#     the checkout is in a home the postgres user cannot enter, under
#     /var/lib/backtest-services/<checkout>, linked from .services/pg);
#   - Redis, with an append-only file so queued tasks survive a restart: the one at
#     REDIS_URL if it answers, else one started here, installed with apt when missing;
#   - a second Redis standing in for the live trading system's (the tests fill it in its
#     format; LIVE_REDIS_PORT, default 63800), its URL written as LIVE_REDIS_TEST_URL.
# Each service keeps the port it was given the first time (remembered in .services/*/port;
# PG_PORT / REDIS_PORT choose it then, default 54329 / 63790, or the next free one), so a
# restarted service is found again by a running site and worker.
# `start` writes .services/env (export lines for DATABASE_URL and REDIS_URL) and prints
# them. Idempotent: starting what already runs does nothing; starting after a crash or a
# `kill -9` restarts what is down, on its port.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
# SERVICES_DIR: another state folder (the tests start throw-away services there).
STATE=${SERVICES_DIR:-$ROOT/.services}
PG_DB=${PG_DB:-backtest}

port_free() {
    # SO_REUSEADDR, as servers bind: a port whose last connections sit in TIME_WAIT is free.
    python3 - "$1" <<'PY' >/dev/null 2>&1
import socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1])))
PY
}

# The port remembered in $1 (a file), else the first free one from $2 on, remembered.
remembered_port() {
    local file=$1 port=$2
    if [ -s "$file" ]; then
        cat "$file"
        return
    fi
    for _ in $(seq 20); do
        if port_free "$port"; then
            echo "$port" >"$file"
            echo "$port"
            return
        fi
        port=$((port + 1))
    done
    echo "services: no free port in $2..$port" >&2
    exit 1
}

# Fail with a clear message when another program holds the remembered port $1.
port_ours_or_free() {
    local port=$1 what=$2
    if ! port_free "$port"; then
        echo "services: port $port ($what, remembered in .services) is held by another program;" \
            "stop it, or remove the port file to choose a new port" >&2
        exit 1
    fi
}

pg_bin() {
    local dir
    dir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
    [ -n "$dir" ] || { echo "services: PostgreSQL binaries not found under /usr/lib/postgresql" >&2; exit 1; }
    echo "$dir"
}

# PostgreSQL refuses to run as root: run its commands as the postgres user then.
as_pg() {
    if [ "$(id -u)" -eq 0 ]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

# Where the cluster lives. As root the cluster runs as postgres, which must be able to
# enter every directory above its data: a checkout in /root (mode 700) is out of reach,
# so the cluster then lives under /var/lib/backtest-services and .services/pg links to it.
pg_home() {
    if [ -L "$STATE/pg" ] || [ -d "$STATE/pg/data" ] || [ "$(id -u)" -ne 0 ]; then
        readlink -f "$STATE/pg" 2>/dev/null || echo "$STATE/pg"
        return
    fi
    mkdir -p "$STATE"
    if runuser -u postgres -- test -x "$STATE" 2>/dev/null; then
        echo "$STATE/pg"
        return
    fi
    local home
    home="/var/lib/backtest-services/$(basename "$ROOT")-$(echo -n "$STATE" | sha1sum | cut -c1-10)/pg"
    mkdir -p "$home"
    ln -sfn "$home" "$STATE/pg"
    echo "$home"
}

start_postgres() {
    bash "$ROOT/scripts/install-timescaledb.sh"
    local bin home data sock port
    bin=$(pg_bin)
    home=$(pg_home)
    data="$home/data"
    sock="$home/run"
    mkdir -p "$home" "$sock"
    if [ "$(id -u)" -eq 0 ]; then
        id postgres >/dev/null 2>&1 || { echo "services: no postgres user to run the cluster as" >&2; exit 1; }
        chown -R postgres:postgres "$home"
    fi
    # (the first version of this script kept the port inside the cluster's folder)
    [ -s "$STATE/pg.port" ] || [ ! -s "$home/port" ] || cp "$home/port" "$STATE/pg.port"
    port=$(remembered_port "$STATE/pg.port" "${PG_PORT:-54329}")
    if [ ! -f "$data/PG_VERSION" ]; then
        as_pg "$bin/initdb" -D "$data" -U postgres --auth=trust --encoding=UTF8 --locale=C.UTF-8 >/dev/null
        cat >>"$data/postgresql.conf" <<CONF
# --- written by scripts/services.sh ---
listen_addresses = '127.0.0.1'
unix_socket_directories = '$sock'
shared_preload_libraries = 'timescaledb'
timescaledb.telemetry_level = off
max_connections = 200
shared_buffers = 512MB
work_mem = 32MB
fsync = off
synchronous_commit = off
full_page_writes = off
CONF
    fi
    if ! as_pg "$bin/pg_isready" -q -h 127.0.0.1 -p "$port"; then
        # A server killed a moment ago can still be listed, and its last processes still
        # hold the port, for a second or two: wait for them to go.
        for _ in $(seq 100); do
            if ! as_pg "$bin/pg_ctl" -D "$data" status >/dev/null 2>&1 && port_free "$port"; then
                break
            fi
            sleep 0.1
        done
        port_ours_or_free "$port" PostgreSQL
        as_pg "$bin/pg_ctl" -D "$data" -l "$home/postgres.log" -o "-p $port" -w -t 60 start >/dev/null
    fi
    if ! as_pg "$bin/psql" -h 127.0.0.1 -p "$port" -U postgres -tAc \
        "SELECT 1 FROM pg_database WHERE datname = '$PG_DB'" postgres | grep -q 1; then
        as_pg "$bin/createdb" -h 127.0.0.1 -p "$port" -U postgres "$PG_DB"
    fi
    as_pg "$bin/psql" -q -h 127.0.0.1 -p "$port" -U postgres -d "$PG_DB" \
        -c "SET client_min_messages = warning" -c "CREATE EXTENSION IF NOT EXISTS timescaledb" >/dev/null
    DATABASE_URL="postgres://postgres@127.0.0.1:$port/$PG_DB"
}

stop_postgres() {
    local bin data
    bin=$(pg_bin)
    data="$(readlink -f "$STATE/pg" 2>/dev/null || echo "$STATE/pg")/data"
    if [ -f "$data/PG_VERSION" ] && as_pg "$bin/pg_ctl" -D "$data" status >/dev/null 2>&1; then
        as_pg "$bin/pg_ctl" -D "$data" -m fast -w stop >/dev/null
        echo "services: PostgreSQL ($data) stopped"
    fi
}

redis_answers() {
    python3 - "$1" <<'PY' >/dev/null 2>&1
import socket, sys
from urllib.parse import urlsplit
u = urlsplit(sys.argv[1])
s = socket.create_connection((u.hostname or "127.0.0.1", u.port or 6379), timeout=1)
s.sendall(b"PING\r\n")
sys.exit(0 if s.recv(16).startswith(b"+PONG") else 1)
PY
}

# A Redis of the project's in .services/$1 on its remembered port (default $2); $3 "yes"
# for an append-only file. Prints its URL.
start_redis_in() {
    local dir="$STATE/$1" port url
    mkdir -p "$dir"
    port=$(remembered_port "$dir/port" "$2")
    url="redis://127.0.0.1:$port/0"
    if [ -f "$dir/redis.pid" ] && kill -0 "$(cat "$dir/redis.pid")" 2>/dev/null && redis_answers "$url"; then
        echo "$url"
        return
    fi
    port_ours_or_free "$port" "Redis in .services/$1"
    if ! command -v redis-server >/dev/null 2>&1; then
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null
    fi
    redis-server --daemonize yes --bind 127.0.0.1 --port "$port" --save "" --appendonly "$3" \
        --appendfsync everysec --dir "$dir" --pidfile "$dir/redis.pid" --logfile "$dir/redis.log"
    for _ in $(seq 50); do
        if redis_answers "$url"; then
            echo "$url"
            return
        fi
        sleep 0.1
    done
    echo "services: Redis did not answer on $url (log: $dir/redis.log)" >&2
    exit 1
}

stop_redis_in() {
    local dir="$STATE/$1"
    if [ -f "$dir/redis.pid" ]; then
        kill "$(cat "$dir/redis.pid")" 2>/dev/null || true
        rm -f "$dir/redis.pid"
        echo "services: Redis ($dir) stopped"
    fi
}

start_redis() {
    if [ -n "${REDIS_URL:-}" ] && [ ! -f "$STATE/redis/port" ] && redis_answers "$REDIS_URL"; then
        return  # a Redis of the developer's own
    fi
    REDIS_URL=$(start_redis_in redis "${REDIS_PORT:-63790}" yes)
}

# The live system's Redis, a stand-in for the tests (see docs/marketdata.md). Its URL goes
# into .services/env as LIVE_REDIS_TEST_URL, not LIVE_REDIS_URL: a local service reads a
# live source only when someone configures one on purpose.
start_live_redis() {
    LIVE_REDIS_TEST_URL=$(start_redis_in live-redis "${LIVE_REDIS_PORT:-63800}" no)
}

case "${1:-start}" in
start)
    mkdir -p "$STATE"
    start_postgres
    start_redis
    start_live_redis
    cat >"$STATE/env" <<ENV
export DATABASE_URL=$DATABASE_URL
export REDIS_URL=$REDIS_URL
export LIVE_REDIS_TEST_URL=$LIVE_REDIS_TEST_URL
ENV
    echo "services: up; exported in .services/env:"
    sed 's/^/  /' "$STATE/env"
    ;;
stop)
    stop_postgres
    stop_redis_in redis
    stop_redis_in live-redis
    ;;
*)
    echo "usage: scripts/services.sh start|stop" >&2
    exit 2
    ;;
esac

#!/usr/bin/env bash
# Start or stop the services the project needs, owned by the project:
#   - a PostgreSQL cluster with TimescaleDB preloaded, data under .services/pg,
#     on its own port (PG_PORT, default 54329, or the next free one when another
#     program holds it), so no system cluster is touched;
#   - Redis: the one at REDIS_URL if it answers, else one started here on
#     REDIS_PORT (default 63790, or the next free one), installed with apt when missing.
# `start` writes .services/env (export lines for DATABASE_URL and REDIS_URL) and
# prints them. Idempotent: starting what already runs does nothing.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
STATE="$ROOT/.services"
PG_PORT=${PG_PORT:-54329}
PG_DATA="$STATE/pg/data"
PG_SOCK="$STATE/pg/run"
PG_LOG="$STATE/pg/postgres.log"
PG_DB=${PG_DB:-backtest}
REDIS_PORT=${REDIS_PORT:-63790}

port_free() {
    python3 - "$1" <<'PY' >/dev/null 2>&1
import socket, sys
s = socket.socket()
s.bind(("127.0.0.1", int(sys.argv[1])))
PY
}

# The first free port from $1 on (the cluster may be restarted on a new one).
free_port_from() {
    local port=$1
    for _ in $(seq 20); do
        port_free "$port" && { echo "$port"; return; }
        port=$((port + 1))
    done
    echo "services: no free port in $1..$port" >&2
    exit 1
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

start_postgres() {
    bash "$ROOT/scripts/install-timescaledb.sh"
    local bin
    bin=$(pg_bin)
    mkdir -p "$STATE/pg" "$PG_SOCK"
    if [ "$(id -u)" -eq 0 ]; then
        id postgres >/dev/null 2>&1 || { echo "services: no postgres user to run the cluster as" >&2; exit 1; }
        chown -R postgres:postgres "$STATE/pg"
    fi
    if [ ! -f "$PG_DATA/PG_VERSION" ]; then
        as_pg "$bin/initdb" -D "$PG_DATA" -U postgres --auth=trust --encoding=UTF8 --locale=C.UTF-8 >/dev/null
        cat >>"$PG_DATA/postgresql.conf" <<CONF
# --- written by scripts/services.sh ---
listen_addresses = '127.0.0.1'
unix_socket_directories = '$PG_SOCK'
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
    if as_pg "$bin/pg_ctl" -D "$PG_DATA" status >/dev/null 2>&1; then
        PG_PORT=$(cat "$STATE/pg/port" 2>/dev/null || echo "$PG_PORT")
    else
        PG_PORT=$(free_port_from "$PG_PORT")
        echo "$PG_PORT" >"$STATE/pg/port"
        as_pg "$bin/pg_ctl" -D "$PG_DATA" -l "$PG_LOG" -o "-p $PG_PORT" -w -t 60 start >/dev/null
    fi
    if ! as_pg "$bin/psql" -h 127.0.0.1 -p "$PG_PORT" -U postgres -tAc \
        "SELECT 1 FROM pg_database WHERE datname = '$PG_DB'" postgres | grep -q 1; then
        as_pg "$bin/createdb" -h 127.0.0.1 -p "$PG_PORT" -U postgres "$PG_DB"
    fi
    as_pg "$bin/psql" -q -h 127.0.0.1 -p "$PG_PORT" -U postgres -d "$PG_DB" \
        -c "SET client_min_messages = warning" -c "CREATE EXTENSION IF NOT EXISTS timescaledb" >/dev/null
}

stop_postgres() {
    local bin
    bin=$(pg_bin)
    if [ -f "$PG_DATA/PG_VERSION" ] && as_pg "$bin/pg_ctl" -D "$PG_DATA" status >/dev/null 2>&1; then
        as_pg "$bin/pg_ctl" -D "$PG_DATA" -m fast -w stop >/dev/null
        echo "services: PostgreSQL ($PG_DATA) stopped"
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

start_redis() {
    if [ -n "${REDIS_URL:-}" ] && redis_answers "$REDIS_URL"; then
        return
    fi
    if [ -f "$STATE/redis/redis.pid" ] && kill -0 "$(cat "$STATE/redis/redis.pid")" 2>/dev/null; then
        REDIS_URL="redis://127.0.0.1:$(cat "$STATE/redis/port" 2>/dev/null || echo "$REDIS_PORT")/0"
        return
    fi
    mkdir -p "$STATE/redis"
    REDIS_PORT=$(free_port_from "$REDIS_PORT")
    echo "$REDIS_PORT" >"$STATE/redis/port"
    REDIS_URL="redis://127.0.0.1:$REDIS_PORT/0"
    if ! command -v redis-server >/dev/null 2>&1; then
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null
    fi
    redis-server --daemonize yes --bind 127.0.0.1 --port "$REDIS_PORT" --save "" --appendonly no \
        --dir "$STATE/redis" --pidfile "$STATE/redis/redis.pid" --logfile "$STATE/redis/redis.log"
    for _ in $(seq 50); do redis_answers "$REDIS_URL" && return; sleep 0.1; done
    echo "services: Redis did not answer on $REDIS_URL" >&2
    exit 1
}

stop_redis() {
    if [ -f "$STATE/redis/redis.pid" ]; then
        kill "$(cat "$STATE/redis/redis.pid")" 2>/dev/null || true
        rm -f "$STATE/redis/redis.pid"
        echo "services: Redis ($STATE/redis) stopped"
    fi
}

case "${1:-start}" in
start)
    start_postgres
    start_redis
    cat >"$STATE/env" <<ENV
export DATABASE_URL=postgres://postgres@127.0.0.1:$PG_PORT/$PG_DB
export REDIS_URL=$REDIS_URL
ENV
    echo "services: up; exported in .services/env:"
    sed 's/^/  /' "$STATE/env"
    ;;
stop)
    stop_postgres
    stop_redis
    ;;
*)
    echo "usage: scripts/services.sh start|stop" >&2
    exit 2
    ;;
esac

#!/usr/bin/env bash
# Serve the site (gunicorn + WhiteNoise) and one django-q2 worker cluster until Ctrl-C.
# Expects the environment from `make run` (DATABASE_URL, REDIS_URL, SECRET_KEY).
set -euo pipefail
cd "$(dirname "$0")/.."
HOST=${1:-127.0.0.1}
PORT=${2:-8000}
PY=.venv/bin/python

$PY manage.py collectstatic --noinput -v 0
mkdir -p var/log
$PY manage.py qcluster >var/log/qcluster.log 2>&1 &
QPID=$!
trap 'kill $QPID 2>/dev/null; wait $QPID 2>/dev/null' EXIT INT TERM

cat <<MSG

  Backtest service is up.
    site:    http://$HOST:$PORT/runs/
    admin:   http://$HOST:$PORT/admin/    (login: ${ADMIN_USERNAME:-admin} / ${ADMIN_PASSWORD:-admin})
    API:     http://$HOST:$PORT/api/v1/   (docs: http://$HOST:$PORT/api/docs/)
    health:  http://$HOST:$PORT/health
    worker:  django-q2 qcluster (pid $QPID, log var/log/qcluster.log)
  Ctrl-C stops the site and the worker; \`make services-stop\` stops PostgreSQL and Redis.

MSG
.venv/bin/gunicorn backtest_project.wsgi:application --bind "$HOST:$PORT" --workers 2 --timeout 120 \
    --access-logfile - --log-level warning

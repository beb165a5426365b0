#!/usr/bin/env bash
# Serve the site (gunicorn + WhiteNoise) and one django-q2 worker cluster until Ctrl-C.
# Expects the environment from `make run` (DATABASE_URL, REDIS_URL, SECRET_KEY).
# Both write their metrics into var/prometheus (emptied here), so the site's /metrics
# shows the workers' too; logs are readable lines unless LOG_FORMAT=json.
set -euo pipefail
cd "$(dirname "$0")/.."
HOST=${1:-127.0.0.1}
PORT=${2:-8000}
PY=.venv/bin/python

$PY manage.py collectstatic --noinput -v 0
mkdir -p var/log
export PROMETHEUS_MULTIPROC_DIR="$PWD/var/prometheus"
rm -rf "$PROMETHEUS_MULTIPROC_DIR" && mkdir -p "$PROMETHEUS_MULTIPROC_DIR"
export LOG_FORMAT=${LOG_FORMAT:-console}
$PY manage.py qcluster >var/log/qcluster.log 2>&1 &
QPID=$!
trap 'kill $QPID 2>/dev/null; wait $QPID 2>/dev/null' EXIT INT TERM

cat <<MSG

  Backtest service is up.
    site:    http://$HOST:$PORT/runs/
    admin:   http://$HOST:$PORT/admin/    (login: ${ADMIN_USERNAME:-admin} / ${ADMIN_PASSWORD:-admin})
    API:     http://$HOST:$PORT/api/v1/   (docs: http://$HOST:$PORT/api/docs/)
    health:  http://$HOST:$PORT/health
    metrics: http://$HOST:$PORT/metrics   (from this machine, or with METRICS_TOKEN)
    worker:  django-q2 qcluster (pid $QPID, log var/log/qcluster.log)
  Ctrl-C stops the site and the worker; \`make services-stop\` stops PostgreSQL and Redis.

MSG
.venv/bin/gunicorn -c deploy/gunicorn.conf.py --bind "$HOST:$PORT"

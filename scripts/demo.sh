#!/usr/bin/env bash
# Prepare the demo: an admin user, the bundled BTC sample in TimescaleDB, the
# example specs, and one example backtest run to completion. Idempotent.
# Expects the environment from `make run` (DATABASE_URL, REDIS_URL, SECRET_KEY).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
export ADMIN_USERNAME=${ADMIN_USERNAME:-admin}
export ADMIN_PASSWORD=${ADMIN_PASSWORD:-admin}

# --force: DEBUG is off in var/local.env, and this admin is the local demo's.
$PY manage.py ensure_admin --username "$ADMIN_USERNAME" --password "$ADMIN_PASSWORD" --force

mkdir -p var
gzip -dc data/btcusd_15m_2021q4.csv.gz >var/btcusd_15m_2021q4.csv
$PY manage.py load_candles var/btcusd_15m_2021q4.csv --symbol BTC-USD --timeframe 15m

$PY manage.py apply -f specs/examples --user "$ADMIN_USERNAME"

# The example run executes in this process (Q_SYNC=1): the worker starts only
# with the site, and the demo should not wait on it.
Q_SYNC=1 $PY manage.py backtest hyperrsi-btc-15m --user "$ADMIN_USERNAME" --wait

#!/usr/bin/env bash
# Write var/local.env: the environment of the local service started by `make run`
# (the services' URLs and a secret key generated once and kept). manage.py reads it
# for variables the shell does not set, so later commands reach the same services.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p var
# shellcheck disable=SC1091
source .services/env
key=""
if [ -f var/local.env ]; then
    key=$(sed -n 's/^SECRET_KEY=//p' var/local.env)
fi
[ -n "$key" ] || key=$(python3 -c "import secrets; print(secrets.token_urlsafe(48))")
umask 077
cat >var/local.env <<ENV
# Written by scripts/local-env.sh for \`make run\`; local use only.
DATABASE_URL=$DATABASE_URL
REDIS_URL=$REDIS_URL
SECRET_KEY=$key
DEBUG=0
ALLOWED_HOSTS=localhost,127.0.0.1
ENV
echo "local-env: wrote var/local.env"

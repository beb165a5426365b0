#!/usr/bin/env bash
# Check deploy/: the Prometheus configuration and alert rules with promtool, the nginx
# configuration with `nginx -t`. Installs Debian's prometheus (for promtool) and nginx
# when they are missing, without starting their daemons. `make lint-deploy`.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
command -v promtool >/dev/null || need+=(prometheus)
command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || need+=(nginx)
if [ ${#need[@]} -gt 0 ]; then
    echo "lint-deploy: installing ${need[*]} (promtool, nginx -t)"
    # No daemon is started by the install: a policy-rc.d that says no, for its duration.
    added_policy=""
    if [ ! -e /usr/sbin/policy-rc.d ]; then
        printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d
        added_policy=1
    fi
    trap '[ -z "$added_policy" ] || rm -f /usr/sbin/policy-rc.d' EXIT
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y -q --no-install-recommends "${need[@]}" >/dev/null \
        || { apt-get update -q >/dev/null && apt-get install -y -q --no-install-recommends "${need[@]}" >/dev/null; }
fi
NGINX=$(command -v nginx || echo /usr/sbin/nginx)

work=$(mktemp -d)
trap 'rm -rf "$work"; [ -z "${added_policy:-}" ] || rm -f /usr/sbin/policy-rc.d' EXIT

# The scrape config reads the token from the compose secret's path: check a copy that
# points at a file of the same kind here (promtool checks that the file exists).
cp deploy/prometheus/alerts.yml "$work/"
echo "check-only-token" >"$work/metrics_token"
sed "s#/run/secrets/metrics_token#$work/metrics_token#" deploy/prometheus/prometheus.yml >"$work/prometheus.yml"
promtool check rules deploy/prometheus/alerts.yml
promtool check config "$work/prometheus.yml"

# nginx resolves upstream names while checking: the compose service name `web` only
# exists inside compose, so the copy checked here points at the loopback instead.
sed -e "s#server web:8000;#server 127.0.0.1:8000;#" -e "s#pid /tmp/nginx.pid;#pid $work/nginx.pid;#" \
    deploy/nginx/nginx.conf >"$work/nginx.conf"
"$NGINX" -t -q -e stderr -c "$work/nginx.conf" -p "$work/"
echo "lint-deploy: deploy/nginx/nginx.conf syntax is ok"

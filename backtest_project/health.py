"""`/health`: is the database, the cache and the task queue up?

Answers JSON with one entry per component and HTTP 503 when any is down, so a
load balancer or `curl -f` can use it directly. No authentication: it reveals
versions and up/down only, never data.
"""

from __future__ import annotations

import time
import uuid

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.http import JsonResponse
from django.views.decorators.http import require_GET

# A worker that has not reported for this long counts as gone. django-q2
# clusters write their status every few seconds (Conf.GUARD_CYCLE is 0.5 s).
WORKER_SILENT_AFTER_SECONDS = 60


def check_database() -> dict:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            info: dict = {"ok": True, "engine": connection.vendor}
            if connection.vendor == "postgresql":
                cursor.execute("SHOW server_version")
                info["version"] = cursor.fetchone()[0]
                cursor.execute("SELECT extversion FROM pg_extension WHERE extname = 'timescaledb'")
                row = cursor.fetchone()
                info["timescaledb"] = row[0] if row else None
        return info
    except Exception as exc:  # any driver error means "down"; say which
        return {"ok": False, "engine": connection.vendor, "error": f"{type(exc).__name__}: {exc}"}


def check_cache() -> dict:
    backend = settings.CACHES["default"]["BACKEND"].rsplit(".", 1)[-1]
    key = f"health:{uuid.uuid4().hex}"
    try:
        cache.set(key, "1", timeout=10)
        ok = cache.get(key) == "1"
        cache.delete(key)
        return {"ok": ok, "backend": backend}
    except Exception as exc:
        return {"ok": False, "backend": backend, "error": f"{type(exc).__name__}: {exc}"}


def check_queue() -> dict:
    """A worker answered recently if a django-q2 cluster stat is fresh."""
    broker = "redis" if "django_redis" in settings.Q_CLUSTER else "orm"
    if settings.Q_CLUSTER.get("sync"):
        return {"ok": True, "broker": broker, "workers": 0, "sync": True}
    try:
        from django_q.brokers import get_broker
        from django_q.status import Stat

        stats = Stat.get_all(broker=get_broker())
        now = time.time()
        fresh = [s for s in stats if now - s.timestamp.timestamp() < WORKER_SILENT_AFTER_SECONDS]
        info = {"ok": bool(fresh), "broker": broker, "workers": sum(len(s.workers) for s in fresh)}
        if not fresh:
            info["error"] = "no django-q2 cluster has reported in the last minute (is qcluster running?)"
        return info
    except Exception as exc:
        return {"ok": False, "broker": broker, "error": f"{type(exc).__name__}: {exc}"}


@require_GET
def health(request):
    parts = {"database": check_database(), "cache": check_cache(), "queue": check_queue()}
    ok = all(part["ok"] for part in parts.values())
    return JsonResponse({"status": "ok" if ok else "down", **parts}, status=200 if ok else 503)

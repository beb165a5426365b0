"""`/health`: is the database, the cache and the task queue up?

Answers JSON with one entry per component and HTTP 503 when any is down, so a
load balancer or `curl -f` can use it directly. No authentication: it reveals
versions and up/down only, never data.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.http import JsonResponse
from django.views.decorators.http import require_GET

from jobs.workers import queue_status


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


@require_GET
def health(request):
    parts = {"database": check_database(), "cache": check_cache(), "queue": queue_status()}
    ok = all(part["ok"] for part in parts.values())
    return JsonResponse({"status": "ok" if ok else "down", **parts}, status=200 if ok else 503)

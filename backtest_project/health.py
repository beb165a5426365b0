"""`/health`: is the database, the cache and the task queue up? And the live source?

Answers JSON with one entry per component and HTTP 503 when any is down, so a
load balancer or `curl -f` can use it directly. The live trading system's Redis is
not the service's own: when it is configured and does not answer, the status is
``degraded`` with HTTP 200 (backtests over stored data still run). No
authentication: it reveals versions, up/down and sync times only, never data.
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


def check_live() -> dict:
    """The live Redis answers PING; with the newest sync time and the largest lag."""
    from marketdata.live import LiveUnavailable, live_source

    source = live_source()
    if source is None:
        return {"ok": True, "configured": False}
    info: dict = {"ok": True, "configured": True}
    try:
        source.ping()
    except LiveUnavailable as exc:
        info.update(ok=False, error=str(exc))
    try:
        info.update(_live_sync_state())
    except Exception as exc:  # the database check reports a database outage
        info["sync_error"] = f"{type(exc).__name__}: {exc}"
    return info


def _live_sync_state() -> dict:
    from django.db.models import Max

    from marketdata.models import CandleSeries

    synced = CandleSeries.objects.exclude(live_key="")
    last = synced.aggregate(last=Max("live_synced_at"))["last"]
    lags = [s.lag_seconds() for s in synced.only("timeframe", "last_ts")]
    known = [lag for lag in lags if lag is not None]
    return {
        "series": len(lags),
        "last_sync": last.isoformat() if last else None,
        "max_lag_seconds": round(max(known), 1) if known else None,
    }


@require_GET
def health(request):
    parts = {"database": check_database(), "cache": check_cache(), "queue": queue_status()}
    ok = all(part["ok"] for part in parts.values())
    live = check_live()
    status = "down" if not ok else ("ok" if live["ok"] else "degraded")
    return JsonResponse({"status": status, **parts, "live": live}, status=200 if ok else 503)

"""Is a worker up? What /health and the CLI's ``--wait`` ask before they wait on one."""

from __future__ import annotations

import time

from django.conf import settings

# A cluster that has not reported for this long counts as gone. django-q2 clusters
# write their status every few seconds (Conf.GUARD_CYCLE is 0.5 s).
WORKER_SILENT_AFTER_SECONDS = 60


def queue_status() -> dict:
    """``{"ok", "broker", "workers"[, "sync", "error"]}``: ok when a django-q2 cluster
    reported in the last minute (or tasks run in-process, ``Q_SYNC``)."""
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

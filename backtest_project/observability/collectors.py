"""Gauges read when Prometheus scrapes: the queue, the workers, the machine.

They are facts of the database, the broker and the host, not of one process, so they
are computed at scrape time instead of being kept in the multiprocess files: the web's
``/metrics`` serves ``StateCollector`` (one query per job model, one broker read) and
every endpoint serves ``SystemCollector`` (its host's memory, disks and load). A part
that cannot be read (the database restarting) is left out of that scrape and logged;
the rest of the page is served.
"""

from __future__ import annotations

import logging
import os
import shutil
from collections.abc import Iterable, Iterator

from django.conf import settings
from django.db import connection
from django.db.models import Count, Min
from django.utils import timezone
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

log = logging.getLogger(__name__)


def _queue_models():
    from backtests.models import BacktestRun
    from optimizers.models import OptimizationRun, SweepChunk

    return {"run": BacktestRun, "sweep": OptimizationRun, "chunk": SweepChunk}


class StateCollector(Collector):
    """Queue depth, oldest queued age and running jobs per kind; worker processes seen;
    the database's size."""

    def collect(self) -> Iterator[GaugeMetricFamily]:
        try:
            yield from self._queue()
        except Exception as exc:  # the database is down or restarting: skip, say why
            log.warning("metrics: cannot read the job tables (%s: %s)", type(exc).__name__, exc)
        workers = self._workers()
        if workers is not None:
            yield workers
        try:
            size = self._database_size()
        except Exception as exc:
            log.warning("metrics: cannot read the database size (%s: %s)", type(exc).__name__, exc)
        else:
            if size is not None:
                yield size

    def _queue(self) -> Iterable[GaugeMetricFamily]:
        depth = GaugeMetricFamily(
            "backtest_queue_depth", "Jobs waiting in the queue (status queued), by kind.", labels=["kind"]
        )
        oldest = GaugeMetricFamily(
            "backtest_queue_oldest_age_seconds",
            "Age of the oldest queued job by kind (0 when none is queued).",
            labels=["kind"],
        )
        running = GaugeMetricFamily(
            "backtest_jobs_running", "Jobs being worked on (status running), by kind.", labels=["kind"]
        )
        now = timezone.now()
        for kind, model in _queue_models().items():
            rows = {
                row["status"]: row
                for row in model.objects.filter(status__in=("queued", "running"))
                .values("status")
                .annotate(n=Count("pk"), oldest=Min("queued_at"))
                .order_by()
            }
            queued = rows.get("queued")
            depth.add_metric([kind], queued["n"] if queued else 0)
            age = (now - queued["oldest"]).total_seconds() if queued and queued["oldest"] else 0.0
            oldest.add_metric([kind], max(age, 0.0))
            running.add_metric([kind], rows["running"]["n"] if "running" in rows else 0)
        return depth, oldest, running

    @staticmethod
    def _workers() -> GaugeMetricFamily | None:
        from jobs.workers import queue_status

        status = queue_status()
        if status.get("sync"):
            return None  # tasks run in-process: there are no workers to count
        family = GaugeMetricFamily(
            "backtest_workers",
            "django-q2 worker processes in clusters that reported in the last minute "
            "(0 also when the broker cannot be read).",
        )
        family.add_metric([], status.get("workers", 0) if status["ok"] else 0)
        return family

    @staticmethod
    def _database_size() -> GaugeMetricFamily | None:
        if connection.vendor != "postgresql":
            return None
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_database_size(current_database())")
            (size,) = cursor.fetchone()
        family = GaugeMetricFamily("backtest_database_size_bytes", "Size of the service's database.")
        family.add_metric([], float(size))
        return family


class SystemCollector(Collector):
    """The host's memory (from /proc/meminfo), the disks of METRICS_DISK_PATHS and the
    load average: what the memory and disk alerts read."""

    def collect(self) -> Iterator[GaugeMetricFamily]:
        memory = _memory_used_ratio()
        if memory is not None:
            family = GaugeMetricFamily(
                "backtest_system_memory_used_ratio",
                "Share of the host's memory in use (1 - MemAvailable / MemTotal).",
            )
            family.add_metric([], memory)
            yield family
        disk = GaugeMetricFamily(
            "backtest_system_disk_used_ratio",
            "Share of the filesystem holding each METRICS_DISK_PATHS path in use.",
            labels=["path"],
        )
        for path in settings.METRICS_DISK_PATHS:
            try:
                usage = shutil.disk_usage(path)
            except OSError:
                continue  # not mounted here (a path of another container)
            disk.add_metric([str(path)], (usage.total - usage.free) / usage.total if usage.total else 0.0)
        yield disk
        load = GaugeMetricFamily(
            "backtest_system_load_per_cpu", "1-minute load average divided by the number of CPUs."
        )
        load.add_metric([], os.getloadavg()[0] / (os.cpu_count() or 1))
        yield load


def _memory_used_ratio(path: str = "/proc/meminfo") -> float | None:
    """1 − MemAvailable / MemTotal, or None where /proc/meminfo does not exist."""
    fields = {}
    try:
        with open(path, encoding="ascii") as handle:
            for line in handle:
                key, _, rest = line.partition(":")
                fields[key] = int(rest.split()[0])
    except (OSError, ValueError, IndexError):
        return None
    total, available = fields.get("MemTotal"), fields.get("MemAvailable")
    if not total or available is None:
        return None
    return 1.0 - available / total

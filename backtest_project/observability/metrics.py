"""The metrics of jobs: runs and sweeps by final status, their durations, a run's phases.

Recorded when a job ends (``events``). The other metrics of the service live with the
work they measure: ``marketdata.metrics`` (candle reads, live sync lag) and
``optimizers.metrics`` (sweep throughput); the scrape-time gauges are in
``collectors``. With PROMETHEUS_MULTIPROC_DIR set, prometheus-client keeps each
process's values in files of that directory and a scrape sums them
(``scrape.registry``); without it the values live in the process.

Names and labels are documented in docs/operations.md; the Grafana dashboard and the
alert rules (deploy/) use them, and a test checks that every name they use exists.
"""

from __future__ import annotations

from prometheus_client import Counter, Histogram

# From 5 ms (a small run's save) to 10 minutes (Q_TIMEOUT's default) …
SECONDS_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600)
# … and for whole jobs, up to 4 hours (a large sweep).
JOB_BUCKETS = (*SECONDS_BUCKETS, 1800, 3600, 7200, 14400)

JOBS_FINISHED = Counter(
    "backtest_jobs_finished",
    "Jobs that reached a final status, by kind (run, sweep) and status "
    "(succeeded, failed, errored, cancelled).",
    ["kind", "status"],
)
JOB_DURATION = Histogram(
    "backtest_job_duration_seconds",
    "Seconds from a job's (last) start to its end, for jobs that started.",
    ["kind", "status"],
    buckets=JOB_BUCKETS,
)
RUN_PHASE = Histogram(
    "backtest_run_phase_seconds",
    "Seconds of each phase of a succeeded backtest run: queue_wait (queued to its last "
    "start), load (candles), engine, save.",
    ["phase"],
    buckets=SECONDS_BUCKETS,
)


def job_finished(kind: str, status: str, *, seconds: float | None) -> None:
    """Count a job's end; ``seconds`` from its last start to its end (None: never started)."""
    JOBS_FINISHED.labels(kind, status).inc()
    if seconds is not None:
        JOB_DURATION.labels(kind, status).observe(max(seconds, 0.0))


def run_phases(**seconds: float | None) -> None:
    """Observe a succeeded run's phases (``queue_wait``, ``load``, ``engine``, ``save``)."""
    for phase, value in seconds.items():
        if value is not None:
            RUN_PHASE.labels(phase).observe(max(value, 0.0))

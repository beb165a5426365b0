"""The service's own Prometheus metrics, and the functions that record them.

Every process of the service writes them (gunicorn workers, the qcluster's worker
processes, a CLI command that runs a job in-process). With PROMETHEUS_MULTIPROC_DIR
set, prometheus-client keeps each process's values in files of that directory and a
scrape sums them (``scrape.registry``); without it the values live in the process.
Gauges read at scrape time (queue depth, workers, system) are in ``collectors``.

Names and labels are documented in docs/operations.md; the Grafana dashboard and the
alert rules (deploy/) use them, and a test checks that every name they use exists.
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram, disable_created_metrics

# No "_created" series beside every counter and histogram (multiprocess mode has none
# either): one shape of page whichever way the service runs.
disable_created_metrics()

# From 5 ms (a cached candle read, a small save) to 10 minutes (Q_TIMEOUT's default).
SECONDS_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600)
# Jobs: a sweep may run for an hour or more.
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
SWEEP_COMBINATIONS = Counter(
    "backtest_sweep_combinations",
    "Sweep combinations evaluated (stored chunks only).",
)
SWEEP_EVAL_SECONDS = Counter(
    "backtest_sweep_eval_seconds",
    "Seconds spent evaluating sweep chunks (indicators and the parallel kernel).",
)
CANDLE_READ = Histogram(
    "backtest_candle_read_seconds",
    "Seconds per candle read (candles_load), by source: cache, database, resampled.",
    ["source"],
    buckets=SECONDS_BUCKETS,
)
CANDLE_READ_ROWS = Counter(
    "backtest_candle_read_rows",
    "Bars returned by candle reads, by source: cache, database, resampled.",
    ["source"],
)
# Set by the live-data sync (issue 14) after each pass: how far the newest stored bar
# of a live series is behind now. "mostrecent": the last value written, whichever
# process wrote it.
LIVE_SYNC_LAG = Gauge(
    "backtest_live_sync_lag_seconds",
    "Seconds between now and the newest stored bar's close of a live series, at its last sync.",
    ["symbol", "timeframe"],
    multiprocess_mode="mostrecent",
)

FINAL_STATUSES = ("succeeded", "failed", "errored", "cancelled")
RUN_PHASES = ("queue_wait", "load", "engine", "save")
CANDLE_SOURCES = ("cache", "database", "resampled")


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


def sweep_chunk_evaluated(combinations: int, seconds: float) -> None:
    SWEEP_COMBINATIONS.inc(combinations)
    SWEEP_EVAL_SECONDS.inc(max(seconds, 0.0))


def candles_read(source: str, rows: int, seconds: float) -> None:
    CANDLE_READ.labels(source).observe(seconds)
    CANDLE_READ_ROWS.labels(source).inc(rows)


def live_sync_lag(symbol: str, timeframe: str, seconds: float) -> None:
    """For the live sync: record one series' lag after a pass."""
    LIVE_SYNC_LAG.labels(symbol, timeframe).set(seconds)

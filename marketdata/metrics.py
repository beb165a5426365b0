"""Prometheus metrics of market data: candle reads, and the live sync's lag.

Recorded by the process that does the work (a worker, the web, a command); exported
by every ``/metrics`` that reads its process's values (docs/operations.md#metrics).
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

# A read from the cache takes a few milliseconds, a million bars from the database
# about a second, a resample of years of 1m bars several.
READ_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)

CANDLE_READ = Histogram(
    "backtest_candle_read_seconds",
    "Seconds per candle read (candles_load), by source: cache, database, resampled, hybrid "
    "(with the live source).",
    ["source"],
    buckets=READ_BUCKETS,
)
CANDLE_READ_ROWS = Counter(
    "backtest_candle_read_rows",
    "Bars returned by candle reads, by source: cache, database, resampled, hybrid (with the live source).",
    ["source"],
)
# For the live-data sync: how far the newest stored bar of a live series is behind now,
# after each pass. "mostrecent": the last value written, whichever process wrote it.
LIVE_SYNC_LAG = Gauge(
    "backtest_live_sync_lag_seconds",
    "Seconds between now and the newest stored bar's close of a live series, at its last sync.",
    ["symbol", "timeframe"],
    multiprocess_mode="mostrecent",
)


def candles_read(source: str, rows: int, seconds: float) -> None:
    CANDLE_READ.labels(source).observe(seconds)
    CANDLE_READ_ROWS.labels(source).inc(rows)


def live_sync_lag(symbol: str, timeframe: str, seconds: float) -> None:
    """For the live sync: record one series' lag after a pass."""
    LIVE_SYNC_LAG.labels(symbol, timeframe).set(seconds)

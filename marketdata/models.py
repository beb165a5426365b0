"""Stored market data: OHLCV candles and one coverage record per series.

A series is a (symbol, timeframe) pair. ``Candle`` rows are keyed by
(symbol, timeframe, ts); on PostgreSQL the table is a TimescaleDB hypertable
partitioned on ``ts`` (migration 0002). ``CandleSeries`` summarises what is stored for
a series and is rewritten by every load (see ``marketdata.services``).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import models
from django.utils import timezone

from marketdata.timeframes import timeframe_minutes


class BarFields(models.Model):
    """The columns of a stored bar: ``ts``, its open time (UTC), and the prices and
    volume (float64); the tables of bars add what identifies the series."""

    ts = models.DateTimeField()
    open = models.FloatField()
    high = models.FloatField()
    low = models.FloatField()
    close = models.FloatField()
    volume = models.FloatField()

    class Meta:
        abstract = True


class Candle(BarFields):
    """One bar of a (symbol, timeframe) series.

    Django's admin cannot register a model with a composite primary key: the admin
    lists ``CandleSeries`` instead, one row per series.
    """

    pk = models.CompositePrimaryKey("symbol", "timeframe", "ts")
    symbol = models.CharField(max_length=64)
    timeframe = models.CharField(max_length=8)

    class Meta:
        # the table kept its name when the model moved here from the backtests app
        db_table = "backtests_candle"

    def __str__(self) -> str:
        return f"{self.symbol} {self.timeframe} {self.ts:%Y-%m-%dT%H:%M}Z"


class CandleSeries(models.Model):
    """Coverage of one stored series, recomputed from the table after every load.

    ``gaps`` lists each run of missing bars as ``{"start", "end", "missing_bars",
    "seconds"}``: ``start`` is the first missing bar's open time and ``end`` the next
    stored bar's (ISO 8601 UTC, half-open). At most ``GAPS_STORED_MAX`` gaps are kept
    (the longest ones, in time order); ``gap_count`` is always the full count.
    ``load_version`` grows by one on every load and is part of the read cache key.
    """

    symbol = models.CharField(max_length=64)
    timeframe = models.CharField(max_length=8)
    first_ts = models.DateTimeField(null=True, blank=True)
    last_ts = models.DateTimeField(null=True, blank=True)
    row_count = models.BigIntegerField(default=0)
    gap_count = models.IntegerField(default=0)
    missing_bars = models.BigIntegerField(default=0)
    gaps = models.JSONField(default=list, blank=True)
    zero_volume_count = models.BigIntegerField(default=0)
    loaded_at = models.DateTimeField(null=True, blank=True)
    source = models.TextField(blank=True, default="")
    load_version = models.PositiveIntegerField(default=0)
    last_inserted = models.BigIntegerField(default=0)
    last_updated = models.BigIntegerField(default=0)
    last_rejected = models.BigIntegerField(default=0)
    # Set by the live sync (marketdata.sync): the key it reads, when it last succeeded,
    # and what went wrong the last time (empty when nothing did).
    live_key = models.CharField(max_length=200, blank=True, default="")
    live_synced_at = models.DateTimeField(null=True, blank=True)
    live_error = models.TextField(blank=True, default="")

    GAPS_STORED_MAX = 1000

    class Meta:
        verbose_name = "candle series"
        verbose_name_plural = "candle series"
        # the table kept its name when the model moved here from the backtests app
        db_table = "backtests_candleseries"
        ordering = ["symbol", "timeframe"]
        constraints = [
            models.UniqueConstraint(fields=["symbol", "timeframe"], name="candleseries_symbol_timeframe_uniq")
        ]

    def __str__(self) -> str:
        return f"{self.symbol} {self.timeframe}"

    def lag_seconds(self, now: datetime | None = None) -> float | None:
        """How far the stored bars are behind ``now``: seconds from the last stored
        bar's close to now (0 at most one bar behind), None when nothing is stored."""
        if self.last_ts is None:
            return None
        closed = self.last_ts + timedelta(minutes=timeframe_minutes(self.timeframe))
        return max(0.0, ((now or timezone.now()) - closed).total_seconds())


class CandleRollup(models.Model):
    """One rollup of a stored series into a coarser timeframe, kept in ``RollupCandle``.

    Buckets that start before ``materialized_to`` are materialised and current: a load
    that writes into the source series moves ``materialized_to`` back to the first
    bucket it touched, and ``marketdata.rollups.rollups_refresh`` materialises from
    there up to the newest complete bucket. Used on the Apache TimescaleDB build; on
    the licensed one continuous aggregates take this role (see docs/marketdata.md).
    """

    symbol = models.CharField(max_length=64)
    source_timeframe = models.CharField(max_length=8)
    timeframe = models.CharField(max_length=8)
    materialized_to = models.DateTimeField(null=True, blank=True)
    refreshed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["symbol", "source_timeframe", "timeframe"], name="candlerollup_series_uniq"
            )
        ]

    def __str__(self) -> str:
        return f"{self.symbol} {self.source_timeframe}→{self.timeframe}"


class RollupCandle(BarFields):
    """One materialised bucket of a rollup: the bar ``resample`` would build, plus
    ``bars``, the source bars it holds (the read path's edge rule needs it)."""

    pk = models.CompositePrimaryKey("symbol", "timeframe", "source_timeframe", "ts")
    symbol = models.CharField(max_length=64)
    timeframe = models.CharField(max_length=8)
    source_timeframe = models.CharField(max_length=8)
    bars = models.IntegerField()

    def __str__(self) -> str:
        return f"{self.symbol} {self.timeframe} (from {self.source_timeframe}) {self.ts:%Y-%m-%dT%H:%M}Z"

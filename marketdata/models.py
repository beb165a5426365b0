"""Stored market data: OHLCV candles and one coverage record per series.

A series is a (symbol, timeframe) pair. ``Candle`` rows are keyed by
(symbol, timeframe, ts); on PostgreSQL the table is a TimescaleDB hypertable
partitioned on ``ts`` (migration 0002). ``CandleSeries`` summarises what is stored for
a series and is rewritten by every load (see ``marketdata.services``).
"""

from __future__ import annotations

from django.db import models


class Candle(models.Model):
    """One bar. ``ts`` is the bar's open time (UTC); prices and volume are float64.

    Django's admin cannot register a model with a composite primary key: the admin
    lists ``CandleSeries`` instead, one row per series.
    """

    pk = models.CompositePrimaryKey("symbol", "timeframe", "ts")
    symbol = models.CharField(max_length=64)
    timeframe = models.CharField(max_length=8)
    ts = models.DateTimeField()
    open = models.FloatField()
    high = models.FloatField()
    low = models.FloatField()
    close = models.FloatField()
    volume = models.FloatField()

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

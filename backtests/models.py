"""A backtest run: one Backtest spec version executed over stored candles.

Its lifecycle (``queued → running → succeeded | failed | errored | cancelled``), the
claim, the heartbeat and the doorbell are the shared ones of ``jobs.models``, and so
are the fields a sweep has too (``MarketJob``: config, candle count, coverage).
"""

from __future__ import annotations

import zlib

import numpy as np
from django.conf import settings
from django.db import models
from django.urls import reverse

from engine.enums import METRIC_NAMES
from jobs.models import Delivery, MarketJob


def _metric():
    return models.FloatField(null=True, blank=True, db_index=True)


class BacktestRun(MarketJob, Delivery):
    JOB_KIND = "run"
    TASK = "backtests.tasks.execute_run"
    TASK_LABEL = "backtest-run"
    TASK_GROUP = "runs"

    spec = models.ForeignKey("specs.Spec", on_delete=models.PROTECT, related_name="runs")
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="backtest_runs"
    )
    overrides = models.JSONField(default=dict, blank=True)
    strategy = models.CharField(max_length=64, db_index=True)
    symbol = models.CharField(max_length=64, db_index=True)
    timeframe = models.CharField(max_length=8, db_index=True)
    period_start = models.DateTimeField(null=True, blank=True)
    period_end = models.DateTimeField(null=True, blank=True)

    rerun_of = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="reruns"
    )

    load_seconds = models.FloatField(null=True, blank=True)
    engine_seconds = models.FloatField(null=True, blank=True)
    save_seconds = models.FloatField(null=True, blank=True)
    # Which ranges of the candles came from which source (marketdata.read.Candles.sources).
    data_sources = models.JSONField(default=dict, blank=True)
    # The bars actually used and the bar slots the period holds (with ``coverage``).
    data_start = models.DateTimeField(null=True, blank=True)  # open time of the first bar used
    data_end = models.DateTimeField(null=True, blank=True)  # open time of the last bar used
    expected_bars = models.IntegerField(null=True, blank=True)
    # Statistics of the per-bar returns beyond the contract table (engine.stats):
    # the probabilistic Sharpe ratio, skewness, kurtosis, the Sharpe convention.
    statistics = models.JSONField(null=True, blank=True)

    # Every contract metric as an indexed column (sort/filter in admin and API);
    # `metrics` holds the same values as one JSON object.
    metrics = models.JSONField(null=True, blank=True)
    total_return = _metric()
    annual_return = _metric()
    volatility = _metric()
    sharpe_ratio = _metric()
    sortino_ratio = _metric()
    max_drawdown = _metric()
    max_drawdown_duration = _metric()
    calmar_ratio = _metric()
    total_trades = models.IntegerField(null=True, blank=True, db_index=True)
    win_rate = _metric()
    profit_factor = _metric()
    avg_trade_return = _metric()
    avg_win = _metric()
    largest_win = _metric()
    avg_loss = _metric()
    largest_loss = _metric()
    expectancy = _metric()
    avg_bars_held = _metric()
    exposure = _metric()
    total_fees = _metric()

    class Meta:
        ordering = ["-queued_at", "-id"]
        indexes = [models.Index(fields=["owner", "status"]), models.Index(fields=["status", "started_at"])]

    def __str__(self) -> str:
        return f"run {self.pk} of {self.spec_id and self.spec.name} ({self.status})"

    def get_absolute_url(self) -> str:
        return reverse("reports:run-report", kwargs={"pk": self.pk})

    @property
    def ordered_metrics(self) -> dict | None:
        """``metrics`` in the contract's order (PostgreSQL's jsonb does not keep key order)."""
        if self.metrics is None:
            return None
        return {name: self.metrics.get(name) for name in METRIC_NAMES}


class RunEquity(models.Model):
    """The full equity curve, stored compactly: zlib-compressed little-endian arrays.

    One row per run instead of one row per bar; ``preview`` holds a min/max
    downsampled series of a few hundred points for charts and the API.
    """

    run = models.OneToOneField(BacktestRun, on_delete=models.CASCADE, primary_key=True, related_name="equity")
    points = models.IntegerField()
    ts_blob = models.BinaryField()
    equity_blob = models.BinaryField()
    preview = models.JSONField(default=list)

    def __str__(self) -> str:
        return f"equity of run {self.run_id} ({self.points} points)"

    @staticmethod
    def pack(array: np.ndarray) -> bytes:
        return zlib.compress(np.ascontiguousarray(array).astype(array.dtype.newbyteorder("<")).tobytes(), 1)

    def ts(self) -> np.ndarray:
        return np.frombuffer(zlib.decompress(bytes(self.ts_blob)), dtype="<i8")

    def values(self) -> np.ndarray:
        return np.frombuffer(zlib.decompress(bytes(self.equity_blob)), dtype="<f8")


class TradeSide(models.TextChoices):
    LONG = "long"
    SHORT = "short"


class ExitReason(models.TextChoices):
    SIGNAL = "signal"
    STOP = "stop"
    TAKE_PROFIT = "take_profit"
    LIQUIDATION = "liquidation"
    END = "end"


class Trade(models.Model):
    run = models.ForeignKey(BacktestRun, on_delete=models.CASCADE, related_name="trades")
    seq = models.PositiveIntegerField()
    side = models.CharField(max_length=5, choices=TradeSide.choices)
    entry_time = models.DateTimeField()
    exit_time = models.DateTimeField()
    entry_price = models.FloatField()
    exit_price = models.FloatField()
    quantity = models.FloatField()
    fees = models.FloatField()
    pnl = models.FloatField()
    # `return` is a Python keyword; the column keeps the contract's name.
    trade_return = models.FloatField(db_column="return")
    bars_held = models.IntegerField()
    exit_reason = models.CharField(max_length=16, choices=ExitReason.choices)

    class Meta:
        ordering = ["run_id", "seq"]
        constraints = [models.UniqueConstraint(fields=["run", "seq"], name="trade_unique_seq_per_run")]

    def __str__(self) -> str:
        return f"{self.side} #{self.seq} of run {self.run_id}"

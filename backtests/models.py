"""A backtest run: one Backtest spec version executed over stored candles.

The lifecycle is ``queued → running → succeeded | failed | cancelled``. Every
transition is a guarded UPDATE filtered on the expected current status, so two
workers (or a worker and a user's cancel) can never both win, and a final status
is never overwritten.
"""

from __future__ import annotations

import zlib

import numpy as np
from django.conf import settings
from django.db import models
from django.urls import reverse
from django.utils import timezone

from engine.enums import METRIC_NAMES


class RunStatus(models.TextChoices):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"


FINAL_STATUSES = (RunStatus.SUCCEEDED, RunStatus.FAILED, RunStatus.CANCELLED)


def _metric():
    return models.FloatField(null=True, blank=True, db_index=True)


class BacktestRun(models.Model):
    spec = models.ForeignKey("specs.Spec", on_delete=models.PROTECT, related_name="runs")
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="backtest_runs"
    )
    overrides = models.JSONField(default=dict, blank=True)
    # The effective configuration (spec data with overrides applied): what ran.
    config = models.JSONField(default=dict)
    strategy = models.CharField(max_length=64, db_index=True)
    symbol = models.CharField(max_length=64, db_index=True)
    timeframe = models.CharField(max_length=8, db_index=True)
    period_start = models.DateTimeField(null=True, blank=True)
    period_end = models.DateTimeField(null=True, blank=True)

    status = models.CharField(
        max_length=16, choices=RunStatus.choices, default=RunStatus.QUEUED, db_index=True
    )
    queued_at = models.DateTimeField(default=timezone.now, db_index=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    worker = models.CharField(max_length=128, blank=True)
    task_id = models.CharField(max_length=64, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    error = models.TextField(blank=True)
    rerun_of = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="reruns"
    )

    load_seconds = models.FloatField(null=True, blank=True)
    engine_seconds = models.FloatField(null=True, blank=True)
    save_seconds = models.FloatField(null=True, blank=True)
    candle_count = models.IntegerField(null=True, blank=True)

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

    @property
    def is_final(self) -> bool:
        return self.status in FINAL_STATUSES

    @property
    def duration_seconds(self) -> float | None:
        if self.started_at and self.finished_at:
            return (self.finished_at - self.started_at).total_seconds()
        return None

    # --- guarded transitions: each returns True when this call made the change ---
    @classmethod
    def claim(cls, pk: int, *, worker: str) -> bool:
        """queued → running, for exactly one caller (a duplicate delivery gets False)."""
        changed = cls.objects.filter(pk=pk, status=RunStatus.QUEUED).update(
            status=RunStatus.RUNNING,
            started_at=timezone.now(),
            worker=worker[:128],
            attempts=models.F("attempts") + 1,
        )
        return changed == 1

    @classmethod
    def fail(cls, pk: int, *, error: str, from_statuses=(RunStatus.QUEUED, RunStatus.RUNNING)) -> bool:
        changed = cls.objects.filter(pk=pk, status__in=from_statuses).update(
            status=RunStatus.FAILED, error=error[:10_000], finished_at=timezone.now()
        )
        return changed == 1

    @classmethod
    def cancel(cls, pk: int) -> bool:
        """queued or running → cancelled; a running worker's results are then discarded."""
        changed = cls.objects.filter(pk=pk, status__in=(RunStatus.QUEUED, RunStatus.RUNNING)).update(
            status=RunStatus.CANCELLED, finished_at=timezone.now()
        )
        return changed == 1


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

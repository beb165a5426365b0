"""The arrays of one run for its report, each loaded on first use and at most once per
render, and its analytics (``reports.analytics``), cached per run.

A succeeded run's results never change, so its analytics live in the Django cache for
``REPORT_CHART_CACHE_SECONDS``; bump ``ANALYTICS_VERSION`` when a definition changes.
"""

from __future__ import annotations

import dataclasses
from functools import cached_property
from typing import Any

import numpy as np
from django.conf import settings
from django.core.cache import cache

from engine.timestamps import datetime_to_ms
from reports.analytics.summary import summarise
from reports.analytics.trades import TradeArrays
from reports.charts import NothingToDraw

ANALYTICS_VERSION = 1


class CandlesMissing(Exception):
    """The run's candles are no longer stored; the message says which."""


def chart_cache_seconds() -> int:
    return int(settings.REPORT_CHART_CACHE_SECONDS)


def quote_currency(symbol: str) -> str:
    """The quote currency of an OKX-style symbol: BTC-USDT-SWAP → USDT ("" if unknown)."""
    parts = (symbol or "").split("-")
    return parts[1] if len(parts) >= 2 else ""


def _epoch_ms(values) -> np.ndarray:
    return np.array([datetime_to_ms(v) for v in values], dtype=np.int64)


def analytics_cache_key(run) -> str:
    return f"report:analytics:v{ANALYTICS_VERSION}:run{run.pk}"


class RunData:
    """Lazily loaded arrays of ``run`` (a succeeded BacktestRun)."""

    def __init__(self, run):
        self.run = run
        # False once something that may come back later was missing (the candles):
        # what was rendered from this data must not be cached
        self.complete = True

    @cached_property
    def equity(self) -> tuple[np.ndarray, np.ndarray]:
        """(ts int64 ms, equity float64); NothingToDraw when the run stored none."""
        from backtests.models import RunEquity

        try:
            row = self.run.equity
        except RunEquity.DoesNotExist:
            raise NothingToDraw("This run has no stored equity curve.") from None
        return row.ts(), row.values()

    @cached_property
    def trades(self) -> TradeArrays:
        """The run's trades as columns, in exit order."""
        fields = [field.name for field in dataclasses.fields(TradeArrays)]
        rows = list(self.run.trades.order_by("seq").values_list(*fields))
        columns = (
            dict(zip(fields, zip(*rows, strict=True), strict=True)) if rows else dict.fromkeys(fields, ())
        )
        return TradeArrays(
            side=np.array([1 if s == "long" else -1 for s in columns["side"]], dtype=np.int8),
            entry_time=_epoch_ms(columns["entry_time"]),
            exit_time=_epoch_ms(columns["exit_time"]),
            entry_price=np.array(columns["entry_price"], dtype=np.float64),
            exit_price=np.array(columns["exit_price"], dtype=np.float64),
            exit_reason=np.array(columns["exit_reason"], dtype=object),
            trade_return=np.array(columns["trade_return"], dtype=np.float64),
            pnl=np.array(columns["pnl"], dtype=np.float64),
            bars_held=np.array(columns["bars_held"], dtype=np.int64),
        )

    @cached_property
    def candles(self):
        """The candles the run used (through the cached reader); CandlesMissing if gone."""
        from marketdata.read import NoCandles, candles_load

        market = (self.run.config or {}).get("market") or {}
        symbol = market.get("symbol", self.run.symbol)
        timeframe = market.get("timeframe", self.run.timeframe)
        try:
            candles = candles_load(symbol, timeframe, market.get("start"), market.get("end"))
        except NoCandles as exc:
            self.complete = False
            raise CandlesMissing(
                f"The candles of {symbol} {timeframe} for this run are no longer stored, so the price "
                f"chart and the benchmark cannot be drawn ({exc}). Load them again to see them."
            ) from None
        if len(candles.ts) == 0:
            self.complete = False
            raise CandlesMissing(f"No candles of {symbol} {timeframe} are stored for this run's period.")
        return candles

    @property
    def market(self) -> tuple[np.ndarray, np.ndarray] | None:
        """(ts, close) of the run's candles, None when they are no longer stored."""
        try:
            candles = self.candles
        except CandlesMissing:
            return None
        return np.asarray(candles.ts, dtype=np.int64), np.asarray(candles.close, dtype=np.float64)

    @property
    def initial_capital(self) -> float:
        execution = (self.run.config or {}).get("execution") or {}
        value = execution.get("initial_capital", 10000.0)
        return float(value) if isinstance(value, int | float) else 10000.0

    @property
    def currency(self) -> str:
        return quote_currency(self.run.symbol)

    @cached_property
    def analytics(self) -> dict[str, Any]:
        """``reports.analytics.summary.summarise`` of the run, from the cache when there.

        A run whose candles are gone gets no benchmark figures, and that result is not
        cached (the candles may be loaded again)."""
        key = analytics_cache_key(self.run)
        found = cache.get(key)
        if found is not None:
            return found
        ts, equity = self.equity
        result = summarise(ts, equity, self.initial_capital, self.trades, self.market)
        if result["benchmark"]:
            cache.set(key, result, timeout=chart_cache_seconds())
        return result


def run_analytics(run) -> dict[str, Any] | None:
    """The analytics of a succeeded run (None for any other, or without an equity curve)."""
    if run.status != "succeeded":
        return None
    try:
        return RunData(run).analytics
    except NothingToDraw:
        return None

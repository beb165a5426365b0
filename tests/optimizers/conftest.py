"""Fixtures of the sweep tests: candles in the database, applied specs (the users are
tests/conftest.py's)."""

from __future__ import annotations

import numpy as np
import pytest
from rest_framework.test import APIClient

from jobs.models import JobStatus
from marketdata.parse import RawCandles
from marketdata.services import candles_ingest
from optimizers import services
from optimizers.models import OptimizationRun
from specs.models import Spec
from specs.services import spec_apply
from tests.optimizers.builders import walk_candles

SYMBOL = "SWEEP-TEST"
BARS = 1500


@pytest.fixture
def api():
    return APIClient()


def ingest(symbol: str, candles: dict[str, np.ndarray], timeframe: str = "1h") -> None:
    raw = RawCandles.from_arrays(
        ts=candles["ts"],
        open=candles["open"],
        high=candles["high"],
        low=candles["low"],
        close=candles["close"],
        volume=candles["volume"],
    )
    candles_ingest(symbol=symbol, timeframe=timeframe, raw=raw)


@pytest.fixture
def candles(db) -> dict[str, np.ndarray]:
    """BARS hourly bars of SYMBOL from 2024-01-01, stored in TimescaleDB."""
    data = walk_candles(BARS, seed=21)
    ingest(SYMBOL, data)
    return data


def backtest_yaml(
    name: str = "base", params: str = "", strategy: str = "hyperrsi", symbol: str = SYMBOL
) -> str:
    return (
        f"kind: Backtest\nname: {name}\nstrategy: {strategy}\n"
        f"params: {{use_trend_filter: false, leverage: 2, stop_loss_percent: 2.0{params}}}\n"
        f"market: {{symbol: {symbol}, timeframe: 1h, start: 2024-01-01, end: 2025-01-01}}\n"
        "execution: {fee_rate: 0.0004, fill: next_open}\n"
    )


def sweep_yaml(name: str = "grid", body: str = "", backtest: str = "base") -> str:
    return f"kind: Sweep\nname: {name}\nbacktest: {backtest}\n{body}"


GRID_BODY = """\
method: grid
space:
  rsi_period: {min: 6, max: 20, step: 2}
  rsi_oversold: {values: [25, 30, 35]}
  stop_loss_percent: {min: 1.0, max: 3.0, step: 1.0}
constraints: ["rsi_period != 8"]
objective: {metric: total_return, direction: maximize, min_trades: 3}
chunk_size: 10
top_n: 5
"""
# 8 periods x 3 levels x 3 stops = 72, minus 9 with rsi_period 8 = 63 combinations in 7 chunks
GRID_COMBINATIONS = 63


def apply(owner, *documents: str) -> list[Spec]:
    result = spec_apply(text="---\n".join(documents), owner=owner, source="test.yaml")
    return [Spec.objects.get(pk=d.spec_id) for d in result.documents]


@pytest.fixture
def grid_spec(candles, alice) -> Spec:
    return apply(alice, backtest_yaml(), sweep_yaml(body=GRID_BODY))[1]


def run_sweep(spec, owner, capture) -> OptimizationRun:
    """``owner``'s sweep of ``spec``, created and run inline (``capture``, pytest-django's
    ``django_capture_on_commit_callbacks``, executes its on_commit tasks), re-read."""
    with capture(execute=True):
        run = services.sweep_create(spec=spec, owner=owner)
    run.refresh_from_db()
    return run


def finished_sweep(spec, owner, capture) -> OptimizationRun:
    """``run_sweep``, which must have succeeded."""
    run = run_sweep(spec, owner, capture)
    assert run.status == JobStatus.SUCCEEDED, run.error
    return run

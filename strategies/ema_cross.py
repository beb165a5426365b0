"""EMA crossover: long when the fast EMA of close crosses above the slow one, short below.

A plain trend-following baseline to compare HYPERRSI against. As with HYPERRSI the
EMAs (``indicators``) and the crossing kernel (``signals_from_indicators``) are
separate so that a sweep computes each EMA period once.

``fast_period`` is meant to be the shorter span; the schema cannot say so across two
properties, so it is listed in ``constraints`` for sweeps and spec checks.
With fast ≥ slow the kernel still runs (the roles of the lines swap; equal spans never
cross).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from strategies import ema_cross_nb, indicators_nb
from strategies.registry import IndicatorLine, StrategyDef, engine_params_schema, price_array, register
from strategies.sweep import Columns, SweepAdapter, SweepLayout, float_matrix, period_column, unique_keys

PARAMS_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "EMA crossover parameters",
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "fast_period": {
            "type": "integer",
            "minimum": 2,
            "maximum": 200,
            "default": 12,
            "description": "Span in bars of the fast EMA (shorter than slow_period).",
        },
        "slow_period": {
            "type": "integer",
            "minimum": 5,
            "maximum": 500,
            "default": 26,
            "description": "Span in bars of the slow EMA; also the warm-up before the first signal.",
        },
        **engine_params_schema(leverage_default=1),
    },
}


def warmup(params: Mapping[str, Any]) -> int:
    """The first bar that may signal: slow_period (the slow EMA has seen that many bars)."""
    return int(STRATEGY.with_defaults(params)["slow_period"])


def indicators(params: Mapping[str, Any], close: Any) -> tuple[np.ndarray, np.ndarray]:
    """``(fast_ema, slow_ema)`` over ``close``, float64[n] each."""
    p = STRATEGY.with_defaults(params)
    close = price_array("close", close)
    return indicators_nb.ema(close, int(p["fast_period"])), indicators_nb.ema(close, int(p["slow_period"]))


def signals_from_indicators(
    params: Mapping[str, Any], fast: np.ndarray, slow: np.ndarray, out: np.ndarray | None = None
) -> np.ndarray:
    """int8[n] signals from precomputed EMAs; ``out`` is an optional int8[n] buffer."""
    if out is None:
        out = np.empty(fast.shape[0], dtype=np.int8)
    ema_cross_nb.ema_cross_signals_into(out, fast, slow, warmup(params))
    return out


def signals(  # noqa: PLR0917 (the StrategyDef.signals calling convention)
    params: Mapping[str, Any], open: Any, high: Any, low: Any, close: Any, volume: Any
) -> np.ndarray:
    """int8[n] crossover signals (+1 long, −1 short, 0) over the candles; only close is read."""
    fast, slow = indicators(params, close)
    return signals_from_indicators(params, fast, slow)


def indicator_lines(params: Mapping[str, Any], close: Any) -> list[IndicatorLine]:
    """For reports: both EMAs over the price."""
    p = STRATEGY.with_defaults(params)
    fast, slow = indicators(p, close)
    return [IndicatorLine(f"EMA {p['fast_period']}", fast), IndicatorLine(f"EMA {p['slow_period']}", slow)]


def sweep_layout(columns: Columns) -> SweepLayout:
    """The sweep kernel's layout of a batch (``strategies.sweep``), as
    ``ema_cross_nb.ema_cross_sweep_signals`` reads it: one EMA row per distinct span."""
    fast = period_column(columns, "fast_period")
    slow = period_column(columns, "slow_period")
    ema = np.full_like(fast, indicators_nb.EMA)
    keys, iidx = unique_keys(np.stack([ema, fast], 1), np.stack([ema, slow], 1))
    # the warm-up is slow_period (``warmup``)
    return SweepLayout(keys, iidx, float_matrix(slow))


STRATEGY = register(
    StrategyDef(
        name="ema_cross",
        title="EMA crossover",
        description="Long when the fast EMA of close crosses above the slow EMA, short when below.",
        params_schema=PARAMS_SCHEMA,
        warmup=warmup,
        signals=signals,
        constraints=("fast_period < slow_period",),
        sweep=SweepAdapter(
            code=ema_cross_nb.SWEEP_CODE, indicator_params=("fast_period", "slow_period"), layout=sweep_layout
        ),
        indicators=indicator_lines,
    )
)

"""The indicators a strategy trades on, to draw with the price: the strategy's own
indicator functions (``strategies.<name>.indicators``), so the chart shows exactly what
the signals saw."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from reports.charts import Indicator


def strategy_indicators(strategy: str, params: Mapping[str, Any], close: np.ndarray) -> list[Indicator]:
    """HYPERRSI: the trend EMA over the price (when its filter is on) and the RSI under
    it with the oversold and overbought levels; EMA cross: both EMAs over the price;
    any other strategy: none."""
    if strategy == "hyperrsi":
        from strategies import hyperrsi

        p = hyperrsi.STRATEGY.with_defaults(params)
        rsi, trend = hyperrsi.indicators(p, close)
        out = []
        if p.get("use_trend_filter"):
            out.append(Indicator(f"trend EMA {p['trend_ema_period']}", trend))
        levels = (float(p["rsi_oversold"]), float(p["rsi_overbought"]))
        out.append(Indicator(f"RSI {p['rsi_period']}", rsi, "lower", levels, (0.0, 100.0)))
        return out
    if strategy == "ema_cross":
        from strategies import ema_cross

        p = ema_cross.STRATEGY.with_defaults(params)
        fast, slow = ema_cross.indicators(p, close)
        return [Indicator(f"EMA {p['fast_period']}", fast), Indicator(f"EMA {p['slow_period']}", slow)]
    return []

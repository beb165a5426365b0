"""The indicators a strategy trades on, to draw with the price: the strategy plug-in's
own ``indicators`` (``StrategyDef.indicators``), so the chart shows exactly what the
signals saw."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from strategies.registry import IndicatorLine, UnknownStrategy, get_strategy


def strategy_indicators(strategy: str, params: Mapping[str, Any], close: np.ndarray) -> list[IndicatorLine]:
    """The lines ``strategy`` declares for ``params`` over ``close``; none for a strategy
    that declares none or is no longer registered."""
    try:
        plugin = get_strategy(strategy)
    except UnknownStrategy:
        return []
    return plugin.indicators(params, close) if plugin.indicators is not None else []

"""The strategies' warm-up step for ``engine.compile_ahead``: registered on import.

Every registered strategy through ``run_backtest`` (its fused kernel, if it has one),
both fill modes, its unfused signals, and the indicator and signal kernels' allocating
forms that direct callers use.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from engine.compile_ahead import register
from engine.runner import run_backtest
from strategies import ema_cross_nb, hyperrsi_nb
from strategies import indicators_nb as ind
from strategies.registry import all_strategies


def warm_strategies(candles: dict[str, Any]) -> None:
    for strategy in all_strategies():
        params = strategy.defaults()
        for fill in ("next_open", "close"):
            run_backtest(candles, strategy, params, {"fill": fill})
        strategy.signals(
            params, candles["open"], candles["high"], candles["low"], candles["close"], candles["volume"]
        )
    close = candles["close"]
    ind.sma(close, 20)
    ind.atr(candles["high"], candles["low"], close, 14)
    ind.bollinger(close, 20, 2.0)
    rsi = ind.rsi(close, 14, ind.RSI_SMA)
    rsi = ind.rsi(close, 14, ind.RSI_WILDER)
    hyperrsi_nb.hyperrsi_signals(
        close, rsi, close, np.int64(14), 30.0, 70.0, hyperrsi_nb.ENTRY_REVERSE, False
    )
    ema_cross_nb.ema_cross_signals(ind.ema(close, 10), ind.ema(close, 30), np.int64(30))


register("strategies (fused and unfused backtests, indicators, signals)", warm_strategies)

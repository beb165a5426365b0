"""Models of the backtests app, one module per concept, re-exported here for Django."""

from .candles import Candle, CandleSeries
from .runs import FINAL_STATUSES, BacktestRun, ExitReason, RunEquity, RunStatus, Trade, TradeSide

__all__ = [
    "FINAL_STATUSES",
    "BacktestRun",
    "Candle",
    "CandleSeries",
    "ExitReason",
    "RunEquity",
    "RunStatus",
    "Trade",
    "TradeSide",
]

"""The backtest engine: Numba kernels (``nb``, ``metrics_nb``) and their one wrapper
(``runner``). Framework-free: importing it never imports Django.

See docs/engine.md for the execution rules and the metric definitions.
"""

from engine.config import ExecutionConfig
from engine.runner import BacktestResult, Candles, run_backtest, simulate

__all__ = ["BacktestResult", "Candles", "ExecutionConfig", "run_backtest", "simulate"]

"""What a sweep takes from a strategy plug-in: its sweep adapter, and the execution record
of every combination.

The adapter itself is the strategy's (``StrategyDef.sweep``, ``strategies.sweep``):
how a batch of combinations maps onto the sweep kernel. Engine parameters (leverage,
stop, take profit) are the same for every strategy and go with the execution settings
into each combination's execution record (``execution_records``).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from engine.config import ExecutionConfig
from strategies.registry import StrategyError, all_strategies, get_strategy
from strategies.sweep import SweepAdapter

Columns = Mapping[str, np.ndarray]


def sweepable() -> list[str]:
    """The names of the strategies that declare a sweep adapter."""
    return [s.name for s in all_strategies() if s.sweep is not None]


def get_adapter(strategy: str) -> SweepAdapter:
    """The sweep adapter of ``strategy``; ``StrategyError`` naming the strategies that
    can be swept when it has none (``UnknownStrategy`` when it is not registered)."""
    adapter = get_strategy(strategy).sweep
    if adapter is None:
        raise StrategyError(f"strategy {strategy!r} cannot be swept (sweepable: {', '.join(sweepable())})")
    return adapter


def _float_column(columns: Columns, name: str, default: float, n: int) -> np.ndarray:
    if name not in columns:
        return np.full(n, default)
    column = columns[name]
    if column.dtype == object:
        # absent/None means "none" (NaN) for the optional percent levels
        column = np.array([np.nan if v is None else v for v in column.tolist()], dtype=np.float64)
    return np.asarray(column, dtype=np.float64)


def execution_records(columns: Columns, n: int, execution: ExecutionConfig) -> np.ndarray:
    """float64[C, N_EXEC]: per combination the execution record (``enums.X_*``) of
    ``execution`` with its leverage (default 1), stop % and take profit % (NaN = none).

    Checked as one run is (``ExecutionConfig.records``); the error names the first
    offending value.
    """
    return execution.records(
        _float_column(columns, "leverage", 1.0, n),
        _float_column(columns, "stop_loss_percent", np.nan, n),
        _float_column(columns, "take_profit_percent", np.nan, n),
    )

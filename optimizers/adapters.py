"""Per-strategy adapters: how a batch of combinations maps onto the sweep kernel.

An adapter turns the columns of full parameter sets (base params + swept values +
defaults; one numpy array per parameter) into

- ``keys``: int64[K, 2], the distinct indicators the batch needs as (``IND_*`` code,
  period) — one RSI per distinct (method, period), one EMA per distinct span, never
  one per combination;
- ``iidx``: int64[C, ki], per combination the positions in ``keys`` its signal kernel
  reads;
- ``fpar``: float64[C, kf], per combination the cheap signal parameters;

in the layout ``optimizers.sweep_nb._signals_block`` reads for ``code``. Engine
parameters (leverage, stop, take profit) are the same for every strategy and go with
the execution settings into each combination's execution record
(``execution_records``). Adding a strategy to sweeps = one adapter here + one branch in
``_signals_block``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from engine.config import ExecutionConfig
from engine.enums import X_LEVERAGE, X_STOP_LOSS, X_TAKE_PROFIT
from optimizers import sweep_nb
from strategies import hyperrsi_nb

Columns = Mapping[str, np.ndarray]


@dataclass(frozen=True)
class Layout:
    keys: np.ndarray  # int64[K, 2]
    iidx: np.ndarray  # int64[C, ki], positions in keys
    fpar: np.ndarray  # float64[C, kf]


def _choice_codes(columns: Columns, name: str, choices: Mapping[Any, int]) -> np.ndarray:
    column = columns[name]
    codes = np.full(column.shape[0], -1, dtype=np.int64)
    for value, code in choices.items():
        codes[column == value] = code
    bad = np.flatnonzero(codes < 0)
    if bad.size:
        raise ValueError(f"params.{name} must be one of {sorted(choices)}, got {column[bad[0]]!r}")
    return codes


def _ints(columns: Columns, name: str) -> np.ndarray:
    column = columns[name]
    values = np.asarray(column, dtype=np.float64)
    if not np.all(np.isfinite(values)) or np.any(values != np.round(values)) or np.any(values < 1):
        raise ValueError(f"params.{name} must be integers >= 1")
    return values.astype(np.int64)


def _unique_keys(*per_combination: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distinct (code, period) rows over several int64[C, 2] key arrays, and for each
    combination its position in them: int64[C, len(per_combination)]."""
    n = per_combination[0].shape[0]
    stacked = np.concatenate(per_combination, axis=0)
    keys, inverse = np.unique(stacked, axis=0, return_inverse=True)
    iidx = inverse.reshape(len(per_combination), n).T
    return keys.astype(np.int64), np.ascontiguousarray(iidx, dtype=np.int64)


class HyperRsiAdapter:
    strategy = "hyperrsi"
    code = sweep_nb.STRAT_HYPERRSI
    # parameters that select indicator rows: grids put these axes first (slowest), so
    # that a chunk of consecutive combinations shares its indicators
    indicator_params = ("rsi_method", "rsi_period", "use_trend_filter", "trend_ema_period")

    def layout(self, columns: Columns) -> Layout:
        method = _choice_codes(
            columns, "rsi_method", {"wilder": sweep_nb.IND_RSI_WILDER, "sma": sweep_nb.IND_RSI_SMA}
        )
        period = _ints(columns, "rsi_period")
        entry = _choice_codes(
            columns,
            "entry_option",
            {"reverse": hyperrsi_nb.ENTRY_REVERSE, "follow": hyperrsi_nb.ENTRY_FOLLOW},
        )
        use_filter = np.asarray(columns["use_trend_filter"], dtype=bool)
        trend = _ints(columns, "trend_ema_period")
        rsi_keys = np.stack([method, period], axis=1)
        # Without the filter the EMA is never read: point at the RSI row, so no EMA
        # is computed for it.
        ema_keys = np.where(
            use_filter[:, None], np.stack([np.full_like(trend, sweep_nb.IND_EMA), trend], 1), rsi_keys
        )
        keys, iidx = _unique_keys(rsi_keys, ema_keys)
        fpar = np.stack(
            [
                period.astype(np.float64),
                np.asarray(columns["rsi_oversold"], dtype=np.float64),
                np.asarray(columns["rsi_overbought"], dtype=np.float64),
                entry.astype(np.float64),
                use_filter.astype(np.float64),
            ],
            axis=1,
        )
        return Layout(keys, iidx, np.ascontiguousarray(fpar))


class EmaCrossAdapter:
    strategy = "ema_cross"
    code = sweep_nb.STRAT_EMA_CROSS
    indicator_params = ("fast_period", "slow_period")

    def layout(self, columns: Columns) -> Layout:
        fast = _ints(columns, "fast_period")
        slow = _ints(columns, "slow_period")
        ema = np.full_like(fast, sweep_nb.IND_EMA)
        keys, iidx = _unique_keys(np.stack([ema, fast], 1), np.stack([ema, slow], 1))
        # the warm-up of ema_cross is slow_period (strategies.ema_cross.warmup)
        fpar = slow.astype(np.float64)[:, None]
        return Layout(keys, iidx, np.ascontiguousarray(fpar))


ADAPTERS = {adapter.strategy: adapter for adapter in (HyperRsiAdapter(), EmaCrossAdapter())}


def get_adapter(strategy: str):
    """The adapter of ``strategy``; ``KeyError`` naming the strategies that can be swept."""
    try:
        return ADAPTERS[strategy]
    except KeyError:
        raise KeyError(
            f"strategy {strategy!r} cannot be swept (sweepable: {', '.join(sorted(ADAPTERS))})"
        ) from None


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

    Checked like ``engine.runner`` checks one run; the error names the
    first offending value.
    """
    mmr = execution.maintenance_margin_rate
    lev = _float_column(columns, "leverage", 1.0, n)
    sl = _float_column(columns, "stop_loss_percent", np.nan, n)
    tp = _float_column(columns, "take_profit_percent", np.nan, n)
    bad = np.flatnonzero(~(np.isfinite(lev) & (lev >= 1.0)))
    if bad.size:
        raise ValueError(f"params.leverage must be a finite number >= 1, got {lev[bad[0]]!r}")
    bad = np.flatnonzero((lev > 1.0) & (mmr >= 1.0 / lev))
    if bad.size:
        raise ValueError(
            f"execution.maintenance_margin_rate ({mmr}) must be below 1 / leverage ({1.0 / lev[bad[0]]})"
        )
    bad = np.flatnonzero(~np.isnan(sl) & ~((sl > 0.0) & (sl < 100.0)))
    if bad.size:
        raise ValueError(f"params.stop_loss_percent must be in (0, 100), got {sl[bad[0]]!r}")
    bad = np.flatnonzero(~np.isnan(tp) & ~((tp > 0.0) & np.isfinite(tp)))
    if bad.size:
        raise ValueError(f"params.take_profit_percent must be > 0, got {tp[bad[0]]!r}")
    records = np.tile(execution.record(), (n, 1))
    records[:, X_LEVERAGE] = lev
    records[:, X_STOP_LOSS] = sl
    records[:, X_TAKE_PROFIT] = tp
    return records

"""What a strategy declares to be swept: its sweep adapter (``StrategyDef.sweep``).

A sweep evaluates many combinations of one strategy's parameters over the same candles
in one kernel (``optimizers.sweep_nb``): every distinct indicator is computed once into a
table, and each combination reads its rows and a few cheap signal parameters. The
adapter says how. From the columns of full parameter sets (base params + swept values +
defaults; one numpy array per parameter) its ``layout`` builds a ``SweepLayout``:

- ``keys``: int64[K, 2], the distinct indicators the batch needs as (indicator code of
  ``strategies.indicators_nb``, period): one RSI per distinct (method, period), one EMA
  per distinct span, never one per combination;
- ``iidx``: int64[C, ki], per combination the positions in ``keys`` its signal rule reads;
- ``fpar``: float64[C, kf], per combination the cheap signal parameters.

``code`` names the branch of ``optimizers.sweep_nb`` that runs the strategy's
``*_sweep_signals`` kernel (in its ``*_nb`` module, next to the adapter's layout, which
it documents); codes are unique (``strategies.registry.register`` checks).
``indicator_params`` are the parameters that select indicator rows: grids put these
axes first (slowest), so that a chunk of consecutive combinations shares its indicators.
Engine parameters (leverage, stop, take profit) are the same for every strategy and go
with the execution settings into each combination's execution record.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from strategies.registry import StrategyError

Columns = Mapping[str, np.ndarray]


@dataclass(frozen=True)
class SweepLayout:
    keys: np.ndarray  # int64[K, 2]: (indicator code, period)
    iidx: np.ndarray  # int64[C, ki], positions in keys
    fpar: np.ndarray  # float64[C, kf]


@dataclass(frozen=True)
class SweepAdapter:
    code: int
    indicator_params: tuple[str, ...]
    layout: Callable[[Columns], SweepLayout]


def choice_codes(columns: Columns, name: str, choices: Mapping[Any, int]) -> np.ndarray:
    """int64[C]: the code of each value of the choice parameter ``name`` (the strategy's
    own choice map, the one its single runs use); ``StrategyError`` naming a bad value."""
    column = columns[name]
    codes = np.full(column.shape[0], -1, dtype=np.int64)
    for value, code in choices.items():
        codes[column == value] = code
    bad = np.flatnonzero(codes < 0)
    if bad.size:
        raise StrategyError(f"params.{name} must be one of {sorted(choices)}, got {column[bad[0]]!r}")
    return codes


def period_column(columns: Columns, name: str) -> np.ndarray:
    """int64[C]: the period parameter ``name``, whole numbers >= 1."""
    values = np.asarray(columns[name], dtype=np.float64)
    if not np.all(np.isfinite(values)) or np.any(values != np.round(values)) or np.any(values < 1):
        raise StrategyError(f"params.{name} must be integers >= 1")
    return values.astype(np.int64)


def float_matrix(*columns: np.ndarray) -> np.ndarray:
    """float64[C, len(columns)], C-contiguous: the ``fpar`` of a layout."""
    return np.ascontiguousarray(np.stack([np.asarray(c, dtype=np.float64) for c in columns], axis=1))


def unique_keys(*per_combination: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distinct (code, period) rows over several int64[C, 2] key arrays, and for each
    combination its position in them: int64[C, len(per_combination)]."""
    n = per_combination[0].shape[0]
    stacked = np.concatenate(per_combination, axis=0)
    keys, inverse = np.unique(stacked, axis=0, return_inverse=True)
    iidx = inverse.reshape(len(per_combination), n).T
    return keys.astype(np.int64), np.ascontiguousarray(iidx, dtype=np.int64)

"""EMA crossover signal kernel: precomputed fast and slow EMAs in, int8 signals out."""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True)
def ema_cross_signals_into(out, fast, slow, warmup):
    """Write crossover signals into ``out`` (int8[n]).

    Shapes: ``fast`` and ``slow`` float64[n] (EMAs of close, same units). out[i] = +1
    when fast[i−1] ≤ slow[i−1] and fast[i] > slow[i] (crossed above), −1 when
    fast[i−1] ≥ slow[i−1] and fast[i] < slow[i] (crossed below), else 0. Bars before
    ``warmup`` (and bar 0, which has no predecessor) get 0; NaN compares false, so a
    NaN EMA gives no signal. A touch (equal, then apart again on the same side) counts
    as a cross; the engine ignores the repeated same-side signal.
    Reference: ``tests/naive.py::ema_cross_signals``.
    """
    n = fast.shape[0]
    if slow.shape[0] != n or out.shape[0] != n:
        raise ValueError("fast, slow and out must have the same length")
    start = min(max(warmup, 1), n)
    for i in range(start):
        out[i] = 0
    for i in range(start, n):
        signal = 0
        if fast[i] > slow[i]:
            if fast[i - 1] <= slow[i - 1]:
                signal = 1
        elif fast[i] < slow[i] and fast[i - 1] >= slow[i - 1]:
            signal = -1
        out[i] = signal


@njit(cache=True)
def ema_cross_signals(fast, slow, warmup):
    """Crossover signals as a new int8[n] array; see ``ema_cross_signals_into``."""
    out = np.empty(fast.shape[0], dtype=np.int8)
    ema_cross_signals_into(out, fast, slow, warmup)
    return out

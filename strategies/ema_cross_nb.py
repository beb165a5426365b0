"""EMA crossover signal kernel: precomputed fast and slow EMAs in, int8 signals out."""

from __future__ import annotations

import numpy as np
from numba import njit

# The branch of ``optimizers.sweep_nb`` that runs ``ema_cross_sweep_signals``.
SWEEP_CODE = 1


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
    ema_cross_signals_range(out, fast, slow, 0, n, warmup)


@njit(cache=True)
def ema_cross_signals_range(out, fast, slow, lo, hi, warmup):  # noqa: PLR0917 (Numba: positional)
    """The signals of bars lo..hi-1 into ``out[: hi - lo]`` (the rule of
    ``ema_cross_signals_into``, which calls this over all bars; a sweep calls it a block
    at a time). Unchecked: 0 <= lo <= hi <= n."""
    first = min(max(warmup, 1, lo), hi)
    for i in range(lo, first):
        out[i - lo] = 0
    o = out[first - lo : hi - lo]
    f = fast[first:hi]
    s = slow[first:hi]
    f_prev = fast[first - 1 : hi - 1]
    s_prev = slow[first - 1 : hi - 1]
    for j in range(hi - first):
        up = (f[j] > s[j]) & (f_prev[j] <= s_prev[j])
        down = (f[j] < s[j]) & (f_prev[j] >= s_prev[j])
        o[j] = 1 if up else (-1 if down else 0)


@njit(cache=True)
def ema_cross_signals(fast, slow, warmup):
    """Crossover signals as a new int8[n] array; see ``ema_cross_signals_into``."""
    out = np.empty(fast.shape[0], dtype=np.int8)
    ema_cross_signals_into(out, fast, slow, warmup)
    return out


# Inlined into the sweep kernel: called there as a kernel of its own, the sweep measured
# ~7% slower (bench/sweep.py --parts kernel, CPU-time ratio 1.13 against 1.05).
@njit(inline="always")
def ema_cross_sweep_signals(out, close, ind, iidx, fpar, lo, hi):  # noqa: PLR0917 (Numba: positional)
    """One sweep combination's signals of bars lo..hi-1 into ``out[: hi - lo]``, in the
    layout of ``strategies.ema_cross.sweep_layout``: iidx = [fast row, slow row] of the
    indicator table ``ind``; fpar = [warm-up (slow_period)]. ``close`` is not read."""
    ema_cross_signals_range(out, ind[iidx[0]], ind[iidx[1]], lo, hi, np.int64(fpar[0]))

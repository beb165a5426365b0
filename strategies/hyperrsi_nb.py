"""HYPERRSI signal kernel: precomputed RSI and trend EMA in, int8 signals out.

The indicators are computed separately (``strategies.indicators_nb``) so that a
parameter sweep computes each distinct RSI (method, period) and EMA (period) once and
runs only this cheap kernel per combination of thresholds, mode and filter.
"""

from __future__ import annotations

import numpy as np
from numba import njit

ENTRY_REVERSE = 0
ENTRY_FOLLOW = 1
# The branch of ``optimizers.sweep_nb`` that runs ``hyperrsi_sweep_signals``.
SWEEP_CODE = 0


@njit(cache=True)
def hyperrsi_warmup(rsi_period):
    """The first bar index at which HYPERRSI may signal: max(2·rsi_period, 30)."""
    return max(2 * rsi_period, 30)


@njit(cache=True)
def hyperrsi_signals_into(  # noqa: PLR0917 (Numba: no keyword-only args)
    out, close, rsi, ema, rsi_period, oversold, overbought, entry_option, use_trend_filter
):
    """Write HYPERRSI entry signals into ``out``.

    Shapes: ``close``, ``rsi`` (RSI points, NaN while undefined) and ``out`` (int8)
    have length n; ``ema`` (the trend EMA over close) is read only when
    ``use_trend_filter`` and then must have length n too (pass ``close`` otherwise).
    ``entry_option`` is ``ENTRY_REVERSE`` (0) or ``ENTRY_FOLLOW`` (1).

    out[i] = +1 (long), −1 (short) or 0; bar i reads only bars i−1 and i. No signal
    before ``hyperrsi_warmup(rsi_period)`` nor where an RSI value it reads is NaN.

    - reverse: long when rsi[i−1] ≤ oversold < rsi[i] and, with the filter,
      close[i] < ema[i]; short when rsi[i−1] ≥ overbought > rsi[i] and, with the
      filter, close[i] > ema[i] (buy the turn up out of oversold below the trend).
    - follow: long when rsi[i] ≤ oversold; short when rsi[i] ≥ overbought. DESIGN.md
      states the trend filter for reverse only, so follow ignores it.

    Where both sides hold (only possible with oversold = overbought = 50) long wins.
    Reference: DESIGN.md "HYPERRSI"; ``tests/naive.py::hyperrsi_signals``.
    """
    n = close.shape[0]
    if rsi.shape[0] != n or out.shape[0] != n:
        raise ValueError("rsi and out must have the length of close")
    if use_trend_filter and ema.shape[0] != n:
        raise ValueError("ema must have the length of close when the trend filter is on")
    if entry_option not in (ENTRY_REVERSE, ENTRY_FOLLOW):
        raise ValueError("entry_option must be ENTRY_REVERSE (0) or ENTRY_FOLLOW (1)")
    hyperrsi_signals_range(
        out, close, rsi, ema, 0, n, hyperrsi_warmup(rsi_period), oversold, overbought,
        entry_option == ENTRY_FOLLOW, use_trend_filter,
    )  # fmt: skip


@njit(cache=True)
def hyperrsi_signals_range(  # noqa: PLR0917 (Numba: no keyword-only args)
    out, close, rsi, ema, lo, hi, start, oversold, overbought, follow, use_trend_filter
):
    """The signals of bars lo..hi-1 into ``out[: hi - lo]`` (the rule of
    ``hyperrsi_signals_into``, which calls this over all bars; a sweep calls it a block at
    a time). start: the warm-up, ``hyperrsi_warmup(rsi_period)`` (>= 30, so rsi[i - 1]
    exists); follow: ``entry_option == ENTRY_FOLLOW``. Unchecked: 0 <= lo <= hi <= n.
    """
    first = min(max(start, lo), hi)
    for i in range(lo, first):
        out[i - lo] = 0
    # Slices (indices known >= 0, no wraparound) and bitwise operators on the comparisons:
    # no branch depends on the data (crosses come at random bars, where a branch would
    # mispredict). NaN compares false, so an undefined RSI gives no signal.
    o = out[first - lo : hi - lo]
    now = rsi[first:hi]
    prev = rsi[first - 1 : hi - 1]
    c = close[first:hi]
    trend = ema[first:hi] if use_trend_filter else c
    for j in range(hi - first):
        if follow:
            long_ = now[j] <= oversold
            short = now[j] >= overbought
        else:
            # The two crosses exclude each other (oversold <= 50 <= overbought).
            long_ = (prev[j] <= oversold) & (oversold < now[j]) & ((c[j] < trend[j]) | (not use_trend_filter))
            short = (
                (prev[j] >= overbought) & (overbought > now[j]) & ((c[j] > trend[j]) | (not use_trend_filter))
            )
        # long wins a tie (possible only with oversold = overbought = 50 in follow mode)
        o[j] = 1 if long_ else (-1 if short else 0)


# Inlined into the sweep kernel: called there as a kernel of its own, the sweep measured
# ~7% slower (bench/sweep.py --parts kernel, CPU-time ratio 1.13 against 1.05).
@njit(inline="always")
def hyperrsi_sweep_signals(out, close, ind, iidx, fpar, lo, hi):  # noqa: PLR0917 (Numba: positional)
    """One sweep combination's signals of bars lo..hi-1 into ``out[: hi - lo]``, in the
    layout of ``strategies.hyperrsi.sweep_layout``: iidx = [rsi row, ema row] of the
    indicator table ``ind``; fpar = [rsi_period, oversold, overbought, entry_option code,
    use_trend_filter (0/1)]. Without the filter the EMA row is never read (close is passed
    in its place, as ``strategies.hyperrsi.indicators`` does)."""
    use_filter = fpar[4] != 0.0
    trend = ind[iidx[1]] if use_filter else close
    hyperrsi_signals_range(
        out, close, ind[iidx[0]], trend, lo, hi, hyperrsi_warmup(np.int64(fpar[0])), fpar[1], fpar[2],
        np.int64(fpar[3]) == ENTRY_FOLLOW, use_filter,
    )  # fmt: skip


@njit(cache=True)
def hyperrsi_signals(  # noqa: PLR0917 (Numba: no keyword-only args)
    close, rsi, ema, rsi_period, oversold, overbought, entry_option, use_trend_filter
):
    """HYPERRSI signals as a new int8[n] array; see ``hyperrsi_signals_into``."""
    out = np.empty(close.shape[0], dtype=np.int8)
    hyperrsi_signals_into(
        out, close, rsi, ema, rsi_period, oversold, overbought, entry_option, use_trend_filter
    )
    return out

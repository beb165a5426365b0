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
    # The warm-up is at least 30, so rsi[i - 1] always exists below.
    start = min(hyperrsi_warmup(rsi_period), n)
    for i in range(start):
        out[i] = 0
    follow = entry_option == ENTRY_FOLLOW
    for i in range(start, n):
        now = rsi[i]
        signal = 0
        if follow:
            # NaN compares false on both sides, so an undefined RSI gives no signal.
            if now <= oversold:
                signal = 1
            elif now >= overbought:
                signal = -1
        else:
            prev = rsi[i - 1]
            # The two crosses exclude each other (oversold ≤ 50 ≤ overbought).
            up_cross = prev <= oversold < now
            down_cross = prev >= overbought > now
            if up_cross and (not use_trend_filter or close[i] < ema[i]):
                signal = 1
            elif down_cross and (not use_trend_filter or close[i] > ema[i]):
                signal = -1
        out[i] = signal


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

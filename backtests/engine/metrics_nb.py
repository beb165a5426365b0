"""Numba kernel of the run metrics (DESIGN.md, "Metrics (contract)").

Imports only numpy, numba and the sibling ``enums``. NaN in the output means "null"
(undefined: no trades, a zero denominator, fewer than two returns for a std); the wrapper
turns NaN and +/-inf into ``None`` so that no output is ever NaN or infinite.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from backtests.engine.enums import (
    M_ANNUAL_RETURN,
    M_AVG_BARS_HELD,
    M_AVG_LOSS,
    M_AVG_TRADE_RETURN,
    M_AVG_WIN,
    M_CALMAR_RATIO,
    M_EXPECTANCY,
    M_EXPOSURE,
    M_LARGEST_LOSS,
    M_LARGEST_WIN,
    M_MAX_DRAWDOWN,
    M_MAX_DRAWDOWN_DURATION,
    M_PROFIT_FACTOR,
    M_SHARPE_RATIO,
    M_SORTINO_RATIO,
    M_TOTAL_FEES,
    M_TOTAL_RETURN,
    M_TOTAL_TRADES,
    M_VOLATILITY,
    M_WIN_RATE,
    MINUTES_PER_YEAR,
    MS_PER_DAY,
    N_METRICS,
)

# The return sums are plain reductions: ``reassoc`` lets LLVM vectorise them (summing
# in lanes changes the result by a few ulps, far below the 1e-9 the tests hold it to).
# ``nsz`` is needed for min(r, 0); no NaN/inf assumption is made ("fast" is not used).


@njit(cache=True, fastmath={"reassoc", "nsz"})
def _return_sums(equity):
    """(sum of r_i, sum of min(r_i, 0)^2) over i = 1..n-1; r_i = 0 where e_{i-1} <= 0."""
    s = 0.0
    s_down2 = 0.0
    for i in range(1, equity.shape[0]):
        prev = equity[i - 1]
        r = equity[i] / prev - 1.0 if prev > 0.0 else 0.0
        s += r
        d = min(r, 0.0)
        s_down2 += d * d
    return s, s_down2


@njit(cache=True, fastmath={"reassoc", "nsz"})
def _squared_deviations(equity, mean):
    """sum of (r_i - mean)^2: the second pass of a two-pass variance, as ``np.std`` does."""
    ss = 0.0
    for i in range(1, equity.shape[0]):
        prev = equity[i - 1]
        r = equity[i] / prev - 1.0 if prev > 0.0 else 0.0
        d = r - mean
        ss += d * d
    return ss


@njit(cache=True)
def _drawdowns(equity, ts):
    """(max drawdown fraction, longest drawdown in ms).

    A drawdown starts after the last bar at the running peak (a bar equal to the peak
    moves the peak there) and ends at the first bar with equity >= that peak, or at the
    last bar when never regained. Its depth is 1 - trough / peak: tracking the trough
    instead of dividing at every bar halves the cost of this pass.
    """
    n = equity.shape[0]
    peak = equity[0]
    peak_idx = 0
    trough = peak
    max_dd = 0.0
    max_ms = 0
    for i in range(1, n):
        e = equity[i]
        if e >= peak:
            if trough < peak:
                max_dd = max(max_dd, 1.0 - trough / peak)
                max_ms = max(max_ms, ts[i] - ts[peak_idx])
            peak = e
            peak_idx = i
            trough = e
        elif e < trough:
            trough = e
    if trough < peak:
        max_dd = max(max_dd, 1.0 - trough / peak)
        max_ms = max(max_ms, ts[n - 1] - ts[peak_idx])
    return max_dd, max_ms


@njit(cache=True)
def metrics_nb(equity, ts, trades, minutes_per_bar, initial_capital, n_exposed):  # noqa: PLR0917
    """Every metric of the contract table, as float64[N_METRICS] indexed by ``enums.M_*``.

    equity: float64[n], n >= 2, equity at each bar close after the end-of-data exit;
    e_0 > 0 (the first bar can only have paid an entry fee).
    ts: int64[n] epoch ms, strictly increasing. trades: ``trade_dt`` records (trimmed).
    minutes_per_bar: > 0, sets bars_per_year = 365*24*60 / minutes_per_bar.
    initial_capital: > 0. n_exposed: bars at whose close a position was open.

    Returns are r_i for i = 1..n-1 (n-1 values); std uses ddof=1, computed in two passes
    (mean first) like ``np.std``. Durations are in days of 86,400,000 ms. The drawdown
    peak is the last bar at the running maximum before equity falls below it (equity
    equal to the peak does not start a drawdown), and a drawdown ends at the first bar
    with equity >= that peak. Trade buckets: wins are pnl > 0, losses pnl <= 0; gross loss
    = -sum(pnl of losses), so profit_factor is null when no trade lost money.
    NaN policy: equity is never NaN (finite prices); NaN out = null.
    Reference: ``tests/naive_engine.py::naive_metrics`` and the numpy transcription of
    the table in ``tests/backtests/engine/test_metrics.py``.
    """
    out = np.full(N_METRICS, np.nan)
    n = equity.shape[0]
    bars_per_year = MINUTES_PER_YEAR / minutes_per_bar
    ann = np.sqrt(bars_per_year)

    total_return = equity[n - 1] / initial_capital - 1.0
    out[M_TOTAL_RETURN] = total_return
    span_days = (ts[n - 1] - ts[0]) / MS_PER_DAY
    if total_return <= -1.0:
        annual = -1.0
    elif span_days > 0.0:
        annual = (1.0 + total_return) ** (365.0 / span_days) - 1.0
    else:
        annual = np.nan
    out[M_ANNUAL_RETURN] = annual

    max_dd, max_dd_ms = _drawdowns(equity, ts)
    out[M_MAX_DRAWDOWN] = max_dd
    out[M_MAX_DRAWDOWN_DURATION] = max_dd_ms / MS_PER_DAY
    if max_dd > 0.0:
        out[M_CALMAR_RATIO] = annual / max_dd

    m = n - 1
    sum_r, sum_down2 = _return_sums(equity)
    mean_r = sum_r / m
    if m >= 2:
        std = np.sqrt(_squared_deviations(equity, mean_r) / (m - 1))
        out[M_VOLATILITY] = std * ann
        if std > 0.0:
            out[M_SHARPE_RATIO] = mean_r / std * ann
    downside = np.sqrt(sum_down2 / m)
    if downside > 0.0:
        out[M_SORTINO_RATIO] = mean_r / downside * ann

    # trades
    n_trades = trades.shape[0]
    out[M_TOTAL_TRADES] = n_trades
    sum_pnl = 0.0
    sum_ret = 0.0
    sum_bars = 0.0
    sum_fees = 0.0
    n_win = 0
    gross_win = 0.0
    max_win = -np.inf
    n_loss = 0
    gross_loss = 0.0
    min_loss = np.inf
    for k in range(n_trades):
        t = trades[k]
        pnl = t["pnl"]
        sum_pnl += pnl
        sum_ret += t["return"]
        sum_bars += t["bars_held"]
        sum_fees += t["fees"]
        if pnl > 0.0:
            n_win += 1
            gross_win += pnl
            max_win = max(max_win, pnl)
        else:
            n_loss += 1
            gross_loss -= pnl
            min_loss = min(min_loss, pnl)
    out[M_TOTAL_FEES] = sum_fees
    if n_trades > 0:
        out[M_WIN_RATE] = n_win / n_trades
        out[M_AVG_TRADE_RETURN] = sum_ret / n_trades
        out[M_EXPECTANCY] = sum_pnl / n_trades
        out[M_AVG_BARS_HELD] = sum_bars / n_trades
    if gross_loss > 0.0:
        out[M_PROFIT_FACTOR] = gross_win / gross_loss
    if n_win > 0:
        out[M_AVG_WIN] = gross_win / n_win
        out[M_LARGEST_WIN] = max_win
    if n_loss > 0:
        # -gross_loss rather than a separate sum: the same figure, one accumulator
        out[M_AVG_LOSS] = -gross_loss / n_loss
        out[M_LARGEST_LOSS] = min_loss
    out[M_EXPOSURE] = n_exposed / n
    return out

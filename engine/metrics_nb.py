"""Numba kernel of the run metrics (DESIGN.md, "Metrics (contract)").

Imports only numpy, numba and the sibling ``enums``. NaN in the output means "null"
(undefined: no trades, a zero denominator, fewer than two returns for a std); the wrapper
turns NaN and +/-inf into ``None`` so that no output is ever NaN or infinite.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from engine.enums import (
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

# The equity-curve metrics are streaming accumulators (``metrics_start`` /
# ``metrics_step`` / ``metrics_finish``) over e_0, e_1, ...: ``metrics_nb`` feeds them from
# an equity array, a fused strategy kernel feeds them each equity value as it computes it,
# and both get bit-identical figures from the same code. No array goes into a step (an
# array passed into an inlined function costs a reference-count update per call), and no
# fastmath: reassociation would let each caller's compiled loop sum in its own order.
#
# The accumulator tuple:
#   (prev, sum_down2, shift, b_sum, b_sq, b_n, count, mean, m2,
#    peak, peak_ts, trough, max_dd, max_ms)
# prev: the last equity value, or the first one <= 0 once the run is ruined (it stays
# there, so every later return is 0); sum_down2: the sum of min(r_i, 0)^2;
# shift, b_sum, b_sq, b_n: the current block of returns, summed as x = r - shift;
# count, mean, m2: the blocks merged so far (Chan, Golub & LeVeque's pairwise update);
# peak, peak_ts, trough, max_dd, max_ms: the drawdown state (see ``_drawdown_step``).
#
# Variance: a one-pass sum of squares cancels catastrophically when the mean is large
# against the spread, and Welford's update puts a division on the loop's critical path.
# Summing each block of _BLOCK returns around a shift (the mean of the blocks before it)
# and merging the blocks pairwise is as accurate as a two-pass variance for any input
# and as cheap as plain sums: the merge runs once per block.
_BLOCK = 512


@njit(inline="always")
def metrics_start(e0, ts0):
    """The accumulators after bar 0, whose equity is ``e0`` (> 0) and time ``ts0``."""
    zero = np.int64(0)  # not a literal 0, so that the tuple has one type from the start
    return (e0, 0.0, 0.0, 0.0, 0.0, zero, zero, 0.0, 0.0, e0, ts0, e0, 0.0, ts0 - ts0)


@njit(inline="always")
def _merge_block(count, mean, m2, shift, b_sum, b_sq, b_n):  # noqa: PLR0917 (Numba: positional)
    """(count, mean, m2) of the blocks so far merged with the current one (b_n > 0)."""
    b_mean = shift + b_sum / b_n
    b_m2 = b_sq - b_sum * (b_sum / b_n)
    total = count + b_n
    delta = b_mean - mean
    mean = mean + delta * (b_n / total)
    m2 = m2 + max(b_m2, 0.0) + delta * delta * (count * (b_n / total))
    return total, mean, m2


@njit(inline="always")
def metrics_step(acc, e, ts_i):
    """Fold in bar i >= 1, with equity ``e`` and time ``ts_i`` (epoch ms).

    r_i = max(e / e_{i-1} - 1, -1) while no equity so far was <= 0; 0 from the bar after
    the first e <= 0 on (the ruin: the capital is gone, and what an open position does
    afterwards is no return on it). Drawdowns: a drawdown starts after the last bar at
    the running peak (a bar equal to the peak moves the peak there) and ends at the first
    bar with equity >= that peak; its depth is 1 - trough / peak (tracking the trough
    instead of dividing at every bar keeps this pass cheap).
    """
    prev, sum_down2, shift, b_sum, b_sq, b_n, count, mean, m2 = acc[:9]
    peak, peak_ts, trough, max_dd, max_ms = acc[9:]
    alive = prev > 0.0
    r = max(e / prev - 1.0, -1.0) if alive else 0.0
    # min(r, 0) exactly (2r and r/2 are exact), without the branch on the sign of r
    # that a select compiles to here, which mispredicts at every other bar in a position
    down = (r - abs(r)) * 0.5
    sum_down2 += down * down
    x = r - shift
    b_sum += x
    b_sq += x * x
    b_n += 1
    if b_n == _BLOCK:
        count, mean, m2 = _merge_block(count, mean, m2, shift, b_sum, b_sq, b_n)
        shift = mean
        b_sum = 0.0
        b_sq = 0.0
        b_n = 0
    if e >= peak:
        if trough < peak:
            max_dd = max(max_dd, 1.0 - trough / peak)
            max_ms = max(max_ms, ts_i - peak_ts)
        peak = e
        peak_ts = ts_i
        trough = e
    else:
        # a select, not a branch: in a falling market new troughs come at random bars
        trough = min(trough, e)
    return (
        e if alive else prev,
        sum_down2,
        shift,
        b_sum,
        b_sq,
        b_n,
        count,
        mean,
        m2,
        peak,
        peak_ts,
        trough,
        max_dd,
        max_ms,
    )


@njit(inline="always")
def metrics_finish(acc, ts_last):
    """``(sum_down2, ss, max_dd, max_dd_ms)`` after the last bar (time ``ts_last``).

    ss is the sum of squared deviations of the returns from their mean; a drawdown still
    open at the last bar ends there.
    """
    _, sum_down2, shift, b_sum, b_sq, b_n, count, mean, m2 = acc[:9]
    peak, peak_ts, trough, max_dd, max_ms = acc[9:]
    if b_n > 0:
        count, mean, m2 = _merge_block(count, mean, m2, shift, b_sum, b_sq, b_n)
    if trough < peak:
        max_dd = max(max_dd, 1.0 - trough / peak)
        max_ms = max(max_ms, ts_last - peak_ts)
    return sum_down2, m2, max_dd, max_ms


@njit(cache=True)
def metrics_from_sums_nb(sum_down2, ss, max_dd, max_dd_ms, equity_last, ts_first, ts_last, n,  # noqa: PLR0917 (Numba: positional)
                         trades, minutes_per_bar, initial_capital, n_exposed, rf_per_bar):  # fmt: skip
    """Every metric from the equity accumulators (``metrics_finish``) and the trades.

    n: bars (>= 2); equity_last: e_{n-1}, after the end-of-data exit; ts_first, ts_last:
    epoch ms of bars 0 and n-1; the rest as in ``metrics_nb``. Returns float64[N_METRICS].
    """
    out = np.full(N_METRICS, np.nan)
    bars_per_year = MINUTES_PER_YEAR / minutes_per_bar
    ann = np.sqrt(bars_per_year)

    total_return = equity_last / initial_capital - 1.0
    out[M_TOTAL_RETURN] = total_return
    span_days = (ts_last - ts_first) / MS_PER_DAY
    if total_return <= -1.0:
        annual = -1.0
    elif span_days > 0.0:
        annual = (1.0 + total_return) ** (365.0 / span_days) - 1.0
    else:
        annual = np.nan
    out[M_ANNUAL_RETURN] = annual

    out[M_MAX_DRAWDOWN] = max_dd
    out[M_MAX_DRAWDOWN_DURATION] = max_dd_ms / MS_PER_DAY
    if max_dd > 0.0:
        out[M_CALMAR_RATIO] = annual / max_dd

    # Sharpe and Sortino: the compound (geometric) mean bar return g, the constant return
    # that compounds to total_return over the m bar returns, less rf; -1 for a ruined run
    # (equity <= 0 at some close: trough <= 0 makes max_dd >= 1). Its sign is the sign of
    # the run's gain, so a loss is never a positive ratio (docs/engine.md, "Metrics").
    m = n - 1
    ruined = total_return <= -1.0 or max_dd >= 1.0
    g = -1.0 if ruined else np.expm1(np.log1p(total_return) / m)
    excess = g - rf_per_bar
    if m >= 2:
        std = np.sqrt(ss / (m - 1))
        out[M_VOLATILITY] = std * ann
        if std > 0.0:
            out[M_SHARPE_RATIO] = excess / std * ann
        elif excess == 0.0:
            out[M_SHARPE_RATIO] = 0.0  # equity never moved: no risk, no return
    downside = np.sqrt(sum_down2 / m)
    if downside > 0.0:
        out[M_SORTINO_RATIO] = excess / downside * ann
    elif excess == 0.0:
        out[M_SORTINO_RATIO] = 0.0

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


@njit(cache=True)
def metrics_nb(  # noqa: PLR0917 (Numba kernels take positional arguments)
    equity, ts, trades, minutes_per_bar, initial_capital, n_exposed, rf_per_bar
):
    """Every metric of the contract table, as float64[N_METRICS] indexed by ``enums.M_*``.

    equity: float64[n], n >= 2, equity at each bar close after the end-of-data exit;
    e_0 > 0 (the first bar can only have paid an entry fee).
    ts: int64[n] epoch ms, strictly increasing. trades: ``trade_dt`` records (trimmed).
    minutes_per_bar: > 0, sets bars_per_year = 365*24*60 / minutes_per_bar.
    initial_capital: > 0. n_exposed: bars at whose close a position was open.
    rf_per_bar: the risk-free return per bar that Sharpe and Sortino subtract.

    One pass over equity and ts (the accumulators above). Returns are r_i for
    i = 1..n-1 (n-1 values, clamped at -1, 0 after a ruin: ``metrics_step``); Sharpe and
    Sortino take the geometric mean return (``metrics_from_sums_nb``); std uses ddof=1,
    from blockwise shifted sums merged pairwise (as accurate as ``np.std``'s two passes).
    Durations are in days of 86,400,000 ms. The drawdown peak is the last bar at the
    running maximum before equity falls below it (equity equal to the peak does not start
    a drawdown), and a drawdown ends at the first bar with equity >= that peak. Trade
    buckets: wins are pnl > 0, losses pnl <= 0; gross loss = -sum(pnl of losses), so
    profit_factor is null when no trade lost money.
    NaN policy: equity is never NaN (finite prices); NaN out = null.
    Reference: ``tests/naive_engine.py::naive_metrics`` and the numpy transcription of
    the table in ``tests/engine/test_metrics.py``.
    """
    n = equity.shape[0]
    acc = metrics_start(equity[0], ts[0])
    for i in range(1, n):
        acc = metrics_step(acc, equity[i], ts[i])
    sum_down2, ss, max_dd, max_dd_ms = metrics_finish(acc, ts[n - 1])
    return metrics_from_sums_nb(
        sum_down2, ss, max_dd, max_dd_ms, equity[n - 1], ts[0], ts[n - 1], n, trades, minutes_per_bar,
        initial_capital, n_exposed, rf_per_bar,
    )  # fmt: skip

"""Numba kernels of a parameter sweep: an indicator table, then every combination in parallel.

A sweep evaluates many parameter combinations of one strategy over the same candles.
The expensive, shareable work (indicators) is done once per *distinct* indicator
parameter into a table ``ind`` (float64[rows, n]); each combination then names its rows
(``iidx``), carries its cheap signal parameters (``fpar``) and its execution record
(``xrec``, ``engine.enums.X_*``), and runs in one pass over the bars: a block
of signals from the table rows, then for each bar of the block the engine's ``sim_bar``
step and the metrics' ``metrics_step``, so no signal, equity or return array is ever
written or read back (see ``combination_nb``). Only the metrics row of each combination
comes out; trades are recomputed with ``run_backtest`` for the few combinations a user
opens.

The per-strategy layout of ``iidx``/``fpar`` is built by ``optimizers.adapters`` and
read by ``_signals_block`` below (one branch per strategy code). Imports only numpy,
numba and other kernels; no Django, no Python objects inside the kernels.
"""

from __future__ import annotations

import numpy as np
from numba import get_thread_id, njit, prange

from engine.enums import (
    FILL_NEXT_OPEN,
    X_FEE_RATE,
    X_FILL,
    X_INITIAL_CAPITAL,
    X_LEVERAGE,
    X_MAINTENANCE_MARGIN_RATE,
    X_OPPOSITE,
    X_POSITION_SIZE,
    X_SLIPPAGE_BPS,
    X_STOP_LOSS,
    X_TAKE_PROFIT,
)
from engine.metrics_nb import metrics_finish, metrics_from_sums_nb, metrics_start, metrics_step
from engine.nb import (
    CASH,
    N_TRADES,
    NO_TRADE,
    SIDE,
    sim_bar,
    sim_finish,
    sim_params,
    sim_start,
    write_trades,
)
from strategies.ema_cross_nb import ema_cross_signals_range
from strategies.hyperrsi_nb import ENTRY_FOLLOW, hyperrsi_signals_range, hyperrsi_warmup
from strategies.indicators_nb import ema_into, rsi_sma_into, rsi_wilder_into

# --- indicator codes: column 0 of an indicator key (code, period) -------------------
IND_RSI_WILDER = 0
IND_RSI_SMA = 1
IND_EMA = 2

# --- strategy codes: which signal rule ``_signals_block`` runs -----------------------
STRAT_HYPERRSI = 0
STRAT_EMA_CROSS = 1

# Bars per block: a block's signals (int8) and the candles they are simulated over stay
# in the L1/L2 cache between the signal loop and the simulation loop.
BLOCK = 1024


@njit(parallel=True, cache=True)
def indicator_rows_nb(codes, periods, close, ind, rows):
    """Compute indicator ``k`` into ``ind[rows[k]]`` for every k, rows in parallel.

    codes: int64[K] of ``IND_*`` (checked by the caller: a raise inside ``prange``
    would make Numba run the loop serially); periods: int64[K] (>= 1); close: float64[n];
    ind: float64[R, n] C-contiguous, R > max(rows); rows: int64[K], distinct.
    Each row is exactly what ``strategies.indicators_nb`` writes for that indicator
    (the same ``*_into`` kernel), so a sweep sees the values a single run sees.
    """
    for k in prange(codes.shape[0]):
        out = ind[rows[k]]
        code = codes[k]
        if code == IND_RSI_WILDER:
            rsi_wilder_into(out, close, periods[k])
        elif code == IND_RSI_SMA:
            rsi_sma_into(out, close, periods[k])
        else:
            ema_into(out, close, periods[k])


@njit(cache=True)
def _signals_block(strategy, out, close, ind, iidx, fpar, lo, hi):  # noqa: PLR0917 (Numba: positional)
    """One combination's int8 signals of bars lo..hi-1 into ``out[: hi - lo]``.

    STRAT_HYPERRSI: iidx = [rsi row, ema row]; fpar = [rsi_period, oversold, overbought,
    entry_option code, use_trend_filter (0/1)]; without the filter the EMA row is
    never read (close is passed in its place, as ``strategies.hyperrsi`` does).
    STRAT_EMA_CROSS: iidx = [fast row, slow row]; fpar = [warmup (slow_period)].
    The rules are the strategies' own (``*_signals_range``), so the signals equal a
    single run's.
    """
    if strategy == STRAT_HYPERRSI:
        use_filter = fpar[4] != 0.0
        trend = ind[iidx[1]] if use_filter else close
        hyperrsi_signals_range(
            out,
            close,
            ind[iidx[0]],
            trend,
            lo,
            hi,
            hyperrsi_warmup(np.int64(fpar[0])),
            fpar[1],
            fpar[2],
            np.int64(fpar[3]) == ENTRY_FOLLOW,
            use_filter,
        )
    elif strategy == STRAT_EMA_CROSS:
        ema_cross_signals_range(out, ind[iidx[0]], ind[iidx[1]], lo, hi, np.int64(fpar[0]))
    else:
        raise ValueError("unknown strategy code")


@njit(inline="always")
def _bar(state, params, k, o, h, lw, c, sig, pending, next_open):  # noqa: PLR0917 (Numba: positional)
    """Window bar ``k`` with this bar's signal ``sig``, as ``simulate_nb`` runs it: the
    signal fills at this close, or (fill=next_open) ``pending``, the previous bar's, fills
    at this open and ``sig`` becomes pending. Returns ``sim_bar``'s results with the new
    ``pending`` after the equity."""
    sig_open = np.int64(0)
    sig_close = np.int64(sig)
    if next_open:
        sig_open = pending
        pending = sig_close
        sig_close = np.int64(0)
    state, e, n_closed, first, second = sim_bar(state, params, k, o, h, lw, c, sig_open, sig_close)
    return state, e, pending, n_closed, first, second


@njit(cache=True)
def combination_nb(  # noqa: PLR0917 (Numba kernels take positional arguments)
    strategy,
    ts,
    open_,
    high,
    low,
    close,
    ind,
    iidx,
    fpar,
    xrec,
    lo,
    hi,
    minutes_per_bar,
    rf_per_bar,
    sig,
    trades,
):
    """The metrics, float64[N_METRICS] (NaN = null), of one combination simulated over
    bars ``lo..hi-1`` (0 <= lo, lo + 2 <= hi <= n).

    Candles: ts int64[n], open_/high/low/close float64[n], validated. ind, iidx, fpar: the
    indicator table and this combination's rows and signal parameters (see
    ``_signals_block``); xrec: float64[N_EXEC], its execution record (``enums.X_*``,
    checked by the wrapper). minutes_per_bar, rf_per_bar: as ``metrics_nb``'s (one for
    every combination). sig: int8[BLOCK] and trades: ``trade_dt``[hi - lo]
    scratch (an entry takes a nonzero signal in the window, so hi - lo trades fit).

    Equal, bit for bit, to ``simulate_nb`` over the window's signals (computed over all
    bars, then read in the window) followed by ``metrics_nb``: the same steps
    (``sim_bar``, ``sim_finish``, ``metrics_step``...) in the same order. Signals are
    causal (bar i reads bars <= i), so computing only the window's gives the same ones,
    and a window that starts late starts with warmed-up indicators; the window's first
    bar takes no signal from the bar before it (``simulate_nb`` over the window reads
    none), so ``pending`` starts at 0. Trade indices are window positions, as there.
    """
    params = sim_params(
        np.int64(xrec[X_OPPOSITE]), xrec[X_FEE_RATE], xrec[X_SLIPPAGE_BPS], xrec[X_POSITION_SIZE],
        xrec[X_LEVERAGE], xrec[X_STOP_LOSS], xrec[X_TAKE_PROFIT], xrec[X_MAINTENANCE_MARGIN_RATE],
    )  # fmt: skip
    capital = xrec[X_INITIAL_CAPITAL]
    next_open = np.int64(xrec[X_FILL]) == FILL_NEXT_OPEN
    m = hi - lo
    w_ts = ts[lo:hi]
    state = sim_start(capital)
    acc = metrics_start(capital, w_ts[0])
    pending = np.int64(0)
    n_exposed = 0
    for b_lo in range(0, m, BLOCK):
        b_hi = min(b_lo + BLOCK, m)
        _signals_block(strategy, sig, close, ind, iidx, fpar, lo + b_lo, lo + b_hi)
        o = open_[lo + b_lo : lo + b_hi]
        h = high[lo + b_lo : lo + b_hi]
        lw = low[lo + b_lo : lo + b_hi]
        c = close[lo + b_lo : lo + b_hi]
        t = w_ts[b_lo:b_hi]
        # The window's first equity starts the sums, and its last is folded in after the
        # end-of-data exit: those two bars are peeled off the loop, which then has no
        # branch but the engine's and the metrics' own.
        first = 0
        if b_lo == 0:
            state, e, pending, n_closed, first_trade, second_trade = _bar(
                state, params, 0, o[0], h[0], lw[0], c[0], sig[0], pending, next_open
            )
            if n_closed > 0:
                write_trades(trades, w_ts, state[N_TRADES] - n_closed, n_closed, first_trade, second_trade)
            n_exposed += state[SIDE] != 0
            acc = metrics_start(e, t[0])
            first = 1
        last = b_hi - b_lo if b_hi < m else b_hi - b_lo - 1
        for j in range(first, last):
            state, e, pending, n_closed, first_trade, second_trade = _bar(
                state, params, b_lo + j, o[j], h[j], lw[j], c[j], sig[j], pending, next_open
            )
            if n_closed > 0:
                write_trades(trades, w_ts, state[N_TRADES] - n_closed, n_closed, first_trade, second_trade)
            n_exposed += state[SIDE] != 0
            acc = metrics_step(acc, e, t[j])
        if b_hi == m:
            j = m - 1 - b_lo
            state, e, pending, n_closed, first_trade, second_trade = _bar(
                state, params, m - 1, o[j], h[j], lw[j], c[j], sig[j], pending, next_open
            )
            if n_closed > 0:
                write_trades(trades, w_ts, state[N_TRADES] - n_closed, n_closed, first_trade, second_trade)
            n_exposed += state[SIDE] != 0
    state, closed, trade = sim_finish(state, params, m - 1, close[hi - 1])
    if closed:
        write_trades(trades, w_ts, state[N_TRADES] - 1, 1, trade, NO_TRADE)
    e = state[CASH]
    acc = metrics_step(acc, e, w_ts[m - 1])
    sum_down2, ss, max_dd, max_dd_ms = metrics_finish(acc, w_ts[m - 1])
    n_trades = state[N_TRADES]
    return metrics_from_sums_nb(
        sum_down2, ss, max_dd, max_dd_ms, e, w_ts[0], w_ts[m - 1], m, trades[:n_trades],
        minutes_per_bar, capital, n_exposed, rf_per_bar,
    )  # fmt: skip


@njit(parallel=True, cache=True)
def sweep_nb(  # noqa: PLR0917 (Numba kernels take positional arguments)
    strategy,
    ts,
    open_,
    high,
    low,
    close,
    ind,
    iidx,
    fpar,
    xrec,
    lo,
    hi,
    minutes_per_bar,
    rf_per_bar,
    sig_scratch,
    trades_scratch,
    out,
):
    """Metrics of every combination, simulated over bars ``lo..hi-1``: ``combination_nb``
    for each row of iidx int64[C, ki], fpar float64[C, kf] and xrec float64[C, N_EXEC],
    into out float64[C, N_METRICS], in a ``prange`` over the combinations.

    Scratch, one slot per thread (T = ``numba.get_num_threads()`` at the call, each
    thread working in its own ``get_thread_id`` slot): sig_scratch int8[T, BLOCK],
    trades_scratch trade_dt[T, hi - lo].
    """
    for c in prange(iidx.shape[0]):
        slot = get_thread_id()
        out[c, :] = combination_nb(
            strategy, ts, open_, high, low, close, ind, iidx[c], fpar[c], xrec[c], lo, hi, minutes_per_bar,
            rf_per_bar, sig_scratch[slot], trades_scratch[slot],
        )  # fmt: skip

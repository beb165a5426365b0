"""Numba kernels of a parameter sweep: an indicator table, then every combination in parallel.

A sweep evaluates many parameter combinations of one strategy over the same candles.
The expensive, shareable work (indicators) is done once per *distinct* indicator
parameter into a table ``ind`` (float64[rows, n]); each combination then names its rows
(``iidx``), carries its cheap signal parameters (``fpar``) and its engine parameters
(``eng``), and runs signal kernel → ``simulate_nb`` → ``metrics_nb`` with scratch buffers
owned by its block. Only the metrics row of each combination comes out; trades are
recomputed with ``run_backtest`` for the few combinations a user opens.

The per-strategy layout of ``iidx``/``fpar`` is built by ``optimizers.adapters`` and
read by ``_signals_into`` below (one branch per strategy code). Imports only numpy,
numba and other kernels; no Django, no Python objects inside the kernels.
"""

from __future__ import annotations

import numpy as np
from numba import get_thread_id, njit, prange

from engine.metrics_nb import metrics_nb
from engine.nb import simulate_nb
from strategies.ema_cross_nb import ema_cross_signals_into
from strategies.hyperrsi_nb import hyperrsi_signals_into
from strategies.indicators_nb import ema_into, rsi_sma_into, rsi_wilder_into

# --- indicator codes: column 0 of an indicator key (code, period) -------------------
IND_RSI_WILDER = 0
IND_RSI_SMA = 1
IND_EMA = 2

# --- strategy codes: which signal kernel ``_signals_into`` runs ---------------------
STRAT_HYPERRSI = 0
STRAT_EMA_CROSS = 1

# --- columns of ``eng`` (engine parameters per combination) -------------------------
ENG_LEVERAGE = 0
ENG_STOP_LOSS = 1  # percent, NaN = no stop
ENG_TAKE_PROFIT = 2  # percent, NaN = no take profit
N_ENG = 3


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
def _signals_into(strategy, out, close, ind, iidx, fpar):  # noqa: PLR0917 (Numba: positional)
    """One combination's int8 signals over all n bars into ``out``.

    STRAT_HYPERRSI: iidx = [rsi row, ema row]; fpar = [rsi_period, oversold, overbought,
    entry_option code, use_trend_filter (0/1)]; without the filter the EMA row is
    never read (close is passed in its place, as ``strategies.hyperrsi`` does).
    STRAT_EMA_CROSS: iidx = [fast row, slow row]; fpar = [warmup (slow_period)].
    """
    if strategy == STRAT_HYPERRSI:
        use_filter = fpar[4] != 0.0
        trend = ind[iidx[1]] if use_filter else close
        hyperrsi_signals_into(
            out,
            close,
            ind[iidx[0]],
            trend,
            np.int64(fpar[0]),
            fpar[1],
            fpar[2],
            np.int64(fpar[3]),
            use_filter,
        )
    elif strategy == STRAT_EMA_CROSS:
        ema_cross_signals_into(out, ind[iidx[0]], ind[iidx[1]], np.int64(fpar[0]))
    else:
        raise ValueError("unknown strategy code")


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
    sgroup,
    eng,
    lo,
    hi,
    fill_mode,
    opposite_mode,
    initial_capital,
    fee_rate,
    slippage_bps,
    position_size,
    maintenance_margin_rate,
    minutes_per_bar,
    sig_scratch,
    equity_scratch,
    trades_scratch,
    last_group,
    out,
):
    """Metrics of every combination, simulated over bars ``lo..hi-1``.

    Candles: ts int64[n] epoch ms, open_/high/low/close float64[n] (validated by the
    wrapper). ind: float64[R, n] indicator table over all n bars. iidx: int64[C, ki]
    rows of ``ind`` per combination; fpar: float64[C, kf] signal parameters;
    sgroup: int64[C], equal exactly for combinations with equal (iidx, fpar), i.e.
    equal signals (they differ only in engine parameters); eng: float64[C, N_ENG]
    (leverage, stop %, take profit %; NaN = none).
    lo, hi: the simulated window, 0 <= lo, lo + 2 <= hi <= n. Signals are computed
    over all n bars and then read in the window only: they are causal (bar i reads
    bars <= i), so an in-sample window sees exactly the signals it would see alone,
    and an out-of-sample window starts with warmed-up indicators.
    Execution scalars as in ``simulate_nb``; minutes_per_bar as in ``metrics_nb``.
    Scratch, one slot per thread (T = ``numba.get_num_threads()`` at the call):
    sig_scratch int8[T, n], equity_scratch float64[T, hi-lo], trades_scratch
    trade_dt[T, hi-lo] (an entry needs a nonzero signal in the window, so hi-lo
    trades always fit), last_group int64[T] set to -1 (the group whose signals are in
    the thread's buffer).
    out: float64[C, N_METRICS] written in full, NaN = null (see ``metrics_nb``).

    ``prange`` runs over the combinations; each thread works in its own scratch slot
    (``get_thread_id``). When the wrapper sorts combinations by ``sgroup`` a thread
    reuses its signals for the whole run of a group (a stop-loss axis costs one
    signal pass, not one per value).
    """
    n_comb = iidx.shape[0]
    w_ts = ts[lo:hi]
    w_open = open_[lo:hi]
    w_high = high[lo:hi]
    w_low = low[lo:hi]
    w_close = close[lo:hi]
    for c in prange(n_comb):
        t = get_thread_id()
        sig = sig_scratch[t]
        if last_group[t] != sgroup[c]:
            _signals_into(strategy, sig, close, ind, iidx[c], fpar[c])
            last_group[t] = sgroup[c]
        equity = equity_scratch[t]
        trades = trades_scratch[t]
        n_trades, n_exposed = simulate_nb(
            w_ts,
            w_open,
            w_high,
            w_low,
            w_close,
            sig[lo:hi],
            fill_mode,
            opposite_mode,
            initial_capital,
            fee_rate,
            slippage_bps,
            position_size,
            eng[c, ENG_LEVERAGE],
            eng[c, ENG_STOP_LOSS],
            eng[c, ENG_TAKE_PROFIT],
            maintenance_margin_rate,
            equity,
            trades,
        )
        out[c, :] = metrics_nb(equity, w_ts, trades[:n_trades], minutes_per_bar, initial_capital, n_exposed)

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

The per-strategy layout of ``iidx``/``fpar`` is built by the strategy's sweep adapter
(``StrategyDef.sweep``, ``strategies.sweep``) and read by its ``*_sweep_signals``
kernel, which ``_signals_block`` below calls (one branch per strategy code). Imports only numpy,
numba and other kernels; no Django, no Python objects inside the kernels.
"""

from __future__ import annotations

import numpy as np
from numba import get_thread_id, njit, prange

from engine.blocks_nb import finish_nb
from engine.metrics_nb import metrics_from_sums_nb, metrics_start, metrics_step
from engine.nb import (
    N_TRADES,
    SIDE,
    sim_bar,
    sim_setup,
    sim_start,
    write_trades,
)
from strategies import ema_cross_nb, hyperrsi_nb
from strategies.indicators_nb import indicator_into

# Bars per block: a block's signals (int8) and the candles they are simulated over stay
# in the L1/L2 cache between the signal loop and the simulation loop.
BLOCK = 1024


@njit(parallel=True, cache=True)
def indicator_rows_nb(codes, periods, close, ind, rows):
    """Compute indicator ``k`` into ``ind[rows[k]]`` for every k, rows in parallel.

    codes: int64[K] of ``strategies.indicators_nb`` codes (checked by the caller: a raise
    inside ``prange`` would make Numba run the loop serially); periods: int64[K] (>= 1);
    close: float64[n]; ind: float64[R, n] C-contiguous, R > max(rows); rows: int64[K],
    distinct. Each row is exactly what a single run computes (``indicator_into``).
    """
    for k in prange(codes.shape[0]):
        indicator_into(ind[rows[k]], close, codes[k], periods[k])


@njit(cache=True)
def _signals_block(strategy, out, close, ind, iidx, fpar, lo, hi):  # noqa: PLR0917 (Numba: positional)
    """One combination's int8 signals of bars lo..hi-1 into ``out[: hi - lo]``: the
    ``*_sweep_signals`` kernel of the strategy whose ``SWEEP_CODE`` is ``strategy``, which
    reads the layout its sweep adapter built (``strategies.sweep``). One branch per
    sweepable strategy: a cached Numba kernel can take neither a jitted function as an
    argument nor a closure without compiling anew in every process.
    """
    if strategy == hyperrsi_nb.SWEEP_CODE:
        hyperrsi_nb.hyperrsi_sweep_signals(out, close, ind, iidx, fpar, lo, hi)
    elif strategy == ema_cross_nb.SWEEP_CODE:
        ema_cross_nb.ema_cross_sweep_signals(out, close, ind, iidx, fpar, lo, hi)
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
def combination_nb(strategy, ts, open_, high, low, close, ind, iidx, fpar, xrec, lo, hi,  # noqa: PLR0917 (Numba: positional)
                   minutes_per_bar, rf_per_bar, sig, trades):  # fmt: skip
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
    params, capital, next_open = sim_setup(xrec)
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
    # (the trades scratch has room for the exit: see above)
    _, state, e, (sum_down2, ss, max_dd, max_dd_ms) = finish_nb(
        state, params, w_ts, m - 1, close[hi - 1], trades, acc
    )
    n_trades = state[N_TRADES]
    return metrics_from_sums_nb(
        sum_down2, ss, max_dd, max_dd_ms, e, w_ts[0], w_ts[m - 1], m, trades[:n_trades],
        minutes_per_bar, capital, n_exposed, rf_per_bar,
    )  # fmt: skip


@njit(parallel=True, cache=True)
def sweep_nb(strategy, ts, open_, high, low, close, ind, iidx, fpar, xrec, lo, hi, minutes_per_bar,  # noqa: PLR0917 (Numba: positional)
             rf_per_bar, sig_scratch, trades_scratch, out):  # fmt: skip
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

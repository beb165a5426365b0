"""Numba kernels of the position simulation (and the cheap input checks its wrapper runs).

Everything here takes and returns numpy arrays and scalars only; modes are the integer
constants of ``enums``. The public entry points are ``engine.runner.simulate``
and ``run_backtest``, which validate and allocate; call these kernels directly only with
inputs that passed that validation.

The per-bar rules live once, in the step functions ``sim_params`` / ``sim_start`` /
``sim_bar`` / ``sim_finish`` over a small state tuple (layout below). ``simulate_nb``
drives them from a signal array; a strategy's fused kernel (one pass computing its
indicators, signals, the simulation and the metric accumulators, e.g.
``strategies.hyperrsi_fused_nb``) drives the same functions from signals it computes on
the fly, so both paths follow the contract with the same code. The steps are
``inline="always"``: Numba inlines them into each caller, where the tuples live in
registers.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from engine.enums import (
    EXIT_END,
    EXIT_LIQUIDATION,
    EXIT_SIGNAL,
    EXIT_STOP,
    EXIT_TAKE_PROFIT,
    FILL_NEXT_OPEN,
    OPPOSITE_CLOSE,
    OPPOSITE_REVERSE,
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

# Outcome codes of the level checks (0 = nothing touched).
_HIT_NONE = 0
_HIT_ADVERSE = 1
_HIT_TAKE_PROFIT = 2

# The steps pass two plain tuples (Numba keeps them in registers; the kernel modules
# import nothing but numpy and numba, so no namedtuple):
#
# params, built once by ``sim_params``:
#   (opposite_mode, fee_rate, slip, position_size, leverage, sl_frac, tp_frac, liq_move, has_liq,
#    bust_cash)
#   slip = slippage_bps * 1e-4; sl_frac/tp_frac = percent / 100 (NaN = none);
#   liq_move = 1/leverage - maintenance_margin_rate, the adverse move to liquidation;
#   has_liq = leverage > 1; bust_cash = initial capital * BUST_FRACTION, the cash at or
#   below which no position opens.
# state, between bars (``sim_start``, then each ``sim_bar``):
#   (side, entry_idx, entry_price, qty, entry_fee, margin, adverse, adverse_is_liq,
#    take_profit, cash, k)
#   side +1 long / -1 short / 0 flat (the position fields are then stale); entry_price
#   with slippage; qty > 0 base units; entry_fee paid from cash at entry but part of the
#   trade's pnl and fees; margin = notional / leverage; adverse = the nearer of the stop
#   and the liquidation price; take_profit +/-inf when none; cash = initial capital +
#   realised pnl - every fee paid; k = trades written so far.
# A run whose cash is down to this fraction of its initial capital is bust: no position
# opens. Not zero: a liquidation at position_size 1 leaves cash - fee - margin, zero in
# exact arithmetic but a rounding residue of either sign in floats (seen: 1.7e-12 of
# 10,000), which would otherwise open positions of no size, bar after bar.
BUST_FRACTION = 1e-9
SIDE = 0  # state[SIDE]: the one field callers read, besides CASH and N_TRADES
CASH = 9
N_TRADES = 10


@njit(cache=True)
def _levels(side, entry_price, sl_frac, tp_frac, liq_move, has_liq):  # noqa: PLR0917 (Numba: positional)
    """The protective levels of a position opened at ``entry_price`` (slippage included).

    Returns ``(adverse, adverse_is_liq, take_profit)``: ``adverse`` is whichever of the
    stop and the liquidation price is nearer to entry (a stop at the same price as the
    liquidation wins: it is an order resting in the book, filled before the exchange
    liquidates). A missing level is put at -inf/+inf so that it is never touched;
    ``sl_frac``/``tp_frac`` NaN mean "no stop"/"no take profit".
    """
    if side > 0:
        stop = -np.inf if np.isnan(sl_frac) else entry_price * (1.0 - sl_frac)
        liq = entry_price * (1.0 - liq_move) if has_liq else -np.inf
        tp = np.inf if np.isnan(tp_frac) else entry_price * (1.0 + tp_frac)
        if liq > stop:
            return liq, True, tp
        return stop, False, tp
    stop = np.inf if np.isnan(sl_frac) else entry_price * (1.0 + sl_frac)
    liq = entry_price * (1.0 + liq_move) if has_liq else np.inf
    tp = -np.inf if np.isnan(tp_frac) else entry_price * (1.0 - tp_frac)
    if liq < stop:
        return liq, True, tp
    return stop, False, tp


@njit(cache=True)
def _hit_at_open(side, open_price, adverse, take_profit):
    """Which level the open is at or beyond; the adverse level is looked at first
    (the open is a range of one price)."""
    return _hit_in_range(side, open_price, open_price, adverse, take_profit)


@njit(cache=True)
def _hit_in_range(side, high, low, adverse, take_profit):
    """Which level the bar's range touches; when both are touched the adverse one wins,
    since OHLC cannot tell which came first and the conservative reading is the loss."""
    if side > 0:
        if low <= adverse:
            return _HIT_ADVERSE
        if high >= take_profit:
            return _HIT_TAKE_PROFIT
    else:
        if high >= adverse:
            return _HIT_ADVERSE
        if low <= take_profit:
            return _HIT_TAKE_PROFIT
    return _HIT_NONE


@njit(cache=True)
def _signal_action(side, sig, opposite_mode):
    """``(close_current, open_new)`` for signal ``sig`` (+1/-1/0) against position ``side``."""
    if sig == 0:
        return False, False
    if sig == side:  # no pyramiding
        return False, False
    if side == 0:
        return False, True
    if opposite_mode == OPPOSITE_REVERSE:
        return True, True
    if opposite_mode == OPPOSITE_CLOSE:
        return True, False
    return False, False  # OPPOSITE_IGNORE


# A closed trade, as the steps return it (``sim_bar``) and ``write_trades`` records it:
#   (side, entry_idx, exit_idx, entry_price, exit_price, quantity, fees, pnl, return, reason)
NO_TRADE = (0, 0, 0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0)


@njit(inline="always")
def write_trades(trades_out, ts, k, n_closed, first, second):  # noqa: PLR0917 (Numba: positional)
    """Record the ``n_closed`` (0, 1 or 2) trades a bar closed as records k, k + 1.

    Kept apart from the steps so that the arrays are touched only when a trade closes:
    an array passed into an inlined step costs a reference-count update per bar.
    """
    if k + n_closed > trades_out.shape[0]:
        raise ValueError("trades_out is too small: allocate one record per possible entry")
    for j in range(n_closed):
        side, entry_idx, exit_idx, entry_price, exit_price, quantity, fees, pnl, ret, reason = (
            first if j == 0 else second
        )
        rec = trades_out[k + j]
        rec["side"] = side
        rec["entry_idx"] = entry_idx
        rec["exit_idx"] = exit_idx
        rec["entry_time"] = ts[entry_idx]
        rec["exit_time"] = ts[exit_idx]
        rec["entry_price"] = entry_price
        rec["exit_price"] = exit_price
        rec["quantity"] = quantity
        rec["fees"] = fees
        rec["pnl"] = pnl
        rec["return"] = ret
        rec["bars_held"] = exit_idx - entry_idx
        rec["exit_reason"] = reason


# --- the per-bar steps ------------------------------------------------------------------
# Pure functions of (state, params, bar): no array goes in, so that inlined into a loop
# they add no reference counting; the trades they close come back as tuples.


@njit(inline="always")
def sim_params(  # noqa: PLR0917 (Numba: positional)
    opposite_mode,
    fee_rate,
    slippage_bps,
    position_size,
    leverage,
    stop_loss_pct,
    take_profit_pct,
    maintenance_margin_rate,
    initial_capital,
):
    """The params tuple of a run (see the layout above); the arguments as in ``simulate_nb``."""
    return (
        opposite_mode,
        fee_rate,
        slippage_bps * 1e-4,
        position_size,
        leverage,
        stop_loss_pct / 100.0,  # NaN stays NaN: no stop
        take_profit_pct / 100.0,
        1.0 / leverage - maintenance_margin_rate,
        leverage > 1.0,
        initial_capital * BUST_FRACTION,
    )


@njit(inline="always")
def sim_setup(xrec):
    """``(params, initial_capital, next_open)`` of an execution record (float64[N_EXEC],
    indices ``enums.X_*``): what every kernel that simulates reads from it."""
    params = sim_params(
        np.int64(xrec[X_OPPOSITE]), xrec[X_FEE_RATE], xrec[X_SLIPPAGE_BPS], xrec[X_POSITION_SIZE],
        xrec[X_LEVERAGE], xrec[X_STOP_LOSS], xrec[X_TAKE_PROFIT], xrec[X_MAINTENANCE_MARGIN_RATE],
        xrec[X_INITIAL_CAPITAL],
    )  # fmt: skip
    return params, xrec[X_INITIAL_CAPITAL], np.int64(xrec[X_FILL]) == FILL_NEXT_OPEN


@njit(inline="always")
def sim_start(initial_capital):
    """The state before bar 0: flat, no trade closed, cash = ``initial_capital``."""
    # typed zeros rather than literals, so that the state has one type from the start
    zero = np.int64(0)
    return (zero, zero, 0.0, 0.0, 0.0, 0.0, 0.0, np.bool_(False), 0.0, initial_capital, zero)


@njit(inline="always")
def _exit(state, params, i, px, reason):
    """Close the position at bar ``i`` and price ``px``: ``(flat state, closed trade)``.

    A liquidation loses exactly the isolated margin and pays no exit fee; any other exit
    realises ``side * qty * (exit - entry)`` and pays ``qty * exit * fee_rate``. The
    entry fee was taken from cash at entry, but belongs to the trade's ``pnl``/``fees``.
    """
    side, entry_idx, entry_price, qty, entry_fee, margin, adverse, is_liq, tp, cash, k = state
    if reason == EXIT_LIQUIDATION:
        gross = -margin
        exit_fee = 0.0
    else:
        gross = side * qty * (px - entry_price)
        exit_fee = qty * px * params[1]
    pnl = gross - entry_fee - exit_fee
    trade = (side, entry_idx, i, entry_price, px, qty, entry_fee + exit_fee, pnl, pnl / margin, reason)
    cash += gross - exit_fee
    return (0, entry_idx, entry_price, qty, entry_fee, margin, adverse, is_liq, tp, cash, k + 1), trade


@njit(inline="always")
def _enter(state, params, i, price, side):
    """Open ``side`` at bar ``i`` at ``price`` (before slippage) from a flat ``state``."""
    cash = state[9]
    k = state[10]
    _, fee_rate, slip, position_size, leverage, sl_frac, tp_frac, liq_move, has_liq, _ = params
    entry_price = price * (1.0 + side * slip)
    notional = cash * position_size * leverage / (1.0 + leverage * fee_rate)
    qty = notional / entry_price
    entry_fee = notional * fee_rate
    margin = notional / leverage
    adverse, is_liq, tp = _levels(side, entry_price, sl_frac, tp_frac, liq_move, has_liq)
    return (side, i, entry_price, qty, entry_fee, margin, adverse, is_liq, tp, cash - entry_fee, k)


@njit(inline="always")
def _at_open(state, params, i, o):
    """Rule 1: an open position against its levels at the open ``o`` of bar ``i``.

    Returns ``(state, closed, trade)``.
    """
    side = state[0]
    if side != 0:
        adverse = state[6]
        hit = _hit_at_open(side, o, adverse, state[8])
        if hit != _HIT_NONE:
            if hit == _HIT_ADVERSE and state[7]:
                state, trade = _exit(state, params, i, adverse, EXIT_LIQUIDATION)
            else:
                reason = EXIT_STOP if hit == _HIT_ADVERSE else EXIT_TAKE_PROFIT
                state, trade = _exit(state, params, i, o * (1.0 - side * params[2]), reason)
            return state, True, trade
    return state, False, NO_TRADE


@njit(inline="always")
def _on_signal(state, params, i, price, sig):
    """Rules 2 and 4: signal ``sig`` (+1/-1/0) filled at ``price`` (before slippage).

    Returns ``(state, closed, trade)``.
    """
    side = state[0]
    close_cur, open_new = _signal_action(side, sig, params[0])
    closed = False
    trade = NO_TRADE
    if close_cur:
        state, trade = _exit(state, params, i, price * (1.0 - side * params[2]), EXIT_SIGNAL)
        closed = True
    if open_new and state[9] > params[9]:
        state = _enter(state, params, i, price, sig)
    return state, closed, trade


@njit(inline="always")
def _in_range(state, params, i, high, low):
    """Rule 3: an open position against its levels inside the bar's range.

    Returns ``(state, closed, trade)``.
    """
    side = state[0]
    if side != 0:
        adverse = state[6]
        take_profit = state[8]
        hit = _hit_in_range(side, high, low, adverse, take_profit)
        if hit != _HIT_NONE:
            if hit == _HIT_TAKE_PROFIT:
                state, trade = _exit(
                    state, params, i, take_profit * (1.0 - side * params[2]), EXIT_TAKE_PROFIT
                )
            elif state[7]:
                state, trade = _exit(state, params, i, adverse, EXIT_LIQUIDATION)
            else:
                state, trade = _exit(state, params, i, adverse * (1.0 - side * params[2]), EXIT_STOP)
            return state, True, trade
    return state, False, NO_TRADE


@njit(inline="always")
def _collect(closed, trade, n_closed, first, second):
    """``(n_closed, first, second)`` with ``trade`` recorded when ``closed``: a bar closes
    at most two trades (one position, then another opened and closed within the bar)."""
    if closed:
        if n_closed == 0:
            first = trade
        else:
            second = trade
        n_closed += 1
    return n_closed, first, second


@njit(inline="always")
def sim_bar(state, params, i, o, high, low, c, sig_open, sig_close):  # noqa: PLR0917
    """Bar ``i`` (prices ``o``/``high``/``low``/``c``) from ``state``.

    Returns ``(state, equity, n_closed, first, second)``: equity at this close, and the
    0, 1 or 2 trades closed in this bar in exit order (one position closed, another
    opened and closed within the bar), for ``write_trades``. ``sig_open`` is the signal
    filled at this open (fill=next_open: the previous bar's), ``sig_close`` the one
    filled at this close (fill=close: this bar's); each +1/-1/0, and 0 for the other
    fill mode. The position is open at this close iff ``state[SIDE] != 0`` (the exposure
    count). The rules, in order, are listed in ``simulate_nb``.
    """
    side = state[0]
    if sig_open == 0 and sig_close == 0:
        # The common bar, where nothing happens: flat without a signal, or a position
        # whose levels neither the open nor the range touches. The same rules as the
        # general path below, without its bookkeeping of closed trades (which made the
        # whole simulation ~40% slower when every bar went through it).
        if side == 0:
            return state, state[9], 0, NO_TRADE, NO_TRADE
        adverse = state[6]
        take_profit = state[8]
        if (
            _hit_at_open(side, o, adverse, take_profit) == _HIT_NONE
            and _hit_in_range(side, high, low, adverse, take_profit) == _HIT_NONE
        ):
            return state, state[9] + side * state[3] * (c - state[2]), 0, NO_TRADE, NO_TRADE
    n_closed = 0
    first = NO_TRADE
    second = NO_TRADE
    state, closed, trade = _at_open(state, params, i, o)
    n_closed, first, second = _collect(closed, trade, n_closed, first, second)
    if sig_open != 0:
        state, closed, trade = _on_signal(state, params, i, o, sig_open)
        n_closed, first, second = _collect(closed, trade, n_closed, first, second)
        # A position opened at this open is checked "from its open onwards" (it can only
        # trigger when slippage exceeds the stop distance); for a position held from an
        # earlier bar this repeats rule 1 on the same open, which cannot trigger again.
        state, closed, trade = _at_open(state, params, i, o)
        n_closed, first, second = _collect(closed, trade, n_closed, first, second)
    state, closed, trade = _in_range(state, params, i, high, low)
    n_closed, first, second = _collect(closed, trade, n_closed, first, second)
    if sig_close != 0:
        state, closed, trade = _on_signal(state, params, i, c, sig_close)
        n_closed, first, second = _collect(closed, trade, n_closed, first, second)
    side = state[0]
    if side != 0:
        # the unrealised pnl at the raw close: exit fee and slippage are paid on exit
        return state, state[9] + side * state[3] * (c - state[2]), n_closed, first, second
    return state, state[9], n_closed, first, second


@njit(inline="always")
def sim_finish(state, params, last, last_close):
    """End of data: close an open position at ``last_close``, the close of bar ``last``
    (reason END), with slippage and the exit fee. Returns ``(state, closed, trade)``;
    the last equity value is then ``state[CASH]``, flat or not."""
    side = state[0]
    if side != 0:
        state, trade = _exit(state, params, last, last_close * (1.0 - side * params[2]), EXIT_END)
        return state, True, trade
    return state, False, NO_TRADE


@njit(inline="always")
def signal_sign(value):
    """+1, -1 or 0: the sign of one element of a signal array (any integer dtype)."""
    return 1 if value > 0 else (-1 if value < 0 else 0)


@njit(cache=True)
def simulate_nb(ts, open_, high, low, close, signals, xrec, equity_out, trades_out):  # noqa: PLR0917 # fmt: skip
    """Simulate one position (long, short or flat) over n bars, following the engine contract.

    Inputs (all length n, C-contiguous):
        ts: int64 epoch ms, strictly increasing; open_/high/low/close: float64 prices,
        finite and > 0 (no NaN: the wrapper rejects them); signals: int8, +1 long,
        -1 short, 0 none; the signal of bar i may use data up to bar i's close.
    xrec: float64[N_EXEC], the execution record (``enums.X_*``, ``ExecutionConfig.record``):
        fill_mode: FILL_CLOSE (fill at close[i]) or FILL_NEXT_OPEN (at open[i + 1]; the
        last bar's signal is dropped). opposite_mode: OPPOSITE_REVERSE/CLOSE/IGNORE.
        initial_capital (> 0, quote currency); fee_rate (fraction of fill notional, both
        sides); slippage_bps (each fill moved against the trader by this many 1e-4);
        position_size (fraction of equity put up as margin + entry fee); leverage (>= 1);
        stop_loss_pct, take_profit_pct (percent of the entry price; NaN = none);
        maintenance_margin_rate (< 1 / leverage).
    Outputs:
        equity_out: float64[n], written in full: equity at every bar close.
        trades_out: records of ``enums.trade_dt``, at least one per possible entry
        (entries <= nonzero signals); the first ``n_trades`` are written, in exit order.
    Returns ``(n_trades, n_exposed)``: ``n_exposed`` is the number of bars at whose close a
    position is open, counted before the end-of-data exit (the ``exposure`` numerator).

    Per bar i, in this order (``sim_bar`` and the steps it calls):
      1. the open, for a position held from an earlier bar: at or beyond the nearer
         adverse level (stop or liquidation) -> that level triggers at the open (a stop
         fills at open[i] with slippage; a liquidation loses the margin and is recorded
         at the liquidation price); else at or
         beyond the take profit -> it fills at open[i] with slippage.
      2. (next_open) signals[i-1] acts at open[i]: enter when flat, reverse/close/ignore
         when opposite, nothing when same side. A position opened here goes through step
         1 at the same open too (it can only trigger when the slippage exceeds the stop
         distance), so it is checked "from its open onwards".
      3. the range: low/high touching the nearer adverse level first, then the take
         profit; both touched -> the adverse one. A stop fills at the stop price with
         slippage, a take profit at its price with slippage, a liquidation loses the
         margin (recorded at the liquidation price). For fill=close this starts on the
         bar after the fill bar.
      4. (close) signals[i] acts at close[i] like step 2; a position stopped out in this
         bar is flat, so the signal can re-enter.
      5. equity_out[i] = cash + side * qty * (close[i] - entry price): the unrealised pnl
         uses the raw close, with no exit fee or slippage (those are paid on exit).
    After the last bar an open position is closed at close[n-1] with slippage and exit
    fee (reason END), and equity_out[n-1] is re-marked to the resulting cash.

    Sizing: entries happen only when flat (a reversal closes first), so the equity at the
    fill is the cash; entries are skipped while cash <= initial_capital * BUST_FRACTION
    (bust: 1e-9, a rounding residue of zero). notional = cash *
    position_size * leverage / (1 + leverage * fee_rate), quantity = notional / fill
    price, entry fee = notional * fee_rate, margin = notional / leverage, so margin +
    entry fee = cash * position_size. Levels are fractions of the fill price (slippage
    included): stop entry*(1 -/+ sl/100), take profit entry*(1 +/- tp/100), liquidation
    (leverage > 1 only) entry*(1 -/+ (1/leverage - maintenance_margin_rate)).
    "At or beyond" and "touched" are inclusive comparisons. A gap beyond both levels
    triggers the nearer one, as the contract reads: a nearer stop fills at that open even
    past the liquidation price, so such a loss can exceed the margin.

    NaN policy: prices must not be NaN (unchecked here); NaN stop/take-profit = none.
    Reference: DESIGN.md "Engine semantics"; ``tests/naive_engine.py::naive_simulate``
    is the slow bar-by-bar implementation the tests hold this kernel to (1e-9 relative).
    """
    n = close.shape[0]
    p, initial_capital, next_open = sim_setup(xrec)
    state = sim_start(initial_capital)
    n_exposed = 0
    for i in range(n):
        sig_open = 0
        sig_close = 0
        if not next_open:
            sig_close = signal_sign(signals[i])
        elif i > 0:
            sig_open = signal_sign(signals[i - 1])
        state, equity_out[i], n_closed, first, second = sim_bar(
            state, p, i, open_[i], high[i], low[i], close[i], sig_open, sig_close
        )
        if n_closed > 0:
            write_trades(trades_out, ts, state[N_TRADES] - n_closed, n_closed, first, second)
        n_exposed += state[SIDE] != 0
    state, closed, trade = sim_finish(state, p, n - 1, close[n - 1])
    if closed:
        write_trades(trades_out, ts, state[N_TRADES] - 1, 1, trade, NO_TRADE)
    equity_out[n - 1] = state[CASH]
    return state[N_TRADES], n_exposed


# --- input checks ---------------------------------------------------------------------
# The check of valid candles is one branch-free pass over all six columns, which LLVM
# vectorises: six early-exit loops (one per column) took twice as long, and an
# early-exit loop alone ran ~10x slower than this. The first bad index is looked for
# only when the pass says there is one.


@njit(inline="always")
def bar_ok(step, o, high, low, c, volume):  # noqa: PLR0917 (Numba: positional)
    """One bar is valid: ``step`` (ts[i] - ts[i-1]; any positive number for bar 0) is
    > 0, the four prices are finite and > 0, the volume is finite (NaN fails every
    comparison). Branch-free and array-free, for fused kernels that check each bar as
    they read it; ``candles_ok_nb`` is the whole-array pass."""
    ok = (step > 0) & (o > 0.0) & (o < np.inf) & (high > 0.0) & (high < np.inf)
    ok &= (low > 0.0) & (low < np.inf) & (c > 0.0) & (c < np.inf)
    return ok & (volume > -np.inf) & (volume < np.inf)


@njit(cache=True)
def candles_ok_nb(ts, open_, high, low, close, volume):  # noqa: PLR0917 (Numba: positional)
    """One pass over n >= 2 candles: ``(min_step, n_first_step, prices_ok, volume_ok)``.

    ``min_step`` <= 0 means ts is not strictly increasing (``first_non_increasing_nb``
    finds where). ``n_first_step`` counts the ts steps equal to the first one: when more
    than half of the n-1 steps share a value, that value covers the middle of the sorted
    steps and *is* their median, so regular candles (a missing bar here and there) need
    no sort to infer the bar length. ``prices_ok``: every open/high/low/close is finite
    and > 0 (NaN fails both comparisons). ``volume_ok``: every volume is finite.
    """
    first = ts[1] - ts[0]
    min_step = first
    n_first = 0
    prices_ok = (open_[0] > 0.0) & (open_[0] < np.inf) & (high[0] > 0.0) & (high[0] < np.inf)
    prices_ok &= (low[0] > 0.0) & (low[0] < np.inf) & (close[0] > 0.0) & (close[0] < np.inf)
    volume_ok = (volume[0] > -np.inf) & (volume[0] < np.inf)
    for i in range(1, ts.shape[0]):
        step = ts[i] - ts[i - 1]
        min_step = min(min_step, step)
        n_first += step == first
        o = open_[i]
        h = high[i]
        lo = low[i]
        c = close[i]
        v = volume[i]
        prices_ok &= (o > 0.0) & (o < np.inf) & (h > 0.0) & (h < np.inf)
        prices_ok &= (lo > 0.0) & (lo < np.inf) & (c > 0.0) & (c < np.inf)
        volume_ok &= (v > -np.inf) & (v < np.inf)
    return min_step, n_first, prices_ok, volume_ok


@njit(cache=True)
def first_non_increasing_nb(ts):
    """The first i with ts[i] <= ts[i-1], or -1."""
    for i in range(1, ts.shape[0]):
        if ts[i] <= ts[i - 1]:
            return i
    return -1


@njit(cache=True)
def first_outside_nb(x, low, high):
    """Index of the first element not strictly between ``low`` and ``high``, or -1: with
    (0, inf) the first that is not a finite price > 0, with (-inf, inf) the first NaN or
    infinite one (NaN is between nothing)."""
    for i in range(x.shape[0]):
        v = x[i]
        if not (v > low and v < high):
            return i
    return -1

"""Numba kernels of the position simulation (and the cheap input checks its wrapper runs).

Everything here takes and returns numpy arrays and scalars only; modes are the integer
constants of ``enums``. The public entry points are ``backtests.engine.runner.simulate``
and ``run_backtest``, which validate and allocate; call these kernels directly only with
inputs that passed that validation.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from backtests.engine.enums import (
    EXIT_END,
    EXIT_LIQUIDATION,
    EXIT_SIGNAL,
    EXIT_STOP,
    EXIT_TAKE_PROFIT,
    FILL_NEXT_OPEN,
    OPPOSITE_CLOSE,
    OPPOSITE_REVERSE,
)

# Outcome codes of the level checks (0 = nothing touched).
_HIT_NONE = 0
_HIT_ADVERSE = 1
_HIT_TAKE_PROFIT = 2


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
    """Which level the open is at or beyond; the adverse level is looked at first."""
    if side > 0:
        if open_price <= adverse:
            return _HIT_ADVERSE
        if open_price >= take_profit:
            return _HIT_TAKE_PROFIT
    else:
        if open_price >= adverse:
            return _HIT_ADVERSE
        if open_price <= take_profit:
            return _HIT_TAKE_PROFIT
    return _HIT_NONE


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


@njit(cache=True)
def _write_trade(  # noqa: PLR0917 (Numba kernels take positional arguments)
    trades_out,
    k,
    ts,
    side,
    entry_idx,
    exit_idx,
    entry_price,
    exit_price,
    quantity,
    entry_fee,
    margin,
    fee_rate,
    reason,
):
    """Record the close of a position as trade ``k``; return the change of cash.

    A liquidation loses exactly the isolated margin and pays no exit fee; any other exit
    realises ``side * qty * (exit - entry)`` and pays ``qty * exit * fee_rate``. The
    entry fee was taken from cash at entry, but belongs to the trade's ``pnl``/``fees``.
    """
    if k >= trades_out.shape[0]:
        raise ValueError("trades_out is too small: allocate one record per possible entry")
    if reason == EXIT_LIQUIDATION:
        gross = -margin
        exit_fee = 0.0
    else:
        gross = side * quantity * (exit_price - entry_price)
        exit_fee = quantity * exit_price * fee_rate
    pnl = gross - entry_fee - exit_fee
    rec = trades_out[k]
    rec["side"] = side
    rec["entry_idx"] = entry_idx
    rec["exit_idx"] = exit_idx
    rec["entry_time"] = ts[entry_idx]
    rec["exit_time"] = ts[exit_idx]
    rec["entry_price"] = entry_price
    rec["exit_price"] = exit_price
    rec["quantity"] = quantity
    rec["fees"] = entry_fee + exit_fee
    rec["pnl"] = pnl
    rec["return"] = pnl / margin
    rec["bars_held"] = exit_idx - entry_idx
    rec["exit_reason"] = reason
    return gross - exit_fee


@njit(cache=True)
def simulate_nb(  # noqa: PLR0917 (Numba kernels take positional arguments)
    ts,
    open_,
    high,
    low,
    close,
    signals,
    fill_mode,
    opposite_mode,
    initial_capital,
    fee_rate,
    slippage_bps,
    position_size,
    leverage,
    stop_loss_pct,
    take_profit_pct,
    maintenance_margin_rate,
    equity_out,
    trades_out,
):
    """Simulate one position (long, short or flat) over n bars, following the engine contract.

    Inputs (all length n, C-contiguous):
        ts: int64 epoch ms, strictly increasing; open_/high/low/close: float64 prices,
        finite and > 0 (no NaN: the wrapper rejects them); signals: int8, +1 long,
        -1 short, 0 none; the signal of bar i may use data up to bar i's close.
    Scalars:
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

    Per bar i, in this order:
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
    fill is the cash; entries are skipped while cash <= 0 (bust). notional = cash *
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
    slip = slippage_bps * 1e-4
    sl_frac = stop_loss_pct / 100.0  # NaN stays NaN: no stop
    tp_frac = take_profit_pct / 100.0
    has_liq = leverage > 1.0
    liq_move = 1.0 / leverage - maintenance_margin_rate
    next_open = fill_mode == FILL_NEXT_OPEN

    cash = initial_capital
    k = 0
    n_exposed = 0
    # the open position (side == 0: flat; the rest is then stale)
    side = 0
    entry_idx = 0
    entry_price = 0.0
    qty = 0.0
    entry_fee = 0.0
    margin = 0.0
    adverse = 0.0
    adverse_is_liq = False
    take_profit = 0.0

    for i in range(n):
        o = open_[i]

        # 1. the open against the levels of a position held from an earlier bar
        if side != 0:
            hit = _hit_at_open(side, o, adverse, take_profit)
            if hit != _HIT_NONE:
                if hit == _HIT_ADVERSE and adverse_is_liq:
                    reason = EXIT_LIQUIDATION
                    px = adverse
                else:
                    reason = EXIT_STOP if hit == _HIT_ADVERSE else EXIT_TAKE_PROFIT
                    px = o * (1.0 - side * slip)
                cash += _write_trade(
                    trades_out, k, ts, side, entry_idx, i, entry_price, px, qty, entry_fee, margin,
                    fee_rate, reason,
                )  # fmt: skip
                k += 1
                side = 0

        # 2. the previous bar's signal at this open
        if next_open and i > 0:
            s = signals[i - 1]
            sig = 1 if s > 0 else (-1 if s < 0 else 0)
            close_cur, open_new = _signal_action(side, sig, opposite_mode)
            if close_cur:
                px = o * (1.0 - side * slip)
                cash += _write_trade(
                    trades_out, k, ts, side, entry_idx, i, entry_price, px, qty, entry_fee, margin,
                    fee_rate, EXIT_SIGNAL,
                )  # fmt: skip
                k += 1
                side = 0
            if open_new and cash > 0.0:
                side = sig
                entry_idx = i
                entry_price = o * (1.0 + side * slip)
                notional = cash * position_size * leverage / (1.0 + leverage * fee_rate)
                qty = notional / entry_price
                entry_fee = notional * fee_rate
                margin = notional / leverage
                cash -= entry_fee
                adverse, adverse_is_liq, take_profit = _levels(
                    side, entry_price, sl_frac, tp_frac, liq_move, has_liq
                )
                hit = _hit_at_open(side, o, adverse, take_profit)
                if hit != _HIT_NONE:
                    if hit == _HIT_ADVERSE and adverse_is_liq:
                        reason = EXIT_LIQUIDATION
                        px = adverse
                    else:
                        reason = EXIT_STOP if hit == _HIT_ADVERSE else EXIT_TAKE_PROFIT
                        px = o * (1.0 - side * slip)
                    cash += _write_trade(
                        trades_out, k, ts, side, entry_idx, i, entry_price, px, qty, entry_fee,
                        margin, fee_rate, reason,
                    )  # fmt: skip
                    k += 1
                    side = 0

        # 3. the bar's range
        if side != 0:
            hit = _hit_in_range(side, high[i], low[i], adverse, take_profit)
            if hit != _HIT_NONE:
                if hit == _HIT_ADVERSE:
                    if adverse_is_liq:
                        reason = EXIT_LIQUIDATION
                        px = adverse
                    else:
                        reason = EXIT_STOP
                        px = adverse * (1.0 - side * slip)
                else:
                    reason = EXIT_TAKE_PROFIT
                    px = take_profit * (1.0 - side * slip)
                cash += _write_trade(
                    trades_out, k, ts, side, entry_idx, i, entry_price, px, qty, entry_fee, margin,
                    fee_rate, reason,
                )  # fmt: skip
                k += 1
                side = 0

        c = close[i]
        # 4. this bar's signal at this close
        if not next_open:
            s = signals[i]
            sig = 1 if s > 0 else (-1 if s < 0 else 0)
            close_cur, open_new = _signal_action(side, sig, opposite_mode)
            if close_cur:
                px = c * (1.0 - side * slip)
                cash += _write_trade(
                    trades_out, k, ts, side, entry_idx, i, entry_price, px, qty, entry_fee, margin,
                    fee_rate, EXIT_SIGNAL,
                )  # fmt: skip
                k += 1
                side = 0
            if open_new and cash > 0.0:
                side = sig
                entry_idx = i
                entry_price = c * (1.0 + side * slip)
                notional = cash * position_size * leverage / (1.0 + leverage * fee_rate)
                qty = notional / entry_price
                entry_fee = notional * fee_rate
                margin = notional / leverage
                cash -= entry_fee
                adverse, adverse_is_liq, take_profit = _levels(
                    side, entry_price, sl_frac, tp_frac, liq_move, has_liq
                )

        # 5. mark to the close
        if side != 0:
            n_exposed += 1
            equity_out[i] = cash + side * qty * (c - entry_price)
        else:
            equity_out[i] = cash

    if side != 0:
        # end of data: a real exit at the last close, so its fee and slippage are in
        # the last equity value and in the trade's pnl.
        px = close[n - 1] * (1.0 - side * slip)
        cash += _write_trade(
            trades_out, k, ts, side, entry_idx, n - 1, entry_price, px, qty, entry_fee, margin,
            fee_rate, EXIT_END,
        )  # fmt: skip
        k += 1
        equity_out[n - 1] = cash
    return k, n_exposed


# --- input checks ---------------------------------------------------------------------
# The check of valid candles is one branch-free pass over all six columns, which LLVM
# vectorises: six early-exit loops (one per column) took twice as long, and an
# early-exit loop alone ran ~10x slower than this. The first bad index is looked for
# only when the pass says there is one.


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
def first_bad_price_nb(x):
    """Index of the first element that is not a finite number > 0, or -1."""
    for i in range(x.shape[0]):
        v = x[i]
        if not (v > 0.0 and v < np.inf):
            return i
    return -1


@njit(cache=True)
def first_non_finite_nb(x):
    """Index of the first NaN or infinite element, or -1."""
    for i in range(x.shape[0]):
        v = x[i]
        if not (v > -np.inf and v < np.inf):
            return i
    return -1

"""The fused HYPERRSI backtest kernel: indicators, signals, simulation and metric sums in
one pass over the bars.

The unfused path runs a candle check, then four passes with an array between each: RSI
and EMA (``indicators_nb``), the signals (``hyperrsi_nb``), the simulation
(``simulate_nb``) and the metrics (``metrics_nb``), allocating, writing and re-reading
~25 MB per million bars besides the candles. Here the candles are read from memory once
and no array is allocated but the equity: each block of 2048 bars is checked, then goes
through the indicators and signals (into a 2 KB buffer), the simulation (equity and
trades) and the metric sums while it sits in the cache (see ``engine.blocks_nb``).

Nothing is re-implemented that matters to the contract: the simulation is the engine's
``sim_bar``/``sim_finish`` steps and the metric sums its ``metrics_*`` steps, the very
code ``simulate_nb`` and ``metrics_nb`` run. The RSI and EMA updates are the step
functions ``indicators_nb.rsi_wilder_into``/``rsi_sma_into``/``ema_into`` run
(``gain_loss``, ``wilder_step``, ``window_add``/``window_drop``/``window_sums`` on the
same re-summing schedule, ``ema_step``), so the values, and hence the signals, are
bit-identical; the signal rule is ``hyperrsi_signals_into``'s.
``tests/engine/test_fused.py`` holds the whole to the unfused path.

Fusing is lookahead-safe: the RSI and EMA at bar i use closes up to i only, as they do
in the unfused kernels, and with fill=next_open bar i's signal is held as "pending" and
acted on at the open of bar i+1, exactly as ``simulate_nb`` reads signals[i-1].
"""

from __future__ import annotations

import numpy as np
from numba import njit

from engine.blocks_nb import BLOCK, check_block, finish_nb, metrics_block, simulate_block
from engine.metrics_nb import metrics_start
from engine.nb import (
    N_TRADES,
    bar_ok,
    sim_setup,
    sim_start,
)
from strategies.hyperrsi_nb import ENTRY_FOLLOW, hyperrsi_warmup
from strategies.indicators_nb import (
    RSI_SMA,
    _resync_every,
    _rsi_value,
    ema_step,
    gain_loss,
    wilder_step,
    window_add,
    window_drop,
    window_sums,
)

# The signal compares the RSI with two levels, and the RSI is a division, 100·g / (g + l).
# Wilder's RSI takes it at every bar (``_rsi_select``): the signal loop runs apart from
# the metrics' division (the return r = e_i / e_{i-1} - 1), and one division per bar is
# within the divider's throughput. The SMA RSI would need three (g/p, l/p, the quotient),
# so its zone is first decided by multiplying instead, 100·g against level·(g + l) with
# g = gain·(1/p), with a margin of 2^-40 relative -- far above the few ulps by which this
# product, the rounded quotient and g·(1/p) against g/p can differ, so an answer outside
# the margin is the one the exact RSI gives. Within the margin, the exact RSI
# (``_rsi_value`` of the exact averages) decides, so the signals stay bit-identical to
# ``hyperrsi_signals_into``.
_MARGIN = 2.0**-40
# Below this the relative bounds of that argument fail (subnormal numbers carry fewer
# digits): a level under it, and averages whose sum is under it, go to the exact RSI.
_TINY = 2.0**-1000


@njit(inline="always")
def _bands(oversold, overbought):
    """The levels times 1 -/+ the margin: (oversold low, high, overbought low, high).

    A low band under _TINY is 0 and a high one at least _TINY, so that a level of 0 (or
    nearly) is never decided by the products: "RSI <= 0" needs the exact quotient, which
    can underflow to 0 from a tiny positive gain.
    """
    os_low = oversold * (1.0 - _MARGIN)
    ob_low = overbought * (1.0 - _MARGIN)
    return (
        os_low if os_low >= _TINY else 0.0,
        max(oversold * (1.0 + _MARGIN), _TINY),
        ob_low if ob_low >= _TINY else 0.0,
        max(overbought * (1.0 + _MARGIN), _TINY),
    )


@njit(inline="always")
def _zones(g, l, bands):
    """``(rsi <= oversold, rsi >= overbought, sure)`` for rsi = 100·g / (g + l), from
    averages g, l >= 0 within a few ulps of the exact ones, without dividing. ``sure``
    is False when the RSI is within the margin of a level (or g + l is tiny), and then
    it must be computed (``_rsi_value``). That also covers its special cases: with l = 0
    and g > 0 the products put the RSI at 100 within an ulp, and g = l = 0 is never sure.
    """
    os_low, os_high, ob_low, ob_high = bands
    a = 100.0 * g
    s = g + l
    below = a < os_low * s
    above = a > ob_high * s
    # bitwise & and |: both sides are cheap, and branches here would mispredict
    sure = (below | (a > os_high * s)) & (above | (a < ob_low * s)) & (s >= _TINY)
    return below, above, sure


@njit(inline="always")
def _signal(below_prev, above_prev, below, above, c, trend, follow, use_trend_filter):  # noqa: PLR0917
    """The HYPERRSI signal of one bar past the warm-up, from the RSI's zones at this bar
    and the previous one (both defined there: the warm-up max(2p, 30) > p); the rule of
    ``hyperrsi_signals_into``: "prev <= oversold < now" is below_prev and not below.
    Branch-free (the zones change at random bars); long wins a tie, as there."""
    if follow:
        long_ = below
        short = above
    else:
        long_ = below_prev & (not below) & ((c < trend) | (not use_trend_filter))
        short = above_prev & (not above) & ((c > trend) | (not use_trend_filter))
    return 1 if long_ else (-1 if short else 0)


@njit(inline="always")
def _rsi_select(g, l):
    """``_rsi_value(g, l)`` (g, l >= 0) without branches: the quotient, then the special
    case of l = 0 selected over it (where it may be 0/0: the caller is compiled with
    ``error_model="numpy"``, so that is NaN, discarded, not a ZeroDivisionError)."""
    q = 100.0 * g / (g + l)
    special = 100.0 if g > 0.0 else 50.0
    return q if l != 0.0 else special


@njit(inline="always")
def _zones_exact(sma, gain, loss, n_gain, n_loss, period, inv, oversold, overbought, bands):  # noqa: PLR0917
    """``(rsi <= oversold, rsi >= overbought)`` for the RSI of the running sums (bar >=
    period): decided by ``_zones`` without dividing, by the exact RSI within its margin.

    SMA: the averages are gain/period and loss/period (0 with no gain/loss in the window,
    as ``rsi_sma_into`` decides by the counts); Wilder: gain and loss themselves.
    """
    if sma:
        # g·(1/p) for g/p: within an ulp, which the zones' margin covers
        g = gain * inv if n_gain > 0 else 0.0
        l_avg = loss * inv if n_loss > 0 else 0.0
    else:
        g = gain
        l_avg = loss
    below, above, sure = _zones(g, l_avg, bands)
    if not sure:
        if sma:
            g = gain / period if n_gain > 0 else 0.0
            l_avg = loss / period if n_loss > 0 else 0.0
        rsi = _rsi_value(g, l_avg)
        below = rsi <= oversold
        above = rsi >= overbought
    return below, above


@njit(cache=True, error_model="numpy")
def _signals_block(  # noqa: PLR0917 (Numba kernels take positional arguments)
    close,
    lo,
    hi,
    sig_out,
    rsi_state,
    trend,
    alpha,
    sma,
    period,
    follow,
    use_trend_filter,
    oversold,
    overbought,
):
    """The signals of bars lo..hi-1 into ``sig_out[: hi - lo]``, lo >= the warm-up (the
    RSI is defined and past its start-up there); returns ``(rsi_state, trend)`` after bar
    hi-1.

    rsi_state: (gain, loss, n_gain, n_loss, countdown, below, above): the running sums of
    ``rsi_wilder_into``/``rsi_sma_into`` and the RSI's zones at bar lo-1. trend: the EMA
    at bar lo-1, updated as ``ema_into`` with ``alpha`` (unread without the filter).
    """
    gain, loss, n_gain, n_loss, countdown, below, above = rsi_state
    inv = 1.0 / period
    keep = (period - 1.0) / period
    every = _resync_every(period)
    bands = _bands(oversold, overbought)
    ema_keep = 1.0 - alpha
    c = close[lo:hi]
    c_prev = close[lo - 1 : hi - 1]
    if sma:
        old = close[lo - period : hi - period]
        old_prev = close[lo - period - 1 : hi - period - 1]
        for j in range(hi - lo):
            gain, loss, n_gain, n_loss = window_add(gain, loss, n_gain, n_loss, c[j] - c_prev[j])
            gain, loss, n_gain, n_loss = window_drop(gain, loss, n_gain, n_loss, old[j] - old_prev[j])
            if countdown == 0:
                countdown = every
                gain, loss = window_sums(close, lo + j, period)
            countdown -= 1
            below_prev = below
            above_prev = above
            below, above = _zones_exact(
                True, gain, loss, n_gain, n_loss, period, inv, oversold, overbought, bands
            )
            if use_trend_filter:
                trend = ema_step(trend, c[j], alpha, ema_keep)
            sig_out[j] = _signal(below_prev, above_prev, below, above, c[j], trend, follow, use_trend_filter)
    else:
        prev = close[lo - 1]
        for j in range(hi - lo):
            now = c[j]
            up, down = gain_loss(now - prev)
            gain, loss = wilder_step(gain, loss, up, down, keep, inv)
            prev = now
            below_prev = below
            above_prev = above
            rsi = _rsi_select(gain, loss)
            below = rsi <= oversold
            above = rsi >= overbought
            # unread without the filter, and cheaper than a select
            trend = ema_step(trend, now, alpha, ema_keep)
            sig_out[j] = _signal(below_prev, above_prev, below, above, now, trend, follow, use_trend_filter)
    return (gain, loss, n_gain, n_loss, countdown, below, above), trend


@njit(cache=True)
def hyperrsi_backtest_nb(ts, open_, high, low, close, volume, rsi_period, rsi_method, oversold,  # noqa: PLR0917 (Numba: positional)
                         overbought, entry_option, use_trend_filter, trend_ema_period, xrec,
                         equity_out, trades_out):  # fmt: skip
    """One HYPERRSI backtest over n >= 2 bars, checking the candles as it reads them.

    Candles: ts int64[n], open_/high/low/close/volume float64[n], C-contiguous (coerced
    but not yet value-checked by the wrapper). Strategy: rsi_period (>= 1), rsi_method
    (``RSI_WILDER``/``RSI_SMA``), oversold, overbought (RSI points), entry_option
    (``ENTRY_REVERSE``/``ENTRY_FOLLOW``), use_trend_filter, trend_ema_period (>= 1; read
    only with the filter). xrec: the execution record, as ``simulate_nb`` takes it.
    equity_out: float64[n], written in full when the candles are valid.
    trades_out: ``trade_dt`` records, room for the trades (see ``-2`` below).

    Returns ``(status, n_first_step, n_trades, n_exposed, sum_down2, ss, max_dd,
    max_dd_ms)``:
      status: -1 when done. A bar index >= 0 when that bar's candle is invalid (ts not
        above the previous bar's, a price not finite and > 0, a volume not finite): the
        pass stops there, before the value is used, and the wrapper runs its full check,
        which names the column and the first bad index. -2 when ``trades_out`` filled
        up: the wrapper runs again with room for n trades (each entry takes a bar).
      n_first_step: how many ts steps equal the first one (as ``candles_ok_nb``).
      n_trades: ``trades_out[:n_trades]`` are the trades, in exit order.
      n_exposed: bars at whose close a position is open (before the end-of-data exit).
      the rest: ``metrics_finish``'s sums, for ``metrics_from_sums_nb``.
    With status -1, equal to ``simulate_nb`` over ``hyperrsi_signals_into``'s signals and
    ``metrics_nb`` over its equity, bit for bit: the same arithmetic in the same order.
    """
    n = close.shape[0]
    no_ms = ts[0] - ts[0]  # an int64 zero, so that every return has the same types
    params, initial_capital, next_open = sim_setup(xrec)
    follow = entry_option == ENTRY_FOLLOW
    sma = rsi_method == RSI_SMA
    period = rsi_period
    alpha = 2.0 / (trend_ema_period + 1.0)
    start = max(min(hyperrsi_warmup(period), n), 1)
    first_step = ts[1] - ts[0]

    # Warm-up, bars 0 .. start-1: no signal can occur, so the position stays flat, while
    # the RSI goes through its start-up phases (``rsi_*_into``'s first loops).
    if not bar_ok(1, open_[0], high[0], low[0], close[0], volume[0]):
        return (0, 0, 0, 0, 0.0, 0.0, 0.0, no_ms)
    # (int64 zeros and ones, not literals: a literal argument compiles its own version of
    # the callee, and each of these takes seconds to compile)
    zero = np.int64(0)
    one = np.int64(1)
    bad, n_first = check_block(ts, open_, high, low, close, volume, one, start, first_step)
    if bad >= 0:
        return (bad, 0, 0, 0, 0.0, 0.0, 0.0, no_ms)
    inv = 1.0 / period
    keep = (period - 1.0) / period
    every = _resync_every(period)
    countdown = zero
    gain = 0.0
    loss = 0.0
    n_gain = zero
    n_loss = zero
    trend = close[0]
    for i in range(1, start):
        c = close[i]
        change = c - close[i - 1]
        if sma:
            gain, loss, n_gain, n_loss = window_add(gain, loss, n_gain, n_loss, change)
            if i > period:
                old = close[i - period] - close[i - period - 1]
                gain, loss, n_gain, n_loss = window_drop(gain, loss, n_gain, n_loss, old)
            if i >= period:
                if countdown == 0:
                    countdown = every
                    gain, loss = window_sums(close, i, period)
                countdown -= 1
        elif i > period:
            up, down = gain_loss(change)
            gain, loss = wilder_step(gain, loss, up, down, keep, inv)
        else:
            gain, loss, n_gain, n_loss = window_add(gain, loss, n_gain, n_loss, change)
            if i == period:
                gain /= period
                loss /= period
        if use_trend_filter:
            trend = ema_step(trend, c, alpha, 1.0 - alpha)
    below = False
    above = False
    if start < n:
        # the zones at bar start-1 (>= period: the RSI is defined), read by bar start
        bands = _bands(oversold, overbought)
        below, above = _zones_exact(sma, gain, loss, n_gain, n_loss, period, inv, oversold, overbought, bands)
    rsi_state = (gain, loss, n_gain, n_loss, countdown, below, above)
    # the warm-up bars through the same simulation and metric loops, without signals
    # (no trade can close there, so the buffer cannot fill up)
    sig = np.zeros(max(BLOCK, start), dtype=np.int8)
    state = sim_start(initial_capital)
    _, state, pending, n_exposed = simulate_block(
        ts, open_, high, low, close, zero, start, sig, state, params, zero, next_open, equity_out, trades_out
    )
    prices = (open_, high, low, close, volume)
    acc = metrics_block(
        metrics_start(equity_out[0], ts[0]), equity_out, ts, one, min(start, n - 1), prices, start,
        min(start + BLOCK, n),
    )  # fmt: skip

    # The rest, a block at a time (see BLOCK); ``pending`` is the previous bar's signal,
    # filled at this open (fill=next_open).
    for lo in range(start, n, BLOCK):
        hi = min(lo + BLOCK, n)
        bad, k = check_block(ts, open_, high, low, close, volume, lo, hi, first_step)
        if bad >= 0:
            return (bad, 0, 0, 0, 0.0, 0.0, 0.0, no_ms)
        n_first += k
        rsi_state, trend = _signals_block(
            close, lo, hi, sig, rsi_state, trend, alpha, sma, period, follow, use_trend_filter, oversold,
            overbought,
        )  # fmt: skip
        full, state, pending, exposed = simulate_block(
            ts,
            open_,
            high,
            low,
            close,
            lo,
            hi,
            sig,
            state,
            params,
            pending,
            next_open,
            equity_out,
            trades_out,
        )
        if full:
            return (-2, 0, 0, 0, 0.0, 0.0, 0.0, no_ms)
        n_exposed += exposed
        # the last bar's equity is folded in after the end-of-data exit
        acc = metrics_block(acc, equity_out, ts, lo, min(hi, n - 1), prices, hi, min(hi + BLOCK, n))

    full, state, e, (sum_down2, ss, max_dd, max_dd_ms) = finish_nb(
        state, params, ts, n - 1, close[n - 1], trades_out, acc
    )
    if full:
        return (-2, 0, 0, 0, 0.0, 0.0, 0.0, no_ms)
    equity_out[n - 1] = e
    return (-1, n_first, state[N_TRADES], n_exposed, sum_down2, ss, max_dd, max_dd_ms)

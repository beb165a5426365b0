"""The block machinery of fused backtest kernels: the stages a strategy's one-pass kernel
runs over each block of bars, whatever its signals.

A fused kernel (``strategies.hyperrsi_fused_nb`` is the first) goes through the bars a
block of ``BLOCK`` at a time: ``check_block`` (the candle values), its own signal loop
into a small int8 buffer, ``simulate_block`` (the engine's ``sim_bar`` per bar, equity and
trades out) and ``metrics_block`` (the metric sums, ``metrics_step``), while the block sits
in the cache. Nothing here knows a strategy; the contract's arithmetic is the engine's
own step functions (``engine.nb``, ``engine.metrics_nb``), so a fused kernel built from
these stages equals ``simulate_nb`` + ``metrics_nb`` bit for bit.
"""

from __future__ import annotations

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.core import cgutils
from numba.extending import intrinsic

from engine.metrics_nb import metrics_finish, metrics_step
from engine.nb import CASH, N_TRADES, NO_TRADE, SIDE, bar_ok, sim_bar, sim_finish, write_trades

# --- the stages of one block ----------------------------------------------------------
# Each block of BLOCK bars goes through four tight loops while it sits in the L2 cache:
# the candle check, the indicators and signals (into a 2 KB buffer), the simulation, and
# the metric sums. One loop doing all of it per bar measured no faster once it checked
# the candles too: its ~150 instructions per bar spill registers, where each small loop
# keeps its state in registers (and the check vectorises). Memory is still read once,
# and out of the way: the metric loop, the last of a block, prefetches the next block's
# candles into the L2 cache (``prefetch``, one hint per 64-byte line), so the check
# finds them there instead of stalling on the ~100 KB block (that stall was ~2 ms per
# million bars, the floor's time), and the other loops find the block in the cache. The
# loops index slices, so that the index is known to be >= 0 and no load needs a
# wraparound for negative indices.
BLOCK = 2048


# The candles are checked a block at a time, before any other loop reads the block: a
# branch-free pass over six columns vectorises (a few instructions per bar, and it pulls
# the block into the cache for the other loops), where the same checks inside the bar
# loop cost ~25 instructions per bar. No bad value reaches the arithmetic: a bad block
# stops the pass before its first bar is used.


# The check reads the prices as their int64 bit patterns: a float64 is finite and > 0
# exactly when its bits, as a signed integer, are in 1 .. _MAX_FINITE (a sign bit makes
# them negative, +0.0 is 0, and inf and NaN have every exponent bit set, which puts them
# above the largest finite number), and a volume is finite when its bits without the sign
# are at most _MAX_FINITE. So a block is valid when the minimum and maximum of its price
# bits, the maximum of its volume bits and its minimum ts step are within bounds: integer
# min/max reductions, one instruction per value in 64-bit lanes, where the float
# compares of ``bar_ok`` cost about three (LLVM turns them into integer range checks and
# combines the masks bar by bar).
_MAX_FINITE = np.int64(0x7FEFFFFFFFFFFFFF)
_NO_SIGN = np.int64(0x7FFFFFFFFFFFFFFF)


@intrinsic
def _bits(typingctx, x):
    """The bit pattern of a float64, as an int64 (a bitcast: no instruction of its own)."""
    sig = types.int64(types.float64)

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.IntType(64))

    return sig, codegen


@njit(cache=True)
def check_block(ts, open_, high, low, close, volume, lo, hi, first_step):  # noqa: PLR0917
    """``(first invalid bar in lo..hi-1 or -1, ts steps equal to first_step)``, 1 <= lo.

    A bar is invalid as ``nb.bar_ok`` says (ts not above the previous bar's, a price not
    finite and > 0, a volume not finite).
    """
    ok, n_first = _check_bits(ts, open_, high, low, close, volume, lo, hi, first_step)
    if ok:
        return -1, n_first
    for i in range(lo, hi):
        if not bar_ok(ts[i] - ts[i - 1], open_[i], high[i], low[i], close[i], volume[i]):
            return i, n_first
    return -1, n_first


@njit(cache=True)
def _check_bits(ts, open_, high, low, close, volume, lo, hi, first_step):  # noqa: PLR0917
    """``(bars lo..hi-1 are valid, ts steps equal to first_step)``. (A function of its
    own: followed by the search for the bad bar, the loop was not vectorised.) Slices, so
    that the loop index is known to be >= 0 and the loads need no negative-index
    wraparound (which blocks vectorising).
    """
    t = ts[lo - 1 : hi]
    o = open_[lo:hi]
    h = high[lo:hi]
    lw = low[lo:hi]
    c = close[lo:hi]
    v = volume[lo:hi]
    min_step = np.int64(1)  # any positive step: no bar is invalid yet
    min_bits = _MAX_FINITE
    max_bits = np.int64(0)
    max_volume = max_bits
    n_first = 0
    for j in range(hi - lo):
        step = t[j + 1] - t[j]
        n_first += step == first_step
        min_step = min(min_step, step)
        bo = _bits(o[j])
        bh = _bits(h[j])
        bl = _bits(lw[j])
        bc = _bits(c[j])
        min_bits = min(min_bits, bo, bh, bl, bc)
        max_bits = max(max_bits, bo, bh, bl, bc)
        max_volume = max(max_volume, _bits(v[j]) & _NO_SIGN)
    ok = (min_step > 0) & (min_bits >= 1) & (max_bits <= _MAX_FINITE) & (max_volume <= _MAX_FINITE)
    return ok, n_first


@njit(cache=True)
def simulate_block(  # noqa: PLR0917 (Numba kernels take positional arguments)
    ts, open_, high, low, close, lo, hi, sig, state, params, pending, next_open, equity_out, trades_out
):
    """``sim_bar`` over bars lo..hi-1 with signals ``sig[: hi - lo]``, equity into
    ``equity_out[lo:hi]`` and trades into ``trades_out``; ``pending`` is the signal of
    bar lo-1 (fill=next_open). Returns ``(full, state, pending, n_exposed)``: ``full``
    when ``trades_out`` has no room left (the state is then meaningless)."""
    o = open_[lo:hi]
    h = high[lo:hi]
    lw = low[lo:hi]
    c = close[lo:hi]
    eq = equity_out[lo:hi]
    capacity = trades_out.shape[0]
    n_exposed = 0
    for j in range(hi - lo):
        # as ``simulate_nb`` does: one ``sim_bar`` with the signal at the open or the close
        sig_open = 0
        sig_close = np.int64(sig[j])
        if next_open:
            sig_open = pending
            pending = sig_close
            sig_close = 0
        state, e, n_closed, first, second = sim_bar(
            state, params, lo + j, o[j], h[j], lw[j], c[j], sig_open, sig_close
        )
        if n_closed > 0:
            if state[N_TRADES] > capacity:
                return True, state, pending, n_exposed
            write_trades(trades_out, ts, state[N_TRADES] - n_closed, n_closed, first, second)
        eq[j] = e
        n_exposed += state[SIDE] != 0
    return False, state, pending, n_exposed


@intrinsic
def prefetch(typingctx, arr, i):
    """Hint that ``arr[i]`` is read soon: ``llvm.prefetch`` into the L2 cache."""
    sig = types.void(arr, i)

    def codegen(context, builder, signature, args):
        aryty = signature.args[0]
        ary = context.make_array(aryty)(context, builder, args[0])
        ptr = cgutils.get_item_pointer(context, builder, aryty, ary, [args[1]], wraparound=False)
        i32 = ir.IntType(32)
        byte_ptr = ir.IntType(8).as_pointer()
        fnty = ir.FunctionType(ir.VoidType(), [byte_ptr, i32, i32, i32])
        fn = cgutils.get_or_insert_function(builder.module, fnty, "llvm.prefetch.p0")
        # read, locality 2 (prefetcht1: L2), data cache
        args = [builder.bitcast(ptr, byte_ptr), ir.Constant(i32, 0), ir.Constant(i32, 2), ir.Constant(i32, 1)]
        builder.call(fn, args)
        return context.get_dummy_value()

    return sig, codegen


@njit(cache=True)
def metrics_block(acc, equity, ts, lo, hi, prices, ahead_lo, ahead_hi):  # noqa: PLR0917
    """``metrics_step`` over the equity of bars lo..hi-1, prefetching the candles (ts and
    the five ``prices`` columns) of bars ahead_lo..ahead_hi-1, the next block."""
    e = equity[lo:hi]
    t = ts[lo:hi]
    o, h, lw, c, v = prices
    stop = ahead_hi - ahead_lo
    for j in range(hi - lo):
        if (j & 7) == 0 and j < stop:
            k = ahead_lo + j
            prefetch(ts, k)
            prefetch(o, k)
            prefetch(h, k)
            prefetch(lw, k)
            prefetch(c, k)
            prefetch(v, k)
        acc = metrics_step(acc, e[j], t[j])
    return acc


@njit(inline="always")
def finish_nb(state, params, ts, last, last_close, trades_out, acc):  # noqa: PLR0917 (Numba: positional)
    """The end of a pass: the end-of-data exit at bar ``last`` (an index into ``ts``) at
    ``last_close``, its trade into ``trades_out``, and the final equity folded into the
    metric sums, as ``simulate_nb`` + ``metrics_nb`` end. Returns ``(full, state, equity,
    sums)``: ``full`` when ``trades_out`` has no room for the exit's trade; sums as
    ``metrics_finish`` gives them."""
    state, closed, trade = sim_finish(state, params, last, last_close)
    full = False
    if closed:
        if state[N_TRADES] > trades_out.shape[0]:
            full = True
        else:
            write_trades(trades_out, ts, state[N_TRADES] - 1, 1, trade, NO_TRADE)
    e = state[CASH]
    acc = metrics_step(acc, e, ts[last])
    return full, state, e, metrics_finish(acc, ts[last])

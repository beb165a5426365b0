"""A straightforward Numba ``prange`` sweep of HYPERRSI, the yardstick of ``bench/sweep.py``.

Not shipped: written the way one would write a sweep kernel for one study by hand, to
measure how close the project's kernel comes to it. One RSI row per period is computed
once (``rsi_rows``, with the project's ``rsi_wilder``) and one trend EMA; then every
combination runs in a ``prange``, one pass over the bars with everything inline: the
signal rule (reverse, trend filter), the position (fill at the next open, reverse on an
opposite signal, stop loss, isolated-margin liquidation), the equity and the sums that
give every contract metric. It covers only what the bench asks of it (no take profit,
no other fill or opposite mode) and sums squared returns in one pass (the project sums
them in shifted blocks); the bench prints how far its metrics are from the project's.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

N_OUT = 20  # the contract's metrics, in engine.enums order


@njit(parallel=True, cache=True)
def straight_sweep_nb(  # noqa: PLR0917 (one flat kernel on purpose)
    ts,
    open_,
    high,
    low,
    close,
    rsi_rows,
    ema,
    row,
    warmup,
    oversold,
    overbought,
    capital,
    fee_rate,
    slippage_bps,
    leverage,
    stop_loss_pct,
    mmr,
    minutes_per_bar,
    out,
):
    """Metrics float64[C, 20] of C HYPERRSI combinations (combination c reads RSI row
    ``row[c]``, signals from bar ``warmup[c]``, levels ``oversold[c]``/``overbought[c]``)."""
    n = close.shape[0]
    slip = slippage_bps * 1e-4
    sl = stop_loss_pct / 100.0
    liq_move = 1.0 / leverage - mmr
    ann = np.sqrt(365.0 * 24.0 * 60.0 / minutes_per_bar)
    for c in prange(row.shape[0]):
        rsi = rsi_rows[row[c]]
        lo_level = oversold[c]
        hi_level = overbought[c]
        start = warmup[c]
        side = 0
        entry_i = 0
        entry = 0.0
        qty = 0.0
        entry_fee = 0.0
        margin = 0.0
        adverse = 0.0
        is_liq = False
        cash = capital
        pending = 0
        # equity sums
        prev = capital
        sum_r = 0.0
        sum_r2 = 0.0
        sum_d2 = 0.0
        peak = capital
        peak_t = ts[0]
        trough = capital
        max_dd = 0.0
        max_ms = ts[0] - ts[0]
        exposed = 0
        # trade sums
        trades = 0
        wins = 0
        gross_win = 0.0
        gross_loss = 0.0
        sum_ret = 0.0
        sum_bars = 0
        fees = 0.0
        best = -np.inf
        worst = np.inf
        for i in range(n):
            o = open_[i]
            h = high[i]
            lw = low[i]
            px = close[i]
            exit_px = 0.0
            exiting = False
            liquidated = False
            # 1. the open against the adverse level
            if side != 0 and ((side > 0 and o <= adverse) or (side < 0 and o >= adverse)):
                exiting = True
                liquidated = is_liq
                exit_px = adverse if is_liq else o * (1.0 - side * slip)
            # 2. the previous bar's signal at this open
            if not exiting and pending != 0 and side == -pending:
                exiting = True
                exit_px = o * (1.0 - side * slip)
            if exiting:
                gross = -margin if liquidated else side * qty * (exit_px - entry)
                exit_fee = 0.0 if liquidated else qty * exit_px * fee_rate
                pnl = gross - entry_fee - exit_fee
                cash += gross - exit_fee
                trades += 1
                fees += entry_fee + exit_fee
                sum_ret += pnl / margin
                sum_bars += i - entry_i
                if pnl > 0.0:
                    wins += 1
                    gross_win += pnl
                    best = max(best, pnl)
                else:
                    gross_loss -= pnl
                    worst = min(worst, pnl)
                side = 0
            if pending != 0 and side == 0 and cash > 0.0:
                side = pending
                entry_i = i
                entry = o * (1.0 + side * slip)
                notional = cash * leverage / (1.0 + leverage * fee_rate)
                qty = notional / entry
                entry_fee = notional * fee_rate
                margin = notional / leverage
                stop = entry * (1.0 - side * sl)
                liq = entry * (1.0 - side * liq_move)
                is_liq = (liq > stop) if side > 0 else (liq < stop)
                adverse = liq if is_liq else stop
                cash -= entry_fee
            # 3. the range against the adverse level
            if side != 0 and ((side > 0 and lw <= adverse) or (side < 0 and h >= adverse)):
                gross = -margin if is_liq else side * qty * (adverse * (1.0 - side * slip) - entry)
                exit_px = adverse * (1.0 - side * slip)
                exit_fee = 0.0 if is_liq else qty * exit_px * fee_rate
                pnl = gross - entry_fee - exit_fee
                cash += gross - exit_fee
                trades += 1
                fees += entry_fee + exit_fee
                sum_ret += pnl / margin
                sum_bars += i - entry_i
                if pnl > 0.0:
                    wins += 1
                    gross_win += pnl
                    best = max(best, pnl)
                else:
                    gross_loss -= pnl
                    worst = min(worst, pnl)
                side = 0
            # this bar's signal, for the next open
            pending = 0
            if i >= start and i + 1 < n:
                r_now = rsi[i]
                r_prev = rsi[i - 1]
                if r_prev <= lo_level < r_now and px < ema[i]:
                    pending = 1
                elif r_prev >= hi_level > r_now and px > ema[i]:
                    pending = -1
            # the equity at this close, and its sums
            e = cash + side * qty * (px - entry) if side != 0 else cash
            exposed += side != 0
            if i == n - 1 and side != 0:
                exit_px = px * (1.0 - side * slip)
                exit_fee = qty * exit_px * fee_rate
                gross = side * qty * (exit_px - entry)
                pnl = gross - entry_fee - exit_fee
                cash += gross - exit_fee
                e = cash
                trades += 1
                fees += entry_fee + exit_fee
                sum_ret += pnl / margin
                sum_bars += i - entry_i
                if pnl > 0.0:
                    wins += 1
                    gross_win += pnl
                    best = max(best, pnl)
                else:
                    gross_loss -= pnl
                    worst = min(worst, pnl)
            if i == 0:
                prev = e
                peak = e
                trough = e
                continue
            r = e / prev - 1.0 if prev > 0.0 else 0.0
            prev = e
            sum_r += r
            sum_r2 += r * r
            down = min(r, 0.0)
            sum_d2 += down * down
            if e >= peak:
                if trough < peak:
                    max_dd = max(max_dd, 1.0 - trough / peak)
                    max_ms = max(max_ms, ts[i] - peak_t)
                peak = e
                peak_t = ts[i]
                trough = e
            else:
                trough = min(trough, e)
        if trough < peak:
            max_dd = max(max_dd, 1.0 - trough / peak)
            max_ms = max(max_ms, ts[n - 1] - peak_t)
        m = n - 1
        total = prev / capital - 1.0
        days = (ts[n - 1] - ts[0]) / 86_400_000
        annual = -1.0 if total <= -1.0 else (1.0 + total) ** (365.0 / days) - 1.0
        mean = sum_r / m
        std = np.sqrt(max(sum_r2 - sum_r * mean, 0.0) / (m - 1))
        down = np.sqrt(sum_d2 / m)
        res = out[c]
        res[:] = np.nan
        res[0] = total
        res[1] = annual
        res[2] = std * ann
        # the contract's numerator: the geometric mean bar return, -1 once ruined
        g = -1.0 if total <= -1.0 or max_dd >= 1.0 else np.expm1(np.log1p(total) / m)
        if std > 0.0:
            res[3] = g / std * ann
        if down > 0.0:
            res[4] = g / down * ann
        res[5] = max_dd
        res[6] = max_ms / 86_400_000
        if max_dd > 0.0:
            res[7] = annual / max_dd
        res[8] = trades
        if trades > 0:
            res[9] = wins / trades
            res[11] = sum_ret / trades
            res[16] = (gross_win - gross_loss) / trades
            res[17] = sum_bars / trades
        if gross_loss > 0.0:
            res[10] = gross_win / gross_loss
        if wins > 0:
            res[12] = gross_win / wins
            res[13] = best
        if trades > wins:
            res[14] = -gross_loss / (trades - wins)
            res[15] = worst
        res[18] = exposed / n
        res[19] = fees

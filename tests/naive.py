"""Slow, obvious twins of the Numba kernels, for the tests to compare against.

Plain Python over lists with the ``math`` module: each function follows its textbook
definition as directly as possible (windows are sliced and summed afresh, formulas
are the classic ones), so that an optimisation in a kernel cannot hide in both.
Undefined values are ``math.nan``; signals are lists of ints (+1 long, −1 short, 0).
"""

from __future__ import annotations

import math

# --- Indicators ---------------------------------------------------------------------


def changes(close):
    """close[j] − close[j−1] for j = 1..n−1 (one shorter than ``close``)."""
    return [close[j] - close[j - 1] for j in range(1, len(close))]


def rsi_from_averages(avg_gain, avg_loss):
    if avg_loss == 0:
        return 100.0 if avg_gain > 0 else 50.0
    rs = avg_gain / avg_loss
    return 100.0 - 100.0 / (1.0 + rs)


def rsi_wilder(close, period):
    n = len(close)
    out = [math.nan] * n
    if n <= period:
        return out
    diffs = changes(close)
    gains = [max(d, 0.0) for d in diffs]
    losses = [max(-d, 0.0) for d in diffs]
    avg_gain = sum(gains[:period]) / period
    avg_loss = sum(losses[:period]) / period
    out[period] = rsi_from_averages(avg_gain, avg_loss)
    for i in range(period + 1, n):
        # diffs[i - 1] is close[i] - close[i - 1].
        avg_gain = (avg_gain * (period - 1) + gains[i - 1]) / period
        avg_loss = (avg_loss * (period - 1) + losses[i - 1]) / period
        out[i] = rsi_from_averages(avg_gain, avg_loss)
    return out


def rsi_sma(close, period):
    n = len(close)
    out = [math.nan] * n
    diffs = changes(close)
    for i in range(period, n):
        window = diffs[i - period : i]
        avg_gain = math.fsum(d for d in window if d > 0) / period
        avg_loss = math.fsum(-d for d in window if d < 0) / period
        out[i] = rsi_from_averages(avg_gain, avg_loss)
    return out


def rsi(close, period, method):
    return {"wilder": rsi_wilder, "sma": rsi_sma}[method](close, period)


def ema(close, period):
    alpha = 2.0 / (period + 1)
    out = []
    for i, value in enumerate(close):
        out.append(value if i == 0 else alpha * value + (1 - alpha) * out[-1])
    return out


def sma(x, period):
    out = [math.nan] * len(x)
    for i in range(period - 1, len(x)):
        window = x[i - period + 1 : i + 1]
        if not any(math.isnan(v) for v in window):
            out[i] = math.fsum(window) / period
    return out


def true_range(high, low, close):
    out = [math.nan]
    for i in range(1, len(close)):
        out.append(max(high[i] - low[i], abs(high[i] - close[i - 1]), abs(low[i] - close[i - 1])))
    return out


def atr(high, low, close, period):
    n = len(close)
    out = [math.nan] * n
    if n <= period:
        return out
    tr = true_range(high, low, close)
    value = sum(tr[1 : period + 1]) / period
    out[period] = value
    for i in range(period + 1, n):
        value = (value * (period - 1) + tr[i]) / period
        out[i] = value
    return out


def bollinger(close, period, k):
    n = len(close)
    mid = [math.nan] * n
    upper = [math.nan] * n
    lower = [math.nan] * n
    for i in range(period - 1, n):
        window = close[i - period + 1 : i + 1]
        mean = math.fsum(window) / period
        sd = math.sqrt(math.fsum((v - mean) ** 2 for v in window) / period)
        mid[i], upper[i], lower[i] = mean, mean + k * sd, mean - k * sd
    return mid, upper, lower


# --- Strategies ---------------------------------------------------------------------


def hyperrsi_signals(
    close,
    *,
    rsi_period=14,
    rsi_oversold=30.0,
    rsi_overbought=70.0,
    rsi_method="wilder",
    entry_option="reverse",
    use_trend_filter=True,
    trend_ema_period=200,
):
    """HYPERRSI as DESIGN.md words it; the trend filter applies in reverse mode only."""
    r = rsi(close, rsi_period, rsi_method)
    trend = ema(close, trend_ema_period)
    first = max(2 * rsi_period, 30)
    out = [0] * len(close)
    for i in range(first, len(close)):
        if entry_option == "reverse":
            prev, now = r[i - 1], r[i]
            if math.isnan(prev) or math.isnan(now):
                continue
            below_trend = close[i] < trend[i] or not use_trend_filter
            above_trend = close[i] > trend[i] or not use_trend_filter
            if prev <= rsi_oversold < now and below_trend:
                out[i] = 1
            elif prev >= rsi_overbought > now and above_trend:
                out[i] = -1
        else:
            now = r[i]
            if math.isnan(now):
                continue
            if now <= rsi_oversold:
                out[i] = 1
            elif now >= rsi_overbought:
                out[i] = -1
    return out


def ema_cross_signals(close, *, fast_period=12, slow_period=26):
    """+1 where the fast EMA goes from at-or-below the slow one to above it, −1 mirrored."""
    fast = ema(close, fast_period)
    slow = ema(close, slow_period)
    out = [0] * len(close)
    for i in range(max(slow_period, 1), len(close)):
        if fast[i - 1] <= slow[i - 1] and fast[i] > slow[i]:
            out[i] = 1
        elif fast[i - 1] >= slow[i - 1] and fast[i] < slow[i]:
            out[i] = -1
    return out

"""Indicator kernels: RSI (Wilder and SMA), EMA, SMA, ATR and Bollinger bands.

Every kernel takes and returns 1-D float64 arrays (contiguous ones avoid a second
Numba specialisation) and plain scalars; nothing here knows about Django, pandas or
strings. Each indicator has two forms:

- ``name(...)`` allocates and returns the output array;
- ``name_into(out, ...)`` writes into a caller's buffer of the same length, so a
  parameter sweep can reuse one buffer per indicator instead of allocating per trial.

Common policies:

- Output has the length of the input; values before the first defined bar are NaN.
- Input that is too short for the period gives an all-NaN output, never an error.
- A period below 1, or arrays of different lengths, raise ``ValueError``.
- Recursive indicators (Wilder RSI, EMA, ATR) carry a NaN input forward to every later
  value, as TA-Lib and pandas ``ewm(adjust=False)`` do. Windowed indicators (SMA RSI,
  SMA, Bollinger) give NaN exactly for the windows that contain a NaN and recover after
  it, as pandas ``rolling(p).mean()`` does. Candles are validated on load, so NaN is
  not expected in practice.

Windowed kernels keep running sums (O(1) per bar). Adding and later subtracting the
same floats can leave a rounding residue in a sum (rarely for price changes, which are
exact differences of nearby floats; typically after an extreme outlier). So each kernel
re-adds its window from scratch at least every 255 + period bars (amortised O(1)), and
counts the non-zero terms so that "no loss in the window" or "a flat window" is decided
exactly rather than from a residue like 4e-16.
"""

from __future__ import annotations

import numpy as np
from numba import njit

# Indicator codes: an RSI method (``rsi``'s ``method``), and column 0 of the (code,
# period) indicator keys of a sweep's table (``indicator_into``, ``strategies.sweep``).
RSI_WILDER = 0
RSI_SMA = 1
EMA = 2


@njit(cache=True)
def _resync_every(period):
    # Re-adding a window costs `period` steps: doing it every `period` bars would double
    # a windowed kernel's time, a multiple of the period near 256 costs a few percent and
    # still keeps a residue from living longer than 255 + period bars.
    return period * (1 + 255 // period)


@njit(cache=True)
def _check(out, n, period):
    if period < 1:
        raise ValueError("period must be >= 1")
    if out.shape[0] != n:
        raise ValueError("out must have the length of the input")


# --- Steps -------------------------------------------------------------------------
# The per-bar arithmetic of the RSI and EMA kernels, as small inlined functions over
# scalars, so that a strategy's fused kernel (``strategies.hyperrsi_fused_nb``) runs the
# very same operations as these kernels and gets bit-identical values. NaN handling
# stays in the kernels (fused kernels run on validated candles).


@njit(inline="always")
def gain_loss(change):
    """``(up, down)``: the change as a gain and as a (positive) loss, 0 for the other.
    Selects rather than if/elif: the sign of a price change is a coin flip that a
    branch predictor cannot learn."""
    up = change if change > 0.0 else 0.0
    down = -change if change < 0.0 else 0.0
    return up, down


@njit(inline="always")
def wilder_step(gain, loss, up, down, keep, inv):  # noqa: PLR0917 (Numba: positional)
    """One step of Wilder's smoothing of both averages: avg·keep + x·inv, which is
    (avg·(p−1) + x)/p up to one rounding without a division on the bar-to-bar
    dependency chain (it roughly halves the kernel's time); keep = (p−1)/p, inv = 1/p."""
    return gain * keep + up * inv, loss * keep + down * inv


@njit(inline="always")
def window_add(gain, loss, n_gain, n_loss, change):
    """A change entering an RSI window: the sums of gains and losses and the counts of
    non-zero ones (selects and bool counts: adding 0.0 leaves a sum bit-identical)."""
    gain += change if change > 0.0 else 0.0
    loss -= change if change < 0.0 else 0.0
    return gain, loss, n_gain + (change > 0.0), n_loss + (change < 0.0)


@njit(inline="always")
def window_drop(gain, loss, n_gain, n_loss, old):
    """The change ``old`` leaving an RSI window (``window_add`` undone)."""
    gain -= old if old > 0.0 else 0.0
    loss += old if old < 0.0 else 0.0
    return gain, loss, n_gain - (old > 0.0), n_loss - (old < 0.0)


@njit(cache=True)
def window_sums(close, i, period):
    """(gains, losses) of the ``period`` changes ending at bar i, summed afresh: the
    periodic re-summing of ``rsi_sma_into``. A plain call, made every few hundred bars."""
    gain = 0.0
    loss = 0.0
    for j in range(i - period + 1, i + 1):
        change = close[j] - close[j - 1]
        gain += change if change > 0.0 else 0.0
        loss -= change if change < 0.0 else 0.0
    return gain, loss


@njit(inline="always")
def ema_step(value, x, alpha, keep):
    """The EMA after ``x``: α·x + (1−α)·value, with keep = 1 − α."""
    return alpha * x + keep * value


# --- RSI --------------------------------------------------------------------------


@njit(cache=True)
def _rsi_value(avg_gain, avg_loss):
    # 100·g/(g+l) equals 100 − 100/(1 + g/l) but does not divide by a zero loss.
    if avg_loss == 0.0:
        return 100.0 if avg_gain > 0.0 else 50.0
    return 100.0 * avg_gain / (avg_gain + avg_loss)


@njit(cache=True)
def rsi_wilder_into(out, close, period):
    """Wilder's RSI of ``close`` over ``period`` changes, written into ``out``.

    Shapes: ``close`` and ``out`` float64[n]. Units: RSI points, 0..100.
    The first average gain (loss) is the mean of the first ``period`` changes
    close[1]−close[0] .. close[period]−close[period−1], so ``out[period]`` is the first
    defined value and ``out[:period]`` is NaN; then avg = (avg·(period−1) + x) / period.
    RSI = 100·g/(g+l); 100 when the average loss is 0, 50 when the gain is 0 too.
    Reference: TA-Lib ``RSI`` (unstable period 0), except that TA-Lib gives 0, not 50,
    for a perfectly flat series. NaN in ``close`` propagates to every later value.
    """
    n = close.shape[0]
    _check(out, n, period)
    limit = min(period + 1, n)
    for i in range(limit):
        out[i] = np.nan
    if n <= period:
        return
    gain = 0.0
    loss = 0.0
    for i in range(1, period + 1):
        change = close[i] - close[i - 1]
        if change > 0.0:
            gain += change
        elif change < 0.0:
            loss -= change
        elif np.isnan(change):
            gain += change
            loss += change
    gain /= period
    loss /= period
    out[period] = _rsi_value(gain, loss)
    inv = 1.0 / period
    keep = (period - 1.0) / period
    for i in range(period + 1, n):
        change = close[i] - close[i - 1]
        up, down = gain_loss(change)
        if np.isnan(change):
            up = change
            down = change
        gain, loss = wilder_step(gain, loss, up, down, keep, inv)
        out[i] = _rsi_value(gain, loss)


@njit(cache=True)
def rsi_wilder(close, period):
    """Wilder's RSI as a new float64[n] array; see ``rsi_wilder_into``."""
    out = np.empty(close.shape[0], dtype=np.float64)
    rsi_wilder_into(out, close, period)
    return out


@njit(cache=True)
def rsi_sma_into(out, close, period):
    """RSI from simple rolling means of gains and losses, written into ``out``.

    Shapes: ``close`` and ``out`` float64[n]. Units: RSI points, 0..100.
    At bar i ≥ ``period`` the averages are the means of the gains and of the losses
    (as positive numbers) among the last ``period`` changes close[j]−close[j−1],
    j = i−period+1 .. i; ``out[:period]`` is NaN. RSI = 100·g/(g+l); 100 when there is
    no loss in the window, 50 when there is no gain either. A window containing a NaN
    change gives NaN. Reference: the "Cutler" RSI, i.e. pandas
    ``gain.rolling(p).mean()`` / ``loss.rolling(p).mean()`` over ``close.diff()``.
    """
    n = close.shape[0]
    _check(out, n, period)
    for i in range(min(period, n)):
        out[i] = np.nan
    every = _resync_every(period)
    countdown = 0
    gain = 0.0
    loss = 0.0
    n_gain = 0
    n_loss = 0
    n_nan = 0
    for i in range(1, n):
        change = close[i] - close[i - 1]
        gain, loss, n_gain, n_loss = window_add(gain, loss, n_gain, n_loss, change)
        n_nan += np.isnan(change)
        if i > period:
            old = close[i - period] - close[i - period - 1]
            gain, loss, n_gain, n_loss = window_drop(gain, loss, n_gain, n_loss, old)
            n_nan -= np.isnan(old)
        if i < period:
            continue
        if countdown == 0:
            countdown = every
            gain, loss = window_sums(close, i, period)
        countdown -= 1
        if n_nan > 0:
            out[i] = np.nan
        else:
            # The counts, not the sums, decide emptiness: a sum can keep a rounding
            # residue after its last term has left the window.
            g = gain / period if n_gain > 0 else 0.0
            l = loss / period if n_loss > 0 else 0.0
            out[i] = _rsi_value(g, l)


@njit(cache=True)
def rsi_sma(close, period):
    """SMA-smoothed RSI as a new float64[n] array; see ``rsi_sma_into``."""
    out = np.empty(close.shape[0], dtype=np.float64)
    rsi_sma_into(out, close, period)
    return out


@njit(cache=True)
def rsi(close, period, method):
    """RSI by ``method``: ``RSI_WILDER`` (0) or ``RSI_SMA`` (1)."""
    if method == RSI_WILDER:
        return rsi_wilder(close, period)
    if method == RSI_SMA:
        return rsi_sma(close, period)
    raise ValueError("method must be RSI_WILDER (0) or RSI_SMA (1)")


# --- Moving averages --------------------------------------------------------------


@njit(cache=True)
def ema_into(out, close, period):
    """Exponential moving average of ``close``, written into ``out``.

    Shapes: float64[n], units of ``close``. ema[0] = close[0] and
    ema[t] = α·close[t] + (1−α)·ema[t−1] with α = 2/(period+1), so every bar is
    defined (there is no warm-up: early values lean on the first close).
    Reference: pandas ``close.ewm(span=period, adjust=False).mean()``.
    NaN in ``close`` propagates to every later value.
    """
    n = close.shape[0]
    _check(out, n, period)
    if n == 0:
        return
    alpha = 2.0 / (period + 1.0)
    keep = 1.0 - alpha
    value = close[0]
    out[0] = value
    for i in range(1, n):
        value = ema_step(value, close[i], alpha, keep)
        out[i] = value


@njit(cache=True)
def ema(close, period):
    """EMA as a new float64[n] array; see ``ema_into``."""
    out = np.empty(close.shape[0], dtype=np.float64)
    ema_into(out, close, period)
    return out


@njit(cache=True)
def indicator_into(out, close, code, period):
    """The indicator ``code`` (``RSI_WILDER``, ``RSI_SMA`` or ``EMA``) of ``period`` over
    ``close`` into ``out``: a sweep's table row, the very values a single run computes."""
    if code == RSI_WILDER:
        rsi_wilder_into(out, close, period)
    elif code == RSI_SMA:
        rsi_sma_into(out, close, period)
    elif code == EMA:
        ema_into(out, close, period)
    else:
        raise ValueError("code must be RSI_WILDER (0), RSI_SMA (1) or EMA (2)")


@njit(cache=True)
def sma_into(out, x, period):
    """Simple moving average of ``x`` over ``period`` bars, written into ``out``.

    Shapes: float64[n], units of ``x``. out[i] = mean(x[i−period+1 .. i]) for
    i ≥ period−1; earlier values are NaN, and so is every window containing a NaN
    (so an SMA of an indicator with a NaN warm-up is itself well defined).
    Reference: pandas ``x.rolling(period).mean()``.
    """
    n = x.shape[0]
    _check(out, n, period)
    every = _resync_every(period)
    countdown = 0
    total = 0.0
    n_nan = 0
    for i in range(n):
        value = x[i]
        total += value if not np.isnan(value) else 0.0
        n_nan += np.isnan(value)
        if i >= period:
            old = x[i - period]
            total -= old if not np.isnan(old) else 0.0
            n_nan -= np.isnan(old)
        if i < period - 1:
            out[i] = np.nan
            continue
        if countdown == 0:
            countdown = every
            total = 0.0
            for j in range(i - period + 1, i + 1):
                total += x[j] if not np.isnan(x[j]) else 0.0
        countdown -= 1
        out[i] = total / period if n_nan == 0 else np.nan


@njit(cache=True)
def sma(x, period):
    """SMA as a new float64[n] array; see ``sma_into``."""
    out = np.empty(x.shape[0], dtype=np.float64)
    sma_into(out, x, period)
    return out


# --- Volatility -------------------------------------------------------------------


@njit(cache=True)
def _true_range(high, low, prev_close):
    spread = high - low
    up = abs(high - prev_close)
    down = abs(low - prev_close)
    spread = up if up > spread else spread
    spread = down if down > spread else spread
    # The selects above would drop a NaN operand; keep it so that bad candles show.
    if np.isnan(high) or np.isnan(low) or np.isnan(prev_close):
        return np.nan
    return spread


@njit(cache=True)
def atr_into(out, high, low, close, period):
    """Wilder's average true range, written into ``out``.

    Shapes: ``high``, ``low``, ``close`` and ``out`` float64[n]; units of price.
    TR[i] = max(high[i]−low[i], |high[i]−close[i−1]|, |low[i]−close[i−1]|) for i ≥ 1
    (bar 0 has no previous close and no TR). out[period] = mean(TR[1..period]), then
    out[i] = (out[i−1]·(period−1) + TR[i]) / period; ``out[:period]`` is NaN.
    Reference: TA-Lib ``ATR`` (unstable period 0). NaN propagates to later values.
    """
    n = close.shape[0]
    _check(out, n, period)
    if high.shape[0] != n or low.shape[0] != n:
        raise ValueError("high, low and close must have the same length")
    limit = min(period + 1, n)
    for i in range(limit):
        out[i] = np.nan
    if n <= period:
        return
    value = 0.0
    for i in range(1, period + 1):
        value += _true_range(high[i], low[i], close[i - 1])
    value /= period
    out[period] = value
    # value·keep + tr·inv is (value·(p−1) + tr)/p up to one rounding (see rsi_wilder_into).
    inv = 1.0 / period
    keep = (period - 1.0) / period
    for i in range(period + 1, n):
        value = value * keep + _true_range(high[i], low[i], close[i - 1]) * inv
        out[i] = value


@njit(cache=True)
def atr(high, low, close, period):
    """ATR as a new float64[n] array; see ``atr_into``."""
    out = np.empty(close.shape[0], dtype=np.float64)
    atr_into(out, high, low, close, period)
    return out


@njit(cache=True)
def bollinger_into(mid, upper, lower, close, period, k):  # noqa: PLR0917 (Numba: no keyword-only args)
    """Bollinger bands of ``close``, written into ``mid``, ``upper`` and ``lower``.

    Shapes: float64[n] each; units of price. mid = SMA(close, period);
    upper/lower = mid ± k·σ with σ the population standard deviation (ddof=0) of the
    same window. Values before bar period−1, and windows containing a NaN, are NaN.
    Reference: TA-Lib ``BBANDS`` with matype SMA and nbdevup = nbdevdn = k
    (TA-Lib also uses the population deviation).

    The sums are kept around a shift (a recent close) so that Σ(x−s)² − (Σ(x−s))²/p
    does not cancel catastrophically at prices around 1e5; a window whose closes are
    all equal gets σ = 0 exactly.
    """
    n = close.shape[0]
    _check(mid, n, period)
    if upper.shape[0] != n or lower.shape[0] != n:
        raise ValueError("mid, upper and lower must have the length of close")
    every = _resync_every(period)
    countdown = 0
    inv = 1.0 / period
    shift = 0.0
    s1 = 0.0
    s2 = 0.0
    n_nan = 0
    # Changes x[j] != x[j−1] between two bars of the window; 0 means a flat window.
    n_moves = 0
    for i in range(n):
        value = close[i]
        d = value - shift if not np.isnan(value) else 0.0
        s1 += d
        s2 += d * d
        n_nan += np.isnan(value)
        if i >= 1:
            n_moves += value != close[i - 1]
        if i >= period:
            old = close[i - period]
            d = old - shift if not np.isnan(old) else 0.0
            s1 -= d
            s2 -= d * d
            n_nan -= np.isnan(old)
        first = i - period + 1
        if first >= 1:
            n_moves -= close[first] != close[first - 1]
        if first < 0:
            mid[i] = np.nan
            upper[i] = np.nan
            lower[i] = np.nan
            continue
        if countdown == 0:
            countdown = every
            shift = value if not np.isnan(value) else 0.0
            s1 = 0.0
            s2 = 0.0
            for j in range(first, i + 1):
                d = close[j] - shift if not np.isnan(close[j]) else 0.0
                s1 += d
                s2 += d * d
        countdown -= 1
        if n_nan > 0:
            mid[i] = np.nan
            upper[i] = np.nan
            lower[i] = np.nan
        elif n_moves == 0:
            mid[i] = value
            upper[i] = value
            lower[i] = value
        else:
            mean_d = s1 * inv
            var = s2 * inv - mean_d * mean_d
            sd = np.sqrt(var) if var > 0.0 else 0.0
            centre = shift + mean_d
            mid[i] = centre
            upper[i] = centre + k * sd
            lower[i] = centre - k * sd


@njit(cache=True)
def bollinger(close, period, k):
    """Bollinger bands as new arrays ``(mid, upper, lower)``; see ``bollinger_into``."""
    n = close.shape[0]
    mid = np.empty(n, dtype=np.float64)
    upper = np.empty(n, dtype=np.float64)
    lower = np.empty(n, dtype=np.float64)
    bollinger_into(mid, upper, lower, close, period, k)
    return mid, upper, lower

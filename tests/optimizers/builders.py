"""Small explicit builders for the sweep tests: candles, spaces, specs."""

from __future__ import annotations

import numpy as np

T0_MS = 1_704_067_200_000  # 2024-01-01T00:00:00Z
HOUR_MS = 3_600_000


def walk_candles(
    n: int, *, seed: int = 7, step_ms: int = HOUR_MS, vol: float = 0.004
) -> dict[str, np.ndarray]:
    """``n`` hourly bars of a seeded geometric random walk with consistent OHLC.

    The seed is explicit, so every run of a test sees the same bars; the volatility is
    large enough for RSI to cross its thresholds and for stops to trigger.
    """
    rng = np.random.default_rng(seed)
    close = 30_000.0 * np.exp(np.cumsum(rng.normal(0.0, vol, n)))
    open_ = np.empty(n)
    open_[0] = close[0]
    open_[1:] = close[:-1] * np.exp(rng.normal(0.0, vol / 4, n - 1))
    wick = np.abs(rng.normal(0.0, vol, n))
    high = np.maximum(open_, close) * (1.0 + wick)
    low = np.minimum(open_, close) * (1.0 - np.abs(rng.normal(0.0, vol, n)))
    return {
        "ts": T0_MS + np.arange(n, dtype=np.int64) * step_ms,
        "open": open_,
        "high": high,
        "low": low,
        "close": close,
        "volume": np.full(n, 10.0),
    }

"""A seeded geometric random walk with wicks: the candles of the tests and of the bench.

Django-free, so the bench scripts use it too (``bench/candles.py``, ``live.py``,
``service.py``, ``sweep.py``); each caller keeps its own seed, step, volatility and
volume. The draws come in one order (closes, wicks, then the volumes), so a walk is the
same series whoever asks for it.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np


def uniform_volume(rng: np.random.Generator, n: int) -> np.ndarray:
    """Volumes uniform between 10 and 100."""
    return rng.uniform(10.0, 100.0, n)


def gamma_volume(rng: np.random.Generator, n: int) -> np.ndarray:
    """Volumes drawn from Gamma(2, 50): mean 100, never negative."""
    return rng.gamma(2.0, 50.0, n)


def random_walk(
    n: int,
    *,
    first_ms: int,
    step_ms: int,
    seed: int,
    sigma: float,
    price: float,
    volume: Callable[[np.random.Generator, int], np.ndarray] = uniform_volume,
) -> dict[str, np.ndarray]:
    """``n`` bars from ``first_ms``, ``step_ms`` apart, as the engine's column mapping (ts
    int64 ms, the rest float64): the log return per bar has standard deviation ``sigma``,
    each wick ``sigma / 2``; open is the previous close (``price`` for the first bar);
    ``volume(rng, n)`` draws the volumes last."""
    rng = np.random.default_rng(seed)
    ts = first_ms + np.arange(n, dtype=np.int64) * step_ms
    close = price * np.exp(np.cumsum(rng.normal(0.0, sigma, n)))
    open_ = np.concatenate([[price], close[:-1]])
    wick = np.abs(rng.normal(0.0, sigma / 2, (2, n)))
    high = np.maximum(open_, close) * (1.0 + wick[0])
    low = np.minimum(open_, close) * (1.0 - wick[1])
    return {"ts": ts, "open": open_, "high": high, "low": low, "close": close, "volume": volume(rng, n)}

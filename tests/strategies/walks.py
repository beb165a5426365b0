"""Hypothesis strategies for random OHLCV walks (explicit, shrinkable, no hidden seeds).

Two kinds, mixed:

- tick walks: integer steps times a tick size, with frequent zero steps, so equal
  closes, flat windows and RSI's "no loss" branches come up often;
- float walks: a geometric random walk from a numpy ``Generator`` seeded by a drawn
  integer, so values are realistic non-representable decimals.
"""

from __future__ import annotations

import numpy as np
from hypothesis import settings
from hypothesis import strategies as st

# derandomize: the same examples on every run and machine, so a failure reproduces.
# deadline=None: the first example pays for Numba's compile (or cache load).
FAST = settings(max_examples=40, derandomize=True, deadline=None, database=None)


def _columns(close: np.ndarray, up: np.ndarray, down: np.ndarray) -> dict[str, np.ndarray]:
    open_ = np.concatenate([close[:1], close[:-1]])
    high = np.maximum(open_, close) + up
    low = np.minimum(open_, close) - down
    volume = np.ones_like(close)
    return {"open": open_, "high": high, "low": low, "close": close, "volume": volume}


@st.composite
def tick_walks(draw, max_size: int = 300) -> dict[str, np.ndarray]:
    tick = draw(st.sampled_from([0.01, 0.5, 1.0]))
    start = draw(st.integers(10_000, 100_000))
    step = st.one_of(st.just(0), st.integers(-20, 20))
    steps = draw(st.lists(step, min_size=0, max_size=max_size))
    wicks = st.lists(st.integers(0, 10), min_size=len(steps) + 1, max_size=len(steps) + 1)
    close = (start + np.cumsum([0, *steps])) * tick
    up = np.array(draw(wicks), dtype=np.float64) * tick
    down = np.array(draw(wicks), dtype=np.float64) * tick
    return _columns(close.astype(np.float64), up, down)


@st.composite
def float_walks(draw, max_size: int = 300) -> dict[str, np.ndarray]:
    seed = draw(st.integers(0, 2**32 - 1))
    n = draw(st.integers(1, max_size))
    volatility = draw(st.sampled_from([1e-4, 3e-3, 3e-2]))
    rng = np.random.default_rng(seed)
    close = 50_000.0 * np.exp(np.cumsum(rng.normal(0.0, volatility, n)))
    up = np.abs(rng.normal(0.0, volatility, n)) * close
    down = np.abs(rng.normal(0.0, volatility, n)) * close
    return _columns(close, up, down)


def ohlc_walks(max_size: int = 300) -> st.SearchStrategy[dict[str, np.ndarray]]:
    return st.one_of(tick_walks(max_size), float_walks(max_size))

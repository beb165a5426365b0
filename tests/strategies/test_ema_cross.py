"""EMA crossover: hand-made kernel cases, and the whole strategy against naive."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from strategies import ema_cross, indicators_nb
from strategies.ema_cross_nb import ema_cross_signals
from strategies.registry import get_strategy
from tests import naive
from tests.strategies.walks import FAST, ohlc_walks


def arr(values) -> np.ndarray:
    return np.array(values, dtype=np.float64)


def test_crossing_above_is_long_and_crossing_below_is_short():
    # bar:        0    1    2    3    4    5    6    7
    fast = arr([1.0, 2.0, 3.0, 5.0, 6.0, 4.0, 3.0, 2.0])
    slow = arr([4.0, 4.0, 4.0, 4.0, 4.0, 4.5, 4.0, 4.0])
    # 3 -> 5 over 4 at bar 3 crosses above; 6 -> 4 under 4.5 at bar 5 crosses below.
    assert ema_cross_signals(fast, slow, 1).tolist() == [0, 0, 0, 1, 0, -1, 0, 0]


def test_touching_then_leaving_counts_as_a_cross_from_the_touch():
    fast = arr([1.0, 4.0, 5.0, 4.0, 3.0])
    slow = arr([4.0, 4.0, 4.0, 4.0, 4.0])
    # Below, equal (no signal: not yet above), above (long: previous was ≤),
    # equal again, below (short: previous was ≥).
    assert ema_cross_signals(fast, slow, 1).tolist() == [0, 0, 1, 0, -1]


def test_no_signal_before_the_warmup_bar():
    fast = arr([1.0, 5.0, 1.0, 5.0, 1.0, 5.0])
    slow = arr([3.0] * 6)
    assert ema_cross_signals(fast, slow, 1).tolist() == [0, 1, -1, 1, -1, 1]
    assert ema_cross_signals(fast, slow, 4).tolist() == [0, 0, 0, 0, -1, 1]
    # A warm-up of 0 still skips bar 0, which has no previous bar to cross from.
    assert ema_cross_signals(fast, slow, 0).tolist()[0] == 0


def test_kernel_rejects_arrays_of_different_lengths():
    with pytest.raises(ValueError, match="same length"):
        ema_cross_signals(arr([1.0, 2.0]), arr([1.0]), 1)


@pytest.mark.parametrize(
    "params", [{}, {"fast_period": 5, "slow_period": 50}, {"fast_period": 50, "slow_period": 200}]
)
def test_ema_cross_signals_match_naive_on_btc_sample(btc, params):
    strategy = get_strategy("ema_cross")
    result = strategy.signals(params, btc["open"], btc["high"], btc["low"], btc["close"], btc["volume"])
    p = strategy.with_defaults(params)
    expected = naive.ema_cross_signals(
        btc["close"].tolist(), fast_period=p["fast_period"], slow_period=p["slow_period"]
    )
    assert result.dtype == np.int8
    assert result.tolist() == expected
    assert (result == 1).any() and (result == -1).any()
    assert not result[: p["slow_period"]].any()


@FAST
@given(walk=ohlc_walks(max_size=300), fast=st.integers(2, 30), slow=st.integers(5, 60))
def test_ema_cross_signals_match_naive_on_random_walks(walk, fast, slow):
    params = {"fast_period": fast, "slow_period": slow}
    result = get_strategy("ema_cross").signals(
        params, walk["open"], walk["high"], walk["low"], walk["close"], walk["volume"]
    )
    assert result.tolist() == naive.ema_cross_signals(
        walk["close"].tolist(), fast_period=fast, slow_period=slow
    )


def test_signals_from_cached_emas_equal_the_one_call_signals(btc):
    close = btc["close"]
    params = {"fast_period": 9, "slow_period": 21}
    fast, slow = ema_cross.indicators(params, close)
    assert np.array_equal(fast, indicators_nb.ema(close, 9))
    assert np.array_equal(slow, indicators_nb.ema(close, 21))
    expected = get_strategy("ema_cross").signals(params, close, close, close, close, close)
    assert np.array_equal(ema_cross.signals_from_indicators(params, fast, slow), expected)


def test_warmup_is_the_slow_period():
    assert ema_cross.warmup({}) == 26
    assert ema_cross.warmup({"slow_period": 100}) == 100


def test_signals_a_block_at_a_time_equal_the_whole_series():
    """``ema_cross_signals_range`` over blocks gives ``ema_cross_signals_into``'s signals."""
    from strategies.ema_cross_nb import ema_cross_signals_range
    from strategies.indicators_nb import ema

    close = 100.0 * np.exp(np.cumsum(np.random.default_rng(5).normal(0.0, 0.01, 500)))
    fast, slow = ema(close, 5), ema(close, 21)
    whole = ema_cross_signals(fast, slow, 21)
    assert np.count_nonzero(whole) > 10
    for block in (1, 13, 500):
        out = np.empty(block, dtype=np.int8)
        pieces = []
        for lo in range(0, 500, block):
            hi = min(lo + block, 500)
            ema_cross_signals_range(out, fast, slow, lo, hi, 21)
            pieces.append(out[: hi - lo].copy())
        np.testing.assert_array_equal(np.concatenate(pieces), whole)

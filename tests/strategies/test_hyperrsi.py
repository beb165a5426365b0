"""HYPERRSI: hand-made signal cases on the kernel, and the whole strategy against naive."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from strategies import hyperrsi, indicators_nb
from strategies.hyperrsi_nb import ENTRY_FOLLOW, ENTRY_REVERSE, hyperrsi_signals, hyperrsi_warmup
from strategies.registry import get_strategy
from tests import naive
from tests.strategies.walks import FAST, ohlc_walks

WARMUP = 30  # max(2·14, 30) for the default rsi_period 14
NEUTRAL = 50.0


def padded(rsi_tail, close_tail=None, ema_tail=None, *, lead=WARMUP):
    """``lead`` neutral bars (RSI 50, close = ema = 100), then the hand-made tail.

    The tail starts at bar ``lead``, the first bar allowed to signal.
    """
    m = len(rsi_tail)
    close_tail = [100.0] * m if close_tail is None else close_tail
    ema_tail = [100.0] * m if ema_tail is None else ema_tail
    rsi = np.array([NEUTRAL] * lead + list(rsi_tail), dtype=np.float64)
    close = np.array([100.0] * lead + list(close_tail), dtype=np.float64)
    ema = np.array([100.0] * lead + list(ema_tail), dtype=np.float64)
    return close, rsi, ema


def tail_signals(rsi_tail, close_tail=None, ema_tail=None, *, mode=ENTRY_REVERSE, trend=False, period=14):
    close, rsi, ema = padded(rsi_tail, close_tail, ema_tail)
    out = hyperrsi_signals(close, rsi, ema, period, 30.0, 70.0, mode, trend)
    assert out.dtype == np.int8
    assert not out[:WARMUP].any()
    return out[WARMUP:].tolist()


# --- Hand-made kernel cases -----------------------------------------------------------


def test_reverse_goes_long_when_rsi_climbs_back_above_oversold():
    # bar:       0     1     2     3     4     5     6     7
    rsi = [45.0, 31.0, 30.0, 25.0, 29.0, 30.5, 33.0, 28.0]
    # 30 -> 25 and 25 -> 29 stay inside; 29 -> 30.5 crosses up (prev ≤ 30 < now).
    assert tail_signals(rsi) == [0, 0, 0, 0, 0, 1, 0, 0]


def test_reverse_counts_a_previous_rsi_exactly_at_oversold_but_not_a_current_one():
    # 31 -> 30: lands on the level, no signal (needs now > 30); 30 -> 30.01: long.
    assert tail_signals([31.0, 30.0, 30.01, 30.0]) == [0, 0, 1, 0]


def test_reverse_goes_short_when_rsi_falls_back_below_overbought():
    # 70 -> 75 and 75 -> 71 stay inside; 71 -> 69.9 crosses down; 70 -> 69 as well.
    rsi = [65.0, 70.0, 75.0, 71.0, 69.9, 70.0, 69.0]
    assert tail_signals(rsi) == [0, 0, 0, 0, -1, 0, -1]


def test_reverse_with_trend_filter_longs_only_below_and_shorts_only_above_the_ema():
    rsi = [25.0, 35.0, 25.0, 35.0, 75.0, 65.0, 75.0, 65.0]
    close = [100.0, 99.0, 100.0, 101.0, 100.0, 101.0, 100.0, 99.0]
    ema = [100.0] * 8
    # Long crosses at bars 1 (close 99 < 100: kept) and 3 (101: blocked).
    # Short crosses at bars 5 (101 > 100: kept) and 7 (99: blocked).
    assert tail_signals(rsi, close, ema, trend=True) == [0, 1, 0, 0, 0, -1, 0, 0]
    assert tail_signals(rsi, close, ema, trend=False) == [0, 1, 0, 1, 0, -1, 0, -1]


def test_reverse_trend_filter_blocks_when_close_equals_the_ema():
    # The contract says strictly below / above.
    assert tail_signals([25.0, 35.0, 75.0, 65.0], [100.0] * 4, [100.0] * 4, trend=True) == [0, 0, 0, 0]


def test_follow_signals_on_every_bar_inside_a_zone_and_ignores_the_trend_filter():
    rsi = [40.0, 30.0, 20.0, 31.0, 69.9, 70.0, 90.0, 50.0]
    # close above the EMA on every bar: a reverse-mode filter would block all longs.
    close = [105.0] * 8
    expected = [0, 1, 1, 0, 0, -1, -1, 0]
    assert tail_signals(rsi, close, mode=ENTRY_FOLLOW, trend=True) == expected
    assert tail_signals(rsi, close, mode=ENTRY_FOLLOW, trend=False) == expected


@pytest.mark.parametrize(("period", "first"), [(2, 30), (14, 30), (15, 30), (16, 32), (20, 40), (50, 100)])
def test_warmup_is_twice_the_rsi_period_but_at_least_30_bars(period, first):
    assert hyperrsi_warmup(period) == first
    assert hyperrsi.warmup({"rsi_period": period}) == first


@pytest.mark.parametrize("mode", [ENTRY_REVERSE, ENTRY_FOLLOW])
def test_no_signal_before_the_warmup_bar_even_on_a_clear_trigger(mode):
    period = 20  # warm-up 40
    # An RSI at 10 from bar 0, climbing to 35 on every odd bar: a reverse long wherever
    # allowed, and a follow long on every even bar.
    rsi = np.where(np.arange(60) % 2 == 0, 10.0, 35.0)
    close = np.full(60, 100.0)
    out = hyperrsi_signals(close, rsi, close, period, 30.0, 70.0, mode, False)
    assert not out[:40].any()
    assert out[40:].any()
    first = 41 if mode == ENTRY_REVERSE else 40
    assert np.flatnonzero(out)[0] == first


def test_no_signal_where_the_current_or_previous_rsi_is_nan():
    rsi = [25.0, np.nan, 35.0, 25.0, 35.0, np.nan, 20.0]
    # bar 2: previous NaN; bar 4: a real cross; bar 5: current NaN.
    assert tail_signals(rsi) == [0, 0, 0, 0, 1, 0, 0]
    assert tail_signals(rsi, mode=ENTRY_FOLLOW) == [1, 0, 0, 1, 0, 0, 1]


def test_kernel_rejects_arrays_of_other_lengths_and_unknown_modes():
    close, rsi, ema = padded([25.0, 35.0])
    with pytest.raises(ValueError, match="rsi and out"):
        hyperrsi_signals(close, rsi[:-1], ema, 14, 30.0, 70.0, ENTRY_REVERSE, False)
    with pytest.raises(ValueError, match="ema must have"):
        hyperrsi_signals(close, rsi, ema[:-1], 14, 30.0, 70.0, ENTRY_REVERSE, True)
    with pytest.raises(ValueError, match="entry_option"):
        hyperrsi_signals(close, rsi, ema, 14, 30.0, 70.0, 2, False)


# --- The registered strategy ---------------------------------------------------------

PARAM_CASES = [
    {},
    {"use_trend_filter": False},
    {"entry_option": "follow"},
    {"entry_option": "follow", "rsi_oversold": 20, "rsi_overbought": 80},
    {"rsi_method": "sma", "rsi_period": 7, "trend_ema_period": 50},
    {"rsi_method": "sma", "rsi_period": 30, "use_trend_filter": False, "rsi_oversold": 40},
    {"rsi_period": 2, "rsi_oversold": 10, "rsi_overbought": 90, "trend_ema_period": 500},
]


def naive_signals(close: np.ndarray, params: dict) -> list[int]:
    p = get_strategy("hyperrsi").with_defaults(params)
    keys = [
        "rsi_period",
        "rsi_oversold",
        "rsi_overbought",
        "rsi_method",
        "entry_option",
        "use_trend_filter",
        "trend_ema_period",
    ]
    return naive.hyperrsi_signals(close.tolist(), **{key: p[key] for key in keys})


@pytest.mark.parametrize("params", PARAM_CASES)
def test_hyperrsi_signals_match_naive_on_btc_sample(btc, params):
    strategy = get_strategy("hyperrsi")
    result = strategy.signals(params, btc["open"], btc["high"], btc["low"], btc["close"], btc["volume"])
    assert result.dtype == np.int8
    assert result.shape == btc["close"].shape
    expected = naive_signals(btc["close"], params)
    assert result.tolist() == expected
    # Both sides occur on three months of 15-minute BTC, so the comparison has teeth.
    assert (result == 1).any() and (result == -1).any()


@FAST
@given(
    walk=ohlc_walks(max_size=400),
    params=st.fixed_dictionaries(
        {
            "rsi_period": st.integers(2, 20),
            "rsi_oversold": st.sampled_from([20.0, 30.0, 45.0, 50.0]),
            "rsi_overbought": st.sampled_from([50.0, 55.0, 70.0, 80.0]),
            "rsi_method": st.sampled_from(["wilder", "sma"]),
            "entry_option": st.sampled_from(["reverse", "follow"]),
            "use_trend_filter": st.booleans(),
            "trend_ema_period": st.integers(50, 120),
        }
    ),
)
def test_hyperrsi_signals_match_naive_on_random_walks(walk, params):
    strategy = get_strategy("hyperrsi")
    result = strategy.signals(params, walk["open"], walk["high"], walk["low"], walk["close"], walk["volume"])
    assert result.tolist() == naive_signals(walk["close"], params)


def test_signals_from_cached_indicators_equal_the_one_call_signals(btc):
    close = btc["close"]
    rsi, ema = hyperrsi.indicators({"rsi_period": 10}, close)
    buffer = np.empty(close.shape[0], dtype=np.int8)
    for oversold in (20, 25, 30):
        params = {"rsi_period": 10, "rsi_oversold": oversold}
        cached = hyperrsi.signals_from_indicators(params, close, rsi, ema, out=buffer)
        assert cached is buffer
        expected = get_strategy("hyperrsi").signals(params, close, close, close, close, close)
        assert np.array_equal(cached, expected)


def test_indicators_use_the_requested_rsi_method_and_skip_the_ema_without_filter(btc):
    close = btc["close"]
    rsi, ema = hyperrsi.indicators({"rsi_method": "sma", "rsi_period": 9, "trend_ema_period": 77}, close)
    assert np.array_equal(rsi, indicators_nb.rsi_sma(close, 9), equal_nan=True)
    assert np.array_equal(ema, indicators_nb.ema(close, 77))
    _, unused = hyperrsi.indicators({"use_trend_filter": False}, close)
    assert unused is close


def test_unknown_rsi_method_or_entry_option_is_a_value_error_naming_the_param(btc):
    close = btc["close"][:100]
    strategy = get_strategy("hyperrsi")
    with pytest.raises(ValueError, match=r"params\.rsi_method must be one of \['sma', 'wilder'\]"):
        strategy.signals({"rsi_method": "ema"}, close, close, close, close, close)
    with pytest.raises(ValueError, match=r"params\.entry_option"):
        strategy.signals({"entry_option": "fade"}, close, close, close, close, close)


def test_signals_accept_lists_and_reject_two_dimensional_input():
    strategy = get_strategy("hyperrsi")
    close = [100.0 + (i % 7) for i in range(60)]
    assert strategy.signals({}, close, close, close, close, close).shape == (60,)
    with pytest.raises(ValueError, match=r"close must be 1-D, got shape \(2, 30\)"):
        strategy.signals({}, None, None, None, np.ones((2, 30)), None)


@pytest.mark.parametrize("mode", [ENTRY_REVERSE, ENTRY_FOLLOW])
@pytest.mark.parametrize("trend", [True, False])
def test_signals_a_block_at_a_time_equal_the_whole_series(mode, trend):
    """``hyperrsi_signals_range`` over blocks (as a sweep calls it) gives the signals of
    ``hyperrsi_signals_into`` over the whole series, bar for bar."""
    from strategies.hyperrsi_nb import hyperrsi_signals_range

    close = 100.0 * np.exp(np.cumsum(np.random.default_rng(3).normal(0.0, 0.01, 700)))
    rsi = indicators_nb.rsi(close, 9, indicators_nb.RSI_WILDER)
    ema = indicators_nb.ema(close, 40)
    whole = hyperrsi_signals(close, rsi, ema, 9, 35.0, 65.0, mode, trend)
    assert np.count_nonzero(whole) > 10
    for block in (1, 7, 64, 1000):
        out = np.full(block, 9, dtype=np.int8)
        pieces = []
        for lo in range(0, 700, block):
            hi = min(lo + block, 700)
            hyperrsi_signals_range(
                out, close, rsi, ema, lo, hi, hyperrsi_warmup(9), 35.0, 65.0, mode == ENTRY_FOLLOW, trend
            )
            pieces.append(out[: hi - lo].copy())
        np.testing.assert_array_equal(np.concatenate(pieces), whole)

"""Indicator kernels against tests/naive.py, pandas, and hand-computed TA-Lib-convention values."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from strategies import indicators_nb as nb
from tests import naive
from tests.strategies.walks import FAST, ohlc_walks

# Relative tolerance of every kernel-vs-reference comparison. RSI also gets an absolute
# 1e-9 points: near RSI 0 the textbook 100 − 100/(1+RS) of the naive twin cancels.
RTOL = 1e-9
RSI_ATOL = 1e-9


def assert_close(actual: np.ndarray, expected, *, atol: float = 0.0) -> None:
    """Same NaN positions, and every defined value within RTOL (plus ``atol``)."""
    expected = np.asarray(expected, dtype=np.float64)
    assert actual.dtype == np.float64
    assert actual.shape == expected.shape
    np.testing.assert_allclose(actual, expected, rtol=RTOL, atol=atol, equal_nan=True)


def arr(values) -> np.ndarray:
    return np.array(values, dtype=np.float64)


# --- Real BTC sample ------------------------------------------------------------------


@pytest.mark.parametrize("period", [2, 14, 50])
def test_rsi_wilder_matches_naive_on_btc_sample(btc, period):
    close = btc["close"]
    assert_close(nb.rsi_wilder(close, period), naive.rsi_wilder(close.tolist(), period), atol=RSI_ATOL)


@pytest.mark.parametrize("period", [2, 14, 50])
def test_rsi_sma_matches_naive_on_btc_sample(btc, period):
    close = btc["close"]
    assert_close(nb.rsi_sma(close, period), naive.rsi_sma(close.tolist(), period), atol=RSI_ATOL)


@pytest.mark.parametrize("period", [1, 12, 200])
def test_ema_matches_naive_and_pandas_ewm_on_btc_sample(btc, period):
    close = btc["close"]
    result = nb.ema(close, period)
    assert_close(result, naive.ema(close.tolist(), period))
    assert_close(result, pd.Series(close).ewm(span=period, adjust=False).mean().to_numpy())


@pytest.mark.parametrize("period", [1, 20, 200])
def test_sma_matches_naive_and_pandas_rolling_on_btc_sample(btc, period):
    close = btc["close"]
    result = nb.sma(close, period)
    assert_close(result, naive.sma(close.tolist(), period))
    assert_close(result, pd.Series(close).rolling(period).mean().to_numpy())


@pytest.mark.parametrize("period", [1, 14, 50])
def test_atr_matches_naive_on_btc_sample(btc, period):
    high, low, close = btc["high"], btc["low"], btc["close"]
    expected = naive.atr(high.tolist(), low.tolist(), close.tolist(), period)
    assert_close(nb.atr(high, low, close, period), expected)


@pytest.mark.parametrize(("period", "k"), [(2, 1.0), (20, 2.0), (100, 2.5)])
def test_bollinger_matches_naive_and_pandas_population_std_on_btc_sample(btc, period, k):
    close = btc["close"]
    mid, upper, lower = nb.bollinger(close, period, k)
    exp_mid, exp_upper, exp_lower = naive.bollinger(close.tolist(), period, k)
    assert_close(mid, exp_mid)
    assert_close(upper, exp_upper)
    assert_close(lower, exp_lower)
    rolling = pd.Series(close).rolling(period)
    assert_close(upper, (rolling.mean() + k * rolling.std(ddof=0)).to_numpy())


# --- Random walks -------------------------------------------------------------------

periods = st.integers(1, 40)


@FAST
@given(walk=ohlc_walks(), period=periods)
def test_rsi_both_methods_match_naive_on_random_walks(walk, period):
    close = walk["close"]
    assert_close(nb.rsi_wilder(close, period), naive.rsi_wilder(close.tolist(), period), atol=RSI_ATOL)
    assert_close(nb.rsi_sma(close, period), naive.rsi_sma(close.tolist(), period), atol=RSI_ATOL)


@FAST
@given(walk=ohlc_walks(), period=periods)
def test_ema_and_sma_match_naive_on_random_walks(walk, period):
    close = walk["close"]
    assert_close(nb.ema(close, period), naive.ema(close.tolist(), period))
    assert_close(nb.sma(close, period), naive.sma(close.tolist(), period))


@FAST
@given(walk=ohlc_walks(), period=periods)
def test_atr_matches_naive_on_random_walks(walk, period):
    high, low, close = walk["high"], walk["low"], walk["close"]
    assert_close(
        nb.atr(high, low, close, period), naive.atr(high.tolist(), low.tolist(), close.tolist(), period)
    )


@FAST
@given(walk=ohlc_walks(), period=periods, k=st.sampled_from([0.5, 2.0, 3.0]))
def test_bollinger_matches_naive_on_random_walks(walk, period, k):
    close = walk["close"]
    for actual, expected in zip(
        nb.bollinger(close, period, k), naive.bollinger(close.tolist(), period, k), strict=True
    ):
        assert_close(actual, expected)


@FAST
@given(
    walk=ohlc_walks(max_size=120), period=st.integers(1, 10), gaps=st.lists(st.integers(0, 119), max_size=4)
)
def test_sma_is_nan_exactly_on_windows_with_a_nan_like_pandas_rolling(walk, period, gaps):
    x = walk["close"].copy()
    x[[g for g in gaps if g < x.shape[0]]] = np.nan
    result = nb.sma(x, period)
    assert_close(result, naive.sma(x.tolist(), period))
    assert_close(result, pd.Series(x).rolling(period).mean().to_numpy())


# --- Hand-computed values (TA-Lib conventions) ---------------------------------------


def test_rsi_wilder_matches_hand_computed_five_bar_case():
    # close 10, 12, 11, 14, 13 -> changes +2, -1, +3, -1; period 3.
    # rsi[3]: avg gain (2+0+3)/3 = 5/3, avg loss (0+1+0)/3 = 1/3, RS 5 -> 100 - 100/6 = 250/3.
    # rsi[4]: gain (5/3·2 + 0)/3 = 10/9, loss (1/3·2 + 1)/3 = 5/9, RS 2 -> 100 - 100/3 = 200/3.
    result = nb.rsi_wilder(arr([10, 12, 11, 14, 13]), 3)
    assert np.isnan(result[:3]).all()
    assert result[3] == pytest.approx(250 / 3, rel=1e-12)
    assert result[4] == pytest.approx(200 / 3, rel=1e-12)


def test_rsi_sma_matches_hand_computed_five_bar_case():
    # Same closes. rsi[3]: window +2, -1, +3 -> gain 5/3, loss 1/3 -> 250/3.
    # rsi[4]: window -1, +3, -1 -> gain 3/3 = 1, loss 2/3 -> 100·1/(1 + 2/3) = 60.
    result = nb.rsi_sma(arr([10, 12, 11, 14, 13]), 3)
    assert np.isnan(result[:3]).all()
    assert result[3] == pytest.approx(250 / 3, rel=1e-12)
    assert result[4] == pytest.approx(60.0, rel=1e-12)


def test_atr_matches_hand_computed_ta_lib_case():
    # TR[1] = max(12-10, |12-10|, |10-10|) = 2; TR[2] = max(1, .5, .5) = 1;
    # TR[3] = max(2, |14-11|, |12-11|) = 3 (gap up); TR[4] = max(3, |12-13|, |9-13|) = 4.
    # Period 2: atr[2] = (2+1)/2 = 1.5; atr[3] = (1.5 + 3)/2 = 2.25; atr[4] = (2.25 + 4)/2 = 3.125.
    high = arr([11, 12, 11.5, 14, 12])
    low = arr([9, 10, 10.5, 12, 9])
    close = arr([10, 11, 11, 13, 10])
    result = nb.atr(high, low, close, 2)
    assert np.isnan(result[:2]).all()
    np.testing.assert_allclose(result[2:], [1.5, 2.25, 3.125], rtol=1e-12)


def test_ema_matches_hand_computed_case():
    # period 3 -> alpha 0.5: 1, (2+1)/2 = 1.5, (3+1.5)/2 = 2.25, (0+2.25)/2 = 1.125.
    np.testing.assert_allclose(nb.ema(arr([1, 2, 3, 0]), 3), [1.0, 1.5, 2.25, 1.125], rtol=1e-15)


def test_bollinger_uses_population_std_and_is_exactly_flat_on_flat_windows():
    # [1, 2, 3]: mean 2, population variance (1+0+1)/3 = 2/3.
    mid, upper, lower = nb.bollinger(arr([1, 2, 3, 4, 4, 4, 4]), 3, 2.0)
    assert np.isnan(mid[:2]).all() and np.isnan(upper[:2]).all() and np.isnan(lower[:2]).all()
    assert mid[2] == pytest.approx(2.0, rel=1e-12)
    assert upper[2] == pytest.approx(2.0 + 2.0 * math.sqrt(2 / 3), rel=1e-12)
    assert lower[2] == pytest.approx(2.0 - 2.0 * math.sqrt(2 / 3), rel=1e-12)
    # The last two windows are 4, 4, 4: no rounding residue may widen the bands.
    assert mid[5:].tolist() == upper[5:].tolist() == lower[5:].tolist() == [4.0, 4.0]


# --- RSI edge cases ------------------------------------------------------------------


@pytest.mark.parametrize("rsi", [nb.rsi_wilder, nb.rsi_sma])
def test_rsi_is_100_when_every_change_is_a_gain(rsi):
    result = rsi(arr(range(1, 41)), 14)
    assert (result[14:] == 100.0).all()


@pytest.mark.parametrize("rsi", [nb.rsi_wilder, nb.rsi_sma])
def test_rsi_is_0_when_every_change_is_a_loss(rsi):
    result = rsi(arr(range(40, 0, -1)), 14)
    assert (result[14:] == 0.0).all()


@pytest.mark.parametrize("rsi", [nb.rsi_wilder, nb.rsi_sma])
def test_rsi_is_50_on_a_flat_series(rsi):
    result = rsi(np.full(40, 123.45), 14)
    assert np.isnan(result[:14]).all()
    assert (result[14:] == 50.0).all()


# Price changes are differences of nearby floats, so running sums of them are usually
# exact; these closes (found by search) are ones where adding and later subtracting the
# same changes leaves a residue of ~4e-16 in the rolling sums.
RESIDUE_CLOSES = [2.9] * 5 + [0.4, 2.8, 0.9, 1.3]


def test_rsi_sma_is_exactly_100_once_the_last_loss_leaves_the_window():
    # The loss sum keeps a 4.4e-16 residue after bar 9; RSI must still be exactly 100.
    result = nb.rsi_sma(arr([*RESIDUE_CLOSES, 1.4, 1.5, 1.6, 1.7]), 3)
    assert result[10:].tolist() == [100.0, 100.0, 100.0]


def test_rsi_sma_is_exactly_0_once_the_last_gain_leaves_the_window():
    # The mirror image (negated closes negate every change exactly): the gain sum now
    # holds the residue, and RSI must be exactly 0.
    result = nb.rsi_sma(-arr([*RESIDUE_CLOSES, 1.4, 1.5, 1.6, 1.7]), 3)
    assert result[10:].tolist() == [0.0, 0.0, 0.0]


def test_rsi_sma_is_exactly_50_once_a_flat_stretch_fills_the_window():
    # Both sums keep residues (−1.1e-16 and 4.4e-16): RSI from them would be about −33.
    result = nb.rsi_sma(arr(RESIDUE_CLOSES + [1.3] * 4), 3)
    assert result[11:].tolist() == [50.0, 50.0]


def test_bollinger_bands_collapse_exactly_on_a_flat_window_after_moves():
    # Without the flat-window rule the shifted sums leave σ ≈ 1.1e-8 on the last bars.
    closes = [1.1, 0.3, 2.0, 2.8, 0.6, 1.9, 0.9] + [2.2] * 6
    mid, upper, lower = nb.bollinger(arr(closes), 3, 2.0)
    assert mid[9:].tolist() == upper[9:].tolist() == lower[9:].tolist() == [2.2] * 4


@pytest.mark.parametrize("kernel", ["sma", "rsi_sma", "bollinger"])
def test_windowed_kernels_regain_full_accuracy_after_an_extreme_outlier_leaves_the_window(kernel):
    # Running sums keep a residue of about eps·1e12 = 1e-4 once the spike has left; the
    # kernels re-add their window at least every 255 + period bars, after which the
    # values match again to 1e-9.
    period = 10
    rng = np.random.default_rng(5)
    x = np.concatenate([[1e12], rng.uniform(1.0, 2.0, 700)])
    settled = 1 + period + 255 + period
    if kernel == "sma":
        actual, expected = nb.sma(x, period), naive.sma(x.tolist(), period)
    elif kernel == "rsi_sma":
        actual, expected = nb.rsi_sma(x, period), naive.rsi_sma(x.tolist(), period)
    else:
        actual, expected = nb.bollinger(x, period, 2.0)[1], naive.bollinger(x.tolist(), period, 2.0)[1]
    assert_close(actual[settled:], expected[settled:], atol=RSI_ATOL if kernel == "rsi_sma" else 0.0)


# --- Shapes, policies and errors -------------------------------------------------------


@pytest.mark.parametrize("kernel", [nb.rsi_wilder, nb.rsi_sma, nb.ema, nb.sma])
def test_close_kernels_return_all_nan_or_empty_when_data_is_shorter_than_the_period(kernel):
    assert kernel(np.empty(0), 5).shape == (0,)
    result = kernel(arr([1, 2, 3]), 5)
    assert result.shape == (3,)
    if kernel is nb.ema:
        # The EMA is defined from bar 0 by its contract.
        assert result[0] == 1.0
    else:
        assert np.isnan(result).all()


def test_atr_and_bollinger_are_all_nan_when_data_is_shorter_than_the_period():
    x = arr([1, 2, 3])
    assert np.isnan(nb.atr(x + 1, x - 1, x, 3)).all()
    assert all(np.isnan(band).all() for band in nb.bollinger(x, 4, 2.0))


@pytest.mark.parametrize("kernel", [nb.rsi_wilder, nb.rsi_sma, nb.ema, nb.sma])
def test_close_kernels_reject_a_period_below_one(kernel):
    with pytest.raises(ValueError, match="period must be >= 1"):
        kernel(arr([1, 2, 3]), 0)


def test_atr_rejects_columns_of_different_lengths():
    with pytest.raises(ValueError, match="same length"):
        nb.atr(arr([1, 2, 3]), arr([1, 2]), arr([1, 2, 3]), 2)


def test_rsi_dispatch_selects_the_method_and_rejects_unknown_ones(btc):
    close = btc["close"][:500]
    assert np.array_equal(nb.rsi(close, 14, nb.RSI_WILDER), nb.rsi_wilder(close, 14), equal_nan=True)
    assert np.array_equal(nb.rsi(close, 14, nb.RSI_SMA), nb.rsi_sma(close, 14), equal_nan=True)
    with pytest.raises(ValueError, match="method must be"):
        nb.rsi(close, 14, 7)


def test_into_variants_fill_a_reused_buffer_with_the_allocating_result(btc):
    close, high, low = btc["close"], btc["high"], btc["low"]
    out = np.full(close.shape[0], -1.0)
    for into, plain, args in [
        (nb.rsi_wilder_into, nb.rsi_wilder, (close, 14)),
        (nb.rsi_sma_into, nb.rsi_sma, (close, 14)),
        (nb.ema_into, nb.ema, (close, 50)),
        (nb.sma_into, nb.sma, (close, 50)),
        (nb.atr_into, nb.atr, (high, low, close, 14)),
    ]:
        into(out, *args)
        assert np.array_equal(out, plain(*args), equal_nan=True), into.__name__
    bands = [np.full(close.shape[0], -1.0) for _ in range(3)]
    nb.bollinger_into(*bands, close, 20, 2.0)
    for band, expected in zip(bands, nb.bollinger(close, 20, 2.0), strict=True):
        assert np.array_equal(band, expected, equal_nan=True)
    with pytest.raises(ValueError, match="out must have the length"):
        nb.ema_into(np.empty(3), close, 5)


def test_recursive_kernels_carry_a_nan_forward_and_windowed_ones_recover():
    x = arr([1, 2, 3, 4, np.nan, 5, 6, 7, 8, 9, 10, 11])
    assert np.isnan(nb.ema(x, 3)[4:]).all()
    assert np.isnan(nb.rsi_wilder(x, 3)[4:]).all()
    sma = nb.sma(x, 3)
    assert np.isnan(sma[4:7]).all() and sma[7] == pytest.approx(6.0)
    rsi = nb.rsi_sma(x, 3)
    # Changes 4 and 5 are NaN; the window of bar 8 (changes 6..8) is clean again.
    assert np.isnan(rsi[4:8]).all() and rsi[8] == 100.0


def test_indicator_into_computes_the_indicator_of_each_code():
    close = 100.0 + np.cumsum(np.sin(np.arange(300) / 5.0))
    out = np.empty_like(close)
    for code, expected in (
        (nb.RSI_WILDER, nb.rsi_wilder(close, 14)),
        (nb.RSI_SMA, nb.rsi_sma(close, 14)),
        (nb.EMA, nb.ema(close, 14)),
    ):
        nb.indicator_into(out, close, code, 14)
        np.testing.assert_array_equal(out, expected)
    with pytest.raises(ValueError, match="code must be"):
        nb.indicator_into(out, close, 3, 14)

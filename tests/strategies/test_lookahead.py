"""The lookahead guard passes honest strategies and catches one that reads the next bar."""

from __future__ import annotations

import numpy as np
import pytest

from strategies.lookahead import LookaheadReport, check_lookahead
from strategies.registry import StrategyDef, get_strategy


def columns(btc, n=None):
    return [btc[name][:n] for name in ("open", "high", "low", "close", "volume")]


def peeking_signals(params, open, high, low, close, volume):  # noqa: PLR0917
    """Long when the NEXT close is higher, short when lower: a textbook lookahead bug."""
    out = np.zeros(close.shape[0], dtype=np.int8)
    out[:-1] = np.sign(close[1:] - close[:-1]).astype(np.int8)
    return out


def centred_mean_signals(params, open, high, low, close, volume):  # noqa: PLR0917
    """Above or below a centred 5-bar mean, which reads two bars ahead."""
    out = np.zeros(close.shape[0], dtype=np.int8)
    centred = np.convolve(close, np.ones(5) / 5, mode="same")
    out[2:-2] = np.where(close[2:-2] > centred[2:-2], 1, -1)
    return out


def cheat(signals) -> StrategyDef:
    return StrategyDef(
        name="cheat",
        title="Cheat",
        description="Reads later bars.",
        params_schema={"type": "object", "properties": {}},
        warmup=lambda params: 0,
        signals=signals,
    )


@pytest.mark.parametrize(
    ("name", "params"),
    [
        ("hyperrsi", {}),
        ("hyperrsi", {"entry_option": "follow", "rsi_method": "sma"}),
        ("hyperrsi", {"use_trend_filter": False, "rsi_period": 5}),
        ("ema_cross", {}),
        ("ema_cross", {"fast_period": 3, "slow_period": 8}),
    ],
)
def test_lookahead_guard_passes_the_builtin_strategies_on_btc_sample(btc, name, params):
    report = check_lookahead(get_strategy(name), params, *columns(btc), cuts=20, seed=1)
    assert report.ok, report.summary()
    assert report.mismatches == []
    assert len(report.cuts) == 20
    assert report.strategy == name


def test_lookahead_guard_fails_a_strategy_that_reads_the_next_close(btc):
    report = check_lookahead(cheat(peeking_signals), {}, *columns(btc, 2000), cuts=10, seed=0)
    assert not report.ok
    # Each prefix loses exactly the last bar's peek, unless that next close equals it.
    close = btc["close"][:2000]
    expected = [(cut, cut - 1) for cut in report.cuts if close[cut] != close[cut - 1]]
    assert report.mismatches == expected
    assert len(expected) >= 8
    assert "LOOKAHEAD" in report.summary()


def test_lookahead_guard_fails_a_centred_moving_average(btc):
    report = check_lookahead(cheat(centred_mean_signals), {}, *columns(btc, 3000), cuts=20, seed=0)
    assert not report.ok
    # A prefix cannot centre a window on its last two bars; the full data can.
    assert report.mismatches == [(cut, bar) for cut in report.cuts for bar in (cut - 2, cut - 1)]


def test_cut_points_are_reproducible_per_seed_sorted_and_inside_the_data(btc):
    data = columns(btc, 500)
    first = check_lookahead("ema_cross", {}, *data, cuts=15, seed=7)
    again = check_lookahead("ema_cross", {}, *data, cuts=15, seed=7)
    other = check_lookahead("ema_cross", {}, *data, cuts=15, seed=8)
    assert first.cuts == again.cuts
    assert first.cuts != other.cuts
    assert first.cuts == sorted(set(first.cuts))
    assert all(1 <= cut < 500 for cut in first.cuts)


def test_short_data_tries_every_prefix(btc):
    report = check_lookahead(cheat(peeking_signals), {}, *columns(btc, 6), cuts=20)
    assert report.cuts == [1, 2, 3, 4, 5]
    assert isinstance(report, LookaheadReport)


def test_signals_of_the_wrong_length_are_reported_as_an_error(btc):
    def short(params, open, high, low, close, volume):  # noqa: PLR0917
        return np.zeros(close.shape[0] - 1, dtype=np.int8)

    with pytest.raises(ValueError, match=r"'cheat' returned signals of shape \(99,\) for 100 bars"):
        check_lookahead(cheat(short), {}, *columns(btc, 100))


def test_columns_of_different_lengths_are_rejected(btc):
    data = columns(btc, 100)
    data[4] = data[4][:50]
    with pytest.raises(ValueError, match="volume has 50 bars, open has 100"):
        check_lookahead("hyperrsi", {}, *data)

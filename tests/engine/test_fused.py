"""The fused HYPERRSI kernel against the unfused path it replaces in ``run_backtest``.

Unfused: ``strategy.signals`` (RSI and EMA kernels, then the signal kernel) -> ``simulate``
(``simulate_nb`` and ``metrics_nb``). Fused: ``run_backtest``, which runs
``strategies.hyperrsi_fused_nb`` through the strategy's ``fused`` hook. The fused
kernel repeats the indicator arithmetic operation for operation and calls the very step
functions of the simulation and the metrics, so the two must agree exactly: equity, every
byte of every trade record and every metric, compared with ``==`` (stricter than the
1e-9 the engine is held to against the naive reference).
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine import run_backtest, simulate
from engine.runner import _FUSED_TRADES_PER_BAR
from strategies import indicators_nb
from strategies.hyperrsi_fused_nb import _bands, _zones_exact
from strategies.registry import get_strategy
from tests.engine.helpers import MINUTE_MS, load_sample, random_walk_bars
from tests.strategies.walks import ohlc_walks


@pytest.fixture(scope="module")
def sample() -> dict[str, np.ndarray]:
    return load_sample()


def both_paths(bars, params, execution, minutes=None):
    """(fused, unfused) results of HYPERRSI with ``params`` over ``bars``."""
    strategy = get_strategy("hyperrsi")
    full = strategy.with_defaults(params)
    fused = run_backtest(bars, get_strategy("hyperrsi"), params, execution, timeframe_minutes=minutes)
    sig = strategy.signals(full, bars["open"], bars["high"], bars["low"], bars["close"], bars["volume"])
    unfused = simulate(
        bars["ts"],
        bars["open"],
        bars["high"],
        bars["low"],
        bars["close"],
        sig,
        execution,
        leverage=full["leverage"],
        stop_loss_percent=full["stop_loss_percent"],
        take_profit_percent=full.get("take_profit_percent"),
        timeframe_minutes=minutes,
    )
    return fused, unfused


def assert_same(fused, unfused):
    assert fused.equity.dtype == unfused.equity.dtype == np.float64
    assert np.array_equal(fused.equity, unfused.equity), np.flatnonzero(fused.equity != unfused.equity)[:5]
    assert fused.trades.dtype == unfused.trades.dtype
    assert len(fused.trades) == len(unfused.trades)
    assert fused.trades.tobytes() == unfused.trades.tobytes()
    assert fused.metrics == unfused.metrics
    assert list(fused.metrics) == list(unfused.metrics)


# --- the BTC sample: every mode of the strategy and the engine ------------------------

MODES = [
    (method, entry, trend, fill)
    for method in ("wilder", "sma")
    for entry in ("reverse", "follow")
    for trend in (True, False)
    for fill in ("close", "next_open")
]


@pytest.mark.parametrize(("method", "entry", "trend", "fill"), MODES)
@pytest.mark.parametrize("on_opposite", ["reverse", "close", "ignore"])
@pytest.mark.parametrize(("take_profit", "leverage"), [(None, 1), (3.0, 1), (None, 20), (3.0, 20)])
def test_fused_equals_unfused_on_the_btc_sample(  # noqa: PLR0917 (one argument per pytest parameter)
    sample, method, entry, trend, fill, on_opposite, take_profit, leverage
):
    params = {
        "rsi_method": method,
        "entry_option": entry,
        "use_trend_filter": trend,
        "trend_ema_period": 50,
        "leverage": leverage,
        "stop_loss_percent": 1.5,
        "take_profit_percent": take_profit,
    }
    execution = {"fill": fill, "on_opposite": on_opposite, "slippage_bps": 2.0, "fee_rate": 0.0004}
    fused, unfused = both_paths(sample, params, execution, minutes=15.0)
    assert_same(fused, unfused)
    assert len(fused.trades) > 0  # the case exercised something (all reasons: below)


def test_the_sample_cases_reach_every_exit_reason(sample):
    # guards the value of the comparisons above
    reasons = set()
    for leverage, stop, take_profit in ((1, 2.0, 3.0), (20, None, None)):
        for entry in ("reverse", "follow"):
            params = {
                "entry_option": entry,
                "leverage": leverage,
                "stop_loss_percent": stop,
                "take_profit_percent": take_profit,
            }
            fused, _ = both_paths(sample, params, {"fill": "next_open"})
            reasons.update(t["exit_reason"] for t in fused.trades_as_dicts())
    assert reasons == {"signal", "stop", "take_profit", "liquidation", "end"}


def test_default_params_and_inferred_bar_length(sample):
    fused, unfused = both_paths(sample, {}, None)
    assert_same(fused, unfused)


# --- random walks ---------------------------------------------------------------------


def with_ts(cols: dict[str, np.ndarray], step_ms: int = MINUTE_MS) -> dict[str, np.ndarray]:
    n = cols["close"].shape[0]
    return {"ts": 1_600_000_000_000 + np.arange(n, dtype=np.int64) * step_ms, **cols}


@settings(max_examples=150, derandomize=True, deadline=None, database=None)
@given(
    walk=ohlc_walks(max_size=400),
    cfg=st.fixed_dictionaries(
        {
            "rsi_method": st.sampled_from(["wilder", "sma"]),
            "rsi_period": st.integers(2, 20),
            "levels": st.sampled_from([(30.0, 70.0), (25.0, 75.0), (40.0, 60.0), (50.0, 50.0), (0.0, 100.0)]),
            "entry_option": st.sampled_from(["reverse", "follow"]),
            "use_trend_filter": st.booleans(),
            "trend_ema_period": st.integers(1, 60),
            "leverage": st.sampled_from([1.0, 3.0, 20.0]),
            "stop_loss_percent": st.sampled_from([None, 0.5, 2.0]),
            "take_profit_percent": st.sampled_from([None, 1.0, 4.0]),
            "fill": st.sampled_from(["close", "next_open"]),
            "on_opposite": st.sampled_from(["reverse", "close", "ignore"]),
            "slippage_bps": st.sampled_from([0.0, 5.0]),
            "fee_rate": st.sampled_from([0.0, 0.0004]),
            "position_size": st.sampled_from([1.0, 0.3]),
        }
    ),
)
def test_fused_equals_unfused_on_random_walks(walk, cfg):
    if walk["close"].shape[0] < 2:
        return  # run_backtest needs two bars (tested in test_runner_validation)
    oversold, overbought = cfg.pop("levels")
    execution = {
        key: cfg.pop(key) for key in ("fill", "on_opposite", "slippage_bps", "fee_rate", "position_size")
    }
    params = {**cfg, "rsi_oversold": oversold, "rsi_overbought": overbought}
    fused, unfused = both_paths(with_ts(walk), params, execution)
    assert_same(fused, unfused)


def test_seeded_walks_long_enough_for_several_blocks():
    # the fused kernel works in blocks of 2048 bars after the warm-up: cross a few
    for seed, n in ((1, 5000), (2, 2048 + 30), (3, 2048 + 31), (4, 4127)):
        bars = random_walk_bars(seed, n, vol=0.004)
        bars["volume"] = np.ones(n)
        for method in ("wilder", "sma"):
            params = {"rsi_method": method, "rsi_period": 9, "leverage": 5, "take_profit_percent": 1.0}
            fused, unfused = both_paths(bars, params, {"fill": "next_open"})
            assert_same(fused, unfused)
            assert len(fused.trades) > 20


# --- the RSI zones: decided without dividing, exactly as the RSI decides them ----------


def tick_closes(steps) -> np.ndarray:
    return 100.0 + np.cumsum([0.0, *steps])


def test_sma_rsi_landing_exactly_on_the_levels_gives_the_same_signals():
    # Integer ticks over a 10-change window: 3 gains of 1 and 7 losses of 1 give an SMA
    # RSI of exactly 30, 7 and 3 exactly 70, and the fused kernel's products sit right on
    # the level there, so its exact fallback decides. The pattern repeats with a drift.
    pattern = [1, 1, 1, -1, -1, -1, -1, -1, -1, -1, -1, 1, 1, 1, 1, 1, 1, 1, -1, -1]
    steps = (pattern * 40)[:700]
    close = tick_closes(steps)
    rsi = indicators_nb.rsi_sma(close, 10)
    assert np.any(rsi == 30.0) and np.any(rsi == 70.0)
    n = close.shape[0]
    bars = with_ts(
        {"open": close.copy(), "high": close + 0.5, "low": close - 0.5, "close": close, "volume": np.ones(n)}
    )
    for entry in ("reverse", "follow"):
        params = {
            "rsi_method": "sma",
            "rsi_period": 10,
            "entry_option": entry,
            "use_trend_filter": False,
            "stop_loss_percent": None,
        }
        fused, unfused = both_paths(bars, params, {"fill": "close", "fee_rate": 0.0})
        assert_same(fused, unfused)
        assert len(fused.trades) > 5


def exact_zones(g, l, oversold, overbought):
    rsi = indicators_nb._rsi_value(g, l)
    return rsi <= oversold, rsi >= overbought


def near_level_pairs(level, rng, count):
    """(g, l) whose RSI 100·g/(g+l) is the level itself, or a few ulps of g away from it."""
    out = []
    for _ in range(count):
        l = float(rng.uniform(1e-6, 1e3)) if level < 100.0 else 0.0
        g = level * l / (100.0 - level) if level < 100.0 else float(rng.uniform(0.0, 1e3))
        for ulps in range(-4, 5):
            out.append((float(g + ulps * math.ulp(g)), l))
    return out


@pytest.mark.parametrize(("oversold", "overbought"), [(30.0, 70.0), (0.0, 100.0), (50.0, 50.0), (12.5, 87.5)])
def test_zones_match_the_divided_rsi_near_and_far_from_the_levels(oversold, overbought):
    rng = np.random.default_rng(7)
    tiny = 5e-324  # the smallest subnormal: 100·g/(g+l) underflows to 0
    pairs = [(0.0, 0.0), (1.0, 0.0), (0.0, 1.0), (3.0, 7.0), (7.0, 3.0), (1.0, 1.0)]
    pairs += [(tiny, 851.5), (tiny, 1e-300), (tiny, tiny), (1e-310, 3e-310), (3e-310, 7e-310), (1e-300, 0.0)]
    pairs += [(float(g), float(l)) for g, l in rng.uniform(0.0, 50.0, (300, 2))]
    for level in (oversold, overbought):
        pairs += near_level_pairs(level, rng, 40)
    bands = _bands(oversold, overbought)
    for g, l in pairs:
        want = exact_zones(g, l, oversold, overbought)
        assert _zones_exact(False, g, l, 0, 0, 14, 1.0 / 14, oversold, overbought, bands) == want, (g, l)
        # SMA: the kernel holds window sums; the averages are sum/period (0 when empty)
        period = 14
        got = _zones_exact(
            True,
            g * period,
            l * period,
            int(g > 0),
            int(l > 0),
            period,
            1.0 / period,
            oversold,
            overbought,
            bands,
        )
        want_sma = exact_zones(
            g * period / period if g > 0 else 0.0, l * period / period if l > 0 else 0.0, oversold, overbought
        )
        assert got == want_sma, (g, l)


# --- errors, the trade buffer, the hook -----------------------------------------------


@pytest.mark.parametrize(
    ("column", "index", "value", "message"),
    [
        ("close", 5000, np.nan, "candles.close[5000] = nan: prices must be finite and > 0"),
        ("low", 2078, 0.0, "candles.low[2078] = 0.0: prices must be finite and > 0"),
        ("high", -1, np.inf, "candles.high[8685] = inf: prices must be finite and > 0"),
        ("volume", 4100, -np.inf, "candles.volume[4100] = -inf is not finite"),
        ("ts", 7000, None, "candles.ts must be strictly increasing: ts[7000] = {t} <= ts[6999] = {t}"),
    ],
)
def test_a_bad_candle_past_the_first_blocks_raises_the_message_of_the_full_check(
    sample, column, index, value, message
):
    bars = {key: col.copy() for key, col in sample.items()}
    assert len(bars["ts"]) == 8686
    if column == "ts":
        bars["ts"][index] = bars["ts"][index - 1]
        message = message.format(t=int(bars["ts"][index]))
    else:
        bars[column][index] = value
    with pytest.raises(ValueError) as err:
        run_backtest(bars, get_strategy("hyperrsi"), {})
    assert str(err.value) == message


def test_more_trades_than_the_first_buffer_holds(sample):
    # follow with both levels at 50: a position every bar, reversed at each crossing of 50
    n = 3000
    bars = {key: col[:n] for key, col in sample.items()}
    params = {"entry_option": "follow", "rsi_oversold": 50, "rsi_overbought": 50, "rsi_period": 2}
    fused, unfused = both_paths(bars, params, {"fill": "close"})
    assert_same(fused, unfused)
    assert len(fused.trades) > int(n * _FUSED_TRADES_PER_BAR) + 64


def test_run_backtest_goes_through_the_fused_hook_only_for_strategies_that_have_one(sample):
    calls = []
    strategy = get_strategy("hyperrsi")
    hook = strategy.fused

    def spy(*args):
        calls.append(args)
        return hook(*args)

    run_backtest(sample, dataclasses.replace(strategy, fused=spy), {})
    assert len(calls) == 1
    assert get_strategy("ema_cross").fused is None
    res = run_backtest(sample, get_strategy("ema_cross"), {})
    assert res.timings["signals"] > 0.0
    assert len(calls) == 1

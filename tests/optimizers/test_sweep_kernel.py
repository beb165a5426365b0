"""The parallel sweep kernel gives, for every combination, the metrics of a single run."""

from __future__ import annotations

import math

import numpy as np
import pytest

from engine.enums import METRIC_NAMES
from engine.runner import run_backtest, simulate
from optimizers.evaluate import Evaluator, full_columns
from optimizers.grid import grid_columns
from optimizers.space import Space, dicts_from_columns
from strategies.registry import get_strategy
from tests.optimizers.builders import walk_candles

CANDLES = walk_candles(3000, seed=11)


def grid(strategy: str, mapping: dict) -> list[dict]:
    s = Space.from_mapping(mapping, get_strategy(strategy).params_schema)
    columns, _ = grid_columns(s, max_combinations=10_000)
    return dicts_from_columns(columns)


def evaluate(strategy, combos, base=None, execution=None, **kwargs):
    st = get_strategy(strategy)
    names = list(combos[0])
    from optimizers.space import columns_from_dicts

    columns = full_columns(st.defaults(), base or {}, columns_from_dicts(combos, names))
    evaluator = Evaluator(CANDLES, strategy, execution, **kwargs)
    return evaluator, evaluator.evaluate(columns)


def assert_same_metrics(row: np.ndarray, metrics: dict, label: str):
    for name, value in zip(METRIC_NAMES, row.tolist(), strict=True):
        expected = metrics[name]
        if expected is None:
            assert not math.isfinite(value), f"{label}: {name} should be null, got {value}"
        else:
            assert value == expected, f"{label}: {name}"


HYPERRSI_SPACE = {
    "rsi_period": {"values": [5, 14]},
    "rsi_method": {"values": ["wilder", "sma"]},
    "rsi_oversold": {"values": [25, 35]},
    "rsi_overbought": {"values": [65, 75]},
    "entry_option": {"values": ["reverse", "follow"]},
    "use_trend_filter": {"values": [True, False]},
    "trend_ema_period": {"values": [50, 120]},
    "leverage": {"values": [1, 5]},
    "stop_loss_percent": {"values": [0.5, 3.0]},
}


@pytest.mark.parametrize(
    "execution",
    [
        {"fill": "next_open", "fee_rate": 0.0004},
        {"fill": "close", "fee_rate": 0.001, "slippage_bps": 5, "on_opposite": "close", "position_size": 0.5},
    ],
)
def test_it_equals_run_backtest_for_every_hyperrsi_combination(execution):
    combos = grid("hyperrsi", HYPERRSI_SPACE)
    assert len(combos) == 512
    _, rows = evaluate("hyperrsi", combos, execution=execution)
    st = get_strategy("hyperrsi")
    for combo, row in zip(combos, rows, strict=True):
        single = run_backtest(CANDLES, get_strategy("hyperrsi"), st.with_defaults(combo), execution)
        assert_same_metrics(row, single.metrics, str(combo))
    # the trades actually vary: a test that every combination agrees on zero trades proves nothing
    assert len(set(rows[:, METRIC_NAMES.index("total_trades")].tolist())) > 50


def test_it_equals_run_backtest_for_ema_cross_with_take_profit():
    combos = grid(
        "ema_cross",
        {
            "fast_period": {"min": 5, "max": 25, "step": 10},
            "slow_period": {"values": [30, 60]},
            "take_profit_percent": {"values": [1.5, 4.0]},
            "leverage": {"values": [1, 10]},
        },
    )
    _, rows = evaluate("ema_cross", combos, base={"stop_loss_percent": 1.0})
    for combo, row in zip(combos, rows, strict=True):
        params = {"stop_loss_percent": 1.0, **combo}
        assert_same_metrics(row, run_backtest(CANDLES, get_strategy("ema_cross"), params).metrics, str(combo))


def test_it_computes_each_distinct_indicator_once():
    combos = grid("hyperrsi", HYPERRSI_SPACE)
    evaluator, _ = evaluate("hyperrsi", combos)
    # 2 periods x 2 methods of RSI + 2 EMA spans, for 512 combinations
    assert evaluator.table.computed == 6
    st = get_strategy("hyperrsi")
    methods = np.array(["sma", "wilder"], dtype=object)
    again = {"rsi_period": np.array([14, 5]), "rsi_method": methods, "trend_ema_period": np.array([120, 50])}
    evaluator.evaluate(full_columns(st.defaults(), {}, again))
    assert evaluator.table.computed == 6  # all already in the table
    evaluator.evaluate(full_columns(st.defaults(), {}, {"trend_ema_period": np.array([200])}))
    assert evaluator.table.computed == 7  # the wilder RSI 14 is there; the EMA 200 is new


def test_a_small_table_gives_the_same_metrics_in_slices():
    combos = grid(
        "hyperrsi",
        {"rsi_period": {"min": 5, "max": 20, "step": 1}, "trend_ema_period": {"values": [50, 80, 110]}},
    )
    _, whole = evaluate("hyperrsi", combos)
    row_bytes = len(CANDLES["close"]) * 8
    small, sliced = evaluate("hyperrsi", combos, max_table_bytes=5 * row_bytes)
    assert small.table.max_rows == 5
    np.testing.assert_array_equal(np.nan_to_num(whole, nan=-7.0), np.nan_to_num(sliced, nan=-7.0))


@pytest.mark.parametrize("execution", [None, {"fill": "close", "slippage_bps": 3}])
def test_a_window_equals_simulating_that_window_alone(execution):
    combos = grid(
        "hyperrsi", {"rsi_period": {"values": [7, 21]}, "stop_loss_percent": {"values": [1.0, 4.0]}}
    )
    st = get_strategy("hyperrsi")
    columns = full_columns(st.defaults(), {}, {k: np.array([c[k] for c in combos]) for k in combos[0]})
    evaluator = Evaluator(CANDLES, "hyperrsi", execution)
    lo, hi = 1200, 2600
    rows = evaluator.evaluate(columns, lo=lo, hi=hi)
    c = CANDLES
    for combo, row in zip(combos, rows, strict=True):
        params = st.with_defaults(combo)
        signals = st.signals(params, c["open"], c["high"], c["low"], c["close"], c["volume"])
        alone = simulate(
            c["ts"][lo:hi], c["open"][lo:hi], c["high"][lo:hi], c["low"][lo:hi], c["close"][lo:hi],
            signals[lo:hi], execution, leverage=params["leverage"],
            stop_loss_percent=params["stop_loss_percent"], timeframe_minutes=60,
        )  # fmt: skip
        assert_same_metrics(row, alone.metrics, str(combo))


@pytest.mark.parametrize(
    ("columns", "message"),
    [
        ({"entry_option": np.array(["sideways"], dtype=object)}, "params.entry_option"),
        ({"leverage": np.array([0.5])}, "params.leverage"),
        ({"stop_loss_percent": np.array([150.0])}, "params.stop_loss_percent"),
        ({"rsi_period": np.array([0])}, "params.rsi_period"),
    ],
)
def test_it_names_a_bad_parameter(columns, message):
    st = get_strategy("hyperrsi")
    evaluator = Evaluator(CANDLES, "hyperrsi", None)
    with pytest.raises(ValueError, match=message):
        evaluator.evaluate(full_columns(st.defaults(), {}, columns))


def test_it_refuses_a_window_of_fewer_than_two_bars():
    st = get_strategy("hyperrsi")
    evaluator = Evaluator(CANDLES, "hyperrsi", None)
    with pytest.raises(ValueError, match="at least 2"):
        evaluator.evaluate(full_columns(st.defaults(), {}, {"rsi_period": np.array([14])}), lo=10, hi=11)

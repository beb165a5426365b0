"""The public wrapper: input validation (input -> exact error), config, result shapes."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from engine import BacktestResult, Candles, ExecutionConfig, run_backtest, simulate
from engine.enums import METRIC_NAMES, trade_dt
from engine.runner import TRADE_KEYS
from strategies.registry import get_strategy
from tests.engine.helpers import MINUTE_MS, load_sample, random_walk_bars, run

N = 5
REPO = Path(__file__).resolve().parents[2]


def good_candles() -> dict[str, np.ndarray]:
    return {
        "ts": np.arange(N, dtype=np.int64) * MINUTE_MS,
        "open": np.full(N, 100.0),
        "high": np.full(N, 101.0),
        "low": np.full(N, 99.0),
        "close": np.full(N, 100.0),
        "volume": np.full(N, 5.0),
    }


def with_(column, value):
    c = good_candles()
    if value is None:
        del c[column]
    else:
        c[column] = value
    return c


def at(column, index, value):
    c = good_candles()
    c[column] = c[column].copy()
    c[column][index] = value
    return c


CANDLE_CASES = [
    (with_("volume", None), "candles.volume is missing"),
    (with_("close", np.full((N, 1), 100.0)), "candles.close must be 1-D, got shape (5, 1)"),
    (
        with_("ts", np.arange(N, dtype=np.float64)),
        "candles.ts must be int64 epoch milliseconds, got dtype float64",
    ),
    (with_("open", np.array(["1"] * N)), "candles.open must be float64, got dtype <U1"),
    (with_("high", np.full(N - 1, 101.0)), "candles.high has 4 values but candles.ts has 5"),
    (
        {k: v[:1] for k, v in good_candles().items()},
        "candles need at least 2 bars, got 1",
    ),
    (at("ts", 3, 2 * MINUTE_MS), "candles.ts must be strictly increasing: ts[3] = 120000 <= ts[2] = 120000"),
    (at("close", 2, np.nan), "candles.close[2] = nan: prices must be finite and > 0"),
    (at("high", 1, np.inf), "candles.high[1] = inf: prices must be finite and > 0"),
    (at("low", 4, -1.0), "candles.low[4] = -1.0: prices must be finite and > 0"),
    (at("volume", 0, np.nan), "candles.volume[0] = nan is not finite"),
]


@pytest.mark.parametrize(("candles", "message"), CANDLE_CASES)
def test_bad_candles_are_rejected_naming_the_column_and_index(candles, message):
    with pytest.raises(ValueError) as err:
        run_backtest(candles, get_strategy("hyperrsi"), {})
    assert str(err.value) == message


def test_simulate_names_its_array_arguments():
    c = at("close", 3, np.nan)
    with pytest.raises(ValueError, match=r"^close\[3\] = nan: prices must be finite and > 0$"):
        simulate(c["ts"], c["open"], c["high"], c["low"], c["close"], np.zeros(N, np.int8))


EXECUTION_CASES = [
    ({"fees": 0.1}, "execution.fees is not a known setting"),
    ({"fill": "open"}, "execution.fill must be one of close, next_open; got 'open'"),
    ({"on_opposite": "flip"}, "execution.on_opposite must be one of reverse, close, ignore; got 'flip'"),
    ({"initial_capital": True}, "execution.initial_capital must be a number, got True"),
    ({"initial_capital": "1000"}, "execution.initial_capital must be a number, got '1000'"),
    ({"initial_capital": 0}, "execution.initial_capital must be > 0, got 0.0"),
    ({"fee_rate": -0.001}, "execution.fee_rate must be in [0, 1), got -0.001"),
    ({"slippage_bps": -1}, "execution.slippage_bps must be in [0, 10000), got -1.0"),
    ({"position_size": 0}, "execution.position_size must be in (0, 1], got 0.0"),
    ({"position_size": 1.5}, "execution.position_size must be in (0, 1], got 1.5"),
    ({"maintenance_margin_rate": 1}, "execution.maintenance_margin_rate must be in [0, 1), got 1.0"),
    ({"fee_rate": float("nan")}, "execution.fee_rate must be finite, got nan"),
]


@pytest.mark.parametrize(("mapping", "message"), EXECUTION_CASES)
def test_bad_execution_settings_name_the_field(mapping, message):
    with pytest.raises(ValueError) as err:
        ExecutionConfig.from_mapping(mapping)
    assert str(err.value).startswith(message)


def test_execution_defaults():
    cfg = ExecutionConfig.from_mapping({})
    assert cfg == ExecutionConfig()
    assert cfg.to_dict() == {
        "initial_capital": 10000.0,
        "fee_rate": 0.0004,
        "slippage_bps": 0.0,
        "fill": "next_open",
        "position_size": 1.0,
        "maintenance_margin_rate": 0.005,
        "on_opposite": "reverse",
        "risk_free_rate": 0.0,
    }
    assert ExecutionConfig.from_mapping({"initial_capital": 500}).initial_capital == 500.0
    assert isinstance(ExecutionConfig.from_mapping({"initial_capital": 500}).initial_capital, float)


PARAM_CASES = [
    ({"leverage": 0.5}, "params.leverage must be a finite number >= 1, got 0.5"),
    ({"leverage": "3"}, "params.leverage must be a number, got '3'"),
    ({"stop_loss_percent": 0}, "params.stop_loss_percent must be in (0, 100), got 0"),
    ({"take_profit_percent": -1}, "params.take_profit_percent must be > 0, got -1"),
    (
        {"leverage": 250},
        "execution.maintenance_margin_rate (0.005) must be below 1 / leverage (0.004), "
        "or every position is liquidated at once",
    ),
]


@pytest.mark.parametrize(("params", "message"), PARAM_CASES)
def test_bad_engine_params_name_the_param(params, message):
    with pytest.raises(ValueError) as err:
        run_backtest(good_candles(), get_strategy("hyperrsi"), params)
    assert str(err.value) == message


def test_bad_signals_and_timeframe():
    c = good_candles()
    args = (c["ts"], c["open"], c["high"], c["low"], c["close"])
    with pytest.raises(ValueError, match=r"^signals must have shape \(5,\) like the candles, got \(4,\)$"):
        simulate(*args, np.zeros(4, np.int8))
    with pytest.raises(
        ValueError, match=r"^signals must be an integer array of \+1/-1/0, got dtype float64$"
    ):
        simulate(*args, np.zeros(N))
    with pytest.raises(ValueError, match=r"^timeframe_minutes must be > 0, got 0$"):
        simulate(*args, np.zeros(N, np.int8), timeframe_minutes=0)


def test_unknown_strategy_is_a_key_error_listing_the_known():
    with pytest.raises(KeyError, match=r"unknown strategy 'nope'.*hyperrsi"):
        run_backtest(good_candles(), get_strategy("nope"), {})


def test_bar_length_is_the_median_step_when_not_given():
    b = random_walk_bars(3, 7)
    sig = np.array([1, 0, -1, 0, 1, 0, 0], np.int8)
    # steps of 1, 1, 2, 2, 3, 3 minutes: no majority, median 2
    b["ts"] = np.cumsum([0, 1, 1, 2, 2, 3, 3]).astype(np.int64) * MINUTE_MS
    inferred = run(b, sig)
    explicit = run(b, sig, minutes=2.0)
    assert inferred.metrics == explicit.metrics
    assert inferred.metrics["volatility"] != run(b, sig, minutes=1.0).metrics["volatility"]
    # a regular series with one gap: the majority step (1 minute)
    b["ts"] = np.r_[0, 1, 2, 3, 10, 11, 12].astype(np.int64) * MINUTE_MS
    assert run(b, sig).metrics == run(b, sig, minutes=1.0).metrics


@pytest.fixture(scope="module")
def sample():
    return load_sample()


def test_run_backtest_hyperrsi_on_the_sample(sample):
    params = {"rsi_period": 14, "leverage": 3, "stop_loss_percent": 2.0, "use_trend_filter": False}
    res = run_backtest(sample, get_strategy("hyperrsi"), params, {"fill": "next_open"})
    assert isinstance(res, BacktestResult)
    assert list(res.metrics) == list(METRIC_NAMES)
    assert res.trades.dtype == trade_dt
    assert res.equity.shape == sample["close"].shape
    assert res.metrics["total_trades"] == len(res.trades) > 0
    assert set(res.timings) >= {"validate", "signals", "simulate", "metrics", "total"}
    doc = json.loads(json.dumps(res.to_json_dict(), allow_nan=False))
    assert set(doc) == {"metrics", "trades", "equity"}
    assert len(doc["equity"]) == len(sample["close"])
    first = doc["trades"][0]
    assert tuple(first) == TRADE_KEYS
    assert first["side"] in ("long", "short")
    assert first["exit_reason"] in ("signal", "stop", "take_profit", "liquidation", "end")
    assert isinstance(first["entry_time"], int) and isinstance(first["bars_held"], int)
    assert isinstance(doc["metrics"]["total_trades"], int)


def test_run_backtest_is_simulate_over_the_strategy_signals(sample):
    from strategies.registry import get_strategy

    strategy = get_strategy("hyperrsi")
    params = strategy.with_defaults({"take_profit_percent": 3.0})
    sig = strategy.signals(
        params, sample["open"], sample["high"], sample["low"], sample["close"], sample["volume"]
    )
    via_runner = run_backtest(Candles(**sample), get_strategy("hyperrsi"), {"take_profit_percent": 3.0})
    direct = simulate(
        sample["ts"],
        sample["open"],
        sample["high"],
        sample["low"],
        sample["close"],
        sig,
        ExecutionConfig(),
        leverage=params["leverage"],
        stop_loss_percent=params["stop_loss_percent"],
        take_profit_percent=3.0,
    )
    assert via_runner.trades.tobytes() == direct.trades.tobytes()
    assert np.array_equal(via_runner.equity, direct.equity)
    assert via_runner.metrics == direct.metrics


def test_candles_accept_other_numeric_dtypes_and_objects():
    c = good_candles()
    c["ts"] = c["ts"].astype(np.int32)
    c["close"] = c["close"].astype(np.float32)
    res = run_backtest(Candles(**{k: np.asarray(v) for k, v in c.items()}), get_strategy("hyperrsi"), {})
    assert res.equity.dtype == np.float64
    assert res.equity.tolist() == [10000.0] * N


def test_the_engine_never_imports_django():
    code = (
        "import sys; from engine import run_backtest, simulate; "
        "assert not [m for m in sys.modules if m.split('.')[0] in ('django', 'pandas')], 'imported'"
    )
    subprocess.run(
        [sys.executable, "-c", code], check=True, cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)}
    )


@pytest.mark.parametrize("module", ["nb.py", "metrics_nb.py", "enums.py"])
def test_kernel_modules_import_only_numpy_numba_and_enums(module):
    tree = ast.parse((REPO / "engine" / module).read_text())
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            imported.add(node.module)
    assert imported <= {"__future__", "numpy", "numba", "engine.enums"}, imported

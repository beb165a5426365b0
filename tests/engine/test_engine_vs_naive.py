"""The Numba engine against the slow pure-Python reference (tests/naive.py).

On the real BTC 15m sample with deterministic signals, and on seeded random walks with
random signals, for many execution settings: equity, every trade field and every metric
agree to 1e-9 relative.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine import simulate
from tests.engine.helpers import (
    columns,
    load_sample,
    momentum_run,
    momentum_signals,
    random_signals,
    random_walk_bars,
)
from tests.naive import naive_metrics, naive_simulate

REL = 1e-9


def close_enough(a, b, scale=1.0) -> bool:
    """Equal to REL relative, with an absolute floor of REL * scale for values near 0."""
    if a is None or b is None:
        return a is None and b is None
    return math.isclose(a, b, rel_tol=REL, abs_tol=REL * scale)


@pytest.fixture(scope="module")
def sample() -> dict[str, np.ndarray]:
    return load_sample()


def compare(bars, signals, *, minutes, leverage=1.0, stop=None, tp=None, **execution) -> dict:
    """Run both engines with the same settings, assert agreement, return the kernel metrics."""
    execution = {"initial_capital": 10000.0, **execution}
    res = simulate(
        *columns(bars),
        signals,
        execution,
        leverage=leverage,
        stop_loss_percent=stop,
        take_profit_percent=tp,
        timeframe_minutes=minutes,
    )
    ref = naive_simulate(
        *columns(bars),
        signals,
        leverage=leverage,
        stop_loss_percent=stop,
        take_profit_percent=tp,
        **execution,
    )
    capital = execution["initial_capital"]

    assert len(res.equity) == len(ref["equity"])
    bad = [
        i
        for i, (a, b) in enumerate(zip(res.equity.tolist(), ref["equity"], strict=True))
        if not close_enough(a, b, capital)
    ]
    assert not bad, f"equity differs first at bar {bad[0]}: {res.equity[bad[0]]} vs {ref['equity'][bad[0]]}"

    trades = res.trades_as_dicts()
    assert len(trades) == len(ref["trades"])
    for k, (got, want) in enumerate(zip(trades, ref["trades"], strict=True)):
        assert res.trades["entry_idx"][k] == want["entry_idx"], k
        assert res.trades["exit_idx"][k] == want["exit_idx"], k
        for key in ("side", "entry_time", "exit_time", "bars_held", "exit_reason"):
            assert got[key] == want[key], (k, key)
        for key in ("entry_price", "exit_price", "quantity", "fees", "pnl", "return"):
            assert close_enough(got[key], want[key], 1.0 if key == "return" else capital), (
                k,
                key,
                got[key],
                want[key],
            )

    # the equity identity holds in both
    assert close_enough(res.equity[-1], capital + math.fsum(t["pnl"] for t in trades), capital)

    want_metrics = naive_metrics(
        ref["equity"],
        bars["ts"],
        ref["trades"],
        minutes_per_bar=minutes,
        initial_capital=capital,
        in_position=ref["in_position"],
    )
    assert set(res.metrics) == set(want_metrics)
    for name, want in want_metrics.items():
        assert close_enough(res.metrics[name], want, capital if name in MONEY else 1.0), (
            name,
            res.metrics[name],
            want,
        )
    # no NaN or inf anywhere in the output
    json.dumps(res.to_json_dict(), allow_nan=False)
    return res.metrics


MONEY = {"avg_win", "largest_win", "avg_loss", "largest_loss", "expectancy", "total_fees"}

SAMPLE_CASES = [
    # (leverage, stop, tp, execution)
    (1.0, None, None, {"fill": "close", "on_opposite": "reverse"}),
    (3.0, 2.0, None, {"fill": "next_open", "on_opposite": "reverse"}),
    (3.0, 1.0, 2.0, {"fill": "next_open", "on_opposite": "close", "slippage_bps": 5.0}),
    (20.0, 8.0, None, {"fill": "close", "on_opposite": "reverse", "fee_rate": 0.001}),
    (20.0, 3.0, 1.5, {"fill": "next_open", "on_opposite": "ignore", "position_size": 0.5}),
    (5.0, 0.5, 0.8, {"fill": "close", "on_opposite": "close", "slippage_bps": 10.0, "fee_rate": 0.0006}),
    (10.0, None, 3.0, {"fill": "next_open", "on_opposite": "reverse", "maintenance_margin_rate": 0.02}),
    # held until liquidated or taken profit: no stop, opposite signals ignored
    (
        20.0,
        None,
        3.0,
        {"fill": "next_open", "on_opposite": "ignore", "slippage_bps": 2.0, "position_size": 0.2},
    ),
]


@pytest.mark.parametrize(("leverage", "stop", "tp", "execution"), SAMPLE_CASES)
def test_btc_sample_momentum_signals(sample, leverage, stop, tp, execution):
    sig = momentum_signals(sample["close"])
    metrics = compare(sample, sig, minutes=15.0, leverage=leverage, stop=stop, tp=tp, **execution)
    assert metrics["total_trades"] > 20  # the case exercised something


@pytest.mark.parametrize(("leverage", "stop", "tp", "execution"), SAMPLE_CASES[:4])
def test_btc_sample_seeded_random_signals(sample, leverage, stop, tp, execution):
    sig = random_signals(2021, sample["close"].shape[0], 0.02)
    compare(sample, sig, minutes=15.0, leverage=leverage, stop=stop, tp=tp, **execution)


def test_the_sample_cases_reach_every_exit_reason(sample):
    # guards the value of the comparisons above: each reason occurs in some case
    seen = set()
    for leverage, stop, tp, execution in SAMPLE_CASES:
        res = momentum_run(sample, execution, leverage=leverage, stop=stop, tp=tp)
        seen.update(t["exit_reason"] for t in res.trades_as_dicts())
    assert seen == {"signal", "stop", "take_profit", "liquidation", "end"}


@settings(derandomize=True, max_examples=80, deadline=None)
@given(
    st.fixed_dictionaries(
        {
            "seed": st.integers(0, 100_000),
            "n": st.integers(2, 150),
            "vol": st.sampled_from([0.003, 0.02, 0.06]),
            "density": st.sampled_from([0.03, 0.2, 0.7]),
            "fill": st.sampled_from(["close", "next_open"]),
            "on_opposite": st.sampled_from(["reverse", "close", "ignore"]),
            "leverage": st.sampled_from([1.0, 2.0, 5.0, 20.0]),
            "stop": st.sampled_from([None, 0.5, 2.0, 8.0]),
            "tp": st.sampled_from([None, 1.0, 5.0]),
            "fee_rate": st.sampled_from([0.0, 0.0004, 0.003]),
            "slippage_bps": st.sampled_from([0.0, 3.0, 80.0]),
            "position_size": st.sampled_from([1.0, 0.25]),
            "minutes": st.sampled_from([1.0, 60.0]),
        }
    )
)
def test_random_walks_with_random_signals(cfg):
    b = random_walk_bars(cfg["seed"], cfg["n"], vol=cfg["vol"])
    sig = random_signals(cfg["seed"], cfg["n"], cfg["density"])
    compare(
        b,
        sig,
        minutes=cfg["minutes"],
        leverage=cfg["leverage"],
        stop=cfg["stop"],
        tp=cfg["tp"],
        fill=cfg["fill"],
        on_opposite=cfg["on_opposite"],
        fee_rate=cfg["fee_rate"],
        slippage_bps=cfg["slippage_bps"],
        position_size=cfg["position_size"],
    )


@pytest.mark.parametrize(
    "cfg",
    [
        # found by a wider search: a liquidation at position_size 1 left a rounding residue
        # of cash (+1.7e-12) in the twin and 0.0 in the kernel; the twin then opened dust
        # positions bar after bar. Both now count cash <= 1e-9 of the capital as bust.
        dict(
            seed=3861,
            n=95,
            vol=0.06,
            density=0.7,
            fill="close",
            on_opposite="reverse",
            tp=None,
            slippage_bps=0.0,
        ),
        dict(
            seed=150,
            n=150,
            vol=0.02,
            density=0.2,
            fill="next_open",
            on_opposite="ignore",
            tp=1.0,
            slippage_bps=0.0,
        ),
        dict(
            seed=141,
            n=87,
            vol=0.06,
            density=0.2,
            fill="next_open",
            on_opposite="reverse",
            tp=5.0,
            slippage_bps=80.0,
        ),
    ],
)
def test_a_liquidation_that_leaves_nothing_is_a_bust_in_both_engines(cfg):
    b = random_walk_bars(cfg["seed"], cfg["n"], vol=cfg["vol"])
    sig = random_signals(cfg["seed"], cfg["n"], cfg["density"])
    compare(
        b, sig, minutes=1.0, leverage=20.0, stop=None, tp=cfg["tp"], fill=cfg["fill"],
        on_opposite=cfg["on_opposite"], fee_rate=0.003, slippage_bps=cfg["slippage_bps"], position_size=1.0,
    )  # fmt: skip

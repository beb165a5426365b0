"""The equity curve: marking, fees, the end-of-data exit, the identity with trade pnl."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.engine.helpers import bars, flat, random_signals, random_walk_bars, run

approx = pytest.approx


def test_equity_marks_the_raw_close_and_counts_the_entry_fee():
    # fee 0.001, slippage 10 bps, long at close 100: entry 100.1, notional 10000 / 1.001,
    # qty = 9990.00999 / 100.1 = 99.80029960050..., entry fee 9.99000999
    # equity[i] = (10000 - 9.99001) + qty * (close[i] - 100.1)   (no exit costs while open)
    b = flat(100, 102, 99, 101, 101)
    res = run(b, [1, 0, 0, 0, 0], fill="close", fee_rate=0.001, slippage_bps=10)
    notional = 10000 / 1.001
    qty = notional / 100.1
    cash = 10000 - notional * 0.001
    expected = [cash + qty * (c - 100.1) for c in (100, 102, 99, 101)]
    assert res.equity[:4].tolist() == approx(expected)
    # the end exit sells at 101 * 0.999 and pays its fee: both are in equity[n-1]
    exit_price = 101 * 0.999
    last = cash + qty * (exit_price - 100.1) - qty * exit_price * 0.001
    assert res.equity[4] == approx(last)
    assert res.equity[4] < res.equity[3]


def test_flat_equity_stays_at_cash():
    res = run(flat(100, 101, 102, 103, 104), [0, 0, 0, 0, 0], fill="close", fee_rate=0.0004)
    assert res.equity.tolist() == [10000.0] * 5
    assert len(res.trades) == 0


def test_equity_after_a_stop_is_the_realised_cash():
    # long 100 at 100, stop 2% -> exit 98 in bar 1: equity 9800 from bar 1 on, whatever the close
    b = bars(
        (100, 100, 100, 100),
        (99, 105, 97, 105),
        (105, 106, 104, 105),
        (105, 105, 105, 105),
        (105, 105, 105, 105),
    )
    res = run(b, [1, 0, 0, 0, 0], fill="close", stop=2.0)
    assert res.equity.tolist() == approx([10000, 9800, 9800, 9800, 9800])


def test_exposure_counts_bars_open_at_the_close_before_the_end_exit():
    # long from close[1] to the end: open at the closes of bars 1..4 -> 4 of 5
    res = run(flat(100, 100, 100, 100, 100), [0, 1, 0, 0, 0], fill="close")
    assert res.metrics["exposure"] == approx(4 / 5)
    # next_open from open[2]: bars 2..4 -> 3 of 5
    res = run(flat(100, 100, 100, 100, 100), [0, 1, 0, 0, 0], fill="next_open")
    assert res.metrics["exposure"] == approx(3 / 5)


SETTINGS = st.fixed_dictionaries(
    {
        "seed": st.integers(0, 10_000),
        "n": st.integers(2, 200),
        "density": st.sampled_from([0.02, 0.1, 0.5]),
        "fill": st.sampled_from(["close", "next_open"]),
        "on_opposite": st.sampled_from(["reverse", "close", "ignore"]),
        "leverage": st.sampled_from([1.0, 2.0, 5.0, 20.0]),
        "stop": st.sampled_from([None, 0.5, 2.0, 8.0]),
        "tp": st.sampled_from([None, 1.0, 4.0]),
        "fee_rate": st.sampled_from([0.0, 0.0004, 0.002]),
        "slippage_bps": st.sampled_from([0.0, 5.0]),
        "position_size": st.sampled_from([1.0, 0.3]),
    }
)


@settings(derandomize=True, max_examples=60, deadline=None)
@given(SETTINGS)
def test_final_equity_is_initial_capital_plus_trade_pnl(cfg):
    b = random_walk_bars(cfg["seed"], cfg["n"], vol=0.02)
    sig = random_signals(cfg["seed"], cfg["n"], cfg["density"])
    res = run(
        b,
        sig,
        leverage=cfg["leverage"],
        stop=cfg["stop"],
        tp=cfg["tp"],
        fill=cfg["fill"],
        on_opposite=cfg["on_opposite"],
        fee_rate=cfg["fee_rate"],
        slippage_bps=cfg["slippage_bps"],
        position_size=cfg["position_size"],
    )
    total_pnl = math.fsum(res.trades["pnl"].tolist())
    assert res.equity[-1] == approx(10000 + total_pnl, rel=1e-9, abs=1e-9 * 10000)
    assert math.fsum(res.trades["fees"].tolist()) == approx(res.metrics["total_fees"], rel=1e-9, abs=1e-12)
    # every trade: bars held, times, and the sign of quantity
    t = res.trades
    assert np.all(t["bars_held"] == t["exit_idx"] - t["entry_idx"])
    assert np.all(t["entry_time"] == b["ts"][t["entry_idx"]])
    assert np.all(t["exit_time"] == b["ts"][t["exit_idx"]])
    assert np.all(t["quantity"] > 0)
    # trades come in exit order and never overlap
    assert np.all(t["entry_idx"][1:] >= t["exit_idx"][:-1])
    # a liquidation loses exactly its margin plus its entry fee
    liq = t[t["exit_reason"] == 3]
    if len(liq):
        margin = liq["quantity"] * liq["entry_price"] / cfg["leverage"]
        assert np.allclose(liq["pnl"], -margin - liq["fees"], rtol=1e-9)

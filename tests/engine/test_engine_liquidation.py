"""Isolated-margin liquidation and the bust rule.

Entry at close[0] = 100 (fill=close), capital 10,000, maintenance margin rate 0.005.
Liquidation sits at an adverse move of 1/leverage - 0.005 from entry.
"""

from __future__ import annotations

import pytest

from tests.engine.helpers import MINUTE_MS, bars, flat, only_trade, run

approx = pytest.approx
QUIET = (100, 100.5, 99.5, 100)


def test_liquidation_before_the_stop_at_20x_loses_margin_plus_entry_fee():
    # leverage 20, fee 0.0004: notional = 10000 * 20 / (1 + 20 * 0.0004) = 198412.6984126984
    # margin = notional / 20 = 9920.63492063492, entry fee = 79.36507936507937 (sum 10000)
    # liquidation at 100 * (1 - (0.05 - 0.005)) = 95.5, nearer than the 5% stop at 95;
    # bar 1's low 94 touches both -> liquidation: pnl = -(9920.63 + 79.37) = -10000
    b = bars((100, 100, 100, 100), (99, 99.5, 94, 95), QUIET, QUIET, QUIET)
    res = run(b, [1, 0, 0, 0, 0], fill="close", leverage=20, stop=5.0, fee_rate=0.0004)
    t = only_trade(res)
    margin = 200000 / 1.008 / 20
    fee = 200000 / 1.008 * 0.0004
    assert t["exit_reason"] == "liquidation"
    assert t["exit_price"] == approx(95.5)
    assert t["fees"] == approx(fee)  # no exit fee
    assert t["pnl"] == approx(-margin - fee)
    assert t["pnl"] == approx(-10000.0)
    assert t["return"] == approx((-margin - fee) / margin)  # -1.008
    assert res.equity[1:].tolist() == approx([0.0] * 4, abs=1e-9)


def test_short_liquidation_in_the_range():
    # leverage 10: liquidation at 100 * (1 + 0.095) = 109.5; bar 2 high 110 touches it
    # fee 0.0004: notional = 100000 / 1.004, margin 9960.159362549801, fee 39.8406374501992
    b = bars((100, 100, 100, 100), QUIET, (101, 110, 100, 108), QUIET, QUIET)
    t = only_trade(run(b, [-1, 0, 0, 0, 0], fill="close", leverage=10, fee_rate=0.0004))
    assert (t["exit_reason"], t["exit_time"], t["exit_price"]) == (
        "liquidation",
        2 * MINUTE_MS,
        approx(109.5),
    )
    assert t["pnl"] == approx(-9960.159362549801 - 39.8406374501992)


def test_gap_through_liquidation_loses_exactly_the_margin():
    # leverage 10, fee 0: margin 10000, liquidation 90.5; bar 1 opens at 80, far below:
    # still exactly the margin (isolated), recorded at the liquidation price
    b = bars((100, 100, 100, 100), (80, 81, 79, 80), (80, 80, 80, 80), (80, 80, 80, 80), (80, 80, 80, 80))
    t = only_trade(run(b, [1, 0, 0, 0, 0], fill="close", leverage=10))
    assert (t["exit_reason"], t["exit_time"], t["exit_price"]) == ("liquidation", MINUTE_MS, approx(90.5))
    assert t["pnl"] == approx(-10000.0)


def test_a_stop_nearer_than_liquidation_is_taken_instead():
    # leverage 10, fee 0: qty = 100000 / 100 = 1000, liquidation 90.5, stop 5% = 95;
    # low 94 touches the stop first: exit at 95, pnl = 1000 * -5 = -5000
    b = bars((100, 100, 100, 100), (99, 99.5, 94, 95), QUIET, QUIET, QUIET)
    t = only_trade(run(b, [1, 0, 0, 0, 0], fill="close", leverage=10, stop=5.0))
    assert (t["exit_reason"], t["exit_price"], t["pnl"]) == ("stop", approx(95.0), approx(-5000.0))


def test_a_gap_beyond_both_levels_triggers_the_nearer_one_at_the_open():
    # the contract: "if the open is beyond the nearer adverse level, that level triggers at
    # the open". Stop 95 is nearer than liquidation 90.5, so a gap to 85 is a stop filled at
    # the open: pnl = 1000 * (85 - 100) = -15000, more than the margin, equity -5000.
    # Bust: the later long signal opens nothing.
    b = bars((100, 100, 100, 100), (85, 86, 84, 85), (85, 85, 85, 85), (85, 85, 85, 85), (85, 85, 85, 85))
    res = run(b, [1, 0, 1, 0, 0], fill="close", leverage=10, stop=5.0)
    t = only_trade(res)
    assert (t["exit_reason"], t["exit_price"], t["pnl"]) == ("stop", 85.0, approx(-15000.0))
    assert res.equity.tolist() == approx([10000, -5000, -5000, -5000, -5000])


def test_leverage_one_never_liquidates():
    # a 60% fall at leverage 1: the loss is just 100 * -60
    t = only_trade(run(flat(100, 70, 50, 40, 40), [1, 0, 0, 0, 0], fill="close", leverage=1))
    assert (t["exit_reason"], t["pnl"]) == ("end", approx(-6000.0))


def test_liquidation_has_no_slippage():
    # slippage 10 bps: entry 100 * 1.001 = 100.1, liquidation 100.1 * (1 - 0.095) = 90.5905,
    # the exit is recorded there, unslipped; margin = 100000 / 10 = 10000 (fee 0)
    b = bars((100, 100, 100, 100), (95, 96, 90, 91), QUIET, QUIET, QUIET)
    t = only_trade(run(b, [1, 0, 0, 0, 0], fill="close", leverage=10, slippage_bps=10))
    assert (t["exit_reason"], t["exit_price"], t["pnl"]) == ("liquidation", approx(90.5905), approx(-10000.0))


def test_no_position_opens_while_equity_is_not_positive():
    # leverage 1 short at 100, qty 100; price 250 at bar 2 where a long signal reverses:
    # the short loses 100 * 150 = 15000 -> cash -5000 -> the long is not opened, nor any later
    res = run(flat(100, 200, 250, 120, 100), [-1, 0, 1, -1, 1], fill="close", on_opposite="reverse")
    t = only_trade(res)
    assert (t["side"], t["exit_reason"], t["pnl"]) == ("short", "signal", approx(-15000.0))
    assert res.equity.tolist() == approx([10000, 0, -5000, -5000, -5000])
    assert res.metrics["total_return"] == approx(-1.5)
    assert res.metrics["annual_return"] == -1.0
    assert res.metrics["exposure"] == approx(2 / 5)


def test_liquidation_inside_the_next_open_fill_bar():
    # next_open fill at open[1] = 100, leverage 20 -> liquidation 95.5; bar 1 low 95 -> liquidated
    b = bars(QUIET, (100, 100, 95, 96), QUIET, QUIET, QUIET)
    t = only_trade(run(b, [1, 0, 0, 0, 0], fill="next_open", leverage=20))
    assert (t["exit_reason"], t["bars_held"], t["pnl"]) == ("liquidation", 0, approx(-10000.0))

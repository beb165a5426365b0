"""Stop loss and take profit: levels, gaps, order inside a bar, re-entry.

Capital 10,000, fee 0, leverage 1 (no liquidation), entry at close[0] = 100 (qty 100)
unless a test says otherwise. Bars are (open, high, low, close).
"""

from __future__ import annotations

import pytest

from tests.engine.helpers import MINUTE_MS, bars, only_trade, run

approx = pytest.approx
QUIET = (100, 100.5, 99.5, 100)  # touches neither a 2% stop nor a 3% take profit


def test_long_stop_touched_in_the_range_fills_at_the_stop():
    # stop 2% below 100 = 98; bar 1 low 97.5 touches it -> exit at 98, pnl 100 * -2 = -200
    b = bars((100, 100, 100, 100), (99.5, 100, 97.5, 99), QUIET, QUIET, QUIET)
    t = only_trade(run(b, [1, 0, 0, 0, 0], fill="close", stop=2.0))
    assert (t["exit_reason"], t["exit_time"], t["bars_held"]) == ("stop", MINUTE_MS, 1)
    assert t["exit_price"] == approx(98.0)
    assert t["pnl"] == approx(-200.0)


def test_short_stop_touched_in_the_range_fills_at_the_stop():
    # short at 100, stop 2% above = 102; bar 1 high 102.5 -> exit at 102, pnl 100 * -2 = -200
    b = bars((100, 100, 100, 100), (100.5, 102.5, 100, 101), QUIET, QUIET, QUIET)
    t = only_trade(run(b, [-1, 0, 0, 0, 0], fill="close", stop=2.0))
    assert (t["exit_reason"], t["exit_price"], t["pnl"]) == ("stop", approx(102.0), approx(-200.0))


def test_gap_through_a_long_stop_fills_at_the_open():
    # stop 98, bar 1 opens at 95 (below it): the stop fills at the open 95, pnl = 100 * -5
    b = bars((100, 100, 100, 100), (95, 96, 94, 96), QUIET, QUIET, QUIET)
    t = only_trade(run(b, [1, 0, 0, 0, 0], fill="close", stop=2.0))
    assert (t["exit_reason"], t["exit_price"], t["pnl"]) == ("stop", 95.0, approx(-500.0))


def test_gap_through_a_short_stop_fills_at_the_open():
    # stop 102, bar 2 opens at 105: exit at 105, pnl = 100 * -5
    b = bars((100, 100, 100, 100), QUIET, (105, 106, 104, 105), QUIET, QUIET)
    t = only_trade(run(b, [-1, 0, 0, 0, 0], fill="close", stop=2.0))
    assert (t["exit_reason"], t["exit_price"], t["exit_time"]) == ("stop", 105.0, 2 * MINUTE_MS)
    assert t["pnl"] == approx(-500.0)


def test_stop_and_take_profit_in_one_bar_takes_the_stop():
    # stop 98, take profit 103; bar 1 spans 97..104, both touched -> the stop
    b = bars((100, 100, 100, 100), (100, 104, 97, 101), QUIET, QUIET, QUIET)
    t = only_trade(run(b, [1, 0, 0, 0, 0], fill="close", stop=2.0, tp=3.0))
    assert (t["exit_reason"], t["exit_price"]) == ("stop", approx(98.0))


def test_long_take_profit_in_the_range_fills_at_its_price():
    # take profit 3% above 100 = 103; bar 1 high 103.5 -> exit at 103, pnl 300
    b = bars((100, 100, 100, 100), (100, 103.5, 99.5, 101), QUIET, QUIET, QUIET)
    t = only_trade(run(b, [1, 0, 0, 0, 0], fill="close", stop=2.0, tp=3.0))
    assert (t["exit_reason"], t["exit_price"], t["pnl"]) == ("take_profit", approx(103.0), approx(300.0))


def test_take_profit_at_the_open_fills_at_the_open():
    # take profit 103; bar 1 opens at 104 -> filled at the open 104, pnl 400
    b = bars((100, 100, 100, 100), (104, 105, 101, 102), QUIET, QUIET, QUIET)
    t = only_trade(run(b, [1, 0, 0, 0, 0], fill="close", stop=2.0, tp=3.0))
    assert (t["exit_reason"], t["exit_price"], t["pnl"]) == ("take_profit", 104.0, approx(400.0))


def test_short_take_profit_at_the_open_and_in_the_range():
    # short at 100, take profit 3% below = 97
    gap = bars((100, 100, 100, 100), (96, 98, 95, 97), QUIET, QUIET, QUIET)
    t = only_trade(run(gap, [-1, 0, 0, 0, 0], fill="close", tp=3.0))
    assert (t["exit_reason"], t["exit_price"], t["pnl"]) == ("take_profit", 96.0, approx(400.0))
    inside = bars((100, 100, 100, 100), (99, 100, 96.5, 98), QUIET, QUIET, QUIET)
    t = only_trade(run(inside, [-1, 0, 0, 0, 0], fill="close", tp=3.0))
    assert (t["exit_reason"], t["exit_price"], t["pnl"]) == ("take_profit", approx(97.0), approx(300.0))


def test_fill_close_does_not_check_the_fill_bar():
    # entry at close[0] = 100; bar 0's own low 90 is before the fill: no stop
    b = bars((100, 101, 90, 100), QUIET, QUIET, QUIET, QUIET)
    t = only_trade(run(b, [1, 0, 0, 0, 0], fill="close", stop=2.0))
    assert t["exit_reason"] == "end"


def test_fill_next_open_checks_the_fill_bar_from_its_open():
    # entry at open[1] = 100, stop 98; bar 1 low 97 -> stopped in the fill bar itself
    b = bars(QUIET, (100, 100.5, 97, 99), QUIET, QUIET, QUIET)
    res = run(b, [1, 0, 0, 0, 0], fill="next_open", stop=2.0)
    t = only_trade(res)
    assert (t["exit_reason"], t["entry_time"], t["exit_time"], t["bars_held"]) == (
        "stop",
        MINUTE_MS,
        MINUTE_MS,
        0,
    )
    assert t["pnl"] == approx(-200.0)
    assert res.equity.tolist() == approx([10000, 9800, 9800, 9800, 9800])


def test_stop_price_comes_from_the_slipped_entry_and_its_fill_slips():
    # slippage 10 bps: entry 100 * 1.001 = 100.1; stop = 100.1 * 0.98 = 98.098;
    # touched by low 97.5 -> sells at 98.098 * 0.999 = 97.999902
    b = bars((100, 100, 100, 100), (99.5, 100, 97.5, 99), QUIET, QUIET, QUIET)
    t = only_trade(run(b, [1, 0, 0, 0, 0], fill="close", stop=2.0, slippage_bps=10))
    assert t["entry_price"] == approx(100.1)
    assert t["exit_price"] == approx(97.999902)
    assert t["pnl"] == approx(10000 / 100.1 * (97.999902 - 100.1))


def test_gapped_stop_fill_slips_from_the_open():
    # short entry 100 * 0.999 = 99.9, stop 99.9 * 1.02 = 101.898; opens at 105 -> buys at 105 * 1.001
    b = bars((100, 100, 100, 100), (105, 106, 104, 105), QUIET, QUIET, QUIET)
    t = only_trade(run(b, [-1, 0, 0, 0, 0], fill="close", stop=2.0, slippage_bps=10))
    assert (t["exit_reason"], t["exit_price"]) == ("stop", approx(105.105))


def test_take_profit_fill_slips_too():
    # long entry 100.1, take profit 100.1 * 1.03 = 103.103, touched -> sells at 103.103 * 0.999
    b = bars((100, 100, 100, 100), (100, 104, 99.5, 101), QUIET, QUIET, QUIET)
    t = only_trade(run(b, [1, 0, 0, 0, 0], fill="close", tp=3.0, slippage_bps=10))
    assert t["exit_price"] == approx(103.103 * 0.999)


def test_a_position_stopped_in_a_bar_is_reentered_by_that_bars_signal_at_close():
    # stop 98 hit in bar 1; bar 1's own long signal re-enters at close[1] = 99
    b = bars(
        (100, 100, 100, 100), (99.5, 100, 97.5, 99), (99, 99, 99, 99), (99, 99, 99, 99), (99, 99, 99, 99)
    )
    res = run(b, [1, 1, 0, 0, 0], fill="close", stop=2.0)
    first, second = res.trades_as_dicts()
    assert first["exit_reason"] == "stop"
    assert second["entry_time"] == MINUTE_MS
    assert second["entry_price"] == 99.0
    # cash after the stop: 9800 -> qty 9800 / 99
    assert second["quantity"] == approx(9800 / 99)
    assert second["exit_reason"] == "end"


def test_a_position_stopped_in_a_bar_is_reentered_at_the_next_open():
    # next_open: entry open[1] = 100, stop 98 hit in bar 2; bar 2 signals long -> open[3] = 99
    b = bars(QUIET, (100, 100.5, 99.5, 100), (99.5, 100, 97.5, 99), (99, 99, 99, 99), (99, 99, 99, 99))
    res = run(b, [1, 0, 1, 0, 0], fill="next_open", stop=2.0)
    first, second = res.trades_as_dicts()
    assert (first["exit_reason"], first["exit_time"]) == ("stop", 2 * MINUTE_MS)
    assert (second["entry_time"], second["entry_price"]) == (3 * MINUTE_MS, 99.0)


def test_a_level_hit_by_the_open_comes_before_a_pending_signal():
    # next_open: long from open[1] = 100, stop 98. Bar 2 signals short; bar 3 opens at 95:
    # the stop takes the open first (exit 95, reason stop), then the short opens at 95
    b = bars(QUIET, QUIET, QUIET, (95, 96, 94.5, 95), (95, 95, 95, 95))
    res = run(b, [1, 0, -1, 0, 0], fill="next_open", stop=2.0)
    first, second = res.trades_as_dicts()
    assert (first["exit_reason"], first["exit_price"], first["pnl"]) == ("stop", 95.0, approx(-500.0))
    assert (second["side"], second["entry_price"], second["entry_time"]) == ("short", 95.0, 3 * MINUTE_MS)
    assert second["quantity"] == approx(9500 / 95)


def test_a_pending_same_side_signal_reenters_after_a_stop_at_the_open():
    # as above, but bar 2 signals long again: stopped at open 95, then long again at 95
    b = bars(QUIET, QUIET, QUIET, (95, 96, 94.5, 95), (95, 95, 95, 95))
    res = run(b, [1, 0, 1, 0, 0], fill="next_open", stop=2.0)
    first, second = res.trades_as_dicts()
    assert first["exit_reason"] == "stop"
    assert (second["side"], second["entry_time"]) == ("long", 3 * MINUTE_MS)


def test_levels_are_inclusive():
    # 50% levels are exact in binary: stop 100 * 0.5 = 50, take profit 100 * 1.5 = 150;
    # a low exactly at the stop, or a high exactly at the take profit, triggers it
    stop_bar = bars((100, 100, 100, 100), (60, 60, 50, 55), QUIET, QUIET, QUIET)
    t = only_trade(run(stop_bar, [1, 0, 0, 0, 0], fill="close", stop=50.0))
    assert (t["exit_reason"], t["exit_price"]) == ("stop", 50.0)
    tp_bar = bars((100, 100, 100, 100), (140, 150, 140, 145), QUIET, QUIET, QUIET)
    t = only_trade(run(tp_bar, [1, 0, 0, 0, 0], fill="close", tp=50.0))
    assert (t["exit_reason"], t["exit_price"]) == ("take_profit", 150.0)
    # an open exactly at the stop counts as beyond it: the stop, not the pending reversal
    gap = bars(QUIET, QUIET, QUIET, (50, 55, 50, 55), (55, 55, 55, 55))
    first, second = run(gap, [1, 0, -1, 0, 0], fill="next_open", stop=50.0).trades_as_dicts()
    assert (first["exit_reason"], first["exit_price"], second["side"]) == ("stop", 50.0, "short")


def test_extreme_slippage_can_stop_a_next_open_entry_at_its_own_open():
    # slippage 300 bps > stop 2%: entry 100 * 1.03 = 103, stop 103 * 0.98 = 100.94 is above
    # the open 100 -> stopped at the fill bar's open, selling at 100 * 0.97 = 97
    b = bars(QUIET, (100, 101, 99.5, 100), QUIET, QUIET, QUIET)
    t = only_trade(run(b, [1, 0, 0, 0, 0], fill="next_open", stop=2.0, slippage_bps=300))
    assert (t["exit_reason"], t["bars_held"]) == ("stop", 0)
    assert t["exit_price"] == approx(97.0)

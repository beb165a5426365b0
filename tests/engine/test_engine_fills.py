"""Fill prices, sizing, fees and slippage: hand-computed five-bar cases.

Unless a test says otherwise: capital 10,000, fee 0, no slippage, leverage 1, bars one
minute apart (ts = i * 60,000 ms).
"""

from __future__ import annotations

import pytest

from tests.engine.helpers import MINUTE_MS, bars, flat, only_trade, run

approx = pytest.approx


def test_fill_close_enters_at_the_signal_bars_close():
    # long at close[0] = 100: qty = 10000 / 100 = 100; held to the end, exit at 105
    b = flat(100, 102, 104, 103, 105)
    res = run(b, [1, 0, 0, 0, 0], fill="close")
    t = only_trade(res)
    assert t["entry_time"] == 0
    assert t["entry_price"] == 100.0
    assert t["quantity"] == approx(100.0)
    assert t["exit_time"] == 4 * MINUTE_MS
    assert t["exit_price"] == 105.0
    assert t["exit_reason"] == "end"
    assert t["bars_held"] == 4
    assert t["pnl"] == approx(500.0)  # 100 * (105 - 100)
    assert t["return"] == approx(0.05)  # 500 / margin 10000
    # equity = 10000 + 100 * (close - 100)
    assert res.equity.tolist() == approx([10000, 10200, 10400, 10300, 10500])


def test_fill_next_open_enters_at_the_following_open():
    # signal at bar 0, fill at open[1] = 100: qty 100
    b = bars(
        (99, 99, 99, 99),
        (100, 105, 100, 105),
        (110, 115, 110, 115),
        (120, 122, 120, 122),
        (125, 130, 125, 130),
    )
    res = run(b, [1, 0, 0, 0, 0], fill="next_open")
    t = only_trade(res)
    assert t["entry_time"] == MINUTE_MS
    assert t["entry_price"] == 100.0
    assert res.trades["entry_idx"][0] == 1
    # bar 0 is flat; then 10000 + 100 * (close - 100); the end exit at 130 keeps 13000
    assert res.equity.tolist() == approx([10000, 10500, 11500, 12200, 13000])
    assert t["pnl"] == approx(3000.0)
    assert t["bars_held"] == 3  # exit_idx 4 - entry_idx 1


def test_next_open_drops_a_signal_on_the_last_bar():
    res = run(flat(100, 101, 102, 103, 104), [0, 0, 0, 0, 1], fill="next_open")
    assert len(res.trades) == 0
    assert res.equity.tolist() == [10000.0] * 5
    assert res.metrics["exposure"] == 0.0


def test_fill_close_on_the_last_bar_opens_and_closes_at_once():
    # fee 0.001: notional = 10000 / (1 + 0.001) = 9990.00999000999, entry fee 9.99000999,
    # the end exit at the same close pays the same fee: pnl = -19.98001998
    res = run(flat(100, 100, 100, 100, 100), [0, 0, 0, 0, 1], fill="close", fee_rate=0.001)
    t = only_trade(res)
    assert t["bars_held"] == 0
    assert t["exit_reason"] == "end"
    assert t["fees"] == approx(2 * 10000 / 1.001 * 0.001)
    assert t["pnl"] == approx(-19.98001998001998)
    assert res.equity[-1] == approx(10000 - 19.98001998001998)
    assert res.metrics["exposure"] == approx(1 / 5)  # open at the last close, before the exit


def test_fees_on_entry_and_exit():
    # fee 0.001, long at close 100, closed by an opposite signal (on_opposite=close) at 110.
    # notional = 10000 / 1.001 = 9990.00999000999; qty = 99.9000999000999
    # entry fee = 9.99000999000999; exit fee = 99.9000999 * 110 * 0.001 = 10.98901098901099
    # gross = 99.9000999 * 10 = 999.000999000999; pnl = 999.000999 - 9.99001 - 10.98901
    b = flat(100, 100, 110, 110, 110)
    res = run(b, [1, 0, -1, 0, 0], fill="close", on_opposite="close", fee_rate=0.001)
    t = only_trade(res)
    qty = 10000 / 1.001 / 100
    assert t["quantity"] == approx(qty)
    assert t["fees"] == approx(9.99000999000999 + 10.98901098901099)
    assert t["pnl"] == approx(999.000999000999 - 9.99000999000999 - 10.98901098901099)
    assert t["pnl"] == approx(978.021978021978)
    assert t["exit_reason"] == "signal"
    # the entry fee is in equity from the entry bar on: 10000 - 9.99001
    assert res.equity[0] == approx(9990.00999000999)
    assert res.equity[2:].tolist() == approx([10978.021978021978] * 3)
    assert res.metrics["total_fees"] == approx(t["fees"])


def test_sizing_with_position_size_and_leverage():
    # position_size 0.5, leverage 4, fee 0.0005: margin + fee = 10000 * 0.5 = 5000
    # notional = 10000 * 0.5 * 4 / (1 + 4 * 0.0005) = 20000 / 1.002 = 19960.079840319363
    # margin = 4990.019960079841, entry fee = 9.980039920159681; qty at 100 = 199.60079840319363
    # end exit at 101: gross = 199.6008 * 1 = 199.60079840319363; exit fee = 199.6008 * 101 * 0.0005
    # = 10.079840319361277; pnl = 199.6008 - 9.98004 - 10.07984 = 179.54091816367267
    b = flat(100, 100, 101, 101, 101)
    res = run(b, [1, 0, 0, 0, 0], fill="close", leverage=4, fee_rate=0.0005, position_size=0.5)
    t = only_trade(res)
    notional = 20000 / 1.002
    assert t["quantity"] * t["entry_price"] == approx(notional)
    assert t["quantity"] == approx(199.60079840319363)
    assert notional / 4 + notional * 0.0005 == approx(5000.0)
    assert t["pnl"] == approx(179.54091816367267)
    assert t["return"] == approx(179.54091816367267 / 4990.019960079841)
    assert t["fees"] == approx(9.980039920159681 + 10.079840319361277)
    assert res.equity[-1] == approx(10000 + 179.54091816367267)


@pytest.mark.parametrize(
    ("side", "fill", "expect_entry", "expect_exit"),
    [
        # close fills: long enters at close[0] * 1.001, leaves at close[2] * 0.999
        (1, "close", 100 * 1.001, 100 * 0.999),
        # next-open fills: at open[1] * 1.001 and open[3] * 0.999
        (1, "next_open", 90 * 1.001, 90 * 0.999),
        # short: sold lower, bought back higher
        (-1, "close", 100 * 0.999, 100 * 1.001),
        (-1, "next_open", 90 * 0.999, 90 * 1.001),
    ],
)
def test_slippage_moves_fills_against_the_trader(side, fill, expect_entry, expect_exit):
    b = bars(*[(90, 100, 90, 100)] * 5)
    res = run(b, [side, 0, -side, 0, 0], fill=fill, on_opposite="close", slippage_bps=10)
    t = only_trade(res)
    assert t["side"] == {1: "long", -1: "short"}[side]
    assert t["entry_price"] == approx(expect_entry)
    assert t["exit_price"] == approx(expect_exit)
    # qty = 10000 / entry; pnl = side * qty * (exit - entry) < 0 on an unchanged price
    assert t["pnl"] == approx(side * 10000 / expect_entry * (expect_exit - expect_entry))
    assert t["pnl"] < 0


def test_slippage_on_the_end_of_data_exit():
    # short at close 100 * (1 - 0.002) = 99.8, ended at close 100 * (1 + 0.002) = 100.2
    # qty = 10000 / 99.8; pnl = -qty * 0.4 = -40.08016032064128
    res = run(flat(100, 100, 100, 100, 100), [-1, 0, 0, 0, 0], fill="close", slippage_bps=20)
    t = only_trade(res)
    assert t["exit_reason"] == "end"
    assert t["exit_price"] == approx(100.2)
    assert t["pnl"] == approx(-40.08016032064128)
    assert res.equity[-1] == approx(10000 - 40.08016032064128)
    # before the end exit, equity marks to the raw close: 10000 + qty * (99.8 - 100)
    assert res.equity[-2] == approx(10000 - 10000 / 99.8 * 0.2)


def test_reversal_is_sized_on_the_equity_after_closing():
    # long 100 at 100 (close fill), at close[2] = 120 reverse: cash = 10000 + 100 * 20 = 12000
    # -> short qty = 12000 / 120 = 100; end at 110: short pnl = 100 * (120 - 110) = 1000
    res = run(flat(100, 110, 120, 115, 110), [1, 0, -1, 0, 0], fill="close", on_opposite="reverse")
    long_, short = res.trades_as_dicts()
    assert (long_["side"], long_["exit_reason"], long_["pnl"]) == ("long", "signal", approx(2000.0))
    assert (short["side"], short["entry_time"]) == ("short", 2 * MINUTE_MS)
    assert short["quantity"] == approx(100.0)
    assert short["pnl"] == approx(1000.0)
    assert res.equity.tolist() == approx([10000, 11000, 12000, 12500, 13000])

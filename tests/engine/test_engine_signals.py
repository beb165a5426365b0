"""What a signal does: opposite-signal modes, same-side signals, timing, input forms.

Prices are flat bars (open = high = low = close) so only signals act; capital 10,000,
fee 0, leverage 1. next_open fills signal i at open[i + 1].
"""

from __future__ import annotations

import numpy as np
import pytest

from engine import simulate
from tests.engine.helpers import MINUTE_MS, flat, only_trade, run

approx = pytest.approx
PRICES = (100, 100, 110, 120, 100, 90)


def sides_and_times(res):
    return [
        (t["side"], t["entry_time"] // MINUTE_MS, t["exit_time"] // MINUTE_MS, t["exit_reason"])
        for t in res.trades_as_dicts()
    ]


def test_reverse_at_the_next_open():
    # long: signal 0 -> open[1] = 100; short signal at 2 -> open[3] = 120 closes the long
    # (pnl 100 * 20 = 2000) and opens a short sized on 12000: qty 100; end at close 90 -> +3000
    res = run(flat(*PRICES), [1, 0, -1, 0, 0, 0], fill="next_open", on_opposite="reverse")
    assert sides_and_times(res) == [("long", 1, 3, "signal"), ("short", 3, 5, "end")]
    long_, short = res.trades_as_dicts()
    assert (long_["exit_price"], long_["pnl"]) == (120.0, approx(2000.0))
    assert (short["entry_price"], short["quantity"], short["pnl"]) == (120.0, approx(100.0), approx(3000.0))
    assert res.equity.tolist() == approx([10000, 10000, 11000, 12000, 14000, 15000])


def test_close_mode_closes_and_stays_flat():
    res = run(flat(*PRICES), [1, 0, -1, 0, 0, 0], fill="next_open", on_opposite="close")
    assert sides_and_times(res) == [("long", 1, 3, "signal")]
    assert res.equity.tolist() == approx([10000, 10000, 11000, 12000, 12000, 12000])


def test_close_mode_a_signal_while_flat_opens():
    # close mode: the short signal at 2 closes the long at open[3]; the next short signal at 3
    # finds the account flat and opens at open[4] = 100
    res = run(flat(*PRICES), [1, 0, -1, -1, 0, 0], fill="next_open", on_opposite="close")
    assert sides_and_times(res) == [("long", 1, 3, "signal"), ("short", 4, 5, "end")]


def test_ignore_mode_keeps_the_position():
    res = run(flat(*PRICES), [1, 0, -1, 0, -1, 0], fill="next_open", on_opposite="ignore")
    assert sides_and_times(res) == [("long", 1, 5, "end")]
    assert only_trade(res)["pnl"] == approx(-1000.0)  # 100 * (90 - 100)


def test_same_side_signals_do_not_pyramid():
    res = run(flat(*PRICES), [1, 1, 1, 1, 0, 0], fill="close")
    t = only_trade(res)
    assert (t["quantity"], t["entry_time"]) == (approx(100.0), 0)


def test_reverse_with_fill_close():
    # long at close 100 (bar 0), short signal at bar 3: close at 120 (+2000), short 100 at 120
    res = run(flat(*PRICES), [1, 0, 0, -1, 0, 0], fill="close", on_opposite="reverse")
    assert sides_and_times(res) == [("long", 0, 3, "signal"), ("short", 3, 5, "end")]
    assert res.equity.tolist() == approx([10000, 10000, 11000, 12000, 14000, 15000])


def test_short_first_then_reverse_to_long():
    res = run(flat(*PRICES), [-1, 0, 1, 0, 0, 0], fill="close")
    assert sides_and_times(res) == [("short", 0, 2, "signal"), ("long", 2, 5, "end")]
    short, long_ = res.trades_as_dicts()
    assert short["pnl"] == approx(-1000.0)  # 100 * (100 - 110)
    assert long_["quantity"] == approx(9000 / 110)


def test_any_integer_dtype_is_read_by_its_sign():
    b = flat(*PRICES)
    base = run(b, [1, 0, -1, 0, 0, 0], fill="close")
    wide = simulate(
        b["ts"],
        b["open"],
        b["high"],
        b["low"],
        b["close"],
        np.array([5, 0, -300, 0, 0, 0]),
        {"fill": "close", "fee_rate": 0.0},
    )
    assert wide.trades.tobytes() == base.trades.tobytes()
    assert wide.equity.tolist() == base.equity.tolist()


@pytest.mark.parametrize("fill", ["close", "next_open"])
def test_signals_after_a_bar_do_not_change_its_equity(fill):
    # no lookahead: equity[:k] (and the trades closed by then) ignore signals[k:]
    rng = np.random.default_rng(7)
    n = 60
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.01, n)))
    b = {
        "ts": np.arange(n, dtype=np.int64) * MINUTE_MS,
        "open": np.r_[100.0, close[:-1]],
        "high": close * 1.004,
        "low": close * 0.996,
        "close": close,
    }
    b["high"] = np.maximum(b["high"], b["open"])
    b["low"] = np.minimum(b["low"], b["open"])
    sig = rng.choice(np.array([-1, 0, 0, 1], dtype=np.int8), n)
    full = run(b, sig, fill=fill, stop=1.0, leverage=3)
    for k in (10, 25, 40):
        changed = sig.copy()
        changed[k:] = -changed[k:]
        other = run(b, changed, fill=fill, stop=1.0, leverage=3)
        assert other.equity[:k].tolist() == full.equity[:k].tolist()
        done = full.trades[full.trades["exit_idx"] < k]
        assert other.trades[: len(done)].tobytes() == done.tobytes()


def test_a_next_open_entry_on_the_last_bar_is_ended_at_its_close():
    # signal at bar 3 fills at open[4] = 100 (flat bars), the end exit sells at close[4] = 100
    res = run(flat(*PRICES[:4], 100), [0, 0, 0, 1, 0], fill="next_open", fee_rate=0.001)
    t = only_trade(res)
    assert (t["entry_time"], t["bars_held"], t["exit_reason"]) == (4 * MINUTE_MS, 0, "end")
    assert t["pnl"] == approx(-2 * 10000 / 1.001 * 0.001)


def test_the_kernel_refuses_a_too_small_trade_buffer():
    from engine.config import ExecutionConfig
    from engine.enums import trade_dt
    from engine.nb import simulate_nb

    b = flat(*PRICES)
    sig = np.array([1, -1, 1, 0, 0, 0], dtype=np.int8)  # three entries
    equity = np.empty(6)
    columns = (b["ts"], b["open"], b["high"], b["low"], b["close"])
    xrec = ExecutionConfig(fill="close", fee_rate=0.0).record()
    with pytest.raises(ValueError, match="trades_out is too small"):
        simulate_nb(*columns, sig, xrec, equity, np.empty(2, dtype=trade_dt))
    n_trades, n_exposed = simulate_nb(*columns, sig, xrec, equity, np.empty(3, dtype=trade_dt))
    assert (n_trades, n_exposed) == (3, 6)

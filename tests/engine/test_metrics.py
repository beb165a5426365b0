"""Metrics: hand-computed small curves, null rules, and a direct numpy computation of the
contract table on a real run."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from engine.enums import EXIT_END, M_AVG_BARS_HELD, M_WIN_RATE, METRIC_NAMES, trade_dt
from engine.metrics_nb import metrics_nb
from tests.engine.helpers import flat, load_sample, momentum_run, run

approx = pytest.approx
DAY_MS = 86_400_000


def metrics(equity, trades=None, *, capital=100.0, minutes=1440.0, step_ms=DAY_MS, exposed=0, rf=0.0):
    """metrics_nb over daily bars, as a {name: value or None} dict."""
    equity = np.asarray(equity, dtype=np.float64)
    ts = np.arange(equity.shape[0], dtype=np.int64) * step_ms
    if trades is None:
        trades = np.zeros(0, dtype=trade_dt)
    values = metrics_nb(equity, ts, trades, minutes, capital, exposed, rf)
    return {name: (None if math.isnan(v) else float(v)) for name, v in zip(METRIC_NAMES, values, strict=True)}


def make_trades(pnl, ret=None, bars_held=None, fees=None):
    t = np.zeros(len(pnl), dtype=trade_dt)
    t["pnl"] = pnl
    t["return"] = ret if ret is not None else [p / 100 for p in pnl]
    t["bars_held"] = bars_held if bars_held is not None else [1] * len(pnl)
    t["fees"] = fees if fees is not None else [0.0] * len(pnl)
    return t


def test_equity_metrics_of_a_four_day_curve():
    # e = 100, 110, 99, 121 on daily bars (bars_per_year = 365), capital 100
    m = metrics([100, 110, 99, 121])
    # total 121/100 - 1; span 3 days -> annual = 1.21^(365/3) - 1
    assert m["total_return"] == approx(0.21)
    assert m["annual_return"] == approx(1.21 ** (365 / 3) - 1)
    # r = 0.1, -0.1, 121/99 - 1 = 0.2222...; mean 0.0740740...
    r = [0.1, -0.1, 121 / 99 - 1]
    mean = sum(r) / 3
    std = math.sqrt(sum((x - mean) ** 2 for x in r) / 2)  # ddof = 1
    assert m["volatility"] == approx(std * math.sqrt(365))
    # the geometric mean return: (1 + g)^3 = 1.21
    g = 1.21 ** (1 / 3) - 1
    assert m["sharpe_ratio"] == approx(g / std * math.sqrt(365))
    # downside: sqrt((0 + 0.01 + 0) / 3)
    assert m["sortino_ratio"] == approx(g / math.sqrt(0.01 / 3) * math.sqrt(365))
    # peak 110 at day 1, trough 99: 1 - 99/110 = 0.1, regained on day 3 -> 2 days
    assert m["max_drawdown"] == approx(0.1)
    assert m["max_drawdown_duration"] == 2.0
    assert m["calmar_ratio"] == approx((1.21 ** (365 / 3) - 1) / 0.1)


def test_drawdown_peak_is_the_last_bar_at_the_high_and_an_unregained_one_runs_to_the_end():
    # 100, 100, 90, 100, 95: the first drawdown starts at day 1 (the last bar at 100 before
    # the fall) and is regained at day 3 (equal counts) -> 2 days; the second starts at day 3
    # and is never regained -> to the last bar, 1 day. Longest 2, deepest 1 - 90/100.
    m = metrics([100, 100, 90, 100, 95])
    assert m["max_drawdown_duration"] == 2.0
    assert m["max_drawdown"] == approx(0.1)
    m = metrics([100, 120, 110, 100, 105])  # never regained: day 1 -> day 4
    assert m["max_drawdown_duration"] == 3.0
    assert m["max_drawdown"] == approx(1 - 100 / 120)


def test_duration_uses_timestamps_not_bar_counts():
    # hourly bars: a 3-bar drawdown lasts 3/24 days
    m = metrics([100, 90, 95, 100], minutes=60.0, step_ms=3_600_000)
    assert m["max_drawdown_duration"] == approx(3 / 24)


def test_flat_equity_has_zero_ratios_and_zero_drawdown():
    m = metrics([100, 100, 100, 100])
    assert m["total_return"] == 0.0
    assert m["annual_return"] == 0.0
    assert m["volatility"] == 0.0
    # no risk, no return: 0, so a flat run ranks with break-even ones, above any loss
    assert m["sharpe_ratio"] == 0.0
    assert m["sortino_ratio"] == 0.0
    assert (m["max_drawdown"], m["max_drawdown_duration"]) == (0.0, 0.0)
    assert m["calmar_ratio"] is None  # drawdown 0
    # against a risk-free rate the flat run's ratios are undefined (0 risk, negative excess)
    assert metrics([100, 100, 100, 100], rf=0.0001)["sharpe_ratio"] is None


def test_a_run_that_only_gains_has_no_sortino():
    m = metrics([100, 101, 103])
    assert m["sortino_ratio"] is None  # no negative return: the ratio is unbounded
    assert m["sharpe_ratio"] > 0


def test_no_trades_leave_trade_metrics_null():
    m = metrics([100, 100, 100])
    assert (m["total_trades"], m["total_fees"], m["exposure"]) == (0.0, 0.0, 0.0)
    for name in METRIC_NAMES[M_WIN_RATE : M_AVG_BARS_HELD + 1]:  # the per-trade metrics
        assert m[name] is None, name


def test_trade_metrics():
    # pnl 50, -20, 0, 30: wins are > 0 (50, 30), losses <= 0 (-20, 0)
    t = make_trades([50, -20, 0, 30], ret=[0.5, -0.2, 0.0, 0.3], bars_held=[1, 2, 3, 4], fees=[1, 2, 3, 4])
    m = metrics([100, 100, 160], t, exposed=2)
    assert m["total_trades"] == 4
    assert m["win_rate"] == 0.5
    assert m["profit_factor"] == approx(80 / 20)
    assert m["avg_trade_return"] == approx(0.15)
    assert (m["avg_win"], m["largest_win"]) == (approx(40.0), 50.0)
    assert (m["avg_loss"], m["largest_loss"]) == (approx(-10.0), -20.0)
    assert m["expectancy"] == approx(15.0)
    assert m["avg_bars_held"] == 2.5
    assert m["total_fees"] == 10.0
    assert m["exposure"] == approx(2 / 3)


def test_profit_factor_null_without_a_loss_and_zero_without_a_win():
    assert metrics([100, 110, 120], make_trades([10, 10]))["profit_factor"] is None
    only_losses = metrics([100, 90, 80], make_trades([-10, -10]))
    assert only_losses["profit_factor"] == 0.0
    assert (only_losses["avg_win"], only_losses["largest_win"]) == (None, None)
    # a zero-pnl trade is a "loss" for avg_loss, but the gross loss is 0: null ratio
    zero = metrics([100, 100, 100], make_trades([0.0]))
    assert (zero["profit_factor"], zero["avg_loss"], zero["win_rate"]) == (None, 0.0, 0.0)


def test_returns_after_a_bust_bar_are_zero_and_annual_return_floors_at_minus_one():
    # e = 100, -50, -20, 10: r_1 = max(-1.5, -1) = -1 (all the capital is gone), then 0
    # from the ruin on, even when the open position brings equity back above 0
    m = metrics([100, -50, -20, 10])
    r = [-1.0, 0.0, 0.0]
    mean = sum(r) / 3
    std = math.sqrt(sum((x - mean) ** 2 for x in r) / 2)
    assert m["volatility"] == approx(std * math.sqrt(365))
    # ruined: the geometric mean return is -1 whatever the end equity
    assert m["sharpe_ratio"] == approx(-1.0 / std * math.sqrt(365))
    assert m["sortino_ratio"] == approx(-1.0 / math.sqrt(1 / 3) * math.sqrt(365))
    assert m["max_drawdown"] == approx(1.5)
    # total -0.9 > -1: the power formula still applies
    assert m["annual_return"] == approx(0.1 ** (365 / 3) - 1)
    bust = metrics([100, -50, -20, -5])
    assert bust["total_return"] == approx(-1.05)
    assert bust["annual_return"] == -1.0


def test_a_ruined_run_is_never_above_a_break_even_one():
    # a long climb, then a bust at the very last bar: the arithmetic mean of the returns
    # stays positive (299 x 0.005 - 1) / 300, the Sharpe ratio does not
    climb = list(100 * 1.005 ** np.arange(300))
    busted = metrics([*climb, 0.0])
    r = np.diff(climb) / np.array(climb[:-1])
    assert (r.sum() - 1.0) / 300 > 0  # the textbook numerator would be positive
    assert busted["sharpe_ratio"] < 0 and busted["sortino_ratio"] < 0
    flat = metrics([100.0] * 301)
    assert busted["sharpe_ratio"] < flat["sharpe_ratio"] == 0.0


def test_a_loss_with_a_positive_arithmetic_mean_has_a_negative_sharpe():
    # +50%, -40% repeated: the arithmetic mean is +5% a bar, the account shrinks 10% a pair
    m = metrics([100 * (1.5 * 0.6) ** (i // 2) * (1.5 if i % 2 else 1.0) for i in range(21)])
    assert m["total_return"] < 0
    assert m["sharpe_ratio"] < 0 and m["sortino_ratio"] < 0


def test_the_risk_free_rate_is_subtracted_per_bar():
    e = [100, 101, 100.5, 102, 101]
    base, with_rf = metrics(e), metrics(e, rf=0.0002)
    std = base["volatility"] / math.sqrt(365)
    assert with_rf["sharpe_ratio"] == approx(base["sharpe_ratio"] - 0.0002 / std * math.sqrt(365))


def test_two_bars_have_no_std_but_a_sortino():
    m = metrics([100, 90])
    assert (m["volatility"], m["sharpe_ratio"]) == (None, None)  # one return: ddof=1 undefined
    assert m["sortino_ratio"] == approx(-0.1 / 0.1 * math.sqrt(365))


def test_bars_per_year_follows_the_bar_length():
    e = [100, 101, 100.5, 102, 101]
    daily = metrics(e, minutes=1440.0)
    hourly = metrics(e, minutes=60.0, step_ms=3_600_000)
    assert hourly["sharpe_ratio"] == approx(daily["sharpe_ratio"] * math.sqrt(24))
    assert hourly["volatility"] == approx(daily["volatility"] * math.sqrt(24))


def test_an_overflowing_annual_return_is_null_in_the_output():
    # +50% over two one-minute bars: 1.5^(365*1440) overflows; no inf may reach the output
    res = run(flat(100, 150), [1, 0], fill="close", minutes=1.0)
    assert res.metrics["annual_return"] is None
    assert res.metrics["calmar_ratio"] is None
    json.dumps(res.to_json_dict(), allow_nan=False)


def numpy_metrics(equity, ts, trades, minutes, capital):
    """The contract table written directly in numpy (independent of both engines)."""
    e = np.asarray(equity)
    prev = e[:-1]
    r = np.where(prev > 0, e[1:] / np.where(prev > 0, prev, 1.0) - 1, 0.0)
    assert (e > 0).all()  # no ruin in these runs: the clamp and the ruin rule do nothing
    ann = np.sqrt(365 * 24 * 60 / minutes)
    total = e[-1] / capital - 1
    g = (1 + total) ** (1 / len(r)) - 1  # the geometric mean return
    span = (ts[-1] - ts[0]) / 86_400_000
    annual = -1.0 if total <= -1 else (1 + total) ** (365 / span) - 1
    peak = np.maximum.accumulate(e)
    dd = 1 - e / peak
    below = e < peak
    # a drawdown run [a, b] of bars below the peak starts at peak bar a-1 and ends at b+1
    # (or at the last bar when not regained)
    edges = np.diff(np.r_[0, below.astype(int), 0])
    starts, stops = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    ends = np.minimum(stops, len(e) - 1)
    duration = float(np.max(ts[ends] - ts[starts - 1], initial=0)) / 86_400_000
    pnl = trades["pnl"]
    wins, losses = pnl[pnl > 0], pnl[pnl <= 0]
    # bars at whose close a trade is open: [entry, exit), plus the last bar for an end exit
    exposed = np.sum(trades["exit_idx"] - trades["entry_idx"]) + np.sum(trades["exit_reason"] == EXIT_END)
    sd = np.std(r, ddof=1)
    downside = np.sqrt(np.mean(np.minimum(r, 0) ** 2))
    return {
        "total_return": total,
        "annual_return": annual,
        "volatility": sd * ann,
        "sharpe_ratio": g / sd * ann,
        "sortino_ratio": g / downside * ann,
        "max_drawdown": dd.max(),
        "max_drawdown_duration": duration,
        "calmar_ratio": annual / dd.max(),
        "total_trades": len(trades),
        "win_rate": len(wins) / len(pnl),
        "profit_factor": wins.sum() / -losses.sum(),
        "avg_trade_return": trades["return"].mean(),
        "avg_win": wins.mean(),
        "largest_win": wins.max(),
        "avg_loss": losses.mean(),
        "largest_loss": losses.min(),
        "expectancy": pnl.mean(),
        "avg_bars_held": trades["bars_held"].mean(),
        "exposure": exposed / len(e),
        "total_fees": trades["fees"].sum(),
    }


@pytest.mark.parametrize(
    ("leverage", "stop", "tp", "execution"),
    [
        (3.0, 2.0, None, {"fill": "next_open"}),
        (1.0, None, 1.5, {"fill": "close", "on_opposite": "close", "slippage_bps": 4.0}),
    ],
)
def test_every_metric_matches_a_direct_numpy_computation(leverage, stop, tp, execution):
    s = load_sample()
    res = momentum_run(s, execution, leverage=leverage, stop=stop, tp=tp)
    want = numpy_metrics(res.equity, s["ts"], res.trades, 15.0, 10000.0)
    assert list(res.metrics) == list(METRIC_NAMES)
    for name in METRIC_NAMES:
        assert res.metrics[name] == approx(float(want[name]), rel=1e-9, abs=1e-12), name
    assert res.metrics["max_drawdown_duration"] > 0
    json.dumps(res.to_json_dict(), allow_nan=False)


@pytest.mark.parametrize("leverage", [3.0, 20.0])
def test_the_issues_losing_hyperrsi_runs_have_negative_ratios(leverage):
    # HYPERRSI on the BTC sample: -13.8% at leverage 3, -99.9995% at 20. Their textbook
    # (arithmetic-mean) Sharpe ratios were +0.49 and +0.94; the contract's now follow the loss.
    from engine.runner import run_backtest
    from engine.stats import run_statistics
    from strategies.registry import get_strategy

    s = load_sample()
    result = run_backtest(s, get_strategy("hyperrsi"), {"leverage": leverage}, {}, timeframe_minutes=15)
    assert result.metrics["total_return"] < -0.1
    assert result.metrics["sharpe_ratio"] < 0 and result.metrics["sortino_ratio"] < 0
    stats = run_statistics(result.equity, 15.0, result.metrics["sharpe_ratio"])
    assert stats.sharpe_ratio_arithmetic > 0  # the old definition, kept under its own name
    assert stats.probabilistic_sharpe_ratio < 0.5  # of the contract's ratio: a loss

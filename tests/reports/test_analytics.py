"""Report analytics against independent computations: the quantstats / empyrical /
freqtrade formulas written again with pandas, and slow obvious loops."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from reports.analytics import benchmark, distribution, drawdowns, periods, returns, trades
from reports.analytics.summary import ANALYTICS_METRICS, summarise

T0 = 1_704_067_200_000  # 2024-01-01 00:00 UTC
HOUR = 3_600_000


def walk(n: int, seed: int, step_ms: int = HOUR, vol: float = 0.01, start: float = 10_000.0):
    rng = np.random.default_rng(seed)
    ts = T0 + np.arange(n, dtype=np.int64) * step_ms
    values = start * np.exp(np.cumsum(rng.normal(0.0002, vol, n)))
    values[0] = start
    return ts, values


def make_trades(n: int, seed: int) -> trades.TradeArrays:
    rng = np.random.default_rng(seed)
    entry = T0 + np.sort(rng.integers(0, 1000, n)) * HOUR
    held = rng.integers(1, 50, n)
    pnl = np.round(rng.normal(5, 100, n), 2)
    pnl[::7] = 0.0  # some draws
    return trades.TradeArrays(
        side=rng.choice(np.array([1, -1], dtype=np.int8), n),
        entry_time=entry,
        exit_time=entry + held * HOUR,
        entry_price=np.full(n, 100.0),
        exit_price=np.full(n, 101.0),
        exit_reason=rng.choice(np.array(["signal", "stop", "end", "take_profit"]), n),
        trade_return=pnl / 1000.0,
        pnl=pnl,
        bars_held=held,
    )


# --- benchmark --------------------------------------------------------------------


def test_benchmark_matches_the_quantstats_greeks_and_pandas():
    ts, equity = walk(2000, 1)
    _, price = walk(2000, 2, start=40_000.0)
    got = benchmark.benchmark_stats(ts, equity, price).stats
    r = pd.Series(equity).pct_change().iloc[1:]
    b = pd.Series(price).pct_change().iloc[1:]
    k = 365 * 24  # hourly bars
    beta = r.cov(b) / b.var()  # quantstats.stats.greeks
    alpha = (r.mean() - beta * b.mean()) * k
    assert got["beta"] == pytest.approx(beta, rel=1e-9)
    assert got["alpha"] == pytest.approx(alpha, rel=1e-9)
    assert got["correlation"] == pytest.approx(r.corr(b), rel=1e-9)
    diff = r - b
    assert got["information_ratio"] == pytest.approx(diff.mean() / diff.std() * math.sqrt(k), rel=1e-9)
    assert got["benchmark_return"] == pytest.approx(price[-1] / price[0] - 1)
    assert got["excess_return"] == pytest.approx(equity[-1] / equity[0] - price[-1] / price[0])
    assert got["benchmark_volatility"] == pytest.approx(b.std() * math.sqrt(k), rel=1e-9)
    g = (price[-1] / price[0]) ** (1 / len(b)) - 1  # the geometric mean return (docs/engine.md)
    assert got["benchmark_sharpe"] == pytest.approx(g / b.std() * math.sqrt(k), rel=1e-9)
    assert got["benchmark_max_drawdown"] == pytest.approx((1 - price / np.maximum.accumulate(price)).max())


def test_a_strategy_that_is_the_market_has_beta_one_and_no_alpha():
    ts, price = walk(500, 3)
    got = benchmark.benchmark_stats(ts, price * 0.25, price).stats
    assert got["beta"] == pytest.approx(1.0)
    assert got["alpha"] == pytest.approx(0.0, abs=1e-12)
    assert got["correlation"] == pytest.approx(1.0)
    assert got["information_ratio"] is None  # no tracking error


def test_a_flat_strategy_has_no_correlation_and_a_flat_market_no_beta():
    ts, price = walk(300, 4)
    flat = np.full(300, 10_000.0)
    got = benchmark.benchmark_stats(ts, flat, price).stats
    assert got["beta"] == 0.0 and got["correlation"] is None
    got = benchmark.benchmark_stats(ts, price, flat).stats
    assert got["beta"] is None and got["alpha"] is None and got["benchmark_sharpe"] is None


def test_the_benchmark_price_is_the_last_close_at_or_before_each_bar():
    candle_ts = np.array([0, 10, 20, 30], dtype=np.int64)
    close = np.array([1.0, 2.0, 3.0, 4.0])
    got = benchmark.aligned_close(np.array([0, 5, 10, 29, 40]), candle_ts, close)
    assert got.tolist() == [1.0, 1.0, 2.0, 3.0, 4.0]


# --- drawdown periods ---------------------------------------------------------------


def naive_periods(ts, equity):
    out, peak, peak_i, start = [], equity[0], 0, None
    for i, e in enumerate(equity):
        if e >= peak:
            if start is not None:
                seg = equity[start:i]
                v = start + int(np.argmin(seg))
                out.append((peak_i, v, i, 1 - equity[v] / peak))
                start = None
            peak, peak_i = e, i
        elif start is None:
            start = i
    if start is not None:
        seg = equity[start:]
        v = start + int(np.argmin(seg))
        out.append((peak_i, v, -1, 1 - equity[v] / peak))
    return out


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_drawdown_periods_match_a_loop(seed):
    ts, equity = walk(3000, seed)
    got = drawdowns.drawdown_periods(ts, equity)
    expected = naive_periods(ts, equity)
    assert len(got) == len(expected) > 5
    assert got.peak.tolist() == [e[0] for e in expected]
    assert got.valley.tolist() == [e[1] for e in expected]
    assert got.recovery.tolist() == [e[2] for e in expected]
    assert got.depth == pytest.approx([e[3] for e in expected])
    # the deepest period is the contract's max drawdown; its length in days likewise
    assert got.depth.max() == pytest.approx((1 - equity / np.maximum.accumulate(equity)).max())
    worst = got.worst(3)
    assert worst.depth.tolist() == sorted(got.depth.tolist(), reverse=True)[:3]
    end = np.where(got.recovery >= 0, got.recovery, len(ts) - 1)
    assert got.days == pytest.approx((ts[end] - ts[got.peak]) / 86_400_000)


def test_a_hand_computed_drawdown_table():
    ts = T0 + np.arange(8, dtype=np.int64) * 86_400_000  # daily
    equity = np.array([100, 110, 99, 88, 110, 120, 90, 95.0])
    got = drawdowns.drawdown_periods(ts, equity)
    assert got.peak.tolist() == [1, 5]
    assert got.valley.tolist() == [3, 6]
    assert got.recovery.tolist() == [4, -1]
    assert got.depth == pytest.approx([0.2, 0.25])
    assert got.days.tolist() == [3.0, 2.0]
    assert got.days_to_valley.tolist() == [2.0, 1.0]


def test_a_curve_that_never_falls_has_no_drawdown_period():
    ts = T0 + np.arange(5, dtype=np.int64) * HOUR
    assert len(drawdowns.drawdown_periods(ts, np.array([1, 1, 2, 2, 3.0]))) == 0


# --- distribution ---------------------------------------------------------------------


def test_distribution_matches_pandas_and_the_empyrical_formulas():
    r = np.random.default_rng(5).standard_t(4, 400) * 0.01
    got = distribution.distribution_stats(r)
    s = pd.Series(r)
    assert got["skew"] == pytest.approx(s.skew(), rel=1e-9)
    assert got["kurtosis"] == pytest.approx(s.kurt(), rel=1e-9)
    var = s.quantile(0.05)
    assert got["var_95"] == pytest.approx(var)
    assert got["cvar_95"] == pytest.approx(s[s <= var].mean())
    assert got["tail_ratio"] == pytest.approx(abs(s.quantile(0.95)) / abs(var))
    assert got["daily_volatility"] == pytest.approx(s.std())


def test_a_normal_sample_has_small_skew_and_excess_kurtosis():
    r = np.random.default_rng(6).normal(0, 0.01, 20000)
    got = distribution.distribution_stats(r)
    assert abs(got["skew"]) < 0.05 and abs(got["kurtosis"]) < 0.1
    assert got["var_95"] == pytest.approx(-1.645 * 0.01, rel=0.05)


def test_distribution_figures_are_undefined_without_enough_days_or_variance():
    assert all(v is None for v in distribution.distribution_stats(np.array([0.01])).values())
    flat = distribution.distribution_stats(np.zeros(10))
    assert flat["skew"] is None and flat["kurtosis"] is None and flat["tail_ratio"] is None


# --- calendar periods ---------------------------------------------------------------


def test_period_returns_match_pandas_resampling():
    ts, equity = walk(24 * 100, 7)  # 100 days of hours
    s = pd.Series(equity, index=pd.to_datetime(ts, unit="ms", utc=True))
    for unit, rule in (("day", "D"), ("month", "ME")):
        ends = s.resample(rule).last().dropna()
        expected = ends.pct_change()
        expected.iloc[0] = ends.iloc[0] / 9_000.0 - 1
        got = returns.period_returns(ts, equity, unit, 9_000.0)
        assert got.returns == pytest.approx(expected.to_numpy(), rel=1e-12)
        firsts = ends.index.tz_localize(None).to_period("D" if unit == "day" else "M").to_timestamp()
        assert got.start.tolist() == [int(t.timestamp() * 1000) for t in firsts]
    months = returns.period_returns(ts, equity, "month", 9_000.0)
    assert np.prod(1 + months.returns) - 1 == pytest.approx(equity[-1] / 9_000.0 - 1)


def test_period_stats_pick_the_extremes_and_count_winning_months():
    ts, equity = walk(24 * 200, 8)
    days = returns.period_returns(ts, equity, "day", 10_000.0)
    months = returns.period_returns(ts, equity, "month", 10_000.0)
    years = returns.period_returns(ts, equity, "year", 10_000.0)
    got = periods.period_stats(days, months, years)
    m = months.returns
    assert got["best_day"] == days.returns.max() and got["worst_day"] == days.returns.min()
    assert got["best_month"] == m.max() and got["worst_month"] == m.min()
    assert got["winning_months"] == pytest.approx(sum(v > 0 for v in m) / sum(v != 0 for v in m))
    assert got["avg_up_month"] == pytest.approx(np.mean([v for v in m if v > 0]))
    assert len(years) == 1 and got["best_year"] == got["worst_year"]


# --- trades ---------------------------------------------------------------------------


def test_breakdowns_match_a_pandas_groupby():
    t = make_trades(300, 9)
    got = trades.breakdowns(t)
    df = pd.DataFrame(
        {
            "side": np.where(t.side > 0, "long", "short"),
            "reason": t.exit_reason,
            "pnl": t.pnl,
            "ret": t.trade_return,
            "days": (t.exit_time - t.entry_time) / 86_400_000,
        }
    )
    for key, column in (("side", "side"), ("exit_reason", "reason")):
        for row in got[key]:
            part = df[df[column] == row["key"]]
            assert row["count"] == len(part)
            assert (row["wins"], row["draws"], row["losses"]) == (
                (part.pnl > 0).sum(),
                (part.pnl == 0).sum(),
                (part.pnl < 0).sum(),
            )
            assert row["total_pnl"] == pytest.approx(part.pnl.sum())
            assert row["avg_return"] == pytest.approx(part.ret.mean())
            assert row["avg_days"] == pytest.approx(part.days.mean())
            assert row["win_rate"] == pytest.approx((part.pnl > 0).mean())
    assert [r["key"] for r in got["exit_reason"]] == ["signal", "stop", "take_profit", "end"]
    assert got["all"][0]["count"] == 300


def test_streaks_durations_best_worst_and_sqn():
    t = make_trades(500, 10)
    got = trades.trade_stats(t)
    longest = {True: 0, False: 0}
    current, last = 0, None
    for win in (t.pnl > 0).tolist():
        current = current + 1 if win == last else 1
        last = win
        longest[win] = max(longest[win], current)
    assert got["max_consecutive_wins"] == longest[True]
    assert got["max_consecutive_losses"] == longest[False]
    days = (t.exit_time - t.entry_time) / 86_400_000
    assert got["avg_win_days"] == pytest.approx(days[t.pnl > 0].mean())
    assert got["avg_loss_days"] == pytest.approx(days[t.pnl <= 0].mean())
    assert got["best_trade"] == t.trade_return.max() and got["worst_trade"] == t.trade_return.min()
    r = pd.Series(t.trade_return)
    assert got["sqn"] == pytest.approx(math.sqrt(len(r)) * r.mean() / r.std())  # freqtrade's formula


def test_trade_figures_of_an_empty_trade_list_are_undefined():
    none = trades.TradeArrays(*(np.empty(0) for _ in range(9)))
    got = trades.trade_stats(none)
    assert all(v is None for v in got.values())
    assert trades.breakdowns(none)["exit_reason"] == []


def test_longest_run_counts_consecutive_flags():
    assert trades.longest_run(np.array([1, 1, 0, 1, 1, 1, 0], dtype=bool)) == 3
    assert trades.longest_run(np.zeros(4, dtype=bool)) == 0


# --- all together -----------------------------------------------------------------------


def test_summary_is_json_ready_and_complete():
    import json

    ts, equity = walk(24 * 60, 11)
    _, price = walk(24 * 60, 12, start=40_000.0)
    got = summarise(ts, equity, 10_000.0, make_trades(40, 13), (ts, price))
    json.dumps(got, allow_nan=False)
    assert set(got["metrics"]) == set(ANALYTICS_METRICS)
    assert got["benchmark"] is True and got["metrics"]["beta"] is not None
    assert len(got["drawdowns"]) == 10
    assert got["drawdowns"][0]["depth"] == max(row["depth"] for row in got["drawdowns"])
    assert got["years"][0]["year"] == 2024
    without = summarise(ts, equity, 10_000.0, make_trades(40, 13), None)
    assert without["benchmark"] is False and without["metrics"]["beta"] is None

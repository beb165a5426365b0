"""Chart data and SVG output, framework-free: arrays in, SVG out."""

from __future__ import annotations

import re

import numpy as np
import pytest

from reports import charts, equity_charts, price_chart, return_charts
from reports.analytics.returns import bar_returns, drawdown
from reports.analytics.trades import TradeArrays
from reports.charts import NothingToDraw, Size
from strategies.registry import IndicatorLine

HOUR = 3_600_000
T0 = 1_704_067_200_000  # 2024-01-01 00:00 UTC


def _hours(n: int) -> np.ndarray:
    return T0 + np.arange(n, dtype=np.int64) * HOUR


def _spiky_equity(n: int = 200_000, spike_at: int = 123_457) -> np.ndarray:
    """A gentle up-trend with one bar at half the equity: the deepest drawdown."""
    equity = 10_000.0 + np.arange(n, dtype=np.float64) * 0.01
    equity[spike_at] *= 0.5
    return equity


def test_it_keeps_a_one_bar_drawdown_spike_when_downsampling():
    equity = _spiky_equity()
    ts = _hours(equity.shape[0])
    dd = drawdown(equity)
    drawn_ts, drawn_dd = charts.series_for_drawing(ts, dd, Size().buckets)
    assert drawn_dd.shape[0] <= 4 * Size().buckets < equity.shape[0]
    assert drawn_dd.min() == pytest.approx(-0.5, abs=1e-4)
    assert drawn_dd.min() == dd.min()
    assert ts[123_457] in drawn_ts
    # a plain stride of the same length misses it: what the min/max reduction is for
    stride = dd[:: equity.shape[0] // drawn_dd.shape[0]]
    assert stride.min() > -0.01


def test_it_draws_the_spike_on_the_equity_and_drawdown_charts():
    equity = _spiky_equity(50_000, 31_337)
    ts = _hours(equity.shape[0])
    idx = charts.drawn_indices(equity, Size().buckets)
    assert 31_337 in idx
    svg = equity_charts.drawdown_svg(ts, equity)
    assert "max -50.0%" in svg


def test_it_breaks_the_line_over_undefined_stretches():
    values = np.array([1.0, 2.0, np.nan, np.nan, 3.0, 4.0])
    idx = charts.drawn_indices(values, buckets=1)
    # 4 kept points per bucket would keep all; force the reduction with more points
    assert list(idx) == [0, 1, -1, 4, 5]
    ts, drawn = charts.series_for_drawing(np.arange(6, dtype=np.int64) * 10, values, buckets=1)
    assert np.isnan(drawn[2]) and ts[2] == 25


def test_it_computes_the_underwater_curve():
    dd = drawdown(np.array([100.0, 110.0, 99.0, 121.0, 0.0]))
    assert dd.tolist() == pytest.approx([0.0, 0.0, -0.1, 0.0, -1.0])


def _naive_rolling_sharpe(equity, window, bars_per_year):
    r = bar_returns(equity)
    out = np.full(r.shape[0], np.nan)
    for i in range(window, r.shape[0]):
        w = r[i - window + 1 : i + 1]
        if np.count_nonzero(w) >= 2 and w.std(ddof=1) > 0:
            out[i] = w.mean() / w.std(ddof=1) * np.sqrt(bars_per_year)
    return out


def test_it_matches_a_naive_rolling_sharpe():
    rng = np.random.default_rng(7)
    equity = 1000 * np.cumprod(1 + rng.normal(0.0002, 0.01, 600))
    equity[200:260] = equity[199]  # flat: no position, Sharpe undefined
    fast = equity_charts.rolling_sharpe(equity, 30, 8760.0)
    slow = _naive_rolling_sharpe(equity, 30, 8760.0)
    assert np.array_equal(np.isnan(fast), np.isnan(slow))
    np.testing.assert_allclose(fast[~np.isnan(fast)], slow[~np.isnan(slow)], rtol=1e-7)
    assert np.isnan(fast[259]) and not np.isnan(fast[300])


def test_it_sizes_the_default_sharpe_window_as_thirty_days_of_bars():
    assert equity_charts.default_sharpe_window(_hours(100)) == 720
    assert equity_charts.default_sharpe_window(T0 + np.arange(10, dtype=np.int64) * 86_400_000) == 30


def test_it_compounds_monthly_returns_to_the_total_return():
    # 2024-01-31 23:00 and 2024-02-01 00:00 straddle a month end
    ts = np.array([T0, T0 + 30 * 24 * HOUR + 23 * HOUR, T0 + 31 * 24 * HOUR, T0 + 70 * 24 * HOUR])
    equity = np.array([1000.0, 1100.0, 1200.0, 900.0])
    monthly = return_charts.monthly_returns(ts, equity, initial=1000.0)
    assert monthly.years.tolist() == [2024]
    assert monthly.returns[0, 0] == pytest.approx(0.1)
    assert monthly.returns[0, 1] == pytest.approx(1200 / 1100 - 1)  # Feb ends at its only bar
    assert monthly.returns[0, 2] == pytest.approx(900 / 1200 - 1)
    assert np.isnan(monthly.returns[0, 3:]).all()
    assert monthly.year_returns[0] == pytest.approx(900 / 1000 - 1)


def test_it_renders_responsive_inline_svg_without_ids():
    equity = _spiky_equity(5_000, 100)
    svg = equity_charts.equity_svg(_hours(5_000), equity, currency="USDT", initial=10_000.0)
    assert svg.startswith("<svg") and "<?xml" not in svg and "<script" not in svg
    assert 'class="chart-svg"' in svg and 'viewBox="0 0 1000 ' in svg
    assert not re.search(r'<svg[^>]* width="', svg)
    # nothing several charts inlined in one page could resolve in each other
    assert ' id="' not in svg and "url(#" not in svg
    assert "equity (USDT)" in svg and "2024 (UTC)" in svg


def test_stacked_time_charts_share_their_plot_area():
    ts, equity = _hours(3000), _spiky_equity(3000, 1000)
    boxes = []
    for svg in (
        equity_charts.equity_svg(ts, equity, initial=10_000.0),
        equity_charts.drawdown_svg(ts, equity),
        equity_charts.rolling_sharpe_svg(ts, equity + np.sin(np.arange(3000)) * 50, 100),
        price_chart.price_with_trades_svg(ts, equity, _marks(0, [])),
    ):
        # the vertical axis line of the (first) panel, and the x of the first and last tick
        axis = re.search(r'<path d="M([\d.]+),[\d.]+V[\d.]+" stroke="#9ca3af"', svg)
        ticks = [
            float(x)
            for x in re.findall(
                r'<text x="([\d.]+)" y="[\d.]+" font-size="11" fill="#374151" text-anchor="middle">', svg
            )
        ]
        boxes.append((float(axis.group(1)), ticks[0], ticks[-1]))
    assert len(set(boxes)) == 1, boxes


def test_it_draws_the_log_scale_and_the_worst_drawdown_bands():
    ts = _hours(2000)
    equity = 10_000 * np.exp(np.linspace(0, 3, 2000)) * (1 - 0.2 * (np.arange(2000) % 400 > 300))
    svg = equity_charts.equity_svg(
        ts,
        equity,
        initial=10_000.0,
        log=True,
        periods=equity_charts.Periods(ts[[301, 701]], ts[[400, 800]], ("1", "2")),
    )
    assert "log scale" in svg
    # ticks of a log axis over 10,000…200,000: 1-2-5 per decade
    for label in ("10,000", "20,000", "50,000", "100,000"):
        assert f">{label}</text>" in svg
    assert 'font-weight="bold"' in svg and ">1</text>" in svg and ">2</text>" in svg


def _marks(n: int, reasons: list[str]) -> TradeArrays:
    return TradeArrays(
        entry_time=T0 + np.arange(n, dtype=np.int64) * 10 * HOUR,
        exit_time=T0 + np.arange(n, dtype=np.int64) * 10 * HOUR + 5 * HOUR,
        entry_price=np.full(n, 100.0),
        exit_price=np.full(n, 101.0),
        side=np.where(np.arange(n) % 2 == 0, 1, -1).astype(np.int8),
        exit_reason=np.array(reasons, dtype=object),
        trade_return=np.linspace(-0.5, 0.5, n),
        pnl=np.linspace(-50.0, 50.0, n),
        bars_held=np.full(n, 5),
    )


def test_it_marks_entries_exits_and_stops_on_the_price_chart():
    ts = _hours(100)
    close = 100 + np.sin(np.arange(100) / 5)
    svg = price_chart.price_with_trades_svg(
        ts, close, _marks(4, ["signal", "stop", "take_profit", "end"]), symbol="BTC"
    )
    for label in ("long entry (2)", "short entry (2)", "exit (2)", "stop exit (1)", "take profit (1)"):
        assert label in svg
    # an entry→exit line per trade: two winners (green), two losers (red)
    assert svg.count('stroke="#1a9850" stroke-width="1.4"') == 1
    assert svg.count('stroke="#d73027" stroke-width="1.4"') == 1
    assert "liquidation" not in svg
    empty = price_chart.price_with_trades_svg(ts, close, _marks(0, []))
    assert "entry" not in empty


def test_it_caps_trade_markers_and_says_so(monkeypatch):
    monkeypatch.setattr(price_chart, "MAX_TRADE_MARKERS", 3)
    svg = price_chart.price_with_trades_svg(_hours(100), np.full(100, 100.0), _marks(8, ["signal"] * 8))
    assert "markers: 3 of 8 trades" in svg


def test_it_keeps_every_exit_reason_when_thinning_markers():
    marks = _marks(10, ["signal"] * 8 + ["stop", "liquidation"])
    returns = np.array([0.01, -0.4, 0.02, 0.3, -0.03, 0.5, 0.04, -0.05, -0.06, -1.0])
    marks = TradeArrays(**{**vars(marks), "trade_return": returns})
    # 4 markers: the signal exits get round(4 · 8/10) = 3, the largest |return| first;
    # the one stop and the one liquidation keep theirs
    assert price_chart.markers_to_keep(marks, 4).tolist() == [1, 3, 5, 8, 9]


def test_it_says_why_a_chart_has_nothing_to_draw():
    with pytest.raises(NothingToDraw, match="No trades"):
        return_charts.trade_returns_svg(np.array([]))
    flat = np.full(2000, 10_000.0)
    with pytest.raises(NothingToDraw, match="never moved"):
        equity_charts.rolling_sharpe_svg(_hours(2000), flat, 100)
    with pytest.raises(NothingToDraw, match="not more than the 720-bar window"):
        equity_charts.rolling_sharpe_svg(_hours(500), flat[:500], 720)


def test_it_draws_wins_and_losses_apart_in_the_trade_histogram():
    svg = return_charts.trade_returns_svg(np.array([-0.2, -0.05, 0.01, 0.03, 0.3]))
    assert "losing (2)" in svg and "winning (3)" in svg and "mean +1.80%" in svg


def test_it_puts_several_runs_on_one_comparison_chart():
    ts = _hours(300)
    curves = [
        equity_charts.Curve("#1 a v1", ts, np.linspace(10_000, 12_000, 300), 10_000.0),
        equity_charts.Curve("#2 b v1", ts, np.linspace(500, 450, 300), 500.0),
    ]
    svg = equity_charts.compare_equity_svg(curves)
    assert "#1 a v1" in svg and "#2 b v1" in svg and "return since start" in svg


def test_it_draws_the_strategys_indicators_with_the_rsi_in_its_own_panel():
    ts = _hours(300)
    close = 100 + np.sin(np.arange(300) / 9) * 5
    rsi = 50 + np.sin(np.arange(300) / 4) * 30
    svg = price_chart.price_with_trades_svg(
        ts,
        close,
        _marks(2, ["signal", "stop"]),
        indicators=[
            IndicatorLine("trend EMA 200", close * 0.99),
            IndicatorLine("RSI 14", rsi, "lower", (30, 70), (0, 100)),
        ],
    )
    assert "trend EMA 200" in svg and ">RSI 14</text>" in svg
    assert ">30</text>" in svg and ">70</text>" in svg  # the levels label the lower panel


def test_a_short_run_gets_one_row_of_its_own_months():
    ts = T0 + np.arange(24 * 80, dtype=np.int64) * HOUR  # Jan–Mar 2024
    monthly = return_charts.monthly_returns(ts, np.linspace(1000, 1100, ts.shape[0]), 1000.0)
    svg = return_charts.monthly_returns_svg(monthly)
    assert svg.count("<rect") == 3
    assert ">Jan 2024</text>" in svg and ">Mar 2024</text>" in svg and ">Apr" not in svg
    long_ts = T0 + np.arange(24 * 500, dtype=np.int64) * HOUR
    grid = return_charts.monthly_returns_svg(
        return_charts.monthly_returns(long_ts, np.linspace(1000, 1100, long_ts.shape[0]))
    )
    assert grid.count("<rect") == 24 and ">2025</text>" in grid


def test_the_daily_distribution_marks_var_and_cvar():
    daily = np.random.default_rng(3).normal(0, 0.02, 200)
    svg = return_charts.return_distribution_svg(daily, var=-0.033, cvar=-0.041)
    assert "VaR 95% -3.30%" in svg and "CVaR 95% -4.10%" in svg
    with pytest.raises(NothingToDraw, match="fewer than two days"):
        return_charts.return_distribution_svg(daily[:1], var=None, cvar=None)


def test_the_benchmark_chart_labels_both_final_returns():
    ts = _hours(100)
    svg = equity_charts.benchmark_svg(
        ts, np.linspace(10_000, 12_000, 100), np.linspace(1, 0.9, 100), initial=10_000.0
    )
    assert "strategy +20.0%" in svg and "buy and hold -10.0%" in svg

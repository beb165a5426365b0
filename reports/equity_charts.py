"""The charts of a run's equity over time: the equity curve, the underwater curve, the
rolling Sharpe ratio, strategy against buy and hold, and the comparison of several runs
(see ``reports.charts`` for the conventions)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from reports import charts
from reports.analytics.returns import bar_returns, drawdown, minutes_per_bar
from reports.svg_chart import Chart

# Default sizes (the run report passes its own: ``chart_sections.CHART_SIZES``).
EQUITY_SIZE = charts.Size(1000, 320)
DRAWDOWN_SIZE = charts.Size(1000, 220)
ROLLING_SHARPE_SIZE = charts.Size(1000, 240)
BENCHMARK_SIZE = charts.Size(1000, 300)
COMPARE_SIZE = charts.Size(1000, 340)


def default_sharpe_window(ts: np.ndarray, days: float = 30.0) -> int:
    """``days`` worth of bars (at least 2)."""
    return max(2, round(days * 1440.0 / max(minutes_per_bar(ts), 1e-9)))


def rolling_sharpe(equity: np.ndarray, window: int, bars_per_year: float) -> np.ndarray:
    """Annualised Sharpe over the ``window`` bar returns ending at each bar.

    float64[n]; NaN for the first ``window`` bars and wherever the window has fewer
    than two non-zero returns or no variance (flat equity: undefined, not infinite).
    Same definition as the contract's sharpe_ratio (ddof=1). O(n) with centred
    cumulative sums, so a million bars take milliseconds.
    """
    if window < 2:
        raise ValueError(f"window must be ≥ 2 bars, got {window}")
    r = bar_returns(equity)
    n = r.shape[0]
    out = np.full(n, np.nan)
    if n <= window:
        return out
    centre = r[1:].mean()
    c = r - centre
    s1 = np.concatenate([[0.0], np.cumsum(c)])
    s2 = np.concatenate([[0.0], np.cumsum(c * c)])
    moving = np.concatenate([[0], np.cumsum(r != 0.0)])
    sum_w = s1[window + 1 :] - s1[1 : n + 1 - window]
    sq_w = s2[window + 1 :] - s2[1 : n + 1 - window]
    active = moving[window + 1 :] - moving[1 : n + 1 - window]
    mean_c = sum_w / window
    var = np.maximum(sq_w - window * mean_c * mean_c, 0.0) / (window - 1)
    std = np.sqrt(var)
    # cumulative sums leave ~1e-16 residue where the true variance is 0
    defined = (active >= 2) & (var > 1e-12 * (sq_w / window + 1e-300))
    with np.errstate(divide="ignore", invalid="ignore"):
        sharpe = (mean_c + centre) / std * np.sqrt(bars_per_year)
    out[window:] = np.where(defined, sharpe, np.nan)
    return out


@dataclass(frozen=True)
class Periods:
    """Drawdown periods to shade: start and end epoch ms, and a label for each."""

    start: np.ndarray
    end: np.ndarray
    labels: tuple[str, ...]


def equity_svg(
    ts: np.ndarray,
    equity: np.ndarray,
    *,
    size: charts.Size = EQUITY_SIZE,
    currency: str = "",
    initial: float | None = None,
    log: bool = False,
    periods: Periods | None = None,
    benchmark: np.ndarray | None = None,
) -> str:
    """Equity at each bar close; the fall below the running peak shaded red; the worst
    drawdown ``periods`` as numbered bands; ``benchmark`` (buy and hold scaled to the
    initial capital, float64[n]) as a grey line; ``log`` for a log-scale axis."""
    ts = np.asarray(ts, dtype=np.int64)
    equity = np.asarray(equity, dtype=np.float64)
    charts.check_same_length(ts, equity)
    if ts.shape[0] == 0:
        raise charts.NothingToDraw("The run has no equity curve.")
    idx = charts.drawn_indices(equity, size.buckets)
    x = ts[idx]
    eq = equity[idx]
    # The peak is taken on the full series: a peak between drawn points still counts.
    peak = np.maximum.accumulate(equity)[idx]
    chart, (panel,) = charts.time_chart(ts, size)
    extra = [] if initial is None else [np.array([initial])]
    bench = None
    if benchmark is not None:
        bench = np.asarray(benchmark, dtype=np.float64)[idx]
        extra.append(bench)
    lo, hi = charts.finite_range(eq, *extra)
    log = log and lo > 0
    panel.set_y(lo, hi, log=log)
    if periods is not None and periods.start.shape[0]:
        panel.vspans(periods.start, periods.end, charts.COLOR_LOSS, 0.08, periods.labels)
    below = np.where(eq < peak, eq, peak)
    panel.fill_between(x, below, peak, charts.COLOR_LOSS, 0.28)
    if initial is not None:
        panel.hline(initial, charts.COLOR_MUTED, 1.0, "2,3")
    if bench is not None:
        panel.line(x, bench, charts.COLOR_BENCH, 1.2)
    panel.line(x, eq, charts.COLOR_LINE, 1.4)
    unit = f" ({currency})" if currency else ""
    panel.auto_y_axis("amount", f"equity{unit}{', log scale' if log else ''}")
    chart.time_axis()
    chart.legend("equity", charts.COLOR_LINE)
    if bench is not None:
        chart.legend("buy and hold", charts.COLOR_BENCH)
    chart.legend("below the peak", charts.COLOR_LOSS, "area")
    if initial is not None:
        chart.legend("initial capital", charts.COLOR_MUTED, "dash")
    if periods is not None and periods.start.shape[0]:
        chart.legend_note = f"bands: the {len(periods.labels)} worst drawdowns, numbered"
    return charts.finish(chart, "Equity curve")


def drawdown_svg(ts: np.ndarray, equity: np.ndarray, *, size: charts.Size = DRAWDOWN_SIZE) -> str:
    """The underwater curve (fall from the running peak, in percent)."""
    ts = np.asarray(ts, dtype=np.int64)
    equity = np.asarray(equity, dtype=np.float64)
    charts.check_same_length(ts, equity)
    if ts.shape[0] == 0:
        raise charts.NothingToDraw("The run has no equity curve.")
    dts, dd = charts.series_for_drawing(ts, drawdown(equity), size.buckets)
    worst = float(np.nanmin(dd)) if dd.size else 0.0
    chart, (panel,) = charts.time_chart(ts, size)
    # a run that never fell below its peak still gets a readable 0 … -1% scale
    panel.set_y(min(worst, -0.01), 0.0, pad=0.04)
    panel.hi = 0.0
    panel.fill_between(dts, dd, np.zeros_like(dd), charts.COLOR_LOSS, 0.25)
    panel.line(dts, dd, charts.COLOR_LOSS, 1.1)
    panel.auto_y_axis("pct", "drawdown")
    if worst < 0:
        at = int(np.nanargmin(dd))
        right_side = at < 0.75 * dd.shape[0]
        # above the low point, on the side with room, so the axis never cuts it
        panel.label(
            float(dts[at]),
            worst - panel.lo * 0.08,
            f"max {worst * 100:.1f}%",
            color=charts.COLOR_LOSS,
            anchor="start" if right_side else "end",
            dx=8 if right_side else -8,
        )
    chart.time_axis()
    chart.top = 8
    return charts.finish(chart, "Drawdown")


def rolling_sharpe_svg(
    ts: np.ndarray, equity: np.ndarray, window: int, *, size: charts.Size = ROLLING_SHARPE_SIZE
) -> str:
    """Rolling annualised Sharpe over ``window`` bars (see ``rolling_sharpe``)."""
    ts = np.asarray(ts, dtype=np.int64)
    equity = np.asarray(equity, dtype=np.float64)
    charts.check_same_length(ts, equity)
    n = ts.shape[0]
    if n <= window:
        raise charts.NothingToDraw(f"The run has {n:,} bars, not more than the {window:,}-bar window.")
    bars_per_year = 365.0 * 1440.0 / max(minutes_per_bar(ts), 1e-9)
    sharpe = rolling_sharpe(equity, window, bars_per_year)
    if not np.isfinite(sharpe).any():
        raise charts.NothingToDraw(
            "Equity never moved within a window (no trades): the rolling Sharpe is undefined."
        )
    dts, ds = charts.series_for_drawing(ts, sharpe, size.buckets)
    chart, (panel,) = charts.time_chart(ts, size)
    panel.set_y(*charts.finite_range(ds, np.zeros(1)))
    panel.hline(0.0, charts.COLOR_MUTED, 1.0)
    panel.line(dts, ds, charts.COLOR_LINE, 1.2)
    panel.auto_y_axis("plain", f"Sharpe, {window:,}-bar window")
    chart.time_axis()
    chart.top = 10
    return charts.finish(chart, "Rolling Sharpe ratio")


def benchmark_svg(
    ts: np.ndarray,
    equity: np.ndarray,
    growth: np.ndarray,
    *,
    initial: float,
    size: charts.Size = BENCHMARK_SIZE,
) -> str:
    """Cumulative return of the strategy and of buy and hold of its market."""
    ts = np.asarray(ts, dtype=np.int64)
    equity = np.asarray(equity, dtype=np.float64)
    charts.check_same_length(ts, equity)
    if ts.shape[0] == 0:
        raise charts.NothingToDraw("The run has no equity curve.")
    strat = equity / initial - 1.0 if initial > 0 else equity / equity[0] - 1.0
    market = np.asarray(growth, dtype=np.float64) - 1.0
    idx = np.union1d(charts.drawn_indices(strat, size.buckets), charts.drawn_indices(market, size.buckets))
    chart, (panel,) = charts.time_chart(ts, size)
    panel.set_y(*charts.finite_range(strat[idx], market[idx], np.zeros(1)))
    panel.hline(0.0, charts.COLOR_MUTED, 1.0)
    panel.fill_between(ts[idx], strat[idx], market[idx], "#93c5fd", 0.25)
    panel.line(ts[idx], market[idx], charts.COLOR_BENCH, 1.3)
    panel.line(ts[idx], strat[idx], charts.COLOR_LINE, 1.4)
    panel.auto_y_axis("pct", "return since start", signed=True)
    chart.time_axis()
    chart.legend(f"strategy {strat[-1] * 100:+.1f}%", charts.COLOR_LINE)
    chart.legend(f"buy and hold {market[-1] * 100:+.1f}%", charts.COLOR_BENCH)
    chart.legend("difference", "#93c5fd", "area")
    return charts.finish(chart, "Strategy against buy and hold")


@dataclass(frozen=True)
class Curve:
    label: str
    ts: np.ndarray
    equity: np.ndarray
    initial: float


def compare_equity_svg(curves: Sequence[Curve], *, size: charts.Size = COMPARE_SIZE) -> str:
    """Several equity curves on one chart, each as its return since its own start, so
    runs with different capital share one axis."""
    drawable = [c for c in curves if np.asarray(c.ts).shape[0] > 0]
    if not drawable:
        raise charts.NothingToDraw("None of these runs has an equity curve.")
    t0 = min(int(c.ts[0]) for c in drawable)
    t1 = max(int(c.ts[-1]) for c in drawable)
    chart = Chart(size.width, size.height)
    panel = chart.panel()
    chart.set_x(float(t0), float(max(t1, t0 + 1)))
    series = []
    for curve in drawable:
        base = curve.initial if curve.initial > 0 else float(curve.equity[0])
        growth = np.asarray(curve.equity, dtype=np.float64) / base - 1.0
        series.append(charts.series_for_drawing(curve.ts, growth, size.buckets))
    panel.set_y(*charts.finite_range(*(s[1] for s in series), np.zeros(1)))
    panel.hline(0.0, charts.COLOR_MUTED, 1.0)
    for i, (curve, (dts, dg)) in enumerate(zip(drawable, series, strict=True)):
        color = charts.PALETTE[i % len(charts.PALETTE)]
        panel.line(dts, dg, color, 1.4)
        chart.legend(curve.label, color)
    panel.auto_y_axis("pct", "return since start", signed=True)
    chart.time_axis()
    return charts.finish(chart, "Equity of the compared runs")

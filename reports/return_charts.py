"""Return charts: the monthly returns grid and the histograms of trade and daily
returns (see ``reports.charts`` for the conventions)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import matplotlib as mpl
import numpy as np

from reports import charts
from reports.analytics.distribution import histogram_edges
from reports.analytics.returns import period_returns
from reports.svg import LEFT, RIGHT, TICK_TEXT, _f
from reports.svg_axes import MONTH_ABBR, nice_ticks, pct_format
from reports.svg_chart import Chart

# Default sizes (the run report passes its own: ``chart_sections.CHART_SIZES``).
MONTHLY_SIZE = charts.Size(1000, 0)
HISTOGRAM_SIZE = charts.Size(1000, 260)


@dataclass(frozen=True)
class MonthlyReturns:
    """years: int[y]; returns: float64[y, 12] (NaN for months outside the data);
    year_returns: float64[y], each year's months compounded."""

    years: np.ndarray
    returns: np.ndarray
    year_returns: np.ndarray


def monthly_returns(ts: np.ndarray, equity: np.ndarray, initial: float | None = None) -> MonthlyReturns:
    """Month-end to month-end equity returns (UTC calendar months) as a years × 12 grid
    (``returns.period_returns``: the first month from ``initial``, so the months
    compound to the total return; a month starting with equity ≤ 0 returns 0)."""
    ts = np.asarray(ts, dtype=np.int64)
    equity = np.asarray(equity, dtype=np.float64)
    charts.check_same_length(ts, equity)
    if ts.shape[0] == 0:
        empty = np.empty(0)
        return MonthlyReturns(np.empty(0, dtype=np.int64), np.empty((0, 12)), empty)
    months = period_returns(ts, equity, "month", initial)
    month_ids = months.start.astype("datetime64[ms]").astype("datetime64[M]").astype(np.int64)
    years_of = month_ids // 12 + 1970
    first_year = int(years_of[0])
    years = np.arange(first_year, int(years_of[-1]) + 1)
    grid = np.full((years.shape[0], 12), np.nan)
    grid[years_of - first_year, month_ids % 12] = months.returns
    growth = np.where(np.isnan(grid), 1.0, 1.0 + grid)
    year_returns = np.prod(growth, axis=1) - 1.0
    return MonthlyReturns(years, grid, year_returns)


def _diverging(values: np.ndarray, bound: float) -> list[str]:
    """Hex colours of ``values`` on a red-yellow-green scale clipped at ±``bound``."""
    cmap = mpl.colormaps["RdYlGn"]
    rgba = cmap(np.clip(0.5 + np.asarray(values) / (2 * bound), 0.0, 1.0))
    return [mpl.colors.to_hex(c) for c in rgba]


def monthly_returns_svg(monthly: MonthlyReturns, *, size: charts.Size = MONTHLY_SIZE) -> str:
    """Monthly returns as coloured cells, each labelled in percent: years × months, or,
    for a run spanning less than a year, one row of just its months (no empty months)."""
    years, grid = monthly.years, monthly.returns
    if years.shape[0] == 0:
        raise charts.NothingToDraw("The run has no equity curve.")
    filled = np.argwhere(np.isfinite(grid))
    first, last = filled[0], filled[-1]
    span = (last[0] - first[0]) * 12 + last[1] - first[1] + 1
    if span < 12:
        # one row, only the months the run covers
        flat = grid.ravel()[first[0] * 12 + first[1] : last[0] * 12 + last[1] + 1]
        cells = flat[None, :]
        cols = [
            f"{MONTH_ABBR[(first[1] + k) % 12]} {years[first[0]] + (first[1] + k) // 12}" for k in range(span)
        ]
        rows = [""]
    else:
        cells, cols, rows = grid, list(MONTH_ABBR), [str(y) for y in years]
    n_rows, n_cols = cells.shape
    left = 60 if rows[0] else LEFT
    cell_w = min((size.width - left - RIGHT) / n_cols, 120.0)
    cell_h = 30.0
    top = 26.0
    height = top + cell_h * n_rows + 8
    chart = Chart(size.width, height, left=left, top=top, bottom=8)
    magnitudes = np.abs(cells[np.isfinite(cells)])
    # The colour scale stops at the 90th percentile of |return|: one +1,300% month must
    # not wash every other cell out to the same pale colour (labels stay exact).
    bound = float(np.quantile(magnitudes, 0.9)) if magnitudes.size else 0.0
    bound = bound if bound > 0 else 0.01
    flat_cells = cells.ravel()
    colours = _diverging(np.nan_to_num(flat_cells), bound)
    parts = []
    for k, value in enumerate(flat_cells.tolist()):
        r, c = divmod(k, n_cols)
        x, y = left + c * cell_w, top + r * cell_h
        fill = "#f3f4f6" if not np.isfinite(value) else colours[k]
        parts.append(
            f'<rect x="{_f(x + 1)}" y="{_f(y + 1)}" width="{_f(cell_w - 2)}"'
            f' height="{_f(cell_h - 2)}" rx="2" fill="{fill}"/>'
        )
        if np.isfinite(value):
            strong = abs(value) > 0.6 * bound
            text = f"{value * 100:+.1f}%" if round(value * 100, 1) != 0 else "0.0%"
            parts.append(
                chart.text_el(
                    x + cell_w / 2,
                    y + cell_h / 2 + 4,
                    text,
                    size=11,
                    color="white" if strong else "#111827",
                    anchor="middle",
                )
            )
    for c, label in enumerate(cols):
        parts.append(
            chart.text_el(
                left + (c + 0.5) * cell_w, top - 8, label, size=11, color=TICK_TEXT, anchor="middle"
            )
        )
    for r, label in enumerate(rows):
        if label:
            parts.append(
                chart.text_el(
                    left - 8, top + (r + 0.5) * cell_h + 4, label, size=11, color=TICK_TEXT, anchor="end"
                )
            )
    chart.front.extend(parts)
    return charts.finish(chart, "Monthly returns")


def histogram_svg(
    values: np.ndarray,
    *,
    size: charts.Size = HISTOGRAM_SIZE,
    x_label: str,
    y_label: str,
    lose_label: str,
    win_label: str,
    lines: Sequence[tuple[float, str, str]] = (),
) -> str:
    """A histogram of ``values`` (fractions), bins on multiples of one width so that 0
    is an edge: the bins at or below 0 red, above 0 green; ``lines`` (x, label, colour)
    as dashed verticals."""
    values = np.asarray(values, dtype=np.float64)
    values = values[np.isfinite(values)]
    edges = histogram_edges(values)
    counts, _ = np.histogram(values, bins=edges)
    chart = Chart(size.width, size.height)
    panel = chart.panel()
    chart.set_x(float(edges[0]), float(edges[-1]), pad=0.01)
    panel.set_y(0.0, float(counts.max()), pad=0.05)
    panel.lo = 0.0
    gain = edges[:-1] >= 0
    panel.bars(edges[:-1][~gain], edges[1:][~gain], counts[~gain], charts.COLOR_LOSS)
    panel.bars(edges[:-1][gain], edges[1:][gain], counts[gain], charts.COLOR_GAIN)
    losses, wins = int((values <= 0).sum()), int((values > 0).sum())
    chart.legend(f"{lose_label} ({losses:,})", charts.COLOR_LOSS, "area")
    chart.legend(f"{win_label} ({wins:,})", charts.COLOR_GAIN, "area")
    for x, label, color in lines:
        px = float(chart.px([x])[0])
        panel.parts.append(
            f'<path d="M{_f(px)},{_f(panel.y0)}V{_f(panel.y0 + panel.h)}" stroke="{color}"'
            ' stroke-width="1.3" stroke-dasharray="5,3"/>'
        )
        chart.legend(label, color, "dash")
    ticks = nice_ticks(float(edges[0]), float(edges[-1]), 8)
    chart.x_axis(ticks, [pct_format(ticks)(t) for t in ticks], x_label)
    y_ticks = nice_ticks(0.0, panel.hi, 4)
    y_ticks = y_ticks[np.isclose(y_ticks, np.round(y_ticks))]
    panel.y_axis(y_ticks, lambda v: f"{v:,.0f}", y_label)
    return charts.finish(chart, x_label)


def trade_returns_svg(returns: np.ndarray, *, size: charts.Size = HISTOGRAM_SIZE) -> str:
    """Histogram of trade returns (pnl / margin), losses red and wins green, mean marked."""
    returns = np.asarray(returns, dtype=np.float64)
    returns = returns[np.isfinite(returns)]
    if returns.shape[0] == 0:
        raise charts.NothingToDraw("No trades: there are no trade returns to plot.")
    mean = float(returns.mean())
    return histogram_svg(
        returns,
        size=size,
        x_label="trade return (pnl / margin)",
        y_label="trades",
        lose_label="losing",
        win_label="winning",
        lines=[(mean, f"mean {mean * 100:+.2f}%", "#111827")],
    )


def return_distribution_svg(
    daily: np.ndarray, *, var: float | None, cvar: float | None, size: charts.Size = HISTOGRAM_SIZE
) -> str:
    """Histogram of daily returns with the 95% VaR and CVaR marked."""
    daily = np.asarray(daily, dtype=np.float64)
    if daily.shape[0] < 2:
        raise charts.NothingToDraw(
            "The run spans fewer than two days: there is no daily distribution to plot."
        )
    lines = []
    if var is not None:
        lines.append((var, f"VaR 95% {var * 100:+.2f}%", charts.COLOR_STOP))
    if cvar is not None:
        lines.append((cvar, f"CVaR 95% {cvar * 100:+.2f}%", charts.COLOR_LIQ))
    return histogram_svg(
        daily,
        size=size,
        x_label="daily return (UTC days)",
        y_label="days",
        lose_label="down days",
        win_label="up days",
        lines=lines,
    )

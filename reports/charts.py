"""Report charts: numpy arrays in, an inline SVG string out (``reports.svg_chart``).

What every chart of a run or a comparison shares: the colours, ``Size``,
``NothingToDraw``, ``finish`` and the reduction of long series for drawing. The charts
themselves, by what they show: ``equity_charts`` (equity, drawdown, rolling Sharpe,
buy and hold, comparison), ``price_chart`` (price, indicators and trades) and
``return_charts`` (the monthly grid and the return histograms).

Framework-free (numpy, plus matplotlib's colour maps). Conventions: timestamps are
int64 epoch milliseconds (UTC); equity is float64 in the quote currency; a ``Size`` is
in SVG user units (px at the page's full width). Every time chart has the same width
and margins (``svg.LEFT``/``svg.RIGHT``), so stacked charts' time axes line up.

Long series are reduced for drawing with ``backtests.series.downsample_minmax`` to
the first, last, minimum and maximum point of every two pixel columns, so a one-bar
drawdown spike still reaches its true depth on the chart. A chart with nothing to
draw raises ``NothingToDraw`` with a sentence for the reader instead of drawing an
empty frame. Every chart goes through ``finish`` (tests count its calls to prove the
cache is used), called as ``charts.finish`` so that the count sees every module's.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from backtests.series import downsample_minmax
from reports import svg
from reports.svg_chart import Chart, Panel

# Bump when a chart's drawing changes, so cached SVGs of the old look are not served.
CHART_CACHE_VERSION = 3

COLOR_LINE = "#1f4e79"
COLOR_BENCH = "#9ca3af"
COLOR_GAIN = "#1a9850"
COLOR_LOSS = "#d73027"
COLOR_STOP = "#f46d43"
COLOR_TAKE = "#4575b4"
COLOR_LIQ = "#762a83"
COLOR_MUTED = "#6b7280"
COLOR_OVERLAYS = ("#b45309", "#7c3aed", "#0e7490")
PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b")


class NothingToDraw(Exception):
    """The data holds nothing this chart can show; the message says why, for the reader."""


@dataclass(frozen=True)
class Size:
    width: float = 1000.0
    height: float = 300.0

    @property
    def buckets(self) -> int:
        """One min/max bucket per three pixel columns of the plot area (up to four
        points each: plenty for a line 1.4 px wide)."""
        return max(50, int((self.width - svg.LEFT - svg.RIGHT) / 3))

    def key(self) -> str:
        return f"{self.width:g}x{self.height:g}"


def finish(chart: Chart, label: str) -> str:
    """The chart's SVG text (the one place a chart is serialised)."""
    return chart.render(label=label)


# --- data preparation (pure numpy; what the charts draw) ---------------------------


def drawn_indices(values: np.ndarray, buckets: int) -> np.ndarray:
    """Indices of ``values`` to draw: min/max per bucket over the finite points.

    Non-finite points are skipped; where one or more lay between two kept points a
    ``-1`` is inserted, which the caller turns into a NaN so the line breaks there
    instead of bridging an undefined stretch.
    """
    values = np.asarray(values, dtype=np.float64)
    finite = np.isfinite(values)
    index = np.flatnonzero(finite)
    if index.size == 0:
        return np.empty(0, dtype=np.int64)
    kept, _ = downsample_minmax(index.astype(np.int64), values[index], buckets)
    kept = np.asarray(kept, dtype=np.int64)
    if index.size == values.size:
        return kept
    holes = np.concatenate([[0], np.cumsum(~finite)])
    gap_after = np.flatnonzero(holes[kept[1:]] - holes[kept[:-1] + 1] > 0)
    return np.insert(kept, gap_after + 1, -1)


def _take(array: np.ndarray, idx: np.ndarray, fill) -> np.ndarray:
    out = np.asarray(array)[np.where(idx < 0, 0, idx)]
    if (idx < 0).any():
        out = out.astype(np.float64) if out.dtype.kind == "f" else out.copy()
        out[idx < 0] = fill
    return out


def series_for_drawing(ts: np.ndarray, values: np.ndarray, buckets: int) -> tuple[np.ndarray, np.ndarray]:
    """(ts, values) reduced to min/max per bucket; NaN marks a break in the line."""
    ts = np.asarray(ts, dtype=np.int64)
    values = np.asarray(values, dtype=np.float64)
    check_same_length(ts, values)
    idx = drawn_indices(values, buckets)
    dts = _take(ts, idx, 0)
    if (idx < 0).any():
        # a break point sits halfway in time between its neighbours
        breaks = np.flatnonzero(idx < 0)
        dts[breaks] = (dts[breaks - 1] + dts[breaks + 1]) // 2
    return dts, _take(values, idx, np.nan)


def check_same_length(ts: np.ndarray, values: np.ndarray) -> None:
    if ts.shape[0] != values.shape[0]:
        raise ValueError(f"ts has {ts.shape[0]} points but values has {values.shape[0]}")


def time_chart(ts: np.ndarray, size: Size, weights: Sequence[float] = (1.0,)) -> tuple[Chart, list[Panel]]:
    """A chart of ``size`` with panels in proportion to ``weights``, its x axis over ``ts``."""
    chart = Chart(size.width, size.height)
    panels = chart.add_panels(weights)
    chart.set_x(float(ts[0]), float(ts[-1]) if ts.shape[0] > 1 else float(ts[0]) + 1)
    return chart, panels


def finite_range(*arrays: np.ndarray) -> tuple[float, float]:
    """The smallest and largest finite value of ``arrays`` ((0, 1) when there is none)."""
    values = np.concatenate([np.asarray(a, dtype=np.float64).ravel() for a in arrays])
    values = values[np.isfinite(values)]
    if values.shape[0] == 0:
        return 0.0, 1.0
    return float(values.min()), float(values.max())

"""Report charts: numpy arrays in, an inline SVG string out (``reports.svg``).

Framework-free (numpy, plus matplotlib's colour maps). Conventions: timestamps are
int64 epoch milliseconds (UTC); equity is float64 in the quote currency; a ``Size`` is
in SVG user units (px at the page's full width). Every time chart has the same width
and margins (``svg.LEFT``/``svg.RIGHT``), so stacked charts' time axes line up.

Long series are reduced for drawing with ``backtests.series.downsample_minmax`` to
the first, last, minimum and maximum point of every two pixel columns, so a one-bar
drawdown spike still reaches its true depth on the chart. A chart with nothing to
draw raises ``NothingToDraw`` with a sentence for the reader instead of drawing an
empty frame. Every chart goes through ``finish`` (tests count its calls to prove the
cache is used).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import matplotlib as mpl
import numpy as np

from backtests.series import downsample_minmax
from reports import svg
from reports.analytics.distribution import histogram_edges
from reports.analytics.returns import bar_returns, drawdown, minutes_per_bar, period_returns

__all__ = ["bar_returns", "drawdown"]

# Beyond this many trades the price chart keeps the markers of the largest |return|:
# at a thousand pixels wide more markers only overlap, and the SVG grows without bound.
MAX_TRADE_MARKERS = 1500
# Entry→exit segments are drawn up to this many trades (beyond, they are a smear).
MAX_TRADE_SEGMENTS = 400

MONTH_NAMES = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")

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


def finish(chart: svg.Chart, label: str) -> str:
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
    _check_same_length(ts, values)
    idx = drawn_indices(values, buckets)
    dts = _take(ts, idx, 0)
    if (idx < 0).any():
        # a break point sits halfway in time between its neighbours
        breaks = np.flatnonzero(idx < 0)
        dts[breaks] = (dts[breaks - 1] + dts[breaks + 1]) // 2
    return dts, _take(values, idx, np.nan)


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
    _check_same_length(ts, equity)
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


def _check_same_length(ts: np.ndarray, values: np.ndarray) -> None:
    if ts.shape[0] != values.shape[0]:
        raise ValueError(f"ts has {ts.shape[0]} points but values has {values.shape[0]}")


# --- the charts ---------------------------------------------------------------------


def _time_chart(ts: np.ndarray, size: Size, weights: Sequence[float] = (1.0,)) -> tuple[svg.Chart, list]:
    chart = svg.Chart(size.width, size.height)
    panels = chart.add_panels(weights)
    chart.set_x(float(ts[0]), float(ts[-1]) if ts.shape[0] > 1 else float(ts[0]) + 1)
    return chart, panels


def _finite_range(*arrays: np.ndarray) -> tuple[float, float]:
    values = np.concatenate([np.asarray(a, dtype=np.float64).ravel() for a in arrays])
    values = values[np.isfinite(values)]
    if values.shape[0] == 0:
        return 0.0, 1.0
    return float(values.min()), float(values.max())


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
    size: Size = Size(1000, 320),
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
    _check_same_length(ts, equity)
    if ts.shape[0] == 0:
        raise NothingToDraw("The run has no equity curve.")
    idx = drawn_indices(equity, size.buckets)
    x = ts[idx]
    eq = equity[idx]
    # The peak is taken on the full series: a peak between drawn points still counts.
    peak = np.maximum.accumulate(equity)[idx]
    chart, (panel,) = _time_chart(ts, size)
    extra = [] if initial is None else [np.array([initial])]
    bench = None
    if benchmark is not None:
        bench = np.asarray(benchmark, dtype=np.float64)[idx]
        extra.append(bench)
    lo, hi = _finite_range(eq, *extra)
    log = log and lo > 0
    panel.set_y(lo, hi, log=log)
    if periods is not None and periods.start.shape[0]:
        panel.vspans(periods.start, periods.end, COLOR_LOSS, 0.08, periods.labels)
    below = np.where(eq < peak, eq, peak)
    panel.fill_between(x, below, peak, COLOR_LOSS, 0.28)
    if initial is not None:
        panel.hline(initial, COLOR_MUTED, 1.0, "2,3")
    if bench is not None:
        panel.line(x, bench, COLOR_BENCH, 1.2)
    panel.line(x, eq, COLOR_LINE, 1.4)
    unit = f" ({currency})" if currency else ""
    panel.auto_y_axis("amount", f"equity{unit}{', log scale' if log else ''}")
    chart.time_axis()
    chart.legend("equity", COLOR_LINE)
    if bench is not None:
        chart.legend("buy and hold", COLOR_BENCH)
    chart.legend("below the peak", COLOR_LOSS, "area")
    if initial is not None:
        chart.legend("initial capital", COLOR_MUTED, "dash")
    if periods is not None and periods.start.shape[0]:
        chart.legend_note = f"bands: the {len(periods.labels)} worst drawdowns, numbered"
    return finish(chart, "Equity curve")


def drawdown_svg(ts: np.ndarray, equity: np.ndarray, *, size: Size = Size(1000, 220)) -> str:
    """The underwater curve (fall from the running peak, in percent)."""
    ts = np.asarray(ts, dtype=np.int64)
    equity = np.asarray(equity, dtype=np.float64)
    _check_same_length(ts, equity)
    if ts.shape[0] == 0:
        raise NothingToDraw("The run has no equity curve.")
    dts, dd = series_for_drawing(ts, drawdown(equity), size.buckets)
    worst = float(np.nanmin(dd)) if dd.size else 0.0
    chart, (panel,) = _time_chart(ts, size)
    # a run that never fell below its peak still gets a readable 0 … -1% scale
    panel.set_y(min(worst, -0.01), 0.0, pad=0.04)
    panel.hi = 0.0
    panel.fill_between(dts, dd, np.zeros_like(dd), COLOR_LOSS, 0.25)
    panel.line(dts, dd, COLOR_LOSS, 1.1)
    panel.auto_y_axis("pct", "drawdown")
    if worst < 0:
        at = int(np.nanargmin(dd))
        right_side = at < 0.75 * dd.shape[0]
        # above the low point, on the side with room, so the axis never cuts it
        panel.label(
            float(dts[at]),
            worst - panel.lo * 0.08,
            f"max {worst * 100:.1f}%",
            color=COLOR_LOSS,
            anchor="start" if right_side else "end",
            dx=8 if right_side else -8,
        )
    chart.time_axis()
    chart.top = 8
    return finish(chart, "Drawdown")


@dataclass(frozen=True)
class TradeMarks:
    """The trades to mark on the price chart, one element per trade.

    entry_time/exit_time: int64 epoch ms; entry_price/exit_price: float64; side: int8
    (+1 long, −1 short); exit_reason: str (signal | stop | take_profit | liquidation | end);
    trade_return: float64 (used to pick the markers kept when there are too many).
    """

    entry_time: np.ndarray
    exit_time: np.ndarray
    entry_price: np.ndarray
    exit_price: np.ndarray
    side: np.ndarray
    exit_reason: np.ndarray
    trade_return: np.ndarray

    def __len__(self) -> int:
        return int(np.asarray(self.entry_time).shape[0])

    @classmethod
    def from_rows(cls, rows: Sequence[Mapping]) -> TradeMarks:
        """From dicts with the contract's trade keys (``side`` "long"/"short", ``return``)."""
        return cls(
            entry_time=np.array([r["entry_time"] for r in rows], dtype=np.int64),
            exit_time=np.array([r["exit_time"] for r in rows], dtype=np.int64),
            entry_price=np.array([r["entry_price"] for r in rows], dtype=np.float64),
            exit_price=np.array([r["exit_price"] for r in rows], dtype=np.float64),
            side=np.array([1 if r["side"] == "long" else -1 for r in rows], dtype=np.int8),
            exit_reason=np.array([r["exit_reason"] for r in rows], dtype=object),
            trade_return=np.array([r["return"] for r in rows], dtype=np.float64),
        )

    def subset(self, keep: np.ndarray) -> TradeMarks:
        return TradeMarks(*(np.asarray(getattr(self, f))[keep] for f in self.__dataclass_fields__))


def markers_to_keep(trades: TradeMarks, cap: int) -> np.ndarray:
    """Indices (in time order) of about ``cap`` trades to mark: each exit reason keeps
    its share of the cap (at least one), taking its largest |return| first, so that a
    rare kind (a liquidation, the stops) is never thinned away by a common one."""
    reasons = np.asarray(trades.exit_reason).astype(str)
    magnitude = np.abs(np.nan_to_num(np.asarray(trades.trade_return, dtype=np.float64)))
    total = reasons.shape[0]
    keep = []
    for reason in np.unique(reasons):
        idx = np.flatnonzero(reasons == reason)
        quota = max(1, round(cap * idx.shape[0] / total))
        keep.append(idx[np.argsort(-magnitude[idx], kind="stable")[:quota]])
    return np.sort(np.concatenate(keep)) if keep else np.empty(0, dtype=np.int64)


@dataclass(frozen=True)
class Indicator:
    """A series drawn with the price: ``panel`` "price" (over the close, e.g. a trend
    EMA) or "lower" (an oscillator under it, e.g. RSI, with ``levels`` as dashed lines
    and ``bounds`` as its fixed y range)."""

    label: str
    values: np.ndarray
    panel: str = "price"
    levels: tuple[float, ...] = ()
    bounds: tuple[float, float] | None = None


def price_with_trades_svg(
    ts: np.ndarray,
    close: np.ndarray,
    trades: TradeMarks,
    *,
    size: Size = Size(1000, 440),
    currency: str = "",
    symbol: str = "",
    indicators: Sequence[Indicator] = (),
) -> str:
    """Close price with the strategy's indicators, entries (▲ long, ▼ short), exits
    (○ signal/end, ✕ stop, ★ take profit, ✕ purple liquidation) and a line from each
    entry to its exit (green for a winning trade, red for a losing one); an oscillator
    indicator gets its own panel under the price. Above ``MAX_TRADE_MARKERS`` trades a
    share of them is marked (``markers_to_keep``), and the chart says so."""
    ts = np.asarray(ts, dtype=np.int64)
    close = np.asarray(close, dtype=np.float64)
    _check_same_length(ts, close)
    if ts.shape[0] == 0:
        raise NothingToDraw("No candles to draw.")
    total = len(trades)
    shown = (
        trades if total <= MAX_TRADE_MARKERS else trades.subset(markers_to_keep(trades, MAX_TRADE_MARKERS))
    )
    lower = [ind for ind in indicators if ind.panel == "lower"]
    chart, panels = _time_chart(ts, size, (3.0, 1.0) if lower else (1.0,))
    price = panels[0]
    idx = drawn_indices(close, size.buckets)
    overlays = [
        (ind, np.asarray(ind.values, dtype=np.float64)[idx]) for ind in indicators if ind.panel == "price"
    ]
    lo, hi = _finite_range(close[idx], *(v for _, v in overlays))
    price.set_y(lo, hi)
    x = ts[idx]
    price.line(x, close[idx], "#4b5563", 1.0)
    chart.legend(f"{symbol} close" if symbol else "close", "#4b5563")
    for color, (ind, values) in zip(COLOR_OVERLAYS, overlays, strict=False):
        price.line(x, values, color, 1.3)
        chart.legend(ind.label, color)
    side = np.asarray(shown.side)
    reason = np.asarray(shown.exit_reason).astype(str)
    won = np.asarray(shown.trade_return) > 0
    if 0 < len(shown) <= MAX_TRADE_SEGMENTS:
        for mask, color in ((won, COLOR_GAIN), (~won, COLOR_LOSS)):
            price.segments(
                (shown.entry_time[mask], shown.entry_price[mask]),
                (shown.exit_time[mask], shown.exit_price[mask]),
                color,
                width=1.4,
                opacity=0.7,
            )
    small = len(shown) > 200
    s = 3.0 if small else 4.5
    marks = (
        (side > 0, shown.entry_time, shown.entry_price, "up", COLOR_GAIN, "long entry"),
        (side < 0, shown.entry_time, shown.entry_price, "down", COLOR_LOSS, "short entry"),
        (np.isin(reason, ("signal", "end")), shown.exit_time, shown.exit_price, "hollow", "#111827", "exit"),
        (reason == "stop", shown.exit_time, shown.exit_price, "x", COLOR_STOP, "stop exit"),
        (reason == "take_profit", shown.exit_time, shown.exit_price, "star", COLOR_TAKE, "take profit"),
        (reason == "liquidation", shown.exit_time, shown.exit_price, "x", COLOR_LIQ, "liquidation"),
    )
    for mask, xs, ys, shape, color, label in marks:
        if mask.any():
            price.markers(
                np.asarray(xs)[mask],
                np.asarray(ys)[mask],
                "circle" if shape == "hollow" else shape,
                color,
                size=s,
                hollow=shape == "hollow",
            )
            chart.legend(f"{label} ({int(mask.sum()):,})", color, shape)
    price.auto_y_axis("amount", f"price ({currency})" if currency else "price")
    for ind, panel in zip(lower, panels[1:], strict=False):
        values = np.asarray(ind.values, dtype=np.float64)
        dts, dv = series_for_drawing(ts, values, size.buckets)
        if ind.bounds:
            panel.set_y(*ind.bounds, pad=0.0)
        else:
            panel.set_y(*_finite_range(dv))
        for level in ind.levels:
            panel.hline(level, COLOR_MUTED, 1.0, "4,3")
        panel.line(dts, dv, COLOR_OVERLAYS[1], 1.1)
        ticks = np.array(ind.levels) if ind.levels else svg.nice_ticks(panel.lo, panel.hi, 3)
        panel.y_axis(ticks, lambda v: f"{v:g}", ind.label)
    chart.time_axis()
    if total > len(shown):
        chart.legend_note = (
            f"markers: {len(shown):,} of {total:,} trades (largest |return| of each exit reason)"
        )
    elif total > MAX_TRADE_SEGMENTS:
        chart.legend_note = f"entry→exit lines left out above {MAX_TRADE_SEGMENTS:,} trades"
    return finish(chart, "Price and trades")


def _diverging(values: np.ndarray, bound: float) -> list[str]:
    """Hex colours of ``values`` on a red-yellow-green scale clipped at ±``bound``."""
    cmap = mpl.colormaps["RdYlGn"]
    rgba = cmap(np.clip(0.5 + np.asarray(values) / (2 * bound), 0.0, 1.0))
    return [mpl.colors.to_hex(c) for c in rgba]


def monthly_returns_svg(monthly: MonthlyReturns, *, size: Size = Size(1000, 0)) -> str:
    """Monthly returns as coloured cells, each labelled in percent: years × months, or,
    for a run spanning less than a year, one row of just its months (no empty months)."""
    years, grid = monthly.years, monthly.returns
    if years.shape[0] == 0:
        raise NothingToDraw("The run has no equity curve.")
    filled = np.argwhere(np.isfinite(grid))
    first, last = filled[0], filled[-1]
    span = (last[0] - first[0]) * 12 + last[1] - first[1] + 1
    if span < 12:
        # one row, only the months the run covers
        flat = grid.ravel()[first[0] * 12 + first[1] : last[0] * 12 + last[1] + 1]
        cells = flat[None, :]
        cols = [
            f"{MONTH_NAMES[(first[1] + k) % 12]} {years[first[0]] + (first[1] + k) // 12}"
            for k in range(span)
        ]
        rows = [""]
    else:
        cells, cols, rows = grid, list(MONTH_NAMES), [str(y) for y in years]
    n_rows, n_cols = cells.shape
    left = 60 if rows[0] else svg.LEFT
    cell_w = min((size.width - left - svg.RIGHT) / n_cols, 120.0)
    cell_h = 30.0
    top = 26.0
    height = top + cell_h * n_rows + 8
    chart = svg.Chart(size.width, height, left=left, top=top, bottom=8)
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
            f'<rect x="{svg._f(x + 1)}" y="{svg._f(y + 1)}" width="{svg._f(cell_w - 2)}"'
            f' height="{svg._f(cell_h - 2)}" rx="2" fill="{fill}"/>'
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
                left + (c + 0.5) * cell_w, top - 8, label, size=11, color=svg.TICK_TEXT, anchor="middle"
            )
        )
    for r, label in enumerate(rows):
        if label:
            parts.append(
                chart.text_el(
                    left - 8, top + (r + 0.5) * cell_h + 4, label, size=11, color=svg.TICK_TEXT, anchor="end"
                )
            )
    chart.front.extend(parts)
    return finish(chart, "Monthly returns")


def histogram_svg(
    values: np.ndarray,
    *,
    size: Size = Size(1000, 260),
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
    chart = svg.Chart(size.width, size.height)
    panel = chart.panel()
    chart.set_x(float(edges[0]), float(edges[-1]), pad=0.01)
    panel.set_y(0.0, float(counts.max()), pad=0.05)
    panel.lo = 0.0
    gain = edges[:-1] >= 0
    panel.bars(edges[:-1][~gain], edges[1:][~gain], counts[~gain], COLOR_LOSS)
    panel.bars(edges[:-1][gain], edges[1:][gain], counts[gain], COLOR_GAIN)
    losses, wins = int((values <= 0).sum()), int((values > 0).sum())
    chart.legend(f"{lose_label} ({losses:,})", COLOR_LOSS, "area")
    chart.legend(f"{win_label} ({wins:,})", COLOR_GAIN, "area")
    for x, label, color in lines:
        px = float(chart.px([x])[0])
        panel.parts.append(
            f'<path d="M{svg._f(px)},{svg._f(panel.y0)}V{svg._f(panel.y0 + panel.h)}" stroke="{color}"'
            ' stroke-width="1.3" stroke-dasharray="5,3"/>'
        )
        chart.legend(label, color, "dash")
    ticks = svg.nice_ticks(float(edges[0]), float(edges[-1]), 8)
    chart.x_axis(ticks, [svg.pct_format(ticks)(t) for t in ticks], x_label)
    y_ticks = svg.nice_ticks(0.0, panel.hi, 4)
    y_ticks = y_ticks[np.isclose(y_ticks, np.round(y_ticks))]
    panel.y_axis(y_ticks, lambda v: f"{v:,.0f}", y_label)
    return finish(chart, x_label)


def trade_returns_svg(returns: np.ndarray, *, size: Size = Size(1000, 260)) -> str:
    """Histogram of trade returns (pnl / margin), losses red and wins green, mean marked."""
    returns = np.asarray(returns, dtype=np.float64)
    returns = returns[np.isfinite(returns)]
    if returns.shape[0] == 0:
        raise NothingToDraw("No trades: there are no trade returns to plot.")
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
    daily: np.ndarray, *, var: float | None, cvar: float | None, size: Size = Size(1000, 260)
) -> str:
    """Histogram of daily returns with the 95% VaR and CVaR marked."""
    daily = np.asarray(daily, dtype=np.float64)
    if daily.shape[0] < 2:
        raise NothingToDraw("The run spans fewer than two days: there is no daily distribution to plot.")
    lines = []
    if var is not None:
        lines.append((var, f"VaR 95% {var * 100:+.2f}%", COLOR_STOP))
    if cvar is not None:
        lines.append((cvar, f"CVaR 95% {cvar * 100:+.2f}%", COLOR_LIQ))
    return histogram_svg(
        daily,
        size=size,
        x_label="daily return (UTC days)",
        y_label="days",
        lose_label="down days",
        win_label="up days",
        lines=lines,
    )


def rolling_sharpe_svg(
    ts: np.ndarray, equity: np.ndarray, window: int, *, size: Size = Size(1000, 240)
) -> str:
    """Rolling annualised Sharpe over ``window`` bars (see ``rolling_sharpe``)."""
    ts = np.asarray(ts, dtype=np.int64)
    equity = np.asarray(equity, dtype=np.float64)
    _check_same_length(ts, equity)
    n = ts.shape[0]
    if n <= window:
        raise NothingToDraw(f"The run has {n:,} bars, not more than the {window:,}-bar window.")
    bars_per_year = 365.0 * 1440.0 / max(minutes_per_bar(ts), 1e-9)
    sharpe = rolling_sharpe(equity, window, bars_per_year)
    if not np.isfinite(sharpe).any():
        raise NothingToDraw(
            "Equity never moved within a window (no trades): the rolling Sharpe is undefined."
        )
    dts, ds = series_for_drawing(ts, sharpe, size.buckets)
    chart, (panel,) = _time_chart(ts, size)
    panel.set_y(*_finite_range(ds, np.zeros(1)))
    panel.hline(0.0, COLOR_MUTED, 1.0)
    panel.line(dts, ds, COLOR_LINE, 1.2)
    panel.auto_y_axis("plain", f"Sharpe, {window:,}-bar window")
    chart.time_axis()
    chart.top = 10
    return finish(chart, "Rolling Sharpe ratio")


def benchmark_svg(
    ts: np.ndarray, equity: np.ndarray, growth: np.ndarray, *, initial: float, size: Size = Size(1000, 300)
) -> str:
    """Cumulative return of the strategy and of buy and hold of its market."""
    ts = np.asarray(ts, dtype=np.int64)
    equity = np.asarray(equity, dtype=np.float64)
    _check_same_length(ts, equity)
    if ts.shape[0] == 0:
        raise NothingToDraw("The run has no equity curve.")
    strat = equity / initial - 1.0 if initial > 0 else equity / equity[0] - 1.0
    market = np.asarray(growth, dtype=np.float64) - 1.0
    idx = np.union1d(drawn_indices(strat, size.buckets), drawn_indices(market, size.buckets))
    chart, (panel,) = _time_chart(ts, size)
    panel.set_y(*_finite_range(strat[idx], market[idx], np.zeros(1)))
    panel.hline(0.0, COLOR_MUTED, 1.0)
    panel.fill_between(ts[idx], strat[idx], market[idx], "#93c5fd", 0.25)
    panel.line(ts[idx], market[idx], COLOR_BENCH, 1.3)
    panel.line(ts[idx], strat[idx], COLOR_LINE, 1.4)
    panel.auto_y_axis("pct", "return since start", signed=True)
    chart.time_axis()
    chart.legend(f"strategy {strat[-1] * 100:+.1f}%", COLOR_LINE)
    chart.legend(f"buy and hold {market[-1] * 100:+.1f}%", COLOR_BENCH)
    chart.legend("difference", "#93c5fd", "area")
    return finish(chart, "Strategy against buy and hold")


@dataclass(frozen=True)
class Curve:
    label: str
    ts: np.ndarray
    equity: np.ndarray
    initial: float


def compare_equity_svg(curves: Sequence[Curve], *, size: Size = Size(1000, 340)) -> str:
    """Several equity curves on one chart, each as its return since its own start, so
    runs with different capital share one axis."""
    drawable = [c for c in curves if np.asarray(c.ts).shape[0] > 0]
    if not drawable:
        raise NothingToDraw("None of these runs has an equity curve.")
    t0 = min(int(c.ts[0]) for c in drawable)
    t1 = max(int(c.ts[-1]) for c in drawable)
    chart = svg.Chart(size.width, size.height)
    panel = chart.panel()
    chart.set_x(float(t0), float(max(t1, t0 + 1)))
    series = []
    for curve in drawable:
        base = curve.initial if curve.initial > 0 else float(curve.equity[0])
        growth = np.asarray(curve.equity, dtype=np.float64) / base - 1.0
        series.append(series_for_drawing(curve.ts, growth, size.buckets))
    panel.set_y(*_finite_range(*(s[1] for s in series), np.zeros(1)))
    panel.hline(0.0, COLOR_MUTED, 1.0)
    for i, (curve, (dts, dg)) in enumerate(zip(drawable, series, strict=True)):
        color = PALETTE[i % len(PALETTE)]
        panel.line(dts, dg, color, 1.4)
        chart.legend(curve.label, color)
    panel.auto_y_axis("pct", "return since start", signed=True)
    chart.time_axis()
    return finish(chart, "Equity of the compared runs")

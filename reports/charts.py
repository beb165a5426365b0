"""Report charts: numpy arrays in, an inline SVG string out.

Framework-free (numpy + matplotlib only). Figures are built with
``matplotlib.figure.Figure`` directly, never through pyplot, so no global figure
state is shared between threads and no GUI backend is ever selected.

Conventions: timestamps are int64 epoch milliseconds (UTC); equity is float64 in the
quote currency; sizes are in inches. Long series are reduced for drawing with
``backtests.series.downsample_minmax`` to about one min/max pair per horizontal
pixel (``PIXELS_PER_INCH``), so a one-bar drawdown spike still reaches its true depth
on the chart. A chart with nothing to draw raises ``NothingToDraw`` with a sentence
for the reader instead of drawing an empty frame.

Every SVG goes through ``svg_from_figure``; it is the single place where matplotlib
serialises a figure (tests count its calls to prove the cache is used).
"""

from __future__ import annotations

import functools
import io
import re
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

import matplotlib as mpl
import numpy as np
from matplotlib import dates as mdates
from matplotlib import ticker
from matplotlib.colors import TwoSlopeNorm
from matplotlib.figure import Figure

from backtests.series import downsample_minmax

# About one min/max pair per pixel of a chart drawn at this density.
PIXELS_PER_INCH = 100
# Beyond this many trades the price chart keeps the markers of the largest |return|:
# at a thousand pixels wide more markers only overlap, and the SVG grows without bound.
MAX_TRADE_MARKERS = 1500

MONTH_NAMES = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")

COLOR_LINE = "#1f4e79"
COLOR_GAIN = "#1a9850"
COLOR_LOSS = "#d73027"
COLOR_STOP = "#f46d43"
COLOR_TAKE = "#4575b4"
COLOR_LIQ = "#762a83"
COLOR_MUTED = "#6b7280"
COLOR_GRID = "#e5e7eb"

RC = {
    # Text stays text in the SVG (selectable, small); the page and WeasyPrint have DejaVu.
    "svg.fonttype": "none",
    "svg.hashsalt": "backtest-report",
    "font.family": "DejaVu Sans",
    "font.size": 9,
    "axes.titlesize": 10,
    "axes.labelsize": 9,
    "axes.edgecolor": "#9ca3af",
    "axes.linewidth": 0.8,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.color": COLOR_GRID,
    "grid.linewidth": 0.6,
    "xtick.color": "#374151",
    "ytick.color": "#374151",
    "xtick.labelsize": 8,
    "ytick.labelsize": 8,
    "legend.fontsize": 8,
    "legend.frameon": False,
    "lines.linewidth": 1.1,
    # ASCII minus: the SVG is inlined into pages whose encoding a saved copy may lose.
    "axes.unicode_minus": False,
}


# rcParams are process-global and matplotlib reads them while building and saving a
# figure; rc_context restores the previous values on exit, so two threads drawing at
# once could each see the other's restore half-way through a chart. One re-entrant
# lock per process: charts are drawn once and then cached, so it is rarely contended.
_STYLE_LOCK = threading.RLock()


@contextmanager
def _style() -> Iterator[None]:
    with _STYLE_LOCK, mpl.rc_context(RC):
        yield


def _styled(draw: Callable[..., str]) -> Callable[..., str]:
    """Run a whole chart function under the house style (and the lock)."""

    @functools.wraps(draw)
    def wrapper(*args, **kwargs) -> str:
        with _style():
            return draw(*args, **kwargs)

    return wrapper


class NothingToDraw(Exception):
    """The data holds nothing this chart can show; the message says why, for the reader."""


@dataclass(frozen=True)
class Size:
    width: float = 10.0
    height: float = 3.4

    @property
    def buckets(self) -> int:
        return max(50, int(self.width * PIXELS_PER_INCH))

    def key(self) -> str:
        return f"{self.width:g}x{self.height:g}"


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


def running_peak(equity: np.ndarray) -> np.ndarray:
    return np.maximum.accumulate(np.asarray(equity, dtype=np.float64))


def drawdown(equity: np.ndarray) -> np.ndarray:
    """Underwater curve: e_i / max_{j≤i} e_j − 1 (≤ 0; 0 at a peak; −1 once bust)."""
    equity = np.asarray(equity, dtype=np.float64)
    peak = running_peak(equity)
    with np.errstate(divide="ignore", invalid="ignore"):
        dd = np.where(peak > 0, equity / peak - 1.0, -1.0)
    return np.minimum(dd, 0.0)


def bar_returns(equity: np.ndarray) -> np.ndarray:
    """r[0] = 0, r[i] = e_i / e_{i−1} − 1 (0 where e_{i−1} ≤ 0), as in the metrics contract."""
    equity = np.asarray(equity, dtype=np.float64)
    r = np.zeros(equity.shape[0], dtype=np.float64)
    prev = equity[:-1]
    with np.errstate(divide="ignore", invalid="ignore"):
        r[1:] = np.where(prev > 0, equity[1:] / np.where(prev > 0, prev, 1.0) - 1.0, 0.0)
    return r


def minutes_per_bar(ts: np.ndarray) -> float:
    """The median bar step in minutes (1.0 for fewer than two bars)."""
    ts = np.asarray(ts, dtype=np.int64)
    if ts.shape[0] < 2:
        return 1.0
    return float(np.median(np.diff(ts))) / 60_000.0


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
    """Month-end to month-end equity returns (UTC calendar months).

    The first month is measured from ``initial`` (the initial capital, so that the
    months compound to the total return) or, when None, from the first equity value.
    A month that starts with equity ≤ 0 returns 0, as bar returns do in the contract.
    """
    ts = np.asarray(ts, dtype=np.int64)
    equity = np.asarray(equity, dtype=np.float64)
    _check_same_length(ts, equity)
    if ts.shape[0] == 0:
        empty = np.empty(0)
        return MonthlyReturns(np.empty(0, dtype=np.int64), np.empty((0, 12)), empty)
    months = ts.astype("datetime64[ms]").astype("datetime64[M]").astype(np.int64)
    last = np.append(np.flatnonzero(months[1:] != months[:-1]), ts.shape[0] - 1)
    end_equity = equity[last]
    start = float(equity[0] if initial is None else initial)
    base = np.concatenate([[start], end_equity[:-1]])
    with np.errstate(divide="ignore", invalid="ignore"):
        rets = np.where(base > 0, end_equity / np.where(base > 0, base, 1.0) - 1.0, 0.0)
    month_ids = months[last]
    years_of = month_ids // 12 + 1970
    first_year = int(years_of[0])
    years = np.arange(first_year, int(years_of[-1]) + 1)
    grid = np.full((years.shape[0], 12), np.nan)
    grid[years_of - first_year, month_ids % 12] = rets
    growth = np.where(np.isnan(grid), 1.0, 1.0 + grid)
    year_returns = np.prod(growth, axis=1) - 1.0
    return MonthlyReturns(years, grid, year_returns)


def _check_same_length(ts: np.ndarray, values: np.ndarray) -> None:
    if ts.shape[0] != values.shape[0]:
        raise ValueError(f"ts has {ts.shape[0]} points but values has {values.shape[0]}")


# --- figure plumbing ----------------------------------------------------------------

_ID_REF = re.compile(r'(\bid="|href="#|url\(#)')


def svg_from_figure(fig: Figure, id_prefix: str = "c") -> str:
    """The figure as an ``<svg>`` element that scales to its container's width.

    The XML prolog and metadata are dropped (not valid inside HTML), the fixed
    width/height become a viewBox-only responsive size, styles become presentation
    attributes, and every id is prefixed so that several charts inlined in one page
    never resolve each other's clip paths or markers.
    """
    buf = io.StringIO()
    with _style():
        fig.savefig(buf, format="svg", metadata={"Date": None, "Creator": None})
    text = buf.getvalue()
    text = text[text.index("<svg") :]
    text = re.sub(r"<metadata>.*?</metadata>\s*", "", text, count=1, flags=re.S)
    # The defaults matplotlib puts in a <style> element would leak into the page's CSS
    # (a bare "*" rule); as attributes of the root they are inherited by the chart only.
    text = re.sub(r"<style[^>]*>.*?</style>\s*", "", text, flags=re.S)
    text = re.sub(
        r'<svg([^>]*?) width="[^"]+" height="[^"]+"',
        r'<svg class="chart-svg"\1 stroke-linejoin="round" stroke-linecap="butt"',
        text,
        count=1,
    )
    text = _STYLE_ATTR.sub(_style_to_attributes, text)
    return _ID_REF.sub(lambda m: m.group(1) + id_prefix + "-", text)


_STYLE_ATTR = re.compile(r'style="([^"]*)"')


def _style_to_attributes(match: re.Match) -> str:
    """``style="fill: #fff; stroke-width: 0.8"`` → ``fill="#fff" stroke-width="0.8"``.

    matplotlib only writes SVG presentation properties in its style attributes; as
    attributes they draw the same, and HTML/CSS engines (WeasyPrint warns on every one)
    no longer parse them as page CSS.
    """
    pairs = (part.split(":", 1) for part in match.group(1).split(";") if ":" in part)
    return " ".join(f'{name.strip()}="{value.strip()}"' for name, value in pairs)


def _figure(size: Size) -> Figure:
    with _style():
        return Figure(figsize=(size.width, size.height), layout="constrained")


def _axes(fig: Figure):
    with _style():
        return fig.add_subplot()


def _dates(ts: np.ndarray) -> np.ndarray:
    return np.asarray(ts, dtype=np.int64).astype("datetime64[ms]")


def _time_axis(ax) -> None:
    locator = mdates.AutoDateLocator(minticks=4, maxticks=9)
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator, show_offset=True))
    ax.set_xlabel("time (UTC)")
    ax.margins(x=0.01)


def _amount_axis(ax, values: np.ndarray) -> None:
    """Thousands separators with as many decimals as the value range needs."""
    finite = values[np.isfinite(values)]
    span = float(finite.max() - finite.min()) if finite.size else 0.0
    magnitude = float(np.abs(finite).max()) if finite.size else 1.0
    reference = span if span > 0 else max(magnitude * 0.01, 1e-9)
    decimals = int(min(6, max(0, 1 - np.floor(np.log10(reference)))))
    ax.yaxis.set_major_formatter(ticker.FuncFormatter(lambda v, _pos: f"{v:,.{decimals}f}"))


def _pct_axis(ax, axis: str = "y", decimals: int | None = None) -> None:
    formatter = ticker.PercentFormatter(xmax=1.0, decimals=decimals)
    (ax.yaxis if axis == "y" else ax.xaxis).set_major_formatter(formatter)


def _legend_above(ax, ncols: int, title: str | None = None) -> None:
    """The legend in one row above the plot (never over the data); ``title`` a line above it."""
    handles, _ = ax.get_legend_handles_labels()
    if handles:
        ax.legend(
            loc="lower left",
            bbox_to_anchor=(0.0, 1.0),
            ncols=ncols,
            borderaxespad=0.2,
            handletextpad=0.4,
            title=title,
            title_fontsize=7,
            alignment="left",
        )


# --- the charts ---------------------------------------------------------------------


@_styled
def equity_svg(
    ts: np.ndarray,
    equity: np.ndarray,
    *,
    size: Size = Size(),
    currency: str = "",
    initial: float | None = None,
    id_prefix: str = "equity",
) -> str:
    """Equity at each bar close, drawdowns from the running peak shaded red."""
    ts = np.asarray(ts, dtype=np.int64)
    equity = np.asarray(equity, dtype=np.float64)
    _check_same_length(ts, equity)
    if ts.shape[0] == 0:
        raise NothingToDraw("The run has no equity curve.")
    idx = drawn_indices(equity, size.buckets)
    x = _dates(ts[idx])
    eq = equity[idx]
    # The peak is taken on the full series: a peak between drawn points still counts.
    peak = running_peak(equity)[idx]
    fig = _figure(size)
    ax = _axes(fig)
    ax.plot(x, eq, color=COLOR_LINE, label="equity")
    ax.fill_between(x, eq, peak, where=eq < peak, color=COLOR_LOSS, alpha=0.22, linewidth=0, label="drawdown")
    if initial is not None:
        ax.axhline(initial, color=COLOR_MUTED, linewidth=0.7, linestyle=":", label="initial capital")
    _time_axis(ax)
    _amount_axis(ax, np.concatenate([eq, [initial]]) if initial is not None else eq)
    ax.set_ylabel(f"equity ({currency})" if currency else "equity")
    _legend_above(ax, 3)
    return svg_from_figure(fig, id_prefix)


@_styled
def drawdown_svg(ts: np.ndarray, equity: np.ndarray, *, size: Size = Size(), id_prefix: str = "dd") -> str:
    """The underwater curve (fall from the running peak, in percent)."""
    ts = np.asarray(ts, dtype=np.int64)
    equity = np.asarray(equity, dtype=np.float64)
    _check_same_length(ts, equity)
    if ts.shape[0] == 0:
        raise NothingToDraw("The run has no equity curve.")
    dts, dd = series_for_drawing(ts, drawdown(equity), size.buckets)
    worst = float(np.nanmin(dd)) if dd.size else 0.0
    fig = _figure(size)
    ax = _axes(fig)
    x = _dates(dts)
    ax.fill_between(x, dd, 0.0, color=COLOR_LOSS, alpha=0.25, linewidth=0)
    ax.plot(x, dd, color=COLOR_LOSS, linewidth=0.9)
    # a run that never fell below its peak still gets a readable 0 … -1% scale
    ax.set_ylim(min(worst * 1.08, -0.01), 0.0005 if worst < 0 else 0.001)
    _time_axis(ax)
    _pct_axis(ax)
    ax.set_ylabel("drawdown")
    if worst < 0:
        at = int(np.nanargmin(dd))
        # label on the side with room: left of a low point in the last quarter
        right_side = at < 0.75 * dd.shape[0]
        ax.annotate(
            f"max {worst * 100:.1f}%",
            xy=(x[at], worst),
            xytext=(7 if right_side else -7, 0),
            textcoords="offset points",
            fontsize=8,
            color=COLOR_LOSS,
            ha="left" if right_side else "right",
            va="center",
            bbox={"boxstyle": "round,pad=0.2", "fc": "white", "ec": "none", "alpha": 0.85},
        )
    return svg_from_figure(fig, id_prefix)


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
        return TradeMarks(
            *(np.asarray(getattr(self, f))[keep] for f in self.__dataclass_fields__)  # type: ignore[arg-type]
        )


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


@_styled
def price_with_trades_svg(
    ts: np.ndarray,
    close: np.ndarray,
    trades: TradeMarks,
    *,
    size: Size = Size(width=10.0, height=4.2),
    currency: str = "",
    symbol: str = "",
    id_prefix: str = "price",
) -> str:
    """Close price with entries (▲ long, ▼ short) and exits (○ signal/end, ✕ stop,
    ★ take profit, ✕ purple liquidation). Above ``MAX_TRADE_MARKERS`` trades a share
    of them is marked (``markers_to_keep``), and the chart says so."""
    ts = np.asarray(ts, dtype=np.int64)
    close = np.asarray(close, dtype=np.float64)
    _check_same_length(ts, close)
    if ts.shape[0] == 0:
        raise NothingToDraw("No candles to draw.")
    total = len(trades)
    shown = (
        trades if total <= MAX_TRADE_MARKERS else trades.subset(markers_to_keep(trades, MAX_TRADE_MARKERS))
    )
    dts, dclose = series_for_drawing(ts, close, size.buckets)
    fig = _figure(size)
    ax = _axes(fig)
    ax.plot(
        _dates(dts),
        dclose,
        color="#4b5563",
        linewidth=0.8,
        label=f"{symbol} close" if symbol else "close",
    )
    side = np.asarray(shown.side)
    reason = np.asarray(shown.exit_reason).astype(str)
    entry_x = _dates(shown.entry_time)
    exit_x = _dates(shown.exit_time)
    marks = (
        (side > 0, entry_x, shown.entry_price, "^", COLOR_GAIN, "long entry", {}),
        (side < 0, entry_x, shown.entry_price, "v", COLOR_LOSS, "short entry", {}),
        (
            np.isin(reason, ("signal", "end")),
            exit_x,
            shown.exit_price,
            "o",
            "none",
            "exit",
            {"edgecolors": "#111827", "linewidths": 0.8},
        ),
        (reason == "stop", exit_x, shown.exit_price, "X", COLOR_STOP, "stop exit", {}),
        (reason == "take_profit", exit_x, shown.exit_price, "*", COLOR_TAKE, "take profit", {}),
        (reason == "liquidation", exit_x, shown.exit_price, "X", COLOR_LIQ, "liquidation", {}),
    )
    marker_size = 26 if len(shown) <= 200 else 12
    for mask, xs, ys, marker, color, label, extra in marks:
        if mask.any():
            ax.scatter(
                xs[mask],
                np.asarray(ys)[mask],
                marker=marker,
                s=marker_size,
                c=color if color != "none" else "none",
                label=f"{label} ({int(mask.sum()):,})",
                zorder=3,
                **extra,
            )
    _time_axis(ax)
    _amount_axis(ax, dclose)
    ax.set_ylabel(f"price ({currency})" if currency else "price")
    note = None
    if total > len(shown):
        note = f"markers: {len(shown):,} of {total:,} trades (largest |return| of each exit reason)"
    _legend_above(ax, 7, note)
    return svg_from_figure(fig, id_prefix)


@_styled
def monthly_returns_svg(monthly: MonthlyReturns, *, size: Size = Size(), id_prefix: str = "monthly") -> str:
    """A years × months heatmap, green up / red down, each cell labelled in percent."""
    years, grid = monthly.years, monthly.returns
    if years.shape[0] == 0:
        raise NothingToDraw("The run has no equity curve.")
    # One row per year: the height follows the rows, the width stays the page's.
    height = max(1.5, 0.75 + 0.36 * years.shape[0])
    fig = _figure(Size(size.width, height))
    ax = _axes(fig)
    # The colour scale stops at the 90th percentile of |return|: one +1,300% month
    # must not wash every other cell out to the same pale colour (labels stay exact).
    magnitudes = np.abs(grid[np.isfinite(grid)])
    bound = float(np.quantile(magnitudes, 0.9)) if magnitudes.size else 0.0
    bound = bound if bound > 0 else 0.01
    cmap = mpl.colormaps["RdYlGn"].with_extremes(bad="#f3f4f6")
    ax.imshow(
        np.ma.masked_invalid(grid),
        cmap=cmap,
        norm=TwoSlopeNorm(vcenter=0.0, vmin=-bound, vmax=bound),
        aspect="auto",
        interpolation="nearest",
    )
    ax.grid(False)
    for spine in ax.spines.values():
        spine.set_visible(False)
    ax.set_xticks(range(12), MONTH_NAMES)
    ax.set_yticks(range(years.shape[0]), [str(y) for y in years])
    ax.tick_params(length=0)
    ax.xaxis.tick_top()
    rows, cols = np.nonzero(np.isfinite(grid))
    for row, col in zip(rows.tolist(), cols.tolist(), strict=True):
        value = float(grid[row, col])
        strong = abs(value) > 0.6 * bound
        ax.text(
            col,
            row,
            f"{value * 100:+.1f}%" if round(value * 100, 1) != 0 else "0.0%",
            ha="center",
            va="center",
            fontsize=8,
            color="white" if strong else "#111827",
        )
    return svg_from_figure(fig, id_prefix)


@_styled
def trade_returns_svg(returns: np.ndarray, *, size: Size = Size(), id_prefix: str = "tr") -> str:
    """Histogram of trade returns (pnl / margin), losses red and wins green, mean marked."""
    returns = np.asarray(returns, dtype=np.float64)
    returns = returns[np.isfinite(returns)]
    if returns.shape[0] == 0:
        raise NothingToDraw("No trades: there are no trade returns to plot.")
    lo, hi = float(returns.min()), float(returns.max())
    if lo == hi:
        lo, hi = lo - 0.005, hi + 0.005
    bins = int(np.clip(np.sqrt(returns.shape[0]) * 2, 10, 60))
    width = (hi - lo) / bins
    # Edges on multiples of the width, so 0 is an edge and no bar mixes wins and losses.
    start = np.floor(lo / width) * width
    edges = start + width * np.arange(int(np.ceil((hi - start) / width)) + 1)
    if edges[-1] < hi:
        edges = np.append(edges, edges[-1] + width)
    wins = returns[returns > 0]
    losses = returns[returns <= 0]
    fig = _figure(size)
    ax = _axes(fig)
    ax.hist(
        [losses, wins],
        bins=edges,
        stacked=True,
        color=[COLOR_LOSS, COLOR_GAIN],
        label=[f"losing ({losses.shape[0]:,})", f"winning ({wins.shape[0]:,})"],
        edgecolor="white",
        linewidth=0.4,
    )
    mean = float(returns.mean())
    ax.axvline(mean, color="#111827", linestyle="--", linewidth=0.9, label=f"mean {mean * 100:+.2f}%")
    _pct_axis(ax, "x")
    ax.yaxis.set_major_locator(ticker.MaxNLocator(integer=True))
    ax.set_xlabel("trade return (pnl / margin)")
    ax.set_ylabel("trades")
    _legend_above(ax, 3)
    return svg_from_figure(fig, id_prefix)


@_styled
def rolling_sharpe_svg(
    ts: np.ndarray,
    equity: np.ndarray,
    window: int,
    *,
    size: Size = Size(),
    id_prefix: str = "rs",
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
    fig = _figure(size)
    ax = _axes(fig)
    ax.axhline(0.0, color=COLOR_MUTED, linewidth=0.8)
    ax.plot(_dates(dts), ds, color=COLOR_LINE)
    ax.set_xlim(_dates(ts[[0, -1]]))
    _time_axis(ax)
    ax.set_ylabel(f"Sharpe, {window:,}-bar window")
    return svg_from_figure(fig, id_prefix)


@dataclass(frozen=True)
class Curve:
    label: str
    ts: np.ndarray
    equity: np.ndarray
    initial: float


@_styled
def compare_equity_svg(
    curves: Sequence[Curve], *, size: Size = Size(height=4.0), id_prefix: str = "cmp"
) -> str:
    """Several equity curves on one chart, each as its return since its own start, so
    runs with different capital share one axis."""
    drawable = [c for c in curves if np.asarray(c.ts).shape[0] > 0]
    if not drawable:
        raise NothingToDraw("None of these runs has an equity curve.")
    fig = _figure(size)
    ax = _axes(fig)
    palette = mpl.colormaps["tab10"].colors
    ax.axhline(0.0, color=COLOR_MUTED, linewidth=0.8)
    for i, curve in enumerate(drawable):
        base = curve.initial if curve.initial > 0 else float(curve.equity[0])
        growth = np.asarray(curve.equity, dtype=np.float64) / base - 1.0
        dts, dg = series_for_drawing(curve.ts, growth, size.buckets)
        ax.plot(_dates(dts), dg, color=palette[i % len(palette)], label=curve.label)
    _time_axis(ax)
    _pct_axis(ax)
    ax.set_ylabel("return since start")
    _legend_above(ax, 3)
    return svg_from_figure(fig, id_prefix)

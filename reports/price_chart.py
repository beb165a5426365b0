"""The price chart: close price with the strategy's indicators and the trades' entries
and exits (see ``reports.charts`` for the conventions)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from reports import charts
from reports.analytics.trades import TradeArrays
from reports.svg_axes import nice_ticks
from strategies.registry import IndicatorLine

# Default sizes (the run report passes its own: ``chart_sections.CHART_SIZES``).
PRICE_SIZE = charts.Size(1000, 440)


# Beyond this many trades the price chart keeps the markers of the largest |return|:
# at a thousand pixels wide more markers only overlap, and the SVG grows without bound.
MAX_TRADE_MARKERS = 1500
# Entry→exit segments are drawn up to this many trades (beyond, they are a smear).
MAX_TRADE_SEGMENTS = 400


def markers_to_keep(trades: TradeArrays, cap: int) -> np.ndarray:
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


def price_with_trades_svg(
    ts: np.ndarray,
    close: np.ndarray,
    trades: TradeArrays,
    *,
    size: charts.Size = PRICE_SIZE,
    currency: str = "",
    symbol: str = "",
    indicators: Sequence[IndicatorLine] = (),
) -> str:
    """Close price with the strategy's indicators, entries (▲ long, ▼ short), exits
    (○ signal/end, ✕ stop, ★ take profit, ✕ purple liquidation) and a line from each
    entry to its exit (green for a winning trade, red for a losing one); an oscillator
    indicator gets its own panel under the price. Above ``MAX_TRADE_MARKERS`` trades a
    share of them is marked (``markers_to_keep``), and the chart says so."""
    ts = np.asarray(ts, dtype=np.int64)
    close = np.asarray(close, dtype=np.float64)
    charts.check_same_length(ts, close)
    if ts.shape[0] == 0:
        raise charts.NothingToDraw("No candles to draw.")
    total = len(trades)
    shown = (
        trades if total <= MAX_TRADE_MARKERS else trades.subset(markers_to_keep(trades, MAX_TRADE_MARKERS))
    )
    lower = [ind for ind in indicators if ind.panel == "lower"]
    chart, panels = charts.time_chart(ts, size, (3.0, 1.0) if lower else (1.0,))
    price = panels[0]
    idx = charts.drawn_indices(close, size.buckets)
    overlays = [
        (ind, np.asarray(ind.values, dtype=np.float64)[idx]) for ind in indicators if ind.panel == "price"
    ]
    lo, hi = charts.finite_range(close[idx], *(v for _, v in overlays))
    price.set_y(lo, hi)
    x = ts[idx]
    price.line(x, close[idx], "#4b5563", 1.0)
    chart.legend(f"{symbol} close" if symbol else "close", "#4b5563")
    for color, (ind, values) in zip(charts.COLOR_OVERLAYS, overlays, strict=False):
        price.line(x, values, color, 1.3)
        chart.legend(ind.label, color)
    side = np.asarray(shown.side)
    reason = np.asarray(shown.exit_reason).astype(str)
    won = np.asarray(shown.trade_return) > 0
    if 0 < len(shown) <= MAX_TRADE_SEGMENTS:
        for mask, color in ((won, charts.COLOR_GAIN), (~won, charts.COLOR_LOSS)):
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
        (side > 0, shown.entry_time, shown.entry_price, "up", charts.COLOR_GAIN, "long entry"),
        (side < 0, shown.entry_time, shown.entry_price, "down", charts.COLOR_LOSS, "short entry"),
        (np.isin(reason, ("signal", "end")), shown.exit_time, shown.exit_price, "hollow", "#111827", "exit"),
        (reason == "stop", shown.exit_time, shown.exit_price, "x", charts.COLOR_STOP, "stop exit"),
        (
            reason == "take_profit",
            shown.exit_time,
            shown.exit_price,
            "star",
            charts.COLOR_TAKE,
            "take profit",
        ),
        (reason == "liquidation", shown.exit_time, shown.exit_price, "x", charts.COLOR_LIQ, "liquidation"),
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
        dts, dv = charts.series_for_drawing(ts, values, size.buckets)
        if ind.bounds:
            panel.set_y(*ind.bounds, pad=0.0)
        else:
            panel.set_y(*charts.finite_range(dv))
        for level in ind.levels:
            panel.hline(level, charts.COLOR_MUTED, 1.0, "4,3")
        panel.line(dts, dv, charts.COLOR_OVERLAYS[1], 1.1)
        ticks = np.array(ind.levels) if ind.levels else nice_ticks(panel.lo, panel.hi, 3)
        panel.y_axis(ticks, lambda v: f"{v:g}", ind.label)
    chart.time_axis()
    if total > len(shown):
        chart.legend_note = (
            f"markers: {len(shown):,} of {total:,} trades (largest |return| of each exit reason)"
        )
    elif total > MAX_TRADE_SEGMENTS:
        chart.legend_note = f"entry→exit lines left out above {MAX_TRADE_SEGMENTS:,} trades"
    return charts.finish(chart, "Price and trades")

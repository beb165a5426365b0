"""Chart sections of a report page: the context of each, and their SVGs drawn (or a
note saying why there is none) and cached.

Charts are cached as SVG (or as the note explaining why there is none) under
``chart_cache_key(run, section, size)``: one ``get_many`` for the whole page, and the
run's arrays are loaded only when some chart missed. A succeeded run's results never
change, so entries live for ``REPORT_CHART_CACHE_SECONDS`` (default a week).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from django.core.cache import cache

from reports import equity_charts, price_chart, return_charts
from reports.analytics.benchmark import aligned_close
from reports.analytics.returns import period_returns
from reports.charts import CHART_CACHE_VERSION, NothingToDraw, Size
from reports.indicators import strategy_indicators
from reports.layouts import CHART_TYPES
from reports.run_data import CandlesMissing, RunData, chart_cache_seconds
from reports.section_base import NO_TRADES, base_context, int_option, invalid_section, section_title

CHART_SIZES = {
    "equity": Size(1000, 330),
    "drawdown": Size(1000, 210),
    "price_with_trades": Size(1000, 470),
    "monthly_returns": Size(1000, 0),  # the height follows the number of years
    "trade_returns": Size(1000, 250),
    "return_distribution": Size(1000, 250),
    "rolling_sharpe": Size(1000, 230),
    "benchmark": Size(1000, 300),
}

CHART_TITLES = {
    "equity": "Equity",
    "drawdown": "Drawdown (underwater)",
    "price_with_trades": "Price, indicators and trades",
    "monthly_returns": "Monthly returns",
    "trade_returns": "Trade returns",
    "return_distribution": "Daily return distribution",
    "rolling_sharpe": "Rolling Sharpe ratio",
    "benchmark": "Strategy against buy and hold",
}

# Options that change a chart's picture (a retitled section reuses its cached chart).
CHART_OPTIONS = ("window", "log", "drawdowns", "benchmark", "indicators")

DEFAULT_DRAWDOWN_BANDS = 5


def _digest(section: dict[str, Any]) -> str:
    canonical = json.dumps(section, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha1(canonical.encode()).hexdigest()[:16]


def _chart_spec(section: dict[str, Any]) -> dict[str, Any]:
    return {key: section[key] for key in ("chart", *CHART_OPTIONS) if section.get(key) is not None}


def chart_cache_key(run, section: dict[str, Any], size: Size) -> str:
    """The cache key of one chart of one run: (run, section's drawing options, size)."""
    return f"report:chart:v{CHART_CACHE_VERSION}:run{run.pk}:{_digest(_chart_spec(section))}:{size.key()}"


def sharpe_window(section: dict[str, Any], ts: np.ndarray) -> int:
    window = section.get("window")
    if isinstance(window, int) and not isinstance(window, bool) and window >= 2:
        return window
    return equity_charts.default_sharpe_window(ts)


def _worst_periods(data: RunData, count: int) -> equity_charts.Periods | None:
    """The ``count`` deepest drawdown periods (from the run's analytics, which keep the
    ten deepest), peak to recovery or to the last bar, numbered as in their table."""
    if count <= 0:
        return None
    rows = data.analytics["drawdowns"][:count]
    last = int(data.equity[0][-1])
    start = np.array([row["peak"] for row in rows], dtype=np.int64)
    end = np.array([last if row["recovery"] is None else row["recovery"] for row in rows], dtype=np.int64)
    return equity_charts.Periods(start, end, tuple(str(i + 1) for i in range(len(rows))))


def render_chart(kind: str, section: dict[str, Any], data: RunData, size: Size) -> str:
    """The SVG of chart ``kind`` for the run behind ``data`` (NothingToDraw/CandlesMissing
    when it cannot be drawn)."""
    if kind == "price_with_trades":
        candles = data.candles
        indicators = []
        if section.get("indicators", True) is not False:
            config = data.run.config or {}
            indicators = strategy_indicators(data.run.strategy, config.get("params") or {}, candles.close)
        return price_chart.price_with_trades_svg(
            candles.ts,
            candles.close,
            data.trades,
            size=size,
            currency=data.currency,
            symbol=data.run.symbol,
            indicators=indicators,
        )
    if kind == "trade_returns":
        if data.run.total_trades == 0:
            raise NothingToDraw(NO_TRADES)
        return return_charts.trade_returns_svg(data.trades.trade_return, size=size)
    ts, equity = data.equity
    if kind == "equity":
        bench = None
        if section.get("benchmark") is True:
            market = data.market
            if market is not None:
                price = aligned_close(ts, *market)
                bench = price / price[0] * data.initial_capital
        return equity_charts.equity_svg(
            ts,
            equity,
            size=size,
            currency=data.currency,
            initial=data.initial_capital,
            log=section.get("log") is True,
            periods=_worst_periods(data, int_option(section, "drawdowns", DEFAULT_DRAWDOWN_BANDS)),
            benchmark=bench,
        )
    if kind == "drawdown":
        return equity_charts.drawdown_svg(ts, equity, size=size)
    if kind == "monthly_returns":
        return return_charts.monthly_returns_svg(
            return_charts.monthly_returns(ts, equity, data.initial_capital), size=size
        )
    if kind == "rolling_sharpe":
        return equity_charts.rolling_sharpe_svg(ts, equity, sharpe_window(section, ts), size=size)
    if kind == "return_distribution":
        daily = period_returns(ts, equity, "day", data.initial_capital).returns
        figures = data.analytics["metrics"]
        return return_charts.return_distribution_svg(
            daily, var=figures["var_95"], cvar=figures["cvar_95"], size=size
        )
    if kind == "benchmark":
        market = data.candles
        price = aligned_close(ts, market.ts, market.close)
        return equity_charts.benchmark_svg(
            ts, equity, price / price[0], initial=data.initial_capital, size=size
        )
    raise ValueError(f"unknown chart {kind!r}")


@dataclass
class Pending:
    """A chart section waiting for its SVG: its context, the layout's section, its cache
    key and size."""

    context: dict[str, Any]
    section: dict[str, Any]
    key: str
    size: Size


def fill_charts(pending: Sequence[Pending], data: RunData) -> None:
    """Each pending chart's SVG (or note) into its context: from the cache, else drawn
    (and cached, unless the candles were missing)."""
    cached = cache.get_many([p.key for p in pending])
    fresh: dict[str, dict[str, str]] = {}
    for item in pending:
        entry = cached.get(item.key) or fresh.get(item.key)
        if entry is None:
            kind = item.context["chart"]
            try:
                entry = {"svg": render_chart(kind, item.section, data, item.size)}
                fresh[item.key] = entry
            except NothingToDraw as exc:
                entry = {"note": str(exc)}
                fresh[item.key] = entry
            except CandlesMissing as exc:
                # not cached: the candles may be loaded again
                entry = {"note": str(exc)}
        item.context["svg"] = entry.get("svg", "")
        if entry.get("note"):
            item.context["notes"].append(entry["note"])
    if fresh:
        cache.set_many(fresh, timeout=chart_cache_seconds())


def chart_section(run, raw: dict[str, Any], index: int) -> dict[str, Any]:
    kind = raw.get("chart")
    if kind not in CHART_TYPES:
        return invalid_section(
            index, f"Section {index + 1} asks for an unknown chart {kind!r}; it is skipped."
        )
    context = base_context("chart", kind, index, section_title(raw, CHART_TITLES[kind]))
    context.update(chart=kind, svg="", caption=_caption(run, kind, raw))
    if run.total_trades == 0 and kind in ("equity", "drawdown", "price_with_trades"):
        context["notes"].append(
            NO_TRADES + (" The price is shown without markers." if kind == "price_with_trades" else "")
        )
    return context


def _caption(run, kind: str, raw: dict[str, Any]) -> str:
    bars = f"{run.candle_count:,} bars" if run.candle_count else "all bars"
    drawn = f"{bars}, drawn with the minimum and maximum of every few pixels so no spike is hidden"
    if kind == "equity":
        bands = int_option(raw, "drawdowns", DEFAULT_DRAWDOWN_BANDS)
        parts = ["Equity at each bar close; red fill: below the running peak"]
        if bands:
            parts.append(f"numbered bands: the {bands} deepest drawdowns, peak to recovery")
        if raw.get("benchmark") is True:
            parts.append("grey: buy and hold of the market from the same capital")
        if raw.get("log") is True:
            parts.append("log scale")
        return "; ".join(parts) + f". {drawn}."
    if kind == "drawdown":
        return f"Fall of equity from its running peak. {drawn}."
    if kind == "price_with_trades":
        return (
            "Close price with the strategy's indicators; ▲ long and ▼ short entries, ○ exits on a signal "
            "or at the end, ✕ stop exits, ★ take profits; a green (winning) or red (losing) line joins "
            "each entry to its exit."
        )
    if kind == "monthly_returns":
        return (
            "Month-end to month-end equity change (UTC calendar months), the first from the initial capital."
        )
    if kind == "trade_returns":
        return "Distribution of trade returns (pnl after fees / margin)."
    if kind == "return_distribution":
        return (
            "Distribution of daily (UTC) equity returns, with the 95% value at risk and expected shortfall."
        )
    if kind == "benchmark":
        return (
            "Return since the first bar of the strategy and of holding the market (close / first close), "
            "without leverage or fees."
        )
    window = raw.get("window")
    span = (
        f"{window:,} bars" if isinstance(window, int) and not isinstance(window, bool) else "30 days of bars"
    )
    return f"Annualised Sharpe ratio of bar returns over a rolling window of {span}."

"""A layout's sections → render-ready contexts, one per section, in the layout's order.

Each context is a dict with ``type``, ``title``, ``template`` (the partial that draws
it), ``anchor``, ``notes`` (sentences for the reader: "no trades", "candles gone") and
the type's own data. Nothing here raises for a run's data: a section that cannot be
drawn carries a note instead.

Charts are cached as SVG (or as the note explaining why there is none) under
``chart_cache_key(run, section, size)``: one ``get_many`` for the whole page, and the
run's arrays are loaded only when some chart missed. Tables of analytics (drawdowns,
years, trade breakdowns) come from the run's cached analytics (``RunData.analytics``).
A succeeded run's results never change, so entries live for
``REPORT_CHART_CACHE_SECONDS`` (default a week).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from django.core.cache import cache

from reports import charts
from reports.analytics.returns import period_returns
from reports.analytics.summary import ANALYTICS_METRICS
from reports.charts import NothingToDraw, Size
from reports.format import GROUP_TITLES, GROUPS, METRICS, metric_label, metric_tone, metric_value
from reports.indicators import strategy_indicators
from reports.layouts import CHART_TYPES, SECTION_TYPES, TABLE_TYPES, Layout
from reports.run_data import CandlesMissing, RunData, chart_cache_seconds

# Bump when a chart's drawing changes, so cached SVGs of the old look are not served.
CHART_CACHE_VERSION = 3

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
TABLE_TITLES = {
    "trades": "Trades",
    "monthly": "Monthly returns by year",
    "drawdowns": "Worst drawdowns",
    "yearly": "Yearly returns",
    "trade_breakdown": "Trade breakdown",
}
# Options that change a chart's picture (a retitled section reuses its cached chart).
CHART_OPTIONS = ("window", "log", "drawdowns", "benchmark", "indicators")

# A page (and a PDF) of more rows is unreadable; a table states how many it leaves out.
TABLE_MAX_ROWS = 1000
# The trade list of a page shows this many trades a page (``page_size`` in the layout).
TRADES_PAGE_SIZE = 50
# A PDF lists at most this many trades (the CSV export has them all).
PDF_TRADE_ROWS = 200
DEFAULT_DRAWDOWN_BANDS = 5
DEFAULT_DRAWDOWN_ROWS = 5
# sort key in a layout → model field
TRADE_SORTS = {
    "seq": "seq",
    "entry_time": "entry_time",
    "exit_time": "exit_time",
    "entry_price": "entry_price",
    "exit_price": "exit_price",
    "quantity": "quantity",
    "fees": "fees",
    "pnl": "pnl",
    "return": "trade_return",
    "bars_held": "bars_held",
    "side": "side",
    "exit_reason": "exit_reason",
}
NO_TRADES = "No trades: the strategy never entered a position in this run."

__all__ = ["CandlesMissing", "RunData", "build_sections", "chart_cache_key"]


@dataclass(frozen=True)
class PageRequest:
    """What the request asks of a page: ``trades_page`` (1-based) and whether it is
    printed (``pdf``: no pagination, a capped trade list)."""

    trades_page: int = 1
    pdf: bool = False


def _digest(section: dict[str, Any]) -> str:
    canonical = json.dumps(section, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha1(canonical.encode()).hexdigest()[:16]


def _chart_spec(section: dict[str, Any]) -> dict[str, Any]:
    return {key: section[key] for key in ("chart", *CHART_OPTIONS) if section.get(key) is not None}


def chart_cache_key(run, section: dict[str, Any], size: Size) -> str:
    """The cache key of one chart of one run: (run, section's drawing options, size)."""
    return f"report:chart:v{CHART_CACHE_VERSION}:run{run.pk}:{_digest(_chart_spec(section))}:{size.key()}"


def _int_option(section: dict[str, Any], key: str, default: int, low: int = 0) -> int:
    value = section.get(key)
    if isinstance(value, int) and not isinstance(value, bool) and value >= low:
        return value
    return default


def sharpe_window(section: dict[str, Any], ts: np.ndarray) -> int:
    window = section.get("window")
    if isinstance(window, int) and not isinstance(window, bool) and window >= 2:
        return window
    return charts.default_sharpe_window(ts)


def _worst_periods(data: RunData, count: int) -> charts.Periods | None:
    """The ``count`` deepest drawdown periods (from the run's analytics, which keep the
    ten deepest), peak to recovery or to the last bar, numbered as in their table."""
    if count <= 0:
        return None
    rows = data.analytics["drawdowns"][:count]
    last = int(data.equity[0][-1])
    start = np.array([row["peak"] for row in rows], dtype=np.int64)
    end = np.array([last if row["recovery"] is None else row["recovery"] for row in rows], dtype=np.int64)
    return charts.Periods(start, end, tuple(str(i + 1) for i in range(len(rows))))


def render_chart(kind: str, section: dict[str, Any], data: RunData, size: Size) -> str:
    """The SVG of chart ``kind`` for the run behind ``data`` (NothingToDraw/CandlesMissing
    when it cannot be drawn)."""
    if kind == "price_with_trades":
        candles = data.candles
        indicators = []
        if section.get("indicators", True) is not False:
            config = data.run.config or {}
            indicators = strategy_indicators(data.run.strategy, config.get("params") or {}, candles.close)
        return charts.price_with_trades_svg(
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
        return charts.trade_returns_svg(data.trades.trade_return, size=size)
    ts, equity = data.equity
    if kind == "equity":
        bench = None
        if section.get("benchmark") is True:
            market = data.market
            if market is not None:
                from reports.analytics.benchmark import aligned_close

                price = aligned_close(ts, *market)
                bench = price / price[0] * data.initial_capital
        return charts.equity_svg(
            ts,
            equity,
            size=size,
            currency=data.currency,
            initial=data.initial_capital,
            log=section.get("log") is True,
            periods=_worst_periods(data, _int_option(section, "drawdowns", DEFAULT_DRAWDOWN_BANDS)),
            benchmark=bench,
        )
    if kind == "drawdown":
        return charts.drawdown_svg(ts, equity, size=size)
    if kind == "monthly_returns":
        return charts.monthly_returns_svg(charts.monthly_returns(ts, equity, data.initial_capital), size=size)
    if kind == "rolling_sharpe":
        return charts.rolling_sharpe_svg(ts, equity, sharpe_window(section, ts), size=size)
    if kind == "return_distribution":
        daily = period_returns(ts, equity, "day", data.initial_capital).returns
        figures = data.analytics["metrics"]
        return charts.return_distribution_svg(
            daily, var=figures["var_95"], cvar=figures["cvar_95"], size=size
        )
    if kind == "benchmark":
        from reports.analytics.benchmark import aligned_close

        market = data.candles
        price = aligned_close(ts, market.ts, market.close)
        return charts.benchmark_svg(ts, equity, price / price[0], initial=data.initial_capital, size=size)
    raise ValueError(f"unknown chart {kind!r}")


@dataclass
class _Pending:
    context: dict[str, Any]
    section: dict[str, Any]
    key: str
    size: Size


def build_sections(
    run, layout: Layout, *, data: RunData | None = None, page: PageRequest | None = None
) -> list[dict[str, Any]]:
    """Render-ready contexts for every section of ``layout``, in its order, for a
    succeeded ``run``."""
    data = data or RunData(run)
    page = page or PageRequest()
    contexts: list[dict[str, Any]] = []
    pending: list[_Pending] = []
    for index, raw in enumerate(layout.sections):
        context = _section_context(run, raw, index, data, page)
        if context["type"] == "chart":
            size = CHART_SIZES[context["chart"]]
            pending.append(_Pending(context, raw, chart_cache_key(run, raw, size), size))
        previous = contexts[-1] if contexts else None
        if context.get("group") and previous is not None and previous.get("group") == context["group"]:
            # metrics sections sharing a group label sit side by side under that label
            previous["columns"].extend(context["columns"])
            previous["notes"] = list(dict.fromkeys(previous["notes"] + context["notes"]))
            continue
        contexts.append(context)
    if pending:
        _fill_charts(pending, data)
    return contexts


def _fill_charts(pending: Sequence[_Pending], data: RunData) -> None:
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


def _title(raw: dict[str, Any], default: str) -> str:
    title = raw.get("title")
    return title.strip() if isinstance(title, str) and title.strip() else default


def _section_context(run, raw: Any, index: int, data: RunData, page: PageRequest) -> dict[str, Any]:
    if not isinstance(raw, dict) or raw.get("type") not in SECTION_TYPES:
        kind = raw.get("type") if isinstance(raw, dict) else type(raw).__name__
        return _invalid(index, f"Section {index + 1} has an unknown type {kind!r}; it is skipped.")
    kind = raw["type"]
    if kind == "metrics":
        return _metrics_section(run, raw, index, data)
    if kind == "chart":
        return _chart_section(run, raw, index)
    if kind == "table":
        return _table_section(run, raw, index, data, page)
    return _text_section(raw, index)


def _base(kind: str, sub: str, index: int, title: str) -> dict[str, Any]:
    name = f"{kind}:{sub}" if sub else kind
    return {
        "type": kind,
        "name": name,
        "title": title,
        "anchor": f"section-{index + 1}-{sub or kind}".replace("_", "-"),
        "template": f"reports/partials/section_{kind}.html",
        "notes": [],
    }


def _invalid(index: int, message: str) -> dict[str, Any]:
    context = _base("invalid", "", index, "Section not shown")
    context["notes"].append(message)
    return context


def _analytics_or_note(data: RunData, notes: list[str]) -> dict[str, Any] | None:
    try:
        return data.analytics
    except NothingToDraw as exc:
        notes.append(str(exc))
        return None


def _metrics_section(run, raw: dict[str, Any], index: int, data: RunData) -> dict[str, Any]:
    """Metrics grouped into columns by kind (Returns, Risk, Trades, …); with a ``group``
    label, the section is one column titled by its own title, in the listed order, and
    adjacent sections with the same label are joined side by side under that label."""
    names = [n for n in raw.get("metrics") or [] if isinstance(n, str)]
    group = raw.get("group") if isinstance(raw.get("group"), str) and raw["group"].strip() else ""
    extra: dict[str, Any] = {}
    notes: list[str] = []
    if any(name in ANALYTICS_METRICS for name in names):
        analytics = _analytics_or_note(data, notes)
        extra = analytics["metrics"] if analytics else {}
        if analytics is not None and not analytics["benchmark"]:
            notes.append("The run's candles are no longer stored: the buy-and-hold figures are undefined.")
    if group:
        context = _base("metrics", "", index, group.strip())
        context["group"] = group.strip()
        rows = [row for column in metric_groups(run, names, extra) for row in column["rows"]]
        order = {name: i for i, name in enumerate(dict.fromkeys(names))}
        rows.sort(key=lambda row: order[row["name"]])
        context["columns"] = [{"key": "custom", "title": _title(raw, ""), "rows": rows}]
    else:
        context = _base("metrics", "", index, _title(raw, "Metrics"))
        context["columns"] = metric_groups(run, names, extra)
    context["notes"].extend(notes)
    trade_metrics = any(METRICS[n].group == "trades" for n in names if n in METRICS)
    if run.total_trades == 0 and trade_metrics:
        context["notes"].append(NO_TRADES + " Trade statistics are undefined.")
    return context


def metric_groups(run, names: Sequence[str], extra: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """``names`` grouped by their catalogue group (layout order kept within a group;
    names not in the catalogue go to "Other"); values from the run's contract metrics,
    or from ``extra`` (its analytics)."""
    values = {**(extra or {}), **(run.metrics or {})}
    grouped: dict[str, list[dict[str, Any]]] = {}
    for name in dict.fromkeys(names):
        info = METRICS.get(name)
        value = values.get(name, getattr(run, name, None) if info and name not in ANALYTICS_METRICS else None)
        grouped.setdefault(info.group if info else "other", []).append(
            {
                "name": name,
                "label": metric_label(name),
                "value": metric_value(name, value),
                "tone": metric_tone(name, value),
                "help": info.help if info else "not a metric of this service",
            }
        )
    order = [*GROUPS, "other"]
    return [
        {"key": key, "title": GROUP_TITLES.get(key, "Other"), "rows": grouped[key]}
        for key in order
        if key in grouped
    ]


def _chart_section(run, raw: dict[str, Any], index: int) -> dict[str, Any]:
    kind = raw.get("chart")
    if kind not in CHART_TYPES:
        return _invalid(index, f"Section {index + 1} asks for an unknown chart {kind!r}; it is skipped.")
    context = _base("chart", kind, index, _title(raw, CHART_TITLES[kind]))
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
        bands = _int_option(raw, "drawdowns", DEFAULT_DRAWDOWN_BANDS)
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


def _table_section(run, raw: dict[str, Any], index: int, data: RunData, page: PageRequest) -> dict[str, Any]:
    kind = raw.get("table")
    if kind not in TABLE_TYPES:
        return _invalid(index, f"Section {index + 1} asks for an unknown table {kind!r}; it is skipped.")
    context = _base("table", kind, index, _title(raw, TABLE_TITLES[kind]))
    context["table"] = kind
    context["template"] = f"reports/partials/table_{kind}.html"
    if kind == "trades":
        context.update(_trades_table(run, raw, context["notes"], page))
    elif kind == "monthly":
        context.update(_monthly_table(run, data, raw, context["notes"]))
    else:
        analytics = _analytics_or_note(data, context["notes"])
        if analytics is not None:
            context.update(_ANALYTICS_TABLES[kind](run, raw, analytics, context["notes"]))
    return context


def _limit(raw: dict[str, Any], default: int = TABLE_MAX_ROWS) -> int:
    """The layout's ``limit``; absent or null means ``default`` rows at most."""
    limit = raw.get("limit")
    if not isinstance(limit, int) or isinstance(limit, bool) or limit < 1:
        return default
    return min(limit, TABLE_MAX_ROWS)


def _trades_table(run, raw: dict[str, Any], notes: list[str], page: PageRequest) -> dict[str, Any]:
    """The trade list: with ``limit`` the first ``limit`` trades in the ``sort`` order;
    without, every trade, ``page_size`` a page (a PDF lists the first
    ``PDF_TRADE_ROWS`` and points to the CSV export)."""
    sort = raw.get("sort") or "seq"
    descending = isinstance(sort, str) and sort.startswith("-")
    field = TRADE_SORTS.get(sort.lstrip("-") if isinstance(sort, str) else "")
    if field is None:
        notes.append(f"Unknown sort {sort!r}; trades are listed in exit order.")
        field, descending, sort = "seq", False, "seq"
    total = run.total_trades if run.total_trades is not None else run.trades.count()
    base = {"trades": [], "total": total, "sort": sort, "pages": None, "shown": 0, "first": 0}
    if total == 0:
        notes.append(NO_TRADES)
        return base
    order = [f"-{field}" if descending else field]
    if field != "seq":
        order.append("seq")
    trades = run.trades.order_by(*order)
    has_limit = isinstance(raw.get("limit"), int) and not isinstance(raw.get("limit"), bool)
    if has_limit:
        rows = list(trades[: _limit(raw)])
        return {**base, "trades": rows, "shown": len(rows), "first": 1}
    if page.pdf:
        rows = list(trades[:PDF_TRADE_ROWS])
        return {**base, "trades": rows, "shown": len(rows), "first": 1}
    size = _int_option(raw, "page_size", TRADES_PAGE_SIZE, 1)
    count = max(1, -(-total // size))
    number = min(max(1, page.trades_page), count)
    start = (number - 1) * size
    rows = list(trades[start : start + size])
    pages = {
        "number": number,
        "count": count,
        "previous": number - 1 if number > 1 else None,
        "next": number + 1 if number < count else None,
    }
    return {**base, "trades": rows, "shown": len(rows), "first": start + 1, "pages": pages}


def monthly_table(run, data: RunData) -> dict[str, Any]:
    """{"years": [{"year", "months": [12 × float|None], "total"}]} for the run (cached)."""
    key = f"report:monthly:v{CHART_CACHE_VERSION}:run{run.pk}"
    table = cache.get(key)
    if table is None:
        ts, equity = data.equity
        monthly = charts.monthly_returns(ts, equity, data.initial_capital)
        table = {
            "years": [
                {
                    "year": int(year),
                    "months": [None if np.isnan(v) else float(v) for v in monthly.returns[i].tolist()],
                    "total": float(monthly.year_returns[i]),
                }
                for i, year in enumerate(monthly.years.tolist())
            ]
        }
        cache.set(key, table, timeout=chart_cache_seconds())
    return table


MONTHLY_SORTS = ("month", "return")


def _monthly_table(run, data: RunData, raw: dict[str, Any], notes: list[str]) -> dict[str, Any]:
    """A years × months grid; with a ``sort`` (month | return, "-" descending) a ranked
    list of months instead, ``limit`` rows at most (e.g. the five worst months)."""
    try:
        table = monthly_table(run, data)
    except NothingToDraw as exc:
        notes.append(str(exc))
        return {"years": [], "months": charts.MONTH_NAMES, "ranked": None}
    if run.total_trades == 0:
        notes.append(NO_TRADES + " Every month returns 0%.")
    sort = raw.get("sort")
    ranked = None
    if isinstance(sort, str) and sort:
        key = sort.lstrip("-")
        if key not in MONTHLY_SORTS:
            notes.append(f"Unknown sort {sort!r} for the monthly table (month or return); the grid is shown.")
        else:
            months = [
                {"month": f"{row['year']}-{m + 1:02d}", "return": value}
                for row in table["years"]
                for m, value in enumerate(row["months"])
                if value is not None
            ]
            months.sort(key=lambda item: item[key], reverse=sort.startswith("-"))
            limit = _limit(raw)
            ranked = {"rows": months[:limit], "total": len(months), "sort": sort}
    return {"years": table["years"], "months": charts.MONTH_NAMES, "ranked": ranked}


def _drawdowns_table(run, raw: dict[str, Any], analytics: dict[str, Any], notes: list[str]) -> dict[str, Any]:
    rows = analytics["drawdowns"][: _limit(raw, DEFAULT_DRAWDOWN_ROWS)]
    if not rows:
        notes.append("Equity never fell below a previous peak: there is no drawdown period.")
    return {
        "rows": [{"rank": i + 1, **row} for i, row in enumerate(rows)],
        "total": analytics["metrics"]["drawdown_periods"],
    }


def _yearly_table(run, raw: dict[str, Any], analytics: dict[str, Any], notes: list[str]) -> dict[str, Any]:
    rows = []
    for row in analytics["years"]:
        bench = row["benchmark_return"]
        rows.append({**row, "excess": None if bench is None else row["return"] - bench})
    if not analytics["benchmark"]:
        notes.append("The run's candles are no longer stored: the buy-and-hold column is empty.")
    return {"rows": rows}


def _breakdown_table(run, raw: dict[str, Any], analytics: dict[str, Any], notes: list[str]) -> dict[str, Any]:
    if run.total_trades == 0:
        notes.append(NO_TRADES)
        return {"groups": []}
    found = analytics["breakdowns"]
    groups = [
        {"title": "By side", "key": "side", "rows": [r for r in found["side"] if r["count"]] + found["all"]},
        {"title": "By exit reason", "key": "exit_reason", "rows": found["exit_reason"] + found["all"]},
    ]
    return {"groups": groups}


_ANALYTICS_TABLES = {
    "drawdowns": _drawdowns_table,
    "yearly": _yearly_table,
    "trade_breakdown": _breakdown_table,
}


def _text_section(raw: dict[str, Any], index: int) -> dict[str, Any]:
    context = _base("text", "", index, _title(raw, ""))
    text = raw.get("text") if isinstance(raw.get("text"), str) else ""
    # Plain text only: paragraphs split on blank lines; the template escapes them.
    context["paragraphs"] = [p.strip() for p in re.split(r"\n\s*\n", text) if p.strip()]
    return context

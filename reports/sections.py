"""A layout's sections → render-ready contexts, one per section, in the layout's order.

Each context is a dict with ``type``, ``title``, ``template`` (the partial that draws
it), ``anchor``, ``notes`` (sentences for the reader: "no trades", "candles gone") and
the type's own data. Nothing here raises for a run's data: a section that cannot be
drawn carries a note instead.

Charts are cached as SVG (or as the note explaining why there is none) under
``chart_cache_key(run, section, size)``: one ``get_many`` for the whole page, and
the run's arrays are loaded only when some chart missed. A succeeded run's results
never change, so entries live for ``REPORT_CHART_CACHE_SECONDS`` (default a week).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np
from django.conf import settings
from django.core.cache import cache

from reports import charts
from reports.charts import NothingToDraw, Size, TradeMarks
from reports.format import GROUP_TITLES, GROUPS, METRICS, metric_label, metric_tone, metric_value
from reports.layouts import CHART_TYPES, SECTION_TYPES, TABLE_TYPES, Layout

# Bump when a chart's drawing changes, so cached SVGs of the old look are not served.
CHART_CACHE_VERSION = 1

CHART_SIZES = {
    "equity": Size(10.0, 3.4),
    "drawdown": Size(10.0, 2.6),
    "price_with_trades": Size(10.0, 4.2),
    "monthly_returns": Size(10.0, 3.0),  # the height follows the number of years
    "trade_returns": Size(10.0, 3.0),
    "rolling_sharpe": Size(10.0, 2.8),
}

CHART_TITLES = {
    "equity": "Equity",
    "drawdown": "Drawdown (underwater)",
    "price_with_trades": "Price and trades",
    "monthly_returns": "Monthly returns",
    "trade_returns": "Trade returns",
    "rolling_sharpe": "Rolling Sharpe ratio",
}
TABLE_TITLES = {"trades": "Trades", "monthly": "Monthly returns"}

# A page (and a PDF) of more rows is unreadable; a table states how many it leaves out.
TABLE_MAX_ROWS = 1000
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


def chart_cache_seconds() -> int:
    return int(settings.REPORT_CHART_CACHE_SECONDS)


class CandlesMissing(Exception):
    """The run's candles are no longer stored; the message says which."""


class RunData:
    """The arrays of one run, each loaded on first use and at most once per render."""

    def __init__(self, run):
        self.run = run

    @cached_property
    def equity(self) -> tuple[np.ndarray, np.ndarray]:
        """(ts int64 ms, equity float64); NothingToDraw when the run stored none."""
        from backtests.models import RunEquity

        try:
            row = self.run.equity
        except RunEquity.DoesNotExist:
            raise NothingToDraw("This run has no stored equity curve.") from None
        return row.ts(), row.values()

    @cached_property
    def trades(self) -> TradeMarks:
        rows = self.run.trades.order_by("seq").values_list(
            "side", "entry_time", "exit_time", "entry_price", "exit_price", "exit_reason", "trade_return"
        )
        rows = list(rows)
        ms = _epoch_ms
        return TradeMarks(
            entry_time=np.array([ms(r[1]) for r in rows], dtype=np.int64),
            exit_time=np.array([ms(r[2]) for r in rows], dtype=np.int64),
            entry_price=np.array([r[3] for r in rows], dtype=np.float64),
            exit_price=np.array([r[4] for r in rows], dtype=np.float64),
            side=np.array([1 if r[0] == "long" else -1 for r in rows], dtype=np.int8),
            exit_reason=np.array([r[5] for r in rows], dtype=object),
            trade_return=np.array([r[6] for r in rows], dtype=np.float64),
        )

    @cached_property
    def candles(self):
        """The candles the run used (through the cached reader); CandlesMissing if gone."""
        from marketdata.read import NoCandles, candles_load

        market = (self.run.config or {}).get("market") or {}
        symbol = market.get("symbol", self.run.symbol)
        timeframe = market.get("timeframe", self.run.timeframe)
        try:
            candles = candles_load(symbol, timeframe, market.get("start"), market.get("end"))
        except NoCandles as exc:
            raise CandlesMissing(
                f"The candles of {symbol} {timeframe} for this run are no longer stored, so the price "
                f"chart cannot be drawn ({exc}). Load them again to see it."
            ) from None
        if len(candles.ts) == 0:
            raise CandlesMissing(f"No candles of {symbol} {timeframe} are stored for this run's period.")
        return candles

    @property
    def initial_capital(self) -> float:
        execution = (self.run.config or {}).get("execution") or {}
        value = execution.get("initial_capital", 10000.0)
        return float(value) if isinstance(value, int | float) else 10000.0

    @property
    def currency(self) -> str:
        return quote_currency(self.run.symbol)


def quote_currency(symbol: str) -> str:
    """The quote currency of an OKX-style symbol: BTC-USDT-SWAP → USDT ("" if unknown)."""
    parts = (symbol or "").split("-")
    return parts[1] if len(parts) >= 2 else ""


def _epoch_ms(moment) -> int:
    return round(moment.timestamp() * 1000)


def _digest(section: dict[str, Any]) -> str:
    canonical = json.dumps(section, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha1(canonical.encode()).hexdigest()[:16]


def _chart_spec(section: dict[str, Any]) -> dict[str, Any]:
    # Only what changes the picture: a retitled section reuses its cached chart.
    return {key: section[key] for key in ("chart", "window") if key in section}


def chart_cache_key(run, section: dict[str, Any], size: Size) -> str:
    """The cache key of one chart of one run: (run, section's drawing options, size)."""
    return f"report:chart:v{CHART_CACHE_VERSION}:run{run.pk}:{_digest(_chart_spec(section))}:{size.key()}"


def sharpe_window(section: dict[str, Any], ts: np.ndarray) -> int:
    window = section.get("window")
    if isinstance(window, int) and not isinstance(window, bool) and window >= 2:
        return window
    return charts.default_sharpe_window(ts)


def render_chart(kind: str, section: dict[str, Any], data: RunData, size: Size, id_prefix: str) -> str:
    """The SVG of chart ``kind`` for the run behind ``data`` (NothingToDraw/CandlesMissing
    when it cannot be drawn)."""
    if kind == "equity":
        ts, equity = data.equity
        return charts.equity_svg(
            ts, equity, size=size, currency=data.currency, initial=data.initial_capital, id_prefix=id_prefix
        )
    if kind == "drawdown":
        ts, equity = data.equity
        return charts.drawdown_svg(ts, equity, size=size, id_prefix=id_prefix)
    if kind == "price_with_trades":
        candles = data.candles
        return charts.price_with_trades_svg(
            candles.ts,
            candles.close,
            data.trades,
            size=size,
            currency=data.currency,
            symbol=data.run.symbol,
            id_prefix=id_prefix,
        )
    if kind == "monthly_returns":
        ts, equity = data.equity
        monthly = charts.monthly_returns(ts, equity, data.initial_capital)
        return charts.monthly_returns_svg(monthly, size=size, id_prefix=id_prefix)
    if kind == "trade_returns":
        if data.run.total_trades == 0:
            raise NothingToDraw(NO_TRADES)
        return charts.trade_returns_svg(data.trades.trade_return, size=size, id_prefix=id_prefix)
    if kind == "rolling_sharpe":
        ts, equity = data.equity
        return charts.rolling_sharpe_svg(
            ts, equity, sharpe_window(section, ts), size=size, id_prefix=id_prefix
        )
    raise ValueError(f"unknown chart {kind!r}")


@dataclass
class _Pending:
    context: dict[str, Any]
    section: dict[str, Any]
    key: str
    size: Size


def build_sections(run, layout: Layout, *, data: RunData | None = None) -> list[dict[str, Any]]:
    """Render-ready contexts for every section of ``layout``, in its order, for a
    succeeded ``run``."""
    data = data or RunData(run)
    contexts: list[dict[str, Any]] = []
    pending: list[_Pending] = []
    for index, raw in enumerate(layout.sections):
        context = _section_context(run, raw, index, data)
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
                prefix = "c" + hashlib.sha1(item.key.encode()).hexdigest()[:10]
                svg = render_chart(kind, item.section, data, item.size, prefix)
                entry = {"svg": svg}
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


def _section_context(run, raw: Any, index: int, data: RunData) -> dict[str, Any]:
    if not isinstance(raw, dict) or raw.get("type") not in SECTION_TYPES:
        kind = raw.get("type") if isinstance(raw, dict) else type(raw).__name__
        return _invalid(index, f"Section {index + 1} has an unknown type {kind!r}; it is skipped.")
    kind = raw["type"]
    if kind == "metrics":
        return _metrics_section(run, raw, index)
    if kind == "chart":
        return _chart_section(run, raw, index)
    if kind == "table":
        return _table_section(run, raw, index, data)
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


def _metrics_section(run, raw: dict[str, Any], index: int) -> dict[str, Any]:
    """Metrics grouped into Returns / Risk / Trades columns; with a ``group`` label, the
    section is one column titled by its own title, in the listed order, and adjacent
    sections with the same label are joined side by side under that label."""
    names = [n for n in raw.get("metrics") or [] if isinstance(n, str)]
    group = raw.get("group") if isinstance(raw.get("group"), str) and raw["group"].strip() else ""
    if group:
        context = _base("metrics", "", index, group.strip())
        context["group"] = group.strip()
        rows = [row for column in metric_groups(run, names) for row in column["rows"]]
        order = {name: i for i, name in enumerate(dict.fromkeys(names))}
        rows.sort(key=lambda row: order[row["name"]])
        context["columns"] = [{"key": "custom", "title": _title(raw, ""), "rows": rows}]
    else:
        context = _base("metrics", "", index, _title(raw, "Metrics"))
        context["columns"] = metric_groups(run, names)
    trade_metrics = any(METRICS[n].group == "trades" for n in names if n in METRICS)
    if run.total_trades == 0 and trade_metrics:
        context["notes"].append(NO_TRADES + " Trade statistics are undefined.")
    return context


def metric_groups(run, names: Sequence[str]) -> list[dict[str, Any]]:
    """``names`` grouped into returns / risk / trades (layout order kept within a group;
    names not in the catalogue go to "Other")."""
    values = run.metrics or {}
    grouped: dict[str, list[dict[str, Any]]] = {}
    for name in dict.fromkeys(names):
        info = METRICS.get(name)
        value = values.get(name, getattr(run, name, None) if info else None)
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
    drawn = f"{bars}, drawn with the minimum and maximum of every pixel column so no spike is hidden"
    if kind == "equity":
        return f"Equity at each bar close; red shading: below the running peak. {drawn}."
    if kind == "drawdown":
        return f"Fall of equity from its running peak. {drawn}."
    if kind == "price_with_trades":
        return "Close price; ▲ long and ▼ short entries, ○ exits on a signal or at the end, ✕ stop exits."
    if kind == "monthly_returns":
        return "Month-end to month-end equity change (UTC calendar months)."
    if kind == "trade_returns":
        return "Distribution of trade returns (pnl after fees / margin)."
    window = raw.get("window")
    span = (
        f"{window:,} bars" if isinstance(window, int) and not isinstance(window, bool) else "30 days of bars"
    )
    return f"Annualised Sharpe ratio of bar returns over a rolling window of {span}."


def _table_section(run, raw: dict[str, Any], index: int, data: RunData) -> dict[str, Any]:
    kind = raw.get("table")
    if kind not in TABLE_TYPES:
        return _invalid(index, f"Section {index + 1} asks for an unknown table {kind!r}; it is skipped.")
    context = _base("table", kind, index, _title(raw, TABLE_TITLES[kind]))
    context["table"] = kind
    context["template"] = f"reports/partials/table_{kind}.html"
    if kind == "trades":
        context.update(_trades_table(run, raw, context["notes"]))
    else:
        context.update(_monthly_table(run, data, raw, context["notes"]))
    return context


def _limit(raw: dict[str, Any]) -> int:
    """The layout's ``limit``; absent or null means all rows, up to ``TABLE_MAX_ROWS``."""
    limit = raw.get("limit")
    if not isinstance(limit, int) or isinstance(limit, bool) or limit < 1:
        return TABLE_MAX_ROWS
    return min(limit, TABLE_MAX_ROWS)


def _trades_table(run, raw: dict[str, Any], notes: list[str]) -> dict[str, Any]:
    limit = _limit(raw)
    sort = raw.get("sort") or "seq"
    descending = isinstance(sort, str) and sort.startswith("-")
    field = TRADE_SORTS.get(sort.lstrip("-") if isinstance(sort, str) else "")
    if field is None:
        notes.append(f"Unknown sort {sort!r}; trades are listed in exit order.")
        field, descending, sort = "seq", False, "seq"
    total = run.total_trades if run.total_trades is not None else run.trades.count()
    if total == 0:
        notes.append(NO_TRADES)
        return {"trades": [], "total": 0, "limit": limit, "sort": sort}
    order = [f"-{field}" if descending else field]
    if field != "seq":
        order.append("seq")
    trades = list(run.trades.order_by(*order)[:limit])
    return {"trades": trades, "total": total, "limit": limit, "sort": sort, "shown": len(trades)}


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


def _text_section(raw: dict[str, Any], index: int) -> dict[str, Any]:
    context = _base("text", "", index, _title(raw, ""))
    text = raw.get("text") if isinstance(raw.get("text"), str) else ""
    # Plain text only: paragraphs split on blank lines; the template escapes them.
    context["paragraphs"] = [p.strip() for p in re.split(r"\n\s*\n", text) if p.strip()]
    return context

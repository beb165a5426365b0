"""Table sections of a report page: the trade list (paginated), the monthly returns
and the analytics tables (worst drawdowns, years, trade breakdowns), which come from
the run's cached analytics (``RunData.analytics``)."""

from __future__ import annotations

from typing import Any

import numpy as np
from django.core.cache import cache

from reports.charts import CHART_CACHE_VERSION, NothingToDraw
from reports.layouts import TABLE_TYPES
from reports.return_charts import monthly_returns
from reports.run_data import RunData, chart_cache_seconds
from reports.section_base import (
    NO_TRADES,
    PageRequest,
    analytics_or_note,
    base_context,
    int_option,
    invalid_section,
    section_title,
)
from reports.svg_axes import MONTH_ABBR

TABLE_TITLES = {
    "trades": "Trades",
    "monthly": "Monthly returns by year",
    "drawdowns": "Worst drawdowns",
    "yearly": "Yearly returns",
    "trade_breakdown": "Trade breakdown",
}

# A page (and a PDF) of more rows is unreadable; a table states how many it leaves out.
TABLE_MAX_ROWS = 1000
# The trade list of a page shows this many trades a page (``page_size`` in the layout).
TRADES_PAGE_SIZE = 50
# A PDF lists at most this many trades (the CSV export has them all).
PDF_TRADE_ROWS = 200
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


def table_section(run, raw: dict[str, Any], index: int, data: RunData, page: PageRequest) -> dict[str, Any]:
    kind = raw.get("table")
    if kind not in TABLE_TYPES:
        return invalid_section(
            index, f"Section {index + 1} asks for an unknown table {kind!r}; it is skipped."
        )
    context = base_context("table", kind, index, section_title(raw, TABLE_TITLES[kind]))
    context["table"] = kind
    context["template"] = f"reports/partials/table_{kind}.html"
    if kind == "trades":
        context.update(_trades_table(run, raw, context["notes"], page))
    elif kind == "monthly":
        context.update(_monthly_table(run, data, raw, context["notes"]))
    else:
        analytics = analytics_or_note(data, context["notes"])
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
    size = int_option(raw, "page_size", TRADES_PAGE_SIZE, 1)
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
        monthly = monthly_returns(ts, equity, data.initial_capital)
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
        return {"years": [], "months": MONTH_ABBR, "ranked": None}
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
    return {"years": table["years"], "months": MONTH_ABBR, "ranked": ranked}


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

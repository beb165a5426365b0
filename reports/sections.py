"""A layout's sections → render-ready contexts, one per section, in the layout's order.

Each context is a dict with ``type``, ``title``, ``template`` (the partial that draws
it), ``anchor``, ``notes`` (sentences for the reader: "no trades", "candles gone") and
the type's own data. Nothing here raises for a run's data: a section that cannot be
drawn carries a note instead.

This module dispatches and builds the metrics and text sections; ``chart_sections``
draws and caches the charts, ``table_sections`` builds the tables, ``section_base``
holds what every context shares.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from reports.analytics.summary import ANALYTICS_METRICS
from reports.chart_sections import CHART_SIZES, Pending, chart_cache_key, chart_section, fill_charts
from reports.format import GROUP_TITLES, GROUPS, METRICS, metric_label, metric_tone, metric_value
from reports.layouts import SECTION_TYPES, Layout
from reports.run_data import RunData
from reports.section_base import (
    NO_TRADES,
    PageRequest,
    analytics_or_note,
    base_context,
    invalid_section,
    section_title,
)
from reports.table_sections import table_section


def build_sections(
    run, layout: Layout, *, data: RunData | None = None, page: PageRequest | None = None
) -> list[dict[str, Any]]:
    """Render-ready contexts for every section of ``layout``, in its order, for a
    succeeded ``run``."""
    data = data or RunData(run)
    page = page or PageRequest()
    contexts: list[dict[str, Any]] = []
    pending: list[Pending] = []
    for index, raw in enumerate(layout.sections):
        context = _section_context(run, raw, index, data, page)
        if context["type"] == "chart":
            size = CHART_SIZES[context["chart"]]
            pending.append(Pending(context, raw, chart_cache_key(run, raw, size), size))
        previous = contexts[-1] if contexts else None
        if context.get("group") and previous is not None and previous.get("group") == context["group"]:
            # metrics sections sharing a group label sit side by side under that label
            previous["columns"].extend(context["columns"])
            previous["notes"] = list(dict.fromkeys(previous["notes"] + context["notes"]))
            continue
        contexts.append(context)
    if pending:
        fill_charts(pending, data)
    return contexts


def _section_context(run, raw: Any, index: int, data: RunData, page: PageRequest) -> dict[str, Any]:
    if not isinstance(raw, dict) or raw.get("type") not in SECTION_TYPES:
        kind = raw.get("type") if isinstance(raw, dict) else type(raw).__name__
        return invalid_section(index, f"Section {index + 1} has an unknown type {kind!r}; it is skipped.")
    kind = raw["type"]
    if kind == "metrics":
        return _metrics_section(run, raw, index, data)
    if kind == "chart":
        return chart_section(run, raw, index)
    if kind == "table":
        return table_section(run, raw, index, data, page)
    return _text_section(raw, index)


def _metrics_section(run, raw: dict[str, Any], index: int, data: RunData) -> dict[str, Any]:
    """Metrics grouped into columns by kind (Returns, Risk, Trades, …); with a ``group``
    label, the section is one column titled by its own title, in the listed order, and
    adjacent sections with the same label are joined side by side under that label."""
    names = [n for n in raw.get("metrics") or [] if isinstance(n, str)]
    group = raw.get("group") if isinstance(raw.get("group"), str) and raw["group"].strip() else ""
    extra: dict[str, Any] = {}
    notes: list[str] = []
    if any(name in ANALYTICS_METRICS for name in names):
        analytics = analytics_or_note(data, notes)
        extra = analytics["metrics"] if analytics else {}
        if analytics is not None and not analytics["benchmark"]:
            notes.append("The run's candles are no longer stored: the buy-and-hold figures are undefined.")
    if group:
        context = base_context("metrics", "", index, group.strip())
        context["group"] = group.strip()
        rows = [row for column in metric_groups(run, names, extra) for row in column["rows"]]
        order = {name: i for i, name in enumerate(dict.fromkeys(names))}
        rows.sort(key=lambda row: order[row["name"]])
        context["columns"] = [{"key": "custom", "title": section_title(raw, ""), "rows": rows}]
    else:
        context = base_context("metrics", "", index, section_title(raw, "Metrics"))
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


def _text_section(raw: dict[str, Any], index: int) -> dict[str, Any]:
    context = base_context("text", "", index, section_title(raw, ""))
    text = raw.get("text") if isinstance(raw.get("text"), str) else ""
    # Plain text only: paragraphs split on blank lines; the template escapes them.
    context["paragraphs"] = [p.strip() for p in re.split(r"\n\s*\n", text) if p.strip()]
    return context

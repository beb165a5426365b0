"""Whole report pages as HTML strings, shared by the views, the PDF and the `report` command.

The stylesheet is inlined into every page: a report is a document that must look the
same when saved, printed or handed to WeasyPrint, with no static-file lookup.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from django.core.cache import cache
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.safestring import SafeString, mark_safe

from reports.charts import CHART_CACHE_VERSION
from reports.compare import compare_context
from reports.format import overrides_text
from reports.layouts import resolve_layout
from reports.run_data import ANALYTICS_VERSION, RunData, chart_cache_seconds
from reports.section_base import PageRequest
from reports.sections import build_sections

CSS_PATH = Path(__file__).resolve().parent / "static" / "reports" / "report.css"


def report_css() -> str:
    return CSS_PATH.read_text(encoding="utf-8")


def _period(run) -> str:
    if not run.period_start:
        return "all stored data"
    end = run.period_end.date().isoformat() if run.period_end else "…"
    return f"{run.period_start.date().isoformat()} → {end}"


def data_used(run) -> dict[str, Any] | None:
    """What the run really ran on (``partials/data_used.html``): the first and last bar,
    bars used of the period's, the gaps, the warnings, and the return statistics."""
    if run.data_start is None and not run.warnings and not run.statistics:
        return None
    coverage = run.coverage or {}
    return {
        "start": run.data_start,
        "end": run.data_end,
        "bars": coverage.get("bars", run.candle_count),
        "expected": run.expected_bars,
        "ratio": coverage.get("ratio"),
        "gaps": coverage.get("gaps", []),
        "gap_count": coverage.get("gap_count", 0),
        "max_gap_bars": coverage.get("max_gap_bars"),
        "warnings": run.warnings or [],
        "statistics": run.statistics,
    }


def _settings_rows(mapping: Any) -> list[tuple[str, str]]:
    if not isinstance(mapping, dict):
        return []
    return [
        (key, value if isinstance(value, str) else json.dumps(value, default=str))
        for key, value in sorted(mapping.items())
    ]


# Bump with any change to what the sections render (their templates included).
SECTIONS_CACHE_VERSION = 2
# Pages of the trade list beyond this are rendered every time (no cache entry each).
CACHED_TRADE_PAGES = 200


def layout_key(layout) -> str:
    """A layout's identity in cache keys: its spec row (one immutable version), or the
    built-in default (with why it is used)."""
    if layout.spec is not None:
        return f"spec{layout.spec.pk}"  # a spec row is one immutable version
    return "default-" + hashlib.sha1(layout.note.encode()).hexdigest()[:8]


def sections_html(run, layout, *, pdf: bool, trades_page: int) -> SafeString:
    """The rendered sections of a succeeded run's report. Cached per (run, layout
    version, trade page, print): a succeeded run's results never change, so a cached
    page costs a cache read instead of drawing, computing and rendering every section.
    A page missing something that may come back (candles deleted since the run) is not
    cached."""
    versions = f"v{SECTIONS_CACHE_VERSION}.{CHART_CACHE_VERSION}.{ANALYTICS_VERSION}"
    where = f"{layout_key(layout)}:p{trades_page}:{'pdf' if pdf else 'web'}"
    key = f"report:sections:{versions}:run{run.pk}:{where}"
    cacheable = trades_page <= CACHED_TRADE_PAGES
    html = cache.get(key) if cacheable else None
    if html is None:
        data = RunData(run)
        sections = build_sections(run, layout, data=data, page=PageRequest(trades_page=trades_page, pdf=pdf))
        context = {"sections": sections, "run": run, "pdf": pdf}
        html = render_to_string("reports/partials/sections.html", context)
        if cacheable and data.complete:
            cache.set(key, html, timeout=chart_cache_seconds())
    return mark_safe(html)  # rendered by our own templates, autoescaped there


def run_report_context(run, *, pdf: bool = False, trades_page: int = 1) -> dict[str, Any]:
    """Everything ``reports/run_report.html`` needs; sections only for a succeeded run.
    ``trades_page``: the page of the trade list shown (the PDF lists its first rows)."""
    config = run.config or {}
    succeeded = run.status == "succeeded"
    layout = resolve_layout(run) if succeeded else None
    return {
        "run": run,
        "spec": run.spec,
        "succeeded": succeeded,
        "layout": layout,
        "sections_html": sections_html(run, layout, pdf=pdf, trades_page=trades_page) if layout else "",
        "overrides_text": overrides_text(run.overrides),
        "period": _period(run),
        "data_used": data_used(run),
        "params": _settings_rows(config.get("params")),
        "execution": _settings_rows(config.get("execution")),
        "overrides": json.dumps(run.overrides, indent=2, sort_keys=True, default=str)
        if run.overrides
        else "",
        "generated_at": timezone.now(),
        "pdf": pdf,
        "css": report_css(),
    }


def run_report_html(run, *, request=None, pdf: bool = False, trades_page: int = 1) -> str:
    context = run_report_context(run, pdf=pdf, trades_page=trades_page)
    return render_to_string("reports/run_report.html", context, request=request)


def compare_html(runs, *, request=None) -> str:
    context = compare_context(runs)
    context.update(css=report_css(), generated_at=timezone.now(), pdf=False)
    return render_to_string("reports/compare.html", context, request=request)

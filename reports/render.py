"""Whole report pages as HTML strings, shared by the views, the PDF and the `report` command.

The stylesheet is inlined into every page: a report is a document that must look the
same when saved, printed or handed to WeasyPrint, with no static-file lookup.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.template.loader import render_to_string
from django.utils import timezone

from reports.compare import compare_context
from reports.format import overrides_text
from reports.layouts import resolve_layout
from reports.sections import PageRequest, build_sections

CSS_PATH = Path(__file__).resolve().parent / "static" / "reports" / "report.css"


def report_css() -> str:
    return CSS_PATH.read_text(encoding="utf-8")


def _period(run) -> str:
    if not run.period_start:
        return "all stored data"
    end = run.period_end.date().isoformat() if run.period_end else "…"
    return f"{run.period_start.date().isoformat()} → {end}"


def _settings_rows(mapping: Any) -> list[tuple[str, str]]:
    if not isinstance(mapping, dict):
        return []
    return [
        (key, value if isinstance(value, str) else json.dumps(value, default=str))
        for key, value in sorted(mapping.items())
    ]


def run_report_context(run, *, pdf: bool = False, trades_page: int = 1) -> dict[str, Any]:
    """Everything ``reports/run_report.html`` needs; sections only for a succeeded run.
    ``trades_page``: the page of the trade list shown (the PDF lists its first rows)."""
    config = run.config or {}
    succeeded = run.status == "succeeded"
    layout = resolve_layout(run) if succeeded else None
    page = PageRequest(trades_page=trades_page, pdf=pdf)
    return {
        "run": run,
        "spec": run.spec,
        "succeeded": succeeded,
        "layout": layout,
        "sections": build_sections(run, layout, page=page) if layout is not None else [],
        "overrides_text": overrides_text(run.overrides),
        "period": _period(run),
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

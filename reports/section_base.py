"""What every section context of a report page shares: the keys each one has, its
title, the options read from the layout, and the request (``PageRequest``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from reports.charts import NothingToDraw
from reports.run_data import RunData

NO_TRADES = "No trades: the strategy never entered a position in this run."


@dataclass(frozen=True)
class PageRequest:
    """What the request asks of a page: ``trades_page`` (1-based) and whether it is
    printed (``pdf``: no pagination, a capped trade list)."""

    trades_page: int = 1
    pdf: bool = False


def int_option(section: dict[str, Any], key: str, default: int, low: int = 0) -> int:
    value = section.get(key)
    if isinstance(value, int) and not isinstance(value, bool) and value >= low:
        return value
    return default


def section_title(raw: dict[str, Any], default: str) -> str:
    title = raw.get("title")
    return title.strip() if isinstance(title, str) and title.strip() else default


def base_context(kind: str, sub: str, index: int, title: str) -> dict[str, Any]:
    name = f"{kind}:{sub}" if sub else kind
    return {
        "type": kind,
        "name": name,
        "title": title,
        "anchor": f"section-{index + 1}-{sub or kind}".replace("_", "-"),
        "template": f"reports/partials/section_{kind}.html",
        "notes": [],
    }


def invalid_section(index: int, message: str) -> dict[str, Any]:
    context = base_context("invalid", "", index, "Section not shown")
    context["notes"].append(message)
    return context


def analytics_or_note(data: RunData, notes: list[str]) -> dict[str, Any] | None:
    try:
        return data.analytics
    except NothingToDraw as exc:
        notes.append(str(exc))
        return None

"""Side-by-side comparison of 2–6 runs: metrics, parameters and equity curves on one chart."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from django.core.cache import cache

from reports.analytics.summary import ANALYTICS_METRICS
from reports.charts import CHART_CACHE_VERSION, NothingToDraw
from reports.equity_charts import COMPARE_SIZE, Curve, compare_equity_svg
from reports.format import GROUP_TITLES, GROUPS, METRICS, metric_tone, metric_value, overrides_text
from reports.run_data import RunData, chart_cache_seconds, run_analytics

MIN_COMPARE = 2
MAX_COMPARE = 6


class CompareError(ValueError):
    """The ids asked for cannot be compared; the message is meant for the user."""


def parse_ids(values: Iterable[str]) -> list[int]:
    """Run ids from ``?ids=1,2`` and/or repeated ``?ids=1&ids=2`` (the list page's
    checkboxes); duplicates dropped, order kept. CompareError unless 2–6 valid ids."""
    ids: list[int] = []
    for value in values:
        for part in value.split(","):
            part = part.strip()
            if not part:
                continue
            if not part.isdigit():
                raise CompareError(f"“{part}” is not a run id; give ids as ?ids=12,15.")
            ids.append(int(part))
    ids = list(dict.fromkeys(ids))
    if len(ids) < MIN_COMPARE:
        raise CompareError(
            f"Choose at least {MIN_COMPARE} runs to compare (got {len(ids)}); tick them in the run list."
        )
    if len(ids) > MAX_COMPARE:
        raise CompareError(f"At most {MAX_COMPARE} runs can be compared at once; you chose {len(ids)}.")
    return ids


def run_label(run) -> str:
    """``#12 hyperrsi-btc-15m v1 · rsi_period=10``: the overrides tell apart runs of one spec."""
    label = f"#{run.pk} {run.spec.name} v{run.spec.version}"
    changed = overrides_text(run.overrides)
    return f"{label} · {changed}" if changed else label


def _best(values: Sequence[float | None], better: str) -> set[int]:
    present = [(i, v) for i, v in enumerate(values) if v is not None]
    if better not in ("high", "low") or len(present) < 2:
        return set()
    target = max(v for _, v in present) if better == "high" else min(v for _, v in present)
    if all(v == target for _, v in present):
        return set()
    return {i for i, v in present if v == target}


def _values(run) -> dict[str, Any]:
    """A run's contract metrics and report analytics (empty unless it succeeded)."""
    if run.status != "succeeded":
        return {}
    analytics = run_analytics(run) or {}
    return {**dict.fromkeys(ANALYTICS_METRICS), **analytics.get("metrics", {}), **(run.metrics or {})}


def metric_rows(runs: Sequence) -> list[dict[str, Any]]:
    """Groups of rows, each with one formatted cell per run; the best value marked."""
    values = [_values(run) for run in runs]
    groups = []
    for group in GROUPS:
        rows = []
        for info in METRICS.values():
            if info.group != group:
                continue
            raw = [found.get(info.name) for found in values]
            best = _best(raw, info.better)
            cells = [
                {"value": metric_value(info.name, v), "tone": metric_tone(info.name, v), "best": i in best}
                for i, v in enumerate(raw)
            ]
            rows.append({"name": info.name, "label": info.label, "help": info.help, "cells": cells})
        groups.append({"key": group, "title": GROUP_TITLES[group], "rows": rows})
    return groups


def param_rows(runs: Sequence) -> list[dict[str, Any]]:
    """What each run was configured with (strategy, market, params, execution); rows
    whose values differ between runs are flagged, since those explain the differences."""
    rows = []

    def add(label: str, values: list[Any]) -> None:
        shown = ["—" if v is None else str(v) for v in values]
        rows.append({"label": label, "cells": shown, "differs": len(set(shown)) > 1})

    configs = [run.config or {} for run in runs]
    add("strategy", [run.strategy for run in runs])
    add("symbol", [run.symbol for run in runs])
    add("timeframe", [run.timeframe for run in runs])
    add("period", [_period(run) for run in runs])
    for section in ("params", "execution"):
        keys = sorted({key for config in configs for key in (config.get(section) or {})})
        for key in keys:
            add(f"{section}.{key}", [(config.get(section) or {}).get(key) for config in configs])
    return rows


def _period(run) -> str:
    if not run.period_start:
        return "all data"
    end = run.period_end.date().isoformat() if run.period_end else "…"
    return f"{run.period_start.date().isoformat()} → {end}"


def compare_chart(runs: Sequence) -> tuple[str, list[str]]:
    """(svg, notes): the succeeded runs' equity curves as returns since their start."""
    notes = [
        f"{run_label(run)} is {run.status}: it has no equity curve to draw."
        for run in runs
        if run.status != "succeeded"
    ]
    drawable = [run for run in runs if run.status == "succeeded"]
    if not drawable:
        return "", notes
    ids = "-".join(str(run.pk) for run in drawable)
    key = f"report:compare:v{CHART_CACHE_VERSION}:{ids}:{COMPARE_SIZE.key()}"
    entry = cache.get(key)
    if entry is None:
        curves, missing = [], []
        for run in drawable:
            data = RunData(run)
            try:
                ts, equity = data.equity
            except NothingToDraw as exc:
                missing.append(f"{run_label(run)}: {exc}")
                continue
            curves.append(Curve(run_label(run), ts, equity, data.initial_capital))
        try:
            entry = {
                "svg": compare_equity_svg(curves, size=COMPARE_SIZE),
                "notes": missing,
            }
        except NothingToDraw as exc:
            entry = {"svg": "", "notes": [*missing, str(exc)]}
        cache.set(key, entry, timeout=chart_cache_seconds())
    notes.extend(entry["notes"])
    return entry["svg"], notes


def compare_context(runs: Sequence) -> dict[str, Any]:
    svg, notes = compare_chart(runs)
    return {
        "runs": runs,
        "labels": [run_label(run) for run in runs],
        "metric_groups": metric_rows(runs),
        "param_rows": param_rows(runs),
        "chart_svg": svg,
        "chart_notes": notes,
    }

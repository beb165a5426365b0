"""Normalising valid spec documents into the data runs and sweeps read: defaults filled
in, numbers canonical (an integer written 14.0 is 14), instants in one form, a sweep's
values the ones the optimiser runs. See docs/specs.md, "Normalised form"."""

from __future__ import annotations

import copy
import math
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from specs.json_schemas import kind_schema, params_schema
from specs.layout_rules import SECTION_KEYS
from strategies.registry import StrategyDef, get_strategy


def parse_instant(text: str) -> datetime:
    """A market ``start``/``end``: a date (00:00 UTC) or an ISO 8601 date-time, as aware UTC.

    ``ValueError`` naming the problem otherwise. A date-time without an offset is UTC.
    """
    text = text.strip()
    if len(text) == 10:
        value = datetime.strptime(text, "%Y-%m-%d")
    else:
        value = datetime.fromisoformat(re.sub(r"[zZ]$", "+00:00", text.replace(" ", "T", 1)))
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def format_instant(value: datetime) -> str:
    """``2021-10-01T00:00:00Z``: the one form stored in normalised data."""
    return value.astimezone(UTC).replace(tzinfo=None).isoformat() + "Z"


def normalise_value(schema: Mapping[str, Any], value: Any) -> Any:
    """``value`` with schema defaults filled in and numbers made canonical.

    An ``integer`` written as 14.0 becomes 14; a ``number`` written as 3 becomes 3.0, so
    that the same meaning always hashes the same.
    """
    types = schema.get("type")
    types = types if isinstance(types, list) else [types]
    if isinstance(value, dict) and "object" in types:
        properties = schema.get("properties", {})
        out = {}
        for key, sub in properties.items():
            if key in value:
                out[key] = normalise_value(sub, value[key])
            elif isinstance(sub, dict) and "default" in sub:
                out[key] = normalise_value(sub, copy.deepcopy(sub["default"]))
        for key in value:
            if key not in properties:
                extra = schema.get("additionalProperties")
                out[key] = normalise_value(extra, value[key]) if isinstance(extra, dict) else value[key]
        return out
    if isinstance(value, list) and "array" in types:
        items = schema.get("items")
        return [normalise_value(items, item) if isinstance(items, dict) else item for item in value]
    if isinstance(value, bool):
        return value
    if isinstance(value, float) and "integer" in types and value.is_integer():
        return int(value)
    if isinstance(value, int) and "number" in types and "integer" not in types:
        return float(value)
    return value


def normalise_backtest(data: Mapping[str, Any]) -> dict[str, Any]:
    """The normalised form of a valid Backtest document (see docs/specs.md)."""
    out = normalise_value(kind_schema("Backtest"), dict(data))
    strategy = get_strategy(out["strategy"])
    out["params"] = normalise_value(params_schema(strategy), strategy.with_defaults(out.get("params") or {}))
    market = out["market"]
    market["start"] = format_instant(parse_instant(market["start"]))
    market["end"] = format_instant(parse_instant(market["end"]))
    return out


def normalise_report_layout(data: Mapping[str, Any]) -> dict[str, Any]:
    """The normalised form of a valid ReportLayout document: every section with all its keys."""
    out = normalise_value(kind_schema("ReportLayout"), {k: v for k, v in data.items() if k != "sections"})
    sections = []
    for section in data["sections"]:
        kind = section["type"]
        item: dict[str, Any] = {"type": kind}
        for key in SECTION_KEYS[kind]:
            item[key] = section.get(key)
        sections.append(item)
    out["sections"] = sections
    return out


def normalise_sweep(
    data: Mapping[str, Any], strategy: StrategyDef, axes: Mapping[str, Any], feasible_size: int | None
) -> dict[str, Any]:
    """``axes``: the optimiser's axis of each swept parameter (``specs.kinds``): the values
    stored are the ones a sweep runs."""
    schema = kind_schema("Sweep")
    out = normalise_value(schema, {k: v for k, v in data.items() if k not in ("space", "validation")})
    props = params_schema(strategy)["properties"]
    space = {}
    for param, entry in data["space"].items():
        prop = props[param]
        values = list(axes[param].values)
        if "values" in entry:
            space[param] = {"values": values}
        else:
            integer = prop.get("type") == "integer"
            low, high, step = (normalise_value(prop, entry[k]) for k in ("min", "max", "step"))
            step = int(step) if integer else float(step)
            space[param] = {"min": low, "max": high, "step": step, "values": values}
    out["space"] = space
    validation = data.get("validation")
    if validation:
        (method, settings), *_ = validation.items()
        sub = schema["properties"]["validation"]["properties"][method]
        out["validation"] = {"type": method, **normalise_value(sub, settings)}
    else:
        out["validation"] = None
    constraints = list(out["constraints"])
    for constraint in strategy.constraints:
        if constraint not in constraints:
            constraints.append(constraint)
    out["constraints"] = constraints
    out["strategy"] = strategy.name
    out["backtest_version"] = None  # pinned by the service when it is stored
    out["grid_size"] = math.prod(axis.size for axis in axes.values())
    out["feasible_size"] = feasible_size
    return out

"""The JSON Schemas of the spec kinds: as kept in ``specs/schemas/*.schema.json``, with
each strategy's parameter schema, and as served to editors (``/api/v1/schemas/``).

Framework-free, like the rest of the spec layer's validation.
"""

from __future__ import annotations

import copy
import functools
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator

from strategies.registry import StrategyDef, all_strategies, get_strategy

SCHEMA_DIR = Path(__file__).resolve().parent / "schemas"
KIND_FILES = {
    "Backtest": "backtest.schema.json",
    "Sweep": "sweep.schema.json",
    "ReportLayout": "report_layout.schema.json",
}
KINDS = tuple(KIND_FILES)
# URL slug -> kind, for /api/v1/schemas/<slug>.json
KIND_SLUGS = {"backtest": "Backtest", "sweep": "Sweep", "report_layout": "ReportLayout"}


@functools.cache
def kind_schema(kind: str) -> dict[str, Any]:
    """The JSON Schema of ``kind`` as kept in ``specs/schemas/`` (shared: do not modify)."""
    return json.loads((SCHEMA_DIR / KIND_FILES[kind]).read_text(encoding="utf-8"))


def file_schema(kind: str) -> dict[str, Any]:
    """The JSON Schema of ``kind`` exactly as kept in ``specs/schemas/`` (a copy)."""
    return copy.deepcopy(kind_schema(kind))


@functools.cache
def kind_validator(kind: str) -> Draft202012Validator:
    return Draft202012Validator(kind_schema(kind))


def params_schema(strategy: StrategyDef) -> dict[str, Any]:
    """The strategy's parameter schema as specs use it: unknown parameters are errors.

    ``$schema``/``$id`` are dropped so that it can be embedded in another schema.
    """
    schema = {k: v for k, v in copy.deepcopy(strategy.params_schema).items() if k not in ("$schema", "$id")}
    schema.setdefault("type", "object")
    schema.setdefault("additionalProperties", False)
    return schema


@functools.cache
def params_validator(strategy_name: str) -> Draft202012Validator:
    """The validator of a strategy's ``params`` (``params_schema``)."""
    return Draft202012Validator(params_schema(get_strategy(strategy_name)))


def served_schema(kind: str) -> dict[str, Any]:
    """The schema served to editors: the file's, plus per-strategy params for Backtest.

    For Backtest, ``strategy`` is limited to the registered names and an
    ``if strategy == X then params: <X's schema>`` is added per strategy.
    """
    schema = file_schema(kind)
    if kind == "Backtest":
        strategies = all_strategies()
        schema["properties"]["strategy"]["enum"] = [strategy.name for strategy in strategies]
        schema["allOf"] = [
            {
                "if": {"properties": {"strategy": {"const": strategy.name}}, "required": ["strategy"]},
                "then": {
                    "properties": {
                        "params": {
                            **params_schema(strategy),
                            "description": f"{strategy.title}: {strategy.description}",
                        }
                    }
                },
            }
            for strategy in strategies
        ]
    return schema


def combined_schema() -> dict[str, Any]:
    """One schema for files that mix kinds: each document is checked by its ``kind``."""
    defs = {}
    for kind in KINDS:
        schema = served_schema(kind)
        schema.pop("$schema", None)
        schema.pop("$id", None)
        defs[kind] = schema
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "urn:backtest-service:specs:spec",
        "title": "Spec (any kind)",
        "type": "object",
        "required": ["kind"],
        "properties": {"kind": {"enum": list(KINDS), "description": "The kind of spec document."}},
        "allOf": [
            {
                "if": {"properties": {"kind": {"const": kind}}, "required": ["kind"]},
                "then": {"$ref": f"#/$defs/{kind}"},
            }
            for kind in KINDS
        ],
        "$defs": defs,
    }


def schema_defaults(schema: Mapping[str, Any]) -> dict[str, Any]:
    """The ``default`` of every property of an object schema that declares one."""
    return {key: sub["default"] for key, sub in schema.get("properties", {}).items() if "default" in sub}

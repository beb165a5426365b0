"""The JSON Schema files, what editors get from them, and the docs that describe them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator

from specs.json_schemas import KIND_FILES, combined_schema, file_schema, served_schema
from specs.normalise import normalise_backtest
from specs.parsing import parse_text
from specs.validation import validate_backtest_data, validate_text
from tests.specs.conftest import BACKTEST

REPO = Path(__file__).resolve().parents[2]
SCHEMAS = REPO / "specs" / "schemas"
EXAMPLES = sorted((REPO / "specs" / "examples").glob("*.yaml"))


@pytest.mark.parametrize("kind", list(KIND_FILES))
def test_each_kind_has_a_valid_draft_2020_12_schema_file(kind):
    path = SCHEMAS / KIND_FILES[kind]
    schema = json.loads(path.read_text())
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    Draft202012Validator.check_schema(schema)
    assert schema["properties"]["kind"] == {"const": kind, "description": "The kind of spec document."}
    assert schema["additionalProperties"] is False
    assert file_schema(kind) == schema


def test_the_schema_files_list_exactly_the_engine_metric_names():
    """Sweeps optimise the engine's metrics; a report's metrics sections may also show
    the report analytics, listed after them."""
    from engine.enums import METRIC_NAMES
    from reports.analytics.summary import ANALYTICS_METRICS

    sweep = file_schema("Sweep")["properties"]["objective"]["properties"]["metric"]["enum"]
    sections = file_schema("ReportLayout")["properties"]["sections"]["items"]["allOf"]
    (metrics,) = [rule["then"] for rule in sections if rule["if"]["properties"]["type"]["const"] == "metrics"]
    assert sweep == list(METRIC_NAMES)
    assert metrics["properties"]["metrics"]["items"]["enum"] == [*METRIC_NAMES, *ANALYTICS_METRICS]


def test_the_execution_defaults_match_the_engine():
    from engine.config import ExecutionConfig

    defaults = {
        key: prop["default"]
        for key, prop in file_schema("Backtest")["properties"]["execution"]["properties"].items()
    }
    engine = ExecutionConfig()
    assert defaults == {key: getattr(engine, key) for key in defaults}


@pytest.mark.parametrize("kind", ["Backtest", "Sweep", "ReportLayout"])
def test_served_and_combined_schemas_are_valid(kind):
    Draft202012Validator.check_schema(served_schema(kind))
    Draft202012Validator.check_schema(combined_schema())


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda path: path.name)
def test_an_editor_accepts_every_example_document(path):
    validator = Draft202012Validator(combined_schema())
    documents = parse_text(path.read_text(), source=path.name).documents
    assert documents
    for document in documents:
        assert list(validator.iter_errors(document.data)) == []


@pytest.mark.parametrize(
    ("change", "fragment"),
    [
        (("rsi_period: 14", "rsi_period: 0"), "0 is less than the minimum of 2"),
        (
            ("entry_option: reverse", "entry_option: sideways"),
            "'sideways' is not one of ['reverse', 'follow']",
        ),
        (("entry_option: reverse", "fast_period: 3"), "Additional properties are not allowed ('fast_period'"),
        (("strategy: hyperrsi", "strategy: nope"), "'nope' is not one of ['ema_cross', 'hyperrsi']"),
    ],
)
def test_an_editor_flags_bad_params_through_the_served_schema(change, fragment):
    data = parse_text(BACKTEST.replace(*change)).documents[0].data
    messages = [error.message for error in Draft202012Validator(combined_schema()).iter_errors(data)]
    assert any(fragment in message for message in messages), messages


def _field_names(schema) -> set[str]:
    names = set()
    if isinstance(schema, dict):
        for key, sub in schema.get("properties", {}).items():
            names.add(key)
            names |= _field_names(sub)
        for key in ("items", "additionalProperties", "then"):
            names |= _field_names(schema.get(key))
        for rule in schema.get("allOf", []):
            names |= _field_names(rule)
    return names


def test_the_docs_describe_every_field_of_every_kind():
    docs = (REPO / "docs" / "specs.md").read_text()
    fields = set().union(*(_field_names(served_schema(kind)) for kind in KIND_FILES))
    assert {"rsi_period", "fast_period", "window", "walk_forward", "patience"} <= fields
    missing = sorted(name for name in fields if f"`{name}`" not in docs)
    assert missing == []
    for needle in (
        "yaml-language-server: $schema=",
        '"yaml.schemas"',
        "comparison  :=",
        "(line 7, column 16)",
    ):
        assert needle in docs


def test_normalised_backtest_data_is_itself_valid_and_stable():
    (document,) = validate_text(BACKTEST)
    assert validate_backtest_data(document.data) == []
    assert normalise_backtest(document.data) == document.data


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"params": {"rsi_period": 1}}, [("params.rsi_period", "1 is less than the minimum of 2")]),
        ({"market": {"end": "2023-01-01"}}, [("market.end", "end 2023-01-01T00:00:00Z is not after start")]),
        (
            {"execution": {"fill": "open"}},
            [("execution.fill", "'open' is not one of ['close', 'next_open']")],
        ),
        ({"execution": {"fees": 1}}, [("execution.fees", "unknown key 'fees'")]),
        ({"kind": "Sweep"}, [("kind", "expected 'Backtest', got the string 'Sweep'")]),
    ],
)
def test_validate_backtest_data_names_each_bad_path(change, expected):
    (document,) = validate_text(BACKTEST)
    data = json.loads(json.dumps(document.data))
    for key, value in change.items():
        if isinstance(value, dict):
            data[key].update(value)
        else:
            data[key] = value
    errors = validate_backtest_data(data)
    assert [path for path, _ in errors][: len(expected)] == [path for path, _ in expected]
    for (_, message), (_, fragment) in zip(errors, expected, strict=False):
        assert fragment in message


def test_a_sweep_of_a_strategy_without_a_sweep_adapter_is_refused(monkeypatch):
    import numpy as np

    from specs.errors import SpecValidationError
    from strategies import registry
    from tests.specs.conftest import SWEEP

    plain = registry.StrategyDef(
        name="plain",
        title="plain",
        description="no sweep adapter",
        params_schema={"type": "object", "properties": {"period": {"type": "integer", "default": 3}}},
        warmup=lambda params: 0,
        signals=lambda params, *columns: np.zeros(columns[3].shape[0], dtype=np.int8),
    )
    monkeypatch.setitem(registry._REGISTRY, "plain", plain)
    backtest = BACKTEST.replace("strategy: hyperrsi", "strategy: plain").replace(
        "  rsi_period: 14\n  entry_option: reverse\n", "  period: 3\n"
    )
    sweep = SWEEP.replace(
        "  rsi_period: {min: 10, max: 20, step: 2}\n  rsi_oversold: {values: [20, 30]}\n",
        "  period: {values: [2, 3]}\n",
    )
    assert validate_text(backtest)  # the strategy itself runs
    with pytest.raises(SpecValidationError) as err:
        validate_text(backtest + "---\n" + sweep)
    (error,) = err.value.errors
    assert error.path == "backtest"
    assert "strategy 'plain', which declares no sweep adapter and cannot be swept" in error.message
    assert "(sweepable: ema_cross, hyperrsi)" in error.message

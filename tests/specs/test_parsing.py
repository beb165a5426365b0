"""Reading YAML with positions: values, lines and columns, bounds, what is refused."""

from __future__ import annotations

import pytest

from specs import parsing
from specs.parsing import MAX_NODES, format_path, parse_bytes, parse_data, parse_text

TEXT = """\
# yaml-language-server: $schema=http://localhost:8000/api/v1/schemas/spec.json
kind: Backtest
name: a
params:
  rsi_period: 14
  levels: [20, 80]
market:
  start: 2024-01-01
  end: 2024-06-30T12:00:00Z
# describes the second document
---
kind: ReportLayout
sections:
  - type: chart
    chart: equity
"""


def test_it_keeps_the_line_and_column_of_every_value_and_key():
    parsed = parse_text(TEXT, source="f.yaml")
    assert parsed.errors == []
    first, second = parsed.documents
    assert first.positions[("params", "rsi_period")] == (5, 15)
    assert first.positions[("params", "levels", 1)] == (6, 16)
    assert first.key_positions[("params", "levels")] == (6, 3)
    assert second.positions[("sections", 0, "chart")] == (15, 12)
    assert (first.index, second.index) == (1, 2)


def test_it_builds_plain_values_and_keeps_timestamps_as_text():
    first = parse_text(TEXT, source="f.yaml").documents[0]
    assert first.data == {
        "kind": "Backtest",
        "name": "a",
        "params": {"rsi_period": 14, "levels": [20, 80]},
        "market": {"start": "2024-01-01", "end": "2024-06-30T12:00:00Z"},
    }


def test_each_document_keeps_its_own_text_with_the_comments_above_it():
    first, second = parse_text(TEXT, source="f.yaml").documents
    assert first.text.startswith("# yaml-language-server:")
    assert first.text.endswith("  end: 2024-06-30T12:00:00Z\n")
    assert second.text.startswith("# describes the second document\n---\nkind: ReportLayout\n")
    assert parse_text(second.text).documents[0].data == second.data


def test_a_missing_path_is_located_at_its_nearest_ancestor():
    first = parse_text(TEXT).documents[0]
    assert first.position(("params", "rsi_overbought")) == (5, 3)
    assert first.position(("nothing", "here")) == (2, 1)
    assert first.position(("params",), key=True) == (4, 1)


@pytest.mark.parametrize(
    ("path", "text"),
    [
        ((), ""),
        (("params", "rsi_period"), "params.rsi_period"),
        (("sections", 2, "chart"), "sections[2].chart"),
    ],
)
def test_format_path(path, text):
    assert format_path(path) == text


def test_merge_keys_are_applied_and_explicit_keys_win():
    parsed = parse_text(
        "base: &base {fee_rate: 0.001, fill: close}\nexecution:\n  <<: *base\n  fill: next_open\n"
    )
    document = parsed.documents[0]
    assert parsed.errors == []
    assert document.data["execution"] == {"fill": "next_open", "fee_rate": 0.001}
    assert document.positions[("execution", "fee_rate")] == (1, 24)  # where the value was written


def test_empty_documents_are_skipped_but_counted():
    parsed = parse_text("---\n---\nkind: Backtest\n---\n")
    assert [document.index for document in parsed.documents] == [2]
    assert parsed.errors == []


@pytest.mark.parametrize(
    ("text", "line", "column", "fragment"),
    [
        ("a: 1\na: 2\n", 2, 1, "duplicate key 'a' (first at line 1)"),
        ("on: 1\n", 1, 1, "the key 'on' is not a string"),
        ("1: x\n", 1, 1, "the key '1' is not a string"),
        ("x: .inf\n", 1, 4, ".inf is not a finite number"),
        ("x: !!binary aGVsbG8=\n", 1, 4, "the YAML tag !!binary is not allowed"),
        ("x: !custom 1\n", 1, 4, "the YAML tag !custom is not allowed"),
        ("x: !!set {a, b}\n", 1, 4, "the YAML tag !!set is not allowed"),
        ("x: &a [1, *a]\n", 1, 4, "a YAML alias refers to a node that contains it"),
        ("x: [1, *nope]\n", 1, 8, "found undefined alias 'nope'"),
        ("x: 1\n y: 2\n", 2, 3, "invalid YAML: mapping values are not allowed here"),
        ("x: \x07\n", 1, 4, "the control character U+0007 is not allowed"),
        ("x:\n\t- 1\n", 2, 1, "tab character"),
        ("[" * 60 + "]" * 60, 1, 52, "nested more than 50 levels deep"),
    ],
)
def test_it_refuses_what_is_not_plain_data(text, line, column, fragment):
    errors = parse_text(text, source="f.yaml").errors
    assert [(error.line, error.column) for error in errors] == [(line, column)]
    assert fragment in errors[0].message
    assert errors[0].file == "f.yaml"


def test_very_deep_nesting_is_an_error_not_a_crash():
    errors = parse_text("[" * 1000 + "]" * 1000).errors
    assert len(errors) == 1
    assert "nest" in errors[0].message


def test_a_billion_laughs_is_refused_before_anything_is_expanded():
    # 10**30 values once expanded: this only returns if expansion is bounded structurally.
    lines = ["l0: &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    for level in range(1, 30):
        lines.append(f"l{level}: &l{level} [" + ", ".join([f"*l{level - 1}"] * 10) + "]")
    errors = parse_text("\n".join(lines) + "\n", source="bomb.yaml").errors
    assert [(error.doc_index, error.line, error.column) for error in errors] == [(1, 1, 1)]
    assert f"expands to more than {MAX_NODES} values" in errors[0].message


def test_the_value_budget_is_shared_by_the_documents_of_a_file(monkeypatch):
    monkeypatch.setattr(parsing, "MAX_NODES", 10_000)
    # mapping + key + list + 997 items = 1000 values a document: exactly 10 documents fit
    document = "x: [" + ", ".join(["1"] * 997) + "]\n"
    parsed = parse_text("---\n".join([document] * 12))
    assert len(parsed.documents) == 10
    assert [(error.doc_index, error.line) for error in parsed.errors] == [(11, 21), (12, 23)]


def test_size_is_bounded_in_bytes_not_characters():
    assert parse_text("x: " + "é" * 60, max_bytes=100).errors[0].message.startswith("the file is larger than")
    assert parse_text("x: " + "e" * 60, max_bytes=100).errors == []


@pytest.mark.parametrize(
    ("raw", "line", "column", "fragment"),
    [
        (b"kind: Backtest\nname: caf\xe9\n", 2, 10, "not UTF-8 text (byte 0xe9 at offset 24)"),
        (b"x" * 101, None, None, "larger than the limit of 100 bytes"),
    ],
)
def test_parse_bytes_refuses_bad_bytes(raw, line, column, fragment):
    errors = parse_bytes(raw, source="f.yaml", max_bytes=100).errors
    assert [(error.line, error.column) for error in errors] == [(line, column)]
    assert fragment in errors[0].message


def test_parse_bytes_accepts_a_byte_order_mark():
    parsed = parse_bytes("\ufeffkind: Backtest\n".encode(), source="f.yaml")
    assert parsed.documents[0].data == {"kind": "Backtest"}


def test_json_documents_have_no_positions_and_a_yaml_rendering():
    parsed = parse_data([{"kind": "ReportLayout", "name": "x"}, {"kind": "Sweep", "bad": float("nan")}])
    assert [document.data["kind"] for document in parsed.documents] == ["ReportLayout", "Sweep"]
    assert parsed.documents[0].text == "kind: ReportLayout\nname: x\n"
    assert [(e.doc_index, e.path, e.line, e.message) for e in parsed.errors] == [
        (2, "bad", None, "nan is not a finite number")
    ]


def test_json_documents_are_bounded_too():
    assert "more than" in parse_data({"x": list(range(MAX_NODES + 1))}).errors[0].message
    assert parse_data([]).errors[0].message.startswith("no documents")

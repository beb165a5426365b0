"""The constraint expression language: table-driven, scalars and numpy arrays, never eval."""

from __future__ import annotations

import builtins
import itertools

import numpy as np
import pytest

from specs.expressions import ExpressionError, compile_constraints, compile_expression

NAMES = ("a", "b", "c", "flag")


@pytest.mark.parametrize(
    ("source", "values", "expected"),
    [
        ("a < b", {"a": 1, "b": 2}, True),
        ("a < b", {"a": 2, "b": 2}, False),
        ("a <= b", {"a": 2, "b": 2}, True),
        ("a > b", {"a": 3, "b": 2}, True),
        ("a >= b", {"a": 1, "b": 2}, False),
        ("a == b", {"a": 2.0, "b": 2}, True),
        ("a != b", {"a": 2, "b": 2}, False),
        ("1 < a < 3", {"a": 2}, True),
        ("1 < a < 3", {"a": 3}, False),
        ("a < b <= c", {"a": 1, "b": 2, "c": 2}, True),
        ("a + b * c == 7", {"a": 1, "b": 2, "c": 3}, True),
        ("(a + b) * c == 9", {"a": 1, "b": 2, "c": 3}, True),
        ("a - b - c == -4", {"a": 1, "b": 2, "c": 3}, True),
        ("a / b / c < 0.2", {"a": 1, "b": 2, "c": 3}, True),
        ("-a + 5 > 3", {"a": 1}, True),
        ("--a == a", {"a": 4}, True),
        ("+a == 4", {"a": 4}, True),
        ("b - a >= 35", {"a": 30, "b": 70}, True),
        ("a < b and b < c", {"a": 1, "b": 2, "c": 1}, False),
        ("a < b or b < c", {"a": 1, "b": 2, "c": 1}, True),
        ("not a < b", {"a": 1, "b": 2}, False),
        ("not not a < b", {"a": 1, "b": 2}, True),
        ("a < 1 or b < 1 and c < 1", {"a": 0, "b": 5, "c": 5}, True),  # and binds tighter
        ("(a < 1 or b < 1) and c < 1", {"a": 0, "b": 5, "c": 5}, False),
        ("flag", {"flag": True}, True),
        ("not flag", {"flag": True}, False),
        ("flag == true and a < 2", {"flag": True, "a": 1}, True),
        ("false or a == 1", {"a": 1}, True),
        ("1.5e1 == a", {"a": 15}, True),
        (".5 < a", {"a": 1}, True),
        ("a / b > 1", {"a": 1, "b": 0}, True),  # 1 / 0 = inf
        ("a / b < 0", {"a": -1, "b": 0}, True),  # -1 / 0 = -inf
        ("a / b == a / b", {"a": 0, "b": 0}, False),  # 0 / 0 = NaN
        ("b != 0 and a / b > 1", {"a": 5, "b": 0}, False),
    ],
)
def test_it_evaluates_over_a_dict(source, values, expected):
    result = compile_expression(source, names=NAMES)(values)
    assert result is expected


@pytest.mark.parametrize(
    ("source", "fragment", "position"),
    [
        ("", "empty expression", 0),
        ("a <", "expected a number, a name or '(' but found end of expression", 3),
        ("a < b)", "unexpected ')'", 5),
        ("(a < b", "expected ')' but found end of expression", 6),
        ("a << b", "expected a number, a name or '(' but found '<'", 3),
        ("a && b", "unexpected character '&' (use 'and', 'or', 'not')", 2),
        ("a ** 2 < b", "expected a number, a name or '(' but found '*'", 3),
        ("a % 2 == 0", "unexpected character '%'", 2),
        ("x < 1", "unknown name 'x' (known: a, b, c, flag)", 0),
        ("a < b and zz > 1", "unknown name 'zz'", 10),
        ("__import__('os')", 'unexpected character "\'"', 11),
        ("__import__(a) < 1", "unknown name '__import__'", 0),
        ("a.real < 1", "unexpected character '.'", 1),
        ("a[0] < 1", "unexpected character '['", 1),
        ("a + 1", "must be a condition", None),
        ("3", "must be a condition", None),
        ("not 3", "the operand of 'not' must be a comparison, not a number", 4),
        ("a < 1 and 2", "the operand of 'and' must be a comparison, not a number", 10),
        ("a < b c", "unexpected 'c'", 6),
        ("(" * 50 + "a < 1" + ")" * 50, "nested parentheses", 40),
        ("a < " + "1 + " * 300 + "1", "longer than 1000 characters", None),
    ],
)
def test_it_refuses_bad_expressions_with_the_position(source, fragment, position):
    with pytest.raises(ExpressionError) as caught:
        compile_expression(source, names=NAMES)
    assert fragment in caught.value.message
    assert caught.value.position == position


def test_it_never_calls_eval_or_exec(monkeypatch):
    def forbidden(*args, **kwargs):
        raise AssertionError("eval/exec/compile must not be used")

    for name in ("eval", "exec", "compile"):
        monkeypatch.setattr(builtins, name, forbidden)
    expression = compile_expression("a * 2 < b and not (c == 1)", names=NAMES)
    assert expression({"a": 1, "b": 3, "c": 0}) is True


def test_it_reports_the_names_it_reads():
    assert compile_expression("a < b and 1 < 2", names=NAMES).names == {"a", "b"}


def test_it_accepts_any_name_without_a_list_and_names_the_missing_one_at_evaluation():
    expression = compile_expression("speed > 3")
    assert expression({"speed": 4}) is True
    with pytest.raises(ExpressionError, match="no value for 'speed'"):
        expression({})


def test_it_evaluates_elementwise_over_numpy_arrays():
    expression = compile_expression("a < b and not (c == 1 or a / c > 2)", names=NAMES)
    a = np.array([1.0, 5.0, 1.0, 4.0, 0.0])
    b = np.array([2.0, 2.0, 3.0, 9.0, 1.0])
    c = np.array([2.0, 3.0, 1.0, 1.5, 0.0])
    result = expression({"a": a, "b": b, "c": c})
    assert result.dtype == bool
    expected = [expression({"a": x, "b": y, "c": z}) for x, y, z in zip(a, b, c, strict=True)]
    assert result.tolist() == expected == [True, False, False, False, True]  # 0 / 0 is NaN: not > 2


def test_it_mixes_arrays_and_scalars():
    expression = compile_expression("10 <= a < b", names=NAMES)
    assert expression({"a": np.arange(0, 25, 5), "b": 16}).tolist() == [False, False, True, True, False]


@pytest.mark.parametrize(
    "source",
    [
        "a / b > 1",
        "a / b < 0",
        "a / b == a / b",
        "a / b != a / b",
        "b != 0 and a / b > 1",
        "not (a / b >= 0)",
    ],
)
def test_division_by_zero_means_the_same_on_scalars_and_arrays(source):
    expression = compile_expression(source, names=NAMES)
    a = np.array([1.0, -1.0, 0.0, 2.0])
    b = np.array([0.0, 0.0, 0.0, 1.0])
    vectorised = expression({"a": a, "b": b}).tolist()
    assert vectorised == [expression({"a": float(x), "b": float(y)}) for x, y in zip(a, b, strict=True)]


def test_the_example_grid_keeps_220_of_240_combinations():
    # specs/examples/hyperrsi.yaml: the constraint filters a whole grid in one call.
    grid = itertools.product([7, 10, 14, 21], [20, 25, 30, 35], [65, 70, 80], [1.0, 1.5, 2.0, 2.5, 3.0])
    columns = np.array(list(grid), dtype=float).T
    values = dict(
        zip(("rsi_period", "rsi_oversold", "rsi_overbought", "stop_loss_percent"), columns, strict=True)
    )
    keep = compile_constraints(
        ["rsi_oversold < rsi_overbought", "rsi_overbought - rsi_oversold >= 35"], names=values
    )(values)
    assert keep.shape == (240,)
    assert int(keep.sum()) == 220


def test_compile_constraints_is_true_where_every_one_holds():
    combined = compile_constraints(["a < b", "b < c"], names=NAMES)
    assert combined({"a": 1, "b": 2, "c": 3}) is True
    assert combined({"a": 1, "b": 4, "c": 3}) is False
    assert combined.names == {"a", "b", "c"}
    assert compile_constraints([], names=NAMES)({}) is True

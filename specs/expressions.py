"""Sweep constraint expressions: a small grammar, parsed by hand, never ``eval``-ed.

Grammar (lowest precedence first)::

    expr        := or_expr
    or_expr     := and_expr ("or" and_expr)*
    and_expr    := not_expr ("and" not_expr)*
    not_expr    := "not" not_expr | comparison
    comparison  := sum (("<" | "<=" | ">" | ">=" | "==" | "!=") sum)*
    sum         := product (("+" | "-") product)*
    product     := unary (("*" | "/") unary)*
    unary       := ("-" | "+") unary | atom
    atom        := NUMBER | NAME | "true" | "false" | "(" expr ")"

Comparisons chain as in Python: ``10 <= a < b`` means ``10 <= a and a < b``. Names are
parameter names; an expression naming anything else does not compile.

A compiled ``Expression`` is a callable over a mapping of values. Every operation is an
operator function that works on Python scalars and on numpy arrays alike, so the same
expression filters one combination (``{"a": 1, "b": 2}`` -> ``True``) or a whole grid at
once (``{"a": array, "b": array}`` -> a boolean array, elementwise). Division by zero
follows IEEE arithmetic in both cases: ``x / 0`` is ±inf and ``0 / 0`` is NaN, and a
comparison with NaN is false (except ``!=``). ``and``/``or`` short-circuit on scalars.

Framework-free: numpy only.
"""

from __future__ import annotations

import math
import operator
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

MAX_LENGTH = 1000
MAX_DEPTH = 40

Fn = Callable[[Mapping[str, Any]], Any]


class ExpressionError(ValueError):
    """An expression that does not parse, names an unknown parameter, or cannot be evaluated.

    ``position`` is the 0-based character offset of the problem in the expression text
    (``None`` when it is about the whole expression).
    """

    def __init__(self, message: str, position: int | None = None):
        self.message = message
        self.position = position
        where = f" at character {position + 1}" if position is not None else ""
        super().__init__(message + where)


_TOKEN = re.compile(
    r"""
    (?P<space>\s+)
  | (?P<number>(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)
  | (?P<name>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<op><=|>=|==|!=|<|>|\+|-|\*|/|\(|\))
    """,
    re.VERBOSE,
)
_KEYWORDS = {"and", "or", "not", "true", "false"}


@dataclass(frozen=True)
class _Token:
    kind: str  # number | name | op | keyword | end
    text: str
    position: int


def _tokenize(source: str) -> list[_Token]:
    tokens = []
    position = 0
    while position < len(source):
        match = _TOKEN.match(source, position)
        if match is None:
            char = source[position]
            hint = " (use 'and', 'or', 'not')" if char in "&|!" else ""
            raise ExpressionError(f"unexpected character {char!r}{hint}", position)
        kind = match.lastgroup or ""
        text = match.group()
        if kind == "name" and text in _KEYWORDS:
            kind = "keyword"
        if kind != "space":
            tokens.append(_Token(kind, text, position))
        position = match.end()
    tokens.append(_Token("end", "", len(source)))
    return tokens


# --- operations that work on scalars and arrays ------------------------------------


def _is_array(value: Any) -> bool:
    return isinstance(value, np.ndarray)


def _divide(left: Any, right: Any) -> Any:
    if _is_array(left) or _is_array(right):
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.true_divide(left, right)
    if right == 0:
        if left == 0 or (isinstance(left, float) and math.isnan(left)):
            return math.nan
        return math.copysign(math.inf, left) * math.copysign(1.0, right)
    return left / right


def _compare(op: Callable[[Any, Any], Any]) -> Callable[[Any, Any], Any]:
    def compare(left: Any, right: Any) -> Any:
        if _is_array(left) or _is_array(right):
            with np.errstate(invalid="ignore"):
                return op(left, right)
        return op(left, right)

    return compare


_BINARY: dict[str, Callable[[Any, Any], Any]] = {
    "+": operator.add,
    "-": operator.sub,
    "*": operator.mul,
    "/": _divide,
}
_COMPARISONS: dict[str, Callable[[Any, Any], Any]] = {
    "<": _compare(operator.lt),
    "<=": _compare(operator.le),
    ">": _compare(operator.gt),
    ">=": _compare(operator.ge),
    "==": _compare(operator.eq),
    "!=": _compare(operator.ne),
}


def _short_circuit(left: Fn, right: Fn, decided_by: bool, elementwise: Callable[[Any, Any], Any]) -> Fn:
    """``left``, and ``right`` only when a scalar ``left`` does not already decide (is
    not ``decided_by``: False for ``and``, True for ``or``); over arrays, elementwise."""

    def evaluate(values: Mapping[str, Any]) -> Any:
        a = left(values)
        if not _is_array(a) and bool(a) is decided_by:
            return decided_by
        b = right(values)
        if _is_array(a) or _is_array(b):
            return elementwise(a, b)
        return bool(b)

    return evaluate


def _and(left: Fn, right: Fn) -> Fn:
    return _short_circuit(left, right, False, np.logical_and)


def _or(left: Fn, right: Fn) -> Fn:
    return _short_circuit(left, right, True, np.logical_or)


def _not(operand: Fn) -> Fn:
    def evaluate(values: Mapping[str, Any]) -> Any:
        value = operand(values)
        return np.logical_not(value) if _is_array(value) else not value

    return evaluate


def _binary(op: Callable[[Any, Any], Any], left: Fn, right: Fn) -> Fn:
    return lambda values: op(left(values), right(values))


def _negate(operand: Fn) -> Fn:
    return lambda values: operator.neg(operand(values))


def _chain(operands: list[Fn], ops: list[Callable[[Any, Any], Any]]) -> Fn:
    if len(ops) == 1:
        return _binary(ops[0], operands[0], operands[1])
    pairs = [_binary(op, operands[i], operands[i + 1]) for i, op in enumerate(ops)]
    combined = pairs[0]
    for pair in pairs[1:]:
        combined = _and(combined, pair)
    return combined


def _constant(value: Any) -> Fn:
    return lambda values: value


def _name(name: str, position: int) -> Fn:
    def evaluate(values: Mapping[str, Any]) -> Any:
        try:
            return values[name]
        except KeyError:
            raise ExpressionError(f"no value for {name!r}", position) from None

    return evaluate


# --- parser --------------------------------------------------------------------------

# What a sub-expression yields, for the checks that make "a + 1" an invalid constraint.
_NUMBER, _BOOLEAN, _ANY = "number", "boolean", "any"


class _Parser:
    def __init__(self, source: str, names: frozenset[str] | None):
        self.source = source
        self.tokens = _tokenize(source)
        self.i = 0
        self.depth = 0
        self.allowed = names
        self.used: set[str] = set()

    @property
    def token(self) -> _Token:
        return self.tokens[self.i]

    def take(self) -> _Token:
        token = self.tokens[self.i]
        self.i += 1
        return token

    def at(self, kind: str, *texts: str) -> bool:
        return self.token.kind == kind and (not texts or self.token.text in texts)

    def parse(self) -> tuple[Fn, str]:
        if self.at("end"):
            raise ExpressionError("empty expression", 0)
        fn, kind = self.or_expr()
        if not self.at("end"):
            raise ExpressionError(f"unexpected {self.describe(self.token)}", self.token.position)
        return fn, kind

    def describe(self, token: _Token) -> str:
        return "end of expression" if token.kind == "end" else repr(token.text)

    def logical_operand(self, fn_kind: tuple[Fn, str], word: str, position: int) -> Fn:
        fn, kind = fn_kind
        if kind == _NUMBER:
            raise ExpressionError(f"the operand of {word!r} must be a comparison, not a number", position)
        return fn

    def or_expr(self) -> tuple[Fn, str]:
        return self.logical_chain("or", self.and_expr, _or)

    def and_expr(self) -> tuple[Fn, str]:
        return self.logical_chain("and", self.not_expr, _and)

    def logical_chain(
        self, word: str, operand: Callable[[], tuple[Fn, str]], combine: Callable[[Fn, Fn], Fn]
    ) -> tuple[Fn, str]:
        """``operand (word operand)*``: one operand as it is, or their ``combine``, a condition."""
        start = self.token.position
        left = operand()
        if not self.at("keyword", word):
            return left
        fn = self.logical_operand(left, word, start)
        while self.at("keyword", word):
            self.take()
            position = self.token.position
            fn = combine(fn, self.logical_operand(operand(), word, position))
        return fn, _BOOLEAN

    def not_expr(self) -> tuple[Fn, str]:
        if self.at("keyword", "not"):
            self.take()
            position = self.token.position
            return _not(self.logical_operand(self.not_expr(), "not", position)), _BOOLEAN
        return self.comparison()

    def comparison(self) -> tuple[Fn, str]:
        first, kind = self.sum()
        operands, ops = [first], []
        while self.at("op", *_COMPARISONS):
            ops.append(_COMPARISONS[self.take().text])
            operands.append(self.sum()[0])
        if not ops:
            return first, kind
        return _chain(operands, ops), _BOOLEAN

    def sum(self) -> tuple[Fn, str]:
        return self.arithmetic_chain(("+", "-"), self.product)

    def product(self) -> tuple[Fn, str]:
        return self.arithmetic_chain(("*", "/"), self.unary)

    def arithmetic_chain(self, ops: tuple[str, ...], operand: Callable[[], tuple[Fn, str]]) -> tuple[Fn, str]:
        """``operand (op operand)*``, left to right: one operand as it is, else a number."""
        fn, kind = operand()
        while self.at("op", *ops):
            op = _BINARY[self.take().text]
            right, _ = operand()
            fn, kind = _binary(op, fn, right), _NUMBER
        return fn, kind

    def unary(self) -> tuple[Fn, str]:
        if self.at("op", "-", "+"):
            sign = self.take().text
            operand, _ = self.unary()
            return (_negate(operand) if sign == "-" else operand), _NUMBER
        return self.atom()

    def atom(self) -> tuple[Fn, str]:
        token = self.take()
        if token.kind == "number":
            number = float(token.text)
            value = int(number) if re.fullmatch(r"\d+", token.text) else number
            return _constant(value), _NUMBER
        if token.kind == "keyword" and token.text in ("true", "false"):
            return _constant(token.text == "true"), _BOOLEAN
        if token.kind == "name":
            if self.allowed is not None and token.text not in self.allowed:
                known = ", ".join(sorted(self.allowed)) or "none"
                raise ExpressionError(f"unknown name {token.text!r} (known: {known})", token.position)
            self.used.add(token.text)
            return _name(token.text, token.position), _ANY
        if token.kind == "op" and token.text == "(":
            self.depth += 1
            if self.depth > MAX_DEPTH:
                raise ExpressionError(f"more than {MAX_DEPTH} nested parentheses", token.position)
            inner = self.or_expr()
            if not self.at("op", ")"):
                raise ExpressionError(
                    f"expected ')' but found {self.describe(self.token)}", self.token.position
                )
            self.take()
            self.depth -= 1
            return inner
        expected = "a number, a name or '('"
        raise ExpressionError(f"expected {expected} but found {self.describe(token)}", token.position)


@dataclass(frozen=True, eq=False)
class Expression:
    """A compiled constraint. Call it with a mapping of parameter values.

    ``names`` are the parameter names it reads. The result is a ``bool`` for scalar
    values and a boolean ``numpy`` array (elementwise) when any value is an array.
    """

    source: str
    names: frozenset[str]
    _fn: Fn

    def __call__(self, values: Mapping[str, Any]) -> Any:
        result = self._fn(values)
        if _is_array(result):
            return result.astype(bool, copy=False)
        return bool(result)

    evaluate = __call__


def compile_expression(source: str, *, names: Iterable[str] | None = None) -> Expression:
    """Parse ``source`` into an Expression; ``ExpressionError`` (with the offset) otherwise.

    With ``names``, any other name is an error at compile time. The expression must be a
    condition: a comparison, ``and``/``or``/``not``, ``true``/``false`` or a lone name
    (a boolean parameter); ``rsi_period + 1`` is refused.
    """
    if not isinstance(source, str):
        raise ExpressionError(f"an expression must be a string, got {type(source).__name__}")
    if len(source) > MAX_LENGTH:
        raise ExpressionError(f"longer than {MAX_LENGTH} characters")
    parser = _Parser(source, frozenset(names) if names is not None else None)
    fn, kind = parser.parse()
    if kind == _NUMBER:
        raise ExpressionError("a constraint must be a condition (a comparison such as 'a < b'), not a number")
    return Expression(source=source, names=frozenset(parser.used), _fn=fn)


def compile_constraints(sources: Iterable[str], *, names: Iterable[str] | None = None) -> Expression:
    """Every constraint in ``sources`` at once: true where all of them hold."""
    sources = list(sources)
    allowed = list(names) if names is not None else None
    compiled = [compile_expression(source, names=allowed) for source in sources]
    if not compiled:
        return Expression(source="true", names=frozenset(), _fn=_constant(True))
    fn = compiled[0]._fn
    for expression in compiled[1:]:
        fn = _and(fn, expression._fn)
    used = frozenset().union(*(expression.names for expression in compiled))
    return Expression(source=" and ".join(f"({source})" for source in sources), names=used, _fn=fn)

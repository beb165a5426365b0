"""Constraints of a sweep: the spec's expressions plus the strategy's own, over full params.

A constraint may name any strategy parameter, swept or not (``rsi_oversold <
rsi_overbought`` holds with only one side swept): values not swept come from the base
Backtest's params, then the strategy's defaults. Expressions are compiled by
``specs.expressions`` (never ``eval``) and evaluated over whole columns at once.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np

from optimizers.space import SpaceError, column_length
from specs.expressions import ExpressionError, compile_expression


class Constraints:
    """``sources``: the Sweep's constraints; ``builtin``: the strategy's
    (``StrategyDef.constraints``); ``fixed``: the value of every parameter that
    is not swept; ``names``: every parameter name of the strategy."""

    def __init__(
        self,
        sources: Iterable[str],
        *,
        fixed: Mapping[str, Any],
        names: Iterable[str],
        builtin: Iterable[str] = (),
    ):
        allowed = sorted(names)
        self.sources = [*sources]
        self.builtin = [source for source in builtin if source not in self.sources]
        self.fixed = dict(fixed)
        self.expressions = []
        # where each expression comes from: the spec's constraints[i], or the strategy's
        # own (reported on the space)
        self.paths = [f"constraints[{i}]" for i in range(len(self.sources))] + ["space"] * len(self.builtin)
        for i, source in enumerate(self.sources):
            try:
                self.expressions.append(compile_expression(source, names=allowed))
            except ExpressionError as exc:
                raise SpaceError(f"constraints[{i}]", f"{source!r}: {exc}") from None
        for source in self.builtin:
            self.expressions.append(compile_expression(source, names=allowed))

    def __bool__(self) -> bool:
        return bool(self.expressions)

    def mask(self, columns: Mapping[str, np.ndarray]) -> np.ndarray:
        """bool[C]: True where every constraint holds for the combination. A constraint
        that cannot be evaluated (it names a parameter neither swept nor set) raises
        ``SpaceError`` naming it."""
        n = column_length(columns)
        keep = np.ones(n, dtype=bool)
        if not self.expressions or n == 0:
            return keep
        values = {**self.fixed, **columns}
        for path, expression in zip(self.paths, self.expressions, strict=True):
            try:
                holds = expression(values)
            except ExpressionError as exc:
                unset = "neither swept nor set in the Backtest"
                message = f"'{expression.source}' cannot be evaluated: {exc.message} ({unset})"
                raise SpaceError(path, message) from None
            except (TypeError, ValueError) as exc:
                raise SpaceError(path, f"'{expression.source}' cannot be evaluated: {exc}") from None
            keep &= np.broadcast_to(np.asarray(holds, dtype=bool), (n,))
        return keep

    def ok(self, params: Mapping[str, Any]) -> bool:
        values = {**self.fixed, **params}
        return all(bool(expression(values)) for expression in self.expressions)

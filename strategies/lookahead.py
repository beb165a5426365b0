"""Lookahead guard: a strategy's signals must not change when later bars are removed.

DESIGN.md: "Signals at bar i use data up to and including bar i's close, never later
bars". If that holds, the signals computed on any prefix ``data[:cut]`` equal the first
``cut`` signals computed on the full data, bit for bit (the kernels run the same
operations in the same order on a prefix). The guard cuts the data at random points
and reports every bar where the two disagree. A cut just after bar i exposes a
strategy that reads bar i+1 at bar i, so a handful of cuts catches a systematic peek;
the report names the cut and the bar so the offending rule can be traced.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from strategies.registry import StrategyDef, get_strategy, price_array


@dataclass(frozen=True)
class LookaheadReport:
    """The outcome of ``check_lookahead``.

    ``ok``: no mismatch. ``cuts``: the prefix lengths tried, ascending.
    ``mismatches``: ``(cut, bar)`` for every bar < cut whose signal on ``data[:cut]``
    differs from the full-data signal.
    """

    strategy: str
    ok: bool
    cuts: list[int]
    mismatches: list[tuple[int, int]] = field(default_factory=list)

    def summary(self) -> str:
        if self.ok:
            return f"{self.strategy}: no lookahead over {len(self.cuts)} cuts"
        shown = ", ".join(f"bar {bar} (cut {cut})" for cut, bar in self.mismatches[:10])
        more = len(self.mismatches) - 10
        tail = f" and {more} more" if more > 0 else ""
        return f"{self.strategy}: LOOKAHEAD, signals change when later bars are removed: {shown}{tail}"


def _signals(strategy: StrategyDef, params: Mapping[str, Any], columns: list[np.ndarray]) -> np.ndarray:
    result = np.asarray(strategy.signals(params, *columns))
    n = columns[0].shape[0]
    if result.shape != (n,):
        raise ValueError(f"strategy {strategy.name!r} returned signals of shape {result.shape} for {n} bars")
    return result


def check_lookahead(  # noqa: PLR0917 (mirrors StrategyDef.signals: the five columns)
    strategy: StrategyDef | str,
    params: Mapping[str, Any],
    open: Any,
    high: Any,
    low: Any,
    close: Any,
    volume: Any,
    *,
    cuts: int = 20,
    seed: int = 0,
) -> LookaheadReport:
    """Recompute ``strategy``'s signals on ``cuts`` random prefixes and compare.

    ``strategy``: a ``StrategyDef`` or a registered name; ``params`` are completed
    with the defaults. The five columns are float arrays of one length n. Cut points
    (prefix lengths) are drawn without replacement from 1..n−1 by
    ``numpy.random.default_rng(seed)``, so a report is reproducible; with n−1 < cuts
    every prefix is tried. Costs ``cuts`` + 1 signal computations.
    """
    strategy = get_strategy(strategy) if isinstance(strategy, str) else strategy
    params = strategy.with_defaults(params)
    names = ("open", "high", "low", "close", "volume")
    columns = [
        price_array(name, values)
        for name, values in zip(names, (open, high, low, close, volume), strict=True)
    ]
    n = columns[0].shape[0]
    for name, column in zip(names, columns, strict=True):
        if column.shape[0] != n:
            raise ValueError(f"{name} has {column.shape[0]} bars, open has {n}")
    if cuts < 1:
        raise ValueError(f"cuts must be >= 1, got {cuts}")

    full = _signals(strategy, params, columns)
    rng = np.random.default_rng(seed)
    candidates = n - 1
    if candidates <= 0:
        chosen: list[int] = []
    elif candidates <= cuts:
        chosen = list(range(1, n))
    else:
        chosen = sorted(int(c) for c in rng.choice(np.arange(1, n), size=cuts, replace=False))

    mismatches: list[tuple[int, int]] = []
    for cut in chosen:
        prefix = _signals(strategy, params, [column[:cut] for column in columns])
        for bar in np.flatnonzero(prefix != full[:cut]):
            mismatches.append((cut, int(bar)))
    return LookaheadReport(strategy=strategy.name, ok=not mismatches, cuts=chosen, mismatches=mismatches)

"""Drawdown periods: each stretch of bars below the running peak of equity.

quantstats' ``drawdown_details`` and pyfolio's "worst drawdown periods" table, at bar
resolution: a period starts at the peak bar (the last bar at the running maximum
before equity falls below it), reaches its valley (the lowest equity, first such bar),
and recovers at the first later bar whose equity regains the peak, or is still open at
the last bar.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from engine.bars import ColumnArrays
from reports.analytics.returns import MS_PER_DAY


@dataclass(frozen=True)
class DrawdownPeriods(ColumnArrays):
    """One element per drawdown period, in time order.

    peak, valley: int64 bar indices; recovery: int64 bar index, −1 while not recovered;
    depth: float64, 1 − valley equity / peak equity (a positive fraction);
    days: float64, peak to recovery (to the last bar when not recovered), in days;
    days_to_valley: float64, peak to valley in days.
    """

    peak: np.ndarray
    valley: np.ndarray
    recovery: np.ndarray
    depth: np.ndarray
    days: np.ndarray
    days_to_valley: np.ndarray

    def worst(self, n: int) -> DrawdownPeriods:
        """The ``n`` deepest periods, deepest first (ties: the earlier first)."""
        order = np.lexsort((self.peak, -self.depth))[: max(0, n)]
        return DrawdownPeriods(*(getattr(self, f)[order] for f in self.__dataclass_fields__))


def drawdown_periods(ts: np.ndarray, equity: np.ndarray) -> DrawdownPeriods:
    """Every drawdown period of ``equity`` (see the module docstring). Vectorised.

    A curve that starts below nothing cannot be in drawdown at bar 0, so every period
    has a peak bar before its first bar under water.
    """
    ts = np.asarray(ts, dtype=np.int64)
    equity = np.asarray(equity, dtype=np.float64)
    n = equity.shape[0]
    if n != ts.shape[0]:
        raise ValueError(f"ts has {ts.shape[0]} points but equity has {n}")
    empty = np.empty(0, dtype=np.int64)
    if n < 2:
        return DrawdownPeriods(empty, empty, empty, np.empty(0), np.empty(0), np.empty(0))
    peak_value = np.maximum.accumulate(equity)
    under = equity < peak_value
    edges = np.diff(under.astype(np.int8))
    first = np.flatnonzero(edges == 1) + 1  # first bar under water
    last = np.flatnonzero(edges == -1)  # last bar under water (recovered at last + 1)
    if under[-1]:
        last = np.append(last, n - 1)
    peak = first - 1
    recovered = last + 1 < n
    recovery = np.where(recovered, last + 1, -1)
    # valley: the lowest equity of each period, the first such bar. The bars between
    # one period's end and the next period's start are at or above the running peak,
    # so above every value of the period before: the minimum over [first_k, first_k+1)
    # is the period's own minimum.
    if first.shape[0]:
        lowest = np.minimum.reduceat(equity, first)
        span = np.diff(np.append(first, n))
        period_of = np.repeat(np.arange(first.shape[0]), span)
        at_low = np.flatnonzero(equity[first[0] :] == lowest[period_of]) + first[0]
        # the first bar at the low of each period: bars are in period order
        valley = at_low[np.searchsorted(at_low, first)]
    else:
        valley = np.empty(0, dtype=np.int64)
    base = peak_value[first]
    with np.errstate(divide="ignore", invalid="ignore"):
        depth = np.where(base > 0, 1.0 - equity[valley] / np.where(base > 0, base, 1.0), 1.0)
    end = np.where(recovered, recovery, n - 1)
    days = ((ts[end] - ts[peak]) / MS_PER_DAY).astype(np.float64)
    days_to_valley = ((ts[valley] - ts[peak]) / MS_PER_DAY).astype(np.float64)
    return DrawdownPeriods(peak, valley, recovery, depth, days, days_to_valley)

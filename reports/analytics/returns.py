"""Bar returns and calendar-period returns of an equity curve.

Conventions: ``ts`` int64 epoch ms (UTC, increasing), ``equity`` float64 of the same
length. A return whose base equity is ≤ 0 is 0, as in the metrics contract.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from engine.stats import bar_returns as engine_bar_returns

MS_PER_DAY = 86_400_000
DAYS_PER_YEAR = 365.0

UNITS = {"day": "datetime64[D]", "month": "datetime64[M]", "year": "datetime64[Y]"}


def bar_returns(equity: np.ndarray) -> np.ndarray:
    """r[0] = 0, then the metrics' bar returns (``engine.stats.bar_returns``: clamped at
    −1, 0 after the first equity ≤ 0), one per bar."""
    equity = np.asarray(equity, dtype=np.float64)
    r = np.zeros(equity.shape[0], dtype=np.float64)
    if equity.shape[0] > 1:
        r[1:] = engine_bar_returns(equity)
    return r


def minutes_per_bar(ts: np.ndarray) -> float:
    """The median bar step in minutes (1.0 for fewer than two bars), over at most
    about 4,000 evenly spread steps: gaps are rare, and a median of a million steps
    costs more than the chart it sizes."""
    ts = np.asarray(ts, dtype=np.int64)
    if ts.shape[0] < 2:
        return 1.0
    steps = np.diff(ts)
    return float(np.median(steps[:: max(1, steps.shape[0] // 4000)])) / 60_000.0


def bars_per_year(ts: np.ndarray) -> float:
    """365 × 24 × 60 / minutes per bar, as in the metrics contract."""
    return DAYS_PER_YEAR * 1440.0 / max(minutes_per_bar(ts), 1e-9)


@dataclass(frozen=True)
class PeriodReturns:
    """One row per calendar period that holds at least one bar.

    start: int64 ms of the period's first instant (UTC, e.g. 2024-03-01 00:00);
    last: index of the period's last bar; returns: float64, period-end equity over the
    previous period's end (the first period over ``initial``)."""

    start: np.ndarray
    last: np.ndarray
    returns: np.ndarray

    def __len__(self) -> int:
        return int(self.returns.shape[0])


def period_ends(ts: np.ndarray, unit: str) -> tuple[np.ndarray, np.ndarray]:
    """(period start ms, index of the last bar) of every ``unit`` (day | month | year)
    that holds a bar."""
    ts = np.asarray(ts, dtype=np.int64)
    if ts.shape[0] == 0:
        return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64)
    period = ts.astype("datetime64[ms]").astype(UNITS[unit])
    as_int = period.astype(np.int64)
    last = np.append(np.flatnonzero(as_int[1:] != as_int[:-1]), ts.shape[0] - 1)
    starts = period[last].astype("datetime64[ms]").astype(np.int64)
    return starts, last


def period_returns(
    ts: np.ndarray, equity: np.ndarray, unit: str, initial: float | None = None
) -> PeriodReturns:
    """Period-end to period-end returns of ``equity`` per calendar ``unit``.

    The first period is measured from ``initial`` (the initial capital, so the periods
    compound to the total return) or, when None, from the first equity value.
    """
    equity = np.asarray(equity, dtype=np.float64)
    starts, last = period_ends(ts, unit)
    if last.shape[0] == 0:
        return PeriodReturns(starts, last, np.empty(0))
    end_equity = equity[last]
    base = np.concatenate([[float(equity[0] if initial is None else initial)], end_equity[:-1]])
    with np.errstate(divide="ignore", invalid="ignore"):
        rets = np.where(base > 0, end_equity / np.where(base > 0, base, 1.0) - 1.0, 0.0)
    return PeriodReturns(starts, last, rets)


def drawdown(equity: np.ndarray) -> np.ndarray:
    """Underwater curve: e_i / max_{j≤i} e_j − 1 (≤ 0; 0 at a peak; −1 once bust)."""
    equity = np.asarray(equity, dtype=np.float64)
    peak = np.maximum.accumulate(equity) if equity.size else equity
    with np.errstate(divide="ignore", invalid="ignore"):
        dd = np.where(peak > 0, equity / np.where(peak > 0, peak, 1.0) - 1.0, -1.0)
    return np.minimum(dd, 0.0)

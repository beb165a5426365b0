"""Best and worst days, months and years, winning shares, and the yearly returns.

From calendar-period returns (``returns.period_returns``) of the equity curve, the
first period measured from the initial capital so that the periods compound to the
total return. Partial first and last periods count as they are.
"""

from __future__ import annotations

import numpy as np

from reports.analytics.returns import PeriodReturns


def _extreme(values: np.ndarray, pick) -> float | None:
    return float(pick(values)) if values.shape[0] else None


def win_share(values: np.ndarray) -> float | None:
    """Share of periods with a gain among the periods that moved (quantstats
    ``win_rate``: positive / non-zero); None when none moved."""
    moved = values[values != 0]
    return float((moved > 0).mean()) if moved.shape[0] else None


def period_stats(days: PeriodReturns, months: PeriodReturns, years: PeriodReturns) -> dict[str, float | None]:
    """best_day, worst_day, best_month, worst_month, best_year, worst_year: the largest
    and smallest period return; winning_days, winning_months: ``win_share``;
    avg_up_month, avg_down_month: mean of the months above / below 0."""
    m = months.returns
    up, down = m[m > 0], m[m < 0]
    return {
        "best_day": _extreme(days.returns, np.max),
        "worst_day": _extreme(days.returns, np.min),
        "best_month": _extreme(m, np.max),
        "worst_month": _extreme(m, np.min),
        "best_year": _extreme(years.returns, np.max),
        "worst_year": _extreme(years.returns, np.min),
        "winning_days": win_share(days.returns),
        "winning_months": win_share(m),
        "avg_up_month": float(up.mean()) if up.shape[0] else None,
        "avg_down_month": float(down.mean()) if down.shape[0] else None,
    }

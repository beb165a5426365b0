"""All report analytics of one run as one JSON-ready mapping (what the report, the
comparison page and the API show; cached per run by ``reports.analysis``)."""

from __future__ import annotations

from typing import Any

import numpy as np

from reports.analytics import benchmark as bench
from reports.analytics.distribution import distribution_stats
from reports.analytics.drawdowns import DrawdownPeriods, drawdown_periods
from reports.analytics.periods import period_stats
from reports.analytics.returns import period_returns
from reports.analytics.trades import TradeArrays, breakdowns, trade_stats

WORST_DRAWDOWNS = 10

# The scalar figures, by group, in the order pages list them (docs/reports.md).
ANALYTICS_GROUPS: dict[str, tuple[str, ...]] = {
    # the strategy against the market, then the market's own figures
    "benchmark": ("benchmark_return", "excess_return", "alpha", "beta", "correlation", "information_ratio"),
    "market": ("benchmark_volatility", "benchmark_sharpe", "benchmark_max_drawdown"),
    "drawdowns": ("drawdown_periods", "avg_drawdown", "avg_drawdown_days"),
    "distribution": ("skew", "kurtosis", "var_95", "cvar_95", "tail_ratio", "daily_volatility"),
    "periods": (
        "best_day",
        "worst_day",
        "best_month",
        "worst_month",
        "best_year",
        "worst_year",
        "winning_days",
        "winning_months",
        "avg_up_month",
        "avg_down_month",
    ),
    "trade_stats": (
        "best_trade",
        "worst_trade",
        "max_consecutive_wins",
        "max_consecutive_losses",
        "avg_win_days",
        "avg_loss_days",
        "sqn",
    ),
}
ANALYTICS_METRICS = tuple(name for names in ANALYTICS_GROUPS.values() for name in names)


def drawdown_rows(ts: np.ndarray, periods: DrawdownPeriods) -> list[dict[str, Any]]:
    """Rows of a drawdown table: peak/valley/recovery as epoch ms (recovery None while
    under water), depth, days, days_to_valley."""
    ts = np.asarray(ts, dtype=np.int64)
    return [
        {
            "peak": int(ts[p]),
            "valley": int(ts[v]),
            "recovery": int(ts[r]) if r >= 0 else None,
            "depth": float(d),
            "days": float(days),
            "days_to_valley": float(dv),
        }
        for p, v, r, d, days, dv in zip(
            periods.peak.tolist(),
            periods.valley.tolist(),
            periods.recovery.tolist(),
            periods.depth.tolist(),
            periods.days.tolist(),
            periods.days_to_valley.tolist(),
            strict=True,
        )
    ]


def summarise(
    ts: np.ndarray,
    equity: np.ndarray,
    initial: float,
    trades: TradeArrays,
    market: tuple[np.ndarray, np.ndarray] | None,
) -> dict[str, Any]:
    """{"metrics": {name: float|int|None for ANALYTICS_METRICS}, "drawdowns": the worst
    ``WORST_DRAWDOWNS`` periods, deepest first, "years": [{"year", "return",
    "benchmark_return"}], "breakdowns": ``trades.breakdowns``, "benchmark": bool}.

    ``market`` is the run's candles as (ts, close), or None when they are no longer
    stored: then the benchmark figures are None and "benchmark" is False.
    """
    ts = np.asarray(ts, dtype=np.int64)
    equity = np.asarray(equity, dtype=np.float64)
    metrics: dict[str, Any] = dict.fromkeys(ANALYTICS_METRICS)
    days = period_returns(ts, equity, "day", initial)
    months = period_returns(ts, equity, "month", initial)
    years = period_returns(ts, equity, "year", initial)
    metrics.update(distribution_stats(days.returns))
    metrics.update(period_stats(days, months, years))
    periods = drawdown_periods(ts, equity)
    metrics["drawdown_periods"] = len(periods)
    metrics["avg_drawdown"] = float(periods.depth.mean()) if len(periods) else None
    metrics["avg_drawdown_days"] = float(periods.days.mean()) if len(periods) else None
    metrics.update(trade_stats(trades))
    year_bench: list[float | None] = [None] * len(years)
    if market is not None and ts.shape[0]:
        price = bench.aligned_close(ts, market[0], market[1])
        metrics.update(bench.benchmark_stats(ts, equity, price).stats)
        year_bench = period_returns(ts, price, "year", None).returns.tolist()
    year_numbers = years.start.astype("datetime64[ms]").astype("datetime64[Y]").astype(np.int64) + 1970
    return {
        "metrics": metrics,
        "drawdowns": drawdown_rows(ts, periods.worst(WORST_DRAWDOWNS)),
        "years": [
            {"year": int(y), "return": float(r), "benchmark_return": b}
            for y, r, b in zip(year_numbers.tolist(), years.returns.tolist(), year_bench, strict=True)
        ],
        "breakdowns": breakdowns(trades),
        "benchmark": market is not None,
    }

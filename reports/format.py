"""Numbers for people on the report pages: ``engine.format``'s formatters, and the
metric catalogue with the report analytics (``reports.analytics``) added to the
contract's metrics, in the groups the pages show them in.
"""

from __future__ import annotations

from engine import format as base
from engine.format import (
    CONTRACT_METRICS,
    MISSING,
    MetricInfo,
    as_finite,
    duration_days,
    duration_seconds,
    humanize,
    integer,
    money,
    number,
    overrides_text,
    pct,
    price,
    signed_money,
    timestamp,
)

__all__ = [
    "GROUPS",
    "GROUP_TITLES",
    "METRICS",
    "MISSING",
    "MetricInfo",
    "as_finite",
    "duration_days",
    "duration_seconds",
    "humanize",
    "integer",
    "metric_label",
    "metric_tone",
    "metric_value",
    "metric_with_unit",
    "money",
    "number",
    "overrides_text",
    "pct",
    "price",
    "signed_money",
    "timestamp",
]

GROUPS = ("returns", "risk", "trades", "benchmark", "distribution", "periods")
GROUP_TITLES = {
    "returns": "Returns",
    "risk": "Risk",
    "trades": "Trades",
    "benchmark": "Against buy and hold",
    "distribution": "Daily returns",
    "periods": "Calendar",
}
# The engine's contract metrics (a run's columns); the rest are report analytics.
CONTRACT_GROUPS = ("returns", "risk", "trades")


ANALYTICS_INFO: dict[str, MetricInfo] = {
    info.name: info
    for info in (
        MetricInfo("drawdown_periods", "Drawdown periods", "risk", "int", "stretches below a peak", ""),
        MetricInfo(
            "avg_drawdown", "Avg drawdown", "risk", "pct", "mean depth of the drawdown periods", "low"
        ),
        MetricInfo(
            "avg_drawdown_days", "Avg drawdown duration", "risk", "days", "mean peak-to-recovery time", "low"
        ),
        MetricInfo("best_trade", "Best trade", "trades", "signed_pct", "largest trade return"),
        MetricInfo("worst_trade", "Worst trade", "trades", "signed_pct", "smallest trade return"),
        MetricInfo(
            "max_consecutive_wins", "Max consecutive wins", "trades", "int", "longest run of winners", ""
        ),
        MetricInfo(
            "max_consecutive_losses",
            "Max consecutive losses",
            "trades",
            "int",
            "longest run of trades with pnl ≤ 0",
            "low",
        ),
        MetricInfo("avg_win_days", "Avg winner duration", "trades", "days", "mean entry→exit of winners", ""),
        MetricInfo("avg_loss_days", "Avg loser duration", "trades", "days", "mean entry→exit of losers", ""),
        MetricInfo("sqn", "SQN", "trades", "ratio", "√N · mean / std of trade returns (Van Tharp)"),
        MetricInfo(
            "benchmark_return",
            "Buy and hold return",
            "benchmark",
            "signed_pct",
            "the market's change, first to last close",
            "",
        ),
        MetricInfo(
            "excess_return", "Excess return", "benchmark", "signed_pct", "total return − buy and hold"
        ),
        MetricInfo("alpha", "Alpha", "benchmark", "signed_pct", "annualised return not explained by beta"),
        MetricInfo("beta", "Beta", "benchmark", "ratio", "cov(strategy, market) / var(market)", ""),
        MetricInfo("correlation", "Correlation", "benchmark", "ratio", "of bar returns with the market", ""),
        MetricInfo(
            "information_ratio",
            "Information ratio",
            "benchmark",
            "ratio",
            "annualised excess / tracking error",
        ),
        MetricInfo(
            "benchmark_volatility", "Market volatility", "benchmark", "pct", "buy and hold, annualised", ""
        ),
        MetricInfo(
            "benchmark_sharpe", "Market Sharpe", "benchmark", "ratio", "buy and hold Sharpe ratio", ""
        ),
        MetricInfo(
            "benchmark_max_drawdown",
            "Market max drawdown",
            "benchmark",
            "pct",
            "buy and hold's deepest fall",
            "",
        ),
        MetricInfo("skew", "Skew", "distribution", "ratio", "sample skewness of daily returns"),
        MetricInfo("kurtosis", "Kurtosis", "distribution", "ratio", "excess kurtosis of daily returns", ""),
        MetricInfo(
            "var_95", "Daily VaR 95%", "distribution", "signed_pct", "5th percentile of daily returns"
        ),
        MetricInfo(
            "cvar_95", "Daily CVaR 95%", "distribution", "signed_pct", "mean of the days at or below VaR"
        ),
        MetricInfo(
            "tail_ratio", "Tail ratio", "distribution", "ratio", "|95th percentile| / |5th percentile|"
        ),
        MetricInfo(
            "daily_volatility", "Daily volatility", "distribution", "pct", "std of daily returns", "low"
        ),
        MetricInfo("best_day", "Best day", "periods", "signed_pct", "largest daily return"),
        MetricInfo("worst_day", "Worst day", "periods", "signed_pct", "smallest daily return"),
        MetricInfo("best_month", "Best month", "periods", "signed_pct", "largest monthly return"),
        MetricInfo("worst_month", "Worst month", "periods", "signed_pct", "smallest monthly return"),
        MetricInfo("best_year", "Best year", "periods", "signed_pct", "largest calendar-year return"),
        MetricInfo("worst_year", "Worst year", "periods", "signed_pct", "smallest calendar-year return"),
        MetricInfo("winning_days", "Winning days", "periods", "pct", "up days / days that moved"),
        MetricInfo("winning_months", "Winning months", "periods", "pct", "up months / months that moved"),
        MetricInfo("avg_up_month", "Avg up month", "periods", "signed_pct", "mean of the months above 0"),
        MetricInfo("avg_down_month", "Avg down month", "periods", "signed_pct", "mean of the months below 0"),
    )
}

METRICS: dict[str, MetricInfo] = {**CONTRACT_METRICS, **ANALYTICS_INFO}


def metric_value(name: str, value) -> str:
    """``value`` of metric ``name`` (the contract's or an analytics figure) for its kind."""
    return base.metric_value(name, value, METRICS)


def metric_with_unit(name: str, value) -> str:
    return base.metric_with_unit(name, value, METRICS)


def metric_label(name: str) -> str:
    return base.metric_label(name, METRICS)


def metric_tone(name: str, value) -> str:
    return base.metric_tone(name, value, METRICS)

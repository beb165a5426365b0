"""Which ReportLayout a run's report follows: the one its Backtest spec names, or the default.

A Backtest spec may name a layout (``report: standard``); the name is looked up among
the run owner's ReportLayout specs and the newest version wins, since a layout is
presentation only and an improved layout should apply to past runs too. When the spec
names none, or the named layout no longer exists, ``DEFAULT_LAYOUT`` is used and the
report says why.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from reports.analytics.summary import ANALYTICS_GROUPS

REPORT_LAYOUT_KIND = "ReportLayout"  # specs.models.SpecKind.REPORT_LAYOUT

SECTION_TYPES = ("metrics", "chart", "table", "text")
CHART_TYPES = (
    "equity",
    "drawdown",
    "price_with_trades",
    "monthly_returns",
    "trade_returns",
    "rolling_sharpe",
    "benchmark",
    "return_distribution",
)
TABLE_TYPES = ("trades", "monthly", "drawdowns", "yearly", "trade_breakdown")

# The built-in tear sheet: headline figures, the equity story (curve, drawdowns, the
# market), the trades on the price, calendar and distribution views, trade breakdowns
# and the full trade list.
DEFAULT_LAYOUT: dict[str, Any] = {
    "kind": REPORT_LAYOUT_KIND,
    "name": "default",
    "title": None,
    "sections": [
        {
            "type": "metrics",
            "title": "Summary",
            "metrics": [
                "total_return",
                "annual_return",
                "sharpe_ratio",
                "sortino_ratio",
                "calmar_ratio",
                "volatility",
                "max_drawdown",
                "max_drawdown_duration",
                "avg_drawdown",
                "exposure",
                "total_trades",
                "win_rate",
                "profit_factor",
                "expectancy",
                "avg_trade_return",
                "avg_win",
                "avg_loss",
                "sqn",
                "total_fees",
            ],
        },
        {"type": "chart", "chart": "equity"},
        {"type": "chart", "chart": "drawdown"},
        {"type": "table", "table": "drawdowns", "limit": 5},
        {"type": "chart", "chart": "benchmark"},
        {
            "type": "metrics",
            "title": "Market, calendar and distribution",
            "metrics": [
                *ANALYTICS_GROUPS["benchmark"],
                "best_day",
                "worst_day",
                "best_month",
                "worst_month",
                "winning_months",
                "winning_days",
                *ANALYTICS_GROUPS["distribution"],
            ],
        },
        {"type": "chart", "chart": "price_with_trades"},
        {"type": "chart", "chart": "monthly_returns"},
        {"type": "table", "table": "yearly"},
        {"type": "chart", "chart": "return_distribution"},
        {"type": "chart", "chart": "rolling_sharpe"},
        {"type": "table", "table": "trade_breakdown"},
        {
            "type": "metrics",
            "title": "Trade figures",
            "metrics": [
                "best_trade",
                "worst_trade",
                "largest_win",
                "largest_loss",
                "max_consecutive_wins",
                "max_consecutive_losses",
                "avg_win_days",
                "avg_loss_days",
                "avg_bars_held",
            ],
        },
        {"type": "chart", "chart": "trade_returns"},
        {"type": "table", "table": "trades"},
    ],
}


@dataclass(frozen=True)
class Layout:
    """A resolved layout: ``sections`` as in the spec's data; ``title`` the report
    heading ("" = the backtest's name); ``spec`` the ReportLayout row it came from (None
    for the default); ``note`` why the default is used, if so."""

    name: str
    title: str
    sections: list[dict[str, Any]]
    spec: Any = None
    note: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def is_default(self) -> bool:
        return self.spec is None


def default_layout(note: str = "") -> Layout:
    return Layout(
        name=DEFAULT_LAYOUT["name"],
        title="",
        sections=[dict(s) for s in DEFAULT_LAYOUT["sections"]],
        note=note,
    )


def layout_from_spec(spec) -> Layout:
    data = spec.data or {}
    sections = data.get("sections")
    return Layout(
        name=spec.name,
        title=data.get("title") or "",
        sections=list(sections) if isinstance(sections, list) else [],
        spec=spec,
    )


def layout_name_of(run) -> str | None:
    """The layout a run asks for: its effective config's ``report``, else its spec's."""
    for source in (run.config or {}, getattr(run.spec, "data", None) or {}):
        name = source.get("report") if isinstance(source, dict) else None
        if isinstance(name, str) and name.strip():
            return name.strip()
    return None


def resolve_layout(run) -> Layout:
    """The run owner's newest ReportLayout named by the run's spec, or the default."""
    from specs.models import Spec, SpecKind

    name = layout_name_of(run)
    if name is None:
        return default_layout()
    spec = Spec.objects.latest_version(owner=run.owner_id, kind=SpecKind.REPORT_LAYOUT, name=name)
    if spec is None:
        missing = f"The layout “{name}” named by the spec no longer exists; the default layout is shown."
        return default_layout(missing)
    return layout_from_spec(spec)

"""The ReportLayout kind's rules beyond its schema: which keys each section type takes,
which option belongs to which chart or table, and the columns a table can sort by."""

from __future__ import annotations

from engine.runner import TRADE_KEYS

TABLE_COLUMNS = {
    "trades": TRADE_KEYS,
    "monthly": ("month", "return"),
}
# (option, section type, the one chart or table it applies to)
SECTION_OPTION_OWNERS = (
    ("window", "chart", "rolling_sharpe"),
    ("log", "chart", "equity"),
    ("drawdowns", "chart", "equity"),
    ("benchmark", "chart", "equity"),
    ("indicators", "chart", "price_with_trades"),
    ("page_size", "table", "trades"),
)
SECTION_KEYS = {
    "metrics": ("title", "metrics", "group"),
    "chart": ("title", "chart", "window", "log", "drawdowns", "benchmark", "indicators"),
    "table": ("title", "table", "limit", "sort", "page_size"),
    "text": ("title", "text"),
}

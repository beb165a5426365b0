"""Users, layouts and runs shared by the report tests."""

from __future__ import annotations

import pytest

from specs.models import SpecKind
from tests.factories import PASSWORD, backtest_data, layout_data, make_run, make_spec

# One section of every type and kind, in a deliberate order.
EVERY_SECTION = [
    {"type": "text", "title": "Why this run", "text": "First paragraph.\n\nSecond <b>paragraph</b>."},
    {
        "type": "metrics",
        "metrics": ["total_return", "max_drawdown", "win_rate", "total_trades", "profit_factor"],
    },
    {"type": "chart", "chart": "equity"},
    {"type": "table", "table": "trades", "limit": 5, "sort": "-pnl"},
    {"type": "chart", "chart": "drawdown"},
    {"type": "chart", "chart": "price_with_trades"},
    {"type": "chart", "chart": "monthly_returns"},
    {"type": "table", "table": "monthly"},
    {"type": "chart", "chart": "trade_returns"},
    {"type": "chart", "chart": "rolling_sharpe", "window": 48},
]
EVERY_SECTION_NAMES = [
    "text",
    "metrics",
    "chart:equity",
    "table:trades",
    "chart:drawdown",
    "chart:price_with_trades",
    "chart:monthly_returns",
    "table:monthly",
    "chart:trade_returns",
    "chart:rolling_sharpe",
]


def login(client, user):
    assert client.login(username=user.username, password=PASSWORD)
    return client


@pytest.fixture
def alice_client(client, alice):
    return login(client, alice)


@pytest.fixture
def every_layout(alice):
    return make_spec(
        alice, SpecKind.REPORT_LAYOUT, "every", layout_data("every", EVERY_SECTION, title="All sections")
    )


@pytest.fixture
def every_spec(alice, every_layout):
    return make_spec(alice, SpecKind.BACKTEST, "ema-btc-1h", backtest_data("ema-btc-1h", report="every"))


@pytest.fixture
def run_with_trades(alice, every_spec):
    return make_run(alice, every_spec, bars=1500, store=True)


@pytest.fixture
def run_without_trades(alice, every_spec):
    return make_run(alice, every_spec, bars=1500, trades=False, seed=2, store=True)

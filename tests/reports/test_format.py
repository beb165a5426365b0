"""Numbers for people: each formatter against hand-written expectations."""

from __future__ import annotations

import math
from datetime import UTC, datetime

import pytest

from engine.enums import METRIC_NAMES
from reports import format as fmt
from reports.analytics.summary import ANALYTICS_METRICS


@pytest.mark.parametrize(
    ("value", "kwargs", "expected"),
    [
        (0.1234, {}, "12.34%"),
        (-0.5, {}, "-50.00%"),
        (0.1234, {"signed": True}, "+12.34%"),
        (-0.00001, {"signed": True}, "0.00%"),
        (12.5, {}, "1,250.00%"),
        (0.1, {"digits": 1}, "10.0%"),
        (None, {}, "—"),
        (math.nan, {}, "—"),
        (math.inf, {}, "—"),
    ],
)
def test_it_formats_percentages(value, kwargs, expected):
    assert fmt.pct(value, **kwargs) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [(12345.678, "12,345.68"), (-1234567.0, "-1,234,567.00"), (-0.001, "0.00"), (None, "—")],
)
def test_it_formats_money_with_thousands_separators(value, expected):
    assert fmt.money(value) == expected


def test_it_signs_money_only_when_positive():
    assert fmt.signed_money(12.5) == "+12.50"
    assert fmt.signed_money(-12.5) == "-12.50"
    assert fmt.signed_money(0.001) == "0.00"


@pytest.mark.parametrize(
    ("value", "expected"),
    [(43120.456, "43,120.46"), (2.5, "2.5000"), (0.000012345, "0.00001234"), (0, "0.00")],
)
def test_it_gives_prices_the_decimals_their_size_needs(value, expected):
    assert fmt.price(value) == expected


@pytest.mark.parametrize(
    ("days", "expected"),
    [
        (0.0, "0 d"),
        (30 / 1440, "30 min"),
        (1.5, "1 d 12 h"),
        (2.0, "2 d"),
        (3 + 5 / 1440, "3 d"),
        (250.2, "250 d"),
        (1234.0, "1,234 d"),
        (None, "—"),
    ],
)
def test_it_formats_durations_in_days(days, expected):
    assert fmt.duration_days(days) == expected


@pytest.mark.parametrize(
    ("seconds", "expected"),
    [(0, "0 s"), (0.25, "250 ms"), (4.25, "4.2 s"), (42, "42 s"), (95, "1 min 35 s"), (3600, "1 h")],
)
def test_it_formats_durations_in_seconds(seconds, expected):
    assert fmt.duration_seconds(seconds) == expected


def test_it_formats_timestamps_in_utc():
    assert fmt.timestamp(1704067200000) == "2024-01-01 00:00"
    assert fmt.timestamp(datetime(2024, 3, 1, 14, 5, tzinfo=UTC)) == "2024-03-01 14:05"


def test_it_formats_each_metric_by_its_kind():
    assert fmt.metric_value("total_return", 0.25) == "+25.00%"
    assert fmt.metric_value("sharpe_ratio", 1.23456) == "1.23"
    assert fmt.metric_value("max_drawdown", 0.125) == "12.50%"
    assert fmt.metric_value("max_drawdown_duration", 1.5) == "1 d 12 h"
    assert fmt.metric_value("total_trades", 1234) == "1,234"
    assert fmt.metric_value("profit_factor", None) == "—"
    assert fmt.metric_value("expectancy", -12.5) == "-12.50"


def test_it_catalogues_every_contract_metric_and_every_analytics_figure():
    assert set(fmt.METRICS) == set(METRIC_NAMES) | set(ANALYTICS_METRICS)
    assert {fmt.METRICS[name].group for name in METRIC_NAMES} == set(fmt.CONTRACT_GROUPS)
    assert {info.group for info in fmt.METRICS.values()} == set(fmt.GROUPS)
    assert fmt.metric_tone("total_return", -0.1) == "neg"
    assert fmt.metric_tone("max_drawdown", 0.3) == ""


def test_it_gives_every_cli_metric_a_unit_and_names_overrides_in_one_line():
    assert fmt.metric_with_unit("max_drawdown_duration", 70.3021) == "70 d 7 h"
    assert fmt.metric_with_unit("total_fees", 1550.06) == "1,550.06 (quote currency)"
    assert fmt.metric_with_unit("avg_bars_held", 67.63) == "67.6 bars"
    assert fmt.metric_with_unit("win_rate", 0.4327) == "43.27%"
    overrides = {"params": {"rsi_period": 10, "leverage": 2}, "market": {"start": "2024-03-01"}}
    assert fmt.overrides_text(overrides) == "market.start=2024-03-01, leverage=2, rsi_period=10"
    assert fmt.overrides_text({}) == ""

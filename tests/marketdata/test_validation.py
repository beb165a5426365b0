"""Validation: each rule rejects the whole file, names the rule and the line, writes nothing."""

from __future__ import annotations

import numpy as np
import pytest
from django.core.management.base import CommandError

from marketdata.models import Candle, CandleSeries
from marketdata.parse import RawCandles
from marketdata.validate import candles_validate
from tests.marketdata.builders import GOOD_LINES, M15, T0_MS, load, write_csv

# Each case replaces the second data row (file line 3) with a row that breaks one rule.
CASES = [
    ("nan-price", "2024-01-01T00:15:00Z,NaN,102,100,101,0", "not_finite"),
    ("empty-price", "2024-01-01T00:15:00Z,,102,100,101,0", "not_finite"),
    ("infinite-volume", "2024-01-01T00:15:00Z,100.5,102,100,101,inf", "not_finite"),
    ("zero-low", "2024-01-01T00:15:00Z,100.5,102,0,101,0", "non_positive_price"),
    ("negative-close", "2024-01-01T00:15:00Z,100.5,102,-1,-0.5,0", "non_positive_price"),
    ("high-below-close", "2024-01-01T00:15:00Z,100.5,100.8,100,101,0", "high_below_open_close"),
    ("low-above-open", "2024-01-01T00:15:00Z,100.5,102,100.7,101,0", "low_above_open_close"),
    ("negative-volume", "2024-01-01T00:15:00Z,100.5,102,100,101,-1", "negative_volume"),
    ("duplicate-timestamp", "2024-01-01T00:00:00Z,100.5,102,100,101,0", "duplicate_timestamp"),
    ("off-grid-timestamp", "2024-01-01T00:16:00Z,100.5,102,100,101,0", "off_grid_timestamp"),
    ("bad-timestamp", "yesterday,100.5,102,100,101,0", "bad_timestamp"),
    ("not-a-number", "2024-01-01T00:15:00Z,100.5,abc,100,101,0", "not_a_number"),
    ("missing-field", "2024-01-01T00:15:00Z,100.5,102,100,101", "field_count"),
    ("extra-field", "2024-01-01T00:15:00Z,100.5,102,100,101,0,7", "field_count"),
]


@pytest.mark.django_db
@pytest.mark.parametrize(("bad_line", "code"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_it_rejects_a_file_breaking_a_rule_and_names_the_line(tmp_path, bad_line, code):
    path = write_csv(tmp_path, [GOOD_LINES[0], bad_line, GOOD_LINES[2]])
    with pytest.raises(CommandError) as caught:
        load(str(path), symbol="VAL", timeframe="15m")
    message = str(caught.value)
    assert f"{code}: 1 row" in message
    assert "line 3" in message
    assert "Nothing was loaded" in message
    assert Candle.objects.count() == 0
    assert CandleSeries.objects.count() == 0


@pytest.mark.django_db
def test_it_rejects_unordered_timestamps_at_the_row_that_goes_back(tmp_path):
    lines = [GOOD_LINES[1], GOOD_LINES[0], GOOD_LINES[2]]  # 00:15, 00:00, 00:30
    with pytest.raises(CommandError, match=r"(?m)unordered_timestamp: 1 row .*; line 3$"):
        load(str(write_csv(tmp_path, lines)), symbol="VAL", timeframe="15m")
    assert Candle.objects.count() == 0


def test_it_counts_every_bad_row_and_lists_the_first_five():
    n = 9
    ts = T0_MS + np.arange(n, dtype=np.int64) * M15
    volume = np.full(n, 1.0)
    volume[[1, 2, 3, 5, 6, 7, 8]] = -1.0
    raw = RawCandles.from_arrays(
        ts=ts, open=np.ones(n), high=np.ones(n), low=np.ones(n), close=np.ones(n), volume=volume
    )
    report = candles_validate(raw=raw, timeframe="15m")
    assert not report.ok
    assert report.invalid == 7
    (problem,) = report.problems
    assert (problem.code, problem.count, problem.first) == ("negative_volume", 7, (1, 2, 3, 5, 6))
    assert report.lines() == [
        "negative_volume: 7 rows (volume is negative); indexes 1, 2, 3, 5, 6, …",
    ]
    assert report.valid.tolist() == [True, False, False, False, True, False, False, False, False]


def test_it_checks_order_only_against_rows_that_passed():
    # Row 1 repeats row 0's timestamp but row 0 has a bad price: row 1 is kept.
    ts = np.array([T0_MS, T0_MS, T0_MS + M15], dtype=np.int64)
    raw = RawCandles.from_arrays(
        ts=ts,
        open=np.array([-1.0, 1.0, 1.0]),
        high=np.ones(3),
        low=np.array([-1.0, 1.0, 1.0]),
        close=np.ones(3),
        volume=np.ones(3),
    )
    report = candles_validate(raw=raw, timeframe="15m")
    assert [p.code for p in report.problems] == ["non_positive_price"]
    assert report.valid.tolist() == [False, True, True]


def test_it_treats_gaps_as_valid():
    ts = T0_MS + np.array([0, 1, 5, 6], dtype=np.int64) * M15
    raw = RawCandles.from_arrays(
        ts=ts, open=np.ones(4), high=np.ones(4), low=np.ones(4), close=np.ones(4), volume=np.zeros(4)
    )
    assert candles_validate(raw=raw, timeframe="15m").ok


def test_it_checks_the_grid_of_the_timeframe():
    ts = T0_MS + np.array([0, 15, 60, 75], dtype=np.int64) * 60_000  # 00:00 00:15 01:00 01:15
    raw = RawCandles.from_arrays(
        ts=ts, open=np.ones(4), high=np.ones(4), low=np.ones(4), close=np.ones(4), volume=np.ones(4)
    )
    report = candles_validate(raw=raw, timeframe="1h")
    assert [(p.code, p.first) for p in report.problems] == [("off_grid_timestamp", (1, 3))]

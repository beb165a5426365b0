"""Rollups and retention on the Apache TimescaleDB build (the project's own services)."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pytest
from django.core.cache import cache

from marketdata.maintenance import candles_maintain, timescaledb_license
from marketdata.models import CandleRollup, CandleSeries, RollupCandle
from marketdata.read import candles_load
from marketdata.services import candles_delete
from tests.factories import random_walk_candles, store_candles

pytestmark = pytest.mark.django_db

T0 = int(datetime(2019, 1, 1, tzinfo=UTC).timestamp() * 1000)
DAYS = 100
NOW = datetime(2019, 4, 11, 0, 30, tzinfo=UTC)  # the last bar, 04-10 23:59, closed the day
COLUMNS = ("ts", "open", "high", "low", "close", "volume")


def _bars(c) -> dict:
    return {name: getattr(c, name) for name in COLUMNS}


def _assert_same(got: dict, expected: dict) -> None:
    for name in COLUMNS:
        np.testing.assert_allclose(got[name], expected[name], rtol=1e-14, atol=0, err_msg=name)
    np.testing.assert_array_equal(got["ts"], expected["ts"])


def _fresh(symbol: str, timeframe: str, *args) -> dict:
    cache.delete_pattern("*")
    return _bars(candles_load(symbol, timeframe, *args))


@pytest.fixture
def series(settings):
    assert timescaledb_license() == "apache"
    settings.CANDLE_ROLLUPS = ["1h", "1d"]
    settings.CANDLE_RETENTION_DAYS = 0
    bars = random_walk_candles(DAYS * 1440, timeframe="1m", start_ms=T0, seed=9)
    store_candles("ROLL", "1m", bars)
    return bars


def test_rollups_materialise_incrementally_and_read_like_the_raw_bars(series):
    hourly, daily = _fresh("ROLL", "1h"), _fresh("ROLL", "1d")
    outcome = candles_maintain(now=NOW)
    assert outcome.license == "apache" and outcome.buckets == DAYS * 24 + DAYS
    rollups = {r.timeframe: r for r in CandleRollup.objects.filter(symbol="ROLL")}
    assert set(rollups) == {"1h", "1d"}
    assert rollups["1d"].materialized_to == datetime(2019, 4, 11, tzinfo=UTC)
    assert RollupCandle.objects.filter(symbol="ROLL", timeframe="1h").count() == DAYS * 24
    _assert_same(_fresh("ROLL", "1h"), hourly)
    _assert_same(_fresh("ROLL", "1d"), daily)
    assert candles_maintain(now=NOW).buckets == 0  # nothing new

    # A load into the middle moves the watermark back to the bucket it touched...
    changed = {k: v[50 * 1440 + 57 : 50 * 1440 + 60].copy() for k, v in series.items()}  # 00:57-00:59
    changed["close"] = changed["open"]
    changed["high"] = np.maximum(changed["high"], changed["open"])
    changed["low"] = np.minimum(changed["low"], changed["open"])
    store_candles("ROLL", "1m", changed)
    day50 = datetime(2019, 2, 20, tzinfo=UTC)
    assert CandleRollup.objects.get(symbol="ROLL", timeframe="1d").materialized_to == day50
    hourly_after = _fresh("ROLL", "1h")  # rollup rows before the watermark, raw bars after it
    assert hourly_after["close"][50 * 24] != hourly["close"][50 * 24]
    # ... and the next refresh recomputes from there, writing the changed hour only (the
    # day's open, high, low, close and volume are those it had).
    assert candles_maintain(now=NOW).buckets == 1
    _assert_same(_fresh("ROLL", "1h"), hourly_after)


def test_retention_drops_old_raw_chunks_and_the_rollups_keep_the_history(series, settings):
    candles_maintain(now=NOW)
    hourly = _fresh("ROLL", "1h")
    version = CandleSeries.objects.get(symbol="ROLL").load_version
    settings.CANDLE_RETENTION_DAYS = 40  # cutoff 2019-03-02
    outcome = candles_maintain(now=NOW)
    assert outcome.chunks_dropped and outcome.series_refreshed >= 1
    series_row = CandleSeries.objects.get(symbol="ROLL")
    # 30-day chunks are aligned to the epoch: the chunk holding the cutoff stays whole.
    assert series_row.first_ts == datetime(2019, 2, 13, tzinfo=UTC)
    assert series_row.row_count == (DAYS - 43) * 1440 and series_row.load_version == version + 1
    assert _fresh("ROLL", "1m")["ts"][0] == int(series_row.first_ts.timestamp() * 1000)
    _assert_same(_fresh("ROLL", "1h"), hourly)  # the whole history, from the rollup


def test_deleting_a_series_deletes_its_rollups(series):
    candles_maintain(now=NOW)
    candles_delete(symbol="ROLL")
    assert not CandleRollup.objects.filter(symbol="ROLL").exists()
    assert not RollupCandle.objects.filter(symbol="ROLL").exists()

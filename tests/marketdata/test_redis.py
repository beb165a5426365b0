"""``load_candles --redis``: the live system's key on a real Redis."""

from __future__ import annotations

import json
import os
import uuid

import pytest
import redis
from django.conf import settings
from django.core.management.base import CommandError

from marketdata.models import Candle, CandleSeries
from tests.marketdata.builders import M15, T0_MS, load

pytestmark = pytest.mark.django_db


@pytest.fixture
def redis_key():
    """A key name only this test uses, deleted afterwards."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    symbol = f"RTEST-{worker}-{uuid.uuid4().hex[:8]}".upper()
    key = f"candles_with_indicators:{symbol}:15m"
    client = redis.Redis.from_url(settings.REDIS_URL)
    yield client, key, symbol
    client.delete(key)
    client.close()


def _item(i: int, **extra) -> dict:
    return {
        "timestamp": T0_MS + i * M15,
        "open": 100.0 + i,
        "high": 101.0 + i,
        "low": 99.0 + i,
        "close": 100.5 + i,
        "volume": 10.0 * i,
        "rsi": 55.5,
        "ema_200": 98.1,
        "signal": None,
        **extra,
    }


def test_it_loads_the_live_json_list_and_ignores_indicator_fields(redis_key):
    client, key, symbol = redis_key
    client.set(key, json.dumps([_item(i) for i in range(4)]))
    out = load(redis=key, redis_url=settings.REDIS_URL)
    assert f"Loaded {symbol} 15m: 4 rows: 4 inserted" in out
    rows = list(
        Candle.objects.filter(symbol=symbol, timeframe="15m").order_by("ts").values_list("open", "volume")
    )
    assert rows == [(100.0, 0.0), (101.0, 10.0), (102.0, 20.0), (103.0, 30.0)]
    series = CandleSeries.objects.get(symbol=symbol)
    assert series.source.startswith(f"redis:{key} at redis://")
    assert series.zero_volume_count == 1
    # The default URL is settings.REDIS_URL; a second load is a no-op upsert.
    assert "0 inserted, 0 updated, 4 unchanged" in load(redis=key)


def test_it_reports_bad_items_by_index(redis_key):
    client, key, _ = redis_key
    client.set(key, json.dumps([_item(0), _item(1, high=50.0), _item(2)]))
    with pytest.raises(CommandError, match=r"high_below_open_close: 1 row .*; item 1"):
        load(redis=key)


def test_it_says_when_the_key_does_not_exist(redis_key):
    _, key, _ = redis_key
    with pytest.raises(CommandError, match=rf"Redis key '{key}' at redis://.*: the key does not exist"):
        load(redis=key)


def test_it_refuses_a_key_that_is_not_json(redis_key):
    client, key, _ = redis_key
    client.set(key, "not json")
    with pytest.raises(CommandError, match="not JSON"):
        load(redis=key)

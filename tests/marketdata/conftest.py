"""The live trading system's Redis for the market-data tests: a second real Redis.

``make services`` starts it and writes its URL to .services/env as
``LIVE_REDIS_TEST_URL``. Each xdist worker uses its own database number on it, emptied
before and after each test through the test's own client (the service only reads
it). The clock that decides whether a live bar is closed is fixed at ``NOW_MS``.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass

import numpy as np
import pytest
import redis

from marketdata import live as live_module
from tests.factories import random_walk_candles

MINUTE = 60_000
COLUMNS = ("ts", "open", "high", "low", "close", "volume")
NOW_MS = 1_709_294_400_000 + 30_000  # 2024-03-01T12:00:30Z: the 12:00 bar is still forming


@dataclass
class LiveRedis:
    client: redis.Redis
    url: str

    def put(self, symbol: str, timeframe: str, items: list[dict]) -> str:
        key = f"candles_with_indicators:{symbol}:{timeframe}"
        self.client.set(key, json.dumps(items))
        return key


def live_items(candles: dict[str, np.ndarray]) -> list[dict]:
    """The live system's JSON objects of ``candles`` (``random_walk_candles``' mapping),
    with its indicator fields."""
    return [
        {
            "timestamp": int(t),
            "open": float(o),
            "high": float(h),
            "low": float(lo),
            "close": float(c),
            "volume": float(v),
            "rsi": 51.2,
            "ema_200": float(c) * 0.99,
            "signal": None,
        }
        for t, o, h, lo, c, v in zip(*(candles[k] for k in COLUMNS), strict=True)
    ]


def minute_bars(first_ms: int, count: int, *, seed: int = 1) -> dict[str, np.ndarray]:
    return random_walk_candles(count, timeframe="1m", start_ms=first_ms, seed=seed)


def _database_number() -> int:
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    return 1 + int(worker[2:]) if worker.startswith("gw") else 0


@pytest.fixture
def live(settings, monkeypatch):
    url = os.environ.get("LIVE_REDIS_TEST_URL")
    assert url, "LIVE_REDIS_TEST_URL is not set: start the services with `make services`"
    url = f"{url.rsplit('/', 1)[0]}/{_database_number()}"
    client = redis.Redis.from_url(url)
    client.flushdb()
    settings.LIVE_REDIS_URL = url
    monkeypatch.setattr(live_module, "now_ms", lambda: NOW_MS)
    yield LiveRedis(client, url)
    client.flushdb()
    client.close()

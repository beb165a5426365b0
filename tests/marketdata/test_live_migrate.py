"""``manage.py migrate_live``: everything the live Redis holds, validated, one series at a time."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from marketdata.models import Candle, CandleSeries
from tests.marketdata.conftest import MINUTE, NOW_MS, live_items, minute_bars

pytestmark = pytest.mark.django_db

# 60 closed 1m bars up to 11:59, and the 12:00 bar still forming at NOW_MS.
FIRST = NOW_MS - 30_000 - 60 * MINUTE


def _migrate(*args: str) -> tuple[str, str | None]:
    out = StringIO()
    try:
        call_command("migrate_live", *args, stdout=out, stderr=StringIO())
    except CommandError as exc:
        return out.getvalue(), str(exc)
    return out.getvalue(), None


def _good_keys(live, count: int) -> list[str]:
    keys = []
    for i in range(count):
        keys.append(live.put(f"LIVE{i:02d}-USDT-SWAP", "1m", live_items(minute_bars(FIRST, 61, seed=i))))
    return keys


def test_it_loads_18_series_of_20_keys_and_refuses_the_2_malformed(live):
    _good_keys(live, 18)
    bad_name = live.put("LIVE-BAD", "2d", live_items(minute_bars(FIRST, 5)))
    live.client.set("candles_with_indicators:LIVE-JUNK:1m", b"{not json")
    out, error = _migrate()

    assert error is not None
    assert "20 key(s): loaded 18 series, refused 2" in error
    assert f"REFUSED {bad_name}: " in out and "timeframe '2d' is not supported" in out
    assert "REFUSED candles_with_indicators:LIVE-JUNK:1m: " in out and "not JSON" in out
    stored = CandleSeries.objects.filter(symbol__startswith="LIVE")
    assert stored.count() == 18
    # Each key held 61 items; the forming 12:00 bar is never stored.
    assert set(stored.values_list("row_count", flat=True)) == {60}
    assert not Candle.objects.filter(symbol__startswith="LIVE", ts__gte="2024-03-01T12:00:00Z").exists()
    assert "LIVE00-USDT-SWAP 1m: 60 new, 0 changed, 0 unchanged, 1 unclosed left for the sync" in out
    assert "coverage 60 bars 2024-03-01T11:00:00Z → 2024-03-01T11:59:00Z, 0 gap(s)" in out
    assert set(stored.values_list("live_key", flat=True)) == {
        f"candles_with_indicators:LIVE{i:02d}-USDT-SWAP:1m" for i in range(18)
    }

    # Again: every bar is there already.
    out, error = _migrate("--pattern", "candles_with_indicators:LIVE0*")
    assert error is None, error
    assert "10 key(s): loaded 10 series, refused 0" in out
    assert "LIVE03-USDT-SWAP 1m: 0 new, 0 changed, 60 unchanged" in out


def test_it_refuses_a_series_with_one_bad_item_whole_and_names_it(live):
    items = live_items(minute_bars(FIRST, 10))
    items[4]["high"] = items[4]["low"] / 2
    key = live.put("LIVE-HIGH", "1m", items)
    live.client.hset("candles_with_indicators:LIVE-HASH:1m", "a", "b")
    live.put("LIVE-OK", "1m", live_items(minute_bars(FIRST, 10)))
    out, error = _migrate()
    assert "3 key(s): loaded 1 series, refused 2" in error
    assert f"REFUSED {key}: " in out and "high_below_open_close: 1 row" in out and "item 4" in out
    assert "holds a Redis hash" in out
    assert list(CandleSeries.objects.filter(symbol__startswith="LIVE").values_list("symbol", flat=True)) == [
        "LIVE-OK"
    ]
    assert not Candle.objects.filter(symbol="LIVE-HIGH").exists()


def test_a_dry_run_counts_exactly_and_writes_nothing(live):
    live.put("LIVE-DRY", "1m", live_items(minute_bars(FIRST, 61)))
    out, error = _migrate("--dry-run")
    assert error is None, error
    assert "LIVE-DRY 1m: 60 new, 0 changed, 0 unchanged" in out
    assert "would load 1 series, refused 0 (dry run: nothing was written)" in out
    assert not CandleSeries.objects.filter(symbol="LIVE-DRY").exists()
    assert not Candle.objects.filter(symbol="LIVE-DRY").exists()


def test_it_reads_a_redis_list_of_json_objects_too(live):
    key = "candles_with_indicators:LIVE-LIST:1m"
    live.client.rpush(key, *(json.dumps(item) for item in live_items(minute_bars(FIRST, 3))))
    out, error = _migrate()
    assert error is None, error
    assert "LIVE-LIST 1m: 3 new" in out


def test_it_says_when_no_live_source_is_configured(settings):
    settings.LIVE_REDIS_URL = ""
    _, error = _migrate()
    assert error == "no live source: set LIVE_REDIS_URL"

"""The scheduled live sync: closed bars only, each once, soft when the live Redis is down."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import threading
import time
from io import StringIO

import pytest
import redis
from django.core.management import call_command
from django.db import connection
from django_q.models import Schedule
from rest_framework.test import APIClient

from marketdata import live as live_module
from marketdata import metrics, tasks
from marketdata.models import Candle, CandleSeries
from marketdata.read import candles_load
from marketdata.sync import live_sync
from tests.marketdata.conftest import MINUTE, NOW_MS, live_items, minute_bars

FIRST = NOW_MS - 30_000 - 120 * MINUTE  # 10:00; the 12:00 bar is the 121st, still forming


def _stored(symbol: str) -> list[int]:
    stamps = Candle.objects.filter(symbol=symbol).values_list("ts", flat=True)
    return [round(t.timestamp() * 1000) for t in stamps]


@pytest.mark.django_db
def test_sync_run_twice_stores_each_bar_once(live, monkeypatch):
    items = live_items(minute_bars(FIRST, 121))
    key = live.put("SYNC-A", "1m", items)
    first = live_sync()
    assert first.ok and first.inserted == 120, first
    assert live_sync().inserted == 0
    stored = _stored("SYNC-A")
    assert len(stored) == len(set(stored)) == 120
    series = CandleSeries.objects.get(symbol="SYNC-A")
    assert (series.row_count, series.gap_count, series.live_key, series.live_error) == (120, 0, key, "")
    assert series.live_synced_at is not None
    gauge = metrics.LIVE_SYNC_LAG.labels("SYNC-A", "1m")._value.get()
    assert gauge == pytest.approx(series.lag_seconds(), abs=60)

    # A minute later the 12:00 bar has closed (with its final values) and 12:01 forms.
    items[-1]["close"] = items[-1]["high"]
    items.append({**items[-1], "timestamp": items[-1]["timestamp"] + MINUTE})
    live.client.set(key, json.dumps(items))
    monkeypatch.setattr(live_module, "now_ms", lambda: NOW_MS + MINUTE)
    assert live_sync().inserted == 1
    assert live_sync().inserted == 0
    series.refresh_from_db()
    assert series.row_count == 121 and series.load_version == 2  # the empty pass wrote nothing
    noon = Candle.objects.get(symbol="SYNC-A", ts="2024-03-01T12:00:00Z")
    assert noon.close == items[-2]["close"]


@pytest.mark.django_db
def test_an_unclosed_last_candle_is_never_stored(live):
    live.put("SYNC-B", "1m", live_items(minute_bars(FIRST, 121)))
    outcome = live_sync()
    assert outcome.series[0].unclosed == 1
    assert max(_stored("SYNC-B")) == NOW_MS - 30_000 - MINUTE  # 11:59, not the forming 12:00


@pytest.mark.django_db
def test_sync_leaves_invalid_items_out_and_reports_them(live):
    items = live_items(minute_bars(FIRST, 121))
    items[7]["low"] = -1.0
    live.put("SYNC-C", "1m", items)
    live.client.set("candles_with_indicators:SYNC-D:9m", "[]")
    outcome = live_sync()
    assert outcome.ok
    by_key = {s.key: s for s in outcome.series}
    assert by_key["candles_with_indicators:SYNC-C:1m"].inserted == 119
    assert "non_positive_price: 1 row" in by_key["candles_with_indicators:SYNC-C:1m"].error
    assert "timeframe '9m' is not supported" in by_key["candles_with_indicators:SYNC-D:9m"].error
    assert "non_positive_price" in CandleSeries.objects.get(symbol="SYNC-C").live_error


@pytest.mark.django_db(transaction=True)
def test_two_syncs_at_once_store_each_bar_once(live):
    for i in range(4):
        live.put(f"SYNC-T{i}", "1m", live_items(minute_bars(FIRST, 121, seed=i)))
    results, errors = [], []

    def one_pass():
        try:
            results.append(live_sync())
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=one_pass) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert sum(r.inserted for r in results) == 4 * 120
    for i in range(4):
        stored = _stored(f"SYNC-T{i}")
        assert len(stored) == len(set(stored)) == 120
        assert CandleSeries.objects.get(symbol=f"SYNC-T{i}").row_count == 120
    Candle.objects.filter(symbol__startswith="SYNC-T").delete()
    CandleSeries.objects.filter(symbol__startswith="SYNC-T").delete()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def own_live_redis(settings, tmp_path, monkeypatch):
    """A live Redis of this test's own, which it can stop."""
    server = shutil.which("redis-server")
    assert server, "redis-server is not installed (make services installs it)"
    port = _free_port()
    proc = subprocess.Popen(
        [server, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--dir", str(tmp_path)],
        stdout=subprocess.DEVNULL,
    )
    url = f"redis://127.0.0.1:{port}/0"
    client = redis.Redis.from_url(url)
    for _ in range(100):
        try:
            client.ping()
            break
        except redis.ConnectionError:
            time.sleep(0.05)
    settings.LIVE_REDIS_URL = url
    settings.LIVE_TIMEOUT_SECONDS = 1
    monkeypatch.setattr(live_module, "now_ms", lambda: NOW_MS)
    yield proc, client
    proc.kill()
    proc.wait()


@pytest.mark.django_db
def test_the_service_only_reads_the_live_redis(own_live_redis):
    # A server of this test's own: command statistics are per server, and the shared
    # stand-in is being filled by the other xdist worker's tests meanwhile.
    _, live_client = own_live_redis
    live_client.set("candles_with_indicators:SYNC-RO:1m", json.dumps(live_items(minute_bars(FIRST, 121))))
    live_client.config_resetstat()
    call_command("migrate_live", stdout=StringIO())
    live_sync()
    candles_load("SYNC-RO", "1m", FIRST)
    stats = live_client.info("commandstats")
    used = {name.removeprefix("cmdstat_").split("|")[0] for name in stats}
    # config and info are this test's; hello and client are a new connection's handshake.
    # strlen and llen: redis_read measures a key before it fetches it (CANDLE_MAX_*).
    reads = {"scan", "type", "get", "lrange", "ping", "strlen", "llen"}
    assert used - {"config", "info", "hello", "client"} <= reads, used
    assert {"scan", "type", "get"} <= used


@pytest.mark.django_db
def test_with_the_live_redis_stopped_sync_fails_softly_and_health_says_degraded(
    own_live_redis, client, caplog
):
    proc, live_client = own_live_redis
    live_client.set("candles_with_indicators:SYNC-DOWN:1m", json.dumps(live_items(minute_bars(FIRST, 121))))
    assert live_sync().inserted == 120
    body = client.get("/health").json()
    assert body["status"] == "ok" and body["live"]["ok"] is True
    assert body["live"]["series"] == 1 and body["live"]["last_sync"]

    proc.terminate()
    proc.wait()
    outcome = live_sync()
    assert outcome.ok is False and outcome.inserted == 0
    assert "is unavailable" in outcome.error
    assert "the next pass will retry" in caplog.text
    assert tasks.sync_live().startswith("live sync failed: live Redis redis://127.0.0.1:")

    response = client.get("/health")
    body = response.json()
    assert response.status_code == 200
    assert body["status"] == "degraded"
    assert body["live"]["ok"] is False and "is unavailable" in body["live"]["error"]
    assert body["database"]["ok"] and body["cache"]["ok"] and body["queue"]["ok"]

    # Reads go on from the database, noting why the live part is missing.
    candles = candles_load("SYNC-DOWN", "1m", FIRST)
    assert len(candles) == 120
    assert "is unavailable" in candles.sources["live"]["error"]
    assert [r["source"] for r in candles.sources["ranges"]] == ["timescaledb"]


@pytest.mark.django_db
def test_the_sync_schedule_exists_and_follows_its_setting(settings, live):
    schedule = Schedule.objects.get(name=tasks.SYNC_SCHEDULE)
    assert (schedule.func, schedule.minutes, schedule.repeats) == ("marketdata.tasks.sync_live", 1, -1)
    assert Schedule.objects.get(name=tasks.MAINTENANCE_SCHEDULE).func == "marketdata.tasks.candles_maintain"
    settings.LIVE_SYNC_MINUTES = 5
    assert tasks.sync_live() == "live sync: 0 key(s), 0 new bar(s)"
    assert Schedule.objects.get(name=tasks.SYNC_SCHEDULE).minutes == 5


@pytest.mark.django_db
def test_without_a_live_source_the_sync_does_nothing(settings):
    settings.LIVE_REDIS_URL = ""
    outcome = live_sync()
    assert outcome.ok and outcome.series == [] and "LIVE_REDIS_URL is not set" in outcome.error


@pytest.mark.django_db
def test_coverage_shows_the_live_source_its_last_sync_and_lag_and_the_admin_syncs_now(
    live, admin_client, django_user_model
):
    key = live.put("SYNC-ADM", "1m", live_items(minute_bars(FIRST, 61)))  # 10:00-11:00, all closed
    live_sync()
    series = CandleSeries.objects.get(symbol="SYNC-ADM")
    items = live_items(minute_bars(FIRST, 121))  # the live system moved on to 12:00
    live.client.set(key, json.dumps(items))

    listing = admin_client.get("/admin/marketdata/candleseries/")
    assert key in listing.content.decode()
    response = admin_client.post(
        "/admin/marketdata/candleseries/",
        {"action": "sync_now", "_selected_action": [series.pk]},
        follow=True,
    )
    assert [str(m) for m in response.context["messages"]] == [f"{key}: 59 new bar(s)"]
    series.refresh_from_db()
    assert series.row_count == 120

    api = APIClient()
    api.force_authenticate(django_user_model.objects.create_user("reader", password="x"))
    item = api.get("/api/v1/candles/coverage/?symbol=SYNC-ADM").json()["results"][0]
    assert item["live_key"] == key and item["live_synced_at"] and item["live_error"] == ""
    # The last stored bar is 11:59, closed at 12:00; the test clock is not the wall clock.
    assert item["lag_seconds"] == pytest.approx(series.lag_seconds(), abs=60)

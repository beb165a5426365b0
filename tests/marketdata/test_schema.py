"""The candle table on TimescaleDB, the licence-dependent extras, the admin and the API."""

from __future__ import annotations

import importlib
import logging

import numpy as np
import pytest
from django.db import connection
from django.urls import reverse
from rest_framework.test import APIClient

from marketdata.models import CandleSeries
from marketdata.parse import RawCandles
from marketdata.services import candles_ingest
from tests.marketdata.builders import M15, T0_MS

migration = importlib.import_module("backtests.migrations.0002_candles")


def _store_with_gap(symbol: str) -> CandleSeries:
    ts = T0_MS + np.array([0, 1, 2, 6, 7], dtype=np.int64) * M15
    ones = np.ones(5)
    raw = RawCandles.from_arrays(
        ts=ts, open=ones, high=ones, low=ones, close=ones, volume=np.array([0, 1, 1, 0, 1.0])
    )
    return candles_ingest(symbol=symbol, timeframe="15m", raw=raw, source="test").series


@pytest.mark.django_db
def test_the_candle_table_is_a_hypertable_on_ts_with_30_day_chunks():
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT d.column_name, d.time_interval FROM timescaledb_information.hypertables h "
            "JOIN timescaledb_information.dimensions d USING (hypertable_schema, hypertable_name) "
            "WHERE h.hypertable_name = 'backtests_candle'"
        )
        rows = cursor.fetchall()
    assert [(name, interval.days) for name, interval in rows] == [("ts", 30)]


@pytest.mark.django_db
def test_the_apache_licence_skips_compression_with_one_log_line(caplog):
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_setting('timescaledb.license')")
        assert cursor.fetchone()[0] == "apache"
        with caplog.at_level(logging.INFO, logger="backtests.migrations"):
            added = migration.add_licensed_features(cursor)
    assert added is False
    records = [r for r in caplog.records if r.name == "backtests.migrations"]
    assert len(records) == 1
    assert "licence is 'apache'" in records[0].getMessage()
    assert "skipping candle compression and the daily continuous aggregate" in records[0].getMessage()


class _FakeCursor:
    def __init__(self, license_name: str):
        self.license_name = license_name
        self.executed: list[str] = []

    def execute(self, sql, params=None):
        self.executed.append(sql)

    def fetchone(self):
        return (self.license_name,)


def test_the_timescale_licence_adds_compression_and_the_daily_aggregate(caplog):
    cursor = _FakeCursor("timescale")
    with caplog.at_level(logging.INFO, logger="backtests.migrations"):
        assert migration.add_licensed_features(cursor) is True
    assert not [r for r in caplog.records if r.name == "backtests.migrations"]
    body = "\n".join(cursor.executed[1:])
    assert "timescaledb.compress_segmentby = 'symbol, timeframe'" in body
    assert "add_compression_policy('backtests_candle'" in body
    assert (
        "CREATE MATERIALIZED VIEW IF NOT EXISTS backtests_candle_daily WITH (timescaledb.continuous)" in body
    )
    assert "add_continuous_aggregate_policy('backtests_candle_daily'" in body


@pytest.mark.django_db
def test_the_coverage_api_needs_a_login_and_lists_each_series(django_user_model):
    series = _store_with_gap("API-BTC")
    client = APIClient()
    assert client.get("/api/v1/candles/coverage/").status_code in {401, 403}
    client.force_authenticate(django_user_model.objects.create_user("reader", password="x"))
    listing = client.get("/api/v1/candles/coverage/").json()
    assert listing["count"] == 1
    (item,) = listing["results"]
    assert item["symbol"] == "API-BTC"
    assert (item["row_count"], item["gap_count"], item["missing_bars"], item["zero_volume_count"]) == (
        5,
        1,
        3,
        2,
    )
    assert item["first_ts"] == "2024-01-01T00:00:00Z"
    assert "gaps" not in item
    detail = client.get(f"/api/v1/candles/coverage/{series.pk}/").json()
    assert detail["gaps"] == [
        {"start": "2024-01-01T00:45:00Z", "end": "2024-01-01T01:30:00Z", "missing_bars": 3, "seconds": 2700}
    ]
    assert client.get("/api/v1/candles/coverage/?symbol=OTHER").json()["count"] == 0
    assert reverse("api:candle-coverage-detail", args=[series.pk]) == f"/api/v1/candles/coverage/{series.pk}/"
    assert client.post("/api/v1/candles/coverage/", {}).status_code == 405
    assert client.delete(f"/api/v1/candles/coverage/{series.pk}/").status_code == 405


@pytest.mark.django_db
def test_the_admin_lists_series_read_only(admin_client):
    series = _store_with_gap("ADM-ETH")
    listing = admin_client.get("/admin/marketdata/candleseries/")
    assert listing.status_code == 200
    assert "ADM-ETH" in listing.content.decode()
    page = admin_client.get(f"/admin/marketdata/candleseries/{series.pk}/change/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "2024-01-01T00:45:00Z" in html
    assert 'name="_save"' not in html
    assert admin_client.get("/admin/marketdata/candleseries/add/").status_code == 403


@pytest.mark.django_db
def test_the_coverage_list_query_count_is_constant(django_user_model, django_assert_num_queries):
    client = APIClient()
    client.force_authenticate(django_user_model.objects.create_user("reader", password="x"))
    _store_with_gap("QC-1")
    # count, page
    with django_assert_num_queries(2):
        assert client.get("/api/v1/candles/coverage/").json()["count"] == 1
    for symbol in ("QC-2", "QC-3", "QC-4"):
        _store_with_gap(symbol)
    with django_assert_num_queries(2):
        assert client.get("/api/v1/candles/coverage/").json()["count"] == 4

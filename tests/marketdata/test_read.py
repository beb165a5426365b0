"""Reading: arrays equal the ORM's, the cache, resampling on both paths, NoCandles."""

from __future__ import annotations

from datetime import UTC, date, datetime

import numpy as np
import pytest
import redis
from django.core.cache import cache
from django.db import DataError, connection, transaction

from marketdata import pgcopy, read_cache
from marketdata.models import Candle, CandleSeries
from marketdata.parse import RawCandles
from marketdata.pgcopy import copy_out
from marketdata.read import Candles, NoCandles, candles_load
from marketdata.read_cache import cache_key
from marketdata.resample import block_resample, edges_trim
from marketdata.services import candles_ingest
from tests.marketdata.builders import M15, T0_MS, load

pytestmark = pytest.mark.django_db

H = 3_600_000


def _orm_arrays(symbol: str, timeframe: str) -> dict[str, np.ndarray]:
    rows = list(
        Candle.objects.filter(symbol=symbol, timeframe=timeframe)
        .order_by("ts")
        .values_list("ts", "open", "high", "low", "close", "volume")
    )
    cols = list(zip(*rows, strict=True))
    return {
        "ts": np.array([round(t.timestamp() * 1000) for t in cols[0]], dtype=np.int64),
        **{
            name: np.array(cols[i], dtype=np.float64)
            for i, name in enumerate(("open", "high", "low", "close", "volume"), 1)
        },
    }


def _store(symbol: str, timeframe: str, bars: list[tuple]) -> None:
    cols = list(zip(*bars, strict=True))
    raw = RawCandles.from_arrays(
        ts=np.array(cols[0], dtype=np.int64),
        open=np.array(cols[1]),
        high=np.array(cols[2]),
        low=np.array(cols[3]),
        close=np.array(cols[4]),
        volume=np.array(cols[5]),
    )
    candles_ingest(symbol=symbol, timeframe=timeframe, raw=raw, source="test")


def _bars(c: Candles) -> list[tuple]:
    return list(
        zip(
            c.ts.tolist(),
            c.open.tolist(),
            c.high.tolist(),
            c.low.tolist(),
            c.close.tolist(),
            c.volume.tolist(),
            strict=True,
        )
    )


def test_it_reads_the_same_arrays_as_the_orm(sample_csv_path):
    load(str(sample_csv_path), symbol="BTC-USD", timeframe="15m")
    candles = candles_load("BTC-USD", "15m")
    expected = _orm_arrays("BTC-USD", "15m")
    assert (candles.symbol, candles.timeframe, len(candles)) == ("BTC-USD", "15m", 8686)
    for name, want in expected.items():
        got = getattr(candles, name)
        assert got.dtype == want.dtype
        assert got.flags.c_contiguous and got.flags.writeable
        np.testing.assert_array_equal(got, want, err_msg=name)


def test_start_is_inclusive_and_end_exclusive():
    _store("RANGE", "15m", [(T0_MS + i * M15, 1.0, 2.0, 0.5, 1.5, float(i)) for i in range(8)])
    c = candles_load("RANGE", "15m", T0_MS + M15, T0_MS + 3 * M15)
    assert c.ts.tolist() == [T0_MS + M15, T0_MS + 2 * M15]
    as_text = candles_load("RANGE", "15m", "2024-01-01T00:15:00Z", "2024-01-01 00:45")
    assert as_text.ts.tolist() == c.ts.tolist()
    as_datetimes = candles_load(
        "RANGE", "15m", datetime(2024, 1, 1, 0, 15, tzinfo=UTC), datetime(2024, 1, 1, 0, 45)
    )
    assert as_datetimes.ts.tolist() == c.ts.tolist()
    assert len(candles_load("RANGE", "15m", date(2024, 1, 1), date(2024, 1, 2))) == 8


def test_a_warm_read_comes_from_the_cache_with_one_query(django_assert_num_queries):
    _store("CACHE", "15m", [(T0_MS + i * M15, 1.0 + i, 2.0 + i, 0.5 + i, 1.5 + i, 1.0) for i in range(6)])
    cold = candles_load("CACHE", "15m", T0_MS, None)
    series = CandleSeries.objects.get(symbol="CACHE")
    name = cache.make_key(cache_key(series, "15m", T0_MS, None))
    client = cache.client.get_client()
    # Raw bytes, not a pickle: the header, then the columns (6 × 6 × 8 bytes) in one chunk.
    assert client.get(name) == b"CANDLES1" + (6).to_bytes(8, "little") + (1).to_bytes(8, "little")
    chunk = client.get(f"{name}:0")
    assert np.frombuffer(chunk, dtype="<i8", count=6).tolist() == cold.ts.tolist()
    assert np.frombuffer(chunk, dtype="<f8", offset=4 * 6 * 8, count=6).tolist() == cold.close.tolist()
    with django_assert_num_queries(1):  # the coverage row only
        warm = candles_load("CACHE", "15m", T0_MS, None)
    assert _bars(warm) == _bars(cold)
    assert warm.ts.flags.writeable and warm.ts.dtype == np.int64
    warm.close[0] = -1.0  # the caller's arrays are its own: the cache is not touched
    assert candles_load("CACHE", "15m", T0_MS, None).close[0] == 1.5


def test_a_reload_changes_the_cache_key_and_the_data():
    bars = [(T0_MS + i * M15, 1.0, 2.0, 0.5, 1.5, 1.0) for i in range(4)]
    _store("RELOAD", "15m", bars)
    assert candles_load("RELOAD", "15m").close.tolist() == [1.5] * 4
    old_key = cache_key(CandleSeries.objects.get(symbol="RELOAD"), "15m", None, None)
    bars[2] = (bars[2][0], 1.0, 2.0, 0.5, 1.75, 1.0)
    _store("RELOAD", "15m", bars)
    new_key = cache_key(CandleSeries.objects.get(symbol="RELOAD"), "15m", None, None)
    assert new_key != old_key
    assert candles_load("RELOAD", "15m").close.tolist() == [1.5, 1.5, 1.75, 1.5]


def test_a_cache_outage_falls_back_to_the_database(monkeypatch, caplog):
    _store("OUTAGE", "15m", [(T0_MS, 1.0, 2.0, 0.5, 1.5, 1.0)])

    def broken(*args, **kwargs):
        raise redis.ConnectionError("redis is down")

    monkeypatch.setattr(read_cache, "_redis_client", broken)
    assert candles_load("OUTAGE", "15m").ts.tolist() == [T0_MS]
    messages = [r.getMessage() for r in caplog.records if r.name == "marketdata.read_cache"]
    assert [m.split(" for ")[0] for m in messages] == [
        "candle cache read failed",
        "candle cache write failed",
    ]


def test_a_missing_chunk_is_a_cache_miss(monkeypatch):
    monkeypatch.setattr(read_cache, "CACHE_CHUNK_BYTES", 64)
    bars = [(T0_MS + i * M15, 1.0, 20.0, 0.5, 1.0 + i, 1.0) for i in range(10)]  # 480 bytes: 8 chunks
    _store("CHUNKS", "15m", bars)
    first = candles_load("CHUNKS", "15m")
    key = cache_key(CandleSeries.objects.get(symbol="CHUNKS"), "15m", None, None)
    name = cache.make_key(key)
    client = cache.client.get_client()
    assert client.exists(*[f"{name}:{i}" for i in range(8)]) == 8
    assert _bars(candles_load("CHUNKS", "15m")) == _bars(first) == bars
    client.delete(f"{name}:5")
    assert read_cache.cache_get(key) is None
    assert _bars(candles_load("CHUNKS", "15m")) == bars  # read again from the database
    assert client.exists(f"{name}:5") == 1  # and cached again


def test_it_round_trips_the_cache_encoding():
    block = np.arange(12, dtype=np.float64).reshape(6, 2)
    block[0].view(np.int64)[:] = [T0_MS, T0_MS + M15]
    c = Candles.from_block("X", "15m", block)
    back = Candles.from_bytes("X", "15m", c.to_bytes())
    assert _bars(back) == _bars(c)
    with pytest.raises(ValueError, match="not a cached candles blob"):
        Candles.from_bytes("X", "15m", b"pickle!!" + bytes(8))


# --- NoCandles ---------------------------------------------------------------------


def test_it_says_nothing_is_stored_for_an_unknown_symbol():
    with pytest.raises(
        NoCandles, match=r"no NOPE 1h candles at all; stored: nothing for NOPE \(load some with"
    ):
        candles_load("NOPE", "1h")


def test_it_says_what_is_stored_when_the_range_is_empty():
    _store("BTC-USD", "15m", [(T0_MS + i * M15, 1.0, 2.0, 0.5, 1.5, 1.0) for i in range(8)])
    with pytest.raises(NoCandles) as caught:
        candles_load("BTC-USD", "1h", "2023-01-01", "2023-02-01")
    assert str(caught.value) == (
        "no BTC-USD 1h candles between 2023-01-01T00:00:00Z and 2023-02-01T00:00:00Z; "
        "stored: 15m from 2024-01-01T00:00:00Z to 2024-01-01T01:45:00Z"
    )


def test_it_says_when_no_stored_timeframe_can_make_the_requested_one():
    _store("COARSE", "4h", [(T0_MS, 1.0, 2.0, 0.5, 1.5, 1.0)])
    with pytest.raises(NoCandles, match=r"stored: 4h from .*\(none of these can make 1h"):
        candles_load("COARSE", "1h")


def test_it_names_bad_arguments():
    with pytest.raises(ValueError, match="start 2024-01-02T00:00:00Z is not before end 2024-01-01T00:00:00Z"):
        candles_load("X", "1h", "2024-01-02", "2024-01-01")
    with pytest.raises(ValueError, match="end 'soon' is not an ISO 8601 date or time"):
        candles_load("X", "1h", None, "soon")
    with pytest.raises(ValueError, match="timeframe '2d' is not supported"):
        candles_load("X", "2d")


# --- Resampling --------------------------------------------------------------------

# 15m bars from 00:15 to 04:00: 00:xx and 04:00 are partial hours at the edges; 02:15 is
# missing (an interior gap). Extreme values at the edges would show if they leaked in.
SOURCE = [
    (T0_MS + 15 * 60_000, 20.0, 30.0, 1.0, 2.0, 100.0),
    (T0_MS + 30 * 60_000, 2.0, 40.0, 1.0, 3.0, 100.0),
    (T0_MS + 45 * 60_000, 3.0, 50.0, 1.0, 10.0, 100.0),
    (T0_MS + 1 * H, 10.0, 12.0, 9.0, 11.0, 1.0),
    (T0_MS + 1 * H + M15, 11.0, 15.0, 10.0, 14.0, 2.0),
    (T0_MS + 1 * H + 2 * M15, 14.0, 14.0, 8.0, 9.0, 3.0),
    (T0_MS + 1 * H + 3 * M15, 9.0, 10.0, 7.0, 8.0, 4.0),
    (T0_MS + 2 * H, 8.0, 9.0, 6.0, 7.0, 5.0),
    (T0_MS + 2 * H + 2 * M15, 7.0, 20.0, 7.0, 19.0, 6.0),
    (T0_MS + 3 * H, 19.0, 19.0, 18.0, 18.0, 1.0),
    (T0_MS + 3 * H + M15, 18.0, 18.0, 17.0, 17.0, 1.0),
    (T0_MS + 3 * H + 2 * M15, 17.0, 25.0, 17.0, 24.0, 1.0),
    (T0_MS + 3 * H + 3 * M15, 24.0, 24.0, 5.0, 6.0, 1.0),
    (T0_MS + 4 * H, 6.0, 90.0, 0.1, 2.0, 100.0),
]
# By hand: first open, max high, min low, last close, summed volume.
HOURLY = [
    (T0_MS + 1 * H, 10.0, 15.0, 7.0, 8.0, 10.0),
    (T0_MS + 2 * H, 8.0, 20.0, 6.0, 19.0, 11.0),  # interior, 2 of 4 bars: kept
    (T0_MS + 3 * H, 19.0, 25.0, 5.0, 6.0, 4.0),
]


def test_resampling_on_timescaledb_matches_the_hand_computed_bars():
    _store("RS", "15m", SOURCE)
    assert _bars(candles_load("RS", "1h")) == HOURLY


def test_resampling_in_numpy_matches_the_hand_computed_bars_and_timescaledb(monkeypatch):
    _store("RS", "15m", SOURCE)
    timescale = _bars(candles_load("RS", "1h"))
    cache.delete_pattern("*")
    monkeypatch.setattr(connection, "vendor", "sqlite")  # the ORM read + numpy resample path
    numpy_path = _bars(candles_load("RS", "1h"))
    assert numpy_path == timescale == HOURLY


def test_the_numpy_kernel_against_the_hand_computed_bars():
    block = np.array(list(zip(*SOURCE, strict=True)), dtype=np.float64)
    block[0].view(np.int64)[:] = [row[0] for row in SOURCE]
    out, count = block_resample(block, width_ms=H)
    assert count.tolist() == [3, 4, 2, 4, 1]
    keep = edges_trim(count, per_bucket=4)
    bars = list(zip(out[0].view(np.int64)[keep].tolist(), *(o[keep].tolist() for o in out[1:]), strict=True))
    assert bars == HOURLY


def test_resampling_aligns_the_range_inwards_and_drops_incomplete_edge_buckets():
    _store("RS", "15m", SOURCE)
    # start 00:50 rounds up to 01:00; end 03:59 rounds down to 03:00, leaving 01:00 and
    # 02:00, and 02:00 (2 of 4 bars) is now an incomplete edge bucket: dropped.
    c = candles_load("RS", "1h", "2024-01-01T00:50:00Z", "2024-01-01T03:59:00Z")
    assert _bars(c) == HOURLY[:1]
    with pytest.raises(NoCandles, match="no RS 4h candles at all; stored: 15m"):
        candles_load("RS", "4h")  # 00:00-04:00 has 13 of 16 bars, 04:00 has 1: both edges


def test_it_prefers_the_stored_timeframe_then_the_finest_divisor():
    _store("PICK", "15m", SOURCE)
    _store("PICK", "5m", [(T0_MS + 2 * H + i * 300_000, 1.0, 1.0, 1.0, 1.0, 1.0) for i in range(12)])
    _store("PICK", "1h", [(T0_MS + 9 * H, 3.0, 3.0, 3.0, 3.0, 3.0)])
    assert _bars(candles_load("PICK", "1h")) == [(T0_MS + 9 * H, 3.0, 3.0, 3.0, 3.0, 3.0)]
    assert _bars(candles_load("PICK", "30m")) == [
        (T0_MS + 2 * H, 1.0, 1.0, 1.0, 1.0, 6.0),
        (T0_MS + 2 * H + 1_800_000, 1.0, 1.0, 1.0, 1.0, 6.0),
    ]


# --- COPY BINARY -------------------------------------------------------------------


def test_copy_out_decodes_timestamps_and_floats():
    rec = copy_out(
        "SELECT ts, x FROM (VALUES ('2000-01-01T00:00:00.001Z'::timestamptz, -1.5::float8), "
        "('2024-01-01T00:00:00Z'::timestamptz, 2.25::float8)) AS v(ts, x)",
        [],
        ["i8", "f8"],
    )
    assert (rec["f0"] // 1000 + pgcopy.PG_EPOCH_MS).tolist() == [pgcopy.PG_EPOCH_MS + 1, T0_MS]
    assert rec["f1"].tolist() == [-1.5, 2.25]


def test_copy_out_reads_an_empty_result():
    rec = copy_out("SELECT 1::int8 WHERE false", [], ["i8"])
    assert rec.shape == (0,)


def test_copy_out_refuses_null_fields():
    with pytest.raises(ValueError, match="is not whole rows of 14 bytes"):
        copy_out("SELECT NULL::float8 FROM generate_series(1, 3)", [], ["f8"])
    stream = bytearray(pgcopy.copy_binary_encode([np.array([1, 2]), np.array([0.5, 1.5])], ["i8", "f8"]))
    assert pgcopy.copy_binary_decode(bytes(stream), ["i8", "f8"])["f1"].tolist() == [0.5, 1.5]
    stream[19 + 2 + 12 : 19 + 2 + 12 + 4] = (-1).to_bytes(4, "big", signed=True)  # row 0, field 1: NULL
    with pytest.raises(ValueError, match="not 2 non-NULL 8-byte fields"):
        pgcopy.copy_binary_decode(bytes(stream), ["i8", "f8"])


def test_copy_out_raises_a_server_error_and_leaves_the_connection_usable():
    with pytest.raises(DataError, match="division by zero"), transaction.atomic():
        copy_out("SELECT (1 / (x - 500))::int8 FROM generate_series(1, 1000) AS x", [], ["i8"])
    assert Candle.objects.count() == 0

"""Reading sources into columns: timestamp formats, header names, Parquet, JSON, line numbers."""

from __future__ import annotations

import gzip

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from marketdata.parse import CandleFileError
from marketdata.parse_file import csv_read, file_read
from marketdata.parse_redis import json_items_read, redis_key_parse, url_redact
from marketdata.timeframes import timeframe_ms, timeframe_parse
from tests.marketdata.builders import GOOD_LINES, HEADER, M15, T0_MS, write_csv

EXPECTED_TS = [T0_MS, T0_MS + M15, T0_MS + 2 * M15]
VALUES = "100,101,99,100.5,10"


def _lines(stamps: list[str]) -> list[str]:
    return [f"{stamp},{VALUES}" for stamp in stamps]


@pytest.mark.parametrize(
    ("stamps", "fmt"),
    [
        (["2024-01-01T00:00:00Z", "2024-01-01T00:15:00Z", "2024-01-01T00:30:00Z"], "iso8601"),
        (["2024-01-01 00:00:00", "2024-01-01 00:15:00", "2024-01-01 00:30:00"], "iso8601"),
        (["2024-01-01T01:00:00+01:00", "2024-01-01T01:15:00+01:00", "2024-01-01T01:30:00+01:00"], "iso8601"),
        ([str(t) for t in EXPECTED_TS], "epoch_ms"),
        ([str(t // 1000) for t in EXPECTED_TS], "epoch_s"),
        ([f"{t / 1000:.1f}" for t in EXPECTED_TS], "epoch_s"),
    ],
    ids=["iso-z", "iso-naive-is-utc", "iso-offset", "epoch-ms", "epoch-s", "epoch-s-float"],
)
def test_it_reads_iso_and_epoch_timestamps_to_the_same_ms(tmp_path, stamps, fmt):
    raw = csv_read(write_csv(tmp_path, _lines(stamps)))
    assert raw.ts.tolist() == EXPECTED_TS
    assert raw.timestamp_format == fmt
    assert not raw.ts_bad.any()
    assert raw.locations.tolist() == [2, 3, 4]


@pytest.mark.parametrize(
    "header",
    [
        "Timestamp,Open,High,Low,Close,Volume",
        "TIME,OPEN,HIGH,LOW,CLOSE,VOLUME",
        "date,open,high,low,close,volume",
        "DateTime,open,high,low,close,volume",
        "open_time,open,high,low,close,volume",
        " Open_Time ,Open, High,low ,CLOSE,Volume",
    ],
)
def test_it_matches_header_names_case_insensitively(tmp_path, header):
    raw = csv_read(write_csv(tmp_path, GOOD_LINES, header=header))
    assert raw.ts.tolist() == EXPECTED_TS
    assert raw.close.tolist() == [100.5, 101.0, 101.2]


def test_it_ignores_extra_columns_and_uses_the_first_timestamp_alias(tmp_path):
    header = "close_time,Volume,low,high,open,close,timestamp,rsi"
    lines = ["x,10,99,101,100,100.5,2024-01-01T00:00:00Z,55.1"]
    raw = csv_read(write_csv(tmp_path, lines, header=header))
    assert raw.ts.tolist() == [T0_MS]
    assert [raw.open[0], raw.high[0], raw.low[0], raw.close[0], raw.volume[0]] == [100, 101, 99, 100.5, 10]


def test_it_names_missing_columns(tmp_path):
    with pytest.raises(
        CandleFileError, match=r"line 1: missing a timestamp column .*, volume; found columns: ts"
    ):
        csv_read(write_csv(tmp_path, ["1,2,3,4,5"], header="ts_open,open,high,low,close"))


def test_it_refuses_an_empty_file(tmp_path):
    path = tmp_path / "empty.csv"
    path.write_text("")
    with pytest.raises(CandleFileError, match="the file is empty"):
        csv_read(path)


def test_it_refuses_microsecond_epochs(tmp_path):
    with pytest.raises(CandleFileError, match="micro- or nanoseconds"):
        csv_read(write_csv(tmp_path, _lines([str(t * 1000) for t in EXPECTED_TS])))


def test_it_keeps_physical_line_numbers_around_malformed_and_blank_lines(tmp_path):
    lines = [
        GOOD_LINES[0],  # line 2
        "",  # line 3: blank, skipped silently
        "2024-01-01T00:15:00Z,1,2,3",  # line 4: too few fields
        GOOD_LINES[1],  # line 5
        "2024-01-01T00:30:00Z,1,2,3,4,5,6",  # line 6: too many fields
        "oops,abc,1,1,1,1",  # line 7: bad timestamp and a non-number
        GOOD_LINES[2],  # line 8
    ]
    raw = csv_read(write_csv(tmp_path, lines))
    assert raw.malformed.tolist() == [4, 6]
    assert raw.locations.tolist() == [2, 5, 7, 8]
    assert raw.ts_bad.tolist() == [False, False, True, False]
    assert raw.number_bad.tolist() == [False, False, True, False]


def test_it_tells_missing_values_from_non_numbers(tmp_path):
    lines = [
        "2024-01-01T00:00:00Z,,101,99,100.5,10",
        "2024-01-01T00:15:00Z,NaN,101,99,100.5,10",
        "2024-01-01T00:30:00Z,1e2x,101,99,100.5,10",
    ]
    raw = csv_read(write_csv(tmp_path, lines))
    assert np.isnan(raw.open).all()
    assert raw.number_bad.tolist() == [False, False, True]


def test_it_reads_gzipped_csv(tmp_path):
    path = tmp_path / "candles.csv.gz"
    path.write_bytes(gzip.compress(("\n".join([HEADER, *GOOD_LINES]) + "\n").encode()))
    raw = file_read(path)
    assert raw.ts.tolist() == EXPECTED_TS
    assert raw.locations.tolist() == [2, 3, 4]


@pytest.mark.parametrize(
    "ts_column",
    [
        pa.array(EXPECTED_TS, type=pa.timestamp("ms", tz="UTC")),
        pa.array([t * 1000 for t in EXPECTED_TS], type=pa.timestamp("us")),
        pa.array(EXPECTED_TS, type=pa.int64()),
        pa.array([t // 1000 for t in EXPECTED_TS], type=pa.int64()),
        pa.array(["2024-01-01T00:00:00Z", "2024-01-01T00:15:00Z", "2024-01-01T00:30:00Z"]),
    ],
    ids=["timestamp-ms-utc", "timestamp-us-naive", "epoch-ms", "epoch-s", "iso-text"],
)
def test_it_reads_parquet(tmp_path, ts_column):
    table = pa.table(
        {
            "Timestamp": ts_column,
            "Open": [100.0, 100.5, 101.0],
            "High": [101.0, 102.0, 101.5],
            "Low": [99.0, 100.0, 100.5],
            "Close": [100.5, 101.0, 101.2],
            "Volume": pa.array([10, 0, 5], type=pa.int64()),
        }
    )
    path = tmp_path / "candles.data"  # no extension: recognised by its PAR1 magic
    pq.write_table(table, path)
    raw = file_read(path)
    assert raw.ts.tolist() == EXPECTED_TS
    assert raw.volume.tolist() == [10.0, 0.0, 5.0]
    assert raw.location_label == "row"
    assert raw.locations.tolist() == [1, 2, 3]


def test_it_reads_json_items_ignoring_indicator_fields():
    items = [
        {
            "timestamp": EXPECTED_TS[0],
            "open": 100,
            "high": 101,
            "low": 99,
            "close": 100.5,
            "volume": 10,
            "rsi": 40,
        },
        {"timestamp": EXPECTED_TS[1], "open": "100.5", "high": 102, "low": 100, "close": 101, "volume": 0},
        ["not", "an", "object"],
        {"timestamp": EXPECTED_TS[2], "open": 101, "high": 101.5, "low": 100.5, "close": 101.2, "volume": 5},
    ]
    raw = json_items_read(items, source="redis:test")
    assert raw.ts.tolist() == EXPECTED_TS
    assert raw.open.tolist() == [100.0, 100.5, 101.0]
    assert raw.malformed.tolist() == [2]
    assert raw.locations.tolist() == [0, 1, 3]
    assert raw.location_label == "item"


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        ("candles_with_indicators:BTC-USDT-SWAP:1m", ("BTC-USDT-SWAP", "1m")),
        ("candles_with_indicators:ETH-USDT-SWAP:1H", ("ETH-USDT-SWAP", "1h")),
    ],
)
def test_it_takes_symbol_and_timeframe_from_the_redis_key(key, expected):
    assert redis_key_parse(key) == expected


@pytest.mark.parametrize(
    ("key", "message"),
    [
        ("candles:BTC:1m", "is not of the form"),
        ("candles_with_indicators:BTC", "is not of the form"),
        ("candles_with_indicators:BTC:7m", "timeframe '7m' is not supported"),
    ],
)
def test_it_refuses_other_redis_keys(key, message):
    with pytest.raises(CandleFileError, match=message):
        redis_key_parse(key)


def test_it_redacts_passwords_in_urls():
    assert url_redact("redis://user:secret@host:6379/0") == "redis://user:***@host:6379/0"
    assert url_redact("redis://host:6379/0") == "redis://host:6379/0"


@pytest.mark.parametrize(
    ("value", "canonical", "ms"),
    [("1m", "1m", 60_000), ("15m", "15m", 900_000), ("4H", "4h", 14_400_000), ("1d", "1d", 86_400_000)],
)
def test_it_parses_timeframes(value, canonical, ms):
    assert timeframe_parse(value) == canonical
    assert timeframe_ms(value) == ms


@pytest.mark.parametrize("value", ["1M", "7m", "1w", "", "60"])
def test_it_refuses_other_timeframes(value):
    with pytest.raises(ValueError, match=r"not supported; use one of: 1m 3m 5m 15m 30m 1h 2h 4h 6h 12h 1d"):
        timeframe_parse(value)

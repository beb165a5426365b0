"""Loading: upsert semantics, --skip-invalid, the bundled BTC sample and its coverage."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from django.core.cache import cache
from django.core.management.base import CommandError

from marketdata.models import Candle, CandleSeries
from marketdata.parse import RawCandles
from marketdata.parse_file import csv_read
from marketdata.read import candles_load
from marketdata.services import CandlesInvalid, candles_delete, candles_ingest
from tests.marketdata.builders import GOOD_LINES, M15, T0_MS, bar_lines, load, write_csv

pytestmark = pytest.mark.django_db


def _stored(symbol: str, timeframe: str = "15m") -> list[tuple]:
    rows = Candle.objects.filter(symbol=symbol, timeframe=timeframe).order_by("ts")
    return [
        (round(ts.timestamp() * 1000), o, h, lo, c, v)
        for ts, o, h, lo, c, v in rows.values_list("ts", "open", "high", "low", "close", "volume")
    ]


def test_it_loads_a_csv_and_reloading_it_changes_nothing(tmp_path):
    path = write_csv(tmp_path, GOOD_LINES)
    first = load(str(path), symbol="IDEM", timeframe="15m")
    assert "3 rows: 3 inserted, 0 updated, 0 unchanged" in first
    before = _stored("IDEM")
    assert before == [
        (T0_MS, 100.0, 101.0, 99.0, 100.5, 10.0),
        (T0_MS + M15, 100.5, 102.0, 100.0, 101.0, 0.0),
        (T0_MS + 2 * M15, 101.0, 101.5, 100.5, 101.2, 5.0),
    ]
    second = load(str(path), symbol="IDEM", timeframe="15m")
    assert "3 rows: 0 inserted, 0 updated, 3 unchanged" in second
    assert _stored("IDEM") == before
    series = CandleSeries.objects.get(symbol="IDEM", timeframe="15m")
    assert (series.load_version, series.last_inserted, series.last_updated) == (2, 0, 0)


def test_it_updates_changed_values_and_inserts_new_bars_inside_and_outside_the_span(tmp_path):
    load(
        str(write_csv(tmp_path, [GOOD_LINES[0], GOOD_LINES[2]], name="a.csv")), symbol="UPD", timeframe="15m"
    )
    lines = [
        GOOD_LINES[0],  # unchanged
        "2024-01-01T00:15:00Z,100.5,102,100,101,0",  # new, inside the stored span (fills the gap)
        "2024-01-01T00:30:00Z,101,101.5,100.5,101.3,5",  # close changed
        "2024-01-01T00:45:00Z,101.3,101.5,101,101.1,1",  # new, after the stored span
    ]
    out = load(str(write_csv(tmp_path, lines, name="b.csv")), symbol="UPD", timeframe="15m")
    assert "4 rows: 2 inserted, 1 updated, 1 unchanged" in out
    stored = _stored("UPD")
    assert [row[0] for row in stored] == [T0_MS + i * M15 for i in range(4)]
    assert stored[2][4] == 101.3
    series = CandleSeries.objects.get(symbol="UPD")
    assert (series.row_count, series.gap_count, series.last_inserted, series.last_updated) == (4, 0, 2, 1)


def test_it_loads_epoch_milliseconds_through_the_command(tmp_path):
    lines = [f"{T0_MS + i * M15},{line.split(',', 1)[1]}" for i, line in enumerate(GOOD_LINES)]
    load(
        str(write_csv(tmp_path, lines, header="Open_Time,Open,High,Low,Close,Volume")),
        symbol="EMS",
        timeframe="15m",
    )
    assert [row[0] for row in _stored("EMS")] == [T0_MS, T0_MS + M15, T0_MS + 2 * M15]


def test_it_loads_parquet_through_the_command(tmp_path):
    path = tmp_path / "candles.parquet"
    pq.write_table(
        pa.table(
            {
                "time": pa.array([T0_MS, T0_MS + M15], type=pa.timestamp("ms", tz="UTC")),
                "open": [1.0, 2.0],
                "high": [2.0, 3.0],
                "low": [0.5, 1.5],
                "close": [2.0, 2.5],
                "volume": [7.0, 8.0],
            }
        ),
        path,
    )
    out = load(str(path), symbol="PQ", timeframe="15m")
    assert "2 rows: 2 inserted" in out
    assert _stored("PQ") == [(T0_MS, 1.0, 2.0, 0.5, 2.0, 7.0), (T0_MS + M15, 2.0, 3.0, 1.5, 2.5, 8.0)]


def test_skip_invalid_loads_the_good_rows_and_reports_the_rest(tmp_path):
    lines = [
        GOOD_LINES[0],  # line 2
        "2024-01-01T00:15:00Z,100.5,100.8,100,101,0",  # line 3: high below close
        GOOD_LINES[2],  # line 4
        "2024-01-01T00:45:00Z,1,2,3",  # line 5: missing fields
        "2024-01-01T01:00:00Z,101,102,100,101,1",  # line 6
    ]
    path = write_csv(tmp_path, lines)
    with pytest.raises(CommandError):
        load(str(path), symbol="SKIP", timeframe="15m")
    out = load(str(path), symbol="SKIP", timeframe="15m", skip_invalid=True)
    assert "Skipped 2 invalid rows" in out
    assert "high_below_open_close: 1 row (high is below max(open, close)); line 3" in out
    assert "field_count: 1 row (wrong number of fields for the header); line 5" in out
    assert "3 rows: 3 inserted" in out
    assert [row[0] for row in _stored("SKIP")] == [T0_MS, T0_MS + 2 * M15, T0_MS + 4 * M15]
    series = CandleSeries.objects.get(symbol="SKIP")
    assert (series.row_count, series.last_rejected, series.gap_count, series.missing_bars) == (3, 2, 2, 2)


def test_it_refuses_a_file_with_no_valid_rows_even_when_skipping(tmp_path):
    path = write_csv(tmp_path, ["2024-01-01T00:15:00Z,-1,2,1,1,1"])
    with pytest.raises(CommandError, match="no valid rows to load"):
        load(str(path), symbol="NONE", timeframe="15m", skip_invalid=True)
    assert not CandleSeries.objects.exists()


@pytest.mark.parametrize(
    ("args", "options", "message"),
    [
        ((), {}, "give a FILE with --symbol and --timeframe, or --redis KEY"),
        (("x.csv",), {"symbol": "BTC"}, "loading a file needs --timeframe"),
        (("nope.csv",), {"symbol": "BTC", "timeframe": "15m"}, "nope.csv: no such file"),
        (("x.csv",), {"redis": "candles_with_indicators:BTC:1m"}, "--redis takes the symbol and timeframe"),
    ],
)
def test_it_explains_bad_arguments(args, options, message):
    with pytest.raises(CommandError, match=message):
        load(*args, **options)


def test_it_names_a_bad_symbol_and_timeframe(tmp_path):
    path = write_csv(tmp_path, GOOD_LINES)
    with pytest.raises(CommandError, match="symbol 'BTC USD' must be 1-64 characters"):
        load(str(path), symbol="BTC USD", timeframe="15m")
    with pytest.raises(CommandError, match="timeframe '15' is not supported"):
        load(str(path), symbol="BTC", timeframe="15")


def test_it_loads_the_bundled_btc_sample_with_its_gaps_and_zero_volume(sample_csv_path):
    out = load(str(sample_csv_path), symbol="BTC-USD", timeframe="15m")
    assert "8686 rows: 8686 inserted, 0 updated, 0 unchanged" in out
    assert "9 gaps (243 missing bars)" in out
    series = CandleSeries.objects.get(symbol="BTC-USD", timeframe="15m")
    assert series.row_count == Candle.objects.filter(symbol="BTC-USD").count() == 8686
    assert series.first_ts == datetime(2021, 9, 27, 13, 45, tzinfo=UTC)
    assert series.last_ts == datetime(2021, 12, 29, 13, 45, tzinfo=UTC)
    assert series.gap_count == len(series.gaps) == 9
    assert [g["missing_bars"] for g in series.gaps] == [1, 1, 4, 222, 9, 1, 3, 1, 1]
    longest = series.gaps[3]
    assert longest["seconds"] == 222 * 15 * 60
    assert longest["start"] < longest["end"]
    assert series.zero_volume_count == Candle.objects.filter(symbol="BTC-USD", volume=0).count()
    assert 0.2 < series.zero_volume_count / series.row_count < 0.3
    assert series.source == str(sample_csv_path)


def test_it_shows_no_progress_bar_when_stdout_is_not_a_terminal(tmp_path, capsys):
    load(str(write_csv(tmp_path, GOOD_LINES)), symbol="TTY", timeframe="15m")
    assert "bars/s" not in capsys.readouterr().err


def test_the_service_raises_before_writing_and_keeps_gaps_out_of_validation(tmp_path):
    raw = csv_read(write_csv(tmp_path, [GOOD_LINES[0], "2024-01-01T00:15:00Z,1,0.5,1,1,1"]))
    with pytest.raises(CandlesInvalid) as caught:
        candles_ingest(symbol="SVC", timeframe="15m", raw=raw)
    assert [p.code for p in caught.value.report.problems] == ["high_below_open_close"]
    assert not Candle.objects.exists()


def test_it_upserts_more_rows_than_one_copy_chunk(monkeypatch):
    monkeypatch.setattr("marketdata.services.CHUNK_ROWS", 4)
    n = 10
    ts = T0_MS + np.arange(n, dtype=np.int64) * M15
    price = np.arange(1, n + 1, dtype=np.float64)
    raw = RawCandles.from_arrays(ts=ts, open=price, high=price + 1, low=price, close=price, volume=price)
    first = candles_ingest(symbol="CHUNK", timeframe="15m", raw=raw)
    assert (first.inserted, first.updated, first.unchanged) == (10, 0, 0)
    changed = price.copy()
    changed[[0, 9]] += 0.5
    raw2 = RawCandles.from_arrays(
        ts=np.concatenate([ts, [ts[-1] + M15]]),
        open=np.append(price, 11.0),
        high=np.append(price + 1, 12.0),
        low=np.append(price, 11.0),
        close=np.append(changed, 11.0),
        volume=np.append(price, 11.0),
    )
    second = candles_ingest(symbol="CHUNK", timeframe="15m", raw=raw2)
    assert (second.written, second.inserted, second.updated, second.unchanged) == (11, 1, 2, 8)
    assert [row[4] for row in _stored("CHUNK")] == [*changed.tolist(), 11.0]


def test_candles_delete_removes_a_series_and_its_coverage():
    ts = T0_MS + np.arange(3, dtype=np.int64) * M15
    ones = np.ones(3)
    candles_ingest(
        symbol="DEL",
        timeframe="15m",
        raw=RawCandles.from_arrays(ts=ts, open=ones, high=ones, low=ones, close=ones, volume=ones),
    )
    candles_load("DEL", "15m")
    client = cache.client.get_client()
    assert list(client.scan_iter(cache.make_key("candles:v1:DEL:*")))
    assert candles_delete(symbol="DEL") == 3
    assert not list(client.scan_iter(cache.make_key("candles:v1:DEL:*")))
    assert not Candle.objects.filter(symbol="DEL").exists()
    assert not CandleSeries.objects.filter(symbol="DEL").exists()


def test_bar_lines_builder_matches_the_csv_format():
    assert bar_lines([(T0_MS, 1, 2, 0.5, 1.5, 3)]) == ["2024-01-01T00:00:00Z,1,2,0.5,1.5,3"]

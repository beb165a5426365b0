"""Candle sources are bounded before they are parsed: decompressed size, rows, and how
far a compressed file may expand (a 3 MB gzip that expands to 1 GiB is refused after a
few megabytes). Error messages never carry raw control bytes."""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
import tracemalloc
import uuid

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import redis
from django.conf import settings
from django.core.management.base import CommandError

from marketdata.models import CandleSeries
from marketdata.parse import CandleFileError, CandleLimits
from marketdata.parse_file import csv_read, file_read
from marketdata.parse_redis import redis_read
from tests.conftest import REPO
from tests.marketdata.builders import GOOD_LINES, HEADER, load, write_csv

LINE = b"2024-01-01T00:00:00Z,100,101,99,100.5,12.5\n"
GIB = 1024**3


def gzip_bomb(path, *, expands_to: int = GIB):
    """A gzip file of about 3 MB that decompresses to ``expands_to`` bytes of CSV (the
    same 1 MiB member repeated: gzip readers join concatenated members)."""
    block = LINE * (1024 * 1024 // len(LINE))
    member = gzip.compress(block, compresslevel=9)
    with path.open("wb") as out:
        out.write(gzip.compress((HEADER + "\n").encode()))
        for _ in range(expands_to // len(block)):
            out.write(member)
    return path


def test_a_gzip_bomb_is_refused_after_a_few_megabytes(tmp_path):
    bomb = gzip_bomb(tmp_path / "bomb.csv.gz")
    assert bomb.stat().st_size < 4 * 1024 * 1024
    tracemalloc.start()
    try:
        with pytest.raises(CandleFileError, match=r"a compression bomb\? refused") as caught:
            csv_read(bomb)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    expanded = int(caught.value.args[0].split("expanded to ")[1].split(" ")[0])
    assert expanded < 16 * 1024 * 1024  # not the 1 GiB it holds
    assert peak < 64 * 1024 * 1024


def test_a_gzip_bomb_costs_a_process_little_memory(tmp_path):
    # the whole read in a fresh process: its peak resident memory once the modules are
    # loaded, against the same process just before the read
    bomb = gzip_bomb(tmp_path / "bomb.csv.gz")
    code = (
        "import resource, sys\n"
        "from marketdata.parse import CandleFileError\n"
        "from marketdata.parse_file import csv_read\n"
        "before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
        "try:\n    csv_read(sys.argv[1])\nexcept CandleFileError:\n    pass\n"
        "else:\n    sys.exit('not refused')\n"
        "print(before, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code, str(bomb)], cwd=REPO, capture_output=True, text=True, check=True
    )
    before_kib, after_kib = map(int, result.stdout.split())
    assert after_kib - before_kib < 200 * 1024


def test_a_file_that_decompresses_past_the_size_limit_is_refused(tmp_path):
    path = tmp_path / "big.csv.gz"
    lines = [f"2024-01-01T00:{i % 60:02d}:00Z,{i},{i + 1},{i - 1},{i},{i}" for i in range(20_000)]
    path.write_bytes(gzip.compress(("\n".join([HEADER, *lines]) + "\n").encode()))
    with pytest.raises(
        CandleFileError, match=r"it decompresses to more than 100000 bytes \(CANDLE_MAX_BYTES\)"
    ):
        csv_read(path, limits=CandleLimits(max_bytes=100_000))
    assert len(csv_read(path, limits=CandleLimits(max_bytes=10_000_000))) == 20_000


def test_a_plain_file_past_the_size_limit_is_refused_by_its_size(tmp_path):
    path = write_csv(tmp_path, GOOD_LINES)
    size = path.stat().st_size
    with pytest.raises(CandleFileError, match=f"it is more than {size - 1} bytes"):
        csv_read(path, limits=CandleLimits(max_bytes=size - 1))
    assert len(csv_read(path, limits=CandleLimits(max_bytes=size))) == 3


@pytest.mark.parametrize("compressed", [False, True])
def test_rows_are_counted_before_parsing(tmp_path, compressed):
    path = write_csv(tmp_path, GOOD_LINES)
    if compressed:
        path = path.with_suffix(".csv.gz")
        path.write_bytes(gzip.compress(write_csv(tmp_path, GOOD_LINES).read_bytes()))
    with pytest.raises(CandleFileError, match=r"3 rows, more than 2 \(CANDLE_MAX_ROWS\); refused"):
        csv_read(path, limits=CandleLimits(max_rows=2))
    assert len(csv_read(path, limits=CandleLimits(max_rows=3))) == 3


def test_parquet_is_checked_by_its_footer(tmp_path):
    path = tmp_path / "candles.parquet"
    n = 1000
    table = pa.table(
        {
            "timestamp": pa.array([1_704_067_200_000 + i * 60_000 for i in range(n)], pa.int64()),
            **{name: pa.array([100.0] * n) for name in ("open", "high", "low", "close", "volume")},
        }
    )
    pq.write_table(table, path)
    with pytest.raises(CandleFileError, match=r"1000 rows, more than 999 \(CANDLE_MAX_ROWS\)"):
        file_read(path, limits=CandleLimits(max_rows=999))
    with pytest.raises(CandleFileError, match=r"its columns uncompress to more than 1000 bytes"):
        file_read(path, limits=CandleLimits(max_bytes=1000))
    assert len(file_read(path)) == n


@pytest.fixture
def redis_key():
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    key = f"candles_with_indicators:LIMIT-{worker}-{uuid.uuid4().hex[:6]}:1m"
    client = redis.Redis.from_url(settings.REDIS_URL)
    yield client, key
    client.delete(key)
    client.close()


def _items(n: int) -> list[dict]:
    return [
        {"timestamp": 1_704_067_200_000 + i * 60_000, "open": 1, "high": 1, "low": 1, "close": 1, "volume": 0}
        for i in range(n)
    ]


def test_a_redis_string_is_measured_before_it_is_fetched(redis_key):
    client, key = redis_key
    client.set(key, json.dumps(_items(50)))
    with pytest.raises(CandleFileError, match=r"it holds more than 100 bytes \(CANDLE_MAX_BYTES\)"):
        redis_read(key, url=settings.REDIS_URL, limits=CandleLimits(max_bytes=100))
    with pytest.raises(CandleFileError, match=r"50 rows, more than 49"):
        redis_read(key, url=settings.REDIS_URL, limits=CandleLimits(max_rows=49))


def test_a_redis_list_is_counted_before_it_is_fetched(redis_key):
    client, key = redis_key
    client.rpush(key, *(json.dumps(item) for item in _items(10)))
    with pytest.raises(CandleFileError, match=r"10 rows, more than 9 \(CANDLE_MAX_ROWS\)"):
        redis_read(key, url=settings.REDIS_URL, limits=CandleLimits(max_rows=9))
    assert len(redis_read(key, url=settings.REDIS_URL)) == 10


def test_deeply_nested_redis_json_is_a_clear_error(redis_key):
    client, key = redis_key
    client.set(key, "[" * 100_000 + "]" * 100_000)
    with pytest.raises(CandleFileError, match="nested too deeply"):
        redis_read(key, url=settings.REDIS_URL)


@pytest.mark.django_db
def test_load_candles_uses_the_settings_limits_and_stores_nothing(tmp_path, settings):
    settings.CANDLE_MAX_ROWS = 2
    with pytest.raises(CommandError, match=r"3 rows, more than 2 \(CANDLE_MAX_ROWS\)"):
        load(str(write_csv(tmp_path, GOOD_LINES)), symbol="LIMIT", timeframe="15m")
    with pytest.raises(CommandError, match=r"a compression bomb\? refused"):
        load(
            str(gzip_bomb(tmp_path / "bomb.csv.gz", expands_to=64 * 1024 * 1024)),
            symbol="LIMIT",
            timeframe="15m",
        )
    assert not CandleSeries.objects.filter(symbol="LIMIT").exists()


@pytest.mark.django_db
def test_command_errors_show_control_bytes_escaped(tmp_path):
    path = write_csv(tmp_path, GOOD_LINES, header="time\x1b[2J\x00stamp,open,high,low,close,volume")
    with pytest.raises(CommandError) as caught:
        load(str(path), symbol="ESC", timeframe="15m")
    message = str(caught.value)
    assert "\x1b" not in message and "\x00" not in message
    assert "time\\x1b[2J\\x00stamp" in message


def test_backtest_from_files_refuses_a_bomb_too(tmp_path):
    spec = tmp_path / "spec.yaml"
    spec.write_text(
        "kind: Backtest\nname: b\nstrategy: hyperrsi\n"
        "market: {symbol: BTC-USD, timeframe: 15m, start: 2024-01-01, end: 2024-02-01}\n"
    )
    bomb = gzip_bomb(tmp_path / "bomb.csv.gz", expands_to=64 * 1024 * 1024)
    result = subprocess.run(
        [sys.executable, "manage.py", "backtest", "--spec", str(spec), "--candles", str(bomb)],
        cwd=REPO,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "backtest_project.settings", "BACKTEST_LOCAL_ENV": ""},
        capture_output=True,
        text=True,
    )
    assert result.returncode == 1
    assert "a compression bomb? refused" in result.stderr
    assert "Traceback" not in result.stderr

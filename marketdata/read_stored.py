"""Stored bars of one series as a (6, n) float64 block (row 0: int64 ts bits).

``stored_read`` serves a read of the stored timeframe or of a coarser one through the
cache (``read_cache``). From the database: on PostgreSQL the rows come through binary
COPY (``pgcopy``), elsewhere (SQLite) through the ORM's ``values_list``. A coarser
timeframe is resampled by ``time_bucket`` (or a rollup) on TimescaleDB and by numpy
elsewhere, with ``resample``'s edge rules.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from django.db import connection

from engine.bars import BAR_FIELDS
from engine.timestamps import datetime_to_ms, ms_to_datetime
from marketdata.models import Candle, CandleRollup, CandleSeries
from marketdata.pgcopy import block_from_records, copy_out
from marketdata.read_cache import cache_get, cache_key, cache_set
from marketdata.resample import block_resample, edges_trim, range_align
from marketdata.timeframes import timeframe_ms


def stored_read(
    source: CandleSeries,
    symbol: str,
    tf: str,
    start_ms: int | None,
    end_ms: int | None,
    *,
    trim_last: bool = True,
) -> tuple[np.ndarray, str]:
    """The stored bars of ``tf`` in ``[start_ms, end_ms)``, through the cache, and where
    they came from (cache, database, resampled). A resampled read drops its last bucket
    when incomplete only with ``trim_last``."""
    key = cache_key(source, tf, start_ms, end_ms) + ("" if trim_last or source.timeframe == tf else ":open")
    cached = cache_get(key)
    if cached is not None:
        return cached, "cache"
    if source.timeframe == tf:
        block, how = series_read(symbol, tf, start_ms, end_ms), "database"
    else:
        block = series_resample(symbol, source.timeframe, tf, start_ms, end_ms, trim_last=trim_last)
        how = "resampled"
    if block.shape[1]:
        cache_set(key, block)
    return block, how


_SELECT = (
    "SELECT ts, open, high, low, close, volume FROM backtests_candle WHERE symbol = %s AND timeframe = %s"
)


def range_sql(start_ms: int | None, end_ms: int | None, *, column: str = "ts") -> tuple[str, list]:
    sql, params = "", []
    if start_ms is not None:
        sql += f" AND {column} >= %s"
        params.append(ms_to_datetime(start_ms))
    if end_ms is not None:
        sql += f" AND {column} < %s"
        params.append(ms_to_datetime(end_ms))
    return sql, params


def series_read(symbol: str, timeframe: str, start_ms: int | None, end_ms: int | None) -> np.ndarray:
    """A (6, n) float64 block (row 0: int64 ts bits) of stored bars, ordered by ts."""
    if connection.vendor == "postgresql":
        where, params = range_sql(start_ms, end_ms)
        rec = copy_out(f"{_SELECT}{where} ORDER BY ts", [symbol, timeframe, *params], ["i8"] + ["f8"] * 5)
        return block_from_records(rec, 6)
    qs = Candle.objects.filter(symbol=symbol, timeframe=timeframe)
    if start_ms is not None:
        qs = qs.filter(ts__gte=ms_to_datetime(start_ms))
    if end_ms is not None:
        qs = qs.filter(ts__lt=ms_to_datetime(end_ms))
    return orm_rows_block(list(qs.order_by("ts").values_list(*BAR_FIELDS)), BAR_FIELDS)


def orm_rows_block(rows: list[tuple], names: Sequence[str]) -> np.ndarray:
    """The (len(names), n) float64 block of ``values_list(*names)`` rows, ``names[0]``
    being ``ts`` (stored in row 0 as int64 epoch-ms bits)."""
    block = np.empty((len(names), len(rows)), dtype=np.float64)
    if rows:
        frame = pd.DataFrame.from_records(rows, columns=list(names))
        times = pd.to_datetime(frame[names[0]], utc=True).dt.tz_localize(None)
        block[0].view(np.int64)[:] = times.to_numpy("datetime64[ms]").astype(np.int64)
        for i, name in enumerate(names[1:], start=1):
            block[i] = frame[name].to_numpy(dtype=np.float64)
    return block


def series_resample(
    symbol: str,
    source_tf: str,
    timeframe: str,
    start_ms: int | None,
    end_ms: int | None,
    *,
    trim_last: bool = True,
) -> np.ndarray:
    width = timeframe_ms(timeframe)
    per_bucket = width // timeframe_ms(source_tf)
    start_ms, end_ms = range_align(start_ms, end_ms, width_ms=width)
    if start_ms is not None and end_ms is not None and start_ms >= end_ms:
        return np.empty((6, 0), dtype=np.float64)
    if connection.vendor == "postgresql":
        rec = _resample_postgres(symbol, source_tf, timeframe, start_ms, end_ms)
        block = block_from_records(rec, 6)
        count = rec["f6"].astype(np.int64)
    else:
        block, count = block_resample(series_read(symbol, source_tf, start_ms, end_ms), width_ms=width)
    keep = edges_trim(count, per_bucket=per_bucket, last=trim_last)
    return np.ascontiguousarray(block[:, keep])


_BUCKET_KINDS = ["i8"] + ["f8"] * 5 + ["i8"]  # bucket, open … volume, source bars


def _resample_postgres(
    symbol: str, source_tf: str, timeframe: str, start_ms: int | None, end_ms: int | None
) -> np.ndarray:
    """Buckets of ``timeframe`` with their source-bar counts (decoded COPY rows).

    From a rollup where there is one: on the licensed build its continuous aggregate
    (real-time, so current to the last bar); on the Apache build the materialised
    ``RollupCandle`` rows before the rollup's watermark and ``time_bucket`` over the
    raw bars after it. Both give the buckets ``time_bucket`` over the raw bars gives,
    and keep giving them after retention dropped the raw bars.
    """
    width = timeframe_ms(timeframe)
    parts = []
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT current_setting('timescaledb.license', true), to_regclass(%s)::text",
            [f"marketdata_rollup_{timeframe}"],
        )
        license_name, view = cursor.fetchone()
    if license_name == "timescale" and view:
        where, params = range_sql(start_ms, end_ms, column="bucket")
        sql = (
            f"SELECT bucket, open, high, low, close, volume, bars FROM {view} "
            f"WHERE symbol = %s AND source_timeframe = %s{where} ORDER BY bucket"
        )
        return copy_out(sql, [symbol, source_tf, *params], _BUCKET_KINDS)
    watermark = (
        CandleRollup.objects.filter(symbol=symbol, source_timeframe=source_tf, timeframe=timeframe)
        .values_list("materialized_to", flat=True)
        .first()
    )
    if watermark is not None and (start_ms is None or start_ms < datetime_to_ms(watermark)):
        upto = datetime_to_ms(watermark) if end_ms is None else min(end_ms, datetime_to_ms(watermark))
        where, params = range_sql(start_ms, upto)
        sql = (
            "SELECT ts, open, high, low, close, volume, bars::int8 FROM marketdata_rollupcandle "
            f"WHERE symbol = %s AND timeframe = %s AND source_timeframe = %s{where} ORDER BY ts"
        )
        parts.append(copy_out(sql, [symbol, timeframe, source_tf, *params], _BUCKET_KINDS))
        start_ms = upto
    if end_ms is None or start_ms is None or start_ms < end_ms:
        where, params = range_sql(start_ms, end_ms)
        sql = (
            "SELECT time_bucket(%s::interval, ts) AS bucket, first(open, ts), max(high), min(low), "
            "last(close, ts), sum(volume), count(*) FROM backtests_candle "
            f"WHERE symbol = %s AND timeframe = %s{where} GROUP BY bucket ORDER BY bucket"
        )
        parts.append(copy_out(sql, [f"{width // 60_000} minutes", symbol, source_tf, *params], _BUCKET_KINDS))
    return np.concatenate(parts) if len(parts) > 1 else parts[0]

"""The write path for market data: ``candles_ingest`` (validate, upsert, update coverage).

A load is all or nothing: validation runs before anything is written, then the upsert
and the coverage update share one transaction. The series' ``CandleSeries`` row is
locked first (SELECT … FOR UPDATE), so two loads of one series run one after the other.

PostgreSQL: the valid rows are sorted by ts and sent in chunks with a binary COPY into
a temporary staging table, then moved with ``INSERT … SELECT``. Rows inside the span
already stored go through ``ON CONFLICT (symbol, timeframe, ts) DO UPDATE … WHERE``
the values differ (an identical reload writes nothing); rows outside that span cannot
conflict (the lock keeps other loads of the series out) and take a plain INSERT, which
TimescaleDB runs about twice as fast. SQLite: one executemany upsert.
"""

from __future__ import annotations

import logging
import re
import time
from dataclasses import dataclass

import numpy as np
from django.conf import settings
from django.core.cache import cache
from django.db import connection, transaction
from django.utils import timezone
from tqdm import tqdm

from engine.bars import BAR_FIELDS
from engine.timestamps import datetime_to_ms, ms_to_datetime
from marketdata.coverage import Coverage, coverage_compute, coverage_extend
from marketdata.models import Candle, CandleRollup, CandleSeries, RollupCandle
from marketdata.parse import CandleLimits, RawCandles
from marketdata.pgcopy import PG_EPOCH_MS, copy_binary_encode, copy_out
from marketdata.read_cache import CACHE_KEY_PREFIX
from marketdata.read_stored import orm_rows_block
from marketdata.timeframes import timeframe_ms, timeframe_parse
from marketdata.validate import ValidationReport, candles_validate

logger = logging.getLogger(__name__)

SYMBOL_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/-]{0,63}$")
CHUNK_ROWS = 200_000
_STAGE = "candle_stage"
_VALUES = BAR_FIELDS[1:]  # open … volume


class CandlesInvalid(ValueError):
    """The source has invalid rows (or none valid); ``report`` says which. Nothing was written."""

    def __init__(self, report: ValidationReport, message: str | None = None):
        super().__init__(message or report.text())
        self.report = report


@dataclass(frozen=True)
class IngestResult:
    """What one load did. ``inserted + updated + unchanged == written``."""

    series: CandleSeries
    report: ValidationReport
    written: int  # valid rows sent to the database
    inserted: int
    updated: int
    unchanged: int
    rejected: int  # invalid rows skipped (with skip_invalid)
    seconds: float


def candle_limits() -> CandleLimits:
    """The bounds on one candle source that the settings give (CANDLE_MAX_*)."""
    return CandleLimits(
        max_bytes=settings.CANDLE_MAX_BYTES,
        max_rows=settings.CANDLE_MAX_ROWS,
        max_expansion=settings.CANDLE_MAX_EXPANSION,
    )


def symbol_check(symbol: str) -> str:
    """``symbol`` if it is 1-64 characters of letters, digits and ``. _ / -``."""
    if not isinstance(symbol, str) or not SYMBOL_RE.match(symbol):
        raise ValueError(
            f"symbol {symbol!r} must be 1-64 characters: letters, digits, '.', '_', '/', '-' "
            "(starting with a letter or digit)"
        )
    return symbol


def candles_ingest(
    *,
    symbol: str,
    timeframe: str,
    raw: RawCandles,
    source: str = "",
    skip_invalid: bool = False,
    progress: bool = False,
) -> IngestResult:
    """Validate ``raw`` and upsert its rows into the (symbol, timeframe) series.

    Raises ``CandlesInvalid`` (nothing written) when a row is invalid, unless
    ``skip_invalid``, which loads the valid rows and counts the others in ``rejected``;
    also when no row is valid. ``progress`` shows a tqdm bar (the caller decides,
    e.g. only on a terminal). Afterwards the series' coverage record is recomputed from
    the table and its ``load_version`` bumped, which retires its cached reads.
    """
    began = time.perf_counter()
    symbol = symbol_check(symbol)
    timeframe = timeframe_parse(timeframe)
    report = candles_validate(raw=raw, timeframe=timeframe)
    if not report.ok and not skip_invalid:
        raise CandlesInvalid(report)
    rows = np.flatnonzero(report.valid)
    if rows.shape[0] == 0:
        raise CandlesInvalid(report, f"{report.source}: no valid rows to load\n{report.text()}")
    rows = rows[np.argsort(raw.ts[rows], kind="stable")]
    ts = raw.ts[rows]
    values = [np.ascontiguousarray(getattr(raw, name)[rows]) for name in _VALUES]

    with transaction.atomic():
        series = _series_lock(symbol, timeframe)
        before = _coverage_of(series)
        bar = tqdm(total=ts.shape[0], unit="bars", desc=f"{symbol} {timeframe}", disable=not progress)
        try:
            if connection.vendor == "postgresql":
                inserted, updated = _upsert_postgres(symbol, timeframe, ts, values, bar)
            else:
                inserted, updated = _upsert_generic(symbol, timeframe, ts, values, bar)
        finally:
            bar.close()
        written = int(ts.shape[0])
        appended = before.last_ms is not None and ts[0] > before.last_ms and inserted == written
        _coverage_update(
            series,
            source=source or raw.source,
            inserted=inserted,
            updated=updated,
            rejected=report.invalid,
            appended=(ts, values[4]) if appended else None,
        )
        if inserted or updated:
            _rollups_invalidate(symbol, timeframe, from_ms=int(ts[0]))
    return IngestResult(
        series=series,
        report=report,
        written=written,
        inserted=inserted,
        updated=updated,
        unchanged=written - inserted - updated,
        rejected=report.invalid,
        seconds=time.perf_counter() - began,
    )


def candles_delete(*, symbol: str, timeframe: str | None = None) -> int:
    """Delete a series (or every timeframe of ``symbol``), its coverage record and its
    cached reads. Returns the number of candle rows deleted."""
    with transaction.atomic():
        candles = Candle.objects.filter(symbol=symbol)
        series = CandleSeries.objects.filter(symbol=symbol)
        if timeframe is not None:
            candles = candles.filter(timeframe=timeframe_parse(timeframe))
            series = series.filter(timeframe=timeframe_parse(timeframe))
        deleted = candles.delete()[0]
        series.delete()
        rollups = RollupCandle.objects.filter(symbol=symbol)
        states = CandleRollup.objects.filter(symbol=symbol)
        if timeframe is not None:
            rollups = rollups.filter(source_timeframe=timeframe_parse(timeframe))
            states = states.filter(source_timeframe=timeframe_parse(timeframe))
        rollups.delete()
        states.delete()
    # Stale keys could never be read again (a new series gets a new id); this only frees
    # Redis early. Symbols hold no glob characters (see SYMBOL_RE).
    if hasattr(cache, "delete_pattern") and SYMBOL_RE.match(symbol):
        try:
            cache.delete_pattern(f"{CACHE_KEY_PREFIX}:{symbol}:*")
        except Exception:
            logger.warning("could not drop the cached reads of %s", symbol, exc_info=True)
    return deleted


# --- Steps -------------------------------------------------------------------------


def _series_lock(symbol: str, timeframe: str) -> CandleSeries:
    series, _ = CandleSeries.objects.select_for_update().get_or_create(symbol=symbol, timeframe=timeframe)
    return series


def _on_conflict_update(*, stored: str, differs: str) -> str:
    """The upsert's conflict clause: a stored bar takes the new values only where one
    of them differs, so an identical reload writes nothing. ``stored`` names the table's
    row, ``differs`` is the dialect's NULL-safe inequality."""
    assign = ", ".join(f"{name} = EXCLUDED.{name}" for name in _VALUES)
    changed = " OR ".join(f"{stored}.{name} {differs} EXCLUDED.{name}" for name in _VALUES)
    return f"ON CONFLICT (symbol, timeframe, ts) DO UPDATE SET {assign} WHERE {changed}"


def _upsert_postgres(symbol, timeframe, ts, values, bar) -> tuple[int, int]:
    columns = ", ".join(_VALUES)
    plain_sql = (
        f"INSERT INTO backtests_candle (symbol, timeframe, ts, {columns}) "
        f"SELECT %s, %s, ts, {columns} FROM {_STAGE}"
    )
    # xmax = 0 only on a freshly inserted row version; an updated one carries our xid.
    upsert_sql = (
        f"WITH up AS (INSERT INTO backtests_candle AS c (symbol, timeframe, ts, {columns}) "
        f"SELECT %s, %s, ts, {columns} FROM {_STAGE} WHERE ts BETWEEN %s AND %s "
        f"{_on_conflict_update(stored='c', differs='IS DISTINCT FROM')} "
        "RETURNING (xmax = 0) AS inserted) "
        "SELECT count(*) FILTER (WHERE inserted), count(*) FILTER (WHERE NOT inserted) FROM up"
    )
    inserted = updated = 0
    us = (ts - PG_EPOCH_MS) * 1000  # timestamptz on the wire: µs since 2000-01-01
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT min(ts), max(ts) FROM backtests_candle WHERE symbol = %s AND timeframe = %s",
            [symbol, timeframe],
        )
        lo, hi = cursor.fetchone()
        lo_ms = None if lo is None else datetime_to_ms(lo)
        hi_ms = None if hi is None else datetime_to_ms(hi)
        cursor.execute(
            f"CREATE TEMP TABLE {_STAGE} (ts timestamptz NOT NULL, open float8 NOT NULL, "
            "high float8 NOT NULL, low float8 NOT NULL, close float8 NOT NULL, volume float8 NOT NULL) "
            "ON COMMIT DROP"
        )
        for at in range(0, ts.shape[0], CHUNK_ROWS):
            part = slice(at, at + CHUNK_ROWS)
            if at:
                cursor.execute(f"TRUNCATE {_STAGE}")
            stream = copy_binary_encode([us[part], *(v[part] for v in values)], ["i8"] + ["f8"] * 5)
            with cursor.cursor.copy(f"COPY {_STAGE} FROM STDIN (FORMAT BINARY)") as copy:
                copy.write(stream)
            chunk = ts[part]
            overlap = 0 if lo_ms is None else int(np.count_nonzero((chunk >= lo_ms) & (chunk <= hi_ms)))
            if lo_ms is None:
                cursor.execute(plain_sql, [symbol, timeframe])
                inserted += cursor.rowcount
            elif overlap < chunk.shape[0]:
                cursor.execute(
                    f"{plain_sql} WHERE ts < %s OR ts > %s",
                    [symbol, timeframe, ms_to_datetime(lo_ms), ms_to_datetime(hi_ms)],
                )
                inserted += cursor.rowcount
            if overlap:
                cursor.execute(upsert_sql, [symbol, timeframe, ms_to_datetime(lo_ms), ms_to_datetime(hi_ms)])
                new, changed_rows = cursor.fetchone()
                inserted += new
                updated += changed_rows
            bar.update(chunk.shape[0])
        cursor.execute(f"DROP TABLE {_STAGE}")
    return inserted, updated


def _upsert_generic(symbol, timeframe, ts, values, bar) -> tuple[int, int]:
    """Portable path (SQLite): one executemany upsert per chunk. Timestamps are written
    as Django writes them on SQLite (naive UTC text, 'YYYY-MM-DD HH:MM:SS'); bars are on
    a minute grid, so there is never a fraction of a second."""
    table = Candle._meta.db_table
    columns = ", ".join(_VALUES)
    sql = (
        f"INSERT INTO {table} (symbol, timeframe, ts, {columns}) VALUES (%s, %s, %s, %s, %s, %s, %s, %s) "
        + _on_conflict_update(stored=table, differs="IS NOT")
    )
    stamps = np.char.replace(np.datetime_as_string(ts.astype("datetime64[ms]"), unit="s"), "T", " ")
    before = Candle.objects.filter(symbol=symbol, timeframe=timeframe).count()
    touched = 0
    with connection.cursor() as cursor:
        for at in range(0, ts.shape[0], CHUNK_ROWS):
            part = slice(at, at + CHUNK_ROWS)
            n = stamps[part].shape[0]
            params = list(
                zip(
                    [symbol] * n,
                    [timeframe] * n,
                    stamps[part].tolist(),
                    *(v[part].tolist() for v in values),
                    strict=True,
                )
            )
            cursor.executemany(sql, params)
            touched += max(cursor.rowcount, 0)
            bar.update(n)
    inserted = Candle.objects.filter(symbol=symbol, timeframe=timeframe).count() - before
    return inserted, touched - inserted


def _coverage_of(series: CandleSeries) -> Coverage:
    """The stored coverage record as a ``Coverage``."""
    return Coverage(
        rows=series.row_count,
        first_ms=None if series.first_ts is None else datetime_to_ms(series.first_ts),
        last_ms=None if series.last_ts is None else datetime_to_ms(series.last_ts),
        zero_volume=series.zero_volume_count,
        gap_count=series.gap_count,
        missing_bars=series.missing_bars,
        gaps=list(series.gaps),
    )


def _rollups_invalidate(symbol: str, timeframe: str, *, from_ms: int) -> None:
    """Move the rollups of the series back to the first bucket this load wrote into."""
    for rollup in CandleRollup.objects.filter(symbol=symbol, source_timeframe=timeframe):
        width = timeframe_ms(rollup.timeframe)
        bucket = ms_to_datetime(from_ms - from_ms % width)
        if rollup.materialized_to is not None and rollup.materialized_to > bucket:
            CandleRollup.objects.filter(pk=rollup.pk).update(materialized_to=bucket)


def _coverage_update(
    series: CandleSeries,
    *,
    source: str,
    inserted: int,
    updated: int,
    rejected: int,
    appended: tuple[np.ndarray, np.ndarray] | None = None,
) -> None:
    """Recompute the series' coverage record from the table, or, when the load only
    ``appended`` bars (ts, volume) after the stored ones, extend the record with them."""
    step = timeframe_ms(series.timeframe)
    if appended is not None:
        cov = coverage_extend(
            _coverage_of(series), *appended, step_ms=step, gaps_max=CandleSeries.GAPS_STORED_MAX
        )
    else:
        cov = _coverage_scan(series, step)
    _coverage_store(series, cov)
    series.loaded_at = timezone.now()
    series.source = source[:1000]
    series.load_version += 1
    series.last_inserted = inserted
    series.last_updated = updated
    series.last_rejected = rejected
    series.save()


def coverage_refresh(series: CandleSeries) -> None:
    """Recompute a series' coverage from the table after rows went some other way than
    a load (retention dropped chunks), and retire its cached reads."""
    _coverage_store(series, _coverage_scan(series, timeframe_ms(series.timeframe)))
    series.load_version += 1
    series.save()


def _coverage_scan(series: CandleSeries, step: int) -> Coverage:
    if connection.vendor == "postgresql":
        rec = copy_out(
            "SELECT ts, volume FROM backtests_candle WHERE symbol = %s AND timeframe = %s ORDER BY ts",
            [series.symbol, series.timeframe],
            ["i8", "f8"],
        )
        ts = rec["f0"] // 1000 + PG_EPOCH_MS
        volume = rec["f1"].astype(np.float64)
    else:
        rows = Candle.objects.filter(symbol=series.symbol, timeframe=series.timeframe).order_by("ts")
        block = orm_rows_block(list(rows.values_list("ts", "volume")), ("ts", "volume"))
        ts, volume = block[0].view(np.int64), block[1]
    return coverage_compute(ts, volume, step_ms=step, gaps_max=CandleSeries.GAPS_STORED_MAX)


def _coverage_store(series: CandleSeries, cov: Coverage) -> None:
    series.first_ts = None if cov.first_ms is None else ms_to_datetime(cov.first_ms)
    series.last_ts = None if cov.last_ms is None else ms_to_datetime(cov.last_ms)
    series.row_count = cov.rows
    series.gap_count = cov.gap_count
    series.missing_bars = cov.missing_bars
    series.gaps = cov.gaps
    series.zero_volume_count = cov.zero_volume

"""Reading stored candles into numpy arrays: ``candles_load``.

On PostgreSQL the rows come through ``COPY (SELECT …) TO STDOUT (FORMAT BINARY)``.
Every column is NOT NULL and 8 bytes wide, so each row has the same layout (an int16
field count, then per field an int32 length and 8 big-endian bytes) and a numpy
structured dtype reads the whole buffer at once after the 19-byte header. A
``timestamptz`` is int64 microseconds since 2000-01-01 UTC. Elsewhere (SQLite) the
ORM's ``values_list`` is used.

Results are cached in Redis through django-redis (its client and key function, so
KEY_PREFIX, VERSION and TIMEOUT apply) as raw bytes, never pickled: the six columns back
to back (ts as int64, then open … volume as float64, little-endian), cut into 1 MiB
values ``{key}:0``, ``{key}:1`` … and a header value ``{key}`` (magic, rows, chunks)
written last. A read fetches the header, then every chunk with one MGET, straight into
the arrays' buffer; a missing chunk is a miss. Chunks, rather than one 48 MB value,
because redis-py copies a value several times while parsing it and small copies stay
in the CPU cache: a million rows come back in about half the time. With another cache
backend (local memory on SQLite) the same bytes are stored as one value.

The key holds the coverage row's id and ``load_version`` (bumped by every load), the
source and requested timeframes and the range, so a reload makes new keys and stale
entries simply expire.

With a live source configured (``LIVE_REDIS_URL``), a read whose range reaches past the
stored series' last bar also takes the live Redis's closed bars: the database serves
the range up to the first live bar's bucket (cached as above), and from there the
stored and the live bars are merged, the database winning on a shared timestamp
(``merge.merge_db_wins``), then resampled when a coarser timeframe was asked for. The
result's ``sources`` says which ranges came from where; the live part is never cached.
"""

from __future__ import annotations

import logging
import struct
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

import numpy as np
import pandas as pd
from django.core.cache import cache
from django.db import DatabaseError, connection

from marketdata import metrics
from marketdata.coverage import ms_iso
from marketdata.live import SOURCE_NAME as LIVE_SOURCE_NAME
from marketdata.live import LiveBars, LiveUnavailable, live_bars, live_source
from marketdata.merge import FROM_DB, bucket_origin, merge_db_wins, source_ranges
from marketdata.models import Candle, CandleRollup, CandleSeries
from marketdata.parse import CandleFileError
from marketdata.resample import edges_trim, ohlcv_resample, range_align
from marketdata.timeframes import (
    TIMEFRAME_MINUTES,
    timeframe_divides,
    timeframe_ms,
    timeframe_parse,
)

logger = logging.getLogger(__name__)

PG_EPOCH_MS = 946_684_800_000  # 2000-01-01T00:00:00Z, PostgreSQL's timestamp origin
COPY_SIGNATURE = b"PGCOPY\n\xff\r\n\x00"
COPY_HEADER = COPY_SIGNATURE + bytes(8)  # flags (int32) = 0, header extension length (int32) = 0
COPY_TRAILER = b"\xff\xff"  # field count -1
_CACHE_MAGIC = b"CANDLES1"
CACHE_KEY_PREFIX = "candles:v1"


class NoCandles(LookupError):
    """No stored candles for the requested series and range; the message says what is stored."""


@dataclass(frozen=True, eq=False)
class Candles:
    """n bars of one series, as contiguous numpy arrays.

    ts: int64 epoch ms (UTC, bar open time, strictly increasing); open, high, low,
    close, volume: float64. The arrays are writable and owned by this object (they are
    not shared with the cache). ``sources``: ``{"ranges": [{"source", "first", "last",
    "bars"}, …]}`` (see ``merge.source_ranges``), plus ``"live"`` (the key, the bars it
    gave, the rows it had that were invalid or still forming, or the error that kept
    it out) when the live source was consulted.
    """

    symbol: str
    timeframe: str
    ts: np.ndarray
    open: np.ndarray
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    volume: np.ndarray
    sources: dict = field(default_factory=dict)

    def __len__(self) -> int:
        return int(self.ts.shape[0])

    @classmethod
    def from_block(
        cls, symbol: str, timeframe: str, block: np.ndarray, sources: dict | None = None
    ) -> Candles:
        """From a C-contiguous float64 block of shape (6, n) whose row 0 holds int64 ts bits;
        ``sources`` defaults to the whole block coming from the database."""
        ts = block[0].view(np.int64)
        if sources is None:
            sources = {"ranges": source_ranges(ts, np.full(ts.shape[0], FROM_DB, dtype=np.int8))}
        return cls(symbol, timeframe, ts, block[1], block[2], block[3], block[4], block[5], sources)

    def to_bytes(self) -> bytes:
        """The cache encoding: magic, int64 n (little-endian), then ts, open … volume."""
        block = np.empty((6, len(self)), dtype="<f8")
        block[0].view("<i8")[:] = self.ts
        for i, col in enumerate((self.open, self.high, self.low, self.close, self.volume), start=1):
            block[i] = col
        return _block_bytes(block)

    @classmethod
    def from_bytes(cls, symbol: str, timeframe: str, blob: bytes) -> Candles:
        """The inverse of ``to_bytes`` (the arrays are copied, so they are writable)."""
        return cls.from_block(symbol, timeframe, _block_from_bytes(blob))


def _block_bytes(block: np.ndarray) -> bytes:
    """The one-value encoding of a (6, n) block (see ``Candles.to_bytes``)."""
    data = np.ascontiguousarray(block, dtype="<f8").tobytes()
    return _CACHE_MAGIC + struct.pack("<q", block.shape[1]) + data


def _block_from_bytes(blob: bytes) -> np.ndarray:
    if blob[:8] != _CACHE_MAGIC:
        raise ValueError("not a cached candles blob")
    (n,) = struct.unpack_from("<q", blob, 8)
    return np.frombuffer(blob, dtype="<f8", count=6 * n, offset=16).reshape(6, n).copy()


# --- Public entry point ------------------------------------------------------------


def candles_load(
    symbol: str,
    timeframe: str,
    start: datetime | date | str | int | None = None,
    end: datetime | date | str | int | None = None,
) -> Candles:
    """The ``symbol`` bars of ``timeframe`` with ``start <= ts < end`` (UTC).

    ``start`` is inclusive and ``end`` exclusive; each may be None (open), an aware
    datetime, a naive datetime or ISO 8601 text (read as UTC), a date (00:00 UTC that
    day) or int epoch milliseconds.

    When ``timeframe`` itself is stored it is read as is. Otherwise the finest stored
    timeframe that divides it is resampled (``time_bucket`` on TimescaleDB, numpy
    elsewhere; see ``resample`` for the edge rules). With a live source, a range that
    reaches past the stored bars takes the live closed bars too (see the module doc).
    Raises ``NoCandles`` when nothing matches, with a message saying what is stored;
    ``ValueError`` for a bad argument. Every read is observed in the candle-read
    metrics (source, bars, seconds).
    """
    started = time.perf_counter()
    candles, source = _candles_read(symbol, timeframe, start, end)
    metrics.candles_read(source, len(candles), time.perf_counter() - started)
    return candles


def _candles_read(symbol: str, timeframe: str, start, end) -> tuple[Candles, str]:
    """``candles_load``'s work; also says where the bars came from: cache, database,
    resampled or hybrid (with the live source; the candle-read metrics' ``source``)."""
    tf = timeframe_parse(timeframe)
    start_ms = _to_ms(start, "start")
    end_ms = _to_ms(end, "end")
    if start_ms is not None and end_ms is not None and start_ms >= end_ms:
        raise ValueError(f"start {ms_iso(start_ms)} is not before end {ms_iso(end_ms)} (end is exclusive)")
    stored = list(CandleSeries.objects.filter(symbol=symbol, row_count__gt=0).defer("gaps", "source"))
    source = _source_pick(stored, tf)
    live_tf = source.timeframe if source is not None else tf
    live, live_note = _live_read(symbol, live_tf, source, tf, start_ms, end_ms)
    if live is not None and live_note is not None and len(live):
        block, origin = _hybrid_read(symbol, source, tf, live, start_ms, end_ms)
        if block.shape[1]:
            live_note["bars"] = int(np.count_nonzero(origin != FROM_DB))
            sources = {"ranges": source_ranges(block[0].view(np.int64), origin), "live": live_note}
            return Candles.from_block(symbol, tf, block, sources), "hybrid"
    if source is None:
        raise NoCandles(_no_candles_message(symbol, tf, start_ms, end_ms, stored))
    block, how = _stored_read(source, symbol, tf, start_ms, end_ms)
    if block.shape[1] == 0:
        raise NoCandles(_no_candles_message(symbol, tf, start_ms, end_ms, stored))
    candles = Candles.from_block(symbol, tf, block)
    if live_note is not None:
        candles.sources["live"] = live_note
    return candles, how


def _stored_read(
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
    cached = _cache_get(key)
    if cached is not None:
        return cached, "cache"
    if source.timeframe == tf:
        block, how = _series_read(symbol, tf, start_ms, end_ms), "database"
    else:
        block = _series_resample(symbol, source.timeframe, tf, start_ms, end_ms, trim_last=trim_last)
        how = "resampled"
    if block.shape[1]:
        _cache_set(key, block)
    return block, how


def _live_read(  # noqa: PLR0917
    symbol: str,
    live_tf: str,
    source: CandleSeries | None,
    tf: str,
    start_ms: int | None,
    end_ms: int | None,
) -> tuple[LiveBars | None, dict | None]:
    """The live source's closed bars of ``live_tf`` inside the (bucket-aligned) range,
    when a live source is configured and the range reaches past the stored bars;
    with a note for ``Candles.sources``. An outage or an unreadable key is logged and
    noted, and the read goes on from the database alone."""
    live = live_source()
    if live is None:
        return None, None
    stored_end = None if source is None or source.last_ts is None else _dt_ms(source.last_ts)
    if stored_end is not None and end_ms is not None and end_ms <= stored_end + timeframe_ms(live_tf):
        return None, None  # the stored bars cover the whole range
    try:
        bars = live_bars(live, symbol, live_tf)
    except (LiveUnavailable, CandleFileError) as exc:
        logger.warning("reading %s %s without the live source: %s", symbol, tf, exc)
        return None, {"source": LIVE_SOURCE_NAME, "error": str(exc)}
    note = {
        "source": LIVE_SOURCE_NAME,
        "key": bars.key,
        "bars": 0,
        "rejected": bars.report.invalid,
        "unclosed": bars.unclosed,
    }
    lo, hi = start_ms, end_ms
    if live_tf != tf:
        lo, hi = range_align(start_ms, end_ms, width_ms=timeframe_ms(tf))
    keep = np.ones(len(bars), dtype=bool)
    if lo is not None:
        keep &= bars.ts >= lo
    if hi is not None:
        keep &= bars.ts < hi
    if keep.all():
        return bars, note
    return _live_subset(bars, keep), note


def _live_subset(bars: LiveBars, keep: np.ndarray) -> LiveBars:
    names = ("ts", "open", "high", "low", "close", "volume")
    return LiveBars(
        key=bars.key, report=bars.report, unclosed=bars.unclosed, **{n: getattr(bars, n)[keep] for n in names}
    )


def _hybrid_read(  # noqa: PLR0917
    symbol: str,
    source: CandleSeries | None,
    tf: str,
    live: LiveBars,
    start_ms: int | None,
    end_ms: int | None,
) -> tuple[np.ndarray, np.ndarray]:
    """Stored and live bars of ``tf`` as one block, with each bar's origin.

    The stored bars serve ``[start, split)``, ``split`` being the bucket of the first
    live bar; from ``split`` on, the stored and live source bars are merged (the
    database winning) and resampled when ``tf`` is coarser. Cutting at a bucket
    boundary, and trimming the head only at its start and the tail only at its end,
    gives the very bars a read of the union would give.
    """
    live_tf = source.timeframe if source is not None else tf
    width = timeframe_ms(tf)
    if live_tf != tf:
        start_ms, end_ms = range_align(start_ms, end_ms, width_ms=width)
    first_live = int(live.ts[0])
    split = first_live - first_live % width
    if start_ms is not None:
        split = max(split, start_ms)
    empty = np.empty((6, 0), dtype=np.float64)
    head = empty
    if source is not None and (start_ms is None or start_ms < split):
        head, _ = _stored_read(source, symbol, tf, start_ms, split, trim_last=False)
    stored_tail = empty if source is None else _series_read(symbol, live_tf, split, end_ms)
    live_block = np.empty((6, len(live)), dtype=np.float64)
    live_block[0].view(np.int64)[:] = live.ts
    for i, name in enumerate(("open", "high", "low", "close", "volume"), start=1):
        live_block[i] = getattr(live, name)
    tail, origin = merge_db_wins(stored_tail, live_block)
    if live_tf != tf:
        ts = tail[0].view(np.int64)
        *cols, count = ohlcv_resample(
            ts=ts, open_=tail[1], high=tail[2], low=tail[3], close=tail[4], volume=tail[5], width_ms=width
        )
        origin = bucket_origin(ts, origin, width_ms=width)
        tail = np.empty((6, cols[0].shape[0]), dtype=np.float64)
        tail[0].view(np.int64)[:] = cols[0]
        for i, col in enumerate(cols[1:], start=1):
            tail[i] = col
        keep = edges_trim(count, per_bucket=width // timeframe_ms(live_tf), first=head.shape[1] == 0)
        tail, origin = tail[:, keep], origin[keep]
    block = np.concatenate([head, tail], axis=1)
    origin = np.concatenate([np.full(head.shape[1], FROM_DB, dtype=np.int8), origin])
    return np.ascontiguousarray(block), origin


def cache_key(series: CandleSeries, timeframe: str, start_ms: int | None, end_ms: int | None) -> str:
    """The cache key of one read: changes with every load of the source series."""
    lo = "-" if start_ms is None else str(start_ms)
    hi = "-" if end_ms is None else str(end_ms)
    return (
        f"{CACHE_KEY_PREFIX}:{series.symbol}:{timeframe}:from-{series.timeframe}:"
        f"{series.pk}.{series.load_version}:{lo}:{hi}"
    )


# --- Choosing the source series ----------------------------------------------------


def _source_pick(stored: list[CandleSeries], timeframe: str) -> CandleSeries | None:
    by_tf = {s.timeframe: s for s in stored if s.timeframe in TIMEFRAME_MINUTES}
    if timeframe in by_tf:
        return by_tf[timeframe]
    dividing = [tf for tf in by_tf if timeframe_divides(tf, timeframe)]
    if not dividing:
        return None
    return by_tf[min(dividing, key=lambda tf: TIMEFRAME_MINUTES[tf])]


def _no_candles_message(
    symbol: str, timeframe: str, start_ms: int | None, end_ms: int | None, stored: list[CandleSeries]
) -> str:
    if start_ms is not None and end_ms is not None:
        span = f"between {ms_iso(start_ms)} and {ms_iso(end_ms)}"
    elif start_ms is not None:
        span = f"from {ms_iso(start_ms)} on"
    elif end_ms is not None:
        span = f"before {ms_iso(end_ms)}"
    else:
        span = "at all"
    if not stored:
        return (
            f"no {symbol} {timeframe} candles {span}; stored: nothing for {symbol} "
            f"(load some with `manage.py load_candles FILE --symbol {symbol} --timeframe {timeframe}`)"
        )
    listed = ", ".join(
        f"{s.timeframe} from {ms_iso(_dt_ms(s.first_ts))} to {ms_iso(_dt_ms(s.last_ts))}"
        for s in sorted(stored, key=lambda s: TIMEFRAME_MINUTES.get(s.timeframe, 0))
    )
    note = ""
    if _source_pick(stored, timeframe) is None:
        note = f" (none of these can make {timeframe}: a stored timeframe must divide it)"
    return f"no {symbol} {timeframe} candles {span}; stored: {listed}{note}"


# --- Reading -----------------------------------------------------------------------

_SELECT = (
    "SELECT ts, open, high, low, close, volume FROM backtests_candle WHERE symbol = %s AND timeframe = %s"
)


def _range_sql(start_ms: int | None, end_ms: int | None, *, column: str = "ts") -> tuple[str, list]:
    sql, params = "", []
    if start_ms is not None:
        sql += f" AND {column} >= %s"
        params.append(_ms_dt(start_ms))
    if end_ms is not None:
        sql += f" AND {column} < %s"
        params.append(_ms_dt(end_ms))
    return sql, params


def _series_read(symbol: str, timeframe: str, start_ms: int | None, end_ms: int | None) -> np.ndarray:
    """A (6, n) float64 block (row 0: int64 ts bits) of stored bars, ordered by ts."""
    if connection.vendor == "postgresql":
        where, params = _range_sql(start_ms, end_ms)
        rec = copy_out(f"{_SELECT}{where} ORDER BY ts", [symbol, timeframe, *params], ["i8"] + ["f8"] * 5)
        return _block_from_records(rec, 6)
    qs = Candle.objects.filter(symbol=symbol, timeframe=timeframe)
    if start_ms is not None:
        qs = qs.filter(ts__gte=_ms_dt(start_ms))
    if end_ms is not None:
        qs = qs.filter(ts__lt=_ms_dt(end_ms))
    names = ("ts", "open", "high", "low", "close", "volume")
    return orm_rows_block(list(qs.order_by("ts").values_list(*names)), names)


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


def _series_resample(
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
        block = _block_from_records(rec, 6)
        count = rec["f6"].astype(np.int64)
    else:
        bars = _series_read(symbol, source_tf, start_ms, end_ms)
        ts, o, h, lo, c, v, count = ohlcv_resample(
            ts=bars[0].view(np.int64),
            open_=bars[1],
            high=bars[2],
            low=bars[3],
            close=bars[4],
            volume=bars[5],
            width_ms=width,
        )
        block = np.empty((6, ts.shape[0]), dtype=np.float64)
        block[0].view(np.int64)[:] = ts
        for i, col in enumerate((o, h, lo, c, v), start=1):
            block[i] = col
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
        where, params = _range_sql(start_ms, end_ms, column="bucket")
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
    if watermark is not None and (start_ms is None or start_ms < _dt_ms(watermark)):
        upto = _dt_ms(watermark) if end_ms is None else min(end_ms, _dt_ms(watermark))
        where, params = _range_sql(start_ms, upto)
        sql = (
            "SELECT ts, open, high, low, close, volume, bars::int8 FROM marketdata_rollupcandle "
            f"WHERE symbol = %s AND timeframe = %s AND source_timeframe = %s{where} ORDER BY ts"
        )
        parts.append(copy_out(sql, [symbol, timeframe, source_tf, *params], _BUCKET_KINDS))
        start_ms = upto
    if end_ms is None or start_ms is None or start_ms < end_ms:
        where, params = _range_sql(start_ms, end_ms)
        sql = (
            "SELECT time_bucket(%s::interval, ts) AS bucket, first(open, ts), max(high), min(low), "
            "last(close, ts), sum(volume), count(*) FROM backtests_candle "
            f"WHERE symbol = %s AND timeframe = %s{where} GROUP BY bucket ORDER BY bucket"
        )
        parts.append(copy_out(sql, [f"{width // 60_000} minutes", symbol, source_tf, *params], _BUCKET_KINDS))
    return np.concatenate(parts) if len(parts) > 1 else parts[0]


# --- COPY BINARY -------------------------------------------------------------------


def copy_binary_dtype(kinds: Sequence[str]) -> np.dtype:
    """The packed row dtype of a binary COPY whose fields are all 8 bytes wide.

    ``kinds``: ``'i8'`` (int8, timestamptz) or ``'f8'`` (float8) per field. Fields are
    named ``n`` (the int16 field count), ``len{i}`` (int32) and ``f{i}`` (the value),
    all big-endian as on the wire.
    """
    fields = [("n", ">i2")]
    for i, kind in enumerate(kinds):
        fields += [(f"len{i}", ">i4"), (f"f{i}", f">{kind}")]
    return np.dtype(fields)


def copy_binary_encode(columns: Sequence[np.ndarray], kinds: Sequence[str]) -> bytes:
    """A complete binary COPY stream (header, rows, trailer) of equally long columns."""
    rec = np.empty(columns[0].shape[0], dtype=copy_binary_dtype(kinds))
    rec["n"] = len(kinds)
    for i, col in enumerate(columns):
        rec[f"len{i}"] = 8
        rec[f"f{i}"] = col
    return COPY_HEADER + rec.tobytes() + COPY_TRAILER


def copy_binary_decode(buffer: bytes | bytearray | memoryview, kinds: Sequence[str]) -> np.ndarray:
    """The rows of a binary COPY stream as a structured array (a view over ``buffer``).

    Raises ``ValueError`` if the stream is not binary COPY, or if a row is not made of
    ``len(kinds)`` non-NULL 8-byte fields.
    """
    dtype = copy_binary_dtype(kinds)
    view = memoryview(buffer)
    if bytes(view[:11]) != COPY_SIGNATURE:
        raise ValueError("not a binary COPY stream (bad signature)")
    (extension,) = struct.unpack_from(">i", view, 15)
    body = len(view) - 19 - extension - len(COPY_TRAILER)
    if body < 0 or bytes(view[-2:]) != COPY_TRAILER or body % dtype.itemsize:
        raise ValueError(
            f"binary COPY stream of {len(view)} bytes is not whole rows of {dtype.itemsize} bytes "
            f"({len(kinds)} fields of 8 bytes)"
        )
    rows = body // dtype.itemsize
    rec = np.frombuffer(view, dtype=dtype, count=rows, offset=19 + extension)
    # One pass over the framing fields only (field count, lengths), compared as a record.
    names = ["n", *(f"len{i}" for i in range(len(kinds)))]
    framing = np.dtype(
        {
            "names": names,
            "formats": [dtype.fields[name][0] for name in names],
            "offsets": [dtype.fields[name][1] for name in names],
            "itemsize": dtype.itemsize,
        }
    )
    expected = np.array([(len(kinds), *([8] * len(kinds)))], dtype=framing)
    if rows and not (np.frombuffer(view, dtype=framing, count=rows, offset=19 + extension) == expected).all():
        raise ValueError(f"binary COPY rows are not {len(kinds)} non-NULL 8-byte fields")
    return rec


def copy_out(sql: str, params: Sequence, kinds: Sequence[str]) -> np.ndarray:
    """Run ``COPY (sql) TO STDOUT (FORMAT BINARY)`` on Django's connection and decode it.

    ``sql`` must select ``len(kinds)`` NOT NULL 8-byte columns. Returns the structured
    array of ``copy_binary_decode``.
    """
    with connection.cursor() as wrapper:
        cursor = wrapper.cursor  # the psycopg cursor under Django's wrapper
        pgconn = cursor.connection.pgconn
        buffer = bytearray()
        with (
            connection.wrap_database_errors,
            cursor.copy(f"COPY ({sql}) TO STDOUT (FORMAT BINARY)", params) as copy,
        ):
            # psycopg's Copy.read() costs some 3 µs a row in its non-blocking wait loop,
            # three seconds for a million rows; a blocking libpq loop costs a tenth of
            # that. The loop stops at the binary trailer and hands the end of the COPY
            # (and its final result) back to psycopg.
            get_copy_data = pgconn.get_copy_data
            header_and_trailer = len(COPY_HEADER) + 2
            while True:
                nbytes, data = get_copy_data(0)
                if nbytes <= 0:
                    _copy_out_failed(pgconn)
                buffer += data
                # The trailer comes alone, or right after the header when no row matched.
                # (Tested on nbytes first: this runs once per row, a million times a read.)
                if nbytes == 2 and data == COPY_TRAILER:
                    break
                if (
                    nbytes == header_and_trailer
                    and len(buffer) == nbytes
                    and bytes(data[-2:]) == COPY_TRAILER
                ):
                    break
            if copy.read():
                raise DatabaseError("COPY sent data after its binary trailer")
    return copy_binary_decode(buffer, kinds)


def _copy_out_failed(pgconn) -> None:
    """The COPY ended without its trailer: the server sent an error. Collect the final
    results here so psycopg does not ask libpq for more copy data, and raise."""
    from psycopg import errors
    from psycopg.pq import ExecStatus

    error = None
    while (result := pgconn.get_result()) is not None:
        if error is None and result.status != ExecStatus.COMMAND_OK:
            error = errors.error_from_result(result)
    raise error or DatabaseError("COPY ended without its binary trailer")


def _block_from_records(rec: np.ndarray, width: int) -> np.ndarray:
    """(6, n) float64 block from decoded rows: field 0 timestamptz → int64 ms, 1..5 floats."""
    block = np.empty((width, rec.shape[0]), dtype=np.float64)
    block[0].view(np.int64)[:] = rec["f0"] // 1000 + PG_EPOCH_MS
    for i in range(1, width):
        block[i] = rec[f"f{i}"]
    return block


# --- Small helpers -----------------------------------------------------------------


CACHE_CHUNK_BYTES = 1 << 20


def _redis_client():
    """django-redis's raw redis client, or None with another cache backend."""
    get_client = getattr(getattr(cache, "client", None), "get_client", None)
    return get_client(write=True) if get_client is not None else None


def _cache_get(key: str) -> np.ndarray | None:
    """The cached (6, n) block of ``key``, or None on a miss (or a cache outage)."""
    try:
        client = _redis_client()
        if client is None:
            blob = cache.get(key)
            return None if blob is None else _block_from_bytes(blob)
        name = cache.make_key(key)
        header = client.get(name)
        if header is None or header[:8] != _CACHE_MAGIC:
            return None
        n, chunks = struct.unpack_from("<qq", header, 8)
        parts = client.mget([f"{name}:{i}" for i in range(chunks)]) if chunks else []
        if any(part is None for part in parts):
            return None  # a chunk expired or was evicted: read the database again
        block = np.empty((6, n), dtype="<f8")
        flat = block.reshape(-1).view(np.uint8)
        at = 0
        for part in parts:
            flat[at : at + len(part)] = np.frombuffer(part, dtype=np.uint8)
            at += len(part)
        return block if at == flat.shape[0] else None
    except Exception:  # a cache outage must not stop a backtest: read the database
        logger.warning("candle cache read failed for %s", key, exc_info=True)
        return None


def _cache_set(key: str, block: np.ndarray) -> None:
    try:
        client = _redis_client()
        if client is None:
            cache.set(key, _block_bytes(block))
            return
        name = cache.make_key(key)
        data = memoryview(np.ascontiguousarray(block, dtype="<f8").reshape(-1).view(np.uint8))
        chunks = -(-len(data) // CACHE_CHUNK_BYTES)
        timeout = cache.default_timeout
        pipe = client.pipeline(transaction=False)
        for i in range(chunks):
            pipe.set(f"{name}:{i}", data[i * CACHE_CHUNK_BYTES : (i + 1) * CACHE_CHUNK_BYTES], ex=timeout)
        # The header last: a reader that finds it finds the chunks too.
        pipe.set(name, _CACHE_MAGIC + struct.pack("<qq", block.shape[1], chunks), ex=timeout)
        pipe.execute()
    except Exception:
        logger.warning("candle cache write failed for %s", key, exc_info=True)


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _ms_dt(ms: int) -> datetime:
    return _EPOCH + timedelta(milliseconds=int(ms))


def _dt_ms(value: datetime | None) -> int:
    return 0 if value is None else round(value.timestamp() * 1000)


def _to_ms(value, name: str) -> int | None:
    """``value`` (see ``candles_load``) as int epoch ms, or None."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise ValueError(f"{name} must be a date, a datetime, ISO 8601 text or epoch ms, got {value!r}")
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, date) and not isinstance(value, datetime):
        value = datetime(value.year, value.month, value.day, tzinfo=UTC)
    if isinstance(value, str):
        try:
            value = pd.Timestamp(value.strip())
        except ValueError:
            raise ValueError(f"{name} {value!r} is not an ISO 8601 date or time") from None
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return round(value.timestamp() * 1000)
    raise ValueError(
        f"{name} must be a date, a datetime, ISO 8601 text or epoch ms, got {type(value).__name__}"
    )

"""Reading stored candles into numpy arrays: ``candles_load``.

A read picks the stored series that serves the requested timeframe (the timeframe
itself, or the finest stored one that divides it), reads its bars through the cache
(``read_stored``, ``read_cache``; binary COPY on PostgreSQL, ``pgcopy``) and, with a
live source configured, takes the live Redis's closed bars past the stored ones
(``read_live``). The result's ``sources`` says which ranges came from where.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

import numpy as np
import pandas as pd

from engine.bars import BarColumns
from engine.timestamps import datetime_to_ms, ms_iso
from marketdata import metrics
from marketdata.merge import FROM_DB, bars_block, source_ranges
from marketdata.models import CandleSeries
from marketdata.read_cache import block_bytes, block_from_bytes
from marketdata.read_live import hybrid_read, live_read
from marketdata.read_stored import stored_read
from marketdata.timeframes import TIMEFRAME_MINUTES, timeframe_divides, timeframe_parse


class NoCandles(LookupError):
    """No stored candles for the requested series and range; the message says what is stored."""


@dataclass(frozen=True, eq=False)
class Candles(BarColumns):
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
    sources: dict = field(default_factory=dict)

    @classmethod
    def from_block(
        cls, symbol: str, timeframe: str, block: np.ndarray, sources: dict | None = None
    ) -> Candles:
        """From a C-contiguous float64 block of shape (6, n) whose row 0 holds int64 ts bits;
        ``sources`` defaults to the whole block coming from the database."""
        ts = block[0].view(np.int64)
        if sources is None:
            sources = {"ranges": source_ranges(ts, np.full(ts.shape[0], FROM_DB, dtype=np.int8))}
        return cls(*(ts, *block[1:6]), symbol=symbol, timeframe=timeframe, sources=sources)

    def to_bytes(self) -> bytes:
        """The cache encoding: magic, int64 n (little-endian), then ts, open … volume."""
        return block_bytes(bars_block(self))

    @classmethod
    def from_bytes(cls, symbol: str, timeframe: str, blob: bytes) -> Candles:
        """The inverse of ``to_bytes`` (the arrays are copied, so they are writable)."""
        return cls.from_block(symbol, timeframe, block_from_bytes(blob))


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
    live, live_note = live_read(symbol, live_tf, source, tf, start_ms, end_ms)
    if live is not None and live_note is not None and len(live):
        block, origin = hybrid_read(symbol, source, tf, live, start_ms, end_ms)
        if block.shape[1]:
            live_note["bars"] = int(np.count_nonzero(origin != FROM_DB))
            sources = {"ranges": source_ranges(block[0].view(np.int64), origin), "live": live_note}
            return Candles.from_block(symbol, tf, block, sources), "hybrid"
    if source is None:
        raise NoCandles(_no_candles_message(symbol, tf, start_ms, end_ms, stored))
    block, how = stored_read(source, symbol, tf, start_ms, end_ms)
    if block.shape[1] == 0:
        raise NoCandles(_no_candles_message(symbol, tf, start_ms, end_ms, stored))
    candles = Candles.from_block(symbol, tf, block)
    if live_note is not None:
        candles.sources["live"] = live_note
    return candles, how


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
        f"{s.timeframe} from {ms_iso(datetime_to_ms(s.first_ts))} to {ms_iso(datetime_to_ms(s.last_ts))}"
        for s in sorted(stored, key=lambda s: TIMEFRAME_MINUTES.get(s.timeframe, 0))
    )
    note = ""
    if _source_pick(stored, timeframe) is None:
        note = f" (none of these can make {timeframe}: a stored timeframe must divide it)"
    return f"no {symbol} {timeframe} candles {span}; stored: {listed}{note}"


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
        return datetime_to_ms(value)
    raise ValueError(
        f"{name} must be a date, a datetime, ISO 8601 text or epoch ms, got {type(value).__name__}"
    )

"""The live source's part of a read: its closed bars in the range, merged with the stored ones.

With a live source configured (``LIVE_REDIS_URL``), a read whose range reaches past the
stored series' last bar also takes the live Redis's closed bars: the database serves
the range up to the first live bar's bucket (cached), and from there the stored and the
live bars are merged, the database winning on a shared timestamp
(``merge.merge_db_wins``), then resampled when a coarser timeframe was asked for. The
live part is never cached.
"""

from __future__ import annotations

import dataclasses
import logging

import numpy as np

from engine.bars import BAR_FIELDS
from engine.timestamps import datetime_to_ms
from marketdata.live import SOURCE_NAME as LIVE_SOURCE_NAME
from marketdata.live import LiveBars, LiveUnavailable, live_bars, live_source
from marketdata.merge import FROM_DB, bars_block, bucket_origin, merge_db_wins
from marketdata.models import CandleSeries
from marketdata.parse import CandleFileError
from marketdata.read_stored import series_read, stored_read
from marketdata.resample import block_resample, edges_trim, range_align
from marketdata.timeframes import timeframe_ms

logger = logging.getLogger(__name__)


def live_read(  # noqa: PLR0917
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
    stored_end = None if source is None or source.last_ts is None else datetime_to_ms(source.last_ts)
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
    return dataclasses.replace(bars, **{name: getattr(bars, name)[keep] for name in BAR_FIELDS})


def hybrid_read(  # noqa: PLR0917
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
        head, _ = stored_read(source, symbol, tf, start_ms, split, trim_last=False)
    stored_tail = empty if source is None else series_read(symbol, live_tf, split, end_ms)
    tail, origin = merge_db_wins(stored_tail, bars_block(live))
    if live_tf != tf:
        origin = bucket_origin(tail[0].view(np.int64), origin, width_ms=width)
        tail, count = block_resample(tail, width_ms=width)
        keep = edges_trim(count, per_bucket=width // timeframe_ms(live_tf), first=head.shape[1] == 0)
        tail, origin = tail[:, keep], origin[keep]
    block = np.concatenate([head, tail], axis=1)
    origin = np.concatenate([np.full(head.shape[1], FROM_DB, dtype=np.int8), origin])
    return np.ascontiguousarray(block), origin

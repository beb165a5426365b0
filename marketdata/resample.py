"""Resampling OHLCV bars to a coarser timeframe, in numpy (the TimescaleDB path is in read.py).

A target bar (bucket) covers ``[b, b + width)`` with ``b`` a multiple of ``width``
milliseconds since the Unix epoch: every allowed timeframe divides a day, so buckets
are aligned to UTC midnight, as TimescaleDB's ``time_bucket`` aligns them. A bucket's
bar is: the first source bar's open, the highest high, the lowest low, the last source
bar's close and the summed volume.

Edges: ``candles_load`` first narrows the requested range inwards to whole buckets,
so no bucket is cut by ``start`` or ``end``. Then the first and the last bucket of the
result are dropped when they hold fewer source bars than a full bucket (the series
starts or ends mid-bucket, or the newest bucket is still forming). Interior buckets
are kept when they hold at least one bar, even if a gap makes them incomplete; a
bucket with no bar at all is not invented (the gap stays a gap).
"""

from __future__ import annotations

import numpy as np


def ohlcv_resample(
    *,
    ts: np.ndarray,
    open_: np.ndarray,
    high: np.ndarray,
    low: np.ndarray,
    close: np.ndarray,
    volume: np.ndarray,
    width_ms: int,
) -> tuple[np.ndarray, ...]:
    """Aggregate bars into ``width_ms`` buckets.

    ``ts``: int64 epoch ms, strictly increasing, shape (n,); the others float64 (n,).
    Returns ``(bucket_ts, open, high, low, close, volume, count)``, each of shape (m,),
    ``bucket_ts`` int64 ms (the bucket's start), ``count`` int64 source bars per bucket.
    Edge buckets are not dropped here; see ``edges_trim``. NaN is not expected (stored
    candles are validated) and would propagate like numpy's reductions do.
    """
    ts = np.asarray(ts, dtype=np.int64)
    if ts.shape[0] == 0:
        empty_f = np.empty(0, dtype=np.float64)
        return (
            np.empty(0, dtype=np.int64),
            empty_f,
            empty_f,
            empty_f,
            empty_f,
            empty_f,
            np.empty(0, np.int64),
        )
    bucket = ts - np.mod(ts, width_ms)
    starts = np.concatenate(([0], np.flatnonzero(bucket[1:] != bucket[:-1]) + 1))
    ends = np.concatenate((starts[1:], [ts.shape[0]]))
    return (
        bucket[starts],
        np.asarray(open_, dtype=np.float64)[starts],
        np.maximum.reduceat(np.asarray(high, dtype=np.float64), starts),
        np.minimum.reduceat(np.asarray(low, dtype=np.float64), starts),
        np.asarray(close, dtype=np.float64)[ends - 1],
        np.add.reduceat(np.asarray(volume, dtype=np.float64), starts),
        (ends - starts).astype(np.int64),
    )


def edges_trim(count: np.ndarray, *, per_bucket: int, first: bool = True, last: bool = True) -> slice:
    """The slice of buckets to keep: drops the first and the last bucket when they hold
    fewer than ``per_bucket`` source bars (see the module docstring). ``first`` /
    ``last`` False keep that edge (a part of a longer read, cut at a bucket boundary)."""
    lo, hi = 0, int(count.shape[0])
    if first and hi and count[0] < per_bucket:
        lo = 1
    if last and hi > lo and count[hi - 1] < per_bucket:
        hi -= 1
    return slice(lo, hi)


def range_align(start_ms: int | None, end_ms: int | None, *, width_ms: int) -> tuple[int | None, int | None]:
    """Narrow ``[start_ms, end_ms)`` inwards to whole buckets: start rounded up, end down."""
    if start_ms is not None:
        start_ms = -(-start_ms // width_ms) * width_ms
    if end_ms is not None:
        end_ms = end_ms - end_ms % width_ms
    return start_ms, end_ms

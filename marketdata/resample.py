"""Resampling OHLCV bars to a coarser timeframe, in numpy (the TimescaleDB path: ``read_stored``).

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


def bucket_starts(ts: np.ndarray, *, width_ms: int) -> tuple[np.ndarray, np.ndarray]:
    """Each bar's bucket (its start, int64 ms) and the index of the first bar of every
    bucket, for bars ``ts`` (sorted int64 ms, at least one)."""
    bucket = ts - np.mod(ts, width_ms)
    return bucket, np.concatenate(([0], np.flatnonzero(bucket[1:] != bucket[:-1]) + 1))


def block_resample(block: np.ndarray, *, width_ms: int) -> tuple[np.ndarray, np.ndarray]:
    """Aggregate the bars of a block into ``width_ms`` buckets.

    ``block``: float64 (6, n), row 0 int64 epoch-ms bits (strictly increasing), rows
    1-5 open, high, low, close, volume (see ``merge``). Returns ``(buckets, count)``:
    the (6, m) block of the bucket bars, row 0 the bucket's start, and ``count``, int64
    source bars per bucket. Edge buckets are not dropped here; see ``edges_trim``. NaN
    is not expected (stored candles are validated) and would propagate like numpy's
    reductions do.
    """
    ts = np.ascontiguousarray(block[0]).view(np.int64)
    if ts.shape[0] == 0:
        return np.empty((6, 0), dtype=np.float64), np.empty(0, np.int64)
    bucket, starts = bucket_starts(ts, width_ms=width_ms)
    ends = np.concatenate((starts[1:], [ts.shape[0]]))
    out = np.empty((6, starts.shape[0]), dtype=np.float64)
    out[0].view(np.int64)[:] = bucket[starts]
    out[1] = block[1][starts]
    out[2] = np.maximum.reduceat(block[2], starts)
    out[3] = np.minimum.reduceat(block[3], starts)
    out[4] = block[4][ends - 1]
    out[5] = np.add.reduceat(block[5], starts)
    return out, (ends - starts).astype(np.int64)


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

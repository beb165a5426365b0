"""Merging stored bars with the live source's, and saying which bars came from where.

Framework-free numpy. A *block* is a C-contiguous float64 array of shape (6, n) whose
row 0 holds int64 epoch-ms timestamps (as bits) and rows 1-5 open, high, low, close,
volume, sorted by ts. An *origin* array (int8, shape (n,)) gives each bar's source:
``FROM_DB``, ``FROM_LIVE`` or, for a resampled bar built from both, ``FROM_BOTH``.
"""

from __future__ import annotations

import numpy as np

from engine.bars import BAR_FIELDS, BarColumns
from engine.timestamps import ms_iso
from marketdata.resample import bucket_starts

FROM_DB, FROM_LIVE, FROM_BOTH = 0, 1, 2
SOURCE_NAMES = {FROM_DB: "timescaledb", FROM_LIVE: "live_redis", FROM_BOTH: "timescaledb+live_redis"}


def bars_block(bars: BarColumns) -> np.ndarray:
    """The block of ``bars`` (a new array)."""
    block = np.empty((6, len(bars)), dtype=np.float64)
    block[0].view(np.int64)[:] = bars.ts
    for i, name in enumerate(BAR_FIELDS[1:], start=1):
        block[i] = getattr(bars, name)
    return block


def merge_db_wins(db: np.ndarray, live: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The union of two blocks, de-duplicated on ts: where both hold a bar, the
    database's is kept. Returns ``(block, origin)``.

    The usual case, live bars all after the stored ones, is a plain concatenation;
    otherwise (the live bars fill a stored gap) the union is sorted, stably.
    """
    db_ts = db[0].view(np.int64)
    live_ts = live[0].view(np.int64)
    at = np.searchsorted(db_ts, live_ts)
    inside = at < db_ts.shape[0]
    dup = np.zeros(live_ts.shape[0], dtype=bool)
    dup[inside] = db_ts[at[inside]] == live_ts[inside]
    extra = live[:, ~dup]
    origin = np.concatenate(
        [np.full(db.shape[1], FROM_DB, dtype=np.int8), np.full(extra.shape[1], FROM_LIVE, dtype=np.int8)]
    )
    block = np.concatenate([db, extra], axis=1)
    if db.shape[1] and extra.shape[1] and extra[0].view(np.int64)[0] <= db_ts[-1]:
        order = np.argsort(block[0].view(np.int64), kind="stable")
        block, origin = block[:, order], origin[order]
    return np.ascontiguousarray(block), origin


def bucket_origin(ts: np.ndarray, origin: np.ndarray, *, width_ms: int) -> np.ndarray:
    """The origin of each ``width_ms`` bucket of bars ``ts`` (sorted int64 ms), in the
    order ``resample.block_resample`` returns buckets: ``FROM_BOTH`` when mixed."""
    if ts.shape[0] == 0:
        return np.empty(0, dtype=np.int8)
    _, starts = bucket_starts(ts, width_ms=width_ms)
    low = np.minimum.reduceat(origin, starts)
    high = np.maximum.reduceat(origin, starts)
    return np.where(low == high, low, FROM_BOTH).astype(np.int8)


def source_ranges(ts: np.ndarray, origin: np.ndarray) -> list[dict]:
    """Runs of bars from one source: ``[{"source", "first", "last", "bars"}, …]`` in time
    order, ``first``/``last`` being the open times (ISO 8601 UTC) of the run's bars."""
    n = int(ts.shape[0])
    if n == 0:
        return []
    cuts = np.flatnonzero(origin[1:] != origin[:-1]) + 1
    starts = np.concatenate(([0], cuts))
    ends = np.concatenate((cuts, [n]))
    return [
        {
            "source": SOURCE_NAMES[int(origin[a])],
            "first": ms_iso(int(ts[a])),
            "last": ms_iso(int(ts[b - 1])),
            "bars": int(b - a),
        }
        for a, b in zip(starts.tolist(), ends.tolist(), strict=True)
    ]

"""Downsampling long series for drawing without hiding extremes.

A chart a few hundred pixels wide cannot show a million points, but a plain
stride would drop the one bar where the drawdown spiked. ``downsample_minmax``
keeps, for each of ``buckets`` equal slices, the first, the minimum, the maximum
and the last point (in time order, duplicates removed), so every extreme survives.
"""

from __future__ import annotations

import numpy as np


def downsample_minmax(ts: np.ndarray, values: np.ndarray, buckets: int) -> tuple[np.ndarray, np.ndarray]:
    """Return (ts, values) with at most ``4 * buckets`` points keeping each bucket's extremes.

    ``ts`` int64 and ``values`` float64 of equal length n; series with n ≤ 4·buckets
    come back unchanged. Vectorised: no Python loop over points.
    """
    n = len(values)
    if len(ts) != n:
        raise ValueError(f"ts has {len(ts)} points but values has {n}")
    if buckets < 1:
        raise ValueError(f"buckets must be ≥ 1, got {buckets}")
    if n <= 4 * buckets:
        return np.asarray(ts), np.asarray(values)
    edges = np.linspace(0, n, buckets + 1).astype(np.int64)
    starts, stops = edges[:-1], edges[1:]
    # Per-bucket argmin/argmax via reduceat on the values, then locate the index.
    mins = np.minimum.reduceat(values, starts)
    maxs = np.maximum.reduceat(values, starts)
    bucket_of = np.repeat(np.arange(buckets), stops - starts)
    is_min = values == mins[bucket_of]
    is_max = values == maxs[bucket_of]
    # First occurrence of the min and max in each bucket.
    idx = np.arange(n)
    min_idx = np.full(buckets, n, dtype=np.int64)
    max_idx = np.full(buckets, n, dtype=np.int64)
    np.minimum.at(min_idx, bucket_of[is_min], idx[is_min])
    np.minimum.at(max_idx, bucket_of[is_max], idx[is_max])
    keep = np.unique(np.concatenate([starts, stops - 1, min_idx, max_idx]))
    return np.asarray(ts)[keep], np.asarray(values)[keep]


def preview_points(ts: np.ndarray, values: np.ndarray, points: int) -> list[list[float]]:
    """A JSON-ready ``[[ts_ms, value], …]`` of at most ``points`` points (min/max kept)."""
    points = max(4, int(points))
    dts, dvals = downsample_minmax(ts, values, max(1, points // 4))
    return [[int(t), float(v)] for t, v in zip(dts.tolist(), dvals.tolist(), strict=True)]

"""Coverage of a stored series: span, row count, zero-volume bars and gaps.

A gap is a pair of consecutive stored bars further apart than one bar: at least one
bar is missing between them. Gaps are facts about the data (exchanges pause, sources
drop bars), so they are reported, never rejected.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

import numpy as np


def ms_iso(ms: int) -> str:
    """Epoch milliseconds as ISO 8601 UTC with a ``Z`` (``2021-09-27T13:45:00Z``)."""
    return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class Coverage:
    """What one series holds. Times are int64 epoch ms; ``gaps`` as stored in CandleSeries."""

    rows: int
    first_ms: int | None
    last_ms: int | None
    zero_volume: int
    gap_count: int
    missing_bars: int
    gaps: list[dict] = field(default_factory=list)


def gaps_find(ts: np.ndarray, *, step_ms: int) -> tuple[np.ndarray, np.ndarray]:
    """Gaps in ``ts`` (int64 epoch ms, strictly increasing, shape (n,)).

    Returns ``(start_ms, end_ms)``, int64 arrays of shape (g,): ``start_ms`` is the open
    time of the first missing bar, ``end_ms`` that of the next stored bar, so the gap is
    ``[start_ms, end_ms)`` and holds ``(end_ms - start_ms) // step_ms`` missing bars.
    """
    ts = np.asarray(ts, dtype=np.int64)
    after = np.flatnonzero(np.diff(ts) > step_ms)
    return ts[after] + step_ms, ts[after + 1]


def coverage_compute(ts: np.ndarray, volume: np.ndarray, *, step_ms: int, gaps_max: int = 1000) -> Coverage:
    """Coverage of one series from its ``ts`` (int64 ms, sorted) and ``volume`` (float64).

    Keeps at most ``gaps_max`` gaps in ``gaps``: the longest, listed in time order (ties
    keep the earlier gap); ``gap_count`` and ``missing_bars`` always count all of them.
    """
    ts = np.asarray(ts, dtype=np.int64)
    n = int(ts.shape[0])
    if n == 0:
        return Coverage(rows=0, first_ms=None, last_ms=None, zero_volume=0, gap_count=0, missing_bars=0)
    start, end = gaps_find(ts, step_ms=step_ms)
    missing = (end - start) // step_ms
    keep = _longest(missing, gaps_max)
    gaps = [
        {
            "start": ms_iso(int(start[i])),
            "end": ms_iso(int(end[i])),
            "missing_bars": int(missing[i]),
            "seconds": int((end[i] - start[i]) // 1000),
        }
        for i in keep
    ]
    return Coverage(
        rows=n,
        first_ms=int(ts[0]),
        last_ms=int(ts[-1]),
        zero_volume=int(np.count_nonzero(np.asarray(volume) == 0)),
        gap_count=int(start.shape[0]),
        missing_bars=int(missing.sum()),
        gaps=gaps,
    )


def coverage_extend(
    before: Coverage, ts: np.ndarray, volume: np.ndarray, *, step_ms: int, gaps_max: int = 1000
) -> Coverage:
    """``before`` with bars ``ts`` (int64 ms, sorted, all after ``before.last_ms``) and
    their ``volume`` appended: what ``coverage_compute`` over the whole series would
    give, without reading the stored bars again (the live sync appends every minute)."""
    ts = np.asarray(ts, dtype=np.int64)
    if before.rows == 0 or before.last_ms is None:
        return coverage_compute(ts, volume, step_ms=step_ms, gaps_max=gaps_max)
    if ts.shape[0] == 0:
        return before
    if ts[0] <= before.last_ms:
        raise ValueError(f"appended bars start at {ms_iso(int(ts[0]))}, not after {ms_iso(before.last_ms)}")
    # The last stored bar joins the new ones, so a gap between them is found too; its
    # stand-in volume of 1 is never counted as a zero-volume bar.
    added = coverage_compute(
        np.concatenate(([before.last_ms], ts)),
        np.concatenate(([1.0], np.asarray(volume, dtype=np.float64))),
        step_ms=step_ms,
        gaps_max=gaps_max,
    )
    # Both lists are each one's longest gaps in time order, so the longest of their union
    # are the longest of all.
    gaps = before.gaps + added.gaps
    gaps = [gaps[i] for i in _longest(np.array([g["missing_bars"] for g in gaps], dtype=np.int64), gaps_max)]
    return Coverage(
        rows=before.rows + int(ts.shape[0]),
        first_ms=before.first_ms,
        last_ms=int(ts[-1]),
        zero_volume=before.zero_volume + added.zero_volume,
        gap_count=before.gap_count + added.gap_count,
        missing_bars=before.missing_bars + added.missing_bars,
        gaps=gaps,
    )


def _longest(missing: np.ndarray, keep_max: int) -> list[int]:
    """Indices of the ``keep_max`` longest gaps (ties: the earlier), in time order."""
    if missing.shape[0] <= keep_max:
        return list(range(missing.shape[0]))
    return np.sort(np.argsort(-missing, kind="stable")[:keep_max]).tolist()

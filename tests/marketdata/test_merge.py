"""Merging stored and live bars, source ranges, and extending coverage by appended bars."""

from __future__ import annotations

import numpy as np
import pytest

from marketdata.coverage import coverage_compute, coverage_extend
from marketdata.merge import FROM_BOTH, FROM_DB, FROM_LIVE, bucket_origin, merge_db_wins, source_ranges

M = 60_000


def _block(ts, value: float) -> np.ndarray:
    block = np.full((6, len(ts)), value, dtype=np.float64)
    block[0].view(np.int64)[:] = ts
    return block


def test_the_database_wins_on_a_shared_timestamp_and_live_bars_fill_around_it():
    db = _block([0, M, 3 * M], 1.0)
    live = _block([M, 2 * M, 3 * M, 4 * M], 2.0)
    block, origin = merge_db_wins(db, live)
    assert block[0].view(np.int64).tolist() == [0, M, 2 * M, 3 * M, 4 * M]
    assert block[4].tolist() == [1.0, 1.0, 2.0, 1.0, 2.0]
    assert origin.tolist() == [FROM_DB, FROM_DB, FROM_LIVE, FROM_DB, FROM_LIVE]
    assert [(r["source"], r["bars"]) for r in source_ranges(block[0].view(np.int64), origin)] == [
        ("timescaledb", 2),
        ("live_redis", 1),
        ("timescaledb", 1),
        ("live_redis", 1),
    ]


def test_merging_with_nothing_stored_or_nothing_live():
    live = _block([0, M], 2.0)
    block, origin = merge_db_wins(_block([], 0.0), live)
    assert block[0].view(np.int64).tolist() == [0, M] and origin.tolist() == [FROM_LIVE] * 2
    block, origin = merge_db_wins(live, _block([], 0.0))
    assert origin.tolist() == [FROM_DB] * 2
    assert source_ranges(np.empty(0, np.int64), np.empty(0, np.int8)) == []


def test_a_bucket_from_both_sources_is_marked_so():
    ts = np.array([0, M, 2 * M, 3 * M], dtype=np.int64)
    origin = np.array([FROM_DB, FROM_LIVE, FROM_LIVE, FROM_LIVE], dtype=np.int8)
    assert bucket_origin(ts, origin, width_ms=2 * M).tolist() == [FROM_BOTH, FROM_LIVE]


@pytest.mark.parametrize("split", [1, 5, 17, 29])
def test_extending_coverage_by_appended_bars_equals_computing_it_afresh(split):
    rng = np.random.default_rng(split)
    ts = np.cumsum(rng.choice([M, M, M, 2 * M, 5 * M], size=30)).astype(np.int64)
    volume = rng.choice([0.0, 1.0, 2.0], size=30)
    whole = coverage_compute(ts, volume, step_ms=M, gaps_max=3)
    before = coverage_compute(ts[:split], volume[:split], step_ms=M, gaps_max=3)
    assert coverage_extend(before, ts[split:], volume[split:], step_ms=M, gaps_max=3) == whole


def test_extending_refuses_bars_that_are_not_after_the_last_one():
    before = coverage_compute(np.array([0, M], dtype=np.int64), np.ones(2), step_ms=M)
    with pytest.raises(ValueError, match="not after"):
        coverage_extend(before, np.array([M], dtype=np.int64), np.ones(1), step_ms=M)

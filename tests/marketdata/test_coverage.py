"""Gap detection and the coverage summary (pure numpy)."""

from __future__ import annotations

import numpy as np

from marketdata.coverage import coverage_compute, gaps_find
from tests.marketdata.builders import M15, T0_MS


def test_it_finds_gaps_longer_than_one_bar():
    ts = T0_MS + np.array([0, 1, 3, 4, 10], dtype=np.int64) * M15
    start, end = gaps_find(ts, step_ms=M15)
    assert ((start - T0_MS) // M15).tolist() == [2, 5]
    assert ((end - T0_MS) // M15).tolist() == [3, 10]


def test_it_summarises_a_series():
    ts = T0_MS + np.array([0, 1, 3, 4, 10], dtype=np.int64) * M15
    cov = coverage_compute(ts, np.array([0.0, 1, 0, 2, 3]), step_ms=M15)
    assert (cov.rows, cov.first_ms, cov.last_ms, cov.zero_volume) == (5, T0_MS, T0_MS + 10 * M15, 2)
    assert (cov.gap_count, cov.missing_bars) == (2, 6)
    assert cov.gaps == [
        {"start": "2024-01-01T00:30:00Z", "end": "2024-01-01T00:45:00Z", "missing_bars": 1, "seconds": 900},
        {"start": "2024-01-01T01:15:00Z", "end": "2024-01-01T02:30:00Z", "missing_bars": 5, "seconds": 4500},
    ]


def test_it_keeps_the_longest_gaps_in_time_order_when_there_are_too_many():
    # Gaps of 1, 3, 2 and 3 missing bars.
    ts = T0_MS + np.array([0, 2, 6, 9, 13], dtype=np.int64) * M15
    cov = coverage_compute(ts, np.ones(5), step_ms=M15, gaps_max=2)
    assert cov.gap_count == 4
    assert cov.missing_bars == 9
    assert [g["missing_bars"] for g in cov.gaps] == [3, 3]
    assert [g["start"] for g in cov.gaps] == ["2024-01-01T00:45:00Z", "2024-01-01T02:30:00Z"]


def test_an_empty_series_has_no_span():
    cov = coverage_compute(np.empty(0, dtype=np.int64), np.empty(0), step_ms=M15)
    assert (cov.rows, cov.first_ms, cov.last_ms, cov.gaps) == (0, None, None, [])


def test_period_coverage_counts_the_edges_and_the_inside():
    from marketdata.coverage import period_coverage

    # bars 2, 3, 5, 6 of a period of 10 slots: 2 missing before, 1 inside, 3 after
    ts = T0_MS + np.array([2, 3, 5, 6], dtype=np.int64) * M15
    cov = period_coverage(ts, start_ms=T0_MS, end_ms=T0_MS + 10 * M15, step_ms=M15)
    assert (cov.bars, cov.expected_bars, cov.missing_bars, cov.gap_count) == (4, 10, 6, 3)
    assert [(g["where"], g["missing_bars"]) for g in cov.gaps] == [("start", 2), ("inside", 1), ("end", 3)]
    assert cov.gaps[0]["start"] == "2024-01-01T00:00:00Z" and cov.gaps[-1]["end"] == "2024-01-01T02:30:00Z"
    assert len(cov.problems) == 3
    assert cov.problems[0].startswith("the data starts at 2024-01-01T00:30:00Z, 2 bars after")
    assert cov.problems[1].startswith("the data ends at 2024-01-01T01:30:00Z (last bar), 3 bars before")
    assert "1 gap inside the period (1 bars missing" in cov.problems[2]
    # a threshold of 2 bars keeps only the trailing 3
    assert (
        len(
            period_coverage(ts, start_ms=T0_MS, end_ms=T0_MS + 10 * M15, step_ms=M15, max_gap_bars=2).problems
        )
        == 1
    )


def test_period_coverage_of_a_full_period_and_an_off_grid_start():
    from marketdata.coverage import period_coverage

    ts = T0_MS + np.arange(8, dtype=np.int64) * M15
    # the period starts 5 minutes before the first bar and ends right after the last
    cov = period_coverage(ts, start_ms=T0_MS - 5 * 60_000, end_ms=T0_MS + 8 * M15, step_ms=M15)
    assert (cov.expected_bars, cov.missing_bars, cov.problems, cov.gaps) == (8, 0, [], [])
    assert cov.ratio == 1.0

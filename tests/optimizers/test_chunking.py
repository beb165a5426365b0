"""The automatic chunk size: about TARGET_SECONDS of kernel time, spread over the workers."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from optimizers.chunking import DEFAULT_BARS, MIN_CHUNK, chunk_size_auto, market_bars

YEAR = {"start": "2024-01-01T00:00:00Z", "end": "2024-12-31T00:00:00Z", "timeframe": "1h"}


@pytest.mark.parametrize(
    ("count", "bars", "workers", "expected"),
    [
        (10_000, 100_000, 2, 1000),  # 1000 x 100,000 bars x 5 ns = 0.5 s of kernel time
        (10_000, 10_000, 2, 2500),  # short series: bigger chunks, but two per worker
        (1_000, 100_000, 2, 250),  # small sweep: two chunks per worker
        (1_000, 100_000, 4, 125),
        (50, 100_000, 2, 13),  # a genetic generation
        (5, 100_000, 4, MIN_CHUNK),
        (10**6, 10, 1, 10_000),  # never above the schema's bound
    ],
)
def test_it_sizes_chunks_by_time_and_workers(count, bars, workers, expected):
    assert chunk_size_auto(count, bars, workers) == expected


def test_market_bars_counts_the_period_within_the_stored_candles():
    assert market_bars(YEAR) == 365 * 24 + 1  # 2024-01-01 to 2024-12-31 (leap year), both ends
    stored = (datetime(2024, 7, 1, tzinfo=UTC), datetime(2025, 6, 1, tzinfo=UTC))
    assert market_bars(YEAR, stored) == (datetime(2024, 12, 31, tzinfo=UTC) - stored[0]).days * 24 + 1
    assert market_bars({**YEAR, "timeframe": "1d"}) == 366
    assert market_bars({"timeframe": "1h"}) == DEFAULT_BARS

"""How many combinations one queued sweep task evaluates, when the Sweep spec does not say.

A chunk pays a fixed cost (a django-q2 task through Redis, a claim and a result
transaction in PostgreSQL: tens of milliseconds) and then kernel time proportional to
its combinations times the bars. Chunks of about ``TARGET_SECONDS`` of kernel time keep
that fixed cost near a tenth of the work; at least ``CHUNKS_PER_WORKER`` chunks per
worker keep every worker busy until the end of a small sweep. Framework-free.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import datetime
from typing import Any

# Kernel time of one combination per bar on one core: measured by bench/sweep.py
# (1,000 HYPERRSI combinations x 100,000 bars, 0.5 s of CPU time on this project's build
# machine; docs/sweeps.md, "Chunk size").
BAR_STEP_SECONDS = 5e-9
TARGET_SECONDS = 0.5
CHUNKS_PER_WORKER = 2
MIN_CHUNK = 10
MAX_CHUNK = 10_000  # the schema's bound on chunk_size
DEFAULT_BARS = 100_000  # when the market's span cannot be read


def market_bars(market: Mapping[str, Any], stored: tuple[datetime, datetime] | None = None) -> int:
    """An estimate of the bars a sweep runs over: the Backtest's market period (start to
    end at its timeframe), within ``stored``, the first and last stored candle of the
    series when known (a period is often wider than the data). Gaps make it an upper
    bound; DEFAULT_BARS when the market cannot be read."""
    from marketdata.timeframes import timeframe_ms

    try:
        start = datetime.fromisoformat(str(market["start"]).replace("Z", "+00:00"))
        end = datetime.fromisoformat(str(market["end"]).replace("Z", "+00:00"))
        step_ms = timeframe_ms(str(market["timeframe"]))
    except (KeyError, ValueError):
        return DEFAULT_BARS
    if stored is not None and stored[0] is not None and stored[1] is not None:
        start = max(start, stored[0])
        end = min(end, stored[1])
    return max(2, int((end - start).total_seconds() * 1000 // step_ms) + 1)


def chunk_size_auto(count: int, bars: int, workers: int) -> int:
    """Combinations per chunk for ``count`` combinations over ``bars`` bars and
    ``workers`` worker processes: about TARGET_SECONDS of kernel time, but at least
    CHUNKS_PER_WORKER chunks per worker, within MIN_CHUNK .. MAX_CHUNK."""
    by_time = math.ceil(TARGET_SECONDS / (max(bars, 1) * BAR_STEP_SECONDS))
    spread = math.ceil(max(count, 1) / (CHUNKS_PER_WORKER * max(workers, 1)))
    return max(MIN_CHUNK, min(by_time, spread, MAX_CHUNK))

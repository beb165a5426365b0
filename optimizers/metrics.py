"""Prometheus metrics of sweeps: how many combinations are evaluated, and in how long.

Combinations per second is ``rate(backtest_sweep_combinations_total)`` (per wall
second, over every worker) or that divided by ``rate(backtest_sweep_eval_seconds_total)``
(per second of evaluation). Runs and sweeps by final status are counted where a job
ends (``backtest_project.observability.events``). docs/operations.md#metrics.
"""

from __future__ import annotations

from prometheus_client import Counter

SWEEP_COMBINATIONS = Counter(
    "backtest_sweep_combinations",
    "Sweep combinations evaluated (stored chunks only).",
)
SWEEP_EVAL_SECONDS = Counter(
    "backtest_sweep_eval_seconds",
    "Seconds spent evaluating sweep chunks (indicators and the parallel kernel).",
)


def sweep_chunk_evaluated(combinations: int, seconds: float) -> None:
    """A stored chunk: ``combinations`` evaluated in ``seconds``."""
    SWEEP_COMBINATIONS.inc(combinations)
    SWEEP_EVAL_SECONDS.inc(max(seconds, 0.0))

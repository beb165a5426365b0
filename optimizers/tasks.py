"""django-q2 entry points. They take ids (arguments are pickled and signed) and call one service."""

from __future__ import annotations

from optimizers import services


def coordinate_sweep(run_id: int) -> str:
    return f"sweep {run_id}: {services.sweep_coordinate(run_id=run_id)}"


def execute_chunk(chunk_id: int) -> str:
    outcome = services.chunk_execute(chunk_id=chunk_id)
    return f"chunk {outcome.chunk_id}: {outcome.status} {outcome.message}".strip()

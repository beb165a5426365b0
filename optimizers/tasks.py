"""django-q2 entry points. They take ids (arguments are pickled and signed) and call one service."""

from __future__ import annotations

from jobs.context import job_log_context
from optimizers import services
from optimizers.models import OptimizationRun


def coordinate_sweep(run_id: int) -> str:
    with job_log_context(OptimizationRun.objects.filter(pk=run_id), id_key="sweep_id"):
        return f"sweep {run_id}: {services.sweep_coordinate(run_id=run_id)}"


def execute_chunk(chunk_id: int) -> str:
    with job_log_context(
        OptimizationRun.objects.filter(chunks=chunk_id), id_key="sweep_id", chunk_id=chunk_id
    ):
        outcome = services.chunk_execute(chunk_id=chunk_id)
    return f"chunk {outcome.chunk_id}: {outcome.status} {outcome.message}".strip()

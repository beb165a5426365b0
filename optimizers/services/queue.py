"""The doorbells of a sweep: its coordinator task and its chunks' tasks."""

from __future__ import annotations

from jobs import doorbell
from optimizers.models import ChunkStatus, SweepChunk

COORDINATOR_TASK = "optimizers.tasks.coordinate_sweep"


def send_coordinator(run_id: int) -> None:
    """Ring the sweep's coordinator; a failed send is left to the housekeeper, which nudges
    a sweep that stopped moving (``lifecycle.sweeps_nudge``)."""
    doorbell.send(COORDINATOR_TASK, run_id, label=f"sweep-{run_id}-coordinate", group="sweeps")


def send_queued_chunks(run_id: int, generation: int | None = None) -> int:
    """Ring the doorbell of the sweep's queued chunks (of one generation, if given)."""
    chunks = SweepChunk.objects.filter(run_id=run_id, status=ChunkStatus.QUEUED)
    if generation is not None:
        chunks = chunks.filter(generation=generation)
    return doorbell.ring(SweepChunk, chunks.order_by("seq").values_list("pk", flat=True))

"""A sweep after its creation: resume on demand, the housekeeper's nudge of sweeps that
stopped moving, giving up on a chunk that keeps killing its worker, cancel."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, Max, OuterRef, Q
from django.utils import timezone

from jobs.housekeeping import requeue_silent
from jobs.models import ACTIVE_STATUSES, JobStatus
from optimizers.models import ChunkStatus, OptimizationRun, SweepChunk
from optimizers.services.coordinator import finalise_stale_seconds
from optimizers.services.plan import SweepError
from optimizers.services.queue import send_coordinator


def sweep_resume(*, run: OptimizationRun, now: datetime | None = None) -> int:
    """Continue a sweep that stopped (crash, lost tasks) now, without waiting for the
    housekeeper: its chunks whose worker stopped beating go back to ``queued`` and the
    coordinator is rung; it re-rings only the chunks not done (done chunks keep their
    trials). Returns the number of chunks requeued. A finished sweep is not resumed
    (``SweepError``)."""
    if run.is_final:
        raise SweepError(f"sweep {run.pk} is {run.status}; a finished sweep is not resumed")
    report = requeue_silent(SweepChunk, now=now or timezone.now(), where=Q(run_id=run.pk))
    transaction.on_commit(lambda: send_coordinator(run.pk))
    return report["requeued"]


def chunk_gave_up(chunk_id: int, reason: str) -> None:
    """A chunk whose worker died JOB_MAX_ATTEMPTS times ends its sweep (``errored``):
    retrying a chunk that kills every worker would never end."""
    chunk = SweepChunk.objects.filter(pk=chunk_id).values_list("run_id", "seq").first()
    if chunk is not None:
        OptimizationRun.error_out(chunk[0], error=f"chunk {chunk[1]}: {reason}; the sweep stops here")


def sweeps_nudge(now: datetime) -> int:
    """The housekeeper's pass for sweeps: ring the coordinator of every active sweep that
    stopped moving for JOB_RESEND_SECONDS (its coordinator task was lost, or the broker
    was down when it was sent): queued ones, and running ones with no chunk queued or
    running and no live finaliser. Returns the number of sweeps rung."""
    cutoff = now - timedelta(seconds=settings.JOB_RESEND_SECONDS)
    finalising = now - timedelta(seconds=finalise_stale_seconds())
    active = OptimizationRun.objects.filter(status__in=ACTIVE_STATUSES).annotate(
        busy=Exists(
            SweepChunk.objects.filter(
                run=OuterRef("pk"), status__in=(ChunkStatus.QUEUED, ChunkStatus.RUNNING)
            )
        ),
        last_start=Max("chunks__started_at"),
        last_done=Max("chunks__finished_at"),
    )
    stalled = []
    for run in active:
        if run.status == JobStatus.RUNNING and run.busy:
            continue
        if run.finalizing_at is not None and run.finalizing_at > finalising:
            continue
        moments = [run.queued_at, run.started_at, run.finalizing_at, run.last_start, run.last_done]
        if max(m for m in moments if m is not None) < cutoff:
            stalled.append(run.pk)
    for pk in stalled:
        send_coordinator(pk)
    return len(stalled)


def sweep_cancel(*, run: OptimizationRun) -> bool:
    """Cancel a queued or running sweep; chunks in flight drop their results. False when
    it had already finished."""
    return OptimizationRun.cancel(run.pk)

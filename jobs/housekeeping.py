"""The housekeeper: no queued or running job is ever left behind.

Every ``qcluster`` (``jobs/management/commands/qcluster.py``) runs ``housekeeping_pass``
every JOB_HOUSEKEEPING_SECONDS beside its workers. For each registered ``Delivery``
model (runs, sweep chunks) one pass

1. requeues the ``running`` rows whose heartbeat is older than JOB_STALE_SECONDS (their
   worker died), or, once a row has been claimed JOB_MAX_ATTEMPTS times, hands it to
   the model's ``on_exhausted`` (the job ends ``errored`` with the reason);
2. rings the doorbell again for the ``queued`` rows whose task is not in flight: never
   sent (the broker was down), requeued, or sent more than JOB_RESEND_SECONDS ago and
   no longer waiting in the broker (a cluster that took it died, Redis lost it);

then runs the passes the apps registered (a sweep whose coordinator task was lost).
Every change is a guarded UPDATE, so several clusters may run passes at once, and a
duplicate ring only costs a worker one refused claim.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from jobs.doorbell import ring, waiting_task_ids
from jobs.models import Delivery, JobStatus

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Kind:
    model: type[Delivery]
    # called with (pk, reason) when a row's worker died JOB_MAX_ATTEMPTS times
    on_exhausted: Callable[[int, str], object]
    # the queued rows that may be rung (a sweep's chunks wait for its coordinator)
    ready: Q


_KINDS: dict[str, Kind] = {}
_PASSES: dict[str, Callable[[datetime], int]] = {}


def register(
    model: type[Delivery], *, on_exhausted: Callable[[int, str], object], ready: Q | None = None
) -> None:
    """Put ``model``'s rows under the housekeeper's care (an app's ``ready()`` calls this).

    ``ready`` narrows the queued rows the housekeeper may ring (default: all)."""
    _KINDS[model._meta.label] = Kind(model, on_exhausted, ready if ready is not None else Q())


def register_pass(name: str, step: Callable[[datetime], int]) -> None:
    """Run ``step(now)`` at the end of every pass; it returns how many jobs it moved."""
    _PASSES[name] = step


def stale_before(now: datetime) -> datetime:
    return now - timedelta(seconds=settings.JOB_STALE_SECONDS)


def silent_since(cutoff: datetime) -> Q:
    """Running rows whose last sign of life is older than ``cutoff`` (rows claimed before
    heartbeats existed have only ``started_at``)."""
    return Q(heartbeat_at__lt=cutoff) | Q(heartbeat_at__isnull=True, started_at__lt=cutoff)


def housekeeping_pass(*, now: datetime | None = None) -> Counter:
    """One pass over every registered kind (see the module docstring); counts by action."""
    now = now or timezone.now()
    report: Counter = Counter()
    waiting: list[set[str] | None] = []  # read from the broker at most once, when needed
    for kind in _KINDS.values():
        report.update(requeue_silent(kind.model, now=now))
        report["rung"] += _ring_lost(kind, now, waiting)
    for name, step in _PASSES.items():
        report[name] += step(now)
    moved = {key: value for key, value in report.items() if value}
    if moved:
        log.info("housekeeping: %s", ", ".join(f"{key} {value}" for key, value in sorted(moved.items())))
    return report


def requeue_silent(model: type[Delivery], *, now: datetime, where: Q | None = None) -> Counter:
    """Requeue the running rows of ``model`` (matching ``where``) whose worker stopped
    beating, or give them up after JOB_MAX_ATTEMPTS claims; counts by action."""
    kind = _KINDS[model._meta.label]
    cutoff = stale_before(now)
    limit = int(settings.JOB_MAX_ATTEMPTS)
    report: Counter = Counter()
    dead = model.objects.filter(silent_since(cutoff), where or Q(), status=JobStatus.RUNNING)
    for pk, worker, attempts in dead.values_list("pk", "worker", "attempts"):
        if attempts >= limit:
            kind.on_exhausted(
                pk,
                f"its worker ({worker or 'unknown'}) stopped answering {attempts} times (killed, out of "
                f"memory, or over the task timeout); it is not tried again",
            )
            report["gave_up"] += 1
        elif model.objects.filter(silent_since(cutoff), pk=pk, status=JobStatus.RUNNING).update(
            status=JobStatus.QUEUED, worker="", sent_at=None
        ):
            log.warning("%s %s: worker %s stopped answering; requeued", model.__name__, pk, worker)
            report["requeued"] += 1
    return report


def _ring_lost(kind: Kind, now: datetime, waiting: list[set[str] | None]) -> int:
    model = kind.model
    queued = model.objects.filter(kind.ready, status=JobStatus.QUEUED)
    todo = list(queued.filter(sent_at__isnull=True).values_list("pk", flat=True))
    resend = now - timedelta(seconds=settings.JOB_RESEND_SECONDS)
    old = list(queued.filter(sent_at__lt=resend).values_list("pk", "task_id"))
    if old:
        if not waiting:
            waiting.append(waiting_task_ids())
        in_broker = waiting[0]
        if in_broker is not None:
            todo += [pk for pk, task_id in old if task_id not in in_broker]
    return ring(model, sorted(todo))

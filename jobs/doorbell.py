"""Ringing the queue: the database row is the source of truth, the broker only a doorbell.

``ring`` sends a ``Delivery`` model's task for some rows and records when; ``send`` is
the plain send under it (a sweep's coordinator, which no worker claims). A send that
fails (Redis down, restarted, flushed) is logged, not raised: the rows stay ``queued``
with ``sent_at`` null, and the housekeeper rings them again. A duplicate ring is
harmless, because a worker first claims its row with a guarded UPDATE.

In django-q2's sync mode (tests, ``Q_SYNC=1``) ``async_task`` runs the task inline, and
a task that rings another (a chunk that completes its sweep rings the coordinator,
which rings the next generation's chunks) would recurse once per step. Rings made
while a sync task runs are put on a list and run one after another by the outermost
ring instead, so a long sweep is a loop, not a deep stack.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Iterable

from django.utils import timezone
from django_q.conf import Conf
from django_q.tasks import async_task

from jobs.models import Delivery, JobStatus

log = logging.getLogger(__name__)

_sync = threading.local()


def send(task: str, arg: int, *, label: str, group: str) -> str | None:
    """``async_task(task, arg)``: the task id, or None when the broker refused it (logged;
    the caller's row stays as it is for the housekeeper to find)."""
    if Conf.SYNC:
        _send_sync(task, arg, label, group)
        return ""
    try:
        return str(async_task(task, arg, task_name=label, group=group) or "")[:64]
    except Exception as exc:  # any broker error: the housekeeper rings again
        log.warning(
            "could not queue %s(%s) (%s: %s); it is sent again by the housekeeper",
            task,
            arg,
            type(exc).__name__,
            exc,
        )
        return None


def ring(model: type[Delivery], pks: Iterable[int]) -> int:
    """Send ``model.TASK`` for each of ``pks``; returns how many sends the broker took.

    The rows still queued get ``sent_at`` and the task id. After a failed send the
    others are not tried (the broker is down for them too); the housekeeper rings the
    rows left with ``sent_at`` null.
    """
    now = timezone.now()
    sent = 0
    for pk in pks:
        task_id = send(model.TASK, pk, label=model.task_label(pk), group=model.TASK_GROUP)
        if task_id is None:
            break
        sent += 1
        if task_id:
            model.objects.filter(pk=pk, status=JobStatus.QUEUED).update(sent_at=now, task_id=task_id)
    return sent


def _send_sync(task: str, arg: int, label: str, group: str) -> None:
    pending: deque | None = getattr(_sync, "pending", None)
    if pending is not None:  # inside a sync task: the outermost send runs it next
        pending.append((task, arg, label, group))
        return
    _sync.pending = pending = deque([(task, arg, label, group)])
    try:
        while pending:
            task, arg, label, group = pending.popleft()
            async_task(task, arg, task_name=label, group=group)
    finally:
        _sync.pending = None


def waiting_task_ids() -> set[str] | None:
    """The ids of the tasks waiting in the broker's queue (not yet taken by a cluster), or
    None when the broker cannot be read (then nothing is re-rung on that ground)."""
    from django_q.brokers import get_broker
    from django_q.signing import SignedPackage

    broker = get_broker()
    try:
        if hasattr(broker.connection, "lrange"):  # Redis
            payloads = broker.connection.lrange(broker.list_key, 0, -1)
        else:  # the ORM broker: its queue is a table
            from django_q.models import OrmQ

            payloads = list(OrmQ.objects.filter(key=broker.list_key).values_list("payload", flat=True))
    except Exception as exc:
        log.warning("cannot read the broker's queue (%s: %s)", type(exc).__name__, exc)
        return None
    ids = set()
    for payload in payloads:
        try:
            ids.add(SignedPackage.loads(payload)["id"])
        except Exception:  # a foreign or corrupt entry is not ours
            continue
    return ids

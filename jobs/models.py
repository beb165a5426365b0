"""The job lifecycle, written once: abstract models that runs, sweeps and chunks extend.

``Job`` is what a user waits on (a backtest run, a sweep):
``queued → running → succeeded | failed | errored | cancelled``. ``failed`` is the
user's problem (a message they can act on); ``errored`` is ours (a bug, an outage, a
worker that kept dying), so the two are never confused in a list or a metric.

``Delivery`` is what a worker claims through the queue (a run, a sweep chunk): the
doorbell's bookkeeping (``task_id``, ``sent_at``) and the claim's (``worker``,
``attempts``, ``heartbeat_at``). A claim is identified by (worker, attempt), and every
write of a worker is guarded by it, so a worker that was presumed dead and comes back
can never overwrite the work of the one that took over.

Every transition is one guarded UPDATE filtered on the expected current status: two
workers, or a worker and a user's cancel, never both win, and a final status is never
overwritten. The call that ends a job sends ``jobs.signals.job_finished`` once its
transaction commits (metrics and log events listen to it).
"""

from __future__ import annotations

from django.db import models, transaction
from django.utils import timezone

from jobs.context import REQUEST_ID_MAX_CHARS, current_request_id
from jobs.signals import job_finished
from specs.owners import OwnedQuerySet


class JobStatus(models.TextChoices):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    ERRORED = "errored"
    CANCELLED = "cancelled"


ACTIVE_STATUSES = (JobStatus.QUEUED, JobStatus.RUNNING)
FINAL_STATUSES = (JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.ERRORED, JobStatus.CANCELLED)
ERROR_MAX_CHARS = 10_000


class Job(models.Model):
    """A unit of work a user waits on; see the module docstring for the lifecycle.

    ``JOB_KIND`` names the concrete model in metrics and log events (``run``, ``sweep``).
    """

    JOB_KIND: str

    status = models.CharField(
        max_length=16, choices=JobStatus.choices, default=JobStatus.QUEUED, db_index=True
    )
    error = models.TextField(blank=True)
    queued_at = models.DateTimeField(default=timezone.now, db_index=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # The API request that created the job (its log lines and the worker's share it).
    request_id = models.CharField(
        max_length=REQUEST_ID_MAX_CHARS, blank=True, default=current_request_id, editable=False
    )

    class Meta:
        abstract = True

    @property
    def is_final(self) -> bool:
        return self.status in FINAL_STATUSES

    @property
    def duration_seconds(self) -> float | None:
        if self.started_at and self.finished_at:
            return (self.finished_at - self.started_at).total_seconds()
        return None

    # --- guarded transitions: each returns True when this call made the change ---
    @classmethod
    def start(cls, pk: int) -> bool:
        """queued → running, for a job no worker claims (a sweep, started by its coordinator)."""
        changed = cls.objects.filter(pk=pk, status=JobStatus.QUEUED).update(
            status=JobStatus.RUNNING, started_at=timezone.now()
        )
        return changed == 1

    @classmethod
    def succeed(cls, pk: int, *, from_statuses=(JobStatus.RUNNING,), **fields) -> bool:
        """→ succeeded, writing ``fields`` (results, timings) in the same UPDATE."""
        changed = cls.objects.filter(pk=pk, status__in=from_statuses).update(
            status=JobStatus.SUCCEEDED, finished_at=timezone.now(), **fields
        )
        return cls._finished(pk, JobStatus.SUCCEEDED, changed)

    @classmethod
    def fail(cls, pk: int, *, error: str, from_statuses=ACTIVE_STATUSES) -> bool:
        """→ failed: the user's problem, ``error`` tells them what to change."""
        return cls._end(pk, JobStatus.FAILED, error, from_statuses)

    @classmethod
    def error_out(cls, pk: int, *, error: str, from_statuses=ACTIVE_STATUSES) -> bool:
        """→ errored: an internal failure (a bug, an outage, a worker that kept dying)."""
        return cls._end(pk, JobStatus.ERRORED, error, from_statuses)

    @classmethod
    def cancel(cls, pk: int) -> bool:
        """queued or running → cancelled; a running worker's results are then discarded."""
        changed = cls.objects.filter(pk=pk, status__in=ACTIVE_STATUSES).update(
            status=JobStatus.CANCELLED, finished_at=timezone.now()
        )
        return cls._finished(pk, JobStatus.CANCELLED, changed)

    @classmethod
    def _end(cls, pk: int, status: str, error: str, from_statuses) -> bool:
        changed = cls.objects.filter(pk=pk, status__in=from_statuses).update(
            status=status, error=error[:ERROR_MAX_CHARS], finished_at=timezone.now()
        )
        return cls._finished(pk, status, changed)

    @classmethod
    def _finished(cls, pk: int, status: str, changed: int) -> bool:
        if changed != 1:
            return False
        # After the commit: a rolled-back ending was no ending. Robust: a listener that
        # fails is logged, and never undoes or hides the transition.
        transaction.on_commit(lambda: job_finished.send(sender=cls, pk=pk, status=status), robust=True)
        return True


class MarketJob(Job):
    """A job that runs a spec version over one market's candles: a backtest run, a sweep.

    The concrete model declares ``owner`` and ``spec`` (their reverse names are its
    own), and ``strategy``, ``symbol`` and ``timeframe`` (copied from ``config`` for
    lists and filters; runs index them).
    """

    # What runs: the spec's data, with a run's overrides applied or a sweep's base
    # Backtest (strategy, params, market, execution) merged in.
    config = models.JSONField(default=dict)
    candle_count = models.IntegerField(null=True, blank=True)
    # Coverage truth (marketdata.coverage.period_coverage) of the candles used: the bar
    # slots the period holds, each run of missing bars, and the warnings a reader must
    # see (coverage below the spec's threshold; see docs/specs.md).
    coverage = models.JSONField(null=True, blank=True)
    warnings = models.JSONField(default=list, blank=True)

    objects = OwnedQuerySet.as_manager()

    class Meta:
        abstract = True


class Delivery(models.Model):
    """A unit of work handed to a worker through the queue.

    The concrete model has ``status`` (with ``queued`` and ``running`` among its
    values) and ``started_at``, and names its django-q2 task in ``TASK`` (a dotted
    path called with the row's pk) and the task's label prefix in ``TASK_LABEL``.
    """

    TASK: str
    TASK_LABEL: str
    TASK_GROUP: str

    task_id = models.CharField(max_length=64, blank=True)
    # When the doorbell last rang; null: ring it (never sent, the send failed, or the
    # job was requeued). The housekeeper re-rings queued rows whose task is missing.
    sent_at = models.DateTimeField(null=True, blank=True)
    worker = models.CharField(max_length=128, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    heartbeat_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        abstract = True

    @classmethod
    def claim(cls, pk: int, *, worker: str) -> int:
        """queued → running for exactly one caller: its attempt number, or 0 when the row
        was not queued (a duplicate delivery, a cancelled or finished job)."""
        now = timezone.now()
        changed = cls.objects.filter(pk=pk, status=JobStatus.QUEUED).update(
            status=JobStatus.RUNNING,
            started_at=now,
            heartbeat_at=now,
            worker=worker[:128],
            attempts=models.F("attempts") + 1,
        )
        if changed != 1:
            return 0
        return int(cls.objects.filter(pk=pk).values_list("attempts", flat=True).get())

    @classmethod
    def held_by(cls, pk: int, *, worker: str, attempt: int) -> models.QuerySet:
        """The row while it is still running under this claim (empty once it was requeued,
        cancelled or taken over): every write of a worker goes through this filter."""
        return cls.objects.filter(pk=pk, status=JobStatus.RUNNING, worker=worker[:128], attempts=attempt)

    @classmethod
    def beat(cls, pk: int, *, worker: str, attempt: int) -> bool:
        return cls.held_by(pk, worker=worker, attempt=attempt).update(heartbeat_at=timezone.now()) == 1

    @classmethod
    def task_label(cls, pk: int) -> str:
        return f"{cls.TASK_LABEL}-{pk}"

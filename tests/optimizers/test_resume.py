"""Crashes: a sweep resumes where it stopped and evaluates no chunk twice; chunks whose
worker stopped beating are requeued by the housekeeper; a chunk that keeps killing its
worker stops the sweep; a lost coordinator is rung again."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone

from jobs import doorbell
from jobs.housekeeping import housekeeping_pass
from jobs.models import JobStatus
from optimizers import services
from optimizers.evaluate import Evaluator
from optimizers.models import ChunkStatus, OptimizationRun, SweepChunk
from optimizers.services.chunks import _chunk_store
from optimizers.services.queue import COORDINATOR_TASK
from optimizers.space import canonical
from tests.optimizers.conftest import GRID_COMBINATIONS

pytestmark = pytest.mark.django_db

STALE = timedelta(seconds=settings.JOB_STALE_SECONDS + 1)
RESEND = timedelta(seconds=settings.JOB_RESEND_SECONDS + 1)


@pytest.fixture
def evaluated(monkeypatch):
    """Every combination the kernel wrapper is asked for (swept params, canonical JSON)."""
    seen: list[str] = []
    real = Evaluator.evaluate
    names = ("rsi_period", "rsi_oversold", "stop_loss_percent")

    def counting(self, columns, lo=0, hi=None):
        rows = zip(*(columns[name].tolist() for name in names), strict=True)
        seen.extend(canonical(dict(zip(names, row, strict=True))) for row in rows)
        return real(self, columns, lo, hi)

    monkeypatch.setattr(Evaluator, "evaluate", counting)
    return seen


class Queue:
    """Records the chunks and coordinators the doorbell sends; while ``hold`` is set
    nothing runs (a queue whose workers are all down), else the real (synchronous)
    django-q path runs them."""

    def __init__(self, monkeypatch):
        self.hold = True
        self.chunks: list[int] = []
        self.coordinators: list[int] = []
        real_send = doorbell.send

        def send(task, arg, **kwargs):
            (self.coordinators if task == COORDINATOR_TASK else self.chunks).append(arg)
            return "held" if self.hold else real_send(task, arg, **kwargs)

        monkeypatch.setattr(doorbell, "send", send)


@pytest.fixture
def held(monkeypatch) -> Queue:
    return Queue(monkeypatch)


def test_resume_after_a_worker_crash_evaluates_no_chunk_twice(
    grid_spec, alice, evaluated, held, django_capture_on_commit_callbacks
):
    run = services.sweep_create(spec=grid_spec, owner=alice)
    services.sweep_coordinate(run_id=run.pk)
    chunks = list(SweepChunk.objects.filter(run=run).order_by("seq"))
    assert [c.pk for c in chunks] == held.chunks
    # two chunks finish; the worker of the third dies right after claiming it
    services.chunk_execute(chunk_id=chunks[0].pk)
    services.chunk_execute(chunk_id=chunks[1].pk)
    assert SweepChunk.claim(chunks[2].pk, worker="dead-host:4242")
    before = len(evaluated)
    assert before == 20
    run.refresh_from_db()
    assert (run.status, run.evaluated, run.chunks_done) == (JobStatus.RUNNING, 20, 2)

    # the workers are back; resume too early: the claimed chunk is not stale yet, so
    # only the queued ones go out
    held.hold = False
    with django_capture_on_commit_callbacks(execute=True):
        assert services.sweep_resume(run=run) == 0
    assert SweepChunk.objects.get(pk=chunks[2].pk).status == ChunkStatus.RUNNING
    run.refresh_from_db()
    assert run.status == JobStatus.RUNNING
    assert run.chunks_done == 6

    # after the stale timeout the dead worker's chunk is released and evaluated once
    with django_capture_on_commit_callbacks(execute=True):
        assert services.sweep_resume(run=run, now=timezone.now() + STALE) == 1
    run.refresh_from_db()
    assert run.status == JobStatus.SUCCEEDED, run.error
    assert run.evaluated == run.trials.count() == GRID_COMBINATIONS
    # every combination went through the kernel exactly once over the whole story
    assert len(evaluated) == GRID_COMBINATIONS == len(set(evaluated))
    crashed = SweepChunk.objects.get(pk=chunks[2].pk)
    assert (crashed.status, crashed.attempts) == (ChunkStatus.DONE, 2)
    assert crashed.worker != "dead-host:4242"
    assert all(c.attempts == 1 for c in SweepChunk.objects.filter(run=run).exclude(pk=crashed.pk))


def test_a_late_result_from_a_reclaimed_chunk_is_dropped(grid_spec, alice, candles, held):
    run = services.sweep_create(spec=grid_spec, owner=alice)
    services.sweep_coordinate(run_id=run.pk)
    chunk = SweepChunk.objects.filter(run=run).order_by("seq").first()
    # a slow worker claims it, is declared dead, and another worker finishes it first
    assert SweepChunk.claim(chunk.pk, worker="slow:1") == 1
    SweepChunk.objects.filter(pk=chunk.pk).update(heartbeat_at=timezone.now() - STALE)
    assert housekeeping_pass()["requeued"] == 1
    assert services.chunk_execute(chunk_id=chunk.pk).status == ChunkStatus.DONE
    # the slow worker's result arrives: its guarded update finds no chunk of its own
    plan = services.sweep_plan(run.config)
    evaluator, lo, hi = services.evaluator_for(run, plan)
    rows = evaluator.evaluate(plan.full_columns(chunk.params), lo, hi)
    outcome = _chunk_store(
        run.pk, chunk, plan, rows, 0.1, worker="slow:1", attempt=1, candle_count=len(evaluator)
    )
    assert outcome.status == "discarded"
    run.refresh_from_db()
    assert run.evaluated == run.trials.count() == 10
    assert run.chunks_done == 1


def test_the_housekeeper_requeues_a_silent_chunk_and_rings_it(grid_spec, alice, candles, held):
    run = services.sweep_create(spec=grid_spec, owner=alice)
    services.sweep_coordinate(run_id=run.pk)
    chunk = SweepChunk.objects.filter(run=run).order_by("seq").first()
    assert SweepChunk.claim(chunk.pk, worker="dead:1") == 1
    held.chunks.clear()
    assert housekeeping_pass()["requeued"] == 0  # it beat just now: left alone
    report = housekeeping_pass(now=timezone.now() + STALE)
    assert report["requeued"] == 1
    assert chunk.pk in held.chunks
    chunk.refresh_from_db()
    assert (chunk.status, chunk.worker) == (ChunkStatus.QUEUED, "")


def test_a_chunk_that_keeps_killing_its_worker_ends_the_sweep(grid_spec, alice, candles, held):
    run = services.sweep_create(spec=grid_spec, owner=alice)
    services.sweep_coordinate(run_id=run.pk)
    chunk = SweepChunk.objects.filter(run=run).order_by("seq").first()
    for attempt in range(1, settings.JOB_MAX_ATTEMPTS + 1):
        assert SweepChunk.claim(chunk.pk, worker=f"dead:{attempt}") == attempt
        housekeeping_pass(now=timezone.now() + STALE)
    run.refresh_from_db()
    assert run.status == JobStatus.ERRORED
    assert f"chunk 0: its worker (dead:{settings.JOB_MAX_ATTEMPTS}) stopped answering" in run.error


def test_a_lost_coordinator_is_rung_again_by_the_housekeeper(grid_spec, alice, candles, held):
    run = services.sweep_create(spec=grid_spec, owner=alice)  # its coordinator task is "lost"
    held.coordinators.clear()
    assert housekeeping_pass()["sweeps_nudged"] == 0
    assert held.chunks == []  # a queued sweep's chunks wait for its coordinator
    assert housekeeping_pass(now=timezone.now() + RESEND)["sweeps_nudged"] == 1
    assert held.coordinators == [run.pk]


def test_a_finished_sweep_is_not_resumed(grid_spec, alice, candles, held):
    run = services.sweep_create(spec=grid_spec, owner=alice)
    OptimizationRun.cancel(run.pk)
    run.refresh_from_db()
    with pytest.raises(services.SweepError, match="not resumed"):
        services.sweep_resume(run=run)

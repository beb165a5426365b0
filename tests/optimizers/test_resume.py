"""Crashes: a sweep resumes where it stopped and evaluates no chunk twice; stale chunks
are reclaimed; a chunk that keeps killing its worker stops the sweep."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from optimizers import services
from optimizers.evaluate import Evaluator
from optimizers.models import ChunkStatus, OptimizationRun, SweepChunk, SweepStatus
from optimizers.space import canonical
from tests.optimizers.conftest import GRID_COMBINATIONS

pytestmark = pytest.mark.django_db

STALE = timedelta(seconds=services.chunk_stale_seconds() + 1)


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
    """Records the chunks and coordinators the services send; while ``hold`` is set
    nothing runs (a queue whose workers are all down), else the real (synchronous)
    django-q path runs them."""

    def __init__(self, monkeypatch):
        self.hold = True
        self.chunks: list[int] = []
        self.coordinators: list[int] = []
        real_chunk, real_coordinator = services.send_chunk, services.send_coordinator

        def send_chunk(chunk_id, run_id, seq):
            self.chunks.append(chunk_id)
            if not self.hold:
                real_chunk(chunk_id, run_id, seq)

        def send_coordinator(run_id):
            self.coordinators.append(run_id)
            if not self.hold:
                real_coordinator(run_id)

        monkeypatch.setattr(services, "send_chunk", send_chunk)
        monkeypatch.setattr(services, "send_coordinator", send_coordinator)


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
    assert (run.status, run.evaluated, run.chunks_done) == (SweepStatus.RUNNING, 20, 2)

    # the workers are back; resume too early: the claimed chunk is not stale yet, so
    # only the queued ones go out
    held.hold = False
    with django_capture_on_commit_callbacks(execute=True):
        assert services.sweep_resume(run=run) == 0
    assert SweepChunk.objects.get(pk=chunks[2].pk).status == ChunkStatus.RUNNING
    run.refresh_from_db()
    assert run.status == SweepStatus.RUNNING
    assert run.chunks_done == 6

    # after the stale timeout the dead worker's chunk is released and evaluated once
    with django_capture_on_commit_callbacks(execute=True):
        assert services.sweep_resume(run=run, now=timezone.now() + STALE) == 1
    run.refresh_from_db()
    assert run.status == SweepStatus.SUCCEEDED, run.error
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
    assert SweepChunk.claim(chunk.pk, worker="slow:1")
    SweepChunk.objects.filter(pk=chunk.pk).update(claimed_at=timezone.now() - STALE)
    services.sweep_chunks_reap()
    assert services.chunk_execute(chunk_id=chunk.pk).status == ChunkStatus.DONE
    # the slow worker's result arrives: its guarded update finds no chunk of its own
    plan = services.sweep_plan(run.config)
    evaluator, lo, hi = services.evaluator_for(run, plan)
    rows = evaluator.evaluate(plan.full_columns(chunk.params), lo, hi)
    outcome = services._chunk_store(
        run.pk, chunk, plan, rows, 0.1, worker="slow:1", candle_count=len(evaluator)
    )
    assert outcome.status == "discarded"
    run.refresh_from_db()
    assert run.evaluated == run.trials.count() == 10
    assert run.chunks_done == 1


def test_the_reaper_releases_stale_chunks_and_nudges_the_coordinator(grid_spec, alice, candles, held):
    run = services.sweep_create(spec=grid_spec, owner=alice)
    services.sweep_coordinate(run_id=run.pk)
    chunk = SweepChunk.objects.filter(run=run).order_by("seq").first()
    assert SweepChunk.claim(chunk.pk, worker="dead:1")
    held.coordinators.clear()
    assert services.sweep_chunks_reap() == 0  # fresh claim: left alone
    assert services.sweep_chunks_reap(now=timezone.now() + STALE) == 1
    assert held.coordinators == [run.pk]
    chunk.refresh_from_db()
    assert (chunk.status, chunk.worker) == (ChunkStatus.QUEUED, "")


def test_a_chunk_that_keeps_killing_its_worker_fails_the_sweep(grid_spec, alice, candles, held):
    run = services.sweep_create(spec=grid_spec, owner=alice)
    services.sweep_coordinate(run_id=run.pk)
    chunk = SweepChunk.objects.filter(run=run).order_by("seq").first()
    for attempt in range(services.MAX_CHUNK_ATTEMPTS):
        assert SweepChunk.claim(chunk.pk, worker=f"dead:{attempt}")
        services.sweep_chunks_reap(now=timezone.now() + STALE)
    run.refresh_from_db()
    assert run.status == SweepStatus.FAILED
    assert f"chunk 0 was claimed {services.MAX_CHUNK_ATTEMPTS} times" in run.error


def test_a_lost_coordinator_is_requeued_by_the_reaper(grid_spec, alice, candles, held):
    run = services.sweep_create(spec=grid_spec, owner=alice)  # its coordinator task is "lost"
    assert services.sweep_chunks_reap() == 0
    assert services.sweep_chunks_reap(now=timezone.now() + STALE) == 1
    assert held.coordinators == [run.pk]


def test_a_finished_sweep_is_not_resumed(grid_spec, alice, candles, held):
    run = services.sweep_create(spec=grid_spec, owner=alice)
    OptimizationRun.cancel(run.pk)
    run.refresh_from_db()
    with pytest.raises(services.SweepError, match="not resumed"):
        services.sweep_resume(run=run)

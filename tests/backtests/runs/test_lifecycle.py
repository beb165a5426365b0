"""Run lifecycle on the real database: claim once, cancel, fail stale, never overwrite a final status.

django-q2 runs synchronously in these tests (Q_SYNC=1); the real-qcluster path is in
test_qcluster_e2e.py.
"""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pytest
from django.utils import timezone
from django_q.models import Schedule

from backtests import services
from backtests.models import BacktestRun, Trade
from backtests.run_config import RunConfigError
from jobs import doorbell
from jobs.housekeeping import housekeeping_pass
from jobs.models import JobStatus
from marketdata.read import candles_load
from tests.factories import engine_result, make_user, walk_spec

pytestmark = pytest.mark.django_db

SYMBOL = "TEST-RUNS"


@pytest.fixture
def owner():
    return make_user("owner")


@pytest.fixture
def spec(owner):
    return walk_spec(
        owner, "ema-runs", symbol=SYMBOL, bars=1500, seed=7, start="2024-01-01", end="2024-03-01"
    )


def _queue(spec, owner, overrides=None) -> BacktestRun:
    """A queued run whose task was NOT sent (on_commit never fires in a test transaction)."""
    return services.run_enqueue(spec=spec, owner=owner, overrides=overrides)


def test_it_runs_a_queued_run_to_succeeded_with_the_engines_results(
    spec, owner, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        run = _queue(spec, owner)
    run.refresh_from_db()
    assert run.status == JobStatus.SUCCEEDED, run.error
    candles = candles_load(SYMBOL, "1h", "2024-01-01", "2024-03-01")
    expected = engine_result(run, candles, timeframe_minutes=60)
    assert run.metrics == expected.metrics
    assert run.total_trades == expected.metrics["total_trades"] > 0
    assert run.candle_count == len(candles.ts) == 24 * 60
    trades = list(Trade.objects.filter(run=run).order_by("seq").values_list("pnl", "exit_reason"))
    assert trades == [(t["pnl"], t["exit_reason"]) for t in expected.trades_as_dicts()]
    np.testing.assert_array_equal(run.equity.values(), expected.equity)
    np.testing.assert_array_equal(run.equity.ts(), candles.ts)
    assert run.started_at <= run.finished_at
    assert run.load_seconds is not None and run.engine_seconds is not None and run.save_seconds is not None


def test_duplicate_delivery_runs_once(spec, owner):
    run = _queue(spec, owner)
    first = services.run_execute(run_id=run.pk)
    second = services.run_execute(run_id=run.pk)
    assert first.status == JobStatus.SUCCEEDED
    assert second.status == JobStatus.SUCCEEDED
    assert "not claimed" in second.message
    run.refresh_from_db()
    assert run.attempts == 1
    assert Trade.objects.filter(run=run).count() == run.total_trades


def test_cancel_before_start_prevents_the_start(spec, owner):
    run = _queue(spec, owner)
    assert services.run_cancel(run=run) is True
    outcome = services.run_execute(run_id=run.pk)
    run.refresh_from_db()
    assert run.status == JobStatus.CANCELLED
    assert outcome.status == JobStatus.CANCELLED
    assert run.started_at is None
    assert not Trade.objects.filter(run=run).exists()


def test_cancel_while_running_discards_the_results(spec, owner, monkeypatch):
    run = _queue(spec, owner)
    real = services.config_backtest

    def cancel_midway(*args, **kwargs):
        BacktestRun.cancel(run.pk)
        return real(*args, **kwargs)

    monkeypatch.setattr(services, "config_backtest", cancel_midway)
    outcome = services.run_execute(run_id=run.pk)
    run.refresh_from_db()
    assert run.status == JobStatus.CANCELLED
    assert outcome.message == "results discarded"
    assert run.metrics is None
    assert not Trade.objects.filter(run=run).exists()


@pytest.mark.parametrize("final", [JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELLED])
def test_a_final_status_is_never_overwritten(spec, owner, final):
    run = _queue(spec, owner)
    BacktestRun.objects.filter(pk=run.pk).update(status=final)
    assert BacktestRun.claim(run.pk, worker="w") == 0
    assert BacktestRun.cancel(run.pk) is False
    assert BacktestRun.fail(run.pk, error="late") is False
    run.refresh_from_db()
    assert run.status == final
    assert run.error == ""


def test_a_silent_running_run_is_requeued_and_then_given_up_after_max_attempts(
    spec, owner, settings, monkeypatch
):
    rung = []
    monkeypatch.setattr(doorbell, "send", lambda task, arg, **kw: rung.append(arg) or "held")
    run = _queue(spec, owner)
    assert BacktestRun.claim(run.pk, worker="host-a:4242") == 1
    fresh = _queue(spec, owner)
    assert BacktestRun.claim(fresh.pk, worker="host-b:1") == 1
    later = timezone.now() + timedelta(seconds=settings.JOB_STALE_SECONDS + 1)
    BacktestRun.objects.filter(pk=fresh.pk).update(heartbeat_at=later)  # still beating

    for attempt in range(1, settings.JOB_MAX_ATTEMPTS):
        report = housekeeping_pass(now=later)
        run.refresh_from_db()
        assert (report["requeued"], run.status, run.worker) == (1, JobStatus.QUEUED, "")
        assert rung[-1] == run.pk  # rung again at once
        assert BacktestRun.claim(run.pk, worker=f"host-a:{attempt}") == attempt + 1
    report = housekeeping_pass(now=later)
    run.refresh_from_db()
    fresh.refresh_from_db()
    assert report["gave_up"] == 1
    assert run.status == JobStatus.ERRORED
    assert f"stopped answering {settings.JOB_MAX_ATTEMPTS} times" in run.error
    assert fresh.status == JobStatus.RUNNING

    again = services.run_rerun(run=run)
    assert again.rerun_of_id == run.pk
    assert services.run_execute(run_id=again.pk).status == JobStatus.SUCCEEDED


def test_the_old_stale_run_schedule_is_gone():
    assert not Schedule.objects.filter(func="backtests.tasks.fail_stale_runs").exists()


def test_no_data_for_the_period_fails_with_a_message_a_user_can_act_on(spec, owner):
    run = _queue(spec, owner, {"market": {"start": "2030-01-01", "end": "2030-02-01"}})
    outcome = services.run_execute(run_id=run.pk)
    run.refresh_from_db()
    assert outcome.status == run.status == JobStatus.FAILED
    assert "TEST-RUNS" in run.error and "2030" in run.error
    assert "stored" in run.error


def test_an_unknown_symbol_fails_with_a_message(spec, owner):
    run = _queue(spec, owner, {"market": {"symbol": "NOPE-USD"}})
    services.run_execute(run_id=run.pk)
    run.refresh_from_db()
    assert run.status == JobStatus.FAILED
    assert "NOPE-USD" in run.error


@pytest.mark.parametrize(
    ("overrides", "path", "fragment"),
    [
        ({"params": {"fast_period": 0}}, "overrides.params.fast_period", "minimum"),
        ({"execution": {"fill": "sometime"}}, "overrides.execution.fill", "close"),
        ({"market": {"timeframe": "7m"}}, "overrides.market.timeframe", "1m"),
        ({"strategy": "other"}, "overrides.strategy", "cannot override strategy"),
        ({"params": 3}, "overrides.params", "must be a mapping"),
    ],
)
def test_overrides_are_validated_like_a_spec(spec, owner, overrides, path, fragment):
    with pytest.raises(RunConfigError) as caught:
        _queue(spec, owner, overrides)
    errors = caught.value.errors
    assert path in errors, errors
    assert any(fragment in message for message in errors[path]), errors
    assert not BacktestRun.objects.exists()


def test_overrides_change_what_runs_and_the_spec_keeps_its_own(spec, owner):
    run = _queue(spec, owner, {"params": {"fast_period": 5}, "execution": {"fee_rate": 0.001}})
    assert run.config["params"]["fast_period"] == 5
    assert run.config["execution"]["fee_rate"] == 0.001
    spec.refresh_from_db()
    assert spec.data["params"]["fast_period"] == 12


def test_every_contract_metric_has_a_column_on_the_run():
    from engine.enums import METRIC_NAMES

    columns = {field.name for field in BacktestRun._meta.get_fields()}
    assert set(METRIC_NAMES) <= columns

"""Write paths for backtest runs: enqueue, execute, cancel, re-run, reap stale runs.

Tasks and views call these; they never touch run rows directly. Every status
change goes through a guarded transition on the model (see models/runs.py).
"""

from __future__ import annotations

import logging
import os
import socket
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np
from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django_q.tasks import async_task

from backtests.models import BacktestRun, RunEquity, RunStatus, Trade
from backtests.run_config import effective_config
from backtests.series import preview_points
from engine.enums import METRIC_NAMES
from engine.runner import BacktestResult, run_backtest
from marketdata.read import NoCandles, candles_load
from marketdata.timeframes import timeframe_minutes
from strategies.registry import get_strategy

log = logging.getLogger(__name__)

PREVIEW_POINTS = 800
# Every contract metric has a column of the same name on BacktestRun.
METRIC_COLUMNS = METRIC_NAMES


class RunError(Exception):
    """A run cannot be created or changed; the message is meant for the user."""


def run_enqueue(
    *, spec, owner, overrides: dict | None = None, rerun_of: BacktestRun | None = None
) -> BacktestRun:
    """Create a queued run of ``spec`` (an exact Backtest spec version) and hand it to the queue.

    ``overrides`` may change ``params``, ``market`` (period, symbol, timeframe) and
    ``execution``; they are validated like the spec itself (RunConfigError names
    the bad field). The task is sent after the transaction commits, so a worker
    never sees a run id that is not in the database yet.
    """
    overrides = overrides or {}
    config = effective_config(spec, overrides)
    market = config["market"]
    run = BacktestRun.objects.create(
        spec=spec,
        owner=owner,
        overrides=overrides,
        config=config,
        strategy=config["strategy"],
        symbol=market["symbol"],
        timeframe=market["timeframe"],
        period_start=market.get("start"),
        period_end=market.get("end"),
        rerun_of=rerun_of,
    )
    transaction.on_commit(lambda: _send(run.pk))
    return run


def _send(run_id: int) -> None:
    task_id = async_task(
        "backtests.tasks.execute_run", run_id, task_name=f"backtest-run-{run_id}", group="runs"
    )
    BacktestRun.objects.filter(pk=run_id, task_id="").update(task_id=str(task_id or "")[:64])


def run_rerun(*, run: BacktestRun, owner=None) -> BacktestRun:
    """Queue a new run with the same spec version and overrides (old results stay)."""
    return run_enqueue(spec=run.spec, owner=owner or run.owner, overrides=run.overrides, rerun_of=run)


def run_cancel(*, run: BacktestRun) -> bool:
    """Cancel a queued or running run; False when it had already finished."""
    return BacktestRun.cancel(run.pk)


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


@dataclass(frozen=True)
class ExecuteOutcome:
    run_id: int
    status: str
    message: str = ""


def run_execute(*, run_id: int) -> ExecuteOutcome:
    """Claim, load candles, run the engine and save results in one transaction.

    A duplicate delivery, or a run cancelled before it started, does nothing. A
    run cancelled while the engine ran keeps `cancelled`: the final guarded
    update only applies to a row still `running`. User-actionable problems (no
    data, bad config) become `failed` with that message; unexpected exceptions
    become `failed` with the exception text and are re-raised for the queue's log.
    """
    if not BacktestRun.claim(run_id, worker=worker_name()):
        status = BacktestRun.objects.filter(pk=run_id).values_list("status", flat=True).first()
        return ExecuteOutcome(run_id, status or "missing", "not claimed (already taken, cancelled or gone)")
    _test_delay()
    run = BacktestRun.objects.get(pk=run_id)
    config = run.config
    market = config["market"]
    try:
        t0 = time.perf_counter()
        candles = candles_load(market["symbol"], market["timeframe"], market.get("start"), market.get("end"))
        t1 = time.perf_counter()
        result = run_backtest(
            candles,
            get_strategy(config["strategy"]),
            config["params"],
            config["execution"],
            timeframe_minutes=timeframe_minutes(market["timeframe"]),
        )
        t2 = time.perf_counter()
    except (NoCandles, ValueError, KeyError) as exc:
        BacktestRun.fail(run_id, error=_message(exc), from_statuses=(RunStatus.RUNNING,))
        return ExecuteOutcome(run_id, RunStatus.FAILED, _message(exc))
    except Exception as exc:
        BacktestRun.fail(
            run_id, error=f"internal error: {type(exc).__name__}: {exc}", from_statuses=(RunStatus.RUNNING,)
        )
        raise
    saved = _save_results(run, result, candles.ts, load_seconds=t1 - t0, engine_seconds=t2 - t1)
    if not saved:
        return ExecuteOutcome(run_id, BacktestRun.objects.get(pk=run_id).status, "results discarded")
    return ExecuteOutcome(run_id, RunStatus.SUCCEEDED)


def _test_delay() -> None:
    """Fault injection for the crash test: a worker started with BACKTEST_TEST_TASK_DELAY=N
    sleeps N seconds right after claiming a run, so the test can kill it mid-run."""
    delay = os.environ.get("BACKTEST_TEST_TASK_DELAY")
    if delay:
        time.sleep(float(delay))


def _message(exc: BaseException) -> str:
    text = str(exc)
    # KeyError's str() is the repr of its argument; unwrap the quotes for people.
    if isinstance(exc, KeyError) and exc.args:
        text = str(exc.args[0])
    return text


def _save_results(run, result: BacktestResult, ts: np.ndarray, *, load_seconds, engine_seconds) -> bool:
    t0 = time.perf_counter()
    with transaction.atomic():
        # Lock the row: if a cancel landed meanwhile, keep its final status and drop the results.
        locked = BacktestRun.objects.select_for_update().filter(pk=run.pk, status=RunStatus.RUNNING).first()
        if locked is None:
            return False
        run_results_store(run_id=run.pk, ts=ts, result=result)
        BacktestRun.objects.filter(pk=run.pk).update(
            status=RunStatus.SUCCEEDED,
            finished_at=timezone.now(),
            load_seconds=load_seconds,
            engine_seconds=engine_seconds,
            save_seconds=time.perf_counter() - t0,
        )
    return True


def run_results_store(*, run_id: int, ts: np.ndarray, result: BacktestResult) -> None:
    """Write a result's trades (bulk), packed equity curve with preview, and metrics.

    Changes no status: the caller decides (a worker inside its guarded transaction,
    test builders directly). ``ts`` int64 ms, one per equity point.
    """
    ts = np.asarray(ts, dtype=np.int64)
    equity = np.asarray(result.equity, dtype=np.float64)
    to_dt = _ms_to_datetime
    Trade.objects.bulk_create(
        [
            Trade(
                run_id=run_id,
                seq=i,
                side=row["side"],
                entry_time=to_dt(row["entry_time"]),
                exit_time=to_dt(row["exit_time"]),
                entry_price=row["entry_price"],
                exit_price=row["exit_price"],
                quantity=row["quantity"],
                fees=row["fees"],
                pnl=row["pnl"],
                trade_return=row["return"],
                bars_held=row["bars_held"],
                exit_reason=row["exit_reason"],
            )
            for i, row in enumerate(result.trades_as_dicts())
        ],
        batch_size=5000,
    )
    RunEquity.objects.create(
        run_id=run_id,
        points=len(equity),
        ts_blob=RunEquity.pack(ts),
        equity_blob=RunEquity.pack(equity),
        preview=preview_points(ts, equity, PREVIEW_POINTS),
    )
    metrics = result.metrics
    BacktestRun.objects.filter(pk=run_id).update(
        metrics=metrics, candle_count=len(ts), **{name: metrics.get(name) for name in METRIC_COLUMNS}
    )


def _ms_to_datetime(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, tz=UTC)


def runs_fail_stale(*, now=None) -> int:
    """Mark runs stuck in `running` past RUN_STALE_AFTER_SECONDS as failed.

    A worker that was killed (or a machine that restarted) never reports back;
    its run would stay `running` forever. The reason says how to proceed.
    """
    now = now or timezone.now()
    limit = settings.RUN_STALE_AFTER_SECONDS
    cutoff = now - timedelta(seconds=limit)
    stale = list(
        BacktestRun.objects.filter(status=RunStatus.RUNNING, started_at__lt=cutoff).values_list(
            "pk", "worker"
        )
    )
    count = 0
    for pk, worker in stale:
        reason = (
            f"the worker {worker or '(unknown)'} stopped reporting: no result {limit} s after the run "
            "started (the process was probably killed or the machine restarted). Re-run it."
        )
        count += BacktestRun.fail(pk, error=reason, from_statuses=(RunStatus.RUNNING,))
    if count:
        log.warning("marked %d stale run(s) failed", count)
    return count

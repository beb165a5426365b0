"""Write paths for backtest runs: enqueue, execute, cancel, re-run.

Tasks and views call these; they never touch run rows directly. Every status change
goes through a guarded transition of ``jobs.models``; the housekeeper (``jobs``)
requeues a run whose worker died and re-sends one whose task was lost.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

import numpy as np
from django.db import transaction

from backtests.models import BacktestRun, RunEquity, Trade
from backtests.run_config import config_backtest, effective_config
from backtests.series import preview_points
from engine.enums import METRIC_NAMES
from engine.errors import EngineInputError
from engine.runner import BacktestResult
from engine.stats import run_statistics
from engine.timestamps import ms_to_datetime
from jobs.doorbell import ring
from jobs.errors import JobError
from jobs.heartbeat import heartbeat, worker_name
from jobs.models import JobStatus
from marketdata.coverage import NotCovered, PeriodCoverage, coverage_enforce, market_coverage
from marketdata.read import NoCandles, candles_load
from marketdata.timeframes import timeframe_minutes, timeframe_ms
from strategies.registry import StrategyError, UnknownStrategy

log = logging.getLogger(__name__)

PREVIEW_POINTS = 800
# Every contract metric has a column of the same name on BacktestRun.
METRIC_COLUMNS = METRIC_NAMES


def run_enqueue(
    *, spec, owner, overrides: dict | None = None, rerun_of: BacktestRun | None = None
) -> BacktestRun:
    """Create a queued run of ``spec`` (an exact Backtest spec version) and hand it to the queue.

    ``overrides`` may change ``params``, ``market`` (period, symbol, timeframe) and
    ``execution``; they are validated like the spec itself (RunConfigError names
    the bad field). The task is sent after the transaction commits, so a worker
    never sees a run id that is not in the database yet; when the broker is down the
    run stays queued and the housekeeper sends it later.
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
    transaction.on_commit(lambda: ring(BacktestRun, [run.pk]))
    return run


def run_rerun(*, run: BacktestRun, owner=None) -> BacktestRun:
    """Queue a new run with the same spec version and overrides (old results stay)."""
    return run_enqueue(spec=run.spec, owner=owner or run.owner, overrides=run.overrides, rerun_of=run)


def run_cancel(*, run: BacktestRun) -> bool:
    """Cancel a queued or running run; False when it had already finished."""
    return BacktestRun.cancel(run.pk)


@dataclass(frozen=True)
class ExecuteOutcome:
    run_id: int
    status: str
    message: str = ""


# What a run can meet that is the user's to fix: the run ends `failed` with the message.
# Anything else is ours: `errored`, logged with its traceback, re-raised for the queue.
USER_ERRORS = (NoCandles, NotCovered, JobError, EngineInputError, StrategyError, UnknownStrategy)


def run_execute(*, run_id: int) -> ExecuteOutcome:
    """Claim, load candles, run the engine and save results in one transaction.

    A duplicate delivery, or a run cancelled before it started, does nothing. A run
    cancelled while the engine ran keeps `cancelled`, and a run requeued while this
    worker was presumed dead keeps its new claim: the results are saved only while
    this claim (worker, attempt) still holds the row. The claim beats every
    JOB_HEARTBEAT_SECONDS meanwhile.
    """
    worker = worker_name()
    attempt = BacktestRun.claim(run_id, worker=worker)
    if not attempt:
        status = BacktestRun.objects.filter(pk=run_id).values_list("status", flat=True).first()
        return ExecuteOutcome(run_id, status or "missing", "not claimed (already taken, cancelled or gone)")
    log.info("run %s claimed by %s (attempt %s)", run_id, worker, attempt)
    run = BacktestRun.objects.get(pk=run_id)
    config = run.config
    market = config["market"]
    with heartbeat(BacktestRun, run_id, worker=worker, attempt=attempt):
        try:
            t0 = time.perf_counter()
            candles = candles_load(
                market["symbol"], market["timeframe"], market.get("start"), market.get("end")
            )
            t1 = time.perf_counter()
            coverage = market_coverage(candles.ts, market, step_ms=timeframe_ms(market["timeframe"]))
            _coverage_store(run_id, coverage, sources=candles.sources)
            coverage_enforce(coverage, market)
            result = config_backtest(candles, config)
            t2 = time.perf_counter()
        except USER_ERRORS as exc:
            BacktestRun.fail(run_id, error=str(exc), from_statuses=(JobStatus.RUNNING,))
            return ExecuteOutcome(run_id, JobStatus.FAILED, str(exc))
        except Exception as exc:
            log.exception("run %s errored", run_id)
            BacktestRun.error_out(
                run_id,
                error=f"internal error: {type(exc).__name__}: {exc}",
                from_statuses=(JobStatus.RUNNING,),
            )
            raise
        saved = _save_results(
            run, attempt, result, candles.ts, load_seconds=t1 - t0, engine_seconds=t2 - t1, worker=worker
        )
    if not saved:
        return ExecuteOutcome(run_id, BacktestRun.objects.get(pk=run_id).status, "results discarded")
    return ExecuteOutcome(run_id, JobStatus.SUCCEEDED)


def _coverage_store(run_id: int, coverage: PeriodCoverage, *, sources: dict) -> None:
    """Record the bars a run uses, where they came from, and its coverage warnings (also
    on a run that then fails)."""
    BacktestRun.objects.filter(pk=run_id).update(
        data_sources=sources,
        data_start=ms_to_datetime(coverage.first_ms),
        data_end=ms_to_datetime(coverage.last_ms),
        expected_bars=coverage.expected_bars,
        candle_count=coverage.bars,
        coverage=coverage.as_dict(),
        warnings=coverage.problems,
    )


def _save_results(
    run, attempt: int, result: BacktestResult, ts: np.ndarray, *, load_seconds, engine_seconds, worker: str
) -> bool:
    t0 = time.perf_counter()
    with transaction.atomic():
        # Lock the row while this claim holds it: a cancel that landed meanwhile keeps its
        # final status, a requeue its new claim, and the results are dropped.
        locked = BacktestRun.held_by(run.pk, worker=worker, attempt=attempt).select_for_update().first()
        if locked is None:
            return False
        run_results_store(
            run_id=run.pk, ts=ts, result=result, minutes_per_bar=timeframe_minutes(run.timeframe)
        )
        BacktestRun.succeed(
            run.pk,
            load_seconds=load_seconds,
            engine_seconds=engine_seconds,
            save_seconds=time.perf_counter() - t0,
        )
    return True


def run_results_store(
    *, run_id: int, ts: np.ndarray, result: BacktestResult, minutes_per_bar: float | None = None
) -> None:
    """Write a result's trades (bulk), packed equity curve with preview, metrics and
    return statistics (``engine.stats.run_statistics``: PSR, moments).

    Changes no status: the caller decides (a worker inside its guarded transaction,
    test builders directly). ``ts`` int64 ms, one per equity point; ``minutes_per_bar``
    the bar length (default: the run's timeframe).
    """
    timeframe, config = BacktestRun.objects.filter(pk=run_id).values_list("timeframe", "config").get()
    if minutes_per_bar is None:
        minutes_per_bar = timeframe_minutes(timeframe)
    risk_free_rate = float(((config or {}).get("execution") or {}).get("risk_free_rate") or 0.0)
    ts = np.asarray(ts, dtype=np.int64)
    equity = np.asarray(result.equity, dtype=np.float64)
    to_dt = ms_to_datetime
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
        metrics=metrics,
        candle_count=len(ts),
        statistics=run_statistics(
            equity, minutes_per_bar, metrics.get("sharpe_ratio"), risk_free_rate
        ).as_dict(),
        **{name: metrics.get(name) for name in METRIC_COLUMNS},
    )

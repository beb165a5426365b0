"""What a job's end records: its metrics and its log event.

Connected to ``jobs.signals.job_finished`` (sent once per job, after the commit that
ended it, in the process that ended it: a worker for a run that succeeded or failed,
the web for a cancel). One query reads the row's timings and results, and the job's
own context (spec, version, user, request id): the event carries it whether or not
it is logged inside the task's bound context (a commit may come after it).

Log events (docs/operations.md): ``backtest_completed`` (the roadmap's fields:
backtest_id, strategy, symbol, total_return, execution_time_seconds, and more),
``backtest_failed`` / ``backtest_errored`` / ``backtest_cancelled``, and
``sweep_completed`` / ``sweep_failed`` / ``sweep_errored`` / ``sweep_cancelled``.
"""

from __future__ import annotations

import logging

import structlog

from backtest_project.observability import metrics
from jobs.context import CONTEXT_VALUES, context_fields
from jobs.signals import job_finished

log = structlog.get_logger("backtest_project.jobs")

_LEVELS = {"succeeded": logging.INFO, "cancelled": logging.INFO, "failed": logging.WARNING}
_EVENTS = {"succeeded": "completed", "failed": "failed", "errored": "errored", "cancelled": "cancelled"}


def _seconds(start, end) -> float | None:
    if start is None or end is None:
        return None
    return (end - start).total_seconds()


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 6)


def _job_ended(event: str, model, pk: int, status: str, *, columns: tuple[str, ...], describe) -> None:
    """What every job's end records: its metric, and its ``<event>_<status>`` log event
    with the id, the job's context, ``describe(row, execution_seconds)`` and, unless it
    succeeded, the first 500 characters of its error."""
    row = (
        model.objects.filter(pk=pk)
        .values(
            "started_at", "finished_at", "strategy", "symbol", "timeframe", "error", *columns, *CONTEXT_VALUES
        )
        .first()
    )
    if row is None:
        return
    execution = _seconds(row["started_at"], row["finished_at"])
    metrics.job_finished(model.JOB_KIND, status, seconds=execution)
    fields = {f"{event}_id": pk, **context_fields(row), "status": str(status), **describe(row, execution)}
    if status != "succeeded" and row["error"]:
        fields["error"] = row["error"][:500]
    log.log(_LEVELS.get(status, logging.ERROR), f"{event}_{_EVENTS[status]}", **fields)


def run_finished(pk: int, status: str) -> None:
    from backtests.models import BacktestRun

    def describe(row, execution) -> dict:
        queue_wait = _seconds(row["queued_at"], row["started_at"])
        fields = {
            "strategy": row["strategy"],
            "symbol": row["symbol"],
            "timeframe": row["timeframe"],
            "execution_time_seconds": _rounded(execution),
            "queue_wait_seconds": _rounded(queue_wait),
            "attempts": row["attempts"],
        }
        if status == "succeeded":
            metrics.run_phases(
                queue_wait=queue_wait,
                load=row["load_seconds"],
                engine=row["engine_seconds"],
                save=row["save_seconds"],
            )
            fields.update(
                total_return=row["total_return"],
                sharpe_ratio=row["sharpe_ratio"],
                max_drawdown=row["max_drawdown"],
                total_trades=row["total_trades"],
                candles=row["candle_count"],
                load_seconds=_rounded(row["load_seconds"]),
                engine_seconds=_rounded(row["engine_seconds"]),
                save_seconds=_rounded(row["save_seconds"]),
            )
        return fields

    columns = (
        "queued_at", "load_seconds", "engine_seconds", "save_seconds", "candle_count", "total_return",
        "sharpe_ratio", "max_drawdown", "total_trades", "attempts",
    )  # fmt: skip
    _job_ended("backtest", BacktestRun, pk, status, columns=columns, describe=describe)


def sweep_finished(pk: int, status: str) -> None:
    from optimizers.models import OptimizationRun

    def describe(row, execution) -> dict:
        fields = {
            "method": row["method"],
            "strategy": row["strategy"],
            "symbol": row["symbol"],
            "timeframe": row["timeframe"],
            "evaluated": row["evaluated"],
            "total_combinations": row["total_combinations"],
            "eval_seconds": _rounded(row["eval_seconds"]),
            "execution_time_seconds": _rounded(execution),
        }
        if status == "succeeded":
            fields.update(objective=row["objective_metric"], best_objective=row["best_objective"])
        return fields

    columns = (
        "method",
        "evaluated",
        "total_combinations",
        "eval_seconds",
        "objective_metric",
        "best_objective",
    )
    _job_ended("sweep", OptimizationRun, pk, status, columns=columns, describe=describe)


_BY_KIND = {"run": run_finished, "sweep": sweep_finished}


def on_job_finished(sender, pk: int, status: str, **_kwargs) -> None:
    record = _BY_KIND.get(getattr(sender, "JOB_KIND", ""))
    if record is not None:
        record(pk, status)


def connect() -> None:
    job_finished.connect(on_job_finished, dispatch_uid="observability-job-finished")

"""django-q2 entry points. They take ids (arguments are pickled and signed) and call one service."""

from __future__ import annotations

from backtests import services
from backtests.models import BacktestRun
from jobs.context import job_log_context


def execute_run(run_id: int) -> str:
    with job_log_context(BacktestRun.objects.filter(pk=run_id), id_key="backtest_id"):
        outcome = services.run_execute(run_id=run_id)
    return f"run {outcome.run_id}: {outcome.status} {outcome.message}".strip()

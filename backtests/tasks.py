"""django-q2 entry points. They take ids (arguments are pickled and signed) and call one service."""

from __future__ import annotations

from backtests import services


def execute_run(run_id: int) -> str:
    outcome = services.run_execute(run_id=run_id)
    return f"run {outcome.run_id}: {outcome.status} {outcome.message}".strip()

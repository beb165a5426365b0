"""Write paths for sweeps, one module per phase:

- ``plan``: what a sweep's config means (``sweep_plan``), ``SweepError``;
- ``create``: ``sweep_create`` enumerates the combinations (grid, random) into chunks
  of ``chunk_size`` and rings the coordinator;
- ``coordinator``: ``sweep_coordinate`` (a task, idempotent) starts the sweep, checks
  the candles, rings the chunks not done; for a genetic sweep it creates and scores one
  generation at a time; once nothing is left it finalises: validation, best, status;
- ``chunks``: ``chunk_execute`` claims a chunk (one winner, with a heartbeat), evaluates
  it with the parallel kernel and stores its trials, progress and best under the sweep
  row's lock; the completion that leaves no chunk rings the coordinator again;
- ``lifecycle``: resume, cancel, and what the housekeeper (``jobs``) does for sweeps:
  requeue chunks whose worker died, give up on one that keeps killing its worker, ring
  the coordinator of a sweep that stopped moving;
- ``overfitting``: when a sweep ends, its PBO, deflated Sharpe ratio, bootstrap
  interval, edge flags and verdict; the warnings promote returns;
- ``promote``: a trial becomes the next version of the Backtest spec, and a run of it.

docs/sweeps.md has the long form.
"""

from optimizers.services.chunks import ChunkOutcome, chunk_execute, evaluator_for
from optimizers.services.coordinator import sweep_coordinate
from optimizers.services.create import sweep_create, sweep_spec_for
from optimizers.services.lifecycle import sweep_cancel, sweep_resume
from optimizers.services.plan import Plan, SweepError, sweep_config, sweep_plan
from optimizers.services.promote import Promotion, sweep_promote
from optimizers.services.queue import send_coordinator

__all__ = [
    "ChunkOutcome",
    "Plan",
    "Promotion",
    "SweepError",
    "chunk_execute",
    "evaluator_for",
    "send_coordinator",
    "sweep_cancel",
    "sweep_config",
    "sweep_coordinate",
    "sweep_create",
    "sweep_plan",
    "sweep_promote",
    "sweep_resume",
    "sweep_spec_for",
]

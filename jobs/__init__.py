"""Jobs: the lifecycle every queued unit of work shares (backtest runs, sweeps, sweep chunks).

- ``models``: abstract models with the statuses and guarded transitions.
- ``doorbell``: sending a task to django-q2; the database row is the source of truth
  and the broker only rings the bell, so a lost or failed send is re-rung later.
- ``heartbeat``: a running job tells the database it is alive.
- ``housekeeping``: requeues jobs whose heartbeat stopped and re-rings queued jobs
  whose task is not waiting in the broker; run by every ``qcluster`` (this app's
  command, which also waits for PostgreSQL and Redis before it starts).
- ``follow``: the ``--wait`` loop of the CLI commands.

docs/operations.md says what is guaranteed and when the housekeeper acts.
"""

"""Jobs: the lifecycle every queued unit of work shares (backtest runs, sweeps, sweep chunks).

- ``models``: abstract models with the statuses and guarded transitions.
- ``doorbell``: sending a task to django-q2; the database row is the source of truth
  and the broker only rings the bell, so a lost or failed send is re-rung later.
- ``heartbeat``: a running job tells the database it is alive.
- ``housekeeping``: requeues jobs whose heartbeat stopped and re-rings queued jobs
  whose task is not waiting in the broker; run by every ``qcluster`` (this app's
  command, which also waits for PostgreSQL and Redis before it starts).
- ``follow``: the ``--wait`` loop of the CLI commands, and the queue-and-follow path
  (options, queued line, end) that ``backtest NAME`` and ``sweep NAME`` share.
- ``models.MarketJob``: the fields a run and a sweep both have (config, candle count,
  coverage, warnings) and their owned manager.
- ``api``: the list / detail / create / cancel of a job kind's API, its spec reference
  and absolute links; ``admin_columns``: the read-only admin pages, the market and
  metric columns of runs, sweeps and trials.

docs/operations.md says what is guaranteed and when the housekeeper acts.
"""

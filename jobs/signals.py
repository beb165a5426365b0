"""The jobs' signals, for what listens from above (metrics, logs) without jobs knowing it.

- ``job_finished``: sent once a job reached a final status, after its transaction
  commits, by the guarded transition of ``jobs.models.Job`` that made the change, with
  the concrete model as ``sender`` and ``pk`` and ``status`` as arguments. Metrics and
  the ``backtest_completed`` log event listen (``backtest_project.observability.events``).
- ``cluster_started``: sent by ``manage.py qcluster`` in its main process once the
  cluster runs (no arguments). The worker's ``/metrics`` server starts on it
  (``backtest_project.observability.scrape``).
"""

from __future__ import annotations

from django.dispatch import Signal

job_finished = Signal()
cluster_started = Signal()

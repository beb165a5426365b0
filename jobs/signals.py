"""``job_finished``: sent once a job reached a final status, after its transaction commits.

Sent by the guarded transitions of ``jobs.models.Job`` (only by the call that made the
change), with the concrete model as ``sender`` and ``pk`` and ``status`` as arguments.
Metrics and the ``backtest_completed`` log event listen to it
(``backtest_project.observability.events``); a job's own code needs to know nothing of them.
"""

from __future__ import annotations

from django.dispatch import Signal

job_finished = Signal()

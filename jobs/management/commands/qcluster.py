"""``manage.py qcluster``: django-q2's cluster, started once its services answer, with the
job housekeeper beside it.

This app comes before ``django_q`` in INSTALLED_APPS, so this command replaces
django-q2's own (same name, same options). The differences:

- it waits for PostgreSQL and the broker (Redis) instead of exiting when one is not up
  yet (a machine that boots, a compose file that starts everything at once), saying
  what it waits for;
- while the cluster runs, this (main) process runs ``jobs.housekeeping.housekeeping_pass``
  every JOB_HOUSEKEEPING_SECONDS: dead workers' jobs are requeued and lost tasks re-sent;
- once the cluster runs it sends ``jobs.signals.cluster_started`` (with METRICS_PORT
  set, the workers' ``/metrics`` is served from this process on it; docs/operations.md).

What it says goes to the log (JSON lines in production), like the cluster's own lines.
"""

from __future__ import annotations

import logging
import time

from django.conf import settings
from django.db import connections
from django_q.cluster import Cluster
from django_q.management.commands.qcluster import Command as DjangoQCommand

from jobs.housekeeping import housekeeping_pass
from jobs.services_wait import wait_for_services
from jobs.signals import cluster_started

log = logging.getLogger("jobs.qcluster")


class Command(DjangoQCommand):
    help = (
        "Start a django-q2 cluster once PostgreSQL and the broker answer, and run the job "
        "housekeeper beside it (requeues dead workers' jobs, re-sends lost tasks)."
    )

    def handle(self, *args, **options):
        import os

        settings.SECRET_KEY  # noqa: B018 (signing needs it: fail now, not in a worker)
        if options.get("cluster_name"):
            os.environ["Q_CLUSTER_NAME"] = options["cluster_name"]
        wait_for_services(log.warning)
        # The sentinel forks the workers: no connection of this process may be shared.
        connections.close_all()
        cluster = Cluster()
        cluster.start()
        if options.get("run_once", False):
            cluster.stop()
            return
        cluster_started.send(sender=self.__class__)
        self._housekeep(cluster)

    def _housekeep(self, cluster: Cluster) -> None:
        every = float(settings.JOB_HOUSEKEEPING_SECONDS)
        while cluster.sentinel is not None and cluster.sentinel.is_alive():
            try:
                housekeeping_pass()
            except Exception as exc:  # the database may be restarting: try again next time
                log.warning("housekeeping: %s: %s", type(exc).__name__, exc)
                connections.close_all()
            deadline = time.monotonic() + every
            while (
                time.monotonic() < deadline and cluster.sentinel is not None and cluster.sentinel.is_alive()
            ):
                time.sleep(0.2)

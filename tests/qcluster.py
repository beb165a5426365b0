"""A real django-q2 ``qcluster`` in a subprocess, on the test database and Redis.

For the tests where the queue itself matters (not only the task functions): the
cluster shares this test process's database (a transactional test's committed
rows), Redis, queue name and cache prefix. Use with
``@pytest.mark.django_db(transaction=True)`` and ``monkeypatch.setattr(Conf, "SYNC",
False)`` so that ``async_task`` in the test process goes to Redis.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from django.conf import settings
from django.db import connection

REPO = Path(__file__).resolve().parent.parent


class Cluster:
    """``manage.py qcluster`` with ``workers`` worker processes; ``stop()`` or ``kill()``."""

    def __init__(self, *, workers: int = 1, extra_env: dict[str, str] | None = None):
        url = urlsplit(settings.DATABASE_URL)
        test_db = urlunsplit(url._replace(path="/" + connection.settings_dict["NAME"]))
        env = dict(
            os.environ,
            DJANGO_SETTINGS_MODULE="backtest_project.settings_test",
            DATABASE_URL=test_db,
            REDIS_URL=settings.REDIS_URL,
            Q_SYNC="0",
            Q_WORKERS=str(workers),
            Q_CLUSTER_NAME=settings.Q_CLUSTER["name"],
            CACHE_KEY_PREFIX=settings.CACHES["default"].get("KEY_PREFIX", ""),
            PYTHONUNBUFFERED="1",
            # the test-only strategies, and a housekeeper quick enough for a test
            BACKTEST_TEST_PLUGINS="1",
            JOB_HEARTBEAT_SECONDS="1",
            JOB_STALE_SECONDS="4",
            JOB_RESEND_SECONDS="3",
            JOB_HOUSEKEEPING_SECONDS="1",
            **(extra_env or {}),
        )
        self.proc = subprocess.Popen(
            [sys.executable, str(REPO / "manage.py"), "qcluster"],
            cwd=REPO,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
        self.log: list[str] = []
        self.ready = threading.Event()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in self.proc.stderr:
            self.log.append(line)
            if "ready for work" in line:
                self.ready.set()

    def wait_ready(self, timeout: float = 60) -> None:
        if not self.ready.wait(timeout):
            raise AssertionError("qcluster did not start:\n" + self.tail())

    def tail(self, lines: int = 30) -> str:
        return "".join(self.log[-lines:])

    def kill(self) -> None:
        """SIGKILL the whole process group, as a crash or a machine restart would."""
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                # a graceful stop may wait for its broker poll; nothing is in flight
                self.proc.wait(timeout=3)
            except subprocess.TimeoutExpired:
                self.kill()

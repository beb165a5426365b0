"""A real django-q2 ``qcluster`` in a subprocess, on the test database and Redis.

For the tests where the queue itself matters (not only the task functions): the
cluster (``Cluster``) shares this test process's database (a transactional test's
committed rows), Redis, queue name and cache prefix. Use with
``@pytest.mark.django_db(transaction=True)`` and ``monkeypatch.setattr(Conf, "SYNC",
False)`` so that ``async_task`` in the test process goes to Redis.

``QclusterProcess``, the process alone (start, wait until ready, stop, kill), needs
no test settings: the bench scripts start their clusters with it too. It lives here
rather than in ``jobs/`` because nothing in the product starts a qcluster from Python
(a supervisor or ``scripts/serve.sh`` does); the bench already leans on the tests'
folder for the test-only strategies (``tests/plugins``).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from django.conf import settings
from django.db import connection

REPO = Path(__file__).resolve().parent.parent


def child_env(**extra: str) -> dict[str, str]:
    """The environment of a ``manage.py`` subprocess on this test process's database
    (a transactional test's committed rows), Redis, queue name, cache prefix and
    metrics directory (its /metrics sees the child's counts)."""
    url = urlsplit(settings.DATABASE_URL)
    test_db = urlunsplit(url._replace(path="/" + connection.settings_dict["NAME"]))
    env = dict(
        os.environ,
        DJANGO_SETTINGS_MODULE="backtest_project.settings_test",
        DATABASE_URL=test_db,
        REDIS_URL=settings.REDIS_URL,
        Q_CLUSTER_NAME=settings.Q_CLUSTER["name"],
        CACHE_KEY_PREFIX=settings.CACHES["default"].get("KEY_PREFIX", ""),
        PYTHONUNBUFFERED="1",
        PROMETHEUS_MULTIPROC_DIR=os.environ["PROMETHEUS_MULTIPROC_DIR"],
        TEST_METRICS_DIR_SHARED="1",
    )
    env.update(extra)  # may override any of the above (a private Redis)
    return env


class QclusterProcess:
    """``manage.py qcluster`` with ``workers`` worker processes in its own process group,
    on the environment ``env``; ``wait_ready()``, then ``stop()`` or ``kill()``.

    It needs nothing of Django or the test settings, so the bench scripts start their
    clusters with it too (``bench/sweep.py``, ``bench/service.py``, ``bench/recovery.py``).
    Readiness is read from the workers' "ready for work" log lines, so the cluster logs
    at INFO whatever ``env`` says (a bench sets LOG_LEVEL=WARNING for its own process;
    the lines go to ``log``, not to the terminal)."""

    def __init__(self, env: dict[str, str], *, workers: int = 1):
        env = dict(env, Q_SYNC="0", Q_WORKERS=str(workers), PYTHONUNBUFFERED="1", LOG_LEVEL="INFO")
        self.workers = workers
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
        self._ready_lines = 0
        self._ready = threading.Event()
        # read all along, so that the pipe never fills up
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in self.proc.stderr:  # type: ignore[union-attr]
            self.log.append(line)
            if "ready for work" in line:
                self._ready_lines += 1
                if self._ready_lines >= self.workers:
                    self._ready.set()

    def wait_ready(self, timeout: float = 60) -> None:
        """Until every worker said it is ready for work."""
        if not self._ready.wait(timeout):
            raise AssertionError("qcluster did not start:\n" + self.tail())

    def wait_for_line(self, text: str, timeout: float = 30) -> None:
        """Until a log line contains ``text``, the cluster staying up meanwhile."""
        deadline = time.monotonic() + timeout
        while not any(text in line for line in self.log):
            assert self.proc.poll() is None, self.tail()
            assert time.monotonic() < deadline, self.tail()
            time.sleep(0.1)

    def tail(self, lines: int = 30) -> str:
        return "".join(self.log[-lines:])

    def kill(self) -> None:
        """SIGKILL the whole process group, as a crash or a machine restart would."""
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()

    def stop(self, grace: float = 3) -> None:
        """SIGTERM the process group; SIGKILL after ``grace`` seconds."""
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                # a graceful stop may wait for its broker poll; nothing is in flight
                self.proc.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                self.kill()


class Cluster(QclusterProcess):
    """A qcluster on this test process's database, Redis and names (``child_env``), with
    the test-only strategies and a housekeeper quick enough for a test."""

    def __init__(self, *, workers: int = 1, extra_env: dict[str, str] | None = None):
        env = child_env(
            BACKTEST_TEST_PLUGINS="1",
            JOB_HEARTBEAT_SECONDS="1",
            JOB_STALE_SECONDS="4",
            JOB_RESEND_SECONDS="3",
            JOB_HOUSEKEEPING_SECONDS="1",
        )
        super().__init__(dict(env, **(extra_env or {})), workers=workers)


def poll_runs(run_ids, *, timeout: float = 120) -> list:
    """The runs ``run_ids`` (by pk) once all are final, or as they are at ``timeout``."""
    from backtests.models import BacktestRun

    deadline = time.monotonic() + timeout
    while True:
        runs = list(BacktestRun.objects.filter(pk__in=run_ids).order_by("pk"))
        if all(run.is_final for run in runs) or time.monotonic() > deadline:
            return runs
        time.sleep(0.2)


class PrivateRedis:
    """A Redis server of one test's own (no persistence), so that the test can stop,
    restart or flush it without touching the Redis the rest of the suite shares."""

    def __init__(self, folder: Path):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.folder = folder
        self.proc: subprocess.Popen | None = None
        self.start()

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def client(self):
        import redis

        return redis.Redis.from_url(self.url)

    def start(self) -> None:
        command = ["redis-server", "--bind", "127.0.0.1", "--port", str(self.port)]
        command += ["--save", "", "--appendonly", "no", "--dir", str(self.folder)]
        self.proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while True:
            try:
                if self.client().ping():
                    return
            except Exception:
                if time.monotonic() > deadline:
                    raise
            time.sleep(0.05)

    def kill(self) -> None:
        """SIGKILL: everything it held is lost (it keeps nothing on disk)."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def restart(self) -> None:
        self.kill()
        self.start()


def broker_to(monkeypatch, url: str) -> None:
    """Make this test process's ``async_task`` use the Redis at ``url`` (a cluster started
    with ``extra_env={"REDIS_URL": url}`` reads from the same queue)."""
    import redis
    from django_q import tasks
    from django_q.brokers.redis_broker import Redis

    def get_broker(list_key=None):
        broker = Redis(list_key=list_key)
        broker.connection = redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=2)
        return broker

    monkeypatch.setattr(tasks, "get_broker", get_broker)

"""scripts/services.sh from a private home: stable ports, restarts found again by a running
site and worker.

The test starts throw-away services of its own (SERVICES_DIR in a mode-700 folder, as a
clone in /root is), a gunicorn site and a qcluster on them; then kills Redis and
PostgreSQL in turn with SIGKILL, runs `services.sh start` again, and waits for /health
to answer 200 again from the same site, never restarted.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import REPO

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("services-script")]

SCRIPT = REPO / "scripts" / "services.sh"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _services(env: dict, *args: str) -> str:
    done = subprocess.run(["bash", str(SCRIPT), *args], env=env, capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def _exported(state: Path) -> dict[str, str]:
    lines = (state / "env").read_text().splitlines()
    return dict(line.removeprefix("export ").split("=", 1) for line in lines)


def _health(port: int) -> tuple[int, dict]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=5) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"{}")
    except OSError as exc:
        return 0, {"error": str(exc)}


def _wait_health(port: int, status: int, timeout: float = 60) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        code, body = _health(port)
        if code == status:
            return body
        assert time.monotonic() < deadline, f"/health stayed {code}: {body}"
        time.sleep(0.5)


@pytest.fixture
def private_services(tmp_path):
    home = tmp_path / "home"
    home.mkdir(mode=0o700)
    state = home / ".services"
    env = {
        **os.environ,
        "SERVICES_DIR": str(state),
        "PG_PORT": str(_free_port()),
        "REDIS_PORT": str(_free_port()),
    }
    env.pop("REDIS_URL", None)
    try:
        yield env, state
    finally:
        subprocess.run(["bash", str(SCRIPT), "stop"], env=env, capture_output=True, timeout=120)
        if (state / "pg").is_symlink():
            shutil.rmtree((state / "pg").resolve().parent, ignore_errors=True)


def test_services_keep_their_ports_and_a_running_site_finds_them_again(private_services):
    env, state = private_services
    _services(env, "start")
    first = _exported(state)
    if os.geteuid() == 0:  # the postgres user cannot enter a mode-700 home: the cluster lives elsewhere
        assert (state / "pg").is_symlink()
    _services(env, "start")
    assert _exported(state) == first

    site_env = {
        **env,
        "DJANGO_SETTINGS_MODULE": "backtest_project.settings",
        "DATABASE_URL": first["DATABASE_URL"],
        "REDIS_URL": first["REDIS_URL"],
        "SECRET_KEY": "services-script-test",
        "DEBUG": "0",
        "STATIC_MANIFEST": "0",
        "BACKTEST_LOCAL_ENV": "",
        "Q_CLUSTER_NAME": f"services-test-{os.getpid()}",
        "JOB_HOUSEKEEPING_SECONDS": "1",
    }
    python = sys.executable
    subprocess.run(
        [python, "manage.py", "migrate", "-v", "0"], cwd=REPO, env=site_env, check=True, timeout=300
    )
    port = _free_port()
    gunicorn = Path(python).with_name("gunicorn")
    processes = [
        subprocess.Popen(
            [
                str(gunicorn),
                "backtest_project.wsgi:application",
                "--bind",
                f"127.0.0.1:{port}",
                "--workers",
                "1",
            ],
            cwd=REPO,
            env=site_env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        ),
        subprocess.Popen(
            [python, "manage.py", "qcluster"],
            cwd=REPO,
            env={**site_env, "Q_WORKERS": "1"},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        ),
    ]
    try:
        _wait_health(port, 200)

        os.kill(int((state / "redis" / "redis.pid").read_text()), signal.SIGKILL)
        assert _wait_health(port, 503)["cache"]["ok"] is False
        _services(env, "start")
        assert _exported(state) == first
        _wait_health(port, 200)

        pg_pid = int((state / "pg" / "data" / "postmaster.pid").read_text().split()[0])
        os.kill(pg_pid, signal.SIGKILL)
        assert _wait_health(port, 503)["database"]["ok"] is False
        _services(env, "start")
        assert _exported(state) == first
        _wait_health(port, 200)
        assert all(process.poll() is None for process in processes)  # never restarted
    finally:
        for process in processes:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in processes:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)

"""`make fuzz`: schemathesis against the live API, bounded, with a fixed seed.

Creates a throw-away database on the project's PostgreSQL (``<name>_fuzz``), migrates
it, seeds it (a non-staff user with a token, the bundled candles, the example specs,
one finished run, one finished sweep), serves the site with gunicorn on a free
loopback port, and runs every schemathesis check over every operation of
/api/schema/ as that user. Exits non-zero on any failure (a 5xx, a response that does
not match the schema, bad input accepted, …). The server, its database and its queue
are removed afterwards whatever happened.

    .venv/bin/python scripts/fuzz.py [--max-examples N] [--seed S] [--keep]

Expects DATABASE_URL and REDIS_URL (``source .services/env``). See docs/commands.md.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

REPO = Path(__file__).resolve().parent.parent
PY = sys.executable
DEFAULT_SEED = 20260412
DEFAULT_MAX_EXAMPLES = 40

SEED_CODE = """
import gzip, tempfile
from django.contrib.auth import get_user_model
from django.core.management import call_command
from rest_framework.authtoken.models import Token

user = get_user_model().objects.create_user("fuzz", password="fuzz-{pw}")
print("TOKEN", Token.objects.create(user=user).key)
with tempfile.NamedTemporaryFile(suffix=".csv") as f:
    f.write(gzip.decompress(open("data/btcusd_15m_2021q4.csv.gz", "rb").read()))
    f.flush()
    call_command("load_candles", f.name, symbol="BTC-USD", timeframe="15m", verbosity=0)
call_command("apply", filename=["specs/examples"], user="fuzz", verbosity=0)
call_command("backtest", "hyperrsi-btc-15m", user="fuzz", wait=True, verbosity=0)
call_command("sweep", "hyperrsi-grid", user="fuzz", wait=True, verbosity=0)
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def admin_sql(url: str, *statements: str) -> None:
    import psycopg

    parts = urlsplit(url)
    with psycopg.connect(urlunsplit(parts._replace(path="/postgres")), autocommit=True) as conn:
        for statement in statements:
            conn.execute(statement)


def wait_for(url: str, proc: subprocess.Popen, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"fuzz: the server exited with {proc.returncode} before answering")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except urllib.error.HTTPError:
            return  # it answers (a 503 only says the queue has no worker: none runs here)
        except OSError:
            time.sleep(0.3)
    raise SystemExit(f"fuzz: {url} did not answer within {seconds:.0f} s")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-examples", type=int, default=DEFAULT_MAX_EXAMPLES, help="per operation")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--keep", action="store_true", help="keep the database (to replay failures)")
    parser.add_argument("st_args", nargs="*", help="more arguments for `st run` (after --)")
    args = parser.parse_args()

    base_url = os.environ.get("DATABASE_URL", "")
    if not base_url.startswith(("postgres://", "postgresql://")) or not os.environ.get("REDIS_URL"):
        raise SystemExit("fuzz: needs DATABASE_URL (PostgreSQL) and REDIS_URL; run `source .services/env`")
    parts = urlsplit(base_url)
    db_name = f"{parts.path.lstrip('/')}_fuzz_{os.getpid()}"
    db_url = urlunsplit(parts._replace(path="/" + db_name))
    namespace = f"bt-fuzz-{os.getpid()}"
    env = dict(
        os.environ,
        DJANGO_SETTINGS_MODULE="backtest_project.settings",
        DATABASE_URL=db_url,
        SECRET_KEY=secrets.token_urlsafe(32),
        DEBUG="0",
        BACKTEST_LOCAL_ENV="",
        STATIC_MANIFEST="0",
        CACHE_KEY_PREFIX=namespace,
        Q_CLUSTER_NAME=namespace,
        Q_SYNC="1",
        # The fuzzer sends thousands of requests as one user: throttling is tested
        # by the test suite, not here.
        API_THROTTLE_USER="1000000/minute",
        API_THROTTLE_ANON="1000000/minute",
        AUTH_FAILURE_LIMIT="1000000",
        PYTHONUNBUFFERED="1",
        LOG_FORMAT="json",  # one record a line: server_errors() reads them
    )
    admin_sql(db_url, f'DROP DATABASE IF EXISTS "{db_name}"', f'CREATE DATABASE "{db_name}"')
    server = server_log = None
    log_path = REPO / "var" / "log" / "fuzz-server.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    try:
        began = time.monotonic()
        subprocess.run([PY, "manage.py", "migrate", "--noinput", "-v", "0"], cwd=REPO, env=env, check=True)
        seeded = subprocess.run(
            [PY, "manage.py", "shell", "-c", SEED_CODE.format(pw=secrets.token_hex(8))],
            cwd=REPO,
            env=env,
            check=True,
            capture_output=True,
            text=True,
        )
        token = next(line.split()[1] for line in seeded.stdout.splitlines() if line.startswith("TOKEN "))
        print(f"fuzz: database {db_name} migrated and seeded in {time.monotonic() - began:.1f} s")

        port = free_port()
        # Queued work stays in this run's own (unserved) queue: no worker runs during fuzzing.
        server_env = dict(env, Q_SYNC="0")
        server_log = open(log_path, "w")  # noqa: SIM115 (closed in finally)
        server = subprocess.Popen(
            [
                str(REPO / ".venv" / "bin" / "gunicorn"),
                *("-c", "deploy/gunicorn.conf.py"),  # the deployment's, its lines JSON too
                *("--bind", f"127.0.0.1:{port}", "--workers", "2", "--timeout", "60"),
            ],
            cwd=REPO,
            env=server_env,
            stdout=server_log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        origin = f"http://127.0.0.1:{port}"
        wait_for(f"{origin}/health", server)
        command = [
            str(REPO / ".venv" / "bin" / "st"),
            "--no-color",
            "--config-file",
            str(REPO / "scripts" / "fuzz.toml"),
            "run",
            f"{origin}/api/schema/",
            "--checks",
            "all",
            "--seed",
            str(args.seed),
            "--max-examples",
            str(args.max_examples),
            # one worker: the same requests in the same order every run (the stateful
            # phase's objects change what later requests find)
            "--workers",
            "1",
            "--header",
            f"Authorization: Token {token}",
            *args.st_args,
        ]
        print(
            "fuzz:", " ".join(c if not c.startswith("Authorization") else "Authorization: …" for c in command)
        )
        code = subprocess.run(command, cwd=REPO, env=env).returncode
        errors = server_errors(log_path)
        if errors:
            print(f"fuzz: the server logged errors ({log_path}):\n{errors}")
        return code or (1 if errors else 0)
    finally:
        if server is not None and server.poll() is None:
            os.killpg(server.pid, signal.SIGTERM)
            try:
                server.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(server.pid, signal.SIGKILL)
                server.wait()
        if server_log is not None:
            server_log.close()
        if not args.keep:
            admin_sql(db_url, f'DROP DATABASE IF EXISTS "{db_name}" WITH (FORCE)')
        _queue_drop(env)


def server_errors(log_path: Path) -> str:
    """The server's error records (JSON log lines at level error or critical, with their
    tracebacks), and anything else it printed that is not a JSON record (a crash)."""
    out = []
    for line in log_path.read_text(errors="replace").splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            out.append(line)
            continue
        if not isinstance(record, dict) or record.get("level") not in ("error", "critical"):
            continue
        if "/health" in str(record.get("request", "")) + str(record.get("event", "")):
            continue  # a 503: no worker runs here, on purpose
        out.append(json.dumps(record, indent=1))
    return "\n".join(out)


def _queue_drop(env: dict[str, str]) -> None:
    """Remove this run's queue and cache keys from Redis (the server's unserved tasks)."""
    import redis

    client = redis.Redis.from_url(env["REDIS_URL"])
    try:
        for key in client.scan_iter(match=f"*{env['Q_CLUSTER_NAME']}*", count=1000):
            client.delete(key)
    finally:
        client.close()


if __name__ == "__main__":
    sys.exit(main())

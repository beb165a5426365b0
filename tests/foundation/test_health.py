"""The foundation: real services are used, /health reports each part."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from django.db import connection

from tests.conftest import REPO


@pytest.mark.django_db
def test_it_runs_on_postgres_with_timescaledb():
    assert connection.vendor == "postgresql"
    with connection.cursor() as cursor:
        cursor.execute("SELECT extversion FROM pg_extension WHERE extname = 'timescaledb'")
        row = cursor.fetchone()
    assert row is not None, "timescaledb is not in pg_extension"
    assert row[0].startswith("2.")


def test_it_uses_redis_for_cache_and_queue(settings):
    from django.core.cache import caches
    from django_redis.cache import RedisCache

    # django-prometheus's instrumented django-redis backend (docs/operations.md)
    assert isinstance(caches["default"], RedisCache)
    assert settings.Q_CLUSTER.get("django_redis") == "default"
    assert settings.Q_CLUSTER["retry"] > settings.Q_CLUSTER["timeout"]


@pytest.mark.django_db
def test_health_reports_database_cache_and_queue(client):
    response = client.get("/health")
    body = response.json()
    assert response.status_code == 200, body
    assert body["status"] == "ok"
    assert body["database"] == {
        "ok": True,
        "engine": "postgresql",
        "version": body["database"]["version"],
        "timescaledb": body["database"]["timescaledb"],
    }
    assert body["database"]["timescaledb"]
    assert body["cache"] == {"ok": True, "backend": "RedisCache"}
    assert body["queue"]["ok"] is True


@pytest.mark.django_db
def test_health_is_503_when_the_queue_has_no_worker(client, monkeypatch, settings):
    monkeypatch.setitem(settings.Q_CLUSTER, "sync", False)
    response = client.get("/health")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "down"
    assert body["queue"]["ok"] is False
    assert "qcluster" in body["queue"]["error"]


def _manage(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=REPO, env=env, capture_output=True, text=True, timeout=300
    )


def _clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL", "Q_SYNC"}}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    env.update(extra)
    return env


def test_it_refuses_to_start_without_secret_key_when_debug_is_off():
    env = _clean_env(DEBUG="0")
    env.pop("SECRET_KEY", None)
    result = _manage(["check"], env)
    assert result.returncode != 0
    assert "SECRET_KEY is not set" in result.stderr


def test_embedded_default_runs_on_sqlite_locmem_and_orm_broker(tmp_path):
    """A newcomer with no servers: SQLite file, local-memory cache, ORM broker."""
    db = tmp_path / "embedded.sqlite3"
    env = _clean_env(DEBUG="1", DATABASE_URL=f"sqlite:///{db}")
    migrate = _manage(["migrate", "--noinput", "-v", "0"], env)
    assert migrate.returncode == 0, migrate.stderr
    script = (
        "import json; from django.test import Client; from django.conf import settings;"
        "r = Client().get('/health', HTTP_HOST='localhost'); b = r.json();"
        "print(json.dumps({'status': r.status_code, 'body': b,"
        " 'broker': 'orm' in settings.Q_CLUSTER}))"
    )
    result = _manage(["shell", "-c", script], env)
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout.strip().splitlines()[-1])
    assert out["broker"] is True
    assert out["body"]["database"]["engine"] == "sqlite"
    assert out["body"]["cache"] == {"ok": True, "backend": "LocMemCache"}
    # No qcluster runs in this test, so the queue is reported down: 503 with a reason.
    assert out["status"] == 503
    assert out["body"]["queue"]["ok"] is False
    assert db.exists()


def test_django_system_checks_pass():
    """Admin and model definitions are valid (runserver and every command run these)."""
    from django.core.management import call_command

    call_command("check", fail_level="WARNING")


@pytest.mark.django_db
def test_models_and_migrations_agree():
    """Every model change has its migration (makemigrations --check exits non-zero otherwise)."""
    from django.core.management import call_command

    call_command("makemigrations", "--check", "--dry-run", verbosity=0)

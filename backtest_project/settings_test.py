"""Settings for the test suite: the real settings plus test-only defaults.

Tests run against the project's PostgreSQL + TimescaleDB and Redis started by
`make services` (their URLs are read from .services/env when the environment does
not already carry them). django-q2 runs tasks synchronously here, since
override_settings does not reach its Conf; the tests that need a real `qcluster`
start one in a subprocess with Q_SYNC=0.
"""

import os
from pathlib import Path

_SERVICES_ENV = Path(__file__).resolve().parent.parent / ".services" / "env"
if "DATABASE_URL" not in os.environ and _SERVICES_ENV.exists():
    for line in _SERVICES_ENV.read_text().splitlines():
        key, _, value = line.removeprefix("export ").partition("=")
        if key and value:
            os.environ.setdefault(key.strip(), value.strip())

os.environ.setdefault("SECRET_KEY", "test-only-secret-key")
os.environ.setdefault("Q_SYNC", "1")
# Tests render admin pages without running collectstatic first.
os.environ.setdefault("STATIC_MANIFEST", "0")
# Each test process (each pytest-xdist worker, each suite running at once) gets its
# own cache namespace and queue name, so one clearing its cache or draining its
# queue never touches another's. A qcluster started by a test inherits both.
_WORKER = f"{os.environ.get('PYTEST_XDIST_WORKER', 'main')}-{os.getpid()}"
os.environ.setdefault("CACHE_KEY_PREFIX", f"bt-test-{_WORKER}")
os.environ.setdefault("Q_CLUSTER_NAME", f"bt-test-{_WORKER}")

from backtest_project.settings import *  # noqa: E402,F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # fast user creation in tests

# One test database per pytest process: several suites may run at once on one
# cluster (developers, CI, xdist workers — pytest-django appends gw0, gw1 to this).
if USES_POSTGRES:  # noqa: F405
    DATABASES["default"]["TEST"] = {"NAME": f"test_{DATABASES['default']['NAME']}_{os.getpid()}"}  # noqa: F405

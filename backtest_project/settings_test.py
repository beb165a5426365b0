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

# Each test process writes its metrics into a directory of its own, removed when it
# exits (xdist workers inherit the controller's environment, so the variable is set
# here, not inherited). A qcluster started by a test is handed its parent's directory
# (tests/qcluster.py sets TEST_METRICS_DIR_SHARED) and shares it, as gunicorn and
# qcluster share one under scripts/serve.sh.
if os.environ.get("TEST_METRICS_DIR_SHARED") != "1":
    import atexit
    import shutil
    import tempfile

    _metrics_dir = tempfile.mkdtemp(prefix=f"bt-test-metrics-{os.getpid()}-")
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = _metrics_dir
    atexit.register(shutil.rmtree, _metrics_dir, ignore_errors=True)
os.environ.setdefault("Q_SYNC", "1")
# Tests render admin pages without running collectstatic first.
os.environ.setdefault("STATIC_MANIFEST", "0")
# A test makes many requests as one user from one address: the throttles stay out of
# the way (tests/foundation/test_throttling.py lowers them where it means to hit them).
os.environ.setdefault("API_THROTTLE_ANON", "100000/minute")
os.environ.setdefault("API_THROTTLE_USER", "100000/minute")
os.environ.setdefault("AUTH_FAILURE_LIMIT", "100000")

from backtest_project.settings import *  # noqa: E402,F403

# Each test process (each pytest-xdist worker, each suite running at once) gets its
# own cache namespace and queue name, so one clearing its cache or draining its
# queue never touches another's. They are set here, not in os.environ: xdist
# workers inherit the controller's environment and would all share one name. A
# qcluster started by a test is handed its parent's names as CACHE_KEY_PREFIX and
# Q_CLUSTER_NAME (tests/qcluster.py), which win when set.
TEST_NAMESPACE = f"bt-test-{os.environ.get('PYTEST_XDIST_WORKER', 'main')}-{os.getpid()}"
if "CACHE_KEY_PREFIX" not in os.environ:
    CACHES["default"]["KEY_PREFIX"] = TEST_NAMESPACE  # noqa: F405
if "Q_CLUSTER_NAME" not in os.environ:
    Q_CLUSTER["name"] = TEST_NAMESPACE  # noqa: F405

# A qcluster started by a crash test runs the test-only strategies (tests/plugins).
if os.environ.get("BACKTEST_TEST_PLUGINS") == "1":
    INSTALLED_APPS = [*INSTALLED_APPS, "tests.plugins"]  # noqa: F405

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # fast user creation in tests

# One test database per pytest process: several suites may run at once on one
# cluster (developers, CI, xdist workers — pytest-django appends gw0, gw1 to this).
if USES_POSTGRES:  # noqa: F405
    DATABASES["default"]["TEST"] = {"NAME": f"test_{DATABASES['default']['NAME']}_{os.getpid()}"}  # noqa: F405

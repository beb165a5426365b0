"""Fixtures shared by the whole suite."""

from __future__ import annotations

import gzip
import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent

# manage.py run by a test (subprocesses inherit this) must not pick up the developer's
# var/local.env from `make run`: each test states the environment it means.
os.environ["BACKTEST_LOCAL_ENV"] = ""
SAMPLE_CSV_GZ = REPO / "data" / "btcusd_15m_2021q4.csv.gz"


@pytest.fixture(scope="session")
def sample_csv_path(tmp_path_factory) -> Path:
    """The bundled real BTC 15m sample, decompressed to a temporary CSV file."""
    path = tmp_path_factory.mktemp("sample") / "btcusd_15m_2021q4.csv"
    path.write_bytes(gzip.decompress(SAMPLE_CSV_GZ.read_bytes()))
    return path


@pytest.fixture
def sleepy():
    """The test-only strategy ``test_sleepy`` (tests/plugins/sleepy.py), registered for
    the test; a qcluster started by tests/qcluster.py has it too."""
    from tests.plugins import sleepy as plugin

    plugin.register()
    yield plugin.NAME
    plugin.unregister()


@pytest.fixture
def alice(db):
    """A user who is not staff (password ``tests.factories.PASSWORD``)."""
    from tests.factories import make_user

    return make_user("alice")


@pytest.fixture
def bob(db):
    """Another user who is not staff: alice's objects are not his."""
    from tests.factories import make_user

    return make_user("bob")


@pytest.fixture
def staff(db):
    """A staff user (``root``): sees everyone's runs and sweeps."""
    from tests.factories import make_user

    return make_user("root", staff=True)


@pytest.fixture(autouse=True)
def _clear_cache(request):
    """Each database test starts with an empty cache (Redis is shared across tests)."""
    if "django_db" in request.keywords or "db" in request.fixturenames:
        from django.core.cache import cache

        # delete_pattern keeps to this worker's KEY_PREFIX; clear() would FLUSHDB
        # and wipe the other xdist worker's keys and the task queue.
        if hasattr(cache, "delete_pattern"):
            cache.delete_pattern("*")
        else:
            cache.clear()
    yield

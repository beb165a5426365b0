"""Fixtures of the foundation tests: a user who is not staff and an API client as them."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from tests.factories import make_user


@pytest.fixture
def alice(db):
    return make_user("alice")


@pytest.fixture
def api(alice) -> APIClient:
    client = APIClient()
    client.force_authenticate(alice)
    return client

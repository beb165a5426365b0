"""Fixtures of the foundation tests: an API client as alice (tests/conftest.py), who is not staff."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient


@pytest.fixture
def api(alice) -> APIClient:
    client = APIClient()
    client.force_authenticate(alice)
    return client

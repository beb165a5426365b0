"""Fixtures of the run tests that go through a real queue."""

from __future__ import annotations

import pytest
from django.core.management import call_command

from specs.services import spec_apply
from tests.conftest import REPO
from tests.factories import make_user, token_client


@pytest.fixture
def example(sample_csv_path):
    """The example specs applied by a user, the bundled sample loaded; ``(owner, client)``
    with an API client authenticated as that user."""
    owner = make_user("e2e")
    spec_apply(
        text=(REPO / "specs" / "examples" / "hyperrsi.yaml").read_text(), owner=owner, source="hyperrsi.yaml"
    )
    call_command(
        "load_candles", str(sample_csv_path), "--symbol", "BTC-USD", "--timeframe", "15m", verbosity=0
    )
    return owner, token_client(owner)

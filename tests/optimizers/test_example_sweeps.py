"""The example sweeps of specs/examples, run on the bundled BTC sample: each ends with an
overfitting verdict that the sweep page and the API show."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command
from django.test import Client

from specs.models import Spec
from tests.optimizers.conftest import finished_sweep
from tests.specs.test_apply import EXAMPLES

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("name", ["hyperrsi-grid", "ema-cross-genetic"])
def test_an_example_sweep_shows_its_verdict(
    name, sample_csv_path, django_user_model, django_capture_on_commit_callbacks
):
    owner = django_user_model.objects.create_user("quant", password="pw-quant", is_superuser=True)
    call_command(
        "load_candles", str(sample_csv_path), "--symbol", "BTC-USD", "--timeframe", "15m", stdout=StringIO()
    )
    call_command("apply", "-f", str(EXAMPLES), "--user", "quant", stdout=StringIO())
    spec = Spec.objects.filter(name=name).latest("version")
    run = finished_sweep(spec, owner, django_capture_on_commit_callbacks)
    report = run.overfitting
    assert report["verdict"] in ("overfit", "doubtful", "credible"), report
    assert report["pbo"]["pbo"] is not None and report["deflated_sharpe"]["dsr"] is not None
    assert run.validation["type"] == "out_of_sample"

    web = Client()
    web.login(username="quant", password="pw-quant")
    page = web.get(f"/sweeps/{run.pk}/").content.decode()
    assert f'data-verdict="{report["verdict"]}"' in page
    assert report["verdict_text"].split(":")[0] in page

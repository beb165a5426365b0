"""Who sees what: login required, own runs only (staff all), 404 for the rest, and the list."""

from __future__ import annotations

import pytest
from django.urls import reverse

from jobs.models import JobStatus
from specs.models import SpecKind
from tests.factories import backtest_data, make_run, make_spec
from tests.reports.conftest import login

pytestmark = pytest.mark.django_db


@pytest.fixture
def alices_run(alice):
    return make_run(alice, make_spec(alice, SpecKind.BACKTEST, "a", backtest_data("a")), bars=400)


@pytest.fixture
def bobs_run(bob):
    return make_run(bob, make_spec(bob, SpecKind.BACKTEST, "b", backtest_data("b")), bars=400)


def _urls(run_id: int, other_id: int) -> list[str]:
    return [
        reverse("reports:run-list"),
        reverse("reports:run-report", args=[run_id]),
        reverse("reports:run-pdf", args=[run_id]),
        reverse("reports:compare") + f"?ids={run_id},{other_id}",
    ]


def test_it_sends_anonymous_visitors_to_the_login_page(client, alices_run, bobs_run):
    for url in _urls(alices_run.pk, bobs_run.pk):
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith("/accounts/login/?next="), url


def test_it_redirects_the_site_root_to_the_run_list(client):
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"] == reverse("reports:run-list") == "/runs/"


def test_it_answers_404_for_another_users_run(client, alice, alices_run, bobs_run):
    login(client, alice)
    assert client.get(reverse("reports:run-report", args=[bobs_run.pk])).status_code == 404
    assert client.get(reverse("reports:run-pdf", args=[bobs_run.pk])).status_code == 404
    compare = reverse("reports:compare") + f"?ids={alices_run.pk},{bobs_run.pk}"
    assert client.get(compare).status_code == 404
    assert client.get(reverse("reports:run-report", args=[999_999])).status_code == 404


def test_it_shows_staff_every_run(client, staff, alices_run, bobs_run):
    login(client, staff)
    assert client.get(reverse("reports:run-report", args=[bobs_run.pk])).status_code == 200
    html = client.get(reverse("reports:run-list")).content.decode()
    assert f'href="/runs/{alices_run.pk}/"' in html and f'href="/runs/{bobs_run.pk}/"' in html


def test_it_lists_only_the_users_own_runs(client, alice, alices_run, bobs_run):
    login(client, alice)
    html = client.get(reverse("reports:run-list")).content.decode()
    assert f'href="/runs/{alices_run.pk}/"' in html
    assert f'href="/runs/{bobs_run.pk}/"' not in html
    assert "1 run." in html


def test_it_filters_the_run_list_like_the_admin(client, alice, alices_run):
    eth = make_spec(alice, SpecKind.BACKTEST, "e", backtest_data("e", symbol="ETH-USDT-SWAP", timeframe="4h"))
    eth_run = make_run(alice, eth, bars=300)
    failed = make_run(alice, eth, status=JobStatus.FAILED)
    login(client, alice)

    def listed(query: str) -> set[int]:
        html = client.get(reverse("reports:run-list") + query).content.decode()
        return {run.pk for run in (alices_run, eth_run, failed) if f'href="/runs/{run.pk}/"' in html}

    assert listed("") == {alices_run.pk, eth_run.pk, failed.pk}
    assert listed("?symbol=ETH-USDT-SWAP") == {eth_run.pk, failed.pk}
    assert listed("?symbol=ETH-USDT-SWAP&status=succeeded") == {eth_run.pk}
    assert listed("?timeframe=1h") == {alices_run.pk}
    assert listed("?strategy=ema_cross&status=failed") == {failed.pk}
    assert listed("?symbol=DOGE-USDT-SWAP") == set()
    html = client.get(reverse("reports:run-list") + "?symbol=ETH-USDT-SWAP").content.decode()
    assert '<option value="ETH-USDT-SWAP" selected>' in html

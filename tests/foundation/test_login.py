"""The site's own login page: any user signs in there and sees exactly their runs and
sweeps; logout; the admin stays staff-only."""

from __future__ import annotations

import re

import pytest

from optimizers import services as sweeps
from specs.models import SpecKind
from tests.factories import PASSWORD, backtest_data, make_run, make_spec, make_user
from tests.optimizers.builders import walk_candles
from tests.optimizers.conftest import GRID_BODY, apply, backtest_yaml, ingest, sweep_yaml

pytestmark = pytest.mark.django_db


def _run_ids(html: str) -> set[int]:
    return {int(pk) for pk in re.findall(r'href="/runs/(\d+)/"', html)}


def _sweep_ids(html: str) -> set[int]:
    return {int(pk) for pk in re.findall(r'href="/sweeps/(\d+)/"', html)}


@pytest.fixture
def world():
    """alice (not staff) and bob, each with two runs and a sweep."""
    alice, bob = make_user("alice"), make_user("bob")
    ingest("SWEEP-TEST", walk_candles(300, seed=4))
    owned: dict[str, dict[str, set[int]]] = {}
    for user in (alice, bob):
        spec = make_spec(user, SpecKind.BACKTEST, f"{user.username}-bt", backtest_data(f"{user.username}-bt"))
        runs = {make_run(user, spec, bars=200).pk for _ in range(2)}
        sweep_spec = apply(user, backtest_yaml(), sweep_yaml(body=GRID_BODY))[1]
        sweep = sweeps.sweep_create(spec=sweep_spec, owner=user)
        owned[user.username] = {"runs": runs, "sweeps": {sweep.pk}}
    return owned


def test_a_user_who_is_not_staff_logs_in_and_sees_exactly_their_runs_and_sweeps(client, world):
    page = client.get("/runs/")
    assert page.status_code == 302
    assert page["Location"] == "/accounts/login/?next=/runs/"

    form = client.get(page["Location"])
    assert form.status_code == 200
    assert b'name="password"' in form.content
    response = client.post(
        "/accounts/login/", {"username": "alice", "password": PASSWORD, "next": "/runs/"}, follow=True
    )
    assert response.redirect_chain == [("/runs/", 302)]
    html = response.content.decode()
    assert _run_ids(html) == world["alice"]["runs"]
    assert ">Admin<" not in html  # the admin link is for staff
    assert _sweep_ids(client.get("/sweeps/").content.decode()) == world["alice"]["sweeps"]

    bobs_run = next(iter(world["bob"]["runs"]))
    assert client.get(f"/runs/{bobs_run}/").status_code == 404
    assert client.get(f"/sweeps/{next(iter(world['bob']['sweeps']))}/").status_code == 404


def test_a_wrong_password_shows_the_form_again(client, world):
    response = client.post("/accounts/login/", {"username": "alice", "password": "nope"})
    assert response.status_code == 200
    assert b"did not match" in response.content
    assert "_auth_user_id" not in client.session


def test_logout_is_a_post_and_ends_the_session(client, world):
    client.post("/accounts/login/", {"username": "alice", "password": PASSWORD})
    page = client.get("/runs/").content.decode()
    assert 'action="/accounts/logout/"' in page
    response = client.post("/accounts/logout/")
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/"
    assert client.get("/runs/").status_code == 302


def test_the_admin_stays_staff_only(client, world):
    response = client.post("/admin/login/", {"username": "alice", "password": PASSWORD})
    assert response.status_code == 200  # the form again: not a staff account
    assert b"staff account" in response.content
    client.post("/accounts/login/", {"username": "alice", "password": PASSWORD})
    assert client.get("/admin/").status_code == 302
    make_user("root", staff=True)
    client.post("/accounts/logout/")
    client.post("/accounts/login/", {"username": "root", "password": PASSWORD})
    assert client.get("/admin/").status_code == 200

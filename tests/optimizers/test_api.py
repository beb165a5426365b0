"""The sweeps API: create, list, detail with progress, trials, cancel, resume, promote;
ownership (another user's sweep is a 404, anonymous a 401) and JSON errors."""

from __future__ import annotations

import pytest

from backtests.models import BacktestRun
from optimizers import services
from optimizers.models import OptimizationRun, Trial
from specs.models import Spec
from tests.optimizers.conftest import GRID_COMBINATIONS, apply, backtest_yaml, finished_sweep, sweep_yaml

pytestmark = pytest.mark.django_db


@pytest.fixture
def done(grid_spec, alice, django_capture_on_commit_callbacks) -> OptimizationRun:
    """A finished grid sweep of alice's."""
    return finished_sweep(grid_spec, alice, django_capture_on_commit_callbacks)


def test_it_creates_a_sweep_from_a_spec_name(api, alice, grid_spec, django_capture_on_commit_callbacks):
    api.force_authenticate(alice)
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post("/api/v1/sweeps/", {"spec": "grid"}, format="json")
    assert response.status_code == 202, response.json()
    body = response.json()
    assert response["Location"] == body["url"]
    assert body["spec"] == {"id": grid_spec.pk, "name": "grid", "version": 1}
    assert body["method"] == "grid"
    assert body["progress"]["total"] == GRID_COMBINATIONS
    # the queue ran synchronously (tests): the detail now shows it finished
    detail = api.get(body["url"]).json()
    assert detail["status"] == "succeeded"
    assert detail["progress"] == {
        "evaluated": GRID_COMBINATIONS,
        "total": GRID_COMBINATIONS,
        "fraction": 1.0,
        "chunks_done": 7,
        "chunks_total": 7,
        "generation": None,
        "eval_seconds": detail["progress"]["eval_seconds"],
    }
    assert detail["best"]["trial"] == Trial.objects.filter(run_id=body["id"]).order_by("-score").first().pk
    assert detail["objective"] == {"metric": "total_return", "direction": "maximize", "min_trades": 3}


def test_it_creates_a_sweep_from_a_spec_id(api, alice, grid_spec, django_capture_on_commit_callbacks):
    api.force_authenticate(alice)
    with django_capture_on_commit_callbacks(execute=False):
        response = api.post("/api/v1/sweeps/", {"spec": str(grid_spec.pk)}, format="json")
    assert response.status_code == 202
    assert response.json()["status"] == "queued"


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        ({}, "spec", "This field is required."),
        ({"spec": "nope"}, "spec", "no Sweep spec named 'nope'"),
        ({"spec": "999999"}, "spec", "no Sweep spec with id 999999"),
    ],
)
def test_bad_input_is_a_400_that_names_the_field(api, alice, grid_spec, body, field, message):  # noqa: PLR0917
    api.force_authenticate(alice)
    response = api.post("/api/v1/sweeps/", body, format="json")
    assert response.status_code == 400
    data = response.json()
    assert data["detail"]
    assert message in str(data["errors"][field])


def test_a_backtest_spec_is_not_a_sweep(api, alice, grid_spec):
    api.force_authenticate(alice)
    backtest = grid_spec.backtest_spec()
    response = api.post("/api/v1/sweeps/", {"spec": str(backtest.pk)}, format="json")
    assert response.status_code == 400
    assert "no Sweep spec with id" in response.json()["detail"]


def test_anonymous_requests_are_401(api, done):
    for method, url in (
        ("get", "/api/v1/sweeps/"),
        ("post", "/api/v1/sweeps/"),
        ("get", f"/api/v1/sweeps/{done.pk}/"),
        ("get", f"/api/v1/sweeps/{done.pk}/trials/"),
        ("post", f"/api/v1/sweeps/{done.pk}/promote/"),
    ):
        response = getattr(api, method)(url)
        assert response.status_code == 401, url
        assert "detail" in response.json()


def test_owners_see_only_their_own_and_staff_see_all(api, done, bob, staff):
    api.force_authenticate(bob)
    assert api.get("/api/v1/sweeps/").json()["count"] == 0
    for method, url in (
        ("get", f"/api/v1/sweeps/{done.pk}/"),
        ("get", f"/api/v1/sweeps/{done.pk}/trials/"),
        ("post", f"/api/v1/sweeps/{done.pk}/cancel/"),
        ("post", f"/api/v1/sweeps/{done.pk}/promote/"),
    ):
        response = getattr(api, method)(url)
        assert response.status_code == 404, url
        assert response.json() == {"detail": "No OptimizationRun matches the given query."}
    # bob cannot sweep alice's spec either
    assert api.post("/api/v1/sweeps/", {"spec": str(done.spec_id)}, format="json").status_code == 400
    api.force_authenticate(staff)
    listed = api.get("/api/v1/sweeps/").json()
    assert [r["id"] for r in listed["results"]] == [done.pk]
    assert api.get(f"/api/v1/sweeps/{done.pk}/").status_code == 200


def test_the_list_takes_a_constant_number_of_queries(
    api, alice, done, grid_spec, django_assert_max_num_queries
):
    for _ in range(3):
        services.sweep_create(spec=grid_spec, owner=alice)
    api.force_authenticate(alice)
    with django_assert_max_num_queries(4):
        body = api.get("/api/v1/sweeps/").json()
    assert body["count"] == 4
    assert api.get("/api/v1/sweeps/?status=queued").json()["count"] == 3
    assert api.get("/api/v1/sweeps/?status=nonsense").status_code == 400


def test_trials_are_sortable_by_any_metric_and_paginated(api, alice, done):
    api.force_authenticate(alice)
    url = f"/api/v1/sweeps/{done.pk}/trials/"
    first = api.get(url).json()
    assert first["count"] == GRID_COMBINATIONS
    assert len(first["results"]) == 50 and first["next"]
    second = api.get(first["next"]).json()
    assert len(second["results"]) == GRID_COMBINATIONS - 50
    # default: the ranking (qualified first, best objective first)
    ranked = [t["id"] for t in first["results"] + second["results"]]
    assert ranked[0] == done.best_trial_id
    by_sharpe = api.get(url + "?ordering=-sharpe_ratio").json()["results"]
    sharpes = [t["sharpe_ratio"] for t in by_sharpe if t["sharpe_ratio"] is not None]
    assert sharpes == sorted(sharpes, reverse=True)
    # a metric that is not a column is read from the metrics JSON
    by_fees = api.get(url + "?ordering=total_fees").json()["results"]
    fees = [t["metrics"]["total_fees"] for t in by_fees]
    assert fees == sorted(fees)
    bad = api.get(url + "?ordering=colour")
    assert bad.status_code == 400
    assert "cannot order trials by 'colour'" in str(bad.json()["errors"]["ordering"])


def test_cancel_is_200_then_409(api, alice, grid_spec):
    run = services.sweep_create(spec=grid_spec, owner=alice)
    api.force_authenticate(alice)
    response = api.post(f"/api/v1/sweeps/{run.pk}/cancel/")
    assert response.status_code == 200
    assert response.json()["status"] == "cancelled"
    again = api.post(f"/api/v1/sweeps/{run.pk}/cancel/")
    assert again.status_code == 409
    assert "already cancelled" in again.json()["detail"]
    assert api.post(f"/api/v1/sweeps/{run.pk}/resume/").status_code == 409


def test_promote_makes_a_new_backtest_version_and_queues_its_run(api, alice, done):
    api.force_authenticate(alice)
    best = Trial.objects.get(pk=done.best_trial_id)
    response = api.post(f"/api/v1/sweeps/{done.pk}/promote/", {}, format="json")
    assert response.status_code == 202, response.json()
    body = response.json()
    assert body["trial"] == best.pk and body["params"] == best.params
    assert body["spec"]["name"] == "base" and body["spec"]["version"] == 2
    assert body["action"] == "updated"
    spec = Spec.objects.get(pk=body["spec"]["id"])
    base = done.backtest_spec
    assert spec.data["params"] == {**base.data["params"], **best.params}
    assert spec.data["market"] == base.data["market"]
    assert spec.data["execution"] == base.data["execution"]
    run = BacktestRun.objects.get(pk=body["run"]["id"])
    assert run.spec_id == spec.pk and run.owner == alice
    # any trial of the sweep can be promoted; promoting the same one again changes nothing
    other = Trial.objects.filter(run=done).exclude(pk=best.pk).first()
    response = api.post(f"/api/v1/sweeps/{done.pk}/promote/", {"trial": other.pk}, format="json")
    assert response.status_code == 202
    assert response.json()["spec"]["version"] == 3
    again = api.post(f"/api/v1/sweeps/{done.pk}/promote/", {"trial": other.pk}, format="json").json()
    assert (again["spec"]["version"], again["action"]) == (3, "unchanged")


def test_promote_refuses_a_trial_of_another_sweep(
    api, alice, done, grid_spec, django_capture_on_commit_callbacks
):
    api.force_authenticate(alice)
    with django_capture_on_commit_callbacks(execute=True):
        other = services.sweep_create(spec=grid_spec, owner=alice)
    foreign = Trial.objects.filter(run=other).first()
    response = api.post(f"/api/v1/sweeps/{done.pk}/promote/", {"trial": foreign.pk}, format="json")
    assert response.status_code == 400
    assert f"sweep {done.pk} has no trial {foreign.pk}" in str(response.json()["errors"]["trial"])
    assert api.post(f"/api/v1/sweeps/{done.pk}/promote/", {"trial": "x"}, format="json").status_code == 400


def test_promote_before_any_trial_is_a_400(api, alice, grid_spec):
    run = services.sweep_create(spec=grid_spec, owner=alice)
    api.force_authenticate(alice)
    response = api.post(f"/api/v1/sweeps/{run.pk}/promote/", {}, format="json")
    assert response.status_code == 400
    assert "no trial to promote yet" in response.json()["detail"]


def test_the_detail_carries_the_generation_stats_of_a_genetic_sweep(
    api, alice, candles, django_capture_on_commit_callbacks
):
    body = (
        "method: genetic\nspace:\n  rsi_period: {min: 4, max: 30, step: 1}\n"
        "genetic: {population: 6, generations: 3}\n"
    )
    spec = apply(alice, backtest_yaml(), sweep_yaml(name="ga", body=body))[1]
    api.force_authenticate(alice)
    with django_capture_on_commit_callbacks(execute=True):
        created = api.post("/api/v1/sweeps/", {"spec": "ga"}, format="json").json()
    detail = api.get(created["url"]).json()
    assert detail["status"] == "succeeded"
    assert [g["generation"] for g in detail["generation_stats"]] == [0, 1, 2]
    assert detail["progress"]["generation"] == 2
    assert spec.sweeps.count() == 1


def test_the_sweep_list_and_trials_list_query_counts_are_constant(
    api, alice, grid_spec, django_capture_on_commit_callbacks, django_assert_max_num_queries
):
    api.force_authenticate(alice)

    def counted(path: str) -> int:
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        with CaptureQueriesContext(connection) as ctx:
            assert api.get(path).status_code == 200
        return len(ctx.captured_queries)

    with django_capture_on_commit_callbacks(execute=True):
        first = services.sweep_create(spec=grid_spec, owner=alice)
    one_sweep = counted("/api/v1/sweeps/")
    trials_page = counted(f"/api/v1/sweeps/{first.pk}/trials/")
    with django_capture_on_commit_callbacks(execute=True):
        for _ in range(3):
            services.sweep_create(spec=grid_spec, owner=alice)
    # more sweeps (and their trials, chunks, specs) cost no more queries: no N+1
    assert counted("/api/v1/sweeps/") == one_sweep
    assert counted(f"/api/v1/sweeps/{first.pk}/trials/") == trials_page
    with django_assert_max_num_queries(6):
        api.get("/api/v1/sweeps/")

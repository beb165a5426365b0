"""The runs API: authentication, ownership, 202 on create, filters, ordering, JSON errors."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from backtests import services
from backtests.models import BacktestRun
from jobs.models import JobStatus
from tests.factories import make_run, make_spec, make_user, token_client, walk_spec

pytestmark = pytest.mark.django_db

SYMBOL = "TEST-API"


@pytest.fixture
def alice_spec(alice):
    return walk_spec(
        alice, "alice-ema", symbol=SYMBOL, bars=800, seed=3, start="2024-01-01", end="2024-02-01"
    )


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/api/v1/runs/"),
        ("get", "/api/v1/runs/1/"),
        ("post", "/api/v1/runs/"),
        ("post", "/api/v1/runs/1/cancel/"),
    ],
)
def test_anonymous_requests_get_401_json(method, path):
    response = getattr(APIClient(), method)(path)
    assert response.status_code == 401
    assert response["Content-Type"].startswith("application/json")
    assert "detail" in response.json()


def test_create_answers_202_with_the_run_url_and_the_run_succeeds(
    alice, alice_spec, django_capture_on_commit_callbacks
):
    client = token_client(alice)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/api/v1/runs/", {"spec": "alice-ema", "overrides": {"params": {"fast_period": 8}}}, format="json"
        )
    assert response.status_code == 202, response.json()
    body = response.json()
    assert response["Location"] == body["url"]
    assert body["url"].endswith(f"/api/v1/runs/{body['id']}/")
    assert body["spec"] == {"id": alice_spec.pk, "name": "alice-ema", "version": 1}
    assert body["config"]["params"]["fast_period"] == 8
    detail = client.get(body["url"]).json()
    assert detail["status"] == JobStatus.SUCCEEDED, detail["error"]
    assert detail["metrics"]["total_trades"] >= 1
    trades = client.get(detail["links"]["trades"]).json()
    assert trades["count"] == detail["metrics"]["total_trades"]
    assert set(trades["results"][0]) == {
        "seq", "side", "entry_time", "exit_time", "entry_price", "exit_price",
        "quantity", "fees", "pnl", "return", "bars_held", "exit_reason",
    }  # fmt: skip
    assert isinstance(trades["results"][0]["entry_time"], int)


def test_a_spec_can_be_named_by_its_id_for_that_exact_version(alice, alice_spec):
    make_spec(
        alice,
        data={**alice_spec.data, "params": {**alice_spec.data["params"], "fast_period": 9}},
        name="alice-ema",
    )
    response = token_client(alice).post("/api/v1/runs/", {"spec": str(alice_spec.pk)}, format="json")
    assert response.status_code == 202
    assert response.json()["spec"]["version"] == 1
    latest = token_client(alice).post("/api/v1/runs/", {"spec": "alice-ema"}, format="json")
    assert latest.json()["spec"]["version"] == 2


def test_another_users_run_is_404_and_their_spec_cannot_be_run(alice, bob, alice_spec):
    run = make_run(alice, alice_spec, bars=300)
    client = token_client(bob)
    for path in (
        f"/api/v1/runs/{run.pk}/",
        f"/api/v1/runs/{run.pk}/trades/",
        f"/api/v1/runs/{run.pk}/equity/",
    ):
        response = client.get(path)
        assert response.status_code == 404, path
        assert response.json() == {"detail": "No BacktestRun matches the given query."}
    assert client.post(f"/api/v1/runs/{run.pk}/cancel/").status_code == 404
    assert client.get("/api/v1/runs/").json()["count"] == 0
    by_name = client.post("/api/v1/runs/", {"spec": "alice-ema"}, format="json")
    by_id = client.post("/api/v1/runs/", {"spec": str(alice_spec.pk)}, format="json")
    assert by_name.status_code == by_id.status_code == 400
    assert "no Backtest spec" in by_name.json()["detail"]


def test_staff_see_every_run(alice, alice_spec):
    make_run(alice, alice_spec, bars=300)
    staff = make_user("staffer", staff=True)
    assert token_client(staff).get("/api/v1/runs/").json()["count"] == 1


@pytest.mark.parametrize(
    ("body", "content_type", "field"),
    [
        ("{not json", "application/json", None),
        ({}, "json", "spec"),
        ({"spec": "alice-ema", "overrides": "fast"}, "json", "overrides"),
        (
            {"spec": "alice-ema", "overrides": {"params": {"fast_period": -1}}},
            "json",
            "overrides.params.fast_period",
        ),
        ({"spec": "alice-ema", "overrides": {"colour": "red"}}, "json", "overrides.colour"),
        ({"spec": "nope"}, "json", "spec"),
    ],
)
def test_malformed_bodies_get_400_json(alice, alice_spec, body, content_type, field):
    client = token_client(alice)
    if content_type == "json":
        response = client.post("/api/v1/runs/", body, format="json")
    else:
        response = client.post("/api/v1/runs/", body, content_type=content_type)
    assert response.status_code == 400
    data = response.json()
    assert "detail" in data
    if field:
        assert field in data["errors"], data
    assert not BacktestRun.objects.exists()


def test_list_filters_and_orders_by_a_metric_with_nulls_last(alice, alice_spec):
    runs = [make_run(alice, alice_spec, bars=400, seed=seed) for seed in (1, 2, 3)]
    failed = make_run(alice, alice_spec, status=JobStatus.FAILED)
    client = token_client(alice)
    body = client.get("/api/v1/runs/?ordering=-sharpe_ratio").json()
    sharpe = [row["metrics"]["sharpe_ratio"] if row["metrics"] else None for row in body["results"]]
    assert sharpe[:3] == sorted((r.sharpe_ratio for r in runs), reverse=True)
    assert body["results"][-1]["id"] == failed.pk
    assert client.get("/api/v1/runs/?status=failed").json()["count"] == 1
    assert client.get("/api/v1/runs/?strategy=ema_cross&symbol=TEST-API").json()["count"] == 4
    assert client.get("/api/v1/runs/?symbol=OTHER").json()["count"] == 0
    bad = client.get("/api/v1/runs/?ordering=colour")
    assert bad.status_code == 400
    assert "cannot order by 'colour'" in bad.json()["errors"]["ordering"][0]


def test_list_query_count_is_constant(alice, alice_spec, django_assert_num_queries):
    client = token_client(alice)
    make_run(alice, alice_spec, bars=300)
    # token auth, count, page of runs joined with spec and owner
    with django_assert_num_queries(3):
        client.get("/api/v1/runs/")
    for seed in range(4):
        make_run(alice, alice_spec, bars=300, seed=seed)
    with django_assert_num_queries(3):
        assert client.get("/api/v1/runs/").json()["count"] == 5


def test_trades_are_paginated_and_equity_is_downsampled(alice, alice_spec):
    run = make_run(alice, alice_spec, bars=3000)
    client = token_client(alice)
    page = client.get(f"/api/v1/runs/{run.pk}/trades/").json()
    assert page["count"] == run.total_trades
    assert len(page["results"]) == min(50, run.total_trades)
    equity = client.get(f"/api/v1/runs/{run.pk}/equity/?points=100").json()
    assert equity["total_points"] == 3000
    assert equity["points"] <= 100
    values = [v for _, v in equity["series"]]
    full = run.equity.values()
    assert max(values) == full.max() and min(values) == full.min()
    assert client.get(f"/api/v1/runs/{run.pk}/equity/?points=x").status_code == 400
    assert client.get(f"/api/v1/runs/{run.pk}/equity/?points=2").status_code == 400


def test_cancel_a_queued_run_then_409(alice, alice_spec):
    run = services.run_enqueue(spec=alice_spec, owner=alice)
    client = token_client(alice)
    response = client.post(f"/api/v1/runs/{run.pk}/cancel/")
    assert response.status_code == 200
    assert response.json()["status"] == JobStatus.CANCELLED
    again = client.post(f"/api/v1/runs/{run.pk}/cancel/")
    assert again.status_code == 409
    assert "already cancelled" in again.json()["detail"]


def test_unknown_api_paths_answer_json_404(alice):
    response = token_client(alice).get("/api/v1/nothing-here/")
    assert response.status_code == 404
    assert response.json() == {"detail": "not found"}


def test_openapi_schema_and_docs_are_served(alice):
    client = token_client(alice)
    schema = client.get("/api/schema/")
    assert schema.status_code == 200
    assert b"/api/v1/runs/" in schema.content
    assert client.get("/api/docs/").status_code == 200

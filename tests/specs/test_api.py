"""The specs API: apply (YAML or JSON), list, detail, versions, schemas; who sees what."""

from __future__ import annotations

import pytest
from django.urls import reverse
from rest_framework.pagination import PageNumberPagination
from rest_framework.test import APIClient

from specs.models import Spec
from specs.services import spec_apply
from tests.factories import token_client
from tests.specs.conftest import BACKTEST, LAYOUT, SWEEP, join

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.specs.urls")]
URL = "/api/v1/specs/"


def post_yaml(client, text: str, content_type: str = "application/yaml", **extra):
    return client.post(URL, data=text.encode(), content_type=content_type, **extra)


def test_the_project_mounts_the_specs_api_under_api_v1(settings):
    settings.ROOT_URLCONF = "backtest_project.urls"
    assert reverse("api:spec-list") == URL
    assert reverse("api:spec-versions", args=[7]) == "/api/v1/specs/7/versions/"
    assert reverse("api:spec-schema", args=["backtest"]) == "/api/v1/schemas/backtest.json"


def test_anonymous_requests_are_401():
    client = APIClient()
    assert client.get(URL).status_code == 401
    assert post_yaml(client, BACKTEST).status_code == 401
    assert Spec.objects.count() == 0


def test_it_applies_yaml_201_then_200_when_unchanged(api):
    response = post_yaml(
        api, join(LAYOUT, BACKTEST), HTTP_CONTENT_DISPOSITION='attachment; filename="x.yaml"'
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["created"], body["updated"], body["unchanged"], body["dry_run"]) == (2, 0, 0, False)
    backtest = Spec.objects.get(kind="Backtest")
    assert body["documents"][1] == {
        "file": "x.yaml",
        "document": 2,
        "kind": "Backtest",
        "name": "hyperrsi-btc-1h",
        "version": 1,
        "action": "created",
        "id": backtest.pk,
        "content_hash": backtest.content_hash,
    }
    response = post_yaml(api, join(LAYOUT, BACKTEST))
    assert response.status_code == 200
    assert [d["action"] for d in response.json()["documents"]] == ["unchanged", "unchanged"]
    response = post_yaml(api, BACKTEST.replace("rsi_period: 14", "rsi_period: 15"), "application/x-yaml")
    assert response.status_code == 201
    assert response.json()["documents"][0]["action"] == "updated"
    assert post_yaml(api, SWEEP, "text/yaml").status_code == 201


def test_it_applies_json_yaml_text_and_json_documents(api):
    response = api.post(URL, {"yaml": BACKTEST, "file": "from-json.yaml"}, format="json")
    assert response.status_code == 201
    assert response.json()["documents"][0]["file"] == "from-json.yaml"
    document = {"kind": "ReportLayout", "name": "mini", "sections": [{"type": "chart", "chart": "equity"}]}
    response = api.post(URL, [document], format="json")
    assert response.status_code == 201
    assert Spec.objects.get(name="mini").yaml_text.startswith("kind: ReportLayout\nname: mini\n")
    response = api.post(URL, {**document, "sections": [{"type": "chart", "chart": "pie"}]}, format="json")
    assert response.status_code == 400
    assert response.json()["errors"] == [
        {
            "file": "<request>",
            "document": 1,
            "kind": "ReportLayout",
            "name": "mini",
            "path": "sections[0].chart",
            "line": None,
            "column": None,
            "message": "'pie' is not one of ['equity', 'drawdown', 'price_with_trades', 'monthly_returns', "
            "'trade_returns', 'rolling_sharpe', 'benchmark', 'return_distribution']",
        }
    ]


@pytest.mark.parametrize(
    ("body", "content_type", "status", "detail"),
    [
        ("", "application/yaml", 400, "1 error in <request>; nothing was saved"),
        ('{"yaml": 5}', "application/json", 400, None),
        ("{not json", "application/json", 400, "JSON parse error"),
        ('{"x": NaN}', "application/json", 400, "JSON parse error"),
        ("kind: x", "text/plain", 415, 'Unsupported media type "text/plain" in request.'),
    ],
)
def test_it_refuses_bodies_it_cannot_read(api, body, content_type, status, detail):
    response = api.post(URL, data=body, content_type=content_type)
    assert response.status_code == status
    if detail is not None:
        assert detail in response.json()["detail"]
    assert Spec.objects.count() == 0


def test_the_yaml_body_is_bounded(api, settings):
    settings.SPEC_MAX_BYTES = 1000
    response = post_yaml(api, BACKTEST + "#" * 1000)
    assert response.status_code == 400
    assert (
        response.json()["errors"][0]["message"]
        == "the file is larger than the limit of 1000 bytes (SPEC_MAX_BYTES)"
    )
    response = api.post(URL, {"yaml": BACKTEST + "#" * 1000}, format="json")
    assert response.json()["errors"][0]["message"].startswith("the file is larger than the limit")
    response = api.post(URL, {"yaml": "#" * 2001}, format="json")
    assert response.json() == {"detail": "the request body is larger than the limit of 2000 bytes"}


def test_dry_run_answers_200_and_stores_nothing(api):
    response = api.post(URL + "?dry_run=1", data=BACKTEST.encode(), content_type="application/yaml")
    assert response.status_code == 200
    assert response.json()["documents"][0]["action"] == "created"
    assert Spec.objects.count() == 0


def test_stored_specs_cannot_be_changed_or_deleted_through_the_api(api, alice):
    spec_apply(text=BACKTEST, owner=alice)
    spec = Spec.objects.get()
    assert api.put(f"{URL}{spec.pk}/", {"yaml": LAYOUT}, format="json").status_code == 405
    assert api.delete(f"{URL}{spec.pk}/").status_code == 405
    assert Spec.objects.get().content_hash == spec.content_hash


@pytest.fixture
def stored(alice, bob):
    spec_apply(text=join(LAYOUT, BACKTEST, SWEEP), owner=alice)
    spec_apply(text=BACKTEST.replace("rsi_period: 14", "rsi_period: 21"), owner=alice)
    spec_apply(text=BACKTEST, owner=bob)
    return Spec.objects.get(owner=bob)


def test_the_list_holds_only_your_own_specs_and_filters(api, stored):
    body = api.get(URL).json()
    assert body["count"] == 4
    assert [(s["kind"], s["name"], s["version"], s["owner"]) for s in body["results"]] == [
        ("Backtest", "hyperrsi-btc-1h", 2, "alice"),
        ("Backtest", "hyperrsi-btc-1h", 1, "alice"),
        ("ReportLayout", "standard", 1, "alice"),
        ("Sweep", "hyperrsi-grid", 1, "alice"),
    ]
    assert set(body["results"][0]) == {
        "id",
        "url",
        "kind",
        "name",
        "version",
        "owner",
        "content_hash",
        "created_at",
    }
    assert [s["version"] for s in api.get(URL, {"kind": "Backtest"}).json()["results"]] == [2, 1]
    assert [s["kind"] for s in api.get(URL, {"name": "standard"}).json()["results"]] == ["ReportLayout"]
    latest = api.get(URL, {"latest": "true"}).json()["results"]
    assert [(s["name"], s["version"]) for s in latest] == [
        ("hyperrsi-btc-1h", 2),
        ("standard", 1),
        ("hyperrsi-grid", 1),
    ]
    response = api.get(URL, {"kind": "Strategy"})
    assert response.status_code == 400
    message = "unknown kind 'Strategy'; one of Backtest, Sweep, ReportLayout"
    assert response.json() == {"detail": f"kind: {message}", "errors": {"kind": [message]}}


def test_the_list_is_paginated(api, alice, monkeypatch):
    monkeypatch.setattr(PageNumberPagination, "page_size", 2)
    for period in (10, 11, 12):
        spec_apply(text=BACKTEST.replace("rsi_period: 14", f"rsi_period: {period}"), owner=alice)
    first = api.get(URL).json()
    assert (first["count"], len(first["results"]), first["previous"]) == (3, 2, None)
    assert [s["version"] for s in api.get(first["next"]).json()["results"]] == [1]


@pytest.mark.parametrize("count", [1, 12])
def test_the_list_takes_the_same_queries_however_many_specs(api, alice, count, django_assert_num_queries):
    for period in range(2, 2 + count):
        spec_apply(text=BACKTEST.replace("rsi_period: 14", f"rsi_period: {period}"), owner=alice)
    with django_assert_num_queries(2):  # COUNT for the page, then the page with its owners
        response = api.get(URL)
    assert len(response.json()["results"]) == count


def test_detail_and_versions(api, stored):
    latest = Spec.objects.get(owner__username="alice", kind="Backtest", version=2)
    body = api.get(f"{URL}{latest.pk}/").json()
    assert body["yaml_text"] == BACKTEST.replace("rsi_period: 14", "rsi_period: 21")
    assert body["data"] == latest.data
    assert body["versions_url"].endswith(f"/api/v1/specs/{latest.pk}/versions/")
    versions = api.get(body["versions_url"]).json()  # paginated like every list
    assert versions["count"] == 2
    assert [(v["version"], v["owner"]) for v in versions["results"]] == [(2, "alice"), (1, "alice")]


def test_another_users_spec_is_404_and_staff_see_everything(api, stored, admin_user):
    assert api.get(f"{URL}{stored.pk}/").status_code == 404
    assert api.get(f"{URL}{stored.pk}/versions/").status_code == 404
    staff = APIClient()
    staff.force_authenticate(admin_user)
    assert staff.get(f"{URL}{stored.pk}/").json()["owner"] == "bob"
    assert staff.get(URL).json()["count"] == 5


def test_token_authentication_works(alice, stored):
    client = token_client(alice)
    assert client.get(URL).json()["count"] == 4


@pytest.mark.parametrize("kind", ["backtest", "sweep", "report_layout", "spec"])
def test_schemas_are_served_to_anyone(kind):
    response = APIClient().get(f"/api/v1/schemas/{kind}.json")
    assert response.status_code == 200
    assert response.json()["$schema"] == "https://json-schema.org/draft/2020-12/schema"


def test_the_served_backtest_schema_validates_params_per_strategy():
    schema = APIClient().get("/api/v1/schemas/backtest.json").json()
    assert schema["properties"]["strategy"]["enum"] == ["ema_cross", "hyperrsi"]
    rules = {
        rule["if"]["properties"]["strategy"]["const"]: rule["then"]["properties"]["params"]
        for rule in schema["allOf"]
    }
    assert rules["hyperrsi"]["properties"]["rsi_period"]["minimum"] == 2
    assert rules["hyperrsi"]["additionalProperties"] is False


def test_an_unknown_schema_is_404():
    response = APIClient().get("/api/v1/schemas/strategy.json")
    assert response.status_code == 404
    assert response.json()["detail"] == "no schema 'strategy'; one of backtest, sweep, report_layout, spec"

"""The OpenAPI schema tells the truth: real responses match it, every error status an
operation can answer is in it, ids are integers. (``make fuzz`` checks the same over
thousands of generated requests; these pin each drift it found.)"""

from __future__ import annotations

import pytest

from jobs.models import JobStatus
from specs.models import SpecKind
from tests.factories import backtest_data, make_run, make_spec
from tests.openapi import assert_conforms, openapi

pytestmark = pytest.mark.django_db


@pytest.fixture
def run(alice):
    return make_run(alice, make_spec(alice, SpecKind.BACKTEST, "a", backtest_data("a")), bars=300)


def test_trades_have_the_contracts_keys_and_epoch_ms_times(api, run):
    response = api.get(f"/api/v1/runs/{run.pk}/trades/")
    assert_conforms(response, "/api/v1/runs/{id}/trades/")
    trade = response.json()["results"][0]
    assert "return" in trade and "trade_return" not in trade
    assert isinstance(trade["entry_time"], int)
    schema = openapi()["components"]["schemas"]["Trade"]
    assert "return" in schema["required"]
    assert schema["properties"]["entry_time"]["type"] == "integer"


def test_equity_matches_its_schema(api, run):
    assert_conforms(api.get(f"/api/v1/runs/{run.pk}/equity/?points=10"), "/api/v1/runs/{id}/equity/")
    assert_conforms(api.get(f"/api/v1/runs/{run.pk}/equity/?points=3"), "/api/v1/runs/{id}/equity/")


def test_spec_versions_are_a_page_as_the_schema_says(api, alice):
    spec = make_spec(alice, SpecKind.BACKTEST, "a", backtest_data("a"))
    response = api.get(f"/api/v1/specs/{spec.pk}/versions/")
    assert_conforms(response, "/api/v1/specs/{id}/versions/")
    assert response.json()["count"] == 1
    assert_conforms(api.get(f"/api/v1/specs/{spec.pk}/versions/?page=x"), "/api/v1/specs/{id}/versions/")


@pytest.mark.parametrize(
    ("method", "url", "path", "body"),
    [
        ("get", "/api/v1/runs/?status=nope", "/api/v1/runs/", None),
        ("get", "/api/v1/runs/?page=9", "/api/v1/runs/", None),
        ("get", "/api/v1/runs/999999/", "/api/v1/runs/{id}/", None),
        ("post", "/api/v1/runs/999999/cancel/", "/api/v1/runs/{id}/cancel/", None),
        ("post", "/api/v1/runs/", "/api/v1/runs/", {"spec": "missing"}),
        ("post", "/api/v1/sweeps/", "/api/v1/sweeps/", {}),
        ("post", "/api/v1/specs/?dry_run=perhaps", "/api/v1/specs/", {"yaml": "kind: x"}),
        ("post", "/api/v1/specs/", "/api/v1/specs/", {"yaml": 5}),
        ("post", "/api/v1/specs/", "/api/v1/specs/", {"yaml": "kind: Backtest\nname: x\n"}),
        ("get", "/api/v1/schemas/nope.json", "/api/v1/schemas/{kind}.json", None),
        ("get", "/api/v1/sweeps/1/trials/?ordering=colour", "/api/v1/sweeps/{id}/trials/", None),
        ("get", "/api/v1/candles/coverage/?symbol=%00", "/api/v1/candles/coverage/", None),
    ],
)
def test_error_answers_are_documented_with_their_body(api, method, url, path, body):
    response = (
        getattr(api, method)(url, body, format="json") if body is not None else getattr(api, method)(url)
    )
    assert response.status_code >= 400
    assert_conforms(response, path, method)


def test_the_api_root_is_in_the_schema(api):
    assert_conforms(api.get("/api/v1/"), "/api/v1/")


def test_a_conflict_has_the_error_body(api, run):
    response = api.post(f"/api/v1/runs/{run.pk}/cancel/")
    assert response.status_code == 409
    assert_conforms(response, "/api/v1/runs/{id}/cancel/", "POST")


def test_runs_list_and_detail_conform(api, run, alice):
    make_run(alice, run.spec, status=JobStatus.FAILED, with_results=False)
    assert_conforms(api.get("/api/v1/runs/?ordering=-sharpe_ratio"), "/api/v1/runs/")
    assert_conforms(api.get(f"/api/v1/runs/{run.pk}/"), "/api/v1/runs/{id}/")


def test_every_operation_documents_the_errors_it_can_answer():
    for path, operations in openapi()["paths"].items():
        for method, operation in operations.items():
            codes = set(operation["responses"])
            assert {"400", "414"} <= codes, (method, path)
            if operation.get("security") and operation["security"] != [{}]:
                assert {"401", "403", "429", "503"} <= codes, (method, path)
            if "{" in path:
                assert "404" in codes, (method, path)
            if method == "post":
                assert {"413", "415"} <= codes, (method, path)


def test_every_id_in_a_path_is_an_integer():
    for path, operations in openapi()["paths"].items():
        for operation in operations.values():
            for parameter in operation.get("parameters", []):
                if parameter["in"] == "path" and parameter["name"] == "id":
                    assert parameter["schema"]["type"] == "integer", path


def test_list_filters_are_declared_with_their_bounds():
    parameters = {p["name"]: p["schema"] for p in openapi()["paths"]["/api/v1/runs/"]["get"]["parameters"]}
    assert parameters["page"] == {"type": "integer", "minimum": 1, "maximum": 999_999_999}
    assert set(parameters["status"]["enum"]) == {*JobStatus.values, ""}
    assert "-sharpe_ratio" in parameters["ordering"]["enum"]
    # text: at most the column's length, no NUL (which the middleware refuses), or empty
    assert parameters["symbol"]["oneOf"] == [
        {"type": "string", "pattern": "^[^\\u0000]+$", "maxLength": 64},
        {"type": "string", "maxLength": 0},
    ]

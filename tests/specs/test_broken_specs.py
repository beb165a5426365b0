"""Broken spec files: every error named by file, document, path, line and column, nothing
saved, and the very same errors through the service, the command, the admin and the API."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.urls import reverse
from django.utils.html import escape
from rest_framework.test import APIClient

from specs.models import Spec
from specs.services import SpecValidationError, spec_apply
from tests.specs.broken_cases import CASES
from tests.specs.conftest import BACKTEST, LAYOUT, join, rsi_period_error

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.specs.urls")]


def test_there_are_enough_cases():
    assert len(CASES) >= 25
    assert len({case.id for case in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.id)
def test_it_rejects_a_broken_spec_naming_path_line_and_column(case, alice):
    with pytest.raises(SpecValidationError) as caught:
        spec_apply(text=case.text, owner=alice, source="case.yaml")
    errors = caught.value.errors
    assert [(error.path, error.line, error.column) for error in errors] == [
        (path, line, column) for path, line, column, _ in case.expected
    ], [str(error) for error in errors]
    for error, (*_, fragment) in zip(errors, case.expected, strict=True):
        assert fragment in error.message, str(error)
        assert error.file == "case.yaml"
    assert Spec.objects.count() == 0


def test_an_error_reads_as_file_document_path_position_and_message(alice):
    with pytest.raises(SpecValidationError) as caught:
        spec_apply(
            text=BACKTEST.replace("rsi_period: 14", "rsi_period: 0"), owner=alice, source="hyperrsi.yaml"
        )
    (error,) = caught.value.errors
    assert str(error) == (
        "hyperrsi.yaml: document 1 (Backtest hyperrsi-btc-1h): params.rsi_period (line 5, column 15): "
        "0 is less than the minimum of 2"
    )
    assert error.as_dict() == rsi_period_error("hyperrsi.yaml", "0 is less than the minimum of 2")
    assert str(caught.value).splitlines()[0] == "1 error in hyperrsi.yaml; nothing was saved"


def test_one_bad_document_stores_none_of_the_good_ones(alice):
    text = join(
        LAYOUT, BACKTEST + "report: standard\n", BACKTEST.replace("name: hyperrsi-btc-1h", "name: x-")
    )
    with pytest.raises(SpecValidationError) as caught:
        spec_apply(text=text, owner=alice, source="f.yaml")
    assert [(error.doc_index, error.path) for error in caught.value.errors] == [(3, "name")]
    assert Spec.objects.count() == 0


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.id)
def test_the_command_the_admin_and_the_api_report_the_same_errors(case, admin_user, tmp_path, client):
    with pytest.raises(SpecValidationError) as caught:
        spec_apply(text=case.text, owner=admin_user, source="case.yaml")
    expected = caught.value.as_dicts()

    path = tmp_path / "case.yaml"
    path.write_bytes(case.text.encode())
    stdout, stderr = StringIO(), StringIO()
    with pytest.raises(CommandError, match="nothing was saved"):
        call_command("apply", "-f", str(path), "--user", "root", "--json", stdout=stdout, stderr=stderr)
    assert json.loads(stdout.getvalue())["errors"] == expected
    assert stderr.getvalue().splitlines() == [f"rejected  {error}" for error in caught.value.errors]

    client.force_login(admin_user)
    upload = SimpleUploadedFile("case.yaml", case.text.encode(), content_type="application/yaml")
    response = client.post(reverse("admin:specs_spec_apply"), {"file": upload})
    assert response.status_code == 400
    assert response.context["errors"] == expected
    page = response.content.decode()
    for error in expected:
        assert escape(error["message"]) in page

    api = APIClient()
    api.force_authenticate(admin_user)
    response = api.post(
        "/api/v1/specs/",
        data=case.text.encode(),
        content_type="application/yaml",
        HTTP_CONTENT_DISPOSITION='attachment; filename="case.yaml"',
    )
    assert response.status_code == 400
    assert response.json() == {"detail": caught.value.summary(), "errors": expected}

    assert Spec.objects.count() == 0

"""Specs in the admin: read-only versions and the Apply YAML page (staff only)."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from specs.models import Spec
from specs.services import spec_apply
from tests.specs.conftest import BACKTEST, LAYOUT, join, rsi_period_error

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.specs.urls")]
APPLY = "/admin/specs/spec/apply/"


@pytest.fixture
def staff(client, admin_user):
    client.force_login(admin_user)
    return client


def test_the_apply_page_is_linked_from_the_list(staff, admin_user):
    spec_apply(text=join(LAYOUT, BACKTEST), owner=admin_user)
    page = staff.get(reverse("admin:specs_spec_changelist")).content.decode()
    assert f'href="{APPLY}"' in page
    spec = Spec.objects.get(kind="Backtest")
    for column in ("Backtest", "hyperrsi-btc-1h", "root", spec.content_hash[:12]):
        assert column in page


def test_pasted_yaml_is_applied(staff, admin_user):
    response = staff.post(APPLY, {"text": join(LAYOUT, BACKTEST)})
    assert response.status_code == 200
    assert [(d.name, d.action) for d in response.context["result"].documents] == [
        ("standard", "created"),
        ("hyperrsi-btc-1h", "created"),
    ]
    assert {spec.owner for spec in Spec.objects.all()} == {admin_user}
    response = staff.post(APPLY, {"text": join(LAYOUT, BACKTEST)})
    assert [d.action for d in response.context["result"].documents] == ["unchanged", "unchanged"]
    assert Spec.objects.count() == 2


def test_an_uploaded_file_is_applied_and_its_name_used(staff):
    upload = SimpleUploadedFile("mine.yaml", BACKTEST.encode())
    response = staff.post(APPLY, {"file": upload})
    (document,) = response.context["result"].documents
    assert (document.file, document.action) == ("mine.yaml", "created")
    assert reverse("admin:specs_spec_change", args=[document.spec_id]) in response.content.decode()


def test_validate_only_stores_nothing(staff):
    response = staff.post(APPLY, {"text": BACKTEST, "dry_run": "on"})
    assert response.context["result"].dry_run
    assert Spec.objects.count() == 0


def test_errors_are_listed_with_their_lines(staff):
    response = staff.post(APPLY, {"text": BACKTEST.replace("rsi_period: 14", "rsi_period: 99")})
    assert response.status_code == 400
    error = rsi_period_error("<pasted>", "99 is greater than the maximum of 50")
    assert response.context["errors"] == [error]
    page = response.content.decode()
    assert "1 error in &lt;pasted&gt;; nothing was saved" in page
    assert "<td>5</td><td>15</td><td>99 is greater than the maximum of 50</td>" in page


@pytest.mark.parametrize(
    "data", [{}, {"text": BACKTEST, "file": SimpleUploadedFile("a.yaml", BACKTEST.encode())}]
)
def test_the_form_wants_exactly_one_input(staff, data):
    response = staff.post(APPLY, data)
    assert response.status_code == 200
    assert response.context["form"].non_field_errors() == [
        "Upload a file or paste YAML text (one of the two)."
    ]


def test_the_change_page_shows_the_yaml_and_every_version(staff, admin_user):
    spec_apply(text=BACKTEST, owner=admin_user)
    spec_apply(text=BACKTEST + "description: <b>bold</b>\n", owner=admin_user)
    first, latest = Spec.objects.get(version=1), Spec.objects.get(version=2)
    page = staff.get(reverse("admin:specs_spec_change", args=[first.pk])).content.decode()
    assert '<pre style="white-space: pre; overflow-x: auto">kind: Backtest\nname: hyperrsi-btc-1h' in page
    assert f'<a href="{reverse("admin:specs_spec_change", args=[latest.pk])}">v2</a>' in page
    assert f'<a href="{reverse("admin:specs_spec_change", args=[first.pk])}">v1</a>' in page
    assert "(this one)" in page
    assert 'name="_save"' not in page  # read-only
    page = staff.get(reverse("admin:specs_spec_change", args=[latest.pk])).content.decode()
    assert "description: &lt;b&gt;bold&lt;/b&gt;" in page


def test_the_admin_never_adds_changes_or_deletes_a_stored_spec(staff, admin_user):
    spec_apply(text=BACKTEST, owner=admin_user)
    spec = Spec.objects.get()
    assert staff.get(reverse("admin:specs_spec_add")).status_code == 403
    assert staff.post(reverse("admin:specs_spec_delete", args=[spec.pk]), {"post": "yes"}).status_code == 403
    assert Spec.objects.filter(pk=spec.pk).exists()


def test_non_staff_users_cannot_reach_the_apply_page(client, alice):
    assert client.get(APPLY).status_code == 302
    client.force_login(alice)
    response = client.post(APPLY, {"text": BACKTEST})
    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")
    assert Spec.objects.count() == 0


def test_staff_without_the_add_permission_cannot_apply(client, django_user_model):
    viewer = django_user_model.objects.create_user("viewer", password="pw", is_staff=True)
    client.force_login(viewer)
    assert client.post(APPLY, {"text": BACKTEST}).status_code == 403
    assert Spec.objects.count() == 0

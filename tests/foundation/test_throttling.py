"""Throttling: request rates per user and per address, and failed authentications.

The test settings raise every limit out of the way; each test here lowers the one it
means to hit (the throttles read their rates from the settings at each request).
"""

from __future__ import annotations

import pytest
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from tests.factories import PASSWORD, make_user

pytestmark = pytest.mark.django_db


def test_it_answers_429_past_the_user_rate(settings, alice):
    settings.API_THROTTLE_USER = "3/minute"
    api = APIClient()
    api.force_authenticate(alice)
    assert [api.get("/api/v1/runs/").status_code for _ in range(4)] == [200, 200, 200, 429]
    response = api.get("/api/v1/specs/")
    assert response.status_code == 429
    assert response.json()["detail"].startswith("Request was throttled.")
    assert int(response["Retry-After"]) > 0
    # another user has a budget of their own
    other = APIClient()
    other.force_authenticate(make_user("bob"))
    assert other.get("/api/v1/runs/").status_code == 200


def test_it_answers_429_past_the_anonymous_rate(settings, client):
    settings.API_THROTTLE_ANON = "2/minute"
    codes = [client.get("/api/v1/schemas/backtest.json").status_code for _ in range(3)]
    assert codes == [200, 200, 429]


def test_bad_tokens_are_limited_per_address_then_even_a_good_one_waits(settings, alice):
    settings.AUTH_FAILURE_LIMIT = 5
    bad = APIClient(REMOTE_ADDR="203.0.113.7")
    bad.credentials(HTTP_AUTHORIZATION="Token not-a-token")
    assert [bad.get("/api/v1/runs/").status_code for _ in range(6)] == [401] * 5 + [429]
    response = bad.get("/api/v1/runs/")
    assert "too many failed authentications from this address" in response.json()["detail"]
    assert response["Retry-After"] == str(settings.AUTH_FAILURE_WINDOW)

    token = Token.objects.create(user=alice).key
    same_address = APIClient(REMOTE_ADDR="203.0.113.7")
    same_address.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    assert same_address.get("/api/v1/runs/").status_code == 429
    elsewhere = APIClient(REMOTE_ADDR="198.51.100.1")
    elsewhere.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    assert elsewhere.get("/api/v1/runs/").status_code == 200


def test_a_forwarded_for_header_does_not_dodge_the_limit(settings):
    settings.AUTH_FAILURE_LIMIT = 2
    codes = []
    for i in range(3):
        api = APIClient(REMOTE_ADDR="203.0.113.9", HTTP_X_FORWARDED_FOR=f"10.0.0.{i}")
        api.credentials(HTTP_AUTHORIZATION="Token wrong")
        codes.append(api.get("/api/v1/runs/").status_code)
    assert codes == [401, 401, 429]


@pytest.mark.parametrize("url", ["/admin/login/", "/accounts/login/"])
def test_password_guessing_at_a_login_page_is_limited(settings, client, url):
    settings.AUTH_FAILURE_LIMIT = 3
    make_user("root", staff=True)
    codes = [client.post(url, {"username": "root", "password": f"guess{i}"}).status_code for i in range(4)]
    assert codes == [200, 200, 200, 429]
    # the right password from the same address is not even checked now
    response = client.post(url, {"username": "root", "password": PASSWORD})
    assert response.status_code == 429
    assert b"too many failed authentications" in response.content
    assert "_auth_user_id" not in client.session


def test_a_successful_login_is_not_a_failure(settings, client):
    settings.AUTH_FAILURE_LIMIT = 1
    make_user("carol")
    response = client.post("/accounts/login/", {"username": "carol", "password": PASSWORD})
    assert response.status_code == 302
    client.post("/accounts/logout/")
    assert client.post("/accounts/login/", {"username": "carol", "password": PASSWORD}).status_code == 302

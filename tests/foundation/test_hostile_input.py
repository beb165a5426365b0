"""Hostile requests get a clear 4xx, never a 500, and store nothing.

Each case here is one that schemathesis (``make fuzz``) or a hand test found as a 500
or a schema violation before the hardening of issue 12.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import tracemalloc

import pytest
from django.test import override_settings

from backtest_project.middleware import HostileInputMiddleware
from backtests.models import BacktestRun
from inputs.text import printable, text_problem
from optimizers.models import OptimizationRun
from specs.models import Spec
from tests.conftest import REPO

pytestmark = pytest.mark.django_db


# --- NUL characters in URLs (PostgreSQL cannot compare text holding one) -------------


@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/runs/?status=%00",
        "/api/v1/runs/?symbol=BTC%00",
        "/api/v1/specs/?name=%00",
        "/api/v1/sweeps/?spec=%00",
        "/api/v1/candles/coverage/?symbol=%00",
        "/api/v1/runs/?%00=1",
    ],
)
def test_it_answers_a_nul_in_an_api_query_with_a_400(api, url):
    response = api.get(url)
    assert response.status_code == 400
    assert "NUL character" in response.json()["detail"]


@pytest.mark.parametrize("url", ["/runs/?status=%00", "/sweeps/?page=%00", "/admin/specs/spec/?q=%00"])
def test_it_answers_a_nul_in_a_page_query_with_a_400(client, alice, url):
    alice.is_staff = alice.is_superuser = True
    alice.save()
    client.force_login(alice)
    response = client.get(url)
    assert response.status_code == 400
    assert b"contains a NUL character" in response.content


# --- request size ------------------------------------------------------------------


class LazyZeros(io.RawIOBase):
    """A request body of ``size`` zero bytes that is never built, counting what is read."""

    def __init__(self, size: int):
        self.size, self.read_bytes = size, 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        n = min(len(buffer), self.size - self.read_bytes)
        buffer[:n] = b"\0" * n
        self.read_bytes += n
        return n


@pytest.mark.parametrize(
    ("url", "content_type"),
    [
        ("/api/v1/specs/", "multipart/form-data; boundary=x"),
        ("/api/v1/runs/", "application/json"),
        ("/admin/specs/spec/apply/", "multipart/form-data; boundary=x"),
    ],
)
def test_a_200_mb_upload_is_refused_unread(client, alice, url, content_type):
    body = LazyZeros(200 * 1024 * 1024)
    client.force_login(alice)
    tracemalloc.start()
    try:
        response = client.generic(
            "POST", url, b"", content_type=content_type, CONTENT_LENGTH=str(body.size), **{"wsgi.input": body}
        )
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert response.status_code == 413
    assert "larger than the limit of 1048576 bytes (REQUEST_MAX_BYTES)" in response.content.decode()
    assert body.read_bytes == 0
    assert peak < 20 * 1024 * 1024  # the request's own allocations, not its body
    assert Spec.objects.count() == BacktestRun.objects.count() == 0


def test_a_body_at_the_limit_is_read(api, settings):
    settings.REQUEST_MAX_BYTES = 100
    assert (
        api.post("/api/v1/runs/", {"spec": "x" * 50}, format="json").status_code == 400
    )  # read: no such spec
    response = api.post("/api/v1/runs/", {"spec": "x" * 100}, format="json")
    assert response.status_code == 413


def test_a_content_length_that_is_not_a_number_is_a_400(rf):
    request = rf.post("/api/v1/runs/", b"{}", content_type="application/json", CONTENT_LENGTH="ten")
    assert HostileInputMiddleware.problem(request) == (400, "Content-Length 'ten' is not a number")


# --- JSON bodies -------------------------------------------------------------------


def nested(depth: int) -> str:
    return "[" * depth + "]" * depth


@pytest.mark.parametrize(
    "url", ["/api/v1/runs/", "/api/v1/sweeps/", "/api/v1/specs/", "/api/v1/sweeps/1/promote/"]
)
@pytest.mark.parametrize("depth", [65, 100_000])
def test_deeply_nested_json_is_a_400(api, url, depth):
    response = api.post(url, data=nested(depth), content_type="application/json")
    assert response.status_code in (400, 404)  # the promote URL names no sweep: 404 first is fine too
    if response.status_code == 400:
        assert "nested more than 64 levels deep" in response.json()["detail"]


def test_64_levels_are_parsed(api):
    response = api.post("/api/v1/runs/", data=nested(64), content_type="application/json")
    assert response.json()["detail"] == "non_field_errors: Invalid data. Expected a dictionary, but got list."


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ('{"spec": "a\\u0000b"}', "JSON body: the value at spec contains a NUL character (U+0000)"),
        ('{"spec": "\\ud800"}', "JSON body: the value at spec contains a lone UTF-16 surrogate (U+D800)"),
        ('{"spec": "x", "overrides": {"params": {"\\u0000": 1}}}', "the key contains a NUL character"),
        ('{"spec": NaN}', "JSON parse error: NaN is not valid JSON"),
        (b'{"spec": "\xff"}', "JSON parse error: 'utf-8' codec can't decode byte 0xff"),
    ],
)
def test_json_bodies_with_text_that_cannot_be_stored_are_a_400(api, body, message):
    response = api.post("/api/v1/runs/", data=body, content_type="application/json")
    assert response.status_code == 400
    assert message in response.json()["detail"]
    assert BacktestRun.objects.count() == 0


def test_a_surrogate_pair_is_one_character_and_fine(api):
    response = api.post("/api/v1/runs/", data='{"spec": "\\ud83d\\ude00"}', content_type="application/json")
    assert response.status_code == 400
    assert response.json()["detail"] == "no Backtest spec named '😀'"


@pytest.mark.parametrize(
    "content_type", ["multipart/form-data; boundary=x", "application/x-www-form-urlencoded", "text/plain"]
)
def test_api_bodies_are_json_only(api, content_type):
    response = api.post("/api/v1/runs/", data=b"spec=x", content_type=content_type)
    assert response.status_code == 415


# --- references that look numeric ----------------------------------------------------


@pytest.mark.parametrize("url", ["/api/v1/runs/", "/api/v1/sweeps/"])
def test_a_unicode_digit_is_a_name_not_an_id(api, url):
    response = api.post(url, {"spec": "²"}, format="json")
    assert response.status_code == 400
    assert "named '²'" in response.json()["detail"]


@pytest.mark.parametrize("url", ["/api/v1/runs/", "/api/v1/sweeps/"])
@pytest.mark.parametrize("ref", [4.0, True, None, [1], {"id": 1}])
def test_a_spec_reference_is_a_name_or_an_integer_id(api, url, ref):
    response = api.post(url, {"spec": ref}, format="json")
    assert response.status_code == 400
    assert response.json()["detail"].startswith("spec: ")


# --- query parameters ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "message"),
    [
        (
            "/api/v1/runs/?status=done",
            "status: 'done' is not one of queued, running, succeeded, failed, errored, cancelled",
        ),
        ("/api/v1/runs/?ordering=colour", "ordering: cannot order by 'colour'; use one of id, queued_at"),
        ("/api/v1/runs/?symbol=" + "X" * 65, "symbol: Ensure this field has no more than 64 characters."),
        ("/api/v1/sweeps/?method=annealing", "method: 'annealing' is not one of grid, genetic, random"),
        ("/api/v1/specs/?latest=maybe", "latest: Must be a valid boolean."),
        ("/api/v1/specs/?latest=", "latest: Must be a valid boolean."),
        ("/api/v1/specs/?name=a&name=b", "name: given 2 times; give it once"),
        ("/api/v1/runs/?page=abc", "page: 'abc' is not a page number (1, 2, 3, …)"),
        ("/api/v1/runs/?page=0", "page: '0' is not a page number"),
        ("/api/v1/runs/?page=last", "page: 'last' is not a page number"),
        ("/api/v1/runs/?page=", "page: '' is not a page number"),
        ("/api/v1/runs/?page=1&page=2", "page: given 2 times; give it once"),
        ("/api/v1/candles/coverage/?timeframe=123456789", "timeframe: Ensure this field has no more than 8"),
        ("/api/v1/runs/1/trades/?format=", "format: '' is not one of json, csv, parquet"),
    ],
)
def test_bad_query_parameters_are_a_400_naming_them(api, url, message):
    response = api.get(url)
    assert response.status_code == 400
    assert response.json()["detail"].startswith(message)


def test_an_export_refuses_a_bad_page_too(api):
    # every trade, so the page is not used, but ?page=-1 is still not a page
    response = api.get("/api/v1/runs/1/trades/?format=csv&page=-1")
    assert response.status_code == 400
    assert response.content.decode() == "detail\npage: '-1' is not a page number (1, 2, 3, …)\n"


def test_a_page_past_the_end_is_a_404_and_empty_filters_are_no_filters(api):
    assert api.get("/api/v1/runs/?page=2").status_code == 404
    assert api.get("/api/v1/runs/?page=1&status=&symbol=&ordering=").json()["count"] == 0
    assert api.get("/api/v1/specs/?latest=true&kind=").status_code == 200


def test_nothing_half_written_after_refusals(api):
    api.post("/api/v1/specs/", data=nested(1000), content_type="application/json")
    api.post("/api/v1/sweeps/", data='{"spec": "\\u0000"}', content_type="application/json")
    assert Spec.objects.count() == OptimizationRun.objects.count() == BacktestRun.objects.count() == 0


# --- the text helpers ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("plain é → ok", "plain é → ok"),
        ("tab\tand\nnewline", "tab\tand\nnewline"),
        ("\x1b[31mred\x1b[0m", "\\x1b[31mred\\x1b[0m"),
        ("nul\x00", "nul\\x00"),
        ("del\x7f c1\x9b", "del\\x7f c1\\x9b"),
        ("lone\udcff", "lone\\udcff"),
    ],
)
def test_printable_escapes_control_characters_and_surrogates(text, shown):
    assert printable(text) == shown
    printable(text).encode("utf-8")  # always encodable


def test_text_problem_names_the_character_and_where():
    assert text_problem("ok") is None
    assert (
        text_problem("ab\x00") == "contains a NUL character (U+0000) at character 3, which cannot be stored"
    )
    assert text_problem("\ud800").startswith("contains a lone UTF-16 surrogate (U+D800) at character 1")


def test_json_errors_render_whatever_they_quote(api):
    # the message quotes the bad key, escaped: the response itself must encode
    response = api.post(
        "/api/v1/runs/", data='{"spec": "x", "\\u001b[2J": "\\u0000"}', content_type="application/json"
    )
    assert response.status_code == 400
    assert "\\x1b[2J" in json.loads(response.content)["detail"]


@override_settings(REQUEST_MAX_BYTES=10)
def test_the_limit_is_a_setting(api):
    assert api.post("/api/v1/runs/", {"spec": "abcdefghij"}, format="json").status_code == 413


# --- command-line arguments ----------------------------------------------------------


@pytest.mark.parametrize(
    "args",
    [
        [b"backtest", b"bad\xff", b"--user", b"x"],
        [b"sweep", b"\xff"],
        [b"load_candles", b"/tmp/x\xff.csv", b"--symbol", b"A", b"--timeframe", b"1m"],
    ],
)
def test_arguments_that_are_not_utf8_are_refused_before_any_command(args):
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "backtest_project.settings", "BACKTEST_LOCAL_ENV": ""}
    result = subprocess.run([sys.executable, "manage.py", *args], cwd=REPO, env=env, capture_output=True)
    assert result.returncode == 1
    bad = next(i for i, arg in enumerate(args, start=1) if b"\xff" in arg)
    assert (
        result.stderr.decode()
        == f"manage.py: argument {bad} ({args[bad - 1]!r}) is not UTF-8 text; give names in UTF-8\n"
    )

"""The documented production environment passes ``check --deploy`` with no warning; the
security headers are sent; /api/docs/ works with no network (only local files)."""

from __future__ import annotations

import os
import re
import secrets
import subprocess
import sys
from html.parser import HTMLParser
from urllib.parse import urlsplit

import pytest
from django.contrib.staticfiles import finders

from tests.conftest import REPO

DOC = REPO / "docs" / "configuration.md"


def production_environment() -> dict[str, str]:
    """The variables of the ```env block in docs/configuration.md's "Production" section,
    with a generated value for each placeholder (``<…>``)."""
    text = DOC.read_text(encoding="utf-8")
    section = text[text.index("## Production") :]
    block = re.search(r"```env\n(.*?)```", section, re.S)
    assert block, "docs/configuration.md: no ```env block under ## Production"
    env = {}
    for line in block.group(1).splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            key, _, value = line.partition("=")
            env[key] = secrets.token_urlsafe(50) if value.startswith("<") else value
    return env


def test_check_deploy_is_clean_with_the_documented_production_environment():
    documented = production_environment()
    assert {"SECURE_SSL_REDIRECT", "SECURE_HSTS_SECONDS", "SECURE_COOKIES", "SECRET_KEY"} <= documented.keys()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "SECURE_", "CSP_"))}
    env.update(documented, DJANGO_SETTINGS_MODULE="backtest_project.settings", BACKTEST_LOCAL_ENV="")
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_without_the_tls_variables_check_deploy_warns():
    # the check above is not clean by accident: the same run without them warns
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "SECURE_", "CSP_"))}
    env.update(
        DJANGO_SETTINGS_MODULE="backtest_project.settings",
        BACKTEST_LOCAL_ENV="",
        SECRET_KEY=secrets.token_urlsafe(50),
        DEBUG="0",
    )
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy"], cwd=REPO, env=env, capture_output=True, text=True
    )
    for warning in ("security.W004", "security.W008", "security.W012", "security.W016"):
        assert warning in result.stdout + result.stderr


@pytest.mark.django_db
def test_pages_send_the_security_headers(client):
    response = client.get("/accounts/login/")
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    policy = dict(part.strip().split(" ", 1) for part in response["Content-Security-Policy"].split(";"))
    assert policy["script-src"] == "'self'"
    assert policy["default-src"] == "'self'"
    assert policy["frame-ancestors"] == "'none'"
    assert policy["object-src"] == "'none'"


@pytest.mark.django_db
def test_hsts_and_the_https_redirect_follow_the_settings(client, settings):
    settings.SECURE_SSL_REDIRECT = True
    settings.SECURE_HSTS_SECONDS = 3600
    response = client.get("/accounts/login/")
    assert response.status_code == 301
    assert response["Location"] == "https://testserver/accounts/login/"
    assert client.get("/health").status_code != 301  # load balancers probe over plain HTTP
    secure = client.get("/api/v1/schemas/backtest.json", secure=True)
    assert secure["Strict-Transport-Security"] == "max-age=3600"


class _Assets(HTMLParser):
    def __init__(self):
        super().__init__()
        self.urls: list[str] = []
        self.inline_scripts = 0
        self._in_script = False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        for name in ("src", "href"):
            if attrs.get(name):
                self.urls.append(attrs[name])
        self._in_script = tag == "script" and not attrs.get("src")

    def handle_data(self, data):
        if self._in_script and data.strip():
            self.inline_scripts += 1

    def handle_endtag(self, tag):
        self._in_script = False


def test_the_api_docs_use_only_the_projects_own_files(client):
    page = client.get("/api/docs/")
    assert page.status_code == 200
    assets = _Assets()
    assets.feed(page.content.decode())
    assert assets.urls, "the page references no files at all?"
    assert assets.inline_scripts == 0  # the CSP allows no inline script
    for url in assets.urls:
        parts = urlsplit(url)
        assert not parts.scheme and not parts.netloc, f"{url} is not on this site"
        if parts.path.startswith("/static/"):
            name = parts.path.removeprefix("/static/")
            assert finders.find(name), f"{name} is not among the static files"
        else:
            assert client.get(url).status_code == 200, url
    script = client.get("/api/docs/?script=").content.decode()
    assert "http://" not in script and "https://" not in script
    assert '"validatorUrl": null' in script  # no badge from an online validator


@pytest.mark.django_db
def test_no_page_needs_an_inline_script(client):
    # script-src 'self' blocks inline scripts: every page must work without one
    from specs.models import SpecKind
    from tests.factories import backtest_data, make_run, make_spec, make_user

    root = make_user("root", staff=True)
    root.is_superuser = True
    root.save()
    run = make_run(root, make_spec(root, SpecKind.BACKTEST, "a", backtest_data("a")), bars=300)
    client.force_login(root)
    pages = [
        "/runs/",
        f"/runs/{run.pk}/",
        "/sweeps/",
        "/admin/",
        "/admin/specs/spec/",
        "/admin/specs/spec/apply/",
        f"/admin/specs/spec/{run.spec.pk}/change/",
        "/admin/backtests/backtestrun/",
        f"/admin/backtests/backtestrun/{run.pk}/change/",
        "/api/docs/",
    ]
    for url in pages:
        response = client.get(url)
        assert response.status_code == 200, url
        assets = _Assets()
        assets.feed(response.content.decode())
        assert assets.inline_scripts == 0, url

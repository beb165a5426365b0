"""The typed environment helpers: table-driven, input -> exact result or error."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from backtest_project.env import database_from_url, env_bool, env_int, env_list


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("1", True), ("true", True), ("YES", True), ("on", True), ("0", False), ("off", False), ("", False)],
)
def test_env_bool_reads_common_spellings(monkeypatch, raw, expected):
    monkeypatch.setenv("FLAG", raw)
    assert env_bool("FLAG", False) is expected


def test_env_bool_names_the_variable_on_nonsense(monkeypatch):
    monkeypatch.setenv("FLAG", "maybe")
    with pytest.raises(ImproperlyConfigured, match="FLAG='maybe' is not a boolean"):
        env_bool("FLAG")


def test_env_int_and_list(monkeypatch):
    monkeypatch.setenv("N", "12")
    monkeypatch.setenv("HOSTS", "a.example, b.example ,")
    assert env_int("N", 1) == 12
    assert env_int("MISSING_N", 7) == 7
    assert env_list("HOSTS", []) == ["a.example", "b.example"]
    monkeypatch.setenv("N", "twelve")
    with pytest.raises(ImproperlyConfigured, match="N='twelve' is not an integer"):
        env_int("N", 1)


def test_database_from_url_postgres():
    db = database_from_url("postgres://u:p%40ss@db.local:5433/bt?sslmode=require", base_dir=Path("/x"))
    assert db["ENGINE"] == "django.db.backends.postgresql"
    assert (db["NAME"], db["USER"], db["PASSWORD"], db["HOST"], db["PORT"]) == (
        "bt",
        "u",
        "p@ss",
        "db.local",
        "5433",
    )
    assert db["OPTIONS"] == {"sslmode": "require"}


@pytest.mark.parametrize(
    ("url", "name"),
    [("sqlite:///var/db.sqlite3", "/base/var/db.sqlite3"), ("sqlite:////tmp/x.db", "/tmp/x.db")],
)
def test_database_from_url_sqlite(url, name):
    assert database_from_url(url, base_dir=Path("/base"))["NAME"] == name


@pytest.mark.parametrize(
    ("url", "message"),
    [("mysql://x/y", "scheme 'mysql' is not supported"), ("postgres://u:secret@h/", r"u:\*\*\*@h")],
)
def test_database_from_url_errors(url, message):
    with pytest.raises(ImproperlyConfigured, match=message):
        database_from_url(url, base_dir=Path("/base"))

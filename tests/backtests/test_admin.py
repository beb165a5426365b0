"""The runs admin shows figures for people: formatted metrics, trades numbered from 1
as in the report, 24-hour UTC dates, overrides."""

from __future__ import annotations

import re

import pytest

from specs.models import SpecKind
from tests.factories import backtest_data, make_run, make_spec, make_user

pytestmark = pytest.mark.django_db


def test_the_run_pages_format_metrics_dates_and_trade_numbers(client):
    admin = make_user("root", staff=True)
    admin.is_superuser = True
    admin.save()
    spec = make_spec(admin, SpecKind.BACKTEST, "s", backtest_data("s"))
    run = make_run(admin, spec, bars=800)
    type(run).objects.filter(pk=run.pk).update(overrides={"params": {"fast_period": 8}})
    client.force_login(admin)
    listing = client.get("/admin/backtests/backtestrun/").content.decode()
    assert f"{run.total_return * 100:+.2f}%" in listing and "fast_period=8" in listing
    detail = client.get(f"/admin/backtests/backtestrun/{run.pk}/change/").content.decode()
    assert f"{run.win_rate * 100:.2f}%" in detail  # the metrics table, formatted
    assert 'title="max_drawdown_duration">Max drawdown duration</th>' in detail
    numbers = re.findall(r"<tr><td>(\d+)</td><td>(?:long|short)</td>", detail)
    assert numbers[:2] == ["1", "2"]  # numbered from 1, like the report and the CSV
    moment = run.queued_at.strftime("%Y-%m-%d %H:%M")
    assert moment in detail and " UTC" in detail and "a.m." not in detail and "p.m." not in detail

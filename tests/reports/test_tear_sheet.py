"""The tear sheet: the default layout's new sections, the paginated trade list, its
CSV/Parquet export (page and API), the analytics API, cached PDFs that fit A4."""

from __future__ import annotations

import csv
import io
import re

import numpy as np
import pyarrow.parquet as pq
import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from reports.analytics.drawdowns import drawdown_periods
from reports.layouts import DEFAULT_LAYOUT
from reports.run_data import RunData
from specs.models import SpecKind
from tests.factories import backtest_data, layout_data, make_run, make_spec
from tests.reports.test_report_page import _get, _section_html, _sections

pytestmark = pytest.mark.django_db


@pytest.fixture
def tear_sheet_run(alice):
    spec = make_spec(alice, SpecKind.BACKTEST, "plain", backtest_data("plain", symbol="ETH-USDT-SWAP"))
    return make_run(alice, spec, bars=24 * 120, store=True)


def _expected_names() -> list[str]:
    names = []
    for section in DEFAULT_LAYOUT["sections"]:
        sub = section.get("chart") or section.get("table")
        names.append(f"{section['type']}:{sub}" if sub else section["type"])
    return names


def test_the_default_layout_is_a_tear_sheet_with_every_new_section(alice_client, tear_sheet_run):
    html = _get(alice_client, tear_sheet_run)
    assert _sections(html) == _expected_names()
    assert 'class="note"' not in html
    for name in ("chart:benchmark", "chart:return_distribution", "chart:price_with_trades"):
        assert '<svg class="chart-svg"' in _section_html(html, name), name
    titles = re.findall(r"<h2>([^<]+)</h2>", html)
    assert len(titles) == len(set(titles)), titles  # no two sections share a title
    assert "RSI 14" not in html  # ema_cross draws its two EMAs, not an RSI
    assert ">EMA 12</text>" in html and ">EMA 26</text>" in html


def test_the_drawdown_table_lists_the_deepest_periods_in_order(alice_client, tear_sheet_run):
    html = _section_html(_get(alice_client, tear_sheet_run), "table:drawdowns")
    ts, equity = RunData(tear_sheet_run).equity
    worst = drawdown_periods(ts, equity).worst(5)
    depths = [float(v) for v in re.findall(r'<td class="num neg">([\d.]+)%</td>', html)]
    assert depths == pytest.approx(np.round(worst.depth * 100, 2).tolist())
    assert depths[0] == pytest.approx(tear_sheet_run.max_drawdown * 100, abs=0.006)


def test_the_breakdown_and_yearly_tables_add_up(alice_client, tear_sheet_run):
    html = _get(alice_client, tear_sheet_run)
    breakdown = _section_html(html, "table:trade_breakdown")
    total = tear_sheet_run.total_trades
    counts = [
        int(v.replace(",", ""))
        for v in re.findall(r'<th>(?:long|short)</th>\s*<td class="num">([\d,]+)</td>', breakdown)
    ]
    assert sum(counts) == total
    assert f'<th>all trades</th>\n      <td class="num">{total:,}</td>' in breakdown
    yearly = _section_html(html, "table:yearly")
    assert f"{tear_sheet_run.total_return * 100:+,.2f}%" in yearly  # one calendar year: the total return


def test_the_trade_list_is_paginated_and_keeps_numbering_from_one(alice, alice_client):
    sections = [{"type": "table", "table": "trades", "page_size": 10}]
    make_spec(alice, SpecKind.REPORT_LAYOUT, "list", layout_data("list", sections))
    spec = make_spec(
        alice,
        SpecKind.BACKTEST,
        "s",
        backtest_data(
            "s",
            report="list",
            params={"fast_period": 3, "slow_period": 8, "leverage": 1, "stop_loss_percent": 2.0},
        ),
    )
    run = make_run(alice, spec, bars=1500)
    assert run.total_trades > 25
    url = reverse("reports:run-report", args=[run.pk])
    first = alice_client.get(url).content.decode()
    assert re.findall(r'<td class="num">(\d+)</td>\s*<td>(?:long|short)</td>', first)[:2] == ["1", "2"]
    assert f"Trades 1–10 of {run.total_trades}" in first and "trades_page=2" in first
    second = alice_client.get(url + "?trades_page=2").content.decode()
    assert re.findall(r'<td class="num">(\d+)</td>\s*<td>(?:long|short)</td>', second)[0] == "11"
    last = alice_client.get(url + "?trades_page=999").content.decode()  # clamped to the last page
    assert f"of {run.total_trades}" in last and "next ›" not in last


def _rows(content: bytes) -> list[dict]:
    return list(csv.DictReader(io.StringIO(content.decode())))


def test_the_page_exports_every_trade_as_csv_and_parquet(alice_client, run_with_trades, bob):
    url = reverse("reports:run-trades-export", args=[run_with_trades.pk, "csv"])
    response = alice_client.get(url)
    assert response.status_code == 200 and response["Content-Type"] == "text/csv"
    rows = _rows(response.content)
    trades = list(run_with_trades.trades.order_by("seq"))
    assert len(rows) == len(trades) == run_with_trades.total_trades
    assert rows[0]["seq"] == "1" and float(rows[0]["pnl"]) == trades[0].pnl
    assert float(rows[-1]["return"]) == trades[-1].trade_return
    parquet = alice_client.get(reverse("reports:run-trades-export", args=[run_with_trades.pk, "parquet"]))
    table = pq.read_table(io.BytesIO(parquet.content))
    assert table.num_rows == len(trades)
    assert table.column("pnl").to_pylist() == [t.pnl for t in trades]
    assert (
        alice_client.get(reverse("reports:run-trades-export", args=[run_with_trades.pk, "xlsx"])).status_code
        == 404
    )
    from tests.reports.conftest import login

    login(alice_client, bob)
    assert alice_client.get(url).status_code == 404


def test_the_api_answers_csv_and_parquet_and_the_analytics(alice, bob, run_with_trades):
    api = APIClient()
    api.force_authenticate(alice)
    base = f"/api/v1/runs/{run_with_trades.pk}/"
    response = api.get(base + "trades/", HTTP_ACCEPT="text/csv")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    assert len(_rows(response.content)) == run_with_trades.total_trades  # every trade, unpaginated
    parquet = api.get(base + "trades/?format=parquet")
    assert pq.read_table(io.BytesIO(parquet.content)).num_rows == run_with_trades.total_trades
    assert api.get(base + "trades/").json()["count"] == run_with_trades.total_trades  # JSON stays paginated
    analytics = api.get(base + "analytics/").json()
    assert analytics["benchmark"] is True
    assert analytics["metrics"]["drawdown_periods"] >= 1 and analytics["metrics"]["beta"] is not None
    assert analytics["drawdowns"][0]["depth"] == pytest.approx(run_with_trades.max_drawdown)
    api.force_authenticate(bob)
    assert api.get(base + "trades/", HTTP_ACCEPT="text/csv").status_code == 404
    assert api.get(base + "analytics/").status_code == 404


def test_the_api_root_links_every_collection(alice):
    api = APIClient()
    api.force_authenticate(alice)
    links = api.get("/api/v1/", HTTP_ACCEPT="application/json").json()
    assert {"runs", "specs", "sweeps", "candles", "openapi", "docs"} <= set(links)
    assert api.get(links["runs"]).status_code == 200


def test_runs_of_one_spec_are_told_apart_by_their_overrides(alice, alice_client, every_spec):
    one = make_run(alice, every_spec, bars=300)
    two = make_run(alice, every_spec, bars=300, seed=3)
    type(two).objects.filter(pk=two.pk).update(overrides={"params": {"fast_period": 8}})
    listing = alice_client.get(reverse("reports:run-list")).content.decode()
    assert "fast_period=8" in listing
    compare = alice_client.get(reverse("reports:compare") + f"?ids={one.pk},{two.pk}").content.decode()
    assert f"#{two.pk} ema-btc-1h v1 · fast_period=8" in compare
    assert 'data-metric="sqn"' in compare and 'data-metric="beta"' in compare
    report = alice_client.get(reverse("reports:run-report", args=[two.pk])).content.decode()
    assert "Overrides: <code>fast_period=8</code>" in report

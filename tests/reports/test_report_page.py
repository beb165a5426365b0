"""The run report page: every section type, its order, notes, statuses and provenance."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from jobs.models import JobStatus
from specs.models import SpecKind
from tests.factories import backtest_data, layout_data, make_run, make_spec
from tests.reports.conftest import EVERY_SECTION_NAMES

pytestmark = pytest.mark.django_db


def _sections(html: str) -> list[str]:
    return re.findall(r'<section class="report-section[^"]*"[^>]*data-section="([^"]+)"', html)


def _section_html(html: str, name: str) -> str:
    start = html.index(f'data-section="{name}"')
    end = html.find("<section ", start)
    return html[start : end if end > 0 else len(html)]


def _get(client, run) -> str:
    response = client.get(reverse("reports:run-report", args=[run.pk]))
    assert response.status_code == 200
    return response.content.decode()


def test_it_renders_every_section_type_in_the_layouts_order(alice_client, run_with_trades):
    assert run_with_trades.total_trades > 5
    html = _get(alice_client, run_with_trades)
    assert _sections(html) == EVERY_SECTION_NAMES
    for name in EVERY_SECTION_NAMES:
        if name.startswith("chart:"):
            assert '<svg class="chart-svg"' in _section_html(html, name), name
    assert 'class="note"' not in html
    assert "<h1>All sections</h1>" in html


def test_it_renders_every_section_of_a_run_without_trades_with_a_note(alice_client, run_without_trades):
    assert run_without_trades.total_trades == 0
    html = _get(alice_client, run_without_trades)
    assert _sections(html) == EVERY_SECTION_NAMES
    no_trades = "No trades: the strategy never entered a position"
    for name in (
        "metrics",
        "table:trades",
        "chart:price_with_trades",
        "chart:trade_returns",
        "table:monthly",
    ):
        assert no_trades in _section_html(html, name), name
    assert "rolling Sharpe is undefined" in _section_html(html, "chart:rolling_sharpe")
    # equity, drawdown, monthly heatmap and the price still draw
    for name in ("chart:equity", "chart:drawdown", "chart:price_with_trades", "chart:monthly_returns"):
        assert '<svg class="chart-svg"' in _section_html(html, name), name
    assert '<svg class="chart-svg"' not in _section_html(html, "chart:trade_returns")
    assert '<table class="data trades"' not in html


def test_it_lists_the_trades_the_layout_asks_for(alice_client, run_with_trades):
    html = _section_html(_get(alice_client, run_with_trades), "table:trades")
    assert f"The first 5 of {run_with_trades.total_trades} trades, sorted by -pnl" in html
    best = sorted(run_with_trades.trades.values_list("pnl", flat=True), reverse=True)[:5]
    rows = re.findall(r'<td class="num (?:pos|neg|)">([+-]?[\d,]+\.\d\d)</td>\s*<td class="num', html)
    assert [float(v.replace(",", "")) for v in rows] == pytest.approx(best, abs=0.006)


def test_it_escapes_text_sections_and_keeps_paragraphs(alice_client, run_with_trades):
    html = _section_html(_get(alice_client, run_with_trades), "text")
    assert "<p>First paragraph.</p>" in html
    assert "<p>Second &lt;b&gt;paragraph&lt;/b&gt;.</p>" in html


def test_it_shows_the_spec_yaml_and_version_for_provenance(alice_client, run_with_trades):
    html = _get(alice_client, run_with_trades)
    provenance = html[html.index('class="provenance"') :]
    assert "Spec <strong>ema-btc-1h</strong> version 1" in provenance
    assert "Layout <strong>every</strong> version 1" in provenance
    assert "strategy: ema_cross" in provenance  # the YAML text, escaped into a <pre>
    assert "report: every" in provenance


def test_it_uses_the_default_layout_when_the_spec_names_none(alice, alice_client):
    spec = make_spec(alice, SpecKind.BACKTEST, "plain", backtest_data("plain"))
    html = _get(alice_client, make_run(alice, spec, bars=800))
    assert _sections(html)[:3] == ["metrics", "chart:equity", "chart:drawdown"]
    assert "(built-in default)" in html
    assert 'class="note"' in html  # the price chart: these candles were never stored
    assert "no longer stored" in _section_html(html, "chart:price_with_trades")


def test_it_falls_back_to_the_default_layout_when_the_named_one_is_gone(alice, alice_client):
    spec = make_spec(alice, SpecKind.BACKTEST, "lost", backtest_data("lost", report="vanished"))
    html = _get(alice_client, make_run(alice, spec, bars=800))
    assert "The layout “vanished” named by the spec no longer exists" in html
    assert "chart:rolling_sharpe" in _sections(html)


def test_it_follows_the_newest_version_of_the_named_layout(alice, alice_client):
    make_spec(
        alice, SpecKind.REPORT_LAYOUT, "std", layout_data("std", [{"type": "chart", "chart": "equity"}])
    )
    spec = make_spec(alice, SpecKind.BACKTEST, "s", backtest_data("s", report="std"))
    run = make_run(alice, spec, bars=600)
    make_spec(alice, SpecKind.REPORT_LAYOUT, "std", layout_data("std", [{"type": "text", "text": "v2 only"}]))
    html = _get(alice_client, run)
    assert _sections(html) == ["text"]
    assert "Layout <strong>std</strong> version 2" in html


def test_it_ignores_another_users_layout_of_the_same_name(alice, bob, alice_client):
    make_spec(bob, SpecKind.REPORT_LAYOUT, "mine", layout_data("mine", [{"type": "text", "text": "bob's"}]))
    spec = make_spec(alice, SpecKind.BACKTEST, "s", backtest_data("s", report="mine"))
    html = _get(alice_client, make_run(alice, spec, bars=600))
    assert "bob&#x27;s" not in html and "no longer exists" in html


def test_it_replaces_a_section_it_cannot_render_with_a_note(alice, alice_client):
    sections = [
        {"type": "video"},
        {"type": "chart", "chart": "candles3d"},
        {"type": "chart", "chart": "equity"},
    ]
    make_spec(alice, SpecKind.REPORT_LAYOUT, "odd", layout_data("odd", sections))
    spec = make_spec(alice, SpecKind.BACKTEST, "s", backtest_data("s", report="odd"))
    html = _get(alice_client, make_run(alice, spec, bars=600))
    assert _sections(html) == ["invalid", "invalid", "chart:equity"]
    assert "unknown type &#x27;video&#x27;" in html and "unknown chart &#x27;candles3d&#x27;" in html


def test_it_groups_metrics_into_returns_risk_and_trades(alice_client, run_with_trades):
    html = _section_html(_get(alice_client, run_with_trades), "metrics")
    titles = re.findall(r"<h3>(\w+)</h3>", html)
    assert titles == ["Returns", "Risk", "Trades"]
    total = run_with_trades.total_return * 100
    assert f"{total:+,.2f}%" in html


def test_it_puts_metrics_sections_of_one_group_side_by_side(alice, alice_client):
    sections = [
        {
            "type": "metrics",
            "group": "Summary",
            "title": "Performance",
            "metrics": ["sharpe_ratio", "total_return"],
        },
        {"type": "metrics", "group": "Summary", "title": "Risk", "metrics": ["max_drawdown"]},
    ]
    make_spec(alice, SpecKind.REPORT_LAYOUT, "grp", layout_data("grp", sections))
    spec = make_spec(alice, SpecKind.BACKTEST, "s", backtest_data("s", report="grp"))
    html = _get(alice_client, make_run(alice, spec, bars=600))
    assert _sections(html) == ["metrics"]
    part = _section_html(html, "metrics")
    assert "<h2>Summary</h2>" in part
    assert re.findall(r"<h3>(\w+)</h3>", part) == ["Performance", "Risk"]
    assert re.findall(r'data-metric="(\w+)"', part) == ["sharpe_ratio", "total_return", "max_drawdown"]


def test_it_ranks_months_when_the_monthly_table_is_sorted(alice, alice_client):
    sections = [{"type": "table", "table": "monthly", "sort": "return", "limit": 2}]
    make_spec(alice, SpecKind.REPORT_LAYOUT, "worst", layout_data("worst", sections))
    spec = make_spec(alice, SpecKind.BACKTEST, "s", backtest_data("s", report="worst"))
    html = _get(alice_client, make_run(alice, spec, bars=24 * 100))  # 100 days: 4 months
    assert "2 of 4 months, sorted by return" in html
    values = [float(v) for v in re.findall(r'<td class="num \w*">([+-]?\d+\.\d\d)%</td>', html)]
    assert len(values) == 2 and values[0] <= values[1]


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (JobStatus.FAILED, "This run failed"),
        (JobStatus.QUEUED, "This run is queued"),
        (JobStatus.RUNNING, "This run is running"),
        (JobStatus.CANCELLED, "This run was cancelled"),
    ],
)
def test_it_shows_the_status_instead_of_sections_for_runs_that_did_not_succeed(
    alice, alice_client, every_spec, status, expected
):
    run = make_run(alice, every_spec, status=status, error="no candles for XRP-USDT-SWAP 1h")
    html = _get(alice_client, run)
    assert expected in html
    assert _sections(html) == []
    assert 'data-section="status"' in html
    assert ("no candles for XRP-USDT-SWAP 1h" in html) == (status == JobStatus.FAILED)
    assert "Download PDF" not in html
    assert "strategy: ema_cross" in html  # provenance is still there

"""Charts are drawn once per (run, section, size) and then served from the cache."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.urls import reverse

from reports import charts
from reports.chart_sections import CHART_SIZES, chart_cache_key
from reports.layouts import resolve_layout

pytestmark = pytest.mark.django_db


@pytest.fixture
def draws(monkeypatch):
    """Every chart serialised, counted."""
    calls: list[str] = []
    real = charts.finish

    def counting(chart, label):
        calls.append(label)
        return real(chart, label)

    monkeypatch.setattr(charts, "finish", counting)
    return calls


def test_it_draws_each_chart_once_and_serves_it_from_the_cache_after(alice_client, run_with_trades, draws):
    url = reverse("reports:run-report", args=[run_with_trades.pk])
    first = alice_client.get(url).content.decode()
    assert len(draws) == 6  # the six chart sections of the layout
    layout = resolve_layout(run_with_trades)
    for section in layout.sections:
        if section["type"] == "chart":
            assert cache.get(chart_cache_key(run_with_trades, section, CHART_SIZES[section["chart"]]))["svg"]

    second = alice_client.get(url).content.decode()
    assert len(draws) == 6
    assert second.count('<svg class="chart-svg"') == first.count('<svg class="chart-svg"') == 6


def test_it_does_not_load_the_run_data_when_every_chart_is_cached(
    alice_client, run_with_trades, draws, django_assert_num_queries
):
    url = reverse("reports:run-report", args=[run_with_trades.pk])
    alice_client.get(url)
    # session, user, run (with spec and owner), layout; the sections come whole from the
    # cache: no equity curve, no trades, no candles
    with django_assert_num_queries(4):
        assert alice_client.get(url).status_code == 200


def test_it_does_not_cache_a_missing_candles_note(alice, alice_client, every_spec, draws):
    from tests.factories import make_run

    run = make_run(alice, every_spec, bars=600)  # candles never stored
    section = {"type": "chart", "chart": "price_with_trades"}
    html = alice_client.get(reverse("reports:run-report", args=[run.pk])).content.decode()
    assert "no longer stored" in html
    assert cache.get(chart_cache_key(run, section, CHART_SIZES["price_with_trades"])) is None


def test_it_does_not_cache_sections_rendered_without_the_candles(alice, alice_client, every_spec, draws):
    from tests.factories import make_run

    run = make_run(alice, every_spec, bars=600)  # candles never stored
    url = reverse("reports:run-report", args=[run.pk])
    alice_client.get(url)
    drawn = len(draws)
    html = alice_client.get(url).content.decode()
    assert "no longer stored" in html
    assert drawn == 5  # every chart but the price chart, drawn once and cached
    assert len(draws) == drawn  # the charts come from the cache, the page is rendered again
    assert cache.keys(f"report:sections:*:run{run.pk}:*") == []
    assert cache.keys("report:chart:*")  # while the charts are cached

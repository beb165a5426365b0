"""Comparing 2–6 runs: metrics side by side, equity curves on one chart, clear errors."""

from __future__ import annotations

import pytest
from django.urls import reverse

from jobs.models import JobStatus
from reports.compare import CompareError, parse_ids
from specs.models import SpecKind
from tests.factories import backtest_data, make_run, make_spec

pytestmark = pytest.mark.django_db


def _url(runs) -> str:
    return reverse("reports:compare") + "?ids=" + ",".join(str(run.pk) for run in runs)


@pytest.fixture
def seven_runs(alice):
    spec = make_spec(alice, SpecKind.BACKTEST, "c", backtest_data("c"))
    return [make_run(alice, spec, bars=300, seed=seed) for seed in range(1, 8)]


def test_it_compares_two_runs(alice, alice_client):
    fast = make_spec(alice, SpecKind.BACKTEST, "fast", backtest_data("fast", params={"fast_period": 5}))
    slow = make_spec(alice, SpecKind.BACKTEST, "slow", backtest_data("slow", params={"fast_period": 20}))
    runs = [make_run(alice, fast, bars=600), make_run(alice, slow, bars=600)]
    response = alice_client.get(_url(runs))
    assert response.status_code == 200
    html = response.content.decode()
    assert "2 runs side by side" in html
    chart = html[html.index('data-section="compare:equity"') : html.index('data-section="compare:metrics"')]
    assert chart.count('<svg class="chart-svg"') == 1
    assert f"#{runs[0].pk} fast v1" in chart and f"#{runs[1].pk} slow v1" in chart
    for metric in ("total_return", "sharpe_ratio", "max_drawdown", "total_fees"):
        assert html.count(f'data-metric="{metric}"') == 1
    assert '<tr class="differs"><th>params.fast_period</th><td><code>5</code></td><td><code>20</code>' in html
    assert "<th>symbol</th>" in html and '<tr class="differs"><th>symbol</th>' not in html


def test_it_accepts_the_run_lists_checkboxes(alice_client, seven_runs):
    first, second = seven_runs[:2]
    response = alice_client.get(reverse("reports:compare") + f"?ids={first.pk}&ids={second.pk}")
    assert response.status_code == 200
    assert "2 runs side by side" in response.content.decode()


def test_it_refuses_seven_runs_with_a_clear_message(alice_client, seven_runs):
    response = alice_client.get(_url(seven_runs))
    assert response.status_code == 400
    html = response.content.decode()
    assert "At most 6 runs can be compared at once; you chose 7." in html
    assert "<svg" not in html


def test_it_refuses_a_single_run(alice_client, seven_runs):
    response = alice_client.get(_url(seven_runs[:1]))
    assert response.status_code == 400
    assert "Choose at least 2 runs to compare (got 1)" in response.content.decode()


def test_it_marks_the_best_value_of_each_metric(alice, alice_client, seven_runs):
    runs = seven_runs[:3]
    best = max(runs, key=lambda run: run.total_return)
    html = alice_client.get(_url(runs)).content.decode()
    row = html[html.index('data-metric="total_return"') :]
    row = row[: row.index("</tr>")]
    cells = row.split("<td")[1:]
    assert ["best" in cell for cell in cells] == [run is best for run in runs]


def test_it_notes_runs_without_results_and_still_compares_the_others(alice, alice_client, seven_runs):
    failed = make_run(alice, seven_runs[0].spec, status=JobStatus.FAILED)
    html = alice_client.get(_url([seven_runs[0], failed])).content.decode()
    assert f"#{failed.pk} c v1 is failed: it has no equity curve to draw." in html
    assert html.count('<svg class="chart-svg"') == 1


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        (["1,2"], [1, 2]),
        (["3", "4", "3"], [3, 4]),
        (["1, 2,,6"], [1, 2, 6]),
    ],
)
def test_it_parses_run_ids(values, expected):
    assert parse_ids(values) == expected


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ([], "at least 2"),
        (["5,5"], "at least 2"),
        (["1,x"], "“x” is not a run id"),
        (["1,2,3,4,5,6,7"], "At most 6"),
    ],
)
def test_it_says_what_is_wrong_with_the_ids(values, message):
    with pytest.raises(CompareError, match=message):
        parse_ids(values)

"""The sweep page, the admin pages and the `sweep` command."""

from __future__ import annotations

import json
import re
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from optimizers.models import OptimizationRun
from tests.optimizers.conftest import (
    GRID_BODY,
    GRID_COMBINATIONS,
    apply,
    backtest_yaml,
    finished_sweep,
    sweep_yaml,
)

pytestmark = pytest.mark.django_db


def test_the_page_needs_a_login_and_hides_other_peoples_sweeps(
    client, grid_spec, alice, bob, django_capture_on_commit_callbacks
):
    run = finished_sweep(grid_spec, alice, django_capture_on_commit_callbacks)
    response = client.get(f"/sweeps/{run.pk}/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")
    client.force_login(bob)
    assert client.get(f"/sweeps/{run.pk}/").status_code == 404
    assert client.get("/sweeps/").status_code == 200


def test_the_page_shows_progress_best_heatmap_and_top(
    client, grid_spec, alice, django_capture_on_commit_callbacks
):
    run = finished_sweep(grid_spec, alice, django_capture_on_commit_callbacks)
    client.force_login(alice)
    page = client.get(f"/sweeps/{run.pk}/?x=rsi_oversold&y=rsi_period").content.decode()
    assert f"{GRID_COMBINATIONS} of {GRID_COMBINATIONS} combinations" in page
    # the best trial by its number within this sweep, never its primary key
    number = run.trials.filter(id__lte=run.best_trial_id).count()
    assert f"Trial {number} of {GRID_COMBINATIONS}:" in page
    # facts are separated, metrics named by their labels, times in UTC
    assert '<span class="fact">' in page and "maximize total_return" not in page
    assert "Total return" in page and "total_return</th>" not in page
    assert 'id="heatmap"' in page and "<svg" in page.split('id="heatmap"')[1]
    assert '<option value="rsi_oversold" selected>' in page
    assert "Top 5" in page
    assert 'http-equiv="refresh"' not in page  # finished: no auto-refresh
    bad = client.get(f"/sweeps/{run.pk}/?x=rsi_period&y=rsi_period").content.decode()
    assert "Choose two different swept parameters" in bad
    listing = client.get("/sweeps/").content.decode()
    assert f'href="/sweeps/{run.pk}/"' in listing


def test_the_heatmap_holds_the_best_objective_per_cell(grid_spec, alice, django_capture_on_commit_callbacks):
    from optimizers.selectors import heatmap

    run = finished_sweep(grid_spec, alice, django_capture_on_commit_callbacks)
    grid = heatmap(run, "rsi_period", "rsi_oversold")
    assert grid.x_values == [6, 10, 12, 14, 16, 18, 20]
    assert grid.y_values == [25.0, 30.0, 35.0]
    for j, level in enumerate(grid.y_values):
        for i, period in enumerate(grid.x_values):
            values = [
                t.objective
                for t in run.trials.all()
                if t.params["rsi_period"] == period
                and t.params["rsi_oversold"] == level
                and t.objective is not None
            ]
            assert grid.cells[j, i] == pytest.approx(max(values), rel=1e-12)


def test_the_page_of_a_genetic_sweep_with_out_of_sample(
    client, candles, alice, django_capture_on_commit_callbacks
):
    body = (
        "method: genetic\nspace:\n  rsi_period: {min: 4, max: 30, step: 1}\n"
        "  rsi_oversold: {min: 15, max: 40, step: 5}\n"
        "genetic: {population: 8, generations: 3}\nvalidation:\n  out_of_sample: {fraction: 0.2}\ntop_n: 4\n"
    )
    spec = apply(alice, backtest_yaml(), sweep_yaml(name="ga", body=body))[1]
    run = finished_sweep(spec, alice, django_capture_on_commit_callbacks)
    client.force_login(alice)
    page = client.get(f"/sweeps/{run.pk}/").content.decode()
    assert "<svg" in page.split('id="generations"')[1].split("</section>")[0]
    assert "<svg" in page.split('id="out-of-sample"')[1].split("</section>")[0]
    assert 'title="Sharpe ratio on the held-out bars">out of sample</th>' in page
    top = page.split('id="top"')[1].split("</section>")[0]
    header = top.split("</thead>")[0]
    assert header.count(">Sharpe ratio</th>") == 1  # the objective is not repeated among the columns
    assert "(the genetic search samples the space)" in page  # blank heatmap cells explained


def test_the_page_of_a_walk_forward(client, candles, alice, django_capture_on_commit_callbacks):
    body = GRID_BODY + "validation:\n  walk_forward: {windows: 3, train_fraction: 0.5, anchored: true}\n"
    spec = apply(alice, backtest_yaml(), sweep_yaml(body=body))[1]
    run = finished_sweep(spec, alice, django_capture_on_commit_callbacks)
    client.force_login(alice)
    page = client.get(f"/sweeps/{run.pk}/").content.decode()
    section = page.split('id="walk-forward"')[1].split("</section>")[0]
    assert "3 windows, anchored" in section and "<svg" in section
    assert section.count("<tr>") == 4  # header + 3 windows


def test_admin_pages_render_for_staff(
    client, grid_spec, alice, django_user_model, django_capture_on_commit_callbacks
):
    run = finished_sweep(grid_spec, alice, django_capture_on_commit_callbacks)
    admin = django_user_model.objects.create_superuser("admin", password="pw")
    client.force_login(admin)
    listing = client.get("/admin/optimizers/optimizationrun/")
    assert listing.status_code == 200
    assert f"{GRID_COMBINATIONS} / {GRID_COMBINATIONS} (100%)" in listing.content.decode()
    detail = client.get(f"/admin/optimizers/optimizationrun/{run.pk}/change/").content.decode()
    assert "Top trials" in detail and "Trial numbers count this sweep" in detail
    assert "Generation:</label>" in detail and '<div class="readonly">—</div>' in detail  # a grid sweep
    assert "Evaluation time:" in detail
    assert client.get(f"/admin/optimizers/trial/?run__exact={run.pk}&o=5").status_code == 200
    assert client.get(f"/admin/optimizers/sweepchunk/?run__exact={run.pk}").status_code == 200
    response = client.post(
        "/admin/optimizers/optimizationrun/",
        {"action": "promote_best", "_selected_action": [run.pk]},
        follow=True,
    )
    assert "queued run" in response.content.decode()


# transactional: the command commits and its on-commit hook queues the sweep, which the
# synchronous test queue runs before --wait starts following it
@pytest.mark.django_db(transaction=True)
def test_the_command_runs_a_sweep_and_prints_the_best(grid_spec, alice):
    out = StringIO()
    call_command("sweep", "grid", "--wait", "--user", "alice", "--top", "3", "--timeout", "60", stdout=out)
    text = out.getvalue()
    run = OptimizationRun.objects.get()
    assert f"queued sweep {run.pk} of grid v1: grid, {GRID_COMBINATIONS} combinations" in text
    assert f"sweep {run.pk} succeeded: {GRID_COMBINATIONS} combinations" in text
    assert "  1. total_return=" in text and "  3. total_return=" in text and "  4." not in text
    out = StringIO()
    call_command("sweep", "grid", "--wait", "--json", "--user", "alice", "--timeout", "60", stdout=out)
    data = json.loads(out.getvalue())
    assert data["status"] == "succeeded" and data["evaluated"] == GRID_COMBINATIONS
    assert data["best"]["params"] == run.best_params


def test_the_command_gives_up_following_after_its_timeout(grid_spec, alice):
    # inside the test's transaction nothing is committed, so nothing runs: --wait times out
    with pytest.raises(CommandError, match=r"still queued after 0 s \(it keeps going\)"):
        call_command("sweep", "grid", "--wait", "--user", "alice", "--timeout", "0.3", stdout=StringIO())


def test_the_command_resolves_the_owner_and_names_errors(grid_spec, alice, monkeypatch):
    with pytest.raises(CommandError, match="no user named 'carol'"):
        call_command("sweep", "grid", "--user", "carol")
    monkeypatch.setenv("SPEC_OWNER", "alice")
    with pytest.raises(CommandError, match="no Sweep spec named 'missing'"):
        call_command("sweep", "missing")
    out = StringIO()
    call_command("sweep", "grid", stdout=out)  # owner from SPEC_OWNER, queued only
    assert OptimizationRun.objects.get().owner == alice


def test_every_trial_is_listed_sortable_and_each_can_be_promoted(
    client, grid_spec, alice, bob, django_capture_on_commit_callbacks
):
    run = finished_sweep(grid_spec, alice, django_capture_on_commit_callbacks)
    client.force_login(alice)
    page = client.get(f"/sweeps/{run.pk}/trials/?ordering=-win_rate").content.decode()
    assert f"{GRID_COMBINATIONS} trials, sorted by Win rate, highest first" in page
    rates = [
        float(v)
        for v in re.findall(r'<td class="num ">(\d+\.\d\d)%</td>\s*<td class="num ">[\d,]+</td>', page)
    ]
    assert rates == sorted(rates, reverse=True) and rates
    assert page.count('name="trial"') == min(GRID_COMBINATIONS, 50)
    worst = run.trials.order_by("score").first()
    with django_capture_on_commit_callbacks(execute=False):
        response = client.post(f"/sweeps/{run.pk}/promote/", {"trial": worst.pk})
    assert response.status_code == 302 and response["Location"].startswith("/runs/")
    from backtests.models import BacktestRun

    promoted = BacktestRun.objects.get(pk=int(response["Location"].strip("/").split("/")[-1]))
    assert promoted.config["params"]["rsi_period"] == worst.params["rsi_period"]
    assert client.get(f"/sweeps/{run.pk}/promote/").status_code == 405
    client.force_login(bob)
    assert client.post(f"/sweeps/{run.pk}/promote/", {"trial": worst.pk}).status_code == 404
    assert client.get(f"/sweeps/{run.pk}/trials/").status_code == 404

"""Applying specs: versions, no-op re-applies, normalised data, references, the command."""

from __future__ import annotations

import json
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from specs.models import Spec
from specs.services import SpecValidationError, content_hash, spec_apply, spec_apply_data, spec_validate
from tests.specs.conftest import BACKTEST, LAYOUT, SWEEP, join

pytestmark = pytest.mark.django_db
EXAMPLES = Path(__file__).resolve().parents[2] / "specs" / "examples"


def actions(result) -> list[tuple[str, str, int, str]]:
    return [(d.kind, d.name, d.version, d.action) for d in result.documents]


def test_it_stores_each_document_as_version_1(alice):
    result = spec_apply(
        text=join(LAYOUT, BACKTEST + "report: standard\n", SWEEP), owner=alice, source="f.yaml"
    )
    assert actions(result) == [
        ("ReportLayout", "standard", 1, "created"),
        ("Backtest", "hyperrsi-btc-1h", 1, "created"),
        ("Sweep", "hyperrsi-grid", 1, "created"),
    ]
    spec = Spec.objects.get(kind="Backtest")
    assert (spec.owner, spec.version, spec.content_hash) == (alice, 1, content_hash(spec.data))
    assert spec.yaml_text == "---\n" + BACKTEST + "report: standard\n"
    assert result.documents[1].spec_id == spec.pk


def test_reapplying_unchanged_content_stores_nothing(alice):
    spec_apply(text=join(LAYOUT, BACKTEST), owner=alice)
    # Comments, key order, flow style and 14 vs 14.0 do not change what a spec means.
    same = (
        "# a comment\nkind: ReportLayout\nname: standard\nsections:\n"
        "  - type: metrics\n    metrics: [total_return, sharpe_ratio]\n  - {chart: equity, type: chart}\n"
    )
    result = spec_apply(text=join(same, BACKTEST.replace("rsi_period: 14", "rsi_period: 14.0")), owner=alice)
    assert [d.action for d in result.documents] == ["unchanged", "unchanged"]
    assert not result.changed
    assert Spec.objects.count() == 2


def test_changed_content_makes_the_next_version_and_keeps_the_old_one(alice):
    spec_apply(text=BACKTEST, owner=alice)
    old = Spec.objects.get()
    kept = (old.pk, old.yaml_text, old.data, old.content_hash, old.created_at)
    result = spec_apply(text=BACKTEST.replace("rsi_period: 14", "rsi_period: 21"), owner=alice)
    assert actions(result) == [("Backtest", "hyperrsi-btc-1h", 2, "updated")]
    old.refresh_from_db()
    assert (old.pk, old.yaml_text, old.data, old.content_hash, old.created_at) == kept
    latest = Spec.objects.latest_version(owner=alice, kind="Backtest", name="hyperrsi-btc-1h")
    assert (latest.version, latest.data["params"]["rsi_period"]) == (2, 21)
    assert [spec.version for spec in old.versions()] == [2, 1]
    assert old.latest() == latest
    assert list(Spec.objects.latest_versions()) == [latest]
    # Going back to the old content is a change too: a third version, equal to the first.
    result = spec_apply(text=BACKTEST, owner=alice)
    assert actions(result) == [("Backtest", "hyperrsi-btc-1h", 3, "updated")]
    assert Spec.objects.get(version=3).content_hash == old.content_hash


def test_a_stored_version_cannot_be_changed(alice):
    spec_apply(text=BACKTEST, owner=alice)
    spec = Spec.objects.get()
    spec.data = {"kind": "Backtest"}
    with pytest.raises(ValueError, match="cannot be changed; apply a new version"):
        spec.save()
    spec.refresh_from_db()
    assert spec.data["strategy"] == "hyperrsi"


def test_owners_have_their_own_names_and_versions(alice, bob):
    spec_apply(text=BACKTEST, owner=alice)
    result = spec_apply(text=BACKTEST, owner=bob)
    assert actions(result) == [("Backtest", "hyperrsi-btc-1h", 1, "created")]
    # References reach only the owner's own stored specs: alice's layout is not bob's.
    spec_apply(text=LAYOUT, owner=alice)
    with pytest.raises(SpecValidationError, match="no ReportLayout named 'standard'"):
        spec_apply(text=BACKTEST + "report: standard\n", owner=bob)
    assert actions(spec_apply(text=SWEEP, owner=bob)) == [("Sweep", "hyperrsi-grid", 1, "created")]
    assert Spec.objects.get(kind="Sweep").backtest_spec().owner == bob


def test_references_resolve_to_stored_specs(alice):
    spec_apply(text=LAYOUT, owner=alice)
    spec_apply(text=BACKTEST + "report: standard\n", owner=alice)
    result = spec_apply(text=SWEEP, owner=alice)
    sweep = Spec.objects.get(kind="Sweep")
    assert result.documents[0].action == "created"
    assert sweep.backtest_spec() == Spec.objects.get(kind="Backtest")
    assert Spec.objects.get(kind="Backtest").report_layout() == Spec.objects.get(kind="ReportLayout")


def test_a_sweep_pins_the_backtest_version_it_was_checked_against(alice):
    spec_apply(text=join(BACKTEST, SWEEP), owner=alice)
    assert Spec.objects.get(kind="Sweep").data["backtest_version"] == 1
    changed = BACKTEST.replace("rsi_period: 14", "rsi_period: 21")
    result = spec_apply(text=join(changed, SWEEP), owner=alice)
    # The sweep text did not change, but what it sweeps did: its next version pins v2.
    assert actions(result) == [
        ("Backtest", "hyperrsi-btc-1h", 2, "updated"),
        ("Sweep", "hyperrsi-grid", 2, "updated"),
    ]
    assert [s.data["backtest_version"] for s in Spec.objects.filter(kind="Sweep").order_by("version")] == [
        1,
        2,
    ]
    assert Spec.objects.get(kind="Sweep", version=1).backtest_spec().version == 1
    assert [d.action for d in spec_apply(text=SWEEP, owner=alice).documents] == ["unchanged"]


def test_it_normalises_a_backtest(alice):
    spec_apply(text=BACKTEST + "execution: {initial_capital: 5000, fill: close}\n", owner=alice)
    assert Spec.objects.get().data == {
        "kind": "Backtest",
        "name": "hyperrsi-btc-1h",
        "description": "",
        "strategy": "hyperrsi",
        "params": {
            "rsi_period": 14,
            "rsi_oversold": 30.0,
            "rsi_overbought": 70.0,
            "rsi_method": "wilder",
            "entry_option": "reverse",
            "use_trend_filter": True,
            "trend_ema_period": 200,
            "leverage": 3.0,
            "stop_loss_percent": 2.0,
        },
        "market": {
            "symbol": "BTC-USD",
            "timeframe": "1h",
            "start": "2024-01-01T00:00:00Z",
            "end": "2024-06-30T00:00:00Z",
            "coverage": "warn",
            "max_gap_bars": 0,
        },
        "execution": {
            "initial_capital": 5000.0,
            "fee_rate": 0.0004,
            "slippage_bps": 0.0,
            "fill": "close",
            "position_size": 1.0,
            "maintenance_margin_rate": 0.005,
            "on_opposite": "reverse",
            "risk_free_rate": 0.0,
        },
        "report": None,
    }


@pytest.mark.parametrize(
    ("written", "stored"),
    [
        ("2024-01-01", "2024-01-01T00:00:00Z"),
        ("2024-01-01T06:30:00Z", "2024-01-01T06:30:00Z"),
        ("2024-01-01T06:30", "2024-01-01T06:30:00Z"),
        ("2024-01-01 06:30:15", "2024-01-01T06:30:15Z"),
        ("2024-01-01T08:30:00+02:00", "2024-01-01T06:30:00Z"),
        ("'2024-01-01T06:30:00.250Z'", "2024-01-01T06:30:00.250000Z"),
    ],
)
def test_market_instants_are_stored_as_utc_iso(written, stored, alice):
    spec_apply(text=BACKTEST.replace("start: 2024-01-01", f"start: {written}"), owner=alice)
    assert Spec.objects.get().data["market"]["start"] == stored


def test_it_normalises_a_sweep(alice):
    text = SWEEP.replace(
        "  rsi_oversold: {values: [20, 30]}\n", "  stop_loss_percent: {min: 0.1, max: 0.7, step: 0.3}\n"
    )
    with pytest.raises(
        SpecValidationError, match=r"space.stop_loss_percent.min .*0.1 is less than the minimum of 0.5"
    ):
        spec_apply(text=join(BACKTEST, text), owner=alice)
    text = (
        text.replace("min: 0.1, max: 0.7", "min: 0.5, max: 1.4")
        + "validation: {walk_forward: {windows: 4}}\n"
    )
    spec_apply(text=join(BACKTEST, text), owner=alice)
    assert Spec.objects.get(kind="Sweep").data == {
        "kind": "Sweep",
        "name": "hyperrsi-grid",
        "description": "",
        "backtest": "hyperrsi-btc-1h",
        "backtest_version": 1,
        "strategy": "hyperrsi",
        "method": "grid",
        "space": {
            "rsi_period": {"min": 10, "max": 20, "step": 2, "values": [10, 12, 14, 16, 18, 20]},
            "stop_loss_percent": {"min": 0.5, "max": 1.4, "step": 0.3, "values": [0.5, 0.8, 1.1, 1.4]},
        },
        "grid_size": 24,
        "feasible_size": 24,
        "constraints": ["rsi_oversold < rsi_overbought"],
        "objective": {"metric": "sharpe_ratio", "direction": "maximize", "min_trades": 0},
        "genetic": {
            "population": 50,
            "generations": 100,
            "crossover_rate": 0.8,
            "mutation_rate": 0.1,
            "elite": 2,
            "tournament_size": 3,
            "patience": None,
            "seed": 42,
        },
        "random": {"samples": 100, "seed": 42},
        "validation": {"type": "walk_forward", "windows": 4, "train_fraction": 0.7, "anchored": False},
        "overfitting": {
            "cscv_blocks": 16,
            "max_trials": 1000,
            "bootstrap_samples": 1000,
            "confidence": 0.95,
            "seed": 0,
            "promote_threshold": None,
        },
        "top_n": 10,
    }


def test_a_sweep_carries_the_strategys_own_constraints(alice):
    text = SWEEP.replace('constraints: ["rsi_oversold < rsi_overbought"]\n', "")
    spec_apply(text=join(BACKTEST, text), owner=alice)
    assert Spec.objects.get(kind="Sweep").data["constraints"] == ["rsi_oversold < rsi_overbought"]


CHART_OPTIONS = {"window": None, "log": None, "drawdowns": None, "benchmark": None, "indicators": None}


def test_it_normalises_a_report_layout(alice):
    text = LAYOUT + (
        "  - {type: chart, chart: rolling_sharpe}\n"
        "  - {type: table, table: monthly, sort: -return, title: By month}\n"
        "  - {type: text, text: Hello}\n"
    )
    spec_apply(text=text, owner=alice)
    assert Spec.objects.get().data == {
        "kind": "ReportLayout",
        "name": "standard",
        "description": "",
        "title": None,
        "sections": [
            {"type": "metrics", "title": None, "metrics": ["total_return", "sharpe_ratio"], "group": None},
            {"type": "chart", "title": None, "chart": "equity", **CHART_OPTIONS},
            {"type": "chart", "title": None, "chart": "rolling_sharpe", **CHART_OPTIONS},
            {
                "type": "table",
                "title": "By month",
                "table": "monthly",
                "limit": None,
                "sort": "-return",
                "page_size": None,
            },
            {"type": "text", "title": None, "text": "Hello"},
        ],
    }


def test_json_documents_are_stored_like_yaml_ones(alice, bob):
    spec_apply(text=BACKTEST, owner=alice)
    document = {
        "kind": "Backtest",
        "name": "hyperrsi-btc-1h",
        "strategy": "hyperrsi",
        "params": {"rsi_period": 14, "entry_option": "reverse"},
        "market": {"symbol": "BTC-USD", "timeframe": "1h", "start": "2024-01-01", "end": "2024-06-30"},
    }
    assert spec_apply_data(data=[document], owner=alice).documents[0].action == "unchanged"
    spec_apply_data(data=document, owner=bob)
    spec = Spec.objects.get(owner=bob)
    assert spec.data == Spec.objects.get(owner=alice).data
    assert spec.yaml_text.startswith("kind: Backtest\nname: hyperrsi-btc-1h\nstrategy: hyperrsi\n")


def test_validate_only_says_what_would_happen_and_stores_nothing(alice):
    spec_apply(text=BACKTEST, owner=alice)
    result = spec_validate(text=join(LAYOUT, BACKTEST.replace("14", "15"), SWEEP), owner=alice)
    assert result.dry_run
    assert [(d.version, d.action, d.spec_id) for d in result.documents] == [
        (1, "created", None),
        (2, "updated", None),
        (1, "created", None),
    ]
    assert Spec.objects.count() == 1
    # Without an owner only the file itself can satisfy references.
    with pytest.raises(SpecValidationError, match="no Backtest named"):
        spec_validate(text=SWEEP)


# --- the command ---------------------------------------------------------------------


def run_apply(*args: str) -> tuple[str, str]:
    stdout, stderr = StringIO(), StringIO()
    call_command("apply", *args, stdout=stdout, stderr=stderr)
    return stdout.getvalue(), stderr.getvalue()


def test_the_command_applies_the_examples_directory_as_one_unit(admin_user):
    # ema-cross.yaml uses the ReportLayout defined in hyperrsi.yaml.
    with pytest.raises(CommandError, match="nothing was saved"):
        run_apply("-f", str(EXAMPLES / "ema-cross.yaml"))
    stdout, _ = run_apply("-f", str(EXAMPLES))
    assert stdout.splitlines() == [
        "created   Backtest ema-cross-btc-15m v1 (ema-cross.yaml, document 1)",
        "created   Sweep ema-cross-grid v1 (ema-cross.yaml, document 2)",
        "created   Sweep ema-cross-genetic v1 (ema-cross.yaml, document 3)",
        "created   ReportLayout standard v1 (hyperrsi.yaml, document 1)",
        "created   Backtest hyperrsi-btc-15m v1 (hyperrsi.yaml, document 2)",
        "created   Sweep hyperrsi-grid v1 (hyperrsi.yaml, document 3)",
        "6 created, 0 updated, 0 unchanged",
    ]
    stdout, _ = run_apply("-f", str(EXAMPLES / "hyperrsi.yaml"))
    assert stdout.splitlines()[-1] == "0 created, 0 updated, 3 unchanged"
    backtest = Spec.objects.get(name="hyperrsi-btc-15m")
    assert backtest.owner == admin_user
    assert backtest.data["market"] == {
        "symbol": "BTC-USD",
        "timeframe": "15m",
        "start": "2021-10-01T00:00:00Z",
        "end": "2021-12-29T00:00:00Z",
        "coverage": "warn",
        "max_gap_bars": 0,
    }
    grid = Spec.objects.get(name="hyperrsi-grid").data
    assert (grid["strategy"], grid["method"], grid["grid_size"], grid["feasible_size"]) == (
        "hyperrsi",
        "grid",
        240,
        220,
    )
    assert Spec.objects.get(name="ema-cross-genetic").data["feasible_size"] is None  # too many to enumerate
    assert grid["validation"] == {"type": "out_of_sample", "fraction": 0.2}


def test_the_command_reads_only_yaml_files_of_a_directory(admin_user, tmp_path):
    (tmp_path / "b.yml").write_text(BACKTEST + "report: standard\n")
    (tmp_path / "a.yaml").write_text(LAYOUT)
    (tmp_path / "notes.txt").write_text("not: a spec")
    stdout, _ = run_apply("-f", str(tmp_path), "--json")
    assert [(d["file"], d["name"], d["action"]) for d in json.loads(stdout)["documents"]] == [
        ("a.yaml", "standard", "created"),
        ("b.yml", "hyperrsi-btc-1h", "created"),
    ]


def test_the_command_rejects_a_directory_with_one_bad_file(admin_user, tmp_path):
    (tmp_path / "a.yaml").write_text(LAYOUT)
    (tmp_path / "b.yaml").write_text(BACKTEST.replace("1h", "2m"))
    with pytest.raises(CommandError) as caught:
        run_apply("-f", str(tmp_path))
    assert str(caught.value) == "1 error in b.yaml; nothing was saved"
    assert Spec.objects.count() == 0


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("missing.yaml", "missing.yaml: no such file or directory"),
        ("empty-dir", "no *.yaml or *.yml files in"),
    ],
)
def test_the_command_names_a_missing_file(admin_user, tmp_path, path, message):
    (tmp_path / "empty-dir").mkdir()
    stderr = StringIO()
    with pytest.raises(CommandError):
        call_command("apply", "-f", str(tmp_path / path), stderr=stderr)
    assert message in stderr.getvalue()


def test_the_command_dry_run_stores_nothing(admin_user, tmp_path):
    (tmp_path / "a.yaml").write_text(LAYOUT)
    stdout, _ = run_apply("-f", str(tmp_path / "a.yaml"), "--dry-run")
    assert stdout.splitlines() == [
        "created   ReportLayout standard v1 (a.yaml, document 1)",
        "dry run, nothing stored: 1 created, 0 updated, 0 unchanged",
    ]
    assert Spec.objects.count() == 0


@pytest.mark.usefixtures("admin_user", "alice", "bob")
def test_the_command_owner_comes_from_user_then_env_then_the_only_superuser(
    tmp_path, monkeypatch, django_user_model
):
    path = tmp_path / "a.yaml"
    path.write_text(LAYOUT)
    monkeypatch.delenv("SPEC_OWNER", raising=False)
    run_apply("-f", str(path))
    monkeypatch.setenv("SPEC_OWNER", "bob")
    run_apply("-f", str(path))
    run_apply("-f", str(path), "--user", "alice")
    assert sorted(spec.owner.username for spec in Spec.objects.all()) == ["alice", "bob", "root"]
    with pytest.raises(CommandError, match=r"no user named 'carol' \(from --user\)"):
        run_apply("-f", str(path), "--user", "carol")
    monkeypatch.setenv("SPEC_OWNER", "dave")
    with pytest.raises(CommandError, match=r"no user named 'dave' \(from SPEC_OWNER\)"):
        run_apply("-f", str(path))
    monkeypatch.delenv("SPEC_OWNER")
    django_user_model.objects.create_superuser("root2", password="pw")
    with pytest.raises(CommandError, match=r"Pass --user USERNAME or set SPEC_OWNER \(there are several"):
        run_apply("-f", str(path))
    django_user_model.objects.filter(is_superuser=True).update(is_superuser=False)
    with pytest.raises(CommandError, match=r"\(no superuser exists\)"):
        run_apply("-f", str(path))

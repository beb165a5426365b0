"""The package import graph: each top-level package imports only the ones below it.

The layers, bottom up (docs/architecture.md): the framework-free engine, and the checks
on what comes in (inputs); strategy plug-ins; specs; market data and the job lifecycle;
runs; sweeps; reports; the project (settings, URLs, /health). A package may import any
package of a lower layer, never one of its own layer or above, so there is no cycle and
no import runs back up. Django wiring that must point up (an app registering its rules
with a lower one) goes through registration at start-up (``specs.kinds``,
``jobs.housekeeping.register``), not imports.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
LAYERS = [
    {"engine", "inputs"},
    {"strategies"},
    {"specs"},
    {"marketdata", "jobs"},
    {"backtests"},
    {"optimizers"},
    {"reports"},
    {"backtest_project"},
]
LEVEL = {package: level for level, packages in enumerate(LAYERS) for package in packages}


def _imports(package: str) -> dict[str, set[str]]:
    """{imported top-level package: files of ``package`` that import it}."""
    found: dict[str, set[str]] = {}
    for path in (REPO / package).rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                if top in LEVEL and top != package:
                    found.setdefault(top, set()).add(str(path.relative_to(REPO)))
    return found


def test_every_top_level_package_has_a_layer():
    packages = {p.name for p in REPO.iterdir() if (p / "__init__.py").exists() and p.name not in ("tests",)}
    assert packages == set(LEVEL)


@pytest.mark.parametrize("package", sorted(LEVEL))
def test_a_package_imports_only_packages_below_it(package):
    upward = {
        imported: sorted(files)
        for imported, files in _imports(package).items()
        if LEVEL[imported] >= LEVEL[package]
    }
    assert upward == {}, f"{package} imports from its own layer or above: {upward}"

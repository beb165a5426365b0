"""Compile ahead: the warm-up reaches every cached kernel, a kernel change flushes the
caches, and commands say when they compile."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command

from engine import compile_ahead
from optimizers.compile_ahead import not_compiled
from tests.conftest import REPO

EXAMPLE = REPO / "specs" / "examples" / "hyperrsi.yaml"


@pytest.fixture
def cold_stamp(tmp_path, monkeypatch):
    """A stamp that is not there yet (as after a fresh clone), and no flush of the real
    caches (the other test processes load them)."""
    monkeypatch.setattr(compile_ahead, "stamp_path", lambda: tmp_path / "kernels.json")
    flushed: list[bool] = []
    monkeypatch.setattr(compile_ahead, "flush", lambda: flushed.append(True) or 0)
    return flushed


def test_the_warm_up_compiles_every_cached_kernel_and_writes_the_stamp(cold_stamp):
    assert next(iter(compile_ahead.STEPS)).startswith("engine")  # the lower layers first
    assert not compile_ahead.is_compiled()
    lines: list[str] = []
    compile_ahead.ensure_compiled(lines.append)
    assert lines[0].startswith("Compiling the Numba kernels")
    assert [line.split(":")[0].strip() for line in lines[1:-1]] == list(compile_ahead.STEPS)
    assert cold_stamp == [True]  # a stamp for other sources (here: none) flushes first
    # a kernel added without a warm-up call for it would be compiled by its first user
    assert not_compiled() == []
    assert compile_ahead.is_compiled()
    lines.clear()
    compile_ahead.ensure_compiled(lines.append)
    assert lines == []


def test_a_step_registered_later_is_warmed_without_a_flush(cold_stamp, monkeypatch):
    compile_ahead.warm(lambda line: None)
    assert cold_stamp == [True]
    called = []
    monkeypatch.setitem(compile_ahead.STEPS, "extra", called.append)
    assert not compile_ahead.is_compiled()
    compile_ahead.ensure_compiled(lambda line: None)
    assert len(called) == 1
    assert cold_stamp == [True]  # same sources: the caches stay
    assert compile_ahead.is_compiled()


def test_the_stamp_covers_every_kernel_source(tmp_path, monkeypatch):
    files = compile_ahead.kernel_files()
    names = {path.relative_to(REPO).as_posix() for path in files}
    assert {"engine/nb.py", "optimizers/sweep_nb.py", "strategies/hyperrsi_fused_nb.py"} <= names
    before = compile_ahead.fingerprint()
    edited = tmp_path / "edited_nb.py"
    edited.write_text("# a kernel module\n")
    monkeypatch.setattr(compile_ahead, "kernel_files", lambda: [*files, edited])
    with_file = compile_ahead.fingerprint()
    edited.write_text("# a kernel module, changed\n")
    assert len({before, with_file, compile_ahead.fingerprint()}) == 3


def test_flush_deletes_the_cache_files_of_kernel_modules_only(tmp_path, monkeypatch):
    """Numba keeps ``<module>.<function>-<line>.pyXY.nbi/.nbc`` where its locator says:
    here ``__pycache__`` beside a writable source, for a kernel module and another."""
    package = tmp_path / "pkg"
    package.mkdir()
    kernel = package / "thing_nb.py"
    kernel.write_text("# kernels\n")
    monkeypatch.setattr(compile_ahead, "kernel_files", lambda: [kernel])
    folder = compile_ahead._cache_dir(kernel)
    assert folder == package / "__pycache__"
    folder.mkdir(parents=True, exist_ok=True)
    for name in ("thing_nb.f-3.py311.nbi", "thing_nb.f-3.py311.1.nbc", "other.g-1.py311.nbi"):
        (folder / name).write_text("")
    assert compile_ahead.flush() == 2
    assert sorted(p.name for p in folder.iterdir()) == ["other.g-1.py311.nbi"]


def test_a_command_prints_progress_when_it_compiles_and_nothing_after(cold_stamp, sample_csv_path):
    def run() -> tuple[str, str]:
        out, err = StringIO(), StringIO()
        call_command(
            "backtest", "--spec", str(EXAMPLE), "--candles", str(sample_csv_path), stdout=out, stderr=err
        )
        return out.getvalue(), err.getvalue()

    out, err = run()
    assert "hyperrsi-btc-15m" in out
    assert err.startswith("Compiling the Numba kernels")
    assert "Kernels compiled in" in err
    out, err = run()
    assert "hyperrsi-btc-15m" in out
    assert err == ""


def test_the_bytecode_of_the_project_is_written_and_the_venv_left_alone(tmp_path, monkeypatch):
    import optimizers.compile_ahead as step

    for folder in ("app", ".venv/lib"):
        (tmp_path / folder).mkdir(parents=True)
        (tmp_path / folder / "mod.py").write_text("X = 1\n")
    (tmp_path / "manage.py").write_text("Y = 2\n")
    monkeypatch.setattr(step, "REPO", tmp_path)
    step.compile_bytecode()
    assert list((tmp_path / "app" / "__pycache__").glob("mod.*.pyc"))
    assert list((tmp_path / "__pycache__").glob("manage.*.pyc"))
    assert not (tmp_path / ".venv" / "lib" / "__pycache__").exists()

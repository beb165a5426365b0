"""``make kernels``: ``python -m optimizers.compile_ahead`` compiles every kernel ahead.

The sweeps' warm-up step for ``engine.compile_ahead`` (registered on import, after the
engine's and the strategies', which this module imports), and the entry point: the
highest layer with kernels, so it can import every kernel module and check that the
warm-up left none uncompiled (``not_compiled``).
"""

from __future__ import annotations

import compileall
import importlib
import sys
import time
from collections.abc import Iterator
from typing import Any

import numpy as np

import strategies.compile_ahead  # noqa: F401 (registers the strategies' step)
from engine import compile_ahead
from engine.compile_ahead import REPO, kernel_files, register
from optimizers.adapters import sweepable
from optimizers.evaluate import Evaluator, full_columns
from strategies.registry import get_strategy


def warm_sweeps(candles: dict[str, Any]) -> None:
    """Every strategy that can be swept, over all bars and over a window."""
    for name in sweepable():
        strategy = get_strategy(name)
        swept = {"leverage": np.array([1.0, 3.0])}
        columns = full_columns(strategy.defaults(), {"stop_loss_percent": 2.0}, swept)
        evaluator = Evaluator(candles, name, None)
        evaluator.evaluate(columns)
        evaluator.evaluate(columns, 100, 300)


register("sweeps (indicator table, sweep kernel)", warm_sweeps)


def _cached_dispatchers() -> Iterator[Any]:
    """Every ``cache=True`` dispatcher defined in a project kernel module (imported)."""
    from numba.core.dispatcher import Dispatcher

    for path in kernel_files():
        module = importlib.import_module(".".join(path.relative_to(REPO).with_suffix("").parts))
        for value in vars(module).values():
            if (
                isinstance(value, Dispatcher)
                and value.py_func.__module__ == module.__name__
                and type(getattr(value, "_cache", None)).__name__ != "NullCache"
            ):
                yield value


def _on_disk(dispatcher: Any) -> bool:
    """Numba's cache index of ``dispatcher`` holds compiled code for its source as it is."""
    try:
        return bool(dispatcher._cache._cache_file._load_index())
    except AttributeError:  # another Numba's internals
        return False


def not_compiled() -> list[str]:
    """The project's cached kernels with compiled code neither in this process nor on
    disk: after a warm-up, the ones it missed. (A kernel loaded from the cache leaves the
    kernels it inlined uncompiled in the process; their code is on disk from when it was
    compiled.)"""
    return sorted(
        f"{d.py_func.__module__}.{d.py_func.__name__}"
        for d in _cached_dispatchers()
        if not d.signatures and not _on_disk(d)
    )


# Folders of the checkout that hold no project module.
_NOT_PROJECT = {".venv", ".git", ".services", "var", "node_modules"}


def compile_bytecode() -> float:
    """Write the bytecode of the project's modules (``compileall``; a no-op for the
    ones whose ``__pycache__`` is current) and return the seconds it took: else the
    first command in a fresh clone compiles every module it imports on the way."""
    started = time.perf_counter()
    for entry in sorted(REPO.iterdir()):
        if entry.is_dir() and entry.name not in _NOT_PROJECT:
            compileall.compile_dir(entry, quiet=1)
        elif entry.suffix == ".py":
            compileall.compile_file(entry, quiet=1)
    return time.perf_counter() - started


def main() -> int:
    print(f"Compiling the project's bytecode: {compile_bytecode():.1f} s", flush=True)
    print("Compiling the Numba kernels ahead (make kernels)...", flush=True)
    if compile_ahead.is_compiled():
        print("  up to date: nothing to do")
        return 0
    seconds = compile_ahead.warm(lambda line: print(line, flush=True))
    missed = not_compiled()
    if missed:
        print(f"  not compiled by the warm-up: {', '.join(missed)}", file=sys.stderr)
        return 1
    print(f"  done in {seconds:.0f} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Compile the Numba kernels ahead of use, so that no user-facing command pays for it.

Every kernel is ``@njit(cache=True)``: the first call in a process either loads machine
code from Numba's on-disk cache (``__pycache__`` beside the source, or
``NUMBA_CACHE_DIR``), in milliseconds, or compiles it, which takes seconds per kernel
(about a minute for all of them). ``warm()`` calls every public entry point once on
small inputs of the types the service passes (contiguous int64/float64 columns), so
that each kernel is compiled and saved; ``make kernels`` runs it at install, as a step
of ``make run`` and ``make test``.

Numba keys a cached kernel on the SHA-256 of its own source file, and nothing else of
the project: a kernel that inlines a step from another file (the sweep and fused kernels
inline ``engine.nb``) would keep stale machine code when only that other file
changes. So a stamp, ``kernels.json`` in the cache directory, records the hash of all
kernel sources (``nb.py`` and ``*_nb.py`` modules of the project packages) with the
Numba and Python versions and the CPU; when it does not match, the project's cached
kernels are flushed before they are compiled again.

``ensure_compiled(write)`` is what commands call before running a kernel: a stat and a
hash of a few files when the stamp matches (about a millisecond), else a progress line
and the warm-up. ``python -m backtests.compile_ahead`` is the install step.
Framework-free: no Django.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
# The packages whose modules hold kernels; a kernel module is ``nb.py`` or ``*_nb.py``.
KERNEL_PACKAGES = ("engine", "strategies", "optimizers", "backtests")
STAMP_NAME = "kernels.json"

Write = Callable[[str], None]


def kernel_files() -> list[Path]:
    """The project's kernel modules, sorted (``nb.py`` and ``*_nb.py``)."""
    files: set[Path] = set()
    for package in KERNEL_PACKAGES:
        root = REPO / package
        files.update(root.rglob("nb.py"))
        files.update(root.rglob("*_nb.py"))
    return sorted(files)


def _cpu() -> str:
    from llvmlite import binding

    return f"{binding.get_host_cpu_name()} {binding.get_host_cpu_features().flatten()}"


def fingerprint() -> str:
    """SHA-256 of every kernel source, the Numba and Python versions and the CPU."""
    import numba

    digest = hashlib.sha256()
    digest.update(f"numba {numba.__version__} python {sys.version} {platform.machine()} {_cpu()}\n".encode())
    for path in kernel_files():
        digest.update(os.path.relpath(path, REPO).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def stamp_path() -> Path:
    """Where the stamp lives: Numba's cache directory when one is set, else the
    ``__pycache__`` of this package (deleted with the caches beside it)."""
    cache_dir = os.environ.get("NUMBA_CACHE_DIR")
    base = Path(cache_dir) if cache_dir else REPO / "backtests" / "__pycache__"
    return base / STAMP_NAME


def is_compiled() -> bool:
    """The stamp matches the kernels as they are now (so their cache was filled)."""
    try:
        data = json.loads(stamp_path().read_text())
    except (OSError, ValueError):
        return False
    return isinstance(data, dict) and data.get("fingerprint") == fingerprint()


def _cached_dispatchers() -> Iterator:
    """Every ``cache=True`` Numba dispatcher defined in an imported kernel module."""
    from numba.core.dispatcher import Dispatcher

    files = {str(path) for path in kernel_files()}
    for module in list(sys.modules.values()):
        if getattr(module, "__file__", None) not in files:
            continue
        for value in vars(module).values():
            if (
                isinstance(value, Dispatcher)
                and value.py_func.__module__ == module.__name__
                and type(getattr(value, "_cache", None)).__name__ != "NullCache"
            ):
                yield value


def _import_kernels() -> None:
    import importlib

    for path in kernel_files():
        importlib.import_module(".".join(path.relative_to(REPO).with_suffix("").parts))


def _flush() -> None:
    """Empty the on-disk index of every project kernel: see the module docstring."""
    _import_kernels()
    for dispatcher in _cached_dispatchers():
        dispatcher._cache.flush()


def _on_disk(dispatcher) -> bool:
    """Numba's cache index of ``dispatcher`` holds compiled code for its source as it is."""
    try:
        return bool(dispatcher._cache._cache_file._load_index())
    except AttributeError:  # another Numba's internals: trust the signatures alone
        return False


def not_compiled() -> list[str]:
    """Names of the project's cached kernels with no compiled code, neither in this
    process nor in the on-disk cache (after ``warm()``: the kernels it missed; a kernel
    loaded from the cache leaves the kernels it inlined uncompiled in the process, but
    their code is on disk from when it was compiled)."""
    _import_kernels()
    return sorted(
        f"{d.py_func.__module__}.{d.py_func.__name__}"
        for d in _cached_dispatchers()
        if not d.signatures and not _on_disk(d)
    )


# --- the warm-up ----------------------------------------------------------------------


def _candles(n: int = 400):
    import numpy as np

    rng = np.random.default_rng(7)
    close = 100.0 * np.exp(np.cumsum(rng.normal(0.0, 0.01, n)))
    open_ = np.r_[100.0, close[:-1]]
    wick = np.abs(rng.normal(0.0, 0.004, (2, n)))
    return {
        "ts": 1_600_000_000_000 + np.arange(n, dtype=np.int64) * 60_000,
        "open": open_,
        "high": np.maximum(open_, close) * (1.0 + wick[0]),
        "low": np.minimum(open_, close) * (1.0 - wick[1]),
        "close": close,
        "volume": np.full(n, 10.0),
    }


def _warm_backtests(candles) -> None:
    """Single runs: every strategy, fused and unfused, both fill modes; the checks and
    the searches for a bad value that error messages run."""
    from engine import nb as engine_nb
    from engine import run_backtest, simulate
    from strategies.registry import all_strategies

    for strategy in all_strategies():
        params = strategy.defaults()
        for fill in ("next_open", "close"):
            run_backtest(candles, strategy, params, {"fill": fill})
        strategy.signals(
            params, candles["open"], candles["high"], candles["low"], candles["close"], candles["volume"]
        )
    simulate(
        candles["ts"], candles["open"], candles["high"], candles["low"], candles["close"],
        (candles["close"] > candles["open"]).astype("int8"), None, stop_loss_percent=2.0,
    )  # fmt: skip
    engine_nb.first_non_increasing_nb(candles["ts"])
    engine_nb.first_bad_price_nb(candles["close"])
    engine_nb.first_non_finite_nb(candles["volume"])


def _warm_indicators(candles) -> None:
    """The indicator and signal kernels' allocating forms, for direct callers."""
    import numpy as np

    from strategies import ema_cross_nb, hyperrsi_nb
    from strategies import indicators_nb as ind

    close = candles["close"]
    ind.rsi(close, 14, ind.RSI_WILDER)
    ind.rsi(close, 14, ind.RSI_SMA)
    ind.ema(close, 20)
    ind.sma(close, 20)
    ind.atr(candles["high"], candles["low"], close, 14)
    ind.bollinger(close, 20, 2.0)
    rsi = ind.rsi(close, 14, ind.RSI_WILDER)
    hyperrsi_nb.hyperrsi_signals(
        close, rsi, close, np.int64(14), 30.0, 70.0, hyperrsi_nb.ENTRY_REVERSE, False
    )
    ema_cross_nb.ema_cross_signals(ind.ema(close, 10), ind.ema(close, 30), np.int64(30))


def _warm_sweeps(candles) -> None:
    """The sweep kernels, for every strategy that can be swept, whole and windowed."""
    import numpy as np

    from optimizers.adapters import ADAPTERS
    from optimizers.evaluate import Evaluator, full_columns
    from strategies.registry import get_strategy

    for name in ADAPTERS:
        strategy = get_strategy(name)
        columns = full_columns(
            strategy.defaults(), {"stop_loss_percent": 2.0}, {"leverage": np.array([1.0, 3.0])}
        )
        evaluator = Evaluator(candles, name, None)
        evaluator.evaluate(columns)
        evaluator.evaluate(columns, 100, 300)


STEPS: tuple[tuple[str, Callable], ...] = (
    ("single backtests (engine, HYPERRSI fused, EMA cross)", _warm_backtests),
    ("indicators and signals", _warm_indicators),
    ("sweep kernels", _warm_sweeps),
)


def warm(write: Write = print) -> float:
    """Compile (or load) every kernel, printing one line per step; write the stamp.

    Returns the seconds it took. Flushes the project's cached kernels first when the
    stamp does not match (see the module docstring).
    """
    started = time.perf_counter()
    if not is_compiled():
        _flush()
    candles = _candles()
    for label, step in STEPS:
        t = time.perf_counter()
        step(candles)
        write(f"  {label}: {time.perf_counter() - t:.1f} s")
    path = stamp_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_text(
        json.dumps({"fingerprint": fingerprint(), "seconds": round(time.perf_counter() - started, 1)})
    )
    tmp.replace(path)  # atomic: a concurrent reader sees the old stamp or the new one
    return time.perf_counter() - started


def ensure_compiled(write: Write = print) -> None:
    """Nothing when the kernels were compiled ahead (the stamp matches); else say so,
    compile them now with a progress line per step, and record it."""
    if is_compiled():
        return
    write("Compiling the Numba kernels (once after an install or a kernel change; about a minute)...")
    seconds = warm(write)
    write(f"Kernels compiled in {seconds:.0f} s.")


def main() -> int:
    print("Compiling the Numba kernels ahead (make kernels)...", flush=True)
    if is_compiled():
        print("  up to date: nothing to do")
        return 0

    def write(line: str) -> None:
        print(line, flush=True)

    seconds = warm(write)
    missed = not_compiled()
    if missed:
        print(f"  not compiled by the warm-up: {', '.join(missed)}", file=sys.stderr)
        return 1
    print(f"  done in {seconds:.0f} s", flush=True)
    return 0


if __name__ == "__main__":
    if str(REPO) not in sys.path:
        sys.path.insert(0, str(REPO))
    sys.exit(main())

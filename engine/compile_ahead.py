"""Compile the Numba kernels ahead of use, so that no user-facing command pays for it.

Every kernel is ``@njit(cache=True)``: the first call in a process either loads machine
code from Numba's on-disk cache (``__pycache__`` beside the source, or
``NUMBA_CACHE_DIR``), in milliseconds, or compiles it, which takes seconds per kernel
(a minute or more for all of them). A warm-up *step* calls a layer's public entry
points once on small inputs of the types the service passes (contiguous int64/float64
columns), so that each of its kernels is compiled and saved. Each layer registers its
step here (``register``): this module's own (the engine), ``strategies.compile_ahead``
and ``optimizers.compile_ahead``, whose ``python -m optimizers.compile_ahead`` imports
them all and is ``make kernels``, a step of ``make run`` and ``make test``.

Numba keys a cached kernel on the SHA-256 of its own source file and nothing else: a
kernel that inlines a step from another file (the fused and sweep kernels inline
``engine.nb``) would keep stale machine code when only that other file changes. So a
stamp, ``kernels.json``, records a hash of every kernel source of the project (``nb.py``
and ``*_nb.py`` in its packages) with the Numba and Python versions and the CPU, and
the steps warmed for it; when the hash changes, the cache files of every project kernel
are deleted before anything is compiled again.

``ensure_compiled(write)`` is what commands call before running a kernel: a hash of a
few files when the stamp covers the steps registered in the process (about ten
milliseconds), else a progress line per step while they compile. Framework-free.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parent.parent
STAMP_NAME = "kernels.json"

Write = Callable[[str], None]
Step = Callable[[dict[str, Any]], None]

# label -> step, in the order registered (lower layers first: they import this module)
STEPS: dict[str, Step] = {}


def register(label: str, step: Step) -> None:
    """Add a warm-up step: ``step(candles)`` calls a layer's kernels once."""
    STEPS[label] = step


def kernel_files() -> list[Path]:
    """The project's kernel modules, sorted: ``nb.py`` and ``*_nb.py`` in its packages."""
    files: set[Path] = set()
    for package in REPO.iterdir():
        if (package / "__init__.py").exists() and package.name != "tests":
            files.update(package.rglob("nb.py"))
            files.update(package.rglob("*_nb.py"))
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
    base = Path(cache_dir) if cache_dir else REPO / "engine" / "__pycache__"
    return base / STAMP_NAME


def _stamp() -> dict[str, Any]:
    try:
        data = json.loads(stamp_path().read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def is_compiled() -> bool:
    """The stamp is for the kernels as they are now and covers every registered step."""
    data = _stamp()
    return data.get("fingerprint") == fingerprint() and set(STEPS) <= set(data.get("steps", ()))


def _probe() -> None:
    """A stand-in function for Numba's cache locators (see ``_cache_dirs``)."""


def _cache_dir(path: Path) -> Path | None:
    """The directory where Numba keeps the cache of kernels defined in ``path``: its
    first locator that applies, as Numba picks it (NUMBA_CACHE_DIR, else ``__pycache__``
    beside the source when writable, else a folder under the user's cache)."""
    from numba.core import caching

    for locator_class in (
        caching.UserProvidedCacheLocator,
        caching.InTreeCacheLocator,
        caching.UserWideCacheLocator,
    ):
        try:
            # the function only gives the locator a line number; the path is what counts
            locator = locator_class.from_function(_probe, str(path))
        except Exception:  # a locator that cannot apply (an unwritable folder, say)
            continue
        if locator is not None:
            return Path(locator.get_cache_path())
    return None


def flush() -> int:
    """Delete the on-disk cache of every project kernel (see the module docstring);
    returns the files deleted. Index and data files are named after the module."""
    deleted = 0
    for path in kernel_files():
        folder = _cache_dir(path)
        if folder is None:
            continue
        for pattern in (f"{path.stem}.*.nbi", f"{path.stem}.*.nbc"):
            for cached in folder.glob(pattern):
                cached.unlink(missing_ok=True)
                deleted += 1
    return deleted


def _write_stamp(data: dict[str, Any]) -> None:
    path = stamp_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_text(json.dumps(data))
    tmp.replace(path)  # atomic: a concurrent reader sees the old stamp or the new one


def sample_candles(n: int = 400) -> dict[str, Any]:
    """n one-minute candles of a seeded random walk, the columns' dtypes as loaded."""

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


def warm(write: Write = print) -> float:
    """Compile (or load) the kernels of every registered step, a line per step, and
    record them in the stamp. Deletes the project's kernel caches first when the stamp
    is for other sources. Returns the seconds it took."""
    started = time.perf_counter()
    current = fingerprint()
    data = _stamp()
    done: set[str] = set(data.get("steps", ())) if data.get("fingerprint") == current else set()
    if data.get("fingerprint") != current:
        flush()
    candles = sample_candles()
    for label, step in STEPS.items():
        t = time.perf_counter()
        step(candles)
        write(f"  {label}: {time.perf_counter() - t:.1f} s")
        done.add(label)
    _write_stamp({"fingerprint": current, "steps": sorted(done)})
    return time.perf_counter() - started


def ensure_compiled(write: Write = print) -> None:
    """Nothing when the kernels were compiled ahead (the stamp covers every registered
    step); else say so, compile them now with a line per step, and record it."""
    if is_compiled():
        return
    write("Compiling the Numba kernels (once after an install or a kernel change; `make kernels` does it)...")
    seconds = warm(write)
    write(f"Kernels compiled in {seconds:.0f} s.")


def _warm_engine(candles: dict[str, Any]) -> None:
    """The simulation and metric kernels through ``simulate``, and the searches for a
    bad value that error messages run."""
    from engine import nb as engine_nb
    from engine.runner import simulate

    signals = (candles["close"] > candles["open"]).astype("int8")
    for fill in ("next_open", "close"):
        simulate(
            candles["ts"], candles["open"], candles["high"], candles["low"], candles["close"], signals,
            {"fill": fill}, stop_loss_percent=2.0,
        )  # fmt: skip
    engine_nb.first_non_increasing_nb(candles["ts"])
    engine_nb.first_outside_nb(candles["close"], 0.0, np.inf)


register("engine (simulation, metrics, checks)", _warm_engine)

"""Benchmark of first impressions: a fresh clone, its compile-ahead step, its first commands.

Run: ``.venv/bin/python bench/first_run.py [--runs 5] [--keep]``

1. Clones the committed HEAD of this repository into a temporary folder (no
   ``__pycache__``, no Numba cache: what CI and a new user start from).
2. Runs the compile-ahead step there (``python -m optimizers.compile_ahead``, which
   ``make kernels`` runs as a step of ``make run`` and ``make test``) and times it.
3. Times ``manage.py backtest --spec specs/examples/hyperrsi.yaml --candles
   <the bundled sample> --json out.json`` in new processes, ``--runs`` times: the first
   one is what a user sees right after ``make run``; it must stay under 2 s. Prints
   wall and CPU time of each, and whether any of them printed a compile line.

Uses this venv's Python (the clone gets none of its own); no database (file mode).
Prints the load average: the machine is shared, and other work moves every figure.
"""

from __future__ import annotations

import argparse
import gzip
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def _timed(
    cmd: list[str], cwd: Path, env: dict[str, str]
) -> tuple[float, float, subprocess.CompletedProcess]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{done.stdout}\n{done.stderr}")
    return wall, cpu, done


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--keep", action="store_true", help="keep the clone (its path is printed)")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="first-run-"))
    clone = folder / "clone"
    try:
        subprocess.run(["git", "clone", "-q", str(REPO), str(clone)], check=True)
        head = subprocess.run(
            ["git", "log", "-1", "--format=%h %s"], cwd=clone, capture_output=True, text=True, check=True
        ).stdout.strip()
        print(f"bench/first_run.py: fresh clone of {head[:60]}")
        env = {
            k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL", "NUMBA_CACHE_DIR"}
        }
        env.update(SECRET_KEY="bench-only-secret-key", BACKTEST_LOCAL_ENV="")
        wall, cpu, done = _timed([sys.executable, "-m", "optimizers.compile_ahead"], clone, env)
        print(f"  compile ahead (make kernels)      {wall:7.2f} s wall, {cpu:6.2f} s CPU")
        for line in done.stdout.splitlines()[1:]:
            print(f"    {line.strip()}")
        csv = folder / "btcusd_15m_2021q4.csv"
        csv.write_bytes(gzip.decompress((clone / "data" / "btcusd_15m_2021q4.csv.gz").read_bytes()))
        command = [
            sys.executable, "manage.py", "backtest", "--spec", "specs/examples/hyperrsi.yaml",
            "--candles", str(csv), "--json", str(folder / "out.json"),
        ]  # fmt: skip
        walls = []
        for k in range(args.runs):
            wall, cpu, done = _timed(command, clone, env)
            walls.append(wall)
            compiled = "compiled!" if "Compiling" in done.stderr else "no compile"
            label = "first backtest --spec --candles" if k == 0 else f"run {k + 1}"
            print(f"  {label:<34}{wall:7.2f} s wall, {cpu:6.2f} s CPU, {compiled}")
        verdict = "ok" if walls[0] < 2.0 else "MISSED"
        print(
            f"  target first run < 2 s: {verdict} ({walls[0]:.2f} s); load average {os.getloadavg()[0]:.2f}"
        )
    finally:
        if args.keep:
            print(f"  kept {clone}")
        else:
            shutil.rmtree(folder, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

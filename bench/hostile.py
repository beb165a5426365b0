"""Figures for hostile input: how fast and how cheaply the service refuses it.

1. ``csv_read`` of a 3 MB gzip that expands to 1 GiB of CSV (the compression bomb of
   issue 12): time to refuse (median of 5) and the process's peak memory increase.
2. A 200 MB multipart upload to a live gunicorn (the project's WSGI app, two workers):
   time from the request's start to the 413 status line, the body bytes the client had
   sent by then, and the workers' peak resident memory (VmHWM) afterwards.

    .venv/bin/python bench/hostile.py

Needs no database or Redis: both refusals come before either is used.
"""

from __future__ import annotations

import gzip
import os
import resource
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from marketdata.parse import CandleFileError  # noqa: E402
from marketdata.parse_file import csv_read  # noqa: E402

LINE = b"2024-01-01T00:00:00Z,100,101,99,100.5,12.5\n"
UPLOAD = 200 * 1024 * 1024


def bomb(path: Path) -> Path:
    block = LINE * (1024 * 1024 // len(LINE))
    member = gzip.compress(block, compresslevel=9)
    with path.open("wb") as out:
        out.write(gzip.compress(b"timestamp,open,high,low,close,volume\n"))
        for _ in range(1024):
            out.write(member)
    return path


def bench_bomb(directory: Path) -> None:
    path = bomb(directory / "bomb.csv.gz")
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    times = []
    for _ in range(5):
        began = time.perf_counter()
        try:
            csv_read(path)
        except CandleFileError:
            times.append(time.perf_counter() - began)
        else:
            raise SystemExit("the bomb was read!")
    grown = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    print(
        f"gzip bomb ({path.stat().st_size / 1e6:.1f} MB → 1 GiB): refused in "
        f"{statistics.median(times) * 1000:.0f} ms (median of 5), peak memory +{grown:.0f} MiB"
    )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def worker_peaks(master: int) -> list[int]:
    """VmHWM (peak resident set, KiB) of each worker of the gunicorn ``master``."""
    peaks = []
    for pid in subprocess.run(["pgrep", "-P", str(master)], capture_output=True, text=True).stdout.split():
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                peaks.append(int(line.split()[1]))
    return peaks


def bench_upload() -> None:
    port = free_port()
    env = dict(
        os.environ,
        DJANGO_SETTINGS_MODULE="backtest_project.settings",
        SECRET_KEY=secrets.token_urlsafe(32),
        BACKTEST_LOCAL_ENV="",
        STATIC_MANIFEST="0",
    )
    server = subprocess.Popen(
        [
            str(REPO / ".venv/bin/gunicorn"),
            "backtest_project.wsgi:application",
            *("--bind", f"127.0.0.1:{port}", "--workers", "2", "--log-level", "warning"),
        ],
        cwd=REPO,
        env=env,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise SystemExit("gunicorn did not start") from None
                time.sleep(0.2)
        for _ in range(4):  # each worker imports the app on its first request: not measured
            warm = socket.create_connection(("127.0.0.1", port))
            warm.sendall(b"GET /api/v1/schemas/spec.json HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            warm.recv(100)
            warm.close()
        before = worker_peaks(server.pid)
        conn = socket.create_connection(("127.0.0.1", port))
        conn.settimeout(0.001)
        began = time.perf_counter()
        conn.sendall(
            b"POST /api/v1/specs/ HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            b"Content-Type: multipart/form-data; boundary=x\r\n"
            + f"Content-Length: {UPLOAD}\r\n\r\n".encode()
        )
        chunk, sent, reply = b"\0" * (1 << 20), 0, b""
        while sent < UPLOAD and not reply:
            try:
                sent += conn.send(chunk)
            except (BrokenPipeError, ConnectionResetError):
                break
            except TimeoutError:
                pass
            try:
                reply = conn.recv(200)
            except (TimeoutError, BlockingIOError):
                pass
        conn.settimeout(10)
        reply = reply or conn.recv(200)
        elapsed = time.perf_counter() - began
        conn.close()
        status = reply.split(b"\r\n", 1)[0].decode()
        after = worker_peaks(server.pid)
        print(
            f"200 MB upload to gunicorn: '{status}' after {elapsed * 1000:.0f} ms, "
            f"{sent / 1e6:.1f} MB of the body sent by then; workers' peak memory "
            f"{max(before) / 1024:.0f} → {max(after) / 1024:.0f} MiB"
        )
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=15)


if __name__ == "__main__":
    with tempfile.TemporaryDirectory() as tmp:
        bench_bomb(Path(tmp))
    bench_upload()

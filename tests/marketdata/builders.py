"""Small explicit candle files for the market-data tests."""

from __future__ import annotations

import os
import uuid
from io import StringIO
from pathlib import Path

from django.core.management import call_command

from engine.timestamps import ms_iso

HEADER = "timestamp,open,high,low,close,volume"
T0_MS = 1_704_067_200_000  # 2024-01-01T00:00:00Z
M15 = 900_000

# Three valid 15m bars, as CSV data lines (file lines 2, 3, 4).
GOOD_LINES = [
    "2024-01-01T00:00:00Z,100,101,99,100.5,10",
    "2024-01-01T00:15:00Z,100.5,102,100,101,0",
    "2024-01-01T00:30:00Z,101,101.5,100.5,101.2,5",
]


def write_csv(directory: Path, lines: list[str], *, header: str = HEADER, name: str = "candles.csv") -> Path:
    path = directory / name
    path.write_text("\n".join([header, *lines]) + "\n")
    return path


def bar_lines(bars: list[tuple[int, float, float, float, float, float]]) -> list[str]:
    """CSV data lines (ISO timestamps) of ``(ts_ms, open, high, low, close, volume)`` bars."""
    return [f"{ms_iso(ts)},{o},{h},{lo},{c},{v}" for ts, o, h, lo, c, v in bars]


def load(*args: str, **options) -> str:
    """Run ``load_candles`` and return what it printed."""
    out = StringIO()
    call_command("load_candles", *args, stdout=out, stderr=StringIO(), **options)
    return out.getvalue()


def unique_symbol(prefix: str) -> str:
    """A symbol no other test (nor the other xdist worker) uses."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    return f"{prefix}-{worker}-{uuid.uuid4().hex[:8]}".upper()

"""Axes of the report charts: round tick positions (linear, log, calendar time) and
the labels under and beside them. Framework-free: numpy only."""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import datetime

import numpy as np

from engine.timestamps import ms_to_datetime

MS = {
    "minute": 60_000,
    "hour": 3_600_000,
    "day": 86_400_000,
}
MONTH_ABBR = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


# --- ticks --------------------------------------------------------------------------


def nice_ticks(lo: float, hi: float, target: int = 5) -> np.ndarray:
    """Round numbers (1, 2, 2.5 or 5 × 10^k apart) covering [lo, hi], about ``target``."""
    if not (math.isfinite(lo) and math.isfinite(hi)) or hi <= lo:
        return np.array([lo])
    raw = (hi - lo) / max(target, 1)
    power = 10.0 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= raw)
    first = math.ceil(lo / step - 1e-9) * step
    ticks = np.arange(first, hi + step * 1e-9, step)
    return np.round(ticks, 12)


def log_ticks(lo: float, hi: float) -> np.ndarray:
    """Ticks for a log axis over [lo, hi] (both > 0): 1-2-5 per decade, thinned to ≤ 8."""
    if lo <= 0 or hi <= lo:
        return nice_ticks(lo, hi)
    decades = np.arange(math.floor(math.log10(lo)), math.ceil(math.log10(hi)) + 1)
    for mantissas in ((1, 2, 5), (1, 3), (1,)):
        ticks = np.array([m * 10.0**d for d in decades for m in mantissas])
        ticks = ticks[(ticks >= lo * 0.999) & (ticks <= hi * 1.001)]
        if 2 <= ticks.shape[0] <= 8:
            return ticks
    # less than a decade: linear round numbers inside the range
    return nice_ticks(lo, hi, 4)


_TIME_STEPS: tuple[tuple[str, int], ...] = (
    ("minute", 1),
    ("minute", 5),
    ("minute", 15),
    ("minute", 30),
    ("hour", 1),
    ("hour", 3),
    ("hour", 6),
    ("hour", 12),
    ("day", 1),
    ("day", 2),
    ("day", 7),
    ("day", 14),
    ("month", 1),
    ("month", 2),
    ("month", 3),
    ("month", 6),
    ("year", 1),
    ("year", 2),
    ("year", 5),
    ("year", 10),
    ("year", 25),
)


def time_ticks(t0: int, t1: int, max_ticks: int = 9) -> tuple[np.ndarray, list[str]]:
    """Tick positions (epoch ms) at round calendar instants in [t0, t1], and concise
    labels: the year at a year's first tick, the month at a month's, the day at a
    day's (``2024``, ``Mar``, ``Mar 5``, ``12:00``)."""
    span = max(t1 - t0, 1)
    for unit, count in _TIME_STEPS:
        ticks = _calendar_ticks(t0, t1, unit, count)
        if ticks.shape[0] <= max_ticks and (ticks.shape[0] >= 3 or unit == "year" or span < MS["minute"]):
            break
    return ticks, _time_labels(ticks, unit)


def _calendar_ticks(t0: int, t1: int, unit: str, count: int) -> np.ndarray:
    if unit in MS:
        step = MS[unit] * count
        first = -(-t0 // step) * step
        return np.arange(first, t1 + 1, step, dtype=np.int64)
    kind = "M" if unit == "month" else "Y"
    lo = np.datetime64(int(t0), "ms").astype(f"datetime64[{kind}]")
    hi = np.datetime64(int(t1), "ms").astype(f"datetime64[{kind}]")
    values = np.arange(lo, hi + 1).astype(np.int64)
    values = values[values % count == 0] if kind == "Y" else values[(values % 12) % count == 0]
    ms = values.astype(f"datetime64[{kind}]").astype("datetime64[ms]").astype(np.int64)
    return ms[(ms >= t0) & (ms <= t1)]


def _time_labels(ticks: np.ndarray, unit: str) -> list[str]:
    labels = []
    previous: datetime | None = None
    for value in ticks.tolist():
        moment = ms_to_datetime(value)
        if unit == "year" or (
            moment.month == 1 and moment.day == 1 and moment.hour == 0 and moment.minute == 0
        ):
            label = f"{moment.year}"
        elif unit == "month" or (moment.day == 1 and moment.hour == 0 and moment.minute == 0):
            label = MONTH_ABBR[moment.month - 1]
        elif unit == "day" or (moment.hour == 0 and moment.minute == 0):
            label = f"{MONTH_ABBR[moment.month - 1]} {moment.day}"
        elif previous is None or previous.date() != moment.date():
            label = f"{MONTH_ABBR[moment.month - 1]} {moment.day} {moment:%H:%M}"
        else:
            label = f"{moment:%H:%M}"
        labels.append(label)
        previous = moment
    return labels


def year_span_label(t0: int, t1: int) -> str:
    """``2024 (UTC)`` or ``2023–2024 (UTC)``: the years a time axis covers."""
    y0 = ms_to_datetime(t0).year
    y1 = ms_to_datetime(t1).year
    return f"{y0} (UTC)" if y0 == y1 else f"{y0}–{y1} (UTC)"


# --- number formats for axes -----------------------------------------------------------


def amount_format(ticks: np.ndarray) -> Callable[[float], str]:
    """Thousands separators with as many decimals as the tick step needs."""
    step = float(np.min(np.diff(ticks))) if ticks.shape[0] > 1 else abs(float(ticks[0])) or 1.0
    decimals = int(min(6, max(0, -math.floor(math.log10(step)) + (0 if _is_round(step) else 1))))
    return lambda v: f"{v:,.{decimals}f}"


def _is_round(step: float) -> bool:
    power = 10.0 ** math.floor(math.log10(step))
    return abs(step / power - round(step / power)) < 1e-9


def pct_format(ticks: np.ndarray, signed: bool = False) -> Callable[[float], str]:
    """Fractions as percentages with the decimals the step needs: 0.05 → "5%"."""
    scaled = ticks * 100
    fmt = amount_format(scaled) if scaled.shape[0] else (lambda v: f"{v:g}")
    sign = "+" if signed else ""

    def format_(v: float) -> str:
        if abs(v) < 1e-12:
            return "0%"
        text = fmt(v * 100)
        if signed and v > 0:
            text = sign + text
        return text + "%"

    return format_

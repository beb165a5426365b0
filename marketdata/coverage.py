"""Coverage of a stored series: span, row count, zero-volume bars and gaps.

A gap is a pair of consecutive stored bars further apart than one bar: at least one
bar is missing between them. Gaps are facts about the data (exchanges pause, sources
drop bars), so they are reported, never rejected.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

import numpy as np

from engine.timestamps import datetime_to_ms, ms_iso


@dataclass(frozen=True)
class Coverage:
    """What one series holds. Times are int64 epoch ms; ``gaps`` as stored in CandleSeries."""

    rows: int
    first_ms: int | None
    last_ms: int | None
    zero_volume: int
    gap_count: int
    missing_bars: int
    gaps: list[dict] = field(default_factory=list)


def gaps_find(ts: np.ndarray, *, step_ms: int) -> tuple[np.ndarray, np.ndarray]:
    """Gaps in ``ts`` (int64 epoch ms, strictly increasing, shape (n,)).

    Returns ``(start_ms, end_ms)``, int64 arrays of shape (g,): ``start_ms`` is the open
    time of the first missing bar, ``end_ms`` that of the next stored bar, so the gap is
    ``[start_ms, end_ms)`` and holds ``(end_ms - start_ms) // step_ms`` missing bars.
    """
    ts = np.asarray(ts, dtype=np.int64)
    after = np.flatnonzero(np.diff(ts) > step_ms)
    return ts[after] + step_ms, ts[after + 1]


def coverage_compute(ts: np.ndarray, volume: np.ndarray, *, step_ms: int, gaps_max: int = 1000) -> Coverage:
    """Coverage of one series from its ``ts`` (int64 ms, sorted) and ``volume`` (float64).

    Keeps at most ``gaps_max`` gaps in ``gaps``: the longest, listed in time order (ties
    keep the earlier gap); ``gap_count`` and ``missing_bars`` always count all of them.
    """
    ts = np.asarray(ts, dtype=np.int64)
    n = int(ts.shape[0])
    if n == 0:
        return Coverage(rows=0, first_ms=None, last_ms=None, zero_volume=0, gap_count=0, missing_bars=0)
    start, end = gaps_find(ts, step_ms=step_ms)
    missing = (end - start) // step_ms
    keep = _longest(missing, gaps_max)
    gaps = [
        {
            "start": ms_iso(int(start[i])),
            "end": ms_iso(int(end[i])),
            "missing_bars": int(missing[i]),
            "seconds": int((end[i] - start[i]) // 1000),
        }
        for i in keep
    ]
    return Coverage(
        rows=n,
        first_ms=int(ts[0]),
        last_ms=int(ts[-1]),
        zero_volume=int(np.count_nonzero(np.asarray(volume) == 0)),
        gap_count=int(start.shape[0]),
        missing_bars=int(missing.sum()),
        gaps=gaps,
    )


def coverage_extend(
    before: Coverage, ts: np.ndarray, volume: np.ndarray, *, step_ms: int, gaps_max: int = 1000
) -> Coverage:
    """``before`` with bars ``ts`` (int64 ms, sorted, all after ``before.last_ms``) and
    their ``volume`` appended: what ``coverage_compute`` over the whole series would
    give, without reading the stored bars again (the live sync appends every minute)."""
    ts = np.asarray(ts, dtype=np.int64)
    if before.rows == 0 or before.last_ms is None:
        return coverage_compute(ts, volume, step_ms=step_ms, gaps_max=gaps_max)
    if ts.shape[0] == 0:
        return before
    if ts[0] <= before.last_ms:
        raise ValueError(f"appended bars start at {ms_iso(int(ts[0]))}, not after {ms_iso(before.last_ms)}")
    # The last stored bar joins the new ones, so a gap between them is found too; its
    # stand-in volume of 1 is never counted as a zero-volume bar.
    added = coverage_compute(
        np.concatenate(([before.last_ms], ts)),
        np.concatenate(([1.0], np.asarray(volume, dtype=np.float64))),
        step_ms=step_ms,
        gaps_max=gaps_max,
    )
    # Both lists are each one's longest gaps in time order, so the longest of their union
    # are the longest of all.
    gaps = before.gaps + added.gaps
    gaps = [gaps[i] for i in _longest(np.array([g["missing_bars"] for g in gaps], dtype=np.int64), gaps_max)]
    return Coverage(
        rows=before.rows + int(ts.shape[0]),
        first_ms=before.first_ms,
        last_ms=int(ts[-1]),
        zero_volume=before.zero_volume + added.zero_volume,
        gap_count=before.gap_count + added.gap_count,
        missing_bars=before.missing_bars + added.missing_bars,
        gaps=gaps,
    )


def _longest(missing: np.ndarray, keep_max: int) -> list[int]:
    """Indices of the ``keep_max`` longest gaps (ties: the earlier), in time order."""
    if missing.shape[0] <= keep_max:
        return list(range(missing.shape[0]))
    return np.sort(np.argsort(-missing, kind="stable")[:keep_max]).tolist()


@dataclass(frozen=True)
class PeriodCoverage:
    """How well the bars a run used cover the period it asked for.

    ``first_ms``/``last_ms``: open times of the first and last bar used. ``expected_bars``:
    the bar slots of the period (the bars used plus every missing one: before the first
    bar, between bars, after the last). ``gaps``: each run of missing slots as
    ``{"start", "end", "missing_bars", "seconds", "where"}`` (``where``: ``start``,
    ``inside`` or ``end``; half-open, ISO 8601 UTC), at most ``gaps_max`` of them, the
    longest, in time order; ``gap_count`` and ``missing_bars`` count all of them.
    ``problems``: one sentence per edge, and one for the inside, where more than
    ``max_gap_bars`` bars in a row are missing (computed over every gap, kept or not).
    """

    bars: int
    first_ms: int
    last_ms: int
    expected_bars: int
    missing_bars: int
    gap_count: int
    max_gap_bars: int
    gaps: list[dict]
    problems: list[str]

    @property
    def ratio(self) -> float:
        return self.bars / self.expected_bars if self.expected_bars else 1.0

    def as_dict(self) -> dict:
        """The JSON stored on a run (``BacktestRun.coverage``)."""
        return {
            "bars": self.bars,
            "expected_bars": self.expected_bars,
            "missing_bars": self.missing_bars,
            "ratio": self.ratio,
            "gap_count": self.gap_count,
            "max_gap_bars": self.max_gap_bars,
            "gaps": self.gaps,
        }


def _gap_dict(start: int, end: int, missing: int, where: str) -> dict:
    return {
        "start": ms_iso(start),
        "end": ms_iso(end),
        "missing_bars": missing,
        "seconds": (end - start) // 1000,
        "where": where,
    }


def _problems(rows: list[tuple[int, int, int, str]], first: int, last: int, max_gap_bars: int) -> list[str]:
    out = []
    inside = []
    for start, end, missing, where in rows:
        if missing <= max_gap_bars:
            continue
        if where == "start":
            out.append(
                f"the data starts at {ms_iso(first)}, {missing:,} bars after the period's start "
                f"{ms_iso(start)}"
            )
        elif where == "end":
            out.append(
                f"the data ends at {ms_iso(last)} (last bar), {missing:,} bars before the period's end "
                f"{ms_iso(end)}"
            )
        else:
            inside.append((start, end, missing))
    if inside:
        start, end, missing = max(inside, key=lambda g: g[2])
        more = "" if max_gap_bars == 0 else f" of more than {max_gap_bars:,} bars"
        out.append(
            f"{len(inside):,} gap{'s' if len(inside) != 1 else ''}{more} inside the period "
            f"({sum(g[2] for g in inside):,} bars missing; the largest, {missing:,} bars, "
            f"from {ms_iso(start)} to {ms_iso(end)})"
        )
    return out


def period_coverage(
    ts: np.ndarray, *, start_ms: int, end_ms: int, step_ms: int, max_gap_bars: int = 0, gaps_max: int = 100
) -> PeriodCoverage:
    """The coverage of the period ``[start_ms, end_ms)`` by the bars ``ts`` (int64 epoch ms,
    strictly increasing, n >= 1, all inside the period) of ``step_ms``-long bars.

    Missing slots before the first bar: floor((first - start) / step); after the last:
    ceil((end - last) / step) - 1 (the slots last + k*step < end, k >= 1); between bars
    as ``gaps_find``. A period whose start is not on the bar grid loses no slot for it.
    """
    ts = np.asarray(ts, dtype=np.int64)
    first, last = int(ts[0]), int(ts[-1])
    lead = max(first - start_ms, 0) // step_ms
    trail = max(-(-(end_ms - last) // step_ms) - 1, 0)
    starts, ends = gaps_find(ts, step_ms=step_ms)
    missing = (ends - starts) // step_ms
    rows: list[tuple[int, int, int, str]] = []
    if lead:
        rows.append((first - lead * step_ms, first, int(lead), "start"))
    rows += [
        (s, e, m, "inside") for s, e, m in zip(starts.tolist(), ends.tolist(), missing.tolist(), strict=True)
    ]
    if trail:
        rows.append((last + step_ms, end_ms, int(trail), "end"))
    kept = [rows[i] for i in _longest(np.array([r[2] for r in rows], dtype=np.int64), gaps_max)]
    total_missing = sum(r[2] for r in rows)
    return PeriodCoverage(
        bars=int(ts.shape[0]),
        first_ms=first,
        last_ms=last,
        expected_bars=int(ts.shape[0]) + total_missing,
        missing_bars=total_missing,
        gap_count=len(rows),
        max_gap_bars=max_gap_bars,
        gaps=[_gap_dict(*row) for row in kept],
        problems=_problems(rows, first, last, max_gap_bars),
    )


class NotCovered(LookupError):
    """A ``coverage: strict`` period that the stored bars do not cover; the message says how."""


def market_coverage(ts: np.ndarray, market: dict, *, step_ms: int) -> PeriodCoverage:
    """The coverage of a spec's ``market`` period (normalised: ``start``/``end`` as ISO
    8601 UTC; ``coverage``, ``max_gap_bars`` as in docs/specs.md) by the bars ``ts``.

    ``coverage_enforce`` then applies the spec's ``coverage`` rule.
    """
    ts = np.asarray(ts, dtype=np.int64)
    # an open period (no start or end) asks for no more than the bars found
    start_ms = _iso_ms(market["start"]) if market.get("start") else int(ts[0])
    end_ms = _iso_ms(market["end"]) if market.get("end") else int(ts[-1]) + step_ms
    found = period_coverage(
        ts,
        start_ms=start_ms,
        end_ms=end_ms,
        step_ms=step_ms,
        max_gap_bars=int(market.get("max_gap_bars") or 0),
    )
    return found


def coverage_enforce(found: PeriodCoverage, market: dict) -> None:
    """Raise ``NotCovered``, naming every problem, when ``market.coverage`` is ``strict``
    and the bars fall short of the period."""
    if found.problems and market.get("coverage") == "strict":
        raise NotCovered(
            f"market.coverage is strict and the {market.get('symbol', '')} {market.get('timeframe', '')} "
            f"candles do not cover {market['start']} to {market['end']}: " + "; ".join(found.problems)
        )


def _iso_ms(text: str) -> int:
    value = datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return datetime_to_ms(value)

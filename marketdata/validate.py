"""Validation of parsed candles, before anything is written.

Every check is a vectorised numpy expression over whole columns. A row can have
several problems; each is counted. Per-row checks come first; the duplicate and order
checks then compare each row only with the earlier rows that passed every per-row
check, so a row dropped for a bad price never makes a good row look like a duplicate.

Gaps (missing bars) are not problems: they are reported in the coverage record.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from marketdata.parse import RawCandles
from marketdata.timeframes import timeframe_ms, timeframe_parse

# code → description, in the order reports list them.
PROBLEMS: dict[str, str] = {
    "field_count": "wrong number of fields for the header",
    "bad_timestamp": "timestamp is not ISO 8601, epoch seconds or epoch milliseconds",
    "not_a_number": "a price or the volume is not a number",
    "not_finite": "a price or the volume is empty, NaN or infinite",
    "non_positive_price": "open, high, low or close is zero or negative",
    "high_below_open_close": "high is below max(open, close)",
    "low_above_open_close": "low is above min(open, close)",
    "negative_volume": "volume is negative",
    "off_grid_timestamp": "timestamp is not on the timeframe's grid (a whole number of bars after 00:00 UTC)",
    "duplicate_timestamp": "timestamp repeats an earlier row's",
    "unordered_timestamp": "timestamp is earlier than the previous row's",
}


@dataclass(frozen=True)
class Problem:
    code: str
    description: str
    count: int
    first: tuple[int, ...]  # locations of the first offending rows


@dataclass(frozen=True, eq=False)
class ValidationReport:
    """The outcome of ``candles_validate``.

    rows: rows in the source (malformed ones included); valid: bool (len(raw),), the
    parsed rows that pass every check; invalid: rows with at least one problem;
    problems: those that occurred, in ``PROBLEMS`` order.
    """

    rows: int
    valid: np.ndarray
    invalid: int
    problems: tuple[Problem, ...]
    location_label: str
    source: str

    @property
    def ok(self) -> bool:
        return self.invalid == 0

    def lines(self) -> list[str]:
        """One line per problem: what, how many, and where the first ones are."""
        label = self.location_label
        out = []
        for p in self.problems:
            where = ", ".join(str(x) for x in p.first)
            more = ", …" if p.count > len(p.first) else ""
            plural = ("es" if label.endswith("x") else "s") if len(p.first) > 1 else ""
            rows = f"{p.count} row{'s' if p.count != 1 else ''}"
            out.append(f"{p.code}: {rows} ({p.description}); {label}{plural} {where}{more}")
        return out

    def text(self) -> str:
        head = f"{self.source}: {self.invalid} of {self.rows} rows are invalid"
        return "\n".join([head, *("  " + line for line in self.lines())])


def candles_validate(*, raw: RawCandles, timeframe: str, first_shown: int = 5) -> ValidationReport:
    """Check every row of ``raw`` against the rules in ``PROBLEMS`` for ``timeframe``.

    Returns a report with, per problem, the count and the locations of the first
    ``first_shown`` rows (file lines for CSV, the header being line 1).
    """
    step = timeframe_ms(timeframe_parse(timeframe))
    n = len(raw)
    o, h, lo, c, v = raw.open, raw.high, raw.low, raw.close, raw.volume
    ts_ok = ~raw.ts_bad
    with np.errstate(invalid="ignore"):
        finite = np.isfinite(o) & np.isfinite(h) & np.isfinite(lo) & np.isfinite(c) & np.isfinite(v)
        masks: dict[str, np.ndarray] = {
            "bad_timestamp": raw.ts_bad,
            "not_a_number": raw.number_bad,
            "not_finite": ~finite & ~raw.number_bad,
            "non_positive_price": (o <= 0) | (h <= 0) | (lo <= 0) | (c <= 0),
            "high_below_open_close": h < np.maximum(o, c),
            "low_above_open_close": lo > np.minimum(o, c),
            "negative_volume": v < 0,
            "off_grid_timestamp": ts_ok & (np.mod(raw.ts, step) != 0),
        }
    row_bad = np.zeros(n, dtype=bool)
    for mask in masks.values():
        row_bad |= mask

    # Order checks over the rows that passed everything above, in source order.
    kept = np.flatnonzero(~row_bad)
    t = raw.ts[kept]
    duplicate = np.zeros(n, dtype=bool)
    unordered = np.zeros(n, dtype=bool)
    if t.shape[0] > 1:
        order = np.argsort(t, kind="stable")  # stable: the first occurrence sorts first
        repeats = order[1:][t[order][1:] == t[order][:-1]]
        duplicate[kept[repeats]] = True
        unordered[kept[1:][t[1:] < t[:-1]]] = True
    masks["duplicate_timestamp"] = duplicate
    masks["unordered_timestamp"] = unordered
    row_bad |= duplicate | unordered

    problems = []
    malformed = np.asarray(raw.malformed, dtype=np.int64)
    if malformed.shape[0]:
        problems.append(
            Problem(
                "field_count",
                PROBLEMS["field_count"],
                int(malformed.shape[0]),
                tuple(malformed[:first_shown].tolist()),
            )
        )
    for code, description in PROBLEMS.items():
        mask = masks.get(code)
        if mask is None or not mask.any():
            continue
        where = raw.locations[mask][:first_shown]
        problems.append(Problem(code, description, int(np.count_nonzero(mask)), tuple(where.tolist())))
    return ValidationReport(
        rows=n + int(malformed.shape[0]),
        valid=~row_bad,
        invalid=int(np.count_nonzero(row_bad)) + int(malformed.shape[0]),
        problems=tuple(problems),
        location_label=raw.location_label,
        source=raw.source,
    )

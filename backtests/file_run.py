"""Run one Backtest spec file over one candle file, with no database.

The path behind ``manage.py backtest --spec FILE.yaml --candles FILE.csv`` and
``manage.py lookahead --spec … --candles …``: the spec is validated exactly as
``apply`` would (references must be in the same file), the candles exactly as
``load_candles`` would (every bad row reported with its line), then the bars in
the spec's period run through the engine.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from backtests.run_config import config_backtest
from engine.runner import BacktestResult, Candles
from engine.timestamps import datetime_to_ms
from marketdata.parse import CandleFileError
from marketdata.parse_file import file_read
from marketdata.validate import candles_validate
from specs.errors import SpecValidationError
from specs.normalise import parse_instant
from specs.validation import validate_text


class FileRunError(Exception):
    """The spec or the candle file cannot be used; the message says which line and why."""


def backtest_document(spec_path: str | Path, name: str | None = None) -> dict[str, Any]:
    """The normalised data of the Backtest ``name`` in ``spec_path`` (or its only one)."""
    path = Path(spec_path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise FileRunError(f"{path}: {exc.strerror or exc}") from None
    try:
        documents = validate_text(text, source=path.name)
    except SpecValidationError as exc:
        raise FileRunError("\n".join(str(error) for error in exc.errors)) from None
    backtests = [doc for doc in documents if doc.kind == "Backtest"]
    if name is not None:
        backtests = [doc for doc in backtests if doc.name == name]
    if len(backtests) != 1:
        found = ", ".join(doc.name for doc in documents if doc.kind == "Backtest") or "none"
        which = f"no Backtest named {name!r}" if name else "more than one Backtest; choose one with --name"
        if not backtests and not name:
            which = "no Backtest document"
        raise FileRunError(f"{path.name}: {which} (Backtests in the file: {found})")
    return backtests[0].data


def candles_from_file(
    candles_path: str | Path, *, timeframe: str, start: str | None, end: str | None
) -> Candles:
    """Bars of ``candles_path`` with start ≤ ts < end, validated on the ``timeframe`` grid."""
    from marketdata.services import candle_limits

    try:
        raw = file_read(candles_path, limits=candle_limits())
    except CandleFileError as exc:
        raise FileRunError(str(exc)) from None
    report = candles_validate(raw=raw, timeframe=timeframe)
    if not report.ok:
        raise FileRunError(report.text())
    start_ms = _ms(start)
    end_ms = _ms(end)
    keep = np.ones(len(raw), dtype=bool)
    if start_ms is not None:
        keep &= raw.ts >= start_ms
    if end_ms is not None:
        keep &= raw.ts < end_ms
    if keep.sum() < 2:
        raise FileRunError(
            f"{Path(candles_path).name}: {int(keep.sum())} bar(s) between {start} and {end}; "
            "a backtest needs at least 2"
        )
    return Candles(*(np.ascontiguousarray(getattr(raw, col)[keep]) for col in Candles.__dataclass_fields__))


def _ms(value: str | None) -> int | None:
    return None if value is None else datetime_to_ms(parse_instant(value))


def run_spec_file(
    spec_path, candles_path, *, name: str | None = None
) -> tuple[BacktestResult, dict[str, Any]]:
    """Validate both files and run the engine; returns the result and the spec's data."""
    doc = backtest_document(spec_path, name)
    market = doc["market"]
    candles = candles_from_file(
        candles_path, timeframe=market["timeframe"], start=market["start"], end=market["end"]
    )
    try:
        result = config_backtest(candles, doc)
    except ValueError as exc:
        raise FileRunError(str(exc)) from None
    return result, doc

"""Numbers for people: percentages, money, ratios, durations and times, and the
catalogue of the contract's metrics (label, group, unit, which side is better).

Framework-free (the standard library only), so that every layer can show a figure the
same way: the admin, the commands, the report pages (``reports.format`` adds the report
analytics to the catalogue). Every formatter takes ``None`` (an undefined metric, see
the contract) and returns ``"—"`` for it, so templates never have to test for null.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from engine.timestamps import ms_to_datetime

MISSING = "—"


def as_finite(value) -> float | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def pct(value, digits: int = 2, *, signed: bool = False) -> str:
    """A fraction as a percentage: 0.1234 → "12.34%" (signed: "+12.34%")."""
    number = as_finite(value)
    if number is None:
        return MISSING
    sign = "+" if signed else ""
    # -0.00% reads like a loss that is not there; a rounded zero is shown unsigned.
    if round(number * 100, digits) == 0:
        number, sign = 0.0, ""
    return f"{number * 100:{sign},.{digits}f}%"


def money(value, digits: int = 2) -> str:
    """An amount in the quote currency with thousands separators: 12345.6 → "12,345.60"."""
    number = as_finite(value)
    if number is None:
        return MISSING
    if round(number, digits) == 0:
        number = 0.0
    return f"{number:,.{digits}f}"


def number(value, digits: int = 2) -> str:
    """A plain number with thousands separators and ``digits`` decimals."""
    return money(value, digits)


def integer(value) -> str:
    """A count with thousands separators: 1234567 → "1,234,567"."""
    number_ = as_finite(value)
    if number_ is None:
        return MISSING
    return f"{round(number_):,d}"


def price(value) -> str:
    """A price with as many decimals as its size needs (BTC 43,120.5; a meme coin 0.0000123)."""
    number_ = as_finite(value)
    if number_ is None:
        return MISSING
    magnitude = abs(number_)
    if magnitude >= 1000:
        digits = 2
    elif magnitude >= 1:
        digits = 4
    elif magnitude == 0:
        digits = 2
    else:
        # four significant digits below 1
        digits = min(12, 3 - math.floor(math.log10(magnitude)))
    return f"{number_:,.{digits}f}"


def duration_days(value) -> str:
    """A span given in days, in the two largest units: 0.02 → "29 min", 3.5 → "3 d 12 h"."""
    number_ = as_finite(value)
    if number_ is None:
        return MISSING
    if number_ == 0:
        return "0 d"
    return duration_seconds(number_ * 86400.0)


def duration_seconds(value) -> str:
    """A span given in seconds, in the two largest units: 95 → "1 min 35 s", 0.25 → "250 ms"."""
    number_ = as_finite(value)
    if number_ is None:
        return MISSING
    if number_ < 0:
        return "-" + duration_seconds(-number_)
    if number_ == 0:
        return "0 s"
    if number_ < 1:
        return f"{number_ * 1000:,.0f} ms"
    if number_ < 60:
        return f"{number_:.1f} s" if number_ < 10 else f"{number_:.0f} s"
    total = round(number_)
    days, rest = divmod(total, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, seconds = divmod(rest, 60)
    if days >= 100:
        return f"{days:,d} d"
    parts = [(days, "d"), (hours, "h"), (minutes, "min"), (seconds, "s")]
    while parts and parts[0][0] == 0:
        parts.pop(0)
    shown = [f"{amount} {unit}" for amount, unit in parts[:2] if amount]
    return " ".join(shown)


def timestamp(value) -> str:
    """An epoch-ms int, an aware datetime or ISO 8601 text as "2024-03-01 14:00" (UTC)."""
    if value is None:
        return MISSING
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return value
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
    if isinstance(value, datetime):
        moment = value.astimezone(UTC)
    else:
        number_ = as_finite(value)
        if number_ is None:
            return MISSING
        moment = ms_to_datetime(number_)
    return moment.strftime("%Y-%m-%d %H:%M")


# --- the metric catalogue --------------------------------------------------------


@dataclass(frozen=True)
class MetricInfo:
    name: str
    label: str
    group: str
    kind: str  # pct | signed_pct | ratio | money | signed_money | days | int | bars
    help: str
    better: str = "high"  # high | low | "" (neither): which side a comparison marks as best


CONTRACT_METRICS: dict[str, MetricInfo] = {
    info.name: info
    for info in (
        MetricInfo(
            "total_return", "Total return", "returns", "signed_pct", "final equity / initial capital − 1"
        ),
        MetricInfo("annual_return", "Annual return", "returns", "signed_pct", "compounded per 365 days"),
        MetricInfo(
            "sharpe_ratio", "Sharpe ratio", "returns", "ratio", "mean / std of bar returns, annualised"
        ),
        MetricInfo(
            "sortino_ratio", "Sortino ratio", "returns", "ratio", "mean / downside deviation, annualised"
        ),
        MetricInfo("calmar_ratio", "Calmar ratio", "returns", "ratio", "annual return / max drawdown"),
        MetricInfo("volatility", "Volatility", "risk", "pct", "std of bar returns, annualised", "low"),
        MetricInfo("max_drawdown", "Max drawdown", "risk", "pct", "largest fall from a peak", "low"),
        MetricInfo(
            "max_drawdown_duration",
            "Max drawdown duration",
            "risk",
            "days",
            "longest time below a peak",
            "low",
        ),
        MetricInfo("exposure", "Exposure", "risk", "pct", "share of bars in a position", ""),
        MetricInfo("total_trades", "Trades", "trades", "int", "closed trades, end-of-data exit included", ""),
        MetricInfo("win_rate", "Win rate", "trades", "pct", "share of trades with pnl > 0 after fees"),
        MetricInfo("profit_factor", "Profit factor", "trades", "ratio", "gross profit / gross loss"),
        MetricInfo("avg_trade_return", "Avg trade return", "trades", "signed_pct", "mean pnl / margin"),
        MetricInfo("expectancy", "Expectancy", "trades", "signed_money", "mean pnl per trade"),
        MetricInfo("avg_win", "Avg win", "trades", "signed_money", "mean pnl of winning trades"),
        MetricInfo("largest_win", "Largest win", "trades", "signed_money", "best trade pnl"),
        MetricInfo("avg_loss", "Avg loss", "trades", "signed_money", "mean pnl of losing trades"),
        MetricInfo("largest_loss", "Largest loss", "trades", "signed_money", "worst trade pnl"),
        MetricInfo("avg_bars_held", "Avg bars held", "trades", "bars", "mean bars per trade", ""),
        MetricInfo("total_fees", "Total fees", "trades", "money", "entry and exit fees paid", "low"),
    )
}


def signed_money(value, digits: int = 2) -> str:
    text = money(value, digits)
    number_ = as_finite(value)
    if number_ is not None and round(number_, digits) > 0:
        return "+" + text
    return text


_FORMATTERS = {
    "pct": pct,
    "signed_pct": lambda v: pct(v, signed=True),
    "ratio": lambda v: number(v, 2),
    "money": money,
    "signed_money": signed_money,
    "days": duration_days,
    "int": integer,
    "bars": lambda v: number(v, 1),
}


def metric_value(name: str, value, catalogue: Mapping[str, MetricInfo] = CONTRACT_METRICS) -> str:
    """``value`` of metric ``name`` formatted for its kind (an unknown name: a plain number)."""
    info = catalogue.get(name)
    if info is None:
        return number(value, 4)
    return _FORMATTERS[info.kind](value)


def metric_with_unit(name: str, value, catalogue: Mapping[str, MetricInfo] = CONTRACT_METRICS) -> str:
    """For a terminal: the formatted value, with the quote currency's place named for
    money ("12,345.60 (quote currency)"), so that no figure is a bare number."""
    info = catalogue.get(name)
    text = metric_value(name, value, catalogue)
    if info is not None and info.kind in ("money", "signed_money") and text != MISSING:
        return f"{text} (quote currency)"
    if info is not None and info.kind == "bars" and text != MISSING:
        return f"{text} bars"
    return text


def overrides_text(overrides) -> str:
    """A run's overrides in one line, ``params.`` left out: "rsi_period=10, market.start=2024-03-01"."""
    if not isinstance(overrides, dict) or not overrides:
        return ""
    flat: list[str] = []

    def walk(prefix: str, value) -> None:
        if isinstance(value, dict) and value:
            for key in sorted(value):
                walk(f"{prefix}.{key}" if prefix else str(key), value[key])
        else:
            flat.append(f"{prefix.removeprefix('params.')}={value}")

    walk("", overrides)
    return ", ".join(flat)


def humanize(name) -> str:
    """An identifier for people: "take_profit" → "take profit", "rsi_period" → "rsi period"."""
    return str(name).replace("_", " ")


def metric_label(name: str, catalogue: Mapping[str, MetricInfo] = CONTRACT_METRICS) -> str:
    info = catalogue.get(name)
    return info.label if info else name.replace("_", " ")


def metric_tone(name: str, value, catalogue: Mapping[str, MetricInfo] = CONTRACT_METRICS) -> str:
    """ "pos"/"neg"/"" for colouring a value: returns and pnl by sign, nothing else."""
    info = catalogue.get(name)
    number_ = as_finite(value)
    if info is None or number_ is None or info.kind not in ("signed_pct", "signed_money"):
        return ""
    if number_ > 0:
        return "pos"
    if number_ < 0:
        return "neg"
    return ""

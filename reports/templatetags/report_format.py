"""Template filters of the report pages: ``{% load report_format %}``; the formatters of
``reports.format`` under their template names (None → "—")."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from django import template
from django.utils.html import format_html

from reports import format as fmt

register = template.Library()


def _with_digits(format_: Callable[..., str]) -> Callable[..., str]:
    """``format_`` as a filter whose argument is the number of decimals (``{{ v|pct:1 }}``;
    a template may pass it as text)."""

    def digits_filter(value, digits=2):
        return format_(value, int(digits))

    return digits_filter


# {{ value|pct }} or {{ value|pct:1 }}: two decimals unless told
for _name, _format in {
    "pct": fmt.pct,
    "signed_pct": partial(fmt.pct, signed=True),
    "money": fmt.money,
    "signed_money": fmt.signed_money,
    "number": fmt.number,
}.items():
    register.filter(_name, _with_digits(_format))

# {{ value|utc }}: an aware datetime or epoch ms as "YYYY-MM-DD HH:MM" UTC; {{ name|humanize }}:
# "take_profit" → "take profit"; {{ name|metric_label }}: "sharpe_ratio" → "Sharpe ratio";
# {{ run.overrides|overrides }}: "rsi_period=10, market.start=…" ("" for none)
for _name, _format in {
    "price": fmt.price,
    "integer": fmt.integer,
    "duration_days": fmt.duration_days,
    "duration_seconds": fmt.duration_seconds,
    "utc": fmt.timestamp,
    "humanize": fmt.humanize,
    "metric_label": fmt.metric_label,
    "overrides": fmt.overrides_text,
}.items():
    register.filter(_name, _format)


@register.filter
def metric(value, name):
    """``{{ value|metric:"sharpe_ratio" }}``: formatted the way that metric is."""
    return fmt.metric_value(name, value)


@register.filter
def tone(value):
    """ "pos"/"neg"/"" by sign, for colouring pnl and returns."""
    number = fmt.as_finite(value)
    if number is None or number == 0:
        return ""
    return "pos" if number > 0 else "neg"


@register.simple_tag
def signed_cell(value, unit="pct", digits=2):
    """``{% signed_cell row.pnl "money" %}``: a table cell of a signed figure, a fraction
    as a percentage (``unit`` "pct") or an amount ("money"), coloured by its sign."""
    digits = int(digits)
    text = fmt.signed_money(value, digits) if unit == "money" else fmt.pct(value, digits, signed=True)
    return format_html('<td class="num {}">{}</td>', tone(value), text)


@register.filter
def lookup(sequence, index):
    try:
        return sequence[int(index)]
    except (IndexError, KeyError, TypeError, ValueError):
        return None

"""Template filters of the report pages: ``{% load report_format %}``; thin wrappers of
``reports.format`` (None → "—")."""

from __future__ import annotations

from django import template

from reports import format as fmt

register = template.Library()


@register.filter
def pct(value, digits=2):
    return fmt.pct(value, int(digits))


@register.filter
def signed_pct(value, digits=2):
    return fmt.pct(value, int(digits), signed=True)


@register.filter
def money(value, digits=2):
    return fmt.money(value, int(digits))


@register.filter
def signed_money(value, digits=2):
    return fmt.signed_money(value, int(digits))


@register.filter
def price(value):
    return fmt.price(value)


@register.filter
def integer(value):
    return fmt.integer(value)


@register.filter
def number(value, digits=2):
    return fmt.number(value, int(digits))


@register.filter
def duration_days(value):
    return fmt.duration_days(value)


@register.filter
def duration_seconds(value):
    return fmt.duration_seconds(value)


@register.filter
def utc(value):
    """An aware datetime or epoch ms as "YYYY-MM-DD HH:MM" UTC."""
    return fmt.timestamp(value)


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


@register.filter
def humanize(value):
    """ "take_profit" → "take profit"."""
    return fmt.humanize(value)


@register.filter
def metric_label(name):
    """A metric's label ("sharpe_ratio" → "Sharpe ratio")."""
    return fmt.metric_label(name)


@register.filter
def overrides(value):
    """A run's overrides in one line ("rsi_period=10, market.start=…"), "" for none."""
    return fmt.overrides_text(value)


@register.filter
def lookup(sequence, index):
    try:
        return sequence[int(index)]
    except (IndexError, KeyError, TypeError, ValueError):
        return None

"""A small SVG plotter for the report charts: numpy arrays in, an ``<svg>`` string out.

Why not matplotlib for these: a matplotlib figure costs 40–100 ms to lay out and
serialise whatever it shows, and writes every coordinate with six decimals; a report
draws a dozen charts. This writes each series as one ``<path>`` with coordinates
rounded to 0.1 px, so a chart costs a few milliseconds and a few tens of kilobytes.

Geometry: a chart is ``width`` × ``height`` user units (1 unit = 1 CSS px at the
page's full width); every time chart of a report has the same width and the same
left and right margins, so stacked charts' x axes line up exactly. A chart holds one
or more ``Panel``s stacked top to bottom that share its x scale (the price panel and
the RSI panel under it). Text is real SVG text in DejaVu Sans (the page's and
WeasyPrint's font), so it stays selectable and vector in the PDF.

Framework-free: numpy only.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from html import escape

import numpy as np

FONT = "DejaVu Sans, Verdana, sans-serif"
FONT_SIZE = 12
CHAR_WIDTH = 0.58  # mean advance of DejaVu Sans text, in ems (for laying out legends)
INK = "#111827"
AXIS = "#9ca3af"
GRID = "#e5e7eb"
TICK_TEXT = "#374151"

# Margins shared by every time chart (px): room for y tick labels like "-12,345.67".
LEFT = 78
RIGHT = 18

MS = {
    "minute": 60_000,
    "hour": 3_600_000,
    "day": 86_400_000,
}
MONTH_ABBR = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def text_width(text: str, size: float = FONT_SIZE) -> float:
    return len(text) * size * CHAR_WIDTH


def _f(value: float) -> str:
    """A coordinate with at most one decimal ("12", "12.5")."""
    text = f"{value:.1f}"
    return text[:-2] if text.endswith(".0") else text


def path_data(px: np.ndarray, py: np.ndarray) -> str:
    """``M x y x y …`` through the points; a NaN in either coordinate breaks the line."""
    px = np.asarray(px, dtype=np.float64)
    py = np.asarray(py, dtype=np.float64)
    ok = np.isfinite(px) & np.isfinite(py)
    if not ok.any():
        return ""
    pieces: list[str] = []
    # runs of finite points
    padded = np.concatenate([[False], ok, [False]]).astype(np.int8)
    change = np.flatnonzero(np.diff(padded))
    xs = px.tolist()
    ys = py.tolist()
    pair = "{:.1f},{:.1f}".format
    for start, stop in zip(change[0::2].tolist(), change[1::2].tolist(), strict=True):
        pieces.append("M" + " ".join(map(pair, xs[start:stop], ys[start:stop])))
    return "".join(pieces)


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
        moment = datetime.fromtimestamp(value / 1000, tz=UTC)
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
    y0 = datetime.fromtimestamp(t0 / 1000, tz=UTC).year
    y1 = datetime.fromtimestamp(t1 / 1000, tz=UTC).year
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


# --- the chart -----------------------------------------------------------------------


@dataclass
class Panel:
    """One plotting area: pixel box (x0, y0, w, h) and its own y scale."""

    chart: Chart
    y0: float
    h: float
    lo: float = 0.0
    hi: float = 1.0
    log: bool = False
    parts: list[str] = field(default_factory=list)
    overlay: list[str] = field(default_factory=list)

    # scales
    def set_y(self, lo: float, hi: float, *, log: bool = False, pad: float = 0.05) -> None:
        """The y range, padded by ``pad`` of the span on each side (log: in log space)."""
        self.log = log and lo > 0
        if self.log:
            a, b = math.log10(lo), math.log10(hi)
            span = (b - a) or 0.1
            self.lo, self.hi = 10 ** (a - span * pad), 10 ** (b + span * pad)
            return
        if not (math.isfinite(lo) and math.isfinite(hi)):
            lo, hi = 0.0, 1.0
        span = hi - lo
        if span <= 0:
            span = abs(hi) * 0.02 or 1.0
            lo, hi = lo - span / 2, hi + span / 2
            span = hi - lo
        self.lo, self.hi = lo - span * pad, hi + span * pad

    def py(self, values) -> np.ndarray:
        v = np.asarray(values, dtype=np.float64)
        if self.log:
            with np.errstate(divide="ignore", invalid="ignore"):
                v = np.where(v > 0, np.log10(np.where(v > 0, v, 1.0)), np.nan)
            lo, hi = math.log10(self.lo), math.log10(self.hi)
        else:
            lo, hi = self.lo, self.hi
        return self.y0 + (1.0 - (v - lo) / (hi - lo)) * self.h

    @property
    def x0(self) -> float:
        return self.chart.left

    @property
    def w(self) -> float:
        return self.chart.plot_width

    # drawing
    def line(self, x, y, color: str, width: float = 1.3, *, dash: str = "", opacity: float = 1.0) -> None:
        d = path_data(self.chart.px(x), self.py(y))
        if d:
            extra = f' stroke-dasharray="{dash}"' if dash else ""
            extra += f' stroke-opacity="{opacity:g}"' if opacity < 1 else ""
            self.parts.append(
                f'<path d="{d}" fill="none" stroke="{color}" stroke-width="{width:g}"'
                f' stroke-linejoin="round"{extra}/>'
            )

    def fill_between(self, x, y1, y2, color: str, opacity: float = 0.25) -> None:
        """The area between two series (NaN in either breaks it)."""
        px = self.chart.px(x)
        a, b = self.py(y1), self.py(y2)
        ok = np.isfinite(a) & np.isfinite(b) & np.isfinite(px)
        padded = np.concatenate([[False], ok, [False]]).astype(np.int8)
        change = np.flatnonzero(np.diff(padded))
        pieces = []
        for start, stop in zip(change[0::2].tolist(), change[1::2].tolist(), strict=True):
            xs = px[start:stop]
            outline_x = np.concatenate([xs, xs[::-1]])
            outline_y = np.concatenate([a[start:stop], b[start:stop][::-1]])
            pieces.append(path_data(outline_x, outline_y) + "Z")
        if pieces:
            self.parts.append(
                f'<path d="{"".join(pieces)}" fill="{color}" fill-opacity="{opacity:g}" stroke="none"/>'
            )

    def hline(self, y: float, color: str = AXIS, width: float = 1.0, dash: str = "") -> None:
        py = float(self.py([y])[0])
        if not math.isfinite(py) or not self.y0 - 0.5 <= py <= self.y0 + self.h + 0.5:
            return
        extra = f' stroke-dasharray="{dash}"' if dash else ""
        self.parts.append(
            f'<path d="M{_f(self.x0)},{_f(py)}H{_f(self.x0 + self.w)}" stroke="{color}"'
            f' stroke-width="{width:g}"{extra}/>'
        )

    def vspans(self, x0, x1, color: str, opacity: float = 0.12, labels: Sequence[str] = ()) -> None:
        """Shaded vertical bands from x0[i] to x1[i] (whole panel height), each with an
        optional label at its top left."""
        a, b = self.chart.px(x0), self.chart.px(x1)
        rects = "".join(
            f"M{_f(l)},{_f(self.y0)}h{_f(max(r - l, 1.0))}v{_f(self.h)}h{_f(-max(r - l, 1.0))}Z"
            for l, r in zip(a.tolist(), b.tolist(), strict=True)
        )
        if rects:
            self.parts.insert(0, f'<path d="{rects}" fill="{color}" fill-opacity="{opacity:g}"/>')
        for k, (l, label) in enumerate(zip(a.tolist(), labels, strict=False)):
            # staggered downwards, so the labels of neighbouring narrow bands never overlap
            y = self.y0 + 12 + 12 * (k % 5)
            self.overlay.append(
                self.chart.text_el(l + 2, y, label, size=10, color=color, weight="bold", halo=True)
            )

    def markers(self, x, y, shape: str, color: str, *, size: float = 4.0, hollow: bool = False) -> None:
        """One path holding every marker of one kind: ``up``/``down`` triangles,
        ``circle``, ``x`` or ``star``."""
        px, py = self.chart.px(x), self.py(y)
        ok = np.isfinite(px) & np.isfinite(py)
        if not ok.any():
            return
        tmpl = _marker_template(shape, size)
        d = "".join(
            tmpl.format(x=_f(x), y=_f(y), xl=_f(x - size), yt=_f(y - size))
            for x, y in zip(px[ok].tolist(), py[ok].tolist(), strict=True)
        )
        if shape == "x":
            self.parts.append(f'<path d="{d}" fill="none" stroke="{color}" stroke-width="2"/>')
        elif hollow:
            self.parts.append(f'<path d="{d}" fill="none" stroke="{color}" stroke-width="1.1"/>')
        else:
            self.parts.append(f'<path d="{d}" fill="{color}" stroke="white" stroke-width="0.5"/>')

    def segments(self, start, end, color: str, *, width: float = 1.2, opacity: float = 0.8) -> None:
        """Straight segments from ``start`` = (x0, y0) to ``end`` = (x1, y1) (arrays),
        one path per colour."""
        a, b = self.chart.px(start[0]), self.chart.px(end[0])
        c, e = self.py(start[1]), self.py(end[1])
        d = "".join(
            f"M{_f(p)},{_f(q)}L{_f(r)},{_f(s)}"
            for p, q, r, s in zip(a.tolist(), c.tolist(), b.tolist(), e.tolist(), strict=True)
            if math.isfinite(q) and math.isfinite(s)
        )
        if d:
            self.parts.append(
                f'<path d="{d}" fill="none" stroke="{color}" stroke-width="{width:g}"'
                f' stroke-opacity="{opacity:g}"/>'
            )

    def bars(self, left, right, top, color: str, base: float = 0.0) -> None:
        """Vertical bars from ``base`` to ``top[i]`` between data x ``left[i]`` and
        ``right[i]`` (a histogram's bins), one path per colour."""
        a, b = self.chart.px(left), self.chart.px(right)
        t = self.py(top)
        y_base = float(self.py([base])[0])
        d = "".join(
            f"M{_f(l + 0.5)},{_f(y_base)}V{_f(y)}H{_f(r - 0.5)}V{_f(y_base)}Z"
            for l, r, y, v in zip(a.tolist(), b.tolist(), t.tolist(), np.asarray(top).tolist(), strict=True)
            if v != base
        )
        if d:
            self.parts.append(f'<path d="{d}" fill="{color}"/>')

    def label(
        self, x: float, y: float, text: str, *, color: str = INK, anchor: str = "start", dx: float = 0
    ) -> None:
        px = float(self.chart.px([x])[0]) + dx
        py = float(self.py([y])[0])
        self.overlay.append(
            self.chart.text_el(px, py + 4, text, size=11, color=color, anchor=anchor, halo=True)
        )

    def y_axis(self, ticks: np.ndarray, fmt: Callable[[float], str], title: str = "") -> None:
        py = self.py(ticks)
        keep = (py >= self.y0 - 0.5) & (py <= self.y0 + self.h + 0.5)
        grid = "".join(f"M{_f(self.x0)},{_f(y)}H{_f(self.x0 + self.w)}" for y in py[keep].tolist())
        if grid:
            self.chart.back.append(f'<path d="{grid}" stroke="{GRID}" stroke-width="1"/>')
        for value, y in zip(np.asarray(ticks)[keep].tolist(), py[keep].tolist(), strict=True):
            self.chart.front.append(
                self.chart.text_el(self.x0 - 6, y + 4, fmt(value), size=11, color=TICK_TEXT, anchor="end")
            )
        axis = f"M{_f(self.x0)},{_f(self.y0)}V{_f(self.y0 + self.h)}"
        self.chart.front.append(f'<path d="{axis}" stroke="{AXIS}" stroke-width="1"/>')
        if title:
            cx, cy = 12, self.y0 + self.h / 2
            self.chart.front.append(
                f'<text transform="translate({_f(cx)},{_f(cy)}) rotate(-90)" text-anchor="middle"'
                f' font-size="11" fill="{TICK_TEXT}">{escape(title)}</text>'
            )

    def auto_y_axis(self, kind: str = "amount", title: str = "", signed: bool = False) -> None:
        """Ticks and labels for the current y range: ``amount``, ``pct`` or ``plain``."""
        ticks = log_ticks(self.lo, self.hi) if self.log else nice_ticks(self.lo, self.hi)
        if kind == "pct":
            fmt = pct_format(ticks, signed)
        elif kind == "plain":
            fmt = amount_format(ticks)
        else:
            fmt = amount_format(ticks) if not self.log else (lambda v: f"{v:,.{0 if v >= 10 else 2}f}")
        self.y_axis(ticks, fmt, title)


class Chart:
    """A chart of ``width`` × ``height`` px with stacked panels sharing one x scale."""

    def __init__(
        self,
        width: float = 1000,
        height: float = 300,
        *,
        left: float = LEFT,
        right: float = RIGHT,
        top: float = 30,
        bottom: float = 34,
        title: str = "",
    ):
        self.width, self.height = width, height
        self.left, self.right, self.top, self.bottom = left, right, top, bottom
        self.title = title
        self.x_lo, self.x_hi = 0.0, 1.0
        self.panels: list[Panel] = []
        self.back: list[str] = []
        self.front: list[str] = []
        self.legend_items: list[tuple[str, str, str]] = []
        self.legend_note = ""

    @property
    def plot_width(self) -> float:
        return self.width - self.left - self.right

    def add_panels(self, weights: Sequence[float], gap: float = 14) -> list[Panel]:
        """Panels stacked top to bottom, their heights in proportion to ``weights``."""
        usable = self.height - self.top - self.bottom - gap * (len(weights) - 1)
        y = self.top
        total = float(sum(weights))
        for weight in weights:
            h = usable * weight / total
            self.panels.append(Panel(self, y, h))
            y += h + gap
        return self.panels

    def panel(self) -> Panel:
        return self.add_panels([1.0])[0]

    def set_x(self, lo: float, hi: float, pad: float = 0.0) -> None:
        if hi <= lo:
            hi = lo + 1
        span = hi - lo
        self.x_lo, self.x_hi = lo - span * pad, hi + span * pad

    def px(self, values) -> np.ndarray:
        v = np.asarray(values, dtype=np.float64)
        return self.left + (v - self.x_lo) / (self.x_hi - self.x_lo) * self.plot_width

    def text_el(
        self,
        x: float,
        y: float,
        text: str,
        *,
        size: float = FONT_SIZE,
        color: str = INK,
        anchor: str = "start",
        weight: str = "",
        halo: bool = False,
    ) -> str:
        extra = f' font-weight="{weight}"' if weight else ""
        if anchor != "start":
            extra += f' text-anchor="{anchor}"'
        head = f'<text x="{_f(x)}" y="{_f(y)}" font-size="{size:g}"'
        body = f"{extra}>{escape(text)}</text>"
        if halo:
            # a white outline under the text, as a separate element: paint-order is
            # not understood everywhere (WeasyPrint would paint the outline over it)
            return f'{head} fill="white" stroke="white" stroke-width="3"{body}{head} fill="{color}"{body}'
        return f'{head} fill="{color}"{body}'

    def time_axis(self, label: str | None = None) -> None:
        """Ticks and concise labels along the bottom panel's lower edge, gridlines
        through every panel; ``label`` defaults to the years covered, in UTC."""
        ticks, labels = time_ticks(int(self.x_lo), int(self.x_hi))
        self.x_axis(
            ticks, labels, label if label is not None else year_span_label(int(self.x_lo), int(self.x_hi))
        )

    def x_axis(self, ticks, labels: Sequence[str], title: str = "") -> None:
        px = self.px(ticks)
        bottom = self.panels[-1]
        base = bottom.y0 + bottom.h
        grid = "".join(f"M{_f(x)},{_f(p.y0)}V{_f(p.y0 + p.h)}" for x in px.tolist() for p in self.panels)
        if grid:
            self.back.append(f'<path d="{grid}" stroke="{GRID}" stroke-width="1"/>')
        self.front.append(
            f'<path d="M{_f(self.left)},{_f(base)}H{_f(self.left + self.plot_width)}" stroke="{AXIS}"/>'
        )
        for x, text in zip(px.tolist(), labels, strict=True):
            self.front.append(self.text_el(x, base + 15, text, size=11, color=TICK_TEXT, anchor="middle"))
        if title:
            self.front.append(
                self.text_el(
                    self.left + self.plot_width, base + 30, title, size=11, color=TICK_TEXT, anchor="end"
                )
            )

    def legend(self, label: str, color: str, kind: str = "line") -> None:
        """A legend entry (``line``, ``area``, ``dash``, ``up``, ``down``, ``circle``,
        ``x``, ``star``), drawn in one row above the top panel."""
        self.legend_items.append((label, color, kind))

    def _legend_svg(self) -> tuple[str, int]:
        """The legend entries in rows above the top panel (wrapping at the plot's
        width), then the note; returns (svg, the number of rows beyond the first)."""
        if not self.legend_items and not self.legend_note:
            return "", 0
        right = self.left + self.plot_width
        x, y = self.left, 16.0
        out = []
        for label, color, kind in self.legend_items:
            width = 22 + text_width(label, 11)
            if x > self.left and x + width > right:
                x, y = self.left, y + 17
            if kind in ("line", "dash"):
                dash = ' stroke-dasharray="5,3"' if kind == "dash" else ""
                out.append(f'<path d="M{_f(x)},{_f(y - 4)}h18" stroke="{color}" stroke-width="2"{dash}/>')
            elif kind == "area":
                out.append(f'<path d="M{_f(x)},{_f(y - 9)}h16v10h-16Z" fill="{color}" fill-opacity="0.5"/>')
            else:
                out.append(_marker_path(kind, x + 8, y - 4, color))
            out.append(self.text_el(x + 22, y, label, size=11, color=TICK_TEXT))
            x += width + 16
        if self.legend_note:
            if x + text_width(self.legend_note, 10) > right:
                y += 17
            out.append(self.text_el(right, y, self.legend_note, size=10, color=TICK_TEXT, anchor="end"))
        return "".join(out), int((y - 16.0) // 17)

    def render(self, css_class: str = "chart-svg", label: str = "") -> str:
        body = [*self.back]
        for panel in self.panels:
            body.extend(panel.parts)
        body.extend(self.front)
        for panel in self.panels:
            body.extend(panel.overlay)
        legend, extra_rows = self._legend_svg()
        shift = 17 * extra_rows
        content = "".join(body)
        if shift:
            # a legend of several rows pushes the plot down instead of covering it
            content = f'<g transform="translate(0,{shift})">{content}</g>'
        aria = f' role="img" aria-label="{escape(label)}"' if label else ""
        return (
            f'<svg class="{css_class}" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {_f(self.width)}'
            f' {_f(self.height + shift)}" font-family="{FONT}"{aria}>' + content + legend + "</svg>"
        )


# a five-pointed star as offsets from its top point, in units of the marker size
_STAR = np.array(
    [
        (np.sin(a) * r, -np.cos(a) * r)
        for k in range(10)
        for a, r in [(k * np.pi / 5, 1.25 if k % 2 == 0 else 0.5)]
    ]
)


def _marker_template(shape: str, s: float) -> str:
    """A ``str.format`` template of one marker of ``shape`` centred at {x},{y}
    ({xl} = x − s, {yt} = y − s)."""
    if shape == "up":
        return f"M{{x}},{{yt}}l{_f(s)},{_f(s * 1.7)}h{_f(-2 * s)}Z"
    if shape == "down":
        return f"M{{xl}},{{yt}}h{_f(2 * s)}l{_f(-s)},{_f(s * 1.7)}Z"
    if shape == "circle":
        return f"M{{xl}},{{y}}a{_f(s)},{_f(s)} 0 1,0 {_f(2 * s)},0a{_f(s)},{_f(s)} 0 1,0 {_f(-2 * s)},0"
    if shape == "x":
        return f"M{{xl}},{{yt}}l{_f(2 * s)},{_f(2 * s)}m0,{_f(-2 * s)}l{_f(-2 * s)},{_f(2 * s)}"
    if shape == "star":
        steps = np.diff(_STAR * s, axis=0)
        top = _STAR[0] * s
        moves = "".join(f"l{_f(dx)},{_f(dy)}" for dx, dy in steps.tolist())
        return f"M{{x}},{{y}}m{_f(top[0])},{_f(top[1])}{moves}Z"
    raise ValueError(f"unknown marker shape {shape!r}")


def _marker_path(kind: str, x: float, y: float, color: str) -> str:
    chart = Chart(100, 100, left=0, right=0, top=0, bottom=0)
    panel = chart.panel()
    panel.lo, panel.hi = 0.0, 100.0
    chart.x_lo, chart.x_hi = 0.0, 100.0
    panel.markers(
        [x], [100 - y], kind if kind != "hollow" else "circle", color, size=4.0, hollow=kind == "hollow"
    )
    return panel.parts[0] if panel.parts else ""

"""``Chart``: a chart of stacked ``Panel``s sharing one x scale, serialised to an
``<svg>`` string (see ``reports.svg`` for the geometry). Framework-free: numpy only."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from html import escape

import numpy as np

from reports.svg import (
    AXIS,
    FONT,
    FONT_SIZE,
    GRID,
    INK,
    LEFT,
    RIGHT,
    TICK_TEXT,
    _f,
    marker_template,
    path_data,
    text_width,
)
from reports.svg_axes import amount_format, log_ticks, nice_ticks, pct_format, time_ticks, year_span_label


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
        tmpl = marker_template(shape, size)
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


def _marker_path(kind: str, x: float, y: float, color: str) -> str:
    chart = Chart(100, 100, left=0, right=0, top=0, bottom=0)
    panel = chart.panel()
    panel.lo, panel.hi = 0.0, 100.0
    chart.x_lo, chart.x_hi = 0.0, 100.0
    panel.markers(
        [x], [100 - y], kind if kind != "hollow" else "circle", color, size=4.0, hollow=kind == "hollow"
    )
    return panel.parts[0] if panel.parts else ""

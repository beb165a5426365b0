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

Three modules, bottom up: this one (the look shared by every chart: fonts, colours,
margins, and the path and marker primitives), ``svg_axes`` (tick positions and their
labels) and ``svg_chart`` (``Chart`` and its ``Panel``s). Framework-free: numpy only.
"""

from __future__ import annotations

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


# a five-pointed star as offsets from its top point, in units of the marker size
_STAR = np.array(
    [
        (np.sin(a) * r, -np.cos(a) * r)
        for k in range(10)
        for a, r in [(k * np.pi / 5, 1.25 if k % 2 == 0 else 0.5)]
    ]
)


def marker_template(shape: str, s: float) -> str:
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

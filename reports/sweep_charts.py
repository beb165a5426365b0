"""Sweep report charts: numpy arrays in, inline SVG out (``reports.svg``, like the run
report's charts, so a sweep page and a run page read alike)."""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib as mpl
import numpy as np

from reports.charts import COLOR_GAIN, COLOR_LINE, COLOR_MUTED, NothingToDraw, finish
from reports.format import metric_label, metric_value
from reports.svg import _f
from reports.svg_axes import nice_ticks
from reports.svg_chart import Chart

__all__ = ["NothingToDraw", "cell_edges", "generations_svg", "heatmap_svg", "in_out_sample_svg"]

EMPTY_CELL = "#f3f4f6"


def _label(value) -> str:
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def _numeric(values: Sequence) -> bool:
    return bool(values) and all(isinstance(v, int | float) and not isinstance(v, bool) for v in values)


def cell_edges(values: Sequence) -> np.ndarray:
    """Edges of the cells of an axis: for numbers, halfway between neighbouring values
    (the ends mirrored), so each cell sits at its value's true position and unevenly
    spaced values (a genetic search's) keep their spacing; otherwise one unit a value."""
    if not _numeric(values):
        return np.arange(len(values) + 1, dtype=np.float64) - 0.5
    v = np.asarray(values, dtype=np.float64)
    if v.shape[0] == 1:
        half = abs(float(v[0])) * 0.05 or 0.5
        return np.array([v[0] - half, v[0] + half])
    mid = (v[1:] + v[:-1]) / 2
    return np.concatenate([[v[0] - (mid[0] - v[0])], mid, [v[-1] + (v[-1] - mid[-1])]])


def _viridis(values: np.ndarray, lo: float, hi: float) -> list[str]:
    flat = np.ravel(np.asarray(values, dtype=np.float64))
    scaled = (flat - lo) / (hi - lo) if hi > lo else np.full(flat.shape, 0.5)
    return [mpl.colors.to_hex(c) for c in mpl.colormaps["viridis"](np.clip(scaled, 0, 1))]


def _axis_ticks(values: Sequence, edges: np.ndarray, limit: int = 12) -> tuple[np.ndarray, list[str]]:
    if _numeric(values) and len(values) > limit:
        ticks = nice_ticks(float(edges[0]), float(edges[-1]), 8)
        return ticks, [f"{t:g}" for t in ticks]
    centres = (edges[1:] + edges[:-1]) / 2
    step = max(1, len(values) // limit)
    return centres[::step], [_label(v) for v in list(values)[::step]]


def heatmap_svg(
    x_values: Sequence, y_values: Sequence, cells: np.ndarray, *, x_name: str, y_name: str, metric: str
) -> str:
    """``cells[j, i]``: the best ``metric`` over the other parameters at (x_values[i],
    y_values[j]); NaN where no trial (or only undefined ones) landed, drawn light grey
    and named in the legend. Numeric axes are to scale (``cell_edges``)."""
    cells = np.asarray(cells, dtype=np.float64)
    if cells.size == 0 or not np.isfinite(cells).any():
        raise NothingToDraw(
            f"No trial has a defined {metric_label(metric)} to map over {x_name} and {y_name}."
        )
    ex, ey = cell_edges(list(x_values)), cell_edges(list(y_values))
    height = min(620.0, max(260.0, 18.0 * len(y_values) + 110))
    chart = Chart(1000, height, right=110, top=34, bottom=44)
    panel = chart.panel()
    chart.set_x(float(ex[0]), float(ex[-1]))
    panel.set_y(float(ey[0]), float(ey[-1]), pad=0.0)
    finite = cells[np.isfinite(cells)]
    lo, hi = float(finite.min()), float(finite.max())
    colours = _viridis(np.nan_to_num(cells, nan=lo), lo, hi)
    px, py = chart.px(ex), panel.py(ey)
    rects = []
    n_x = len(x_values)
    for k, value in enumerate(cells.ravel().tolist()):
        j, i = divmod(k, n_x)
        fill = colours[k] if np.isfinite(value) else EMPTY_CELL
        x0, x1, y1, y0 = px[i], px[i + 1], py[j], py[j + 1]
        rects.append(
            f'<rect x="{_f(x0)}" y="{_f(y0)}" width="{_f(max(x1 - x0, 0.5))}"'
            f' height="{_f(max(y1 - y0, 0.5))}" fill="{fill}"/>'
        )
    panel.parts.extend(rects)
    xt, xl = _axis_ticks(list(x_values), ex)
    chart.x_axis(xt, xl, x_name)
    yt, yl = _axis_ticks(list(y_values), ey)
    panel.y_axis(yt, dict(zip(yt.tolist(), yl, strict=True)).get, y_name)
    # the colour scale: a vertical gradient bar at the right with its end values
    bar_x = chart.left + chart.plot_width + 24
    steps = 24
    stops = _viridis(np.linspace(lo, hi, steps), lo, hi)
    h = panel.h / steps
    for s, colour in enumerate(stops):
        y = panel.y0 + panel.h - (s + 1) * h
        box = f'x="{_f(bar_x)}" y="{_f(y)}" width="14" height="{_f(h + 0.5)}"'
        chart.front.append(f'<rect {box} fill="{colour}"/>')
    chart.front.append(chart.text_el(bar_x + 18, panel.y0 + 10, metric_value(metric, hi), size=10))
    chart.front.append(chart.text_el(bar_x + 18, panel.y0 + panel.h, metric_value(metric, lo), size=10))
    chart.legend(f"best {metric_label(metric)} over the other parameters", "#21918c", "area")
    if not np.isfinite(cells).all():
        chart.legend("no trial evaluated (not sampled, or excluded by a constraint)", "#d1d5db", "area")
    return finish(chart, f"Heatmap of {metric_label(metric)}")


def generations_svg(stats: Sequence[dict], *, metric: str) -> str:
    """Best and mean objective per generation of a genetic sweep, and the best so far."""
    if not stats:
        raise NothingToDraw("No generation has been evaluated yet.")
    gen = np.array([s["generation"] for s in stats], dtype=np.float64)

    def column(key: str) -> np.ndarray:
        return np.array([np.nan if s.get(key) is None else s[key] for s in stats], dtype=np.float64)

    best, mean, so_far = column("best"), column("mean"), column("best_so_far")
    chart = Chart(1000, 280)
    panel = chart.panel()
    chart.set_x(float(gen[0]), float(max(gen[-1], gen[0] + 1)))
    finite = np.concatenate([best, mean, so_far])
    finite = finite[np.isfinite(finite)]
    panel.set_y(float(finite.min()) if finite.size else 0.0, float(finite.max()) if finite.size else 1.0)
    panel.line(gen, mean, COLOR_MUTED, 1.2, dash="5,3")
    panel.line(gen, best, COLOR_LINE, 1.2)
    panel.markers(gen, best, "circle", COLOR_LINE, size=2.2)
    panel.line(gen, so_far, COLOR_GAIN, 2.0)
    panel.auto_y_axis("plain", metric_label(metric))
    ticks = nice_ticks(float(gen[0]), float(gen[-1]), 8)
    ticks = ticks[np.isclose(ticks, np.round(ticks))]
    chart.x_axis(ticks, [f"{t:.0f}" for t in ticks], "generation")
    chart.legend("best of generation", COLOR_LINE)
    chart.legend("mean of generation", COLOR_MUTED, "dash")
    chart.legend("best so far", COLOR_GAIN)
    return finish(chart, "Objective by generation")


def in_out_sample_svg(
    labels: Sequence[str], in_sample: Sequence, out_sample: Sequence, *, metric: str
) -> str:
    """Grouped bars of ``metric`` in sample and out of sample for the top combinations."""
    if not labels:
        raise NothingToDraw("No combination has been tested out of sample.")
    ins = np.array([np.nan if v is None else v for v in in_sample], dtype=np.float64)
    outs = np.array([np.nan if v is None else v for v in out_sample], dtype=np.float64)
    n = len(labels)
    chart = Chart(1000, 280)
    panel = chart.panel()
    chart.set_x(-0.6, n - 0.4)
    both = np.concatenate([np.nan_to_num(ins), np.nan_to_num(outs), [0.0]])
    panel.set_y(float(both.min()), float(both.max()))
    x = np.arange(n, dtype=np.float64)
    for offset, values, colour in ((-0.2, ins, COLOR_LINE), (0.2, outs, COLOR_GAIN)):
        panel.bars(x + offset - 0.19, x + offset + 0.19, np.nan_to_num(values), colour)
    panel.hline(0.0, COLOR_MUTED)
    panel.auto_y_axis("plain", metric_label(metric))
    chart.x_axis(x, list(labels), "rank (trial number in this sweep)")
    chart.legend("in sample", COLOR_LINE, "area")
    chart.legend("out of sample", COLOR_GAIN, "area")
    return finish(chart, "In sample against out of sample")

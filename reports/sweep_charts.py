"""Sweep report charts: numpy arrays in, inline SVG out (matplotlib ``Figure``, no pyplot).

The look (rc settings, colours, SVG clean-up) is the run reports' own
(``reports.charts``), so a sweep page and a run page read alike.
"""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib as mpl
import numpy as np
from matplotlib.figure import Figure

from reports.charts import COLOR_GAIN, COLOR_LINE, COLOR_MUTED, RC, NothingToDraw, svg_from_figure

__all__ = ["NothingToDraw", "generations_svg", "heatmap_svg", "in_out_sample_svg"]


def _figure(width: float, height: float) -> tuple[Figure, object]:
    with mpl.rc_context(RC):
        fig = Figure(figsize=(width, height), layout="constrained")
        return fig, fig.add_subplot()


def _label(value) -> str:
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def heatmap_svg(
    x_values: Sequence, y_values: Sequence, cells: np.ndarray, *, x_name: str, y_name: str, metric: str
) -> str:
    """``cells[j, i]``: the best ``metric`` over the other parameters at (x_values[i],
    y_values[j]); NaN where no trial (or only undefined ones) landed."""
    cells = np.asarray(cells, dtype=np.float64)
    if cells.size == 0 or not np.isfinite(cells).any():
        raise NothingToDraw(f"No trial has a defined {metric} to map over {x_name} and {y_name}.")
    # as wide as the report's charts, so its text is drawn at the same size on the page
    width = 10.0
    height = min(9.0, max(3.0, 0.28 * len(y_values) + 1.5))
    fig, ax = _figure(width, height)
    with mpl.rc_context(RC):
        masked = np.ma.masked_invalid(cells)
        image = ax.imshow(masked, origin="lower", aspect="auto", cmap="viridis", interpolation="nearest")
        ax.grid(False)
        step_x = max(1, len(x_values) // 20)
        step_y = max(1, len(y_values) // 20)
        ax.set_xticks(range(0, len(x_values), step_x), [_label(v) for v in x_values][::step_x])
        ax.set_yticks(range(0, len(y_values), step_y), [_label(v) for v in y_values][::step_y])
        ax.set_xlabel(x_name)
        ax.set_ylabel(y_name)
        bar = fig.colorbar(image, ax=ax, shrink=0.9)
        bar.set_label(f"best {metric}")
    return svg_from_figure(fig, "heat")


def generations_svg(stats: Sequence[dict], *, metric: str) -> str:
    """Best and mean objective per generation of a genetic sweep, and the best so far."""
    if not stats:
        raise NothingToDraw("No generation has been evaluated yet.")
    gen = np.array([s["generation"] for s in stats], dtype=np.int64)

    def column(key: str) -> np.ndarray:
        return np.array([np.nan if s.get(key) is None else s[key] for s in stats], dtype=np.float64)

    fig, ax = _figure(10.0, 3.2)
    with mpl.rc_context(RC):
        ax.plot(gen, column("best"), color=COLOR_LINE, marker="o", markersize=2.5, label="best of generation")
        ax.plot(gen, column("mean"), color=COLOR_MUTED, linestyle="--", label="mean of generation")
        ax.plot(gen, column("best_so_far"), color=COLOR_GAIN, linewidth=1.6, label="best so far")
        ax.set_xlabel("generation")
        ax.set_ylabel(metric)
        ax.legend(loc="lower left", bbox_to_anchor=(0.0, 1.0), ncols=3, borderaxespad=0.2)
    return svg_from_figure(fig, "gens")


def in_out_sample_svg(
    labels: Sequence[str], in_sample: Sequence, out_sample: Sequence, *, metric: str
) -> str:
    """Grouped bars of ``metric`` in sample and out of sample for the top combinations."""
    if not labels:
        raise NothingToDraw("No combination has been tested out of sample.")
    ins = np.array([np.nan if v is None else v for v in in_sample], dtype=np.float64)
    outs = np.array([np.nan if v is None else v for v in out_sample], dtype=np.float64)
    x = np.arange(len(labels))
    fig, ax = _figure(min(12.0, max(5.0, 0.6 * len(labels) + 2.0)), 3.2)
    with mpl.rc_context(RC):
        ax.bar(x - 0.2, np.nan_to_num(ins), width=0.4, color=COLOR_LINE, label="in sample")
        ax.bar(x + 0.2, np.nan_to_num(outs), width=0.4, color=COLOR_GAIN, label="out of sample")
        ax.axhline(0.0, color=COLOR_MUTED, linewidth=0.7)
        ax.set_xticks(x, list(labels))
        ax.set_xlabel("rank (trial id)")
        ax.set_ylabel(metric)
        ax.legend(loc="lower left", bbox_to_anchor=(0.0, 1.0), ncols=2, borderaxespad=0.2)
    return svg_from_figure(fig, "ioos")

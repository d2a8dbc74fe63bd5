"""PNG figures of metric curves against generator iterations: one panel per metric, one line per run.

    plot_runs(runs, labels, ["val/fid", "val/kid"], Path("curves.png"), title="wgan sweep")
    plot_groups(groups, labels, ["val/fid"], Path("curves_mean.png"), title="...", band=True)

A line keeps its colour and line style in every panel, and one legend below the panels names
them all, so the figure stays readable with many runs: ten colours times four line styles tell
forty lines apart. Evaluations are sparse, so every point is marked. Figures are drawn by
Matplotlib's Agg canvas straight into files: no display needed, and pyplot's global state stays
untouched.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

from matplotlib import colormaps
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from ganarena.report.runs import Run
from ganarena.report.summary import HIGHER, LOWER, Group, direction, mean_curve

COLOURS = colormaps["tab10"].colors
LINE_STYLES = ("-", "--", "-.", ":")
PANEL_SIZE = (5.0, 3.4)  # inches
MAX_PANEL_COLUMNS = 3
WHICH_WAY = {LOWER: " (lower is better)", HIGHER: " (higher is better)", None: ""}


@dataclass
class Line:
    style: int  # index of the line's colour and style, the same in every panel
    iterations: list[int]
    values: list[float]
    stds: list[float] | None = None  # a shaded band of ± one std around the values


def style(index: int) -> dict:
    return {
        "color": COLOURS[index % len(COLOURS)],
        "linestyle": LINE_STYLES[index // len(COLOURS) % len(LINE_STYLES)],
        "marker": "o",
        "markersize": 3,
        "linewidth": 1.4,
    }


def plot_runs(runs: list[Run], labels: list[str], columns: list[str], path: Path, title: str) -> None:
    panels = {
        column: [
            Line(index, run.curves[column].iterations, run.curves[column].values)
            for index, run in enumerate(runs)
            if column in run.curves
        ]
        for column in columns
    }
    draw(panels, labels, path, title)


def plot_groups(
    groups: list[Group], labels: list[str], columns: list[str], path: Path, title: str, band: bool = True
) -> None:
    panels: dict[str, list[Line]] = {}
    for column in columns:
        panels[column] = []
        for index, group in enumerate(groups):
            curves = [run.curves[column] for run in group.runs if column in run.curves]
            if curves:
                mean = mean_curve(curves)
                panels[column].append(Line(index, mean.iterations, mean.means, mean.stds if band else None))
    draw(panels, labels, path, title)


def draw(panels: dict[str, list[Line]], labels: list[str], path: Path, title: str) -> None:
    """One panel per entry of `panels`, a legend of `labels` (by style index) below them, saved to `path`."""
    columns = min(MAX_PANEL_COLUMNS, len(panels))
    rows = math.ceil(len(panels) / columns)
    figure = Figure(figsize=(PANEL_SIZE[0] * columns, PANEL_SIZE[1] * rows), layout="constrained")
    FigureCanvasAgg(figure)  # drawn straight into a file: no pyplot, no display, no global backend
    axes = figure.subplots(rows, columns, squeeze=False)
    for axis, (column, lines) in zip(axes.flat, panels.items(), strict=False):
        for line in lines:
            axis.plot(line.iterations, line.values, **style(line.style))
            if line.stds is not None:
                low = [m - s for m, s in zip(line.values, line.stds, strict=True)]
                high = [m + s for m, s in zip(line.values, line.stds, strict=True)]
                axis.fill_between(line.iterations, low, high, color=style(line.style)["color"], alpha=0.15, linewidth=0)
        axis.set_title(column + WHICH_WAY[direction(column)], fontsize="medium")
        axis.set_xlabel("generator iterations")
        axis.grid(alpha=0.3)
    for axis in axes.flat[len(panels) :]:
        axis.set_visible(False)
    handles = [Line2D([], [], **style(index)) for index in range(len(labels))]
    # As many legend columns as the figure's width holds: a line sample plus the text at small font.
    entry_width = 0.7 + 0.075 * max(map(len, labels), default=0)  # inches
    figure.legend(
        handles,
        labels,
        loc="outside lower center",
        ncols=max(1, min(len(labels), int(PANEL_SIZE[0] * columns // entry_width))),
        fontsize="small",
        frameon=False,
    )
    figure.suptitle(title)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=110, bbox_inches="tight")  # a label wider than the panels still fits

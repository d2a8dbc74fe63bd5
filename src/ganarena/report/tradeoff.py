"""The quality/diversity trade-off at a glance: precision against recall, density against coverage.

    plot_tradeoffs(groups, labels, Path("tradeoff.png"), title="sweep")   # one point per group of runs

Each point is a group's mean of its runs' final values, with error bars of one sample standard
deviation over the runs (over seeds with `--aggregate seed`); without aggregation every run is a
group of one. A panel is drawn for each pair whose two metrics the runs logged: up and to the
right is better in both.
"""

from __future__ import annotations

from pathlib import Path

from matplotlib import colormaps
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from ganarena.report.summary import Group, Spread

PAIRS = (("val/recall", "val/precision"), ("val/coverage", "val/density"))
COLOURS = colormaps["tab10"].colors
MARKERS = "osD^v<>pPX"


def tradeoff_pairs(columns: list[str]) -> list[tuple[str, str]]:
    return [(x, y) for x, y in PAIRS if x in columns and y in columns]


def final_spread(group: Group, column: str) -> Spread | None:
    return group.spreads(column)[0]


def plot_tradeoffs(groups: list[Group], labels: list[str], columns: list[str], path: Path, title: str) -> bool:
    """Draw the panels the columns allow; False (and no file) when none."""
    pairs = tradeoff_pairs(columns)
    if not pairs:
        return False
    figure = Figure(figsize=(5.0 * len(pairs), 4.6), layout="constrained")
    FigureCanvasAgg(figure)
    for panel, (x, y) in enumerate(pairs):
        axes = figure.add_subplot(1, len(pairs), panel + 1)
        for index, (group, label) in enumerate(zip(groups, labels, strict=True)):
            xs, ys = final_spread(group, x), final_spread(group, y)
            if xs is None or ys is None:
                continue
            axes.errorbar(
                xs.mean,
                ys.mean,
                xerr=xs.std or 0.0,
                yerr=ys.std or 0.0,
                fmt=MARKERS[index // len(COLOURS) % len(MARKERS)],
                color=COLOURS[index % len(COLOURS)],
                capsize=3,
                label=f"{label} (n={min(xs.n, ys.n)})",
            )
        axes.set_xlabel(f"{x} (final)")
        axes.set_ylabel(f"{y} (final)")
        axes.grid(alpha=0.3)
    figure.suptitle(title)
    handles, names = figure.axes[0].get_legend_handles_labels()
    figure.legend(handles, names, loc="outside lower center", ncols=2, fontsize="small")
    figure.savefig(path, dpi=100)
    return True

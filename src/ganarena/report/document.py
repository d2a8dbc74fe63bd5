"""The whole report: read the runs under some paths, choose the metrics, write markdown and figures.

    report = write_report([Path("logs/multiruns/2026-11-23_10-00-00")], aggregate=("seed",))
    print(report.text)       # what report.md holds

Files written to `out` (default: the first path): report.md, curves.png (one line per run), with
`aggregate` curves_mean.png (one line per group: the mean over its runs, ± one std shaded), and
when the runs logged precision and recall (or density and coverage) tradeoff.png (one point per
group, error bars over its runs).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ganarena.errors import ArenaError
from ganarena.report.plots import plot_groups, plot_runs
from ganarena.report.runs import EVALUATION_PREFIX, Run, Skipped, override_key, read_runs
from ganarena.report.success import SuccessRule, success_table
from ganarena.report.summary import Group, group_runs, label_runs
from ganarena.report.tables import Protocols, groups_table, runs_table
from ganarena.report.tradeoff import plot_tradeoffs

REPORT_FILE = "report.md"
CURVES_FILE = "curves.png"
MEAN_CURVES_FILE = "curves_mean.png"
TRADEOFF_FILE = "tradeoff.png"

RUNS_NOTE = (
    "*final*: the last logged value; *best*: the best one and the generator iteration it was reached at"
    " (↓ lower is better, ↑ higher); *iterations*: generator iterations reached;"
    " *wall time*: from the run's first file to its last log or checkpoint write."
)

PROTOCOLS_NOTE = "Values are comparable between runs of one protocol."


@dataclass
class Report:
    text: str
    files: list[Path] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    columns: list[str] = field(default_factory=list)  # the val/* metrics reported


def choose_columns(runs: list[Run], requested: list[str] | None) -> list[str]:
    """`requested` as full column names (`fid` is `val/fid`), or every val/* column any run logged."""
    logged = sorted({column for run in runs for column in run.curves})
    if requested is None:
        return [column for column in logged if column.startswith(EVALUATION_PREFIX)]
    columns = list(dict.fromkeys(name if "/" in name else EVALUATION_PREFIX + name for name in requested))
    unknown = [column for column in columns if column not in logged]
    if unknown:
        raise ArenaError(
            f"--metrics: no run logged {', '.join(unknown)}; the runs logged {', '.join(logged) or 'nothing'}"
        )
    return columns


def check_aggregate_keys(runs: list[Run], keys: tuple[str, ...]) -> None:
    """A key no run overrides is a typo: grouping by it would leave every group as it was."""
    overridden = sorted({override_key(o) for run in runs for o in run.overrides or ()})
    unknown = [key for key in keys if key not in overridden]
    if unknown:
        raise ArenaError(
            f"--aggregate: no run overrides {', '.join(unknown)};"
            f" the runs override {', '.join(overridden) or 'nothing'}"
        )


def figure_title(title: str, common: tuple[str, ...]) -> str:
    """The title, and below it the overrides the legend leaves out because every line shares them."""
    return f"{title}\n{' '.join(common)}" if common else title


def write_report(
    paths: list[Path],
    out: Path | None = None,
    metrics: list[str] | None = None,
    aggregate: tuple[str, ...] = (),
    title: str | None = None,
    band: bool = True,
    success: SuccessRule | None = None,
) -> Report:
    runs, skipped = read_runs(paths)
    columns = choose_columns(runs, metrics)
    check_aggregate_keys(runs, aggregate)
    out = out or paths[0]
    out.mkdir(parents=True, exist_ok=True)
    title = title or f"Runs under {', '.join(map(str, paths))}"
    report = Report("", files=[out / REPORT_FILE], skipped=skipped, columns=columns)

    common, labels = label_runs([run.overrides for run in runs])
    protocols = Protocols(runs)
    overview = f"{len(runs)} run{'s' if len(runs) != 1 else ''}."
    if common:
        overview += f" Overrides common to all: `{' '.join(common)}`."
    if not columns:
        overview += " No run logged an evaluation (val/*), so there are no metric columns or curves."
    sections = [f"# {title}", overview, "## Runs", runs_table(runs, labels, columns, protocols), RUNS_NOTE]
    if protocols:
        sections += ["## Evaluation protocols", PROTOCOLS_NOTE, protocols.listing()]
    figures = []
    if columns:
        plot_runs(runs, labels, columns, out / CURVES_FILE, figure_title(title, common))
        report.files.append(out / CURVES_FILE)
        figures.append(f"![Curves of every run]({CURVES_FILE})")
    if aggregate:
        sections += report_groups(runs, aggregate, columns, protocols)
        if columns:
            plot_mean_curves(runs, aggregate, columns, out / MEAN_CURVES_FILE, title, band)
            report.files.append(out / MEAN_CURVES_FILE)
            figures.append(f"![Mean curves over {', '.join(aggregate)}]({MEAN_CURVES_FILE})")
    groups = group_runs(runs, aggregate)
    group_labels = label_runs([group.overrides for group in groups])[1]
    if plot_tradeoffs(groups, group_labels, columns, out / TRADEOFF_FILE, figure_title(title, common)):
        report.files.append(out / TRADEOFF_FILE)
        figures.append(f"![Quality against diversity, final values]({TRADEOFF_FILE})")
    if success is not None:
        groups = group_runs(runs, aggregate) if aggregate else [Group(None, runs)]
        group_labels = label_runs([g.overrides for g in groups])[1] if aggregate else ["(all runs)"]
        sections += [f"## Success: {success}", success_table(groups, group_labels, success)]
    if figures:
        sections += ["## Curves", *figures]
    if skipped:
        sections.append("Skipped:\n" + "\n".join(f"- {s.path}: {s.reason}" for s in skipped))
    report.text = "\n\n".join(sections) + "\n"
    (out / REPORT_FILE).write_text(report.text)
    return report


def report_groups(runs: list[Run], keys: tuple[str, ...], columns: list[str], protocols: Protocols) -> list[str]:
    """The heading, table and notes of the groups of runs that differ only in `keys`."""
    groups = group_runs(runs, keys)
    common, labels = label_runs([group.overrides for group in groups])
    note = (
        f"Runs whose overrides differ only in {', '.join(keys)} form a group: mean ± sample standard deviation"
        " over its runs of the final and of the best values, (n=k) where only k of them had a finite value;"
        " *iterations*: their range; *wall time*: the mean."
    )
    if common:
        note += f" Overrides common to all groups: `{' '.join(common)}`."
    return [f"## Mean ± std over {', '.join(keys)}", groups_table(groups, labels, columns, protocols), note]


def plot_mean_curves(
    runs: list[Run], keys: tuple[str, ...], columns: list[str], path: Path, title: str, band: bool
) -> None:
    groups = group_runs(runs, keys)
    common, labels = label_runs([group.overrides for group in groups])
    sized = [f"{label} (n={len(group.runs)})" for group, label in zip(groups, labels, strict=True)]
    plot_groups(groups, sized, columns, path, figure_title(f"{title}: mean over {', '.join(keys)}", common), band)

"""Markdown tables of runs and of groups of runs, and the list of evaluation protocols.

    protocols = Protocols(runs)                       # A, B, ...: one letter per distinct protocol
    runs_table(runs, labels, ["val/fid"], protocols)  # one row per run: final and best values
    groups_table(groups, labels, ["val/fid"], protocols)  # one row per group: mean ± std

Numbers keep four significant digits, a standard deviation two; a missing value is "-". A best
value carries the iteration it was reached at (`12.3 @4000`); the header arrow says which way
is better, and a metric with no better side (kid_std) has a final column only.
"""

from __future__ import annotations

import json
import math
import string
from typing import Any

from ganarena.report.runs import Run
from ganarena.report.summary import HIGHER, LOWER, Group, Spread, direction, summarize

MISSING = "-"
ARROWS = {LOWER: " ↓", HIGHER: " ↑"}


def number(value: float) -> str:
    return "nan" if math.isnan(value) else f"{value:.4g}"


def duration(seconds: float | None) -> str:
    """`42s`, `3m 05s`, `2h 03m`."""
    if seconds is None:
        return MISSING
    seconds = round(seconds)
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m {seconds % 60:02d}s"
    return f"{seconds // 3600}h {seconds % 3600 // 60:02d}m"


def spread(value: Spread | None, group_size: int) -> str:
    """`2.1 ± 0.3`; a count is added when some runs of the group had no finite value."""
    if value is None:
        return MISSING
    # Two significant digits of the std say how far to trust the mean's digits.
    text = number(value.mean) if value.std is None else f"{number(value.mean)} ± {value.std:.2g}"
    return text if value.n == group_size else f"{text} (n={value.n})"


def code(overrides: str) -> str:
    return f"`{overrides}`" if overrides and not overrides.startswith("(") else overrides


def metric_name(column: str) -> str:
    return column.removeprefix("val/")


def markdown(header: list[str], rows: list[list[str]]) -> str:
    def line(cells: list[str]) -> str:
        # A pipe inside a cell would end it.
        return "| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |"

    return "\n".join([line(header), line(["---"] * len(header)), *map(line, rows)])


class Protocols:
    """A letter for each distinct evaluation protocol of the runs, in order of first appearance."""

    def __init__(self, runs: list[Run]):
        self.letters: dict[str, str] = {}
        self.described: dict[str, dict[str, dict[str, Any]]] = {}
        for run in runs:
            key = self.key(run)
            if run.protocol and key not in self.letters:
                count = len(self.letters)
                letter = string.ascii_uppercase[count] if count < len(string.ascii_uppercase) else f"P{count + 1}"
                self.letters[key] = letter
                self.described[letter] = run.protocol

    @staticmethod
    def key(run: Run) -> str:
        return json.dumps(run.protocol, sort_keys=True, default=str)

    def __bool__(self) -> bool:
        return bool(self.letters)

    def of(self, runs: list[Run]) -> str:
        letters = dict.fromkeys(self.letters[self.key(run)] for run in runs if run.protocol)
        return ", ".join(letters) or MISSING

    def listing(self) -> str:
        """One line per protocol: each evaluation with its settings."""
        return "\n".join(
            f"- **{letter}**: "
            + "; ".join(
                f"{name} ({', '.join(f'{k}={v}' for k, v in settings.items())})" for name, settings in protocol.items()
            )
            for letter, protocol in self.described.items()
        )


def metric_header(columns: list[str]) -> list[str]:
    """`fid final`, `fid best ↓`, ...: a column whose better side is unknown (kid_std) has no best."""
    header = []
    for column in columns:
        way = direction(column)
        header += [f"{metric_name(column)} final"] + ([f"{metric_name(column)} best{ARROWS[way]}"] if way else [])
    return header


def runs_table(runs: list[Run], labels: list[str], columns: list[str], protocols: Protocols) -> str:
    header = ["run", "overrides", "iterations", "wall time"]
    header += ["protocol"] if protocols else []
    header += metric_header(columns)
    rows = []
    for run, label in zip(runs, labels, strict=True):
        row = [run.name, code(label), str(run.iterations), duration(run.wall_time)]
        row += [protocols.of([run])] if protocols else []
        for column in columns:
            has_best = direction(column) is not None
            if column not in run.curves:
                row += [MISSING] * (1 + has_best)
                continue
            summary = summarize(run.curves[column], column)
            best = summary.best
            row += [number(summary.final.value)]
            row += [MISSING if best is None else f"{number(best.value)} @{best.iteration}"] if has_best else []
        rows.append(row)
    return markdown(header, rows)


def groups_table(groups: list[Group], labels: list[str], columns: list[str], protocols: Protocols) -> str:
    header = ["overrides", "n", "runs", "iterations", "wall time"]
    header += ["protocol"] if protocols else []
    header += metric_header(columns)
    rows = []
    for group, label in zip(groups, labels, strict=True):
        size = len(group.runs)
        reached = sorted({run.iterations for run in group.runs})
        iterations = str(reached[0]) if len(reached) == 1 else f"{reached[0]}-{reached[-1]}"
        times = [run.wall_time for run in group.runs if run.wall_time is not None]
        row = [code(label), str(size), ", ".join(run.name for run in group.runs), iterations]
        row += [duration(sum(times) / len(times) if times else None)]
        row += [protocols.of(group.runs)] if protocols else []
        for column in columns:
            finals, bests = group.spreads(column)
            row += [spread(finals, size)] + ([spread(bests, size)] if direction(column) else [])
        rows.append(row)
    return markdown(header, rows)

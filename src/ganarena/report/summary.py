"""The numbers a report states: final and best values, labels, groups over seeds, mean ± std.

    summarize(curve, "val/fid")        # final and best (lowest) point of a curve
    common, labels = label_runs([run.overrides for run in runs])
    groups = group_runs(runs, keys=("seed",))
    Spread.of([1.0, 2.0, 3.0])         # mean 2, std 1 (sample standard deviation), n 3
    mean_curve([curve_a, curve_b])     # the group's mean and std at each iteration

Values that are not finite (a reverse KL with no mode captured is NaN) can be a final value but
never a best one, and means, standard deviations and counts leave them out.
"""

from __future__ import annotations

import fnmatch
import math
import statistics
from dataclasses import dataclass

from ganarena.report.runs import Curve, Run, override_key

LOWER, HIGHER = "lower", "higher"
CHOOSE_BEST = {LOWER: min, HIGHER: max}

# Which way each metric improves, by pattern of its column (fnmatch); the first match wins. A
# column no pattern matches, or one whose direction is None, has a final value but no best.
DIRECTIONS: dict[str, str | None] = {
    "val/*_std": None,  # the spread of an estimate (KID over subsets): neither better nor worse
    "val/fid": LOWER,
    "val/kid": LOWER,
    "val/fd_*": LOWER,  # Fréchet and kernel distances in another backbone's features
    "val/kd_*": LOWER,
    "val/reverse_kl": LOWER,
    "val/mode_kl": LOWER,
    "val/modes_captured": HIGHER,
    "val/high_quality_percent": HIGHER,
    "val/modes_covered": HIGHER,
}


def direction(column: str) -> str | None:
    """LOWER or HIGHER when one is better for `column`, else None."""
    return next((way for pattern, way in DIRECTIONS.items() if fnmatch.fnmatchcase(column, pattern)), None)


@dataclass
class Point:
    iteration: int
    value: float


@dataclass
class Summary:
    final: Point
    best: Point | None  # None: no direction known, or no finite value


def summarize(curve: Curve, column: str) -> Summary:
    """The last point of `curve`, and its best finite point (the earliest of equals)."""
    final = Point(curve.iterations[-1], curve.values[-1])
    way = direction(column)
    candidates = [Point(i, v) for i, v in zip(curve.iterations, curve.values, strict=True) if math.isfinite(v)]
    if way is None or not candidates:
        return Summary(final, None)
    return Summary(final, CHOOSE_BEST[way](candidates, key=lambda point: point.value))


@dataclass
class Spread:
    mean: float
    std: float | None  # sample standard deviation; None for a single value
    n: int

    @classmethod
    def of(cls, values: list[float]) -> Spread | None:
        """Mean ± std of the finite `values`; None when there are none."""
        kept = [v for v in values if math.isfinite(v)]
        if not kept:
            return None
        return cls(statistics.fmean(kept), statistics.stdev(kept) if len(kept) > 1 else None, len(kept))


def label_runs(overrides: list[tuple[str, ...] | None]) -> tuple[tuple[str, ...], list[str]]:
    """The overrides all share (when there are several), and what sets each apart, as a label."""
    known = [o for o in overrides if o is not None]
    shared = set.intersection(*map(set, known)) if len(overrides) > 1 and known else set()
    common = tuple(o for o in known[0] if o in shared) if known else ()
    labels = []
    for own in overrides:
        if own is None:
            labels.append("(no .hydra/overrides.yaml)")
        elif not own:
            labels.append("(no overrides)")
        else:
            labels.append(" ".join(o for o in own if o not in shared) or "(common overrides only)")
    return common, labels


@dataclass
class Group:
    overrides: tuple[str, ...] | None  # what its runs share once the aggregated keys are left out
    runs: list[Run]

    def spreads(self, column: str) -> tuple[Spread | None, Spread | None]:
        """Mean ± std over the group's runs of the final and of the best values of `column`."""
        summaries = [summarize(run.curves[column], column) for run in self.runs if column in run.curves]
        finals = Spread.of([s.final.value for s in summaries])
        bests = Spread.of([s.best.value for s in summaries if s.best is not None])
        return finals, bests


def group_runs(runs: list[Run], keys: tuple[str, ...]) -> list[Group]:
    """Runs whose overrides are equal once `keys` are left out, in order of first appearance.

    Order does not matter (`a=1 b=2` equals `b=2 a=1`). A run without overrides is a group alone.
    """
    groups: dict[object, Group] = {}
    for run in runs:
        if run.overrides is None:
            groups[id(run)] = Group(None, [run])
            continue
        kept = tuple(o for o in run.overrides if override_key(o) not in keys)
        groups.setdefault(tuple(sorted(kept)), Group(kept, [])).runs.append(run)
    return list(groups.values())


@dataclass
class MeanCurve:
    iterations: list[int]
    means: list[float]
    stds: list[float]  # NaN where fewer than two runs have a finite value


def mean_curve(curves: list[Curve]) -> MeanCurve:
    """Mean and std at every iteration any curve has, over the curves with a finite value there.

    Where a run stopped early (or lost rows) the mean goes on over the others.
    """
    at: dict[int, list[float]] = {}
    for curve in curves:
        for iteration, value in zip(curve.iterations, curve.values, strict=True):
            if math.isfinite(value):
                at.setdefault(iteration, []).append(value)
    iterations = sorted(at)
    spreads = [Spread.of(at[i]) for i in iterations]
    return MeanCurve(
        iterations,
        [s.mean for s in spreads],
        [math.nan if s.std is None else s.std for s in spreads],
    )

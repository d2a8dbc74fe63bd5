"""The single number a hyper-parameter search optimises: one logged metric of the finished run.

    value = run_objective(output_dir, "val/fid", "min")    # what src/train.py returns to Hydra's sweeper

Read from the run's own CSV history (csv/metrics.csv), so it covers every evaluation of a run that
was resumed on the way. `summary` is `min` (best of a lower-is-better metric), `max` (best of a
higher-is-better one, e.g. val/modes_covered) or `final` (the last logged value).
"""

from __future__ import annotations

import math
from pathlib import Path

from ganarena.errors import ConfigError
from ganarena.run.csv_history import read_rows

SUMMARIES = {"min": min, "max": max, "final": lambda values: values[-1]}


def run_objective(output_dir: str | Path, metric: str, summary: str = "min") -> float:
    if summary not in SUMMARIES:
        raise ConfigError(f"optimized_summary={summary!r}: choose one of {', '.join(SUMMARIES)}")
    rows = read_rows(Path(output_dir) / "csv" / "metrics.csv")
    values = [float(row[metric]) for row in rows if metric in row]
    values = [value for value in values if math.isfinite(value)]
    if not values:
        logged = ", ".join(sorted({key for row in rows for key in row if key.startswith("val/")})) or "no val/ metric"
        raise ConfigError(
            f"optimized_metric={metric} was never logged by this run (it logged {logged});"
            " give a metric the run's evaluations log, and a budget that reaches at least one evaluation"
        )
    return SUMMARIES[summary](values)

"""Read the runs under some directories: overrides, metric curves, iterations, wall time, protocol.

    runs, skipped = read_runs([Path("logs/multiruns/2026-11-23_10-00-00")])

A run directory is one that holds `csv/metrics.csv`, which every run writes (the CSV logger is
always on, see ganarena.run.loggers); directories are searched recursively, so a run, a sweep or a
directory above many of them (logs/) all work. A Hydra job directory without that file (a run
that stopped before logging, or one that continued another run in place with resume=RUN_DIR and
so logged into RUN_DIR) is skipped with a reason, and so is a run whose CSV has no rows.

What each run yields:

- curves: every logged column but `epoch` and `step`, as points (generator iterations, value).
  Lightning logs training rows at the 0-based index of the iteration (step 99 is the end of the
  100th), evaluations log `val/*` at the number of iterations done (step 100), so training steps
  are shifted by one to put both on the same axis. Rows are sparse; a later row for the same
  step wins (a run resumed after a crash may repeat steps); lines cut short are ignored.
- iterations: the last generator iteration the CSV shows.
- wall_time: seconds from the earliest modification time of any file in the run directory (Hydra
  writes `.hydra/` and `train.log` when the job starts) to the last write of `csv/metrics.csv` or
  a checkpoint. A run continued in place counts from its first start to its last write, pauses
  included. Copying a run directory without keeping modification times (`cp -p`, `rsync -a` keep
  them) spoils it. `train.log` holds no timestamps to go by: Lightning's messages bypass it.
- overrides: `.hydra/overrides.yaml`, less the keys that say where and how a run executes rather
  than what it computes (NOISE_KEYS); None when the file is missing.
- protocol: the `protocol/<evaluation>` entries of `csv/hparams.yaml` (numbers of real and fake
  samples, backbone, ...): values are only comparable at equal protocol.
"""

from __future__ import annotations

import csv
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from ganarena.errors import ArenaError

RUN_LOG = Path("csv") / "metrics.csv"
HPARAMS = Path("csv") / "hparams.yaml"
OVERRIDES = Path(".hydra") / "overrides.yaml"
CHECKPOINTS = Path("checkpoints")
INDEX_COLUMNS = ("epoch", "step")
EVALUATION_PREFIX = "val/"

# Output places, devices, display and loggers: a run on 4 GPUs with W&B computes what a CPU run
# with the CSV log computes, so these would only split groups and lengthen labels.
NOISE_KEYS = (
    "hydra",
    "trainer.devices",
    "trainer.accelerator",
    "trainer.num_nodes",
    "trainer.enable_progress_bar",
    "trainer.enable_model_summary",
    "logger",
    "resume",
)


@dataclass
class Curve:
    """Points of one column, sorted by generator iteration."""

    iterations: list[int]
    values: list[float]


@dataclass
class Run:
    path: Path
    overrides: tuple[str, ...] | None
    curves: dict[str, Curve]
    iterations: int
    wall_time: float | None
    protocol: dict[str, dict[str, Any]] = field(default_factory=dict)
    name: str = ""  # set by read_runs: the path relative to what all runs share


@dataclass
class Skipped:
    path: Path
    reason: str


class EmptyRunError(Exception):
    """A run directory with nothing to report; the message says why."""


def override_key(override: str) -> str:
    """`seed` of `seed=1`, `trainer.deterministic` of `+trainer.deterministic=true`, `a.b` of `~a.b`."""
    return override.split("=", 1)[0].lstrip("+~")


def is_noise(override: str) -> bool:
    key = override_key(override)
    return any(key == noise or key.startswith((f"{noise}.", f"{noise}/")) for noise in NOISE_KEYS)


def natural_key(name: str) -> list:
    """Sort key putting job 10 after job 9."""
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", name)]


def find_run_dirs(paths: list[Path]) -> tuple[list[Path], list[Skipped]]:
    """Run directories under `paths` (each at most once, in path order) and Hydra jobs without a CSV log."""
    found: dict[Path, Path] = {}  # the resolved path (a run reached by two PATHs) to the path as found
    skipped: list[Skipped] = []
    for path in paths:
        if not path.exists():
            raise ArenaError(
                f"{path} does not exist; give a run directory (one with {RUN_LOG}), a sweep directory"
                " (logs/multiruns/<time>) or a directory above them such as logs/"
            )
        if not path.is_dir():
            raise ArenaError(f"{path} is not a directory; give the run directory that holds {RUN_LOG}")
        for directory, subdirectories, _ in os.walk(path):
            here = Path(directory)
            if (here / RUN_LOG).is_file():
                found.setdefault(here.resolve(), here)
                subdirectories.clear()  # a run directory holds no other runs
                continue
            if (here / OVERRIDES).is_file():
                reason = f"no {RUN_LOG}: the run logged nothing, or logged into the run it resumed"
                skipped.append(Skipped(here, reason))
            # Hidden directories (.hydra, .git) hold no runs.
            subdirectories[:] = sorted((d for d in subdirectories if not d.startswith(".")), key=natural_key)
    return list(found.values()), skipped


def read_curves(path: Path) -> dict[str, Curve]:
    """Every column of a metrics.csv but epoch and step, on the generator-iteration axis (see the module docstring)."""
    with open(path, newline="") as file:
        reader = csv.DictReader(file)
        columns = [c for c in reader.fieldnames or [] if c not in INDEX_COLUMNS]
        points: dict[str, dict[int, float]] = {column: {} for column in columns}
        rows = 0
        for row in reader:
            try:
                step = int(row.get("step") or "")
            except ValueError:
                continue  # a line cut short by a crash
            rows += 1
            for column in columns:
                try:
                    value = float(row.get(column) or "")
                except ValueError:
                    continue  # empty cell of a sparse row
                iteration = step if column.startswith(EVALUATION_PREFIX) else step + 1
                points[column][iteration] = value  # later rows win
    if rows == 0:
        raise EmptyRunError(f"{RUN_LOG} has no rows")
    return {
        column: Curve(sorted(by_step), [by_step[i] for i in sorted(by_step)])
        for column, by_step in points.items()
        if by_step
    }


def read_overrides(run_dir: Path) -> tuple[str, ...] | None:
    try:
        overrides = yaml.safe_load((run_dir / OVERRIDES).read_text())
    except (OSError, yaml.YAMLError):
        return None
    if not isinstance(overrides, list):
        return None if overrides is not None else ()
    return tuple(str(o) for o in overrides if not is_noise(str(o)))


def read_protocol(run_dir: Path) -> dict[str, dict[str, Any]]:
    try:
        hparams = yaml.safe_load((run_dir / HPARAMS).read_text())
    except (OSError, yaml.YAMLError):
        return {}
    if not isinstance(hparams, dict):
        return {}
    return {
        key.removeprefix("protocol/"): value
        for key, value in hparams.items()
        if str(key).startswith("protocol/") and isinstance(value, dict)
    }


def wall_time(run_dir: Path) -> float | None:
    """Seconds from the run's first file to its last CSV or checkpoint write (see the module docstring)."""
    starts = [p.stat().st_mtime for p in run_dir.rglob("*") if p.is_file()]
    ends = [p.stat().st_mtime for p in [run_dir / RUN_LOG, *(run_dir / CHECKPOINTS).glob("*.ckpt")] if p.is_file()]
    if not starts or not ends:
        return None
    return max(ends) - min(starts)


def read_run(run_dir: Path) -> Run:
    """One run directory; raises EmptyRunError when its CSV log is empty."""
    if (run_dir / RUN_LOG).stat().st_size == 0:
        raise EmptyRunError(f"{RUN_LOG} is empty")
    curves = read_curves(run_dir / RUN_LOG)
    return Run(
        path=run_dir,
        overrides=read_overrides(run_dir),
        curves=curves,
        iterations=max((curve.iterations[-1] for curve in curves.values()), default=0),
        wall_time=wall_time(run_dir),
        protocol=read_protocol(run_dir),
    )


def read_runs(paths: list[Path]) -> tuple[list[Run], list[Skipped]]:
    """The runs under `paths`, named by their path below what they share; raises ArenaError when there are none."""
    run_dirs, skipped = find_run_dirs(paths)
    runs: list[Run] = []
    for run_dir in run_dirs:
        try:
            runs.append(read_run(run_dir))
        except EmptyRunError as error:
            skipped.append(Skipped(run_dir, str(error)))
    if not runs:
        reasons = "".join(f"; skipped {s.path}: {s.reason}" for s in skipped)
        raise ArenaError(
            f"no runs found under {', '.join(map(str, paths))}: a run directory holds {RUN_LOG}"
            f" (give logs/, a sweep or a run directory){reasons}"
        )
    name_runs(runs)
    return runs, skipped


def name_runs(runs: list[Run]) -> None:
    """Name each run by its path below the directory all runs share (a lone run by its directory name)."""
    if len(runs) == 1:
        runs[0].name = runs[0].path.name
        return
    resolved = [run.path.resolve() for run in runs]  # PATHs may mix relative and absolute
    common = Path(os.path.commonpath(resolved))
    for run, path in zip(runs, resolved, strict=True):
        run.name = str(path.relative_to(common))

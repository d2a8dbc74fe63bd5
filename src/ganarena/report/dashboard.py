"""A sweep's W&B dashboard as code: FID curves of every run on one panel, the quality/diversity
metrics beside them, the sample grids, for the runs of one W&B group.

    spec = DashboardSpec("me", "ganarena", group="2026-11-30_10-00-00", metrics=("val/fid", "val/precision"))
    save_offline(spec, Path("wandb_workspace.json"))   # no network: the spec and the workspace it builds
    upload(load_spec(Path("wandb_workspace.json")))     # later, online: saved as a W&B workspace view

Built with `wandb-workspaces`, W&B's library for workspaces as code. The group is the sweep's: a
multirun's jobs log to the W&B group named after the sweep directory (conf/logger/wandb.yaml).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

import wandb_workspaces.reports.v2 as wr
import wandb_workspaces.workspaces as ws
from pydantic import TypeAdapter

from ganarena.errors import ArenaError
from ganarena.report.tradeoff import tradeoff_pairs

DISTANCES = ("val/fid", "val/fd_")  # Frechet distances: the section everyone looks at first


@dataclass(frozen=True)
class DashboardSpec:
    entity: str
    project: str
    group: str
    metrics: tuple[str, ...]


def sweep_workspace(spec: DashboardSpec) -> ws.Workspace:
    distances = [m for m in spec.metrics if m.startswith(DISTANCES) and not m.endswith("_infinity")]
    others = [m for m in spec.metrics if m not in distances]
    scatters = [
        wr.ScatterPlot(title=f"{y} against {x}", x=wr.SummaryMetric(x), y=wr.SummaryMetric(y))
        for x, y in tradeoff_pairs(list(spec.metrics))
    ]
    sections = [
        ws.Section(
            name="Frechet distance", panels=[wr.LinePlot(title=m, x="Step", y=[m]) for m in distances], is_open=True
        ),
        ws.Section(
            name="Quality and diversity",
            panels=[wr.LinePlot(title=m, x="Step", y=[m]) for m in others] + scatters,
            is_open=True,
        ),
        ws.Section(name="Samples", panels=[wr.MediaBrowser(title="samples", media_keys=["samples"])]),
    ]
    return ws.Workspace(
        entity=spec.entity,
        project=spec.project,
        name=f"sweep {spec.group}",
        sections=sections,
        runset_settings=ws.RunsetSettings(filters=[ws.Metric("Group") == spec.group]),
    )


def save_offline(spec: DashboardSpec, path: Path) -> Path:
    """Write the spec (what `upload` rebuilds from) and, for reading, the workspace it builds."""
    built = TypeAdapter(ws.Workspace).dump_python(sweep_workspace(spec), mode="json")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"spec": asdict(spec), "workspace": built}, indent=1) + "\n")
    return path


def load_spec(path: Path) -> DashboardSpec:
    try:
        spec = json.loads(path.read_text())["spec"]
        return DashboardSpec(spec["entity"], spec["project"], spec["group"], tuple(spec["metrics"]))
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise ArenaError(f"{path} is not a dashboard file written by report.py --wandb-workspace ({error})") from None


def upload(spec: DashboardSpec) -> str:
    """Save the workspace to W&B (needs the network and W&B credentials) and return its URL."""
    try:
        return sweep_workspace(spec).save().url
    except Exception as error:  # wandb raises many kinds; the message says what happened
        raise ArenaError(
            f"W&B did not take the workspace ({type(error).__name__}: {error}); check the network and"
            " `wandb login`, then upload the saved file again with report.py --upload-workspace FILE"
        ) from None

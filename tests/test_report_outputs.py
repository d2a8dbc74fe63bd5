"""What report.py draws beyond tables and curves: the quality/diversity trade-off, and a sweep's W&B
workspace built from its logs without a network (panels, metric keys, the group filter)."""

import json
import sys

import pytest
import wandb_workspaces.reports.v2 as wr
import wandb_workspaces.workspaces as ws
from pydantic import TypeAdapter

from ganarena.report.dashboard import DashboardSpec, load_spec, sweep_workspace
from test_report import load_report_script, write_run

METRICS = ("val/coverage", "val/density", "val/fid", "val/kid", "val/precision", "val/recall")


def sweep(tmp_path):
    root = tmp_path / "2026-11-30_10-00-00"  # a multirun's directory: its name is the W&B group
    for job, lr in enumerate((1e-4, 2e-4)):
        values = {m: 0.1 * (job + 1) for m in METRICS}
        write_run(root / str(job), [f"optim.critic.lr={lr}"], {500: values, 1000: values}, train_steps=1000)
    return root


def comparable(workspace: ws.Workspace):
    """The workspace as data, without the random ids wandb-workspaces gives each panel."""

    def strip(node):
        if isinstance(node, dict):
            return {k: strip(v) for k, v in node.items() if k != "_id"}
        return [strip(v) for v in node] if isinstance(node, list) else node

    return strip(TypeAdapter(ws.Workspace).dump_python(workspace, mode="json"))


def panels(workspace: ws.Workspace) -> dict[str, list]:
    return {section.name: section.panels for section in workspace.sections}


def test_the_workspace_shows_every_metric_of_the_group_and_its_samples():
    spec = DashboardSpec("me", "ganarena", "2026-11-30_10-00-00", METRICS)
    built = panels(sweep_workspace(spec))
    assert [p.y for p in built["Frechet distance"]] == [["val/fid"]]  # every run of the group on one panel
    lines = [p for p in built["Quality and diversity"] if isinstance(p, wr.LinePlot)]
    assert sorted(y for p in lines for y in p.y) == sorted(set(METRICS) - {"val/fid"})
    scatters = {(p.x.name, p.y.name) for p in built["Quality and diversity"] if isinstance(p, wr.ScatterPlot)}
    assert scatters == {("val/recall", "val/precision"), ("val/coverage", "val/density")}
    assert [p.media_keys for p in built["Samples"]] == [["samples"]]
    # wandb-workspaces keeps filters as its expression string: the runs of this group only.
    assert sweep_workspace(spec).runset_settings.filters == """Metric("Group") == '2026-11-30_10-00-00'"""


def test_report_py_writes_the_workspace_of_a_sweep_offline_and_uploads_it_later(tmp_path, monkeypatch, capsys):
    root = sweep(tmp_path)
    load_report_script().main([str(root), "--wandb-workspace", "me/ganarena"])
    path = root / "wandb_workspace.json"
    saved = json.loads(path.read_text())
    assert saved["spec"] == {"entity": "me", "project": "ganarena", "group": root.name, "metrics": sorted(METRICS)}
    assert saved["workspace"]["runset_settings"]["filters"] == f"""Metric("Group") == '{root.name}'"""
    assert load_spec(path) == DashboardSpec("me", "ganarena", root.name, tuple(sorted(METRICS)))

    uploaded = []

    class Saved:
        url = "https://wandb.ai/me/ganarena?nw=recorded"

    def record(workspace):  # what Workspace.save would send, without the network
        uploaded.append(workspace)
        return Saved()

    monkeypatch.setattr(ws.Workspace, "save", record)
    monkeypatch.setattr(sys, "argv", ["report.py"])
    load_report_script().main(["--upload-workspace", str(path)])
    (sent,) = uploaded
    assert comparable(sent) == comparable(sweep_workspace(DashboardSpec("me", "ganarena", root.name, METRICS)))
    assert Saved.url in capsys.readouterr().err


def test_bad_dashboard_input_is_one_clear_line(tmp_path):
    root = sweep(tmp_path)
    with pytest.raises(SystemExit, match="give ENTITY/PROJECT"):
        load_report_script().main([str(root), "--wandb-workspace", "ganarena"])
    (tmp_path / "other.json").write_text("{}")
    with pytest.raises(SystemExit, match="not a dashboard file"):
        load_report_script().main(["--upload-workspace", str(tmp_path / "other.json")])


def test_the_tradeoff_figure_puts_each_group_at_its_mean_with_std_error_bars(tmp_path, monkeypatch):
    from matplotlib.axes import Axes

    from ganarena.report.document import write_report

    finals = {("1e-4", 0): (0.6, 0.3), ("1e-4", 1): (0.8, 0.5), ("2e-4", 0): (0.4, 0.7), ("2e-4", 1): (0.4, 0.9)}
    for (lr, seed), (precision, recall) in finals.items():
        values = {"val/precision": precision, "val/recall": recall, "val/fid": 10.0}
        write_run(tmp_path / f"{lr}_{seed}", [f"optim.critic.lr={lr}", f"seed={seed}"], {500: values})
    points = []
    monkeypatch.setattr(Axes, "errorbar", lambda self, x, y, **kw: points.append((x, y, kw["xerr"], kw["yerr"])))
    report = write_report([tmp_path], aggregate=("seed",))
    assert tmp_path / "tradeoff.png" in report.files and (tmp_path / "tradeoff.png").is_file()
    # x: recall, y: precision; means over the two seeds, sample std (two values: |a - b| / sqrt(2)).
    assert points == [
        pytest.approx((0.4, 0.7, 0.2 / 2**0.5, 0.2 / 2**0.5)),
        pytest.approx((0.8, 0.4, 0.2 / 2**0.5, 0.0)),
    ]
    (tmp_path / "tradeoff.png").unlink()
    no_pairs = write_report([tmp_path], metrics=["fid"], aggregate=("seed",))
    assert not (tmp_path / "tradeoff.png").exists() and all(f.name != "tradeoff.png" for f in no_pairs.files)

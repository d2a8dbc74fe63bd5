"""SIGKILL at chosen moments, then `resume=auto`, several times over: the run ends as if never stopped.

A real src/train.py process (through tests/pause_at.py, which freezes it at the chosen moment) is
killed during a real-feature cache write, an iteration, a last.ckpt write and an evaluation, and
restarted each time. After each kill: last.ckpt loads, the CSV holds every row up to it exactly
once, the W&B run keeps its id, the feature cache is complete or absent. At the end: the weights
and the whole CSV equal those of an uninterrupted run.
"""

import csv
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from conftest import FAST, REPO, compose_config
from ganarena.run.checkpoints import read_checkpoint
from ganarena.run.training import train

# Digits through a small MLP, measured by the digit-classifier FID (its real features are cached):
# a checkpoint every iteration, an evaluation every second one, every row logged, and the CSV
# flushed only with checkpoints (flush_logs_every_n_steps stays at Lightning's 100).
RUN = [
    *FAST,
    "data=digits",
    "model=mlp",
    "model.generator.hidden=32",
    "model.critic.hidden=32",
    "metrics=fid",
    "metrics/backbone=classifier",
    "metrics.fid.backbone.classifier_steps=20",
    "metrics.fid.num_real=200",
    "metrics.fid.num_fake=100",
    "metrics.fid.every_n_iterations=2",
    "metrics.fid.kid_subsets=2",
    "metrics.fid.kid_subset_size=50",
    "trainer.log_every_n_steps=1",
    "callbacks.samples.every_n_iterations=1000",
    "callbacks.checkpoint.every_n_train_steps=1",
    "trainer.max_steps=8",
]
# (where the process is frozen and killed, at which iteration, the iteration last.ckpt then holds)
KILLS = [
    ("cache", 2, 1),  # the first evaluation writes the real features, before checkpoint 2
    ("iteration", 4, 3),
    ("checkpoint", 5, 4),  # iter_000005.ckpt is written, last.ckpt half
    ("evaluation", 6, 5),
]


def history(run_dir: Path) -> list[dict[str, str]]:
    with open(run_dir / "csv" / "metrics.csv") as f:
        return [{k: v for k, v in row.items() if v and k != "epoch"} for row in csv.DictReader(f)]


def rows_by(rows: list[dict[str, str]], iteration: int) -> list[dict[str, str]]:
    """The rows an uninterrupted run has logged once `iteration` is done: training rows have step i - 1."""
    return [
        r for r in rows if int(r["step"]) < iteration or (int(r["step"]) == iteration and "train/critic_loss" not in r)
    ]


def real_feature_files(run_dir: Path, hidden: bool = False) -> list[Path]:
    """The cached real features (what runs read), or with `hidden` the temporary files of writes."""
    files = (run_dir / "data" / "metrics_cache").glob("real_features/*")
    return sorted(p for p in files if p.name.startswith(".") == hidden)


def wandb_ids(run_dir: Path) -> set[str]:
    return {p.name.rsplit("-", 1)[-1] for p in (run_dir / "wandb").glob("offline-run-*")}


def fresh_process_env() -> dict[str, str]:
    """This environment, W&B offline, without the W&B service an earlier in-process test started:
    a process attached to it would leave its run open there when killed, and the restart would be
    refused ("run ID is in use"), which a killed job's own service, gone with it, never does."""
    env = {k: v for k, v in os.environ.items() if k != "WANDB_SERVICE"}
    return {**env, "WANDB_MODE": "offline", "WANDB_SILENT": "true"}


def kill_at(moment: str, iteration: int, run_dir: Path) -> None:
    marker = run_dir / f"frozen-{moment}"
    args = [*RUN, "logger=wandb", "hydra.run.dir=.", "resume=auto"]
    process = subprocess.Popen(
        [sys.executable, str(REPO / "tests" / "pause_at.py"), moment, str(iteration), str(marker), *args],
        cwd=run_dir,
        env=fresh_process_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 120
    while not marker.exists() and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    if not marker.exists():
        process.kill()
        pytest.fail(f"never reached {moment} {iteration}: {process.communicate()[1][-3000:]}")
    process.send_signal(signal.SIGKILL)
    process.communicate(timeout=60)
    assert process.returncode == -signal.SIGKILL


@pytest.fixture(scope="module")
def straight(tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("straight")
    _, module, _ = train(compose_config([*RUN, f"paths.data_dir={run_dir / 'data'}"], run_dir))
    return module.state_dict(), history(run_dir)


def test_killed_four_times_and_resumed_ends_as_the_uninterrupted_run(tmp_path, straight):
    weights, rows = straight
    first_id = None
    for moment, iteration, saved in KILLS:
        kill_at(moment, iteration, tmp_path)
        checkpoint = read_checkpoint(tmp_path / "checkpoints" / "last.ckpt")
        assert checkpoint["iteration"] == saved, moment
        kept = history(tmp_path)[: checkpoint["csv_rows"]]
        assert kept == rows_by(rows, saved), moment  # every row up to the checkpoint, once, no gap
        first_id = first_id or checkpoint["logger_versions"]["ClosingWandbLogger"]
        assert wandb_ids(tmp_path) == {first_id}, moment
        for path in real_feature_files(tmp_path):  # complete or absent, never half
            assert "features" in torch.load(path, weights_only=True), path
        if moment == "cache":
            assert real_feature_files(tmp_path) == [], "the killed write must not leave a cache file"
            assert real_feature_files(tmp_path, hidden=True), "the kill missed the write"
        if moment == "checkpoint":
            assert list((tmp_path / "checkpoints").glob(".last.ckpt.*.partial")), "the kill missed the write"

    result = subprocess.run(
        [sys.executable, str(REPO / "src" / "train.py"), *RUN, "logger=wandb", "hydra.run.dir=.", "resume=auto"],
        cwd=tmp_path,
        env=fresh_process_env(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    final = read_checkpoint(tmp_path / "checkpoints" / "last.ckpt")
    assert final["iteration"] == 8
    for name, value in weights.items():
        assert torch.equal(value, final["state_dict"][name]), name
    assert history(tmp_path) == rows
    assert wandb_ids(tmp_path) == {first_id}
    assert len(real_feature_files(tmp_path)) == 1
    assert not list((tmp_path / "checkpoints").glob(".*.partial"))  # the killed save's leftover is gone

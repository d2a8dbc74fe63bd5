"""src/train.py end to end, as users run it: default run, presets, DDP on CPU, multirun sweeps."""

import csv
import os
import time
import uuid
from pathlib import Path

import pytest
import torch
from omegaconf import OmegaConf

from conftest import QUIET, REPO, run_train_script
from ganarena.metrics.cache import load_cached
from ganarena.run.build import build_evaluations
from ganarena.run.trained import load_trained
from test_eval_sample import POOL_FID
from test_metrics import PoolFeatures

TINY_DCGAN = ["model.generator.width=8", "model.critic.width=8", "batch_size=8"]


def read_metrics(run_dir):
    with open(run_dir / "csv" / "metrics.csv") as f:
        return list(csv.DictReader(f))


def test_default_run_logs_to_wandb_offline_and_writes_samples(tmp_path):
    run_dir = tmp_path / "run"
    run_train_script(
        ["trainer.max_steps=3", "trainer.log_every_n_steps=1", f"hydra.run.dir={run_dir}", *QUIET, *TINY_DCGAN],
        cwd=tmp_path,
        env={
            "WANDB_MODE": None,
            "WANDB_API_KEY": None,
            "HOME": str(tmp_path),
            "WANDB_CONFIG_DIR": str(tmp_path / ".wandb"),
        },
    )
    assert list((run_dir / "wandb").glob("offline-run-*/*.wandb"))
    assert (run_dir / "samples" / "iter_000003.png").exists()
    assert len(read_metrics(run_dir)) == 3
    # The default run keeps an average matched to its 1,500 iterations and draws it beside the generator.
    assert (run_dir / "samples" / "ema_iter_000003.png").exists()
    ckpt = torch.load(run_dir / "checkpoints" / "last.ckpt", map_location="cpu", weights_only=False)
    assert ckpt["config"]["ema"]["decay"] == 0.99
    assert any(name.startswith("generator_ema.") for name in ckpt["state_dict"])


def test_experiment_preset_runs(tmp_path):
    run_dir = tmp_path / "run"
    run_train_script(
        ["experiment=wgan_gp", "trainer.max_steps=2", "logger=csv", f"hydra.run.dir={run_dir}", *QUIET, *TINY_DCGAN],
        cwd=tmp_path,
    )
    ckpt = torch.load(run_dir / "checkpoints" / "last.ckpt", map_location="cpu", weights_only=False)
    assert ckpt["config"]["constraint"]["gp"]["weight"] == 10.0 and ckpt["config"]["n_critic"] == 5
    assert not any("running_mean" in k for k in ckpt["state_dict"] if k.startswith("critic."))


def test_card_command_runs_as_ddp_on_two_cpu_processes_and_resumes_each_rank_exactly(tmp_path):
    straight, resumed = tmp_path / "straight", tmp_path / "resumed"
    common = ["trainer.devices=2", "trainer.accelerator=cpu", "trainer.log_every_n_steps=1", "logger=csv"]
    common += ["trainer.max_steps=3", "callbacks.checkpoint.every_n_train_steps=2", *QUIET, *TINY_DCGAN]
    result = run_train_script(["loss=gan_qp", "model=dcgan", *common, f"hydra.run.dir={straight}"], cwd=tmp_path)
    assert "MEMBER: 2/2" in result.stderr + result.stdout
    # One run directory for both ranks, one set of outputs written by rank 0.
    assert [p.name for p in tmp_path.iterdir()] == ["straight"]
    assert len(read_metrics(straight)) == 3
    end = torch.load(straight / "checkpoints" / "last.ckpt", map_location="cpu", weights_only=False)
    assert end["iteration"] == 3
    assert not any(".module." in k for k in end["state_dict"])  # plain modules, no DDP prefixes
    assert len(end["random_states"]["cpu"]) == 2 and not torch.equal(*end["random_states"]["cpu"])

    # Continue from iteration 2, still on two processes: each rank must pick up its own noise stream
    # (rank 1 drawing from rank 0's state would move both ranks' weights through the averaged gradients).
    middle = straight / "checkpoints" / "iter_000002.ckpt"
    run_train_script([*common, f"ckpt_path={middle}", f"hydra.run.dir={resumed}"], cwd=tmp_path)
    again = torch.load(resumed / "checkpoints" / "last.ckpt", map_location="cpu", weights_only=False)
    assert again["iteration"] == 3
    for rank in (0, 1):
        assert torch.equal(again["random_states"]["cpu"][rank], end["random_states"]["cpu"][rank]), rank
    for name, value in end["state_dict"].items():
        assert torch.equal(again["state_dict"][name], value), name
    assert read_metrics(resumed) == read_metrics(straight)[2:]  # the same losses at iteration 3


BACKBONE_TARGET = "metrics.fid.backbone._target_"


class MeetingPoolFeatures(PoolFeatures):
    """PoolFeatures whose first embedding waits (up to a minute) until a second instance has begun one.

    A job's first embedding is of the real images when the real-feature cache misses, so two jobs
    that start together both get past the cache check before either can write the file.
    """

    def __init__(self, meeting_dir: str, channels: int = 1):
        super().__init__(channels)
        self.meeting_dir, self.met = Path(meeting_dir), False

    def embed(self, levels):
        if not self.met:
            self.meeting_dir.mkdir(parents=True, exist_ok=True)
            (self.meeting_dir / uuid.uuid4().hex).touch()
            deadline = time.monotonic() + 60
            while len(list(self.meeting_dir.iterdir())) < 2 and time.monotonic() < deadline:
                time.sleep(0.05)
            self.met = True
        return super().embed(levels)


def test_parallel_multirun_sweep_gives_each_job_its_own_directory_wandb_run_and_the_same_real_features(tmp_path):
    sweep_dir, cache = tmp_path / "sweep", tmp_path / "cache"
    metrics = [*POOL_FID, f"metrics.fid.cache_dir={cache}"]
    metrics += [f"{BACKBONE_TARGET}=test_train_script.MeetingPoolFeatures"]
    metrics += [f"+metrics.fid.backbone.meeting_dir={tmp_path / 'meeting'}"]
    result = run_train_script(
        [
            "-m",
            "hydra/launcher=joblib",
            "hydra.launcher.n_jobs=2",
            "loss=gan,wgan",
            "constraint=none,gp",
            "trainer.max_steps=2",
            *TINY_DCGAN,
            *metrics,
            f"hydra.sweep.dir={sweep_dir}",
            *QUIET,
        ],
        cwd=tmp_path,
        env={"PYTHONPATH": os.pathsep.join([str(REPO / "tests"), os.environ.get("PYTHONPATH", "")])},
    )
    jobs = sorted(p for p in sweep_dir.iterdir() if p.is_dir() and p.name.isdigit())
    assert [p.name for p in jobs] == ["0", "1", "2", "3"]
    seen = set()
    for job in jobs:
        ckpt = torch.load(job / "checkpoints" / "last.ckpt", map_location="cpu", weights_only=False)
        seen.add((ckpt["config"]["loss"]["_target_"].rsplit(".", 1)[1], tuple(ckpt["config"]["constraint"])))
        assert ckpt["iteration"] == 2
        assert len(list((job / "wandb").glob("offline-run-*"))) == 1  # a W&B run per job
    assert seen == {
        ("MinimaxLoss", ()),
        ("MinimaxLoss", ("gp",)),
        ("WassersteinLoss", ()),
        ("WassersteinLoss", ("gp",)),
    }

    # The first two jobs started together and both missed the real-feature cache (the meeting holds
    # each one's embedding until the other's has begun); the later two found the file.
    assert (result.stdout + result.stderr).count("metrics: embedding 48 real images") == 2
    assert len(list((tmp_path / "meeting").iterdir())) == 4
    (cached,) = (cache / "real_features").iterdir()  # one file, no temporary left
    features = load_cached(cached)["features"]
    assert features.shape == (48, 32)
    # Both scored against exactly those features: each checkpoint scored with them gives its logged value.
    for job in jobs[:2]:
        # A metrics class of one's own is the caller's choice: given here, as on eval.py's command line.
        run = load_trained(job / "checkpoints" / "last.ckpt", ignored=[BACKBONE_TARGET])
        OmegaConf.update(run.cfg, BACKBONE_TARGET, f"{__name__}.MeetingPoolFeatures")
        run.datamodule.setup("fit")
        (evaluation,) = build_evaluations(run.cfg, run.datamodule)
        values = evaluation.run(run.generator, run.datamodule, "cpu")
        assert evaluation.backbone.embedded == 24  # the fakes only: the real side came from the cache
        # The checkpoint's generator is the default run's average, logged as val/fd_pool_ema.
        assert run.averaged
        (logged,) = [row for row in read_metrics(job) if row.get("val/fd_pool_ema")]
        assert values["fd_pool"] == pytest.approx(float(logged["val/fd_pool_ema"]), rel=1e-6)

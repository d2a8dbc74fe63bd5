"""Exact resume, and checkpoint files that are missing, broken, foreign or from another run."""

import csv
import os
from pathlib import Path

import pytest
import torch

from conftest import FAST, TINY_MLP, compose_config, run_train_script
from ganarena.checkpointing import AtomicCheckpointIO, read_checkpoint
from ganarena.errors import CheckpointError
from ganarena.experiment import build_run
from ganarena.fit import train

# WGAN-GP on a toy set so small that an epoch is 3 iterations: the interruption at iteration 5
# falls in the middle of the second epoch, and the gradient penalty draws random numbers too.
TOY_DATA = ["data=ring8", "data.num_samples=96"]
RUN = [
    *FAST,
    "loss=wgan",
    "constraint=gp",
    *TINY_MLP,
    "trainer.log_every_n_steps=1",
    "callbacks.samples.every_n_iterations=1000",
]


def run(tmp_path, *overrides, data=TOY_DATA):
    return train(compose_config([*RUN, *data, *overrides], tmp_path))


def logged(run_dir) -> list[dict[str, str]]:
    """Steps and training losses (Lightning's epoch column depends on where a checkpoint was taken)."""
    with open(run_dir / "csv" / "metrics.csv") as f:
        return [{k: v for k, v in row.items() if k == "step" or k.startswith("train/")} for row in csv.DictReader(f)]


def test_stopped_and_resumed_run_matches_the_uninterrupted_run(tmp_path):
    straight, interrupted = tmp_path / "straight", tmp_path / "interrupted"
    _, straight_module, _ = run(straight, "trainer.max_steps=8", "logger=wandb")
    run(interrupted, "trainer.max_steps=5", "logger=wandb")
    first_wandb = read_checkpoint(interrupted / "checkpoints" / "last.ckpt")["logger_versions"]["ClosingWandbLogger"]
    resumed = run(tmp_path / "unused", f"resume={interrupted}", "trainer.max_steps=8", "logger=wandb")
    _, resumed_module, trainer = resumed

    assert resumed_module.iteration == 8
    for name, value in straight_module.state_dict().items():
        assert torch.equal(value, resumed_module.state_dict()[name]), name
    # The resumed run wrote into the interrupted run's directory: its log is the straight log.
    assert logged(interrupted) == logged(straight)
    assert [int(row["step"]) for row in logged(straight)] == list(range(8))
    # ...and continued the same W&B run.
    assert trainer.loggers[0].version == first_wandb


def test_resume_auto_starts_afresh_then_continues_in_the_same_directory(tmp_path):
    _, module, _ = run(tmp_path, "resume=auto", "trainer.max_steps=2")
    assert module.iteration == 2
    _, module, _ = run(tmp_path, "resume=auto", "trainer.max_steps=4")
    assert module.iteration == 4
    assert [int(row["step"]) for row in logged(tmp_path)] == [0, 1, 2, 3]


@pytest.fixture(scope="module")
def saved_checkpoint(tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("saved")
    run(run_dir, "trainer.max_steps=1")
    return run_dir / "checkpoints" / "last.ckpt"


def test_missing_checkpoint_is_named(tmp_path):
    with pytest.raises(CheckpointError, match=r"nowhere\.ckpt does not exist"):
        run(tmp_path, f"ckpt_path={tmp_path / 'nowhere.ckpt'}")
    with pytest.raises(CheckpointError, match=r"checkpoints/last\.ckpt does not exist"):
        run(tmp_path, f"resume={tmp_path / 'no_run'}")


def test_truncated_checkpoint_is_named(saved_checkpoint, tmp_path):
    truncated = tmp_path / "truncated.ckpt"
    truncated.write_bytes(saved_checkpoint.read_bytes()[:5000])
    with pytest.raises(CheckpointError, match=r"truncated\.ckpt cannot be read .*truncated or not a PyTorch"):
        run(tmp_path, f"ckpt_path={truncated}")


def test_foreign_checkpoint_is_refused(tmp_path):
    foreign = tmp_path / "foreign.pt"
    torch.save({"weights": torch.zeros(3)}, foreign)
    with pytest.raises(CheckpointError, match=r"foreign\.pt was not written by ganarena.*state_dict, iteration"):
        run(tmp_path, f"ckpt_path={foreign}")


def test_checkpoint_of_another_configuration_is_refused(saved_checkpoint, tmp_path):
    with pytest.raises(CheckpointError, match=r"another loss\._target_, model\.critic\.hidden than this one"):
        run(tmp_path, f"ckpt_path={saved_checkpoint}", "loss=hinge", "model.critic.hidden=64")
    # Same settings, other data: the networks no longer fit.
    with pytest.raises(CheckpointError, match=r"networks of another shape .*generator\.net"):
        run(tmp_path, f"ckpt_path={saved_checkpoint}", data=["data=digits", "model=mlp"])


def test_checkpoint_write_is_atomic(saved_checkpoint, tmp_path, monkeypatch):
    target = tmp_path / "last.ckpt"
    target.write_bytes(saved_checkpoint.read_bytes())
    good = target.read_bytes()

    def crash_mid_write(obj, file):
        file.write(b"half a checkpoint")
        raise OSError("disk full")

    monkeypatch.setattr(torch, "save", crash_mid_write)
    with pytest.raises(OSError, match="disk full"):
        AtomicCheckpointIO().save_checkpoint({"state_dict": {}}, target)
    assert target.read_bytes() == good
    assert os.listdir(tmp_path) == ["last.ckpt"]  # no partial file left behind
    monkeypatch.undo()
    AtomicCheckpointIO().save_checkpoint({"iteration": 7}, target)
    assert torch.load(target)["iteration"] == 7


def test_a_run_saves_through_the_atomic_writer(tmp_path):
    _, _, trainer = build_run(compose_config([*RUN, *TOY_DATA], tmp_path))
    assert isinstance(trainer.strategy.checkpoint_io, AtomicCheckpointIO)


def _written_file(function: str, args: tuple) -> str:
    """The name of the file an os.replace (its destination) or an os.fsync (its descriptor's file) writes."""
    return Path(args[1] if function == "replace" else os.readlink(f"/proc/self/fd/{args[0]}")).name


@pytest.mark.parametrize("function", ["replace", "fsync"])
def test_a_save_failing_inside_a_real_run_leaves_last_ckpt_intact(function, tmp_path, monkeypatch):
    # The second write of last.ckpt (iteration 2) fails in its rename, or in the sync of its temporary file.
    original, last_writes = getattr(os, function), []

    def failing_on_the_second_last_ckpt(*args):
        name = _written_file(function, args)
        if name == "last.ckpt" or name.startswith(".last.ckpt."):
            last_writes.append(name)
            if len(last_writes) == 2:
                raise OSError(f"injected {function} failure")
        return original(*args)

    monkeypatch.setattr(os, function, failing_on_the_second_last_ckpt)
    with pytest.raises(OSError, match=f"injected {function} failure"):
        run(tmp_path, "trainer.max_steps=2", "callbacks.checkpoint.every_n_train_steps=1")
    checkpoints = tmp_path / "checkpoints"
    assert read_checkpoint(checkpoints / "last.ckpt")["iteration"] == 1  # whole, and the one before the failure
    # No temporary file left behind.
    assert sorted(p.name for p in checkpoints.iterdir()) == ["iter_000001.ckpt", "iter_000002.ckpt", "last.ckpt"]


def test_train_script_reports_a_bad_checkpoint_in_one_line(tmp_path):
    result = run_train_script(["logger=csv", f"ckpt_path={tmp_path / 'gone.ckpt'}"], cwd=tmp_path, check=False)
    assert result.returncode == 1
    assert f"error: checkpoint {tmp_path / 'gone.ckpt'} does not exist" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_seed_makes_a_cpu_run_repeatable(tmp_path):
    weights = {}
    for name, seed in (("first", 3), ("again", 3), ("other", 4)):
        _, module, _ = run(tmp_path / name, "trainer.max_steps=3", f"seed={seed}")
        weights[name] = module.state_dict()
    assert all(torch.equal(weights["first"][k], weights["again"][k]) for k in weights["first"])
    assert logged(tmp_path / "first") == logged(tmp_path / "again")
    assert logged(tmp_path / "first") != logged(tmp_path / "other")

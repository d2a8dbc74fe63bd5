"""Exact resume (every preset, through the safe unpickler), and checkpoint files that are missing,
broken, foreign or from another run."""

import csv
import os

import pytest
import torch

from conftest import CONF, FAST, TINY_MLP, compose_config, run_train_script
from ganarena.errors import CheckpointError
from ganarena.run.checkpoints import AtomicCheckpointIO, read_checkpoint
from ganarena.run.trained import load_trained
from ganarena.run.training import train

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


@pytest.mark.parametrize("preset", sorted(p.stem for p in (CONF / "experiment").glob("*.yaml")))
def test_every_preset_checkpoint_holds_only_plain_types_and_resumes_bit_exactly(tmp_path, preset):
    overrides = [*FAST, *TOY_DATA, *TINY_MLP, f"experiment={preset}", "batch_size=16", "metrics=none"]
    overrides += ["callbacks.checkpoint.every_n_train_steps=1", "callbacks.samples.every_n_iterations=1000"]
    _, straight, _ = train(compose_config([*overrides, "trainer.max_steps=2"], tmp_path / "straight"))
    checkpoint = tmp_path / "straight" / "checkpoints" / "iter_000001.ckpt"
    # Nothing beyond torch's weights_only types: no class for the allow-list to grow by.
    assert torch.serialization.get_unsafe_globals_in_checkpoint(checkpoint) == []
    assert load_trained(checkpoint).iteration == 1
    _, resumed, _ = train(
        compose_config([*overrides, "trainer.max_steps=2", f"ckpt_path={checkpoint}"], tmp_path / "r")
    )
    assert resumed.iteration == 2
    for name, value in straight.state_dict().items():
        assert torch.equal(value, resumed.state_dict()[name]), name


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

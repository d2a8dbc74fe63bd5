"""Failing loudly, early and cheaply: non-finite values, preemption signals, bad config, no network."""

import signal
import subprocess
import sys
import time
import warnings

import pytest
import torch

from conftest import FAST, REPO, TINY_MLP, compose_config, run_train_script
from ganarena.errors import ConfigError
from ganarena.game.constraints import Constraint
from ganarena.game.losses import NonSaturatingLoss
from ganarena.run.build import build_run
from ganarena.run.checkpoints import read_checkpoint
from ganarena.run.config_checks import DubiousConfigWarning, check_config
from ganarena.run.finite_guard import NonFiniteError
from ganarena.run.loggers import wandb_logger
from ganarena.run.monitor import training_monitor
from ganarena.run.training import train

TOY = [*FAST, "data=ring8", *TINY_MLP]


class NaNGeneratorLossFrom(NonSaturatingLoss):
    """The non-saturating loss, except that its generator loss is NaN from the `bad_call`-th call on."""

    def __init__(self, bad_call: int):
        self.calls, self.bad_call = 0, bad_call

    def generator_loss(self, d_real, d_fake):
        self.calls += 1
        loss = super().generator_loss(d_real, d_fake)
        return loss * float("nan") if self.calls >= self.bad_call else loss


class InfiniteWeightAt(Constraint):
    """Sets one critic weight to +inf after the critic update of iteration `iteration` (1-based)."""

    def __init__(self, iteration: int):
        self.updates, self.iteration = 0, iteration

    def after_critic_step(self, critic):
        self.updates += 1
        if self.updates == self.iteration:
            with torch.no_grad():
                next(critic.parameters()).view(-1)[0] = float("inf")


def fit_until_broken(tmp_path, break_module):
    every_two = "callbacks.checkpoint.every_n_train_steps=2"
    cfg = compose_config([*TOY, "trainer.max_steps=6", "n_critic=1", every_two], tmp_path)
    datamodule, module, trainer = build_run(cfg)
    break_module(module)
    with pytest.raises(NonFiniteError) as error:
        trainer.fit(module, datamodule=datamodule)
    return str(error.value), module


@pytest.mark.parametrize(
    ("break_module", "named"),
    [
        (lambda m: setattr(m, "loss", NaNGeneratorLossFrom(bad_call=3)), "train/generator_loss = nan"),
        (lambda m: m.constraints.append(InfiniteWeightAt(iteration=3)), "critic weights = inf"),
    ],
)
def test_non_finite_value_stops_the_run_and_keeps_the_last_good_checkpoint(tmp_path, break_module, named):
    message, module = fit_until_broken(tmp_path, break_module)
    last = tmp_path / "checkpoints" / "last.ckpt"
    assert message.startswith("iteration 3: ") and named in message
    assert f"the last good checkpoint is {last}" in message
    assert module.iteration == 3
    checkpoint = read_checkpoint(last)
    assert checkpoint["iteration"] == 2  # written at iteration 2, never overwritten by iteration 3
    assert all(torch.isfinite(v).all() for v in checkpoint["state_dict"].values() if v.is_floating_point())
    assert sorted(p.name for p in last.parent.iterdir()) == ["iter_000002.ckpt", "last.ckpt"]


def test_deferred_check_still_keeps_the_broken_iteration_out_of_checkpoints(tmp_path):
    """As on a GPU: the NaN of iteration 3 is read late, but before iteration 3's checkpoint is written."""
    every_one = "callbacks.checkpoint.every_n_train_steps=1"
    cfg = compose_config([*TOY, "trainer.max_steps=6", "n_critic=1", every_one], tmp_path)
    datamodule, module, trainer = build_run(cfg)
    module.loss = NaNGeneratorLossFrom(bad_call=3)
    training_monitor(trainer).guard.deferred = True
    with pytest.raises(NonFiniteError, match=r"^iteration 3: train/generator_loss = nan"):
        trainer.fit(module, datamodule=datamodule)
    last = tmp_path / "checkpoints" / "last.ckpt"
    assert read_checkpoint(last)["iteration"] == 2
    assert sorted(p.name for p in last.parent.iterdir()) == ["iter_000001.ckpt", "iter_000002.ckpt", "last.ckpt"]


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGUSR1])
def test_preemption_signal_saves_a_checkpoint_and_exits_cleanly(tmp_path, signum):
    args = [*TOY, "trainer.max_steps=100000", "callbacks.samples.every_n_iterations=20", "hydra.run.dir=run"]
    process = subprocess.Popen(
        [sys.executable, str(REPO / "src" / "train.py"), *args],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    started = tmp_path / "run" / "samples" / "iter_000020.png"
    deadline = time.monotonic() + 120
    while not started.exists() and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.2)
    assert started.exists(), process.communicate()[1][-3000:] if process.poll() is not None else "no progress"
    process.send_signal(signum)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 0, stderr[-3000:]
    last = tmp_path / "run" / "checkpoints" / "last.ckpt"
    iteration = read_checkpoint(last)["iteration"]
    assert 20 <= iteration < 100000
    assert f"received {signum.name} at iteration {iteration}: saved {last}" in stderr


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (["n_critic=0"], "n_critic must be a positive integer, got 0"),
        (["optim.critic.lr=-0.001"], "optim.critic.lr must be positive, got -0.001"),
        (["data.batches_per_step=3"], "data.batches_per_step=3 but n_critic=2"),
        (["trainer.max_steps=0"], "trainer.max_steps counts generator iterations and must be positive"),
        (["ckpt_path=a.ckpt", "resume=auto"], "either ckpt_path=FILE or resume=RUN_DIR|auto, not both"),
        (["loss.distance=l3"], "GAN-QP distance must be 'l1' or 'l2', got 'l3'"),
        (["model.critic.norm=group"], "unknown normalisation 'group'; choose one of"),
        (["constraint=gp", "model.critic.norm=batch"], "batch norm"),
        (["data=ring8", "model=dcgan"], "use model=mlp for 2-D toy data"),
        (["data.resolution=48"], "the dcgan model supports resolutions (32, 64), got 48"),
        (["data=ring8", "data.num_samples=50", "batch_size=64"], "has only 50"),
    ],
)
def test_impossible_config_fails_before_training_with_one_sentence(tmp_path, overrides, message):
    with pytest.raises(ConfigError) as error:
        train(compose_config([*FAST, "trainer.max_steps=1", *overrides], tmp_path))
    assert message in str(error.value)
    assert not (tmp_path / "checkpoints").exists()  # nothing trained, nothing saved


@pytest.mark.parametrize(
    ("overrides", "warned"),
    [
        (["loss=wgan"], "loss=wgan without a Lipschitz constraint"),
        (["loss=gan"], "loss=gan uses the saturating generator loss"),
        (["loss=wgan", "constraint=gp"], None),
        (["loss=wgan", "constraint=[gp,sn]"], None),
        (["loss=ns_gan"], None),
    ],
)
def test_dubious_config_warns_why(overrides, warned):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        check_config(compose_config(overrides))
    messages = [str(w.message) for w in caught if issubclass(w.category, DubiousConfigWarning)]
    if warned is None:
        assert messages == []
    else:
        assert len(messages) == 1 and messages[0].startswith(warned)


def test_unknown_choice_names_the_valid_ones(tmp_path):
    result = run_train_script(["loss=wasserstein"], cwd=tmp_path, check=False)
    assert result.returncode == 1
    assert "Could not find 'loss/wasserstein'" in result.stderr
    assert all(name in result.stderr for name in ("gan_qp", "hinge", "wgan"))


def test_train_script_prints_config_errors_without_a_traceback(tmp_path):
    result = run_train_script(["n_critic=0"], cwd=tmp_path, check=False)
    assert result.returncode == 1
    assert result.stderr.strip().endswith("error: n_critic must be a positive integer, got 0")
    assert "Traceback" not in result.stderr


def test_wandb_with_credentials_but_no_server_goes_offline_at_once(tmp_path, monkeypatch, caplog):
    monkeypatch.delenv("WANDB_MODE")
    monkeypatch.setenv("WANDB_API_KEY", "0" * 40)
    monkeypatch.setenv("WANDB_BASE_URL", "http://127.0.0.1:9")  # the discard port: nothing listens
    started = time.monotonic()
    logger = wandb_logger(save_dir=str(tmp_path), mode="auto")
    assert time.monotonic() - started < 10
    assert logger._wandb_init["mode"] == "offline"
    notes = [r.getMessage() for r in caplog.records if "W&B" in r.getMessage()]
    assert len(notes) == 1 and "cannot reach 127.0.0.1:9" in notes[0] and "wandb sync" in notes[0]

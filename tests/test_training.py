"""Real training runs on CPU: every loss x constraint on toy data, the DCGAN on digits, and the
bookkeeping that makes runs comparable (iteration counting, logs, samples, checkpoints)."""

import csv
import math

import lightning as L
import pytest
import torch
import wandb
from hydra import compose, initialize_config_dir
from hydra.core.hydra_config import HydraConfig
from omegaconf import open_dict

from conftest import CONF, FAST, QUIET, TINY_MLP, compose_config, fit
from ganarena.game.constraints import Constraint
from ganarena.game.losses import NonSaturatingLoss
from ganarena.run.build import build_run
from ganarena.run.monitor import training_monitor

TINY_DCGAN = ["model.generator.width=8", "model.critic.width=8", "latent_dim=16"]


def logged_rows(run_dir) -> list[dict[str, str]]:
    with open(run_dir / "csv" / "metrics.csv") as f:
        return list(csv.DictReader(f))


def changed(before: dict, module, prefix: str) -> bool:
    after = module.state_dict()
    keys = [k for k in before if k.startswith(prefix) and before[k].is_floating_point()]
    return bool(keys) and any(not torch.equal(before[k], after[k]) for k in keys)


@pytest.mark.parametrize("loss", sorted(p.stem for p in (CONF / "loss").glob("*.yaml")))
@pytest.mark.parametrize("constraint", sorted(p.stem for p in (CONF / "constraint").glob("*.yaml")))
def test_every_loss_and_constraint_trains_on_toy_data(loss, constraint, tmp_path):
    module, trainer, before = fit([f"loss={loss}", f"constraint={constraint}", "data=ring8", *TINY_MLP], tmp_path)
    assert module.iteration == 3 and trainer.global_step == 3
    rows = logged_rows(tmp_path)
    assert [int(r["step"]) for r in rows] == [0, 1, 2]
    adds_penalty = any(type(c).penalty is not Constraint.penalty for c in module.constraints)
    for row in rows:
        for key in ("train/critic_loss", "train/generator_loss"):
            assert math.isfinite(float(row[key])), (key, row)
        assert ("train/penalty" in row) == adds_penalty
        assert ("train/wasserstein_estimate" in row) == (loss == "wgan")
    assert changed(before, module, "generator.") and changed(before, module, "critic.")
    if constraint == "clip":
        assert all(p.abs().max() <= 0.01 for p in module.critic.parameters())
    assert (tmp_path / "samples" / "iter_000003.png").exists()


@pytest.mark.parametrize("constraint", ["none", "gp", "sn", "[gp,sn]"])
def test_dcgan_trains_on_digits(constraint, tmp_path):
    module, _trainer, before = fit([f"constraint={constraint}", "data=digits", *TINY_DCGAN], tmp_path)
    rows = logged_rows(tmp_path)
    assert len(rows) == 3 and all(math.isfinite(float(r["train/generator_loss"])) for r in rows)
    assert changed(before, module, "generator.") and changed(before, module, "critic.")


@pytest.mark.parametrize("augment", sorted(p.stem for p in (CONF / "augment").glob("*.yaml")))
def test_every_augmentation_trains_the_relativistic_r1_dcgan_on_digits(augment, tmp_path):
    """The issue's command, `loss=rasgan constraint=[r1] augment=... data=digits`, on tiny networks."""
    overrides = ["loss=rasgan", "constraint=[r1]", f"augment={augment}", "data=digits", *TINY_DCGAN]
    module, _trainer, before = fit(overrides, tmp_path)
    rows = logged_rows(tmp_path)
    assert len(rows) == 3 and all(math.isfinite(float(r["train/penalty"])) for r in rows)
    assert ("train/augment_p" in rows[0]) == (augment != "none")
    assert changed(before, module, "generator.") and changed(before, module, "critic.")


class RecordingLoss(NonSaturatingLoss):
    """Non-saturating loss that remembers which real batches each side saw."""

    def __init__(self):
        self.critic_batches, self.generator_calls = [], 0

    def critic_loss(self, d_real, d_fake, x_real, x_fake):
        self.critic_batches.append(x_real.detach().clone())
        return super().critic_loss(d_real, d_fake, x_real, x_fake)

    def generator_loss(self, d_real, d_fake):
        self.generator_calls += 1
        return super().generator_loss(d_real, d_fake)


def test_an_iteration_is_n_critic_updates_on_fresh_batches_then_one_generator_update(tmp_path):
    cfg = compose_config([*FAST, "data=grid25", "n_critic=3", "trainer.max_steps=4", *TINY_MLP], tmp_path)
    L.seed_everything(0)
    datamodule, module, trainer = build_run(cfg)
    module.loss = RecordingLoss()
    trainer.fit(module, datamodule=datamodule)

    assert module.loss.generator_calls == 4 and len(module.loss.critic_batches) == 12
    assert trainer.global_step == 4 == module.iteration  # critic steps do not advance it
    seen = torch.cat(module.loss.critic_batches)
    assert seen.shape == (12 * 16, 2)
    assert len(torch.unique(seen, dim=0)) == len(seen)  # every critic update had its own real batch
    generator_opt, critic_opt = trainer.optimizers
    assert all(s["step"].item() == 4 for s in generator_opt.state.values())
    assert all(s["step"].item() == 12 for s in critic_opt.state.values())


class ProgressBarRecorder(L.Callback):
    """After every iteration: the progress bar's losses, and the module's latest checked readings."""

    def __init__(self):
        self.shown: list[dict[str, float]] = []
        self.checked: list[dict[str, float]] = []

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
        self.shown.append(dict(trainer.progress_bar_metrics))
        latest = training_monitor(trainer).guard.latest
        self.checked.append({name: latest[f"train/{name}"].item() for name in ("critic_loss", "generator_loss")})


def test_progress_bar_shows_the_checked_losses_at_the_loggers_pace(tmp_path):
    overrides = [*FAST, "data=ring8", *TINY_MLP, "trainer.max_steps=7", "trainer.log_every_n_steps=3"]
    cfg = compose_config(overrides, tmp_path)
    L.seed_everything(0)
    datamodule, module, trainer = build_run(cfg)
    recorder = ProgressBarRecorder()
    trainer.callbacks.append(recorder)
    trainer.fit(module, datamodule=datamodule)

    losses = [{k: v for k, v in shown.items() if k in ("critic_loss", "generator_loss")} for shown in recorder.shown]
    assert losses[:2] == [{}, {}]
    # Shown at iterations 3 and 6 and kept until the next showing; the losses move in between.
    assert losses[2:5] == [recorder.checked[2]] * 3
    assert losses[5:7] == [recorder.checked[5]] * 2
    assert recorder.checked[2] != recorder.checked[5] != recorder.checked[6]


def test_optimizers_follow_their_own_config(tmp_path):
    module, trainer, _ = fit(
        ["data=ring8", *TINY_MLP, "optim.critic.lr=4e-4", "optim.generator.lr=1e-4", "optim.critic.betas=[0.0,0.9]"],
        tmp_path,
        steps=1,
    )
    generator_opt, critic_opt = trainer.optimizers
    assert generator_opt.param_groups[0]["lr"] == 1e-4 and critic_opt.param_groups[0]["lr"] == 4e-4
    assert tuple(critic_opt.param_groups[0]["betas"]) == (0.0, 0.9)
    assert {id(p) for p in generator_opt.param_groups[0]["params"]} == {id(p) for p in module.generator.parameters()}


def test_checkpoint_holds_everything_to_continue(tmp_path):
    fit(["data=digits", *TINY_DCGAN, "callbacks.checkpoint.every_n_train_steps=2", "constraint=sn"], tmp_path, 5)
    checkpoints = tmp_path / "checkpoints"
    assert sorted(p.name for p in checkpoints.iterdir()) == ["iter_000002.ckpt", "iter_000004.ckpt", "last.ckpt"]
    ckpt = torch.load(checkpoints / "last.ckpt", map_location="cpu", weights_only=False)
    assert ckpt["iteration"] == 5 and ckpt["global_step"] == 5
    assert any(k.startswith("generator.") for k in ckpt["state_dict"])
    assert any(k.startswith("critic.") for k in ckpt["state_dict"])
    assert len(ckpt["optimizer_states"]) == 2
    assert ckpt["config"]["loss"]["_target_"] == "ganarena.game.losses.GANQPLoss"
    assert ckpt["config"]["paths"]["output_dir"] == str(tmp_path)  # resolved, not interpolations
    middle = torch.load(checkpoints / "iter_000002.ckpt", map_location="cpu", weights_only=False)
    assert middle["iteration"] == 2


def test_sample_pictures_show_images_and_scatter_plots(tmp_path):
    from PIL import Image

    fit(["data=digits", *TINY_DCGAN, "callbacks.samples.every_n_iterations=2"], tmp_path / "img", 4)
    pictures = sorted(p.name for p in (tmp_path / "img" / "samples").iterdir())
    # The trained generator's grids, and the default average's on the same noise.
    assert pictures == ["ema_iter_000002.png", "ema_iter_000004.png", "iter_000002.png", "iter_000004.png"]
    grid = Image.open(tmp_path / "img" / "samples" / "iter_000004.png")
    assert grid.size == (8 * 34 + 2, 8 * 34 + 2)  # 64 digits of 32x32, 2-pixel padding

    fit(["data=grid25", *TINY_MLP], tmp_path / "toy", 2)
    scatter = Image.open(tmp_path / "toy" / "samples" / "iter_000002.png").convert("RGB")
    colours = set(scatter.getdata())
    assert (150, 150, 150) in colours and (214, 39, 40) in colours  # real and generated points


def test_tensorboard_logger_writes_events_beside_the_csv(tmp_path):
    fit(["data=ring8", *TINY_MLP, "logger=tensorboard"], tmp_path, 2)
    assert list((tmp_path / "tensorboard").glob("events.out.tfevents.*"))
    assert len(logged_rows(tmp_path)) == 2


def test_wandb_without_credentials_goes_offline(tmp_path, monkeypatch):
    monkeypatch.delenv("WANDB_MODE")
    monkeypatch.delenv("WANDB_API_KEY", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))  # no ~/.netrc
    monkeypatch.setenv("WANDB_CONFIG_DIR", str(tmp_path / "wandb_config"))
    fit(["data=ring8", *TINY_MLP, "logger=wandb"], tmp_path, 2)
    assert wandb.run is None  # finished with the training, ready for the next job of a sweep
    runs = list((tmp_path / "wandb").glob("offline-run-*"))
    assert len(runs) == 1 and list(runs[0].glob("*.wandb"))
    assert len(logged_rows(tmp_path)) == 2


class RecordedWandbRun:
    """What `wandb.init` returns to the WandbLogger: records what the run is given instead of sending it."""

    def __init__(self, **init):
        self.init, self.logged, self.config_updates, self.exit_code = init, [], [], None
        self.id, self.name = "recorded", init.get("name")
        self.config = self  # the logger calls run.config.update(...)

    def update(self, values, **kwargs):
        self.config_updates.append(dict(values))

    def log(self, values, **kwargs):
        self.logged.append(dict(values))

    def finish(self, exit_code=None, **kwargs):
        self.exit_code = exit_code


def test_a_sweep_job_gives_wandb_its_overrides_as_name_its_sweep_as_group_and_metrics_by_iteration(
    tmp_path, monkeypatch
):
    runs = []
    monkeypatch.setattr(wandb, "init", lambda **init: runs.append(RecordedWandbRun(**init)) or runs[-1])
    job = ["trainer.accelerator=cpu", *QUIET, "logger=wandb", "data=ring8", "loss=wgan", "constraint=gp"]
    job += ["trainer.max_steps=3", "trainer.log_every_n_steps=1", "metrics.toy_modes.every_n_iterations=3"]
    sweep = tmp_path / "multiruns" / "2026-11-30_12-00-00"
    hydra_keys = ["hydra.mode=MULTIRUN", f"hydra.sweep.dir={sweep}", f"hydra.runtime.output_dir={sweep / '0'}"]
    # The config a job of `src/train.py -m` sees: Hydra's own node describes the sweep and the job.
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        cfg = compose(config_name="train", overrides=[*job, *hydra_keys], return_hydra_config=True)
    HydraConfig.instance().set_config(cfg)
    try:
        with open_dict(cfg):
            del cfg["hydra"]
        L.seed_everything(cfg.seed)
        datamodule, module, trainer = build_run(cfg)
        trainer.fit(module, datamodule=datamodule)
    finally:
        HydraConfig.instance().cfg = None

    (run,) = runs
    # Named after the job's overrides (the device choice left out), grouped under the sweep's directory.
    assert run.init["name"] == (
        "+trainer.enable_model_summary=false,constraint=gp,data=ring8,logger=wandb,loss=wgan,"
        "metrics.toy_modes.every_n_iterations=3,trainer.enable_progress_bar=false,"
        "trainer.log_every_n_steps=1,trainer.max_steps=3"
    )
    assert run.init["group"] == "2026-11-30_12-00-00"
    assert (run.init["project"], run.init["dir"], run.init["mode"]) == ("ganarena", str(sweep / "0"), "offline")
    # Training means at Lightning's 0-based step, evaluations and samples at the iteration count.
    train_keys = {"epoch", "train/critic_loss", "train/generator_loss", "train/penalty", "train/wasserstein_estimate"}
    val_keys = {"val/modes_captured", "val/high_quality_percent", "val/reverse_kl"}
    val_keys |= {f"{key}_ema" for key in val_keys}  # the default average, scored beside the trained generator
    steps = [(row["trainer/global_step"], set(row) - {"trainer/global_step"}) for row in run.logged]
    assert steps == [
        *[(step, train_keys) for step in range(3)],
        (3, val_keys),
        (3, {"samples"}),
        (3, {"samples_ema"}),
    ]
    assert all(math.isfinite(row["train/critic_loss"]) for row in run.logged[:3])
    assert isinstance(run.logged[4]["samples"][0], wandb.Image)
    # The resolved run config at init (W&B filters and groups by it), then each evaluation's protocol.
    config = run.init["config"]
    assert config["loss"]["_target_"] == "ganarena.game.losses.WassersteinLoss"
    assert (config["constraint"]["gp"]["weight"], config["trainer"]["max_steps"], config["seed"]) == (10.0, 3, cfg.seed)
    assert [list(update) for update in run.config_updates] == [["protocol/toy_modes"]]
    assert run.exit_code == 0  # finished, so the next job of the sweep opens its own run

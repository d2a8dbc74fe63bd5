"""The speed benchmark's runs: composed from the real Hydra config, built by ganarena, timed over a window.

    cfg = compose_run(["experiment=gan_qp"], output_dir, torch.device("cpu"))
    datamodule, module, trainer = lightning_run(cfg)     # as src/train.py builds it
    datamodule, module = plain_run(cfg)                  # the same module from the same seed, no Trainer
    seconds = lightning_seconds(["experiment=gan_qp"], args, iterations=8)

Every run uses the CSV logger only and no evaluations; the sample-grid and checkpoint callbacks
keep their per-iteration checks but are scheduled beyond the run (RUN_OVERRIDES).
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

import lightning as L
import torch
from hydra import compose, initialize_config_dir
from hydra.utils import instantiate

import ganarena.run  # noqa: F401  (registers gan_ddp and the config resolvers)
from ganarena.run.build import build_evaluations, build_module, build_run
from ganarena.run.direct_updates import DirectUpdatesAtFitStart
from ganarena.run.finite_guard import FiniteGuard
from ganarena.run.monitor import training_monitor

from .plain_loop import CompiledPlainLoop, PlainLoop, endless_batches
from .timing import WindowClock, clock, synchronize

REPO = Path(__file__).resolve().parents[2]
# What a normal run has, minus what is measured elsewhere or not at all (see benchmark_speed.py).
# The sample-grid and checkpoint callbacks stay, scheduled beyond the run: without a checkpoint
# callback Lightning would add its own, which saves at every epoch end.
NEVER = 10**9
RUN_OVERRIDES = [
    "run_name=benchmark",
    "logger=csv",
    "metrics=none",
    "ema=none",  # the plain loop keeps no averaged generator: like against like
    f"callbacks.samples.every_n_iterations={NEVER}",
    f"callbacks.checkpoint.every_n_train_steps={NEVER}",
    "callbacks.checkpoint.save_last=false",
    "+trainer.enable_model_summary=false",
]


def preset_overrides(preset: str) -> list[str]:
    """A preset is a list of config overrides in one string ("experiment=wgan_gp data=mnist")."""
    return preset.split()


def compose_run(overrides: list[str], output_dir: str | Path, device: torch.device, progress_bar: bool = True):
    """The config src/train.py would build for `overrides`, trimmed to what the benchmark times."""
    accelerator = "gpu" if device.type == "cuda" else "cpu"
    with initialize_config_dir(config_dir=str(REPO / "conf"), version_base="1.3"):
        return compose(
            config_name="train",
            overrides=[
                f"paths.output_dir={output_dir}",
                *RUN_OVERRIDES,
                f"trainer.accelerator={accelerator}",
                "trainer.devices=1",
                f"trainer.enable_progress_bar={str(progress_bar).lower()}",
                *overrides,
            ],
        )


def lightning_run(cfg):
    """The data module, GANModule and Trainer that src/train.py builds from `cfg`, seeded with `cfg.seed`."""
    L.seed_everything(cfg.seed, workers=True)
    return build_run(cfg)


def plain_run(cfg):
    """The data module and GANModule of `cfg`, seeded alike: the same initial weights as `lightning_run`."""
    L.seed_everything(cfg.seed, workers=True)
    datamodule = instantiate(cfg.data)
    return datamodule, build_module(cfg, datamodule.shape)


def fid_evaluation(cfg, device: torch.device):
    """The `fid` evaluation of `cfg` (metrics=fid), its run's initial generator on `device`, and its data module."""
    datamodule, module = plain_run(cfg)
    (evaluation,) = [e for e in build_evaluations(cfg, datamodule) if e.name == "fid"]
    return evaluation, module.generator.to(device), datamodule


def quiet_fit(trainer: L.Trainer, module: L.LightningModule, datamodule) -> None:
    """trainer.fit with the progress bar drawn into /dev/null (it writes to stdout)."""
    with open(os.devnull, "w") as sink, contextlib.redirect_stdout(sink):
        trainer.fit(module, datamodule=datamodule)


def switch_off(module: L.LightningModule, method: str, stand_in) -> None:
    """Replace one method of this module instance (profile variants); a renamed method fails here."""
    if not callable(getattr(module, method, None)):
        raise AttributeError(f"GANModule has no method {method}: update the profile variants")
    setattr(module, method, stand_in)


def lightning_seconds(
    overrides: list[str], args, iterations: int, variant: dict[str, bool] | None = None, warmup: list | None = None
) -> float:
    """Seconds for `iterations` generator iterations after warm-up, trained by lightning.Trainer.

    variant (the profile section's): progress_bar, logging, finite_check and direct (the direct
    update path where it applies; False: Lightning's path throughout), each True unless given;
    compile (compile=true), False unless given. `warmup` receives the seconds from the start
    of training to the timed window.
    """
    variant = variant or {}
    progress_bar = variant.get("progress_bar", not args.no_progress_bar)
    if variant.get("compile"):
        overrides = [*overrides, "compile=true"]
    with tempfile.TemporaryDirectory(prefix="benchmark_speed_") as output_dir:
        stop = args.warmup + iterations
        cfg = compose_run([*overrides, f"trainer.max_steps={stop + 1}"], output_dir, args.device, progress_bar)
        datamodule, module, trainer = lightning_run(cfg)
        monitor = training_monitor(trainer)
        if not variant.get("logging", True):
            switch_off(module, "log_dict", lambda *_args, **_kwargs: None)
            monitor.guard.on_checked = None
        if not variant.get("finite_check", True):
            trainer.callbacks.remove(monitor)
        if not variant.get("direct", True):
            trainer.callbacks[:] = [c for c in trainer.callbacks if not isinstance(c, DirectUpdatesAtFitStart)]
        clock = WindowClock(args.warmup, stop, args.device)
        trainer.callbacks.append(clock)
        quiet_fit(trainer, module, datamodule)
        if warmup is not None:
            warmup.append(clock.warmup_seconds)
        return clock.seconds


def plain_seconds(overrides: list[str], args, iterations: int, variant: dict[str, bool] | None = None) -> float:
    """Seconds for `iterations` iterations of PlainLoop after warm-up, over the same window as Lightning's.

    variant: finite_check adds the TrainingMonitor's `FiniteGuard` (deferred=False: checked at
    once, so on a GPU the host waits for the device every iteration); compile: CompiledPlainLoop.
    """
    variant = variant or {}
    loop_class = CompiledPlainLoop if variant.get("compile") else PlainLoop
    guard = None
    if variant.get("finite_check"):
        guard = FiniteGuard(advice=lambda: "the plain loop stopped.", deferred=variant.get("deferred"))
    with tempfile.TemporaryDirectory(prefix="benchmark_speed_") as output_dir:
        datamodule, module = plain_run(compose_run(overrides, output_dir, args.device))
        loop = loop_class(module, args.device, guard)
        datamodule.setup("fit")
        batches = (batch.to(args.device, non_blocking=True) for batch in endless_batches(datamodule.train_dataloader()))
        for _ in range(args.warmup):
            loop.iteration(next(batches))
        batch = next(batches)
        synchronize(args.device)
        started = clock()
        for _ in range(iterations):
            loop.iteration(batch)
            batch = next(batches)
        synchronize(args.device)
        return clock() - started

"""Speed figures of ganarena: Lightning overhead, constraint cost, FID evaluation cost, data loading.

    python scripts/benchmark_speed.py                                  # CPU, every section
    python scripts/benchmark_speed.py --device cuda --json speed.json  # GPU, 10k/10k FID
    python scripts/benchmark_speed.py --sections lightning profile --presets experiment=gan_qp
    python scripts/benchmark_speed.py --presets experiment=gan_qp "experiment=wgan_gp model.critic.width=32"

Every run is built from the real Hydra config (conf/train.yaml, as src/train.py composes it),
with the CSV logger only (no W&B) and no evaluations (metrics=none: FID has its own section).
The sample-grid and checkpoint callbacks keep their per-iteration checks but are scheduled
beyond the run, so no picture or checkpoint is written (a normal run writes one every few
hundred iterations). Kept as in a normal run: the preemption callback, the per-iteration
reduction and non-finite check of GANModule with the losses logged every `log_every_n_steps`,
and the progress bar (rendered into /dev/null: its formatting is timed, a terminal's drawing is
not; --no-progress-bar drops it).
A preset is a list of config overrides in one string ("experiment=wgan_gp data=mnist").

Sections (--sections; all by default):

lightning   Generator iterations per second of GANModule under `lightning.Trainer` against
            `PlainLoop`, the module's own `critic_objective` and `generator_objective` with
            plain backward and optimiser steps, in the same process:
            the same construction from the same seed (so identical initial weights), the same
            loss and constraint objects, optimiser factories, n_critic, batch and data loader
            (same batches in the same order), and the same update order. A timed window starts
            once iteration --warmup has its batch on the device and ends when iteration
            --warmup + --iterations has its batch: it holds whole iterations, data fetching and
            host-to-device copies included. The plain loop logs nothing and checks nothing, so
            the ratio lightning / plain is everything the Trainer and the module add. Before
            timing, `equivalence_report` proves for each preset that both do the same work;
            where the two differ, it also reports how far gradients that differ by float32
            rounding alone drift apart (`RoundingNoisePlainLoop`), for scale.
profile     Where Lightning's extra time goes, for --profile-presets: the same window with the
            progress bar off, then also logging off, then also the per-iteration reduction and
            non-finite check off; and the plain loop with that check (`FiniteGuard`) added, as the
            module runs it and with the host waiting for its result every iteration.
constraints Seconds per generator iteration (Lightning, as above) with each of --constraints on
            the same loss, n_critic and network (--constraint-base; the critic normalisation is
            pinned so that every constraint trains the same critic), as ratios to the first.
fid         One FID/KID evaluation as training runs it (the `metrics=fid` callback's `run`):
            cold (empty temporary cache: loads the backbone, embeds --fid-real real images,
            generates and embeds --fid-fake images, computes FID and KID), warm (a new evaluation
            whose real features are cached) and repeat (the warm evaluation again: what every
            later evaluation of a run costs). Real images/s: the real images over the cold
            evaluation's real side (its preparation less the backbone's loading); fake images/s:
            the generated images over a repeat, FID and KID computation included.
data        Images per second the training DataLoader of the data module delivers (the one
            Lightning iterates), alone and with the copy to the device, against images per
            second training consumes (batch_size * n_critic per generator iteration, at the
            Lightning rates of the lightning section, or measured here when it did not run).

Rounds alternate the measured variants (--rounds times, every other round in reverse order) and
medians are reported; on a CPU shared with other work, differences of a few per cent are within
the spread of the rounds. CUDA is synchronised before every clock reading. --json writes every
figure, each round included.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import platform
import statistics
import tempfile
import time
import warnings
from collections.abc import Iterator
from functools import partial
from pathlib import Path
from typing import Any

import lightning as L
import torch
from hydra import compose, initialize_config_dir
from hydra.utils import instantiate
from torch import Tensor

import ganarena  # noqa: F401  (registers gan_ddp and the config resolvers)
from ganarena.experiment import build_evaluations, build_module, build_run
from ganarena.finite_guard import FiniteGuard
from ganarena.module import GANModule
from ganarena.monitor import training_monitor, weight_checksum

REPO = Path(__file__).resolve().parents[1]
SECTIONS = ("lightning", "profile", "constraints", "fid", "data")
# What a normal run has, minus what is measured elsewhere or not at all (see the docstring).
# The sample-grid and checkpoint callbacks stay, scheduled beyond the run: without a checkpoint
# callback Lightning would add its own, which saves at every epoch end.
NEVER = 10**9
RUN_OVERRIDES = [
    "run_name=benchmark",
    "logger=csv",
    "metrics=none",
    f"callbacks.samples.every_n_iterations={NEVER}",
    f"callbacks.checkpoint.every_n_train_steps={NEVER}",
    "callbacks.checkpoint.save_last=false",
    "+trainer.enable_model_summary=false",
]
NOISE_SEED = 1234
DEFAULTS = {
    "cpu": {"iterations": 8, "warmup": 2, "fid_real": 64, "fid_fake": 32},
    "cuda": {"iterations": 200, "warmup": 20, "fid_real": 10_000, "fid_fake": 10_000},
}
PROFILE_VARIANTS = {
    "lightning": {},
    "no progress bar": {"progress_bar": False},
    "+ no logging": {"progress_bar": False, "logging": False},
    "+ no finite check": {"progress_bar": False, "logging": False, "finite_check": False},
    "plain + finite check": {"plain": True, "finite_check": True},
    "plain + finite check, host waits": {"plain": True, "finite_check": True, "deferred": False},
    "plain": {"plain": True},
}


# The plain loop ----------------------------------------------------------------------------


class PlainLoop:
    """GANModule's training step without Trainer, hooks, logging or (unless given one) non-finite check.

    It repeats `GANModule.training_step` update for update: one critic update per real chunk
    (fresh noise), then one generator update on the last chunk. `finite_guard` adds what the
    TrainingMonitor does after every iteration: the losses and weight checksums handed to a
    `FiniteGuard`.
    """

    def __init__(self, module: GANModule, device: torch.device | str, finite_guard: FiniteGuard | None = None):
        self.device = torch.device(device)
        # The whole module moves, not only its networks: its objectives draw noise on `module.device`.
        self.module = module.to(self.device).train()
        self.generator = module.generator
        self.critic = module.critic
        self.constraints = module.constraints
        self.n_critic = module.n_critic
        self.generator_optimizer = module.generator_optimizer(self.generator.parameters())
        self.critic_optimizer = module.critic_optimizer(self.critic.parameters())
        self.finite_guard = finite_guard
        self.iterations = 0

    def iteration(self, batch: Tensor) -> None:
        real_batches = batch.chunk(self.n_critic)
        critic_logs = [self.critic_update(real) for real in real_batches]
        generator_loss = self.generator_update(real_batches[-1])
        if self.finite_guard is not None:
            self.iterations += 1
            checks = {name: torch.stack([log[name] for log in critic_logs]).mean() for name in critic_logs[0]}
            checks["generator_loss"] = generator_loss
            checks["generator weights"] = weight_checksum(self.generator)
            checks["critic weights"] = weight_checksum(self.critic)
            self.finite_guard.submit(self.iterations, checks)

    def critic_update(self, real: Tensor) -> dict[str, Tensor]:
        total, logs = self.module.critic_objective(real)
        self.critic_optimizer.zero_grad(set_to_none=True)
        total.backward()
        self.critic_optimizer.step()
        for constraint in self.constraints:
            constraint.after_critic_step(self.critic)
        return logs

    def generator_update(self, real: Tensor) -> Tensor:
        loss = self.module.generator_objective(real)
        self.generator_optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.generator_optimizer.step()
        return loss.detach()


class RoundingNoisePlainLoop(PlainLoop):
    """PlainLoop whose every weight gradient is off by float32 rounding: a relative error of about 1e-7.

    A yardstick for the equivalence check on devices whose kernels do not reproduce their sums
    bit for bit (GPU reductions and atomics): how far two runs of the same work drift apart
    when only the last bits of their gradients differ. Adam's first steps are nearly
    lr * sign(gradient), so a weight whose gradient is close to zero moves by about lr one way
    or the other on a rounding difference alone.
    """

    def __init__(self, module: GANModule, device: torch.device | str, finite_guard: FiniteGuard | None = None):
        super().__init__(module, device, finite_guard)
        # Its own generator: the training's noise draws must not shift.
        rounding = torch.Generator(self.device).manual_seed(0)
        for parameter in [*self.generator.parameters(), *self.critic.parameters()]:
            parameter.register_hook(partial(with_rounding_noise, rounding=rounding))


def with_rounding_noise(gradient: Tensor, rounding: torch.Generator) -> Tensor:
    """`gradient` times 1 + e, e drawn from N(0, 2^-23): a relative error the size of float32's last bit."""
    noise = torch.randn(gradient.shape, generator=rounding, device=gradient.device, dtype=gradient.dtype)
    return gradient * (1 + 2.0**-23 * noise)


def endless_batches(loader) -> Iterator[Tensor]:
    """Epoch after epoch, as Lightning iterates the loader with max_epochs=-1."""
    while True:
        yield from loader


# Building runs and reading clocks -----------------------------------------------------------


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


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


class WindowClock(L.Callback):
    """Clock readings when iterations `start` and `stop` begin (their batch already on the device)."""

    def __init__(self, start: int, stop: int, device: torch.device):
        self.start, self.stop, self.device = start, stop, device
        self.readings: dict[int, float] = {}

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
        if pl_module.iteration in (self.start, self.stop):
            synchronize(self.device)
            self.readings[pl_module.iteration] = time.perf_counter()

    @property
    def seconds(self) -> float:
        if self.stop not in self.readings:
            # The preemption callback ends a run cleanly on SIGTERM (a `timeout`, for one).
            raise RuntimeError(f"training stopped before iteration {self.stop}: the timed window is incomplete")
        return self.readings[self.stop] - self.readings[self.start]


def quiet_fit(trainer: L.Trainer, module: GANModule, datamodule) -> None:
    """trainer.fit with the progress bar drawn into /dev/null (it writes to stdout)."""
    with open(os.devnull, "w") as sink, contextlib.redirect_stdout(sink):
        trainer.fit(module, datamodule=datamodule)


def switch_off(module: GANModule, method: str, stand_in) -> None:
    """Replace one method of this module instance (profile variants); a renamed method fails here."""
    if not callable(getattr(module, method, None)):
        raise AttributeError(f"GANModule has no method {method}: update the profile variants")
    setattr(module, method, stand_in)


def lightning_seconds(overrides: list[str], args, iterations: int, variant: dict[str, bool] | None = None) -> float:
    """Seconds for `iterations` generator iterations after warm-up, trained by lightning.Trainer."""
    variant = variant or {}
    progress_bar = variant.get("progress_bar", not args.no_progress_bar)
    with tempfile.TemporaryDirectory(prefix="benchmark_speed_") as output_dir:
        stop = args.warmup + iterations
        cfg = compose_run([*overrides, f"trainer.max_steps={stop + 1}"], output_dir, args.device, progress_bar)
        L.seed_everything(cfg.seed, workers=True)
        datamodule, module, trainer = build_run(cfg)
        monitor = training_monitor(trainer)
        if not variant.get("logging", True):
            switch_off(module, "log_dict", lambda *_args, **_kwargs: None)
            monitor.guard.on_checked = None
        if not variant.get("finite_check", True):
            trainer.callbacks.remove(monitor)
        clock = WindowClock(args.warmup, stop, args.device)
        trainer.callbacks.append(clock)
        quiet_fit(trainer, module, datamodule)
        return clock.seconds


def plain_seconds(overrides: list[str], args, iterations: int, variant: dict[str, bool] | None = None) -> float:
    """Seconds for `iterations` iterations of PlainLoop after warm-up, over the same window as Lightning's.

    variant: finite_check adds GANModule's `FiniteGuard` (deferred=False: checked at once, so on
    a GPU the host waits for the device every iteration).
    """
    variant = variant or {}
    guard = None
    if variant.get("finite_check"):
        guard = FiniteGuard(advice=lambda: "the plain loop stopped.", deferred=variant.get("deferred"))
    with tempfile.TemporaryDirectory(prefix="benchmark_speed_") as output_dir:
        cfg = compose_run(overrides, output_dir, args.device)
        L.seed_everything(cfg.seed, workers=True)
        datamodule = instantiate(cfg.data)
        loop = PlainLoop(build_module(cfg, datamodule.shape), args.device, guard)
        datamodule.setup("fit")
        batches = (batch.to(args.device, non_blocking=True) for batch in endless_batches(datamodule.train_dataloader()))
        for _ in range(args.warmup):
            loop.iteration(next(batches))
        batch = next(batches)
        synchronize(args.device)
        started = time.perf_counter()
        for _ in range(iterations):
            loop.iteration(batch)
            batch = next(batches)
        synchronize(args.device)
        return time.perf_counter() - started


def preset_overrides(preset: str) -> list[str]:
    return preset.split()


# Equivalence: the plain loop does the module's work -----------------------------------------


class FirstBatchReseed(L.Callback):
    """Seeds the noise just before the first training step and keeps every batch trained on."""

    def __init__(self, seed: int):
        self.seed = seed
        self.batches: list[Tensor] = []

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
        if pl_module.iteration == 0:
            torch.manual_seed(self.seed)
        self.batches.append(batch.detach().cpu().clone())


def network_states(module: GANModule) -> dict[str, Tensor]:
    """Both networks' parameters and buffers (batch-norm statistics, spectral-norm vectors), on the CPU."""
    states = {f"generator.{k}": v for k, v in module.generator.state_dict().items()}
    states.update({f"critic.{k}": v for k, v in module.critic.state_dict().items()})
    return {k: v.detach().cpu().clone() for k, v in states.items() if v.is_floating_point()}


def largest_difference(first: dict[str, Tensor], second: dict[str, Tensor]) -> float:
    if first.keys() != second.keys():
        raise ValueError(f"different tensors: {sorted(first.keys() ^ second.keys())}")
    return max((first[k] - second[k]).abs().max().item() for k in first)


def equivalence_report(
    overrides: list[str] = (),
    device: torch.device | str = "cpu",
    iterations: int = 1,
    tolerance: float = 1e-6,
    plain_loop: type[PlainLoop] = PlainLoop,
) -> dict[str, Any]:
    """Train `iterations` generator iterations with Lightning and with `plain_loop` from the same start.

    Both are built from the same config and seed (their initial weights are compared), see the
    same batches (compared) and draw noise from the same seed; afterwards every parameter and
    buffer of both networks is compared. `equal` is True when the largest difference is within
    `tolerance` while training moved the weights by far more than that. cuDNN runs its
    deterministic kernels here, so GPUs compare as exactly as CPUs.
    """
    device = torch.device(device)
    with tempfile.TemporaryDirectory(prefix="benchmark_speed_") as output_dir:
        cfg = compose_run([*overrides, f"trainer.max_steps={iterations}"], output_dir, device, progress_bar=False)
        L.seed_everything(cfg.seed, workers=True)
        datamodule, module, trainer = build_run(cfg)
        L.seed_everything(cfg.seed, workers=True)
        plain_datamodule = instantiate(cfg.data)
        plain_module = build_module(cfg, plain_datamodule.shape)
        initial = network_states(plain_module)
        initial_difference = largest_difference(network_states(module), initial)

        recorder = FirstBatchReseed(NOISE_SEED)
        trainer.callbacks.append(recorder)
        with torch.backends.cudnn.flags(enabled=True, benchmark=False, deterministic=True):
            quiet_fit(trainer, module, datamodule)
            loop = plain_loop(plain_module, device)
            plain_datamodule.setup("fit")
            batches = endless_batches(plain_datamodule.train_dataloader())
            torch.manual_seed(NOISE_SEED)
            plain_batches = []
            for _ in range(iterations):
                batch = next(batches).to(device)
                plain_batches.append(batch.cpu().clone())
                loop.iteration(batch)

    after = network_states(module)
    difference = largest_difference(after, network_states(plain_module))
    # Parameters only: batch-norm statistics move even where no optimiser step happened.
    parameters = {f"generator.{k}" for k, _ in module.generator.named_parameters()}
    parameters |= {f"critic.{k}" for k, _ in module.critic.named_parameters()}
    change = largest_difference(*({k: v for k, v in states.items() if k in parameters} for states in (after, initial)))
    same_batches = len(plain_batches) == len(recorder.batches) and all(
        torch.equal(a, b) for a, b in zip(plain_batches, recorder.batches, strict=True)
    )
    return {
        "iterations": iterations,
        "tensors": len(after),
        "initial_difference": initial_difference,
        "max_abs_difference": difference,
        "max_weight_change": change,
        "same_batches": same_batches,
        "tolerance": tolerance,
        "equal": initial_difference == 0 and same_batches and difference <= tolerance and change > 100 * tolerance,
    }


# Sections ----------------------------------------------------------------------------------


def in_round_order(names: list[str], round_index: int) -> list[str]:
    """Every other round runs the variants backwards: neither always goes first (cold caches) or last."""
    return names if round_index % 2 == 0 else names[::-1]


def median_rate(seconds: list[float], iterations: int) -> float:
    return statistics.median(iterations / s for s in seconds)


def run_lightning_section(args, results: dict) -> None:
    section = results.setdefault("lightning", {})
    equivalence = results.setdefault("equivalence", {})
    for preset in args.presets:
        report = equivalence_report(preset_overrides(preset), args.device, iterations=2)
        equivalence[preset] = report
        print(
            f"  equivalence {preset}: plain loop vs Lightning after 2 iterations: max |dw| ="
            f" {report['max_abs_difference']:.3g} (weights moved up to {report['max_weight_change']:.3g}),"
            f" same batches: {report['same_batches']} -> {'equal' if report['equal'] else 'DIFFERENT'}",
            flush=True,
        )
        if not report["equal"]:
            # Reported rather than fatal: a device whose kernels are not reproducible must not cost the other figures.
            print(f"  WARNING: the plain loop did not end where Lightning ended for {preset}: {report}", flush=True)
            yardstick = equivalence_report(
                preset_overrides(preset), args.device, iterations=2, plain_loop=RoundingNoisePlainLoop
            )
            report["rounding_noise_difference"] = yardstick["max_abs_difference"]
            print(
                f"  for scale: gradients off by float32 rounding alone end {yardstick['max_abs_difference']:.3g}"
                " apart on this device",
                flush=True,
            )

    measure = {"lightning": lightning_seconds, "plain": plain_seconds}
    runs: dict[str, dict[str, list[float]]] = {p: {"lightning": [], "plain": []} for p in args.presets}
    for round_index in range(args.rounds):
        for preset in args.presets:
            for name in in_round_order(list(measure), round_index):
                runs[preset][name].append(measure[name](preset_overrides(preset), args, args.iterations))
            print(
                f"  round {round_index + 1}/{args.rounds} {preset}: lightning"
                f" {args.iterations / runs[preset]['lightning'][-1]:.3f} it/s, plain"
                f" {args.iterations / runs[preset]['plain'][-1]:.3f} it/s",
                flush=True,
            )
    for preset in args.presets:
        cfg = compose_run(preset_overrides(preset), "unused", args.device)
        lightning_rate = median_rate(runs[preset]["lightning"], args.iterations)
        plain_rate = median_rate(runs[preset]["plain"], args.iterations)
        section[preset] = {
            "batch_size": cfg.batch_size,
            "n_critic": cfg.n_critic,
            "lightning_it_per_s": lightning_rate,
            "plain_it_per_s": plain_rate,
            "ratio_lightning_to_plain": lightning_rate / plain_rate,
            # Within one round both ran back to back: a steadier figure when the machine's load drifts.
            "paired_ratios": [
                plain / lightning
                for lightning, plain in zip(runs[preset]["lightning"], runs[preset]["plain"], strict=True)
            ],
            "lightning_seconds": runs[preset]["lightning"],
            "plain_seconds": runs[preset]["plain"],
        }


def run_profile_section(args, results: dict) -> None:
    section = results.setdefault("profile", {})
    for preset in args.profile_presets or args.presets[:1]:
        overrides = preset_overrides(preset)
        seconds: dict[str, list[float]] = {name: [] for name in PROFILE_VARIANTS}
        for round_index in range(args.rounds):
            for name in in_round_order(list(PROFILE_VARIANTS), round_index):
                variant = PROFILE_VARIANTS[name]
                if variant.get("plain"):
                    measured = plain_seconds(overrides, args, args.iterations, variant)
                else:
                    measured = lightning_seconds(overrides, args, args.iterations, variant)
                seconds[name].append(measured)
            print(f"  round {round_index + 1}/{args.rounds} {preset}: done", flush=True)
        plain_rate = median_rate(seconds["plain"], args.iterations)
        section[preset] = {
            name: {
                "it_per_s": median_rate(values, args.iterations),
                "ms_per_iteration": 1000 * statistics.median(values) / args.iterations,
                "ratio_to_plain": median_rate(values, args.iterations) / plain_rate,
                "seconds": values,
            }
            for name, values in seconds.items()
        }


def run_constraints_section(args, results: dict) -> None:
    section = results.setdefault("constraints", {})
    seconds: dict[str, list[float]] = {c: [] for c in args.constraints}
    for round_index in range(args.rounds):
        for constraint in in_round_order(args.constraints, round_index):
            overrides = [*args.constraint_base, f"constraint={constraint}"]
            seconds[constraint].append(lightning_seconds(overrides, args, args.iterations))
        print(f"  round {round_index + 1}/{args.rounds}: done", flush=True)
    baseline = statistics.median(seconds[args.constraints[0]]) / args.iterations
    for constraint, values in seconds.items():
        per_iteration = statistics.median(values) / args.iterations
        section[constraint] = {
            "s_per_iteration": per_iteration,
            f"ratio_to_{args.constraints[0]}": per_iteration / baseline,
            "seconds": values,
        }


def build_fid_evaluation(args, cache_dir: str):
    """The `metrics=fid` evaluation of the default run, its generator and data module."""
    cfg = compose_run(
        [
            "metrics=fid",
            f"metrics.fid.num_real={args.fid_real}",
            f"metrics.fid.num_fake={args.fid_fake}",
            f"metrics.fid.cache_dir={cache_dir}",
            *args.fid_overrides,
        ],
        cache_dir,
        args.device,
    )
    L.seed_everything(cfg.seed, workers=True)
    datamodule = instantiate(cfg.data)
    generator = build_module(cfg, datamodule.shape).generator.to(args.device)
    (evaluation,) = [e for e in build_evaluations(cfg, datamodule) if e.name == "fid"]
    return evaluation, generator, datamodule


class StopWatch:
    """Times every call of the methods it wraps, until the `with` block ends and unwraps them."""

    def __init__(self, device: torch.device):
        self.device = device
        self.seconds: dict[str, float] = {}
        self._wrapped: list[tuple[object, str]] = []

    def wrap(self, owner, method: str, name: str) -> None:
        original = getattr(owner, method)

        def timed(*args, **kwargs):
            synchronize(self.device)
            started = time.perf_counter()
            result = original(*args, **kwargs)
            synchronize(self.device)
            self.seconds[name] = time.perf_counter() - started
            return result

        setattr(owner, method, timed)
        self._wrapped.append((owner, method))

    def __enter__(self) -> StopWatch:
        return self

    def __exit__(self, *exception) -> None:
        for owner, method in reversed(self._wrapped):
            delattr(owner, method)  # the class's method shows through again


def timed_evaluation(evaluation, generator, datamodule, device: torch.device) -> dict[str, float]:
    """Seconds of one `evaluation.run` ("total"), of what it prepares on its first call ("prepare",
    within it the backbone's loading or training, "backbone") and of FID and KID from the features
    ("compute")."""
    with StopWatch(device) as watch:
        watch.wrap(evaluation, "prepare", "prepare")
        watch.wrap(evaluation.backbone, "prepare", "backbone")
        watch.wrap(evaluation, "compute", "compute")
        watch.wrap(evaluation, "run", "total")
        evaluation.run(generator, datamodule, device)
    return watch.seconds


def run_fid_section(args, results: dict) -> None:
    runs: dict[str, list[dict[str, float]]] = {"cold": [], "warm": [], "repeat": []}
    for round_index in range(args.fid_rounds):
        with tempfile.TemporaryDirectory(prefix="benchmark_speed_fid_") as cache_dir:
            cold, generator, datamodule = build_fid_evaluation(args, cache_dir)
            runs["cold"].append(timed_evaluation(cold, generator, datamodule, args.device))
            warm, generator, datamodule = build_fid_evaluation(args, cache_dir)
            runs["warm"].append(timed_evaluation(warm, generator, datamodule, args.device))
            runs["repeat"].append(timed_evaluation(warm, generator, datamodule, args.device))
        print(
            f"  round {round_index + 1}/{args.fid_rounds}: "
            + ", ".join(f"{k} {v[-1]['total']:.2f} s" for k, v in runs.items()),
            flush=True,
        )
    protocol = warm.protocol()
    num_real, num_fake = protocol["num_real"], protocol["num_fake"]

    def median(kind: str, part: str) -> float:
        return statistics.median(run[part] for run in runs[kind])

    # The real side of a cold evaluation: reading, embedding and caching the real images.
    real_side = statistics.median(run["prepare"] - run["backbone"] for run in runs["cold"])
    results["fid"] = {
        "backbone": protocol.get("backbone"),
        "reference": protocol.get("reference"),
        "num_real": num_real,
        "num_fake": num_fake,
        "cold_s": median("cold", "total"),
        "warm_s": median("warm", "total"),
        "repeat_s": median("repeat", "total"),
        "ratio_cold_to_warm": median("cold", "total") / median("warm", "total"),
        "backbone_load_s": median("warm", "backbone"),
        "fid_kid_compute_s": median("repeat", "compute"),
        "real_side_s": real_side,
        "real_images_per_s": num_real / real_side,
        "fake_images_per_s": num_fake / median("repeat", "total"),
        "seconds": runs,
    }


def loader_seconds(overrides: list[str], args, to_device: bool) -> tuple[float, int]:
    """Seconds to draw --data-batches training batches after warm-up, and images per batch."""
    with tempfile.TemporaryDirectory(prefix="benchmark_speed_") as output_dir:
        cfg = compose_run(overrides, output_dir, args.device)
        L.seed_everything(cfg.seed, workers=True)
        datamodule = instantiate(cfg.data)
        datamodule.setup("fit")
        batches = endless_batches(datamodule.train_dataloader())
        for _ in range(args.warmup):
            next(batches)
        synchronize(args.device)
        started = time.perf_counter()
        for _ in range(args.data_batches):
            batch = next(batches)
            if to_device:
                batch = batch.to(args.device, non_blocking=True)
        synchronize(args.device)
        return time.perf_counter() - started, batch.shape[0]


def run_data_section(args, results: dict) -> None:
    section = results.setdefault("data", {})
    for preset in args.presets:
        overrides = preset_overrides(preset)
        alone, with_copy, training = [], [], []
        trained = results.get("lightning", {}).get(preset)
        for _ in range(args.rounds):
            seconds, images_per_batch = loader_seconds(overrides, args, to_device=False)
            alone.append(images_per_batch * args.data_batches / seconds)
            seconds, _ = loader_seconds(overrides, args, to_device=True)
            with_copy.append(images_per_batch * args.data_batches / seconds)
            if trained is None:
                seconds = lightning_seconds(overrides, args, args.iterations)
                training.append(images_per_batch * args.iterations / seconds)
        if trained is not None:
            training = [images_per_batch * args.iterations / s for s in trained["lightning_seconds"]]
        training_rate = statistics.median(training)
        section[preset] = {
            "images_per_generator_iteration": images_per_batch,
            "loader_images_per_s": statistics.median(alone),
            "loader_and_copy_images_per_s": statistics.median(with_copy),
            "training_images_per_s": training_rate,
            "ratio_loader_to_training": statistics.median(with_copy) / training_rate,
            "loader_runs": alone,
            "loader_and_copy_runs": with_copy,
        }
        print(f"  {preset}: done", flush=True)


# Output ------------------------------------------------------------------------------------


def cpu_name() -> str:
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


def environment(args) -> dict[str, Any]:
    info = {
        "device": str(args.device),
        "device_name": torch.cuda.get_device_name(args.device) if args.device.type == "cuda" else cpu_name(),
        "torch": torch.__version__,
        "lightning": L.__version__,
        "python": platform.python_version(),
        "threads": torch.get_num_threads(),
        "cpu_cores": os.cpu_count(),
    }
    if args.device.type == "cuda":
        info["cuda"] = torch.version.cuda
        info["tf32_matmul"] = torch.backends.cuda.matmul.allow_tf32
    return info


def print_summary(results: dict) -> None:
    print("\n=== summary ===")
    env, settings = results["environment"], results["settings"]
    print(
        f"device {env['device']} ({env['device_name']}), torch {env['torch']}, lightning {env['lightning']},"
        f" {env['threads']} threads; {settings['iterations']} timed iterations after {settings['warmup']},"
        f" {settings['rounds']} rounds, medians"
    )
    if "lightning" in results:
        print("\nLightning overhead (generator iterations/s)")
        print(f"  {'preset':32s} {'batch x n_critic':>16s} {'lightning':>10s} {'plain':>10s} {'ratio':>7s}  same work")
        for preset, row in results["lightning"].items():
            shape = f"{row['batch_size']} x {row['n_critic']}"
            same_work = "yes" if results["equivalence"][preset]["equal"] else "NO"
            print(
                f"  {preset:32s} {shape:>16s} {row['lightning_it_per_s']:10.3f} {row['plain_it_per_s']:10.3f}"
                f" {row['ratio_lightning_to_plain']:7.3f}  {same_work}"
            )
    for preset, variants in results.get("profile", {}).items():
        print(f"\nWhere Lightning's time goes: {preset}")
        print(f"  {'variant':24s} {'it/s':>10s} {'ms/it':>10s} {'vs plain':>9s}")
        for name, row in variants.items():
            print(f"  {name:24s} {row['it_per_s']:10.3f} {row['ms_per_iteration']:10.2f} {row['ratio_to_plain']:9.3f}")
    if "constraints" in results:
        base = next(iter(results["constraints"]))
        print(f"\nConstraint cost ({' '.join(settings['constraint_base'])}; Lightning)")
        print(f"  {'constraint':12s} {'s/iteration':>12s} {'vs ' + base:>10s}")
        for constraint, row in results["constraints"].items():
            print(f"  {constraint:12s} {row['s_per_iteration']:12.4f} {row[f'ratio_to_{base}']:10.3f}")
    if "fid" in results:
        fid = results["fid"]
        print(f"\nFID evaluation ({fid['backbone']}, {fid['num_real']} real / {fid['num_fake']} fake images)")
        rows = [
            ("cold cache", f"{fid['cold_s']:8.2f} s", ""),
            ("cached real features", f"{fid['warm_s']:8.2f} s", f"loading the backbone {fid['backbone_load_s']:.2f} s"),
            (
                "later evaluations",
                f"{fid['repeat_s']:8.2f} s",
                f"FID and KID from features {fid['fid_kid_compute_s']:.2f} s",
            ),
            ("cold / cached", f"{fid['ratio_cold_to_warm']:8.2f}  ", ""),
            ("real images/s", f"{fid['real_images_per_s']:8.1f}  ", "read, embedded, cached"),
            ("generated images/s", f"{fid['fake_images_per_s']:8.1f}  ", "generated, embedded, FID/KID included"),
        ]
        for label, figure, note in rows:
            print(f"  {label:22s} {figure}  {f'({note})' if note else ''}".rstrip())
    if "data" in results:
        print("\nData loader vs training (images/s)")
        print(f"  {'preset':32s} {'loader':>10s} {'+ copy':>10s} {'training':>10s} {'ratio':>7s}")
        for preset, row in results["data"].items():
            print(
                f"  {preset:32s} {row['loader_images_per_s']:10.0f} {row['loader_and_copy_images_per_s']:10.0f}"
                f" {row['training_images_per_s']:10.1f} {row['ratio_loader_to_training']:7.1f}"
            )


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    parser.add_argument("--sections", nargs="+", choices=SECTIONS, default=list(SECTIONS))
    parser.add_argument("--iterations", type=int, help="timed generator iterations per round (cpu 8, cuda 200)")
    parser.add_argument("--warmup", type=int, help="untimed iterations before each window (cpu 2, cuda 20)")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--presets", nargs="+", default=["experiment=gan_qp", "experiment=wgan_gp"])
    parser.add_argument("--profile-presets", nargs="+", help="presets of the profile section (the first preset)")
    parser.add_argument("--no-progress-bar", action="store_true", help="time Lightning without its progress bar")
    parser.add_argument("--constraints", nargs="+", default=["none", "clip", "gp", "sn"])
    parser.add_argument(
        "--constraint-base", nargs="+", default=["loss=wgan", "n_critic=5", "batch_size=64", "model.critic.norm=layer"]
    )
    parser.add_argument("--fid-real", type=int, help="real images of the FID reference (cpu 64, cuda 10000)")
    parser.add_argument("--fid-fake", type=int, help="generated images per FID evaluation (cpu 32, cuda 10000)")
    parser.add_argument("--fid-rounds", type=int, default=1)
    parser.add_argument("--fid-overrides", nargs="*", default=[], help="e.g. metrics/backbone=classifier")
    parser.add_argument("--data-batches", type=int, default=200, help="training batches per data-loader round")
    parser.add_argument("--threads", type=int, help="torch.set_num_threads (default: torch's choice)")
    parser.add_argument("--json", type=Path, help="also write every figure to this JSON file")
    args = parser.parse_args(argv)
    args.device = torch.device(args.device)
    for name, value in DEFAULTS[args.device.type].items():
        if getattr(args, name) is None:
            setattr(args, name, value)
    return args


def quiet_libraries() -> None:
    """Keep the output to figures: Lightning's start-up notes and hints are the same every run."""
    for name in ("lightning", "lightning.pytorch", "lightning.fabric"):
        logging.getLogger(name).setLevel(logging.ERROR)
    for message in (
        ".*does not have many workers.*",
        ".*smaller than the logging interval.*",
        ".*Tensor Cores.*",
        ".*num_real=.*reference set has.*",
        ".*treespec.*",
    ):
        warnings.filterwarnings("ignore", message=message)


def main(argv: list[str] | None = None) -> dict:
    args = parse_args(argv)
    if args.device.type == "cuda" and not torch.cuda.is_available():
        raise SystemExit("--device cuda: no CUDA device is available")
    if args.threads:
        torch.set_num_threads(args.threads)
    quiet_libraries()
    results: dict[str, Any] = {"environment": environment(args)}
    results["settings"] = {
        "sections": args.sections,
        "iterations": args.iterations,
        "warmup": args.warmup,
        "rounds": args.rounds,
        "presets": args.presets,
        "progress_bar": not args.no_progress_bar,
        "constraints": args.constraints,
        "constraint_base": args.constraint_base,
        "fid_real": args.fid_real,
        "fid_fake": args.fid_fake,
        "fid_overrides": args.fid_overrides,
        "data_batches": args.data_batches,
    }
    print(" ".join(f"{k}={v}" for k, v in results["environment"].items()))
    print(" ".join(f"{k}={v}" for k, v in results["settings"].items()), flush=True)
    sections = {
        "lightning": run_lightning_section,
        "profile": run_profile_section,
        "constraints": run_constraints_section,
        "fid": run_fid_section,
        "data": run_data_section,
    }
    for name, run_section in sections.items():
        if name in args.sections:
            print(f"\n[{name}]", flush=True)
            started = time.perf_counter()
            run_section(args, results)
            print(f"  ({time.perf_counter() - started:.0f} s)", flush=True)
    print_summary(results)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(results, indent=2, default=str))
    return results


if __name__ == "__main__":
    main()

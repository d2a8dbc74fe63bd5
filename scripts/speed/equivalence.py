"""Proof that PlainLoop does GANModule's work: both train from one start and must end weight for weight equal.

    report = equivalence_report(["experiment=wgan_gp"], "cpu", iterations=2)
    report["equal"], report["max_abs_difference"], report["tolerance"]
    report["fraction_apart"]   # of all weights, the share more than 1e-5 apart
    equivalence_report([...], "cuda", plain_loop=RoundingNoisePlainLoop)   # the rounding-noise yardstick

Used by the lightning section before it times anything, and by tests/test_benchmark_speed.py.
"""

from __future__ import annotations

import tempfile
from typing import Any

import lightning as L
import torch
from torch import Tensor

from .plain_loop import PlainLoop, endless_batches
from .runs import compose_run, lightning_run, plain_run, quiet_fit

NOISE_SEED = 1234


class FirstBatchReseed(L.Callback):
    """Seeds the noise just before the first training step and keeps every batch trained on."""

    def __init__(self, seed: int):
        self.seed = seed
        self.batches: list[Tensor] = []

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
        if pl_module.iteration == 0:
            torch.manual_seed(self.seed)
        self.batches.append(batch.detach().cpu().clone())


def network_states(module: L.LightningModule) -> dict[str, Tensor]:
    """Both networks' parameters and buffers (batch-norm statistics, spectral-norm vectors), on the CPU."""
    states = {f"generator.{k}": v for k, v in module.generator.state_dict().items()}
    states.update({f"critic.{k}": v for k, v in module.critic.state_dict().items()})
    return {k: v.detach().cpu().clone() for k, v in states.items() if v.is_floating_point()}


def fraction_apart(first: dict[str, Tensor], second: dict[str, Tensor], gap: float = 1e-5) -> float:
    gaps = torch.cat([(first[k] - second[k]).abs().flatten() for k in first])
    return (gaps > gap).float().mean().item()


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
        datamodule, module, trainer = lightning_run(cfg)
        plain_datamodule, plain_module = plain_run(cfg)
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
        "fraction_apart": fraction_apart(after, network_states(plain_module)),
        "max_weight_change": change,
        "same_batches": same_batches,
        "tolerance": tolerance,
        "equal": initial_difference == 0 and same_batches and difference <= tolerance and change > 100 * tolerance,
    }

"""Train a tiny WGAN-GP with generator-side regularizers (MRGAN's encoder, MDGAN's encoder and
manifold critic) and an averaged generator (ema) with every random draw under control, then save
the final weights.

    python tests/ddp_equivalence.py ddp OUT           # 2 gloo processes (gan_ddp), each on its own data
    python tests/ddp_equivalence.py single OUT        # 1 process on both ranks' data, concatenated
    python tests/ddp_equivalence.py alone OUT         # 1 process on rank 0's data only
    python tests/ddp_equivalence.py single,alone OUT  # both, one after the other, in one process

Run by tests/test_ddp.py. Data, noise and the penalty's interpolation weights are drawn per
(draw number, rank slot) from their own seeds, so the single process sees exactly the union of
what the two ranks see. With gradients averaged across ranks on every critic and generator
update, the DDP weights must equal the single-process weights up to float rounding.
"""

from __future__ import annotations

import sys
from functools import partial
from pathlib import Path

import lightning as L
import torch
from torch.utils.data import DataLoader

import ganarena.run  # noqa: F401  (registers the gan_ddp strategy)
from ganarena.game.constraints import GradientPenalty
from ganarena.game.ema import ExponentialAverage
from ganarena.game.losses import WassersteinLoss
from ganarena.game.module import GANModule
from ganarena.game.regularizers import ManifoldDiffusion, ModeRegularizer
from ganarena.models.encoders import MLPEncoder
from ganarena.models.mlp import MLPCritic, MLPGenerator
from ganarena.run.ema import AveragedGenerator

RANKS, BATCH, N_CRITIC, STEPS, LATENT = 2, 8, 2, 4, 4


class Draws:
    """Random numbers as a pure function of (draw number, rank slot); the slots are the ranks this process plays."""

    def __init__(self):
        self.slots: list[int] = []
        self.count = 0

    def _draw(self, shape_per_slot, sampler):
        self.count += 1
        parts = [
            sampler(*shape_per_slot, generator=torch.Generator().manual_seed(1000 * self.count + s)) for s in self.slots
        ]
        return torch.cat(parts)

    def normal(self, n: int, dim: int):
        return self._draw((n // len(self.slots), dim), torch.randn)

    def uniform(self, n: int, *trailing: int):
        return self._draw((n // len(self.slots), *trailing), torch.rand)


class DrawnGradientPenalty(GradientPenalty):
    def __init__(self, draws: Draws, **kwargs):
        super().__init__(**kwargs)
        self.draws = draws

    def interpolation_weights(self, x_real):
        return self.draws.uniform(x_real.shape[0], *(1,) * (x_real.dim() - 1))


class DrawnNoiseModule(GANModule):
    def __init__(self, draws: Draws, slots: list[int] | None, **kwargs):
        super().__init__(**kwargs)
        self.draws, self.fixed_slots = draws, slots

    def setup(self, stage):
        super().setup(stage)
        self.draws.slots = self.fixed_slots or [self.global_rank]

    def sample_noise(self, n):
        return self.draws.normal(n, self.latent_dim)


def rank_batches(iteration: int, rank: int):
    """Rank `rank`'s n_critic real batches of iteration `iteration`: (N_CRITIC, BATCH, 2)."""
    return torch.randn(N_CRITIC, BATCH, 2, generator=torch.Generator().manual_seed(10_000 * iteration + rank))


def step_batches(slots: list[int]):
    # Each critic batch of the single process is the union of the ranks' critic batches.
    return [torch.cat([rank_batches(i, r) for r in slots], dim=1).reshape(-1, 2) for i in range(STEPS)]


class FixedBatches(L.LightningDataModule):
    def __init__(self, slots: list[int] | None):
        super().__init__()
        self.slots = slots

    def train_dataloader(self):
        return DataLoader(step_batches(self.slots or [self.trainer.global_rank]), batch_size=None)


def main(mode: str, out: Path) -> None:
    slots = {"ddp": None, "single": [0, 1], "alone": [0]}[mode]
    torch.manual_seed(0)  # the same initial weights in every mode
    draws = Draws()
    sgd = partial(torch.optim.SGD, lr=0.05)
    encoder = partial(MLPEncoder, LATENT, hidden=16, depth=2)
    manifold_critic = MLPCritic(data_shape=(2,), hidden=16, depth=2)
    regularizers = [
        ModeRegularizer((2,), encoder, sgd, geometric_weight=0.2, mode_weight=0.4),
        ManifoldDiffusion((2,), encoder, sgd, sgd, make_critic=lambda: (manifold_critic, [])),
    ]
    module = DrawnNoiseModule(
        draws,
        slots,
        generator=MLPGenerator(latent_dim=LATENT, data_shape=(2,), hidden=16, depth=2),
        critic=MLPCritic(data_shape=(2,), hidden=16, depth=2),
        loss=WassersteinLoss(),
        constraints=[DrawnGradientPenalty(draws, weight=10.0)],
        generator_optimizer=partial(torch.optim.SGD, lr=0.05),
        critic_optimizer=partial(torch.optim.SGD, lr=0.05),
        n_critic=N_CRITIC,
        regularizers=regularizers,
    )
    average = ExponentialAverage(decay=0.5, start_iteration=1)  # both of its branches within 4 iterations
    module.generator_ema = average.average_copy(module.generator)
    trainer = L.Trainer(
        accelerator="cpu",
        devices=RANKS if mode == "ddp" else 1,
        strategy="gan_ddp" if mode == "ddp" else "auto",
        max_steps=STEPS,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        use_distributed_sampler=False,
        callbacks=[AveragedGenerator(average)],
    )
    trainer.fit(module, datamodule=FixedBatches(slots))
    name = f"rank{trainer.global_rank}" if mode == "ddp" else mode
    torch.save({k: v.clone() for k, v in module.state_dict().items()}, out / f"{name}.pt")


if __name__ == "__main__":
    # Each mode seeds and builds everything it uses, so several modes can share one interpreter.
    for name in sys.argv[1].split(","):
        main(name, Path(sys.argv[2]))

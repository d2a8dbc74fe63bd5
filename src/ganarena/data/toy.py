"""Toy 2-D Gaussian mixtures of the PacGAN / VEEGAN benchmarks: ring8 and grid25.

ring8: 8 modes at (cos 2 pi i/8, sin 2 pi i/8), std 0.01. grid25: modes on {-4,-2,0,2,4}^2,
std 0.05. Samples are drawn once from a seeded generator, so a data set is a pure function of
(mixture, num_samples, seed).
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from ganarena.data.in_memory import InMemoryDataModule


def ring8_modes() -> Tensor:
    # 2 pi i / 8 for i = 0..7; linspace(0, 2 pi, 8) would put modes 0 and 7 on one point.
    angles = torch.arange(8, dtype=torch.float64) * (2 * math.pi / 8)
    return torch.stack([angles.cos(), angles.sin()], dim=1).float()


def grid25_modes() -> Tensor:
    axis = torch.tensor([-4.0, -2.0, 0.0, 2.0, 4.0])
    return torch.cartesian_prod(axis, axis)


MIXTURES = {
    "ring8": (ring8_modes, 0.01),
    "grid25": (grid25_modes, 0.05),
}


class GaussianMixture:
    """Equal-weight isotropic Gaussian mixture with fixed means and std."""

    def __init__(self, name: str):
        if name not in MIXTURES:
            raise ValueError(f"unknown toy mixture {name!r}; choose one of {', '.join(MIXTURES)}")
        modes, self.std = MIXTURES[name]
        self.name = name
        self.means = modes()

    def sample(self, n: int, generator: torch.Generator) -> tuple[Tensor, Tensor]:
        """n points and the index of the mode each was drawn from."""
        which = torch.randint(len(self.means), (n,), generator=generator)
        return self.means[which] + self.std * torch.randn(n, 2, generator=generator), which


class ToyDataModule(InMemoryDataModule):
    """`num_samples` points from a mixture, fixed by `seed`."""

    def __init__(
        self,
        mixture: str,
        batch_size: int,
        batches_per_step: int = 1,
        num_samples: int = 100_000,
        seed: int = 0,
        num_workers: int = 0,
    ):
        super().__init__(batch_size, batches_per_step, num_workers)
        self.mixture = GaussianMixture(mixture)
        self.num_samples = num_samples
        self.seed = seed

    @property
    def shape(self) -> tuple[int, ...]:
        return (2,)

    @property
    def reference_id(self) -> str:
        return f"{self.mixture.name}-n{self.num_samples}-seed{self.seed}"

    def _draw(self) -> tuple[Tensor, Tensor]:
        return self.mixture.sample(self.num_samples, torch.Generator().manual_seed(self.seed))

    def build_samples(self) -> Tensor:
        return self._draw()[0]

    def build_labels(self) -> Tensor:
        return self._draw()[1]

"""Gradient penalties at the data: R1 and R2 (Mescheder et al. 2018) and DRAGAN (Kodali et al. 2017).

Constraints in the sense of constraints.py (`penalty(critic, x_real, x_fake)`), composable with
every loss and each other (`constraint=[r1,sn]`), lazy with `every=k`:

    R1Penalty(gamma=10.0)       # gamma/2 * E ||grad D(x_real)||^2
    R2Penalty(gamma=10.0)       # gamma/2 * E ||grad D(x_fake)||^2
    DRAGANPenalty(weight=10.0)  # weight * E (||grad D(x_real + delta)|| - 1)^2

`critic` is the critic as the game scores with it, augmentation included, and the images are the
ones before augmentation (docs/objectives.md, "Augmentation").
"""

from __future__ import annotations

import torch
from torch import Tensor

from ganarena.errors import ConfigError
from ganarena.game.constraints import PerSamplePenalty, input_gradient


class R1Penalty(PerSamplePenalty):
    """R1: gamma/2 * mean over real samples of ||grad_x D(x)||^2 (Mescheder et al. 2018, eq. 9)."""

    # Mescheder et al.'s critics have no normalisation layers.
    preferred_critic_norm = "none"

    def __init__(self, gamma: float = 10.0, every: int = 1):
        super().__init__(every)
        if gamma <= 0:
            raise ConfigError(f"the R1/R2 weight gamma must be positive, got {gamma}")
        self.gamma = gamma

    def penalised(self, x_real: Tensor, x_fake: Tensor) -> Tensor:
        return x_real

    def penalty(self, critic, x_real, x_fake):
        grad = input_gradient(critic, self.penalised(x_real, x_fake), self.loss_scaler)
        return self.gamma / 2 * grad.pow(2).sum(dim=1).mean()


class R2Penalty(R1Penalty):
    """R2: the same penalty on generated samples (Mescheder et al. 2018, eq. 10)."""

    def penalised(self, x_real, x_fake):
        return x_fake


class DRAGANPenalty(PerSamplePenalty):
    """DRAGAN (Kodali et al. 2017, arXiv 1705.07215): weight * mean (||grad D(x_hat)|| - 1)^2 near real data.

    x_hat = x + alpha * scale * std(x) * u, with std(x) over the whole real batch, alpha ~ U[0, 1]
    per sample and u per pixel: U[0, 1] (`noise="uniform"`, the authors' released code) or N(0, 1)
    (`noise="normal"`, the paper's delta ~ N(0, cI)). `interpolate=False` drops alpha (x + delta).
    """

    preferred_critic_norm = "none"

    def __init__(
        self, weight: float = 10.0, scale: float = 0.5, noise: str = "uniform", interpolate: bool = True, every: int = 1
    ):
        super().__init__(every)
        if weight <= 0 or scale <= 0:
            raise ConfigError(f"DRAGAN's weight and scale must be positive, got {weight} and {scale}")
        if noise not in ("uniform", "normal"):
            raise ConfigError(f"DRAGAN's noise must be 'uniform' (authors' code) or 'normal' (paper), got {noise!r}")
        self.weight = weight
        self.scale = scale
        self.noise = noise
        self.interpolate = interpolate

    def perturbed(self, x_real: Tensor) -> Tensor:
        x = x_real.detach()
        u = torch.rand_like(x) if self.noise == "uniform" else torch.randn_like(x)
        delta = self.scale * x.std() * u
        if self.interpolate:
            delta = delta * torch.rand((x.shape[0],) + (1,) * (x.dim() - 1), dtype=x.dtype, device=x.device)
        return x + delta

    def penalty(self, critic, x_real, x_fake):
        grad_norm = input_gradient(critic, self.perturbed(x_real), self.loss_scaler).norm(2, dim=1)
        return self.weight * (grad_norm - 1).pow(2).mean()

"""Latent noise from a private seed: the same points every time, whatever the global random state.

    z = seeded_noise(64, latent_dim=128, seed=0)   # (64, 128) on the CPU

Evaluations, sample grids and sample.py use it, so they measure and draw the same latent points
at every call and never change what training draws next.
"""

from __future__ import annotations

import torch
from torch import Tensor


def seeded_noise(count: int, latent_dim: int, seed: int) -> Tensor:
    return torch.randn(count, latent_dim, generator=torch.Generator().manual_seed(seed))

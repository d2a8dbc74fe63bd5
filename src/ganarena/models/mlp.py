"""Fully connected generator and critic, for 2-D toy data and flattened images."""

from __future__ import annotations

import math

from torch import Tensor, nn

from ganarena.errors import ConfigError
from ganarena.models.norms import feature_norm


class MLPGenerator(nn.Module):
    """z (N, latent_dim) -> samples (N, *data_shape).

    `output="auto"` ends in tanh for images (data in [-1, 1]) and is linear for toy points.
    """

    def __init__(
        self,
        latent_dim: int,
        data_shape: tuple[int, ...],
        hidden: int = 256,
        depth: int = 3,
        output: str = "auto",
    ):
        super().__init__()
        if output == "auto":
            output = "tanh" if len(data_shape) == 3 else "linear"
        if output not in ("tanh", "linear"):
            raise ConfigError(f"MLP generator output must be 'auto', 'tanh' or 'linear', got {output!r}")
        self.latent_dim = latent_dim
        self.data_shape = tuple(data_shape)
        layers: list[nn.Module] = []
        width = latent_dim
        for _ in range(depth):
            layers += [nn.Linear(width, hidden), nn.ReLU()]
            width = hidden
        layers.append(nn.Linear(width, math.prod(self.data_shape)))
        if output == "tanh":
            layers.append(nn.Tanh())
        self.net = nn.Sequential(*layers)

    def forward(self, z: Tensor) -> Tensor:
        return self.net(z).view(z.shape[0], *self.data_shape)


class MLPCritic(nn.Module):
    """samples (N, *data_shape) -> raw scores (N,). Normalisation: "none" (default), "layer", "batch"."""

    def __init__(self, data_shape: tuple[int, ...], hidden: int = 256, depth: int = 3, norm: str = "none"):
        super().__init__()
        layers: list[nn.Module] = [nn.Flatten()]
        width = math.prod(data_shape)
        for _ in range(depth):
            layers += [nn.Linear(width, hidden), feature_norm(norm, hidden, spatial=False), nn.LeakyReLU(0.2)]
            width = hidden
        layers.append(nn.Linear(width, 1))
        self.net = nn.Sequential(*layers)

    def forward(self, x: Tensor) -> Tensor:
        return self.net(x).squeeze(1)

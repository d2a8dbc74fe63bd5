"""Encoders E: samples (N, *data_shape) -> latent codes (N, latent_dim), for generator-side plug-ins.

The mode-regularised GAN (game/regularizers.py) reconstructs real samples as G(E(x)). Each model
family has its encoder, picked by the `encoder:` node of its conf/model/ file:

    MLPEncoder(latent_dim=2, data_shape=(2,))          # toy points and flattened images
    DCGANEncoder(latent_dim=100, data_shape=(1, 32, 32))  # the DCGAN critic's body, a linear head

Codes are unbounded (no output nonlinearity), like the Gaussian noise the generator is fed.
"""

from __future__ import annotations

import math

from torch import Tensor, nn

from ganarena.models.dcgan import _image_geometry, _init_weights, downsampling_trunk


class MLPEncoder(nn.Module):
    """Fully connected: flatten, `depth` hidden layers of width `hidden` (LeakyReLU 0.2), linear code."""

    def __init__(self, latent_dim: int, data_shape: tuple[int, ...], hidden: int = 256, depth: int = 3):
        super().__init__()
        self.latent_dim = latent_dim
        layers: list[nn.Module] = [nn.Flatten()]
        width = math.prod(data_shape)
        for _ in range(depth):
            layers += [nn.Linear(width, hidden), nn.LeakyReLU(0.2)]
            width = hidden
        layers.append(nn.Linear(width, latent_dim))
        self.net = nn.Sequential(*layers)

    def forward(self, x: Tensor) -> Tensor:
        return self.net(x)


class DCGANEncoder(nn.Module):
    """Strided convolutions as in the DCGAN critic (widths doubling per halving), then a linear code.

    `norm` follows the critic's options (batch, layer, none); batch norm is the DCGAN default.
    """

    def __init__(self, latent_dim: int, data_shape: tuple[int, ...], width: int = 64, norm: str = "batch"):
        super().__init__()
        channels, steps = _image_geometry(data_shape)
        self.latent_dim = latent_dim
        layers = downsampling_trunk(channels, steps, width, norm)
        layers += [nn.Flatten(), nn.Linear(width * 2 ** (steps - 1) * 4 * 4, latent_dim)]
        self.net = nn.Sequential(*layers)
        self.apply(_init_weights)

    def forward(self, x: Tensor) -> Tensor:
        return self.net(x)

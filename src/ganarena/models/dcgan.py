"""DCGAN generator and critic (Radford et al. 2016) for square images of 32x32 or 64x64.

The generator projects z to a 4x4 map and doubles the resolution with strided transposed
convolutions (batch norm + ReLU, tanh output). The critic mirrors it with strided convolutions
(LeakyReLU 0.2, no normalisation on the first layer, configurable after) and a final 4x4
convolution to one score per sample. Channel widths double at every halving of resolution.
"""

from __future__ import annotations

import itertools
import math

from torch import Tensor, nn

from ganarena.errors import ConfigError
from ganarena.models.norms import feature_norm

RESOLUTIONS = (32, 64)


def _image_geometry(data_shape: tuple[int, ...]) -> tuple[int, int]:
    """(channels, number of 2x resolution steps between 4x4 and the image)."""
    if len(data_shape) != 3 or data_shape[1] != data_shape[2]:
        raise ConfigError(
            f"the dcgan model needs square images (C, H, W), but the data have shape {tuple(data_shape)};"
            " use model=mlp for 2-D toy data"
        )
    channels, resolution = data_shape[0], data_shape[1]
    if resolution not in RESOLUTIONS:
        raise ConfigError(
            f"the dcgan model supports resolutions {RESOLUTIONS}, got {resolution}; set the data"
            " resolution to one of them"
        )
    return channels, int(math.log2(resolution // 4))


def _init_weights(module: nn.Module) -> None:
    # DCGAN paper: N(0, 0.02) weights, N(1, 0.02) for normalisation scales.
    if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
        nn.init.normal_(module.weight, 0.0, 0.02)
        if module.bias is not None:
            nn.init.zeros_(module.bias)
    elif isinstance(module, (nn.BatchNorm2d, nn.GroupNorm)):
        nn.init.normal_(module.weight, 1.0, 0.02)
        nn.init.zeros_(module.bias)


class DCGANGenerator(nn.Module):
    """z (N, latent_dim) -> images (N, C, R, R) in [-1, 1]."""

    def __init__(self, latent_dim: int, data_shape: tuple[int, ...], width: int = 64):
        super().__init__()
        channels, steps = _image_geometry(data_shape)
        self.latent_dim = latent_dim
        widths = [width * 2 ** (steps - 1 - i) for i in range(steps)]  # e.g. 256, 128, 64 at 32x32
        layers: list[nn.Module] = [
            nn.ConvTranspose2d(latent_dim, widths[0], 4, 1, 0, bias=False),
            nn.BatchNorm2d(widths[0]),
            nn.ReLU(True),
        ]
        for c_in, c_out in itertools.pairwise(widths):
            layers += [nn.ConvTranspose2d(c_in, c_out, 4, 2, 1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU(True)]
        layers += [nn.ConvTranspose2d(widths[-1], channels, 4, 2, 1), nn.Tanh()]
        self.net = nn.Sequential(*layers)
        self.apply(_init_weights)

    def forward(self, z: Tensor) -> Tensor:
        return self.net(z[:, :, None, None])


class DCGANCritic(nn.Module):
    """images (N, C, R, R) -> raw scores (N,). Normalisation after the first layer: batch, layer or none."""

    def __init__(self, data_shape: tuple[int, ...], width: int = 64, norm: str = "batch"):
        super().__init__()
        channels, steps = _image_geometry(data_shape)
        layers = downsampling_trunk(channels, steps, width, norm)
        layers.append(nn.Conv2d(width * 2 ** (steps - 1), 1, 4, 1, 0))
        self.net = nn.Sequential(*layers)
        self.apply(_init_weights)

    def forward(self, x: Tensor) -> Tensor:
        return self.net(x).flatten()


def downsampling_trunk(channels: int, steps: int, width: int, norm: str) -> list[nn.Module]:
    """Strided 4x4 convolutions halving the image `steps` times, widths width * 2^i, down to 4x4.

    Shared by the DCGAN critic and the DCGAN encoder.
    """
    widths = [width * 2**i for i in range(steps)]  # e.g. 64, 128, 256 at 32x32
    layers: list[nn.Module] = [nn.Conv2d(channels, widths[0], 4, 2, 1), nn.LeakyReLU(0.2, True)]
    for c_in, c_out in itertools.pairwise(widths):
        # A bias before a normalisation is redundant; without normalisation it is needed.
        layers += [
            nn.Conv2d(c_in, c_out, 4, 2, 1, bias=norm == "none"),
            feature_norm(norm, c_out, spatial=True),
            nn.LeakyReLU(0.2, True),
        ]
    return layers

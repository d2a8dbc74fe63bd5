"""ResNet generator and critic of SNGAN (Miyato et al. 2018, Appendix B) and WGAN-GP (Gulrajani et al.
2017, CIFAR), for square images of 32, 48, 64 or 128 pixels, any channel count.

    generator = ResNetGenerator(latent_dim=128, data_shape=(3, 32, 32))   # width: per resolution
    critic = ResNetCritic((3, 32, 32), norm="none")

Block counts and widths follow mimicry's SNGAN ports (sngan_32/48/64/128). The generator maps z
by a dense layer to a 4x4 (6x6 at 48) map, then residual blocks (batch norm, ReLU, nearest 2x
upsampling, 3x3 convolutions, a 1x1 shortcut where the shape changes), batch norm, ReLU, a 3x3
convolution and tanh. The critic starts with an "optimized" block (conv, ReLU, conv, pool; pooled
1x1 shortcut), continues with pre-activation residual blocks, then ReLU, a sum over positions
and a dense layer. `width` scales every block (null: the reference width of the resolution);
WGAN-GP's CIFAR networks are the 32-pixel ones with width 128 on both sides. `norm` goes before
each ReLU inside the critic's blocks: none in both papers, layer norm under a gradient penalty.
"""

from __future__ import annotations

import itertools

import torch.nn.functional as F
from torch import Tensor, nn

from ganarena.errors import ConfigError
from ganarena.models.norms import feature_norm

# resolution: (bottom size, reference width, channel fractions after the dense layer and each up block)
GENERATOR_PLANS = {
    32: (4, 256, (1, 1, 1, 1)),
    48: (6, 512, (1, 1 / 2, 1 / 4, 1 / 8)),
    64: (4, 1024, (1, 1 / 2, 1 / 4, 1 / 8, 1 / 16)),
    128: (4, 1024, (1, 1, 1 / 2, 1 / 4, 1 / 8, 1 / 16)),
}
# resolution: (reference width, (channel fraction, downsample) of each block after the optimized one)
CRITIC_PLANS = {
    32: (128, 1, ((1, True), (1, False), (1, False))),
    48: (1024, 1 / 16, ((1 / 8, True), (1 / 4, True), (1 / 2, True), (1, False))),
    64: (1024, 1 / 16, ((1 / 8, True), (1 / 4, True), (1 / 2, True), (1, True))),
    128: (1024, 1 / 16, ((1 / 8, True), (1 / 4, True), (1 / 2, True), (1, True), (1, False))),
}


def _geometry(data_shape: tuple[int, ...]) -> tuple[int, int]:
    if len(data_shape) != 3 or data_shape[1] != data_shape[2]:
        raise ConfigError(
            f"the resnet model needs square images (C, H, W), but the data have shape {tuple(data_shape)};"
            " use model=mlp for 2-D toy data"
        )
    if data_shape[1] not in GENERATOR_PLANS:
        raise ConfigError(
            f"the resnet model supports resolutions {tuple(GENERATOR_PLANS)}, got {data_shape[1]};"
            " set the data resolution to one of them"
        )
    return data_shape[0], data_shape[1]


def _channels(width: int, fraction: float) -> int:
    channels = width * fraction
    if channels != int(channels) or channels < 1:
        raise ConfigError(f"model width {width} does not divide into this resolution's blocks; use a power of two")
    return int(channels)


def _init(module: nn.Module) -> None:
    # SNGAN and mimicry: Xavier-uniform, gain sqrt(2) in residual paths, 1 in shortcuts and dense layers.
    for layer in module.modules():
        if isinstance(layer, (nn.Conv2d, nn.Linear)):
            shortcut = isinstance(layer, nn.Conv2d) and layer.kernel_size == (1, 1)
            gain = 1.0 if shortcut or isinstance(layer, nn.Linear) else 2**0.5
            nn.init.xavier_uniform_(layer.weight, gain)
            nn.init.zeros_(layer.bias)


class UpBlock(nn.Module):
    def __init__(self, c_in: int, c_out: int):
        super().__init__()
        self.residual = nn.Sequential(
            nn.BatchNorm2d(c_in),
            nn.ReLU(),
            nn.Upsample(scale_factor=2),
            nn.Conv2d(c_in, c_out, 3, 1, 1),
            nn.BatchNorm2d(c_out),
            nn.ReLU(),
            nn.Conv2d(c_out, c_out, 3, 1, 1),
        )
        self.shortcut = nn.Sequential(nn.Upsample(scale_factor=2), nn.Conv2d(c_in, c_out, 1))

    def forward(self, x: Tensor) -> Tensor:
        return self.residual(x) + self.shortcut(x)


class DownBlock(nn.Module):
    """Pre-activation residual block; `first` is the optimized input block (no activation before it)."""

    def __init__(self, c_in: int, c_out: int, downsample: bool, norm: str, first: bool = False):
        super().__init__()
        pre = [] if first else [feature_norm(norm, c_in, spatial=True), nn.ReLU()]
        pool = [nn.AvgPool2d(2)] if downsample else []
        self.residual = nn.Sequential(
            *pre,
            nn.Conv2d(c_in, c_out, 3, 1, 1),
            feature_norm(norm, c_out, spatial=True),
            nn.ReLU(),
            nn.Conv2d(c_out, c_out, 3, 1, 1),
            *pool,
        )
        learnable = c_in != c_out or downsample
        # The optimized block pools before its shortcut convolution, the others after (as SNGAN does).
        shortcut = [*pool, nn.Conv2d(c_in, c_out, 1)] if first else [nn.Conv2d(c_in, c_out, 1), *pool]
        self.shortcut = nn.Sequential(*shortcut) if learnable else nn.Identity()

    def forward(self, x: Tensor) -> Tensor:
        return self.residual(x) + self.shortcut(x)


class ResNetGenerator(nn.Module):
    """z (N, latent_dim) -> images (N, C, R, R) in [-1, 1]."""

    def __init__(self, latent_dim: int, data_shape: tuple[int, ...], width: int | None = None):
        super().__init__()
        channels, resolution = _geometry(data_shape)
        self.bottom, reference, fractions = GENERATOR_PLANS[resolution]
        widths = [_channels(width or reference, f) for f in fractions]
        self.latent_dim, self.first = latent_dim, widths[0]
        self.dense = nn.Linear(latent_dim, self.bottom * self.bottom * widths[0])
        self.blocks = nn.Sequential(*(UpBlock(c_in, c_out) for c_in, c_out in itertools.pairwise(widths)))
        self.output = nn.Sequential(
            nn.BatchNorm2d(widths[-1]), nn.ReLU(), nn.Conv2d(widths[-1], channels, 3, 1, 1), nn.Tanh()
        )
        _init(self)

    def forward(self, z: Tensor) -> Tensor:
        h = self.dense(z).view(-1, self.first, self.bottom, self.bottom)
        return self.output(self.blocks(h))


class ResNetCritic(nn.Module):
    """images (N, C, R, R) -> raw scores (N,)."""

    def __init__(self, data_shape: tuple[int, ...], width: int | None = None, norm: str = "none"):
        super().__init__()
        channels, resolution = _geometry(data_shape)
        reference, first, plan = CRITIC_PLANS[resolution]
        width = width or reference
        c_prev = _channels(width, first)
        blocks = [DownBlock(channels, c_prev, downsample=True, norm=norm, first=True)]
        for fraction, downsample in plan:
            c_out = _channels(width, fraction)
            blocks.append(DownBlock(c_prev, c_out, downsample, norm))
            c_prev = c_out
        self.blocks = nn.Sequential(*blocks)
        self.final_norm = feature_norm(norm, c_prev, spatial=True)
        self.dense = nn.Linear(c_prev, 1)
        _init(self)

    def forward(self, x: Tensor) -> Tensor:
        h = F.relu(self.final_norm(self.blocks(x)))
        return self.dense(h.sum(dim=(2, 3))).flatten()

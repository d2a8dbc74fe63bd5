"""The SNGAN paper's "standard CNN" generator and critic (Miyato et al. 2018, Table 3), 32x32 or 48x48.

    generator = SNGANCNNGenerator(latent_dim=128, data_shape=(3, 32, 32))   # width 512: the paper's
    critic = SNGANCNNCritic((3, 32, 32), width=512, norm="none")

Generator: z -> dense -> M x M x width (M = resolution / 8), three 4x4 stride-2 transposed
convolutions halving the channels (batch norm + ReLU before each, as in mimicry's port), then a
3x3 convolution to the image and tanh. Critic: seven convolutions, 3x3 stride 1 and 4x4 stride 2
in turn, LeakyReLU 0.1, widths width/8, width/8, width/4, width/4, width/2, width/2, width; a dense
layer gives one score. Normalisation (`norm`) after every convolution but the first: none in the
paper (spectral norm is applied by constraint=sn), layer norm under a gradient penalty.
"""

from __future__ import annotations

from torch import Tensor, nn

from ganarena.errors import ConfigError
from ganarena.models.norms import feature_norm

RESOLUTIONS = (32, 48)


def _geometry(data_shape: tuple[int, ...], width: int) -> tuple[int, int]:
    """(channels, bottom size M) of the images these networks model, or a ConfigError."""
    if len(data_shape) != 3 or data_shape[1] != data_shape[2]:
        raise ConfigError(
            f"the sngan_cnn model needs square images (C, H, W), but the data have shape {tuple(data_shape)};"
            " use model=mlp for 2-D toy data"
        )
    if data_shape[1] not in RESOLUTIONS:
        raise ConfigError(
            f"the sngan_cnn model supports resolutions {RESOLUTIONS}, got {data_shape[1]}; set the data"
            " resolution to one of them or use model=resnet (32, 48, 64, 128)"
        )
    if width % 8:
        raise ConfigError(f"model width must be a multiple of 8 (it is halved three times), got {width}")
    return data_shape[0], data_shape[1] // 8


class SNGANCNNGenerator(nn.Module):
    """z (N, latent_dim) -> images (N, C, R, R) in [-1, 1]."""

    def __init__(self, latent_dim: int, data_shape: tuple[int, ...], width: int = 512):
        super().__init__()
        channels, self.bottom = _geometry(data_shape, width)
        self.latent_dim, self.width = latent_dim, width
        self.dense = nn.Linear(latent_dim, self.bottom * self.bottom * width)
        layers: list[nn.Module] = []
        for c_in in (width, width // 2, width // 4):
            layers += [nn.BatchNorm2d(c_in), nn.ReLU(True), nn.ConvTranspose2d(c_in, c_in // 2, 4, 2, 1)]
        layers += [nn.BatchNorm2d(width // 8), nn.ReLU(True), nn.Conv2d(width // 8, channels, 3, 1, 1), nn.Tanh()]
        self.net = nn.Sequential(*layers)

    def forward(self, z: Tensor) -> Tensor:
        return self.net(self.dense(z).view(-1, self.width, self.bottom, self.bottom))


class SNGANCNNCritic(nn.Module):
    """images (N, C, R, R) -> raw scores (N,)."""

    def __init__(self, data_shape: tuple[int, ...], width: int = 512, norm: str = "none"):
        super().__init__()
        channels, bottom = _geometry(data_shape, width)
        widths = [width // 8, width // 8, width // 4, width // 4, width // 2, width // 2, width]
        layers: list[nn.Module] = [nn.Conv2d(channels, widths[0], 3, 1, 1), nn.LeakyReLU(0.1, True)]
        for i in range(1, len(widths)):
            strided = i % 2 == 1
            kernel, stride = (4, 2) if strided else (3, 1)
            layers += [
                nn.Conv2d(widths[i - 1], widths[i], kernel, stride, 1, bias=norm == "none"),
                feature_norm(norm, widths[i], spatial=True),
                nn.LeakyReLU(0.1, True),
            ]
        self.features = nn.Sequential(*layers)
        self.dense = nn.Linear(bottom * bottom * width, 1)

    def forward(self, x: Tensor) -> Tensor:
        return self.dense(self.features(x).flatten(1)).flatten()

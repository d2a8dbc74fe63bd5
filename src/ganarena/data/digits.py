"""The 1,797 handwritten digits shipped with scikit-learn: the offline default image set.

The 8x8 images (values 0..16) are scaled to [-1, 1] and resized to `resolution` with bilinear
interpolation; `channels=3` repeats the grey channel for networks that expect RGB.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from sklearn.datasets import load_digits
from torch import Tensor

from ganarena.data.in_memory import InMemoryDataModule
from ganarena.errors import ConfigError


class DigitsDataModule(InMemoryDataModule):
    def __init__(
        self,
        batch_size: int,
        batches_per_step: int = 1,
        resolution: int = 32,
        channels: int = 1,
        num_workers: int = 0,
    ):
        super().__init__(batch_size, batches_per_step, num_workers)
        if channels not in (1, 3):
            raise ConfigError(f"digits can be served with 1 or 3 channels, got {channels}")
        self.resolution = resolution
        self.channels = channels

    @property
    def shape(self) -> tuple[int, ...]:
        return (self.channels, self.resolution, self.resolution)

    @property
    def reference_id(self) -> str:
        return f"digits-all-{self.channels}x{self.resolution}x{self.resolution}"

    def build_labels(self) -> Tensor:
        return torch.from_numpy(load_digits().target).long()

    def build_samples(self) -> Tensor:
        images = torch.from_numpy(load_digits().images).float().unsqueeze(1) / 16.0 * 2 - 1
        images = F.interpolate(images, size=self.resolution, mode="bilinear", align_corners=False)
        return images.clamp(-1, 1).repeat(1, self.channels, 1, 1)

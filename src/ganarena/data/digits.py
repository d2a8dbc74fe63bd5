"""The 1,797 handwritten digits shipped with scikit-learn: the offline default image set.

The 8x8 images (values 0..16) are scaled to [-1, 1] and resized to `resolution` with bilinear
interpolation; `channels=3` repeats the grey channel for networks that expect RGB.
`num_samples=500` trains on a fixed subset (the same 500 images in every run, whatever the
run's seed) for limited-data experiments; FID still compares with all 1,797 images.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from sklearn.datasets import load_digits
from torch import Tensor
from torch.utils.data import Dataset

from ganarena.data.in_memory import InMemoryDataModule, TensorSamples
from ganarena.errors import ConfigError

DIGITS_COUNT = 1797


class DigitsDataModule(InMemoryDataModule):
    def __init__(
        self,
        batch_size: int,
        batches_per_step: int = 1,
        resolution: int = 32,
        channels: int = 1,
        num_workers: int = 0,
        num_samples: int | None = None,
    ):
        super().__init__(batch_size, batches_per_step, num_workers)
        if channels not in (1, 3):
            raise ConfigError(f"digits can be served with 1 or 3 channels, got {channels}")
        if num_samples is not None and not 1 <= num_samples <= DIGITS_COUNT:
            raise ConfigError(
                f"data.num_samples must be between 1 and {DIGITS_COUNT} (or null: all digits), got {num_samples}"
            )
        self.resolution = resolution
        self.channels = channels
        self.num_samples = num_samples

    @property
    def shape(self) -> tuple[int, ...]:
        return (self.channels, self.resolution, self.resolution)

    @property
    def reference_id(self) -> str:
        return f"digits-all-{self.channels}x{self.resolution}x{self.resolution}"

    def subset(self) -> Tensor | slice:
        """Which digits training uses: all, or the first `num_samples` of a permutation fixed by seed 0."""
        if self.num_samples is None:
            return slice(None)
        return torch.randperm(DIGITS_COUNT, generator=torch.Generator().manual_seed(0))[: self.num_samples]

    def build_labels(self) -> Tensor:
        return torch.from_numpy(load_digits().target).long()[self.subset()]

    def build_samples(self) -> Tensor:
        return all_digits(self.resolution, self.channels)[self.subset()]

    def reference_dataset(self) -> Dataset:
        # The reference is every digit, subset or not: FID measures how well the data set is learnt.
        return TensorSamples(all_digits(self.resolution, self.channels))


def all_digits(resolution: int, channels: int) -> Tensor:
    """The 1,797 digits as float images in [-1, 1], (N, channels, resolution, resolution)."""
    images = torch.from_numpy(load_digits().images).float().unsqueeze(1) / 16.0 * 2 - 1
    images = F.interpolate(images, size=resolution, mode="bilinear", align_corners=False)
    return images.clamp(-1, 1).repeat(1, channels, 1, 1)

"""Stacked MNIST, the 1,000-mode benchmark of the Unrolled GAN, VEEGAN and PacGAN papers.

Every sample stacks three digit images as its three channels; the three are drawn independently
and uniformly (with replacement) from the source's training images. Its mode is the triple of
digit labels, numbered 100 * d0 + 10 * d1 + d2 (d_c: the digit of channel c), so there are
1,000 equally likely modes; `labels` holds that number and `digit_labels` the (N, 3) triples.
A mode counter classifies each channel of a generated image with a digit classifier trained on
single channels of these images (their source images, unchanged).

`source` is any in-memory DataModule of single-channel digit images with labels 0..9:
stacked_mnist uses MNIST (zero-padded to 32x32), stacked_digits scikit-learn's 8x8 digits
(resized to 32x32), which needs no download. The draw is fixed by `seed`; 128,000 samples by
default, the size used by the PacGAN and PresGAN code. Samples are composed from the source
images when read (all of them as floats would take 1.5 GB per DDP rank); `samples` builds them
all only when asked.
"""

from __future__ import annotations

import torch
from torch import Tensor
from torch.utils.data import Dataset

from ganarena.data.in_memory import InMemoryDataModule
from ganarena.errors import ConfigError


class StackedSamples(Dataset):
    """Item k: the source items index[k, 0], index[k, 1], index[k, 2] as one 3-channel image."""

    def __init__(self, source: Dataset, index: Tensor):
        self.source = source
        self.index = index

    def __len__(self) -> int:
        return len(self.index)

    def __getitem__(self, k: int) -> Tensor:
        return torch.cat([self.source[i] for i in self.index[k].tolist()])


class StackedDataModule(InMemoryDataModule):
    num_modes = 1000

    def __init__(
        self,
        source: InMemoryDataModule,
        batch_size: int,
        batches_per_step: int = 1,
        num_samples: int = 128_000,
        seed: int = 0,
        num_workers: int = 0,
        pin_memory: bool | None = None,
        persistent_workers: bool = True,
    ):
        super().__init__(batch_size, batches_per_step, num_workers, pin_memory, persistent_workers)
        if len(source.shape) != 3 or source.shape[0] != 1:
            raise ConfigError(
                f"stacking needs single-channel source images, but data.source gives shape {source.shape};"
                " set data.source.channels=1"
            )
        if num_samples < 1:
            raise ConfigError(f"data.num_samples must be >= 1, got {num_samples}")
        self.source = source
        self.num_samples = num_samples
        self.seed = seed
        self._index: Tensor | None = None

    @property
    def shape(self) -> tuple[int, ...]:
        return (3, *self.source.shape[1:])

    @property
    def reference_id(self) -> str:
        return f"stacked-{self.source.reference_id}-n{self.num_samples}-seed{self.seed}"

    def prepare_data(self) -> None:
        self.source.prepare_data()

    @property
    def index(self) -> Tensor:
        """(num_samples, 3): the source image behind each channel of each sample."""
        if self._index is None:
            generator = torch.Generator().manual_seed(self.seed)
            count = len(self.source.train_dataset())
            self._index = torch.randint(count, (self.num_samples, 3), generator=generator)
        return self._index

    @property
    def digit_labels(self) -> Tensor:
        """(N, 3): the digit label of each channel of each sample."""
        digits = self.source.labels
        if digits is None or digits.min() < 0 or digits.max() > 9:
            raise ConfigError(
                f"stacking needs source labels 0..9 (digit classes); {type(self.source).__name__} has none"
            )
        return digits[self.index]

    def build_labels(self) -> Tensor:
        d = self.digit_labels
        return 100 * d[:, 0] + 10 * d[:, 1] + d[:, 2]

    def build_samples(self) -> Tensor:
        return self.source.samples[self.index.flatten()].reshape(self.num_samples, *self.shape)

    def train_dataset(self) -> Dataset:
        return StackedSamples(self.source.train_dataset(), self.index)

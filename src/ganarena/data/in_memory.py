"""Base DataModule for data sets that fit in memory: no file reads or decoding per item.

It follows the contract of `ganarena.data.base` (`shape`, `real_samples(n, seed)`,
`reference_dataloader(batch_size)`, `reference_id`, `labels`). Subclasses implement `shape` and
`build_samples()` (and `build_labels()` when the data have labels); the samples are built once,
on first use, and served from one tensor. Data sets stored as 8-bit images keep them as uint8
(`Uint8Images`), a quarter of the float size, which matters when every DDP rank holds a copy.
"""

from __future__ import annotations

import torch
from torch import Tensor
from torch.utils.data import Dataset

from ganarena.data.base import ArenaDataModule
from ganarena.data.images import uint8_to_signed


class TensorSamples(Dataset):
    """Indexable view of a tensor of samples (N, ...) that yields bare tensors, no labels."""

    def __init__(self, samples: Tensor):
        self.samples = samples

    def __len__(self) -> int:
        return self.samples.shape[0]

    def __getitem__(self, index: int) -> Tensor:
        return self.samples[index]


class Uint8Images(TensorSamples):
    """uint8 images (N, C, H, W) served as float images in [-1, 1], one at a time."""

    def __getitem__(self, index: int) -> Tensor:
        return uint8_to_signed(self.samples[index])


class InMemoryDataModule(ArenaDataModule):
    """Builds the samples once (`build_samples`) and serves shuffled, equal-sized batches."""

    def __init__(
        self,
        batch_size: int,
        batches_per_step: int = 1,
        num_workers: int = 0,
        pin_memory: bool | None = None,
        persistent_workers: bool = True,
    ):
        super().__init__(batch_size, batches_per_step, num_workers, pin_memory, persistent_workers)
        self._samples: Tensor | None = None
        self._labels: Tensor | None = None

    def build_samples(self) -> Tensor:
        raise NotImplementedError

    def build_labels(self) -> Tensor | None:
        """Labels aligned with `build_samples()`; None for unlabelled data."""
        return None

    @property
    def reference_id(self) -> str:
        return f"{type(self).__name__}-train-{'x'.join(map(str, self.shape))}"

    @property
    def samples(self) -> Tensor:
        """All training samples as one float tensor (N, *shape)."""
        if self._samples is None:
            samples = self.build_samples()
            if tuple(samples.shape[1:]) != self.shape:
                raise RuntimeError(f"data have shape {tuple(samples.shape[1:])}, expected {self.shape}")
            self._samples = samples
        return self._samples

    @property
    def labels(self) -> Tensor | None:
        if self._labels is None:
            self._labels = self.build_labels()
            if self._labels is not None and len(self._labels) != len(self.train_dataset()):
                raise RuntimeError(f"{len(self._labels)} labels for {len(self.train_dataset())} samples")
        return self._labels

    def train_dataset(self) -> Dataset:
        return TensorSamples(self.samples)

    def real_samples(self, n: int, seed: int = 0) -> Tensor:
        """A fixed random subset of the data (for plots and metrics)."""
        dataset = self.train_dataset()
        index = torch.randperm(len(dataset), generator=torch.Generator().manual_seed(seed))[:n]
        if isinstance(dataset, TensorSamples):  # one gather instead of n item reads
            return dataset[index]
        return super().real_samples(n, seed)

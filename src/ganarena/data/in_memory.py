"""Base DataModule for data sets that fit in memory as one tensor."""

from __future__ import annotations

import lightning as L
import torch
from torch import Tensor
from torch.utils.data import DataLoader, Dataset


class TensorSamples(Dataset):
    """Indexable view of a tensor of samples (N, ...) that yields bare tensors, no labels."""

    def __init__(self, samples: Tensor):
        self.samples = samples

    def __len__(self) -> int:
        return self.samples.shape[0]

    def __getitem__(self, index: int) -> Tensor:
        return self.samples[index]


class InMemoryDataModule(L.LightningDataModule):
    """Builds the samples once (`build_samples`) and serves shuffled, equal-sized batches.

    Subclasses implement `build_samples()` and `shape`. `drop_last` keeps every batch (and, under
    DDP, every rank's batch) the same size, which GAN-QP's position pairing relies on.
    """

    def __init__(self, batch_size: int, batches_per_step: int = 1, num_workers: int = 0):
        super().__init__()
        if batch_size < 1 or batches_per_step < 1:
            raise ValueError(f"batch_size and batches_per_step must be >= 1, got {batch_size}, {batches_per_step}")
        self.batch_size = batch_size
        self.batches_per_step = batches_per_step
        self.num_workers = num_workers
        self._samples: Tensor | None = None

    @property
    def shape(self) -> tuple[int, ...]:
        """Shape of one sample, without the batch dimension."""
        raise NotImplementedError

    def build_samples(self) -> Tensor:
        raise NotImplementedError

    @property
    def samples(self) -> Tensor:
        if self._samples is None:
            self._samples = self.build_samples()
            if tuple(self._samples.shape[1:]) != self.shape:
                raise RuntimeError(f"data have shape {tuple(self._samples.shape[1:])}, expected {self.shape}")
        return self._samples

    def setup(self, stage: str | None = None) -> None:
        step_batch = self.batch_size * self.batches_per_step
        if len(self.samples) < step_batch:
            raise ValueError(
                f"one training step needs batch_size * n_critic = {step_batch} samples, but the data set"
                f" has only {len(self.samples)}; lower batch_size or n_critic"
            )

    def train_dataloader(self) -> DataLoader:
        return DataLoader(
            TensorSamples(self.samples),
            batch_size=self.batch_size * self.batches_per_step,
            shuffle=True,
            drop_last=True,
            num_workers=self.num_workers,
            persistent_workers=self.num_workers > 0,
        )

    def real_samples(self, n: int, seed: int = 0) -> Tensor:
        """A fixed random subset of the data (for plots and metrics)."""
        generator = torch.Generator().manual_seed(seed)
        index = torch.randperm(len(self.samples), generator=generator)[:n]
        return self.samples[index]

"""The DataModule contract of ganarena, and the loaders every data set shares.

Every DataModule offers, beside Lightning's hooks, what metrics and plots rely on:

- `shape`: one sample's shape, known from the config before any data are read;
- `real_samples(n, seed)`: a fixed random subset of the training data (plots, toy metrics);
  it reads only those n samples, so it is cheap on data sets that stay on disk;
- `reference_dataloader(batch_size)`: the images FID statistics are computed from, in a fixed
  order, from the data set's reference split (training data unless the data set says otherwise);
- `reference_id`: a file-name-safe string naming that reference set (data set, split,
  preprocessing, shape), so cached statistics are reused only for the same images;
- `labels`: class or mode labels aligned with the training samples, or None.

Subclasses provide `train_dataset()` (and `reference_dataset()` when the reference split is not
the training data): Datasets whose items are bare float tensors. This base turns them into
loaders. A training batch holds `batch_size * batches_per_step` samples (one generator iteration
of the GANModule, split into n_critic critic batches); `drop_last` keeps every batch, and under
DDP every rank's batch, the same size. The order comes from `ganarena.data.sampling`: a seeded
permutation per epoch, one shard per DDP rank, that a resumed run continues exactly.
"""

from __future__ import annotations

import os

import lightning as L
import torch
from torch import Tensor
from torch.utils.data import DataLoader, Dataset

from ganarena.data.sampling import resumable_loader
from ganarena.errors import ArenaError, ConfigError


class UnreadableDataError(ArenaError):
    """Data files that exist but cannot be read: truncated, corrupt, or not images."""


class ArenaDataModule(L.LightningDataModule):
    def __init__(
        self,
        batch_size: int,
        batches_per_step: int = 1,
        num_workers: int | None = 0,
        pin_memory: bool | None = None,
        persistent_workers: bool = True,
    ):
        super().__init__()
        if batch_size < 1 or batches_per_step < 1:
            raise ConfigError(f"batch_size and batches_per_step must be >= 1, got {batch_size} and {batches_per_step}")
        if num_workers is None:
            # Four decoding workers keep a GPU fed at 64x64; more than the cores only adds contention.
            num_workers = min(4, _usable_cores())
        if num_workers < 0:
            raise ConfigError(f"data.num_workers must be >= 0 (or null: automatic), got {num_workers}")
        self.batch_size = batch_size
        self.batches_per_step = batches_per_step
        self.num_workers = num_workers
        # None: pin when a GPU will receive the batches (pinning on a CPU-only machine only warns).
        self.pin_memory = torch.cuda.is_available() if pin_memory is None else pin_memory
        # Re-spawning workers every epoch costs seconds per epoch on image folders.
        self.persistent_workers = persistent_workers and num_workers > 0

    @property
    def shape(self) -> tuple[int, ...]:
        """Shape of one sample, without the batch dimension."""
        raise NotImplementedError

    @property
    def reference_id(self) -> str:
        raise NotImplementedError

    @property
    def labels(self) -> Tensor | None:
        return None

    def train_dataset(self) -> Dataset:
        """The training samples, each a float tensor of shape `self.shape`."""
        raise NotImplementedError

    def reference_dataset(self) -> Dataset:
        """The FID reference samples, in their fixed order."""
        return self.train_dataset()

    def setup(self, stage: str | None = None) -> None:
        step_batch = self.batch_size * self.batches_per_step
        available = len(self.train_dataset())
        if available < step_batch:
            raise ConfigError(
                f"one training step needs batch_size * n_critic = {step_batch} samples, but the data set"
                f" has only {available}; lower batch_size or n_critic"
            )

    def train_dataloader(self) -> DataLoader:
        # Shuffled per (run seed, epoch), sharded over ranks, continued exactly after a resume.
        return resumable_loader(
            self.train_dataset(),
            self.batch_size * self.batches_per_step,
            trainer=self.trainer,
            num_workers=self.num_workers,
            pin_memory=self.pin_memory,
            persistent_workers=self.persistent_workers,
        )

    def real_samples(self, n: int, seed: int = 0) -> Tensor:
        """A fixed random subset of the training data (for plots and metrics): n samples at most."""
        dataset = self.train_dataset()
        index = torch.randperm(len(dataset), generator=torch.Generator().manual_seed(seed))[:n]
        return torch.stack([dataset[i] for i in index.tolist()])

    def reference_dataloader(self, batch_size: int) -> DataLoader:
        """The reference samples in stored order: the real side of FID statistics."""
        return DataLoader(
            self.reference_dataset(),
            batch_size=batch_size,
            shuffle=False,
            num_workers=self.num_workers,
            pin_memory=self.pin_memory,
        )


def _usable_cores() -> int:
    if hasattr(os, "sched_getaffinity"):  # the cores this process may run on (containers, taskset)
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1

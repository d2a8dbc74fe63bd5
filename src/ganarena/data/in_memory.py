"""Base DataModule for data sets that fit in memory as one tensor.

Every DataModule in ganarena offers what metrics and plots rely on, beside Lightning's hooks:

- `shape`: one sample's shape, known before any data are read;
- `real_samples(n, seed)`: a fixed random subset of the training data (plots, toy metrics);
- `reference_dataloader(batch_size)`: the images FID statistics are computed from, in a fixed
  order, from the data set's reference split (training data unless the data set says otherwise);
- `reference_id`: a file-name-safe string naming that reference set (data set, split,
  preprocessing, shape), so cached statistics are reused only for the same images;
- `labels`: class or mode labels aligned with the training samples, or None.
"""

from __future__ import annotations

import lightning as L
import torch
from torch import Tensor
from torch.utils.data import DataLoader, Dataset

from ganarena.data.sampling import resumable_loader


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
        self._labels: Tensor | None = None

    @property
    def shape(self) -> tuple[int, ...]:
        """Shape of one sample, without the batch dimension."""
        raise NotImplementedError

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
        if self._samples is None:
            self._samples = self.build_samples()
            if tuple(self._samples.shape[1:]) != self.shape:
                raise RuntimeError(f"data have shape {tuple(self._samples.shape[1:])}, expected {self.shape}")
        return self._samples

    @property
    def labels(self) -> Tensor | None:
        if self._labels is None:
            self._labels = self.build_labels()
            if self._labels is not None and len(self._labels) != len(self.samples):
                raise RuntimeError(f"{len(self._labels)} labels for {len(self.samples)} samples")
        return self._labels

    def setup(self, stage: str | None = None) -> None:
        step_batch = self.batch_size * self.batches_per_step
        if len(self.samples) < step_batch:
            raise ValueError(
                f"one training step needs batch_size * n_critic = {step_batch} samples, but the data set"
                f" has only {len(self.samples)}; lower batch_size or n_critic"
            )

    def train_dataloader(self) -> DataLoader:
        return resumable_loader(
            TensorSamples(self.samples),
            self.batch_size * self.batches_per_step,
            trainer=self.trainer,
            num_workers=self.num_workers,
        )

    def real_samples(self, n: int, seed: int = 0) -> Tensor:
        """A fixed random subset of the data (for plots and metrics)."""
        generator = torch.Generator().manual_seed(seed)
        index = torch.randperm(len(self.samples), generator=generator)[:n]
        return self.samples[index]

    def reference_dataloader(self, batch_size: int) -> DataLoader:
        """The training samples in stored order: the reference set for FID statistics."""
        return DataLoader(TensorSamples(self.samples), batch_size=batch_size, shuffle=False)

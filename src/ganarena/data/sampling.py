"""Training batches in an order a checkpoint can continue exactly.

    loader = resumable_loader(dataset, step_batch, trainer=self.trainer, num_workers=4)

The order of an epoch is a pure function of (run seed, epoch): a permutation drawn like torch's
DistributedSampler draws it, one shard per rank. A run resumed after k generator iterations
starts at batch k of that sequence, so it sees exactly the batches the uninterrupted run would
have seen. No global random state is used, so sampling never shifts the noise the networks draw.
"""

from __future__ import annotations

import os

import lightning as L
import torch
from lightning.pytorch.utilities import rank_zero_warn
from torch.utils.data import DataLoader, Dataset, DistributedSampler


class ResumableSampler(DistributedSampler):
    """DistributedSampler (shuffled, equal shards) that counts its own epochs and can start mid-epoch.

    It is a DistributedSampler, so Lightning keeps it under DDP instead of injecting its own.
    Epochs are counted here, one per `__iter__`, rather than taken from Lightning's `set_epoch`:
    Lightning's epoch counter after a resume depends on where the checkpoint was written, while
    the number of generator iterations done (`start_at`) fixes the position exactly.
    """

    def __init__(self, dataset: Dataset, batch_size: int, seed: int, num_replicas: int = 1, rank: int = 0):
        super().__init__(dataset, num_replicas=num_replicas, rank=rank, shuffle=True, seed=seed, drop_last=True)
        self.batch_size = batch_size
        self._skip_batches = 0

    @property
    def batches_per_epoch(self) -> int:
        return self.num_samples // self.batch_size

    def start_at(self, batches_done: int) -> None:
        """Continue as if `batches_done` batches had already been drawn from epoch 0 onwards."""
        self.epoch, self._skip_batches = divmod(batches_done, self.batches_per_epoch)

    def set_epoch(self, epoch: int) -> None:
        """Ignored: see the class docstring."""

    def __iter__(self):
        indices = list(super().__iter__())
        start, self._skip_batches = self._skip_batches * self.batch_size, 0
        self.epoch += 1
        return iter(indices[start:])


class ResumableDataLoader(DataLoader):
    """A DataLoader that tells Lightning it can resume mid-epoch (its ResumableSampler does)."""

    def state_dict(self) -> dict[str, int]:
        return {"seed": self.sampler.seed}

    def load_state_dict(self, state: dict[str, int]) -> None:
        if state.get("seed") != self.sampler.seed:
            rank_zero_warn(
                f"resuming with seed {self.sampler.seed} but the checkpoint was trained with seed"
                f" {state.get('seed')}: the rest of the run sees the data in another order"
            )


def run_seed() -> int:
    """The seed `lightning.seed_everything` gave the run: the same on every rank."""
    return int(os.environ.get("PL_GLOBAL_SEED", 0))


def resumable_loader(
    dataset: Dataset,
    batch_size: int,
    trainer: L.Trainer | None = None,
    num_workers: int = 0,
    pin_memory: bool = False,
    persistent_workers: bool = True,
    seed: int | None = None,
) -> DataLoader:
    """Shuffled, equal-sized batches (drop_last), sharded over the trainer's ranks, resumable."""
    seed = run_seed() if seed is None else seed
    sampler = ResumableSampler(
        dataset,
        batch_size,
        seed,
        num_replicas=trainer.world_size if trainer is not None else 1,
        rank=trainer.global_rank if trainer is not None else 0,
    )
    # One batch per generator iteration, and global_step counts generator iterations.
    sampler.start_at(trainer.global_step if trainer is not None else 0)
    return ResumableDataLoader(
        dataset,
        batch_size=batch_size,
        sampler=sampler,
        drop_last=True,
        num_workers=num_workers,
        pin_memory=pin_memory,
        persistent_workers=persistent_workers and num_workers > 0,
        # Worker seeds come from this generator rather than from the global random state.
        generator=torch.Generator().manual_seed(seed),
    )

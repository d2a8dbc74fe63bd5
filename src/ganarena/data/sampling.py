"""Training batches in an order a checkpoint can continue exactly.

    loader = resumable_loader(dataset, step_batch, trainer=self.trainer, num_workers=4)

The order of an epoch is a pure function of (run seed, epoch): a permutation drawn like torch's
DistributedSampler draws it, one shard per rank. When Lightning resumes from a checkpoint taken
part-way through an epoch, the loader starts after the batches that epoch had already consumed,
so a resumed run sees exactly the batches the uninterrupted run would have seen. No global random
state is used, so sampling never shifts the noise the networks draw.
"""

from __future__ import annotations

import os

import lightning as L
import torch
from torch.utils.data import DataLoader, Dataset, DistributedSampler


class ResumableSampler(DistributedSampler):
    """DistributedSampler (shuffled, equal shards) whose next epoch can skip its first batches.

    It is a DistributedSampler, so Lightning keeps it under DDP instead of injecting its own, and
    calls `set_epoch` at every epoch start.
    """

    def __init__(self, dataset: Dataset, batch_size: int, seed: int, num_replicas: int = 1, rank: int = 0):
        super().__init__(dataset, num_replicas=num_replicas, rank=rank, shuffle=True, seed=seed, drop_last=True)
        self.batch_size = batch_size
        self.skip_batches = 0

    def __iter__(self):
        indices = list(super().__iter__())
        start, self.skip_batches = self.skip_batches * self.batch_size, 0
        return iter(indices[start:])


def run_seed() -> int:
    """The seed `lightning.seed_everything` gave the run: the same on every rank."""
    return int(os.environ.get("PL_GLOBAL_SEED", 0))


def batches_done_in_epoch(trainer: L.Trainer | None) -> int:
    """Batches the current epoch had consumed when the checkpoint being resumed was written."""
    if trainer is None:
        return 0
    # `processed` rather than `completed`: a checkpoint written in on_train_batch_end has
    # processed the batch but not yet counted it completed.
    return trainer.fit_loop.epoch_loop.batch_progress.current.processed


def resumable_loader(
    dataset: Dataset,
    batch_size: int,
    trainer: L.Trainer | None = None,
    num_workers: int = 0,
    pin_memory: bool = False,
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
    done = batches_done_in_epoch(trainer)
    if 0 < done < len(sampler) // batch_size:
        sampler.skip_batches = done
    return DataLoader(
        dataset,
        batch_size=batch_size,
        sampler=sampler,
        drop_last=True,
        num_workers=num_workers,
        pin_memory=pin_memory,
        persistent_workers=num_workers > 0,
        # Worker seeds come from this generator rather than from the global random state.
        generator=torch.Generator().manual_seed(seed),
    )

"""The few collective operations the evaluations need, written so they also run without DDP.

    rank, world = rank_and_world()
    share = rank_share(10_000, rank, world)       # this rank's contiguous slice of sample indices
    value = broadcast_from_zero(value)            # rank 0's Python object on every rank
    everything = gather_in_rank_order(features)   # (sum of rows, ...) in rank order, every rank

Shares are contiguous, so gathering in rank order restores the original sample order and a
DDP evaluation sees exactly the samples a single process would.
"""

from __future__ import annotations

import torch
import torch.distributed as dist
from torch import Tensor
from torchmetrics.utilities.distributed import gather_all_tensors


def rank_and_world() -> tuple[int, int]:
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def rank_share(n: int, rank: int, world: int) -> slice:
    per_rank = -(-n // world)
    return slice(min(rank * per_rank, n), min((rank + 1) * per_rank, n))


def broadcast_from_zero(value):
    if rank_and_world()[1] == 1:
        return value
    box = [value]
    dist.broadcast_object_list(box, src=0)
    return box[0]


def broadcast_buffers_from_zero(module: torch.nn.Module) -> None:
    """Give every rank rank 0's buffers (batch-norm statistics stay per rank under gan_ddp)."""
    if rank_and_world()[1] == 1:
        return
    for buffer in module.buffers():
        dist.broadcast(buffer, src=0)


def gather_in_rank_order(local: Tensor) -> Tensor:
    if rank_and_world()[1] == 1:
        return local
    return torch.cat(gather_all_tensors(local.contiguous()))

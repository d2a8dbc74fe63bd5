"""A histogram of generated samples over the modes of a data set, summed across DDP ranks.

    histogram = ModeHistogram(num_modes=25)
    histogram.update(modes_of_kept_samples, seen=len(batch))   # per batch, on every rank
    counts, seen = histogram.compute()                          # synced: all ranks' samples
    kl_to_uniform(counts)                                       # KL(histogram || uniform)

Used by the toy (PacGAN) and the stacked-digit mode metrics.
"""

from __future__ import annotations

import torch
from torch import Tensor
from torchmetrics import Metric


class ModeHistogram(Metric):
    full_state_update = False

    counts: Tensor
    seen: Tensor

    def __init__(self, num_modes: int, **kwargs):
        super().__init__(**kwargs)
        self.num_modes = num_modes
        self.add_state("counts", torch.zeros(num_modes, dtype=torch.long), dist_reduce_fx="sum")
        self.add_state("seen", torch.tensor(0, dtype=torch.long), dist_reduce_fx="sum")

    def update(self, modes: Tensor, seen: int | None = None) -> None:
        """Count `modes` (mode indices of the samples that count); `seen`: all samples of the batch."""
        self.counts += torch.bincount(modes.flatten().long(), minlength=self.num_modes)
        self.seen += len(modes) if seen is None else seen

    def compute(self) -> tuple[Tensor, Tensor]:
        return self.counts, self.seen


def kl_to_uniform(counts: Tensor) -> float:
    """KL(p || uniform) of the histogram p = counts / counts.sum(); NaN for an empty histogram."""
    total = counts.sum()
    if total == 0:
        return float("nan")
    p = counts[counts > 0].double() / total
    return (p * (p * len(counts)).log()).sum().item()

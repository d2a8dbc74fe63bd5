"""An exponential moving average of the generator's weights (Yazici et al. 2019, "The Unusual
Effectiveness of Averaging in GAN Training"; used by BigGAN, StyleGAN, StudioGAN).

    ema = ExponentialAverage(decay=0.99, start_iteration=0)
    average = ema.average_copy(generator)            # GANModule(generator_ema=average)
    ema.update(average, generator, iteration)        # after each generator step (run/ema.py does it)

Up to `start_iteration` the average is a copy of the generator; after it each update moves every
weight by (1 - decay) towards the generator's: w_avg <- w_avg + (1 - decay) (w - w_avg). Buffers
(batch-norm statistics) are copied, not averaged. The average is a network of the generator's
class, so its state dict has the generator's keys and it samples like the generator.
"""

from __future__ import annotations

import copy

import torch
from torch import nn

from ganarena.errors import ConfigError


class ExponentialAverage:
    def __init__(self, decay: float = 0.99, start_iteration: int = 0):
        if not 0.0 <= decay < 1.0:
            raise ConfigError(f"ema.decay must be in [0, 1), got {decay}; 0.99 to 0.9999 are usual")
        if start_iteration < 0:
            raise ConfigError(f"ema.start_iteration must be >= 0, got {start_iteration}")
        self.decay = decay
        self.start_iteration = start_iteration

    def average_copy(self, generator: nn.Module) -> nn.Module:
        """A frozen copy of `generator` to hold the average."""
        return copy.deepcopy(generator).requires_grad_(False)

    @torch.no_grad()
    def update(self, average: nn.Module, generator: nn.Module, iteration: int) -> None:
        """Fold in the generator after `iteration` finished generator iterations."""
        pairs = zip(average.parameters(), generator.parameters(), strict=True)
        if iteration <= self.start_iteration:
            for mean, weight in pairs:
                mean.copy_(weight)
        else:
            for mean, weight in pairs:
                mean.lerp_(weight, 1.0 - self.decay)
        for mean, buffer in zip(average.buffers(), generator.buffers(), strict=True):
            mean.copy_(buffer)

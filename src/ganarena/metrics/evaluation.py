"""The base of every metric family: measure a generator on fixed noise, DDP-aware.

    evaluation = FrechetEvaluation(backbone=InceptionV3(), num_fake=10_000, every_n_iterations=1000)
    values = evaluation.run(generator, datamodule, device)   # {"fid": ..., "kid": ...}

Subclasses say which data they can measure (`incompatibility`), load what they need once
(`prepare`), take generated batches (`update`) and turn them into values (`compute`, synced
across DDP ranks). This class owns the rest:

- the noise: `num_samples` latent points drawn once from `seed`, so every evaluation of a run,
  and eval.py later on a checkpoint, measures the same latent points;
- DDP: each rank generates and measures its contiguous share of those points, with rank 0's
  batch-norm statistics (the ones checkpoints hold), and the metric states are synced.

`every_n_iterations`, `monitor` and `best_checkpoint` say how a training run schedules it and
which value its best checkpoint follows (run/evaluation.py). Evaluations never touch the global
random state, so training follows the same trajectory with or without them.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import torch
from PIL import Image
from torch import Tensor, nn

from ganarena.errors import ConfigError
from ganarena.game.noise import seeded_noise
from ganarena.metrics.distributed import broadcast_buffers_from_zero, rank_and_world, rank_share


class Evaluation:
    monitor: str | None = None  # the value `best_checkpoint` follows (lower is better)

    def __init__(
        self,
        num_samples: int,
        every_n_iterations: int,
        batch_size: int = 250,
        seed: int = 0,
        best_checkpoint: str | None = None,
    ):
        if num_samples < 2:
            raise ConfigError(f"an evaluation needs at least 2 generated samples, got {num_samples}")
        if every_n_iterations < 1 or batch_size < 1:
            raise ConfigError(
                f"every_n_iterations and batch_size must be >= 1, got {every_n_iterations} and {batch_size}"
            )
        self.num_samples = num_samples
        self.every_n_iterations = every_n_iterations
        self.batch_size = batch_size
        self.seed = seed
        self.best_checkpoint = Path(best_checkpoint) if best_checkpoint else None
        self.name = type(self).__name__  # the builder gives it its config key (fid, toy_modes, ...)
        self._prepared = False

    # What a metric family implements ---------------------------------------------------------

    @property
    def names(self) -> list[str]:
        """The keys of `compute()`'s result (logged as val/<name>)."""
        raise NotImplementedError

    def incompatibility(self, datamodule) -> str | None:
        """Why these data cannot be measured by this evaluation (then it is skipped or refused), or None."""
        raise NotImplementedError

    def check(self) -> None:
        """Raise ConfigError before training for what would stop the first evaluation (missing weights)."""

    def prepare(self, datamodule, device: torch.device) -> None:
        """Load or compute what `update` needs (networks, real statistics): once, at the first evaluation."""

    def update(self, fake: Tensor) -> None:
        raise NotImplementedError

    def compute(self) -> dict[str, float]:
        """Values over every rank's samples (collective under DDP: every rank calls it)."""
        raise NotImplementedError

    def reset(self) -> None:
        """Forget the generated samples of this evaluation."""

    def protocol(self) -> dict[str, Any]:
        """How the values were obtained: logged with them, written to metrics.json."""
        return {"num_fake": self.num_samples, "seed": self.seed}

    def picture(self) -> Image.Image | None:
        """A picture of the last evaluated samples, where one helps (eval.py saves it), or None."""
        return None

    # Running ------------------------------------------------------------------------------

    def noise(self, latent_dim: int) -> Tensor:
        """All `num_samples` latent points, the same at every evaluation (a private generator)."""
        return seeded_noise(self.num_samples, latent_dim, self.seed)

    @torch.no_grad()
    def run(self, generator: nn.Module, datamodule, device: torch.device | str) -> dict[str, float]:
        """Generate this rank's share of the fixed samples, measure them, return the synced values."""
        device = torch.device(device)
        if not self._prepared:
            self.prepare(datamodule, device)
            self._prepared = True
        rank, world = rank_and_world()
        # A copy in eval mode with rank 0's batch-norm statistics: the weights a checkpoint holds.
        frozen = copy.deepcopy(generator).eval().requires_grad_(False)
        broadcast_buffers_from_zero(frozen)
        noise = self.noise(generator.latent_dim)[rank_share(self.num_samples, rank, world)]
        dtype = next(frozen.parameters()).dtype  # half-precision runs keep half weights
        try:
            for z in noise.split(self.batch_size):
                self.update(frozen(z.to(device, dtype)).float())
            return self.compute()
        finally:
            self.reset()

"""Training callbacks: sample pictures on a schedule, and checkpoints counted in iterations."""

from __future__ import annotations

import warnings
from pathlib import Path

import lightning as L
import numpy as np
import torch
from lightning.pytorch.callbacks import ModelCheckpoint
from lightning.pytorch.loggers import TensorBoardLogger, WandbLogger

from ganarena.errors import ConfigError
from ganarena.visualize import image_grid, scatter_plot


class SampleGrid(L.Callback):
    """Every `every_n_iterations` generator iterations (and at the end), picture the generator.

    Images give a grid of `num_images` images; 2-D points give a scatter of `num_points`
    generated points over as many real ones. The noise is fixed for the whole run, so successive
    pictures show the same latent points. Only rank 0 draws. Pictures are saved as PNG under
    `output_dir` and sent to W&B and TensorBoard when those loggers are active.
    """

    def __init__(
        self,
        output_dir: str,
        every_n_iterations: int = 100,
        num_images: int = 64,
        num_points: int = 2500,
        seed: int = 0,
    ):
        if every_n_iterations < 1:
            raise ConfigError(f"every_n_iterations must be >= 1, got {every_n_iterations}")
        self.output_dir = Path(output_dir)
        self.every_n_iterations = every_n_iterations
        self.num_images = num_images
        self.num_points = num_points
        self.seed = seed
        self._last_drawn = -1

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
        if pl_module.iteration % self.every_n_iterations == 0:
            self.draw(trainer, pl_module)

    def on_train_end(self, trainer, pl_module):
        self.draw(trainer, pl_module)

    @torch.no_grad()
    def draw(self, trainer: L.Trainer, pl_module) -> Path | None:
        if not trainer.is_global_zero or pl_module.iteration == self._last_drawn:
            return None
        self._last_drawn = pl_module.iteration
        points = len(trainer.datamodule.shape) == 1
        count = self.num_points if points else self.num_images
        noise = torch.randn(count, pl_module.latent_dim, generator=torch.Generator().manual_seed(self.seed))
        generator = pl_module.generator
        was_training = generator.training
        generator.eval()
        fake = generator(noise.to(pl_module.device))
        generator.train(was_training)
        picture = scatter_plot(trainer.datamodule.real_samples(count, self.seed), fake) if points else image_grid(fake)
        path = self.output_dir / f"iter_{pl_module.iteration:06d}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        picture.save(path)
        for logger in trainer.loggers:
            if isinstance(logger, WandbLogger):
                logger.log_image("samples", [picture], step=pl_module.iteration)
            elif isinstance(logger, TensorBoardLogger):
                logger.experiment.add_image("samples", np.asarray(picture), pl_module.iteration, dataformats="HWC")
        return path


class IterationCheckpoint(ModelCheckpoint):
    """ModelCheckpoint that also writes `last.ckpt` when training ends between scheduled saves.

    With the GANModule, `global_step` (and so `every_n_train_steps` and `{step}` in file names)
    counts generator iterations.
    """

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
        # Lightning warns that manual optimization saves the state after the optimizer step.
        # That is the state we want: a checkpoint at iteration k holds k finished iterations.
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="Using ModelCheckpoint with manual optimization")
            super().on_train_batch_end(trainer, pl_module, outputs, batch, batch_idx)

    def on_train_end(self, trainer, pl_module):
        if self.save_last and trainer.global_step != self._last_global_step_saved:
            self._save_last_checkpoint(trainer, self._monitor_candidates(trainer))

"""Training callbacks: sample pictures on a schedule, checkpoints counted in iterations, and a
clean stop with a checkpoint when the job is told to end (preemption)."""

from __future__ import annotations

import os
import signal
import subprocess
import warnings
from pathlib import Path

import lightning as L
import numpy as np
import torch
from lightning.pytorch.callbacks import ModelCheckpoint
from lightning.pytorch.loggers import TensorBoardLogger, WandbLogger
from lightning.pytorch.utilities import rank_zero_info, rank_zero_warn

from ganarena.atomic_file import PARTIAL_SUFFIX
from ganarena.errors import ConfigError
from ganarena.game.noise import seeded_noise
from ganarena.game.regularizers import GeneratorRegularizer
from ganarena.run.lightning_private import last_saved_step, save_last_now
from ganarena.run.monitor import confirm_finite
from ganarena.visualize import image_grid, scatter_plot


class SampleGrid(L.Callback):
    """Every `every_n_iterations` generator iterations (and at the end), picture the generator.

    Images give a grid of `num_images` images; 2-D points give a scatter of `num_points`
    generated points over as many real ones. The noise is fixed for the whole run, so successive
    pictures show the same latent points. Only rank 0 draws. Pictures are saved as PNG under
    `output_dir` and sent to W&B and TensorBoard when those loggers are active. With an averaged
    generator (ema=on) it is drawn too, from the same noise, as `ema_iter_*.png` ("samples_ema").

    A run with an encoder (regularizer=mode, manifold_diffusion) also draws `recon_iter_*.png`
    ("reconstructions"): fixed real samples x beside G(E(x)) in pairs for images, a reconstruction
    map (each real point joined to its reconstruction) for 2-D points.
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
        confirm_finite(trainer)  # on every rank: never draw broken weights
        if not trainer.is_global_zero or pl_module.iteration == self._last_drawn:
            return None
        self._last_drawn = pl_module.iteration
        points = len(trainer.datamodule.shape) == 1
        count = self.num_points if points else self.num_images
        self._draw_samples(trainer, pl_module, pl_module.generator, count, points, "samples", "iter")
        if getattr(pl_module, "generator_ema", None) is not None:
            self._draw_samples(trainer, pl_module, pl_module.generator_ema, count, points, "samples_ema", "ema_iter")
        if any(type(r).reconstructions is not GeneratorRegularizer.reconstructions for r in pl_module.regularizers):
            self._draw_reconstructions(trainer, pl_module, count if points else count // 2, points)
        return self.output_dir / f"iter_{pl_module.iteration:06d}.png"

    def _draw_samples(self, trainer, pl_module, generator, count: int, points: bool, name: str, prefix: str) -> None:
        noise = seeded_noise(count, pl_module.latent_dim, self.seed)
        was_training = generator.training
        generator.eval()
        fake = generator(noise.to(pl_module.device))
        generator.train(was_training)
        real = trainer.datamodule.real_samples(count, self.seed) if points else None
        self._publish(trainer, name, scatter_plot(real, fake) if points else image_grid(fake), prefix)

    def _draw_reconstructions(self, trainer, pl_module, count: int, points: bool) -> None:
        real = trainer.datamodule.real_samples(count, self.seed)
        was_training = pl_module.training
        pl_module.eval()
        found = (r.reconstructions(real.to(pl_module.device), pl_module.generator) for r in pl_module.regularizers)
        recon = next(x for x in found if x is not None).cpu()
        pl_module.train(was_training)
        pairs = torch.stack([real, recon], 1).flatten(0, 1)  # x, G(E(x)), x, G(E(x)), ...
        picture = scatter_plot(real, recon, links=True) if points else image_grid(pairs)
        self._publish(trainer, "reconstructions", picture, "recon_iter")

    def _publish(self, trainer, name: str, picture, prefix: str) -> None:
        iteration = trainer.lightning_module.iteration
        path = self.output_dir / f"{prefix}_{iteration:06d}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        picture.save(path)
        for logger in trainer.loggers:
            if isinstance(logger, WandbLogger):
                logger.log_image(name, [picture], step=iteration)
            elif isinstance(logger, TensorBoardLogger):
                logger.experiment.add_image(name, np.asarray(picture), iteration, dataformats="HWC")


class IterationCheckpoint(ModelCheckpoint):
    """ModelCheckpoint that keeps the last `keep_last` periodic checkpoints, and also writes `last.ckpt`
    when training ends between scheduled saves.

        IterationCheckpoint(dirpath, every_n_train_steps=500, keep_last=5, save_last=True, filename="iter_{step:06d}")

    `keep_last=-1` keeps every periodic checkpoint; `last.ckpt` and the evaluations' `best.ckpt`
    are never removed. With the GANModule, `global_step` (and so `every_n_train_steps` and
    `{step}` in file names) counts generator iterations. A checkpoint of an iteration that an
    interrupted process had already saved replaces that file, and the temporary files a killed
    process left in `dirpath` are removed when training starts.
    """

    def __init__(self, keep_last: int = 5, **kwargs):
        if not isinstance(keep_last, int) or keep_last < -1:
            raise ConfigError(f"callbacks.checkpoint.keep_last must be -1 (keep all) or a count >= 0, got {keep_last}")
        if "save_top_k" in kwargs or "monitor" in kwargs:
            raise ConfigError("set callbacks.checkpoint.keep_last rather than save_top_k or monitor")
        # The N largest steps are the last N checkpoints: Lightning's top-k, ranked by iteration.
        ranking = {"save_top_k": -1} if keep_last == -1 else {"save_top_k": keep_last, "monitor": "step", "mode": "max"}
        kwargs.setdefault("enable_version_counter", False)
        super().__init__(**ranking, **kwargs)
        self.keep_last = keep_last

    def setup(self, trainer, pl_module, stage):
        super().setup(trainer, pl_module, stage)
        if trainer.is_global_zero and self.dirpath and os.path.isdir(self.dirpath):
            for leftover in Path(self.dirpath).glob(f".*{PARTIAL_SUFFIX}"):
                leftover.unlink(missing_ok=True)

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
        # Lightning warns that manual optimization saves the state after the optimizer step.
        # That is the state we want: a checkpoint at iteration k holds k finished iterations.
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="Using ModelCheckpoint with manual optimization")
            super().on_train_batch_end(trainer, pl_module, outputs, batch, batch_idx)

    def on_train_end(self, trainer, pl_module):
        if self.save_last and trainer.global_step != last_saved_step(self):
            self.write_last(trainer)

    def write_last(self, trainer: L.Trainer) -> str:
        """Write `last.ckpt` now (on every rank's call; rank 0 writes) and return its path."""
        save_last_now(self, trainer)
        return self.last_model_path


class Preemption(L.Callback):
    """On one of `signals`, finish the current iteration, save `last.ckpt` and stop cleanly.

    Schedulers announce the end of a job with a signal: SIGTERM (SLURM, Kubernetes, `kill`) or
    SLURM's warning signal (`#SBATCH --signal=USR1@90`). Every rank agrees on the stop at the
    end of an iteration, the checkpoint is written by the run's IterationCheckpoint, and the
    process exits with status 0. With `requeue` and inside a SLURM job, rank 0 then asks SLURM
    to requeue the job; run it with `resume=auto` and a fixed `hydra.run.dir` so the requeued
    job continues from that checkpoint.
    """

    def __init__(self, signals: tuple[str, ...] = ("SIGTERM", "SIGUSR1"), requeue: bool = False):
        unknown = [name for name in signals if name not in signal.Signals.__members__]
        if unknown:
            raise ConfigError(f"unknown signal names {unknown}; use names such as SIGTERM, SIGUSR1, SIGINT")
        self.signals = [signal.Signals[name] for name in signals]
        self.requeue = requeue
        self.received: signal.Signals | None = None
        self._previous_handlers: dict[signal.Signals, object] = {}

    def on_train_start(self, trainer, pl_module):
        self.received = None
        for signum in self.signals:
            self._previous_handlers[signum] = signal.signal(signum, self._note_signal)

    def _note_signal(self, signum: int, frame) -> None:
        self.received = signal.Signals(signum)

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
        stop = self.received is not None
        if trainer.world_size > 1:
            stop = trainer.strategy.reduce_boolean_decision(stop, all=False)
        if not stop:
            return
        checkpoint = trainer.checkpoint_callback
        if isinstance(checkpoint, IterationCheckpoint):
            path = checkpoint.write_last(trainer)
        else:
            path = os.path.join(trainer.default_root_dir, "preempted.ckpt")
            trainer.save_checkpoint(path)
        trainer.should_stop = True
        rank_zero_warn(
            f"received {self.received.name if self.received else 'a stop signal on another rank'} at iteration"
            f" {pl_module.iteration}: saved {path} and stopping; continue with ckpt_path={path}"
        )
        array_job = os.environ.get("SLURM_ARRAY_JOB_ID")
        job = f"{array_job}_{os.environ['SLURM_ARRAY_TASK_ID']}" if array_job else os.environ.get("SLURM_JOB_ID")
        if self.requeue and job and trainer.is_global_zero:
            result = subprocess.call(["scontrol", "requeue", job])
            rank_zero_info(f"requeue of SLURM job {job}: {'done' if result == 0 else f'failed ({result})'}")

    def _restore_handlers(self) -> None:
        for signum, handler in self._previous_handlers.items():
            signal.signal(signum, handler)
        self._previous_handlers = {}

    def on_train_end(self, trainer, pl_module):
        self._restore_handlers()

    def on_exception(self, trainer, pl_module, exception):
        self._restore_handlers()

"""AveragedGenerator: the callback that keeps GANModule.generator_ema the moving average of the generator.

    callbacks = [TrainingMonitor(), AveragedGenerator(ExponentialAverage(0.99)), ...]   # build_run

After every generator iteration, before any later callback checkpoints, evaluates or draws, it
folds the generator into `generator_ema` (game/ema.py). The average is part of the module's state
dict (`generator_ema.*`), so checkpoints hold it and a resumed run continues it exactly. Under
DDP every rank holds the same generator weights, so the same averaged weights; the copied
batch-norm statistics, which stay per rank, are then taken from rank 0.
"""

from __future__ import annotations

import lightning as L

from ganarena.game.ema import ExponentialAverage
from ganarena.metrics.distributed import broadcast_buffers_from_zero


class AveragedGenerator(L.Callback):
    def __init__(self, average: ExponentialAverage):
        self.average = average

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        self.average.update(pl_module.generator_ema, pl_module.generator, pl_module.iteration)
        broadcast_buffers_from_zero(pl_module.generator_ema)

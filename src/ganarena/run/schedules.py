"""LearningRateSchedule: the callback that sets both optimisers' rates from the generator iteration.

    callbacks = [..., LearningRateSchedule(LinearDecay(total_iterations=1500))]   # build_run, from optim.schedule

Before every generator iteration each parameter group's `lr` becomes `initial_lr * factor(iteration)`
(game/schedules.py), `initial_lr` being the rate the optimiser was built with. The rate is a
function of the iteration and of `initial_lr`, which the optimiser's state (so the checkpoint)
keeps, so a resumed run uses the same rates bit for bit without a scheduler state of its own.
"""

from __future__ import annotations

import lightning as L


class LearningRateSchedule(L.Callback):
    def __init__(self, schedule):
        self.schedule = schedule

    def on_train_start(self, trainer, pl_module) -> None:
        # Runs after a checkpoint's optimiser state is restored: a resumed group keeps its initial_lr.
        for optimizer in trainer.optimizers:
            for group in optimizer.param_groups:
                group.setdefault("initial_lr", group["lr"])

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx) -> None:
        factor = self.schedule.factor(pl_module.iteration)
        for optimizer in trainer.optimizers:
            for group in optimizer.param_groups:
                group["lr"] = group["initial_lr"] * factor

"""Gradient penalties under the run's loss scaler: 16-mixed's GradScaler handed to every penalty.

    trainer = Trainer(callbacks=[PenaltyLossScaling(), ...])   # build_run adds it

Lightning's MixedPrecision plugin owns the GradScaler (`trainer.precision_plugin.scaler`, None
under bf16-mixed and 32-true). At the start of fit this callback gives it to each penalty of the
critic constraints, the regularizers' own critics included, as `loss_scaler`; the penalties then
follow PyTorch's AMP recipe (game/constraints.py, `input_gradient`). Without a scaler nothing changes.
"""

from __future__ import annotations

import lightning as L

from ganarena.game.constraints import Constraint, PerSamplePenalty


def penalties_of(module: L.LightningModule) -> list[PerSamplePenalty]:
    """The input-gradient penalties of the main critic and of every regularizer's own critic."""
    constraints: list[Constraint] = [*module.constraints]
    for regularizer in module.regularizers:
        constraints += getattr(regularizer, "constraints", [])
    return [c for c in constraints if isinstance(c, PerSamplePenalty)]


class PenaltyLossScaling(L.Callback):
    def on_fit_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        scaler = getattr(trainer.precision_plugin, "scaler", None)
        for penalty in penalties_of(pl_module):
            penalty.loss_scaler = scaler

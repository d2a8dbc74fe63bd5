"""Mixed precision in the game: the run's GradScaler handed to every penalty, scores in float32.

    trainer = Trainer(callbacks=[PenaltyLossScaling(), ...])   # build_run adds it
    scores_in_float32(module.critic)                           # build_module, under *-mixed only

Lightning's MixedPrecision plugin owns the GradScaler (`trainer.precision_plugin.scaler`, None
under bf16-mixed and 32-true). At the start of fit this callback gives it to each penalty of the
critic constraints, the regularizers' own critics included, as `loss_scaler`; the penalties then
follow PyTorch's AMP recipe (game/constraints.py, `input_gradient`). Without a scaler nothing changes.

Under autocast the critic's last layer returns bf16/fp16 scores, and every loss would then be
computed and logged to 3 significant digits; CPU autocast does not lift softplus and friends to
float32 as CUDA's does. `scores_in_float32` casts the scores as they leave the critic.
"""

from __future__ import annotations

import lightning as L
from torch import nn

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


# Lightning's names of the precisions that run the step under autocast.
MIXED_PRECISIONS = ("16-mixed", "bf16-mixed", "16", "bf16")


def scores_in_float32(critic: nn.Module) -> None:
    """Cast the critic's outputs to float32 (a forward hook: only mixed runs pay for it)."""
    critic.register_forward_hook(lambda _module, _args, scores: scores.float())

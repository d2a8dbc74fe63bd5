"""DirectUpdatesAtFitStart: take GANModule's direct backward and optimiser path when Lightning's would add nothing.

    trainer = Trainer(callbacks=[DirectUpdatesAtFitStart(), ...])   # build_run adds it
    DirectUpdatesAtFitStart(compile_mode="default")                  # compile=true (game/compiled.py)

Under manual optimization every `manual_backward` and optimiser step goes through the strategy,
the precision plugin and three rounds of callback and module hooks (on_before_backward,
on_after_backward, on_before_optimizer_step). For a 32-bit run on one device or under gan_ddp
these are all no-ops, yet on a small network they cost as much host time as the arithmetic.
At fit start, once, this callback checks that nothing would happen there, and then hands the
module `DirectUpdates` (game/updates.py): `loss.backward()` and `optimizer.step()`, the
generator's step still counted by the loop. Anything else keeps Lightning's path: mixed
precision (its scaler and autocast live in the precision plugin), another strategy (Lightning's
whole-module DDP prepares every backward), post-local-SGD averaging, or any callback or module
that overrides one of those hooks. gan_ddp needs no hook: its gradients are reduced by the DDP
wrappers' own autograd hooks during `loss.backward()`.

With `compile_mode` (compile=true) the direct path is `CompiledUpdates`: compiled objectives and
optimiser steps. Where Lightning's path is needed, only the objectives are compiled, and where
several processes train (gan_ddp: compiled DDP is unproven here) nothing is; either way one
warning says which piece stays eager and why.
"""

from __future__ import annotations

import lightning as L
from lightning.pytorch.plugins.precision import Precision
from lightning.pytorch.strategies import SingleDeviceStrategy
from lightning.pytorch.utilities import rank_zero_warn

from ganarena.game.compiled import (
    CompiledObjectivesLightningUpdates,
    CompiledUpdates,
    eager_penalties,
    start_compiling,
)
from ganarena.game.updates import DirectUpdates, LightningUpdates
from ganarena.run.lightning_private import counted_step, model_averager
from ganarena.run.strategy import GANDDPStrategy

HOOKS = ("on_before_backward", "on_after_backward", "on_before_optimizer_step")
MODULE_HOOKS = (*HOOKS, "backward", "optimizer_step")


def why_not_direct(trainer: L.Trainer, module: L.LightningModule) -> str | None:
    """None when Lightning's backward and step would only call no-op hooks; else what needs them."""
    strategy = trainer.strategy
    if type(strategy.precision_plugin) is not Precision:
        return f"the precision plugin {type(strategy.precision_plugin).__name__}"
    if type(strategy) not in (SingleDeviceStrategy, GANDDPStrategy):
        return f"the strategy {type(strategy).__name__}"
    if isinstance(strategy, GANDDPStrategy) and model_averager(strategy) is not None:
        return "gan_ddp's model averaging"
    for callback in trainer.callbacks:
        hooked = [h for h in HOOKS if getattr(type(callback), h) is not getattr(L.Callback, h)]
        if hooked:
            return f"{type(callback).__name__}.{hooked[0]}"
    hooked = [h for h in MODULE_HOOKS if getattr(type(module), h) is not getattr(L.LightningModule, h)]
    return f"{type(module).__name__}.{hooked[0]}" if hooked else None


class DirectUpdatesAtFitStart(L.Callback):
    """Chooses the module's update path once per fit (game/updates.py); `direct` records the choice."""

    def __init__(self, compile_mode: str | None = None):
        self.compile_mode = compile_mode
        self.direct: bool | None = None
        self.reason: str | None = None

    def on_fit_start(self, trainer, pl_module) -> None:
        self.reason = why_not_direct(trainer, pl_module)
        self.direct = self.reason is None
        pl_module.updates = DirectUpdates(counted_step) if self.direct else LightningUpdates()
        if self.compile_mode is not None:
            pl_module.updates = self._compiled(trainer, pl_module)

    def _compiled(self, trainer, pl_module):
        if trainer.world_size > 1:
            rank_zero_warn(
                f"compile=true: the updates stay eager: compiling across {trainer.world_size} processes"
                " (gan_ddp) is not proven here. Train on one device to compile, or set compile=false."
            )
            return pl_module.updates
        eager_penalties(pl_module.constraints)
        start_compiling()
        if self.direct:
            return CompiledUpdates(counted_step, self.compile_mode)
        rank_zero_warn(
            f"compile=true: backward passes and optimiser steps stay eager because {self.reason} needs"
            " Lightning's path; only the objectives are compiled."
        )
        return CompiledObjectivesLightningUpdates(self.compile_mode)

    def on_fit_end(self, trainer, pl_module) -> None:
        pl_module.updates = LightningUpdates()  # the module may be fitted again under another trainer

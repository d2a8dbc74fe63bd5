"""How GANModule applies one update: backward pass and optimiser step, through Lightning or directly.

    module.updates = LightningUpdates()          # the default: the strategy and its precision plugin
    module.updates = DirectUpdates(count_step)   # run/direct_updates.py, at fit start, when nothing hooks them
    loss = module.updates.run(module.critic_objective, real, critic_step)   # objective(*args), or compiled
    module.updates.backward(module, loss)
    module.updates.step(module, optimizer, counted=True)   # counted: a generator iteration (trainer.global_step)

`LightningUpdates` is Lightning's manual optimization: `manual_backward` (the strategy's
backward and every callback's on_before/after_backward) and the strategy's `optimizer_step`
(the precision plugin's closure and on_before_optimizer_step). `DirectUpdates` is what those
calls reduce to for a 32-bit run whose strategy, module and callbacks hook neither:
`loss.backward()` and `optimizer.step()`, with the counted step still reported to the loop.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor


def plain_optimizer(optimizer) -> torch.optim.Optimizer:
    """The torch optimizer behind a LightningOptimizer (or the optimizer itself)."""
    return getattr(optimizer, "optimizer", optimizer)


class EagerObjectives:
    def run(self, objective: Callable, *args):
        """objective(*args): one update's loss (game/compiled.py compiles it instead)."""
        return objective(*args)


class LightningUpdates(EagerObjectives):
    """Every backward and step through the Trainer's strategy, precision plugin and hooks."""

    def backward(self, module, loss: Tensor) -> None:
        module.manual_backward(loss)

    def step(self, module, optimizer, counted: bool = False) -> None:
        if counted:
            optimizer.step()  # a LightningOptimizer: the loop counts it as a step
        else:
            module.trainer.strategy.optimizer_step(plain_optimizer(optimizer), closure=lambda: None, model=module)


class DirectUpdates(EagerObjectives):
    """Plain backward and optimiser step; `count_step(lightning_optimizer, step)` runs a counted step.

    Only correct where run/direct_updates.py found that Lightning's path would add nothing but
    no-op hooks: the plain 32-bit precision plugin, a strategy without backward or step hooks,
    no callback or module hook on backward or optimiser steps.
    """

    def __init__(self, count_step: Callable[[object, Callable[[], object]], None]):
        self.count_step = count_step

    def backward(self, module, loss: Tensor) -> None:
        loss.backward()

    def step(self, module, optimizer, counted: bool = False) -> None:
        if counted:
            self.count_step(optimizer, plain_optimizer(optimizer).step)
        else:
            plain_optimizer(optimizer).step()

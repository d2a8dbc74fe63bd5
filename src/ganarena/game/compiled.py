"""compile=true: GANModule's objectives and optimiser steps through torch.compile, penalties eager.

    updates = CompiledUpdates(count_step, mode="default")   # run/direct_updates.py builds it at fit start
    eager_penalties(module.constraints)                     # before the first compiled objective

What is compiled, per update: the objective (noise, generator, critic forwards, the loss, as one
graph whose backward aot_autograd also compiles) and the optimiser's step. The backward pass
itself is called eagerly between them, as `DirectUpdates` does. A gradient penalty (gp, r1, r2,
dragan) differentiates the critic twice, which aot_autograd cannot: each constraint's `penalty`
is wrapped in `torch.compiler.disable`, so the compiled objective calls it eagerly on the same
parameters (the plain critic) and the penalty's double backward runs in eager autograd.
Inductor's own random numbers differ from eager ones; `fallback_random` keeps torch's generator,
so noise draws, random states and resumes are those of an eager run.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import torch
from torch import Tensor

from ganarena.game.constraints import Constraint
from ganarena.game.updates import DirectUpdates, LightningUpdates, plain_optimizer


def eager_penalties(constraints: Iterable[Constraint]) -> None:
    """Each penalty runs eagerly inside compiled code: its double backward cannot be compiled."""
    for constraint in constraints:
        # Once per constraint object: a second fit of the same module finds it wrapped already.
        if type(constraint).penalty is not Constraint.penalty and "penalty" not in vars(constraint):
            constraint.penalty = torch.compiler.disable(constraint.penalty)


def start_compiling() -> None:
    """Before a fit compiles: noise as eager draws it, and no compiled code left from an earlier fit.

    Each optimiser's compiled step is guarded on that optimiser object; fits after fits in one
    process (tests, the benchmark) would otherwise reach dynamo's recompile limit and go eager.
    """
    import torch._inductor.config as inductor_config

    inductor_config.fallback_random = True
    torch._dynamo.reset()


class CompiledObjectives:
    """Runs each objective through its own torch.compile'd function, compiled on first use."""

    def __init__(self, mode: str = "default"):
        self.mode = mode
        self._compiled: dict[str, Callable] = {}

    def run(self, objective: Callable, *args: Any):
        compiled = self._compiled.get(objective.__name__)
        if compiled is None:
            # dynamic=True: the critic update count (lazy penalties) is an input from the first call.
            # Left to dynamo's automatic dynamic, the recompiled objective of an update whose lazy
            # penalty was not due returned a loss without a graph (torch 2.14.1, constraint.r1.every=2).
            compiled = self._compiled[objective.__name__] = torch.compile(objective, mode=self.mode, dynamic=True)
        return compiled(*args)


class CompiledUpdates(CompiledObjectives, DirectUpdates):
    """Compiled objectives and optimiser steps; backward and step as DirectUpdates otherwise."""

    def __init__(self, count_step: Callable[[object, Callable[[], object]], None], mode: str = "default"):
        CompiledObjectives.__init__(self, mode)
        DirectUpdates.__init__(self, count_step)
        self._steps: dict[int, tuple[torch.optim.Optimizer, Callable]] = {}

    def step(self, module, optimizer, counted: bool = False) -> None:
        plain = plain_optimizer(optimizer)
        entry = self._steps.get(id(plain))
        if entry is None or entry[0] is not plain:
            entry = self._steps[id(plain)] = (plain, compiled_step(plain, self.mode))
        if counted:
            self.count_step(optimizer, entry[1])
        else:
            entry[1]()


class CompiledObjectivesLightningUpdates(CompiledObjectives, LightningUpdates):
    """Compiled objectives, with Lightning's backward and steps (mixed precision, hooking callbacks)."""


def compiled_step(optimizer: torch.optim.Optimizer, mode: str = "default") -> Callable[[], None]:
    """optimizer.step through torch.compile, each group's learning rate a 0-d tensor during it.

    A float rate is a constant of the compiled step: a schedule changing it every iteration would
    recompile it every iteration. A tensor is an input. Checkpoints and schedules keep seeing floats.
    """
    compiled = torch.compile(optimizer.step, mode=mode)

    def step() -> None:
        rates = [group["lr"] for group in optimizer.param_groups]
        for group, rate in zip(optimizer.param_groups, rates, strict=True):
            if not isinstance(rate, Tensor):
                group["lr"] = torch.tensor(rate, dtype=torch.float64)
        try:
            compiled()
        finally:
            for group, rate in zip(optimizer.param_groups, rates, strict=True):
                group["lr"] = rate

    return step

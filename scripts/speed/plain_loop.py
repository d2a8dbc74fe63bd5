"""PlainLoop: GANModule's training step in plain PyTorch, the speed benchmark's baseline without Lightning.

    loop = PlainLoop(module, "cpu")               # the module's networks, objectives, constraints, optimisers
    for batch in endless_batches(datamodule.train_dataloader()):
        loop.iteration(batch)                     # n_critic real batches stacked, as the data module gives them

The losses are the module's own (`critic_objective`, `generator_objective`); the loop adds only
what the module's `training_step` adds around them: backward, the optimiser steps and the
constraints' `after_critic_step`. `RoundingNoisePlainLoop` also perturbs every gradient by
float32 rounding, a yardstick for the equivalence check.
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import partial

import torch
from torch import Tensor

from ganarena.game.compiled import CompiledObjectives, compiled_step, eager_penalties, start_compiling
from ganarena.game.module import GANModule
from ganarena.run.finite_guard import FiniteGuard
from ganarena.run.monitor import weight_checksum


class PlainLoop:
    """GANModule's training step without Trainer, hooks, logging or (unless given one) non-finite check.

    It repeats `GANModule.training_step` update for update: one critic update per real chunk
    (fresh noise), then one generator update on the last chunk. `finite_guard` adds what the
    TrainingMonitor does after every iteration: the losses and weight checksums handed to a
    `FiniteGuard`.
    """

    def __init__(self, module: GANModule, device: torch.device | str, finite_guard: FiniteGuard | None = None):
        self.device = torch.device(device)
        # The whole module moves, not only its networks: its objectives draw noise on `module.device`.
        self.module = module.to(self.device).train()
        self.generator = module.generator
        self.critic = module.critic
        self.constraints = module.constraints
        self.n_critic = module.n_critic
        self.generator_optimizer = module.generator_optimizer(self.generator.parameters())
        self.critic_optimizer = module.critic_optimizer(self.critic.parameters())
        self.finite_guard = finite_guard
        self.iterations = 0
        self.critic_updates = 0  # over the run, as GANModule counts them: lazy penalties are due alike

    def iteration(self, batch: Tensor) -> None:
        real_batches = batch.chunk(self.n_critic)
        critic_logs = [self.critic_update(real) for real in real_batches]
        generator_loss = self.generator_update(real_batches[-1])
        if self.finite_guard is not None:
            self.iterations += 1
            checks = {name: torch.stack([log[name] for log in critic_logs]).mean() for name in critic_logs[0]}
            checks["generator_loss"] = generator_loss
            checks["generator weights"] = weight_checksum(self.generator)
            checks["critic weights"] = weight_checksum(self.critic)
            self.finite_guard.submit(self.iterations, checks)

    def critic_update(self, real: Tensor) -> dict[str, Tensor]:
        total, logs = self.module.critic_objective(real, self.critic_updates)
        self.critic_updates += 1
        self.critic_optimizer.zero_grad(set_to_none=True)
        total.backward()
        self.critic_optimizer.step()
        for constraint in self.constraints:
            constraint.after_critic_step(self.critic)
        return logs

    def generator_update(self, real: Tensor) -> Tensor:
        loss = self.module.generator_objective(real)
        self.generator_optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.generator_optimizer.step()
        return loss.detach()


class CompiledPlainLoop(PlainLoop):
    """PlainLoop with compile=true's pieces (game/compiled.py): compiled objectives and optimiser steps.

    What compile gives without a Trainer around it: the ceiling of GANModule's compiled runs.
    """

    def __init__(self, module: GANModule, device: torch.device | str, finite_guard: FiniteGuard | None = None):
        super().__init__(module, device, finite_guard)
        start_compiling()
        eager_penalties(self.constraints)
        self.objectives = CompiledObjectives()
        self.steps = {opt: compiled_step(opt) for opt in (self.generator_optimizer, self.critic_optimizer)}

    def critic_update(self, real: Tensor) -> dict[str, Tensor]:
        total, logs = self.objectives.run(self.module.critic_objective, real, self.critic_updates)
        self.critic_updates += 1
        self.critic_optimizer.zero_grad(set_to_none=True)
        total.backward()
        self.steps[self.critic_optimizer]()
        for constraint in self.constraints:
            constraint.after_critic_step(self.critic)
        return logs

    def generator_update(self, real: Tensor) -> Tensor:
        loss = self.objectives.run(self.module.generator_objective, real)
        self.generator_optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.steps[self.generator_optimizer]()
        return loss.detach()


class RoundingNoisePlainLoop(PlainLoop):
    """PlainLoop whose every weight gradient is off by float32 rounding: a relative error of about 1e-7.

    A yardstick for the equivalence check on devices whose kernels do not reproduce their sums
    bit for bit (GPU reductions and atomics): how far two runs of the same work drift apart
    when only the last bits of their gradients differ. Adam's first steps are nearly
    lr * sign(gradient), so a weight whose gradient is close to zero moves by about lr one way
    or the other on a rounding difference alone.
    """

    def __init__(self, module: GANModule, device: torch.device | str, finite_guard: FiniteGuard | None = None):
        super().__init__(module, device, finite_guard)
        # Its own generator: the training's noise draws must not shift.
        rounding = torch.Generator(self.device).manual_seed(0)
        for parameter in [*self.generator.parameters(), *self.critic.parameters()]:
            parameter.register_hook(partial(with_rounding_noise, rounding=rounding))


def with_rounding_noise(gradient: Tensor, rounding: torch.Generator) -> Tensor:
    """`gradient` times 1 + e, e drawn from N(0, 2^-23): a relative error the size of float32's last bit."""
    noise = torch.randn(gradient.shape, generator=rounding, device=gradient.device, dtype=gradient.dtype)
    return gradient * (1 + 2.0**-23 * noise)


def endless_batches(loader) -> Iterator[Tensor]:
    """Epoch after epoch, as Lightning iterates the loader with max_epochs=-1."""
    while True:
        yield from loader

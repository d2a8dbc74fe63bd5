"""GANModule: the adversarial game as a LightningModule with manual optimization.

One training step is one generator iteration. The DataModule hands over `n_critic` real batches
stacked into one; the step makes one critic update on each (fresh noise, fresh real batch each
time), then one generator update:

    for real in batch.chunk(n_critic):
        critic: minimise loss.critic_loss(D(real), D(G(z)), real, G(z)) + constraint penalties
        constraints.after_critic_step(critic)
    regularizers: update their own networks (regularizers.py; MDGAN also redefines `real`)
    generator: minimise loss.generator_loss(D(real), D(G(z))) + regularizer terms

`trainer.global_step`, every schedule and `self.iteration` count generator iterations. The step
returns its detached losses; the run's TrainingMonitor checks and logs them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from functools import partial
from typing import Any

import lightning as L
import torch
from torch import Tensor, nn

from ganarena.errors import ConfigError
from ganarena.game.constraints import Constraint
from ganarena.game.losses import AdversarialLoss
from ganarena.game.regularizers import GeneratorRegularizer

OptimizerFactory = Callable[[Iterable[nn.Parameter]], torch.optim.Optimizer]
DEFAULT_OPTIMIZER: OptimizerFactory = partial(torch.optim.Adam, lr=2e-4, betas=(0.5, 0.999))


class GANModule(L.LightningModule):
    def __init__(
        self,
        generator: nn.Module,
        critic: nn.Module,
        loss: AdversarialLoss,
        constraints: Iterable[Constraint] = (),
        generator_optimizer: OptimizerFactory = DEFAULT_OPTIMIZER,
        critic_optimizer: OptimizerFactory = DEFAULT_OPTIMIZER,
        n_critic: int = 1,
        config: dict[str, Any] | None = None,
        regularizers: Iterable[GeneratorRegularizer] = (),
    ):
        super().__init__()
        if n_critic < 1:
            raise ConfigError(f"n_critic must be at least 1, got {n_critic}")
        if not hasattr(generator, "latent_dim"):
            raise TypeError(f"{type(generator).__name__} must expose `latent_dim` (the noise size)")
        self.automatic_optimization = False
        self.generator, self.critic, self.loss = generator, critic, loss
        self.constraints = list(constraints)
        for constraint in self.constraints:
            constraint.apply(self.critic)
        self.generator_optimizer, self.critic_optimizer = generator_optimizer, critic_optimizer
        self.n_critic, self.config = n_critic, config
        self.iteration, self.latent_dim = 0, generator.latent_dim
        self.regularizers = nn.ModuleList(regularizers)  # submodules: their networks are checkpointed
        # Networks as the step calls them (DDP wrappers under gan_ddp), in a dict outside the state dict.
        self.train_networks: dict[str, nn.Module] = {"generator": generator, "critic": critic}

    def sample_noise(self, n: int) -> Tensor:
        return torch.randn(n, self.latent_dim, device=self.device)

    def configure_optimizers(self):
        generator, critic = self.generator.parameters(), self.critic.parameters()
        players = (self.generator_optimizer(generator), self.critic_optimizer(critic))
        return (*players, *(opt for reg in self.regularizers for opt in reg.make_optimizers()))

    def training_step(self, batch: Tensor, batch_idx: int) -> dict[str, Tensor]:
        if batch.shape[0] % self.n_critic:
            raise ValueError(f"a step batch of {batch.shape[0]} samples does not split into n_critic={self.n_critic}")
        generator_opt, critic_opt, *_ = self.optimizers()
        real_batches = batch.chunk(self.n_critic)
        critic_logs = [self._critic_update(real, critic_opt) for real in real_batches]
        for regularizer in self.regularizers:
            regularizer.update(real_batches[-1], self)
        generator_loss = self._generator_update(real_batches[-1], generator_opt)
        self.iteration += 1
        logs = {name: torch.stack([log[name] for log in critic_logs]).mean() for name in critic_logs[0]}
        logs.update({k: v for reg in self.regularizers for k, v in reg.logs.items()}, generator_loss=generator_loss)
        return {f"train/{name}": value for name, value in logs.items()}

    def _critic_update(self, real: Tensor, optimizer) -> dict[str, Tensor]:
        total, logs = self.critic_objective(real)
        optimizer.zero_grad(set_to_none=True)
        self.manual_backward(total)
        self.step_optimizer(optimizer.optimizer)
        for constraint in self.constraints:
            constraint.after_critic_step(self.critic)
        return logs

    def _generator_update(self, real: Tensor, optimizer) -> Tensor:
        loss = self.generator_objective(real)
        optimizer.zero_grad(set_to_none=True)
        self.manual_backward(loss)
        optimizer.step()
        for regularizer in self.regularizers:
            regularizer.after_generator_step(self)
        return loss.detach()

    def step_optimizer(self, optimizer: torch.optim.Optimizer) -> None:
        """Through the strategy, not `optimizer.step()`: the same precision path, without advancing the
        step counter that counts generator iterations. Gradients exist already: the closure is empty."""
        self.trainer.strategy.optimizer_step(optimizer, closure=lambda: None, model=self)

    def critic_real(self, real: Tensor) -> Tensor:
        for regularizer in self.regularizers:
            real = regularizer.critic_real(real, self)
        return real

    def critic_objective(self, real: Tensor) -> tuple[Tensor, dict[str, Tensor]]:
        """The critic's loss on one real batch and fresh noise, penalties included, and its detached logs."""
        critic = self.train_networks["critic"]
        real = self.critic_real(real)
        with torch.no_grad():
            fake = self.generator(self.sample_noise(real.shape[0]))
        d_real, d_fake = critic(real), critic(fake)
        loss = self.loss.critic_loss(d_real, d_fake, real, fake)
        penalties = [p for c in self.constraints if (p := c.penalty(critic, real, fake)) is not None]
        logs = {"critic_loss": loss.detach()}
        if penalties:
            logs["penalty"] = (penalty := sum(penalties)).detach()
            loss = loss + penalty
        logs.update({k: v.detach() for k, v in self.loss.critic_metrics(d_real, d_fake).items()})
        return loss, logs

    def generator_objective(self, real: Tensor) -> Tensor:
        """The generator's loss on fresh noise (`real` is scored only for losses that need real scores)."""
        fake = self.train_networks["generator"](self.sample_noise(real.shape[0]))
        # The critic is only a function here: frozen, and unwrapped so DDP arms no gradient reduction.
        self.critic.requires_grad_(False)
        try:
            d_fake = self.critic(fake)
            with torch.no_grad():
                d_real = self.critic(self.critic_real(real)) if self.loss.needs_real_scores else None
            terms = [t for reg in self.regularizers if (t := reg.generator_term(real, self)) is not None]
            return self.loss.generator_loss(d_real, d_fake) + sum(terms)
        finally:
            self.critic.requires_grad_(True)

    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        checkpoint.update(iteration=self.iteration, config=self.config)

    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        self.iteration = checkpoint["iteration"]

"""GANModule: the adversarial game as a LightningModule with manual optimization.

One training step is one generator iteration on `n_critic` stacked real batches:

    for real in batch.chunk(n_critic):     # fresh noise and a fresh real batch for each update
        critic: minimise loss.critic_loss(D(real), D(G(z)), real, G(z)) + penalties; after_critic_step
    regularizers: update their own networks (regularizers.py; MDGAN also redefines `real`)
    generator: minimise loss.generator_loss(D(real), D(G(z))) + regularizer terms

D is `score`, the critic on augment(x); losses and penalties see the un-augmented images. Every
schedule and `self.iteration` count generator iterations. The step returns its detached losses.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from functools import partial
from typing import Any

import lightning as L
import torch
from torch import Tensor, nn

from ganarena.errors import ConfigError
from ganarena.game.augment import NoAugment
from ganarena.game.constraints import Constraint, critic_penalty
from ganarena.game.losses import AdversarialLoss
from ganarena.game.regularizers import GeneratorRegularizer, critic_real
from ganarena.game.updates import LightningUpdates

OptimizerFactory = Callable[[Iterable[nn.Parameter]], torch.optim.Optimizer]
DEFAULT_OPTIMIZER: OptimizerFactory = partial(torch.optim.Adam, lr=2e-4, betas=(0.5, 0.999))


class GANModule(L.LightningModule):
    def __init__(
        self,
        generator: nn.Module,
        critic: nn.Module,
        loss: AdversarialLoss,
        constraints: Iterable[Constraint] = (),
        augment: nn.Module | None = None,
        generator_optimizer: OptimizerFactory = DEFAULT_OPTIMIZER,
        critic_optimizer: OptimizerFactory = DEFAULT_OPTIMIZER,
        n_critic: int = 1,
        config: dict[str, Any] | None = None,
        regularizers: Iterable[GeneratorRegularizer] = (),
    ):
        super().__init__()
        if n_critic < 1:
            raise ConfigError(f"n_critic must be at least 1, got {n_critic}")
        self.automatic_optimization = False
        self.generator, self.critic, self.loss = generator, critic, loss
        self.generator_ema: nn.Module | None = None  # ema=on: its moving average (run/ema.py)
        self.constraints = list(constraints)
        for constraint in self.constraints:
            constraint.apply(self.critic)
        self.augment = augment if augment is not None else NoAugment()
        self.generator_optimizer, self.critic_optimizer = generator_optimizer, critic_optimizer
        self.n_critic, self.config, self.iteration, self.latent_dim = n_critic, config, 0, generator.latent_dim
        self.regularizers = nn.ModuleList(regularizers)  # submodules: their networks are checkpointed
        self.train_networks = {"generator": generator, "critic": critic}  # as called: DDP-wrapped under gan_ddp
        self.updates = LightningUpdates()  # backward and steps; run/direct_updates.py may go direct at fit start

    def sample_noise(self, n: int) -> Tensor:
        return torch.randn(n, self.latent_dim, device=self.device)

    def configure_optimizers(self):
        players = self.generator_optimizer(self.generator.parameters()), self.critic_optimizer(self.critic.parameters())
        return (*players, *(opt for reg in self.regularizers for opt in reg.make_optimizers()))

    def training_step(self, batch: Tensor, batch_idx: int) -> dict[str, Tensor]:
        if batch.shape[0] % self.n_critic:
            raise ValueError(f"a step batch of {batch.shape[0]} samples does not split into n_critic={self.n_critic}")
        generator_opt, critic_opt, *_ = self.optimizers()
        real_batches = batch.chunk(self.n_critic)
        first = self.iteration * self.n_critic  # critic updates counted over the run: lazy penalties resume in step
        critic_logs = [self._critic_update(real, critic_opt, first + i) for i, real in enumerate(real_batches)]
        for regularizer in self.regularizers:
            regularizer.update(real_batches[-1], self)
        generator_loss = self._generator_update(real_batches[-1], generator_opt)
        self.iteration += 1
        logs = {name: torch.stack([log[name] for log in critic_logs]).mean() for name in critic_logs[0]}
        logs.update({k: v for reg in self.regularizers for k, v in reg.logs.items()}, generator_loss=generator_loss)
        logs.update(self.augment.metrics())
        return {f"train/{name}": value for name, value in logs.items()}

    def _critic_update(self, real: Tensor, optimizer, critic_step: int) -> dict[str, Tensor]:
        total, logs = self.updates.run(self.critic_objective, real, critic_step)  # compiled with compile=true
        optimizer.zero_grad(set_to_none=True)
        self.updates.backward(self, total)
        self.updates.step(self, optimizer)
        for constraint in self.constraints:
            constraint.after_critic_step(self.critic)
        return logs

    def _generator_update(self, real: Tensor, optimizer) -> Tensor:
        loss = self.updates.run(self.generator_objective, real)
        optimizer.zero_grad(set_to_none=True)
        self.updates.backward(self, loss)
        self.updates.step(self, optimizer, counted=True)  # one generator iteration: trainer.global_step
        for regularizer in self.regularizers:
            regularizer.after_generator_step(self)
        return loss.detach()

    def step_optimizer(self, optimizer: torch.optim.Optimizer) -> None:
        self.updates.step(self, optimizer)  # regularizers' optimisers: not counted as a generator iteration

    def score(self, critic: nn.Module, x: Tensor) -> Tensor:
        """The critic's scores of x as the game sees them: through the augmentation of critic inputs."""
        return critic(self.augment(x))

    def critic_objective(self, real: Tensor, critic_step: int = 0) -> tuple[Tensor, dict[str, Tensor]]:
        """The critic's loss on one real batch and fresh noise, the penalties due at `critic_step` included."""
        critic = partial(self.score, self.train_networks["critic"])
        real = critic_real(self.regularizers, real, self)
        with torch.no_grad():
            fake = self.generator(self.sample_noise(real.shape[0]))
        d_real, d_fake = critic(real), critic(fake)
        self.augment.observe(d_real)
        loss = self.loss.critic_loss(d_real, d_fake, real, fake)
        penalty = critic_penalty(self.constraints, critic, real, fake, critic_step)
        logs = {"critic_loss": loss.detach()}
        if penalty is not None:
            logs["penalty"] = penalty.detach()
            loss = loss + penalty
        logs.update({k: v.detach() for k, v in self.loss.critic_metrics(d_real, d_fake).items()})
        return loss, logs

    def generator_objective(self, real: Tensor) -> Tensor:
        """The generator's loss on fresh noise (`real` is scored only for losses that need real scores)."""
        fake = self.train_networks["generator"](self.sample_noise(real.shape[0]))
        # The critic is only a function here: frozen, and unwrapped so DDP arms no gradient reduction.
        self.critic.requires_grad_(False)
        try:
            d_fake = self.score(self.critic, fake)
            d_real = None
            if self.loss.needs_real_scores:
                with torch.no_grad():
                    d_real = self.score(self.critic, critic_real(self.regularizers, real, self))
            terms = [t for reg in self.regularizers if (t := reg.generator_term(real, self)) is not None]
            return self.loss.generator_loss(d_real, d_fake) + sum(terms)
        finally:
            self.critic.requires_grad_(True)

    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        checkpoint.update(iteration=self.iteration, config=self.config)

    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        self.iteration = checkpoint["iteration"]

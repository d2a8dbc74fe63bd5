"""GANModule: the adversarial game as a LightningModule with manual optimization.

One training step is one generator iteration. The DataModule hands over `n_critic` real batches
stacked into one; the step makes one critic update on each (fresh noise, fresh real batch each
time), then one generator update:

    for real in batch.chunk(n_critic):
        critic: minimise loss.critic_loss(D(real), D(G(z)), real, G(z)) + constraint penalties
        constraints.after_critic_step(critic)
    generator: minimise loss.generator_loss(D(real), D(G(z)))

Critic steps bypass Lightning's optimizer-step counter (they run through the same strategy and
precision path as `LightningOptimizer.step`), so `trainer.global_step`, `trainer.max_steps`,
`log_every_n_steps` and checkpoint schedules all count generator iterations.
`self.iteration` is the module's own count of generator iterations, saved in checkpoints.

Every iteration ends with one collective over the logged losses and a checksum of both
networks' weights: it yields the global means that are logged and, through `FiniteGuard`, stops
the run on every rank when any of them is NaN or infinite (`NonFiniteError`): at once on a CPU,
one iteration later on a GPU (so the device never waits for the host), and always before a
checkpoint could store the broken state. The loggers get the checked means every
`trainer.log_every_n_steps` iterations, and the progress bar the latest at the same pace,
straight from the host copy the guard makes (Lightning's `self.log` of device tensors makes the
host wait for the device, and every call costs host time). Checkpoints also hold every rank's
torch random state, so a resumed run draws the noise the uninterrupted run would have drawn.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from functools import partial
from typing import Any

import lightning as L
import torch
from torch import Tensor, nn

from ganarena.constraints import Constraint
from ganarena.errors import ConfigError
from ganarena.finite_guard import FiniteGuard
from ganarena.loggers import ContinuingCSVLogger
from ganarena.losses import AdversarialLoss
from ganarena.strategy import check_strategy

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
    ):
        super().__init__()
        if n_critic < 1:
            raise ConfigError(f"n_critic must be at least 1, got {n_critic}")
        if not hasattr(generator, "latent_dim"):
            raise TypeError(f"{type(generator).__name__} must expose `latent_dim` (the noise size)")
        self.automatic_optimization = False
        self.generator = generator
        self.critic = critic
        self.loss = loss
        self.constraints = list(constraints)
        for constraint in self.constraints:
            constraint.apply(self.critic)
        self.generator_optimizer = generator_optimizer
        self.critic_optimizer = critic_optimizer
        self.n_critic = n_critic
        self.config = config
        self.iteration = 0
        self._random_states_to_restore: dict[str, list[Tensor]] | None = None
        self.finite_guard = FiniteGuard(advice=self._stop_advice, on_checked=self._log_readings)
        # Networks as the training step calls them; a distributed strategy swaps in DDP wrappers.
        # Kept in a plain dict so the wrappers never enter the state dict.
        self.train_networks: dict[str, nn.Module] = {"generator": generator, "critic": critic}

    @property
    def latent_dim(self) -> int:
        return self.generator.latent_dim

    def sample_noise(self, n: int) -> Tensor:
        return torch.randn(n, self.latent_dim, device=self.device)

    def forward(self, z: Tensor) -> Tensor:
        return self.generator(z)

    def setup(self, stage: str) -> None:
        check_strategy(self.trainer.strategy)
        if self.trainer.world_size > 1:
            # Lightning seeds every rank alike; each rank must draw its own noise. The networks
            # stay identical: DDP copies rank 0's weights when it wraps them.
            torch.manual_seed(torch.initial_seed() + self.global_rank)

    def configure_optimizers(self):
        return (
            self.generator_optimizer(self.generator.parameters()),
            self.critic_optimizer(self.critic.parameters()),
        )

    def training_step(self, batch: Tensor, batch_idx: int) -> None:
        if batch.shape[0] % self.n_critic:
            raise ValueError(f"a step batch of {batch.shape[0]} samples does not split into n_critic={self.n_critic}")
        generator_opt, critic_opt = self.optimizers()
        real_batches = batch.chunk(self.n_critic)
        critic_logs = [self._critic_update(real, critic_opt) for real in real_batches]
        generator_loss = self._generator_update(real_batches[-1], generator_opt)
        self.iteration += 1

        logs = {name: torch.stack([log[name] for log in critic_logs]).mean() for name in critic_logs[0]}
        logs["generator_loss"] = generator_loss
        self._submit_readings({f"train/{k}": v for k, v in logs.items()})
        if self.iteration % max(self.trainer.log_every_n_steps, 1) == 0:
            self._show_in_progress_bar()

    def _show_in_progress_bar(self) -> None:
        """The latest checked losses, as host tensors, to the progress bar, which keeps them until the next call.

        At the loggers' pace rather than every iteration: these two `self.log` calls cost about
        0.8 ms of host time, a fifth of a small network's whole iteration (docs/results.md).
        """
        shown = {name: self.finite_guard.latest.get(f"train/{name}") for name in ("critic_loss", "generator_loss")}
        self.log_dict({name: value for name, value in shown.items() if value is not None}, prog_bar=True, logger=False)

    def _submit_readings(self, logs: dict[str, Tensor]) -> None:
        """The means of `logs` over all ranks and both weight checksums, to the finite guard."""
        checks = {
            **logs,
            "generator weights": _weight_checksum(self.generator),
            "critic weights": _weight_checksum(self.critic),
        }
        # One reduction for everything: a NaN on any rank reaches every rank, so all stop together.
        values = self.trainer.strategy.reduce(torch.stack(list(checks.values())), reduce_op="mean")
        self.finite_guard.submit(self.iteration, dict(zip(checks, values.unbind(), strict=True)))

    def _log_readings(self, iteration: int, readings: dict[str, Tensor]) -> None:
        """Checked training means to the loggers, every `trainer.log_every_n_steps` iterations."""
        every = self.trainer.log_every_n_steps
        if not every or iteration % every:
            return
        metrics = {name: value.item() for name, value in readings.items() if name.startswith("train/")}
        for logger in self.trainer.loggers:
            # Lightning's step for training rows: the 0-based index of the iteration.
            logger.log_metrics({"epoch": self.current_epoch, **metrics}, step=iteration - 1)

    def _stop_advice(self) -> str:
        path = getattr(self.trainer.checkpoint_callback, "last_model_path", "")
        saved = f"the last good checkpoint is {path}." if path else "no checkpoint had been written yet."
        return (
            f"Training stopped before anything was saved; {saved} Lower the learning rates, add a"
            " Lipschitz constraint or use a bounded loss, then resume or restart."
        )

    def _critic_update(self, real: Tensor, optimizer) -> dict[str, Tensor]:
        critic = self.train_networks["critic"]
        with torch.no_grad():
            fake = self.generator(self.sample_noise(real.shape[0]))
        d_real, d_fake = critic(real), critic(fake)
        loss = self.loss.critic_loss(d_real, d_fake, real, fake)
        penalties = [p for c in self.constraints if (p := c.penalty(critic, real, fake)) is not None]
        penalty = sum(penalties) if penalties else None
        total = loss if penalty is None else loss + penalty

        optimizer.zero_grad(set_to_none=True)
        self.manual_backward(total)
        self.trainer.strategy.optimizer_step(optimizer.optimizer, closure=_no_closure, model=self)
        for constraint in self.constraints:
            constraint.after_critic_step(self.critic)

        logs = {"critic_loss": loss.detach()}
        if penalty is not None:
            logs["penalty"] = penalty.detach()
        logs.update({k: v.detach() for k, v in self.loss.critic_metrics(d_real, d_fake).items()})
        return logs

    def _generator_update(self, real: Tensor, optimizer) -> Tensor:
        fake = self.train_networks["generator"](self.sample_noise(real.shape[0]))
        # The critic is only a function here: no gradients for its weights, and the plain module
        # rather than its DDP wrapper, so no gradient reduction is armed for it.
        self.critic.requires_grad_(False)
        try:
            d_fake = self.critic(fake)
            d_real = None
            if self.loss.needs_real_scores:
                with torch.no_grad():
                    d_real = self.critic(real)
            loss = self.loss.generator_loss(d_real, d_fake)
        finally:
            self.critic.requires_grad_(True)
        optimizer.zero_grad(set_to_none=True)
        self.manual_backward(loss)
        optimizer.step()
        return loss.detach()

    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        self.finite_guard.confirm()
        checkpoint["iteration"] = self.iteration
        checkpoint["config"] = self.config
        checkpoint["random_states"] = self._gather_random_states()
        # Lets a resumed run continue the same logger runs (the W&B run id, for one).
        checkpoint["logger_versions"] = {type(logger).__name__: logger.version for logger in self.trainer.loggers}
        # The CSV log reaches the disk before the checkpoint that counts its rows, so a resume from
        # this checkpoint finds every row up to it (none lost to a crash, none logged twice).
        for logger in self.trainer.loggers:
            logger.save()
            if isinstance(logger, ContinuingCSVLogger):
                checkpoint["csv_rows"] = logger.rows_saved

    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        self.iteration = checkpoint["iteration"]
        self._random_states_to_restore = checkpoint.get("random_states")

    def on_train_start(self) -> None:
        # Restored here rather than on load: nothing between this hook and the first step draws.
        states, self._random_states_to_restore = self._random_states_to_restore, None
        if states is None:
            return
        if len(states["cpu"]) != self.trainer.world_size:
            # Another number of ranks than when saved: continue from rank 0's state, distinct per rank.
            torch.set_rng_state(states["cpu"][0])
            torch.manual_seed(int(torch.randint(2**62, ())) + self.global_rank)
            return
        torch.set_rng_state(states["cpu"][self.global_rank])
        if "cuda" in states and self.device.type == "cuda":
            torch.cuda.set_rng_state(states["cuda"][self.global_rank], self.device)

    def on_train_end(self) -> None:
        self.finite_guard.confirm()

    def _gather_random_states(self) -> dict[str, list[Tensor]]:
        """Every rank's torch generator states (CPU, and the rank's GPU when it has one)."""
        local = {"cpu": torch.get_rng_state()}
        if self.device.type == "cuda":
            local["cuda"] = torch.cuda.get_rng_state(self.device)
        if self.trainer.world_size == 1:
            return {name: [state] for name, state in local.items()}
        gathered = {name: self.all_gather(state.to(self.device)) for name, state in local.items()}
        # clone(): a row of the gathered tensor has a storage offset, and set_rng_state
        # crashes (segfault) on such a view.
        return {name: [row.cpu().clone() for row in states] for name, states in gathered.items()}


def _weight_checksum(network: nn.Module) -> Tensor:
    """Sum of all weights' magnitudes: finite exactly when every weight is (barring overflow past 1e38).

    One fused kernel for all parameters rather than one reduction each: this runs every iteration,
    and `torch.nn.utils.get_total_norm` spends more host time sorting the tensors by device and
    dtype than the kernels take for a small network (a network's parameters share both).
    """
    with torch.no_grad():
        return torch.stack(torch._foreach_norm(list(network.parameters()), 1)).sum().float()


def _no_closure() -> None:
    """Manual optimization computes gradients before the step; the closure has nothing to do."""

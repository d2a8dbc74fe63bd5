"""Critic constraints: weight clipping, gradient penalty, spectral norm (R1, R2, DRAGAN: penalties.py).

A constraint may act at three moments, each optional (docs/architecture.md):

    constraint.apply(critic)                      # once, when the critic is built
    constraint.penalty(critic, x_real, x_fake)    # a scalar added to the critic loss, or None
    constraint.after_critic_step(critic)          # after every critic optimizer step

Constraints compose (`constraint=[gp,sn]`) and never look at the loss. A constraint may also
state which critic normalisation suits it (`preferred_critic_norm`); `model.critic.norm=auto`
follows that preference. A penalty with `every=k` is lazy: `critic_penalty` adds it on every
k-th critic update only, k times as heavy.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn
from torch.nn.utils.parametrizations import spectral_norm

from ganarena.errors import ConfigError

_BATCH_NORMS = (nn.modules.batchnorm._BatchNorm,)


class Constraint:
    """No-op base: subclasses override only the moments they act at."""

    preferred_critic_norm: str | None = None
    # Whether the constraint keeps the critic (roughly) K-Lipschitz, as WGAN's loss requires.
    bounds_lipschitz = False
    # Lazy regularisation: the penalty is due on every `every`-th critic update (see critic_penalty).
    every = 1

    def apply(self, critic: nn.Module) -> None:
        pass

    def penalty(self, critic: nn.Module, x_real: Tensor, x_fake: Tensor) -> Tensor | None:
        return None

    def after_critic_step(self, critic: nn.Module) -> None:
        pass


class WeightClip(Constraint):
    """WGAN weight clipping: every critic parameter is clamped to [-clip, clip] after each step."""

    bounds_lipschitz = True

    def __init__(self, clip: float = 0.01):
        if clip <= 0:
            raise ConfigError(f"weight clipping bound must be positive, got {clip}")
        self.clip = clip

    @torch.no_grad()
    def after_critic_step(self, critic):
        for param in critic.parameters():
            param.clamp_(-self.clip, self.clip)


class PerSamplePenalty(Constraint):
    """Base of the penalties on the critic's input gradient: they refuse a batch-norm critic.

    The penalty is defined per sample; batch norm couples the samples of a batch. `loss_scaler`
    is the run's GradScaler under 16-mixed (set by run/precision.py), None otherwise.
    """

    loss_scaler = None

    def __init__(self, every: int = 1):
        if isinstance(every, bool) or not isinstance(every, int) or every < 1:
            raise ConfigError(f"a penalty's `every` counts critic updates and must be an integer >= 1, got {every!r}")
        self.every = every

    def apply(self, critic):
        batch_norms = [name for name, m in critic.named_modules() if isinstance(m, _BATCH_NORMS)]
        if batch_norms:
            raise ConfigError(
                "A gradient penalty needs per-sample critic scores, but the critic uses batch norm"
                f" ({', '.join(batch_norms[:3])}). Use model.critic.norm=layer (as in the WGAN-GP"
                " paper), model.critic.norm=none, or model.critic.norm=auto to let the constraint"
                " choose."
            )


def input_gradient(critic, x: Tensor, loss_scaler=None) -> Tensor:
    """grad_x sum(D(x)), one flattened row per sample, kept in the graph so the penalty can be minimised.

    Under autocast the points are float32: the critic's layers still run in bf16/fp16, but the
    gradient, and the penalty computed from it, come back in float32. With a `loss_scaler` (the
    run's GradScaler under 16-mixed) this is PyTorch's AMP recipe for gradient penalties: the
    gradient of the scaled scores, times 1/scale, so small gradients do not underflow in float16.
    If the scaled gradient overflowed, the returned rows are zeros (a finite penalty to log) and
    the critic's parameters get infinite gradients, so the scaler skips the step and lowers its scale.
    """
    if torch.is_autocast_enabled(x.device.type) and x.is_floating_point() and torch.finfo(x.dtype).bits < 32:
        x = x.float()
    x = x.detach().requires_grad_(True)
    scores = critic(x).sum()
    if loss_scaler is None:
        (grad,) = torch.autograd.grad(scores, x, create_graph=True)
        return grad.flatten(1)
    (scaled,) = torch.autograd.grad(loss_scaler.scale(scores), x, create_graph=True)
    grad = scaled * (1.0 / loss_scaler.get_scale())
    # No host sync: the overflow test stays on the device.
    overflowed = ~torch.isfinite(grad).all()
    return torch.where(overflowed, _SkipOnOverflow.apply(scores, overflowed), grad).flatten(1)


class _SkipOnOverflow(torch.autograd.Function):
    """Zero forward; backward, an infinite gradient to the scores when `overflowed` (none otherwise)."""

    @staticmethod
    def forward(ctx, scores: Tensor, overflowed: Tensor) -> Tensor:
        ctx.save_for_backward(overflowed)
        return scores.new_zeros(())

    @staticmethod
    def backward(ctx, grad_output: Tensor):
        (overflowed,) = ctx.saved_tensors
        return torch.where(overflowed, math.inf, 0.0).to(grad_output.dtype), None


class GradientPenalty(PerSamplePenalty):
    """WGAN-GP: weight * mean((||grad_x D(x_hat)||_2 - target)^2) on per-sample interpolates.

    x_hat = eps * x_real + (1 - eps) * x_fake with one eps ~ U[0, 1] per sample, broadcast over
    every non-batch dimension, so images of any channel count and 2-D points work alike.
    """

    bounds_lipschitz = True
    preferred_critic_norm = "layer"

    def __init__(self, weight: float = 10.0, target: float = 1.0, every: int = 1):
        super().__init__(every)
        if weight <= 0:
            raise ConfigError(f"gradient penalty weight must be positive, got {weight}")
        self.weight = weight
        self.target = target

    def interpolation_weights(self, x_real: Tensor) -> Tensor:
        """eps ~ U[0, 1], one per sample, shaped (N, 1, ..., 1) to broadcast over the sample."""
        eps_shape = (x_real.shape[0],) + (1,) * (x_real.dim() - 1)
        return torch.rand(eps_shape, device=x_real.device, dtype=x_real.dtype)

    def penalty(self, critic, x_real, x_fake):
        eps = self.interpolation_weights(x_real)
        x_hat = eps * x_real.detach() + (1 - eps) * x_fake.detach()
        grad_norm = input_gradient(critic, x_hat, self.loss_scaler).norm(2, dim=1)
        return self.weight * (grad_norm - self.target).pow(2).mean()


class SpectralNorm(Constraint):
    """Spectral normalisation (Miyato et al. 2018) of every conv and linear weight of the critic.

    Uses torch's parametrization, one power iteration per forward in training mode.
    """

    bounds_lipschitz = True

    preferred_critic_norm = "none"
    _LAYERS = (nn.Linear, nn.Conv1d, nn.Conv2d, nn.Conv3d, nn.ConvTranspose2d)

    def __init__(self, n_power_iterations: int = 1):
        if n_power_iterations < 1:
            raise ConfigError(f"n_power_iterations must be at least 1, got {n_power_iterations}")
        self.n_power_iterations = n_power_iterations

    def apply(self, critic):
        layers = [m for m in critic.modules() if isinstance(m, self._LAYERS)]
        if not layers:
            raise ConfigError("spectral norm found no conv or linear layer in the critic")
        for layer in layers:
            spectral_norm(layer, n_power_iterations=self.n_power_iterations)


def preferred_critic_norm(constraints: list[Constraint]) -> str | None:
    """The normalisation the constraints ask for: None if none cares, "none" if they disagree."""
    preferences = {c.preferred_critic_norm for c in constraints} - {None}
    if not preferences:
        return None
    return preferences.pop() if len(preferences) == 1 else "none"


def critic_penalty(constraints: list[Constraint], critic, x_real: Tensor, x_fake: Tensor, critic_step: int):
    """The sum of the penalties due at this critic update (counted from 0 over the run), or None.

    A penalty with `every=k` is due on updates 0, k, 2k, ... with its weight multiplied by k (lazy
    regularisation, Karras et al. 2020, StyleGAN2), so its average over the run is unchanged.
    None means no constraint has a penalty at all; updates where none is due give 0, which keeps
    `train/penalty` in every logged row.
    """
    penalising = [c for c in constraints if type(c).penalty is not Constraint.penalty]
    if not penalising:
        return None
    terms = [
        c.every * p
        for c in penalising
        if critic_step % c.every == 0 and (p := c.penalty(critic, x_real, x_fake)) is not None
    ]
    return sum(terms) if terms else x_real.new_zeros(())

"""Clipping bounds, the gradient penalty's closed form, spectral norm, and their composition."""

import pytest
import torch
from torch import nn

from ganarena.game.constraints import (
    GradientPenalty,
    SpectralNorm,
    WeightClip,
    preferred_critic_norm,
)
from ganarena.models.dcgan import DCGANCritic
from ganarena.models.mlp import MLPCritic


class LinearCritic(nn.Module):
    def __init__(self, w: torch.Tensor):
        super().__init__()
        self.w = nn.Parameter(w)

    def forward(self, x):
        return x.flatten(1) @ self.w.flatten() + 0.3


def test_clip_bounds_every_critic_parameter():
    critic = DCGANCritic((3, 32, 32), width=8, norm="batch")
    with torch.no_grad():
        for p in critic.parameters():
            p.normal_(0, 1)
    WeightClip(0.01).after_critic_step(critic)
    values = torch.cat([p.flatten() for p in critic.parameters()])
    assert values.abs().max().item() <= 0.01
    assert values.abs().max().item() > 0.009  # it clamps, it does not zero


@pytest.mark.parametrize("shape", [(2,), (1, 4, 4), (3, 4, 4), (5, 2, 2)])
@pytest.mark.parametrize("weight", [1.0, 10.0])
def test_gradient_penalty_of_linear_critic_is_closed_form(shape, weight):
    torch.manual_seed(0)
    w = torch.randn(shape)
    critic = LinearCritic(w)
    x_real, x_fake = torch.randn(8, *shape), torch.randn(8, *shape)
    penalty = GradientPenalty(weight=weight).penalty(critic, x_real, x_fake)
    expected = weight * (w.norm() - 1) ** 2
    assert abs(penalty.item() - expected.item()) < 1e-4 * max(1.0, expected.item())


def test_gradient_penalty_is_differentiable_in_critic_weights():
    w = torch.tensor([3.0, 4.0])
    critic = LinearCritic(w)
    penalty = GradientPenalty(weight=10.0).penalty(critic, torch.randn(4, 2), torch.randn(4, 2))
    penalty.backward()
    # d/dw 10 (||w|| - 1)^2 = 20 (||w|| - 1) w / ||w|| = 20 * 4 * w / 5
    assert torch.allclose(critic.w.grad, 16 * w, atol=1e-4)


def test_gradient_penalty_interpolates_per_sample():
    # A critic that records what it sees: each interpolate lies on its own real-fake segment.
    seen = {}

    class Recorder(nn.Module):
        def __init__(self):
            super().__init__()
            self.w = nn.Parameter(torch.ones(1))

        def forward(self, x):
            seen["x"] = x.detach().clone()
            return (x.flatten(1) * self.w).sum(1)

    x_real = torch.zeros(64, 3, 2, 2)
    x_fake = torch.ones(64, 3, 2, 2)
    GradientPenalty().penalty(Recorder(), x_real, x_fake)
    eps = seen["x"]  # x_hat = eps * 0 + (1 - eps) * 1
    per_sample = eps.flatten(1)
    assert torch.allclose(per_sample, per_sample[:, :1].expand_as(per_sample))  # one eps per sample
    assert per_sample[:, 0].std() > 0.1  # and different across samples


def test_gradient_penalty_refuses_batch_norm_critic():
    with pytest.raises(ValueError, match="norm=layer"):
        GradientPenalty().apply(DCGANCritic((1, 32, 32), width=8, norm="batch"))
    GradientPenalty().apply(DCGANCritic((1, 32, 32), width=8, norm="layer"))


def _largest_singular_values(critic):
    values = []
    for module in critic.modules():
        if isinstance(module, (nn.Conv2d, nn.Linear)):
            matrix = module.weight.detach().flatten(1)
            values.append(torch.linalg.matrix_norm(matrix, ord=2).item())
    return values


@pytest.mark.parametrize(
    "critic",
    [lambda: DCGANCritic((3, 32, 32), width=8, norm="none"), lambda: MLPCritic((2,), hidden=32)],
)
def test_spectral_norm_makes_every_weight_unit_norm(critic):
    critic = critic()
    with torch.no_grad():
        for p in critic.parameters():
            p.mul_(5)
    assert max(_largest_singular_values(critic)) > 2
    SpectralNorm().apply(critic)
    x = torch.randn(4, *((3, 32, 32) if isinstance(critic, DCGANCritic) else (2,)))
    for _ in range(20):  # power iterations run in training-mode forwards
        critic(x)
    values = _largest_singular_values(critic)
    assert len(values) >= 3
    assert all(abs(v - 1) < 0.02 for v in values), values


def test_constraints_compose():
    critic = MLPCritic((2,), hidden=16, norm="none")
    constraints = [GradientPenalty(weight=10.0), SpectralNorm(), WeightClip(0.5)]
    for c in constraints:
        c.apply(critic)
    x_real, x_fake = torch.randn(8, 2), torch.randn(8, 2)
    penalty = sum(p for c in constraints if (p := c.penalty(critic, x_real, x_fake)) is not None)
    assert penalty.item() >= 0 and torch.isfinite(penalty)
    penalty.backward()
    assert any(p.grad is not None for p in critic.parameters())
    for c in constraints:
        c.after_critic_step(critic)
    assert all(p.abs().max() <= 0.5 for p in critic.parameters())
    assert abs(max(_largest_singular_values(critic)) - 1) < 0.05


def test_critic_norm_preference():
    assert preferred_critic_norm([]) is None
    assert preferred_critic_norm([WeightClip()]) is None
    assert preferred_critic_norm([GradientPenalty()]) == "layer"
    assert preferred_critic_norm([SpectralNorm()]) == "none"
    assert preferred_critic_norm([GradientPenalty(), SpectralNorm()]) == "none"
